//! `domctl` and `sysctl` for a privileged guest (the dom0 suite's test dom0): each call fills
//! the header (command, interface version, domain), copies the sub-op's payload into the
//! 128-byte union and back out.

use core::mem::size_of;

use super::hypercall;
use crate::abi::control::{
    self, DomainInfo, Domctl, InterfaceVersions, Physinfo, Sysctl, domctl, sysctl,
};
use crate::abi::{DomId, Errno};

/// The interface versions of the Xen running us (they change between releases; Xen refuses
/// another with -EACCES). A release this workspace does not know: -ENOSYS, before any call.
fn interface_versions() -> Result<InterfaceVersions, Errno> {
    let (major, minor) = super::hypercall::xen_version()?;
    control::interface_versions(major, minor).ok_or(Errno::ENOSYS)
}

/// A payload of a domctl/sysctl union: plain data that fits in its 128 bytes.
///
/// # Safety
///
/// The type must be `repr(C)` plain data (every bit pattern valid), at most 128 bytes, with
/// the layout Xen uses for the sub-op it is passed with.
pub unsafe trait Payload: Copy + Default {}
// SAFETY: repr(C) integers and arrays only, 120 bytes (size checked in abi::control).
unsafe impl Payload for DomainInfo {}
// SAFETY: repr(C) integers and arrays only, 112 bytes (size checked in abi::control).
unsafe impl Payload for Physinfo {}
// SAFETY: the empty payload of commands that take none.
unsafe impl Payload for () {}

fn to_union<T: Payload>(p: &T) -> [u8; 128] {
    let mut u = [0u8; 128];
    const { assert!(size_of::<T>() <= 128) };
    // SAFETY: T is plain data of at most 128 bytes (Payload), so its bytes can be read and
    // fit in `u`; the regions do not overlap.
    unsafe {
        core::ptr::copy_nonoverlapping(p as *const T as *const u8, u.as_mut_ptr(), size_of::<T>())
    };
    u
}

fn from_union<T: Payload>(u: &[u8; 128]) -> T {
    let mut p = T::default();
    // SAFETY: T is plain data of at most 128 bytes for which every bit pattern is valid
    // (Payload); the regions do not overlap.
    unsafe {
        core::ptr::copy_nonoverlapping(u.as_ptr(), &mut p as *mut T as *mut u8, size_of::<T>())
    };
    p
}

/// `domctl(cmd)` on `domain` with `payload` in the union; returns the union as Xen left it.
pub fn domctl_raw<T: Payload>(cmd: u32, domain: DomId, payload: &T) -> Result<T, Errno> {
    domctl_versioned(cmd, interface_versions()?.domctl, domain, payload)
}

/// As [`domctl_raw`] with a chosen `interface_version` (to see Xen refuse a wrong one).
pub fn domctl_versioned<T: Payload>(
    cmd: u32,
    version: u32,
    domain: DomId,
    payload: &T,
) -> Result<T, Errno> {
    let mut op =
        Domctl { cmd, interface_version: version, domain, pad: [0; 3], u: to_union(payload) };
    let args = [&mut op as *mut Domctl as u64, 0, 0, 0, 0];
    // SAFETY: domctl reads and writes one struct xen_domctl at its pointer: `op` is one
    // (repr(C), size and offsets checked in abi::control), exclusively ours across the call.
    // A domctl on another domain changes no memory of ours.
    Errno::from_ret(unsafe { hypercall::hypercall(control::DOMCTL_HYPERCALL, args) })?;
    Ok(from_union(&op.u))
}

/// `sysctl(cmd)` with `payload` in the union; returns the union as Xen left it.
pub fn sysctl_raw<T: Payload>(cmd: u32, payload: &T) -> Result<T, Errno> {
    let version = interface_versions()?.sysctl;
    let mut op = Sysctl { cmd, interface_version: version, u: to_union(payload) };
    let args = [&mut op as *mut Sysctl as u64, 0, 0, 0, 0];
    // SAFETY: sysctl reads and writes one struct xen_sysctl at its pointer: `op` is one
    // (repr(C), size and offsets checked in abi::control), exclusively ours across the call.
    Errno::from_ret(unsafe { hypercall::hypercall(control::SYSCTL_HYPERCALL, args) })?;
    Ok(from_union(&op.u))
}

/// `XEN_DOMCTL_getdomaininfo`: Xen reports the first domain with a domid at or above
/// `domid` (the caller checks `info.domain`).
pub fn getdomaininfo(domid: DomId) -> Result<DomainInfo, Errno> {
    domctl_raw(domctl::GETDOMAININFO, domid, &DomainInfo::default())
}

/// `XEN_DOMCTL_pausedomain`.
pub fn pause(domid: DomId) -> Result<(), Errno> {
    domctl_raw(domctl::PAUSEDOMAIN, domid, &()).map(|_| ())
}

/// `XEN_DOMCTL_unpausedomain`.
pub fn unpause(domid: DomId) -> Result<(), Errno> {
    domctl_raw(domctl::UNPAUSEDOMAIN, domid, &()).map(|_| ())
}

/// `XEN_DOMCTL_destroydomain`: Xen kills the domain, continuing the hypercall itself
/// (-ERESTART becomes a continuation) until every resource is released.
pub fn destroy(domid: DomId) -> Result<(), Errno> {
    domctl_raw(domctl::DESTROYDOMAIN, domid, &()).map(|_| ())
}

/// `XEN_SYSCTL_physinfo`.
pub fn physinfo() -> Result<Physinfo, Errno> {
    sysctl_raw(sysctl::PHYSINFO, &Physinfo::default())
}
