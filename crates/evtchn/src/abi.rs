//! The guest ABI of `event_channel_op` (xen/include/public/event_channel.h, Xen 4.17), as Rust
//! types with their C sizes asserted, and the decoder from `cmd` to an operation.

use static_assertions::const_assert_eq;
use xen_rust_glue::guest::GuestPod;

pub type Port = u32;
pub type DomId = u16;

pub const DOMID_SELF: DomId = 0x7ff0;

/// EVTCHNOP_* numbers.
pub mod op {
    pub const BIND_INTERDOMAIN: i32 = 0;
    pub const BIND_VIRQ: i32 = 1;
    pub const BIND_PIRQ: i32 = 2;
    pub const CLOSE: i32 = 3;
    pub const SEND: i32 = 4;
    pub const STATUS: i32 = 5;
    pub const ALLOC_UNBOUND: i32 = 6;
    pub const BIND_IPI: i32 = 7;
    pub const BIND_VCPU: i32 = 8;
    pub const UNMASK: i32 = 9;
    pub const RESET: i32 = 10;
    pub const INIT_CONTROL: i32 = 11;
    pub const EXPAND_ARRAY: i32 = 12;
    pub const SET_PRIORITY: i32 = 13;
    pub const RESET_CONT: i32 = 14;
}

/// A decoded `cmd`: one variant per operation (Hubris-style: match on this, not on numbers).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Cmd {
    BindInterdomain,
    BindVirq,
    BindPirq,
    Close,
    Send,
    Status,
    AllocUnbound,
    BindIpi,
    BindVcpu,
    Unmask,
    Reset { resuming: bool },
    InitControl,
    ExpandArray,
    SetPriority,
}

impl Cmd {
    /// `None` for an unknown command: the hypercall returns -ENOSYS, as C's `default:`.
    pub fn decode(cmd: i32) -> Option<Cmd> {
        Some(match cmd {
            op::BIND_INTERDOMAIN => Cmd::BindInterdomain,
            op::BIND_VIRQ => Cmd::BindVirq,
            op::BIND_PIRQ => Cmd::BindPirq,
            op::CLOSE => Cmd::Close,
            op::SEND => Cmd::Send,
            op::STATUS => Cmd::Status,
            op::ALLOC_UNBOUND => Cmd::AllocUnbound,
            op::BIND_IPI => Cmd::BindIpi,
            op::BIND_VCPU => Cmd::BindVcpu,
            op::UNMASK => Cmd::Unmask,
            op::RESET => Cmd::Reset { resuming: false },
            op::RESET_CONT => Cmd::Reset { resuming: true },
            op::INIT_CONTROL => Cmd::InitControl,
            op::EXPAND_ARRAY => Cmd::ExpandArray,
            op::SET_PRIORITY => Cmd::SetPriority,
            _ => return None,
        })
    }
}

macro_rules! abi_struct {
    ($(#[$m:meta])* $name:ident, $size:expr, { $($f:ident : $t:ty),* $(,)? }) => {
        $(#[$m])*
        #[repr(C)]
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
        pub struct $name { $(pub $f: $t),* }
        const_assert_eq!(core::mem::size_of::<$name>(), $size);
        // SAFETY: repr(C), integer fields only, size asserted equal to the packed sum of the
        // fields plus the explicit padding fields, so every byte pattern is valid and no
        // implicit padding can leak hypervisor bytes.
        unsafe impl GuestPod for $name {}
    };
}

abi_struct!(
    /// `struct evtchn_alloc_unbound`: IN dom, remote_dom; OUT port.
    AllocUnbound, 8, { dom: DomId, remote_dom: DomId, port: Port });
abi_struct!(
    /// `struct evtchn_bind_interdomain`: IN remote_dom, remote_port; OUT local_port.
    BindInterdomain, 12, { remote_dom: DomId, _pad: u16, remote_port: Port, local_port: Port });
abi_struct!(
    /// `struct evtchn_bind_virq`: IN virq, vcpu; OUT port.
    BindVirq, 12, { virq: u32, vcpu: u32, port: Port });
abi_struct!(
    /// `struct evtchn_bind_pirq`: IN pirq, flags; OUT port.
    BindPirq, 12, { pirq: u32, flags: u32, port: Port });
abi_struct!(
    /// `struct evtchn_bind_ipi`: IN vcpu; OUT port.
    BindIpi, 8, { vcpu: u32, port: Port });
abi_struct!(
    /// `struct evtchn_close` / `evtchn_send` / `evtchn_unmask`: IN port.
    PortArg, 4, { port: Port });
abi_struct!(
    /// `struct evtchn_status`: IN dom, port; OUT status, vcpu, u (8 bytes: dom+pad+port, or
    /// pirq, or virq — kept as two words, [`Status::set_u`] fills them).
    Status, 24, { dom: DomId, _pad: u16, port: Port, status: u32, vcpu: u32, u0: u32, u1: u32 });
abi_struct!(
    /// `struct evtchn_bind_vcpu`: IN port, vcpu.
    BindVcpu, 8, { port: Port, vcpu: u32 });
abi_struct!(
    /// `struct evtchn_reset`: IN dom.
    Reset, 2, { dom: DomId });
abi_struct!(
    /// `struct evtchn_init_control` (FIFO): IN control_gfn, offset, vcpu; OUT link_bits.
    InitControl, 24, { control_gfn: u64, offset: u32, vcpu: u32, link_bits: u8, _pad: [u8; 7] });
abi_struct!(
    /// `struct evtchn_expand_array` (FIFO): IN array_gfn.
    ExpandArray, 8, { array_gfn: u64 });
abi_struct!(
    /// `struct evtchn_set_priority` (FIFO): IN port, priority.
    SetPriority, 8, { port: Port, priority: u32 });

/// EVTCHNSTAT_* values of [`Status::status`].
pub mod stat {
    pub const CLOSED: u32 = 0;
    pub const UNBOUND: u32 = 1;
    pub const INTERDOMAIN: u32 = 2;
    pub const PIRQ: u32 = 3;
    pub const VIRQ: u32 = 4;
    pub const IPI: u32 = 5;
}

/// The 2-level ABI's channel count on a 64-bit guest: 64 words of 64 bits.
pub const EVTCHN_2L_NR_CHANNELS: u32 = 64 * 64;
/// The FIFO ABI's channel count (`1 << EVTCHN_FIFO_LINK_BITS`).
pub const EVTCHN_FIFO_NR_CHANNELS: u32 = 1 << 17;
pub const EVTCHN_FIFO_LINK_BITS: u8 = 17;

bitflags::bitflags! {
    /// A FIFO event word's flag bits (the low 17 bits are the LINK field).
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    pub struct FifoWord: u32 {
        const PENDING = 1 << 31;
        const MASKED = 1 << 30;
        const LINKED = 1 << 29;
        const BUSY = 1 << 28;
        const LINK = (1 << 17) - 1;
    }
}

/// VIRQ numbers that are per-vCPU (public/xen.h); every other VIRQ is global on Arm
/// (`arch_virq_is_global()` returns true for VIRQ_ARCH_*).
pub const VIRQ_TIMER: u32 = 0;
pub const VIRQ_DEBUG: u32 = 1;
pub const VIRQ_XENOPROF: u32 = 7;
pub const VIRQ_XENPMU: u32 = 13;
pub const NR_VIRQS: u32 = 24;

/// C's `virq_is_global()` on Arm.
pub fn virq_is_global(virq: u32) -> bool {
    !matches!(virq, VIRQ_TIMER | VIRQ_DEBUG | VIRQ_XENOPROF | VIRQ_XENPMU)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_is_total_and_matches_numbers() {
        assert_eq!(Cmd::decode(6), Some(Cmd::AllocUnbound));
        assert_eq!(Cmd::decode(14), Some(Cmd::Reset { resuming: true }));
        assert_eq!(Cmd::decode(15), None);
        assert_eq!(Cmd::decode(-1), None);
        for c in -5..40 {
            let _ = Cmd::decode(c);
        }
    }

    #[test]
    fn status_union_offsets() {
        // u.interdomain.dom at 16, u.interdomain.port at 20 (domid_t + 2 bytes padding).
        assert_eq!(core::mem::offset_of!(Status, u0), 16);
        assert_eq!(core::mem::offset_of!(Status, u1), 20);
        assert_eq!(core::mem::offset_of!(InitControl, link_bits), 16);
    }
}
