//! The signals a login attempt can show, each with a stable name used in policies, audit
//! events (`sekimori.risk.reasons`) and explanations.

use serde::{Deserialize, Serialize};

/// One thing about an attempt that adds to its risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Signal {
    /// The client environment (browser family, OS, network) has not logged in for this
    /// user before.
    NewEnvironment,
    /// The client environment has completed a login for this user, but was first seen less
    /// than a day ago.
    YoungEnvironment,
    /// A country this user has not been seen in (baselines' `new_value.country`).
    NewCountry,
    /// A network (/24, /48 or ASN) this user has not been seen in (`new_value.network`).
    NewNetwork,
    /// A user agent this user has not been seen with (`new_value.user_agent`).
    NewUserAgent,
    /// Too far from the last place this user was seen, too soon (baselines' `travel`).
    ImpossibleTravel,
    /// Failures just before this attempt from a user who rarely fails (baselines'
    /// `failures`: the same window, count and floor).
    FailureBurst,
    /// An hour of day (UTC) this user has not been active in, nor in the hours either side
    /// (baselines' `unusual_hour`).
    UnusualHour,
    /// The address is on an address list (threat intel, reputation, Tor exits).
    ListedAddress,
    /// More attempts for this user in the window than the policy allows.
    UserVelocity,
    /// More attempts from this address in the window than the policy allows.
    AddressVelocity,
    /// More attempts from this network in the window than the policy allows.
    NetworkVelocity,
    /// The browser reports automation (`navigator.webdriver`, headless markers).
    Automation,
    /// Credentials pasted and typed with machine regularity and no pointer movement.
    ScriptedInput,
    /// The browser's own account of itself disagrees with the user agent it sent.
    UserAgentMismatch,
}

impl Signal {
    /// Every signal, in the order explanations list them.
    pub const ALL: [Signal; 15] = [
        Signal::NewEnvironment,
        Signal::YoungEnvironment,
        Signal::NewCountry,
        Signal::NewNetwork,
        Signal::NewUserAgent,
        Signal::ImpossibleTravel,
        Signal::FailureBurst,
        Signal::UnusualHour,
        Signal::ListedAddress,
        Signal::UserVelocity,
        Signal::AddressVelocity,
        Signal::NetworkVelocity,
        Signal::Automation,
        Signal::ScriptedInput,
        Signal::UserAgentMismatch,
    ];

    /// The stable name (`new_country`).
    pub fn as_str(self) -> &'static str {
        match self {
            Signal::NewEnvironment => "new_environment",
            Signal::YoungEnvironment => "young_environment",
            Signal::NewCountry => "new_country",
            Signal::NewNetwork => "new_network",
            Signal::NewUserAgent => "new_user_agent",
            Signal::ImpossibleTravel => "impossible_travel",
            Signal::FailureBurst => "failure_burst",
            Signal::UnusualHour => "unusual_hour",
            Signal::ListedAddress => "listed_address",
            Signal::UserVelocity => "user_velocity",
            Signal::AddressVelocity => "address_velocity",
            Signal::NetworkVelocity => "network_velocity",
            Signal::Automation => "automation",
            Signal::ScriptedInput => "scripted_input",
            Signal::UserAgentMismatch => "user_agent_mismatch",
        }
    }
}

/// What the hosted login page (or the JS snippet) observed in the browser. Every field is
/// optional: a signal the page could not collect is unknown, never "human".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BrowserSignals {
    /// `navigator.webdriver`.
    #[serde(default)]
    pub webdriver: Option<bool>,
    /// Headless markers (`HeadlessChrome` in the user agent, no plugins and no languages).
    #[serde(default)]
    pub headless: Option<bool>,
    /// The password was pasted rather than typed.
    #[serde(default)]
    pub pasted: Option<bool>,
    /// Key intervals so regular (coefficient of variation under 0.1) that a script typed.
    #[serde(default)]
    pub regular_typing: Option<bool>,
    /// The pointer moved on the page before the form was sent.
    #[serde(default)]
    pub pointer_moved: Option<bool>,
    /// The user agent the browser reports from script (`navigator.userAgent`).
    #[serde(default)]
    pub user_agent: Option<String>,
}

impl BrowserSignals {
    /// Automation reported by the browser itself.
    pub fn automation(&self) -> bool {
        self.webdriver == Some(true) || self.headless == Some(true)
    }

    /// Input that a person does not produce: pasted or machine-regular, and no pointer
    /// movement at all. Unknown values never count as either.
    pub fn scripted_input(&self) -> bool {
        (self.pasted == Some(true) || self.regular_typing == Some(true)) && self.pointer_moved == Some(false)
    }

    /// Whether the script-reported user agent differs from the one sent with the request.
    pub fn user_agent_mismatch(&self, declared: Option<&str>) -> bool {
        match (&self.user_agent, declared) {
            (Some(seen), Some(sent)) => seen.trim() != sent.trim(),
            _ => false,
        }
    }
}
