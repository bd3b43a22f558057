//! A reference model of Xen's event channel operations, and host glue to run the real
//! ones against it.
//!
//! `World` and the `Host*` types implement crates/evtchn's glue traits over plain host
//! structures, so `evtchn::ops` and the 2-level logic run on the host exactly as in Xen. The
//! host glue also checks the locking rules as it goes (a panic is a finding): channel writes
//! only under the channel's write lock, no lock taken twice, two channel locks only in
//! `order_key` order, state changes only under the domain's event lock, and C's rule for the
//! channel lock: write-locked only while FREE or UNBOUND when taken or released (senders'
//! read-trylock drops the event otherwise), the notification vCPU of a bound channel moved
//! under the event lock alone.
//!
//! `Model` is a small reference written independently from the C semantics: what a guest can
//! observe. [`step`] runs one [`Op`] on both and compares results, active counts and pending
//! bits. Used by crates/evtchn's proptest suite (tests/model.rs) and by the libFuzzer target
//! fuzz/fuzz_targets/evtchn_model.rs.

use evtchn::abi::{self, DOMID_SELF, DomId, Port};
use evtchn::ops::{
    self, Channel, ChannelWrite, Counters, Domain, Env, EventAbi, EventLocks, PortTable, State,
    StatusUnion, Vcpus, Xsm,
};
use evtchn::twol::{self, TwoLevelBits};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use xen_rust_glue::Errno;

const BUCKET: u32 = 64;
const NR_VCPUS: u32 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HState {
    Free,
    Reserved,
    Unbound(DomId),
    Inter(usize, Port),
    Virq(u32),
    Ipi,
}

#[derive(Clone, Debug)]
struct HChan {
    state: HState,
    notify: u32,
    consumer: u8,
}

pub struct HDom {
    id: DomId,
    max_port: Port,
    chans: RefCell<Vec<HChan>>,
    active: Cell<u32>,
    xen: Cell<u32>,
    next_reset: Cell<u32>,
    free_hint: Cell<u32>,
    /// Port lookups (`chan()` calls), to show the free-port walk is not quadratic.
    pub lookups: Cell<u64>,
    /// Ports the environment reports busy (FIFO: still linked after close); Op::Busy.
    busy: RefCell<std::collections::BTreeSet<Port>>,
    virq: RefCell<Vec<[Port; abi::NR_VIRQS as usize]>>,
    pending: RefCell<Vec<u64>>,
    mask: RefCell<Vec<u64>>,
    sel: RefCell<Vec<u64>>,
    upcalls: Cell<u32>,
    event_locked: Cell<bool>,
    chan_locked: RefCell<BTreeMap<Port, bool>>, // port -> write?
}

pub struct World {
    pub doms: Vec<HDom>,
    /// The index in `doms` of the domain making the calls.
    pub current: Cell<usize>,
    /// Channel locks held right now, as (domain index, port), in acquisition order.
    held: RefCell<Vec<(usize, Port)>>,
}

#[derive(Clone, Copy)]
pub struct HostDom<'w> {
    pub w: &'w World,
    /// Index in `w.doms`.
    pub i: usize,
}
impl PartialEq for HostDom<'_> {
    fn eq(&self, o: &Self) -> bool {
        self.i == o.i
    }
}
impl Eq for HostDom<'_> {}
impl std::fmt::Debug for HostDom<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "d{}", self.i)
    }
}

#[derive(Clone, Copy)]
pub struct HostChan<'w> {
    pub d: HostDom<'w>,
    pub port: Port,
}

pub struct HostWrite<'w> {
    c: HostChan<'w>,
    /// The state when the write lock was taken (C's `chn->old_state`).
    old: HState,
}
pub struct HostRead<'w> {
    c: HostChan<'w>,
}
pub struct EvLock<'w> {
    d: HostDom<'w>,
}

impl<'w> HostDom<'w> {
    fn data(self) -> &'w HDom {
        &self.w.doms[self.i]
    }
}

impl<'w> HostChan<'w> {
    fn key(self) -> usize {
        self.d.i * 1_000_000 + self.port as usize
    }
    fn take(self, write: bool) {
        let mut locked = self.d.data().chan_locked.borrow_mut();
        assert!(
            !locked.contains_key(&self.port),
            "channel lock taken twice: {:?}/{}",
            self.d,
            self.port
        );
        if write {
            // Two write locks only in order (lock_pair).
            if let Some(&(di, p)) = self.d.w.held.borrow().last() {
                let prev = HostChan { d: HostDom { w: self.d.w, i: di }, port: p };
                assert!(prev.key() < self.key(), "channel locks out of order");
            }
        }
        locked.insert(self.port, write);
        self.d.w.held.borrow_mut().push((self.d.i, self.port));
    }
    fn release(self) {
        self.d.data().chan_locked.borrow_mut().remove(&self.port);
        self.d.w.held.borrow_mut().retain(|&(d, p)| !(d == self.d.i && p == self.port));
    }
    fn hchan(self) -> HChan {
        self.d.data().chans.borrow()[self.port as usize].clone()
    }
}

impl<'w> Drop for HostWrite<'w> {
    fn drop(&mut self) {
        // C's evtchn_write_unlock() ASSERT: FREE or UNBOUND when locked or when unlocked.
        let free_or_unbound = |s: HState| matches!(s, HState::Free | HState::Unbound(_));
        let new = self.c.hchan().state;
        if !std::thread::panicking() {
            assert!(
                free_or_unbound(self.old) || free_or_unbound(new),
                "{:?}/{} write-locked in state {:?} -> {:?}: C allows the channel write lock \
                 only on a FREE or UNBOUND channel (a sender's read-trylock would fail and drop \
                 the event)",
                self.c.d,
                self.c.port,
                self.old,
                new
            );
        }
        self.c.release();
    }
}
impl<'w> Drop for HostRead<'w> {
    fn drop(&mut self) {
        self.c.release();
    }
}
impl<'w> Drop for EvLock<'w> {
    fn drop(&mut self) {
        self.d.data().event_locked.set(false);
    }
}

impl<'w> ChannelWrite<HostDom<'w>> for HostWrite<'w> {
    fn set_state(&mut self, s: State<HostDom<'w>>) {
        assert!(self.c.d.data().event_locked.get(), "state change without the event lock");
        let h = match s {
            State::Free => HState::Free,
            State::Reserved => HState::Reserved,
            State::Unbound { remote } => HState::Unbound(remote),
            State::Interdomain { remote, remote_port } => HState::Inter(remote.i, remote_port),
            State::Pirq { .. } => panic!("no pirqs on the host"),
            State::Virq { virq } => HState::Virq(virq),
            State::Ipi => HState::Ipi,
        };
        self.c.d.data().chans.borrow_mut()[self.c.port as usize].state = h;
    }
    fn set_notify_vcpu(&mut self, v: u32) {
        self.c.d.data().chans.borrow_mut()[self.c.port as usize].notify = v;
    }
    fn set_xen_consumer(&mut self, c: u8) {
        self.c.d.data().chans.borrow_mut()[self.c.port as usize].consumer = c;
    }
}

impl<'w> Channel<HostDom<'w>> for HostChan<'w> {
    type Write = HostWrite<'w>;
    type Read = HostRead<'w>;
    fn port(self) -> Port {
        self.port
    }
    fn state(self) -> State<HostDom<'w>> {
        match self.hchan().state {
            HState::Free => State::Free,
            HState::Reserved => State::Reserved,
            HState::Unbound(r) => State::Unbound { remote: r },
            HState::Inter(d, p) => {
                State::Interdomain { remote: HostDom { w: self.d.w, i: d }, remote_port: p }
            }
            HState::Virq(v) => State::Virq { virq: v },
            HState::Ipi => State::Ipi,
        }
    }
    fn notify_vcpu(self) -> u32 {
        self.hchan().notify
    }
    fn set_notify_vcpu_unlocked(self, v: u32) {
        assert!(self.d.data().event_locked.get(), "notify vCPU moved without the event lock");
        self.d.data().chans.borrow_mut()[self.port as usize].notify = v;
    }
    fn xen_consumer(self) -> u8 {
        self.hchan().consumer
    }
    fn order_key(self) -> usize {
        self.key()
    }
    fn write(self) -> HostWrite<'w> {
        self.take(true);
        HostWrite { c: self, old: self.hchan().state }
    }
    fn read(self) -> HostRead<'w> {
        self.take(false);
        HostRead { c: self }
    }
    fn try_read(self) -> Option<HostRead<'w>> {
        if self.d.data().chan_locked.borrow().contains_key(&self.port) {
            return None;
        }
        Some(self.read())
    }
}

pub struct Bits<'a>(pub &'a HDom);
impl TwoLevelBits for Bits<'_> {
    fn bits_per_word(&self) -> u32 {
        64
    }
    fn test_and_set_pending(&self, p: Port) -> bool {
        let mut w = self.0.pending.borrow_mut();
        let old = w[(p / 64) as usize] >> (p % 64) & 1 == 1;
        w[(p / 64) as usize] |= 1 << (p % 64);
        old
    }
    fn test_pending(&self, p: Port) -> bool {
        self.0.pending.borrow()[(p / 64) as usize] >> (p % 64) & 1 == 1
    }
    fn clear_pending(&self, p: Port) {
        self.0.pending.borrow_mut()[(p / 64) as usize] &= !(1 << (p % 64));
    }
    fn test_mask(&self, p: Port) -> bool {
        self.0.mask.borrow()[(p / 64) as usize] >> (p % 64) & 1 == 1
    }
    fn test_and_clear_mask(&self, p: Port) -> bool {
        let r = self.test_mask(p);
        self.0.mask.borrow_mut()[(p / 64) as usize] &= !(1 << (p % 64));
        r
    }
    fn test_and_set_sel(&self, v: u32, w: u32) -> bool {
        let mut s = self.0.sel.borrow_mut();
        let old = s[v as usize] >> w & 1 == 1;
        s[v as usize] |= 1 << w;
        old
    }
    fn mark_events_pending(&self, _v: u32) {
        self.0.upcalls.set(self.0.upcalls.get() + 1);
    }
    fn check_pollers(&self, _p: Port) {}
}

fn usable(c: &HChan) -> bool {
    c.consumer == 0 && !matches!(c.state, HState::Free | HState::Reserved)
}

impl<'w> Domain for HostDom<'w> {
    type Chan = HostChan<'w>;

    fn id(self) -> DomId {
        self.data().id
    }
    fn is_dying(self) -> bool {
        false
    }
    fn chan(self, port: Port) -> Option<HostChan<'w>> {
        self.data().lookups.set(self.data().lookups.get() + 1);
        ((port as usize) < self.data().chans.borrow().len()).then_some(HostChan { d: self, port })
    }
}

impl<'w> PortTable for HostDom<'w> {
    fn max_port(self) -> Port {
        self.data().max_port
    }
    fn abi_max_ports(self) -> Port {
        abi::EVTCHN_2L_NR_CHANNELS
    }
    fn grow_to(self, port: Port) -> Result<(), Errno> {
        assert!(self.data().event_locked.get());
        let mut c = self.data().chans.borrow_mut();
        while port as usize >= c.len() {
            for _ in 0..BUCKET {
                c.push(HChan { state: HState::Free, notify: 0, consumer: 0 });
            }
        }
        Ok(())
    }
}

impl<'w> Counters for HostDom<'w> {
    fn active(self) -> u32 {
        self.data().active.get()
    }
    fn set_active(self, n: u32) {
        self.data().active.set(n)
    }
    fn xen_count(self) -> u32 {
        self.data().xen.get()
    }
    fn set_xen_count(self, n: u32) {
        self.data().xen.set(n)
    }
    fn next_reset(self) -> u32 {
        self.data().next_reset.get()
    }
    fn set_next_reset(self, p: u32) {
        self.data().next_reset.set(p)
    }
    fn free_hint(self) -> Port {
        assert!(self.data().event_locked.get(), "free-port hint used without the event lock");
        self.data().free_hint.get()
    }
    fn set_free_hint(self, p: Port) {
        assert!(self.data().event_locked.get(), "free-port hint set without the event lock");
        self.data().free_hint.set(p)
    }
}

impl<'w> EventLocks for HostDom<'w> {
    type EventLock = EvLock<'w>;
    type EventReadLock = EvLock<'w>;

    fn event_lock(self) -> EvLock<'w> {
        assert!(!self.data().event_locked.replace(true), "event lock taken twice");
        EvLock { d: self }
    }
    fn event_read_lock(self) -> EvLock<'w> {
        self.event_lock()
    }
}

impl<'w> Vcpus for HostDom<'w> {
    fn has_vcpu(self, id: u32) -> bool {
        id < NR_VCPUS
    }
    fn virq_port(self, vcpu: u32, virq: u32) -> Port {
        self.data().virq.borrow()[vcpu as usize][virq as usize]
    }
    fn set_virq_port(self, vcpu: u32, virq: u32, port: Port, _locked: bool) {
        self.data().virq.borrow_mut()[vcpu as usize][virq as usize] = port;
    }
}

impl<'w> EventAbi for HostDom<'w> {
    fn port_init(self, _c: HostChan<'w>) {}
    fn set_pending(self, vcpu: u32, c: HostChan<'w>) {
        if usable(&c.hchan()) {
            twol::set_pending(&Bits(self.data()), vcpu, c.port);
        }
    }
    fn clear_pending(self, c: HostChan<'w>) {
        if usable(&c.hchan()) {
            Bits(self.data()).clear_pending(c.port);
        }
    }
    fn unmask(self, c: HostChan<'w>) {
        let h = c.hchan();
        if usable(&h) {
            twol::unmask(&Bits(self.data()), h.notify, c.port);
        }
    }
    fn is_busy(self, c: HostChan<'w>) -> bool {
        self.data().busy.borrow().contains(&c.port())
    }
    fn set_priority(self, _c: HostChan<'w>, _p: u32) -> Result<(), Errno> {
        Err(Errno::ENOSYS)
    }
    fn reset_abi(self) {
        assert!(self.data().event_locked.get());
    }
}

impl<'w> Xsm for HostDom<'w> {
    fn xsm_unbound(self, _c: HostChan<'w>, _r: DomId) -> Result<(), Errno> {
        Ok(())
    }
    fn xsm_interdomain(self, _l: HostChan<'w>, _rd: Self, _r: HostChan<'w>) -> Result<(), Errno> {
        Ok(())
    }
    fn xsm_send(self, _c: HostChan<'w>) -> Result<(), Errno> {
        Ok(())
    }
    fn xsm_status(self, _c: HostChan<'w>) -> Result<(), Errno> {
        Ok(())
    }
    fn xsm_close_post(self, _c: HostChan<'w>) {}
}

pub struct DRef<'w>(HostDom<'w>);
impl<'w> std::ops::Deref for DRef<'w> {
    type Target = HostDom<'w>;
    fn deref(&self) -> &HostDom<'w> {
        &self.0
    }
}

pub struct HostEnv<'w>(pub &'w World);
impl<'w> Env for HostEnv<'w> {
    type Dom = HostDom<'w>;
    type DomRef = DRef<'w>;
    type Hold = ();
    fn current(&self) -> HostDom<'w> {
        HostDom { w: self.0, i: self.0.current.get() }
    }
    fn lookup(&self, id: DomId) -> Option<DRef<'w>> {
        if id == DOMID_SELF {
            return Some(DRef(self.current()));
        }
        self.0.doms.iter().position(|d| d.id == id).map(|i| DRef(HostDom { w: self.0, i }))
    }
    fn hold(&self, _d: HostDom<'w>) {}
    fn notify_xen_consumer(&self, _c: u8, _d: HostDom<'w>, _v: u32, _p: Port) {}
    fn preempt_check(&self) -> bool {
        false
    }
    fn xsm_reset(&self, _d: HostDom<'w>) -> Result<(), Errno> {
        Ok(())
    }
    fn controller_paused(&self, _d: HostDom<'w>) -> bool {
        false
    }
}

pub fn world(n: usize, max_port: Port) -> World {
    let doms = (0..n)
        .map(|i| HDom {
            id: i as DomId + 1,
            max_port,
            chans: RefCell::new(Vec::new()),
            active: Cell::new(0),
            xen: Cell::new(0),
            next_reset: Cell::new(0),
            free_hint: Cell::new(0),
            lookups: Cell::new(0),
            busy: RefCell::new(Default::default()),
            virq: RefCell::new(vec![[0; abi::NR_VIRQS as usize]; NR_VCPUS as usize]),
            pending: RefCell::new(vec![0; 64]),
            mask: RefCell::new(vec![0; 64]),
            sel: RefCell::new(vec![0; NR_VCPUS as usize]),
            upcalls: Cell::new(0),
            event_locked: Cell::new(false),
            chan_locked: RefCell::new(BTreeMap::new()),
        })
        .collect();
    let w = World { doms, current: Cell::new(0), held: RefCell::new(Vec::new()) };
    // evtchn_init: bucket 0, port 0 reserved, nothing active.
    for i in 0..n {
        let d = HostDom { w: &w, i };
        {
            let _l = d.event_lock();
            assert_eq!(ops::get_free_port(d), Ok(0));
            let mut g = d.chan(0).unwrap().write();
            g.set_state(State::Reserved);
        }
        d.set_active(0);
    }
    w
}

// ---------------------------------------------------------------------------------------
// The reference model: what a guest can observe, written from the ABI's description.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MState {
    Unbound(DomId),
    Inter(usize, Port),
    Virq(u32),
    Ipi,
}

#[derive(Clone, Debug)]
struct MDom {
    ports: BTreeMap<Port, (MState, u32)>, // state, notify vCPU
    valid: Port,                          // ports below this are "valid" (allocated buckets)
    pending: std::collections::BTreeSet<Port>,
    masked: std::collections::BTreeSet<Port>,
    virqs: BTreeMap<(u32, u32), Port>,
    /// Ports the port op reports busy (FIFO: linked after close): not allocatable.
    busy: std::collections::BTreeSet<Port>,
}

#[derive(Clone, Debug)]
pub struct Model {
    doms: Vec<MDom>,
    max_port: Port,
}

impl Model {
    pub fn new(n: usize, max_port: Port) -> Self {
        let d = MDom {
            ports: BTreeMap::new(),
            valid: BUCKET,
            pending: Default::default(),
            masked: Default::default(),
            virqs: BTreeMap::new(),
            busy: Default::default(),
        };
        Model { doms: vec![d; n], max_port }
    }
    fn idx(&self, cur: usize, id: DomId) -> Option<usize> {
        if id == DOMID_SELF {
            return Some(cur);
        }
        (id >= 1 && (id as usize) <= self.doms.len()).then(|| id as usize - 1)
    }
    fn free_port(&mut self, d: usize) -> Result<Port, Errno> {
        let limit = self.max_port.min(abi::EVTCHN_2L_NR_CHANNELS - 1);
        let dm = &self.doms[d];
        let p = (1..=limit)
            .find(|p| !dm.ports.contains_key(p) && !dm.busy.contains(p))
            .ok_or(Errno::ENOSPC)?;
        let dm = &mut self.doms[d];
        while p >= dm.valid {
            dm.valid += BUCKET;
        }
        Ok(p)
    }
    fn valid(&self, d: usize, p: Port) -> bool {
        p < self.doms[d].valid
    }
    fn set_pending(&mut self, d: usize, p: Port) {
        self.doms[d].pending.insert(p);
    }
    fn drop_port(&mut self, d: usize, p: Port) {
        self.doms[d].ports.remove(&p);
        self.doms[d].pending.remove(&p);
    }
}

/// One step of a sequence. `Busy`: the ABI's port op starts (or stops) reporting `port`
/// busy, as FIFO does for a port closed while still linked on a queue (a free but busy port
/// is skipped by allocation).
#[derive(Clone, Debug)]
pub enum Op {
    AllocUnbound { cur: usize, remote: u8 },
    BindInterdomain { cur: usize, rdom: u8, rport: Port },
    BindVirq { cur: usize, virq: u32, vcpu: u32 },
    BindIpi { cur: usize, vcpu: u32 },
    Close { cur: usize, port: Port },
    Send { cur: usize, port: Port },
    Status { cur: usize, dom: u8, port: Port },
    BindVcpu { cur: usize, port: Port, vcpu: u32 },
    Mask { cur: usize, port: Port },
    Unmask { cur: usize, port: Port },
    ClearPending { cur: usize, port: Port },
    Reset { cur: usize },
    Busy { cur: usize, port: Port, busy: bool },
}

/// A domid in 0..=4 (1..=3 exist with 3 domains) or DOMID_SELF.
fn domid(x: u8) -> DomId {
    if x == 5 { DOMID_SELF } else { x as DomId }
}


pub type Out = Result<(Port, u32, u32, u32), Errno>;

pub fn run_impl(w: &World, op: &Op) -> Out {
    let env = HostEnv(w);
    let z = |p: Port| (p, 0, 0, 0);
    match *op {
        Op::AllocUnbound { cur, remote } => {
            w.current.set(cur);
            ops::alloc_unbound(&env, DOMID_SELF, domid(remote), 0).map(z)
        }
        Op::BindInterdomain { cur, rdom, rport } => {
            w.current.set(cur);
            ops::bind_interdomain(&env, env.current(), domid(rdom), rport, 0).map(z)
        }
        Op::BindVirq { cur, virq, vcpu } => {
            w.current.set(cur);
            ops::bind_virq(&env, virq, vcpu, 0).map(z)
        }
        Op::BindIpi { cur, vcpu } => {
            w.current.set(cur);
            ops::bind_ipi(&env, vcpu).map(z)
        }
        Op::Close { cur, port } => {
            w.current.set(cur);
            ops::close(&env, env.current(), port, true).map(|()| z(0))
        }
        Op::Send { cur, port } => {
            w.current.set(cur);
            ops::send(&env, env.current(), port).map(|()| z(0))
        }
        Op::Status { cur, dom, port } => {
            w.current.set(cur);
            ops::status(&env, domid(dom), port).map(|s| {
                let (a, b) = match s.u {
                    StatusUnion::None => (0, 0),
                    StatusUnion::Dom(d) => (d as u32, 0),
                    StatusUnion::DomPort(d, p) => (d as u32, p),
                    StatusUnion::Word(x) => (x, 0),
                };
                (s.status, s.vcpu, a, b)
            })
        }
        Op::BindVcpu { cur, port, vcpu } => {
            w.current.set(cur);
            ops::bind_vcpu(&env, port, vcpu).map(|()| z(0))
        }
        Op::Mask { cur, port } => {
            w.doms[cur].mask.borrow_mut()[(port / 64) as usize] |= 1 << (port % 64);
            Ok(z(0))
        }
        Op::Unmask { cur, port } => {
            w.current.set(cur);
            ops::unmask(&env, port).map(|()| z(0))
        }
        Op::ClearPending { cur, port } => {
            w.doms[cur].pending.borrow_mut()[(port / 64) as usize] &= !(1 << (port % 64));
            Ok(z(0))
        }
        Op::Reset { cur } => {
            w.current.set(cur);
            ops::reset(&env, env.current(), false).map(|_| z(0))
        }
        Op::Busy { cur, port, busy } => {
            let mut b = w.doms[cur].busy.borrow_mut();
            if busy {
                b.insert(port)
            } else {
                b.remove(&port)
            };
            Ok(z(0))
        }
    }
}

pub fn run_model(m: &mut Model, op: &Op) -> Out {
    let z = |p: Port| (p, 0, 0, 0);
    match *op {
        Op::AllocUnbound { cur, remote } => {
            let p = m.free_port(cur)?;
            let remote = if domid(remote) == DOMID_SELF { cur as DomId + 1 } else { domid(remote) };
            m.doms[cur].ports.insert(p, (MState::Unbound(remote), 0));
            Ok(z(p))
        }
        Op::BindInterdomain { cur, rdom, rport } => {
            let rd = m.idx(cur, domid(rdom)).ok_or(Errno::ESRCH)?;
            let lp = m.free_port(cur)?;
            if !m.valid(rd, rport) {
                return Err(Errno::EINVAL);
            }
            match m.doms[rd].ports.get(&rport) {
                Some((MState::Unbound(r), _)) if *r == cur as DomId + 1 => {}
                _ => return Err(Errno::EINVAL),
            }
            let rn = m.doms[rd].ports[&rport].1;
            m.doms[cur].ports.insert(lp, (MState::Inter(rd, rport), 0));
            m.doms[rd].ports.insert(rport, (MState::Inter(cur, lp), rn));
            m.set_pending(cur, lp);
            Ok(z(lp))
        }
        Op::BindVirq { cur, virq, vcpu } => {
            if virq >= abi::NR_VIRQS || (abi::virq_is_global(virq) && vcpu != 0) {
                return Err(Errno::EINVAL);
            }
            if vcpu >= NR_VCPUS {
                return Err(Errno::ENOENT);
            }
            if m.doms[cur].virqs.contains_key(&(vcpu, virq)) {
                return Err(Errno::EEXIST);
            }
            let p = m.free_port(cur)?;
            m.doms[cur].ports.insert(p, (MState::Virq(virq), vcpu));
            m.doms[cur].virqs.insert((vcpu, virq), p);
            Ok(z(p))
        }
        Op::BindIpi { cur, vcpu } => {
            if vcpu >= NR_VCPUS {
                return Err(Errno::ENOENT);
            }
            let p = m.free_port(cur)?;
            m.doms[cur].ports.insert(p, (MState::Ipi, vcpu));
            Ok(z(p))
        }
        Op::Close { cur, port } => model_close(m, cur, port).map(|()| z(0)),
        Op::Send { cur, port } => {
            if !m.valid(cur, port) {
                return Err(Errno::EINVAL);
            }
            match m.doms[cur].ports.get(&port).copied() {
                Some((MState::Inter(rd, rp), _)) => m.set_pending(rd, rp),
                Some((MState::Ipi, _)) => m.set_pending(cur, port),
                Some((MState::Unbound(_), _)) => {}
                _ => return Err(Errno::EINVAL),
            }
            Ok(z(0))
        }
        Op::Status { cur, dom, port } => {
            let d = m.idx(cur, domid(dom)).ok_or(Errno::ESRCH)?;
            if !m.valid(d, port) {
                return Err(Errno::EINVAL);
            }
            Ok(match m.doms[d].ports.get(&port) {
                None => (abi::stat::CLOSED, 0, 0, 0),
                Some(&(MState::Unbound(r), n)) => (abi::stat::UNBOUND, n, r as u32, 0),
                Some(&(MState::Inter(rd, rp), n)) => (abi::stat::INTERDOMAIN, n, rd as u32 + 1, rp),
                Some(&(MState::Virq(v), n)) => (abi::stat::VIRQ, n, v, 0),
                Some(&(MState::Ipi, n)) => (abi::stat::IPI, n, 0, 0),
            })
        }
        Op::BindVcpu { cur, port, vcpu } => {
            if vcpu >= NR_VCPUS {
                return Err(Errno::ENOENT);
            }
            if !m.valid(cur, port) {
                return Err(Errno::EINVAL);
            }
            match m.doms[cur].ports.get_mut(&port) {
                Some((MState::Virq(v), n)) if abi::virq_is_global(*v) => *n = vcpu,
                Some((MState::Unbound(_) | MState::Inter(..), n)) => *n = vcpu,
                _ => return Err(Errno::EINVAL),
            }
            Ok(z(0))
        }
        Op::Mask { cur, port } => {
            m.doms[cur].masked.insert(port);
            Ok(z(0))
        }
        Op::Unmask { cur, port } => {
            if !m.valid(cur, port) {
                return Err(Errno::EINVAL);
            }
            if m.doms[cur].ports.contains_key(&port) {
                m.doms[cur].masked.remove(&port);
            }
            Ok(z(0))
        }
        Op::ClearPending { cur, port } => {
            m.doms[cur].pending.remove(&port);
            Ok(z(0))
        }
        Op::Reset { cur } => {
            let ports: Vec<Port> = m.doms[cur].ports.keys().copied().collect();
            for p in ports {
                let _ = model_close(m, cur, p);
            }
            Ok(z(0))
        }
        Op::Busy { cur, port, busy } => {
            let b = &mut m.doms[cur].busy;
            if busy {
                b.insert(port)
            } else {
                b.remove(&port)
            };
            Ok(z(0))
        }
    }
}

fn model_close(m: &mut Model, cur: usize, port: Port) -> Result<(), Errno> {
    if !m.valid(cur, port) {
        return Err(Errno::EINVAL);
    }
    match m.doms[cur].ports.get(&port).copied() {
        None => return Err(Errno::EINVAL),
        Some((MState::Inter(rd, rp), _)) => {
            let n = m.doms[rd].ports[&rp].1;
            m.doms[rd].ports.insert(rp, (MState::Unbound(cur as DomId + 1), n));
        }
        Some((MState::Virq(v), vcpu)) => {
            let vcpu = if abi::virq_is_global(v) { 0 } else { vcpu };
            m.doms[cur].virqs.remove(&(vcpu, v));
        }
        _ => {}
    }
    m.drop_port(cur, port);
    Ok(())
}

/// Pending bits the guest sees, for every port the model knows about.
pub fn check_same(w: &World, m: &Model) {
    for (i, md) in m.doms.iter().enumerate() {
        let hd = &w.doms[i];
        let chans = hd.chans.borrow();
        assert_eq!(chans.len() as u32, md.valid, "valid ports of d{i}");
        let open =
            chans.iter().filter(|c| !matches!(c.state, HState::Free | HState::Reserved)).count();
        assert_eq!(hd.active.get() as usize, open, "active count of d{i}");
        assert_eq!(open, md.ports.len(), "open ports of d{i}");
        for p in 0..md.valid.min(4096) {
            let bit = hd.pending.borrow()[(p / 64) as usize] >> (p % 64) & 1 == 1;
            assert_eq!(bit, md.pending.contains(&p), "pending bit of d{i} port {p}");
        }
        assert!(!hd.event_locked.get());
        assert!(hd.chan_locked.borrow().is_empty());
    }
    assert!(w.held.borrow().is_empty());
}

/// One operation on the implementation and on the model: the results must be equal, and so
/// must what [`check_same`] compares (a panic is a failure; proptest shrinks it). The result.
pub fn step(w: &World, m: &mut Model, op: &Op) -> Out {
    let got = run_impl(w, op);
    assert_eq!(got, run_model(m, op), "op {op:?}");
    check_same(w, m);
    got
}
