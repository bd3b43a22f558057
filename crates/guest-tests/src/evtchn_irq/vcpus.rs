//! Two vCPUs: the upcall comes on the vCPU a port is bound to (bind_vcpu, IPIs), per-vCPU
//! and global VIRQ binding rules, and SCHEDOP_poll woken from the other vCPU.

use xtf::Env;
use xtf::abi::{self, DOMID_SELF, Errno, SchedPoll, evtchnstat, virq};
use xtf::guest::evtchn::{self, Port};
use xtf::guest::upcall::{self, Abi};
use xtf::guest::{argo, hypercall, ring_mem, shared_info, smp, timer};
use xtf::{check, expect_eq, try_op, xtf_error};

use super::{QUIET_MS, WAIT_MS, done, expect_log, loopback, setup, wait_delivered};

/// A hypercall result carried back from another vCPU in a u64: the value, or 1 << 63 | errno.
fn pack(r: Result<u32, Errno>) -> u64 {
    match r {
        Ok(v) => u64::from(v),
        Err(e) => (1 << 63) | e.0 as u64,
    }
}

fn unpack(v: u64) -> Result<u32, Errno> {
    if v & (1 << 63) != 0 { Err(Errno(v as u32 as i32)) } else { Ok(v as u32) }
}

/// The vCPU EVTCHNOP_status says `port` notifies.
fn notify_vcpu(port: Port) -> Result<u32, Errno> {
    evtchn::status(DOMID_SELF, port).map(|s| s.vcpu)
}

xtf::register_test!(
    "evtchn-irq-bind-vcpu",
    "2 vCPUs: bind_vcpu moves the upcall to vCPU 1 and back",
    bind_vcpu
);
/// bind_vcpu moves delivery of an interdomain port to vCPU 1 and back; the selector and
/// upcall go to the bound vCPU's own vcpu_info; a vCPU the domain lacks is -ENOENT.
pub fn bind_vcpu(env: &Env<'_>) {
    if setup(env, 2, Abi::TwoLevel).is_none() {
        return;
    }
    let (a, b) = try_op!(loopback(), "loopback channel");
    expect_eq!(notify_vcpu(a), Ok(0), "status({a}).vcpu before bind_vcpu");

    try_op!(evtchn::bind_vcpu(a, 1), "bind_vcpu({a}, 1)");
    expect_eq!(notify_vcpu(a), Ok(1), "status({a}).vcpu after bind_vcpu(1)");
    try_op!(evtchn::send(b), "send({b})");
    if wait_delivered(1, 1) {
        expect_log(1, &[a], "port bound to vCPU 1");
    }
    expect_log(0, &[], "port bound to vCPU 1");
    expect_eq!(upcall::upcalls(0), 0, "upcalls on vCPU 0");
    expect_eq!(upcall::upcalls(1), 1, "upcalls on vCPU 1");

    // The other end, moved too: both directions on vCPU 1.
    try_op!(evtchn::bind_vcpu(b, 1), "bind_vcpu({b}, 1)");
    try_op!(evtchn::send(a), "send({a})");
    if wait_delivered(1, 2) {
        expect_log(1, &[a, b], "both ends bound to vCPU 1");
    }

    upcall::reset_log();
    try_op!(evtchn::bind_vcpu(a, 0), "bind_vcpu({a}, 0)");
    try_op!(evtchn::send(b), "send({b}) after moving back");
    if wait_delivered(0, 1) {
        expect_log(0, &[a], "port moved back to vCPU 0");
    }
    expect_log(1, &[], "port moved back to vCPU 0");

    expect_eq!(evtchn::bind_vcpu(a, 2), Err(Errno::ENOENT), "bind_vcpu to vCPU 2 of 2");
    expect_eq!(notify_vcpu(a), Ok(0), "status({a}).vcpu after a refused bind_vcpu");
    done();
}

xtf::register_test!(
    "evtchn-irq-ipi",
    "2 vCPUs: IPIs delivered on the vCPU named at bind time",
    ipi
);
/// IPIs: bound on and for either vCPU, delivered to the vCPU named at bind time whoever
/// sends; an IPI cannot be moved with bind_vcpu.
pub fn ipi(env: &Env<'_>) {
    if setup(env, 2, Abi::TwoLevel).is_none() {
        return;
    }
    // Bound by vCPU 1 for itself; sent from vCPU 0.
    let p1 = try_op!(
        unpack(smp::run_on(1, WAIT_MS, &|| pack(evtchn::bind_ipi(1)))),
        "bind_ipi(1) on vCPU 1"
    );
    let st = try_op!(evtchn::status(DOMID_SELF, p1), "status({p1})");
    expect_eq!((st.status, st.vcpu), (evtchnstat::IPI, 1), "status({p1}) (status, vcpu)");
    try_op!(evtchn::send(p1), "send({p1}) from vCPU 0");
    if wait_delivered(1, 1) {
        expect_log(1, &[p1], "IPI for vCPU 1 sent by vCPU 0");
    }
    expect_log(0, &[], "IPI for vCPU 1 sent by vCPU 0");

    // Bound by vCPU 1 for vCPU 0; sent from vCPU 1, then by vCPU 0 to itself.
    upcall::reset_log();
    let p0 = try_op!(
        unpack(smp::run_on(1, WAIT_MS, &|| pack(evtchn::bind_ipi(0)))),
        "bind_ipi(0) on vCPU 1"
    );
    let sent = smp::run_on(1, WAIT_MS, &|| pack(evtchn::send(p0).map(|()| 0)));
    try_op!(unpack(sent), "send({p0}) from vCPU 1");
    if wait_delivered(0, 1) {
        expect_log(0, &[p0], "IPI for vCPU 0 sent by vCPU 1");
    }
    try_op!(evtchn::send(p0), "send({p0}) from vCPU 0 to itself");
    if wait_delivered(0, 2) {
        expect_log(0, &[p0, p0], "IPI sent to self");
    }
    expect_log(1, &[], "IPIs for vCPU 0");

    expect_eq!(evtchn::bind_vcpu(p1, 0), Err(Errno::EINVAL), "bind_vcpu of an IPI port");
    expect_eq!(notify_vcpu(p1), Ok(1), "status({p1}).vcpu after the refused bind_vcpu");
    expect_eq!(evtchn::bind_ipi(2), Err(Errno::ENOENT), "bind_ipi for vCPU 2 of 2");
    done();
}

xtf::register_test!(
    "evtchn-irq-virq-binding",
    "2 vCPUs: per-vCPU vs global VIRQ binding rules",
    virq_binding
);
/// VIRQs: a per-vCPU VIRQ (VIRQ_TIMER) binds once per vCPU, on any vCPU, and cannot be
/// moved; a global one (VIRQ_ARGO) binds on vCPU 0 only but can then be moved with
/// bind_vcpu. Nothing raises either for a domU on arm, so nothing is delivered.
pub fn virq_binding(env: &Env<'_>) {
    if setup(env, 2, Abi::TwoLevel).is_none() {
        return;
    }
    let t1 = try_op!(
        unpack(smp::run_on(1, WAIT_MS, &|| pack(evtchn::bind_virq(virq::TIMER, 1)))),
        "bind_virq(TIMER, 1) on vCPU 1"
    );
    let t0 = try_op!(evtchn::bind_virq(virq::TIMER, 0), "bind_virq(TIMER, 0)");
    check!(t0 != t1, "VIRQ_TIMER on vCPUs 0 and 1 got the same port {t0}");
    for (port, vcpu) in [(t0, 0), (t1, 1)] {
        let st = try_op!(evtchn::status(DOMID_SELF, port), "status({port})");
        expect_eq!(
            (st.status, st.vcpu, st.virq()),
            (evtchnstat::VIRQ, vcpu, virq::TIMER),
            "status({port}) (status, vcpu, virq)"
        );
    }
    expect_eq!(evtchn::bind_virq(virq::TIMER, 1), Err(Errno::EEXIST), "VIRQ_TIMER again on vCPU 1");
    expect_eq!(evtchn::bind_vcpu(t1, 0), Err(Errno::EINVAL), "bind_vcpu of a per-vCPU VIRQ");
    expect_eq!(evtchn::bind_virq(virq::TIMER, 2), Err(Errno::ENOENT), "VIRQ_TIMER on vCPU 2 of 2");

    let global = virq::ARGO;
    expect_eq!(evtchn::bind_virq(global, 1), Err(Errno::EINVAL), "global VIRQ bound on vCPU 1");
    let g = try_op!(evtchn::bind_virq(global, 0), "bind_virq(ARGO, 0)");
    expect_eq!(notify_vcpu(g), Ok(0), "status({g}).vcpu");
    try_op!(evtchn::bind_vcpu(g, 1), "bind_vcpu of a global VIRQ to vCPU 1");
    expect_eq!(notify_vcpu(g), Ok(1), "status({g}).vcpu after bind_vcpu");
    expect_eq!(evtchn::bind_virq(global, 0), Err(Errno::EEXIST), "global VIRQ bound twice");

    timer::delay_ms(QUIET_MS);
    expect_log(0, &[], "VIRQ bindings");
    expect_log(1, &[], "VIRQ bindings");
    done();
}

xtf::register_test!(
    "evtchn-irq-global-virq-bind-vcpu",
    "2 vCPUs: a raised global VIRQ (VIRQ_ARGO) is delivered on the vCPU bind_vcpu named (needs argo=1)",
    global_virq_bind_vcpu
);
/// A global VIRQ goes where EVTCHNOP_bind_vcpu last put it (C: send_guest_global_virq
/// notifies `chn->notify_vcpu_id`): VIRQ_ARGO, which Xen raises for each message sent to
/// one of our Argo rings, is bound on vCPU 0, then moved to vCPU 1 and back; after each
/// move one send to our own ring must bring exactly one event, on that vCPU only.
pub fn global_virq_bind_vcpu(env: &Env<'_>) {
    const PORT: u32 = 7;
    if setup(env, 2, Abi::TwoLevel).is_none() {
        return;
    }
    if let Err(dtb) = ring_mem::check(env) {
        return xtf_error!("the ring arena overlaps the DTB at {dtb:#x}: more DOMU_MEM");
    }
    let me = try_op!(evtchn::own_domid(), "own domid");
    if let Err(e) = argo::notify_null() {
        return xtf_error!("Argo notify(NULL): {e:?}: this test needs argo=1");
    }
    let g = try_op!(evtchn::bind_virq(virq::ARGO, 0), "bind_virq(ARGO, 0)");
    let Some(ring) = argo::Ring::new(256, PORT, me) else {
        return xtf_error!("the ring arena is used up");
    };
    try_op!(ring.register(), "registering our Argo ring");
    for (step, to) in [0u32, 1, 0].into_iter().enumerate() {
        try_op!(evtchn::bind_vcpu(g, to), "step {step}: bind_vcpu({g}, {to})");
        expect_eq!(notify_vcpu(g), Ok(to), "step {step}: status({g}).vcpu");
        upcall::reset_log();
        try_op!(argo::send(me, PORT, PORT, b"virq", 0), "step {step}: send to our own ring");
        let (to, other) = (to as usize, 1 - to as usize);
        let what = if to == 1 { "VIRQ_ARGO moved to vCPU 1" } else { "VIRQ_ARGO on vCPU 0" };
        if wait_delivered(to, 1) {
            expect_log(to, &[g], what);
        }
        expect_log(other, &[], what);
        ring.set_rx_ptr(ring.tx_ptr());
    }
    done();
}

/// SCHEDOP_poll on one port, no timeout. Runs on vCPU 1 through smp::start_on.
fn poll_one(port: u64) -> u64 {
    let ports = [port as u32];
    let mut arg = SchedPoll { ports: ports.as_ptr() as u64, nr_ports: 1, timeout: 0 };
    let args = [abi::SCHEDOP_POLL, &mut arg as *mut SchedPoll as u64, 0, 0, 0];
    // SAFETY: SCHEDOP_poll reads one struct sched_poll (layout checked in abi) and
    // `nr_ports` ports through its handle: both live on this stack across the call.
    let r = unsafe { hypercall::hypercall(abi::nr::SCHED_OP, args) };
    pack(Errno::from_ret(r).map(|v| v as u32))
}

xtf::register_test!(
    "evtchn-irq-poll",
    "2 vCPUs: SCHEDOP_poll on vCPU 1 woken by a send on vCPU 0",
    poll
);
/// vCPU 1 blocks in SCHEDOP_poll on a masked port bound to vCPU 0; a send from vCPU 0 wakes
/// it (evtchn_check_pollers) with 0, leaves the port pending and raises no upcall. Polling a
/// port already pending returns at once.
pub fn poll(env: &Env<'_>) {
    if setup(env, 2, Abi::TwoLevel).is_none() {
        return;
    }
    let si = try_op!(shared_info::map(), "mapping shared_info");
    let (a, b) = try_op!(loopback(), "loopback channel");
    si.mask(a);

    smp::start_on(1, poll_one, u64::from(a));
    timer::delay_ms(100);
    if !check!(!smp::finished(1), "SCHEDOP_poll on vCPU 1 returned before anything was sent") {
        let _ = smp::finish(1, WAIT_MS);
        return;
    }
    try_op!(evtchn::send(b), "send({b})");
    match smp::finish(1, WAIT_MS) {
        Ok(r) => {
            expect_eq!(unpack(r), Ok(0), "SCHEDOP_poll woken by the send");
        }
        Err(_) => return,
    }
    check!(si.is_pending(a), "polled port {a} not pending after the send");
    expect_log(0, &[], "send to a masked, polled port");
    expect_log(1, &[], "send to a masked, polled port");

    // Already pending: no blocking at all.
    smp::start_on(1, poll_one, u64::from(a));
    match smp::finish(1, WAIT_MS) {
        Ok(r) => {
            expect_eq!(unpack(r), Ok(0), "SCHEDOP_poll on a pending port");
        }
        Err(_) => return,
    }
    si.clear_pending(a);
    try_op!(evtchn::unmask(a), "unmask({a})");
    expect_log(0, &[], "unmask of a port no longer pending");
    done();
}
