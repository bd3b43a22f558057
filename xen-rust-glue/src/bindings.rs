//! bindgen's output for `helpers/helpers.h`, generated at build time against the configured
//! Xen tree (see build.rs). Layout assertions are compile-time constants in the output, so a
//! mismatch between this Xen configuration and what Rust assumes fails the build.
#![allow(non_camel_case_types, non_upper_case_globals, non_snake_case, dead_code)]
#![allow(clippy::all, unnecessary_transmutes, unsafe_op_in_unsafe_fn, improper_ctypes)]

include!(concat!(env!("OUT_DIR"), "/bindings.rs"));
