//! Every symbol the rest of Xen 4.17.5 (arm64) takes from common/event_channel.c,
//! event_2l.c and event_fifo.c, with C's prototypes (include/xen/event.h, xen/sched.h,
//! hypercall-defs). Declared for C in include/xen-rust.h by cbindgen.
//!
//! Each export turns C's pointers into the glue's handles ([`DomainPtr::get`]: C's prototype
//! carries the contract that they are live), calls the generic operation in [`crate::ops`],
//! and converts its `Result` to C's return value once, with [`to_int`] / [`to_ret`].
//! `do_event_channel_op` is Hubris-shaped: decode `cmd`, copy the argument in, one function
//! per op returning `Result`, copy out, map the errno once.

use super::{Progress, XenEnv, twol_init};
use crate::abi::{self, Cmd, DomId, Port};
use crate::ops::{self, Channel, ChannelWrite, Domain, Env, State};
use core::ffi::{c_int, c_long, c_uint};
use xen_rust_glue::errno::{to_int, to_ret};
use xen_rust_glue::evtchn::{
    self as glue, ConstVcpuPtr, Dom, DomainPtr, VcpuPtr, VirqHandlerSlot,
    XenEventChannelNotification,
};
use xen_rust_glue::guest::{GuestHandleVoid, read_arg, write_arg};
use xen_rust_glue::{Errno, printk};

/// An export's `int` from an operation that returns nothing.
fn done(r: Result<(), Errno>) -> c_int {
    to_int(r.map(|()| 0))
}

// ---- domain set-up and teardown (common/domain.c) ----

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
    for slot in GLOBAL_VIRQ_HANDLERS.iter() {
        slot.clear_if(dom);
    }
    super::fifo::destroy(dom);
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

// ---- VIRQs ----

/// `bool evtchn_virq_enabled(const struct vcpu *v, unsigned int virq)`. `v` is NULL or a
/// live vCPU.
#[unsafe(no_mangle)]
pub extern "C" fn evtchn_virq_enabled(v: ConstVcpuPtr, virq: c_uint) -> bool {
    let Some(v) = v.get() else { return false };
    if virq >= abi::NR_VIRQS {
        return false;
    }
    let id = if abi::virq_is_global(virq) { 0 } else { v.id() };
    Domain::virq_port(v.domain(), id, virq) != 0
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
        Domain::set_pending(d, to, c);
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

// ---- the hypercall ----

/// `long do_event_channel_op(int cmd, XEN_GUEST_HANDLE_PARAM(void) arg)`.
#[unsafe(no_mangle)]
pub extern "C" fn do_event_channel_op(cmd: c_int, arg: GuestHandleVoid) -> c_long {
    to_ret(Cmd::decode(cmd).ok_or(Errno::ENOSYS).and_then(|cmd| dispatch(cmd, arg.p))) as c_long
}

/// One arm per operation; copy-in failures are `EFAULT` before anything happens, copy-out
/// failures `EFAULT` after (as C: "cleaning up here would be a mess").
fn dispatch(cmd: Cmd, arg: u64) -> Result<i64, Errno> {
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
                Ok(Progress::Preempted) => return Ok(glue::reset_continuation(arg)),
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
    if pirq >= d.nr_pirqs() {
        return Err(Errno::EINVAL);
    }
    let _l = d.event_lock();
    let port = ops::get_free_port(d)?;
    let info = d.pirq_info_exists(pirq);
    // Undo the allocation: the channel is still free (C: check_free_port()).
    if let Some(c) = d.chan(port)
        && Channel::state(c) == State::Free
    {
        d.set_active(d.active().wrapping_sub(1));
    }
    if info { Err(Errno::ENOSYS) } else { Err(Errno::ENOMEM) }
}

// ---- the 'e' debug key ----

fn dump_domain(dom: Dom) {
    dom.print_poll_mask();
    let _l = dom.event_read_lock();
    let mut port = 1;
    while let Some(c) = Domain::chan(dom, port) {
        let st = Channel::state(c);
        if st != State::Free {
            printk!("    {:4} [{}/{}/", port, dom.c_is_pending(c) as u8, dom.c_is_masked(c) as u8);
            dom.c_print_state(c);
            printk!("]: s={} n={} x={}", st.ecs(), c.notify_vcpu(), c.xen_consumer());
            match st {
                State::Unbound { remote } => printk!(" d={}", remote),
                State::Interdomain { remote, remote_port } => {
                    printk!(" d={} p={}", Domain::id(remote), remote_port)
                }
                State::Pirq { irq } => printk!(" p={} i=-1", irq),
                State::Virq { virq } => printk!(" v={}", virq),
                _ => {}
            }
            dom.print_security_label(c);
            printk!("\n");
        }
        port += 1;
    }
}

/// The 'e' key handler (registered by common/rust-glue.c).
#[unsafe(no_mangle)]
pub extern "C" fn xen_rust_evtchn_dump(key: u8) {
    printk!("'{}' pressed -> dumping event-channel info\n", key as char);
    xen_rust_glue::domain::for_each_domain(|d| dump_domain(d.dom()));
}
