//! A tenant's alert routing document (docs/respond.md): versioned like tuning, checked by
//! the respond engine before it is written (an error names the place), audited. Its
//! secrets are sealed at rest and masked in every read ([`crate::secrets`]).

use sekimori_core::ecs::{action, field};
use sekimori_core::event::{NewEvent, Outcome};
use sekimori_core::token::sha256_hex;
use sekimori_core::TenantId;
use sekimori_core::{ErrorCode, ServiceError, Timestamp};
use sekimori_respond::{RoutingConfig, RoutingTree};
use sekimori_store::{write_version, DocumentKind, DocumentRecord, NewVersion};
use serde::Serialize;
use serde_json::Value;

use crate::{secrets, Watch, WatchResult};

/// Largest routing document, bytes of JSON.
pub const MAX_ROUTING_BYTES: usize = 256 * 1024;

/// One stored version of a routing document.
#[derive(Debug, Clone, Serialize)]
pub struct RoutingVersion {
    /// 1, 2, 3… per tenant.
    pub version: i64,
    /// The admin token that wrote it.
    pub author: String,
    /// When, ms.
    pub created_at: i64,
    /// The document, its secrets masked.
    pub document: Value,
}

fn parse(r: &DocumentRecord) -> WatchResult<Value> {
    serde_json::from_str(&r.doc).map_err(|e| ServiceError::new(ErrorCode::Internal, format!("stored routing: {e}")))
}

/// Checks `document` with the respond engine: the tree it builds, or an `invalid_request`
/// naming the place.
pub fn check_routing(document: &Value) -> WatchResult<RoutingTree> {
    let config: RoutingConfig = serde_json::from_value(document.clone()).map_err(|e| {
        ServiceError::new(ErrorCode::InvalidRequest, format!("the routing document: {e}")).with("field", "document")
    })?;
    RoutingTree::new(config).map_err(|e| {
        ServiceError::new(ErrorCode::InvalidRequest, format!("the routing document: {e}"))
            .with("field", "document")
            .with("place", e.place)
    })
}

impl Watch {
    /// The tenant's current routing document, its secrets masked, and its version (0 and
    /// `None` before any).
    pub async fn routing(&self, tenant_id: &TenantId) -> WatchResult<(i64, Option<Value>)> {
        match self.store.document(DocumentKind::Routing, tenant_id).await? {
            None => Ok((0, None)),
            Some(r) => Ok((r.version, Some(secrets::mask(&parse(&r)?)))),
        }
    }

    /// The tenant's current routing tree with its secrets opened, for delivery, and its
    /// version; `None` before any document.
    pub(crate) async fn routing_tree(&self, tenant_id: &TenantId) -> WatchResult<Option<(i64, RoutingTree)>> {
        let Some(r) = self.store.document(DocumentKind::Routing, tenant_id).await? else { return Ok(None) };
        let stored = parse(&r)?;
        let opened =
            if secrets::count(&stored) == 0 { stored } else { secrets::open(&stored, self.sealer()?, tenant_id)? };
        let tree = check_routing(&opened).map_err(|e| {
            ServiceError::new(ErrorCode::Internal, format!("stored routing version {}: {}", r.version, e.detail))
        })?;
        Ok(Some((r.version, tree)))
    }

    fn sealer(&self) -> WatchResult<&dyn sekimori_core::Sealer> {
        self.sealer
            .as_deref()
            .ok_or_else(|| ServiceError::new(ErrorCode::Internal, "no key to seal the routing document's secrets with"))
    }

    /// The current version of the tenant's routing document, 0 before any.
    pub(crate) async fn routing_version(&self, tenant_id: &TenantId) -> WatchResult<i64> {
        Ok(self.store.document(DocumentKind::Routing, tenant_id).await?.map_or(0, |r| r.version))
    }

    /// Every version of the tenant's routing document, newest first.
    pub async fn routing_versions(&self, tenant_id: &TenantId) -> WatchResult<Vec<RoutingVersion>> {
        let list = self.store.document_versions(DocumentKind::Routing, tenant_id, 1000).await?;
        list.into_iter()
            .map(|r| {
                Ok(RoutingVersion {
                    document: secrets::mask(&parse(&r)?),
                    version: r.version,
                    author: r.author,
                    created_at: r.created_at.millis(),
                })
            })
            .collect()
    }

    /// Writes a new version of the tenant's routing document (checked first; audited).
    /// Refused with `conflict` when the current version is no longer `base_version`. A
    /// secret written as [`secrets::MASKED`] keeps the one stored at the same place.
    pub async fn set_routing(
        &self,
        tenant_id: &TenantId,
        admin_token_id: &str,
        base_version: i64,
        document: &Value,
    ) -> WatchResult<i64> {
        let stored = match self.store.document(DocumentKind::Routing, tenant_id).await? {
            Some(r) => Some(parse(&r)?),
            None => None,
        };
        let sealed = if secrets::count(document) == 0 {
            check_routing(document)?;
            document.clone()
        } else {
            let sealer = self.sealer()?;
            let plain = secrets::unmask(document, stored.as_ref(), sealer, tenant_id)?;
            check_routing(&plain)?;
            secrets::seal(&plain, sealer, tenant_id)
        };
        let doc = sealed.to_string();
        if doc.len() > MAX_ROUTING_BYTES {
            return Err(ServiceError::new(
                ErrorCode::PayloadTooLarge,
                format!("the routing document is {} bytes; the limit is {MAX_ROUTING_BYTES}", doc.len()),
            ));
        }
        let v = NewVersion {
            kind: DocumentKind::Routing,
            tenant_id,
            base_version,
            doc,
            author: admin_token_id,
            at: self.clock.now(),
            action: action::ADMIN_ROUTING_UPDATED,
        };
        write_version(self.store.as_ref(), v).await
    }
}

/// What a test notification to one channel did.
#[derive(Debug, Clone, Serialize)]
pub struct ChannelTest {
    /// The channel, e.g. `soc/slack_configs[0]`.
    pub channel: String,
    /// Whether it was taken.
    pub delivered: bool,
    /// Each attempt's outcome (one: a test is not retried).
    pub attempts: Vec<String>,
}

impl Watch {
    /// Sends a test notification (one firing alert, `rule="sekimori_test"`) to every
    /// channel of the tenant's receiver `name`, once each, now, outside the notification
    /// log; audited.
    pub async fn test_receiver(
        &self,
        tenant_id: &TenantId,
        admin_token_id: &str,
        name: &str,
        external_url: &str,
    ) -> WatchResult<Vec<ChannelTest>> {
        use sekimori_respond::payload::{AlertView, Notification};
        let Some((_, tree)) = self.routing_tree(tenant_id).await? else {
            return Err(ServiceError::new(ErrorCode::NotFound, "the tenant has no routing document"));
        };
        let receiver = tree
            .receiver(name)
            .ok_or_else(|| ServiceError::new(ErrorCode::NotFound, format!("no receiver named {name:?}")))?;
        let now = self.clock.now();
        let labels: sekimori_respond::Labels = [
            ("rule", "sekimori_test"),
            ("title", "Sekimori test notification"),
            ("severity", "info"),
            ("kind", "test"),
            ("source", "sekimori"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let n = Notification {
            receiver: name.to_owned(),
            group: sekimori_respond::GroupKey { route: "test".into(), labels: labels.clone() },
            alerts: vec![AlertView::new(
                labels,
                [(
                    "summary".to_owned(),
                    format!("Sekimori test notification for receiver {name} (sekimori alerts test-receiver)"),
                )]
                .into_iter()
                .collect(),
                now.to_rfc3339(),
                None,
                external_url.to_owned(),
            )],
            external_url: external_url.to_owned(),
        };
        let policy = sekimori_respond::delivery::RetryPolicy { attempts: 1, ..Default::default() };
        let sender = crate::deliver::Sender::new(
            self.clock.clone(),
            self.rng.clone(),
            policy,
            std::time::Duration::from_secs(10),
        )
        .map_err(|e| ServiceError::new(ErrorCode::Internal, e.to_string()))?;
        let mut out = Vec::new();
        for channel in receiver.channels() {
            let body = crate::dispatch::body_for(&channel, &n);
            let report = crate::dispatch::deliver(&sender, &channel, &body, now.millis()).await;
            out.push(ChannelTest {
                channel: channel.id(),
                delivered: report.delivered,
                attempts: report.attempts.into_iter().map(|a| a.outcome).collect(),
            });
        }
        let ev = NewEvent::new(now, tenant_id, "configuration", action::ADMIN_RECEIVER_TESTED, Outcome::Success)
            .field("sekimori.receiver", name)
            .field(field::ADMIN_TOKEN_ID, admin_token_id)
            .field("sekimori.delivered", out.iter().filter(|c| c.delivered).count());
        self.store.append(&ev).await?;
        Ok(out)
    }
}

impl Watch {
    /// Emails `address` (a user's) through the tenant's `user_notices` channel, once per
    /// `dedup_key` across nodes (the notification log), the message rendered in the
    /// channel's language by `render`. `None` when the tenant's document names no such
    /// channel.
    pub async fn email_user(
        &self,
        tenant_id: &TenantId,
        username: &str,
        address: &str,
        dedup_key: &str,
        render: impl FnOnce(sekimori_respond::Language) -> sekimori_respond::email::Email,
    ) -> WatchResult<Option<crate::deliver::Report>> {
        let Some((_, tree)) = self.routing_tree(tenant_id).await? else { return Ok(None) };
        let Some((channel, language)) = tree.user_notice_channel() else { return Ok(None) };
        let Some(mut cfg) = channel.email.clone() else { return Ok(None) };
        cfg.to = vec![address.to_owned()];
        let now = self.clock.now().millis();
        let claim = sekimori_store::NotificationClaim {
            tenant_id: tenant_id.to_owned(),
            channel: channel.id(),
            group_key: format!("user-notice:{username}"),
            content_hash: sha256_hex(dedup_key.as_bytes()),
            at: Timestamp(now),
            owner: format!("node-{}", std::process::id()),
            lease_until: Timestamp(now + 900_000),
            repeat_ms: 7 * 86_400_000,
        };
        if self.store.claim_notification(&claim).await? != sekimori_store::ClaimOutcome::Claimed {
            return Ok(None);
        }
        let sender = crate::deliver::Sender::new(
            self.clock.clone(),
            self.rng.clone(),
            sekimori_respond::delivery::RetryPolicy::default(),
            std::time::Duration::from_secs(10),
        )
        .map_err(|e| ServiceError::new(ErrorCode::Internal, e.to_string()))?;
        let email = render(language);
        let report = sender.mail(&cfg, &email).await;
        self.record_notification(&claim, &report, 0).await?;
        Ok(Some(report))
    }
}
