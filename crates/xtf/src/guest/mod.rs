//! The guest runtime: EL1 in a Xen dom0less domU on arm64 (built for target_os = "none").
//!
//! Boot order: `entry` (assembly: Image header, vectors, MMU, stack, .bss) calls
//! `xtf_guest_entry` in `runner`: read the DTB, choose the test among those
//! [`registered`](crate::register_test), run it, print the result, power off. Unexpected exceptions and panics
//! end the same way, as ERROR.
//!
//! Interrupts and vCPUs: [`gic`] (GICv2/v3 as the device tree says), [`irq`] (the IRQ vector's
//! dispatch), [`timer`] (counter, timeouts, watchdog), [`smp`] (PSCI CPU_ON, running code on
//! another vCPU) and [`upcall`] (the event channel upcall and its delivery log). Tests drive
//! everything from vCPU 0; console lines printed on several vCPUs at once may interleave.

pub mod argo;
mod args;
pub mod console;
pub mod control;
mod entry;
pub mod evtchn;
pub mod fifo;
pub mod gic;
pub mod hypercall;
pub mod irq;
pub mod mmu;
mod panic;
pub mod report;
pub mod ring_mem;
mod runner;
pub mod shared_info;
pub mod smp;
pub mod timer;
pub mod upcall;
pub mod v4v;

pub use runner::registered;
