#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Run every test binary under BUILD/tests and print one summary line.
#
#   tests/run.sh [--unit-only] BUILD
#
# test_*  : cmocka unit tests, no root.
# itest_* : integration tests; they need root, BPF and cgroup v2 and exit 77 (skip) without them.
# Under CI=true a skipped integration test counts as a failure: CI runs as root on a machine
# that has everything, so a skip there would hide a broken suite.
set -u

unit_only=0
if [ "${1:-}" = "--unit-only" ]; then
	unit_only=1
	shift
fi
build=${1:-build}
bin=$(cd "$(dirname "$0")/.." && pwd)/$build/bindguard
export BINDGUARD="${BINDGUARD:-$bin}"

passed=0
failed=0
skipped=0
failures=""

run_one() {
	t=$1
	name=${t##*/}
	echo "=== $name"
	"$t"
	rc=$?
	case $rc in
	0) passed=$((passed + 1)) ;;
	77)
		if [ "${CI:-}" = "true" ]; then
			echo "--- $name skipped under CI=true: counted as a failure"
			failed=$((failed + 1))
			failures="$failures $name"
		else
			skipped=$((skipped + 1))
		fi
		;;
	*)
		echo "--- $name FAILED (exit $rc)"
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
[ -n "$failures" ] && echo "failed:$failures"
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
