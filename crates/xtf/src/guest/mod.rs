//! The guest runtime: EL1 in a Xen dom0less domU on arm64 (built for target_os = "none").
//!
//! Boot order: `entry` (assembly: Image header, vectors, MMU, stack, .bss) calls the binary's
//! `xtf_guest_entry` (made by [`guest_main!`](crate::guest_main)), which calls [`run`]: read the
//! DTB, choose the test, run it, print the result, power off. Unexpected exceptions and panics
//! end the same way, as ERROR.
//!
//! Single vCPU for now: only vCPU 0 runs; console lines from several vCPUs would interleave.

pub mod console;
mod entry;
pub mod evtchn;
pub mod hypercall;
pub mod mmu;
mod panic;
pub mod report;
mod runner;
pub mod shared_info;

pub use runner::run;
