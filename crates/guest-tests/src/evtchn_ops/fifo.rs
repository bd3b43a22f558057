//! The FIFO ABI (event_fifo.c): init_control and expand_array with their errors,
//! set_priority, and how events land in the queues, as the event words (PENDING, MASKED,
//! LINKED, BUSY, LINK) and the control block (ready, head[]) show it. Interrupts stay masked:
//! the queues are read, never consumed by an upcall.

use xtf::abi::{DOMID_SELF, Errno, EventWordFlags as F, evtchnstat as st, fifo, virq};
use xtf::guest::evtchn::{self, raw::BadAddress};
use xtf::guest::fifo::{Fifo, array_gfn, control_gfn};
use xtf::{Env, xtf_success};

use super::{check_status, must, own_domid, shared_info};
use xtf::expect_eq;

const PL: u32 = F::PENDING.bits() | F::LINKED.bits();

/// Frames that are not the domain's RAM: never mapped, MMIO (vGIC distributor), 0, huge.
const BAD_GFNS: [u64; 5] =
    [BadAddress::UNBACKED.addr() >> 12, BadAddress::MMIO.addr() >> 12, 0, 1 << 40, u64::MAX];

xtf::register_test!(
    "evtchn-fifo-init-control",
    "init_control errors and success per vCPU",
    init_control
);
/// init_control: -ENOENT for a vCPU that does not exist (checked first), -EINVAL for an
/// offset that is not 8-aligned or leaves no room for the 72-byte block (> 4024), for a frame
/// that is not our RAM, and for a vCPU that already has a block; link_bits 17 on success;
/// failures leave the domain on 2L.
pub fn init_control(_: &Env<'_>) {
    let f = Fifo::new();
    let g0 = control_gfn(0);
    expect_eq!(evtchn::init_control(g0, 0, 2), Err(Errno::ENOENT), "init_control(vcpu 2 absent)");
    expect_eq!(evtchn::init_control(g0, 0, u32::MAX), Err(Errno::ENOENT), "init_control(vcpu ~0)");
    expect_eq!(evtchn::init_control(0, 3, 9), Err(Errno::ENOENT), "bad everything: vcpu first");
    for off in [4u32, 12, 4020] {
        expect_eq!(evtchn::init_control(g0, off, 0), Err(Errno::EINVAL), "offset {off} unaligned");
    }
    for off in [4028u32, 4032, 4096, 0x8000_0000, u32::MAX] {
        expect_eq!(evtchn::init_control(g0, off, 0), Err(Errno::EINVAL), "offset {off:#x} too big");
    }
    for gfn in BAD_GFNS {
        expect_eq!(evtchn::init_control(gfn, 0, 0), Err(Errno::EINVAL), "control gfn {gfn:#x}");
    }
    // Still 2L.
    let p = must(evtchn::bind_ipi(0), format_args!("bind_ipi"));
    expect_eq!(evtchn::set_priority(p, 3), Err(Errno::ENOSYS), "set_priority under 2L");
    expect_eq!(evtchn::expand_array(array_gfn(0)), Err(Errno::EOPNOTSUPP), "expand_array under 2L");

    expect_eq!(
        f.init_control(0, xtf::abi::FIFO_CONTROL_BLOCK_MAX_OFFSET),
        Ok(fifo::LINK_BITS as u8),
        "init_control(vcpu 0, offset 4024)"
    );
    expect_eq!(evtchn::set_priority(p, 3), Ok(()), "set_priority under FIFO");
    expect_eq!(evtchn::init_control(g0, 0, 0), Err(Errno::EINVAL), "vcpu 0 twice");
    expect_eq!(
        evtchn::init_control(control_gfn(1), 0, 0),
        Err(Errno::EINVAL),
        "vcpu 0, other page"
    );
    expect_eq!(evtchn::init_control(0, 0, 0), Err(Errno::EINVAL), "vcpu 0 again, bad gfn");
    for gfn in BAD_GFNS {
        expect_eq!(evtchn::init_control(gfn, 0, 1), Err(Errno::EINVAL), "vcpu 1, gfn {gfn:#x}");
    }
    expect_eq!(f.init_control(1, 8), Ok(fifo::LINK_BITS as u8), "init_control(vcpu 1, offset 8)");
    expect_eq!(evtchn::init_control(control_gfn(1), 8, 1), Err(Errno::EINVAL), "vcpu 1 twice");
    expect_eq!(evtchn::init_control(g0, 0, 2), Err(Errno::ENOENT), "vcpu 2 still absent");
    expect_eq!(f.expand(), Ok(()), "expand_array works");
    xtf_success!();
}

xtf::register_test!(
    "evtchn-fifo-expand-array",
    "expand_array to 128 pages and past; ports still end at 1023",
    expand_array
);
/// expand_array: -EOPNOTSUPP before init_control, -EINVAL for frames that are not our RAM,
/// exactly 128 pages (EVTCHN_FIFO_NR_CHANNELS / 1024 words), then -ENOSPC (the slot is checked
/// before the frame). The domain's port limit stays 1023 whatever the array holds.
pub fn expand_array(_: &Env<'_>) {
    let f = Fifo::new();
    expect_eq!(evtchn::expand_array(array_gfn(0)), Err(Errno::EOPNOTSUPP), "expand before init");
    must(f.init_control(0, 0), format_args!("init_control"));
    for gfn in BAD_GFNS {
        expect_eq!(evtchn::expand_array(gfn), Err(Errno::EINVAL), "expand_array({gfn:#x})");
    }
    for i in 0..fifo::MAX_ARRAY_PAGES {
        if !expect_eq!(f.expand(), Ok(()), "expand_array page {i}") {
            xtf::exit();
        }
    }
    expect_eq!(f.expand(), Err(Errno::ENOSPC), "expand_array page 128");
    for gfn in BAD_GFNS {
        expect_eq!(evtchn::expand_array(gfn), Err(Errno::ENOSPC), "expand_array({gfn:#x}) full");
    }
    for want in 1..=super::limits::MAX_PORT {
        match evtchn::bind_ipi(0) {
            Ok(p) if p == want => {}
            other => {
                expect_eq!(other, Ok(want), "bind_ipi #{want}");
                xtf::exit();
            }
        }
    }
    expect_eq!(evtchn::bind_ipi(0), Err(Errno::ENOSPC), "bind_ipi past 1023 under FIFO");
    expect_eq!(
        evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF),
        Err(Errno::ENOSPC),
        "alloc past 1023"
    );
    expect_eq!(evtchn::status(DOMID_SELF, 1024).map(|_| ()), Err(Errno::EINVAL), "status(1024)");
    // The last port works like the first.
    let cb = f.control(0).unwrap();
    must(evtchn::send(1023), format_args!("send(1023)"));
    expect_eq!((f.word(1023).0, cb.head(7)), (PL, 1023), "port 1023 queued");
    xtf_success!();
}

xtf::register_test!(
    "evtchn-fifo-pending-before-array",
    "an event before its array page is queued on arrival",
    pending_before_array
);
/// An event sent before its array page exists is remembered (evtchn->pending) and queued
/// when the page arrives, with the upcall flag raised then, not before.
pub fn pending_before_array(_: &Env<'_>) {
    let si = shared_info();
    let v0 = si.vcpu0();
    let f = Fifo::new();
    must(f.init_control(0, 0), format_args!("init_control"));
    let p = must(evtchn::bind_ipi(0), format_args!("bind_ipi"));
    v0.clear();
    expect_eq!(evtchn::send(p), Ok(()), "send with no event array");
    let cb = f.control(0).unwrap();
    expect_eq!((cb.ready(), cb.head(7), v0.upcall_pending()), (0, 0, 0), "nothing queued yet");
    expect_eq!(si.is_pending(p), false, "no 2L bit under FIFO");
    expect_eq!(f.expand(), Ok(()), "expand_array");
    expect_eq!(f.word(p).0, PL, "word after the page arrived");
    expect_eq!((cb.ready(), cb.head(7), v0.upcall_pending()), (1 << 7, p, 1), "queued on arrival");
    xtf_success!();
}

xtf::register_test!(
    "evtchn-fifo-set-priority",
    "set_priority errors in order and effect",
    set_priority
);
/// set_priority: -EINVAL for a port out of range (checked first, under either ABI), -ENOSYS
/// under 2L, -EACCES for a port not in use (port 0, free: checked before the priority),
/// -EINVAL above 15; 0..=15 on any bound port.
pub fn set_priority(_: &Env<'_>) {
    let f = Fifo::new();
    expect_eq!(evtchn::set_priority(4096, 7), Err(Errno::EINVAL), "2L: set_priority(4096)");
    expect_eq!(evtchn::set_priority(1, 7), Err(Errno::ENOSYS), "2L: set_priority(1, free)");
    must(f.init_control(0, 0), format_args!("init_control"));
    must(f.expand(), format_args!("expand_array"));
    let u = must(evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF), format_args!("alloc"));
    for prio in [0u32, 15, 7, 1] {
        expect_eq!(evtchn::set_priority(u, prio), Ok(()), "set_priority(unbound, {prio})");
    }
    for prio in [16u32, 100, 0x8000_0000, u32::MAX] {
        expect_eq!(evtchn::set_priority(u, prio), Err(Errno::EINVAL), "set_priority(u, {prio:#x})");
    }
    expect_eq!(evtchn::set_priority(0, 3), Err(Errno::EACCES), "set_priority(0)");
    expect_eq!(evtchn::set_priority(5, 3), Err(Errno::EACCES), "set_priority(5, free)");
    expect_eq!(evtchn::set_priority(5, 16), Err(Errno::EACCES), "free port, bad priority");
    expect_eq!(evtchn::set_priority(4096, 3), Err(Errno::EINVAL), "set_priority(4096)");
    expect_eq!(evtchn::set_priority(u32::MAX, 3), Err(Errno::EINVAL), "set_priority(~0)");
    let b = must(evtchn::bind_interdomain(DOMID_SELF, u), format_args!("bind loopback"));
    let v = must(evtchn::bind_virq(virq::DOM_EXC, 0), format_args!("bind_virq"));
    let i = must(evtchn::bind_ipi(0), format_args!("bind_ipi"));
    for p in [b, v, i] {
        expect_eq!(evtchn::set_priority(p, 0), Ok(()), "set_priority({p}, 0)");
    }
    // The priority decides the queue of the next event: b was queued at 7 by the bind.
    let cb = f.control(0).unwrap();
    expect_eq!(cb.head(7), b, "bind queued b at default priority 7");
    must(evtchn::send(i), format_args!("send(i)"));
    expect_eq!((cb.head(0), cb.ready()), (i, 1 << 0 | 1 << 7), "i queued at priority 0");
    xtf_success!();
}

xtf::register_test!("evtchn-fifo-queues", "queues by priority: ready, heads, LINK order", queues);
/// Queues by priority: events go to the queue of their port's priority (default 7), each
/// queue links in send order (head[q], then LINK fields), `ready` has one bit per non-empty
/// queue, the first event raises the upcall flag; no 2L bit is set under FIFO.
pub fn queues(_: &Env<'_>) {
    let si = shared_info();
    let v0 = si.vcpu0();
    si.clear_all_pending();
    let f = Fifo::new();
    must(f.init_control(0, 0), format_args!("init_control"));
    must(f.expand(), format_args!("expand_array"));
    let mut p = [0u32; 6];
    for (i, port) in p.iter_mut().enumerate() {
        *port = must(evtchn::bind_ipi(0), format_args!("bind_ipi #{i}"));
    }
    for (port, prio) in [(p[0], 9), (p[1], 3), (p[2], 3), (p[3], 15), (p[5], 3)] {
        must(evtchn::set_priority(port, prio), format_args!("set_priority({port}, {prio})"));
    }
    v0.clear();
    for port in p {
        must(evtchn::send(port), format_args!("send({port})"));
    }
    let cb = f.control(0).unwrap();
    expect_eq!(cb.ready(), 1 << 3 | 1 << 7 | 1 << 9 | 1 << 15, "ready");
    let heads: [u32; 16] = core::array::from_fn(|q| cb.head(q as u32));
    let mut want = [0u32; 16];
    (want[3], want[7], want[9], want[15]) = (p[1], p[4], p[0], p[3]);
    expect_eq!(heads, want, "queue heads");
    let mut q = [0u32; 4];
    expect_eq!((f.queue(0, 3, &mut q), q), (3, [p[1], p[2], p[5], 0]), "queue 3 walked");
    expect_eq!(f.word(p[1]).0, PL | p[2], "word(p1): LINK to p2");
    expect_eq!(f.word(p[2]).0, PL | p[5], "word(p2): LINK to p5");
    expect_eq!(f.word(p[5]).0, PL, "word(p5): queue tail, LINK 0");
    expect_eq!(f.word(p[0]).0, PL, "word(p0): alone on queue 9");
    expect_eq!(v0.upcall_pending(), 1, "upcall flag");
    expect_eq!(si.pending_ports(&mut [0; 8]), 0, "2L pending bits under FIFO");
    xtf_success!();
}

xtf::register_test!(
    "evtchn-fifo-masked",
    "MASKED events: pending only, linked by unmask or the next send",
    masked
);
/// MASKED: a masked event is only PENDING (not linked, no ready bit, no upcall);
/// EVTCHNOP_unmask clears MASKED and links it; clearing MASKED by hand links nothing until
/// the next send, which links it behind the tail; unmask of a port that is not pending only
/// clears the bit.
pub fn masked(_: &Env<'_>) {
    let si = shared_info();
    let v0 = si.vcpu0();
    let f = Fifo::new();
    must(f.init_control(0, 0), format_args!("init_control"));
    must(f.expand(), format_args!("expand_array"));
    let a = must(evtchn::bind_ipi(0), format_args!("bind_ipi a"));
    let b = must(evtchn::bind_ipi(0), format_args!("bind_ipi b"));
    let c = must(evtchn::bind_ipi(0), format_args!("bind_ipi c"));
    let cb = f.control(0).unwrap();
    v0.clear();
    f.set_flags(a, F::MASKED);
    expect_eq!(evtchn::send(a), Ok(()), "send(masked a)");
    expect_eq!(f.word(a).0, (F::PENDING | F::MASKED).bits(), "word(a)");
    expect_eq!((cb.ready(), cb.head(7), v0.upcall_pending()), (0, 0, 0), "nothing queued");
    expect_eq!(evtchn::unmask(a), Ok(()), "unmask(a)");
    expect_eq!(f.word(a).0, PL, "word(a) after unmask");
    expect_eq!((cb.ready(), cb.head(7), v0.upcall_pending()), (1 << 7, a, 1), "a queued by unmask");

    f.set_flags(b, F::MASKED);
    expect_eq!(evtchn::send(b), Ok(()), "send(masked b)");
    f.clear_flags(b, F::MASKED);
    expect_eq!(f.word(b).0, F::PENDING.bits(), "word(b) unmasked by hand");
    expect_eq!(f.word(a).0, PL, "a not linked to b yet");
    expect_eq!(evtchn::send(b), Ok(()), "send(b) again");
    expect_eq!((f.word(a).0, f.word(b).0), (PL | b, PL), "b linked behind a");

    f.set_flags(c, F::MASKED);
    expect_eq!(evtchn::unmask(c), Ok(()), "unmask(c, not pending)");
    expect_eq!(f.word(c).0, 0, "word(c): only MASKED cleared");
    // Masking a linked event keeps it linked.
    f.set_flags(a, F::MASKED);
    expect_eq!(evtchn::send(c), Ok(()), "send(c)");
    expect_eq!(f.word(b).0, PL | c, "c linked behind b");
    expect_eq!(f.word(a).0, PL | F::MASKED.bits() | b, "a masked but still linked");
    xtf_success!();
}

xtf::register_test!(
    "evtchn-fifo-linked-busy",
    "LINKED ports skipped by allocation, relink rules, BUSY",
    linked_busy
);
/// LINKED and BUSY: a closed port keeps LINKED (close clears only PENDING) and is skipped
/// by allocation while LINKED (evtchn_fifo_is_busy); re-sending a linked event changes
/// nothing, even with PENDING cleared; an unlinked tail makes the next event the new head;
/// linking behind a tail clears the tail's BUSY bit (try_set_link) and keeps the new
/// event's own.
pub fn linked_busy(_: &Env<'_>) {
    let me = own_domid();
    let f = Fifo::new();
    must(f.init_control(0, 0), format_args!("init_control"));
    must(f.expand(), format_args!("expand_array"));
    let a = must(evtchn::bind_ipi(0), format_args!("bind_ipi a"));
    let b = must(evtchn::bind_ipi(0), format_args!("bind_ipi b"));
    let c = must(evtchn::bind_ipi(0), format_args!("bind_ipi c"));
    let cb = f.control(0).unwrap();
    must(evtchn::send(a), format_args!("send(a)"));
    expect_eq!((f.word(a).0, cb.head(7)), (PL, a), "a queued");
    expect_eq!(evtchn::close(a), Ok(()), "close(a) while linked");
    expect_eq!(f.word(a).0, F::LINKED.bits(), "word(a) after close");
    expect_eq!(evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF), Ok(4), "alloc skips linked port 1");
    f.clear_flags(a, F::LINKED);
    expect_eq!(evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF), Ok(a), "alloc takes 1 once unlinked");

    // The queue's tail (port 1) is no longer linked: b becomes the head.
    must(evtchn::send(b), format_args!("send(b)"));
    expect_eq!((f.word(b).0, cb.head(7)), (PL, b), "b is the new head");
    expect_eq!(f.word(a).0, 0, "the old tail got no LINK");
    must(evtchn::send(b), format_args!("send(b) again"));
    expect_eq!((f.word(b).0, cb.head(7)), (PL, b), "resend: no change");
    f.clear_flags(b, F::PENDING);
    must(evtchn::send(b), format_args!("send(b), PENDING cleared"));
    expect_eq!((f.word(b).0, cb.head(7)), (PL, b), "not re-linked");

    f.set_flags(b, F::BUSY);
    f.set_flags(c, F::BUSY);
    must(evtchn::send(c), format_args!("send(c)"));
    expect_eq!(f.word(b).0, PL | c, "tail b: LINK to c, BUSY cleared by Xen");
    expect_eq!(f.word(c).0, PL | F::BUSY.bits(), "c linked, its own BUSY kept");
    check_status(a, st::UNBOUND, 0, [u32::from(me), 0]);
    xtf_success!();
}

xtf::register_test!(
    "evtchn-fifo-switch",
    "2L to FIFO with ports bound and pending",
    switch_2l_to_fifo
);
/// Switching from 2L to FIFO with ports bound: they keep their state; those pending in the
/// 2L bitmap (masked or not: 2L masks do not carry over) are raised when the event array
/// page arrives, in port order, at the default priority; so is an event sent between
/// init_control and expand_array; the 2L bits stay set (Xen never clears them); new sends
/// and set_priority work on the old ports.
pub fn switch_2l_to_fifo(_: &Env<'_>) {
    let si = shared_info();
    let me = own_domid();
    si.clear_all_pending();
    let a = must(evtchn::bind_ipi(0), format_args!("bind_ipi a"));
    let b = must(evtchn::bind_ipi(0), format_args!("bind_ipi b"));
    let u = must(evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF), format_args!("alloc"));
    let x = must(evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF), format_args!("alloc x"));
    let y = must(evtchn::bind_interdomain(DOMID_SELF, x), format_args!("bind loopback"));
    expect_eq!((a, b, u, x, y), (1, 2, 3, 4, 5), "ports");
    si.clear_pending(y);
    must(evtchn::send(a), format_args!("send(a)"));
    si.mask(b);
    must(evtchn::send(b), format_args!("send(b, masked)"));

    let f = Fifo::new();
    expect_eq!(f.init_control(0, 0), Ok(17), "init_control with ports bound");
    check_status(a, st::IPI, 0, [0, 0]);
    check_status(u, st::UNBOUND, 0, [u32::from(me), 0]);
    check_status(y, st::INTERDOMAIN, 0, [u32::from(me), x]);
    must(evtchn::send(x), format_args!("send(x) before the array"));
    expect_eq!(f.expand(), Ok(()), "expand_array");
    let cb = f.control(0).unwrap();
    let mut q = [0u32; 4];
    expect_eq!((f.queue(0, 7, &mut q), q), (3, [a, b, y, 0]), "queue 7 after the page arrived");
    expect_eq!(cb.ready(), 1 << 7, "ready");
    expect_eq!(
        (si.is_pending(a), si.is_pending(b), si.is_masked(b)),
        (true, true, true),
        "2L bits"
    );
    expect_eq!(evtchn::set_priority(u, 1), Ok(()), "set_priority on an old port");
    must(evtchn::bind_vcpu(x, 0), format_args!("bind_vcpu"));
    must(evtchn::send(y), format_args!("send(y) to x"));
    expect_eq!((cb.head(7), f.word(y).0, f.word(x).0), (a, PL | x, PL), "x queued behind y");
    xtf_success!();
}

xtf::register_test!(
    "evtchn-fifo-ops",
    "port operations under FIFO as the event words show them",
    ops
);
/// The port operations under FIFO, as status and the event words show them: a send on an
/// unbound port is dropped, on a VIRQ -EINVAL; bind_interdomain queues the new local end;
/// close clears PENDING but keeps LINKED and LINK (so the port is skipped by allocation);
/// the other end becomes unbound and drops sends; bind_vcpu and IPIs for vCPU 1 queue on
/// vCPU 1's control block; unmask of a port not in use leaves MASKED; bind_pirq still
/// -ENOMEM.
pub fn ops(_: &Env<'_>) {
    let me = own_domid();
    let f = Fifo::new();
    must(f.init_control(0, 0), format_args!("init_control(vcpu 0)"));
    must(f.init_control(1, 128), format_args!("init_control(vcpu 1)"));
    must(f.expand(), format_args!("expand_array"));
    let (cb0, cb1) = (f.control(0).unwrap(), f.control(1).unwrap());
    let u = must(evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF), format_args!("alloc"));
    check_status(u, st::UNBOUND, 0, [u32::from(me), 0]);
    expect_eq!(evtchn::send(u), Ok(()), "send(unbound)");
    expect_eq!(f.word(u).0, 0, "unbound port's word after send");
    let i = must(evtchn::bind_ipi(0), format_args!("bind_ipi"));
    expect_eq!(evtchn::send(i), Ok(()), "send(ipi)");
    expect_eq!((f.word(i).0, cb0.head(7)), (PL, i), "ipi queued");
    let v = must(evtchn::bind_virq(virq::DOM_EXC, 0), format_args!("bind_virq"));
    expect_eq!(evtchn::send(v), Err(Errno::EINVAL), "send(virq)");
    expect_eq!(f.word(v).0, 0, "virq port's word");
    let a = must(evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF), format_args!("alloc a"));
    let b = must(evtchn::bind_interdomain(DOMID_SELF, a), format_args!("bind loopback"));
    expect_eq!((u, i, v, a, b), (1, 2, 3, 4, 5), "ports");
    check_status(b, st::INTERDOMAIN, 0, [u32::from(me), a]);
    expect_eq!((f.word(i).0, f.word(b).0), (PL | b, PL), "bind queued b behind i");
    expect_eq!(evtchn::send(a), Ok(()), "send(a) to pending b");
    expect_eq!(f.word(b).0, PL, "b unchanged");
    expect_eq!(evtchn::send(b), Ok(()), "send(b)");
    expect_eq!((f.word(b).0, f.word(a).0), (PL | a, PL), "a queued behind b");
    expect_eq!(evtchn::close(b), Ok(()), "close(b)");
    expect_eq!(f.word(b).0, F::LINKED.bits() | a, "b closed: LINKED and LINK kept");
    check_status(a, st::UNBOUND, 0, [u32::from(me), 0]);
    expect_eq!(evtchn::send(a), Ok(()), "send(a), now unbound");
    expect_eq!(f.word(a).0, PL, "a unchanged");
    expect_eq!(evtchn::send(b), Err(Errno::EINVAL), "send(closed b)");
    let x = must(evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF), format_args!("alloc x"));
    expect_eq!(x, 6, "alloc skips the linked closed port 5");
    let y = must(evtchn::bind_interdomain(DOMID_SELF, x), format_args!("bind y to x"));
    expect_eq!(f.word(a).0, PL | y, "y queued behind a, the tail");
    expect_eq!(evtchn::bind_vcpu(x, 1), Ok(()), "bind_vcpu(x, 1)");
    expect_eq!(evtchn::send(y), Ok(()), "send(y) to x on vcpu 1");
    expect_eq!((f.word(x).0, cb1.head(7), cb1.ready()), (PL, x, 1 << 7), "x on vcpu 1's queue");
    expect_eq!(cb0.ready(), 1 << 7, "vcpu 0's ready unchanged");
    let j = must(evtchn::bind_ipi(1), format_args!("bind_ipi(1)"));
    expect_eq!(evtchn::send(j), Ok(()), "send(ipi for vcpu 1)");
    expect_eq!((f.word(x).0, f.word(j).0), (PL | j, PL), "j queued behind x on vcpu 1");
    let t = must(evtchn::bind_virq(virq::TIMER, 1), format_args!("bind_virq(TIMER, 1)"));
    check_status(t, st::VIRQ, 1, [virq::TIMER, 0]);
    for p in [60u32, 0] {
        f.set_flags(p, F::MASKED);
        expect_eq!(evtchn::unmask(p), Ok(()), "unmask({p}, not in use)");
        expect_eq!(f.word(p).0, F::MASKED.bits(), "word({p}) still MASKED");
    }
    expect_eq!(evtchn::bind_pirq(0, 0), Err(Errno::ENOMEM), "bind_pirq(0)");
    expect_eq!(evtchn::close(i), Ok(()), "close(i)");
    expect_eq!(f.word(i).0, F::LINKED.bits() | b, "i closed: LINKED and LINK kept");
    xtf_success!();
}
