# shellcheck shell=bash
# Common settings for every ci/ script. Source it; it defines no behaviour of its own.
#
# Layout of the work folder (git-ignored, safe to delete; everything in it is rebuilt):
#   $WORK/src/            apt-get source download (orig tarball, .dsc, debian tarball)
#   $WORK/xen/            pristine 4.17.5 tree with patches/ applied (never committed)
#   $WORK/build-c/        out-of-tree Xen build, CONFIG_RUST=n   (the oracle)
#   $WORK/build-rust/     out-of-tree Xen build, CONFIG_RUST=y
#   $WORK/build-rust/rust/target/  cargo target dir of the Rust archive (per Xen build tree)
#   $WORK/target-guest/   cargo target dir for the arm64 guest images
#   $WORK/guests/         guest Images (e.g. guest-tests.Image)
#   $WORK/boot/           per-boot staging folders and console logs
#   $WORK/tools/          host tools we build once (cbindgen)

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${OXX_WORK:-$REPO/.work}
XEN_SRC=$WORK/xen

# Debian's Rust toolchain (packages rustc-web, cargo-web, rust-web-src): it ships the
# standard library source that -Zbuild-std needs. rustup's toolchain, first on PATH on
# these machines, has neither the aarch64 target nor rust-src, so we never use it.
# Host tests use the same toolchain: one compiler for everything.
export CARGO=/usr/bin/cargo
export RUSTC=/usr/bin/rustc
export RUSTDOC=/usr/bin/rustdoc
export RUSTC_BOOTSTRAP=1
RUST_TARGET=aarch64-unknown-none-softfloat
BUILD_STD_FLAGS=(-Zbuild-std=core,compiler_builtins -Zbuild-std-features=compiler-builtins-mem)

XEN_MAKE_ARGS=(XEN_TARGET_ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-)

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
