//! The evtchn suite's interrupt-driven cases: delivery seen through the event upcall on PPI
//! 31 (GICv2 or GICv3), on the vCPU a port is bound to, in FIFO priority order; plus the
//! framework's own timer and timeout checks.
//!
//! Each test runs in its own domain, so its event channel state starts fresh (2-level ABI,
//! no ports). [`setup`] brings up GIC, IRQs, vCPUs and the upcall (xtf `upcall::start`); a
//! test then binds ports, sends, and asserts the exact delivery log, vCPU by vCPU, and the
//! exact pending/mask/selector/event-word state Xen leaves. Every wait has a timeout that
//! ends the test FAILURE; a watchdog ends a test that hangs with IRQs on.
//!
//! Command line: `gic=2|3` makes the test check the GIC version it runs on (a config meant
//! for GICv3 that booted on a GICv2 fails); `port=N`, `role=...`, `peer=N` for the
//! two-domain cases.

pub mod fifo;
pub mod interdomain;
pub mod selftest;
pub mod stress;
pub mod twolevel;
pub mod vcpus;

use xtf::abi::{DOMID_SELF, Errno};
use xtf::guest::evtchn::{self, Port};
use xtf::guest::upcall::{self, Abi, Config};
use xtf::guest::{gic, timer};
use xtf::platform::Platform;
use xtf::{Env, check};
use xtf::{println, xtf_error, xtf_failure};

/// How long any single wait may take before the test fails. Generous: the virtual counter
/// runs in host time, and on a loaded host QEMU's thread for one Xen CPU has been seen to
/// stall for over 10 s while the other ran on; only a failing test ever waits this long.
pub const WAIT_MS: u64 = 15_000;
/// How long "nothing happens" is watched for.
pub const QUIET_MS: u64 = 50;

/// Sets up upcalls for `vcpus` vCPUs under `abi` (FIFO on every vCPU); reports ERROR and
/// returns `None` if that fails, FAILURE if `gic=N` names another GIC than the one found.
pub fn setup(env: &Env<'_>, vcpus: usize, abi: Abi) -> Option<Platform> {
    setup_with(env, Config::new(vcpus, abi))
}

/// [`setup`] with a full [`Config`].
pub fn setup_with(env: &Env<'_>, cfg: Config) -> Option<Platform> {
    let platform = match upcall::start(env, cfg) {
        Ok(p) => p,
        Err(e) => {
            xtf_error!("set-up: {e}");
            return None;
        }
    };
    println!(
        "GICv{}, event PPI {} ({:?}), timer PPI {}, {} vCPU(s) of {}, {:?}",
        gic::version(),
        platform.evtchn_ppi,
        platform.evtchn_ppi_source,
        platform.vtimer_ppi,
        cfg.vcpus,
        platform.cpus_in_tree,
        cfg.abi
    );
    if let Some(want) = env.arg("gic") {
        if want != if gic::version() == 3 { "3" } else { "2" } {
            xtf_failure!("this config wants GICv{want}, the domain has GICv{}", gic::version());
            return None;
        }
    }
    Some(platform)
}

/// Waits for vCPU `cpu` to have taken `n` events in all; FAILURE after [`WAIT_MS`].
pub fn wait_delivered(cpu: usize, n: usize) -> bool {
    timer::wait_until(WAIT_MS, format_args!("{n} event(s) delivered on vCPU {cpu}"), || {
        upcall::delivered(cpu) >= n
    })
    .is_ok()
}

/// Checks that vCPU `cpu`'s log is exactly `ports` (after letting [`QUIET_MS`] pass, so a
/// late extra delivery is seen too).
pub fn expect_log(cpu: usize, ports: &[Port], what: &str) -> bool {
    timer::delay_ms(QUIET_MS);
    let log = upcall::log(cpu);
    check!(log.ports_are(ports), "{what}: vCPU {cpu} took {log}, expected {ports:?}")
}

/// Checks the log of `cpu` entry by entry, FIFO queues included.
pub fn expect_fifo_log(cpu: usize, want: &[(Port, u8)], what: &str) -> bool {
    timer::delay_ms(QUIET_MS);
    let log = upcall::log(cpu);
    let ok = log.total() == want.len()
        && log.entries().iter().zip(want).all(|(d, &(p, q))| d.port == p && d.queue == Some(q));
    check!(ok, "{what}: vCPU {cpu} took {log}, expected {want:?} as (port, queue)")
}

/// A loopback channel in this domain: `a` from alloc_unbound(self, self) and `b` bound to it
/// with bind_interdomain. Binding sets `b` pending (4.17 "fixes up lost notifications" by
/// always notifying the binding end), so the upcall delivers `b` once on vCPU 0: this waits
/// for exactly that, checks it and empties the logs.
pub fn loopback() -> Result<(Port, Port), Errno> {
    let before = upcall::delivered(0);
    let a = evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF)?;
    let b = evtchn::bind_interdomain(DOMID_SELF, a)?;
    if wait_delivered(0, before + 1) {
        let log = upcall::log(0);
        check!(
            log.port(before) == Some(b),
            "bind_interdomain: expected the bound end {b} delivered, got {log}"
        );
    }
    timer::delay_ms(QUIET_MS);
    upcall::reset_log();
    Ok((a, b))
}

/// Ends with SUCCESS if nothing failed (failures recorded earlier win).
pub fn done() {
    xtf::xtf_success!();
}
