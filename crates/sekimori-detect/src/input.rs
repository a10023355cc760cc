//! Reading log files into events: JSON (one document, an array, or documents one after
//! another, pretty-printed or not), NDJSON, AWS CloudTrail (`{"Records": [...]}`) and
//! Windows EVTX (the `evtx` crate), each optionally gzip-compressed. Every event is
//! normalised ([`crate::normalize`](mod@crate::normalize)).

use crate::DetectError;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

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
    #[error("{path}: not an EVTX file: {reason}")]
    NotEvtx { path: PathBuf, reason: String },
}

/// The events of one file, and the documents in it that were not JSON.
#[derive(Debug, Clone, Default)]
pub struct EventSource {
    pub path: PathBuf,
    pub events: Vec<Value>,
    pub malformed: Vec<Malformed>,
}

/// A document that is not JSON (or an EVTX record that cannot be read): where it starts,
/// why, and its line as a sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    /// 1-based line the document starts on; for EVTX, the 1-based ordinal of the record
    /// among those read, or 0 for a chunk cut off at the end of the file.
    pub line: usize,
    pub reason: String,
    /// The text of that line, cut to [`MAX_SAMPLE_BYTES`] on a character boundary.
    pub sample: String,
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.reason)
    }
}

/// Longest sample of a malformed line kept, bytes.
pub const MAX_SAMPLE_BYTES: usize = 1024;

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
    let mut events = Vec::new();
    let malformed = read_events_each(path, &mut |e| events.push(e))?;
    Ok(EventSource { path: path.to_owned(), events, malformed })
}

/// Reads one file and hands each normalised event to `sink` as it is read (in the file's
/// order), so a large file is never held as parsed events all at once. Returns the
/// documents that were not JSON (or the EVTX records that could not be read).
///
/// JSON text is read as a stream, a few MiB at a time, so its size is not limited (one
/// document is: [`MAX_DOCUMENT_BYTES`]); an EVTX file is read whole, up to
/// [`MAX_FILE_BYTES`] after decompression.
pub fn read_events_each(path: &Path, sink: &mut dyn FnMut(Value)) -> Result<Vec<Malformed>, InputError> {
    read_events_each_on(path, 1, sink)
}

/// [`read_events_each`], parsing an EVTX file's chunks on up to `threads` threads (0: one
/// per core). Chunks are independent; their events reach `sink` in the file's order
/// whatever the thread count. JSON text is read on the calling thread.
pub fn read_events_each_on(
    path: &Path,
    threads: usize,
    sink: &mut dyn FnMut(Value),
) -> Result<Vec<Malformed>, InputError> {
    read_events_mapped_on(path, threads, &|event| event, sink)
}

/// [`read_events_each_on`], with `map` applied to every event on the threads that read it
/// (judging it, say), so that reading and what is done with each event share the cores in
/// one pass. `sink` gets what `map` made, in the file's order, whatever the thread count:
/// JSON lines are parsed and mapped on up to `threads` threads (other JSON text is parsed
/// on one, its events mapped on up to `threads`), and an EVTX file's chunks are parsed on
/// up to `threads` (0: one per core) and their events mapped in batches on up to `threads`.
pub fn read_events_mapped_on<T: Send>(
    path: &Path,
    threads: usize,
    map: &(dyn Fn(Value) -> T + Sync),
    sink: &mut dyn FnMut(T),
) -> Result<Vec<Malformed>, InputError> {
    let io = |source| InputError::Io { path: path.to_owned(), source };
    let name = path.to_string_lossy().to_ascii_lowercase();
    let file = std::fs::File::open(path).map_err(io)?;
    let gzip = name.ends_with(".gz");
    // An EVTX file is read whole: into a buffer of its size where that is known (growing one
    // from empty copied each file about twice and touched twice the memory).
    let size = if gzip { 0 } else { file.metadata().map_or(0, |m| m.len()).min(MAX_FILE_BYTES) };
    let reader: Box<dyn Read> = if gzip { Box::new(flate2::read::MultiGzDecoder::new(file)) } else { Box::new(file) };
    if !(name.ends_with(".evtx") || name.ends_with(".evtx.gz")) {
        return read_documents_mapped_on(reader, READ_CHUNK, MAX_DOCUMENT_BYTES, threads, map, sink).map_err(io);
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    reader.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(InputError::TooLarge { path: path.to_owned() });
    }
    parse_evtx_mapped_on(bytes, threads, map, sink)
        .map_err(|reason| InputError::NotEvtx { path: path.to_owned(), reason: reason.to_string() })
}

/// Longest unfinished JSON document held while reading a file (a CloudTrail file is one
/// document): once this much of one is held without its end, it is reported as malformed
/// and reading goes on at the line after the one it starts on. (A document that ends within
/// the read that crosses the limit is still parsed.)
pub const MAX_DOCUMENT_BYTES: usize = 1 << 30;

/// Bytes read from a JSON text file at a time (more while one document is unfinished).
const READ_CHUNK: usize = 4 << 20;

/// Sizes of an EVTX file's header and of each of its chunks.
const EVTX_HEADER: usize = 4096;
const EVTX_CHUNK: usize = 65_536;

/// Reads the records of a Windows event log file (EVTX) into events in the `evtx` crate's
/// JSON layout, normalised to the flat fields Sigma names. A record that cannot be read is
/// reported as malformed and reading goes on; a file that is not EVTX at all is an error.
/// The `evtx` crate parses untrusted binary input: a panic inside it is caught and turned
/// into an error for this file, never a crash of the caller.
pub fn parse_evtx(bytes: Vec<u8>) -> Result<EventSource, DetectError> {
    let mut events = Vec::new();
    let malformed = parse_evtx_each(bytes, &mut |e| events.push(e))?;
    Ok(EventSource { path: PathBuf::new(), events, malformed })
}

/// [`parse_evtx`], handing each event to `sink` as it is read.
pub fn parse_evtx_each(bytes: Vec<u8>, sink: &mut dyn FnMut(Value)) -> Result<Vec<Malformed>, DetectError> {
    parse_evtx_each_on(bytes, 1, sink)
}

/// [`parse_evtx_each`] with the file's 64 KiB chunks parsed on up to `threads` threads (0:
/// one per core), in batches of that many chunks; the events keep the file's order.
pub fn parse_evtx_each_on(
    bytes: Vec<u8>,
    threads: usize,
    sink: &mut dyn FnMut(Value),
) -> Result<Vec<Malformed>, DetectError> {
    parse_evtx_mapped_on(bytes, threads, &|event| event, sink)
}

/// Events of an EVTX file mapped together: enough to share out between threads.
const MAP_BATCH: usize = 8_192;

/// [`parse_evtx_each_on`], with `map` applied to the events in batches on up to `threads`
/// threads (one for 0, which still parses on every core).
fn parse_evtx_mapped_on<T: Send>(
    bytes: Vec<u8>,
    threads: usize,
    map: &(dyn Fn(Value) -> T + Sync),
    sink: &mut dyn FnMut(T),
) -> Result<Vec<Malformed>, DetectError> {
    if !bytes.starts_with(b"ElfFile\0") {
        return Err(DetectError::Evtx("it does not start with the EVTX signature `ElfFile`".to_owned()));
    }
    // The parser reads whole 64 KiB chunks after the 4 KiB file header and passes over a
    // partial one without a word: say so, as a file cut off in transfer loses records.
    let tail = bytes.len().saturating_sub(EVTX_HEADER) % EVTX_CHUNK;
    let partial = (tail != 0).then(|| Malformed {
        line: 0,
        reason: format!("the file ends inside a chunk ({tail} of {EVTX_CHUNK} bytes); the records in it were not read"),
        sample: String::new(),
    });
    // A panic inside the parser is caught and the caller learns that the file failed; the
    // events read before it are mapped and handed on, as whole events. Only the parser is
    // guarded: a panic in `map` or `sink` is the caller's and goes on up.
    let failed = || DetectError::Evtx("the EVTX parser failed on this file".to_owned());
    let guarded =
        |f: &mut dyn FnMut() -> bool| std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|_| failed());
    let settings = evtx::ParserSettings::new().num_threads(threads).separate_json_attributes(false);
    let mut parser = std::panic::catch_unwind(move || {
        evtx::EvtxParser::from_buffer(bytes).map_err(|e| DetectError::Evtx(chain(&e)))
    })
    .map_err(|_| failed())??
    .with_configuration(settings);
    let mut records = parser.records_json_value();
    let mut malformed = Vec::new();
    let mut read = 0;
    loop {
        let mut batch = Vec::new();
        let more = guarded(&mut || {
            while batch.len() < MAP_BATCH {
                let Some(record) = records.next() else { return false };
                read += 1;
                match record {
                    Ok(r) => batch.push(normalize(r.data)),
                    Err(e) => malformed.push(Malformed { line: read, reason: chain(&e), sample: String::new() }),
                }
            }
            true
        });
        map_all(batch, threads.max(1), map).into_iter().for_each(&mut *sink);
        if !more? {
            break;
        }
    }
    malformed.extend(partial);
    Ok(malformed)
}

/// Parses text holding JSON documents one after another (which covers a single document,
/// NDJSON and pretty-printed streams). A document that is not JSON is reported and reading
/// goes on at the next line. Linear in the text, however many documents are bad.
pub fn parse_events(text: &str) -> EventSource {
    let mut events = Vec::new();
    let malformed = parse_events_each(text, &mut |e| events.push(e));
    EventSource { path: PathBuf::new(), events, malformed }
}

/// [`parse_events`], handing each event to `sink` as it is read.
pub fn parse_events_each(text: &str, sink: &mut dyn FnMut(Value)) -> Vec<Malformed> {
    // Reading from memory cannot fail, and one chunk holds the whole text.
    read_documents_each(text.as_bytes(), text.len().max(1), usize::MAX, sink).unwrap_or_default()
}

/// JSON documents one after another from `reader`, read `chunk` bytes at a time and
/// decoded as UTF-8 (invalid sequences become U+FFFD, as `String::from_utf8_lossy` does).
/// Only whole lines are parsed until the input ends, so a document cut by a chunk boundary
/// is parsed once the rest of it has been read; while one is unfinished, each read is at
/// least as large as what is held, so a long document costs linear time. A document still
/// unfinished when `max_document` bytes are held is reported as malformed and skipped to
/// the end of the line it starts on. The result is the same for any `chunk` (property-tested).
pub fn read_documents_each(
    reader: impl Read,
    chunk: usize,
    max_document: usize,
    sink: &mut dyn FnMut(Value),
) -> std::io::Result<Vec<Malformed>> {
    read_documents_each_on(reader, chunk, max_document, 1, sink)
}

/// [`read_documents_each`], parsing lines that are each one document (NDJSON) on up to
/// `threads` threads: a window of whole lines is split between threads when every line in
/// it is one JSON document on its own, and read by the one-thread parser otherwise (a
/// document over several lines, a bad line), so the events, their order and what is
/// reported are the same for any `threads`.
pub fn read_documents_each_on(
    reader: impl Read,
    chunk: usize,
    max_document: usize,
    threads: usize,
    sink: &mut dyn FnMut(Value),
) -> std::io::Result<Vec<Malformed>> {
    read_documents_mapped_on(reader, chunk, max_document, threads, &|event| event, sink)
}

/// [`read_documents_each_on`], with `map` applied to every event on the threads that parse
/// it (or, for text the one-thread parser reads, on up to `threads` threads after it).
fn read_documents_mapped_on<T: Send>(
    mut reader: impl Read,
    chunk: usize,
    max_document: usize,
    threads: usize,
    map: &(dyn Fn(Value) -> T + Sync),
    sink: &mut dyn FnMut(T),
) -> std::io::Result<Vec<Malformed>> {
    let mut malformed = Vec::new();
    // Decoded text not yet consumed, and the line it starts on.
    let mut text = String::new();
    let mut line = 1;
    // Bytes of a UTF-8 sequence cut off by the last read.
    let mut tail: Vec<u8> = Vec::new();
    // Set while skipping the rest of an over-long document's first line.
    let mut skipping = false;
    let mut ended = false;
    let mut want = chunk;
    loop {
        let mut raw = std::mem::take(&mut tail);
        let read = (&mut reader).take(want as u64).read_to_end(&mut raw)?;
        ended = ended || read == 0;
        decode(&raw, ended, &mut text, &mut tail);
        if skipping {
            skipping = skip_line(&mut text, &mut line);
        }
        // Parse whole lines only, until the input has ended.
        let limit = if ended { text.len() } else { text.rfind('\n').map_or(0, |i| i + 1) };
        let (consumed, unfinished) = match parse_lines_on(&text[..limit], threads, map) {
            Some(events) => {
                line += text[..limit].matches('\n').count();
                events.into_iter().for_each(&mut *sink);
                (limit, false)
            }
            None => {
                let mut events = Vec::new();
                let read = parse_window(&text[..limit], ended, &mut line, &mut malformed, &mut |e| events.push(e));
                map_all(events, threads, map).into_iter().for_each(&mut *sink);
                read
            }
        };
        text.drain(..consumed);
        if ended {
            return Ok(malformed);
        }
        let unfinished = unfinished || limit == 0;
        if unfinished && text.len() >= max_document {
            malformed.push(Malformed {
                line,
                reason: format!("a document longer than {max_document} bytes"),
                sample: cut(text.lines().next().unwrap_or_default(), MAX_SAMPLE_BYTES).to_owned(),
            });
            skipping = skip_line(&mut text, &mut line);
        }
        want = if unfinished && !skipping { chunk.max(text.len()) } else { chunk };
    }
}

/// Drops `text` up to and including its first line end and counts the line: `false` once
/// the line is over, `true` if it goes on past what is held (all of which is dropped).
fn skip_line(text: &mut String, line: &mut usize) -> bool {
    match text.find('\n') {
        Some(i) => {
            text.drain(..=i);
            *line += 1;
            false
        }
        None => {
            text.clear();
            true
        }
    }
}

/// Appends `raw` to `text` as UTF-8, invalid sequences as U+FFFD; a sequence cut off at the
/// end is kept in `tail` for the next read, unless the input has `ended`.
fn decode(raw: &[u8], ended: bool, text: &mut String, tail: &mut Vec<u8>) {
    let mut rest = raw;
    loop {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                text.push_str(valid);
                return;
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                text.push_str(std::str::from_utf8(valid).unwrap_or_default());
                match e.error_len() {
                    Some(n) => {
                        text.push(char::REPLACEMENT_CHARACTER);
                        rest = &after[n..];
                    }
                    None if ended => {
                        text.push(char::REPLACEMENT_CHARACTER);
                        return;
                    }
                    None => {
                        tail.extend_from_slice(after);
                        return;
                    }
                }
            }
        }
    }
}

/// Parses the documents in `window` (whole lines, or the end of the input when `ended`).
/// Returns the bytes consumed, and whether a document is left unfinished at the end of the
/// window (it is parsed again when more has been read). `line` follows what is consumed.
fn parse_window(
    window: &str,
    ended: bool,
    line: &mut usize,
    malformed: &mut Vec<Malformed>,
    sink: &mut dyn FnMut(Value),
) -> (usize, bool) {
    let mut offset = 0;
    while offset < window.len() {
        let rest = &window[offset..];
        let mut stream = serde_json::Deserializer::from_str(rest).into_iter::<Value>();
        let error = loop {
            match stream.next() {
                None => break None,
                Some(Ok(doc)) => push_document(sink, doc),
                Some(Err(e)) => break Some(e),
            }
        };
        let Some(error) = error else {
            *line += rest.matches('\n').count();
            return (window.len(), false);
        };
        // The bad document starts after the last good one and the JSON whitespace that
        // follows (only these four: `trim_start` would also skip e.g. a vertical tab).
        let good_end = stream.byte_offset();
        let after = &rest[good_end..];
        let start = good_end + (after.len() - after.trim_start_matches([' ', '\t', '\n', '\r']).len());
        *line += rest[..start].matches('\n').count();
        if error.is_eof() && !ended {
            return (offset + start, true);
        }
        let line_end = rest[start..].find('\n').map(|i| start + i);
        // serde_json's own position is relative to where this pass began; the line is ours.
        let reason = error.to_string();
        let reason = reason.rsplit_once(" at line ").map_or(reason.as_str(), |(r, _)| r).to_owned();
        let bad_line = &rest[start..line_end.unwrap_or(rest.len())];
        let sample = cut(bad_line.strip_suffix('\r').unwrap_or(bad_line), MAX_SAMPLE_BYTES).to_owned();
        malformed.push(Malformed { line: *line, reason, sample });
        match line_end {
            Some(end) => {
                offset += end + 1;
                *line += 1;
            }
            None => return (window.len(), false),
        }
    }
    (window.len(), false)
}

/// Fewest lines worth reading line by line (and sharing between threads).
const MIN_PARALLEL_LINES: usize = 256;

/// The events of `window` (whole lines) when every line that is not blank is one JSON
/// document on its own, parsed on up to `threads` threads; `None` otherwise (or for few
/// lines), for the stream parser to read. A line that is a whole document alone is read as
/// that document by the stream parser too: a value cannot continue past the end of a
/// complete one, so the two agree. A line in the `evtx` dumper's layout is read straight
/// into the flat layout ([`crate::flat`]), which gives what parsing and normalising give.
fn parse_lines_on<T: Send>(window: &str, threads: usize, map: &(dyn Fn(Value) -> T + Sync)) -> Option<Vec<T>> {
    if window.len() < MIN_PARALLEL_LINES * 64 {
        return None;
    }
    let lines: Vec<&str> = window.split('\n').collect();
    if lines.len() < MIN_PARALLEL_LINES {
        return None;
    }
    // A unit's lines are all parsed before any is mapped, so a bad line costs no mapping
    // in its unit (other units may have been mapped in vain: the window is read again by
    // the stream parser).
    let parse = |part: &[&str]| -> Option<Vec<T>> {
        let mut events = Vec::with_capacity(part.len());
        for line in part {
            if line.trim_matches([' ', '\t', '\r']).is_empty() {
                continue;
            }
            if let Some(event) = crate::flat::windows_line(line) {
                events.push(event);
                continue;
            }
            let doc: Value = serde_json::from_str(line).ok()?;
            push_document(&mut |e| events.push(e), doc);
        }
        Some(events.into_iter().map(map).collect())
    };
    if threads < 2 {
        return parse(&lines);
    }
    // Threads take units of lines in turn, so that one thread's costlier events do not
    // leave the other idle at the end of the window; the units are put back in order.
    let units: Vec<&[&str]> = lines.chunks(UNIT_LINES).collect();
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let work = || {
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(unit) = units.get(i) else { return done };
            if failed.load(Ordering::Relaxed) {
                return done;
            }
            match parse(unit) {
                Some(events) => done.push((i, events)),
                None => failed.store(true, Ordering::Relaxed),
            }
        }
    };
    let mut done: Vec<(usize, Vec<T>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.min(units.len())).map(|_| scope.spawn(work)).collect();
        workers.into_iter().flat_map(|w| w.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    });
    if failed.into_inner() {
        return None;
    }
    done.sort_unstable_by_key(|(i, _)| *i);
    Some(done.into_iter().flat_map(|(_, events)| events).collect())
}

/// Lines a thread takes at a time when sharing a window.
const UNIT_LINES: usize = 64;

/// `map` applied to each of `events` on up to `threads` threads, the results in order.
fn map_all<T: Send>(events: Vec<Value>, threads: usize, map: &(dyn Fn(Value) -> T + Sync)) -> Vec<T> {
    /// Fewest events worth a thread of their own.
    const MIN_PER_THREAD: usize = 64;
    let threads = threads.min(events.len() / MIN_PER_THREAD).max(1);
    if threads == 1 {
        return events.into_iter().map(map).collect();
    }
    let per_thread = events.len().div_ceil(threads);
    let mut parts = Vec::with_capacity(threads);
    let mut rest = events;
    while rest.len() > per_thread {
        let tail = rest.split_off(per_thread);
        parts.push(std::mem::replace(&mut rest, tail));
    }
    parts.push(rest);
    std::thread::scope(|scope| {
        let parts: Vec<_> =
            parts.into_iter().map(|part| scope.spawn(move || part.into_iter().map(map).collect::<Vec<T>>())).collect();
        parts.into_iter().flat_map(|p| p.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    })
}

/// An error and its causes on one line, `outer: inner: …`: the `evtx` crate's outer messages
/// are generic, and its inner ones carry hex dumps after their first line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cause = Some(e);
    while let Some(c) = cause {
        let text = c.to_string();
        let first = text.lines().next().unwrap_or_default().trim().trim_end_matches('.').to_owned();
        if !first.is_empty() && !parts.contains(&first) {
            parts.push(first);
        }
        cause = c.source();
    }
    parts.join(": ")
}

/// `text` cut to at most `max` bytes on a character boundary.
pub fn cut(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// An array is a list of events; `{"Records": [...]}` (CloudTrail) is a list of records.
fn push_document(sink: &mut dyn FnMut(Value), doc: Value) {
    match doc {
        Value::Array(items) => items.into_iter().map(normalize).for_each(sink),
        Value::Object(mut o) if o.len() == 1 && o.get("Records").is_some_and(Value::is_array) => {
            if let Some(Value::Array(records)) = o.remove("Records") {
                records.into_iter().map(normalize).for_each(sink);
            }
        }
        other => sink(normalize(other)),
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
        assert_eq!((s.malformed[0].line, s.malformed[0].sample.as_str()), (2, "not json"));
        assert_eq!((s.malformed[1].line, s.malformed[1].sample.as_str()), (4, "{\"a\":"));
        assert!(s.malformed[0].to_string().starts_with("line 2: "), "{}", s.malformed[0]);
        assert!(!s.malformed[0].reason.contains(" at line "), "no pass-relative position: {}", s.malformed[0]);
    }

    #[test]
    fn only_json_whitespace_is_skipped_before_a_bad_document() {
        // Found by the `log_input` fuzz target: a vertical tab is whitespace to Rust, not to JSON.
        let s = parse_events("\u{FFFD}\n\u{0B}\n");
        assert_eq!(
            s.malformed.iter().map(|m| (m.line, m.sample.as_str())).collect::<Vec<_>>(),
            [(1, "\u{FFFD}"), (2, "\u{0B}")]
        );
        // Also found by it: the sample of a CRLF line leaves out the carriage return.
        let s = parse_events("[\r\n{\"a\":1}\r\n");
        assert_eq!(s.malformed.iter().map(|m| (m.line, m.sample.as_str())).collect::<Vec<_>>(), [(1, "[")]);
        assert_eq!(s.events, vec![json!({"a": 1})]);
    }

    #[test]
    fn many_bad_lines_are_read_without_recursion_and_samples_are_cut() {
        let text = "x\n".repeat(200_000) + "{\"ok\":1}\n" + &"ü".repeat(2000);
        let s = parse_events(&text);
        assert_eq!(s.events, vec![json!({"ok": 1})]);
        assert_eq!(s.malformed.len(), 200_001);
        assert_eq!(s.malformed[199_999].line, 200_000);
        let last = s.malformed.last().expect("the trailing line");
        assert_eq!(last.line, 200_002);
        assert_eq!(last.sample.len(), MAX_SAMPLE_BYTES, "1,024 bytes is 512 two-byte characters");
    }

    #[test]
    fn gzip_files_are_read_and_a_file_named_evtx_must_be_one() {
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
        let err = read_events(&evtx).expect_err("a truncated header");
        assert!(matches!(err, InputError::NotEvtx { .. }), "{err}");
        assert!(err.to_string().contains("Security.evtx: not an EVTX file: "), "{err}");
        assert_eq!(log_files(&[dir.path()]), vec![evtx.clone(), gz.clone()]);
    }

    /// Events and malformed reports of `bytes` read `chunk` bytes at a time.
    fn chunked(bytes: &[u8], chunk: usize, max_document: usize) -> (Vec<Value>, Vec<Malformed>) {
        let mut events = Vec::new();
        let malformed = read_documents_each(bytes, chunk, max_document, &mut |e| events.push(e)).expect("in memory");
        (events, malformed)
    }

    #[test]
    fn a_document_cut_by_a_read_is_parsed_whole() {
        let text = "{\"a\":\n  \"x\"}\n{\"b\": 1234567}\nbad\n[{\"c\": \"\u{e9}\u{e9}\"}]";
        let whole = parse_events(text);
        assert_eq!(whole.events.len(), 3);
        for chunk in 1..text.len() {
            let (events, malformed) = chunked(text.as_bytes(), chunk, usize::MAX);
            assert_eq!((&events, &malformed), (&whole.events, &whole.malformed), "chunk {chunk}");
        }
    }

    #[test]
    fn an_over_long_document_is_reported_and_the_next_lines_are_read() {
        let long = format!("{{\"a\": \"{}\"}}", "x".repeat(100));
        let text = format!("{{\"n\":1}}\n{long}\n{{\"n\":2}}\n");
        // Reads smaller than the limit: the document is found unfinished at 64 bytes held.
        for chunk in [1, 7, 16] {
            let (events, malformed) = chunked(text.as_bytes(), chunk, 64);
            assert_eq!(events, vec![json!({"n": 1}), json!({"n": 2})], "chunk {chunk}");
            assert_eq!(malformed.len(), 1, "chunk {chunk}: {malformed:?}");
            assert_eq!(malformed[0].line, 2);
            assert!(malformed[0].reason.contains("longer than 64 bytes"), "{}", malformed[0]);
        }
    }

    proptest::proptest! {
        #[test]
        fn parsing_never_panics(text in ".{0,400}") {
            let _ = parse_events(&text);
        }

        /// Reading in chunks of any size gives what parsing the lossily decoded whole gives:
        /// documents and lines cut anywhere, UTF-8 sequences cut or invalid.
        #[test]
        fn reading_in_chunks_is_reading_whole(
            parts in proptest::collection::vec(proptest::prop_oneof![
                proptest::strategy::Just(b"{\"a\": [1, 2.5, \"\xc3\xa9\"]}".to_vec()),
                proptest::strategy::Just(b"{\n  \"b\": {\"c\": true}\n}".to_vec()),
                proptest::strategy::Just(b"\n".to_vec()),
                proptest::strategy::Just(b"\r\n".to_vec()),
                proptest::strategy::Just(b" 42 ".to_vec()),
                proptest::collection::vec(proptest::num::u8::ANY, 0..6),
            ], 0..24),
            chunk in 1usize..40,
        ) {
            let bytes = parts.concat();
            let whole = parse_events(&String::from_utf8_lossy(&bytes));
            let (events, malformed) = chunked(&bytes, chunk, usize::MAX);
            proptest::prop_assert_eq!(events, whole.events);
            proptest::prop_assert_eq!(malformed, whole.malformed);
        }

        /// Lines read one by one, on one thread or shared between several, give what the
        /// stream parser gives over the whole text: the same events in the same order and
        /// the same reports, whatever mix of one-line documents (flat, nested Windows
        /// events, record lists), documents over several lines and bad lines it holds.
        #[test]
        fn reading_on_several_threads_is_reading_on_one(
            lines in proptest::collection::vec(proptest::prop_oneof![
                8 => proptest::strategy::Strategy::prop_map(0u32..1000, |n| format!("{{\"EventID\": {n}, \"CommandLine\": \"cmd /c echo {n} padding padding padding\"}}")),
                1 => proptest::strategy::Just("{\"Records\": [{\"eventName\": \"a\"}, {\"eventName\": \"b\"}]}".to_owned()),
                2 => proptest::strategy::Strategy::prop_map(0u32..1000, |n| format!("{{\"Event\":{{\"System\":{{\"Provider\":{{\"#attributes\":{{\"Name\":\"Microsoft-Windows-Sysmon\"}}}},\"EventID\":1,\"Channel\":\"Microsoft-Windows-Sysmon/Operational\"}},\"EventData\":{{\"Image\":\"C:\\\\x{n}.exe\",\"CommandLine\":\"x {n}\"}}}}}}")),
                1 => proptest::strategy::Just("".to_owned()),
            ], 300..1200),
            // Lines the parallel path must leave to the one-thread parser, put anywhere.
            odd in proptest::collection::vec((0usize..1200, proptest::prop_oneof![
                proptest::strategy::Just("{\n  \"b\": 1\n}"),
                proptest::strategy::Just("{\"cut\": "),
                proptest::strategy::Just("[1, 2] 3"),
            ]), 0..3),
            threads in 1usize..4,
            chunk in proptest::prop_oneof![proptest::strategy::Just(20_000usize), proptest::strategy::Just(READ_CHUNK)],
        ) {
            let mut lines = lines;
            for (at, line) in odd {
                lines.insert(at.min(lines.len()), line.to_owned());
            }
            let text = lines.join("\n");
            let mut one = Vec::new();
            let mut one_bad = Vec::new();
            parse_window(&text, true, &mut 1, &mut one_bad, &mut |e| one.push(e));
            let mut many = Vec::new();
            let many_bad = read_documents_each_on(text.as_bytes(), chunk, usize::MAX, threads, &mut |e| many.push(e))
                .expect("memory");
            proptest::prop_assert_eq!(many, one);
            proptest::prop_assert_eq!(many_bad, one_bad);
        }
    }

    #[test]
    fn a_window_of_one_line_documents_is_parsed_on_several_threads() {
        let text: String = (0..1000).map(|n| format!("{{\"n\": {n}, \"pad\": \"{}\"}}\n", "x".repeat(40))).collect();
        let events = parse_lines_on(&text, 2, &|e| e).expect("every line is a document");
        assert_eq!(events.len(), 1000);
        assert_eq!(events[999]["n"], 999);
        let pretty = text.replacen("{\"n\": 5,", "{\n\"n\": 5,", 1);
        assert!(
            parse_lines_on(&pretty, 2, &|e| e).is_none(),
            "a document over two lines goes to the one-thread parser"
        );
        assert_eq!(parse_lines_on(&text, 1, &|e| e), Some(events));
    }
}
