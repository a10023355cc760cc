//! Reading log files into events: JSON (one document, an array, or documents one after
//! another, pretty-printed or not), NDJSON, AWS CloudTrail (`{"Records": [...]}`), each
//! optionally gzip-compressed. Every event is normalised ([`crate::normalize`]).

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::normalize::normalize;

/// Largest file (after decompression) read into memory.
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// Why a file could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: larger than {MAX_FILE_BYTES} bytes (after decompression)")]
    TooLarge { path: PathBuf },
    #[error("{path}: {what} files are not read yet")]
    Unsupported { path: PathBuf, what: &'static str },
}

/// The events of one file, and the documents in it that were not JSON.
#[derive(Debug, Clone, Default)]
pub struct EventSource {
    pub path: PathBuf,
    pub events: Vec<Value>,
    /// One line per malformed document: where, and why.
    pub malformed: Vec<String>,
}

/// The log files under `paths` (files as given; folders recursively, keeping `.json`,
/// `.jsonl`, `.ndjson`, `.log`, `.evtx` and their `.gz`), sorted.
pub fn log_files<P: AsRef<Path>>(paths: &[P]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        let p = p.as_ref();
        if p.is_dir() {
            walk(p, &mut out);
        } else {
            out.push(p.to_owned());
        }
    }
    out.sort();
    out
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_ascii_lowercase();
            let name = name.strip_suffix(".gz").unwrap_or(&name);
            if [".json", ".jsonl", ".ndjson", ".log", ".evtx"].iter().any(|ext| name.ends_with(ext)) {
                out.push(path);
            }
        }
    }
}

/// Reads and normalises the events of one file.
pub fn read_events(path: &Path) -> Result<EventSource, InputError> {
    let io = |source| InputError::Io { path: path.to_owned(), source };
    let name = path.to_string_lossy().to_ascii_lowercase();
    if name.ends_with(".evtx") || name.ends_with(".evtx.gz") {
        return Err(InputError::Unsupported { path: path.to_owned(), what: "EVTX" });
    }
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    let reader: Box<dyn Read> =
        if name.ends_with(".gz") { Box::new(flate2::read::MultiGzDecoder::new(file)) } else { Box::new(file) };
    reader.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(InputError::TooLarge { path: path.to_owned() });
    }
    let mut source = parse_events(&String::from_utf8_lossy(&bytes));
    source.path = path.to_owned();
    Ok(source)
}

/// Parses text holding JSON documents one after another (which covers a single document,
/// NDJSON and pretty-printed streams). A document that is not JSON is reported and, when
/// the text is line-oriented, reading goes on at the next line.
pub fn parse_events(text: &str) -> EventSource {
    let mut source = EventSource::default();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    loop {
        match stream.next() {
            None => break,
            Some(Ok(doc)) => push_document(&mut source.events, doc),
            Some(Err(e)) => {
                // Report the line the bad document starts on; resume at the next line.
                let end_of_good = stream.byte_offset();
                let start = end_of_good + (text[end_of_good..].len() - text[end_of_good..].trim_start().len());
                let line = text[..start].matches('\n').count() + 1;
                source.malformed.push(format!("line {line}: {e}"));
                let rest_at = text[start..].find('\n').map(|i| start + i + 1);
                match rest_at {
                    Some(at) if at < text.len() => {
                        let rest = parse_events(&text[at..]);
                        source.events.extend(rest.events);
                        let skipped = text[..at].matches('\n').count();
                        source.malformed.extend(rest.malformed.into_iter().map(|m| shift_line(&m, skipped)));
                    }
                    _ => {}
                }
                break;
            }
        }
    }
    source
}

fn shift_line(message: &str, by: usize) -> String {
    match message.strip_prefix("line ").and_then(|m| m.split_once(':')) {
        Some((n, rest)) => match n.parse::<usize>() {
            Ok(n) => format!("line {}:{rest}", n + by),
            Err(_) => message.to_owned(),
        },
        None => message.to_owned(),
    }
}

/// An array is a list of events; `{"Records": [...]}` (CloudTrail) is a list of records.
fn push_document(events: &mut Vec<Value>, doc: Value) {
    match doc {
        Value::Array(items) => events.extend(items.into_iter().map(normalize)),
        Value::Object(mut o) if o.len() == 1 && o.get("Records").is_some_and(Value::is_array) => {
            if let Some(Value::Array(records)) = o.remove("Records") {
                events.extend(records.into_iter().map(normalize));
            }
        }
        other => events.push(normalize(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn documents_arrays_streams_and_records() {
        assert_eq!(parse_events(r#"{"a":1}"#).events, vec![json!({"a":1})]);
        assert_eq!(parse_events("{\"a\":1}\n{\"a\":2}\n").events.len(), 2);
        assert_eq!(parse_events("{\n  \"a\": 1\n}\n{\n  \"a\": 2\n}").events.len(), 2);
        assert_eq!(parse_events(r#"[{"a":1},{"a":2},{"a":3}]"#).events.len(), 3);
        let trail = parse_events(r#"{"Records":[{"eventName":"DeleteTrail"},{"eventName":"StopLogging"}]}"#);
        assert_eq!(trail.events[1]["eventName"], "StopLogging");
        assert!(parse_events("").events.is_empty());
    }

    #[test]
    fn a_bad_line_is_reported_and_the_rest_is_read() {
        let s = parse_events("{\"a\":1}\nnot json\n{\"a\":3}\n{\"a\":\n");
        assert_eq!(s.events, vec![json!({"a":1}), json!({"a":3})]);
        assert_eq!(s.malformed.len(), 2, "{:?}", s.malformed);
        assert!(s.malformed[0].starts_with("line 2:"), "{:?}", s.malformed);
        assert!(s.malformed[1].starts_with("line 4:"), "{:?}", s.malformed);
    }

    #[test]
    fn gzip_files_are_read_and_evtx_is_refused_by_name() {
        use std::io::Write;
        let dir = tempfile::tempdir().expect("tempdir");
        let gz = dir.path().join("trail.json.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(br#"{"Records":[{"eventName":"DeleteBucket"}]}"#).expect("gzip");
        std::fs::write(&gz, enc.finish().expect("gzip")).expect("write");
        let s = read_events(&gz).expect("read");
        assert_eq!(s.events, vec![json!({"eventName":"DeleteBucket"})]);
        let evtx = dir.path().join("Security.evtx");
        std::fs::write(&evtx, b"ElfFile\0").expect("write");
        assert!(matches!(read_events(&evtx), Err(InputError::Unsupported { .. })));
        assert_eq!(log_files(&[dir.path()]), vec![evtx.clone(), gz.clone()]);
    }

    proptest::proptest! {
        #[test]
        fn parsing_never_panics(text in ".{0,400}") {
            let _ = parse_events(&text);
        }
    }
}
