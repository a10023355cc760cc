//! RFC 8785 canonicalisation of any JSON a client can send: never panics, is
//! idempotent, and parses back to the same value (numbers compared as numbers: `-0`
//! is written `0`, and `1.0` is written `1`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sekimori_core::canonical::to_canonical_string;
use serde_json::Value;

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64(), x.as_u64(), y.as_u64()) {
            (Some(p), Some(q), _, _) => p == q,
            (_, _, Some(p), Some(q)) => p == q,
            _ => x.as_f64() == y.as_f64(),
        },
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else { return };
    let text = to_canonical_string(&value);
    let back: Value = serde_json::from_str(&text).expect("canonical text is JSON");
    assert_eq!(to_canonical_string(&back), text, "canonicalisation is idempotent");
    assert!(same(&value, &back), "canonical text parses back to the same value: {text}");
});
