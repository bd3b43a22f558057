//! The domain's `shared_info` page: the 2-level event channel bitmaps and vCPU 0's
//! `vcpu_info`.
//!
//! [`map`] asks Xen (XENMEM_add_to_physmap, XENMAPSPACE_shared_info) to put the page at
//! [`SHARED_INFO_GFN`], a guest frame outside the domain's RAM but inside the block
//! [`super::mmu`] maps as Normal memory (so atomics work on it). Xen 4.17 on arm maps the page
//! once per domain: a second add_to_physmap returns -EBUSY, so [`map`] does it once and hands
//! out the same [`SharedInfo`] afterwards.
//!
//! Xen changes the page at any time (event delivery), so every access is an atomic access
//! through a raw pointer; nothing here hands out a Rust reference into the page.
//!
//! Layout (arm64, [`shared_info_layout`]): `vcpu_info[1]` at 0 (48 bytes each; on arm only
//! vCPU 0's lives here, others must be registered with VCPUOP_register_vcpu_info, see
//! [`register_vcpu_info`]), `evtchn_pending[64]` at 48, `evtchn_mask[64]` at 560.
//!
//! ```ignore
//! let si = xtf::guest::shared_info::map()?;
//! si.clear_pending(port);
//! evtchn::send(port)?;
//! assert!(si.is_pending(port));
//! ```

use core::sync::atomic::{AtomicU8, AtomicU64, Ordering};

use super::hypercall;
use crate::abi::{
    self, DOMID_SELF, Errno, EvtchnPort, VcpuRegisterVcpuInfo, XenAddToPhysmap,
    shared_info_layout as layout,
};

/// Where [`map`] puts the page: the last page below 2 GiB (outside any test domU's RAM, in
/// the identity map's Normal block).
pub const SHARED_INFO_GFN: u64 = 0x7ffff;
const SHARED_INFO_ADDR: usize = (SHARED_INFO_GFN as usize) << 12;

/// `memory_op` hypercall number (public/xen.h).
const MEMORY_OP: u64 = 12;
/// `vcpu_op` hypercall number.
const VCPU_OP: u64 = 24;

/// 0: not mapped yet, 1: mapped.
static MAPPED: AtomicU8 = AtomicU8::new(0);

/// The mapped shared_info page. Only [`map`] makes one.
#[derive(Debug)]
pub struct SharedInfo {
    _private: (),
}

static SHARED_INFO: SharedInfo = SharedInfo { _private: () };

/// Maps shared_info at [`SHARED_INFO_GFN`] (first call) and returns it.
pub fn map() -> Result<&'static SharedInfo, Errno> {
    if MAPPED.load(Ordering::Acquire) == 1 {
        return Ok(&SHARED_INFO);
    }
    let mut xatp = XenAddToPhysmap {
        domid: DOMID_SELF,
        size: 0,
        space: abi::XENMAPSPACE_SHARED_INFO,
        idx: 0,
        gpfn: SHARED_INFO_GFN,
    };
    let args = [abi::XENMEM_ADD_TO_PHYSMAP, &mut xatp as *mut XenAddToPhysmap as u64, 0, 0, 0];
    // SAFETY: XENMEM_add_to_physmap reads one struct xen_add_to_physmap (repr(C), layout
    // checked in abi) at its pointer, alive across the call. The frame it maps is outside our
    // RAM: no memory Rust uses changes.
    Errno::from_ret(unsafe { hypercall::hypercall(MEMORY_OP, args) })?;
    MAPPED.store(1, Ordering::Release);
    Ok(&SHARED_INFO)
}

/// Bit `port % 64` of word `port / 64`, as Xen's bitops on `xen_ulong_t` arrays.
const fn word_bit(port: EvtchnPort) -> (usize, u64) {
    ((port / 64) as usize, 1u64 << (port % 64))
}

impl SharedInfo {
    fn word(&self, base: usize, index: usize) -> &'static AtomicU64 {
        assert!(index < layout::EVTCHN_WORDS, "2L word index {index} out of range");
        // SAFETY: a SharedInfo exists only after map() succeeded, so SHARED_INFO_ADDR stays mapped
        // (identity, Normal); base + 8 * index is an 8-aligned word of one of its two bitmaps, and
        // Xen touches these words only atomically (guest_test_and_set_bit etc.), as we do.
        unsafe { AtomicU64::from_ptr((SHARED_INFO_ADDR + base + 8 * index) as *mut u64) }
    }

    /// `evtchn_pending[index]`.
    pub fn pending_word(&self, index: usize) -> u64 {
        self.word(layout::EVTCHN_PENDING, index).load(Ordering::SeqCst)
    }

    /// `evtchn_mask[index]`.
    pub fn mask_word(&self, index: usize) -> u64 {
        self.word(layout::EVTCHN_MASK, index).load(Ordering::SeqCst)
    }

    /// Whether `port`'s bit is set in `evtchn_pending`. Ports past the 2L range read false.
    pub fn is_pending(&self, port: EvtchnPort) -> bool {
        port < abi::EVTCHN_2L_NR_CHANNELS && {
            let (w, b) = word_bit(port);
            self.word(layout::EVTCHN_PENDING, w).load(Ordering::SeqCst) & b != 0
        }
    }

    /// Sets `port`'s pending bit (as a guest may: Xen does not look until it sends).
    pub fn set_pending(&self, port: EvtchnPort) {
        let (w, b) = word_bit(port);
        self.word(layout::EVTCHN_PENDING, w).fetch_or(b, Ordering::SeqCst);
    }

    /// Clears `port`'s pending bit (what a guest's handler does).
    pub fn clear_pending(&self, port: EvtchnPort) {
        let (w, b) = word_bit(port);
        self.word(layout::EVTCHN_PENDING, w).fetch_and(!b, Ordering::SeqCst);
    }

    /// Flips `port`'s pending bit (an atomic read-modify-write: load/store-exclusive).
    pub fn toggle_pending(&self, port: EvtchnPort) {
        let (w, b) = word_bit(port);
        self.word(layout::EVTCHN_PENDING, w).fetch_xor(b, Ordering::SeqCst);
    }

    /// Clears every pending bit.
    pub fn clear_all_pending(&self) {
        for i in 0..layout::EVTCHN_WORDS {
            self.word(layout::EVTCHN_PENDING, i).store(0, Ordering::SeqCst);
        }
    }

    /// The pending ports, lowest first, into `out`; returns how many there are (which may
    /// exceed `out.len()`: the rest are counted, not stored).
    pub fn pending_ports(&self, out: &mut [EvtchnPort]) -> usize {
        let mut n = 0;
        for i in 0..layout::EVTCHN_WORDS {
            let mut w = self.pending_word(i);
            while w != 0 {
                let bit = w.trailing_zeros();
                w &= w - 1;
                if let Some(slot) = out.get_mut(n) {
                    *slot = (i as u32) * 64 + bit;
                }
                n += 1;
            }
        }
        n
    }

    /// Whether `port`'s bit is set in `evtchn_mask`.
    pub fn is_masked(&self, port: EvtchnPort) -> bool {
        let (w, b) = word_bit(port);
        self.word(layout::EVTCHN_MASK, w).load(Ordering::SeqCst) & b != 0
    }

    /// Sets `port`'s mask bit (guest side: no hypercall needed).
    pub fn mask(&self, port: EvtchnPort) {
        let (w, b) = word_bit(port);
        self.word(layout::EVTCHN_MASK, w).fetch_or(b, Ordering::SeqCst);
    }

    /// Clears `port`'s mask bit directly, without EVTCHNOP_unmask (so no re-notification).
    pub fn clear_mask(&self, port: EvtchnPort) {
        let (w, b) = word_bit(port);
        self.word(layout::EVTCHN_MASK, w).fetch_and(!b, Ordering::SeqCst);
    }

    /// Sets or clears every mask bit.
    pub fn set_all_masks(&self, masked: bool) {
        let v = if masked { u64::MAX } else { 0 };
        for i in 0..layout::EVTCHN_WORDS {
            self.word(layout::EVTCHN_MASK, i).store(v, Ordering::SeqCst);
        }
    }

    /// vCPU 0's `vcpu_info` (the only one shared_info holds on arm).
    pub fn vcpu0(&self) -> VcpuInfo {
        VcpuInfo { addr: SHARED_INFO_ADDR }
    }

    /// `wc_version` (changes whenever Xen updates the wallclock).
    pub fn wc_version(&self) -> u32 {
        // SAFETY: as in word(): the mapped page, 4-aligned offset in it; Xen writes it with
        // plain stores, so read it once, atomically.
        unsafe {
            core::sync::atomic::AtomicU32::from_ptr(
                (SHARED_INFO_ADDR + layout::WC_VERSION) as *mut u32,
            )
        }
        .load(Ordering::SeqCst)
    }
}

/// A `struct vcpu_info` that Xen writes: vCPU 0's in shared_info ([`SharedInfo::vcpu0`]), or
/// one registered elsewhere ([`VcpuInfo::at`]).
#[derive(Clone, Copy, Debug)]
pub struct VcpuInfo {
    addr: usize,
}

impl VcpuInfo {
    /// The vcpu_info at `addr`.
    ///
    /// # Safety
    ///
    /// `addr` must be 8-aligned, hold a vcpu_info that Xen uses (registered with
    /// [`register_vcpu_info`] or vCPU 0's in a mapped shared_info), lie in Normal memory and
    /// stay so for as long as the returned value is used; nothing may hold a Rust reference
    /// to those 48 bytes.
    pub const unsafe fn at(addr: usize) -> Self {
        Self { addr }
    }

    fn byte(&self, off: usize) -> &'static AtomicU8 {
        // SAFETY: the constructor's contract: addr + off (off < 48) is live vcpu_info
        // memory, accessed only atomically.
        unsafe { AtomicU8::from_ptr((self.addr + off) as *mut u8) }
    }

    fn sel(&self) -> &'static AtomicU64 {
        // SAFETY: as byte(); offset 8 is 8-aligned (addr is).
        unsafe { AtomicU64::from_ptr((self.addr + layout::VCPU_INFO_PENDING_SEL) as *mut u64) }
    }

    /// `evtchn_upcall_pending`: Xen sets it (and raises the event PPI) when it marks events.
    pub fn upcall_pending(&self) -> u8 {
        self.byte(layout::VCPU_INFO_UPCALL_PENDING).load(Ordering::SeqCst)
    }

    pub fn set_upcall_pending(&self, v: u8) {
        self.byte(layout::VCPU_INFO_UPCALL_PENDING).store(v, Ordering::SeqCst);
    }

    /// `evtchn_upcall_mask` (unused by Xen on arm, which masks with the GIC/PSTATE).
    pub fn upcall_mask(&self) -> u8 {
        self.byte(layout::VCPU_INFO_UPCALL_MASK).load(Ordering::SeqCst)
    }

    pub fn set_upcall_mask(&self, v: u8) {
        self.byte(layout::VCPU_INFO_UPCALL_MASK).store(v, Ordering::SeqCst);
    }

    /// `evtchn_pending_sel`: bit i means "look at evtchn_pending[i]" (2L).
    pub fn pending_sel(&self) -> u64 {
        self.sel().load(Ordering::SeqCst)
    }

    /// Atomically takes (reads and clears) `evtchn_pending_sel`, as a 2L upcall handler does.
    pub fn take_pending_sel(&self) -> u64 {
        self.sel().swap(0, Ordering::SeqCst)
    }

    /// Clears `evtchn_upcall_pending` and `evtchn_pending_sel`: a quiet starting point.
    pub fn clear(&self) {
        self.set_upcall_pending(0);
        self.take_pending_sel();
    }
}

/// VCPUOP_register_vcpu_info: Xen uses the vcpu_info at `gfn`:`offset` for `vcpu` from now on
/// (once per vCPU; a vcpu_info must not cross its page).
///
/// # Safety
///
/// The 48 bytes at `gfn << 12 | offset` become Xen's to write at any time: they must be
/// guest RAM that no Rust object uses, for the rest of the guest's life (read them through
/// [`VcpuInfo::at`]).
pub unsafe fn register_vcpu_info(vcpu: u32, gfn: u64, offset: u32) -> Result<(), Errno> {
    let mut arg = VcpuRegisterVcpuInfo { mfn: gfn, offset, rsvd: 0 };
    let args = [abi::VCPUOP_REGISTER_VCPU_INFO, u64::from(vcpu), &mut arg as *mut _ as u64, 0, 0];
    // SAFETY: Xen reads one struct vcpu_register_vcpu_info (layout checked in abi) at the
    // pointer, alive across the call; the memory it then takes over is the caller's promise.
    Errno::from_ret(unsafe { hypercall::hypercall(VCPU_OP, args) }).map(|_| ())
}
