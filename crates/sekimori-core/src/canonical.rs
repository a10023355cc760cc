//! RFC 8785 JSON Canonicalization Scheme (JCS) for the values Sekimori signs and chains.
//!
//! Object members are sorted by their UTF-16 code units, no insignificant white space,
//! strings escaped as ECMAScript `JSON.stringify` does, and numbers written as ECMAScript's
//! `Number.prototype.toString` writes them (RFC 8785 section 3.2.2.3): integers that JSON
//! parsing kept as integers are written as such; every other number is an IEEE 754 double
//! formatted by `ryu-js` (shortest round-trip digits, `1e+21`, `-0` as `0`). One deliberate
//! difference: integers beyond 2^53 (outside I-JSON, which RFC 8785 assumes) are written
//! exactly rather than rounded through a double.

use serde_json::Value;

/// The canonical text of `value`.
pub fn to_canonical_string(value: &Value) -> String {
    let mut out = String::new();
    write_value(value, &mut out);
    out
}

/// The canonical text of any serialisable value.
pub fn canonical_of<T: serde::Serialize>(value: &T) -> Result<String, serde_json::Error> {
    Ok(to_canonical_string(&serde_json::to_value(value)?))
}

fn write_value(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match n.as_f64().filter(|_| n.is_f64()) {
            Some(f) => out.push_str(ryu_js::Buffer::new().format(f)),
            None => out.push_str(&n.to_string()),
        },
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, out);
                out.push(':');
                if let Some(val) = map.get(*k) {
                    write_value(val, out);
                }
            }
            out.push('}');
        }
    }
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{09}' => out.push_str("\\t"),
            '\u{0a}' => out.push_str("\\n"),
            '\u{0c}' => out.push_str("\\f"),
            '\u{0d}' => out.push_str("\\r"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn sorts_keys_and_strips_space() {
        let v = json!({"b": 1, "a": [true, null, "x\ny"], "c": {"z": 0, "y": -5}});
        assert_eq!(to_canonical_string(&v), r#"{"a":[true,null,"x\ny"],"b":1,"c":{"y":-5,"z":0}}"#);
    }

    #[test]
    fn sorts_by_utf16_units() {
        // U+1F600 is 0xD83D 0xDE00 in UTF-16 and so sorts before U+E000, although a code
        // point sort would put U+E000 first (RFC 8785 section 3.2.3).
        let v = json!({"\u{1f600}": 1, "\u{e000}": 2});
        assert_eq!(to_canonical_string(&v), "{\"\u{1f600}\":1,\"\u{e000}\":2}");
    }

    #[test]
    fn numbers_follow_ecmascript() {
        // RFC 8785 appendix B examples.
        for (input, expected) in [
            ("1e21", "1e+21"),
            ("1e20", "100000000000000000000"),
            ("-0.0", "0"),
            ("0.000001", "0.000001"),
            ("1e-7", "1e-7"),
            ("333333333.3333333", "333333333.3333333"),
            ("1111111111111111111111111", "1.1111111111111111e+24"),
            ("4.5", "4.5"),
        ] {
            let v: Value = serde_json::from_str(input).expect("json");
            let text = to_canonical_string(&v);
            assert_eq!(text, expected, "{input}");
            let again: Value = serde_json::from_str(&text).expect("json");
            assert_eq!(to_canonical_string(&again), text, "idempotent for {input}");
        }
        assert_eq!(to_canonical_string(&json!(-42)), "-42");
        assert_eq!(to_canonical_string(&json!(u64::MAX)), "18446744073709551615");
    }

    #[test]
    fn escapes_controls_in_lowercase_hex() {
        assert_eq!(to_canonical_string(&json!("\u{1f}")), r#""\u001f""#);
    }

    proptest! {
        #[test]
        fn canonical_text_parses_back_to_the_same_value(s in ".*", n in any::<i64>()) {
            let v = json!({"s": s, "n": n, "arr": [s.clone()]});
            let text = to_canonical_string(&v);
            let back: Value = serde_json::from_str(&text).expect("canonical text is JSON");
            prop_assert_eq!(back, v);
        }
    }
}
