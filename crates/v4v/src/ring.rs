//! Ring arithmetic: free space, 16-byte message slots, wrap-around, and writing one message.
//!
//! Offsets here are into the ring's data area `ring[]` (`len` bytes, after the 64-byte
//! header). Xen owns `tx` (it is never read back from the guest); `rx` is the receiver's and
//! is sanitised on every use ([`sanitize_rx`]), so a bogus value only changes how much space
//! Xen believes the ring has, never where it writes: every write lies in `[0, len)` because
//! `tx < len`, `tx % 16 == 0` and each chunk is cut at the end of the ring.
//!
//! Everything here is a pure function of its arguments (plus the [`RingMem`] it writes), so it
//! can be fuzzed as is: [`write_message_into`] writes one message into a plain byte slice.

use crate::abi::MessageHeader;
use xen_rust_glue::Errno;

/// Message granularity: every message starts at a multiple of 16 bytes.
pub const ROUNDUP: u32 = 16;
/// Bytes of a message header.
pub const MSG_HEADER: u32 = 16;

/// Bytes a message with `payload` bytes occupies: ROUNDUP16(16 + payload), `None` on overflow.
pub const fn slot_len(payload: u32) -> Option<u32> {
    match payload.checked_add(MSG_HEADER + ROUNDUP - 1) {
        Some(v) => Some(v & !(ROUNDUP - 1)),
        None => None,
    }
}

/// The receiver's rx_ptr made safe to compute with (as Argo's get_sanitized_ring): rounded up
/// to 16, and 0 if that is not inside the ring. `len` must be a non-zero multiple of 16.
pub const fn sanitize_rx(rx: u32, len: u32) -> u32 {
    let r = match rx.checked_add(ROUNDUP - 1) {
        Some(v) => v & !(ROUNDUP - 1),
        None => 0,
    };
    if r >= len { 0 } else { r }
}

/// Free bytes between `tx` and the (sanitised) `rx`, before keeping one slot free.
/// Empty ring (`rx == tx`): `len`. Requires `rx, tx < len`.
pub const fn raw_space(len: u32, rx: u32, tx: u32) -> u32 {
    if rx <= tx { len - (tx - rx) } else { rx - tx }
}

/// Bytes a new message may occupy now: [`raw_space`] less the 16-byte slot Xen keeps free so
/// that a full ring never looks empty. `rx` is the raw guest value; `tx` is Xen's (valid).
pub const fn usable_space(len: u32, rx: u32, tx: u32) -> u32 {
    raw_space(len, sanitize_rx(rx, len), tx) - ROUNDUP
}

/// Whether the ring is empty (receiver has consumed everything).
pub const fn is_empty(len: u32, rx: u32, tx: u32) -> bool {
    sanitize_rx(rx, len) == tx
}

/// Whether a payload of `n` bytes fits now.
pub const fn fits_now(len: u32, rx: u32, tx: u32, n: u32) -> bool {
    match slot_len(n) {
        Some(s) => s <= usable_space(len, rx, tx),
        None => false,
    }
}

/// Where a ring's bytes go. Implemented over mapped guest pages in Xen and over a slice on
/// the host. Contract on callers (this module): `off + bytes <= len` for every call, i.e. no
/// call crosses the end of the data area.
#[allow(clippy::len_without_is_empty)] // a ring is never empty-sized
pub trait RingMem {
    /// Length of the data area `ring[]`.
    fn len(&self) -> u32;
    /// Write `bytes` at data offset `off`.
    fn write(&mut self, off: u32, bytes: &[u8]);
    /// Copy `n` bytes from the sender's buffer at `src` to data offset `off`; `EFAULT` if the
    /// sender's buffer cannot be read (some bytes may then have been written, past tx only).
    fn copy_in(&mut self, off: u32, src: u64, n: u32) -> Result<(), Errno>;
    /// Copy `dst.len()` bytes of the sender's buffer at `src` into Xen memory (`EFAULT`).
    fn read_src(&mut self, src: u64, dst: &mut [u8]) -> Result<(), Errno>;
    /// Check that every page of the sender's `[src, src + n)` is readable now (`EFAULT`).
    fn probe(&mut self, src: u64, n: u32) -> Result<(), Errno>;
}

/// Payloads up to this size are gathered into a Xen buffer before anything is written (one
/// copy from the guest, as the direct path, plus a small memcpy); larger ones have every
/// source page probed first and are then copied straight into the ring.
pub const BOUNCE_MAX: u32 = 256;

/// One contiguous piece of the sender's payload (a checked iov).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    pub addr: u64,
    pub len: u32,
}

/// Write a message (header `hdr`, payload the concatenation of `segs`) at `tx`.
///
/// Returns the new tx. Errors: `EMSGSIZE` if the message could never fit this ring, `EAGAIN`
/// if it does not fit now, `EFAULT` from [`RingMem::copy_in`] (tx unchanged: the caller keeps
/// its old tx, so the bytes written are beyond the receiver's view). `tx` must be Xen's own
/// (16-aligned, `< len`); `rx` is the raw guest value. `hdr.len` is set here.
pub fn write_message<M: RingMem>(
    mem: &mut M,
    rx: u32,
    tx: u32,
    mut hdr: MessageHeader,
    segs: &[Segment],
) -> Result<u32, Errno> {
    let len = mem.len();
    debug_assert!(
        len >= 32 && len.is_multiple_of(ROUNDUP) && tx < len && tx.is_multiple_of(ROUNDUP)
    );
    let mut payload: u32 = 0;
    for s in segs {
        payload = payload.checked_add(s.len).ok_or(Errno::EMSGSIZE)?;
    }
    let slot = slot_len(payload).ok_or(Errno::EMSGSIZE)?;
    if slot > len - ROUNDUP {
        return Err(Errno::EMSGSIZE);
    }
    if slot > usable_space(len, rx, tx) {
        return Err(Errno::EAGAIN);
    }
    hdr.len = MSG_HEADER + payload; // cannot overflow: slot_len succeeded
    // A sender's bad buffer must leave the ring untouched: find out before writing.
    if payload <= BOUNCE_MAX {
        let mut buf = [0u8; BOUNCE_MAX as usize];
        let mut k = 0usize;
        for s in segs {
            mem.read_src(s.addr, &mut buf[k..k + s.len as usize])?;
            k += s.len as usize;
        }
        mem.write(tx, &hdr.to_bytes());
        let off = advance(tx, MSG_HEADER, len);
        let first = (len - off).min(payload);
        mem.write(off, &buf[..first as usize]);
        mem.write(0, &buf[first as usize..k]);
        return Ok(advance(tx, slot, len));
    }
    for s in segs {
        mem.probe(s.addr, s.len)?;
    }
    // tx and len are multiples of 16: the header never straddles the end.
    mem.write(tx, &hdr.to_bytes());
    let mut off = advance(tx, MSG_HEADER, len);
    for s in segs {
        let mut done = 0u32;
        while done < s.len {
            let n = (s.len - done).min(len - off);
            mem.copy_in(off, s.addr + done as u64, n)?;
            done += n;
            off = advance(off, n, len);
        }
    }
    Ok(advance(tx, slot, len))
}

/// `(off + n) mod len` for `off < len`, `n <= len`, without overflow.
const fn advance(off: u32, n: u32, len: u32) -> u32 {
    let room = len - off;
    if n >= room { n - room } else { off + n }
}

/// A ring in a plain byte slice (the data area only), with the payload source a slice whose
/// "addresses" are indexes. For host tests and fuzzing.
pub struct SliceRing<'a> {
    pub ring: &'a mut [u8],
    pub src: &'a [u8],
}

impl RingMem for SliceRing<'_> {
    fn len(&self) -> u32 {
        self.ring.len() as u32
    }
    fn write(&mut self, off: u32, bytes: &[u8]) {
        let o = off as usize;
        self.ring[o..o + bytes.len()].copy_from_slice(bytes);
    }
    fn copy_in(&mut self, off: u32, src: u64, n: u32) -> Result<(), Errno> {
        let s = usize::try_from(src).map_err(|_| Errno::EFAULT)?;
        let e = s.checked_add(n as usize).ok_or(Errno::EFAULT)?;
        let bytes = self.src.get(s..e).ok_or(Errno::EFAULT)?;
        let o = off as usize;
        self.ring[o..o + n as usize].copy_from_slice(bytes);
        Ok(())
    }
    fn read_src(&mut self, src: u64, dst: &mut [u8]) -> Result<(), Errno> {
        let s = usize::try_from(src).map_err(|_| Errno::EFAULT)?;
        let e = s.checked_add(dst.len()).ok_or(Errno::EFAULT)?;
        dst.copy_from_slice(self.src.get(s..e).ok_or(Errno::EFAULT)?);
        Ok(())
    }
    fn probe(&mut self, src: u64, n: u32) -> Result<(), Errno> {
        let s = usize::try_from(src).map_err(|_| Errno::EFAULT)?;
        let e = s.checked_add(n as usize).ok_or(Errno::EFAULT)?;
        self.src.get(s..e).map(|_| ()).ok_or(Errno::EFAULT)
    }
}

/// Fuzzing entry point: write one message carrying all of `payload` into `ring` (a data area
/// whose length is a multiple of 16, at least 32, below 2^32) at `tx` with the receiver at
/// `rx`. Returns the new tx, or the error the hypercall would return.
pub fn write_message_into(
    ring: &mut [u8],
    rx: u32,
    tx: u32,
    hdr: MessageHeader,
    payload: &[u8],
) -> Result<u32, Errno> {
    let len = u32::try_from(ring.len()).map_err(|_| Errno::EINVAL)?;
    if len < 32 || !len.is_multiple_of(ROUNDUP) || tx >= len || !tx.is_multiple_of(ROUNDUP) {
        return Err(Errno::EINVAL);
    }
    let plen = u32::try_from(payload.len()).map_err(|_| Errno::EMSGSIZE)?;
    let segs = [Segment { addr: 0, len: plen }];
    write_message(&mut SliceRing { ring, src: payload }, rx, tx, hdr, &segs)
}

/// Read the message at `rx` out of a data area (the receiver's side, for tests): returns the
/// header, the payload and the next rx, or `None` if the ring is empty at `rx == tx`.
pub fn read_message(
    ring: &[u8],
    rx: u32,
    tx: u32,
    out: &mut [u8],
) -> Option<(MessageHeader, usize, u32)> {
    let len = ring.len() as u32;
    if rx == tx {
        return None;
    }
    let mut h = [0u8; 16];
    let mut off = rx;
    for b in h.iter_mut() {
        *b = ring[off as usize];
        off = advance(off, 1, len);
    }
    let hdr = MessageHeader::from_bytes(&h);
    let n = hdr.len.checked_sub(MSG_HEADER)? as usize;
    for b in out.get_mut(..n)? {
        *b = ring[off as usize];
        off = advance(off, 1, len);
    }
    Some((hdr, n, advance(rx, slot_len(n as u32)?, len)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::Addr;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    fn hdr(p: u32) -> MessageHeader {
        MessageHeader { len: 0, source: Addr { port: 5, domain: 2, pad: 0 }, protocol: p }
    }

    #[test]
    fn slots_and_space() {
        assert_eq!(slot_len(0), Some(16));
        assert_eq!(slot_len(1), Some(32));
        assert_eq!(slot_len(16), Some(32));
        assert_eq!(slot_len(17), Some(48));
        assert_eq!(slot_len(u32::MAX - 30), None);
        assert_eq!(raw_space(64, 0, 0), 64);
        assert_eq!(usable_space(64, 0, 0), 48);
        assert_eq!(usable_space(64, 0, 48), 0); // full: one slot kept free
        assert_eq!(usable_space(64, 32, 16), 0);
        assert_eq!(usable_space(64, 16, 32), 32);
        assert!(is_empty(64, 16, 16));
        assert!(!is_empty(64, 0, 16));
    }

    #[test]
    fn bogus_rx_is_sanitised() {
        assert_eq!(sanitize_rx(1, 64), 16);
        assert_eq!(sanitize_rx(49, 64), 0);
        assert_eq!(sanitize_rx(64, 64), 0);
        assert_eq!(sanitize_rx(u32::MAX, 64), 0);
        assert_eq!(sanitize_rx(u32::MAX - 14, 64), 0);
        for rx in [0, 1, 15, 17, 63, 64, 1000, u32::MAX] {
            for tx in (0..64).step_by(16) {
                assert!(usable_space(64, rx, tx) <= 48);
            }
        }
    }

    #[test]
    fn wraps_payload_around_the_end() {
        let mut ring = [0u8; 64];
        let payload: Vec<u8> = (1..=24).collect();
        // rx = tx = 32: empty; the 48-byte slot runs 32..64 then 0..16.
        let tx = write_message_into(&mut ring, 32, 32, hdr(9), &payload).unwrap();
        assert_eq!(tx, 16);
        let mut out = [0u8; 64];
        let (h, n, rx) = read_message(&ring, 32, tx, &mut out).unwrap();
        assert_eq!((h.len, h.protocol, h.source.domain, n, rx), (40, 9, 2, 24, 16));
        assert_eq!(&out[..24], &payload[..]);
        assert_eq!(ring[48..64], payload[..16]);
        assert_eq!(ring[0..8], payload[16..24]);
    }

    #[test]
    fn errors() {
        let mut ring = [0u8; 64];
        assert_eq!(write_message_into(&mut ring, 0, 0, hdr(0), &[0; 33]), Err(Errno::EMSGSIZE));
        assert_eq!(write_message_into(&mut ring, 0, 0, hdr(0), &[0; 32]), Ok(48));
        assert_eq!(write_message_into(&mut ring, 0, 48, hdr(0), &[]), Err(Errno::EAGAIN));
        assert_eq!(write_message_into(&mut ring, 0, 8, hdr(0), &[]), Err(Errno::EINVAL));
        assert_eq!(write_message_into(&mut ring, 0, 64, hdr(0), &[]), Err(Errno::EINVAL));
        assert_eq!(write_message_into(&mut [0u8; 40], 0, 0, hdr(0), &[]), Err(Errno::EINVAL));
        // A fault in the payload: error, and the caller keeps its tx.
        let mut r = SliceRing { ring: &mut ring, src: &[1, 2, 3] };
        let segs = [Segment { addr: 2, len: 4 }];
        assert_eq!(write_message(&mut r, 0, 0, hdr(0), &segs), Err(Errno::EFAULT));
    }

    #[test]
    fn a_bad_source_writes_nothing() {
        for n in [4u32, BOUNCE_MAX, BOUNCE_MAX + 1, 1000] {
            let mut ring = vec![0x5au8; 2048];
            let src = vec![1u8; n as usize - 1];
            let mut r = SliceRing { ring: &mut ring, src: &src };
            let segs = [Segment { addr: 0, len: 1 }, Segment { addr: 1, len: n - 1 }];
            assert_eq!(write_message(&mut r, 0, 0, hdr(0), &segs), Err(Errno::EFAULT), "{n}");
            assert!(ring.iter().all(|&b| b == 0x5a), "{n}: ring written");
        }
    }

    /// Records every copy and checks it lies inside one of the sender's segments.
    struct Checked<'a> {
        inner: SliceRing<'a>,
        segs: Vec<Segment>,
    }
    impl RingMem for Checked<'_> {
        fn len(&self) -> u32 {
            self.inner.len()
        }
        fn write(&mut self, off: u32, b: &[u8]) {
            assert!(off as usize + b.len() <= self.inner.ring.len());
            self.inner.write(off, b)
        }
        fn copy_in(&mut self, off: u32, src: u64, n: u32) -> Result<(), Errno> {
            assert!(off + n <= self.inner.len(), "write crosses the end of the ring");
            assert!(
                self.segs.iter().any(|s| src >= s.addr && src + n as u64 <= s.addr + s.len as u64),
                "read outside the iovs"
            );
            self.inner.copy_in(off, src, n)
        }
        fn read_src(&mut self, src: u64, dst: &mut [u8]) -> Result<(), Errno> {
            let n = dst.len() as u64;
            assert!(
                self.segs.iter().any(|s| src >= s.addr && src + n <= s.addr + s.len as u64),
                "read outside the iovs"
            );
            self.inner.read_src(src, dst)
        }
        fn probe(&mut self, src: u64, n: u32) -> Result<(), Errno> {
            self.inner.probe(src, n)
        }
    }

    proptest! {
        /// Sends and receives against a queue model: what the receiver reads is exactly what
        /// was sent, EAGAIN exactly when the model says the ring is full, and Xen never reads
        /// outside the segments or writes past the end.
        #[test]
        fn matches_queue_model(
            len16 in 2u32..80,
            ops in proptest::collection::vec((any::<bool>(), 0u32..600, 1usize..4), 1..80),
        ) {
            let len = len16 * 16;
            let mut ring = vec![0u8; len as usize];
            let src: Vec<u8> = (0..2400u32).map(|i| (i * 7 + 3) as u8).collect();
            let (mut rx, mut tx) = (0u32, 0u32);
            let mut model: VecDeque<(u32, Vec<u8>)> = VecDeque::new();
            let mut used = 0u32;
            let mut proto = 0u32;
            for (send, n, nseg) in ops {
                if send {
                    proto += 1;
                    let per = n / nseg as u32;
                    let segs: Vec<Segment> = (0..nseg)
                        .map(|i| Segment { addr: i as u64 * 600, len: if i + 1 == nseg { n - per * i as u32 } else { per } })
                        .collect();
                    let mut m = Checked { inner: SliceRing { ring: &mut ring, src: &src }, segs: segs.clone() };
                    let r = write_message(&mut m, rx, tx, hdr(proto), &segs);
                    let slot = slot_len(n).unwrap();
                    if slot > len - 16 {
                        prop_assert_eq!(r, Err(Errno::EMSGSIZE));
                    } else if used + slot > len - 16 {
                        prop_assert_eq!(r, Err(Errno::EAGAIN));
                    } else {
                        tx = r.unwrap();
                        used += slot;
                        let bytes: Vec<u8> = segs.iter().flat_map(|s| src[s.addr as usize..(s.addr + s.len as u64) as usize].to_vec()).collect();
                        model.push_back((proto, bytes));
                    }
                } else {
                    let mut out = vec![0u8; len as usize];
                    match (read_message(&ring, rx, tx, &mut out), model.pop_front()) {
                        (None, None) => {}
                        (Some((h, n, nrx)), Some((p, bytes))) => {
                            prop_assert_eq!(h.protocol, p);
                            prop_assert_eq!(&out[..n], &bytes[..]);
                            used -= slot_len(n as u32).unwrap();
                            rx = nrx;
                        }
                        (a, b) => prop_assert!(false, "ring {:?} model {:?}", a.map(|x| x.1), b.map(|x| x.0)),
                    }
                }
                prop_assert_eq!(usable_space(len, rx, tx), len - 16 - used);
            }
        }

        /// Any rx a guest writes, any valid tx, any payload: no panic, no write outside the
        /// ring, and the result is one of the hypercall's errors or a valid tx.
        #[test]
        fn hostile_rx_is_harmless(len16 in 2u32..64, rx in any::<u32>(), tx16 in 0u32..64, n in 0u32..1200) {
            let len = len16 * 16;
            let tx = (tx16 % len16) * 16;
            let mut ring = vec![0u8; len as usize];
            let payload = vec![0xa5u8; n as usize];
            match write_message_into(&mut ring, rx, tx, hdr(1), &payload) {
                Ok(t) => prop_assert!(t < len && t % 16 == 0),
                Err(e) => prop_assert!(e == Errno::EAGAIN || e == Errno::EMSGSIZE),
            }
        }
    }
}
