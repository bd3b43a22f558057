//! IRQs: the vector (in [`super::entry`]) saves the caller-saved registers and calls
//! [`xtf_irq_dispatch`], which acknowledges the GIC, runs the handler registered for the
//! INTID on the calling vCPU, and ends the interrupt.
//!
//! Handlers run with IRQs masked (the exception masked them), on the interrupted stack.
//! They must be short and lock-free: they share nothing with the interrupted code but atomics.
//! Every interrupt taken is counted per vCPU and INTID ([`count`]); an INTID with no handler
//! is counted as unexpected too ([`unexpected`]), so a test can assert that none came.
//!
//! ```ignore
//! irq::set_handler(27, my_timer_handler);
//! gic::enable_ppi(27)?;
//! irq::enable();
//! ```

use core::arch::asm;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use super::{gic, smp};
use crate::platform::MAX_CPUS;

/// A handler for one INTID: called with the INTID and the vCPU that took it.
pub type Handler = fn(intid: u32, cpu: usize);

/// Private interrupts (SGIs and PPIs) only: all a domU without passthrough gets.
const NR_PRIVATE: usize = 32;

/// `Handler`s as addresses; 0 = none.
static HANDLERS: [AtomicUsize; NR_PRIVATE] = [const { AtomicUsize::new(0) }; NR_PRIVATE];
static COUNTS: [[AtomicU32; NR_PRIVATE]; MAX_CPUS] =
    [const { [const { AtomicU32::new(0) }; NR_PRIVATE] }; MAX_CPUS];
static UNEXPECTED: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(0) }; MAX_CPUS];
static LAST_UNEXPECTED: AtomicU32 = AtomicU32::new(0);

/// Installs `handler` for private INTID `intid` on every vCPU (replacing any). Enable the
/// interrupt in the GIC ([`gic::enable_ppi`]) on each vCPU that should take it.
pub fn set_handler(intid: u32, handler: Handler) {
    if let Some(slot) = HANDLERS.get(intid as usize) {
        slot.store(handler as usize, Ordering::Release);
    }
}

/// Removes the handler for `intid`; a later interrupt counts as unexpected.
pub fn clear_handler(intid: u32) {
    if let Some(slot) = HANDLERS.get(intid as usize) {
        slot.store(0, Ordering::Release);
    }
}

/// How many times vCPU `cpu` took INTID `intid`.
pub fn count(cpu: usize, intid: u32) -> u32 {
    COUNTS.get(cpu).and_then(|c| c.get(intid as usize)).map_or(0, |c| c.load(Ordering::Acquire))
}

/// How many interrupts vCPU `cpu` took with no handler (or an INTID >= 32), and the last
/// such INTID on any vCPU.
pub fn unexpected(cpu: usize) -> (u32, u32) {
    let n = UNEXPECTED.get(cpu).map_or(0, |c| c.load(Ordering::Acquire));
    (n, LAST_UNEXPECTED.load(Ordering::Relaxed))
}

/// Unmasks IRQs on the calling vCPU (PSTATE.I = 0).
pub fn enable() {
    // SAFETY: unmasking IRQs lets the vector run; it saves and restores everything the
    // interrupted code can observe (entry.rs). `nomem` is not claimed: handlers write memory.
    unsafe { asm!("msr daifclr, #2", options(nostack, preserves_flags)) };
}

/// Masks IRQs on the calling vCPU (PSTATE.I = 1).
pub fn disable() {
    // SAFETY: masking IRQs only defers them.
    unsafe { asm!("msr daifset, #2", options(nostack, preserves_flags)) };
}

/// Whether IRQs are unmasked on the calling vCPU.
pub fn enabled() -> bool {
    let daif: u64;
    // SAFETY: reading DAIF has no side effect.
    unsafe { asm!("mrs {v}, daif", v = out(reg) daif, options(nomem, nostack, preserves_flags)) };
    daif & (1 << 7) == 0
}

/// Runs `f` with IRQs masked, restoring the previous state after.
pub fn without<R>(f: impl FnOnce() -> R) -> R {
    let was = enabled();
    disable();
    let r = f();
    if was {
        enable();
    }
    r
}

/// Called by the IRQ vector (entry.rs) with the interrupted registers saved and IRQs masked.
// SAFETY: the one definition of this symbol; entry.rs calls it as `extern "C" fn()`.
#[unsafe(no_mangle)]
extern "C" fn xtf_irq_dispatch() {
    let cpu = smp::this_cpu();
    let Some(acked) = gic::ack() else {
        return;
    };
    let intid = acked.intid();
    if let Some(c) = COUNTS.get(cpu).and_then(|c| c.get(intid as usize)) {
        c.fetch_add(1, Ordering::AcqRel);
    }
    let h = HANDLERS.get(intid as usize).map_or(0, |h| h.load(Ordering::Acquire));
    if h == 0 {
        if let Some(u) = UNEXPECTED.get(cpu) {
            u.fetch_add(1, Ordering::AcqRel);
        }
        LAST_UNEXPECTED.store(intid, Ordering::Relaxed);
    } else {
        // SAFETY: a non-zero slot holds a `Handler` stored by set_handler (fn pointers and
        // usize have the same size and a fn pointer is never 0).
        let handler: Handler = unsafe { core::mem::transmute::<usize, Handler>(h) };
        handler(intid, cpu);
    }
    gic::eoi(acked);
}
