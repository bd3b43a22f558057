//! V4V from the guest side (hypercall 43, /work/notes/v4v-abi.md): rings in our memory,
//! register / unregister, send / sendv, receive with copy-out, notify, VIRQ_V4V.
//!
//! A [`Ring`] is a ring header plus `ring[]` in arena pages ([`super::ring_mem`]), bracketed by
//! guard pages, and a pfn list in its own page. [`Ring::recv`] copies the next message out
//! (wrap-around handled by [`crate::ring`]) and publishes the new `rx_ptr` with a release
//! store after the copy. Every wrapper returns Xen's errno unchanged; [`raw_op`] issues any
//! command with any argument words, for the bad-argument cases.
//!
//! ```ignore
//! let ring = v4v::Ring::new(4096, 10, peer)?;   // port 10, partner `peer`
//! ring.register()?;
//! v4v::send(peer, 20, 10, b"hello", 0)?;
//! let mut buf = [0u8; 64];
//! if let Some(m) = ring.recv(&mut buf)? { /* m.header.source_domain, &buf[..m.len] */ }
//! v4v::notify(None)?;
//! ```

use core::sync::atomic::Ordering;

use super::hypercall::hypercall;
use super::ring_mem::{PAGE, Pages, RingMem};
use crate::abi::v4v::{
    self, Addr, Iov, PFN_LIST_HEADER, PFN_LIST_MAGIC, RING_DATA_MAGIC, RING_HEADER, RING_MAGIC,
    RingDataEnt, RingDataHeader, RingHeader, RingId, SendAddr,
};
use crate::abi::{DomId, Errno};

/// `v4v_op(cmd, a1, a2, a3, a4)` with raw argument words.
///
/// # Safety
///
/// Every word Xen may take as a guest address for `cmd` must point either at memory laid
/// out as Xen expects for it and alive across the call (Xen writes a ring's `tx_ptr`, and a
/// ring-data array's OUT fields), or at memory no Rust object uses (unmapped, unbacked, MMIO,
/// arena pages).
pub unsafe fn raw_op(cmd: u64, a1: u64, a2: u64, a3: u64, a4: u64) -> Result<u64, Errno> {
    // SAFETY: the caller's contract.
    Errno::from_ret(unsafe { hypercall(v4v::HYPERCALL, [cmd, a1, a2, a3, a4]) })
}

/// A ring in arena memory ([`RingMem`]: the 64-byte header with rx_ptr at 24, tx_ptr at 28)
/// and its pfn list. Nothing is registered until [`Ring::register`].
pub struct Ring {
    pub mem: RingMem,
    /// The pfn list (header + one gfn per ring page).
    pub pfns: Pages,
}

impl core::ops::Deref for Ring {
    type Target = RingMem;
    fn deref(&self) -> &RingMem {
        &self.mem
    }
}

impl core::ops::DerefMut for Ring {
    fn deref_mut(&mut self) -> &mut RingMem {
        &mut self.mem
    }
}

/// Pages the pfn list of `npage` pages takes.
fn pfn_list_pages(npage: u32) -> usize {
    (PFN_LIST_HEADER + 8 * npage as usize).div_ceil(PAGE)
}

impl Ring {
    /// A fresh ring of `len` bytes for `port`, `partner` (a domid or [`v4v::DOMID_ANY`]),
    /// header and pfn list filled in as the ABI wants. `None` if the arena is used up.
    pub fn new(len: u32, port: u32, partner: DomId) -> Option<Ring> {
        Ring::with_pages(len, v4v::npages(len), port, partner)
    }

    /// As [`Ring::new`] with `npage` pages (which may disagree with `len`, for error cases).
    pub fn with_pages(len: u32, npage: u32, port: u32, partner: DomId) -> Option<Ring> {
        let mem = RingMem::alloc(len, npage, RING_HEADER, 24)?;
        let pfns = Pages::alloc(pfn_list_pages(npage).max(1))?;
        let r = Ring { mem, pfns };
        r.write_header(RING_MAGIC, port, partner, len);
        pfns.write_pod(
            0,
            crate::abi::v4v::PfnListHeader {
                magic: PFN_LIST_MAGIC,
                npage,
                pad: 0,
                reserved: [0; 3],
            },
        );
        for i in 0..npage as usize {
            r.set_pfn(i, r.pages.gfn(i));
        }
        Some(r)
    }

    /// Rewrites the whole ring header (rx_ptr = tx_ptr = 0).
    pub fn write_header(&self, magic: u64, port: u32, partner: DomId, len: u32) {
        self.pages.write_pod(
            0,
            RingHeader {
                magic,
                id: RingId { addr: Addr { port, domain: 0, pad: 0 }, partner, pad: 0 },
                len,
                rx_ptr: 0,
                tx_ptr: 0,
                reserved: [0; 4],
            },
        );
    }

    /// Sets entry `i` of the pfn list.
    pub fn set_pfn(&self, i: usize, gfn: u64) {
        self.pfns.write_u64(PFN_LIST_HEADER + 8 * i, gfn);
    }

    /// Guest address of the ring header.
    pub fn addr(&self) -> u64 {
        self.pages.addr() as u64
    }

    /// Guest address of the pfn list.
    pub fn pfn_list_addr(&self) -> u64 {
        self.pfns.addr() as u64
    }

    /// V4VOP_register_ring(this ring, its pfn list).
    pub fn register(&self) -> Result<(), Errno> {
        // SAFETY: both pointers are this ring's arena pages (header + pfn list laid out as the
        // ABI says); Xen writes only the header's tx_ptr (and id.addr.domain).
        unsafe { raw_op(v4v::op::REGISTER_RING, self.addr(), self.pfn_list_addr(), 0, 0) }
            .map(|_| ())
    }

    /// V4VOP_unregister_ring(this ring).
    pub fn unregister(&self) -> Result<(), Errno> {
        // SAFETY: the header is this ring's arena page.
        unsafe { raw_op(v4v::op::UNREGISTER_RING, self.addr(), 0, 0, 0) }.map(|_| ())
    }

    /// id.addr.domain as Xen left it.
    pub fn id_domain(&self) -> u16 {
        let w = self.pages.u32_at(12).load(Ordering::Acquire);
        w as u16
    }

    /// [`RingMem::scatter`] through the pfn list.
    pub fn scatter(&mut self, order: &[u16]) -> bool {
        let pfns = self.pfns;
        self.mem.scatter(order, |i, gfn| pfns.write_u64(PFN_LIST_HEADER + 8 * i, gfn))
    }
}

/// `v4v_send_addr` for a send from our `src_port` to `dst_dom`:`dst_port`.
pub fn send_addr(dst_dom: DomId, dst_port: u32, src_port: u32) -> SendAddr {
    SendAddr {
        src: Addr { port: src_port, domain: 0, pad: 0 },
        dst: Addr { port: dst_port, domain: dst_dom, pad: 0 },
    }
}

/// V4VOP_send(addr, buf, len, protocol): the payload length on success.
pub fn send_to(addr: &SendAddr, buf: &[u8], protocol: u32) -> Result<u64, Errno> {
    // SAFETY: Xen only reads `addr` (16 bytes) and `buf.len()` bytes of `buf`, both alive.
    unsafe {
        raw_op(
            v4v::op::SEND,
            addr as *const SendAddr as u64,
            buf.as_ptr() as u64,
            buf.len() as u64,
            u64::from(protocol),
        )
    }
}

/// [`send_to`] with the address built from its parts.
pub fn send(
    dst_dom: DomId,
    dst_port: u32,
    src_port: u32,
    buf: &[u8],
    protocol: u32,
) -> Result<u64, Errno> {
    send_to(&send_addr(dst_dom, dst_port, src_port), buf, protocol)
}

/// V4VOP_sendv(addr, iovs, niov, protocol). Iovs may name any guest address: Xen only reads
/// through them.
pub fn sendv(addr: &SendAddr, iovs: &[Iov], protocol: u32) -> Result<u64, Errno> {
    sendv_n(addr, iovs, iovs.len() as u64, protocol)
}

/// [`sendv`] with an explicit `niov` (may exceed `iovs.len()` only for error cases where Xen
/// must refuse before reading: `niov` > [`v4v::MAXIOV`]).
pub fn sendv_n(addr: &SendAddr, iovs: &[Iov], niov: u64, protocol: u32) -> Result<u64, Errno> {
    assert!(niov <= iovs.len() as u64 || niov > v4v::MAXIOV);
    // SAFETY: Xen reads `addr`, at most `niov` iovs (within `iovs`, or none if niov is above
    // the maximum) and the bytes they name; it writes nothing of ours.
    unsafe {
        raw_op(
            v4v::op::SENDV,
            addr as *const SendAddr as u64,
            iovs.as_ptr() as u64,
            niov,
            u64::from(protocol),
        )
    }
}

/// An iov over `buf`.
pub fn iov(buf: &[u8]) -> Iov {
    Iov { base: buf.as_ptr() as u64, len: buf.len() as u64 }
}

/// A `v4v_ring_data` with room for `N` entries.
#[derive(Clone, Copy, Debug)]
#[repr(C)]
pub struct RingDataBuf<const N: usize> {
    pub hdr: RingDataHeader,
    pub ent: [RingDataEnt; N],
}

impl<const N: usize> RingDataBuf<N> {
    /// Magic set, `nent` = `n`, entries zero.
    pub fn new(n: u32) -> Self {
        RingDataBuf {
            hdr: RingDataHeader { magic: RING_DATA_MAGIC, nent: n, pad: 0, reserved: [0; 2] },
            ent: [RingDataEnt::default(); N],
        }
    }
}

/// V4VOP_notify(NULL): Xen re-checks the waiters on our rings.
pub fn notify_null() -> Result<(), Errno> {
    // SAFETY: no pointer.
    unsafe { raw_op(v4v::op::NOTIFY, 0, 0, 0, 0) }.map(|_| ())
}

/// V4VOP_notify(rd): Xen fills each entry's OUT fields. `rd.hdr.nent` must not exceed N
/// (else Xen must refuse before touching the entries: use for error cases only).
pub fn notify<const N: usize>(rd: &mut RingDataBuf<N>) -> Result<(), Errno> {
    assert!(rd.hdr.nent as usize <= N || rd.hdr.nent > v4v::MAX_NOTIFY_ENT);
    // SAFETY: Xen reads the header and at most nent entries (all within `rd`, exclusively
    // borrowed) and writes their OUT fields.
    unsafe { raw_op(v4v::op::NOTIFY, rd as *mut RingDataBuf<N> as u64, 0, 0, 0) }.map(|_| ())
}
