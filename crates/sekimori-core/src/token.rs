//! Secrets and identifiers: generation from an [`Rng`], hashing for storage,
//! constant-time comparison, and the `prefix_id_secret` form of API keys.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{Rng, Timestamp};

/// Bytes of entropy in every bearer secret (256 bits, above the 128-bit floor).
pub const SECRET_BYTES: usize = 32;

/// A fresh random secret, base64url without padding (43 characters).
pub fn new_secret(rng: &dyn Rng) -> String {
    let mut b = [0u8; SECRET_BYTES];
    rng.fill(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// SHA-256 of a secret: what the store keeps instead of the secret.
/// Secrets are 256-bit random values, so a fast hash is the right tool here.
pub fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Hex SHA-256 of arbitrary bytes.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Constant-time equality of two byte strings (length may leak, content does not).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

/// A UUIDv7 drawn from the injected clock and randomness.
pub fn new_id(now: Timestamp, rng: &dyn Rng) -> uuid::Uuid {
    let mut r = [0u8; 10];
    rng.fill(&mut r);
    let ms = u64::try_from(now.millis()).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(ms, &r).into_uuid()
}

/// A bearer key of the form `<prefix>_<id>_<secret>`: the id finds the record,
/// the secret is compared in constant time against its stored hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixedKey {
    /// The record id (32 lowercase hex digits of a UUID).
    pub id: String,
    /// The secret part.
    pub secret: String,
}

impl PrefixedKey {
    /// Formats a key for display to its owner, once.
    pub fn format(prefix: &str, id: &str, secret: &str) -> String {
        format!("{prefix}_{id}_{secret}")
    }

    /// Splits a presented key; `None` when it is not of this prefix's form.
    pub fn parse(prefix: &str, text: &str) -> Option<Self> {
        let rest = text.strip_prefix(prefix)?.strip_prefix('_')?;
        let (id, secret) = rest.split_once('_')?;
        let id_ok = id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit());
        let secret_ok = secret.len() >= 22
            && secret.len() <= 128
            && secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        (id_ok && secret_ok).then(|| PrefixedKey { id: id.to_owned(), secret: secret.to_owned() })
    }

    /// Whether this key opens a record stored with `secret_hash` that is not revoked
    /// (constant-time comparison of the hashes).
    pub fn unlocks(&self, secret_hash: &[u8], revoked_at: Option<i64>) -> bool {
        revoked_at.is_none() && ct_eq(secret_hash, &hash_secret(&self.secret))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_unlock_only_their_live_record() {
        let key = PrefixedKey { id: "0".repeat(32), secret: "s3cret-s3cret-s3cret-s3cret".into() };
        let hash = hash_secret(&key.secret);
        assert!(key.unlocks(&hash, None));
        assert!(!key.unlocks(&hash, Some(1)), "revoked");
        assert!(!key.unlocks(&hash_secret("other"), None));
    }
    use crate::OsRng;
    use proptest::prelude::*;

    #[test]
    fn secrets_are_long_and_distinct() {
        let a = new_secret(&OsRng);
        let b = new_secret(&OsRng);
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
    }

    #[test]
    fn prefixed_key_round_trip() {
        let id = uuid::Uuid::nil().simple().to_string();
        let secret = "abc_DEF-ghi_jklmnopqrstuvwxyz0123";
        let k = PrefixedKey::format("skapp", &id, secret);
        let p = PrefixedKey::parse("skapp", &k).expect("parses");
        assert_eq!(p.id, id);
        assert_eq!(p.secret, secret);
        assert!(PrefixedKey::parse("skadm", &k).is_none());
        assert!(PrefixedKey::parse("skapp", "skapp_zz_short").is_none());
    }

    #[test]
    fn ct_eq_compares_content() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"abcd"));
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in ".*") {
            let _ = PrefixedKey::parse("skapp", &s);
        }
    }
}
