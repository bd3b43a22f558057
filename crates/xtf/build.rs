//! Publishes the guest linker script to the binaries that use xtf.
//!
//! The layout it describes (load address, .bss, stack, the symbols the entry code uses) belongs
//! with the entry code in `src/guest/entry.rs`, so the script lives in this crate. A binary's own
//! build script reads `DEP_XTF_LINKER_SCRIPT` and passes it to the linker with
//! `cargo::rustc-link-arg=-T<path>` (a library cannot pass link arguments for its dependents).

fn main() {
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let script = format!("{dir}/guest.ld");
    println!("cargo::rerun-if-changed=guest.ld");
    println!("cargo::metadata=linker-script={script}");
}
