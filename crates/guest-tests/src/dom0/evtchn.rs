//! Event channels on another domain (the privileged paths of EVTCHNOP status, alloc_unbound,
//! reset), VIRQ_DOM_EXC, the retired XEN_DOMCTL_set_max_evtchn, and what a domU is refused.

use xtf::abi::control::{domctl, dominf};
use xtf::abi::{DOMID_SELF, DomId, Errno, evtchnstat, virq};
use xtf::guest::{control, evtchn as ev};
use xtf::{Env, println, xtf_error, xtf_failure, xtf_success};

use super::{CONTROL_PORT, DOM0, connect, open_control, status, wait_event, wait_for};

/// A domid no domain has (below the reserved range).
const NO_SUCH_DOMAIN: DomId = 0x7000;

/// Checks `EVTCHNOP_status(dom, port)`: its state, and for UNBOUND/INTERDOMAIN the remote
/// domain (and port).
fn expect_status(dom: DomId, port: u32, state: u32, remote: Option<(DomId, Option<u32>)>) -> bool {
    match status(dom, port) {
        Ok(st) => {
            let mut ok = st.status == state;
            if let Some((rdom, rport)) = remote {
                ok &= st.remote_dom() == rdom;
                if let Some(p) = rport {
                    ok &= st.remote_port() == p;
                }
            }
            if !ok {
                xtf_failure!(
                    "status(d{dom}, port {port}): state {} remote d{} port {}, want state \
                     {state} remote {remote:?}",
                    st.status,
                    st.remote_dom(),
                    st.remote_port()
                );
            }
            ok
        }
        Err(e) => {
            xtf_failure!("status(d{dom}, port {port}) returned {e:?}, want state {state}");
            false
        }
    }
}

pub(super) fn expect_err<T: core::fmt::Debug>(what: &str, got: Result<T, Errno>, want: Errno) -> bool {
    match got {
        Err(e) if e == want => true,
        other => {
            xtf_failure!("{what}: {other:?}, want {want:?}");
            false
        }
    }
}

pub(super) fn expect_ok<T>(what: &str, got: Result<T, Errno>) -> Option<T> {
    match got {
        Ok(v) => Some(v),
        Err(e) => {
            xtf_failure!("{what}: {e:?}");
            None
        }
    }
}

/// dom0: EVTCHNOP status / alloc_unbound / bind / close / reset on domU `peer` (arg
/// `peer=D`, default 1), which runs `dom0-peer-reset`.
pub fn remote_ops(env: &Env<'_>) {
    let peer: DomId = env.arg("peer").and_then(|v| v.parse().ok()).unwrap_or(1);
    let ctl = match connect(peer, 30) {
        Ok(p) => p,
        Err(why) => {
            xtf_error!("d{peer}: {why}");
            return;
        }
    };
    println!("bound to d{peer}'s control port: our port {ctl}");
    expect_status(peer, CONTROL_PORT, evtchnstat::INTERDOMAIN, Some((DOM0, Some(ctl))));
    // A free port inside the domain's first bucket reads CLOSED; one past any limit EINVAL;
    // a domain that does not exist ESRCH.
    expect_status(peer, 40, evtchnstat::CLOSED, None);
    expect_err("status(peer, port 1<<17)", status(peer, 1 << 17), Errno::EINVAL);
    expect_err("status(no such domain)", status(NO_SUCH_DOMAIN, 1), Errno::ESRCH);

    // alloc_unbound in the peer, for us and for a third domain.
    let Some(q) = expect_ok("alloc_unbound(peer, remote d0)", ev::alloc_unbound(peer, DOM0)) else {
        return;
    };
    expect_status(peer, q, evtchnstat::UNBOUND, Some((DOM0, None)));
    let third = peer + 1;
    if let Some(r) = expect_ok("alloc_unbound(peer, remote third)", ev::alloc_unbound(peer, third))
    {
        expect_status(peer, r, evtchnstat::UNBOUND, Some((third, None)));
    }
    // Bind to it, then close our end: the peer's end is unbound again, for us.
    if let Some(l2) = expect_ok("bind_interdomain(peer, q)", ev::bind_interdomain(peer, q)) {
        expect_status(peer, q, evtchnstat::INTERDOMAIN, Some((DOM0, Some(l2))));
        expect_ok("close(our end)", ev::close(l2));
        expect_status(peer, q, evtchnstat::UNBOUND, Some((DOM0, None)));
    }

    // Reset of a running domain is refused (the controller must pause it first, XSA-343).
    expect_err("reset(running peer)", ev::reset(peer), Errno::EINVAL);
    if expect_ok("pause(peer)", control::pause(peer)).is_none() {
        return;
    }
    match control::getdomaininfo(peer) {
        Ok(info) if info.domain == peer && info.flags & dominf::PAUSED != 0 => {}
        other => xtf_failure!("getdomaininfo(paused peer): {other:?}"),
    }
    expect_ok("reset(paused peer)", ev::reset(peer));
    for port in [CONTROL_PORT, q, q + 1] {
        expect_status(peer, port, evtchnstat::CLOSED, None);
    }
    // Our end of the control channel lost its peer: unbound, for the peer.
    expect_status(DOMID_SELF, ctl, evtchnstat::UNBOUND, Some((peer, None)));
    expect_ok("unpause(peer)", control::unpause(peer));
    expect_ok("close(ctl)", ev::close(ctl));
    xtf_success!();
}

/// domU next to `dom0-evtchn-remote`: opens the control port, then waits for dom0's reset to
/// close it (and the two ports dom0 allocated in it).
pub fn peer_reset(_env: &Env<'_>) {
    if let Err(e) = open_control() {
        xtf_error!("control port: {e:?}");
        return;
    }
    let closed = wait_for(60, || match ev::status(DOMID_SELF, CONTROL_PORT) {
        Ok(st) if st.status == evtchnstat::CLOSED => Some(()),
        _ => None,
    });
    if closed.is_none() {
        xtf_failure!("our control port was never closed by dom0's EVTCHNOP_reset");
        return;
    }
    for port in [CONTROL_PORT + 1, CONTROL_PORT + 2] {
        expect_status(DOMID_SELF, port, evtchnstat::CLOSED, None);
    }
    // The table works after the reset: the lowest port is free again.
    match ev::alloc_unbound(DOMID_SELF, DOM0) {
        Ok(p) if p == CONTROL_PORT => xtf_success!("dom0's reset closed our ports"),
        other => xtf_failure!("alloc_unbound after the reset: {other:?}, want port 1"),
    }
}

/// domU: what a control domain may do and we may not (C: XSM's -EPERM) — sysctl, domctl,
/// and EVTCHNOP status / alloc_unbound / reset on another domain (`other=D`, default 1).
pub fn unprivileged(env: &Env<'_>) {
    let other: DomId = env.arg("other").and_then(|v| v.parse().ok()).unwrap_or(1);
    expect_err("sysctl physinfo", control::physinfo(), Errno::EPERM);
    expect_err("domctl getdomaininfo(d0)", control::getdomaininfo(DOM0), Errno::EPERM);
    expect_err("domctl pausedomain(other)", control::pause(other), Errno::EPERM);
    expect_err("domctl destroydomain(other)", control::destroy(other), Errno::EPERM);
    expect_err("status(other, 1)", status(other, 1), Errno::EPERM);
    expect_err("alloc_unbound(other, remote d0)", ev::alloc_unbound(other, DOM0), Errno::EPERM);
    expect_err("reset(other)", ev::reset(other), Errno::EPERM);
    xtf_success!();
}

/// dom0: VIRQ_DOM_EXC when domU `peer` (default 1) shuts down and again when dom0 destroys
/// it; its pages come back; a second destroy is ESRCH; dom0 cannot destroy itself.
pub fn virq_dom_exc(env: &Env<'_>) {
    let peer: DomId = env.arg("peer").and_then(|v| v.parse().ok()).unwrap_or(1);
    let Some(port) = expect_ok("bind_virq(DOM_EXC)", ev::bind_virq(virq::DOM_EXC, 0)) else {
        return;
    };
    // The peer may have gone down before we bound the VIRQ (no event then): look first.
    let down = || {
        matches!(control::getdomaininfo(peer),
            Ok(i) if i.domain == peer && i.flags & dominf::SHUTDOWN != 0)
    };
    if !down() && !wait_event(port, 60) && !down() {
        xtf_failure!("no VIRQ_DOM_EXC and d{peer} not shut down");
        return;
    }
    let info = match control::getdomaininfo(peer) {
        Ok(i) if i.domain == peer => i,
        other => {
            xtf_failure!("getdomaininfo(d{peer}): {other:?}");
            return;
        }
    };
    if info.flags & dominf::SHUTDOWN == 0 || info.shutdown_reason() != 0 {
        xtf_failure!("d{peer} flags {:#x}: want shut down with reason poweroff (0)", info.flags);
    }
    println!("d{peer} is down: {} pages", info.tot_pages);
    if destroy_reclaim(peer, info.tot_pages, Some(port)) {
        wait_gone(peer);
    }
    expect_err("destroy(d0 itself)", control::destroy(DOM0), Errno::EINVAL);
    xtf_success!();
}

/// Destroys `domid` and checks that at least `pages` pages came back to Xen's free pool
/// (XEN_SYSCTL_physinfo) and, with `virq_port`, that VIRQ_DOM_EXC came. Returns whether the
/// destroy succeeded.
pub fn destroy_reclaim(domid: DomId, pages: u64, virq_port: Option<u32>) -> bool {
    let Some(before) = expect_ok("physinfo", control::physinfo()) else {
        return false;
    };
    if let Some(p) = virq_port {
        super::take(p);
    }
    if expect_ok("destroydomain", control::destroy(domid)).is_none() {
        return false;
    }
    if let Some(p) = virq_port {
        if !wait_event(p, 10) {
            xtf_failure!("no VIRQ_DOM_EXC after destroying d{domid}");
        }
    }
    // Xen has released the domain's memory when destroydomain returns (domain_kill ends
    // with its relinquish_resources): the pages are back now.
    let Some(after) = expect_ok("physinfo", control::physinfo()) else {
        return false;
    };
    let back = after.free_pages.wrapping_sub(before.free_pages);
    println!(
        "free pages {} -> {} (+{back}); d{domid} had {pages}",
        before.free_pages, after.free_pages
    );
    if after.free_pages < before.free_pages + pages {
        xtf_failure!("only {back} pages came back, d{domid} had {pages}");
    }
    true
}

/// Waits for destroyed `domid` to leave the domain list (when its last reference goes), then
/// checks that a second destroy is ESRCH.
pub fn wait_gone(domid: DomId) -> bool {
    let mut ok = true;
    let gone = wait_for(30, || match control::getdomaininfo(domid) {
        Ok(i) if i.domain == domid => None,
        _ => Some(()),
    });
    if gone.is_none() {
        match control::getdomaininfo(domid) {
            Ok(i) => xtf_failure!(
                "d{domid} still listed 30 s after destroydomain: flags {:#x} tot_pages {} \
                 shr_pages {}",
                i.flags,
                i.tot_pages,
                i.shr_pages
            ),
            Err(e) => xtf_failure!("getdomaininfo(d{domid}): {e:?}"),
        }
        return false;
    }
    ok &= expect_err("destroy again", control::destroy(domid), Errno::ESRCH);
    ok
}

/// dom0: domctl rules seen from the control domain: getdomaininfo of ourselves, a wrong
/// interface version (EACCES), and XEN_DOMCTL_set_max_evtchn, which 4.17 retired (the limit
/// is set at domain creation: xen,max-evtchn-port): the command is unknown (C's answer is the
/// expectation) and the running domU `peer` keeps its limit — it allocates past the
/// requested one.
pub fn domctl_rules(env: &Env<'_>) {
    let peer: DomId = env.arg("peer").and_then(|v| v.parse().ok()).unwrap_or(1);
    match control::getdomaininfo(DOM0) {
        Ok(i) if i.domain == DOM0 && i.flags & dominf::DYING == 0 => {}
        other => xtf_failure!("getdomaininfo(d0): {other:?}"),
    }
    expect_err(
        "domctl with interface version 0x14",
        control::domctl_versioned(domctl::GETDOMAININFO, 0x14, DOM0, &()),
        Errno::EACCES,
    );
    let ctl = match connect(peer, 30) {
        Ok(p) => p,
        Err(why) => {
            xtf_error!("d{peer}: {why}");
            return;
        }
    };
    // max_port 4, as seed 004's set_limit would ask.
    let mut limit = xtf::abi::control::DomainInfo::default();
    limit.domain = 4;
    expect_err(
        "XEN_DOMCTL_set_max_evtchn (retired in 4.17)",
        control::domctl_raw(domctl::SET_MAX_EVTCHN_RETIRED, peer, &limit).map(|_| ()),
        Errno::ENOSYS,
    );
    // Tell the peer to go on: it allocates ports above 4.
    expect_ok("send", ev::send(ctl));
    xtf_success!();
}

/// domU next to `dom0-domctl-rules`: once dom0 signals (after its set_max_evtchn attempt), it
/// still allocates ports 2..=8: the limit did not change under it.
pub fn peer_limit(_env: &Env<'_>) {
    if let Err(e) = open_control() {
        xtf_error!("control port: {e:?}");
        return;
    }
    if !wait_event(CONTROL_PORT, 60) {
        xtf_failure!("no event from dom0");
        return;
    }
    for want in 2..=8u32 {
        match ev::alloc_unbound(DOMID_SELF, DOM0) {
            Ok(p) if p == want => {}
            other => {
                xtf_failure!("alloc_unbound #{want}: {other:?}");
                return;
            }
        }
    }
    xtf_success!("ports 2..=8 allocated: the limit is unchanged");
}

xtf::register_test!(
    "dom0-evtchn-remote",
    "dom0: EVTCHNOP status/alloc_unbound/bind/close/reset on a domU (peer=D)",
    remote_ops
);
xtf::register_test!(
    "dom0-peer-reset",
    "domU: control port to dom0, then sees dom0's reset close its ports",
    peer_reset
);
xtf::register_test!(
    "dom0-unprivileged",
    "domU: sysctl, domctl, remote EVTCHNOPs refused (other=D)",
    unprivileged
);
xtf::register_test!(
    "dom0-virq-dom-exc",
    "dom0: VIRQ_DOM_EXC on a domU's shutdown and destroy, pages back (peer=D)",
    virq_dom_exc
);
xtf::register_test!(
    "dom0-domctl-rules",
    "dom0: getdomaininfo, interface version, retired set_max_evtchn (peer=D)",
    domctl_rules
);
xtf::register_test!(
    "dom0-peer-limit",
    "domU: its port limit unchanged by dom0's set_max_evtchn attempt",
    peer_limit
);
