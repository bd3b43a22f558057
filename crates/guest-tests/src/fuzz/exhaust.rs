//! Resource mode (`test=fuzz-exhaust`): one domain drives its event channel ports to the
//! limit from both vCPUs at once, frees a random part of them in random order from both
//! vCPUs, and fills them again, round after round; a second domain checks its own service
//! after every phase (the victim of `sec-evtchn-noisy-neighbour`, over the same static
//! shared memory mailbox).
//!
//! Checks, on the exhausting domain:
//! - each fill ends in ENOSPC on both vCPUs, and the ports handed out, with those still
//!   held, are exactly 1..=limit: none twice (two vCPUs never get the same port), none
//!   skipped;
//! - every close of a port we hold works, and afterwards each port reports what we left
//!   (closed or unbound);
//! - at the end EVTCHNOP_reset releases everything (the next port is 1 again).
//!
//! Keys: `role=exhaust|victim shm=GPA seed=S rounds=R limit=L` (L: the domain's
//! max_evtchn_port, at most 4095 under the 2-level ABI).

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use xtf::abi::{DOMID_SELF, Errno, evtchnstat};
use xtf::guest::{evtchn, smp};
use xtf::{Env, check, expect_eq, println, try_op, xtf_error, xtf_failure, xtf_success};

use super::Rng;
use crate::security::evtchn::{Mailbox, handshake, mailbox, victim, wait_victim};

/// How long a phase on vCPU 1 may take (4095 hypercalls under a loaded QEMU).
const FINISH_MS: u64 = 120_000;
/// Most ports a domain can have under the 2-level ABI (port 0 is reserved).
const MAX_PORT: usize = 4095;

/// The ports each vCPU holds (`HELD[cpu][..COUNT[cpu]]`).
static HELD: [[AtomicU32; MAX_PORT]; 2] = [const { [const { AtomicU32::new(0) }; MAX_PORT] }; 2];
static COUNT: [AtomicU32; 2] = [const { AtomicU32::new(0) }; 2];
/// The errno that ended each vCPU's last fill, and the number of failed closes.
static LAST_ERR: [AtomicU32; 2] = [const { AtomicU32::new(0) }; 2];
static BAD_CLOSES: [AtomicU32; 2] = [const { AtomicU32::new(0) }; 2];
static SEED: AtomicU64 = AtomicU64::new(0);

/// vCPU `cpu` allocates ports until Xen refuses; returns how many it got.
fn fill(cpu: usize) -> u64 {
    let mut got = 0;
    loop {
        let n = COUNT[cpu].load(Ordering::Relaxed) as usize;
        match evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF) {
            Ok(p) if n < MAX_PORT => {
                HELD[cpu][n].store(p, Ordering::Relaxed);
                COUNT[cpu].store(n as u32 + 1, Ordering::Release);
                got += 1;
            }
            Ok(p) => {
                // More ports than the ABI has: report it as an errno no call returns.
                LAST_ERR[cpu].store(p | 0x8000_0000, Ordering::Release);
                return got;
            }
            Err(e) => {
                LAST_ERR[cpu].store(e.0 as u32, Ordering::Release);
                return got;
            }
        }
    }
}

/// vCPU `cpu` closes a random part of its ports in random order (its own generator from
/// the seed, the round and the vCPU); returns how many it closed.
fn free_random(cpu: usize, round: u64) -> u64 {
    let mut rng = Rng::new(SEED.load(Ordering::Relaxed) ^ (round << 8) ^ cpu as u64);
    let n = COUNT[cpu].load(Ordering::Acquire) as usize;
    let held = &HELD[cpu];
    // Fisher-Yates over our list; the first `k` after the shuffle are closed.
    for i in (1..n).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        let (a, b) = (held[i].load(Ordering::Relaxed), held[j].load(Ordering::Relaxed));
        held[i].store(b, Ordering::Relaxed);
        held[j].store(a, Ordering::Relaxed);
    }
    let k = rng.below(n as u64 + 1) as usize;
    for slot in held.iter().take(k) {
        let p = slot.load(Ordering::Relaxed);
        if evtchn::close(p).is_err() {
            BAD_CLOSES[cpu].fetch_add(1, Ordering::Relaxed);
        }
    }
    // Keep the rest at the front of the list.
    for i in k..n {
        held[i - k].store(held[i].load(Ordering::Relaxed), Ordering::Relaxed);
    }
    COUNT[cpu].store((n - k) as u32, Ordering::Release);
    k as u64
}

/// vCPU 1's side of a phase: `arg` is the phase (0 fill, 1 free) and the round << 8.
fn on_vcpu1(arg: u64) -> u64 {
    match arg & 0xff {
        0 => fill(1),
        _ => free_random(1, arg >> 8),
    }
}

/// Runs one phase on both vCPUs at once; the two counts.
fn both(phase: u64, round: u64) -> Option<(u64, u64)> {
    smp::start_on(1, on_vcpu1, phase | (round << 8));
    let mine = if phase == 0 { fill(0) } else { free_random(0, round) };
    match smp::finish(1, FINISH_MS) {
        Ok(theirs) => Some((mine, theirs)),
        Err(_) => {
            xtf_failure!("vCPU 1 did not finish phase {phase} of round {round}");
            None
        }
    }
}

/// The ports both vCPUs hold are exactly 1..=limit, each once.
fn check_full(limit: usize, round: u64) -> bool {
    let mut seen = [0u64; MAX_PORT.div_ceil(64) + 1];
    let mut ok = true;
    for cpu in 0..2 {
        let n = COUNT[cpu].load(Ordering::Acquire) as usize;
        for slot in HELD[cpu].iter().take(n) {
            let p = slot.load(Ordering::Relaxed) as usize;
            if p == 0 || p > limit {
                ok &= check!(false, "round {round}: vCPU {cpu} holds port {p} (limit {limit})");
                continue;
            }
            let (w, b) = (p / 64, 1u64 << (p % 64));
            ok &= check!(seen[w] & b == 0, "round {round}: port {p} handed out twice");
            seen[w] |= b;
        }
    }
    let held: u32 = seen.iter().map(|w| w.count_ones()).sum();
    ok & expect_eq!(held as usize, limit, "round {round}: ports held after the fill")
}

/// Every port in 1..=limit reports closed unless a vCPU still holds it (then unbound).
fn check_states(limit: usize, round: u64) -> bool {
    let mut held = [0u64; MAX_PORT.div_ceil(64) + 1];
    for cpu in 0..2 {
        let n = COUNT[cpu].load(Ordering::Acquire) as usize;
        for slot in HELD[cpu].iter().take(n) {
            let p = slot.load(Ordering::Relaxed) as usize;
            held[p / 64] |= 1 << (p % 64);
        }
    }
    let mut wrong = 0;
    for p in 1..=limit {
        let want = if held[p / 64] >> (p % 64) & 1 == 1 {
            evtchnstat::UNBOUND
        } else {
            evtchnstat::CLOSED
        };
        match evtchn::status(DOMID_SELF, p as u32) {
            Ok(st) if st.status == want => {}
            r => {
                if wrong < 4 {
                    xtf_failure!("round {round}: port {p}: status {r:?}, expected {want}");
                }
                wrong += 1;
            }
        }
    }
    expect_eq!(wrong, 0, "round {round}: ports in the wrong state after the random frees")
}

xtf::register_test!(
    "fuzz-exhaust",
    "ports to the limit and random frees on 2 vCPUs; a neighbour checks its service (role=exhaust|victim shm=GPA seed=S rounds=R limit=L)",
    exhaust
);
/// `test=fuzz-exhaust role=exhaust|victim shm=GPA [seed=S] [rounds=R] [limit=L]`.
pub fn exhaust(env: &Env<'_>) {
    let Some(mb) = mailbox(env) else {
        xtf_error!("needs shm=GPA (a static shared memory page of both domains)");
        return;
    };
    match env.arg("role") {
        Some("exhaust") => exhauster(env, &mb),
        Some("victim") => victim(&mb),
        _ => xtf_error!("needs role=exhaust|victim"),
    }
}

fn exhauster(env: &Env<'_>, mb: &Mailbox) {
    let seed = env.arg_u64("seed").unwrap_or(1);
    let rounds = env.arg_u64("rounds").unwrap_or(4);
    let limit = env.arg_u32("limit").unwrap_or(MAX_PORT as u32) as usize;
    if limit == 0 || limit > MAX_PORT {
        xtf_error!("limit={limit}: 1..={MAX_PORT}");
        return;
    }
    SEED.store(seed, Ordering::Relaxed);
    if let Err(e) = smp::bring_up(env.fdt.as_ref(), 2) {
        return xtf_error!("{e}");
    }
    if !wait_victim(mb) {
        return;
    }
    let mut phase = 0;
    for round in 0..rounds {
        let Some((a, b)) = both(0, round) else { return };
        for (cpu, err) in LAST_ERR.iter().enumerate() {
            let e = err.load(Ordering::Acquire);
            expect_eq!(e, Errno::ENOSPC.0 as u32, "round {round}: what ended vCPU {cpu}'s fill");
        }
        println!("exhaust: round {round}: fill got {a} + {b} ports, every port up to {limit} held");
        if !check_full(limit, round) {
            return;
        }
        expect_eq!(evtchn::bind_ipi(0), Err(Errno::ENOSPC), "round {round}: bind_ipi when full");
        phase += 1;
        if !handshake(mb, phase, "every port") {
            return;
        }
        let Some((a, b)) = both(1, round) else { return };
        let bad: u32 = BAD_CLOSES.iter().map(|c| c.swap(0, Ordering::Relaxed)).sum();
        println!("exhaust: round {round}: closed {a} + {b} ports at random");
        expect_eq!(bad, 0, "round {round}: closes of our own ports that failed");
        if !check_states(limit, round) {
            return;
        }
        phase += 1;
        if !handshake(mb, phase, "random frees") {
            return;
        }
    }
    try_op!(evtchn::reset(DOMID_SELF), "reset(self)");
    COUNT.iter().for_each(|c| c.store(0, Ordering::Relaxed));
    expect_eq!(evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF), Ok(1), "first port after reset");
    if !handshake(mb, phase + 1, "reset")
        || !handshake(mb, crate::security::evtchn::PHASE_DONE, "done")
    {
        return;
    }
    let failed = mb.word(3).load(Ordering::Acquire);
    println!("exhaust: {rounds} rounds; the victim reports {failed} failed checks");
    xtf_success!();
}
