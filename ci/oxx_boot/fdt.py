"""The one device tree reader of the Python tooling: libfdt's Python binding (pylibfdt,
Debian package python3-libfdt).

``read(path)`` turns a DTB into a plain tree of :class:`Node` (names, raw property
bytes, children in the blob's order); ci/oxx_boot/machine.py reads the facts a boot needs
from it and ci/imagebuilder-selftest compares trees with it.  ``open_rw(path)`` gives a
writable ``libfdt.Fdt`` for replaying u-boot's ``fdt`` commands with libfdt itself.
Malformed blobs raise :class:`FdtError` with libfdt's reason.
"""

import struct
from typing import Dict, Iterator, List, Optional, Tuple

try:
    import libfdt
except ImportError:                 # reported when a reader is first used
    libfdt = None


class FdtError(Exception):
    """A blob libfdt refuses, or python3-libfdt missing; ``str(e)`` is one line."""


def _need_libfdt():
    if libfdt is None:
        raise FdtError("python module libfdt not found (Debian package: python3-libfdt; "
                       "run ci/setup, and use Debian's /usr/bin/python3)")


class Node:
    def __init__(self, name: str):
        self.name = name
        self.props: Dict[str, bytes] = {}       # in the blob's order
        self.children: List["Node"] = []

    def child(self, name: str) -> Optional["Node"]:
        return next((c for c in self.children if c.name == name), None)

    def find(self, path: str) -> "Node":
        """The node at ``path`` ("/a/b", relative to this node); KeyError if absent."""
        node = self
        for part in [p for p in path.split("/") if p]:
            node = node.child(part)
            if node is None:
                raise KeyError(path)
        return node

    def walk(self) -> Iterator["Node"]:
        yield self
        for c in self.children:
            yield from c.walk()

    def u32(self, name: str, default: int) -> int:
        v = self.props.get(name)
        return struct.unpack(">I", v[:4])[0] if v is not None and len(v) >= 4 else default

    def strings(self, name: str) -> List[str]:
        v = self.props.get(name)
        if not v:
            return []
        return [s.decode("utf-8", "replace") for s in v.rstrip(b"\0").split(b"\0")]

    def reg(self, acells: int, scells: int) -> List[Tuple[int, int]]:
        """(address, size) pairs of ``reg`` with the parent's cell counts."""
        v = self.props.get("reg", b"")
        cells = struct.unpack(">%dI" % (len(v) // 4), v[:len(v) // 4 * 4])
        step = acells + scells
        out = []
        for i in range(0, len(cells) - step + 1, step) if step else ():
            a = s = 0
            for c in cells[i:i + acells]:
                a = (a << 32) | c
            for c in cells[i + acells:i + step]:
                s = (s << 32) | c
            out.append((a, s))
        return out


def _node(fdt, off: int, name: str) -> Node:
    node = Node(name)
    q = libfdt.QUIET_NOTFOUND
    poff = fdt.first_property_offset(off, q)
    while poff >= 0:
        p = fdt.get_property_by_offset(poff)
        node.props[p.name] = bytes(p)
        poff = fdt.next_property_offset(poff, q)
    sub = fdt.first_subnode(off, q)
    while sub >= 0:
        node.children.append(_node(fdt, sub, fdt.get_name(sub)))
        sub = fdt.next_subnode(sub, q)
    return node


def parse(data: bytes, what: str = "device tree") -> Node:
    """The tree of a DTB held in memory; the root is named ""."""
    _need_libfdt()
    try:
        fdt = libfdt.FdtRo(bytearray(data))
        if fdt.totalsize() > len(data):
            raise FdtError("%s: truncated device tree blob (%d of %d bytes)"
                           % (what, len(data), fdt.totalsize()))
        return _node(fdt, 0, "")
    except libfdt.FdtException as e:
        raise FdtError("%s: not a valid device tree blob (libfdt: %s)" % (what, e)) from None


def read(path: str) -> Node:
    with open(path, "rb") as f:
        return parse(f.read(), path)


def open_rw(path: str, room: int = 64 * 1024):
    """A writable libfdt.Fdt of the DTB at ``path`` with ``room`` bytes to grow."""
    _need_libfdt()
    with open(path, "rb") as f:
        data = f.read()
    try:
        fdt = libfdt.Fdt(bytearray(data))
        fdt.resize(fdt.totalsize() + room)
    except libfdt.FdtException as e:
        raise FdtError("%s: not a valid device tree blob (libfdt: %s)" % (path, e)) from None
    return fdt


def tree_of(fdt) -> Node:
    """The tree of a libfdt.Fdt (e.g. after edits)."""
    return _node(fdt, 0, "")
