//! Device enrolment: an admin creates a single-use code (10 minutes by default), shown as
//! `sekimori://enroll?u=<server URL>&c=<code>`; the authenticator registers its Ed25519
//! public key with it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sekimori_core::device::KeyType;
use sekimori_core::ecs::{action, field};
use sekimori_core::event::Outcome;
use sekimori_core::names::Label;
use sekimori_core::token::hash_secret;
use sekimori_core::ErrorCode;
use sekimori_core::{DeviceId, TenantId, UserId};
use sekimori_store::{AdminToken, Consume, Device, Enrollment};
use serde::Serialize;

use std::sync::Arc;

use crate::{Context, GateError, GateResult};

/// A new enrolment, to show to the user once.
#[derive(Debug, Clone, Serialize)]
pub struct EnrollmentCreated {
    /// Enrolment id.
    pub id: String,
    /// The username.
    pub username: String,
    /// The single-use code.
    pub code: String,
    /// `sekimori://enroll?u=…&c=…`, for the QR code.
    pub link: String,
    /// The same as an https link.
    pub https_link: String,
    /// Expiry (RFC 3339).
    pub expires_at: String,
}

/// The result of a device's enrolment.
#[derive(Debug, Clone, Serialize)]
pub struct Enrolled {
    /// The new device id.
    pub device_id: DeviceId,
    /// Its user.
    pub user_id: UserId,
    /// Its username.
    pub username: String,
    /// The server's Ed25519 public key (base64url) that signs challenges.
    pub server_public_key: String,
    /// The server's P-256 public key (base64url, uncompressed point) that signs the
    /// challenges of a P-256 device instead.
    pub server_public_key_p256: String,
    /// The device's key type (`ed25519` or `p256`).
    pub key_type: &'static str,
    /// The server key's id.
    pub server_key_id: String,
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub use sekimori_core::names::percent_encode;

/// Enrolment of authenticators: one-time codes (and their QR links) exchanged for a
/// device's public key.
pub struct Enrolment {
    ctx: Arc<Context>,
    /// Lifetime of an enrolment code, seconds.
    ttl_seconds: i64,
}

impl Enrolment {
    pub(crate) fn new(ctx: Arc<Context>, ttl_seconds: i64) -> Self {
        Enrolment { ctx, ttl_seconds }
    }
}

impl Enrolment {
    /// Creates an enrolment for `username`.
    pub async fn create_enrollment(&self, admin: &AdminToken, username: &str) -> GateResult<EnrollmentCreated> {
        let user = self.ctx.find_user(&admin.tenant_id, username).await?;
        let now = self.ctx.clock.now();
        let code = self.ctx.new_secret();
        let e = Enrollment {
            id: self.ctx.new_id(),
            tenant_id: user.tenant_id.clone(),
            user_id: user.id.clone(),
            code_hash: hash_secret(&code),
            created_at: now,
            expires_at: now.plus_seconds(self.ttl_seconds),
            used_at: None,
            device_id: None,
        };
        let ev = self
            .ctx
            .event(&user.tenant_id, "iam", action::IAM_DEVICE_ENROLLMENT_CREATED, Outcome::Success)
            .user(&user.id, &user.username)
            .field(field::ENROLLMENT_ID, e.id.as_str())
            .field(field::ADMIN_TOKEN_ID, admin.id.as_str());
        self.ctx.store.insert_enrollment(&e, &ev).await?;
        let base = self.ctx.public_url.as_str();
        Ok(EnrollmentCreated {
            id: e.id,
            username: user.username,
            link: format!("sekimori://enroll?u={}&c={code}", percent_encode(base)),
            https_link: format!("{base}/enroll?c={code}"),
            code,
            expires_at: e.expires_at.to_rfc3339(),
        })
    }

    /// Registers a device with an enrolment code (consumed atomically).
    pub async fn enroll_device(
        &self,
        code: &str,
        public_key_b64: &str,
        key_type: KeyType,
        name: &Label,
    ) -> GateResult<Enrolled> {
        let decoded = URL_SAFE_NO_PAD.decode(public_key_b64).ok();
        let key = match key_type {
            KeyType::Ed25519 => decoded.filter(|k| {
                <[u8; 32]>::try_from(k.as_slice())
                    .ok()
                    .and_then(|b| ed25519_dalek::VerifyingKey::from_bytes(&b).ok())
                    .is_some()
            }),
            KeyType::P256 => decoded.filter(|k| k.len() == 65 && p256::PublicKey::from_sec1_bytes(k).is_ok()),
        };
        let key = key.ok_or_else(|| {
            let want = match key_type {
                KeyType::Ed25519 => "a 32-byte Ed25519 key",
                KeyType::P256 => "an uncompressed P-256 point (65 bytes)",
            };
            GateError::new(ErrorCode::InvalidRequest, format!("public_key must be {want} in base64url"))
                .with("field", "public_key")
        })?;
        let now = self.ctx.clock.now();
        let device = Device {
            id: self.ctx.new_id(),
            tenant_id: TenantId::new(""),
            user_id: UserId::new(""),
            name: name.to_string(),
            public_key: key,
            created_at: now,
            revoked_at: None,
        };
        let code_hash = hash_secret(code);
        // Tenant and user of the event are filled in by the store from the enrolment.
        let ev = self
            .ctx
            .event("", "iam", action::IAM_DEVICE_ENROLLED, Outcome::Success)
            .field(field::DEVICE_ID, device.id.as_str())
            .field(field::DEVICE_NAME, name.as_str());
        match self.ctx.store.consume_enrollment(&code_hash, now, &device, &ev).await? {
            Consume::Done((_, device)) => {
                let user = self.ctx.user_of(&device.user_id, "enrolment", ErrorCode::NotFound).await?;
                Ok(Enrolled {
                    device_id: device.id,
                    user_id: user.id,
                    username: user.username,
                    server_public_key: self.ctx.keys.public_key_b64(),
                    server_public_key_p256: self.ctx.keys.message_p256_public_key_b64(),
                    key_type: key_type.as_str(),
                    server_key_id: self.ctx.keys.key_id().to_owned(),
                })
            }
            Consume::AlreadyUsed { at } => {
                Err(GateError::new(ErrorCode::AlreadyUsed, "this enrolment code was already used")
                    .with("first_used_at", at.to_rfc3339()))
            }
            Consume::Expired => Err(GateError::new(ErrorCode::Expired, "this enrolment code has expired")),
            Consume::NotFound => Err(GateError::new(ErrorCode::NotFound, "unknown enrolment code")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding() {
        assert_eq!(percent_encode("http://127.0.0.1:8080/x y"), "http%3A%2F%2F127.0.0.1%3A8080%2Fx%20y");
    }
}
