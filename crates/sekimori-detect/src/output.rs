//! Hits and the ways `sekimori hunt` prints them.

use crate::DetectError;
use std::collections::BTreeMap;
use std::io::{self, Write};

use rsigma_eval::EvaluationResult;
use serde::Serialize;
use serde_json::Value;

use crate::rules::{ANONYMOUS_ID_PREFIX, TIMESTAMP_FIELDS};

/// One rule firing on one event (or, for a correlation, on the event that completed it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hit {
    pub rule_id: Option<String>,
    pub title: String,
    pub level: String,
    /// `detection` or `correlation`.
    pub kind: &'static str,
    pub tags: Vec<String>,
    /// The file the event came from (set by the caller).
    pub source: Option<String>,
    /// The event's own time, when it has one.
    pub timestamp: Option<String>,
    /// The fields that matched, `field=value`; a value longer than [`MATCHED_VALUE_CHARS`]
    /// is cut there and ends with [`CUT_MARKER`].
    pub matched: Vec<String>,
    /// On a built-in event given Sysmon's names (Security 4688, …): the fields the rule's
    /// filters read under a `not` that the event does not record. Those filters could not
    /// be checked, so the verdict is unsettled rather than firm (docs/detection.md).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unchecked: Vec<String>,
}

/// The most characters of one field's value a hit repeats in `matched` (a 50 MB event must
/// not make 200 MB of output); the event itself keeps the whole value.
pub const MATCHED_VALUE_CHARS: usize = 1024;
/// What ends a value cut in `matched`, with the length of the whole value.
pub const CUT_MARKER: &str = "…[cut; ";

/// `value`, at most [`MATCHED_VALUE_CHARS`] characters of it.
fn capped(value: String) -> String {
    match value.char_indices().nth(MATCHED_VALUE_CHARS) {
        None => value,
        Some((at, _)) => format!("{}{CUT_MARKER}{} chars]", &value[..at], value.chars().count()),
    }
}

impl Hit {
    pub(crate) fn from_result(r: EvaluationResult) -> Hit {
        let (kind, matched) = match r.as_detection() {
            Some(d) => {
                // rsigma lists the selections of `1 of selection_*` in its HashMap's
                // order, which differs between processes; sorted, the same event gives
                // the same list everywhere (hunt runs, threads, server replicas).
                let mut pairs: Vec<String> = d
                    .matched_fields
                    .iter()
                    .map(|m| {
                        let value = match &m.value {
                            Value::String(s) => s.clone(),
                            other => other.to_string(),
                        };
                        format!("{}={}", m.field, capped(value))
                    })
                    .collect();
                pairs.sort_unstable();
                pairs.dedup();
                ("detection", pairs)
            }
            None => ("correlation", Vec::new()),
        };
        Hit {
            rule_id: r.header.rule_id.clone().filter(|id| !id.starts_with(ANONYMOUS_ID_PREFIX)),
            title: r.header.rule_title.clone(),
            level: r.header.level.map_or("unknown", |l| l.as_str()).to_owned(),
            kind,
            tags: r.header.tags.clone(),
            source: None,
            timestamp: None,
            matched,
            unchecked: Vec::new(),
        }
    }

    /// The title, with the fields whose filters could not be checked.
    fn display_title(&self) -> String {
        if self.unchecked.is_empty() {
            self.title.clone()
        } else {
            format!("{} (unchecked: {})", self.title, self.unchecked.join(", "))
        }
    }

    /// Sets the source file and the event's time ([`event_timestamp`]).
    pub fn with_source(mut self, source: &str, timestamp: Option<String>) -> Hit {
        self.source = Some(source.to_owned());
        self.timestamp = timestamp;
        self
    }
}

/// The time an event records, as a hit shows it: the first of the usual timestamp fields
/// the event has as a string or a number.
pub fn event_timestamp(event: &Value) -> Option<String> {
    TIMESTAMP_FIELDS.iter().find_map(|f| match event.get(*f) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

/// Output formats of `sekimori hunt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Aligned columns for a terminal, then a summary per rule.
    Table,
    Csv,
    /// One JSON array.
    Json,
    /// One JSON object per line.
    Jsonl,
}

impl std::str::FromStr for Format {
    type Err = DetectError;
    fn from_str(s: &str) -> Result<Self, DetectError> {
        match s {
            "table" => Ok(Format::Table),
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            "jsonl" => Ok(Format::Jsonl),
            other => Err(DetectError::UnknownFormat(other.to_owned())),
        }
    }
}

/// Writes `hits` in `format`.
pub fn write_hits(out: &mut dyn Write, hits: &[Hit], format: Format) -> io::Result<()> {
    match format {
        Format::Jsonl | Format::Csv => {
            write_head(out, format)?;
            for h in hits {
                write_hit(out, h, format)?;
            }
        }
        Format::Json => {
            serde_json::to_writer_pretty(&mut *out, hits)?;
            out.write_all(b"\n")?;
        }
        Format::Table => {
            let rows: Vec<[String; 4]> = hits
                .iter()
                .map(|h| {
                    [
                        h.timestamp.clone().unwrap_or_else(|| "-".into()),
                        h.level.clone(),
                        h.display_title(),
                        h.source.clone().unwrap_or_else(|| "-".into()),
                    ]
                })
                .collect();
            write_table(out, &["timestamp", "level", "rule", "source"], &rows)?;
            writeln!(out)?;
            write_summary(out, hits)?;
        }
    }
    Ok(())
}

impl Format {
    /// Whether hits can be written one by one as they are found ([`write_head`],
    /// [`write_hit`]): a line each, no alignment or closing bracket that needs them all.
    pub fn streams(self) -> bool {
        matches!(self, Format::Jsonl | Format::Csv)
    }
}

/// What comes before the hits in a format that [`Format::streams`] (the CSV header).
pub fn write_head(out: &mut dyn Write, format: Format) -> io::Result<()> {
    if format == Format::Csv {
        writeln!(out, "timestamp,level,rule_id,title,kind,source,tags,matched,unchecked")?;
    }
    Ok(())
}

/// One hit in a format that [`Format::streams`]: a JSON line or a CSV row (other formats
/// write nothing here; [`write_hits`] writes them whole).
pub fn write_hit(out: &mut dyn Write, h: &Hit, format: Format) -> io::Result<()> {
    match format {
        Format::Jsonl => {
            serde_json::to_writer(&mut *out, h)?;
            out.write_all(b"\n")
        }
        Format::Csv => {
            let row = [
                h.timestamp.as_deref().unwrap_or(""),
                h.level.as_str(),
                h.rule_id.as_deref().unwrap_or(""),
                h.title.as_str(),
                h.kind,
                h.source.as_deref().unwrap_or(""),
                &h.tags.join(" "),
                &h.matched.join(" "),
                &h.unchecked.join(" "),
            ];
            let cells: Vec<String> = row.iter().map(|c| csv_cell(c)).collect();
            writeln!(out, "{}", cells.join(","))
        }
        Format::Json | Format::Table => Ok(()),
    }
}

/// Hits per rule, most first: the summary table at the end of a hunt.
pub fn write_summary(out: &mut dyn Write, hits: &[Hit]) -> io::Result<()> {
    let mut per_rule: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for h in hits {
        *per_rule.entry((h.title.as_str(), h.level.as_str())).or_default() += 1;
    }
    let unchecked = hits.iter().filter(|h| !h.unchecked.is_empty()).count();
    let mut rows: Vec<_> = per_rule.into_iter().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let rows: Vec<[String; 3]> =
        rows.into_iter().map(|((title, level), n)| [n.to_string(), level.to_owned(), title.to_owned()]).collect();
    write_table(out, &["hits", "level", "rule"], &rows)?;
    writeln!(out, "{} hits from {} rules", hits.len(), rows.len())?;
    if unchecked > 0 {
        writeln!(out, "{unchecked} of them with filters that could not be checked (marked `unchecked:`)")?;
    }
    Ok(())
}

fn write_table<const N: usize>(out: &mut dyn Write, header: &[&str; N], rows: &[[String; N]]) -> io::Result<()> {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        cells.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect::<Vec<_>>().join("  ").trim_end().to_owned()
    };
    writeln!(out, "{}", line(header.to_vec()))?;
    for row in rows {
        writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
    }
    Ok(())
}

/// RFC 4180 quoting, and a leading `'` before a cell a spreadsheet would run as a formula.
fn csv_cell(cell: &str) -> String {
    let cell = if cell.starts_with(['=', '+', '-', '@']) { format!("'{cell}") } else { cell.to_owned() };
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_matched_values_are_cut_with_a_marker() {
        assert_eq!(capped("short".into()), "short");
        let long = "é".repeat(MATCHED_VALUE_CHARS + 5);
        let cut = capped(long);
        assert!(cut.starts_with(&"é".repeat(MATCHED_VALUE_CHARS)));
        assert!(cut.ends_with(&format!("{CUT_MARKER}{} chars]", MATCHED_VALUE_CHARS + 5)), "{cut}");
        assert_eq!(capped("x".repeat(MATCHED_VALUE_CHARS)).len(), MATCHED_VALUE_CHARS);
    }

    use super::*;

    fn hit(title: &str, level: &str) -> Hit {
        Hit {
            rule_id: Some("r1".into()),
            title: title.into(),
            level: level.into(),
            kind: "detection",
            tags: vec!["attack.t1059".into()],
            source: Some("a.json".into()),
            timestamp: Some("2025-01-01T00:00:00Z".into()),
            matched: vec!["Image=cmd.exe".into()],
            unchecked: Vec::new(),
        }
    }

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
    }

    #[test]
    fn every_format_names_rule_level_and_source() {
        let hits = vec![hit("Whoami, run", "medium"), hit("Whoami, run", "medium"), hit("Other", "high")];
        for format in [Format::Table, Format::Csv, Format::Json, Format::Jsonl] {
            let mut out = Vec::new();
            write_hits(&mut out, &hits, format).expect("write");
            let text = String::from_utf8(out).expect("utf-8");
            assert!(text.contains("medium") && text.contains("a.json"), "{format:?}: {text}");
        }
        let mut out = Vec::new();
        write_hits(&mut out, &hits, Format::Jsonl).expect("write");
        let lines: Vec<Value> =
            String::from_utf8(out).expect("utf-8").lines().map(|l| serde_json::from_str(l).expect("json")).collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["rule_id"], "r1");
        assert_eq!(lines[0]["title"], "Whoami, run");
        let mut out = Vec::new();
        write_summary(&mut out, &hits).expect("write");
        let text = String::from_utf8(out).expect("utf-8");
        let first = text.lines().nth(1).expect("row");
        assert!(first.starts_with("2 ") && first.contains("Whoami, run"), "{text}");
        assert!(text.ends_with("3 hits from 2 rules\n"));
    }
}
