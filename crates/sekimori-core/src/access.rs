//! Login-time rules: the weekdays and hours a user (or a group) may log in, in the
//! tenant's time zone.
//!
//! As JSON, a list of windows:
//! `[{"days": ["mon","tue","wed","thu","fri"], "from": "08:00", "until": "19:00"}]`.
//! A window whose `until` is not after its `from` runs over midnight into the next day
//! (`{"days": ["fri"], "from": "22:00", "until": "06:00"}` is Friday 22:00 to Saturday
//! 06:00). `until` is exclusive. An empty list allows no time at all; no rule (absent)
//! allows any time.

use serde::{Deserialize, Serialize};

/// Weekday names, Monday first (ISO 8601).
pub const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Minutes in a day.
const DAY_MINUTES: u16 = 24 * 60;

/// Why login hours were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("login_hours[{index}].{field}: {reason}")]
pub struct HoursError {
    /// Which window.
    pub index: usize,
    /// Which member.
    pub field: &'static str,
    /// What is wrong.
    pub reason: String,
}

/// One window as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HoursWindow {
    /// Days the window starts on: `mon` … `sun`.
    pub days: Vec<String>,
    /// Start, `HH:MM` (24-hour).
    pub from: String,
    /// End, `HH:MM`, exclusive; `24:00` is the end of the day.
    pub until: String,
}

/// Parsed login hours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginHours {
    /// (start day bit set, from minute, until minute).
    windows: Vec<(u8, u16, u16)>,
}

fn minutes(text: &str, allow_24: bool) -> Option<u16> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) if allow_24 => Some(DAY_MINUTES),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

impl LoginHours {
    /// Parses the written form; the error names the window and member.
    pub fn parse(windows: &[HoursWindow]) -> Result<Self, HoursError> {
        if windows.len() > 64 {
            return Err(HoursError { index: 64, field: "days", reason: "at most 64 windows".into() });
        }
        let mut parsed = Vec::with_capacity(windows.len());
        for (index, w) in windows.iter().enumerate() {
            let err = |field: &'static str, reason: String| HoursError { index, field, reason };
            if w.days.is_empty() {
                return Err(err("days", "must name at least one day".into()));
            }
            let mut days = 0u8;
            for d in &w.days {
                let i = DAYS
                    .iter()
                    .position(|n| n.eq_ignore_ascii_case(d))
                    .ok_or_else(|| err("days", format!("{d:?} is not one of {}", DAYS.join(", "))))?;
                days |= 1 << i;
            }
            let from = minutes(&w.from, false).ok_or_else(|| err("from", format!("{:?} is not HH:MM", w.from)))?;
            let until =
                minutes(&w.until, true).ok_or_else(|| err("until", format!("{:?} is not HH:MM or 24:00", w.until)))?;
            parsed.push((days, from, until));
        }
        Ok(LoginHours { windows: parsed })
    }

    /// Whether a local time (weekday 0 = Monday, minute of the day) is inside a window.
    pub fn allows(&self, weekday: u8, minute: u16) -> bool {
        let yesterday = (weekday + 6) % 7;
        self.windows.iter().any(|&(days, from, until)| {
            let starts_today = days & (1 << weekday) != 0;
            if from < until {
                starts_today && (from..until).contains(&minute)
            } else {
                // Over midnight: the evening part today, or the morning part of a window
                // that started yesterday.
                (starts_today && minute >= from) || (days & (1 << yesterday) != 0 && minute < until)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(json: &str) -> LoginHours {
        let windows: Vec<HoursWindow> = serde_json::from_str(json).expect("json");
        LoginHours::parse(&windows).expect("valid")
    }

    const MON: u8 = 0;
    const FRI: u8 = 4;
    const SAT: u8 = 5;
    const SUN: u8 = 6;

    #[test]
    fn office_hours_allow_weekdays_only() {
        let h = hours(r#"[{"days":["mon","tue","wed","thu","fri"],"from":"08:00","until":"19:00"}]"#);
        assert!(h.allows(MON, 8 * 60));
        assert!(h.allows(FRI, 19 * 60 - 1));
        assert!(!h.allows(FRI, 19 * 60), "until is exclusive");
        assert!(!h.allows(MON, 7 * 60 + 59));
        assert!(!h.allows(SAT, 12 * 60));
    }

    #[test]
    fn a_night_shift_runs_over_midnight_into_the_next_day() {
        let h = hours(r#"[{"days":["fri"],"from":"22:00","until":"06:00"}]"#);
        assert!(h.allows(FRI, 23 * 60));
        assert!(h.allows(SAT, 5 * 60 + 59));
        assert!(!h.allows(SAT, 6 * 60));
        assert!(!h.allows(FRI, 5 * 60), "Friday morning belongs to a Thursday window");
        let sunday = hours(r#"[{"days":["sun"],"from":"20:00","until":"02:00"}]"#);
        assert!(sunday.allows(MON, 60), "Sunday's window runs into Monday");
        assert!(!sunday.allows(SUN, 60));
    }

    #[test]
    fn whole_days_and_no_windows() {
        let h = hours(r#"[{"days":["sat","sun"],"from":"00:00","until":"24:00"}]"#);
        assert!(h.allows(SAT, 0) && h.allows(SUN, 24 * 60 - 1));
        assert!(!h.allows(MON, 0));
        assert!(!hours("[]").allows(MON, 600), "an empty list allows nothing");
    }

    #[test]
    fn mistakes_name_the_window_and_member() {
        let bad = |json: &str| {
            let w: Vec<HoursWindow> = serde_json::from_str(json).expect("json");
            LoginHours::parse(&w).expect_err("invalid").to_string()
        };
        assert_eq!(
            bad(r#"[{"days":["mon"],"from":"8:00","until":"19:00"}]"#),
            "login_hours[0].from: \"8:00\" is not HH:MM"
        );
        assert!(bad(
            r#"[{"days":["mon"],"from":"08:00","until":"19:00"},{"days":["funday"],"from":"08:00","until":"09:00"}]"#
        )
        .starts_with("login_hours[1].days: \"funday\""));
        assert!(bad(r#"[{"days":[],"from":"08:00","until":"19:00"}]"#).contains("at least one day"));
        assert!(bad(r#"[{"days":["mon"],"from":"24:00","until":"19:00"}]"#).contains(".from"));
        assert!(bad(r#"[{"days":["mon"],"from":"08:00","until":"25:00"}]"#).contains(".until"));
    }

    proptest::proptest! {
        #[test]
        fn any_time_gets_an_answer(day in 0u8..7, minute in 0u16..1440, from in 0u16..1440, until in 1u16..=1440) {
            let w = HoursWindow {
                days: vec![DAYS[usize::from(day)].into()],
                from: format!("{:02}:{:02}", from / 60, from % 60),
                until: format!("{:02}:{:02}", until / 60, until % 60),
            };
            let h = LoginHours::parse(&[w]).expect("valid");
            let inside = h.allows(day, minute);
            if from < until {
                proptest::prop_assert_eq!(inside, (from..until).contains(&minute));
            }
        }
    }
}
