//! The XSM hooks on the event channel hypercall path, called the way xsm/xsm.h's static
//! inlines call them: with CONFIG_XSM, an indirect call through `xsm_ops` (alternative_call()
//! is a plain call on arm); without it, the dummy policy's inline through the `oxx_` helper.
//! Calling `xsm_ops` from Rust saves a C wrapper's call and frame per hook.
//!
//! # Safety (every function)
//! The domains and channels are live, as the hook requires.

use crate::bindings as b;
use core::ffi::c_int;

#[cfg(feature = "xsm")]
macro_rules! hook {
    ($field:ident, $fallback:expr, $($arg:expr),*) => {
        // SAFETY: xsm_ops is filled at boot (xsm_fixup_ops() gives every NULL hook the dummy
        // policy's function) and never changes afterwards; the caller's pointers are live.
        match unsafe { b::xsm_ops.$field } {
            Some(f) => unsafe { f($($arg),*) },
            None => $fallback,
        }
    };
}

#[cfg(not(feature = "xsm"))]
macro_rules! hook {
    ($field:ident, $fallback:expr, $($arg:expr),*) => {
        $fallback
    };
}

/// `xsm_evtchn_send(XSM_HOOK, d, chn)`.
#[inline(always)]
pub unsafe fn evtchn_send(d: *mut b::domain, chn: *mut b::evtchn) -> c_int {
    // SAFETY: the caller guarantees that the domains and channels are live (module doc),
    // which is all the hook requires.
    hook!(evtchn_send, unsafe { b::oxx_xsm_evtchn_send(d, chn) }, d, chn)
}

/// `xsm_evtchn_status(XSM_TARGET, d, chn)`.
#[inline(always)]
pub unsafe fn evtchn_status(d: *mut b::domain, chn: *mut b::evtchn) -> c_int {
    // SAFETY: the caller guarantees that the domains and channels are live (module doc),
    // which is all the hook requires.
    hook!(evtchn_status, unsafe { b::oxx_xsm_evtchn_status(d, chn) }, d, chn)
}

/// `xsm_evtchn_unbound(XSM_TARGET, d, chn, id2)`.
#[inline(always)]
pub unsafe fn evtchn_unbound(d: *mut b::domain, chn: *mut b::evtchn, id2: b::domid_t) -> c_int {
    // SAFETY: the caller guarantees that the domains and channels are live (module doc),
    // which is all the hook requires.
    hook!(evtchn_unbound, unsafe { b::oxx_xsm_evtchn_unbound(d, chn, id2) }, d, chn, id2)
}

/// `xsm_evtchn_interdomain(XSM_HOOK, d1, chn1, d2, chn2)`.
#[inline(always)]
pub unsafe fn evtchn_interdomain(
    d1: *mut b::domain,
    chn1: *mut b::evtchn,
    d2: *mut b::domain,
    chn2: *mut b::evtchn,
) -> c_int {
    hook!(
        evtchn_interdomain,
        // SAFETY: the caller guarantees that the domains and channels are live (module doc),
        // which is all the hook requires.
        unsafe { b::oxx_xsm_evtchn_interdomain(d1, chn1, d2, chn2) },
        d1,
        chn1,
        d2,
        chn2
    )
}

/// `xsm_evtchn_close_post(chn)`.
#[inline(always)]
pub unsafe fn evtchn_close_post(chn: *mut b::evtchn) {
    // SAFETY: the caller guarantees that the domains and channels are live (module doc),
    // which is all the hook requires.
    hook!(evtchn_close_post, unsafe { b::oxx_xsm_evtchn_close_post(chn) }, chn)
}
