#!/bin/bash
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# cluster.sh - a private containerd with its CRI plugin, for the Kubernetes tests. No kubelet and no
# API server: tests/k8s/cri.py talks CRI to it the way a kubelet would.
#
#   cluster.sh start DIR [IMAGE.tar...]   start containerd in DIR (made if missing), import images
#   cluster.sh stop DIR                   remove everything start made; exit 1 if anything is left
#   cluster.sh leftovers DIR              list what would still be left (exit 1 if anything)
#   cluster.sh env DIR                    print the shell variables below for DIR
#
# Everything lives under DIR: config, root, state, sockets, runc state, CNI config and IPAM data.
#   CTRD_SOCK   DIR/containerd.sock       (CRI and containerd API)
#   CTRD_STATE  DIR/state                 (bundles: state/io.containerd.runtime.v2.task/k8s.io/<id>/)
#   CTRD_CGROOT the cgroup under which pods get kubelet-shaped cgroups:
#               /<CGROOT>/kubepods/<qos>/pod<uid>/<container-id> in the cgroup v2 hierarchy and in
#               every v1 hierarchy. It plays the node's root cgroup (a kubelet run with
#               --cgroup-root=/<CGROOT>), so nothing is ever created in, or attached to, the
#               host's own /kubepods or its root.
#
# What containerd 1.6 writes outside DIR, and how stop takes it back:
#   - shim sockets in /run/containerd/s/ (not configurable in 1.6): removed by their hash;
#     /run/containerd itself only if start created it;
#   - CNI result cache in /var/lib/cni/results/ (libcni's default): our network's files only;
#   - the ptp plugin turns on IPv4/IPv6 forwarding: the values seen at start are put back;
#   - cgroups: every directory under /<CGROOT> in every hierarchy.
# Network namespaces live under DIR/state (netns_mounts_under_state_dir), the pods' addresses
# come from a private range that exists only inside those namespaces (no traffic leaves them).
set -u

here=$(cd "$(dirname "$0")" && pwd)
CNI_NET=bindguard-e2e
SUBNET=${K8S_SUBNET:-10.88.77.0/24}
PY=${PYTHON:-/usr/bin/python3}

die() {
	echo "cluster.sh: $*" >&2
	exit 1
}

log() {
	echo "cluster: $*"
}

# Seconds since $1 (a `date +%s.%N`), two decimals.
since() {
	awk -v t0="$1" -v t1="$(date +%s.%N)" 'BEGIN { printf "%.2f", t1 - t0 }'
}

cgroup2_root() {
	awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts
}

# Every cgroup hierarchy: the v2 one and each v1 one (hybrid layout).
cgroup_mounts() {
	awk '$3 == "cgroup2" || $3 == "cgroup" { print $2 }' /proc/self/mounts
}

set_env() {
	DIR=$1
	case $DIR in
	/*) ;;
	*) DIR=$(pwd)/$DIR ;;
	esac
	CTRD_SOCK=$DIR/containerd.sock
	CTRD_STATE=$DIR/state
	CTRD_ROOT=$DIR/root
	if [ -f "$DIR/cgroot" ]; then
		CTRD_CGROOT=$(cat "$DIR/cgroot")
	else
		CTRD_CGROOT=bindguard-e2e-$(basename "$DIR" | sed 's/^bindguard-k8s\.//' | tr -c 'a-zA-Z0-9\n' '-')
	fi
}

write_config() {
	mkdir -p "$DIR/root" "$DIR/state" "$DIR/runc" "$DIR/opt" "$DIR/cni/net.d" "$DIR/cni/ipam" \
		"$DIR/logs" || return 1
	echo "$CTRD_CGROOT" >"$DIR/cgroot"
	cat >"$DIR/config.toml" <<EOF
# Written by tests/k8s/cluster.sh: a private containerd, nothing shared with a system one.
version = 2
root = "$DIR/root"
state = "$DIR/state"

[grpc]
  address = "$CTRD_SOCK"

[ttrpc]
  address = "$CTRD_SOCK.ttrpc"

[debug]
  level = "info"

[metrics]
  address = ""

[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "$DIR/opt"

  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "${K8S_PAUSE_REF:-localhost/bindguard-test/pause:1}"
    # Root here lacks CAP_SYS_RESOURCE: without this, lowering oom_score_adj fails RunPodSandbox.
    restrict_oom_score_adj = true
    # Pod netns bind mounts under DIR/state instead of /var/run/netns.
    netns_mounts_under_state_dir = true
    enable_selinux = false
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
    enable_cdi = false

    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"
      discard_unpacked_layers = false

      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"

        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          # The cgroupfs driver: kubelet-shaped /kubepods/<qos>/pod<uid>/<id> paths.
          SystemdCgroup = false
          Root = "$DIR/runc"

    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "/usr/lib/cni"
      conf_dir = "$DIR/cni/net.d"
      max_conf_num = 1
EOF
	# ptp: one veth per pod, no bridge and no iptables rule (ipMasq false). The addresses exist
	# only in the pods' namespaces and on the host ends of their veths.
	cat >"$DIR/cni/net.d/10-$CNI_NET.conflist" <<EOF
{
  "cniVersion": "0.4.0",
  "name": "$CNI_NET",
  "plugins": [
    {
      "type": "ptp",
      "ipMasq": false,
      "mtu": 1500,
      "ipam": {
        "type": "host-local",
        "dataDir": "$DIR/cni/ipam",
        "ranges": [[{ "subnet": "$SUBNET" }]]
      }
    }
  ]
}
EOF
}

ctr_() {
	ctr --address "$CTRD_SOCK" --namespace k8s.io "$@"
}

cmd_start() {
	local t0 pid i img
	t0=$(date +%s.%N)
	[ "$(id -u)" -eq 0 ] || die "needs root"
	for b in containerd containerd-shim-runc-v2 runc ctr /usr/lib/cni/ptp /usr/lib/cni/host-local \
		/usr/lib/cni/loopback; do
		command -v "$b" >/dev/null || die "missing $b (make k8s-deps)"
	done
	[ -n "$(cgroup2_root)" ] || die "no cgroup v2 hierarchy in /proc/self/mounts"
	if [ -e "$DIR/containerd.pid" ] && kill -0 "$(cat "$DIR/containerd.pid")" 2>/dev/null; then
		die "a containerd already runs in $DIR"
	fi
	mkdir -p "$DIR" || die "cannot make $DIR"
	write_config || die "cannot write the config in $DIR"

	# What start may create outside DIR, so stop removes only what was not there before.
	: >"$DIR/created"
	[ -e /run/containerd ] || echo /run/containerd >>"$DIR/created"
	[ -e /run/containerd/s ] || echo /run/containerd/s >>"$DIR/created"
	[ -e /var/lib/cni ] || echo /var/lib/cni >>"$DIR/created"
	[ -e /var/lib/cni/results ] || echo /var/lib/cni/results >>"$DIR/created"
	{
		echo "ipv4 $(cat /proc/sys/net/ipv4/ip_forward)"
		echo "ipv6 $(cat /proc/sys/net/ipv6/conf/all/forwarding)"
	} >"$DIR/forwarding"

	# Its own session: a Ctrl-C of the test must not kill it before the CRI teardown ran.
	setsid containerd --config "$DIR/config.toml" >"$DIR/logs/containerd.log" 2>&1 &
	pid=$!
	echo "$pid" >"$DIR/containerd.pid"
	for i in $(seq 1 100); do
		if [ -S "$CTRD_SOCK" ] && ctr_ version >/dev/null 2>&1; then
			break
		fi
		kill -0 "$pid" 2>/dev/null || {
			tail -20 "$DIR/logs/containerd.log" >&2
			die "containerd exited at start (log: $DIR/logs/containerd.log)"
		}
		sleep 0.1
	done
	ctr_ version >/dev/null 2>&1 || die "containerd did not answer on $CTRD_SOCK in 10 s"
	log "containerd $(containerd --version | awk '{print $3}') pid $pid on $CTRD_SOCK"

	for img in "$@"; do
		ctr_ images import "$img" >"$DIR/logs/import.log" 2>&1 || {
			cat "$DIR/logs/import.log" >&2
			die "cannot import $img"
		}
		log "imported $(basename "$img")"
	done
	log "started in $(since "$t0") s"
}

# Kill every process left in our cgroups (in any hierarchy), then remove the directories
# deepest first.
remove_cgroups() {
	local m d n
	for m in $(cgroup_mounts); do
		[ -d "$m/$CTRD_CGROOT" ] || continue
		for n in 1 2 3 4 5 6 7 8 9 10; do
			if find "$m/$CTRD_CGROOT" -name cgroup.procs -exec cat {} + 2>/dev/null | grep -q .; then
				find "$m/$CTRD_CGROOT" -name cgroup.procs -exec cat {} + 2>/dev/null |
					xargs -r kill -9 2>/dev/null
				sleep 0.2
			else
				break
			fi
		done
		find "$m/$CTRD_CGROOT" -depth -type d -exec rmdir {} \; 2>/dev/null
	done
}

# Processes whose argv holds the two arguments "$1" "$2" (one grep over every cmdline).
procs_with_args() {
	grep -aPl -- "\\Q$1\\E\\x00\\Q$2\\E\\x00" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3
}

our_shims() {
	procs_with_args -address "$CTRD_SOCK"
}

our_mounts() {
	awk -v d="$DIR/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r
}

cmd_stop() {
	local t0 pid i m id h kind val shims left p
	t0=$(date +%s.%N)
	[ -d "$DIR" ] || {
		log "nothing to stop in $DIR"
		return 0
	}
	pid=$(cat "$DIR/containerd.pid" 2>/dev/null)
	# 1. Through CRI, as a kubelet would: stop and remove every container and sandbox. This
	#    tears down the CNI networks (veths, IPAM) and the netns mounts properly.
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && [ -S "$CTRD_SOCK" ]; then
		timeout 60 "$PY" "$here/cri.py" --socket "$CTRD_SOCK" teardown ||
			log "CRI teardown incomplete; removing the rest by hand"
	fi
	# Shim ids, for their sockets in /run/containerd/s.
	ls "$CTRD_STATE/io.containerd.runtime.v2.task/k8s.io" 2>/dev/null >>"$DIR/shim-ids"
	# 2. containerd itself.
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		for i in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
	fi
	# 3. Anything runc still knows of, every process in our cgroups, then the shims.
	if [ -d "$DIR/runc" ]; then
		for id in $(runc --root "$DIR/runc/k8s.io" list -q 2>/dev/null); do
			runc --root "$DIR/runc/k8s.io" delete --force "$id" >/dev/null 2>&1
		done
	fi
	remove_cgroups
	# A shim killed here is reaped by PID 1, not by us: wait until it is gone from /proc,
	# zombie included, so that the check below sees the machine as it will stay.
	shims=$(our_shims)
	for i in $shims; do
		kill -KILL "$i" 2>/dev/null
	done
	for i in $(seq 1 50); do
		left=""
		for p in $shims; do
			[ -e "/proc/$p" ] && left="$left $p"
		done
		[ -z "$left" ] && break
		sleep 0.1
	done
	[ -n "$left" ] && log "killed shims not reaped yet:$left"
	# 4. Mounts under DIR (rootfs overlays, shm, netns), deepest first.
	for m in $(our_mounts); do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "cannot unmount $m"
	done
	# 5. Outside DIR: shim sockets (sha256 of "<address>/<namespace>/<id>"), the CNI cache, the
	#    forwarding sysctls, the directories start created.
	for id in $(sort -u "$DIR/shim-ids" "$DIR/sandbox-ids" 2>/dev/null); do
		h=$(printf '%s' "$CTRD_SOCK/k8s.io/$id" | sha256sum | cut -d' ' -f1)
		rm -f "/run/containerd/s/$h" /var/lib/cni/results/*-"$id"-*
	done
	rm -f /var/lib/cni/results/"$CNI_NET"-* 2>/dev/null
	if [ -f "$DIR/forwarding" ]; then
		while read -r kind val; do
			case $kind in
			ipv4) echo "$val" >/proc/sys/net/ipv4/ip_forward ;;
			ipv6) echo "$val" >/proc/sys/net/ipv6/conf/all/forwarding ;;
			esac
		done <"$DIR/forwarding"
	fi
	if [ -f "$DIR/created" ]; then
		sort -r "$DIR/created" | while read -r d; do
			rmdir "$d" 2>/dev/null
		done
	fi
	remove_cgroups
	# 6. DIR itself, only once nothing is mounted under it.
	if [ -z "$(our_mounts)" ]; then
		rm -rf --one-file-system "$DIR"
	else
		log "still mounted under $DIR, not removing it:"
		our_mounts >&2
	fi
	log "stopped in $(since "$t0") s"
	cmd_leftovers
}

# Lists what the instance in DIR left behind; silent and exit 0 when nothing.
cmd_leftovers() {
	local left=0 m p
	report() {
		echo "leftover: $*" >&2
		left=1
	}
	pid=$(cat "$DIR/containerd.pid" 2>/dev/null)
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && report "containerd pid $pid"
	for p in $(our_shims); do
		report "shim pid $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
	done
	for p in $(procs_with_args --config "$DIR/config.toml"); do
		report "process $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"
	done
	for m in $(our_mounts); do
		report "mount $m"
	done
	for m in $(cgroup_mounts); do
		[ -e "$m/$CTRD_CGROOT" ] && report "cgroup $m/$CTRD_CGROOT"
	done
	for p in /var/lib/cni/results/"$CNI_NET"-*; do
		[ -e "$p" ] && report "CNI cache $p"
	done
	for id in $(sort -u "$DIR/shim-ids" "$DIR/sandbox-ids" 2>/dev/null); do
		for p in /var/lib/cni/results/*-"$id"-*; do
			[ -e "$p" ] && report "CNI cache $p"
		done
	done
	if [ -f "$DIR/created" ]; then
		while read -r p; do
			[ -e "$p" ] && report "$p (created by start)"
		done <"$DIR/created"
	fi
	# A veth whose host end still carries an address of our range.
	if ip -4 -o addr show 2>/dev/null | grep -q " ${SUBNET%.*}\."; then
		report "address of $SUBNET on the host: $(ip -4 -o addr show | grep " ${SUBNET%.*}\." | awk '{print $2, $4}' | tr '\n' ' ')"
	fi
	if ip -4 route show 2>/dev/null | grep -q "^${SUBNET%.*}\."; then
		report "route into $SUBNET on the host"
	fi
	[ -e "$DIR" ] && report "directory $DIR"
	return $left
}

[ $# -ge 2 ] || {
	sed -n '4,9p' "$0" | sed 's/^# //' >&2
	exit 2
}
cmd=$1
set_env "$2"
shift 2
case $cmd in
start) cmd_start "$@" ;;
stop) cmd_stop ;;
leftovers) cmd_leftovers ;;
env)
	echo "CTRD_DIR=$DIR"
	echo "CTRD_SOCK=$CTRD_SOCK"
	echo "CTRD_STATE=$CTRD_STATE"
	echo "CTRD_ROOT=$CTRD_ROOT"
	echo "CTRD_CGROOT=$CTRD_CGROOT"
	;;
*)
	echo "cluster.sh: unknown command '$cmd'" >&2
	exit 2
	;;
esac
