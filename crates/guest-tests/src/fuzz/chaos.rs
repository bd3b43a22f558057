//! Chaos mode (`test=fuzz-chaos`): the generator on both vCPUs of several domains at once,
//! no icount, no hash. Checks invariants only:
//! - Xen neither crashes nor hangs (every domain reports; ci/boot's timeout catches a hang);
//! - after a successful EVTCHNOP_reset every port of the domain reports closed: a reset runs
//!   (on vCPU 0 only, see `Fuzzer::allow_reset`) with the other vCPU held outside hypercalls
//!   (the [`gated`] lock), so nothing of ours can open a port between the reset and the check;
//! - a peer that shuts down mid-stream (`n=` small) leaves the survivors' channels answering
//!   and the survivors' own reset invariant intact. (A dom0less domU that powers off is not
//!   destroyed: without a toolstack nobody reaps it. Destruction with peers bound is covered
//!   on the host by the evtchn model fuzz target: docs/fuzzing.md.)
//!
//! Runs on the Rust build only: C Xen 4.17.5 dies of XSA-505 (expand_array racing reset),
//! which this stream reaches within seconds.
//!
//! - a peer destroyed mid-stream by the test dom0 (`ci/suites/dom0/chaos-destroy.cfg`): the
//!   victim (`report_at=K`) reports once K steps of vCPU 0 kept the invariants and goes on
//!   until dom0 destroys it; the survivors keep fuzzing and check their invariants.
//!
//! Keys: `seed=S n=N peers=D1,D2,… [report_at=K]` (peers: domids the stream may name besides
//! itself).

use core::sync::atomic::{AtomicU16, AtomicU32, AtomicU64, Ordering};

use xtf::abi::DomId;
use xtf::guest::shared_info;
use xtf::guest::{evtchn, smp};
use xtf::{Env, println, xtf_error, xtf_failure, xtf_success};

use super::Fuzzer;

/// Bit 31: a reset holds the stream; low bits: steps in flight.
static GATE: AtomicU32 = AtomicU32::new(0);
const HELD: u32 = 1 << 31;

/// Runs `f` as a normal step (shared) or as a reset (exclusive: no other step in flight).
/// A reset raises HELD first, so that no new step enters, then waits for the steps in flight
/// to leave: without that preference the other vCPU, stepping back to back, rarely leaves
/// the gate at 0 and starves the reset (and vCPU 0's stream) for seconds.
pub fn gated(exclusive: bool, f: impl FnOnce()) {
    if exclusive {
        // Only vCPU 0 resets (Fuzzer::allow_reset), so HELD is never contended.
        GATE.fetch_or(HELD, Ordering::Acquire);
        while GATE.load(Ordering::Acquire) != HELD {
            core::hint::spin_loop();
        }
        f();
        GATE.store(0, Ordering::Release);
    } else {
        loop {
            let g = GATE.load(Ordering::Relaxed);
            if g & HELD == 0
                && GATE.compare_exchange(g, g + 1, Ordering::Acquire, Ordering::Relaxed).is_ok()
            {
                break;
            }
            core::hint::spin_loop();
        }
        f();
        GATE.fetch_sub(1, Ordering::Release);
    }
}

static ME: AtomicU16 = AtomicU16::new(0);
static N: AtomicU64 = AtomicU64::new(0);
static PEERS: [AtomicU16; 4] = [const { AtomicU16::new(0) }; 4];
static N_PEERS: AtomicU32 = AtomicU32::new(0);

fn make(seed: u64) -> Fuzzer<'static> {
    let si = shared_info::map().expect("shared_info mapped by vCPU 0 first");
    let mut f = Fuzzer::bare(si, ME.load(Ordering::Relaxed), seed);
    f.chaos = true;
    let n = N_PEERS.load(Ordering::Relaxed) as usize;
    for i in 0..n {
        f.peers[i] = PEERS[i].load(Ordering::Relaxed);
    }
    f.n_peers = n;
    f.peer = (n > 0).then(|| f.peers[0]);
    f
}

/// vCPU 1's stream; returns 0, or 1 + the index of the step that broke an invariant.
fn vcpu1(seed: u64) -> u64 {
    let mut f = make(seed);
    // vCPU 1 runs with IRQs unmasked (xtf's smp start): see Fuzzer::allow_reset.
    f.allow_reset = false;
    let n = N.load(Ordering::Relaxed);
    while f.idx < n {
        f.step();
        if let Some((idx, ..)) = f.violation {
            return idx + 1;
        }
    }
    0
}

xtf::register_test!(
    "fuzz-chaos",
    "the stream on both vCPUs, invariants only (seed=S n=N peers=D1,D2)",
    run
);
pub fn run(env: &Env<'_>) {
    let seed = env.arg_u64("seed").unwrap_or(1);
    let n = env.arg_u64("n").unwrap_or(100_000);
    let report_at = env.arg_u64("report_at");
    if shared_info::map().is_err() {
        return xtf_error!("mapping shared_info");
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
    if let Err(e) = smp::bring_up(env.fdt.as_ref(), 2) {
        return xtf_error!("{e}");
    }
    println!("fuzz-chaos start seed={seed} n={n} d={me}");
    smp::start_on(1, vcpu1, seed ^ 0x5eed_0001);
    let mut f = make(seed);
    while f.idx < n {
        f.step();
        if let Some((idx, what, p, s)) = f.violation {
            return xtf_failure!("vCPU 0 seed={seed} idx={idx}: {what}: port {p} status {s}");
        }
        if report_at == Some(f.idx) {
            println!("fuzz-chaos: {} steps on vCPU 0 kept the invariants; going on", f.idx);
            xtf_success!();
            xtf::guest::report::result_now();
        }
    }
    // vCPU 1 runs as many steps; a hung hypercall there ends as FAILURE here.
    match smp::finish(1, 600_000) {
        Ok(0) => {}
        Ok(i) => {
            return xtf_failure!("vCPU 1 seed={seed} idx={}: port not closed after reset", i - 1);
        }
        Err(_) => return,
    }
    println!("fuzz-chaos done seed={seed} steps={} calls-vcpu0={}", 2 * n, f.calls);
    xtf_success!();
}
