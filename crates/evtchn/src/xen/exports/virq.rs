//! VIRQs: Xen's virtual interrupts delivered over the channels a guest bound with
//! `EVTCHNOP_bind_virq` (per-vCPU and global), and the domctl that names a global VIRQ's
//! handler domain.

use super::done;
use crate::abi;
use crate::ops::{Channel, Domain, EventAbi, Vcpus};
use core::ffi::{c_int, c_uint};
use xen_rust_glue::Errno;
use xen_rust_glue::evtchn::{self as glue, ConstVcpuPtr, Dom, DomainPtr, VcpuPtr, VirqHandlerSlot};

/// `bool evtchn_virq_enabled(const struct vcpu *v, unsigned int virq)`. `v` is NULL or a
/// live vCPU.
#[unsafe(no_mangle)]
pub extern "C" fn evtchn_virq_enabled(v: ConstVcpuPtr, virq: c_uint) -> bool {
    let Some(v) = v.get() else { return false };
    if virq >= abi::NR_VIRQS {
        return false;
    }
    let id = if abi::virq_is_global(virq) { 0 } else { v.id() };
    Vcpus::virq_port(v.domain(), id, virq) != 0
}

/// `void send_guest_vcpu_virq(struct vcpu *v, uint32_t virq)`: a per-vCPU VIRQ. `v` is a
/// live vCPU.
#[unsafe(no_mangle)]
pub extern "C" fn send_guest_vcpu_virq(v: VcpuPtr, virq: u32) {
    if let Some(v) = v.get()
        && virq < abi::NR_VIRQS
    {
        send_virq_on(v, virq, Notify::Bound)
    }
}

/// Which vCPU a VIRQ notifies.
enum Notify {
    /// The vCPU the VIRQ is bound on (per-vCPU VIRQs).
    Bound,
    /// The channel's notify vCPU (global VIRQs).
    Channel,
}

/// Deliver `virq` bound on vCPU `v` (its virq_to_evtchn slot), under `v->virq_lock`.
fn send_virq_on(v: glue::Vcpu, virq: u32, notify: Notify) {
    let _g = v.virq_read_lock();
    let port = v.virq_port(virq);
    if port == 0 {
        return;
    }
    let d = v.domain();
    let Some(c) = Domain::chan(d, port) else { return };
    if let Some(_r) = Channel::try_read(c) {
        let to = match notify {
            Notify::Bound => v.id(),
            Notify::Channel => Channel::notify_vcpu(c),
        };
        EventAbi::set_pending(d, to, c);
    }
}

/// `void send_guest_global_virq(struct domain *d, uint32_t virq)`. `d` is NULL or a live
/// domain.
#[unsafe(no_mangle)]
pub extern "C" fn send_guest_global_virq(d: DomainPtr, virq: u32) {
    if let Some(d) = d.get() {
        send_global_virq_to(d, virq)
    }
}

fn send_global_virq_to(d: Dom, virq: u32) {
    if virq >= abi::NR_VIRQS {
        return;
    }
    if let Some(v) = d.first_vcpu() {
        send_virq_on(v, virq, Notify::Channel);
    }
}

static GLOBAL_VIRQ_HANDLERS: [VirqHandlerSlot; abi::NR_VIRQS as usize] =
    [const { VirqHandlerSlot::new() }; abi::NR_VIRQS as usize];

/// C's `clear_global_virq_handlers()`: `d` handles no global VIRQ any more.
pub(super) fn clear_global_handlers(d: Dom) {
    for slot in GLOBAL_VIRQ_HANDLERS.iter() {
        slot.clear_if(d);
    }
}

/// `void send_global_virq(uint32_t virq)`: to its handler domain, else the hardware domain.
#[unsafe(no_mangle)]
pub extern "C" fn send_global_virq(virq: u32) {
    let Some(slot) = GLOBAL_VIRQ_HANDLERS.get(virq as usize) else { return };
    if let Some(d) = slot.get().or_else(Dom::hardware) {
        send_global_virq_to(d, virq)
    }
}

/// `int set_global_virq_handler(struct domain *d, uint32_t virq)` (domctl). `d` is a live
/// domain.
#[unsafe(no_mangle)]
pub extern "C" fn set_global_virq_handler(d: DomainPtr, virq: u32) -> c_int {
    let Some(d) = d.get() else { return -Errno::EINVAL.get() };
    if virq >= abi::NR_VIRQS || !abi::virq_is_global(virq) {
        return -Errno::EINVAL.get();
    }
    done(GLOBAL_VIRQ_HANDLERS[virq as usize].set(d))
}
