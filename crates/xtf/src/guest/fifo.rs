//! The FIFO event channel ABI from the guest side: control blocks and the event array in
//! guest pages, event words read and changed atomically, queues walked from their heads.
//!
//! Pages: Xen maps control block and event array pages from guest RAM (get_page_from_gfn), so
//! they must be real RAM, not a frame outside it like shared_info's. They live in a fixed
//! region, [`REGION_BASE`] (16 MiB into the domain's RAM, above the image and below the DTB
//! that Xen puts in the last 2 MiB): one control page per vCPU, then up to
//! [`fifo::MAX_ARRAY_PAGES`] array pages, then one spare. A domain using this module needs
//! `DOMU_MEM` ≥ 32 (MiB); nothing else in the guest uses the region.
//!
//! Xen writes these pages at any time once it has them: everything here is an atomic access
//! through a raw address, never a Rust reference.
//!
//! ```ignore
//! let f = Fifo::new();
//! f.init_control(0, 0)?;          // vCPU 0, control block at offset 0 of its page
//! f.expand()?;                     // event array page 0: ports 0..1023
//! evtchn::send(port)?;
//! assert!(f.word(port).contains(EventWordFlags::PENDING | EventWordFlags::LINKED));
//! assert_eq!(f.control(0).unwrap().head(7), port);
//! ```

use core::cell::Cell;
use core::sync::atomic::{AtomicU32, Ordering};

use super::evtchn;
use crate::abi::{Errno, EventWord, EventWordFlags, EvtchnPort, fifo};

const PAGE_SIZE: usize = 4096;
/// First byte of the FIFO page region (guest physical = virtual).
pub const REGION_BASE: usize = 0x4100_0000;
/// vCPUs that can have a control page here.
pub const MAX_VCPUS: usize = 8;
/// Frame of vCPU `v`'s control page.
pub const fn control_gfn(vcpu: u32) -> u64 {
    ((REGION_BASE >> 12) + vcpu as usize) as u64
}
/// Frame of event array page `i` (0..=MAX_ARRAY_PAGES: the last one is a spare, for
/// "one page past the limit").
pub const fn array_gfn(i: u32) -> u64 {
    ((REGION_BASE >> 12) + MAX_VCPUS + i as usize) as u64
}
/// One byte past the region.
pub const REGION_END: usize = (array_gfn(fifo::MAX_ARRAY_PAGES + 1) as usize) << 12;

/// Zeroes the page at frame `gfn`, which must lie in the region.
fn zero_page(gfn: u64) {
    let addr = (gfn as usize) << 12;
    assert!((REGION_BASE..REGION_END).contains(&addr), "frame {gfn:#x} is not a FIFO page");
    for i in 0..PAGE_SIZE / 4 {
        // SAFETY: addr is a page of the FIFO region (checked): guest RAM that no Rust object
        // uses, mapped Normal by the identity map; 4-aligned.
        unsafe { AtomicU32::from_ptr((addr + 4 * i) as *mut u32) }.store(0, Ordering::SeqCst);
    }
}

/// The 32-bit word at `addr` in the FIFO region, for guests (fuzzers) that write control
/// blocks and event words at addresses of their own choosing. Panics outside the region.
pub fn u32_at(addr: usize) -> &'static AtomicU32 {
    assert!((REGION_BASE..REGION_END).contains(&addr) && addr % 4 == 0);
    // SAFETY: inside the FIFO region (checked), 4-aligned: RAM no Rust object uses, which Xen
    // accesses atomically (guest_* bitops, cmpxchg, write_atomic) or not at all.
    unsafe { AtomicU32::from_ptr(addr as *mut u32) }
}

/// A vCPU's `struct evtchn_fifo_control_block` in guest memory.
#[derive(Clone, Copy, Debug)]
pub struct ControlBlock {
    addr: usize,
}

impl ControlBlock {
    /// The control block at `gfn`:`offset` (inside the FIFO region).
    pub fn at(gfn: u64, offset: u32) -> Self {
        Self { addr: ((gfn as usize) << 12) + offset as usize }
    }

    /// `ready`: bit q set while queue q has events (Xen sets, the guest clears).
    pub fn ready(&self) -> u32 {
        u32_at(self.addr).load(Ordering::SeqCst)
    }

    pub fn set_ready(&self, v: u32) {
        u32_at(self.addr).store(v, Ordering::SeqCst);
    }

    /// `head[q]`: the first event of queue q, as Xen last wrote it (0: none written).
    pub fn head(&self, q: u32) -> EvtchnPort {
        assert!(q < fifo::MAX_QUEUES as u32);
        u32_at(self.addr + 8 + 4 * q as usize).load(Ordering::SeqCst)
    }

    pub fn set_head(&self, q: u32, port: EvtchnPort) {
        assert!(q < fifo::MAX_QUEUES as u32);
        u32_at(self.addr + 8 + 4 * q as usize).store(port, Ordering::SeqCst);
    }

    /// Zeroes ready and every head.
    pub fn clear(&self) {
        self.set_ready(0);
        for q in 0..fifo::MAX_QUEUES as u32 {
            self.set_head(q, 0);
        }
    }
}

/// The guest's view of its FIFO set-up: which vCPUs have control blocks (and where), how
/// many event array pages Xen has. One per test; it only tracks what went through it.
pub struct Fifo {
    pages: Cell<u32>,
    offsets: [Cell<Option<u32>>; MAX_VCPUS],
}

impl Default for Fifo {
    fn default() -> Self {
        Self::new()
    }
}

impl Fifo {
    pub const fn new() -> Self {
        Self { pages: Cell::new(0), offsets: [const { Cell::new(None) }; MAX_VCPUS] }
    }

    /// Zeroes vCPU `vcpu`'s control page and issues EVTCHNOP_init_control for it at
    /// `offset`; returns link_bits.
    pub fn init_control(&self, vcpu: u32, offset: u32) -> Result<u8, Errno> {
        assert!((vcpu as usize) < MAX_VCPUS, "no control page for vCPU {vcpu}");
        if self.offsets[vcpu as usize].get().is_none() {
            zero_page(control_gfn(vcpu));
        }
        let r = evtchn::init_control(control_gfn(vcpu), offset, vcpu);
        if r.is_ok() {
            self.offsets[vcpu as usize].set(Some(offset));
        }
        r
    }

    /// vCPU `vcpu`'s control block, if init_control succeeded through [`Fifo::init_control`].
    pub fn control(&self, vcpu: u32) -> Option<ControlBlock> {
        let off = self.offsets.get(vcpu as usize)?.get()?;
        Some(ControlBlock::at(control_gfn(vcpu), off))
    }

    /// Adds the next event array page (zeroed: every event unmasked) with
    /// EVTCHNOP_expand_array.
    pub fn expand(&self) -> Result<(), Errno> {
        self.expand_filled(0)
    }

    /// Adds the next event array page with every word set to `fill` first (Linux fills with
    /// MASKED).
    pub fn expand_filled(&self, fill: u32) -> Result<(), Errno> {
        let i = self.pages.get();
        let gfn = array_gfn(i.min(fifo::MAX_ARRAY_PAGES));
        zero_page(gfn);
        if fill != 0 {
            for w in 0..PAGE_SIZE / 4 {
                u32_at(((gfn as usize) << 12) + 4 * w).store(fill, Ordering::SeqCst);
            }
        }
        let r = evtchn::expand_array(gfn);
        if r.is_ok() {
            self.pages.set(i + 1);
        }
        r
    }

    /// Event array pages added through this value.
    pub fn pages(&self) -> u32 {
        self.pages.get()
    }

    /// Forgets every control block and page: what EVTCHNOP_reset does on Xen's side.
    pub fn forget(&self) {
        self.pages.set(0);
        for o in &self.offsets {
            o.set(None);
        }
    }

    fn word_atomic(&self, port: EvtchnPort) -> &'static AtomicU32 {
        let page = port / fifo::WORDS_PER_PAGE;
        assert!(page < self.pages.get(), "port {port} has no event array page yet");
        u32_at(((array_gfn(page) as usize) << 12) + 4 * (port % fifo::WORDS_PER_PAGE) as usize)
    }

    /// Port `port`'s event word (its array page must have been added).
    pub fn word(&self, port: EvtchnPort) -> EventWord {
        EventWord(self.word_atomic(port).load(Ordering::SeqCst))
    }

    /// Overwrites the whole word.
    pub fn set_word(&self, port: EvtchnPort, w: EventWord) {
        self.word_atomic(port).store(w.0, Ordering::SeqCst);
    }

    /// Atomically sets `f` in the word.
    pub fn set_flags(&self, port: EvtchnPort, f: EventWordFlags) {
        self.word_atomic(port).fetch_or(f.bits(), Ordering::SeqCst);
    }

    /// Atomically clears `f` in the word.
    pub fn clear_flags(&self, port: EvtchnPort, f: EventWordFlags) {
        self.word_atomic(port).fetch_and(!f.bits(), Ordering::SeqCst);
    }

    /// Walks queue `q` of `vcpu` without consuming it: from head[q] along LINK fields while
    /// each word is LINKED, into `out`; returns the queue's length (up to 1024 steps: a
    /// cycle is cut there).
    pub fn queue(&self, vcpu: u32, q: u32, out: &mut [EvtchnPort]) -> usize {
        let Some(cb) = self.control(vcpu) else { return 0 };
        let mut port = cb.head(q);
        let mut n = 0;
        while port != 0 && n < 1024 {
            if port / fifo::WORDS_PER_PAGE >= self.pages.get() {
                break;
            }
            let w = self.word(port);
            if !w.contains(EventWordFlags::LINKED) {
                break;
            }
            if let Some(slot) = out.get_mut(n) {
                *slot = port;
            }
            n += 1;
            port = w.link();
        }
        n
    }
}
