//! Argo from the guest side (hypercall 39, Xen 4.17 common/argo.c; needs CONFIG_ARGO and
//! `argo=1` on Xen's command line, `argo=1,mac-permissive=1` for rings open to any sender):
//! rings in our memory, register / unregister, sendv, receive with copy-out, notify,
//! VIRQ_ARGO. The counterpart of [`super::v4v`], same ring data format ([`crate::ring`]).
//!
//! Argo's ring header holds only `rx_ptr` (0) and `tx_ptr` (4); the ring's identity and size
//! go in `xen_argo_register_ring_t`, its pages in a plain array of gfns.

use super::hypercall::hypercall;
use super::ring_mem::{PAGE, Pages, RingMem};
use crate::abi::argo::{
    self, Addr, Iov, RING_HEADER, RegisterRing, RingDataEnt, RingDataHeader, SendAddr,
    UnregisterRing,
};
use crate::abi::{DomId, Errno};

/// `argo_op(cmd, a1, a2, a3, a4)` with raw argument words.
///
/// # Safety
///
/// As [`super::v4v::raw_op`]: every word Xen may take as a guest address for `cmd` points at
/// memory laid out for it and alive across the call, or at memory no Rust object uses.
pub unsafe fn raw_op(cmd: u64, a1: u64, a2: u64, a3: u64, a4: u64) -> Result<u64, Errno> {
    // SAFETY: the caller's contract.
    Errno::from_ret(unsafe { hypercall(argo::HYPERCALL, [cmd, a1, a2, a3, a4]) })
}

/// An Argo ring in arena memory ([`RingMem`]: header with rx_ptr at 0, tx_ptr at 4) and its
/// gfn array.
pub struct Ring {
    pub mem: RingMem,
    pub gfns: Pages,
    pub port: u32,
    pub partner: DomId,
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

impl Ring {
    /// A fresh ring of `len` bytes for `port` from `partner` ([`argo::DOMID_ANY`]: anyone).
    pub fn new(len: u32, port: u32, partner: DomId) -> Option<Ring> {
        let npage = argo::npages(len);
        let mem = RingMem::alloc(len, npage, RING_HEADER, 0)?;
        let gfns = Pages::alloc((8 * npage as usize).div_ceil(PAGE))?;
        for i in 0..npage as usize {
            gfns.write_u64(8 * i, mem.pages.gfn(i));
        }
        Some(Ring { mem, gfns, port, partner })
    }

    /// XEN_ARGO_OP_register_ring with `flags`.
    pub fn register_flags(&self, flags: u64) -> Result<(), Errno> {
        let reg =
            RegisterRing { aport: self.port, partner_id: self.partner, pad: 0, len: self.len };
        // SAFETY: Xen reads `reg` and npage gfns from our gfn page, maps the ring pages
        // (arena pages no Rust object uses) and writes their tx_ptr.
        unsafe {
            raw_op(
                argo::op::REGISTER_RING,
                &reg as *const RegisterRing as u64,
                self.gfns.addr() as u64,
                u64::from(self.npage),
                flags,
            )
        }
        .map(|_| ())
    }

    pub fn register(&self) -> Result<(), Errno> {
        self.register_flags(0)
    }

    /// XEN_ARGO_OP_unregister_ring.
    pub fn unregister(&self) -> Result<(), Errno> {
        let u = UnregisterRing { aport: self.port, partner_id: self.partner, pad: 0 };
        // SAFETY: Xen reads `u` only.
        unsafe { raw_op(argo::op::UNREGISTER_RING, &u as *const UnregisterRing as u64, 0, 0, 0) }
            .map(|_| ())
    }

    /// [`RingMem::scatter`] through the gfn array.
    pub fn scatter(&mut self, order: &[u16]) -> bool {
        let gfns = self.gfns;
        self.mem.scatter(order, |i, gfn| gfns.write_u64(8 * i, gfn))
    }
}

/// `xen_argo_send_addr_t` from our `src_port` to `dst_dom`:`dst_port` (src.domain_id =
/// DOMID_ANY: Xen fills in the caller).
pub fn send_addr(dst_dom: DomId, dst_port: u32, src_port: u32) -> SendAddr {
    SendAddr {
        src: Addr { aport: src_port, domain_id: argo::DOMID_ANY, pad: 0 },
        dst: Addr { aport: dst_port, domain_id: dst_dom, pad: 0 },
    }
}

/// An iov over `buf`.
pub fn iov(buf: &[u8]) -> Iov {
    Iov { hnd: buf.as_ptr() as u64, len: buf.len() as u32, pad: 0 }
}

/// XEN_ARGO_OP_sendv: the message length on success.
pub fn sendv(addr: &SendAddr, iovs: &[Iov], message_type: u32) -> Result<u64, Errno> {
    sendv_n(addr, iovs, iovs.len() as u64, message_type)
}

/// [`sendv`] with an explicit `niov` (may exceed `iovs.len()` only for error cases where Xen
/// must refuse before reading: `niov` > [`argo::MAXIOV`]).
pub fn sendv_n(addr: &SendAddr, iovs: &[Iov], niov: u64, message_type: u32) -> Result<u64, Errno> {
    assert!(niov <= iovs.len() as u64 || niov > argo::MAXIOV);
    // SAFETY: Xen reads `addr`, at most `niov` iovs (within `iovs`, or none if niov is above
    // the maximum) and the bytes they name; it writes nothing of ours.
    sendv_result(unsafe {
        raw_op(
            argo::op::SENDV,
            addr as *const SendAddr as u64,
            iovs.as_ptr() as u64,
            niov,
            u64::from(message_type),
        )
    })
}

/// Decodes sendv's result. 4.17's `sendv()` ends `return ( ret < 0 ) ? ret : len;` with `ret`
/// an int and `len` an unsigned int: the conditional's type is unsigned int, so on a 64-bit
/// Xen an error from the ring insertion arrives zero-extended (-EAGAIN as 0xfffffff5), not as
/// a negative long. Errors found before that point (EFAULT, EINVAL in do_argo_op) are real
/// negative longs. A message length never comes near 2^32 - 4095 (rings are at most 16 MiB).
pub fn sendv_result(raw: Result<u64, Errno>) -> Result<u64, Errno> {
    match raw {
        Ok(v) if (0xffff_f001..=0xffff_ffff).contains(&v) => Err(Errno(-(v as u32 as i32))),
        r => r,
    }
}

/// One-buffer send.
pub fn send(
    dst_dom: DomId,
    dst_port: u32,
    src_port: u32,
    buf: &[u8],
    message_type: u32,
) -> Result<u64, Errno> {
    sendv(&send_addr(dst_dom, dst_port, src_port), &[iov(buf)], message_type)
}

/// `xen_argo_ring_data_t` with room for `N` entries.
#[derive(Clone, Copy, Debug)]
#[repr(C)]
pub struct RingDataBuf<const N: usize> {
    pub hdr: RingDataHeader,
    pub ent: [RingDataEnt; N],
}

impl<const N: usize> RingDataBuf<N> {
    pub fn new() -> Self {
        RingDataBuf {
            hdr: RingDataHeader { nent: N as u32, pad: 0 },
            ent: [RingDataEnt::default(); N],
        }
    }
}

impl<const N: usize> Default for RingDataBuf<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// XEN_ARGO_OP_notify(NULL).
pub fn notify_null() -> Result<(), Errno> {
    // SAFETY: no pointer.
    unsafe { raw_op(argo::op::NOTIFY, 0, 0, 0, 0) }.map(|_| ())
}

/// XEN_ARGO_OP_notify(rd): fills each entry's flags and max_message_size.
pub fn notify<const N: usize>(rd: &mut RingDataBuf<N>) -> Result<(), Errno> {
    assert!(rd.hdr.nent as usize <= N);
    // SAFETY: Xen reads the header and nent entries within `rd` (exclusively borrowed) and
    // writes their OUT fields.
    unsafe { raw_op(argo::op::NOTIFY, rd as *mut RingDataBuf<N> as u64, 0, 0, 0) }.map(|_| ())
}
