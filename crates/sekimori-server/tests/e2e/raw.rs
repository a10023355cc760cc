//! A raw HTTP/1.1 client: sends a request target exactly as written (`..`, `%2e`, `//`,
//! bytes no URL library lets through) and reads one answer on a fresh connection.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One answer: status (0 when the server closed without answering), headers (lower-case
/// names), body.
#[derive(Debug)]
pub(crate) struct RawAnswer {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl RawAnswer {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// `GET target` to `addr` with `Host: host` and `headers`, `Connection: close`.
pub(crate) async fn get(addr: &str, host: &str, target: &[u8], headers: &[(&str, &str)]) -> RawAnswer {
    let mut head = Vec::new();
    head.extend_from_slice(b"GET ");
    head.extend_from_slice(target);
    head.extend_from_slice(format!(" HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n").as_bytes());
    for (k, v) in headers {
        head.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(&head).await.expect("write");
    let mut raw = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), stream.read_to_end(&mut raw)).await;
    if !matches!(read, Ok(Ok(_))) && raw.is_empty() {
        return RawAnswer { status: 0, headers: Vec::new(), body: String::new() };
    }
    parse(&raw)
}

fn parse(raw: &[u8]) -> RawAnswer {
    let text = String::from_utf8_lossy(raw);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return RawAnswer { status: 0, headers: Vec::new(), body: text.into_owned() };
    };
    let mut lines = head.split("\r\n");
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect::<Vec<_>>();
    let chunked = headers.iter().any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked { dechunk(body) } else { body.to_owned() };
    RawAnswer { status, headers, body }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else { break };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}
