//! The V4V ABI as the guest sees it (/work/notes/v4v-abi.md, the project's docs/v4v.md):
//! hypercall 43, five commands, the ring, pfn list, send address, iov and ring-data
//! structures. Our own definitions: the hypervisor side's crate is what these tests check,
//! so nothing is shared with it.

use core::mem::offset_of;

use super::DomId;

/// `__HYPERVISOR_v4v_op`.
pub const HYPERCALL: u64 = super::nr::V4V_OP;

/// Commands (x0).
pub mod op {
    pub const REGISTER_RING: u64 = 1;
    pub const UNREGISTER_RING: u64 = 2;
    pub const SEND: u64 = 3;
    pub const NOTIFY: u64 = 4;
    pub const SENDV: u64 = 5;
}

pub const RING_MAGIC: u64 = 0xa822_f72b_b0b9_d8cc;
pub const PFN_LIST_MAGIC: u64 = 0x91dd_6159_045b_302d;
pub const RING_DATA_MAGIC: u64 = 0x4ce4_d30f_bc82_e92a;
/// A ring any domain may send to (= DOMID_INVALID, as Argo's XEN_ARGO_DOMID_ANY).
pub const DOMID_ANY: DomId = 0x7ff4;
/// Largest `len` of `ring[]`.
pub const MAX_RING_SIZE: u32 = 16 << 20;
/// Largest payload of one send.
pub const MAX_MSG: u32 = MAX_RING_SIZE - 64;
/// Most iovs in one sendv.
pub const MAXIOV: u64 = 8;
pub const MAX_RINGS_PER_DOMAIN: u32 = 128;
/// Most entries in one notify.
pub const MAX_NOTIFY_ENT: u32 = 64;
/// Smallest `len`.
pub const MIN_RING_SIZE: u32 = 32;
/// The global VIRQ Xen raises for V4V (free in 4.17's public/xen.h).
pub const VIRQ_V4V: u32 = 14;
/// Bytes of the ring header before `ring[]`.
pub const RING_HEADER: usize = 64;
/// Bytes of the pfn list header before `pages[]`.
pub const PFN_LIST_HEADER: usize = 40;

/// `v4v_addr`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Addr {
    pub port: u32,
    pub domain: DomId,
    pub pad: u16,
}

/// `v4v_ring_id`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct RingId {
    pub addr: Addr,
    pub partner: DomId,
    pub pad: u16,
}

/// `v4v_send_addr`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct SendAddr {
    pub src: Addr,
    pub dst: Addr,
}

/// `v4v_ring` header (`ring[]` follows at 64).
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct RingHeader {
    pub magic: u64,
    pub id: RingId,
    pub len: u32,
    pub rx_ptr: u32,
    pub tx_ptr: u32,
    pub reserved: [u64; 4],
}

/// `v4v_pfn_list` header (`pages[npage]` follows at 40).
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct PfnListHeader {
    pub magic: u64,
    pub npage: u32,
    pub pad: u32,
    pub reserved: [u64; 3],
}

/// `v4v_iov`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct Iov {
    pub base: u64,
    pub len: u64,
}

/// `v4v_ring_data` header (`nent` entries follow at 32).
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct RingDataHeader {
    pub magic: u64,
    pub nent: u32,
    pub pad: u32,
    pub reserved: [u64; 2],
}

/// `v4v_ring_data_ent`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct RingDataEnt {
    pub ring: Addr,
    /// OUT: [`RingDataFlags`].
    pub flags: u16,
    pub pad: u16,
    /// IN.
    pub space_required: u32,
    /// OUT.
    pub max_message_size: u32,
    pub pad2: u32,
}

bitflags::bitflags! {
    /// `v4v_ring_data_ent.flags`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct RingDataFlags: u16 {
        const EMPTY = 1;
        const EXISTS = 2;
        const PENDING = 4;
        const SUFFICIENT = 8;
    }
}

/// `npage` for a ring of `len` bytes: ceil((64 + len) / 4096).
pub const fn npages(len: u32) -> u32 {
    (RING_HEADER as u32 + len).div_ceil(4096)
}

const _: () = {
    assert!(size_of::<Addr>() == 8);
    assert!(offset_of!(Addr, domain) == 4);
    assert!(offset_of!(Addr, pad) == 6);
    assert!(size_of::<RingId>() == 12);
    assert!(offset_of!(RingId, partner) == 8);
    assert!(offset_of!(RingId, pad) == 10);
    assert!(size_of::<SendAddr>() == 16);
    assert!(offset_of!(SendAddr, dst) == 8);
    assert!(size_of::<RingHeader>() == RING_HEADER);
    assert!(offset_of!(RingHeader, id) == 8);
    assert!(offset_of!(RingHeader, len) == 20);
    assert!(offset_of!(RingHeader, rx_ptr) == 24);
    assert!(offset_of!(RingHeader, tx_ptr) == 28);
    assert!(offset_of!(RingHeader, reserved) == 32);
    assert!(size_of::<PfnListHeader>() == PFN_LIST_HEADER);
    assert!(offset_of!(PfnListHeader, npage) == 8);
    assert!(offset_of!(PfnListHeader, reserved) == 16);
    assert!(size_of::<Iov>() == 16);
    assert!(size_of::<RingDataHeader>() == 32);
    assert!(offset_of!(RingDataHeader, nent) == 8);
    assert!(size_of::<RingDataEnt>() == 24);
    assert!(offset_of!(RingDataEnt, flags) == 8);
    assert!(offset_of!(RingDataEnt, space_required) == 12);
    assert!(offset_of!(RingDataEnt, max_message_size) == 16);
    assert!(offset_of!(RingDataEnt, pad2) == 20);
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npage_rule() {
        assert_eq!(npages(32), 1);
        assert_eq!(npages(4096 - 64), 1);
        assert_eq!(npages(4096 - 48), 2);
        assert_eq!(npages(MAX_RING_SIZE), 4097);
    }
}
