//! The stored aggregates, as plain records, one module per aggregate beside its SQL
//! (`sql/<aggregate>.rs`). Times are [`sekimori_core::Timestamp`] milliseconds stored as
//! integers. A stored value a record cannot hold (an unknown role, kind or status, JSON
//! that does not decode) is `StoreError::Corrupt`, never a default.

mod access;
mod common;
mod console;
mod factors;
mod identity;
mod login;
mod oidc;
mod passkeys;
mod passwords;
mod push;
mod sessions;
mod tickets_audit;
mod watch;

pub use access::*;
pub use common::*;
pub use console::*;
pub use factors::*;
pub use identity::*;
pub use login::*;
pub use oidc::*;
pub use passkeys::*;
pub use passwords::*;
pub use push::*;
pub use sessions::*;
pub use tickets_audit::*;
pub use watch::*;

pub use sekimori_core::access::HoursWindow;
