//! What the V4V crate needs from Xen: a ring's guest pages mapped into Xen ([`RingPages`]),
//! VIRQ_V4V, the XSM questions (Argo's hooks), and the per-domain state pointer `d->v4v`.
//!
//! A ring's pages are the receiver's memory; the receiver may change them at any time. They
//! are only ever reached through raw pointers with bounds checked here (no Rust reference to
//! guest-writable memory is created), exactly as C's memcpy into a mapped page.

use crate::bindings as b;
use crate::domain::DomainRef;
use crate::errno::Errno;
use core::ffi::c_void;
use core::ptr::NonNull;

/// Bytes per mapped page.
pub const PAGE_SIZE: u32 = 4096;

/// The pages of one ring, each mapped with a general and a writable-type reference on the
/// owner's page. Unmapped and released on drop.
pub struct RingPages {
    /// `npage` slots from `_xzalloc`; the first `mapped` hold mappings.
    pages: NonNull<*mut u8>,
    npage: u32,
    mapped: u32,
}

// SAFETY: the mappings are global (valid on every pCPU) and owned by this value.
unsafe impl Send for RingPages {}

impl RingPages {
    /// Room for `npage` pages (1..=max_pages, checked by the caller's ABI checks; 0 or more
    /// than 2^20 is refused here too). `ENOMEM` if Xen's heap is short.
    pub fn new(npage: u32) -> Result<Self, Errno> {
        if npage == 0 || npage > 1 << 20 {
            return Err(Errno::EINVAL);
        }
        let bytes = npage as usize * core::mem::size_of::<*mut u8>();
        let align = core::mem::align_of::<*mut u8>();
        // SAFETY: _xzalloc takes any size and a power-of-two alignment; the zeroed memory is
        // `npage` null pointers.
        let p = unsafe { b::oxx_xzalloc_bytes(bytes as _, align as _) }.cast::<*mut u8>();
        let pages = NonNull::new(p).ok_or(Errno::ENOMEM)?;
        // INVARIANT: `pages` has `npage` slots, none mapped yet.
        Ok(Self { pages, npage, mapped: 0 })
    }

    /// Map the next page: guest frame `gfn` of `owner`, which must be ordinary writable RAM
    /// owned by `owner` (`EINVAL` otherwise, as Argo). `EINVAL` as well when all are mapped.
    pub fn map_next(&mut self, owner: &DomainRef, gfn: u64) -> Result<(), Errno> {
        if self.mapped == self.npage {
            return Err(Errno::EINVAL);
        }
        let mut virt: *mut c_void = core::ptr::null_mut();
        // SAFETY: `owner` is a live domain (RCU-locked); the helper only looks the gfn up in
        // its p2m and writes `virt` on success.
        let rc = unsafe { b::oxx_v4v_map_ring_page(owner.as_ptr(), gfn, &mut virt) };
        if rc != 0 {
            return Err(Errno::from_ret(rc));
        }
        // SAFETY: `mapped < npage`, so the slot is inside the allocation.
        unsafe { self.pages.as_ptr().add(self.mapped as usize).write(virt.cast()) };
        self.mapped += 1;
        Ok(())
    }

    /// Bytes mapped (all pages once registration has mapped them).
    pub fn mapped_bytes(&self) -> u64 {
        self.mapped as u64 * PAGE_SIZE as u64
    }

    /// The mapped address of byte `off` and the bytes left in its page, if mapped.
    fn at(&self, off: u64) -> Option<(*mut u8, u32)> {
        let page = off / PAGE_SIZE as u64;
        if page >= self.mapped as u64 {
            return None;
        }
        let in_page = (off % PAGE_SIZE as u64) as u32;
        // SAFETY: page < mapped <= npage: the slot is inside the allocation and holds a
        // mapping of a whole page, so `in_page` (< 4096) stays inside it.
        let base = unsafe { self.pages.as_ptr().add(page as usize).read() };
        // SAFETY: as above.
        Some((unsafe { base.add(in_page as usize) }, PAGE_SIZE - in_page))
    }

    /// Read the naturally aligned u32 at byte `off` (the receiver's rx_ptr): one access, as
    /// C's read_atomic. `None` if `off` is unaligned or not mapped.
    pub fn read_u32(&self, off: u64) -> Option<u32> {
        if off % 4 != 0 {
            return None;
        }
        let (p, _) = self.at(off)?;
        // SAFETY: `p` is 4-aligned (page-aligned base, off % 4 == 0) and the 4 bytes lie in
        // one mapped page. A volatile read: the guest may change the value concurrently.
        Some(unsafe { p.cast::<u32>().read_volatile() })
    }

    /// Write the naturally aligned u32 at byte `off` (tx_ptr) in one access, as C's
    /// write_atomic. `EFAULT` if `off` is unaligned or not mapped.
    pub fn write_u32(&mut self, off: u64, v: u32) -> Result<(), Errno> {
        if off % 4 != 0 {
            return Err(Errno::EFAULT);
        }
        let (p, _) = self.at(off).ok_or(Errno::EFAULT)?;
        // SAFETY: `p` is 4-aligned and its 4 bytes lie in one mapped page.
        unsafe { p.cast::<u32>().write_volatile(v) };
        Ok(())
    }

    /// Write `bytes` at byte `off`; `EFAULT` (nothing written) if any byte is not mapped.
    pub fn write(&mut self, off: u64, bytes: &[u8]) -> Result<(), Errno> {
        let end = off.checked_add(bytes.len() as u64).ok_or(Errno::EFAULT)?;
        if end > self.mapped_bytes() {
            return Err(Errno::EFAULT);
        }
        let mut done = 0usize;
        while done < bytes.len() {
            let (p, room) = self.at(off + done as u64).ok_or(Errno::EFAULT)?;
            let n = (bytes.len() - done).min(room as usize);
            // SAFETY: `p..p+n` is inside one mapped page (n <= room); the source is a Rust
            // slice of at least done + n bytes; the two cannot overlap (Xen's data vs a
            // guest page).
            unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr().add(done), p, n) };
            done += n;
        }
        Ok(())
    }

    /// Copy `n` bytes from the current vCPU's guest virtual address `src` to byte `off`.
    /// `EFAULT` if the ring bytes are not mapped (nothing copied) or the guest range cannot
    /// be read (the bytes before the fault are copied).
    pub fn copy_from_guest(&mut self, off: u64, src: u64, n: u32) -> Result<(), Errno> {
        let end = off.checked_add(n as u64).ok_or(Errno::EFAULT)?;
        if end > self.mapped_bytes() {
            return Err(Errno::EFAULT);
        }
        // The guest range must not wrap (GuestRange's rule).
        src.checked_add(n as u64).ok_or(Errno::EFAULT)?;
        let mut done = 0u32;
        while done < n {
            let (p, room) = self.at(off + done as u64).ok_or(Errno::EFAULT)?;
            let k = (n - done).min(room);
            // SAFETY: `p..p+k` is inside one mapped page; raw_copy_from_guest reads only the
            // guest side through the guest's page tables and stops at a fault.
            let left = unsafe { b::oxx_copy_from_guest(p.cast(), src + done as u64, k) };
            if left != 0 {
                return Err(Errno::EFAULT);
            }
            done += k;
        }
        Ok(())
    }
}

impl Drop for RingPages {
    fn drop(&mut self) {
        for i in 0..self.mapped as usize {
            // SAFETY: slots below `mapped` hold mappings made by oxx_v4v_map_ring_page, each
            // released exactly once, here.
            unsafe { b::oxx_v4v_unmap_ring_page(self.pages.as_ptr().add(i).read().cast()) };
        }
        // SAFETY: the slot array came from _xzalloc and nothing refers to it any more.
        unsafe { b::oxx_xfree(self.pages.as_ptr().cast()) };
    }
}

/// Raise VIRQ_V4V in `d` (send_guest_global_virq: its vCPU 0, if it bound the VIRQ).
pub fn raise_virq(d: &DomainRef) {
    // SAFETY: `d` is a live domain (RCU-locked).
    unsafe { b::oxx_v4v_raise_virq(d.as_ptr()) }
}

/// XSM: may `d` register a ring for `partner` (`None`: any domain)? (Argo's hooks.)
pub fn xsm_register(d: &DomainRef, partner: Option<&DomainRef>) -> Result<(), Errno> {
    let p = partner.map_or(core::ptr::null_mut(), |p| p.as_ptr());
    // SAFETY: both domains are live (RCU-locked) or `p` is NULL, which the helper accepts.
    let rc = unsafe { b::oxx_v4v_xsm_register(d.as_ptr(), p) };
    if rc != 0 { Err(Errno::from_ret(rc)) } else { Ok(()) }
}

/// XSM: may `d` send to `t`? (Argo's hook.)
pub fn xsm_send(d: &DomainRef, t: &DomainRef) -> Result<(), Errno> {
    // SAFETY: both domains are live (RCU-locked).
    let rc = unsafe { b::oxx_v4v_xsm_send(d.as_ptr(), t.as_ptr()) };
    if rc != 0 { Err(Errno::from_ret(rc)) } else { Ok(()) }
}

/// Whether `d` has started dying (domain_kill).
pub fn is_dying(d: &DomainRef) -> bool {
    // SAFETY: `d` is live (RCU-locked); reading is_dying is what C's callers do unlocked.
    unsafe { b::oxx_domain_is_dying(d.as_ptr()) }
}

/// The `void *v4v` field of `struct domain` (patches/0021), owned by the V4V crate.
///
/// # Safety
/// `d` is a live domain. The V4V crate alone stores into the field, always the same type.
pub unsafe fn domain_v4v_slot(d: *mut b::domain) -> *mut *mut c_void {
    // SAFETY: guaranteed by the caller.
    unsafe { b::oxx_domain_v4v_slot(d) }
}

/// `d->domain_id`.
///
/// # Safety
/// `d` is a live domain.
pub unsafe fn domain_id_raw(d: *mut b::domain) -> u16 {
    // SAFETY: guaranteed by the caller.
    unsafe { b::oxx_domain_id(d) }
}
