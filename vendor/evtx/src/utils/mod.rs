mod binxml_utils;
pub(super) mod hexdump;
mod time;

pub use self::binxml_utils::{
    read_ansi_encoded_string, read_len_prefixed_utf16_string, read_null_terminated_utf16_string,
    read_utf16_by_size,
};
pub use self::hexdump::dump_stream;
pub use self::time::read_systemtime;
