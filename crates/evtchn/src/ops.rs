//! The event channel operations, written once over the [`Env`] / [`Domain`] / [`Channel`]
//! traits and a domain's concerns, one trait each ([`PortTable`], [`Counters`],
//! [`EventLocks`], [`Vcpus`], [`EventAbi`], [`Xsm`]): Xen's build implements them over the C
//! `struct domain` / `struct evtchn` (module `xen`), host tests over plain structs
//! (crates/evtchn-model). Every function here mirrors the C
//! function of the same name in Xen 4.17.5's common/event_channel.c; the errno next to each
//! early return is the guest-visible value and the C reason.
//!
//! Locking (as C): `d->event_lock` (an rwlock in 4.17) serialises port allocation and state
//! changes of a domain; each channel's rwlock is taken for writing around state changes and
//! for reading around delivery. Two domains' event locks and two channels' locks are taken
//! only through [`lock_two_domains`] and [`lock_pair`], so the lock order lives in one place.
//!
//! C's rule for the channel lock (the comment above `evtchn_write_lock`): a channel may be
//! write-locked only while it is FREE or UNBOUND when the lock is taken or released, because
//! VIRQ senders and Xen-attached notifications take its read lock with a trylock and drop the
//! event when that fails. So a bound channel's notification vCPU is moved under the event
//! lock only ([`Channel::set_notify_vcpu_unlocked`], [`bind_vcpu`]); every other write goes
//! through [`Channel::write`] on a channel that is FREE or UNBOUND before or after.

use crate::abi::{self, DOMID_SELF, DomId, Port};
use xen_rust_glue::Errno;

/// A channel's state: C's `ECS_*` plus the union member that state selects.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum State<D> {
    Free,
    Reserved,
    Unbound { remote: DomId },
    Interdomain { remote: D, remote_port: Port },
    Pirq { irq: u32 },
    Virq { virq: u32 },
    Ipi,
}

impl<D> State<D> {
    /// C's `ECS_*` value.
    pub fn ecs(&self) -> u8 {
        match self {
            State::Free => 0,
            State::Reserved => 1,
            State::Unbound { .. } => 2,
            State::Interdomain { .. } => 3,
            State::Pirq { .. } => 4,
            State::Virq { .. } => 5,
            State::Ipi => 6,
        }
    }
}

/// One channel (C: `struct evtchn *`). A handle: copying it copies the reference.
///
/// Reads are allowed under the domain's event lock or the channel's lock (as C); writes only
/// through the [`ChannelWrite`] guard of [`Channel::write`].
pub trait Channel<D>: Copy {
    type Write: ChannelWrite<D>;
    type Read;
    fn port(self) -> Port;
    fn state(self) -> State<D>;
    /// `chn->notify_vcpu_id`, read atomically (it may change under the event lock alone).
    fn notify_vcpu(self) -> u32;
    /// `chn->notify_vcpu_id = v` without the channel lock, as one atomic store (C's
    /// `evtchn_bind_vcpu`): for a bound channel, whose write lock would make concurrent
    /// senders drop their event. The caller holds the domain's event lock (write).
    fn set_notify_vcpu_unlocked(self, v: u32);
    fn xen_consumer(self) -> u8;
    /// A total order over channels (C compares the pointers) for [`lock_pair`].
    fn order_key(self) -> usize;
    /// `write_lock(&chn->lock)`: only on a channel that is FREE or UNBOUND now or when the
    /// guard is dropped (see the module doc).
    fn write(self) -> Self::Write;
    /// `read_lock(&chn->lock)`.
    fn read(self) -> Self::Read;
    /// `read_trylock(&chn->lock)`.
    fn try_read(self) -> Option<Self::Read>;
}

/// A channel locked for writing; unlocks on drop.
pub trait ChannelWrite<D> {
    fn set_state(&mut self, s: State<D>);
    fn set_notify_vcpu(&mut self, v: u32);
    fn set_xen_consumer(&mut self, c: u8);
}

/// One domain (C: `struct domain *`), a handle kept alive by the caller's reference: who it
/// is and its channels. What else an operation needs of a domain is one trait per concern
/// below ([`PortTable`], [`Counters`], [`EventLocks`], [`Vcpus`], [`EventAbi`], [`Xsm`]), and
/// each operation is bound on those it uses, so a test double implements only what its test
/// calls.
pub trait Domain: Copy + Eq {
    type Chan: Channel<Self>;

    fn id(self) -> DomId;
    fn is_dying(self) -> bool;
    /// `port_is_valid(d, p) ? evtchn_from_port(d, p) : NULL` (with its read barrier).
    fn chan(self, port: Port) -> Option<Self::Chan>;
}

/// The port table's limits and growth.
pub trait PortTable: Domain {
    /// `d->max_evtchn_port`.
    fn max_port(self) -> Port;
    /// `max_evtchns(d)`: the ABI's limit (2L: 4096, FIFO: 2^17).
    fn abi_max_ports(self) -> Port;
    /// Extend the port table (buckets, groups) so `port` is valid; event lock held.
    /// `ENOMEM` when an allocation fails.
    fn grow_to(self, port: Port) -> Result<(), Errno>;
}

/// The domain's channel counts and cursors.
pub trait Counters: Domain {
    /// `d->active_evtchns` / `d->xen_evtchns` (read_atomic / write_atomic).
    fn active(self) -> u32;
    fn set_active(self, n: u32);
    fn xen_count(self) -> u32;
    fn set_xen_count(self, n: u32);
    /// `d->next_evtchn` (reset continuation point; event lock held).
    fn next_reset(self) -> u32;
    fn set_next_reset(self, p: u32);
    /// The free-port hint (patches/0004, `d->evtchn_port_hint`; event lock held): every port
    /// below it is valid and not [`State::Free`]. See [`get_free_port`].
    fn free_hint(self) -> Port;
    fn set_free_hint(self, p: Port);
}

/// The domain's event lock (`d->event_lock`).
pub trait EventLocks: Domain {
    type EventLock;
    type EventReadLock;

    /// `write_lock(&d->event_lock)` / `read_lock`.
    fn event_lock(self) -> Self::EventLock;
    fn event_read_lock(self) -> Self::EventReadLock;
}

/// The domain's vCPUs and their VIRQ table.
pub trait Vcpus: Domain {
    /// `domain_vcpu(d, id) != NULL`.
    fn has_vcpu(self, id: u32) -> bool;
    /// `v->virq_to_evtchn[virq]` of vCPU `vcpu` (read_atomic).
    fn virq_port(self, vcpu: u32, virq: u32) -> Port;
    /// write_atomic of it; `locked`: under `v->virq_lock` (write, irqsave) as close does.
    fn set_virq_port(self, vcpu: u32, virq: u32, port: Port, locked: bool);
}

/// The ABI's port ops (`d->evtchn_port_ops`), with event.h's evtchn_usable() checks.
pub trait EventAbi: Domain {
    fn port_init(self, c: Self::Chan);
    fn set_pending(self, vcpu: u32, c: Self::Chan);
    fn clear_pending(self, c: Self::Chan);
    fn unmask(self, c: Self::Chan);
    fn is_busy(self, c: Self::Chan) -> bool;
    fn set_priority(self, c: Self::Chan, prio: u32) -> Result<(), Errno>;
    /// Back to the 2-level ABI after a complete reset (C: evtchn_fifo_destroy +
    /// evtchn_2l_init); called with the event lock held.
    fn reset_abi(self);
}

/// The XSM hooks on a domain's channels (errors as the XSM module returns them).
pub trait Xsm: Domain {
    fn xsm_unbound(self, c: Self::Chan, remote: DomId) -> Result<(), Errno>;
    fn xsm_interdomain(self, lc: Self::Chan, rd: Self, rc: Self::Chan) -> Result<(), Errno>;
    fn xsm_send(self, c: Self::Chan) -> Result<(), Errno>;
    fn xsm_status(self, c: Self::Chan) -> Result<(), Errno>;
    fn xsm_close_post(self, c: Self::Chan);
}

/// What is global: the caller, domain lookup, Xen-attached consumers, preemption.
pub trait Env {
    type Dom: Domain;
    /// A reference that keeps a domain alive (RCU); released on drop.
    type DomRef: core::ops::Deref<Target = Self::Dom>;
    type Hold;

    /// `current->domain`.
    fn current(&self) -> Self::Dom;
    /// `rcu_lock_domain_by_any_id()` (DOMID_SELF is the caller): `None` is `ESRCH`.
    fn lookup(&self, id: DomId) -> Option<Self::DomRef>;
    /// `rcu_lock_domain(d)` for a domain reached through a channel.
    fn hold(&self, d: Self::Dom) -> Self::Hold;
    /// Call the notification function of Xen consumer `consumer` (1-based).
    fn notify_xen_consumer(&self, consumer: u8, d: Self::Dom, vcpu: u32, port: Port);
    /// `hypercall_preempt_check()`.
    fn preempt_check(&self) -> bool;
    /// `xsm_evtchn_reset(XSM_TARGET, current->domain, d)`.
    fn xsm_reset(&self, d: Self::Dom) -> Result<(), Errno>;
    /// `d->controller_pause_count != 0`.
    fn controller_paused(&self, d: Self::Dom) -> bool;
}

type Chan<E> = <<E as Env>::Dom as Domain>::Chan;

/// Lock two channels for writing, lower `order_key` first (C: `double_evtchn_lock`, which
/// compares pointers). The only way this crate takes two channel locks: the order cannot be
/// bypassed. The channels must differ.
#[inline(always)]
pub fn lock_pair<D, C: Channel<D>>(a: C, b: C) -> (C::Write, C::Write) {
    if a.order_key() < b.order_key() {
        let ga = a.write();
        let gb = b.write();
        (ga, gb)
    } else {
        let gb = b.write();
        let ga = a.write();
        (ga, gb)
    }
}

/// Both event locks, lower `order_key` first: C orders by domain pointer; we order by the
/// first channel bucket's address (`order_key` of port 0), same idea, one total order.
/// With `ld == rd` only one lock is taken.
#[inline(always)]
pub fn lock_two_domains<D: EventLocks>(ld: D, rd: D) -> (D::EventLock, Option<D::EventLock>) {
    if ld == rd {
        return (ld.event_lock(), None);
    }
    let key = |d: D| d.chan(0).map(|c| c.order_key()).unwrap_or(0);
    if key(ld) < key(rd) {
        let l = ld.event_lock();
        let r = rd.event_lock();
        (l, Some(r))
    } else {
        let r = rd.event_lock();
        let l = ld.event_lock();
        (l, Some(r))
    }
}

/// `evtchn_allocate_port()`: make `port` valid and count it active. Event lock held.
/// `ENOSPC` past the domain's or the ABI's limit; `EBUSY` if in use or still busy (FIFO).
pub fn allocate_port<D: PortTable + Counters + EventAbi>(d: D, port: Port) -> Result<(), Errno> {
    if port > d.max_port() || port >= d.abi_max_ports() {
        return Err(Errno::ENOSPC);
    }
    match d.chan(port) {
        Some(c) => {
            if c.state() != State::Free || d.is_busy(c) {
                return Err(Errno::EBUSY);
            }
        }
        None => d.grow_to(port)?,
    }
    d.set_active(d.active() + 1);
    Ok(())
}

/// `get_free_port()`: the lowest free port. `EINVAL` for a dying domain, `ENOSPC` when full.
///
/// C walks from port 0 on every call, so filling N ports costs O(N^2). This walk starts at the
/// domain's free-port hint instead and returns the same port C returns: every port below
/// the hint is valid and not `Free`, so C's walk gets `EBUSY` from each of them, and the
/// hint is only used while it is within both limits (else the walk starts at 0, as C's), so
/// none of them can hit C's `ENOSPC` check first. The hint is kept here (the first `Free`
/// port this walk saw, busy or not) and lowered by [`free`], the only place a port becomes
/// `Free`; both run under the event lock (write). docs/status.md lists it as a deliberate
/// difference in cost, not in behaviour.
pub fn get_free_port<D: PortTable + Counters + EventAbi>(d: D) -> Result<Port, Errno> {
    if d.is_dying() {
        return Err(Errno::EINVAL);
    }
    let hint = d.free_hint();
    let mut port: Port =
        if hint <= d.max_port().saturating_add(1).min(d.abi_max_ports()) { hint } else { 0 };
    // The first Free port seen that is still busy (FIFO: linked after its close): the hint
    // must not pass it, as it becomes allocatable without any call into this code.
    let mut first_free: Option<Port> = None;
    let r = loop {
        match allocate_port(d, port) {
            Ok(()) => break Ok(port),
            Err(Errno::EBUSY) => {
                if first_free.is_none() && d.chan(port).is_some_and(|c| c.state() == State::Free) {
                    first_free = Some(port);
                }
            }
            Err(e) => break Err(e),
        }
        if port >= d.max_port() {
            port = port.saturating_add(1);
            break Err(Errno::ENOSPC);
        }
        port += 1;
    };
    // `port` is the allocated port (still Free until the caller sets its state, and left
    // Free by check_free_port() if the caller fails), an invalid port (ENOMEM) or past the
    // limit (ENOSPC): in each case no port below it and below `first_free` is Free.
    d.set_free_hint(first_free.unwrap_or(port));
    r
}

/// `evtchn_get_port()`: a given port, or (0) any free one.
fn get_port<D: PortTable + Counters + EventAbi>(d: D, port: Port) -> Result<Port, Errno> {
    if port != 0 { allocate_port(d, port).map(|()| port) } else { get_free_port(d) }
}

/// `check_free_port()`: undo the active count of a port allocated but left free.
fn check_free_port<D: Counters>(d: D, port: Port) {
    if let Some(c) = d.chan(port)
        && c.state() == State::Free
    {
        d.set_active(d.active().wrapping_sub(1));
    }
}

/// `evtchn_free()`: with `c` write-locked.
fn free<D: Counters + EventAbi + Xsm>(d: D, c: D::Chan, w: &mut <D::Chan as Channel<D>>::Write) {
    d.clear_pending(c);
    if c.xen_consumer() != 0 {
        d.set_xen_count(d.xen_count().wrapping_sub(1));
        // ->xen_evtchns before ->active_evtchns (pairs with has_active_evtchns()).
        core::sync::atomic::fence(core::sync::atomic::Ordering::Release);
    }
    d.set_active(d.active().wrapping_sub(1));
    w.set_state(State::Free);
    if c.port() < d.free_hint() {
        d.set_free_hint(c.port());
    }
    w.set_notify_vcpu(0);
    w.set_xen_consumer(0);
    d.xsm_close_post(c);
}

/// `evtchn_alloc_unbound()`: a new unbound port in domain `dom` for `remote_dom`.
/// `port` 0 means any free port (the hypercall), non-zero a given one (static channels).
/// Errors: `ESRCH` no such domain; `ENOSPC`/`EBUSY`/`ENOMEM`/`EINVAL` from allocation;
/// the XSM denial (`EPERM` under SILO between domUs).
pub fn alloc_unbound<E: Env<Dom: EventLocks + PortTable + Counters + EventAbi + Xsm>>(
    env: &E,
    dom: DomId,
    remote_dom: DomId,
    port: Port,
) -> Result<Port, Errno> {
    let dref = env.lookup(dom).ok_or(Errno::ESRCH)?;
    let d = *dref;
    let _l = d.event_lock();
    let port = get_port(d, port)?;
    let r = (|| {
        let c = d.chan(port).ok_or(Errno::EINVAL)?;
        d.xsm_unbound(c, remote_dom)?;
        let mut w = c.write();
        let remote = if remote_dom == DOMID_SELF { env.current().id() } else { remote_dom };
        w.set_state(State::Unbound { remote });
        d.port_init(c);
        drop(w);
        Ok(port)
    })();
    check_free_port(d, port);
    r
}

/// `evtchn_bind_interdomain()`: bind a port of `ld` to the unbound `rport` of `rdom`.
/// Errors: `ESRCH` no such domain; allocation errors; `EINVAL` when the remote port is not
/// valid, not unbound, or not offered to `ld`; the XSM denial.
pub fn bind_interdomain<E: Env<Dom: EventLocks + PortTable + Counters + EventAbi + Xsm>>(
    env: &E,
    ld: E::Dom,
    rdom: DomId,
    rport: Port,
    lport: Port,
) -> Result<Port, Errno> {
    let rref = env.lookup(rdom).ok_or(Errno::ESRCH)?;
    let rd = *rref;
    let _locks = lock_two_domains(ld, rd);
    let lport = get_port(ld, lport)?;
    let r = (|| {
        let lchn = ld.chan(lport).ok_or(Errno::EINVAL)?;
        let rchn = rd.chan(rport).ok_or(Errno::EINVAL)?;
        match rchn.state() {
            State::Unbound { remote } if remote == ld.id() => {}
            _ => return Err(Errno::EINVAL),
        }
        // Binding a port to itself (same domain, same port) is impossible: lport was free.
        ld.xsm_interdomain(lchn, rd, rchn)?;
        let (mut lw, mut rw) = lock_pair(lchn, rchn);
        lw.set_state(State::Interdomain { remote: rd, remote_port: rport });
        ld.port_init(lchn);
        rw.set_state(State::Interdomain { remote: ld, remote_port: lport });
        // Notifications may have been lost on the unbound remote port: always set one here.
        ld.set_pending(lchn.notify_vcpu(), lchn);
        drop((lw, rw));
        Ok(lport)
    })();
    check_free_port(ld, lport);
    r
}

/// `evtchn_bind_virq()`. Errors: `EINVAL` bad VIRQ or a global VIRQ on vCPU != 0;
/// `ENOENT` no such vCPU; `EEXIST` already bound; allocation errors.
pub fn bind_virq<E: Env<Dom: Vcpus + EventLocks + PortTable + Counters + EventAbi>>(
    env: &E,
    virq: u32,
    vcpu: u32,
    port: Port,
) -> Result<Port, Errno> {
    let d = env.current();
    if virq >= abi::NR_VIRQS {
        return Err(Errno::EINVAL);
    }
    if abi::virq_is_global(virq) && vcpu != 0 {
        return Err(Errno::EINVAL);
    }
    if !d.has_vcpu(vcpu) {
        return Err(Errno::ENOENT);
    }
    let _l = d.event_lock();
    if d.virq_port(vcpu, virq) != 0 {
        return Err(Errno::EEXIST);
    }
    let port = get_port(d, port)?;
    let c = d.chan(port).ok_or(Errno::EINVAL)?;
    let mut w = c.write();
    w.set_state(State::Virq { virq });
    w.set_notify_vcpu(vcpu);
    d.port_init(c);
    drop(w);
    d.set_virq_port(vcpu, virq, port, false);
    Ok(port)
}

/// `evtchn_bind_ipi()`. Errors: `ENOENT` no such vCPU; allocation errors.
pub fn bind_ipi<E: Env<Dom: Vcpus + EventLocks + PortTable + Counters + EventAbi>>(
    env: &E,
    vcpu: u32,
) -> Result<Port, Errno> {
    let d = env.current();
    if !d.has_vcpu(vcpu) {
        return Err(Errno::ENOENT);
    }
    let _l = d.event_lock();
    let port = get_free_port(d)?;
    let c = d.chan(port).ok_or(Errno::EINVAL)?;
    let mut w = c.write();
    w.set_state(State::Ipi);
    w.set_notify_vcpu(vcpu);
    d.port_init(c);
    drop(w);
    Ok(port)
}

/// `evtchn_close()`. `guest`: a guest may not close a Xen-attached channel (`EINVAL`).
/// Errors: `EINVAL` invalid, free or reserved port; `EINVAL` if an interdomain peer changed
/// while the locks were retaken (as C).
pub fn close<E: Env<Dom: EventLocks + Vcpus + Counters + EventAbi + Xsm>>(
    env: &E,
    d1: E::Dom,
    port1: Port,
    guest: bool,
) -> Result<(), Errno> {
    let chn1 = d1.chan(port1).ok_or(Errno::EINVAL)?;
    let mut held: Option<(E::Dom, E::Hold)> = None;
    loop {
        // The peer's lock first when it orders first (C: `goto again`).
        let (_l1, _l2) = match &held {
            Some((d2, _)) => lock_two_domains(d1, *d2),
            None => (d1.event_lock(), None),
        };
        if chn1.xen_consumer() != 0 && guest {
            return Err(Errno::EINVAL);
        }
        match chn1.state() {
            State::Free | State::Reserved => return Err(Errno::EINVAL),
            State::Unbound { .. } | State::Ipi => {}
            State::Pirq { .. } => {
                // Arm binds no PIRQ (alloc_pirq_struct() is NULL), so none is ever here;
                // the channel is simply freed.
            }
            State::Virq { virq } => {
                let vcpu = if abi::virq_is_global(virq) { 0 } else { chn1.notify_vcpu() };
                d1.set_virq_port(vcpu, virq, 0, true);
            }
            State::Interdomain { remote, remote_port } => {
                match &held {
                    None => {
                        let hold = env.hold(remote);
                        held = Some((remote, hold));
                        if remote != d1 {
                            // Retake both locks in order, then look again.
                            continue;
                        }
                    }
                    Some((d2, _)) if *d2 != remote => return Err(Errno::EINVAL),
                    Some(_) => {}
                }
                let d2 = remote;
                // The peer must point back at us: a broken invariant here is a Xen bug
                // (C: BUG_ON); we refuse the close instead of crashing the host.
                let chn2 = match d2.chan(remote_port) {
                    Some(c) => c,
                    None => return Err(Errno::EINVAL),
                };
                match chn2.state() {
                    State::Interdomain { remote: back, .. } if back == d1 => {}
                    _ => return Err(Errno::EINVAL),
                }
                let (mut w1, mut w2) = lock_pair(chn1, chn2);
                free(d1, chn1, &mut w1);
                w2.set_state(State::Unbound { remote: d1.id() });
                return Ok(());
            }
        }
        let mut w = chn1.write();
        free(d1, chn1, &mut w);
        return Ok(());
    }
}

/// `evtchn_send()`. Errors: `EINVAL` invalid port, Xen-attached, or not
/// interdomain/IPI/unbound; the XSM denial.
pub fn send<E: Env<Dom: EventAbi + Xsm>>(env: &E, ld: E::Dom, lport: Port) -> Result<(), Errno> {
    let lchn = ld.chan(lport).ok_or(Errno::EINVAL)?;
    let g = lchn.read();
    if lchn.xen_consumer() != 0 {
        return Err(Errno::EINVAL);
    }
    ld.xsm_send(lchn)?;
    match lchn.state() {
        State::Interdomain { remote: rd, remote_port: rport } => {
            let rchn = rd.chan(rport).ok_or(Errno::EINVAL)?;
            let consumer = rchn.xen_consumer();
            if consumer != 0 {
                let vcpu = rchn.notify_vcpu();
                let _hold = env.hold(rd);
                drop(g);
                env.notify_xen_consumer(consumer, rd, vcpu, rport);
                return Ok(());
            }
            rd.set_pending(rchn.notify_vcpu(), rchn);
        }
        State::Ipi => ld.set_pending(lchn.notify_vcpu(), lchn),
        State::Unbound { .. } => {}
        _ => return Err(Errno::EINVAL),
    }
    drop(g);
    Ok(())
}

/// What `EVTCHNOP_status` reports.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct StatusOut {
    pub status: u32,
    pub vcpu: u32,
    pub u: StatusUnion,
}

/// The union of `struct evtchn_status`; C writes only the member the status selects.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum StatusUnion {
    None,
    Dom(DomId),
    DomPort(DomId, Port),
    Word(u32),
}

impl StatusOut {
    /// Fill the guest's struct as C does (untouched bytes keep what the guest passed).
    pub fn apply(&self, s: &mut abi::Status) {
        s.status = self.status;
        s.vcpu = self.vcpu;
        match self.u {
            StatusUnion::None => {}
            // u.unbound.dom / u.interdomain.dom: the low 16 bits of the first word
            // (little-endian), padding left alone.
            StatusUnion::Dom(dom) => s.u0 = (s.u0 & 0xffff_0000) | dom as u32,
            StatusUnion::DomPort(dom, port) => {
                s.u0 = (s.u0 & 0xffff_0000) | dom as u32;
                s.u1 = port;
            }
            StatusUnion::Word(w) => s.u0 = w,
        }
    }
}

/// `evtchn_status()`. Errors: `ESRCH` no such domain; `EINVAL` invalid port; `EACCES`
/// Xen-attached; the XSM denial.
pub fn status<E: Env<Dom: EventLocks + Xsm>>(
    env: &E,
    dom: DomId,
    port: Port,
) -> Result<StatusOut, Errno> {
    let dref = env.lookup(dom).ok_or(Errno::ESRCH)?;
    let d = *dref;
    let c = d.chan(port).ok_or(Errno::EINVAL)?;
    let _l = d.event_read_lock();
    if c.xen_consumer() != 0 {
        return Err(Errno::EACCES);
    }
    d.xsm_status(c)?;
    let (status, u) = match c.state() {
        State::Free | State::Reserved => (abi::stat::CLOSED, StatusUnion::None),
        State::Unbound { remote } => (abi::stat::UNBOUND, StatusUnion::Dom(remote)),
        State::Interdomain { remote, remote_port } => {
            (abi::stat::INTERDOMAIN, StatusUnion::DomPort(remote.id(), remote_port))
        }
        State::Pirq { irq } => (abi::stat::PIRQ, StatusUnion::Word(irq)),
        State::Virq { virq } => (abi::stat::VIRQ, StatusUnion::Word(virq)),
        State::Ipi => (abi::stat::IPI, StatusUnion::None),
    };
    Ok(StatusOut { status, vcpu: c.notify_vcpu(), u })
}

/// `evtchn_bind_vcpu()`. Errors: `ENOENT` no such vCPU; `EINVAL` invalid port, Xen-attached,
/// a per-vCPU VIRQ, or a state that has no notification vCPU.
pub fn bind_vcpu<E: Env<Dom: Vcpus + EventLocks>>(
    env: &E,
    port: Port,
    vcpu: u32,
) -> Result<(), Errno> {
    let d = env.current();
    if !d.has_vcpu(vcpu) {
        return Err(Errno::ENOENT);
    }
    let c = d.chan(port).ok_or(Errno::EINVAL)?;
    let _l = d.event_lock();
    if c.xen_consumer() != 0 {
        return Err(Errno::EINVAL);
    }
    match c.state() {
        State::Virq { virq } if abi::virq_is_global(virq) => {}
        State::Unbound { .. } | State::Interdomain { .. } => {}
        // Arm never has PIRQ channels (see close()).
        _ => return Err(Errno::EINVAL),
    }
    // Under the event lock only, as C: the channel's write lock would make a VIRQ or a
    // notification raised meanwhile fail its read-trylock and be lost (C's lock rule, module
    // doc). A sender reading the vCPU concurrently sees the old or the new one.
    c.set_notify_vcpu_unlocked(vcpu);
    Ok(())
}

/// `evtchn_unmask()`. `EINVAL` invalid port.
pub fn unmask<E: Env<Dom: EventAbi>>(env: &E, port: Port) -> Result<(), Errno> {
    let d = env.current();
    let c = d.chan(port).ok_or(Errno::EINVAL)?;
    let _g = c.read();
    d.unmask(c);
    Ok(())
}

/// `evtchn_set_priority()`: `EINVAL` invalid port; the ABI's errors (2L: `ENOSYS`).
pub fn set_priority<E: Env<Dom: EventAbi>>(env: &E, port: Port, prio: u32) -> Result<(), Errno> {
    let d = env.current();
    let c = d.chan(port).ok_or(Errno::EINVAL)?;
    let _g = c.read();
    d.set_priority(c, prio)
}

/// `has_active_evtchns()`.
fn has_active<D: Counters>(d: D) -> bool {
    let xen = d.xen_count();
    core::sync::atomic::fence(core::sync::atomic::Ordering::Acquire);
    d.active() > xen
}

/// Outcome of a preemptible loop: finished, or stopped at a point to resume from.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Progress {
    Done,
    Preempted,
}

/// `evtchn_reset()`, including the switch back to 2L ([`EventAbi::reset_abi`]). Errors:
/// `EINVAL` resetting another domain that its controller has not paused; `EBUSY` a reset
/// already in progress; `EAGAIN` ports were opened concurrently.
pub fn reset<E: Env<Dom: EventLocks + Vcpus + Counters + EventAbi + Xsm>>(
    env: &E,
    d: E::Dom,
    resuming: bool,
) -> Result<Progress, Errno> {
    if d != env.current() && !env.controller_paused(d) {
        return Err(Errno::EINVAL);
    }
    let mut i = {
        let _l = d.event_lock();
        let i = if resuming { d.next_reset() } else { (d.next_reset() == 0) as u32 };
        if i > d.next_reset() {
            d.set_next_reset(i);
        }
        i
    };
    if i == 0 {
        return Err(Errno::EBUSY);
    }
    while d.chan(i).is_some() && has_active(d) {
        let _ = close(env, d, i, true);
        if i & 0x3f == 0 && env.preempt_check() {
            let _l = d.event_lock();
            d.set_next_reset(i);
            return Ok(Progress::Preempted);
        }
        i += 1;
    }
    let _l = d.event_lock();
    d.set_next_reset(0);
    if d.active() > d.xen_count() {
        return Err(Errno::EAGAIN);
    }
    // In the same locked region as the check above, so no port can be bound in between.
    d.reset_abi();
    Ok(Progress::Done)
}

/// `evtchn_destroy()`'s loop: close every port from the top, preemptibly (XSA-344).
/// `from`: the port count to start below. Returns where to resume when preempted.
pub fn destroy_ports<E: Env<Dom: EventLocks + Vcpus + Counters + EventAbi + Xsm>>(
    env: &E,
    d: E::Dom,
    from: u32,
    preemptible: bool,
) -> Result<(), u32> {
    let mut i = from;
    while i > 1 {
        i -= 1;
        let _ = close(env, d, i, false);
        if preemptible && i & 0x3f == 0 && env.preempt_check() {
            return Err(i);
        }
    }
    Ok(())
}

/// `alloc_unbound_xen_event_channel()`: an unbound port of `ld` consumed by Xen.
pub fn alloc_unbound_xen<E: Env<Dom: EventLocks + PortTable + Counters + EventAbi + Xsm>>(
    ld: E::Dom,
    lvcpu: u32,
    remote: DomId,
    consumer: u8,
) -> Result<Port, Errno> {
    let _l = ld.event_lock();
    let port = get_free_port(ld)?;
    let r = (|| {
        let c: Chan<E> = ld.chan(port).ok_or(Errno::EINVAL)?;
        ld.xsm_unbound(c, remote)?;
        let mut w = c.write();
        w.set_state(State::Unbound { remote });
        w.set_xen_consumer(consumer);
        w.set_notify_vcpu(lvcpu);
        drop(w);
        ld.set_xen_count(ld.xen_count() + 1);
        Ok(port)
    })();
    check_free_port(ld, port);
    r
}

/// `notify_via_xen_event_channel()`: Xen signals the remote end of its channel `lport`.
pub fn notify_via_xen<D: EventAbi>(ld: D, lport: Port) {
    let Some(lchn) = ld.chan(lport) else { return };
    let Some(g) = lchn.try_read() else { return };
    if let State::Interdomain { remote: rd, remote_port } = lchn.state()
        && let Some(rchn) = rd.chan(remote_port)
    {
        rd.set_pending(rchn.notify_vcpu(), rchn);
    }
    drop(g);
}
