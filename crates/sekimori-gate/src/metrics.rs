//! What the gate reports to `/metrics`: the password-hashing queue and the store's state
//! (free space, write-ahead log, connection pool). Logins by method and result come from
//! the audit log (`sekimori-watch`'s metrics), so every node's and every path's are counted
//! the same way.

use sekimori_core::metrics::{Exposition, Kind, MetricSource};

impl MetricSource for crate::Gate {
    fn write_metrics(&self, out: &mut Exposition) {
        let (first, rest) = self.passwords().hash_queue_depth();
        out.family(
            "sekimori_password_hash_queue_depth",
            Kind::Gauge,
            "Password checks waiting for a hashing thread, by lane (first: attempts that look legitimate).",
        );
        out.sample("sekimori_password_hash_queue_depth", &[("lane", "first")], first as f64);
        out.sample("sekimori_password_hash_queue_depth", &[("lane", "rest")], rest as f64);
        let store = &self.ctx.store;
        out.family("sekimori_store_info", Kind::Gauge, "The store's backend (always 1).");
        out.sample("sekimori_store_info", &[("backend", store.backend())], 1.0);
        if let Some(free) = store.free_bytes() {
            out.single(
                "sekimori_store_free_bytes",
                Kind::Gauge,
                "Free space where the embedded store writes.",
                free as f64,
            );
        }
        if let Some(wal) = store.wal_bytes() {
            out.single(
                "sekimori_store_wal_bytes",
                Kind::Gauge,
                "Size of the embedded store's write-ahead log.",
                wal as f64,
            );
        }
        if let Some((open, idle)) = store.pool_connections() {
            out.family(
                "sekimori_store_pool_connections",
                Kind::Gauge,
                "Database connections of this node's pool, by state.",
            );
            out.sample("sekimori_store_pool_connections", &[("state", "idle")], idle as f64);
            out.sample("sekimori_store_pool_connections", &[("state", "busy")], open.saturating_sub(idle) as f64);
        }
        if let Some((waits, seconds)) = store.connection_waits() {
            out.single(
                "sekimori_store_connection_waits_total",
                Kind::Counter,
                "Times this node waited for a database connection (PostgreSQL: the pool; SQLite: the writer).",
                waits as f64,
            );
            out.single(
                "sekimori_store_connection_wait_seconds_total",
                Kind::Counter,
                "Time this node spent waiting for a database connection.",
                seconds,
            );
        }
    }
}
