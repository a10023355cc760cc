//! The routing document's secrets (webhook URLs, which are credentials, and HMAC keys):
//! sealed under the server's key before the document is stored, masked in every read, and
//! opened only for delivery.
//!
//! A read shows each secret as [`MASKED`]; writing a document back with [`MASKED`] in a
//! receiver's secret keeps the value stored at the same place (receiver name, channel kind
//! and index, field), so an edit of the routing need not repeat every secret.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sekimori_core::TenantId;
use sekimori_core::{ErrorCode, Sealer, ServiceError};
use sekimori_respond::ChannelKind;
use serde_json::Value;

pub use sekimori_respond::MASKED;

use crate::WatchResult;

/// How a sealed secret starts in the stored document.
const SEALED_PREFIX: &str = "sealed:v1:";

fn context(tenant_id: &TenantId) -> Vec<u8> {
    format!("routing-secret:{tenant_id}").into_bytes()
}

/// Each secret string of `doc`, with its place (e.g. `receivers[0].slack_configs[1].api_url`)
/// and its key (receiver name, kind, index, field) for carrying it across versions.
fn secrets_mut(doc: &mut Value, mut visit: impl FnMut(String, (String, ChannelKind, usize, &str), &mut Value)) {
    let Some(receivers) = doc.get_mut("receivers").and_then(Value::as_array_mut) else { return };
    for (i, receiver) in receivers.iter_mut().enumerate() {
        let name = receiver.get("name").and_then(Value::as_str).unwrap_or_default().to_owned();
        for kind in ChannelKind::ALL {
            let Some(list) = receiver.get_mut(kind.key()).and_then(Value::as_array_mut) else { continue };
            for (j, channel) in list.iter_mut().enumerate() {
                for field in kind.secret_fields() {
                    if let Some(value) = channel.get_mut(*field).filter(|v| v.is_string()) {
                        let place = format!("receivers[{i}].{}[{j}].{field}", kind.key());
                        visit(place, (name.clone(), kind, j, field), value);
                    }
                }
            }
        }
    }
}

fn invalid(place: &str, reason: &str) -> ServiceError {
    ServiceError::new(ErrorCode::InvalidRequest, format!("the routing document: {place}: {reason}"))
        .with("field", "document")
        .with("place", place.to_owned())
}

/// `doc` as written by an admin, with each [`MASKED`] secret replaced by the one stored at
/// the same place in `stored` (opened), ready to be checked. A sealed value written back
/// is refused: secrets are written in the clear over TLS, or kept with [`MASKED`].
pub fn unmask(doc: &Value, stored: Option<&Value>, sealer: &dyn Sealer, tenant_id: &TenantId) -> WatchResult<Value> {
    let mut previous = std::collections::HashMap::new();
    if let Some(stored) = stored {
        let mut stored = stored.clone();
        secrets_mut(&mut stored, |_, key, value| {
            previous.insert((key.0, key.1, key.2, key.3.to_owned()), value.clone());
        });
    }
    let mut out = doc.clone();
    let mut error = None;
    secrets_mut(&mut out, |place, key, value| {
        if error.is_some() {
            return;
        }
        match value.as_str() {
            Some(MASKED) => match previous.get(&(key.0, key.1, key.2, key.3.to_owned())) {
                Some(sealed) => match open_value(sealed, sealer, tenant_id, &place) {
                    Ok(plain) => *value = Value::String(plain),
                    Err(e) => error = Some(e),
                },
                None => error = Some(invalid(&place, "keeps the stored secret, but none is stored at this place")),
            },
            Some(s) if s.starts_with(SEALED_PREFIX) => {
                error = Some(invalid(&place, "a sealed value cannot be written; write the secret itself"))
            }
            _ => {}
        }
    });
    match error {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// `doc` (checked, secrets in the clear) with every secret sealed, for storage.
pub fn seal(doc: &Value, sealer: &dyn Sealer, tenant_id: &TenantId) -> Value {
    let ctx = context(tenant_id);
    let mut out = doc.clone();
    secrets_mut(&mut out, |_, _, value| {
        if let Some(plain) = value.as_str() {
            let sealed = sealer.seal(&ctx, plain.as_bytes());
            *value = Value::String(format!("{SEALED_PREFIX}{}", URL_SAFE_NO_PAD.encode(sealed)));
        }
    });
    out
}

/// How many secrets `doc` has.
pub fn count(doc: &Value) -> usize {
    let mut n = 0;
    secrets_mut(&mut doc.clone(), |_, _, _| n += 1);
    n
}

/// The stored `doc` with every secret shown as [`MASKED`]: what every read returns.
pub fn mask(doc: &Value) -> Value {
    let mut out = doc.clone();
    secrets_mut(&mut out, |_, _, value| *value = Value::String(MASKED.to_owned()));
    out
}

/// The stored `doc` with its secrets opened, for delivery. A secret that does not open
/// (another server's key, an altered row) is an internal error naming the place.
pub fn open(doc: &Value, sealer: &dyn Sealer, tenant_id: &TenantId) -> WatchResult<Value> {
    let mut out = doc.clone();
    let mut error = None;
    secrets_mut(&mut out, |place, _, value| {
        if error.is_none() {
            match open_value(value, sealer, tenant_id, &place) {
                Ok(plain) => *value = Value::String(plain),
                Err(e) => error = Some(e),
            }
        }
    });
    match error {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

fn open_value(value: &Value, sealer: &dyn Sealer, tenant_id: &TenantId, place: &str) -> WatchResult<String> {
    let corrupt = |why: &str| {
        ServiceError::new(ErrorCode::Internal, format!("the stored routing document: {place}: {why}"))
            .with("place", place.to_owned())
    };
    let text = value.as_str().ok_or_else(|| corrupt("not a string"))?;
    let body = text.strip_prefix(SEALED_PREFIX).ok_or_else(|| corrupt("stored unsealed"))?;
    let sealed = URL_SAFE_NO_PAD.decode(body).map_err(|_| corrupt("not base64url"))?;
    let plain = sealer
        .open(&context(tenant_id), &sealed)
        .ok_or_else(|| corrupt("does not open under this server's key (another key, or altered)"))?;
    String::from_utf8(plain).map_err(|_| corrupt("not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A sealer for tests: XOR with a byte and the context's length, with a tag.
    struct Toy;
    impl Sealer for Toy {
        fn seal(&self, context: &[u8], plaintext: &[u8]) -> Vec<u8> {
            let mut out = context.to_vec();
            out.push(0);
            out.extend(plaintext.iter().map(|b| b ^ 0x5a));
            out
        }
        fn open(&self, context: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
            let rest = sealed.strip_prefix(context)?.strip_prefix(&[0])?;
            Some(rest.iter().map(|b| b ^ 0x5a).collect())
        }
    }

    fn doc(url: &str, key: &str) -> Value {
        json!({
            "route": {"receiver": "soc"},
            "receivers": [{"name": "soc", "webhook_configs": [{"url": url, "hmac_key": key}],
                           "slack_configs": [{"api_url": "https://hooks.slack.test/T/B/x"}]}]
        })
    }

    #[test]
    fn secrets_are_sealed_masked_kept_and_opened() {
        let written = doc("https://siem.test/hook?token=abc", "0123456789abcdef");
        let stored = seal(&written, &Toy, &TenantId::new("t1"));
        let text = stored.to_string();
        assert!(!text.contains("token=abc") && !text.contains("0123456789abcdef") && !text.contains("slack.test"));
        assert_eq!(open(&stored, &Toy, &TenantId::new("t1")).expect("opens"), written);
        assert!(open(&stored, &Toy, &TenantId::new("t2")).is_err(), "another tenant's context does not open it");
        let read = mask(&stored);
        assert_eq!(read["receivers"][0]["webhook_configs"][0]["url"], MASKED);
        assert_eq!(read["receivers"][0]["slack_configs"][0]["api_url"], MASKED);
        assert_eq!(read["route"], written["route"], "the rest is as written");
        // Written back masked: the stored secrets are kept; a new one replaces its place only.
        let mut edited = read.clone();
        edited["receivers"][0]["webhook_configs"][0]["hmac_key"] = json!("fedcba9876543210");
        let plain = unmask(&edited, Some(&stored), &Toy, &TenantId::new("t1")).expect("unmask");
        assert_eq!(plain["receivers"][0]["webhook_configs"][0]["url"], "https://siem.test/hook?token=abc");
        assert_eq!(plain["receivers"][0]["webhook_configs"][0]["hmac_key"], "fedcba9876543210");
        assert_eq!(plain["receivers"][0]["slack_configs"][0]["api_url"], "https://hooks.slack.test/T/B/x");
    }

    #[test]
    fn a_mask_with_nothing_behind_it_or_a_sealed_value_is_refused_with_its_place() {
        let masked = doc(MASKED, "0123456789abcdef");
        let e = unmask(&masked, None, &Toy, &TenantId::new("t1")).expect_err("nothing stored");
        assert!(e.to_string().contains("receivers[0].webhook_configs[0].url"), "{e}");
        let stored = seal(&doc("https://a.test/", "0123456789abcdef"), &Toy, &TenantId::new("t1"));
        let mut renamed = mask(&stored);
        renamed["receivers"][0]["name"] = json!("other");
        assert!(
            unmask(&renamed, Some(&stored), &Toy, &TenantId::new("t1")).is_err(),
            "kept by place, and the receiver is new"
        );
        let sealed = stored["receivers"][0]["webhook_configs"][0]["url"].as_str().expect("sealed").to_owned();
        let replayed = doc(&sealed, "0123456789abcdef");
        let e =
            unmask(&replayed, Some(&stored), &Toy, &TenantId::new("t1")).expect_err("sealed values are not written");
        assert!(e.to_string().contains("sealed value"), "{e}");
    }
}
