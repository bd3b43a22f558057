//! `--cfg xen` inside Xen's build (Makefile.rust sets XEN_OBJTREE), as xen-rust-glue does: the
//! `xen` module (the C-facing exports over bindgen's struct layouts) is built only there.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(xen)");
    println!("cargo::rerun-if-env-changed=XEN_OBJTREE");
    if std::env::var_os("XEN_OBJTREE").is_some()
        && std::env::var("TARGET").as_deref() == Ok("aarch64-unknown-none-softfloat")
    {
        println!("cargo::rustc-cfg=xen");
    }
}
