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

/// What is wrong with a time interval.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeIntervalError {
    /// No name.
    #[error("a time interval needs a name")]
    NoName,
    /// Not a weekday name.
    #[error("time_intervals[{spec}]: {name:?} is not a weekday")]
    Weekday {
        /// Which spec.
        spec: usize,
        /// What was written.
        name: String,
    },
    /// A weekday range that runs backwards.
    #[error("time_intervals[{spec}]: {range:?}: the range runs backwards")]
    Backwards {
        /// Which spec.
        spec: usize,
        /// What was written.
        range: String,
    },
    /// Not `HH:MM`.
    #[error("time_intervals[{spec}]: {text:?} is not a time of day (HH:MM)")]
    TimeOfDay {
        /// Which spec.
        spec: usize,
        /// What was written.
        text: String,
    },
    /// A start not before its end.
    #[error(
        "time_intervals[{spec}]: {start}-{end}: the start must be before the end (split a range over midnight in two)"
    )]
    Empty {
        /// Which spec.
        spec: usize,
        /// The start as written.
        start: String,
        /// The end as written.
        end: String,
    },
    /// Not an IANA time zone.
    #[error("time_intervals[{spec}]: {zone:?} is not an IANA time zone")]
    Zone {
        /// Which spec.
        spec: usize,
        /// What was written.
        zone: String,
    },
}

fn day(spec: usize, name: &str) -> Result<u8, TimeIntervalError> {
    DAYS.iter()
        .position(|d| d.eq_ignore_ascii_case(name.trim()))
        .and_then(|i| u8::try_from(i).ok())
        .ok_or_else(|| TimeIntervalError::Weekday { spec, name: name.to_owned() })
}

fn minutes(spec: usize, text: &str) -> Result<u16, TimeIntervalError> {
    let bad = || TimeIntervalError::TimeOfDay { spec, text: text.to_owned() };
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    let (h, m): (u16, u16) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m >= 60 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// A spec read once: weekdays (Monday 0; empty: every day), minute ranges (empty: all day),
/// its time zone.
#[derive(Debug, Clone)]
struct CheckedSpec {
    days: Vec<u8>,
    ranges: Vec<(u16, u16)>,
    zone: jiff::tz::TimeZone,
}

impl TimeSpec {
    fn checked(&self, spec: usize) -> Result<CheckedSpec, TimeIntervalError> {
        let mut days = Vec::new();
        for w in &self.weekdays {
            match w.split_once(':') {
                Some((a, b)) => {
                    let (a, b) = (day(spec, a)?, day(spec, b)?);
                    if a > b {
                        return Err(TimeIntervalError::Backwards { spec, range: w.clone() });
                    }
                    days.extend(a..=b);
                }
                None => days.push(day(spec, w)?),
            }
        }
        let ranges = self
            .times
            .iter()
            .map(|t| {
                let (a, b) = (minutes(spec, &t.start_time)?, minutes(spec, &t.end_time)?);
                if a >= b {
                    return Err(TimeIntervalError::Empty {
                        spec,
                        start: t.start_time.clone(),
                        end: t.end_time.clone(),
                    });
                }
                Ok((a, b))
            })
            .collect::<Result<_, _>>()?;
        let zone = match &self.location {
            None => jiff::tz::TimeZone::UTC,
            Some(name) => {
                jiff::tz::TimeZone::get(name).map_err(|_| TimeIntervalError::Zone { spec, zone: name.clone() })?
            }
        };
        Ok(CheckedSpec { days, ranges, zone })
    }
}

impl CheckedSpec {
    fn contains(&self, at: jiff::Timestamp) -> bool {
        let local = at.to_zoned(self.zone.clone());
        let weekday = u8::try_from(local.weekday().to_monday_zero_offset()).unwrap_or(u8::MAX);
        let minute = u16::try_from(i32::from(local.hour()) * 60 + i32::from(local.minute())).unwrap_or(u16::MAX);
        (self.days.is_empty() || self.days.contains(&weekday))
            && (self.ranges.is_empty() || self.ranges.iter().any(|&(a, b)| a <= minute && minute < b))
    }
}

/// A time interval whose specs were read and checked once.
#[derive(Debug, Clone)]
pub struct CheckedInterval {
    specs: Vec<CheckedSpec>,
}

impl CheckedInterval {
    /// Whether `now_ms` falls in the interval.
    pub fn contains(&self, now_ms: i64) -> bool {
        let Ok(at) = jiff::Timestamp::from_millisecond(now_ms) else { return false };
        self.specs.iter().any(|s| s.contains(at))
    }
}

impl TimeInterval {
    /// Reads and checks the specs once.
    pub fn check(&self) -> Result<CheckedInterval, TimeIntervalError> {
        if self.name.trim().is_empty() {
            return Err(TimeIntervalError::NoName);
        }
        let specs = self.time_intervals.iter().enumerate().map(|(i, s)| s.checked(i)).collect::<Result<_, _>>()?;
        Ok(CheckedInterval { specs })
    }
}
