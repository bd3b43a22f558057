//! Secondary vCPUs: PSCI CPU_ON (through the conduit the device tree's `psci` node names),
//! per-vCPU stacks, and running code on another vCPU.
//!
//! A secondary enters at `xtf_secondary_start` (entry.rs) with the MMU off and x0 = its
//! index (PSCI's context ID); the entry code turns the MMU on with the boot vCPU's tables,
//! points SP at the vCPU's own stack, sets TPIDR_EL1 to the index (what [`this_cpu`] reads)
//! and calls [`xtf_secondary_entry`], which sets up the vCPU's GIC CPU interface, unmasks IRQs
//! and waits for work: a secondary idles with IRQs on, so interrupts routed to it are taken
//! there.
//!
//! ```ignore
//! smp::start(&platform, 2, &[31, 27])?;           // vCPU 1 is online and idle
//! let port = smp::run_on(1, 1000, &|| bind_ipi_here()); // runs on vCPU 1, result here
//! smp::start_on(1, poll_port, port);              // runs on vCPU 1, which may block
//! evtchn::send(other_end)?;                       // ... until vCPU 0 does this
//! let rc = smp::finish(1, 1000)?;                 // FAILURE (Err) after 1 s
//! ```
//!
//! [`run_on`] borrows its closure across vCPUs, so when vCPU `cpu` does not finish in time
//! it ends the whole test (FAILURE) rather than return while the closure may still run.
//! Console lines printed on two vCPUs at once may interleave: keep secondaries quiet and
//! report from vCPU 0 (xtf's result and failure recording is atomic and works anywhere).

use core::arch::asm;
use core::fmt;
use core::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

use super::{gic, irq, report, timer};
use crate::platform::{Conduit, MAX_CPUS, Platform, Psci};

/// How long a vCPU gets to come online after CPU_ON.
const ONLINE_TIMEOUT_MS: u64 = 20_000;
/// The SGI that wakes a vCPU sleeping in WFI when there is work or news for it.
pub const KICK_SGI: u32 = 1;

/// Wakes vCPU `cpu` if it sleeps in WFI (idle, or waiting in `timer::relax`).
pub fn kick(cpu: usize) {
    if cpu != this_cpu() && online(cpu) {
        let _ = gic::send_sgi(cpu, KICK_SGI);
    }
}

fn on_kick(_intid: u32, _cpu: usize) {}

/// The calling vCPU's index (0 for the boot vCPU), from TPIDR_EL1 (set by entry.rs).
pub fn this_cpu() -> usize {
    let v: u64;
    // SAFETY: reading TPIDR_EL1 has no side effect.
    unsafe { asm!("mrs {v}, tpidr_el1", v = out(reg) v, options(nomem, nostack)) };
    (v as usize).min(MAX_CPUS - 1)
}

/// PSCI return values (PSCI 1.1 §5.2.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PsciError(pub i32);

impl fmt::Display for PsciError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self.0 {
            -1 => "NOT_SUPPORTED",
            -2 => "INVALID_PARAMETERS",
            -3 => "DENIED",
            -4 => "ALREADY_ON",
            -5 => "ON_PENDING",
            -6 => "INTERNAL_FAILURE",
            -7 => "NOT_PRESENT",
            -8 => "DISABLED",
            -9 => "INVALID_ADDRESS",
            _ => "?",
        };
        write!(f, "PSCI {name} ({})", self.0)
    }
}

/// Why a secondary vCPU did not start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmpError {
    /// The device tree has no psci node.
    NoPsci,
    /// The tree lists fewer vCPUs than asked for (`DOMU_VCPUS`).
    TooFewCpus { want: usize, have: usize },
    /// CPU_ON failed.
    CpuOn { cpu: usize, err: PsciError },
    /// CPU_ON succeeded but the vCPU never reached Rust.
    NoCheckIn { cpu: usize },
    /// The vCPU came up but its GIC CPU interface could not be set up.
    Gic { cpu: usize, err: gic::GicError },
}

impl fmt::Display for SmpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SmpError::NoPsci => f.write_str("no psci node in the device tree"),
            SmpError::TooFewCpus { want, have } => {
                write!(f, "need {want} vCPUs, the device tree has {have} (DOMU_VCPUS)")
            }
            SmpError::CpuOn { cpu, err } => write!(f, "CPU_ON for vCPU {cpu}: {err}"),
            SmpError::NoCheckIn { cpu } => {
                write!(f, "vCPU {cpu} did not come online within {ONLINE_TIMEOUT_MS} ms")
            }
            SmpError::Gic { cpu, err } => write!(f, "vCPU {cpu}: {err}"),
        }
    }
}

/// Why [`bring_up`] stopped: the step that failed and its error.
#[derive(Clone, Copy, Debug)]
pub enum BringUpError {
    NoDeviceTree,
    Platform(crate::platform::PlatformError),
    Gic(gic::GicError),
    Smp(SmpError),
}

impl fmt::Display for BringUpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BringUpError::NoDeviceTree => f.write_str("no device tree"),
            BringUpError::Platform(e) => write!(f, "platform from the device tree: {e}"),
            BringUpError::Gic(e) => write!(f, "GIC set-up: {e}"),
            BringUpError::Smp(e) => write!(f, "starting the other vCPUs: {e}"),
        }
    }
}

/// The start of every multi-vCPU test: the platform from the device tree `fdt`, the GIC
/// distributor and this vCPU's interface, then vCPUs 1..n online and idle (no PPI enabled,
/// see [`start`]).
pub fn bring_up(fdt: Option<&crate::fdt::Fdt<'_>>, n: usize) -> Result<Platform, BringUpError> {
    let platform = Platform::from_fdt(fdt.ok_or(BringUpError::NoDeviceTree)?)
        .map_err(BringUpError::Platform)?;
    gic::init(&platform).and_then(|()| gic::init_cpu()).map_err(BringUpError::Gic)?;
    start(&platform, n, &[]).map_err(BringUpError::Smp)?;
    Ok(platform)
}

/// A PSCI call: function ID in x0, arguments x1–x3, result in x0 (SMCCC; x0–x17 may be
/// clobbered).
fn psci_call(conduit: Conduit, func: u32, a1: u64, a2: u64, a3: u64) -> i64 {
    let ret: u64;
    // SAFETY: PSCI calls only change vCPU power state (CPU_ON starts another vCPU at an
    // entry point of ours); the asm declares every register SMCCC lets the callee clobber.
    unsafe {
        match conduit {
            Conduit::Hvc => asm!(
                "hvc #0",
                inlateout("x0") u64::from(func) => ret,
                inlateout("x1") a1 => _,
                inlateout("x2") a2 => _,
                inlateout("x3") a3 => _,
                clobber_abi("C"),
                options(nostack),
            ),
            Conduit::Smc => asm!(
                "smc #0",
                inlateout("x0") u64::from(func) => ret,
                inlateout("x1") a1 => _,
                inlateout("x2") a2 => _,
                inlateout("x3") a3 => _,
                clobber_abi("C"),
                options(nostack),
            ),
        }
    }
    ret as i64
}

/// PSCI_VERSION (0.2+): (major, minor).
pub fn psci_version(psci: &Psci) -> Result<(u16, u16), PsciError> {
    let r = psci_call(psci.conduit, crate::platform::psci_fn::VERSION, 0, 0, 0);
    if r < 0 { Err(PsciError(r as i32)) } else { Ok(((r >> 16) as u16, r as u16)) }
}

unsafe extern "C" {
    /// entry.rs: where a secondary vCPU starts (MMU off, x0 = its index).
    fn xtf_secondary_start();
}

/// Per vCPU: 0 offline, 1 online and idle-looping.
static ONLINE: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(0) }; MAX_CPUS];
/// Per vCPU: what went wrong setting up its GIC CPU interface (code, payload), code 0: nothing.
static GIC_FAILED: [(AtomicU32, AtomicU64); MAX_CPUS] =
    [const { (AtomicU32::new(0), AtomicU64::new(0)) }; MAX_CPUS];
/// Private interrupts each secondary enables for itself (u32::MAX: none).
static PPIS_TO_ENABLE: [AtomicU32; 2] = [const { AtomicU32::new(u32::MAX) }; 2];

/// Whether vCPU `cpu` is up (the boot vCPU always is).
pub fn online(cpu: usize) -> bool {
    cpu == 0 || ONLINE.get(cpu).is_some_and(|o| o.load(Ordering::Acquire) == 1)
}

/// Starts vCPUs 1..n (CPU_ON with the MPIDR the device tree gives each) and waits until
/// each has set up its GIC CPU interface, enabled `ppis` (IRQ handlers must be installed
/// already) and unmasked IRQs. `n` counts the boot vCPU. [`gic::init`] must have run.
pub fn start(platform: &Platform, n: usize, ppis: &[u32]) -> Result<(), SmpError> {
    if n > platform.ncpus {
        return Err(SmpError::TooFewCpus { want: n, have: platform.ncpus });
    }
    let psci = platform.psci.ok_or(SmpError::NoPsci)?;
    for (slot, ppi) in PPIS_TO_ENABLE.iter().zip(ppis.iter()) {
        slot.store(*ppi, Ordering::Relaxed);
    }
    irq::set_handler(KICK_SGI, on_kick);
    gic::enable_ppi(KICK_SGI).map_err(|err| SmpError::Gic { cpu: this_cpu(), err })?;
    for cpu in 1..n {
        if online(cpu) {
            continue;
        }
        let entry = xtf_secondary_start as *const () as usize as u64;
        let r = psci_call(psci.conduit, psci.cpu_on, platform.mpidr[cpu], entry, cpu as u64);
        if r != 0 {
            return Err(SmpError::CpuOn { cpu, err: PsciError(r as i32) });
        }
        if !timer::poll_until(ONLINE_TIMEOUT_MS, || online(cpu)) {
            return Err(SmpError::NoCheckIn { cpu });
        }
        let (code, payload) = &GIC_FAILED[cpu];
        if let Some(err) = gic_error(code.load(Ordering::Acquire), payload.load(Ordering::Relaxed))
        {
            return Err(SmpError::Gic { cpu, err });
        }
    }
    Ok(())
}

/// A GicError as two words, to pass between vCPUs in atomics.
fn gic_error_code(e: gic::GicError) -> (u32, u64) {
    match e {
        gic::GicError::NotInitialised => (1, 0),
        gic::GicError::BadRegion(a) => (2, a),
        gic::GicError::NoRedistributor { mpidr } => (3, mpidr),
        gic::GicError::NoSystemRegisters => (4, 0),
        gic::GicError::NotPrivate(id) => (5, u64::from(id)),
    }
}

fn gic_error(code: u32, payload: u64) -> Option<gic::GicError> {
    Some(match code {
        0 => return None,
        1 => gic::GicError::NotInitialised,
        2 => gic::GicError::BadRegion(payload),
        3 => gic::GicError::NoRedistributor { mpidr: payload },
        4 => gic::GicError::NoSystemRegisters,
        _ => gic::GicError::NotPrivate(payload as u32),
    })
}

// ---- work for other vCPUs ----

const IDLE: u32 = 0;
const POSTED: u32 = 1;
const RUNNING: u32 = 2;
const DONE: u32 = 3;

/// One job slot per vCPU: `call(data)` runs there, its result comes back in `result`.
struct Mailbox {
    state: AtomicU32,
    /// The vCPU that posted the work (kicked when it is done).
    poster: AtomicUsize,
    call: AtomicUsize,
    data: AtomicUsize,
    result: AtomicU64,
}

static MAILBOX: [Mailbox; MAX_CPUS] = [const {
    Mailbox {
        state: AtomicU32::new(IDLE),
        poster: AtomicUsize::new(0),
        call: AtomicUsize::new(0),
        data: AtomicUsize::new(0),
        result: AtomicU64::new(0),
    }
}; MAX_CPUS];

/// Calls the closure `data` points to (an `F`).
///
/// # Safety
///
/// `data` must point to a live `F`.
unsafe fn trampoline<F: Fn() -> u64 + Sync>(data: usize) -> u64 {
    // SAFETY: the caller guarantees `data` points to a live F; F: Sync makes a shared
    // reference from another vCPU sound.
    let f = unsafe { &*(data as *const F) };
    f()
}

/// Runs `f` on vCPU `cpu` and returns its result. On the calling vCPU it just calls `f`.
/// If `cpu` is not online, or does not finish within `timeout_ms`, the test ends FAILURE
/// here (the closure is borrowed: returning early would leave `cpu` holding a dangling
/// reference).
pub fn run_on<F: Fn() -> u64 + Sync>(cpu: usize, timeout_ms: u64, f: &F) -> u64 {
    if cpu == this_cpu() {
        return f();
    }
    if cpu >= MAX_CPUS || !online(cpu) {
        report::failure(format_args!("run_on: vCPU {cpu} is not online"));
        report::exit();
    }
    let mb = &MAILBOX[cpu];
    // Only one poster per mailbox at a time (vCPU 0 drives the test).
    if !timer::poll_until(timeout_ms, || mb.state.load(Ordering::Acquire) == IDLE) {
        report::failure(format_args!("run_on: vCPU {cpu} still busy after {timeout_ms} ms"));
        report::exit();
    }
    mb.call.store(trampoline::<F> as unsafe fn(usize) -> u64 as usize, Ordering::Relaxed);
    mb.data.store(f as *const F as usize, Ordering::Relaxed);
    mb.poster.store(this_cpu(), Ordering::Relaxed);
    mb.state.store(POSTED, Ordering::Release);
    kick(cpu);
    if !timer::poll_until(timeout_ms, || mb.state.load(Ordering::Acquire) == DONE) {
        report::failure(format_args!("run_on: vCPU {cpu} did not finish within {timeout_ms} ms"));
        report::exit();
    }
    let r = mb.result.load(Ordering::Relaxed);
    mb.state.store(IDLE, Ordering::Release);
    r
}

/// Starts `f(arg)` on vCPU `cpu` and returns at once; [`finish`] collects the result. For
/// work that blocks until this vCPU does something (SCHEDOP_poll, a barrier). `f` borrows
/// nothing, so giving up on it is sound. On the calling vCPU, or one that is not online or
/// still busy, the test ends FAILURE.
pub fn start_on(cpu: usize, f: fn(u64) -> u64, arg: u64) {
    if cpu == this_cpu() || cpu >= MAX_CPUS || !online(cpu) {
        report::failure(format_args!("start_on: vCPU {cpu} is not another online vCPU"));
        report::exit();
    }
    let mb = &MAILBOX[cpu];
    if mb.state.load(Ordering::Acquire) != IDLE {
        report::failure(format_args!("start_on: vCPU {cpu} is busy"));
        report::exit();
    }
    mb.call.store(call_fn as unsafe fn(usize) -> u64 as usize, Ordering::Relaxed);
    JOB_FN[cpu].store(f as usize, Ordering::Relaxed);
    mb.data.store(arg as usize, Ordering::Relaxed);
    mb.poster.store(this_cpu(), Ordering::Relaxed);
    mb.state.store(POSTED, Ordering::Release);
    kick(cpu);
}

/// Whether the work [`start_on`] gave vCPU `cpu` has finished.
pub fn finished(cpu: usize) -> bool {
    MAILBOX.get(cpu).is_some_and(|mb| mb.state.load(Ordering::Acquire) == DONE)
}

/// Waits for the work [`start_on`] gave vCPU `cpu` and returns its result; after
/// `timeout_ms` reports FAILURE and returns `Err` (the vCPU stays busy).
pub fn finish(cpu: usize, timeout_ms: u64) -> Result<u64, timer::TimedOut> {
    let mb = &MAILBOX[cpu % MAX_CPUS];
    timer::wait_until(timeout_ms, format_args!("vCPU {cpu} to finish its work"), || {
        mb.state.load(Ordering::Acquire) == DONE
    })?;
    let r = mb.result.load(Ordering::Relaxed);
    mb.state.store(IDLE, Ordering::Release);
    Ok(r)
}

/// Per vCPU: the `fn(u64) -> u64` that [`start_on`] posted.
static JOB_FN: [AtomicUsize; MAX_CPUS] = [const { AtomicUsize::new(0) }; MAX_CPUS];

/// Runs the `fn(u64) -> u64` in JOB_FN for this vCPU with `arg`.
///
/// # Safety
///
/// JOB_FN[this_cpu()] must hold a `fn(u64) -> u64` (start_on stores it before POSTED).
unsafe fn call_fn(arg: usize) -> u64 {
    let f = JOB_FN[this_cpu()].load(Ordering::Relaxed);
    // SAFETY: the caller's contract: a fn(u64) -> u64 stored by start_on, never 0.
    let f: fn(u64) -> u64 = unsafe { core::mem::transmute::<usize, fn(u64) -> u64>(f) };
    f(arg as u64)
}

/// What a secondary does between jobs: run posted work; otherwise sleep in WFI (IRQs masked
/// across the check and the WFI, so a kick that lands in between still ends the WFI), then
/// take whatever interrupts woke it.
fn idle_loop(cpu: usize) -> ! {
    let mb = &MAILBOX[cpu];
    loop {
        irq::disable();
        if mb.state.compare_exchange(POSTED, RUNNING, Ordering::AcqRel, Ordering::Acquire).is_ok() {
            irq::enable();
            let call = mb.call.load(Ordering::Relaxed);
            let data = mb.data.load(Ordering::Relaxed);
            // SAFETY: `call` is trampoline::<F> stored by run_on together with `data`, a
            // pointer to an F that run_on keeps alive until the state reads DONE (or ends
            // the test), or call_fn with the argument start_on stored.
            let r = unsafe {
                let call: unsafe fn(usize) -> u64 = core::mem::transmute(call);
                call(data)
            };
            mb.result.store(r, Ordering::Relaxed);
            mb.state.store(DONE, Ordering::Release);
            kick(mb.poster.load(Ordering::Relaxed));
            continue;
        }
        // SAFETY: WFI only waits; a pending interrupt (masked or not) ends it.
        unsafe { asm!("wfi", options(nostack, preserves_flags)) };
        irq::enable();
    }
}

/// Called by entry.rs on a secondary vCPU's own stack, MMU on, IRQs masked.
// SAFETY: the one definition of this symbol; entry.rs calls it as `extern "C" fn(usize) -> !`.
#[unsafe(no_mangle)]
extern "C" fn xtf_secondary_entry(cpu: usize) -> ! {
    let setup = gic::init_cpu().and_then(|()| {
        gic::enable_ppi(KICK_SGI)?;
        for ppi in &PPIS_TO_ENABLE {
            let ppi = ppi.load(Ordering::Relaxed);
            if ppi < 32 {
                gic::enable_ppi(ppi)?;
            }
        }
        Ok(())
    });
    if let Err(e) = setup {
        let (code, payload) = gic_error_code(e);
        GIC_FAILED[cpu].1.store(payload, Ordering::Relaxed);
        GIC_FAILED[cpu].0.store(code, Ordering::Release);
    }
    timer::init_this_cpu();
    ONLINE[cpu].store(1, Ordering::Release);
    kick(0);
    irq::enable();
    idle_loop(cpu)
}

/// A reusable barrier for `n` vCPUs (sense-reversing). Put it in a `static`.
pub struct Barrier {
    n: u32,
    count: AtomicU32,
    generation: AtomicU32,
}

impl Barrier {
    pub const fn new(n: u32) -> Barrier {
        Barrier { n, count: AtomicU32::new(0), generation: AtomicU32::new(0) }
    }

    /// Waits until `n` vCPUs have called `wait`; after `timeout_ms` reports FAILURE and
    /// returns `Err`.
    pub fn wait(&self, timeout_ms: u64) -> Result<(), timer::TimedOut> {
        let generation = self.generation.load(Ordering::Acquire);
        if self.count.fetch_add(1, Ordering::AcqRel) + 1 == self.n {
            self.count.store(0, Ordering::Relaxed);
            self.generation.fetch_add(1, Ordering::AcqRel);
            (0..MAX_CPUS).for_each(kick);
            return Ok(());
        }
        timer::wait_until(timeout_ms, format_args!("a barrier of {} vCPUs", self.n), || {
            self.generation.load(Ordering::Acquire) != generation
        })
    }
}
