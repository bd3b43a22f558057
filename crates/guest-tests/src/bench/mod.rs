//! Benchmark guests (`ci/bench`): guest time per event channel operation.
//!
//! Run under QEMU's `-icount shift=0` (one virtual nanosecond per guest or Xen instruction,
//! `-smp 1`), a figure is deterministic: the virtual counter's delta over `n` calls, divided by
//! `n`. Each op is timed as a whole loop (two counter reads per op, not per call), and the
//! cost of the same loop with an empty body is reported separately so `ci/bench` can subtract
//! it; a null hypercall (`xen_version`) is reported as the floor every op pays for the trip
//! through Xen's HVC entry.
//!
//! Output, one line per op once every op has been measured, parsed by `ci/bench`:
//! `bench <op> n=<calls> ticks=<counter ticks> freq=<counter Hz> base=<op to subtract>`,
//! where `base` names the overhead line (`loop-overhead` or `timer-read-overhead`) that
//! measured the same loop or stopwatch with nothing in it.
//! A failing hypercall inside a loop makes the test FAIL (a benchmark of an error path by
//! mistake would be worthless), naming the op and the errno.

use core::hint::black_box;
use xtf::abi::{DOMID_SELF, Errno, EventWord, EventWordFlags, EvtchnPort};
use xtf::guest::fifo::{self, ControlBlock, Fifo};
use xtf::guest::{evtchn, hypercall, irq, shared_info, timer, upcall};
use xtf::{Env, println, xtf_failure, xtf_success};

/// Calls per op unless the command line says `n=`.
const DEFAULT_CALLS: u32 = 10_000;
/// Each op's loop runs this many times and the fastest run counts: a Xen timer interrupt or
/// softirq that lands inside one run (the only run-to-run difference left under icount) is
/// not the op's cost.
const REPEATS: u32 = 5;

/// Most ops one benchmark test records.
const MAX_OPS: usize = 16;

struct Bench {
    n: u32,
    freq: u64,
    failed: bool,
    /// (op, calls, ticks, base): printed only after every measurement, so no console output
    /// (and no serial interrupt in Xen draining it) overlaps a measured loop.
    results: [(&'static str, u32, u64, &'static str); MAX_OPS],
    count: usize,
    /// Printed after each op's name as `@<suffix>` (the scaling benchmark's port count),
    /// except on the floors, which do not depend on it.
    suffix: Option<u32>,
}

impl Bench {
    /// Time `n` runs of `body` (the fastest of [`REPEATS`] loops); print the line.
    /// `body` returns Err to stop the run.
    fn record(&mut self, op: &'static str, ticks: u64, base: &'static str) {
        if self.count < MAX_OPS {
            self.results[self.count] = (op, self.n, ticks, base);
            self.count += 1;
        }
    }

    fn print(&self) {
        for &(op, n, ticks, base) in &self.results[..self.count] {
            let floor = matches!(op, "loop-overhead" | "timer-read-overhead" | "null-hypercall");
            match self.suffix {
                Some(s) if !floor => println!(
                    "bench {}@{} n={} ticks={} freq={} base={}",
                    op, s, n, ticks, self.freq, base
                ),
                _ => println!(
                    "bench {} n={} ticks={} freq={} base={}",
                    op, n, ticks, self.freq, base
                ),
            }
        }
    }

    fn run(
        &mut self,
        op: &'static str,
        mut body: impl FnMut() -> Result<(), (&'static str, Errno)>,
    ) {
        let mut best = u64::MAX;
        for _ in 0..REPEATS {
            if self.failed {
                return;
            }
            let t0 = timer::now();
            for _ in 0..self.n {
                if let Err((what, e)) = body() {
                    xtf_failure!("bench {}: {} failed with {:?}", op, what, e);
                    self.failed = true;
                    return;
                }
            }
            best = best.min(timer::now() - t0);
        }
        self.record(op, best, "loop-overhead");
    }

    /// Like `run`, but only the part of each iteration between `start` and `stop` counts:
    /// `body` gets a stopwatch and set-up/tear-down around the timed region is excluded.
    fn run_split(
        &mut self,
        op: &'static str,
        mut body: impl FnMut(&mut Stopwatch) -> Result<(), (&'static str, Errno)>,
    ) {
        let mut best = u64::MAX;
        for _ in 0..REPEATS {
            let mut sw = Stopwatch { total: 0, started: 0 };
            for _ in 0..self.n {
                if self.failed {
                    return;
                }
                if let Err((what, e)) = body(&mut sw) {
                    xtf_failure!("bench {}: {} failed with {:?}", op, what, e);
                    self.failed = true;
                    return;
                }
            }
            best = best.min(sw.total);
        }
        self.record(op, best, "timer-read-overhead");
    }
}

struct Stopwatch {
    total: u64,
    started: u64,
}

impl Stopwatch {
    fn start(&mut self) {
        self.started = timer::now();
    }
    fn stop(&mut self) {
        self.total += timer::now() - self.started;
    }
}

fn ctx(what: &'static str) -> impl FnOnce(Errno) -> (&'static str, Errno) {
    move |e| (what, e)
}

impl Bench {
    fn new(env: &Env<'_>) -> Self {
        let n = env.arg("n").and_then(|s| s.parse().ok()).unwrap_or(DEFAULT_CALLS);
        Bench {
            n,
            freq: timer::frequency(),
            failed: false,
            results: [("", 0, 0, ""); MAX_OPS],
            count: 0,
            suffix: None,
        }
    }

    /// The empty loop, the empty stopwatch and the null hypercall: what `ci/bench`
    /// subtracts, and the floor it reports.
    fn floors(&mut self) {
        self.run("loop-overhead", || {
            black_box(0u32);
            Ok(())
        });
        self.run_split("timer-read-overhead", |sw| {
            sw.start();
            sw.stop();
            Ok(())
        });
        self.run("null-hypercall", || {
            hypercall::xen_version().map(|_| ()).map_err(ctx("xen_version"))
        });
    }
}

xtf::register_test!(
    "bench-evtchn-2l",
    "time each 2-level event channel op over n calls (n=N, default 10000)",
    evtchn_2l
);
/// `test=bench-evtchn-2l [n=N]`: every 2-level op that one domain can time on its own.
pub fn evtchn_2l(env: &Env<'_>) {
    let mut b = Bench::new(env);
    let si = match shared_info::map() {
        Ok(si) => si,
        Err(e) => return xtf_failure!("mapping shared_info: {:?}", e),
    };
    // No upcalls: every port stays masked from the guest's point of view unless an op
    // clears it; Xen still does all of its own work (pending bit, vGIC injection).
    b.floors();

    // A loopback channel: `local` and `remote` are the two ends, both in this domain.
    let (local, remote) = match loopback() {
        Ok(p) => p,
        Err((what, e)) => return xtf_failure!("setting up a loopback channel: {} {:?}", what, e),
    };

    b.run("status", || evtchn::status(DOMID_SELF, local).map(|_| ()).map_err(ctx("status")));
    b.run("alloc_unbound+close", || {
        let p = evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF).map_err(ctx("alloc_unbound"))?;
        evtchn::close(p).map_err(ctx("close"))
    });
    let own = match evtchn::own_domid() {
        Ok(d) => d,
        Err(e) => return xtf_failure!("own domid: {:?}", e),
    };
    b.run_split("bind_interdomain", |sw| {
        let u = evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF).map_err(ctx("alloc_unbound"))?;
        sw.start();
        let p = evtchn::bind_interdomain(own, u);
        sw.stop();
        let p = p.map_err(ctx("bind_interdomain"))?;
        evtchn::close(p).map_err(ctx("close"))?;
        evtchn::close(u).map_err(ctx("close"))
    });
    // send to an unmasked port whose pending bit is clear: the full delivery path.
    si.clear_mask(remote);
    b.run_split("send-2l-unmasked", |sw| {
        si.clear_pending(remote);
        sw.start();
        let r = evtchn::send(local);
        sw.stop();
        r.map_err(ctx("send"))
    });
    // send to a masked port: pending is set, no notification.
    si.mask(remote);
    b.run_split("send-2l-masked", |sw| {
        si.clear_pending(remote);
        sw.start();
        let r = evtchn::send(local);
        sw.stop();
        r.map_err(ctx("send"))
    });
    // unmask of a masked port with an event pending: unmask delivers it.
    b.run_split("unmask-pending", |sw| {
        si.mask(remote);
        si.set_pending(remote);
        sw.start();
        let r = evtchn::unmask(remote);
        sw.stop();
        r.map_err(ctx("unmask"))
    });
    si.clear_pending(remote);
    let _ = evtchn::close(local);
    let _ = evtchn::close(remote);
    b.print();
    if !b.failed {
        xtf_success!();
    }
}

/// An interdomain channel from this domain to itself: (bound end, unbound end it joined).
fn loopback() -> Result<(EvtchnPort, EvtchnPort), (&'static str, Errno)> {
    let own = evtchn::own_domid().map_err(ctx("own_domid"))?;
    let remote = evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF).map_err(ctx("alloc_unbound"))?;
    let local = evtchn::bind_interdomain(own, remote).map_err(ctx("bind_interdomain"))?;
    Ok((local, remote))
}

xtf::register_test!(
    "bench-evtchn-fifo",
    "time each FIFO event channel op over n calls (n=N, default 10000)",
    evtchn_fifo
);
/// `test=bench-evtchn-fifo [n=N]`: the FIFO ABI's ops that one domain can time on its own.
///
/// `init_control` and `expand_array` happen once per domain, so each iteration first resets
/// the domain's event channels (EVTCHNOP_reset: back to 2L, untimed) and re-creates what the
/// timed op needs. The port ops run on a loopback channel with event array page 0 in place;
/// the guest plays its part of the ABI between calls (untimed): it clears PENDING and
/// LINKED as a consumer would, so every send takes the same path.
pub fn evtchn_fifo(env: &Env<'_>) {
    let mut b = Bench::new(env);
    b.floors();
    let cb = ControlBlock::at(fifo::control_gfn(0), 0);
    let setup = Fifo::new();
    // Zero the control page and event array pages 0 and 1 once (through Fifo), then back to 2L.
    let first = setup
        .init_control(0, 0)
        .map(|_| ())
        .and_then(|()| setup.expand())
        .and_then(|()| setup.expand());
    if let Err(e) = first.and_then(|()| evtchn::reset(DOMID_SELF)) {
        return xtf_failure!("FIFO set-up: {:?}", e);
    }
    let reset = || -> Result<(), (&'static str, Errno)> {
        evtchn::reset(DOMID_SELF).map_err(ctx("reset"))?;
        cb.clear();
        Ok(())
    };
    b.run_split("init_control", |sw| {
        reset()?;
        sw.start();
        let r = evtchn::init_control(fifo::control_gfn(0), 0, 0);
        sw.stop();
        r.map(|_| ()).map_err(ctx("init_control"))
    });
    // The second array page: the first is where every port below 1024 lives.
    b.run_split("expand_array", |sw| {
        reset()?;
        evtchn::init_control(fifo::control_gfn(0), 0, 0).map_err(ctx("init_control"))?;
        evtchn::expand_array(fifo::array_gfn(0)).map_err(ctx("expand_array"))?;
        sw.start();
        let r = evtchn::expand_array(fifo::array_gfn(1));
        sw.stop();
        r.map_err(ctx("expand_array"))
    });

    if let Err((what, e)) = reset() {
        return xtf_failure!("reset: {} {:?}", what, e);
    }
    let f = Fifo::new();
    if let Err(e) = f.init_control(0, 0).map(|_| ()).and_then(|()| f.expand()) {
        return xtf_failure!("FIFO set-up: {:?}", e);
    }
    let (local, remote) = match loopback() {
        Ok(p) => p,
        Err((what, e)) => return xtf_failure!("setting up a loopback channel: {} {:?}", what, e),
    };
    let idle = EventWord(0);
    b.run_split("send-fifo-unmasked", |sw| {
        f.set_word(remote, idle);
        sw.start();
        let r = evtchn::send(local);
        sw.stop();
        r.map_err(ctx("send"))
    });
    b.run_split("send-fifo-masked", |sw| {
        f.set_word(remote, EventWord(EventWordFlags::MASKED.bits()));
        sw.start();
        let r = evtchn::send(local);
        sw.stop();
        r.map_err(ctx("send"))
    });
    // unmask of a pending event the guest has just unmasked: Xen links it onto the queue.
    b.run_split("unmask-fifo-pending", |sw| {
        f.set_word(remote, EventWord(EventWordFlags::PENDING.bits()));
        sw.start();
        let r = evtchn::unmask(remote);
        sw.stop();
        r.map_err(ctx("unmask"))
    });
    b.run("set_priority", || evtchn::set_priority(remote, 7).map_err(ctx("set_priority")));
    b.run("status-fifo", || evtchn::status(DOMID_SELF, local).map(|_| ()).map_err(ctx("status")));
    f.set_word(remote, idle);
    let _ = evtchn::close(local);
    let _ = evtchn::close(remote);
    let _ = evtchn::reset(DOMID_SELF);
    b.print();
    if !b.failed {
        xtf_success!();
    }
}

xtf::register_test!(
    "bench-evtchn-scaling",
    "send and alloc_unbound on the top ports with ports=N bound: abi=fifo|2l n=N bind_n=M",
    evtchn_scaling
);
/// `test=bench-evtchn-scaling ports=N abi=fifo|2l [n=N] [bind_n=M]`: send and bind cost with
/// N ports in use (N up to the ABI's limit and the domain's
/// `xen,max-evtchn-port`, patches/0003).
///
/// Set-up (untimed): FIFO gets its control block and the N/1024 event array pages; unbound
/// ports to itself fill ports 1..N-4 (port 0 is reserved); a loopback channel takes N-3
/// (remote end) and N-2 (local end), so the sends go to a port at the top. The bind op is
/// EVTCHNOP_alloc_unbound, which takes the lowest free port: N-1, the last one, with
/// 0..N-2 in use (the close after it is untimed). C's free-port search walks every port from
/// 0, so on the C build a bind costs O(N) and so does each set-up call: set-up is O(N^2)
/// guest time (~454 s at N = 131 072), and the bind loop runs `bind_n` (default 200) calls,
/// not `n`. The Rust build starts the search at a free-port hint (patches/0004): O(1).
pub fn evtchn_scaling(env: &Env<'_>) {
    let mut b = Bench::new(env);
    let ports: u32 = match env.arg("ports").and_then(|s| s.parse().ok()) {
        Some(p) if p >= 8 => p,
        _ => return xtf_failure!("ports=N (N >= 8) is required"),
    };
    let fifo_abi = match env.arg("abi") {
        Some("fifo") => true,
        Some("2l") => false,
        _ => return xtf_failure!("abi=fifo or abi=2l is required"),
    };
    let bind_n = env.arg("bind_n").and_then(|s| s.parse().ok()).unwrap_or(200);
    b.floors();
    b.suffix = Some(ports);

    let f = Fifo::new();
    if fifo_abi {
        let pages = ports.div_ceil(xtf::abi::fifo::WORDS_PER_PAGE);
        let mut r = f.init_control(0, 0).map(|_| ());
        for _ in 0..pages {
            r = r.and_then(|()| f.expand());
        }
        if let Err(e) = r {
            return xtf_failure!("FIFO set-up ({} array pages): {:?}", pages, e);
        }
    }
    for want in 1..ports - 3 {
        match evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF) {
            Ok(p) if p == want => {}
            Ok(p) => return xtf_failure!("filling: got port {}, expected {}", p, want),
            Err(e) => return xtf_failure!("filling: alloc_unbound for port {}: {:?}", want, e),
        }
    }
    let (local, remote) = match loopback() {
        Ok(p) => p,
        Err((what, e)) => return xtf_failure!("setting up a loopback channel: {} {:?}", what, e),
    };
    if (remote, local) != (ports - 3, ports - 2) {
        return xtf_failure!(
            "loopback on ports {}/{}, expected {}/{}",
            remote,
            local,
            ports - 3,
            ports - 2
        );
    }

    if fifo_abi {
        b.run_split("send-fifo-unmasked", |sw| {
            f.set_word(remote, EventWord(0));
            sw.start();
            let r = evtchn::send(local);
            sw.stop();
            r.map_err(ctx("send"))
        });
        b.run_split("send-fifo-masked", |sw| {
            f.set_word(remote, EventWord(EventWordFlags::MASKED.bits()));
            sw.start();
            let r = evtchn::send(local);
            sw.stop();
            r.map_err(ctx("send"))
        });
        f.set_word(remote, EventWord(0));
    } else {
        let si = match shared_info::map() {
            Ok(si) => si,
            Err(e) => return xtf_failure!("mapping shared_info: {:?}", e),
        };
        si.clear_mask(remote);
        b.run_split("send-2l-unmasked", |sw| {
            si.clear_pending(remote);
            sw.start();
            let r = evtchn::send(local);
            sw.stop();
            r.map_err(ctx("send"))
        });
        si.mask(remote);
        b.run_split("send-2l-masked", |sw| {
            si.clear_pending(remote);
            sw.start();
            let r = evtchn::send(local);
            sw.stop();
            r.map_err(ctx("send"))
        });
        si.clear_pending(remote);
    }
    let calls = b.n;
    b.n = bind_n;
    let top = ports - 1;
    b.run_split(if fifo_abi { "alloc_unbound-fifo" } else { "alloc_unbound-2l" }, |sw| {
        sw.start();
        let p = evtchn::alloc_unbound(DOMID_SELF, DOMID_SELF);
        sw.stop();
        let p = p.map_err(ctx("alloc_unbound"))?;
        evtchn::close(p).map_err(ctx("close"))?;
        if p == top { Ok(()) } else { Err(("alloc_unbound: not the top port", Errno::EINVAL)) }
    });
    b.n = calls;
    let _ = evtchn::reset(DOMID_SELF);
    b.print();
    if !b.failed {
        xtf_success!();
    }
}

xtf::register_test!(
    "bench-evtchn-pingpong",
    "cross-domain round trip with upcalls: role=ping|pong port=P abi=2l|fifo n=N (two domUs)",
    evtchn_pingpong
);
/// `test=bench-evtchn-pingpong role=ping|pong port=P [abi=2l|fifo] [n=N]`: a cross-domain
/// send including the receiver's upcall. Two domUs share one pCPU (`-smp 1`)
/// and a static event channel. Each round trip: ping sends; Xen marks the port pending in
/// pong and injects the event PPI; ping waits (WFI, trapped by Xen: it blocks), so Xen
/// schedules pong; pong's upcall handler takes the event, pong sends back and waits; Xen
/// schedules ping, whose upcall takes the answer. The figure is per round trip, with two
/// sends, two upcalls, two blocks and two context switches: scheduling is included.
///
/// Start-up: Xen binds pong's end second, which leaves it pending at boot, so pong masks
/// and clears it before taking upcalls, unmasks it, then sends one "ready" event; ping sends
/// nothing before that arrives. From then on the two strictly alternate (nothing coalesces):
/// pong answers exactly REPEATS × n pings.
pub fn evtchn_pingpong(env: &Env<'_>) {
    let Some(port) = env.arg("port").and_then(|s| s.parse::<EvtchnPort>().ok()) else {
        return xtf_failure!("port=P is required");
    };
    let pong = match env.arg("role") {
        Some("ping") => false,
        Some("pong") => true,
        _ => return xtf_failure!("role=ping or role=pong is required"),
    };
    let (abi, op) = match env.arg("abi") {
        None | Some("2l") => (upcall::Abi::TwoLevel, "pingpong-2l-roundtrip"),
        Some("fifo") => (upcall::Abi::Fifo, "pingpong-fifo-roundtrip"),
        Some(a) => return xtf_failure!("abi={}: expected 2l or fifo", a),
    };
    let mut b = Bench::new(env);
    if pong {
        match shared_info::map() {
            Ok(si) => {
                si.mask(port);
                si.clear_pending(port);
            }
            Err(e) => return xtf_failure!("mapping shared_info: {:?}", e),
        }
    }
    // No watchdog: its timer interrupt would land in a measured loop.
    // FIFO: init_control carries a port still pending in 2L over to its queue, so a "ready"
    // that arrives before it is not lost.
    let cfg = upcall::Config { watchdog_ms: 0, ..upcall::Config::new(1, abi) };
    if let Err(e) = upcall::start(env, cfg) {
        return xtf_failure!("upcall set-up: {:?}", e);
    }
    if pong {
        if let Err(e) = evtchn::unmask(port).and_then(|()| evtchn::send(port)) {
            return xtf_failure!("unmask/ready send on port {}: {:?}", port, e);
        }
        for i in 1..=(REPEATS * b.n) as usize {
            wait_delivered(i);
            if let Err(e) = evtchn::send(port) {
                return xtf_failure!("answer {}: send({}): {:?}", i, port, e);
            }
        }
        return xtf_success!();
    }
    wait_delivered(1);
    b.floors();
    let mut answers = 1;
    b.run(op, || {
        answers += 1;
        evtchn::send(port).map_err(ctx("send"))?;
        wait_delivered(answers);
        Ok(())
    });
    b.print();
    if !b.failed {
        xtf_success!();
    }
}

/// Waits until vCPU 0's upcall has taken `count` events, blocking in Xen in between: IRQs
/// masked for the check, WFI (Xen traps it and blocks the vCPU unless an interrupt is
/// pending, masked or not), then unmasked so the upcall runs.
fn wait_delivered(count: usize) {
    loop {
        irq::disable();
        if upcall::delivered(0) >= count {
            irq::enable();
            return;
        }
        // SAFETY: WFI only waits for an interrupt (trapped to Xen, which blocks this vCPU);
        // it touches no memory. (xtf has no wrapper: its own uses are inside its runtime.)
        unsafe { core::arch::asm!("wfi", options(nomem, nostack, preserves_flags)) };
        irq::enable();
    }
}
