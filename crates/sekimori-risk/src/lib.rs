//! Login-time risk (issue 19): every login attempt judged OK, REVIEW or NG before it
//! completes, in the manner of O-MOTION with IceWall MFA.
//!
//! The engine reads the same per-user behaviour profiles and the same definitions of
//! "new country", "new network" and "impossible travel" as the detection baselines
//! (`sekimori_detect::baseline`): a login is judged by what detection would alert on
//! afterwards, not by a second copy of the rules. Like `sekimori-detect` it does no IO: the
//! gate gathers the [`Facts`] of an attempt (the environment, the stored profile, the
//! address lists, the velocity counters, the browser's signals) and [`evaluate`] turns them
//! with the tenant's [`Policy`] into a [`Verdict`] that explains itself.

pub mod engine;
pub mod geo;
pub mod policy;
pub mod provider;
pub mod reputation;
pub mod signal;
pub mod velocity;

pub use engine::{evaluate, Contribution, Facts, Verdict};
pub use geo::{GeoDb, GeoError, Place};
pub use policy::{Decision, Policy, PolicyError, Rule, VelocityLimits};
pub use provider::{combine, Mapping, OnFailure, ProviderFailure, ProviderOutcome, ProviderSpec};
pub use reputation::{AddressList, Reputation};
pub use signal::{BrowserSignals, Signal};
pub use velocity::Velocity;
