//! Client environments (DESIGN section 4): the browser family, operating system and
//! network a login attempt came from, reduced to a stable key per user.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// What Sekimori knows of where an attempt came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    /// Browser or client family, e.g. `Firefox`, `Chrome`, `curl`, `Other`.
    pub browser: String,
    /// Operating system family, e.g. `Windows`, `macOS`, `Linux`, `Android`, `iOS`, `Other`.
    pub os: String,
    /// The network: the /24 of an IPv4 address or the /48 of an IPv6 one; `unknown` without an address.
    pub network: String,
    /// ISO 3166 country code, when a geo database is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// The client address as seen.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
}

impl Environment {
    /// Derives the environment from a client address and user agent.
    pub fn from_client(ip: Option<IpAddr>, user_agent: Option<&str>) -> Self {
        let ua = user_agent.unwrap_or("");
        Environment {
            browser: browser_family(ua).to_owned(),
            os: os_family(ua).to_owned(),
            network: ip.map(network_of).unwrap_or_else(|| "unknown".to_owned()),
            country: None,
            ip: ip.map(|i| i.to_string()),
        }
    }

    /// The stable key of this environment: the same browser family, OS and network
    /// give the same key; the exact address and version do not matter.
    pub fn key(&self) -> String {
        let text = format!("{}|{}|{}", self.browser, self.os, self.network);
        crate::token::sha256_hex(text.as_bytes())[..32].to_owned()
    }

    /// A one-line description for people, e.g. `Firefox on Linux from 203.0.113.0/24`.
    pub fn describe(&self) -> String {
        let mut s = format!("{} on {} from {}", self.browser, self.os, self.network);
        if let Some(c) = &self.country {
            s.push_str(&format!(" ({c})"));
        }
        s
    }
}

/// The /24 (IPv4) or /48 (IPv6) network of an address, in CIDR form.
pub fn network_of(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return network_of(IpAddr::V4(v4));
            }
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    }
}

/// The browser family of a user agent. Order matters: Edge and Opera say "Chrome" too,
/// Chrome says "Safari".
pub fn browser_family(ua: &str) -> &'static str {
    let checks: &[(&str, &str)] = &[
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("Chromium/", "Chromium"),
        ("Chrome/", "Chrome"),
        ("CriOS/", "Chrome"),
        ("Safari/", "Safari"),
        ("curl/", "curl"),
        ("sekimori/", "sekimori"),
    ];
    checks.iter().find(|(needle, _)| ua.contains(needle)).map(|(_, name)| *name).unwrap_or("Other")
}

/// The operating system family of a user agent.
pub fn os_family(ua: &str) -> &'static str {
    let checks: &[(&str, &str)] = &[
        ("Android", "Android"),
        ("iPhone", "iOS"),
        ("iPad", "iOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Macintosh", "macOS"),
        ("CrOS", "ChromeOS"),
        ("Linux", "Linux"),
    ];
    checks.iter().find(|(needle, _)| ua.contains(needle)).map(|(_, name)| *name).unwrap_or("Other")
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIREFOX_LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
    const CHROME_MAC: &str =
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36";
    const EDGE_WIN: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36 Edg/126.0";
    const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

    #[test]
    fn families() {
        assert_eq!((browser_family(FIREFOX_LINUX), os_family(FIREFOX_LINUX)), ("Firefox", "Linux"));
        assert_eq!((browser_family(CHROME_MAC), os_family(CHROME_MAC)), ("Chrome", "macOS"));
        assert_eq!((browser_family(EDGE_WIN), os_family(EDGE_WIN)), ("Edge", "Windows"));
        assert_eq!((browser_family(SAFARI_IPHONE), os_family(SAFARI_IPHONE)), ("Safari", "iOS"));
        assert_eq!(browser_family(""), "Other");
    }

    #[test]
    fn networks() {
        assert_eq!(network_of("203.0.113.77".parse().expect("ip")), "203.0.113.0/24");
        assert_eq!(network_of("2001:db8:abcd:12::1".parse().expect("ip")), "2001:db8:abcd::/48");
        assert_eq!(network_of("::ffff:198.51.100.9".parse().expect("ip")), "198.51.100.0/24");
    }

    #[test]
    fn key_ignores_host_and_version() {
        let a = Environment::from_client(Some("203.0.113.7".parse().expect("ip")), Some(FIREFOX_LINUX));
        let b = Environment::from_client(
            Some("203.0.113.200".parse().expect("ip")),
            Some("Mozilla/5.0 (X11; Linux x86_64; rv:129.0) Gecko/20100101 Firefox/129.0"),
        );
        let c = Environment::from_client(Some("198.51.100.7".parse().expect("ip")), Some(FIREFOX_LINUX));
        assert_eq!(a.key(), b.key());
        assert_ne!(a.key(), c.key());
    }
}
