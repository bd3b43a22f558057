//! The test table. Add a test: write `fn name(env: &Env<'_>)` that reports through the
//! `xtf_*!` macros, and list it here; `test=<name>` in a domU's bootargs then runs it.

use xtf::Test;

use crate::{selftest, static_sig};

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
    // ---- static suite: static event channels and shared memory (src/static_sig.rs) ----
    Test::new(
        "static-evtchn",
        "evtchns=L:D:R,...: each port interdomain to D:R, traffic both ways",
        static_sig::static_evtchn,
    ),
    Test::new(
        "static-shm",
        "shm=GPA:SIZE:ID,...: /reserved-memory/xen-shmem@GPA node and the memory",
        static_sig::static_shm,
    ),
    Test::new(
        "shm-producer",
        "shm-producer=GPA:PORT: write a block, signal PORT until acknowledged",
        static_sig::shm_producer,
    ),
    Test::new(
        "shm-consumer",
        "shm-consumer=GPA:PORT: wait for PORT, check the block, acknowledge",
        static_sig::shm_consumer,
    ),
    Test::new(
        "demo-send",
        "demo=GPA:PORT: send a few lines over shm, signalled on PORT (ci/demo)",
        static_sig::demo_send,
    ),
    Test::new(
        "demo-receive",
        "demo=GPA:PORT: print and acknowledge the lines (ci/demo)",
        static_sig::demo_receive,
    ),
    // ---- end static ----
];

xtf::guest_main!(TESTS);
