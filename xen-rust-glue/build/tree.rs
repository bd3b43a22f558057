//! What the Xen tree being built into provides, where Xen releases differ in ways bindgen does
//! not carry (a function that one release has and another does not). Each difference is a
//! `cfg` for the Rust and a `-D` for the glue's C helpers, derived from the tree itself (its
//! Kconfig files, headers and configuration), never from a version number: a release that
//! backports a change gets the right answer without a table of versions.
//!
//! Used by build.rs (`#[path]` module), so it runs on the host at build time.

use std::path::Path;

/// One property of the tree: its cfg name (also the C define `OXX_<NAME>` in upper case) and
/// whether this tree has it.
pub struct TreeFeature {
    pub cfg: &'static str,
    pub present: bool,
}

impl TreeFeature {
    pub fn define(&self) -> String {
        format!("OXX_{}", self.cfg.to_ascii_uppercase())
    }
}

/// Every cfg this module can set (for `cargo::rustc-check-cfg`).
pub const CFGS: &[&str] = &["xen_pirq"];

/// The properties of the tree at `source` (Xen's `xen/` directory) with the configuration
/// `config` (true when `CONFIG_<name>` is set in autoconf.h).
pub fn features(source: &Path, config: &dyn Fn(&str) -> bool) -> Vec<TreeFeature> {
    let kconfig_has = |symbol: &str| -> bool {
        let want = format!("config {symbol}");
        ["common/Kconfig", "arch/arm/Kconfig", "Kconfig"].iter().any(|f| {
            std::fs::read_to_string(source.join(f))
                .map(|s| s.lines().any(|l| l.trim() == want))
                .unwrap_or(false)
        })
    };
    vec![
        // Physical IRQs as event channels (pirq_get_info, pirq_set_affinity): releases without
        // a HAS_PIRQ switch have them on every architecture (Arm's are stubs); releases with
        // it have them only where it is selected (not on Arm).
        TreeFeature { cfg: "xen_pirq", present: !kconfig_has("HAS_PIRQ") || config("CONFIG_HAS_PIRQ") },
    ]
}
