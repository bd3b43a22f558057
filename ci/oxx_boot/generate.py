"""Config -> output folder, shared by ci/imagebuilder and ci/boot.

``generate()`` reads the config, stages every image into the output folder (so that
folder is a complete TFTP root / loader source and a snapshot of what was booted),
settles the device tree, builds the one Plan and renders it in the requested mode.
"""

import os
import shutil
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional

from . import machine, render
from .config import Config, ConfigError, Where, load_config
from .machine import MachineSpec, ToolError
from .plan import Plan, build_plan, image_header, effective_size

MODES = ("uboot", "dtb")
# u-boot's distro boot (Debian 12, qemu_arm64) runs "dhcp ${scriptaddr} boot.scr.uimg"
# then "source ${scriptaddr}", and looks for boot.scr.uimg / boot.scr on disks.
DISTRO_SCRIPT = "boot.scr.uimg"


@dataclass
class Generated:
    config: Config
    plan: Plan
    mode: str
    outdir: str
    dtb_note: Optional[str] = None
    files: Dict[str, str] = field(default_factory=dict)     # role -> path written
    qemu_args: List[str] = field(default_factory=list)      # dtb mode: -kernel .. -dtb ..
    notes: List[str] = field(default_factory=list)


def _stage_file(src: str, dst: str):
    if os.path.abspath(src) == os.path.abspath(dst):
        return
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    tmp = dst + ".tmp"
    shutil.copyfile(src, tmp)
    os.replace(tmp, dst)


def _settle_dtb(cfg: Config, outdir: str, spec: Optional[MachineSpec], policy: str):
    """Put the device tree to use at outdir/<DEVICE_TREE>.  policy:
    "config": use the config's file; dump QEMU's only if it does not exist (with
              ``spec``, default machine if None); a file that contradicts an explicit
              ``spec`` is an error.
    "auto":   like "config", but a file that does not match ``spec`` is replaced by a
              fresh dump (what ci/boot does: e.g. -smp 1 for --icount).
    "qemu":   always dump QEMU's DTB for ``spec``."""
    ref = cfg.device_tree
    dst = os.path.join(outdir, ref.name)
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    where = cfg.where.get("DEVICE_TREE", Where(cfg.path))
    use_spec = spec or MachineSpec()
    if policy != "qemu" and ref.exists:
        if spec is not None:
            why = machine.dtb_mismatch(machine.dtb_facts(ref.path), spec)
            if why and policy == "auto":
                machine.dump_dtb(spec, dst)
                return ("%s: DEVICE_TREE: %s has %s: using a fresh QEMU dump for this "
                        "machine instead" % (where, ref.path, why))
            if why:
                raise ConfigError(["%s: DEVICE_TREE: %s does not describe the machine "
                                   "(%s); drop --gic/--smp, fix the file, or pass "
                                   "--qemu-dtb" % (where, ref.path, why)])
        _stage_file(ref.path, dst)
        return None
    machine.dump_dtb(use_spec, dst)
    return ("%s: DEVICE_TREE: %s %s: using QEMU's own DTB (%s)"
            % (where, ref.name, "forced by --qemu-dtb" if policy == "qemu"
               else "is not in --dir", use_spec.describe()))


def generate(config_path: str, base_dir: str, outdir: str, mode: str = "uboot",
             spec: Optional[MachineSpec] = None, dtb_policy: str = "config",
             overrides=(), lax: bool = False, load_cmd: Optional[str] = None,
             config: Optional[Config] = None, extra_xen_cmd: str = "") -> Generated:
    """``extra_xen_cmd``: Xen options the boot adds after the config's XEN_CMD (each one
    only when XEN_CMD does not set it already); the generated files carry them."""
    if mode not in MODES:
        raise ToolError("unknown mode %r (uboot or dtb)" % mode)
    cfg = config or load_config(config_path, base_dir, overrides, lax=lax,
                                load_cmd=load_cmd, need_load_cmd=(mode == "uboot"))
    given = {opt.split("=", 1)[0] for opt in cfg.xen_cmd.split()}
    extra = [opt for opt in extra_xen_cmd.split() if opt.split("=", 1)[0] not in given]
    if extra:
        cfg = replace(cfg, xen_cmd=" ".join([cfg.xen_cmd] + extra))
    if mode == "uboot" and cfg.has_extra_dts:
        raise ConfigError(["%s: DOMU_EXTRA_DTS / CHOSEN_EXTRA_DTS: raw DTS has no u-boot "
                           "form: use --mode dtb" % cfg.path])
    outdir = os.path.abspath(outdir)
    os.makedirs(outdir, exist_ok=True)

    # Stage the images (one copy per distinct file).
    staged: Dict[str, str] = {}
    reserved_names = {cfg.uboot_source, cfg.uboot_script, DISTRO_SCRIPT}
    for ref in cfg.files():
        prev = staged.get(ref.name)
        if prev is not None and prev != ref.path:
            raise ConfigError(["%s: %s: %s would be staged as %s, which already holds %s"
                               % (ref.where, ref.var, ref.path, ref.name, prev)])
        if ref.name in reserved_names:
            raise ConfigError(["%s: %s: file name %s clashes with a generated file"
                               % (ref.where, ref.var, ref.name)])
        staged[ref.name] = ref.path
        if ref is not cfg.device_tree:
            _stage_file(ref.path, os.path.join(outdir, ref.name))

    dtb_note = _settle_dtb(cfg, outdir, spec, dtb_policy)
    dtb_path = os.path.join(outdir, cfg.device_tree.name)
    facts = machine.dtb_facts(dtb_path)

    # The memory window must be RAM according to the device tree.
    if facts.memory and not any(b <= cfg.memory_start and cfg.memory_end <= b + s
                                for b, s in facts.memory):
        banks = ", ".join("0x%x-0x%x" % (b, b + s) for b, s in facts.memory)
        raise ConfigError(["%s: MEMORY_START/MEMORY_END: 0x%x-0x%x is not inside the RAM "
                           "of %s (%s)" % (cfg.where.get("MEMORY_END", Where(cfg.path)),
                                           cfg.memory_start, cfg.memory_end,
                                           cfg.device_tree.name, banks)])

    plan = build_plan(cfg, dtb_path, facts.reserved)
    gen = Generated(cfg, plan, mode, outdir, dtb_note)
    gen.notes += cfg.warnings + plan.warnings
    if dtb_note:
        gen.notes.append(dtb_note)

    if mode == "uboot":
        src = os.path.join(outdir, cfg.uboot_source)
        with open(src, "w") as f:
            f.write(render.uboot_source(plan, facts.has_chosen))
        scr = os.path.join(outdir, cfg.uboot_script)
        machine.run(["mkimage", "-A", "arm64", "-T", "script", "-C", "none",
                     "-a", "0x%X" % plan.script_addr, "-e", "0x%X" % plan.script_addr,
                     "-d", src, scr], "mkimage")
        gen.files.update(source=src, script=scr)
        if cfg.uboot_script != DISTRO_SCRIPT:
            _stage_file(scr, os.path.join(outdir, DISTRO_SCRIPT))
            gen.files["distro_script"] = os.path.join(outdir, DISTRO_SCRIPT)
    else:
        stem = cfg.device_tree.name[:-4] if cfg.device_tree.name.endswith(".dtb") \
            else cfg.device_tree.name
        frag = render.chosen_dts(plan)
        dts = os.path.join(outdir, stem + "-chosen.dts")
        out_dtb = os.path.join(outdir, stem + "-chosen.dtb")
        with open(dts, "w") as f:
            f.write(machine.decompile(dtb_path))
            f.write("\n/* /chosen from %s (ci/imagebuilder, mode dtb) */\n"
                    % os.path.basename(cfg.path))
            f.write(frag)
        machine.run(["dtc", "-q", "-I", "dts", "-O", "dtb", "-o", out_dtb, dts],
                    "compiling " + dts)
        xen_path = os.path.join(outdir, cfg.xen.name)
        gen.files.update(dts=dts, dtb=out_dtb, xen=xen_path)
        gen.qemu_args = ["-kernel", xen_path, "-dtb", out_dtb] + \
            render.loader_args(plan, outdir)
        # QEMU puts Xen and the DTB itself: nothing of ours may sit there.
        hdr = image_header(xen_path)
        text_off = hdr[0] if hdr and hdr[1] else None
        use_spec = spec or MachineSpec()
        for what, base, size in machine.direct_boot_regions(
                use_spec, text_off, effective_size(xen_path)):
            for l in plan.modules():
                if l.addr < base + size and base < l.end:
                    raise ConfigError(["%s: %s: %s at 0x%X-0x%X overlaps %s at 0x%X-0x%X "
                                       "in dtb mode (use --mode uboot, or move "
                                       "MEMORY_START)" % (l.ref.where, l.ref.var, l.role,
                                                          l.addr, l.end, what, base,
                                                          base + size)])
        with open(os.path.join(outdir, "qemu-args"), "w") as f:
            f.write("\n".join(gen.qemu_args) + "\n")
        gen.files["qemu_args"] = os.path.join(outdir, "qemu-args")
    return gen
