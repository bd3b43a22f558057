//! Assembles `include/xen-rust.h`: one C header for every symbol the Rust archive exports,
//! from cbindgen run (as a library) once per exporting crate.
//!
//! cbindgen emits only the functions of the crate it parses, so each crate in
//! [`EXPORTING_CRATES`] gives a fragment, generated with the workspace's `cbindgen.toml` (or the
//! crate's own, for renames and defines) minus the file-level parts; the header comment, the
//! include guard and the system include are written once around them, from the workspace file.
//!
//! `tests/header_current.rs` compares the result with the checked-in header, so the host
//! `cargo test` fails when an export changes without its header (run `ci/gen-headers`).

use std::path::{Path, PathBuf};

/// Crates whose `#[unsafe(no_mangle)]` functions Xen's C calls, in header order, with their
/// directory under the workspace root.
pub const EXPORTING_CRATES: &[(&str, &str)] = &[
    ("xen-rust-glue", "xen-rust-glue"),
    ("evtchn", "crates/evtchn"),
    ("static-shm", "crates/static-shm"),
    ("v4v", "crates/v4v"),
];

/// The header, relative to the workspace root.
pub const HEADER: &str = "include/xen-rust.h";

/// The workspace root (this crate lives in `tools/gen-headers`).
pub fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

fn config(path: &Path) -> Result<cbindgen::Config, String> {
    cbindgen::Config::from_file(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// A fragment's configuration: the file's, without the parts that belong to the whole header.
fn fragment_config(path: &Path) -> Result<cbindgen::Config, String> {
    let mut c = config(path)?;
    c.header = None;
    c.include_guard = None;
    c.sys_includes.clear();
    c.no_includes = true;
    Ok(c)
}

/// Runs of empty lines become one (cbindgen separates items with blank lines; fragments
/// would otherwise leave double ones).
fn squeeze_blank_lines(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = false;
    for line in s.split_inclusive('\n') {
        let is_blank = line.trim_end_matches('\n').is_empty();
        if !(is_blank && blank) {
            out.push_str(line);
        }
        blank = is_blank;
    }
    out
}

/// The whole header for the workspace at `root`.
pub fn generate(root: &Path) -> Result<String, String> {
    let top = config(&root.join("cbindgen.toml"))?;
    let guard = top.include_guard.clone().unwrap_or_else(|| "XEN_RUST_H".into());
    let mut out = String::new();
    if let Some(h) = &top.header {
        out.push_str(h);
        out.push('\n');
    }
    out.push_str(&format!("\n#ifndef {guard}\n#define {guard}\n\n"));
    for inc in &top.sys_includes {
        out.push_str(&format!("#include <{inc}>\n"));
    }
    for (name, dir) in EXPORTING_CRATES {
        let dir = root.join(dir);
        let own = dir.join("cbindgen.toml");
        let file = if own.exists() { own } else { root.join("cbindgen.toml") };
        let cfg = fragment_config(&file)?;
        let bindings = cbindgen::Builder::new()
            .with_config(cfg)
            .with_crate_and_name(&dir, name)
            .generate()
            .map_err(|e| format!("{name}: {e}"))?;
        let mut text = Vec::new();
        bindings.write(&mut text);
        let text = String::from_utf8(text).map_err(|e| format!("{name}: {e}"))?;
        out.push_str(&format!("\n/* ---- {name} ---- */\n"));
        out.push_str(&squeeze_blank_lines(&text));
    }
    out.push_str(&format!("\n#endif /* {guard} */\n"));
    Ok(out)
}
