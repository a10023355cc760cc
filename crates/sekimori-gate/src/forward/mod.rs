//! Forward-auth: the decision a reverse proxy (nginx `auth_request`, Traefik ForwardAuth,
//! Caddy `forward_auth`) asks for before passing a request to an application.
//!
//! Rules (`[[gate.forward_auth]]`) match a request's host and path; the first that
//! matches says the level the session needs (0: public) and, optionally, the groups its
//! user must be in (any one). A request no rule matches needs a session of level 1.
//! Paths are matched in their normal form ([`path::NormalPath`]), never as sent.

pub mod path;

use sekimori_core::SettingsError;
use serde::Deserialize;

pub use self::path::{NormalPath, PathRefused};

use crate::sessions::SessionView;

/// One rule.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForwardRule {
    /// `*`, an exact host (`app.example.com`, with `:port` if the proxy sends one) or
    /// `*.example.com` (any subdomain).
    #[serde(default = "any")]
    pub host: String,
    /// A path in normal form: exact (`/health`) or a prefix ending in `*` (`/admin/*`,
    /// `/*`); `/admin/*` also covers `/admin` itself.
    #[serde(default = "everything")]
    pub path: String,
    /// Level the session needs: 0 (public), 1, 2 or 3.
    pub level: u8,
    /// Groups of which the user must be in one; empty: any user.
    #[serde(default)]
    pub groups: Vec<String>,
}

fn any() -> String {
    "*".into()
}

fn everything() -> String {
    "/*".into()
}

/// `host` without a `:port` (an IPv6 literal keeps its brackets).
fn without_port(host: &str) -> &str {
    if let Some(end) = host.strip_prefix('[').and_then(|rest| rest.find(']')) {
        return &host[..end + 2];
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

impl ForwardRule {
    fn matches_host(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        let rule = self.host.to_ascii_lowercase();
        // A rule without a port is for the host on any port (nginx's `$host` has none).
        let bare = without_port(&host).trim_end_matches('.');
        if rule == "*" || rule == host || (!rule.contains(':') && rule == bare) {
            return true;
        }
        match rule.strip_prefix("*.") {
            Some(suffix) => bare.len() > suffix.len() + 1 && bare.ends_with(&format!(".{suffix}")),
            None => false,
        }
    }

    fn matches_path(&self, path: &NormalPath) -> bool {
        let path = path.as_str();
        match self.path.strip_suffix('*') {
            // `/admin/*` is the folder and all in it: `/admin` too.
            Some(prefix) => path.starts_with(prefix) || prefix.strip_suffix('/').is_some_and(|dir| path == dir),
            None => path == self.path,
        }
    }

    /// Whether this rule is for `host` and `path`.
    pub fn matches(&self, host: &str, path: &NormalPath) -> bool {
        self.matches_host(host) && self.matches_path(path)
    }

    /// What is wrong with the rule, if anything.
    pub fn check(&self) -> Result<(), SettingsError> {
        if self.level > 3 {
            return Err(SettingsError::new("level", format!("must be 0 to 3, got {}", self.level)));
        }
        if !self.path.starts_with('/') {
            return Err(SettingsError::new("path", format!("must start with /, got {:?}", self.path)));
        }
        if self.path[..self.path.len().saturating_sub(1)].contains('*') {
            return Err(SettingsError::new("path", format!("may have * only at its end, got {:?}", self.path)));
        }
        let written = self.path.strip_suffix('*').unwrap_or(&self.path);
        if written.contains('%') || NormalPath::parse(written).map_or(true, |p| p.as_str() != written) {
            return Err(SettingsError::new(
                "path",
                format!("must be in normal form (decoded, no . or .. segments, no //), got {:?}", self.path),
            ));
        }
        if self.host.is_empty() || (self.host.contains('*') && self.host != "*" && !self.host.starts_with("*.")) {
            return Err(SettingsError::new("host", format!("must be *, a host name or *.domain, got {:?}", self.host)));
        }
        Ok(())
    }
}

/// What the proxy is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Pass, with the user's identity (none for a public route without a session).
    Allow(Option<Identity>),
    /// A login (or step-up) to `level` is needed.
    Login {
        /// The level the route needs.
        level: u8,
    },
    /// The session's user may not use this route (not in its groups).
    Forbidden,
}

/// The identity handed to the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// `Remote-User`.
    pub username: String,
    /// `Remote-Email`.
    pub email: Option<String>,
    /// `Remote-Name`.
    pub display_name: Option<String>,
    /// `Remote-Groups`.
    pub groups: Vec<String>,
    /// `Remote-Level`.
    pub level: u8,
}

/// Forward-auth: the configured rules, first match wins, and the decision for a request.
pub struct Forward {
    rules: Vec<ForwardRule>,
}

impl Forward {
    pub(crate) fn new(rules: Vec<ForwardRule>) -> Self {
        Forward { rules }
    }
}

impl Forward {
    /// The first rule for `host` and `path`.
    pub fn forward_rule(&self, host: &str, path: &NormalPath) -> Option<&ForwardRule> {
        self.rules.iter().find(|r| r.matches(host, path))
    }

    /// Whether an absolute URL's host is one forward-auth protects (a login may return to it).
    pub fn is_protected_host(&self, host: &str) -> bool {
        self.rules.iter().any(|r| r.host != "*" && r.matches_host(host))
    }

    /// The decision for a request to `host` and `path` with `session` (no database: the
    /// session carries the user's groups and identity).
    pub fn forward_decision(&self, session: Option<&SessionView>, host: &str, path: &NormalPath) -> Decision {
        let (level, groups) = match self.forward_rule(host, path) {
            Some(r) => (r.level, r.groups.as_slice()),
            None => (1, &[][..]),
        };
        let Some(s) = session else {
            return if level == 0 { Decision::Allow(None) } else { Decision::Login { level } };
        };
        // A required-level override on the user raises what every protected path needs.
        let level = if level == 0 { 0 } else { level.max(s.required_level) };
        if s.level < level {
            return Decision::Login { level };
        }
        if !groups.is_empty() && !groups.iter().any(|g| s.groups.contains(g)) {
            return Decision::Forbidden;
        }
        Decision::Allow(Some(Identity {
            username: s.username.clone(),
            email: s.email.clone(),
            display_name: s.display_name.clone(),
            groups: s.groups.clone(),
            level: s.level,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(host: &str, path: &str) -> ForwardRule {
        ForwardRule { host: host.into(), path: path.into(), level: 1, groups: Vec::new() }
    }

    fn p(raw: &str) -> NormalPath {
        NormalPath::parse(raw).expect("normal")
    }

    fn session(level: u8, required_level: u8) -> SessionView {
        SessionView {
            user_id: "u1".into(),
            username: "alice".into(),
            tenant_id: "t1".into(),
            level,
            amr: vec!["pwd".into(), "otp".into()],
            auth_time: String::new(),
            auth_time_ms: 0,
            expires_at: String::new(),
            email: None,
            display_name: None,
            groups: Vec::new(),
            required_level,
            id: "s1".into(),
            sso_id: "sso1".into(),
        }
    }

    #[test]
    fn a_required_level_override_raises_every_protected_path_but_not_public_ones() {
        let f = Forward::new(vec![
            ForwardRule { host: "*".into(), path: "/public/*".into(), level: 0, groups: Vec::new() },
            ForwardRule { host: "*".into(), path: "/*".into(), level: 1, groups: Vec::new() },
        ]);
        let (app, public) = (p("/app/"), p("/public/x"));
        assert!(matches!(f.forward_decision(Some(&session(2, 0)), "h", &app), Decision::Allow(Some(_))));
        assert!(matches!(f.forward_decision(Some(&session(2, 3)), "h", &app), Decision::Login { level: 3 }));
        assert!(matches!(f.forward_decision(Some(&session(3, 3)), "h", &app), Decision::Allow(Some(_))));
        assert!(matches!(f.forward_decision(Some(&session(2, 3)), "h", &public), Decision::Allow(Some(_))));
    }

    #[test]
    fn hosts_and_paths_match_as_written() {
        assert!(rule("*", "/admin/*").matches("anything", &p("/admin/users")));
        assert!(rule("*", "/admin/*").matches("anything", &p("/admin")));
        assert!(rule("*", "/admin/*").matches("anything", &p("/public/../admin")));
        assert!(!rule("*", "/admin/*").matches("anything", &p("/administrator")));
        assert!(!rule("*", "/public/*").matches("anything", &p("/public/../secret.txt")));
        assert!(rule("*", "/health").matches("x", &p("/health")));
        assert!(!rule("*", "/health").matches("x", &p("/health/deep")));
        assert!(rule("app.example.com", "/*").matches("APP.example.com", &p("/")));
        assert!(rule("app.example.com", "/*").matches("app.example.com:8443", &p("/")));
        assert!(rule("app.example.com", "/*").matches("app.example.com.", &p("/")));
        assert!(!rule("app.example.com:443", "/*").matches("app.example.com:8443", &p("/")));
        assert!(!rule("app.example.com", "/*").matches("app.example.com.evil", &p("/")));
        assert!(rule("*.example.com", "/*").matches("wiki.example.com:8443", &p("/")));
        assert!(!rule("*.example.com", "/*").matches("example.com", &p("/")));
        assert!(!rule("*.example.com", "/*").matches("evilexample.com", &p("/")));
    }

    #[test]
    fn bad_rules_are_explained() {
        assert_eq!(
            rule("*", "admin").check().expect_err("no slash"),
            SettingsError::new("path", "must start with /, got \"admin\"")
        );
        assert!(rule("*", "/a*b").check().expect_err("inner star").reason.contains("only at its end"));
        assert_eq!(rule("a*.com", "/").check().expect_err("odd host").key, "host");
        for odd in ["/a/../b", "//x", "/a/./b/*", "/%61dmin/*"] {
            assert!(rule("*", odd).check().expect_err(odd).reason.contains("normal form"), "{odd}");
        }
        assert!(ForwardRule { level: 4, ..rule("*", "/") }.check().is_err());
        assert!(rule("*.example.com", "/x/*").check().is_ok());
    }
}
