//! Channels between two domUs under both XSM policies arm can boot with: `xsm=dummy` (the
//! guests may make them) and the default SILO (xsm/silo.c: guest-made channels between two
//! unprivileged domains are -EPERM; static channels, made by Xen at boot, work).
//!
//! The same cases run in two configs that differ only in XEN_CMD; each reads the policy to
//! expect from `xsm=dummy|silo` on its command line. The pair `evtchn-xsm-a` (domain A) and
//! `evtchn-xsm-b` (domain B, `peer=` A) share two static channels: main (A:10 ↔ B:11) and
//! sync (A:12 ↔ B:13), the latter only to pace the two cases. With `abi=fifo` both switch
//! to the FIFO ABI first and read their events from FIFO event words.

use xtf::abi::evtchnstat as st;
use xtf::abi::{DOMID_IO, DOMID_SELF, DOMID_XEN, DomId, Errno, EventWordFlags as F};
use xtf::guest::evtchn;
use xtf::guest::fifo::Fifo;
use xtf::{Env, xtf_success};

use super::{Events, PEER_TIMEOUT_MS, Policy, Signal, check_status, fatal, must, policy};
use super::{shared_info, status, wait_until, wants_fifo};
use xtf::expect_eq;

const A_MAIN: u32 = 10;
const B_MAIN: u32 = 11;
const A_SYNC: u32 = 12;
const B_SYNC: u32 = 13;

/// Our static channels as Xen set them up at boot.
fn check_static(me_main: u32, me_sync: u32, peer: DomId, peer_main: u32, peer_sync: u32) {
    check_status(me_main, st::INTERDOMAIN, 0, [u32::from(peer), peer_main]);
    check_status(me_sync, st::INTERDOMAIN, 0, [u32::from(peer), peer_sync]);
}

xtf::register_test!("evtchn-xsm-a", "two domUs under the booted XSM policy: domain A", pair_a);
/// Domain A. Static channels work under both policies; a guest-made channel to B
/// (alloc_unbound for B, B binds) works only under dummy (SILO: -EPERM at alloc_unbound);
/// once A closes its end of the static channel, B's end is unbound for A, and A's attempt
/// to bind it again succeeds under dummy and is -EPERM under SILO (the interdomain hook:
/// the port is valid and unbound for A, so nothing else refuses first); reset(self) closes
/// A's ends, leaving B's unbound.
pub fn pair_a(env: &Env<'_>) {
    let pol = policy(env);
    let b = env.need_peer();
    let si = shared_info();
    let f = Fifo::new();
    let ev = if wants_fifo(env) {
        must(f.init_control(0, 0), format_args!("init_control"));
        must(f.expand(), format_args!("expand_array"));
        Events::Fifo(&f)
    } else {
        Events::TwoLevel(si)
    };
    let sync = Signal { ev, port: A_SYNC };
    let main = Signal { ev, port: A_MAIN };
    check_static(A_MAIN, A_SYNC, b, B_MAIN, B_SYNC);
    // Only the end bound second (B's) is pending from boot.
    expect_eq!(ev.is_pending(A_MAIN), false, "A's static port {A_MAIN} pending at boot");
    sync.wait("B ready");

    // The static channel carries events both ways.
    main.notify("A->B on static");
    main.wait("B->A on static");

    // A guest-made channel.
    let made = evtchn::alloc_unbound(DOMID_SELF, b);
    match pol {
        Policy::Dummy => expect_eq!(made, Ok(1), "alloc_unbound(self, d{b}) under dummy"),
        Policy::Silo => expect_eq!(made, Err(Errno::EPERM), "alloc_unbound(self, d{b}) under SILO"),
    };
    sync.notify("alloc done");
    sync.wait("B bound");
    if pol == Policy::Dummy {
        check_status(1, st::INTERDOMAIN, 0, [u32::from(b), 1]);
        expect_eq!(ev.is_pending(1), false, "A's port 1 not pending after B bound it");
        must_send(1);
        sync.wait("B closed its end");
        check_status(1, st::UNBOUND, 0, [u32::from(b), 0]);
        expect_eq!(evtchn::send(1), Ok(()), "send on the now unbound port 1");
        expect_eq!(
            evtchn::bind_interdomain(DOMID_SELF, 1),
            Err(Errno::EINVAL),
            "loopback bind to port 1, unbound for d{b}"
        );
        expect_eq!(evtchn::close(1), Ok(()), "close(1)");
    }

    // Close our end of the static channel: B's end becomes unbound for us.
    expect_eq!(evtchn::close(A_MAIN), Ok(()), "close(static {A_MAIN})");
    check_status(A_MAIN, st::CLOSED, 0, [0, 0]);
    sync.notify("A closed static");
    sync.wait("B saw its end unbound");
    let rebind = evtchn::bind_interdomain(b, B_MAIN);
    match pol {
        Policy::Dummy => {
            if expect_eq!(rebind, Ok(1), "bind_interdomain(d{b}, {B_MAIN}) under dummy") {
                check_status(1, st::INTERDOMAIN, 0, [u32::from(b), B_MAIN]);
                expect_eq!(ev.is_pending(1), true, "new local end pending after bind");
                ev.consume(1);
                must_send(1);
            }
        }
        Policy::Silo => {
            expect_eq!(rebind, Err(Errno::EPERM), "bind_interdomain(d{b}, {B_MAIN}) under SILO");
            expect_eq!(evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF), Ok(1), "no port leaked");
        }
    }
    sync.notify("A rebound");
    sync.wait("B checked");
    expect_eq!(evtchn::reset(DOMID_SELF), Ok(()), "reset(self) with channels to d{b} open");
    for p in [1, A_MAIN, A_SYNC] {
        check_status(p, st::CLOSED, 0, [0, 0]);
    }
    xtf_success!();
}

xtf::register_test!("evtchn-xsm-b", "two domUs under the booted XSM policy: domain B", pair_b);
/// Domain B (`peer=` A). Sees the static channels as Xen made them, its ends pending from
/// boot (the end bound second is set pending by evtchn_bind_interdomain); binds A's
/// guest-made port under dummy (SILO: there is none, so -EINVAL); after A closes the static
/// channel its end is unbound for A (send dropped, loopback bind -EINVAL); under dummy A's
/// rebind reconnects it, under SILO it stays unbound and B may not make a channel to A
/// either (-EPERM); A's reset leaves B's ends unbound for A.
pub fn pair_b(env: &Env<'_>) {
    let pol = policy(env);
    let a = env.need_peer();
    let si = shared_info();
    let f = Fifo::new();
    check_static(B_MAIN, B_SYNC, a, A_MAIN, A_SYNC);
    expect_eq!(
        (si.is_pending(B_MAIN), si.is_pending(B_SYNC)),
        (true, true),
        "B's static ports pending from boot, before anyone sent"
    );
    let ev = if wants_fifo(env) {
        must(f.init_control(0, 0), format_args!("init_control"));
        must(f.expand(), format_args!("expand_array"));
        // The 2L-pending ports are raised into queue 7 when the first page arrives.
        let pl = (F::PENDING | F::LINKED).bits();
        expect_eq!(
            (f.word(B_MAIN).0, f.word(B_SYNC).0),
            (pl | B_SYNC, pl),
            "words of the static ports after the switch to FIFO"
        );
        Events::Fifo(&f)
    } else {
        Events::TwoLevel(si)
    };
    let sync = Signal { ev, port: B_SYNC };
    let main = Signal { ev, port: B_MAIN };
    ev.consume(B_MAIN);
    ev.consume(B_SYNC);
    sync.notify("B ready");

    main.wait("A->B on static");
    main.notify("B->A on static");

    sync.wait("A alloc done");
    let bound = evtchn::bind_interdomain(a, 1);
    match pol {
        Policy::Dummy => {
            if expect_eq!(bound, Ok(1), "bind_interdomain(d{a}, 1) under dummy") {
                check_status(1, st::INTERDOMAIN, 0, [u32::from(a), 1]);
                expect_eq!(ev.is_pending(1), true, "local end pending after bind");
                ev.consume(1);
            }
        }
        Policy::Silo => {
            expect_eq!(
                bound,
                Err(Errno::EINVAL),
                "bind_interdomain(d{a}, 1): nothing unbound there"
            );
        }
    }
    sync.notify("B bound");
    if pol == Policy::Dummy {
        if !wait_until(PEER_TIMEOUT_MS, || ev.is_pending(1)) {
            fatal(format_args!("A's send on the guest-made channel did not arrive"));
        }
        expect_eq!(evtchn::close(1), Ok(()), "close(1)");
        sync.notify("B closed its end");
    }

    sync.wait("A closed static");
    check_status(B_MAIN, st::UNBOUND, 0, [u32::from(a), 0]);
    expect_eq!(evtchn::send(B_MAIN), Ok(()), "send on unbound static end (dropped)");
    expect_eq!(
        evtchn::bind_interdomain(DOMID_SELF, B_MAIN),
        Err(Errno::EINVAL),
        "loopback bind to {B_MAIN}, unbound for d{a}"
    );
    sync.notify("B saw its end unbound");
    sync.wait("A rebound");
    match pol {
        Policy::Dummy => {
            check_status(B_MAIN, st::INTERDOMAIN, 0, [u32::from(a), 1]);
            if !wait_until(PEER_TIMEOUT_MS, || ev.is_pending(B_MAIN)) {
                fatal(format_args!("A's send on the rebound channel did not arrive"));
            }
        }
        Policy::Silo => {
            check_status(B_MAIN, st::UNBOUND, 0, [u32::from(a), 0]);
            expect_eq!(
                evtchn::alloc_unbound(DOMID_SELF, a),
                Err(Errno::EPERM),
                "alloc_unbound(self, d{a}) under SILO"
            );
        }
    }
    sync.notify("B checked");
    // A's reset closes its ends: ours become unbound for A.
    if !wait_until(PEER_TIMEOUT_MS, || status(B_SYNC).status == st::UNBOUND) {
        fatal(format_args!("A's reset did not unbind our sync port"));
    }
    check_status(B_SYNC, st::UNBOUND, 0, [u32::from(a), 0]);
    check_status(B_MAIN, st::UNBOUND, 0, [u32::from(a), 0]);
    xtf_success!();
}

fn must_send(port: u32) {
    must(evtchn::send(port), format_args!("send({port})"));
}

xtf::register_test!(
    "evtchn-xsm-remote",
    "operations on another domU under the booted XSM policy",
    remote
);
/// One domain's view of another (`peer=` any other domU) under the policy: alloc_unbound for
/// a remote domain (dummy: anything, even domids that do not exist; SILO: -EPERM for a
/// domU, -ESRCH for one that does not exist or a pseudo-domain), on behalf of another domain
/// (-EPERM under both), status of another domain's port (-EPERM, but -EINVAL first for a port
/// it does not have), bind to another domain's port that is not unbound (-EINVAL), reset of
/// another domain (-EPERM).
pub fn remote(env: &Env<'_>) {
    let pol = policy(env);
    let peer = env.need_peer();
    let dummy = pol == Policy::Dummy;
    let mut next = 1;
    for (remote, silo_err) in [
        (peer, Errno::EPERM),
        (1000, Errno::ESRCH),
        (DOMID_XEN, Errno::ESRCH),
        (DOMID_IO, Errno::ESRCH),
    ] {
        let r = evtchn::alloc_unbound(DOMID_SELF, remote);
        if dummy {
            if expect_eq!(r, Ok(next), "alloc_unbound(self, {remote:#x}) under dummy") {
                check_status(next, st::UNBOUND, 0, [u32::from(remote), 0]);
            }
            next += 1;
        } else {
            expect_eq!(r, Err(silo_err), "alloc_unbound(self, {remote:#x}) under SILO");
        }
    }
    expect_eq!(
        evtchn::alloc_unbound(peer, DOMID_SELF),
        Err(Errno::EPERM),
        "alloc_unbound(d{peer}, self)"
    );
    expect_eq!(
        evtchn::alloc_unbound(peer, peer),
        Err(Errno::EPERM),
        "alloc_unbound(d{peer}, d{peer})"
    );
    expect_eq!(
        evtchn::alloc_unbound(1000, DOMID_SELF),
        Err(Errno::ESRCH),
        "alloc_unbound(d1000, self)"
    );
    expect_eq!(
        evtchn::alloc_unbound(DOMID_XEN, DOMID_SELF),
        Err(Errno::ESRCH),
        "alloc_unbound(XEN)"
    );
    expect_eq!(evtchn::status(peer, 1).map(|_| ()), Err(Errno::EPERM), "status(d{peer}, 1)");
    expect_eq!(
        evtchn::status(peer, 100_000).map(|_| ()),
        Err(Errno::EINVAL),
        "status(d{peer}, 1e5)"
    );
    expect_eq!(evtchn::bind_interdomain(peer, 100_000), Err(Errno::EINVAL), "bind(d{peer}, 1e5)");
    expect_eq!(evtchn::bind_interdomain(peer, 0), Err(Errno::EINVAL), "bind(d{peer}, 0)");
    expect_eq!(evtchn::bind_interdomain(1000, 1), Err(Errno::ESRCH), "bind(d1000, 1)");
    expect_eq!(evtchn::reset(peer), Err(Errno::EPERM), "reset(d{peer})");
    expect_eq!(evtchn::reset_cont(peer), Err(Errno::EPERM), "reset_cont(d{peer})");
    expect_eq!(evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF), Ok(next), "no port leaked");
    xtf_success!();
}
