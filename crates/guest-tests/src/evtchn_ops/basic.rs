//! One-domain cases of every EVTCHNOP under the 2-level ABI: the state each leaves, as
//! EVTCHNOP_status and shared_info show it. Each case starts in a fresh domain (no port
//! open) with 2 vCPUs (vCPU 1 exists but never runs).

use xtf::abi::{DOMID_SELF, DOMID_XEN, Errno, EvtchnStatus, evtchnstat as st, virq};
use xtf::guest::evtchn;
use xtf::{Env, xtf_success};

use super::{check_status, must, own_domid, shared_info, status};
use xtf::expect_eq;

/// Poison for the status union, to see exactly which bytes Xen writes.
const POISON: [u32; 2] = [0xdead_beef, 0xcafe_f00d];

xtf::register_test!(
    "evtchn-alloc-unbound-self",
    "alloc_unbound(self): lowest free port, remote domid resolved, reuse",
    alloc_unbound_self
);
/// alloc_unbound for DOMID_SELF: lowest free port first (port 0 is reserved), the remote
/// domid stored resolved (DOMID_SELF becomes our domid: evtchn_alloc_unbound), reuse of a
/// closed port, and naming ourselves by number.
pub fn alloc_unbound_self(_: &Env<'_>) {
    let me = own_domid();
    expect_eq!(
        evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF),
        Ok(1),
        "first alloc_unbound(self, self)"
    );
    expect_eq!(
        evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF),
        Ok(2),
        "second alloc_unbound(self, self)"
    );
    expect_eq!(evtchn::alloc_unbound(me, me), Ok(3), "alloc_unbound(d{me}, d{me}) by number");
    expect_eq!(evtchn::alloc_unbound(DOMID_SELF, me), Ok(4), "alloc_unbound(self, d{me})");
    for p in 1..=4 {
        // u.unbound.dom is a domid_t: Xen writes the low 16 bits of u[0] only.
        check_status(p, st::UNBOUND, 0, [u32::from(me), 0]);
    }
    expect_eq!(evtchn::close(2), Ok(()), "close(2)");
    expect_eq!(
        evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF),
        Ok(2),
        "alloc after close(2) reuses 2"
    );
    expect_eq!(evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF), Ok(5), "next alloc");
    xtf_success!();
}

xtf::register_test!(
    "evtchn-bind-virq",
    "bind_virq: every VIRQ, EEXIST, EINVAL/ENOENT rules for global and per-vCPU",
    bind_virq
);
/// bind_virq: every VIRQ number below NR_VIRQS binds on vCPU 0 (even unnamed 5: Xen checks
/// only the range), -EEXIST for a second binding, -EINVAL out of range or for a global VIRQ
/// on vCPU != 0 (checked before the vCPU exists: -EINVAL, not -ENOENT), -ENOENT for a
/// per-vCPU VIRQ on a vCPU that does not exist; status reports VIRQ, the vCPU and u.virq.
pub fn bind_virq(_: &Env<'_>) {
    let mut port = 1;
    for v in 0..virq::NR_VIRQS {
        if expect_eq!(evtchn::bind_virq(v, 0), Ok(port), "bind_virq({v}, vcpu 0)") {
            check_status(port, st::VIRQ, 0, [v, 0]);
        }
        port += 1;
    }
    for v in [virq::TIMER, virq::DOM_EXC, virq::UNUSED_5, virq::ARCH_7] {
        expect_eq!(evtchn::bind_virq(v, 0), Err(Errno::EEXIST), "bind_virq({v}, vcpu 0) twice");
    }
    for v in [virq::NR_VIRQS, 100, 0x7fff_ffff, 0x8000_0000, u32::MAX] {
        expect_eq!(evtchn::bind_virq(v, 0), Err(Errno::EINVAL), "bind_virq({v:#x}) out of range");
    }
    // Global VIRQs only on vCPU 0.
    for v in [virq::DOM_EXC, virq::CONSOLE, virq::UNUSED_5, virq::ARCH_0] {
        expect_eq!(evtchn::bind_virq(v, 1), Err(Errno::EINVAL), "bind_virq(global {v}, vcpu 1)");
        expect_eq!(evtchn::bind_virq(v, 7), Err(Errno::EINVAL), "bind_virq(global {v}, vcpu 7)");
    }
    // Per-vCPU VIRQs: one binding per vCPU.
    for v in [virq::TIMER, virq::DEBUG, virq::XENOPROF, virq::XENPMU] {
        if expect_eq!(evtchn::bind_virq(v, 1), Ok(port), "bind_virq(per-vCPU {v}, vcpu 1)") {
            check_status(port, st::VIRQ, 1, [v, 0]);
        }
        port += 1;
        expect_eq!(evtchn::bind_virq(v, 1), Err(Errno::EEXIST), "bind_virq({v}, vcpu 1) twice");
        expect_eq!(evtchn::bind_virq(v, 2), Err(Errno::ENOENT), "bind_virq({v}, vcpu 2 absent)");
        expect_eq!(evtchn::bind_virq(v, u32::MAX), Err(Errno::ENOENT), "bind_virq({v}, vcpu ~0)");
    }
    // Closing frees the VIRQ for a new binding, on the lowest free port.
    expect_eq!(evtchn::close(4), Ok(()), "close(VIRQ_DOM_EXC's port 4)");
    expect_eq!(evtchn::bind_virq(virq::DOM_EXC, 0), Ok(4), "bind_virq(DOM_EXC) after close");
    // Status u words: u.virq is a uint32_t: u[1] untouched.
    let s = must(
        evtchn::status_with(EvtchnStatus {
            dom: DOMID_SELF,
            port: 4,
            u: POISON,
            ..Default::default()
        }),
        format_args!("status(4) with poisoned u"),
    );
    expect_eq!(s.u, [virq::DOM_EXC, POISON[1]], "status(virq port).u with poison going in");
    xtf_success!();
}

xtf::register_test!(
    "evtchn-bind-ipi",
    "bind_ipi: vCPUs, ENOENT, status, delivery bits per vCPU",
    bind_ipi
);
/// bind_ipi: any existing vCPU (-ENOENT otherwise), several IPI ports per vCPU, status IPI
/// with the vCPU and the union untouched; send sets the port pending with the selector bit
/// and upcall flag of vCPU 0 only when it targets vCPU 0.
pub fn bind_ipi(_: &Env<'_>) {
    let si = shared_info();
    let v0 = si.vcpu0();
    expect_eq!(evtchn::bind_ipi(0), Ok(1), "bind_ipi(vcpu 0)");
    expect_eq!(evtchn::bind_ipi(0), Ok(2), "second bind_ipi(vcpu 0)");
    expect_eq!(evtchn::bind_ipi(1), Ok(3), "bind_ipi(vcpu 1)");
    expect_eq!(evtchn::bind_ipi(2), Err(Errno::ENOENT), "bind_ipi(vcpu 2 absent)");
    expect_eq!(evtchn::bind_ipi(u32::MAX), Err(Errno::ENOENT), "bind_ipi(vcpu ~0)");
    expect_eq!(evtchn::bind_ipi(0), Ok(4), "bind_ipi after failures: no port leaked");
    let s = must(
        evtchn::status_with(EvtchnStatus {
            dom: DOMID_SELF,
            port: 3,
            u: POISON,
            ..Default::default()
        }),
        format_args!("status(3) with poisoned u"),
    );
    expect_eq!((s.status, s.vcpu, s.u), (st::IPI, 1, POISON), "status(IPI port 3): u untouched");
    check_status(1, st::IPI, 0, [0, 0]);

    v0.clear();
    si.clear_all_pending();
    expect_eq!(evtchn::send(3), Ok(()), "send(IPI to vcpu 1)");
    expect_eq!(si.is_pending(3), true, "port 3 pending after send");
    expect_eq!(
        (v0.pending_sel(), v0.upcall_pending()),
        (0, 0),
        "vcpu 0 selector/upcall after an IPI to vcpu 1"
    );
    expect_eq!(evtchn::send(1), Ok(()), "send(IPI to vcpu 0)");
    expect_eq!(si.is_pending(1), true, "port 1 pending after send");
    expect_eq!((v0.pending_sel(), v0.upcall_pending()), (1, 1), "vcpu 0 selector/upcall after IPI");
    expect_eq!(si.is_pending(2), false, "port 2 not pending");
    xtf_success!();
}

xtf::register_test!(
    "evtchn-close-states",
    "close in every state and its errors; pending cleared, mask kept",
    close_states
);
/// close in every state: unbound, VIRQ, IPI, both ends of a loopback channel (the other end
/// becomes unbound for us), and the errors: already closed, port 0, free, out of range.
/// Closing clears the port's pending bit (evtchn_free) and leaves its mask bit alone.
pub fn close_states(_: &Env<'_>) {
    let si = shared_info();
    let me = own_domid();
    let unbound = must(evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF), format_args!("alloc"));
    let vq = must(evtchn::bind_virq(virq::ARCH_0, 0), format_args!("bind_virq"));
    let ipi = must(evtchn::bind_ipi(0), format_args!("bind_ipi"));
    let a = must(evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF), format_args!("alloc (loop)"));
    let b = must(evtchn::bind_interdomain(DOMID_SELF, a), format_args!("bind loopback"));
    expect_eq!((unbound, vq, ipi, a, b), (1, 2, 3, 4, 5), "ports handed out");

    expect_eq!(evtchn::close(unbound), Ok(()), "close(unbound)");
    check_status(unbound, st::CLOSED, 0, [0, 0]);
    expect_eq!(evtchn::close(unbound), Err(Errno::EINVAL), "close(unbound) again");

    expect_eq!(evtchn::close(vq), Ok(()), "close(virq)");
    check_status(vq, st::CLOSED, 0, [0, 0]);
    expect_eq!(evtchn::bind_virq(virq::ARCH_0, 0), Ok(1), "VIRQ free again: binds on port 1");

    si.mask(ipi);
    expect_eq!(evtchn::send(ipi), Ok(()), "send(ipi)");
    expect_eq!(si.is_pending(ipi), true, "masked IPI pending after send");
    expect_eq!(evtchn::close(ipi), Ok(()), "close(ipi)");
    expect_eq!(si.is_pending(ipi), false, "closing clears the pending bit");
    expect_eq!(si.is_masked(ipi), true, "closing leaves the mask bit");
    si.clear_mask(ipi);

    // Loopback: closing b leaves a unbound, for us.
    expect_eq!(evtchn::close(b), Ok(()), "close(loopback end b)");
    check_status(b, st::CLOSED, 0, [0, 0]);
    check_status(a, st::UNBOUND, 0, [u32::from(me), 0]);
    expect_eq!(evtchn::close(a), Ok(()), "close(a, unbound again)");

    expect_eq!(evtchn::close(0), Err(Errno::EINVAL), "close(0): reserved");
    expect_eq!(evtchn::close(63), Err(Errno::EINVAL), "close(63): free");
    expect_eq!(evtchn::close(4096), Err(Errno::EINVAL), "close(4096): no such port");
    expect_eq!(evtchn::close(u32::MAX), Err(Errno::EINVAL), "close(~0)");
    expect_eq!(evtchn::close(0x8000_0000), Err(Errno::EINVAL), "close(0x80000000)");
    xtf_success!();
}

xtf::register_test!(
    "evtchn-send-states",
    "send in every state: dropped, delivered, EINVAL",
    send_states
);
/// send in every state: unbound (dropped silently, nothing pending), IPI (our port),
/// loopback (the other end, not ours), VIRQ (-EINVAL), closed, port 0 and out of range
/// (-EINVAL); after the remote end closes, the survivor is unbound and sends are dropped.
pub fn send_states(_: &Env<'_>) {
    let si = shared_info();
    si.clear_all_pending();
    let u = must(evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF), format_args!("alloc"));
    expect_eq!(evtchn::send(u), Ok(()), "send(unbound)");
    expect_eq!(si.is_pending(u), false, "unbound port not pending after send");

    let ipi = must(evtchn::bind_ipi(0), format_args!("bind_ipi"));
    expect_eq!(evtchn::send(ipi), Ok(()), "send(ipi)");
    expect_eq!(si.is_pending(ipi), true, "ipi pending after send");

    let vq = must(evtchn::bind_virq(virq::DOM_EXC, 0), format_args!("bind_virq"));
    expect_eq!(evtchn::send(vq), Err(Errno::EINVAL), "send(virq)");
    expect_eq!(si.is_pending(vq), false, "virq port not pending");

    let a = must(evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF), format_args!("alloc (loop)"));
    let b = must(evtchn::bind_interdomain(DOMID_SELF, a), format_args!("bind loopback"));
    // evtchn_bind_interdomain sets the new local port pending ("we may have lost
    // notifications on the remote unbound port").
    expect_eq!((si.is_pending(a), si.is_pending(b)), (false, true), "(a, b) pending after bind");
    si.clear_pending(b);
    expect_eq!(evtchn::send(a), Ok(()), "send(a)");
    expect_eq!((si.is_pending(a), si.is_pending(b)), (false, true), "(a, b) after send(a)");
    si.clear_pending(b);
    expect_eq!(evtchn::send(b), Ok(()), "send(b)");
    expect_eq!((si.is_pending(a), si.is_pending(b)), (true, false), "(a, b) after send(b)");
    si.clear_pending(a);

    expect_eq!(evtchn::close(b), Ok(()), "close(b)");
    expect_eq!(evtchn::send(a), Ok(()), "send(a) after the remote end closed");
    expect_eq!((si.is_pending(a), si.is_pending(b)), (false, false), "nothing pending");

    expect_eq!(evtchn::send(b), Err(Errno::EINVAL), "send(closed port)");
    expect_eq!(evtchn::send(0), Err(Errno::EINVAL), "send(0)");
    expect_eq!(evtchn::send(63), Err(Errno::EINVAL), "send(63, free)");
    expect_eq!(evtchn::send(4096), Err(Errno::EINVAL), "send(4096)");
    expect_eq!(evtchn::send(u32::MAX), Err(Errno::EINVAL), "send(~0)");
    xtf_success!();
}

xtf::register_test!(
    "evtchn-send-masked",
    "2L mask: pending without selector/upcall, unmask notifies",
    send_masked
);
/// 2L delivery bits: a masked port gets its pending bit but no selector bit and no upcall;
/// EVTCHNOP_unmask then sets both; sending to a port that is already pending changes
/// nothing (evtchn_2l_set_pending returns early); clearing the mask bit by hand notifies
/// nobody.
pub fn send_masked(_: &Env<'_>) {
    let si = shared_info();
    let v0 = si.vcpu0();
    si.clear_all_pending();
    v0.clear();
    // Port 65 sits in word 1: selector bit 1.
    let mut ports = [0u32; 65];
    for (i, p) in ports.iter_mut().enumerate() {
        *p = must(evtchn::bind_ipi(0), format_args!("bind_ipi #{i}"));
    }
    let p = ports[64];
    expect_eq!(p, 65, "65th IPI port");
    si.mask(p);
    expect_eq!(evtchn::send(p), Ok(()), "send(masked 65)");
    expect_eq!(si.is_pending(p), true, "masked port pending");
    expect_eq!((v0.pending_sel(), v0.upcall_pending()), (0, 0), "selector/upcall while masked");

    expect_eq!(evtchn::unmask(p), Ok(()), "unmask(65)");
    expect_eq!(si.is_masked(p), false, "mask bit cleared by unmask");
    expect_eq!(
        (v0.pending_sel(), v0.upcall_pending()),
        (1 << 1, 1),
        "selector/upcall after unmask"
    );

    // Already pending: no new notification.
    v0.clear();
    expect_eq!(evtchn::send(p), Ok(()), "send(65) while pending");
    expect_eq!((v0.pending_sel(), v0.upcall_pending()), (0, 0), "selector/upcall: already pending");

    // Unmasking a port that is not masked does not notify, even if pending.
    expect_eq!(evtchn::unmask(p), Ok(()), "unmask(65) not masked");
    expect_eq!((v0.pending_sel(), v0.upcall_pending()), (0, 0), "unmask of an unmasked port");

    // Masked again, then unmasked by hand (no hypercall): nothing happens.
    si.clear_pending(p);
    si.mask(p);
    expect_eq!(evtchn::send(p), Ok(()), "send(masked 65) again");
    si.clear_mask(p);
    expect_eq!((v0.pending_sel(), v0.upcall_pending()), (0, 0), "hand unmask notifies nobody");
    // Selector bit 0 for a port of word 0.
    si.clear_pending(p);
    expect_eq!(evtchn::send(ports[3]), Ok(()), "send(4)");
    expect_eq!((v0.pending_sel(), v0.upcall_pending()), (1, 1), "selector/upcall for port 4");
    xtf_success!();
}

xtf::register_test!(
    "evtchn-status-fields",
    "status of every state, exact bytes written, errors",
    status_fields
);
/// EVTCHNOP_status for every state, with poisoned union words going in to pin down exactly
/// what Xen writes, and its errors: out of range (-EINVAL), a domain that does not exist or
/// DOMID_XEN (-ESRCH).
pub fn status_fields(_: &Env<'_>) {
    let me = own_domid();
    let poisoned = |port: u32| {
        must(
            evtchn::status_with(EvtchnStatus {
                dom: DOMID_SELF,
                port,
                status: 0x5555,
                vcpu: 0x6666,
                u: POISON,
            }),
            format_args!("status({port})"),
        )
    };
    let fields = |s: EvtchnStatus| (s.status, s.vcpu, s.u);
    // Port 0 is ECS_RESERVED: reported closed. Closed ports leave u alone.
    expect_eq!(fields(poisoned(0)), (st::CLOSED, 0, POISON), "status(0)");
    expect_eq!(fields(poisoned(1)), (st::CLOSED, 0, POISON), "status(1, free)");
    let u = must(evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF), format_args!("alloc"));
    let unbound_u0 = (POISON[0] & 0xffff_0000) | u32::from(me);
    expect_eq!(fields(poisoned(u)), (st::UNBOUND, 0, [unbound_u0, POISON[1]]), "status(unbound)");
    let b = must(evtchn::bind_interdomain(me, u), format_args!("bind loopback"));
    // u.interdomain: domid_t dom at 0, pad, port at 4.
    expect_eq!(fields(poisoned(b)), (st::INTERDOMAIN, 0, [unbound_u0, u]), "status(interdomain b)");
    expect_eq!(fields(poisoned(u)), (st::INTERDOMAIN, 0, [unbound_u0, b]), "status(interdomain u)");
    let ipi = must(evtchn::bind_ipi(1), format_args!("bind_ipi(1)"));
    expect_eq!(fields(poisoned(ipi)), (st::IPI, 1, POISON), "status(ipi on vcpu 1)");
    let vq = must(evtchn::bind_virq(virq::TIMER, 1), format_args!("bind_virq(TIMER, 1)"));
    expect_eq!(fields(poisoned(vq)), (st::VIRQ, 1, [virq::TIMER, POISON[1]]), "status(virq)");
    // By our domid rather than DOMID_SELF.
    let s = must(evtchn::status(me, vq), format_args!("status(d{me}, {vq})"));
    expect_eq!((s.status, s.vcpu, s.u), (st::VIRQ, 1, [virq::TIMER, 0]), "status by domid");
    // Errors.
    expect_eq!(evtchn::status(DOMID_SELF, 4096).map(|_| ()), Err(Errno::EINVAL), "status(4096)");
    expect_eq!(evtchn::status(DOMID_SELF, u32::MAX).map(|_| ()), Err(Errno::EINVAL), "status(~0)");
    expect_eq!(evtchn::status(1000, 1).map(|_| ()), Err(Errno::ESRCH), "status(d1000, 1)");
    expect_eq!(evtchn::status(DOMID_XEN, 1).map(|_| ()), Err(Errno::ESRCH), "status(DOMID_XEN, 1)");
    xtf_success!();
}

xtf::register_test!(
    "evtchn-bind-vcpu",
    "bind_vcpu: which states move, ENOENT before EINVAL, reset on reuse",
    bind_vcpu
);
/// bind_vcpu: unbound and interdomain ports and global VIRQs move (status shows it, and a
/// send then marks the other vCPU, not vCPU 0); per-vCPU VIRQs and IPIs cannot (-EINVAL);
/// a vCPU that does not exist is -ENOENT even for a bad port (checked first); a freed and
/// reused port is back on vCPU 0.
pub fn bind_vcpu(_: &Env<'_>) {
    let si = shared_info();
    let v0 = si.vcpu0();
    let a = must(evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF), format_args!("alloc"));
    expect_eq!(evtchn::bind_vcpu(a, 1), Ok(()), "bind_vcpu(unbound, 1)");
    expect_eq!(status(a).vcpu, 1, "status(unbound).vcpu after bind_vcpu");
    let b = must(evtchn::bind_interdomain(DOMID_SELF, a), format_args!("bind loopback"));
    // The bound end keeps its vCPU; the new end starts on vCPU 0.
    expect_eq!((status(a).vcpu, status(b).vcpu), (1, 0), "vcpus of (a, b) after binding");
    si.clear_all_pending();
    v0.clear();
    expect_eq!(evtchn::send(b), Ok(()), "send(b) to a on vcpu 1");
    expect_eq!(si.is_pending(a), true, "a pending");
    expect_eq!((v0.pending_sel(), v0.upcall_pending()), (0, 0), "vcpu 0 not notified for vcpu 1");
    expect_eq!(evtchn::bind_vcpu(a, 0), Ok(()), "bind_vcpu(interdomain a, 0)");
    si.clear_pending(a);
    expect_eq!(evtchn::send(b), Ok(()), "send(b) to a on vcpu 0");
    expect_eq!((v0.pending_sel(), v0.upcall_pending()), (1, 1), "vcpu 0 notified");
    expect_eq!(evtchn::bind_vcpu(b, 1), Ok(()), "bind_vcpu(interdomain b, 1)");
    expect_eq!(status(b).vcpu, 1, "status(b).vcpu");

    let g = must(evtchn::bind_virq(virq::DOM_EXC, 0), format_args!("bind_virq(DOM_EXC)"));
    expect_eq!(evtchn::bind_vcpu(g, 1), Ok(()), "bind_vcpu(global virq, 1)");
    expect_eq!(status(g).vcpu, 1, "status(global virq).vcpu");
    let t = must(evtchn::bind_virq(virq::TIMER, 0), format_args!("bind_virq(TIMER)"));
    expect_eq!(evtchn::bind_vcpu(t, 1), Err(Errno::EINVAL), "bind_vcpu(per-vcpu virq, 1)");
    expect_eq!(evtchn::bind_vcpu(t, 0), Err(Errno::EINVAL), "bind_vcpu(per-vcpu virq, 0)");
    let i = must(evtchn::bind_ipi(0), format_args!("bind_ipi"));
    expect_eq!(evtchn::bind_vcpu(i, 1), Err(Errno::EINVAL), "bind_vcpu(ipi, 1)");
    expect_eq!(status(i).vcpu, 0, "ipi still on vcpu 0");

    expect_eq!(evtchn::bind_vcpu(63, 1), Err(Errno::EINVAL), "bind_vcpu(free port)");
    expect_eq!(evtchn::bind_vcpu(0, 0), Err(Errno::EINVAL), "bind_vcpu(port 0)");
    expect_eq!(evtchn::bind_vcpu(4096, 0), Err(Errno::EINVAL), "bind_vcpu(4096)");
    expect_eq!(evtchn::bind_vcpu(a, 2), Err(Errno::ENOENT), "bind_vcpu(a, vcpu 2 absent)");
    expect_eq!(evtchn::bind_vcpu(4096, 2), Err(Errno::ENOENT), "bind_vcpu(bad port, bad vcpu)");
    expect_eq!(evtchn::bind_vcpu(a, u32::MAX), Err(Errno::ENOENT), "bind_vcpu(a, vcpu ~0)");

    // Freed and reused: back on vCPU 0 (evtchn_free resets notify_vcpu_id).
    expect_eq!(evtchn::close(b), Ok(()), "close(b)");
    expect_eq!(evtchn::close(a), Ok(()), "close(a)");
    let c = must(evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF), format_args!("realloc"));
    expect_eq!((c, status(c).vcpu), (a, 0), "reused port and its vcpu");
    xtf_success!();
}

xtf::register_test!(
    "evtchn-unmask",
    "unmask: free ports ignored, notification only when pending",
    unmask
);
/// unmask: -EINVAL only out of range; on a free port or port 0 it returns 0 and leaves the
/// mask bit set (the port is not "usable", evtchn_port_unmask does nothing); on a bound port
/// it clears the bit, notifying only if the port is pending.
pub fn unmask(_: &Env<'_>) {
    let si = shared_info();
    let v0 = si.vcpu0();
    si.clear_all_pending();
    v0.clear();
    expect_eq!(evtchn::unmask(4096), Err(Errno::EINVAL), "unmask(4096)");
    expect_eq!(evtchn::unmask(u32::MAX), Err(Errno::EINVAL), "unmask(~0)");
    for p in [0u32, 5] {
        si.mask(p);
        expect_eq!(evtchn::unmask(p), Ok(()), "unmask({p}, not in use)");
        expect_eq!(si.is_masked(p), true, "port {p} still masked");
        si.clear_mask(p);
    }
    let u = must(evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF), format_args!("alloc"));
    si.mask(u);
    expect_eq!(evtchn::unmask(u), Ok(()), "unmask(unbound, not pending)");
    expect_eq!(si.is_masked(u), false, "unbound port unmasked");
    expect_eq!((v0.pending_sel(), v0.upcall_pending()), (0, 0), "no notification: not pending");
    // Pending by the guest's own hand, then unmasked: Xen notifies.
    si.mask(u);
    si.set_pending(u);
    expect_eq!(evtchn::unmask(u), Ok(()), "unmask(unbound, pending)");
    expect_eq!((v0.pending_sel(), v0.upcall_pending()), (1, 1), "notification for a pending port");
    xtf_success!();
}

xtf::register_test!(
    "evtchn-loopback",
    "interdomain channels to ourselves and bind_interdomain errors",
    loopback
);
/// Loopback interdomain channels (remote domain = ourselves, by DOMID_SELF or domid): both
/// ends' status; the new local end pending; and the bind errors: remote port not unbound,
/// reserved, free, out of range, unbound for another domain (DOMID_XEN under dummy is not
/// needed: an interdomain port is not unbound), unknown domain (-ESRCH). Failed binds leak
/// no local port.
pub fn loopback(_: &Env<'_>) {
    let si = shared_info();
    si.clear_all_pending();
    let me = own_domid();
    let a = must(evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF), format_args!("alloc"));
    let b = must(evtchn::bind_interdomain(DOMID_SELF, a), format_args!("bind(self, a)"));
    expect_eq!((a, b), (1, 2), "ports");
    check_status(a, st::INTERDOMAIN, 0, [u32::from(me), b]);
    check_status(b, st::INTERDOMAIN, 0, [u32::from(me), a]);
    expect_eq!((si.is_pending(a), si.is_pending(b)), (false, true), "(a, b) pending after bind");
    let c = must(evtchn::alloc_unbound(me, me), format_args!("alloc by domid"));
    let d = must(evtchn::bind_interdomain(me, c), format_args!("bind(d{me}, c)"));
    expect_eq!((c, d), (3, 4), "ports by domid");

    expect_eq!(
        evtchn::bind_interdomain(DOMID_SELF, a),
        Err(Errno::EINVAL),
        "bind to interdomain a"
    );
    expect_eq!(evtchn::bind_interdomain(DOMID_SELF, 0), Err(Errno::EINVAL), "bind to port 0");
    expect_eq!(evtchn::bind_interdomain(DOMID_SELF, 60), Err(Errno::EINVAL), "bind to free 60");
    expect_eq!(evtchn::bind_interdomain(DOMID_SELF, 4096), Err(Errno::EINVAL), "bind to 4096");
    expect_eq!(evtchn::bind_interdomain(DOMID_SELF, u32::MAX), Err(Errno::EINVAL), "bind to ~0");
    let ipi = must(evtchn::bind_ipi(0), format_args!("bind_ipi"));
    expect_eq!(evtchn::bind_interdomain(DOMID_SELF, ipi), Err(Errno::EINVAL), "bind to an IPI");
    expect_eq!(evtchn::bind_interdomain(1000, 1), Err(Errno::ESRCH), "bind to d1000");
    expect_eq!(evtchn::bind_interdomain(DOMID_XEN, 1), Err(Errno::ESRCH), "bind to DOMID_XEN");
    expect_eq!(evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF), Ok(6), "no port leaked by failures");
    xtf_success!();
}

xtf::register_test!("evtchn-port-zero", "port 0 in every operation", port_zero);
/// Port 0 in every operation: reserved, never handed out, reported closed, refused by close,
/// send and bind_vcpu, silently accepted (and ignored) by unmask.
pub fn port_zero(_: &Env<'_>) {
    let si = shared_info();
    check_status(0, st::CLOSED, 0, [0, 0]);
    expect_eq!(evtchn::close(0), Err(Errno::EINVAL), "close(0)");
    expect_eq!(evtchn::send(0), Err(Errno::EINVAL), "send(0)");
    expect_eq!(evtchn::bind_vcpu(0, 0), Err(Errno::EINVAL), "bind_vcpu(0, 0)");
    expect_eq!(evtchn::bind_interdomain(DOMID_SELF, 0), Err(Errno::EINVAL), "bind_interdomain(0)");
    si.mask(0);
    expect_eq!(evtchn::unmask(0), Ok(()), "unmask(0)");
    expect_eq!(si.is_masked(0), true, "port 0 still masked");
    si.clear_mask(0);
    expect_eq!(evtchn::set_priority(0, 7), Err(Errno::ENOSYS), "set_priority(0) under 2L");
    expect_eq!(evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF), Ok(1), "first port is 1, not 0");
    check_status(0, st::CLOSED, 0, [0, 0]);
    xtf_success!();
}
