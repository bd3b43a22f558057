//! Domain and vCPU life (common/domain.c, common/sched/core.c): the port table's set-up,
//! teardown and reset, the suspend notification a shutting-down domain sends
//! (`evtchn_send`), poller wake-up, and the PIRQ re-targeting a vCPU move asks for.

use super::done;
use crate::ops::{self, ChannelWrite, Domain, State};
use crate::xen::{Progress, XenEnv, fifo, twol_init};
use core::ffi::{c_int, c_uint};
use xen_rust_glue::Errno;
use xen_rust_glue::errno::to_int;
use xen_rust_glue::evtchn::{DomainPtr, VcpuPtr};

/// `int evtchn_init(struct domain *d, unsigned int max_port)`: `d` is a domain being
/// created, not yet visible to other CPUs.
#[unsafe(no_mangle)]
pub extern "C" fn evtchn_init(d: DomainPtr, max_port: c_uint) -> c_int {
    done(init(d, max_port))
}

fn init(d: DomainPtr, max_port: c_uint) -> Result<(), Errno> {
    let dom = d.get().ok_or(Errno::EINVAL)?;
    twol_init(dom);
    // SAFETY: evtchn_init's C contract: the domain is being created, ours alone.
    unsafe { dom.init_table(max_port) }?;
    if ops::get_free_port(dom) != Ok(0) {
        // SAFETY: as above: creation fails and abandons the domain, nothing reached the table.
        unsafe { dom.free_table() };
        return Err(Errno::EINVAL);
    }
    // Port 0 is reserved; it is not counted active.
    if let Some(c) = dom.chan(0) {
        ChannelWrite::set_state(&mut c.write(), State::Reserved);
    }
    dom.set_active(0);
    Ok(())
}

/// `int evtchn_destroy(struct domain *d)`: close every port (preemptible: -ERESTART). `d` is
/// a dying domain the caller holds a reference to.
#[unsafe(no_mangle)]
pub extern "C" fn evtchn_destroy(d: DomainPtr) -> c_int {
    let Some(dom) = d.get() else { return 0 };
    if !Domain::is_dying(dom) {
        // C: BUG_ON(!d->is_dying). A Xen caller bug; refuse rather than crash.
        return -Errno::EINVAL.get();
    }
    // After this kind-of-barrier no new allocations can occur.
    drop(dom.event_read_lock());
    if let Err(at) = ops::destroy_ports(&XenEnv, dom, dom.valid_ports(), !dom.is_dead()) {
        // Ports at and above `at` are closed and stay so.
        dom.shrink_valid_ports(at);
        return -Errno::ERESTART.get();
    }
    super::virq::clear_global_handlers(dom);
    fifo::destroy(dom);
    0
}

/// `void evtchn_destroy_final(struct domain *d)`: free the port table. `d` is being freed:
/// nothing else can reach it or its channels.
#[unsafe(no_mangle)]
pub extern "C" fn evtchn_destroy_final(d: DomainPtr) {
    if let Some(dom) = d.get() {
        // SAFETY: evtchn_destroy_final's C contract: nothing can reach the domain any more.
        unsafe { dom.free_table() }
    }
}

/// `int evtchn_reset(struct domain *d, bool resuming)`: close all ports (back to 2L). `d` is
/// a live domain the caller holds a reference to.
#[unsafe(no_mangle)]
pub extern "C" fn evtchn_reset(d: DomainPtr, resuming: bool) -> c_int {
    let Some(dom) = d.get() else { return -Errno::EINVAL.get() };
    to_int(ops::reset(&XenEnv, dom, resuming).and_then(|p| match p {
        Progress::Done => Ok(0),
        Progress::Preempted => Err(Errno::ERESTART),
    }))
}

/// `int evtchn_send(struct domain *d, unsigned int lport)`. `d` is a live domain the caller
/// holds a reference to.
#[unsafe(no_mangle)]
pub extern "C" fn evtchn_send(d: DomainPtr, lport: c_uint) -> c_int {
    let Some(dom) = d.get() else { return -Errno::EINVAL.get() };
    done(ops::send(&XenEnv, dom, lport))
}

/// `void evtchn_check_pollers(struct domain *d, unsigned int port)`. `d` is a live domain.
#[unsafe(no_mangle)]
pub extern "C" fn evtchn_check_pollers(d: DomainPtr, port: c_uint) {
    if let Some(dom) = d.get() {
        dom.check_pollers(port);
    }
}

/// `void evtchn_move_pirqs(struct vcpu *v)`: re-target the PIRQs bound to `v`. Arm binds no
/// PIRQ to an event channel (alloc_pirq_struct() is NULL), so the list is always empty.
#[unsafe(no_mangle)]
pub extern "C" fn evtchn_move_pirqs(v: VcpuPtr) {
    if let Some(v) = v.get() {
        debug_assert!(v.pirq_evtchn_head() == 0);
    }
}
