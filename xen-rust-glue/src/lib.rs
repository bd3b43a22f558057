//! xen-rust-glue: the only crate that touches Xen's C.
//!
//! Owns: bindgen's view of Xen's types (`bindings`), the `oxx_*` C helpers, and safe wrappers
//! over them: [`sync::SpinLock`] / [`sync::RwLock`], guest copies ([`guest`]), domain references
//! ([`domain`]), [`printk!`], vCPU kick, the panic handler and the boot self-test.
//! Trusts: Xen's C (its locks, copy_{to,from}_guest, RCU domain lookup).
//! Does not trust: anything a guest hands in — guest addresses become a [`guest::GuestRange`],
//! validated once, and are only ever accessed through Xen's guest-copy functions.
//! Built for Xen with the `xen` feature (Makefile.rust, through crates/xen-rust; build.rs then
//! sets `--cfg xen`), and one feature per Kconfig switch (`evtchn`, `static-shm`, `v4v`, `xsm`,
//! `debug`); on the host only the parts that need no Xen (errnos, guest ranges, line
//! formatting, the lock guards over a counting fake lock) are built and unit-tested.
#![cfg_attr(not(test), no_std)]

pub mod errno;
pub mod fmt;
pub mod guest;

#[cfg(xen)]
pub mod bindings;
#[cfg(xen)]
pub mod cpu;
#[cfg(xen)]
pub mod domain;
#[cfg(all(xen, feature = "evtchn"))]
pub mod evtchn;
#[cfg(xen)]
mod panic;
#[cfg(xen)]
pub mod print;
#[cfg(xen)]
pub mod selftest;
#[cfg(all(xen, feature = "static-shm"))]
pub mod static_shm;
#[cfg(any(xen, test))]
pub mod sync;
#[cfg(all(xen, feature = "v4v"))]
pub mod v4v;
#[cfg(xen)]
pub mod xbox;
#[cfg(xen)]
pub mod xsm;

pub use errno::Errno;

/// Xen's `CONFIG_DEBUG` (`!NDEBUG`): where C has an `ASSERT()`, Rust code checks the same
/// condition under `if XEN_DEBUG` (a constant: the check is compiled out of release builds).
pub const XEN_DEBUG: bool = cfg!(feature = "debug");
