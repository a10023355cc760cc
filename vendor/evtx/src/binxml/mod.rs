pub mod deserializer;
pub mod name;
pub mod value_variant;

pub(crate) mod assemble;
pub(crate) mod tokens;
