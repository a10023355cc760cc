//! Signed device requests (DESIGN section 3): every request carries the device id, a
//! timestamp, a nonce and an Ed25519 signature over the RFC 8785 canonical JSON of
//! `{body_sha256, device_id, method, nonce, path, ts}`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::{Signature, VerifyingKey};
use sekimori_core::ecs::{action, field};
use sekimori_core::event::{NewEvent, Outcome};
use sekimori_core::DeviceId;
use sekimori_core::ErrorCode;
use sekimori_core::Timestamp;
use sekimori_store::{Device, User};

use std::sync::Arc;

use crate::access::Access;
use crate::{Context, GateError, GateResult};

pub use sekimori_core::device::{headers, signing_input, KeyType};

/// A device request as received, before verification.
#[derive(Debug, Clone)]
pub struct SignedRequest<'a> {
    /// `sekimori-device` header.
    pub device_id: Option<&'a str>,
    /// `sekimori-timestamp` header.
    pub timestamp: Option<&'a str>,
    /// `sekimori-nonce` header.
    pub nonce: Option<&'a str>,
    /// `sekimori-signature` header.
    pub signature: Option<&'a str>,
    /// HTTP method, upper case.
    pub method: &'a str,
    /// Path and query as sent.
    pub path: &'a str,
    /// Raw body.
    pub body: &'a [u8],
}

fn valid_nonce(n: &str) -> bool {
    (16..=128).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Whether `sig` (64 bytes) is the device key's signature of `input`: Ed25519 (strict) for
/// a 32-byte key, ECDSA P-256 over SHA-256 (`r || s`) for a 65-byte one.
fn verifies(public_key: &[u8], input: &[u8], sig: &[u8; 64]) -> GateResult<bool> {
    let corrupt = || GateError::new(ErrorCode::Internal, "stored device key is invalid");
    match KeyType::of_public_key(public_key) {
        Some(KeyType::Ed25519) => {
            let key = VerifyingKey::try_from(public_key).map_err(|_| corrupt())?;
            Ok(key.verify_strict(input, &Signature::from_bytes(sig)).is_ok())
        }
        Some(KeyType::P256) => {
            use p256::ecdsa::signature::Verifier as _;
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(public_key).map_err(|_| corrupt())?;
            Ok(p256::ecdsa::Signature::from_slice(sig).is_ok_and(|s| key.verify(input, &s).is_ok()))
        }
        None => Err(corrupt()),
    }
}

/// Authenticators' signed requests (signature, clock skew, replay) and the housekeeping
/// of single-use rows.
pub struct Devices {
    ctx: Arc<Context>,
    access: Arc<Access>,
    /// Allowed clock skew of a signed device request, seconds.
    clock_skew_seconds: i64,
    /// How long expired single-use rows are kept, seconds.
    retention_grace_seconds: i64,
}

impl Devices {
    pub(crate) fn new(
        ctx: Arc<Context>,
        access: Arc<Access>,
        clock_skew_seconds: i64,
        retention_grace_seconds: i64,
    ) -> Self {
        Devices { ctx, access, clock_skew_seconds, retention_grace_seconds }
    }
}

impl Devices {
    /// Verifies a signed device request and returns the device and its user.
    pub async fn verify_device_request(&self, req: &SignedRequest<'_>) -> GateResult<(Device, User)> {
        let unauthorized =
            |what: &str| GateError::new(ErrorCode::Unauthorized, format!("missing or malformed {what} header"));
        let device_id = DeviceId::new(req.device_id.ok_or_else(|| unauthorized(headers::DEVICE))?);
        let ts: i64 = req.timestamp.and_then(|t| t.parse().ok()).ok_or_else(|| unauthorized(headers::TIMESTAMP))?;
        let nonce = req.nonce.filter(|n| valid_nonce(n)).ok_or_else(|| unauthorized(headers::NONCE))?;
        let sig: [u8; 64] = req
            .signature
            .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| unauthorized(headers::SIGNATURE))?;

        let device = match self.ctx.store.device(&device_id).await? {
            Some(d) if d.revoked_at.is_none() => d,
            _ => return Err(GateError::new(ErrorCode::Unauthorized, "unknown or removed device")),
        };
        let now = self.ctx.clock.now().seconds();
        let skew = self.clock_skew_seconds;
        if (now - ts).abs() > skew {
            return Err(GateError::new(
                ErrorCode::StaleTimestamp,
                format!("timestamp {ts} is more than {skew} s from the server's clock"),
            )
            .with("server_time", now));
        }
        let input = signing_input(&device_id, req.method, req.path, ts, nonce, req.body);
        if !verifies(&device.public_key, input.as_bytes(), &sig)? {
            self.audit_device_refusal(&device, action::AUTH_DEVICE_INVALID_SIGNATURE).await;
            return Err(GateError::new(
                ErrorCode::InvalidSignature,
                "the signature does not verify with this device's key",
            ));
        }
        // A nonce only needs remembering while its timestamp is still acceptable.
        let keep_until = (ts + skew + 1) * 1000;
        if !self.ctx.store.remember_nonce(&device_id, nonce, Timestamp(keep_until)).await? {
            self.audit_device_refusal(&device, action::AUTH_DEVICE_REPLAYED).await;
            return Err(GateError::new(ErrorCode::Replayed, "this nonce was already used"));
        }
        let user = self.ctx.user_of(&device.user_id, "device", ErrorCode::Unauthorized).await?;
        self.access.check_account_usable(&user)?;
        Ok((device, user))
    }

    /// The device renames itself (a [`Label`](sekimori_core::names::Label)), audited.
    pub async fn rename_self(
        &self,
        device: &Device,
        user: &User,
        name: &sekimori_core::names::Label,
    ) -> GateResult<()> {
        let ev = self
            .ctx
            .event(&user.tenant_id, "iam", action::IAM_DEVICE_RENAMED, Outcome::Success)
            .user(&user.id, &user.username)
            .field(field::DEVICE_ID, device.id.as_str())
            .field(field::DEVICE_NAME, name.as_str());
        if !self.ctx.store.rename_device(&device.id, name.as_str(), &ev).await? {
            return Err(GateError::new(ErrorCode::Unauthorized, "unknown or removed device"));
        }
        Ok(())
    }

    /// The device removes itself (the user uninstalls the app or leaves this phone): its
    /// key is no longer accepted and it is woken no more. Audited as `iam.device.removed`.
    pub async fn remove_self(&self, device: &Device, user: &User) -> GateResult<()> {
        let ev = self
            .ctx
            .event(&user.tenant_id, "iam", action::IAM_DEVICE_REMOVED, Outcome::Success)
            .user(&user.id, &user.username)
            .field(field::DEVICE_ID, device.id.as_str())
            .field("sekimori.removed_by", "device");
        self.ctx.store.revoke_device(&device.id, self.ctx.clock.now(), &ev).await?;
        Ok(())
    }

    async fn audit_device_refusal(&self, device: &Device, action: &str) {
        let mut ev = NewEvent::new(self.ctx.clock.now(), &device.tenant_id, "authentication", action, Outcome::Failure)
            .field(field::DEVICE_ID, device.id.as_str());
        ev.user_id = Some(device.user_id.to_string());
        if let Err(e) = self.ctx.store.append(&ev).await {
            tracing::error!(error = %e, "could not audit a refused device request");
        }
    }

    /// Periodic housekeeping: forgets nonces that can no longer be replayed (their
    /// timestamps are too old) at once, and deletes other single-use rows once they have
    /// been expired for `retention_grace_seconds`. Returns how many rows went.
    pub async fn housekeeping(&self) -> GateResult<u64> {
        let now = self.ctx.clock.now();
        let nonces = self.ctx.store.prune_nonces(now).await?;
        let cutoff = now.plus_seconds(-self.retention_grace_seconds).millis();
        Ok(nonces + self.ctx.store.prune_expired(Timestamp(cutoff)).await?)
    }

    /// Runs [`Devices::housekeeping`] every `every` until the task is dropped; a failure is
    /// logged and retried at the next tick. `serve` starts it.
    pub async fn run_housekeeping(self: Arc<Self>, every: std::time::Duration) {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            match self.housekeeping().await {
                Ok(n) if n > 0 => tracing::debug!(rows = n, "housekeeping deleted expired rows"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "housekeeping failed"),
            }
        }
    }
}
