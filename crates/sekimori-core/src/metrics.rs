//! The Prometheus text exposition format (version 0.0.4): what `GET /metrics` answers.
//! Each service that counts something implements [`MetricSource`] and writes its families
//! into an [`Exposition`]; the server concatenates them. Names follow Prometheus
//! conventions: a `sekimori_` prefix, units in the name, `_total` for counters.

use std::fmt::Write as _;

/// A metric family's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Only goes up (reset at restart).
    Counter,
    /// Goes up and down.
    Gauge,
    /// Observations in cumulative buckets, with `_sum` and `_count`.
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// Something that contributes metric families to `/metrics`.
pub trait MetricSource: Send + Sync {
    /// Writes this source's families.
    fn write_metrics(&self, out: &mut Exposition);
}

/// A text exposition being written.
#[derive(Debug, Default)]
pub struct Exposition {
    text: String,
}

/// Escapes a label value: backslash, double quote and line feed.
fn escape_label(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

/// Escapes HELP text: backslash and line feed.
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

fn labels(pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}=\"{}\"", escape_label(v))).collect();
    format!("{{{}}}", inner.join(","))
}

fn number(v: f64) -> String {
    if v.is_infinite() {
        if v > 0.0 { "+Inf" } else { "-Inf" }.to_owned()
    } else if v.is_nan() {
        "NaN".to_owned()
    } else {
        format!("{v}")
    }
}

impl Exposition {
    /// A new, empty exposition.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a family: its `# HELP` and `# TYPE` lines. Write each family once, with all
    /// its samples after it.
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.text, "# TYPE {name} {}", kind.as_str());
    }

    /// One sample of the family just started.
    pub fn sample(&mut self, name: &str, labels_: &[(&str, &str)], value: f64) {
        let _ = writeln!(self.text, "{name}{} {}", labels(labels_), number(value));
    }

    /// A family with one unlabelled sample.
    pub fn single(&mut self, name: &str, kind: Kind, help: &str, value: f64) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }

    /// The samples of one histogram series: `bounds` are the buckets' upper bounds
    /// (ascending, without `+Inf`), `counts` the observations in each bucket (not
    /// cumulative, one more than `bounds`: the last is above every bound).
    pub fn histogram(&mut self, name: &str, labels_: &[(&str, &str)], bounds: &[f64], counts: &[u64], sum: f64) {
        let mut cumulative = 0u64;
        for (i, c) in counts.iter().enumerate() {
            cumulative += c;
            let le = bounds.get(i).map_or_else(|| "+Inf".to_owned(), |b| number(*b));
            let mut with_le: Vec<(&str, &str)> = labels_.to_vec();
            with_le.push(("le", &le));
            let _ = writeln!(self.text, "{name}_bucket{} {cumulative}", labels(&with_le));
        }
        let _ = writeln!(self.text, "{name}_sum{} {}", labels(labels_), number(sum));
        let _ = writeln!(self.text, "{name}_count{} {cumulative}", labels(labels_));
    }

    /// The text.
    pub fn finish(self) -> String {
        self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_text_format() {
        let mut e = Exposition::new();
        e.family("sekimori_x_total", Kind::Counter, "Things.\nCounted.");
        e.sample("sekimori_x_total", &[("source", "a\"b\\c\nd")], 3.0);
        e.family("sekimori_t_seconds", Kind::Histogram, "Time.");
        e.histogram("sekimori_t_seconds", &[("class", "device")], &[0.1, 1.0], &[2, 1, 1], 2.5);
        assert_eq!(
            e.finish(),
            "# HELP sekimori_x_total Things.\\nCounted.\n# TYPE sekimori_x_total counter\n\
             sekimori_x_total{source=\"a\\\"b\\\\c\\nd\"} 3\n\
             # HELP sekimori_t_seconds Time.\n# TYPE sekimori_t_seconds histogram\n\
             sekimori_t_seconds_bucket{class=\"device\",le=\"0.1\"} 2\n\
             sekimori_t_seconds_bucket{class=\"device\",le=\"1\"} 3\n\
             sekimori_t_seconds_bucket{class=\"device\",le=\"+Inf\"} 4\n\
             sekimori_t_seconds_sum{class=\"device\"} 2.5\n\
             sekimori_t_seconds_count{class=\"device\"} 4\n"
        );
    }
}
