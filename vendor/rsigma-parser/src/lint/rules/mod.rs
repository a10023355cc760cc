pub(crate) mod ads;
pub(crate) mod correlation;
pub(crate) mod detection;
pub(crate) mod exemplar;
pub(crate) mod filter;
pub(crate) mod metadata;
pub(crate) mod shared;
pub(crate) mod version;
