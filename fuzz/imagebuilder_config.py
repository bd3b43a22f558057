#!/usr/bin/python3
"""Host fuzz target: the ImageBuilder config reader ci/oxx_boot/config.py
(`load_config`: lexing, every variable's checks, file resolution) on arbitrary bytes, with
atheris (libFuzzer for Python). A config it cannot accept must raise ConfigError naming the
problem; any other exception is a finding. Run through ci/fuzz (which installs atheris into
.work/tools/py); the seeds are real configs in fuzz/corpus/imagebuilder_config/.
"""
import os
import sys
import tempfile

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "ci"))

import atheris  # noqa: E402

with atheris.instrument_imports():
    from oxx_boot import config  # noqa: E402

WORKDIR = tempfile.mkdtemp(prefix="oxx-fuzz-cfg-")
CFG = os.path.join(WORKDIR, "fuzz.cfg")
# Files the seeds name, so that resolution goes past "missing" (an Image with the arm64
# magic at 0x38, a DTB with its magic, a plain Xen file).
with open(os.path.join(WORKDIR, "guest-tests.Image"), "wb") as f:
    f.write(b"\0" * 0x38 + b"ARM\x64" + b"\0" * 8)
with open(os.path.join(WORKDIR, "virt-gicv2.dtb"), "wb") as f:
    f.write(b"\xd0\x0d\xfe\xed" + b"\0" * 60)
with open(os.path.join(WORKDIR, "xen"), "wb") as f:
    f.write(b"\0" * 64)


def one_input(data: bytes):
    fdp = atheris.FuzzedDataProvider(data)
    lax = fdp.ConsumeBool()
    overrides = []
    if fdp.ConsumeBool():
        overrides.append(fdp.ConsumeUnicodeNoSurrogates(40))
    with open(CFG, "wb") as f:
        f.write(fdp.ConsumeBytes(fdp.remaining_bytes()))
    try:
        config.load_config(CFG, WORKDIR, overrides=overrides, lax=lax)
    except config.ConfigError as e:
        str(e)


def main():
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
