//! Time-based one-time passwords (RFC 6238, over HOTP of RFC 4226) and recovery codes.
//!
//! A code is the HOTP value of the time step `floor(unix_seconds / period)`. Verification
//! looks at the current step and `window` steps either side, compares in constant time,
//! and returns the step that matched: the caller stores it and refuses any step not after
//! it, so a code works once. Secrets are raw bytes here; encrypting them at rest is the
//! caller's job.

use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Sha256, Sha512};

use crate::token::ct_eq;
use crate::Rng;

/// The HMAC hash of a TOTP credential (`algorithm` in the `otpauth://` URI).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Algorithm {
    /// HMAC-SHA-1, what every authenticator app supports (the default).
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

impl Algorithm {
    /// The name used in `otpauth://` URIs and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }

    /// Parses a stored or configured name.
    pub fn parse(s: &str) -> Option<Algorithm> {
        match s.to_ascii_uppercase().as_str() {
            "SHA1" => Some(Algorithm::Sha1),
            "SHA256" => Some(Algorithm::Sha256),
            "SHA512" => Some(Algorithm::Sha512),
            _ => None,
        }
    }

    /// Secret length recommended by RFC 4226 §4 / RFC 6238 (the hash's output size).
    pub fn secret_bytes(self) -> usize {
        match self {
            Algorithm::Sha1 => 20,
            Algorithm::Sha256 => 32,
            Algorithm::Sha512 => 64,
        }
    }
}

/// HMAC of `msg` under `key` with hash `D` (HMAC takes keys of any length).
macro_rules! hmac_with {
    ($d:ty, $key:expr, $msg:expr) => {{
        let mut m = <Hmac<$d> as Mac>::new_from_slice($key).expect("HMAC takes keys of any length");
        m.update($msg);
        m.finalize().into_bytes().to_vec()
    }};
}

/// Parameters and secret of one TOTP credential.
#[derive(Clone, PartialEq, Eq)]
pub struct Totp {
    /// The shared secret.
    pub secret: Vec<u8>,
    /// HMAC hash.
    pub algorithm: Algorithm,
    /// Digits in a code: 6 or 8.
    pub digits: u32,
    /// Step length, seconds (30 by default).
    pub period: i64,
}

impl std::fmt::Debug for Totp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Totp")
            .field("algorithm", &self.algorithm)
            .field("digits", &self.digits)
            .field("period", &self.period)
            .finish_non_exhaustive()
    }
}

impl Totp {
    /// A fresh credential: SHA-1, 6 digits, 30 s, a 160-bit secret from `rng`.
    pub fn generate(rng: &dyn Rng) -> Totp {
        let mut secret = vec![0u8; Algorithm::Sha1.secret_bytes()];
        rng.fill(&mut secret);
        Totp { secret, algorithm: Algorithm::Sha1, digits: 6, period: 30 }
    }

    /// The time step of `unix_seconds`.
    pub fn step_at(&self, unix_seconds: i64) -> i64 {
        unix_seconds.div_euclid(self.period.max(1))
    }

    /// The HOTP code of `step` (RFC 4226 §5.3: dynamic truncation, modulo 10^digits,
    /// zero-padded).
    pub fn code(&self, step: i64) -> String {
        let counter = step.to_be_bytes();
        let mac = match self.algorithm {
            Algorithm::Sha1 => hmac_with!(Sha1, &self.secret, &counter),
            Algorithm::Sha256 => hmac_with!(Sha256, &self.secret, &counter),
            Algorithm::Sha512 => hmac_with!(Sha512, &self.secret, &counter),
        };
        let offset = usize::from(mac[mac.len() - 1] & 0x0f);
        let binary = (u32::from(mac[offset]) & 0x7f) << 24
            | u32::from(mac[offset + 1]) << 16
            | u32::from(mac[offset + 2]) << 8
            | u32::from(mac[offset + 3]);
        let modulus = 10u64.pow(self.digits);
        format!("{:0width$}", u64::from(binary) % modulus, width = self.digits as usize)
    }

    /// The step within `window` steps of `unix_seconds` whose code is `code`, if any.
    /// Every candidate step is computed and compared in constant time, whichever matches.
    pub fn matching_step(&self, code: &str, unix_seconds: i64, window: i64) -> Option<i64> {
        let code = code.trim();
        if code.len() != self.digits as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let now = self.step_at(unix_seconds);
        let mut found = None;
        for step in now - window..=now + window {
            if ct_eq(self.code(step).as_bytes(), code.as_bytes()) && found.is_none() {
                found = Some(step);
            }
        }
        found
    }

    /// The `otpauth://totp/` URI authenticator apps scan (Google Authenticator's Key URI
    /// format): label `issuer:account`, the secret in unpadded base32.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        format!(
            "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm={}&digits={}&period={}",
            crate::names::percent_encode(issuer),
            crate::names::percent_encode(account),
            base32(&self.secret),
            crate::names::percent_encode(issuer),
            self.algorithm.as_str(),
            self.digits,
            self.period
        )
    }
}

/// RFC 4648 base32 (upper case, no padding), as `otpauth://` secrets are written.
pub fn base32(data: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(data.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in data {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Recovery codes: 128 random bits each, shown as 26 base32 letters and digits in groups of
/// four or five (`abcd-efgh-…`), compared after removing separators and case.
pub mod recovery {
    use crate::Rng;

    /// Codes in one set.
    pub const CODES_PER_SET: usize = 10;

    /// A fresh code (128 bits from `rng`), lower case, dash-separated groups.
    pub fn generate(rng: &dyn Rng) -> String {
        let mut b = [0u8; 16];
        rng.fill(&mut b);
        let plain = super::base32(&b).to_ascii_lowercase();
        let groups: Vec<&str> =
            plain.as_bytes().chunks(5).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect();
        groups.join("-")
    }

    /// The canonical form of a code as typed: separators and spaces removed, lower case.
    /// `None` when what is left is not 26 base32 characters.
    pub fn canonical(typed: &str) -> Option<String> {
        let s: String =
            typed.chars().filter(|c| !matches!(c, '-' | ' ' | '\u{3000}')).map(|c| c.to_ascii_lowercase()).collect();
        (s.len() == 26 && s.bytes().all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b))).then_some(s)
    }

    /// What the store keeps for a code: SHA-256 of its canonical form (the code carries
    /// 128 random bits, so a fast hash is the right tool, as for every bearer secret).
    pub fn hash(canonical: &str) -> Vec<u8> {
        crate::token::hash_secret(canonical)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc(algorithm: Algorithm) -> Totp {
        // RFC 6238 Appendix B: the seed is "12345678901234567890" repeated to the hash size.
        let seed = b"1234567890".repeat(7);
        Totp { secret: seed[..algorithm.secret_bytes()].to_vec(), algorithm, digits: 8, period: 30 }
    }

    #[test]
    fn rfc6238_appendix_b_vectors() {
        let cases: [(i64, &str, &str, &str); 6] = [
            (59, "94287082", "46119246", "90693936"),
            (1111111109, "07081804", "68084774", "25091201"),
            (1111111111, "14050471", "67062674", "99943326"),
            (1234567890, "89005924", "91819424", "93441116"),
            (2000000000, "69279037", "90698825", "38618901"),
            (20000000000, "65353130", "77737706", "47863826"),
        ];
        for (t, sha1, sha256, sha512) in cases {
            for (alg, want) in [(Algorithm::Sha1, sha1), (Algorithm::Sha256, sha256), (Algorithm::Sha512, sha512)] {
                let totp = rfc(alg);
                assert_eq!(totp.code(totp.step_at(t)), want, "{alg:?} at {t}");
            }
        }
    }

    #[test]
    fn rfc4226_appendix_d_hotp_values() {
        let hotp = Totp { secret: b"12345678901234567890".to_vec(), algorithm: Algorithm::Sha1, digits: 6, period: 30 };
        let want = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"];
        for (i, w) in want.iter().enumerate() {
            assert_eq!(hotp.code(i as i64), *w);
        }
    }

    #[test]
    fn the_window_is_one_step_either_side() {
        let t = Totp { secret: b"12345678901234567890".to_vec(), algorithm: Algorithm::Sha1, digits: 6, period: 30 };
        let now = 1_700_000_015;
        let step = t.step_at(now);
        for d in -1..=1 {
            assert_eq!(t.matching_step(&t.code(step + d), now, 1), Some(step + d));
        }
        for d in [-2, 2] {
            assert_eq!(t.matching_step(&t.code(step + d), now, 1), None);
        }
        assert_eq!(t.matching_step("12345", now, 1), None, "wrong length");
        assert_eq!(t.matching_step("12a456", now, 1), None, "not digits");
        assert_eq!(t.matching_step(&format!(" {} ", t.code(step)), now, 1), Some(step), "spaces trimmed");
    }

    #[test]
    fn base32_matches_rfc4648_and_the_uri_is_well_formed() {
        for (plain, want) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32(plain.as_bytes()), want);
        }
        let t = Totp { secret: b"12345678901234567890".to_vec(), algorithm: Algorithm::Sha1, digits: 6, period: 30 };
        assert_eq!(
            t.otpauth_uri("Sekimori Bank", "alice@example.jp"),
            "otpauth://totp/Sekimori%20Bank:alice%40example.jp?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Sekimori%20Bank&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn recovery_codes_are_canonicalised_and_carry_128_bits() {
        let rng = crate::OsRng;
        let code = recovery::generate(&rng);
        assert_eq!(code.len(), 26 + 5, "26 characters in six groups: {code}");
        let canon = recovery::canonical(&code).expect("canonical");
        assert_eq!(recovery::canonical(&code.to_ascii_uppercase().replace('-', " ")), Some(canon.clone()));
        assert_eq!(recovery::canonical("abc"), None);
        assert_eq!(
            recovery::canonical(&canon.replace('a', "1")),
            if canon.contains('a') { None } else { Some(canon.clone()) }
        );
        assert_ne!(recovery::generate(&rng), code);
    }
}
