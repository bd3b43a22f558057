//! Build script of xen-rust-glue.
//!
//! Inside Xen's build (Makefile.rust sets `XEN_OBJTREE` and `XEN_RUST_CFLAGS`) it
//!  1. runs bindgen over `helpers/helpers.h` with the flags Xen's arm64 build compiles C with,
//!     so Rust sees `struct domain`, `spinlock_t`, … exactly as this Xen configuration lays
//!     them out (bindgen's layout assertions are compile-time consts in the output);
//!  2. compiles the C helpers with those same flags and Xen's cross compiler, or, for
//!     Makefile.rust's cross-language LTO, to LLVM bitcode with the clang and flags it names
//!     (`XEN_RUST_HELPER_CC`, `XEN_RUST_HELPER_CFLAGS`);
//!  3. sets `--cfg xen` so the Xen-facing modules are built.
//! Anywhere else (host `cargo test`), it does nothing and only the host-checkable parts of the
//! glue are built. Steps 1 and 2 need the `xen` feature (bindgen and cc are its optional
//! build-dependencies): Makefile.rust enables it, host builds do not.

use std::env;
use std::path::{Path, PathBuf};

#[path = "build/tree.rs"]
mod tree;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(xen)");
    for cfg in tree::CFGS {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
    }
    println!("cargo::rerun-if-env-changed=XEN_OBJTREE");
    println!("cargo::rerun-if-env-changed=XEN_RUST_CFLAGS");
    println!("cargo::rerun-if-env-changed=XEN_CC");
    println!("cargo::rerun-if-env-changed=XEN_RUST_HELPER_CC");
    println!("cargo::rerun-if-env-changed=XEN_RUST_HELPER_CFLAGS");
    println!("cargo::rerun-if-changed=helpers/helpers.h");
    println!("cargo::rerun-if-changed=helpers/helpers.c");
    println!("cargo::rerun-if-changed=helpers/static_shm.h");
    println!("cargo::rerun-if-changed=helpers/static_shm.c");
    println!("cargo::rerun-if-changed=helpers/v4v.h");
    println!("cargo::rerun-if-changed=helpers/v4v.c");
    println!("cargo::rerun-if-changed=build/tree.rs");

    let (Ok(objtree), Ok(cflags)) = (env::var("XEN_OBJTREE"), env::var("XEN_RUST_CFLAGS")) else {
        if cfg!(feature = "xen") {
            panic!("feature `xen` is for Xen's build: XEN_OBJTREE and XEN_RUST_CFLAGS are unset");
        }
        return;
    };
    if !cfg!(feature = "xen") {
        panic!("XEN_OBJTREE is set (Xen's build) but feature `xen` is off: see Makefile.rust");
    }
    if env::var("TARGET").as_deref() != Ok("aarch64-unknown-none-softfloat") {
        panic!("XEN_OBJTREE is set but the target is not aarch64-unknown-none-softfloat");
    }
    let objtree = PathBuf::from(objtree);
    let mut flags = absolute_include_paths(&objtree, &cflags);
    // Rebuild when the Xen configuration changes (struct layouts follow it).
    println!("cargo::rerun-if-changed={}", objtree.join("include/generated/autoconf.h").display());
    println!("cargo::rustc-cfg=xen");
    // The Kconfig switches reach Rust as cargo features only (Makefile.rust sets them:
    // `evtchn`, `static-shm`, `v4v`, `xsm`, `debug`). A feature that disagrees with this
    // configuration would build against the wrong layout or leave undefined oxx_* references
    // in Xen's link, so it is an error here, not a second way of saying the same thing.
    let autoconf =
        std::fs::read_to_string(objtree.join("include/generated/autoconf.h")).unwrap_or_default();
    let config = |name: &str| autoconf.lines().any(|l| l.trim() == format!("#define {name} 1"));
    for (feature, enabled, switch) in [
        ("evtchn", cfg!(feature = "evtchn"), "CONFIG_RUST_EVTCHN"),
        ("static-shm", cfg!(feature = "static-shm"), "CONFIG_RUST_STATIC_SHM"),
        ("v4v", cfg!(feature = "v4v"), "CONFIG_RUST_V4V"),
        ("xsm", cfg!(feature = "xsm"), "CONFIG_XSM"),
        ("debug", cfg!(feature = "debug"), "CONFIG_DEBUG"),
    ] {
        if enabled != config(switch) {
            panic!("feature `{feature}` is {enabled} but {switch} is {}: see Makefile.rust", !enabled);
        }
    }
    // Where Xen releases differ beyond what bindgen carries (build/tree.rs): a cfg for the
    // Rust, a define for the C helpers (whichever compiler builds them) and bindgen.
    let mut tree_defines = Vec::new();
    for f in tree::features(&objtree.join("source"), &config) {
        if f.present {
            println!("cargo::rustc-cfg={}", f.cfg);
            tree_defines.push(format!("-D{}", f.define()));
        }
    }
    flags.extend(tree_defines.iter().cloned());

    #[cfg(feature = "xen")]
    {
        // Makefile.rust's LTO pipeline compiles the helpers to LLVM bitcode with clang
        // (XEN_RUST_HELPER_CC, XEN_RUST_HELPER_CFLAGS: Xen's flags in clang's spelling);
        // without them, Xen's own compiler and flags.
        match (env::var("XEN_RUST_HELPER_CC"), env::var("XEN_RUST_HELPER_CFLAGS")) {
            (Ok(cc), Ok(hflags)) => {
                let mut hflags = absolute_include_paths(&objtree, &hflags);
                hflags.extend(tree_defines);
                compile_helpers(&cc, &hflags)
            }
            _ => compile_helpers(
                &env::var("XEN_CC").unwrap_or_else(|_| "aarch64-linux-gnu-gcc".into()),
                &flags,
            ),
        }
        generate_bindings(&flags);
    }
    #[cfg(not(feature = "xen"))]
    let _ = flags; // unreachable: the feature check above panicked
}

/// Xen passes `-I./include` style paths relative to its object tree; cargo runs us elsewhere.
fn absolute_include_paths(objtree: &Path, cflags: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = cflags.split_whitespace();
    while let Some(f) = it.next() {
        if let Some(p) = f.strip_prefix("-I") {
            let p = if p.is_empty() { it.next().unwrap_or_default() } else { p };
            out.push(format!("-I{}", objtree.join(p).display()));
        } else if f == "-include" {
            let p = it.next().unwrap_or_default();
            out.push(f.to_string());
            out.push(objtree.join(p).display().to_string());
        } else {
            out.push(f.to_string());
        }
    }
    out
}

#[cfg(feature = "xen")]
fn compile_helpers(cc_bin: &str, flags: &[String]) {
    let mut build = cc::Build::new();
    // Exactly Xen's flags: none of cc's defaults (-fPIC, -ffunction-sections, …).
    build
        .compiler(cc_bin)
        .no_default_flags(true)
        .warnings(false)
        .extra_warnings(false)
        .cargo_warnings(false);
    for f in flags {
        build.flag(f);
    }
    build
        .file("helpers/helpers.c")
        .file("helpers/static_shm.c")
        .file("helpers/v4v.c")
        .compile("xen_glue_helpers");
}

#[cfg(feature = "xen")]
fn generate_bindings(flags: &[String]) {
    // libclang understands Xen's flags except the gcc-only and output-shaping ones.
    let clang_args = flags.iter().filter(|f| {
        !(f.starts_with("-W")
            || f.starts_with("-O")
            || f.starts_with("-M")
            || f.starts_with("-mcpu")
            || *f == "-g"
            || *f == "-pipe"
            || f.starts_with("-fno-stack-protector"))
    });
    let bindings = bindgen::Builder::default()
        .header("helpers/helpers.h")
        .clang_arg("--target=aarch64-none-elf")
        .clang_args(clang_args)
        .use_core()
        .ctypes_prefix("core::ffi")
        .layout_tests(true)
        .derive_default(false)
        .generate_comments(false)
        .allowlist_function("oxx_.*")
        .allowlist_type(
            "spinlock_t|rwlock_t|domain|vcpu|evtchn|evtchn_port_ops|shared_info|vcpu_info|xsm_ops",
        )
        .allowlist_var(
            "E[A-Z0-9]+|DOMID_.*|EVTCHNOP_.*|ECS_.*|NR_VIRQS|VIRQ_.*|XEN_CONSUMER_BITS|ERESTART|xsm_ops",
        )
        // struct domain / vcpu / evtchn keep their real C layout (crates/evtchn reads and
        // writes the event channel fields that include/xen/event.h's inlines also use); what
        // they point to and do not need stays opaque.
        .opaque_type("arch_domain|arch_vcpu|sched_unit|vm_event_domain|grant_table|p2m_domain")
        .generate()
        .expect("bindgen failed on helpers/helpers.h (see the clang error above)");
    let out = PathBuf::from(env::var("OUT_DIR").unwrap()).join("bindings.rs");
    bindings.write_to_file(&out).expect("writing bindings.rs");
}
