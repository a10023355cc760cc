//! Bytes off a syslog socket: the framer splits any stream (fed in two chunks at a point
//! the input chooses) without panicking and never returns a message over its limit; each
//! frame parses or is refused with a bounded sample; every parsed event is an object with
//! a string message and a timestamp, and the fields a message of `key=value` pairs adds
//! are text and never start with `sekimori`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sekimori_detect::syslog::{parse_syslog, Frame, Framer, Received, SAMPLE_BYTES};

const MAX: usize = 512;

fuzz_target!(|data: &[u8]| {
    let Some((&cut, stream)) = data.split_first() else { return };
    let cut = usize::from(cut).min(stream.len());
    let mut framer = Framer::new(MAX);
    let mut frames = Vec::new();
    for chunk in [&stream[..cut], &stream[cut..]] {
        framer.push(chunk);
        frames.extend(std::iter::from_fn(|| framer.next_frame()));
    }
    frames.extend(framer.finish());
    for frame in frames {
        match frame {
            Frame::Message(m) => {
                assert!(m.len() <= MAX + 1, "a message of {} bytes passed a {MAX}-byte limit", m.len());
                match parse_syslog(&m, Received { at_ms: 1_795_425_600_000, peer: None }) {
                    Ok(ev) => {
                        assert!(ev["message"].is_string() && ev["@timestamp"].is_string(), "{ev}");
                        // Fields from `key=value` pairs are text, and never Sekimori's own.
                        let own = ["@timestamp", "event", "host", "process", "log", "message"];
                        for (k, v) in ev.as_object().expect("an object") {
                            assert!(!k.starts_with("sekimori"), "{ev}");
                            assert!(own.contains(&k.as_str()) || v.is_string(), "{ev}");
                        }
                    }
                    Err(e) => assert!(e.sample.len() <= SAMPLE_BYTES * 3),
                }
            }
            Frame::Refused(e) => assert!(e.sample.len() <= SAMPLE_BYTES * 3),
        }
    }
});
