//! Tests of the framework itself: one that passes, and one for each way a test can end, so
//! that whatever reads the console (ci/boot) can be checked against every result line.

use xtf::abi::{
    DOMID_SELF, DomId, Errno, EvtchnAllocUnbound, EvtchnClose, EvtchnStatus, evtchnstat,
};
use xtf::guest::{hypercall, mmu};
use xtf::{Env, println, xtf_error, xtf_failure, xtf_skip, xtf_success, xtf_warning};

/// Our domid, the cheap way Xen offers none: an unbound port for DOMID_SELF records the
/// remote domid resolved (evtchn_alloc_unbound), and EVTCHNOP_status reports it.
fn own_domid() -> Result<DomId, Errno> {
    let mut alloc = EvtchnAllocUnbound { dom: DOMID_SELF, remote_dom: DOMID_SELF, port: 0 };
    hypercall::event_channel_op(&mut alloc)?;
    let mut status = EvtchnStatus { dom: DOMID_SELF, port: alloc.port, ..Default::default() };
    let result = hypercall::event_channel_op(&mut status);
    let closed = hypercall::event_channel_op(&mut EvtchnClose { port: alloc.port });
    result?;
    closed?;
    if status.status != evtchnstat::UNBOUND {
        return Err(Errno::EINVAL);
    }
    Ok(status.u[0] as DomId)
}

xtf::register_test!("hello", "print Xen's version and our domid, succeed", hello);
/// Prints a greeting with Xen's version and our domid; succeeds unless xen_version fails or
/// xtf's own set-up (MMU and caches on) is not in force.
pub fn hello(env: &Env<'_>) {
    if !mmu::is_set_up() {
        xtf_error!(
            "SCTLR_EL1 {:#x}: MMU/caches not set up as xtf's entry code should",
            mmu::sctlr_el1()
        );
    }
    let (major, minor) = match hypercall::xen_version() {
        Ok(v) => v,
        Err(e) => {
            xtf_failure!("XENVER_version returned {e}");
            return;
        }
    };
    let extra = hypercall::xen_extraversion().unwrap_or([0; 16]);
    let extra_len = extra.iter().position(|&b| b == 0).unwrap_or(extra.len());
    let extra = core::str::from_utf8(&extra[..extra_len]).unwrap_or("?");
    println!("Hello from an oxidised guest: Xen {major}.{minor}{extra}");
    match own_domid() {
        Ok(domid) => println!("I am d{domid}; bootargs \"{}\"", env.bootargs),
        Err(e) => xtf_warning!("domid unknown: event channel round trip returned {e}"),
    }
    xtf_success!();
}

xtf::register_test!("selftest-fail", "report SUCCESS, a warning, then FAILURE: ends FAILURE", fail);
/// Ends FAILURE, whatever came before: the worst status wins.
pub fn fail(_: &Env<'_>) {
    xtf_success!("selftest: SUCCESS first");
    xtf_warning!("selftest: then a warning");
    xtf_failure!("selftest: then FAILURE on purpose");
    xtf_success!("selftest: a later SUCCESS must not hide it");
}

xtf::register_test!("selftest-skip", "report SKIP, then SUCCESS: ends SKIP", skip);
/// Ends SKIP.
pub fn skip(_: &Env<'_>) {
    xtf_skip!("selftest: SKIP on purpose");
    xtf_success!("selftest: a later SUCCESS must not hide it");
}

xtf::register_test!(
    "selftest-warning",
    "report a warning and SUCCESS: ends SUCCESS with warnings",
    warning
);
/// Ends "SUCCESS with warnings".
pub fn warning(_: &Env<'_>) {
    xtf_warning!("selftest: a warning on purpose");
    xtf_success!();
}

xtf::register_test!(
    "selftest-fault",
    "read an unmapped address: ends ERROR with the syndrome",
    fault
);
/// Reads an address the identity map leaves unmapped; the vector reports it as ERROR.
pub fn fault(_: &Env<'_>) {
    println!("selftest: reading {:#x}: expect a level 1 translation fault", mmu::UNMAPPED_VA);
    let value: u64;
    // SAFETY: the load faults (UNMAPPED_VA has no translation) and xtf's exception handler
    // never returns, so no value is produced and no Rust-visible state changes. Were it to
    // succeed, it reads a register's worth from memory Rust does not own, into a register.
    unsafe {
        core::arch::asm!(
            "ldr {value}, [{addr}]",
            addr = in(reg) mmu::UNMAPPED_VA,
            value = out(reg) value,
            options(nostack, readonly),
        );
    }
    xtf_failure!("selftest: read {:#x} from an unmapped address without a fault", value);
}

xtf::register_test!("selftest-panic", "panic: ends ERROR with the panic message", panic);
/// Panics: the panic handler reports ERROR with the message.
pub fn panic(env: &Env<'_>) {
    panic!("selftest: panic on purpose in test {}", env.name);
}
