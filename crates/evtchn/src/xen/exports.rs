//! Every symbol the rest of Xen 4.17.5 (arm64) takes from common/event_channel.c,
//! event_2l.c and event_fifo.c, with C's prototypes (include/xen/event.h, xen/sched.h,
//! hypercall-defs). Declared for C in include/xen-rust.h by cbindgen.
//!
//! Each export sheds its raw pointers into the handles of the parent module and calls the
//! generic operation in [`crate::core`]; `do_event_channel_op` is Hubris-shaped: decode `cmd`,
//! copy the argument in, one function per op returning `Result`, copy out, map the errno once.

use super::{
    BUCKETS_PER_GROUP, EVTCHNS_PER_BUCKET, NR_EVTCHN_GROUPS, Progress, XenDom, XenEnv,
    alloc_bucket, free_bucket, twol_init,
};
use crate::abi::{self, Cmd, DomId, Port};
use crate::core::{self as ops, Channel, Domain, Env, State};
use core::ffi::{c_int, c_long, c_uint};
use core::ptr::{addr_of_mut, null_mut};
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use xen_rust_glue::bindings as b;
use xen_rust_glue::guest::{read_arg, write_arg};
use xen_rust_glue::{Errno, printk};

/// C: `xen_event_channel_notification_t`.
pub type XenEventChannelNotification = Option<unsafe extern "C" fn(v: *mut b::vcpu, port: c_uint)>;

/// An arm64 `XEN_GUEST_HANDLE_PARAM(void)`: an 8-byte aggregate passed in one register.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct GuestHandleVoid {
    pub p: u64,
}

const NR_XEN_CONSUMERS: usize = (1 << b::XEN_CONSUMER_BITS) - 1;

/// C's `xen_consumers[]`: notification functions of Xen-attached channels, registered
/// without a lock by compare-and-swap (C: cmpxchgptr).
static XEN_CONSUMERS: [AtomicUsize; NR_XEN_CONSUMERS] =
    [const { AtomicUsize::new(0) }; NR_XEN_CONSUMERS];

unsafe extern "C" fn default_xen_notification(v: *mut b::vcpu, port: c_uint) {
    // SAFETY: called with a live vCPU (send / notify paths).
    unsafe { b::oxx_default_xen_notification(v, port) }
}

/// C's `get_xen_consumer()`; `None` when all 7 slots hold other functions (C: BUG_ON; not
/// reachable from a guest: only Xen's own callers register consumers).
fn get_xen_consumer(f: XenEventChannelNotification) -> Option<u8> {
    let f = f.unwrap_or(default_xen_notification) as usize;
    for (i, slot) in XEN_CONSUMERS.iter().enumerate() {
        let _ = slot.compare_exchange(0, f, Ordering::AcqRel, Ordering::Acquire);
        if slot.load(Ordering::Acquire) == f {
            return Some(i as u8 + 1);
        }
    }
    None
}

pub(super) fn xen_consumer_fn(consumer: u8) -> Option<unsafe extern "C" fn(*mut b::vcpu, c_uint)> {
    let slot = XEN_CONSUMERS.get((consumer as usize).checked_sub(1)?)?;
    let f = slot.load(Ordering::Acquire);
    if f == 0 {
        return None;
    }
    // SAFETY: only get_xen_consumer() stores into the slots, and only such function pointers.
    Some(unsafe { core::mem::transmute::<usize, unsafe extern "C" fn(*mut b::vcpu, c_uint)>(f) })
}

fn ret(r: Result<(), Errno>) -> c_int {
    match r {
        Ok(()) => 0,
        Err(e) => -e.get(),
    }
}

// ---- domain set-up and teardown (common/domain.c) ----

/// `int evtchn_init(struct domain *d, unsigned int max_port)`.
///
/// # Safety
/// `d` is a domain being created, not yet visible to other CPUs.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evtchn_init(d: *mut b::domain, max_port: c_uint) -> c_int {
    // SAFETY: guaranteed by the caller.
    let Some(dom) = (unsafe { XenDom::new(d) }) else { return -Errno::EINVAL.get() };
    twol_init(dom);
    let Some(bucket) = alloc_bucket(0) else { return -Errno::ENOMEM.get() };
    // SAFETY: `d` is ours alone during creation (caller).
    unsafe {
        (*d).max_evtchn_port = max_port.min(i32::MAX as u32);
        (*d).evtchn = bucket;
        (*d).valid_evtchns = EVTCHNS_PER_BUCKET;
        b::oxx_rwlock_init(addr_of_mut!((*d).event_lock));
    }
    if ops::get_free_port(dom) != Ok(0) {
        // SAFETY: the bucket was never published beyond `d`, which creation abandons.
        unsafe {
            free_bucket(bucket);
            (*d).evtchn = null_mut();
        }
        return -Errno::EINVAL.get();
    }
    // Port 0 is reserved; it is not counted active.
    if let Some(c) = dom.chan(0) {
        let mut w = c.write();
        ops::ChannelWrite::set_state(&mut w, State::Reserved);
    }
    dom.set_active(0);
    // SAFETY: creation-time, `d` ours alone; BITS_TO_LONGS(max_vcpus) words.
    unsafe {
        let words = ((*d).max_vcpus as usize).div_ceil(64).max(1);
        let m: *mut core::ffi::c_ulong = b::oxx_xzalloc_bytes((words * 8) as _, 8).cast();
        if m.is_null() {
            free_bucket(bucket);
            (*d).evtchn = null_mut();
            return -Errno::ENOMEM.get();
        }
        (*d).poll_mask = m;
    }
    0
}

/// `int evtchn_destroy(struct domain *d)`: close every port (preemptible: -ERESTART).
///
/// # Safety
/// `d` is a dying domain the caller holds a reference to.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evtchn_destroy(d: *mut b::domain) -> c_int {
    // SAFETY: guaranteed by the caller.
    let Some(dom) = (unsafe { XenDom::new(d) }) else { return 0 };
    if !dom.is_dying() {
        // C: BUG_ON(!d->is_dying). A Xen caller bug; refuse rather than crash.
        return -Errno::EINVAL.get();
    }
    // After this kind-of-barrier no new allocations can occur.
    drop(dom.event_read_lock());
    // SAFETY: live domain; an enum read.
    let dead = unsafe { (*d).is_dying } == b::domain_DOMDYING_dead;
    // SAFETY: live domain; read_atomic.
    let valid = unsafe { core::ptr::addr_of!((*d).valid_evtchns).read_volatile() };
    if let Err(at) = ops::destroy_ports(&XenEnv, dom, valid, !dead) {
        // SAFETY: live domain; write_atomic: ports above `at` are closed and stay so.
        unsafe { addr_of_mut!((*d).valid_evtchns).write_volatile(at) };
        return -Errno::ERESTART.get();
    }
    clear_global_virq_handlers(d);
    super::fifo::destroy(dom);
    0
}

/// `void evtchn_destroy_final(struct domain *d)`: free the port table.
///
/// # Safety
/// `d` is being freed: nothing else can reach it or its channels.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evtchn_destroy_final(d: *mut b::domain) {
    if d.is_null() {
        return;
    }
    // SAFETY: guaranteed by the caller: the table is ours to free.
    unsafe {
        for gi in 0..NR_EVTCHN_GROUPS {
            let grp = (*d).evtchn_group[gi];
            if grp.is_null() {
                continue;
            }
            for j in 0..BUCKETS_PER_GROUP as usize {
                free_bucket(*grp.add(j));
            }
            b::oxx_xfree(grp.cast());
        }
        free_bucket((*d).evtchn);
        b::oxx_xfree((*d).poll_mask.cast());
        (*d).poll_mask = null_mut();
    }
}

/// `int evtchn_reset(struct domain *d, bool resuming)`: close all ports (back to 2L).
///
/// # Safety
/// `d` is a live domain the caller holds a reference to.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evtchn_reset(d: *mut b::domain, resuming: bool) -> c_int {
    // SAFETY: guaranteed by the caller.
    let Some(dom) = (unsafe { XenDom::new(d) }) else { return -Errno::EINVAL.get() };
    match ops::reset(&XenEnv, dom, resuming) {
        Ok(Progress::Done) => 0,
        Ok(Progress::Preempted) => -Errno::ERESTART.get(),
        Err(e) => -e.get(),
    }
}

/// `int evtchn_send(struct domain *d, unsigned int lport)`.
///
/// # Safety
/// `d` is a live domain the caller holds a reference to.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evtchn_send(d: *mut b::domain, lport: c_uint) -> c_int {
    // SAFETY: guaranteed by the caller.
    let Some(dom) = (unsafe { XenDom::new(d) }) else { return -Errno::EINVAL.get() };
    ret(ops::send(&XenEnv, dom, lport))
}

/// `void evtchn_check_pollers(struct domain *d, unsigned int port)`.
///
/// # Safety
/// `d` is a live domain.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evtchn_check_pollers(d: *mut b::domain, port: c_uint) {
    // SAFETY: guaranteed by the caller.
    if let Some(dom) = unsafe { XenDom::new(d) } {
        super::check_pollers(dom, port);
    }
}

/// `void evtchn_move_pirqs(struct vcpu *v)`: re-target the PIRQs bound to `v`. Arm binds no
/// PIRQ to an event channel (alloc_pirq_struct() is NULL), so the list is always empty.
///
/// # Safety
/// `v` is a live vCPU.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evtchn_move_pirqs(v: *mut b::vcpu) {
    // SAFETY: guaranteed by the caller.
    let head = unsafe { (*v).pirq_evtchn_head };
    debug_assert!(head == 0);
    let _ = head;
}

// ---- VIRQs ----

/// `bool evtchn_virq_enabled(const struct vcpu *v, unsigned int virq)`.
///
/// # Safety
/// `v` is NULL or a live vCPU.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evtchn_virq_enabled(v: *const b::vcpu, virq: c_uint) -> bool {
    if v.is_null() || virq >= abi::NR_VIRQS {
        return false;
    }
    // SAFETY: live vCPU and its domain (caller).
    unsafe {
        let Some(d) = XenDom::new((*v).domain) else { return false };
        let id = if abi::virq_is_global(virq) { 0 } else { (*v).vcpu_id as u32 };
        d.virq_port(id, virq) != 0
    }
}

/// `void send_guest_vcpu_virq(struct vcpu *v, uint32_t virq)`: a per-vCPU VIRQ.
///
/// # Safety
/// `v` is a live vCPU.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn send_guest_vcpu_virq(v: *mut b::vcpu, virq: u32) {
    if v.is_null() || virq >= abi::NR_VIRQS {
        return;
    }
    // SAFETY: live vCPU (caller).
    unsafe { send_virq_on(v, virq, None) }
}

/// Deliver `virq` bound on vCPU `v` (its virq_to_evtchn slot), under `v->virq_lock`.
/// `notify`: the vCPU to notify (global VIRQs: the channel's); `None`: `v` itself.
///
/// # Safety
/// `v` is a live vCPU; virq < NR_VIRQS.
unsafe fn send_virq_on(v: *mut b::vcpu, virq: u32, notify: Option<()>) {
    // SAFETY: guaranteed by the caller; virq_lock is initialised with the vCPU.
    unsafe {
        let _g = xen_rust_glue::sync::raw::ReadGuard::lock_irqsave(addr_of_mut!((*v).virq_lock));
        let port = core::ptr::addr_of!((*v).virq_to_evtchn[virq as usize]).read_volatile();
        if port == 0 {
            return;
        }
        let Some(d) = XenDom::new((*v).domain) else { return };
        let Some(c) = d.chan(port) else { return };
        if let Some(_r) = c.try_read() {
            let to = if notify.is_some() { c.notify_vcpu() } else { (*v).vcpu_id as u32 };
            d.set_pending(to, c);
        }
    }
}

/// `void send_guest_global_virq(struct domain *d, uint32_t virq)`.
///
/// # Safety
/// `d` is NULL or a live domain.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn send_guest_global_virq(d: *mut b::domain, virq: u32) {
    if d.is_null() || virq >= abi::NR_VIRQS {
        return;
    }
    // SAFETY: live domain (caller).
    unsafe {
        if (*d).vcpu.is_null() {
            return;
        }
        let v = *(*d).vcpu;
        if v.is_null() {
            return;
        }
        send_virq_on(v, virq, Some(()));
    }
}

static GLOBAL_VIRQ_HANDLERS: [AtomicPtr<b::domain>; abi::NR_VIRQS as usize] =
    [const { AtomicPtr::new(null_mut()) }; abi::NR_VIRQS as usize];

/// `void send_global_virq(uint32_t virq)`: to its handler domain, else the hardware domain.
#[unsafe(no_mangle)]
pub extern "C" fn send_global_virq(virq: u32) {
    let Some(slot) = GLOBAL_VIRQ_HANDLERS.get(virq as usize) else { return };
    let mut d = slot.load(Ordering::Acquire);
    if d.is_null() {
        // SAFETY: reads Xen's global pointer (NULL in dom0less: no hardware domain).
        d = unsafe { b::oxx_hardware_domain() };
    }
    // SAFETY: a handler holds a domain reference (set_global_virq_handler); the hardware
    // domain lives for the host's life.
    unsafe { send_guest_global_virq(d, virq) }
}

/// `int set_global_virq_handler(struct domain *d, uint32_t virq)` (domctl).
///
/// # Safety
/// `d` is a live domain.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn set_global_virq_handler(d: *mut b::domain, virq: u32) -> c_int {
    if virq >= abi::NR_VIRQS || !abi::virq_is_global(virq) {
        return -Errno::EINVAL.get();
    }
    let slot = &GLOBAL_VIRQ_HANDLERS[virq as usize];
    if slot.load(Ordering::Acquire) == d {
        return 0;
    }
    // SAFETY: live domain (caller).
    if !unsafe { b::oxx_get_domain(d) } {
        return -Errno::EINVAL.get();
    }
    let old = slot.swap(d, Ordering::AcqRel);
    if !old.is_null() {
        // SAFETY: the reference taken when `old` was installed.
        unsafe { b::oxx_put_domain(old) };
    }
    0
}

fn clear_global_virq_handlers(d: *mut b::domain) {
    for slot in GLOBAL_VIRQ_HANDLERS.iter() {
        if slot.compare_exchange(d, null_mut(), Ordering::AcqRel, Ordering::Acquire).is_ok() {
            // SAFETY: the reference taken by set_global_virq_handler.
            unsafe { b::oxx_put_domain(d) };
        }
    }
}

// ---- Xen-attached channels (vpl011, vm_event) ----

/// `int alloc_unbound_xen_event_channel(struct domain *ld, unsigned int lvcpu,
/// domid_t remote_domid, xen_event_channel_notification_t notification_fn)`.
///
/// # Safety
/// `ld` is a live domain; `notification_fn` is NULL or a function valid for Xen's life.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn alloc_unbound_xen_event_channel(
    ld: *mut b::domain,
    lvcpu: c_uint,
    remote_domid: DomId,
    notification_fn: XenEventChannelNotification,
) -> c_int {
    // SAFETY: guaranteed by the caller.
    let Some(dom) = (unsafe { XenDom::new(ld) }) else { return -Errno::EINVAL.get() };
    let Some(consumer) = get_xen_consumer(notification_fn) else { return -Errno::ENOSPC.get() };
    match ops::alloc_unbound_xen::<XenEnv>(dom, lvcpu, remote_domid, consumer) {
        Ok(p) => p as c_int,
        Err(e) => -e.get(),
    }
}

/// `void free_xen_event_channel(struct domain *d, int port)`.
///
/// # Safety
/// `d` is a live domain.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn free_xen_event_channel(d: *mut b::domain, port: c_int) {
    // SAFETY: guaranteed by the caller.
    let Some(dom) = (unsafe { XenDom::new(d) }) else { return };
    if dom.chan(port as u32).is_none() {
        // A dying domain's table may already be gone (C: BUG_ON(!d->is_dying)).
        return;
    }
    let _ = ops::close(&XenEnv, dom, port as u32, false);
}

/// `void notify_via_xen_event_channel(struct domain *ld, int lport)`.
///
/// # Safety
/// `ld` is a live domain.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn notify_via_xen_event_channel(ld: *mut b::domain, lport: c_int) {
    // SAFETY: guaranteed by the caller.
    if let Some(dom) = unsafe { XenDom::new(ld) } {
        ops::notify_via_xen(dom, lport as u32);
    }
}

// ---- static event channels (arch/arm/domain_build.c) ----

/// `int evtchn_alloc_unbound(evtchn_alloc_unbound_t *alloc, evtchn_port_t port)`.
///
/// # Safety
/// `alloc` points to a valid `struct evtchn_alloc_unbound`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evtchn_alloc_unbound(alloc: *mut abi::AllocUnbound, port: Port) -> c_int {
    // SAFETY: guaranteed by the caller.
    let a = unsafe { &mut *alloc };
    match ops::alloc_unbound(&XenEnv, a.dom, a.remote_dom, port) {
        Ok(p) => {
            a.port = p;
            0
        }
        Err(e) => -e.get(),
    }
}

/// `int evtchn_bind_interdomain(evtchn_bind_interdomain_t *bind, struct domain *ld,
/// evtchn_port_t port)`.
///
/// # Safety
/// `bind` points to a valid struct; `ld` is a live domain.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn evtchn_bind_interdomain(
    bind: *mut abi::BindInterdomain,
    ld: *mut b::domain,
    port: Port,
) -> c_int {
    // SAFETY: guaranteed by the caller.
    let (bi, dom) = unsafe { (&mut *bind, XenDom::new(ld)) };
    let Some(dom) = dom else { return -Errno::EINVAL.get() };
    match ops::bind_interdomain(&XenEnv, dom, bi.remote_dom, bi.remote_port, port) {
        Ok(p) => {
            bi.local_port = p;
            0
        }
        Err(e) => -e.get(),
    }
}

// ---- the hypercall ----

/// `long do_event_channel_op(int cmd, XEN_GUEST_HANDLE_PARAM(void) arg)`.
#[unsafe(no_mangle)]
pub extern "C" fn do_event_channel_op(cmd: c_int, arg: GuestHandleVoid) -> c_long {
    let Some(cmd) = Cmd::decode(cmd) else { return -Errno::ENOSYS.get() as c_long };
    match dispatch(cmd, arg.p) {
        Ok(v) => v,
        Err(e) => -e.get() as c_long,
    }
}

/// One arm per operation; copy-in failures are `EFAULT` before anything happens, copy-out
/// failures `EFAULT` after (as C: "cleaning up here would be a mess").
fn dispatch(cmd: Cmd, arg: u64) -> Result<c_long, Errno> {
    let env = XenEnv;
    match cmd {
        Cmd::AllocUnbound => {
            let mut a: abi::AllocUnbound = read_arg(arg)?;
            a.port = ops::alloc_unbound(&env, a.dom, a.remote_dom, 0)?;
            write_arg(arg, &a)?;
        }
        Cmd::BindInterdomain => {
            let mut a: abi::BindInterdomain = read_arg(arg)?;
            a.local_port =
                ops::bind_interdomain(&env, env.current(), a.remote_dom, a.remote_port, 0)?;
            write_arg(arg, &a)?;
        }
        Cmd::BindVirq => {
            let mut a: abi::BindVirq = read_arg(arg)?;
            a.port = ops::bind_virq(&env, a.virq, a.vcpu, 0)?;
            write_arg(arg, &a)?;
        }
        Cmd::BindIpi => {
            let mut a: abi::BindIpi = read_arg(arg)?;
            a.port = ops::bind_ipi(&env, a.vcpu)?;
            write_arg(arg, &a)?;
        }
        Cmd::BindPirq => {
            let a: abi::BindPirq = read_arg(arg)?;
            bind_pirq(&env, a.pirq)?;
        }
        Cmd::Close => {
            let a: abi::PortArg = read_arg(arg)?;
            ops::close(&env, env.current(), a.port, true)?;
        }
        Cmd::Send => {
            let a: abi::PortArg = read_arg(arg)?;
            ops::send(&env, env.current(), a.port)?;
        }
        Cmd::Status => {
            let mut a: abi::Status = read_arg(arg)?;
            let s = ops::status(&env, a.dom, a.port)?;
            s.apply(&mut a);
            write_arg(arg, &a)?;
        }
        Cmd::BindVcpu => {
            let a: abi::BindVcpu = read_arg(arg)?;
            ops::bind_vcpu(&env, a.port, a.vcpu)?;
        }
        Cmd::Unmask => {
            let a: abi::PortArg = read_arg(arg)?;
            ops::unmask(&env, a.port)?;
        }
        Cmd::Reset { resuming } => {
            let a: abi::Reset = read_arg(arg)?;
            let d = env.lookup(a.dom).ok_or(Errno::ESRCH)?;
            env.xsm_reset(*d)?;
            let r = ops::reset(&env, *d, resuming);
            drop(d);
            match r {
                Ok(Progress::Done) => {}
                Ok(Progress::Preempted) => {
                    // SAFETY: creates the EVTCHNOP_reset_cont continuation with the guest's
                    // own argument handle; called from hypercall context.
                    return Ok(unsafe { b::oxx_evtchn_reset_continuation(arg) } as c_long);
                }
                Err(e) => return Err(e),
            }
        }
        Cmd::InitControl => {
            let mut a: abi::InitControl = read_arg(arg)?;
            a.link_bits = abi::EVTCHN_FIFO_LINK_BITS;
            super::fifo::init_control(env.current(), a.control_gfn, a.offset, a.vcpu)?;
            write_arg(arg, &a)?;
        }
        Cmd::ExpandArray => {
            let a: abi::ExpandArray = read_arg(arg)?;
            super::fifo::expand_array(env.current(), a.array_gfn)?;
        }
        Cmd::SetPriority => {
            let a: abi::SetPriority = read_arg(arg)?;
            ops::set_priority(&env, a.port, a.priority)?;
        }
    }
    Ok(0)
}

/// `evtchn_bind_pirq()` on Arm: `EINVAL` above `d->nr_pirqs`; otherwise a port is taken and
/// `pirq_get_info()` fails (Arm's alloc_pirq_struct() returns NULL), so `ENOMEM`, and the port
/// is given back — exactly C's path on Arm.
fn bind_pirq(env: &XenEnv, pirq: u32) -> Result<(), Errno> {
    let d = env.current();
    // SAFETY: current->domain is live; nr_pirqs is set at creation.
    if pirq >= unsafe { (*d.ptr()).nr_pirqs } {
        return Err(Errno::EINVAL);
    }
    let _l = d.event_lock();
    let port = ops::get_free_port(d)?;
    // SAFETY: live domain, pirq < nr_pirqs.
    let info = unsafe { b::oxx_pirq_get_info(d.ptr(), pirq as c_int) };
    // Undo the allocation: the channel is still free (C: check_free_port()).
    if let Some(c) = d.chan(port)
        && c.state() == State::Free
    {
        d.set_active(d.active().wrapping_sub(1));
    }
    if info.is_null() { Err(Errno::ENOMEM) } else { Err(Errno::ENOSYS) }
}

// ---- the 'e' debug key ----

unsafe extern "C" fn dump_domain(d: *mut b::domain, _ctx: *mut core::ffi::c_void) -> bool {
    // SAFETY: for_each_domain hands us live domains under the domain-list RCU lock.
    let Some(dom) = (unsafe { XenDom::new(d) }) else { return true };
    // SAFETY: live domain.
    unsafe { b::oxx_printk_poll_mask(d) };
    let _l = dom.event_read_lock();
    let mut port = 1;
    while let Some(c) = dom.chan(port) {
        let st = c.state();
        if st != State::Free {
            // SAFETY: live domain and channel; read-only helpers.
            let (p, m) = unsafe {
                (b::oxx_evtchn_is_pending(d, c.raw()), b::oxx_evtchn_is_masked(d, c.raw()))
            };
            printk!("    {:4} [{}/{}/", port, p as u8, m as u8);
            // SAFETY: as above.
            unsafe { b::oxx_evtchn_port_print_state(d, c.raw()) };
            printk!("]: s={} n={} x={}", st.ecs(), c.notify_vcpu(), c.xen_consumer());
            match st {
                State::Unbound { remote } => printk!(" d={}", remote),
                State::Interdomain { remote, remote_port } => {
                    printk!(" d={} p={}", remote.id(), remote_port)
                }
                State::Pirq { irq } => printk!(" p={} i=-1", irq),
                State::Virq { virq } => printk!(" v={}", virq),
                _ => {}
            }
            // SAFETY: live domain and channel; the string is ours to free.
            let ssid = unsafe { b::oxx_xsm_show_security_evtchn(d, c.raw()) };
            if ssid.is_null() {
                printk!("\n");
            } else {
                // SAFETY: XSM returns a NUL-terminated string.
                let s = unsafe { core::ffi::CStr::from_ptr(ssid) };
                printk!(" Z={}\n", s.to_str().unwrap_or("?"));
                // SAFETY: allocated by XSM with xmalloc.
                unsafe { b::oxx_xfree(ssid.cast()) };
            }
        }
        port += 1;
    }
    true
}

/// The 'e' key handler (registered by common/rust-glue.c).
#[unsafe(no_mangle)]
pub extern "C" fn xen_rust_evtchn_dump(key: u8) {
    printk!("'{}' pressed -> dumping event-channel info\n", key as char);
    // SAFETY: dump_domain matches the callback type and ignores ctx.
    unsafe { b::oxx_for_each_domain(Some(dump_domain), null_mut()) };
}
