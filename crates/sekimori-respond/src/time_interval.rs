//! Named time intervals (mute windows such as maintenance nights), as Alertmanager's
//! `time_intervals`: weekdays and times of day in a time zone.

use serde::Deserialize;

/// A named set of time specs; it contains a moment that any of them contains.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeInterval {
    /// The name routes refer to.
    pub name: String,
    /// The specs.
    pub time_intervals: Vec<TimeSpec>,
}

/// Weekdays and times of day in one time zone; an empty list means every day or all day.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeSpec {
    /// `monday`, or ranges such as `monday:friday`.
    #[serde(default)]
    pub weekdays: Vec<String>,
    /// Times of day.
    #[serde(default)]
    pub times: Vec<TimeRange>,
    /// IANA time zone the spec is read in (default `UTC`).
    #[serde(default)]
    pub location: Option<String>,
}

/// `start_time` (inclusive) to `end_time` (exclusive), `HH:MM`, `24:00` allowed as an end.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeRange {
    /// Start.
    pub start_time: String,
    /// End.
    pub end_time: String,
}

const DAYS: [&str; 7] = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];

fn day(name: &str) -> Result<u8, String> {
    DAYS.iter()
        .position(|d| d.eq_ignore_ascii_case(name.trim()))
        .and_then(|i| u8::try_from(i).ok())
        .ok_or_else(|| format!("{name:?} is not a weekday"))
}

fn minutes(text: &str) -> Result<u16, String> {
    let bad = || format!("{text:?} is not a time of day (HH:MM)");
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m >= 60 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

impl TimeSpec {
    fn days(&self) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        for w in &self.weekdays {
            match w.split_once(':') {
                Some((a, b)) => {
                    let (a, b) = (day(a)?, day(b)?);
                    if a > b {
                        return Err(format!("{w:?}: the range runs backwards"));
                    }
                    out.extend(a..=b);
                }
                None => out.push(day(w)?),
            }
        }
        Ok(out)
    }

    fn ranges(&self) -> Result<Vec<(u16, u16)>, String> {
        self.times
            .iter()
            .map(|t| {
                let (a, b) = (minutes(&t.start_time)?, minutes(&t.end_time)?);
                if a >= b {
                    return Err(format!(
                        "{}-{}: the start must be before the end (split a range over midnight in two)",
                        t.start_time, t.end_time
                    ));
                }
                Ok((a, b))
            })
            .collect()
    }

    fn zone(&self) -> Result<jiff::tz::TimeZone, String> {
        match &self.location {
            None => Ok(jiff::tz::TimeZone::UTC),
            Some(name) => jiff::tz::TimeZone::get(name).map_err(|_| format!("{name:?} is not an IANA time zone")),
        }
    }

    fn contains(&self, now_ms: i64) -> bool {
        let (Ok(days), Ok(ranges), Ok(zone)) = (self.days(), self.ranges(), self.zone()) else { return false };
        let Ok(at) = jiff::Timestamp::from_millisecond(now_ms) else { return false };
        let local = at.to_zoned(zone);
        let weekday = u8::try_from(local.weekday().to_monday_zero_offset()).unwrap_or(u8::MAX);
        let minute = u16::try_from(i32::from(local.hour()) * 60 + i32::from(local.minute())).unwrap_or(u16::MAX);
        (days.is_empty() || days.contains(&weekday))
            && (ranges.is_empty() || ranges.iter().any(|&(a, b)| a <= minute && minute < b))
    }
}

impl TimeInterval {
    /// Checks the specs: `Err` says what is wrong.
    pub fn check(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("a time interval needs a name".into());
        }
        for (i, spec) in self.time_intervals.iter().enumerate() {
            spec.days()
                .and(spec.ranges())
                .and(spec.zone().map(|_| ()))
                .map_err(|e| format!("time_intervals[{i}]: {e}"))?;
        }
        Ok(())
    }

    /// Whether `now_ms` falls in the interval.
    pub fn contains(&self, now_ms: i64) -> bool {
        self.time_intervals.iter().any(|s| s.contains(now_ms))
    }
}
