//! The numbers dashboards show, from the audit roll-ups (counts per hour, action, outcome
//! and label kept as events are written), never from a scan of the events: a month is a few
//! thousand rows however many millions of events it holds.

use std::collections::BTreeMap;
use std::sync::Arc;

use sekimori_core::clock::{DAY_MS, HOUR_MS};
use sekimori_core::{ErrorCode, TenantId, Timestamp};
use sekimori_risk::Decision;
use serde::Serialize;

use crate::{Context, GateError, GateResult};

/// The width of a series' buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Bucket {
    /// An hour.
    Hour,
    /// A day (UTC).
    Day,
}

impl Bucket {
    /// Parses `hour` or `day`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "hour" => Some(Bucket::Hour),
            "day" => Some(Bucket::Day),
            _ => None,
        }
    }

    /// Its width, ms.
    pub fn millis(self) -> i64 {
        match self {
            Bucket::Hour => HOUR_MS,
            Bucket::Day => DAY_MS,
        }
    }
}

/// A count with its labels.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Count {
    /// A login method, or an audit action.
    pub key: String,
    /// A login result, or an outcome.
    pub result: String,
    /// How many.
    pub n: i64,
}

/// One bucket of the series.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Point {
    /// The bucket's start (RFC 3339).
    pub at: String,
    /// Successful login steps.
    pub logins_succeeded: i64,
    /// Failed, refused or locked login steps.
    pub logins_failed: i64,
    /// Push requests refused outside a standby window (never reached a phone).
    pub pushes_refused_outside_standby: i64,
    /// Logins the risk engine judged REVIEW (asked for another factor).
    pub risk_review: i64,
    /// Logins the risk engine judged NG (refused, where the policy enforces it).
    pub risk_ng: i64,
    /// Logins judged from an environment the user had not used before.
    pub new_environments: i64,
}

/// Login risk verdicts over a range (docs/risk.md), from the roll-ups' labels.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Verdicts {
    pub ok: i64,
    pub review: i64,
    pub ng: i64,
    /// Of all of them, those from an environment the user had not used before.
    pub new_environments: i64,
}

impl Verdicts {
    /// Counts `n` assessments with `decision` (`None`: one without a decision), `new` when
    /// from a new environment.
    fn count(&mut self, decision: Option<Decision>, new: bool, n: i64) {
        match decision {
            Some(Decision::Ok) => self.ok += n,
            Some(Decision::Review) => self.review += n,
            Some(Decision::Ng) => self.ng += n,
            None => {}
        }
        if new {
            self.new_environments += n;
        }
    }
}

impl Point {
    /// The per-bucket part of [`Verdicts::count`]: REVIEW, NG and new environments.
    fn count_risk(&mut self, decision: Option<Decision>, new: bool, n: i64) {
        match decision {
            Some(Decision::Review) => self.risk_review += n,
            Some(Decision::Ng) => self.risk_ng += n,
            Some(Decision::Ok) | None => {}
        }
        if new {
            self.new_environments += n;
        }
    }
}

/// A dashboard's numbers for a time range.
#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    /// The range's start, rounded down to its hour (RFC 3339).
    pub since: String,
    /// The range's end, exclusive (RFC 3339).
    pub until: String,
    /// The series' bucket.
    pub bucket: Bucket,
    /// Login steps by method and result over the range.
    pub logins: Vec<Count>,
    /// Every audit action by outcome over the range.
    pub actions: Vec<Count>,
    /// Login risk verdicts over the range.
    pub risk: Verdicts,
    /// Per bucket, oldest first (empty buckets included).
    pub series: Vec<Point>,
}

/// Reads the roll-ups into dashboards.
pub struct Dashboards {
    ctx: Arc<Context>,
}

/// The longest range a dashboard covers: a year.
pub const MAX_RANGE_MS: i64 = 366 * DAY_MS;

/// Refuses a range that is empty, backwards or longer than [`MAX_RANGE_MS`] (naming
/// `until`): every dashboard's ranges are checked the same way.
pub fn check_range(since: Timestamp, until: Timestamp) -> GateResult<()> {
    if until.millis() <= since.millis() || until.millis() - since.millis() > MAX_RANGE_MS {
        return Err(GateError::new(ErrorCode::InvalidRequest, "the range must be positive and at most a year")
            .with("field", "until"));
    }
    Ok(())
}

impl Dashboards {
    pub(crate) fn new(ctx: Arc<Context>) -> Self {
        Dashboards { ctx }
    }

    /// The tenant's numbers from `since` to before `until`.
    pub async fn dashboard(
        &self,
        tenant_id: &TenantId,
        since: Timestamp,
        until: Timestamp,
        bucket: Bucket,
    ) -> GateResult<Dashboard> {
        check_range(since, until)?;
        let rows = self.ctx.store.audit_rollups(tenant_id, since, until).await?;
        let step = bucket.millis();
        let first = since.floor_to(step).millis();
        let mut series: BTreeMap<i64, Point> = BTreeMap::new();
        let mut at = first;
        while at < until.millis() {
            series.insert(
                at,
                Point {
                    at: Timestamp(at).to_rfc3339(),
                    logins_succeeded: 0,
                    logins_failed: 0,
                    pushes_refused_outside_standby: 0,
                    risk_review: 0,
                    risk_ng: 0,
                    new_environments: 0,
                },
            );
            at += step;
        }
        let mut logins: BTreeMap<(String, String), i64> = BTreeMap::new();
        let mut actions: BTreeMap<(String, String), i64> = BTreeMap::new();
        let mut risk = Verdicts::default();
        for r in &rows {
            *actions.entry((r.action.clone(), r.outcome.clone())).or_default() += r.n;
            let mut point = series.get_mut(&Timestamp(r.hour).floor_to(step).millis());
            if r.action == sekimori_core::ecs::action::AUTH_RISK_ASSESSED {
                let (decision, new) = sekimori_core::ecs::risk_of_label(&r.label);
                let decision = sekimori_risk::Decision::parse(decision);
                risk.count(decision, new, r.n);
                if let Some(p) = point.as_deref_mut() {
                    p.count_risk(decision, new, r.n);
                }
            }
            if let Some((method, result)) = sekimori_core::ecs::login_of(&r.action) {
                *logins.entry((method.to_owned(), result.to_owned())).or_default() += r.n;
                if let Some(p) = point {
                    if result == "success" {
                        p.logins_succeeded += r.n;
                    } else {
                        p.logins_failed += r.n;
                    }
                    if result == "outside_standby" {
                        p.pushes_refused_outside_standby += r.n;
                    }
                }
            }
        }
        let counts = |m: BTreeMap<(String, String), i64>| {
            m.into_iter().map(|((key, result), n)| Count { key, result, n }).collect::<Vec<_>>()
        };
        Ok(Dashboard {
            since: since.floor_to(HOUR_MS).to_rfc3339(),
            until: until.to_rfc3339(),
            bucket,
            logins: counts(logins),
            actions: counts(actions),
            risk,
            series: series.into_values().collect(),
        })
    }
}
