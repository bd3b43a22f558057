//! The `static` suite: what a dom0less domU sees of the static event channels and static shared
//! memory Xen set up for it at boot (docs/static-evtchn.md, docs/static-shm.md).
//!
//! The tests take their expectations from the bootargs, so one image serves every config:
//! - `evtchns=L:D:R[,L:D:R...]`: local port L is interdomain, bound to domain D's port R.
//!   Each pair is exercised both ways: the domain with the lower domid pings, the other
//!   answers (pending bits polled in shared_info; upcalls are not used).
//! - `shm=GPA:SIZE:ID[,...]`: a `/reserved-memory/xen-shmem@GPA` node (compatible
//!   `xen,shared-memory-v1`, `reg`, `xen,id`, `xen,offset`) and readable, writable memory there.
//! - `shm-producer=GPA:PORT` / `shm-consumer=GPA:PORT`: a producer writes a block into the
//!   shared memory and signals PORT until the consumer's acknowledgement (a checksum) appears.

use core::sync::atomic::{AtomicU32, Ordering, fence};

use xtf::abi::{
    DOMID_SELF, DomId, Errno, EvtchnAllocUnbound, EvtchnClose, EvtchnSend, EvtchnStatus, evtchnstat,
};
use xtf::guest::{hypercall, shared_info, timer};
use xtf::{Env, cmdline, println, xtf_error, xtf_failure, xtf_success};

/// xtf's shared_info mapping (one per domain: a second XENMEM_add_to_physmap of it is EBUSY,
/// so tests that later start upcalls must share it).
fn shared_info() -> Result<&'static shared_info::SharedInfo, Errno> {
    shared_info::map()
}

fn is_pending(port: u32) -> Result<bool, Errno> {
    Ok(shared_info()?.is_pending(port))
}

fn clear_pending(port: u32) -> Result<(), Errno> {
    shared_info()?.clear_pending(port);
    Ok(())
}

fn send(port: u32) -> Result<(), Errno> {
    hypercall::event_channel_op(&mut EvtchnSend { port }).map(|_| ())
}

/// Our domid: an unbound port for DOMID_SELF records the resolved remote domid.
fn own_domid() -> Result<DomId, Errno> {
    let mut alloc = EvtchnAllocUnbound { dom: DOMID_SELF, remote_dom: DOMID_SELF, port: 0 };
    hypercall::event_channel_op(&mut alloc)?;
    let mut status = EvtchnStatus { dom: DOMID_SELF, port: alloc.port, ..Default::default() };
    let result = hypercall::event_channel_op(&mut status);
    hypercall::event_channel_op(&mut EvtchnClose { port: alloc.port })?;
    result?;
    Ok(status.u[0] as DomId)
}

#[derive(Clone, Copy)]
struct Chan {
    local: u32,
    dom: DomId,
    remote: u32,
}

const MAX: usize = 16;

fn parse_chans(arg: &str, out: &mut [Chan; MAX]) -> Option<usize> {
    let mut n = 0;
    for item in arg.split(',') {
        let mut f = item.split(':');
        let c = Chan {
            local: cmdline::number(f.next()?)? as u32,
            dom: cmdline::number(f.next()?)? as DomId,
            remote: cmdline::number(f.next()?)? as u32,
        };
        *out.get_mut(n)? = c;
        n += 1;
    }
    Some(n)
}

xtf::register_test!(
    "static-evtchn",
    "evtchns=L:D:R,...: each port interdomain to D:R, traffic both ways",
    static_evtchn
);
/// `test=static-evtchn evtchns=L:D:R,...`: status and traffic on every static channel.
pub fn static_evtchn(env: &Env<'_>) {
    let mut chans = [Chan { local: 0, dom: 0, remote: 0 }; MAX];
    let Some(n) = env.arg("evtchns").and_then(|a| parse_chans(a, &mut chans)) else {
        xtf_error!("bootargs need evtchns=L:D:R[,L:D:R...]");
        return;
    };
    let chans = &chans[..n];
    let me = match own_domid() {
        Ok(d) => d,
        Err(e) => {
            xtf_error!("own domid: {e}");
            return;
        }
    };
    for c in chans {
        let mut st = EvtchnStatus { dom: DOMID_SELF, port: c.local, ..Default::default() };
        match hypercall::event_channel_op(&mut st) {
            Err(e) => xtf_failure!("EVTCHNOP_status port {}: {e}", c.local),
            Ok(_) if st.status != evtchnstat::INTERDOMAIN => {
                xtf_failure!("port {}: status {} (want interdomain)", c.local, st.status)
            }
            Ok(_) if st.u[0] as DomId != c.dom || st.u[1] != c.remote => xtf_failure!(
                "port {}: bound to d{} port {} (want d{} port {})",
                c.local,
                st.u[0] as DomId,
                st.u[1],
                c.dom,
                c.remote
            ),
            Ok(_) => {
                println!("d{me} port {}: interdomain to d{} port {}", c.local, c.dom, c.remote)
            }
        }
    }
    if let Err(e) = ping_pong(me, chans) {
        xtf_failure!("{e}");
        return;
    }
    xtf_success!();
}

/// Exercises every channel both ways. The lower domid of a pair pings (clear, send, wait for
/// the answer, resend after a while); the higher one answers every ping it sees. A port left
/// pending by the static set-up (C binds the second end with the port pending) looks like an
/// early ping and is harmless: the pinger only trusts an answer to a ping it sent.
fn ping_pong(me: DomId, chans: &[Chan]) -> Result<(), &'static str> {
    let hz = timer::frequency();
    let start = timer::now();
    let deadline = start + 10 * hz;
    let retry = hz / 20;
    let mut sent_at = [0u64; MAX];
    let mut done = [false; MAX];
    let mut answered = [0u32; MAX];
    let mut all_done_at = None;
    for (i, c) in chans.iter().enumerate() {
        if me > c.dom {
            // Responder: drop the set-up's stray pending bit before anyone pings.
            let stray = is_pending(c.local).map_err(|_| "shared_info")?;
            clear_pending(c.local).map_err(|_| "shared_info")?;
            println!("d{me} port {}: pending at start: {stray}", c.local);
        }
        sent_at[i] = 0;
    }
    loop {
        let now = timer::now();
        if now > deadline {
            return Err("timed out waiting for the peer");
        }
        for (i, c) in chans.iter().enumerate() {
            let pending = is_pending(c.local).map_err(|_| "shared_info")?;
            if me < c.dom {
                if done[i] {
                    continue;
                }
                if sent_at[i] != 0 && pending {
                    done[i] = true;
                    println!("d{me} port {}: ping answered by d{}", c.local, c.dom);
                } else if sent_at[i] == 0 || now - sent_at[i] > retry {
                    clear_pending(c.local).map_err(|_| "shared_info")?;
                    send(c.local).map_err(|_| "EVTCHNOP_send failed")?;
                    sent_at[i] = timer::now();
                }
            } else if pending {
                clear_pending(c.local).map_err(|_| "shared_info")?;
                send(c.local).map_err(|_| "EVTCHNOP_send failed")?;
                if answered[i] == 0 {
                    println!("d{me} port {}: ping from d{} answered", c.local, c.dom);
                }
                answered[i] += 1;
                done[i] = true;
            }
        }
        if done[..chans.len()].iter().all(|&d| d) {
            // Keep answering a little longer: a pinger may have cleared our first answer.
            let t = *all_done_at.get_or_insert(now);
            if now - t > 4 * retry {
                return Ok(());
            }
        }
        hypercall::yield_now();
    }
}

/// FNV-1a over a node's subtree: names, property names and values, in tree order.
fn digest(node: &xtf::fdt::Node<'_>, skip: &str, h: &mut u64, depth: u32) {
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            *h = (*h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    };
    eat(node.name().as_bytes());
    eat(&[0]);
    for p in node.properties() {
        eat(p.name.as_bytes());
        eat(&(p.value.len() as u32).to_be_bytes());
        eat(p.value);
    }
    if depth < 16 {
        for c in node.children() {
            if depth == 0 && c.name() == skip {
                continue;
            }
            digest(&c, skip, h, depth + 1);
        }
    }
}

/// Prints digests of the guest's device tree, for ci/test to compare across Xen builds
/// (`#@ compare-builds`): the whole tree but /hypervisor (its grant table region follows
/// the size of Xen's text, which differs between builds), and /reserved-memory alone.
fn print_dt_digests(fdt: &xtf::fdt::Fdt<'_>) {
    const FNV: u64 = 0xcbf2_9ce4_8422_2325;
    if let Some(root) = fdt.root() {
        let mut h = FNV;
        digest(&root, "hypervisor", &mut h, 0);
        println!("guest DT digest (all but /hypervisor): {h:#018x}");
    }
    if let Some(r) = fdt.find_node("/reserved-memory") {
        let mut h = FNV;
        digest(&r, "", &mut h, 1);
        println!("guest DT digest (/reserved-memory): {h:#018x}");
    }
}

xtf::register_test!(
    "static-shm",
    "shm=GPA:SIZE:ID,...: /reserved-memory/xen-shmem@GPA node and the memory",
    static_shm
);
/// `test=static-shm shm=GPA:SIZE:ID,...`: the reserved-memory node and the memory itself.
pub fn static_shm(env: &Env<'_>) {
    if let Some(fdt) = env.fdt.as_ref() {
        print_dt_digests(fdt);
    }
    if check_shm_nodes(env) {
        xtf_success!();
    }
}

/// The `shm=GPA:SIZE:ID,...` checks of `static-shm`; false when the test cannot go on
/// (reported as ERROR or FAILURE already).
fn check_shm_nodes(env: &Env<'_>) -> bool {
    let Some(arg) = env.arg("shm") else {
        xtf_error!("bootargs need shm=GPA:SIZE:ID[,...]");
        return false;
    };
    let Some(fdt) = env.fdt.as_ref() else {
        xtf_error!("no device tree");
        return false;
    };
    let Some(resv) = fdt.find_node("/reserved-memory") else {
        xtf_failure!("no /reserved-memory node in the guest device tree");
        return false;
    };
    let ac = resv.property_u32("#address-cells").unwrap_or(0);
    let sc = resv.property_u32("#size-cells").unwrap_or(0);
    println!("/reserved-memory: #address-cells {ac} #size-cells {sc}");
    for item in arg.split(',') {
        let mut f = item.split(':');
        let (Some(gpa), Some(size), Some(id)) =
            (f.next().and_then(cmdline::number), f.next().and_then(cmdline::number), f.next())
        else {
            xtf_error!("bad shm= item {item}");
            return false;
        };
        let Some(node) = resv.children().find(|n| {
            n.name().strip_prefix("xen-shmem@").and_then(|a| u64::from_str_radix(a, 16).ok())
                == Some(gpa)
        }) else {
            xtf_failure!("no /reserved-memory/xen-shmem@{gpa:x}");
            continue;
        };
        if !node.is_compatible("xen,shared-memory-v1") {
            xtf_failure!("{}: not compatible with xen,shared-memory-v1", node.name());
        }
        let mut reg = node.property("reg").map(|p| p.cells());
        let got = reg.as_mut().and_then(|c| Some((c.next_n(ac)?, c.next_n(sc)?)));
        if got != Some((gpa, size)) {
            xtf_failure!("{}: reg {:x?}, want ({gpa:#x}, {size:#x})", node.name(), got);
        }
        if node.property_str("xen,id") != Some(id) {
            xtf_failure!("{}: xen,id {:?}, want {id:?}", node.name(), node.property_str("xen,id"));
        }
        if node.property("xen,offset").and_then(|p| p.as_u64()) != Some(0) {
            xtf_failure!("{}: xen,offset is not a zero u64", node.name());
        }
        println!("{}: reg <{gpa:#x} {size:#x}> xen,id \"{id}\"", node.name());
        // The memory: write and read back a word at each end.
        for off in [0, size - 8] {
            let p = (gpa + off) as *mut u64;
            // SAFETY: [gpa, gpa+size) is the shared region Xen mapped for us (its DT node was
            // just checked) inside our identity-mapped Normal block; nothing in this guest
            // holds a reference into it. A stage-2 fault (not mapped) ends the test as ERROR.
            unsafe {
                let old = p.read_volatile();
                p.write_volatile(old ^ 0x5a5a_5a5a_5a5a_5a5a);
                if p.read_volatile() != old ^ 0x5a5a_5a5a_5a5a_5a5a {
                    xtf_failure!("shm {gpa:#x}+{off:#x}: write not read back");
                }
                p.write_volatile(old);
            }
        }
    }
    true
}

xtf::register_test!(
    "shm-ext-regions",
    "no /hypervisor extended region overlaps a /reserved-memory static shm region",
    shm_ext_regions
);

/// `test=shm-ext-regions`: no extended region of `/hypervisor` (the address space Xen offers
/// the guest as free for its own foreign mappings) overlaps a static shared memory region of
/// `/reserved-memory`. Xen 4.17.5's C offers them (fixed upstream later); the Rust build
/// does not (docs/status.md).
pub fn shm_ext_regions(env: &Env<'_>) {
    if check_ext_regions(env) {
        xtf_success!();
    }
}

fn check_ext_regions(env: &Env<'_>) -> bool {
    let Some(fdt) = env.fdt.as_ref() else {
        xtf_error!("no device tree");
        return false;
    };
    let (Some(root), Some(hyp), Some(resv)) =
        (fdt.root(), fdt.find_node("/hypervisor"), fdt.find_node("/reserved-memory"))
    else {
        xtf_error!("no /hypervisor or /reserved-memory node in the guest device tree");
        return false;
    };
    let (rac, rsc) = (
        root.property_u32("#address-cells").unwrap_or(2),
        root.property_u32("#size-cells").unwrap_or(1),
    );
    let (ac, sc) = (
        resv.property_u32("#address-cells").unwrap_or(0),
        resv.property_u32("#size-cells").unwrap_or(0),
    );
    let mut shm = [(0u64, 0u64); 16];
    let mut nshm = 0;
    for n in resv.children().filter(|n| n.is_compatible("xen,shared-memory-v1")) {
        let mut reg = n.property("reg").map(|p| p.cells());
        if let (Some(r), Some(slot)) =
            (reg.as_mut().and_then(|c| Some((c.next_n(ac)?, c.next_n(sc)?))), shm.get_mut(nshm))
        {
            *slot = r;
            nshm += 1;
        }
    }
    if nshm == 0 {
        xtf_error!("no xen,shared-memory-v1 node in /reserved-memory: nothing to check");
        return false;
    }
    let Some(mut reg) = hyp.property("reg").map(|p| p.cells()) else {
        xtf_failure!("/hypervisor has no reg");
        return false;
    };
    // reg 0 is the grant table; 1.. are the extended regions.
    let _grant = (reg.next_n(rac), reg.next_n(rsc));
    let mut ok = true;
    let mut i = 0;
    while let (Some(base), Some(size)) = (reg.next_n(rac), reg.next_n(rsc)) {
        i += 1;
        println!("/hypervisor extended region {i}: {base:#x}-{:#x}", base.saturating_add(size));
        for &(gbase, gsize) in &shm[..nshm] {
            if base < gbase.saturating_add(gsize) && gbase < base.saturating_add(size) {
                xtf_failure!(
                    "extended region {base:#x}-{:#x} offers static shm {gbase:#x}-{:#x} as free",
                    base.saturating_add(size),
                    gbase.saturating_add(gsize)
                );
                ok = false;
            }
        }
    }
    if ok {
        println!("{i} extended region(s), none over the {nshm} static shm region(s)");
    }
    ok
}

xtf::register_test!(
    "shm-view",
    "shm=GPA:SIZE:ID,... meet=GPA:first|second: static-shm, shm-ext-regions, and the peer's writes",
    shm_view
);

/// `test=shm-view shm=GPA:SIZE:ID,... meet=GPA:first|second`: what one domain of a multi-domain
/// shared memory configuration sees — its `/reserved-memory` nodes and memory (as
/// `static-shm`), extended regions clear of them (as `shm-ext-regions`), and, through `meet`,
/// that the region at GPA is the same memory the peer sees at its own address: `first`
/// writes a token and waits for the peer's answer, `second` waits for the token and answers.
/// Polling only, no event channel.
pub fn shm_view(env: &Env<'_>) {
    if !check_shm_nodes(env) {
        return;
    }
    let ext_ok = check_ext_regions(env);
    if let Some(m) = env.arg("meet") {
        let Some((gpa, first)) = m.split_once(':').and_then(|(a, w)| {
            Some((
                cmdline::number(a)?,
                match w {
                    "first" => true,
                    "second" => false,
                    _ => return None,
                },
            ))
        }) else {
            xtf_error!("bad meet={m}: want GPA:first|second");
            return;
        };
        // Words 2 and 3 of the region (0 and 1 belong to shm-producer's block layout).
        // SAFETY: [gpa, gpa+size) is a shared region checked above (shm= names it), mapped
        // Normal in our identity map; both words are only accessed atomically, here and by
        // the peer domain.
        let token = unsafe { &*((gpa + 8) as *const AtomicU32) };
        // SAFETY: as for `token`: word 3 of the same region.
        let answer = unsafe { &*((gpa + 12) as *const AtomicU32) };
        const TOKEN: u32 = 0x5eed_0001;
        const ANSWER: u32 = 0x5eed_0002;
        let deadline = timer::now() + 20 * timer::frequency();
        if first {
            answer.store(0, Ordering::SeqCst);
            token.store(TOKEN, Ordering::SeqCst);
            while answer.load(Ordering::SeqCst) != ANSWER {
                if timer::now() > deadline {
                    xtf_failure!("no answer at {gpa:#x}+12 from the peer within 20 s");
                    return;
                }
                core::hint::spin_loop();
            }
            token.store(0, Ordering::SeqCst);
        } else {
            while token.load(Ordering::SeqCst) != TOKEN {
                if timer::now() > deadline {
                    xtf_failure!("no token at {gpa:#x}+8 from the peer within 20 s");
                    return;
                }
                core::hint::spin_loop();
            }
            answer.store(ANSWER, Ordering::SeqCst);
        }
        println!(
            "meet at {gpa:#x}: the peer's writes are seen here ({})",
            if first { "first" } else { "second" }
        );
    }
    if ext_ok {
        xtf_success!();
    }
}

const WORDS: usize = 1024;
const MAGIC: u32 = 0x0dd5_0001;

fn shm_arg(env: &Env<'_>, key: &str) -> Option<(u64, u32)> {
    let (a, p) = env.arg(key)?.split_once(':')?;
    Some((cmdline::number(a)?, cmdline::number(p)? as u32))
}

fn block(gpa: u64) -> (&'static AtomicU32, &'static AtomicU32, *mut u32) {
    // SAFETY: the config maps >= 8 KiB of shared memory at `gpa` (identity, Normal): words 0
    // and 1 (producer flag, consumer ack) are only accessed atomically, here and by the peer;
    // the data words after them only by volatile accesses through the raw pointer.
    unsafe {
        (&*(gpa as *const AtomicU32), &*((gpa + 4) as *const AtomicU32), (gpa + 64) as *mut u32)
    }
}

xtf::register_test!(
    "shm-producer",
    "shm-producer=GPA:PORT: write a block, signal PORT until acknowledged",
    shm_producer
);
/// `test=shm-producer shm-producer=GPA:PORT`.
pub fn shm_producer(env: &Env<'_>) {
    let Some((gpa, port)) = shm_arg(env, "shm-producer") else {
        xtf_error!("bootargs need shm-producer=GPA:PORT");
        return;
    };
    let (flag, ack, data) = block(gpa);
    let mut sum = 0u32;
    for i in 0..WORDS {
        let v = (i as u32).wrapping_mul(2_654_435_761) ^ 0xfeed;
        sum = sum.wrapping_add(v);
        // SAFETY: see `block`: data word i < WORDS lies inside the region.
        unsafe { data.add(i).write_volatile(v) };
    }
    ack.store(0, Ordering::Relaxed);
    fence(Ordering::SeqCst);
    flag.store(MAGIC, Ordering::Release);
    println!(
        "producer: wrote {WORDS} words (checksum {sum:#x}) at {gpa:#x}, signalling port {port}"
    );
    let hz = timer::frequency();
    let deadline = timer::now() + 10 * hz;
    let mut last = 0;
    loop {
        let now = timer::now();
        if now > deadline {
            xtf_failure!("producer: no acknowledgement from the consumer");
            return;
        }
        let a = ack.load(Ordering::Acquire);
        if a != 0 {
            if a == sum {
                println!("producer: consumer acknowledged checksum {a:#x}");
                xtf_success!();
            } else {
                xtf_failure!("producer: consumer saw checksum {a:#x}, wrote {sum:#x}");
            }
            return;
        }
        if now - last > hz / 20 {
            if let Err(e) = send(port) {
                xtf_failure!("producer: EVTCHNOP_send {port}: {e}");
                return;
            }
            last = now;
        }
        hypercall::yield_now();
    }
}

xtf::register_test!(
    "shm-consumer",
    "shm-consumer=GPA:PORT: wait for PORT, check the block, acknowledge",
    shm_consumer
);
/// `test=shm-consumer shm-consumer=GPA:PORT`.
pub fn shm_consumer(env: &Env<'_>) {
    let Some((gpa, port)) = shm_arg(env, "shm-consumer") else {
        xtf_error!("bootargs need shm-consumer=GPA:PORT");
        return;
    };
    let (flag, ack, data) = block(gpa);
    if clear_pending(port).is_err() {
        xtf_error!("consumer: cannot map shared_info");
        return;
    }
    let hz = timer::frequency();
    let deadline = timer::now() + 10 * hz;
    let mut events = 0u32;
    loop {
        if timer::now() > deadline {
            xtf_failure!("consumer: no data signalled on port {port} ({events} events)");
            return;
        }
        if is_pending(port).unwrap_or(false) {
            let _ = clear_pending(port);
            events += 1;
            if flag.load(Ordering::Acquire) == MAGIC {
                break;
            }
        }
        hypercall::yield_now();
    }
    let mut sum = 0u32;
    for i in 0..WORDS {
        // SAFETY: see `block`.
        let v = unsafe { data.add(i).read_volatile() };
        let want = (i as u32).wrapping_mul(2_654_435_761) ^ 0xfeed;
        if v != want {
            xtf_failure!("consumer: word {i} is {v:#x}, want {want:#x}");
            break;
        }
        sum = sum.wrapping_add(v);
    }
    fence(Ordering::SeqCst);
    ack.store(sum, Ordering::Release);
    println!("consumer: event on port {port}, read {WORDS} words, checksum {sum:#x}");
    xtf_success!();
}

/// The demo's mailbox in shared memory: word 0 the sender's sequence number, word 1 the
/// receiver's acknowledged sequence number, then a length and the text.
const DEMO_LINES: &[&str] = &[
    "hello from the sender, over static shared memory",
    "each message is signalled on a static event channel",
    "the receiver answers on the same channel",
    "set up by Xen at boot from the device tree: no xenstore, no grant tables",
    "bye",
];

fn mailbox(gpa: u64) -> (&'static AtomicU32, &'static AtomicU32, &'static AtomicU32, *mut u8) {
    let (seq, ack, _) = block(gpa);
    // SAFETY: as in `block`: word 2 lies in the region and is only accessed atomically.
    let len = unsafe { &*((gpa + 8) as *const AtomicU32) };
    (seq, ack, len, (gpa + 64) as *mut u8)
}

/// Waits (polling shared_info) until `port` is pending, then clears it. False on timeout.
fn wait_event(port: u32, seconds: u64) -> bool {
    let deadline = timer::now() + seconds * timer::frequency();
    while timer::now() < deadline {
        if is_pending(port).unwrap_or(false) {
            let _ = clear_pending(port);
            return true;
        }
        hypercall::yield_now();
    }
    false
}

xtf::register_test!(
    "demo-send",
    "demo=GPA:PORT: send a few lines over shm, signalled on PORT (ci/demo)",
    demo_send
);
/// `test=demo-send demo=GPA:PORT [v4v=PEER]`: sends DEMO_LINES one by one; then, with
/// `v4v=PEER`, the V4V part ([`crate::v4v::demo`]).
pub fn demo_send(env: &Env<'_>) {
    let Some((gpa, port)) = shm_arg(env, "demo") else {
        xtf_error!("bootargs need demo=GPA:PORT");
        return;
    };
    let (seq, ack, len, text) = mailbox(gpa);
    for (i, line) in DEMO_LINES.iter().enumerate() {
        let n = i as u32 + 1;
        for (k, b) in line.bytes().enumerate() {
            // SAFETY: lines are < 256 bytes, inside the region after the header words.
            unsafe { text.add(k).write_volatile(b) };
        }
        len.store(line.len() as u32, Ordering::Relaxed);
        seq.store(n, Ordering::Release);
        println!("sender:   -> message {n}: \"{line}\"");
        // Signal until acknowledged (the receiver may clear an early, stray event).
        let deadline = timer::now() + 10 * timer::frequency();
        while ack.load(Ordering::Acquire) != n {
            if timer::now() > deadline {
                xtf_failure!("sender: message {n} not acknowledged");
                return;
            }
            if send(port).is_err() {
                xtf_failure!("sender: EVTCHNOP_send on port {port} failed");
                return;
            }
            wait_event(port, 1);
        }
        println!("sender:   <- receiver acknowledged message {n}");
    }
    if let Some(peer) = crate::v4v::demo::peer_arg(env) {
        let Ok(peer) = peer else { return xtf_error!("v4v=PEER: PEER is a domid") };
        if !crate::v4v::demo::send(env, peer) {
            return;
        }
    }
    xtf_success!();
}

xtf::register_test!(
    "demo-receive",
    "demo=GPA:PORT: print and acknowledge the lines (ci/demo)",
    demo_receive
);
/// `test=demo-receive demo=GPA:PORT [v4v=PEER]`: prints every message and acknowledges it;
/// then, with `v4v=PEER`, the V4V part ([`crate::v4v::demo`]).
pub fn demo_receive(env: &Env<'_>) {
    let Some((gpa, port)) = shm_arg(env, "demo") else {
        xtf_error!("bootargs need demo=GPA:PORT");
        return;
    };
    let (seq, ack, len, text) = mailbox(gpa);
    let _ = clear_pending(port); // the static set-up leaves the second end pending
    let mut buf = [0u8; 256];
    for n in 1..=DEMO_LINES.len() as u32 {
        let deadline = timer::now() + 10 * timer::frequency();
        while seq.load(Ordering::Acquire) < n {
            if timer::now() > deadline {
                xtf_failure!("receiver: no message {n}");
                return;
            }
            wait_event(port, 1);
        }
        let l = (len.load(Ordering::Relaxed) as usize).min(buf.len());
        for (k, b) in buf[..l].iter_mut().enumerate() {
            // SAFETY: within the region (l <= 256), written by the sender before `seq`.
            *b = unsafe { text.add(k).read_volatile() };
        }
        let msg = core::str::from_utf8(&buf[..l]).unwrap_or("(not UTF-8)");
        println!("receiver: <- event on port {port}, message {n}: \"{msg}\"");
        if msg != DEMO_LINES[n as usize - 1] {
            xtf_failure!("receiver: message {n} garbled");
        }
        ack.store(n, Ordering::Release);
        let _ = send(port);
    }
    if let Some(peer) = crate::v4v::demo::peer_arg(env) {
        let Ok(peer) = peer else { return xtf_error!("v4v=PEER: PEER is a domid") };
        if !crate::v4v::demo::receive(env, peer) {
            return;
        }
    }
    xtf_success!();
}
