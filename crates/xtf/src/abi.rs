//! Xen's guest ABI as the guest sees it: hypercall numbers, sub-ops, argument structures and
//! errno values (xen/include/public/*.h of Xen 4.17, arm64).
//!
//! Plain data, usable on the host; the calls themselves are in `guest::hypercall`.

use core::fmt;

/// Hypercall numbers (public/xen.h).
pub mod nr {
    pub const XEN_VERSION: u64 = 17;
    pub const CONSOLE_IO: u64 = 18;
    pub const SCHED_OP: u64 = 29;
    pub const EVENT_CHANNEL_OP: u64 = 32;
    pub const ARGO_OP: u64 = 39;
    pub const HYPFS_OP: u64 = 42;
    /// Free in 4.17; this project's V4V.
    pub const V4V_OP: u64 = 43;
}

/// console_io sub-ops.
pub const CONSOLEIO_WRITE: u64 = 0;
pub const CONSOLEIO_READ: u64 = 1;

/// xen_version sub-ops.
pub const XENVER_VERSION: u64 = 0;
pub const XENVER_EXTRAVERSION: u64 = 1;

/// sched_op sub-ops and shutdown reasons (public/sched.h).
pub const SCHEDOP_YIELD: u64 = 0;
pub const SCHEDOP_BLOCK: u64 = 1;
pub const SCHEDOP_SHUTDOWN: u64 = 2;
pub const SHUTDOWN_POWEROFF: u32 = 0;
pub const SHUTDOWN_REBOOT: u32 = 1;
pub const SHUTDOWN_SUSPEND: u32 = 2;
pub const SHUTDOWN_CRASH: u32 = 3;

/// `struct sched_shutdown`.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct SchedShutdown {
    pub reason: u32,
}

/// `xen_extraversion_t`: a NUL-padded string such as ".5".
pub type XenExtraversion = [u8; 16];

pub type DomId = u16;
pub type EvtchnPort = u32;
pub const DOMID_SELF: DomId = 0x7ff0;

/// EVTCHNOP_* sub-ops (public/event_channel.h).
pub mod evtchnop {
    pub const BIND_INTERDOMAIN: u32 = 0;
    pub const BIND_VIRQ: u32 = 1;
    pub const BIND_PIRQ: u32 = 2;
    pub const CLOSE: u32 = 3;
    pub const SEND: u32 = 4;
    pub const STATUS: u32 = 5;
    pub const ALLOC_UNBOUND: u32 = 6;
    pub const BIND_IPI: u32 = 7;
    pub const BIND_VCPU: u32 = 8;
    pub const UNMASK: u32 = 9;
    pub const RESET: u32 = 10;
    pub const INIT_CONTROL: u32 = 11;
    pub const EXPAND_ARRAY: u32 = 12;
    pub const SET_PRIORITY: u32 = 13;
}

/// `EVTCHNSTAT_*`: what `EVTCHNOP_status` says a port is.
pub mod evtchnstat {
    pub const CLOSED: u32 = 0;
    pub const UNBOUND: u32 = 1;
    pub const INTERDOMAIN: u32 = 2;
    pub const PIRQ: u32 = 3;
    pub const VIRQ: u32 = 4;
    pub const IPI: u32 = 5;
}

/// An `EVTCHNOP_*` argument structure.
///
/// # Safety
///
/// Implementors must be `#[repr(C)]` with exactly the layout Xen's public header gives the
/// structure for sub-op [`EvtchnOp::CMD`]: Xen reads and writes `size_of::<Self>()` bytes
/// through the pointer it is handed.
pub unsafe trait EvtchnOp {
    const CMD: u32;
}

/// `struct evtchn_alloc_unbound`.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct EvtchnAllocUnbound {
    pub dom: DomId,
    pub remote_dom: DomId,
    /// OUT.
    pub port: EvtchnPort,
}
// SAFETY: repr(C) {u16, u16, u32}: offsets 0, 2, 4, size 8, as in public/event_channel.h.
unsafe impl EvtchnOp for EvtchnAllocUnbound {
    const CMD: u32 = evtchnop::ALLOC_UNBOUND;
}

/// `struct evtchn_close`.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct EvtchnClose {
    pub port: EvtchnPort,
}
// SAFETY: repr(C) {u32}: size 4, as in public/event_channel.h.
unsafe impl EvtchnOp for EvtchnClose {
    const CMD: u32 = evtchnop::CLOSE;
}

/// `struct evtchn_send`.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct EvtchnSend {
    pub port: EvtchnPort,
}
// SAFETY: repr(C) {u32}: size 4, as in public/event_channel.h.
unsafe impl EvtchnOp for EvtchnSend {
    const CMD: u32 = evtchnop::SEND;
}

/// `struct evtchn_status`. `u` is the union; which words mean what depends on `status`:
/// unbound: `u[0] & 0xffff` = remote domid; interdomain: `u[0] & 0xffff` = remote domid,
/// `u[1]` = remote port; pirq / virq: `u[0]`.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct EvtchnStatus {
    pub dom: DomId,
    pub port: EvtchnPort,
    /// OUT: an `evtchnstat` value.
    pub status: u32,
    /// OUT.
    pub vcpu: u32,
    /// OUT: the union.
    pub u: [u32; 2],
}
// SAFETY: repr(C) {u16, (pad), u32, u32, u32, union of 4-aligned members of at most 8 bytes}:
// offsets 0, 4, 8, 12, 16, size 24, as in public/event_channel.h.
unsafe impl EvtchnOp for EvtchnStatus {
    const CMD: u32 = evtchnop::STATUS;
}

const _: () = {
    assert!(size_of::<EvtchnAllocUnbound>() == 8);
    assert!(size_of::<EvtchnStatus>() == 24);
    assert!(core::mem::offset_of!(EvtchnStatus, port) == 4);
    assert!(core::mem::offset_of!(EvtchnStatus, u) == 16);
    assert!(size_of::<SchedShutdown>() == 4);
};

/// A Xen errno (public/errno.h). Hypercalls return `-errno`.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
#[repr(transparent)]
pub struct Errno(pub i32);

impl Errno {
    pub const EPERM: Errno = Errno(1);
    pub const ENOENT: Errno = Errno(2);
    pub const ESRCH: Errno = Errno(3);
    pub const EINTR: Errno = Errno(4);
    pub const EIO: Errno = Errno(5);
    pub const ENXIO: Errno = Errno(6);
    pub const E2BIG: Errno = Errno(7);
    pub const EAGAIN: Errno = Errno(11);
    pub const ENOMEM: Errno = Errno(12);
    pub const EACCES: Errno = Errno(13);
    pub const EFAULT: Errno = Errno(14);
    pub const EBUSY: Errno = Errno(16);
    pub const EEXIST: Errno = Errno(17);
    pub const EXDEV: Errno = Errno(18);
    pub const ENODEV: Errno = Errno(19);
    pub const EINVAL: Errno = Errno(22);
    pub const ENOSPC: Errno = Errno(28);
    pub const ERANGE: Errno = Errno(34);
    pub const ENOSYS: Errno = Errno(38);
    pub const ENOTEMPTY: Errno = Errno(39);
    pub const EMSGSIZE: Errno = Errno(90);
    pub const EOPNOTSUPP: Errno = Errno(95);
    pub const ENOBUFS: Errno = Errno(105);
    pub const EISCONN: Errno = Errno(106);
    pub const ENOTCONN: Errno = Errno(107);
    pub const ETIMEDOUT: Errno = Errno(110);

    /// Splits a hypercall return value: `-4095..=-1` are errors, anything else is a result.
    pub const fn from_ret(ret: i64) -> Result<u64, Errno> {
        if ret < 0 && ret >= -4095 { Err(Errno(-ret as i32)) } else { Ok(ret as u64) }
    }

    /// The symbolic name, if it is one of the above.
    pub const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            1 => "EPERM",
            2 => "ENOENT",
            3 => "ESRCH",
            4 => "EINTR",
            5 => "EIO",
            6 => "ENXIO",
            7 => "E2BIG",
            11 => "EAGAIN",
            12 => "ENOMEM",
            13 => "EACCES",
            14 => "EFAULT",
            16 => "EBUSY",
            17 => "EEXIST",
            18 => "EXDEV",
            19 => "ENODEV",
            22 => "EINVAL",
            28 => "ENOSPC",
            34 => "ERANGE",
            38 => "ENOSYS",
            39 => "ENOTEMPTY",
            90 => "EMSGSIZE",
            95 => "EOPNOTSUPP",
            105 => "ENOBUFS",
            106 => "EISCONN",
            107 => "ENOTCONN",
            110 => "ETIMEDOUT",
            _ => return None,
        })
    }
}

/// `-EINVAL (-22)`, or `-errno 1234` for one without a name.
impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "-{n} (-{})", self.0),
            None => write!(f, "-errno {}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_ret_splits_errors() {
        assert_eq!(Errno::from_ret(0), Ok(0));
        assert_eq!(Errno::from_ret(0x4_0011), Ok(0x4_0011));
        assert_eq!(Errno::from_ret(-22), Err(Errno::EINVAL));
        assert_eq!(Errno::from_ret(-1), Err(Errno::EPERM));
        assert_eq!(Errno::from_ret(-4095), Err(Errno(4095)));
        // Not an errno: a large unsigned value read back as negative.
        assert_eq!(Errno::from_ret(-4096), Ok((-4096i64) as u64));
    }

    #[test]
    fn display() {
        assert_eq!(Errno::ENOSYS.to_string(), "-ENOSYS (-38)");
        assert_eq!(Errno(1234).to_string(), "-errno 1234");
    }
}
