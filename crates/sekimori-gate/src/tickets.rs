//! One-time tickets: a relying party issues a ticket for a user and an entitlement; the
//! user's authenticator shows it as a QR code; a verifier redeems it exactly once.
//!
//! The payload is `sekimori://ticket?t=<id>.<mac>`, the MAC an HMAC-SHA256 of the id
//! under the server's ticket key, so the store keeps no secret and the authenticator can
//! be shown its tickets again at any time.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sekimori_core::ecs::field;
use sekimori_core::event::Outcome;
use sekimori_core::names::Entitlement;
use sekimori_core::token::ct_eq;
use sekimori_core::ErrorCode;
use sekimori_core::UserId;
use sekimori_store::{App, Consume, Ticket, User};
use serde::Serialize;

use std::sync::Arc;

use crate::{Context, GateError, GateResult};

/// The scheme prefix of ticket payloads.
pub const TICKET_PREFIX: &str = "sekimori://ticket?t=";

/// A newly issued ticket.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedTicket {
    /// Ticket id.
    pub id: String,
    /// Holder.
    pub username: String,
    /// Entitlement.
    pub entitlement: String,
    /// What the QR code holds.
    pub payload: String,
    /// Expiry (RFC 3339).
    pub expires_at: String,
}

/// A ticket as its holder's authenticator shows it.
#[derive(Debug, Clone, Serialize)]
pub struct TicketView {
    /// Ticket id.
    pub id: String,
    /// Entitlement.
    pub entitlement: String,
    /// What the QR code holds.
    pub payload: String,
    /// Expiry (RFC 3339).
    pub expires_at: String,
}

/// A successful redemption.
#[derive(Debug, Clone, Serialize)]
pub struct Redeemed {
    /// Ticket id.
    pub ticket_id: String,
    /// Holder's id.
    pub user_id: UserId,
    /// Holder's username.
    pub username: String,
    /// Entitlement.
    pub entitlement: String,
    /// Redemption time (RFC 3339).
    pub redeemed_at: String,
}

/// Splits a ticket payload (`sekimori://ticket?t=<id>.<mac>`, or the bare token) into the
/// id (32 hex digits) and the decoded MAC; `None` when it is not of that form. The MAC is
/// not checked here.
pub fn parse_ticket_payload(payload: &str) -> Option<(&str, Vec<u8>)> {
    let token = payload.strip_prefix(TICKET_PREFIX).unwrap_or(payload);
    let (id, mac) = token.split_once('.')?;
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mac = URL_SAFE_NO_PAD.decode(mac).ok()?;
    (mac.len() == 32).then_some((id, mac))
}

/// Tickets: signed, single-use entitlements a relying party issues and a verifier redeems.
pub struct Tickets {
    ctx: Arc<Context>,
    /// Default lifetime, seconds.
    ttl_seconds: i64,
    /// Longest lifetime a relying party may ask for, seconds.
    max_ttl_seconds: i64,
}

impl Tickets {
    pub(crate) fn new(ctx: Arc<Context>, ttl_seconds: i64, max_ttl_seconds: i64) -> Self {
        Tickets { ctx, ttl_seconds, max_ttl_seconds }
    }
}

impl Tickets {
    fn ticket_payload(&self, id: &str) -> String {
        let mac = URL_SAFE_NO_PAD.encode(self.ctx.keys.mac(format!("ticket:{id}").as_bytes()));
        format!("{TICKET_PREFIX}{id}.{mac}")
    }

    /// Issues a ticket for `username`, valid `ttl_seconds` (default from settings).
    pub async fn issue_ticket(
        &self,
        app: &App,
        username: &str,
        entitlement: &Entitlement,
        ttl_seconds: Option<i64>,
    ) -> GateResult<IssuedTicket> {
        let ttl = ttl_seconds.unwrap_or(self.ttl_seconds);
        if !(1..=self.max_ttl_seconds).contains(&ttl) {
            return Err(GateError::new(
                ErrorCode::InvalidRequest,
                format!("ttl_seconds must be between 1 and {}", self.max_ttl_seconds),
            )
            .with("field", "ttl_seconds"));
        }
        let user = self.ctx.find_user(&app.tenant_id, username).await?;
        let now = self.ctx.clock.now();
        let t = Ticket {
            id: self.ctx.new_id::<String>().replace('-', ""),
            tenant_id: user.tenant_id.clone(),
            user_id: user.id.clone(),
            entitlement: entitlement.to_string(),
            issued_by: app.id.clone(),
            created_at: now,
            expires_at: now.plus_seconds(ttl),
            redeemed_at: None,
            redeemed_by: None,
        };
        let ev = self
            .ctx
            .event(&user.tenant_id, "iam", "ticket.issued", Outcome::Success)
            .user(&user.id, &user.username)
            .field(field::TICKET_ID, t.id.as_str())
            .field(field::TICKET_ENTITLEMENT, entitlement.as_str())
            .field(field::APP_ID, app.id.as_str());
        self.ctx.store.insert_ticket(&t, &ev).await?;
        Ok(IssuedTicket {
            payload: self.ticket_payload(&t.id),
            id: t.id,
            username: user.username,
            entitlement: t.entitlement,
            expires_at: t.expires_at.to_rfc3339(),
        })
    }

    /// The user's unredeemed tickets, for the authenticator.
    pub async fn device_tickets(&self, user: &User) -> GateResult<Vec<TicketView>> {
        let tickets = self.ctx.store.user_tickets(&user.id, self.ctx.clock.now()).await?;
        Ok(tickets
            .into_iter()
            .map(|t| TicketView {
                payload: self.ticket_payload(&t.id),
                id: t.id,
                entitlement: t.entitlement,
                expires_at: t.expires_at.to_rfc3339(),
            })
            .collect())
    }

    /// Redeems a ticket payload once.
    pub async fn redeem_ticket(&self, app: &App, payload: &str) -> GateResult<Redeemed> {
        let bad = || GateError::new(ErrorCode::InvalidRequest, "not a Sekimori ticket").with("field", "payload");
        let (id, mac) = parse_ticket_payload(payload).ok_or_else(bad)?;
        if !ct_eq(&mac, &self.ctx.keys.mac(format!("ticket:{id}").as_bytes())) {
            return Err(bad());
        }
        let (ticket, holder) = self
            .ctx
            .store
            .ticket_with_holder(id)
            .await?
            .filter(|(t, _)| t.tenant_id == app.tenant_id)
            .ok_or_else(|| GateError::new(ErrorCode::NotFound, "no such ticket"))?;
        let now = self.ctx.clock.now();
        let ev = |action: &str, outcome| {
            self.ctx
                .event(&app.tenant_id, "iam", action, outcome)
                .user(&ticket.user_id, &holder)
                .field(field::TICKET_ID, id)
                .field(field::TICKET_ENTITLEMENT, ticket.entitlement.as_str())
                .field(field::APP_ID, app.id.as_str())
        };
        match self.ctx.store.redeem_ticket(id, &app.id, now, &ev("ticket.redeemed", Outcome::Success)).await? {
            Consume::Done(t) => Ok(Redeemed {
                ticket_id: t.id,
                user_id: t.user_id,
                username: holder.clone(),
                entitlement: t.entitlement,
                redeemed_at: now.to_rfc3339(),
            }),
            Consume::AlreadyUsed { at } => {
                let first = at.to_rfc3339();
                self.ctx
                    .store
                    .append(
                        &ev("ticket.rejected_already_redeemed", Outcome::Failure)
                            .field(field::EVENT_REASON, "already_redeemed"),
                    )
                    .await?;
                Err(GateError::new(ErrorCode::AlreadyRedeemed, format!("this ticket was already redeemed at {first}"))
                    .with("first_redeemed_at", first))
            }
            Consume::Expired => {
                self.ctx
                    .store
                    .append(&ev("ticket.rejected_expired", Outcome::Failure).field(field::EVENT_REASON, "expired"))
                    .await?;
                Err(GateError::new(ErrorCode::Expired, "this ticket has expired"))
            }
            Consume::NotFound => Err(GateError::new(ErrorCode::NotFound, "no such ticket")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_parse_strictly() {
        let id = "0123456789abcdef0123456789abcdef";
        let mac = URL_SAFE_NO_PAD.encode([7u8; 32]);
        let p = format!("{TICKET_PREFIX}{id}.{mac}");
        assert_eq!(parse_ticket_payload(&p), Some((id, vec![7u8; 32])));
        assert_eq!(parse_ticket_payload(&format!("{id}.{mac}")), Some((id, vec![7u8; 32])));
        assert_eq!(parse_ticket_payload(&format!("{TICKET_PREFIX}{id}.{}", URL_SAFE_NO_PAD.encode([7u8; 31]))), None);
        assert_eq!(parse_ticket_payload(&format!("{TICKET_PREFIX}zz23456789abcdef0123456789abcdef.{mac}")), None);
        assert_eq!(parse_ticket_payload("sekimori://ticket?t=nope"), None);
        assert_eq!(parse_ticket_payload(""), None);
    }
}
