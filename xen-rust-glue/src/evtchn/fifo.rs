//! The FIFO ABI's storage (C: common/event_fifo.c's `struct evtchn_fifo_domain` and
//! `struct evtchn_fifo_vcpu`, which sched.h only declares, so their layout is ours): per-vCPU
//! control blocks with 16 priority queues, and the domain's event array of guest pages.
//! Reached through `d->evtchn_fifo` / `v->evtchn_fifo`. The queue protocol itself (which queue
//! to lock, linking, requeueing) is `crates/evtchn`'s; this module only keeps the memory.
//!
//! Invariant of this module: event array pages and control blocks are guest pages mapped
//! globally by `oxx_map_guest_page` (which holds a page and type reference) and unmapped,
//! with the structures that point at them freed, only by [`destroy`], under the event lock,
//! after the ops table has been switched back to 2L or the domain is dying, i.e. when no
//! sender can reach them any more (as C). So the `&'static` references handed out below are
//! valid for as long as any caller that could obtain one runs.

use super::{Dom, Port, Vcpu, nospec};
use crate::bindings as b;
use crate::errno::Errno;
use crate::sync::SpinLock;
use core::ptr::{addr_of, addr_of_mut, null_mut};
use core::sync::atomic::{AtomicPtr, AtomicU32, Ordering, fence};

const PAGE_SIZE: u32 = 4096;
/// Event words (u32) in one event array page.
pub const WORDS_PER_PAGE: u32 = PAGE_SIZE / 4;
/// C: `EVTCHN_FIFO_NR_CHANNELS / EVTCHN_FIFO_EVENT_WORDS_PER_PAGE`.
const MAX_EVENT_ARRAY_PAGES: usize = ((1u32 << 17) / WORDS_PER_PAGE) as usize;
/// C: `EVTCHN_FIFO_MAX_QUEUES`.
pub const MAX_QUEUES: usize = 16;
/// sizeof(struct evtchn_fifo_control_block): ready, _rsvd, head[16].
pub const CONTROL_BLOCK_SIZE: u32 = 4 + 4 + 4 * MAX_QUEUES as u32;

/// One priority queue of one vCPU.
pub struct Queue {
    /// Points into the control block (`head[priority]`); NULL until it is mapped.
    head: AtomicPtr<u32>,
    priority: u8,
    /// The tail port; the lock owns what it guards.
    tail: SpinLock<Port>,
}

impl Queue {
    #[inline(always)]
    pub fn priority(&self) -> u8 {
        self.priority
    }
    #[inline(always)]
    pub fn tail(&self) -> &SpinLock<Port> {
        &self.tail
    }
    /// `write_atomic(q->head, port)` in the guest's control block (nothing before it is
    /// mapped).
    #[inline(always)]
    pub fn set_head(&self, port: Port) {
        let head = self.head.load(Ordering::Relaxed);
        if !head.is_null() {
            // SAFETY: head points into the mapped control block (module invariant).
            unsafe { head.write_volatile(port) };
        }
    }
}

/// C: `struct evtchn_fifo_vcpu`.
pub struct FifoVcpu {
    /// The mapped control block (its `ready` word first); published after the heads.
    control_block: AtomicPtr<u32>,
    queue: [Queue; MAX_QUEUES],
}

impl FifoVcpu {
    /// The queue of priority `prio` (taken modulo the queue count).
    #[inline(always)]
    pub fn queue(&self, prio: u8) -> &Queue {
        &self.queue[prio as usize % MAX_QUEUES]
    }
    /// The guest's control block is mapped.
    #[inline(always)]
    pub fn has_control_block(&self) -> bool {
        !self.control_block.load(Ordering::Acquire).is_null()
    }
    /// `guest_test_and_set_bit(d, prio, &control_block->ready)`; `None` without a control
    /// block.
    #[inline(always)]
    pub fn test_and_set_ready(&self, d: Dom, prio: u8) -> Option<bool> {
        let cb = self.control_block.load(Ordering::Acquire);
        if cb.is_null() {
            return None;
        }
        // SAFETY: cb is the mapped control block (module invariant); `ready` is its first
        // word and prio < 32.
        Some(unsafe { crate::cpu::guest_test_and_set_bit(d.ptr(), (prio % 32) as u32, cb.cast()) })
    }
}

/// C: `struct evtchn_fifo_domain`.
pub struct FifoDomain {
    event_array: [AtomicPtr<u32>; MAX_EVENT_ARRAY_PAGES],
    num_evtchns: AtomicU32,
}

impl FifoDomain {
    /// The ports the event array covers.
    pub fn num_evtchns(&self) -> u32 {
        self.num_evtchns.load(Ordering::Relaxed)
    }
}

/// One event word in the guest's event array. Only made by [`word`], for a word in a
/// mapped page.
#[derive(Clone, Copy)]
pub struct EventWord {
    d: Dom,
    p: *mut u32,
}

impl EventWord {
    /// `guest_test_bit()` of the bits in `mask` (a plain test_bit() on arm: one read).
    #[inline(always)]
    pub fn test(self, mask: u32) -> bool {
        self.load() & mask != 0
    }
    /// `guest_test_and_set_bit(d, bit, word)` (bit < 32).
    #[inline(always)]
    pub fn test_and_set(self, bit: u32) -> bool {
        // SAFETY: p is in a mapped event array page (module invariant); the glue's guest
        // atomics are bounded (XSA-295); bit % 32 stays in the word.
        unsafe { crate::cpu::guest_test_and_set_bit(self.d.ptr(), bit % 32, self.p.cast()) }
    }
    /// `read_atomic(word)`.
    #[inline(always)]
    pub fn load(self) -> u32 {
        // SAFETY: as test_and_set(); an aligned u32 read.
        unsafe { self.p.read_volatile() }
    }
    /// `cmpxchg(word, old, new)`: the value seen.
    #[inline(always)]
    pub fn cmpxchg(self, old: u32, new: u32) -> u32 {
        // SAFETY: as test_and_set().
        unsafe { crate::cpu::cmpxchg32(self.p, old, new) }
    }
    /// `guest_set_bit(d, bit, word)`.
    #[inline(always)]
    pub fn set_bit(self, bit: u32) {
        // SAFETY: as test_and_set().
        unsafe { crate::cpu::guest_set_bit(self.d.ptr(), bit % 32, self.p.cast()) }
    }
    /// `guest_clear_bit(d, bit, word)`.
    #[inline(always)]
    pub fn clear_bit(self, bit: u32) {
        // SAFETY: as test_and_set().
        unsafe { crate::cpu::guest_clear_bit(self.d.ptr(), bit % 32, self.p.cast()) }
    }
}

/// `d->evtchn_fifo`: `None` while the domain runs the 2-level ABI.
#[inline(always)]
pub fn domain_state(d: Dom) -> Option<&'static FifoDomain> {
    // SAFETY: d is live; evtchn_fifo is NULL or a FifoDomain allocated by alloc_domain(),
    // freed only by destroy() (module invariant).
    unsafe { (addr_of!((*d.ptr()).evtchn_fifo).read_volatile() as *const FifoDomain).as_ref() }
}

/// `v->evtchn_fifo`, written under the event lock while senders read it (a volatile read).
#[inline(always)]
pub fn vcpu_state(v: Vcpu) -> Option<&'static FifoVcpu> {
    // SAFETY: v is live; evtchn_fifo is NULL or a FifoVcpu allocated by alloc_vcpu(), freed
    // only by destroy() (module invariant).
    unsafe { (addr_of!((*v.ptr()).evtchn_fifo).read_volatile() as *const FifoVcpu).as_ref() }
}

/// C's `evtchn_fifo_word_from_port()`.
#[inline(always)]
pub fn word(d: Dom, port: Port) -> Option<EventWord> {
    let f = domain_state(d)?;
    fence(Ordering::Acquire); // pairs with init_control publishing the ops (smp_rmb)
    if port >= f.num_evtchns.load(Ordering::Relaxed) {
        return None;
    }
    fence(Ordering::Acquire); // pairs with add_page() (smp_rmb, XSA-359)
    let page = f.event_array[nospec(port / WORDS_PER_PAGE, MAX_EVENT_ARRAY_PAGES as u32)]
        .load(Ordering::Relaxed);
    if page.is_null() {
        return None;
    }
    // SAFETY: a mapped page of WORDS_PER_PAGE words; the index is below it.
    Some(EventWord { d, p: unsafe { page.add((port % WORDS_PER_PAGE) as usize) } })
}

/// C's `setup_control_block()`: `v->evtchn_fifo`, zeroed, queue `i` of priority `i`.
/// `ENOMEM`. The caller holds the event lock.
#[inline]
pub fn alloc_vcpu(v: Vcpu) -> Result<(), Errno> {
    let size = core::mem::size_of::<FifoVcpu>();
    // SAFETY: plain allocation; NULL handled.
    let p: *mut FifoVcpu =
        unsafe { b::oxx_xzalloc_bytes(size as _, core::mem::align_of::<FifoVcpu>() as _) }.cast();
    if p.is_null() {
        return Err(Errno::ENOMEM);
    }
    // Initialised in place, as C does (xzalloc, then the non-zero fields): zeroed memory is
    // already null pointers and zero tails, so only the priorities and the locks are written,
    // without building the structure on the stack and copying it in.
    // SAFETY: p is a fresh, zeroed allocation of the right size and alignment, reachable by
    // nothing else yet; zero is a valid AtomicPtr (null), u8 and Port, so every field is valid
    // before and after these writes; the MAX_QUEUES locks are `size_of::<Queue>()` apart.
    unsafe {
        let q0 = addr_of_mut!((*p).queue).cast::<Queue>();
        for i in 0..MAX_QUEUES {
            addr_of_mut!((*q0.add(i)).priority).write(i as u8);
        }
        SpinLock::init_in_place(addr_of_mut!((*q0).tail), size_of::<Queue>(), MAX_QUEUES);
    }
    // SAFETY: v is live and its evtchn_fifo is written under the event lock (the caller's).
    unsafe { addr_of_mut!((*v.ptr()).evtchn_fifo).write_volatile(p.cast()) };
    Ok(())
}

/// C's `map_control_block()`: maps the guest's control block at `gfn` + `offset` and
/// publishes the queue heads, then the block. `EINVAL` without FIFO state or with a block
/// already mapped; the mapping's errors. The caller checked `offset` (8-aligned, and the
/// block inside the page) and holds the event lock.
#[inline]
pub fn map_control_block(v: Vcpu, gfn: u64, offset: u32) -> Result<(), Errno> {
    let Some(fv) = vcpu_state(v) else { return Err(Errno::EINVAL) };
    if fv.has_control_block() || offset > PAGE_SIZE - CONTROL_BLOCK_SIZE {
        return Err(Errno::EINVAL);
    }
    let mut virt: *mut core::ffi::c_void = null_mut();
    // SAFETY: v's domain is live; the helper maps with a page and type reference or fails.
    let rc = unsafe { b::oxx_map_guest_page(v.domain().ptr(), gfn, &mut virt) };
    if rc < 0 {
        return Err(Errno::from_ret(rc));
    }
    // SAFETY: offset + CONTROL_BLOCK_SIZE <= PAGE_SIZE (checked above), so the control block
    // lies inside the mapped page.
    let cb: *mut u32 = unsafe { virt.cast::<u8>().add(offset as usize) }.cast();
    for (i, q) in fv.queue.iter().enumerate() {
        // SAFETY: head[i] is at word 2 + i of the control block.
        q.head.store(unsafe { cb.add(2 + i) }, Ordering::Relaxed);
    }
    // All queue heads before the control block (smp_wmb, XSA-358).
    fv.control_block.store(cb, Ordering::Release);
    Ok(())
}

/// `d->evtchn_fifo`, zeroed (no event array pages yet). `ENOMEM`. Event lock held.
pub fn alloc_domain(d: Dom) -> Result<(), Errno> {
    let size = core::mem::size_of::<FifoDomain>();
    // SAFETY: plain allocation; NULL handled.
    let f: *mut FifoDomain = unsafe { b::oxx_xzalloc_bytes(size as _, 8) }.cast();
    if f.is_null() {
        return Err(Errno::ENOMEM);
    }
    // SAFETY: zeroed memory is a valid FifoDomain (null pointers, zero count); d live,
    // evtchn_fifo written under the event lock.
    unsafe { addr_of_mut!((*d.ptr()).evtchn_fifo).write_volatile(f.cast()) };
    Ok(())
}

/// C's `add_page_to_event_array()`: maps `gfn` as the next event array page and publishes it
/// before the larger count. Returns the ports it adds. `EOPNOTSUPP` without FIFO state,
/// `ENOSPC` when the array is full, the mapping's errors. Event lock held.
#[inline]
pub fn add_page(d: Dom, gfn: u64) -> Result<core::ops::Range<Port>, Errno> {
    let f = domain_state(d).ok_or(Errno::EOPNOTSUPP)?;
    let first = f.num_evtchns.load(Ordering::Relaxed);
    let slot = (first / WORDS_PER_PAGE) as usize;
    if slot >= MAX_EVENT_ARRAY_PAGES {
        return Err(Errno::ENOSPC);
    }
    let mut virt: *mut core::ffi::c_void = null_mut();
    // SAFETY: d live; the helper maps with references or fails.
    let rc = unsafe { b::oxx_map_guest_page(d.ptr(), gfn, &mut virt) };
    if rc < 0 {
        return Err(Errno::from_ret(rc));
    }
    f.event_array[slot].store(virt.cast(), Ordering::Relaxed);
    // The page before the count (smp_wmb; pairs with word()).
    fence(Ordering::Release);
    let n = first + WORDS_PER_PAGE;
    f.num_evtchns.store(n, Ordering::Relaxed);
    Ok(first..n)
}

/// C's `evtchn_fifo_destroy()`: unmaps and frees every vCPU's and the domain's FIFO state.
/// The caller holds the event lock and has switched the ops back to 2L, or the domain is
/// dying (module invariant).
pub fn destroy(d: Dom) {
    for id in 0..d.max_vcpus() {
        let Some(v) = d.vcpu(id) else { continue };
        // SAFETY: v live; under the event lock or at destroy.
        let p = unsafe { (*v.ptr()).evtchn_fifo } as *mut FifoVcpu;
        if p.is_null() {
            continue;
        }
        // SAFETY: p is our FifoVcpu; nothing reaches it any more (module invariant); the
        // control block mapping is ours to drop.
        unsafe {
            b::oxx_unmap_guest_page((*p).control_block.load(Ordering::Acquire).cast());
            b::oxx_xfree(p.cast());
            addr_of_mut!((*v.ptr()).evtchn_fifo).write_volatile(null_mut());
        }
    }
    // SAFETY: d live; evtchn_fifo is ours (see domain_state()).
    unsafe {
        let f = (*d.ptr()).evtchn_fifo as *mut FifoDomain;
        if f.is_null() {
            return;
        }
        for page in (*f).event_array.iter() {
            b::oxx_unmap_guest_page(page.load(Ordering::Acquire).cast());
        }
        b::oxx_xfree(f.cast());
        addr_of_mut!((*d.ptr()).evtchn_fifo).write_volatile(null_mut());
    }
}
