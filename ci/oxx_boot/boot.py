"""Boot a config under QEMU and read the Xen console until every domU reports.

Python use::

    sys.path.insert(0, "ci")
    from oxx_boot.boot import boot
    r = boot("ci/configs/smoke.cfg", "/path/to/dir", mode="dtb")
    r.results          # {1: "SUCCESS", 2: "TIMEOUT"}
    r.status, r.log    # "finished", ".work/boot/smoke-dtb/console.log"

A domU's result is the first ``Test result: X`` line it prints on the Xen console
(debug Xen: ``(dN) [ts] Test result: X``; vpl011 with no backend:
``(XEN) DOMN: Test result: X``).  dom0 (a config with DOM0_KERNEL) reports as domain 0:
Xen prints the hardware domain's console writes as they are, with no prefix, so its
result is a bare ``Test result: X`` line.  "SUCCESS with warnings" counts as SUCCESS.
"""

import fcntl
import os
import re
import selectors
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

from . import machine
from .config import MiB
from .generate import Generated, generate
from .machine import MachineSpec, ToolError

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORK = os.environ.get("OXX_WORK", os.path.join(REPO, ".work"))

RESULTS = ("SUCCESS", "SKIP", "ERROR", "FAILURE")
_TS = r"(?:\[[^\]]*\]\s*)?"
RESULT_RE = re.compile(
    r"^(?:\(d(\d+)\)|\(XEN\)\s*" + _TS + r"DOM(\d+):|(?=Test result:))\s*" + _TS +
    r"Test result:\s*(SUCCESS with warnings|SUCCESS|SKIP|ERROR|FAILURE)\b")
CRASH_RE = re.compile(r"Domain (\d+) (?:\(vcpu#\d+\) crashed on cpu#|reported crashed by "
                      r"domain)")
# The hardware domain crashing halts (or reboots) the machine.
DOM0_CRASH_RE = re.compile(r"Hardware Dom0 crashed")
PANIC_RE = re.compile(r"Panic on CPU \d+")
PANIC_END_RE = re.compile(r"Manual reset required|Reboot in five seconds")
XEN_RE = re.compile(r"^\(XEN\)")
UBOOT_PROMPT = "=> "
AUTOBOOT = "Hit any key to stop autoboot"

# Exit codes of ci/boot
EXIT_RAN = 0          # QEMU ran and Xen started: results are meaningful (maybe failures)
EXIT_USAGE = 2        # bad command line or config
EXIT_TOOL = 3         # staging, QEMU or u-boot failed before Xen ran


@dataclass
class BootResult:
    results: Dict[int, str]              # domid -> SUCCESS/SKIP/ERROR/FAILURE/TIMEOUT/CRASH
    status: str                          # finished, timeout, panic, qemu-exit, boot-failed
    log: str
    outdir: str
    elapsed: float                       # seconds from QEMU start to the outcome
    xen_started: bool
    raw: Dict[int, str] = field(default_factory=dict)   # domid -> result text as printed
    qemu_cmd: List[str] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    # Why the boot never reached Xen, in one line with the tool's own words (None if it did).
    error: Optional[str] = None

    @property
    def exit_code(self):
        return EXIT_TOOL if self.error else EXIT_RAN

    def summary(self) -> str:
        lines = ["domain %d %s" % (d, r) for d, r in sorted(self.results.items())]
        lines += ["status %s" % self.status, "time %.2f" % self.elapsed, "log %s" % self.log]
        return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# Staging

# Xen options every boot under QEMU adds to the config's XEN_CMD (unless it sets them).
# sched_credit2_migrate_resist=0: Xen 4.17.5's (and 4.22's) credit2 can strand a runnable
# vCPU for good on a 2-pCPU machine. QEMU charges a vCPU 20 ms or more at once, its credit
# is clamped at CSCHED2_CREDIT_MIN, one above the idle unit's; runq_candidate() on the
# other pCPU then refuses to take it from its idle home pCPU (it does not beat idle by the
# 500 us migration resistance) and nothing tickles the home pCPU. Seen as one domain of
# eight in evtchn/ops-2l-a never running again (about 1 boot in 10, C and Rust builds
# alike; the 'r' debug key shows it queued with credit -10000000, both pCPUs idle, none
# tickled); with resistance 0 the other pCPU takes it (45 of 45 boots). Both builds get the
# same option, so C stays the oracle.
QEMU_XEN_CMD = "sched_credit2_migrate_resist=0"


def stage_dir(config_path: str, mode: str, tag: Optional[str] = None) -> str:
    name = os.path.basename(config_path)
    name = name[:-4] if name.endswith(".cfg") else name
    return os.path.join(WORK, "boot", "%s-%s%s" % (name, mode, "-" + tag if tag else ""))


def _clean_dir(path: str):
    os.makedirs(path, exist_ok=True)
    for e in os.scandir(path):
        if e.is_dir(follow_symlinks=False):
            shutil.rmtree(e.path)
        else:
            os.unlink(e.path)


def _disk_image(gen: Generated) -> str:
    """A raw disk for "load virtio 0:1"-style LOAD_CMDs: an MBR with one bootable
    Linux partition at 1 MiB holding an ext2 filesystem with the staged folder
    (u-boot's distro boot finds boot.scr there and sources it)."""
    machine.need("mke2fs")
    src = gen.outdir
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(src)
                for f in fs)
    fs_mib = max(16, (total * 2) // MiB + 8)
    work = os.path.join(os.path.dirname(src), os.path.basename(src) + ".disk")
    os.makedirs(work, exist_ok=True)
    fs = os.path.join(work, "part1.ext2")
    disk = os.path.join(work, "disk.img")
    for p in (fs, disk):
        if os.path.exists(p):
            os.unlink(p)
    machine.run(["mke2fs", "-q", "-F", "-t", "ext2", "-L", "boot", "-d", src, fs,
                 "%dM" % fs_mib], "making the boot filesystem")
    start = 2048
    sectors = os.path.getsize(fs) // 512
    mbr = bytearray(512)
    struct.pack_into("<B3sB3sII", mbr, 446, 0x80, b"\xfe\xff\xff", 0x83, b"\xfe\xff\xff",
                     start, sectors)
    mbr[510:512] = b"\x55\xaa"
    with open(disk, "wb") as out, open(fs, "rb") as f:
        out.write(mbr)
        out.write(b"\0" * (start * 512 - 512))
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            out.write(chunk)
    os.unlink(fs)
    return disk


def uboot_command(gen: Generated) -> str:
    """The distro-boot step u-boot would reach on its own for our medium."""
    load = gen.config.load_cmd or ""
    return "run bootcmd_dhcp" if load.split()[0].startswith("tftp") else "run bootcmd_virtio0"


def qemu_command(gen: Generated, spec: MachineSpec, icount: bool,
                 extra: List[str] = ()) -> List[str]:
    cmd = [machine.QEMU] + spec.machine_args() + ["-nographic", "-no-reboot"]
    if icount:
        # sleep=off: virtual time never follows the host clock (with the default sleep=on an
        # idle guest lets it jump by real time, and figures drift between runs).
        cmd += ["-icount", "shift=0,sleep=off"]
    if gen.mode == "dtb":
        cmd += gen.qemu_args
    else:
        load = gen.config.load_cmd or ""
        cmd += ["-bios", machine.UBOOT_BIN]
        word = load.split()[0] if load.split() else ""
        if word.startswith("tftp"):
            cmd += ["-netdev", "user,id=n0,restrict=on,tftp=%s"
                    % gen.outdir.replace(",", ",,"),
                    # romfile=: u-boot drives virtio-net itself; no iPXE option ROM.
                    "-device", "virtio-net-pci,netdev=n0,romfile="]
        elif re.search(r"\bvirtio\s+0(:1)?\b", load):
            disk = _disk_image(gen)
            cmd += ["-drive", "if=none,format=raw,id=d0,file=%s" % disk.replace(",", ",,"),
                    "-device", "virtio-blk-pci,drive=d0"]
        else:
            raise ToolError("LOAD_CMD %r: ci/boot can serve tftpb (QEMU's TFTP) or "
                            "'load virtio 0:1' (a disk image); not this" % load)
    return cmd + list(extra)


# ---------------------------------------------------------------------------
# Watching the console

class _Watch:
    def __init__(self, expect, log_file, echo):
        # domids 1..expect, or the domids given (0 for dom0)
        self.expect = (list(range(1, expect + 1)) if isinstance(expect, int)
                       else sorted(expect))
        self.results: Dict[int, str] = {}
        self.raw: Dict[int, str] = {}
        self.crashed = set()
        self.log = log_file
        self.echo = echo
        self.xen_started = False
        self.panic = False
        self.panic_done = False
        self.partial = ""
        self.lines_before_xen: List[str] = []   # QEMU's and u-boot's own output
        self.qemu_rc: Optional[int] = None

    def feed(self, data: str):
        text = self.partial + data.replace("\r", "")
        lines = text.split("\n")
        self.partial = lines.pop()
        for line in lines:
            self.line(line)

    def line(self, line: str):
        self.log.write(line + "\n")
        self.log.flush()
        if self.echo:
            self.echo.write(line + "\n")
            self.echo.flush()
        if XEN_RE.match(line):
            self.xen_started = True
        elif not self.xen_started and len(self.lines_before_xen) < 2000:
            self.lines_before_xen.append(line)
        m = RESULT_RE.match(line)
        if m:
            domid = int(m.group(1) or m.group(2) or 0)
            if domid not in self.results:
                self.raw[domid] = m.group(3)
                self.results[domid] = "SUCCESS" if m.group(3).startswith("SUCCESS") \
                    else m.group(3)
            return
        m = CRASH_RE.search(line)
        if m:
            self.crashed.add(int(m.group(1)))
        if DOM0_CRASH_RE.search(line):
            self.crashed.add(0)
        if PANIC_RE.search(line):
            self.panic = True
        if self.panic and PANIC_END_RE.search(line):
            self.panic_done = True

    def done(self) -> bool:
        return all(d in self.results or d in self.crashed for d in self.expect)

    def flush(self):
        if self.partial:
            self.line(self.partial)
            self.partial = ""


def tool_failure(w: _Watch, status: str) -> Optional[str]:
    """One line saying why a boot never reached Xen, quoting the tool (None if Xen ran)."""
    if w.xen_started:
        return None
    before = "\n".join(w.lines_before_xen)
    if status == "qemu-exit":
        return "QEMU exited%s before Xen started: %s" % (
            "" if w.qemu_rc is None else " (exit %d)" % w.qemu_rc,
            machine.first_error_line(before))
    if status == "boot-failed":
        # u-boot's own complaint, from after its banner (its first lines are its version).
        tail = before.split("U-Boot", 1)[-1]
        return "u-boot stopped at its prompt without starting Xen: %s" % (
            machine.first_error_line(tail))
    # A timeout with no Xen output is not a tool failure: QEMU ran, and Xen can die before
    # its console exists (the dt-errors suite records C doing so).
    return None


def final_results(w: _Watch, status: str) -> Dict[int, str]:
    """Every expected domain's result once the watch is over."""
    out = {}
    for d in w.expect:
        if d in w.results:
            out[d] = w.results[d]
        elif d in w.crashed or status in ("panic", "qemu-exit", "boot-failed"):
            out[d] = "CRASH"
        else:
            out[d] = "TIMEOUT"
    return out


def _kill(proc: subprocess.Popen):
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)      # QEMU runs in its own session
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=3)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def watch(cmd: List[str], expect: int, log_path: str, timeout: float = 60.0,
          grace: float = 0.5, echo=None, uboot: bool = False,
          uboot_cmd: Optional[str] = None):
    """Run ``cmd`` and read its console.  Returns (_Watch, status, elapsed).
    With ``uboot_cmd``, u-boot's autoboot countdown is interrupted and the command is
    typed at the prompt instead (the countdown alone takes ~35 s under -icount)."""
    with open(log_path, "w") as log:
        w = _Watch(expect, log, echo)
        start = time.monotonic()
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        status = None
        decided = None             # when the outcome was known (before the grace period)
        finish_at = None           # set when we only wait out the grace period
        last_data = start
        sent_key = sent_cmd = False
        try:
            os.set_blocking(proc.stdout.fileno(), False)
            sel = selectors.DefaultSelector()
            sel.register(proc.stdout, selectors.EVENT_READ)
            while True:
                now = time.monotonic()
                if finish_at is not None and now >= finish_at:
                    break
                if finish_at is None and now - start >= timeout:
                    status = "timeout"
                    break
                limit = (finish_at if finish_at is not None else start + timeout) - now
                events = sel.select(timeout=max(0.0, min(limit, 0.2)))
                eof = False
                if events:
                    try:
                        chunk = os.read(proc.stdout.fileno(), 65536)
                    except BlockingIOError:
                        chunk = b""
                    if chunk:
                        last_data = time.monotonic()
                        w.feed(chunk.decode("utf-8", "replace"))
                    else:
                        eof = True
                if uboot_cmd and not w.xen_started and proc.poll() is None:
                    try:
                        if not sent_key and AUTOBOOT in w.partial:
                            proc.stdin.write(b"\r")
                            proc.stdin.flush()
                            sent_key = True
                        elif (sent_key and not sent_cmd
                              and w.partial.endswith(UBOOT_PROMPT)):
                            proc.stdin.write(uboot_cmd.encode() + b"\r")
                            proc.stdin.flush()
                            sent_cmd = True
                    except BrokenPipeError:
                        pass                   # QEMU is going away: seen below
                if finish_at is None:
                    if w.panic:
                        status = "panic"
                        decided = time.monotonic()
                        finish_at = decided + (0.2 if w.panic_done else 1.0)
                    elif w.done():
                        status = "finished"
                        decided = time.monotonic()
                        finish_at = decided + grace
                    elif (uboot and not w.xen_started and w.partial.endswith(UBOOT_PROMPT)
                          and (sent_cmd or not uboot_cmd)
                          and time.monotonic() - last_data > 1.0):
                        status = "boot-failed"     # u-boot gave up: prompt, no Xen
                        break
                elif w.panic and status != "panic":
                    status = "panic"               # a panic during the grace period
                if eof or (proc.poll() is not None and not events):
                    if status is None:
                        status = "qemu-exit"
                    break
        finally:
            elapsed = (decided or time.monotonic()) - start
            if status == "qemu-exit":
                try:
                    w.qemu_rc = proc.wait(timeout=2)   # its output ended: it is exiting
                except subprocess.TimeoutExpired:
                    pass
            _kill(proc)
            # Drain what is left in the pipe.
            try:
                rest = proc.stdout.read() or b""
                w.feed(rest.decode("utf-8", "replace"))
            except (OSError, ValueError):
                pass
            w.flush()
            if proc.stdin:
                try:
                    proc.stdin.close()
                except OSError:
                    pass
            proc.stdout.close()
        return w, status, elapsed


# ---------------------------------------------------------------------------

def boot(config: str, dir: str, mode: str = "dtb", timeout: float = 60.0,
         log: Optional[str] = None, gic: int = 2, smp: int = 2, icount: bool = False,
         expect_domains: Optional[int] = None, overrides=(), lax: bool = False,
         tag: Optional[str] = None, stage: Optional[str] = None, echo=None,
         grace: float = 0.5, qemu_extra: List[str] = (),
         qemu_dtb: bool = False, uboot_autoboot: bool = False) -> BootResult:
    """Stage, boot and watch one config.  Raises ConfigError / ToolError before QEMU
    runs; afterwards everything is in the BootResult."""
    spec = MachineSpec(gic=gic, smp=1 if icount else smp)
    outdir = os.path.abspath(stage or stage_dir(config, mode, tag))
    os.makedirs(os.path.dirname(outdir), exist_ok=True)
    lock = open(outdir + ".lock", "w")
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            sys.stderr.write("ci/boot: waiting for another boot using %s (use --tag to "
                             "run side by side)\n" % outdir)
            fcntl.flock(lock, fcntl.LOCK_EX)
        _clean_dir(outdir)
        gen = generate(config, dir, outdir, mode, spec=spec,
                       dtb_policy="qemu" if qemu_dtb else "auto",
                       overrides=overrides, lax=lax, extra_xen_cmd=QEMU_XEN_CMD)
        cmd = qemu_command(gen, spec, icount, qemu_extra)
        with open(os.path.join(outdir, "run-qemu.sh"), "w") as f:
            f.write("#!/bin/sh\n# %s, mode %s: re-run this boot interactively "
                    "(Ctrl-a x quits QEMU)\nexec %s\n"
                    % (os.path.basename(config), mode, " ".join(shlex.quote(c) for c in cmd)))
        os.chmod(os.path.join(outdir, "run-qemu.sh"), 0o755)
        expect = expect_domains if expect_domains is not None else len(gen.config.domains)
        if gen.config.dom0:
            expect = [0] + list(range(1, expect + 1))
        log_path = os.path.abspath(log or os.path.join(outdir, "console.log"))
        os.makedirs(os.path.dirname(log_path), exist_ok=True)
        ucmd = uboot_command(gen) if mode == "uboot" and not uboot_autoboot else None
        w, status, elapsed = watch(cmd, expect, log_path, timeout, grace, echo,
                                   uboot=(mode == "uboot"), uboot_cmd=ucmd)
    finally:
        lock.close()

    results = final_results(w, status)
    failed = status != "finished" or any(r not in ("SUCCESS", "SKIP")
                                         for r in results.values())
    if failed and log is None:
        # The staging folder is emptied by the next boot of this config: keep the log.
        keep_dir = os.path.join(os.path.dirname(outdir), "failed")
        os.makedirs(keep_dir, exist_ok=True)
        stem = os.path.join(keep_dir, "%s-%s" % (os.path.basename(outdir),
                                                 time.strftime("%Y%m%d-%H%M%S")))
        kept, n = stem + ".log", 1
        while os.path.exists(kept):
            n += 1
            kept = "%s-%d.log" % (stem, n)
        shutil.copyfile(log_path, kept)
        log_path = kept
    return BootResult(results, status, log_path, outdir, elapsed, w.xen_started, w.raw,
                      cmd, gen.notes, tool_failure(w, status))
