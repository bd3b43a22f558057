//! The FIFO ABI in Xen (C: common/event_fifo.c): per-vCPU control blocks and 16 priority
//! queues, the domain's event array of guest pages, and the FIFO port ops table.
//!
//! `struct evtchn_fifo_domain` / `struct evtchn_fifo_vcpu` are private to event_fifo.c (sched.h
//! only declares them), so their layout is ours: [`FifoDomain`] and [`FifoVcpu`], reached
//! through `d->evtchn_fifo` / `v->evtchn_fifo`. A queue's tail is a [`SpinLock<u32>`]: the
//! lock owns what it guards. Two queues are locked only by [`lock_queues`] (lower address
//! first, as C).
//!
//! Unsafe here follows the parent module's invariants, plus: event array pages and control
//! blocks are guest pages mapped globally by `oxx_map_guest_page` (which holds a page and type
//! reference) and unmapped only by [`destroy`], under the event lock, after the ops table has
//! been switched back to 2L or the domain is dying.

use super::{EVTCHN_PORT_OPS_2L, XenDom};
use crate::abi::{self, FifoWord, Port};
use crate::core::{Channel, Domain};
use crate::fifo::{self, EventWord, Link};
use crate::twol::TwoLevelBits;
use core::ptr::{addr_of, addr_of_mut, null_mut};
use core::sync::atomic::{AtomicPtr, AtomicU32, Ordering, fence};
use xen_rust_glue::bindings as b;
use xen_rust_glue::sync::{IrqSave, SpinLock, SpinLockGuard};
use xen_rust_glue::{Errno, printk};

const PAGE_SIZE: u32 = 4096;
const WORDS_PER_PAGE: u32 = PAGE_SIZE / 4;
const MAX_EVENT_ARRAY_PAGES: usize = (abi::EVTCHN_FIFO_NR_CHANNELS / WORDS_PER_PAGE) as usize;
const MAX_QUEUES: usize = 16;
const PRIORITY_DEFAULT: u8 = 7;
const PRIORITY_MIN: u32 = 15;
/// sizeof(struct evtchn_fifo_control_block): ready, _rsvd, head[16].
const CONTROL_BLOCK_SIZE: u32 = 4 + 4 + 4 * MAX_QUEUES as u32;

struct Queue {
    /// Points into the control block (`head[priority]`); NULL until it is mapped.
    head: AtomicPtr<u32>,
    priority: u8,
    tail: SpinLock<Port>,
}

/// C: `struct evtchn_fifo_vcpu`.
pub struct FifoVcpu {
    /// The mapped control block (its `ready` word first); published after the heads.
    control_block: AtomicPtr<u32>,
    queue: [Queue; MAX_QUEUES],
}

/// C: `struct evtchn_fifo_domain`.
pub struct FifoDomain {
    event_array: [AtomicPtr<u32>; MAX_EVENT_ARRAY_PAGES],
    num_evtchns: AtomicU32,
}

fn fifo_domain(d: XenDom) -> Option<&'static FifoDomain> {
    // SAFETY: d is live; evtchn_fifo is NULL or a FifoDomain we allocated, freed only by
    // destroy() under the event lock once no op can reach it.
    unsafe { (addr_of!((*d.ptr()).evtchn_fifo).read_volatile() as *const FifoDomain).as_ref() }
}

fn fifo_vcpu(v: *mut b::vcpu) -> Option<&'static FifoVcpu> {
    if v.is_null() {
        return None;
    }
    // SAFETY: v is live; evtchn_fifo is NULL or a FifoVcpu we allocated (as fifo_domain()),
    // written under the event lock while senders read it: a volatile access.
    unsafe { (addr_of!((*v).evtchn_fifo).read_volatile() as *const FifoVcpu).as_ref() }
}

/// One event word in the guest's event array.
#[derive(Clone, Copy)]
struct Word {
    d: XenDom,
    p: *mut u32,
}

impl Word {
    fn test(self, bit: FifoWord) -> bool {
        // SAFETY: p is in a mapped event array page (see the module doc); bits < 32.
        // guest_test_bit() is a plain test_bit() on arm: one read of the word.
        unsafe { self.p.read_volatile() & bit.bits() != 0 }
    }
    // Inline: C's guest_test_and_set_bit() is inline in evtchn_fifo_set_pending(); out of
    // line this was a frame and a call per send (ci/bench-profile, docs/performance.md).
    #[inline]
    fn test_and_set(self, bit: u32) -> bool {
        // SAFETY: as test(); the glue's guest atomics are bounded (XSA-295).
        unsafe { xen_rust_glue::cpu::guest_test_and_set_bit(self.d.ptr(), bit, self.p.cast()) }
    }
}

impl EventWord for Word {
    fn load(&self) -> u32 {
        // SAFETY: as Word::test(); an aligned u32 read (read_atomic).
        unsafe { self.p.read_volatile() }
    }
    fn cmpxchg(&self, old: u32, new: u32) -> u32 {
        // SAFETY: as Word::test().
        unsafe { xen_rust_glue::cpu::cmpxchg32(self.p, old, new) }
    }
    fn set_bits(&self, bits: FifoWord) {
        // SAFETY: as Word::test().
        unsafe {
            xen_rust_glue::cpu::guest_set_bit(
                self.d.ptr(),
                bits.bits().trailing_zeros(),
                self.p.cast(),
            )
        }
    }
    fn clear_bits(&self, bits: FifoWord) {
        // SAFETY: as Word::test().
        unsafe {
            xen_rust_glue::cpu::guest_clear_bit(
                self.d.ptr(),
                bits.bits().trailing_zeros(),
                self.p.cast(),
            )
        }
    }
}

/// C's `evtchn_fifo_word_from_port()`.
fn word_from_port(d: XenDom, port: Port) -> Option<Word> {
    let f = fifo_domain(d)?;
    fence(Ordering::Acquire); // pairs with init_control publishing the ops (smp_rmb)
    if port >= f.num_evtchns.load(Ordering::Relaxed) {
        return None;
    }
    fence(Ordering::Acquire); // pairs with add_page_to_event_array() (smp_rmb, XSA-359)
    let page = f.event_array[super::nospec(port / WORDS_PER_PAGE, MAX_EVENT_ARRAY_PAGES as u32)]
        .load(Ordering::Relaxed);
    if page.is_null() {
        return None;
    }
    // SAFETY: a mapped page of WORDS_PER_PAGE words; the index is below it.
    Some(Word { d, p: unsafe { page.add((port % WORDS_PER_PAGE) as usize) } })
}

fn chan_priority(c: *mut b::evtchn) -> u8 {
    // SAFETY: live channel (parent invariant 2).
    unsafe { addr_of!((*c).priority).read_volatile() }
}

fn lastq(c: *mut b::evtchn) -> (u8, u32) {
    // SAFETY: live channel; read_atomic of the u32 union (last_priority at byte 0,
    // last_vcpu_id at bytes 2..4).
    let raw = unsafe { addr_of!((*c).fifo_lastq).read_volatile() };
    ((raw & 0xff) as u8, raw >> 16)
}

/// Lock the queue tails of `q` and `old` (once if they are the same queue), lower address
/// first, as C. The caller has interrupts disabled (an [`IrqSave`] declared before the guards,
/// so it is restored after both are released).
fn lock_queues<'a>(
    q: &'a Queue,
    old: &'a Queue,
) -> (SpinLockGuard<'a, Port>, Option<SpinLockGuard<'a, Port>>) {
    if core::ptr::eq(q, old) {
        (q.tail.lock(), None)
    } else if (q as *const Queue) < (old as *const Queue) {
        let gq = q.tail.lock();
        let go = old.tail.lock();
        (gq, Some(go))
    } else {
        let go = old.tail.lock();
        let gq = q.tail.lock();
        (gq, Some(go))
    }
}

/// C's `evtchn_fifo_set_pending()`.
pub(super) fn set_pending(v: *mut b::vcpu, c: *mut b::evtchn) {
    // SAFETY: live vCPU and channel (the caller is Xen through the ops table).
    let (d, port, vid) = unsafe {
        let Some(d) = XenDom::new((*v).domain) else { return };
        (d, (*c).port, (*v).vcpu_id as u32)
    };
    let Some(word) = word_from_port(d, port) else {
        // No event array page yet: remember, add_page_to_event_array() re-raises it.
        // SAFETY: live channel; under its lock or the event lock (as C).
        unsafe { addr_of_mut!((*c).pending).write_volatile(true) };
        return;
    };
    let Some(fv) = fifo_vcpu(v) else { return };

    let mut linked = true;
    let mut check_pollers = false;
    let mut q_prio = 0u8;
    let mut done = false;
    // Interrupts off around both queue locks (C: spin_lock_irqsave on the first).
    let _irq = IrqSave::new();
    for _try in 0..3 {
        let (lp, lv) = lastq(c);
        let Some(old_fv) = fifo_vcpu(d.vcpu_ptr(lv)) else { break };
        let q = &fv.queue[(chan_priority(c) as usize) % MAX_QUEUES];
        let old_q = &old_fv.queue[(lp as usize) % MAX_QUEUES];
        let (mut gq, mut gold) = lock_queues(q, old_q);
        // The channel may have moved queues before we got the locks: look again.
        let (lp2, lv2) = lastq(c);
        let old_now = fifo_vcpu(d.vcpu_ptr(lv2))
            .map(|f| &f.queue[(lp2 as usize) % MAX_QUEUES] as *const Queue);
        if !core::ptr::eq(q, &fv.queue[(chan_priority(c) as usize) % MAX_QUEUES])
            || old_now != Some(old_q as *const Queue)
        {
            continue;
        }
        done = true;
        q_prio = q.priority;
        if fv.control_block.load(Ordering::Acquire).is_null() {
            // The guest must not unmask before its control block exists: drop the event.
            printk!("<G><1>d{}v{} has no FIFO event channel control block\n", d.id(), vid);
            break;
        }
        check_pollers = !word.test_and_set(31);
        // Link the event if it is unmasked and not already linked.
        if !word.test(FifoWord::MASKED) && !word.test_and_set(29) {
            // If this event was the old queue's tail, that queue is now empty.
            {
                let old_tail: &mut Port = match gold.as_deref_mut() {
                    Some(t) => t,
                    None => &mut gq,
                };
                if *old_tail == port {
                    *old_tail = 0;
                }
            }
            if gold.is_some() {
                // Moved to another queue: remember it, release the old one.
                let raw = (vid << 16) | q.priority as u32;
                // SAFETY: live channel; write_atomic of fifo_lastq.
                unsafe { addr_of_mut!((*c).fifo_lastq).write_volatile(raw) };
                gold = None;
            }
            let _ = &gold;
            // Link after the tail iff the tail is still linked; else the queue was empty
            // and the head is updated.
            linked = false;
            if *gq != 0
                && let Some(tw) = word_from_port(d, *gq)
            {
                linked = fifo::set_link(&tw, port) == Link::Linked;
            }
            if !linked {
                let head = q.head.load(Ordering::Relaxed);
                if !head.is_null() {
                    // SAFETY: head points into the mapped control block; write_atomic.
                    unsafe { head.write_volatile(port) };
                }
            }
            *gq = port;
        }
        break;
    }
    drop(_irq);
    if !done {
        printk!("<G><1>d{} port {} lost event (too many queue changes)\n", d.id(), port);
    }
    if !linked {
        let cb = fv.control_block.load(Ordering::Acquire);
        // SAFETY: cb is the mapped control block; `ready` is its first word.
        if !cb.is_null()
            && !unsafe {
                xen_rust_glue::cpu::guest_test_and_set_bit(d.ptr(), q_prio as u32, cb.cast())
            }
        {
            // SAFETY: live vCPU.
            unsafe { b::oxx_vcpu_mark_events_pending(v) };
        }
    }
    if check_pollers {
        super::check_pollers(d, port);
    }
}

// ---- the ops table ----

unsafe extern "C" fn fifo_init(d: *mut b::domain, c: *mut b::evtchn) {
    let _ = d;
    // SAFETY: live channel under its write lock (caller).
    unsafe { (*c).priority = PRIORITY_DEFAULT };
}
unsafe extern "C" fn fifo_set_pending(v: *mut b::vcpu, c: *mut b::evtchn) {
    set_pending(v, c);
}
unsafe extern "C" fn fifo_clear_pending(d: *mut b::domain, c: *mut b::evtchn) {
    // SAFETY: live domain and channel (caller).
    let Some(d) = (unsafe { XenDom::new(d) }) else { return };
    // SAFETY: live channel.
    if let Some(w) = word_from_port(d, unsafe { (*c).port }) {
        w.clear_bits(FifoWord::PENDING);
    }
}
pub(super) unsafe extern "C" fn fifo_unmask(d: *mut b::domain, c: *mut b::evtchn) {
    // SAFETY: live domain and channel (caller).
    let Some(dd) = (unsafe { XenDom::new(d) }) else { return };
    // SAFETY: live channel; `port` is written once, before publication.
    let (port, nv) = (unsafe { (*c).port }, super::notify_vcpu_of(c));
    let Some(w) = word_from_port(dd, port) else { return };
    w.clear_bits(FifoWord::MASKED);
    if w.test(FifoWord::PENDING) {
        let v = dd.vcpu_ptr(nv);
        if !v.is_null() {
            set_pending(v, c);
        }
    }
}
unsafe extern "C" fn fifo_is_pending(d: *const b::domain, c: *const b::evtchn) -> bool {
    // SAFETY: live domain and channel (caller).
    let Some(d) = (unsafe { XenDom::new(d as *mut _) }) else { return false };
    // SAFETY: live channel.
    word_from_port(d, unsafe { (*c).port }).is_some_and(|w| w.test(FifoWord::PENDING))
}
unsafe extern "C" fn fifo_is_masked(d: *const b::domain, c: *const b::evtchn) -> bool {
    // SAFETY: as fifo_is_pending.
    let Some(d) = (unsafe { XenDom::new(d as *mut _) }) else { return true };
    // SAFETY: live channel.
    word_from_port(d, unsafe { (*c).port }).is_none_or(|w| w.test(FifoWord::MASKED))
}
unsafe extern "C" fn fifo_is_busy(d: *const b::domain, c: *const b::evtchn) -> bool {
    // SAFETY: as fifo_is_pending.
    let Some(d) = (unsafe { XenDom::new(d as *mut _) }) else { return false };
    // SAFETY: live channel.
    word_from_port(d, unsafe { (*c).port }).is_some_and(|w| w.test(FifoWord::LINKED))
}
unsafe extern "C" fn fifo_set_priority(
    _d: *mut b::domain,
    c: *mut b::evtchn,
    prio: core::ffi::c_uint,
) -> core::ffi::c_int {
    if prio > PRIORITY_MIN {
        return -Errno::EINVAL.get();
    }
    // SAFETY: live channel under its lock (caller).
    unsafe { addr_of_mut!((*c).priority).write_volatile(prio as u8) };
    0
}
unsafe extern "C" fn fifo_print_state(d: *mut b::domain, c: *const b::evtchn) {
    // SAFETY: live domain and channel (caller).
    let Some(d) = (unsafe { XenDom::new(d) }) else { return };
    // SAFETY: live channel.
    match word_from_port(d, unsafe { (*c).port }) {
        None => printk!("?     "),
        Some(w) => {
            let busy = if w.test(FifoWord::BUSY) { 'B' } else { ' ' };
            if w.test(FifoWord::LINKED) {
                printk!("{} {:<4}", busy, w.load() & FifoWord::LINK.bits());
            } else {
                printk!("{} -   ", busy);
            }
        }
    }
}

/// `d` runs the FIFO ABI: its port ops are this table (callers hold the event lock or a
/// channel lock, as C's readers of d->evtchn_port_ops).
#[inline(always)]
pub(super) fn is_fifo(d: XenDom) -> bool {
    core::ptr::eq(d.port_ops(), &EVTCHN_PORT_OPS_FIFO)
}

static EVTCHN_PORT_OPS_FIFO: b::evtchn_port_ops = b::evtchn_port_ops {
    init: Some(fifo_init),
    set_pending: Some(fifo_set_pending),
    clear_pending: Some(fifo_clear_pending),
    unmask: Some(fifo_unmask),
    is_pending: Some(fifo_is_pending),
    is_masked: Some(fifo_is_masked),
    is_busy: Some(fifo_is_busy),
    set_priority: Some(fifo_set_priority),
    print_state: Some(fifo_print_state),
};

// ---- set-up and teardown ----

fn for_each_vcpu(
    d: XenDom,
    mut f: impl FnMut(*mut b::vcpu) -> Result<(), Errno>,
) -> Result<(), Errno> {
    for id in 0..d.max_vcpus() {
        let v = d.vcpu_ptr(id);
        if !v.is_null() {
            f(v)?;
        }
    }
    Ok(())
}

/// C's `setup_control_block()`.
fn setup_control_block(v: *mut b::vcpu) -> Result<(), Errno> {
    let size = core::mem::size_of::<FifoVcpu>();
    // SAFETY: plain allocation; NULL handled.
    let p: *mut FifoVcpu =
        unsafe { b::oxx_xzalloc_bytes(size as _, core::mem::align_of::<FifoVcpu>() as _) }.cast();
    if p.is_null() {
        return Err(Errno::ENOMEM);
    }
    // Initialised in place, as C does (xzalloc, then the non-zero fields): zeroed memory is
    // already null pointers and zero tails, so only the priorities and the locks are written.
    // Building the struct on the stack and copying it in (and 16 spin_lock_init calls) cost
    // ~370 ns of guest time per init_control (docs/performance.md, "init_control").
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
    // SAFETY: v is live and its evtchn_fifo is written under the event lock (init_control
    // holds it).
    unsafe { addr_of_mut!((*v).evtchn_fifo).write_volatile(p.cast()) };
    Ok(())
}

fn map_control_block(v: *mut b::vcpu, gfn: u64, offset: u32) -> Result<(), Errno> {
    let Some(fv) = fifo_vcpu(v) else { return Err(Errno::EINVAL) };
    if !fv.control_block.load(Ordering::Acquire).is_null() {
        return Err(Errno::EINVAL);
    }
    let mut virt: *mut core::ffi::c_void = null_mut();
    // SAFETY: v is live; the helper maps with a page and type reference or fails.
    let rc = unsafe { b::oxx_map_guest_page((*v).domain, gfn, &mut virt) };
    if rc < 0 {
        return Err(Errno::from_ret(rc));
    }
    // SAFETY: offset + CONTROL_BLOCK_SIZE <= PAGE_SIZE and offset is 8-aligned (checked by the
    // caller), so the control block lies inside the mapped page.
    let cb: *mut u32 = unsafe { virt.cast::<u8>().add(offset as usize) }.cast();
    for (i, q) in fv.queue.iter().enumerate() {
        // SAFETY: head[i] is at word 2 + i of the control block.
        q.head.store(unsafe { cb.add(2 + i) }, Ordering::Relaxed);
    }
    // All queue heads before the control block (smp_wmb, XSA-358).
    fv.control_block.store(cb, Ordering::Release);
    Ok(())
}

fn cleanup_control_block(v: *mut b::vcpu) -> Result<(), Errno> {
    // SAFETY: v live; under the event lock or at destroy.
    let p = unsafe { (*v).evtchn_fifo } as *mut FifoVcpu;
    if p.is_null() {
        return Ok(());
    }
    // SAFETY: p is our FifoVcpu; nothing reaches it once the ops are back to 2L or the domain
    // is dying (module doc); the control block mapping is ours to drop.
    unsafe {
        b::oxx_unmap_guest_page((*p).control_block.load(Ordering::Acquire).cast());
        b::oxx_xfree(p.cast());
        addr_of_mut!((*v).evtchn_fifo).write_volatile(null_mut());
    }
    Ok(())
}

/// C's `evtchn_fifo_destroy()`.
pub(super) fn destroy(d: XenDom) {
    let _ = for_each_vcpu(d, cleanup_control_block);
    // SAFETY: d live; evtchn_fifo is ours (see fifo_domain()).
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

/// C's `evtchn_fifo_init_control()`: `ENOENT` no such vCPU; `EINVAL` offset crossing the page
/// or misaligned, a control block already mapped, or a bad gfn (XSA-188: nothing is left
/// published on failure); `ENOMEM`.
pub(super) fn init_control(d: XenDom, gfn: u64, offset: u32, vcpu: u32) -> Result<(), Errno> {
    let v = d.vcpu_ptr(vcpu);
    if v.is_null() {
        return Err(Errno::ENOENT);
    }
    // Must not cross the page; then clamped so that it stays inside the page even under
    // speculation (C: array_index_nospec(offset, PAGE_SIZE - sizeof(control block) + 1)),
    // before the alignment check, as C.
    if offset > PAGE_SIZE - CONTROL_BLOCK_SIZE {
        return Err(Errno::EINVAL);
    }
    let offset = super::nospec(offset, PAGE_SIZE - CONTROL_BLOCK_SIZE + 1) as u32;
    if offset & 7 != 0 {
        return Err(Errno::EINVAL);
    }
    let _l = d.event_lock();
    if fifo_domain(d).is_some() {
        return map_control_block(v, gfn, offset);
    }
    let prev_evtchns = d.abi_max_ports();
    let r = (|| {
        for_each_vcpu(d, setup_control_block)?;
        let size = core::mem::size_of::<FifoDomain>();
        // SAFETY: plain allocation; NULL handled.
        let f: *mut FifoDomain = unsafe { b::oxx_xzalloc_bytes(size as _, 8) }.cast();
        if f.is_null() {
            return Err(Errno::ENOMEM);
        }
        // SAFETY: zeroed memory is a valid FifoDomain (null pointers, zero count); d live,
        // evtchn_fifo written under the event lock.
        unsafe { addr_of_mut!((*d.ptr()).evtchn_fifo).write_volatile(f.cast()) };
        map_control_block(v, gfn, offset)?;
        // The FIFO state before the ops that use it (pairs with word_from_port()).
        fence(Ordering::Release);
        d.set_port_ops(&EVTCHN_PORT_OPS_FIFO);
        setup_ports(d, prev_evtchns);
        Ok(())
    })();
    if r.is_err() {
        destroy(d);
    }
    r
}

/// C's `setup_ports()`: keep the 2L pending state, default priorities.
fn setup_ports(d: XenDom, prev: u32) {
    for port in 1..prev {
        let Some(c) = d.chan(port) else { break };
        // The inline 2L bit test (an out-of-line C helper here cost ~14 instructions a port:
        // ~900 of init_control's; docs/performance.md). port < 4096: prev is the 2L count.
        if d.bits().test_pending(port) {
            // SAFETY: live channel; under the event lock.
            unsafe { addr_of_mut!((*c.raw()).pending).write_volatile(true) };
        }
        // SAFETY: live channel; under the event lock.
        unsafe { addr_of_mut!((*c.raw()).priority).write_volatile(PRIORITY_DEFAULT) };
    }
}

/// C's `evtchn_fifo_expand_array()`: `EOPNOTSUPP` without FIFO; `ENOSPC` when full; map errors.
pub(super) fn expand_array(d: XenDom, gfn: u64) -> Result<(), Errno> {
    if fifo_domain(d).is_none() {
        return Err(Errno::EOPNOTSUPP);
    }
    let _l = d.event_lock();
    let f = fifo_domain(d).ok_or(Errno::EOPNOTSUPP)?;
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
    // The page before the count (smp_wmb; pairs with word_from_port()).
    fence(Ordering::Release);
    let n = first + WORDS_PER_PAGE;
    f.num_evtchns.store(n, Ordering::Relaxed);
    // Re-raise events that were pending while their page was missing.
    for port in first..n {
        let Some(c) = d.chan(port) else { break };
        // SAFETY: live channel; under the event lock.
        if unsafe { addr_of!((*c.raw()).pending).read_volatile() } {
            let v = d.vcpu_ptr(c.notify_vcpu());
            if !v.is_null() {
                set_pending(v, c.raw());
            }
        }
    }
    Ok(())
}

/// Back to 2L after a reset (C: evtchn_fifo_destroy + evtchn_2l_init). Event lock held.
pub(super) fn back_to_2l(d: XenDom) {
    if fifo_domain(d).is_some() {
        destroy(d);
        d.set_port_ops(&EVTCHN_PORT_OPS_2L);
    }
}
