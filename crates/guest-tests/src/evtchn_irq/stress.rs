//! Stress: two vCPUs in each of two domains hammer the event channel code at once:
//! each vCPU, in a loop, makes a loopback channel (alloc_unbound + bind_interdomain), moves
//! one end to the other vCPU, sends on both ends, unmasks both, sends to the other domain over
//! the static channel, and closes both ends — 10 hypercalls an iteration, every
//! one of which must succeed. With `iters=2500` (the config) the two domains make
//! 2 × 2 × 2500 × 10 = 100 000 operations while upcalls land on both vCPUs.
//!
//! Command line: `port=N` (our end of the static channel), `iters=N` (per vCPU).

use core::sync::atomic::{AtomicU32, Ordering};
use xtf::Env;
use xtf::abi::{DOMID_SELF, evtchnstat};
use xtf::guest::evtchn::{self, Port};
use xtf::guest::smp;
use xtf::guest::upcall::{self, Abi};
use xtf::{check, expect_eq, try_op};
use xtf::{println, xtf_error};

use super::{done, setup};

/// The static port, for the worker on vCPU 1 (a `fn(u64) -> u64` borrows nothing).
static STATIC_PORT: AtomicU32 = AtomicU32::new(0);
/// How long a vCPU may take for its share (TCG on a loaded host is slow).
const FINISH_MS: u64 = 240_000;

/// One vCPU's loop: returns ops << 32 | first failing step (0: none).
fn worker(iters: u64) -> u64 {
    let sp = STATIC_PORT.load(Ordering::Relaxed);
    let me = smp::this_cpu() as u32;
    let other = 1 - me;
    let mut ops: u64 = 0;
    for _ in 0..iters {
        let step = |n: u64, r: bool| if r { Ok(()) } else { Err(n) };
        let r = (|| -> Result<(), u64> {
            let a = evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF).map_err(|_| 1u64)?;
            let b = evtchn::bind_interdomain(DOMID_SELF, a).map_err(|_| 2u64)?;
            // `a` notifies the other vCPU: sends on `b` land there, sends on `a` here (0).
            step(3, evtchn::bind_vcpu(a, other).is_ok())?;
            step(4, evtchn::send(a).is_ok())?;
            step(5, evtchn::send(b).is_ok())?;
            step(6, evtchn::unmask(a).is_ok())?;
            step(7, evtchn::unmask(b).is_ok())?;
            step(8, evtchn::send(sp).is_ok())?;
            step(9, evtchn::close(b).is_ok())?;
            step(10, evtchn::close(a).is_ok())?;
            Ok(())
        })();
        match r {
            Ok(()) => ops += 10,
            Err(n) => return (ops << 32) | n,
        }
    }
    ops << 32
}

xtf::register_test!(
    "evtchn-stress",
    "2 vCPUs send/unmask/rebind/close at once, with the other domain doing the same",
    stress
);
pub fn stress(env: &Env<'_>) {
    let (Some(port), Some(iters)) = (
        env.arg("port").and_then(|v| v.parse::<Port>().ok()),
        env.arg("iters").and_then(|v| v.parse::<u64>().ok()),
    ) else {
        xtf_error!("needs port=N iters=N on the command line");
        return;
    };
    STATIC_PORT.store(port, Ordering::Relaxed);
    let st = try_op!(evtchn::status(DOMID_SELF, port), "status({port})");
    expect_eq!(st.status, evtchnstat::INTERDOMAIN, "static port {port} is interdomain");
    if setup(env, 2, Abi::TwoLevel).is_none() {
        return;
    }
    smp::start_on(1, worker, iters);
    let r0 = worker(iters);
    let Ok(r1) = smp::finish(1, FINISH_MS) else { return };
    for (cpu, r) in [(0, r0), (1, r1)] {
        let (ops, failed) = (r >> 32, r & 0xffff_ffff);
        println!("vCPU {cpu}: {ops} operations");
        check!(failed == 0, "vCPU {cpu}: step {failed} failed after {ops} operations");
    }
    println!("deliveries: vCPU 0 {}, vCPU 1 {}", upcall::delivered(0), upcall::delivered(1));
    check!(upcall::delivered(0) > 0, "events were delivered on vCPU 0");
    check!(upcall::delivered(1) > 0, "events were delivered on vCPU 1");
    // Only the static port is left open.
    let st = try_op!(evtchn::status(DOMID_SELF, port), "status({port}) at the end");
    expect_eq!(st.status, evtchnstat::INTERDOMAIN, "static port {port} at the end");
    for p in 1..8u32 {
        if p != port
            && let Ok(s) = evtchn::status(DOMID_SELF, p)
        {
            expect_eq!(s.status, evtchnstat::CLOSED, "port {p} closed at the end");
        }
    }
    done();
}
