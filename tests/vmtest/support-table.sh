#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# support-table.sh - the kernel support table, from the probe results of a vmtest run.
#
#   tests/vmtest/support-table.sh OUT_DIR KERNEL...
#
# Reads OUT_DIR/<kernel>.probe.json (`bindguard probe --format json` in each guest),
# OUT_DIR/<kernel>.result (suites run, suites expected, failed, seconds) and the host's
# OUT_DIR/host.probe.json, and prints a Markdown table: one row per feature, one column per
# kernel. Nothing in it is written by hand: `make vmtest` copies it into docs/kernels.md and
# the README.
set -eu

out=$1
shift

# Debian release that ships each series, for the column heads.
distro() {
	case $1 in
	5.10) echo "Debian 11" ;;
	6.1) echo "Debian 12" ;;
	6.12) echo "Debian 13" ;;
	*) echo "" ;;
	esac
}

# "name state" and "name needs" lines of one probe file.
field() {
	tr '{' '\n' <"$1" | sed -n "s/^\"name\":\"\\([a-z_]*\\)\".*\"$2\":\"\\([^\"]*\\)\".*/\\1 \\2/p"
}

cols=""
for k in "$@"; do
	[ -f "$out/$k.probe.json" ] && cols="$cols $k"
done
[ -f "$out/host.probe.json" ] && cols="$cols host"
first=""
for c in $cols; do
	first=$c
	break
done
[ -n "$first" ] || { echo "support-table: no probe results in $out" >&2; exit 1; }

head="| feature | needs |"
rule="|---|---|"
for c in $cols; do
	if [ "$c" = host ]; then
		head="$head $(cat "$out/host.release" 2>/dev/null | cut -d- -f1) (this host) |"
	else
		head="$head $c ($(distro "$c")) |"
	fi
	rule="$rule---|"
done
echo "$head"
echo "$rule"
field "$out/$first.probe.json" needs | while read -r name needs; do
	row="| \`$name\` | $needs |"
	for c in $cols; do
		st=$(field "$out/$c.probe.json" state | sed -n "s/^$name //p")
		row="$row ${st:-?} |"
	done
	echo "$row"
done
row="| integration suites | |"
for c in $cols; do
	if [ "$c" = host ]; then
		row="$row run by \`make test\` |"
	elif [ -f "$out/$c.result" ]; then
		read -r seen n kfail secs <"$out/$c.result"
		if [ "$kfail" = 0 ]; then
			row="$row $seen/$n passed |"
		else
			row="$row FAILED |"
		fi
	else
		row="$row not run |"
	fi
done
echo "$row"
echo
echo "Kernels: $(for c in $cols; do
	[ "$c" = host ] && continue
	printf '%s = `%s`; ' "$c" "$(cat "$out/kernels/$c/package" 2>/dev/null || echo '?')"
done)generated $(date -u +%Y-%m-%d) by \`make vmtest\`."
