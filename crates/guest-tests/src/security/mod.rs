//! The security suite (ci/suites/security): guest reproducers of the defects a review and a
//! two-vCPU attack found in the hypervisor-side Rust, each named after its defect, and the
//! resource checks the conformance suites do not make: vCPUs racing each other, one domain
//! exhausting its budgets while another must keep its service.
//!
//! Every test here passes on the C build (the oracle) unless its config records otherwise
//! (`#@ xfail c` with the reason), and failed on the Rust build before its fix (the commit
//! that added it says how).

/// `check!(cond, "fmt", args)`: FAILURE naming the expectation unless `cond`; its value.
macro_rules! check {
    ($cond:expr, $($arg:tt)+) => {
        $crate::security::check($cond, format_args!($($arg)+))
    };
}

/// `expect_eq!(got, want, "what")`: FAILURE "what: got X, expected Y" unless equal.
macro_rules! expect_eq {
    ($got:expr, $want:expr, $($arg:tt)+) => {{
        let (got, want) = ($got, $want);
        $crate::security::check(
            got == want,
            format_args!("{}: got {:?}, expected {:?}", format_args!($($arg)+), got, want),
        )
    }};
}

/// Unwraps a hypercall result or reports FAILURE naming the call and returns from the test.
macro_rules! try_op {
    ($e:expr, $($arg:tt)+) => {
        match $e {
            Ok(v) => v,
            Err(err) => {
                xtf::xtf_failure!("{} failed: {:?}", format_args!($($arg)+), err);
                return;
            }
        }
    };
}

pub mod evtchn;
pub mod v4v;

use core::fmt;
use xtf::xtf_failure;

/// Reports FAILURE with `what` unless `ok`; returns `ok`.
pub fn check(ok: bool, what: fmt::Arguments<'_>) -> bool {
    if !ok {
        xtf_failure!("{what}");
    }
    ok
}
