//! Argo from the guest side (hypercall 39, Xen 4.17 common/argo.c; needs CONFIG_ARGO and
//! `argo=1` on Xen's command line, `argo=1,mac-permissive=1` for rings open to any sender):
//! rings in our memory, register / unregister, sendv, receive with copy-out, notify,
//! VIRQ_ARGO. The counterpart of [`super::v4v`], same ring data format ([`crate::ring`]).
//!
//! Argo's ring header holds only `rx_ptr` (0) and `tx_ptr` (4); the ring's identity and size
//! go in `xen_argo_register_ring_t`, its pages in a plain array of gfns.

use core::sync::atomic::Ordering;

use super::hypercall::hypercall;
use super::ring_mem::{self, MAX_SCATTER, PAGE, Pages, RingData};
use crate::abi::argo::{
    self, Addr, Iov, RING_HEADER, RegisterRing, RingDataEnt, RingDataHeader, SendAddr,
    UnregisterRing,
};
use crate::abi::{DomId, Errno};
use crate::ring::{self, Received, RingError};

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

/// An Argo ring in arena memory and its gfn array.
pub struct Ring {
    pub pages: Pages,
    pub guarded: Pages,
    pub gfns: Pages,
    pub len: u32,
    pub npage: u32,
    /// The pfn list's page order over `pages` (None: in order).
    pub order: Option<[u16; MAX_SCATTER]>,
    pub port: u32,
    pub partner: DomId,
}

impl Ring {
    /// A fresh ring of `len` bytes for `port` from `partner` ([`argo::DOMID_ANY`]: anyone).
    pub fn new(len: u32, port: u32, partner: DomId) -> Option<Ring> {
        let npage = argo::npages(len);
        let (pages, guarded) = Pages::alloc_guarded(npage as usize)?;
        let gfns = Pages::alloc((8 * npage as usize).div_ceil(PAGE))?;
        for i in 0..npage as usize {
            gfns.write_u64(8 * i, pages.gfn(i));
        }
        Some(Ring { pages, guarded, gfns, len, npage, port, partner, order: None })
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

    pub fn rx_ptr(&self) -> u32 {
        self.pages.u32_at(0).load(Ordering::Acquire)
    }

    pub fn tx_ptr(&self) -> u32 {
        self.pages.u32_at(4).load(Ordering::Acquire)
    }

    pub fn set_rx_ptr(&self, v: u32) {
        self.pages.u32_at(0).store(v, Ordering::Release);
    }

    pub fn set_tx_ptr(&self, v: u32) {
        self.pages.u32_at(4).store(v, Ordering::Release);
    }

    fn data(&self) -> RingData {
        RingData { pages: self.pages, data: RING_HEADER, len: self.len, order: self.order }
    }

    /// Copies the next message's payload into `out` and consumes it; `None` if empty.
    pub fn recv(&self, out: &mut [u8]) -> Result<Option<Received>, RingError> {
        let tx = self.tx_ptr();
        let rx = self.rx_ptr();
        let got = ring::copy_out(&self.data(), rx, tx, out)?;
        if let Some(m) = got {
            self.set_rx_ptr(m.next_rx);
        }
        Ok(got)
    }

    pub fn is_empty(&self) -> bool {
        self.rx_ptr() == self.tx_ptr()
    }

    /// Guard pages untouched? `Err(offset)` of the first changed byte in the guarded block.
    pub fn guards_intact(&self) -> Result<(), usize> {
        let g = super::ring_mem::GUARD_BYTE;
        if let Some(i) = self.guarded.find_not(0, PAGE, g) {
            return Err(i);
        }
        let end = PAGE + self.pages.bytes();
        match self.guarded.find_not(end, PAGE, g) {
            Some(i) => Err(i),
            None => Ok(()),
        }
    }

    /// Lists the ring's pages to Xen in `order` (a permutation keeping page 0 first, at most
    /// 8 pages): Xen must follow the list, so message bytes land scattered over our pages;
    /// [`Ring::recv`] reads them back through the same list. Before registering. `false` if
    /// `order` is not such a permutation.
    pub fn scatter(&mut self, order: &[u16]) -> bool {
        let Some(o) = ring_mem::check_order(order, self.npage as usize) else {
            return false;
        };
        for (i, &p) in order.iter().enumerate() {
            self.gfns.write_u64(8 * i, self.pages.gfn(p as usize));
        }
        self.order = Some(o);
        true
    }

    /// Whether the bytes of the ring's pages past header + len (to the end of its last page)
    /// are still zero: Xen must not write there either. `Err(offset)` from the header.
    pub fn tail_intact(&self) -> Result<(), usize> {
        self.data().tail_intact()
    }

    pub fn digest(&self) -> u64 {
        self.pages.digest(0, RING_HEADER + self.len as usize)
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
    // SAFETY: Xen reads `addr`, iovs.len() iovs and the bytes they name; writes nothing of ours.
    sendv_result(unsafe {
        raw_op(
            argo::op::SENDV,
            addr as *const SendAddr as u64,
            iovs.as_ptr() as u64,
            iovs.len() as u64,
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
