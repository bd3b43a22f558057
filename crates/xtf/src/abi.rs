//! Xen's guest ABI as the guest sees it: hypercall numbers, sub-ops, argument structures and
//! errno values (xen/include/public/*.h of Xen 4.17, arm64).
//!
//! Plain data, usable on the host; the calls themselves are in `guest::hypercall`.

use core::fmt;

pub mod argo;
pub mod control;
pub mod v4v;

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
/// The I/O pseudo-domain (owner of MMIO and, in 4.17, of static shared memory).
pub const DOMID_IO: DomId = 0x7ff1;
/// Xen itself as a pseudo-domain.
pub const DOMID_XEN: DomId = 0x7ff2;
pub const DOMID_COW: DomId = 0x7ff3;
pub const DOMID_INVALID: DomId = 0x7ff4;
pub const DOMID_IDLE: DomId = 0x7fff;
/// Domids from here up are reserved (DOMID_FIRST_RESERVED).
pub const DOMID_FIRST_RESERVED: DomId = 0x7ff0;

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
    /// EVTCHNOP_reset resumed after preemption (Xen's continuation uses it; so may a guest).
    pub const RESET_CONT: u32 = 14;
    /// One past the last sub-op Xen 4.17 knows: anything from here on is -ENOSYS.
    pub const FIRST_UNKNOWN: u32 = 15;
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

impl EvtchnStatus {
    /// Unbound: the domain allowed to bind (`u.unbound.dom`, the low 16 bits of `u[0]`).
    /// Interdomain: the remote domain (`u.interdomain.dom`).
    pub const fn remote_dom(&self) -> DomId {
        self.u[0] as DomId
    }

    /// Interdomain: the remote port (`u.interdomain.port`, `u[1]`).
    pub const fn remote_port(&self) -> EvtchnPort {
        self.u[1]
    }

    /// VIRQ: the VIRQ number (`u.virq`); PIRQ: the PIRQ (`u.pirq`).
    pub const fn virq(&self) -> u32 {
        self.u[0]
    }
}

/// `struct evtchn_bind_interdomain`.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct EvtchnBindInterdomain {
    pub remote_dom: DomId,
    pub remote_port: EvtchnPort,
    /// OUT.
    pub local_port: EvtchnPort,
}
// SAFETY: repr(C) {u16, (pad), u32, u32}: offsets 0, 4, 8, size 12, as in the header.
unsafe impl EvtchnOp for EvtchnBindInterdomain {
    const CMD: u32 = evtchnop::BIND_INTERDOMAIN;
}

/// `struct evtchn_bind_virq`.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct EvtchnBindVirq {
    pub virq: u32,
    pub vcpu: u32,
    /// OUT.
    pub port: EvtchnPort,
}
// SAFETY: repr(C) {u32, u32, u32}: size 12, as in the header.
unsafe impl EvtchnOp for EvtchnBindVirq {
    const CMD: u32 = evtchnop::BIND_VIRQ;
}

/// `struct evtchn_bind_pirq`.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct EvtchnBindPirq {
    pub pirq: u32,
    /// `BIND_PIRQ__WILL_SHARE` or 0.
    pub flags: u32,
    /// OUT.
    pub port: EvtchnPort,
}
// SAFETY: repr(C) {u32, u32, u32}: size 12, as in the header.
unsafe impl EvtchnOp for EvtchnBindPirq {
    const CMD: u32 = evtchnop::BIND_PIRQ;
}
pub const BIND_PIRQ_WILL_SHARE: u32 = 1;

/// `struct evtchn_bind_ipi`.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct EvtchnBindIpi {
    pub vcpu: u32,
    /// OUT.
    pub port: EvtchnPort,
}
// SAFETY: repr(C) {u32, u32}: size 8, as in the header.
unsafe impl EvtchnOp for EvtchnBindIpi {
    const CMD: u32 = evtchnop::BIND_IPI;
}

/// `struct evtchn_bind_vcpu`.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct EvtchnBindVcpu {
    pub port: EvtchnPort,
    pub vcpu: u32,
}
// SAFETY: repr(C) {u32, u32}: size 8, as in the header.
unsafe impl EvtchnOp for EvtchnBindVcpu {
    const CMD: u32 = evtchnop::BIND_VCPU;
}

/// `struct evtchn_unmask`.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct EvtchnUnmask {
    pub port: EvtchnPort,
}
// SAFETY: repr(C) {u32}: size 4, as in the header.
unsafe impl EvtchnOp for EvtchnUnmask {
    const CMD: u32 = evtchnop::UNMASK;
}

/// `struct evtchn_reset` (EVTCHNOP_reset).
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct EvtchnReset {
    pub dom: DomId,
}
// SAFETY: repr(C) {u16}: size 2, as in the header.
unsafe impl EvtchnOp for EvtchnReset {
    const CMD: u32 = evtchnop::RESET;
}

/// `struct evtchn_reset` sent as EVTCHNOP_reset_cont (same structure, other sub-op).
#[derive(Clone, Copy, Debug, Default)]
#[repr(transparent)]
pub struct EvtchnResetCont(pub EvtchnReset);
// SAFETY: transparent over EvtchnReset, the structure EVTCHNOP_reset_cont takes.
unsafe impl EvtchnOp for EvtchnResetCont {
    const CMD: u32 = evtchnop::RESET_CONT;
}

/// `struct evtchn_init_control` (FIFO ABI).
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct EvtchnInitControl {
    pub control_gfn: u64,
    pub offset: u32,
    pub vcpu: u32,
    /// OUT: EVTCHN_FIFO_LINK_BITS (17).
    pub link_bits: u8,
    pub pad: [u8; 7],
}
// SAFETY: repr(C) {u64, u32, u32, u8, [u8; 7]}: offsets 0, 8, 12, 16, size 24, as in the
// header.
unsafe impl EvtchnOp for EvtchnInitControl {
    const CMD: u32 = evtchnop::INIT_CONTROL;
}

/// `struct evtchn_expand_array` (FIFO ABI).
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct EvtchnExpandArray {
    pub array_gfn: u64,
}
// SAFETY: repr(C) {u64}: size 8, as in the header.
unsafe impl EvtchnOp for EvtchnExpandArray {
    const CMD: u32 = evtchnop::EXPAND_ARRAY;
}

/// `struct evtchn_set_priority` (FIFO ABI).
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct EvtchnSetPriority {
    pub port: EvtchnPort,
    pub priority: u32,
}
// SAFETY: repr(C) {u32, u32}: size 8, as in the header.
unsafe impl EvtchnOp for EvtchnSetPriority {
    const CMD: u32 = evtchnop::SET_PRIORITY;
}

/// VIRQ numbers (public/xen.h). "V." ones are per-vCPU, the rest global (virq_is_global;
/// on arm every VIRQ_ARCH_n is global).
pub mod virq {
    pub const TIMER: u32 = 0;
    pub const DEBUG: u32 = 1;
    pub const CONSOLE: u32 = 2;
    pub const DOM_EXC: u32 = 3;
    pub const TBUF: u32 = 4;
    /// 5 has no name: Xen still binds it (global).
    pub const UNUSED_5: u32 = 5;
    pub const DEBUGGER: u32 = 6;
    pub const XENOPROF: u32 = 7;
    pub const CON_RING: u32 = 8;
    pub const PCPU_STATE: u32 = 9;
    pub const MEM_EVENT: u32 = 10;
    pub const ARGO: u32 = 11;
    pub const ENOMEM: u32 = 12;
    pub const XENPMU: u32 = 13;
    pub const ARCH_0: u32 = 16;
    pub const ARCH_7: u32 = 23;
    pub const NR_VIRQS: u32 = 24;

    /// Whether Xen 4.17 treats `virq` as per-vCPU (virq_is_global() false).
    pub const fn is_per_vcpu(virq: u32) -> bool {
        matches!(virq, TIMER | DEBUG | XENOPROF | XENPMU)
    }
}

/// 2-level ABI: 64 words of 64 bits (xen_ulong_t is 64-bit on arm64).
pub const EVTCHN_2L_NR_CHANNELS: u32 = 64 * 64;

/// FIFO ABI constants (public/event_channel.h).
pub mod fifo {
    pub const PRIORITY_MAX: u32 = 0;
    pub const PRIORITY_DEFAULT: u32 = 7;
    pub const PRIORITY_MIN: u32 = 15;
    pub const MAX_QUEUES: usize = PRIORITY_MIN as usize + 1;
    pub const LINK_BITS: u32 = 17;
    pub const LINK_MASK: u32 = (1 << LINK_BITS) - 1;
    pub const NR_CHANNELS: u32 = 1 << LINK_BITS;
    /// Event words per 4 KiB event array page.
    pub const WORDS_PER_PAGE: u32 = 4096 / 4;
    /// EVTCHN_FIFO_MAX_EVENT_ARRAY_PAGES in event_fifo.c: NR_CHANNELS / WORDS_PER_PAGE.
    pub const MAX_ARRAY_PAGES: u32 = NR_CHANNELS / WORDS_PER_PAGE;
}

bitflags::bitflags! {
    /// The flag bits of a FIFO event word (`event_word_t`); bits 0..17 are the LINK field
    /// ([`fifo::LINK_MASK`]).
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct EventWordFlags: u32 {
        /// EVTCHN_FIFO_PENDING (31).
        const PENDING = 1 << 31;
        /// EVTCHN_FIFO_MASKED (30).
        const MASKED = 1 << 30;
        /// EVTCHN_FIFO_LINKED (29): on a queue.
        const LINKED = 1 << 29;
        /// EVTCHN_FIFO_BUSY (28): Xen is updating LINK; the guest must not unmask.
        const BUSY = 1 << 28;
    }
}

/// A FIFO event word as read: flags plus the LINK field.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct EventWord(pub u32);

impl EventWord {
    pub const fn flags(self) -> EventWordFlags {
        EventWordFlags::from_bits_truncate(self.0)
    }

    /// The next port on the queue (0: none).
    pub const fn link(self) -> EvtchnPort {
        self.0 & fifo::LINK_MASK
    }

    pub const fn contains(self, f: EventWordFlags) -> bool {
        self.0 & f.bits() == f.bits()
    }
}

impl fmt::Debug for EventWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#010x} [{:?} link {}]", self.0, self.flags(), self.link())
    }
}

impl fmt::Display for EventWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// `struct evtchn_fifo_control_block`: 72 bytes, anywhere 8-aligned in a page.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct FifoControlBlock {
    /// Bit q set: queue q (priority q) has events.
    pub ready: u32,
    pub rsvd: u32,
    /// First port of each queue (written by Xen when it links into an empty queue).
    pub head: [u32; fifo::MAX_QUEUES],
}
/// The largest init_control offset Xen accepts: PAGE_SIZE - sizeof(control block).
pub const FIFO_CONTROL_BLOCK_MAX_OFFSET: u32 = 4096 - size_of::<FifoControlBlock>() as u32;

/// memory_op sub-ops (public/memory.h).
pub const XENMEM_ADD_TO_PHYSMAP: u64 = 7;
pub const XENMEM_REMOVE_FROM_PHYSMAP: u64 = 15;
/// `xen_add_to_physmap.space` values.
pub const XENMAPSPACE_SHARED_INFO: u32 = 0;
pub const XENMAPSPACE_GRANT_TABLE: u32 = 1;

/// `struct xen_add_to_physmap`.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct XenAddToPhysmap {
    pub domid: DomId,
    /// Only for XENMAPSPACE_gmfn_range.
    pub size: u16,
    pub space: u32,
    /// Index into the space (0 for shared_info).
    pub idx: u64,
    /// Guest frame to map it at.
    pub gpfn: u64,
}

/// `struct xen_remove_from_physmap`.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct XenRemoveFromPhysmap {
    pub domid: DomId,
    pub gpfn: u64,
}

/// vcpu_op sub-ops (public/vcpu.h); arm allows only these two (others: -EINVAL).
pub const VCPUOP_REGISTER_RUNSTATE_MEMORY_AREA: u64 = 5;
pub const VCPUOP_REGISTER_VCPU_INFO: u64 = 10;

/// `struct vcpu_register_vcpu_info`.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct VcpuRegisterVcpuInfo {
    /// Guest frame of the page that holds the vcpu_info.
    pub mfn: u64,
    /// Offset within the page (the vcpu_info must not cross it).
    pub offset: u32,
    pub rsvd: u32,
}

/// sched_op(SCHEDOP_poll).
pub const SCHEDOP_POLL: u64 = 3;

/// `struct sched_poll`.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C)]
pub struct SchedPoll {
    /// Guest handle: address of `nr_ports` evtchn_port_t.
    pub ports: u64,
    pub nr_ports: u32,
    /// Absolute system time (ns) to give up at; 0: none.
    pub timeout: u64,
}

/// Layout of `struct shared_info` and `struct vcpu_info` on arm64 (public/xen.h,
/// public/arch-arm.h): byte offsets.
pub mod shared_info_layout {
    /// XEN_LEGACY_MAX_VCPUS on arm: only vCPU 0 has its vcpu_info in shared_info.
    pub const LEGACY_MAX_VCPUS: usize = 1;
    /// sizeof(struct vcpu_info): 2 bytes of flags, pad, pending_sel, 32 bytes of time.
    pub const VCPU_INFO_SIZE: usize = 48;
    pub const VCPU_INFO_UPCALL_PENDING: usize = 0;
    pub const VCPU_INFO_UPCALL_MASK: usize = 1;
    pub const VCPU_INFO_PENDING_SEL: usize = 8;
    pub const VCPU_INFO_TIME: usize = 16;
    /// `evtchn_pending[64]` (u64 words).
    pub const EVTCHN_PENDING: usize = 48;
    /// `evtchn_mask[64]`.
    pub const EVTCHN_MASK: usize = 560;
    pub const WC_VERSION: usize = 1072;
    /// Words of each bitmap.
    pub const EVTCHN_WORDS: usize = 64;
}

const _: () = {
    use core::mem::offset_of;
    assert!(size_of::<EvtchnBindInterdomain>() == 12);
    assert!(offset_of!(EvtchnBindInterdomain, remote_port) == 4);
    assert!(offset_of!(EvtchnBindInterdomain, local_port) == 8);
    assert!(size_of::<EvtchnBindVirq>() == 12);
    assert!(offset_of!(EvtchnBindVirq, port) == 8);
    assert!(size_of::<EvtchnBindPirq>() == 12);
    assert!(offset_of!(EvtchnBindPirq, port) == 8);
    assert!(size_of::<EvtchnBindIpi>() == 8);
    assert!(offset_of!(EvtchnBindIpi, port) == 4);
    assert!(size_of::<EvtchnClose>() == 4);
    assert!(size_of::<EvtchnSend>() == 4);
    assert!(size_of::<EvtchnBindVcpu>() == 8);
    assert!(offset_of!(EvtchnBindVcpu, vcpu) == 4);
    assert!(size_of::<EvtchnUnmask>() == 4);
    assert!(size_of::<EvtchnReset>() == 2);
    assert!(size_of::<EvtchnResetCont>() == 2);
    assert!(size_of::<EvtchnInitControl>() == 24);
    assert!(offset_of!(EvtchnInitControl, offset) == 8);
    assert!(offset_of!(EvtchnInitControl, vcpu) == 12);
    assert!(offset_of!(EvtchnInitControl, link_bits) == 16);
    assert!(size_of::<EvtchnExpandArray>() == 8);
    assert!(size_of::<EvtchnSetPriority>() == 8);
    assert!(offset_of!(EvtchnSetPriority, priority) == 4);
    assert!(size_of::<FifoControlBlock>() == 72);
    assert!(offset_of!(FifoControlBlock, head) == 8);
    assert!(FIFO_CONTROL_BLOCK_MAX_OFFSET == 4024);
    assert!(fifo::MAX_ARRAY_PAGES == 128);
    assert!(size_of::<XenAddToPhysmap>() == 24);
    assert!(offset_of!(XenAddToPhysmap, space) == 4);
    assert!(offset_of!(XenAddToPhysmap, idx) == 8);
    assert!(offset_of!(XenAddToPhysmap, gpfn) == 16);
    assert!(size_of::<XenRemoveFromPhysmap>() == 16);
    assert!(offset_of!(XenRemoveFromPhysmap, gpfn) == 8);
    assert!(size_of::<VcpuRegisterVcpuInfo>() == 16);
    assert!(offset_of!(VcpuRegisterVcpuInfo, offset) == 8);
    assert!(size_of::<SchedPoll>() == 24);
    assert!(offset_of!(SchedPoll, nr_ports) == 8);
    assert!(offset_of!(SchedPoll, timeout) == 16);
    assert!(
        shared_info_layout::EVTCHN_MASK
            == shared_info_layout::EVTCHN_PENDING + 8 * shared_info_layout::EVTCHN_WORDS
    );
    assert!(
        shared_info_layout::EVTCHN_PENDING
            == shared_info_layout::LEGACY_MAX_VCPUS * shared_info_layout::VCPU_INFO_SIZE
    );
};

const _: () = {
    assert!(size_of::<EvtchnAllocUnbound>() == 8);
    assert!(size_of::<EvtchnStatus>() == 24);
    assert!(core::mem::offset_of!(EvtchnStatus, port) == 4);
    assert!(core::mem::offset_of!(EvtchnStatus, u) == 16);
    assert!(size_of::<SchedShutdown>() == 4);
};

/// A Xen errno (public/errno.h). Hypercalls return `-errno`. `Debug` prints the name
/// (`EINVAL`), so `Result<_, Errno>` reads `Err(EINVAL)` in messages.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct Errno(pub i32);

impl fmt::Debug for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "Errno({})", self.0),
        }
    }
}

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
    pub const ECONNREFUSED: Errno = Errno(111);

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
            111 => "ECONNREFUSED",
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
    fn event_word_fields() {
        let w = EventWord((1 << 31) | (1 << 29) | 1234);
        assert_eq!(w.flags(), EventWordFlags::PENDING | EventWordFlags::LINKED);
        assert_eq!(w.link(), 1234);
        assert!(w.contains(EventWordFlags::PENDING));
        assert!(!w.contains(EventWordFlags::MASKED));
        assert_eq!(EventWord(fifo::LINK_MASK).link(), 131071);
    }

    #[test]
    fn virq_kinds() {
        assert!(virq::is_per_vcpu(virq::TIMER));
        assert!(virq::is_per_vcpu(virq::XENPMU));
        assert!(!virq::is_per_vcpu(virq::DOM_EXC));
        assert!(!virq::is_per_vcpu(virq::ARCH_0));
    }

    #[test]
    fn display() {
        assert_eq!(format!("{:?}", Err::<u32, _>(Errno::EINVAL)), "Err(EINVAL)");
        assert_eq!(format!("{:?}", Errno(1234)), "Errno(1234)");
        assert_eq!(Errno::ENOSYS.to_string(), "-ENOSYS (-38)");
        assert_eq!(Errno(1234).to_string(), "-errno 1234");
    }
}
