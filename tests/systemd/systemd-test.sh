#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# systemd-test.sh - prove the package on a real systemd host: a Debian bookworm guest with
# systemd as PID 1, booted under qemu, installs the .deb and runs tests/systemd/guest-test.sh.
#
#   tests/systemd/systemd-test.sh BUILD [DEB]     (as root; `make systemd-test` builds the .deb)
#
# 1. The kernel: Debian's 6.1 cloud kernel (SYSTEMD_TEST_KERNEL), fetched and unpacked by tests/vmtest/kernels.sh
#    (never installed). It has NVMe, ext4 and the serial console built in, so the guest boots
#    from an NVMe disk with no initramfs (its virtio drivers are modules).
# 2. The root file system: debootstrap (mkrootfs.sh), cached as a tarball under
#    BUILD/systemd-test/cache. It holds systemd-sysv, bpftool, jq and every package the .deb
#    depends on, because the guest has no network.
# 3. A fresh ext4 image of it each run (mkfs.ext4 -d), with the test files in /opt/bgtest and
#    bg-systemd-test.service enabled, booted with qemu-system-x86_64 (TCG).
# 4. The console log (BUILD/systemd-test/console.log) is read as it grows: one line per step.
#
# Exit 0 if every step passed; 1 otherwise (the console log is kept and named). qemu is killed
# on every path (SYSTEMD_TEST_TIMEOUT, default 900 s, or a signal); the image and the staging
# tree are removed.
#
# Environment:
#   SYSTEMD_TEST_TIMEOUT  seconds the guest may run (default 900)
#   SYSTEMD_TEST_MEM      guest memory (default 1G)
#   SYSTEMD_TEST_CACHE    where the rootfs tarball is kept (default BUILD/systemd-test/cache)
#   SYSTEMD_TEST_COMPAT   1: run the unit with tests/systemd/compat.conf, for an agent without
#                         --pin, --output journal and sd_notify (see that file)
#   SYSTEMD_TEST_CMD      a shell command run in the guest instead of the steps (investigating;
#                         its output is in the console log)
#   SYSTEMD_TEST_KERNEL   the kernels.sh series to boot (default 6.1, bookworm's own; 6.12 is
#                         bookworm's backport)
#   VMTEST_CACHE          where kernels are kept (default BUILD/vmtest/kernels, shared with
#                         tests/vmtest)
set -u

build=${1:?usage: systemd-test.sh BUILD [DEB]}
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=$(cd "$build" && pwd)
out=$build/systemd-test
cache=${SYSTEMD_TEST_CACHE:-$out/cache}
kcache=${VMTEST_CACHE:-$build/vmtest/kernels}
timeout_s=${SYSTEMD_TEST_TIMEOUT:-900}
log=$out/console.log
mkdir -p "$out" "$cache" "$kcache"
t_all=$(date +%s)

say() { echo "systemd-test: $*"; }
die() {
	say "$*" >&2
	exit 1
}

deb=${2:-$(ls -t "$build"/deb/bindguard_*_amd64.deb 2>/dev/null | head -n 1)}
[ -n "$deb" ] && [ -f "$deb" ] || die "no .deb (run 'make deb', or give one)"
[ "$(id -u)" -eq 0 ] || die "needs root (debootstrap, an image with root-owned files)"
for tool in qemu-system-x86_64 mkfs.ext4 gcc dpkg-deb; do
	command -v "$tool" >/dev/null || die "$tool is missing ('make deps' installs the packages)"
done

tmp=""
qpid=""
cleanup() {
	if [ -n "$qpid" ] && kill -0 "$qpid" 2>/dev/null; then
		kill "$qpid" 2>/dev/null
		sleep 1
		kill -9 "$qpid" 2>/dev/null
	fi
	[ -n "$tmp" ] && rm -rf "$tmp"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 1' INT TERM HUP

# 1. The kernel.
t0=$(date +%s)
kernel=${SYSTEMD_TEST_KERNEL:-6.1}
kroot=$("$here/../vmtest/kernels.sh" "$kcache" "$kernel" 2>"$out/kernel.err")
rc=$?
[ $rc -eq 0 ] || die "cannot fetch the $kernel kernel: $(cat "$out/kernel.err")"
vmlinuz=$(ls "$kroot"/boot/vmlinuz-* | head -n 1)
for opt in CONFIG_BLK_DEV_NVME CONFIG_EXT4_FS CONFIG_SERIAL_8250_CONSOLE; do
	grep -q "^$opt=y" "$kroot"/boot/config-* ||
		die "$(basename "$vmlinuz") does not have $opt built in; the guest needs an initramfs"
done
say "kernel $(basename "$vmlinuz") ($(($(date +%s) - t0))s)"

# 2. The root file system: what the test uses, plus the .deb's dependencies (first of each
# alternative, without versions).
t0=$(date +%s)
deps=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/|.*//; s/(.*//; s/[[:space:]]//g' |
	grep -v '^$')
tarball=$("$here/mkrootfs.sh" "$cache" systemd-sysv bpftool jq procps $deps) ||
	die "cannot make the root file system"
say "rootfs $(basename "$tarball") ($(($(date +%s) - t0))s)"

# 3. The image.
t0=$(date +%s)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bg-systemd-test.XXXXXX")
root=$tmp/root
mkdir -p "$root"
tar --numeric-owner --xattrs -C "$root" -xpf "$tarball" || die "cannot unpack $tarball"
# Not a first boot (systemd-firstboot would prompt on the console), and quiet: no getty, no
# timers.
od -An -N16 -tx1 /dev/urandom | tr -d ' \n' >"$root/etc/machine-id"
echo >>"$root/etc/machine-id"
echo bgtest >"$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 bgtest\n::1 localhost\n' >"$root/etc/hosts"
: >"$root/etc/fstab"
for u in systemd-firstboot.service serial-getty@ttyS0.service getty@tty1.service \
	apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer; do
	ln -sf /dev/null "$root/etc/systemd/system/$u"
done
install -D -m 0644 "$here/bg-systemd-test.service" "$root/etc/systemd/system/bg-systemd-test.service"
mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
ln -sf /etc/systemd/system/bg-systemd-test.service \
	"$root/etc/systemd/system/multi-user.target.wants/bg-systemd-test.service"
bg=$root/opt/bgtest
mkdir -p "$bg"
cp "$deb" "$bg/bindguard.deb"
version=$(dpkg-deb -f "$deb" Version)
"$src/packaging/deb-bump.sh" "$deb" "$version+systemdtest1" "$bg/bindguard-upgrade.deb" ||
	die "cannot make the upgrade package"
gcc -static -O2 -Wall -Wextra -Werror -o "$bg/bgbind" "$here/bgbind.c" ||
	die "cannot build the static bgbind"
install -m 0755 "$here/guest-test.sh" "$bg/guest-test.sh"
cp "$here/policy-allow-3306.yaml" "$bg/"
[ "${SYSTEMD_TEST_COMPAT:-0}" = 1 ] && cp "$here/compat.conf" "$bg/"
if [ -n "${SYSTEMD_TEST_CMD:-}" ]; then
	printf '#!/bin/sh\n%s\n' "$SYSTEMD_TEST_CMD" >"$bg/cmd"
	chmod 755 "$bg/cmd"
fi
img=$tmp/root.img
size=$(($(du -sm "$root" | cut -f1) + 512))
truncate -s "${size}M" "$img"
mkfs.ext4 -q -F -L bgroot -d "$root" "$img" >"$out/mkfs.log" 2>&1 ||
	die "mkfs.ext4 -d failed: $(cat "$out/mkfs.log")"
rm -rf "$root"
say "image ${size} MiB ($(($(date +%s) - t0))s)"

# 4. Boot, and follow the console.
t0=$(date +%s)
rm -f "$log"
: >"$log"
qemu-system-x86_64 -nodefaults -no-reboot -display none \
	-machine q35 -cpu max -smp 2 -m "${SYSTEMD_TEST_MEM:-1G}" \
	-kernel "$vmlinuz" \
	-append "console=ttyS0 root=/dev/nvme0n1 rootfstype=ext4 rw rootwait panic=-1 quiet systemd.show_status=error" \
	-drive "file=$img,if=none,format=raw,id=root" -device "nvme,drive=root,serial=bgroot" \
	-serial "file:$log" -monitor none </dev/null >"$out/qemu.err" 2>&1 &
qpid=$!
shown=0
follow() {
	lines=$(grep '^BGTEST-\(STEP\|INFO\)' "$log" 2>/dev/null | tr -d '\r')
	n=$(printf '%s' "$lines" | grep -c '^')
	[ "$n" -gt "$shown" ] || return 0
	printf '%s\n' "$lines" | tail -n +"$((shown + 1))" |
		while read -r tag name res secs detail; do
			case $tag in
			BGTEST-STEP) printf 'systemd-test:   %-16s %-4s %5s  %s\n' "$name" "$res" "$secs" "$detail" ;;
			*) say "guest: $name $res $secs $detail" ;;
			esac
		done
	shown=$n
}
# qpid is qemu itself, so the timeout and cleanup() kill qemu, not a wrapper.
deadline=$((t0 + timeout_s))
timed_out=0
while kill -0 "$qpid" 2>/dev/null; do
	sleep 1
	follow
	if [ "$(date +%s)" -ge "$deadline" ]; then
		timed_out=1
		kill "$qpid" 2>/dev/null
		sleep 2
		kill -9 "$qpid" 2>/dev/null
	fi
done
wait "$qpid"
qrc=$?
qpid=""
follow
boot_secs=$(($(date +%s) - t0))

fail=0
if [ $timed_out -eq 1 ]; then
	say "TIMEOUT: the guest ran for ${timeout_s}s and was killed"
	fail=1
fi
result=$(grep '^BGTEST-RESULT' "$log" | tr -d '\r' | tail -n 1)
if [ -z "$result" ]; then
	say "the guest stopped before the end of the test (qemu exit $qrc; $(grep '^BGTEST-EXITED' "$log" | tr -d '\r' | head -n 1))"
	[ -s "$out/qemu.err" ] && say "qemu: $(head -n 3 "$out/qemu.err")"
	fail=1
else
	say "${result#BGTEST-RESULT }"
	echo "$result" | grep -q ' 0 failed$' || fail=1
fi
say "guest ran ${boot_secs}s (boot + test); total $(($(date +%s) - t_all))s"
if [ $fail -ne 0 ]; then
	say "FAILED; console log: $log"
	exit 1
fi
say "passed"
exit 0
