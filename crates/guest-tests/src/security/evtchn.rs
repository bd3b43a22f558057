//! Event channel reproducers: a global VIRQ raised while its port moves between vCPUs (the
//! channel read-trylock that built its guard when it failed, and EVTCHNOP_bind_vcpu taking the
//! channel's write lock so that the VIRQ's trylock failed and the event was dropped), and one
//! domain exhausting every per-domain event channel budget while another keeps its service.
//!
//! The VIRQs come from ring protocols, the only way a domU makes Xen raise a global VIRQ:
//! V4V (VIRQ_V4V, the Rust build) or Argo (VIRQ_ARGO with `argo=1`, both builds), through
//! [`crate::v4v::Proto`]. Each successful send raises the destination's VIRQ once
//! (send_guest_global_virq). A test sends one message, then waits for its event: upcalls count
//! events per vCPU ([`upcall::delivered`]), and an event that is neither delivered nor pending
//! after [`WAIT_MS`] is lost — C loses none, whichever vCPU the port is bound to meanwhile.
//!
//! Command lines: `proto=v4v|argo`, `n=N` (events), `role=rx|tx peer=D` (storm),
//! `role=noisy|victim shm=GPA` (noisy neighbour).

use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering, fence};
use xtf::{check, expect_eq, try_op};

use xtf::abi::{self, DOMID_SELF, DomId, Errno, EventWordFlags, SchedPoll, virq};
use xtf::guest::fifo::Fifo;
use xtf::guest::shared_info::{self, SharedInfo};
use xtf::guest::{evtchn, hypercall, smp, timer, upcall};
use xtf::{Env, println, xtf_error, xtf_failure, xtf_success, xtf_warning};

use crate::v4v::{self as rings, Ctx, PEER_MS, Proto, ProtoRing};

/// How long one event may take to arrive before it counts as lost (generous: a loaded host
/// can stall one of QEMU's vCPU threads for seconds; only a lost event waits this long).
pub const WAIT_MS: u64 = 15_000;
/// A run stops after this many lost events: enough to fail, without waiting out thousands.
const MAX_LOST: u32 = 3;
/// The ring port of these tests.
const RING_PORT: u32 = 0x5ec0;
/// Ring bytes: room for many small messages (each test drains after every event).
const RING_LEN: u32 = 4096;

// ---- the bind_vcpu worker on vCPU 1 ----

/// Stops the worker on vCPU 1.
static STOP: AtomicBool = AtomicBool::new(false);
/// The first errno EVTCHNOP_bind_vcpu returned on vCPU 1 (0: none).
static REBIND_ERR: AtomicI32 = AtomicI32::new(0);

/// vCPU 1: EVTCHNOP_bind_vcpu(port, 0, 0, 1, 1, 0, 0, …) until told to stop, so every other
/// call binds the port to the vCPU it is already on. Returns the number of calls.
fn rebind_loop(port: u64) -> u64 {
    let mut i = 0u64;
    while !STOP.load(Ordering::Acquire) {
        let to = ((i / 2) % 2) as u32;
        if let Err(e) = evtchn::bind_vcpu(port as u32, to) {
            let _ = REBIND_ERR.compare_exchange(0, e.0, Ordering::AcqRel, Ordering::Acquire);
            return i;
        }
        i += 1;
    }
    i
}

/// Starts [`rebind_loop`] on vCPU 1 for `port`.
fn start_rebinding(port: u32) {
    STOP.store(false, Ordering::Release);
    smp::start_on(1, rebind_loop, u64::from(port));
}

/// Stops it; checks every call succeeded and that there were some. The number of calls.
fn stop_rebinding() -> u64 {
    STOP.store(true, Ordering::Release);
    let calls = smp::finish(1, WAIT_MS).unwrap_or(0);
    let err = REBIND_ERR.load(Ordering::Acquire);
    check!(err == 0, "EVTCHNOP_bind_vcpu on vCPU 1 failed with {:?}", Errno(err));
    check!(calls > 0, "vCPU 1 made no EVTCHNOP_bind_vcpu call");
    calls
}

/// Events the upcall took on either vCPU.
fn delivered() -> usize {
    upcall::delivered(0) + upcall::delivered(1)
}

/// What became of one raised event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    Delivered,
    /// Neither delivered nor pending after [`WAIT_MS`]: Xen dropped it.
    Lost,
    /// Pending in shared_info but no upcall took it after [`WAIT_MS`].
    Stuck,
}

/// Waits for an event after `seen` deliveries, on either vCPU.
fn wait_event(si: &SharedInfo, port: u32, seen: usize) -> Fate {
    if timer::poll_until(WAIT_MS, || delivered() > seen) {
        return Fate::Delivered;
    }
    if si.is_pending(port) {
        // Taken out of the way, so that the next event can be seen.
        si.clear_pending(port);
        Fate::Stuck
    } else {
        Fate::Lost
    }
}

/// Message `seq`: its number, then a pattern.
fn message(seq: u32) -> [u8; 16] {
    let mut m = [0u8; 16];
    rings::fill(&mut m, seq, 0, 7);
    m
}

// ---- one domain: its own VIRQ raised while vCPU 1 moves the port ----

crate::v4v::v4v_and_argo!(
    virq_rebind,
    "sec-evtchn-virq-rebind-v4v" => "VIRQ_V4V from sends to our own ring while vCPU 1 moves its port: every event arrives (n=N)",
    "sec-evtchn-virq-rebind-argo" => "VIRQ_ARGO from sends to our own ring while vCPU 1 moves its port: every event arrives (n=N)",
);
/// `sec-evtchn-virq-rebind-{v4v,argo}`: vCPU 0 sends `n` messages to its own ring, one at a
/// time, each raising the protocol's global VIRQ; vCPU 1 moves that VIRQ's port between the
/// vCPUs with EVTCHNOP_bind_vcpu non-stop. Every event must arrive (on whichever vCPU), and
/// Xen must survive. It catches a bind_vcpu that write-locks the channel (then
/// send_guest_global_virq's read-trylock fails and the event is lost) and a failed trylock
/// that unlocks a lock it does not hold (a panic in a debug build, a hang in a release one).
pub fn virq_rebind<P: Proto>(env: &Env<'_>) {
    let n = env.arg_u32("n").unwrap_or(20_000);
    let Some(Ctx { me, notifier }) = rings::setup::<P>(env, 2) else { return };
    let si = try_op!(shared_info::map(), "mapping shared_info");
    let Some(ring) = P::ring(RING_LEN, RING_PORT, me) else {
        xtf_error!("the ring arena is used up");
        return;
    };
    try_op!(ring.register(), "{}: registering our ring", P::NAME);
    let port = notifier.port;
    println!(
        "{}: {n} sends to our own ring, each raising VIRQ {} on port {port}, while vCPU 1 \
         moves the port between vCPUs 0 and 1",
        P::NAME,
        P::VIRQ
    );
    start_rebinding(port);
    let (mut lost, mut stuck, mut received, mut sent) = (0u32, 0u32, 0u32, 0u32);
    let mut buf = [0u8; 64];
    for seq in 0..n {
        let seen = delivered();
        let msg = message(seq);
        match P::sendv(me, RING_PORT, RING_PORT, &[&msg[..]], 0) {
            Ok(_) => sent += 1,
            Err(e) => {
                xtf_failure!("{}: send {seq} to our own ring: {e:?}", P::NAME);
                break;
            }
        }
        match wait_event(si, port, seen) {
            Fate::Delivered => {}
            Fate::Lost => lost += 1,
            Fate::Stuck => stuck += 1,
        }
        loop {
            match ring.recv(&mut buf) {
                Ok(Some(m)) => {
                    received += 1;
                    let len = m.header.payload_len();
                    check!(
                        len == 16 && rings::verify(&buf[..16], received - 1, 0, 7).is_ok(),
                        "message {} read back wrong ({len} bytes)",
                        received - 1
                    );
                }
                Ok(None) => break,
                Err(e) => {
                    xtf_failure!("our ring is inconsistent: {e:?}");
                    break;
                }
            }
        }
        if lost + stuck >= MAX_LOST {
            println!("stopping after {} events without a delivery", lost + stuck);
            break;
        }
    }
    let calls = stop_rebinding();
    println!(
        "{}: {sent} VIRQs raised, {} delivered (vCPU 0: {}, vCPU 1: {}), {lost} lost, {stuck} \
         pending without an upcall; {received} messages; vCPU 1: {calls} bind_vcpu calls",
        P::NAME,
        delivered(),
        upcall::delivered(0),
        upcall::delivered(1)
    );
    expect_eq!(lost, 0, "VIRQs lost (neither delivered nor pending after {WAIT_MS} ms)");
    expect_eq!(stuck, 0, "VIRQs left pending without an upcall");
    expect_eq!(received, sent, "messages read from our ring");
    if upcall::delivered(1) == 0 || upcall::delivered(0) == 0 {
        xtf_warning!("every event was taken on one vCPU: the port never moved under a VIRQ");
    }
    let _ = ring.unregister();
    xtf_success!();
}

// ---- two domains: a sender, and a receiver that moves its VIRQ while it fires ----

crate::v4v::v4v_and_argo!(
    virq_storm,
    "sec-evtchn-virq-storm-v4v" => "V4V ping-pong, the receiver moving its VIRQ port and reading on upcalls only (role=rx|tx peer=D n=N)",
    "sec-evtchn-virq-storm-argo" => "Argo: the sec-evtchn-virq-storm-v4v pattern",
);
/// `sec-evtchn-virq-storm-{v4v,argo}`: `role=tx` sends `n` messages to `peer`'s ring, each
/// after the previous one was acknowledged; `role=rx` (2 vCPUs) waits for each on upcalls
/// only — it reads its ring only after an event — while vCPU 1 moves its VIRQ port between
/// the vCPUs non-stop, and acknowledges each message to the sender's ring. A lost VIRQ leaves
/// a message in the receiver's ring with no event: the receiver reports it, the pair stalls.
pub fn virq_storm<P: Proto>(env: &Env<'_>) {
    let n = env.arg_u32("n").unwrap_or(5_000);
    let peer = env.need_peer();
    match env.arg("role") {
        Some("rx") => storm_rx::<P>(env, peer, n),
        Some("tx") => storm_tx::<P>(env, peer, n),
        _ => xtf_error!("needs role=rx|tx"),
    }
}

fn storm_rx<P: Proto>(env: &Env<'_>, peer: DomId, n: u32) {
    let Some(Ctx { me: _, notifier }) = rings::setup::<P>(env, 2) else { return };
    let si = try_op!(shared_info::map(), "mapping shared_info");
    let Some(ring) = P::ring(RING_LEN, RING_PORT, peer) else {
        xtf_error!("the ring arena is used up");
        return;
    };
    // Events taken before the last look at the ring (none yet: it is not registered): one
    // after it means a new message.
    let mut seen = delivered();
    try_op!(ring.register(), "{}: registering our ring", P::NAME);
    let port = notifier.port;
    println!(
        "{}: receiving {n} messages from d{peer} on upcalls only, VIRQ port {port} moving",
        P::NAME
    );
    start_rebinding(port);
    let (mut next, mut lost, mut stuck, mut events) = (0u32, 0u32, 0u32, 0u32);
    let mut buf = [0u8; 64];
    let deadline = timer::Deadline::after_ms(PEER_MS + WAIT_MS);
    let mut eagains = 0;
    while next < n {
        // Upcalls only: the ring is read after an event, never polled for data.
        if !timer::poll_until(WAIT_MS, || delivered() > seen) {
            if ring.is_empty() {
                if next == 0 && !deadline.passed() {
                    continue; // the sender is not up yet
                }
                xtf_failure!("no message from d{peer} for {WAIT_MS} ms after message {next}");
                break;
            }
            // A message sits in our ring and no event came for it.
            let pending = si.is_pending(port);
            if pending {
                si.clear_pending(port);
                stuck += 1;
            } else {
                lost += 1;
            }
            xtf_failure!(
                "message {next} in our ring without an event ({})",
                if pending { "pending, no upcall" } else { "VIRQ lost" }
            );
            if lost + stuck >= MAX_LOST {
                break;
            }
        } else {
            events += 1;
        }
        seen = delivered();
        let before = next;
        loop {
            match ring.recv(&mut buf) {
                Ok(Some(m)) => {
                    let (len, from) = (m.header.payload_len(), m.header.source_domain);
                    check!(
                        len == 16 && from == peer && rings::verify(&buf[..16], next, 0, 7).is_ok(),
                        "message {next} from d{from} read back wrong ({len} bytes)"
                    );
                    next += 1;
                }
                Ok(None) => break,
                Err(e) => {
                    xtf_failure!("our ring is inconsistent: {e:?}");
                    next = n;
                    break;
                }
            }
        }
        if next > before {
            let ack = (next - 1).to_le_bytes();
            if let Err(e) = rings::send_until::<P>(
                &notifier,
                peer,
                RING_PORT,
                RING_PORT,
                &[&ack[..]],
                0,
                &mut eagains,
            ) {
                xtf_failure!("acknowledging message {}: {e:?}", next - 1);
                break;
            }
        }
    }
    let calls = stop_rebinding();
    println!(
        "{}: {next} of {n} messages, {events} events (vCPU 0: {}, vCPU 1: {}), {lost} lost, \
         {stuck} pending without an upcall; vCPU 1: {calls} bind_vcpu calls",
        P::NAME,
        upcall::delivered(0),
        upcall::delivered(1)
    );
    expect_eq!(next, n, "messages received");
    expect_eq!((lost, stuck), (0, 0), "(VIRQs lost, VIRQs pending without an upcall)");
    xtf_success!();
}

fn storm_tx<P: Proto>(env: &Env<'_>, peer: DomId, n: u32) {
    let Some(Ctx { me: _, notifier }) = rings::setup::<P>(env, 1) else { return };
    let Some(ring) = P::ring(RING_LEN, RING_PORT, peer) else {
        xtf_error!("the ring arena is used up");
        return;
    };
    try_op!(ring.register(), "{}: registering our ring", P::NAME);
    let mut eagains = 0;
    let mut buf = [0u8; 16];
    for seq in 0..n {
        let seen = notifier.count();
        let msg = message(seq);
        let r = rings::send_until::<P>(
            &notifier,
            peer,
            RING_PORT,
            RING_PORT,
            &[&msg[..]],
            0,
            &mut eagains,
        );
        try_op!(r, "{}: send {seq} to d{peer}", P::NAME);
        // The acknowledgement, on upcalls only.
        let mut acked = false;
        let mut seen = seen;
        while !acked {
            if !notifier.wait_after(seen, PEER_MS) {
                xtf_failure!("no acknowledgement of message {seq} from d{peer}");
                return;
            }
            seen = notifier.count();
            while let Ok(Some(m)) = ring.recv(&mut buf) {
                let got = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]);
                let len = m.header.payload_len();
                if !check!(len == 4 && got <= seq, "acknowledgement {got} of message {seq}") {
                    return;
                }
                acked |= got == seq;
            }
        }
    }
    println!("{}: {n} messages sent and acknowledged ({eagains} EAGAIN)", P::NAME);
    xtf_success!();
}

// ---- the noisy neighbour ----

/// The mailbox in static shared memory: the only link between the two domains that does not
/// go through the event channel code under test.
/// Four words of static shared memory between a domain that uses up its budgets and the
/// victim that checks its own service (see [`Mailbox::word`]).
pub(crate) struct Mailbox {
    base: usize,
}

const MAGIC_READY: u32 = 0x5ec0_0001;
/// The last phase number: the noisy domain is done.
pub(crate) const PHASE_DONE: u32 = 0xff;

impl Mailbox {
    /// Word 0: the victim is ready; 1: phase the noisy domain finished; 2: phase the victim
    /// checked; 3: the victim's failed checks.
    pub(crate) fn word(&self, i: usize) -> &'static AtomicU32 {
        // SAFETY: the config maps static shared memory at `base` (identity-mapped Normal RAM,
        // at least 4 KiB) into both domains; these four words are only accessed atomically.
        unsafe { AtomicU32::from_ptr((self.base + 4 * i) as *mut u32) }
    }
}

/// The mailbox at `shm=GPA`, if that is a page-aligned address in guest RAM.
pub(crate) fn mailbox(env: &Env<'_>) -> Option<Mailbox> {
    let base = usize::try_from(xtf::cmdline::number(env.arg("shm")?)?).ok()?;
    (base % 4096 == 0 && (0x4000_0000..0x8000_0000).contains(&base)).then_some(Mailbox { base })
}

xtf::register_test!(
    "sec-evtchn-noisy-neighbour",
    "one domain uses every event channel budget, the other keeps its service (role=noisy|victim shm=GPA)",
    noisy_neighbour
);
/// `sec-evtchn-noisy-neighbour`: `role=noisy` (2 vCPUs) exhausts, phase by phase, every
/// per-domain event channel budget Xen gives it — every VIRQ on every vCPU, FIFO control
/// blocks and all 128 event array pages, every port up to its limit, a poller blocked on
/// 128 ports — then releases it all with EVTCHNOP_reset; `role=victim` checks after each
/// phase that its own service is intact: reset, 2-level and FIFO set-up (init_control,
/// expand_array), binds of every kind, sends and the events they leave. The two meet in
/// static shared memory (`shm=GPA`).
pub fn noisy_neighbour(env: &Env<'_>) {
    let Some(mb) = mailbox(env) else {
        xtf_error!("needs shm=GPA (a static shared memory page of both domains)");
        return;
    };
    match env.arg("role") {
        Some("noisy") => noisy(env, &mb),
        Some("victim") => victim(&mb),
        _ => xtf_error!("needs role=noisy|victim"),
    }
}

/// The noisy side: tells the victim phase `p` is done and waits until it has checked.
pub(crate) fn handshake(mb: &Mailbox, p: u32, what: &str) -> bool {
    println!("noisy: phase {p} ({what}) done");
    mb.word(1).store(p, Ordering::Release);
    timer::poll_until(PEER_MS * 4, || mb.word(2).load(Ordering::Acquire) == p)
        || check!(false, "the victim did not check phase {p} ({what})")
}

/// vCPU 1 of the noisy domain: SCHEDOP_poll on the 128 ports from `first`, no timeout.
fn poll_ports(first: u64) -> u64 {
    let ports: [u32; 128] = core::array::from_fn(|i| first as u32 + i as u32);
    let mut arg = SchedPoll { ports: ports.as_ptr() as u64, nr_ports: 128, timeout: 0 };
    let args = [abi::SCHEDOP_POLL, &mut arg as *mut SchedPoll as u64, 0, 0, 0];
    // SAFETY: SCHEDOP_poll reads one struct sched_poll and its 128 ports, both on this
    // stack across the call.
    let r = unsafe { hypercall::hypercall(abi::nr::SCHED_OP, args) };
    r as u64
}

/// The noisy side: waits until the victim has checked its service once (FAILURE if it
/// does not come up).
pub(crate) fn wait_victim(mb: &Mailbox) -> bool {
    timer::poll_until(PEER_MS, || mb.word(0).load(Ordering::Acquire) == MAGIC_READY)
        || check!(false, "the victim did not come up")
}

fn noisy(env: &Env<'_>, mb: &Mailbox) {
    if let Err(e) = smp::bring_up(env.fdt.as_ref(), 2) {
        return xtf_error!("{e}");
    }
    if !wait_victim(mb) {
        return;
    }

    // 1. Every VIRQ, on every vCPU where it binds.
    let mut virqs = 0;
    for v in 0..virq::NR_VIRQS {
        let vcpus: &[u32] = if virq::is_per_vcpu(v) { &[0, 1] } else { &[0] };
        for &cpu in vcpus {
            try_op!(evtchn::bind_virq(v, cpu), "bind_virq({v}, {cpu})");
            virqs += 1;
        }
    }
    expect_eq!(evtchn::bind_virq(virq::TIMER, 1), Err(Errno::EEXIST), "VIRQ_TIMER on vCPU 1 again");
    if !handshake(mb, 1, "every VIRQ bound") {
        return;
    }

    // 2. FIFO: a control block per vCPU, then event array pages until Xen refuses.
    let f = Fifo::new();
    try_op!(f.init_control(0, 0), "init_control(vCPU 0)");
    try_op!(f.init_control(1, 0), "init_control(vCPU 1)");
    let last = loop {
        if let Err(e) = f.expand() {
            break e;
        }
    };
    expect_eq!(last, Errno::ENOSPC, "expand_array past the last page");
    expect_eq!(f.pages(), abi::fifo::MAX_ARRAY_PAGES, "event array pages");
    if !handshake(mb, 2, "FIFO control blocks and every event array page") {
        return;
    }

    // 3. Every port up to the domain's limit.
    let mut ports = 0u32;
    let mut top = 0;
    let last = loop {
        match evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF) {
            Ok(p) => {
                ports += 1;
                top = p;
            }
            Err(e) => break e,
        }
    };
    expect_eq!(last, Errno::ENOSPC, "alloc_unbound past the last port");
    expect_eq!(evtchn::bind_ipi(0), Err(Errno::ENOSPC), "bind_ipi with every port taken");
    println!("noisy: {virqs} VIRQ ports, {ports} unbound ports up to {top}");
    if !handshake(mb, 3, "every port") {
        return;
    }

    // 4. A poller: vCPU 1 blocks in SCHEDOP_poll on 128 ports, one of them an IPI for vCPU 0.
    let first = top - 127;
    try_op!(evtchn::close(first), "close({first})");
    let ipi = try_op!(evtchn::bind_ipi(0), "bind_ipi(0) in the freed port");
    expect_eq!(ipi, first, "the IPI port");
    smp::start_on(1, poll_ports, u64::from(first));
    timer::delay_ms(100);
    if !check!(!smp::finished(1), "SCHEDOP_poll on vCPU 1 returned before any event") {
        return;
    }
    if !handshake(mb, 4, "vCPU 1 polling 128 ports") {
        return;
    }
    try_op!(evtchn::send(ipi), "send({ipi})");
    match smp::finish(1, WAIT_MS) {
        Ok(r) => {
            expect_eq!(r as i64, 0, "SCHEDOP_poll woken by the IPI");
        }
        Err(_) => return,
    }

    // 5. Everything released at once.
    try_op!(evtchn::reset(DOMID_SELF), "reset(self) with every budget used");
    f.forget();
    if !handshake(mb, 5, "reset") {
        return;
    }
    if !handshake(mb, PHASE_DONE, "done") {
        return;
    }
    let failed = mb.word(3).load(Ordering::Acquire);
    println!("noisy: the victim reports {failed} failed checks");
    xtf_success!();
}

/// The victim's side: checks its event channel service once before the noisy domain starts
/// and after every phase the noisy domain reports, until [`PHASE_DONE`]; SUCCESS if every
/// check passed.
pub(crate) fn victim(mb: &Mailbox) {
    let si = try_op!(shared_info::map(), "mapping shared_info");
    victim_checking(mb, |phase| service(si, phase));
}

/// [`victim`] with another service: `service(phase)` checks it from scratch, `true` if every
/// step worked (each failure reported).
pub(crate) fn victim_checking(mb: &Mailbox, mut service: impl FnMut(u32) -> bool) {
    for i in 1..4 {
        mb.word(i).store(0, Ordering::Relaxed);
    }
    let mut failed = 0u32;
    let mut checks = 0u32;
    if !service(0) {
        failed += 1;
    }
    fence(Ordering::SeqCst);
    mb.word(0).store(MAGIC_READY, Ordering::Release);
    let mut checked = 0;
    while checked != PHASE_DONE {
        let mut p = 0;
        if !timer::poll_until(PEER_MS * 4, || {
            p = mb.word(1).load(Ordering::Acquire);
            p != checked
        }) {
            xtf_failure!("the noisy domain stopped after phase {checked}");
            return;
        }
        if !service(p) {
            failed += 1;
        }
        checks += 1;
        mb.word(3).store(failed, Ordering::Release);
        mb.word(2).store(p, Ordering::Release);
        checked = p;
    }
    println!("victim: {checks} service checks after the noisy domain's phases, {failed} failed");
    expect_eq!(failed, 0, "service checks that failed");
    xtf_success!();
}

/// The victim's service, from scratch: every step must work as on an idle host. `true` if
/// it did (each failure is reported).
fn service(si: &SharedInfo, phase: u32) -> bool {
    let ok = service_2l(si, phase) && service_fifo(phase);
    let r = evtchn::reset(DOMID_SELF);
    check!(r.is_ok(), "phase {phase}: reset(self): {r:?}") && ok
}

fn loopback(phase: u32, abi: &str) -> Option<(u32, u32)> {
    let a = evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF);
    let b = a.and_then(|a| evtchn::bind_interdomain(DOMID_SELF, a));
    match (a, b) {
        (Ok(a), Ok(b)) => Some((a, b)),
        _ => {
            xtf_failure!("phase {phase} ({abi}): loopback channel: {a:?} / {b:?}");
            None
        }
    }
}

fn service_2l(si: &SharedInfo, phase: u32) -> bool {
    let r = evtchn::reset(DOMID_SELF);
    if !check!(r.is_ok(), "phase {phase}: reset(self): {r:?}") {
        return false;
    }
    si.clear_all_pending();
    let Some((a, b)) = loopback(phase, "2L") else { return false };
    let mut ok = check!(si.is_pending(b), "phase {phase} (2L): bound end {b} pending");
    si.clear_pending(b);
    ok &= check!(evtchn::send(a).is_ok() && si.is_pending(b), "phase {phase} (2L): send({a})");
    ok &= check!(evtchn::send(b).is_ok() && si.is_pending(a), "phase {phase} (2L): send({b})");
    let ipi = evtchn::bind_ipi(0);
    ok &= check!(
        ipi.is_ok_and(|p| evtchn::send(p).is_ok() && si.is_pending(p)),
        "phase {phase} (2L): bind_ipi + send: {ipi:?}"
    );
    let t = evtchn::bind_virq(virq::TIMER, 0);
    ok &= check!(t.is_ok(), "phase {phase} (2L): bind_virq(TIMER): {t:?}");
    let g = evtchn::bind_virq(virq::DOM_EXC, 0);
    ok &= check!(g.is_ok(), "phase {phase} (2L): bind_virq(DOM_EXC): {g:?}");
    for p in [Ok(a), Ok(b), ipi, t, g].into_iter().flatten() {
        ok &= check!(evtchn::close(p).is_ok(), "phase {phase} (2L): close({p})");
    }
    si.clear_all_pending();
    ok
}

fn service_fifo(phase: u32) -> bool {
    let f = Fifo::new();
    let r = f.init_control(0, 0);
    if !check!(r == Ok(abi::fifo::LINK_BITS as u8), "phase {phase}: init_control: {r:?}") {
        return false;
    }
    let r = f.expand();
    if !check!(r.is_ok(), "phase {phase}: expand_array: {r:?}") {
        f.forget();
        return false;
    }
    let Some((a, b)) = loopback(phase, "FIFO") else {
        f.forget();
        return false;
    };
    let linked = EventWordFlags::PENDING | EventWordFlags::LINKED;
    let mut ok = check!(f.word(b).contains(linked), "phase {phase} (FIFO): bound end {b} linked");
    ok &= check!(
        f.control(0).is_some_and(|cb| cb.head(abi::fifo::PRIORITY_DEFAULT) == b),
        "phase {phase} (FIFO): queue {} head",
        abi::fifo::PRIORITY_DEFAULT
    );
    ok &= check!(
        evtchn::send(b).is_ok() && f.word(a).contains(linked),
        "phase {phase} (FIFO): send({b}) links {a}"
    );
    for p in [a, b] {
        ok &= check!(evtchn::close(p).is_ok(), "phase {phase} (FIFO): close({p})");
    }
    f.forget();
    ok
}
