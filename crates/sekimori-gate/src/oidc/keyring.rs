//! The provider's signing keys in memory: loaded from the store, made when an algorithm has
//! no live key, replaced when older than `key_rotation_days`, and reloaded every minute so
//! the nodes of a cluster see each other's rotations.

use sekimori_core::ecs::{action, field};
use sekimori_core::Timestamp;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sekimori_core::event::Outcome;
use sekimori_store::OidcKey;

use super::jose::{Alg, SigningKey};
use super::Oidc;
use super::{OidcError, OidcResult};

const KEY_CONTEXT: &[u8] = b"sekimori:oidc-signing-key:v1";
/// How often the key set is read again (real time; also whenever domain time has moved
/// this much, so a test clock sees rotations at once).
const RELOAD_EVERY: Duration = Duration::from_secs(60);

/// A loaded key and its life.
#[derive(Debug)]
pub struct LoadedKey {
    key: SigningKey,
    created_at: i64,
    retired_at: Option<i64>,
}

impl LoadedKey {
    /// The public JWK.
    pub fn jwk(&self) -> &serde_json::Value {
        self.key.jwk()
    }
}

/// The keys as of one load.
#[derive(Debug)]
pub struct KeyRing {
    keys: Vec<LoadedKey>,
    loaded_at: Instant,
    loaded_at_domain: i64,
}

impl KeyRing {
    /// The key that signs with `alg` now.
    pub fn active(&self, alg: Alg) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.key.alg() == alg && k.retired_at.is_none()).map(|k| &k.key)
    }

    /// The key with id `kid`, live or retired.
    pub fn find(&self, kid: &str) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.key.kid() == kid).map(|k| &k.key)
    }

    /// Keys to publish at `now`: live ones and those retired less than `keep_ms` ago.
    pub fn published(&self, now: i64, keep_ms: i64) -> impl Iterator<Item = &LoadedKey> {
        self.keys.iter().filter(move |k| k.retired_at.is_none_or(|r| r + keep_ms > now))
    }
}

/// The current key ring and the lock that serialises reloads.
#[derive(Debug, Default)]
pub(crate) struct KeyCache {
    current: std::sync::RwLock<Option<Arc<KeyRing>>>,
    reload: tokio::sync::Mutex<()>,
}

#[allow(clippy::disallowed_methods)] // reason: reload freshness is real elapsed time, not domain time
fn monotonic_now() -> Instant {
    Instant::now()
}

fn internal(e: impl std::fmt::Display) -> OidcError {
    OidcError { status: 500, ..OidcError::new("server_error", e.to_string()) }
}

impl Oidc {
    /// The current key ring, reloading (and making or rotating keys) when it is stale.
    pub async fn key_ring(&self) -> OidcResult<Arc<KeyRing>> {
        let now = self.ctx.clock.now().millis();
        let fresh = |r: &KeyRing| {
            monotonic_now().duration_since(r.loaded_at) < RELOAD_EVERY
                && (r.loaded_at_domain..r.loaded_at_domain + RELOAD_EVERY.as_millis() as i64).contains(&now)
        };
        if let Some(r) = self.key_cache.current.read().unwrap_or_else(|p| p.into_inner()).as_ref() {
            if fresh(r) {
                return Ok(r.clone());
            }
        }
        let _reloading = self.key_cache.reload.lock().await;
        if let Some(r) = self.key_cache.current.read().unwrap_or_else(|p| p.into_inner()).as_ref() {
            if fresh(r) {
                return Ok(r.clone());
            }
        }
        let ring = Arc::new(self.load_keys().await?);
        *self.key_cache.current.write().unwrap_or_else(|p| p.into_inner()) = Some(ring.clone());
        Ok(ring)
    }

    /// Replaces every signing key now (the old ones stay published until their tokens
    /// expire); the new key ids.
    pub async fn rotate_oidc_keys(&self, actor: &str) -> OidcResult<Vec<String>> {
        let _reloading = self.key_cache.reload.lock().await;
        let mut kids = Vec::new();
        for alg in Alg::ALL {
            kids.push(self.make_key(alg, actor).await?);
        }
        let ring = Arc::new(self.load_keys().await?);
        *self.key_cache.current.write().unwrap_or_else(|p| p.into_inner()) = Some(ring);
        Ok(kids)
    }

    /// Every stored key with its state, for the admin API: (kid, alg, created, retired).
    pub async fn oidc_key_list(&self) -> OidcResult<Vec<OidcKey>> {
        let mut keys = self.ctx.store.oidc_keys().await?;
        for k in &mut keys {
            k.private_sealed.clear();
        }
        Ok(keys)
    }

    async fn load_keys(&self) -> OidcResult<KeyRing> {
        let settings = &self.settings;
        let now = self.ctx.clock.now().millis();
        self.ctx.store.prune_oidc_keys(Timestamp(now - settings.key_keep_ms())).await?;
        let stored = self.ctx.store.oidc_keys().await?;
        let rotate_ms = settings.key_rotation_days * 86_400_000;
        let mut made = false;
        for alg in Alg::ALL {
            let live = stored.iter().find(|k| k.alg == alg.as_str() && k.retired_at.is_none());
            let due = live.is_none_or(|k| rotate_ms > 0 && now - k.created_at.millis() >= rotate_ms);
            if due {
                self.make_key(alg, "schedule").await?;
                made = true;
            }
        }
        let stored = if made { self.ctx.store.oidc_keys().await? } else { stored };
        let mut keys = Vec::new();
        for k in stored {
            let Some(alg) = Alg::parse(&k.alg) else { continue };
            let Some(pkcs8) = self.ctx.keys.open(KEY_CONTEXT, &k.private_sealed) else {
                tracing::error!(kid = %k.kid, "an OIDC signing key does not open with this key file; skipped");
                continue;
            };
            match SigningKey::from_pkcs8(alg, &pkcs8) {
                Ok(key) => keys.push(LoadedKey {
                    key,
                    created_at: k.created_at.millis(),
                    retired_at: k.retired_at.map(Timestamp::millis),
                }),
                Err(e) => tracing::error!(kid = %k.kid, error = %e, "an OIDC signing key is unusable; skipped"),
            }
        }
        keys.sort_by_key(|k| std::cmp::Reverse(k.created_at));
        Ok(KeyRing { keys, loaded_at: monotonic_now(), loaded_at_domain: now })
    }

    /// Makes, seals and stores a new key for `alg` (retiring the live one); its kid.
    async fn make_key(&self, alg: Alg, actor: &str) -> OidcResult<String> {
        let bits = self.settings.rsa_key_bits;
        let (key, pkcs8) = tokio::task::spawn_blocking(move || SigningKey::generate(alg, bits))
            .await
            .map_err(internal)?
            .map_err(internal)?;
        let record = OidcKey {
            kid: key.kid().to_owned(),
            alg: alg.as_str().to_owned(),
            private_sealed: self.ctx.keys.seal(self.ctx.rng.as_ref(), KEY_CONTEXT, &pkcs8),
            public_jwk: key.jwk().to_string(),
            created_at: self.ctx.clock.now(),
            retired_at: None,
        };
        let tenant = self.ctx.default_tenant().await?;
        let ev = self
            .ctx
            .event(&tenant.id, "configuration", action::OIDC_KEY_CREATED, Outcome::Success)
            .field(field::OIDC_KID, key.kid())
            .field(field::OIDC_ALG, alg.as_str())
            .field(field::ACTOR, actor);
        self.ctx.store.insert_oidc_key(&record, &ev).await?;
        Ok(record.kid)
    }
}
