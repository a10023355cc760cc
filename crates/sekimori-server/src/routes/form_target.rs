//! Where the hosted pages' forms may end up. Chromium applies CSP `form-action` to every
//! redirect that follows a form post, so a login that returns to an OIDC client or an
//! application on another origin must allow that origin, and only that one.

use axum::http::header::{self, HeaderValue};
use axum::response::Response;
use sekimori_gate::Gate;

use super::login::CSP;

/// Where a browser that returns to `return_to` ends up, as a CSP source, when that is not
/// this server: an OIDC authorization goes on to its client's redirect URI, an application
/// behind forward-auth is on its own host. Chromium applies `form-action` to every
/// redirect after a form post, so the login forms must allow that origin.
pub(super) fn destination_origin(gate: &Gate, return_to: &str) -> Option<String> {
    let target = match return_to.strip_prefix("/oidc/authorize/continue?") {
        Some(query) => {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).ok()?;
            let sealed = pairs.into_iter().find(|(k, _)| k == "request")?.1;
            gate.oidc().open_authorize_request(&sealed)?.redirect_uri
        }
        None if return_to.starts_with('/') => return None,
        None => return_to.to_owned(),
    };
    csp_origin(&target)
}

/// The CSP source expression for the origin of `url` (`scheme:` for a URL without a host,
/// such as a native app's redirect URI); `None` for this server's own or unusable URLs.
pub(super) fn csp_origin(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    match url.origin() {
        o @ url::Origin::Tuple(..) => Some(o.ascii_serialization()),
        url::Origin::Opaque(_) => {
            let scheme = url.scheme();
            let plain = scheme.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'));
            (plain && !matches!(scheme, "javascript" | "data" | "blob" | "filesystem")).then(|| format!("{scheme}:"))
        }
    }
}

/// Lets the forms on a page end at `origin` (see [`destination_origin`]).
pub(super) fn allow_form_target(resp: &mut Response, origin: Option<&str>) {
    if let Some(origin) = origin {
        let csp = format!("{CSP} {origin}");
        if let Ok(v) = HeaderValue::from_str(&csp) {
            resp.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
        }
    }
}
