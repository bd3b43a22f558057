//! Receiver-side arithmetic of the V4V and Argo message rings (host-testable).
//!
//! Both rings have the same data format (V4V ABI note, Argo's public/argo.h): `ring[]` is
//! `len` bytes (a multiple of 16); each message is a 16-byte header (`u32 len` = header +
//! payload bytes, `u32 source port`, `u16 source domain`, `u16 pad`, `u32 protocol` /
//! `message_type`) followed by the payload, padded to 16 bytes; a message starts at a
//! 16-aligned offset and runs byte-wise around the end of `ring[]` (the payload, and in
//! principle the header, may be split at the wrap). Xen advances `tx_ptr` past each message;
//! the receiver copies messages out from `rx_ptr` and advances it. `rx_ptr == tx_ptr` means
//! empty: Xen always keeps one 16-byte slot free, so a full ring is never mistaken for it.
//!
//! Nothing here trusts the pointers: they are checked against `len`, and a message header
//! whose length runs past `tx_ptr` is reported as [`RingError`], never followed.

/// Bytes of a message header (both ABIs).
pub const HEADER: u32 = 16;
/// Message slot granularity.
pub const SLOT: u32 = 16;

/// `x` rounded up to the slot size (saturating at the largest slot-aligned u32).
pub const fn roundup_slot(x: u32) -> u32 {
    match x.checked_add(SLOT - 1) {
        Some(v) => v & !(SLOT - 1),
        None => !(SLOT - 1),
    }
}

/// The bytes one message with `payload` bytes occupies in a ring.
pub const fn message_footprint(payload: u32) -> u32 {
    roundup_slot(HEADER.saturating_add(payload))
}

/// A message header as read from a ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageHeader {
    /// Header + payload bytes.
    pub len: u32,
    pub source_port: u32,
    pub source_domain: u16,
    /// The header's pad (Xen writes 0).
    pub pad: u16,
    /// V4V `protocol`, Argo `message_type`.
    pub protocol: u32,
}

impl MessageHeader {
    pub fn from_bytes(b: &[u8; 16]) -> MessageHeader {
        let u32_at = |o: usize| u32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
        MessageHeader {
            len: u32_at(0),
            source_port: u32_at(4),
            source_domain: u16::from_le_bytes([b[8], b[9]]),
            pad: u16::from_le_bytes([b[10], b[11]]),
            protocol: u32_at(12),
        }
    }

    pub fn to_bytes(&self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[0..4].copy_from_slice(&self.len.to_le_bytes());
        b[4..8].copy_from_slice(&self.source_port.to_le_bytes());
        b[8..10].copy_from_slice(&self.source_domain.to_le_bytes());
        b[10..12].copy_from_slice(&self.pad.to_le_bytes());
        b[12..16].copy_from_slice(&self.protocol.to_le_bytes());
        b
    }

    /// Payload bytes (0 for a header claiming less than itself).
    pub fn payload_len(&self) -> u32 {
        self.len.saturating_sub(HEADER)
    }
}

/// What went wrong reading a ring: Xen (or a bug) left it inconsistent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RingError {
    /// `rx_ptr` or `tx_ptr` not a multiple of 16 or not below `len`.
    BadPointer { rx: u32, tx: u32, len: u32 },
    /// The header's `len` is below 16 or its message runs past `tx_ptr`.
    BadLength { at: u32, len: u32, used: u32 },
    /// The caller's buffer cannot hold the payload.
    BufferTooSmall { need: u32, have: usize },
}

/// Byte access to `ring[]` of one ring (offsets `0..len()`).
#[expect(clippy::len_without_is_empty, reason = "len is the ring's size; emptiness is rx == tx")]
pub trait RingBytes {
    /// `len` of the ring (bytes of `ring[]`).
    fn len(&self) -> u32;
    /// Copies `out.len()` bytes from `ring[off..]`; the caller keeps `off + out.len() <= len()`.
    fn read(&self, off: u32, out: &mut [u8]);

    /// Copies `out.len()` bytes from `ring[off..]`, continuing at `ring[0]` past the end.
    /// `out.len()` must not exceed `len()`, `off < len()`.
    fn read_wrapped(&self, off: u32, out: &mut [u8]) {
        let len = self.len();
        let first = ((len - off) as usize).min(out.len());
        let (a, b) = out.split_at_mut(first);
        self.read(off, a);
        if !b.is_empty() {
            self.read(0, b);
        }
    }
}

/// Bytes used between `rx` and `tx` in a ring of `len` (both below `len`).
pub const fn used(rx: u32, tx: u32, len: u32) -> u32 {
    if tx >= rx { tx - rx } else { len - rx + tx }
}

/// The largest payload Xen accepts now, given sanitised `rx`/`tx` (V4V note and Argo's
/// ringbuf_payload_space: free bytes minus the header minus the slot always left free).
pub const fn payload_space(rx: u32, tx: u32, len: u32) -> u32 {
    let free = if rx == tx { len } else { len - used(rx, tx, len) };
    free.saturating_sub(HEADER + SLOT)
}

/// Whether a message with `payload` bytes fits now.
pub const fn fits(payload: u32, rx: u32, tx: u32, len: u32) -> bool {
    message_footprint(payload) < (if rx == tx { len } else { len - used(rx, tx, len) })
}

/// The largest payload a ring of `len` can ever take (Argo's max_message_size).
pub const fn max_payload(len: u32) -> u32 {
    len.saturating_sub(HEADER + SLOT)
}

/// One message copied out of a ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Received {
    pub header: MessageHeader,
    /// Where it started.
    pub at: u32,
    /// The `rx_ptr` that consumes it.
    pub next_rx: u32,
}

fn check_ptrs(rx: u32, tx: u32, len: u32) -> Result<(), RingError> {
    let aligned = |v: u32| v.is_multiple_of(SLOT);
    if len == 0 || !aligned(len) || rx >= len || tx >= len || !aligned(rx) || !aligned(tx) {
        return Err(RingError::BadPointer { rx, tx, len });
    }
    Ok(())
}

/// Reads the header of the message at `rx` without consuming it; `None` when empty.
pub fn peek<R: RingBytes + ?Sized>(
    ring: &R,
    rx: u32,
    tx: u32,
) -> Result<Option<MessageHeader>, RingError> {
    let len = ring.len();
    check_ptrs(rx, tx, len)?;
    if rx == tx {
        return Ok(None);
    }
    let mut h = [0u8; 16];
    ring.read_wrapped(rx, &mut h);
    let header = MessageHeader::from_bytes(&h);
    let used = used(rx, tx, len);
    if header.len < HEADER || roundup_slot(header.len) > used {
        return Err(RingError::BadLength { at: rx, len: header.len, used });
    }
    Ok(Some(header))
}

/// Copies the message at `rx` out: its payload into `out[..payload_len]`. Returns `None`
/// when the ring is empty. The caller then publishes `next_rx` as the new `rx_ptr`.
pub fn copy_out<R: RingBytes + ?Sized>(
    ring: &R,
    rx: u32,
    tx: u32,
    out: &mut [u8],
) -> Result<Option<Received>, RingError> {
    let Some(header) = peek(ring, rx, tx)? else {
        return Ok(None);
    };
    let len = ring.len();
    let payload = header.payload_len();
    if payload as usize > out.len() {
        return Err(RingError::BufferTooSmall { need: payload, have: out.len() });
    }
    let data = (rx + HEADER) % len;
    ring.read_wrapped(data, &mut out[..payload as usize]);
    let next_rx = ((rx as u64 + roundup_slot(header.len) as u64) % len as u64) as u32;
    Ok(Some(Received { header, at: rx, next_rx }))
}

/// A model of Xen's writer side, for host tests (and guest tests that fake a ring): appends
/// one message at `tx` exactly as Argo's ringbuf_insert does; returns the new `tx`, or `None`
/// if it does not fit.
pub fn model_insert(
    ring: &mut [u8],
    rx: u32,
    tx: u32,
    header: MessageHeader,
    payload: &[u8],
) -> Option<u32> {
    let len = ring.len() as u32;
    let n = u32::try_from(payload.len()).ok()?;
    if !fits(n, rx, tx, len) {
        return None;
    }
    let mut at = tx;
    let h = MessageHeader { len: HEADER + n, ..header }.to_bytes();
    for &b in h.iter().chain(payload) {
        ring[at as usize] = b;
        at = (at + 1) % len;
    }
    Some(roundup_slot(at) % len)
}

/// Most pages a ring may list in an order other than the pages' own.
pub const MAX_SCATTER: usize = 8;

/// Checks a page order for a ring of `npage` pages (the pfn list names page `order[i]` of the
/// ring's memory as its page `i`): a permutation of 0..npage that keeps page 0 (the header)
/// first, at most [`MAX_SCATTER`] pages.
pub fn check_order(order: &[u16], npage: usize) -> Option<[u16; MAX_SCATTER]> {
    if order.len() != npage || npage > MAX_SCATTER || order.first() != Some(&0) {
        return None;
    }
    let mut seen = [false; MAX_SCATTER];
    let mut out = [0u16; MAX_SCATTER];
    for (i, &p) in order.iter().enumerate() {
        if p as usize >= npage || seen[p as usize] {
            return None;
        }
        seen[p as usize] = true;
        out[i] = p;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct VecRing(Vec<u8>);
    impl RingBytes for VecRing {
        fn len(&self) -> u32 {
            self.0.len() as u32
        }
        fn read(&self, off: u32, out: &mut [u8]) {
            assert!(off as usize + out.len() <= self.0.len(), "read past the end of ring[]");
            out.copy_from_slice(&self.0[off as usize..off as usize + out.len()]);
        }
    }

    fn hdr(port: u32, dom: u16, proto: u32) -> MessageHeader {
        MessageHeader { len: 0, source_port: port, source_domain: dom, pad: 0, protocol: proto }
    }

    #[test]
    fn rounding_and_footprint() {
        assert_eq!(roundup_slot(0), 0);
        assert_eq!(roundup_slot(1), 16);
        assert_eq!(roundup_slot(16), 16);
        assert_eq!(roundup_slot(u32::MAX), u32::MAX & !15);
        assert_eq!(message_footprint(0), 16);
        assert_eq!(message_footprint(1), 32);
        assert_eq!(message_footprint(16), 32);
        assert_eq!(message_footprint(17), 48);
    }

    #[test]
    fn header_round_trip() {
        let h = MessageHeader { len: 99, source_port: 7, source_domain: 3, pad: 0, protocol: 5 };
        assert_eq!(MessageHeader::from_bytes(&h.to_bytes()), h);
        assert_eq!(h.payload_len(), 83);
    }

    #[test]
    fn space_matches_argo() {
        // Empty 256-byte ring: 256 - 16 (header) - 16 (free slot).
        assert_eq!(payload_space(0, 0, 256), 224);
        assert_eq!(max_payload(256), 224);
        assert!(fits(224, 0, 0, 256));
        assert!(!fits(225, 0, 0, 256));
        // 64 bytes used: 192 free.
        assert_eq!(payload_space(0, 64, 256), 160);
        assert!(fits(160, 0, 64, 256));
        assert!(!fits(161, 0, 64, 256));
        // Wrapped: rx 240, tx 16: used 32.
        assert_eq!(used(240, 16, 256), 32);
        assert_eq!(payload_space(240, 16, 256), 192);
        // Full but for one slot.
        assert_eq!(payload_space(16, 0, 256), 0);
        assert!(!fits(0, 16, 0, 256));
    }

    #[test]
    fn messages_in_order_and_wrap() {
        let mut ring = VecRing(vec![0; 128]);
        let (mut rx, mut tx) = (0u32, 0u32);
        let mut out = [0u8; 128];
        for round in 0..50u32 {
            let n = (round * 7) % 60;
            let payload: Vec<u8> = (0..n).map(|i| (i + round) as u8).collect();
            tx = model_insert(&mut ring.0, rx, tx, hdr(round, 2, 9), &payload).expect("fits");
            let got = copy_out(&ring, rx, tx, &mut out).unwrap().expect("a message");
            assert_eq!(got.header.len, 16 + n);
            assert_eq!(got.header.source_port, round);
            assert_eq!(got.header.source_domain, 2);
            assert_eq!(got.header.protocol, 9);
            assert_eq!(&out[..n as usize], &payload[..]);
            assert_eq!(got.at, rx);
            rx = got.next_rx;
            assert_eq!(rx, tx);
            assert_eq!(copy_out(&ring, rx, tx, &mut out).unwrap(), None);
        }
    }

    #[test]
    fn payload_split_at_the_end() {
        let mut ring = VecRing(vec![0; 64]);
        // Start at 32: header at 32..48, payload 48..64 then 0..4.
        let payload: Vec<u8> = (100..120).collect();
        let tx = model_insert(&mut ring.0, 32, 32, hdr(1, 1, 0), &payload).unwrap();
        assert_eq!(tx, 16, "36 bytes from 32 wrap to 4, rounded up to 16");
        assert_eq!(&ring.0[0..4], &payload[16..]);
        let mut out = [0u8; 20];
        let got = copy_out(&ring, 32, tx, &mut out).unwrap().unwrap();
        assert_eq!(&out[..], &payload[..]);
        assert_eq!(got.next_rx, 16);
        // 33 bytes never fit a 64-byte ring (16 + 48 leaves no free slot).
        assert_eq!(model_insert(&mut ring.0, 16, 16, hdr(1, 1, 0), &[0; 33]), None);
        assert_eq!(max_payload(64), 32);
        // Split payload: ring of 96, start at 64: payload 80..96 and 0..8.
        let mut ring = VecRing(vec![0; 96]);
        let payload: Vec<u8> = (1..=24).collect();
        let tx = model_insert(&mut ring.0, 64, 64, hdr(1, 1, 0), &payload).unwrap();
        assert_eq!(tx, 16);
        assert_eq!(&ring.0[0..8], &payload[16..]);
        let mut out = [0u8; 24];
        let got = copy_out(&ring, 64, tx, &mut out).unwrap().unwrap();
        assert_eq!(&out[..], &payload[..]);
        assert_eq!(got.next_rx, 16);
    }

    #[test]
    fn split_header_is_read_whole() {
        // Not produced by Xen with 16-aligned pointers, but the reader must not care: write
        // a header straddling the end by hand and read it through read_wrapped.
        struct Odd(Vec<u8>);
        impl RingBytes for Odd {
            fn len(&self) -> u32 {
                self.0.len() as u32
            }
            fn read(&self, off: u32, out: &mut [u8]) {
                out.copy_from_slice(&self.0[off as usize..off as usize + out.len()]);
            }
        }
        let mut r = Odd(vec![0; 40]);
        let h =
            MessageHeader { len: 20, source_port: 0xabcd, source_domain: 7, pad: 0, protocol: 3 }
                .to_bytes();
        for (i, b) in h.iter().enumerate() {
            r.0[(32 + i) % 40] = *b;
        }
        let mut got = [0u8; 16];
        r.read_wrapped(32, &mut got);
        assert_eq!(got, h);
    }

    #[test]
    fn bad_pointers_and_lengths_rejected() {
        let ring = VecRing(vec![0; 64]);
        let mut out = [0u8; 64];
        assert!(matches!(copy_out(&ring, 8, 0, &mut out), Err(RingError::BadPointer { .. })));
        assert!(matches!(copy_out(&ring, 0, 64, &mut out), Err(RingError::BadPointer { .. })));
        // A header claiming more than was written.
        let mut ring = VecRing(vec![0; 64]);
        ring.0[0] = 200;
        assert!(matches!(copy_out(&ring, 0, 16, &mut out), Err(RingError::BadLength { .. })));
        ring.0[0] = 3;
        assert!(matches!(copy_out(&ring, 0, 16, &mut out), Err(RingError::BadLength { .. })));
        // A buffer too small.
        let mut ring = VecRing(vec![0; 128]);
        let tx = model_insert(&mut ring.0, 0, 0, hdr(0, 0, 0), &[1; 40]).unwrap();
        let mut small = [0u8; 39];
        assert_eq!(
            copy_out(&ring, 0, tx, &mut small),
            Err(RingError::BufferTooSmall { need: 40, have: 39 })
        );
    }

    #[test]
    fn page_orders() {
        assert_eq!(check_order(&[0, 2, 1], 3).map(|o| o[..3].to_vec()), Some(vec![0, 2, 1]));
        assert!(check_order(&[0], 1).is_some());
        assert!(check_order(&[1, 0], 2).is_none(), "header page must stay first");
        assert!(check_order(&[0, 1, 1], 3).is_none(), "not a permutation");
        assert!(check_order(&[0, 3, 1], 3).is_none(), "page out of range");
        assert!(check_order(&[0, 1], 3).is_none(), "wrong length");
        assert!(check_order(&[0, 1, 2, 3, 4, 5, 6, 7, 8], 9).is_none(), "too many pages");
    }

    #[test]
    fn fill_to_capacity() {
        // Many small messages until full: the count is what the space rule predicts.
        let mut ring = VecRing(vec![0; 256]);
        let (rx, mut tx) = (0u32, 0u32);
        let mut n = 0;
        while let Some(t) = model_insert(&mut ring.0, rx, tx, hdr(0, 0, 0), &[n as u8; 8]) {
            tx = t;
            n += 1;
        }
        // 32 bytes each, one slot always free: 7 messages (224 bytes), 32 left (< 32 + 1).
        assert_eq!(n, 7);
        assert_eq!(payload_space(rx, tx, 256), 0);
        let mut out = [0u8; 8];
        let mut at = rx;
        for i in 0..7 {
            let got = copy_out(&ring, at, tx, &mut out).unwrap().unwrap();
            assert_eq!(out, [i as u8; 8]);
            at = got.next_rx;
        }
        assert_eq!(at, tx);
    }
}
