//! Host tests of the FDT reader: a dtc-made blob (tests/data/sample.dts, checked in as
//! sample.dtb and, when dtc is installed, rebuilt here), hand-built malformed trees, and every
//! truncation and many corruptions of the sample, which must fail cleanly and never panic.

use super::*;

const SAMPLE: &[u8] = include_bytes!("../../tests/data/sample.dtb");
const SAMPLE_DTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/sample.dts");

fn sample() -> Fdt<'static> {
    Fdt::new(SAMPLE).expect("sample.dtb parses")
}

#[test]
fn header_and_root() {
    let fdt = sample();
    assert_eq!(fdt.total_size(), SAMPLE.len());
    let root = fdt.root().unwrap();
    assert_eq!(root.name(), "");
    assert_eq!(root.property_u32("#address-cells"), Some(2));
    assert!(root.is_compatible("xen,xenvm"));
    assert!(!root.is_compatible("xen,xen"));
    let compat: Vec<_> = root.property("compatible").unwrap().strings().collect();
    assert_eq!(compat, ["xen,xenvm-4.17", "xen,xenvm"]);
}

#[test]
fn chosen_and_bootargs() {
    let fdt = sample();
    assert_eq!(fdt.bootargs(), Some("test=hello port=10 verbose"));
    let chosen = fdt.find_node("/chosen").unwrap();
    assert_eq!(chosen.name(), "chosen");
    let empty = chosen.property("empty").unwrap();
    assert_eq!(empty.value, b"");
    assert_eq!(empty.as_str(), None);
    assert_eq!(chosen.property("u64-value").unwrap().as_u64(), Some(0x1234_5678_9abc_def0));
    assert_eq!(chosen.property("u64-value").unwrap().as_u32(), None);
    // A string without its NUL is not a string.
    let nt = chosen.property("not-terminated").unwrap();
    assert_eq!(nt.value, b"abc");
    assert_eq!(nt.as_str(), None);
    assert_eq!(nt.strings().count(), 0);
    assert!(chosen.property("missing").is_none());
}

#[test]
fn paths_and_unit_addresses() {
    let fdt = sample();
    assert_eq!(fdt.find_node("/").unwrap().name(), "");
    assert_eq!(fdt.find_node("/cpus/cpu@1").unwrap().property_u32("reg"), Some(1));
    // Without '@' the first node of that base name matches.
    assert_eq!(fdt.find_node("/memory").unwrap().name(), "memory@40000000");
    assert_eq!(fdt.find_node("/memory@80000000").unwrap().name(), "memory@80000000");
    assert_eq!(fdt.find_node("//cpus//cpu@0/").unwrap().name(), "cpu@0");
    assert!(fdt.find_node("/cpus/cpu@2").is_none());
    assert!(fdt.find_node("/cpu").is_none());
    assert!(fdt.find_node("/mem").is_none());
    assert!(fdt.find_node("chosen").is_none(), "paths are absolute");
    assert!(fdt.find_node("/chosen/bootargs").is_none(), "properties are not nodes");
}

#[test]
fn children_in_order_skipping_subtrees() {
    let fdt = sample();
    let names: Vec<_> = fdt.root().unwrap().children().map(|n| n.name()).collect();
    assert_eq!(
        names,
        [
            "psci",
            "cpus",
            "memory@40000000",
            "interrupt-controller@3001000",
            "hypervisor",
            "memory@80000000",
            "chosen"
        ]
    );
    let cpus: Vec<_> = fdt.find_node("/cpus").unwrap().children().map(|n| n.name()).collect();
    assert_eq!(cpus, ["cpu@0", "cpu@1"]);
    assert_eq!(fdt.find_node("/psci").unwrap().children().count(), 0);
}

#[test]
fn properties_in_order() {
    let fdt = sample();
    let names: Vec<_> = fdt.find_node("/psci").unwrap().properties().map(|p| p.name).collect();
    assert_eq!(names, ["compatible", "method"]);
    // The root's properties stop at its first subnode.
    assert_eq!(fdt.root().unwrap().properties().count(), 4);
}

#[test]
fn cells() {
    let fdt = sample();
    let reg = fdt.find_node("/memory@40000000").unwrap().property("reg").unwrap();
    let mut c = reg.cells();
    assert_eq!(c.next_n(2), Some(0x4000_0000));
    assert_eq!(c.next_n(2), Some(0x400_0000));
    assert_eq!(c.next_n(2), None);
    let gic = fdt.find_node("/interrupt-controller").unwrap();
    assert_eq!(gic.property("reg").unwrap().cells().count(), 8);
    assert_eq!(gic.property("reg").unwrap().cells().next_n(3), None);
    let hyp = fdt.find_node("/hypervisor").unwrap();
    assert_eq!(hyp.property("interrupts").unwrap().cells().collect::<Vec<_>>(), [1, 15, 0xf08]);
}

/// When dtc is installed, the checked-in blob must still be what sample.dts describes.
#[test]
fn checked_in_blob_matches_its_source() {
    let out = std::env::temp_dir().join(format!("xtf-sample-{}.dtb", std::process::id()));
    let status = std::process::Command::new("dtc")
        .args(["-q", "-W", "no-unit_address_vs_reg", "-I", "dts", "-O", "dtb", "-o"])
        .arg(&out)
        .arg(SAMPLE_DTS)
        .status();
    let Ok(status) = status else {
        eprintln!("dtc not installed: skipping the rebuild check");
        return;
    };
    assert!(status.success(), "dtc failed on {SAMPLE_DTS}");
    let fresh = std::fs::read(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    let fresh = Fdt::new(&fresh).expect("fresh blob parses");
    assert_eq!(dump(&fresh), dump(&sample()), "sample.dtb is stale: rebuild it (see sample.dts)");
}

/// Everything reachable in a tree, as text (exercises every walker).
fn dump(fdt: &Fdt<'_>) -> String {
    fn node(n: Node<'_>, depth: usize, out: &mut String) {
        out.push_str(&format!("{:depth$}{}\n", "", n.name()));
        for p in n.properties() {
            let strings: Vec<_> = p.strings().collect();
            let cells: Vec<_> = p.cells().collect();
            out.push_str(&format!(
                "{:depth$} {}={:?} {:?} {:?}\n",
                "", p.name, p.value, strings, cells
            ));
        }
        for c in n.children() {
            node(c, depth + 1, out);
            // A lookup by name must find this child or an earlier one of the same name.
            assert!(n.child(c.name()).is_some());
        }
    }
    let mut out = String::new();
    if let Some(root) = fdt.root() {
        node(root, 0, &mut out);
    }
    let _ = fdt.bootargs();
    out
}

/// Builds structure blocks token by token, to make trees dtc would refuse to write.
#[derive(Default)]
struct Builder {
    structs: Vec<u8>,
    strings: Vec<u8>,
}

impl Builder {
    fn word(&mut self, w: u32) -> &mut Self {
        self.structs.extend_from_slice(&w.to_be_bytes());
        self
    }
    fn begin(&mut self, name: &str) -> &mut Self {
        self.word(TOKEN_BEGIN_NODE);
        self.structs.extend_from_slice(name.as_bytes());
        self.structs.push(0);
        self.pad()
    }
    fn end(&mut self) -> &mut Self {
        self.word(TOKEN_END_NODE)
    }
    fn prop(&mut self, name: &str, value: &[u8]) -> &mut Self {
        let name_off = self.strings.len() as u32;
        self.strings.extend_from_slice(name.as_bytes());
        self.strings.push(0);
        self.word(TOKEN_PROP).word(value.len() as u32).word(name_off);
        self.structs.extend_from_slice(value);
        self.pad()
    }
    fn finish(&mut self) -> &mut Self {
        self.word(TOKEN_END)
    }
    fn pad(&mut self) -> &mut Self {
        while !self.structs.len().is_multiple_of(4) {
            self.structs.push(0);
        }
        self
    }
    fn blob(&self) -> Vec<u8> {
        let off_rsv = HEADER_LEN;
        let off_struct = off_rsv + 16;
        let off_strings = off_struct + self.structs.len();
        let total = off_strings + self.strings.len();
        let header = [
            MAGIC,
            total as u32,
            off_struct as u32,
            off_strings as u32,
            off_rsv as u32,
            17,
            16,
            0,
            self.strings.len() as u32,
            self.structs.len() as u32,
        ];
        let mut b: Vec<u8> = header.iter().flat_map(|w| w.to_be_bytes()).collect();
        b.extend_from_slice(&[0; 16]); // empty memory reservation map
        b.extend_from_slice(&self.structs);
        b.extend_from_slice(&self.strings);
        b
    }
}

#[test]
fn builder_makes_valid_trees() {
    let mut b = Builder::default();
    b.word(TOKEN_NOP).begin("").prop("a", b"x\0").begin("n@1").word(TOKEN_NOP).end().end().finish();
    let blob = b.blob();
    let fdt = Fdt::new(&blob).unwrap();
    assert_eq!(fdt.root().unwrap().property_str("a"), Some("x"));
    assert_eq!(fdt.find_node("/n").unwrap().name(), "n@1");
    // Trailing bytes after totalsize are ignored.
    let mut longer = blob.clone();
    longer.extend_from_slice(&[0xff; 64]);
    assert_eq!(Fdt::new(&longer).unwrap().total_size(), blob.len());
}

fn parse(f: impl FnOnce(&mut Builder)) -> Result<(), FdtError> {
    let mut b = Builder::default();
    f(&mut b);
    Fdt::new(&b.blob()).map(|_| ())
}

#[test]
fn malformed_structures_are_refused() {
    let nesting = |r: Result<(), FdtError>| matches!(r, Err(FdtError::BadNesting { .. }));
    // No root.
    assert!(nesting(parse(|b| {
        b.finish();
    })));
    // Unclosed root.
    assert!(nesting(parse(|b| {
        b.begin("").finish();
    })));
    // Extra END_NODE.
    assert!(nesting(parse(|b| {
        b.begin("").end().end().finish();
    })));
    // Two roots.
    assert!(nesting(parse(|b| {
        b.begin("").end().begin("").end().finish();
    })));
    // Property outside any node.
    assert!(nesting(parse(|b| {
        b.prop("a", b"").begin("").end().finish();
    })));
    // Property after a subnode.
    assert!(nesting(parse(|b| {
        b.begin("").begin("c").end().prop("late", b"").end().finish();
    })));
    // Unknown token.
    assert_eq!(
        parse(|b| {
            b.begin("").word(7).end().finish();
        }),
        Err(FdtError::BadToken { offset: 8 })
    );
    // Missing FDT_END: the walk runs off the block.
    assert!(matches!(
        parse(|b| {
            b.begin("").end();
        }),
        Err(FdtError::BadToken { .. })
    ));
}

#[test]
fn bad_names_and_properties_are_refused() {
    // Node name not UTF-8.
    assert_eq!(
        parse(|b| {
            b.word(TOKEN_BEGIN_NODE).word(0xff00_0000).end().finish();
        }),
        Err(FdtError::BadName { offset: 0 })
    );
    // Node name with no NUL before the block ends.
    let mut b = Builder::default();
    b.begin("").word(TOKEN_BEGIN_NODE).word(0x6161_6161);
    assert_eq!(Fdt::new(&b.blob()).map(|_| ()), Err(FdtError::BadName { offset: 8 }));
    // Property value longer than the block.
    assert!(matches!(
        parse(|b| {
            b.begin("").word(TOKEN_PROP).word(0x1000).word(0).end().finish();
        }),
        Err(FdtError::BadProperty { .. })
    ));
    // Property length so large that offset arithmetic would overflow on 32-bit hosts.
    assert!(matches!(
        parse(|b| {
            b.begin("").word(TOKEN_PROP).word(u32::MAX).word(0).end().finish();
        }),
        Err(FdtError::BadProperty { .. })
    ));
    // Name offset outside the strings block.
    assert!(matches!(
        parse(|b| {
            b.begin("").word(TOKEN_PROP).word(0).word(999).end().finish();
        }),
        Err(FdtError::BadProperty { .. })
    ));
}

fn patch_header(field: usize, value: u32) -> Vec<u8> {
    let mut b = SAMPLE.to_vec();
    b[4 * field..4 * field + 4].copy_from_slice(&value.to_be_bytes());
    b
}

#[test]
fn bad_headers_are_refused() {
    assert_eq!(Fdt::new(&[]).unwrap_err(), FdtError::Truncated);
    assert_eq!(Fdt::new(&SAMPLE[..39]).unwrap_err(), FdtError::Truncated);
    assert_eq!(
        Fdt::new(&patch_header(0, 0xfeed_d00d)).unwrap_err(),
        FdtError::BadMagic(0xfeed_d00d)
    );
    assert_eq!(Fdt::new(&SAMPLE[..SAMPLE.len() - 1]).unwrap_err(), FdtError::Truncated);
    assert!(matches!(Fdt::new(&patch_header(5, 16)), Err(FdtError::BadVersion { .. })));
    assert!(matches!(Fdt::new(&patch_header(6, 18)), Err(FdtError::BadVersion { .. })));
    assert_eq!(Fdt::new(&patch_header(1, 20)).unwrap_err(), FdtError::BadLayout);
    assert_eq!(Fdt::new(&patch_header(2, 41)).unwrap_err(), FdtError::BadLayout);
    assert_eq!(Fdt::new(&patch_header(2, 0)).unwrap_err(), FdtError::BadLayout);
    assert_eq!(Fdt::new(&patch_header(3, u32::MAX)).unwrap_err(), FdtError::BadLayout);
    assert_eq!(Fdt::new(&patch_header(8, u32::MAX)).unwrap_err(), FdtError::BadLayout);
    assert_eq!(Fdt::new(&patch_header(9, 0x10_0000)).unwrap_err(), FdtError::BadLayout);
}

#[test]
fn from_raw_bounds() {
    // SAFETY: SAMPLE is a static slice: SAMPLE.len() readable, never written.
    let fdt = unsafe { Fdt::from_raw(SAMPLE.as_ptr(), SAMPLE.len()) }.unwrap();
    assert_eq!(fdt.bootargs(), Some("test=hello port=10 verbose"));
    // SAFETY: as above; asks for fewer bytes than the blob has.
    let short = unsafe { Fdt::from_raw(SAMPLE.as_ptr(), SAMPLE.len() - 1) };
    assert_eq!(short.unwrap_err(), FdtError::BadAddress);
    // SAFETY: as above; 39 bytes are readable.
    let tiny = unsafe { Fdt::from_raw(SAMPLE.as_ptr(), 39) };
    assert_eq!(tiny.unwrap_err(), FdtError::Truncated);
    // SAFETY: a null pointer is refused before any read.
    let null = unsafe { Fdt::from_raw(core::ptr::null(), 4096) };
    assert_eq!(null.unwrap_err(), FdtError::BadAddress);
}

#[test]
fn every_truncation_fails_cleanly() {
    for len in 0..SAMPLE.len() {
        assert!(Fdt::new(&SAMPLE[..len]).is_err(), "accepted {len} bytes");
    }
}

/// Corrupts the sample one and two bytes at a time (deterministic pseudo-random choices plus
/// every byte of the header and structure block set to a few interesting values). The reader
/// may accept or refuse the result but must never panic, and whatever it accepts must walk.
#[test]
fn corruptions_never_panic() {
    let mut accepted = 0;
    let mut check = |blob: &[u8]| {
        if let Ok(fdt) = Fdt::new(blob) {
            accepted += 1;
            dump(&fdt);
            for path in ["/chosen", "/cpus/cpu@0", "/memory", "/nope", "/"] {
                let _ = fdt.find_node(path).map(|n| n.properties().count());
            }
        }
    };
    let off_strings = be32(SAMPLE, 12).unwrap() as usize;
    for i in 0..off_strings {
        for v in [0x00, 0x01, 0x02, 0x03, 0x04, 0x09, 0x7f, 0xff] {
            let mut b = SAMPLE.to_vec();
            b[i] = v;
            check(&b);
        }
    }
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..10_000 {
        let mut b = SAMPLE.to_vec();
        for _ in 0..2 {
            let i = rand() as usize % b.len();
            b[i] = rand() as u8;
        }
        check(&b);
    }
    assert!(accepted > 0, "some corruptions (e.g. inside strings) must still parse");
}
