//! Event channel operations (`HYPERVISOR_event_channel_op`), one typed wrapper per EVTCHNOP.
//!
//! Each wrapper fills the sub-op's structure, issues the call and returns the OUT field Xen
//! wrote, or the errno: nothing is unwrapped or retried, so tests see exactly what Xen
//! returned. [`raw`] issues a sub-op with an arbitrary (bad) argument address, for -EFAULT
//! and -ENOSYS cases.
//!
//! ```ignore
//! use xtf::abi::DOMID_SELF;
//! use xtf::guest::evtchn;
//!
//! let port = evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF)?;
//! let st = evtchn::status(DOMID_SELF, port)?;
//! evtchn::close(port)?;
//! ```

use super::hypercall::{self, event_channel_op};
use crate::abi::EvtchnOp;
use crate::abi::{
    self, DomId, Errno, EvtchnAllocUnbound, EvtchnBindInterdomain, EvtchnBindIpi, EvtchnBindPirq,
    EvtchnBindVcpu, EvtchnBindVirq, EvtchnClose, EvtchnExpandArray, EvtchnInitControl, EvtchnPort,
    EvtchnReset, EvtchnResetCont, EvtchnSend, EvtchnSetPriority, EvtchnStatus, EvtchnUnmask,
};

/// A local event channel port.
pub type Port = EvtchnPort;

/// EVTCHNOP_alloc_unbound: a fresh port in `dom` that `remote` may bind to.
pub fn alloc_unbound(dom: DomId, remote: DomId) -> Result<Port, Errno> {
    let mut a = EvtchnAllocUnbound { dom, remote_dom: remote, port: 0 };
    event_channel_op(&mut a).map(|_| a.port)
}

/// EVTCHNOP_bind_interdomain: a fresh local port connected to `remote_port` of `remote_dom`.
pub fn bind_interdomain(remote_dom: DomId, remote_port: Port) -> Result<Port, Errno> {
    let mut a = EvtchnBindInterdomain { remote_dom, remote_port, local_port: 0 };
    event_channel_op(&mut a).map(|_| a.local_port)
}

/// EVTCHNOP_bind_virq: a fresh port for `virq` on `vcpu`.
pub fn bind_virq(virq: u32, vcpu: u32) -> Result<Port, Errno> {
    let mut a = EvtchnBindVirq { virq, vcpu, port: 0 };
    event_channel_op(&mut a).map(|_| a.port)
}

/// EVTCHNOP_bind_pirq (dom0 with physical IRQs only; a domU gets an error).
pub fn bind_pirq(pirq: u32, flags: u32) -> Result<Port, Errno> {
    let mut a = EvtchnBindPirq { pirq, flags, port: 0 };
    event_channel_op(&mut a).map(|_| a.port)
}

/// EVTCHNOP_bind_ipi: a fresh port that notifies `vcpu` when sent to.
pub fn bind_ipi(vcpu: u32) -> Result<Port, Errno> {
    let mut a = EvtchnBindIpi { vcpu, port: 0 };
    event_channel_op(&mut a).map(|_| a.port)
}

/// EVTCHNOP_close.
pub fn close(port: Port) -> Result<(), Errno> {
    event_channel_op(&mut EvtchnClose { port }).map(|_| ())
}

/// EVTCHNOP_send.
pub fn send(port: Port) -> Result<(), Errno> {
    event_channel_op(&mut EvtchnSend { port }).map(|_| ())
}

/// EVTCHNOP_status, with the union words zeroed on the way in.
pub fn status(dom: DomId, port: Port) -> Result<EvtchnStatus, Errno> {
    status_with(EvtchnStatus { dom, port, ..Default::default() })
}

/// EVTCHNOP_status with the caller's whole structure going in (e.g. poisoned OUT fields, to
/// see exactly which bytes Xen writes).
pub fn status_with(mut st: EvtchnStatus) -> Result<EvtchnStatus, Errno> {
    event_channel_op(&mut st).map(|_| st)
}

/// EVTCHNOP_bind_vcpu.
pub fn bind_vcpu(port: Port, vcpu: u32) -> Result<(), Errno> {
    event_channel_op(&mut EvtchnBindVcpu { port, vcpu }).map(|_| ())
}

/// EVTCHNOP_unmask.
pub fn unmask(port: Port) -> Result<(), Errno> {
    event_channel_op(&mut EvtchnUnmask { port }).map(|_| ())
}

/// EVTCHNOP_reset.
pub fn reset(dom: DomId) -> Result<(), Errno> {
    event_channel_op(&mut EvtchnReset { dom }).map(|_| ())
}

/// EVTCHNOP_reset_cont.
pub fn reset_cont(dom: DomId) -> Result<(), Errno> {
    event_channel_op(&mut EvtchnResetCont(EvtchnReset { dom })).map(|_| ())
}

/// EVTCHNOP_init_control (FIFO): returns the link_bits Xen reports.
pub fn init_control(control_gfn: u64, offset: u32, vcpu: u32) -> Result<u8, Errno> {
    let mut a = EvtchnInitControl { control_gfn, offset, vcpu, ..Default::default() };
    event_channel_op(&mut a).map(|_| a.link_bits)
}

/// EVTCHNOP_expand_array (FIFO).
pub fn expand_array(array_gfn: u64) -> Result<(), Errno> {
    event_channel_op(&mut EvtchnExpandArray { array_gfn }).map(|_| ())
}

/// EVTCHNOP_set_priority (FIFO).
pub fn set_priority(port: Port, priority: u32) -> Result<(), Errno> {
    event_channel_op(&mut EvtchnSetPriority { port, priority }).map(|_| ())
}

/// Sub-ops with argument addresses that are not the guest's own memory.
pub mod raw {
    use super::*;

    /// A guest address that no Rust object lives at, for handing to Xen as a bad argument
    /// pointer. Xen may try to read or write there; by construction nothing the guest owns
    /// is touched.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct BadAddress(u64);

    impl BadAddress {
        /// Not mapped in the guest's own page tables (the identity map stops at 2 GiB):
        /// Xen's stage-1 walk fails.
        pub const UNMAPPED: BadAddress = BadAddress(super::super::mmu::UNMAPPED_VA);
        /// Null.
        pub const NULL: BadAddress = BadAddress(0);
        /// Mapped by the guest (its Normal RAM block) but backed by nothing: above the RAM of
        /// any test domU (less than 1 GiB) and below the page [`shared_info`] maps. Xen's
        /// stage-2 lookup finds nothing.
        ///
        /// [`shared_info`]: super::super::shared_info
        pub const UNBACKED: BadAddress = BadAddress(0x7ff0_0000);
        /// Mapped by the guest as Device memory: the vGIC distributor (GUEST_GICD_BASE),
        /// emulated by Xen, not RAM to its copy routines.
        pub const MMIO: BadAddress = BadAddress(0x0300_1000);

        /// An address in guest RAM (e.g. a structure running off the end of RAM).
        ///
        /// # Safety
        ///
        /// No Rust object may live in `addr..addr + 64`: Xen may write there.
        pub const unsafe fn unowned(addr: u64) -> BadAddress {
            BadAddress(addr)
        }

        pub const fn addr(self) -> u64 {
            self.0
        }
    }

    /// `event_channel_op(x0, arg)` with a full 64-bit x0 whose low 32 bits are `T::CMD`
    /// (Xen's handler takes `int cmd`: what it makes of the upper half is the question).
    pub fn op_x0<T: EvtchnOp>(x0: u64, arg: &mut T) -> Result<u64, Errno> {
        assert_eq!(x0 as u32, T::CMD, "the low half of x0 must be the sub-op of T");
        // SAFETY: if Xen decodes the sub-op from the low 32 bits it is T::CMD, whose
        // structure `*arg` is (T: EvtchnOp), exclusively borrowed for the call; if it uses
        // the whole register it knows no such sub-op and touches nothing.
        let ret = unsafe {
            hypercall::hypercall(abi::nr::EVENT_CHANNEL_OP, [x0, arg as *mut T as u64, 0, 0, 0])
        };
        Errno::from_ret(ret)
    }

    /// `event_channel_op(cmd, addr)` with `addr` a bad address; returns Xen's result.
    pub fn op_at(cmd: u32, addr: BadAddress) -> Result<u64, Errno> {
        // SAFETY: `addr` is one of BadAddress's addresses, none of which holds memory that
        // Rust uses (unmapped, unbacked or MMIO), so whatever Xen writes there cannot change
        // the guest's state behind Rust's back; the call takes no other pointer.
        let ret = unsafe {
            hypercall::hypercall(abi::nr::EVENT_CHANNEL_OP, [u64::from(cmd), addr.0, 0, 0, 0])
        };
        Errno::from_ret(ret)
    }

    /// `event_channel_op(cmd, buf)` for any `cmd` (e.g. one Xen does not know), with a
    /// zeroed 64-byte buffer as argument: larger than every EVTCHNOP structure, so whatever
    /// Xen makes of `cmd` it stays inside the buffer. Returns Xen's result and the buffer.
    pub fn op_any(cmd: u32) -> (Result<u64, Errno>, [u8; 64]) {
        #[repr(C, align(8))]
        struct Buf([u8; 64]);
        let mut buf = Buf([0; 64]);
        // SAFETY: Xen reads and writes at most the size of one EVTCHNOP structure (24 bytes
        // at most) at the pointer, within `buf`, which is exclusively ours across the call.
        let ret = unsafe {
            hypercall::hypercall(
                abi::nr::EVENT_CHANNEL_OP,
                [u64::from(cmd), buf.0.as_mut_ptr() as u64, 0, 0, 0],
            )
        };
        (Errno::from_ret(ret), buf.0)
    }

    /// A 64-byte, 8-aligned argument buffer for [`op_buf`].
    #[repr(C, align(8))]
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct ArgBuf(pub [u8; 64]);

    /// `event_channel_op(x0, &buf[offset])`: any x0 (sub-op in the low half, anything in the
    /// upper), the argument structure at byte `offset` (≤ 32, so misaligned ones too) of a
    /// buffer the caller filled. Returns x0 as Xen left it; Xen's write-back lands in `buf`.
    /// For fuzzers, which build every structure byte by byte.
    pub fn op_buf(x0: u64, buf: &mut ArgBuf, offset: usize) -> i64 {
        assert!(offset <= 32, "argument offset {offset} leaves less than 32 bytes");
        // SAFETY: Xen reads and writes at most one EVTCHNOP structure (24 bytes at most) at
        // the pointer, i.e. within buf.0[offset..offset + 24] ⊂ buf (offset ≤ 32 < 40), which
        // is exclusively borrowed across the call; a sub-op Xen does not know touches nothing.
        unsafe {
            hypercall::hypercall(
                abi::nr::EVENT_CHANNEL_OP,
                [x0, buf.0.as_mut_ptr().add(offset) as u64, 0, 0, 0],
            )
        }
    }
}

/// Every EVTCHNOP a guest may issue, for loops over "each op with a bad pointer".
pub const ALL_OPS: [(u32, &str); 15] = [
    (abi::evtchnop::BIND_INTERDOMAIN, "bind_interdomain"),
    (abi::evtchnop::BIND_VIRQ, "bind_virq"),
    (abi::evtchnop::BIND_PIRQ, "bind_pirq"),
    (abi::evtchnop::CLOSE, "close"),
    (abi::evtchnop::SEND, "send"),
    (abi::evtchnop::STATUS, "status"),
    (abi::evtchnop::ALLOC_UNBOUND, "alloc_unbound"),
    (abi::evtchnop::BIND_IPI, "bind_ipi"),
    (abi::evtchnop::BIND_VCPU, "bind_vcpu"),
    (abi::evtchnop::UNMASK, "unmask"),
    (abi::evtchnop::RESET, "reset"),
    (abi::evtchnop::INIT_CONTROL, "init_control"),
    (abi::evtchnop::EXPAND_ARRAY, "expand_array"),
    (abi::evtchnop::SET_PRIORITY, "set_priority"),
    (abi::evtchnop::RESET_CONT, "reset_cont"),
];

/// Our own domid: an unbound port for DOMID_SELF records the caller's real domid
/// (evtchn_alloc_unbound), and EVTCHNOP_status reports it. Leaves no port behind.
pub fn own_domid() -> Result<DomId, Errno> {
    let port = alloc_unbound(abi::DOMID_SELF, abi::DOMID_SELF)?;
    let st = status(abi::DOMID_SELF, port);
    let closed = close(port);
    let st = st?;
    closed?;
    if st.status != abi::evtchnstat::UNBOUND {
        return Err(Errno::EINVAL);
    }
    Ok(st.remote_dom())
}
