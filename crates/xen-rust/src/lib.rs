//! The umbrella archive Xen links (`libxen_rust.a`, see Makefile.rust).
//!
//! Owns nothing but the link: every crate Xen needs is a dependency here, so the archive holds
//! one copy of `core` and `compiler_builtins`, and each crate's `#[unsafe(no_mangle)]` exports
//! (declared in include/xen-rust.h) are kept. Cargo features follow Xen's Kconfig switches.
#![cfg_attr(target_os = "none", no_std)]

// Linked for its exports (xen_rust_glue_selftest, …) and its panic handler.
pub use xen_rust_glue;

// CONFIG_RUST_EVTCHN: common/event_channel.c, event_2l.c, event_fifo.c.
#[cfg(feature = "evtchn")]
pub use evtchn;

// CONFIG_RUST_STATIC_SHM: static event channels and static shared memory at boot.
#[cfg(feature = "static-shm")]
pub use static_shm;

// CONFIG_RUST_V4V: the V4V hypercall (v4v_op, 43) and its domain hooks.
#[cfg(feature = "v4v")]
pub use v4v;
