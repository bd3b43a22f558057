//! The interrupt framework's own checks: both vCPUs up with their PPIs enabled, the virtual
//! timer interrupt on each vCPU, and the three ways a hung test must end FAILURE (a timed
//! wait, the watchdog, a vCPU that never finishes its work). The last three are expected to
//! end FAILURE (`#@ expect` in their config).

use core::sync::atomic::{AtomicU64, Ordering};
use xtf::{check, expect_eq};

use xtf::Env;
use xtf::guest::upcall::{self, Abi, Config};
use xtf::guest::{gic, smp, timer};
use xtf::platform::psci_fn;
use xtf::{println, xtf_failure};

use super::{WAIT_MS, done, setup, setup_with};

/// Per vCPU: (armed at, deadline, seen at) of the last [`arm_and_wait`]; seen at is 0 if
/// the interrupt never came.
static TIMES: [[AtomicU64; 3]; 2] = [const { [const { AtomicU64::new(0) }; 3] }; 2];

/// Arms this vCPU's timer `ms` ahead, waits for its interrupt and records the times.
fn arm_and_wait(ms: u64) -> u64 {
    let cpu = smp::this_cpu() % 2;
    let before = timer::fired(cpu);
    let start = timer::now();
    let deadline = start + timer::ms_to_ticks(ms);
    timer::arm(timer::Deadline(deadline));
    let seen =
        if timer::poll_until(WAIT_MS, || timer::fired(cpu) > before) { timer::now() } else { 0 };
    for (slot, v) in TIMES[cpu].iter().zip([start, deadline, seen]) {
        slot.store(v, Ordering::Relaxed);
    }
    0
}

xtf::register_test!(
    "evtchn-irq-timer",
    "framework: both vCPUs up, PPIs enabled, virtual timer IRQ on each",
    timer_and_vcpus
);
/// Two vCPUs online with the event and timer PPIs enabled in their own GIC interfaces; PSCI
/// 0.2+ answers; a 20 ms virtual timer interrupt arrives on each vCPU, not before its
/// deadline, exactly once.
pub fn timer_and_vcpus(env: &Env<'_>) {
    let Some(platform) = setup(env, 2, Abi::TwoLevel) else {
        return;
    };
    if let Some(psci) = platform.psci {
        match smp::psci_version(&psci) {
            Ok((major, minor)) => println!("PSCI {major}.{minor}, CPU_ON {:#x}", psci.cpu_on),
            Err(e) => xtf_failure!("PSCI_VERSION ({:#x}): {e}", psci_fn::VERSION),
        }
    }
    let (ev, tm) = (platform.evtchn_ppi, platform.vtimer_ppi);
    for cpu in 0..2 {
        let bits = smp::run_on(cpu, WAIT_MS, &|| {
            let e = gic::ppi_enabled(ev).unwrap_or(false);
            let t = gic::ppi_enabled(tm).unwrap_or(false);
            u64::from(e) | (u64::from(t) << 1)
        });
        expect_eq!(bits, 3, "vCPU {cpu}: PPIs {ev} and {tm} enabled (bit 0, bit 1)");
    }
    let ms = 20;
    for cpu in 0..2 {
        let before = timer::fired(cpu);
        smp::run_on(cpu, 2 * WAIT_MS, &|| arm_and_wait(ms));
        let [start, deadline, seen] = TIMES[cpu].each_ref().map(|t| t.load(Ordering::Relaxed));
        if !check!(seen != 0, "vCPU {cpu}: no timer interrupt within {WAIT_MS} ms of arming it") {
            continue;
        }
        check!(
            seen >= deadline,
            "vCPU {cpu}: timer interrupt {} us before its deadline",
            timer::ticks_to_us(deadline - seen)
        );
        timer::delay_ms(2 * ms);
        expect_eq!(timer::fired(cpu) - before, 1, "vCPU {cpu}: timer interrupts for one arming");
        println!(
            "vCPU {cpu}: {ms} ms timer seen after {} us (CNTFRQ {} Hz)",
            timer::ticks_to_us(seen - start),
            timer::frequency()
        );
    }
    expect_eq!(upcall::delivered(0) + upcall::delivered(1), 0, "events delivered");
    done();
}

xtf::register_test!(
    "evtchn-irq-selftest-timeout",
    "framework: a wait that times out ends FAILURE",
    timeout
);
/// Waits for something that never happens: must end FAILURE (timed out), not hang.
pub fn timeout(env: &Env<'_>) {
    if setup(env, 1, Abi::TwoLevel).is_none() {
        return;
    }
    let _ = timer::wait_until(200, "something that never happens", || false);
    done();
}

xtf::register_test!(
    "evtchn-irq-selftest-watchdog",
    "framework: a test spinning past its watchdog ends FAILURE",
    watchdog
);
/// Spins with IRQs on past its watchdog: must end FAILURE from the timer interrupt.
pub fn watchdog(env: &Env<'_>) {
    let cfg = Config { watchdog_ms: 300, ..Config::new(1, Abi::TwoLevel) };
    if setup_with(env, cfg).is_none() {
        return;
    }
    println!("spinning until the watchdog ends the test");
    loop {
        timer::relax();
    }
}

xtf::register_test!(
    "evtchn-irq-selftest-vcpu-hang",
    "framework: work that never finishes on vCPU 1 ends FAILURE",
    vcpu_hang
);
/// vCPU 1 never finishes the work it was given: run_on must end the test FAILURE.
pub fn vcpu_hang(env: &Env<'_>) {
    if setup(env, 2, Abi::TwoLevel).is_none() {
        return;
    }
    smp::run_on(1, 300, &|| loop {
        timer::relax();
    });
    done();
}
