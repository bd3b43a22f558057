//! Guest memory for message rings (V4V, Argo): whole pages that Xen maps and writes, handed
//! out from a fixed arena of guest RAM, plus the receiver's view of one ring's bytes and the
//! VIRQ a ring protocol notifies on.
//!
//! The arena is [`ARENA_BASE`]..+[`ARENA_SIZE`] (guest RAM from 4 MiB: above the image, which
//! must end below 2 MiB, and below the DTB, which Xen puts at the top of a domain's RAM when it
//! has less than 128 MiB — so a domain using rings needs `DOMU_MEM` of at least 16 MiB; [`check`]
//! compares the arena with where the DTB really is). Pages are only ever accessed through raw
//! pointers (volatile or atomic accesses, or copies of bytes Xen no longer writes), never
//! through a Rust reference, since Xen writes them at any time. Guest RAM is identity-mapped:
//! a page's guest frame number is its address >> 12.
//!
//! Allocation is a bump pointer (rings live for the rest of the test); a ring's pages can be
//! bracketed by guard pages filled with a pattern ([`Pages::alloc_guarded`]) so that a test
//! can see Xen writing outside them.

use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use super::{evtchn, timer, upcall};
use crate::abi::{Errno, EvtchnPort};
use crate::registry::Env;
use crate::ring::{Received, RingBytes, RingError};

pub const PAGE: usize = 4096;
pub const ARENA_BASE: usize = 0x4040_0000;
pub const ARENA_SIZE: usize = 8 << 20;
/// What guard pages are filled with.
pub const GUARD_BYTE: u8 = 0xa5;

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// Whether the arena lies below the device tree (so a test can use it); `Err` says where
/// the DTB is. The bootargs string lives inside the DTB.
pub fn check(env: &Env<'_>) -> Result<(), usize> {
    let dtb = env.bootargs.as_ptr() as usize;
    if !env.bootargs.is_empty() && dtb >= ARENA_BASE && dtb < ARENA_BASE + ARENA_SIZE {
        return Err(dtb);
    }
    Ok(())
}

/// The 32-bit word at `addr` if it lies in arena pages already handed out (e.g. a ring's
/// `rx_ptr`, for another vCPU to scribble on), 4-aligned.
pub fn arena_word(addr: usize) -> Option<&'static AtomicU32> {
    let used = NEXT.load(Ordering::Relaxed).min(ARENA_SIZE);
    if addr % 4 != 0 || addr < ARENA_BASE || addr + 4 > ARENA_BASE + used {
        return None;
    }
    // SAFETY: inside arena pages (checked), which live for the guest's life and are only
    // accessed through raw pointers and atomics; 4-aligned.
    Some(unsafe { AtomicU32::from_ptr(addr as *mut u32) })
}

/// Contiguous pages of the arena.
#[derive(Clone, Copy, Debug)]
pub struct Pages {
    addr: usize,
    count: usize,
}

impl Pages {
    /// `count` fresh zeroed pages, or `None` when the arena is used up.
    pub fn alloc(count: usize) -> Option<Pages> {
        let bytes = count.checked_mul(PAGE)?;
        let off = NEXT.fetch_add(bytes, Ordering::Relaxed);
        if off + bytes > ARENA_SIZE {
            return None;
        }
        let p = Pages { addr: ARENA_BASE + off, count };
        p.fill(0);
        Some(p)
    }

    /// `count` pages with a guard page before and after, both filled with [`GUARD_BYTE`];
    /// returns the middle pages and the whole block.
    pub fn alloc_guarded(count: usize) -> Option<(Pages, Pages)> {
        let all = Pages::alloc(count + 2)?;
        all.fill(GUARD_BYTE);
        let inner = Pages { addr: all.addr + PAGE, count };
        inner.fill(0);
        Some((inner, all))
    }

    /// `count` fresh zeroed pages as a plain buffer (e.g. a message larger than the stack
    /// allows). Never handed to Xen as ring memory.
    pub fn buffer(count: usize) -> Option<&'static mut [u8]> {
        let p = Pages::alloc(count)?;
        // SAFETY: the bump allocator hands these pages out exactly once (never reused), so
        // this is the only reference to them; they are guest RAM, mapped Normal, for the
        // guest's life.
        Some(unsafe { core::slice::from_raw_parts_mut(p.addr as *mut u8, p.bytes()) })
    }

    pub fn addr(&self) -> usize {
        self.addr
    }

    pub fn count(&self) -> usize {
        self.count
    }

    pub fn bytes(&self) -> usize {
        self.count * PAGE
    }

    /// Guest frame number of page `i`.
    pub fn gfn(&self, i: usize) -> u64 {
        ((self.addr + i * PAGE) >> 12) as u64
    }

    /// Sets every byte.
    pub fn fill(&self, v: u8) {
        // SAFETY: the pages are arena memory only this module hands out, never referenced by
        // Rust; write_bytes stays within them.
        unsafe { core::ptr::write_bytes(self.addr as *mut u8, v, self.bytes()) };
    }

    /// Reads byte `off` (volatile: Xen may have written it).
    pub fn read_u8(&self, off: usize) -> u8 {
        assert!(off < self.bytes());
        // SAFETY: inside the pages (checked); a volatile byte read of RAM.
        unsafe { core::ptr::read_volatile((self.addr + off) as *const u8) }
    }

    /// Writes byte `off`.
    pub fn write_u8(&self, off: usize, v: u8) {
        assert!(off < self.bytes());
        // SAFETY: as read_u8.
        unsafe { core::ptr::write_volatile((self.addr + off) as *mut u8, v) }
    }

    /// The 32-bit word at `off` (4-aligned), as an atomic.
    pub fn u32_at(&self, off: usize) -> &'static AtomicU32 {
        assert!(off % 4 == 0 && off + 4 <= self.bytes());
        // SAFETY: 4-aligned, inside the pages, which live for the guest's life and are only
        // accessed through raw pointers or atomics.
        unsafe { AtomicU32::from_ptr((self.addr + off) as *mut u32) }
    }

    /// Writes a u64 at `off` (8-aligned).
    pub fn write_u64(&self, off: usize, v: u64) {
        assert!(off % 8 == 0 && off + 8 <= self.bytes());
        // SAFETY: inside the pages, aligned.
        unsafe { core::ptr::write_volatile((self.addr + off) as *mut u64, v) }
    }

    pub fn read_u64(&self, off: usize) -> u64 {
        assert!(off % 8 == 0 && off + 8 <= self.bytes());
        // SAFETY: inside the pages, aligned.
        unsafe { core::ptr::read_volatile((self.addr + off) as *const u64) }
    }

    /// Writes `v` (a plain-data value) at `off`.
    pub fn write_pod<T: Copy>(&self, off: usize, v: T) {
        assert!(off + size_of::<T>() <= self.bytes() && (self.addr + off) % align_of::<T>() == 0);
        // SAFETY: inside the pages and aligned (checked); T is Copy plain data.
        unsafe { core::ptr::write_volatile((self.addr + off) as *mut T, v) }
    }

    /// Copies `out.len()` bytes from `off`.
    pub fn read(&self, off: usize, out: &mut [u8]) {
        assert!(off + out.len() <= self.bytes());
        // SAFETY: inside the pages (checked); `out` is a distinct Rust buffer.
        unsafe {
            core::ptr::copy_nonoverlapping(
                (self.addr + off) as *const u8,
                out.as_mut_ptr(),
                out.len(),
            )
        };
    }

    /// Copies `src` to `off`.
    pub fn write(&self, off: usize, src: &[u8]) {
        assert!(off + src.len() <= self.bytes());
        // SAFETY: inside the pages (checked); `src` is a distinct Rust buffer.
        unsafe {
            core::ptr::copy_nonoverlapping(src.as_ptr(), (self.addr + off) as *mut u8, src.len())
        };
    }

    /// The first byte of `off..off + n` that is not `v`, if any.
    pub fn find_not(&self, off: usize, n: usize, v: u8) -> Option<usize> {
        (off..off + n).find(|&i| self.read_u8(i) != v)
    }

    /// FNV-1a over `off..off + n`: to see whether Xen changed a region.
    pub fn digest(&self, off: usize, n: usize) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for i in off..off + n {
            h = (h ^ u64::from(self.read_u8(i))).wrapping_mul(0x100_0000_01b3);
        }
        h
    }
}

pub use crate::ring::{MAX_SCATTER, check_order};

/// One ring's `ring[]` as [`RingBytes`]: `len` bytes at `data` in `pages`. With `order`, the
/// ring's page `i` (as the pfn list names it) is `pages`' page `order[i]`: what Xen sees as
/// one ring is scattered over our pages, and reads follow the list.
pub struct RingData {
    pub pages: Pages,
    pub data: usize,
    pub len: u32,
    pub order: Option<[u16; MAX_SCATTER]>,
}

impl RingData {
    /// Where the ring's byte `logical` (from the header's start) is in `pages`.
    pub fn physical(&self, logical: usize) -> usize {
        match &self.order {
            None => logical,
            Some(o) => o[logical / PAGE] as usize * PAGE + logical % PAGE,
        }
    }

    /// Whether the bytes of the ring's pages past header + len are still zero;
    /// `Err(logical offset)` of the first one that is not.
    pub fn tail_intact(&self) -> Result<(), usize> {
        let end = self.data + self.len as usize;
        let all = end.div_ceil(PAGE) * PAGE;
        match (end..all).find(|&l| self.pages.read_u8(self.physical(l)) != 0) {
            Some(l) => Err(l),
            None => Ok(()),
        }
    }
}

impl RingBytes for RingData {
    fn len(&self) -> u32 {
        self.len
    }

    fn read(&self, off: u32, out: &mut [u8]) {
        assert!(off as usize + out.len() <= self.len as usize);
        let mut done = 0;
        while done < out.len() {
            let logical = self.data + off as usize + done;
            let n = (PAGE - logical % PAGE).min(out.len() - done);
            self.pages.read(self.physical(logical), &mut out[done..done + n]);
            done += n;
        }
    }
}

/// A receiver's ring as both ABIs lay it out in memory (V4V and Argo differ in the header and
/// in how the pages are listed to Xen, not here): a `header`-byte header with `rx_ptr` at
/// `rx_off` and `tx_ptr` 4 bytes after it, then `len` bytes of ring data, over `npage`
/// pages between two guard pages, listed to Xen in `order` once [`RingMem::scatter`]ed.
/// The ABI's `Ring` types wrap this (and deref to it) with their registration data.
pub struct RingMem {
    /// Header + ring[] pages.
    pub pages: Pages,
    /// The same with the guard page before and after.
    pub guarded: Pages,
    pub len: u32,
    pub npage: u32,
    /// The page list's order over `pages` (None: in order).
    pub order: Option<[u16; MAX_SCATTER]>,
    header: usize,
    rx_off: usize,
}

impl RingMem {
    /// `npage` (at least one) guarded pages from the arena; `None` if it is used up.
    pub fn alloc(len: u32, npage: u32, header: usize, rx_off: usize) -> Option<RingMem> {
        let (pages, guarded) = Pages::alloc_guarded(npage.max(1) as usize)?;
        Some(RingMem { pages, guarded, len, npage, order: None, header, rx_off })
    }

    pub fn rx_ptr(&self) -> u32 {
        self.pages.u32_at(self.rx_off).load(Ordering::Acquire)
    }

    pub fn tx_ptr(&self) -> u32 {
        self.pages.u32_at(self.rx_off + 4).load(Ordering::Acquire)
    }

    /// Publishes `rx_ptr` (release: after every read of the bytes it frees).
    pub fn set_rx_ptr(&self, v: u32) {
        self.pages.u32_at(self.rx_off).store(v, Ordering::Release);
    }

    /// Writes `tx_ptr` (as a hostile owner would; Xen must not trust it).
    pub fn set_tx_ptr(&self, v: u32) {
        self.pages.u32_at(self.rx_off + 4).store(v, Ordering::Release);
    }

    /// Guest address of rx_ptr (for a second vCPU that rewrites it behind our back).
    pub fn rx_ptr_addr(&self) -> usize {
        self.pages.addr() + self.rx_off
    }

    fn data(&self) -> RingData {
        RingData { pages: self.pages, data: self.header, len: self.len, order: self.order }
    }

    /// Copies the next message's payload into `out` and consumes it; `None` if empty.
    pub fn recv(&self, out: &mut [u8]) -> Result<Option<Received>, RingError> {
        let tx = self.tx_ptr();
        let rx = self.rx_ptr();
        let got = crate::ring::copy_out(&self.data(), rx, tx, out)?;
        if let Some(m) = got {
            self.set_rx_ptr(m.next_rx);
        }
        Ok(got)
    }

    /// Whether rx_ptr == tx_ptr.
    pub fn is_empty(&self) -> bool {
        self.rx_ptr() == self.tx_ptr()
    }

    /// Whether both guard pages still hold only the guard pattern; `Err(offset)` of the
    /// first changed byte from the start of the guarded block.
    pub fn guards_intact(&self) -> Result<(), usize> {
        if let Some(i) = self.guarded.find_not(0, PAGE, GUARD_BYTE) {
            return Err(i);
        }
        match self.guarded.find_not(PAGE + self.pages.bytes(), PAGE, GUARD_BYTE) {
            Some(i) => Err(i),
            None => Ok(()),
        }
    }

    /// Lists the ring's pages to Xen in `order` (a permutation keeping page 0 first, at most
    /// [`MAX_SCATTER`] pages) through `list(i, gfn)`, which writes entry `i` of the ABI's page
    /// list: Xen must follow it, so message bytes land scattered over our pages; [`Self::recv`]
    /// reads them back through the same list. Before registering. `false` if `order` is not
    /// such a permutation.
    pub fn scatter(&mut self, order: &[u16], mut list: impl FnMut(usize, u64)) -> bool {
        let Some(o) = check_order(order, self.npage as usize) else {
            return false;
        };
        for (i, &p) in order.iter().enumerate() {
            list(i, self.pages.gfn(p as usize));
        }
        self.order = Some(o);
        true
    }

    /// Whether the bytes of the ring's pages past header + len (to the end of its last page)
    /// are still zero: Xen must not write there either. `Err(offset)` from the header.
    pub fn tail_intact(&self) -> Result<(), usize> {
        self.data().tail_intact()
    }

    /// A digest of header and ring[] (to see that a failed send changed nothing).
    pub fn digest(&self) -> u64 {
        self.pages.digest(0, self.header + self.len as usize)
    }
}

/// A VIRQ bound on vCPU 0 that ring protocols notify on; the upcall (xtf `upcall::start` must
/// have run) takes it. Waiting counts upcall deliveries on vCPU 0, so the domain should have
/// no other port bound to vCPU 0 that fires.
#[derive(Clone, Copy, Debug)]
pub struct Notifier {
    pub port: EvtchnPort,
}

impl Notifier {
    /// EVTCHNOP_bind_virq(`virq`, vCPU 0).
    pub fn bind(virq: u32) -> Result<Notifier, Errno> {
        Ok(Notifier { port: evtchn::bind_virq(virq, 0)? })
    }

    /// Events taken so far (a value to pass to [`Notifier::wait_after`]).
    pub fn count(&self) -> usize {
        upcall::delivered(0)
    }

    /// Waits until more than `seen` events were taken, or `timeout_ms` pass; `true` if so.
    /// Reports nothing.
    pub fn wait_after(&self, seen: usize, timeout_ms: u64) -> bool {
        timer::poll_until(timeout_ms, || upcall::delivered(0) > seen)
    }
}
