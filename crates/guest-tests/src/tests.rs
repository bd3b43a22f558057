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
    Test::new(
        "evtchn-irq-send",
        "2L: send delivers the other end through the upcall",
        crate::evtchn_irq::twolevel::send,
    ),
    Test::new(
        "evtchn-irq-send-irqs-masked",
        "2L: with IRQs masked, send leaves pending/sel/upcall_pending; one upcall on unmask",
        crate::evtchn_irq::twolevel::send_irqs_masked,
    ),
    Test::new(
        "evtchn-irq-unmask",
        "2L: a masked port gets pending, no upcall; EVTCHNOP_unmask delivers it",
        crate::evtchn_irq::twolevel::unmask,
    ),
    Test::new(
        "evtchn-irq-unmask-needs-mask-bit",
        "2L: EVTCHNOP_unmask delivers only if it clears the mask bit",
        crate::evtchn_irq::twolevel::unmask_needs_mask_bit,
    ),
    Test::new(
        "evtchn-irq-upcall-mask",
        "arm ignores vcpu_info.evtchn_upcall_mask: the upcall still comes",
        crate::evtchn_irq::twolevel::upcall_mask,
    ),
    Test::new(
        "evtchn-irq-bind-vcpu",
        "2 vCPUs: bind_vcpu moves the upcall to vCPU 1 and back",
        crate::evtchn_irq::vcpus::bind_vcpu,
    ),
    Test::new(
        "evtchn-irq-ipi",
        "2 vCPUs: IPIs delivered on the vCPU named at bind time",
        crate::evtchn_irq::vcpus::ipi,
    ),
    Test::new(
        "evtchn-irq-virq-binding",
        "2 vCPUs: per-vCPU vs global VIRQ binding rules",
        crate::evtchn_irq::vcpus::virq_binding,
    ),
    Test::new(
        "evtchn-irq-poll",
        "2 vCPUs: SCHEDOP_poll on vCPU 1 woken by a send on vCPU 0",
        crate::evtchn_irq::vcpus::poll,
    ),
    Test::new(
        "evtchn-irq-fifo-priority",
        "FIFO: queues consumed in priority order by the upcall",
        crate::evtchn_irq::fifo::priority,
    ),
    Test::new(
        "evtchn-irq-fifo-linked-busy",
        "FIFO: LINKED/LINK/BUSY/MASKED as Xen leaves them",
        crate::evtchn_irq::fifo::linked_busy,
    ),
    Test::new(
        "evtchn-irq-fifo-second-vcpu",
        "FIFO: vCPU 1 gets events only after its init_control",
        crate::evtchn_irq::fifo::second_vcpu,
    ),
    Test::new(
        "evtchn-irq-static-ping",
        "2 domains: static channel ping/pong, taken on vCPU 1",
        crate::evtchn_irq::interdomain::static_ping,
    ),
    Test::new(
        "evtchn-irq-timer",
        "framework: both vCPUs up, PPIs enabled, virtual timer IRQ on each",
        crate::evtchn_irq::selftest::timer_and_vcpus,
    ),
    Test::new(
        "evtchn-irq-selftest-timeout",
        "framework: a wait that times out ends FAILURE",
        crate::evtchn_irq::selftest::timeout,
    ),
    Test::new(
        "evtchn-irq-selftest-watchdog",
        "framework: a test spinning past its watchdog ends FAILURE",
        crate::evtchn_irq::selftest::watchdog,
    ),
    Test::new(
        "evtchn-irq-selftest-vcpu-hang",
        "framework: work that never finishes on vCPU 1 ends FAILURE",
        crate::evtchn_irq::selftest::vcpu_hang,
    ),
    // ---- end evtchn_irq ----
];

xtf::guest_main!(TESTS);
