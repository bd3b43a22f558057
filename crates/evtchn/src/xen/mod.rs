//! The C-facing side (built only in Xen's build, the `xen` feature): the [`ops`](crate::ops)
//! traits implemented over the glue's handles for `struct domain` / `struct vcpu` /
//! `struct evtchn` ([`xen_rust_glue::evtchn`]), the 2-level port ops table, and every symbol
//! the rest of Xen links against from common/event_channel.c, event_2l.c and event_fifo.c.
//!
//! Every access to C's structures goes through the glue's safe accessors; what is left here
//! is the adapter (trait impls, the choice between our ops and C's) and, in [`exports`], the
//! `extern "C"` shims, which take C's pointers as the glue's `DomainPtr`/`VcpuPtr`.

mod exports;
mod fifo;

use crate::abi::{self, DomId, Port};
use crate::ops::{
    self, Channel, ChannelWrite, Counters, Domain, Env, EventAbi, EventLocks, PortTable, State,
    Vcpus, Xsm,
};
use crate::twol::{self, TwoLevelBits};
use static_assertions::const_assert_eq;
use xen_rust_glue::Errno;
use xen_rust_glue::domain::DomainRef;
use xen_rust_glue::evtchn::{
    self as glue, Chan, ChanState, ChanWrite, Dom, PortOps, PortOpsTable, Vcpu,
};
use xen_rust_glue::sync::raw;

const_assert_eq!(abi::NR_VIRQS, glue::NR_VIRQS);
const_assert_eq!(abi::VIRQ_XENPMU, glue::VIRQ_XENPMU);
const_assert_eq!(abi::VIRQ_XENOPROF, glue::VIRQ_XENOPROF);
const_assert_eq!(abi::EVTCHN_2L_NR_CHANNELS, glue::EVTCHN_2L_NR_CHANNELS);

#[inline(always)]
fn to_state(s: ChanState) -> State<Dom> {
    match s {
        ChanState::Free => State::Free,
        ChanState::Reserved => State::Reserved,
        ChanState::Unbound { remote } => State::Unbound { remote },
        ChanState::Interdomain { remote, remote_port } => State::Interdomain { remote, remote_port },
        ChanState::Pirq { irq } => State::Pirq { irq },
        ChanState::Virq { virq } => State::Virq { virq },
        ChanState::Ipi => State::Ipi,
    }
}

#[inline(always)]
fn from_state(s: State<Dom>) -> ChanState {
    match s {
        State::Free => ChanState::Free,
        State::Reserved => ChanState::Reserved,
        State::Unbound { remote } => ChanState::Unbound { remote },
        State::Interdomain { remote, remote_port } => ChanState::Interdomain { remote, remote_port },
        State::Pirq { irq } => ChanState::Pirq { irq },
        State::Virq { virq } => ChanState::Virq { virq },
        State::Ipi => ChanState::Ipi,
    }
}

impl ChannelWrite<Dom> for ChanWrite {
    #[inline(always)]
    fn set_state(&mut self, s: State<Dom>) {
        ChanWrite::set_state(self, from_state(s))
    }
    fn set_notify_vcpu(&mut self, v: u32) {
        ChanWrite::set_notify_vcpu(self, v)
    }
    fn set_xen_consumer(&mut self, c: u8) {
        ChanWrite::set_xen_consumer(self, c)
    }
}

impl Channel<Dom> for Chan {
    type Write = ChanWrite;
    type Read = raw::ReadGuard;

    fn port(self) -> Port {
        Chan::port(self)
    }
    #[inline(always)]
    fn state(self) -> State<Dom> {
        to_state(Chan::state(self))
    }
    fn notify_vcpu(self) -> u32 {
        Chan::notify_vcpu(self)
    }
    fn set_notify_vcpu_unlocked(self, v: u32) {
        Chan::set_notify_vcpu_unlocked(self, v)
    }
    fn xen_consumer(self) -> u8 {
        Chan::xen_consumer(self)
    }
    fn order_key(self) -> usize {
        self.addr()
    }
    #[inline(always)]
    fn write(self) -> ChanWrite {
        Chan::write(self)
    }
    #[inline(always)]
    fn read(self) -> raw::ReadGuard {
        Chan::read(self)
    }
    fn try_read(self) -> Option<raw::ReadGuard> {
        Chan::try_read(self)
    }
}

/// The port ops are our own 2-level table (not FIFO's): then the ops are called directly,
/// where C calls through `d->evtchn_port_ops` (the same functions, minus an indirect call
/// and the C helper around it).
#[inline(always)]
fn is_2l(d: Dom) -> bool {
    d.port_ops_are(&EVTCHN_PORT_OPS_2L)
}

impl Domain for Dom {
    type Chan = Chan;

    fn id(self) -> DomId {
        Dom::id(self)
    }
    fn is_dying(self) -> bool {
        Dom::is_dying(self)
    }
    #[inline(always)]
    fn chan(self, port: Port) -> Option<Chan> {
        Dom::chan(self, port)
    }
}

impl PortTable for Dom {
    fn max_port(self) -> Port {
        Dom::max_port(self)
    }
    fn abi_max_ports(self) -> Port {
        if self.has_fifo() { abi::EVTCHN_FIFO_NR_CHANNELS } else { abi::EVTCHN_2L_NR_CHANNELS }
    }
    fn grow_to(self, port: Port) -> Result<(), Errno> {
        Dom::grow_to(self, port)
    }
}

impl Counters for Dom {
    fn active(self) -> u32 {
        Dom::active(self)
    }
    fn set_active(self, n: u32) {
        Dom::set_active(self, n)
    }
    fn xen_count(self) -> u32 {
        Dom::xen_count(self)
    }
    fn set_xen_count(self, n: u32) {
        Dom::set_xen_count(self, n)
    }
    fn next_reset(self) -> u32 {
        Dom::next_reset(self)
    }
    fn set_next_reset(self, p: u32) {
        Dom::set_next_reset(self, p)
    }
    fn free_hint(self) -> Port {
        Dom::free_hint(self)
    }
    fn set_free_hint(self, p: Port) {
        Dom::set_free_hint(self, p)
    }
}

impl EventLocks for Dom {
    type EventLock = raw::WriteGuard;
    type EventReadLock = raw::ReadGuard;

    #[inline(always)]
    fn event_lock(self) -> raw::WriteGuard {
        Dom::event_lock(self)
    }
    #[inline(always)]
    fn event_read_lock(self) -> raw::ReadGuard {
        Dom::event_read_lock(self)
    }
}

impl Vcpus for Dom {
    fn has_vcpu(self, id: u32) -> bool {
        self.vcpu(id).is_some()
    }
    fn virq_port(self, vcpu: u32, virq: u32) -> Port {
        self.vcpu(vcpu).map_or(0, |v| v.virq_port(virq))
    }
    fn set_virq_port(self, vcpu: u32, virq: u32, port: Port, locked: bool) {
        if let Some(v) = self.vcpu(vcpu) {
            v.set_virq_port(virq, port, locked)
        }
    }
}

impl EventAbi for Dom {
    fn port_init(self, c: Chan) {
        self.c_port_init(c)
    }
    // Inline into send: C's evtchn_port_set_pending() is a static inline.
    #[inline]
    fn set_pending(self, vcpu: u32, c: Chan) {
        // notify_vcpu_id values were checked against domain_vcpu() when set; a vCPU that
        // does not exist (cannot happen) is skipped.
        let Some(v) = self.vcpu(vcpu) else { return };
        if !c.usable() {
            return;
        }
        if is_2l(self) {
            return twol::set_pending(&Xen2L(self), vcpu, c.port());
        }
        if fifo::is_fifo(self) {
            return fifo::set_pending(v, c);
        }
        self.c_set_pending(vcpu, c)
    }
    fn clear_pending(self, c: Chan) {
        if c.usable() && is_2l(self) {
            return Xen2L(self).clear_pending(c.port());
        }
        self.c_clear_pending(c)
    }
    fn unmask(self, c: Chan) {
        if c.usable() && is_2l(self) {
            return twol::unmask(&Xen2L(self), c.notify_vcpu(), c.port());
        }
        if c.usable() && fifo::is_fifo(self) {
            return fifo::unmask(self, c);
        }
        self.c_unmask(c)
    }
    fn is_busy(self, c: Chan) -> bool {
        self.c_is_busy(c)
    }
    fn set_priority(self, c: Chan, prio: u32) -> Result<(), Errno> {
        self.c_set_priority(c, prio)
    }
    fn reset_abi(self) {
        fifo::back_to_2l(self);
    }
}

impl Xsm for Dom {
    fn xsm_unbound(self, c: Chan, remote: DomId) -> Result<(), Errno> {
        Dom::xsm_unbound(self, c, remote)
    }
    fn xsm_interdomain(self, lc: Chan, rd: Dom, rc: Chan) -> Result<(), Errno> {
        Dom::xsm_interdomain(self, lc, rd, rc)
    }
    fn xsm_send(self, c: Chan) -> Result<(), Errno> {
        Dom::xsm_send(self, c)
    }
    fn xsm_status(self, c: Chan) -> Result<(), Errno> {
        Dom::xsm_status(self, c)
    }
    fn xsm_close_post(self, c: Chan) {
        Dom::xsm_close_post(self, c)
    }
}

/// The 2-level ABI's bits of one domain, through the glue's bounded guest atomics.
struct Xen2L(Dom);

impl TwoLevelBits for Xen2L {
    fn bits_per_word(&self) -> u32 {
        glue::BITS_PER_EVTCHN_WORD
    }
    #[inline(always)]
    fn test_and_set_pending(&self, port: Port) -> bool {
        self.0.test_and_set_pending_2l(port)
    }
    fn test_pending(&self, port: Port) -> bool {
        self.0.test_pending_2l(port)
    }
    fn clear_pending(&self, port: Port) {
        self.0.clear_pending_2l(port)
    }
    fn test_mask(&self, port: Port) -> bool {
        self.0.test_mask_2l(port)
    }
    fn test_and_clear_mask(&self, port: Port) -> bool {
        self.0.test_and_clear_mask_2l(port)
    }
    fn test_and_set_sel(&self, vcpu: u32, word: u32) -> bool {
        // No such vCPU: nothing to notify.
        self.0.vcpu(vcpu).is_none_or(|v| v.test_and_set_pending_sel(word))
    }
    fn mark_events_pending(&self, vcpu: u32) {
        if let Some(v) = self.0.vcpu(vcpu) {
            v.mark_events_pending()
        }
    }
    fn check_pollers(&self, port: Port) {
        self.0.check_pollers(port);
    }
}

/// The environment of a hypercall or a Xen-internal call.
pub struct XenEnv;

/// An RCU reference to a domain ([`DomainRef`]) as the handle it keeps alive.
pub struct DomainLock(DomainRef);

impl DomainLock {
    #[inline(always)]
    fn new(r: DomainRef) -> Self {
        DomainLock(r)
    }
}

impl core::ops::Deref for DomainLock {
    type Target = Dom;
    #[inline(always)]
    fn deref(&self) -> &Dom {
        self.0.as_dom()
    }
}

impl Env for XenEnv {
    type Dom = Dom;
    type DomRef = DomainLock;
    type Hold = DomainRef;

    fn current(&self) -> Dom {
        Dom::current()
    }
    #[inline]
    fn lookup(&self, id: DomId) -> Option<DomainLock> {
        DomainRef::lookup_any(id).map(DomainLock::new)
    }
    #[inline]
    fn hold(&self, d: Dom) -> DomainRef {
        DomainRef::hold(d)
    }
    fn notify_xen_consumer(&self, consumer: u8, d: Dom, vcpu: u32, port: Port) {
        if let Some(v) = d.vcpu(vcpu) {
            glue::notify_xen_consumer(consumer, v, port)
        }
    }
    fn preempt_check(&self) -> bool {
        glue::hypercall_preempt_check()
    }
    fn xsm_reset(&self, d: Dom) -> Result<(), Errno> {
        d.xsm_reset()
    }
    fn controller_paused(&self, d: Dom) -> bool {
        d.controller_paused()
    }
}

// ---- the 2-level port ops table (C: event_2l.c's evtchn_port_ops_2l) ----

/// The 2-level ABI's port ops, as C calls them through `d->evtchn_port_ops`.
struct TwoLevel;

impl PortOps for TwoLevel {
    fn set_pending(v: Vcpu, c: Chan) {
        twol::set_pending(&Xen2L(v.domain()), v.id(), c.port());
    }
    fn clear_pending(d: Dom, c: Chan) {
        Xen2L(d).clear_pending(c.port());
    }
    fn unmask(d: Dom, c: Chan) {
        twol::unmask(&Xen2L(d), c.notify_vcpu(), c.port());
    }
    fn is_pending(d: Dom, c: Chan) -> bool {
        twol::is_pending(&Xen2L(d), c.port())
    }
    fn is_masked(d: Dom, c: Chan) -> bool {
        twol::is_masked(&Xen2L(d), c.port())
    }
    fn print_state(d: Dom, c: Chan) {
        let bit = d
            .vcpu(c.notify_vcpu())
            .is_some_and(|v| v.test_pending_sel(c.port() / glue::BITS_PER_EVTCHN_WORD));
        xen_rust_glue::printk!("{}", bit as u8);
    }
}

static EVTCHN_PORT_OPS_2L: PortOpsTable = PortOpsTable::new::<TwoLevel>();

/// C's `evtchn_2l_init()`.
fn twol_init(d: Dom) {
    d.set_port_ops(&EVTCHN_PORT_OPS_2L);
}

pub(crate) use ops::Progress;
