//! Event channels' C structures, for `crates/evtchn`: safe handles over `struct domain`'s and
//! `struct vcpu`'s event fields and over `struct evtchn`, the bucket table, the 2-level bit
//! arrays in `shared_info`, poller wake-up, the port ops table C calls through, the Xen
//! consumer table, the global VIRQ handler slots, and the FIFO ABI's per-domain and per-vCPU
//! storage ([`fifo`]).
//!
//! Why these structures stay C's: C code we do not replace reads them (include/xen/event.h's
//! inlines, the scheduler's SCHEDOP_poll, vpl011, XSM), so the channel table keeps C's layout
//! and is reached through the raw pointers C hands over. Everything that dereferences one is
//! here, each with its `// SAFETY:` reason; `crates/evtchn` sees only the handles. The
//! invariants relied on throughout:
//!  1. A [`Dom`] is made from a `struct domain *` that C passes (the exports' contracts), that
//!     an RCU lookup returned ([`DomainRef`]), or that a channel's interdomain peer names; it
//!     is live while used (the caller's reference, the RCU lock, or the peer channel pointing
//!     back keeps it so, as in C). [`Dom::from_raw`] is the only unchecked constructor.
//!  2. A [`Chan`] is only made by [`Dom::chan`], i.e. for a port below `d->valid_evtchns`,
//!     whose bucket was published before `valid_evtchns` (release/acquire pairing, XSA-340),
//!     or by the port-ops trampolines from C's own `struct evtchn *`.
//!  3. Channel buckets are freed only by [`Dom::free_table`] (`evtchn_destroy_final`), when
//!     no one can reach the domain any more.

pub mod fifo;

use crate::bindings as b;
use crate::cpu;
use crate::domain::DomainRef;
use crate::errno::Errno;
use crate::sync::raw;
use core::ffi::{c_int, c_uint, c_void};
use core::ptr::{NonNull, addr_of, addr_of_mut, null_mut};
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering, fence};
use static_assertions::const_assert_eq;

/// C's `struct domain` and `struct vcpu`, for the prototypes of the exports (cbindgen maps
/// these names back to the C types).
pub use b::{domain, vcpu};

pub type Port = u32;
pub type DomId = u16;

const PAGE_SIZE: usize = 4096;
/// C: `EVTCHNS_PER_BUCKET` (PAGE_SIZE / next_power_of_2(sizeof(struct evtchn))).
pub const EVTCHNS_PER_BUCKET: u32 =
    (PAGE_SIZE / core::mem::size_of::<b::evtchn>().next_power_of_two()) as u32;
/// C: `BUCKETS_PER_GROUP`.
const BUCKETS_PER_GROUP: u32 = (PAGE_SIZE / core::mem::size_of::<*mut b::evtchn>()) as u32;
const EVTCHNS_PER_GROUP: u32 = BUCKETS_PER_GROUP * EVTCHNS_PER_BUCKET;
/// C: `EVTCHN_FIFO_NR_CHANNELS`, the largest port count of any ABI.
const MAX_NR_EVTCHNS: u32 = 1 << 17;
const NR_EVTCHN_GROUPS: usize = MAX_NR_EVTCHNS.div_ceil(EVTCHNS_PER_GROUP) as usize;
/// C: `NR_VIRQS`.
pub const NR_VIRQS: u32 = b::NR_VIRQS;
/// C: `VIRQ_XENOPROF`, `VIRQ_XENPMU` (for the ABI crate's own constants to be checked against).
pub const VIRQ_XENOPROF: u32 = b::VIRQ_XENOPROF;
pub const VIRQ_XENPMU: u32 = b::VIRQ_XENPMU;
/// Bits in one word of the 2-level ABI's arrays (`BITS_PER_EVTCHN_WORD(d)` on arm: no compat).
pub const BITS_PER_EVTCHN_WORD: u32 = (core::mem::size_of::<b::xen_ulong_t>() * 8) as u32;

// Our arithmetic must be C's: the group array bindgen saw has C's length, and struct evtchn
// is the 64-byte aligned object event.h indexes.
const_assert_eq!(NR_EVTCHN_GROUPS, 4);
const_assert_eq!(core::mem::size_of::<b::evtchn>(), 64);
const_assert_eq!(EVTCHNS_PER_BUCKET, 64);

/// C's `array_index_nospec(idx, size)`: `idx` (already checked `< size`) clamped so that a
/// mispredicted bounds check cannot index out of range under speculation.
#[inline(always)]
pub fn nospec(idx: u32, size: u32) -> usize {
    cpu::array_index_nospec(idx as usize, size as usize)
}

/// A C return value (0 or a negative errno) as a `Result`.
#[inline(always)]
fn errno(rc: c_int) -> Result<(), Errno> {
    if rc == 0 { Ok(()) } else { Err(Errno::from_ret(rc)) }
}

// ---- domains ----
/// A `const struct vcpu *` as C passes it to an export, as [`VcpuPtr`].
#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct ConstVcpuPtr(*const b::vcpu);

impl ConstVcpuPtr {
    #[inline(always)]
    pub fn get(self) -> Option<Vcpu> {
        // SAFETY: a pointer C passed under the export's contract: a live vCPU or NULL. The
        // handle's accessors used through it only read.
        unsafe { Vcpu::from_raw(self.0) }
    }
}

/// A `struct domain *` as C passes it to one of `crates/evtchn`'s exports (C: "a live domain
/// the caller holds a reference to", or NULL). Only C makes one (the field is private and it
/// has no constructor), so turning it into a [`Dom`] is safe on the Rust side: the export's
/// C prototype carries the contract.
#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct DomainPtr(*mut b::domain);

impl DomainPtr {
    #[inline(always)]
    pub fn get(self) -> Option<Dom> {
        // SAFETY: a pointer C passed under the export's contract (invariant 1).
        unsafe { Dom::from_raw(self.0) }
    }
}

/// A `struct vcpu *` (or `const struct vcpu *`) as C passes it to an export, as [`DomainPtr`].
#[repr(transparent)]
#[derive(Clone, Copy)]
pub struct VcpuPtr(*mut b::vcpu);

impl VcpuPtr {
    #[inline(always)]
    pub fn get(self) -> Option<Vcpu> {
        // SAFETY: a pointer C passed under the export's contract: a live vCPU or NULL.
        unsafe { Vcpu::from_raw(self.0) }
    }
}

/// A domain (C: `struct domain *`); see the module's invariant 1.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(transparent)]
pub struct Dom(NonNull<b::domain>);

// SAFETY: a handle to a Xen object that every pCPU may use (under Xen's own locking).
unsafe impl Send for Dom {}
// SAFETY: as Send.
unsafe impl Sync for Dom {}

impl Dom {
    /// # Safety
    /// `d` is NULL or a live domain for as long as the handle is used (module invariant 1).
    #[inline(always)]
    pub unsafe fn from_raw(d: *const b::domain) -> Option<Self> {
        NonNull::new(d.cast_mut()).map(Dom)
    }

    /// `current->domain`: live while its vCPU runs this hypercall.
    #[inline(always)]
    pub fn current() -> Self {
        // SAFETY: `current` always has a domain, never NULL.
        Dom(unsafe { NonNull::new_unchecked(cpu::current_domain()) })
    }

    /// Xen's `hardware_domain` (NULL in dom0less: no hardware domain).
    pub fn hardware() -> Option<Self> {
        // SAFETY: reads Xen's global pointer; the hardware domain lives for the host's life.
        NonNull::new(unsafe { b::oxx_hardware_domain() }).map(Dom)
    }

    #[inline(always)]
    fn ptr(self) -> *mut b::domain {
        self.0.as_ptr()
    }

    /// An opaque identity, e.g. to order two domains' locks (C compares the pointers).
    #[inline(always)]
    pub fn addr(self) -> usize {
        self.ptr() as usize
    }

    /// `d->vcpu[id]`, `None` above max_vcpus or for one not created yet.
    #[inline(always)]
    pub fn vcpu(self, id: u32) -> Option<Vcpu> {
        // SAFETY: domain_vcpu() bounds-checks id against d->max_vcpus (with
        // array_index_nospec) on a live domain (invariant 1); a non-NULL entry is a vCPU
        // that lives as long as its domain.
        NonNull::new(unsafe { cpu::domain_vcpu(self.ptr(), id) }).map(Vcpu)
    }

    /// `d->vcpu[0]`, `None` for a domain without vCPUs (C: `d->vcpu == NULL`).
    pub fn first_vcpu(self) -> Option<Vcpu> {
        // SAFETY: invariant 1; an aligned pointer read.
        if unsafe { (*self.ptr()).vcpu }.is_null() {
            return None;
        }
        self.vcpu(0)
    }

    pub fn max_vcpus(self) -> u32 {
        // SAFETY: invariant 1; max_vcpus is set before evtchn_init and never changes.
        unsafe { (*self.ptr()).max_vcpus }
    }

    pub fn id(self) -> DomId {
        // SAFETY: invariant 1.
        unsafe { (*self.ptr()).domain_id }
    }

    /// `d->is_dying != DOMDYING_alive`.
    pub fn is_dying(self) -> bool {
        // SAFETY: invariant 1; an aligned enum (u32) read.
        unsafe { addr_of!((*self.ptr()).is_dying).read_volatile() != b::domain_DOMDYING_alive }
    }

    /// `d->is_dying == DOMDYING_dead`.
    pub fn is_dead(self) -> bool {
        // SAFETY: invariant 1; an aligned enum (u32) read.
        unsafe { addr_of!((*self.ptr()).is_dying).read_volatile() == b::domain_DOMDYING_dead }
    }

    /// `d->controller_pause_count != 0`.
    pub fn controller_paused(self) -> bool {
        // SAFETY: invariant 1; an int read.
        unsafe { addr_of!((*self.ptr()).controller_pause_count).read_volatile() != 0 }
    }

    /// `d->nr_pirqs` (set at creation).
    pub fn nr_pirqs(self) -> u32 {
        // SAFETY: invariant 1; set at creation.
        unsafe { (*self.ptr()).nr_pirqs }
    }

    /// `pirq_get_info(d, pirq)` succeeds (never on arm: alloc_pirq_struct() is NULL).
    pub fn pirq_info_exists(self, pirq: u32) -> bool {
        // SAFETY: live domain (invariant 1); the callers check pirq < nr_pirqs.
        !unsafe { b::oxx_pirq_get_info(self.ptr(), pirq as c_int) }.is_null()
    }

    /// `d->max_evtchn_port` (set by evtchn_init only).
    pub fn max_port(self) -> Port {
        // SAFETY: invariant 1; set by evtchn_init only.
        unsafe { (*self.ptr()).max_evtchn_port }
    }

    /// `d->evtchn_fifo != NULL` (written under the event lock, which callers hold).
    pub fn has_fifo(self) -> bool {
        // SAFETY: invariant 1; an aligned pointer read.
        !unsafe { addr_of!((*self.ptr()).evtchn_fifo).read_volatile() }.is_null()
    }

    /// `read_atomic(&d->valid_evtchns)`, ordered before the bucket reads that follow
    /// (smp_rmb, XSA-340).
    #[inline(always)]
    pub fn valid_ports(self) -> u32 {
        // SAFETY: invariant 1; a naturally aligned u32 read is single-copy atomic.
        let n = unsafe { addr_of!((*self.ptr()).valid_evtchns).read_volatile() };
        fence(Ordering::Acquire);
        n
    }

    /// `write_atomic(&d->valid_evtchns, n)` for a shrinking count (evtchn_destroy: ports at
    /// and above `n` are closed and stay so).
    pub fn shrink_valid_ports(self, n: u32) {
        if n <= self.valid_ports() {
            // SAFETY: invariant 1; an aligned u32 write; lowering it only hides closed ports.
            unsafe { addr_of_mut!((*self.ptr()).valid_evtchns).write_volatile(n) }
        }
    }

    /// C's `evtchn_from_port()` for a port known valid.
    ///
    /// # Safety
    /// `port < read_atomic(&d->valid_evtchns)` was observed with acquire ordering.
    #[inline(always)]
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

    /// C's `evtchn_from_port()` after `port_is_valid()`: `None` at or above valid_evtchns.
    #[inline(always)]
    pub fn chan(self, port: Port) -> Option<Chan> {
        if port >= self.valid_ports() {
            return None;
        }
        // SAFETY: port < valid_evtchns, read with acquire ordering just above.
        Some(Chan { d: self, c: unsafe { self.chan_unchecked(port) } })
    }

    /// C's `evtchn_allocate_port()` table growth: buckets (and groups) up to `port`.
    /// `ENOSPC` beyond the largest table, `ENOMEM`. The caller holds the event lock.
    pub fn grow_to(self, port: Port) -> Result<(), Errno> {
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

    /// `evtchn_init()`'s table: the first bucket, the event lock, `max_evtchn_port` and the
    /// poller bitmap. `ENOMEM`; on failure nothing stays allocated.
    ///
    /// # Safety
    /// The domain is being created, not yet visible to other CPUs.
    pub unsafe fn init_table(self, max_port: u32) -> Result<(), Errno> {
        let d = self.ptr();
        let bucket = alloc_bucket(0).ok_or(Errno::ENOMEM)?;
        let words = (self.max_vcpus() as usize).div_ceil(64).max(1);
        // SAFETY: plain allocation; NULL handled.
        let m: *mut core::ffi::c_ulong = unsafe { b::oxx_xzalloc_bytes((words * 8) as _, 8) }.cast();
        if m.is_null() {
            // SAFETY: the bucket was never published.
            unsafe { free_bucket(bucket) };
            return Err(Errno::ENOMEM);
        }
        // SAFETY: `d` is ours alone during creation (caller).
        unsafe {
            (*d).max_evtchn_port = max_port.min(i32::MAX as u32);
            (*d).evtchn = bucket;
            (*d).valid_evtchns = EVTCHNS_PER_BUCKET;
            b::oxx_rwlock_init(addr_of_mut!((*d).event_lock));
            (*d).poll_mask = m;
        }
        Ok(())
    }

    /// `evtchn_destroy_final()`: free the port table and the poller bitmap.
    ///
    /// # Safety
    /// The domain is being freed: nothing else can reach it or its channels (invariant 3).
    pub unsafe fn free_table(self) {
        let d = self.ptr();
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
                (*d).evtchn_group[gi] = null_mut();
            }
            free_bucket((*d).evtchn);
            (*d).evtchn = null_mut();
            b::oxx_xfree((*d).poll_mask.cast());
            (*d).poll_mask = null_mut();
        }
    }

    pub fn active(self) -> u32 {
        // SAFETY: invariant 1; read_atomic.
        unsafe { addr_of!((*self.ptr()).active_evtchns).read_volatile() }
    }
    /// The caller holds the event lock (writers are serialised by it).
    pub fn set_active(self, n: u32) {
        // SAFETY: invariant 1; write_atomic.
        unsafe { addr_of_mut!((*self.ptr()).active_evtchns).write_volatile(n) }
    }
    pub fn xen_count(self) -> u32 {
        // SAFETY: as active().
        unsafe { addr_of!((*self.ptr()).xen_evtchns).read_volatile() }
    }
    /// As set_active().
    pub fn set_xen_count(self, n: u32) {
        // SAFETY: as set_active().
        unsafe { addr_of_mut!((*self.ptr()).xen_evtchns).write_volatile(n) }
    }
    /// `d->next_evtchn` (the reset loop's position; under the event lock).
    pub fn next_reset(self) -> u32 {
        // SAFETY: invariant 1; an aligned u32 read.
        unsafe { addr_of!((*self.ptr()).next_evtchn).read_volatile() }
    }
    pub fn set_next_reset(self, p: u32) {
        // SAFETY: invariant 1; an aligned u32 write, under the event lock.
        unsafe { addr_of_mut!((*self.ptr()).next_evtchn).write_volatile(p) }
    }
    /// `d->evtchn_port_hint` (patches/0004; under the event lock).
    pub fn free_hint(self) -> Port {
        // SAFETY: invariant 1; an aligned u32 read.
        unsafe { addr_of!((*self.ptr()).evtchn_port_hint).read_volatile() }
    }
    pub fn set_free_hint(self, p: Port) {
        // SAFETY: invariant 1; an aligned u32 write, under the event lock.
        unsafe { addr_of_mut!((*self.ptr()).evtchn_port_hint).write_volatile(p) }
    }

    /// `write_lock(&d->event_lock)`.
    #[inline(always)]
    pub fn event_lock(self) -> raw::WriteGuard {
        // SAFETY: invariant 1; d->event_lock is initialised by evtchn_init.
        unsafe { raw::WriteGuard::lock(addr_of_mut!((*self.ptr()).event_lock)) }
    }
    /// `read_lock(&d->event_lock)`.
    #[inline(always)]
    pub fn event_read_lock(self) -> raw::ReadGuard {
        // SAFETY: as event_lock().
        unsafe { raw::ReadGuard::lock(addr_of_mut!((*self.ptr()).event_lock)) }
    }

    /// `d->evtchn_port_ops` is `ops`. Written at init or under the event lock (init_control,
    /// reset), read by senders holding only a channel lock (as C's readers): a volatile read.
    #[inline(always)]
    pub fn port_ops_are(self, ops: &'static PortOpsTable) -> bool {
        // SAFETY: invariant 1; an aligned pointer read of a field C also reads this way.
        let p = unsafe { addr_of!((*self.ptr()).evtchn_port_ops).read_volatile() };
        core::ptr::eq(p, &ops.0)
    }

    /// Sets `d->evtchn_port_ops` (at init or under the event lock).
    pub fn set_port_ops(self, ops: &'static PortOpsTable) {
        // SAFETY: invariant 1; an aligned pointer write; see port_ops_are().
        unsafe { addr_of_mut!((*self.ptr()).evtchn_port_ops).write_volatile(&ops.0) }
    }

    // ---- through d->evtchn_port_ops, as event.h's inlines (for tables that are not ours) ----

    /// event.h's `evtchn_port_init()`.
    #[inline]
    pub fn c_port_init(self, c: Chan) {
        // SAFETY: live domain and channel (invariants 1, 2).
        unsafe { b::oxx_evtchn_port_init(self.ptr(), c.raw()) }
    }
    /// event.h's `evtchn_port_set_pending()`.
    #[inline]
    pub fn c_set_pending(self, vcpu: u32, c: Chan) {
        // SAFETY: live domain and channel; the helper checks nothing more than C's inline.
        unsafe { b::oxx_evtchn_port_set_pending(self.ptr(), vcpu, c.raw()) }
    }
    /// event.h's `evtchn_port_clear_pending()`.
    #[inline]
    pub fn c_clear_pending(self, c: Chan) {
        // SAFETY: live domain and channel.
        unsafe { b::oxx_evtchn_port_clear_pending(self.ptr(), c.raw()) }
    }
    /// event.h's `evtchn_port_unmask()`.
    #[inline]
    pub fn c_unmask(self, c: Chan) {
        // SAFETY: live domain and channel.
        unsafe { b::oxx_evtchn_port_unmask(self.ptr(), c.raw()) }
    }
    /// event.h's `evtchn_is_busy()`.
    #[inline]
    pub fn c_is_busy(self, c: Chan) -> bool {
        // SAFETY: live domain and channel.
        unsafe { b::oxx_evtchn_is_busy(self.ptr(), c.raw()) }
    }
    /// event.h's `evtchn_port_set_priority()`.
    #[inline]
    pub fn c_set_priority(self, c: Chan, prio: u32) -> Result<(), Errno> {
        // SAFETY: live domain and channel.
        errno(unsafe { b::oxx_evtchn_port_set_priority(self.ptr(), c.raw(), prio) })
    }
    /// event.h's `evtchn_is_pending()`.
    #[inline]
    pub fn c_is_pending(self, c: Chan) -> bool {
        // SAFETY: live domain and channel; read-only.
        unsafe { b::oxx_evtchn_is_pending(self.ptr(), c.raw()) }
    }
    /// event.h's `evtchn_is_masked()`.
    #[inline]
    pub fn c_is_masked(self, c: Chan) -> bool {
        // SAFETY: live domain and channel; read-only.
        unsafe { b::oxx_evtchn_is_masked(self.ptr(), c.raw()) }
    }
    /// event.h's `evtchn_port_print_state()` (the 'e' key).
    pub fn c_print_state(self, c: Chan) {
        // SAFETY: live domain and channel.
        unsafe { b::oxx_evtchn_port_print_state(self.ptr(), c.raw()) }
    }

    // ---- XSM hooks (xsm/xsm.h) ----

    pub fn xsm_unbound(self, c: Chan, remote: DomId) -> Result<(), Errno> {
        // SAFETY: live domain and channel.
        errno(unsafe { crate::xsm::evtchn_unbound(self.ptr(), c.raw(), remote) })
    }
    pub fn xsm_interdomain(self, lc: Chan, rd: Dom, rc: Chan) -> Result<(), Errno> {
        // SAFETY: live domains and channels.
        errno(unsafe { crate::xsm::evtchn_interdomain(self.ptr(), lc.raw(), rd.ptr(), rc.raw()) })
    }
    pub fn xsm_send(self, c: Chan) -> Result<(), Errno> {
        // SAFETY: live domain and channel.
        errno(unsafe { crate::xsm::evtchn_send(self.ptr(), c.raw()) })
    }
    pub fn xsm_status(self, c: Chan) -> Result<(), Errno> {
        // SAFETY: live domain and channel.
        errno(unsafe { crate::xsm::evtchn_status(self.ptr(), c.raw()) })
    }
    pub fn xsm_close_post(self, c: Chan) {
        // SAFETY: live channel.
        unsafe { crate::xsm::evtchn_close_post(c.raw()) }
    }
    /// `xsm_evtchn_reset(XSM_TARGET, current->domain, d)`.
    pub fn xsm_reset(self) -> Result<(), Errno> {
        // SAFETY: both domains live.
        errno(unsafe { b::oxx_xsm_evtchn_reset(Dom::current().ptr(), self.ptr()) })
    }
    /// `xsm_show_security_evtchn()` printed as ` Z=<label>` when XSM has one (the 'e' key).
    pub fn print_security_label(self, c: Chan) -> bool {
        // SAFETY: live domain and channel; the string is ours to free.
        let ssid = unsafe { b::oxx_xsm_show_security_evtchn(self.ptr(), c.raw()) };
        if ssid.is_null() {
            return false;
        }
        // SAFETY: XSM returns a NUL-terminated string.
        let s = unsafe { core::ffi::CStr::from_ptr(ssid) };
        crate::printk!(" Z={}", s.to_str().unwrap_or("?"));
        // SAFETY: allocated by XSM with xmalloc, freed once.
        unsafe { b::oxx_xfree(ssid.cast()) };
        true
    }
    /// The 'e' key's poller line (C: printk of d->poll_mask).
    pub fn print_poll_mask(self) {
        // SAFETY: live domain.
        unsafe { b::oxx_printk_poll_mask(self.ptr()) }
    }

    // ---- 2-level ABI: shared_info's bit arrays ----

    /// `shared_info->evtchn_pending[]` as a raw pointer to its first word. The guest and other
    /// pCPUs write these words at any time, so no reference to them (or to the array: an
    /// `.as_ptr()` on the array place would make one) is ever created.
    #[inline(always)]
    fn pending_words(self) -> *mut u64 {
        // SAFETY: live domain (invariant 1), whose shared_info page is allocated with it and
        // lives as long as it; addr_of_mut! computes the field's address without reading it.
        unsafe { addr_of_mut!((*(*self.ptr()).shared_info).evtchn_pending).cast() }
    }
    /// `shared_info->evtchn_mask[]`, as pending_words().
    #[inline(always)]
    fn mask_words(self) -> *mut u64 {
        // SAFETY: as pending_words().
        unsafe { addr_of_mut!((*(*self.ptr()).shared_info).evtchn_mask).cast() }
    }
    // The 2-level accessors take `port` modulo the array's size: a 2L domain has no port
    // beyond it (its table holds EVTCHN_2L_NR_CHANNELS ports at most), so for every caller
    // this is the port itself, and the bound costs no compare on the send path.

    /// `guest_test_and_set_bit(d, port, shared_info->evtchn_pending)`.
    #[inline(always)]
    pub fn test_and_set_pending_2l(self, port: Port) -> bool {
        let port = port % EVTCHN_2L_NR_CHANNELS;
        // SAFETY: live domain; port < 4096 bits, the array's size.
        unsafe { cpu::guest_test_and_set_bit(self.ptr(), port, self.pending_words().cast()) }
    }
    /// `guest_test_bit(d, port, shared_info->evtchn_pending)` (a plain test_bit() on arm).
    #[inline(always)]
    pub fn test_pending_2l(self, port: Port) -> bool {
        // SAFETY: live domain; the port is bounded by the array's size.
        unsafe { cpu::test_bit(port % EVTCHN_2L_NR_CHANNELS, self.pending_words()) }
    }
    /// `guest_clear_bit(d, port, shared_info->evtchn_pending)`.
    pub fn clear_pending_2l(self, port: Port) {
        // SAFETY: live domain; port bounded as above.
        unsafe { b::oxx_evtchn_2l_clear_pending(self.ptr(), port % EVTCHN_2L_NR_CHANNELS) }
    }
    /// `guest_test_bit(d, port, shared_info->evtchn_mask)`.
    #[inline(always)]
    pub fn test_mask_2l(self, port: Port) -> bool {
        // SAFETY: live domain; port bounded as above.
        unsafe { cpu::test_bit(port % EVTCHN_2L_NR_CHANNELS, self.mask_words()) }
    }
    /// `guest_test_and_clear_bit(d, port, shared_info->evtchn_mask)`.
    pub fn test_and_clear_mask_2l(self, port: Port) -> bool {
        // SAFETY: live domain; port bounded as above.
        unsafe { b::oxx_evtchn_2l_test_and_clear_mask(self.ptr(), port % EVTCHN_2L_NR_CHANNELS) }
    }

    /// C's `evtchn_check_pollers()`: wake the vCPUs polling on `port` (or on any port).
    pub fn check_pollers(self, port: Port) {
        let n = self.max_vcpus();
        // SAFETY: invariant 1; poll_mask has BITS_TO_LONGS(max_vcpus) words (evtchn_init).
        let mask = unsafe { (*self.ptr()).poll_mask };
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
            if let Some(v) = self.vcpu(id) {
                let v = v.ptr();
                // SAFETY: live vCPU; poll_evtchn is an int the scheduler writes.
                let pe = unsafe { addr_of!((*v).poll_evtchn).read_volatile() };
                // SAFETY: `mask` covers n bits and id < n.
                if (pe <= 0 || pe as u32 == port) && unsafe { b::oxx_test_and_clear_bit(id, mask) }
                {
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
}

/// The 2-level ABI's port count (C: `EVTCHN_2L_NR_CHANNELS`, 64 * 64 bits on arm64).
pub const EVTCHN_2L_NR_CHANNELS: u32 = BITS_PER_EVTCHN_WORD * BITS_PER_EVTCHN_WORD;

impl DomainRef {
    /// `rcu_lock_domain_by_any_id(id)` (DOMID_SELF is the caller's domain); `None` when no
    /// such domain exists.
    #[inline]
    pub fn lookup_any(id: DomId) -> Option<Self> {
        // SAFETY: any domid is accepted; NULL or an RCU-locked domain comes back.
        let d = unsafe { b::oxx_rcu_lock_domain_by_any_id(id) };
        // SAFETY: `d` is NULL or RCU-locked until the DomainRef drops.
        unsafe { Self::from_locked(d) }
    }

    /// `rcu_lock_domain(d)`: keep `d` as [`DomainRef::lookup`] does.
    #[inline]
    pub fn hold(d: Dom) -> Self {
        // SAFETY: d is live (invariant 1); rcu_lock_domain pairs with DomainRef's drop.
        unsafe { b::oxx_rcu_lock_domain(d.ptr()) };
        // SAFETY: locked just above; never NULL.
        unsafe { Self::from_locked(d.ptr()) }.unwrap_or_else(|| unreachable!())
    }

    /// The domain as an event channel handle, live while this reference is.
    #[inline(always)]
    pub fn dom(&self) -> Dom {
        Dom(self.non_null())
    }

    /// [`DomainRef::dom`] borrowed from the reference itself (no second copy of the pointer
    /// to keep alongside it).
    #[inline(always)]
    pub fn as_dom(&self) -> &Dom {
        // SAFETY: DomainRef and Dom are both #[repr(transparent)] over NonNull<b::domain>,
        // so the reference reads as a Dom; the domain is live while `self` is (invariant 1).
        unsafe { &*(self as *const DomainRef).cast::<Dom>() }
    }
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

// ---- vCPUs ----

/// A vCPU of a live domain (C: `struct vcpu *`); it lives as long as its domain.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Vcpu(NonNull<b::vcpu>);

impl Vcpu {
    /// # Safety
    /// `v` is NULL or a live vCPU for as long as the handle is used.
    #[inline(always)]
    pub unsafe fn from_raw(v: *const b::vcpu) -> Option<Self> {
        NonNull::new(v.cast_mut()).map(Vcpu)
    }

    #[inline(always)]
    fn ptr(self) -> *mut b::vcpu {
        self.0.as_ptr()
    }

    #[inline(always)]
    pub fn id(self) -> u32 {
        // SAFETY: live vCPU; vcpu_id is set at creation.
        unsafe { (*self.ptr()).vcpu_id as u32 }
    }

    #[inline(always)]
    pub fn domain(self) -> Dom {
        // SAFETY: live vCPU; `domain` is set at creation and never NULL; the domain outlives
        // its vCPUs.
        Dom(unsafe { NonNull::new_unchecked((*self.ptr()).domain) })
    }

    /// `v->virq_to_evtchn[virq]` (read_atomic); 0 for a virq out of range.
    #[inline(always)]
    pub fn virq_port(self, virq: u32) -> Port {
        if virq >= NR_VIRQS {
            return 0;
        }
        let i = nospec(virq, NR_VIRQS);
        // SAFETY: live vCPU; i < NR_VIRQS; an aligned u32 read.
        unsafe { addr_of!((*self.ptr()).virq_to_evtchn[i]).read_volatile() }
    }

    /// `v->virq_to_evtchn[virq] = port` (write_atomic), under `v->virq_lock` (irqsave) when
    /// `locked`.
    pub fn set_virq_port(self, virq: u32, port: Port, locked: bool) {
        if virq >= NR_VIRQS {
            return;
        }
        let _g = locked.then(|| self.virq_write_lock());
        let i = nospec(virq, NR_VIRQS);
        // SAFETY: live vCPU; i < NR_VIRQS; an aligned u32 write.
        unsafe { addr_of_mut!((*self.ptr()).virq_to_evtchn[i]).write_volatile(port) }
    }

    /// `write_lock_irqsave(&v->virq_lock)`.
    pub fn virq_write_lock(self) -> raw::WriteGuardIrq {
        // SAFETY: live vCPU; virq_lock is initialised with the vCPU.
        unsafe { raw::WriteGuard::lock_irqsave(addr_of_mut!((*self.ptr()).virq_lock)) }
    }

    /// `read_lock_irqsave(&v->virq_lock)`.
    #[inline(always)]
    pub fn virq_read_lock(self) -> raw::ReadGuardIrq {
        // SAFETY: live vCPU; virq_lock is initialised with the vCPU.
        unsafe { raw::ReadGuard::lock_irqsave(addr_of_mut!((*self.ptr()).virq_lock)) }
    }

    /// `v->pirq_evtchn_head` (arm binds no PIRQ: always 0).
    pub fn pirq_evtchn_head(self) -> u32 {
        // SAFETY: live vCPU.
        unsafe { (*self.ptr()).pirq_evtchn_head as u32 }
    }

    /// `guest_test_and_set_bit(d, word, &vcpu_info->evtchn_pending_sel)`; `word` is taken
    /// modulo [`BITS_PER_EVTCHN_WORD`] (callers pass port / 64 of a 2L port: always below).
    #[inline(always)]
    pub fn test_and_set_pending_sel(self, word: u32) -> bool {
        let word = word % BITS_PER_EVTCHN_WORD;
        // SAFETY: live vCPU, whose vcpu_info lives as long as it; word < 64 bits.
        unsafe {
            let sel = addr_of_mut!((*(*self.ptr()).vcpu_info).evtchn_pending_sel);
            cpu::guest_test_and_set_bit((*self.ptr()).domain, word, sel.cast())
        }
    }

    /// `test_bit(word, &vcpu_info->evtchn_pending_sel)` (the 'e' key).
    pub fn test_pending_sel(self, word: u32) -> bool {
        // SAFETY: live vCPU; the helper bounds nothing more than C's inline.
        word < BITS_PER_EVTCHN_WORD && unsafe { b::oxx_evtchn_2l_test_sel(self.ptr(), word) }
    }

    /// `vcpu_mark_events_pending(v)`.
    #[inline(always)]
    pub fn mark_events_pending(self) {
        // SAFETY: live vCPU.
        unsafe { b::oxx_vcpu_mark_events_pending(self.ptr()) }
    }
}

// ---- channels ----

/// C's `ECS_*` values.
pub mod ecs {
    pub const FREE: u8 = super::b::ECS_FREE as u8;
    pub const RESERVED: u8 = super::b::ECS_RESERVED as u8;
    pub const UNBOUND: u8 = super::b::ECS_UNBOUND as u8;
    pub const INTERDOMAIN: u8 = super::b::ECS_INTERDOMAIN as u8;
    pub const PIRQ: u8 = super::b::ECS_PIRQ as u8;
    pub const VIRQ: u8 = super::b::ECS_VIRQ as u8;
    pub const IPI: u8 = super::b::ECS_IPI as u8;
}

/// A channel's state as C stores it: `chn->state` and the union member it selects.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ChanState {
    Free,
    Reserved,
    Unbound { remote: DomId },
    Interdomain { remote: Dom, remote_port: Port },
    Pirq { irq: u32 },
    Virq { virq: u32 },
    Ipi,
}

/// A channel (C: `struct evtchn *`); see the module's invariant 2.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Chan {
    d: Dom,
    c: NonNull<b::evtchn>,
}

impl Chan {
    #[inline(always)]
    fn raw(self) -> *mut b::evtchn {
        self.c.as_ptr()
    }

    /// An opaque identity, to order two channels' locks (C compares the pointers).
    #[inline(always)]
    pub fn addr(self) -> usize {
        self.raw() as usize
    }

    /// The domain whose table holds this channel.
    #[inline(always)]
    pub fn domain(self) -> Dom {
        self.d
    }

    /// `chn->port` (written once, before the bucket is published).
    #[inline(always)]
    pub fn port(self) -> Port {
        // SAFETY: invariant 2.
        unsafe { (*self.raw()).port }
    }

    /// `chn->state` as one byte (evtchn_usable() reads it without a lock, as here).
    #[inline(always)]
    pub fn state_byte(self) -> u8 {
        // SAFETY: invariant 2; a byte read.
        unsafe { addr_of!((*self.raw()).state).read_volatile() }
    }

    /// event.h's `evtchn_usable()` (arm has no `arch_evtchn_is_special`).
    #[inline(always)]
    pub fn usable(self) -> bool {
        self.xen_consumer() == 0 && self.state_byte() > ecs::RESERVED
    }

    /// The state and its union member. Callers hold the event lock or the channel lock, as
    /// C's readers do.
    #[inline(always)]
    pub fn state(self) -> ChanState {
        let p = self.raw();
        // SAFETY: invariant 2; the union member read is the one `state` selects; an
        // interdomain peer is live while the channel points at it (invariant 1).
        unsafe {
            match addr_of!((*p).state).read_volatile() {
                ecs::FREE => ChanState::Free,
                ecs::RESERVED => ChanState::Reserved,
                ecs::UNBOUND => ChanState::Unbound { remote: (*p).u.unbound.remote_domid },
                ecs::INTERDOMAIN => match Dom::from_raw((*p).u.interdomain.remote_dom) {
                    Some(remote) => ChanState::Interdomain {
                        remote,
                        remote_port: (*p).u.interdomain.remote_port,
                    },
                    None => ChanState::Reserved,
                },
                ecs::PIRQ => ChanState::Pirq { irq: (*p).u.pirq.irq as u32 },
                ecs::VIRQ => ChanState::Virq { virq: (*p).u.virq },
                ecs::IPI => ChanState::Ipi,
                // Not a value we or C ever write.
                _ => ChanState::Reserved,
            }
        }
    }

    /// `chn->notify_vcpu_id`. EVTCHNOP_bind_vcpu stores it under the event lock only (no
    /// channel lock, as C), so senders may read it while it changes: every access is atomic.
    #[inline(always)]
    pub fn notify_vcpu(self) -> u32 {
        // SAFETY: invariant 2; an aligned u16 only accessed through read/write_atomic_u16.
        unsafe { cpu::read_atomic_u16(addr_of!((*self.raw()).notify_vcpu_id)) as u32 }
    }

    /// Moves `notify_vcpu_id` without the channel lock (the caller holds the event lock: C's
    /// bind_vcpu); a sender reading it concurrently sees the old or the new vCPU. `v` is a
    /// vCPU the domain has (< 2^16).
    pub fn set_notify_vcpu_unlocked(self, v: u32) {
        // SAFETY: invariant 2; an aligned u16 only accessed atomically (see notify_vcpu()).
        unsafe { cpu::write_atomic_u16(addr_of_mut!((*self.raw()).notify_vcpu_id), v as u16) }
    }

    /// `chn->xen_consumer` (3 bits).
    #[inline(always)]
    pub fn xen_consumer(self) -> u8 {
        // SAFETY: invariant 2; reading the bitfield byte through the pointer (bindgen's raw
        // getter: no `&evtchn` over the lock word other pCPUs change).
        unsafe { b::evtchn::xen_consumer_raw(self.raw()) }
    }

    /// `chn->priority` (FIFO).
    #[inline(always)]
    pub fn priority(self) -> u8 {
        // SAFETY: invariant 2; a byte read.
        unsafe { addr_of!((*self.raw()).priority).read_volatile() }
    }
    /// Sets `chn->priority` (under the channel's lock or the event lock, as C).
    pub fn set_priority(self, prio: u8) {
        // SAFETY: invariant 2; a byte write.
        unsafe { addr_of_mut!((*self.raw()).priority).write_volatile(prio) }
    }

    /// `chn->pending` (FIFO: an event raised before its event array page existed).
    pub fn pending(self) -> bool {
        // SAFETY: invariant 2; a bool read.
        unsafe { addr_of!((*self.raw()).pending).read_volatile() }
    }
    /// Sets `chn->pending` (under the channel's lock or the event lock, as C).
    pub fn set_pending_flag(self, p: bool) {
        // SAFETY: invariant 2; a bool write.
        unsafe { addr_of_mut!((*self.raw()).pending).write_volatile(p) }
    }

    /// `read_atomic(&chn->fifo_lastq)` as (last_priority, last_vcpu_id).
    #[inline(always)]
    pub fn fifo_lastq(self) -> (u8, u32) {
        // SAFETY: invariant 2; read_atomic of the u32 union (last_priority at byte 0,
        // last_vcpu_id at bytes 2..4).
        let raw = unsafe { addr_of!((*self.raw()).fifo_lastq).read_volatile() };
        ((raw & 0xff) as u8, raw >> 16)
    }
    /// `write_atomic(&chn->fifo_lastq, {priority, vcpu})`.
    #[inline(always)]
    pub fn set_fifo_lastq(self, priority: u8, vcpu: u32) {
        // SAFETY: invariant 2; write_atomic of the u32 union.
        unsafe { addr_of_mut!((*self.raw()).fifo_lastq).write_volatile((vcpu << 16) | priority as u32) }
    }

    #[inline(always)]
    fn lock_ptr(self) -> *mut b::rwlock_t {
        // SAFETY: invariant 2: a live channel; taking a field's address reads nothing.
        unsafe { addr_of_mut!((*self.raw()).lock) }
    }

    /// `evtchn_write_lock(chn)`.
    #[inline(always)]
    pub fn write(self) -> ChanWrite {
        // SAFETY: the lock is initialised when the bucket is made and lives with it (inv. 2/3).
        let g = unsafe { raw::WriteGuard::lock(self.lock_ptr()) };
        let old_state = if crate::XEN_DEBUG { self.state_byte() } else { 0 };
        ChanWrite { c: self, old_state, _g: g }
    }
    /// `evtchn_read_lock(chn)`.
    #[inline(always)]
    pub fn read(self) -> raw::ReadGuard {
        // SAFETY: as in write().
        unsafe { raw::ReadGuard::lock(self.lock_ptr()) }
    }
    /// `evtchn_read_trylock(chn)`.
    #[inline(always)]
    pub fn try_read(self) -> Option<raw::ReadGuard> {
        // SAFETY: as in write().
        unsafe { raw::ReadGuard::try_lock(self.lock_ptr()) }
    }
}

/// C's lock rule (the comment above `evtchn_write_lock` in common/event_channel.c): a
/// channel is write-locked only while it is FREE or UNBOUND when the lock is taken or when
/// it is released, because senders take its read lock with a trylock and drop the event
/// when that fails (VIRQs, Xen-attached channels).
#[inline(always)]
fn write_lock_allowed(old_state: u8, new_state: u8) -> bool {
    let free_or_unbound = |s: u8| s == ecs::FREE || s == ecs::UNBOUND;
    free_or_unbound(old_state) || free_or_unbound(new_state)
}

/// A channel write-locked through [`Chan::write`].
pub struct ChanWrite {
    c: Chan,
    /// The state when the lock was taken (debug builds only: C's `chn->old_state`).
    old_state: u8,
    _g: raw::WriteGuard,
}

impl Drop for ChanWrite {
    /// Runs before the guard field unlocks: checks C's lock rule with the lock still held,
    /// as C's `evtchn_write_unlock()` ASSERT does in debug builds.
    #[inline(always)]
    fn drop(&mut self) {
        if crate::XEN_DEBUG && !write_lock_allowed(self.old_state, self.c.state_byte()) {
            panic!(
                "channel {} write-locked in state {} -> {}: only a FREE or UNBOUND channel may be",
                self.c.port(),
                self.old_state,
                self.c.state_byte()
            );
        }
    }
}

impl ChanWrite {
    #[inline(always)]
    pub fn chan(&self) -> Chan {
        self.c
    }

    /// Sets the state and its union member.
    #[inline(always)]
    pub fn set_state(&mut self, s: ChanState) {
        let p = self.c.raw();
        let ecs = match s {
            ChanState::Free => ecs::FREE,
            ChanState::Reserved => ecs::RESERVED,
            ChanState::Unbound { .. } => ecs::UNBOUND,
            ChanState::Interdomain { .. } => ecs::INTERDOMAIN,
            ChanState::Pirq { .. } => ecs::PIRQ,
            ChanState::Virq { .. } => ecs::VIRQ,
            ChanState::Ipi => ecs::IPI,
        };
        // SAFETY: we hold the channel's write lock (self._g); invariant 2. Readers without the
        // lock (event.h's evtchn_usable) read `state` as one byte, as with C's plain store.
        unsafe {
            match s {
                ChanState::Unbound { remote } => (*p).u.unbound.remote_domid = remote,
                ChanState::Interdomain { remote, remote_port } => {
                    (*p).u.interdomain.remote_dom = remote.ptr();
                    (*p).u.interdomain.remote_port = remote_port;
                }
                ChanState::Pirq { irq } => (*p).u.pirq.irq = irq as _,
                ChanState::Virq { virq } => (*p).u.virq = virq,
                ChanState::Free | ChanState::Reserved | ChanState::Ipi => {}
            }
            addr_of_mut!((*p).state).write_volatile(ecs);
        }
    }

    /// Sets `notify_vcpu_id` (a vCPU id that exists, < 2^16).
    pub fn set_notify_vcpu(&mut self, v: u32) {
        self.c.set_notify_vcpu_unlocked(v)
    }

    /// Sets the 3-bit `xen_consumer` (consumers are 0..=7).
    pub fn set_xen_consumer(&mut self, c: u8) {
        // SAFETY: write lock held; invariant 2; bindgen's raw setter writes through the
        // pointer: no `&mut evtchn` over a structure whose lock word other pCPUs change.
        unsafe { b::evtchn::set_xen_consumer_raw(self.c.raw(), c & 7) }
    }
}

// ---- the port ops table C calls through (d->evtchn_port_ops) ----

/// One ABI's port operations, called by C through `d->evtchn_port_ops` (include/xen/event.h)
/// with live pointers and event.h's locking, and by Rust directly. `HAS_*` leave the
/// optional entries NULL, as C's tables do.
pub trait PortOps {
    const HAS_INIT: bool = false;
    const HAS_IS_BUSY: bool = false;
    const HAS_SET_PRIORITY: bool = false;
    fn init(_d: Dom, _c: Chan) {}
    fn set_pending(v: Vcpu, c: Chan);
    fn clear_pending(d: Dom, c: Chan);
    fn unmask(d: Dom, c: Chan);
    fn is_pending(d: Dom, c: Chan) -> bool;
    fn is_masked(d: Dom, c: Chan) -> bool;
    fn is_busy(_d: Dom, _c: Chan) -> bool {
        false
    }
    fn set_priority(_d: Dom, _c: Chan, _prio: u32) -> Result<(), Errno> {
        Err(Errno::ENOSYS)
    }
    fn print_state(d: Dom, c: Chan);
}

/// C's `struct evtchn_port_ops`, filled from a [`PortOps`] implementation.
#[repr(transparent)]
pub struct PortOpsTable(b::evtchn_port_ops);

// SAFETY: a table of function pointers, never written after construction.
unsafe impl Sync for PortOpsTable {}

/// The trampolines C calls: each sheds the raw pointers into handles.
///
/// # Safety (all)
/// Called by C through `d->evtchn_port_ops` with a live domain or vCPU and a live channel of
/// that domain (event.h's contract).
mod tramp {
    use super::*;

    #[inline(always)]
    unsafe fn chan(d: Dom, c: *const b::evtchn) -> Chan {
        // SAFETY: the caller's live channel (see the module doc).
        Chan { d, c: unsafe { NonNull::new_unchecked(c.cast_mut()) } }
    }
    pub(super) unsafe extern "C" fn init<T: PortOps>(d: *mut b::domain, c: *mut b::evtchn) {
        // SAFETY: live domain and channel (C's caller).
        if let Some(d) = unsafe { Dom::from_raw(d) } {
            T::init(d, unsafe { chan(d, c) })
        }
    }
    pub(super) unsafe extern "C" fn set_pending<T: PortOps>(v: *mut b::vcpu, c: *mut b::evtchn) {
        // SAFETY: live vCPU and channel (C's caller).
        if let Some(v) = unsafe { Vcpu::from_raw(v) } {
            T::set_pending(v, unsafe { chan(v.domain(), c) })
        }
    }
    pub(super) unsafe extern "C" fn clear_pending<T: PortOps>(d: *mut b::domain, c: *mut b::evtchn) {
        // SAFETY: live domain and channel (C's caller).
        if let Some(d) = unsafe { Dom::from_raw(d) } {
            T::clear_pending(d, unsafe { chan(d, c) })
        }
    }
    pub(super) unsafe extern "C" fn unmask<T: PortOps>(d: *mut b::domain, c: *mut b::evtchn) {
        // SAFETY: live domain and channel (C's caller).
        if let Some(d) = unsafe { Dom::from_raw(d) } {
            T::unmask(d, unsafe { chan(d, c) })
        }
    }
    pub(super) unsafe extern "C" fn is_pending<T: PortOps>(
        d: *const b::domain,
        c: *const b::evtchn,
    ) -> bool {
        // SAFETY: live domain and channel (C's caller); the ops only read.
        match unsafe { Dom::from_raw(d) } {
            Some(d) => T::is_pending(d, unsafe { chan(d, c) }),
            None => false,
        }
    }
    pub(super) unsafe extern "C" fn is_masked<T: PortOps>(
        d: *const b::domain,
        c: *const b::evtchn,
    ) -> bool {
        // SAFETY: as is_pending.
        match unsafe { Dom::from_raw(d) } {
            Some(d) => T::is_masked(d, unsafe { chan(d, c) }),
            None => true,
        }
    }
    pub(super) unsafe extern "C" fn is_busy<T: PortOps>(
        d: *const b::domain,
        c: *const b::evtchn,
    ) -> bool {
        // SAFETY: as is_pending.
        match unsafe { Dom::from_raw(d) } {
            Some(d) => T::is_busy(d, unsafe { chan(d, c) }),
            None => false,
        }
    }
    pub(super) unsafe extern "C" fn set_priority<T: PortOps>(
        d: *mut b::domain,
        c: *mut b::evtchn,
        prio: c_uint,
    ) -> c_int {
        // SAFETY: live domain and channel under its lock (C's caller).
        match unsafe { Dom::from_raw(d) } {
            Some(d) => crate::errno::to_int(T::set_priority(d, unsafe { chan(d, c) }, prio).map(|()| 0)),
            None => -Errno::EINVAL.get(),
        }
    }
    pub(super) unsafe extern "C" fn print_state<T: PortOps>(d: *mut b::domain, c: *const b::evtchn) {
        // SAFETY: live domain and channel (C's caller).
        if let Some(d) = unsafe { Dom::from_raw(d) } {
            T::print_state(d, unsafe { chan(d, c) })
        }
    }
}

impl PortOpsTable {
    pub const fn new<T: PortOps>() -> Self {
        PortOpsTable(b::evtchn_port_ops {
            init: if T::HAS_INIT { Some(tramp::init::<T>) } else { None },
            set_pending: Some(tramp::set_pending::<T>),
            clear_pending: Some(tramp::clear_pending::<T>),
            unmask: Some(tramp::unmask::<T>),
            is_pending: Some(tramp::is_pending::<T>),
            is_masked: Some(tramp::is_masked::<T>),
            is_busy: if T::HAS_IS_BUSY { Some(tramp::is_busy::<T>) } else { None },
            set_priority: if T::HAS_SET_PRIORITY { Some(tramp::set_priority::<T>) } else { None },
            print_state: Some(tramp::print_state::<T>),
        })
    }
}

// ---- Xen-attached channels' notification functions ----

/// C: `xen_event_channel_notification_t`.
pub type XenEventChannelNotification = Option<unsafe extern "C" fn(v: *mut vcpu, port: c_uint)>;

const NR_XEN_CONSUMERS: usize = (1 << b::XEN_CONSUMER_BITS) - 1;

/// C's `xen_consumers[]`: notification functions of Xen-attached channels, registered
/// without a lock by compare-and-swap (C: cmpxchgptr).
static XEN_CONSUMERS: [AtomicUsize; NR_XEN_CONSUMERS] =
    [const { AtomicUsize::new(0) }; NR_XEN_CONSUMERS];

unsafe extern "C" fn default_xen_notification(v: *mut b::vcpu, port: c_uint) {
    // SAFETY: called with a live vCPU (send / notify paths).
    unsafe { b::oxx_default_xen_notification(v, port) }
}

/// C's `get_xen_consumer()`: the consumer number (1..=7) of `f` (NULL: C's default, which
/// kicks the vCPU); `None` when all 7 slots hold other functions (C: BUG_ON; not reachable
/// from a guest: only Xen's own callers register consumers).
///
/// # Safety
/// `f` is NULL or a function valid for Xen's life that accepts any live vCPU and port.
pub unsafe fn register_xen_consumer(f: XenEventChannelNotification) -> Option<u8> {
    let f = f.unwrap_or(default_xen_notification) as usize;
    for (i, slot) in XEN_CONSUMERS.iter().enumerate() {
        let _ = slot.compare_exchange(0, f, Ordering::AcqRel, Ordering::Acquire);
        if slot.load(Ordering::Acquire) == f {
            return Some(i as u8 + 1);
        }
    }
    None
}

/// Calls consumer `consumer`'s notification function for `port` on `v` (C: the
/// `xen_notification_fn(chn)(v, port)` of evtchn_send); nothing for an unknown consumer.
pub fn notify_xen_consumer(consumer: u8, v: Vcpu, port: Port) {
    let Some(slot) = (consumer as usize).checked_sub(1).and_then(|i| XEN_CONSUMERS.get(i)) else {
        return;
    };
    let f = slot.load(Ordering::Acquire);
    if f == 0 {
        return;
    }
    // SAFETY: only register_xen_consumer() stores into the slots, and only such function
    // pointers, whose contract is to accept any live vCPU and port.
    unsafe {
        let f = core::mem::transmute::<usize, unsafe extern "C" fn(*mut b::vcpu, c_uint)>(f);
        f(v.ptr(), port)
    }
}

// ---- global VIRQ handlers ----

/// A domain handling one global VIRQ (C: `global_virq_handlers[virq]`), holding a counted
/// reference (`get_domain`) while it is set.
pub struct VirqHandlerSlot(AtomicPtr<b::domain>);

impl VirqHandlerSlot {
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        VirqHandlerSlot(AtomicPtr::new(null_mut()))
    }

    /// The handler, if one is set. It lives while it is set (the slot's reference).
    pub fn get(&self) -> Option<Dom> {
        // SAFETY: a set slot holds a reference to its domain (set()).
        unsafe { Dom::from_raw(self.0.load(Ordering::Acquire)) }
    }

    /// `set_global_virq_handler()`'s slot update: `EINVAL` if `d` is dying.
    pub fn set(&self, d: Dom) -> Result<(), Errno> {
        if self.0.load(Ordering::Acquire) == d.ptr() {
            return Ok(());
        }
        // SAFETY: live domain (invariant 1).
        if !unsafe { b::oxx_get_domain(d.ptr()) } {
            return Err(Errno::EINVAL);
        }
        let old = self.0.swap(d.ptr(), Ordering::AcqRel);
        if !old.is_null() {
            // SAFETY: the reference taken when `old` was installed, dropped once.
            unsafe { b::oxx_put_domain(old) };
        }
        Ok(())
    }

    /// Empties the slot if `d` holds it, dropping its reference (C: clear_global_virq_handlers).
    pub fn clear_if(&self, d: Dom) {
        if self.0.compare_exchange(d.ptr(), null_mut(), Ordering::AcqRel, Ordering::Acquire).is_ok()
        {
            // SAFETY: the reference taken by set(), dropped once.
            unsafe { b::oxx_put_domain(d.ptr()) };
        }
    }
}

// ---- hypercall context ----

/// `hypercall_preempt_check()`.
pub fn hypercall_preempt_check() -> bool {
    // SAFETY: no arguments; reads per-CPU softirq state.
    unsafe { b::oxx_hypercall_preempt_check() }
}

/// Creates the `EVTCHNOP_reset_cont` continuation with the guest's own argument handle; the
/// value to return from the hypercall.
pub fn reset_continuation(arg: u64) -> i64 {
    // SAFETY: called from hypercall context (do_event_channel_op); the helper only records
    // the continuation.
    unsafe { b::oxx_evtchn_reset_continuation(arg) as i64 }
}

/// The `void *` context C's callbacks take, unused by ours.
pub type Ctx = *mut c_void;
