//! Fuzzer guests: a seeded, deterministic stream of event channel hypercalls with
//! hostile and edge-case arguments, interleaved with the writes and reads a real guest makes
//! to its shared_info bits and FIFO words. See docs/fuzzing.md.
//!
//! Differential mode (`test=fuzz-evtchn`, booted under `-icount shift=0 -smp 1`): every
//! step (a hypercall, a guest write or a guest read) is folded into a running hash together
//! with its arguments, Xen's return value and every byte of the argument buffer after the
//! call (so the OUT fields Xen wrote, and that it wrote nothing else). Every `check=K` steps
//! the guest prints `fuzz seed=S idx=I hash=H`; ci/test compares those lines between the C
//! and Rust builds, and ci/fuzz-diverge re-runs a differing window with `trace=A-B`, which
//! prints each step of the window (`fuzz-call …`) so the first differing call can be named.
//!
//! What goes into the hash is only what the stream itself determines: the domain's own
//! ports, the passive peer's ports (which only this stream changes), and guest-visible bits
//! that only this stream's own sends set. Nothing in the hash depends on time: no timer
//! VIRQ is armed, global VIRQs go to the (absent) hardware domain, interrupts stay masked,
//! and the domids drawn never name another fuzzer of the same boot (whose lifetime is timing).
//!
//! Chaos mode (`test=fuzz-chaos`): the same generator on both vCPUs at once, no icount; it
//! checks invariants only (see [`chaos`]).
//!
//! Command-line keys: `seed=S`, `n=N` steps, `check=K` (checkpoint interval, default 4096),
//! `trace=A-B` (print steps A..B), `peer=P` and `pports=A-B` (the passive peer domain and
//! the ports it holds unbound for us), `abi=2l|fifo|mixed` (default mixed).

use core::fmt;
use core::sync::atomic::Ordering;

use xtf::abi::{self, DOMID_SELF, DomId, Errno, EventWordFlags as F, evtchnop as op, evtchnstat};
use xtf::guest::evtchn::{
    self,
    raw::{self, ArgBuf, BadAddress},
};
use xtf::guest::fifo::{self as gfifo, array_gfn, control_gfn, u32_at};
use xtf::guest::shared_info::{self, SHARED_INFO_GFN, SharedInfo};
use xtf::{Env, println, xtf_failure, xtf_success};

pub mod chaos;
pub mod exhaust;
pub mod exhaust_rings;
pub mod v4v;

/// splitmix64: tiny, fast, and the same stream on every build.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x6f78_785f_6675_7a7a)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    pub fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// FNV-1a over 64-bit words, with a shift to spread high bits down.
#[derive(Clone, Copy)]
pub struct Hash(pub u64);

impl Hash {
    pub fn add(&mut self, x: u64) {
        self.0 = (self.0 ^ x).wrapping_mul(0x0000_0100_0000_01b3);
        self.0 ^= self.0 >> 29;
    }
}

/// Bytes as hex, for trace lines.
struct Hex<'a>(&'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// The FIFO ABI as this stream set it up (from Xen's answers, not assumed).
struct FifoView {
    on: bool,
    /// Event array page gfns, in the order Xen accepted them.
    arrays: [u64; abi::fifo::MAX_ARRAY_PAGES as usize],
    n_arrays: usize,
    /// (gfn, offset) of vCPU 0's and 1's control blocks.
    controls: [Option<(u64, u32)>; 2],
}

/// Which ABI the stream may enter.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Abi {
    /// init_control only with arguments that must fail: the whole run is 2-level.
    TwoLevel,
    /// init_control(vCPU 0) and one array page first, then anything.
    Fifo,
    /// anything from the start.
    Mixed,
}

/// The step kinds and their weights (out of their sum).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Step {
    AllocUnbound,
    BindInterdomain,
    BindVirq,
    BindPirq,
    BindIpi,
    Close,
    Send,
    Status,
    BindVcpu,
    Unmask,
    Reset,
    ResetCont,
    InitControl,
    ExpandArray,
    SetPriority,
    UnknownOp,
    BadPointer,
    Write2l,
    WriteVcpuInfo,
    WriteFifoWord,
    WriteControl,
    Observe,
}

const STEPS: &[(u32, Step)] = &[
    (70, Step::AllocUnbound),
    (40, Step::BindInterdomain),
    (40, Step::BindVirq),
    (8, Step::BindPirq),
    (50, Step::BindIpi),
    (80, Step::Close),
    (100, Step::Send),
    (70, Step::Status),
    (40, Step::BindVcpu),
    (60, Step::Unmask),
    (2, Step::Reset),
    (2, Step::ResetCont),
    (20, Step::InitControl),
    (25, Step::ExpandArray),
    (40, Step::SetPriority),
    (8, Step::UnknownOp),
    (15, Step::BadPointer),
    (40, Step::Write2l),
    (10, Step::WriteVcpuInfo),
    (40, Step::WriteFifoWord),
    (10, Step::WriteControl),
    (40, Step::Observe),
];

/// Domids that never exist in our boots (no dom0 in dom0less, none of ours goes that high).
pub(crate) const ABSENT_DOMIDS: [DomId; 3] = [0, 100, 0x7fef];

pub struct Fuzzer<'s> {
    pub rng: Rng,
    pub hash: Hash,
    pub seed: u64,
    pub idx: u64,
    pub calls: u64,
    trace: (u64, u64),
    si: &'s SharedInfo,
    me: DomId,
    pub peer: Option<DomId>,
    /// Other domains the stream may name (differential: the passive peer only).
    pub peers: [DomId; 4],
    pub n_peers: usize,
    pports: (u32, u32),
    abi: Abi,
    /// The last ports Xen handed out (bind/alloc results), to aim at live ports.
    known: [u32; 16],
    n_known: usize,
    /// Highest port Xen ever handed out.
    pub max_port: u32,
    fifo: FifoView,
    /// Chaos mode: no hash, no trace; the reset invariant is checked under the stream lock.
    pub chaos: bool,
    /// Whether this stream issues EVTCHNOP_reset/reset_cont. Off on a vCPU that runs with
    /// IRQs unmasked (chaos vCPU 1): there a pending upcall the guest never takes keeps
    /// hypercall_preempt_check() true and the preemptible reset restarts at the same port
    /// forever (docs/fuzzing.md, finding 2).
    pub allow_reset: bool,
    /// First invariant violation seen (reported by the caller).
    pub violation: Option<(u64, &'static str, u32, u32)>,
}

impl<'s> Fuzzer<'s> {
    pub fn new(env: &Env<'_>, si: &'s SharedInfo, me: DomId, seed: u64) -> Self {
        let range = |key: &str| {
            env.arg(key)
                .and_then(|t| t.split_once('-'))
                .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
        };
        let mut f = Self::bare(si, me, seed);
        f.trace = range("trace").unwrap_or((u64::MAX, 0));
        f.pports = range("pports").map(|(a, b): (u64, u64)| (a as u32, b as u32)).unwrap_or((1, 8));
        f.abi = match env.arg("abi") {
            Some("2l") => Abi::TwoLevel,
            Some("fifo") => Abi::Fifo,
            _ => Abi::Mixed,
        };
        f.peer = env.arg("peer").and_then(|p| p.parse().ok());
        if let Some(p) = f.peer {
            f.peers[0] = p;
            f.n_peers = 1;
        }
        f
    }

    /// A fuzzer with no peer, no trace, the mixed ABI.
    pub fn bare(si: &'s SharedInfo, me: DomId, seed: u64) -> Self {
        Self {
            rng: Rng::new(seed),
            hash: Hash(0xcbf2_9ce4_8422_2325 ^ seed),
            seed,
            idx: 0,
            calls: 0,
            trace: (u64::MAX, 0),
            si,
            me,
            peer: None,
            peers: [DOMID_SELF; 4],
            n_peers: 0,
            pports: (1, 8),
            abi: Abi::Mixed,
            known: [0; 16],
            n_known: 0,
            max_port: 0,
            fifo: FifoView {
                on: false,
                arrays: [0; abi::fifo::MAX_ARRAY_PAGES as usize],
                n_arrays: 0,
                controls: [None, None],
            },
            chaos: false,
            allow_reset: true,
            violation: None,
        }
    }

    fn tracing(&self) -> bool {
        self.idx >= self.trace.0 && self.idx < self.trace.1
    }

    /// Folds one step into the hash (and prints it inside the trace window).
    fn record(&mut self, what: &'static str, args: [u64; 4], ret: i64, out: &[u8]) {
        if self.chaos {
            return;
        }
        for b in what.bytes() {
            self.hash.add(u64::from(b));
        }
        for a in args {
            self.hash.add(a);
        }
        self.hash.add(ret as u64);
        for chunk in out.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.hash.add(u64::from_le_bytes(w));
        }
        if self.tracing() {
            println!(
                "fuzz-call seed={} idx={} {}({:#x},{:#x},{:#x},{:#x}) = {} out={}",
                self.seed,
                self.idx,
                what,
                args[0],
                args[1],
                args[2],
                args[3],
                ret,
                Hex(out)
            );
        }
    }

    fn note_port(&mut self, p: u32) {
        self.known[self.n_known % self.known.len()] = p;
        self.n_known += 1;
        self.max_port = self.max_port.max(p);
    }

    fn port(&mut self) -> u32 {
        match self.rng.below(10) {
            0..=4 if self.n_known > 0 => {
                let n = self.n_known.min(self.known.len());
                self.known[self.rng.below(n as u64) as usize]
            }
            0..=6 => self.rng.below(64) as u32,
            7 => self.rng.below(1100) as u32,
            8 => self.rng.pick(&[
                0,
                1,
                63,
                64,
                1023,
                1024,
                4095,
                4096,
                131_071,
                131_072,
                0x7fff_ffff,
                0x8000_0000,
                u32::MAX,
            ]),
            _ => self.rng.next() as u32,
        }
    }

    fn domid(&mut self) -> DomId {
        match self.rng.below(12) {
            0..=5 => DOMID_SELF,
            6 => self.me,
            7 if self.n_peers > 0 => self.peers[self.rng.below(self.n_peers as u64) as usize],
            7 => DOMID_SELF,
            8 => self.rng.pick(&ABSENT_DOMIDS),
            9 => self.rng.pick(&[
                abi::DOMID_IO,
                abi::DOMID_XEN,
                abi::DOMID_COW,
                abi::DOMID_INVALID,
                abi::DOMID_IDLE,
                0xffff,
            ]),
            // Random, but never a small domid: those are other domains of the boot.
            _ => 0x100 + self.rng.below(0xffff - 0x100) as DomId,
        }
    }

    fn vcpu(&mut self) -> u32 {
        self.rng.pick(&[0, 0, 0, 0, 1, 1, 2, 7, 8, 127, 128, 0x7fff_ffff, 0x8000_0000, u32::MAX])
    }

    fn gfn(&mut self) -> u64 {
        match self.rng.below(4) {
            0 => control_gfn(self.rng.below(gfifo::MAX_VCPUS as u64) as u32),
            1 => array_gfn(self.rng.below(u64::from(abi::fifo::MAX_ARRAY_PAGES) + 1) as u32),
            _ => self.rng.pick(&[
                0,
                SHARED_INFO_GFN,
                0x8000,  // vGIC distributor
                0x8010,  // vGIC CPU interface
                0x7ff00, // mapped by the guest, backed by nothing
                0x44000, // one past a 64 MiB domain's RAM
                0xc0000,
                1 << 40,
                u64::MAX >> 12,
                u64::MAX,
            ]),
        }
    }

    fn offset(&mut self) -> u32 {
        match self.rng.below(10) {
            0..=4 => 0,
            5 => (self.rng.below(4096) as u32) & !7,
            _ => self.rng.pick(&[
                4,
                1,
                8,
                64,
                abi::FIFO_CONTROL_BLOCK_MAX_OFFSET,
                abi::FIFO_CONTROL_BLOCK_MAX_OFFSET + 8,
                abi::FIFO_CONTROL_BLOCK_MAX_OFFSET - 8,
                4088,
                4095,
                4096,
                0x8000_0000,
                u32::MAX,
            ]),
        }
    }

    /// One EVTCHNOP through a byte buffer: poisoned first, `fill` writes the IN fields at
    /// the structure's offset; usually aligned, sometimes not; sometimes with junk in x0's
    /// upper half. Returns Xen's result; the buffer after the call goes into the hash.
    fn evtchnop(
        &mut self,
        what: &'static str,
        cmd: u32,
        args: [u64; 4],
        fill: impl FnOnce(&mut [u8]),
    ) -> (i64, [u8; 32]) {
        let poison = self.rng.next();
        let mut buf = ArgBuf([0; 64]);
        for (i, b) in buf.0.iter_mut().enumerate() {
            *b = (poison >> (8 * (i % 8))) as u8;
        }
        let offset = if self.rng.chance(4) { self.rng.pick(&[1, 2, 3, 4, 8]) } else { 0 };
        let x0 = if self.rng.chance(2) {
            (u64::from(self.rng.next() as u32 | 1) << 32) | u64::from(cmd)
        } else {
            u64::from(cmd)
        };
        fill(&mut buf.0[offset..]);
        let ret = raw::op_buf(x0, &mut buf, offset);
        self.calls += 1;
        // The fourth slot of a record says how the call was made: the structure's offset.
        let a = [x0, args[0], args[1], args[2] | ((offset as u64) << 56)];
        self.record(what, a, ret, &buf.0[..40]);
        let mut out = [0u8; 32];
        out.copy_from_slice(&buf.0[offset..offset + 32]);
        (ret, out)
    }

    pub fn step(&mut self) {
        let total: u32 = STEPS.iter().map(|s| s.0).sum();
        let mut r = self.rng.below(u64::from(total)) as u32;
        let mut kind = Step::Observe;
        for &(w, s) in STEPS {
            if r < w {
                kind = s;
                break;
            }
            r -= w;
        }
        if !self.allow_reset && matches!(kind, Step::Reset | Step::ResetCont) {
            kind = Step::Observe;
        }
        if self.chaos {
            chaos::gated(matches!(kind, Step::Reset | Step::ResetCont), || self.run(kind));
        } else {
            self.run(kind);
        }
        self.idx += 1;
    }

    fn run(&mut self, kind: Step) {
        match kind {
            Step::AllocUnbound => {
                let (d, rd) = (self.domid(), self.domid());
                let (ret, b) = self.evtchnop(
                    "alloc_unbound",
                    op::ALLOC_UNBOUND,
                    [d.into(), rd.into(), 0, 0],
                    |s| {
                        put16(s, 0, d);
                        put16(s, 2, rd);
                    },
                );
                self.took_port(ret, &b, 4);
            }
            Step::BindInterdomain => {
                let rd = if self.rng.chance(60) && self.n_peers > 0 {
                    self.peers[self.rng.below(self.n_peers as u64) as usize]
                } else {
                    self.domid()
                };
                let rp = if self.rng.chance(60) && rd == self.peer.unwrap_or(DOMID_SELF + 1) {
                    self.pports.0
                        + self.rng.below(u64::from(self.pports.1 - self.pports.0 + 1)) as u32
                } else {
                    self.port()
                };
                let (ret, b) = self.evtchnop(
                    "bind_interdomain",
                    op::BIND_INTERDOMAIN,
                    [rd.into(), rp.into(), 0, 0],
                    |s| {
                        put16(s, 0, rd);
                        put32(s, 4, rp);
                    },
                );
                self.took_port(ret, &b, 8);
            }
            Step::BindVirq => {
                let virq = if self.rng.chance(75) {
                    self.rng.below(26) as u32
                } else {
                    self.rng.pick(&[31, 32, 64, 0x8000_0000, u32::MAX])
                };
                let v = self.vcpu();
                let (ret, b) =
                    self.evtchnop("bind_virq", op::BIND_VIRQ, [virq.into(), v.into(), 0, 0], |s| {
                        put32(s, 0, virq);
                        put32(s, 4, v);
                    });
                self.took_port(ret, &b, 8);
            }
            Step::BindPirq => {
                let pirq = self.rng.pick(&[0, 1, 32, 1020, u32::MAX]);
                let flags = self.rng.pick(&[0, 1, 2, u32::MAX]);
                let (ret, b) = self.evtchnop(
                    "bind_pirq",
                    op::BIND_PIRQ,
                    [pirq.into(), flags.into(), 0, 0],
                    |s| {
                        put32(s, 0, pirq);
                        put32(s, 4, flags);
                    },
                );
                self.took_port(ret, &b, 8);
            }
            Step::BindIpi => {
                let v = self.vcpu();
                let (ret, b) = self
                    .evtchnop("bind_ipi", op::BIND_IPI, [v.into(), 0, 0, 0], |s| put32(s, 0, v));
                self.took_port(ret, &b, 4);
            }
            Step::Close => {
                let p = self.port();
                self.evtchnop("close", op::CLOSE, [p.into(), 0, 0, 0], |s| put32(s, 0, p));
            }
            Step::Send => {
                let p = self.port();
                self.evtchnop("send", op::SEND, [p.into(), 0, 0, 0], |s| put32(s, 0, p));
            }
            Step::Status => {
                let (d, p) = (self.domid(), self.port());
                self.evtchnop("status", op::STATUS, [d.into(), p.into(), 0, 0], |s| {
                    put16(s, 0, d);
                    put32(s, 4, p);
                });
            }
            Step::BindVcpu => {
                let (p, v) = (self.port(), self.vcpu());
                self.evtchnop("bind_vcpu", op::BIND_VCPU, [p.into(), v.into(), 0, 0], |s| {
                    put32(s, 0, p);
                    put32(s, 4, v);
                });
            }
            Step::Unmask => {
                let p = self.port();
                self.evtchnop("unmask", op::UNMASK, [p.into(), 0, 0, 0], |s| put32(s, 0, p));
            }
            Step::Reset | Step::ResetCont => {
                let d = if self.rng.chance(70) { DOMID_SELF } else { self.domid() };
                let (name, cmd) = match kind {
                    Step::Reset => ("reset", op::RESET),
                    _ => ("reset_cont", op::RESET_CONT),
                };
                let (ret, _) = self.evtchnop(name, cmd, [d.into(), 0, 0, 0], |s| put16(s, 0, d));
                if ret == 0 {
                    self.after_reset();
                }
            }
            Step::InitControl => {
                let mut v = self.vcpu();
                if self.abi == Abi::TwoLevel {
                    v = 8; // no such vCPU: -ENOENT whatever the rest is
                }
                let gfn = if self.rng.chance(60) { control_gfn(v.min(7)) } else { self.gfn() };
                let off = self.offset();
                self.init_control(gfn, off, v);
            }
            Step::ExpandArray => {
                let gfn = match self.rng.below(10) {
                    0..=5 => {
                        let g =
                            array_gfn((self.fifo.n_arrays as u32).min(abi::fifo::MAX_ARRAY_PAGES));
                        // A fresh page, zeroed or all-MASKED as Linux fills it.
                        let fill = if self.rng.chance(50) { 0 } else { F::MASKED.bits() };
                        fill_page(g, fill);
                        g
                    }
                    _ => self.gfn(),
                };
                self.expand_array(gfn);
            }
            Step::SetPriority => {
                let p = self.port();
                let prio = if self.rng.chance(80) {
                    self.rng.below(17) as u32
                } else {
                    self.rng.pick(&[255, 0x8000_0000, u32::MAX])
                };
                self.evtchnop(
                    "set_priority",
                    op::SET_PRIORITY,
                    [p.into(), prio.into(), 0, 0],
                    |s| {
                        put32(s, 0, p);
                        put32(s, 4, prio);
                    },
                );
            }
            Step::UnknownOp => {
                let cmd = match self.rng.below(4) {
                    0 => self.rng.pick(&[15, 16, 31, 0x7fff_ffff, 0x8000_0000, u32::MAX]),
                    _ => 15 + (self.rng.next() as u32 % (u32::MAX - 15)),
                };
                self.evtchnop("unknown", cmd, [cmd.into(), 0, 0, 0], |_| ());
            }
            Step::BadPointer => {
                let cmd = self.rng.below(15) as u32;
                let addr = self.rng.pick(&[
                    BadAddress::NULL,
                    BadAddress::UNMAPPED,
                    BadAddress::UNBACKED,
                    BadAddress::MMIO,
                ]);
                let ret = match raw::op_at(cmd, addr) {
                    Ok(v) => v as i64,
                    Err(e) => -i64::from(e.0),
                };
                self.calls += 1;
                self.record("bad_pointer", [cmd.into(), addr.addr(), 0, 0], ret, &[]);
            }
            Step::Write2l => {
                let p = self.port() % abi::EVTCHN_2L_NR_CHANNELS;
                let what = self.rng.below(4);
                match what {
                    0 => self.si.set_pending(p),
                    1 => self.si.clear_pending(p),
                    2 => self.si.mask(p),
                    _ => self.si.clear_mask(p),
                }
                self.record("write_2l", [p.into(), what, 0, 0], 0, &[]);
            }
            Step::WriteVcpuInfo => {
                let vi = self.si.vcpu0();
                let what = self.rng.below(3);
                match what {
                    0 => vi.set_upcall_pending(0),
                    1 => vi.set_upcall_pending(1),
                    _ => {
                        vi.take_pending_sel();
                    }
                }
                self.record("write_vcpu_info", [what, 0, 0, 0], 0, &[]);
            }
            Step::WriteFifoWord => {
                if self.fifo.n_arrays == 0 {
                    return self.record("write_fifo_word", [0; 4], -1, &[]);
                }
                let p = self.port() % (self.fifo.n_arrays as u32 * abi::fifo::WORDS_PER_PAGE);
                let Some(w) = self.fifo_word(p) else {
                    return self.record("write_fifo_word", [p.into(), 0, 0, 0], -2, &[]);
                };
                let what = self.rng.below(4);
                let flag = self.rng.pick(&[F::PENDING, F::MASKED, F::LINKED, F::BUSY]).bits();
                let val = self.rng.next() as u32;
                match what {
                    0 => {
                        w.fetch_or(flag, Ordering::SeqCst);
                    }
                    1 => {
                        w.fetch_and(!flag, Ordering::SeqCst);
                    }
                    // A link to anywhere, flags kept.
                    2 => {
                        let old = w.load(Ordering::SeqCst);
                        w.store(
                            (old & !abi::fifo::LINK_MASK) | (val & abi::fifo::LINK_MASK),
                            Ordering::SeqCst,
                        );
                    }
                    _ => w.store(val, Ordering::SeqCst),
                }
                self.record("write_fifo_word", [p.into(), what, flag.into(), val.into()], 0, &[]);
            }
            Step::WriteControl => {
                let Some((gfn, off)) = self.fifo.controls[0] else {
                    return self.record("write_control", [0; 4], -1, &[]);
                };
                let cb = gfifo::ControlBlock::at(gfn, off);
                let q = self.rng.below(abi::fifo::MAX_QUEUES as u64) as u32;
                let val = if self.rng.chance(50) { self.port() } else { self.rng.next() as u32 };
                if self.rng.chance(30) {
                    cb.set_ready(val);
                    self.record("write_ready", [val.into(), 0, 0, 0], 0, &[]);
                } else {
                    cb.set_head(q, val);
                    self.record("write_head", [q.into(), val.into(), 0, 0], 0, &[]);
                }
            }
            Step::Observe => self.observe(),
        }
    }

    /// Port `port`'s event word, if its array page is one of the guest's FIFO-region pages
    /// (Xen also takes pages the guest cannot write as plain RAM, e.g. shared_info's).
    fn fifo_word(&self, port: u32) -> Option<&'static core::sync::atomic::AtomicU32> {
        let page = (port / abi::fifo::WORDS_PER_PAGE) as usize;
        let addr = (self.fifo.arrays[page] as usize) << 12;
        (gfifo::REGION_BASE..gfifo::REGION_END)
            .contains(&addr)
            .then(|| u32_at(addr + 4 * (port % abi::fifo::WORDS_PER_PAGE) as usize))
    }

    /// Reads what Xen shows the guest: 2L words, vCPU 0's upcall flags, a FIFO word and
    /// vCPU 0's control block.
    fn observe(&mut self) {
        let p = self.port();
        let w = (p as usize / 64) % 64;
        let vi = self.si.vcpu0();
        let mut out = [0u64; 6];
        out[0] = self.si.pending_word(w);
        out[1] = self.si.mask_word(w);
        out[2] = u64::from(vi.upcall_pending()) | (u64::from(vi.upcall_mask()) << 8);
        out[3] = vi.pending_sel();
        if self.fifo.n_arrays > 0 {
            let fp = p % (self.fifo.n_arrays as u32 * abi::fifo::WORDS_PER_PAGE);
            let w = self.fifo_word(fp).map_or(u32::MAX, |w| w.load(Ordering::SeqCst));
            out[4] = u64::from(fp) << 32 | u64::from(w);
        }
        if let Some((gfn, off)) = self.fifo.controls[0] {
            let cb = gfifo::ControlBlock::at(gfn, off);
            let q = p % abi::fifo::MAX_QUEUES as u32;
            out[5] = u64::from(cb.ready()) << 32 | u64::from(cb.head(q));
        }
        let mut bytes = [0u8; 48];
        for (i, v) in out.iter().enumerate() {
            bytes[8 * i..8 * i + 8].copy_from_slice(&v.to_le_bytes());
        }
        self.record("observe", [p.into(), 0, 0, 0], 0, &bytes);
    }

    fn took_port(&mut self, ret: i64, b: &[u8; 32], at: usize) {
        if ret == 0 {
            // The OUT port field of the structure (`b` starts where the structure was put).
            let p = u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
            if p < 1 << 17 {
                self.note_port(p);
            }
        }
    }

    fn init_control(&mut self, gfn: u64, off: u32, v: u32) -> i64 {
        let (ret, _) =
            self.evtchnop("init_control", op::INIT_CONTROL, [gfn, off.into(), v.into(), 0], |s| {
                put64(s, 0, gfn);
                put32(s, 8, off);
                put32(s, 12, v);
            });
        if ret == 0 {
            if !self.fifo.on {
                self.fifo.on = true;
                self.fifo.n_arrays = 0;
            }
            // Only blocks the guest can reach through the FIFO region are written and read
            // later (Xen also accepts e.g. the shared_info frame).
            let addr = ((gfn as usize) << 12) + off as usize;
            let in_region = (gfifo::REGION_BASE..gfifo::REGION_END - 72).contains(&addr);
            if (v as usize) < self.fifo.controls.len() && in_region {
                self.fifo.controls[v as usize] = Some((gfn, off));
            }
        }
        ret
    }

    fn expand_array(&mut self, gfn: u64) -> i64 {
        let (ret, _) =
            self.evtchnop("expand_array", op::EXPAND_ARRAY, [gfn, 0, 0, 0], |s| put64(s, 0, gfn));
        if ret == 0 && self.fifo.n_arrays < self.fifo.arrays.len() {
            self.fifo.arrays[self.fifo.n_arrays] = gfn;
            self.fifo.n_arrays += 1;
        }
        ret
    }

    /// After a successful reset of our own domain: back to 2L, and every port reports
    /// closed (or does not exist). A violation is recorded for the caller to report.
    fn after_reset(&mut self) {
        self.fifo.on = false;
        self.fifo.n_arrays = 0;
        self.fifo.controls = [None, None];
        for p in 1..=self.max_port.min(4095) {
            let r = evtchn::status(DOMID_SELF, p);
            self.calls += 1;
            let ok = match r {
                Ok(st) => st.status == evtchnstat::CLOSED,
                Err(e) => e == Errno::EINVAL,
            };
            if !ok && self.violation.is_none() {
                let s = r.map(|st| st.status).unwrap_or(u32::MAX);
                self.violation = Some((self.idx, "port not closed after EVTCHNOP_reset", p, s));
            }
            let v = match r {
                Ok(st) => u64::from(st.status),
                Err(e) => 0x100 + u64::from(e.0 as u32),
            };
            if !self.chaos {
                self.hash.add(v);
            }
        }
        self.n_known = 0;
    }

    /// The `abi=fifo` opening: vCPU 0's control block and one array page.
    fn open_fifo(&mut self) {
        fill_page(control_gfn(0), 0);
        self.init_control(control_gfn(0), 0, 0);
        fill_page(array_gfn(0), 0);
        self.expand_array(array_gfn(0));
    }

    fn checkpoint(&self) {
        println!("fuzz seed={} idx={} hash={:016x}", self.seed, self.idx, self.hash.0);
    }
}

fn put16(s: &mut [u8], at: usize, v: u16) {
    s[at..at + 2].copy_from_slice(&v.to_le_bytes());
}
fn put32(s: &mut [u8], at: usize, v: u32) {
    s[at..at + 4].copy_from_slice(&v.to_le_bytes());
}
fn put64(s: &mut [u8], at: usize, v: u64) {
    s[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// Fills the FIFO-region page at `gfn` with `word`.
pub fn fill_page(gfn: u64, word: u32) {
    let base = (gfn as usize) << 12;
    for i in 0..1024 {
        u32_at(base + 4 * i).store(word, Ordering::SeqCst);
    }
}

/// Waits until the passive peer holds our ports (binding its last one works; then closes
/// it), or until the policy says no (-EPERM: the whole run sees the same refusal).
pub fn wait_for_peer(peer: DomId, last: u32) {
    for _ in 0..200_000 {
        match evtchn::bind_interdomain(peer, last) {
            Ok(p) => {
                let _ = evtchn::close(p);
                return;
            }
            Err(Errno::EPERM) => return,
            Err(_) => xtf::guest::hypercall::yield_now(),
        }
    }
    println!("fuzz: peer d{peer} never offered port {last}");
}

xtf::register_test!(
    "fuzz-evtchn",
    "seeded EVTCHNOP stream, hash checkpoints for C/Rust comparison (seed=S n=N trace=A-B)",
    evtchn_diff
);
/// `test=fuzz-evtchn seed=S n=N [check=K] [trace=A-B] [peer=P pports=A-B] [abi=…]`.
pub fn evtchn_diff(env: &Env<'_>) {
    let si = match shared_info::map() {
        Ok(si) => si,
        Err(e) => return xtf::xtf_error!("mapping shared_info: {e}"),
    };
    let me = match evtchn::own_domid() {
        Ok(d) => d,
        Err(e) => return xtf::xtf_error!("own domid: {e}"),
    };
    let seed = env.arg_u64("seed").unwrap_or(1);
    let n = env.arg_u64("n").unwrap_or(10_000);
    let check = env.arg_u64("check").unwrap_or(4096).max(1);
    let mut f = Fuzzer::new(env, si, me, seed);
    // Wait for the peer only where it holds ports for us (`pports=`): under XSM SILO it
    // holds none, and every bind is refused whether it has started or not.
    if let (Some(peer), Some(_)) = (f.peer, env.arg("pports")) {
        wait_for_peer(peer, f.pports.1);
    }
    // A known starting point: our own bits as a fresh guest has them.
    si.clear_all_pending();
    si.set_all_masks(false);
    si.vcpu0().clear();
    if f.abi == Abi::Fifo {
        f.open_fifo();
    }
    println!("fuzz start seed={seed} n={n} check={check} d={me}");
    while f.idx < n {
        f.step();
        if f.idx % check == 0 || f.idx == n {
            f.checkpoint();
        }
        if let Some((idx, what, p, s)) = f.violation {
            return xtf_failure!("seed={seed} idx={idx}: {what}: port {p} status {s}");
        }
    }
    println!("fuzz-done seed={} steps={} calls={}", seed, f.idx, f.calls);
    xtf_success!();
}

xtf::register_test!(
    "fuzz-peer",
    "passive peer: K unbound ports per fuzzer domid (for=D1,D2 k=K), then waits",
    peer
);
/// `test=fuzz-peer for=D1,D2,… k=K`: the passive peer. Holds K unbound ports for each
/// fuzzer domid listed (ports 1..K for the first, K+1..2K for the next, …), reports
/// SUCCESS and then only waits (never exits: its death would be timing in the streams).
pub fn peer(env: &Env<'_>) {
    let k = env.arg_u64("k").unwrap_or(8) as u32;
    let list = env.arg("for").unwrap_or("");
    for d in list.split(',').filter_map(|s| s.parse::<DomId>().ok()) {
        for _ in 0..k {
            // Under XSM SILO this is refused (-EPERM): the fuzzers see that too.
            let _ = evtchn::alloc_unbound(DOMID_SELF, d);
        }
    }
    xtf_success!("fuzz-peer ready");
    println!("Test result: SUCCESS");
    xtf::guest::report::halt()
}
