//! Time and timeouts: the virtual counter (CNTVCT_EL0 at CNTFRQ_EL0 Hz), waits that end in
//! FAILURE instead of hanging, and the virtual timer (PPI 27) as an optional interrupt and a
//! watchdog.
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
//! Waiting yields the vCPU to Xen between polls (SCHEDOP_yield), so another vCPU of the
//! domain — or another domain — sharing the physical CPU gets to run.
//!
//! The watchdog ([`start_watchdog`]) arms the calling vCPU's virtual timer; if it fires, the
//! test ends FAILURE ("watchdog: ...") at once, from the interrupt. It needs IRQs unmasked
//! to fire: a test that hangs with IRQs masked is still caught by ci/boot's timeout.
//! Xen masks the timer (CNTV_CTL_EL0.IMASK) when it injects the PPI; the handler turns it off.

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
/// Timer interrupts taken per vCPU.
static FIRED: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(0) }; MAX_CPUS];
/// Per vCPU: the counter value at which the watchdog ends the test (0: no watchdog).
static WATCHDOG: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];
static WATCHDOG_MS: AtomicU64 = AtomicU64::new(0);

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

/// Gives the physical CPU to someone else for a moment.
pub fn relax() {
    hypercall::yield_now();
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
    gic::enable_ppi(ppi)
}

/// The virtual timer PPI in use.
pub fn ppi() -> u32 {
    VTIMER_PPI.load(Ordering::Relaxed)
}

/// Arms the calling vCPU's virtual timer to interrupt at `deadline`.
pub fn arm(deadline: Deadline) {
    write_cval(deadline.0);
    write_ctl(CTL_ENABLE);
}

/// Disarms the calling vCPU's virtual timer.
pub fn disarm() {
    write_ctl(0);
}

/// Whether the timer condition is met (CNTV_CTL_EL0.ISTATUS) and the interrupt unmasked.
pub fn firing() -> bool {
    let c = read_ctl();
    c & CTL_ISTATUS != 0 && c & CTL_IMASK == 0
}

/// How many timer interrupts vCPU `cpu` took.
pub fn fired(cpu: usize) -> u32 {
    FIRED.get(cpu).map_or(0, |f| f.load(Ordering::Acquire))
}

/// Ends the test FAILURE if it is still running in `ms` milliseconds (needs IRQs unmasked on
/// the calling vCPU, and [`init_irq`] there). Replaces an earlier watchdog on this vCPU.
pub fn start_watchdog(ms: u64) {
    let cpu = smp::this_cpu();
    let deadline = Deadline::after_ms(ms);
    WATCHDOG_MS.store(ms, Ordering::Relaxed);
    WATCHDOG[cpu].store(deadline.0, Ordering::Release);
    arm(deadline);
}

/// Turns the calling vCPU's watchdog off.
pub fn stop_watchdog() {
    WATCHDOG[smp::this_cpu()].store(0, Ordering::Release);
    disarm();
}

fn on_timer(_intid: u32, cpu: usize) {
    // Xen set IMASK when it injected the PPI; turn the timer off so it does not fire again.
    disarm();
    if let Some(f) = FIRED.get(cpu) {
        f.fetch_add(1, Ordering::AcqRel);
    }
    let wd = WATCHDOG.get(cpu).map_or(0, |w| w.load(Ordering::Acquire));
    if wd != 0 {
        if now() >= wd {
            println!("watchdog: vCPU {cpu} still running the test after its time limit");
            report::failure(format_args!(
                "watchdog: the test did not finish within {} ms",
                WATCHDOG_MS.load(Ordering::Relaxed)
            ));
            report::exit();
        }
        // Early (should not happen): re-arm for the real deadline.
        arm(Deadline(wd));
    }
}
