"""Reading and validating ImageBuilder-format configuration files.

The format is the one Xen's ImageBuilder (scripts/uboot-script-gen) sources with bash:
``NAME="value"``, ``NAME[n]="value"``, ``#`` comments and blank lines.  We never run
bash on it: every line is parsed here, so an unknown or malformed variable fails with
a message that names the file, the line and the variable.

The result is a :class:`Config`: plain values, every file resolved against the
directory given with ``--dir`` (ImageBuilder's ``-d``).  Everything downstream
(memory placement, the /chosen tree, both output modes) starts from it.
"""

import os
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

MiB = 1024 * 1024
PAGE = 4096
# Xen 4.17: MAX_SHM_ID_LENGTH is 16 bytes including the terminating NUL.
MAX_SHM_ID_LEN = 15
# Highest port the FIFO ABI can name (2^17 - 1); port 0 is never valid.
MAX_EVTCHN_PORT = (1 << 17) - 1

# ---------------------------------------------------------------------------
# Variables

SCALAR_VARS = (
    "MEMORY_START", "MEMORY_END", "XEN", "XEN_CMD", "DEVICE_TREE", "NUM_DOMUS",
    "LOAD_CMD", "UBOOT_SOURCE", "UBOOT_SCRIPT", "BOOT_CMD",
    # Ours (docs/imagebuilder.md): the design-draft static event channel binding, and raw
    # DTS for negative tests (dtb mode only).
    "STATIC_EVTCHNS_DRAFT", "CHOSEN_EXTRA_DTS",
    # dom0 (ImageBuilder's xen_config()/xen_device_tree_editing()).
    "DOM0_KERNEL", "DOM0_RAMDISK", "DOM0_CMD", "DOM0_MEM", "DOM0_VCPUS",
)
ARRAY_VARS = (
    "DOMU_KERNEL", "DOMU_MEM", "DOMU_VCPUS", "DOMU_CMD", "DOMU_RAMDISK", "DOMU_ENHANCED",
    "DOMU_STATIC_MEM", "DOMU_DIRECT_MAP", "DOMU_SHARED_MEM", "DOMU_STATIC_EVTCHNS",
    # Ours: `role` on DOMU_SHARED_MEM's node, the design-draft shm binding (u32 shm-id),
    # raw DTS inside domU<n> (negative tests, dtb mode only).
    "DOMU_SHARED_MEM_ROLE", "DOMU_SHARED_MEM_DRAFT", "DOMU_EXTRA_DTS",
    # Ours: `xen,max-evtchn-port` (patches/4.17/0003) on domU<n>.
    "DOMU_MAX_EVTCHN_PORT",
    # Ours: `xen,v4v-max-ring-pages` (patches/4.17/0022) on domU<n>.
    "DOMU_V4V_MAX_RING_PAGES",
)
# ImageBuilder variables this tool deliberately does not implement (rejected with a
# more specific message than a plain typo gets).
IMAGEBUILDER_ONLY = frozenset((
    "DOM0_COLORS", "DOM0_ROOTFS", "DOM0_VIOMMU", "DOM0_LOAD", "XEN_LOAD", "DOMU_LOAD", "XEN_COLORS", "XEN_POLICY",
    "XEN_STATIC_HEAP", "NUM_DT_OVERLAY", "DT_OVERLAY", "PASSTHROUGH_DTS_REPO",
    "LOPPER_PATH", "LOPPER_CMD", "DOMU_PASSTHROUGH_PATHS", "DOMU_PASSTHROUGH_DTB",
    "DOMU_ROOTFS", "DOMU_NOBOOT", "DOMU_COLORS", "DOMU_CPUPOOL", "DOMU_DRIVER_DOMAIN",
    "DOMU_VPL011", "DOMU_NR_SPIS", "DOMU_MAPTRACK_FRAMES", "DOMU_CAPS", "DOMU_TRAP_UNMAP",
    "DOMU_VCPU_HARD_AFFINITY", "DOMU_NAME", "CPUPOOL", "NUM_CPUPOOLS", "LINUX",
    "LINUX_CMD", "LINUX_RAMDISK", "BITSTREAM", "NUM_BOOT_AUX_FILE", "BOOT_AUX_FILE",
    "APPEND_EXTRA_CMDS", "FDTEDIT", "FIT", "FIT_ENC_KEY_DIR", "FIT_ENC_UB_DTB", "EFI",
    "PREPEND_PATH", "GPT",
))

# ImageBuilder's defaults (scripts/uboot-script-gen, xen_config()).  Without XEN_CMD it
# writes "console=dtuart dtuart=serial0 dom0_mem=${DOM0_MEM}M dom0_max_vcpus=${DOM0_VCPUS}
# bootscrub=0 vwfi=native sched=null" (then three empty colour/viommu words), and with no
# dom0 it drops the dom0_* words again.
DEFAULT_XEN_CMD_HEAD = "console=dtuart dtuart=serial0"
DEFAULT_XEN_CMD_TAIL = "bootscrub=0 vwfi=native sched=null"
DEFAULT_DOM0_MEM_MIB = 1500
DEFAULT_DOM0_VCPUS = 1
DEFAULT_DOM0_CMD = "console=hvc0 earlycon=xen earlyprintk=xen clk_ignore_unused"
DEFAULT_XEN_CMD = DEFAULT_XEN_CMD_HEAD + " " + DEFAULT_XEN_CMD_TAIL
DEFAULT_DOMU_MEM_MIB = 512
DEFAULT_DOMU_VCPUS = 1
DEFAULT_DOMU_CMD = "console=ttyAMA0"
# ImageBuilder's -t shorthands.
LOAD_CMD_ALIASES = {"tftp": "tftpb", "sd": "load mmc 0:1", "scsi": "load scsi 0:1",
                    "usb": "fatload usb 0:1"}
BOOT_CMDS = ("booti", "bootefi", "none")


# ---------------------------------------------------------------------------
# Diagnostics

class ConfigError(Exception):
    """One or more problems with a configuration; ``messages`` lists them all."""

    def __init__(self, messages: List[str]):
        super().__init__("\n".join(messages))
        self.messages = list(messages)


@dataclass(frozen=True)
class Where:
    file: str
    line: Optional[int] = None

    def __str__(self):
        return self.file if self.line is None else "%s:%d" % (self.file, self.line)


class Diag:
    def __init__(self, lax: bool = False):
        self.errors: List[str] = []
        self.warnings: List[str] = []
        self.lax = lax

    def error(self, where, var: str, msg: str):
        self.errors.append("%s: %s: %s" % (where, var, msg))

    def warn(self, where, var: str, msg: str):
        self.warnings.append("%s: %s: %s" % (where, var, msg))

    def xen_rule(self, where, var: str, msg: str):
        """A rule Xen 4.17 would enforce (or crash on): an error unless --lax."""
        if self.lax:
            self.warn(where, var, msg + " (allowed by --lax)")
        else:
            self.error(where, var, msg + " (use --lax to generate it anyway)")

    def check(self):
        if self.errors:
            raise ConfigError(self.errors)


# ---------------------------------------------------------------------------
# Lexing: one bash assignment per line

@dataclass
class Assign:
    name: str
    index: Optional[int]
    value: str
    where: Where

    @property
    def label(self):
        return self.name if self.index is None else "%s[%d]" % (self.name, self.index)


_ASSIGN_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)(?:\[([^\]]*)\])?=")
_SHELL_META = set(";&|<>()")


def _lex_value(text: str, where: Where, label: str, diag: Diag) -> Optional[str]:
    """The value of one assignment (what follows '='), with bash quoting rules for the
    subset we accept: "..." (escapes \\ \" \\$ \\`), '...', unquoted words, adjacent
    pieces concatenated, then optional whitespace and a # comment."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            i += 1
            while True:
                if i >= n:
                    diag.error(where, label, "unterminated double quote "
                               "(values must fit on one line)")
                    return None
                c = text[i]
                if c == '"':
                    i += 1
                    break
                if c == "\\" and i + 1 < n and text[i + 1] in '"\\$`':
                    out.append(text[i + 1])
                    i += 2
                    continue
                if c in "$`":
                    diag.error(where, label, "shell expansion (%r) is not supported: "
                               "write the value out" % c)
                    return None
                out.append(c)
                i += 1
        elif c == "'":
            j = text.find("'", i + 1)
            if j < 0:
                diag.error(where, label, "unterminated single quote "
                           "(values must fit on one line)")
                return None
            out.append(text[i + 1:j])
            i = j + 1
        elif c in " \t":
            rest = text[i:].strip()
            if rest and not rest.startswith("#"):
                diag.error(where, label, "unexpected text after the value: %r "
                           "(quote values that contain spaces; one assignment per line)"
                           % rest)
                return None
            break
        elif c == "#" and not out:
            # NAME=#x: bash would take '#x' as the value; refuse the ambiguity.
            diag.error(where, label, "value starts with '#': quote it")
            return None
        elif c in "$`":
            diag.error(where, label, "shell expansion (%r) is not supported: "
                       "write the value out" % c)
            return None
        elif c in _SHELL_META:
            diag.error(where, label, "shell syntax %r is not supported "
                       "(one plain assignment per line)" % c)
            return None
        elif c == "\\":
            if i + 1 >= n:
                diag.error(where, label, "line continuation is not supported")
                return None
            out.append(text[i + 1])
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def lex_assignment(line: str, where: Where, diag: Diag) -> Optional[Assign]:
    """Parse one non-blank, non-comment line; None (with an error) if malformed."""
    s = line.strip()
    m = _ASSIGN_RE.match(s)
    if not m:
        word = re.match(r"[^\s=\[]*", s).group(0) or s[:20]
        diag.error(where, word, "not a variable assignment (expected NAME=\"value\" or "
                   "NAME[n]=\"value\"; shell commands are not supported)")
        return None
    name, idx_text = m.group(1), m.group(2)
    label = name if idx_text is None else "%s[%s]" % (name, idx_text)
    index = None
    if idx_text is not None:
        if not re.fullmatch(r"[0-9]+", idx_text.strip()):
            diag.error(where, label, "array index must be a plain decimal number")
            return None
        index = int(idx_text.strip(), 10)
    value = _lex_value(s[m.end():], where, label, diag)
    if value is None:
        return None
    return Assign(name, index, value, where)


def parse_override(text: str, where: Where, diag: Diag) -> Optional[Assign]:
    """A command-line ``NAME=VALUE`` / ``NAME[n]=VALUE``: the value is taken as is
    (the shell that ran us already did the quoting)."""
    m = _ASSIGN_RE.match(text)
    if not m:
        diag.error(where, text.split("=")[0] or text, "expected NAME=VALUE or NAME[n]=VALUE")
        return None
    name, idx_text = m.group(1), m.group(2)
    label = name if idx_text is None else "%s[%s]" % (name, idx_text)
    if idx_text is not None and not re.fullmatch(r"[0-9]+", idx_text):
        diag.error(where, label, "array index must be a plain decimal number")
        return None
    return Assign(name, None if idx_text is None else int(idx_text, 10),
                  text[m.end():], where)


def lex_text(text: str, filename: str, diag: Diag) -> List[Assign]:
    out = []
    for lineno, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        a = lex_assignment(s, Where(filename, lineno), diag)
        if a is not None:
            out.append(a)
    return out


# ---------------------------------------------------------------------------
# Numbers and strings

def parse_int(text: str) -> Optional[int]:
    """A non-negative integer the way bash arithmetic reads it: 0x.. hex, 0.. octal,
    otherwise decimal.  None if it is not one."""
    t = text.strip()
    if re.fullmatch(r"0[xX][0-9a-fA-F]+", t):
        return int(t, 16)
    if re.fullmatch(r"0[0-7]*", t):
        return int(t, 8)
    if re.fullmatch(r"[1-9][0-9]*", t):
        return int(t, 10)
    return None


def _check_dt_string(value: str, where, label: str, diag: Diag) -> bool:
    """Strings end up inside double quotes in a u-boot script (hush expands $ there)
    and in a DTS file: refuse the characters neither can carry verbatim."""
    bad = sorted(set(c for c in value if c in '"\\$' or ord(c) < 0x20 or ord(c) == 0x7f))
    if bad:
        diag.error(where, label, "contains characters that cannot be passed through a "
                   "u-boot script: %s" % " ".join(repr(c) for c in bad))
        return False
    return True


# ---------------------------------------------------------------------------
# The model

@dataclass
class FileRef:
    var: str                 # e.g. "DOMU_KERNEL[0]"
    value: str               # as written in the config
    path: str                # absolute path on this machine
    name: str                # path inside the output folder / TFTP root
    where: Where

    @property
    def exists(self):
        return os.path.isfile(self.path)


@dataclass
class SharedMem:
    shm_id: str
    host: int
    guest: int
    size: int
    host_text: str           # ImageBuilder names the node after the text as written
    where: Where


@dataclass
class SharedMemDraft:
    """DOMU_SHARED_MEM_DRAFT: the design draft's binding, u32 xen,shm-id and a role."""
    shm_id: int
    host: int
    guest: int
    size: int
    host_text: str
    role: Optional[str]
    where: Where


@dataclass
class EvtchnDraft:
    """STATIC_EVTCHNS_DRAFT: one /chosen "xen,evtchn" node <PORT_A &domUA PORT_B &domUB>."""
    dom_a: int
    port_a: int
    dom_b: int
    port_b: int
    where: Where


@dataclass
class Evtchn:
    local_port: int
    remote_index: int
    remote_port: int
    where: Where


@dataclass
class Domain:
    index: int
    kernel: FileRef
    mem_mib: int
    vcpus: int
    cmd: str
    ramdisk: Optional[FileRef] = None
    enhanced: Optional[str] = None            # "enabled" / "no-xenstore" / None
    static_mem: List[Tuple[int, int]] = field(default_factory=list)
    direct_map: bool = False
    shared_mem: Optional[SharedMem] = None
    evtchns: List[Evtchn] = field(default_factory=list)
    shared_mem_role: Optional[str] = None     # DOMU_SHARED_MEM_ROLE
    shared_mem_draft: List["SharedMemDraft"] = field(default_factory=list)
    extra_dts: Optional[str] = None           # DOMU_EXTRA_DTS
    max_evtchn_port: Optional[int] = None     # DOMU_MAX_EVTCHN_PORT
    v4v_max_ring_pages: Optional[int] = None  # DOMU_V4V_MAX_RING_PAGES

    @property
    def domid(self):
        # Xen 4.17 dom0less with no dom0: domUs get domids 1.. in /chosen order.
        return self.index + 1


@dataclass
class Dom0:
    """DOM0_*: the hardware domain's kernel (``/chosen/dom0``), ramdisk and command line.
    ``mem_mib``/``vcpus`` are only set when given; they go into the default XEN_CMD."""
    kernel: FileRef
    cmd: str
    ramdisk: Optional[FileRef] = None
    mem_mib: Optional[int] = None
    vcpus: Optional[int] = None

    @property
    def domid(self):
        return 0


@dataclass
class Config:
    path: str
    dir: str
    memory_start: int
    memory_end: int
    xen: FileRef
    xen_cmd: str
    device_tree: FileRef
    domains: List[Domain]
    load_cmd: Optional[str]
    uboot_source: str
    uboot_script: str
    boot_cmd: str
    warnings: List[str] = field(default_factory=list)
    where: Dict[str, Where] = field(default_factory=dict)
    lax: bool = False
    evtchns_draft: List[EvtchnDraft] = field(default_factory=list)
    chosen_extra_dts: Optional[str] = None
    dom0: Optional[Dom0] = None

    @property
    def has_extra_dts(self):
        return bool(self.chosen_extra_dts) or any(d.extra_dts for d in self.domains)

    @property
    def name(self):
        base = os.path.basename(self.path)
        return base[:-4] if base.endswith(".cfg") else base

    def files(self) -> List[FileRef]:
        out = [self.xen, self.device_tree]
        if self.dom0:
            out.append(self.dom0.kernel)
            if self.dom0.ramdisk:
                out.append(self.dom0.ramdisk)
        for d in self.domains:
            out.append(d.kernel)
            if d.ramdisk:
                out.append(d.ramdisk)
        return out


# ---------------------------------------------------------------------------
# Validation

def _file_ref(var: str, value: str, where: Where, base_dir: str, diag: Diag,
              must_exist: bool = True) -> Optional[FileRef]:
    if not value:
        diag.error(where, var, "empty file name")
        return None
    if any(c.isspace() for c in value):
        diag.error(where, var, "file names with spaces are not supported")
        return None
    if not _check_dt_string(value, where, var, diag):
        return None
    path = os.path.normpath(value if os.path.isabs(value) else os.path.join(base_dir, value))
    rel = os.path.relpath(path, base_dir)
    # Inside --dir: keep the relative path (what ImageBuilder's load commands use).
    # Elsewhere: the file is staged under its base name.
    name = rel if not rel.startswith("..") else os.path.basename(path)
    ref = FileRef(var, value, path, name, where)
    if must_exist:
        if not os.path.exists(path):
            diag.error(where, var, "file %s does not exist" % path)
            return None
        if not os.path.isfile(path):
            diag.error(where, var, "%s is not a regular file" % path)
            return None
        if os.path.getsize(path) == 0:
            diag.error(where, var, "file %s is empty" % path)
            return None
    return ref


def _is_arm64_image(path: str) -> bool:
    with open(path, "rb") as f:
        head = f.read(64)
    return len(head) >= 64 and head[56:60] == b"ARM\x64"


def _is_dtb(path: str) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == b"\xd0\x0d\xfe\xed"


def load_config(path: str, base_dir: str, overrides: List[str] = (), lax: bool = False,
                load_cmd: Optional[str] = None, need_load_cmd: bool = True,
                allow_missing_dtb: bool = True) -> Config:
    """Read, check and resolve a configuration.  Raises ConfigError listing every
    problem found.  ``overrides`` are extra ``NAME=value`` / ``NAME[n]=value`` lines
    applied after the file (like ImageBuilder's config being sourced, then -t/-o).

    Each variable family has its own function below, run in this order (the order of
    the messages): the memory window; Xen, the device tree and Xen's command line; the
    u-boot load/boot commands and output names; the domains (one handler per DOMU_*
    variable, :data:`DOMAIN_VARS`); then the checks across domains and of the host
    regions against the memory window."""
    diag = Diag(lax)
    text = _read_config(path)
    if not os.path.isdir(base_dir):
        raise ConfigError(["--dir %s: not a directory" % base_dir])
    v = _Vars(diag, os.path.abspath(base_dir), Where(path))

    assigns = lex_text(text, path, diag)
    for i, ov in enumerate(overrides, 1):
        a = parse_override(ov, Where("--set", i), diag)
        if a is not None:
            assigns.append(a)
    v.collect(assigns)

    ms, me = _memory_window(v)
    xen = _xen_image(v)
    dtb = _device_tree(v, allow_missing_dtb)
    dom0 = _dom0(v)
    v.has_dom0 = dom0 is not None
    xen_cmd = _xen_cmd(v, dom0)
    load = _load_cmd(v, load_cmd, need_load_cmd)
    outputs = _output_names(v)
    boot_cmd = _boot_cmd(v)
    v.num_domus = _num_domus(v)
    domains = _domains(v) if v.num_domus is not None else []
    _check_cross_domain(domains, v.arrays, diag)
    evtchns_draft = _static_evtchns_draft(v)
    if ms is not None and me is not None:
        _check_host_regions(v, domains, ms, me)

    diag.check()
    ce = v.scalar("CHOSEN_EXTRA_DTS")
    cfg = Config(path=os.path.abspath(path), dir=v.base_dir, memory_start=ms, memory_end=me,
                 xen=xen, xen_cmd=xen_cmd, device_tree=dtb, domains=domains,
                 load_cmd=load, uboot_source=outputs["UBOOT_SOURCE"],
                 uboot_script=outputs["UBOOT_SCRIPT"], boot_cmd=boot_cmd,
                 warnings=diag.warnings, lax=lax, evtchns_draft=evtchns_draft,
                 chosen_extra_dts=ce.value if ce is not None and ce.value else None,
                 dom0=dom0)
    cfg.where = {k: a.where for k, a in v.scalars.items()}
    for entries in v.arrays.values():
        for e in entries.values():
            cfg.where[e.label] = e.where
    return cfg


def _read_config(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except OSError as e:
        raise ConfigError(["%s: cannot read config: %s" % (path, e.strerror)])
    except UnicodeDecodeError:
        raise ConfigError(["%s: config is not UTF-8 text" % path])


class _Vars:
    """One config's assignments by variable (the last one wins, as in bash), and what
    every variable's check needs: the diagnostics, --dir, the config's own location."""

    def __init__(self, diag: Diag, base_dir: str, cfg_where: Where):
        self.diag = diag
        self.base_dir = base_dir
        self.cfg_where = cfg_where
        self.scalars: Dict[str, Assign] = {}
        self.arrays: Dict[str, Dict[int, Assign]] = {}
        self.num_domus: Optional[int] = None
        self.has_dom0 = False

    def collect(self, assigns: List[Assign]):
        """File each assignment under its variable; refuse unknown ones and the wrong
        shape (an index on a scalar, none on an array)."""
        diag = self.diag
        for a in assigns:
            if a.name in SCALAR_VARS:
                if a.index is not None:
                    diag.error(a.where, a.label, "%s is not an array" % a.name)
                    continue
                self.scalars[a.name] = a
            elif a.name in ARRAY_VARS:
                if a.index is None:
                    diag.error(a.where, a.name, "%s is an array: write %s[n]=..."
                               % (a.name, a.name))
                    continue
                self.arrays.setdefault(a.name, {})[a.index] = a
            elif a.name in IMAGEBUILDER_ONLY:
                diag.error(a.where, a.label, "unsupported variable %s (an ImageBuilder "
                           "variable this tool does not implement; see docs/imagebuilder.md)"
                           % a.name)
            else:
                diag.error(a.where, a.label, "unsupported variable %s (not an ImageBuilder "
                           "variable this tool knows)" % a.name)

    def scalar(self, name: str) -> Optional[Assign]:
        return self.scalars.get(name)

    def arr(self, name: str, i: int) -> Optional[Assign]:
        return self.arrays.get(name, {}).get(i)

    def num(self, a: Assign, minimum: int = 0) -> Optional[int]:
        v = parse_int(a.value)
        if v is None:
            self.diag.error(a.where, a.label, "not a number: %r" % a.value)
            return None
        if v < minimum:
            self.diag.error(a.where, a.label, "must be at least %d (got %r)"
                            % (minimum, a.value))
            return None
        return v


# ---------------------------------------------------------------------------
# Xen, memory, device tree, u-boot

def _memory_window(v: _Vars) -> Tuple[Optional[int], Optional[int]]:
    """MEMORY_START, MEMORY_END: where ImageBuilder may place the images."""
    mem = {}
    for name in ("MEMORY_START", "MEMORY_END"):
        a = v.scalar(name)
        if a is None:
            v.diag.error(v.cfg_where, name, "not set (ImageBuilder needs it to place the "
                         "images)")
            mem[name] = None
        else:
            mem[name] = v.num(a)
    ms, me = mem["MEMORY_START"], mem["MEMORY_END"]
    if ms is not None and me is not None and me <= ms:
        v.diag.error(v.scalar("MEMORY_END").where, "MEMORY_END",
                     "0x%x is not above MEMORY_START 0x%x" % (me, ms))
    if ms is not None and ms % PAGE:
        v.diag.error(v.scalar("MEMORY_START").where, "MEMORY_START", "not 4 KiB aligned")
    return ms, me


def _xen_image(v: _Vars) -> Optional[FileRef]:
    a = v.scalar("XEN")
    if a is None:
        v.diag.error(v.cfg_where, "XEN", "not set (this tool only boots Xen; ImageBuilder's "
                     "LINUX mode is not supported)")
        return None
    xen = _file_ref("XEN", a.value, a.where, v.base_dir, v.diag)
    if xen and not _is_arm64_image(xen.path):
        v.diag.error(a.where, "XEN", "%s is not an arm64 Image (no 'ARM\\x64' magic at "
                     "offset 0x38): use the 'xen' binary, not xen-syms" % xen.path)
        return None
    return xen


def _device_tree(v: _Vars, allow_missing: bool) -> Optional[FileRef]:
    a = v.scalar("DEVICE_TREE")
    if a is None:
        v.diag.error(v.cfg_where, "DEVICE_TREE", "not set")
        return None
    dtb = _file_ref("DEVICE_TREE", a.value, a.where, v.base_dir, v.diag,
                    must_exist=not allow_missing)
    if dtb and dtb.exists and not _is_dtb(dtb.path):
        v.diag.error(a.where, "DEVICE_TREE", "%s is not a flattened device tree "
                     "(bad magic)" % dtb.path)
        return None
    return dtb


def _xen_cmd(v: _Vars, dom0: Optional[Dom0]) -> str:
    """XEN_CMD, or ImageBuilder's default built from DOM0_MEM/DOM0_VCPUS.  As ImageBuilder,
    DOM0_MEM/DOM0_VCPUS only feed the default: with XEN_CMD set they are an error (write
    dom0_mem=/dom0_max_vcpus= into XEN_CMD instead)."""
    a = v.scalar("XEN_CMD")
    if a is None or a.value == "":
        if dom0 is not None:
            mem = dom0.mem_mib if dom0.mem_mib is not None else DEFAULT_DOM0_MEM_MIB
            vcpus = dom0.vcpus if dom0.vcpus is not None else DEFAULT_DOM0_VCPUS
            cmd = "%s dom0_mem=%dM dom0_max_vcpus=%d %s" % (
                DEFAULT_XEN_CMD_HEAD, mem, vcpus, DEFAULT_XEN_CMD_TAIL)
        else:
            cmd = DEFAULT_XEN_CMD
        v.diag.warn(a.where if a else v.cfg_where, "XEN_CMD", "not set: using ImageBuilder's "
                    "default %r, which prints nothing on QEMU virt" % cmd)
        return cmd
    for name in ("DOM0_MEM", "DOM0_VCPUS"):
        d = v.scalar(name)
        if d is not None and d.value:
            v.diag.error(d.where, name, "XEN_CMD is set: as ImageBuilder, DOM0_MEM and "
                         "DOM0_VCPUS only build the default XEN_CMD; write dom0_mem=/"
                         "dom0_max_vcpus= into XEN_CMD")
    _check_dt_string(a.value, a.where, "XEN_CMD", v.diag)
    if re.search(r"(^|\s)dtuart=serial0(\s|$)", a.value):
        v.diag.warn(a.where, "XEN_CMD", "dtuart=serial0 prints nothing on QEMU virt "
                    "(its DTB has no /aliases): use console=dtuart alone")
    return a.value


def _dom0(v: _Vars) -> Optional[Dom0]:
    """DOM0_KERNEL and its companions (ImageBuilder's xen_config()): without DOM0_KERNEL
    every other DOM0_* variable is an error; DOM0_CMD defaults to ImageBuilder's Linux
    console line, and gets " root=/dev/ram0" unless it names a root= (DOM0_ROOTFS, the
    other source of root=, is not supported)."""
    ka = v.scalar("DOM0_KERNEL")
    others = [n for n in ("DOM0_RAMDISK", "DOM0_CMD", "DOM0_MEM", "DOM0_VCPUS")
              if v.scalar(n) is not None and v.scalar(n).value]
    if ka is None or not ka.value:
        for n in others:
            v.diag.error(v.scalar(n).where, n, "set without DOM0_KERNEL (ImageBuilder: "
                         "\"no dom0 specific parameters should be specified\")")
        return None
    kernel = _file_ref("DOM0_KERNEL", ka.value, ka.where, v.base_dir, v.diag)
    if kernel and not _is_arm64_image(kernel.path):
        v.diag.error(ka.where, "DOM0_KERNEL", "%s is not an arm64 Image (no 'ARM\\x64' "
                     "magic at offset 0x38)" % kernel.path)
        kernel = None
    ramdisk = None
    ra = v.scalar("DOM0_RAMDISK")
    if ra is not None and ra.value:
        ramdisk = _file_ref("DOM0_RAMDISK", ra.value, ra.where, v.base_dir, v.diag)
    ca = v.scalar("DOM0_CMD")
    cmd = ca.value if ca is not None and ca.value else DEFAULT_DOM0_CMD
    if ca is not None and ca.value:
        _check_dt_string(ca.value, ca.where, "DOM0_CMD", v.diag)
    if not re.search(r"root=", cmd):
        cmd += " root=/dev/ram0"
    mem = vcpus = None
    ma = v.scalar("DOM0_MEM")
    if ma is not None and ma.value:
        mem = v.num(ma, minimum=1)
    va = v.scalar("DOM0_VCPUS")
    if va is not None and va.value:
        vcpus = v.num(va, minimum=1)
    if kernel is None:
        return None
    return Dom0(kernel=kernel, cmd=cmd, ramdisk=ramdisk, mem_mib=mem, vcpus=vcpus)


def _load_cmd(v: _Vars, load_cmd: Optional[str], need: bool) -> Optional[str]:
    """LOAD_CMD (ImageBuilder's -t shorthands allowed); ``load_cmd`` from the command
    line wins over the config's."""
    lc = v.scalar("LOAD_CMD")
    load = load_cmd if load_cmd is not None else (lc.value if lc else None)
    if load is not None:
        load = LOAD_CMD_ALIASES.get(load, load)
        if not load.strip():
            load = None
        elif lc is not None and load_cmd is None:
            _check_dt_string(load, lc.where, "LOAD_CMD", v.diag)
    if load is None and need:
        v.diag.error(lc.where if lc else v.cfg_where, "LOAD_CMD", "not set (needed for the "
                     "u-boot script; e.g. LOAD_CMD=\"tftpb\")")
    return load


def _output_names(v: _Vars) -> Dict[str, str]:
    """UBOOT_SOURCE, UBOOT_SCRIPT: plain file names in the output folder."""
    outputs = {}
    for name, default in (("UBOOT_SOURCE", "boot.source"), ("UBOOT_SCRIPT", "boot.scr")):
        a = v.scalar(name)
        value = a.value if a else default
        if not re.fullmatch(r"[A-Za-z0-9._+-]+", value) or value in (".", ".."):
            v.diag.error(a.where if a else v.cfg_where, name,
                         "must be a plain file name (got %r)" % value)
            value = default
        outputs[name] = value
    if outputs["UBOOT_SOURCE"] == outputs["UBOOT_SCRIPT"]:
        v.diag.error(v.cfg_where, "UBOOT_SCRIPT", "same file name as UBOOT_SOURCE")
    return outputs


def _boot_cmd(v: _Vars) -> str:
    a = v.scalar("BOOT_CMD")
    boot_cmd = a.value if a and a.value else "booti"
    if boot_cmd not in BOOT_CMDS:
        v.diag.error(a.where, "BOOT_CMD", "unsupported value %r (one of: %s)"
                     % (boot_cmd, ", ".join(BOOT_CMDS)))
    return boot_cmd


# ---------------------------------------------------------------------------
# Domains

# Dom0less domUs get domids from 1 up; Xen's own domids start at DOMID_FIRST_RESERVED.
MAX_DOMUS = 0x7FF0 - 1


def _num_domus(v: _Vars) -> Optional[int]:
    a = v.scalar("NUM_DOMUS")
    if a is None:
        if v.has_dom0:
            return 0
        v.diag.error(v.cfg_where, "NUM_DOMUS", "not set (needed when there is no "
                     "DOM0_KERNEL)")
        return None
    num_domus = v.num(a)
    if num_domus is not None and num_domus > MAX_DOMUS:
        v.diag.error(a.where, "NUM_DOMUS", "%d is more than Xen can create: domUs take "
                     "domids 1..%d (DOMID_FIRST_RESERVED is 0x7FF0)" % (num_domus, MAX_DOMUS))
        return None
    if num_domus == 0 and not v.has_dom0:
        v.diag.error(a.where, "NUM_DOMUS", "must be at least 1 without DOM0_KERNEL: "
                     "Xen 4.17 with no dom0 and no domU has nothing to run")
        return None
    return num_domus


def _domains(v: _Vars) -> List[Domain]:
    """Every domU 0..NUM_DOMUS-1: array indices in range, a kernel each, then each
    domain's variables."""
    n = v.num_domus
    for _, entries in sorted(v.arrays.items()):
        for idx, e in sorted(entries.items()):
            if idx >= n:
                v.diag.error(e.where, e.label, "index %d is not below NUM_DOMUS=%d"
                             % (idx, n))
    kernels = v.arrays.get("DOMU_KERNEL", {})
    for i in range(n):
        if i not in kernels:
            v.diag.error(v.scalar("NUM_DOMUS").where, "DOMU_KERNEL[%d]" % i,
                         "not set but NUM_DOMUS=%d needs it" % n)
    domains = []
    for i in range(n):
        d = _domain(v, i)
        if d is not None:
            domains.append(d)
    return domains


def _domain(v: _Vars, i: int) -> Optional[Domain]:
    ka = v.arr("DOMU_KERNEL", i)
    if ka is None:
        return None
    kernel = _file_ref(ka.label, ka.value, ka.where, v.base_dir, v.diag)
    d = Domain(index=i, kernel=kernel, mem_mib=DEFAULT_DOMU_MEM_MIB,
               vcpus=DEFAULT_DOMU_VCPUS, cmd=DEFAULT_DOMU_CMD)
    if v.has_dom0:
        # ImageBuilder: with a dom0, every domU is "enabled" unless DOMU_ENHANCED says 0.
        d.enhanced = "enabled"
    for name, handler, if_empty in DOMAIN_VARS:
        e = v.arr(name, i)
        if e is not None and (e.value or if_empty):
            handler(v, d, e)
    return d


# One handler per DOMU_* variable: handler(vars, domain, assignment) checks the value and
# sets the domain's field.

def _domu_number(attr: str, minimum: int, bits32: bool = False):
    """A handler for a plain number (at least ``minimum``; optionally a u32)."""
    def handler(v: _Vars, d: Domain, e: Assign):
        n = v.num(e, minimum=minimum)
        if n is not None and bits32 and n > 0xFFFFFFFF:
            v.diag.error(e.where, e.label, "must fit in 32 bits (got %r)" % e.value)
        elif n is not None:
            setattr(d, attr, n)
    return handler


def _domu_cmd(v: _Vars, d: Domain, e: Assign):
    if _check_dt_string(e.value, e.where, e.label, v.diag):
        d.cmd = e.value


def _domu_ramdisk(v: _Vars, d: Domain, e: Assign):
    d.ramdisk = _file_ref(e.label, e.value, e.where, v.base_dir, v.diag)


def _domu_enhanced(v: _Vars, d: Domain, e: Assign):
    # ImageBuilder: 1 -> "enabled", 2 -> "no-xenstore", 0 -> nothing.  The property
    # strings themselves are accepted too.
    value = {"0": None, "1": "enabled", "2": "no-xenstore",
             "enabled": "enabled", "no-xenstore": "no-xenstore"}.get(e.value, "?")
    if value == "?":
        v.diag.error(e.where, e.label, "must be 0, 1, 2, \"enabled\" or "
                     "\"no-xenstore\" (got %r)" % e.value)
        return
    d.enhanced = value
    if value == "enabled" and not v.has_dom0:
        v.diag.xen_rule(e.where, e.label, "xen,enhanced = \"enabled\" needs a "
                        "dom0 running xenstored: Xen 4.17 panics without one; "
                        "use 2 (\"no-xenstore\")")


def _domu_static_mem(v: _Vars, d: Domain, e: Assign):
    """"BASE SIZE ..." banks; they must add up to DOMU_MEM, and imply a direct map."""
    i = d.index
    words = e.value.split()
    vals = [parse_int(w) for w in words]
    if None in vals:
        v.diag.error(e.where, e.label, "not a number: %r" % words[vals.index(None)])
        return
    if not words or len(words) % 2:
        v.diag.error(e.where, e.label, "needs \"BASE SIZE\" pairs (got %d numbers)"
                     % len(words))
        return
    banks = list(zip(vals[0::2], vals[1::2]))
    for base, size in banks:
        if base % PAGE or size % PAGE or size == 0:
            v.diag.error(e.where, e.label, "bank 0x%x+0x%x is not 4 KiB aligned / "
                         "non-empty" % (base, size))
    d.static_mem = banks
    total = sum(s for _, s in banks)
    ma = v.arr("DOMU_MEM", i)
    if total != d.mem_mib * MiB:
        v.diag.xen_rule(ma.where if ma else e.where, "DOMU_MEM[%d]" % i,
                        "is %d MiB but DOMU_STATIC_MEM[%d] totals 0x%x bytes: Xen 4.17 "
                        "refuses a domain whose memory does not match its static banks"
                        % (d.mem_mib, i, total))
    d.direct_map = True      # ImageBuilder's default with static memory


def _domu_direct_map(v: _Vars, d: Domain, e: Assign):
    if e.value not in ("0", "1"):
        v.diag.error(e.where, e.label, "must be 0 or 1 (got %r)" % e.value)
    elif not d.static_mem:
        v.diag.error(e.where, e.label, "only applies with DOMU_STATIC_MEM[%d] "
                     "(ImageBuilder ignores it; we refuse)" % d.index)
    else:
        d.direct_map = e.value == "1"


def _domu_shared_mem(v: _Vars, d: Domain, e: Assign):
    """"SHM-ID HPA GPA SIZE": Xen 4.17's binding, one region per domain."""
    words = e.value.split()
    if len(words) == 3:
        v.diag.error(e.where, e.label, "\"SHM-ID GPA SIZE\" (host address chosen "
                     "by Xen) needs Xen 4.19+: write \"SHM-ID HPA GPA SIZE\"")
        return
    if len(words) != 4:
        v.diag.error(e.where, e.label, "needs \"SHM-ID HPA GPA SIZE\" (got %d "
                     "words; one region per domain)" % len(words))
        return
    shm_id = words[0]
    vals = [parse_int(w) for w in words[1:]]
    if None in vals:
        v.diag.error(e.where, e.label, "not a number: %r" % words[1 + vals.index(None)])
    elif len(shm_id) > MAX_SHM_ID_LEN:
        v.diag.error(e.where, e.label, "SHM-ID %r is longer than %d characters "
                     "(Xen 4.17 MAX_SHM_ID_LENGTH)" % (shm_id, MAX_SHM_ID_LEN))
    elif not _check_dt_string(shm_id, e.where, e.label, v.diag):
        pass
    elif any(x % PAGE for x in vals) or vals[2] == 0:
        v.diag.error(e.where, e.label, "HPA, GPA and SIZE must be 4 KiB "
                     "aligned and SIZE non-zero")
    else:
        d.shared_mem = SharedMem(shm_id, vals[0], vals[1], vals[2], words[1], e.where)


def _domu_static_evtchns(v: _Vars, d: Domain, e: Assign):
    d.evtchns = _parse_evtchns(e, v.num_domus, v.diag)


def _domu_shared_mem_role(v: _Vars, d: Domain, e: Assign):
    if not d.shared_mem and not v.arr("DOMU_SHARED_MEM", d.index):
        v.diag.error(e.where, e.label, "only applies with DOMU_SHARED_MEM[%d]" % d.index)
    elif e.value not in ("owner", "borrower"):
        v.diag.xen_rule(e.where, e.label, "role must be \"owner\" or "
                        "\"borrower\" (got %r)" % e.value)
        if _check_dt_string(e.value, e.where, e.label, v.diag):
            d.shared_mem_role = e.value
    else:
        d.shared_mem_role = e.value


def _domu_shared_mem_draft(v: _Vars, d: Domain, e: Assign):
    d.shared_mem_draft = _parse_shm_draft(e, v.diag)


def _domu_extra_dts(v: _Vars, d: Domain, e: Assign):
    d.extra_dts = e.value


# The DOMU_* variables in the order they are checked (a later handler reads what an earlier
# one set: DOMU_STATIC_MEM the memory size, DOMU_DIRECT_MAP the static banks):
# (variable, handler, also called for an empty value).  DOMU_KERNEL is read first, by
# _domain().
DOMAIN_VARS = (
    ("DOMU_MEM", _domu_number("mem_mib", minimum=1), True),
    ("DOMU_VCPUS", _domu_number("vcpus", minimum=1), True),
    ("DOMU_MAX_EVTCHN_PORT", _domu_number("max_evtchn_port", minimum=1, bits32=True), True),
    ("DOMU_V4V_MAX_RING_PAGES", _domu_number("v4v_max_ring_pages", minimum=0, bits32=True), True),
    ("DOMU_CMD", _domu_cmd, False),
    ("DOMU_RAMDISK", _domu_ramdisk, False),
    ("DOMU_ENHANCED", _domu_enhanced, False),
    ("DOMU_STATIC_MEM", _domu_static_mem, False),
    ("DOMU_DIRECT_MAP", _domu_direct_map, False),
    ("DOMU_SHARED_MEM", _domu_shared_mem, False),
    ("DOMU_STATIC_EVTCHNS", _domu_static_evtchns, False),
    ("DOMU_SHARED_MEM_ROLE", _domu_shared_mem_role, False),
    ("DOMU_SHARED_MEM_DRAFT", _domu_shared_mem_draft, False),
    ("DOMU_EXTRA_DTS", _domu_extra_dts, False),
)


# ---------------------------------------------------------------------------
# Whole-config checks

def _static_evtchns_draft(v: _Vars) -> List[EvtchnDraft]:
    ed = v.scalar("STATIC_EVTCHNS_DRAFT")
    if ed is None or not ed.value or v.num_domus is None:
        return []
    return _parse_evtchns_draft(ed, v.num_domus, v.diag)


def _check_host_regions(v: _Vars, domains: List[Domain], ms: int, me: int):
    """Static memory banks and shared memory lie inside MEMORY_START..MEMORY_END."""
    for d in domains:
        regions = [("DOMU_STATIC_MEM[%d]" % d.index, b, s) for b, s in d.static_mem]
        if d.shared_mem:
            regions.append(("DOMU_SHARED_MEM[%d]" % d.index, d.shared_mem.host,
                            d.shared_mem.size))
        for var, b, s in regions:
            where = v.arrays[var.split("[")[0]][d.index].where
            if b < ms or b + s > me:
                v.diag.xen_rule(where, var, "host region 0x%x-0x%x is outside "
                                "MEMORY_START..MEMORY_END (0x%x-0x%x)" % (b, b + s, ms, me))


def _parse_shm_draft(e: Assign, diag: Diag) -> List[SharedMemDraft]:
    """"SHM-ID HPA GPA SIZE [ROLE]; ...": the draft binding's u32 SHM-ID (decimal or 0x)."""
    out = []
    for part in e.value.split(";"):
        words = part.split()
        if not words:
            continue
        if len(words) not in (4, 5):
            diag.error(e.where, e.label, "malformed region %r: needs \"SHM-ID HPA GPA SIZE "
                       "[ROLE]\"" % part.strip())
            continue
        vals = [parse_int(w) for w in words[:4]]
        if None in vals:
            diag.error(e.where, e.label, "not a number: %r" % words[vals.index(None)])
            continue
        role = words[4] if len(words) == 5 else None
        if vals[0] > 0xffffffff:
            diag.error(e.where, e.label, "SHM-ID %d does not fit in 32 bits" % vals[0])
            continue
        if role is not None and not _check_dt_string(role, e.where, e.label, diag):
            continue
        if role not in (None, "owner", "borrower"):
            diag.xen_rule(e.where, e.label, "role must be owner or borrower (got %r)" % role)
        if any(v % PAGE for v in vals[1:]) or vals[3] == 0:
            diag.xen_rule(e.where, e.label, "HPA, GPA and SIZE must be 4 KiB aligned and "
                          "SIZE non-zero")
        out.append(SharedMemDraft(vals[0], vals[1], vals[2], vals[3], words[1], role, e.where))
    return out


def _parse_evtchns_draft(e: Assign, num_domus: int, diag: Diag) -> List[EvtchnDraft]:
    """"DOMU_A PORT_A DOMU_B PORT_B; ...": one /chosen "xen,evtchn" node each."""
    out = []
    for part in e.value.split(";"):
        words = part.split()
        if not words:
            continue
        if len(words) != 4 or not all(re.fullmatch(r"[0-9]+", w) for w in words):
            diag.error(e.where, e.label, "malformed connection %r: needs \"DOMU_A PORT_A "
                       "DOMU_B PORT_B\" in decimal" % part.strip())
            continue
        a, pa, b, pb = (int(w, 10) for w in words)
        for dom in (a, b):
            if dom >= num_domus:
                diag.error(e.where, e.label, "domain index %d in %r is out of range "
                           "(NUM_DOMUS=%d)" % (dom, part.strip(), num_domus))
        for port in (pa, pb):
            if not 1 <= port <= MAX_EVTCHN_PORT:
                diag.xen_rule(e.where, e.label, "port %d in %r is out of range 1..%d"
                              % (port, part.strip(), MAX_EVTCHN_PORT))
        out.append(EvtchnDraft(a, pa, b, pb, e.where))
    return out


def _parse_evtchns(e: Assign, num_domus: int, diag: Diag) -> List[Evtchn]:
    """"LOCAL_PORT REMOTE_DOMU_INDEX REMOTE_PORT; ..." (ImageBuilder's syntax)."""
    out = []
    for part in e.value.split(";"):
        if not part.strip():
            continue                       # tolerate a trailing ';'
        words = part.split()
        if len(words) != 3:
            diag.error(e.where, e.label, "malformed definition %r: needs \"LOCAL_PORT "
                       "REMOTE_DOMU_INDEX REMOTE_PORT\"" % part.strip())
            continue
        if not all(re.fullmatch(r"[0-9]+", w) for w in words):
            diag.error(e.where, e.label, "malformed definition %r: ports and the domain "
                       "index are decimal numbers" % part.strip())
            continue
        lp, ri, rp = (int(w, 10) for w in words)
        ok = True
        for port in (lp, rp):
            if not 1 <= port <= MAX_EVTCHN_PORT:
                diag.error(e.where, e.label, "port %d in %r is out of range 1..%d"
                           % (port, part.strip(), MAX_EVTCHN_PORT))
                ok = False
        if ri >= num_domus:
            diag.error(e.where, e.label, "remote domain index %d in %r is out of range "
                       "(NUM_DOMUS=%d)" % (ri, part.strip(), num_domus))
            ok = False
        if ri == e.index and rp == lp:
            diag.error(e.where, e.label, "%r connects port %d to itself"
                       % (part.strip(), lp))
            ok = False
        if ok:
            out.append(Evtchn(lp, ri, rp, e.where))
    seen = set()
    for ev in out:
        if ev.local_port in seen:
            diag.error(e.where, e.label, "local port %d is defined twice" % ev.local_port)
        seen.add(ev.local_port)
    return out


def _check_cross_domain(domains: List[Domain], arrays, diag: Diag):
    by_index = {d.index: d for d in domains}
    # Static event channels: each peer endpoint must exist and point back.
    for d in domains:
        for ev in d.evtchns:
            label = "DOMU_STATIC_EVTCHNS[%d]" % d.index
            peer = by_index.get(ev.remote_index)
            if peer is None:
                continue
            back = [p for p in peer.evtchns if p.local_port == ev.remote_port]
            if not back:
                diag.error(ev.where, label, "peer endpoint (domU %d, port %d) is not defined "
                           "in DOMU_STATIC_EVTCHNS[%d]" % (ev.remote_index, ev.remote_port,
                                                           ev.remote_index))
            elif back[0].remote_index != d.index or back[0].remote_port != ev.local_port:
                diag.xen_rule(ev.where, label, "port %d -> (domU %d, port %d), but that "
                              "endpoint points to (domU %d, port %d)"
                              % (ev.local_port, ev.remote_index, ev.remote_port,
                                 back[0].remote_index, back[0].remote_port))
        if d.evtchns and d.enhanced is None:
            diag.warn(d.evtchns[0].where, "DOMU_STATIC_EVTCHNS[%d]" % d.index,
                      "domain has no DOMU_ENHANCED: Xen's booting.txt asks for "
                      "xen,enhanced = \"no-xenstore\" (DOMU_ENHANCED[%d]=2)" % d.index)
    # Static shared memory: one SHM-ID, one host region.
    seen: Dict[str, SharedMem] = {}
    for d in domains:
        s = d.shared_mem
        if s is None:
            continue
        other = seen.get(s.shm_id)
        if other is None:
            for o in seen.values():
                if s.host < o.host + o.size and o.host < s.host + s.size:
                    diag.xen_rule(s.where, "DOMU_SHARED_MEM[%d]" % d.index,
                                  "region %r overlaps region %r" % (s.shm_id, o.shm_id))
            seen[s.shm_id] = s
        elif (other.host, other.size) != (s.host, s.size):
            diag.xen_rule(s.where, "DOMU_SHARED_MEM[%d]" % d.index,
                          "SHM-ID %r was given host region 0x%x+0x%x elsewhere; here "
                          "0x%x+0x%x (Xen requires an exact match)"
                          % (s.shm_id, other.host, other.size, s.host, s.size))
    # Static memory banks must not overlap each other or shared memory.
    banks = []
    for d in domains:
        for b, sz in d.static_mem:
            banks.append(("DOMU_STATIC_MEM[%d]" % d.index, b, sz))
        if d.shared_mem:
            banks.append(("DOMU_SHARED_MEM[%d]" % d.index, d.shared_mem.host,
                          d.shared_mem.size))
    for i, (va, ba, sa) in enumerate(banks):
        for vb, bb, sb in banks[i + 1:]:
            if va.startswith("DOMU_SHARED_MEM") and vb.startswith("DOMU_SHARED_MEM"):
                continue                    # handled above
            if ba < bb + sb and bb < ba + sa:
                name, idx = vb.split("[")
                where = arrays[name][int(idx[:-1])].where
                diag.xen_rule(where, vb, "host region 0x%x+0x%x overlaps %s (0x%x+0x%x)"
                              % (bb, sb, va, ba, sa))
