"""One model of a boot: where every image goes and what /chosen contains.

Both outputs are rendered from a :class:`Plan` (see render.py): the u-boot script
replays the tree as ``fdt mknod`` / ``fdt set`` commands, the dtb mode writes the same
tree as DTS.  Placement and tree layout follow ImageBuilder's uboot-script-gen:

* the script's own slot is MEMORY_START + 2 MiB (at least 0xC00000); images follow,
  each starting on a 2 MiB boundary right after the previous one: dom0's kernel and
  ramdisk, every domU's kernel then ramdisk (in index order), then Xen, then the device
  tree;
* an image's size is its file size, or the arm64 Image header's image_size when that
  is larger (bss);
* the device tree's slot plus 2 MiB must end at or below MEMORY_END;
* /chosen gets #address-cells = #size-cells = 2, xen,xen-bootargs, with a dom0 the
  ``dom0`` (and ``dom0-ramdisk``) module nodes and xen,dom0-bootargs, and one
  ``domU<n>`` node per domain with the properties in ImageBuilder's order.
"""

import os
import struct
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from .config import Config, Diag, FileRef, MiB, Where

OFFSET = 2 * MiB                 # ImageBuilder's alignment and gap ("offset")
MIN_SCRIPT_ADDR = 0xC00000       # ImageBuilder never places the script below 12 MiB
FIRST_PHANDLE = 0xfffffffe       # ImageBuilder's get_next_phandle() counts down from here


def align_up(v: int, a: int) -> int:
    return (v + a - 1) & ~(a - 1)


def image_header(path: str) -> Optional[Tuple[int, int, int]]:
    """(text_offset, image_size, flags) of an arm64 Image, or None."""
    with open(path, "rb") as f:
        head = f.read(64)
    if len(head) < 64 or head[56:60] != b"ARM\x64":
        return None
    return struct.unpack_from("<QQQ", head, 8)


def effective_size(path: str) -> int:
    size = os.path.getsize(path)
    hdr = image_header(path)
    if hdr and hdr[1] > size:
        size = hdr[1]
    return size


# ---------------------------------------------------------------------------
# Device tree model

@dataclass
class Cell:
    value: int
    fmt: str = "X"               # "X": 0x%X, "x": 0x%x, "d": %d (as ImageBuilder prints)

    def text(self):
        if self.fmt == "d":
            return "%d" % self.value
        return ("0x%X" if self.fmt == "X" else "0x%x") % self.value


def split64(v: int) -> List[Cell]:
    """ImageBuilder's split_value: a 64-bit number as two 32-bit cells."""
    return [Cell(v >> 32), Cell(v & 0xffffffff)]


@dataclass
class Prop:
    name: str
    kind: str                    # "str", "strs", "cells", "bool"
    value: object = None


@dataclass
class Node:
    name: str
    props: List[Prop] = field(default_factory=list)
    children: List["Node"] = field(default_factory=list)
    label: Optional[str] = None             # DTS label (only with raw DTS: dtb mode)
    raw: Optional[str] = None               # DOMU_EXTRA_DTS / CHOSEN_EXTRA_DTS text

    def set(self, name, kind, value=None):
        self.props.append(Prop(name, kind, value))
        return self

    def child(self, name) -> "Node":
        n = Node(name)
        self.children.append(n)
        return n

    def find(self, path: str) -> Optional["Node"]:
        node = self
        for part in [p for p in path.split("/") if p]:
            node = next((c for c in node.children if c.name == part), None)
            if node is None:
                return None
        return node

    def prop(self, name) -> Optional[Prop]:
        return next((p for p in self.props if p.name == name), None)


# ---------------------------------------------------------------------------
# Plan

@dataclass
class Load:
    role: str                    # "domU0 kernel", "domU0 ramdisk", "xen", "device tree"
    ref: FileRef
    addr: int
    size: int                    # what /chosen says: max(file size, Image image_size)

    @property
    def end(self):
        return self.addr + self.size


@dataclass
class Plan:
    config: Config
    script_addr: int
    loads: List[Load]
    chosen: Node
    end: int                     # first free address after the device tree's slot
    warnings: List[str] = field(default_factory=list)

    @property
    def xen(self) -> Load:
        return next(l for l in self.loads if l.role == "xen")

    @property
    def dtb(self) -> Load:
        return next(l for l in self.loads if l.role == "device tree")

    def modules(self) -> List[Load]:
        """The boot modules Xen reads from /chosen (everything but Xen and the DTB)."""
        return [l for l in self.loads if l.role not in ("xen", "device tree")]


def build_plan(cfg: Config, dtb_path: str,
               reserved: List[Tuple[int, int]] = ()) -> Plan:
    """Place the images and build /chosen.  ``dtb_path`` is the device tree that will
    actually be loaded (its size counts); ``reserved`` are /reserved-memory regions of
    that tree, which images must avoid (as newer ImageBuilder does)."""
    diag = Diag(cfg.lax)
    where_end = cfg.where.get("MEMORY_END", Where(cfg.path))

    memaddr = max(cfg.memory_start + OFFSET, MIN_SCRIPT_ADDR)
    script_addr = memaddr
    memaddr += OFFSET
    loads: List[Load] = []

    def place(ref: FileRef, role: str, path: Optional[str] = None):
        nonlocal memaddr
        size = effective_size(path or ref.path)
        addr = memaddr
        moved = True
        while moved:
            moved = False
            for rb, rs in reserved:
                if addr < rb + rs and rb < addr + size:
                    addr = align_up(rb + rs, OFFSET)
                    moved = True
        loads.append(Load(role, ref, addr, size))
        memaddr = align_up(addr + size, OFFSET)
        return loads[-1]

    if cfg.dom0:
        place(cfg.dom0.kernel, "dom0 kernel")
        if cfg.dom0.ramdisk:
            place(cfg.dom0.ramdisk, "dom0 ramdisk")
    for d in cfg.domains:
        place(d.kernel, "domU%d kernel" % d.index)
        if d.ramdisk:
            place(d.ramdisk, "domU%d ramdisk" % d.index)
    place(cfg.xen, "xen")
    place(cfg.device_tree, "device tree", dtb_path)

    if cfg.memory_end - memaddr - OFFSET < 0:
        diag.error(where_end, "MEMORY_END", "not enough memory to load all binaries: the "
                   "images need up to 0x%X (device tree slot + 2 MiB) but MEMORY_END is "
                   "0x%X" % (memaddr + OFFSET, cfg.memory_end))
    # Static memory and shared memory are Xen's from boot on: they must not sit
    # under anything we load.
    window = (script_addr, memaddr + OFFSET)
    for d in cfg.domains:
        regions = [("DOMU_STATIC_MEM[%d]" % d.index, b, s) for b, s in d.static_mem]
        if d.shared_mem:
            regions.append(("DOMU_SHARED_MEM[%d]" % d.index, d.shared_mem.host,
                            d.shared_mem.size))
        for var, b, s in regions:
            if b < window[1] and window[0] < b + s:
                diag.xen_rule(cfg.where.get(var, Where(cfg.path)), var,
                              "host region 0x%x-0x%x overlaps the images loaded at "
                              "0x%x-0x%x" % (b, b + s, window[0], window[1]))
    diag.check()

    chosen = _build_chosen(cfg, loads)
    return Plan(cfg, script_addr, loads, chosen, memaddr, diag.warnings)


def _build_chosen(cfg: Config, loads: List[Load]) -> Node:
    chosen = Node("chosen")
    chosen.set("#address-cells", "cells", [Cell(2)])
    chosen.set("#size-cells", "cells", [Cell(2)])
    chosen.set("xen,xen-bootargs", "str", cfg.xen_cmd)
    by_role = {l.role: l for l in loads}
    if cfg.dom0:
        # Xen 4.17 (arch/arm/bootfdt.c) takes "xen,linux-zimage" / "xen,linux-initrd"
        # modules under /chosen as dom0's kernel and ramdisk, and dom0's command line
        # from /chosen's xen,dom0-bootargs.
        k = by_role["dom0 kernel"]
        n = chosen.child("dom0")
        n.set("compatible", "strs", ["xen,linux-zimage", "xen,multiboot-module",
                                     "multiboot,module"])
        n.set("reg", "cells", split64(k.addr) + split64(k.size))
        chosen.set("xen,dom0-bootargs", "str", cfg.dom0.cmd)
        r = by_role.get("dom0 ramdisk")
        if r:
            n = chosen.child("dom0-ramdisk")
            n.set("compatible", "strs", ["xen,linux-initrd", "xen,multiboot-module",
                                         "multiboot,module"])
            n.set("reg", "cells", split64(r.addr) + split64(r.size))

    # Static event channel phandles, handed out as ImageBuilder's
    # xen_dt_build_evtchns_map() does: domains in order, each definition's local
    # endpoint then its remote endpoint, new keys only, counting down.
    phandles = {}
    next_ph = FIRST_PHANDLE
    for d in cfg.domains:
        for ev in d.evtchns:
            for key in ((d.index, ev.local_port), (ev.remote_index, ev.remote_port)):
                if key not in phandles:
                    phandles[key] = next_ph
                    next_ph -= 1

    # Draft-binding event channels name domains by phandle: those domains get one each,
    # continuing the count.
    dom_ph = {}
    for ev in cfg.evtchns_draft:
        for dom in (ev.dom_a, ev.dom_b):
            if dom not in dom_ph:
                dom_ph[dom] = next_ph
                next_ph -= 1

    for d in cfg.domains:
        n = chosen.child("domU%d" % d.index)
        if cfg.has_extra_dts:
            n.label = "domU%d" % d.index
        if d.index in dom_ph:
            n.set("phandle", "cells", [Cell(dom_ph[d.index], "x")])
        n.set("compatible", "str", "xen,domain")
        n.set("#address-cells", "cells", [Cell(2)])
        n.set("#size-cells", "cells", [Cell(2)])
        n.set("memory", "cells", split64(d.mem_mib * 1024))          # KiB
        n.set("cpus", "cells", [Cell(d.vcpus, "d")])
        if d.max_evtchn_port is not None:
            n.set("xen,max-evtchn-port", "cells", [Cell(d.max_evtchn_port, "d")])
        if d.v4v_max_ring_pages is not None:
            n.set("xen,v4v-max-ring-pages", "cells", [Cell(d.v4v_max_ring_pages, "d")])
        if d.static_mem:
            cells = []
            for base, size in d.static_mem:
                cells += split64(base) + split64(size)
            n.set("xen,static-mem", "cells", cells)
            if d.direct_map:
                n.set("direct-map", "bool")
        n.set("vpl011", "cells", [Cell(1)])
        if d.enhanced:
            n.set("xen,enhanced", "str", d.enhanced)
        if d.shared_mem:
            s = d.shared_mem
            shm = n.child("shared-mem@%s" % s.host_text)
            shm.set("compatible", "str", "xen,domain-shared-memory-v1")
            shm.set("xen,shm-id", "str", s.shm_id)
            shm.set("xen,shared-mem", "cells",
                    split64(s.host) + split64(s.guest) + split64(s.size))
            if d.shared_mem_role:
                shm.set("role", "str", d.shared_mem_role)
        for s in d.shared_mem_draft:
            shm = n.child("shared-mem@%s" % s.host_text)
            shm.set("compatible", "str", "xen,domain-shared-memory-v1")
            shm.set("xen,shm-id", "cells", [Cell(s.shm_id, "x")])
            # The draft's cell order: host address, size, guest address.
            shm.set("xen,shared-mem", "cells",
                    split64(s.host) + split64(s.size) + split64(s.guest))
            if s.role:
                shm.set("role", "str", s.role)
        for ev in d.evtchns:
            e = n.child("evtchn@%d" % ev.local_port)
            e.set("phandle", "cells", [Cell(phandles[(d.index, ev.local_port)], "x")])
            e.set("compatible", "str", "xen,evtchn-v1")
            e.set("xen,evtchn", "cells",
                  [Cell(ev.local_port, "d"),
                   Cell(phandles[(ev.remote_index, ev.remote_port)], "x")])
        k = by_role["domU%d kernel" % d.index]
        m = n.child("module@%X" % k.addr)
        m.set("compatible", "strs", ["multiboot,kernel", "multiboot,module"])
        m.set("reg", "cells", split64(k.addr) + split64(k.size))
        m.set("bootargs", "str", d.cmd)
        r = by_role.get("domU%d ramdisk" % d.index)
        if r:
            m = n.child("module@%X" % r.addr)
            m.set("compatible", "strs", ["multiboot,ramdisk", "multiboot,module"])
            m.set("reg", "cells", split64(r.addr) + split64(r.size))
        n.raw = d.extra_dts
    for k, ev in enumerate(cfg.evtchns_draft, 1):
        e = chosen.child("evtchn@%d" % k)
        e.set("compatible", "str", "xen,evtchn")
        e.set("xen,evtchn", "cells", [Cell(ev.port_a, "d"), Cell(dom_ph[ev.dom_a], "x"),
                                      Cell(ev.port_b, "d"), Cell(dom_ph[ev.dom_b], "x")])
    chosen.raw = cfg.chosen_extra_dts
    return chosen
