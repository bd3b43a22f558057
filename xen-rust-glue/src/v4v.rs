//! What the V4V crate needs from Xen: a ring's guest pages ([`RingPages`]: references held
//! while the ring is registered, reached for one operation through a [`RingView`]), VIRQ_V4V, the XSM questions (Argo's hooks), the ANY-source policy
//! (`v4v-mac=`), and the per-domain state pointer `d->v4v`.
//!
//! A ring's pages are the receiver's memory; the receiver may change them at any time. They
//! are only ever reached through raw pointers with bounds checked here (no Rust reference to
//! guest-writable memory is created), exactly as C's memcpy into a mapped page.
//!
//! Where `CONFIG_ARCH_MAP_DOMAIN_PAGE` is selected (arm32, arm64 MPU), `map_domain_page`
//! takes a per-pCPU slot: there no mapping outlives the operation that made it, so a guest's
//! rings hold no global mapping (vmap) space at all. Without it (arm64 with the MMU, this
//! project's builds) every page is in Xen's direct map, which costs nothing to keep: the
//! ring then keeps each page's direct-map address (8 bytes per page) and an access is a load.

use crate::bindings as b;
use crate::domain::DomainRef;
use crate::errno::Errno;
use core::ffi::c_void;
use core::ptr::NonNull;

/// Bytes per guest page.
pub const PAGE_SIZE: u32 = 4096;

/// Most pages [`RingPages::read_gfns`] accepts (the V4V ABI allows 4097; a bound for the
/// glue's own allocation).
const MAX_PAGES: u32 = 1 << 20;

/// The pages of one ring: a general and a writable-type reference on each of the owner's
/// pages, from [`RingPages::take_refs`] until drop. No global mapping is kept (direct-map
/// addresses only, where `map_domain_page` is the direct map).
pub struct RingPages {
    /// `npage` slots from `_xzalloc`.
    /// INVARIANT: `slots[..held]` are machine frames on which this value holds references;
    /// `slots[held..]` are guest frames as the guest listed them (no reference).
    slots: NonNull<u64>,
    npage: u32,
    held: u32,
    /// Builds without `CONFIG_ARCH_MAP_DOMAIN_PAGE` only: `npage` slots from `_xzalloc`.
    /// INVARIANT: `direct[i]` for i < held is the direct-map address of `slots[i]`'s page.
    direct: Option<NonNull<*mut u8>>,
}

// SAFETY: the slot array is owned by this value; the references it holds are not tied to a
// pCPU.
unsafe impl Send for RingPages {}

impl RingPages {
    /// Copy the guest's list of `npage` guest frame numbers (u64 each) from the current vCPU's
    /// address `list` into Xen, once: later checks and lookups use this copy, so a guest
    /// rewriting its list meanwhile changes nothing. `EINVAL` for 0 or more than 2^20 pages
    /// (the caller's ABI checks allow at most 4097), `ENOMEM`, `EFAULT`.
    pub fn read_gfns(list: u64, npage: u32) -> Result<Self, Errno> {
        if npage == 0 || npage > MAX_PAGES {
            return Err(Errno::EINVAL);
        }
        let slots = alloc_u64s(npage)?;
        // INVARIANT: held = 0, every slot is (to be) a guest frame.
        let pages = Self { slots, npage, held: 0, direct: None };
        // SAFETY: the allocation holds `npage` u64s, zeroed, owned by `pages` and not shared
        // (not guest memory), so a byte slice over it is sound for the copy.
        let bytes = unsafe {
            core::slice::from_raw_parts_mut(pages.slots.as_ptr().cast::<u8>(), npage as usize * 8)
        };
        crate::guest::read_bytes(list, bytes)?;
        Ok(pages)
    }

    /// `EINVAL` if a guest frame appears twice in the list (a ring's pages are distinct, so
    /// that one registration takes one reference per page). Call before [`Self::take_refs`].
    /// Uses a scratch copy (`ENOMEM`); O(npage log npage), no allocation kept.
    pub fn refuse_duplicates(&self) -> Result<(), Errno> {
        if self.held != 0 {
            return Err(Errno::EINVAL);
        }
        let scratch = alloc_u64s(self.npage)?;
        // SAFETY: `scratch` holds `npage` u64s just allocated and owned here; the source is
        // this value's slot array (all guest frames: held == 0), also `npage` long; the two
        // do not overlap.
        let sorted = unsafe {
            core::ptr::copy_nonoverlapping(
                self.slots.as_ptr(),
                scratch.as_ptr(),
                self.npage as usize,
            );
            core::slice::from_raw_parts_mut(scratch.as_ptr(), self.npage as usize)
        };
        sorted.sort_unstable();
        let dup = sorted.windows(2).any(|w| w[0] == w[1]);
        // SAFETY: allocated by alloc_u64s above; `sorted` is not used after this.
        unsafe { b::oxx_xfree(scratch.as_ptr().cast()) };
        if dup { Err(Errno::EINVAL) } else { Ok(()) }
    }

    /// Look every listed guest frame up in `owner`'s p2m and take a general and a
    /// writable-type reference on its page, which must be ordinary writable RAM owned by
    /// `owner` (`EINVAL` otherwise, as Argo's find_ring_mfn; `EAGAIN`/`ENOENT` from the p2m
    /// lookup). On error the references taken so far are released when `self` drops.
    pub fn take_refs(&mut self, owner: &DomainRef) -> Result<(), Errno> {
        // SAFETY: the helper only reads a build-time constant.
        if self.held == 0 && unsafe { b::oxx_v4v_direct_map() } {
            self.direct = Some(alloc_u64s(self.npage)?.cast::<*mut u8>());
        }
        while self.held < self.npage {
            // SAFETY: held < npage: the slot is inside the allocation.
            let slot = unsafe { self.slots.as_ptr().add(self.held as usize) };
            let mut mfn = 0u64;
            // SAFETY: `owner` is a live domain (RCU-locked); `slot` is inside the allocation
            // (above); the helper only looks the gfn up in the owner's p2m, takes the
            // references on success and writes `mfn`.
            let rc = unsafe { b::oxx_v4v_get_ring_page(owner.as_ptr(), slot.read(), &mut mfn) };
            if rc != 0 {
                return Err(Errno::from_ret(rc));
            }
            // SAFETY: as above.
            unsafe { slot.write(mfn) };
            if let Some(d) = self.direct {
                // SAFETY: held < npage: inside the `direct` allocation; the helper returns the
                // direct-map address of a page this value now holds references on.
                unsafe {
                    d.as_ptr().add(self.held as usize).write(b::oxx_v4v_map_page(mfn).cast())
                };
            }
            // INVARIANT: the slot now names a frame this value holds references on.
            self.held += 1;
        }
        Ok(())
    }

    /// Pages listed (the references are held on all of them once take_refs succeeded).
    pub fn npage(&self) -> u32 {
        self.npage
    }

    /// Access to the held pages for one operation; mappings last as long as the view.
    pub fn view(&mut self) -> RingView<'_> {
        let (held, direct) = (self.held, self.direct);
        RingView {
            pages: self,
            held,
            direct,
            head: core::ptr::null_mut(),
            page: 0,
            va: core::ptr::null_mut(),
        }
    }
}

impl Drop for RingPages {
    fn drop(&mut self) {
        for i in 0..self.held as usize {
            // SAFETY: slots below `held` are frames this value holds references on (type
            // invariant), each released exactly once, here.
            unsafe { b::oxx_v4v_put_ring_page(self.slots.as_ptr().add(i).read()) };
        }
        // SAFETY: the slot array came from _xzalloc and nothing refers to it any more.
        unsafe { b::oxx_xfree(self.slots.as_ptr().cast()) };
        if let Some(d) = self.direct {
            // SAFETY: as above (direct-map addresses need no unmapping).
            unsafe { b::oxx_xfree(d.as_ptr().cast()) };
        }
    }
}

/// `n` zeroed u64s on Xen's heap (`ENOMEM`).
fn alloc_u64s(n: u32) -> Result<NonNull<u64>, Errno> {
    let bytes = n as usize * core::mem::size_of::<u64>();
    let align = core::mem::align_of::<u64>();
    // SAFETY: _xzalloc takes any size and a power-of-two alignment.
    let p = unsafe { b::oxx_xzalloc_bytes(bytes as _, align as _) }.cast::<u64>();
    NonNull::new(p).ok_or(Errno::ENOMEM)
}

/// One operation's access to a ring's held pages: through their direct-map addresses where
/// the ring keeps them, else by mapping. At most two pages are mapped at a time:
/// page 0 (the header, which every operation reads and writes) and the last other page
/// touched, unmapped when the operation moves to another page and when the view drops; so no
/// mapping survives the hypercall (or moves to another pCPU: the view is used under the ring's
/// spinlock or the domain's ring table lock, with no sleeping).
pub struct RingView<'a> {
    pages: &'a mut RingPages,
    /// Copies of `pages.held` and `pages.direct` (fixed while the view borrows `pages`).
    held: u32,
    direct: Option<NonNull<*mut u8>>,
    /// INVARIANT: null, or `map_domain_page` of `pages.slots[0]` (held > 0), not yet unmapped.
    head: *mut u8,
    /// Page (>= 1) whose mapping `va` is (meaningless while `va` is null).
    page: u32,
    /// INVARIANT: null, or `map_domain_page` of `pages.slots[page]` (0 < page < held), not
    /// yet unmapped.
    va: *mut u8,
}

impl RingView<'_> {
    /// Bytes held (the whole ring once registration took every reference).
    pub fn held_bytes(&self) -> u64 {
        self.held as u64 * PAGE_SIZE as u64
    }

    /// `map_domain_page` of held page `page`.
    fn map(&self, page: u32) -> *mut u8 {
        debug_assert!(page < self.held);
        // SAFETY: page < held (callers): the slot is inside the allocation and names a frame
        // this ring holds references on, so it stays allocated to the owner while mapped.
        let mfn = unsafe { self.pages.slots.as_ptr().add(page as usize).read() };
        // SAFETY: as above; the helper returns a mapping of that whole page.
        unsafe { b::oxx_v4v_map_page(mfn) }.cast()
    }

    /// The mapped address of byte `off` and the bytes left in its page, if held.
    #[inline]
    fn at(&mut self, off: u64) -> Option<(*mut u8, u32)> {
        let page = off / PAGE_SIZE as u64;
        if page >= self.held as u64 {
            return None;
        }
        let page = page as u32;
        let base = if let Some(d) = self.direct {
            // SAFETY: page < held: inside the `direct` allocation, filled by take_refs.
            unsafe { d.as_ptr().add(page as usize).read() }
        } else if page == 0 {
            if self.head.is_null() {
                // INVARIANT: `head` maps slot 0 (page < held).
                self.head = self.map(0);
            }
            self.head
        } else {
            if self.va.is_null() || self.page != page {
                unmap(&mut self.va);
                // INVARIANT: `va` maps slot `page` (0 < page < held).
                self.va = self.map(page);
                self.page = page;
            }
            self.va
        };
        let in_page = (off % PAGE_SIZE as u64) as u32;
        // SAFETY: `base` maps a whole page and in_page < 4096.
        Some((unsafe { base.add(in_page as usize) }, PAGE_SIZE - in_page))
    }

    /// Read the naturally aligned u32 at byte `off` (the receiver's rx_ptr): one access, as
    /// C's read_atomic. `None` if `off` is unaligned or not held.
    pub fn read_u32(&mut self, off: u64) -> Option<u32> {
        if off % 4 != 0 {
            return None;
        }
        let (p, _) = self.at(off)?;
        // SAFETY: `p` is 4-aligned (page-aligned base, off % 4 == 0) and the 4 bytes lie in
        // one mapped page. A volatile read: the guest may change the value concurrently.
        Some(unsafe { p.cast::<u32>().read_volatile() })
    }

    /// Write the naturally aligned u32 at byte `off` (tx_ptr) in one access, as C's
    /// write_atomic. `EFAULT` if `off` is unaligned or not held.
    pub fn write_u32(&mut self, off: u64, v: u32) -> Result<(), Errno> {
        if off % 4 != 0 {
            return Err(Errno::EFAULT);
        }
        let (p, _) = self.at(off).ok_or(Errno::EFAULT)?;
        // SAFETY: `p` is 4-aligned and its 4 bytes lie in one mapped page.
        unsafe { p.cast::<u32>().write_volatile(v) };
        Ok(())
    }

    /// Write `bytes` at byte `off`; `EFAULT` (nothing written) if any byte is not held.
    pub fn write(&mut self, off: u64, bytes: &[u8]) -> Result<(), Errno> {
        let end = off.checked_add(bytes.len() as u64).ok_or(Errno::EFAULT)?;
        if end > self.held_bytes() {
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
    /// `EFAULT` if the ring bytes are not held (nothing copied) or the guest range cannot
    /// be read (the bytes before the fault are copied).
    pub fn copy_from_guest(&mut self, off: u64, src: u64, n: u32) -> Result<(), Errno> {
        let end = off.checked_add(n as u64).ok_or(Errno::EFAULT)?;
        if end > self.held_bytes() {
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

impl Drop for RingView<'_> {
    fn drop(&mut self) {
        unmap(&mut self.va);
        unmap(&mut self.head);
    }
}

/// Unmap `*va` if it is a mapping (from `oxx_v4v_map_page`), and null it.
fn unmap(va: &mut *mut u8) {
    if !va.is_null() {
        // SAFETY: a non-null slot of a RingView holds a mapping from oxx_v4v_map_page, unmapped
        // once here and then nulled.
        unsafe { b::oxx_v4v_unmap_page((*va).cast()) };
        *va = core::ptr::null_mut();
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

/// XSM: may `d` use V4V at all? (Argo's `xsm_argo_enable`, asked at domain creation and on
/// every hypercall, as Argo does.)
pub fn xsm_enable(d: &DomainRef) -> Result<(), Errno> {
    // SAFETY: `d` is live (RCU-locked).
    let rc = unsafe { b::oxx_v4v_xsm_enable(d.as_ptr()) };
    if rc != 0 { Err(Errno::from_ret(rc)) } else { Ok(()) }
}

/// As [`xsm_enable`] for a domain being created (`domain_create`, not yet visible).
///
/// # Safety
/// `d` is a domain being created.
pub unsafe fn xsm_enable_raw(d: *mut b::domain) -> Result<(), Errno> {
    // SAFETY: guaranteed by the caller.
    let rc = unsafe { b::oxx_v4v_xsm_enable(d) };
    if rc != 0 { Err(Errno::from_ret(rc)) } else { Ok(()) }
}

/// Whether rings open to any sender may be registered (`v4v-mac=permissive`; Argo's
/// `mac-permissive`). Fixed after boot.
pub fn mac_permissive() -> bool {
    // SAFETY: reads a boolean Xen sets while parsing its command line, before any domain.
    unsafe { b::oxx_v4v_mac_permissive() }
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
