"""Boot tooling for dom0less Xen on arm64 under QEMU.

config   -- reads an ImageBuilder-format config file into a validated model
plan     -- places every image in memory and builds the /chosen tree (one model)
render   -- turns a plan into a u-boot script (boot.source) or a DTB + loader args
machine  -- QEMU machine flags, DTB dumps, DTB checks
console  -- boots QEMU and reads the Xen console until every domU reports

The command-line front ends are ci/imagebuilder and ci/boot; ci/imagebuilder-selftest
checks the parser and both renderers.  Standard library only.
"""
