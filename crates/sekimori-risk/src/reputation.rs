//! Address reputation: named lists, each with a weight, read from files of one IP or CIDR
//! per line (comments allowed) or in the Tor exit-list format, and looked up with the same
//! [`IpSet`] as the detection baselines' threat intel.

use std::net::IpAddr;

use sekimori_core::net::{parse_address_list, IpSet, ListEntryError};

/// One list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressList {
    /// Its name, shown in explanations (`tor-exits`).
    pub name: String,
    /// Points an address on it adds (1 to 100).
    pub weight: u32,
    /// Entries read.
    pub entries: usize,
    set: IpSet,
}

impl AddressList {
    /// Reads a list's text.
    pub fn parse(name: &str, weight: u32, text: &str) -> Result<AddressList, ListEntryError> {
        let entries = parse_address_list(text)?;
        Ok(AddressList { name: name.to_owned(), weight, entries: entries.len(), set: IpSet::new(entries) })
    }

    /// Whether `ip` is on it.
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.set.contains(ip)
    }
}

/// All the lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reputation {
    lists: Vec<AddressList>,
}

impl Reputation {
    /// These lists.
    pub fn new(lists: Vec<AddressList>) -> Self {
        Reputation { lists }
    }

    /// The lists `ip` is on: (name, weight).
    pub fn hits(&self, ip: IpAddr) -> Vec<(String, u32)> {
        self.lists.iter().filter(|l| l.contains(ip)).map(|l| (l.name.clone(), l.weight)).collect()
    }

    /// The lists.
    pub fn lists(&self) -> &[AddressList] {
        &self.lists
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_found_on_each_list_it_is_on() {
        let tor = AddressList::parse("tor-exits", 60, "ExitNode X\nExitAddress 203.0.113.9 2026-12-05 10:00:00\n")
            .expect("tor");
        let block = AddressList::parse("blocklist", 90, "# bad\n203.0.113.0/24\n").expect("list");
        let r = Reputation::new(vec![tor, block]);
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        assert_eq!(r.hits(ip("203.0.113.9")), vec![("tor-exits".into(), 60), ("blocklist".into(), 90)]);
        assert_eq!(r.hits(ip("203.0.113.10")), vec![("blocklist".into(), 90)]);
        assert!(r.hits(ip("198.51.100.1")).is_empty());
    }
}
