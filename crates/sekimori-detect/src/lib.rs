//! Sekimori's detection engine: Sigma detection, correlation and filter rules (evaluated
//! by the MIT-licensed `rsigma` crates, ADR 0004), the normalisation of log layouts into
//! the flat fields Sigma rules name, reading log files, and hunting over them.
//!
//! No HTTP and no storage: the server and the offline `sekimori hunt` command share it.

mod aliases;
mod anchors;
pub mod baseline;
mod error;
mod event;
mod flat;
pub mod input;
pub mod keyvalue;
mod keywords;
pub mod logsource;
pub mod mapping;
mod memo;
pub mod normalize;
pub mod output;
mod relax;
pub mod rule_cache;
mod rule_files;
pub mod rules;
mod sieve;
pub mod syslog;
mod textfields;
pub mod tuning;
mod unknown;

pub use error::DetectError;
pub use input::{
    log_files, read_events, read_events_each, read_events_each_on, read_events_mapped_on, EventSource, InputError,
    Malformed,
};
pub use logsource::DeclaredLogSource;
pub use mapping::FieldMapping;
pub use normalize::normalize;
pub use output::{Format, Hit};
pub use rule_cache::{CacheReport, RuleCache};
pub use rules::{Correlator, Detections, Hunter, LoadFailure, LoadReport, RuleSet, Undecided};
