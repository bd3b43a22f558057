//! The 2-level ABI (C: common/event_2l.c): one pending and one mask bit per port in the
//! guest's shared_info, and a per-vCPU selector word saying which pending words to scan.
//!
//! The bit operations act on memory the guest writes concurrently; in Xen they are the
//! bounded `guest_*` atomics of asm/guest_atomics.h (XSA-295: a guest cannot livelock Xen —
//! after the bounded retries the domain is paused and the operation completes).

use crate::abi::Port;

/// The guest-shared bits, for one domain.
pub trait TwoLevelBits {
    /// `BITS_PER_EVTCHN_WORD(d)`: 64 on arm64.
    fn bits_per_word(&self) -> u32;
    fn test_and_set_pending(&self, port: Port) -> bool;
    fn test_pending(&self, port: Port) -> bool;
    fn clear_pending(&self, port: Port);
    fn test_mask(&self, port: Port) -> bool;
    fn test_and_clear_mask(&self, port: Port) -> bool;
    /// The selector bit `word` of vCPU `vcpu`.
    fn test_and_set_sel(&self, vcpu: u32, word: u32) -> bool;
    /// `vcpu_mark_events_pending(v)`: raise the upcall.
    fn mark_events_pending(&self, vcpu: u32);
    /// `evtchn_check_pollers(d, port)`: wake vCPUs polling for the port.
    fn check_pollers(&self, port: Port);
}

/// `evtchn_2l_set_pending()`: the bit operations happen in this strict order.
pub fn set_pending<B: TwoLevelBits>(b: &B, vcpu: u32, port: Port) {
    if b.test_and_set_pending(port) {
        return;
    }
    if !b.test_mask(port) && !b.test_and_set_sel(vcpu, port / b.bits_per_word()) {
        b.mark_events_pending(vcpu);
    }
    b.check_pollers(port);
}

/// `evtchn_2l_unmask()`: `vcpu` is the channel's notification vCPU.
pub fn unmask<B: TwoLevelBits>(b: &B, vcpu: u32, port: Port) {
    if b.test_and_clear_mask(port)
        && b.test_pending(port)
        && !b.test_and_set_sel(vcpu, port / b.bits_per_word())
    {
        b.mark_events_pending(vcpu);
    }
}

/// `evtchn_2l_is_pending()`.
pub fn is_pending<B: TwoLevelBits>(b: &B, port: Port) -> bool {
    let max = b.bits_per_word() * b.bits_per_word();
    port < max && b.test_pending(port)
}

/// `evtchn_2l_is_masked()`.
pub fn is_masked<B: TwoLevelBits>(b: &B, port: Port) -> bool {
    let max = b.bits_per_word() * b.bits_per_word();
    port >= max || b.test_mask(port)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::{Cell, RefCell};

    struct Bits {
        pending: RefCell<[u64; 64]>,
        mask: RefCell<[u64; 64]>,
        sel: RefCell<[u64; 2]>,
        upcalls: Cell<u32>,
        polls: Cell<u32>,
    }
    impl Default for Bits {
        fn default() -> Self {
            Bits {
                pending: RefCell::new([0; 64]),
                mask: RefCell::new([0; 64]),
                sel: RefCell::new([0; 2]),
                upcalls: Cell::new(0),
                polls: Cell::new(0),
            }
        }
    }
    fn tas(w: &mut u64, bit: u32) -> bool {
        let old = *w >> bit & 1 == 1;
        *w |= 1 << bit;
        old
    }
    impl TwoLevelBits for Bits {
        fn bits_per_word(&self) -> u32 {
            64
        }
        fn test_and_set_pending(&self, p: Port) -> bool {
            tas(&mut self.pending.borrow_mut()[(p / 64) as usize], p % 64)
        }
        fn test_pending(&self, p: Port) -> bool {
            self.pending.borrow()[(p / 64) as usize] >> (p % 64) & 1 == 1
        }
        fn clear_pending(&self, p: Port) {
            self.pending.borrow_mut()[(p / 64) as usize] &= !(1 << (p % 64));
        }
        fn test_mask(&self, p: Port) -> bool {
            self.mask.borrow()[(p / 64) as usize] >> (p % 64) & 1 == 1
        }
        fn test_and_clear_mask(&self, p: Port) -> bool {
            let r = self.test_mask(p);
            self.mask.borrow_mut()[(p / 64) as usize] &= !(1 << (p % 64));
            r
        }
        fn test_and_set_sel(&self, v: u32, w: u32) -> bool {
            tas(&mut self.sel.borrow_mut()[v as usize], w)
        }
        fn mark_events_pending(&self, _v: u32) {
            self.upcalls.set(self.upcalls.get() + 1);
        }
        fn check_pollers(&self, _p: Port) {
            self.polls.set(self.polls.get() + 1);
        }
    }

    #[test]
    fn masked_port_raises_upcall_on_unmask_only() {
        let b = Bits::default();
        b.mask.borrow_mut()[1] = 1 << 2; // port 66 masked
        set_pending(&b, 0, 66);
        assert!(is_pending(&b, 66));
        assert_eq!(b.upcalls.get(), 0);
        unmask(&b, 0, 66);
        assert_eq!(b.upcalls.get(), 1);
        assert_eq!(b.sel.borrow()[0], 1 << 1);
        // A second send while pending changes nothing and does not check pollers again.
        set_pending(&b, 0, 66);
        assert_eq!(b.upcalls.get(), 1);
        assert_eq!(b.polls.get(), 1);
    }

    #[test]
    fn selector_bit_collapses_upcalls() {
        let b = Bits::default();
        set_pending(&b, 1, 3);
        set_pending(&b, 1, 4);
        assert_eq!(b.upcalls.get(), 1);
        assert!(is_masked(&b, 4096));
        assert!(!is_pending(&b, 4096));
    }
}
