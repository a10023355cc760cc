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
