//! The hypercall and the domain hooks, in Xen's build.
//!
//! State: each non-idle domain owns one [`DomainV4v`] (allocated by domain_create's hook,
//! stored in `d->v4v`, freed by _domain_destroy's hook after the RCU grace period, so any
//! RCU-locked `DomainRef` keeps it valid). It holds the domain's ring table under a rwlock;
//! each ring has its own spinlock over its tx pointer, mapped pages and waiting senders.
//!
//! Lock order (docs/v4v.md): L1 `DomainV4v::rings` (rwlock) of ONE domain, then L2 one
//! `Ring::state` (spinlock) of a ring in that table. Never two L1s or two L2s at once.
//! Register/unregister/teardown take L1 for writing (so no sender is inside any of the
//! domain's rings); send/notify take L1 for reading and L2. VIRQs are raised after L2 is
//! dropped (evtchn locks never nest inside L2). Guest copies under L2: only the sender's
//! `copy_from_guest` (a guest page-table walk; it takes no V4V lock and cannot sleep).
//!
//! Budget (docs/v4v.md "Security"): L1 also holds the domain's ring page count — every page
//! of every registered ring plus the pages of registrations in progress — against its
//! budget (default [`abi::V4V_DEFAULT_MAX_RING_PAGES`], per dom0less domain
//! `xen,v4v-max-ring-pages`). A registration reserves its pages before it reads the page
//! list, so no domain ever holds references on more pages than its budget (plus, while it
//! re-registers a ring, that ring's pages).

use crate::abi::{
    self, Addr, Cmd, DomId, Iov, MessageHeader, PfnListHeader, RingDataEnt, RingDataFlags,
    RingDataHeader, RingHeader, SendAddr, V4V_DOMID_ANY, V4V_MAX_NOTIFY_ENT, V4V_MAXIOV,
    V4V_RING_DATA_MAGIC,
};
use crate::ring::{self, RingMem, Segment};
use crate::table::{MAX_WAITERS, PageBudget, RingKey, RingTable, Waiters};
use core::ffi::{c_int, c_long, c_uint, c_ulong, c_void};
use core::mem::{offset_of, size_of};
use core::sync::atomic::{Ordering, fence};
use xen_rust_glue::Errno;
use xen_rust_glue::domain::{DomainRef, for_each_domain};
use xen_rust_glue::guest::{
    GuestHandleVoid, GuestRange, probe_readable, read_arg, read_bytes, write_arg,
};
use xen_rust_glue::sync::{RwLock, SpinLock};
use xen_rust_glue::v4v::{self as glue, RingPages, RingView};
use xen_rust_glue::xbox::XBox;

struct DomainV4v {
    rings: RwLock<DomainRings>,
}

struct DomainRings {
    /// Set by domain_kill's hook: no ring may be registered or sent to any more.
    dead: bool,
    table: RingTable<XBox<Ring>>,
    /// Pages of the rings in `table` plus those reserved by registrations in progress.
    budget: PageBudget,
}

impl DomainRings {
    /// register_ring's checks that need the table, before anything is read or taken:
    /// `ESRCH` if the domain is dying; `ENOSPC` if this would be a ring beyond
    /// [`abi::V4V_MAX_RINGS_PER_DOMAIN`] or its pages would exceed the budget. On success
    /// `npage` pages are reserved: `budget.settle` must follow.
    fn reserve(&mut self, key: RingKey, npage: u32) -> Result<(), Errno> {
        if self.dead {
            return Err(Errno::ESRCH);
        }
        if !self.table.has_room_for(key) {
            return Err(Errno::ENOSPC);
        }
        let replaced = self.table.find(key).map(|r| r.npage);
        self.budget.reserve(npage, replaced)
    }
}

struct Ring {
    /// Data area bytes (Xen's copy; the guest's header field is not read again).
    len: u32,
    /// Pages the ring holds (counted in its domain's budget).
    npage: u32,
    state: SpinLock<RingState>,
}

struct RingState {
    /// Xen's tx pointer (16-aligned, < len); written to the guest after each message.
    tx: u32,
    pages: RingPages,
    waiters: Waiters,
}

const RX_PTR_OFF: u64 = offset_of!(RingHeader, rx_ptr) as u64;
const TX_PTR_OFF: u64 = offset_of!(RingHeader, tx_ptr) as u64;
const ID_DOMAIN_OFF: u64 = (offset_of!(RingHeader, id) + offset_of!(Addr, domain)) as u64;
const DATA_OFF: u64 = abi::RING_HEADER_SIZE as u64;
const PAGES_OFF: u64 = size_of::<PfnListHeader>() as u64;

/// The receiver's rx_ptr as it is now (raw; ring:: sanitises it). A ring whose header
/// cannot be read (cannot happen: page 0 is held) counts as full.
fn read_rx(view: &mut RingView<'_>, tx: u32) -> u32 {
    let rx = view.read_u32(RX_PTR_OFF).unwrap_or(tx.wrapping_add(16));
    // Read the pointer before the bytes it frees are overwritten (C: smp_mb()).
    fence(Ordering::Acquire);
    rx
}

impl RingState {
    /// [`read_rx`] through a view of its own.
    fn rx(&mut self) -> u32 {
        let tx = self.tx;
        read_rx(&mut self.pages.view(), tx)
    }
}

/// [`RingMem`] over a ring's held pages: data offsets shifted past the header.
struct XenRing<'a, 'v> {
    view: &'a mut RingView<'v>,
    len: u32,
}

impl RingMem for XenRing<'_, '_> {
    fn len(&self) -> u32 {
        self.len
    }
    fn write(&mut self, off: u32, bytes: &[u8]) {
        // Cannot fail: ring:: keeps off + len within the data area, which is held.
        let _ = self.view.write(DATA_OFF + off as u64, bytes);
    }
    fn copy_in(&mut self, off: u32, src: u64, n: u32) -> Result<(), Errno> {
        self.view.copy_from_guest(DATA_OFF + off as u64, src, n)
    }
    fn read_src(&mut self, src: u64, dst: &mut [u8]) -> Result<(), Errno> {
        read_bytes(src, dst)
    }
    fn probe(&mut self, src: u64, n: u32) -> Result<(), Errno> {
        probe_readable(src, n as u64)
    }
}

/// The V4V state of a domain, if it has one (system domains do not).
fn state(d: &DomainRef) -> Option<&DomainV4v> {
    // Unsafe outside the glue because the glue cannot know the field's Rust type: only this
    // module stores into d->v4v, always an XBox<DomainV4v>.
    // SAFETY: `d` is RCU-locked. d->v4v is set by domain_init before the domain is visible
    // and freed by domain_free after the RCU grace period, so the pointee outlives `d`'s
    // borrow; it is only ever accessed shared (its contents are behind locks).
    unsafe { (*glue::domain_v4v_slot(d.as_ptr())).cast::<DomainV4v>().as_ref() }
}

// ---- the hypercall ----

/// `long do_v4v_op(unsigned int cmd, XEN_GUEST_HANDLE_PARAM(void) arg1,
/// XEN_GUEST_HANDLE_PARAM(void) arg2, unsigned long arg3, unsigned long arg4)` (the
/// prototype hypercall-defs.c generates; declared in Xen's hypercall-defs.h).
#[unsafe(no_mangle)]
pub extern "C" fn do_v4v_op(
    cmd: c_uint,
    arg1: GuestHandleVoid,
    arg2: GuestHandleVoid,
    arg3: c_ulong,
    arg4: c_ulong,
) -> c_long {
    let Some(cmd) = Cmd::decode(cmd) else { return Errno::ENOSYS.to_ret() as c_long };
    let me = DomainRef::current();
    // As Argo's do_argo_op: may this domain use V4V at all? (Only FLASK can say no.)
    if let Err(e) = glue::xsm_enable(&me) {
        return e.to_ret() as c_long;
    }
    match dispatch(&me, cmd, arg1.p, arg2.p, arg3 as u64, arg4 as u64) {
        Ok(v) => v as c_long,
        Err(e) => e.to_ret() as c_long,
    }
}

fn dispatch(me: &DomainRef, cmd: Cmd, a1: u64, a2: u64, a3: u64, a4: u64) -> Result<i64, Errno> {
    cmd.check_unused(a1, a2, a3, a4)?;
    match cmd {
        Cmd::RegisterRing => register_ring(me, a1, a2).map(|()| 0),
        Cmd::UnregisterRing => unregister_ring(me, a1).map(|()| 0),
        Cmd::Send => {
            if a3 > abi::V4V_MAX_MSG as u64 {
                return Err(Errno::EMSGSIZE);
            }
            let len = a3 as u32;
            let buf = GuestRange::<u8>::new(a2, len as u64)?;
            send(me, a1, &[Segment { addr: buf.base(), len }], a4 as u32)
        }
        Cmd::Sendv => {
            if a3 > V4V_MAXIOV as u64 {
                return Err(Errno::EINVAL);
            }
            let niov = a3 as u32;
            let mut iovs = [Iov::default(); V4V_MAXIOV as usize];
            for (i, iov) in iovs.iter_mut().enumerate().take(niov as usize) {
                let at = a2.checked_add(i as u64 * size_of::<Iov>() as u64).ok_or(Errno::EFAULT)?;
                *iov = read_arg(at)?;
            }
            let iovs = &iovs[..niov as usize];
            abi::total_payload(iovs.iter().map(|v| v.iov_len), niov)?;
            let mut segs = [Segment { addr: 0, len: 0 }; V4V_MAXIOV as usize];
            for (s, v) in segs.iter_mut().zip(iovs) {
                // Each length fits (the total did); the range must not wrap.
                let r = GuestRange::<u8>::new(v.iov_base, v.iov_len)?;
                *s = Segment { addr: r.base(), len: v.iov_len as u32 };
            }
            send(me, a1, &segs[..niov as usize], a4 as u32)
        }
        Cmd::Notify => notify(me, a1).map(|()| 0),
    }
}

fn register_ring(me: &DomainRef, ring_p: u64, pfns_p: u64) -> Result<(), Errno> {
    let hdr: RingHeader = read_arg(ring_p)?;
    let pl: PfnListHeader = read_arg(pfns_p)?;
    let reg = abi::check_registration(&hdr, &pl)?;
    let partner = if reg.partner == V4V_DOMID_ANY {
        // As Argo: a ring any domain may fill only with `v4v-mac=permissive`.
        if !glue::mac_permissive() {
            return Err(Errno::EPERM);
        }
        None
    } else {
        Some(DomainRef::lookup(reg.partner)?)
    };
    glue::xsm_register(me, partner.as_ref())?;
    drop(partner);
    let st = state(me).ok_or(Errno::ENODEV)?;
    let key = RingKey { port: reg.port, partner: reg.partner };

    // Ring count and page budget first: a refused registration reads and takes nothing.
    st.rings.write().reserve(key, reg.npage)?;
    let ring = take_ring_pages(me, &reg, pfns_p);
    let outcome = {
        let mut rings = st.rings.write();
        match ring {
            Err(e) => {
                rings.budget.settle(reg.npage, false, 0);
                Err((e, None))
            }
            // Every check that can fail comes before the first write into the guest's
            // ring header (init_pointers): a failed registration writes nothing.
            Ok(ring) if rings.dead => {
                rings.budget.settle(reg.npage, false, 0);
                Err((Errno::ESRCH, Some(ring)))
            }
            Ok(ring) if !rings.table.has_room_for(key) => {
                // Rings registered concurrently took the last slots since the reservation.
                rings.budget.settle(reg.npage, false, 0);
                Err((Errno::ENOSPC, Some(ring)))
            }
            Ok(ring) => {
                // The pointers are read under L1 for writing: when this replaces a ring on
                // the same pages, a sender into the old ring may have written a message and
                // tx_ptr up to now; read earlier, the new ring would start at a stale tx_ptr
                // and overwrite that message (docs/fuzzing.md, V4V finding;
                // ci/suites/v4v/v4v-rereg).
                init_pointers(&ring, me.id());
                match rings.table.insert(key, ring) {
                    Ok(old) => {
                        rings.budget.settle(reg.npage, true, old.as_ref().map_or(0, |o| o.npage));
                        Ok(old)
                    }
                    // has_room_for said yes under the same lock.
                    Err((e, ring)) => {
                        rings.budget.settle(reg.npage, false, 0);
                        Err((e, Some(ring)))
                    }
                }
            }
        }
    };
    // Pages of a ring that did not go in, or of the ring a re-registration replaced, are
    // released here, outside L1.
    match outcome {
        Ok(old) => {
            drop(old);
            Ok(())
        }
        Err((e, ring)) => {
            drop(ring);
            Err(e)
        }
    }
}

/// The ring's pages: the guest's page list copied into Xen once, a page listed twice
/// refused (`EINVAL`), a reference taken on each (no lock held: only the caller's own
/// memory is touched). Work: at most [`abi::V4V_MAX_RING_PAGES`] pages, within the
/// budget reserved for them.
fn take_ring_pages(
    me: &DomainRef,
    reg: &abi::RingRegistration,
    pfns_p: u64,
) -> Result<XBox<Ring>, Errno> {
    let list = pfns_p.checked_add(PAGES_OFF).ok_or(Errno::EFAULT)?;
    let mut pages = RingPages::read_gfns(list, reg.npage)?;
    pages.refuse_duplicates()?;
    pages.take_refs(me)?; // on error `pages` drops: the references taken are released
    XBox::new(Ring {
        len: reg.len,
        npage: reg.npage,
        state: SpinLock::new(RingState { tx: 0, pages, waiters: Waiters::new() }),
    })
}

/// Takes the ring's pointers from the header in its page 0 (kept if both are valid, else
/// both 0), writes Xen's tx_ptr, id.addr.domain and a reset rx_ptr back there. Reads before
/// writes; nothing here can fail once the ring holds its pages.
fn init_pointers(ring: &Ring, me: u16) {
    let mut rs = ring.state.lock();
    let mut view = rs.pages.view();
    // Page 0 is held (npage >= 1), so the reads cannot fail; 0 would reset both anyway.
    let rx = view.read_u32(RX_PTR_OFF).unwrap_or(u32::MAX);
    let tx = view.read_u32(TX_PTR_OFF).unwrap_or(u32::MAX);
    let (rx0, tx0) = abi::initial_pointers(ring.len, rx, tx);
    if (rx0, tx0) != (rx, tx) {
        let _ = view.write_u32(RX_PTR_OFF, rx0);
    }
    let _ = view.write_u32(TX_PTR_OFF, tx0);
    let _ = view.write(ID_DOMAIN_OFF, &me.to_le_bytes());
    drop(view);
    rs.tx = tx0;
}

fn unregister_ring(me: &DomainRef, ring_p: u64) -> Result<(), Errno> {
    let hdr: RingHeader = read_arg(ring_p)?;
    if hdr.magic != abi::V4V_RING_MAGIC {
        return Err(Errno::EINVAL);
    }
    let st = state(me).ok_or(Errno::ENODEV)?;
    let key = RingKey { port: hdr.id.addr.port, partner: hdr.id.partner };
    let ring = {
        let mut rings = st.rings.write();
        let ring = rings.table.remove(key).ok_or(Errno::ENOENT)?;
        rings.budget.release(ring.npage);
        ring
    };
    drop(ring); // no sender can be inside it (they hold L1 for reading); outside L1
    Ok(())
}

fn send(me: &DomainRef, addr_p: u64, segs: &[Segment], protocol: u32) -> Result<i64, Errno> {
    let sa: SendAddr = read_arg(addr_p)?;
    abi::check_addr(&sa.src)?;
    abi::check_addr(&sa.dst)?;
    let payload: u32 = segs.iter().map(|s| s.len).sum(); // <= V4V_MAX_MSG (checked)
    let dst = DomainRef::lookup(sa.dst.domain).map_err(|_| Errno::ECONNREFUSED)?;
    if glue::is_dying(&dst) {
        return Err(Errno::ECONNREFUSED);
    }
    glue::xsm_send(me, &dst)?;
    let st = state(&dst).ok_or(Errno::ECONNREFUSED)?;
    let hdr = MessageHeader {
        len: 0,
        source: Addr { port: sa.src.port, domain: me.id(), pad: 0 },
        protocol,
    };
    {
        let rings = st.rings.read();
        if rings.dead {
            return Err(Errno::ECONNREFUSED);
        }
        let ring = rings.table.lookup_for_send(sa.dst.port, me.id()).ok_or(Errno::ECONNREFUSED)?;
        let mut guard = ring.state.lock();
        let RingState { tx, pages, waiters } = &mut *guard;
        let mut view = pages.view();
        let rx = read_rx(&mut view, *tx);
        let r = ring::write_message(
            &mut XenRing { view: &mut view, len: ring.len },
            rx,
            *tx,
            hdr,
            segs,
        );
        match r {
            Ok(new_tx) => {
                // The message bytes before the pointer that publishes them (C: smp_wmb()).
                fence(Ordering::Release);
                *tx = new_tx;
                let _ = view.write_u32(TX_PTR_OFF, new_tx);
                waiters.remove(me.id());
            }
            Err(Errno::EAGAIN) => {
                waiters.add(me.id(), payload);
                return Err(Errno::EAGAIN);
            }
            Err(e) => return Err(e),
        }
    }
    glue::raise_virq(&dst);
    Ok(payload as i64)
}

fn notify(me: &DomainRef, rd_p: u64) -> Result<(), Errno> {
    // 1. As a receiver: wake the senders waiting on my rings whose space is now free.
    if let Some(st) = state(me) {
        let rings = st.rings.read();
        for (_, ring) in rings.table.iter() {
            let mut ready = [0 as DomId; MAX_WAITERS];
            let n = {
                let mut rs = ring.state.lock();
                if rs.waiters.is_empty() {
                    continue;
                }
                let (rx, tx, len) = (rs.rx(), rs.tx, ring.len);
                rs.waiters.take_ready(|space| ring::fits_now(len, rx, tx, space), &mut ready)
            };
            for &w in &ready[..n] {
                if let Ok(d) = DomainRef::lookup(w) {
                    glue::raise_virq(&d);
                }
            }
        }
    }
    if rd_p == 0 {
        return Ok(());
    }
    // 2. As a sender: report on the rings named in the ring data. Every entry is read and
    // checked before any is answered, so a bad one (EFAULT, EINVAL) leaves the caller's
    // buffer and every ring's waiters as they were.
    let rd: RingDataHeader = read_arg(rd_p)?;
    if rd.magic != V4V_RING_DATA_MAGIC || rd.pad != 0 || rd.nent > V4V_MAX_NOTIFY_ENT {
        return Err(Errno::EINVAL);
    }
    let ent_at = |i: u64| {
        rd_p.checked_add(size_of::<RingDataHeader>() as u64 + i * size_of::<RingDataEnt>() as u64)
            .ok_or(Errno::EFAULT)
    };
    let mut ents = [RingDataEnt::default(); V4V_MAX_NOTIFY_ENT as usize];
    let ents = &mut ents[..rd.nent as usize];
    for (i, ent) in ents.iter_mut().enumerate() {
        *ent = read_arg(ent_at(i as u64)?)?;
        abi::check_addr(&ent.ring)?;
    }
    for (i, ent) in ents.iter_mut().enumerate() {
        let (flags, max) = ring_data(me, ent);
        ent.flags = flags.bits();
        ent.max_message_size = max;
        // Only a buffer the caller makes unwritable meanwhile fails here, after the entries
        // before it were written (its own memory; the waits recorded are only wake-ups).
        write_arg(ent_at(i as u64)?, ent)?;
    }
    Ok(())
}

/// One notify entry: the flags and max_message_size for the ring `me` would send to.
fn ring_data(me: &DomainRef, ent: &RingDataEnt) -> (RingDataFlags, u32) {
    let none = (RingDataFlags::empty(), 0);
    let Ok(dst) = DomainRef::lookup(ent.ring.domain) else { return none };
    if glue::is_dying(&dst) || glue::xsm_send(me, &dst).is_err() {
        return none;
    }
    let Some(st) = state(&dst) else { return none };
    let rings = st.rings.read();
    if rings.dead {
        return none;
    }
    let Some(ring) = rings.table.lookup_for_send(ent.ring.port, me.id()) else { return none };
    let mut rs = ring.state.lock();
    let (rx, tx, len) = (rs.rx(), rs.tx, ring.len);
    let mut flags = RingDataFlags::EXISTS;
    if ring::is_empty(len, rx, tx) {
        flags |= RingDataFlags::EMPTY;
    }
    let want = ent.space_required;
    if ring::fits_now(len, rx, tx, want) {
        flags |= RingDataFlags::SUFFICIENT;
        rs.waiters.remove(me.id());
    } else if abi::could_ever_fit(len, want) && rs.waiters.add(me.id(), want) {
        flags |= RingDataFlags::PENDING;
    }
    (flags, abi::max_message_size(len))
}

// ---- domain hooks (patches/0021) ----

/// domain_create(): give `d` an empty ring table. 0 or -ENOMEM.
///
/// # Safety
/// `d` is a domain being created (not yet visible to other pCPUs).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xen_rust_v4v_domain_init(d: *mut c_void) -> c_int {
    // As argo_init: a domain XSM does not let use V4V gets no state (its hypercalls are
    // refused by the same check in do_v4v_op).
    // SAFETY: guaranteed by the caller.
    if unsafe { glue::xsm_enable_raw(d.cast()) }.is_err() {
        return 0;
    }
    let st = XBox::new(DomainV4v {
        rings: RwLock::new(DomainRings {
            dead: false,
            table: RingTable::new(),
            budget: PageBudget::new(abi::V4V_DEFAULT_MAX_RING_PAGES),
        }),
    });
    match st {
        Ok(st) => {
            // SAFETY: guaranteed by the caller; nobody else can see d->v4v yet.
            unsafe { *glue::domain_v4v_slot(d.cast()) = st.into_raw().cast() };
            0
        }
        Err(e) => e.to_ret() as c_int,
    }
}

/// create_domUs(): the dom0less domain node's `xen,v4v-max-ring-pages` (patches/0022): the
/// most ring pages `d` may hold, capped at [`abi::V4V_MAX_BUDGET_PAGES`] (0: no ring at all).
///
/// # Safety
/// `d` is a domain just created, not yet running.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xen_rust_v4v_set_max_ring_pages(d: *mut c_void, pages: u32) {
    // SAFETY: guaranteed by the caller; the state, if any, lives until domain_free.
    let p = unsafe { *glue::domain_v4v_slot(d.cast()) }.cast::<DomainV4v>();
    // SAFETY: as above: set by domain_init, freed only by domain_free.
    if let Some(st) = unsafe { p.as_ref() } {
        st.rings.write().budget.set_max(pages.min(abi::V4V_MAX_BUDGET_PAGES));
    }
}

/// domain_kill(): unregister every ring of `d` (pages unmapped, references dropped) and
/// refuse new rings and sends from now on.
///
/// # Safety
/// `d` is a live domain that has just been marked dying.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xen_rust_v4v_domain_destroy(d: *mut c_void) {
    // SAFETY: guaranteed by the caller; the state, if any, lives until domain_free.
    let p = unsafe { *glue::domain_v4v_slot(d.cast()) }.cast::<DomainV4v>();
    // SAFETY: as above: set by domain_init, freed only by domain_free.
    let Some(st) = (unsafe { p.as_ref() }) else { return };
    let id = {
        let mut rings = st.rings.write();
        rings.dead = true;
        // At most the domain's budget of pages (default 8192) are released here.
        while let Some(ring) = rings.table.pop() {
            rings.budget.release(ring.npage);
            drop(ring);
        }
        // SAFETY: as above: `d` is live.
        unsafe { glue::domain_id_raw(d.cast()) }
    };
    // Forget the dying domain wherever it waits for space (no V4V lock held here; each
    // domain's L1 then L2, one at a time).
    for_each_domain(|other| {
        if let Some(ost) = state(other) {
            let rings = ost.rings.read();
            for (_, ring) in rings.table.iter() {
                ring.state.lock().waiters.remove(id);
            }
        }
    });
}

/// _domain_destroy(): free `d`'s V4V state (releasing any ring left).
///
/// # Safety
/// `d` is being destroyed: no RCU reader or hypercall can reach it any more.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn xen_rust_v4v_domain_free(d: *mut c_void) {
    // SAFETY: guaranteed by the caller.
    let slot = unsafe { glue::domain_v4v_slot(d.cast()) };
    // SAFETY: as above; the pointer came from XBox::into_raw in domain_init (or is NULL).
    let st = unsafe { XBox::from_raw((*slot).cast::<DomainV4v>()) };
    // SAFETY: as above.
    unsafe { *slot = core::ptr::null_mut() };
    drop(st);
}
