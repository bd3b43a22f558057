//! 2-level ABI delivery on one vCPU: send, masked ports, unmask, the upcall mask.

use xtf::Env;
use xtf::guest::evtchn;
use xtf::guest::shared_info;
use xtf::guest::upcall::{self, Abi};
use xtf::guest::{irq, timer};
use xtf::{check, expect_eq, try_op};

use super::{QUIET_MS, done, expect_log, loopback, setup, wait_delivered};

/// Selector bit of `port` in `evtchn_pending_sel`.
fn sel_bit(port: u32) -> u64 {
    1 << (port / 64)
}

xtf::register_test!("evtchn-irq-send", "2L: send delivers the other end through the upcall", send);
/// send on one end of a loopback channel delivers the other end through the upcall, once
/// per send, on vCPU 0; the handler's ack leaves nothing pending.
pub fn send(env: &Env<'_>) {
    if setup(env, 1, Abi::TwoLevel).is_none() {
        return;
    }
    let si = try_op!(shared_info::map(), "mapping shared_info");
    let (a, b) = try_op!(loopback(), "loopback channel");
    let vi = upcall::vcpu_info(0).expect("vCPU 0 has a vcpu_info after set-up");

    try_op!(evtchn::send(b), "send({b})");
    if wait_delivered(0, 1) {
        expect_log(0, &[a], "send on the bound end");
    }
    check!(!si.is_pending(a), "port {a} still pending after the upcall acked it");
    expect_eq!(vi.upcall_pending(), 0, "evtchn_upcall_pending after the upcall");
    expect_eq!(vi.pending_sel(), 0, "evtchn_pending_sel after the upcall");

    upcall::reset_log();
    try_op!(evtchn::send(a), "send({a})");
    if wait_delivered(0, 1) {
        expect_log(0, &[b], "send on the unbound-allocated end");
    }

    upcall::reset_log();
    for i in 1..=3 {
        try_op!(evtchn::send(b), "send({b}) #{i}");
        if !wait_delivered(0, i) {
            return;
        }
    }
    expect_log(0, &[a, a, a], "three sends, each waited for");
    expect_eq!(upcall::upcalls(0), 3, "upcalls for three separate sends");
    done();
}

xtf::register_test!(
    "evtchn-irq-send-irqs-masked",
    "2L: with IRQs masked, send leaves pending/sel/upcall_pending; one upcall on unmask",
    send_irqs_masked
);
/// With IRQs masked in PSTATE, send leaves the port pending, its selector bit and
/// evtchn_upcall_pending set; sends while pending coalesce; unmasking IRQs takes one upcall
/// delivering the port once.
pub fn send_irqs_masked(env: &Env<'_>) {
    if setup(env, 1, Abi::TwoLevel).is_none() {
        return;
    }
    let si = try_op!(shared_info::map(), "mapping shared_info");
    let (a, b) = try_op!(loopback(), "loopback channel");
    let vi = upcall::vcpu_info(0).expect("vCPU 0 has a vcpu_info after set-up");

    irq::disable();
    try_op!(evtchn::send(b), "send({b})");
    check!(si.is_pending(a), "port {a} not pending after send with IRQs masked");
    expect_eq!(vi.upcall_pending(), 1, "evtchn_upcall_pending after send");
    expect_eq!(vi.pending_sel(), sel_bit(a), "evtchn_pending_sel after send");
    try_op!(evtchn::send(b), "second send({b})");
    try_op!(evtchn::send(b), "third send({b})");
    expect_eq!(vi.pending_sel(), sel_bit(a), "evtchn_pending_sel after more sends");
    expect_eq!(upcall::delivered(0), 0, "deliveries with IRQs masked");

    irq::enable();
    if wait_delivered(0, 1) {
        expect_log(0, &[a], "IRQs unmasked after three sends");
    }
    expect_eq!(upcall::upcalls(0), 1, "upcalls taken");
    check!(!si.is_pending(a), "port {a} still pending after the upcall");
    expect_eq!(vi.upcall_pending(), 0, "evtchn_upcall_pending after the upcall");
    expect_eq!(vi.pending_sel(), 0, "evtchn_pending_sel after the upcall");
    done();
}

xtf::register_test!(
    "evtchn-irq-unmask",
    "2L: a masked port gets pending, no upcall; EVTCHNOP_unmask delivers it",
    unmask
);
/// A masked port gets pending but no upcall (no selector bit, no upcall_pending);
/// EVTCHNOP_unmask then delivers it. Unmasking a masked port that is not pending delivers
/// nothing.
pub fn unmask(env: &Env<'_>) {
    if setup(env, 1, Abi::TwoLevel).is_none() {
        return;
    }
    let si = try_op!(shared_info::map(), "mapping shared_info");
    let (a, b) = try_op!(loopback(), "loopback channel");
    let vi = upcall::vcpu_info(0).expect("vCPU 0 has a vcpu_info after set-up");

    si.mask(a);
    try_op!(evtchn::send(b), "send({b}) to masked port {a}");
    check!(si.is_pending(a), "masked port {a} not pending after send");
    expect_eq!(vi.pending_sel(), 0, "evtchn_pending_sel after a send to a masked port");
    expect_eq!(vi.upcall_pending(), 0, "evtchn_upcall_pending after a send to a masked port");
    expect_log(0, &[], "send to a masked port");

    try_op!(evtchn::unmask(a), "unmask({a})");
    check!(!si.is_masked(a), "port {a} still masked after EVTCHNOP_unmask");
    if wait_delivered(0, 1) {
        expect_log(0, &[a], "unmask of a pending masked port");
    }
    check!(!si.is_pending(a), "port {a} still pending after delivery");

    upcall::reset_log();
    si.mask(a);
    try_op!(evtchn::unmask(a), "unmask({a}), not pending");
    expect_log(0, &[], "unmask of a masked port that is not pending");
    check!(!si.is_masked(a), "port {a} still masked");
    done();
}

xtf::register_test!(
    "evtchn-irq-unmask-needs-mask-bit",
    "2L: EVTCHNOP_unmask delivers only if it clears the mask bit",
    unmask_needs_mask_bit
);
/// EVTCHNOP_unmask delivers only if it clears the mask bit itself (evtchn_2l_unmask's
/// test_and_clear): a port unmasked by the guest writing shared_info while pending stays
/// undelivered, and further sends find it pending and notify nobody, until the guest clears
/// the pending bit.
pub fn unmask_needs_mask_bit(env: &Env<'_>) {
    if setup(env, 1, Abi::TwoLevel).is_none() {
        return;
    }
    let si = try_op!(shared_info::map(), "mapping shared_info");
    let (a, b) = try_op!(loopback(), "loopback channel");

    si.mask(a);
    try_op!(evtchn::send(b), "send({b}) to masked port {a}");
    si.clear_mask(a);
    expect_log(0, &[], "mask bit cleared by the guest directly");
    try_op!(evtchn::unmask(a), "unmask({a}) of an unmasked pending port");
    expect_log(0, &[], "EVTCHNOP_unmask on a port the guest had unmasked");
    try_op!(evtchn::send(b), "send({b}) while {a} is still pending");
    expect_log(0, &[], "send to a port already pending");
    check!(si.is_pending(a), "port {a} no longer pending");

    si.clear_pending(a);
    try_op!(evtchn::send(b), "send({b}) after clearing pending");
    if wait_delivered(0, 1) {
        expect_log(0, &[a], "send once the pending bit was cleared");
    }
    done();
}

xtf::register_test!(
    "evtchn-irq-upcall-mask",
    "arm ignores vcpu_info.evtchn_upcall_mask: the upcall still comes",
    upcall_mask
);
/// Xen on arm does not look at vcpu_info.evtchn_upcall_mask (only x86 PV has an upcall
/// mask): with it set, a send still raises the upcall, and Xen leaves the byte alone.
pub fn upcall_mask(env: &Env<'_>) {
    if setup(env, 1, Abi::TwoLevel).is_none() {
        return;
    }
    let (a, b) = try_op!(loopback(), "loopback channel");
    let vi = upcall::vcpu_info(0).expect("vCPU 0 has a vcpu_info after set-up");
    expect_eq!(vi.upcall_mask(), 0, "evtchn_upcall_mask at start");

    vi.set_upcall_mask(1);
    try_op!(evtchn::send(b), "send({b}) with evtchn_upcall_mask set");
    if wait_delivered(0, 1) {
        expect_log(0, &[a], "send with evtchn_upcall_mask = 1");
    }
    expect_eq!(vi.upcall_mask(), 1, "evtchn_upcall_mask after the upcall");
    vi.set_upcall_mask(0);
    timer::delay_ms(QUIET_MS);
    done();
}
