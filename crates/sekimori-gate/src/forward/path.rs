//! The path a forward-auth rule is matched against: the original request's path
//! normalised the way the proxy and the application will read it (percent-escapes decoded,
//! dot segments resolved, repeated slashes merged), or refused when no single reading
//! exists.
//!
//! A proxy passes the raw request target (`$request_uri`) and an application resolves it
//! itself, so `/public/../admin/` must be judged as `/admin/`. Readings that differ
//! between servers are refused rather than guessed: an encoded slash or backslash
//! (`%2F`, `%5C`: nginx decodes them, many applications do not), a backslash (a path
//! separator on some servers), a double encoding (`%252e`), a dot segment with parameters
//! (`..;`, read as `..` by Java servers), a climb above the root, control characters and
//! bytes that are not UTF-8 once decoded.

use std::fmt;

/// The longest path accepted, bytes.
pub const MAX_PATH_BYTES: usize = 8192;

/// Why a path has no single normal form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathRefused {
    /// It does not start with `/`.
    #[error("the path does not start with /")]
    NotAbsolute,
    /// It is longer than [`MAX_PATH_BYTES`].
    #[error("the path is longer than {MAX_PATH_BYTES} bytes")]
    TooLong,
    /// A `%` is not followed by two hexadecimal digits.
    #[error("the path has a malformed percent-escape")]
    BadEscape,
    /// `%2F` or `%5C`: a separator some servers decode and others do not.
    #[error("the path has an encoded slash or backslash (%2F, %5C)")]
    EncodedSeparator,
    /// A backslash, a path separator for some servers.
    #[error("the path has a backslash")]
    Backslash,
    /// A control character, raw or encoded.
    #[error("the path has a control character")]
    Control,
    /// `%25` followed by what reads as another escape (`%252e`).
    #[error("the path is percent-encoded twice")]
    DoubleEncoded,
    /// The decoded bytes are not UTF-8.
    #[error("the path is not UTF-8 once decoded")]
    NotUtf8,
    /// `.;x` or `..;x`: Java servers read it as a dot segment.
    #[error("the path has a dot segment with parameters (..;)")]
    DotParameters,
    /// More `..` segments than there are segments to leave.
    #[error("the path climbs above the root")]
    AboveRoot,
}

/// A path in normal form: starts with `/`, no `.` or `..` segments, no empty segments
/// (a trailing `/` is kept), percent-escapes decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NormalPath(String);

impl NormalPath {
    /// Normalises the path of a request target (what comes before `?`).
    pub fn parse(raw: &str) -> Result<Self, PathRefused> {
        if raw.len() > MAX_PATH_BYTES {
            return Err(PathRefused::TooLong);
        }
        if !raw.starts_with('/') {
            return Err(PathRefused::NotAbsolute);
        }
        let decoded = String::from_utf8(decode(raw.as_bytes())?).map_err(|_| PathRefused::NotUtf8)?;
        // C1 controls (U+0080 to U+009F) arrive as two UTF-8 bytes, raw or escaped.
        if decoded.chars().any(char::is_control) {
            return Err(PathRefused::Control);
        }
        let mut segments: Vec<&str> = Vec::new();
        // Whether the normal form ends in `/`: the last raw segment was empty or a dot.
        let mut trailing = false;
        for segment in decoded.split('/').skip(1) {
            let name = segment.split(';').next().unwrap_or(segment);
            if segment.contains(';') && (name == "." || name == "..") {
                return Err(PathRefused::DotParameters);
            }
            match segment {
                "" | "." => trailing = true,
                ".." => {
                    segments.pop().ok_or(PathRefused::AboveRoot)?;
                    trailing = true;
                }
                s => {
                    segments.push(s);
                    trailing = false;
                }
            }
        }
        let mut out = String::with_capacity(decoded.len());
        for s in &segments {
            out.push('/');
            out.push_str(s);
        }
        if trailing || segments.is_empty() {
            out.push('/');
        }
        Ok(NormalPath(out))
    }

    /// The normal form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NormalPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes every percent-escape once, refusing what has more than one reading.
fn decode(raw: &[u8]) -> Result<Vec<u8>, PathRefused> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        let (byte, encoded) = if b == b'%' {
            let (Some(hi), Some(lo)) = (raw.get(i + 1).copied().and_then(hex), raw.get(i + 2).copied().and_then(hex))
            else {
                return Err(PathRefused::BadEscape);
            };
            i += 3;
            (hi << 4 | lo, true)
        } else {
            i += 1;
            (b, false)
        };
        match byte {
            b'/' | b'\\' if encoded => return Err(PathRefused::EncodedSeparator),
            b'\\' => return Err(PathRefused::Backslash),
            0..=0x1f | 0x7f => return Err(PathRefused::Control),
            _ => out.push(byte),
        }
    }
    // Every `%` left came from `%25`; one that reads as an escape again would be decoded
    // twice by some servers (`%252e`, `%25%32%65`).
    if out.windows(3).any(|w| w[0] == b'%' && hex(w[1]).is_some() && hex(w[2]).is_some()) {
        return Err(PathRefused::DoubleEncoded);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn norm(raw: &str) -> Result<String, PathRefused> {
        NormalPath::parse(raw).map(|p| p.0)
    }

    #[test]
    fn the_bypasses_that_were_reported_normalise_to_what_the_application_reads() {
        for (raw, want) in [
            ("/public/../secret.txt", "/secret.txt"),
            ("/public/%2e%2e/secret.txt", "/secret.txt"),
            ("/public/%2E%2E/admin/index.html", "/admin/index.html"),
            ("/public/../admin/index.html", "/admin/index.html"),
            ("/%61dmin/index.html", "/admin/index.html"),
            ("/./admin/", "/admin/"),
            ("//admin/", "/admin/"),
            ("/admin//x", "/admin/x"),
            ("/admin/.", "/admin/"),
            ("/admin/x/..", "/admin/"),
            ("/", "/"),
            ("/.", "/"),
            ("/a%20b", "/a b"),
            ("/caf%C3%A9", "/café"),
            ("/a;jsessionid=1/b", "/a;jsessionid=1/b"),
            ("/100%25", "/100%"),
        ] {
            assert_eq!(norm(raw).as_deref(), Ok(want), "{raw}");
        }
    }

    #[test]
    fn ambiguous_paths_are_refused() {
        for (raw, why) in [
            ("/admin%2Findex.html", PathRefused::EncodedSeparator),
            ("/public/..%2fadmin/", PathRefused::EncodedSeparator),
            ("/public/..%5cadmin/", PathRefused::EncodedSeparator),
            ("/public\\..\\admin", PathRefused::Backslash),
            ("/public/%252e%252e/admin", PathRefused::DoubleEncoded),
            ("/public/%25%32%65%25%32%65/admin", PathRefused::DoubleEncoded),
            ("/public/..;/admin/", PathRefused::DotParameters),
            ("/public/.;x/admin/", PathRefused::DotParameters),
            ("/../etc/passwd", PathRefused::AboveRoot),
            ("/a/../../b", PathRefused::AboveRoot),
            ("/a%00b", PathRefused::Control),
            ("/a\tb", PathRefused::Control),
            ("//\u{89}", PathRefused::Control),
            ("/a%C2%89b", PathRefused::Control),
            ("/a%zz", PathRefused::BadEscape),
            ("/a%2", PathRefused::BadEscape),
            ("/%ff", PathRefused::NotUtf8),
            ("admin", PathRefused::NotAbsolute),
            ("", PathRefused::NotAbsolute),
        ] {
            assert_eq!(norm(raw), Err(why), "{raw}");
        }
        assert_eq!(norm(&format!("/{}", "a".repeat(MAX_PATH_BYTES))), Err(PathRefused::TooLong));
    }

    /// What any path in normal form looks like.
    fn is_normal(p: &str) -> bool {
        p.starts_with('/')
            && !p.contains("//")
            && !p.split('/').any(|s| s == "." || s == "..")
            && !p.contains('\\')
            && !p.chars().any(char::is_control)
    }

    /// One segment of a generated path: names, dots, escapes (of letters, dots, slashes,
    /// percents), empty segments and parameters.
    fn segment() -> impl Strategy<Value = String> {
        prop_oneof![
            Just(String::new()),
            Just(".".to_owned()),
            Just("..".to_owned()),
            Just("%2e".to_owned()),
            Just("%2E%2e".to_owned()),
            Just("..;".to_owned()),
            Just("%2f".to_owned()),
            Just("%25".to_owned()),
            Just("%61dmin".to_owned()),
            "[a-z]{1,6}",
            "[a-z%0-9A-F.;\\\\]{1,8}",
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// Whatever the input, the result is normal, and normal is a fixed point.
        #[test]
        fn normal_forms_are_normal_and_stable(segments in prop::collection::vec(segment(), 0..10)) {
            let raw = format!("/{}", segments.join("/"));
            if let Ok(p) = NormalPath::parse(&raw) {
                prop_assert!(is_normal(p.as_str()), "{raw} -> {p}");
                // Normalising a normal path whose `%` are re-encoded gives it back.
                let again = NormalPath::parse(&p.as_str().replace('%', "%25"));
                prop_assert_eq!(again.as_ref().map(NormalPath::as_str), Ok(p.as_str()), "{}", raw);
            }
        }

        /// Prefix rules cannot be escaped: if the normal form is under `/admin/`, no
        /// spelling of it is judged outside, and the reverse.
        #[test]
        fn a_dot_segment_after_a_prefix_leaves_it(name in "[a-z]{1,6}", rest in "[a-z]{1,6}") {
            let raw = format!("/public/{name}/../../admin/{rest}");
            prop_assert_eq!(norm(&raw), Ok(format!("/admin/{rest}")));
        }
    }
}
