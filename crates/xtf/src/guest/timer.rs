//! Time and timeouts: the virtual counter (CNTVCT_EL0 at CNTFRQ_EL0 Hz), waits that end in
//! FAILURE instead of hanging, and the virtual timer (PPI 27) as an optional interrupt, a
//! watchdog and the tick that waits sleep on.
//!
//! ```ignore
//! // Wait at most 500 ms for an upcall; on timeout this reports FAILURE and returns Err.
//! if timer::wait_until(500, "the upcall for port 5", || upcall::delivered(0) > 0).is_err() {
//!     return;
//! }
//! // A negative check: nothing may arrive within 50 ms.
//! timer::delay_ms(50);
//! ```
//!
//! Waiting ([`relax`]) sleeps in WFI until the next interrupt — an upcall, an SGI kick from
//! another vCPU ([`super::smp`]), or a [`TICK_US`] timer tick — so a waiting vCPU gives its
//! physical CPU back to Xen instead of spinning (many domUs share two CPUs under TCG). On a
//! vCPU whose timer interrupt is not set up it falls back to SCHEDOP_yield.
//!
//! Each vCPU's one virtual timer serves three deadlines at once, the earliest programmed:
//! the test's own ([`arm`] / [`fired`]), the watchdog ([`start_watchdog`]: when it passes the
//! test ends FAILURE at once, from the interrupt; it needs IRQs unmasked to fire — a test that
//! hangs with IRQs masked is still caught by ci/boot's timeout) and the wait tick. Xen masks
//! the timer (CNTV_CTL_EL0.IMASK) when it injects the PPI; the handler reprograms it.

use core::arch::asm;
use core::fmt;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use super::{gic, hypercall, irq, report, smp};
use crate::platform::MAX_CPUS;
use crate::println;

/// CNTV_CTL_EL0 bits.
const CTL_ENABLE: u64 = 1 << 0;
const CTL_IMASK: u64 = 1 << 1;
const CTL_ISTATUS: u64 = 1 << 2;

/// The virtual timer PPI, from the device tree (27 on every 4.17 domU).
static VTIMER_PPI: AtomicU32 = AtomicU32::new(crate::platform::GUEST_TIMER_VIRT_PPI);
/// Timer interrupts for the test's own deadline, per vCPU.
static FIRED: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(0) }; MAX_CPUS];
/// Per vCPU: the test's deadline ([`arm`]), the watchdog's, the wait tick's (0: none).
static USER: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
static WATCHDOG: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
static TICK: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
static WATCHDOG_MS: AtomicU64 = AtomicU64::new(0);
/// Per vCPU: whether its timer PPI is enabled (so WFI is woken by the tick).
static READY: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(0) }; MAX_CPUS];

/// The wait tick: how long [`relax`] sleeps at most.
pub const TICK_US: u64 = 1000;

/// The virtual counter now (ordered after earlier instructions by an ISB).
pub fn now() -> u64 {
    let v: u64;
    // SAFETY: the ISB and the counter read have no side effect.
    unsafe { asm!("isb", "mrs {v}, cntvct_el0", v = out(reg) v, options(nomem, nostack)) };
    v
}

/// Counter ticks per second (CNTFRQ_EL0; 62.5 MHz on QEMU virt). Never 0.
pub fn frequency() -> u64 {
    let v: u64;
    // SAFETY: reading CNTFRQ_EL0 has no side effect.
    unsafe { asm!("mrs {v}, cntfrq_el0", v = out(reg) v, options(nomem, nostack)) };
    v.max(1)
}

/// `us` microseconds in counter ticks (saturating).
pub fn us_to_ticks(us: u64) -> u64 {
    us.saturating_mul(frequency()) / 1_000_000
}

/// `ms` milliseconds in counter ticks (saturating).
pub fn ms_to_ticks(ms: u64) -> u64 {
    ms.saturating_mul(frequency()) / 1000
}

/// Counter ticks in microseconds (saturating).
pub fn ticks_to_us(ticks: u64) -> u64 {
    ticks.saturating_mul(1_000_000) / frequency()
}

/// A point in virtual counter time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Deadline(pub u64);

impl Deadline {
    pub fn after_ms(ms: u64) -> Deadline {
        Deadline(now().saturating_add(ms_to_ticks(ms)))
    }

    pub fn passed(self) -> bool {
        now() >= self.0
    }
}

/// A wait that ran out of time (already reported as FAILURE by [`wait_until`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimedOut;

/// Waits a little: until the next interrupt or tick (WFI), or, on a vCPU without the timer
/// interrupt, one SCHEDOP_yield. IRQs taken while sleeping are handled before it returns
/// (if they were unmasked).
pub fn relax() {
    let cpu = smp::this_cpu();
    if READY[cpu].load(Ordering::Acquire) == 0 {
        hypercall::yield_now();
        return;
    }
    let was = irq::enabled();
    irq::disable();
    TICK[cpu].store(now().saturating_add(us_to_ticks(TICK_US)), Ordering::Relaxed);
    program(cpu);
    // SAFETY: WFI only waits; with IRQs masked a pending interrupt still ends it (and Xen's
    // WFI trap does not block a vCPU with one pending), so the tick bounds the sleep.
    unsafe { asm!("dsb sy", "wfi", options(nostack, preserves_flags)) };
    if was {
        irq::enable();
    }
}

/// Polls `cond` until it holds or `timeout_ms` pass; `true` if it held. Reports nothing: for
/// checks where running out of time is an expected outcome.
pub fn poll_until(timeout_ms: u64, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Deadline::after_ms(timeout_ms);
    loop {
        if cond() {
            return true;
        }
        if deadline.passed() {
            // One last look: the deadline may have passed while we were descheduled.
            return cond();
        }
        relax();
    }
}

/// Waits until `cond` holds; after `timeout_ms` reports FAILURE ("timed out after N ms
/// waiting for WHAT") and returns `Err(TimedOut)`.
pub fn wait_until(
    timeout_ms: u64,
    what: impl fmt::Display,
    cond: impl FnMut() -> bool,
) -> Result<(), TimedOut> {
    if poll_until(timeout_ms, cond) {
        Ok(())
    } else {
        report::failure(format_args!("timed out after {timeout_ms} ms waiting for {what}"));
        Err(TimedOut)
    }
}

/// Spins (yielding) for `ms` milliseconds.
pub fn delay_ms(ms: u64) {
    let deadline = Deadline::after_ms(ms);
    while !deadline.passed() {
        relax();
    }
}

// ---- the virtual timer ----

fn write_ctl(v: u64) {
    // SAFETY: CNTV_CTL_EL0 controls this vCPU's virtual timer only.
    unsafe { asm!("msr cntv_ctl_el0, {v}", "isb", v = in(reg) v, options(nomem, nostack)) };
}

fn read_ctl() -> u64 {
    let v: u64;
    // SAFETY: reading CNTV_CTL_EL0 has no side effect.
    unsafe { asm!("mrs {v}, cntv_ctl_el0", v = out(reg) v, options(nomem, nostack)) };
    v
}

fn write_cval(v: u64) {
    // SAFETY: CNTV_CVAL_EL0 is this vCPU's virtual timer compare value.
    unsafe { asm!("msr cntv_cval_el0, {v}", v = in(reg) v, options(nomem, nostack)) };
}

/// Makes the calling vCPU take the virtual timer PPI (`ppi`, from the device tree): installs
/// the handler and enables the PPI in the GIC. IRQs must be unmasked for it to be taken.
pub fn init_irq(ppi: u32) -> Result<(), gic::GicError> {
    VTIMER_PPI.store(ppi, Ordering::Relaxed);
    write_ctl(0);
    irq::set_handler(ppi, on_timer);
    gic::enable_ppi(ppi)?;
    READY[smp::this_cpu()].store(1, Ordering::Release);
    Ok(())
}

/// On a secondary vCPU whose GIC set-up enabled the timer PPI (smp::start): start using the
/// timer there.
pub fn init_this_cpu() {
    write_ctl(0);
    if gic::ppi_enabled(ppi()).unwrap_or(false) {
        READY[smp::this_cpu()].store(1, Ordering::Release);
    }
}

/// The virtual timer PPI in use.
pub fn ppi() -> u32 {
    VTIMER_PPI.load(Ordering::Relaxed)
}

/// Programs this vCPU's timer for the earliest of its deadlines (or turns it off).
fn program(cpu: usize) {
    let next = [&USER[cpu], &WATCHDOG[cpu], &TICK[cpu]]
        .iter()
        .map(|d| d.load(Ordering::Relaxed))
        .filter(|&d| d != 0)
        .min();
    match next {
        Some(d) => {
            write_cval(d);
            write_ctl(CTL_ENABLE);
        }
        None => write_ctl(0),
    }
}

/// Makes the calling vCPU's timer interrupt at `deadline` ([`fired`] counts it), replacing an
/// earlier such deadline.
pub fn arm(deadline: Deadline) {
    let cpu = smp::this_cpu();
    irq::without(|| {
        USER[cpu].store(deadline.0.max(1), Ordering::Relaxed);
        program(cpu);
    });
}

/// Cancels the calling vCPU's [`arm`] deadline.
pub fn disarm() {
    let cpu = smp::this_cpu();
    irq::without(|| {
        USER[cpu].store(0, Ordering::Relaxed);
        program(cpu);
    });
}

/// Whether the timer condition is met (CNTV_CTL_EL0.ISTATUS) and the interrupt unmasked.
pub fn firing() -> bool {
    let c = read_ctl();
    c & CTL_ISTATUS != 0 && c & CTL_IMASK == 0
}

/// How many times vCPU `cpu`'s [`arm`] deadline fired.
pub fn fired(cpu: usize) -> u32 {
    FIRED.get(cpu).map_or(0, |f| f.load(Ordering::Acquire))
}

/// Ends the test FAILURE if it is still running in `ms` milliseconds (needs IRQs unmasked on
/// the calling vCPU, and [`init_irq`] there). Replaces an earlier watchdog on this vCPU.
pub fn start_watchdog(ms: u64) {
    let cpu = smp::this_cpu();
    WATCHDOG_MS.store(ms, Ordering::Relaxed);
    irq::without(|| {
        WATCHDOG[cpu].store(Deadline::after_ms(ms).0.max(1), Ordering::Relaxed);
        program(cpu);
    });
}

/// Turns the calling vCPU's watchdog off.
pub fn stop_watchdog() {
    let cpu = smp::this_cpu();
    irq::without(|| {
        WATCHDOG[cpu].store(0, Ordering::Relaxed);
        program(cpu);
    });
}

fn on_timer(_intid: u32, cpu: usize) {
    let t = now();
    let user = USER[cpu].load(Ordering::Relaxed);
    if user != 0 && t >= user {
        USER[cpu].store(0, Ordering::Relaxed);
        FIRED[cpu].fetch_add(1, Ordering::AcqRel);
    }
    let wd = WATCHDOG[cpu].load(Ordering::Relaxed);
    if wd != 0 && t >= wd {
        write_ctl(0);
        println!("watchdog: vCPU {cpu} still running the test after its time limit");
        report::failure(format_args!(
            "watchdog: the test did not finish within {} ms",
            WATCHDOG_MS.load(Ordering::Relaxed)
        ));
        report::exit();
    }
    let tick = TICK[cpu].load(Ordering::Relaxed);
    if tick != 0 && t >= tick {
        TICK[cpu].store(0, Ordering::Relaxed);
    }
    // Xen set IMASK when it injected the PPI: reprogram (or turn off) for what is left.
    program(cpu);
}
