//! bindgen's output for `helpers/helpers.h`, generated at build time against the configured
//! Xen tree (see build.rs). Layout assertions are compile-time constants in the output, so a
//! mismatch between this Xen configuration and what Rust assumes fails the build.
#![allow(non_camel_case_types, non_upper_case_globals, non_snake_case, dead_code)]
#![allow(clippy::all, unnecessary_transmutes, unsafe_op_in_unsafe_fn, improper_ctypes)]

include!(concat!(env!("OUT_DIR"), "/bindings.rs"));

// Real (out-of-line) Xen functions on the hypercall path, called directly rather than
// through an oxx_ wrapper (a wrapper costs a call and a frame per use). bindgen does not emit
// them: Xen's config.h gives every declaration hidden visibility, which bindgen skips. The
// prototypes are those of arch/arm/include/asm/guest_access.h and xen/sched.h in 4.17.
unsafe extern "C" {
    pub fn raw_copy_from_guest(
        to: *mut core::ffi::c_void,
        from: *const core::ffi::c_void,
        len: core::ffi::c_uint,
    ) -> core::ffi::c_ulong;
    pub fn raw_copy_to_guest(
        to: *mut core::ffi::c_void,
        from: *const core::ffi::c_void,
        len: core::ffi::c_uint,
    ) -> core::ffi::c_ulong;
    pub fn rcu_lock_domain_by_any_id(dom: domid_t) -> *mut domain;
}
