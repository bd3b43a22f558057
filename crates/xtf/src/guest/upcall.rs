//! The event channel upcall: what a vCPU does when Xen raises the event PPI (31) on it.
//!
//! Xen marks events for a vCPU by setting `evtchn_upcall_pending` in its `vcpu_info` and
//! injecting the PPI (arch/arm/domain.c `vcpu_mark_events_pending`; a 0→1 edge only). The
//! handler here, per vCPU, as Linux does:
//! 1. clears `evtchn_upcall_pending`;
//! 2. 2-level ABI: takes `evtchn_pending_sel`, and for each word it names, every port that is
//!    pending and not masked in shared_info; FIFO ABI: takes the control block's READY word and
//!    consumes the queues, highest priority (lowest number) first, one event at a time
//!    (seed 004's loop: after each event, READY is re-read);
//! 3. for each port: clears its PENDING bit (the "ack"), then records `(port, queue)` in this
//!    vCPU's delivery log.
//!
//! The log is lock-free (atomics only): tests read it from any vCPU with [`log`] /
//! [`delivered`], and clear it with [`reset_log`] while nothing is being delivered.
//!
//! vCPU 0 uses the `vcpu_info` in shared_info; every other vCPU registers its own (in a page of
//! ours) with VCPUOP_register_vcpu_info before any port is bound to it — until then Xen 4.17
//! points it at a `dummy_vcpu_info` shared by every such vCPU in the system. Registering marks
//! every selector bit pending and raises one spurious upcall, which the handler absorbs.
//!
//! FIFO: [`fifo_init_cpu`] hands Xen this vCPU's control block (a slot in a page of ours; the
//! first call switches the domain to FIFO) and, the first time, one event array page (ports
//! 0..1024, all words zero: unmasked, not pending).
//!
//! # Taking upcalls in a test
//!
//! ```ignore
//! let sys = upcall::start(env, upcall::Config { vcpus: 2, abi: upcall::Abi::TwoLevel })?;
//! let port = loopback_port()?;        // any bound port
//! evtchn::send(port)?;
//! timer::wait_until(100, "the upcall", || upcall::delivered(0) == 1)?;
//! assert_eq!(upcall::log(0).port(0), Some(port));
//! ```

use core::cell::UnsafeCell;
use core::fmt;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use super::shared_info::{self, SharedInfo, VcpuInfo};
use super::{evtchn, gic, irq, smp, timer};
use crate::abi::{EventWordFlags, EvtchnPort, fifo, shared_info_layout};
use crate::fdt::Fdt;
use crate::platform::{MAX_CPUS, Platform, PlatformError};
use crate::registry::Env;

/// Which event channel ABI the domain uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Abi {
    TwoLevel,
    Fifo,
}

/// What [`start`] sets up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// vCPUs to run (1 = the boot vCPU only); the domain needs at least this many
    /// (`DOMU_VCPUS`).
    pub vcpus: usize,
    pub abi: Abi,
    /// FIFO only: call init_control on every vCPU (`false`: on vCPU 0 only, the test does the
    /// others with [`fifo_init_cpu`]).
    pub fifo_all_cpus: bool,
    /// A watchdog on vCPU 0 ending the test FAILURE after this many ms (0: none). The
    /// default, 120 s, is for hangs, not slowness: the counter runs in host time, and a
    /// loaded host can stall one of QEMU's CPU threads for many seconds.
    pub watchdog_ms: u64,
}

impl Config {
    pub const fn new(vcpus: usize, abi: Abi) -> Config {
        Config { vcpus, abi, fifo_all_cpus: true, watchdog_ms: 120_000 }
    }
}

/// Why [`start`] could not set things up.
#[derive(Clone, Copy, Debug)]
pub enum SetupError {
    NoDeviceTree,
    Platform(PlatformError),
    Gic(gic::GicError),
    SharedInfo(crate::abi::Errno),
    Smp(smp::SmpError),
    RegisterVcpuInfo {
        cpu: usize,
        err: crate::abi::Errno,
    },
    Fifo {
        cpu: usize,
        err: crate::abi::Errno,
    },
    /// The upcall that registering a vcpu_info raises did not arrive.
    NoRegistrationUpcall {
        cpu: usize,
    },
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetupError::NoDeviceTree => f.write_str("no device tree"),
            SetupError::Platform(e) => write!(f, "device tree: {e}"),
            SetupError::Gic(e) => write!(f, "GIC: {e}"),
            SetupError::SharedInfo(e) => write!(f, "mapping shared_info: {e}"),
            SetupError::Smp(e) => write!(f, "{e}"),
            SetupError::RegisterVcpuInfo { cpu, err } => {
                write!(f, "VCPUOP_register_vcpu_info for vCPU {cpu}: {err}")
            }
            SetupError::Fifo { cpu, err } => write!(f, "FIFO set-up on vCPU {cpu}: {err}"),
            SetupError::NoRegistrationUpcall { cpu } => {
                write!(f, "vCPU {cpu}: no upcall after registering its vcpu_info")
            }
        }
    }
}

/// One guest page that Xen maps and writes (vcpu_info, FIFO control blocks, event array).
/// Only ever accessed through atomics at raw addresses.
#[repr(C, align(4096))]
struct XenPage(UnsafeCell<[u8; 4096]>);

// SAFETY: the page is never accessed through a Rust reference, only with atomic operations on
// raw addresses inside it (see the accessors below), which is sound from any vCPU.
unsafe impl Sync for XenPage {}

impl XenPage {
    const fn new() -> XenPage {
        XenPage(UnsafeCell::new([0; 4096]))
    }

    fn addr(&self) -> usize {
        self.0.get() as usize
    }
}

/// vcpu_info of vCPUs 1.. (slot i at 64 * i; slot 0 unused: vCPU 0's is in shared_info).
static VCPU_INFO_PAGE: XenPage = XenPage::new();
const VCPU_INFO_STRIDE: usize = 64;
const _: () = assert!(shared_info_layout::VCPU_INFO_SIZE <= VCPU_INFO_STRIDE);
const _: () = assert!(MAX_CPUS * VCPU_INFO_STRIDE <= 4096);
/// Per vCPU: the address of the vcpu_info Xen uses for it (0: none known yet).
static VCPU_INFO_ADDR: [AtomicUsize; MAX_CPUS] = [const { AtomicUsize::new(0) }; MAX_CPUS];

/// FIFO control blocks (vCPU i's at 128 * i) and the one event array page.
static FIFO_CONTROL_PAGE: XenPage = XenPage::new();
const FIFO_CONTROL_STRIDE: usize = 128;
const _: () = assert!(size_of::<crate::abi::FifoControlBlock>() <= FIFO_CONTROL_STRIDE);
static FIFO_ARRAY_PAGE: XenPage = XenPage::new();
/// Ports the event array covers.
pub const FIFO_PORTS: u32 = fifo::WORDS_PER_PAGE;

/// 0: 2-level, 1: FIFO (set once the first init_control succeeds).
static ABI: AtomicU32 = AtomicU32::new(0);
/// Per vCPU: whether its FIFO control block is registered.
static FIFO_READY: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(0) }; MAX_CPUS];
/// Per vCPU and queue: the guest's copy of the queue head (0: read the control block's).
static FIFO_HEAD: [[AtomicU32; fifo::MAX_QUEUES]; MAX_CPUS] =
    [const { [const { AtomicU32::new(0) }; fifo::MAX_QUEUES] }; MAX_CPUS];

/// Deliveries kept per vCPU (more are counted, not stored).
pub const LOG_CAPACITY: usize = 64;
/// A log entry: bit 31 set when written, queue (FIFO priority + 1, 0 for 2L) in 27..31,
/// port in 0..17.
struct Log {
    n: AtomicU32,
    upcalls: AtomicU32,
    entries: [AtomicU32; LOG_CAPACITY],
}

static LOGS: [Log; MAX_CPUS] = [const {
    Log {
        n: AtomicU32::new(0),
        upcalls: AtomicU32::new(0),
        entries: [const { AtomicU32::new(0) }; LOG_CAPACITY],
    }
}; MAX_CPUS];

/// One event the upcall handler took.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Delivery {
    pub port: EvtchnPort,
    /// The FIFO queue (priority) it came off; `None` under the 2-level ABI.
    pub queue: Option<u8>,
}

impl fmt::Display for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.queue {
            Some(q) => write!(f, "{}@q{q}", self.port),
            None => write!(f, "{}", self.port),
        }
    }
}

/// A copy of one vCPU's delivery log.
#[derive(Clone, Copy)]
pub struct LogSnapshot {
    len: usize,
    total: usize,
    entries: [Delivery; LOG_CAPACITY],
}

impl LogSnapshot {
    /// Deliveries stored (at most [`LOG_CAPACITY`]).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Deliveries made, stored or not.
    pub fn total(&self) -> usize {
        self.total
    }

    pub fn entries(&self) -> &[Delivery] {
        &self.entries[..self.len]
    }

    /// The ports, in delivery order.
    pub fn ports(&self) -> impl Iterator<Item = EvtchnPort> + '_ {
        self.entries().iter().map(|d| d.port)
    }

    /// The `i`th port delivered.
    pub fn port(&self, i: usize) -> Option<EvtchnPort> {
        self.entries().get(i).map(|d| d.port)
    }

    /// Whether the ports delivered are exactly `ports`, in order.
    pub fn ports_are(&self, ports: &[EvtchnPort]) -> bool {
        self.total == ports.len() && self.ports().eq(ports.iter().copied())
    }
}

/// `[3, 5@q0, ...]`
impl fmt::Display for LogSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, d) in self.entries().iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{d}")?;
        }
        if self.total > self.len {
            write!(f, ", ... {} more", self.total - self.len)?;
        }
        f.write_str("]")
    }
}

/// The events vCPU `cpu`'s upcall handler has taken since the last [`reset_log`].
pub fn log(cpu: usize) -> LogSnapshot {
    let mut snap = LogSnapshot {
        len: 0,
        total: 0,
        entries: [Delivery { port: 0, queue: None }; LOG_CAPACITY],
    };
    let Some(l) = LOGS.get(cpu) else {
        return snap;
    };
    let total = l.n.load(Ordering::Acquire) as usize;
    snap.total = total;
    for i in 0..total.min(LOG_CAPACITY) {
        let e = l.entries[i].load(Ordering::Acquire);
        if e & (1 << 31) == 0 {
            break; // being written right now
        }
        let q = (e >> 27) & 0xf;
        snap.entries[i] = Delivery {
            port: e & fifo::LINK_MASK,
            queue: if e & (1 << 26) != 0 { Some(q as u8) } else { None },
        };
        snap.len = i + 1;
    }
    snap
}

/// How many events vCPU `cpu` has taken.
pub fn delivered(cpu: usize) -> usize {
    LOGS.get(cpu).map_or(0, |l| l.n.load(Ordering::Acquire) as usize)
}

/// How many times the upcall handler ran on vCPU `cpu` (with or without events).
pub fn upcalls(cpu: usize) -> u32 {
    LOGS.get(cpu).map_or(0, |l| l.upcalls.load(Ordering::Acquire))
}

/// Empties every vCPU's log and upcall count. Call while no event is being delivered.
pub fn reset_log() {
    for l in &LOGS {
        l.n.store(0, Ordering::Release);
        l.upcalls.store(0, Ordering::Release);
        for e in &l.entries {
            e.store(0, Ordering::Release);
        }
    }
}

fn record(cpu: usize, port: EvtchnPort, queue: Option<usize>) {
    let Some(l) = LOGS.get(cpu) else {
        return;
    };
    let i = l.n.fetch_add(1, Ordering::AcqRel) as usize;
    if let Some(slot) = l.entries.get(i) {
        let q = match queue {
            Some(q) => (1 << 26) | ((q as u32 & 0xf) << 27),
            None => 0,
        };
        slot.store((1 << 31) | q | (port & fifo::LINK_MASK), Ordering::Release);
    }
}

/// The vcpu_info Xen uses for vCPU `cpu`, once [`start`] (or [`register_this_cpu`]) set it.
pub fn vcpu_info(cpu: usize) -> Option<VcpuInfo> {
    let addr = VCPU_INFO_ADDR.get(cpu)?.load(Ordering::Acquire);
    // SAFETY: a non-zero address was stored only after Xen accepted it as this vCPU's
    // vcpu_info (vCPU 0: shared_info's, mapped for good; others: a slot of VCPU_INFO_PAGE,
    // which is only accessed atomically).
    (addr != 0).then(|| unsafe { VcpuInfo::at(addr) })
}

/// Which ABI the domain uses now.
pub fn abi() -> Abi {
    if ABI.load(Ordering::Acquire) == 1 { Abi::Fifo } else { Abi::TwoLevel }
}

/// Registers a vcpu_info of ours for the calling vCPU (not vCPU 0, which keeps shared_info's).
/// Run on the vCPU itself (e.g. through [`smp::run_on`]) before binding ports to it.
pub fn register_this_cpu() -> Result<(), crate::abi::Errno> {
    let cpu = smp::this_cpu();
    if cpu == 0 {
        return Ok(());
    }
    let addr = VCPU_INFO_PAGE.addr() + cpu * VCPU_INFO_STRIDE;
    // Known before Xen raises the registration upcall, so the handler finds it.
    VCPU_INFO_ADDR[cpu].store(addr, Ordering::Release);
    // SAFETY: the slot is 64 bytes of VCPU_INFO_PAGE, a page no Rust object uses (accessed
    // only atomically through VcpuInfo), alive for the guest's life; 8-aligned, in one page.
    let r = unsafe {
        shared_info::register_vcpu_info(cpu as u32, (addr >> 12) as u64, (addr & 0xfff) as u32)
    };
    if r.is_err() {
        VCPU_INFO_ADDR[cpu].store(0, Ordering::Release);
    }
    r
}

// ---- FIFO ----

/// The event word of `port` in our event array, if it covers the port.
pub fn fifo_word(port: EvtchnPort) -> Option<&'static AtomicU32> {
    if port >= FIFO_PORTS {
        return None;
    }
    // SAFETY: FIFO_ARRAY_PAGE is a static page accessed only atomically; port < 1024 keeps
    // the 4-aligned word inside it.
    Some(unsafe { AtomicU32::from_ptr((FIFO_ARRAY_PAGE.addr() + 4 * port as usize) as *mut u32) })
}

/// vCPU `cpu`'s FIFO control block words: READY and HEAD[q].
pub struct ControlBlock {
    addr: usize,
}

impl ControlBlock {
    fn word(&self, off: usize) -> &'static AtomicU32 {
        // SAFETY: addr is a control block slot of FIFO_CONTROL_PAGE (only accessed
        // atomically); off < 72 is 4-aligned within it.
        unsafe { AtomicU32::from_ptr((self.addr + off) as *mut u32) }
    }

    /// READY: bit q set when queue q has events.
    pub fn ready(&self) -> u32 {
        self.word(0).load(Ordering::SeqCst)
    }

    /// HEAD[q] as Xen last wrote it.
    pub fn head(&self, q: usize) -> u32 {
        self.word(8 + 4 * (q % fifo::MAX_QUEUES)).load(Ordering::SeqCst)
    }
}

/// vCPU `cpu`'s FIFO control block.
pub fn control_block(cpu: usize) -> ControlBlock {
    ControlBlock { addr: FIFO_CONTROL_PAGE.addr() + (cpu % MAX_CPUS) * FIFO_CONTROL_STRIDE }
}

/// EVTCHNOP_init_control for vCPU `cpu` with its control block in our page; the first call
/// also switches the domain to FIFO and adds our event array page. May run on any vCPU.
pub fn fifo_init_cpu(cpu: usize) -> Result<(), crate::abi::Errno> {
    let addr = FIFO_CONTROL_PAGE.addr() + cpu * FIFO_CONTROL_STRIDE;
    evtchn::init_control((addr >> 12) as u64, (addr & 0xfff) as u32, cpu as u32)?;
    FIFO_READY[cpu].store(1, Ordering::Release);
    if ABI.swap(1, Ordering::AcqRel) == 0 {
        evtchn::expand_array((FIFO_ARRAY_PAGE.addr() >> 12) as u64)?;
    }
    Ok(())
}

/// Linux's clear_linked(): clears LINKED and LINK atomically, returns the old LINK.
fn clear_linked(word: &AtomicU32) -> u32 {
    let clear = EventWordFlags::LINKED.bits() | fifo::LINK_MASK;
    let old = word.fetch_and(!clear, Ordering::SeqCst);
    old & fifo::LINK_MASK
}

/// Takes one event off queue `q` of `cpu` (seed 004 / Linux consume_one_event).
fn fifo_consume_one(cpu: usize, cb: &ControlBlock, q: usize, ready: &mut u32) {
    let local = &FIFO_HEAD[cpu][q];
    let mut head = local.load(Ordering::Relaxed);
    if head == 0 {
        head = cb.head(q);
    }
    let port = head;
    let Some(word) = fifo_word(port) else {
        // A port our array does not cover (or 0: an empty queue marked ready): give up on q.
        *ready &= !(1 << q);
        local.store(0, Ordering::Relaxed);
        return;
    };
    let next = clear_linked(word);
    if next == 0 {
        *ready &= !(1 << q);
    }
    let w = word.load(Ordering::SeqCst);
    if w & EventWordFlags::PENDING.bits() != 0 && w & EventWordFlags::MASKED.bits() == 0 {
        word.fetch_and(!EventWordFlags::PENDING.bits(), Ordering::SeqCst);
        record(cpu, port, Some(q));
    }
    local.store(next, Ordering::Relaxed);
}

fn fifo_handle(cpu: usize) {
    if FIFO_READY[cpu].load(Ordering::Acquire) == 0 {
        return;
    }
    let cb = control_block(cpu);
    let ready_word = cb.word(0);
    let mut ready = ready_word.swap(0, Ordering::SeqCst);
    while ready != 0 {
        let q = ready.trailing_zeros() as usize;
        fifo_consume_one(cpu, &cb, q, &mut ready);
        ready |= ready_word.swap(0, Ordering::SeqCst);
    }
}

fn two_level_handle(cpu: usize, vi: &VcpuInfo, si: &SharedInfo) {
    let sel = vi.take_pending_sel();
    let mut words = sel;
    while words != 0 {
        let i = words.trailing_zeros() as usize;
        words &= words - 1;
        if i >= shared_info_layout::EVTCHN_WORDS {
            break;
        }
        let mut bits = si.pending_word(i) & !si.mask_word(i);
        while bits != 0 {
            let b = bits.trailing_zeros();
            bits &= bits - 1;
            let port = (i as u32) * 64 + b;
            si.clear_pending(port);
            record(cpu, port, None);
        }
    }
}

/// The event PPI's handler.
fn on_event_ppi(_intid: u32, cpu: usize) {
    if let Some(l) = LOGS.get(cpu) {
        l.upcalls.fetch_add(1, Ordering::AcqRel);
    }
    let Some(vi) = vcpu_info(cpu) else {
        return;
    };
    vi.set_upcall_pending(0);
    match abi() {
        Abi::Fifo => {
            // Registration (and a 2L past) may have left selector bits: not ours to read now.
            vi.take_pending_sel();
            fifo_handle(cpu);
        }
        Abi::TwoLevel => {
            if let Ok(si) = shared_info::map() {
                two_level_handle(cpu, &vi, si);
            }
        }
    }
}

/// How long [`start`] waits for another vCPU (generous: TCG with many domains on 2 CPUs).
const SETUP_WAIT_MS: u64 = 20_000;

/// The platform [`start`] found (valid once it succeeded).
static PLATFORM_PPI: AtomicU32 = AtomicU32::new(crate::platform::GUEST_EVTCHN_PPI);

/// The event channel PPI in use.
pub fn event_ppi() -> u32 {
    PLATFORM_PPI.load(Ordering::Relaxed)
}

/// Sets up everything a test needs to take upcalls, on the boot vCPU:
/// 1. reads the platform from the device tree; sets up the GIC (distributor, this vCPU's
///    interface), installs the event and virtual timer PPI handlers and enables both;
/// 2. maps shared_info (vCPU 0's vcpu_info) and unmasks IRQs; arms the watchdog;
/// 3. starts vCPUs 1..`cfg.vcpus`, each registering its own vcpu_info (and waits for the
///    upcall that registration raises, so the logs start empty);
/// 4. FIFO: init_control on vCPU 0 (and the others, with `fifo_all_cpus`).
///
/// Returns with IRQs unmasked on every vCPU and every log empty.
pub fn start(env: &Env<'_>, cfg: Config) -> Result<Platform, SetupError> {
    let fdt: &Fdt<'_> = env.fdt.as_ref().ok_or(SetupError::NoDeviceTree)?;
    let platform = Platform::from_fdt(fdt).map_err(SetupError::Platform)?;
    irq::disable();
    gic::init(&platform).map_err(SetupError::Gic)?;
    gic::init_cpu().map_err(SetupError::Gic)?;
    PLATFORM_PPI.store(platform.evtchn_ppi, Ordering::Relaxed);
    irq::set_handler(platform.evtchn_ppi, on_event_ppi);
    gic::enable_ppi(platform.evtchn_ppi).map_err(SetupError::Gic)?;
    timer::init_irq(platform.vtimer_ppi).map_err(SetupError::Gic)?;

    shared_info::map().map_err(SetupError::SharedInfo)?;
    VCPU_INFO_ADDR[0].store(SHARED_INFO_VCPU0, Ordering::Release);
    irq::enable();
    if cfg.watchdog_ms != 0 {
        timer::start_watchdog(cfg.watchdog_ms);
    }

    if cfg.vcpus > 1 {
        smp::start(&platform, cfg.vcpus, &[platform.evtchn_ppi, platform.vtimer_ppi])
            .map_err(SetupError::Smp)?;
        for cpu in 1..cfg.vcpus {
            let before = upcalls(cpu);
            let r = smp::run_on(cpu, SETUP_WAIT_MS, &|| match register_this_cpu() {
                Ok(()) => 0,
                Err(e) => e.0 as u64,
            });
            if r != 0 {
                return Err(SetupError::RegisterVcpuInfo { cpu, err: crate::abi::Errno(r as i32) });
            }
            if !timer::poll_until(SETUP_WAIT_MS, || upcalls(cpu) > before) {
                return Err(SetupError::NoRegistrationUpcall { cpu });
            }
        }
    }

    if cfg.abi == Abi::Fifo {
        let n = if cfg.fifo_all_cpus { cfg.vcpus } else { 1 };
        for cpu in 0..n {
            fifo_init_cpu(cpu).map_err(|err| SetupError::Fifo { cpu, err })?;
        }
    }
    reset_log();
    Ok(platform)
}

/// Where shared_info's vcpu_info[0] is (shared_info::map puts the page at a fixed frame).
const SHARED_INFO_VCPU0: usize = (shared_info::SHARED_INFO_GFN as usize) << 12;
