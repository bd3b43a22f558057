//! v4v: the V4V interdomain messaging hypercall (`__HYPERVISOR_v4v_op`, 43), after the 2012
//! RFC that became Argo. The ABI is in include/v4v.h and docs/v4v.md.
//!
//! Owns: the guest ABI ([`abi`]: structures with their sizes and offsets asserted, command
//! decoding, validation of every guest value), the ring arithmetic ([`ring`]: free space,
//! 16-byte slots, wrap-around, writing one message), the per-domain ring table and the
//! per-ring list of senders waiting for space ([`table`]), and, in Xen's build, the hypercall
//! and the domain hooks (`xen`, built with the `xen` feature).
//! Trusts: the glue (locks, guest copies, mapping guest pages, domain references, VIRQs).
//! Does not trust: anything a guest passes or can write later — the ring header's rx_ptr is
//! re-read and sanitised on every use, lengths are checked with checked arithmetic, and every
//! write into a ring goes through [`ring::RingMem`] at an offset the arithmetic bounded.
//! Host `cargo test` covers everything but the `xen` module.
#![cfg_attr(not(test), no_std)]

pub mod abi;
pub mod ring;
pub mod table;

#[cfg(feature = "xen")]
mod xen;
