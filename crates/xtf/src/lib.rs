//! xtf — Xen Test Framework (oxidised): a runtime for bare-metal arm64 test guests.
//!
//! Owns: the guest's life from Xen's entry jump to its last line (Image header, MMU, exception
//! vectors, console, hypercalls, the XTF result protocol, shutdown) and the test-selection rules.
//! Trusts: Xen's boot protocol (x0 = a DTB in our RAM) and the hypercall ABI.
//! Does not trust: the DTB's contents (checked by [`fdt`]) nor hypercall results (errnos are
//! values, never unwrapped).
//! The pure logic ([`status`], [`fdt`], [`platform`], [`cmdline`], [`registry`], [`buf`], [`abi`], [`ring`],
//! [`arm`])
//! builds everywhere and is unit-tested on the host; [`guest`] exists only for
//! `aarch64-unknown-none*`.
//!
//! # Writing a test
//!
//! ```ignore
//! use xtf::{Env, Test, xtf_success, xtf_failure};
//!
//! fn my_test(env: &Env<'_>) {
//!     let Ok((major, minor)) = xtf::guest::hypercall::xen_version() else {
//!         xtf_failure!("no version");
//!         return;
//!     };
//!     if major < 4 {
//!         xtf_failure!("Xen {major}.{minor} is too old");
//!     }
//!     xtf_success!();
//! }
//!
//! static TESTS: &[Test] = &[Test::new("my-test", "what it checks", my_test)];
//! xtf::guest_main!(TESTS);
//! ```
//!
//! The domain's bootargs choose the test (`test=my-test`). The guest prints
//! `--- Xen Test Framework (oxidised) --- test: my-test`, the test's own lines, and last
//! `Test result: SUCCESS` (or `SUCCESS with warnings`, `SKIP`, `ERROR`, `FAILURE`), then asks
//! Xen to power it off.
#![cfg_attr(not(test), no_std)]

pub mod abi;
pub mod arm;
pub mod buf;
pub mod cmdline;
pub mod fdt;
pub mod platform;
pub mod registry;
pub mod ring;
pub mod status;

#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub mod guest;

pub use registry::{Env, Test, TestFn};
pub use status::Status;

#[cfg(all(target_arch = "aarch64", target_os = "none"))]
pub use guest::report::exit;

/// Prints to the Xen console (CONSOLEIO_write). Xen prefixes each line with `(dN) `.
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::guest::console::print(format_args!($($arg)*)) };
}

/// [`print!`] with a newline.
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
#[macro_export]
macro_rules! println {
    () => { $crate::guest::console::print(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::guest::console::print(format_args!("{}\n", format_args!($($arg)*))) };
}

/// Reports success, with an optional message. Never hides a worse status reported before.
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
#[macro_export]
macro_rules! xtf_success {
    () => { $crate::guest::report::success(None) };
    ($($arg:tt)+) => { $crate::guest::report::success(Some(format_args!($($arg)+))) };
}

/// Prints `Warning: <message>`; a successful test then ends "SUCCESS with warnings".
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
#[macro_export]
macro_rules! xtf_warning {
    ($($arg:tt)+) => { $crate::guest::report::warning(format_args!($($arg)+)) };
}

/// Prints `Skip: <message>` and reports SKIP: the test cannot run here.
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
#[macro_export]
macro_rules! xtf_skip {
    ($($arg:tt)+) => { $crate::guest::report::skip(format_args!($($arg)+)) };
}

/// Prints `Error: <message>` and reports ERROR: the test itself went wrong.
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
#[macro_export]
macro_rules! xtf_error {
    ($($arg:tt)+) => { $crate::guest::report::error(format_args!($($arg)+)) };
}

/// Prints `Failure: <message>` and reports FAILURE: Xen misbehaved. The test goes on; call
/// [`exit`] to stop early.
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
#[macro_export]
macro_rules! xtf_failure {
    ($($arg:tt)+) => { $crate::guest::report::failure(format_args!($($arg)+)) };
}

/// Defines the guest's Rust entry point (called by xtf's entry code) over a test table.
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
#[macro_export]
macro_rules! guest_main {
    ($tests:expr) => {
        /// Called once by xtf's entry code, on the boot stack with the MMU on, with the DTB
        /// address Xen passed in x0.
        // SAFETY: `xtf_guest_entry` is the one symbol of this name (a second `guest_main!`
        // would fail to link); its signature is what the entry code calls.
        #[unsafe(no_mangle)]
        extern "C" fn xtf_guest_entry(dtb: usize) -> ! {
            $crate::guest::run(dtb, $tests)
        }
    };
}
