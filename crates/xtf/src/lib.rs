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
//! use xtf::{Env, expect_eq, try_op, xtf_success};
//!
//! xtf::register_test!("my-test", "what it checks", my_test);
//! fn my_test(env: &Env<'_>) {
//!     let (major, _minor) = try_op!(xtf::guest::hypercall::xen_version(), "xen_version");
//!     if expect_eq!(major, 4, "Xen's major version") {
//!         xtf_success!();
//!     }
//! }
//! ```
//!
//! The domain's bootargs choose the test (`test=my-test`). The guest prints
//! `--- Xen Test Framework (oxidised) --- test: my-test`, the test's own lines, and last
//! `Test result: SUCCESS` (or `SUCCESS with warnings`, `SKIP`, `ERROR`, `FAILURE`), then asks
//! Xen to power it off. A test reads its own `key=value` words with [`Env::arg`],
//! [`Env::arg_u32`] and friends.
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

/// Registers a guest test next to its body:
/// `register_test!("name", "one line on what it checks", body);` where `body` is a
/// `fn(&Env<'_>)` (a generic body is named instantiated, `body::<V4v>`).
///
/// The [`Test`] goes into the `.xtf_tests` link section, which guest.ld keeps and brackets so
/// that the runner reads every registration as one table. Its symbol `xtf_test.NAME` makes a
/// second test of the same name a build error ("symbol `xtf_test.NAME` is already defined")
/// and lets ci/guest-tests-all-run list an image's tests from its symbol table.
#[macro_export]
macro_rules! register_test {
    ($name:literal, $about:expr, $run:expr $(,)?) => {
        const _: () = {
            // SAFETY: link_section: only this macro writes `.xtf_tests`, always a `Test`, so
            // the section is an array of `Test` (what `guest::registered` reads). export_name:
            // the `xtf_test.` prefix names nothing else and the symbol is never called, so the
            // only clash it can cause is a repeated test name, which must fail the build.
            #[used]
            #[unsafe(link_section = ".xtf_tests")]
            #[unsafe(export_name = concat!("xtf_test.", $name))]
            static TEST: $crate::Test = $crate::Test::new($name, $about, $run);
        };
    };
}

/// `check!(cond, "what", args..)`: reports FAILURE with the message unless `cond`; evaluates
/// to `cond`, so a test can stop or go on.
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
#[macro_export]
macro_rules! check {
    ($cond:expr, $($what:tt)+) => {
        $crate::guest::report::check($cond, format_args!($($what)+))
    };
}

/// `expect_eq!(got, want, "what", args..)`: reports FAILURE "what: got G, expected W" unless
/// `got == want`; evaluates to whether they are equal. Takes both by reference (nothing is
/// moved), like `assert_eq!`.
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
#[macro_export]
macro_rules! expect_eq {
    ($got:expr, $want:expr, $($what:tt)+) => {
        match (&$got, &$want) {
            (got, want) => $crate::guest::report::check(
                *got == *want,
                format_args!("{}: got {:?}, expected {:?}", format_args!($($what)+), got, want),
            ),
        }
    };
}

/// `try_op!(result, "what", args..)`: the `Ok` value, or FAILURE "what failed: E" (the error's
/// `Display`) and `return` from the enclosing test function.
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
#[macro_export]
macro_rules! try_op {
    ($result:expr, $($what:tt)+) => {
        match $result {
            Ok(v) => v,
            Err(err) => {
                $crate::xtf_failure!("{} failed: {}", format_args!($($what)+), err);
                return;
            }
        }
    };
}
