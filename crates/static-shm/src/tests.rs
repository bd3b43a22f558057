//! Host tests: device trees compiled by dtc, read with the same fdt-rs reader Xen uses,
//! checked, and set up against recording hosts. One test per refusal; each checks that the
//! message names the domain, the node, the property and the reason.

use std::io::Write;
use std::process::{Command, Stdio};
use std::string::{String, ToString};
use std::vec::Vec;

use crate::check::{HostLayout, Limits, RegionOwner, Role, SystemOwner, check};
use crate::dt::Fdt;
use crate::setup::{EvtchnHost, ShmHost, set_up_channels, set_up_domain_shm};

/// A DTB in 4-byte aligned storage.
struct Blob(Vec<u32>, usize);

impl Blob {
    fn bytes(&self) -> &[u8] {
        // Viewing initialised u32s as bytes is always valid.
        let all: &[u8] = bytemuck(&self.0);
        &all[..self.1]
    }
}

fn bytemuck(v: &[u32]) -> &[u8] {
    // SAFETY: u8 has no alignment or validity requirement; the length covers exactly the
    // initialised u32 storage.
    unsafe { core::slice::from_raw_parts(v.as_ptr().cast(), v.len() * 4) }
}

fn dtc(dts: &str) -> Blob {
    let mut child = Command::new("dtc")
        .args(["-I", "dts", "-O", "dtb", "-q", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dtc (device-tree-compiler) must be installed for the host tests");
    child.stdin.take().unwrap().write_all(dts.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "dtc failed: {}\n{dts}", String::from_utf8_lossy(&out.stderr));
    let mut words = vec![0u32; out.stdout.len().div_ceil(4)];
    for (i, b) in out.stdout.iter().enumerate() {
        let w = &mut words[i / 4];
        *w |= u32::from(*b) << (8 * (i % 4));
    }
    Blob(words, out.stdout.len())
}

/// /chosen with three domUs; `d0`, `d1`, `d2` go inside them, `extra` into /chosen.
fn tree(d0: &str, d1: &str, d2: &str, extra: &str) -> String {
    let dom = |i: usize, body: &str| {
        format!(
            "domU{i}: domU{i} {{ compatible = \"xen,domain\"; #address-cells = <2>; #size-cells = <2>; \
             memory = <0 0x10000>; cpus = <1>; {body} }};"
        )
    };
    format!(
        "/dts-v1/;\n/ {{ #address-cells = <2>; #size-cells = <2>;\n\
         intc: intc@8000000 {{ compatible = \"arm,gic-400\"; }};\n\
         chosen {{ #address-cells = <2>; #size-cells = <2>;\n{}\n{}\n{}\n{extra}\n}};\n}};\n",
        dom(0, d0),
        dom(1, d1),
        dom(2, d2)
    )
}

const RAM: &[(u64, u64)] = &[(0x4000_0000, 0x8000_0000)];
const RESERVED: &[(u64, u64, &str)] = &[
    (0x4020_0000, 0x20_0000, "the Xen image"),
    (0x4800_0000, 0x10_0000, "boot module (device tree)"),
];

fn host() -> HostLayout<'static> {
    HostLayout { ram: RAM, reserved: RESERVED }
}

/// The check's error messages (empty when it passed).
fn errors(dts: &str) -> Vec<String> {
    let blob = dtc(dts);
    let fdt = Fdt::new(blob.bytes()).unwrap();
    match check(&fdt, &host(), &Limits::default()) {
        Ok(_) => Vec::new(),
        Err(e) => e.iter().map(|e| e.to_string()).collect(),
    }
}

/// Exactly one error, containing every piece.
#[track_caller]
fn refused(dts: &str, pieces: &[&str]) {
    let errs = errors(dts);
    assert_eq!(errs.len(), 1, "want one error, got {errs:#?}");
    for p in pieces {
        assert!(errs[0].contains(p), "{:?} lacks {p:?}", errs[0]);
    }
}

fn ev(port: u32, label: &str, peer: &str) -> String {
    format!(
        "{label}: evtchn@{port} {{ compatible = \"xen,evtchn-v1\"; xen,evtchn = <{port} &{peer}>; }};"
    )
}

fn shm(id: &str, p: u64, g: u64, s: u64, role: &str) -> String {
    let role = if role.is_empty() { String::new() } else { format!("role = \"{role}\";") };
    format!(
        "shared-mem@{p:x} {{ compatible = \"xen,domain-shared-memory-v1\"; xen,shm-id = {id}; \
         xen,shared-mem = <0x{:x} 0x{:x} 0x{:x} 0x{:x} 0x{:x} 0x{:x}>; {role} }};",
        p >> 32,
        p & 0xffff_ffff,
        g >> 32,
        g & 0xffff_ffff,
        s >> 32,
        s & 0xffff_ffff
    )
}

/// A design-draft node: numeric id, cells in the draft's order `<host size guest>`.
fn shm_draft(id: u32, p: u64, s: u64, g: u64, role: &str) -> String {
    let role = if role.is_empty() { String::new() } else { format!("role = \"{role}\";") };
    format!(
        "shared-mem@{p:x} {{ compatible = \"xen,domain-shared-memory-v1\"; xen,shm-id = <{id:#x}>; \
         xen,shared-mem = <0x{:x} 0x{:x} 0x{:x} 0x{:x} 0x{:x} 0x{:x}>; {role} }};",
        p >> 32,
        p & 0xffff_ffff,
        s >> 32,
        s & 0xffff_ffff,
        g >> 32,
        g & 0xffff_ffff
    )
}

const P: u64 = 0x7000_0000;
const G: u64 = 0x5000_0000;
const S: u64 = 0x20_0000;

// ---------------------------------------------------------------- positive

#[derive(Default)]
struct RecEvtchn(Vec<String>);

impl EvtchnHost for RecEvtchn {
    fn domid(&mut self, name: &str) -> Option<u16> {
        name.strip_prefix("domU")?.parse::<u16>().ok().map(|i| i + 1)
    }
    fn alloc_unbound(&mut self, dom: u16, port: u32, remote: u16) -> Result<(), i32> {
        self.0.push(format!("alloc d{dom}:{port} -> d{remote}"));
        Ok(())
    }
    fn bind_interdomain(
        &mut self,
        dom: u16,
        port: u32,
        remote: u16,
        rport: u32,
    ) -> Result<(), i32> {
        self.0.push(format!("bind d{dom}:{port} -> d{remote}:{rport}"));
        Ok(())
    }
}

#[derive(Default)]
struct RecShm {
    log: Vec<String>,
    system_owns: Option<SystemOwner>,
}

impl ShmHost for RecShm {
    fn owned_by_system(&mut self, owner: SystemOwner, _: u64) -> bool {
        self.system_owns == Some(owner)
    }
    fn assign(
        &mut self,
        to: Option<SystemOwner>,
        p: u64,
        s: u64,
        g: u64,
        nr: u64,
    ) -> Result<(), i32> {
        let who = match to {
            None => "self",
            Some(SystemOwner::DomIo) => "dom_io",
            Some(SystemOwner::DomShared) => "dom_shared",
        };
        self.log.push(format!("assign {who} {p:#x}+{s:#x} at {g:#x} refs {nr}"));
        self.system_owns = self.system_owns.or(to);
        Ok(())
    }
    fn map_foreign(&mut self, g: u64, p: u64, s: u64) -> Result<(), i32> {
        self.log.push(format!("foreign {p:#x}+{s:#x} at {g:#x}"));
        Ok(())
    }
    fn record(&mut self, g: u64, s: u64, id: &str) -> Result<(), i32> {
        self.log.push(format!("record {g:#x}+{s:#x} {id}"));
        Ok(())
    }
}

#[test]
fn v1_channels_pair_and_set_up_in_c_order() {
    let dts = tree(
        &(ev(10, "a10", "b11") + &ev(12, "a12", "c13")),
        &ev(11, "b11", "a10"),
        &ev(13, "c13", "a12"),
        "",
    );
    let blob = dtc(&dts);
    let fdt = Fdt::new(blob.bytes()).unwrap();
    let cfg = check(&fdt, &host(), &Limits::default())
        .map_err(|e| e.iter().map(|e| e.to_string()).collect::<Vec<_>>())
        .unwrap();
    assert_eq!(cfg.channels.len(), 2);
    let mut h = RecEvtchn::default();
    assert_eq!(set_up_channels(&cfg, &mut h), Ok(2));
    assert_eq!(
        h.0,
        ["alloc d1:10 -> d2", "bind d2:11 -> d1:10", "alloc d1:12 -> d3", "bind d3:13 -> d1:12"]
    );
}

#[test]
fn draft_channels_name_domains_by_phandle() {
    let dts = tree(
        "",
        "",
        "",
        "evtchn@1 { compatible = \"xen,evtchn\"; xen,evtchn = <0xa &domU0 0xb &domU1>; };\n\
         evtchn@2 { compatible = \"xen,evtchn\"; xen,evtchn = <0xc &domU2 0xd &domU1>; };",
    );
    let blob = dtc(&dts);
    let fdt = Fdt::new(blob.bytes()).unwrap();
    let cfg = check(&fdt, &host(), &Limits::default()).ok().unwrap();
    let mut h = RecEvtchn::default();
    assert_eq!(set_up_channels(&cfg, &mut h), Ok(2));
    assert_eq!(
        h.0,
        ["alloc d1:10 -> d2", "bind d2:11 -> d1:10", "alloc d3:12 -> d2", "bind d2:13 -> d3:12"]
    );
    assert!(cfg.channels.iter().all(|c| c.draft));
}

#[test]
fn shm_default_owner_is_dom_io_and_borrowers_map_foreign() {
    let dts = tree(&shm("\"shm0\"", P, G, S, ""), &shm("\"shm0\"", P, 0x6000_0000, S, ""), "", "");
    let blob = dtc(&dts);
    let fdt = Fdt::new(blob.bytes()).unwrap();
    let cfg = check(&fdt, &host(), &Limits::default()).ok().unwrap();
    let regions: Vec<_> =
        cfg.regions().map(|(s, n)| (s.id.as_str().to_string(), s.pbase, s.size, n)).collect();
    assert_eq!(regions, [("shm0".to_string(), P, S, 2)]);
    let mut h = RecShm::default();
    assert_eq!(set_up_domain_shm(&cfg, Some(0), &mut h), Ok(1));
    assert_eq!(set_up_domain_shm(&cfg, Some(1), &mut h), Ok(1));
    assert_eq!(
        h.log,
        [
            "assign dom_io 0x70000000+0x200000 at 0x50000000 refs 2",
            "foreign 0x70000000+0x200000 at 0x50000000",
            "record 0x50000000+0x200000 shm0",
            "foreign 0x70000000+0x200000 at 0x60000000",
            "record 0x60000000+0x200000 shm0",
        ]
    );
}

#[test]
fn shm_owner_and_borrower_and_numeric_draft_id() {
    let dts = tree(&shm_draft(7, P, S, G, "owner"), &shm_draft(7, P, S, G, "borrower"), "", "");
    let blob = dtc(&dts);
    let fdt = Fdt::new(blob.bytes()).unwrap();
    let cfg = check(&fdt, &host(), &Limits::default()).ok().unwrap();
    let s = cfg.shms.get(0).unwrap();
    assert!(s.numeric_id && s.id.as_str() == "7" && s.role == Role::Owner);
    let mut h = RecShm::default();
    set_up_domain_shm(&cfg, Some(0), &mut h).unwrap();
    set_up_domain_shm(&cfg, Some(1), &mut h).unwrap();
    assert_eq!(
        h.log,
        [
            "assign self 0x70000000+0x200000 at 0x50000000 refs 1",
            "record 0x50000000+0x200000 7",
            "foreign 0x70000000+0x200000 at 0x50000000",
            "record 0x50000000+0x200000 7",
        ]
    );
}

#[test]
fn set_up_reports_xen_failures_with_the_node() {
    struct Refuse;
    impl EvtchnHost for Refuse {
        fn domid(&mut self, _: &str) -> Option<u16> {
            Some(1)
        }
        fn alloc_unbound(&mut self, _: u16, _: u32, _: u16) -> Result<(), i32> {
            Err(-16)
        }
        fn bind_interdomain(&mut self, _: u16, _: u32, _: u16, _: u32) -> Result<(), i32> {
            Ok(())
        }
    }
    let dts = tree(&ev(10, "a", "b"), &ev(11, "b", "a"), "", "");
    let blob = dtc(&dts);
    let fdt = Fdt::new(blob.bytes()).unwrap();
    let cfg = check(&fdt, &host(), &Limits::default()).ok().unwrap();
    let e = set_up_channels(&cfg, &mut Refuse).unwrap_err().to_string();
    assert_eq!(
        e,
        "domain domU0: node /chosen/domU0/evtchn@10: property xen,evtchn: evtchn_alloc_unbound failed (-16) (-EINVAL)"
    );
}

#[test]
fn a_tree_without_chosen_or_static_nodes_is_empty() {
    assert!(errors("/dts-v1/; / { };").is_empty());
    assert!(errors(&tree("", "", "", "")).is_empty());
}

#[test]
fn garbage_blobs_are_refused_not_read() {
    assert!(Fdt::new(&[0u8; 3]).is_err());
    let blob = dtc(&tree("", "", "", ""));
    let mut words = blob.0.clone();
    words[1] = 0x10_0000u32.to_be(); // totalsize larger than the slice
    assert!(Fdt::new(&bytemuck(&words)[..blob.1]).is_err());
}

#[test]
fn a_damaged_structure_block_never_panics() {
    let blob = dtc(&tree(&ev(10, "a", "b"), &ev(11, "b", "a"), &shm("\"x\"", P, G, S, ""), ""));
    let n = blob.1;
    // Flip every word of the structure block in turn: any outcome but a panic is fine.
    let off_struct = u32::from_be(blob.0[2]) as usize / 4;
    let mut damaged = 0;
    for i in off_struct..n / 4 {
        let mut w = blob.0.clone();
        w[i] ^= 0x0500_0000;
        let bytes = &bytemuck(&w)[..n];
        if let Ok(fdt) = Fdt::new(bytes) {
            if let Err(e) = check(&fdt, &host(), &Limits::default()) {
                damaged += e.iter().filter(|e| e.reason == crate::Reason::DamagedTree).count();
            }
        }
    }
    // Some corruptions are bad tokens: those are refused as a damaged tree.
    assert!(damaged > 0);
}

// ---------------------------------------------------------------- refusals: event channels

#[test]
fn evtchn_missing_property() {
    let dts = tree("a: evtchn@10 { compatible = \"xen,evtchn-v1\"; };", "", "", "");
    refused(&dts, &["domain domU0", "/chosen/domU0/evtchn@10", "property xen,evtchn", "missing"]);
}

#[test]
fn evtchn_short_property() {
    let dts =
        tree("a: evtchn@10 { compatible = \"xen,evtchn-v1\"; xen,evtchn = <10>; };", "", "", "");
    refused(&dts, &["domU0", "evtchn@10", "xen,evtchn", "4 bytes, expected 8"]);
}

#[test]
fn evtchn_port_zero() {
    let dts = tree(&ev(0, "a", "b"), &ev(11, "b", "a"), "", "");
    refused(&dts, &["domU0", "evtchn@0", "xen,evtchn", "port 0 is not a valid port"]);
}

#[test]
fn evtchn_port_past_the_limit() {
    let dts = tree(&ev(1024, "a", "b"), &ev(11, "b", "a"), "", "");
    refused(
        &dts,
        &["domU0", "evtchn@1024", "port 1024 is past the domain's limit (1023)", "ENOSPC"],
    );
}

#[test]
fn evtchn_port_used_twice() {
    let dts = tree(
        &(ev(10, "a", "b")
            + "a2: evtchn@10b { compatible = \"xen,evtchn-v1\"; xen,evtchn = <10 &c>; };"),
        &ev(11, "b", "a"),
        &ev(13, "c", "a2"),
        "",
    );
    refused(
        &dts,
        &["domU0", "evtchn@10b", "port 10 is also set up by /chosen/domU0/evtchn@10", "EBUSY"],
    );
}

#[test]
fn evtchn_phandle_to_nothing() {
    let dts =
        tree("evtchn@10 { compatible = \"xen,evtchn-v1\"; xen,evtchn = <10 0x77>; };", "", "", "");
    refused(&dts, &["domU0", "evtchn@10", "xen,evtchn", "phandle 0x77 names no node"]);
}

#[test]
fn evtchn_phandle_to_a_non_evtchn_node() {
    let dts =
        tree("evtchn@10 { compatible = \"xen,evtchn-v1\"; xen,evtchn = <10 &intc>; };", "", "", "");
    refused(&dts, &["domU0", "evtchn@10", "names intc@8000000, not a xen,evtchn-v1 node"]);
}

#[test]
fn evtchn_peer_outside_a_domain() {
    let dts = tree(
        "evtchn@10 { compatible = \"xen,evtchn-v1\"; xen,evtchn = <10 &lost>; };",
        "",
        "",
        "lost: evtchn@11 { compatible = \"xen,evtchn-v1\"; xen,evtchn = <11 0x1>; };",
    );
    refused(
        &dts,
        &["domU0", "evtchn@10", "peer node evtchn@11 is not a child of a xen,domain node"],
    );
}

#[test]
fn evtchn_to_itself() {
    let dts = tree(&ev(10, "a", "a"), "", "", "");
    refused(&dts, &["domU0", "evtchn@10", "connects an endpoint to itself"]);
}

#[test]
fn evtchn_not_reciprocal() {
    // a -> b -> c -> a: every endpoint's peer points elsewhere.
    let dts = tree(&ev(10, "a", "b"), &ev(11, "b", "c"), &ev(13, "c", "a"), "");
    let errs = errors(&dts);
    assert_eq!(errs.len(), 3, "{errs:#?}");
    assert!(
        errs[0].contains("domU0")
            && errs[0].contains("peer /chosen/domU1/evtchn@11 points back to phandle")
    );
}

#[test]
fn evtchn_peer_without_phandle() {
    // dtc gives a node a phandle only when something references it.
    let dts = tree(
        &ev(10, "a", "b"),
        "b: evtchn@11 { compatible = \"xen,evtchn-v1\"; xen,evtchn = <11 0x9999>; };",
        "",
        "",
    );
    let errs = errors(&dts);
    assert!(
        errs.iter().any(|e| e.contains("domU1") && e.contains("phandle 0x9999 names no node")),
        "{errs:#?}"
    );
}

#[test]
fn draft_phandle_to_a_non_domain_node() {
    let dts = tree(
        "",
        "",
        "",
        "evtchn@1 { compatible = \"xen,evtchn\"; xen,evtchn = <10 &domU0 11 &intc>; };",
    );
    refused(
        &dts,
        &[
            "domain -",
            "/chosen/evtchn@1",
            "xen,evtchn",
            "names intc@8000000, not a xen,domain node",
        ],
    );
}

#[test]
fn draft_short_property() {
    let dts =
        tree("", "", "", "evtchn@1 { compatible = \"xen,evtchn\"; xen,evtchn = <10 &domU0 11>; };");
    refused(&dts, &["/chosen/evtchn@1", "12 bytes, expected 16"]);
}

#[test]
fn draft_to_itself() {
    let dts = tree(
        "",
        "",
        "",
        "evtchn@1 { compatible = \"xen,evtchn\"; xen,evtchn = <10 &domU0 10 &domU0>; };",
    );
    refused(&dts, &["domain domU0", "/chosen/evtchn@1", "connects an endpoint to itself"]);
}

#[test]
fn draft_duplicate_connection() {
    let dts = tree(
        "",
        "",
        "",
        "evtchn@1 { compatible = \"xen,evtchn\"; xen,evtchn = <10 &domU0 11 &domU1>; };\n\
         evtchn@2 { compatible = \"xen,evtchn\"; xen,evtchn = <11 &domU1 10 &domU0>; };",
    );
    refused(
        &dts,
        &["/chosen/evtchn@2", "the same connection is also set up by /chosen/evtchn@1", "EEXIST"],
    );
}

#[test]
fn draft_and_v1_share_ports() {
    let dts = tree(
        &ev(10, "a", "b"),
        &ev(11, "b", "a"),
        "",
        "evtchn@1 { compatible = \"xen,evtchn\"; xen,evtchn = <10 &domU0 12 &domU2>; };",
    );
    refused(
        &dts,
        &["domain domU0", "/chosen/evtchn@1", "port 10 is also set up by /chosen/domU0/evtchn@10"],
    );
}

// ---------------------------------------------------------------- refusals: shared memory

#[test]
fn shm_missing_shared_mem() {
    let dts = tree(
        "shm@0 { compatible = \"xen,domain-shared-memory-v1\"; xen,shm-id = \"a\"; };",
        "",
        "",
        "",
    );
    refused(&dts, &["domain domU0", "/chosen/domU0/shm@0", "property xen,shared-mem", "missing"]);
}

#[test]
fn shm_missing_id() {
    let dts = tree(
        "shm@0 { compatible = \"xen,domain-shared-memory-v1\"; xen,shared-mem = <0 0x70000000 0 0x50000000 0 0x200000>; };",
        "",
        "",
        "",
    );
    refused(&dts, &["domU0", "shm@0", "property xen,shm-id", "missing"]);
}

#[test]
fn shm_id_too_long() {
    refused(
        &tree(&shm("\"0123456789abcdef\"", P, G, S, ""), "", "", ""),
        &["xen,shm-id", "16 characters, at most 15"],
    );
}

#[test]
fn shm_id_of_the_maximum_length_is_accepted() {
    // 15 characters: Xen 4.17's longest (MAX_SHM_ID_LENGTH 16 counts the NUL).
    assert_eq!(
        errors(&tree(&shm("\"0123456789abcde\"", P, G, S, ""), "", "", "")),
        Vec::<String>::new()
    );
}

#[test]
fn shm_id_empty() {
    refused(&tree(&shm("\"\"", P, G, S, ""), "", "", ""), &["xen,shm-id", "empty identifier"]);
}

#[test]
fn shm_id_without_value() {
    refused(
        &tree(&shm("", P, G, S, "").replace("xen,shm-id = ;", "xen,shm-id;"), "", "", ""),
        &["xen,shm-id", "empty identifier"],
    );
}

#[test]
fn shm_numeric_id_out_of_range() {
    refused(
        &tree(&shm_draft(0x127, P, S, G, ""), "", "", ""),
        &["xen,shm-id", "0x127 is out of range 0..=0x126"],
    );
}

#[test]
fn shm_id_of_bad_length() {
    refused(
        &tree(&shm("<1 2>", P, G, S, ""), "", "", ""),
        &["xen,shm-id", "neither a NUL-terminated"],
    );
}

#[test]
fn shm_unknown_role() {
    refused(
        &tree(&shm("\"a\"", P, G, S, "lender"), "", "", ""),
        &["domU0", "property role", "\"lender\" is neither"],
    );
}

#[test]
fn shm_size_zero() {
    refused(&tree(&shm("\"a\"", P, G, 0, ""), "", "", ""), &["xen,shared-mem", "size is zero"]);
}

#[test]
fn shm_unaligned() {
    refused(
        &tree(&shm("\"a\"", P + 0x800, G, S, ""), "", "", ""),
        &["host address 0x70000800 is not 4 KiB aligned"],
    );
    refused(
        &tree(&shm("\"a\"", P, G, 0x1800, ""), "", "", ""),
        &["size 0x1800 is not 4 KiB aligned"],
    );
}

#[test]
fn shm_host_address_missing() {
    let dts = tree(
        "shm@0 { compatible = \"xen,domain-shared-memory-v1\"; xen,shm-id = \"a\"; xen,shared-mem = <0 0x50000000 0 0x200000>; };",
        "",
        "",
        "",
    );
    refused(&dts, &["xen,shared-mem", "needs the host address too"]);
}

#[test]
fn shm_wraps_around() {
    refused(
        &tree(&shm("\"a\"", 0xffff_ffff_fff0_0000, G, S, ""), "", "", ""),
        &["host address + size wraps around"],
    );
}

#[test]
fn shm_outside_ram() {
    refused(&tree(&shm("\"a\"", 0x1_0000_0000, G, S, ""), "", "", ""), &["is not inside host RAM"]);
}

#[test]
fn shm_ending_past_ram() {
    // Starts inside host RAM (0x40000000-0xc0000000) and ends 1 MiB past it.
    refused(&tree(&shm("\"a\"", 0xbff0_0000, G, S, ""), "", "", ""), &["is not inside host RAM"]);
}

#[test]
fn shm_overlaps_xen() {
    refused(
        &tree(&shm("\"a\"", 0x4020_0000, G, S, ""), "", "", ""),
        &["host region overlaps the Xen image"],
    );
}

#[test]
fn shm_overlaps_guest_ram() {
    refused(
        &tree(&shm("\"a\"", P, 0x4100_0000, S, ""), "", "", ""),
        &["guest region overlaps the domain's RAM (0x40000000-0x44000000)"],
    );
}

#[test]
fn shm_regions_overlap_each_other() {
    let dts = tree(&shm("\"a\"", P, G, S, ""), &shm("\"b\"", P + 0x1000, G, S, ""), "", "");
    refused(
        &dts,
        &["domain domU1", "host region overlaps the region of /chosen/domU0/shared-mem@70000000"],
    );
}

#[test]
fn shm_same_id_other_region() {
    let dts = tree(&shm("\"a\"", P, G, S, ""), &shm("\"a\"", P + S, G, S, ""), "", "");
    refused(
        &dts,
        &[
            "domU1",
            "same identifier as /chosen/domU0/shared-mem@70000000 but a different host region",
        ],
    );
}

#[test]
fn shm_guest_regions_overlap() {
    let dts =
        tree(&(shm("\"a\"", P, G, S, "") + &shm("\"b\"", P + S, G + 0x1000, S, "")), "", "", "");
    refused(&dts, &["domU0", "guest region overlaps the guest region of"]);
}

#[test]
fn shm_two_owners() {
    let dts = tree(&shm("\"a\"", P, G, S, "owner"), &shm("\"a\"", P, G, S, "owner"), "", "");
    refused(
        &dts,
        &[
            "domain domU1",
            "property role",
            "/chosen/domU0/shared-mem@70000000 is owner of the region too",
        ],
    );
}

#[test]
fn shm_borrower_without_owner() {
    let dts = tree(&shm("\"a\"", P, G, S, "borrower"), &shm("\"a\"", P, G, S, "borrower"), "", "");
    refused(&dts, &["domain domU0", "property role", "no node of this identifier is \"owner\""]);
}

#[test]
fn shm_mixed_default_and_explicit_roles() {
    let dts = tree(&shm("\"a\"", P, G, S, "owner"), &shm("\"a\"", P, G, S, ""), "", "");
    refused(&dts, &["domain domU1", "property role", "no role here (owner dom_io)"]);
}

#[test]
fn shm_id_twice_in_one_domain() {
    let dts = tree(
        &(shm("\"a\"", P, G, S, "")
            + &shm("\"a\"", P, G + S, S, "").replace("shared-mem@70000000", "shared-mem@1")),
        "",
        "",
        "",
    );
    refused(&dts, &["domU0", "shared-mem@1", "already uses this identifier"]);
}

#[test]
fn shm_bad_cells() {
    let dts = tree(&shm("\"a\"", P, G, S, ""), "", "", "").replacen(
        "#size-cells = <2>; memory",
        "#size-cells = <3>; memory",
        1,
    );
    refused(&dts, &["domU0", "#address-cells", "#size-cells 3"]);
}

#[test]
fn every_error_is_reported_not_just_the_first() {
    let dts = tree(&(ev(0, "a", "b") + &shm("\"a\"", P, G, 0, "")), &ev(11, "b", "a"), "", "");
    assert_eq!(errors(&dts).len(), 2);
}

/// Fuzz finding (docs/fuzzing.md; fuzz/regressions/static_shm_dt/): a structure
/// block whose token walk reaches the blob's last word. fdt-rs's token parser requires
/// `off + 4 < len` (a debug assertion; release builds, like Xen's, only bounds-check the
/// read): the reader must refuse the tree as damaged, never call the parser out of contract.
#[test]
fn fuzz_walk_to_the_last_word_is_a_damaged_tree() {
    let errors = regression_errors(include_bytes!(
        "../../../fuzz/regressions/static_shm_dt/walk-to-last-word.dtb"
    ));
    assert!(errors.iter().any(|e| e.contains("damaged")), "{errors:?}");
}

/// Fuzz finding: a blob whose totalsize matches its length but is shorter than the FDT
/// header. fdt-rs unwraps its header reads, so the reader must refuse such a blob first.
#[test]
fn fuzz_blob_shorter_than_the_header_is_refused() {
    for len in (8..40).step_by(4) {
        let mut words = vec![0u32; len / 4];
        words[0] = u32::from_ne_bytes([0xd0, 0x0d, 0xfe, 0xed]);
        words[1] = u32::from_ne_bytes((len as u32).to_be_bytes());
        // SAFETY: u8 has no alignment or validity requirement; the slice covers `words`.
        let bytes = unsafe { std::slice::from_raw_parts(words.as_ptr().cast::<u8>(), len) };
        assert!(Fdt::new(bytes).is_err(), "{len}-byte blob accepted");
    }
}

/// The check's messages for a fuzzer-found blob (copied to aligned storage as Xen has it).
fn regression_errors(data: &[u8]) -> Vec<String> {
    let mut words = vec![0u32; data.len().div_ceil(4)];
    for (i, b) in data.iter().enumerate() {
        words[i / 4] |= u32::from(*b) << (8 * (i % 4));
    }
    let blob = Blob(words, data.len());
    let fdt = Fdt::new(blob.bytes()).unwrap();
    match check(&fdt, &host(), &Limits::default()) {
        Ok(_) => Vec::new(),
        Err(e) => e.iter().map(|e| e.to_string()).collect(),
    }
}

/// Fuzz finding (fuzz/regressions/static_shm_dt/guest-ram-end-overflow.dtb): a
/// domain whose `memory` makes a guest RAM bank end past 2^64, and a shared region in it.
/// The refusal's "end" was `base + size`: an overflow panic in debug builds, a wrapped
/// address in the message in release ones. It must be refused, the end saturated.
#[test]
fn fuzz_guest_ram_bank_end_past_2_pow_64_is_refused_not_a_panic() {
    let errors = regression_errors(include_bytes!(
        "../../../fuzz/regressions/static_shm_dt/guest-ram-end-overflow.dtb"
    ));
    assert!(!errors.is_empty(), "the tree must be refused");
}

// ---------------------------------------------------------------- design-draft binding

/// The seed's example (shared/seeds/001), dom0's region under /chosen and the 1-cell
/// addresses of its domU nodes, scaled to the test host's RAM: region 0 owned by dom0 and
/// borrowed by domU1, region 1 with no role (dom_shared) in domU1 and domU2.
fn seed_example() -> String {
    "/dts-v1/;\n/ { #address-cells = <2>; #size-cells = <2>;\n\
     chosen { #address-cells = <0x1>; #size-cells = <0x1>;\n\
     dom0-shared-mem@70000000 { compatible = \"xen,domain-shared-memory-v1\"; xen,shm-id = <0x0>; \
       role = \"owner\"; xen,shared-mem = <0x70000000 0x200000 0x70000000>; };\n\
     domU1 { compatible = \"xen,domain\"; #address-cells = <0x1>; #size-cells = <0x1>; \
       memory = <0 0x10000>; cpus = <1>;\n\
       domU1-shared-mem@70000000 { compatible = \"xen,domain-shared-memory-v1\"; \
         xen,shm-id = <0x0>; role = \"borrower\"; xen,shared-mem = <0x70000000 0x200000 0x50000000>; };\n\
       domU1-shared-mem@70200000 { compatible = \"xen,domain-shared-memory-v1\"; \
         xen,shm-id = <0x1>; xen,shared-mem = <0x70200000 0x400000 0x60000000>; }; };\n\
     domU2 { compatible = \"xen,domain\"; #address-cells = <0x1>; #size-cells = <0x1>; \
       memory = <0 0x10000>; cpus = <1>;\n\
       domU2-shared-mem@70200000 { compatible = \"xen,domain-shared-memory-v1\"; \
         xen,shm-id = <0x1>; xen,shared-mem = <0x70200000 0x400000 0x70000000>; }; };\n\
     };\n};\n"
        .to_string()
}

#[test]
fn draft_cells_are_host_size_guest() {
    let blob = dtc(&seed_example());
    let fdt = Fdt::new(blob.bytes()).unwrap();
    let cfg = check(&fdt, &host(), &Limits::default())
        .map_err(|e| e.iter().map(|e| e.to_string()).collect::<Vec<_>>())
        .unwrap();
    let got: Vec<_> = cfg
        .shms
        .iter()
        .map(|s| (s.domain, s.id.as_str().to_string(), s.pbase, s.size, s.gbase, s.role))
        .collect();
    assert_eq!(
        got,
        [
            (Some(0), "0".to_string(), 0x7000_0000, 0x20_0000, 0x5000_0000, Role::Borrower),
            (Some(0), "1".to_string(), 0x7020_0000, 0x40_0000, 0x6000_0000, Role::Default),
            (Some(1), "1".to_string(), 0x7020_0000, 0x40_0000, 0x7000_0000, Role::Default),
            (None, "0".to_string(), 0x7000_0000, 0x20_0000, 0x7000_0000, Role::Owner),
        ]
    );
}

#[test]
fn draft_region_without_role_is_dom_shared_s_and_everyone_borrows() {
    let blob = dtc(&seed_example());
    let fdt = Fdt::new(blob.bytes()).unwrap();
    let cfg = check(&fdt, &host(), &Limits::default()).ok().unwrap();
    let id = |i: usize| cfg.shms.get(i).unwrap().id;
    assert_eq!(cfg.owner(&id(0)), RegionOwner::Domain);
    assert_eq!(cfg.owner(&id(1)), RegionOwner::System(SystemOwner::DomShared));
    let mut h = RecShm::default();
    // dom0 (the /chosen nodes) is built first, then domU1, domU2.
    assert_eq!(set_up_domain_shm(&cfg, None, &mut h), Ok(1));
    assert_eq!(set_up_domain_shm(&cfg, Some(0), &mut h), Ok(2));
    assert_eq!(set_up_domain_shm(&cfg, Some(1), &mut h), Ok(1));
    assert_eq!(
        h.log,
        [
            "assign self 0x70000000+0x200000 at 0x70000000 refs 1",
            "record 0x70000000+0x200000 0",
            "foreign 0x70000000+0x200000 at 0x50000000",
            "record 0x50000000+0x200000 0",
            "assign dom_shared 0x70200000+0x400000 at 0x60000000 refs 2",
            "foreign 0x70200000+0x400000 at 0x60000000",
            "record 0x60000000+0x400000 1",
            "foreign 0x70200000+0x400000 at 0x70000000",
            "record 0x70000000+0x400000 1",
        ]
    );
}

#[test]
fn draft_no_role_next_to_an_owner_is_a_borrower() {
    let dts = tree(&shm_draft(3, P, S, G, "owner"), &shm_draft(3, P, S, G, ""), "", "");
    let blob = dtc(&dts);
    let fdt = Fdt::new(blob.bytes()).unwrap();
    let cfg = check(&fdt, &host(), &Limits::default()).ok().unwrap();
    let mut h = RecShm::default();
    set_up_domain_shm(&cfg, Some(0), &mut h).unwrap();
    set_up_domain_shm(&cfg, Some(1), &mut h).unwrap();
    assert_eq!(
        h.log,
        [
            "assign self 0x70000000+0x200000 at 0x50000000 refs 1",
            "record 0x50000000+0x200000 3",
            "foreign 0x70000000+0x200000 at 0x50000000",
            "record 0x50000000+0x200000 3",
        ]
    );
}

#[test]
fn draft_explicit_borrowers_without_owner_borrow_from_dom_shared() {
    let dts = tree(&shm_draft(0, P, S, G, "borrower"), &shm_draft(0, P, S, G, "borrower"), "", "");
    let blob = dtc(&dts);
    let fdt = Fdt::new(blob.bytes()).unwrap();
    let cfg = check(&fdt, &host(), &Limits::default()).ok().unwrap();
    let mut h = RecShm::default();
    set_up_domain_shm(&cfg, Some(0), &mut h).unwrap();
    set_up_domain_shm(&cfg, Some(1), &mut h).unwrap();
    assert_eq!(h.log[0], "assign dom_shared 0x70000000+0x200000 at 0x50000000 refs 2");
    assert_eq!(h.log.iter().filter(|l| l.starts_with("assign")).count(), 1);
}

#[test]
fn draft_two_owners_are_still_refused() {
    let dts = tree(&shm_draft(0, P, S, G, "owner"), &shm_draft(0, P, S, G, "owner"), "", "");
    refused(&dts, &["domain domU1", "property role", "is owner of the region too"]);
}

#[test]
fn draft_node_in_xen_4_17_order_is_refused_with_a_hint() {
    // <host guest size> with a numeric id: read as size 0x50000000 at guest 0x200000.
    let dts = tree(&shm_draft(0, P, G, S, ""), "", "", "");
    let errs = errors(&dts);
    assert!(
        errs.iter().any(|e| e.contains("node /chosen/domU0/shared-mem@70000000")
            && e.contains("property xen,shared-mem")
            && e.contains(
                "fit Xen 4.17's <host guest size> order (guest 0x50000000, size 0x200000)"
            )),
        "{errs:#?}"
    );
}

#[test]
fn draft_short_property_names_the_draft_order() {
    let dts = tree(&shm_draft(0, P, S, G, ""), "", "", "").replace("0x0 0x50000000>", "0x0>");
    refused(&dts, &["xen,shared-mem", "host address, size, guest address (design-draft order"]);
}

#[test]
fn one_region_in_both_bindings_is_refused() {
    let dts = tree(&shm("\"7\"", P, G, S, ""), &shm_draft(7, P, S, G, ""), "", "");
    refused(&dts, &["domain domU1", "property xen,shm-id", "a number here and a string"]);
}

#[test]
fn xen_4_17_binding_keeps_dom_io() {
    let dts = tree(&shm("\"a\"", P, G, S, ""), &shm("\"a\"", P, 0x6000_0000, S, ""), "", "");
    let blob = dtc(&dts);
    let fdt = Fdt::new(blob.bytes()).unwrap();
    let cfg = check(&fdt, &host(), &Limits::default()).ok().unwrap();
    let id = cfg.shms.get(0).unwrap().id;
    assert_eq!(cfg.owner(&id), RegionOwner::System(SystemOwner::DomIo));
}

#[test]
fn numeric_id_gap_is_found_not_refused() {
    let dts = tree(&shm_draft(0, P, S, G, ""), &shm_draft(2, P + S, S, G, ""), "", "");
    let blob = dtc(&dts);
    let fdt = Fdt::new(blob.bytes()).unwrap();
    let cfg = check(&fdt, &host(), &Limits::default()).ok().unwrap();
    let (missing, s) = cfg.numeric_id_gap().unwrap();
    assert_eq!(
        (missing, s.id.as_str(), s.path.to_string().as_str()),
        (1, "2", "/chosen/domU1/shared-mem@70200000")
    );

    let blob = dtc(&seed_example());
    let fdt = Fdt::new(blob.bytes()).unwrap();
    let cfg = check(&fdt, &host(), &Limits::default()).ok().unwrap();
    assert!(cfg.numeric_id_gap().is_none());
}
