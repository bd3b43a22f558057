//! Boot-time primitives for crates/static-shm (CONFIG_RUST_STATIC_SHM): the host device tree,
//! bootinfo, the static event channel entry points, static shared memory page and p2m
//! operations, `kernel_info.shm_mem`, and libfdt's sequential writer for the guest's tree.
//!
//! All of it runs single-threaded at boot (start_xen, before secondary CPUs run guests), on
//! objects C hands in or owns for the whole boot. Each `oxx_` helper is a one-line wrapper
//! in `helpers/static_shm.c`.

use core::ffi::{CStr, c_char, c_void};
use core::ptr::NonNull;

use crate::bindings as b;

/// The host device tree Xen booted with: `device_tree_flattened`, `fdt_totalsize` bytes.
pub fn host_fdt() -> Option<&'static [u8]> {
    let mut size: core::ffi::c_ulong = 0;
    // SAFETY: oxx_host_fdt only reads the global and the blob's header.
    let p = unsafe { b::oxx_host_fdt(&mut size) };
    if p.is_null() || size == 0 {
        return None;
    }
    // SAFETY: device_tree_flattened maps the whole blob (early_fdt_map maps totalsize bytes,
    // at most 2 MiB, checked by Xen) for the rest of the boot and nothing writes to it; the
    // slice is only read.
    Some(unsafe { core::slice::from_raw_parts(p.cast::<u8>(), size as usize) })
}

/// Host RAM bank `i` (base, size) of bootinfo.mem.
pub fn ram_bank(i: u32) -> Option<(u64, u64)> {
    let (mut base, mut size) = (0, 0);
    // SAFETY: reads bootinfo (boot-time, single-threaded) into our locals.
    unsafe { b::oxx_bootinfo_ram(i, &mut base, &mut size) }.then_some((base, size))
}

/// Region `i` a shared region must avoid (boot modules, static and reserved memory):
/// (base, size, what); size 0 for a shared region itself.
pub fn avoid_region(i: u32) -> Option<(u64, u64, &'static str)> {
    let (mut base, mut size, mut kind) = (0, 0, 0);
    // SAFETY: reads bootinfo (boot-time, single-threaded) into our locals.
    if !unsafe { b::oxx_bootinfo_avoid(i, &mut base, &mut size, &mut kind) } {
        return None;
    }
    let what = match kind {
        0 => "the Xen image",
        1 => "the host device tree",
        2 => "a boot module",
        3 => "a domain's static memory",
        _ => "reserved memory",
    };
    Some((base, size, what))
}

/// Reserves a static shared region in bootinfo.reserved_mem. Err(-errno).
pub fn add_shm_bank(start: u64, size: u64, id: &str, nr_borrowers: u32) -> Result<(), i32> {
    // SAFETY: `id` is valid for id.len() bytes (copied, no NUL needed); bootinfo is only
    // written at boot, single-threaded.
    let rc = unsafe {
        b::oxx_bootinfo_add_shm_bank(start, size, id.as_ptr().cast(), id.len() as _, nr_borrowers)
    };
    if rc < 0 { Err(rc) } else { Ok(()) }
}

/// The domid of the domain built from the host device tree node at `path`.
pub fn dt_used_by(path: &str) -> Option<u16> {
    // SAFETY: `path` is valid for path.len() bytes (copied into a C string by the helper).
    let id = unsafe { b::oxx_dt_used_by(path.as_ptr().cast(), path.len() as _) };
    u16::try_from(id).ok()
}

/// `evtchn_alloc_unbound({dom, remote_dom}, port)`. Err(-errno).
pub fn evtchn_alloc_unbound(dom: u16, port: u32, remote: u16) -> Result<(), i32> {
    // SAFETY: plain values; Xen looks the domains up itself.
    let rc = unsafe { b::oxx_evtchn_alloc_unbound(dom, port, remote) };
    if rc < 0 { Err(rc) } else { Ok(()) }
}

/// `evtchn_bind_interdomain({remote_dom, remote_port}, d(dom), port)`. Err(-errno).
pub fn evtchn_bind_interdomain(
    dom: u16,
    port: u32,
    remote: u16,
    remote_port: u32,
) -> Result<(), i32> {
    // SAFETY: plain values; the helper takes and drops its own domain reference.
    let rc = unsafe { b::oxx_evtchn_bind_interdomain(dom, port, remote, remote_port) };
    if rc < 0 { Err(rc) } else { Ok(()) }
}

/// Whether the page at `maddr` is owned by dom_io.
pub fn page_owner_is_dom_io(maddr: u64) -> bool {
    // SAFETY: the helper takes and drops a page reference; callers pass addresses checked to
    // lie in host RAM (mfn_valid) by the static-shm checker.
    unsafe { b::oxx_mfn_valid(maddr >> 12) && b::oxx_page_owner_is_dom_io(maddr) }
}

/// Whether the page at `maddr` is owned by dom_shared.
pub fn page_owner_is_dom_shared(maddr: u64) -> bool {
    // SAFETY: as in page_owner_is_dom_io.
    unsafe { b::oxx_mfn_valid(maddr >> 12) && b::oxx_page_owner_is_dom_shared(maddr) }
}

/// `mfn_valid()`.
pub fn mfn_valid(mfn: u64) -> bool {
    // SAFETY: a pure lookup.
    unsafe { b::oxx_mfn_valid(mfn) }
}

/// `put_page_nr(mfn_to_page(mfn), nr)`.
///
/// # Safety
/// The caller took `nr` references to that page (with [`BootDomain::get_page_nr`]).
pub unsafe fn put_page_nr(mfn: u64, nr: u64) {
    // SAFETY: guaranteed by the caller.
    unsafe { b::oxx_put_page_nr(mfn, nr as _) }
}

/// A domain under construction at boot, handed in by C (construct_domU), or dom_io or
/// dom_shared. It holds
/// no reference: C keeps the domain for the whole boot, so copies are harmless.
#[derive(Clone, Copy)]
pub struct BootDomain {
    d: NonNull<b::domain>,
}

impl BootDomain {
    /// # Safety
    /// `d` must be a domain that stays alive for the whole boot (C is building it and holds it).
    pub unsafe fn from_raw(d: *mut c_void) -> Option<Self> {
        NonNull::new(d.cast()).map(|d| Self { d })
    }

    pub fn dom_io() -> Option<Self> {
        // SAFETY: dom_io is created at boot before domains are built and never freed.
        NonNull::new(unsafe { b::oxx_dom_io() }).map(|d| Self { d })
    }

    /// dom_shared (DOMID_SHARED), the design draft's default owner of a shared region;
    /// `None` before Xen has created it.
    pub fn dom_shared() -> Option<Self> {
        // SAFETY: dom_shared is created at boot before domains are built and never freed.
        NonNull::new(unsafe { b::oxx_dom_shared() }).map(|d| Self { d })
    }

    pub fn is_dom_io(&self) -> bool {
        // SAFETY: as in dom_io().
        self.d.as_ptr() == unsafe { b::oxx_dom_io() }
    }

    pub fn id(&self) -> u16 {
        // SAFETY: the domain is alive (type invariant).
        unsafe { b::oxx_domain_id(self.d.as_ptr()) }
    }

    /// `d->max_pages += nr`, refused (-ENOMEM) if that passes UINT_MAX.
    pub fn add_max_pages(&self, nr: u64) -> Result<(), i32> {
        // SAFETY: the domain is alive; boot-time, single-threaded.
        let rc = unsafe { b::oxx_domain_add_max_pages(self.d.as_ptr(), nr as _) };
        if rc < 0 { Err(rc) } else { Ok(()) }
    }

    pub fn sub_max_pages(&self, nr: u64) {
        // SAFETY: as above; undoes a successful add_max_pages.
        unsafe { b::oxx_domain_sub_max_pages(self.d.as_ptr(), nr as _) }
    }

    /// `acquire_domstatic_pages(d, mfn, nr, 0)`.
    pub fn acquire_static_pages(&self, mfn: u64, nr: u64) -> Result<(), i32> {
        // SAFETY: the domain is alive; Xen checks the pages (reserved, free, valid).
        let rc = unsafe { b::oxx_acquire_domstatic_pages(self.d.as_ptr(), mfn, nr as _) };
        if rc < 0 { Err(rc) } else { Ok(()) }
    }

    /// `guest_physmap_add_pages(d, gfn, mfn, nr)`.
    pub fn physmap_add(&self, gfn: u64, mfn: u64, nr: u64) -> Result<(), i32> {
        // SAFETY: the domain is alive; the pages were acquired for it.
        let rc = unsafe { b::oxx_guest_physmap_add_pages(self.d.as_ptr(), gfn, mfn, nr as _) };
        if rc < 0 { Err(rc) } else { Ok(()) }
    }

    /// `get_page_nr(mfn_to_page(mfn), d, nr)`.
    pub fn get_page_nr(&self, mfn: u64, nr: u64) -> bool {
        // SAFETY: the domain is alive; get_page_nr checks ownership itself.
        unsafe { b::oxx_get_page_nr(mfn, self.d.as_ptr(), nr as _) }
    }

    /// `map_regions_p2mt(d, gfn, nr, mfn, p2m_map_foreign_rw)`.
    pub fn map_foreign_rw(&self, gfn: u64, nr: u64, mfn: u64) -> Result<(), i32> {
        // SAFETY: the domain is alive; the p2m code validates the ranges.
        let rc = unsafe { b::oxx_map_regions_foreign_rw(self.d.as_ptr(), gfn, nr as _, mfn) };
        if rc < 0 { Err(rc) } else { Ok(()) }
    }
}

/// A `struct kernel_info` of a domain being built (only its shm_mem is reached).
pub struct KernelInfo {
    k: NonNull<c_void>,
}

impl KernelInfo {
    /// # Safety
    /// `k` must point to the kernel_info C is building the domain with, alive for the call.
    pub unsafe fn from_raw(k: *mut c_void) -> Option<Self> {
        NonNull::new(k).map(|k| Self { k })
    }

    /// Appends a bank to `kinfo->shm_mem` (append_shm_bank_to_domain). Err(-errno).
    pub fn add_shm_bank(&mut self, start: u64, size: u64, id: &str) -> Result<(), i32> {
        // SAFETY: `self.k` is a live kernel_info (type invariant, exclusive through &mut);
        // `id` is valid for its length.
        let rc = unsafe {
            b::oxx_kinfo_add_shm_bank(
                self.k.as_ptr(),
                start,
                size,
                id.as_ptr().cast(),
                id.len() as _,
            )
        };
        if rc < 0 { Err(rc) } else { Ok(()) }
    }
}

/// A `struct meminfo` (kinfo->shm_mem) read by make_shm_memory_node.
pub struct MemInfo<'a> {
    m: NonNull<c_void>,
    _life: core::marker::PhantomData<&'a ()>,
}

impl<'a> MemInfo<'a> {
    /// # Safety
    /// `m` must point to a `struct meminfo` that is not written for `'a`.
    pub unsafe fn from_raw(m: *const c_void) -> Option<Self> {
        NonNull::new(m.cast_mut()).map(|m| Self { m, _life: core::marker::PhantomData })
    }

    /// Bank `i`: (start, size, shm_id).
    pub fn bank(&self, i: u32) -> Option<(u64, u64, &'a CStr)> {
        let (mut start, mut size, mut id): (u64, u64, *const c_char) = (0, 0, core::ptr::null());
        // SAFETY: `self.m` is a live meminfo (type invariant); the helper bounds-checks `i`.
        if !unsafe { b::oxx_meminfo_bank(self.m.as_ptr(), i, &mut start, &mut size, &mut id) } {
            return None;
        }
        if id.is_null() {
            return None;
        }
        // SAFETY: shm_id is a char[16] in the bank, NUL-terminated by every writer (our
        // helpers zero it first and copy at most 15 bytes), unchanged for 'a.
        Some((start, size, unsafe { CStr::from_ptr(id) }))
    }
}

/// libfdt's sequential writer over the guest device tree being created.
pub struct FdtWriter {
    fdt: NonNull<c_void>,
}

impl FdtWriter {
    /// # Safety
    /// `fdt` must be the sequential-write tree C is building (fdt_create'd), alive and not
    /// used by anyone else for the life of the writer.
    pub unsafe fn from_raw(fdt: *mut c_void) -> Option<Self> {
        NonNull::new(fdt).map(|fdt| Self { fdt })
    }

    fn rc(rc: core::ffi::c_int) -> Result<(), i32> {
        if rc < 0 { Err(rc) } else { Ok(()) }
    }

    pub fn begin_node(&mut self, name: &CStr) -> Result<(), i32> {
        // SAFETY: a live tree (type invariant); `name` is NUL-terminated.
        Self::rc(unsafe { b::oxx_fdt_begin_node(self.fdt.as_ptr(), name.as_ptr()) })
    }

    pub fn property(&mut self, name: &CStr, value: &[u8]) -> Result<(), i32> {
        // SAFETY: as above; `value` is valid for its length, copied by libfdt.
        Self::rc(unsafe {
            b::oxx_fdt_property(
                self.fdt.as_ptr(),
                name.as_ptr(),
                value.as_ptr().cast(),
                value.len() as _,
            )
        })
    }

    pub fn property_u64(&mut self, name: &CStr, value: u64) -> Result<(), i32> {
        // SAFETY: as above.
        Self::rc(unsafe { b::oxx_fdt_property_u64(self.fdt.as_ptr(), name.as_ptr(), value) })
    }

    pub fn end_node(&mut self) -> Result<(), i32> {
        // SAFETY: as above.
        Self::rc(unsafe { b::oxx_fdt_end_node(self.fdt.as_ptr()) })
    }
}
