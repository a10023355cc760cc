//! Sekimori's domain core: the types every other crate shares, and the seams
//! (clock, randomness) that keep expiry and secrets testable. No IO lives here.

pub mod access;
pub mod canonical;
pub mod clock;
pub mod device;
pub mod ecs;
pub mod environment;
pub mod error;
pub mod event;
pub mod ids;
pub mod level;
pub mod metrics;
pub mod names;
pub mod net;
pub mod password;
pub mod public_url;
pub mod rng;
pub mod seal;
pub mod settings;
pub mod token;
pub mod totp;

pub use clock::{Clock, SystemClock, TestClock, Timestamp};
pub use error::{ErrorCode, ServiceError, SettingsError};
pub use ids::{AppId, DeviceId, LoginId, SessionId, TenantId, UserId};
pub use level::AuthLevel;
pub use public_url::PublicUrl;
pub use rng::{OsRng, Rng};
pub use seal::Sealer;
