//! dom0 destroys a domU (XEN_DOMCTL_destroydomain, which Xen continues itself until every
//! resource is released) while another domU — the survivor — is bound to it by a static
//! event channel, has a ring registered for it (V4V on the rust build, Argo on both), sends
//! to it, and shares static memory with it. Expectations are C's:
//! - the survivor's end of the static channel becomes UNBOUND for the dead domain (C's
//!   evtchn_close on the victim's port), and a send on it is silently dropped (0);
//! - a send to the dead domain: V4V -ECONNREFUSED, Argo -ESRCH once it has left the domain
//!   list, -ECONNREFUSED while it is still dying (docs/v4v.md);
//! - the survivor's own ring for the dead partner: V4V keeps it until the survivor
//!   unregisters it; Argo removes it with the partner (unregister: -ENOENT);
//! - the shared memory keeps what the victim wrote and stays usable;
//! - at least the victim's pages come back to Xen's free pool, and the victim leaves the
//!   domain list.
//!
//! Command lines: dom0 `victim=D survivor=D`; victim `ring=v4v|argo survivor=D [shm=GPA]`;
//! survivor `ring=v4v|argo victim=D port=P|none [shm=GPA]` (P: its end of the static channel;
//! none: no static channel; GPA: where both map the static shared memory, when the config
//! gives them one).

use core::sync::atomic::{AtomicU64, Ordering};

use xtf::abi::{DOMID_SELF, DomId, Errno, evtchnstat, virq};
use xtf::guest::{control, evtchn as ev, report};
use xtf::{Env, println, xtf_error, xtf_failure, xtf_success};

use super::{connect, open_control, wait_event, wait_for};
use crate::v4v::{Argo, Proto, ProtoRing, V4v};

/// The victim's ring port and the survivor's.
const VICTIM_RING_PORT: u32 = 7;
const SURVIVOR_RING_PORT: u32 = 8;
const RING_LEN: u32 = 4096;
/// The survivor's second port (after its control port): allocated once it has sent.
pub(super) const SENT_MARK_PORT: u32 = super::CONTROL_PORT + 1;
/// What the victim leaves at the start of the shared memory.
pub(super) const VICTIM_MARK: u64 = 0x7669_6374_696d_2121;

pub(super) fn domid_arg(env: &Env<'_>, key: &str) -> Option<DomId> {
    env.arg(key).and_then(|v| v.parse().ok())
}

pub(super) fn hex_arg(env: &Env<'_>, key: &str) -> Option<usize> {
    env.arg(key).and_then(|v| usize::from_str_radix(v.trim_start_matches("0x"), 16).ok())
}

/// The first word of the shared memory at `gpa` (the domain's guest address of the static
/// shm region, identity-mapped Normal memory).
pub(super) fn shm_word(gpa: usize) -> &'static AtomicU64 {
    // SAFETY: `gpa` is the guest address Xen mapped the static shared memory at (the config
    // says so; the static suite checks the mapping itself); it is 8-aligned RAM that no Rust
    // object owns, and the other domain writes it concurrently, hence an atomic.
    unsafe { AtomicU64::from_ptr(gpa as *mut u64) }
}

/// dom0: destroys `victim` once both domUs are ready, checks the pages and the domain list,
/// then lets the survivor check what it sees.
pub fn destroy(env: &Env<'_>) {
    let (Some(victim), Some(survivor)) = (domid_arg(env, "victim"), domid_arg(env, "survivor"))
    else {
        xtf_error!("needs victim=D survivor=D");
        return;
    };
    let vport = match connect(victim, 60) {
        Ok(p) => p,
        Err(why) => return xtf_error!("victim d{victim}: {why}"),
    };
    let sport = match connect(survivor, 60) {
        Ok(p) => p,
        Err(why) => return xtf_error!("survivor d{survivor}: {why}"),
    };
    // The survivor marks (a second port unbound for us) once it has sent to the victim.
    let marked = wait_for(60, || match ev::status(survivor, SENT_MARK_PORT) {
        Ok(st) if st.status == evtchnstat::UNBOUND && st.remote_dom() == super::DOM0 => Some(()),
        _ => None,
    });
    if marked.is_none() {
        xtf_failure!("the survivor never reported its send to the victim");
        return;
    }
    let info = match control::getdomaininfo(victim) {
        Ok(i) if i.domain == victim => i,
        other => return xtf_failure!("getdomaininfo(victim): {other:?}"),
    };
    let virq_port = ev::bind_virq(virq::DOM_EXC, 0).ok();
    println!("destroying d{victim} ({} pages)", info.tot_pages);
    if !super::evtchn::destroy_reclaim(victim, info.tot_pages, virq_port) {
        return;
    }
    // Our control channel to the victim lost its peer.
    match ev::status(DOMID_SELF, vport) {
        Ok(st) if st.status == evtchnstat::UNBOUND && st.remote_dom() == victim => {}
        other => xtf_failure!("our port to the victim: {other:?}, want UNBOUND for d{victim}"),
    }
    // The survivor checks what it sees while we wait for the victim to leave the list.
    if let Err(e) = ev::send(sport) {
        xtf_failure!("signalling the survivor: {e:?}");
        return;
    }
    if !super::evtchn::wait_gone(victim) {
        return;
    }
    xtf_success!("d{victim} destroyed, its pages back");
}

fn victim_with<P: Proto>(env: &Env<'_>, with_ring: bool) {
    let Some(survivor) = domid_arg(env, "survivor") else {
        return xtf_error!("needs survivor=D [shm=GPA]");
    };
    let shm = hex_arg(env, "shm");
    // Mark first: the survivor may look for the mark as soon as our ring accepts its send.
    if let Some(gpa) = shm {
        shm_word(gpa).store(VICTIM_MARK, Ordering::Release);
    }
    let ring = if with_ring { P::ring(RING_LEN, VICTIM_RING_PORT, survivor) } else { None };
    if with_ring {
        let Some(r) = &ring else {
            return xtf_error!("no ring memory");
        };
        if let Err(e) = r.register() {
            return xtf_failure!("{} register: {e:?}", P::NAME);
        }
    }
    // Report before opening the control port: dom0 may destroy us as soon as it sees it.
    xtf_success!("ring registered, shared memory marked; waiting to be destroyed");
    report::result_now();
    if let Err(e) = open_control() {
        // Too late for our result: dom0 reports that our control port never appeared.
        println!("control port: {e:?}");
    }
    // Keep the ring (and everything else) until dom0 destroys us.
    core::mem::forget(ring);
    report::halt()
}

/// The domU dom0 destroys: registers a ring for the survivor, marks the shared memory, opens
/// its control port, reports, and waits.
pub fn victim(env: &Env<'_>) {
    match env.arg("ring") {
        Some("v4v") => victim_with::<V4v>(env, true),
        Some("argo") => victim_with::<Argo>(env, true),
        Some("none") => victim_with::<Argo>(env, false),
        _ => xtf_error!("needs ring=v4v|argo|none"),
    }
}

/// `dead_send`: what a send to the destroyed domain returns (None: no ring at all);
/// `unregister_after`: what unregistering our ring for it returns then — V4V's teardown
/// touches only the dying domain's own rings (Ok), Argo's also removes every ring another
/// domain registered for it as partner (argo_destroy's partner_rings_remove: ENOENT).
fn survivor_with<P: Proto>(
    env: &Env<'_>,
    dead_send: Option<Errno>,
    unregister_after: Option<Errno>,
) {
    // `port=none`: no static channel with the victim.
    let port = match env.arg("port") {
        Some("none") => Some(None),
        Some(v) => v.parse::<u32>().ok().map(Some),
        None => None,
    };
    let (Some(victim), Some(port)) = (domid_arg(env, "victim"), port) else {
        return xtf_error!("needs victim=D port=P|none [shm=GPA]");
    };
    let shm = hex_arg(env, "shm");
    if let Some(port) = port {
        match ev::status(DOMID_SELF, port) {
            Ok(st) if st.status == evtchnstat::INTERDOMAIN && st.remote_dom() == victim => {}
            other => return xtf_error!("static port {port}: {other:?}, want bound to d{victim}"),
        }
    }
    let ring = if dead_send.is_some() {
        let Some(r) = P::ring(RING_LEN, SURVIVOR_RING_PORT, victim) else {
            return xtf_error!("no ring memory");
        };
        if let Err(e) = r.register() {
            return xtf_failure!("{} register: {e:?}", P::NAME);
        }
        Some(r)
    } else {
        None
    };
    let ctl = match open_control() {
        Ok(p) => p,
        Err(e) => return xtf_error!("control port: {e:?}"),
    };
    // Send to the victim's ring as soon as it exists.
    let msg = [0x5au8; 32];
    let sent = wait_for(60, || {
        ring.as_ref()?;
        P::sendv(victim, VICTIM_RING_PORT, SURVIVOR_RING_PORT, &[&msg], 0).ok()
    });
    if ring.is_some() && sent.is_none() {
        return xtf_failure!("{} send to the victim never succeeded", P::NAME);
    }
    // The victim runs on its own vCPU and may not have reached its store yet (without a
    // ring nothing orders the two), so wait for the mark rather than read it once.
    if let Some(gpa) = shm {
        let w = shm_word(gpa);
        if wait_for(60, || (w.load(Ordering::Acquire) == VICTIM_MARK).then_some(())).is_none() {
            return xtf_failure!("the victim's mark is not in the shared memory");
        }
    }
    // Tell dom0: a second port unbound for it is the "sent" mark dom0 polls for.
    match ev::alloc_unbound(DOMID_SELF, super::DOM0) {
        Ok(p) if p == SENT_MARK_PORT => {}
        other => return xtf_error!("mark port: {other:?}, want {SENT_MARK_PORT}"),
    }
    if !wait_event(ctl, 90) {
        return xtf_failure!("dom0 never said the victim is destroyed");
    }
    // The static channel: unbound, for the dead domain; a send is dropped.
    if let Some(port) = port {
        match ev::status(DOMID_SELF, port) {
            Ok(st) if st.status == evtchnstat::UNBOUND && st.remote_dom() == victim => {}
            other => xtf_failure!(
                "static port {port} after the destroy: {other:?}, want UNBOUND for d{victim}"
            ),
        }
        if let Err(e) = ev::send(port) {
            xtf_failure!("send on the orphaned static port: {e:?}, want 0 (dropped)");
        }
    }
    if let (Some(ring), Some(dead_send)) = (&ring, dead_send) {
        match P::sendv(victim, VICTIM_RING_PORT, SURVIVOR_RING_PORT, &[&msg], 0) {
            Err(e) if e == dead_send => {}
            // Argo: a partner still dying (listed, its rings gone) refuses the connection;
            // -ESRCH once it has left the domain list. Which one depends on when the last
            // reference goes, not on the build.
            Err(Errno::ECONNREFUSED) if P::NAME == "argo" => {}
            other => {
                xtf_failure!("{} send to the dead domain: {other:?}, want {dead_send:?}", P::NAME)
            }
        }
        match (ring.unregister(), unregister_after) {
            (Ok(()), None) => {}
            (Err(e), Some(want)) if e == want => {}
            (got, want) => xtf_failure!(
                "unregistering our ring for the dead partner: {got:?}, want {want:?} (None: Ok)"
            ),
        }
    }
    // The shared memory is still there and still ours to use.
    let Some(gpa) = shm else {
        return xtf_success!();
    };
    let w = shm_word(gpa);
    if w.load(Ordering::Acquire) != VICTIM_MARK {
        xtf_failure!("the victim's mark is gone from the shared memory");
    }
    w.store(!VICTIM_MARK, Ordering::Release);
    if w.load(Ordering::Acquire) != !VICTIM_MARK {
        xtf_failure!("the shared memory does not keep what we write");
    }
    xtf_success!();
}

/// The domU that outlives the victim: checks what it sees of it before and after.
pub fn survivor(env: &Env<'_>) {
    match env.arg("ring") {
        Some("v4v") => survivor_with::<V4v>(env, Some(Errno::ECONNREFUSED), None),
        Some("argo") => survivor_with::<Argo>(env, Some(Errno::ESRCH), Some(Errno::ENOENT)),
        Some("none") => survivor_with::<Argo>(env, None, None),
        _ => xtf_error!("needs ring=v4v|argo|none"),
    }
}

xtf::register_test!(
    "dom0-destroy",
    "dom0: destroys a bound, ring-holding, shm-sharing domU (victim=D survivor=D)",
    destroy
);
xtf::register_test!(
    "dom0-victim",
    "domU: ring for the survivor, shm mark, control port; waits to be destroyed",
    victim
);
xtf::register_test!(
    "dom0-survivor",
    "domU: static channel, ring, sends and shm with the victim, before and after",
    survivor
);
