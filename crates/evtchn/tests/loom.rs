//! Model checks with loom (run by ci/test as `RUSTFLAGS="--cfg loom" cargo test -p evtchn
//! --test loom`; without `--cfg loom` this file is empty):
//!  - the FIFO link protocol (`fifo::set_link`) against a guest unlinking the same event
//!    word concurrently: every interleaving ends with BUSY clear, and a link Xen reports as
//!    made is either still in the word or was seen by the guest when it unlinked;
//!  - the two-channel lock order (`core::lock_pair`): two CPUs locking the same pair with the
//!    arguments swapped never deadlock (loom reports a deadlock as a failure).
#![cfg(loom)]

use evtchn::abi::FifoWord;
use evtchn::ops::{Channel, ChannelWrite, State, lock_pair};
use evtchn::fifo::{EventWord, Link, set_link};
use loom::sync::atomic::{AtomicU32, Ordering};
use loom::sync::{Arc, Mutex, MutexGuard};
use loom::thread;

struct Word(AtomicU32);

impl EventWord for Word {
    fn load(&self) -> u32 {
        self.0.load(Ordering::SeqCst)
    }
    fn cmpxchg(&self, old: u32, new: u32) -> u32 {
        match self.0.compare_exchange(old, new, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(v) | Err(v) => v,
        }
    }
    fn set_bits(&self, b: FifoWord) {
        self.0.fetch_or(b.bits(), Ordering::SeqCst);
    }
    fn clear_bits(&self, b: FifoWord) {
        self.0.fetch_and(!b.bits(), Ordering::SeqCst);
    }
}

/// The guest's unlink of a tail event (Linux: clear_linked()): returns the LINK it consumed.
fn guest_unlink(w: &AtomicU32) -> u32 {
    let mut cur = w.load(Ordering::SeqCst);
    loop {
        let new = cur & !(FifoWord::LINKED.bits() | FifoWord::LINK.bits());
        match w.compare_exchange(cur, new, Ordering::SeqCst, Ordering::SeqCst) {
            Ok(_) => return cur & FifoWord::LINK.bits(),
            Err(v) => cur = v,
        }
    }
}

#[test]
fn fifo_set_link_races_guest_unlink() {
    loom::model(|| {
        let word =
            Arc::new(Word(AtomicU32::new(FifoWord::LINKED.bits() | FifoWord::PENDING.bits())));
        let g = word.clone();
        let guest = thread::spawn(move || guest_unlink(&g.0));
        let r = set_link(&*word, 5);
        let seen = guest.join().unwrap();
        let end = word.load();
        assert_eq!(end & FifoWord::BUSY.bits(), 0, "BUSY left set");
        match r {
            Link::Linked => assert!(
                seen == 5
                    || (end & FifoWord::LINKED.bits() != 0 && end & FifoWord::LINK.bits() == 5),
                "link lost: seen={seen} end={end:#x}"
            ),
            Link::NotLinked => {
                assert_eq!(seen, 0);
                assert_eq!(end & FifoWord::LINK.bits(), 0);
            }
        }
    });
}

// ---- two-channel locking ----

struct Chan {
    key: usize,
    lock: Mutex<()>,
}

#[derive(Clone, Copy)]
struct C(&'static Chan);

struct W(#[allow(dead_code)] MutexGuard<'static, ()>);
impl ChannelWrite<D> for W {
    fn set_state(&mut self, _s: State<D>) {}
    fn set_notify_vcpu(&mut self, _v: u32) {}
    fn set_xen_consumer(&mut self, _c: u8) {}
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct D;

impl Channel<D> for C {
    type Write = W;
    type Read = W;
    fn port(self) -> u32 {
        self.0.key as u32
    }
    fn state(self) -> State<D> {
        State::Free
    }
    fn notify_vcpu(self) -> u32 {
        0
    }
    fn xen_consumer(self) -> u8 {
        0
    }
    fn set_notify_vcpu_unlocked(self, _v: u32) {}
    fn order_key(self) -> usize {
        self.0.key
    }
    fn write(self) -> W {
        W(self.0.lock.lock().unwrap())
    }
    fn read(self) -> W {
        self.write()
    }
    fn try_read(self) -> Option<W> {
        Some(self.write())
    }
}

#[test]
fn lock_pair_never_deadlocks() {
    loom::model(|| {
        let a = C(Box::leak(Box::new(Chan { key: 1, lock: Mutex::new(()) })));
        let b = C(Box::leak(Box::new(Chan { key: 2, lock: Mutex::new(()) })));
        let t = thread::spawn(move || {
            let _g = lock_pair(a, b);
        });
        {
            let _g = lock_pair(b, a);
        }
        t.join().unwrap();
    });
}
