//! Two domains over a static event channel (DOMU_STATIC_EVTCHNS; works under XSM SILO, which
//! refuses guest-made domU↔domU channels). One side pings until answered; the other, with 2
//! vCPUs, takes its port on vCPU 1 and answers each ping.
//!
//! Command line: `port=N` (ours), `peer=D` and `peer-port=M` (the other end, checked with
//! EVTCHNOP_status), `role=ping|pong`, and `boot-pending` on the domain that Xen bound second
//! (the later one in config order): 4.17 leaves that end pending before the guest runs.

use xtf::Env;
use xtf::abi::{DOMID_SELF, evtchnstat};
use xtf::guest::evtchn::{self, Port};
use xtf::guest::upcall::{self, Abi};
use xtf::guest::{shared_info, timer};
use xtf::platform::PpiSource;
use xtf::{check, expect_eq, try_op};
use xtf::{println, xtf_error};

use super::{QUIET_MS, done, expect_log, setup};

/// How long the other domain may take to answer (it boots alongside; TCG is slow).
const PEER_MS: u64 = 30_000;
/// Between pings.
const PING_EVERY_MS: u64 = 100;

xtf::register_test!(
    "evtchn-irq-static-ping",
    "2 domains: static channel ping/pong, taken on vCPU 1",
    static_ping
);
pub fn static_ping(env: &Env<'_>) {
    let (Some(port), Some(peer), Some(peer_port), Some(role)) =
        (env.arg_u32("port"), env.arg_u32("peer"), env.arg_u32("peer-port"), env.arg("role"))
    else {
        xtf_error!("needs port=N peer=D peer-port=M role=ping|pong on the command line");
        return;
    };
    let pong = match role {
        "ping" => false,
        "pong" => true,
        _ => {
            xtf_error!("role={role}: expected ping or pong");
            return;
        }
    };

    // Before anything takes upcalls: the state Xen built the domain with.
    let si = try_op!(shared_info::map(), "mapping shared_info");
    let boot_pending = env.flag("boot-pending");
    expect_eq!(si.is_pending(port), boot_pending, "port {port} pending at boot");
    expect_eq!(si.vcpu0().upcall_pending(), u8::from(boot_pending), "upcall_pending at boot");
    let st = try_op!(evtchn::status(DOMID_SELF, port), "status({port})");
    expect_eq!(
        (st.status, u32::from(st.remote_dom()), st.remote_port(), st.vcpu),
        (evtchnstat::INTERDOMAIN, peer, peer_port, 0),
        "status({port}) (status, remote dom, remote port, vcpu)"
    );
    // The pong side takes its port on vCPU 1 only: masked until it is moved there, and the
    // boot-time notification dropped, so that the first delivery is a real ping (sent once
    // the ping side is ready to take the answer).
    if pong {
        si.mask(port);
        si.clear_pending(port);
    }

    let vcpus = if pong { 2 } else { 1 };
    let Some(platform) = setup(env, vcpus, Abi::TwoLevel) else {
        return;
    };
    expect_eq!(platform.evtchn_ppi_source, PpiSource::HypervisorNode, "event PPI source");
    expect_eq!(platform.evtchn_ppi, 31, "event PPI from /hypervisor");

    if pong {
        try_op!(evtchn::bind_vcpu(port as Port, 1), "bind_vcpu({port}, 1)");
        try_op!(evtchn::unmask(port), "unmask({port})");
        if timer::wait_until(PEER_MS, "the first ping", || upcall::delivered(1) > 0).is_err() {
            return;
        }
        try_op!(evtchn::send(port), "send({port}) (pong)");
        println!("ping taken on vCPU 1, pong sent");
        // Pings sent before our answer arrived may still come; all on vCPU 1.
        timer::delay_ms(5 * PING_EVERY_MS);
        let log = upcall::log(1);
        check!(log.ports().all(|p| p == port), "vCPU 1 took {log}: only port {port} expected");
        expect_log(0, &[], "everything bound to vCPU 1");
    } else {
        let mut pings = 0u32;
        let deadline = timer::Deadline::after_ms(PEER_MS);
        while upcall::delivered(0) == 0 && !deadline.passed() {
            try_op!(evtchn::send(port), "send({port}) (ping)");
            pings += 1;
            timer::poll_until(PING_EVERY_MS, || upcall::delivered(0) > 0);
        }
        if !check!(upcall::delivered(0) > 0, "no pong from d{peer} after {pings} pings") {
            return;
        }
        println!("pong after {pings} ping(s)");
        timer::delay_ms(QUIET_MS);
        let log = upcall::log(0);
        check!(log.ports().all(|p| p == port), "vCPU 0 took {log}: only port {port} expected");
    }
    done();
}
