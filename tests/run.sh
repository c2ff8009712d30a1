#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Run every test binary under BUILD/tests, timing each, and print one summary line.
#
#   tests/run.sh [--unit-only] BUILD
#
# test_*  : cmocka unit tests, no root.
# itest_* : integration tests; they need root, BPF and cgroup v2 and exit 77 (skip) without them.
# Under CI=true a skipped integration test counts as a failure: CI runs as root on a machine
# that has everything, so a skip there would hide a broken suite.
#
# Each program gets BG_TEST_TIMEOUT seconds (default 600). One still running then is sent
# SIGTERM (the sandbox tears down on it), SIGKILL 30 s later, and counts as failed. Every
# program's duration is printed after it, and again, slowest first, before the summary.
set -u

unit_only=0
if [ "${1:-}" = "--unit-only" ]; then
	unit_only=1
	shift
fi
build=${1:-build}
bin=$(cd "$(dirname "$0")/.." && pwd)/$build/bindguard
export BINDGUARD="${BINDGUARD:-$bin}"

limit=${BG_TEST_TIMEOUT:-600}
case $limit in
'' | *[!0-9]* | 0)
	echo "tests/run.sh: BG_TEST_TIMEOUT must be a whole number of seconds > 0, not '$limit'" >&2
	exit 2
	;;
esac
if ! command -v timeout >/dev/null; then
	echo "tests/run.sh: timeout(1) from coreutils is missing" >&2
	exit 2
fi

passed=0
failed=0
skipped=0
failures=""
times=""
child=""

# Milliseconds; whole seconds where date(1) has no %N (busybox in the vmtest guest).
now_ms() {
	t=$(date +%s%N)
	case $t in
	*N) echo $((${t%?N} * 1000)) ;;
	*) echo $((t / 1000000)) ;;
	esac
}

# Ctrl-C or SIGTERM reaches the test through timeout(1), which runs it in its own process
# group: stop it (so that its sandbox is torn down), then give up.
on_signal() {
	if [ -n "$child" ]; then
		kill -TERM "$child" 2>/dev/null
		wait "$child"
	fi
	echo "tests/run.sh: interrupted"
	exit 130
}
trap on_signal INT TERM

run_one() {
	t=$1
	name=${t##*/}
	echo "=== $name"
	start=$(now_ms)
	timeout -k 30 "$limit" "$t" &
	child=$!
	wait "$child"
	rc=$?
	child=""
	ms=$(($(now_ms) - start))
	secs=$(printf '%d.%02d' $((ms / 1000)) $((ms % 1000 / 10)))
	times="$times$ms $name
"
	case $rc in
	0)
		echo "--- $name passed in $secs s"
		passed=$((passed + 1))
		;;
	77)
		if [ "${CI:-}" = "true" ]; then
			echo "--- $name skipped under CI=true after $secs s: counted as a failure"
			failed=$((failed + 1))
			failures="$failures $name"
		else
			echo "--- $name skipped after $secs s"
			skipped=$((skipped + 1))
		fi
		;;
	124 | 137)
		# timeout(1): 124 when the program died of the SIGTERM, 137 when SIGKILL was needed
		# (137 is also a program killed by SIGKILL on its own: the time tells them apart).
		if [ $ms -lt $((limit * 1000)) ]; then
			echo "--- $name FAILED (exit $rc) after $secs s"
			failed=$((failed + 1))
			failures="$failures $name"
			return
		fi
		echo "--- $name TIMED OUT: still running after $limit s (BG_TEST_TIMEOUT), killed" \
			"after $secs s; counted as failed"
		failed=$((failed + 1))
		failures="$failures $name(timeout)"
		;;
	*)
		echo "--- $name FAILED (exit $rc) after $secs s"
		failed=$((failed + 1))
		failures="$failures $name"
		;;
	esac
}

for t in "$build"/tests/test_*; do
	[ -x "$t" ] || continue
	run_one "$t"
done
if [ $unit_only -eq 0 ]; then
	for t in "$build"/tests/itest_*; do
		[ -x "$t" ] || continue
		run_one "$t"
	done
fi

echo
echo "durations, slowest first:"
printf '%s' "$times" | sort -rn | while read -r ms name; do
	printf '  %-24s %6d.%02d s\n' "$name" $((ms / 1000)) $((ms % 1000 / 10))
done
[ -n "$failures" ] && echo "failed:$failures"
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
