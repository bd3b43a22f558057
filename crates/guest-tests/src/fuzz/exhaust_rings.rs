//! Resource mode for rings (`test=fuzz-exhaust-v4v`, `test=fuzz-exhaust-argo`): one domain
//! registers rings from both vCPUs at once until Xen refuses, unregisters a random part of
//! them in random order from both vCPUs, and fills again, round after round; a second domain
//! checks after every phase that its own rings still register, send and receive (the two
//! meet in the static shared memory mailbox of `fuzz-exhaust`).
//!
//! Rings are registered by hand over a pool of our pages (several rings may list the same
//! pages), each of a random size, so a fill ends at whichever per-domain limit comes first:
//! the ring count (128: V4V, and Argo's MAX_RINGS_PER_DOMAIN in 4.17.5) or, for V4V, the ring
//! page budget (`budget=N`: 8192 by default; Argo in C 4.17.5 has no page budget). A vCPU
//! whose ring is refused with ENOSPC halves its size and tries again, down to one page, so
//! a fill ends only when one more page cannot be had.
//!
//! Checks, on the exhausting domain:
//! - each fill ends in ENOSPC on both vCPUs, and then the domain is at a limit: 128 rings, or
//!   exactly its page budget; never more rings or pages than the limits;
//! - every unregistration of a ring we hold works; afterwards notify reports each ring we
//!   hold as existing and each one we unregistered as gone;
//! - at the end every ring is unregistered, and a ring of the largest size registers again.
//!
//! Keys: `role=exhaust|victim shm=GPA [seed=S] [rounds=R] [budget=N]` (budget: V4V only).

use core::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

use xtf::abi::{DomId, Errno};
use xtf::guest::ring_mem::{self, Pages};
use xtf::guest::upcall::{Abi, Config};
use xtf::guest::{evtchn, smp};
use xtf::{Env, check, expect_eq, println, try_op, xtf_error, xtf_failure, xtf_success};

use super::Rng;
use crate::security::evtchn::{
    Mailbox, PHASE_DONE, handshake, mailbox, victim_checking, wait_victim,
};
use crate::security::v4v::{Hand, Scratch, frames};
use crate::v4v::{MAXIOV, Proto, ProtoRing, V4v, fill, recv_wait, setup_with, verify};

/// How long a phase on vCPU 1 may take (hundreds of registrations under a loaded QEMU).
const FINISH_MS: u64 = 120_000;
/// Rings per domain (V4V's limit and Argo's MAX_RINGS_PER_DOMAIN).
const MAX_RINGS: usize = 128;
/// Pages in the pool rings list; the largest ring.
const POOL: usize = 256;
/// Port of vCPU `cpu`'s `i`-th registration: `PORT0 + cpu * PORT_STRIDE + i` (never reused).
const PORT0: u32 = 10_000;
const PORT_STRIDE: u32 = 100_000;
/// V4V's default ring page budget (docs/v4v.md).
const DEFAULT_BUDGET: u32 = 8192;

/// The rings each vCPU holds: port and pages (`HELD[cpu][..COUNT[cpu]]`).
static HELD: [[AtomicU64; MAX_RINGS]; 2] = [const { [const { AtomicU64::new(0) }; MAX_RINGS] }; 2];
static COUNT: [AtomicU32; 2] = [const { AtomicU32::new(0) }; 2];
/// The ports each vCPU unregistered in its last free phase.
static FREED: [[AtomicU32; MAX_RINGS]; 2] = [const { [const { AtomicU32::new(0) }; MAX_RINGS] }; 2];
static N_FREED: [AtomicU32; 2] = [const { AtomicU32::new(0) }; 2];
/// Registrations made so far per vCPU (the next port).
static SERIAL: [AtomicU32; 2] = [const { AtomicU32::new(0) }; 2];
/// The errno that ended each vCPU's last fill, and the failed unregistrations.
static LAST_ERR: [AtomicU32; 2] = [const { AtomicU32::new(0) }; 2];
static BAD_FREES: [AtomicU32; 2] = [const { AtomicU32::new(0) }; 2];
static SEED: AtomicU64 = AtomicU64::new(0);
static ME: AtomicU32 = AtomicU32::new(0);
/// The pool's guest frames.
static GFNS: [AtomicU64; POOL] = [const { AtomicU64::new(0) }; POOL];
/// Where vCPU 1's [`Scratch`] lives (see [`scratch1`]).
static SCRATCH1: AtomicUsize = AtomicUsize::new(0);

/// A [`HELD`] entry.
const fn pack(port: u32, pages: u32) -> u64 {
    (port as u64) << 32 | pages as u64
}

/// vCPU 1's scratch pages for hand registrations. [`exhauster`] stores the address of its
/// vCPU 1 `Scratch` before it first starts vCPU 1 and keeps that value alive, never moved or
/// changed, until after the last `smp::finish(1)`; vCPU 1 runs only between a `start_on` and
/// its `finish`. `Scratch` holds page addresses only (its pages are written through raw
/// pointers), so a shared reference on vCPU 1 beside vCPU 0's is fine.
fn scratch1<'a>() -> &'a Scratch {
    let p = SCRATCH1.load(Ordering::Acquire) as *const Scratch;
    // SAFETY: `p` is the live, unchanging vCPU 1 `Scratch` of `exhauster` (see above).
    unsafe { &*p }
}

/// A ring size: small (1-8 pages) or large (up to the pool) at even odds, so that a fill
/// ends at the ring count in some rounds and at the page budget in others.
fn pick_pages(rng: &mut Rng) -> usize {
    if rng.chance(50) { 1 + rng.below(8) as usize } else { 1 + rng.below(POOL as u64) as usize }
}

/// vCPU `cpu` registers rings until Xen refuses a one-page ring; returns how many it got.
fn fill_rings<P: Hand>(s: &Scratch, cpu: usize, round: u64) -> u64 {
    let mut rng = Rng::new(SEED.load(Ordering::Relaxed) ^ (round << 8) ^ cpu as u64 ^ 0xf111);
    let me = ME.load(Ordering::Relaxed) as DomId;
    let mut gfns = [0u64; POOL];
    for (g, a) in gfns.iter_mut().zip(&GFNS) {
        *g = a.load(Ordering::Relaxed);
    }
    let mut pages = pick_pages(&mut rng);
    let mut got = 0;
    loop {
        let n = COUNT[cpu].load(Ordering::Relaxed) as usize;
        if n == MAX_RINGS {
            // More rings than a domain may have: report it as an errno no call returns.
            LAST_ERR[cpu].store(0x8000_0000, Ordering::Release);
            return got;
        }
        let port = PORT0 + cpu as u32 * PORT_STRIDE + SERIAL[cpu].fetch_add(1, Ordering::Relaxed);
        match P::register_list(s, port, me, &gfns[..pages]) {
            Ok(()) => {
                HELD[cpu][n].store(pack(port, pages as u32), Ordering::Relaxed);
                COUNT[cpu].store(n as u32 + 1, Ordering::Release);
                got += 1;
                pages = pick_pages(&mut rng);
            }
            Err(Errno::ENOSPC) if pages > 1 => pages /= 2,
            Err(e) => {
                LAST_ERR[cpu].store(e.0 as u32, Ordering::Release);
                return got;
            }
        }
    }
}

/// vCPU `cpu` unregisters a random part of its rings in random order (`all`: every one);
/// returns how many.
fn free_rings<P: Hand>(s: &Scratch, cpu: usize, round: u64, all: bool) -> u64 {
    let mut rng = Rng::new(SEED.load(Ordering::Relaxed) ^ (round << 8) ^ cpu as u64 ^ 0xf4ee);
    let me = ME.load(Ordering::Relaxed) as DomId;
    let n = COUNT[cpu].load(Ordering::Acquire) as usize;
    let held = &HELD[cpu];
    // Fisher-Yates over our list; the first `k` after the shuffle are unregistered.
    for i in (1..n).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        let (a, b) = (held[i].load(Ordering::Relaxed), held[j].load(Ordering::Relaxed));
        held[i].store(b, Ordering::Relaxed);
        held[j].store(a, Ordering::Relaxed);
    }
    let k = if all { n } else { rng.below(n as u64 + 1) as usize };
    for (slot, freed) in held.iter().zip(&FREED[cpu]).take(k) {
        let port = (slot.load(Ordering::Relaxed) >> 32) as u32;
        if P::unregister_port(s, port, me).is_err() {
            BAD_FREES[cpu].fetch_add(1, Ordering::Relaxed);
        }
        freed.store(port, Ordering::Relaxed);
    }
    N_FREED[cpu].store(k as u32, Ordering::Release);
    // Keep the rest at the front of the list.
    for i in k..n {
        held[i - k].store(held[i].load(Ordering::Relaxed), Ordering::Relaxed);
    }
    COUNT[cpu].store((n - k) as u32, Ordering::Release);
    k as u64
}

/// vCPU 1's side of a phase: `arg` is the phase (0 fill, 1 free some, 2 free all) and the
/// round << 8.
fn on_vcpu1<P: Hand>(arg: u64) -> u64 {
    let s = scratch1();
    match arg & 0xff {
        0 => fill_rings::<P>(s, 1, arg >> 8),
        p => free_rings::<P>(s, 1, arg >> 8, p == 2),
    }
}

/// Runs one phase on both vCPUs at once; the two counts.
fn both<P: Hand>(s0: &Scratch, phase: u64, round: u64) -> Option<(u64, u64)> {
    smp::start_on(1, on_vcpu1::<P>, phase | (round << 8));
    let mine = match phase {
        0 => fill_rings::<P>(s0, 0, round),
        p => free_rings::<P>(s0, 0, round, p == 2),
    };
    match smp::finish(1, FINISH_MS) {
        Ok(theirs) => Some((mine, theirs)),
        Err(_) => {
            xtf_failure!("vCPU 1 did not finish phase {phase} of round {round}");
            None
        }
    }
}

/// Rings and pages both vCPUs hold.
fn totals() -> (usize, usize) {
    let (mut rings, mut pages) = (0, 0);
    for cpu in 0..2 {
        let n = COUNT[cpu].load(Ordering::Acquire) as usize;
        rings += n;
        pages += HELD[cpu]
            .iter()
            .take(n)
            .map(|h| (h.load(Ordering::Relaxed) & 0xffff_ffff) as usize)
            .sum::<usize>();
    }
    (rings, pages)
}

/// After a fill: within the limits and at one of them.
fn check_full<P: Proto>(budget: Option<usize>, round: u64) -> bool {
    let (rings, pages) = totals();
    let mut ok = check!(rings <= MAX_RINGS, "{}: round {round}: {rings} rings held", P::NAME);
    if let Some(b) = budget {
        ok &= check!(pages <= b, "{}: round {round}: {pages} pages held, budget {b}", P::NAME);
    }
    ok & check!(
        rings == MAX_RINGS || budget == Some(pages),
        "{}: round {round}: a one-page ring refused with {rings} rings and {pages} pages held (budget {budget:?})",
        P::NAME
    )
}

/// notify says every ring we hold exists and none we unregistered does.
fn check_exists<P: Proto>(round: u64) -> bool {
    let me = ME.load(Ordering::Relaxed) as DomId;
    let mut wrong = 0;
    for cpu in 0..2 {
        let n = COUNT[cpu].load(Ordering::Acquire) as usize;
        let f = N_FREED[cpu].load(Ordering::Acquire) as usize;
        let held =
            HELD[cpu].iter().take(n).map(|h| ((h.load(Ordering::Relaxed) >> 32) as u32, true));
        let freed = FREED[cpu].iter().take(f).map(|p| (p.load(Ordering::Relaxed), false));
        for (port, want) in held.chain(freed) {
            let got = P::query(me, port, 0).map(|(flags, _)| flags & P::EXISTS != 0);
            if got != Ok(want) {
                if wrong < 4 {
                    xtf_failure!(
                        "{}: round {round}: ring at port {port}: exists {got:?}, expected {want}",
                        P::NAME
                    );
                }
                wrong += 1;
            }
        }
    }
    expect_eq!(wrong, 0, "{}: round {round}: rings notify reports wrongly", P::NAME)
}

crate::v4v::v4v_and_argo!(
    exhaust_rings,
    "fuzz-exhaust-v4v" => "V4V rings to the ring count / page budget and random frees on 2 vCPUs; a neighbour checks its rings (role=exhaust|victim shm=GPA seed=S rounds=R budget=N)",
    "fuzz-exhaust-argo" => "Argo: the fuzz-exhaust-v4v pattern up to Argo's 128 rings (role=exhaust|victim shm=GPA seed=S rounds=R)",
);
/// `test=fuzz-exhaust-v4v|fuzz-exhaust-argo role=exhaust|victim shm=GPA [seed=S]
/// [rounds=R] [budget=N]`.
fn exhaust_rings<P: Hand>(env: &Env<'_>) {
    let Some(mb) = mailbox(env) else {
        xtf_error!("needs shm=GPA (a static shared memory page of both domains)");
        return;
    };
    match env.arg("role") {
        Some("exhaust") => exhauster::<P>(env, &mb),
        Some("victim") => victim::<P>(env, &mb),
        _ => xtf_error!("needs role=exhaust|victim"),
    }
}

fn exhauster<P: Hand>(env: &Env<'_>, mb: &Mailbox) {
    let seed = env.arg_u64("seed").unwrap_or(1);
    let rounds = env.arg_u64("rounds").unwrap_or(4);
    // V4V's ring page budget; Argo in C 4.17.5 has none.
    let budget =
        (P::NAME == V4v::NAME).then(|| env.arg_u32("budget").unwrap_or(DEFAULT_BUDGET) as usize);
    SEED.store(seed, Ordering::Relaxed);
    if let Err(dtb) = ring_mem::check(env) {
        return xtf_error!("the ring arena overlaps the DTB at {dtb:#x}: more DOMU_MEM");
    }
    let me = try_op!(evtchn::own_domid(), "own domid");
    ME.store(u32::from(me), Ordering::Relaxed);
    if let Err(e) = P::notify_null() {
        return xtf_failure!(
            "{}: notify(NULL) failed with {e:?}: is {} in this Xen?",
            P::NAME,
            P::NAME
        );
    }
    if let Err(e) = smp::bring_up(env.fdt.as_ref(), 2) {
        return xtf_error!("{e}");
    }
    let (Some(s0), Some(s1), Some(pool)) = (Scratch::new(), Scratch::new(), Pages::alloc(POOL))
    else {
        return xtf_error!("ring arena used up");
    };
    let mut gfns = [0u64; POOL];
    if frames(pool, POOL, &mut gfns) != POOL {
        return xtf_error!("ring arena: {POOL} pages");
    }
    for (a, g) in GFNS.iter().zip(gfns) {
        a.store(g, Ordering::Relaxed);
    }
    // `s1` stays here, unchanged, until after the last phase (see `scratch1`).
    SCRATCH1.store(&s1 as *const Scratch as usize, Ordering::Release);
    if !wait_victim(mb) {
        return;
    }
    let mut phase = 0;
    let (mut at_count, mut at_budget) = (0, 0);
    for round in 0..rounds {
        let Some((a, b)) = both::<P>(&s0, 0, round) else { return };
        for (cpu, err) in LAST_ERR.iter().enumerate() {
            let e = err.load(Ordering::Acquire);
            expect_eq!(
                e,
                Errno::ENOSPC.0 as u32,
                "{}: round {round}: what ended vCPU {cpu}'s fill",
                P::NAME
            );
        }
        let (rings, pages) = totals();
        println!(
            "exhaust: {} round {round}: fill got {a} + {b} rings; {rings} rings, {pages} pages held",
            P::NAME
        );
        if !check_full::<P>(budget, round) {
            return;
        }
        if rings == MAX_RINGS {
            at_count += 1;
        } else {
            at_budget += 1;
        }
        N_FREED.iter().for_each(|n| n.store(0, Ordering::Relaxed));
        if !check_exists::<P>(round) {
            return;
        }
        phase += 1;
        if !handshake(mb, phase, "rings at the limit") {
            return;
        }
        let Some((a, b)) = both::<P>(&s0, 1, round) else { return };
        let bad: u32 = BAD_FREES.iter().map(|c| c.swap(0, Ordering::Relaxed)).sum();
        println!("exhaust: {} round {round}: unregistered {a} + {b} rings at random", P::NAME);
        expect_eq!(
            bad,
            0,
            "{}: round {round}: unregistrations of our own rings that failed",
            P::NAME
        );
        if !check_exists::<P>(round) {
            return;
        }
        phase += 1;
        if !handshake(mb, phase, "random frees") {
            return;
        }
    }
    let Some((a, b)) = both::<P>(&s0, 2, rounds) else { return };
    let bad: u32 = BAD_FREES.iter().map(|c| c.swap(0, Ordering::Relaxed)).sum();
    expect_eq!(bad, 0, "{}: unregistering every ring: failures", P::NAME);
    expect_eq!(totals(), (0, 0), "{}: rings and pages held after unregistering {a} + {b}", P::NAME);
    if !check_exists::<P>(rounds) {
        return;
    }
    let port = PORT0 + 2 * PORT_STRIDE;
    expect_eq!(
        P::register_list(&s0, port, me, &gfns),
        Ok(()),
        "{}: a {POOL}-page ring after the rounds",
        P::NAME
    );
    expect_eq!(P::unregister_port(&s0, port, me), Ok(()), "{}: unregister it", P::NAME);
    if !handshake(mb, phase + 1, "every ring unregistered") || !handshake(mb, PHASE_DONE, "done") {
        return;
    }
    let failed = mb.word(3).load(Ordering::Acquire);
    println!(
        "exhaust: {} {rounds} rounds ({at_count} fills ended at {MAX_RINGS} rings, {at_budget} at the page budget); the victim reports {failed} failed checks",
        P::NAME
    );
    xtf_success!();
}

/// Ports of the victim's rings.
const VICTIM_PORT: u32 = 60;
const VICTIM_BIG_PORT: u32 = 61;

/// The victim: its rings register, take messages from itself (1, 3 and [`MAXIOV`] iovs),
/// give them back intact, and unregister, after every phase of the exhausting domain.
fn victim<P: Hand>(env: &Env<'_>, mb: &Mailbox) {
    // The test lasts as long as the exhausting domain's rounds: no watchdog of its own.
    let mut cfg = Config::new(1, Abi::TwoLevel);
    cfg.watchdog_ms = 0;
    let Some(ctx) = setup_with::<P>(env, cfg) else { return };
    // Ring memory is allocated once: the arena is never given back.
    let (Some(ring), Some(big)) =
        (P::ring(1024, VICTIM_PORT, ctx.me), P::ring(4 * 4096 - 64, VICTIM_BIG_PORT, ctx.me))
    else {
        return xtf_error!("ring arena used up");
    };
    // The longest message: 40 bytes per iov and the message's index (see below).
    let mut buf = [0u8; 40 * MAXIOV + 4];
    let mut got = [0u8; 40 * MAXIOV + 4];
    victim_checking(mb, |phase| {
        let me = ctx.me;
        let r = ring.register();
        if !check!(r.is_ok(), "{}: phase {phase}: register a ring: {r:?}", P::NAME) {
            return false;
        }
        let mut ok = true;
        for (i, k) in [1usize, 3, MAXIOV].into_iter().enumerate() {
            let seq = phase * 4 + i as u32;
            let len = 40 * k + i;
            fill(&mut buf[..len], seq, me, 2);
            let mut parts: [&[u8]; MAXIOV] = [&[]; MAXIOV];
            let step = len / k;
            for (j, p) in parts.iter_mut().enumerate().take(k) {
                let end = if j + 1 == k { len } else { (j + 1) * step };
                *p = &buf[j * step..end];
            }
            let sent = P::sendv(me, VICTIM_PORT, VICTIM_PORT, &parts[..k], seq);
            ok &= check!(
                sent == Ok(len as u64),
                "{}: phase {phase}: send {len} bytes in {k} iovs: {sent:?}",
                P::NAME
            );
            match recv_wait(&ring, &ctx.notifier, &mut got, crate::v4v::WAIT_MS) {
                Ok(m) => {
                    ok &= check!(
                        m.header.len as usize == 16 + len
                            && m.header.source_domain == me
                            && m.header.protocol == seq,
                        "{}: phase {phase}: message header {:?}",
                        P::NAME,
                        m.header
                    );
                    ok &= check!(
                        verify(&got[..len], seq, me, 2).is_ok(),
                        "{}: phase {phase}: message of {len} bytes intact",
                        P::NAME
                    );
                }
                Err(why) => {
                    ok &= check!(false, "{}: phase {phase}: message of {len} bytes: {why}", P::NAME)
                }
            }
        }
        let r = big.register();
        ok &= check!(r.is_ok(), "{}: phase {phase}: register a 4-page ring: {r:?}", P::NAME);
        let r = big.unregister();
        ok &= check!(r.is_ok(), "{}: phase {phase}: unregister the 4-page ring: {r:?}", P::NAME);
        let r = ring.unregister();
        ok &= check!(r.is_ok(), "{}: phase {phase}: unregister the ring: {r:?}", P::NAME);
        let r = P::sendv(me, VICTIM_PORT, VICTIM_PORT, &[&b"gone"[..]], 0);
        ok & check!(
            r == Err(Errno::ECONNREFUSED),
            "{}: phase {phase}: send after unregister: {r:?}",
            P::NAME
        )
    });
}

const _: () = assert!(MAX_RINGS as u32 == xtf::abi::v4v::MAX_RINGS_PER_DOMAIN);
