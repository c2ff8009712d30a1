#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# vmtest.sh - run bindguard's integration suites on Debian's own kernels under qemu.
#
#   tests/vmtest/vmtest.sh BUILD [KERNEL...]        (default kernels: 5.10 6.1 6.12)
#
# For each kernel: fetch Debian's cloud kernel package (kernels.sh: apt-get download + dpkg -x,
# never installed), pack bindguard and the tests into an initramfs (mkinitramfs.sh), boot it with
# qemu-system-x86_64 (TCG: there is no KVM here), and read the results off the serial console.
# Inside the guest everything runs as root in the tests' own sandbox cgroup and netns.
#
# Prints one line per kernel and suite. A kernel whose package cannot be downloaded is skipped
# with the reason; a kernel that boots and fails (a suite fails, the guest hangs or crashes,
# `bindguard probe` says something the kernel's facts contradict) fails the run. The console
# log of every kernel is kept in BUILD/vmtest/<kernel>.log and named on failure.
#
# Environment:
#   VMTEST_TIMEOUT  seconds one guest may run (default 1500)
#   VMTEST_MEM      guest memory (default 2G)
#   VMTEST_CMD      a shell command run in the guest instead of the suites (for investigating)
#   VMTEST_CACHE    where kernels are kept between runs (default BUILD/vmtest/kernels)
set -u

build=${1:?usage: vmtest.sh BUILD [KERNEL...]}
shift
kernels=${*:-5.10 6.1 6.12}
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$build" && pwd)
out=$build/vmtest
cache=${VMTEST_CACHE:-$out/kernels}
timeout_s=${VMTEST_TIMEOUT:-1500}
mkdir -p "$out" "$cache"

qemu=$(command -v qemu-system-x86_64 || true)
if [ -z "$qemu" ]; then
	echo "vmtest: qemu-system-x86_64 is missing (Debian package qemu-system-x86; make deps installs it)" >&2
	exit 1
fi
for f in "$build/bindguard"; do
	[ -x "$f" ] || { echo "vmtest: $f is missing: build first" >&2; exit 1; }
done

failed=""
passed_k=0
skipped_k=0
t_all=$(date +%s)

# Check the guest's `bindguard probe --format json` against the kernel's facts (expected.tsv).
check_probe() {
	k=$1
	log=$2
	json=$(sed -n 's/^VMTEST-PROBE //p' "$log" | tr -d '\r' | head -n 1)
	if [ -z "$json" ]; then
		echo "vmtest: $k probe       FAIL (no probe output)"
		return 1
	fi
	printf '%s\n' "$json" >"$out/$k.probe.json"
	rc=0
	while IFS='	' read -r kk feat want; do
		case $kk in '#'* | '') continue ;; esac
		[ "$kk" = "$k" ] || continue
		got=$(printf '%s\n' "$json" | tr '{' '\n' | grep "\"name\":\"$feat\"" |
			sed -n 's/.*"state":"\([a-z-]*\)".*/\1/p' | head -n 1)
		if [ "$got" != "$want" ]; then
			echo "vmtest: $k probe       FAIL ($feat: probe says '${got:-nothing}', the kernel's facts say '$want')"
			rc=1
		fi
	done <"$here/expected.tsv"
	[ $rc -eq 0 ] && echo "vmtest: $k probe       ok (every feature as the kernel's facts say)"
	return $rc
}

for k in $kernels; do
	t0=$(date +%s)
	log=$out/$k.log
	rm -f "$log" "$out/$k.result" "$out/$k.probe.json"
	kroot=$("$here/kernels.sh" "$cache" "$k" 2>"$out/$k.fetch.err")
	rc=$?
	if [ $rc -eq 3 ]; then
		echo "vmtest: $k SKIPPED: $(cat "$out/$k.fetch.err")"
		skipped_k=$((skipped_k + 1))
		continue
	elif [ $rc -ne 0 ]; then
		echo "vmtest: $k FAILED to fetch: $(cat "$out/$k.fetch.err")"
		failed="$failed $k"
		continue
	fi
	vmlinuz=$(ls "$kroot"/boot/vmlinuz-* | head -n 1)
	initrd=$out/$k.initramfs.gz
	if [ -n "${VMTEST_CMD:-}" ]; then
		cmdf=$(mktemp)
		printf '#!/bin/sh\n%s\n' "$VMTEST_CMD" >"$cmdf"
		chmod 755 "$cmdf"
		export VMTEST_CMD_FILE=$cmdf
	fi
	if ! "$here/mkinitramfs.sh" "$kroot" "$build" "$initrd" 2>"$out/$k.initramfs.err"; then
		echo "vmtest: $k FAILED to build the initramfs: $(cat "$out/$k.initramfs.err")"
		failed="$failed $k"
		continue
	fi
	echo "vmtest: $k booting $(basename "$vmlinuz") ($(cat "$cache/$k/package"))"
	timeout --kill-after=10 "$timeout_s" "$qemu" -nodefaults -no-reboot -display none \
		-machine q35 -cpu max -smp 2 -m "${VMTEST_MEM:-2G}" \
		-kernel "$vmlinuz" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 quiet loglevel=4 ${VMTEST_APPEND:-}" \
		-serial "file:$log" -monitor none </dev/null >"$out/$k.qemu.err" 2>&1
	qrc=$?
	[ -n "${VMTEST_CMD:-}" ] && { rm -f "$cmdf"; cat "$log"; continue; }
	secs=$(($(date +%s) - t0))
	kfail=0
	if [ $qrc -eq 124 ] || [ $qrc -eq 137 ]; then
		echo "vmtest: $k TIMEOUT after ${timeout_s}s"
		kfail=1
	elif ! grep -q '^VMTEST-DONE' "$log"; then
		echo "vmtest: $k guest stopped early (qemu exit $qrc; $(cat "$out/$k.qemu.err" | head -n 3))"
		kfail=1
	fi
	check_probe "$k" "$log" || kfail=1
	n=0
	for t in "$build"/tests/itest_*; do
		[ "${t##*/}" = itest_valgrind ] && continue
		n=$((n + 1))
	done
	seen=0
	while read -r _ name rc s; do
		seen=$((seen + 1))
		summary=$(tr -d '\r' <"$log" | sed -n "/^=== $name\$/,/^VMTEST-SUITE $name /p" |
			grep -E '^[a-z_]+: [0-9]+ checks, [0-9]+ failed' | tail -n 1 | sed 's/^[a-z_]*: //')
		if [ "$rc" = 0 ]; then
			printf 'vmtest: %s %-16s ok (%ss; %s)\n' "$k" "$name" "$s" "$summary"
		else
			printf 'vmtest: %s %-16s FAILED (exit %s, %ss; %s)\n' "$k" "$name" "$rc" "$s" "$summary"
			kfail=1
		fi
	done <<EOF
$(grep '^VMTEST-SUITE ' "$log" | tr -d '\r')
EOF
	if [ "$seen" -ne "$n" ]; then
		echo "vmtest: $k ran $seen of $n suites"
		kfail=1
	fi
	echo "$seen $n $kfail $secs" >"$out/$k.result"
	if [ $kfail -ne 0 ]; then
		echo "vmtest: $k FAILED in ${secs}s; console log: $log"
		failed="$failed $k"
	else
		echo "vmtest: $k passed in ${secs}s"
		passed_k=$((passed_k + 1))
	fi
done

# This host's kernel joins the table (its suites are the ones `make test` runs directly).
if [ "$(id -u)" -eq 0 ]; then
	"$build/bindguard" probe --format json >"$out/host.probe.json" 2>/dev/null || true
	uname -r >"$out/host.release"
fi
"$here/support-table.sh" "$out" $kernels >"$out/support.md" || echo "vmtest: cannot write the support table"
echo "vmtest: $passed_k kernels passed, $(echo $failed | wc -w) failed, $skipped_k skipped in $(($(date +%s) - t_all))s"
[ -z "$failed" ] || { echo "vmtest: failed:$failed"; exit 1; }
exit 0
