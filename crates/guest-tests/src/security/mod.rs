//! The security suite (ci/suites/security): one guest test per defect of a hostile-domU
//! review, each named after its defect and shown to fail on the code before the fix; and the
//! "noisy neighbour" checks: one domain drives a per-domain budget to its limit while another
//! keeps being served.

pub mod v4v;
