//! A test's status and how reports combine: the worst status reported wins.
//!
//! Same order as upstream XTF: RUNNING < SUCCESS < SKIP < ERROR < FAILURE. Warnings are a
//! separate flag that only shows on a successful test ("SUCCESS with warnings"). The guest
//! keeps one [`Report`] in a static; the last console line is [`Report::result_line`].

use core::fmt;
use core::sync::atomic::{AtomicBool, AtomicU8, Ordering};

/// How a test is doing. Ordered: a later report replaces the status only if it is worse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Status {
    /// Nothing reported yet.
    Running = 0,
    /// The test ran and everything checked out.
    Success = 1,
    /// The test could not run here (missing feature, wrong configuration).
    Skip = 2,
    /// The test itself went wrong (bad setup, unexpected exception, panic): no verdict on Xen.
    Error = 3,
    /// Xen misbehaved: the thing under test is broken.
    Failure = 4,
}

impl Status {
    /// Every status, in order.
    pub const ALL: [Status; 5] =
        [Status::Running, Status::Success, Status::Skip, Status::Error, Status::Failure];

    /// The word used on the `Test result:` line.
    pub const fn name(self) -> &'static str {
        match self {
            Status::Running => "RUNNING",
            Status::Success => "SUCCESS",
            Status::Skip => "SKIP",
            Status::Error => "ERROR",
            Status::Failure => "FAILURE",
        }
    }

    /// The status stored as `v`; values out of range read as `Failure` (they cannot occur,
    /// and reading them as the worst status keeps a corrupted report from looking good).
    pub const fn from_u8(v: u8) -> Status {
        match v {
            0 => Status::Running,
            1 => Status::Success,
            2 => Status::Skip,
            3 => Status::Error,
            _ => Status::Failure,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The aggregated result of one test run.
///
/// Lock-free so that any vCPU or an exception handler may report at any time: the status is
/// an atomic maximum. On the guest the atomics are load/store-exclusive loops, which need
/// Normal memory: the entry code turns the MMU on before any Rust runs.
pub struct Report {
    status: AtomicU8,
    warnings: AtomicBool,
}

impl Report {
    pub const fn new() -> Self {
        Self { status: AtomicU8::new(Status::Running as u8), warnings: AtomicBool::new(false) }
    }

    /// Reports `status`; the worse of it and the current status stays. Returns the status
    /// from before.
    pub fn record(&self, status: Status) -> Status {
        Status::from_u8(self.status.fetch_max(status as u8, Ordering::SeqCst))
    }

    /// Notes a warning: a successful test then ends "SUCCESS with warnings".
    pub fn warn(&self) {
        self.warnings.store(true, Ordering::SeqCst);
    }

    pub fn status(&self) -> Status {
        Status::from_u8(self.status.load(Ordering::SeqCst))
    }

    pub fn has_warnings(&self) -> bool {
        self.warnings.load(Ordering::SeqCst)
    }

    /// Whether anything but a warning has been reported.
    pub fn reported(&self) -> bool {
        self.status() != Status::Running
    }

    /// What follows `Test result: ` on the last line. A test that never reported anything
    /// ends as ERROR (the runner also prints why).
    pub fn result_line(&self) -> &'static str {
        match self.status() {
            Status::Running => Status::Error.name(),
            Status::Success if self.has_warnings() => "SUCCESS with warnings",
            s => s.name(),
        }
    }
}

impl Default for Report {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_matches_xtf() {
        for w in Status::ALL.windows(2) {
            assert!(w[0] < w[1], "{:?} < {:?}", w[0], w[1]);
        }
        for s in Status::ALL {
            assert_eq!(Status::from_u8(s as u8), s);
        }
        assert_eq!(Status::from_u8(200), Status::Failure);
    }

    #[test]
    fn fresh_report_is_running_and_ends_as_error() {
        let r = Report::new();
        assert_eq!(r.status(), Status::Running);
        assert!(!r.reported());
        assert_eq!(r.result_line(), "ERROR");
    }

    #[test]
    fn worst_wins_whatever_the_order() {
        // Every ordered pair of reports.
        for a in Status::ALL {
            for b in Status::ALL {
                let r = Report::new();
                assert_eq!(r.record(a), Status::Running);
                assert_eq!(r.record(b), a);
                assert_eq!(r.status(), a.max(b), "{a:?} then {b:?}");
            }
        }
    }

    #[test]
    fn success_cannot_hide_a_failure() {
        let r = Report::new();
        r.record(Status::Failure);
        r.record(Status::Success);
        assert_eq!(r.result_line(), "FAILURE");
    }

    #[test]
    fn warnings_only_show_on_success() {
        let r = Report::new();
        r.warn();
        // Warnings alone are not a result.
        assert!(!r.reported());
        assert_eq!(r.result_line(), "ERROR");
        r.record(Status::Success);
        assert_eq!(r.result_line(), "SUCCESS with warnings");
        r.record(Status::Skip);
        assert_eq!(r.result_line(), "SKIP");
        r.record(Status::Failure);
        assert_eq!(r.result_line(), "FAILURE");
    }

    #[test]
    fn result_lines() {
        let line = |s: Status| {
            let r = Report::new();
            r.record(s);
            r.result_line()
        };
        assert_eq!(line(Status::Success), "SUCCESS");
        assert_eq!(line(Status::Skip), "SKIP");
        assert_eq!(line(Status::Error), "ERROR");
        assert_eq!(line(Status::Failure), "FAILURE");
    }
}
