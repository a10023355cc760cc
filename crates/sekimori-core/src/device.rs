//! The device protocol's shared pieces (DESIGN section 3), used by the server that
//! verifies and the authenticators that sign.

use serde_json::json;

/// Header names of a signed device request.
pub mod headers {
    /// The device id.
    pub const DEVICE: &str = "sekimori-device";
    /// Unix seconds when the request was made.
    pub const TIMESTAMP: &str = "sekimori-timestamp";
    /// A random value, never reused by the device (16 to 128 base64url characters).
    pub const NONCE: &str = "sekimori-nonce";
    /// base64url Ed25519 signature over [`signing_input`](super::signing_input).
    pub const SIGNATURE: &str = "sekimori-signature";
}

/// The kind of key a device signs with. Stored only as the public key, whose length tells
/// the kind: 32 bytes Ed25519 (RFC 8032), 65 bytes an uncompressed P-256 point (ES256).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// Ed25519; the default, and what the CLI authenticator uses.
    Ed25519,
    /// ECDSA on P-256 with SHA-256, signatures as `r || s` (64 bytes): for browsers whose
    /// WebCrypto has no Ed25519 (Safari before 17).
    P256,
}

impl KeyType {
    /// The name in the enrolment request (`key_type`).
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::Ed25519 => "ed25519",
            KeyType::P256 => "p256",
        }
    }

    /// Parses an enrolment's `key_type`.
    pub fn parse(s: &str) -> Option<Self> {
        [KeyType::Ed25519, KeyType::P256].into_iter().find(|k| k.as_str() == s)
    }

    /// The kind of a stored public key, by its length.
    pub fn of_public_key(key: &[u8]) -> Option<Self> {
        match key.len() {
            32 => Some(KeyType::Ed25519),
            65 => Some(KeyType::P256),
            _ => None,
        }
    }

    /// The JWS name of the signatures the server makes for such a device (`alg` of a signed
    /// message).
    pub fn message_alg(self) -> &'static str {
        match self {
            KeyType::Ed25519 => "EdDSA",
            KeyType::P256 => "ES256",
        }
    }
}

/// The message a device signs: the RFC 8785 canonical JSON of
/// `{body_sha256, device_id, method, nonce, path, ts}`.
pub fn signing_input(device_id: &str, method: &str, path: &str, ts: i64, nonce: &str, body: &[u8]) -> String {
    crate::canonical::to_canonical_string(&json!({
        "body_sha256": crate::token::sha256_hex(body),
        "device_id": device_id,
        "method": method,
        "nonce": nonce,
        "path": path,
        "ts": ts,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_input_is_canonical() {
        let s = signing_input("d1", "POST", "/api/v1/device/standby", 1_700_000_000, "nonce-nonce-nonce-1", b"{}");
        assert_eq!(
            s,
            format!(
                r#"{{"body_sha256":"{}","device_id":"d1","method":"POST","nonce":"nonce-nonce-nonce-1","path":"/api/v1/device/standby","ts":1700000000}}"#,
                crate::token::sha256_hex(b"{}")
            )
        );
    }
}
