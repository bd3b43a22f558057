"""Boot tooling for dom0less Xen on arm64 under QEMU.

config     -- reads an ImageBuilder-format config file into a validated model
plan       -- places every image in memory and builds the /chosen tree (one model)
render     -- turns a plan into a u-boot script (boot.source) or a DTB + loader args
generate   -- config -> output folder (stages the images, settles the DTB, renders)
machine    -- QEMU machine flags, DTB dumps, DTB checks
fdt        -- the one device tree reader (libfdt's Python binding, python3-libfdt)
boot       -- boots QEMU and reads the Xen console until every domU reports
directives -- the `#@` lines of suite configs, for ci/test and ci/bench

The command-line front ends are ci/imagebuilder and ci/boot; ci/imagebuilder-selftest
checks the parser and both renderers.  Standard library and pylibfdt; run with Debian's
/usr/bin/python3, where python3-libfdt installs.
"""
