//! The C entry points (CONFIG_RUST_STATIC_SHM), declared in include/xen-rust.h:
//!
//! | Rust export                        | replaces (Xen 4.17.5)                              |
//! |------------------------------------|----------------------------------------------------|
//! | `xen_rust_static_shm_early`        | bootfdt.c process_shm_node (all nodes at once)     |
//! | `xen_rust_process_shm`             | domain_build.c process_shm, assign_shared_memory, acquire_nr_borrower_domain, append_shm_bank_to_domain |
//! | `xen_rust_make_shm_memory_node`    | domain_build.c make_shm_memory_node                |
//! | `xen_rust_alloc_static_evtchn`     | domain_build.c alloc_static_evtchn, alloc_domain_evtchn, get_evtchn_dt_property |
//!
//! Boot errors: the early scan runs before Xen's console exists, so it reserves nothing when
//! the configuration is invalid and leaves the report to the first domain built
//! (`xen_rust_process_shm`), which prints every error and fails, so the boot stops there.
//! `xen_rust_alloc_static_evtchn` reports its own errors the same way.

use core::cell::UnsafeCell;
use core::ffi::{CStr, c_char, c_int, c_void};
use core::fmt::Write;
use core::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};

use xen_rust_glue::print::{XENLOG_ERR, XENLOG_WARNING};
use xen_rust_glue::printk;
use xen_rust_glue::static_shm::{self as glue, BootDomain, FdtWriter, KernelInfo, MemInfo};

use crate::check::{Config, HostLayout, Limits, SystemOwner, check_into};
use crate::dt::Fdt;
use crate::error::{Errno, Errors};
use crate::setup::{EvtchnHost, ShmHost, set_up_channels, set_up_domain_shm};

const PAGE_SHIFT: u32 = 12;
const MAX_AVOID: usize = 32;
const MAX_RAM: usize = 16;

/// What the early scan found: 0 not run, 1 valid (regions reserved), 2 invalid.
static EARLY: AtomicU8 = AtomicU8::new(0);

fn neg(e: Errno) -> c_int {
    -(e as c_int)
}

/// Storage for the checked configuration (64 channels, their 128 endpoints before pairing, 16
/// regions, 16 domains: ~17 KiB), in `.init.data` rather than on Xen's 32 KiB boot stack;
/// Xen frees it with the rest of its init memory. Only the boot CPU uses it, from the
/// `__init` entry points below, one at a time; [`CONFIG_BUSY`] turns a second borrow
/// (re-entry, which nothing does) into a failure instead of an alias.
struct BootConfig(UnsafeCell<Config<'static, usize>>);

// SAFETY: the cell is only reached through `with_config`, which takes CONFIG_BUSY first, so
// no two references to its content exist at once, from any CPU.
unsafe impl Sync for BootConfig {}

#[unsafe(link_section = ".init.data")]
static CONFIG: BootConfig = BootConfig(UnsafeCell::new(Config::new()));
static CONFIG_BUSY: AtomicBool = AtomicBool::new(false);
/// The address of the host tree whose valid configuration CONFIG holds (0: none). Set by a
/// check once bootinfo is complete (not by the early scan, which runs before every module
/// is known); every later call reuses it instead of reading the tree again (a full check per
/// domain built made the Rust set-up slower than C's: docs/performance.md, boot).
static CHECKED_FDT: AtomicUsize = AtomicUsize::new(0);

/// Runs `f` on the checked configuration of the host tree, with the host layout from bootinfo.
/// `keep`: bootinfo is complete, so a valid result may be kept for the following calls.
fn with_config<R>(
    keep: bool,
    f: impl FnOnce(Result<&Config<'_, usize>, &Errors<'_>>) -> R,
) -> Option<R> {
    let blob = glue::host_fdt()?;
    if CONFIG_BUSY.swap(true, Ordering::Acquire) {
        return None;
    }
    if CHECKED_FDT.load(Ordering::Relaxed) == blob.as_ptr() as usize {
        // The kept configuration's strings are slices of `blob` (Fdt's names and properties
        // point into the blob it reads), which is 'static: the types agree.
        // SAFETY: CONFIG_BUSY gives this call the only reference to the cell's content until
        // it is released below; the lifetime holds as said above.
        let cfg: &Config<'static, usize> = unsafe { &*CONFIG.0.get() };
        let r = f(Ok(cfg));
        CONFIG_BUSY.store(false, Ordering::Release);
        return Some(r);
    }
    let Ok(fdt) = Fdt::new(blob) else {
        CONFIG_BUSY.store(false, Ordering::Release);
        return None;
    };
    let mut ram = [(0u64, 0u64); MAX_RAM];
    let mut nram = 0;
    while let (Some(slot), Some(bank)) = (ram.get_mut(nram), glue::ram_bank(nram as u32)) {
        *slot = bank;
        nram += 1;
    }
    let mut avoid = [(0u64, 0u64, ""); MAX_AVOID];
    let (mut navoid, mut i) = (0, 0);
    while let Some(r) = glue::avoid_region(i) {
        i += 1;
        if r.1 == 0 {
            continue;
        }
        if let Some(slot) = avoid.get_mut(navoid) {
            *slot = r;
            navoid += 1;
        }
    }
    let host = HostLayout { ram: &ram[..nram], reserved: &avoid[..navoid] };
    // `Config<'static, _>` and `Config<'_, _>` differ only in a lifetime (same layout); the
    // shorter one borrows `fdt`, and no reference outlives this call: `f`'s result `R` cannot
    // borrow from its argument, and the lists are cleared before release unless kept; a kept
    // configuration's strings are slices of the 'static `blob` (above).
    // SAFETY: CONFIG_BUSY gives this call the only reference to the cell's content until it
    // is released below; the lifetime cast holds as said above.
    let cfg: &mut Config<'_, usize> = unsafe { &mut *CONFIG.0.get().cast() };
    cfg.clear();
    let mut errs = Errors::new();
    check_into(&fdt, &host, &Limits::default(), cfg, &mut errs);
    let r = if errs.is_empty() { f(Ok(cfg)) } else { f(Err(&errs)) };
    if keep && errs.is_empty() {
        CHECKED_FDT.store(blob.as_ptr() as usize, Ordering::Relaxed);
    } else {
        cfg.clear();
    }
    CONFIG_BUSY.store(false, Ordering::Release);
    Some(r)
}

fn report(errs: &Errors<'_>) {
    for e in errs.iter() {
        printk!("{XENLOG_ERR}static-shm: {e}\n");
    }
    if errs.dropped() > 0 {
        printk!("{XENLOG_ERR}static-shm: ... and {} more errors\n", errs.dropped());
    }
    printk!(
        "{XENLOG_ERR}static-shm: {} error(s) in the static event channel / shared memory configuration under /chosen\n",
        errs.len()
    );
}

/// bootfdt.c, after the early scan of the host device tree: reserve every static shared
/// region in bootinfo.reserved_mem (with its borrower count), or nothing if the
/// configuration is invalid. Always returns 0: the report comes once the console is up.
#[unsafe(no_mangle)]
pub extern "C" fn xen_rust_static_shm_early() -> c_int {
    let ok = with_config(false, |cfg| {
        let Ok(cfg) = cfg else { return false };
        for (s, nr) in cfg.regions() {
            if glue::add_shm_bank(s.pbase, s.size, s.id.as_str(), nr as u32).is_err() {
                return false;
            }
        }
        true
    });
    EARLY.store(if ok == Some(true) { 1 } else { 2 }, Ordering::Relaxed);
    0
}

/// Whether the design draft's identifier rule has been looked at (once per boot).
static IDS_LOOKED_AT: AtomicBool = AtomicBool::new(false);

/// Warns (once) when the numeric identifiers in use are not 0..N, as the design draft asks.
/// Not refused: identifiers are matched by value and nothing indexes by them.
fn warn_numeric_id_gap() {
    if IDS_LOOKED_AT.swap(true, Ordering::Relaxed) {
        return;
    }
    with_config(true, |cfg| {
        if let Ok(Some((missing, s))) = cfg.map(|c| c.numeric_id_gap()) {
            printk!(
                "{XENLOG_WARNING}static-shm: warning: node {}: xen,shm-id {} is in use but {missing} is not (the design draft numbers regions in ascending order from 0)\n",
                s.path,
                s.id.as_str()
            );
        }
    });
}

/// Checks the configuration once the console is up; prints every error. 0 or -errno.
fn checked_or_report() -> c_int {
    match with_config(true, |cfg| match cfg {
        Ok(_) => 0,
        Err(errs) => {
            report(errs);
            neg(Errno::EINVAL)
        }
    }) {
        Some(0) if EARLY.load(Ordering::Relaxed) == 1 => 0,
        Some(0) => {
            printk!(
                "{XENLOG_ERR}static-shm: the static shared regions could not be reserved at boot (more than NR_MEM_BANKS?)\n"
            );
            neg(Errno::ENOSPC)
        }
        Some(rc) => rc,
        None => {
            printk!("{XENLOG_ERR}static-shm: the host device tree cannot be read\n");
            neg(Errno::EINVAL)
        }
    }
}

struct XenShm {
    d: BootDomain,
    kinfo: KernelInfo,
}

impl ShmHost for XenShm {
    fn owned_by_system(&mut self, owner: SystemOwner, pbase: u64) -> bool {
        match owner {
            SystemOwner::DomIo => glue::page_owner_is_dom_io(pbase),
            SystemOwner::DomShared => glue::page_owner_is_dom_shared(pbase),
        }
    }

    /// assign_shared_memory() and acquire_shared_memory_bank(), with C's later fix: the
    /// reference rollback loop ends (4.17's `while ( --i >= 0 )` on an unsigned never did).
    fn assign(
        &mut self,
        to: Option<SystemOwner>,
        pbase: u64,
        size: u64,
        gbase: u64,
        nr_borrowers: u64,
    ) -> Result<(), i32> {
        let owner = match to {
            None => self.d,
            Some(SystemOwner::DomIo) => BootDomain::dom_io().ok_or(-(Errno::ESRCH as i32))?,
            Some(SystemOwner::DomShared) => {
                BootDomain::dom_shared().ok_or(-(Errno::ESRCH as i32))?
            }
        };
        let nr = size >> PAGE_SHIFT;
        let smfn = pbase >> PAGE_SHIFT;
        let end = pbase + size;
        match to {
            Some(SystemOwner::DomIo) => {
                printk!("d[IO]: allocate static shared memory BANK {pbase:#016x}-{end:#016x}.\n")
            }
            Some(SystemOwner::DomShared) => printk!(
                "d[SHARED]: allocate static shared memory BANK {pbase:#016x}-{end:#016x}.\n"
            ),
            None => printk!(
                "d{}: allocate static shared memory BANK {pbase:#016x}-{end:#016x}.\n",
                owner.id()
            ),
        }
        if (0..nr).any(|i| !glue::mfn_valid(smfn + i)) {
            return Err(-(Errno::EINVAL as i32));
        }
        owner.add_max_pages(nr)?;
        if let Err(rc) = owner.acquire_static_pages(smfn, nr) {
            printk!("{XENLOG_ERR}d{}: failed to acquire static memory: {rc}.\n", owner.id());
            owner.sub_max_pages(nr);
            return Err(rc);
        }
        // The system domains see RAM 1:1: no p2m mapping for them.
        if to.is_none() {
            owner.physmap_add(gbase >> PAGE_SHIFT, smfn, nr)?;
        }
        // One reference per borrower, taken now: a borrower may be built before the owner.
        for i in 0..nr {
            if !owner.get_page_nr(smfn + i, nr_borrowers) {
                printk!(
                    "{XENLOG_ERR}Failed to add {nr_borrowers} references to page {:#x}.\n",
                    smfn + i
                );
                for j in (0..i).rev() {
                    // SAFETY: page smfn + j got nr_borrowers references in this loop.
                    unsafe { glue::put_page_nr(smfn + j, nr_borrowers) };
                }
                return Err(-(Errno::EINVAL as i32));
            }
        }
        Ok(())
    }

    fn map_foreign(&mut self, gbase: u64, pbase: u64, size: u64) -> Result<(), i32> {
        self.d.map_foreign_rw(gbase >> PAGE_SHIFT, size >> PAGE_SHIFT, pbase >> PAGE_SHIFT)
    }

    fn record(&mut self, gbase: u64, size: u64, id: &str) -> Result<(), i32> {
        self.kinfo.add_shm_bank(gbase, size, id)
    }
}

/// domain_build.c's process_shm(d, kinfo, node): sets up the static shared memory of the
/// domain built from the node at `path` (NUL-terminated full name; "/chosen" for dom0's nodes).
/// 0 or -errno (construct_domU then fails and Xen panics naming the domain).
#[unsafe(no_mangle)]
pub extern "C" fn xen_rust_process_shm(
    d: *mut c_void,
    kinfo: *mut c_void,
    path: *const c_char,
) -> c_int {
    let rc = checked_or_report();
    if rc != 0 {
        return rc;
    }
    warn_numeric_id_gap();
    if path.is_null() {
        return neg(Errno::EINVAL);
    }
    // SAFETY: C passes dt_node_full_name(node), a NUL-terminated string alive for the call.
    // (Unsafe outside the glue: the exports are this crate's, so the raw pointers arrive here
    // and are turned into glue types at once; no Xen state is touched by these lines.)
    let path = unsafe { CStr::from_ptr(path) }.to_str().unwrap_or("");
    // SAFETY: C's construct_domU passes the domain it is building and its kernel_info.
    let (Some(d), Some(kinfo)) =
        (unsafe { BootDomain::from_raw(d) }, unsafe { KernelInfo::from_raw(kinfo) })
    else {
        return neg(Errno::EINVAL);
    };
    let mut host = XenShm { d, kinfo };
    with_config(true, |cfg| {
        let Ok(cfg) = cfg else { return neg(Errno::EINVAL) };
        let domain = match path.strip_prefix("/chosen/") {
            Some(name) => match cfg.domain_index(name) {
                Some(i) => Some(i),
                None => return 0,
            },
            None => None,
        };
        match set_up_domain_shm(cfg, domain, &mut host) {
            Ok(_) => 0,
            Err(e) => {
                printk!("{XENLOG_ERR}static-shm: {e}\n");
                -(e.reason.errno() as c_int)
            }
        }
    })
    .unwrap_or(neg(Errno::EINVAL))
}

struct XenEvtchn;

impl EvtchnHost for XenEvtchn {
    fn domid(&mut self, name: &str) -> Option<u16> {
        let mut path = xen_rust_glue::fmt::LineBuffer::<96>::new();
        write!(path, "/chosen/{name}").ok()?;
        let p = core::str::from_utf8(path.as_bytes()).ok()?;
        glue::dt_used_by(p).filter(|_| !path.is_truncated())
    }
    fn alloc_unbound(&mut self, dom: u16, port: u32, remote: u16) -> Result<(), i32> {
        glue::evtchn_alloc_unbound(dom, port, remote)
    }
    fn bind_interdomain(
        &mut self,
        dom: u16,
        port: u32,
        remote: u16,
        remote_port: u32,
    ) -> Result<(), i32> {
        glue::evtchn_bind_interdomain(dom, port, remote, remote_port)
    }
}

/// domain_build.c's alloc_static_evtchn(): every static event channel of both bindings, or
/// -errno after printing why (the C caller panics).
#[unsafe(no_mangle)]
pub extern "C" fn xen_rust_alloc_static_evtchn() -> c_int {
    let rc = checked_or_report();
    if rc != 0 {
        return rc;
    }
    with_config(true, |cfg| {
        let Ok(cfg) = cfg else { return neg(Errno::EINVAL) };
        match set_up_channels(cfg, &mut XenEvtchn) {
            Ok(n) => {
                if n > 0 {
                    printk!("static-shm: {n} static event channel(s) set up\n");
                }
                0
            }
            Err(e) => {
                printk!("{XENLOG_ERR}static-shm: {e}\n");
                -(e.reason.errno() as c_int)
            }
        }
    })
    .unwrap_or(neg(Errno::EINVAL))
}

/// domain_build.c's make_shm_memory_node(): one `xen-shmem@<gbase>` node per bank of
/// `mem` (kinfo->shm_mem) inside /reserved-memory, exactly as C writes them.
#[unsafe(no_mangle)]
pub extern "C" fn xen_rust_make_shm_memory_node(
    fdt: *mut c_void,
    addrcells: c_int,
    sizecells: c_int,
    mem: *const c_void,
) -> c_int {
    // SAFETY: C passes the guest tree it is writing and kinfo->shm_mem, both alive and not
    // touched by anyone else during the call.
    let (Some(mut w), Some(mem)) =
        (unsafe { FdtWriter::from_raw(fdt) }, unsafe { MemInfo::from_raw(mem) })
    else {
        return neg(Errno::EINVAL);
    };
    if mem.bank(0).is_none() {
        return -2; // -ENOENT, as C
    }
    let cells = |n: c_int| {
        if n == 1 {
            Some(1usize)
        } else if n == 2 {
            Some(2)
        } else {
            None
        }
    };
    let (Some(ac), Some(sc)) = (cells(addrcells), cells(sizecells)) else {
        return neg(Errno::EINVAL);
    };
    let mut i = 0;
    while let Some((start, size, id)) = mem.bank(i) {
        i += 1;
        let mut name = xen_rust_glue::fmt::LineBuffer::<32>::new();
        let _ = write!(name, "xen-shmem@{start:x}\0");
        let Ok(name) = CStr::from_bytes_with_nul(name.as_bytes()) else {
            return neg(Errno::EINVAL);
        };
        let mut reg = [0u8; 16];
        let mut len = 0;
        for (v, n) in [(start, ac), (size, sc)] {
            let bytes = v.to_be_bytes();
            let take = &bytes[8 - 4 * n..];
            reg[len..len + take.len()].copy_from_slice(take);
            len += take.len();
        }
        let r = (|| {
            w.begin_node(name)?;
            w.property(c"compatible", b"xen,shared-memory-v1\0")?;
            w.property(c"reg", &reg[..len])?;
            w.property(c"xen,id", id.to_bytes_with_nul())?;
            w.property_u64(c"xen,offset", 0)?;
            w.end_node()
        })();
        if let Err(rc) = r {
            return rc;
        }
    }
    0
}
