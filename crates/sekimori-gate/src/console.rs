//! Console roles: the admin-token roles (admin, auditor with personal data masked, operator
//! with capabilities and groups) given to users or to groups, so people sign in to the
//! console with Sekimori's own login and act through the same admin API, checked by the
//! same authorization table as tokens: a console user is authorised as a token of the
//! role they hold would be. A console session must be at level 2 or higher.

use sekimori_core::ecs::{action, field};
use sekimori_core::event::Outcome;
use sekimori_core::ErrorCode;
use sekimori_store::{AdminToken, ConsoleGrant, ConsoleSubject};
use serde::Serialize;
use std::sync::Arc;

use crate::roles::{Role, Roles, Scope};
use crate::sessions::SessionView;
use crate::{Context, GateError, GateResult};

/// The level a console session needs.
pub const CONSOLE_LEVEL: u8 = 2;

/// The prefix of a console user's principal id (`console:<username>`), which admin actions
/// record as the actor.
pub const PRINCIPAL_PREFIX: &str = "console:";

/// A console role as the admin API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct GrantView {
    /// `user` or `group`.
    pub kind: &'static str,
    /// The username or group name.
    pub name: String,
    /// `admin`, `auditor` or `operator`.
    pub role: &'static str,
    /// An operator's scope.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<Scope>,
    /// When given (RFC 3339).
    pub created_at: String,
    /// Who gave it.
    pub created_by: String,
}

/// Console roles and the principal of a console session.
pub struct ConsoleRoles {
    ctx: Arc<Context>,
    roles: Arc<Roles>,
}

impl ConsoleRoles {
    pub(crate) fn new(ctx: Arc<Context>, roles: Arc<Roles>) -> Self {
        ConsoleRoles { ctx, roles }
    }

    async fn subject(&self, admin: &AdminToken, kind: ConsoleSubject, name: &str) -> GateResult<String> {
        Ok(match kind {
            ConsoleSubject::User => self.ctx.find_user(&admin.tenant_id, name).await?.id.to_string(),
            ConsoleSubject::Group => {
                self.ctx
                    .store
                    .group_by_name(&admin.tenant_id, name)
                    .await?
                    .ok_or_else(|| GateError::new(ErrorCode::NotFound, format!("no group {name}")))?
                    .id
            }
        })
    }

    /// Gives `name` (a user or a group) a console role, replacing theirs.
    pub async fn grant(
        &self,
        admin: &AdminToken,
        kind: ConsoleSubject,
        name: &str,
        role: Role,
        scope: Option<Scope>,
    ) -> GateResult<GrantView> {
        let subject_id = self.subject(admin, kind, name).await?;
        let scope = self.roles.checked_scope(&admin.tenant_id, role, scope).await?;
        let grant = ConsoleGrant {
            tenant_id: admin.tenant_id.clone(),
            subject_kind: kind,
            subject_id,
            role,
            scope,
            created_at: self.ctx.clock.now(),
            created_by: admin.name.clone(),
        };
        let ev = self
            .ctx
            .event(&admin.tenant_id, "iam", action::ADMIN_CONSOLE_ROLE_GRANTED, Outcome::Success)
            .field(field::ADMIN_TOKEN_ID, admin.id.as_str())
            .field("sekimori.console.subject", format!("{}:{name}", kind.as_str()))
            .field(field::ADMIN_TOKEN_ROLE, role.as_str());
        self.ctx.store.put_console_grant(&grant, &ev).await?;
        Ok(view(&grant, name.to_owned()))
    }

    /// Takes `name`'s console role away.
    pub async fn revoke(&self, admin: &AdminToken, kind: ConsoleSubject, name: &str) -> GateResult<()> {
        let subject_id = self.subject(admin, kind, name).await?;
        let ev = self
            .ctx
            .event(&admin.tenant_id, "iam", action::ADMIN_CONSOLE_ROLE_REVOKED, Outcome::Success)
            .field(field::ADMIN_TOKEN_ID, admin.id.as_str())
            .field("sekimori.console.subject", format!("{}:{name}", kind.as_str()));
        if !self.ctx.store.delete_console_grant(&admin.tenant_id, kind, &subject_id, &ev).await? {
            return Err(GateError::new(ErrorCode::NotFound, format!("{} {name} has no console role", kind.as_str())));
        }
        Ok(())
    }

    /// The tenant's console roles, with the names of their users and groups, by kind and name.
    pub async fn list(&self, admin: &AdminToken) -> GateResult<Vec<GrantView>> {
        let grants = self.ctx.store.console_grants(&admin.tenant_id).await?;
        let groups = self.ctx.store.list_groups(&admin.tenant_id).await?;
        let mut out = Vec::with_capacity(grants.len());
        for g in grants {
            let name = match g.subject_kind {
                ConsoleSubject::User => self.ctx.store.user(&g.subject_id.clone().into()).await?.map(|u| u.username),
                ConsoleSubject::Group => groups.iter().find(|x| x.id == g.subject_id).map(|x| x.name.clone()),
            };
            // A subject deleted meanwhile takes its grant with it (the store deletes both).
            if let Some(name) = name {
                out.push(view(&g, name));
            }
        }
        out.sort_by(|a, b| (a.kind, &a.name).cmp(&(b.kind, &b.name)));
        Ok(out)
    }

    /// The principal a console session acts as: the role its user holds (directly or
    /// through a group), as a token of that role would be. Several roles combine: admin
    /// wins; else operators' scopes are joined; else auditor. A session below level 2, or
    /// a user without a console role, is `forbidden`.
    pub async fn principal(&self, session: &SessionView) -> GateResult<AdminToken> {
        // Level 2 at least, and whatever a required-level override asks of this user now.
        let need = CONSOLE_LEVEL.max(session.required_level);
        if session.level < need {
            return Err(GateError::new(
                ErrorCode::Forbidden,
                format!(
                    "the console needs a sign-in at level {need} (a passkey, the authenticator, or a second factor)"
                ),
            )
            .with("required_level", need));
        }
        let grants = self.ctx.store.console_grants_of(&session.user_id).await?;
        let role = if grants.iter().any(|g| g.role == Role::Admin) {
            Role::Admin
        } else if grants.iter().any(|g| g.role == Role::Operator) {
            Role::Operator
        } else if grants.iter().any(|g| g.role == Role::Auditor) {
            Role::Auditor
        } else {
            return Err(GateError::new(ErrorCode::Forbidden, "you have no console role"));
        };
        let scope = (role == Role::Operator).then(|| {
            let scopes: Vec<&Scope> =
                grants.iter().filter(|g| g.role == Role::Operator).filter_map(|g| g.scope.as_ref()).collect();
            let mut joined = Scope::default();
            for s in &scopes {
                joined.capabilities.extend(s.capabilities.iter().cloned());
                joined.groups.extend(s.groups.iter().cloned());
            }
            // No groups means every user: one such grant opens the joined scope to all.
            if scopes.iter().any(|s| s.groups.is_empty()) {
                joined.groups.clear();
            }
            joined.capabilities.sort();
            joined.capabilities.dedup();
            joined.groups.sort();
            joined.groups.dedup();
            joined
        });
        Ok(AdminToken {
            id: format!("{PRINCIPAL_PREFIX}{}", session.username),
            tenant_id: session.tenant_id.clone(),
            name: session.username.clone(),
            secret_hash: Vec::new(),
            created_at: sekimori_core::Timestamp(session.auth_time_ms),
            revoked_at: None,
            role,
            scope,
        })
    }
}

fn view(g: &ConsoleGrant, name: String) -> GrantView {
    GrantView {
        kind: g.subject_kind.as_str(),
        name,
        role: g.role.as_str(),
        scope: g.scope.clone(),
        created_at: g.created_at.to_rfc3339(),
        created_by: g.created_by.clone(),
    }
}
