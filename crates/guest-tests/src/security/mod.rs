//! The security suite (ci/suites/security): guest reproducers of the defects a review and a
//! two-vCPU attack found in the hypervisor-side Rust, each named after its defect, and the
//! resource checks the conformance suites do not make: vCPUs racing each other, one domain
//! exhausting its budgets while another must keep its service.
//!
//! Every test here passes on the C build (the oracle) unless its config records otherwise
//! (`#@ xfail c` with the reason), and fails on a Rust build with the defect it is named
//! after.

pub mod evtchn;
pub mod v4v;
