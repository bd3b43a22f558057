"""Render a Plan: u-boot script (mode "uboot") or DTS/DTB + QEMU loader args ("dtb")."""

import os
from typing import List

from .plan import Node, Plan, Prop

FDT_RESIZE_DEFAULT = "1024"      # ImageBuilder's value; u-boot reads it as hex (0x1024)


# ---------------------------------------------------------------------------
# u-boot

def _uboot_value(p: Prop) -> str:
    if p.kind == "str":
        return '"%s"' % p.value
    if p.kind == "strs":
        return " ".join('"%s"' % s for s in p.value)
    if p.kind == "cells":
        return "<%s>" % " ".join(c.text() for c in p.value)
    raise ValueError(p.kind)


def _uboot_node(node: Node, path: str, out: List[str]):
    if node.raw:
        raise ValueError("DOMU_EXTRA_DTS / CHOSEN_EXTRA_DTS (raw DTS) need --mode dtb")
    for p in node.props:
        name = p.name.replace("#", "\\#")          # '#' starts a comment in hush
        if p.kind == "bool":
            out.append("fdt set %s %s" % (path, name))
        else:
            out.append("fdt set %s %s %s" % (path, name, _uboot_value(p)))
    # libfdt (u-boot's 'fdt mknod') inserts a new node in front of its existing
    # siblings, so siblings are created last-first to end up in model order.  Node
    # order matters: Xen gives dom0less domains their domids in /chosen order.
    # (ImageBuilder creates them first-first: domU<N-1> becomes d1.)  'fdt set'
    # also prepends, but property order carries no meaning.
    for c in reversed(node.children):
        out.append("fdt mknod %s %s" % (path, c.name))
        _uboot_node(c, path + "/" + c.name, out)


def _tree_bytes(node: Node) -> int:
    """Rough size the nodes and properties add to a flattened tree."""
    n = 8 + (len(node.name) + 4) // 4 * 4
    for p in node.props:
        if p.kind == "str":
            ln = len(p.value) + 1
        elif p.kind == "strs":
            ln = sum(len(s) + 1 for s in p.value)
        elif p.kind == "cells":
            ln = 4 * len(p.value)
        else:
            ln = 0
        n += 12 + (ln + 3) // 4 * 4 + len(p.name) + 1
    return n + sum(_tree_bytes(c) for c in node.children)


def fdt_resize_arg(plan: Plan) -> str:
    """ImageBuilder always writes 'fdt resize 1024' (0x1024 bytes of room).  When our
    nodes would not fit in that, ask for enough."""
    need = _tree_bytes(plan.chosen) + 512
    return FDT_RESIZE_DEFAULT if need <= 0x1024 else "%x" % (need + 0x1000)


def uboot_source(plan: Plan, has_chosen: bool = True) -> str:
    cfg = plan.config
    out = []
    for l in plan.loads:
        out.append("%s 0x%X %s" % (cfg.load_cmd, l.addr, l.ref.name))
    out.append("fdt addr 0x%X" % plan.dtb.addr)
    out.append("fdt resize %s" % fdt_resize_arg(plan))
    if not has_chosen:
        out.append("fdt mknod / chosen")
    _uboot_node(plan.chosen, "/chosen", out)
    out.append("setenv fdt_high 0xffffffffffffffff")
    if cfg.boot_cmd == "booti":
        out.append("booti 0x%X - 0x%X" % (plan.xen.addr, plan.dtb.addr))
    elif cfg.boot_cmd == "bootefi":
        out.append("bootefi 0x%X 0x%X" % (plan.xen.addr, plan.dtb.addr))
    else:                                           # BOOT_CMD="none"
        out.append("setenv host_kernel_addr 0x%X" % plan.xen.addr)
        out.append("setenv host_fdt_addr 0x%X" % plan.dtb.addr)
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------
# DTS

def _dts_value(p: Prop) -> str:
    if p.kind == "str":
        return '"%s"' % p.value
    if p.kind == "strs":
        return ", ".join('"%s"' % s for s in p.value)
    if p.kind == "cells":
        return "<%s>" % " ".join(c.text() for c in p.value)
    raise ValueError(p.kind)


def _dts_node(node: Node, depth: int, out: List[str]):
    ind = "\t" * depth
    out.append("%s%s%s {" % (ind, node.label + ": " if node.label else "", node.name))
    for p in node.props:
        if p.kind == "bool":
            out.append("%s\t%s;" % (ind, p.name))
        else:
            out.append("%s\t%s = %s;" % (ind, p.name, _dts_value(p)))
    for c in node.children:
        _dts_node(c, depth + 1, out)
    if node.raw:
        out.append("%s\t%s" % (ind, node.raw))
    out.append("%s};" % ind)


def chosen_dts(plan: Plan) -> str:
    """The /chosen tree as a DTS root-node fragment.  Appended after a decompiled base
    tree, dtc merges it into the existing /chosen (same as 'fdt set' on top of it)."""
    out = ["/ {"]
    _dts_node(plan.chosen, 1, out)
    out.append("};")
    return "\n".join(out) + "\n"


def qemu_escape(s: str) -> str:
    """QEMU option values: a ',' is written ',,'."""
    return s.replace(",", ",,")


def loader_args(plan: Plan, outdir: str) -> List[str]:
    args = []
    for l in plan.modules():
        args += ["-device", "loader,file=%s,addr=0x%X,force-raw=on"
                 % (qemu_escape(os.path.join(outdir, l.ref.name)), l.addr)]
    return args
