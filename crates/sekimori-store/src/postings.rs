//! The entries of one `event_postings` row: the events (time received, number) that have
//! one value of one field, newest first, packed as variable-length integers (LEB128): the
//! first entry's time and number as they are, then each entry's time as the step back from
//! the one before (never negative) and its number as the zig-zag encoded difference (numbers
//! mostly, but not always, fall with time). Two to four bytes an entry, where a row of the
//! ordered index took five columns and a key.
//!
//! Also what one ingest batch stages in its `event_index_staged` row, so a batch appends
//! one row however many entries it has, and the background move writes them in runs: its
//! index entries (each entry's key, an entity's kind or `field:<name>`, and value as
//! length-prefixed UTF-8 and its event's number), the entities its alerts are about, and
//! its detection roll-up counts.

use sekimori_core::Timestamp;

/// One event in a posting: when it was received and its number.
pub type Posting = (Timestamp, i64);

/// Why a stored posting could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostingsError {
    #[error("the postings end inside a number at byte {0}")]
    Truncated(usize),
    #[error("a number in the postings at byte {0} is longer than 64 bits")]
    Overlong(usize),
    #[error("the postings are not newest first at entry {0}")]
    OutOfOrder(usize),
    #[error("a staged key or value at byte {0} is not UTF-8")]
    NotUtf8(usize),
}

/// One staged index entry: key, value and the event's number.
pub type Staged<'a> = (&'a str, &'a str, i64);

/// Packs a batch's index entries (in any order) for its staged row.
pub fn encode_staged(entries: &[Staged<'_>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.iter().map(|(k, v, _)| k.len() + v.len() + 6).sum());
    for (key, value, seq) in entries {
        put_text(&mut out, key);
        put_text(&mut out, value);
        put(&mut out, zigzag(*seq));
    }
    out
}

/// Unpacks what [`encode_staged`] packed, borrowing the keys and values.
pub fn decode_staged(bytes: &[u8]) -> Result<Vec<Staged<'_>>, PostingsError> {
    read_each(bytes, |r| Ok((r.text()?, r.text()?, r.int()?)))
}

/// That one of a batch's alerts is about an entity: its kind, value, the alert's time
/// raised and id (an `alert_entities` row).
pub type AlertAbout<'a> = (&'a str, &'a str, Timestamp, &'a str);

/// Packs the entities a batch's alerts are about, for its staged row.
pub fn encode_about(entries: &[AlertAbout<'_>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.iter().map(|(k, v, _, id)| k.len() + v.len() + id.len() + 12).sum());
    for (kind, value, at, id) in entries {
        put_text(&mut out, kind);
        put_text(&mut out, value);
        put(&mut out, zigzag(at.millis()));
        put_text(&mut out, id);
    }
    out
}

/// Unpacks what [`encode_about`] packed.
pub fn decode_about(bytes: &[u8]) -> Result<Vec<AlertAbout<'_>>, PostingsError> {
    read_each(bytes, |r| Ok((r.text()?, r.text()?, Timestamp(r.int()?), r.text()?)))
}

/// One of a batch's detection roll-up counts: hour, series, key, label and count (a
/// `detection_rollups` row's increment).
pub type RollupCount<'a> = (i64, &'a str, &'a str, &'a str, i64);

/// Packs a batch's detection roll-up counts, for its staged row.
pub fn encode_rollups(counts: &[RollupCount<'_>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(counts.iter().map(|(_, s, k, l, _)| s.len() + k.len() + l.len() + 12).sum());
    for (hour, series, key, label, n) in counts {
        put(&mut out, zigzag(*hour));
        put_text(&mut out, series);
        put_text(&mut out, key);
        put_text(&mut out, label);
        put(&mut out, zigzag(*n));
    }
    out
}

/// Unpacks what [`encode_rollups`] packed.
pub fn decode_rollups(bytes: &[u8]) -> Result<Vec<RollupCount<'_>>, PostingsError> {
    read_each(bytes, |r| Ok((r.int()?, r.text()?, r.text()?, r.text()?, r.int()?)))
}

/// Reads `one` entry after another until the bytes end.
fn read_each<'a, T>(
    bytes: &'a [u8],
    mut one: impl FnMut(&mut Reader<'a>) -> Result<T, PostingsError>,
) -> Result<Vec<T>, PostingsError> {
    let mut r = Reader { bytes, pos: 0 };
    let mut out = Vec::new();
    while r.pos < r.bytes.len() {
        out.push(one(&mut r)?);
    }
    Ok(out)
}

/// Reads packed numbers and length-prefixed text in turn.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn int(&mut self) -> Result<i64, PostingsError> {
        take(self.bytes, &mut self.pos).map(unzigzag)
    }

    fn text(&mut self) -> Result<&'a str, PostingsError> {
        let start = self.pos;
        let len = usize::try_from(take(self.bytes, &mut self.pos)?).map_err(|_| PostingsError::Truncated(start))?;
        let end =
            self.pos.checked_add(len).filter(|&end| end <= self.bytes.len()).ok_or(PostingsError::Truncated(start))?;
        let s = std::str::from_utf8(&self.bytes[self.pos..end]).map_err(|_| PostingsError::NotUtf8(self.pos))?;
        self.pos = end;
        Ok(s)
    }
}

fn put_text(out: &mut Vec<u8>, text: &str) {
    put(out, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
}

/// Packs `entries`, which must be sorted newest first (by time, then number) with no
/// duplicates; the caller sorts them.
pub fn encode(entries: &[Posting]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.len() * 4);
    let mut prev: Option<Posting> = None;
    for &(at, seq) in entries {
        match prev {
            None => {
                put(&mut out, zigzag(at.millis()));
                put(&mut out, zigzag(seq));
            }
            Some((prev_at, prev_seq)) => {
                put(&mut out, prev_at.millis().wrapping_sub(at.millis()) as u64);
                put(&mut out, zigzag(seq.wrapping_sub(prev_seq)));
            }
        }
        prev = Some((at, seq));
    }
    out
}

/// Unpacks what [`encode`] packed, checking that it is well formed and newest first.
pub fn decode(bytes: &[u8]) -> Result<Vec<Posting>, PostingsError> {
    let mut out: Vec<Posting> = Vec::with_capacity(bytes.len() / 3);
    let mut pos = 0;
    while pos < bytes.len() {
        let a = take(bytes, &mut pos)?;
        let b = take(bytes, &mut pos)?;
        let entry = match out.last() {
            None => (Timestamp(unzigzag(a)), unzigzag(b)),
            Some(&(prev_at, prev_seq)) => {
                // Wrapping, as `encode` steps: any two numbers have a step.
                let at = prev_at.millis().wrapping_sub(a as i64);
                let seq = prev_seq.wrapping_add(unzigzag(b));
                if (at, seq) >= (prev_at.millis(), prev_seq) {
                    return Err(PostingsError::OutOfOrder(out.len()));
                }
                (Timestamp(at), seq)
            }
        };
        out.push(entry);
    }
    Ok(out)
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn put(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn take(bytes: &[u8], pos: &mut usize) -> Result<u64, PostingsError> {
    let start = *pos;
    let mut v: u64 = 0;
    for shift in (0..64).step_by(7) {
        let Some(&byte) = bytes.get(*pos) else {
            return Err(PostingsError::Truncated(start));
        };
        *pos += 1;
        let bits = u64::from(byte & 0x7f);
        if shift == 63 && bits > 1 {
            return Err(PostingsError::Overlong(start));
        }
        v |= bits << shift;
        if byte & 0x80 == 0 {
            return Ok(v);
        }
    }
    Err(PostingsError::Overlong(start))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_small_posting_round_trips_in_a_few_bytes() {
        let entries = vec![
            (Timestamp(1_790_000_002_000), 1_000_005),
            (Timestamp(1_790_000_002_000), 1_000_004),
            (Timestamp(1_790_000_001_000), 1_000_006),
            (Timestamp(0), 1),
        ];
        let bytes = encode(&entries);
        assert_eq!(decode(&bytes), Ok(entries));
        assert!(encode(&[]).is_empty());
        assert_eq!(decode(&[]), Ok(vec![]));
        // Same time, next number: two bytes.
        let two = encode(&[(Timestamp(5), 9), (Timestamp(5), 8)]);
        assert_eq!(two.len(), 2 + 2);
    }

    #[test]
    fn damaged_postings_are_refused() {
        let bytes = encode(&[(Timestamp(1_000), 10), (Timestamp(900), 11)]);
        assert_eq!(decode(&bytes[..bytes.len() - 1]), Err(PostingsError::Truncated(bytes.len() - 1)));
        assert_eq!(decode(&[0x80; 11]), Err(PostingsError::Overlong(0)));
        assert_eq!(
            decode(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0]),
            Err(PostingsError::Overlong(0))
        );
        // A second entry that is not older (a step of 0 with a number not lower).
        let not_older = [2, 2, 0, 2];
        assert_eq!(decode(&not_older), Err(PostingsError::OutOfOrder(1)));
    }

    #[test]
    fn staged_entries_round_trip_and_damage_is_refused() {
        let entries = vec![("user", "alice", 7), ("field:EventID", "4624", 7), ("ip", "", -1), ("host", "名前", 8)];
        let bytes = encode_staged(&entries);
        assert_eq!(decode_staged(&bytes), Ok(entries));
        assert_eq!(decode_staged(&bytes[..bytes.len() - 1]), Err(PostingsError::Truncated(bytes.len() - 1)));
        assert_eq!(decode_staged(&[9, b'a']), Err(PostingsError::Truncated(0)));
        assert_eq!(decode_staged(&[1, 0xff, 0, 0]), Err(PostingsError::NotUtf8(1)));
    }

    #[test]
    fn alert_entities_and_rollups_round_trip_and_damage_is_refused() {
        let about = vec![("user", "alice", Timestamp(1_790_000_000_123), "01J9ALERT"), ("ip", "", Timestamp(-5), "")];
        let bytes = encode_about(&about);
        assert_eq!(decode_about(&bytes), Ok(about));
        assert_eq!(decode_about(&bytes[..bytes.len() - 1]), Err(PostingsError::Truncated(bytes.len() - 1)));
        let counts = vec![(1_789_999_200_000, "events", "edr", "", 250), (0, "entities", "host", "名前", -1)];
        let bytes = encode_rollups(&counts);
        assert_eq!(decode_rollups(&bytes), Ok(counts));
        assert_eq!(decode_rollups(&bytes[..3]), Err(PostingsError::Truncated(0)), "inside the first hour");
        assert_eq!(decode_rollups(&[]), Ok(vec![]));
    }

    proptest! {
        #[test]
        fn any_alert_entities_and_rollups_round_trip(
            about in proptest::collection::vec((".{0,8}", ".{0,30}", any::<i64>(), "[0-9A-Z]{0,26}"), 0..30),
            counts in proptest::collection::vec((any::<i64>(), ".{0,8}", ".{0,30}", ".{0,8}", any::<i64>()), 0..30),
        ) {
            let about: Vec<AlertAbout<'_>> =
                about.iter().map(|(k, v, at, id)| (k.as_str(), v.as_str(), Timestamp(*at), id.as_str())).collect();
            let bytes = encode_about(&about);
            prop_assert_eq!(decode_about(&bytes), Ok(about.clone()));
            let counts: Vec<RollupCount<'_>> =
                counts.iter().map(|(h, s, k, l, n)| (*h, s.as_str(), k.as_str(), l.as_str(), *n)).collect();
            let bytes = encode_rollups(&counts);
            prop_assert_eq!(decode_rollups(&bytes), Ok(counts.clone()));
        }

        #[test]
        fn any_bytes_decode_as_alert_entities_or_rollups_or_are_refused_without_panicking(
            bytes in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let _ = decode_about(&bytes);
            let _ = decode_rollups(&bytes);
        }

        #[test]
        fn any_staged_entries_round_trip(entries in proptest::collection::vec((".{0,12}", ".{0,40}", any::<i64>()), 0..50)) {
            let borrowed: Vec<Staged<'_>> = entries.iter().map(|(k, v, s)| (k.as_str(), v.as_str(), *s)).collect();
            let bytes = encode_staged(&borrowed);
            prop_assert_eq!(decode_staged(&bytes), Ok(borrowed.clone()));
        }

        #[test]
        fn any_bytes_decode_as_staged_or_are_refused_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = decode_staged(&bytes);
        }

        #[test]
        fn any_sorted_posting_round_trips(mut entries in proptest::collection::vec((any::<i64>(), any::<i64>()), 0..200)) {
            entries.sort_unstable_by(|a, b| b.cmp(a));
            entries.dedup();
            let entries: Vec<Posting> = entries.into_iter().map(|(at, seq)| (Timestamp(at), seq)).collect();
            prop_assert_eq!(decode(&encode(&entries)), Ok(entries));
        }

        #[test]
        fn any_bytes_decode_or_are_refused_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(entries) = decode(&bytes) {
                prop_assert!(entries.windows(2).all(|w| w[0] > w[1]));
            }
        }
    }
}
