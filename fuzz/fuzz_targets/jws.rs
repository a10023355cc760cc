//! Compact JWS from untrusted hands (an OIDC `id_token_hint`, a Bearer access token at
//! userinfo): parsing and verification against the provider's keys return, never panic,
//! and nothing the fuzzer makes verifies.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use sekimori_gate::oidc::jose::{self, Alg, SigningKey};

fn keys() -> &'static [SigningKey] {
    static KEYS: OnceLock<Vec<SigningKey>> = OnceLock::new();
    KEYS.get_or_init(|| Alg::ALL.iter().map(|a| SigningKey::generate(*a, 2048).expect("key").0).collect())
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Some(parsed) = jose::parse(text) {
        for k in keys() {
            assert!(!jose::verify(&parsed, k.jwk()), "a fuzzed token verified");
        }
    }
    let _ = jose::half_hash(text);
});
