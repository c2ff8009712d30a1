#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Regenerate vmlinux-gen/<arch>/vmlinux.h from a kernel's BTF.
#
#   vmlinux-gen/gen.sh [BTF_FILE] [ARCH]
#
# BTF_FILE defaults to /sys/kernel/btf/vmlinux, ARCH to the bpf arch of this machine (x86, arm64,
# ...). The committed header is replaced only when the new content differs, so an unchanged
# kernel does not touch the file's timestamp and trigger a rebuild.
set -eu

btf=${1:-/sys/kernel/btf/vmlinux}
arch=${2:-$(uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' -e 's/ppc64le/powerpc/' \
	-e 's/s390x/s390/' -e 's/riscv64/riscv/' -e 's/loongarch64/loongarch/')}
bpftool=${BPFTOOL:-bpftool}
here=$(cd "$(dirname "$0")" && pwd)
dst="$here/$arch/vmlinux.h"

if [ ! -r "$btf" ]; then
	echo "vmlinux-gen: cannot read BTF at $btf (kernel built without CONFIG_DEBUG_INFO_BTF?)" >&2
	exit 1
fi
command -v "$bpftool" >/dev/null 2>&1 || { echo "vmlinux-gen: bpftool not found (run 'make deps')" >&2; exit 1; }

mkdir -p "$here/$arch"
tmp=$(mktemp "$here/$arch/.vmlinux.h.XXXXXX")
trap 'rm -f "$tmp"' EXIT
"$bpftool" btf dump file "$btf" format c >"$tmp"
if [ -f "$dst" ] && cmp -s "$tmp" "$dst"; then
	echo "vmlinux-gen: $dst unchanged"
	exit 0
fi
mv "$tmp" "$dst"
trap - EXIT
echo "vmlinux-gen: wrote $dst"
