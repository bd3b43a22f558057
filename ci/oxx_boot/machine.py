"""The QEMU machine: flags, device tree dumps, and facts read back from a DTB."""

import re
import shutil
import subprocess
from dataclasses import dataclass
from typing import List, Optional, Tuple

from . import fdt
from .config import MiB

QEMU = "qemu-system-aarch64"
UBOOT_BIN = "/usr/lib/u-boot/qemu_arm64/u-boot.bin"
RAM_BASE = 0x40000000            # QEMU virt


class ToolError(Exception):
    """Something outside the config went wrong (missing program, QEMU failure).

    ``str(e)`` is one line that names the tool and its own first error line, so a caller
    can put it on a FAIL line; ``detail`` holds the command and the tool's whole output."""

    def __init__(self, message: str, detail: str = ""):
        super().__init__(message)
        self.detail = detail


def first_error_line(text: str) -> str:
    """The line of a tool's output that says what went wrong: the first line naming an
    error (QEMU: "qemu-system-aarch64: failed to find romfile ..."), else the first
    non-empty line."""
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    for l in lines:
        if re.search(r"error|fail|cannot|can't|could not|not found|no such|invalid|"
                     r"unable|refused|denied", l, re.I):
            return l
    return lines[0] if lines else "(no output)"


@dataclass(frozen=True)
class MachineSpec:
    gic: int = 2
    smp: int = 2
    mem_mib: int = 2048
    cpu: str = "cortex-a57"

    def machine_args(self) -> List[str]:
        # -nic none: QEMU's virt machine otherwise adds a default virtio NIC and looks for
        # its option ROM (efi-virtio.rom, Debian package ipxe-qemu, only a Recommends of
        # qemu-system-arm): without the ROM every boot and every dumpdtb fails. Boots that
        # need a NIC add their own with an empty romfile= (qemu_command).
        return ["-machine", "virt,virtualization=on,gic-version=%d" % self.gic,
                "-cpu", self.cpu, "-smp", str(self.smp), "-m", str(self.mem_mib),
                "-nic", "none"]

    def describe(self):
        return "gic-version=%d, -smp %d, -m %d" % (self.gic, self.smp, self.mem_mib)


def need(program: str):
    if shutil.which(program) is None:
        raise ToolError("%s not found (Debian package: %s)" % (program, {
            "dtc": "device-tree-compiler",
            "mkimage": "u-boot-tools", QEMU: "qemu-system-arm",
            "mke2fs": "e2fsprogs"}.get(program, "?")))


def run(cmd: List[str], what: str) -> str:
    need(cmd[0])
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True)
    if p.returncode != 0:
        raise ToolError("%s failed (exit %d): %s" % (what, p.returncode,
                                                      first_error_line(p.stderr + p.stdout)),
                        "%s\n%s" % (" ".join(cmd), (p.stderr + p.stdout).strip()))
    return p.stdout


def dump_dtb(spec: MachineSpec, path: str):
    """QEMU's own DTB for exactly the machine the boot will use."""
    run([QEMU] + spec.machine_args() + ["-nographic", "-machine", "dumpdtb=" + path],
        "dumping QEMU's device tree")


def decompile(dtb: str) -> str:
    return run(["dtc", "-q", "-I", "dtb", "-O", "dts", dtb], "decompiling " + dtb)


@dataclass
class DtbFacts:
    cpus: int
    gic: Optional[int]
    memory: List[Tuple[int, int]]
    reserved: List[Tuple[int, int]]
    has_chosen: bool


def dtb_facts(dtb: str) -> DtbFacts:
    """What a boot needs to know of a DTB: cpu nodes, GIC version, memory banks,
    /reserved-memory regions and whether /chosen exists (read with ci/oxx_boot/fdt.py)."""
    try:
        root = fdt.read(dtb)
    except fdt.FdtError as e:
        raise ToolError(str(e)) from None
    cpus_node = root.child("cpus")
    cpus = len([n for n in cpus_node.children if n.name.startswith("cpu@")]) \
        if cpus_node else 0
    compatible = set(c for n in root.walk() for c in n.strings("compatible"))
    gic = None
    if "arm,gic-v3" in compatible:
        gic = 3
    elif "arm,cortex-a15-gic" in compatible:
        gic = 2
    ac, sc = root.u32("#address-cells", 2), root.u32("#size-cells", 1)
    memory = []
    for n in root.children:
        if n.name == "memory" or n.name.startswith("memory@"):
            memory += n.reg(ac, sc)
    reserved = []
    rm = root.child("reserved-memory")
    if rm is not None:
        rac, rsc = rm.u32("#address-cells", ac), rm.u32("#size-cells", sc)
        for n in rm.children:
            reserved += n.reg(rac, rsc)     # none for a node without reg (dynamic)
    return DtbFacts(cpus, gic, memory, reserved, root.child("chosen") is not None)


def dtb_mismatch(facts: DtbFacts, spec: MachineSpec) -> Optional[str]:
    """Why a DTB does not describe the machine ``spec`` (None if it does)."""
    why = []
    if facts.cpus != spec.smp:
        why.append("%d cpu nodes but -smp %d" % (facts.cpus, spec.smp))
    if facts.gic is not None and facts.gic != spec.gic:
        why.append("a GICv%d but gic-version=%d" % (facts.gic, spec.gic))
    want = spec.mem_mib * MiB
    if facts.memory and sum(s for _, s in facts.memory) != want:
        why.append("%d MiB of memory but -m %d" % (sum(s for _, s in facts.memory) // MiB,
                                                  spec.mem_mib))
    return "; ".join(why) or None


def direct_boot_regions(spec: MachineSpec, kernel_text_offset: Optional[int],
                        kernel_size: int) -> List[Tuple[str, int, int]]:
    """Where QEMU itself puts things with -kernel/-dtb (hw/arm/boot.c): the Image at
    RAM base + text_offset (0x80000 when the header has no image_size), and the DTB
    at RAM base + min(RAM / 2, 128 MiB) (2 MiB reserved for it here)."""
    ram = spec.mem_mib * MiB
    off = 0x80000 if kernel_text_offset is None else kernel_text_offset
    dtb = RAM_BASE + min(ram // 2, 128 * MiB)
    return [("Xen (loaded by QEMU -kernel)", RAM_BASE + off, kernel_size),
            ("the DTB (placed by QEMU -dtb)", dtb, 2 * MiB)]
