//! Risk evaluation per attempt, without external providers: 100,000 users' behaviour
//! profiles held (as the store would hand one back), a 1,000,000-entry address list
//! loaded, and attempts that mix known users, new environments, listed addresses and
//! velocity. `cargo bench -p sekimori-risk --bench evaluate` (`SEKIMORI_BENCH_USERS`,
//! `SEKIMORI_BENCH_LIST`, `SEKIMORI_BENCH_ATTEMPTS`). Prints the list's load time, the
//! lookup cost, and the p50/p99/max of one evaluation (facts gathered in memory: list
//! lookups, velocity counters and the engine), on one thread.

#![allow(clippy::disallowed_methods)] // reason: a benchmark measures wall-clock time

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use sekimori_detect::baseline::{Baselines, Fix, Profile, Seen};
use sekimori_risk::{evaluate, AddressList, Facts, Policy, Reputation, Velocity};

const DAY: i64 = 86_400_000;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// A small deterministic generator (xorshift), so runs compare.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn profile(i: usize) -> Profile {
    let mut p = Profile { first: 0, events: 100 + (i as u64 % 400), ..Profile::default() };
    let seen = Seen { first: 0, last: 29 * DAY, count: 50 };
    let countries = ["JP", "US", "DE", "BR", "IN"];
    for (kind, value) in [
        ("country", countries[i % countries.len()].to_owned()),
        ("network", format!("10.{}.{}.0/24", (i >> 8) & 255, i & 255)),
        ("user_agent", "Firefox".to_owned()),
    ] {
        p.seen.entry(kind.into()).or_default().insert(value, seen);
    }
    p.last_fix = Some(Fix { lat: 35.0 + (i % 10) as f64, lon: 139.0, at: 29 * DAY });
    p
}

fn main() {
    let users = env_usize("SEKIMORI_BENCH_USERS", 100_000);
    let list_size = env_usize("SEKIMORI_BENCH_LIST", 1_000_000);
    let attempts = env_usize("SEKIMORI_BENCH_ATTEMPTS", 200_000);
    let mut g = Gen(0x5e1c_0a11_d00d_f00d);

    let profiles: HashMap<String, Profile> = (0..users).map(|i| (format!("user:u{i}"), profile(i))).collect();
    let text: String = (0..list_size)
        .map(|_| {
            let a = Ipv4Addr::from(u32::try_from(g.next() >> 32).unwrap_or(0));
            if g.next().is_multiple_of(10) {
                format!("{a}/24\n")
            } else {
                format!("{a}\n")
            }
        })
        .collect();
    let started = Instant::now();
    let list = AddressList::parse("bench", 60, &text).expect("list");
    let load = started.elapsed();
    let reputation = Reputation::new(vec![list]);

    let probes: Vec<IpAddr> =
        (0..1_000_000).map(|_| IpAddr::V4(Ipv4Addr::from(u32::try_from(g.next() >> 32).unwrap_or(0)))).collect();
    let started = Instant::now();
    let hits: usize = probes.iter().map(|ip| reputation.hits(*ip).len()).sum();
    let lookup_ns = started.elapsed().as_nanos() as f64 / probes.len() as f64;

    let policy = Policy::default();
    let baselines = Baselines::builtin();
    let velocity = Velocity::new(100_000, 1_000);
    let mut times = Vec::with_capacity(attempts);
    let mut decisions = [0usize; 3];
    for n in 0..attempts {
        let user = (g.next() as usize) % users;
        let ip = probes[n % probes.len()];
        let at = 30 * DAY + i64::try_from(n).unwrap_or(0) * 50;
        let started = Instant::now();
        let key = format!("user:u{user}");
        let profile = profiles.get(&key);
        let network = format!("10.{}.{}.0/24", (user >> 8) & 255, user & 255);
        let v = (
            velocity.hit(&key, at, 60_000),
            velocity.hit(&format!("ip:{ip}"), at, 60_000),
            velocity.hit(&format!("net:{network}"), at, 60_000),
        );
        let facts = Facts {
            at,
            profile,
            environment_known: !n.is_multiple_of(5),
            environment_known_for_ms: (!n.is_multiple_of(5)).then_some(30 * 86_400_000),
            country: Some(if n.is_multiple_of(7) { "FR" } else { "JP" }),
            network: Some(&network),
            location: Some((35.0, 139.0)),
            user_agent: Some("Firefox"),
            listed: reputation.hits(ip),
            velocity: v,
            browser: None,
        };
        let verdict = evaluate(&policy, &baselines, &facts);
        times.push(started.elapsed().as_nanos());
        decisions[verdict.decision as usize] += 1;
    }
    // Where the slowest attempts fell (the first ones pay for cold caches and the velocity
    // map's growth; a late one is the host).
    let mut slowest: Vec<(u128, usize)> = times.iter().copied().zip(0..).collect();
    slowest.sort_unstable_by_key(|s| std::cmp::Reverse(s.0));
    let top: Vec<String> = slowest.iter().take(3).map(|(t, i)| format!("#{i} {:.1} us", *t as f64 / 1000.0)).collect();
    times.sort_unstable();
    let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)] as f64 / 1000.0;
    println!(
        "address list: {list_size} entries loaded in {:.2} s; lookup {lookup_ns:.0} ns ({hits} hits in 1M probes)",
        load.as_secs_f64()
    );
    println!(
        "evaluate: {attempts} attempts over {users} profiles: p50 {:.1} us, p99 {:.1} us, max {:.1} us (OK {}, REVIEW {}, NG {})",
        pct(0.5),
        pct(0.99),
        pct(1.0),
        decisions[0],
        decisions[1],
        decisions[2]
    );
    println!("slowest: {}", top.join(", "));
}
