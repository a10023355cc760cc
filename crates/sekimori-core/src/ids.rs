//! Typed ids of the aggregates people and code mix up most: tenants, users, apps, devices,
//! push logins and browser sessions.
//!
//! Each is its own type, so a store call that wants a user's id cannot be given a tenant's
//! by mistake (`list_devices(&tenant.id)` does not compile). They read as text where text is
//! wanted (`Deref<Target = str>`, `Display`), serialise as a plain JSON string, and are made
//! only at the edges: from a stored row, from a fresh UUID, or from a path segment or token
//! part the caller has just received.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// The id with this text (a stored value, a fresh UUID, or one just received).
            pub fn new(text: impl Into<String>) -> Self {
                $name(text.into())
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The text, owned.
            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl Deref for $name {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> Self {
                $name(text)
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                $name(text.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl From<&$name> for serde_json::Value {
            fn from(id: &$name) -> Self {
                serde_json::Value::String(id.0.clone())
            }
        }

        impl From<$name> for serde_json::Value {
            fn from(id: $name) -> Self {
                serde_json::Value::String(id.0)
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl PartialEq<String> for $name {
            fn eq(&self, other: &String) -> bool {
                &self.0 == other
            }
        }
    };
}

id_type!(
    /// A tenant (UUID text).
    TenantId
);
id_type!(
    /// A user (UUIDv7 text).
    UserId
);
id_type!(
    /// A relying-party or verifier app (32 hex digits, the middle part of its key).
    AppId
);
id_type!(
    /// An enrolled authenticator (UUIDv7 text).
    DeviceId
);
id_type!(
    /// A push login request (UUIDv7 text).
    LoginId
);
id_type!(
    /// A browser session: the SHA-256 (hex) of its cookie's secret.
    SessionId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_read_as_text_and_serialise_as_a_string() -> Result<(), serde_json::Error> {
        let id = UserId::new("0193-user");
        assert_eq!(id.as_str(), "0193-user");
        assert_eq!(&*id, "0193-user");
        assert_eq!(id, "0193-user");
        assert_eq!(id.to_string(), "0193-user");
        assert_eq!(serde_json::to_string(&id)?, "\"0193-user\"");
        let back: UserId = serde_json::from_str("\"0193-user\"")?;
        assert_eq!(back, id);
        assert_eq!(String::from(back), "0193-user");
        Ok(())
    }
}
