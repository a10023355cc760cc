//! Syslog messages (RFC 5424 and the BSD format described by RFC 3164) into the one event
//! shape (ECS `log.syslog.*`, `host.hostname`, `process.*`, `message`, and the pairs of a
//! message that is `key=value` pairs, [`crate::keyvalue`]), and the two TCP
//! framings of RFC 6587 (octet counting and newline). Pure: no sockets; the listeners are
//! in `sekimori-watch`, which feed bytes in and events out.

use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// Most bytes of a message kept as the sample of a malformed one.
pub const SAMPLE_BYTES: usize = 1024;

/// Facility names, by code (RFC 5424 table 1).
const FACILITIES: [&str; 24] = [
    "kern",
    "user",
    "mail",
    "daemon",
    "auth",
    "syslog",
    "lpr",
    "news",
    "uucp",
    "cron",
    "authpriv",
    "ftp",
    "ntp",
    "security",
    "console",
    "solaris-cron",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];

/// Severity names, by code (RFC 5424 table 2).
const SEVERITIES: [&str; 8] =
    ["emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug"];

/// Where and when a message was received.
#[derive(Debug, Clone, Copy)]
pub struct Received {
    /// Receive time, ms since the epoch: the timestamp of a message without one, and the
    /// year of a BSD timestamp (which has none).
    pub at_ms: i64,
    /// The sender, when known.
    pub peer: Option<std::net::SocketAddr>,
}

/// A message that is not syslog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogError {
    /// What is wrong, e.g. `PRI out of range: <200>`.
    pub reason: String,
    /// The first [`SAMPLE_BYTES`] of the message, lossily decoded.
    pub sample: String,
}

impl std::fmt::Display for SyslogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

/// The first [`SAMPLE_BYTES`] of `raw`, lossily decoded.
pub fn sample(raw: &[u8]) -> String {
    String::from_utf8_lossy(&raw[..raw.len().min(SAMPLE_BYTES)]).into_owned()
}

/// Parses one message (without its framing): RFC 5424 when a version follows the PRI,
/// otherwise the BSD format. Trailing newlines and NULs are ignored.
pub fn parse_syslog(raw: &[u8], received: Received) -> Result<Value, SyslogError> {
    let fail = |reason: String| SyslogError { reason, sample: sample(raw) };
    let mut end = raw.len();
    while end > 0 && matches!(raw[end - 1], b'\n' | b'\r' | 0) {
        end -= 1;
    }
    let msg = &raw[..end];
    if msg.is_empty() {
        return Err(fail("empty message".into()));
    }
    let (pri, rest) = pri(msg).map_err(fail)?;
    let mut doc = Doc::new(pri, received);
    match version(rest) {
        Some((v, after)) => rfc5424(&mut doc, v, after).map_err(fail)?,
        None => bsd(&mut doc, rest, received.at_ms),
    }
    Ok(doc.finish())
}

/// `<PRI>`: 1 to 3 digits, 0 to 191, no leading zero but `<0>`.
fn pri(msg: &[u8]) -> Result<(u8, &[u8]), String> {
    if msg.first() != Some(&b'<') {
        return Err("does not start with <PRI>".into());
    }
    let close = msg.iter().take(5).position(|&b| b == b'>').ok_or("unterminated <PRI>")?;
    let digits = &msg[1..close];
    let valid = !digits.is_empty() && digits.iter().all(u8::is_ascii_digit) && !(digits.len() > 1 && digits[0] == b'0');
    let value: u16 = std::str::from_utf8(digits).ok().filter(|_| valid).and_then(|s| s.parse().ok()).unwrap_or(999);
    if value > 191 {
        return Err(format!("PRI out of range: <{}>", String::from_utf8_lossy(digits)));
    }
    Ok((value as u8, &msg[close + 1..]))
}

/// The RFC 5424 VERSION (1 to 3 digits, not starting with 0) and a space.
fn version(rest: &[u8]) -> Option<(u16, &[u8])> {
    let n = rest.iter().take(4).take_while(|b| b.is_ascii_digit()).count();
    if n == 0 || n > 3 || rest[0] == b'0' || rest.get(n) != Some(&b' ') {
        return None;
    }
    let v = std::str::from_utf8(&rest[..n]).ok()?.parse().ok()?;
    Some((v, &rest[n + 1..]))
}

/// The fields of one event as they are found.
struct Doc {
    at_ms: i64,
    syslog: Map<String, Value>,
    hostname: Option<String>,
    appname: Option<String>,
    procid: Option<String>,
    message: Option<String>,
    peer: Option<std::net::SocketAddr>,
}

impl Doc {
    fn new(pri: u8, received: Received) -> Doc {
        let (facility, severity) = (usize::from(pri >> 3), usize::from(pri & 7));
        let mut syslog = Map::new();
        syslog.insert("priority".into(), json!(pri));
        syslog.insert("facility".into(), json!({"code": facility, "name": FACILITIES[facility]}));
        syslog.insert("severity".into(), json!({"code": severity, "name": SEVERITIES[severity]}));
        Doc {
            at_ms: received.at_ms,
            syslog,
            hostname: None,
            appname: None,
            procid: None,
            message: None,
            peer: received.peer,
        }
    }

    fn finish(self) -> Value {
        let mut syslog = self.syslog;
        let mut doc = Map::new();
        let at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.at_ms) * 1_000_000)
            .ok()
            .and_then(|t| {
                t.format(&time::macros::format_description!(
                    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
                ))
                .ok()
            })
            .unwrap_or_default();
        doc.insert("@timestamp".into(), json!(at));
        doc.insert("event".into(), json!({"kind": "event", "module": "syslog"}));
        if let Some(h) = &self.hostname {
            syslog.insert("hostname".into(), json!(h));
            doc.insert("host".into(), json!({"hostname": h}));
        }
        let mut process = Map::new();
        if let Some(a) = &self.appname {
            syslog.insert("appname".into(), json!(a));
            process.insert("name".into(), json!(a));
        }
        if let Some(p) = &self.procid {
            syslog.insert("procid".into(), json!(p));
            if let Ok(pid) = p.parse::<u64>() {
                process.insert("pid".into(), json!(pid));
            }
        }
        if !process.is_empty() {
            doc.insert("process".into(), Value::Object(process));
        }
        let mut log = Map::new();
        log.insert("syslog".into(), Value::Object(syslog));
        if let Some(peer) = self.peer {
            log.insert("source".into(), json!({"address": peer.to_string(), "ip": peer.ip().to_string()}));
        }
        doc.insert("log".into(), Value::Object(log));
        let message = self.message.unwrap_or_default();
        doc.insert("message".into(), json!(message));
        // A message of `key=value` pairs (FortiGate, auditd relayed by syslog) also gives
        // its pairs as fields, none over the ones above.
        crate::keyvalue::add_key_values(&mut doc, &message);
        Value::Object(doc)
    }
}

/// The header fields, structured data and message of RFC 5424 (after `VERSION SP`).
fn rfc5424(doc: &mut Doc, version: u16, mut rest: &[u8]) -> Result<(), String> {
    doc.syslog.insert("version".into(), json!(version));
    let mut field = |name: &str, max: usize| -> Result<Option<String>, String> {
        let n = rest.iter().position(|&b| b == b' ').ok_or_else(|| format!("RFC 5424 header ends before {name}"))?;
        let token = &rest[..n];
        rest = &rest[n + 1..];
        if token.is_empty() || token.len() > max || !token.iter().all(|b| (33..=126).contains(b)) {
            return Err(format!("RFC 5424 {name} is not 1 to {max} printable ASCII characters"));
        }
        Ok((token != b"-").then(|| String::from_utf8_lossy(token).into_owned()))
    };
    let timestamp = field("TIMESTAMP", 64)?;
    doc.hostname = field("HOSTNAME", 255)?;
    doc.appname = field("APP-NAME", 48)?;
    doc.procid = field("PROCID", 128)?;
    let msgid = field("MSGID", 32)?;
    if let Some(ts) = timestamp {
        let t =
            OffsetDateTime::parse(&ts, &Rfc3339).map_err(|_| format!("RFC 5424 TIMESTAMP is not RFC 3339: {ts}"))?;
        doc.at_ms = i64::try_from(t.unix_timestamp_nanos() / 1_000_000).map_err(|_| "TIMESTAMP out of range")?;
    }
    if let Some(m) = msgid {
        doc.syslog.insert("msgid".into(), json!(m));
    }
    let (sd, after) = structured_data(rest)?;
    if !sd.is_empty() {
        doc.syslog.insert("structured_data".into(), Value::Object(sd));
    }
    let msg = match after {
        [] => &[][..],
        [b' ', msg @ ..] => msg,
        _ => return Err("RFC 5424 STRUCTURED-DATA is not followed by a space".into()),
    };
    let msg = msg.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(msg);
    doc.message = Some(String::from_utf8_lossy(msg).into_owned());
    Ok(())
}

/// `-` or one or more `[SD-ID *(SP PARAM="VALUE")]`; a parameter given twice becomes a list.
fn structured_data(rest: &[u8]) -> Result<(Map<String, Value>, &[u8]), String> {
    let mut out = Map::new();
    if let Some(after) = rest.strip_prefix(b"-") {
        return Ok((out, after));
    }
    let name_char = |b: &u8| (33..=126).contains(b) && !matches!(b, b'=' | b']' | b'"');
    let mut i = 0;
    if rest.first() != Some(&b'[') {
        return Err("RFC 5424 STRUCTURED-DATA is neither - nor [".into());
    }
    while rest.get(i) == Some(&b'[') {
        i += 1;
        let id_len = rest[i..].iter().take_while(|b| name_char(b)).count();
        if id_len == 0 || id_len > 32 {
            return Err("RFC 5424 SD-ID is not 1 to 32 characters".into());
        }
        let id = String::from_utf8_lossy(&rest[i..i + id_len]).into_owned();
        i += id_len;
        let mut params = Map::new();
        loop {
            match rest.get(i) {
                Some(b']') => {
                    i += 1;
                    break;
                }
                Some(b' ') => i += 1,
                _ => return Err(format!("RFC 5424 SD-ELEMENT [{id} is not closed")),
            }
            let n = rest[i..].iter().take_while(|b| name_char(b)).count();
            if n == 0 || n > 32 || rest.get(i + n) != Some(&b'=') || rest.get(i + n + 1) != Some(&b'"') {
                return Err(format!("RFC 5424 SD-PARAM in [{id} is not NAME=\"VALUE\""));
            }
            let name = String::from_utf8_lossy(&rest[i..i + n]).into_owned();
            i += n + 2;
            let mut value = Vec::new();
            loop {
                match rest.get(i) {
                    None => return Err(format!("RFC 5424 SD-PARAM {name} in [{id} is not closed")),
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(b'\\') if matches!(rest.get(i + 1), Some(b'"' | b'\\' | b']')) => {
                        value.push(rest[i + 1]);
                        i += 2;
                    }
                    Some(&b) => {
                        value.push(b);
                        i += 1;
                    }
                }
            }
            let value = Value::String(String::from_utf8_lossy(&value).into_owned());
            match params.get_mut(&name) {
                None => {
                    params.insert(name, value);
                }
                Some(Value::Array(list)) => list.push(value),
                Some(first) => *first = Value::Array(vec![first.take(), value]),
            }
        }
        match out.get_mut(&id) {
            Some(Value::Object(existing)) => existing.extend(params),
            _ => {
                out.insert(id, Value::Object(params));
            }
        }
    }
    Ok((out, &rest[i..]))
}

/// The BSD format: `TIMESTAMP HOSTNAME TAG[PID]: MSG`, every part optional as relays
/// and senders differ. A `Mmm dd hh:mm:ss` timestamp has no year or zone: it is read as
/// UTC in the year that puts it nearest the receive time. An RFC 3339 timestamp (rsyslog's
/// high-precision format) is read as it is.
fn bsd(doc: &mut Doc, rest: &[u8], received_ms: i64) {
    let mut rest = rest;
    if let Some((ms, after)) = bsd_timestamp(rest, received_ms).or_else(|| iso_timestamp(rest)) {
        doc.at_ms = ms;
        rest = after;
        // The hostname: the next word, unless it is already the tag (`sshd[12]:`, `su:`).
        let word_len = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
        let word = &rest[..word_len];
        let is_tag = word.ends_with(b":") || word.contains(&b'[');
        if !word.is_empty() && !is_tag && word_len < rest.len() {
            doc.hostname = Some(String::from_utf8_lossy(word).into_owned());
            rest = &rest[word_len + 1..];
        }
    }
    // The tag: up to 48 characters of a name, then optional `[pid]`, then `:`.
    let tag_len = rest.iter().take(49).take_while(|b| b.is_ascii_graphic() && !matches!(b, b':' | b'[')).count();
    if (1..=48).contains(&tag_len) {
        let after_tag = &rest[tag_len..];
        let (pid, after_pid) = match after_tag.strip_prefix(b"[") {
            Some(p) => match p.iter().take(129).position(|&b| b == b']') {
                Some(close) => (Some(&p[..close]), &p[close + 1..]),
                None => (None, after_tag),
            },
            None => (None, after_tag),
        };
        if let Some(msg) = after_pid.strip_prefix(b":") {
            doc.appname = Some(String::from_utf8_lossy(&rest[..tag_len]).into_owned());
            doc.procid = pid.map(|p| String::from_utf8_lossy(p).into_owned());
            rest = msg.strip_prefix(b" ").unwrap_or(msg);
        }
    }
    doc.message = Some(String::from_utf8_lossy(rest).into_owned());
}

/// `Mmm dd hh:mm:ss ` (day space-padded or not).
fn bsd_timestamp(rest: &[u8], received_ms: i64) -> Option<(i64, &[u8])> {
    const MONTHS: [&[u8]; 12] =
        [b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec"];
    let month = MONTHS.iter().position(|m| rest.starts_with(m))? as u8 + 1;
    let rest = rest.get(3..)?.strip_prefix(b" ")?;
    let rest = rest.strip_prefix(b" ").unwrap_or(rest);
    let day_len = rest.iter().take(3).take_while(|b| b.is_ascii_digit()).count();
    let day: u8 = std::str::from_utf8(&rest[..day_len]).ok()?.parse().ok()?;
    let rest = rest[day_len..].strip_prefix(b" ")?;
    let clock = rest.get(..8)?;
    let num = |r: std::ops::Range<usize>| std::str::from_utf8(&clock[r]).ok()?.parse::<u8>().ok();
    if clock[2] != b':' || clock[5] != b':' {
        return None;
    }
    let time = Time::from_hms(num(0..2)?, num(3..5)?, num(6..8)?).ok()?;
    let after = rest.get(8..)?;
    let after = match after {
        [] => after,
        [b' ', more @ ..] => more,
        _ => return None,
    };
    let received = OffsetDateTime::from_unix_timestamp(received_ms.div_euclid(1000)).ok()?;
    let month = Month::try_from(month).ok()?;
    let latest = received + time::Duration::days(7);
    let best = [received.year() + 1, received.year(), received.year() - 1]
        .into_iter()
        .filter_map(|y| Date::from_calendar_date(y, month, day).ok())
        .map(|d| PrimitiveDateTime::new(d, time).assume_utc())
        .find(|t| *t <= latest)?;
    Some((i64::try_from(best.unix_timestamp_nanos() / 1_000_000).ok()?, after))
}

/// An RFC 3339 timestamp and a space.
fn iso_timestamp(rest: &[u8]) -> Option<(i64, &[u8])> {
    if !rest.first()?.is_ascii_digit() {
        return None;
    }
    let n = rest.iter().take(40).position(|&b| b == b' ')?;
    let t = OffsetDateTime::parse(std::str::from_utf8(&rest[..n]).ok()?, &Rfc3339).ok()?;
    Some((i64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok()?, &rest[n + 1..]))
}

/// One unit out of a TCP stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A whole message (framing removed).
    Message(Vec<u8>),
    /// A message longer than the limit, or a broken frame: counted and sampled, its
    /// bytes skipped.
    Refused(SyslogError),
}

/// Splits a TCP stream into messages by RFC 6587: a frame starting with a digit is
/// octet-counted (`LEN SP MSG`), any other ends at a newline. The two may alternate in
/// one stream. Memory stays bounded by the message limit whatever the sender does.
#[derive(Debug)]
pub struct Framer {
    buf: Vec<u8>,
    max: usize,
    skip: Skip,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    None,
    /// Bytes of an oversize octet-counted frame still to drop.
    Bytes(usize),
    /// Drop through the next newline.
    Line,
}

impl Framer {
    /// A framer refusing messages longer than `max` bytes.
    pub fn new(max: usize) -> Framer {
        Framer { buf: Vec::new(), max, skip: Skip::None }
    }

    /// Adds received bytes; take frames with [`Framer::next_frame`] until it returns `None`.
    pub fn push(&mut self, bytes: &[u8]) {
        let mut bytes = bytes;
        loop {
            match self.skip {
                Skip::None => break,
                Skip::Bytes(n) => {
                    let k = n.min(bytes.len());
                    bytes = &bytes[k..];
                    self.skip = if n > k { Skip::Bytes(n - k) } else { Skip::None };
                    if n > k {
                        return;
                    }
                }
                Skip::Line => match bytes.iter().position(|&b| b == b'\n') {
                    Some(p) => {
                        bytes = &bytes[p + 1..];
                        self.skip = Skip::None;
                    }
                    None => return,
                },
            }
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next complete frame, if the buffer holds one.
    pub fn next_frame(&mut self) -> Option<Frame> {
        // Stray newlines between frames (e.g. after an octet-counted one) are not messages.
        let blank = self.buf.iter().take_while(|b| matches!(b, b'\n' | b'\r')).count();
        self.buf.drain(..blank);
        let first = *self.buf.first()?;
        if first.is_ascii_digit() {
            let digits = self.buf.iter().take(11).take_while(|b| b.is_ascii_digit()).count();
            match self.buf.get(digits) {
                None if digits <= 10 => return None,
                Some(b' ') if digits <= 10 && self.buf[0] != b'0' => {
                    let len: usize = std::str::from_utf8(&self.buf[..digits]).ok()?.parse().ok()?;
                    let start = digits + 1;
                    if len > self.max {
                        let err = SyslogError {
                            reason: format!("frame of {len} bytes; the limit is {}", self.max),
                            sample: sample(&self.buf[start..]),
                        };
                        let have = self.buf.len() - start;
                        self.skip = if have >= len { Skip::None } else { Skip::Bytes(len - have) };
                        self.buf.drain(..start + len.min(have));
                        return Some(Frame::Refused(err));
                    }
                    if self.buf.len() < start + len {
                        return None;
                    }
                    let msg = self.buf[start..start + len].to_vec();
                    self.buf.drain(..start + len);
                    return Some(Frame::Message(msg));
                }
                // Not a length prefix: a newline-framed line that starts with a digit.
                _ => {}
            }
        }
        match self.buf.iter().position(|&b| b == b'\n') {
            Some(p) => {
                let msg = self.buf[..p].to_vec();
                self.buf.drain(..=p);
                if p > self.max {
                    Some(Frame::Refused(self.too_long(&msg)))
                } else {
                    Some(Frame::Message(msg))
                }
            }
            None if self.buf.len() > self.max => {
                let err = self.too_long(&self.buf);
                self.buf.clear();
                self.skip = Skip::Line;
                Some(Frame::Refused(err))
            }
            None => None,
        }
    }

    fn too_long(&self, msg: &[u8]) -> SyslogError {
        SyslogError { reason: format!("line longer than {} bytes", self.max), sample: sample(msg) }
    }

    /// At the end of the stream: a last unterminated line is a message; a partial
    /// octet-counted frame is refused.
    pub fn finish(&mut self) -> Option<Frame> {
        let rest = std::mem::take(&mut self.buf);
        if rest.iter().all(|b| matches!(b, b'\n' | b'\r')) {
            return None;
        }
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits > 0 && digits <= 10 && rest.get(digits).is_none_or(|&b| b == b' ') && rest[0] != b'0' {
            return Some(Frame::Refused(SyslogError {
                reason: "the connection closed inside an octet-counted frame".into(),
                sample: sample(&rest),
            }));
        }
        Some(Frame::Message(rest))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOW: i64 = 1_795_425_600_000; // 2026-11-23T09:20:00Z

    fn parse(text: &str) -> Value {
        parse_syslog(text.as_bytes(), Received { at_ms: NOW, peer: None }).expect("parses")
    }

    #[test]
    fn rfc5424_examples_from_the_rfc() {
        // RFC 5424 section 6.5, example 1 (with a BOM before the message).
        let ev = parse("<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \u{feff}'su root' failed for lonvick on /dev/pts/8");
        assert_eq!(ev["@timestamp"], "2003-10-11T22:14:15.003Z");
        assert_eq!(ev["log"]["syslog"]["facility"]["name"], "auth");
        assert_eq!(ev["log"]["syslog"]["severity"]["name"], "critical");
        assert_eq!(ev["log"]["syslog"]["version"], 1);
        assert_eq!(ev["host"]["hostname"], "mymachine.example.com");
        assert_eq!(ev["process"]["name"], "su");
        assert_eq!(ev["log"]["syslog"]["msgid"], "ID47");
        assert!(ev["log"]["syslog"].get("procid").is_none());
        assert_eq!(ev["message"], "'su root' failed for lonvick on /dev/pts/8");
        // Example 2: an offset, no message id.
        let ev = parse(
            "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
        );
        assert_eq!(ev["@timestamp"], "2003-08-24T12:14:15.000Z");
        assert_eq!(ev["log"]["syslog"]["facility"]["name"], "local4");
        assert_eq!(ev["process"]["pid"], 8710);
        assert_eq!(ev["message"], "%% It's time to make the do-nuts.");
        // Example 4: structured data and a message, with an escaped quote and bracket.
        let ev = parse(
            r#"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Appli\"cation" eventID="1011"][examplePriority@32473 class="high\]"] An application event"#,
        );
        let sd = &ev["log"]["syslog"]["structured_data"];
        assert_eq!(sd["exampleSDID@32473"]["eventSource"], "Appli\"cation");
        assert_eq!(sd["examplePriority@32473"]["class"], "high]");
        assert_eq!(ev["message"], "An application event");
        // Example 3: structured data only, no message; a NIL timestamp takes the receive time.
        let ev = parse(r#"<165>1 - - - - - [exampleSDID@32473 iut="3" iut="4"]"#);
        assert_eq!(ev["log"]["syslog"]["structured_data"]["exampleSDID@32473"]["iut"], json!(["3", "4"]));
        assert_eq!(ev["@timestamp"], "2026-11-23T09:20:00.000Z");
        assert_eq!(ev["message"], "");
    }

    #[test]
    fn bsd_messages_as_senders_write_them() {
        // util-linux `logger --rfc3164`.
        let ev = parse("<13>Nov 23 09:19:58 web01 alice: hello there");
        assert_eq!(ev["@timestamp"], "2026-11-23T09:19:58.000Z");
        assert_eq!(ev["host"]["hostname"], "web01");
        assert_eq!(ev["process"]["name"], "alice");
        assert_eq!(ev["message"], "hello there");
        // sshd with a pid and a space-padded day; December read in the previous year.
        let ev =
            parse("<38>Dec  3 23:00:00 bastion sshd[4121]: Failed password for root from 203.0.113.9 port 4242 ssh2");
        assert_eq!(ev["@timestamp"], "2025-12-03T23:00:00.000Z");
        assert_eq!(ev["process"]["pid"], 4121);
        assert_eq!(ev["log"]["syslog"]["facility"]["name"], "auth");
        // A January message received on 31 December belongs to the next year.
        let ev = parse_syslog(b"<13>Jan  1 00:00:05 h t: m", Received { at_ms: 1_798_761_599_000, peer: None })
            .expect("parses");
        assert_eq!(ev["@timestamp"], "2027-01-01T00:00:05.000Z");
        // No hostname (tag straight after the time), rsyslog's RFC 3339 time, and no header at all.
        let ev = parse("<86>Nov 23 09:00:00 sudo[77]: alice : TTY=pts/0 ; COMMAND=/bin/sh");
        assert!(ev.get("host").is_none());
        assert_eq!(ev["process"]["name"], "sudo");
        let ev = parse("<30>2026-11-23T09:00:01.5+09:00 node2 systemd[1]: Stopped cron.service.");
        assert_eq!(ev["@timestamp"], "2026-11-23T00:00:01.500Z");
        assert_eq!(ev["host"]["hostname"], "node2");
        let ev = parse("<13>just some text");
        assert_eq!(ev["message"], "just some text");
        assert_eq!(ev["@timestamp"], "2026-11-23T09:20:00.000Z");
    }

    #[test]
    fn what_is_not_syslog_is_refused_with_a_reason() {
        let refuse = |text: &[u8]| parse_syslog(text, Received { at_ms: NOW, peer: None }).expect_err("refused");
        assert_eq!(refuse(b"hello").reason, "does not start with <PRI>");
        assert_eq!(refuse(b"<192>x").reason, "PRI out of range: <192>");
        assert_eq!(refuse(b"<013>x").reason, "PRI out of range: <013>");
        assert_eq!(refuse(b"<13").reason, "unterminated <PRI>");
        assert_eq!(refuse(b"\r\n").reason, "empty message");
        assert!(refuse(b"<13>1 yesterday h a p m - x").reason.contains("TIMESTAMP"));
        assert!(refuse(b"<13>1 - h a p m [id x=\"1\"").reason.contains("not closed"));
        assert!(refuse(b"<13>1 - h a p").reason.contains("header ends"));
        assert!(refuse(b"<13>1 - - - - - [a]x").reason.contains("followed by a space"));
        let long = refuse(&[b'x'; 4000]);
        assert_eq!(long.sample.len(), SAMPLE_BYTES);
    }

    fn frames(framer: &mut Framer) -> Vec<Frame> {
        std::iter::from_fn(|| framer.next_frame()).collect()
    }

    #[test]
    fn octet_counting_and_newlines_mix_and_oversize_frames_are_skipped() {
        let mut f = Framer::new(16);
        f.push(b"5 <13>a<13>b\n16 <13>1 - - - -");
        assert_eq!(frames(&mut f), vec![Frame::Message(b"<13>a".to_vec()), Frame::Message(b"<13>b".to_vec())]);
        f.push(b" - ");
        assert_eq!(frames(&mut f), vec![Frame::Message(b"<13>1 - - - - - ".to_vec())]);
        // 30 bytes announced: refused, and exactly those 30 bytes skipped across pushes.
        f.push(b"30 <13>0123456789");
        assert!(matches!(&frames(&mut f)[..], [Frame::Refused(e)] if e.reason.contains("30 bytes")));
        f.push(b"0123456789ABCDEF3 <1>");
        assert_eq!(frames(&mut f), vec![Frame::Message(b"<1>".to_vec())]);
        // A newline-framed line over the limit is refused and skipped through its newline.
        f.push(b"<13>aaaaaaaaaaaaaaaaaaaaaaaaaa");
        assert!(matches!(&frames(&mut f)[..], [Frame::Refused(e)] if e.reason.contains("longer")));
        f.push(b"bbbb\n<13>ok\n");
        assert_eq!(frames(&mut f), vec![Frame::Message(b"<13>ok".to_vec())]);
        f.push(b"<13>last");
        assert_eq!(frames(&mut f), vec![]);
        assert_eq!(f.finish(), Some(Frame::Message(b"<13>last".to_vec())));
        f.push(b"9 <13>");
        assert!(matches!(f.finish(), Some(Frame::Refused(e)) if e.reason.contains("closed inside")));
    }

    proptest! {
        /// Any messages, framed either way and cut into any chunks, come out whole and in order.
        #[test]
        fn frames_survive_any_chunking(
            msgs in proptest::collection::vec("<[0-9]{1,3}>[ -~]{0,40}", 1..8),
            octet in proptest::collection::vec(any::<bool>(), 8),
            cuts in proptest::collection::vec(1usize..20, 1..40),
        ) {
            let mut stream = Vec::new();
            for (i, m) in msgs.iter().enumerate() {
                if octet[i] {
                    stream.extend_from_slice(format!("{} {m}", m.len()).as_bytes());
                } else {
                    stream.extend_from_slice(m.as_bytes());
                    stream.push(b'\n');
                }
            }
            let mut f = Framer::new(100);
            let mut out = Vec::new();
            let mut rest = &stream[..];
            for c in cuts.iter().cycle() {
                if rest.is_empty() { break; }
                let (a, b) = rest.split_at((*c).min(rest.len()));
                f.push(a);
                out.extend(frames(&mut f));
                rest = b;
            }
            out.extend(f.finish());
            let want: Vec<Frame> = msgs.iter().map(|m| Frame::Message(m.as_bytes().to_vec())).collect();
            prop_assert_eq!(out, want);
        }

        /// The parser never panics and a refusal always carries a bounded sample.
        #[test]
        fn parser_total(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            match parse_syslog(&bytes, Received { at_ms: NOW, peer: None }) {
                Ok(ev) => prop_assert!(ev["message"].is_string()),
                Err(e) => prop_assert!(e.sample.len() <= SAMPLE_BYTES * 3),
            }
        }
    }
}
