//! Argo's ABI (Xen 4.17 public/argo.h, common/argo.c): hypercall 39, four ops, the ring
//! header, registration, send address, iov and ring-data structures. V4V's successor in Xen
//! and its performance peer in this project.

use core::mem::offset_of;

use super::DomId;

/// `__HYPERVISOR_argo_op`.
pub const HYPERCALL: u64 = super::nr::ARGO_OP;

pub mod op {
    pub const REGISTER_RING: u64 = 1;
    pub const UNREGISTER_RING: u64 = 2;
    pub const SENDV: u64 = 3;
    pub const NOTIFY: u64 = 4;
}

/// `XEN_ARGO_DOMID_ANY` (= DOMID_INVALID).
pub const DOMID_ANY: DomId = 0x7ff4;
pub const MAX_RING_SIZE: u32 = 0x100_0000;
pub const MAXIOV: u64 = 8;
/// register_ring flag: fail with -EEXIST if the ring exists.
pub const REGISTER_FLAG_FAIL_EXIST: u64 = 1;
/// common/argo.c limits.
pub const MAX_RINGS_PER_DOMAIN: u32 = 128;
pub const MAX_NOTIFY_COUNT: u32 = 256;
/// Smallest `len`: a header and two slots.
pub const MIN_RING_SIZE: u32 = 48;
/// VIRQ_ARGO (public/xen.h).
pub const VIRQ_ARGO: u32 = 11;
/// Bytes of `xen_argo_ring_t` before `ring[]`.
pub const RING_HEADER: usize = 64;

/// `xen_argo_addr_t`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Addr {
    pub aport: u32,
    pub domain_id: DomId,
    pub pad: u16,
}

/// `xen_argo_send_addr_t`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct SendAddr {
    pub src: Addr,
    pub dst: Addr,
}

/// `xen_argo_ring_t` header.
#[derive(Clone, Copy, Debug)]
#[repr(C)]
pub struct RingHeader {
    pub rx_ptr: u32,
    pub tx_ptr: u32,
    pub reserved: [u8; 56],
}

/// `xen_argo_register_ring_t`.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct RegisterRing {
    pub aport: u32,
    pub partner_id: DomId,
    pub pad: u16,
    pub len: u32,
}

/// `xen_argo_unregister_ring_t`.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct UnregisterRing {
    pub aport: u32,
    pub partner_id: DomId,
    pub pad: u16,
}

/// `xen_argo_iov_t`.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct Iov {
    pub hnd: u64,
    pub len: u32,
    pub pad: u32,
}

/// `xen_argo_ring_data_t` header (entries follow at 8).
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct RingDataHeader {
    pub nent: u32,
    pub pad: u32,
}

/// `xen_argo_ring_data_ent_t`.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct RingDataEnt {
    pub ring: Addr,
    pub flags: u16,
    pub pad: u16,
    pub space_required: u32,
    pub max_message_size: u32,
}

bitflags::bitflags! {
    /// `xen_argo_ring_data_ent.flags`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct RingDataFlags: u16 {
        const EXISTS = 1 << 0;
        const SHARED = 1 << 1;
        const EMPTY = 1 << 2;
        const SUFFICIENT = 1 << 3;
        const EMSGSIZE = 1 << 4;
        const EBUSY = 1 << 5;
    }
}

/// `NPAGES_RING(len)`.
pub const fn npages(len: u32) -> u32 {
    (len.next_multiple_of(16) + RING_HEADER as u32).div_ceil(4096)
}

const _: () = {
    assert!(size_of::<Addr>() == 8);
    assert!(size_of::<SendAddr>() == 16);
    assert!(size_of::<RingHeader>() == RING_HEADER);
    assert!(offset_of!(RingHeader, tx_ptr) == 4);
    assert!(size_of::<RegisterRing>() == 12);
    assert!(offset_of!(RegisterRing, len) == 8);
    assert!(size_of::<UnregisterRing>() == 8);
    assert!(size_of::<Iov>() == 16);
    assert!(offset_of!(Iov, len) == 8);
    assert!(size_of::<RingDataHeader>() == 8);
    assert!(size_of::<RingDataEnt>() == 20);
    assert!(offset_of!(RingDataEnt, space_required) == 12);
    assert!(offset_of!(RingDataEnt, max_message_size) == 16);
};
