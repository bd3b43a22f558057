# shellcheck shell=bash
# Common settings for every ci/ script. Source it; it defines no behaviour of its own.
#
# Layout of the work folder (git-ignored, safe to delete; everything in it is rebuilt):
#   $WORK/src/            apt-get source download (orig tarball, .dsc, debian tarball)
#   $XEN_WORK             the chosen Xen version's folder (ci/xen-versions: $WORK itself for
#                         4.17, $WORK/xen-4.22 for 4.22), holding:
#     xen/                pristine tree with that version's patches/ applied (never committed)
#     build-c/            out-of-tree Xen build, CONFIG_RUST=n   (the oracle)
#     build-rust/         out-of-tree Xen build, CONFIG_RUST=y
#     build-rust/rust/target/  cargo target dir of the Rust archive (per Xen build tree)
#     bin-VARIANT/, logs/ boot folders and suite logs of ci/test
#   $WORK/target-guest/   cargo target dir for the arm64 guest images
#   $WORK/guests/         guest Images (e.g. guest-tests.Image)
#   $WORK/boot/           per-boot staging folders and console logs
#   $WORK/tools/          host tools we build once (cbindgen)

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${OXX_WORK:-$REPO/.work}
# The steering repository's shared/ folder (beside the checkout, here and in CI).
SHARED=${OXX_SHARED:-$REPO/../shared}

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

# The Xen version every ci/ command works on: a row of ci/xen-versions, chosen with
# `--xen-version V` (each script passes it to xen_version_set) or OXX_XEN_VERSION; exported,
# so the ci/ commands a script runs work on the same version. Sets XEN_VERSION, XEN_SOURCE,
# XEN_SOURCE_SHA256, XEN_PATCHES (the series folder), XEN_WORK and XEN_SRC.
xen_versions() { awk '!/^#/ && NF {print $1}' "$REPO/ci/xen-versions"; }
xen_version_set() { # VERSION
    local row rel
    row=$(awk -v v="$1" '!/^#/ && NF && $1 == v' "$REPO/ci/xen-versions")
    [ -n "$row" ] || die "no Xen version '$1' (ci/xen-versions has: $(xen_versions | tr '\n' ' '))"
    read -r XEN_VERSION XEN_SOURCE XEN_SOURCE_SHA256 XEN_PATCHES rel <<< "$row"
    export OXX_XEN_VERSION=$XEN_VERSION
    XEN_PATCHES=$REPO/$XEN_PATCHES
    if [ "$rel" = . ]; then XEN_WORK=$WORK; else XEN_WORK=$WORK/$rel; fi
    XEN_SRC=$XEN_WORK/xen
}
# What the version's Xen tree was made from (the tarball's SHA-256 and name, every patch):
# ci/setup writes it into the tree, ci/test's host stage checks it. (The same bytes as before
# versions had a table, so existing 4.17 trees stay current.)
xen_tree_stamp() {
    local p
    (printf '%s  %s\n' "$XEN_SOURCE_SHA256" "${XEN_SOURCE##*/}"
     for p in "$XEN_PATCHES"/*.patch; do [ ! -e "$p" ] || cat "$p"; done) | sha256sum | cut -d' ' -f1
}

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

xen_version_set "${OXX_XEN_VERSION:-$(xen_versions | head -1)}"
