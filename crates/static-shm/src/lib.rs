//! static-shm: dom0less static event channels and static shared memory, set up at boot.
//!
//! Owns: reading `/chosen` of the host device tree (both Xen 4.17's bindings and the design
//! drafts'), checking the whole configuration before anything is set up, and the order of the
//! set-up calls (C's alloc_static_evtchn, process_shm, assign_shared_memory, …).
//! Trusts: Xen's C primitives behind the [`setup`] traits (evtchn_alloc_unbound, p2m, pages).
//! Does not trust: the device tree — every property is length-checked, every phandle resolved
//! and every region checked against RAM, Xen's own regions, other regions and guest RAM; each
//! refusal is an [`Error`] naming domain, node, property and reason. Never panics on input.
//! The `xen` feature adds the exports Xen's C calls (module `xen`, through xen-rust-glue).
#![cfg_attr(not(test), no_std)]

pub mod check;
pub mod dt;
pub mod error;
pub mod setup;

#[cfg(feature = "xen")]
pub mod xen;

pub use check::{Config, HostLayout, Limits, RegionOwner, Role, SystemOwner, check};
pub use dt::{DeviceTree, DeviceTreeExt, Fdt};
pub use error::{Error, Errors, Path, Reason};

#[cfg(test)]
mod tests;
