//! Ingest sources: the log senders a tenant lets in (each with a key shown once, stored
//! hashed), the sources configured in the server's file (syslog listeners), and the labels a
//! source gives its alerts for routing.

use sekimori_core::ecs::{action, field};
use sekimori_core::event::{NewEvent, Outcome};
use sekimori_core::names::Label;
use sekimori_core::token::{hash_secret, new_secret, PrefixedKey};
use sekimori_core::TenantId;
use sekimori_core::{ErrorCode, ServiceError, Timestamp};
use sekimori_store::IngestSource;
use serde::Serialize;

use crate::{Watch, WatchResult};

/// Prefix of ingest source keys.
pub const SOURCE_PREFIX: &str = "sking";

/// The labels an ingest source gives its alerts for routing.
pub type SourceLabels = std::collections::BTreeMap<String, String>;

/// Labels the dispatcher sets itself; a source cannot give them.
pub const RESERVED_LABELS: [&str; 10] =
    ["tenant", "rule", "title", "severity", "kind", "source", "tags", "user", "address", "host"];

/// Checks a source's labels: at most 16, names as Alertmanager's (`[a-zA-Z_][a-zA-Z0-9_]*`)
/// and not one the dispatcher sets, values of 1 to 256 characters.
pub fn check_source_labels(labels: &SourceLabels) -> WatchResult<()> {
    let bad = |detail: String| Err(ServiceError::new(ErrorCode::InvalidRequest, detail).with("field", "labels"));
    if labels.len() > 16 {
        return bad(format!("{} labels; at most 16", labels.len()));
    }
    for (k, v) in labels {
        if !sekimori_respond::valid_label(k) {
            return bad(format!("{k:?} is not a label name"));
        }
        if RESERVED_LABELS.contains(&k.as_str()) {
            return bad(format!("{k:?} is set by Sekimori itself"));
        }
        if v.is_empty() || v.chars().count() > 256 || v.chars().any(char::is_control) {
            return bad(format!("label {k}: a value of 1 to 256 printable characters"));
        }
    }
    Ok(())
}

/// A new source and its key (shown once).
#[derive(Debug, Clone, Serialize)]
pub struct NewSourceKey {
    pub id: String,
    pub name: String,
    pub key: String,
}

impl Watch {
    /// Adds a log source to the admin's tenant, with the labels its alerts carry for
    /// routing, and returns its key (shown once).
    pub async fn add_source(
        &self,
        tenant_id: &TenantId,
        admin_token_id: &str,
        name: &Label,
        labels: &SourceLabels,
    ) -> WatchResult<NewSourceKey> {
        check_source_labels(labels)?;
        let id = self.new_id().replace('-', "");
        let secret = new_secret(self.rng.as_ref());
        let source = IngestSource {
            id: id.clone(),
            tenant_id: tenant_id.to_owned(),
            name: name.to_string(),
            secret_hash: hash_secret(&secret),
            created_at: self.clock.now(),
            revoked_at: None,
            labels: labels.clone(),
        };
        let ev = NewEvent::new(
            self.clock.now(),
            tenant_id,
            "configuration",
            action::ADMIN_INGEST_SOURCE_CREATED,
            Outcome::Success,
        )
        .field(field::INGEST_SOURCE_ID, id.as_str())
        .field(field::INGEST_SOURCE_NAME, name.as_str())
        .field(field::ADMIN_TOKEN_ID, admin_token_id);
        if !self.store.insert_ingest_source(&source, &ev).await? {
            return Err(ServiceError::new(ErrorCode::Conflict, format!("a source named {name} already exists")));
        }
        Ok(NewSourceKey {
            id: id.clone(),
            name: name.to_string(),
            key: PrefixedKey::format(SOURCE_PREFIX, &id, &secret),
        })
    }

    /// The tenant's sources.
    pub async fn list_sources(&self, tenant_id: &TenantId) -> WatchResult<Vec<IngestSource>> {
        Ok(self.store.list_ingest_sources(tenant_id).await?)
    }

    /// Revokes a source of the admin's tenant: its key stops working at once.
    pub async fn revoke_source(&self, tenant_id: &TenantId, admin_token_id: &str, id: &str) -> WatchResult<()> {
        let ev = NewEvent::new(
            self.clock.now(),
            tenant_id,
            "configuration",
            action::ADMIN_INGEST_SOURCE_REVOKED,
            Outcome::Success,
        )
        .field(field::INGEST_SOURCE_ID, id)
        .field(field::ADMIN_TOKEN_ID, admin_token_id);
        if !self.store.revoke_ingest_source(tenant_id, id, self.clock.now(), &ev).await? {
            return Err(ServiceError::new(ErrorCode::NotFound, format!("no live ingest source {id}")));
        }
        Ok(())
    }

    /// The source presented as a bearer credential.
    pub async fn authenticate_source(&self, bearer: &str) -> WatchResult<IngestSource> {
        let denied = || ServiceError::new(ErrorCode::Unauthorized, "invalid ingest source key");
        let key = PrefixedKey::parse(SOURCE_PREFIX, bearer).ok_or_else(denied)?;
        let source = self.store.ingest_source(&key.id).await?.ok_or_else(denied)?;
        if !key.unlocks(&source.secret_hash, source.revoked_at.map(Timestamp::millis)) {
            return Err(denied());
        }
        Ok(source)
    }

    /// Sets the labels the source's alerts carry for routing (audited); `not_found` when
    /// there is no such live source.
    pub async fn set_source_labels(
        &self,
        tenant_id: &TenantId,
        actor: &str,
        id: &str,
        labels: &SourceLabels,
    ) -> WatchResult<()> {
        check_source_labels(labels)?;
        let ev = NewEvent::new(
            self.clock.now(),
            tenant_id,
            "configuration",
            action::ADMIN_INGEST_SOURCE_LABELLED,
            Outcome::Success,
        )
        .field(field::INGEST_SOURCE_ID, id)
        .field(
            "sekimori.labels",
            serde_json::Value::Object(labels.iter().map(|(k, v)| (k.clone(), v.clone().into())).collect()),
        )
        .field(field::ACTOR, actor);
        if self.store.set_ingest_source_labels(tenant_id, id, labels, &ev).await? {
            Ok(())
        } else {
            Err(ServiceError::new(ErrorCode::NotFound, format!("no live ingest source {id}")))
        }
    }

    /// The live source named `name` in `tenant_id`, created (audited, with a key nobody
    /// is shown) when there is none: how listeners configured in the server's file, such
    /// as syslog, are attributed. Refused when the source exists but was revoked. The
    /// file's `labels`, when given, become the source's.
    pub async fn source_named(
        &self,
        tenant_id: &TenantId,
        name: &Label,
        labels: Option<&SourceLabels>,
    ) -> WatchResult<IngestSource> {
        let find = || async {
            let all = self.store.list_ingest_sources(tenant_id).await?;
            WatchResult::Ok(all.into_iter().find(|s| s.name == name.as_str()))
        };
        let source = match find().await? {
            Some(s) => s,
            None => {
                match self.add_source(tenant_id, "configuration", name, labels.unwrap_or(&SourceLabels::new())).await {
                    Ok(_) | Err(ServiceError { code: ErrorCode::Conflict, .. }) => {}
                    Err(e) => return Err(e),
                }
                find().await?.ok_or_else(|| ServiceError::new(ErrorCode::Internal, "source vanished"))?
            }
        };
        if source.revoked_at.is_some() {
            return Err(ServiceError::new(ErrorCode::Conflict, format!("ingest source {name} is revoked")));
        }
        if let Some(labels) = labels.filter(|l| **l != source.labels) {
            self.set_source_labels(tenant_id, "configuration", &source.id, labels).await?;
            return Ok(IngestSource { labels: labels.clone(), ..source });
        }
        Ok(source)
    }

    /// Whether the source is still live (it may be revoked while a listener runs).
    pub async fn source_live(&self, id: &str) -> WatchResult<bool> {
        Ok(self.store.ingest_source(id).await?.is_some_and(|s| s.revoked_at.is_none()))
    }
}
