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
    Test::new(
        "evtchn-alloc-unbound-self",
        "alloc_unbound(self): lowest free port, remote domid resolved, reuse",
        crate::evtchn_ops::basic::alloc_unbound_self,
    ),
    Test::new(
        "evtchn-bind-virq",
        "bind_virq: every VIRQ, EEXIST, EINVAL/ENOENT rules for global and per-vCPU",
        crate::evtchn_ops::basic::bind_virq,
    ),
    Test::new(
        "evtchn-bind-ipi",
        "bind_ipi: vCPUs, ENOENT, status, delivery bits per vCPU",
        crate::evtchn_ops::basic::bind_ipi,
    ),
    Test::new(
        "evtchn-close-states",
        "close in every state and its errors; pending cleared, mask kept",
        crate::evtchn_ops::basic::close_states,
    ),
    Test::new(
        "evtchn-send-states",
        "send in every state: dropped, delivered, EINVAL",
        crate::evtchn_ops::basic::send_states,
    ),
    Test::new(
        "evtchn-send-masked",
        "2L mask: pending without selector/upcall, unmask notifies",
        crate::evtchn_ops::basic::send_masked,
    ),
    Test::new(
        "evtchn-status-fields",
        "status of every state, exact bytes written, errors",
        crate::evtchn_ops::basic::status_fields,
    ),
    Test::new(
        "evtchn-bind-vcpu",
        "bind_vcpu: which states move, ENOENT before EINVAL, reset on reuse",
        crate::evtchn_ops::basic::bind_vcpu,
    ),
    Test::new(
        "evtchn-unmask",
        "unmask: free ports ignored, notification only when pending",
        crate::evtchn_ops::basic::unmask,
    ),
    Test::new(
        "evtchn-loopback",
        "interdomain channels to ourselves and bind_interdomain errors",
        crate::evtchn_ops::basic::loopback,
    ),
    Test::new("evtchn-port-zero", "port 0 in every operation", crate::evtchn_ops::basic::port_zero),
    Test::new(
        "evtchn-port-space",
        "valid ports grow by whole buckets and never shrink",
        crate::evtchn_ops::limits::port_space,
    ),
    Test::new(
        "evtchn-exhaust-2l",
        "1023 ports then ENOSPC from every way of getting a port",
        crate::evtchn_ops::limits::exhaust_2l,
    ),
    Test::new(
        "evtchn-bad-pointers",
        "EFAULT for argument structures outside guest RAM, every sub-op",
        crate::evtchn_ops::limits::bad_pointers,
    ),
    Test::new(
        "evtchn-unknown-ops",
        "unknown sub-ops: ENOSYS; the sub-op is an int",
        crate::evtchn_ops::limits::unknown_ops,
    ),
    Test::new(
        "evtchn-bind-pirq",
        "bind_pirq on an arm domU: ENOMEM / EINVAL, no port leaked",
        crate::evtchn_ops::limits::bind_pirq,
    ),
    Test::new(
        "evtchn-reset-self",
        "reset(self) with every state open",
        crate::evtchn_ops::reset::reset_self,
    ),
    Test::new(
        "evtchn-reset-errors",
        "reset/reset_cont of others and with no reset started",
        crate::evtchn_ops::reset::reset_errors,
    ),
    Test::new(
        "evtchn-reset-fifo",
        "reset with FIFO active: back to 2L, FIFO again",
        crate::evtchn_ops::reset::reset_fifo,
    ),
    Test::new(
        "evtchn-fifo-init-control",
        "init_control errors and success per vCPU",
        crate::evtchn_ops::fifo::init_control,
    ),
    Test::new(
        "evtchn-fifo-expand-array",
        "expand_array to 128 pages and past; ports still end at 1023",
        crate::evtchn_ops::fifo::expand_array,
    ),
    Test::new(
        "evtchn-fifo-pending-before-array",
        "an event before its array page is queued on arrival",
        crate::evtchn_ops::fifo::pending_before_array,
    ),
    Test::new(
        "evtchn-fifo-set-priority",
        "set_priority errors in order and effect",
        crate::evtchn_ops::fifo::set_priority,
    ),
    Test::new(
        "evtchn-fifo-queues",
        "queues by priority: ready, heads, LINK order",
        crate::evtchn_ops::fifo::queues,
    ),
    Test::new(
        "evtchn-fifo-masked",
        "MASKED events: pending only, linked by unmask or the next send",
        crate::evtchn_ops::fifo::masked,
    ),
    Test::new(
        "evtchn-fifo-linked-busy",
        "LINKED ports skipped by allocation, relink rules, BUSY",
        crate::evtchn_ops::fifo::linked_busy,
    ),
    Test::new(
        "evtchn-fifo-switch",
        "2L to FIFO with ports bound and pending",
        crate::evtchn_ops::fifo::switch_2l_to_fifo,
    ),
    Test::new(
        "evtchn-xsm-a",
        "two domUs under the booted XSM policy: domain A",
        crate::evtchn_ops::xsm::pair_a,
    ),
    Test::new(
        "evtchn-xsm-b",
        "two domUs under the booted XSM policy: domain B",
        crate::evtchn_ops::xsm::pair_b,
    ),
    Test::new(
        "evtchn-xsm-remote",
        "operations on another domU under the booted XSM policy",
        crate::evtchn_ops::xsm::remote,
    ),
    Test::new(
        "evtchn-xsa-47",
        "XSA-47: XSM denial that allocated a bucket",
        crate::evtchn_ops::xsa::xsa_47,
    ),
    Test::new(
        "evtchn-xsa-107",
        "XSA-107: FIFO event for a vCPU without a control block",
        crate::evtchn_ops::xsa::xsa_107,
    ),
    Test::new(
        "evtchn-xsa-188",
        "XSA-188: expand_array after a failed init_control",
        crate::evtchn_ops::xsa::xsa_188,
    ),
    Test::new(
        "evtchn-xsa-221",
        "XSA-221: SCHEDOP_poll on ports without a bucket",
        crate::evtchn_ops::xsa::xsa_221,
    ),
    Test::new(
        "evtchn-xsa-317",
        "XSA-317: FIFO ports above the allocated buckets",
        crate::evtchn_ops::xsa::xsa_317,
    ),
    Test::new(
        "evtchn-xsa-338",
        "XSA-338: valid ports stay valid across FIFO to 2L",
        crate::evtchn_ops::xsa::xsa_338,
    ),
    Test::new(
        "evtchn-xsa-340",
        "XSA-340 guard: new buckets usable at once",
        crate::evtchn_ops::xsa::xsa_340,
    ),
    Test::new(
        "evtchn-xsa-343",
        "XSA-343: reset with every kind of port open, FIFO queues full",
        crate::evtchn_ops::xsa::xsa_343,
    ),
    Test::new(
        "evtchn-xsa-344",
        "XSA-344: reset with 1023 ports open",
        crate::evtchn_ops::xsa::xsa_344,
    ),
    Test::new(
        "evtchn-xsa-358-359",
        "XSA-358/359 guard: events right after each FIFO publication",
        crate::evtchn_ops::xsa::xsa_358_359,
    ),
    Test::new(
        "evtchn-xsa-496",
        "XSA-496 (not in 4.17): VIRQ_DOM_EXC bind error paths",
        crate::evtchn_ops::xsa::xsa_496,
    ),
    Test::new(
        "evtchn-xsa-295",
        "XSA-295: Xen's atomics on a word the guest rewrites non-stop",
        crate::evtchn_ops::xsa::xsa_295,
    ),
    Test::new(
        "evtchn-xsa-505",
        "XSA-505: expand_array on vCPU 1 racing reset on vCPU 0",
        crate::evtchn_ops::xsa::xsa_505,
    ),
    Test::new(
        "evtchn-fifo-ops",
        "port operations under FIFO as the event words show them",
        crate::evtchn_ops::fifo::ops,
    ),
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
        "evtchn-irq-fifo-queue-move",
        "FIFO: an event moving to vCPU 1's queue; vCPU 0's stale tail invalidated",
        crate::evtchn_irq::fifo::queue_move,
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
    Test::new(
        "evtchn-stress",
        "2 vCPUs send/unmask/rebind/close at once, with the other domain doing the same",
        crate::evtchn_irq::stress::stress,
    ),
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
        "shm-ext-regions",
        "no /hypervisor extended region overlaps a /reserved-memory static shm region",
        static_sig::shm_ext_regions,
    ),
    Test::new(
        "shm-view",
        "shm=GPA:SIZE:ID,... meet=GPA:first|second: static-shm, shm-ext-regions, and the peer's writes",
        static_sig::shm_view,
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
    // ---- v4v suite: V4V rings and the same traffic over Argo (src/v4v/) ----
    Test::new(
        "v4v-ping-pong",
        "V4V: role=ping|pong peer=D n=N round trips, sizes 1..300, 1-3 iovs, every byte checked",
        crate::v4v::traffic::v4v_ping_pong,
    ),
    Test::new(
        "v4v-many",
        "V4V: role=tx (1-2 vCPUs) / role=rx senders=D:S,..: many senders, one ANY ring, exactly once, in order",
        crate::v4v::traffic::v4v_many,
    ),
    Test::new(
        "v4v-full",
        "V4V: role=tx|rx: ring full, EAGAIN, notify(space), VIRQ after the peer consumes, retry",
        crate::v4v::traffic::v4v_full,
    ),
    Test::new(
        "v4v-match",
        "V4V: role=owner|sender: partner ring wins over ANY; ANY catches the rest",
        crate::v4v::traffic::v4v_match,
    ),
    Test::new(
        "v4v-inflight",
        "V4V: role=owner|sender: unregister with sends in flight, nothing written after",
        crate::v4v::traffic::v4v_inflight,
    ),
    Test::new(
        "v4v-shutdown",
        "V4V: role=owner|sender: owner powers off with rings registered; no crash, rings kept",
        crate::v4v::traffic::v4v_shutdown,
    ),
    Test::new(
        "v4v-hostile",
        "V4V: garbage rx_ptr/tx_ptr from the ring owner; Xen writes only inside ring[]",
        crate::v4v::traffic::v4v_hostile,
    ),
    Test::new(
        "v4v-scatter",
        "V4V: a ring whose pfn list is out of order; Xen follows the list",
        crate::v4v::traffic::v4v_scatter,
    ),
    Test::new(
        "v4v-bad-register",
        "V4V: every bad registration with its errno; limits; re-registration",
        crate::v4v::errors::bad_register,
    ),
    Test::new(
        "v4v-bad-send",
        "V4V: every bad send/sendv/notify with its errno; ring untouched by refused sends",
        crate::v4v::errors::bad_send,
    ),
    Test::new(
        "argo-ping-pong",
        "Argo: the v4v-ping-pong pattern",
        crate::v4v::traffic::argo_ping_pong,
    ),
    Test::new("argo-many", "Argo: the v4v-many pattern", crate::v4v::traffic::argo_many),
    Test::new("argo-full", "Argo: the v4v-full pattern", crate::v4v::traffic::argo_full),
    Test::new("argo-match", "Argo: the v4v-match pattern", crate::v4v::traffic::argo_match),
    Test::new(
        "argo-inflight",
        "Argo: the v4v-inflight pattern",
        crate::v4v::traffic::argo_inflight,
    ),
    Test::new(
        "argo-shutdown",
        "Argo: the v4v-shutdown pattern",
        crate::v4v::traffic::argo_shutdown,
    ),
    Test::new("argo-scatter", "Argo: the v4v-scatter pattern", crate::v4v::traffic::argo_scatter),
    Test::new("argo-hostile", "Argo: the v4v-hostile pattern", crate::v4v::traffic::argo_hostile),
    Test::new(
        "v4v-virq-on-arrival",
        "V4V: the receiver sleeps until VIRQ_V4V for every message (no ring polling)",
        crate::v4v::traffic::v4v_virq_on_arrival,
    ),
    Test::new(
        "argo-virq-on-arrival",
        "Argo: the v4v-virq-on-arrival pattern",
        crate::v4v::traffic::argo_virq_on_arrival,
    ),
    // ---- end v4v ----
    // ---- security suite: V4V (src/security/v4v.rs) ----
    Test::new(
        "v4v-ring-page-budget",
        "V4V: ring pages up to the domain's budget, then ENOSPC; pages come back",
        crate::security::v4v::v4v_ring_page_budget,
    ),
    Test::new(
        "argo-ring-page-budget",
        "Argo: the v4v-ring-page-budget pattern (C 4.17.5 has no page budget)",
        crate::security::v4v::argo_ring_page_budget,
    ),
    Test::new(
        "v4v-ring-count-exhaust",
        "V4V: 128 rings, then ENOSPC",
        crate::security::v4v::v4v_ring_count_exhaust,
    ),
    Test::new(
        "argo-ring-count-exhaust",
        "Argo: 128 rings, then ENOSPC",
        crate::security::v4v::argo_ring_count_exhaust,
    ),
    Test::new(
        "v4v-noisy-neighbour",
        "V4V: rings and messages beside domains at their budgets",
        crate::security::v4v::v4v_noisy_neighbour,
    ),
    Test::new(
        "argo-noisy-neighbour",
        "Argo: rings and messages beside domains at their budgets",
        crate::security::v4v::argo_noisy_neighbour,
    ),
    Test::new(
        "v4v-ring-duplicate-gfn",
        "V4V: a page listed twice in one ring is EINVAL",
        crate::security::v4v::v4v_ring_duplicate_gfn,
    ),
    Test::new(
        "argo-ring-duplicate-gfn",
        "Argo: the v4v-ring-duplicate-gfn pattern (C 4.17.5 accepts it)",
        crate::security::v4v::argo_ring_duplicate_gfn,
    ),
    Test::new(
        "v4v-register-writes-nothing-on-error",
        "V4V: refused register_ring and notify write nothing",
        crate::security::v4v::v4v_register_writes_nothing_on_error,
    ),
    Test::new(
        "v4v-xsm-any-source",
        "V4V: ANY-source rings only with v4v-mac=permissive (expect=eperm|ok)",
        crate::security::v4v::v4v_xsm_any_source,
    ),
    Test::new(
        "argo-xsm-any-source",
        "Argo: ANY-source rings only with mac-permissive (expect=eperm|ok)",
        crate::security::v4v::argo_xsm_any_source,
    ),
    // ---- end security: V4V ----
    // ---- benchmarks (src/bench/, run by ci/bench under -icount) ----
    Test::new(
        "bench-evtchn-2l",
        "time each 2-level event channel op over n calls (n=N, default 10000)",
        crate::bench::evtchn_2l,
    ),
    Test::new(
        "bench-v4v",
        "V4V throughput: role=rx senders=K n=N size=S / role=tx peer=D n=N size=S",
        crate::v4v::bench::bench_v4v,
    ),
    Test::new(
        "bench-argo",
        "Argo throughput: the bench-v4v pattern over Argo",
        crate::v4v::bench::bench_argo,
    ),
    Test::new(
        "bench-evtchn-fifo",
        "time each FIFO event channel op over n calls (n=N, default 10000)",
        crate::bench::evtchn_fifo,
    ),
    Test::new(
        "bench-evtchn-scaling",
        "send and alloc_unbound on the top ports with ports=N bound: abi=fifo|2l n=N bind_n=M",
        crate::bench::evtchn_scaling,
    ),
    Test::new(
        "bench-evtchn-pingpong",
        "cross-domain round trip with upcalls: role=ping|pong port=P abi=2l|fifo n=N (two domUs)",
        crate::bench::evtchn_pingpong,
    ),
    // ---- end benchmarks ----
    // ---- fuzz suite (src/fuzz/) ----
    Test::new(
        "fuzz-evtchn",
        "seeded EVTCHNOP stream, hash checkpoints for C/Rust comparison (seed=S n=N trace=A-B)",
        crate::fuzz::evtchn_diff,
    ),
    Test::new(
        "fuzz-peer",
        "passive peer: K unbound ports per fuzzer domid (for=D1,D2 k=K), then waits",
        crate::fuzz::peer,
    ),
    Test::new(
        "fuzz-chaos",
        "the stream on both vCPUs, invariants only (seed=S n=N peers=D1,D2)",
        crate::fuzz::chaos::run,
    ),
    Test::new(
        "fuzz-v4v",
        "every V4V op on 1-2 vCPUs, invariants only (seed=S n=N peers=D1,D2 vcpus=1|2)",
        crate::fuzz::v4v::run,
    ),
    Test::new(
        "v4v-rereg",
        "re-register a ring while vCPU 1 sends into it: no torn message (seed=S n=N)",
        crate::fuzz::v4v::rereg,
    ),
    // ---- end fuzz suite ----
    // ---- security suite: event channels (src/security/evtchn.rs) ----
    Test::new(
        "sec-evtchn-virq-rebind-v4v",
        "VIRQ_V4V from sends to our own ring while vCPU 1 moves its port: every event arrives (n=N)",
        crate::security::evtchn::virq_rebind_v4v,
    ),
    Test::new(
        "sec-evtchn-virq-rebind-argo",
        "VIRQ_ARGO from sends to our own ring while vCPU 1 moves its port: every event arrives (n=N)",
        crate::security::evtchn::virq_rebind_argo,
    ),
    Test::new(
        "sec-evtchn-virq-storm-v4v",
        "V4V ping-pong, the receiver moving its VIRQ port and reading on upcalls only (role=rx|tx peer=D n=N)",
        crate::security::evtchn::virq_storm_v4v,
    ),
    Test::new(
        "sec-evtchn-virq-storm-argo",
        "Argo: the sec-evtchn-virq-storm-v4v pattern",
        crate::security::evtchn::virq_storm_argo,
    ),
    Test::new(
        "sec-evtchn-noisy-neighbour",
        "one domain uses every event channel budget, the other keeps its service (role=noisy|victim shm=GPA)",
        crate::security::evtchn::noisy_neighbour,
    ),
    // ---- end security: event channels ----
];

xtf::guest_main!(TESTS);
