//! Authentication levels (DESIGN section 2), carried in sessions and as OIDC `acr`.

/// How strongly a login proved the user's identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AuthLevel {
    /// One factor.
    One = 1,
    /// Multi-factor (e.g. push approval with number match).
    Two = 2,
    /// Phishing-resistant (passkey with UV, or QR login bound to the browser showing it).
    Three = 3,
}

impl AuthLevel {
    /// The numeric level.
    pub fn as_u8(self) -> u8 {
        self as u8
    }
}
