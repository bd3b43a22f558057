#!/usr/bin/env bash
# Builds the C guest image: build.sh IMAGE OBJDIR (an arm64 Linux Image, objects in OBJDIR).
# Freestanding C against include/v4v.h with the Debian cross compiler (gcc-aarch64-linux-gnu);
# ci/build-guests runs it. Always rebuilds: three small files.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
img=$1
obj=$2
CC=${CC_AARCH64:-aarch64-linux-gnu-gcc}
LD=${LD_AARCH64:-aarch64-linux-gnu-ld}
OBJCOPY=${OBJCOPY:-aarch64-linux-gnu-objcopy}
CFLAGS=(-std=gnu11 -O2 -g -Wall -Wextra -Werror -ffreestanding -nostdlib -fno-pic -fno-pie
        -fno-stack-protector -fno-asynchronous-unwind-tables -mgeneral-regs-only
        -mno-outline-atomics -mcmodel=small)
mkdir -p "$obj"
objs=()
for src in start.S rt.c v4v_ping_pong.c; do
    o=$obj/${src%.*}.o
    "$CC" "${CFLAGS[@]}" -c "$here/$src" -o "$o"
    objs+=("$o")
done
"$LD" -nostdlib -static --no-pie --build-id=none --no-warn-rwx-segments -T "$here/guest.ld" "${objs[@]}" -o "$obj/guest-c.elf"
"$OBJCOPY" -O binary "$obj/guest-c.elf" "$img.tmp"
# The arm64 Image magic "ARM\x64" must sit at offset 0x38, or Xen will not boot it.
magic=$(od -An -tx1 -j56 -N4 "$img.tmp" | tr -d ' \n')
[[ $magic == 41524d64 ]] || { echo "$img: no arm64 Image magic at 0x38 (got '$magic')" >&2; exit 1; }
mv "$img.tmp" "$img"
