//! Reproducers of the event channel XSAs that apply to an arm64 domU, one case each: the
//! guest does what the advisory's attacker did and checks Xen answers as a fixed Xen does
//! (exact errnos, state intact, Xen still alive to answer).
//!
//! XSA-295 and XSA-505 run vCPU 1 (xtf's smp module) against vCPU 0. XSA-340/358/359 are
//! races on missing barriers that no guest can force; they are covered as functional guards
//! (the ordering-sensitive sequences done back to back on one vCPU). XSA-505 predates its fix
//! in 4.17.5 and crashes the C build (its config is `#@ xfail c`).

use core::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};

use xtf::abi::{
    self, DOMID_SELF, Errno, EventWordFlags as F, SchedPoll, evtchnstat as st, fifo, virq,
};
use xtf::guest::evtchn::{self, raw::BadAddress};
use xtf::guest::fifo::{Fifo, array_gfn};
use xtf::guest::{hypercall, smp, timer};
use xtf::{Env, println, xtf_success, xtf_warning};

use super::limits::{EVTCHNS_PER_BUCKET, MAX_PORT};
use super::{Deadline, Policy, check_status, fatal, must, own_domid, policy, shared_info};
use xtf::expect_eq;

const PL: u32 = F::PENDING.bits() | F::LINKED.bits();

xtf::register_test!("evtchn-xsa-47", "XSA-47: XSM denial that allocated a bucket", xsa_47);
/// XSA-47 (dangling bucket pointer after an XSM denial in alloc_unbound). Applies: SILO's
/// denial of a channel to another domU is the same error path. With bucket 0 full, a
/// denied alloc_unbound(self, peer) allocates bucket 1 for port 64, is refused (-EPERM) and
/// frees the port; the bucket stays (ports 64..127 valid, closed) and is fully usable.
pub fn xsa_47(env: &Env<'_>) {
    if policy(env) != Policy::Silo {
        fatal(format_args!("XSA-47's denial path needs SILO (xsm=silo)"));
    }
    let si = shared_info();
    let peer = env.need_peer();
    for i in 1..EVTCHNS_PER_BUCKET {
        must(evtchn::bind_ipi(0), format_args!("bind_ipi #{i}"));
    }
    expect_eq!(evtchn::status(DOMID_SELF, 64).map(|_| ()), Err(Errno::EINVAL), "status(64) before");
    for i in 0..3 {
        expect_eq!(
            evtchn::alloc_unbound(DOMID_SELF, peer),
            Err(Errno::EPERM),
            "denied alloc_unbound(self, d{peer}) #{i} needing a new bucket"
        );
    }
    check_status(64, st::CLOSED, 0, [0, 0]);
    check_status(127, st::CLOSED, 0, [0, 0]);
    expect_eq!(evtchn::status(DOMID_SELF, 128).map(|_| ()), Err(Errno::EINVAL), "status(128)");
    let me = own_domid();
    let p = must(evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF), format_args!("alloc"));
    expect_eq!(p, 64, "port in the bucket the denial left");
    check_status(64, st::UNBOUND, 0, [u32::from(me), 0]);
    expect_eq!(evtchn::close(64), Ok(()), "close(64)");
    let i = must(evtchn::bind_ipi(0), format_args!("bind_ipi"));
    si.clear_all_pending();
    expect_eq!((i, evtchn::send(i), si.is_pending(i)), (64, Ok(()), true), "IPI on port 64 works");
    xtf_success!();
}

xtf::register_test!(
    "evtchn-xsa-107",
    "XSA-107: FIFO event for a vCPU without a control block",
    xsa_107
);
/// XSA-107 (FIFO: an event for a vCPU without a control block). Applies (FIFO on arm).
/// With only vCPU 0's block set up, an event for vCPU 1 is dropped: not even PENDING, no
/// queue touched, no crash; once vCPU 1 has a block its events land in vCPU 1's queues only.
pub fn xsa_107(_: &Env<'_>) {
    let f = Fifo::new();
    must(f.init_control(0, 0), format_args!("init_control(vcpu 0)"));
    must(f.expand(), format_args!("expand_array"));
    let i1 = must(evtchn::bind_ipi(1), format_args!("bind_ipi(vcpu 1)"));
    let u = must(evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF), format_args!("alloc"));
    must(evtchn::bind_vcpu(u, 1), format_args!("bind_vcpu(u, 1)"));
    let l = must(evtchn::bind_interdomain(DOMID_SELF, u), format_args!("bind loopback"));
    let cb0 = f.control(0).unwrap();
    cb0.clear();
    f.clear_flags(l, F::PENDING | F::LINKED);
    expect_eq!(evtchn::send(i1), Ok(()), "send(IPI for vcpu 1 without a control block)");
    expect_eq!(evtchn::send(l), Ok(()), "send(loopback to u on vcpu 1)");
    expect_eq!((f.word(i1).0, f.word(u).0), (0, 0), "words: events dropped, not even PENDING");
    expect_eq!((cb0.ready(), cb0.head(7)), (0, 0), "vcpu 0's queues untouched");

    must(f.init_control(1, 0), format_args!("init_control(vcpu 1)"));
    expect_eq!(evtchn::send(i1), Ok(()), "send(i1) with vcpu 1's block");
    expect_eq!(evtchn::send(l), Ok(()), "send(l) with vcpu 1's block");
    let cb1 = f.control(1).unwrap();
    expect_eq!((f.word(i1).0, f.word(u).0), (PL | u, PL), "words queued on vcpu 1");
    expect_eq!((cb1.ready(), cb1.head(7)), (1 << 7, i1), "vcpu 1's queue 7");
    expect_eq!((cb0.ready(), cb0.head(7)), (0, 0), "vcpu 0's queues still untouched");
    xtf_success!();
}

xtf::register_test!("evtchn-xsa-188", "XSA-188: expand_array after a failed init_control", xsa_188);
/// XSA-188 (init_control failing after the event array was set up left a freed pointer that
/// expand_array used). Applies. A failed first init_control (bad frame) leaves the domain
/// on 2L: expand_array -EOPNOTSUPP, set_priority -ENOSYS, 2L delivery working; a later good
/// init_control works; a failure for a second vCPU leaves the first one's FIFO working.
pub fn xsa_188(_: &Env<'_>) {
    let si = shared_info();
    let f = Fifo::new();
    let p = must(evtchn::bind_ipi(0), format_args!("bind_ipi"));
    for gfn in [BadAddress::UNBACKED.addr() >> 12, 0, u64::MAX] {
        expect_eq!(evtchn::init_control(gfn, 0, 0), Err(Errno::EINVAL), "init_control({gfn:#x})");
        expect_eq!(
            evtchn::expand_array(array_gfn(0)),
            Err(Errno::EOPNOTSUPP),
            "expand_array after"
        );
        expect_eq!(evtchn::set_priority(p, 3), Err(Errno::ENOSYS), "set_priority after");
    }
    si.clear_all_pending();
    must(evtchn::send(p), format_args!("send under 2L"));
    expect_eq!(si.is_pending(p), true, "2L delivery after failed init_control");
    si.clear_pending(p);

    expect_eq!(f.init_control(0, 0), Ok(17), "good init_control");
    expect_eq!(evtchn::init_control(0, 0, 1), Err(Errno::EINVAL), "init_control(vcpu 1, gfn 0)");
    expect_eq!(f.expand(), Ok(()), "expand_array after vcpu 1's failure");
    expect_eq!(f.expand(), Ok(()), "second page");
    must(evtchn::send(p), format_args!("send under FIFO"));
    expect_eq!((f.word(p).0, f.control(0).unwrap().head(7)), (PL, p), "queued on vcpu 0");
    expect_eq!(f.init_control(1, 0), Ok(17), "vcpu 1 after its failure");
    xtf_success!();
}

/// SCHEDOP_poll over `ports`.
fn poll(ports: &[u32], timeout: u64) -> Result<u64, Errno> {
    poll_raw(ports.as_ptr() as u64, ports.len() as u32, timeout)
}

fn poll_raw(ports: u64, nr_ports: u32, timeout: u64) -> Result<u64, Errno> {
    let arg = SchedPoll { ports, nr_ports, timeout };
    let args = [abi::SCHEDOP_POLL, &arg as *const SchedPoll as u64, 0, 0, 0];
    // SAFETY: SCHEDOP_poll reads one struct sched_poll (layout checked in abi) and nr_ports
    // ports at `ports`: callers pass their own slice or a BadAddress; it writes nothing.
    Errno::from_ret(unsafe { hypercall::hypercall(abi::nr::SCHED_OP, args) })
}

xtf::register_test!("evtchn-xsa-221", "XSA-221: SCHEDOP_poll on ports without a bucket", xsa_221);
/// XSA-221 (SCHEDOP_poll on a port whose bucket was never allocated). Applies. Polling a
/// port past the valid ones is -EINVAL (also after a bound, idle port earlier in the list,
/// and under FIFO); so is a valid port not in use (evtchn_port_poll: not "usable"); more than
/// 128 ports -EINVAL; a bad array -EFAULT; a pending port returns 0 at once (interrupts are
/// masked, so Xen looks at the ports).
pub fn xsa_221(_: &Env<'_>) {
    let si = shared_info();
    let p = must(evtchn::bind_ipi(0), format_args!("bind_ipi"));
    for port in [EVTCHNS_PER_BUCKET, 100, 500, MAX_PORT, 1024, 4096, u32::MAX] {
        expect_eq!(poll(&[port], 0), Err(Errno::EINVAL), "poll([{port}]) outside every bucket");
    }
    let idle = must(evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF), format_args!("alloc"));
    expect_eq!(poll(&[idle, 500], 0), Err(Errno::EINVAL), "poll([idle unbound, 500])");
    expect_eq!(poll(&[5], 0), Err(Errno::EINVAL), "poll([5]): valid but free");
    expect_eq!(poll(&[0], 0), Err(Errno::EINVAL), "poll([0]): reserved");
    expect_eq!(poll(&[p; 129], 0), Err(Errno::EINVAL), "poll of 129 ports");
    expect_eq!(poll_raw(BadAddress::UNMAPPED.addr(), 1, 0), Err(Errno::EFAULT), "poll(bad array)");
    si.clear_all_pending();
    must(evtchn::send(p), format_args!("send(p)"));
    expect_eq!(poll(&[500, p], 0), Err(Errno::EINVAL), "poll([500, pending]): 500 first");
    expect_eq!(poll(&[p], 0), Ok(0), "poll([pending]) returns at once");
    expect_eq!(poll(&[idle, p], 0), Ok(0), "poll([idle, pending])");
    expect_eq!(poll(&[5, p], 0), Err(Errno::EINVAL), "poll([free, pending]): the free port first");

    let f = Fifo::new();
    must(f.init_control(0, 0), format_args!("init_control"));
    must(f.expand(), format_args!("expand_array"));
    for port in [100, 1024, 4096, fifo::NR_CHANNELS - 1] {
        expect_eq!(poll(&[port], 0), Err(Errno::EINVAL), "FIFO: poll([{port}])");
    }
    must(evtchn::send(p), format_args!("send(p) under FIFO"));
    expect_eq!(f.word(p).0, PL, "p queued");
    expect_eq!(poll(&[p], 0), Ok(0), "FIFO: poll([pending])");
    xtf_success!();
}

/// Every port-taking operation on `port`, expecting -EINVAL from each (bind_interdomain:
/// `bind_err`, as it allocates its local port first).
fn all_refuse(port: u32, bind_err: Errno, what: &str) {
    expect_eq!(evtchn::send(port), Err(Errno::EINVAL), "{what}: send({port})");
    expect_eq!(evtchn::close(port), Err(Errno::EINVAL), "{what}: close({port})");
    expect_eq!(evtchn::unmask(port), Err(Errno::EINVAL), "{what}: unmask({port})");
    expect_eq!(evtchn::bind_vcpu(port, 0), Err(Errno::EINVAL), "{what}: bind_vcpu({port})");
    expect_eq!(evtchn::set_priority(port, 0), Err(Errno::EINVAL), "{what}: set_priority({port})");
    expect_eq!(
        evtchn::status(DOMID_SELF, port).map(|_| ()),
        Err(Errno::EINVAL),
        "{what}: status({port})"
    );
    expect_eq!(evtchn::bind_interdomain(DOMID_SELF, port), Err(bind_err), "{what}: bind({port})");
}

xtf::register_test!("evtchn-xsa-317", "XSA-317: FIFO ports above the allocated buckets", xsa_317);
/// XSA-317 (FIFO ports above the allocated buckets reached a NULL bucket). Applies in part:
/// a dom0less domU cannot go past port 1023, but with the whole FIFO array (131072 words)
/// every port between the last valid bucket and EVTCHN_FIFO_NR_CHANNELS must be refused with
/// -EINVAL by every operation, with a few ports or all 1023 allocated.
pub fn xsa_317(_: &Env<'_>) {
    let f = Fifo::new();
    must(f.init_control(0, 0), format_args!("init_control"));
    for i in 0..fifo::MAX_ARRAY_PAGES {
        must(f.expand(), format_args!("expand_array page {i}"));
    }
    let beyond = [64, 65, 1023, 1024, 4095, 4096, 4097, 65536, 131071, 131072, u32::MAX];
    must(evtchn::bind_ipi(0), format_args!("bind_ipi"));
    for port in beyond {
        all_refuse(port, Errno::EINVAL, "few ports");
    }
    for want in 2..=MAX_PORT {
        match evtchn::bind_ipi(0) {
            Ok(p) if p == want => {}
            other => {
                expect_eq!(other, Ok(want), "bind_ipi #{want}");
                xtf::exit();
            }
        }
    }
    for port in &beyond[3..] {
        all_refuse(*port, Errno::ENOSPC, "1023 ports");
    }
    must(evtchn::send(MAX_PORT), format_args!("send(1023)"));
    expect_eq!(f.word(MAX_PORT).0, PL, "port 1023 queued");
    xtf_success!();
}

xtf::register_test!("evtchn-xsa-338", "XSA-338: valid ports stay valid across FIFO to 2L", xsa_338);
/// XSA-338 (once-valid ports turning invalid when reset switches FIFO back to 2L). Applies.
/// Ports made valid under FIFO stay valid after the reset to 2L (status closed, not
/// -EINVAL), and under FIFO again.
pub fn xsa_338(_: &Env<'_>) {
    let f = Fifo::new();
    must(f.init_control(0, 0), format_args!("init_control"));
    must(f.expand(), format_args!("expand_array"));
    for i in 1..=200 {
        must(evtchn::bind_ipi(0), format_args!("bind_ipi #{i}"));
    }
    let valid_end = 200 / EVTCHNS_PER_BUCKET * EVTCHNS_PER_BUCKET + EVTCHNS_PER_BUCKET;
    check_status(valid_end - 1, st::CLOSED, 0, [0, 0]);
    expect_eq!(evtchn::reset(DOMID_SELF), Ok(()), "reset(self) under FIFO");
    f.forget();
    expect_eq!(evtchn::set_priority(1, 1), Err(Errno::ENOSYS), "back on 2L");
    for port in [1, 200, valid_end - 1] {
        check_status(port, st::CLOSED, 0, [0, 0]);
    }
    expect_eq!(
        evtchn::status(DOMID_SELF, valid_end).map(|_| ()),
        Err(Errno::EINVAL),
        "status({valid_end})"
    );
    must(f.init_control(0, 0), format_args!("init_control again"));
    check_status(valid_end - 1, st::CLOSED, 0, [0, 0]);
    xtf_success!();
}

/// Opens a port in every state a domU can make (FIFO words of the loopback pair and IPIs
/// queued), returns how many.
fn open_all_kinds() -> u32 {
    let u = must(evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF), format_args!("alloc"));
    let a = must(evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF), format_args!("alloc"));
    let b = must(evtchn::bind_interdomain(DOMID_SELF, a), format_args!("bind loopback"));
    let g = must(evtchn::bind_virq(virq::DOM_EXC, 0), format_args!("bind_virq(DOM_EXC)"));
    let t = must(evtchn::bind_virq(virq::TIMER, 1), format_args!("bind_virq(TIMER, 1)"));
    let i0 = must(evtchn::bind_ipi(0), format_args!("bind_ipi(0)"));
    let i1 = must(evtchn::bind_ipi(1), format_args!("bind_ipi(1)"));
    must(evtchn::send(a), format_args!("send(a)"));
    must(evtchn::send(i0), format_args!("send(i0)"));
    must(evtchn::send(i1), format_args!("send(i1)"));
    expect_eq!((u, a, b, g, t, i0, i1), (1, 2, 3, 4, 5, 6, 7), "ports of every kind");
    7
}

xtf::register_test!(
    "evtchn-xsa-343",
    "XSA-343: reset with every kind of port open, FIFO queues full",
    xsa_343
);
/// XSA-343 (races between EVTCHNOP_reset and other operations; reset with ports open).
/// Applies; the races need concurrent vCPUs, so this covers the sequential part: reset with
/// every kind of port open and events queued on both vCPUs' FIFO queues, three times over,
/// each time everything closed, the ABI back to 2L, and FIFO working again from scratch.
pub fn xsa_343(_: &Env<'_>) {
    let f = Fifo::new();
    for round in 0..3 {
        expect_eq!(f.init_control(0, 0), Ok(17), "round {round}: init_control(vcpu 0)");
        expect_eq!(f.init_control(1, 128), Ok(17), "round {round}: init_control(vcpu 1)");
        expect_eq!(f.expand(), Ok(()), "round {round}: expand_array");
        let n = open_all_kinds();
        let (cb0, cb1) = (f.control(0).unwrap(), f.control(1).unwrap());
        expect_eq!((cb0.head(7), cb1.head(7)), (3, 7), "round {round}: queue heads");
        expect_eq!(evtchn::reset(DOMID_SELF), Ok(()), "round {round}: reset");
        f.forget();
        for p in 1..=n {
            check_status(p, st::CLOSED, 0, [0, 0]);
        }
        expect_eq!(evtchn::set_priority(1, 1), Err(Errno::ENOSYS), "round {round}: 2L after reset");
        expect_eq!(
            evtchn::expand_array(array_gfn(1)),
            Err(Errno::EOPNOTSUPP),
            "round {round}: no array"
        );
    }
    xtf_success!();
}

xtf::register_test!("evtchn-xsa-344", "XSA-344: reset with 1023 ports open", xsa_344);
/// XSA-344 (no preemption in evtchn_reset / destroy: a long loop over every port). Applies.
/// reset with all 1023 ports open (IPIs, unbound ports, loopback pairs; under 2L, then under
/// FIFO) returns 0 after closing every one (Xen may preempt it and continue through
/// EVTCHNOP_reset_cont, invisibly to the guest), twice.
pub fn xsa_344(_: &Env<'_>) {
    let f = Fifo::new();
    for round in 0..2 {
        if round == 1 {
            must(f.init_control(0, 0), format_args!("init_control"));
            must(f.expand(), format_args!("expand_array"));
        }
        let mut n = 0;
        while n < MAX_PORT {
            let r = match n % 3 {
                0 => evtchn::bind_ipi(0),
                1 => evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF),
                _ => evtchn::bind_interdomain(DOMID_SELF, n),
            };
            must(r, format_args!("round {round}: port #{}", n + 1));
            n += 1;
        }
        expect_eq!(evtchn::bind_ipi(0), Err(Errno::ENOSPC), "round {round}: full");
        expect_eq!(evtchn::reset(DOMID_SELF), Ok(()), "round {round}: reset with 1023 ports");
        f.forget();
        let mut open = 0;
        for p in 1..=MAX_PORT {
            if evtchn::status(DOMID_SELF, p).map(|s| s.status) != Ok(st::CLOSED) {
                open += 1;
            }
        }
        expect_eq!(open, 0, "round {round}: ports not closed by reset");
        expect_eq!(evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF), Ok(1), "round {round}: alloc");
        must(evtchn::close(1), format_args!("close(1)"));
    }
    xtf_success!();
}

xtf::register_test!("evtchn-xsa-340", "XSA-340 guard: new buckets usable at once", xsa_340);
/// XSA-340 (missing barriers when publishing new buckets, Arm) — functional guard: every
/// port of every bucket, used the moment it is allocated (status, send, pending bit).
pub fn xsa_340(_: &Env<'_>) {
    let si = shared_info();
    si.clear_all_pending();
    for want in 1..=MAX_PORT {
        let p = must(evtchn::bind_ipi(0), format_args!("bind_ipi #{want}"));
        if p != want {
            expect_eq!(p, want, "port number");
            xtf::exit();
        }
        let s = must(evtchn::status(DOMID_SELF, p), format_args!("status({p})"));
        must(evtchn::send(p), format_args!("send({p})"));
        if s.status != st::IPI || !si.is_pending(p) {
            expect_eq!((s.status, si.is_pending(p)), (st::IPI, true), "new port {p} usable");
            xtf::exit();
        }
    }
    let mut buf = [0u32; 1];
    expect_eq!(si.pending_ports(&mut buf), MAX_PORT as usize, "pending ports");
    println!("all {MAX_PORT} ports usable at once");
    xtf_success!();
}

xtf::register_test!(
    "evtchn-xsa-358-359",
    "XSA-358/359 guard: events right after each FIFO publication",
    xsa_358_359
);
/// XSA-358 (FIFO control block published before its queue heads) and XSA-359 (missing read
/// barrier in the event word lookup) — functional guard: events sent right after each
/// publication step (init_control on each vCPU, each new array page) land in the right
/// queue with the right words.
pub fn xsa_358_359(_: &Env<'_>) {
    let f = Fifo::new();
    let a = must(evtchn::bind_ipi(0), format_args!("bind_ipi(0)"));
    let b = must(evtchn::bind_ipi(1), format_args!("bind_ipi(1)"));
    must(f.init_control(0, 0), format_args!("init_control(0)"));
    must(evtchn::send(a), format_args!("send(a), no page"));
    must(f.expand(), format_args!("expand_array"));
    expect_eq!((f.word(a).0, f.control(0).unwrap().head(7)), (PL, a), "a queued on vcpu 0");
    must(f.init_control(1, 0), format_args!("init_control(1)"));
    must(evtchn::send(b), format_args!("send(b)"));
    expect_eq!((f.word(b).0, f.control(1).unwrap().head(7)), (PL, b), "b queued on vcpu 1");
    must(f.expand(), format_args!("expand_array page 1"));
    let c = must(evtchn::bind_ipi(0), format_args!("bind_ipi(0)"));
    must(evtchn::set_priority(c, 0), format_args!("set_priority"));
    must(evtchn::send(c), format_args!("send(c)"));
    expect_eq!((f.word(c).0, f.control(0).unwrap().head(0)), (PL, c), "c queued at priority 0");
    xtf_success!();
}

xtf::register_test!(
    "evtchn-xsa-496",
    "XSA-496 (not in 4.17): VIRQ_DOM_EXC bind error paths",
    xsa_496
);
/// XSA-496 (Xen 4.21+: a failing VIRQ_DOM_EXC bind tore down the domain-state bitmap of
/// XEN_DOMCTL_get_domain_state even when it was not set up, upsetting Xenstore). Does not
/// apply to 4.17.5: neither the domctl nor the bitmap exists, so there is no bug to show. The
/// case drives the same error paths (VIRQ_DOM_EXC bound twice, on vCPU 1, with no free port)
/// and checks they leave the existing binding and the rest of the domain as they were; run
/// in two domains at once, each keeps its own binding.
pub fn xsa_496(_: &Env<'_>) {
    let g = must(evtchn::bind_virq(virq::DOM_EXC, 0), format_args!("bind_virq(DOM_EXC)"));
    expect_eq!(g, 1, "first port");
    for _ in 0..3 {
        expect_eq!(evtchn::bind_virq(virq::DOM_EXC, 0), Err(Errno::EEXIST), "bind DOM_EXC twice");
        expect_eq!(evtchn::bind_virq(virq::DOM_EXC, 1), Err(Errno::EINVAL), "DOM_EXC on vcpu 1");
    }
    check_status(g, st::VIRQ, 0, [virq::DOM_EXC, 0]);
    expect_eq!(evtchn::close(g), Ok(()), "close(DOM_EXC port)");
    for want in 1..=MAX_PORT {
        let p = must(evtchn::bind_ipi(0), format_args!("bind_ipi #{want}"));
        if p != want {
            expect_eq!(p, want, "port number");
            xtf::exit();
        }
    }
    for _ in 0..3 {
        expect_eq!(evtchn::bind_virq(virq::DOM_EXC, 0), Err(Errno::ENOSPC), "DOM_EXC with no port");
    }
    expect_eq!(evtchn::close(500), Ok(()), "close(500)");
    expect_eq!(evtchn::bind_virq(virq::DOM_EXC, 0), Ok(500), "DOM_EXC after the failures");
    expect_eq!(evtchn::bind_virq(virq::DOM_EXC, 0), Err(Errno::EEXIST), "and only once");
    check_status(500, st::VIRQ, 0, [virq::DOM_EXC, 0]);
    check_status(499, st::IPI, 0, [0, 0]);
    xtf_success!();
}

/// Starts vCPU 1 idle (GIC distributor and CPU interfaces set up, no interrupt enabled;
/// vCPU 0 keeps IRQs masked), or ends the test.
fn start_vcpu1(env: &Env<'_>) {
    if let Err(e) = smp::bring_up(env.fdt.as_ref(), 2) {
        fatal(format_args!("{e}"));
    }
}

/// Work for the other vCPU stops when this is set.
static STOP: AtomicBool = AtomicBool::new(false);
/// expand_array results on vCPU 1: Ok, -EOPNOTSUPP, -ENOSPC, anything else.
static EXPANDS: [AtomicU32; 4] = [const { AtomicU32::new(0) }; 4];
static EXPAND_OTHER: AtomicI32 = AtomicI32::new(0);

/// vCPU 1 of XSA-505: EVTCHNOP_expand_array(gfn) until told to stop.
fn expand_loop(gfn: u64) -> u64 {
    let mut n = 0;
    while !STOP.load(Ordering::Acquire) {
        let i = match evtchn::expand_array(gfn) {
            Ok(()) => 0,
            Err(Errno::EOPNOTSUPP) => 1,
            Err(Errno::ENOSPC) => 2,
            Err(e) => {
                EXPAND_OTHER.store(e.0, Ordering::Relaxed);
                3
            }
        };
        EXPANDS[i].fetch_add(1, Ordering::Relaxed);
        n += 1;
    }
    n
}

xtf::register_test!(
    "evtchn-xsa-505",
    "XSA-505: expand_array on vCPU 1 racing reset on vCPU 0",
    xsa_505
);
/// XSA-505 (EVTCHNOP_expand_array checks that FIFO is set up without holding event_lock, so
/// it can race EVTCHNOP_reset and dereference a NULL d->evtchn_fifo). Applies: all Xen from
/// 4.5; 4.17.5 has no fix. vCPU 1 calls expand_array in a loop (the same page again and
/// again: each call maps it once more, so reset has pages to drop under the lock) while
/// vCPU 0 sets FIFO up and resets it, as fast as it can, for 10 s (on C 4.17.5 under QEMU
/// the race is won within about a second; a fixed Xen runs the whole time). A fixed Xen answers every
/// expand_array with success, -EOPNOTSUPP (no FIFO at the time) or -ENOSPC (array full); a
/// vulnerable one takes a data abort in add_page_to_event_array and panics, which shows as
/// this domain ending in CRASH with no result line.
pub fn xsa_505(env: &Env<'_>) {
    const RACE_MS: u64 = 10000;
    const WAIT_MS: u64 = 50;
    const PAGES: u32 = 1;
    start_vcpu1(env);
    let f = Fifo::new();
    // Zero the array page once (Fifo::expand does); vCPU 1 then reuses it.
    must(f.init_control(0, 0), format_args!("init_control"));
    must(f.expand(), format_args!("expand_array"));
    must(evtchn::reset(DOMID_SELF), format_args!("reset"));
    f.forget();
    println!(
        "XSA-505: vCPU 1 loops on expand_array while vCPU 0 loops init_control + reset for {} s; \
         a Xen that tests d->evtchn_fifo outside event_lock dereferences NULL here and crashes",
        RACE_MS / 1000
    );
    smp::start_on(1, expand_loop, array_gfn(0));
    let deadline = Deadline::after_ms(RACE_MS);
    let mut rounds = 0u32;
    while !deadline.passed() {
        if !expect_eq!(f.init_control(0, 0), Ok(17), "round {rounds}: init_control") {
            break;
        }
        // Let vCPU 1 add a page or more, so that the reset has pages to drop under the lock.
        let before = EXPANDS[0].load(Ordering::Relaxed) + EXPANDS[2].load(Ordering::Relaxed);
        timer::poll_until(WAIT_MS, || {
            EXPANDS[0].load(Ordering::Relaxed) + EXPANDS[2].load(Ordering::Relaxed)
                >= before + PAGES
        });
        if !expect_eq!(evtchn::reset(DOMID_SELF), Ok(()), "round {rounds}: reset") {
            break;
        }
        f.forget();
        rounds += 1;
    }
    STOP.store(true, Ordering::Release);
    let calls = smp::finish(1, 5000).unwrap_or(0);
    let [ok, notsup, nospc, other] = EXPANDS.each_ref().map(|c| c.load(Ordering::Relaxed));
    println!(
        "{rounds} rounds; vCPU 1: {calls} expand_array calls: {ok} ok, {notsup} EOPNOTSUPP, \
         {nospc} ENOSPC, {other} other"
    );
    expect_eq!(
        (other, Errno(EXPAND_OTHER.load(Ordering::Relaxed))),
        (0, Errno(0)),
        "expand_array results other than success, EOPNOTSUPP and ENOSPC"
    );
    if rounds == 0 || ok == 0 || notsup == 0 {
        xtf_warning!("the race was not exercised on both sides; nothing shown");
    }
    xtf_success!();
}

/// vCPU 1 of XSA-295: toggles one bit of 2L pending word `word` with load/store-exclusive
/// (AtomicU64::fetch_xor) until told to stop.
fn hammer_word(word: u64) -> u64 {
    let si = match xtf::guest::shared_info::map() {
        Ok(si) => si,
        Err(_) => return 0,
    };
    let mut n = 0;
    while !STOP.load(Ordering::Acquire) {
        si.toggle_pending(word as u32 * 64 + 63);
        n += 1;
    }
    n
}

xtf::register_test!(
    "evtchn-xsa-295",
    "XSA-295: Xen's atomics on a word the guest rewrites non-stop",
    xsa_295
);
/// XSA-295 (Arm: guest atomics on shared memory could be livelocked by the guest making
/// Xen's load/store-exclusive fail forever). Applies (4.17 bounds the retries, then pauses
/// the domain: guest_atomics.h). vCPU 1 rewrites 2L pending word 1 (through port 127's bit)
/// with exclusives non-stop while vCPU 0 sends on port 64, in the same word: every send
/// must return and leave port 64 pending, with port 127's bit never lost either.
pub fn xsa_295(env: &Env<'_>) {
    start_vcpu1(env);
    let si = shared_info();
    let mut port = 0;
    for _ in 0..64 {
        port = must(evtchn::bind_ipi(0), format_args!("bind_ipi"));
    }
    expect_eq!(port, 64, "IPI port in word 1");
    si.clear_all_pending();
    smp::start_on(1, hammer_word, 1);
    let mut sent = 0;
    let mut missing = 0;
    let deadline = Deadline::after_ms(3000);
    while !deadline.passed() {
        si.clear_pending(port);
        if !expect_eq!(evtchn::send(port), Ok(()), "send({port}) #{sent}") {
            break;
        }
        if !si.is_pending(port) {
            missing += 1;
        }
        sent += 1;
    }
    STOP.store(true, Ordering::Release);
    let toggles = smp::finish(1, 5000).unwrap_or(0);
    println!("{sent} sends while vCPU 1 toggled word 1 {toggles} times");
    expect_eq!(missing, 0, "sends after which port {port} was not pending");
    // Toggled an even or odd number of times: port 127's bit says which.
    expect_eq!(si.is_pending(127), toggles % 2 == 1, "port 127's bit after {toggles} toggles");
    if toggles == 0 || sent == 0 {
        xtf_warning!("the two vCPUs did not overlap; nothing shown");
    }
    xtf_success!();
}
