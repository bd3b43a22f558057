//! include/v4v.h, compiled by the host C compiler, against this crate.
//!
//! The header is hand-written (guests include it; cbindgen makes only Xen's side), so this
//! is what keeps it true: `layout` compares every struct size, field offset and constant the
//! header defines with `abi.rs` (whose const assertions pin the Rust side), and `copy_out_*`
//! run the header's `v4v_copy_out` over rings written by this crate's own writer
//! (`ring::write_message_into`, the code Xen runs for send/sendv): every message read back
//! whole or cut at `t` bytes, its source and protocol, wrap-around at the end of `ring[]`,
//! the peek that changes nothing, and the rx_ptr it leaves; then rings whose pointers or
//! message headers are corrupt. The C driver is `tests/c_header/check.c`. `CC` picks the
//! compiler (default `cc`); a missing compiler fails the test.

use std::collections::HashMap;
use std::io::Write;
use std::mem::{offset_of, size_of};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use v4v::abi::{self, Addr, MessageHeader};
use v4v::ring::{self, write_message_into};

/// Builds the C driver once per test run (warnings are errors, C11).
fn driver() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let include = root.join("../../include");
        let src = root.join("tests/c_header/check.c");
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("v4v-c-header-check");
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
        let st = Command::new(&cc)
            .args(["-std=c11", "-O2", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-I"])
            .arg(&include)
            .arg(&src)
            .arg("-o")
            .arg(&out)
            .status()
            .unwrap_or_else(|e| panic!("running the C compiler {cc:?}: {e}"));
        assert!(st.success(), "{cc} failed to compile {} against v4v.h", src.display());
        out
    })
}

fn run(args: &[&str], stdin: &[u8]) -> String {
    let mut child = Command::new(driver())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the C driver");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "driver {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn layout() {
    let out = run(&["layout"], &[]);
    let mut got: HashMap<String, u64> = HashMap::new();
    let mut roundups = 0;
    for line in out.lines() {
        let w: Vec<&str> = line.split_whitespace().collect();
        match w.as_slice() {
            ["roundup", p, v] => {
                let (p, v): (u32, u32) = (p.parse().unwrap(), v.parse().unwrap());
                // The RFC's V4V_ROUNDUP(16 + p) is the slot Xen's writer gives p payload bytes.
                if p >= 16 {
                    assert_eq!(Some(v), ring::slot_len(p - 16), "V4V_ROUNDUP({p})");
                }
                assert_eq!(v, p.div_ceil(16) * 16, "V4V_ROUNDUP({p})");
                roundups += 1;
            }
            ["roundup64", v] => assert_eq!(*v, "4294967312", "V4V_ROUNDUP on a 64-bit value"),
            [kind, name, v] => {
                got.insert(format!("{kind} {name}"), v.parse().unwrap());
            }
            _ => panic!("driver line {line:?}"),
        }
    }
    assert_eq!(roundups, 81);
    let u = |v: usize| v as u64;
    let want: &[(&str, u64)] = &[
        ("sizeof v4v_addr_t", u(size_of::<Addr>())),
        ("offsetof v4v_addr_t.port", u(offset_of!(Addr, port))),
        ("offsetof v4v_addr_t.domain", u(offset_of!(Addr, domain))),
        ("offsetof v4v_addr_t.pad", u(offset_of!(Addr, pad))),
        ("sizeof v4v_ring_id_t", u(size_of::<abi::RingId>())),
        ("offsetof v4v_ring_id_t.addr", u(offset_of!(abi::RingId, addr))),
        ("offsetof v4v_ring_id_t.partner", u(offset_of!(abi::RingId, partner))),
        ("offsetof v4v_ring_id_t.pad", u(offset_of!(abi::RingId, pad))),
        ("sizeof v4v_send_addr_t", u(size_of::<abi::SendAddr>())),
        ("offsetof v4v_send_addr_t.src", u(offset_of!(abi::SendAddr, src))),
        ("offsetof v4v_send_addr_t.dst", u(offset_of!(abi::SendAddr, dst))),
        ("sizeof v4v_ring_t", u(size_of::<abi::RingHeader>())),
        ("offsetof v4v_ring_t.magic", u(offset_of!(abi::RingHeader, magic))),
        ("offsetof v4v_ring_t.id", u(offset_of!(abi::RingHeader, id))),
        ("offsetof v4v_ring_t.len", u(offset_of!(abi::RingHeader, len))),
        ("offsetof v4v_ring_t.rx_ptr", u(offset_of!(abi::RingHeader, rx_ptr))),
        ("offsetof v4v_ring_t.tx_ptr", u(offset_of!(abi::RingHeader, tx_ptr))),
        ("offsetof v4v_ring_t.reserved", u(offset_of!(abi::RingHeader, reserved))),
        ("offsetof v4v_ring_t.ring", u64::from(abi::RING_HEADER_SIZE)),
        ("sizeof v4v_pfn_list_t", u(size_of::<abi::PfnListHeader>())),
        ("offsetof v4v_pfn_list_t.magic", u(offset_of!(abi::PfnListHeader, magic))),
        ("offsetof v4v_pfn_list_t.npage", u(offset_of!(abi::PfnListHeader, npage))),
        ("offsetof v4v_pfn_list_t.pad", u(offset_of!(abi::PfnListHeader, pad))),
        ("offsetof v4v_pfn_list_t.reserved", u(offset_of!(abi::PfnListHeader, reserved))),
        ("offsetof v4v_pfn_list_t.pages", u(size_of::<abi::PfnListHeader>())),
        ("sizeof v4v_ring_message_header_t", u(size_of::<MessageHeader>())),
        ("offsetof v4v_ring_message_header_t.len", u(offset_of!(MessageHeader, len))),
        ("offsetof v4v_ring_message_header_t.source", u(offset_of!(MessageHeader, source))),
        ("offsetof v4v_ring_message_header_t.protocol", u(offset_of!(MessageHeader, protocol))),
        ("offsetof v4v_ring_message_header_t.data", u64::from(ring::MSG_HEADER)),
        ("sizeof v4v_iov_t", u(size_of::<abi::Iov>())),
        ("offsetof v4v_iov_t.iov_base", u(offset_of!(abi::Iov, iov_base))),
        ("offsetof v4v_iov_t.iov_len", u(offset_of!(abi::Iov, iov_len))),
        ("sizeof v4v_ring_data_ent_t", u(size_of::<abi::RingDataEnt>())),
        ("offsetof v4v_ring_data_ent_t.ring", u(offset_of!(abi::RingDataEnt, ring))),
        ("offsetof v4v_ring_data_ent_t.flags", u(offset_of!(abi::RingDataEnt, flags))),
        ("offsetof v4v_ring_data_ent_t.pad", u(offset_of!(abi::RingDataEnt, pad))),
        (
            "offsetof v4v_ring_data_ent_t.space_required",
            u(offset_of!(abi::RingDataEnt, space_required)),
        ),
        (
            "offsetof v4v_ring_data_ent_t.max_message_size",
            u(offset_of!(abi::RingDataEnt, max_message_size)),
        ),
        ("offsetof v4v_ring_data_ent_t.pad2", u(offset_of!(abi::RingDataEnt, pad2))),
        ("sizeof v4v_ring_data_t", u(size_of::<abi::RingDataHeader>())),
        ("offsetof v4v_ring_data_t.magic", u(offset_of!(abi::RingDataHeader, magic))),
        ("offsetof v4v_ring_data_t.nent", u(offset_of!(abi::RingDataHeader, nent))),
        ("offsetof v4v_ring_data_t.pad", u(offset_of!(abi::RingDataHeader, pad))),
        ("offsetof v4v_ring_data_t.reserved", u(offset_of!(abi::RingDataHeader, reserved))),
        ("offsetof v4v_ring_data_t.data", u(size_of::<abi::RingDataHeader>())),
        ("const __HYPERVISOR_v4v_op", abi::HYPERVISOR_V4V_OP.into()),
        ("const VIRQ_V4V", abi::VIRQ_V4V.into()),
        ("const V4VOP_register_ring", abi::op::REGISTER_RING.into()),
        ("const V4VOP_unregister_ring", abi::op::UNREGISTER_RING.into()),
        ("const V4VOP_send", abi::op::SEND.into()),
        ("const V4VOP_notify", abi::op::NOTIFY.into()),
        ("const V4VOP_sendv", abi::op::SENDV.into()),
        ("const V4V_DOMID_ANY", abi::V4V_DOMID_ANY.into()),
        ("const V4V_RING_MAGIC", abi::V4V_RING_MAGIC),
        ("const V4V_PFN_LIST_MAGIC", abi::V4V_PFN_LIST_MAGIC),
        ("const V4V_RING_DATA_MAGIC", abi::V4V_RING_DATA_MAGIC),
        ("const V4V_MSG_ALIGN", ring::ROUNDUP.into()),
        ("const V4V_MIN_RING_SIZE", abi::V4V_MIN_RING_SIZE.into()),
        ("const V4V_MAX_RING_SIZE", abi::V4V_MAX_RING_SIZE.into()),
        ("const V4V_MAX_MSG", abi::V4V_MAX_MSG.into()),
        ("const V4V_MAXIOV", abi::V4V_MAXIOV.into()),
        ("const V4V_MAX_NOTIFY_ENT", abi::V4V_MAX_NOTIFY_ENT.into()),
        ("const V4V_MAX_RINGS_PER_DOMAIN", abi::V4V_MAX_RINGS_PER_DOMAIN as u64),
        ("const V4V_PAGE_SIZE", abi::PAGE_SIZE.into()),
        ("const V4V_RING_DATA_F_EMPTY", abi::RingDataFlags::EMPTY.bits().into()),
        ("const V4V_RING_DATA_F_EXISTS", abi::RingDataFlags::EXISTS.bits().into()),
        ("const V4V_RING_DATA_F_PENDING", abi::RingDataFlags::PENDING.bits().into()),
        ("const V4V_RING_DATA_F_SUFFICIENT", abi::RingDataFlags::SUFFICIENT.bits().into()),
    ];
    for (name, v) in want {
        assert_eq!(got.remove(*name), Some(*v), "{name}: v4v.h against abi.rs");
    }
    assert!(got.is_empty(), "the driver prints values this test does not check: {got:?}");
}

/// A ring image: the 64-byte header (magic, len, rx_ptr, tx_ptr as given) and `data`.
fn image(data: &[u8], rx: u32, tx: u32) -> Vec<u8> {
    let mut v = vec![0u8; 64];
    v[0..8].copy_from_slice(&abi::V4V_RING_MAGIC.to_le_bytes());
    v[20..24].copy_from_slice(&(data.len() as u32).to_le_bytes());
    v[24..28].copy_from_slice(&rx.to_le_bytes());
    v[28..32].copy_from_slice(&tx.to_le_bytes());
    v.extend_from_slice(data);
    v
}

struct Sent {
    port: u32,
    domain: u16,
    protocol: u32,
    payload: Vec<u8>,
}

/// Deterministic generator (no dependency needed for a few hundred cases).
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 =
            self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as u32
    }
}

/// Fills a ring of `len` bytes whose receiver stands at `start` with messages from Xen's
/// writer until one does not fit; the C side then reads them with at most `t` bytes each.
fn copy_out_case(len: u32, start: u32, t: u64, seed: u64) {
    let mut rng = Lcg(seed);
    let mut data = vec![0u8; len as usize];
    // Junk where no message is: v4v_copy_out must never read it as one.
    for b in data.iter_mut() {
        *b = rng.next() as u8;
    }
    let max = abi::max_message_size(len);
    let mut tx = start;
    let mut sent = Vec::new();
    loop {
        let n = match rng.next() % 4 {
            0 => 0,
            1 => rng.next() % 16,
            _ => rng.next() % (max.min(300) + 1),
        };
        let payload: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
        let m = Sent { port: rng.next(), domain: rng.next() as u16, protocol: rng.next(), payload };
        let hdr = MessageHeader {
            len: 0,
            source: Addr { port: m.port, domain: m.domain, pad: 0 },
            protocol: m.protocol,
        };
        match write_message_into(&mut data, start, tx, hdr, &m.payload) {
            Ok(next) => {
                tx = next;
                sent.push(m);
            }
            Err(_) => break,
        }
    }
    let out = run(&["read", &t.to_string()], &image(&data, start, tx));
    let mut lines = out.lines();
    let mut rx = start;
    for (i, m) in sent.iter().enumerate() {
        let n = m.payload.len() as u64;
        assert_eq!(lines.next(), Some(format!("peek {n} rx {rx}").as_str()), "message {i} peek");
        rx = (rx + ring::slot_len(n as u32).unwrap()) % len;
        let cut = &m.payload[..t.min(n) as usize];
        let hex: String = cut.iter().map(|b| format!("{b:02x}")).collect();
        let want = format!(
            "msg {n} port {} domain {} pad 0 proto {} data {hex} after a5 rx {rx}",
            m.port, m.domain, m.protocol
        );
        assert_eq!(
            lines.next(),
            Some(want.as_str()),
            "message {i} (len {len}, start {start}, t {t})"
        );
    }
    assert_eq!(
        lines.next(),
        Some(format!("peek -1 rx {tx}").as_str()),
        "empty after {} messages",
        sent.len()
    );
    assert_eq!(lines.next(), Some(format!("end rx {tx} tx {tx}").as_str()));
    assert_eq!(lines.next(), None);
}

#[test]
fn copy_out_whole_messages() {
    let mut seed = 1;
    for len in [32u32, 48, 64, 256, 1024, 4096 - 64] {
        for start in [0, 16, len / 2 & !15, len - 32, len - 16] {
            seed += 1;
            copy_out_case(len, start, u64::MAX, seed);
        }
    }
}

#[test]
fn copy_out_truncated_to_t() {
    let mut seed = 1000;
    for t in [0u64, 1, 7, 15, 16, 17, 100] {
        for start in [0u32, 512 - 48, 1024 - 16] {
            seed += 1;
            copy_out_case(1024, start, t, seed);
        }
    }
}

/// Runs one read over a ring image and returns the driver's first line and its last.
fn first_and_end(img: &[u8]) -> (String, String) {
    let out = run(&["read", "64"], img);
    let lines: Vec<&str> = out.lines().collect();
    (lines[0].to_string(), lines.last().unwrap().to_string())
}

#[test]
fn copy_out_refuses_corrupt_rings() {
    let len = 256u32;
    let mut data = vec![0u8; len as usize];
    let hdr = MessageHeader { len: 0, source: Addr { port: 1, domain: 2, pad: 0 }, protocol: 3 };
    let tx = write_message_into(&mut data, 0, 0, hdr, &[9u8; 40]).unwrap();
    assert_eq!(tx, 64);
    // Sanity: the intact ring gives its message.
    assert_eq!(first_and_end(&image(&data, 0, tx)).0, "peek 40 rx 0");
    // Pointers: unaligned or out of range, either one. Nothing is read, rx is kept.
    for (rx, tx) in [(8, 64), (0, 65), (256, 64), (0, 256), (u32::MAX, 64), (0, u32::MAX - 15)] {
        assert_eq!(
            first_and_end(&image(&data, rx, tx)),
            (format!("peek -2 rx {rx}"), format!("end rx {rx} tx {tx}")),
            "rx {rx} tx {tx}"
        );
    }
    // The header's len: below 16, past tx (by one byte and by a slot), or huge.
    for bad in [0u32, 15, 65, 80, u32::MAX] {
        let mut d = data.clone();
        d[0..4].copy_from_slice(&bad.to_le_bytes());
        assert_eq!(
            first_and_end(&image(&d, 0, tx)),
            ("peek -2 rx 0".to_string(), format!("end rx 0 tx {tx}")),
            "header len {bad}"
        );
    }
    // A ring len that is not a ring's: below 32, or not a multiple of 16.
    for bad in [0usize, 16, 40] {
        let mut d = vec![0u8; bad];
        if bad >= 16 {
            d[0..4].copy_from_slice(&16u32.to_le_bytes());
        }
        assert_eq!(
            first_and_end(&image(&d, 0, 16)),
            ("peek -2 rx 0".to_string(), "end rx 0 tx 16".to_string()),
            "ring len {bad}"
        );
    }
}
