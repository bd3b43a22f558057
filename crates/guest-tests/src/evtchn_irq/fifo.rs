//! FIFO ABI delivery through the upcall loop (seed 004): queues consumed in priority order,
//! LINKED/LINK/BUSY as Xen leaves them, a second vCPU's control block, and an event moving
//! between vCPUs' queues.

use core::sync::atomic::{AtomicU32, Ordering};
use xtf::{check, expect_eq, try_op};

use xtf::Env;
use xtf::abi::{Errno, EventWord, EventWordFlags as F, fifo};
use xtf::guest::evtchn::{self, Port};
use xtf::guest::upcall::{self, Abi, Config};
use xtf::guest::{irq, smp, timer};

use super::{
    WAIT_MS, done, expect_fifo_log, expect_log, loopback, setup, setup_with, wait_delivered,
};

/// The event word of `port` (ports here are small: always covered).
fn word(port: Port) -> EventWord {
    EventWord(upcall::fifo_word(port).map_or(0, |w| w.load(Ordering::SeqCst)))
}

/// Checks `port`'s event word is exactly `flags` with link `link`.
fn expect_word(port: Port, flags: F, link: Port, when: &str) -> bool {
    let w = word(port);
    let want = EventWord(flags.bits() | link);
    check!(w == want, "{when}: event word of port {port} is {w}, expected {want}")
}

/// `n` IPI ports for vCPU `vcpu`.
fn ipis<const N: usize>(vcpu: u32) -> Result<[Port; N], Errno> {
    let mut p = [0; N];
    for slot in &mut p {
        *slot = evtchn::bind_ipi(vcpu)?;
    }
    Ok(p)
}

xtf::register_test!(
    "evtchn-irq-fifo-priority",
    "FIFO: queues consumed in priority order by the upcall",
    priority
);
/// Five events queued at priorities 15, 7, 0, 3, 0 with IRQs masked: the control block's
/// READY and HEADs and each word's LINKED/LINK show the queues; one upcall then takes them
/// highest priority first, FIFO within a queue, and leaves every word and READY clear.
pub fn priority(env: &Env<'_>) {
    if setup(env, 1, Abi::Fifo).is_none() {
        return;
    }
    let [p1, p2, p3, p4, p5] = try_op!(ipis::<5>(0), "bind_ipi(0) x5");
    for (p, prio) in [(p1, 15), (p2, fifo::PRIORITY_DEFAULT), (p3, 0), (p4, 3), (p5, 0)] {
        try_op!(evtchn::set_priority(p, prio), "set_priority({p}, {prio})");
    }
    let cb = upcall::control_block(0);
    let vi = upcall::vcpu_info(0).expect("vCPU 0 has a vcpu_info after set-up");

    irq::disable();
    for p in [p1, p2, p3, p4, p5] {
        try_op!(evtchn::send(p), "send({p})");
    }
    expect_eq!(cb.ready(), (1 << 0) | (1 << 3) | (1 << 7) | (1 << 15), "READY");
    expect_eq!(
        [cb.head(0), cb.head(3), cb.head(7), cb.head(15)],
        [p3, p4, p2, p1],
        "HEAD[0,3,7,15]"
    );
    let pl = F::PENDING | F::LINKED;
    expect_word(p3, pl, p5, "queued");
    expect_word(p5, pl, 0, "queued");
    expect_word(p4, pl, 0, "queued");
    expect_word(p2, pl, 0, "queued");
    expect_word(p1, pl, 0, "queued");
    expect_eq!(vi.upcall_pending(), 1, "evtchn_upcall_pending with events queued");

    irq::enable();
    if wait_delivered(0, 5) {
        expect_fifo_log(0, &[(p3, 0), (p5, 0), (p4, 3), (p2, 7), (p1, 15)], "priority order");
    }
    expect_eq!(upcall::upcalls(0), 1, "upcalls for five events queued together");
    for p in [p1, p2, p3, p4, p5] {
        expect_word(p, F::empty(), 0, "consumed");
    }
    expect_eq!(cb.ready(), 0, "READY after the upcall");
    done();
}

xtf::register_test!(
    "evtchn-irq-fifo-linked-busy",
    "FIFO: LINKED/LINK/BUSY/MASKED as Xen leaves them",
    linked_busy
);
/// LINK and BUSY as Xen writes them: each event links to the queue tail; a tail the guest
/// marked BUSY is linked anyway and BUSY cleared by Xen's cmpxchg; a masked event is pending
/// but unlinked until EVTCHNOP_unmask links it; an event already linked is not linked again.
/// After the guest consumes the queue (clearing LINKED on the tail Xen still remembers), the
/// next event starts the queue afresh: new HEAD, READY again, another upcall.
pub fn linked_busy(env: &Env<'_>) {
    if setup(env, 1, Abi::Fifo).is_none() {
        return;
    }
    let [p1, p2, p3, p4] = try_op!(ipis::<4>(0), "bind_ipi(0) x4");
    let cb = upcall::control_block(0);
    let q = fifo::PRIORITY_DEFAULT as usize;
    let (pl, pm) = (F::PENDING | F::LINKED, F::PENDING | F::MASKED);

    irq::disable();
    try_op!(evtchn::send(p1), "send({p1})");
    expect_word(p1, pl, 0, "first event");
    expect_eq!((cb.ready(), cb.head(q)), (1 << q, p1), "(READY, HEAD) after the first event");
    try_op!(evtchn::send(p2), "send({p2})");
    expect_word(p1, pl, p2, "second event queued behind it");
    expect_word(p2, pl, 0, "second event");

    let w2 = upcall::fifo_word(p2).expect("covered");
    w2.fetch_or(F::BUSY.bits(), Ordering::SeqCst);
    try_op!(evtchn::send(p3), "send({p3}) behind a BUSY tail");
    expect_word(p2, pl, p3, "BUSY tail linked to the next event");
    expect_word(p3, pl, 0, "event behind a BUSY tail");

    upcall::fifo_word(p4).expect("covered").fetch_or(F::MASKED.bits(), Ordering::SeqCst);
    try_op!(evtchn::send(p4), "send({p4}) masked");
    expect_word(p4, pm, 0, "masked event");
    expect_word(p3, pl, 0, "tail before a masked event");
    try_op!(evtchn::unmask(p4), "unmask({p4})");
    expect_word(p4, pl, 0, "unmasked pending event");
    expect_word(p3, pl, p4, "tail after EVTCHNOP_unmask linked the event");

    try_op!(evtchn::send(p1), "send({p1}) while linked");
    expect_word(p1, pl, p2, "event sent again while linked");
    expect_eq!(cb.head(q), p1, "HEAD with four events queued");

    irq::enable();
    let qq = q as u8;
    if wait_delivered(0, 4) {
        expect_fifo_log(0, &[(p1, qq), (p2, qq), (p3, qq), (p4, qq)], "one queue in order");
    }
    expect_eq!(upcall::upcalls(0), 1, "upcalls for one queue");

    // Xen's tail is still p4, now unlinked by the guest: p2 starts a new queue.
    try_op!(evtchn::send(p2), "send({p2}) after the queue drained");
    if wait_delivered(0, 5) {
        expect_fifo_log(0, &[(p1, qq), (p2, qq), (p3, qq), (p4, qq), (p2, qq)], "queue restarted");
    }
    expect_eq!(cb.head(q), p2, "HEAD after the queue restarted");
    expect_eq!(upcall::upcalls(0), 2, "upcalls after the queue restarted");
    done();
}

xtf::register_test!(
    "evtchn-irq-fifo-second-vcpu",
    "FIFO: vCPU 1 gets events only after its init_control",
    second_vcpu
);
/// With FIFO on vCPU 0 only, an event for vCPU 1 (no control block) is dropped: not even
/// PENDING. After init_control for vCPU 1 (on vCPU 1), IPIs and an interdomain port moved with
/// bind_vcpu are delivered through vCPU 1's own queues; init_control twice is -EINVAL.
pub fn second_vcpu(env: &Env<'_>) {
    let cfg = Config { fifo_all_cpus: false, ..Config::new(2, Abi::Fifo) };
    if setup_with(env, cfg).is_none() {
        return;
    }
    let p = try_op!(evtchn::bind_ipi(1), "bind_ipi(1)");
    try_op!(evtchn::send(p), "send({p}) before vCPU 1 has a control block");
    expect_log(1, &[], "vCPU 1 without a control block");
    expect_log(0, &[], "vCPU 1 without a control block");
    expect_word(p, F::empty(), 0, "event dropped for lack of a control block");
    expect_eq!(upcall::control_block(1).ready(), 0, "vCPU 1 READY before init_control");

    let r = smp::run_on(1, WAIT_MS, &|| match upcall::fifo_init_cpu(1) {
        Ok(()) => 0,
        Err(e) => e.0 as u64,
    });
    if !expect_eq!(r, 0, "init_control for vCPU 1 on vCPU 1 (errno)") {
        return;
    }
    let q = fifo::PRIORITY_DEFAULT as u8;
    try_op!(evtchn::send(p), "send({p})");
    if wait_delivered(1, 1) {
        expect_fifo_log(1, &[(p, q)], "IPI through vCPU 1's queue");
    }
    expect_log(0, &[], "IPI for vCPU 1");

    let (a, b) = try_op!(loopback(), "loopback channel");
    try_op!(evtchn::bind_vcpu(a, 1), "bind_vcpu({a}, 1)");
    try_op!(evtchn::send(b), "send({b})");
    if wait_delivered(1, 1) {
        expect_fifo_log(1, &[(a, q)], "interdomain port bound to vCPU 1");
    }
    expect_log(0, &[], "interdomain port bound to vCPU 1");

    expect_eq!(upcall::fifo_init_cpu(1), Err(Errno::EINVAL), "init_control for vCPU 1 again");
    done();
}

/// 0: vCPU 1 not held; 1: holding IRQs masked; set RELEASE to let it go.
static HELD: AtomicU32 = AtomicU32::new(0);
static RELEASE: AtomicU32 = AtomicU32::new(0);

/// Runs on vCPU 1 (smp::start_on): keeps IRQs masked until RELEASE, so events queued for
/// vCPU 1 stay LINKED on its queues where vCPU 0 can look at them.
fn hold_irqs_masked(_: u64) -> u64 {
    irq::disable();
    HELD.store(1, Ordering::Release);
    let released = timer::poll_until(2 * WAIT_MS, || RELEASE.load(Ordering::Acquire) == 1);
    HELD.store(0, Ordering::Release);
    irq::enable();
    u64::from(released)
}

xtf::register_test!(
    "evtchn-irq-fifo-queue-move",
    "FIFO: an event moving to vCPU 1's queue; vCPU 0's stale tail invalidated",
    queue_move
);
/// An event moving between queues (event_fifo.c's lastq): while still LINKED on vCPU 0's
/// queue, bind_vcpu and set_priority leave it there; once consumed, the next send queues it
/// on vCPU 1 at its new priority and invalidates vCPU 0's tail that still named it, so a
/// later event on vCPU 0's queue starts a fresh queue there instead of linking behind it on
/// vCPU 1's.
pub fn queue_move(env: &Env<'_>) {
    if setup(env, 2, Abi::Fifo).is_none() {
        return;
    }
    let (a, b) = try_op!(loopback(), "loopback channel");
    let ipi = try_op!(evtchn::bind_ipi(0), "bind_ipi(0)");
    let (cb0, cb1) = (upcall::control_block(0), upcall::control_block(1));
    let pl = F::PENDING | F::LINKED;
    let (d, p3) = (fifo::PRIORITY_DEFAULT as u8, 3u8);

    irq::disable();
    try_op!(evtchn::send(b), "send({b})");
    expect_word(a, pl, 0, "queued on vCPU 0");
    expect_eq!(cb0.head(d as usize), a, "vCPU 0 HEAD[{d}]");
    try_op!(evtchn::bind_vcpu(a, 1), "bind_vcpu({a}, 1) while linked");
    try_op!(evtchn::set_priority(a, u32::from(p3)), "set_priority({a}, {p3}) while linked");
    try_op!(evtchn::send(b), "send({b}) while linked");
    expect_word(a, pl, 0, "sent again while linked on vCPU 0");
    expect_eq!(cb1.ready(), 0, "vCPU 1 READY while the event is on vCPU 0's queue");
    irq::enable();
    if wait_delivered(0, 1) {
        expect_fifo_log(0, &[(a, d)], "linked event taken off vCPU 0's queue");
    }

    smp::start_on(1, hold_irqs_masked, 0);
    if timer::wait_until(WAIT_MS, "vCPU 1 to mask IRQs", || HELD.load(Ordering::Acquire) == 1)
        .is_err()
    {
        return;
    }
    try_op!(evtchn::send(b), "send({b}) after the move");
    expect_word(a, pl, 0, "queued on vCPU 1");
    expect_eq!((cb1.ready(), cb1.head(p3 as usize)), (1 << p3, a), "vCPU 1 (READY, HEAD[3])");

    try_op!(evtchn::send(ipi), "send({ipi}) on vCPU 0's old queue");
    if wait_delivered(0, 2) {
        expect_fifo_log(0, &[(a, d), (ipi, d)], "vCPU 0's queue after the event moved away");
    }
    expect_word(a, pl, 0, "moved event, still queued on vCPU 1");
    expect_eq!(cb0.head(d as usize), ipi, "vCPU 0 HEAD[{d}]");

    RELEASE.store(1, Ordering::Release);
    match smp::finish(1, WAIT_MS) {
        Ok(released) => {
            expect_eq!(released, 1, "vCPU 1 released before its own timeout");
        }
        Err(_) => return,
    }
    if wait_delivered(1, 1) {
        expect_fifo_log(1, &[(a, p3)], "moved event on vCPU 1 at its new priority");
    }
    done();
}
