//! The guest ABI of `v4v_op` (include/v4v.h, docs/v4v.md) as Rust types, with their C sizes
//! and field offsets asserted, the command decoder, and the checks of every guest value that
//! does not need Xen.

use crate::ring::{ROUNDUP, slot_len};
use bitflags::bitflags;
use core::mem::{offset_of, size_of};
use static_assertions::const_assert_eq;
use xen_rust_glue::Errno;
use xen_rust_glue::guest::GuestPod;

pub type DomId = u16;

/// `__HYPERVISOR_v4v_op`.
pub const HYPERVISOR_V4V_OP: u32 = 43;
/// The global VIRQ V4V raises (in a receiver: a message arrived; in a sender: space it waited
/// for is free).
pub const VIRQ_V4V: u32 = 14;

/// A ring that accepts messages from any domain (Argo's XEN_ARGO_DOMID_ANY; = DOMID_INVALID).
pub const V4V_DOMID_ANY: DomId = 0x7ff4;
/// Domain ids >= this are reserved (DOMID_FIRST_RESERVED).
pub const DOMID_FIRST_RESERVED: DomId = 0x7ff0;

pub const V4V_RING_MAGIC: u64 = 0xa822_f72b_b0b9_d8cc;
pub const V4V_PFN_LIST_MAGIC: u64 = 0x91dd_6159_045b_302d;
pub const V4V_RING_DATA_MAGIC: u64 = 0x4ce4_d30f_bc82_e92a;

/// Largest `len` of a ring's data area.
pub const V4V_MAX_RING_SIZE: u32 = 16 << 20;
/// Smallest `len`: one message slot plus the slot Xen keeps free.
pub const V4V_MIN_RING_SIZE: u32 = 32;
/// Largest payload of one send/sendv.
pub const V4V_MAX_MSG: u32 = V4V_MAX_RING_SIZE - 64;
/// Most iovs in one sendv.
pub const V4V_MAXIOV: u32 = 8;
/// Most entries in one notify.
pub const V4V_MAX_NOTIFY_ENT: u32 = 64;
/// Most rings one domain may register.
pub const V4V_MAX_RINGS_PER_DOMAIN: usize = 128;
/// Ring pages a domain may hold (every page of every registered ring) unless its dom0less
/// node says otherwise (`xen,v4v-max-ring-pages`): one ring of the largest size (4097 pages)
/// and as many again in smaller rings, 32 MiB of the guest's memory. Bounds what one domain
/// makes Xen keep (a reference and an 8-byte record per page) and the pages its teardown
/// releases (docs/v4v.md, "Security").
pub const V4V_DEFAULT_MAX_RING_PAGES: u32 = 8192;
/// The highest budget a domain can be given: every ring of the largest size.
pub const V4V_MAX_BUDGET_PAGES: u32 = V4V_MAX_RINGS_PER_DOMAIN as u32 * V4V_MAX_RING_PAGES;
/// Guest page size of the pfn list.
pub const PAGE_SIZE: u32 = 4096;
/// Most pages of one ring: ceil((64 + V4V_MAX_RING_SIZE) / 4096).
pub const V4V_MAX_RING_PAGES: u32 = (RING_HEADER_SIZE + V4V_MAX_RING_SIZE).div_ceil(PAGE_SIZE);
/// Bytes of the ring header before `ring[]`.
pub const RING_HEADER_SIZE: u32 = 64;

/// V4VOP_* numbers.
pub mod op {
    pub const REGISTER_RING: u32 = 1;
    pub const UNREGISTER_RING: u32 = 2;
    pub const SEND: u32 = 3;
    pub const NOTIFY: u32 = 4;
    pub const SENDV: u32 = 5;
}

/// A decoded `cmd`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Cmd {
    RegisterRing,
    UnregisterRing,
    Send,
    Notify,
    Sendv,
}

impl Cmd {
    /// `None` for an unknown command (the hypercall returns -ENOSYS).
    pub fn decode(cmd: u32) -> Option<Cmd> {
        Some(match cmd {
            op::REGISTER_RING => Cmd::RegisterRing,
            op::UNREGISTER_RING => Cmd::UnregisterRing,
            op::SEND => Cmd::Send,
            op::NOTIFY => Cmd::Notify,
            op::SENDV => Cmd::Sendv,
            _ => return None,
        })
    }

    /// Check the arguments a command does not use are 0 (-EINVAL otherwise) and, for send and
    /// sendv, that `protocol` fits its 32-bit ABI type (-EINVAL). send's `len` and sendv's
    /// `niov` are checked by their own rules (-EMSGSIZE / -EINVAL).
    pub fn check_unused(self, a1: u64, a2: u64, a3: u64, a4: u64) -> Result<(), Errno> {
        let unused_zero = match self {
            Cmd::RegisterRing => a3 == 0 && a4 == 0,
            Cmd::UnregisterRing | Cmd::Notify => a2 == 0 && a3 == 0 && a4 == 0,
            Cmd::Send | Cmd::Sendv => a4 <= u32::MAX as u64,
        };
        let _ = a1;
        if unused_zero { Ok(()) } else { Err(Errno::EINVAL) }
    }
}

/// `v4v_addr`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Addr {
    pub port: u32,
    pub domain: DomId,
    pub pad: u16,
}

/// `v4v_ring_id`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RingId {
    pub addr: Addr,
    pub partner: DomId,
    pub pad: u16,
}

/// `v4v_send_addr`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SendAddr {
    pub src: Addr,
    pub dst: Addr,
}

/// `v4v_ring` header (the data area `ring[]` follows at offset 64).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RingHeader {
    pub magic: u64,
    pub id: RingId,
    pub len: u32,
    pub rx_ptr: u32,
    pub tx_ptr: u32,
    pub reserved: [u64; 4],
}

/// `v4v_pfn_list` header (`u64 pages[npage]` follows at offset 40).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PfnListHeader {
    pub magic: u64,
    pub npage: u32,
    pub pad: u32,
    pub reserved: [u64; 3],
}

/// `v4v_ring_message_header`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MessageHeader {
    /// Header plus payload bytes (not rounded).
    pub len: u32,
    pub source: Addr,
    pub protocol: u32,
}

/// `v4v_iov`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Iov {
    pub iov_base: u64,
    pub iov_len: u64,
}

/// `v4v_ring_data` header (`nent` entries follow at offset 32).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RingDataHeader {
    pub magic: u64,
    pub nent: u32,
    pub pad: u32,
    pub reserved: [u64; 2],
}

/// `v4v_ring_data_ent`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RingDataEnt {
    pub ring: Addr,
    /// [`RingDataFlags`] (out).
    pub flags: u16,
    pub pad: u16,
    /// In: payload bytes the caller wants to send.
    pub space_required: u32,
    /// Out: the largest payload the ring could ever take.
    pub max_message_size: u32,
    pub pad2: u32,
}

bitflags! {
    /// `v4v_ring_data_ent.flags`.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct RingDataFlags: u16 {
        /// The ring is empty.
        const EMPTY = 1;
        /// A ring the caller may send to exists.
        const EXISTS = 2;
        /// `space_required` is not free now; VIRQ_V4V will tell the caller when it is.
        const PENDING = 4;
        /// `space_required` is free now.
        const SUFFICIENT = 8;
    }
}

const_assert_eq!(size_of::<Addr>(), 8);
const_assert_eq!(offset_of!(Addr, domain), 4);
const_assert_eq!(offset_of!(Addr, pad), 6);
const_assert_eq!(size_of::<RingId>(), 12);
const_assert_eq!(offset_of!(RingId, partner), 8);
const_assert_eq!(offset_of!(RingId, pad), 10);
const_assert_eq!(size_of::<SendAddr>(), 16);
const_assert_eq!(offset_of!(SendAddr, dst), 8);
const_assert_eq!(size_of::<RingHeader>(), RING_HEADER_SIZE as usize);
const_assert_eq!(offset_of!(RingHeader, id), 8);
const_assert_eq!(offset_of!(RingHeader, len), 20);
const_assert_eq!(offset_of!(RingHeader, rx_ptr), 24);
const_assert_eq!(offset_of!(RingHeader, tx_ptr), 28);
const_assert_eq!(offset_of!(RingHeader, reserved), 32);
const_assert_eq!(size_of::<PfnListHeader>(), 40);
const_assert_eq!(offset_of!(PfnListHeader, npage), 8);
const_assert_eq!(offset_of!(PfnListHeader, reserved), 16);
const_assert_eq!(size_of::<MessageHeader>(), 16);
const_assert_eq!(offset_of!(MessageHeader, source), 4);
const_assert_eq!(offset_of!(MessageHeader, protocol), 12);
const_assert_eq!(size_of::<Iov>(), 16);
const_assert_eq!(offset_of!(Iov, iov_len), 8);
const_assert_eq!(size_of::<RingDataHeader>(), 32);
const_assert_eq!(offset_of!(RingDataHeader, nent), 8);
const_assert_eq!(offset_of!(RingDataHeader, reserved), 16);
const_assert_eq!(size_of::<RingDataEnt>(), 24);
const_assert_eq!(offset_of!(RingDataEnt, flags), 8);
const_assert_eq!(offset_of!(RingDataEnt, space_required), 12);
const_assert_eq!(offset_of!(RingDataEnt, max_message_size), 16);
const_assert_eq!(offset_of!(RingDataEnt, pad2), 20);
const_assert_eq!(RING_HEADER_SIZE % ROUNDUP, 0);

// SAFETY: all of these are #[repr(C)] structs of integers laid out without implicit padding
// (the sizes above equal the sum of their fields); every bit pattern is a valid value.
unsafe impl GuestPod for Addr {}
// SAFETY: as above.
unsafe impl GuestPod for RingId {}
// SAFETY: as above.
unsafe impl GuestPod for SendAddr {}
// SAFETY: as above.
unsafe impl GuestPod for RingHeader {}
// SAFETY: as above.
unsafe impl GuestPod for PfnListHeader {}
// SAFETY: as above.
unsafe impl GuestPod for MessageHeader {}
// SAFETY: as above.
unsafe impl GuestPod for Iov {}
// SAFETY: as above.
unsafe impl GuestPod for RingDataHeader {}
// SAFETY: as above.
unsafe impl GuestPod for RingDataEnt {}

impl MessageHeader {
    /// The 16 bytes Xen writes in front of each payload.
    pub fn to_bytes(&self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[0..4].copy_from_slice(&self.len.to_le_bytes());
        b[4..8].copy_from_slice(&self.source.port.to_le_bytes());
        b[8..10].copy_from_slice(&self.source.domain.to_le_bytes());
        b[10..12].copy_from_slice(&self.source.pad.to_le_bytes());
        b[12..16].copy_from_slice(&self.protocol.to_le_bytes());
        b
    }

    pub fn from_bytes(b: &[u8; 16]) -> Self {
        let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        MessageHeader {
            len: u32_at(0),
            source: Addr {
                port: u32_at(4),
                domain: u16::from_le_bytes([b[8], b[9]]),
                pad: u16::from_le_bytes([b[10], b[11]]),
            },
            protocol: u32_at(12),
        }
    }
}

/// What register_ring keeps of a checked ring header and pfn list header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RingRegistration {
    pub port: u32,
    pub partner: DomId,
    pub len: u32,
    pub npage: u32,
}

/// Pages a ring of data length `len` occupies (header included).
pub const fn npages_for_len(len: u32) -> u32 {
    // No overflow: callers pass len <= V4V_MAX_RING_SIZE.
    (RING_HEADER_SIZE + len).div_ceil(PAGE_SIZE)
}

/// A partner field: a real domain id or [`V4V_DOMID_ANY`].
fn valid_partner(partner: DomId) -> bool {
    partner == V4V_DOMID_ANY || partner < DOMID_FIRST_RESERVED
}

/// register_ring's checks of the two headers a guest passes (everything but the pfns).
/// All failures are -EINVAL.
pub fn check_registration(
    ring: &RingHeader,
    pfns: &PfnListHeader,
) -> Result<RingRegistration, Errno> {
    let ok = ring.magic == V4V_RING_MAGIC
        && pfns.magic == V4V_PFN_LIST_MAGIC
        && ring.id.addr.pad == 0
        && ring.id.pad == 0
        && pfns.pad == 0
        && valid_partner(ring.id.partner)
        && ring.len >= V4V_MIN_RING_SIZE
        && ring.len <= V4V_MAX_RING_SIZE
        && ring.len.is_multiple_of(ROUNDUP)
        && pfns.npage == npages_for_len(ring.len);
    if !ok {
        return Err(Errno::EINVAL);
    }
    Ok(RingRegistration {
        port: ring.id.addr.port,
        partner: ring.id.partner,
        len: ring.len,
        npage: pfns.npage,
    })
}

/// The rx/tx pointers a newly registered ring starts with: the guest's if both are valid
/// (16-aligned, inside the ring), else both 0.
pub fn initial_pointers(len: u32, rx: u32, tx: u32) -> (u32, u32) {
    let ok = |p: u32| p.is_multiple_of(ROUNDUP) && p < len;
    if ok(rx) && ok(tx) { (rx, tx) } else { (0, 0) }
}

/// An `Addr` in a send or notify: pad must be 0.
pub fn check_addr(a: &Addr) -> Result<(), Errno> {
    if a.pad != 0 { Err(Errno::EINVAL) } else { Ok(()) }
}

/// Total payload of a send or sendv from its iov lengths: -EINVAL for more than
/// [`V4V_MAXIOV`] iovs, -EMSGSIZE when the sum overflows or exceeds [`V4V_MAX_MSG`].
pub fn total_payload(lens: impl Iterator<Item = u64>, niov: u32) -> Result<u32, Errno> {
    if niov > V4V_MAXIOV {
        return Err(Errno::EINVAL);
    }
    let mut total: u64 = 0;
    for l in lens {
        total = total.checked_add(l).ok_or(Errno::EMSGSIZE)?;
        if total > V4V_MAX_MSG as u64 {
            return Err(Errno::EMSGSIZE);
        }
    }
    Ok(total as u32)
}

/// The largest payload a ring of data length `len` can ever take (its whole usable space
/// when empty, less the message header).
pub fn max_message_size(len: u32) -> u32 {
    len.saturating_sub(ROUNDUP).saturating_sub(size_of::<MessageHeader>() as u32)
}

/// Whether a payload of `n` bytes could ever fit a ring of length `len`.
pub fn could_ever_fit(len: u32, n: u32) -> bool {
    slot_len(n).is_some_and(|s| s <= len - ROUNDUP)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(len: u32) -> RingHeader {
        RingHeader {
            magic: V4V_RING_MAGIC,
            id: RingId { addr: Addr { port: 7, domain: 0, pad: 0 }, partner: 1, pad: 0 },
            len,
            ..Default::default()
        }
    }
    fn pfns(npage: u32) -> PfnListHeader {
        PfnListHeader { magic: V4V_PFN_LIST_MAGIC, npage, ..Default::default() }
    }

    #[test]
    fn decode_and_unused_args() {
        assert_eq!(Cmd::decode(1), Some(Cmd::RegisterRing));
        assert_eq!(Cmd::decode(5), Some(Cmd::Sendv));
        assert_eq!(Cmd::decode(0), None);
        assert_eq!(Cmd::decode(6), None);
        assert_eq!(Cmd::RegisterRing.check_unused(1, 2, 0, 0), Ok(()));
        assert_eq!(Cmd::RegisterRing.check_unused(1, 2, 3, 0), Err(Errno::EINVAL));
        assert_eq!(Cmd::UnregisterRing.check_unused(1, 1, 0, 0), Err(Errno::EINVAL));
        assert_eq!(Cmd::Notify.check_unused(0, 0, 0, 1), Err(Errno::EINVAL));
        assert_eq!(Cmd::Send.check_unused(1, 2, 1 << 32, 0), Ok(()));
        assert_eq!(Cmd::Send.check_unused(1, 2, 3, 1 << 32), Err(Errno::EINVAL));
        assert_eq!(Cmd::Sendv.check_unused(1, 2, 3, u32::MAX as u64), Ok(()));
    }

    #[test]
    fn registration_checks_every_field() {
        let good = check_registration(&ring(4096 - 64), &pfns(1)).unwrap();
        assert_eq!(good, RingRegistration { port: 7, partner: 1, len: 4032, npage: 1 });
        assert!(check_registration(&ring(4096), &pfns(2)).is_ok());
        assert!(check_registration(&ring(V4V_MAX_RING_SIZE), &pfns(V4V_MAX_RING_PAGES)).is_ok());
        let bad = |r: RingHeader, p: PfnListHeader| {
            assert_eq!(check_registration(&r, &p), Err(Errno::EINVAL), "{r:?} {p:?}")
        };
        bad(RingHeader { magic: 1, ..ring(4032) }, pfns(1));
        bad(ring(4032), PfnListHeader { magic: 1, ..pfns(1) });
        bad(ring(4032), PfnListHeader { pad: 1, ..pfns(1) });
        bad(ring(4096), pfns(1)); // too few pages
        bad(ring(4032), pfns(2)); // too many pages
        bad(ring(16), pfns(1)); // too short
        bad(ring(40), pfns(1)); // not a multiple of 16
        bad(ring(V4V_MAX_RING_SIZE + 16), pfns(V4V_MAX_RING_PAGES + 1));
        bad(ring(0), pfns(1));
        let mut r = ring(4032);
        r.id.addr.pad = 1;
        bad(r, pfns(1));
        let mut r = ring(4032);
        r.id.pad = 1;
        bad(r, pfns(1));
        let mut r = ring(4032);
        r.id.partner = DOMID_FIRST_RESERVED; // DOMID_SELF is not a partner
        bad(r, pfns(1));
        let mut r = ring(4032);
        r.id.partner = V4V_DOMID_ANY;
        assert!(check_registration(&r, &pfns(1)).is_ok());
    }

    #[test]
    fn initial_pointers_reset_when_bogus() {
        assert_eq!(initial_pointers(64, 16, 32), (16, 32));
        assert_eq!(initial_pointers(64, 64, 0), (0, 0));
        assert_eq!(initial_pointers(64, 0, 8), (0, 0));
        assert_eq!(initial_pointers(64, u32::MAX, 0), (0, 0));
    }

    #[test]
    fn payload_totals() {
        assert_eq!(total_payload([1u64, 2, 3].into_iter(), 3), Ok(6));
        assert_eq!(total_payload(core::iter::empty(), 0), Ok(0));
        assert_eq!(total_payload(core::iter::empty(), 9), Err(Errno::EINVAL));
        assert_eq!(total_payload([u64::MAX, 2].into_iter(), 2), Err(Errno::EMSGSIZE));
        assert_eq!(total_payload([V4V_MAX_MSG as u64 + 1].into_iter(), 1), Err(Errno::EMSGSIZE));
        assert_eq!(total_payload([V4V_MAX_MSG as u64].into_iter(), 1), Ok(V4V_MAX_MSG));
    }

    #[test]
    fn message_sizes() {
        assert_eq!(max_message_size(32), 0);
        assert_eq!(max_message_size(64), 32);
        assert!(could_ever_fit(64, 32));
        assert!(!could_ever_fit(64, 33));
        assert!(could_ever_fit(32, 0));
        assert!(!could_ever_fit(32, 1));
        for len in (32..2048).step_by(16) {
            let m = max_message_size(len);
            assert!(could_ever_fit(len, m) && !could_ever_fit(len, m + 1), "{len}");
        }
    }

    #[test]
    fn header_bytes_round_trip() {
        let h = MessageHeader {
            len: 0x1234,
            source: Addr { port: 0xdead_beef, domain: 3, pad: 0 },
            protocol: 9,
        };
        assert_eq!(MessageHeader::from_bytes(&h.to_bytes()), h);
        assert_eq!(&h.to_bytes()[0..4], &[0x34, 0x12, 0, 0]);
    }
}
