//! Where an address is: country, coordinates and autonomous system, from a database in the
//! MaxMind DB format (GeoLite2 City / Country / ASN, DB-IP Lite, or any compatible file).
//! The records are read by their GeoIP2 field names (`country.iso_code`,
//! `location.latitude`/`longitude`, `autonomous_system_number`); a field the file does not
//! have is simply unknown.

use std::net::IpAddr;

use serde::Deserialize;

/// Why a database cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("not a MaxMind DB file: {0}")]
pub struct GeoError(String);

/// An open database.
pub struct GeoDb {
    reader: maxminddb::Reader<Vec<u8>>,
    /// Its `database_type` (`GeoLite2-City`, `DBIP-City-Lite`, …).
    pub kind: String,
}

impl std::fmt::Debug for GeoDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeoDb").field("kind", &self.kind).finish_non_exhaustive()
    }
}

/// What the database says of one address.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Place {
    /// ISO 3166 country code.
    pub country: Option<String>,
    /// Latitude and longitude.
    pub location: Option<(f64, f64)>,
    /// Autonomous system number.
    pub asn: Option<u32>,
}

#[derive(Deserialize)]
struct Record {
    #[serde(default)]
    country: Option<Country>,
    #[serde(default)]
    location: Option<Location>,
    /// GeoLite2-ASN stores it as a 32-bit integer; other writers use wider ones.
    #[serde(default)]
    autonomous_system_number: Option<Unsigned>,
}

/// An unsigned integer of whatever width the file stored (the MaxMind DB format has
/// 16-, 32-, 64- and 128-bit ones, and a typed read of one width refuses the others).
struct Unsigned(u64);

impl<'de> Deserialize<'de> for Unsigned {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Unsigned;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an unsigned integer")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Unsigned, E> {
                Ok(Unsigned(v))
            }
            fn visit_u128<E: serde::de::Error>(self, v: u128) -> Result<Unsigned, E> {
                u64::try_from(v).map(Unsigned).map_err(|_| E::custom("too large"))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Unsigned, E> {
                u64::try_from(v).map(Unsigned).map_err(|_| E::custom("negative"))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Deserialize)]
struct Country {
    #[serde(default)]
    iso_code: Option<String>,
}

#[derive(Deserialize)]
struct Location {
    #[serde(default)]
    latitude: Option<f64>,
    #[serde(default)]
    longitude: Option<f64>,
}

impl GeoDb {
    /// A database from its bytes (a file read whole).
    pub fn from_bytes(bytes: Vec<u8>) -> Result<GeoDb, GeoError> {
        let reader = maxminddb::Reader::from_source(bytes).map_err(|e| GeoError(e.to_string()))?;
        let kind = reader.metadata().database_type.clone();
        Ok(GeoDb { reader, kind })
    }

    /// Where `ip` is; `None` when the database does not know it (or its record cannot be
    /// read, which is logged by the caller's counters as unknown, never as a place).
    pub fn lookup(&self, ip: IpAddr) -> Option<Place> {
        let found = self.reader.lookup(ip).ok()?;
        let r: Record = found.decode().ok()??;
        let location = r.location.and_then(|l| Some((l.latitude?, l.longitude?)));
        let asn = r.autonomous_system_number.and_then(|n| u32::try_from(n.0).ok());
        Some(Place { country: r.country.and_then(|c| c.iso_code), location, asn })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    #[derive(Serialize)]
    struct City {
        country: Iso,
        location: Loc,
    }
    #[derive(Serialize)]
    struct Iso {
        iso_code: &'static str,
    }
    #[derive(Serialize)]
    struct Loc {
        latitude: f64,
        longitude: f64,
    }
    #[derive(Serialize)]
    struct Asn {
        autonomous_system_number: u32,
    }

    #[test]
    fn places_are_read_by_their_geoip2_names() {
        let mut w = mmdb_writer::Writer::new("Test-City");
        let tokyo = City { country: Iso { iso_code: "JP" }, location: Loc { latitude: 35.68, longitude: 139.69 } };
        w.insert("192.0.2.0/24".parse::<ipnet::IpNet>().expect("net"), &tokyo).expect("insert");
        w.insert("198.51.100.0/24".parse::<ipnet::IpNet>().expect("net"), &Asn { autonomous_system_number: 64500 })
            .expect("insert");
        let wide = serde_json::json!({"autonomous_system_number": 64501u64, "country": {"iso_code": "BR"}});
        w.insert("203.0.113.0/24".parse::<ipnet::IpNet>().expect("net"), &wide).expect("insert");
        let db = GeoDb::from_bytes(w.to_bytes().expect("bytes")).expect("db");
        assert_eq!(db.kind, "Test-City");
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        let place = db.lookup(ip("192.0.2.9")).expect("known");
        assert_eq!((place.country.as_deref(), place.location, place.asn), (Some("JP"), Some((35.68, 139.69)), None));
        assert_eq!(db.lookup(ip("198.51.100.1")).and_then(|p| p.asn), Some(64500));
        let wide = db.lookup(ip("203.0.113.1")).expect("known");
        assert_eq!((wide.asn, wide.country.as_deref()), (Some(64501), Some("BR")), "a 64-bit ASN is read too");
        assert_eq!(db.lookup(ip("10.0.0.1")), None);
        assert!(GeoDb::from_bytes(b"not a database".to_vec()).is_err());
    }
}
