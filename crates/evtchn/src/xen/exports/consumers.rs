//! Channels Xen itself creates or consumes: Xen-attached channels (vpl011, vm_event: Xen is
//! one end and is notified through a registered function) and dom0less static channels,
//! which arch/arm/domain_build.c binds while it builds the domains.

use super::done;
use crate::abi::{self, DomId, Port};
use crate::ops::{self, Domain};
use crate::xen::XenEnv;
use core::ffi::{c_int, c_uint};
use xen_rust_glue::Errno;
use xen_rust_glue::errno::to_int;
use xen_rust_glue::evtchn::{self as glue, DomainPtr, XenEventChannelNotification};

// ---- Xen-attached channels (vpl011, vm_event) ----

/// `int alloc_unbound_xen_event_channel(struct domain *ld, unsigned int lvcpu,
/// domid_t remote_domid, xen_event_channel_notification_t notification_fn)`: `ld` is a live
/// domain; `notification_fn` is NULL or a function valid for Xen's life.
#[unsafe(no_mangle)]
pub extern "C" fn alloc_unbound_xen_event_channel(
    ld: DomainPtr,
    lvcpu: c_uint,
    remote_domid: DomId,
    notification_fn: XenEventChannelNotification,
) -> c_int {
    let Some(dom) = ld.get() else { return -Errno::EINVAL.get() };
    // SAFETY: this export's C contract: the function is valid for Xen's life and takes any
    // live vCPU and port (C's xen_event_channel_notification_t).
    let Some(consumer) = (unsafe { glue::register_xen_consumer(notification_fn) }) else {
        return -Errno::ENOSPC.get();
    };
    to_int(ops::alloc_unbound_xen::<XenEnv>(dom, lvcpu, remote_domid, consumer).map(|p| p as c_int))
}

/// `void free_xen_event_channel(struct domain *d, int port)`. `d` is a live domain.
#[unsafe(no_mangle)]
pub extern "C" fn free_xen_event_channel(d: DomainPtr, port: c_int) {
    let Some(dom) = d.get() else { return };
    if Domain::chan(dom, port as u32).is_none() {
        // A dying domain's table may already be gone (C: BUG_ON(!d->is_dying)).
        return;
    }
    let _ = ops::close(&XenEnv, dom, port as u32, false);
}

/// `void notify_via_xen_event_channel(struct domain *ld, int lport)`. `ld` is a live domain.
#[unsafe(no_mangle)]
pub extern "C" fn notify_via_xen_event_channel(ld: DomainPtr, lport: c_int) {
    if let Some(dom) = ld.get() {
        ops::notify_via_xen(dom, lport as u32);
    }
}

// ---- static event channels (arch/arm/domain_build.c) ----

/// `int evtchn_alloc_unbound(evtchn_alloc_unbound_t *alloc, evtchn_port_t port)`.
#[unsafe(no_mangle)]
pub extern "C" fn evtchn_alloc_unbound(alloc: Option<&mut abi::AllocUnbound>, port: Port) -> c_int {
    let Some(a) = alloc else { return -Errno::EINVAL.get() };
    done(ops::alloc_unbound(&XenEnv, a.dom, a.remote_dom, port).map(|p| a.port = p))
}

/// `int evtchn_bind_interdomain(evtchn_bind_interdomain_t *bind, struct domain *ld,
/// evtchn_port_t port)`. `ld` is a live domain.
#[unsafe(no_mangle)]
pub extern "C" fn evtchn_bind_interdomain(
    bind: Option<&mut abi::BindInterdomain>,
    ld: DomainPtr,
    port: Port,
) -> c_int {
    let (Some(bi), Some(dom)) = (bind, ld.get()) else { return -Errno::EINVAL.get() };
    done(
        ops::bind_interdomain(&XenEnv, dom, bi.remote_dom, bi.remote_port, port)
            .map(|p| bi.local_port = p),
    )
}
