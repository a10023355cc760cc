//! The entries of one `event_postings` row: the events (time received, number) that have
//! one value of one field, newest first, packed as variable-length integers (LEB128): the
//! first entry's time and number as they are, then each entry's time as the step back from
//! the one before (never negative) and its number as the zig-zag encoded difference (numbers
//! mostly, but not always, fall with time). Two to four bytes an entry, where a row of the
//! ordered index took five columns and a key.
//!
//! Also the staged entries of one ingest batch (one `event_index_recent` row): each entry's
//! key (an entity's kind or `field:<name>`) and value as length-prefixed UTF-8 and its
//! event's number, so a batch appends one row however many index entries it has.

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

/// Packs a batch's index entries (in any order) for `event_index_recent`.
pub fn encode_staged(entries: &[Staged<'_>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.iter().map(|(k, v, _)| k.len() + v.len() + 6).sum());
    for (key, value, seq) in entries {
        for text in [key, value] {
            put(&mut out, text.len() as u64);
            out.extend_from_slice(text.as_bytes());
        }
        put(&mut out, zigzag(*seq));
    }
    out
}

/// Unpacks what [`encode_staged`] packed, borrowing the keys and values.
pub fn decode_staged(bytes: &[u8]) -> Result<Vec<Staged<'_>>, PostingsError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let mut text = || {
            let start = pos;
            let len = usize::try_from(take(bytes, &mut pos)?).map_err(|_| PostingsError::Truncated(start))?;
            let end = pos.checked_add(len).filter(|&end| end <= bytes.len()).ok_or(PostingsError::Truncated(start))?;
            let s = std::str::from_utf8(&bytes[pos..end]).map_err(|_| PostingsError::NotUtf8(pos))?;
            pos = end;
            Ok::<&str, PostingsError>(s)
        };
        let key = text()?;
        let value = text()?;
        let seq = unzigzag(take(bytes, &mut pos)?);
        out.push((key, value, seq));
    }
    Ok(out)
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

    proptest! {
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
