//! What the detection services count for `/metrics`: events accepted and malformed per
//! ingest source, alerts raised, Sekimori's own audit events by action and outcome (the
//! logins among them by method and result), rule evaluation time, and the syslog
//! listeners' counters. Counters live in this process (Prometheus sums the nodes); the
//! audit follower judges each audit event once in a cluster, so each is counted once.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use sekimori_core::metrics::{Exposition, Kind, MetricSource};

/// Upper bounds of the rule-evaluation histogram, seconds.
pub const EVAL_BUCKETS: [f64; 10] = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0];

#[derive(Debug, Default, Clone, Copy)]
struct SourceCounts {
    accepted: u64,
    malformed: u64,
    alerts: u64,
}

/// The detection services' counters.
#[derive(Debug, Default)]
pub struct WatchMetrics {
    sources: Mutex<BTreeMap<String, SourceCounts>>,
    audit: Mutex<BTreeMap<(String, String), u64>>,
    notifications: Mutex<BTreeMap<(String, &'static str), u64>>,
    eval_buckets: [AtomicU64; EVAL_BUCKETS.len() + 1],
    eval_micros: AtomicU64,
    events_judged: AtomicU64,
}

impl WatchMetrics {
    /// A batch from `source` was judged and stored.
    pub(crate) fn ingested(&self, source: &str, accepted: usize, malformed: usize, alerts: usize) {
        let mut m = self.sources.lock().unwrap_or_else(|p| p.into_inner());
        let c = m.entry(source.to_owned()).or_default();
        c.accepted += accepted as u64;
        c.malformed += malformed as u64;
        c.alerts += alerts as u64;
    }

    /// Audit events judged by the follower.
    pub(crate) fn audited<'a>(&self, events: impl Iterator<Item = (&'a str, &'a str)>) {
        let mut m = self.audit.lock().unwrap_or_else(|p| p.into_inner());
        for (action, outcome) in events {
            *m.entry((action.to_owned(), outcome.to_owned())).or_default() += 1;
        }
    }

    /// A notification to `channel` ended, delivered or failed after its retries.
    pub(crate) fn notified(&self, channel: &str, delivered: bool) {
        let mut m = self.notifications.lock().unwrap_or_else(|p| p.into_inner());
        *m.entry((channel.to_owned(), if delivered { "delivered" } else { "failed" })).or_default() += 1;
    }

    /// The rules ran over `events` events in `seconds`.
    pub(crate) fn evaluated(&self, events: usize, seconds: f64) {
        let i = EVAL_BUCKETS.iter().position(|b| seconds <= *b).unwrap_or(EVAL_BUCKETS.len());
        self.eval_buckets[i].fetch_add(1, Ordering::Relaxed);
        self.eval_micros.fetch_add((seconds * 1e6) as u64, Ordering::Relaxed);
        self.events_judged.fetch_add(events as u64, Ordering::Relaxed);
    }

    fn write(&self, out: &mut Exposition, listeners: &[crate::syslog::ListenerReport]) {
        let sources = self.sources.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for (name, help, get) in [
            (
                "sekimori_ingest_events_accepted_total",
                "Events judged and stored, by ingest source (`sekimori` for Sekimori's own audit events).",
                (|c: &SourceCounts| c.accepted) as fn(&SourceCounts) -> u64,
            ),
            (
                "sekimori_ingest_events_malformed_total",
                "Documents that could not be read, kept as dead letters, by source.",
                |c| c.malformed,
            ),
            ("sekimori_alerts_raised_total", "Alerts raised, by the source of the events that raised them.", |c| {
                c.alerts
            }),
        ] {
            out.family(name, Kind::Counter, help);
            for (source, c) in &sources {
                out.sample(name, &[("source", source)], get(c) as f64);
            }
        }
        let audit = self.audit.lock().unwrap_or_else(|p| p.into_inner()).clone();
        out.family("sekimori_audit_events_total", Kind::Counter, "Sekimori's own audit events, by action and outcome.");
        for ((action, outcome), n) in &audit {
            out.sample("sekimori_audit_events_total", &[("action", action), ("outcome", outcome)], *n as f64);
        }
        let mut logins: BTreeMap<(&str, &str), u64> = BTreeMap::new();
        for ((action, _), n) in &audit {
            if let Some(k) = sekimori_core::ecs::login_of(action) {
                *logins.entry(k).or_default() += n;
            }
        }
        out.family(
            "sekimori_logins_total",
            Kind::Counter,
            "Login steps by method and result (push outside_standby: attempts refused before reaching a phone).",
        );
        for ((method, result), n) in &logins {
            out.sample("sekimori_logins_total", &[("method", method), ("result", result)], *n as f64);
        }
        let notifications = self.notifications.lock().unwrap_or_else(|p| p.into_inner()).clone();
        out.family(
            "sekimori_notifications_total",
            Kind::Counter,
            "Alert notifications (email, Slack, Teams, webhooks) by channel and result, after retries.",
        );
        for ((channel, result), n) in &notifications {
            out.sample("sekimori_notifications_total", &[("channel", channel), ("result", result)], *n as f64);
        }
        let counts: Vec<u64> = self.eval_buckets.iter().map(|b| b.load(Ordering::Relaxed)).collect();
        out.family(
            "sekimori_rule_evaluation_seconds",
            Kind::Histogram,
            "Time to run the rules over one batch of events.",
        );
        let sum = self.eval_micros.load(Ordering::Relaxed) as f64 / 1e6;
        out.histogram("sekimori_rule_evaluation_seconds", &[], &EVAL_BUCKETS, &counts, sum);
        out.single(
            "sekimori_rule_evaluated_events_total",
            Kind::Counter,
            "Events run through the rules.",
            self.events_judged.load(Ordering::Relaxed) as f64,
        );
        type Get = fn(&crate::syslog::ListenerReport) -> u64;
        for (name, help, get) in [
            (
                "sekimori_syslog_messages_received_total",
                "Syslog messages received, by listener.",
                (|r| r.received) as Get,
            ),
            (
                "sekimori_syslog_messages_dropped_total",
                "Syslog messages lost (full queue, store refusals), by listener.",
                |r| r.dropped,
            ),
            (
                "sekimori_syslog_messages_malformed_total",
                "Syslog messages that were not syslog or too long, by listener.",
                |r| r.malformed,
            ),
            ("sekimori_syslog_connections_total", "TCP/TLS connections accepted, by listener.", |r| r.connections),
        ] {
            out.family(name, Kind::Counter, help);
            for r in listeners {
                out.sample(name, &[("listener", &r.url), ("source_id", &r.source_id)], get(r) as f64);
            }
        }
        out.family(
            "sekimori_syslog_kernel_dropped_total",
            Kind::Counter,
            "UDP datagrams the kernel dropped at a full socket buffer.",
        );
        for r in listeners {
            if let Some(d) = r.kernel_dropped {
                out.sample(
                    "sekimori_syslog_kernel_dropped_total",
                    &[("listener", &r.url), ("source_id", &r.source_id)],
                    d as f64,
                );
            }
        }
    }
}

impl MetricSource for crate::Watch {
    fn write_metrics(&self, out: &mut Exposition) {
        self.metrics.write(out, &self.listener_stats());
    }
}
