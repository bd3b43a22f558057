//! The toolstack's hypercalls a privileged guest (our test dom0) uses: `domctl` (36) and
//! `sysctl` (35), with the few sub-ops the dom0 suite needs (public/domctl.h and
//! public/sysctl.h; the structs used here are the same in Xen 4.17 and 4.22, only the
//! interface versions differ). Xen refuses both from an unprivileged domain (XSM: -EPERM)
//! and refuses a wrong `interface_version` with -EACCES.

use core::mem::{offset_of, size_of};

use super::DomId;

/// `__HYPERVISOR_sysctl`, `__HYPERVISOR_domctl`.
pub const SYSCTL_HYPERCALL: u64 = 35;
pub const DOMCTL_HYPERCALL: u64 = 36;

/// `XEN_DOMCTL_INTERFACE_VERSION` and `XEN_SYSCTL_INTERFACE_VERSION` of the Xen release
/// `(major, minor)` (as `xen_version(XENVER_version)` reports it), for the releases this
/// workspace builds (ci/xen-versions); `None` for any other, whose versions are unknown here.
pub fn interface_versions(major: u16, minor: u16) -> Option<InterfaceVersions> {
    match (major, minor) {
        (4, 17) => Some(InterfaceVersions { domctl: 0x15, sysctl: 0x15 }),
        (4, 22) => Some(InterfaceVersions { domctl: 0x18, sysctl: 0x16 }),
        _ => None,
    }
}

/// The `interface_version` a domctl and a sysctl carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InterfaceVersions {
    pub domctl: u32,
    pub sysctl: u32,
}

/// `XEN_DOMCTL_*` commands.
pub mod domctl {
    pub const DESTROYDOMAIN: u32 = 2;
    pub const PAUSEDOMAIN: u32 = 3;
    pub const UNPAUSEDOMAIN: u32 = 4;
    pub const GETDOMAININFO: u32 = 5;
    /// Retired in 4.17 ("Moved into XEN_DOMCTL_createdomain"): the number is unassigned.
    pub const SET_MAX_EVTCHN_RETIRED: u32 = 70;
}

/// `XEN_SYSCTL_*` commands.
pub mod sysctl {
    pub const PHYSINFO: u32 = 3;
}

/// `XEN_DOMINF_*` flags of `xen_domctl_getdomaininfo.flags`.
pub mod dominf {
    pub const DYING: u32 = 1 << 0;
    pub const SHUTDOWN: u32 = 1 << 2;
    pub const PAUSED: u32 = 1 << 3;
    pub const BLOCKED: u32 = 1 << 4;
    pub const RUNNING: u32 = 1 << 5;
    pub const SHUTDOWN_SHIFT: u32 = 16;
    pub const SHUTDOWN_MASK: u32 = 255;
}

/// `struct xen_domctl`: the header and the 128-byte union (`uint8_t pad[128]`, 8-aligned).
#[repr(C, align(8))]
#[derive(Clone, Copy)]
pub struct Domctl {
    pub cmd: u32,
    pub interface_version: u32,
    pub domain: DomId,
    pub pad: [u16; 3],
    pub u: [u8; 128],
}

/// `struct xen_sysctl`: the header and the 128-byte union.
#[repr(C, align(8))]
#[derive(Clone, Copy)]
pub struct Sysctl {
    pub cmd: u32,
    pub interface_version: u32,
    pub u: [u8; 128],
}

/// `struct xen_arch_domainconfig` (arm).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug)]
pub struct ArchDomainConfig {
    pub gic_version: u8,
    pub tee_type: u16,
    pub nr_spis: u32,
    pub clock_frequency: u32,
}

/// `struct xen_domctl_getdomaininfo` (all OUT).
#[repr(C, align(8))]
#[derive(Clone, Copy, Default, Debug)]
pub struct DomainInfo {
    pub domain: DomId,
    pub pad1: u16,
    pub flags: u32,
    pub tot_pages: u64,
    pub max_pages: u64,
    pub outstanding_pages: u64,
    pub shr_pages: u64,
    pub paged_pages: u64,
    pub shared_info_frame: u64,
    pub cpu_time: u64,
    pub nr_online_vcpus: u32,
    pub max_vcpu_id: u32,
    pub ssidref: u32,
    pub handle: [u8; 16],
    pub cpupool: u32,
    pub gpaddr_bits: u8,
    pub pad2: [u8; 7],
    pub arch_config: ArchDomainConfig,
}

impl DomainInfo {
    /// The shutdown code the guest gave (`SHUTDOWN_*`), meaningful with [`dominf::SHUTDOWN`].
    pub const fn shutdown_reason(&self) -> u32 {
        (self.flags >> dominf::SHUTDOWN_SHIFT) & dominf::SHUTDOWN_MASK
    }
}

/// `struct xen_sysctl_physinfo` (all OUT).
#[repr(C, align(8))]
#[derive(Clone, Copy, Default, Debug)]
pub struct Physinfo {
    pub threads_per_core: u32,
    pub cores_per_socket: u32,
    pub nr_cpus: u32,
    pub max_cpu_id: u32,
    pub nr_nodes: u32,
    pub max_node_id: u32,
    pub cpu_khz: u32,
    pub capabilities: u32,
    pub arch_capabilities: u32,
    pub pad: u32,
    pub total_pages: u64,
    pub free_pages: u64,
    pub scrub_pages: u64,
    pub outstanding_pages: u64,
    pub max_mfn: u64,
    pub hw_cap: [u32; 8],
}

const _: () = {
    assert!(size_of::<Domctl>() == 144);
    assert!(offset_of!(Domctl, u) == 16);
    assert!(size_of::<Sysctl>() == 136);
    assert!(offset_of!(Sysctl, u) == 8);
    assert!(size_of::<ArchDomainConfig>() == 12);
    assert!(offset_of!(DomainInfo, tot_pages) == 8);
    assert!(offset_of!(DomainInfo, nr_online_vcpus) == 64);
    assert!(offset_of!(DomainInfo, handle) == 76);
    assert!(offset_of!(DomainInfo, gpaddr_bits) == 96);
    assert!(offset_of!(DomainInfo, arch_config) == 104);
    assert!(size_of::<DomainInfo>() == 120);
    assert!(size_of::<DomainInfo>() <= 128);
    assert!(offset_of!(Physinfo, total_pages) == 40);
    assert!(offset_of!(Physinfo, free_pages) == 48);
    assert!(size_of::<Physinfo>() == 112);
};
