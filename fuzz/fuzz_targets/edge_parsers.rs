//! What the server reads off the edge before any rule runs: a forward-auth original path
//! (normalised exactly once: the result is in normal form and a fixed point, and a path
//! refused stays refused however it is wrapped), and the client address behind proxies
//! (CIDR ranges, `X-Forwarded-For` / `Forwarded` hops: an untrusted peer is always the
//! client, and the answer is the peer or one of the hops).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sekimori_core::net::{forwarded_hops, Cidr, TrustedProxies};
use sekimori_gate::forward::NormalPath;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(p) = NormalPath::parse(text) {
        let n = p.as_str();
        assert!(n.starts_with('/'), "{text:?} -> {n:?}");
        assert!(!n.contains("//"), "{text:?} -> {n:?}");
        assert!(!n.split('/').any(|s| s == "." || s == ".."), "{text:?} -> {n:?}");
        assert!(!n.contains('\\') && !n.chars().any(char::is_control), "{text:?} -> {n:?}");
        let again = NormalPath::parse(&n.replace('%', "%25")).expect("a normal path parses again");
        assert_eq!(again.as_str(), n, "{text:?}");
    }
    let _ = text.parse::<Cidr>();
    let (ranges, rest) = text.split_once('\n').unwrap_or((text, ""));
    let trusted = TrustedProxies::new(ranges.split(',').filter_map(|r| r.parse().ok()).collect());
    let hops = forwarded_hops(&[rest], &[]);
    let by_forwarded = forwarded_hops(&[], &[rest]);
    let peer: std::net::IpAddr = "127.0.0.1".parse().expect("ip");
    for list in [&hops, &by_forwarded] {
        // Behind proxies the answer is the peer or one of the hops; it must not panic.
        let client = trusted.client(peer, list);
        assert!(client == peer || !list.is_empty(), "{client} from no hops");
        assert_eq!(TrustedProxies::default().client(peer, list), peer, "an untrusted peer is the client");
    }
});
