//! The FIFO ABI's event-word link protocol (C: event_fifo.c's try_set_link /
//! evtchn_fifo_set_link), generic over the word so the host can model-check it with loom
//! (tests/loom_fifo.rs) while Xen runs it on the guest's mapped event array.
//!
//! An event word is shared with the guest, which unlinks events (clears LINKED and the LINK
//! field) concurrently. Xen links a new tail only if the old tail is still LINKED, with a
//! compare-and-swap; to stop the guest unmasking/unlinking under it, it sets BUSY first.
//! Every loop is bounded (XSA-295): after a few failed attempts the link is given up with a
//! warning and the event is treated as linked, as C does.

use crate::abi::FifoWord;

/// Atomic access to one event word in guest memory.
pub trait EventWord {
    fn load(&self) -> u32;
    /// Compare-and-swap; returns the value found.
    fn cmpxchg(&self, old: u32, new: u32) -> u32;
    /// `guest_set_bit` / `guest_clear_bit` (bounded guest atomics in Xen).
    fn set_bits(&self, bits: FifoWord);
    fn clear_bits(&self, bits: FifoWord);
}

/// Outcome of [`set_link`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Link {
    /// The tail was not linked (the queue is empty): the caller writes the queue head.
    NotLinked,
    /// `link` was written into the (linked) tail word, or given up after bounded retries.
    Linked,
}

/// C's `try_set_link()`: `Some(result)` when done, `None` when the CAS lost a race (`w`
/// then holds the value found).
fn try_set_link<W: EventWord>(word: &W, w: &mut u32, link: u32) -> Option<Link> {
    if *w & FifoWord::LINKED.bits() == 0 {
        return Some(Link::NotLinked);
    }
    let old = *w;
    let new =
        (old & !(FifoWord::BUSY.bits() | FifoWord::LINK.bits())) | (link & FifoWord::LINK.bits());
    *w = word.cmpxchg(old, new);
    if *w == old { Some(Link::Linked) } else { None }
}

/// Attempts after BUSY is set (C: 4).
pub const SET_LINK_TRIES: u32 = 4;

/// C's `evtchn_fifo_set_link()`: link `link` after the tail `word`.
pub fn set_link<W: EventWord>(word: &W, link: u32) -> Link {
    let mut w = word.load();
    if let Some(r) = try_set_link(word, &mut w, link) {
        return r;
    }
    // Lock the word against the guest unmasking it.
    word.set_bits(FifoWord::BUSY);
    w = word.load();
    for _ in 0..SET_LINK_TRIES {
        if let Some(r) = try_set_link(word, &mut w, link) {
            if r == Link::NotLinked {
                word.clear_bits(FifoWord::BUSY);
            }
            return r;
        }
    }
    // Gave up (a guest fighting us): C warns and reports "linked".
    word.clear_bits(FifoWord::BUSY);
    Link::Linked
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    struct W(Cell<u32>, Cell<u32>); // value, CAS failures to inject
    impl EventWord for W {
        fn load(&self) -> u32 {
            self.0.get()
        }
        fn cmpxchg(&self, old: u32, new: u32) -> u32 {
            if self.1.get() > 0 {
                self.1.set(self.1.get() - 1);
                // The guest touched the word in between: flip PENDING.
                self.0.set(self.0.get() ^ FifoWord::PENDING.bits());
                return self.0.get();
            }
            let cur = self.0.get();
            if cur == old {
                self.0.set(new);
            }
            cur
        }
        fn set_bits(&self, b: FifoWord) {
            self.0.set(self.0.get() | b.bits());
        }
        fn clear_bits(&self, b: FifoWord) {
            self.0.set(self.0.get() & !b.bits());
        }
    }

    #[test]
    fn links_a_linked_tail_and_keeps_flags() {
        let w = W(Cell::new(FifoWord::LINKED.bits() | FifoWord::PENDING.bits() | 7), Cell::new(0));
        assert_eq!(set_link(&w, 42), Link::Linked);
        assert_eq!(w.0.get(), FifoWord::LINKED.bits() | FifoWord::PENDING.bits() | 42);
    }

    #[test]
    fn unlinked_tail_means_empty_queue() {
        let w = W(Cell::new(FifoWord::PENDING.bits()), Cell::new(0));
        assert_eq!(set_link(&w, 5), Link::NotLinked);
        assert_eq!(w.0.get() & FifoWord::BUSY.bits(), 0);
    }

    #[test]
    fn bounded_retries_then_gives_up_and_clears_busy() {
        let w = W(Cell::new(FifoWord::LINKED.bits()), Cell::new(100));
        assert_eq!(set_link(&w, 9), Link::Linked);
        assert_eq!(w.0.get() & FifoWord::BUSY.bits(), 0);
        // 1 try before BUSY + SET_LINK_TRIES after it: no more.
        assert_eq!(w.1.get(), 100 - 1 - SET_LINK_TRIES);
    }

    #[test]
    fn busy_is_cleared_by_the_link_itself() {
        let w = W(Cell::new(FifoWord::LINKED.bits()), Cell::new(1));
        assert_eq!(set_link(&w, 3), Link::Linked);
        assert_eq!(w.0.get() & (FifoWord::BUSY.bits() | FifoWord::LINK.bits()), 3);
    }
}
