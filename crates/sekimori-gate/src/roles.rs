//! Admin roles: what an admin token may do.
//!
//! - `admin`: everything.
//! - `auditor`: reads everything (`GET` only); the server masks personal data (email,
//!   display name, IP addresses, networks, environments, user agents) in every answer.
//! - `operator`: only the capabilities named in its scope, and, when its scope names
//!   groups, only users in those groups and those groups.
//!
//! Every admin route declares what it needs beside its handler ([`Requirement`], in the
//! server's `AdminRoutes`); a route that declares nothing is for `admin` only, so a new
//! route is closed until it is classified.

use sekimori_core::ecs::{action, field};
use sekimori_core::event::Outcome;
use sekimori_core::token::hash_secret;
use sekimori_core::token::PrefixedKey;
use sekimori_core::ErrorCode;
use sekimori_core::TenantId;
use sekimori_store::AdminToken;
use serde::Serialize;

use std::sync::Arc;

use crate::{Context, GateError, GateResult};

/// A role: `admin` (everything), `auditor` (reads everything, personal data masked) or
/// `operator` (named capabilities, optionally limited to user groups). Stored typed; a
/// stored role that is none of these is a store error, never a default role.
pub use sekimori_store::AdminRole as Role;

/// What an admin route needs, declared with the route (the server's `AdminRoutes`): one
/// capability an operator may be given, or any role, or the admin role only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Capability {
    /// Read users and groups.
    UsersRead,
    /// Create, change and delete users.
    UsersWrite,
    /// A user's credentials: devices, enrolments, passwords, TOTP, recovery codes,
    /// passkeys, sessions.
    Credentials,
    /// Change groups and their members.
    Groups,
    /// Apps, their keys and origins, OIDC clients.
    Apps,
    /// Change the tenant's settings.
    Tenant,
    /// Read the audit log.
    Audit,
    /// Read detection: sources, listeners, alerts, tuning, dead letters.
    DetectionRead,
    /// Change detection.
    Detection,
    /// Admin tokens (not grantable: only the admin role has it, the auditor reads it).
    Tokens,
}

impl Capability {
    /// Every capability.
    pub const ALL: [Capability; 10] = [
        Capability::UsersRead,
        Capability::UsersWrite,
        Capability::Credentials,
        Capability::Groups,
        Capability::Apps,
        Capability::Tenant,
        Capability::Audit,
        Capability::DetectionRead,
        Capability::Detection,
        Capability::Tokens,
    ];

    /// The name stored in an operator's scope.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::UsersRead => "users.read",
            Capability::UsersWrite => "users.write",
            Capability::Credentials => "credentials",
            Capability::Groups => "groups",
            Capability::Apps => "apps",
            Capability::Tenant => "tenant",
            Capability::Audit => "audit",
            Capability::DetectionRead => "detection.read",
            Capability::Detection => "detection",
            Capability::Tokens => "tokens",
        }
    }

    /// Whether an operator token may be given it.
    pub fn grantable(self) -> bool {
        self != Capability::Tokens
    }

    /// The grantable capability named `name`.
    pub fn grantable_named(name: &str) -> Option<Capability> {
        Capability::ALL.into_iter().find(|c| c.grantable() && c.as_str() == name)
    }
}

/// The names of every capability an operator may be given.
pub fn grantable_names() -> Vec<&'static str> {
    Capability::ALL.into_iter().filter(|c| c.grantable()).map(Capability::as_str).collect()
}

/// An operator's scope: capabilities (named by [`Capability::as_str`]) and the groups whose
/// members it may see and manage (empty: every user). Stored typed; a corrupt one is a
/// store error, never an empty (unrestricted) scope.
pub use sekimori_store::OperatorScope as Scope;

/// The scope a request names with its optional `capabilities` and `groups` (none: no scope).
pub fn scope_from(capabilities: Option<Vec<String>>, groups: Option<Vec<String>>) -> Option<Scope> {
    match (capabilities, groups) {
        (None, None) => None,
        // Either list may be left out when the other is given: then it has nothing in it.
        (c, g) => {
            Some(Scope { capabilities: c.into_iter().flatten().collect(), groups: g.into_iter().flatten().collect() })
        }
    }
}

/// Who may use an admin route's method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// Any role (e.g. reading the tenant's settings).
    AnyRole,
    /// An admin, an auditor when it only reads, or an operator given the capability.
    Capability(Capability),
    /// The admin role (and the auditor, which reads everything); also what a route that
    /// declares nothing gets.
    AdminOnly,
}

/// What a request needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    /// Who may.
    pub requirement: Requirement,
    /// The user the request is about, from the path.
    pub username: Option<String>,
    /// The group the request is about, from the path.
    pub group: Option<String>,
    /// Whether the request changes something.
    pub write: bool,
    /// Whether it creates or deletes a group (not for an operator limited to groups).
    pub group_structure: bool,
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
        created_at: t.created_at.to_rfc3339(),
        revoked: t.revoked_at.is_some(),
    }
}

/// Admin tokens with roles (admin, auditor, operator with capabilities and a group
/// scope), and the authorization of each admin request.
pub struct Roles {
    ctx: Arc<Context>,
}

impl Roles {
    pub(crate) fn new(ctx: Arc<Context>) -> Self {
        Roles { ctx }
    }
}

impl Roles {
    /// A role's scope as given: an operator's capabilities must be known and its groups
    /// exist; other roles have none.
    pub(crate) async fn checked_scope(
        &self,
        tenant_id: &TenantId,
        role: Role,
        scope: Option<Scope>,
    ) -> GateResult<Option<Scope>> {
        Ok(match (role, scope) {
            (Role::Operator, Some(s)) => {
                if let Some(bad) = s.capabilities.iter().find(|c| Capability::grantable_named(c).is_none()) {
                    return Err(GateError::new(
                        ErrorCode::InvalidRequest,
                        format!("unknown capability {bad:?}; known: {}", grantable_names().join(", ")),
                    )
                    .with("field", "capabilities"));
                }
                for g in &s.groups {
                    if self.ctx.store.group_by_name(tenant_id, g).await?.is_none() {
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
        })
    }
}

impl Roles {
    /// Mints an admin token with a role (and an operator's scope); the bearer token is
    /// returned once.
    pub async fn mint_token(
        &self,
        tenant_id: &TenantId,
        name: &str,
        role: Role,
        scope: Option<Scope>,
        actor: &str,
    ) -> GateResult<(TokenView, String)> {
        let scope = self.checked_scope(tenant_id, role, scope).await?;
        let id = self.ctx.new_id::<String>().replace('-', "");
        let secret = self.ctx.new_secret();
        let token = AdminToken {
            id: id.clone(),
            tenant_id: tenant_id.to_owned(),
            name: name.to_owned(),
            secret_hash: hash_secret(&secret),
            created_at: self.ctx.clock.now(),
            revoked_at: None,
            role,
            scope,
        };
        let ev = self
            .ctx
            .event(tenant_id, "iam", action::ADMIN_TOKEN_CREATED, Outcome::Success)
            .field(field::ADMIN_TOKEN_ID, id.as_str())
            .field(field::ADMIN_TOKEN_NAME, name)
            .field(field::ADMIN_TOKEN_ROLE, role.as_str())
            .field(field::ACTOR, actor);
        self.ctx.store.insert_admin_token(&token, &ev).await?;
        Ok((view(&token), PrefixedKey::format(crate::admin::ADMIN_PREFIX, &id, &secret)))
    }

    /// The tenant's admin tokens.
    pub async fn admin_tokens(&self, tenant_id: &TenantId) -> GateResult<Vec<TokenView>> {
        Ok(self.ctx.store.list_admin_tokens(tenant_id).await?.iter().map(view).collect())
    }

    /// Revokes an admin token of the tenant.
    pub async fn revoke_admin_token(&self, tenant_id: &TenantId, id: &str, actor: &str) -> GateResult<()> {
        let owned = self.ctx.store.admin_token(id).await?.is_some_and(|t| t.tenant_id == *tenant_id);
        let ev = self
            .ctx
            .event(tenant_id, "iam", action::ADMIN_TOKEN_REVOKED, Outcome::Success)
            .field(field::ADMIN_TOKEN_ID, id)
            .field(field::ACTOR, actor);
        if !owned || !self.ctx.store.revoke_admin_token(id, self.ctx.clock.now(), &ev).await? {
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
        match (role, need.requirement) {
            (Role::Admin, _) => Ok(()),
            (Role::Auditor, _) if need.write => forbidden("the auditor role only reads".into()),
            (Role::Auditor, _) => Ok(()),
            (Role::Operator, Requirement::AdminOnly) => forbidden("this is for the admin role".into()),
            (Role::Operator, requirement) => {
                let scope = scope_of(token)?;
                if let Requirement::Capability(cap) = requirement {
                    if !scope.capabilities.iter().any(|c| c == cap.as_str()) {
                        return forbidden(format!("this operator token lacks the {:?} capability", cap.as_str()));
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
                } else if need.write
                    && need.group.is_none()
                    && need.requirement == Requirement::Capability(Capability::UsersWrite)
                {
                    return forbidden("an operator limited to groups cannot create users".into());
                }
                Ok(())
            }
        }
    }

    /// Whether `username` is in one of `groups`.
    pub async fn user_in_groups(&self, tenant_id: &TenantId, username: &str, groups: &[String]) -> GateResult<bool> {
        let Some(user) = self.ctx.store.user_by_name(tenant_id, username).await? else { return Ok(false) };
        Ok(self.ctx.store.user_groups(&user.id).await?.iter().any(|g| groups.contains(&g.name)))
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
            if let Some(group) = self.ctx.store.group_by_name(&token.tenant_id, g).await? {
                names.extend(self.ctx.store.group_member_names(&group.id).await?);
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
            created_at: sekimori_core::Timestamp(0),
            revoked_at: None,
            role: Role::Operator,
            scope: None,
        };
        assert_eq!(scope_of(&t).map_err(|e| e.code), Err(ErrorCode::Internal));
        t.scope = Some(Scope { capabilities: vec!["users.read".into()], groups: vec!["ops".into()] });
        assert_eq!(scope_of(&t).expect("scope").groups, ["ops"]);
    }

    #[test]
    fn tokens_capability_is_not_grantable() {
        let names = grantable_names();
        assert!(!names.contains(&"tokens") && !names.contains(&"admin"));
        assert_eq!(names.len(), Capability::ALL.len() - 1);
        for c in Capability::ALL {
            assert_eq!(Capability::grantable_named(c.as_str()).is_some(), c.grantable(), "{c:?}");
        }
    }
}
