//! The test table. Add a test: write `fn name(env: &Env<'_>)` that reports through the
//! `xtf_*!` macros, and list it here; `test=<name>` in a domU's bootargs then runs it.

use xtf::Test;

use crate::selftest;

pub static TESTS: &[Test] = &[
    Test::new("hello", "print Xen's version and our domid, succeed", selftest::hello),
    Test::new(
        "selftest-fail",
        "report SUCCESS, a warning, then FAILURE: ends FAILURE",
        selftest::fail,
    ),
    Test::new("selftest-skip", "report SKIP, then SUCCESS: ends SKIP", selftest::skip),
    Test::new(
        "selftest-warning",
        "report a warning and SUCCESS: ends SUCCESS with warnings",
        selftest::warning,
    ),
    Test::new(
        "selftest-fault",
        "read an unmapped address: ends ERROR with the syndrome",
        selftest::fault,
    ),
    Test::new("selftest-panic", "panic: ends ERROR with the panic message", selftest::panic),
    // ---- evtchn suite: operations, state, limits, FIFO, XSM, XSAs (src/evtchn_ops/) ----
    // ---- end evtchn_ops ----
    // ---- evtchn suite: upcalls, GIC, vCPUs, IPIs, timers (src/evtchn_irq/) ----
    // ---- end evtchn_irq ----
];

xtf::guest_main!(TESTS);
