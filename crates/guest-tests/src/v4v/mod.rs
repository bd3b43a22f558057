//! The v4v suite: V4V rings (this project's Rust V4V, rust build only) and the same traffic
//! over Argo (C Argo on both builds: the c run checks that the guest library itself is right).
//!
//! The traffic tests ([`traffic`]) are generic over [`Proto`], so V4V and Argo run exactly the
//! same patterns: ping-pong, many senders one ring, ring full → EAGAIN → notify → retry, partner
//! vs ANY matching, unregister with sends in flight, an owner that shuts down with rings
//! registered, a hostile ring owner. [`errors`] has V4V's bad registrations and bad sends with
//! their exact errnos (/work/notes/v4v-abi.md), [`bench`] the throughput guests for ci/bench.
//!
//! Each domain's command line: `peer=D` (domid; domU n of a config is domid n + 1), `role=...`,
//! `n=N`. Rings live in xtf's ring arena (DOMU_MEM >= 16). Every wait has a timeout that ends
//! the test FAILURE.

/// Registers a V4V test and its Argo twin, both from one body generic over [`Proto`]:
/// `v4v_and_argo!(body, "v4v-NAME" => "about", "argo-NAME" => "about");`.
macro_rules! v4v_and_argo {
    ($body:ident, $v4v:literal => $v4v_about:literal, $argo:literal => $argo_about:literal $(,)?) => {
        xtf::register_test!($v4v, $v4v_about, $body::<$crate::v4v::V4v>);
        xtf::register_test!($argo, $argo_about, $body::<$crate::v4v::Argo>);
    };
}
pub(crate) use v4v_and_argo;

pub mod bench;
pub mod demo;
pub mod errors;
pub mod traffic;

use core::ops::DerefMut;

use xtf::abi::{self, DomId, Errno};
use xtf::guest::ring_mem::{self, Notifier, RingMem};
use xtf::guest::upcall::{self, Abi, Config};
use xtf::guest::{argo, evtchn, timer, v4v};
use xtf::ring::Received;
use xtf::{Env, xtf_error, xtf_failure};

/// Longest single wait (generous: TCG on a loaded 2-core host).
pub const WAIT_MS: u64 = 20_000;
/// How long the other domain may take to come up.
pub const PEER_MS: u64 = 30_000;
/// How long "nothing happens" is watched for.
pub const QUIET_MS: u64 = 50;

/// One ring of a protocol: what the two ABIs do differently (registration, the page list);
/// receiving, the pointers, guard pages and digests are the shared [`RingMem`] it derefs to.
pub trait ProtoRing: DerefMut<Target = RingMem> {
    fn register(&self) -> Result<(), Errno>;
    fn unregister(&self) -> Result<(), Errno>;
    fn scatter(&mut self, order: &[u16]) -> bool;
}

/// V4V or Argo, as the traffic tests use them.
pub trait Proto: 'static {
    const NAME: &'static str;
    const VIRQ: u32;
    const ANY: DomId;
    /// ring-data flag bits: a matching ring exists / the space asked for is there now.
    const EXISTS: u16;
    const SUFFICIENT: u16;
    /// V4V's PENDING (Xen will notify when the space is there); Argo has no such flag (0).
    const PENDING: u16;
    type Ring: ProtoRing;
    fn ring(len: u32, port: u32, partner: DomId) -> Option<Self::Ring>;
    /// One message from our `src_port` to `dst`:`port`, gathered from `bufs` (<= 8).
    fn sendv(
        dst: DomId,
        port: u32,
        src_port: u32,
        bufs: &[&[u8]],
        proto: u32,
    ) -> Result<u64, Errno>;
    /// sendv of `bufs` (at most [`MAXIOV`] + 1) with `niov` as the iov count Xen is given
    /// (above [`MAXIOV`] only where Xen must refuse before reading the array).
    fn sendv_niov(
        dst: DomId,
        port: u32,
        src_port: u32,
        bufs: &[&[u8]],
        niov: u64,
        proto: u32,
    ) -> Result<u64, Errno>;
    fn notify_null() -> Result<(), Errno>;
    /// notify with one entry for `dst`:`port` asking for `space`: (flags, max_message_size).
    fn query(dst: DomId, port: u32, space: u32) -> Result<(u16, u32), Errno>;
}

pub struct V4v;
pub struct Argo;

/// Most iovs one sendv takes: V4V_MAXIOV and XEN_ARGO_MAXIOV, both 8.
pub const MAXIOV: usize = 8;
const _: () = assert!(abi::v4v::MAXIOV as usize == MAXIOV && abi::argo::MAXIOV as usize == MAXIOV);

impl ProtoRing for v4v::Ring {
    fn register(&self) -> Result<(), Errno> {
        v4v::Ring::register(self)
    }
    fn unregister(&self) -> Result<(), Errno> {
        v4v::Ring::unregister(self)
    }
    fn scatter(&mut self, order: &[u16]) -> bool {
        v4v::Ring::scatter(self, order)
    }
}

impl ProtoRing for argo::Ring {
    fn register(&self) -> Result<(), Errno> {
        argo::Ring::register(self)
    }
    fn unregister(&self) -> Result<(), Errno> {
        argo::Ring::unregister(self)
    }
    fn scatter(&mut self, order: &[u16]) -> bool {
        argo::Ring::scatter(self, order)
    }
}

impl Proto for V4v {
    const NAME: &'static str = "v4v";
    const VIRQ: u32 = abi::v4v::VIRQ_V4V;
    const ANY: DomId = abi::v4v::DOMID_ANY;
    const EXISTS: u16 = abi::v4v::RingDataFlags::EXISTS.bits();
    const SUFFICIENT: u16 = abi::v4v::RingDataFlags::SUFFICIENT.bits();
    const PENDING: u16 = abi::v4v::RingDataFlags::PENDING.bits();
    type Ring = v4v::Ring;
    fn ring(len: u32, port: u32, partner: DomId) -> Option<v4v::Ring> {
        v4v::Ring::new(len, port, partner)
    }
    fn sendv(
        dst: DomId,
        port: u32,
        src_port: u32,
        bufs: &[&[u8]],
        proto: u32,
    ) -> Result<u64, Errno> {
        if let [one] = bufs {
            return v4v::send_to(&v4v::send_addr(dst, port, src_port), one, proto);
        }
        let bufs = &bufs[..bufs.len().min(MAXIOV)];
        Self::sendv_niov(dst, port, src_port, bufs, bufs.len() as u64, proto)
    }
    fn sendv_niov(
        dst: DomId,
        port: u32,
        src_port: u32,
        bufs: &[&[u8]],
        niov: u64,
        proto: u32,
    ) -> Result<u64, Errno> {
        let addr = v4v::send_addr(dst, port, src_port);
        let mut iovs = [abi::v4v::Iov::default(); MAXIOV + 1];
        let n = bufs.len().min(iovs.len());
        for (slot, b) in iovs.iter_mut().zip(&bufs[..n]) {
            *slot = v4v::iov(b);
        }
        v4v::sendv_n(&addr, &iovs[..n], niov, proto)
    }
    fn notify_null() -> Result<(), Errno> {
        v4v::notify_null()
    }
    fn query(dst: DomId, port: u32, space: u32) -> Result<(u16, u32), Errno> {
        let mut rd = v4v::RingDataBuf::<1>::new(1);
        rd.ent[0].ring = abi::v4v::Addr { port, domain: dst, pad: 0 };
        rd.ent[0].space_required = space;
        v4v::notify(&mut rd)?;
        Ok((rd.ent[0].flags, rd.ent[0].max_message_size))
    }
}

impl Proto for Argo {
    const NAME: &'static str = "argo";
    const VIRQ: u32 = abi::argo::VIRQ_ARGO;
    const ANY: DomId = abi::argo::DOMID_ANY;
    const EXISTS: u16 = abi::argo::RingDataFlags::EXISTS.bits();
    const SUFFICIENT: u16 = abi::argo::RingDataFlags::SUFFICIENT.bits();
    const PENDING: u16 = 0;
    type Ring = argo::Ring;
    fn ring(len: u32, port: u32, partner: DomId) -> Option<argo::Ring> {
        argo::Ring::new(len, port, partner)
    }
    fn sendv(
        dst: DomId,
        port: u32,
        src_port: u32,
        bufs: &[&[u8]],
        proto: u32,
    ) -> Result<u64, Errno> {
        let bufs = &bufs[..bufs.len().min(MAXIOV)];
        Self::sendv_niov(dst, port, src_port, bufs, bufs.len() as u64, proto)
    }
    fn sendv_niov(
        dst: DomId,
        port: u32,
        src_port: u32,
        bufs: &[&[u8]],
        niov: u64,
        proto: u32,
    ) -> Result<u64, Errno> {
        let addr = argo::send_addr(dst, port, src_port);
        let mut iovs = [abi::argo::Iov::default(); MAXIOV + 1];
        let n = bufs.len().min(iovs.len());
        for (slot, b) in iovs.iter_mut().zip(&bufs[..n]) {
            *slot = argo::iov(b);
        }
        argo::sendv_n(&addr, &iovs[..n], niov, proto)
    }
    fn notify_null() -> Result<(), Errno> {
        argo::notify_null()
    }
    fn query(dst: DomId, port: u32, space: u32) -> Result<(u16, u32), Errno> {
        let mut rd = argo::RingDataBuf::<1>::new();
        rd.ent[0].ring = abi::argo::Addr { aport: port, domain_id: dst, pad: 0 };
        rd.ent[0].space_required = space;
        argo::notify(&mut rd)?;
        Ok((rd.ent[0].flags, rd.ent[0].max_message_size))
    }
}

/// What [`setup`] gives a test.
pub struct Ctx {
    pub me: DomId,
    pub notifier: Notifier,
}

/// Upcalls on `vcpus` vCPUs (2-level), the ring arena checked, the protocol probed
/// (notify(NULL) must succeed), its VIRQ bound on vCPU 0. Reports and returns `None` on error.
pub fn setup<P: Proto>(env: &Env<'_>, vcpus: usize) -> Option<Ctx> {
    setup_with::<P>(env, Config::new(vcpus, Abi::TwoLevel))
}

/// [`setup`] with the upcall configuration `cfg` (e.g. another watchdog for a long test).
pub fn setup_with<P: Proto>(env: &Env<'_>, cfg: Config) -> Option<Ctx> {
    if let Err(e) = upcall::start(env, cfg) {
        xtf_error!("set-up: {e}");
        return None;
    }
    if let Err(dtb) = ring_mem::check(env) {
        xtf_error!("the ring arena overlaps the DTB at {dtb:#x}: give the domain more memory");
        return None;
    }
    let me = match evtchn::own_domid() {
        Ok(d) => d,
        Err(e) => {
            xtf_error!("own domid: {e:?}");
            return None;
        }
    };
    if let Err(e) = P::notify_null() {
        xtf_failure!("{}: notify(NULL) failed with {:?}: is {} in this Xen?", P::NAME, e, P::NAME);
        return None;
    }
    let notifier = match Notifier::bind(P::VIRQ) {
        Ok(n) => n,
        Err(e) => {
            xtf_failure!("bind_virq({}) failed: {:?}", P::VIRQ, e);
            return None;
        }
    };
    Some(Ctx { me, notifier })
}

/// Payload byte `i` of message `seq` from `dom` on stream `stream`.
pub fn pattern(seq: u32, dom: DomId, stream: u32, i: usize) -> u8 {
    (seq.wrapping_mul(31) ^ u32::from(dom).wrapping_mul(97) ^ stream.wrapping_mul(13))
        .wrapping_add(i as u32 * 7) as u8
}

/// Fills `buf` with message `seq`'s bytes: seq (LE u32), dom (u16), stream (u16), pattern.
pub fn fill(buf: &mut [u8], seq: u32, dom: DomId, stream: u32) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b = pattern(seq, dom, stream, i);
    }
    if buf.len() >= 8 {
        buf[0..4].copy_from_slice(&seq.to_le_bytes());
        buf[4..6].copy_from_slice(&dom.to_le_bytes());
        buf[6..8].copy_from_slice(&(stream as u16).to_le_bytes());
    }
}

/// Whether `buf` is what [`fill`] makes; the first differing offset if not.
pub fn verify(buf: &[u8], seq: u32, dom: DomId, stream: u32) -> Result<(), usize> {
    for (i, &b) in buf.iter().enumerate() {
        let want = match i {
            0..4 if buf.len() >= 8 => seq.to_le_bytes()[i],
            4..6 if buf.len() >= 8 => dom.to_le_bytes()[i - 4],
            6..8 if buf.len() >= 8 => (stream as u16).to_le_bytes()[i - 6],
            _ => pattern(seq, dom, stream, i),
        };
        if b != want {
            return Err(i);
        }
    }
    Ok(())
}

/// Sends, retrying on ECONNREFUSED (the peer's ring not registered yet) for [`PEER_MS`] and
/// on EAGAIN after each notification. Returns the final result.
pub fn send_until<P: Proto>(
    n: &Notifier,
    dst: DomId,
    port: u32,
    src_port: u32,
    bufs: &[&[u8]],
    proto: u32,
    eagains: &mut u32,
) -> Result<u64, Errno> {
    let deadline = timer::Deadline::after_ms(PEER_MS);
    loop {
        let seen = n.count();
        match P::sendv(dst, port, src_port, bufs, proto) {
            Err(Errno::ECONNREFUSED) if !deadline.passed() => timer::delay_ms(5),
            Err(Errno::EAGAIN) => {
                *eagains += 1;
                if !n.wait_after(seen, WAIT_MS) {
                    return Err(Errno::ETIMEDOUT);
                }
            }
            r => return r,
        }
    }
}

/// Waits for the next message on `ring` (each notification re-checks); copies it into `out`.
pub fn recv_wait<R: ProtoRing>(
    ring: &R,
    n: &Notifier,
    out: &mut [u8],
    timeout_ms: u64,
) -> Result<Received, &'static str> {
    let deadline = timer::Deadline::after_ms(timeout_ms);
    loop {
        let seen = n.count();
        match ring.recv(out) {
            Ok(Some(m)) => return Ok(m),
            Ok(None) => {}
            Err(e) => {
                xtf_failure!("ring inconsistent: {e:?}");
                return Err("a bad ring");
            }
        }
        if deadline.passed() {
            return Err("timed out");
        }
        n.wait_after(seen, 10);
    }
}

/// Checks both guard pages of a ring.
pub fn check_guards<R: ProtoRing>(ring: &R, what: &str) -> bool {
    match ring.guards_intact() {
        Ok(()) => true,
        Err(off) => {
            xtf_failure!(
                "{what}: Xen wrote outside the ring pages (guarded block offset {off:#x})"
            );
            false
        }
    }
}
