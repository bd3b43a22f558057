//! The C-facing side (built only in Xen's build, `--cfg xen`): the [`core`](crate::core)
//! traits implemented over bindgen's `struct domain` / `struct vcpu` / `struct evtchn`, the
//! 2-level port ops table, and every symbol the rest of Xen links against from
//! common/event_channel.c, event_2l.c and event_fifo.c.
//!
//! Why `unsafe` is here and not in xen-rust-glue: these structures are shared with C code we
//! do not replace (include/xen/event.h's inlines, the scheduler's poll, vpl011, XSM), so the
//! channel table keeps C's layout and is reached through raw pointers C hands us. The glue
//! provides the locks, helpers and copies; what is left here is field access on those
//! pointers, each with its `// SAFETY:` reason. The invariants relied on throughout:
//!  1. A `*mut domain` passed by C, looked up by RCU, or stored in a channel's interdomain
//!     peer is live while we use it (the caller's reference, our `DomainLock`/`Hold`, or the
//!     peer channel pointing back keeps it so, as in C).
//!  2. `XenChan` is only made by `XenDom::chan`, i.e. for a port below `d->valid_evtchns`,
//!     whose bucket was published before `valid_evtchns` (release/acquire pairing, XSA-340).
//!  3. Channel buckets are freed only by `evtchn_destroy_final`, when no one can reach the
//!     domain any more.

mod exports;
mod fifo;

use crate::abi::{self, DomId, Port};
use crate::core::{self as ops, Channel, ChannelWrite, Domain, Env, State};
use crate::twol::{self, TwoLevelBits};
use core::ptr::{NonNull, addr_of, addr_of_mut};
use core::sync::atomic::{Ordering, fence};
use static_assertions::const_assert_eq;
use xen_rust_glue::Errno;
use xen_rust_glue::bindings as b;
use xen_rust_glue::cpu;
use xen_rust_glue::sync::raw;

const PAGE_SIZE: usize = 4096;
/// C: `EVTCHNS_PER_BUCKET` (PAGE_SIZE / next_power_of_2(sizeof(struct evtchn))).
const EVTCHNS_PER_BUCKET: u32 =
    (PAGE_SIZE / core::mem::size_of::<b::evtchn>().next_power_of_two()) as u32;
/// C: `BUCKETS_PER_GROUP`.
const BUCKETS_PER_GROUP: u32 = (PAGE_SIZE / core::mem::size_of::<*mut b::evtchn>()) as u32;
const EVTCHNS_PER_GROUP: u32 = BUCKETS_PER_GROUP * EVTCHNS_PER_BUCKET;
const MAX_NR_EVTCHNS: u32 = abi::EVTCHN_FIFO_NR_CHANNELS;
const NR_EVTCHN_GROUPS: usize = MAX_NR_EVTCHNS.div_ceil(EVTCHNS_PER_GROUP) as usize;

// Our arithmetic must be C's: the group array bindgen saw has C's length, and struct evtchn
// is the 64-byte aligned object event.h indexes.
const_assert_eq!(NR_EVTCHN_GROUPS, 4);
const_assert_eq!(core::mem::size_of::<b::evtchn>(), 64);
const_assert_eq!(EVTCHNS_PER_BUCKET, 64);
const_assert_eq!(abi::NR_VIRQS, b::NR_VIRQS);
const_assert_eq!(abi::VIRQ_XENPMU, b::VIRQ_XENPMU);
const_assert_eq!(abi::VIRQ_XENOPROF, b::VIRQ_XENOPROF);

/// C's `array_index_nospec(idx, size)`: `idx` (already checked `< size`) clamped so that a
/// mispredicted bounds check cannot index out of range under speculation.
#[inline(always)]
fn nospec(idx: u32, size: u32) -> usize {
    cpu::array_index_nospec(idx as usize, size as usize)
}

fn errno(rc: core::ffi::c_int) -> Result<(), Errno> {
    if rc == 0 { Ok(()) } else { Err(Errno::from_ret(rc)) }
}

/// A domain handle (C: `struct domain *`); see the module's invariant 1.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct XenDom(NonNull<b::domain>);

/// A channel handle (C: `struct evtchn *`); see the module's invariant 2.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct XenChan {
    d: XenDom,
    c: NonNull<b::evtchn>,
}

impl XenDom {
    /// # Safety
    /// `d` is a live domain for as long as the handle is used (module invariant 1).
    pub unsafe fn new(d: *mut b::domain) -> Option<Self> {
        NonNull::new(d).map(XenDom)
    }

    fn ptr(self) -> *mut b::domain {
        self.0.as_ptr()
    }

    /// `d->vcpu[id]` (may be NULL for an id below max_vcpus not yet created).
    #[inline(always)]
    fn vcpu_ptr(self, id: u32) -> *mut b::vcpu {
        // SAFETY: domain_vcpu() bounds-checks id against d->max_vcpus (with array_index_nospec)
        // on a live domain (invariant 1).
        unsafe { cpu::domain_vcpu(self.ptr(), id) }
    }

    /// The port ops are our own 2-level table (not FIFO's): then the ops are called directly,
    /// where C calls through `d->evtchn_port_ops` (the same functions, minus an indirect call
    /// and the C helper around it).
    #[inline(always)]
    fn is_2l(self) -> bool {
        core::ptr::eq(self.port_ops(), &EVTCHN_PORT_OPS_2L)
    }

    /// `d->evtchn_port_ops`. Written at init or under the event lock (init_control, reset),
    /// read by senders holding only a channel lock (as C's readers): a volatile access.
    #[inline(always)]
    fn port_ops(self) -> *const b::evtchn_port_ops {
        // SAFETY: invariant 1; an aligned pointer read of a field C also reads this way.
        unsafe { addr_of!((*self.ptr()).evtchn_port_ops).read_volatile() }
    }

    /// Sets `d->evtchn_port_ops` (at init or under the event lock).
    fn set_port_ops(self, ops: &'static b::evtchn_port_ops) {
        // SAFETY: invariant 1; an aligned pointer write; see port_ops().
        unsafe { addr_of_mut!((*self.ptr()).evtchn_port_ops).write_volatile(ops) }
    }

    fn max_vcpus(self) -> u32 {
        // SAFETY: invariant 1; max_vcpus is set before evtchn_init and never changes.
        unsafe { (*self.ptr()).max_vcpus }
    }

    /// C's `evtchn_from_port()` for a port known valid.
    ///
    /// # Safety
    /// `port < read_atomic(&d->valid_evtchns)` was observed with acquire ordering.
    unsafe fn chan_unchecked(self, port: Port) -> NonNull<b::evtchn> {
        let d = self.ptr();
        // SAFETY: invariant 1; by the caller's guarantee the bucket of `port` is allocated
        // and published (groups and buckets are written before valid_evtchns).
        unsafe {
            if port < EVTCHNS_PER_BUCKET {
                return NonNull::new_unchecked((*d).evtchn.add(nospec(port, EVTCHNS_PER_BUCKET)));
            }
            let grp = (*d).evtchn_group[nospec(port / EVTCHNS_PER_GROUP, NR_EVTCHN_GROUPS as u32)];
            let bucket = *grp.add(((port % EVTCHNS_PER_GROUP) / EVTCHNS_PER_BUCKET) as usize);
            NonNull::new_unchecked(bucket.add((port % EVTCHNS_PER_BUCKET) as usize))
        }
    }

    fn valid_ports(self) -> u32 {
        // SAFETY: invariant 1; a naturally aligned u32 read is single-copy atomic
        // (read_atomic), and the fence orders it before the bucket reads (smp_rmb, XSA-340).
        let n = unsafe { addr_of!((*self.ptr()).valid_evtchns).read_volatile() };
        fence(Ordering::Acquire);
        n
    }

    fn bits(self) -> Xen2L {
        Xen2L { d: self }
    }
}

impl XenChan {
    fn raw(self) -> *mut b::evtchn {
        self.c.as_ptr()
    }
    /// `chn->state` as one byte (evtchn_usable() reads it without a lock, as here).
    #[inline(always)]
    fn state_byte(self) -> u8 {
        // SAFETY: invariant 2; a byte read.
        unsafe { addr_of!((*self.raw()).state).read_volatile() }
    }
    fn lock_ptr(self) -> *mut b::rwlock_t {
        // SAFETY: invariant 2: a live channel; taking a field's address reads nothing.
        unsafe { addr_of_mut!((*self.raw()).lock) }
    }
}

/// `chn->notify_vcpu_id`. EVTCHNOP_bind_vcpu stores it under the event lock only (no channel
/// lock, as C), so senders may read it while it changes: every Rust access is atomic.
#[inline(always)]
fn notify_vcpu_of(c: *const b::evtchn) -> u32 {
    // SAFETY: a live channel (invariant 2); the field is an aligned u16 that Rust only
    // accesses through read_atomic_u16/write_atomic_u16.
    unsafe { cpu::read_atomic_u16(addr_of!((*c).notify_vcpu_id)) as u32 }
}

/// C's lock rule (the comment above `evtchn_write_lock` in common/event_channel.c): a
/// channel is write-locked only while it is FREE or UNBOUND when the lock is taken or when
/// it is released, because senders take its read lock with a trylock and drop the event
/// when that fails (VIRQs, Xen-attached channels).
#[inline(always)]
fn write_lock_allowed(old_state: u8, new_state: u8) -> bool {
    let free_or_unbound = |s: u8| s == b::ECS_FREE as u8 || s == b::ECS_UNBOUND as u8;
    free_or_unbound(old_state) || free_or_unbound(new_state)
}

/// A channel write-locked through [`Channel::write`].
pub struct XenChanWrite {
    c: XenChan,
    /// The state when the lock was taken (debug builds only: C's `chn->old_state`).
    old_state: u8,
    _g: raw::WriteGuard,
}

impl Drop for XenChanWrite {
    /// Runs before the guard field unlocks: checks C's lock rule with the lock still held,
    /// as C's `evtchn_write_unlock()` ASSERT does in debug builds.
    #[inline(always)]
    fn drop(&mut self) {
        if xen_rust_glue::XEN_DEBUG && !write_lock_allowed(self.old_state, self.c.state_byte()) {
            panic!(
                "channel {} write-locked in state {} -> {}: only a FREE or UNBOUND channel may be",
                self.c.port(),
                self.old_state,
                self.c.state_byte()
            );
        }
    }
}

impl ChannelWrite<XenDom> for XenChanWrite {
    #[inline(always)]
    fn set_state(&mut self, s: State<XenDom>) {
        let p = self.c.raw();
        // SAFETY: we hold the channel's write lock (self._g); invariant 2. Readers without the
        // lock (event.h's evtchn_usable) read `state` as one byte, as with C's plain store.
        unsafe {
            match s {
                State::Unbound { remote } => (*p).u.unbound.remote_domid = remote,
                State::Interdomain { remote, remote_port } => {
                    (*p).u.interdomain.remote_dom = remote.ptr();
                    (*p).u.interdomain.remote_port = remote_port;
                }
                State::Pirq { irq } => (*p).u.pirq.irq = irq,
                State::Virq { virq } => (*p).u.virq = virq,
                State::Free | State::Reserved | State::Ipi => {}
            }
            addr_of_mut!((*p).state).write_volatile(s.ecs());
        }
    }
    fn set_notify_vcpu(&mut self, v: u32) {
        // SAFETY: write lock held; invariant 2; an aligned u16 only accessed atomically (see
        // notify_vcpu_of). Callers pass a vCPU id that exists (< 2^16).
        unsafe { cpu::write_atomic_u16(addr_of_mut!((*self.c.raw()).notify_vcpu_id), v as u16) }
    }
    fn set_xen_consumer(&mut self, c: u8) {
        // SAFETY: write lock held; invariant 2; the bitfield is 3 bits and consumers are 1..=7.
        // bindgen's raw setter writes through the pointer: no `&mut evtchn` over a structure
        // whose lock word other pCPUs are changing.
        unsafe { b::evtchn::set_xen_consumer_raw(self.c.raw(), c) }
    }
}

impl Channel<XenDom> for XenChan {
    type Write = XenChanWrite;
    type Read = raw::ReadGuard;

    fn port(self) -> Port {
        // SAFETY: invariant 2; `port` is written once when the bucket is made.
        unsafe { (*self.raw()).port }
    }
    #[inline(always)]
    fn state(self) -> State<XenDom> {
        let p = self.raw();
        // SAFETY: invariant 2; callers hold the event lock or the channel lock, as C's
        // readers do; the union member read is the one `state` selects.
        unsafe {
            match addr_of!((*p).state).read_volatile() as u32 {
                b::ECS_FREE => State::Free,
                b::ECS_RESERVED => State::Reserved,
                b::ECS_UNBOUND => State::Unbound { remote: (*p).u.unbound.remote_domid },
                b::ECS_INTERDOMAIN => match XenDom::new((*p).u.interdomain.remote_dom) {
                    Some(remote) => {
                        State::Interdomain { remote, remote_port: (*p).u.interdomain.remote_port }
                    }
                    None => State::Reserved,
                },
                b::ECS_PIRQ => State::Pirq { irq: (*p).u.pirq.irq },
                b::ECS_VIRQ => State::Virq { virq: (*p).u.virq },
                b::ECS_IPI => State::Ipi,
                // Not a value we or C ever write.
                _ => State::Reserved,
            }
        }
    }
    fn notify_vcpu(self) -> u32 {
        notify_vcpu_of(self.raw())
    }
    fn set_notify_vcpu_unlocked(self, v: u32) {
        // SAFETY: invariant 2; an aligned u16 only accessed atomically (see notify_vcpu_of):
        // a sender reading it concurrently sees the old or the new vCPU. The caller holds the
        // event lock (core::bind_vcpu); v is a vCPU the domain has (< 2^16).
        unsafe { cpu::write_atomic_u16(addr_of_mut!((*self.raw()).notify_vcpu_id), v as u16) }
    }
    fn xen_consumer(self) -> u8 {
        // SAFETY: invariant 2; reading the bitfield byte through the pointer (bindgen's raw
        // getter: no `&evtchn` over the lock word other pCPUs change).
        unsafe { b::evtchn::xen_consumer_raw(self.raw()) }
    }
    fn order_key(self) -> usize {
        self.raw() as usize
    }
    #[inline(always)]
    fn write(self) -> XenChanWrite {
        // SAFETY: the lock is initialised when the bucket is made and lives with it (inv. 2/3).
        let g = unsafe { raw::WriteGuard::lock(self.lock_ptr()) };
        let old_state = if xen_rust_glue::XEN_DEBUG { self.state_byte() } else { 0 };
        XenChanWrite { c: self, old_state, _g: g }
    }
    #[inline(always)]
    fn read(self) -> raw::ReadGuard {
        // SAFETY: as in write().
        unsafe { raw::ReadGuard::lock(self.lock_ptr()) }
    }
    fn try_read(self) -> Option<raw::ReadGuard> {
        // SAFETY: as in write().
        unsafe { raw::ReadGuard::try_lock(self.lock_ptr()) }
    }
}

impl Domain for XenDom {
    type Chan = XenChan;
    type EventLock = raw::WriteGuard;
    type EventReadLock = raw::ReadGuard;

    fn id(self) -> DomId {
        // SAFETY: invariant 1.
        unsafe { (*self.ptr()).domain_id }
    }
    fn is_dying(self) -> bool {
        // SAFETY: invariant 1; an aligned enum (u32) read.
        unsafe { addr_of!((*self.ptr()).is_dying).read_volatile() != b::domain_DOMDYING_alive }
    }
    fn max_port(self) -> Port {
        // SAFETY: invariant 1; set by evtchn_init only.
        unsafe { (*self.ptr()).max_evtchn_port }
    }
    fn abi_max_ports(self) -> Port {
        // SAFETY: invariant 1; evtchn_fifo is written under the event lock (which callers hold).
        if unsafe { (*self.ptr()).evtchn_fifo.is_null() } {
            abi::EVTCHN_2L_NR_CHANNELS
        } else {
            abi::EVTCHN_FIFO_NR_CHANNELS
        }
    }
    #[inline(always)]
    fn chan(self, port: Port) -> Option<XenChan> {
        if port >= self.valid_ports() {
            return None;
        }
        // SAFETY: port < valid_evtchns, read with acquire ordering just above.
        Some(XenChan { d: self, c: unsafe { self.chan_unchecked(port) } })
    }
    fn grow_to(self, port: Port) -> Result<(), Errno> {
        let d = self.ptr();
        let mut alloc_port = self.valid_ports();
        while port >= alloc_port {
            let gi = (alloc_port / EVTCHNS_PER_GROUP) as usize;
            if gi >= NR_EVTCHN_GROUPS {
                return Err(Errno::ENOSPC);
            }
            // SAFETY: invariant 1; the event lock (held by our callers) serialises writers of
            // the group array and valid_evtchns; readers only look below valid_evtchns.
            unsafe {
                let mut grp = (*d).evtchn_group[gi];
                if grp.is_null() {
                    grp = b::oxx_xzalloc_bytes(PAGE_SIZE as _, 8).cast();
                    if grp.is_null() {
                        return Err(Errno::ENOMEM);
                    }
                    (*d).evtchn_group[gi] = grp;
                }
                let chn = alloc_bucket(alloc_port).ok_or(Errno::ENOMEM)?;
                *grp.add(((alloc_port % EVTCHNS_PER_GROUP) / EVTCHNS_PER_BUCKET) as usize) = chn;
                // The bucket before valid_evtchns (smp_wmb, XSA-340).
                fence(Ordering::Release);
                alloc_port += EVTCHNS_PER_BUCKET;
                addr_of_mut!((*d).valid_evtchns).write_volatile(alloc_port);
            }
        }
        Ok(())
    }
    fn active(self) -> u32 {
        // SAFETY: invariant 1; read_atomic.
        unsafe { addr_of!((*self.ptr()).active_evtchns).read_volatile() }
    }
    fn set_active(self, n: u32) {
        // SAFETY: invariant 1; write_atomic, writers serialised by the event lock.
        unsafe { addr_of_mut!((*self.ptr()).active_evtchns).write_volatile(n) }
    }
    fn xen_count(self) -> u32 {
        // SAFETY: as active().
        unsafe { addr_of!((*self.ptr()).xen_evtchns).read_volatile() }
    }
    fn set_xen_count(self, n: u32) {
        // SAFETY: as set_active().
        unsafe { addr_of_mut!((*self.ptr()).xen_evtchns).write_volatile(n) }
    }
    fn next_reset(self) -> u32 {
        // SAFETY: invariant 1; under the event lock.
        unsafe { (*self.ptr()).next_evtchn }
    }
    fn set_next_reset(self, p: u32) {
        // SAFETY: invariant 1; under the event lock.
        unsafe { (*self.ptr()).next_evtchn = p }
    }
    fn free_hint(self) -> Port {
        // SAFETY: invariant 1; under the event lock (patches/0004 adds the field).
        unsafe { (*self.ptr()).evtchn_port_hint }
    }
    fn set_free_hint(self, p: Port) {
        // SAFETY: invariant 1; under the event lock.
        unsafe { (*self.ptr()).evtchn_port_hint = p }
    }
    fn has_vcpu(self, id: u32) -> bool {
        !self.vcpu_ptr(id).is_null()
    }
    fn virq_port(self, vcpu: u32, virq: u32) -> Port {
        let v = self.vcpu_ptr(vcpu);
        if v.is_null() || virq >= abi::NR_VIRQS {
            return 0;
        }
        let i = nospec(virq, abi::NR_VIRQS);
        // SAFETY: v is a live vCPU of a live domain; i < NR_VIRQS; read_atomic.
        unsafe { addr_of!((*v).virq_to_evtchn[i]).read_volatile() }
    }
    fn set_virq_port(self, vcpu: u32, virq: u32, port: Port, locked: bool) {
        let v = self.vcpu_ptr(vcpu);
        if v.is_null() || virq >= abi::NR_VIRQS {
            return;
        }
        // SAFETY: v is a live vCPU; virq_lock is initialised with the vCPU.
        let _g =
            locked.then(|| unsafe { raw::WriteGuard::lock_irqsave(addr_of_mut!((*v).virq_lock)) });
        let i = nospec(virq, abi::NR_VIRQS);
        // SAFETY: as above; i < NR_VIRQS; write_atomic.
        unsafe { addr_of_mut!((*v).virq_to_evtchn[i]).write_volatile(port) }
    }
    #[inline(always)]
    fn event_lock(self) -> raw::WriteGuard {
        // SAFETY: invariant 1; d->event_lock is initialised by evtchn_init.
        unsafe { raw::WriteGuard::lock(addr_of_mut!((*self.ptr()).event_lock)) }
    }
    #[inline(always)]
    fn event_read_lock(self) -> raw::ReadGuard {
        // SAFETY: as event_lock().
        unsafe { raw::ReadGuard::lock(addr_of_mut!((*self.ptr()).event_lock)) }
    }
    fn port_init(self, c: XenChan) {
        // SAFETY: live domain and channel; the helper is event.h's evtchn_port_init().
        unsafe { b::oxx_evtchn_port_init(self.ptr(), c.raw()) }
    }
    // Inline into send: C's evtchn_port_set_pending() is a static inline.
    #[inline]
    fn set_pending(self, vcpu: u32, c: XenChan) {
        // notify_vcpu_id values were checked against domain_vcpu() when set; a vCPU that
        // does not exist (cannot happen) is skipped rather than dereferenced.
        if self.vcpu_ptr(vcpu).is_null() {
            return;
        }
        if !usable(c) {
            return;
        }
        if self.is_2l() {
            // SAFETY: live channel (invariant 2).
            let port = unsafe { (*c.raw()).port };
            return twol::set_pending(&self.bits(), vcpu, port);
        }
        if fifo::is_fifo(self) {
            return fifo::set_pending(self.vcpu_ptr(vcpu), c.raw());
        }
        // SAFETY: live domain, channel and vCPU; event.h's evtchn_port_set_pending().
        unsafe { b::oxx_evtchn_port_set_pending(self.ptr(), vcpu, c.raw()) }
    }
    fn clear_pending(self, c: XenChan) {
        if usable(c) && self.is_2l() {
            // SAFETY: live channel (invariant 2).
            return self.bits().clear_pending(unsafe { (*c.raw()).port });
        }
        // SAFETY: live domain and channel.
        unsafe { b::oxx_evtchn_port_clear_pending(self.ptr(), c.raw()) }
    }
    fn unmask(self, c: XenChan) {
        if usable(c) && self.is_2l() {
            // SAFETY: live channel (invariant 2); `port` is written once, before publication.
            let port = unsafe { (*c.raw()).port };
            return twol::unmask(&self.bits(), notify_vcpu_of(c.raw()), port);
        }
        if usable(c) && fifo::is_fifo(self) {
            // SAFETY: live domain and channel, under the channel's lock (as C's caller).
            return unsafe { fifo::fifo_unmask(self.ptr(), c.raw()) };
        }
        // SAFETY: live domain and channel.
        unsafe { b::oxx_evtchn_port_unmask(self.ptr(), c.raw()) }
    }
    fn is_busy(self, c: XenChan) -> bool {
        // SAFETY: live domain and channel.
        unsafe { b::oxx_evtchn_is_busy(self.ptr(), c.raw()) }
    }
    fn set_priority(self, c: XenChan, prio: u32) -> Result<(), Errno> {
        // SAFETY: live domain and channel.
        errno(unsafe { b::oxx_evtchn_port_set_priority(self.ptr(), c.raw(), prio) })
    }
    fn reset_abi(self) {
        fifo::back_to_2l(self);
    }
    fn xsm_unbound(self, c: XenChan, remote: DomId) -> Result<(), Errno> {
        // SAFETY: live domain and channel.
        errno(unsafe { xen_rust_glue::xsm::evtchn_unbound(self.ptr(), c.raw(), remote) })
    }
    fn xsm_interdomain(self, lc: XenChan, rd: XenDom, rc: XenChan) -> Result<(), Errno> {
        // SAFETY: live domains and channels.
        errno(unsafe {
            xen_rust_glue::xsm::evtchn_interdomain(self.ptr(), lc.raw(), rd.ptr(), rc.raw())
        })
    }
    fn xsm_send(self, c: XenChan) -> Result<(), Errno> {
        // SAFETY: live domain and channel.
        errno(unsafe { xen_rust_glue::xsm::evtchn_send(self.ptr(), c.raw()) })
    }
    fn xsm_status(self, c: XenChan) -> Result<(), Errno> {
        // SAFETY: live domain and channel.
        errno(unsafe { xen_rust_glue::xsm::evtchn_status(self.ptr(), c.raw()) })
    }
    fn xsm_close_post(self, c: XenChan) {
        // SAFETY: live channel.
        unsafe { xen_rust_glue::xsm::evtchn_close_post(c.raw()) }
    }
}

/// event.h's `evtchn_usable()` (arm has no `arch_evtchn_is_special`).
#[inline(always)]
fn usable(c: XenChan) -> bool {
    c.xen_consumer() == 0 && c.state_byte() > b::ECS_RESERVED as u8
}

/// C's `alloc_evtchn_bucket()`: a zeroed page of channels numbered from `port`.
fn alloc_bucket(port: Port) -> Option<*mut b::evtchn> {
    let n = EVTCHNS_PER_BUCKET;
    let size = core::mem::size_of::<b::evtchn>() * n as usize;
    let align = core::mem::align_of::<b::evtchn>();
    // SAFETY: plain allocation; NULL is handled.
    let chn: *mut b::evtchn = unsafe { b::oxx_xzalloc_bytes(size as _, align as _) }.cast();
    if chn.is_null() {
        return None;
    }
    // SAFETY: `chn` is a fresh zeroed array of n channels, ours alone until published.
    unsafe {
        if b::oxx_xsm_alloc_security_evtchns(chn, n) != 0 {
            free_bucket(chn);
            return None;
        }
        for i in 0..n {
            let c = chn.add(i as usize);
            (*c).port = port + i;
            b::oxx_rwlock_init(addr_of_mut!((*c).lock));
        }
    }
    Some(chn)
}

/// C's `free_evtchn_bucket()`.
///
/// # Safety
/// `bucket` is NULL or came from [`alloc_bucket`] and nothing can reach it any more.
unsafe fn free_bucket(bucket: *mut b::evtchn) {
    if bucket.is_null() {
        return;
    }
    // SAFETY: guaranteed by the caller.
    unsafe {
        b::oxx_xsm_free_security_evtchns(bucket, EVTCHNS_PER_BUCKET);
        b::oxx_xfree(bucket.cast());
    }
}

/// The 2-level ABI's bits of one domain, through the glue's bounded guest atomics.
struct Xen2L {
    d: XenDom,
}

impl Xen2L {
    /// `shared_info->evtchn_pending[]` as a raw pointer to its first word. The guest and other
    /// pCPUs write these words at any time, so no reference to them (or to the array: an
    /// `.as_ptr()` on the array place would make one) is ever created.
    #[inline(always)]
    fn pending_words(&self) -> *mut u64 {
        // SAFETY: live domain (invariant 1), whose shared_info page is allocated with it and
        // lives as long as it; addr_of_mut! computes the field's address without reading it.
        unsafe { addr_of_mut!((*(*self.d.ptr()).shared_info).evtchn_pending).cast() }
    }

    /// `shared_info->evtchn_mask[]`, as [`Xen2L::pending_words`].
    #[inline(always)]
    fn mask_words(&self) -> *mut u64 {
        // SAFETY: as pending_words().
        unsafe { addr_of_mut!((*(*self.d.ptr()).shared_info).evtchn_mask).cast() }
    }
}

impl TwoLevelBits for Xen2L {
    fn bits_per_word(&self) -> u32 {
        // BITS_PER_EVTCHN_WORD(d) on arm: sizeof(xen_ulong_t) * 8 (no compat guests).
        (core::mem::size_of::<b::xen_ulong_t>() * 8) as u32
    }
    fn test_and_set_pending(&self, port: Port) -> bool {
        // SAFETY: live domain; port < 4096 (the caller's channel is valid under 2L).
        unsafe { cpu::guest_test_and_set_bit(self.d.ptr(), port, self.pending_words().cast()) }
    }
    fn test_pending(&self, port: Port) -> bool {
        // SAFETY: live domain, whose shared_info page lives as long as it; port < 4096 bits
        // (64 words of 64); guest_test_bit() is a plain test_bit() on arm.
        unsafe { cpu::test_bit(port, self.pending_words()) }
    }
    fn clear_pending(&self, port: Port) {
        // SAFETY: as above.
        unsafe { b::oxx_evtchn_2l_clear_pending(self.d.ptr(), port) }
    }
    fn test_mask(&self, port: Port) -> bool {
        // SAFETY: as test_pending().
        unsafe { cpu::test_bit(port, self.mask_words()) }
    }
    fn test_and_clear_mask(&self, port: Port) -> bool {
        // SAFETY: as above.
        unsafe { b::oxx_evtchn_2l_test_and_clear_mask(self.d.ptr(), port) }
    }
    fn test_and_set_sel(&self, vcpu: u32, word: u32) -> bool {
        let v = self.d.vcpu_ptr(vcpu);
        if v.is_null() {
            return true; // no such vCPU: nothing to notify
        }
        // SAFETY: live vCPU; word < 64.
        unsafe {
            let sel = addr_of_mut!((*(*v).vcpu_info).evtchn_pending_sel);
            cpu::guest_test_and_set_bit((*v).domain, word, sel.cast())
        }
    }
    fn mark_events_pending(&self, vcpu: u32) {
        let v = self.d.vcpu_ptr(vcpu);
        if !v.is_null() {
            // SAFETY: live vCPU.
            unsafe { b::oxx_vcpu_mark_events_pending(v) }
        }
    }
    fn check_pollers(&self, port: Port) {
        check_pollers(self.d, port);
    }
}

/// C's `evtchn_check_pollers()`.
fn check_pollers(d: XenDom, port: Port) {
    let n = d.max_vcpus();
    // SAFETY: invariant 1; poll_mask has BITS_TO_LONGS(max_vcpus) words (evtchn_init).
    let mask = unsafe { (*d.ptr()).poll_mask };
    if mask.is_null() {
        return;
    }
    // SAFETY: `mask` covers n bits.
    if unsafe { cpu::bitmap_empty(mask.cast(), n) } {
        return;
    }
    // SAFETY: as above.
    let mut id = unsafe { b::oxx_find_next_bit(mask, n, 0) };
    while id < n {
        let v = d.vcpu_ptr(id);
        if !v.is_null() {
            // SAFETY: live vCPU; poll_evtchn is an int the scheduler writes.
            let pe = unsafe { addr_of!((*v).poll_evtchn).read_volatile() };
            // SAFETY: `mask` covers n bits and id < n.
            if (pe <= 0 || pe as u32 == port) && unsafe { b::oxx_test_and_clear_bit(id, mask) } {
                // SAFETY: live vCPU.
                unsafe {
                    addr_of_mut!((*v).poll_evtchn).write_volatile(0);
                    b::oxx_vcpu_unblock(v);
                }
            }
        }
        // SAFETY: as above.
        id = unsafe { b::oxx_find_next_bit(mask, n, id + 1) };
    }
}

/// The environment of a hypercall or a Xen-internal call.
pub struct XenEnv;

/// An RCU reference from `rcu_lock_domain_by_any_id()`; unlocked on drop.
pub struct DomainLock(XenDom);

impl core::ops::Deref for DomainLock {
    type Target = XenDom;
    fn deref(&self) -> &XenDom {
        &self.0
    }
}

impl Drop for DomainLock {
    fn drop(&mut self) {
        // SAFETY: locked in lookup()/hold(), unlocked once here.
        unsafe { b::oxx_rcu_unlock_domain(self.0.ptr()) }
    }
}

impl Env for XenEnv {
    type Dom = XenDom;
    type DomRef = DomainLock;
    type Hold = DomainLock;

    fn current(&self) -> XenDom {
        // SAFETY: `current->domain` is live while its vCPU runs this hypercall.
        XenDom(unsafe { NonNull::new_unchecked(cpu::current_domain()) })
    }
    fn lookup(&self, id: DomId) -> Option<DomainLock> {
        // SAFETY: any domid is accepted; NULL or an RCU-locked domain comes back.
        let d = unsafe { b::rcu_lock_domain_by_any_id(id) };
        NonNull::new(d).map(|d| DomainLock(XenDom(d)))
    }
    fn hold(&self, d: XenDom) -> DomainLock {
        // SAFETY: d is live (invariant 1); rcu_lock_domain pairs with the unlock on drop.
        unsafe { b::oxx_rcu_lock_domain(d.ptr()) };
        DomainLock(d)
    }
    fn notify_xen_consumer(&self, consumer: u8, d: XenDom, vcpu: u32, port: Port) {
        let v = d.vcpu_ptr(vcpu);
        if v.is_null() {
            return;
        }
        if let Some(f) = exports::xen_consumer_fn(consumer) {
            // SAFETY: `f` was registered by Xen C through alloc_unbound_xen_event_channel
            // with this signature; v is a live vCPU.
            unsafe { f(v, port) }
        }
    }
    fn preempt_check(&self) -> bool {
        // SAFETY: no arguments; reads per-CPU softirq state.
        unsafe { b::oxx_hypercall_preempt_check() }
    }
    fn xsm_reset(&self, d: XenDom) -> Result<(), Errno> {
        // SAFETY: both domains live.
        errno(unsafe { b::oxx_xsm_evtchn_reset(self.current().ptr(), d.ptr()) })
    }
    fn controller_paused(&self, d: XenDom) -> bool {
        // SAFETY: invariant 1; an int read.
        unsafe { addr_of!((*d.ptr()).controller_pause_count).read_volatile() != 0 }
    }
}

// ---- the 2-level port ops table (C: event_2l.c's evtchn_port_ops_2l) ----

/// # Safety (all below)
/// Called by C through `d->evtchn_port_ops` with live pointers and the locking documented in
/// include/xen/event.h.
unsafe extern "C" fn twol_set_pending(v: *mut b::vcpu, c: *mut b::evtchn) {
    // SAFETY: live vCPU and channel (caller); v->domain is its live domain.
    unsafe {
        let Some(d) = XenDom::new((*v).domain) else { return };
        twol::set_pending(&d.bits(), (*v).vcpu_id as u32, (*c).port);
    }
}
unsafe extern "C" fn twol_clear_pending(d: *mut b::domain, c: *mut b::evtchn) {
    // SAFETY: live domain and channel (caller).
    unsafe {
        let Some(d) = XenDom::new(d) else { return };
        d.bits().clear_pending((*c).port);
    }
}
unsafe extern "C" fn twol_unmask(d: *mut b::domain, c: *mut b::evtchn) {
    // SAFETY: live domain and channel (caller).
    unsafe {
        let Some(d) = XenDom::new(d) else { return };
        twol::unmask(&d.bits(), notify_vcpu_of(c), (*c).port);
    }
}
unsafe extern "C" fn twol_is_pending(d: *const b::domain, c: *const b::evtchn) -> bool {
    // SAFETY: live domain and channel (caller); the helpers only read.
    unsafe {
        let Some(d) = XenDom::new(d as *mut _) else { return false };
        twol::is_pending(&d.bits(), (*c).port)
    }
}
unsafe extern "C" fn twol_is_masked(d: *const b::domain, c: *const b::evtchn) -> bool {
    // SAFETY: as twol_is_pending.
    unsafe {
        let Some(d) = XenDom::new(d as *mut _) else { return true };
        twol::is_masked(&d.bits(), (*c).port)
    }
}
unsafe extern "C" fn twol_print_state(d: *mut b::domain, c: *const b::evtchn) {
    // SAFETY: live domain and channel (caller).
    unsafe {
        let Some(d) = XenDom::new(d) else { return };
        let v = d.vcpu_ptr(notify_vcpu_of(c));
        let bit =
            !v.is_null() && b::oxx_evtchn_2l_test_sel(v, (*c).port / d.bits().bits_per_word());
        xen_rust_glue::printk!("{}", bit as u8);
    }
}

static EVTCHN_PORT_OPS_2L: b::evtchn_port_ops = b::evtchn_port_ops {
    init: None,
    set_pending: Some(twol_set_pending),
    clear_pending: Some(twol_clear_pending),
    unmask: Some(twol_unmask),
    is_pending: Some(twol_is_pending),
    is_masked: Some(twol_is_masked),
    is_busy: None,
    set_priority: None,
    print_state: Some(twol_print_state),
};

/// C's `evtchn_2l_init()`.
fn twol_init(d: XenDom) {
    d.set_port_ops(&EVTCHN_PORT_OPS_2L);
}

pub(crate) use ops::Progress;
