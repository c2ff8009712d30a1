#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# Runs inside the vmtest guest, as root, right after /init set the machine up. Prints marker
# lines that tests/vmtest/vmtest.sh reads from the console:
#   VMTEST-KERNEL <release>
#   VMTEST-PROBE <one line of `bindguard probe --format json`>
#   VMTEST-SUITE <name> <exit code> <seconds>
#   VMTEST-DONE
# The integration suites run with CI=true, so a suite that skips itself as a whole fails; the
# cases a suite skips inside (a feature this kernel lacks) are its own to report.
cd /bg || exit 1
export CI=true BINDGUARD=/bg/build/bindguard HOME=/root TMPDIR=/tmp
echo "VMTEST-KERNEL $(uname -r)"
if [ -x /bg/cmd ]; then
	# A one-off command (VMTEST_CMD on the host), for investigating a kernel by hand.
	/bg/cmd
	echo "VMTEST-DONE"
	exit 0
fi
"$BINDGUARD" --version
probe=$("$BINDGUARD" probe --format json 2>/tmp/probe.err)
echo "probe exit $?"
cat /tmp/probe.err
echo "$probe" | sed 's/^/VMTEST-PROBE /'
"$BINDGUARD" probe 2>&1
for t in build/tests/itest_*; do
	name=${t##*/}
	case " ${VMTEST_SKIP_SUITES:-itest_valgrind} " in *" $name "*) continue ;; esac
	echo "=== $name"
	start=$(date +%s)
	"$t"
	rc=$?
	echo "VMTEST-SUITE $name $rc $(($(date +%s) - start))"
done
echo "VMTEST-DONE"
