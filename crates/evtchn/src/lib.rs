//! evtchn: Xen's event channels (C: common/event_channel.c, event_2l.c) in Rust.
//!
//! Owns: the `event_channel_op` decoder ([`abi`]), the operations and the per-channel state
//! machine ([`ops`]), the 2-level ABI ([`twol`]), and, in Xen's build, the C exports over
//! bindgen's `struct domain` / `struct evtchn` (`xen`, built with the `xen` feature).
//! Trusts: the glue (locks, guest copies, domain references) and Xen's C callers.
//! Does not trust: guest arguments — every port, domid, vCPU and VIRQ is checked and each
//! error is a `Result` carrying the errno C returns; nothing a guest passes can panic.
//! Host `cargo test` runs the same operations over a plain model (tests/model.rs).
#![cfg_attr(not(test), no_std)]

pub mod abi;
pub mod fifo;
pub mod ops;
pub mod twol;

#[cfg(feature = "xen")]
mod xen;
