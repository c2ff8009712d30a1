#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# e2e.sh - the Kubernetes end-to-end test (make k8s-test): a private containerd with its CRI
# plugin, real pods through CRI, the bindguard agent as a pod from its image. tests/k8s/e2e.py
# has the scenario; this script owns the instance: it starts it, and removes everything it made
# on every path (success, failure, Ctrl-C), then proves that nothing is left.
#
# Needs root, containerd, runc, the CNI plugins, python3-grpcio (make deps), cgroup v2 and BTF;
# exits 77 with the reason when one is missing (a failure under CI=true).
#
# Environment (set by make k8s-test): BINDGUARD_IMAGE(_REF), K8S_PAUSE_IMAGE(_REF),
# K8S_PROBE_IMAGE(_REF). Optional: K8S_EXPECT (features declared done, see e2e.py),
# K8S_AGENT_CGROUP=kubepods, K8S_E2E_FAULT=abort|kill-containerd, K8S_KEEP=1 (leave the
# instance running for a look; `tests/k8s/cluster.sh stop DIR` removes it),
# K8S_RECORD_SAMPLES=DIR.
set -u
here=$(cd "$(dirname "$0")" && pwd)
t0=$(date +%s.%N)

# Under CI=true a skip is a failure, as in tests/run.sh: CI has everything, so a skip would hide
# a broken test.
skip() {
	if [ "${CI:-}" = "true" ]; then
		echo "k8s-e2e: FAIL: $* (a skip counts as a failure under CI=true)"
		exit 1
	fi
	echo "k8s-e2e: SKIP: $*"
	exit 77
}

[ "$(id -u)" -eq 0 ] || skip "needs root"
for b in containerd runc ctr unshare /usr/lib/cni/ptp /usr/lib/cni/host-local /usr/bin/python3; do
	command -v "$b" >/dev/null || skip "missing $b (make deps)"
done
/usr/bin/python3 -c 'import grpc, grpc_tools' 2>/dev/null || skip "missing python3-grpcio/-grpc-tools"
awk '$3 == "cgroup2" { f = 1 } END { exit !f }' /proc/self/mounts || skip "no cgroup v2 hierarchy"
[ -r /sys/kernel/btf/vmlinux ] || skip "no kernel BTF"
for v in BINDGUARD_IMAGE BINDGUARD_IMAGE_REF K8S_PAUSE_IMAGE K8S_PAUSE_REF K8S_PROBE_IMAGE K8S_PROBE_REF; do
	[ -n "${!v:-}" ] || skip "$v is not set (run it with make k8s-test)"
done

dir=$(mktemp -d /tmp/bindguard-k8s.XXXXXX) || exit 1
rc=1
finish() {
	local left=0
	trap - EXIT INT TERM
	if [ "${K8S_KEEP:-0}" = 1 ]; then
		echo "k8s-e2e: K8S_KEEP=1: instance left in $dir (tests/k8s/cluster.sh stop $dir)"
		exit $rc
	fi
	"$here/cluster.sh" stop "$dir" || left=1
	if [ $left -ne 0 ]; then
		echo "k8s-e2e: FAIL: the run left something behind (listed above)"
		rc=1
	else
		echo "k8s-e2e: clean-up verified: no containerd, shim, mount, netns, cgroup or CNI state left"
	fi
	awk -v t0="$t0" -v t1="$(date +%s.%N)" 'BEGIN { printf "k8s-e2e: total %.1f s\n", t1 - t0 }'
	exit $rc
}
trap finish EXIT
trap 'echo "k8s-e2e: interrupted"; exit 130' INT TERM

"$here/cluster.sh" start "$dir" \
	"$K8S_PAUSE_IMAGE" "$K8S_PROBE_IMAGE" "$BINDGUARD_IMAGE" || exit 1
/usr/bin/python3 "$here/e2e.py" --dir "$dir" ${K8S_RECORD_SAMPLES:+--record-samples "$K8S_RECORD_SAMPLES"}
rc=$?
