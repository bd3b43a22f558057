//! V4V ring arithmetic (crates/v4v/src/ring.rs) against a queue model, on arbitrary op
//! streams: sends of one or several segments (some pointing outside the sender's buffer),
//! receives, and a hostile ring owner writing any rx_ptr.
//!
//! What must hold for every input:
//! - no panic and no write outside the data area (`SliceRing` slices would panic);
//! - with an honest receiver, every message reads back intact and in order, and the verdict
//!   (sent, EAGAIN, EMSGSIZE) is the model's, from the free-space rule in docs/v4v.md;
//! - a send refused with EFAULT (a segment past the sender's buffer) leaves the ring's bytes
//!   and tx unchanged;
//! - after a hostile rx_ptr, Xen's tx stays 16-aligned and inside the ring (the model is
//!   dropped: the owner has given up its own ring's consistency, which is all it can harm).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::collections::VecDeque;
use v4v::abi::{Addr, MessageHeader};
use v4v::ring::{self, Segment, SliceRing};
use xen_rust_glue::Errno;

/// The sender's buffer: "addresses" in segments are indexes into it.
const SRC_LEN: usize = 8192;

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(*b)
    }
    fn u16(&mut self) -> Option<u16> {
        Some(u16::from(self.byte()?) | (u16::from(self.byte()?) << 8))
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from(self.u16()?) | (u32::from(self.u16()?) << 16))
    }
}

fn header(seq: u32) -> MessageHeader {
    MessageHeader { len: 0, source: Addr { port: seq, domain: 1, pad: 0 }, protocol: !seq }
}

fn pattern(seq: u32, i: usize) -> u8 {
    (seq as usize).wrapping_mul(31).wrapping_add(i) as u8
}

fuzz_target!(|data: &[u8]| {
    let mut inp = Input(data);
    let Some(k) = inp.byte() else { return };
    // Data area: 32 bytes to 4 KiB, a multiple of 16.
    let len = 16 * (2 + u32::from(k) % 255);
    let mut ring_bytes = vec![0u8; len as usize];
    let mut src = vec![0u8; SRC_LEN];
    let (mut rx, mut tx) = (0u32, 0u32);
    // Sent but not yet received: (seq, payload length). None once the owner turned hostile.
    let mut model: Option<VecDeque<(u32, usize)>> = Some(VecDeque::new());
    let mut seq = 0u32;

    while let Some(op) = inp.byte() {
        match op % 4 {
            // send: 1..=3 segments of the sender's buffer
            0 | 1 => {
                let nseg = 1 + usize::from(op / 4 % 3);
                let mut segs = [Segment { addr: 0, len: 0 }; 3];
                let mut payload = 0usize;
                let mut faulty = false;
                let mut base = 0usize;
                for s in segs.iter_mut().take(nseg) {
                    let Some(l) = inp.u16() else { return };
                    let l = usize::from(l) % 2048;
                    // One in 16 segments points past the end of the sender's buffer.
                    let bad = inp.byte().is_some_and(|b| b % 16 == 0);
                    let addr = if bad { SRC_LEN - l / 2 } else { base % (SRC_LEN - 2048) };
                    faulty |= bad && l > 0; // [addr, addr + l) ends past SRC_LEN
                    *s = Segment { addr: addr as u64, len: l as u32 };
                    if !bad {
                        for i in 0..l {
                            src[addr + i] = pattern(seq, payload + i);
                        }
                        base += l;
                    }
                    payload += l;
                }
                let before = ring_bytes.clone();
                let slot = ring::slot_len(payload as u32).unwrap();
                let fits = slot <= ring::usable_space(len, rx, tx);
                let r = ring::write_message(
                    &mut SliceRing { ring: &mut ring_bytes, src: &src },
                    rx,
                    tx,
                    header(seq),
                    &segs[..nseg],
                );
                match r {
                    Ok(new_tx) => {
                        assert!(!faulty, "a send reading past the sender's buffer succeeded");
                        assert!(fits, "sent a message the free-space rule refuses");
                        assert!(new_tx < len && new_tx % 16 == 0);
                        tx = new_tx;
                        if let Some(m) = model.as_mut() {
                            m.push_back((seq, payload));
                        }
                        seq += 1;
                    }
                    Err(e) => {
                        assert_eq!(ring_bytes, before, "a refused send ({e:?}) wrote the ring");
                        match e {
                            Errno::EMSGSIZE => assert!(slot > len - 16),
                            Errno::EAGAIN => assert!(slot <= len - 16 && !fits),
                            Errno::EFAULT => assert!(faulty && fits),
                            other => panic!("unexpected errno {other:?}"),
                        }
                    }
                }
            }
            // receive one message (honest owner), check it against the model
            2 => {
                let Some(m) = model.as_mut() else { continue };
                let mut out = vec![0u8; len as usize];
                match ring::read_message(&ring_bytes, rx, tx, &mut out) {
                    None => assert!(m.is_empty(), "ring empty but {} messages owed", m.len()),
                    Some((hdr, n, next)) => {
                        let (want_seq, want_len) = m.pop_front().expect("a message nobody sent");
                        assert_eq!(hdr.source.port, want_seq);
                        assert_eq!(hdr.protocol, !want_seq);
                        assert_eq!(n, want_len);
                        assert_eq!(hdr.len as usize, 16 + want_len);
                        for (i, b) in out[..n].iter().enumerate() {
                            assert_eq!(*b, pattern(want_seq, i), "payload byte {i} of {want_seq}");
                        }
                        rx = next;
                    }
                }
            }
            // hostile owner: any rx_ptr
            _ => {
                let Some(v) = inp.u32() else { return };
                rx = v;
                model = None;
            }
        }
    }
});
