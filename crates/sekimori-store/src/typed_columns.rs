//! How the typed ids ([`sekimori_core::ids`]) and times ([`Timestamp`]) are bound and read:
//! ids as text, times as integer milliseconds. A NULL where a record needs a value is
//! `StoreError::Corrupt`, as for every other column.

use std::borrow::Cow;

use sekimori_core::environment::Environment;
use sekimori_core::{AppId, DeviceId, LoginId, SessionId, TenantId, Timestamp, UserId};

use crate::query::{json, required, Arg, Column, Row};
use crate::StoreResult;

macro_rules! id_columns {
    ($($t:ty),* $(,)?) => {
        $(
            impl<'a> From<&'a $t> for Arg<'a> {
                fn from(v: &'a $t) -> Self {
                    Arg::Text(Cow::Borrowed(v.as_str()))
                }
            }

            impl<'a> From<&'a Option<$t>> for Arg<'a> {
                fn from(v: &'a Option<$t>) -> Self {
                    v.as_ref().map_or(Arg::NullText, Arg::from)
                }
            }

            impl<'a> From<Option<&'a $t>> for Arg<'a> {
                fn from(v: Option<&'a $t>) -> Self {
                    v.map_or(Arg::NullText, Arg::from)
                }
            }

            impl Column for $t {
                fn get(row: &dyn Row, col: &str) -> StoreResult<Self> {
                    required(row.text(col)?, col).map(<$t>::new)
                }
            }

            impl Column for Option<$t> {
                fn get(row: &dyn Row, col: &str) -> StoreResult<Self> {
                    Ok(row.text(col)?.map(<$t>::new))
                }
            }
        )*
    };
}

id_columns!(TenantId, UserId, AppId, DeviceId, LoginId, SessionId);

impl From<Timestamp> for Arg<'_> {
    fn from(v: Timestamp) -> Self {
        Arg::Int(v.millis())
    }
}

impl From<Option<Timestamp>> for Arg<'_> {
    fn from(v: Option<Timestamp>) -> Self {
        v.map_or(Arg::NullInt, Arg::from)
    }
}

impl Column for Timestamp {
    fn get(row: &dyn Row, col: &str) -> StoreResult<Self> {
        required(row.int(col)?, col).map(Timestamp)
    }
}

impl Column for Option<Timestamp> {
    fn get(row: &dyn Row, col: &str) -> StoreResult<Self> {
        Ok(row.int(col)?.map(Timestamp))
    }
}

/// A client environment, stored as its JSON.
impl From<&Environment> for Arg<'_> {
    fn from(v: &Environment) -> Self {
        Arg::Text(Cow::Owned(
            serde_json::to_string(v).unwrap_or_else(|e| unreachable!("an environment is strings and serialises: {e}")),
        ))
    }
}

impl Column for Environment {
    fn get(row: &dyn Row, col: &str) -> StoreResult<Self> {
        json(&required(row.text(col)?, col)?, col)
    }
}
