#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# update-docs.sh - put the last vmtest run's support table (BUILD/vmtest/support.md) into
# docs/kernels.md and into the README between its kernel-support markers. Run by `make vmtest`.
set -eu

table=$1
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
[ -s "$table" ] || { echo "update-docs: $table is empty: no vmtest results" >&2; exit 1; }

{
	cat <<'HEAD'
# Kernel support

What `bindguard probe` found on each kernel in the last `make vmtest` run (Debian's own cloud
kernels booted under qemu, plus the machine that ran it), and whether the integration suites
passed there. **on**: used. **fallback**: the kernel lacks it and bindguard does the same
another way (same events, same enforcement). **off**: lost on that kernel, as the feature's
row in `bindguard probe` says. Generated: do not edit by hand.

HEAD
	cat "$table"
} >"$src/docs/kernels.md"

readme=$src/README.md
if grep -q '<!-- kernel-support:begin -->' "$readme"; then
	awk -v table="$table" '
		/<!-- kernel-support:begin -->/ { print; while ((getline l < table) > 0) print l; skip = 1; next }
		/<!-- kernel-support:end -->/ { skip = 0 }
		!skip { print }
	' "$readme" >"$readme.tmp" && mv "$readme.tmp" "$readme"
fi
echo "update-docs: docs/kernels.md and the README's kernel table updated"
