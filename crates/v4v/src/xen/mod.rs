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

use crate::abi::{
    self, Addr, Cmd, DomId, Iov, MessageHeader, PfnListHeader, RingDataEnt, RingDataFlags,
    RingDataHeader, RingHeader, SendAddr, V4V_DOMID_ANY, V4V_MAX_NOTIFY_ENT, V4V_MAXIOV,
    V4V_RING_DATA_MAGIC,
};
use crate::ring::{self, RingMem, Segment};
use crate::table::{MAX_WAITERS, RingKey, RingTable, Waiters};
use core::ffi::{c_int, c_long, c_uint, c_ulong, c_void};
use core::mem::{offset_of, size_of};
use core::sync::atomic::{Ordering, fence};
use xen_rust_glue::Errno;
use xen_rust_glue::domain::{DomainRef, for_each_domain};
use xen_rust_glue::guest::{GuestRange, probe_readable, read_arg, read_bytes, write_arg};
use xen_rust_glue::sync::{RwLock, SpinLock};
use xen_rust_glue::v4v::{self as glue, RingPages};
use xen_rust_glue::xbox::XBox;

/// `XEN_GUEST_HANDLE_PARAM(void)` on arm64: a struct holding the guest address.
#[repr(C)]
pub struct GuestHandleVoid {
    pub p: u64,
}

struct DomainV4v {
    rings: RwLock<DomainRings>,
}

struct DomainRings {
    /// Set by domain_kill's hook: no ring may be registered or sent to any more.
    dead: bool,
    table: RingTable<XBox<Ring>>,
}

struct Ring {
    /// Data area bytes (Xen's copy; the guest's header field is not read again).
    len: u32,
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

impl RingState {
    /// The receiver's rx_ptr as it is now (raw; ring:: sanitises it). A ring whose header
    /// cannot be read (cannot happen: page 0 stays mapped) counts as full.
    fn rx(&self) -> u32 {
        let rx = self.pages.read_u32(RX_PTR_OFF).unwrap_or(self.tx.wrapping_add(16));
        // Read the pointer before the bytes it frees are overwritten (C: smp_mb()).
        fence(Ordering::Acquire);
        rx
    }
}

/// [`RingMem`] over a ring's mapped pages: data offsets shifted past the header.
struct XenRing<'a> {
    pages: &'a mut RingPages,
    len: u32,
}

impl RingMem for XenRing<'_> {
    fn len(&self) -> u32 {
        self.len
    }
    fn write(&mut self, off: u32, bytes: &[u8]) {
        // Cannot fail: ring:: keeps off + len within the data area, which is mapped.
        let _ = self.pages.write(DATA_OFF + off as u64, bytes);
    }
    fn copy_in(&mut self, off: u32, src: u64, n: u32) -> Result<(), Errno> {
        self.pages.copy_from_guest(DATA_OFF + off as u64, src, n)
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

fn current() -> Result<DomainRef, Errno> {
    Ok(DomainRef::current())
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
    match dispatch(cmd, arg1.p, arg2.p, arg3 as u64, arg4 as u64) {
        Ok(v) => v as c_long,
        Err(e) => e.to_ret() as c_long,
    }
}

fn dispatch(cmd: Cmd, a1: u64, a2: u64, a3: u64, a4: u64) -> Result<i64, Errno> {
    cmd.check_unused(a1, a2, a3, a4)?;
    let me = current()?;
    match cmd {
        Cmd::RegisterRing => register_ring(&me, a1, a2).map(|()| 0),
        Cmd::UnregisterRing => unregister_ring(&me, a1).map(|()| 0),
        Cmd::Send => {
            if a3 > abi::V4V_MAX_MSG as u64 {
                return Err(Errno::EMSGSIZE);
            }
            let len = a3 as u32;
            let buf = GuestRange::<u8>::new(a2, len as u64)?;
            send(&me, a1, &[Segment { addr: buf.base(), len }], a4 as u32)
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
            send(&me, a1, &segs[..niov as usize], a4 as u32)
        }
        Cmd::Notify => notify(&me, a1).map(|()| 0),
    }
}

fn register_ring(me: &DomainRef, ring_p: u64, pfns_p: u64) -> Result<(), Errno> {
    let hdr: RingHeader = read_arg(ring_p)?;
    let pl: PfnListHeader = read_arg(pfns_p)?;
    let reg = abi::check_registration(&hdr, &pl)?;
    let partner =
        if reg.partner == V4V_DOMID_ANY { None } else { Some(DomainRef::lookup(reg.partner)?) };
    glue::xsm_register(me, partner.as_ref())?;
    drop(partner);
    let st = state(me).ok_or(Errno::EINVAL)?;

    // Map every page (no lock held: only the caller's own memory is touched).
    let mut pages = RingPages::new(reg.npage)?;
    for i in 0..reg.npage as u64 {
        let at = pfns_p.checked_add(PAGES_OFF + i * 8).ok_or(Errno::EFAULT)?;
        let gfn: u64 = read_arg(at)?;
        pages.map_next(me, gfn)?; // on error `pages` drops: mapped pages are released
    }
    let ring = XBox::new(Ring {
        len: reg.len,
        state: SpinLock::new(RingState { tx: 0, pages, waiters: Waiters::new() }),
    })?;
    let key = RingKey { port: reg.port, partner: reg.partner };
    let inserted = {
        let mut rings = st.rings.write();
        if rings.dead {
            Err((Errno::ESRCH, ring))
        } else {
            // The pointers are read under L1 for writing: when this replaces a ring on the
            // same pages, a sender into the old ring may have written a message and tx_ptr
            // up to now; read earlier, the new ring would start at a stale tx_ptr and
            // overwrite that message (docs/fuzzing.md, V4V finding; ci/suites/v4v/v4v-rereg).
            match init_pointers(&ring, me.id()) {
                Ok(()) => rings.table.insert(key, ring),
                Err(e) => Err((e, ring)),
            }
        }
    };
    // Pages of a ring that did not go in, or of the ring a re-registration replaced, are
    // released here, outside L1.
    match inserted {
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

/// Takes the ring's pointers from the header in its mapped page 0 (kept if both are valid,
/// else both 0), writes Xen's tx_ptr, id.addr.domain and a reset rx_ptr back there.
fn init_pointers(ring: &Ring, me: u16) -> Result<(), Errno> {
    let mut rs = ring.state.lock();
    let rx = rs.pages.read_u32(RX_PTR_OFF).ok_or(Errno::EFAULT)?;
    let tx = rs.pages.read_u32(TX_PTR_OFF).ok_or(Errno::EFAULT)?;
    let (rx0, tx0) = abi::initial_pointers(ring.len, rx, tx);
    if (rx0, tx0) != (rx, tx) {
        rs.pages.write_u32(RX_PTR_OFF, rx0)?;
    }
    rs.pages.write_u32(TX_PTR_OFF, tx0)?;
    rs.pages.write(ID_DOMAIN_OFF, &me.to_le_bytes())?;
    rs.tx = tx0;
    Ok(())
}

fn unregister_ring(me: &DomainRef, ring_p: u64) -> Result<(), Errno> {
    let hdr: RingHeader = read_arg(ring_p)?;
    if hdr.magic != abi::V4V_RING_MAGIC {
        return Err(Errno::EINVAL);
    }
    let st = state(me).ok_or(Errno::ENOENT)?;
    let key = RingKey { port: hdr.id.addr.port, partner: hdr.id.partner };
    let ring = st.rings.write().table.remove(key).ok_or(Errno::ENOENT)?;
    drop(ring); // no sender can be inside it: they hold L1 for reading
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
        let mut rs = ring.state.lock();
        let rx = rs.rx();
        let tx = rs.tx;
        let r = ring::write_message(
            &mut XenRing { pages: &mut rs.pages, len: ring.len },
            rx,
            tx,
            hdr,
            segs,
        );
        match r {
            Ok(new_tx) => {
                // The message bytes before the pointer that publishes them (C: smp_wmb()).
                fence(Ordering::Release);
                rs.tx = new_tx;
                let _ = rs.pages.write_u32(TX_PTR_OFF, new_tx);
                rs.waiters.remove(me.id());
            }
            Err(Errno::EAGAIN) => {
                rs.waiters.add(me.id(), payload);
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
    // 2. As a sender: report on the rings named in the ring data.
    let rd: RingDataHeader = read_arg(rd_p)?;
    if rd.magic != V4V_RING_DATA_MAGIC || rd.pad != 0 || rd.nent > V4V_MAX_NOTIFY_ENT {
        return Err(Errno::EINVAL);
    }
    for i in 0..rd.nent as u64 {
        let at = rd_p
            .checked_add(size_of::<RingDataHeader>() as u64 + i * size_of::<RingDataEnt>() as u64)
            .ok_or(Errno::EFAULT)?;
        let mut ent: RingDataEnt = read_arg(at)?;
        abi::check_addr(&ent.ring)?;
        let (flags, max) = ring_data(me, &ent);
        ent.flags = flags.bits();
        ent.max_message_size = max;
        write_arg(at, &ent)?;
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
    let st = XBox::new(DomainV4v {
        rings: RwLock::new(DomainRings { dead: false, table: RingTable::new() }),
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
        while let Some(ring) = rings.table.pop() {
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
