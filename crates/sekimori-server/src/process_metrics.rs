//! The process's own metrics, under the names every Prometheus client library uses
//! (`process_cpu_seconds_total`, `process_resident_memory_bytes`, …), read from `/proc` on
//! Linux; elsewhere none are written.

use sekimori_core::metrics::{Exposition, Kind};

/// Writes the process families.
pub fn write(out: &mut Exposition) {
    #[cfg(target_os = "linux")]
    linux(out);
    #[cfg(not(target_os = "linux"))]
    let _ = out;
}

#[cfg(target_os = "linux")]
fn linux(out: &mut Exposition) {
    let ticks = rustix::param::clock_ticks_per_second() as f64;
    let page = rustix::param::page_size() as f64;
    if let Some(stat) = std::fs::read_to_string("/proc/self/stat").ok().and_then(|s| parse_stat(&s)) {
        out.single(
            "process_cpu_seconds_total",
            Kind::Counter,
            "Total user and system CPU time spent in seconds.",
            (stat.utime + stat.stime) as f64 / ticks,
        );
        out.single("process_virtual_memory_bytes", Kind::Gauge, "Virtual memory size in bytes.", stat.vsize as f64);
        out.single(
            "process_resident_memory_bytes",
            Kind::Gauge,
            "Resident memory size in bytes.",
            stat.rss as f64 * page,
        );
        if let Some(boot) = boot_time() {
            out.single(
                "process_start_time_seconds",
                Kind::Gauge,
                "Start time of the process since unix epoch in seconds.",
                boot as f64 + stat.starttime as f64 / ticks,
            );
        }
    }
    if let Ok(fds) = std::fs::read_dir("/proc/self/fd") {
        out.single("process_open_fds", Kind::Gauge, "Number of open file descriptors.", fds.count() as f64);
    }
    if let Some(limit) = rustix::process::getrlimit(rustix::process::Resource::Nofile).current {
        out.single("process_max_fds", Kind::Gauge, "Maximum number of open file descriptors.", limit as f64);
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Stat {
    utime: u64,
    stime: u64,
    starttime: u64,
    vsize: u64,
    rss: u64,
}

/// Fields of `/proc/self/stat` (proc(5)); the command name may hold spaces and
/// parentheses, so the fields are counted from the last `)`.
fn parse_stat(text: &str) -> Option<Stat> {
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, so field n is f[n - 3].
    let n = |i: usize| f.get(i - 3).and_then(|v| v.parse::<u64>().ok());
    Some(Stat { utime: n(14)?, stime: n(15)?, starttime: n(22)?, vsize: n(23)?, rss: n(24)? })
}

#[cfg(target_os = "linux")]
fn boot_time() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    text.lines().find_map(|l| l.strip_prefix("btime ")).and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_after_the_name() {
        let line = "4242 (a (weird) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 12345 987654321 2048 18446744073709551615";
        assert_eq!(
            parse_stat(line),
            Some(Stat { utime: 250, stime: 50, starttime: 12345, vsize: 987_654_321, rss: 2048 })
        );
        assert_eq!(parse_stat("garbage"), None);
    }
}
