//! A Rust panic ends in Xen's panic() with its location and message.
//!
//! Rust code never panics on guest input (errors are `Result<_, Errno>`); a panic here is a
//! hypervisor bug, and Xen's panic() prints the banner, dumps state and stops, as BUG() would.

use crate::bindings as b;
use crate::fmt::LineBuffer;

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let line = match info.location() {
        Some(l) => LineBuffer::<256>::format(format_args!(
            "Rust panic at {}:{}: {}",
            l.file(),
            l.line(),
            info.message()
        )),
        None => LineBuffer::<256>::format(format_args!("Rust panic: {}", info.message())),
    };
    let bytes = line.as_bytes();
    // SAFETY: `bytes` is a live buffer of `len` bytes read by panic("%.*s"), which does not
    // return.
    unsafe { b::oxx_panic_str(bytes.as_ptr().cast(), bytes.len() as _) }
}
