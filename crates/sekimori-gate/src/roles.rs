//! Admin roles: what an admin token may do.
//!
//! - `admin`: everything.
//! - `auditor`: reads everything (`GET` only); the server masks personal data (email,
//!   display name, IP addresses, networks, environments, user agents) in every answer.
//! - `operator`: only the capabilities named in its scope, and, when its scope names
//!   groups, only users in those groups and those groups.
//!
//! Every admin route belongs to one capability ([`required`]); a route not in the table
//! is for `admin` only, so a new route is closed until it is classified.

use sekimori_core::ecs::{action, field};
use sekimori_core::event::Outcome;
use sekimori_core::token::hash_secret;
use sekimori_core::token::PrefixedKey;
use sekimori_core::ErrorCode;
use sekimori_store::AdminToken;
use serde::Serialize;

use crate::{Gate, GateError, GateResult};

/// A role: `admin` (everything), `auditor` (reads everything, personal data masked) or
/// `operator` (named capabilities, optionally limited to user groups). Stored typed; a
/// stored role that is none of these is a store error, never a default role.
pub use sekimori_store::AdminRole as Role;

/// Every capability an operator may be given.
pub const CAPABILITIES: &[&str] =
    &["users.read", "users.write", "credentials", "groups", "apps", "tenant", "audit", "detection.read", "detection"];

/// An operator's scope: capabilities (from [`CAPABILITIES`]) and the groups whose members
/// it may see and manage (empty: every user). Stored typed; a corrupt one is a store error,
/// never an empty (unrestricted) scope.
pub use sekimori_store::OperatorScope as Scope;

/// What a request needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    /// The capability, `None` for any role (e.g. reading tenant settings); `Some("admin")`
    /// for admin only.
    pub capability: Option<&'static str>,
    /// The user the request is about, from the path.
    pub username: Option<String>,
    /// The group the request is about, from the path.
    pub group: Option<String>,
    /// Whether the request changes something.
    pub write: bool,
    /// Whether it creates or deletes a group (not for an operator limited to groups).
    pub group_structure: bool,
}

/// The capability a request to an admin route needs (`path` without the query).
pub fn required(method: &str, path: &str) -> Need {
    let write = !matches!(method, "GET" | "HEAD");
    let seg: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let decode = |s: &str| sekimori_core::names::percent_decode(s);
    let mut need = Need { capability: Some("admin"), username: None, group: None, write, group_structure: false };
    let rw = |read: &'static str, w: &'static str| Some(if write { w } else { read });
    need.capability = match seg.as_slice() {
        ["api", "v1", "events"] => rw("audit", "admin"),
        ["api", "v1", "admin", "audit", ..] => rw("audit", "admin"),
        ["api", "v1", "admin", "tokens", ..] => rw("tokens", "tokens"),
        ["api", "v1", "admin", "tenant"] => {
            if write {
                Some("tenant")
            } else {
                None
            }
        }
        ["api", "v1", "admin", "users"] => rw("users.read", "users.write"),
        ["api", "v1", "admin", "users", user] => {
            need.username = Some(decode(user));
            rw("users.read", "users.write")
        }
        ["api", "v1", "admin", "users", user, what, ..] => {
            need.username = Some(decode(user));
            match *what {
                "devices" | "environments" | "factors" | "passkeys" if !write => Some("users.read"),
                _ => Some("credentials"),
            }
        }
        ["api", "v1", "admin", "groups"] => {
            need.group_structure = write;
            rw("users.read", "groups")
        }
        ["api", "v1", "admin", "groups", group, rest @ ..] => {
            need.group = Some(decode(group));
            need.group_structure = method == "DELETE" && rest.is_empty();
            if let ["members", user] = rest {
                need.username = Some(decode(user));
            }
            rw("users.read", "groups")
        }
        ["api", "v1", "admin", "apps", ..] => rw("apps", "apps"),
        // OIDC clients are apps; replacing the signing keys is for admins.
        ["api", "v1", "admin", "oidc", "keys", "rotate"] => Some("admin"),
        ["api", "v1", "admin", "oidc", ..] => rw("apps", "apps"),
        ["api", "v1", "admin", area, ..]
            if matches!(
                *area,
                "ingest-sources"
                    | "tuning"
                    | "alerts"
                    | "ingested-events"
                    | "dead-letters"
                    | "listeners"
                    | "ingest-settings"
            ) =>
        {
            rw("detection.read", "detection")
        }
        _ => Some("admin"),
    };
    need
}

/// A token as listed (never its secret).
#[derive(Debug, Clone, Serialize)]
pub struct TokenView {
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Role.
    pub role: String,
    /// An operator's scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    /// Creation time (RFC 3339).
    pub created_at: String,
    /// Whether it was revoked.
    pub revoked: bool,
}

/// The scope stored with an operator token. An operator token without one is corrupt (a
/// token is minted with its scope), never read as the empty scope, whose empty group list
/// means every user.
pub fn scope_of(token: &AdminToken) -> GateResult<&Scope> {
    token.scope.as_ref().ok_or_else(|| {
        tracing::error!(token = %token.id, "operator token without a stored scope");
        GateError::new(ErrorCode::Internal, format!("admin token {} has no stored scope", token.id))
    })
}

fn view(t: &AdminToken) -> TokenView {
    TokenView {
        id: t.id.clone(),
        name: t.name.clone(),
        role: t.role.as_str().to_owned(),
        scope: t.scope.clone(),
        created_at: sekimori_core::Timestamp(t.created_at).to_rfc3339(),
        revoked: t.revoked_at.is_some(),
    }
}

impl Gate {
    /// Mints an admin token with a role (and an operator's scope); the bearer token is
    /// returned once.
    pub async fn mint_token(
        &self,
        tenant_id: &str,
        name: &str,
        role: Role,
        scope: Option<Scope>,
        actor: &str,
    ) -> GateResult<(TokenView, String)> {
        let scope = match (role, scope) {
            (Role::Operator, Some(s)) => {
                if let Some(bad) = s.capabilities.iter().find(|c| !CAPABILITIES.contains(&c.as_str())) {
                    return Err(GateError::new(
                        ErrorCode::InvalidRequest,
                        format!("unknown capability {bad:?}; known: {}", CAPABILITIES.join(", ")),
                    )
                    .with("field", "capabilities"));
                }
                for g in &s.groups {
                    if self.store.group_by_name(tenant_id, g).await?.is_none() {
                        return Err(
                            GateError::new(ErrorCode::InvalidRequest, format!("no group {g}")).with("field", "groups")
                        );
                    }
                }
                Some(s)
            }
            (Role::Operator, None) => {
                return Err(GateError::new(ErrorCode::InvalidRequest, "an operator needs capabilities")
                    .with("field", "capabilities"))
            }
            (_, Some(_)) => {
                return Err(GateError::new(ErrorCode::InvalidRequest, "only an operator has a scope")
                    .with("field", "capabilities"))
            }
            (_, None) => None,
        };
        let id = self.new_id().replace('-', "");
        let secret = self.new_secret();
        let token = AdminToken {
            id: id.clone(),
            tenant_id: tenant_id.to_owned(),
            name: name.to_owned(),
            secret_hash: hash_secret(&secret),
            created_at: self.clock.now().millis(),
            revoked_at: None,
            role,
            scope,
        };
        let ev = self
            .event(tenant_id, "iam", action::ADMIN_TOKEN_CREATED, Outcome::Success)
            .field(field::ADMIN_TOKEN_ID, id.as_str())
            .field(field::ADMIN_TOKEN_NAME, name)
            .field(field::ADMIN_TOKEN_ROLE, role.as_str())
            .field(field::ACTOR, actor);
        self.store.insert_admin_token(&token, &ev).await?;
        Ok((view(&token), PrefixedKey::format(crate::admin::ADMIN_PREFIX, &id, &secret)))
    }

    /// The tenant's admin tokens.
    pub async fn admin_tokens(&self, tenant_id: &str) -> GateResult<Vec<TokenView>> {
        Ok(self.store.list_admin_tokens(tenant_id).await?.iter().map(view).collect())
    }

    /// Revokes an admin token of the tenant.
    pub async fn revoke_admin_token(&self, tenant_id: &str, id: &str, actor: &str) -> GateResult<()> {
        let owned = self.store.admin_token(id).await?.is_some_and(|t| t.tenant_id == tenant_id);
        let ev = self
            .event(tenant_id, "iam", action::ADMIN_TOKEN_REVOKED, Outcome::Success)
            .field(field::ADMIN_TOKEN_ID, id)
            .field(field::ACTOR, actor);
        if !owned || !self.store.revoke_admin_token(id, self.clock.now().millis(), &ev).await? {
            return Err(GateError::new(ErrorCode::NotFound, format!("no live admin token {id}")));
        }
        Ok(())
    }

    /// Whether `token` may make a request needing `need`: `forbidden` for a missing
    /// capability or an auditor's write; `not_found` for a user or group outside an
    /// operator's groups (it does not exist for them).
    pub async fn authorize(&self, token: &AdminToken, need: &Need) -> GateResult<()> {
        let role = token.role;
        let forbidden = |why: String| Err(GateError::new(ErrorCode::Forbidden, why));
        match role {
            Role::Admin => Ok(()),
            Role::Auditor if need.write => forbidden("the auditor role only reads".into()),
            Role::Auditor => Ok(()),
            Role::Operator => {
                let scope = scope_of(token)?;
                if let Some(cap) = need.capability {
                    if !scope.capabilities.iter().any(|c| c == cap) {
                        return forbidden(format!("this operator token lacks the {cap:?} capability"));
                    }
                }
                if scope.groups.is_empty() {
                    return Ok(());
                }
                if need.group_structure {
                    return forbidden("an operator limited to groups cannot create or delete groups".into());
                }
                if let Some(g) = &need.group {
                    if !scope.groups.contains(g) {
                        return Err(GateError::new(ErrorCode::NotFound, format!("no group {g}")));
                    }
                }
                if let Some(u) = &need.username {
                    if !self.user_in_groups(&token.tenant_id, u, &scope.groups).await? {
                        return Err(GateError::new(ErrorCode::NotFound, format!("no user {u}")));
                    }
                } else if need.write && need.group.is_none() && need.capability == Some("users.write") {
                    return forbidden("an operator limited to groups cannot create users".into());
                }
                Ok(())
            }
        }
    }

    /// Whether `username` is in one of `groups`.
    pub async fn user_in_groups(&self, tenant_id: &str, username: &str, groups: &[String]) -> GateResult<bool> {
        let Some(user) = self.store.user_by_name(tenant_id, username).await? else { return Ok(false) };
        Ok(self.store.user_groups(&user.id).await?.iter().any(|g| groups.contains(&g.name)))
    }

    /// The usernames an operator limited to groups may see; `None` when not limited.
    pub async fn visible_usernames(&self, token: &AdminToken) -> GateResult<Option<Vec<String>>> {
        if token.role != Role::Operator {
            return Ok(None);
        }
        let scope = scope_of(token)?;
        if scope.groups.is_empty() {
            return Ok(None);
        }
        let mut names = Vec::new();
        for g in &scope.groups {
            if let Some(group) = self.store.group_by_name(&token.tenant_id, g).await? {
                names.extend(self.store.group_member_names(&group.id).await?);
            }
        }
        Ok(Some(names))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_operator_token_without_a_scope_is_an_error_not_every_user() {
        let mut t = AdminToken {
            id: "t1".into(),
            tenant_id: "x".into(),
            name: "ops".into(),
            secret_hash: Vec::new(),
            created_at: 0,
            revoked_at: None,
            role: Role::Operator,
            scope: None,
        };
        assert_eq!(scope_of(&t).map_err(|e| e.code), Err(ErrorCode::Internal));
        t.scope = Some(Scope { capabilities: vec!["users.read".into()], groups: vec!["ops".into()] });
        assert_eq!(scope_of(&t).expect("scope").groups, ["ops"]);
    }

    #[test]
    fn every_admin_route_has_a_capability() {
        let cap = |m: &str, p: &str| required(m, p).capability;
        assert_eq!(cap("GET", "/api/v1/admin/users"), Some("users.read"));
        assert_eq!(cap("POST", "/api/v1/admin/users"), Some("users.write"));
        assert_eq!(cap("DELETE", "/api/v1/admin/users/alice"), Some("users.write"));
        assert_eq!(cap("GET", "/api/v1/admin/users/alice/devices"), Some("users.read"));
        assert_eq!(cap("POST", "/api/v1/admin/users/alice/totp"), Some("credentials"));
        assert_eq!(cap("PUT", "/api/v1/admin/users/alice/password"), Some("credentials"));
        assert_eq!(cap("GET", "/api/v1/admin/tenant"), None);
        assert_eq!(cap("PATCH", "/api/v1/admin/tenant"), Some("tenant"));
        assert_eq!(cap("GET", "/api/v1/events"), Some("audit"));
        assert_eq!(cap("GET", "/api/v1/admin/alerts"), Some("detection.read"));
        assert_eq!(cap("PUT", "/api/v1/admin/tuning"), Some("detection"));
        assert_eq!(cap("POST", "/api/v1/admin/tokens"), Some("tokens"));
        assert_eq!(cap("GET", "/api/v1/admin/users/alice/passkeys"), Some("users.read"));
        assert_eq!(cap("DELETE", "/api/v1/admin/users/alice/passkeys/k1"), Some("credentials"));
        assert_eq!(cap("GET", "/api/v1/admin/oidc/clients"), Some("apps"));
        assert_eq!(cap("GET", "/api/v1/admin/oidc/keys"), Some("apps"));
        assert_eq!(cap("POST", "/api/v1/admin/oidc/keys/rotate"), Some("admin"));
        assert_eq!(cap("GET", "/api/v1/admin/something-new"), Some("admin"), "unclassified routes are admin-only");
        let n = required("PUT", "/api/v1/admin/groups/night%20shift/members/bob");
        assert_eq!((n.group.as_deref(), n.username.as_deref(), n.write), (Some("night shift"), Some("bob"), true));
    }

    #[test]
    fn tokens_capability_is_not_grantable() {
        assert!(!CAPABILITIES.contains(&"tokens") && !CAPABILITIES.contains(&"admin"));
    }
}
