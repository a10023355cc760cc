//! Sekimori's respond engine: where an alert goes, in the manner of Prometheus
//! Alertmanager, with no IO so the server, the CLI (`sekimori alerts route`) and the tests
//! share it.
//!
//! - [`Matcher`]s (`=`, `!=`, `=~`, `!~`, regular expressions anchored at both ends) over an
//!   alert's [`Labels`];
//! - a [`Route`] tree: the first matching child wins unless it says `continue`, a child
//!   inherits its parent's receiver, grouping and timers, and an alert no child takes stays
//!   with the parent ([`RoutingTree::routes_for`]);
//! - [`InhibitRule`]s: a firing source alert mutes matching targets that share the `equal`
//!   labels ([`Inhibitor`] indexes the firing alerts so the check is one lookup per rule);
//! - [`Silence`]s with start, end, author and comment;
//! - mute windows ([`TimeInterval`]: weekdays and times of day in a time zone);
//! - grouping timers ([`Grouper`]: `group_wait`, `group_interval`, `repeat_interval`) driven
//!   by the caller's clock.
//!
//! - how deliveries are retried and paced ([`delivery`]): exponential backoff with full
//!   jitter on transient failures only, `Retry-After`, a token bucket per receiver;
//! - what a notification says on the wire ([`payload`]): the Alertmanager v4 webhook body
//!   with an HMAC-SHA256 signature, a Slack Block Kit message, a Teams Adaptive Card.
//!
//! Time is milliseconds since the Unix epoch, given by the caller; nothing here reads a
//! clock.

pub mod delivery;
mod duration;
pub mod email;
mod group;
mod inhibit;
mod labels;
pub mod payload;
mod policy;
mod receiver;
mod route;
mod silence;
mod time_interval;

pub use duration::{parse_duration, DurationError};
pub use group::{Flush, GroupKey, Grouper};
pub use inhibit::{InhibitRule, Inhibitor};
pub use labels::{valid_label, Labels, MatchOp, Matcher, MatcherError};
pub use policy::{PolicyAction, ResponsePolicy, SEKIMORI_SOURCE};
pub use receiver::{
    Channel, ChannelKind, EmailConfig, Language, Receiver, SlackConfig, SmtpTls, TeamsConfig, WebhookConfig, MASKED,
};
pub use route::{ConfigError, ResolvedRoute, Route, RoutingConfig, RoutingTree, Timers, UserNotices};
pub use silence::{Silence, Silences};
pub use time_interval::{CheckedInterval, TimeInterval, TimeIntervalError, TimeRange, TimeSpec};
