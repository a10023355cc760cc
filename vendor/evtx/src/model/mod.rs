pub mod deserialized;
pub(crate) mod raw;
pub(crate) mod xml;
