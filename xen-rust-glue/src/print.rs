//! printk from Rust: `printk!("rust: {} ok\n", n)`.
//!
//! The line is formatted into a fixed buffer (no allocation, truncated with "..." if longer
//! than [`PRINTK_MAX`]) and handed to Xen's printk as `%.*s`. Log levels use Xen's prefixes,
//! e.g. `printk!("{}warning\n", XENLOG_WARNING)`.

use crate::bindings as b;
use crate::fmt::LineBuffer;

pub const PRINTK_MAX: usize = 256;

pub const XENLOG_ERR: &str = "<0>";
pub const XENLOG_WARNING: &str = "<1>";
pub const XENLOG_INFO: &str = "<2>";
pub const XENLOG_DEBUG: &str = "<3>";
pub const XENLOG_G_ERR: &str = "<G><0>";
pub const XENLOG_G_WARNING: &str = "<G><1>";
pub const XENLOG_G_INFO: &str = "<G><2>";

#[doc(hidden)]
pub fn _printk(args: core::fmt::Arguments<'_>) {
    let line = LineBuffer::<PRINTK_MAX>::format(args);
    let bytes = line.as_bytes();
    // SAFETY: `bytes` is a live buffer of `len` bytes; Xen's printk reads exactly that many
    // (`%.*s`), needs no NUL, and keeps no reference after it returns.
    unsafe { b::oxx_printk_str(bytes.as_ptr().cast(), bytes.len() as _) }
}

/// Print through Xen's console, like C's printk.
#[macro_export]
macro_rules! printk {
    ($($arg:tt)*) => { $crate::print::_printk(format_args!($($arg)*)) };
}
