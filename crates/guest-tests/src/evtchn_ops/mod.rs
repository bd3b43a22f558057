//! The event channel conformance cases that need no interrupts: every EVTCHNOP under the
//! 2-level and FIFO ABIs, their exact errnos and the state they leave (status fields,
//! shared_info bits, FIFO words and queue heads), limits, bad arguments, XSM policies and the
//! event channel XSAs. The C build of Xen 4.17.5 is the oracle: every expectation here is what
//! its common/event_channel.c, event_2l.c and event_fifo.c do (cited next to the check).
//!
//! Interrupts stay masked throughout (PSTATE.I, GIC untouched): Xen's upcall shows only as
//! `evtchn_upcall_pending` / `evtchn_pending_sel` in vcpu_info and the FIFO `ready` word.
//!
//! Domain facts the cases rely on (dom0less domU on arm64, Xen 4.17.5): `max_evtchn_port` is
//! 1023 (create_domUs), port 0 is reserved, ports are allocated lowest-free first, and a
//! fresh domain has no port open unless its config gives it static event channels.
//!
//! Command-line keys: `peer=N` (the other domain's domid in two-domain cases), `xsm=dummy` or
//! `xsm=silo` (the policy the config boots Xen with), `abi=fifo` (two-domain cases: run
//! under the FIFO ABI rather than 2L).

use core::fmt;
use xtf::expect_eq;

use xtf::abi::{DOMID_SELF, DomId, Errno, EventWord, EventWordFlags, EvtchnStatus};
use xtf::guest::fifo::Fifo;
use xtf::guest::shared_info::{self, SharedInfo};
use xtf::guest::{evtchn, hypercall};
use xtf::{Env, xtf_error, xtf_failure};

pub mod basic;
pub mod fifo;
pub mod limits;
pub mod reset;
pub mod xsa;
pub mod xsm;

/// Ends the test with ERROR: a set-up step the case relies on did not work.
pub fn fatal(what: fmt::Arguments<'_>) -> ! {
    xtf_error!("{what}");
    xtf::exit()
}

/// The value of a `Result` the case cannot go on without, or the end of the test (FAILURE:
/// Xen refused an operation that must work).
pub fn must<T>(r: Result<T, Errno>, what: fmt::Arguments<'_>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => {
            xtf_failure!("{what}: expected success got {e}");
            xtf::exit()
        }
    }
}

/// shared_info, mapped (or the end of the test).
pub fn shared_info() -> &'static SharedInfo {
    match shared_info::map() {
        Ok(si) => si,
        Err(e) => fatal(format_args!("XENMEM_add_to_physmap(shared_info) returned {e}")),
    }
}

/// Our domid.
pub fn own_domid() -> DomId {
    match evtchn::own_domid() {
        Ok(d) => d,
        Err(e) => fatal(format_args!("own domid: alloc_unbound/status/close returned {e}")),
    }
}

/// The XSM policy Xen was booted with, as the config says (`xsm=dummy|silo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// `xsm=dummy`: domUs may make channels between themselves.
    Dummy,
    /// arm's default (CONFIG_XSM_SILO_DEFAULT): guest-made channels between two domUs are
    /// denied with -EPERM (xsm/silo.c), a remote domid that does not exist is -ESRCH.
    Silo,
}

pub fn policy(env: &Env<'_>) -> Policy {
    match env.arg("xsm") {
        Some("dummy") => Policy::Dummy,
        Some("silo") => Policy::Silo,
        _ => fatal(format_args!("this case needs xsm=dummy or xsm=silo on its command line")),
    }
}

/// The status of one of our ports (or the end of the test).
pub fn status(port: u32) -> EvtchnStatus {
    must(evtchn::status(DOMID_SELF, port), format_args!("EVTCHNOP_status(self, {port})"))
}

/// Checks status, vcpu and both union words of our `port`.
pub fn check_status(port: u32, want_status: u32, want_vcpu: u32, want_u: [u32; 2]) -> bool {
    let st = status(port);
    let ok = expect_eq!(st.status, want_status, "status(port {port}).status");
    let ok = expect_eq!(st.vcpu, want_vcpu, "status(port {port}).vcpu") && ok;
    expect_eq!(st.u, want_u, "status(port {port}).u words") && ok
}

/// The generic timer: CNTVCT_EL0 and CNTFRQ_EL0 (readable at EL1, no set-up needed).
fn counter() -> (u64, u64) {
    let (cnt, frq): (u64, u64);
    // SAFETY: reading the virtual counter and its frequency has no side effect; the ISB
    // orders the counter read after earlier instructions.
    unsafe {
        core::arch::asm!(
            "isb",
            "mrs {c}, cntvct_el0",
            "mrs {f}, cntfrq_el0",
            c = out(reg) cnt,
            f = out(reg) frq,
            options(nomem, nostack),
        );
    }
    (cnt, frq)
}

/// A point in time `ms` milliseconds from now.
#[derive(Clone, Copy)]
pub struct Deadline(u64);

impl Deadline {
    pub fn after_ms(ms: u64) -> Self {
        let (now, frq) = counter();
        Deadline(now + frq / 1000 * ms)
    }

    pub fn passed(&self) -> bool {
        counter().0 >= self.0
    }
}

/// Yields until `cond` holds or `ms` milliseconds pass; returns whether it held.
pub fn wait_until(ms: u64, mut cond: impl FnMut() -> bool) -> bool {
    let d = Deadline::after_ms(ms);
    loop {
        if cond() {
            return true;
        }
        if d.passed() {
            return cond();
        }
        hypercall::yield_now();
    }
}

/// How long a two-domain case waits for its peer at each step.
pub const PEER_TIMEOUT_MS: u64 = 20_000;

/// Where a case reads and consumes events: the 2L bitmaps or the FIFO event words.
#[derive(Clone, Copy)]
pub enum Events<'a> {
    TwoLevel(&'a SharedInfo),
    Fifo(&'a Fifo),
}

impl Events<'_> {
    /// Whether `port` has an event: its 2L pending bit, or PENDING in its FIFO word.
    pub fn is_pending(&self, port: u32) -> bool {
        match self {
            Events::TwoLevel(si) => si.is_pending(port),
            Events::Fifo(f) => f.word(port).contains(EventWordFlags::PENDING),
        }
    }

    /// Consumes `port`'s event: clears the 2L bit, or PENDING and LINKED (with LINK) in its
    /// word, as a FIFO guest does once it has taken the event off its queue.
    pub fn consume(&self, port: u32) {
        match self {
            Events::TwoLevel(si) => si.clear_pending(port),
            Events::Fifo(f) => f.set_word(port, EventWord(0)),
        }
    }
}

/// `abi=fifo` on the command line: the case switches to FIFO first (vCPU 0's control block
/// and one array page) and reads events there.
pub fn wants_fifo(env: &Env<'_>) -> bool {
    match env.arg("abi") {
        None | Some("2l") => false,
        Some("fifo") => true,
        Some(other) => fatal(format_args!("abi={other}: expected 2l or fifo")),
    }
}

/// A notification channel between two domains' cases: waits consume the event.
pub struct Signal<'a> {
    pub ev: Events<'a>,
    pub port: u32,
}

impl Signal<'_> {
    /// Sends on the port (or the end of the test).
    pub fn notify(&self, step: &str) {
        must(evtchn::send(self.port), format_args!("signal '{step}': send({})", self.port));
    }

    /// Waits for the port to become pending, then consumes the event (or the end of the
    /// test).
    pub fn wait(&self, step: &str) {
        if !wait_until(PEER_TIMEOUT_MS, || self.ev.is_pending(self.port)) {
            fatal(format_args!(
                "peer did not signal '{step}' on port {} within {} s",
                self.port,
                PEER_TIMEOUT_MS / 1000
            ));
        }
        self.ev.consume(self.port);
    }
}
