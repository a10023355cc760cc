//! The server's own keys: an Ed25519 key that signs challenges and assertions, a MAC key
//! for ticket payloads, and a key that encrypts stored secrets (TOTP seeds) with
//! XChaCha20-Poly1305, the P-256 key that signs Web Push requests (VAPID, RFC 8292), and a
//! P-256 key that signs device messages for authenticators whose browser has no Ed25519.
//! Kept in one file (mode 0600) created at first start; nodes sharing a PostgreSQL database
//! must share this file too. A file from a version without the secret key or the VAPID key
//! gets them added (rewritten atomically, still 0600), keeping the others.

use std::io::Write;
use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit as _, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use hmac::{Hmac, Mac};
use sekimori_core::Rng;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The server's signing and MAC keys.
pub struct ServerKeys {
    signing: SigningKey,
    key_id: String,
    mac_key: [u8; 32],
    secret_key: [u8; 32],
    vapid: p256::SecretKey,
    message_p256: p256::SecretKey,
}

impl std::fmt::Debug for ServerKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerKeys").field("key_id", &self.key_id).finish_non_exhaustive()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    ed25519_seed: String,
    ticket_mac_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    secret_encryption_key: Option<String>,
    /// The VAPID key: the P-256 private scalar, 32 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    vapid_private_key: Option<String>,
    /// The P-256 key that signs device messages for P-256 devices: the private scalar.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message_p256_private_key: Option<String>,
}

/// Why the key file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// Reading or writing failed.
    #[error("key file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The content is not a Sekimori key file.
    #[error("key file {path}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

impl ServerKeys {
    /// Keys from raw material.
    pub fn from_parts(
        seed: [u8; 32],
        mac_key: [u8; 32],
        secret_key: [u8; 32],
        vapid: p256::SecretKey,
        message_p256: p256::SecretKey,
    ) -> Self {
        let signing = SigningKey::from_bytes(&seed);
        let key_id = sekimori_core::token::sha256_hex(signing.verifying_key().as_bytes())[..16].to_owned();
        ServerKeys { signing, key_id, mac_key, secret_key, vapid, message_p256 }
    }

    /// Fresh keys from `rng`.
    pub fn generate(rng: &dyn Rng) -> Self {
        let mut seed = [0u8; 32];
        let mut mac = [0u8; 32];
        let mut secret = [0u8; 32];
        rng.fill(&mut seed);
        rng.fill(&mut mac);
        rng.fill(&mut secret);
        Self::from_parts(seed, mac, secret, new_p256_key(rng), new_p256_key(rng))
    }

    fn key_file(&self) -> KeyFile {
        KeyFile {
            ed25519_seed: URL_SAFE_NO_PAD.encode(self.signing.to_bytes()),
            ticket_mac_key: URL_SAFE_NO_PAD.encode(self.mac_key),
            secret_encryption_key: Some(URL_SAFE_NO_PAD.encode(self.secret_key)),
            vapid_private_key: Some(URL_SAFE_NO_PAD.encode(self.vapid.to_bytes())),
            message_p256_private_key: Some(URL_SAFE_NO_PAD.encode(self.message_p256.to_bytes())),
        }
    }

    /// The P-256 public key that verifies device messages for P-256 devices: base64url of
    /// the 65-byte uncompressed point.
    pub fn message_p256_public_key_b64(&self) -> String {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        URL_SAFE_NO_PAD.encode(self.message_p256.public_key().to_encoded_point(false).as_bytes())
    }

    /// Signs `message` with ECDSA P-256 and SHA-256 (ES256); base64url of `r || s`.
    pub fn sign_p256_b64(&self, message: &[u8]) -> String {
        use p256::ecdsa::signature::Signer as _;
        let sig: p256::ecdsa::Signature = p256::ecdsa::SigningKey::from(&self.message_p256).sign(message);
        URL_SAFE_NO_PAD.encode(sig.to_bytes())
    }

    /// The VAPID (RFC 8292) private key that signs this server's Web Push requests.
    pub fn vapid_key(&self) -> &p256::SecretKey {
        &self.vapid
    }

    /// The VAPID public key as browsers take it (`applicationServerKey`): base64url of the
    /// 65-byte uncompressed P-256 point.
    pub fn vapid_public_key_b64(&self) -> String {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        URL_SAFE_NO_PAD.encode(self.vapid.public_key().to_encoded_point(false).as_bytes())
    }

    /// Loads the key file at `path`, creating it (mode 0600) with fresh keys when missing.
    pub fn load_or_create(path: &Path, rng: &dyn Rng) -> Result<Self, KeyFileError> {
        let p = path.display().to_string();
        let io = |source| KeyFileError::Io { path: p.clone(), source };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                let invalid = |reason: String| KeyFileError::Invalid { path: p.clone(), reason };
                let kf: KeyFile = serde_json::from_str(&text).map_err(|e| invalid(e.to_string()))?;
                let seed = decode32(&kf.ed25519_seed)
                    .ok_or_else(|| invalid("ed25519_seed is not 32 bytes of base64url".into()))?;
                let mac = decode32(&kf.ticket_mac_key)
                    .ok_or_else(|| invalid("ticket_mac_key is not 32 bytes of base64url".into()))?;
                let secret = match &kf.secret_encryption_key {
                    Some(text) => Some(
                        decode32(text)
                            .ok_or_else(|| invalid("secret_encryption_key is not 32 bytes of base64url".into()))?,
                    ),
                    None => None,
                };
                let p256_key = |name: &str, text: &Option<String>| match text {
                    Some(text) => decode32(text)
                        .and_then(|b| p256::SecretKey::from_slice(&b).ok())
                        .map(Some)
                        .ok_or_else(|| invalid(format!("{name} is not a P-256 private key"))),
                    None => Ok(None),
                };
                let vapid = p256_key("vapid_private_key", &kf.vapid_private_key)?;
                let message_p256 = p256_key("message_p256_private_key", &kf.message_p256_private_key)?;
                let complete = secret.is_some() && vapid.is_some() && message_p256.is_some();
                // Written by a version without them: add what is missing, keeping the other keys.
                let secret = secret.unwrap_or_else(|| {
                    let mut k = [0u8; 32];
                    rng.fill(&mut k);
                    k
                });
                let vapid = vapid.unwrap_or_else(|| new_p256_key(rng));
                let message_p256 = message_p256.unwrap_or_else(|| new_p256_key(rng));
                let keys = Self::from_parts(seed, mac, secret, vapid, message_p256);
                if !complete {
                    let text = serde_json::to_string_pretty(&keys.key_file()).map_err(|e| invalid(e.to_string()))?;
                    let tmp = path.with_extension("new");
                    let _ = std::fs::remove_file(&tmp);
                    write_private(&tmp, text.as_bytes()).map_err(io)?;
                    std::fs::rename(&tmp, path).map_err(io)?;
                }
                Ok(keys)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let keys = Self::generate(rng);
                let text = serde_json::to_string_pretty(&keys.key_file())
                    .map_err(|e| KeyFileError::Invalid { path: p.clone(), reason: e.to_string() })?;
                write_private(path, text.as_bytes()).map_err(io)?;
                Ok(keys)
            }
            Err(e) => Err(io(e)),
        }
    }

    /// The key id (`kid`): 16 hex digits of the public key's SHA-256.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The Ed25519 public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    /// The public key, base64url.
    pub fn public_key_b64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.signing.verifying_key().as_bytes())
    }

    /// Signs `message`; base64url signature.
    pub fn sign_b64(&self, message: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(self.signing.sign(message).to_bytes())
    }

    /// HMAC-SHA256 of `data` under the ticket key.
    pub fn mac(&self, data: &[u8]) -> Vec<u8> {
        // HMAC accepts keys of any length; a 32-byte key cannot fail.
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(&self.mac_key).expect("HMAC takes any key length");
        m.update(data);
        m.finalize().into_bytes().to_vec()
    }
}

impl ServerKeys {
    /// Encrypts `plaintext` for storage: a random 192-bit nonce followed by the
    /// XChaCha20-Poly1305 ciphertext. `context` (e.g. the row's id and owner) is
    /// authenticated, so a sealed value copied to another row does not open there.
    pub fn seal(&self, rng: &dyn Rng, context: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; 24];
        rng.fill(&mut nonce);
        let cipher = XChaCha20Poly1305::new((&self.secret_key).into());
        let mut out = nonce.to_vec();
        // Encryption into a Vec only fails for inputs beyond the cipher's limit (256 GiB).
        let sealed = cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad: context })
            .expect("a stored secret is far below the AEAD's size limit");
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens what [`ServerKeys::seal`] made under the same `context`; `None` when it was
    /// altered, sealed under another key or for another context.
    pub fn open(&self, context: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < 24 + 16 {
            return None;
        }
        let (nonce, body) = sealed.split_at(24);
        let cipher = XChaCha20Poly1305::new((&self.secret_key).into());
        cipher.decrypt(XNonce::from_slice(nonce), Payload { msg: body, aad: context }).ok()
    }
}

/// A P-256 private key from `rng` (a 32-byte draw is a valid scalar but for a chance of
/// about 2^-32; such a draw is repeated).
fn new_p256_key(rng: &dyn Rng) -> p256::SecretKey {
    loop {
        let mut b = [0u8; 32];
        rng.fill(&mut b);
        if let Ok(k) = p256::SecretKey::from_slice(&b) {
            return k;
        }
    }
}

fn decode32(text: &str) -> Option<[u8; 32]> {
    URL_SAFE_NO_PAD.decode(text).ok()?.try_into().ok()
}

/// Writes a file readable by its owner only.
pub fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        let mut dirs = std::fs::DirBuilder::new();
        dirs.recursive(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            dirs.mode(0o700);
        }
        dirs.create(dir)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    f.write_all(data)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use sekimori_core::OsRng;

    #[test]
    fn created_once_then_loaded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("keys").join("server.json");
        let a = ServerKeys::load_or_create(&path, &OsRng).expect("create");
        let b = ServerKeys::load_or_create(&path, &OsRng).expect("load");
        assert_eq!(a.public_key_b64(), b.public_key_b64());
        assert_eq!(a.mac(b"x"), b.mac(b"x"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        // Sealed secrets open under the same keys and context only.
        let sealed = a.seal(&OsRng, b"totp:1", b"seed");
        assert_eq!(b.open(b"totp:1", &sealed), Some(b"seed".to_vec()));
        assert_eq!(b.open(b"totp:2", &sealed), None, "another row");
        assert_eq!(ServerKeys::generate(&OsRng).open(b"totp:1", &sealed), None, "another key");
        let mut flipped = sealed.clone();
        flipped[30] ^= 1;
        assert_eq!(b.open(b"totp:1", &flipped), None, "altered");
        assert_ne!(a.seal(&OsRng, b"totp:1", b"seed"), sealed, "a fresh nonce each time");
        std::fs::write(&path, "{\"nope\":1}").expect("write");
        let err = ServerKeys::load_or_create(&path, &OsRng).expect_err("invalid");
        assert!(err.to_string().contains("server.json"), "{err}");
    }

    #[test]
    fn a_key_file_without_the_secret_key_gets_one_and_keeps_the_others() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("server.json");
        let old = ServerKeys::generate(&OsRng);
        let text = format!(
            "{{\"ed25519_seed\": \"{}\", \"ticket_mac_key\": \"{}\"}}",
            URL_SAFE_NO_PAD.encode(old.signing.to_bytes()),
            URL_SAFE_NO_PAD.encode(old.mac_key)
        );
        write_private(&path, text.as_bytes()).expect("write");
        let upgraded = ServerKeys::load_or_create(&path, &OsRng).expect("upgrade");
        assert_eq!(upgraded.public_key_b64(), old.public_key_b64());
        assert_eq!(upgraded.mac(b"t"), old.mac(b"t"));
        let again_vapid = ServerKeys::load_or_create(&path, &OsRng).expect("load").vapid_public_key_b64();
        assert_eq!(upgraded.vapid_public_key_b64(), again_vapid, "the added VAPID key was kept");
        assert_eq!(URL_SAFE_NO_PAD.decode(&again_vapid).expect("b64").len(), 65, "uncompressed point");
        let reloaded = ServerKeys::load_or_create(&path, &OsRng).expect("load");
        assert_eq!(reloaded.message_p256_public_key_b64(), upgraded.message_p256_public_key_b64());
        assert_ne!(reloaded.message_p256_public_key_b64(), again_vapid, "a key per purpose");
        let again = ServerKeys::load_or_create(&path, &OsRng).expect("load");
        let sealed = upgraded.seal(&OsRng, b"c", b"s");
        assert_eq!(again.open(b"c", &sealed), Some(b"s".to_vec()), "the added key was kept");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }
}
