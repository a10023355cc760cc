//! VAPID (RFC 8292): the server identifies itself to a push service with a JWT (RFC 7519)
//! signed ES256 by its P-256 key, sent with the public key in
//! `Authorization: vapid t=<jwt>, k=<key>`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use serde_json::json;

/// How long a VAPID token is valid; RFC 8292 allows at most 24 hours.
pub const TOKEN_LIFETIME_SECONDS: i64 = 12 * 3600;

/// The `aud` claim: the push resource's origin (scheme, host, and a non-default port).
pub fn audience(endpoint: &url::Url) -> String {
    endpoint.origin().ascii_serialization()
}

/// The JWT: `{"typ":"JWT","alg":"ES256"}` over `{"aud","exp","sub"?}`, signed with `key`
/// (the signature is `r || s`, 64 bytes, as JWS requires).
pub fn token(key: &p256::SecretKey, endpoint: &url::Url, subject: Option<&str>, now_seconds: i64) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
    let mut claims = json!({"aud": audience(endpoint), "exp": now_seconds + TOKEN_LIFETIME_SECONDS});
    if let Some(sub) = subject {
        claims["sub"] = json!(sub);
    }
    let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
    let input = format!("{header}.{claims}");
    let signature: Signature = SigningKey::from(key).sign(input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
}

/// The `Authorization` header value (RFC 8292 section 3).
pub fn authorization(key: &p256::SecretKey, endpoint: &url::Url, subject: Option<&str>, now_seconds: i64) -> String {
    let public = URL_SAFE_NO_PAD.encode(key.public_key().to_encoded_point(false).as_bytes());
    format!("vapid t={}, k={public}", token(key, endpoint, subject, now_seconds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::VerifyingKey;

    #[test]
    fn the_token_verifies_with_the_public_key_and_names_the_origin() {
        let key = p256::SecretKey::from_slice(&[7u8; 32]).expect("key");
        let endpoint = url::Url::parse("https://push.example.net:8443/wpush/v2/abc?x=1").expect("url");
        let header = authorization(&key, &endpoint, Some("mailto:ops@example.org"), 1_800_000_000);
        let (t, k) = header.strip_prefix("vapid t=").and_then(|r| r.split_once(", k=")).expect("shape");
        let k = URL_SAFE_NO_PAD.decode(k).expect("k");
        let verifying = VerifyingKey::from_sec1_bytes(&k).expect("public key");
        let parts: Vec<&str> = t.split('.').collect();
        assert_eq!(parts.len(), 3);
        let sig = Signature::from_slice(&URL_SAFE_NO_PAD.decode(parts[2]).expect("sig")).expect("r||s");
        verifying.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig).expect("verifies");
        let claims: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("claims")).expect("json");
        assert_eq!(claims["aud"], "https://push.example.net:8443");
        assert_eq!(claims["exp"], 1_800_000_000 + TOKEN_LIFETIME_SECONDS);
        assert_eq!(claims["sub"], "mailto:ops@example.org");
        assert_eq!(
            audience(&url::Url::parse("https://fcm.googleapis.com/fcm/send/x").expect("url")),
            "https://fcm.googleapis.com"
        );
    }
}
