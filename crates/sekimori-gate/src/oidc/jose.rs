//! JOSE for the OIDC provider: RS256 and ES256 signing keys (generated here), their public
//! JWKs with RFC 7638 thumbprints as key ids, and compact JWS.
//!
//! RSA keys are generated and used through OpenSSL (already linked for passkeys), whose
//! RSA signatures are blinded and constant-time and about 1.75 times faster than `ring`'s
//! here (docs/benchmarks.md); P-256 keys through `ring`. Verification is `ring`'s.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair as _, RsaKeyPair};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

/// A JWS algorithm the provider signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256 (the OIDC default).
    Rs256,
    /// ECDSA P-256 with SHA-256.
    Es256,
}

impl Alg {
    /// Both, in the order discovery lists them.
    pub const ALL: [Alg; 2] = [Alg::Rs256, Alg::Es256];

    /// The JWA name.
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Es256 => "ES256",
        }
    }

    /// From the JWA name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "RS256" => Some(Alg::Rs256),
            "ES256" => Some(Alg::Es256),
            _ => None,
        }
    }
}

impl<'de> serde::Deserialize<'de> for Alg {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Alg::parse(&name).ok_or_else(|| serde::de::Error::custom(format!("must be ES256 or RS256, got {name:?}")))
    }
}

enum Pair {
    Rsa(openssl::pkey::PKey<openssl::pkey::Private>),
    Ec(Box<EcdsaKeyPair>),
}

/// A key pair that signs, with its public JWK.
pub struct SigningKey {
    kid: String,
    alg: Alg,
    pair: Pair,
    jwk: Value,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey").field("kid", &self.kid).field("alg", &self.alg).finish_non_exhaustive()
    }
}

/// Why a key could not be made or loaded.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(String);

fn b64(b: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(b)
}

/// The RFC 7638 thumbprint of a public JWK (its required members, in lexicographic order).
pub fn thumbprint(jwk: &Value) -> String {
    let members: &[&str] = match jwk["kty"].as_str() {
        Some("RSA") => &["e", "kty", "n"],
        _ => &["crv", "kty", "x", "y"],
    };
    let parts: Vec<String> =
        members.iter().map(|m| format!("\"{m}\":\"{}\"", jwk[*m].as_str().unwrap_or(""))).collect();
    b64(&Sha256::digest(format!("{{{}}}", parts.join(",")).as_bytes()))
}

impl SigningKey {
    /// A new key for `alg`: (the key, its PKCS#8 private key to store sealed).
    pub fn generate(alg: Alg, rsa_bits: usize) -> Result<(Self, Vec<u8>), KeyError> {
        let pkcs8 = match alg {
            Alg::Rs256 => {
                let bits = u32::try_from(rsa_bits).map_err(|_| KeyError("RSA key size out of range".into()))?;
                let rsa =
                    openssl::rsa::Rsa::generate(bits).map_err(|e| KeyError(format!("RSA key generation: {e}")))?;
                let key = openssl::pkey::PKey::from_rsa(rsa).map_err(|e| KeyError(format!("RSA key: {e}")))?;
                key.private_key_to_pkcs8().map_err(|e| KeyError(format!("RSA key encoding: {e}")))?
            }
            Alg::Es256 => {
                EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                    .map_err(|_| KeyError("P-256 key generation failed".into()))?
                    .as_ref()
                    .to_vec()
            }
        };
        Ok((Self::from_pkcs8(alg, &pkcs8)?, pkcs8))
    }

    /// A key from its PKCS#8 form.
    pub fn from_pkcs8(alg: Alg, pkcs8: &[u8]) -> Result<Self, KeyError> {
        let (pair, jwk) = match alg {
            Alg::Rs256 => {
                // ring checks the key as it would for signing (size 2048 to 8192 bits, consistency).
                RsaKeyPair::from_pkcs8(pkcs8).map_err(|e| KeyError(format!("RSA key rejected: {e}")))?;
                let key = openssl::pkey::PKey::private_key_from_pkcs8(pkcs8)
                    .map_err(|e| KeyError(format!("RSA key rejected: {e}")))?;
                let rsa = key.rsa().map_err(|e| KeyError(format!("RSA key rejected: {e}")))?;
                let jwk = json!({"kty": "RSA", "n": b64(&rsa.n().to_vec()), "e": b64(&rsa.e().to_vec())});
                (Pair::Rsa(key), jwk)
            }
            Alg::Es256 => {
                let pair =
                    EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8, &SystemRandom::new())
                        .map_err(|e| KeyError(format!("P-256 key rejected: {e}")))?;
                let point = pair.public_key().as_ref();
                if point.len() != 65 {
                    return Err(KeyError("P-256 public key has the wrong length".into()));
                }
                let jwk = json!({"kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..])});
                (Pair::Ec(Box::new(pair)), jwk)
            }
        };
        let kid = thumbprint(&jwk);
        let mut jwk = jwk;
        jwk["kid"] = json!(kid);
        jwk["alg"] = json!(alg.as_str());
        jwk["use"] = json!("sig");
        Ok(SigningKey { kid, alg, pair, jwk })
    }

    /// Key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// Algorithm.
    pub fn alg(&self) -> Alg {
        self.alg
    }

    /// The public JWK (with `kid`, `alg`, `use`).
    pub fn jwk(&self) -> &Value {
        &self.jwk
    }

    /// A compact JWS of `claims` with header `typ`; `None` if the crypto library refuses
    /// to sign (never a token with an empty signature).
    pub fn sign_jwt(&self, typ: &str, claims: &Value) -> Option<String> {
        let header = json!({"alg": self.alg.as_str(), "kid": self.kid, "typ": typ});
        let input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
        let rng = SystemRandom::new();
        let sig = match &self.pair {
            Pair::Rsa(key) => openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), key)
                .and_then(|mut s| s.sign_oneshot_to_vec(input.as_bytes()))
                .inspect_err(|e| tracing::error!(kid = %self.kid, error = %e, "RSA signing failed"))
                .ok()?,
            Pair::Ec(pair) => pair
                .sign(&rng, input.as_bytes())
                .map(|s| s.as_ref().to_vec())
                .inspect_err(|_| tracing::error!(kid = %self.kid, "ECDSA signing failed"))
                .ok()?,
        };
        Some(format!("{input}.{}", b64(&sig)))
    }
}

/// A compact JWS split and decoded: (header, claims, signing input, signature).
pub struct Parsed {
    /// The protected header.
    pub header: Value,
    /// The claims.
    pub claims: Value,
    input: String,
    sig: Vec<u8>,
}

/// Parses a compact JWS (no signature check).
pub fn parse(token: &str) -> Option<Parsed> {
    if token.len() > 16 * 1024 {
        return None;
    }
    let mut it = token.split('.');
    let (h, c, s) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() {
        return None;
    }
    let header = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).ok()?).ok()?;
    let claims = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(c).ok()?).ok()?;
    Some(Parsed { header, claims, input: format!("{h}.{c}"), sig: URL_SAFE_NO_PAD.decode(s).ok()? })
}

/// Whether `p` is signed by the key with public JWK `jwk` (the header's `alg` must be the
/// key's).
pub fn verify(p: &Parsed, jwk: &Value) -> bool {
    if p.header["alg"] != jwk["alg"] || p.header["kid"] != jwk["kid"] {
        return false;
    }
    let field = |k: &str| jwk[k].as_str().and_then(|v| URL_SAFE_NO_PAD.decode(v).ok());
    match jwk["alg"].as_str() {
        Some("RS256") => {
            let (Some(n), Some(e)) = (field("n"), field("e")) else { return false };
            let key = signature::RsaPublicKeyComponents { n, e };
            key.verify(&signature::RSA_PKCS1_2048_8192_SHA256, p.input.as_bytes(), &p.sig).is_ok()
        }
        Some("ES256") => {
            let (Some(x), Some(y)) = (field("x"), field("y")) else { return false };
            let mut point = vec![4u8];
            point.extend(x);
            point.extend(y);
            signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                .verify(p.input.as_bytes(), &p.sig)
                .is_ok()
        }
        _ => false,
    }
}

/// `at_hash` / `c_hash`: the left half of SHA-256 of `value`, base64url (both algorithms
/// use SHA-256).
pub fn half_hash(value: &str) -> String {
    b64(&Sha256::digest(value.as_bytes())[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_algorithms_sign_and_verify_and_reload() {
        for alg in Alg::ALL {
            let (key, pkcs8) = SigningKey::generate(alg, 2048).expect("generate");
            let token = key.sign_jwt("JWT", &json!({"sub": "u1"})).expect("signed");
            let p = parse(&token).expect("parse");
            assert_eq!(p.claims["sub"], "u1");
            assert_eq!(p.header["kid"], key.kid());
            assert!(verify(&p, key.jwk()), "{alg:?} verifies");
            let again = SigningKey::from_pkcs8(alg, &pkcs8).expect("reload");
            assert_eq!(again.jwk(), key.jwk(), "same key after a reload");
            // A changed claim breaks the signature.
            let mut parts: Vec<&str> = token.split('.').collect();
            let forged = b64(json!({"sub": "u2"}).to_string().as_bytes());
            parts[1] = &forged;
            assert!(!verify(&parse(&parts.join(".")).expect("parse"), key.jwk()));
        }
    }

    #[test]
    fn a_key_of_another_algorithm_or_id_does_not_verify() {
        let (rs, _) = SigningKey::generate(Alg::Rs256, 2048).expect("rsa");
        let (es, _) = SigningKey::generate(Alg::Es256, 2048).expect("ec");
        let p = parse(&rs.sign_jwt("JWT", &json!({})).expect("signed")).expect("parse");
        assert!(!verify(&p, es.jwk()));
    }

    #[test]
    fn thumbprint_matches_rfc7638_example() {
        // RFC 7638 section 3.1.
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(thumbprint(&jwk), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }

    proptest::proptest! {
        /// Any text parses or not without panicking, and nothing but the key's own
        /// signature verifies: flipping any one character of a real token breaks it.
        #[test]
        fn tampering_anywhere_breaks_a_token(text in ".{0,300}", at in 0usize..1000, with in "[A-Za-z0-9_.-]") {
            let key = es256();
            if let Some(p) = parse(&text) {
                proptest::prop_assert!(!verify(&p, key.jwk()));
            }
            let token = key.sign_jwt("JWT", &json!({"sub": text})).expect("signed");
            let at = at % token.len();
            let mut bytes = token.clone().into_bytes();
            bytes[at] = with.as_bytes()[0];
            let tampered = String::from_utf8(bytes).expect("ascii");
            if tampered != token {
                proptest::prop_assert!(parse(&tampered).is_none_or(|p| !verify(&p, key.jwk())), "{tampered}");
            }
        }
    }

    fn es256() -> &'static SigningKey {
        static KEY: std::sync::OnceLock<SigningKey> = std::sync::OnceLock::new();
        KEY.get_or_init(|| SigningKey::generate(Alg::Es256, 2048).expect("key").0)
    }

    #[test]
    fn garbage_does_not_parse() {
        for t in ["", "a.b", "a.b.c.d", "!!.!!.!!", &"a".repeat(20_000)] {
            assert!(parse(t).is_none(), "{t:.20}");
        }
    }
}
