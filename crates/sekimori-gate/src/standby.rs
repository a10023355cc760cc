//! The standby window: the user arms login from an authenticator; push requests outside
//! an armed window are refused at once, without disturbing the device.

use sekimori_core::ecs::{action, field};
use sekimori_core::event::Outcome;
use sekimori_store::{Device, StandbyWindow, User};
use serde::Serialize;

use std::sync::Arc;

use crate::{Context, GateResult};

/// An armed window.
#[derive(Debug, Clone, Serialize)]
pub struct StandbyOpened {
    /// Window id.
    pub id: String,
    /// Opening time (RFC 3339).
    pub opened_at: String,
    /// Expiry (RFC 3339).
    pub expires_at: String,
    /// Length in seconds.
    pub seconds: i64,
}

/// The standby window an authenticator arms.
pub struct Standby {
    ctx: Arc<Context>,
}

impl Standby {
    pub(crate) fn new(ctx: Arc<Context>) -> Self {
        Standby { ctx }
    }
}

impl Standby {
    /// Opens a standby window of the tenant's length for the device's user.
    pub async fn open_standby(&self, device: &Device, user: &User) -> GateResult<StandbyOpened> {
        let tenant = self.ctx.tenant(&user.tenant_id).await?;
        let now = self.ctx.clock.now();
        let w = StandbyWindow {
            id: self.ctx.new_id(),
            tenant_id: user.tenant_id.clone(),
            user_id: user.id.clone(),
            device_id: device.id.clone(),
            opened_at: now,
            expires_at: now.plus_seconds(tenant.standby_seconds),
            closed_at: None,
        };
        let ev = self
            .ctx
            .event(&user.tenant_id, "authentication", action::AUTH_STANDBY_OPENED, Outcome::Success)
            .user(&user.id, &user.username)
            .field(field::DEVICE_ID, device.id.as_str())
            .field(field::STANDBY_SECONDS, tenant.standby_seconds);
        self.ctx.store.open_standby(&w, &ev).await?;
        Ok(StandbyOpened {
            id: w.id,
            opened_at: now.to_rfc3339(),
            expires_at: w.expires_at.to_rfc3339(),
            seconds: tenant.standby_seconds,
        })
    }
}
