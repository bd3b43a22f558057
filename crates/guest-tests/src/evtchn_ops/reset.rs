//! EVTCHNOP_reset and EVTCHNOP_reset_cont: closing every port of a domain, who may ask, and
//! the switch from FIFO back to the 2-level ABI.

use xtf::abi::{DOMID_SELF, DOMID_XEN, Errno, EventWordFlags as F, evtchnstat as st, virq};
use xtf::guest::evtchn;
use xtf::guest::fifo::{Fifo, array_gfn};
use xtf::{Env, xtf_success};

use super::{check_status, must, own_domid, shared_info};
use xtf::expect_eq;

xtf::register_test!("evtchn-reset-self", "reset(self) with every state open", reset_self);
/// reset(DOMID_SELF) with a port open in every state closes them all: status closed (vCPU
/// back to 0), pending bits cleared, mask bits kept, valid range kept, VIRQs free again,
/// allocation starting over at 1; reset by our own domid and reset with nothing open are
/// fine too.
pub fn reset_self(_: &Env<'_>) {
    let si = shared_info();
    si.clear_all_pending();
    let u = must(evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF), format_args!("alloc"));
    let a = must(evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF), format_args!("alloc (loop)"));
    let b = must(evtchn::bind_interdomain(DOMID_SELF, a), format_args!("bind loopback"));
    let g = must(evtchn::bind_virq(virq::DOM_EXC, 0), format_args!("bind_virq(DOM_EXC)"));
    let t = must(evtchn::bind_virq(virq::TIMER, 1), format_args!("bind_virq(TIMER, 1)"));
    let i0 = must(evtchn::bind_ipi(0), format_args!("bind_ipi(0)"));
    let i1 = must(evtchn::bind_ipi(1), format_args!("bind_ipi(1)"));
    expect_eq!((u, a, b, g, t, i0, i1), (1, 2, 3, 4, 5, 6, 7), "ports");
    must(evtchn::bind_vcpu(u, 1), format_args!("bind_vcpu(u, 1)"));
    must(evtchn::send(i0), format_args!("send(i0)"));
    si.mask(i1);
    must(evtchn::send(i1), format_args!("send(i1)"));
    expect_eq!(
        (si.is_pending(b), si.is_pending(i0), si.is_pending(i1)),
        (true, true, true),
        "pending"
    );

    expect_eq!(evtchn::reset(DOMID_SELF), Ok(()), "reset(DOMID_SELF)");
    for p in 1..=7 {
        check_status(p, st::CLOSED, 0, [0, 0]);
        expect_eq!(si.is_pending(p), false, "port {p} pending after reset");
    }
    expect_eq!(si.is_masked(i1), true, "mask bit of port {i1} after reset");
    si.clear_mask(i1);
    check_status(63, st::CLOSED, 0, [0, 0]);
    expect_eq!(evtchn::bind_virq(virq::TIMER, 1), Ok(1), "TIMER on vcpu 1 free again");
    expect_eq!(evtchn::bind_virq(virq::DOM_EXC, 0), Ok(2), "DOM_EXC free again");
    expect_eq!(evtchn::reset(own_domid()), Ok(()), "reset(own domid)");
    check_status(1, st::CLOSED, 0, [0, 0]);
    expect_eq!(evtchn::reset(DOMID_SELF), Ok(()), "reset with nothing open");
    expect_eq!(evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF), Ok(1), "alloc after reset");
    xtf_success!();
}

xtf::register_test!(
    "evtchn-reset-errors",
    "reset/reset_cont of others and with no reset started",
    reset_errors
);
/// Who may reset: not a domain that does not exist or DOMID_XEN (-ESRCH), not another domU
/// (-EPERM from xsm_evtchn_reset, XSM_TARGET, under dummy and SILO alike). reset_cont with
/// no reset in progress is -EBUSY (evtchn_reset: resuming from next_evtchn 0). Failed
/// resets close nothing.
pub fn reset_errors(env: &Env<'_>) {
    let peer = env.need_peer();
    let p = must(evtchn::bind_ipi(0), format_args!("bind_ipi"));
    expect_eq!(evtchn::reset(1000), Err(Errno::ESRCH), "reset(d1000)");
    expect_eq!(evtchn::reset(DOMID_XEN), Err(Errno::ESRCH), "reset(DOMID_XEN)");
    expect_eq!(evtchn::reset(peer), Err(Errno::EPERM), "reset(d{peer})");
    expect_eq!(evtchn::reset_cont(DOMID_SELF), Err(Errno::EBUSY), "reset_cont(self), none started");
    expect_eq!(evtchn::reset_cont(own_domid()), Err(Errno::EBUSY), "reset_cont(own domid)");
    expect_eq!(evtchn::reset_cont(1000), Err(Errno::ESRCH), "reset_cont(d1000)");
    expect_eq!(evtchn::reset_cont(peer), Err(Errno::EPERM), "reset_cont(d{peer})");
    check_status(p, st::IPI, 0, [0, 0]);
    expect_eq!(evtchn::reset(DOMID_SELF), Ok(()), "reset(self) after the failures");
    check_status(p, st::CLOSED, 0, [0, 0]);
    expect_eq!(evtchn::reset_cont(DOMID_SELF), Err(Errno::EBUSY), "reset_cont after a full reset");
    xtf_success!();
}

xtf::register_test!(
    "evtchn-reset-fifo",
    "reset with FIFO active: back to 2L, FIFO again",
    reset_fifo
);
/// reset with FIFO active: every port closed (their words lose PENDING, keep LINKED: Xen
/// closes them before dropping the array and never clears LINKED), then back to 2L
/// (set_priority -ENOSYS, expand_array -EOPNOTSUPP, 2L bits in use again), and FIFO can be
/// set up again from scratch, taking over a 2L-pending port.
pub fn reset_fifo(_: &Env<'_>) {
    let si = shared_info();
    si.clear_all_pending();
    let f = Fifo::new();
    expect_eq!(f.init_control(0, 0), Ok(17), "init_control(vcpu 0)");
    expect_eq!(f.init_control(1, 64), Ok(17), "init_control(vcpu 1)");
    expect_eq!(f.expand(), Ok(()), "expand_array");
    let p1 = must(evtchn::bind_ipi(0), format_args!("bind_ipi"));
    let p2 = must(evtchn::bind_ipi(0), format_args!("bind_ipi"));
    must(evtchn::set_priority(p2, 3), format_args!("set_priority(p2, 3)"));
    must(evtchn::send(p1), format_args!("send(p1)"));
    must(evtchn::send(p2), format_args!("send(p2)"));
    let cb = f.control(0).unwrap();
    expect_eq!((cb.ready(), cb.head(7), cb.head(3)), (1 << 7 | 1 << 3, p1, p2), "queues");
    expect_eq!(f.word(p1).0, (F::PENDING | F::LINKED).bits(), "word(p1) before reset");

    expect_eq!(evtchn::reset(DOMID_SELF), Ok(()), "reset(self) with FIFO active");
    expect_eq!(f.word(p1).0, F::LINKED.bits(), "word(p1) after reset");
    expect_eq!(f.word(p2).0, F::LINKED.bits(), "word(p2) after reset");
    expect_eq!(
        (cb.ready(), cb.head(7), cb.head(3)),
        (1 << 7 | 1 << 3, p1, p2),
        "control block kept"
    );
    f.forget();
    check_status(p1, st::CLOSED, 0, [0, 0]);
    expect_eq!(evtchn::set_priority(p1, 3), Err(Errno::ENOSYS), "set_priority after reset (2L)");
    expect_eq!(evtchn::expand_array(array_gfn(1)), Err(Errno::EOPNOTSUPP), "expand_array (2L)");

    // 2L again: port 1 is free (no FIFO busy check), and delivery uses shared_info.
    let q = must(evtchn::bind_ipi(0), format_args!("bind_ipi under 2L"));
    expect_eq!(q, 1, "port after reset");
    must(evtchn::send(q), format_args!("send(q) under 2L"));
    expect_eq!(si.is_pending(q), true, "2L pending bit");

    // FIFO again from scratch: the 2L-pending port is raised when its page arrives.
    expect_eq!(f.init_control(0, 0), Ok(17), "init_control again");
    expect_eq!(f.init_control(1, 64), Ok(17), "init_control(vcpu 1) again");
    expect_eq!(f.expand(), Ok(()), "expand_array again");
    let cb = f.control(0).unwrap();
    expect_eq!(f.word(q).0, (F::PENDING | F::LINKED).bits(), "word(q): raised from 2L pending");
    expect_eq!((cb.ready(), cb.head(7)), (1 << 7, q), "queue 7 after re-init");
    expect_eq!(evtchn::set_priority(q, 2), Ok(()), "set_priority under FIFO again");
    xtf_success!();
}
