//! Links the guest with xtf's linker script (published by xtf's build script), for the
//! bare-metal target only: a host build of this crate is a stub and links normally.

fn main() {
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if target_os == "none" {
        let script = std::env::var("DEP_XTF_LINKER_SCRIPT")
            .expect("xtf's build script publishes its linker script (links = \"xtf\")");
        println!("cargo::rerun-if-changed={script}");
        println!("cargo::rustc-link-arg-bins=-T{script}");
        // Position-independent (dom0 runs wherever Xen put its RAM; xtf's entry code applies
        // the relocations), with no dynamic linker and no build-id note.
        println!("cargo::rustc-link-arg-bins=-pie");
        println!("cargo::rustc-link-arg-bins=--no-dynamic-linker");
        println!("cargo::rustc-link-arg-bins=-z");
        println!("cargo::rustc-link-arg-bins=notext");
        println!("cargo::rustc-link-arg-bins=--build-id=none");
    }
    println!("cargo::rerun-if-env-changed=DEP_XTF_LINKER_SCRIPT");
}
