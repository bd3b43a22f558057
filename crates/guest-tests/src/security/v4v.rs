//! V4V (and the same checks over Argo): a domain's ring memory budget, pages listed twice,
//! registrations that fail without writing, the ANY-source policy, and a noisy neighbour.
//!
//! Rings here are registered "by hand" over pages of our own choosing (several rings may
//! list the same pages: allowed, it only harms the caller's own rings), so one domain can
//! ask Xen for far more ring pages than its memory holds. Each test takes `test=NAME` plus:
//! - `v4v-ring-page-budget` / `argo-ring-page-budget` `budget=N` (the domain's budget:
//!   8192 without a `xen,v4v-max-ring-pages` property) `[worker=D]` (a domain to tell when
//!   the budget is used up);
//! - `v4v-ring-count-exhaust` / `argo-ring-count-exhaust` `[worker=D]`;
//! - `v4v-noisy-neighbour` / `argo-noisy-neighbour` `role=worker noisy=D,D peer=D n=N` or
//!   `role=echo peer=D n=N`;
//! - `v4v-ring-duplicate-gfn` / `argo-ring-duplicate-gfn`;
//! - `v4v-register-writes-nothing-on-error` `budget=N`;
//! - `v4v-xsm-any-source` / `argo-xsm-any-source` `expect=eperm|ok`.

use xtf::abi::v4v::{self as vabi, Addr, PfnListHeader, RingHeader, RingId};
use xtf::abi::{DomId, Errno, argo as aabi};
use xtf::guest::evtchn::raw::BadAddress;
use xtf::guest::ring_mem::{PAGE, Pages};
use xtf::guest::{argo, v4v};
use xtf::{Env, println, xtf_error, xtf_failure, xtf_success};
use xtf::{check, expect_eq};

use crate::v4v::{
    Argo, PEER_MS, Proto, ProtoRing, V4v, WAIT_MS, fill, recv_wait, send_until, setup, verify,
};

/// V4V's default ring page budget (docs/v4v.md).
const DEFAULT_BUDGET: u32 = 8192;
/// Where the noisy domains report that they are done.
const CONTROL_PORT: u32 = 9;
/// The worker's and echo's rings.
const WORK_PORT: u32 = 20;
/// First port of the hand-registered rings.
const PORT0: u32 = 1000;
/// Most pages one hand-registered ring lists here.
const MAX_LIST: usize = 4097;

/// Registration of rings over pages we choose, for one protocol.
pub(crate) trait Hand: Proto {
    /// Registers a ring for `port`, `partner` of `gfns.len()` pages listing `gfns` (len:
    /// all of those pages), through `s`'s scratch pages.
    fn register_list(s: &Scratch, port: u32, partner: DomId, gfns: &[u64]) -> Result<(), Errno>;
    fn unregister_port(s: &Scratch, port: u32, partner: DomId) -> Result<(), Errno>;
    /// The ring's data length for `npage` pages.
    fn len_for(npage: u32) -> u32 {
        (npage * PAGE as u32 - 64).min(vabi::MAX_RING_SIZE)
    }
}

/// Guest memory for hand registrations: a V4V ring header page and a page list big enough
/// for [`MAX_LIST`] pages.
pub(crate) struct Scratch {
    hdr: Pages,
    list: Pages,
}

impl Scratch {
    pub(crate) fn new() -> Option<Scratch> {
        let s = Scratch {
            hdr: Pages::alloc(1)?,
            list: Pages::alloc((vabi::PFN_LIST_HEADER + 8 * MAX_LIST).div_ceil(PAGE))?,
        };
        if s.list.count() == 0 {
            return None;
        }
        Some(s)
    }
}

impl Hand for V4v {
    fn register_list(s: &Scratch, port: u32, partner: DomId, gfns: &[u64]) -> Result<(), Errno> {
        let npage = gfns.len() as u32;
        s.hdr.write_pod(
            0,
            RingHeader {
                magic: vabi::RING_MAGIC,
                id: RingId { addr: Addr { port, domain: 0, pad: 0 }, partner, pad: 0 },
                len: Self::len_for(npage),
                rx_ptr: 0,
                tx_ptr: 0,
                reserved: [0; 4],
            },
        );
        s.list.write_pod(
            0,
            PfnListHeader { magic: vabi::PFN_LIST_MAGIC, npage, pad: 0, reserved: [0; 3] },
        );
        for (i, &g) in gfns.iter().enumerate() {
            s.list.write_u64(vabi::PFN_LIST_HEADER + 8 * i, g);
        }
        // SAFETY: both pointers are scratch arena pages laid out as the ABI says; the ring
        // pages are arena pages no Rust object uses (Xen writes their header).
        unsafe {
            v4v::raw_op(vabi::op::REGISTER_RING, s.hdr.addr() as u64, s.list.addr() as u64, 0, 0)
        }
        .map(|_| ())
    }

    fn unregister_port(s: &Scratch, port: u32, partner: DomId) -> Result<(), Errno> {
        s.hdr.write_pod(
            0,
            RingHeader {
                magic: vabi::RING_MAGIC,
                id: RingId { addr: Addr { port, domain: 0, pad: 0 }, partner, pad: 0 },
                len: 0,
                rx_ptr: 0,
                tx_ptr: 0,
                reserved: [0; 4],
            },
        );
        // SAFETY: Xen reads the header in the scratch page only.
        unsafe { v4v::raw_op(vabi::op::UNREGISTER_RING, s.hdr.addr() as u64, 0, 0, 0) }.map(|_| ())
    }
}

impl Hand for Argo {
    fn register_list(s: &Scratch, port: u32, partner: DomId, gfns: &[u64]) -> Result<(), Errno> {
        let npage = gfns.len() as u32;
        for (i, &g) in gfns.iter().enumerate() {
            s.list.write_u64(8 * i, g);
        }
        let reg = aabi::RegisterRing {
            aport: port,
            partner_id: partner,
            pad: 0,
            len: Self::len_for(npage),
        };
        // SAFETY: Xen reads `reg` and npage gfns from the scratch list; the ring pages are
        // arena pages no Rust object uses (Xen writes their header).
        unsafe {
            argo::raw_op(
                aabi::op::REGISTER_RING,
                &reg as *const aabi::RegisterRing as u64,
                s.list.addr() as u64,
                u64::from(npage),
                0,
            )
        }
        .map(|_| ())
    }

    fn unregister_port(_: &Scratch, port: u32, partner: DomId) -> Result<(), Errno> {
        let u = aabi::UnregisterRing { aport: port, partner_id: partner, pad: 0 };
        // SAFETY: Xen reads `u` only.
        unsafe {
            argo::raw_op(
                aabi::op::UNREGISTER_RING,
                &u as *const aabi::UnregisterRing as u64,
                0,
                0,
                0,
            )
        }
        .map(|_| ())
    }
}

/// The first `n` guest frames of `p`.
pub(crate) fn frames(p: Pages, n: usize, out: &mut [u64]) -> usize {
    let n = n.min(p.count()).min(out.len());
    for (i, g) in out.iter_mut().enumerate().take(n) {
        *g = p.gfn(i);
    }
    n
}

/// Tells `worker` (if any) that we are done, through its control ring for us.
fn tell_worker<P: Proto>(env: &Env<'_>, n: &xtf::guest::ring_mem::Notifier) -> bool {
    let Some(w) = env.arg_u32("worker") else { return true };
    let mut eagains = 0;
    let r = send_until::<P>(
        n,
        w as DomId,
        CONTROL_PORT,
        CONTROL_PORT,
        &[b"exhausted"],
        0,
        &mut eagains,
    );
    expect_eq!(r, Ok(9), "tell worker d{w} that the budget is used up")
}

crate::v4v::v4v_and_argo!(
    ring_page_budget,
    "v4v-ring-page-budget" => "V4V: ring pages up to the domain's budget, then ENOSPC; pages come back",
    "argo-ring-page-budget" => "Argo: the v4v-ring-page-budget pattern (C 4.17.5 has no page budget)",
);
/// Ring memory budget: with budget B, rings of K pages (all listing the same K pages) go in
/// until the next would pass B, which is refused with ENOSPC; a smaller ring fills B
/// exactly; then one more page is refused; re-registering a ring at the limit works (it
/// may use its own pages); unregistering gives its pages back. Fails (the budget is never
/// hit) on a Xen without one, such as Argo in C 4.17.5.
fn ring_page_budget<P: Hand>(env: &Env<'_>) {
    let budget = env.arg_u32("budget").unwrap_or(DEFAULT_BUDGET);
    let Some(ctx) = setup::<P>(env, 1) else { return };
    let me = ctx.me;
    let Some(s) = Scratch::new() else { return xtf_error!("arena") };
    // K pages per ring: a few rings of K, and a remainder, fill the budget.
    let k = (budget * 2 / 3).clamp(1, 1000) as usize;
    let Some(mem) = Pages::alloc(k) else { return xtf_error!("arena: {k} pages") };
    let mut gfns = [0u64; 1000];
    let k = frames(mem, k, &mut gfns);
    let (full, rem) = (budget as usize / k, budget as usize % k);
    let mut port = PORT0;
    for i in 0..full {
        if let Err(e) = P::register_list(&s, port, me, &gfns[..k]) {
            return xtf_failure!(
                "{}: ring {} of {full} ({k} pages, {} pages in all) refused: {e:?}",
                P::NAME,
                i + 1,
                (i + 1) * k
            );
        }
        port += 1;
    }
    let first = PORT0;
    if rem > 0 {
        let r = P::register_list(&s, port, me, &gfns[..k]);
        if !expect_eq!(
            r,
            Err(Errno::ENOSPC),
            "{}: a {k}-page ring with {} of {budget} pages in use",
            P::NAME,
            full * k
        ) {
            return;
        }
        expect_eq!(
            P::register_list(&s, port, me, &gfns[..rem]),
            Ok(()),
            "{}: a {rem}-page ring filling the budget exactly",
            P::NAME
        );
        port += 1;
    }
    // At the limit: one page more is refused, by a new ring and by a re-registration that
    // would grow a ring.
    expect_eq!(
        P::register_list(&s, port, me, &gfns[..1]),
        Err(Errno::ENOSPC),
        "{}: a 1-page ring with the budget ({budget} pages) used up",
        P::NAME
    );
    // Re-registering ring 1 with the same pages works at the limit.
    expect_eq!(
        P::register_list(&s, first, me, &gfns[..k]),
        Ok(()),
        "{}: re-register a {k}-page ring at the limit",
        P::NAME
    );
    // Unregistering gives its pages back: a 1-page ring fits, then a k-page one does not.
    expect_eq!(P::unregister_port(&s, first, me), Ok(()), "{}: unregister ring 1", P::NAME);
    expect_eq!(
        P::register_list(&s, port, me, &gfns[..1]),
        Ok(()),
        "{}: a 1-page ring after unregistering {k} pages",
        P::NAME
    );
    if k > 1 {
        expect_eq!(
            P::register_list(&s, first, me, &gfns[..k]),
            Err(Errno::ENOSPC),
            "{}: a {k}-page ring with only {} pages free",
            P::NAME,
            k - 1
        );
    }
    expect_eq!(P::unregister_port(&s, port, me), Ok(()), "{}: unregister the 1-page ring", P::NAME);
    expect_eq!(
        P::register_list(&s, first, me, &gfns[..k]),
        Ok(()),
        "{}: the {k}-page ring again (budget full again)",
        P::NAME
    );
    println!("{}: ring page budget {budget} held ({full} x {k} + {rem} pages)", P::NAME);
    if tell_worker::<P>(env, &ctx.notifier) {
        xtf_success!();
    }
}

crate::v4v::v4v_and_argo!(
    ring_count_exhaust,
    "v4v-ring-count-exhaust" => "V4V: 128 rings, then ENOSPC",
    "argo-ring-count-exhaust" => "Argo: 128 rings, then ENOSPC",
);
/// The ring count limit: 128 one-page rings (all on one page), then ENOSPC.
fn ring_count_exhaust<P: Hand>(env: &Env<'_>) {
    let Some(ctx) = setup::<P>(env, 1) else { return };
    let Some(s) = Scratch::new() else { return xtf_error!("arena") };
    let Some(mem) = Pages::alloc(1) else { return xtf_error!("arena") };
    let g = [mem.gfn(0)];
    for i in 0..vabi::MAX_RINGS_PER_DOMAIN {
        if let Err(e) = P::register_list(&s, PORT0 + i, ctx.me, &g) {
            return xtf_failure!("{}: ring {} of 128 refused: {e:?}", P::NAME, i + 1);
        }
    }
    let r = P::register_list(&s, PORT0 + 200, ctx.me, &g);
    if !expect_eq!(r, Err(Errno::ENOSPC), "{}: ring 129", P::NAME) {
        return;
    }
    println!("{}: 128 rings registered, the 129th refused", P::NAME);
    if tell_worker::<P>(env, &ctx.notifier) {
        xtf_success!();
    }
}

crate::v4v::v4v_and_argo!(
    noisy_neighbour,
    "v4v-noisy-neighbour" => "V4V: rings and messages beside domains at their budgets",
    "argo-noisy-neighbour" => "Argo: rings and messages beside domains at their budgets",
);
/// Noisy neighbour: `role=worker` waits until every domain in `noisy=` reports its budget
/// used up, then registers rings, exchanges `n` messages with `peer` (`role=echo`, which
/// sends each back) and registers and unregisters 8 more rings: none of it may fail.
fn noisy_neighbour<P: Proto>(env: &Env<'_>) {
    let peer = env.need_peer();
    let n = env.arg_u32("n").unwrap_or(50);
    let Some(ctx) = setup::<P>(env, 1) else { return };
    let mut buf = [0u8; 256];
    let mut got = [0u8; 256];
    let mut eagains = 0;
    match env.arg("role") {
        Some("worker") => {
            let mut noisy = [0 as DomId; 4];
            let mut k = 0;
            for d in env.arg("noisy").unwrap_or("").split(',').filter(|d| !d.is_empty()) {
                match d.parse() {
                    Ok(d) if k < noisy.len() => {
                        noisy[k] = d;
                        k += 1;
                    }
                    _ => return xtf_error!("noisy=D[,D...] (at most 4 domids)"),
                }
            }
            let mut control = [const { None }; 4];
            for (i, &d) in noisy[..k].iter().enumerate() {
                let Some(r) = P::ring(256, CONTROL_PORT, d) else { return xtf_error!("arena") };
                if let Err(e) = r.register() {
                    return xtf_failure!("{}: control ring for d{d}: {e:?}", P::NAME);
                }
                control[i] = Some(r);
            }
            for (i, &d) in noisy[..k].iter().enumerate() {
                let Some(r) = &control[i] else { continue };
                // The noisy domain may take long to register thousands of pages under TCG.
                if let Err(why) = recv_wait(r, &ctx.notifier, &mut got, PEER_MS + 3 * WAIT_MS) {
                    return xtf_failure!("{}: no word from noisy d{d}: {why}", P::NAME);
                }
            }
            println!("{}: {k} noisy domain(s) at their limits; working", P::NAME);
            let Some(ring) = P::ring(1024, WORK_PORT, peer) else { return xtf_error!("arena") };
            if let Err(e) = ring.register() {
                return xtf_failure!(
                    "{}: register a ring next to the noisy domains: {e:?}",
                    P::NAME
                );
            }
            for i in 0..n {
                let len = 1 + (i as usize * 37) % 200;
                fill(&mut buf[..len], i, ctx.me, 0);
                let r = send_until::<P>(
                    &ctx.notifier,
                    peer,
                    WORK_PORT,
                    WORK_PORT,
                    &[&buf[..len]],
                    i,
                    &mut eagains,
                );
                if !expect_eq!(r, Ok(len as u64), "{}: send {i} to the echo", P::NAME) {
                    return;
                }
                let m = match recv_wait(&ring, &ctx.notifier, &mut got, WAIT_MS) {
                    Ok(m) => m,
                    Err(why) => return xtf_failure!("{}: echo {i}: {why}", P::NAME),
                };
                if !expect_eq!(m.header.len as usize, 16 + len, "{}: echo {i} length", P::NAME) {
                    return;
                }
                if let Err(off) = verify(&got[..len], i, ctx.me, 0) {
                    return xtf_failure!("{}: echo {i}: byte {off} wrong", P::NAME);
                }
                if let Err(e) = P::notify_null() {
                    return xtf_failure!("{}: notify: {e:?}", P::NAME);
                }
            }
            for j in 0..8u32 {
                let Some(r) = P::ring(4 * 4096 - 64, WORK_PORT + 1 + j, peer) else {
                    return xtf_error!("arena");
                };
                expect_eq!(r.register(), Ok(()), "{}: register extra ring {j}", P::NAME);
                expect_eq!(r.unregister(), Ok(()), "{}: unregister extra ring {j}", P::NAME);
            }
            println!("{}: {n} round trips and 8 more rings beside the noisy domains", P::NAME);
            xtf_success!();
        }
        Some("echo") => {
            let Some(ring) = P::ring(1024, WORK_PORT, peer) else { return xtf_error!("arena") };
            if let Err(e) = ring.register() {
                return xtf_failure!("{}: echo ring: {e:?}", P::NAME);
            }
            for i in 0..n {
                let m = match recv_wait(&ring, &ctx.notifier, &mut got, PEER_MS + 4 * WAIT_MS) {
                    Ok(m) => m,
                    Err(why) => return xtf_failure!("{}: message {i}: {why}", P::NAME),
                };
                let len = (m.header.len as usize).saturating_sub(16).min(got.len());
                let _ = P::notify_null();
                let r = send_until::<P>(
                    &ctx.notifier,
                    peer,
                    WORK_PORT,
                    WORK_PORT,
                    &[&got[..len]],
                    i,
                    &mut eagains,
                );
                if !expect_eq!(r, Ok(len as u64), "{}: echo {i}", P::NAME) {
                    return;
                }
            }
            xtf_success!();
        }
        r => xtf_error!("role={r:?}: expected worker or echo"),
    }
}

crate::v4v::v4v_and_argo!(
    ring_duplicate_gfn,
    "v4v-ring-duplicate-gfn" => "V4V: a page listed twice in one ring is EINVAL",
    "argo-ring-duplicate-gfn" => "Argo: the v4v-ring-duplicate-gfn pattern (C 4.17.5 accepts it)",
);
/// A page listed twice in one ring is refused (EINVAL: Argo has no such check, so there
/// is no errno of Argo's to follow) and the ring's pages are left as they were; the same
/// pages in two different rings are allowed.
fn ring_duplicate_gfn<P: Hand>(env: &Env<'_>) {
    let Some(ctx) = setup::<P>(env, 1) else { return };
    let me = ctx.me;
    let Some(s) = Scratch::new() else { return xtf_error!("arena") };
    let Some(mem) = Pages::alloc(3) else { return xtf_error!("arena") };
    let (a, b, c) = (mem.gfn(0), mem.gfn(1), mem.gfn(2));
    for (list, what) in [
        ([a, b, a], "page 0 again at the end"),
        ([a, a, b], "page 0 twice at the start"),
        ([a, b, b], "page 1 twice"),
    ] {
        let before = mem.digest(0, mem.bytes());
        let r = P::register_list(&s, PORT0, me, &list);
        if !expect_eq!(r, Err(Errno::EINVAL), "{}: a ring listing {what}", P::NAME) {
            let _ = P::unregister_port(&s, PORT0, me);
            continue;
        }
        check!(
            mem.digest(0, mem.bytes()) == before,
            "{}: refused ring ({what}): its pages were written",
            P::NAME
        );
    }
    expect_eq!(
        P::register_list(&s, PORT0, me, &[a, b, c]),
        Ok(()),
        "{}: 3 distinct pages",
        P::NAME
    );
    expect_eq!(
        P::register_list(&s, PORT0 + 1, me, &[a, b, c]),
        Ok(()),
        "{}: a second ring on the same 3 pages",
        P::NAME
    );
    expect_eq!(P::unregister_port(&s, PORT0, me), Ok(()), "{}: unregister", P::NAME);
    expect_eq!(P::unregister_port(&s, PORT0 + 1, me), Ok(()), "{}: unregister", P::NAME);
    xtf_success!();
}

xtf::register_test!(
    "v4v-register-writes-nothing-on-error",
    "V4V: refused register_ring and notify write nothing",
    v4v_register_writes_nothing_on_error
);
/// Every refused registration and a refused notify write nothing: the ring's page 0 (the
/// header Xen would initialise: rx_ptr, tx_ptr, id.addr.domain) and the caller's notify
/// entries stay as they were. The header is set up bogus (rx_ptr 13, tx_ptr 272, domain
/// 0xdead), which a successful registration would rewrite.
pub fn v4v_register_writes_nothing_on_error(env: &Env<'_>) {
    let Some(ctx) = setup::<V4v>(env, 1) else { return };
    let me = ctx.me;
    let budget = env.arg_u32("budget").unwrap_or(DEFAULT_BUDGET) as usize;
    let Some(s) = Scratch::new() else { return xtf_error!("arena") };
    let Some(mem) = Pages::alloc(budget.min(1000) + 1) else { return xtf_error!("arena") };
    let bogus = || {
        mem.write_pod(
            0,
            RingHeader {
                magic: vabi::RING_MAGIC,
                id: RingId { addr: Addr { port: 1, domain: 0xdead, pad: 0 }, partner: me, pad: 0 },
                len: 4032,
                rx_ptr: 13,
                tx_ptr: 272,
                reserved: [0; 4],
            },
        )
    };
    let refused = |list: &[u64], port: u32, want: Errno, what: &str| {
        bogus();
        let before = mem.digest(0, PAGE);
        let r = V4v::register_list(&s, port, me, list);
        if !expect_eq!(r, Err(want), "register_ring: {what}") {
            let _ = V4v::unregister_port(&s, port, me);
            return;
        }
        check!(
            mem.digest(0, PAGE) == before,
            "register_ring refused ({what}) but wrote the ring header: rx_ptr {}, tx_ptr {}, id.addr.domain {:#x}",
            mem.u32_at(24).load(core::sync::atomic::Ordering::Relaxed),
            mem.u32_at(28).load(core::sync::atomic::Ordering::Relaxed),
            mem.u32_at(12).load(core::sync::atomic::Ordering::Relaxed) & 0xffff,
        );
    };
    let g0 = mem.gfn(0);

    // 128 rings (on another page), then the 129th, whose page 0 is `mem`: ENOSPC.
    let Some(other) = Pages::alloc(1) else { return xtf_error!("arena") };
    for i in 0..vabi::MAX_RINGS_PER_DOMAIN {
        if let Err(e) = V4v::register_list(&s, PORT0 + i, me, &[other.gfn(0)]) {
            return xtf_failure!("ring {} of 128: {e:?}", i + 1);
        }
    }
    refused(&[g0], PORT0 + 500, Errno::ENOSPC, "ring 129 (too many rings)");
    for i in 0..vabi::MAX_RINGS_PER_DOMAIN {
        let _ = V4v::unregister_port(&s, PORT0 + i, me);
    }
    // Past the page budget.
    let mut gfns = [0u64; 1001];
    let n = frames(mem, budget.min(1000) + 1, &mut gfns);
    if budget < 1000 {
        refused(&gfns[..n], PORT0 + 501, Errno::ENOSPC, "one page past the budget");
    }
    // A page listed twice; a page that is not our RAM.
    refused(&[g0, g0], PORT0 + 502, Errno::EINVAL, "page 0 listed twice");
    refused(&[g0, BadAddress::MMIO.addr() >> 12], PORT0 + 503, Errno::EINVAL, "page 1 is MMIO");
    // A ring that goes in rewrites the bogus header (the check above can see writes).
    bogus();
    expect_eq!(
        V4v::register_list(&s, PORT0 + 504, me, &[g0]),
        Ok(()),
        "register over the bogus header"
    );
    expect_eq!(
        (
            mem.u32_at(24).load(core::sync::atomic::Ordering::Relaxed),
            mem.u32_at(28).load(core::sync::atomic::Ordering::Relaxed)
        ),
        (0, 0),
        "(rx_ptr, tx_ptr) reset by a successful registration"
    );

    // notify: a bad third entry leaves the first two untouched.
    let mut rd = v4v::RingDataBuf::<3>::new(3);
    for e in rd.ent.iter_mut() {
        e.ring = Addr { port: PORT0 + 504, domain: me, pad: 0 };
        e.space_required = 16;
        e.flags = 0xabcd;
        e.max_message_size = 0x1234_5678;
    }
    rd.ent[2].ring.pad = 1;
    expect_eq!(v4v::notify(&mut rd), Err(Errno::EINVAL), "notify with entry 2's ring.pad != 0");
    for i in 0..2 {
        expect_eq!(
            (rd.ent[i].flags, rd.ent[i].max_message_size),
            (0xabcd, 0x1234_5678),
            "notify refused, entry {i}'s OUT fields"
        );
    }
    rd.ent[2].ring.pad = 0;
    expect_eq!(v4v::notify(&mut rd), Ok(()), "the same notify with entry 2 fixed");
    expect_eq!(
        rd.ent[0].flags & vabi::RingDataFlags::EXISTS.bits(),
        vabi::RingDataFlags::EXISTS.bits(),
        "entry 0 answered (EXISTS)"
    );
    let _ = V4v::unregister_port(&s, PORT0 + 504, me);
    xtf_success!();
}

crate::v4v::v4v_and_argo!(
    xsm_any_source,
    "v4v-xsm-any-source" => "V4V: ANY-source rings only with v4v-mac=permissive (expect=eperm|ok)",
    "argo-xsm-any-source" => "Argo: ANY-source rings only with mac-permissive (expect=eperm|ok)",
);
/// Rings open to any sender: refused with EPERM unless the MAC policy is permissive
/// (`v4v-mac=permissive`, Argo's `mac-permissive=1`), as `expect=eperm|ok` says; a ring for
/// one partner is allowed either way.
fn xsm_any_source<P: Proto>(env: &Env<'_>) {
    let want_ok = match env.arg("expect") {
        Some("ok") => true,
        Some("eperm") => false,
        e => return xtf_error!("expect={e:?}: eperm or ok"),
    };
    let Some(ctx) = setup::<P>(env, 1) else { return };
    let Some(any) = P::ring(256, 60, P::ANY) else { return xtf_error!("arena") };
    let want = if want_ok { Ok(()) } else { Err(Errno::EPERM) };
    expect_eq!(any.register(), want, "{}: register a ring for any sender", P::NAME);
    let Some(one) = P::ring(256, 61, ctx.me) else { return xtf_error!("arena") };
    expect_eq!(one.register(), Ok(()), "{}: register a ring for one partner (ourselves)", P::NAME);
    let mut got = [0u8; 16];
    let mut eagains = 0;
    let r = send_until::<P>(&ctx.notifier, ctx.me, 61, 1, &[b"hi"], 0, &mut eagains);
    expect_eq!(r, Ok(2), "{}: send to our partner ring", P::NAME);
    if let Err(why) = recv_wait(&one, &ctx.notifier, &mut got, WAIT_MS) {
        return xtf_failure!("{}: partner ring: {why}", P::NAME);
    }
    if want_ok {
        let r = send_until::<P>(&ctx.notifier, ctx.me, 60, 1, &[b"any"], 0, &mut eagains);
        expect_eq!(r, Ok(3), "{}: send to our ANY ring", P::NAME);
        if let Err(why) = recv_wait(&any, &ctx.notifier, &mut got, WAIT_MS) {
            return xtf_failure!("{}: ANY ring: {why}", P::NAME);
        }
    }
    xtf_success!();
}
