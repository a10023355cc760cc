//! Parsed names: untrusted text becomes one of these at the edge, and the inside
//! never re-checks strings (STYLE.md point 3).

use std::fmt;

/// Why a name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {reason}")]
pub struct NameError {
    /// Which kind of name.
    pub what: &'static str,
    /// What is wrong with it.
    pub reason: &'static str,
}

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident, $what:literal, $max:literal, $allowed:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Parses untrusted text.
            pub fn parse(text: &str) -> Result<Self, NameError> {
                if text.is_empty() {
                    return Err(NameError { what: $what, reason: "must not be empty" });
                }
                if text.chars().count() > $max {
                    return Err(NameError { what: $what, reason: concat!("must be at most ", $max, " characters") });
                }
                let allowed: fn(char) -> bool = $allowed;
                if !text.chars().all(allowed) {
                    return Err(NameError { what: $what, reason: "has a character that is not allowed" });
                }
                Ok($name(text.to_owned()))
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $name::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

fn username_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-' | '@' | '+')
}

fn label_char(c: char) -> bool {
    !c.is_control()
}

fn slug_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':')
}

name_type!(
    /// A username, unique in its tenant: lowercase ASCII letters, digits and `._-@+`, at most 64.
    Username, "username", 64, username_char
);
name_type!(
    /// A human label (device name, app name): any printable text, at most 100 characters.
    Label, "name", 100, label_char
);
name_type!(
    /// An entitlement on a ticket, e.g. `lunch`: ASCII letters, digits and `._-:`, at most 64.
    Entitlement, "entitlement", 64, slug_char
);

/// Percent-encodes everything but RFC 3986 unreserved characters (for query values and
/// `otpauth://` labels).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Decodes `%XX` escapes (a path segment as sent); malformed escapes stay as they are and
/// bytes that are not UTF-8 become U+FFFD.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(h), Some(l)) => {
                out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn percent_decoding_undoes_encoding() {
        assert_eq!(percent_decode("night%20shift"), "night shift");
        assert_eq!(percent_decode("%E7%86%8A"), "熊");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
    }

    proptest! {
        #[test]
        fn decode_inverts_encode(s in "\\PC{0,30}") {
            prop_assert_eq!(percent_decode(&percent_encode(&s)), s);
        }
    }

    #[test]
    fn usernames() {
        assert!(Username::parse("alice").is_ok());
        assert!(Username::parse("alice@example.org").is_ok());
        assert!(Username::parse("Alice").is_err());
        assert!(Username::parse("").is_err());
        assert!(Username::parse(&"a".repeat(65)).is_err());
        assert!(Username::parse("al ice").is_err());
    }

    #[test]
    fn labels_refuse_controls() {
        assert!(Label::parse("Alice's phone 📱").is_ok());
        assert!(Label::parse("bad\u{7}").is_err());
    }

    proptest! {
        #[test]
        fn parse_never_panics(s in ".*") {
            let _ = Username::parse(&s);
            let _ = Label::parse(&s);
            let _ = Entitlement::parse(&s);
        }
    }
}
