//! Throughput guests for ci/bench: V4V and Argo moving `size`-byte messages from
//! one or two sender domains into one receiver's ring, under `-icount` on one pCPU (the
//! domains time-slice, so the figure is the whole pipeline: send hypercall, copy into the
//! ring, VIRQ, copy-out, notify, the sender's wait on EAGAIN).
//!
//! `role=rx senders=K n=N size=S`: a 64 KiB ANY ring; takes K × N messages, checking each
//! sender's sequence numbers; then prints, as bench/mod.rs's lines do after measuring,
//! `bench <proto>-<S>-<K>s bytes=<payload bytes> ticks=<counter ticks from the first message
//! to the last> freq=<counter Hz>`.
//! `role=tx peer=D n=N size=S`: sends N messages, waiting for the notification on EAGAIN.

use xtf::abi::DomId;
use xtf::guest::ring_mem::Pages;
use xtf::guest::timer;
use xtf::{Env, println, xtf_error, xtf_failure, xtf_success};

use super::{PEER_MS, Proto, ProtoRing, WAIT_MS, send_until, setup};

const PORT: u32 = 500;
const RING_LEN: u32 = 64 * 1024;
const MAX_SENDERS: usize = 4;

crate::v4v::v4v_and_argo!(
    bench,
    "bench-v4v" => "V4V throughput: role=rx senders=K n=N size=S / role=tx peer=D n=N size=S",
    "bench-argo" => "Argo throughput: the bench-v4v pattern over Argo",
);
fn bench<P: Proto>(env: &Env<'_>) {
    let n = env.arg_u32("n").unwrap_or(1000);
    let size = env.arg_u32("size").unwrap_or(64) as usize;
    if !(4..=16384).contains(&size) {
        return xtf_error!("size={size}: 4..=16384");
    }
    let Some(buf) = Pages::buffer(16384 / 4096) else { return xtf_error!("arena") };
    match env.arg("role") {
        Some("tx") => {
            let peer = env.need_peer();
            let Some(ctx) = setup::<P>(env, 1) else { return };
            let mut eagains = 0;
            for seq in 0..n {
                buf[..4].copy_from_slice(&seq.to_le_bytes());
                let r =
                    send_until::<P>(&ctx.notifier, peer, PORT, 1, &[&buf[..size]], 0, &mut eagains);
                if r != Ok(size as u64) {
                    return xtf_failure!("bench send {seq}: {r:?}");
                }
            }
            println!("{}: {n} x {size} bytes sent, {eagains} EAGAIN", P::NAME);
            xtf_success!();
        }
        Some("rx") => {
            let senders = env.arg_u32("senders").unwrap_or(1) as usize;
            if senders == 0 || senders > MAX_SENDERS {
                return xtf_error!("senders=1..{MAX_SENDERS}");
            }
            let Some(ctx) = setup::<P>(env, 1) else { return };
            let Some(ring) = P::ring(RING_LEN, PORT, P::ANY) else { return xtf_error!("arena") };
            if let Err(e) = ring.register() {
                return xtf_failure!("register_ring: {e:?}");
            }
            let mut doms = [0 as DomId; MAX_SENDERS];
            let mut next = [0u32; MAX_SENDERS];
            let mut known = 0;
            let total = n as u64 * senders as u64;
            let (mut got, mut bytes, mut first, mut last) = (0u64, 0u64, 0u64, 0u64);
            let deadline = timer::Deadline::after_ms(PEER_MS + 30 * WAIT_MS);
            while got < total {
                let seen = ctx.notifier.count();
                let mut drained = false;
                loop {
                    let m = match ring.recv(buf) {
                        Ok(Some(m)) => m,
                        Ok(None) => break,
                        Err(e) => return xtf_failure!("ring inconsistent: {e:?}"),
                    };
                    let now = timer::now();
                    if got == 0 {
                        first = now;
                    }
                    last = now;
                    drained = true;
                    let d = m.header.source_domain;
                    let s = match doms[..known].iter().position(|&x| x == d) {
                        Some(s) => s,
                        None if known < senders => {
                            doms[known] = d;
                            known += 1;
                            known - 1
                        }
                        None => {
                            return xtf_failure!(
                                "a message from d{d}: more senders than {senders}"
                            );
                        }
                    };
                    let seq = u32::from_le_bytes([buf[0], buf[1], buf[2], buf[3]]);
                    if m.header.payload_len() as usize != size || seq != next[s] {
                        return xtf_failure!(
                            "from d{d}: {} bytes, seq {seq}; expected {size} bytes, seq {}",
                            m.header.payload_len(),
                            next[s]
                        );
                    }
                    next[s] += 1;
                    got += 1;
                    bytes += size as u64;
                }
                if drained {
                    if let Err(e) = P::notify_null() {
                        return xtf_failure!("notify: {e:?}");
                    }
                    continue;
                }
                if deadline.passed() {
                    return xtf_failure!("only {got} of {total} messages arrived");
                }
                ctx.notifier.wait_after(seen, 10);
            }
            println!(
                "bench {}-{}-{}s bytes={} ticks={} freq={}",
                P::NAME,
                size,
                senders,
                bytes,
                last - first,
                timer::frequency()
            );
            xtf_success!();
        }
        r => xtf_error!("role={r:?}: expected tx or rx"),
    }
}
