//! Sekimori's HTTP client: the admin API, the relying-party and verifier API, and the
//! reference authenticator's signed device API. The CLI and the end-to-end tests both
//! use this crate, so tests exercise exactly what users run.

pub mod authenticator;
mod http;

pub use authenticator::{Authenticator, AuthenticatorState};
pub use http::{AdminClient, AppClient, ClientError, Problem};
/// HTTP methods, for [`AdminClient::call`].
pub use reqwest::Method;

/// Percent-decodes `s` (RFC 3986); `None` on a malformed escape or non-UTF-8 result.
pub fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// The query parameter `name` of a link such as `sekimori://enroll?u=…&c=…`.
pub fn query_param(link: &str, name: &str) -> Option<String> {
    let (_, query) = link.split_once('?')?;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| percent_decode(v)).flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_enrollment_links() {
        let link = "sekimori://enroll?u=http%3A%2F%2F127.0.0.1%3A8080&c=abc_DEF-1";
        assert_eq!(query_param(link, "u").as_deref(), Some("http://127.0.0.1:8080"));
        assert_eq!(query_param(link, "c").as_deref(), Some("abc_DEF-1"));
        assert_eq!(query_param(link, "x"), None);
        assert_eq!(percent_decode("%zz"), None);
    }
}
