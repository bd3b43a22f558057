//! V4V's refusals, one domain: every bad registration and every bad send with the exact errno
//! of the ABI (/work/notes/v4v-abi.md, docs/v4v.md), and that a refused send left the ring as
//! it was. Sends go to our own rings (a domain may send to itself).

use xtf::abi::v4v::{self as abi, Iov, RingDataFlags};
use xtf::abi::{DomId, Errno};
use xtf::guest::evtchn::raw::BadAddress;
use xtf::guest::v4v::{self, Ring};
use xtf::{Env, println, xtf_error, xtf_success};
use xtf::{check, expect_eq};

use super::{MAXIOV, Proto, ProtoRing, V4v, setup};

/// A gfn beyond any test domain's RAM (the unbacked part of the guest's Normal block).
const GFN_UNBACKED: u64 = BadAddress::UNBACKED.addr() >> 12;
/// The vGIC distributor's frame: MMIO, not RAM.
const GFN_MMIO: u64 = BadAddress::MMIO.addr() >> 12;

/// register_ring with raw words.
fn register_raw(ring: u64, pfns: u64, a3: u64, a4: u64) -> Result<u64, Errno> {
    // SAFETY: `ring` and `pfns` are arena pages laid out by Ring (Xen may write the header's
    // tx_ptr) or BadAddress values, which hold nothing of ours.
    unsafe { v4v::raw_op(abi::op::REGISTER_RING, ring, pfns, a3, a4) }
}

/// A fresh ring, or ERROR.
fn ring(len: u32, port: u32, partner: DomId) -> Option<Ring> {
    let r = Ring::new(len, port, partner);
    if r.is_none() {
        xtf_error!("ring arena used up");
    }
    r
}

/// Expects `r == Err(want)` and that no ring answers on (me, port) afterwards.
fn refused(me: DomId, port: u32, r: Result<u64, Errno>, want: Errno, what: &str) {
    expect_eq!(r.map(|_| ()), Err(want), "register_ring: {what}");
    expect_eq!(
        v4v::send(me, port, 1, b"x", 0).map(|_| ()),
        Err(Errno::ECONNREFUSED),
        "send to port {port} after the refused registration ({what})"
    );
}

xtf::register_test!(
    "v4v-bad-register",
    "V4V: every bad registration with its errno; limits; re-registration",
    bad_register
);
pub fn bad_register(env: &xtf::Env<'_>) {
    let Some(ctx) = setup::<V4v>(env, 1) else { return };
    let me = ctx.me;
    let mut port = 1000;
    let mut next = || {
        port += 1;
        port
    };

    // Magic numbers.
    let p = next();
    let Some(r) = ring(256, p, me) else { return };
    r.write_header(0x1234, p, me, 256);
    refused(me, p, r.register().map(|_| 0), Errno::EINVAL, "bad ring magic");
    let p = next();
    let Some(r) = ring(256, p, me) else { return };
    r.pfns.write_u64(0, 0x1234);
    refused(me, p, r.register().map(|_| 0), Errno::EINVAL, "bad pfn list magic");

    // Lengths: zero, below the minimum, not a multiple of 16, above the maximum.
    for (len, what) in [
        (0u32, "len 0"),
        (16, "len 16 (< 32)"),
        (40, "len 40 (not a multiple of 16)"),
        (4008, "len 4008 (not a multiple of 16)"),
        (abi::MAX_RING_SIZE + 16, "len above 16 MiB"),
    ] {
        let p = next();
        let Some(r) = Ring::with_pages(len, abi::npages(len.min(4096)), p, me) else {
            return xtf_error!("arena");
        };
        refused(me, p, r.register().map(|_| 0), Errno::EINVAL, what);
    }
    // The smallest ring works.
    let p = next();
    let Some(r) = ring(abi::MIN_RING_SIZE, p, me) else { return };
    expect_eq!(r.register(), Ok(()), "register_ring: len 32 (the minimum)");
    expect_eq!(r.unregister(), Ok(()), "unregister the len-32 ring");

    // npage disagreeing with len (4096 needs 2 pages).
    for (npage, what) in
        [(0u32, "npage 0"), (1, "npage 1 for len 4096"), (3, "npage 3 for len 4096")]
    {
        let p = next();
        let Some(r) = Ring::with_pages(4096, npage, p, me) else { return xtf_error!("arena") };
        refused(me, p, r.register().map(|_| 0), Errno::EINVAL, what);
    }

    // Frames that are not our RAM.
    for (idx, gfn, what) in [
        (0usize, GFN_UNBACKED, "pages[0] outside RAM"),
        (0, GFN_MMIO, "pages[0] the GIC distributor (MMIO)"),
        (1, GFN_UNBACKED, "pages[1] outside RAM"),
        (1, 1 << 40, "pages[1] far beyond the address space"),
    ] {
        let p = next();
        let Some(r) = ring(4096, p, me) else { return };
        r.set_pfn(idx, gfn);
        refused(me, p, r.register().map(|_| 0), Errno::EINVAL, what);
    }

    // Argument pointers that are not ours.
    let p = next();
    let Some(r) = ring(256, p, me) else { return };
    for (addr, what) in [
        (BadAddress::NULL, "ring pointer NULL"),
        (BadAddress::UNMAPPED, "ring pointer unmapped"),
        (BadAddress::UNBACKED, "ring pointer unbacked"),
    ] {
        refused(me, p, register_raw(addr.addr(), r.pfn_list_addr(), 0, 0), Errno::EFAULT, what);
    }
    for (addr, what) in [
        (BadAddress::NULL, "pfn list pointer NULL"),
        (BadAddress::UNMAPPED, "pfn list pointer unmapped"),
        (BadAddress::UNBACKED, "pfn list pointer unbacked"),
    ] {
        refused(me, p, register_raw(r.addr(), addr.addr(), 0, 0), Errno::EFAULT, what);
    }

    // Pads and unused arguments.
    let p = next();
    let Some(r) = ring(256, p, me) else { return };
    r.pages.write_u8(14, 1); // id.addr.pad
    refused(me, p, r.register().map(|_| 0), Errno::EINVAL, "id.addr.pad != 0");
    let p = next();
    let Some(r) = ring(256, p, me) else { return };
    r.pages.write_u8(18, 1); // id.pad
    refused(me, p, r.register().map(|_| 0), Errno::EINVAL, "id.pad != 0");
    let p = next();
    let Some(r) = ring(256, p, me) else { return };
    r.pfns.write_u8(12, 1); // pfn_list.pad
    refused(me, p, r.register().map(|_| 0), Errno::EINVAL, "pfn_list.pad != 0");
    let p = next();
    let Some(r) = ring(256, p, me) else { return };
    refused(me, p, register_raw(r.addr(), r.pfn_list_addr(), 1, 0), Errno::EINVAL, "x3 != 0");
    refused(me, p, register_raw(r.addr(), r.pfn_list_addr(), 0, 1), Errno::EINVAL, "x4 != 0");

    // Partners: a domid with no domain, a reserved domid other than ANY.
    let p = next();
    let Some(r) = ring(256, p, 200) else { return };
    refused(me, p, r.register().map(|_| 0), Errno::ESRCH, "partner d200 (no such domain)");
    let p = next();
    let Some(r) = ring(256, p, xtf::abi::DOMID_SELF) else { return };
    refused(me, p, r.register().map(|_| 0), Errno::EINVAL, "partner DOMID_SELF (reserved)");

    // Bogus pointers in the header at registration: both reset to 0.
    let p = next();
    let Some(r) = ring(256, p, me) else { return };
    r.set_rx_ptr(13);
    r.set_tx_ptr(256 + 16);
    expect_eq!(r.register(), Ok(()), "register_ring with rx_ptr 13, tx_ptr 272");
    expect_eq!((r.rx_ptr(), r.tx_ptr()), (0, 0), "(rx_ptr, tx_ptr) after registration");
    expect_eq!(v4v::send(me, p, 1, b"hello", 0), Ok(5), "send to the fresh ring");
    expect_eq!(r.tx_ptr(), 32, "tx_ptr after one 5-byte message");
    // Re-registering the same (port, partner) replaces it: idempotent.
    let Some(r2) = ring(256, p, me) else { return };
    expect_eq!(r2.register(), Ok(()), "re-register the same (port, partner)");
    expect_eq!(v4v::send(me, p, 1, b"again", 0), Ok(5), "send after re-registration");
    expect_eq!(r2.tx_ptr(), 32, "the new ring took the message");
    expect_eq!(r.tx_ptr(), 32, "the replaced ring is left alone");
    expect_eq!(r2.unregister(), Ok(()), "unregister the replacement");
    expect_eq!(r.unregister(), Err(Errno::ENOENT), "unregister the replaced ring again");

    // unregister's own errors.
    let p = next();
    let Some(r) = ring(256, p, me) else { return };
    expect_eq!(r.unregister(), Err(Errno::ENOENT), "unregister a ring never registered");
    // SAFETY: BadAddress values hold nothing of ours.
    let u = unsafe { v4v::raw_op(abi::op::UNREGISTER_RING, BadAddress::UNMAPPED.addr(), 0, 0, 0) };
    expect_eq!(u, Err(Errno::EFAULT), "unregister with an unmapped pointer");
    expect_eq!(r.register(), Ok(()), "register for the unused-argument checks");
    r.write_header(0x1234, p, me, 256);
    expect_eq!(r.unregister(), Err(Errno::EINVAL), "unregister with a bad ring magic");
    r.write_header(abi::RING_MAGIC, p, me, 256);
    for (a, what) in [([1u64, 0, 0], "x2"), ([0, 1, 0], "x3"), ([0, 0, 1], "x4")] {
        // SAFETY: the ring header is arena memory; the other words are not pointers.
        let u = unsafe { v4v::raw_op(abi::op::UNREGISTER_RING, r.addr(), a[0], a[1], a[2]) };
        expect_eq!(u, Err(Errno::EINVAL), "unregister with {what} != 0");
    }
    expect_eq!(r.unregister(), Ok(()), "unregister");

    // Too many rings: exactly 128, then ENOSPC; replacing one at the limit still works.
    let mut second = None;
    for i in 0..abi::MAX_RINGS_PER_DOMAIN {
        let Some(r) = ring(32, 5000 + i, me) else { return };
        if let Err(e) = r.register() {
            return xtf::xtf_failure!("registering ring {} of 128: {e:?}", i + 1);
        }
        if i == 1 {
            second = Some(r);
        }
    }
    let Some(extra) = ring(32, 6000, me) else { return };
    expect_eq!(extra.register(), Err(Errno::ENOSPC), "register ring 129");
    let Some(again) = ring(32, 5000, me) else { return };
    expect_eq!(again.register(), Ok(()), "re-register ring 1 at the limit");
    if let Some(r) = &second {
        expect_eq!(r.unregister(), Ok(()), "unregister ring 2");
    }
    expect_eq!(extra.register(), Ok(()), "register after one was unregistered");
    println!("bad registrations checked");
    xtf_success!();
}

/// A send with raw words.
fn send_raw(cmd: u64, a1: u64, a2: u64, a3: u64, a4: u64) -> Result<u64, Errno> {
    // SAFETY: callers pass our own live structures (read only by send/sendv), BadAddress
    // values, or scalars.
    unsafe { v4v::raw_op(cmd, a1, a2, a3, a4) }
}

xtf::register_test!(
    "v4v-bad-send",
    "V4V: every bad send/sendv/notify with its errno; ring untouched by refused sends",
    bad_send
);
pub fn bad_send(env: &Env<'_>) {
    let Some(ctx) = setup::<V4v>(env, 1) else { return };
    let me = ctx.me;
    const PORT: u32 = 40;
    let Some(r) = ring(256, PORT, abi::DOMID_ANY) else { return };
    if let Err(e) = r.register() {
        return xtf::xtf_failure!("register_ring: {e:?}");
    }
    let msg = [0x42u8; 64];
    let addr = v4v::send_addr(me, PORT, 7);

    // Commands.
    for cmd in [0u64, 6, 7, 99, 0xffff_ffff] {
        let got = send_raw(cmd, &addr as *const _ as u64, msg.as_ptr() as u64, 16, 0);
        expect_eq!(got, Err(Errno::ENOSYS), "v4v_op cmd {cmd}");
    }
    // Nobody there.
    expect_eq!(
        v4v::send(me, PORT + 1, 7, &msg, 0),
        Err(Errno::ECONNREFUSED),
        "no ring at the port"
    );
    expect_eq!(
        v4v::send(200, PORT, 7, &msg, 0),
        Err(Errno::ECONNREFUSED),
        "a domain that does not exist"
    );

    // Too large for this ring (max payload 256 - 32) or for any ring.
    let before = (r.digest(), r.tx_ptr());
    let big = [0u8; 300];
    expect_eq!(
        v4v::send(me, PORT, 7, &big[..225], 0),
        Err(Errno::EMSGSIZE),
        "225 bytes into a 256-byte ring"
    );
    let huge = send_raw(
        abi::op::SEND,
        &addr as *const _ as u64,
        0x4000_0000,
        u64::from(abi::MAX_MSG) + 1,
        0,
    );
    expect_eq!(huge, Err(Errno::EMSGSIZE), "len above V4V_MAX_MSG");
    let huge = send_raw(abi::op::SEND, &addr as *const _ as u64, 0x4000_0000, u64::MAX, 0);
    expect_eq!(huge, Err(Errno::EMSGSIZE), "len 2^64 - 1 (docs/v4v.md: any len above V4V_MAX_MSG)");
    let got = send_raw(abi::op::SEND, &addr as *const _ as u64, msg.as_ptr() as u64, 16, 1 << 32);
    expect_eq!(got, Err(Errno::EINVAL), "protocol 2^32 (x4 above 32 bits)");
    expect_eq!(r.digest(), before.0, "ring bytes (digest) after the EMSGSIZE sends");
    // Bad buffers and addresses.
    for (a, what) in [
        (BadAddress::NULL, "NULL"),
        (BadAddress::UNMAPPED, "unmapped"),
        (BadAddress::UNBACKED, "unbacked"),
        (BadAddress::MMIO, "MMIO"),
    ] {
        let got = send_raw(abi::op::SEND, &addr as *const _ as u64, a.addr(), 16, 0);
        expect_eq!(got, Err(Errno::EFAULT), "send from a {what} buffer");
        expect_eq!(r.digest(), before.0, "ring bytes (digest) after the send from a {what} buffer");
        let got = send_raw(abi::op::SEND, a.addr(), msg.as_ptr() as u64, 16, 0);
        expect_eq!(got, Err(Errno::EFAULT), "send with a {what} send_addr");
    }
    // Pads.
    let mut padded = addr;
    padded.src.pad = 1;
    expect_eq!(v4v::send_to(&padded, &msg, 0), Err(Errno::EINVAL), "src.pad != 0");
    let mut padded = addr;
    padded.dst.pad = 1;
    expect_eq!(v4v::send_to(&padded, &msg, 0), Err(Errno::EINVAL), "dst.pad != 0");

    // sendv: too many iovs, overflowing lengths, a bad iov among good ones, a bad iov array.
    let iovs = [v4v::iov(&msg[..8]); 9];
    expect_eq!(v4v::sendv_n(&addr, &iovs, 9, 0), Err(Errno::EINVAL), "sendv with 9 iovs");
    expect_eq!(v4v::sendv_n(&addr, &iovs, 1 << 32, 0), Err(Errno::EINVAL), "sendv with niov 2^32");
    let over = [Iov { base: msg.as_ptr() as u64, len: 1 << 63 }; 2];
    expect_eq!(v4v::sendv(&addr, &over, 0), Err(Errno::EMSGSIZE), "iov lengths summing past 2^64");
    let over = [Iov { base: msg.as_ptr() as u64, len: 0xffff_fff0 }, v4v::iov(&msg[..32])];
    expect_eq!(v4v::sendv(&addr, &over, 0), Err(Errno::EMSGSIZE), "iov lengths summing past 2^32");
    expect_eq!(r.digest(), before.0, "ring bytes (digest) after the refused sends so far");
    let split = [
        v4v::iov(&msg[..16]),
        Iov { base: BadAddress::UNBACKED.addr(), len: 16 },
        v4v::iov(&msg[..16]),
    ];
    expect_eq!(v4v::sendv(&addr, &split, 0), Err(Errno::EFAULT), "sendv with a bad second iov");
    expect_eq!(r.tx_ptr(), before.1, "tx_ptr after the sendv with a bad second iov");
    expect_eq!(
        r.digest(),
        before.0,
        "ring bytes (digest) after the sendv with a bad second iov (ABI note: nothing written)"
    );
    let got = send_raw(abi::op::SENDV, &addr as *const _ as u64, BadAddress::UNMAPPED.addr(), 2, 0);
    expect_eq!(got, Err(Errno::EFAULT), "sendv with an unmapped iov array");
    expect_eq!(r.tx_ptr(), before.1, "tx_ptr after the refused sends");
    expect_eq!(r.digest(), before.0, "ring bytes (digest) after the refused sends");

    // Good sends: the payload length comes back; header and bytes as sent.
    let parts = [v4v::iov(&msg[..5]), v4v::iov(&big[..0]), v4v::iov(&msg[5..20])];
    expect_eq!(v4v::sendv(&addr, &parts, 0x77), Ok(20), "sendv of 5 + 0 + 15 bytes");
    expect_eq!(v4v::sendv(&addr, &[], 0x78), Ok(0), "sendv with no iov (an empty message)");
    expect_eq!(
        v4v::send(me, PORT, 7, &big[..224], 0x79),
        Err(Errno::EAGAIN),
        "224 bytes with 64 used"
    );
    let mut out = [0u8; 256];
    for (len, proto) in [(20usize, 0x77u32), (0, 0x78)] {
        match r.recv(&mut out) {
            Ok(Some(m)) => {
                expect_eq!(
                    (m.header.len, m.header.source_domain, m.header.source_port, m.header.protocol),
                    (16 + len as u32, me, 7, proto),
                    "header (len, source domain, source port, protocol)"
                );
                check!(out[..len] == msg[..len], "payload of the {len}-byte message");
            }
            other => xtf::xtf_failure!("expected the {len}-byte message, got {other:?}"),
        }
    }
    expect_eq!(v4v::notify_null(), Ok(()), "notify(NULL)");
    expect_eq!(v4v::send(me, PORT, 7, &big[..224], 0x79), Ok(224), "224 bytes into the empty ring");

    // notify's errors and its report.
    let mut rd = v4v::RingDataBuf::<2>::new(2);
    rd.ent[0].ring = abi::Addr { port: PORT, domain: me, pad: 0 };
    rd.ent[0].space_required = 16;
    rd.ent[1].ring = abi::Addr { port: PORT + 1, domain: me, pad: 0 };
    expect_eq!(v4v::notify(&mut rd), Ok(()), "notify with 2 entries");
    let f0 = RingDataFlags::from_bits_retain(rd.ent[0].flags);
    expect_eq!(
        (
            f0 & (RingDataFlags::EXISTS | RingDataFlags::SUFFICIENT | RingDataFlags::EMPTY),
            rd.ent[0].max_message_size
        ),
        (RingDataFlags::EXISTS, 224),
        "entry 0: (EXISTS|SUFFICIENT|EMPTY, max_message_size) with 240 bytes used"
    );
    expect_eq!(rd.ent[1].flags, 0, "entry 1 (no ring) flags");
    r.set_rx_ptr(r.tx_ptr());
    expect_eq!(v4v::notify(&mut rd), Ok(()), "notify after consuming");
    let f0 = RingDataFlags::from_bits_retain(rd.ent[0].flags);
    expect_eq!(
        f0 & (RingDataFlags::EXISTS | RingDataFlags::SUFFICIENT | RingDataFlags::EMPTY),
        RingDataFlags::EXISTS | RingDataFlags::SUFFICIENT | RingDataFlags::EMPTY,
        "entry 0 flags on the empty ring"
    );
    rd.ent[0].space_required = 225;
    expect_eq!(v4v::notify(&mut rd), Ok(()), "notify asking for 225 bytes");
    let f0 = RingDataFlags::from_bits_retain(rd.ent[0].flags);
    expect_eq!(
        f0 & (RingDataFlags::EXISTS | RingDataFlags::SUFFICIENT | RingDataFlags::PENDING),
        RingDataFlags::EXISTS,
        "entry 0 asking for more than the ring can ever hold: neither SUFFICIENT nor PENDING"
    );
    let mut bad = v4v::RingDataBuf::<1>::new(1);
    bad.ent[0].ring = abi::Addr { port: PORT, domain: me, pad: 1 };
    expect_eq!(v4v::notify(&mut bad), Err(Errno::EINVAL), "notify with an entry's ring.pad != 0");
    let mut bad = v4v::RingDataBuf::<1>::new(1);
    bad.hdr.pad = 1;
    expect_eq!(v4v::notify(&mut bad), Err(Errno::EINVAL), "notify with ring_data.pad != 0");
    let mut bad = v4v::RingDataBuf::<1>::new(1);
    bad.hdr.magic = 1;
    expect_eq!(v4v::notify(&mut bad), Err(Errno::EINVAL), "notify with a bad magic");
    let mut bad = v4v::RingDataBuf::<1>::new(abi::MAX_NOTIFY_ENT + 1);
    expect_eq!(v4v::notify(&mut bad), Err(Errno::EINVAL), "notify with nent 65");
    // SAFETY: BadAddress values hold nothing of ours.
    let got = unsafe { v4v::raw_op(abi::op::NOTIFY, BadAddress::UNMAPPED.addr(), 0, 0, 0) };
    expect_eq!(got, Err(Errno::EFAULT), "notify with an unmapped pointer");
    for (a, what) in [([1u64, 0, 0], "x2"), ([0, 1, 0], "x3"), ([0, 0, 1], "x4")] {
        // SAFETY: no pointer (NULL ring data), scalars only.
        let got = unsafe { v4v::raw_op(abi::op::NOTIFY, 0, a[0], a[1], a[2]) };
        expect_eq!(got, Err(Errno::EINVAL), "notify with {what} != 0");
    }

    // After unregister: refused.
    expect_eq!(r.unregister(), Ok(()), "unregister");
    expect_eq!(v4v::send(me, PORT, 7, &msg, 0), Err(Errno::ECONNREFUSED), "send after unregister");
    super::check_guards(&r, "bad sends");
    println!("bad sends checked");
    xtf_success!();
}

crate::v4v::v4v_and_argo!(
    sendv_max_iov,
    "v4v-sendv-max-iov" => "V4V: sendv with V4V_MAXIOV (8) iovs delivers one message, in order; 9 is EINVAL and writes nothing",
    "argo-sendv-max-iov" => "Argo: sendv with XEN_ARGO_MAXIOV (8) iovs delivers one message, in order; 9 is EINVAL and writes nothing",
);
/// The iov count limit from both sides, on our own ring: exactly [`MAXIOV`] iovs (lengths
/// 1..=8, one message of 36 bytes) must be sent whole and in order; [`MAXIOV`] + 1 must be
/// refused with EINVAL (C: `arg3 > XEN_ARGO_MAXIOV` in do_argo_op; V4V's ABI the same)
/// before anything is written, as must a count of 2^32 + 8 (the count is a full 64-bit word).
fn sendv_max_iov<P: Proto>(env: &Env<'_>) {
    const PORT: u32 = 45;
    const PROTO: u32 = 0x51;
    let Some(ctx) = setup::<P>(env, 1) else { return };
    let me = ctx.me;
    let Some(r) = P::ring(512, PORT, me) else { return xtf_error!("ring arena used up") };
    if let Err(e) = r.register() {
        return xtf::xtf_failure!("{}: register_ring: {e:?}", P::NAME);
    }
    // Pieces of 1, 2, ..., 9 bytes cut from one patterned buffer.
    let mut msg = [0u8; 45];
    super::fill(&mut msg, 8, me, 1);
    let mut bufs: [&[u8]; MAXIOV + 1] = [&[]; MAXIOV + 1];
    let mut at = 0;
    for (i, b) in bufs.iter_mut().enumerate() {
        *b = &msg[at..at + i + 1];
        at += i + 1;
    }
    let eight: usize = (1..=MAXIOV).sum();

    let before = (r.digest(), r.tx_ptr());
    let got = P::sendv_niov(me, PORT, 7, &bufs, MAXIOV as u64 + 1, PROTO);
    expect_eq!(got, Err(Errno::EINVAL), "{}: sendv with {} iovs", P::NAME, MAXIOV + 1);
    let got = P::sendv_niov(me, PORT, 7, &bufs, (1 << 32) + MAXIOV as u64, PROTO);
    expect_eq!(got, Err(Errno::EINVAL), "{}: sendv with niov 2^32 + {MAXIOV}", P::NAME);
    expect_eq!(
        (r.digest(), r.tx_ptr()),
        before,
        "{}: ring bytes (digest) and tx_ptr after the refused sendvs",
        P::NAME
    );

    let got = P::sendv_niov(me, PORT, 7, &bufs[..MAXIOV], MAXIOV as u64, PROTO);
    if !expect_eq!(
        got,
        Ok(eight as u64),
        "{}: sendv with {MAXIOV} iovs (1..={MAXIOV} bytes)",
        P::NAME
    ) {
        return;
    }
    let mut out = [0u8; 64];
    match r.recv(&mut out) {
        Ok(Some(m)) => {
            expect_eq!(
                (
                    m.header.len as usize,
                    m.header.source_domain,
                    m.header.source_port,
                    m.header.protocol
                ),
                (16 + eight, me, 7, PROTO),
                "{}: header (len, source domain, source port, protocol) of the {MAXIOV}-iov message",
                P::NAME
            );
            check!(
                out[..eight] == msg[..eight],
                "{}: the {MAXIOV}-iov message's {eight} bytes, in iov order",
                P::NAME
            );
        }
        other => xtf::xtf_failure!("{}: expected the {MAXIOV}-iov message, got {other:?}", P::NAME),
    }
    expect_eq!(r.is_empty(), true, "{}: one message only", P::NAME);
    expect_eq!(r.unregister(), Ok(()), "{}: unregister", P::NAME);
    super::check_guards(&r, "sendv with the most iovs");
    println!("{}: sendv with {MAXIOV} iovs delivered; {} refused", P::NAME, MAXIOV + 1);
    xtf_success!();
}
