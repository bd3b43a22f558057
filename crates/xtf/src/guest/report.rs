//! The running test's result (one [`Report`] for the guest) and the end of the guest.

use core::fmt;

use super::hypercall;
use crate::abi::SHUTDOWN_POWEROFF;
use crate::println;
use crate::status::{Report, Status};

static REPORT: Report = Report::new();

/// Reports SUCCESS, printing `msg` first if there is one.
pub fn success(msg: Option<fmt::Arguments<'_>>) {
    if let Some(msg) = msg {
        println!("{msg}");
    }
    REPORT.record(Status::Success);
}

/// Prints `Warning: msg` and flags the result.
pub fn warning(msg: fmt::Arguments<'_>) {
    println!("Warning: {msg}");
    REPORT.warn();
}

/// Prints `Skip: msg`, reports SKIP.
pub fn skip(msg: fmt::Arguments<'_>) {
    println!("Skip: {msg}");
    REPORT.record(Status::Skip);
}

/// Prints `Error: msg`, reports ERROR.
pub fn error(msg: fmt::Arguments<'_>) {
    println!("Error: {msg}");
    REPORT.record(Status::Error);
}

/// Prints `Failure: msg`, reports FAILURE.
pub fn failure(msg: fmt::Arguments<'_>) {
    println!("Failure: {msg}");
    REPORT.record(Status::Failure);
}

/// Reports FAILURE with `what` unless `ok`; returns `ok` (the body of [`check!`](crate::check)
/// and [`expect_eq!`](crate::expect_eq)).
pub fn check(ok: bool, what: fmt::Arguments<'_>) -> bool {
    if !ok {
        failure(what);
    }
    ok
}

/// The worst status reported so far.
pub fn status() -> Status {
    REPORT.status()
}

/// Ends the test now: prints `Test result: ...` (ERROR if nothing was reported) and powers
/// the domain off — except dom0, which waits instead: the hardware domain's shutdown halts
/// the whole machine (Xen's hwdom_shutdown), domUs still running included, and whoever
/// reads the console ends the boot once every domain has reported.
pub fn exit() -> ! {
    print_result();
    if super::evtchn::own_domid() == Ok(0) {
        halt()
    }
    power_off()
}

/// Prints `Test result: ...` and waits forever without shutting down: for a domain that
/// another one (the test dom0) destroys once it has reported.
pub fn exit_and_wait() -> ! {
    print_result();
    halt()
}

/// Prints `Test result: ...` now and carries on running: for a domain that another one (the
/// test dom0) destroys while it still works. The runner reads a domain's first result line.
pub fn result_now() {
    print_result();
}

fn print_result() {
    if !REPORT.reported() {
        error(format_args!("the test ended without reporting a result"));
    }
    println!("Test result: {}", REPORT.result_line());
}

/// SCHEDOP_shutdown(poweroff); if Xen refuses, says so and waits forever.
pub fn power_off() -> ! {
    let e = hypercall::shutdown(SHUTDOWN_POWEROFF);
    println!("SCHEDOP_shutdown(poweroff) returned {e}");
    halt()
}

/// Waits for interrupts forever (none are enabled).
pub fn halt() -> ! {
    loop {
        // SAFETY: WFI only waits; it touches no memory or register Rust relies on.
        unsafe { core::arch::asm!("wfi", options(nomem, nostack, preserves_flags)) };
    }
}
