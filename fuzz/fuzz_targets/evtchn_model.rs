//! The event channel operations (crates/evtchn's `ops` and 2-level logic, over the host
//! glue of crates/evtchn-model) against that crate's independent reference model,
//! driven by arbitrary operation sequences: every result must equal the model's, and the
//! host glue's locking and accounting checks must hold after every step (a panic is a
//! finding). The proptest suite runs the same model with its own strategies; this target
//! lets libFuzzer steer the sequences by coverage.
#![no_main]

use evtchn_model::{Model, Op, step, world};
use libfuzzer_sys::fuzz_target;

/// Ports the way the proptest strategy draws them: low ports, the second bucket's edge,
/// the 2L limit and past it, and 2^32-1.
fn port(b: u8) -> u32 {
    match b % 20 {
        x @ 0..=11 => u32::from(x),
        x @ 12..=16 => 60 + u32::from(x - 12),
        17 => 4095,
        18 => 4096,
        _ => u32::MAX,
    }
}

fn decode(ndoms: usize, c: &[u8]) -> Op {
    let cur = usize::from(c[1]) % ndoms;
    let (a, b) = (c[2], c[3]);
    match c[0] % 13 {
        0 => Op::AllocUnbound { cur, remote: a % 6 },
        1 => Op::BindInterdomain { cur, rdom: a % 6, rport: port(b) },
        2 => Op::BindVirq {
            cur,
            virq: [0, 1, 2, 3, 23, 24][usize::from(a % 6)],
            vcpu: u32::from(b % 3),
        },
        3 => Op::BindIpi { cur, vcpu: u32::from(a % 3) },
        4 => Op::Close { cur, port: port(a) },
        5 => Op::Send { cur, port: port(a) },
        6 => Op::Status { cur, dom: a % 6, port: port(b) },
        7 => Op::BindVcpu { cur, port: port(a), vcpu: u32::from(b % 3) },
        8 => Op::Mask { cur, port: u32::from(a % 70) },
        9 => Op::Unmask { cur, port: port(a) },
        10 => Op::ClearPending { cur, port: u32::from(a % 70) },
        11 => Op::Reset { cur },
        _ => Op::Busy { cur, port: u32::from(a % 12), busy: b & 1 == 1 },
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&head, rest)) = data.split_first() else { return };
    // Three domains with the domU port limit, or two with a tiny one (ENOSPC paths).
    let (ndoms, max) = if head & 1 == 0 { (3, 4095) } else { (2, 1 + u32::from(head >> 1) % 10) };
    let w = world(ndoms, max);
    let mut m = Model::new(ndoms, max);
    for c in rest.chunks_exact(4).take(400) {
        let _ = step(&w, &mut m, &decode(ndoms, c)); // checked inside
    }
});
