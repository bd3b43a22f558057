//! Host tests of `evtchn::ops` against the reference model of crates/evtchn-model, on
//! random operation sequences (proptest), and direct tests of its host glue (lock order,
//! bind_vcpu's lock rule, the free-port hint). The model and the glue's checks are described
//! in that crate.

use evtchn::abi::{self, DOMID_SELF};
use evtchn::ops::{self, Channel, Domain, Env, StatusUnion};
use evtchn::twol::TwoLevelBits;
use evtchn_model::{Bits, HostChan, HostDom, HostEnv, Model, Op, step, world};
use proptest::prelude::*;
use xen_rust_glue::Errno;

/// Operations of `ndoms` domains: ports near the edges (0, the second bucket, the 2L limit,
/// 2^32-1), domids that exist, do not, and DOMID_SELF.
fn op_strategy(ndoms: usize) -> impl Strategy<Value = Op> {
    let cur = 0..ndoms;
    let port = prop_oneof![0u32..12, 60u32..70, Just(4095u32), Just(4096u32), Just(u32::MAX)];
    prop_oneof![
        (cur.clone(), 0u8..6).prop_map(|(cur, remote)| Op::AllocUnbound { cur, remote }),
        (cur.clone(), 0u8..6, port.clone()).prop_map(|(cur, rdom, rport)| Op::BindInterdomain {
            cur,
            rdom,
            rport
        }),
        (cur.clone(), prop_oneof![0u32..4, Just(23u32), Just(24u32)], 0u32..3)
            .prop_map(|(cur, virq, vcpu)| Op::BindVirq { cur, virq, vcpu }),
        (cur.clone(), 0u32..3).prop_map(|(cur, vcpu)| Op::BindIpi { cur, vcpu }),
        (cur.clone(), port.clone()).prop_map(|(cur, port)| Op::Close { cur, port }),
        (cur.clone(), port.clone()).prop_map(|(cur, port)| Op::Send { cur, port }),
        (cur.clone(), 0u8..6, port.clone()).prop_map(|(cur, dom, port)| Op::Status {
            cur,
            dom,
            port
        }),
        (cur.clone(), port.clone(), 0u32..3).prop_map(|(cur, port, vcpu)| Op::BindVcpu {
            cur,
            port,
            vcpu
        }),
        (cur.clone(), 0u32..70).prop_map(|(cur, port)| Op::Mask { cur, port }),
        (cur.clone(), port.clone()).prop_map(|(cur, port)| Op::Unmask { cur, port }),
        (cur.clone(), 0u32..70).prop_map(|(cur, port)| Op::ClearPending { cur, port }),
        cur.clone().prop_map(|cur| Op::Reset { cur }),
        (cur, 0u32..12, any::<bool>()).prop_map(|(cur, port, busy)| Op::Busy { cur, port, busy }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Random sequences of operations from three domains give the model's results, keep the
    /// active counts and pending bits the model predicts, and never break a locking rule.
    #[test]
    fn operations_match_the_model(ops in prop::collection::vec(op_strategy(3), 1..120)) {
        let w = world(3, 4095);
        let mut m = Model::new(3, 4095);
        for op in &ops {
            let _ = step(&w, &mut m, op); // checked inside: only the comparison matters
        }
    }

    /// A small max_evtchn_port: allocation stops with ENOSPC exactly where the model does.
    #[test]
    fn port_limit_matches_the_model(ops in prop::collection::vec(op_strategy(2), 1..80), max in 1u32..10) {
        let w = world(2, max);
        let mut m = Model::new(2, max);
        for op in &ops {
            let _ = step(&w, &mut m, op); // checked inside: only the comparison matters
        }
    }
}

/// The free-port hint (core::get_free_port) returns the port C's walk from 0 returns: the
/// lowest port that is free and not busy, after closes below the hint, with busy ports below
/// and above it, and up to ENOSPC. And it is why a fill is linear: port lookups are counted.
#[test]
fn free_port_hint_gives_the_lowest_free_port() {
    let max = 4095;
    let w = world(1, max);
    let mut m = Model::new(1, max);
    let mut step = |op: Op| step(&w, &mut m, &op);
    let alloc = Op::AllocUnbound { cur: 0, remote: 5 };
    w.doms[0].lookups.set(0);
    for want in 1..=max {
        assert_eq!(step(alloc.clone()), Ok((want, 0, 0, 0)));
    }
    // A walk from 0 would look up ~max^2/2 = 8.4 million ports; the hint, a few per call.
    let lookups = w.doms[0].lookups.get();
    assert!(lookups < 8 * u64::from(max), "{lookups} port lookups to fill {max} ports");
    assert_eq!(step(alloc.clone()), Err(Errno::ENOSPC));
    assert_eq!(step(alloc.clone()), Err(Errno::ENOSPC));
    // Close 3000, then 7 and 9 below it; 7 stays busy (linked) for a while.
    for p in [3000, 9, 7] {
        step(Op::Close { cur: 0, port: p }).unwrap();
    }
    step(Op::Busy { cur: 0, port: 7, busy: true }).unwrap();
    assert_eq!(step(alloc.clone()), Ok((9, 0, 0, 0)));
    assert_eq!(step(alloc.clone()), Ok((3000, 0, 0, 0)));
    assert_eq!(step(alloc.clone()), Err(Errno::ENOSPC));
    // No call into the event channel code when the port stops being busy: the hint must
    // not have passed it.
    step(Op::Busy { cur: 0, port: 7, busy: false }).unwrap();
    assert_eq!(step(alloc.clone()), Ok((7, 0, 0, 0)));
    // A reset frees everything: allocation starts at 1 again.
    step(Op::Reset { cur: 0 }).unwrap();
    assert_eq!(step(alloc.clone()), Ok((1, 0, 0, 0)));
    assert_eq!(step(alloc), Ok((2, 0, 0, 0)));
}

#[test]
fn interdomain_loop_close_and_rebind() {
    let w = world(2, 4095);
    let env = HostEnv(&w);
    w.current.set(1);
    let p = ops::alloc_unbound(&env, DOMID_SELF, 1, 0).unwrap();
    w.current.set(0);
    let lp = ops::bind_interdomain(&env, env.current(), 2, p, 0).unwrap();
    assert_eq!(lp, 1);
    ops::send(&env, env.current(), lp).unwrap();
    assert!(Bits(&w.doms[1]).test_pending(p));
    ops::close(&env, env.current(), lp, true).unwrap();
    // The peer is unbound again, offered to d1: it can be bound again.
    let s = ops::status(&env, 2, p).unwrap();
    assert_eq!(s.status, abi::stat::UNBOUND);
    assert_eq!(s.u, StatusUnion::Dom(1));
    assert_eq!(ops::bind_interdomain(&env, env.current(), 2, p, 0), Ok(1));
}

#[test]
fn loopback_in_one_domain() {
    let w = world(1, 4095);
    let env = HostEnv(&w);
    let p = ops::alloc_unbound(&env, DOMID_SELF, DOMID_SELF, 0).unwrap();
    let lp = ops::bind_interdomain(&env, env.current(), DOMID_SELF, p, 0).unwrap();
    ops::send(&env, env.current(), lp).unwrap();
    assert!(Bits(&w.doms[0]).test_pending(p));
    ops::close(&env, env.current(), p, true).unwrap();
    assert_eq!(ops::status(&env, DOMID_SELF, lp).unwrap().status, abi::stat::UNBOUND);
}

#[test]
fn two_channel_lock_order_is_by_key_whatever_the_argument_order() {
    let w = world(2, 4095);
    // Two free channels (C's lock rule allows write-locking those).
    let a = HostChan { d: HostDom { w: &w, i: 1 }, port: 3 };
    let b = HostChan { d: HostDom { w: &w, i: 0 }, port: 5 };
    // lock_pair(a, b) must lock b first (lower key); the host lock asserts the order.
    let (ga, gb) = ops::lock_pair(a, b);
    drop((ga, gb));
    let (gb, ga) = ops::lock_pair(b, a);
    drop((ga, gb));
}

/// EVTCHNOP_bind_vcpu moves a bound channel (global VIRQ, interdomain) under the event lock
/// alone, as C's evtchn_bind_vcpu: the channel's write lock would make a VIRQ sender's
/// read-trylock fail and drop the event (C's lock rule, checked by HostWrite's drop). Here a
/// sender holds the channel's read lock while the channel moves, as on another pCPU.
#[test]
fn bind_vcpu_moves_bound_channels_without_the_channel_lock() {
    let w = world(1, 4095);
    let env = HostEnv(&w);
    let d = env.current();
    let global_virq = 3;
    assert!(abi::virq_is_global(global_virq));
    let v = ops::bind_virq(&env, global_virq, 0, 0).unwrap();
    let a = ops::alloc_unbound(&env, DOMID_SELF, DOMID_SELF, 0).unwrap();
    let b = ops::bind_interdomain(&env, d, DOMID_SELF, a, 0).unwrap();
    for (port, vcpu) in [(v, 1), (v, 1), (v, 0), (a, 1), (b, 1), (b, 0)] {
        let sender = d.chan(port).unwrap().read();
        assert_eq!(ops::bind_vcpu(&env, port, vcpu), Ok(()), "bind_vcpu({port}, {vcpu})");
        drop(sender);
        assert_eq!(ops::status(&env, DOMID_SELF, port).unwrap().vcpu, vcpu);
    }
    // An unbound channel moves too (and may be write-locked: nothing sends on it).
    let u = ops::alloc_unbound(&env, DOMID_SELF, 2, 0).unwrap();
    assert_eq!(ops::bind_vcpu(&env, u, 1), Ok(()));
    assert_eq!(ops::status(&env, DOMID_SELF, u).unwrap().vcpu, 1);
}
