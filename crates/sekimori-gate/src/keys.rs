//! The server's own keys: an Ed25519 key that signs challenges and assertions, and a
//! MAC key for ticket payloads. Kept in one file (mode 0600) created at first start;
//! nodes sharing a PostgreSQL database must share this file too.

use std::io::Write;
use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
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
    pub fn from_parts(seed: [u8; 32], mac_key: [u8; 32]) -> Self {
        let signing = SigningKey::from_bytes(&seed);
        let key_id = sekimori_core::token::sha256_hex(signing.verifying_key().as_bytes())[..16].to_owned();
        ServerKeys { signing, key_id, mac_key }
    }

    /// Fresh keys from `rng`.
    pub fn generate(rng: &dyn Rng) -> Self {
        let mut seed = [0u8; 32];
        let mut mac = [0u8; 32];
        rng.fill(&mut seed);
        rng.fill(&mut mac);
        Self::from_parts(seed, mac)
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
                Ok(Self::from_parts(seed, mac))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let keys = Self::generate(rng);
                let kf = KeyFile {
                    ed25519_seed: URL_SAFE_NO_PAD.encode(keys.signing.to_bytes()),
                    ticket_mac_key: URL_SAFE_NO_PAD.encode(keys.mac_key),
                };
                let text = serde_json::to_string_pretty(&kf)
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

fn decode32(text: &str) -> Option<[u8; 32]> {
    URL_SAFE_NO_PAD.decode(text).ok()?.try_into().ok()
}

/// Writes a file readable by its owner only.
pub fn write_private(path: &Path, data: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
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
        std::fs::write(&path, "{\"nope\":1}").expect("write");
        let err = ServerKeys::load_or_create(&path, &OsRng).expect_err("invalid");
        assert!(err.to_string().contains("server.json"), "{err}");
    }
}
