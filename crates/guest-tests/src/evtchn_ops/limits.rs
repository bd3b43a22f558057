//! Limits and bad arguments: the port space of a dom0less domU (max_evtchn_port 1023, ports
//! valid in whole buckets), exhaustion, argument structures at addresses that are not guest
//! RAM, sub-op numbers Xen does not know, and EVTCHNOP_bind_pirq on arm.

use xtf::abi::{DOMID_SELF, Errno, EvtchnStatus, evtchnop, evtchnstat as st, virq};
use xtf::guest::evtchn::{self, ALL_OPS, raw::BadAddress};
use xtf::{Env, println, xtf_success};

use super::{check_status, fatal, must, own_domid, shared_info};
use xtf::expect_eq;

/// Ports per bucket of `struct evtchn` (EVTCHNS_PER_BUCKET = PAGE_SIZE /
/// next_power_of_2(sizeof(struct evtchn)); the structure is 64-byte aligned and 64 bytes in
/// a 4.17 arm64 build): a domain's valid ports grow in steps of this.
pub const EVTCHNS_PER_BUCKET: u32 = 64;
/// create_domUs gives every dom0less domU max_evtchn_port = 1023.
pub const MAX_PORT: u32 = 1023;

/// Whether `port` is valid (inside an allocated bucket): status says closed rather than
/// -EINVAL.
fn is_valid(port: u32) -> bool {
    evtchn::status(DOMID_SELF, port).is_ok()
}

/// The first port that is not valid, searched from 1.
fn first_invalid() -> u32 {
    (1..=4096).find(|&p| !is_valid(p)).unwrap_or(u32::MAX)
}

xtf::register_test!(
    "evtchn-port-space",
    "valid ports grow by whole buckets and never shrink",
    port_space
);
/// Valid ports come in whole buckets: one at first, a second once a port of it is
/// allocated, and validity never shrinks when ports close.
pub fn port_space(_: &Env<'_>) {
    expect_eq!(first_invalid(), EVTCHNS_PER_BUCKET, "valid ports of a fresh domain");
    let mut last = 0;
    for i in 0..EVTCHNS_PER_BUCKET {
        last = must(evtchn::bind_ipi(0), format_args!("bind_ipi #{i}"));
    }
    // Port 0 is reserved, so 64 ports reach the second bucket.
    expect_eq!(last, EVTCHNS_PER_BUCKET, "64th port");
    expect_eq!(first_invalid(), 2 * EVTCHNS_PER_BUCKET, "valid ports with port 64 in use");
    check_status(EVTCHNS_PER_BUCKET + 1, st::CLOSED, 0, [0, 0]);
    expect_eq!(evtchn::close(last), Ok(()), "close(64)");
    expect_eq!(first_invalid(), 2 * EVTCHNS_PER_BUCKET, "valid ports after closing 64");
    xtf_success!();
}

xtf::register_test!(
    "evtchn-exhaust-2l",
    "1023 ports then ENOSPC from every way of getting a port",
    exhaust_2l
);
/// Exhaustion: allocation goes 1, 2, … 1023 (max_evtchn_port of a dom0less domU, not the
/// 2L ABI's 4096), then every way of getting a port fails with -ENOSPC; ports up to 1023 are
/// valid, 1024 is not; a port closed anywhere is the next one handed out, and ports closed in
/// any order come back lowest first.
pub fn exhaust_2l(_: &Env<'_>) {
    for want in 1..=MAX_PORT {
        match evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF) {
            Ok(p) if p == want => {}
            other => {
                expect_eq!(other, Ok(want), "alloc_unbound #{want}");
                xtf::exit();
            }
        }
    }
    println!("allocated ports 1..={MAX_PORT}");
    expect_eq!(
        evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF),
        Err(Errno::ENOSPC),
        "alloc past 1023"
    );
    expect_eq!(evtchn::bind_ipi(0), Err(Errno::ENOSPC), "bind_ipi when full");
    expect_eq!(evtchn::bind_virq(virq::DOM_EXC, 0), Err(Errno::ENOSPC), "bind_virq when full");
    expect_eq!(
        evtchn::bind_interdomain(DOMID_SELF, 5),
        Err(Errno::ENOSPC),
        "bind_interdomain full"
    );
    expect_eq!(evtchn::bind_pirq(0, 0), Err(Errno::ENOSPC), "bind_pirq when full");
    expect_eq!(evtchn::own_domid(), Err(Errno::ENOSPC), "own_domid when full");
    // The failed bind_virq left the VIRQ free.
    expect_eq!(evtchn::close(700), Ok(()), "close(700)");
    expect_eq!(evtchn::bind_virq(virq::DOM_EXC, 0), Ok(700), "bind_virq into the hole");
    check_status(700, st::VIRQ, 0, [virq::DOM_EXC, 0]);
    check_status(MAX_PORT, st::UNBOUND, 0, [u32::from(own_domid_full()), 0]);
    expect_eq!(
        evtchn::status(DOMID_SELF, MAX_PORT + 1).map(|_| ()),
        Err(Errno::EINVAL),
        "status(1024)"
    );
    expect_eq!(evtchn::close(MAX_PORT + 1), Err(Errno::EINVAL), "close(1024)");
    expect_eq!(evtchn::close(MAX_PORT), Ok(()), "close(1023)");
    expect_eq!(evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF), Ok(MAX_PORT), "realloc 1023");
    // Holes closed in any order come back lowest first (the Rust build starts its search at
    // a free-port hint, C walks from 0: both must hand out these ports).
    for p in [900, 3, 512, 65, 64, 1] {
        expect_eq!(evtchn::close(p), Ok(()), "close({p})");
    }
    for want in [1, 3, 64] {
        expect_eq!(evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF), Ok(want), "refill {want}");
    }
    expect_eq!(evtchn::close(2), Ok(()), "close(2) below the ports just handed out");
    for want in [2, 65, 512, 900] {
        expect_eq!(evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF), Ok(want), "refill {want}");
    }
    expect_eq!(evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF), Err(Errno::ENOSPC), "full again");
    xtf_success!();
}

/// Our domid when no port can be allocated: the status of port 1 (unbound for ourselves).
fn own_domid_full() -> u16 {
    let s = must(evtchn::status(DOMID_SELF, 1), format_args!("status(1)"));
    if s.status != st::UNBOUND {
        fatal(format_args!("port 1 is not unbound"));
    }
    s.remote_dom()
}

xtf::register_test!(
    "evtchn-bad-pointers",
    "EFAULT for argument structures outside guest RAM, every sub-op",
    bad_pointers
);
/// Argument structures Xen cannot read: every sub-op returns -EFAULT (copy_from_guest
/// fails first) for an address not in the guest's page tables, a null pointer, an address
/// the guest maps but that has no RAM behind it, MMIO, and a structure that runs off the end
/// of RAM; nothing is allocated. Unknown sub-ops are -ENOSYS even with a bad pointer (the
/// sub-op is decoded before anything is copied).
pub fn bad_pointers(env: &Env<'_>) {
    let ram_end = ram_end(env);
    // The last 4 bytes of RAM: every structure but close/send/unmask (4 bytes) and reset
    // (2) runs past the end. Nothing of ours lives there (the DTB sits below, in the last
    // 2 MiB, and is far smaller).
    // SAFETY: the last 64 bytes of RAM hold no Rust object: the image and its .bss sit at
    // the start of RAM, the DTB at the start of the last 2 MiB.
    let edge = unsafe { BadAddress::unowned(ram_end - 4) };
    for (cmd, name) in ALL_OPS {
        for (addr, what) in [
            (BadAddress::UNMAPPED, "unmapped VA"),
            (BadAddress::NULL, "NULL"),
            (BadAddress::UNBACKED, "VA without RAM"),
            (BadAddress::MMIO, "MMIO"),
        ] {
            expect_eq!(
                evtchn::raw::op_at(cmd, addr),
                Err(Errno::EFAULT),
                "{name} with its argument at {:#x} ({what})",
                addr.addr()
            );
        }
        let fits = matches!(
            cmd,
            evtchnop::CLOSE
                | evtchnop::SEND
                | evtchnop::UNMASK
                | evtchnop::RESET
                | evtchnop::RESET_CONT
        );
        if !fits {
            expect_eq!(
                evtchn::raw::op_at(cmd, edge),
                Err(Errno::EFAULT),
                "{name} with its argument across the end of RAM at {:#x}",
                edge.addr()
            );
        }
    }
    for cmd in [evtchnop::FIRST_UNKNOWN, 100, u32::MAX] {
        expect_eq!(
            evtchn::raw::op_at(cmd, BadAddress::UNMAPPED),
            Err(Errno::ENOSYS),
            "unknown sub-op {cmd:#x} with an unmapped argument"
        );
    }
    expect_eq!(evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF), Ok(1), "nothing was allocated");
    xtf_success!();
}

/// The end of the domain's first RAM bank, from the DTB's /memory node.
fn ram_end(env: &Env<'_>) -> u64 {
    let fdt = env.fdt.as_ref().unwrap_or_else(|| fatal(format_args!("no DTB")));
    let root = fdt.root().unwrap_or_else(|| fatal(format_args!("DTB has no root")));
    for node in root.children() {
        if node.name() == "memory" || node.name().starts_with("memory@") {
            if let Some(reg) = node.property("reg") {
                let mut c = reg.cells();
                if let (Some(base), Some(size)) = (c.next_n(2), c.next_n(2)) {
                    return base + size;
                }
            }
        }
    }
    fatal(format_args!("no /memory reg in the DTB"))
}

xtf::register_test!(
    "evtchn-unknown-ops",
    "unknown sub-ops: ENOSYS; the sub-op is an int",
    unknown_ops
);
/// Sub-op numbers Xen 4.17 does not have (14 is reset_cont): -ENOSYS, argument untouched.
/// The sub-op is an `int`: only the low 32 bits of x0 count.
pub fn unknown_ops(_: &Env<'_>) {
    for cmd in [evtchnop::FIRST_UNKNOWN, 16, 100, 0x7fff_ffff, 0x8000_0000, u32::MAX] {
        let (r, buf) = evtchn::raw::op_any(cmd);
        expect_eq!(r, Err(Errno::ENOSYS), "sub-op {cmd:#x}");
        expect_eq!(buf.iter().all(|&b| b == 0), true, "sub-op {cmd:#x} left its argument alone");
    }
    // x0 = 1 << 32 | EVTCHNOP_status: Xen reads the int 5, a status of port 0.
    let mut s = EvtchnStatus { dom: DOMID_SELF, port: 0, status: 0x77, vcpu: 0x77, u: [0; 2] };
    let r = evtchn::raw::op_x0((1 << 32) | u64::from(evtchnop::STATUS), &mut s);
    expect_eq!((r, s.status, s.vcpu), (Ok(0), st::CLOSED, 0), "x0 = 1<<32 | EVTCHNOP_status");
    xtf_success!();
}

xtf::register_test!(
    "evtchn-bind-pirq",
    "bind_pirq on an arm domU: ENOMEM / EINVAL, no port leaked",
    bind_pirq
);
/// EVTCHNOP_bind_pirq on an arm domU: a PIRQ below nr_pirqs (1024 on arm) gets a port
/// allocated, then -ENOMEM because arm has no struct pirq (alloc_pirq_struct returns NULL);
/// the port is released. 1024 and above: -EINVAL.
pub fn bind_pirq(_: &Env<'_>) {
    let _ = own_domid();
    for pirq in [0u32, 1, 32, 1023] {
        expect_eq!(evtchn::bind_pirq(pirq, 0), Err(Errno::ENOMEM), "bind_pirq({pirq})");
        expect_eq!(
            evtchn::bind_pirq(pirq, xtf::abi::BIND_PIRQ_WILL_SHARE),
            Err(Errno::ENOMEM),
            "bind_pirq({pirq}, WILL_SHARE)"
        );
    }
    for pirq in [1024u32, 4096, 0x8000_0000, u32::MAX] {
        expect_eq!(evtchn::bind_pirq(pirq, 0), Err(Errno::EINVAL), "bind_pirq({pirq:#x})");
    }
    expect_eq!(evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF), Ok(1), "no port leaked");
    check_status(2, st::CLOSED, 0, [0, 0]);
    let _ = shared_info();
    xtf_success!();
}
