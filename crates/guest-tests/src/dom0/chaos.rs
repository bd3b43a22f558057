//! Chaos mode's "domain destroyed mid-stream": the test dom0 destroys one of the fuzzing
//! domUs while every domU runs the chaos stream (crates/guest-tests/src/fuzz/chaos.rs) on both
//! its vCPUs, naming the others. dom0 checks that the destroy completes, that the victim's
//! pages come back and that it leaves the domain list, that no survivor port is still bound
//! to it, and that the survivors are still running; the survivors check their own invariants
//! and report.
//!
//! Command line: `victim=D survivors=D1,D2,… [cpu_ms=MS]`: the destroy comes once the victim
//! has run MS ms of vCPU time (default 3000), well inside its stream.

use xtf::abi::control::dominf;
use xtf::abi::{DomId, Errno, evtchnstat, virq};
use xtf::guest::{control, evtchn as ev};
use xtf::{Env, println, xtf_error, xtf_failure, xtf_success};

use super::destroy::domid_arg;
use super::evtchn::{destroy_reclaim, wait_gone};
use super::wait_for;

/// A cap on the ports checked in each survivor: the scan stops at its first invalid port
/// (`valid_evtchns` grows contiguously), normally long before this.
const MAX_SCANNED_PORT: u32 = 4096;

pub fn chaos_destroy(env: &Env<'_>) {
    let Some(victim) = domid_arg(env, "victim") else {
        return xtf_error!("needs victim=D survivors=D1,D2,… [cpu_ms=MS]");
    };
    let cpu_ns = env.arg_u64("cpu_ms").unwrap_or(3000) * 1_000_000;
    let mut survivors = [0 as DomId; 8];
    let mut ns = 0;
    for d in env.arg("survivors").unwrap_or("").split(',').filter_map(|s| s.parse().ok()) {
        if ns < survivors.len() {
            survivors[ns] = d;
            ns += 1;
        }
    }
    if ns == 0 {
        return xtf_error!("needs survivors=D1,D2,…");
    }
    let running = wait_for(120, || match control::getdomaininfo(victim) {
        Ok(i) if i.domain == victim && i.cpu_time >= cpu_ns => Some(i),
        _ => None,
    });
    let Some(info) = running else {
        return xtf_failure!("d{victim} never ran {} ms of vCPU time", cpu_ns / 1_000_000);
    };
    if info.flags & (dominf::SHUTDOWN | dominf::DYING) != 0 {
        return xtf_failure!("d{victim} stopped before the destroy: flags {:#x}", info.flags);
    }
    let virq_port = ev::bind_virq(virq::DOM_EXC, 0).ok();
    println!(
        "destroying d{victim} mid-stream ({} ms of vCPU time, {} pages)",
        info.cpu_time / 1_000_000,
        info.tot_pages
    );
    if !destroy_reclaim(victim, info.tot_pages, virq_port) || !wait_gone(victim) {
        return;
    }
    // No survivor port is still bound to the dead domain (its peers' ends went UNBOUND when
    // its channels closed; nothing can bind to it since). The streams keep changing the
    // other ports meanwhile, which does not matter to this check.
    for &d in &survivors[..ns] {
        for port in 1..=MAX_SCANNED_PORT {
            match ev::status(d, port) {
                Ok(st) if st.status == evtchnstat::INTERDOMAIN && st.remote_dom() == victim => {
                    xtf_failure!("d{d} port {port} still bound to destroyed d{victim}");
                }
                Ok(_) => {}
                // Past the domain's last valid port.
                Err(Errno::EINVAL) => break,
                Err(e) => {
                    xtf_failure!("status(d{d}, port {port}): {e:?}");
                    break;
                }
            }
        }
    }
    // The survivors are still running their streams (they report their own invariants).
    for &d in &survivors[..ns] {
        match control::getdomaininfo(d) {
            Ok(i) if i.domain == d && i.flags & (dominf::SHUTDOWN | dominf::DYING) == 0 => {}
            Ok(i) if i.domain == d && i.flags & dominf::SHUTDOWN != 0 => {
                // Finished its stream already: it has reported; not a failure.
                println!("d{d} already finished its stream");
            }
            other => xtf_failure!("survivor d{d} after the destroy: {other:?}"),
        }
    }
    xtf_success!("d{victim} destroyed mid-stream, its pages back; survivors running");
}

xtf::register_test!(
    "dom0-chaos-destroy",
    "dom0: destroys a chaos-fuzzing domU mid-stream (victim=D survivors=D1,D2 [cpu_ms=MS])",
    chaos_destroy
);
