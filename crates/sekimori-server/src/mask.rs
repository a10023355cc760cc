//! Masking personal data for the `auditor` role: email addresses, display names, IP
//! addresses and networks, and client environments (browser, OS, user agent, country).
//!
//! Two nets, both applied to every JSON (and NDJSON) answer an auditor gets:
//! 1. **by key**: the value of a member whose name says it is personal (`email`,
//!    `display_name`, `ip`, `source_ip`, `IpAddress`, `network`, `user_agent`,
//!    `environment`, `browser`, `os`, `country`, …) is replaced whatever it is;
//! 2. **by value**: in every other string, each word that is an IP address (with or
//!    without a prefix length or port) or an email address is replaced, so personal data
//!    inside free text (raw log lines, alert excerpts, descriptions) is caught too.

use std::net::IpAddr;

use serde_json::Value;

/// What a masked value becomes.
pub const MASK: &str = "[masked]";

/// Whether a member name names personal data.
pub fn personal_key(key: &str) -> bool {
    let norm: String = key.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase();
    const EXACT: &[&str] = &[
        "email",
        "mail",
        "emailaddress",
        "displayname",
        "fullname",
        "ip",
        "ips",
        "ipaddress",
        "ipaddr",
        "network",
        "networks",
        "useragent",
        "environment",
        "environments",
        "browser",
        "os",
        "country",
        "countrycode",
        "city",
        "geo",
        "location",
        "calleripaddress",
        "clientip",
        "sourceip",
        "remoteip",
        "srcip",
        "sourceaddress",
    ];
    if EXACT.contains(&norm.as_str()) {
        return true;
    }
    // `SourceIp`, `client_ip`, `src-ip`, `IpAddress` and the like: "ip" as its own word.
    norm.ends_with("ipaddress") || norm.ends_with("email") || ends_with_ip_word(key)
}

fn ends_with_ip_word(key: &str) -> bool {
    let chars: Vec<char> = key.chars().collect();
    let n = chars.len();
    if n < 3 || !chars[n - 2].eq_ignore_ascii_case(&'i') || !chars[n - 1].eq_ignore_ascii_case(&'p') {
        return false;
    }
    let before = chars[n - 3];
    matches!(before, '_' | '-' | '.') || (chars[n - 2] == 'I' && before.is_ascii_lowercase())
}

/// Whether one word is an IP address (optionally `/prefix`, `:port`, in brackets) or an
/// email address.
fn personal_word(word: &str) -> bool {
    let w = word.trim_matches(|c: char| matches!(c, '[' | ']' | '(' | ')' | '<' | '>' | '.' | ',' | ';' | ':'));
    if w.is_empty() {
        return false;
    }
    if let Some((local, domain)) = w.split_once('@') {
        if !local.is_empty() && domain.contains('.') && !domain.starts_with('.') {
            return true;
        }
    }
    let base = w.split('/').next().unwrap_or(w);
    if base.parse::<IpAddr>().is_ok() {
        return true;
    }
    // IPv4 with a port, `[v6]:port`.
    if let Some((host, port)) = base.rsplit_once(':') {
        if port.chars().all(|c| c.is_ascii_digit())
            && host.trim_matches(|c| c == '[' || c == ']').parse::<IpAddr>().is_ok()
        {
            return true;
        }
    }
    false
}

/// Replaces every IP or email address in free text.
pub fn scrub_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        if personal_word(word) {
            out.push_str(MASK);
        } else {
            out.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_alphanumeric() || matches!(c, '.' | ':' | '@' | '/' | '[' | ']' | '%' | '_' | '-' | '+') {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Masks a JSON document in place.
pub fn mask_value(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                if personal_key(k) && !child.is_null() {
                    *child = Value::String(MASK.into());
                } else {
                    mask_value(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_value),
        Value::String(s) => {
            let scrubbed = scrub_text(s);
            if scrubbed != *s {
                *s = scrubbed;
            }
        }
        _ => {}
    }
}

/// Masks a response body: JSON, NDJSON, or (anything else) as text.
pub fn mask_body(body: &[u8], ndjson: bool) -> Vec<u8> {
    let text = String::from_utf8_lossy(body);
    let one = |t: &str| match serde_json::from_str::<Value>(t) {
        Ok(mut v) => {
            mask_value(&mut v);
            v.to_string()
        }
        Err(_) => scrub_text(t),
    };
    if ndjson {
        text.lines()
            .map(|l| if l.trim().is_empty() { String::new() } else { one(l) } + "\n")
            .collect::<String>()
            .into_bytes()
    } else {
        one(&text).into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn personal_members_are_masked_by_name() {
        let mut v = json!({
            "username": "alice", "email": "a@example.jp", "display_name": "山田花子",
            "environment": {"browser": "Firefox", "os": "Linux", "network": "203.0.113.0/24"},
            "source": {"ip": "203.0.113.7", "network": "203.0.113.0/24"},
            "user_agent": {"original": "Mozilla/5.0"},
            "event": {"IpAddress": "198.51.100.2", "SourceIp": "x", "client_ip": "y", "shipping": "keep", "zip": "keep"},
            "email_missing": null
        });
        mask_value(&mut v);
        assert_eq!(v["username"], "alice");
        for p in ["/email", "/display_name", "/environment", "/source/ip", "/source/network", "/user_agent"] {
            assert_eq!(v.pointer(p), Some(&json!(MASK)), "{p}");
        }
        assert_eq!(v["event"]["IpAddress"], MASK);
        assert_eq!(v["event"]["SourceIp"], MASK);
        assert_eq!(v["event"]["client_ip"], MASK);
        assert_eq!(v["event"]["shipping"], "keep");
        assert_eq!(v["event"]["zip"], "keep");
    }

    #[test]
    fn addresses_inside_text_are_masked() {
        assert_eq!(scrub_text("Firefox on Linux from 203.0.113.0/24"), format!("Firefox on Linux from {MASK}"));
        assert_eq!(scrub_text("login from 2001:db8::1 by bob@example.com."), format!("login from {MASK} by {MASK}"));
        assert_eq!(scrub_text("conn 10.0.0.1:443 ok"), format!("conn {MASK} ok"));
        assert_eq!(scrub_text("version 1.2.3 at 12:30"), "version 1.2.3 at 12:30");
        assert_eq!(scrub_text("rule sekimori.auth.level"), "rule sekimori.auth.level");
    }

    #[test]
    fn ndjson_is_masked_line_by_line() {
        let body = b"{\"source\":{\"ip\":\"203.0.113.7\"}}\n{\"a\":\"x 192.0.2.1\"}\n";
        let out = String::from_utf8(mask_body(body, true)).expect("utf8");
        assert!(!out.contains("203.0.113.7") && !out.contains("192.0.2.1"), "{out}");
        assert_eq!(out.lines().count(), 2);
    }
}
