//! The demo's V4V part (ci/demo): after the static shared memory exchange, the same two domUs
//! talk over V4V rings. Each registers a ring for the other; the sender sends a few lines, the
//! receiver sleeps until VIRQ_V4V tells it data arrived, prints the line and answers on the
//! sender's ring, which the sender also takes on VIRQ_V4V.
//!
//! `v4v=PEER` on a demo domain's command line turns this part on (the Rust build only: the C
//! build has no V4V hypercall, so ci/suites/static/demo-exchange runs without it).

use xtf::abi::DomId;
use xtf::guest::ring_mem::Notifier;
use xtf::guest::upcall;
use xtf::{Env, println, xtf_failure};

use super::{PEER_MS, Proto, V4v, send_until, setup};

/// The sender's ring (answers arrive here) and the receiver's ring (lines arrive here).
const SENDER_PORT: u32 = 20;
const RECEIVER_PORT: u32 = 21;
/// Time for one line or answer to arrive.
const ARRIVAL_MS: u64 = 10_000;

const LINES: &[&str] = &[
    "hello again, now over a V4V ring",
    "Xen copied this line into your ring and raised VIRQ_V4V",
    "no shared pages and no grant tables: each ring is registered with Xen",
];

/// The `v4v=PEER` argument, if the demo's V4V part is asked for.
pub fn peer_arg(env: &Env<'_>) -> Option<Result<DomId, ()>> {
    env.arg("v4v").map(|v| v.parse().map_err(|_| ()))
}

/// VIRQ_V4V deliveries so far (the upcall log also holds other ports' events).
fn virqs(n: &Notifier) -> usize {
    upcall::log(0).ports().filter(|&p| p == n.port).count()
}

/// Sleeps until VIRQ_V4V has been delivered more than `seen` times (at most `wait_ms`), then
/// copies the ring's next message into `buf`. Returns the payload length, or why not.
fn take_after_virq(
    ring: &<V4v as Proto>::Ring,
    n: &Notifier,
    seen: usize,
    wait_ms: u64,
    buf: &mut [u8],
) -> Result<usize, &'static str> {
    if !xtf::guest::timer::poll_until(wait_ms, || virqs(n) > seen) {
        return Err("no VIRQ_V4V");
    }
    match ring.recv(buf) {
        Ok(Some(m)) => Ok((m.header.len as usize).saturating_sub(16).min(buf.len())),
        Ok(None) => Err("VIRQ_V4V came but the ring is empty"),
        Err(_) => Err("the ring's pointers are inconsistent"),
    }
}

fn text(buf: &[u8]) -> &str {
    core::str::from_utf8(buf).unwrap_or("(not UTF-8)")
}

/// The sending side; `true` when every line was answered.
pub fn send(env: &Env<'_>, peer: DomId) -> bool {
    let Some(ctx) = setup::<V4v>(env, 1) else { return false };
    let Some(ring) = V4v::ring(1024, SENDER_PORT, peer) else {
        xtf_failure!("sender: no memory for a V4V ring");
        return false;
    };
    if let Err(e) = ring.register() {
        xtf_failure!("sender: V4V register_ring failed: {e:?}");
        return false;
    }
    println!("sender:   V4V ring registered (port {SENDER_PORT}, partner d{peer})");
    let mut buf = [0u8; 128];
    let mut eagains = 0;
    for (i, line) in LINES.iter().enumerate() {
        let k = i + 1;
        let seen = virqs(&ctx.notifier);
        let r = send_until::<V4v>(
            &ctx.notifier,
            peer,
            RECEIVER_PORT,
            SENDER_PORT,
            &[line.as_bytes()],
            0,
            &mut eagains,
        );
        if r != Ok(line.len() as u64) {
            xtf_failure!("sender: V4V send of line {k} gave {r:?}");
            return false;
        }
        println!("sender:   -> V4V line {k}: \"{line}\"");
        match take_after_virq(&ring, &ctx.notifier, seen, ARRIVAL_MS, &mut buf) {
            Ok(len) => println!("sender:   <- VIRQ_V4V, answer {k}: \"{}\"", text(&buf[..len])),
            Err(why) => {
                xtf_failure!("sender: answer {k}: {why}");
                return false;
            }
        }
    }
    println!(
        "sender:   V4V: {} lines answered, {} VIRQ_V4V taken",
        LINES.len(),
        virqs(&ctx.notifier)
    );
    true
}

/// The receiving side; `true` when every line arrived intact and was answered.
pub fn receive(env: &Env<'_>, peer: DomId) -> bool {
    let Some(ctx) = setup::<V4v>(env, 1) else { return false };
    let Some(ring) = V4v::ring(1024, RECEIVER_PORT, peer) else {
        xtf_failure!("receiver: no memory for a V4V ring");
        return false;
    };
    // Counted before the ring exists: the sender's first line (and its VIRQ) can arrive as
    // soon as register_ring returns, before this vCPU runs another instruction.
    let mut seen = virqs(&ctx.notifier);
    if let Err(e) = ring.register() {
        xtf_failure!("receiver: V4V register_ring failed: {e:?}");
        return false;
    }
    println!("receiver: V4V ring registered (port {RECEIVER_PORT}, partner d{peer})");
    let mut buf = [0u8; 128];
    let mut answer = [0u8; 64];
    let mut eagains = 0;
    for (i, line) in LINES.iter().enumerate() {
        let k = i + 1;
        // The sender registers its ring and starts on its own time: allow for that once.
        let wait = if k == 1 { PEER_MS } else { ARRIVAL_MS };
        let len = match take_after_virq(&ring, &ctx.notifier, seen, wait, &mut buf) {
            Ok(len) => len,
            Err(why) => {
                xtf_failure!("receiver: line {k}: {why}");
                return false;
            }
        };
        seen = virqs(&ctx.notifier);
        let got = text(&buf[..len]);
        println!("receiver: <- VIRQ_V4V, V4V line {k} from d{peer}: \"{got}\"");
        if got != *line {
            xtf_failure!("receiver: V4V line {k} garbled");
            return false;
        }
        let reply = format_answer(&mut answer, k, len);
        let r = send_until::<V4v>(
            &ctx.notifier,
            peer,
            SENDER_PORT,
            RECEIVER_PORT,
            &[reply],
            0,
            &mut eagains,
        );
        if r != Ok(reply.len() as u64) {
            xtf_failure!("receiver: V4V answer {k} gave {r:?}");
            return false;
        }
    }
    true
}

/// "got line K (N bytes)" in `out`.
fn format_answer(out: &mut [u8; 64], k: usize, len: usize) -> &[u8] {
    use core::fmt::Write;
    struct Buf<'a>(&'a mut [u8], usize);
    impl Write for Buf<'_> {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            let end = self.1 + s.len();
            self.0.get_mut(self.1..end).ok_or(core::fmt::Error)?.copy_from_slice(s.as_bytes());
            self.1 = end;
            Ok(())
        }
    }
    let mut b = Buf(out, 0);
    let _ = write!(b, "got line {k} ({len} bytes)");
    let n = b.1;
    &out[..n]
}
