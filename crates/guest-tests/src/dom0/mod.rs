//! The `dom0` suite: our guest image booted as dom0 (privileged, no Linux) next to domUs
//! (ci/suites/dom0/). dom0 drives what only a control domain may do — EVTCHNOP status,
//! alloc_unbound and reset on another domain, domctl pause/destroy, VIRQ_DOM_EXC — while the
//! domUs check what they see of it. C Xen 4.17.5 is the oracle: every expectation here is what
//! the C build does.
//!
//! dom0 and a domU talk over one control channel: the domU allocates an unbound port for
//! dom0 (the first port it allocates, so 1: the suite's domUs run with
//! `xen,enhanced = "no-xenstore"`, and XSM SILO lets a domU talk to dom0); dom0 waits until
//! `EVTCHNOP_status` on that domU shows it, then binds to it. Events then go both ways:
//! pending bits polled in shared_info, no upcalls.
//!
//! Owns: the dom0 suite's test bodies. Trusts: xtf. Does not trust: Xen — every hypercall
//! result is checked against C's.

pub mod chaos;
pub mod destroy;
pub mod evtchn;
pub mod owner;

use xtf::abi::{DomId, Errno, EvtchnStatus, evtchnstat};
use xtf::guest::{evtchn as ev, shared_info, timer};

/// The port a domU's first `alloc_unbound` gets: its control channel to dom0.
pub const CONTROL_PORT: u32 = 1;
/// dom0's domid.
pub const DOM0: DomId = 0;

/// Polls `f` (yielding between tries) until it returns `Some` or `seconds` pass.
pub fn wait_for<T>(seconds: u64, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = timer::now() + seconds * timer::frequency();
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if timer::now() > end {
            return None;
        }
        xtf::guest::hypercall::yield_now();
    }
}

/// `EVTCHNOP_status` of `port` in domain `dom` (dom0 on another domain: the privileged path).
pub fn status(dom: DomId, port: u32) -> Result<EvtchnStatus, Errno> {
    ev::status(dom, port)
}

/// dom0: waits until domain `domid` has its control port unbound for dom0, binds to it and
/// returns dom0's local port.
pub fn connect(domid: DomId, seconds: u64) -> Result<u32, &'static str> {
    wait_for(seconds, || match status(domid, CONTROL_PORT) {
        Ok(st) if st.status == evtchnstat::UNBOUND && st.remote_dom() == DOM0 => Some(()),
        _ => None,
    })
    .ok_or("the domU's control port never appeared")?;
    let local = ev::bind_interdomain(domid, CONTROL_PORT).map_err(|_| "bind_interdomain failed")?;
    // Binding leaves the new local port pending (C's lost-notification fix-up): consume it.
    clear(local);
    Ok(local)
}

/// domU: allocates the control port for dom0; it must be [`CONTROL_PORT`].
pub fn open_control() -> Result<u32, Errno> {
    let port = ev::alloc_unbound(xtf::abi::DOMID_SELF, DOM0)?;
    if port != CONTROL_PORT {
        let _ = ev::close(port);
        return Err(Errno::EEXIST);
    }
    Ok(port)
}

/// Whether `port` is pending (shared_info), clearing it if so.
pub fn take(port: u32) -> bool {
    match shared_info::map() {
        Ok(si) if si.is_pending(port) => {
            si.clear_pending(port);
            true
        }
        _ => false,
    }
}

fn clear(port: u32) {
    if let Ok(si) = shared_info::map() {
        si.clear_pending(port);
    }
}

/// Waits up to `seconds` for an event on `port` (consumed).
pub fn wait_event(port: u32, seconds: u64) -> bool {
    wait_for(seconds, || take(port).then_some(())).is_some()
}
