//! guest-tests: the arm64 test guest. One image carries every test; a dom0less domU's
//! bootargs pick one with `test=NAME`. Each test is registered next to its body with
//! `xtf::register_test!` (V4V/Argo twins with `v4v::v4v_and_argo!`); ci/test's host stage
//! checks that some config runs each one (ci/guest-tests-all-run).
//!
//! Owns: the test bodies. Trusts: xtf (boot, console, hypercalls, results).
//! Does not trust: Xen — every hypercall result is checked and reported, never unwrapped.
//! Built by ci/build-guests for aarch64-unknown-none-softfloat; a host build is a stub, so
//! that `cargo build --workspace` works on the host.
#![cfg_attr(all(target_arch = "aarch64", target_os = "none"), no_std, no_main)]

#[cfg(all(target_arch = "aarch64", target_os = "none"))]
mod bench;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
mod dom0;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
mod evtchn_irq;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
mod evtchn_ops;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
mod fuzz;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
mod security;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
mod selftest;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
mod static_sig;
#[cfg(all(target_arch = "aarch64", target_os = "none"))]
mod v4v;

#[cfg(not(all(target_arch = "aarch64", target_os = "none")))]
fn main() {
    eprintln!("guest-tests is an arm64 Xen guest: build it with ci/build-guests");
    std::process::exit(2);
}
