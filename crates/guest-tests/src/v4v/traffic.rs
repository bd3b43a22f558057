//! Traffic patterns, the same for V4V and Argo (generic over [`Proto`]).

use core::sync::atomic::{AtomicU32, Ordering};
use xtf::{check, expect_eq, try_op};

use xtf::abi::{DomId, Errno};
use xtf::guest::ring_mem::Notifier;
use xtf::guest::{smp, timer};
use xtf::{Env, println, xtf_error, xtf_failure, xtf_success};

use super::{
    PEER_MS, Proto, ProtoRing, QUIET_MS, WAIT_MS, check_guards, fill, recv_wait, send_until, setup,
    verify,
};

const PING_PORT: u32 = 100;
const MANY_PORT: u32 = 200;
const FULL_PORT: u32 = 300;
const CONTROL_PORT: u32 = 301;
const MATCH_PORT: u32 = 50;
const MATCH_OTHER_PORT: u32 = 51;
const INFLIGHT_PORT: u32 = 70;
const SHUTDOWN_PORT: u32 = 80;
const VIRQ_PORT: u32 = 90;

/// Payload length of ping-pong message `i` (1..=300, wrapping the 1 KiB rings often).
fn ping_len(i: u32) -> usize {
    1 + (i as usize * 53) % 300
}

/// Splits `buf` into 1, 2 or 3 pieces (sendv with several iovs) by `i`.
fn pieces(buf: &[u8], i: u32) -> ([&[u8]; 3], usize) {
    let n = buf.len();
    match i % 3 {
        0 => ([buf, &[], &[]], 1),
        1 => {
            let (a, b) = buf.split_at(n / 2);
            ([a, b, &[]], 2)
        }
        _ => {
            let (a, rest) = buf.split_at(n / 3);
            let (b, c) = rest.split_at(rest.len() / 2);
            ([a, b, c], 3)
        }
    }
}

crate::v4v::v4v_and_argo!(
    ping_pong,
    "v4v-ping-pong" => "V4V: role=ping|pong peer=D n=N round trips, sizes 1..300, 1-3 iovs, every byte checked",
    "argo-ping-pong" => "Argo: the v4v-ping-pong pattern",
);
/// `role=ping|pong peer=D n=N`: N round trips of varying sizes (1 to 3 iovs), every byte,
/// source, port and protocol checked on both sides.
fn ping_pong<P: Proto>(env: &Env<'_>) {
    let peer = env.need_peer();
    let ping = match env.arg("role") {
        Some("ping") => true,
        Some("pong") => false,
        r => return xtf_error!("role={r:?}: expected ping or pong"),
    };
    let n = env.arg_u32("n").unwrap_or(100);
    let Some(ctx) = setup::<P>(env, 1) else { return };
    let Some(ring) = P::ring(1024, PING_PORT, peer) else {
        return xtf_error!("no ring memory");
    };
    try_op!(ring.register(), "register_ring");
    let mut buf = [0u8; 512];
    let mut got = [0u8; 512];
    let mut eagains = 0;
    for i in 0..n {
        if ping {
            let len = ping_len(i);
            fill(&mut buf[..len], i, ctx.me, 0);
            let (p, k) = pieces(&buf[..len], i);
            let r = send_until::<P>(
                &ctx.notifier,
                peer,
                PING_PORT,
                PING_PORT,
                &p[..k],
                i,
                &mut eagains,
            );
            if !expect_eq!(r, Ok(len as u64), "ping {i}: send of {len} bytes in {k} iov(s)") {
                return;
            }
        }
        let m = match recv_wait(&ring, &ctx.notifier, &mut got, WAIT_MS) {
            Ok(m) => m,
            Err(why) => return xtf_failure!("message {i}: {why}"),
        };
        let len = ping_len(i);
        let proto = if ping { i ^ 0x5a5a } else { i };
        let h = m.header;
        if !expect_eq!(
            (h.len as usize, h.source_domain, h.source_port, h.protocol),
            (16 + len, peer, PING_PORT, proto),
            "message {i} header (len, source domain, source port, protocol)"
        ) {
            return;
        }
        if let Err(off) = verify(&got[..len], i, peer, 0) {
            return xtf_failure!("message {i}: payload byte {off} wrong");
        }
        try_op!(P::notify_null(), "notify");
        if !ping {
            fill(&mut buf[..len], i, ctx.me, 0);
            let (p, k) = pieces(&buf[..len], i + 1);
            let r = send_until::<P>(
                &ctx.notifier,
                peer,
                PING_PORT,
                PING_PORT,
                &p[..k],
                i ^ 0x5a5a,
                &mut eagains,
            );
            if !expect_eq!(r, Ok(len as u64), "pong {i}: send") {
                return;
            }
        }
    }
    check!(ring.is_empty(), "ring not empty after the last message");
    check_guards(&ring, "ping-pong");
    println!("{} {} round trips, {} EAGAIN", P::NAME, n, eagains);
    if ping {
        // Let the last pong's notify reach nobody harmful; the pong side finishes on its own.
        timer::delay_ms(QUIET_MS);
    }
    xtf_success!();
}

// ---- many senders, one ring ----

/// Payload length of message `seq` of stream `stream` (8..=120).
fn many_len(seq: u32, stream: u32) -> usize {
    8 + ((seq * 37 + stream * 11) % 113) as usize
}

/// The 2-vCPU sender's parameters for vCPU 1 (set before start_on).
static TX_PEER: AtomicU32 = AtomicU32::new(0);
static TX_N: AtomicU32 = AtomicU32::new(0);
static TX_ME: AtomicU32 = AtomicU32::new(0);
static TX_PORT: AtomicU32 = AtomicU32::new(0);
static TX_VIRQ_PORT: AtomicU32 = AtomicU32::new(0);

/// Sends stream `stream` (src port 1000 + stream): `n` messages. Returns 0 or the failing
/// sequence number + 1.
fn send_stream<P: Proto>(
    notifier: &Notifier,
    me: DomId,
    peer: DomId,
    port: u32,
    stream: u32,
    n: u32,
) -> u32 {
    let mut buf = [0u8; 128];
    let mut eagains = 0;
    for seq in 0..n {
        let len = many_len(seq, stream);
        fill(&mut buf[..len], seq, me, stream);
        let r =
            send_until::<P>(notifier, peer, port, 1000 + stream, &[&buf[..len]], 7, &mut eagains);
        if r != Ok(len as u64) {
            xtf_failure!("stream {stream} message {seq}: send gave {r:?}, expected Ok({len})");
            return seq + 1;
        }
    }
    println!("stream {stream}: {n} sent, {eagains} EAGAIN");
    0
}

fn stream1<P: Proto>(_: u64) -> u64 {
    let notifier = Notifier { port: TX_VIRQ_PORT.load(Ordering::Acquire) };
    u64::from(send_stream::<P>(
        &notifier,
        TX_ME.load(Ordering::Acquire) as DomId,
        TX_PEER.load(Ordering::Acquire) as DomId,
        TX_PORT.load(Ordering::Acquire),
        1,
        TX_N.load(Ordering::Acquire),
    ))
}

crate::v4v::v4v_and_argo!(
    many,
    "v4v-many" => "V4V: role=tx (1-2 vCPUs) / role=rx senders=D:S,..: many senders, one ANY ring, exactly once, in order",
    "argo-many" => "Argo: the v4v-many pattern",
);
/// `role=tx peer=D n=N [vcpus=2]`: stream 0 from vCPU 0 (and stream 1 from vCPU 1, at the
/// same time), N messages each, to the peer's ANY ring, waiting for the notification on EAGAIN.
/// `role=rx senders=D:S,... n=N`: one small ANY ring; every message of every stream arrives
/// once, intact, in its stream's order.
fn many<P: Proto>(env: &Env<'_>) {
    let n = env.arg_u32("n").unwrap_or(200);
    match env.arg("role") {
        Some("tx") => {
            let peer = env.need_peer();
            let vcpus = env.arg_u32("vcpus").unwrap_or(1) as usize;
            let Some(ctx) = setup::<P>(env, vcpus) else { return };
            if vcpus > 1 {
                TX_PEER.store(u32::from(peer), Ordering::Release);
                TX_N.store(n, Ordering::Release);
                TX_ME.store(u32::from(ctx.me), Ordering::Release);
                TX_PORT.store(MANY_PORT, Ordering::Release);
                TX_VIRQ_PORT.store(ctx.notifier.port, Ordering::Release);
                smp::start_on(1, stream1::<P>, 0);
            }
            let r0 = send_stream::<P>(&ctx.notifier, ctx.me, peer, MANY_PORT, 0, n);
            if vcpus > 1 {
                match smp::finish(1, PEER_MS + WAIT_MS) {
                    Ok(r1) => {
                        check!(r1 == 0, "vCPU 1's stream stopped at message {}", r1 - 1);
                    }
                    Err(_) => return,
                }
            }
            if r0 == 0 {
                println!("{}: {} stream(s) of {} sent", P::NAME, vcpus, n);
                xtf_success!();
            }
        }
        Some("rx") => many_rx::<P>(env, n),
        r => xtf_error!("role={r:?}: expected tx or rx"),
    }
}

const MAX_STREAMS: usize = 8;

fn many_rx<P: Proto>(env: &Env<'_>, n: u32) {
    // senders=D:S,D:S (domid:stream)
    let mut streams = [(0 as DomId, 0u32); MAX_STREAMS];
    let mut ns = 0;
    for s in env.arg("senders").unwrap_or("").split(',').filter(|s| !s.is_empty()) {
        let parsed =
            s.split_once(':').and_then(|(d, st)| Some((d.parse().ok()?, st.parse().ok()?)));
        match parsed {
            Some(p) if ns < MAX_STREAMS => {
                streams[ns] = p;
                ns += 1;
            }
            _ => return xtf_error!("senders=D:S,...: bad entry '{s}'"),
        }
    }
    if ns == 0 {
        return xtf_error!("needs senders=D:S,... on the command line");
    }
    let Some(ctx) = setup::<P>(env, 1) else { return };
    let Some(ring) = P::ring(512, MANY_PORT, P::ANY) else {
        return xtf_error!("no ring memory");
    };
    try_op!(ring.register(), "register_ring (ANY)");
    let mut next = [0u32; MAX_STREAMS];
    let total = n * ns as u32;
    let mut got = 0u32;
    let mut buf = [0u8; 256];
    let deadline = timer::Deadline::after_ms(PEER_MS + 4 * WAIT_MS);
    while got < total {
        let seen = ctx.notifier.count();
        let mut drained = false;
        loop {
            match ring.recv(&mut buf) {
                Ok(None) => break,
                Err(e) => return xtf_failure!("ring inconsistent: {e:?}"),
                Ok(Some(m)) => {
                    drained = true;
                    let h = m.header;
                    let Some(s) = streams[..ns]
                        .iter()
                        .position(|&(d, st)| d == h.source_domain && 1000 + st == h.source_port)
                    else {
                        return xtf_failure!(
                            "message from d{}:{} that no stream sends",
                            h.source_domain,
                            h.source_port
                        );
                    };
                    let (dom, stream) = streams[s];
                    let seq = next[s];
                    if seq >= n {
                        return xtf_failure!("stream d{dom}:{stream}: more than {n} messages");
                    }
                    let len = many_len(seq, stream);
                    if !expect_eq!(
                        (h.len as usize, h.protocol),
                        (16 + len, 7),
                        "stream d{dom}:{stream} message {seq} (len, protocol)"
                    ) {
                        return;
                    }
                    if let Err(off) = verify(&buf[..len], seq, dom, stream) {
                        let got_seq = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]);
                        return xtf_failure!(
                            "stream d{dom}:{stream}: expected message {seq}, byte {off} wrong (seq field {got_seq})"
                        );
                    }
                    next[s] += 1;
                    got += 1;
                }
            }
        }
        if drained {
            try_op!(P::notify_null(), "notify");
            continue;
        }
        if deadline.passed() {
            return xtf_failure!(
                "only {got} of {total} messages arrived: per stream {:?}",
                &next[..ns]
            );
        }
        ctx.notifier.wait_after(seen, 10);
    }
    timer::delay_ms(QUIET_MS);
    check!(ring.is_empty(), "a message after the last expected one");
    check_guards(&ring, "many senders");
    println!("{}: {} messages from {} streams, each in order", P::NAME, total, ns);
    xtf_success!();
}

// ---- ring full -> EAGAIN -> notify -> retry ----

const FULL_LEN: u32 = 512;
const FULL_MSG: usize = 64;

crate::v4v::v4v_and_argo!(
    full,
    "v4v-full" => "V4V: role=tx|rx: ring full, EAGAIN, notify(space), VIRQ after the peer consumes, retry",
    "argo-full" => "Argo: the v4v-full pattern",
);
/// `role=tx peer=D n=N`: fills the peer's 512-byte ring with 64-byte messages until EAGAIN
/// (exactly as many as the space rule allows), asks notify for 64 bytes (EXISTS, not
/// SUFFICIENT, max_message_size = len - 32), sees no notification while the peer does not
/// consume, tells the peer over a control ring, then gets VIRQ and the retry succeeds; the
/// rest follow with the usual EAGAIN/notify loop. `role=rx peer=D n=N`: consumes only after
/// the control message, checks the ring was exactly full, then takes everything in order.
fn full<P: Proto>(env: &Env<'_>) {
    let peer = env.need_peer();
    let n = env.arg_u32("n").unwrap_or(40);
    let Some(ctx) = setup::<P>(env, 1) else { return };
    let mut buf = [0u8; FULL_MSG];
    // How many fit into an empty ring, by the ABI's rule.
    let mut fit = 0u32;
    let mut tx = 0u32;
    while xtf::ring::fits(FULL_MSG as u32, 0, tx, FULL_LEN) {
        tx += xtf::ring::message_footprint(FULL_MSG as u32);
        fit += 1;
    }
    match env.arg("role") {
        Some("tx") => {
            let mut eagains = 0;
            // The first send waits for the peer's ring to exist.
            fill(&mut buf, 0, ctx.me, 0);
            let r = send_until::<P>(&ctx.notifier, peer, FULL_PORT, 1, &[&buf], 0, &mut eagains);
            if !expect_eq!(r, Ok(FULL_MSG as u64), "first send") {
                return;
            }
            let mut seq = 1;
            let seen = ctx.notifier.count();
            let first_eagain = loop {
                fill(&mut buf, seq, ctx.me, 0);
                match P::sendv(peer, FULL_PORT, 1, &[&buf], seq) {
                    Ok(_) => seq += 1,
                    Err(Errno::EAGAIN) => break seq,
                    Err(e) => return xtf_failure!("filling: message {seq}: {e:?}"),
                }
                if seq > fit + 1 {
                    return xtf_failure!("{seq} messages went into a ring that holds {fit}");
                }
            };
            expect_eq!(first_eagain, fit, "messages accepted before EAGAIN");
            // Repeat: still EAGAIN, the ring unchanged.
            expect_eq!(
                P::sendv(peer, FULL_PORT, 1, &[&buf], seq),
                Err(Errno::EAGAIN),
                "second send into the full ring"
            );
            let q = try_op!(P::query(peer, FULL_PORT, FULL_MSG as u32), "notify(space 64)");
            expect_eq!(
                (q.0 & (P::EXISTS | P::SUFFICIENT | P::PENDING), q.1),
                (P::EXISTS | P::PENDING, FULL_LEN - 32),
                "notify(space 64) on the full ring: (EXISTS|SUFFICIENT|PENDING bits, max_message_size)"
            );
            timer::delay_ms(QUIET_MS);
            expect_eq!(ctx.notifier.count(), seen, "notifications before the peer consumed");
            let go = [0x60u8; 16];
            try_op!(P::sendv(peer, CONTROL_PORT, 2, &[&go], 0), "control message");
            if !ctx.notifier.wait_after(seen, WAIT_MS) {
                return xtf_failure!("no notification after the peer consumed");
            }
            let r = P::sendv(peer, FULL_PORT, 1, &[&buf], seq);
            expect_eq!(r, Ok(FULL_MSG as u64), "retry after the notification");
            seq += 1;
            while seq < n {
                fill(&mut buf, seq, ctx.me, 0);
                let r =
                    send_until::<P>(&ctx.notifier, peer, FULL_PORT, 1, &[&buf], seq, &mut eagains);
                if !expect_eq!(r, Ok(FULL_MSG as u64), "message {seq}") {
                    return;
                }
                seq += 1;
            }
            println!(
                "{}: ring of {} took {} messages, then EAGAIN; {} more EAGAIN",
                P::NAME,
                FULL_LEN,
                fit,
                eagains
            );
            xtf_success!();
        }
        Some("rx") => {
            let (Some(ring), Some(control)) =
                (P::ring(FULL_LEN, FULL_PORT, peer), P::ring(256, CONTROL_PORT, peer))
            else {
                return xtf_error!("no ring memory");
            };
            try_op!(control.register(), "register_ring (control)");
            try_op!(ring.register(), "register_ring (data)");
            let mut c = [0u8; 16];
            if let Err(why) = recv_wait(&control, &ctx.notifier, &mut c, PEER_MS) {
                return xtf_failure!("control message: {why}");
            }
            let used = xtf::ring::used(ring.rx_ptr(), ring.tx_ptr(), FULL_LEN);
            expect_eq!(
                used,
                fit * xtf::ring::message_footprint(FULL_MSG as u32),
                "bytes in the full ring"
            );
            let mut seq = 0;
            while seq < n {
                let m = match recv_wait(&ring, &ctx.notifier, &mut buf, WAIT_MS) {
                    Ok(m) => m,
                    Err(why) => return xtf_failure!("message {seq}: {why}"),
                };
                if !expect_eq!(
                    (m.header.len as usize, m.header.source_domain, m.header.protocol),
                    (16 + FULL_MSG, peer, seq),
                    "message {seq} (len, source, protocol)"
                ) {
                    return;
                }
                if let Err(off) = verify(&buf, seq, peer, 0) {
                    return xtf_failure!("message {seq}: byte {off} wrong");
                }
                seq += 1;
                if ring.is_empty() || seq == 1 {
                    try_op!(P::notify_null(), "notify");
                }
            }
            timer::delay_ms(QUIET_MS);
            check!(ring.is_empty(), "a message after the last one");
            check_guards(&ring, "full ring");
            xtf_success!();
        }
        r => xtf_error!("role={r:?}: expected tx or rx"),
    }
}

// ---- partner ring vs ANY ring ----

crate::v4v::v4v_and_argo!(
    matching,
    "v4v-match" => "V4V: role=owner|sender: partner ring wins over ANY; ANY catches the rest",
    "argo-match" => "Argo: the v4v-match pattern",
);
/// `role=owner peer=D other=E`: rings (50, partner D), (50, ANY) and (51, partner E); each
/// sender's message must land in the right one: D's in the partner ring, E's and our own in the
/// ANY ring. `role=sender peer=OWNER`: sends one message to port 50 (retrying until the
/// owner's rings exist) and one to port 51: ECONNREFUSED for D (51 is E's only), accepted for E.
fn matching<P: Proto>(env: &Env<'_>) {
    let peer = env.need_peer();
    let Some(ctx) = setup::<P>(env, 1) else { return };
    let mut buf = [0u8; 64];
    match env.arg("role") {
        Some("owner") => {
            let Some(other) = env.arg_parse::<DomId>("other") else {
                return xtf_error!("needs other=DOMID");
            };
            let (Some(partner), Some(any), Some(only_other)) = (
                P::ring(256, MATCH_PORT, peer),
                P::ring(256, MATCH_PORT, P::ANY),
                P::ring(256, MATCH_OTHER_PORT, other),
            ) else {
                return xtf_error!("no ring memory");
            };
            // In this order, so that no sender finds a ring other than its final one: port 51
            // first (the senders try it only after port 50 worked), the partner ring before
            // the ANY ring (d{peer} retries until its ring exists, instead of landing in ANY).
            try_op!(only_other.register(), "register (51, d{other})");
            try_op!(partner.register(), "register (50, d{peer})");
            try_op!(any.register(), "register (50, ANY)");
            // Our own message to port 50 goes to the ANY ring (we are not the partner).
            fill(&mut buf[..24], 9, ctx.me, 3);
            expect_eq!(
                P::sendv(ctx.me, MATCH_PORT, 3, &[&buf[..24]], 0),
                Ok(24),
                "send to ourselves"
            );
            let mut seen_any = 0;
            let mut seen_partner = 0;
            let mut seen_other = 0;
            let deadline = timer::Deadline::after_ms(PEER_MS);
            while (seen_any < 2 || seen_partner < 1 || seen_other < 1) && !deadline.passed() {
                let c = ctx.notifier.count();
                for (which, ring) in [(0, &partner), (1, &any), (2, &only_other)] {
                    while let Some(m) = match ring.recv(&mut buf) {
                        Ok(m) => m,
                        Err(e) => return xtf_failure!("ring inconsistent: {e:?}"),
                    } {
                        let src = m.header.source_domain;
                        let len = m.header.payload_len() as usize;
                        if verify(&buf[..len], 9, src, 3).is_err() {
                            xtf_failure!("ring {which}: message from d{src} corrupted");
                        }
                        match (which, src) {
                            (0, s) if s == peer => seen_partner += 1,
                            (1, s) if s == other || s == ctx.me => seen_any += 1,
                            (2, s) if s == other => seen_other += 1,
                            _ => xtf_failure!(
                                "message from d{src} in the wrong ring ({})",
                                ["partner", "ANY", "port 51"][which]
                            ),
                        }
                    }
                }
                ctx.notifier.wait_after(c, 10);
            }
            expect_eq!(
                (seen_partner, seen_any, seen_other),
                (1, 2, 1),
                "messages in (partner ring, ANY ring, port 51 ring)"
            );
            timer::delay_ms(QUIET_MS);
            check!(partner.is_empty() && any.is_empty() && only_other.is_empty(), "extra messages");
            xtf_success!();
        }
        Some("sender") => {
            let expect_51 = env.flag("port51-ok");
            fill(&mut buf[..24], 9, ctx.me, 3);
            let mut e = 0;
            let r = send_until::<P>(&ctx.notifier, peer, MATCH_PORT, 3, &[&buf[..24]], 0, &mut e);
            expect_eq!(r, Ok(24), "send to port 50");
            let r = P::sendv(peer, MATCH_OTHER_PORT, 3, &[&buf[..24]], 0);
            if expect_51 {
                expect_eq!(r, Ok(24), "send to port 51 (our partner ring)");
            } else {
                expect_eq!(r, Err(Errno::ECONNREFUSED), "send to port 51 (another's partner ring)");
            }
            xtf_success!();
        }
        r => xtf_error!("role={r:?}: expected owner or sender"),
    }
}

// ---- unregister with sends in flight ----

crate::v4v::v4v_and_argo!(
    inflight,
    "v4v-inflight" => "V4V: role=owner|sender: unregister with sends in flight, nothing written after",
    "argo-inflight" => "Argo: the v4v-inflight pattern",
);
/// `role=owner peer=D n=N`: takes N messages, unregisters while the peer keeps sending, then
/// checks nothing was written to the ring after that (digest), until the peer reports on the
/// control ring. `role=sender peer=D`: sends numbered messages back to back: successes, then
/// only ECONNREFUSED (never a success after the first refusal); reports the count.
fn inflight<P: Proto>(env: &Env<'_>) {
    let peer = env.need_peer();
    let n = env.arg_u32("n").unwrap_or(50);
    let Some(ctx) = setup::<P>(env, 1) else { return };
    let mut buf = [0u8; 64];
    match env.arg("role") {
        Some("owner") => {
            let (Some(ring), Some(control)) =
                (P::ring(2048, INFLIGHT_PORT, peer), P::ring(256, CONTROL_PORT, peer))
            else {
                return xtf_error!("no ring memory");
            };
            try_op!(control.register(), "register (control)");
            try_op!(ring.register(), "register");
            for seq in 0..n {
                let m = match recv_wait(&ring, &ctx.notifier, &mut buf, PEER_MS) {
                    Ok(m) => m,
                    Err(why) => return xtf_failure!("message {seq}: {why}"),
                };
                if m.header.protocol != seq || verify(&buf[..32], seq, peer, 0).is_err() {
                    return xtf_failure!(
                        "message {seq}: got protocol {}, wrong bytes?",
                        m.header.protocol
                    );
                }
                try_op!(P::notify_null(), "notify");
            }
            try_op!(ring.unregister(), "unregister with sends in flight");
            let after = ring.digest();
            let (rx, tx) = (ring.rx_ptr(), ring.tx_ptr());
            expect_eq!(ring.unregister(), Err(Errno::ENOENT), "second unregister");
            let mut report = [0u8; 16];
            if let Err(why) = recv_wait(&control, &ctx.notifier, &mut report, PEER_MS) {
                return xtf_failure!("the sender's report: {why}");
            }
            let sent = u32::from_le_bytes([report[0], report[1], report[2], report[3]]);
            expect_eq!(ring.digest(), after, "ring bytes after unregister (digest)");
            expect_eq!(
                (ring.rx_ptr(), ring.tx_ptr()),
                (rx, tx),
                "(rx_ptr, tx_ptr) after unregister"
            );
            check!(sent >= n, "sender reports {sent} accepted, we took {n}");
            check_guards(&ring, "unregister in flight");
            println!("{}: unregistered after {n}; the sender had {sent} accepted", P::NAME);
            xtf_success!();
        }
        Some("sender") => {
            let mut seq = 0u32;
            let mut e = 0;
            let mut refused = 0u32;
            // Until the ring exists.
            fill(&mut buf[..32], 0, ctx.me, 0);
            let r =
                send_until::<P>(&ctx.notifier, peer, INFLIGHT_PORT, 1, &[&buf[..32]], 0, &mut e);
            if !expect_eq!(r, Ok(32), "first send") {
                return;
            }
            seq += 1;
            let deadline = timer::Deadline::after_ms(PEER_MS);
            while refused < 20 && !deadline.passed() {
                fill(&mut buf[..32], seq, ctx.me, 0);
                let c = ctx.notifier.count();
                match P::sendv(peer, INFLIGHT_PORT, 1, &[&buf[..32]], seq) {
                    Ok(32) if refused == 0 => seq += 1,
                    Ok(r) => {
                        return xtf_failure!("send {seq} gave Ok({r}) after {refused} refusals");
                    }
                    Err(Errno::EAGAIN) if refused == 0 => {
                        ctx.notifier.wait_after(c, 50);
                    }
                    Err(Errno::ECONNREFUSED) => refused += 1,
                    Err(err) => return xtf_failure!("send {seq}: {err:?}"),
                }
            }
            if !check!(refused >= 20, "never refused after the owner unregistered") {
                return;
            }
            let mut report = [0u8; 16];
            report[..4].copy_from_slice(&seq.to_le_bytes());
            try_op!(P::sendv(peer, CONTROL_PORT, 2, &[&report], 0), "report");
            println!("{}: {seq} accepted, then refused", P::NAME);
            xtf_success!();
        }
        r => xtf_error!("role={r:?}: expected owner or sender"),
    }
}

// ---- ring owner shuts down with rings registered ----

crate::v4v::v4v_and_argo!(
    shutdown,
    "v4v-shutdown" => "V4V: role=owner|sender: owner powers off with rings registered; no crash, rings kept",
    "argo-shutdown" => "Argo: the v4v-shutdown pattern",
);
/// `role=owner peer=D`: registers rings, takes one message, acknowledges it on the sender's
/// control ring, powers off with its rings registered. `role=sender peer=D`: sends until the
/// owner's ring exists, waits for the acknowledgement and a little more (the shutdown), then
/// sends again. In dom0less
/// there is no toolstack to destroy a shut-down domain, so the domain (and its rings) stay:
/// the sends are accepted until the ring is full, then EAGAIN — and no notification ever
/// comes. Xen must not crash. A destroyed domain (domain_kill) is not reachable in dom0less.
fn shutdown<P: Proto>(env: &Env<'_>) {
    let peer = env.need_peer();
    let Some(ctx) = setup::<P>(env, 1) else { return };
    let mut buf = [0u8; 64];
    match env.arg("role") {
        Some("owner") => {
            let (Some(ring), Some(any)) =
                (P::ring(256, SHUTDOWN_PORT, peer), P::ring(256, SHUTDOWN_PORT + 1, P::ANY))
            else {
                return xtf_error!("no ring memory");
            };
            try_op!(ring.register(), "register");
            try_op!(any.register(), "register (ANY)");
            if let Err(why) = recv_wait(&ring, &ctx.notifier, &mut buf, PEER_MS) {
                return xtf_failure!("first message: {why}");
            }
            // rx_ptr is published: tell the sender, which registered its control ring first.
            try_op!(P::sendv(peer, CONTROL_PORT, 2, &[&buf[..16]], 0), "acknowledgement");
            println!("{}: powering off with 2 rings registered", P::NAME);
            xtf_success!();
        }
        Some("sender") => {
            let Some(control) = P::ring(256, CONTROL_PORT, peer) else {
                return xtf_error!("no ring memory");
            };
            try_op!(control.register(), "register (control)");
            let mut e = 0;
            let r =
                send_until::<P>(&ctx.notifier, peer, SHUTDOWN_PORT, 1, &[&buf[..32]], 0, &mut e);
            if !expect_eq!(r, Ok(32), "first send") {
                return;
            }
            let mut ack = [0u8; 16];
            if let Err(why) = recv_wait(&control, &ctx.notifier, &mut ack, PEER_MS) {
                return xtf_failure!("the owner's acknowledgement: {why}");
            }
            // The owner powers off right after its acknowledgement: give it time (whether it
            // is gone yet or not, it consumes nothing more).
            timer::delay_ms(500);
            let mut accepted = 0;
            let result = loop {
                match P::sendv(peer, SHUTDOWN_PORT, 1, &[&buf[..32]], 0) {
                    Ok(_) if accepted < 64 => accepted += 1,
                    r => break r,
                }
            };
            // The owner emptied its ring before powering off: exactly as many as fit.
            let mut fit = 0;
            let mut tx = 0;
            while xtf::ring::fits(32, 0, tx, 256) {
                tx += xtf::ring::message_footprint(32);
                fit += 1;
            }
            expect_eq!(result, Err(Errno::EAGAIN), "sends to the shut-down owner's ring");
            expect_eq!(accepted, fit, "messages accepted into the empty 256-byte ring");
            let c = ctx.notifier.count();
            timer::delay_ms(200);
            expect_eq!(ctx.notifier.count(), c, "notifications from a shut-down owner");
            let r = P::sendv(peer, SHUTDOWN_PORT + 1, 1, &[&buf[..32]], 0);
            expect_eq!(r, Ok(32), "send to the shut-down owner's ANY ring");
            println!("{}: {accepted} accepted after the owner's shutdown, then EAGAIN", P::NAME);
            xtf_success!();
        }
        r => xtf_error!("role={r:?}: expected owner or sender"),
    }
}

// ---- hostile ring owner ----

crate::v4v::v4v_and_argo!(
    hostile,
    "v4v-hostile" => "V4V: garbage rx_ptr/tx_ptr from the ring owner; Xen writes only inside ring[]",
    "argo-hostile" => "Argo: the v4v-hostile pattern",
);
/// One domain, its own ring (partner: ourselves): rx_ptr and tx_ptr set to garbage between
/// sends, then (`vcpus=2`) rewritten non-stop by vCPU 1 during 600 sends from vCPU 0; every
/// send is accepted or refused with EAGAIN/EMSGSIZE, and Xen never writes outside ring[]
/// (guard pages before and after, the bytes past `len` in the last page).
fn hostile<P: Proto>(env: &Env<'_>) {
    let vcpus = if env.arg_u32("vcpus") == Some(2) { 2 } else { 1 };
    let Some(ctx) = setup::<P>(env, vcpus) else { return };
    // len 4000: the last ring page has 4096 - (64 + 4000 - 4096) bytes unused: must stay 0.
    let len = 4000;
    let Some(ring) = P::ring(len, 90, ctx.me) else { return xtf_error!("no ring memory") };
    try_op!(ring.register(), "register");
    let garbage: [u32; 10] =
        [1, len - 1, len, len + 16, 0xffff_fff0, 0x8000_0000, len - 16, 13, 2000, 0];
    let mut buf = [0x5au8; 1024];
    let mut accepted = 0;
    let mut refused = 0;
    for (i, &rx) in garbage.iter().enumerate() {
        for &tx in &garbage {
            ring.set_rx_ptr(rx);
            ring.set_tx_ptr(tx);
            for size in [1usize, 100, 1000] {
                buf[0] = i as u8;
                match P::sendv(ctx.me, 90, 1, &[&buf[..size]], 0) {
                    Ok(n) => {
                        expect_eq!(n, size as u64, "send with rx_ptr {rx:#x}");
                        accepted += 1;
                    }
                    Err(Errno::EAGAIN | Errno::EMSGSIZE) => refused += 1,
                    Err(e) => {
                        xtf_failure!("send with rx_ptr {rx:#x} tx_ptr {tx:#x}: {e:?}");
                    }
                }
            }
            let _ = P::notify_null();
        }
    }
    // Phase 2 (with 2 vCPUs): vCPU 1 rewrites rx_ptr non-stop while vCPU 0 sends, so a Xen
    // that read rx_ptr twice in one send (checked one value, used another) would be caught.
    if env.arg_u32("vcpus") == Some(2) {
        SCRAMBLE_STOP.store(0, Ordering::Release);
        smp::start_on(1, scramble, ring.rx_ptr_addr() as u64);
        let mut raced = 0;
        for k in 0..600u32 {
            let size = [1usize, 64, 700, 1000, 1024][k as usize % 5];
            match P::sendv(ctx.me, 90, 1, &[&buf[..size]], k) {
                Ok(n) => {
                    expect_eq!(n, size as u64, "racing send {k}");
                    raced += 1;
                }
                Err(Errno::EAGAIN | Errno::EMSGSIZE) => {}
                Err(e) => {
                    xtf_failure!("racing send {k}: {e:?}");
                }
            }
        }
        SCRAMBLE_STOP.store(1, Ordering::Release);
        match smp::finish(1, WAIT_MS) {
            Ok(writes) => println!(
                "{}: {raced} sends accepted while vCPU 1 wrote rx_ptr {writes} times",
                P::NAME
            ),
            Err(_) => return,
        }
    }
    check_guards(&ring, "hostile owner");
    if let Err(off) = ring.tail_intact() {
        xtf_failure!("Xen wrote past ring[len] in the last ring page (offset {off:#x})");
    }
    check!(accepted > 0, "no send accepted at all (rx_ptr sanitising refuses everything?)");
    println!("{}: {accepted} sends accepted, {refused} refused, all inside the ring", P::NAME);
    xtf_success!();
}

static SCRAMBLE_STOP: AtomicU32 = AtomicU32::new(0);

/// vCPU 1: writes garbage to the rx_ptr at `addr` until told to stop; returns the count.
fn scramble(addr: u64) -> u64 {
    let Some(word) = xtf::guest::ring_mem::arena_word(addr as usize) else { return 0 };
    let mut x: u32 = 0x1234_5678;
    let mut n = 0u64;
    while SCRAMBLE_STOP.load(Ordering::Acquire) == 0 {
        x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let v = match x % 4 {
            0 => x,
            1 => x % 4096,
            2 => (x % 256) * 16,
            _ => 0xffff_fff0 | (x & 15),
        };
        word.store(v, Ordering::Relaxed);
        n += 1;
    }
    n
}

// ---- pages listed out of order ----

crate::v4v::v4v_and_argo!(
    scatter,
    "v4v-scatter" => "V4V: a ring whose pfn list is out of order; Xen follows the list",
    "argo-scatter" => "Argo: the v4v-scatter pattern",
);
/// One domain, a 3-page ring whose pfn list names our pages in the order 0, 2, 1: Xen must
/// write each byte where the list says, so messages crossing the page boundaries read back
/// intact only through the same list. 60 messages of 700..1600 bytes, three at a time (each
/// wrap and page crossing falls somewhere new); guards and the bytes past len untouched.
fn scatter<P: Proto>(env: &Env<'_>) {
    let Some(ctx) = setup::<P>(env, 1) else { return };
    let len = 3 * 4096 - 64;
    let Some(mut ring) = P::ring(len, 95, ctx.me) else { return xtf_error!("no ring memory") };
    if !ring.scatter(&[0, 2, 1]) {
        return xtf_error!("scatter: bad page order");
    }
    try_op!(ring.register(), "register (pages 0, 2, 1)");
    let mut buf = [0u8; 1600];
    let mut out = [0u8; 1600];
    let size = |i: u32| 700 + (i as usize * 131) % 900;
    for batch in 0..20u32 {
        for i in batch * 3..batch * 3 + 3 {
            let n = size(i);
            fill(&mut buf[..n], i, ctx.me, 5);
            let (p, k) = pieces(&buf[..n], i);
            let r = P::sendv(ctx.me, 95, 5, &p[..k], i);
            if !expect_eq!(r, Ok(n as u64), "send {i} ({n} bytes)") {
                return;
            }
        }
        for i in batch * 3..batch * 3 + 3 {
            let n = size(i);
            match ring.recv(&mut out) {
                Ok(Some(m)) => {
                    if !expect_eq!(
                        (m.header.len as usize, m.header.protocol),
                        (16 + n, i),
                        "message {i} (len, protocol)"
                    ) {
                        return;
                    }
                    if let Err(off) = verify(&out[..n], i, ctx.me, 5) {
                        return xtf_failure!(
                            "message {i} at ring offset {}: byte {off} wrong (Xen did not follow the pfn list?)",
                            m.at
                        );
                    }
                }
                other => return xtf_failure!("message {i}: {other:?}"),
            }
        }
        try_op!(P::notify_null(), "notify");
    }
    check_guards(&ring, "scattered ring");
    if let Err(off) = ring.tail_intact() {
        xtf_failure!("Xen wrote past ring[len] (logical offset {off:#x})");
    }
    println!("{}: 60 messages through a ring listed as pages 0, 2, 1", P::NAME);
    xtf_success!();
}

crate::v4v::v4v_and_argo!(
    virq_on_arrival,
    "v4v-virq-on-arrival" => "V4V: the receiver sleeps until VIRQ_V4V for every message (no ring polling)",
    "argo-virq-on-arrival" => "Argo: the v4v-virq-on-arrival pattern",
);
/// `role=rx peer=D n=N` / `role=tx peer=D n=N`: the data-arrival notification (seed 002:
/// "Xen will trigger the V4V VIRQ line in the receiving domain"). The receiver never polls
/// its ring: it sleeps until the protocol's VIRQ, then drains the ring, and must see all N
/// messages that way; a Xen that does not raise the VIRQ on arrival leaves it asleep
/// (FAILURE after WAIT_MS). The sender sends N messages of 1..=200 bytes.
fn virq_on_arrival<P: Proto>(env: &Env<'_>) {
    let peer = env.need_peer();
    let n = env.arg_u32("n").unwrap_or(50);
    let Some(ctx) = setup::<P>(env, 1) else { return };
    let len_of = |i: u32| 1 + (i as usize * 41) % 200;
    match env.arg("role") {
        Some("tx") => {
            let mut buf = [0u8; 256];
            let mut eagains = 0;
            for i in 0..n {
                let len = len_of(i);
                fill(&mut buf[..len], i, ctx.me, 9);
                let r = send_until::<P>(
                    &ctx.notifier,
                    peer,
                    VIRQ_PORT,
                    VIRQ_PORT,
                    &[&buf[..len]],
                    i,
                    &mut eagains,
                );
                if !expect_eq!(r, Ok(len as u64), "send {i} ({len} bytes)") {
                    return;
                }
                // Some messages alone, some back to back.
                if i % 3 == 0 {
                    timer::delay_ms(2);
                }
            }
            println!("{}: {n} messages sent, {eagains} EAGAIN", P::NAME);
            xtf_success!();
        }
        Some("rx") => {
            let Some(ring) = P::ring(4096, VIRQ_PORT, peer) else {
                return xtf_error!("no ring memory");
            };
            let mut seen = ctx.notifier.count();
            try_op!(ring.register(), "register_ring");
            let mut out = [0u8; 256];
            let (mut got, mut wakeups) = (0u32, 0u32);
            while got < n {
                if !ctx.notifier.wait_after(seen, WAIT_MS) {
                    return xtf_failure!(
                        "{}: no VIRQ for {WAIT_MS} ms with {got} of {n} messages taken: the ring now {} (Xen did not notify the arrival)",
                        P::NAME,
                        if ring.is_empty() { "is empty" } else { "holds unread messages" }
                    );
                }
                wakeups += 1;
                seen = ctx.notifier.count();
                loop {
                    let m = match ring.recv(&mut out) {
                        Ok(Some(m)) => m,
                        Ok(None) => break,
                        Err(e) => return xtf_failure!("ring inconsistent: {e:?}"),
                    };
                    let len = len_of(got);
                    if !expect_eq!(
                        (m.header.len as usize, m.header.source_domain, m.header.protocol),
                        (16 + len, peer, got),
                        "message {got} (len, source, protocol)"
                    ) {
                        return;
                    }
                    if let Err(off) = verify(&out[..len], got, peer, 9) {
                        return xtf_failure!("message {got}: byte {off} wrong");
                    }
                    got += 1;
                }
                try_op!(P::notify_null(), "notify");
            }
            check_guards(&ring, "virq-on-arrival");
            println!("{}: {n} messages taken on {wakeups} VIRQ wake-ups", P::NAME);
            xtf_success!();
        }
        r => xtf_error!("role={r:?}: expected rx or tx"),
    }
}
