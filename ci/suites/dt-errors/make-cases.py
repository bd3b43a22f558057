#!/usr/bin/python3
"""Writes the dt-errors suite: one ImageBuilder config per malformed configuration.

Each case is (name, what, variables, rust regex). The Rust build must stop the boot with a
message naming the domain, the node, the property and the reason (`static-shm: domain D:
node N: property P: REASON`); what stock C Xen 4.17 does with the same config is recorded
in the `#@ expect-log c` lines (C_OUTCOMES below, filled from real boots: ci/test checks
them too). Where Xen 4.22.0's C does otherwise (C_OUTCOMES_422, C_NOTES_422, from real boots of
`ci/test --xen-version 4.22`), the c lines name the version (`c@4.17`, `c@4.22`); RUST_417_ONLY
marks the cases whose Rust message is 4.17's behaviour, not the Rust's own. Run it after
editing a case; it rewrites every *.cfg here.
"""
import os

HERE = os.path.dirname(os.path.abspath(__file__))

BASE = '''MEMORY_START="0x40000000"
MEMORY_END="0xC0000000"
XEN="xen"
XEN_CMD="loglvl=all guest_loglvl=all noreboot console_timestamps=boot console=dtuart"
DEVICE_TREE="virt-gicv2.dtb"
LOAD_CMD="tftpb"
NUM_DOMUS=2
DOMU_KERNEL[0]="guest-tests.Image"
DOMU_MEM[0]="64"
DOMU_ENHANCED[0]="2"
DOMU_CMD[0]="test=hello"
DOMU_KERNEL[1]="guest-tests.Image"
DOMU_MEM[1]="64"
DOMU_ENHANCED[1]="2"
DOMU_CMD[1]="test=hello"
'''

SHM = '"xen,domain-shared-memory-v1"'
EV = '"xen,evtchn-v1"'


def shm(name, sid, p, g, s, role=None, extra=""):
    r = ' role = "%s";' % role if role else ""
    return ("%s { compatible = %s; xen,shm-id = %s; xen,shared-mem = <0x0 %s 0x0 %s 0x0 %s>;%s%s };"
            % (name, SHM, sid, p, g, s, r, extra))


def shmd(name, sid, p, s, g, role=None):
    """A design-draft node: numeric xen,shm-id, cells <host size guest>."""
    r = ' role = "%s";' % role if role else ""
    return ("%s { compatible = %s; xen,shm-id = <%s>; xen,shared-mem = <0x0 %s 0x0 %s 0x0 %s>;%s };"
            % (name, SHM, sid, p, s, g, r))


def ev(label, port, peer, name=None):
    return ("%s: %s { compatible = %s; xen,evtchn = <%s %s>; };"
            % (label, name or "evtchn@%s" % port, EV, port, peer))


def d0(x):
    return "DOMU_EXTRA_DTS[0]='%s'" % x


def d1(x):
    return "DOMU_EXTRA_DTS[1]='%s'" % x


def ch(x):
    return "CHOSEN_EXTRA_DTS='%s'" % x


R = r"static-shm: domain %s: node %s: property %s: .*%s"
N0 = "/chosen/domU0/"
N1 = "/chosen/domU1/"
P, G, S = "0x70000000", "0x50000000", "0x200000"

CASES = [
    # ---- static event channels, Xen 4.17 binding (xen,evtchn-v1 under each domain)
    ("evtchn-missing-property", "xen,evtchn-v1 node without xen,evtchn",
     [d0('a: evtchn@10 { compatible = %s; };' % EV)],
     R % ("domU0", N0 + "evtchn@10", "xen,evtchn", "missing")),
    ("evtchn-short-property", "xen,evtchn with one cell",
     [d0('a: evtchn@10 { compatible = %s; xen,evtchn = <10>; };' % EV)],
     R % ("domU0", N0 + "evtchn@10", "xen,evtchn", "4 bytes, expected 8")),
    ("evtchn-port-zero", "local port 0",
     [d0(ev("a", 0, "&b")), d1(ev("b", 11, "&a"))],
     R % ("domU0", N0 + "evtchn@0", "xen,evtchn", "port 0 is not a valid port")),
    ("evtchn-port-past-limit", "port 1024 (dom0less domUs have max_evtchn_port 1023)",
     [d0(ev("a", 1024, "&b")), d1(ev("b", 11, "&a"))],
     R % ("domU0", N0 + "evtchn@1024", "xen,evtchn", r"port 1024 is past the domain's limit \(1023\)")),
    ("evtchn-port-used-twice", "two channels on domU0's port 10",
     [d0(ev("a", 10, "&b") + " " + ev("a2", 10, "&c", "evtchn@10b")),
      d1(ev("b", 11, "&a") + " " + ev("c", 13, "&a2"))],
     R % ("domU0", N0 + "evtchn@10b", "xen,evtchn", "port 10 is also set up by /chosen/domU0/evtchn@10")),
    ("evtchn-phandle-to-nothing", "peer phandle that no node carries",
     [d0(ev("a", 10, "0x77"))],
     R % ("domU0", N0 + "evtchn@10", "xen,evtchn", "phandle 0x77 names no node")),
    ("evtchn-phandle-to-domain", "peer phandle naming a domain node, not an endpoint",
     [d0(ev("a", 10, "&domU1"))],
     R % ("domU0", N0 + "evtchn@10", "xen,evtchn", "names domU1, not a xen,evtchn-v1 node")),
    ("evtchn-peer-outside-domain", "peer endpoint directly under /chosen",
     [d0(ev("a", 10, "&lost")), ch(ev("lost", 11, "&a"))],
     R % ("domU0", N0 + "evtchn@10", "xen,evtchn", "peer node evtchn@11 is not a child of a xen,domain node")),
    ("evtchn-to-itself", "endpoint whose peer is itself",
     [d0(ev("a", 10, "&a"))],
     R % ("domU0", N0 + "evtchn@10", "xen,evtchn", "the channel connects an endpoint to itself")),
    ("evtchn-not-reciprocal", "a -> b -> c -> a",
     [d0(ev("a", 10, "&b")), d1(ev("b", 11, "&c") + " " + ev("c", 13, "&a"))],
     R % ("domU0", N0 + "evtchn@10", "xen,evtchn", "peer /chosen/domU1/evtchn@11 points back to phandle")),
    # ---- static event channels, design-draft binding (/chosen "xen,evtchn")
    ("draft-evtchn-short", "draft xen,evtchn with three cells",
     [ch('evtchn@1 { compatible = "xen,evtchn"; xen,evtchn = <10 &domU0 11>; };')],
     R % ("-", "/chosen/evtchn@1", "xen,evtchn", "12 bytes, expected 16")),
    ("draft-evtchn-phandle-to-nothing", "draft phandle that no node carries",
     [ch('evtchn@1 { compatible = "xen,evtchn"; xen,evtchn = <10 &domU0 11 0x77>; };')],
     R % ("-", "/chosen/evtchn@1", "xen,evtchn", "phandle 0x77 names no node")),
    ("draft-evtchn-phandle-not-domain", "draft phandle naming a node that is not a domain",
     [ch('x: not-a-domain { }; evtchn@1 { compatible = "xen,evtchn"; xen,evtchn = <10 &domU0 11 &x>; };')],
     R % ("-", "/chosen/evtchn@1", "xen,evtchn", "names not-a-domain, not a xen,domain node under /chosen")),
    ("draft-evtchn-port-zero", "draft connection with port 0",
     [ch('evtchn@1 { compatible = "xen,evtchn"; xen,evtchn = <0 &domU0 11 &domU1>; };')],
     R % ("domU0", "/chosen/evtchn@1", "xen,evtchn", "port 0 is not a valid port")),
    ("draft-evtchn-to-itself", "draft connection of a port to itself",
     [ch('evtchn@1 { compatible = "xen,evtchn"; xen,evtchn = <10 &domU0 10 &domU0>; };')],
     R % ("domU0", "/chosen/evtchn@1", "xen,evtchn", "the channel connects an endpoint to itself")),
    ("draft-evtchn-duplicate", "the same draft connection twice",
     [ch('evtchn@1 { compatible = "xen,evtchn"; xen,evtchn = <10 &domU0 11 &domU1>; }; '
         'evtchn@2 { compatible = "xen,evtchn"; xen,evtchn = <11 &domU1 10 &domU0>; };')],
     R % ("domU1", "/chosen/evtchn@2", "xen,evtchn", "the same connection is also set up by /chosen/evtchn@1")),
    ("draft-and-v1-port-clash", "a draft connection reusing a port of a xen,evtchn-v1 channel",
     ['DOMU_STATIC_EVTCHNS[0]="10 1 11"', 'DOMU_STATIC_EVTCHNS[1]="11 0 10"',
      'STATIC_EVTCHNS_DRAFT="0 10 1 12"'],
     R % ("domU0", "/chosen/evtchn@1", "xen,evtchn", "port 10 is also set up by /chosen/domU0/evtchn@10")),
    # ---- static shared memory
    ("shm-missing-shared-mem", "shm node without xen,shared-mem",
     [d0('shm@0 { compatible = %s; xen,shm-id = "a"; };' % SHM)],
     R % ("domU0", N0 + "shm@0", "xen,shared-mem", "missing")),
    ("shm-missing-id", "shm node without xen,shm-id",
     [d0('shm@0 { compatible = %s; xen,shared-mem = <0x0 %s 0x0 %s 0x0 %s>; };' % (SHM, P, G, S))],
     R % ("domU0", N0 + "shm@0", "xen,shm-id", "missing")),
    ("shm-id-too-long", "a 16-character xen,shm-id",
     [d0(shm("shm@0", '"0123456789abcdef"', P, G, S))],
     R % ("domU0", N0 + "shm@0", "xen,shm-id", "identifier of 16 characters, at most 15 allowed")),
    ("shm-id-empty", 'xen,shm-id = ""',
     [d0(shm("shm@0", '""', P, G, S))],
     R % ("domU0", N0 + "shm@0", "xen,shm-id", "empty identifier")),
    ("shm-numeric-id-out-of-range", "draft numeric id 0x127 (the draft's INVALID_SHMID)",
     [d0(shmd("shm@0", "0x127", P, S, G))],
     R % ("domU0", N0 + "shm@0", "xen,shm-id", r"numeric identifier 0x127 is out of range 0..=0x126")),
    ("shm-id-bad-length", "xen,shm-id of two cells",
     [d0(shm("shm@0", "<1 2>", P, G, S))],
     R % ("domU0", N0 + "shm@0", "xen,shm-id", "neither a NUL-terminated printable string nor a 32-bit number")),
    ("shm-unknown-role", 'role = "lender"',
     [d0(shm("shm@0", '"a"', P, G, S, "lender"))],
     R % ("domU0", N0 + "shm@0", "role", 'role "lender" is neither "owner" nor "borrower"')),
    ("shm-size-zero", "size 0",
     [d0(shm("shm@0", '"a"', P, G, "0x0"))],
     R % ("domU0", N0 + "shm@0", "xen,shared-mem", "size is zero")),
    ("shm-unaligned-host", "host address not 4 KiB aligned",
     [d0(shm("shm@0", '"a"', "0x70000800", G, S))],
     R % ("domU0", N0 + "shm@0", "xen,shared-mem", "host address 0x70000800 is not 4 KiB aligned")),
    ("shm-unaligned-size", "size not 4 KiB aligned",
     [d0(shm("shm@0", '"a"', P, G, "0x1800"))],
     R % ("domU0", N0 + "shm@0", "xen,shared-mem", "size 0x1800 is not 4 KiB aligned")),
    ("shm-host-address-missing", "the two-value form (guest address, size) of Xen 4.19+",
     [d0('shm@0 { compatible = %s; xen,shm-id = "a"; xen,shared-mem = <0x0 %s 0x0 %s>; };' % (SHM, G, S))],
     R % ("domU0", N0 + "shm@0", "xen,shared-mem", "Xen 4.17 needs the host address too")),
    ("shm-outside-ram", "host region above the end of RAM",
     [d0(shm("shm@0", '"a"', "0x100000000", G, S).replace("<0x0 0x100000000", "<0x1 0x0"))],
     R % ("domU0", N0 + "shm@0", "xen,shared-mem", "host region 0x100000000-0x100200000 is not inside host RAM")),
    ("shm-overlaps-xen", "host region over the Xen image",
     [d0(shm("shm@0", '"a"', "0x40000000", G, "0x400000"))],
     R % ("domU0", N0 + "shm@0", "xen,shared-mem", "host region overlaps the Xen image")),
    ("shm-overlaps-module", "host region over a domU kernel",
     [d0(shm("shm@0", '"a"', "0x40400000", G, S))],
     R % ("domU0", N0 + "shm@0", "xen,shared-mem", "host region overlaps a boot module")),
    ("shm-overlaps-static-mem", "host region over domU1's static memory",
     ['DOMU_STATIC_MEM[1]="0x70000000 0x4000000"', 'DOMU_DIRECT_MAP[1]="0"',
      d0(shm("shm@0", '"a"', P, G, S))],
     R % ("domU0", N0 + "shm@0", "xen,shared-mem", "host region overlaps a domain's static memory")),
    ("shm-regions-overlap", "two identifiers, overlapping host regions",
     [d0(shm("shm@0", '"a"', P, G, S)), d1(shm("shm@1", '"b"', "0x70001000", G, S))],
     R % ("domU1", N1 + "shm@1", "xen,shared-mem", "host region overlaps the region of /chosen/domU0/shm@0")),
    ("shm-same-id-other-region", "one identifier, two host regions",
     [d0(shm("shm@0", '"a"', P, G, S)), d1(shm("shm@1", '"a"', "0x70200000", G, S))],
     R % ("domU1", N1 + "shm@1", "xen,shared-mem", "same identifier as /chosen/domU0/shm@0 but a different host region")),
    ("shm-guest-overlaps-ram", "guest address inside the domain's RAM",
     [d0(shm("shm@0", '"a"', P, "0x41000000", S))],
     R % ("domU0", N0 + "shm@0", "xen,shared-mem", r"guest region overlaps the domain's RAM \(0x40000000-0x44000000\)")),
    ("shm-guest-regions-overlap", "two regions at overlapping guest addresses",
     [d0(shm("shm@0", '"a"', P, G, S) + " " + shm("shm@1", '"b"', "0x70200000", "0x50001000", S))],
     R % ("domU0", N0 + "shm@1", "xen,shared-mem", "guest region overlaps the guest region of /chosen/domU0/shm@0")),
    ("shm-two-owners", "two owners of one region",
     [d0(shm("shm@0", '"a"', P, G, S, "owner")), d1(shm("shm@1", '"a"', P, G, S, "owner"))],
     R % ("domU1", N1 + "shm@1", "role", "/chosen/domU0/shm@0 is owner of the region too")),
    ("shm-borrower-without-owner", "borrowers only",
     [d0(shm("shm@0", '"a"', P, G, S, "borrower")), d1(shm("shm@1", '"a"', P, G, S, "borrower"))],
     R % ("domU0", N0 + "shm@0", "role", 'role "borrower" but no node of this identifier is "owner"')),
    ("shm-mixed-roles", "an owner, and a node with no role (dom_io owner)",
     [d0(shm("shm@0", '"a"', P, G, S, "owner")), d1(shm("shm@1", '"a"', P, G, S))],
     R % ("domU1", N1 + "shm@1", "role", r"no role here \(owner dom_io\) but /chosen/domU0/shm@0 gives the region an explicit role")),
    # ---- static shared memory, design-draft binding (numeric xen,shm-id, <host size guest>)
    ("shm-draft-in-4.17-order", "numeric id with the cells in Xen 4.17's <host guest size> order",
     [d0(shm("shm@0", "<0x1>", P, G, S))],
     R % ("domU0", N0 + "shm@0", "xen,shared-mem",
          r"these values fit Xen 4\.17's <host guest size> order \(guest 0x50000000, size 0x200000\)")),
    ("shm-draft-short", "numeric id, xen,shared-mem of five cells",
     [d0('shm@0 { compatible = %s; xen,shm-id = <0x1>; xen,shared-mem = <0x0 %s 0x0 %s 0x0>; };' % (SHM, P, S))],
     R % ("domU0", N0 + "shm@0", "xen,shared-mem",
          r"20 bytes, expected 3 values: host address, size, guest address \(design-draft order")),
    ("shm-draft-two-owners", "design draft: two owners of one region",
     [d0(shmd("shm@0", "0x1", P, S, G, "owner")), d1(shmd("shm@1", "0x1", P, S, G, "owner"))],
     R % ("domU1", N1 + "shm@1", "role", "/chosen/domU0/shm@0 is owner of the region too")),
    ("shm-draft-unknown-role", 'design draft: role = "lender"',
     [d0(shmd("shm@0", "0x1", P, S, G, "lender"))],
     R % ("domU0", N0 + "shm@0", "role", 'role "lender" is neither "owner" nor "borrower"')),
    ("shm-mixed-bindings", 'one region named "7" on one domain and <7> on the other',
     [d0(shm("shm@0", '"7"', P, G, S)), d1(shmd("shm@1", "7", P, S, "0x60000000"))],
     R % ("domU1", N1 + "shm@1", "xen,shm-id", "the identifier is a number here and a string in /chosen/domU0/shm@0")),
    ("shm-id-twice-in-domain", "one domain naming a region twice",
     [d0(shm("shm@0", '"a"', P, G, S) + " " + shm("shm@1", '"a"', P, "0x60000000", S))],
     R % ("domU0", N0 + "shm@1", "xen,shm-id", "the domain already uses this identifier in /chosen/domU0/shm@0")),
]

# What stock C Xen 4.17.5 does with each config (from boots of the c build; an ERE on the
# console log). Cases missing here have not been recorded yet.
C_OUTCOMES = {'shm-draft-in-4.17-order': 'Xen BUG at .*domain_build\\.c', 'shm-draft-short': 'd1: size 0x0*2 is not suitably aligned', 'shm-draft-two-owners': 'Xen BUG at .*domain_build\\.c', 'shm-draft-unknown-role': 'Xen BUG at .*domain_build\\.c', 'shm-mixed-bindings': 'd2: invalid physical address', 'draft-and-v1-port-clash': '\\(d2\\) .*Test result: SUCCESS', 'draft-evtchn-duplicate': '\\(d2\\) .*Test result: SUCCESS', 'draft-evtchn-phandle-not-domain': '\\(d2\\) .*Test result: SUCCESS', 'draft-evtchn-phandle-to-nothing': '\\(d2\\) .*Test result: SUCCESS', 'draft-evtchn-port-zero': '\\(d2\\) .*Test result: SUCCESS', 'draft-evtchn-short': '\\(d2\\) .*Test result: SUCCESS', 'draft-evtchn-to-itself': '\\(d2\\) .*Test result: SUCCESS', 'evtchn-missing-property': 'Could not set up domains evtchn', 'evtchn-not-reciprocal': 'Could not set up domains evtchn', 'evtchn-peer-outside-domain': 'Could not set up domains evtchn', 'evtchn-phandle-to-domain': 'Could not set up domains evtchn', 'evtchn-phandle-to-nothing': 'Could not set up domains evtchn', 'evtchn-port-past-limit': 'Could not set up domains evtchn', 'evtchn-port-used-twice': 'Could not set up domains evtchn', 'evtchn-port-zero': 'Could not set up domains evtchn', 'evtchn-short-property': 'Could not set up domains evtchn', 'evtchn-to-itself': 'Could not set up domains evtchn', 'shm-borrower-without-owner': '\\(d2\\) .*Test result: SUCCESS', 'shm-guest-overlaps-ram': '\\(d2\\) .*Test result: SUCCESS', 'shm-guest-regions-overlap': '\\(d2\\) .*Test result: SUCCESS', 'shm-host-address-missing': 'd1: size 0x0*200000002 is not suitably aligned', 'shm-id-bad-length': 'Xen BUG at .*domain_build\\.c', 'shm-id-empty': 'Xen BUG at .*domain_build\\.c', 'shm-id-too-long': 'Xen BUG at .*domain_build\\.c', 'shm-numeric-id-out-of-range': 'Xen BUG at .*domain_build\\.c', 'shm-id-twice-in-domain': '\\(d2\\) .*Test result: SUCCESS', 'shm-missing-id': 'd1: invalid \\"xen,shm-id\\" property', 'shm-missing-shared-mem': 'Xen BUG at .*domain_build\\.c', 'shm-mixed-roles': 'd\\[IO\\]: failed to acquire static memory', 'shm-outside-ram': '!Xen version', 'shm-overlaps-static-mem': '!Xen version', 'shm-overlaps-module': '\\(d2\\) .*Test result: SUCCESS', 'shm-overlaps-xen': '\\(d2\\) .*Test result: SUCCESS', 'shm-regions-overlap': '\\(d2\\) .*Test result: SUCCESS', 'shm-same-id-other-region': 'd\\[IO\\]: failed to acquire static memory', 'shm-size-zero': "Assertion 'nr_mfns' failed", 'shm-two-owners': 'd2: failed to acquire static memory', 'shm-unaligned-host': 'd1: physical address 0x0*70000800, or guest address .* is not suitably aligned', 'shm-unaligned-size': 'd1: size 0x0*1800 is not suitably aligned', 'shm-unknown-role': 'Missing kernel boot module\\?'}
C_NOTES = {'shm-draft-in-4.17-order': 'reads the numeric id as an empty string: BUG_ON in process_shm.', 'shm-draft-short': 'reads five cells at its own offsets and fails the domain on a bogus size (message naming no node).', 'shm-draft-two-owners': 'reads the numeric id as an empty string: BUG_ON in process_shm.', 'shm-draft-unknown-role': 'BUG_ON in process_shm (the numeric id reads as an empty string).', 'shm-mixed-bindings': 'sets up the string-id node, then reads the numeric-id node as the same region in 4.17 order and fails on a bogus host address; panic names the domain.', 'draft-and-v1-port-clash': 'ignores the draft node; boots (the clash goes unnoticed).', 'draft-evtchn-duplicate': 'does not know the draft binding: ignores the nodes, boots.', 'draft-evtchn-phandle-not-domain': 'does not know the draft binding: ignores the node, boots.', 'draft-evtchn-phandle-to-nothing': 'does not know the draft binding: ignores the node, boots.', 'draft-evtchn-port-zero': 'does not know the draft binding: ignores the node, boots.', 'draft-evtchn-short': 'does not know the draft binding: ignores the node, boots.', 'draft-evtchn-to-itself': 'does not know the draft binding: ignores the node, boots.', 'evtchn-missing-property': 'panics "Could not set up domains evtchn" after a message naming no node.', 'evtchn-short-property': 'panics "Could not set up domains evtchn" after a message naming no node.', 'evtchn-port-zero': 'panics "Could not set up domains evtchn" (evtchn_alloc_unbound error).', 'evtchn-port-past-limit': 'panics "Could not set up domains evtchn" (evtchn_alloc_unbound error).', 'evtchn-port-used-twice': 'panics "Could not set up domains evtchn" (evtchn_alloc_unbound -EBUSY).', 'evtchn-phandle-to-nothing': 'panics "Could not set up domains evtchn" ("could not find remote evtchn phandle").', 'evtchn-phandle-to-domain': 'panics "Could not set up domains evtchn" (reads the domain node as an endpoint).', 'evtchn-peer-outside-domain': 'panics "Could not set up domains evtchn" ("could not find domains").', 'evtchn-to-itself': 'panics "Could not set up domains evtchn".', 'evtchn-not-reciprocal': 'panics "Could not set up domains evtchn" ("not setup correctly").', 'shm-borrower-without-owner': 'boots: the region is never allocated, borrowers map pages nobody owns.', 'shm-guest-overlaps-ram': 'boots: the foreign mapping silently replaces guest RAM in the p2m.', 'shm-guest-regions-overlap': 'boots: the second mapping silently replaces the first in the p2m.', 'shm-host-address-missing': 'reads the cells at the wrong offsets and fails on a bogus size.', 'shm-id-bad-length': 'BUG_ON(strlen(shm_id) <= 0) in process_shm.', 'shm-id-empty': 'BUG_ON(strlen(shm_id) <= 0) in process_shm.', 'shm-id-too-long': 'bootfdt refuses it (before the console: no message), then BUG_ON in process_shm.', 'shm-numeric-id-out-of-range': 'reads <0x127> as the empty string: BUG_ON in process_shm (as for every draft numeric id below 0x01000000).', 'shm-id-twice-in-domain': 'boots: the second mapping silently replaces the first.', 'shm-missing-id': 'fails the domain with a message naming no node.', 'shm-missing-shared-mem': 'BUG_ON(!prop) in process_shm.', 'shm-mixed-roles': 'fails to acquire the pages twice; panics naming the domain, not the cause.', 'shm-outside-ram': 'hangs before the console comes up: no output at all.', 'shm-overlaps-static-mem': 'hangs before the console comes up: no output at all.', 'shm-overlaps-module': "boots, handing a domU kernel's boot module pages to the guests as shared memory.", 'shm-overlaps-xen': "boots, mapping Xen's own image writable into both guests.", 'shm-regions-overlap': 'bootfdt refuses it before the console (silently), the scan stops; boots with the regions half set up.', 'shm-same-id-other-region': 'fails to acquire the pages; panics naming the domain, not the cause.', 'shm-size-zero': "ASSERT('nr_mfns') in acquire_domstatic_pages.", 'shm-two-owners': 'fails to acquire the pages for the second owner; panics naming the domain.', 'shm-unaligned-host': 'fails the domain with a message naming no node.', 'shm-unaligned-size': 'fails the domain with a message naming no node.', 'shm-unknown-role': 'bootfdt refuses the role before the console and stops scanning: domU1\'s kernel is never found ("Missing kernel boot module?").'}

# Xen 4.22.0's C where it differs from 4.17.5's (every regex must match).
C_OUTCOMES_422 = {
    'shm-host-address-missing': ['\\(d1\\) .*Test result: SUCCESS', '\\(d2\\) .*Test result: SUCCESS'],
    'shm-id-bad-length': ['Xen BUG at .*device-tree/static-shmem\\.c'],
    'shm-id-empty': ['Xen BUG at .*device-tree/static-shmem\\.c'],
    'shm-numeric-id-out-of-range': ['Xen BUG at .*device-tree/static-shmem\\.c'],
    'shm-id-too-long': ['!Xen version'],
    'shm-missing-id': ['!Xen version'],
    'shm-missing-shared-mem': ['!Xen version'],
    'shm-overlaps-module': ['!Xen version'],
    'shm-overlaps-xen': ['!Xen version'],
    'shm-regions-overlap': ['!Xen version'],
    'shm-same-id-other-region': ['!Xen version'],
    'shm-size-zero': ['!Xen version'],
    'shm-unaligned-host': ['!Xen version'],
    'shm-unaligned-size': ['!Xen version'],
    'shm-unknown-role': ['!Xen version'],
    'shm-draft-in-4.17-order': ['Xen BUG at .*device-tree/static-shmem\\.c'],
    'shm-draft-two-owners': ['Xen BUG at .*device-tree/static-shmem\\.c'],
    'shm-draft-short': ['!Xen version'],
    'shm-draft-unknown-role': ['!Xen version'],
    'shm-mixed-bindings': ['!Xen version'],
}
EARLY_422 = ('refuses the node in the early FDT scan (process_shm_node, bootinfo-fdt.c) and '
             'panics "Early FDT parsing failed" before the console exists: no output at all.')
C_NOTES_422 = {
    'shm-host-address-missing': 'takes the binding (Xen allocates the shared pages); both domains boot.',
    'shm-id-bad-length': 'the same BUG_ON, moved with process_shm to common/device-tree/static-shmem.c.',
    'shm-id-empty': 'the same BUG_ON, moved with process_shm to common/device-tree/static-shmem.c.',
    'shm-numeric-id-out-of-range': 'the same BUG_ON, moved with process_shm to common/device-tree/static-shmem.c.',
    'shm-id-too-long': EARLY_422,
    'shm-missing-id': EARLY_422,
    'shm-missing-shared-mem': EARLY_422,
    'shm-overlaps-module': EARLY_422,
    'shm-overlaps-xen': EARLY_422,
    'shm-regions-overlap': EARLY_422,
    'shm-same-id-other-region': EARLY_422,
    'shm-size-zero': EARLY_422,
    'shm-unaligned-host': EARLY_422,
    'shm-unaligned-size': EARLY_422,
    'shm-unknown-role': EARLY_422,
    'shm-draft-in-4.17-order': 'the same BUG_ON (the numeric id reads as an empty string), moved with process_shm to common/device-tree/static-shmem.c.',
    'shm-draft-two-owners': 'the same BUG_ON (the numeric id reads as an empty string), moved with process_shm to common/device-tree/static-shmem.c.',
    'shm-draft-short': ('refuses the node in the early FDT scan (process_shm_node: 20 bytes fit '
                        'neither `xen,shared-mem` form) and panics "Early FDT parsing failed" '
                        'before the console exists: no output at all.'),
    'shm-draft-unknown-role': ('refuses the node in the early FDT scan (process_shm_node: invalid '
                               '`role`) and panics "Early FDT parsing failed" before the '
                               'console exists: no output at all.'),
    'shm-mixed-bindings': ('refuses the numeric-id node in the early FDT scan (process_shm_node '
                           'reads <7> as an empty id for a region at the same host address) and '
                           'panics "Early FDT parsing failed" before the console exists: no '
                           'output at all.'),
}
# The Rust message is about 4.17 (static shm in Rust on 4.22 must follow 4.22's C instead).
RUST_417_ONLY = {'shm-host-address-missing'}

for f in os.listdir(HERE):
    if f.endswith(".cfg"):
        os.remove(os.path.join(HERE, f))
for name, what, lines, rust in CASES:
    c = C_OUTCOMES.get(name)
    c422 = C_OUTCOMES_422.get(name)
    rb = "rust@4.17" if name in RUST_417_ONLY else "rust"
    with open(os.path.join(HERE, name + ".cfg"), "w") as f:
        f.write("# dt-errors: %s.\n" % what)
        if name in C_NOTES:
            f.write("# C 4.17.5: %s\n" % C_NOTES[name])
        if name in C_NOTES_422:
            f.write("# C 4.22.0: %s\n" % C_NOTES_422[name])
        f.write("#@ builds c rust\n#@ lax yes\n#@ timeout 20\n")
        f.write("#@ expect-log %s %s\n" % (rb, rust))
        f.write("#@ expect-log %s Panic on CPU 0\n" % rb)
        if c and c422:
            f.write("#@ expect-log c@4.17 %s\n" % c)
            for r in c422:
                f.write("#@ expect-log c@4.22 %s\n" % r)
        elif c:
            f.write("#@ expect-log c %s\n" % c)
        f.write(BASE)
        for l in lines:
            f.write(l + "\n")
print(len(CASES), "cases")
