//! Address ranges (CIDR) and the client address behind trusted proxies.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// An address range: `10.0.0.0/8`, `2001:db8::/32`, or one address (`192.0.2.1`).
/// IPv4-mapped IPv6 addresses (`::ffff:192.0.2.1`) are compared as IPv4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

/// Why a range does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an IP address or CIDR range (e.g. 10.0.0.0/8, 2001:db8::/32)")]
pub struct CidrError(String);

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || CidrError(s.to_owned());
        let (addr, prefix) = match s.trim().split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().map_err(|_| bad())?, Some(p.parse::<u8>().map_err(|_| bad())?)),
            None => (s.trim().parse::<IpAddr>().map_err(|_| bad())?, None),
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        if prefix > max {
            return Err(bad());
        }
        // `::ffff:10.0.0.0/104` is `10.0.0.0/8`.
        match (addr, canonical(addr)) {
            (IpAddr::V6(_), v4 @ IpAddr::V4(_)) if prefix >= 96 => Ok(Cidr { addr: v4, prefix: prefix - 96 }),
            _ => Ok(Cidr { addr, prefix }),
        }
    }
}

impl TryFrom<String> for Cidr {
    type Error = CidrError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl<'de> serde::Deserialize<'de> for Cidr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

impl Cidr {
    /// Whether `ip` is in the range.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl Cidr {
    /// The first and last address of the range, as IPv6 numbers (IPv4 as `::ffff:a.b.c.d`).
    pub fn bounds(&self) -> (u128, u128) {
        let (base, prefix) = match self.addr {
            IpAddr::V4(v4) => (u128::from(v4.to_ipv6_mapped()), u32::from(self.prefix) + 96),
            IpAddr::V6(v6) => (u128::from(v6), u32::from(self.prefix)),
        };
        let host = u128::MAX.checked_shr(prefix).unwrap_or(0);
        (base & !host, base | host)
    }
}

/// A set of addresses and ranges, for lookups in large lists (threat intel, reputation,
/// Tor exits): the ranges sorted and merged, found by binary search, so a million entries
/// cost one `Vec` of pairs and a lookup about twenty comparisons.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpSet {
    ranges: Vec<(u128, u128)>,
}

impl IpSet {
    /// The set of these ranges.
    pub fn new(cidrs: impl IntoIterator<Item = Cidr>) -> Self {
        let mut ranges: Vec<(u128, u128)> = cidrs.into_iter().map(|c| c.bounds()).collect();
        ranges.sort_unstable();
        let mut merged: Vec<(u128, u128)> = Vec::with_capacity(ranges.len());
        for (lo, hi) in ranges {
            match merged.last_mut() {
                Some(last) if lo <= last.1.saturating_add(1) => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        merged.shrink_to_fit();
        IpSet { ranges: merged }
    }

    /// Whether `ip` is in one of the ranges (an IPv4-mapped IPv6 address is its IPv4 one).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let x = match canonical(ip) {
            IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
            IpAddr::V6(v6) => u128::from(v6),
        };
        let i = self.ranges.partition_point(|r| r.0 <= x);
        i > 0 && self.ranges[i - 1].1 >= x
    }

    /// How many disjoint ranges remain after merging.
    pub fn ranges(&self) -> usize {
        self.ranges.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
}

/// An entry of an address list that is neither an address nor a range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {entry:?} is not an IP address or CIDR range")]
pub struct ListEntryError {
    /// 1-based line number.
    pub line: usize,
    /// The entry as written.
    pub entry: String,
}

/// The entries of an address list: one IP address or CIDR range per line, `#` starting a
/// comment; or the Tor Project's exit list (`ExitAddress <ip> <date>` lines; its `ExitNode`,
/// `Published` and `LastStatus` lines are skipped).
pub fn parse_address_list(text: &str) -> Result<Vec<Cidr>, ListEntryError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let entry = line.split('#').next().map_or("", str::trim);
        let mut words = entry.split_whitespace();
        let entry = match words.next() {
            None => continue,
            Some("ExitAddress") => words.next().unwrap_or(""),
            Some("ExitNode" | "Published" | "LastStatus") => continue,
            Some(_) => entry,
        };
        out.push(entry.parse::<Cidr>().map_err(|_| ListEntryError { line: i + 1, entry: entry.to_owned() })?);
    }
    Ok(out)
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// The proxies whose word on the client's address is taken (`[server] trusted_proxies`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    /// Trusts the given ranges.
    pub fn new(ranges: Vec<Cidr>) -> Self {
        TrustedProxies(ranges)
    }

    /// Whether `ip` is a trusted proxy.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|c| c.contains(ip))
    }

    /// The client's address: the TCP peer, unless the peer is a trusted proxy; then the
    /// nearest address in `forwarded` (the `X-Forwarded-For` list, or the `for=` values of
    /// `Forwarded`, oldest first) that is not itself a trusted proxy. Walking from the
    /// right, a value that is not an address stops the walk at the last trusted hop: what
    /// a client wrote further left is never believed.
    pub fn client(&self, peer: IpAddr, forwarded: &[&str]) -> IpAddr {
        let mut client = canonical(peer);
        if !self.trusts(client) {
            return client;
        }
        for hop in forwarded.iter().rev() {
            let Some(ip) = parse_hop(hop) else { break };
            client = ip;
            if !self.trusts(ip) {
                break;
            }
        }
        client
    }
}

/// One hop: `192.0.2.1`, `192.0.2.1:1234`, `2001:db8::1`, `[2001:db8::1]:443`, or the
/// quoted forms of `Forwarded` (`"[2001:db8::1]:443"`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let h = hop.trim().trim_matches('"');
    if let Ok(ip) = h.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Some(rest) = h.strip_prefix('[') {
        return rest.split_once(']').and_then(|(ip, _)| ip.parse().ok()).map(canonical);
    }
    h.rsplit_once(':').and_then(|(ip, port)| port.parse::<u16>().ok().and(ip.parse::<IpAddr>().ok())).map(canonical)
}

/// The hops of a request's forwarding headers, oldest first: `X-Forwarded-For` when
/// present, else the `for=` parameters of `Forwarded` (RFC 7239). Repeated headers are
/// read in order.
pub fn forwarded_hops<'a>(x_forwarded_for: &[&'a str], forwarded: &[&'a str]) -> Vec<&'a str> {
    if !x_forwarded_for.is_empty() {
        return x_forwarded_for.iter().flat_map(|v| v.split(',')).map(str::trim).collect();
    }
    forwarded
        .iter()
        .flat_map(|v| v.split(','))
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (k, v) = pair.trim().split_once('=')?;
                k.trim().eq_ignore_ascii_case("for").then_some(v.trim())
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn ranges_parse_and_contain() {
        let c: Cidr = "10.0.0.0/8".parse().expect("cidr");
        assert!(c.contains(ip("10.200.1.1")) && !c.contains(ip("11.0.0.1")));
        assert!(c.contains(ip("::ffff:10.1.2.3")));
        let one: Cidr = "127.0.0.1".parse().expect("one");
        assert!(one.contains(ip("127.0.0.1")) && !one.contains(ip("127.0.0.2")));
        let v6: Cidr = "2001:db8::/32".parse().expect("v6");
        assert!(v6.contains(ip("2001:db8:1::9")) && !v6.contains(ip("2001:db9::1")));
        let mapped: Cidr = "::ffff:10.0.0.0/104".parse().expect("mapped");
        assert!(mapped.contains(ip("10.9.9.9")));
        let all: Cidr = "0.0.0.0/0".parse().expect("all");
        assert!(all.contains(ip("203.0.113.1")) && !all.contains(ip("2001:db8::1")));
        for bad in ["10.0.0.0/33", "::/129", "10.0.0/8", "x", "", "10.0.0.0/-1"] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_client_is_the_nearest_untrusted_hop() {
        let t = TrustedProxies::new(vec!["127.0.0.1".parse().expect("c"), "10.0.0.0/8".parse().expect("c")]);
        // An untrusted peer's headers are ignored.
        assert_eq!(t.client(ip("203.0.113.9"), &["198.51.100.1"]), ip("203.0.113.9"));
        // Through nginx on localhost.
        assert_eq!(t.client(ip("127.0.0.1"), &["203.0.113.9"]), ip("203.0.113.9"));
        // A forged left-most value is passed over: the nearest untrusted hop wins.
        assert_eq!(t.client(ip("127.0.0.1"), &["1.2.3.4", "203.0.113.9", "10.1.1.1"]), ip("203.0.113.9"));
        // Garbage stops the walk at the last trusted hop.
        assert_eq!(t.client(ip("127.0.0.1"), &["203.0.113.9", "unknown"]), ip("127.0.0.1"));
        // No header: the proxy itself.
        assert_eq!(t.client(ip("127.0.0.1"), &[]), ip("127.0.0.1"));
        // Ports and RFC 7239 quoting.
        let hops = forwarded_hops(&[], &["for=\"[2001:db8::7]:4711\";proto=https, for=198.51.100.3"]);
        assert_eq!(hops, vec!["\"[2001:db8::7]:4711\"", "198.51.100.3"]);
        assert_eq!(t.client(ip("127.0.0.1"), &hops[..1]), ip("2001:db8::7"));
        assert_eq!(t.client(ip("10.0.0.2"), &["192.0.2.1:5555"]), ip("192.0.2.1"));
        assert_eq!(forwarded_hops(&["1.1.1.1, 2.2.2.2", "3.3.3.3"], &["for=9.9.9.9"]).len(), 3);
    }

    #[test]
    fn an_ip_set_finds_addresses_in_merged_ranges() {
        let set = IpSet::new(
            ["10.0.0.0/8", "10.1.0.0/16", "192.0.2.7", "192.0.2.8", "2001:db8::/32", "::ffff:198.51.100.0/120"]
                .iter()
                .map(|c| c.parse::<Cidr>().expect("cidr")),
        );
        assert_eq!(set.ranges(), 4, "10/8 swallows 10.1/16; .7 and .8 join");
        for yes in ["10.255.255.255", "192.0.2.7", "192.0.2.8", "2001:db8:ffff::1", "198.51.100.200", "::ffff:10.0.0.1"]
        {
            assert!(set.contains(ip(yes)), "{yes}");
        }
        for no in ["11.0.0.0", "192.0.2.6", "192.0.2.9", "2001:db9::1", "198.51.101.0", "::1"] {
            assert!(!set.contains(ip(no)), "{no}");
        }
        assert!(!IpSet::default().contains(ip("10.0.0.1")));
    }

    #[test]
    fn address_lists_and_the_tor_exit_list_parse() {
        let plain =
            parse_address_list("# blocklist\n192.0.2.1\n\n198.51.100.0/24  # a range\n2001:db8::1\n").expect("ok");
        assert_eq!(plain.len(), 3);
        let tor = "ExitNode 0011BD2485AD45D984EC4159C88FC066E5E3300E\nPublished 2026-12-05 10:00:00\n\
                   LastStatus 2026-12-05 11:00:00\nExitAddress 203.0.113.77 2026-12-05 11:02:44\n";
        let exits = parse_address_list(tor).expect("tor list");
        assert_eq!(exits, vec!["203.0.113.77".parse::<Cidr>().expect("cidr")]);
        let bad = parse_address_list("192.0.2.1\nnot-an-address\n").expect_err("refused");
        assert_eq!((bad.line, bad.entry.as_str()), (2, "not-an-address"));
    }

    proptest! {
        /// An `IpSet` answers as checking every range in turn does.
        #[test]
        fn ip_set_agrees_with_a_linear_scan(
            nets in proptest::collection::vec((any::<u32>(), 8u8..=32), 0..40),
            probes in proptest::collection::vec(any::<u32>(), 1..40),
        ) {
            let cidrs: Vec<Cidr> = nets
                .iter()
                .map(|(a, p)| format!("{}/{p}", std::net::Ipv4Addr::from(*a)).parse().expect("cidr"))
                .collect();
            let set = IpSet::new(cidrs.clone());
            for x in probes.iter().chain(nets.iter().map(|(a, _)| a)) {
                let addr = IpAddr::V4(std::net::Ipv4Addr::from(*x));
                prop_assert_eq!(set.contains(addr), cidrs.iter().any(|c| c.contains(addr)));
            }
        }
    }

    proptest! {
        /// Nothing a client writes makes a trusted proxy's address, or an address the
        /// client did not connect from when no proxy is trusted, the answer.
        #[test]
        fn an_untrusted_peer_is_always_the_client(hops in prop::collection::vec("[0-9a-f.:\\[\\]\" ]{0,20}", 0..5)) {
            let hops: Vec<&str> = hops.iter().map(String::as_str).collect();
            let none = TrustedProxies::default();
            prop_assert_eq!(none.client(ip("203.0.113.9"), &hops), ip("203.0.113.9"));
        }
    }
}
