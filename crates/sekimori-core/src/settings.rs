//! Helpers for settings that are lists: in a TOML file they are arrays; in one
//! environment variable they are text, split on the separator the setting documents.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserializer, SeqAccess, Visitor};

struct ListVisitor<T> {
    split: fn(&str) -> Vec<String>,
    _t: PhantomData<T>,
}

impl<'de, T> Visitor<'de> for ListVisitor<T>
where
    T: TryFrom<String> + serde::Deserialize<'de>,
    T::Error: fmt::Display,
{
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list, or text with the list's separator")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        (self.split)(v).into_iter().map(|item| T::try_from(item).map_err(E::custom)).collect()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::new();
        while let Some(item) = seq.next_element()? {
            out.push(item);
        }
        Ok(out)
    }
}

fn comma(v: &str) -> Vec<String> {
    v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// `:`-separated, where `scheme://…` (e.g. `s3://bucket/prefix`) keeps its own colon.
fn colon(v: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for part in v.split(':') {
        match out.last_mut() {
            Some(last) if !last.contains('/') && part.starts_with("//") => {
                last.push(':');
                last.push_str(part);
            }
            _ => out.push(part.to_owned()),
        }
    }
    out.retain(|p| !p.is_empty());
    out
}

/// A list given as an array, or as comma-separated text; each item is read as `T` (an
/// item that is not one names the reason).
pub fn comma_list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<String> + serde::Deserialize<'de>,
    T::Error: fmt::Display,
{
    d.deserialize_any(ListVisitor { split: comma, _t: PhantomData })
}

/// A list of paths given as an array, or as `:`-separated text (as `PATH` is).
pub fn path_list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<String> + serde::Deserialize<'de>,
    T::Error: fmt::Display,
{
    d.deserialize_any(ListVisitor { split: colon, _t: PhantomData })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separators_keep_urls_whole() {
        assert_eq!(colon("/a:s3://b/p::/c"), ["/a", "s3://b/p", "/c"]);
        assert_eq!(comma(" 10.0.0.0/8, ,192.0.2.1 "), ["10.0.0.0/8", "192.0.2.1"]);
    }
}
