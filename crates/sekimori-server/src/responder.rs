//! Response policies act through the gate: detection's [`Responder`] seam, implemented by
//! the gate's required-level overrides (the one place that changes what a user's logins
//! need).

use std::time::Duration;

use sekimori_gate::overrides::{Applied, Response, ResponseRequest};
use sekimori_gate::Gate;
use sekimori_respond::email::UserNotice;
use sekimori_respond::PolicyAction;
use sekimori_watch::responder::{ResponseCall, ResponseOutcome};
use sekimori_watch::WatchResult;

/// The gate as detection's responder.
#[derive(Clone)]
pub struct GateResponder(pub Gate);

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

#[async_trait::async_trait]
impl sekimori_watch::responder::Responder for GateResponder {
    async fn respond(&self, call: &ResponseCall) -> WatchResult<ResponseOutcome> {
        let p = &call.policy;
        let response = match p.action {
            PolicyAction::RaiseLevel => Response::RaiseLevel(p.level.unwrap_or(3)),
            PolicyAction::SuspendPush => Response::SuspendPush,
            PolicyAction::Block => Response::Block,
            PolicyAction::Reauthenticate => Response::Reauthenticate,
        };
        let mut steps: Vec<i64> = p.steps().into_iter().map(ms).collect();
        if steps.is_empty() {
            // Reauthentication is not lasting; the gate needs no duration for it.
            steps.push(1);
        }
        let request = ResponseRequest {
            response,
            escalation_ms: steps,
            escalation_window_ms: ms(p.window()),
            reason: format!("{} (alert {})", call.title, call.alert_id),
            policy: Some(p.name.clone()),
            source: format!("alert:{}", call.alert_id),
            exempt_users: p.exempt_users.clone(),
            exempt_groups: p.exempt_groups.clone(),
        };
        Ok(match self.0.overrides().apply(&call.tenant_id, &call.username, &request).await? {
            Applied::Set(record) => {
                let user = self.0.admin().find_user(&call.tenant_id, &call.username).await?;
                ResponseOutcome::Applied(user.email.map(|email| UserNotice {
                    username: user.username.clone(),
                    email,
                    action: p.action.as_str().to_owned(),
                    level: p.level.filter(|_| p.action == PolicyAction::RaiseLevel),
                    until: record.map(|r| r.expires_at.to_rfc3339()),
                    reason: call.title.clone(),
                }))
            }
            Applied::AlreadyInForce(_) => ResponseOutcome::AlreadyInForce,
            Applied::Exempt => ResponseOutcome::Exempt,
            Applied::NoSuchUser => ResponseOutcome::NoSuchUser,
        })
    }
}
