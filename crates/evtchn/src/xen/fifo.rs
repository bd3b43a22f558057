//! The FIFO ABI in Xen (C: common/event_fifo.c): per-vCPU control blocks and 16 priority
//! queues, the domain's event array of guest pages, and the FIFO port ops table.
//!
//! The storage (`struct evtchn_fifo_domain` / `struct evtchn_fifo_vcpu`, the mapped guest
//! pages) is the glue's ([`xen_rust_glue::evtchn::fifo`]); this module holds the protocol:
//! which queues to lock, linking an event after the tail, requeueing across vCPUs and
//! priorities, and set-up and teardown. A queue's tail is a `SpinLock<Port>`: the lock owns
//! what it guards. Two queues are locked only by [`lock_queues`] (lower address first, as C).

use super::{EVTCHN_PORT_OPS_2L, Xen2L};
use crate::abi::{FifoWord, Port};
use crate::ops::PortTable;
use crate::fifo::{self, EventWord, Link};
use crate::twol::TwoLevelBits;
use xen_rust_glue::evtchn::fifo::{self as store, CONTROL_BLOCK_SIZE, Queue};
use xen_rust_glue::evtchn::{Chan, Dom, PortOps, PortOpsTable, Vcpu, nospec};
use xen_rust_glue::sync::{IrqSave, SpinLockGuard};
use xen_rust_glue::{Errno, printk};

const PAGE_SIZE: u32 = 4096;
const PRIORITY_DEFAULT: u8 = 7;
const PRIORITY_MIN: u32 = 15;

/// Bit numbers of the event word's flags, for the glue's single-bit guest atomics.
const PENDING_BIT: u32 = FifoWord::PENDING.bits().trailing_zeros();
const LINKED_BIT: u32 = FifoWord::LINKED.bits().trailing_zeros();

/// One event word in the guest's event array.
#[derive(Clone, Copy)]
struct Word(store::EventWord);

impl Word {
    #[inline(always)]
    fn test(self, bits: FifoWord) -> bool {
        self.0.test(bits.bits())
    }
}

impl EventWord for Word {
    fn load(&self) -> u32 {
        self.0.load()
    }
    fn cmpxchg(&self, old: u32, new: u32) -> u32 {
        self.0.cmpxchg(old, new)
    }
    fn set_bits(&self, bits: FifoWord) {
        self.0.set_bit(bits.bits().trailing_zeros())
    }
    fn clear_bits(&self, bits: FifoWord) {
        self.0.clear_bit(bits.bits().trailing_zeros())
    }
}

/// C's `evtchn_fifo_word_from_port()`.
#[inline(always)]
fn word_from_port(d: Dom, port: Port) -> Option<Word> {
    store::word(d, port).map(Word)
}

/// Lock the queue tails of `q` and `old` (once if they are the same queue), lower address
/// first, as C. The caller has interrupts disabled (an [`IrqSave`] declared before the guards,
/// so it is restored after both are released).
fn lock_queues<'a>(
    q: &'a Queue,
    old: &'a Queue,
) -> (SpinLockGuard<'a, Port>, Option<SpinLockGuard<'a, Port>>) {
    if core::ptr::eq(q, old) {
        (q.tail().lock(), None)
    } else if (q as *const Queue) < (old as *const Queue) {
        let gq = q.tail().lock();
        let go = old.tail().lock();
        (gq, Some(go))
    } else {
        let go = old.tail().lock();
        let gq = q.tail().lock();
        (gq, Some(go))
    }
}

/// C's `evtchn_fifo_set_pending()`.
pub(super) fn set_pending(v: Vcpu, c: Chan) {
    let (d, port, vid) = (v.domain(), c.port(), v.id());
    let Some(word) = word_from_port(d, port) else {
        // No event array page yet: remember, add_page_to_event_array() re-raises it.
        c.set_pending_flag(true);
        return;
    };
    let Some(fv) = store::vcpu_state(v) else { return };

    let mut linked = true;
    let mut check_pollers = false;
    let mut q_prio = 0u8;
    let mut done = false;
    // Interrupts off around both queue locks (C: spin_lock_irqsave on the first).
    let _irq = IrqSave::new();
    for _try in 0..3 {
        let (lp, lv) = c.fifo_lastq();
        let Some(old_fv) = d.vcpu(lv).and_then(store::vcpu_state) else { break };
        let q = fv.queue(c.priority());
        let old_q = old_fv.queue(lp);
        let (mut gq, mut gold) = lock_queues(q, old_q);
        // The channel may have moved queues before we got the locks: look again.
        let (lp2, lv2) = c.fifo_lastq();
        let old_now =
            d.vcpu(lv2).and_then(store::vcpu_state).map(|f| f.queue(lp2) as *const Queue);
        if !core::ptr::eq(q, fv.queue(c.priority())) || old_now != Some(old_q as *const Queue) {
            continue;
        }
        done = true;
        q_prio = q.priority();
        if !fv.has_control_block() {
            // The guest must not unmask before its control block exists: drop the event.
            printk!("<G><1>d{}v{} has no FIFO event channel control block\n", d.id(), vid);
            break;
        }
        check_pollers = !word.0.test_and_set(PENDING_BIT);
        // Link the event if it is unmasked and not already linked.
        if !word.test(FifoWord::MASKED) && !word.0.test_and_set(LINKED_BIT) {
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
                c.set_fifo_lastq(q.priority(), vid);
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
                q.set_head(port);
            }
            *gq = port;
        }
        break;
    }
    drop(_irq);
    if !done {
        printk!("<G><1>d{} port {} lost event (too many queue changes)\n", d.id(), port);
    }
    if !linked && fv.test_and_set_ready(d, q_prio) == Some(false) {
        v.mark_events_pending();
    }
    if check_pollers {
        d.check_pollers(port);
    }
}

/// C's `evtchn_fifo_unmask()`.
pub(super) fn unmask(d: Dom, c: Chan) {
    let Some(w) = word_from_port(d, c.port()) else { return };
    w.clear_bits(FifoWord::MASKED);
    if w.test(FifoWord::PENDING)
        && let Some(v) = d.vcpu(c.notify_vcpu())
    {
        set_pending(v, c);
    }
}

// ---- the ops table ----

/// The FIFO ABI's port ops, as C calls them through `d->evtchn_port_ops`.
struct Fifo;

impl PortOps for Fifo {
    const HAS_INIT: bool = true;
    const HAS_IS_BUSY: bool = true;
    const HAS_SET_PRIORITY: bool = true;

    fn init(_d: Dom, c: Chan) {
        c.set_priority(PRIORITY_DEFAULT);
    }
    fn set_pending(v: Vcpu, c: Chan) {
        set_pending(v, c)
    }
    fn clear_pending(d: Dom, c: Chan) {
        if let Some(w) = word_from_port(d, c.port()) {
            w.clear_bits(FifoWord::PENDING);
        }
    }
    fn unmask(d: Dom, c: Chan) {
        unmask(d, c)
    }
    fn is_pending(d: Dom, c: Chan) -> bool {
        word_from_port(d, c.port()).is_some_and(|w| w.test(FifoWord::PENDING))
    }
    fn is_masked(d: Dom, c: Chan) -> bool {
        word_from_port(d, c.port()).is_none_or(|w| w.test(FifoWord::MASKED))
    }
    fn is_busy(d: Dom, c: Chan) -> bool {
        word_from_port(d, c.port()).is_some_and(|w| w.test(FifoWord::LINKED))
    }
    fn set_priority(_d: Dom, c: Chan, prio: u32) -> Result<(), Errno> {
        if prio > PRIORITY_MIN {
            return Err(Errno::EINVAL);
        }
        c.set_priority(prio as u8);
        Ok(())
    }
    fn print_state(d: Dom, c: Chan) {
        match word_from_port(d, c.port()) {
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
}

static EVTCHN_PORT_OPS_FIFO: PortOpsTable = PortOpsTable::new::<Fifo>();

/// `d` runs the FIFO ABI: its port ops are this table (callers hold the event lock or a
/// channel lock, as C's readers of d->evtchn_port_ops).
#[inline(always)]
pub(super) fn is_fifo(d: Dom) -> bool {
    d.port_ops_are(&EVTCHN_PORT_OPS_FIFO)
}

// ---- set-up and teardown ----

fn for_each_vcpu(d: Dom, mut f: impl FnMut(Vcpu) -> Result<(), Errno>) -> Result<(), Errno> {
    for id in 0..d.max_vcpus() {
        if let Some(v) = d.vcpu(id) {
            f(v)?;
        }
    }
    Ok(())
}

/// C's `evtchn_fifo_destroy()`.
pub(super) fn destroy(d: Dom) {
    store::destroy(d)
}

/// C's `evtchn_fifo_init_control()`: `ENOENT` no such vCPU; `EINVAL` offset crossing the page
/// or misaligned, a control block already mapped, or a bad gfn (XSA-188: nothing is left
/// published on failure); `ENOMEM`.
pub(super) fn init_control(d: Dom, gfn: u64, offset: u32, vcpu: u32) -> Result<(), Errno> {
    let v = d.vcpu(vcpu).ok_or(Errno::ENOENT)?;
    // Must not cross the page; then clamped so that it stays inside the page even under
    // speculation (C: array_index_nospec(offset, PAGE_SIZE - sizeof(control block) + 1)),
    // before the alignment check, as C.
    if offset > PAGE_SIZE - CONTROL_BLOCK_SIZE {
        return Err(Errno::EINVAL);
    }
    let offset = nospec(offset, PAGE_SIZE - CONTROL_BLOCK_SIZE + 1) as u32;
    if offset & 7 != 0 {
        return Err(Errno::EINVAL);
    }
    let _l = d.event_lock();
    if store::domain_state(d).is_some() {
        return store::map_control_block(v, gfn, offset);
    }
    let prev_evtchns = PortTable::abi_max_ports(d);
    let r = (|| {
        for_each_vcpu(d, store::alloc_vcpu)?;
        store::alloc_domain(d)?;
        store::map_control_block(v, gfn, offset)?;
        // The FIFO state before the ops that use it (pairs with word_from_port()).
        core::sync::atomic::fence(core::sync::atomic::Ordering::Release);
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
fn setup_ports(d: Dom, prev: u32) {
    for port in 1..prev {
        let Some(c) = d.chan(port) else { break };
        // The inline 2L bit test; port < 4096: prev is the 2L count.
        if Xen2L(d).test_pending(port) {
            c.set_pending_flag(true);
        }
        c.set_priority(PRIORITY_DEFAULT);
    }
}

/// C's `evtchn_fifo_expand_array()`: `EOPNOTSUPP` without FIFO; `ENOSPC` when full; map errors.
pub(super) fn expand_array(d: Dom, gfn: u64) -> Result<(), Errno> {
    if store::domain_state(d).is_none() {
        return Err(Errno::EOPNOTSUPP);
    }
    let _l = d.event_lock();
    let added = store::add_page(d, gfn)?;
    // Re-raise events that were pending while their page was missing.
    for port in added {
        let Some(c) = d.chan(port) else { break };
        if c.pending()
            && let Some(v) = d.vcpu(c.notify_vcpu())
        {
            set_pending(v, c);
        }
    }
    Ok(())
}

/// Back to 2L after a reset (C: evtchn_fifo_destroy + evtchn_2l_init). Event lock held.
pub(super) fn back_to_2l(d: Dom) {
    if store::domain_state(d).is_some() {
        destroy(d);
        d.set_port_ops(&EVTCHN_PORT_OPS_2L);
    }
}
