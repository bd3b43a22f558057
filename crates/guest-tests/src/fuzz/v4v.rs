//! V4V chaos mode (`test=fuzz-v4v`): a seeded stream of every V4V op (hypercall 43)
//! with edge-case arguments, on both vCPUs of several domains at once, interleaved with what
//! a ring owner really does (consuming messages, notifying, and writing garbage into its
//! ring's rx_ptr/tx_ptr). V4V exists only on the Rust build, so there is no C oracle: the
//! stream checks invariants (docs/fuzzing.md, "V4V"):
//! - Xen survives and answers (every domain reports; a hung vCPU 1 fails here, a hung vCPU 0
//!   trips ci/boot's timeout);
//! - every errno is one docs/v4v.md lists for that op ([`allowed`]); arguments that are
//!   certainly wrong must fail, well-formed ones to an existing ring must not fail with
//!   anything but the documented "try again"/"no ring" answers;
//! - the guard pages around every ring, and the bytes past `ring[len]`, stay untouched;
//! - every message read out of a ring is well-formed: sane length, the source is a domain of
//!   this boot that matches the sender stamped in the payload, and the payload is the
//!   pattern that sender derives from (its domid, vCPU, index), so any corruption shows;
//! - after unregister, no byte of the ring changes (checked when it is registered again and
//!   at the end).
//!
//! Each vCPU owns two rings (ports 7000 + 2·vcpu + {0,1}; the first for `V4V_DOMID_ANY`,
//! the second for one partner) and one scratch ring for bad registrations, so no ring is
//! read by two vCPUs. The PRNG and the hostile addresses are the evtchn fuzzer's.
//!
//! Keys: `seed=S n=N peers=D1,D2 vcpus=1|2`.

use core::sync::atomic::{AtomicU16, AtomicU32, AtomicU64, Ordering};

use xtf::abi::v4v::{self as a, Iov, RingDataEnt, SendAddr};
use xtf::abi::{self, DOMID_SELF, DomId, Errno};
use xtf::guest::evtchn::{self, raw::BadAddress};
use xtf::guest::ring_mem::{self, Pages};
use xtf::guest::shared_info::SHARED_INFO_GFN;
use xtf::guest::v4v::{self, Ring, RingDataBuf};
use xtf::guest::smp;
use xtf::{Env, println, xtf_error, xtf_failure, xtf_success};

use super::{ABSENT_DOMIDS, Rng};

/// First ring port; vCPU v owns `PORT0 + 2v` (ANY) and `PORT0 + 2v + 1` (partner).
const PORT0: u32 = 7000;
/// The scratch ring of vCPU v (bad registrations) uses `SCRATCH_PORT + v`.
const SCRATCH_PORT: u32 = 9000;
/// Source port of vCPU v's sends: `SRC_PORT + v`.
const SRC_PORT: u32 = 0x5000;
/// Payload stamp (first word of every payload of 16 bytes or more).
const STAMP: u32 = 0x7634_667a;
/// Protocol of an empty message (it has no room for the stamp).
const EMPTY_PROTO: u32 = 0xe0e0_0000;
/// Ring lengths of the two owned rings of each vCPU (one page, two pages, a small one).
const RING_LENS: [u32; 4] = [4032, 256, 1024, 8128];
/// Largest payload a stream sends (bounce path below 256 bytes, probed path above).
const MAX_PAYLOAD: usize = 4000;

static ME: AtomicU16 = AtomicU16::new(0);
static N: AtomicU64 = AtomicU64::new(0);
static PEERS: [AtomicU16; 4] = [const { AtomicU16::new(0) }; 4];
static N_PEERS: AtomicU32 = AtomicU32::new(0);

/// The ops whose errnos docs/v4v.md lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Register,
    Unregister,
    Send,
    Notify,
    Unknown,
}

/// The errnos docs/v4v.md lists for `op` ("Operations and errors").
fn allowed(op: Op) -> &'static [Errno] {
    use Errno as E;
    match op {
        Op::Register => &[E::EFAULT, E::EINVAL, E::ESRCH, E::EPERM, E::ENOMEM, E::ENOSPC],
        Op::Unregister => &[E::EFAULT, E::EINVAL, E::ENOENT],
        Op::Send => &[E::EINVAL, E::EMSGSIZE, E::EFAULT, E::ECONNREFUSED, E::EPERM, E::EAGAIN],
        Op::Notify => &[E::EFAULT, E::EINVAL],
        Op::Unknown => &[E::ENOSYS, E::EINVAL],
    }
}

/// What the payload of (sender, vcpu, idx) is made of.
fn mix(dom: DomId, vcpu: u8, idx: u64) -> u64 {
    let mut r = Rng::new((u64::from(dom) << 48) ^ (u64::from(vcpu) << 40) ^ idx);
    r.next()
}

fn pattern_byte(m: u64, i: usize) -> u8 {
    (m >> (8 * (i % 8))) as u8 ^ (i as u8)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Never,
    Registered {
        desynced: bool,
    },
    /// Unregistered with this digest of header + ring[].
    Unregistered(u64),
}

struct Slot {
    ring: Ring,
    port: u32,
    partner: DomId,
    state: State,
}

pub struct V4vFuzzer {
    rng: Rng,
    vcpu: u8,
    me: DomId,
    peers: [DomId; 4],
    n_peers: usize,
    idx: u64,
    pub calls: u64,
    pub sent: u64,
    pub read: u64,
    slots: [Slot; 2],
    scratch: Ring,
    buf: &'static mut [u8],
    rbuf: &'static mut [u8],
    pub violation: Option<(u64, &'static str, i64)>,
    /// Which bad-argument case the current step draws (reported with a violation).
    case: i64,
}

impl V4vFuzzer {
    fn new(seed: u64, vcpu: u8) -> Option<Self> {
        let me = ME.load(Ordering::Relaxed);
        let n_peers = N_PEERS.load(Ordering::Relaxed) as usize;
        let mut peers = [me; 4];
        for (i, p) in peers.iter_mut().enumerate().take(n_peers) {
            *p = PEERS[i].load(Ordering::Relaxed);
        }
        let v = u32::from(vcpu);
        let partner = if n_peers > 0 { peers[v as usize % n_peers] } else { me };
        let mk = |k: usize, partner| {
            let port = PORT0 + 2 * v + k as u32;
            Some(Slot {
                ring: Ring::new(RING_LENS[2 * v as usize + k], port, partner)?,
                port,
                partner,
                state: State::Never,
            })
        };
        Some(Self {
            rng: Rng::new(seed),
            vcpu,
            me,
            peers,
            n_peers,
            idx: 0,
            calls: 0,
            sent: 0,
            read: 0,
            slots: [mk(0, a::DOMID_ANY)?, mk(1, partner)?],
            scratch: Ring::new(256, SCRATCH_PORT + v, a::DOMID_ANY)?,
            buf: Pages::buffer(1)?,
            rbuf: Pages::buffer(1)?,
            violation: None,
            case: 0,
        })
    }

    fn fail(&mut self, what: &'static str, v: i64) {
        if self.violation.is_none() {
            self.violation = Some((self.idx, what, v));
        }
    }

    /// Checks an errno against the op's table; `must_fail`: the arguments are certainly
    /// wrong, so success is a violation too.
    fn check(&mut self, op: Op, r: Result<u64, Errno>, must_fail: bool) -> Result<u64, Errno> {
        self.calls += 1;
        match r {
            Ok(_) if must_fail => {
                self.fail("bad arguments accepted; case (op*100 + case [*10^5 + domid])", self.case)
            }
            Err(e) if !allowed(op).contains(&e) => self.fail(
                match op {
                    Op::Register => "register: errno not in docs/v4v.md",
                    Op::Unregister => "unregister: errno not in docs/v4v.md",
                    Op::Send => "send: errno not in docs/v4v.md",
                    Op::Notify => "notify: errno not in docs/v4v.md",
                    Op::Unknown => "unknown cmd: errno not in docs/v4v.md",
                },
                -i64::from(e.0),
            ),
            _ => {}
        }
        r
    }

    fn bad_address(&mut self) -> u64 {
        self.rng
            .pick(&[BadAddress::NULL, BadAddress::UNMAPPED, BadAddress::UNBACKED, BadAddress::MMIO])
            .addr()
    }

    fn domid(&mut self) -> DomId {
        match self.rng.below(10) {
            0..=2 => self.me,
            3..=6 if self.n_peers > 0 => self.peers[self.rng.below(self.n_peers as u64) as usize],
            3..=6 => self.me,
            7 => self.rng.pick(&ABSENT_DOMIDS),
            _ => self.rng.pick(&[
                DOMID_SELF,
                a::DOMID_ANY,
                abi::DOMID_INVALID,
                abi::DOMID_IO,
                abi::DOMID_XEN,
                0xffff,
            ]),
        }
    }

    fn port(&mut self) -> u32 {
        match self.rng.below(10) {
            0..=7 => PORT0 + self.rng.below(4) as u32,
            8 => SCRATCH_PORT + self.rng.below(2) as u32,
            _ => self.rng.pick(&[0, 1, PORT0 + 4, 0x7fff_ffff, u32::MAX]),
        }
    }

    /// Writes a well-formed payload of `len` bytes for step `idx` into `buf`; its protocol.
    fn payload(&mut self, len: usize) -> u32 {
        if len == 0 {
            return EMPTY_PROTO;
        }
        let m = mix(self.me, self.vcpu, self.idx);
        let b = &mut self.buf[..len];
        b[0..4].copy_from_slice(&STAMP.to_le_bytes());
        b[4..6].copy_from_slice(&self.me.to_le_bytes());
        b[6] = self.vcpu;
        b[7] = 0;
        b[8..16].copy_from_slice(&self.idx.to_le_bytes());
        for (i, x) in b.iter_mut().enumerate().skip(16) {
            *x = pattern_byte(m, i);
        }
        m as u32 & !EMPTY_PROTO
    }

    fn payload_len(&mut self) -> usize {
        match self.rng.below(10) {
            0 => 0,
            1..=5 => 16 + self.rng.below(240) as usize,
            6 | 7 => 16 + self.rng.below(MAX_PAYLOAD as u64 - 16) as usize,
            _ => self.rng.pick(&[16, 17, 224, 240, 241, 256, 257, 992, 4032 - 32, MAX_PAYLOAD]),
        }
    }

    pub fn step(&mut self) {
        match self.rng.below(100) {
            0..=24 => self.recv(),
            25..=49 => self.send_good(),
            50..=61 => self.send_bad(),
            62..=69 => self.register_own(),
            70..=74 => self.unregister_own(),
            75..=84 => self.register_bad(),
            85..=92 => self.notify(),
            93..=95 => self.unknown(),
            _ => self.owner_garbage(),
        }
        self.idx += 1;
    }

    fn slot(&mut self) -> usize {
        self.rng.below(2) as usize
    }

    fn check_guards(&mut self, k: usize) {
        let (guards, tail) = (self.slots[k].ring.guards_intact(), self.slots[k].ring.tail_intact());
        if let Err(off) = guards {
            self.fail("guard page around a ring written", off as i64);
        }
        if let Err(off) = tail {
            self.fail("bytes past ring[len] written", off as i64);
        }
    }

    /// Re-registers a slot whose pointers the owner trashed, then drops what is in it: Xen's
    /// tx_ptr (written at register) is a message boundary again.
    fn resync(&mut self, k: usize) {
        let r = self.slots[k].ring.register().map(|()| 0);
        if let Err(e) = self.check(Op::Register, r, false) {
            self.fail("re-registering an owned ring failed", -i64::from(e.0));
            return;
        }
        let s = &mut self.slots[k];
        s.ring.set_rx_ptr(s.ring.tx_ptr());
        s.state = State::Registered { desynced: false };
    }

    fn recv(&mut self) {
        let k = self.slot();
        self.recv_slot(k);
    }

    fn recv_slot(&mut self, k: usize) {
        self.check_guards(k);
        match self.slots[k].state {
            State::Registered { desynced: true } => return self.resync(k),
            State::Registered { desynced: false } => {}
            _ => return,
        }
        for _ in 0..1 + self.rng.below(6) {
            let got = self.slots[k].ring.recv(self.rbuf);
            match got {
                Ok(None) => break,
                Ok(Some(m)) => {
                    self.read += 1;
                    let plen = m.header.len.wrapping_sub(16) as usize;
                    if let Some(why) = self.verify(&m.header, plen) {
                        let r = &self.slots[k].ring;
                        println!(
                            "fuzz-v4v bad message: ring port {} len {} at {} next_rx {} tx {} \
                             header {:?}",
                            self.slots[k].port,
                            r.len,
                            m.at,
                            m.next_rx,
                            r.tx_ptr(),
                            m.header
                        );
                        self.fail(why, i64::from(m.header.source_domain));
                        return;
                    }
                }
                Err(e) => {
                    println!(
                        "fuzz-v4v bad ring: port {} len {} rx {} tx {}: {e:?}",
                        self.slots[k].port,
                        self.slots[k].ring.len,
                        self.slots[k].ring.rx_ptr(),
                        self.slots[k].ring.tx_ptr()
                    );
                    self.fail("ring holds a malformed message (bad len or pointers)", 0);
                    return;
                }
            }
        }
        if self.rng.chance(50) {
            let r = v4v::notify_null().map(|()| 0);
            if self.check(Op::Notify, r, false).is_err() {
                self.fail("notify(NULL) failed", 0);
            }
        }
        self.check_guards(k);
    }

    fn verify(&self, h: &xtf::ring::MessageHeader, plen: usize) -> Option<&'static str> {
        let d = h.source_domain;
        if d != self.me && !self.peers[..self.n_peers].contains(&d) {
            return Some("message from a domain that is not a sender of this boot");
        }
        if h.pad != 0 {
            return Some("message header pad not 0");
        }
        if plen == 0 {
            return (h.protocol != EMPTY_PROTO).then_some("empty message with a wrong protocol");
        }
        if plen < 16 || plen > MAX_PAYLOAD {
            return Some("message length no sender uses");
        }
        let p = &self.rbuf[..plen];
        let stamp = u32::from_le_bytes(p[0..4].try_into().unwrap_or([0; 4]));
        let dom = u16::from_le_bytes([p[4], p[5]]);
        let vcpu = p[6];
        let idx = u64::from_le_bytes(p[8..16].try_into().unwrap_or([0; 8]));
        if stamp != STAMP || dom != d || vcpu > 1 || p[7] != 0 {
            return Some("payload stamp does not match the source");
        }
        if h.source_port != SRC_PORT + u32::from(vcpu) {
            return Some("message source port is not the sender's");
        }
        let m = mix(dom, vcpu, idx);
        if h.protocol != m as u32 & !EMPTY_PROTO {
            return Some("message protocol is not the sender's");
        }
        if p.iter().enumerate().skip(16).any(|(i, &x)| x != pattern_byte(m, i)) {
            return Some("payload corrupted");
        }
        None
    }

    fn send_good(&mut self) {
        let len = self.payload_len();
        let proto = self.payload(len);
        let dst = self.domid();
        let port = self.port();
        let addr = v4v::send_addr(dst, port, SRC_PORT + u32::from(self.vcpu));
        let r = if self.rng.chance(50) {
            v4v::send_to(&addr, &self.buf[..len], proto)
        } else {
            // Split into up to 8 iovs, some empty (an empty iov may point anywhere).
            let mut iovs = [Iov::default(); 8];
            let n = 1 + self.rng.below(8) as usize;
            let mut at = 0;
            for (i, iov) in iovs.iter_mut().enumerate().take(n) {
                let left = len - at;
                let take = if i + 1 == n { left } else { self.rng.below(left as u64 + 1) as usize };
                *iov = if take == 0 && self.rng.chance(50) {
                    Iov { base: self.bad_address(), len: 0 }
                } else {
                    v4v::iov(&self.buf[at..at + take])
                };
                at += take;
            }
            v4v::sendv(&addr, &iovs[..n], proto)
        };
        match self.check(Op::Send, r, false) {
            Ok(n) if n != len as u64 => self.fail("send returned a wrong length", n as i64),
            Ok(_) => self.sent += 1,
            // A ring of ours (or a peer's) that takes this payload exists for sure only in
            // the cases below, so only "no space" and "no ring" are normal answers.
            Err(e) if e == Errno::EINVAL || e == Errno::EFAULT => {
                self.fail("well-formed send refused as malformed", -i64::from(e.0))
            }
            Err(_) => {}
        }
    }

    fn send_bad(&mut self) {
        let len = 16 + self.rng.below(400) as usize;
        let proto = self.payload(len);
        let dst = self.domid();
        let port = self.port();
        let mut addr = v4v::send_addr(dst, port, SRC_PORT + u32::from(self.vcpu));
        let buf = self.buf.as_ptr() as u64;
        let addr_p = |x: &SendAddr| x as *const SendAddr as u64;
        let case = self.rng.below(9);
        self.case = 300 + case as i64;
        let r = match case {
            // A hostile buffer address.
            0 => {
                let b = self.bad_address();
                // SAFETY: `b` is a BadAddress (no memory of ours); Xen only reads `addr`.
                unsafe { v4v::raw_op(a::op::SEND, addr_p(&addr), b, len as u64, 0) }
            }
            // A hostile send-address pointer.
            1 => {
                let p = self.bad_address();
                // SAFETY: `p` is a BadAddress; `buf` is our page, read only.
                unsafe { v4v::raw_op(a::op::SEND, p, buf, len as u64, 0) }
            }
            // len above V4V_MAX_MSG: refused before anything is read.
            2 => {
                let l = self.rng.pick(&[
                    u64::from(a::MAX_MSG) + 1,
                    1 << 32,
                    u64::MAX,
                    u64::MAX - 15,
                    0x8000_0000_0000_0000,
                ]);
                // SAFETY: Xen must refuse `l` before reading; were it to read, it reads only.
                unsafe { v4v::raw_op(a::op::SEND, addr_p(&addr), buf, l, 0) }
            }
            // protocol above 32 bits.
            3 => {
                let p = ((1 + self.rng.below(u64::from(u32::MAX))) << 32) | u64::from(proto);
                // SAFETY: Xen only reads `addr` and `len` bytes of our page.
                unsafe { v4v::raw_op(a::op::SEND, addr_p(&addr), buf, len as u64, p) }
            }
            // Nonzero pads.
            4 => {
                if self.rng.chance(50) {
                    addr.src.pad = 1 + self.rng.below(0xffff) as u16;
                } else {
                    addr.dst.pad = 1 + self.rng.below(0xffff) as u16;
                }
                v4v::send_to(&addr, &self.buf[..len], proto)
            }
            // niov above 8.
            5 => {
                let iovs = [v4v::iov(&self.buf[..len])];
                let n = self.rng.pick(&[9, 16, 1 << 32, u64::MAX]);
                v4v::sendv_n(&addr, &iovs, n, proto)
            }
            // iov lengths whose sum overflows, or a single huge one.
            6 => {
                let mut iovs = [v4v::iov(&self.buf[..len]); 3];
                iovs[1].len = self.rng.pick(&[u64::MAX, u64::MAX - 15, 1 << 63, 1 << 32]);
                iovs[2].len = self.rng.pick(&[u64::MAX, 16, 1 << 63]);
                v4v::sendv(&addr, &iovs, proto)
            }
            // An iov whose base is hostile (nonzero length).
            7 => {
                let mut iovs = [v4v::iov(&self.buf[..len]); 2];
                iovs[self.rng.below(2) as usize].base = self.bad_address();
                v4v::sendv(&addr, &iovs, proto)
            }
            // A hostile iov array.
            _ => {
                let p = self.bad_address();
                // SAFETY: `p` is a BadAddress; Xen only reads through it.
                unsafe { v4v::raw_op(a::op::SENDV, addr_p(&addr), p, 2, 0) }
            }
        };
        let _ = self.check(Op::Send, r, true);
    }

    fn register_own(&mut self) {
        let k = self.slot();
        let s = &self.slots[k];
        match s.state {
            State::Unregistered(d) if s.ring.digest() != d => {
                return self.fail("an unregistered ring changed", k as i64);
            }
            State::Registered { .. } => {}
            _ => s.ring.write_header(a::RING_MAGIC, s.port, s.partner, s.ring.len),
        }
        // Sometimes with pointers left over (Xen keeps valid ones, zeroes the rest).
        if self.rng.chance(20) {
            let s = &self.slots[k];
            s.ring.set_rx_ptr(self.rng.next() as u32);
            s.ring.set_tx_ptr(self.rng.pick(&[0, 16, s.ring.len - 16, s.ring.len, u32::MAX]));
        }
        self.resync(k);
    }

    fn unregister_own(&mut self) {
        let k = self.slot();
        self.case = 200;
        let r = self.slots[k].ring.unregister().map(|()| 0);
        let registered = matches!(self.slots[k].state, State::Registered { .. });
        match (self.check(Op::Unregister, r, !registered), registered) {
            (Ok(_), true) => {
                self.check_guards(k);
                let d = self.slots[k].ring.digest();
                self.slots[k].state = State::Unregistered(d);
            }
            (Err(e), true) => self.fail("unregistering an owned ring failed", -i64::from(e.0)),
            (Err(Errno::ENOENT), false) => {}
            (_, false) => self.fail("unregistering a ring that is not there: not ENOENT", 0),
        }
    }

    fn gfn(&mut self) -> u64 {
        self.rng.pick(&[
            0,
            SHARED_INFO_GFN,
            0x8000,  // vGIC distributor (MMIO)
            0x8010,  // vGIC CPU interface
            0x7ff00, // mapped by the guest, backed by nothing
            0x44000, // one past a 64 MiB domain's RAM
            0xc0000,
            1 << 40,
            u64::MAX >> 12,
            u64::MAX,
        ])
    }

    fn register_bad(&mut self) {
        let port = SCRATCH_PORT + u32::from(self.vcpu);
        let case = self.rng.below(10);
        self.case = 100 + case as i64;
        let g = self.gfn();
        let bad = self.bad_address();
        let junk = self.rng.next();
        let bad_len = self.rng.pick(&[0, 16, 17, 48 + 1, a::MAX_RING_SIZE + 16, u32::MAX]);
        let bad_npage = self.rng.pick(&[0, 2, 3, 4097, 4098, u32::MAX]);
        let pad_case = self.rng.below(3);
        let partner = self.rng.pick(&[
            DOMID_SELF,
            abi::DOMID_IDLE, // (DOMID_INVALID is V4V_DOMID_ANY, 0x7ff4: valid)
            abi::DOMID_IO,
            abi::DOMID_XEN,
            abi::DOMID_COW,
            100,
            0x7fef,
        ]);
        let (j3, j4) = (self.rng.next() | 1, self.rng.next());
        let sc = &self.scratch;
        // Start from a good scratch ring, then break one thing.
        sc.write_header(a::RING_MAGIC, port, a::DOMID_ANY, 256);
        sc.pfns.write_pod(
            0,
            a::PfnListHeader { magic: a::PFN_LIST_MAGIC, npage: 1, pad: 0, reserved: [0; 3] },
        );
        sc.set_pfn(0, sc.pages.gfn(0));
        let (mut r_p, mut pl_p, mut x3, mut x4) = (sc.addr(), sc.pfn_list_addr(), 0, 0);
        match case {
            0 => sc.pages.write_u64(0, junk),
            1 => sc.pfns.write_u64(0, junk),
            2 => sc.pages.u32_at(20).store(bad_len, Ordering::Relaxed),
            // npage disagreeing with len (the list has room for 2 entries, one page).
            3 => {
                sc.pfns.u32_at(8).store(bad_npage, Ordering::Relaxed);
                sc.set_pfn(1, sc.pages.gfn(0));
            }
            // A pad: id.addr.pad (bytes 14..16), id.pad (18..20), the pfn list's pad.
            4 => match pad_case {
                0 => sc.pages.u32_at(12).store(1 << 16, Ordering::Relaxed),
                1 => sc
                    .pages
                    .u32_at(16)
                    .store(u32::from(a::DOMID_ANY) | (1 << 16), Ordering::Relaxed),
                _ => sc.pfns.u32_at(12).store(1, Ordering::Relaxed),
            },
            // A partner that is reserved (not ANY) or names no domain.
            5 => {
                sc.write_header(a::RING_MAGIC, port, partner, 256);
                self.case = self.case * 100_000 + i64::from(partner);
            }
            // A foreign / MMIO / out-of-RAM gfn.
            6 => sc.set_pfn(0, g),
            7 => r_p = bad,
            8 => pl_p = bad,
            _ => (x3, x4) = (j3, j4),
        }
        // SAFETY: r_p/pl_p are the scratch ring's arena pages or BadAddresses.
        let r = unsafe { v4v::raw_op(a::op::REGISTER_RING, r_p, pl_p, x3, x4) };
        if self.check(Op::Register, r, true).is_ok() {
            let _ = self.scratch.unregister();
        }
        if let Err(off) = self.scratch.guards_intact() {
            self.fail("guard page around the scratch ring written", off as i64);
        }
    }

    fn notify(&mut self) {
        let mut rd = RingDataBuf::<4>::new(0);
        let n = self.rng.below(5) as u32;
        rd.hdr.nent = n;
        for i in 0..n as usize {
            let dom = self.domid();
            let port = self.port();
            rd.ent[i] = RingDataEnt {
                ring: a::Addr { port, domain: dom, pad: 0 },
                space_required: self.rng.pick(&[0, 1, 16, 100, 1000, 4000, 8096, u32::MAX]),
                ..RingDataEnt::default()
            };
        }
        let case = self.rng.below(8);
        self.case = 400 + case as i64;
        let r = match case {
            0 => v4v::notify_null(),
            1 => {
                rd.hdr.magic ^= 1 << self.rng.below(64);
                v4v::notify(&mut rd)
            }
            2 => {
                rd.hdr.nent = self.rng.pick(&[65, 1000, u32::MAX]);
                v4v::notify(&mut rd)
            }
            3 => {
                rd.hdr.pad = 1;
                v4v::notify(&mut rd)
            }
            4 if n > 0 => {
                rd.ent[(n - 1) as usize].ring.pad = 1;
                v4v::notify(&mut rd)
            }
            5 => {
                // Not NULL: notify(NULL) is a valid call.
                let p = self
                    .rng
                    .pick(&[BadAddress::UNMAPPED, BadAddress::UNBACKED, BadAddress::MMIO])
                    .addr();
                // SAFETY: `p` is a BadAddress.
                unsafe { v4v::raw_op(a::op::NOTIFY, p, 0, 0, 0) }.map(|_| ())
            }
            _ => v4v::notify(&mut rd),
        };
        let must_fail = matches!(case, 1..=3 | 5) || (case == 4 && n > 0);
        match self.check(Op::Notify, r.map(|()| 0), must_fail) {
            Ok(_) => {
                for e in &rd.ent[..n as usize] {
                    if e.flags & !0xf != 0 || (e.flags == 0 && e.max_message_size != 0) {
                        self.fail("notify filled an entry with impossible flags", e.flags.into());
                    }
                }
            }
            Err(e) if !must_fail => self.fail("well-formed notify failed", -i64::from(e.0)),
            Err(_) => {}
        }
    }

    fn unknown(&mut self) {
        let (cmd, rest) = if self.rng.chance(60) {
            (self.rng.pick(&[0, 6, 7, 39, 43, 0xffff, 1 << 31, u64::MAX]), [0u64; 4])
        } else {
            // A known cmd with a nonzero argument it does not use.
            let c = self.rng.pick(&[a::op::UNREGISTER_RING, a::op::NOTIFY, a::op::REGISTER_RING]);
            let mut r = [0u64; 4];
            r[if c == a::op::REGISTER_RING { 2 } else { 1 + self.rng.below(3) as usize }] =
                self.rng.next() | 1;
            (c, r)
        };
        let a1 = if rest == [0; 4] { 0 } else { self.slots[0].ring.addr() };
        // SAFETY: unknown cmds read nothing; the known ones must refuse the nonzero unused
        // argument before reading `a1` (an owned ring header, read only).
        let r = unsafe { v4v::raw_op(cmd, a1, rest[1], rest[2], rest[3]) };
        self.case = 500 + cmd as i64;
        let want = if rest == [0; 4] { Errno::ENOSYS } else { Errno::EINVAL };
        if let Err(e) = self.check(Op::Unknown, r, true) {
            if e != want {
                self.fail("unknown cmd / unused argument: wrong errno", -i64::from(e.0));
            }
        }
    }

    /// The owner writes garbage into its ring's rx_ptr / tx_ptr (a buggy or hostile guest);
    /// Xen must stay inside the ring. The slot is resynced (re-registered) before it is read.
    fn owner_garbage(&mut self) {
        let k = self.slot();
        if !matches!(self.slots[k].state, State::Registered { .. }) {
            return;
        }
        let v = match self.rng.below(4) {
            0 => self.rng.next() as u32,
            1 => self.slots[k].ring.len,
            2 => self.rng.below(u64::from(self.slots[k].ring.len)) as u32,
            _ => u32::MAX - 15,
        };
        let s = &self.slots[k];
        if self.rng.chance(70) {
            s.ring.set_rx_ptr(v);
        } else {
            s.ring.set_tx_ptr(v);
        }
        self.slots[k].state = State::Registered { desynced: true };
    }

    /// Unregisters both owned rings (digests kept for [`V4vFuzzer::check_quiet`]).
    fn finish(&mut self) {
        for k in 0..2 {
            if matches!(self.slots[k].state, State::Registered { .. }) {
                let r = self.slots[k].ring.unregister().map(|()| 0);
                if self.check(Op::Unregister, r, false).is_err() {
                    self.fail("final unregister failed", 0);
                }
                self.slots[k].state = State::Unregistered(self.slots[k].ring.digest());
            }
            self.check_guards(k);
        }
    }

    /// After the other streams had time to send: no unregistered ring changed.
    fn check_quiet(&mut self) {
        for k in 0..2 {
            if let State::Unregistered(d) = self.slots[k].state {
                if self.slots[k].ring.digest() != d {
                    self.fail("a byte appeared in a ring after unregister", k as i64);
                }
            }
            self.check_guards(k);
        }
    }
}

static V1_CALLS: AtomicU64 = AtomicU64::new(0);

fn run_stream(f: &mut V4vFuzzer) {
    let n = N.load(Ordering::Relaxed);
    while f.idx < n && f.violation.is_none() {
        f.step();
    }
    if f.violation.is_none() {
        f.finish();
    }
}

/// vCPU 1's stream; 0, or 1 + the step index of its first violation.
fn vcpu1(seed: u64) -> u64 {
    let Some(mut f) = V4vFuzzer::new(seed, 1) else { return u64::MAX };
    run_stream(&mut f);
    if f.violation.is_none() {
        quiet_wait();
        f.check_quiet();
    }
    V1_CALLS.store(f.calls, Ordering::Relaxed);
    match f.violation {
        None => 0,
        Some((idx, what, v)) => {
            println!("fuzz-v4v vCPU 1 violation idx={idx}: {what} ({v})");
            idx + 1
        }
    }
}

/// Gives the other domains' streams time to send into our (now unregistered) rings.
fn quiet_wait() {
    for _ in 0..2000 {
        xtf::guest::hypercall::yield_now();
    }
}

xtf::register_test!(
    "fuzz-v4v",
    "every V4V op on 1-2 vCPUs, invariants only (seed=S n=N peers=D1,D2 vcpus=1|2)",
    run
);
pub fn run(env: &Env<'_>) {
    let seed = env.arg_u64("seed").unwrap_or(1);
    let n = env.arg_u64("n").unwrap_or(20_000);
    let vcpus = env.arg_u64("vcpus").unwrap_or(1);
    if let Err(dtb) = ring_mem::check(env) {
        return xtf_error!("the ring arena overlaps the DTB at {dtb:#x}: more DOMU_MEM");
    }
    let me = match evtchn::own_domid() {
        Ok(d) => d,
        Err(e) => return xtf_error!("own domid: {e}"),
    };
    ME.store(me, Ordering::Relaxed);
    N.store(n, Ordering::Relaxed);
    let mut np = 0;
    for d in env.arg("peers").unwrap_or("").split(',').filter_map(|s| s.parse::<DomId>().ok()) {
        if np < PEERS.len() {
            PEERS[np].store(d, Ordering::Relaxed);
            np += 1;
        }
    }
    N_PEERS.store(np as u32, Ordering::Relaxed);
    if vcpus > 1 {
        if let Err(e) = smp::bring_up(env.fdt.as_ref(), 2) {
            return xtf_error!("{e}");
        }
    }
    println!("fuzz-v4v start seed={seed} n={n} d={me} vcpus={vcpus}");
    // Both streams' rings are allocated before either runs (the arena is a bump allocator,
    // and the layout then does not depend on timing).
    let Some(mut f) = V4vFuzzer::new(seed, 0) else { return xtf_error!("ring arena used up") };
    if vcpus > 1 {
        smp::start_on(1, vcpu1, seed ^ 0x5eed_0001);
    }
    run_stream(&mut f);
    if let Some((idx, what, v)) = f.violation {
        return xtf_failure!("vCPU 0 seed={seed} idx={idx}: {what} ({v})");
    }
    quiet_wait();
    f.check_quiet();
    if let Some((idx, what, v)) = f.violation {
        return xtf_failure!("vCPU 0 seed={seed} idx={idx}: {what} ({v})");
    }
    let mut calls = f.calls;
    if vcpus > 1 {
        match smp::finish(1, 600_000) {
            Ok(0) => calls += V1_CALLS.load(Ordering::Relaxed),
            Ok(u64::MAX) => return xtf_error!("vCPU 1: ring arena used up"),
            Ok(i) => return xtf_failure!("vCPU 1 seed={seed} idx={}: see above", i - 1),
            Err(_) => return,
        }
    }
    println!(
        "fuzz-v4v-done seed={seed} steps={} calls={calls} sent-vcpu0={} read-vcpu0={}",
        vcpus * n,
        f.sent,
        f.read
    );
    xtf_success!();
}

/// Set by vCPU 0 of `v4v-rereg` when it is done.
static STOP: AtomicU32 = AtomicU32::new(0);

/// `v4v-rereg`'s vCPU 1: well-formed messages to vCPU 0's ANY ring (port 7000) until STOP.
fn rereg_sender(seed: u64) -> u64 {
    let Some(mut f) = V4vFuzzer::new(seed, 1) else { return u64::MAX };
    while STOP.load(Ordering::Acquire) == 0 {
        let len = 16 + f.rng.below(200) as usize;
        let proto = f.payload(len);
        let _ = v4v::send(f.me, PORT0, SRC_PORT + 1, &f.buf[..len], proto);
        f.idx += 1;
    }
    0
}

xtf::register_test!(
    "v4v-rereg",
    "re-register a ring while vCPU 1 sends into it: no torn message (seed=S n=N)",
    rereg
);
/// Regression (docs/fuzzing.md, V4V finding): re-registering a ring while another vCPU
/// sends into it must not lose or tear a message. vCPU 1 sends without pause into vCPU 0's
/// ANY ring; vCPU 0 re-registers the ring (same pages, header as Xen left it), takes the
/// header's tx_ptr as its rx_ptr (Xen's tx_ptr is always a message boundary) and reads
/// every message there is, checking each. `seed=S n=N` (re-registrations).
pub fn rereg(env: &Env<'_>) {
    let seed = env.arg_u64("seed").unwrap_or(7);
    let n = env.arg_u64("n").unwrap_or(3000);
    if let Err(dtb) = ring_mem::check(env) {
        return xtf_error!("the ring arena overlaps the DTB at {dtb:#x}: more DOMU_MEM");
    }
    let me = match evtchn::own_domid() {
        Ok(d) => d,
        Err(e) => return xtf_error!("own domid: {e}"),
    };
    ME.store(me, Ordering::Relaxed);
    if let Err(e) = smp::bring_up(env.fdt.as_ref(), 2) {
        return xtf_error!("{e}");
    }
    let Some(mut f) = V4vFuzzer::new(seed, 0) else { return xtf_error!("ring arena used up") };
    f.resync(0);
    smp::start_on(1, rereg_sender, seed ^ 1);
    for i in 0..n {
        f.idx = i;
        f.resync(0);
        for _ in 0..4 {
            f.recv_slot(0);
        }
        if f.violation.is_some() {
            break;
        }
    }
    STOP.store(1, Ordering::Release);
    if smp::finish(1, 60_000).is_err() {
        return;
    }
    if let Some((idx, what, v)) = f.violation {
        return xtf_failure!("re-registration {idx} of {n}: {what} ({v})");
    }
    println!("v4v-rereg: {n} re-registrations, {} messages read intact", f.read);
    if f.read == 0 {
        return xtf_failure!("no message arrived: the race was not exercised");
    }
    xtf_success!();
}
