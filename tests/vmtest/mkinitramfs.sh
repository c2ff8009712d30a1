#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# mkinitramfs.sh - the guest's whole root file system, as one initramfs (cpio newc + gzip).
#
#   tests/vmtest/mkinitramfs.sh KERNEL_ROOT BUILD OUT.cpio.gz
#
# KERNEL_ROOT is a kernel package unpacked by kernels.sh; BUILD is the build directory with
# bindguard and the integration tests. The image holds:
#   - busybox-static for the applets (installed under /bb at boot), and the host's dash as /bin/sh:
#     busybox's ash would run its own `ip` and `setpriv`, which lack netns, veth and --reuid;
#   - the host's ip, setpriv, unshare, nsenter and bpftool, and every library ldd lists for them
#     and for the test binaries, with the loader;
#   - the modules the tests load (veth, sctp, dccp and what they depend on), decompressed, and a
#     list in dependency order for /init to insmod;
#   - bindguard, the integration tests and their BPF objects under /bg, and tests/run.sh;
#   - libmicrohttpd and its libraries, which bindguard opens only for --metrics.
set -eu

kroot=$1
build=$2
out=$3
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)

stage=$(mktemp -d "${TMPDIR:-/tmp}/bg-initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT INT TERM
chmod 755 "$stage" # the image's /: mktemp made it 0700, and the tests run workers as nobody

mkdir -p "$stage"/bin "$stage"/sbin "$stage"/bb "$stage"/lib "$stage"/lib64 "$stage"/usr/bin \
	"$stage"/usr/sbin "$stage"/proc "$stage"/sys "$stage"/dev "$stage"/tmp "$stage"/run \
	"$stage"/etc "$stage"/var "$stage"/root "$stage"/mods "$stage"/bg/build/tests \
	"$stage"/bg/tests
ln -s ../run "$stage"/var/run

# Copy one file to the same path in the image, with the libraries it links.
copy_elf() {
	f=$1
	dst=${2:-$f}
	mkdir -p "$stage$(dirname "$dst")"
	cp -L "$f" "$stage$dst"
	ldd "$f" 2>/dev/null | sed -n 's/.*=> \(\/[^ ]*\) .*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p' |
		while read -r lib; do
			[ -e "$stage$lib" ] && continue
			mkdir -p "$stage$(dirname "$lib")"
			cp -L "$lib" "$stage$lib"
		done
}

command -v cpio >/dev/null || { echo "mkinitramfs: cpio is missing (Debian package cpio)" >&2; exit 1; }
busybox=$(command -v busybox || true)
[ -x /bin/busybox ] && busybox=/bin/busybox
if ! "$busybox" --list >/dev/null 2>&1 || ldd "$busybox" >/dev/null 2>&1; then
	echo "mkinitramfs: a static busybox is needed (Debian package busybox-static)" >&2
	exit 1
fi
cp "$busybox" "$stage/bb/busybox"
copy_elf "$(readlink -f /bin/dash)" /bin/sh
for tool in ip setpriv unshare nsenter bpftool; do
	p=$(command -v "$tool" || true)
	[ -n "$p" ] || continue
	copy_elf "$(readlink -f "$p")" "/usr/sbin/$tool"
done

# The project's binaries, and libmicrohttpd (bindguard opens it for --metrics; ldd does not list it).
copy_elf "$build/bindguard" /bg/build/bindguard
mhd=$(/sbin/ldconfig -p | awk '$1 == "libmicrohttpd.so.12" { print $NF; exit }')
[ -n "$mhd" ] || { echo "mkinitramfs: libmicrohttpd.so.12 is missing (Debian package libmicrohttpd12)" >&2; exit 1; }
copy_elf "$mhd"
for t in "$build"/tests/itest_*; do
	[ -x "$t" ] || continue
	copy_elf "$t" "/bg/build/tests/${t##*/}"
done
for o in "$build"/tests/*.bpf.o; do
	[ -f "$o" ] && cp "$o" "$stage/bg/build/tests/"
done
cp "$src/tests/run.sh" "$stage/bg/tests/run.sh"
mkdir -p "$stage/bg/policy"
cp "$src"/policy/*.yaml "$stage/bg/policy/" # itest_enforce checks policy/iredmail.yaml
cp "$here/guest.sh" "$stage/bg/guest.sh"
cp "$here/init" "$stage/init"
if [ -n "${VMTEST_CMD_FILE:-}" ]; then
	cp "$VMTEST_CMD_FILE" "$stage/bg/cmd"
	chmod 755 "$stage/bg/cmd"
fi
chmod 755 "$stage/init" "$stage/bg/guest.sh" "$stage/bg/tests/run.sh"

# Modules, in dependency order (depends= of each module's .modinfo), decompressed.
kver=$(ls "$kroot/lib/modules" | head -n 1)
mdir=$kroot/lib/modules/$kver
: >"$stage/mods/order"
find_mod() {
	find "$mdir/kernel" -name "$1.ko" -o -name "$1.ko.xz" -o -name "$1.ko.zst" -o \
		-name "$1.ko.gz" | head -n 1
}
add_mod() {
	local name f deps d # dash: recursion would clobber them otherwise
	name=$(echo "$1" | tr '-' '_')
	grep -qx "$name" "$stage/mods/order" && return 0
	f=$(find_mod "$name")
	[ -n "$f" ] || f=$(find_mod "$(echo "$1" | tr '_' '-')")
	[ -n "$f" ] || return 0 # built in, or not in this kernel: the tests skip what is missing
	case $f in
	*.xz) xz -dc "$f" >"$stage/mods/$name.ko" ;;
	*.zst) zstd -qdc "$f" >"$stage/mods/$name.ko" ;;
	*.gz) gzip -dc "$f" >"$stage/mods/$name.ko" ;;
	*) cp "$f" "$stage/mods/$name.ko" ;;
	esac
	deps=$(tr '\0' '\n' <"$stage/mods/$name.ko" | sed -n 's/^depends=//p' | head -n 1 | tr ',' ' ')
	for d in $deps; do
		add_mod "$d"
	done
	echo "$name" >>"$stage/mods/order"
}
for m in veth sctp dccp dccp_ipv4 dccp_ipv6; do
	add_mod "$m"
done

echo "root:x:0:0:root:/root:/bin/sh" >"$stage/etc/passwd"
echo "nobody:x:65534:65534:nobody:/nonexistent:/bin/sh" >>"$stage/etc/passwd"
echo "root:x:0:" >"$stage/etc/group"
echo "nogroup:x:65534:" >>"$stage/etc/group"

(cd "$stage" && find . | cpio -o -H newc --quiet | gzip -1) >"$out.tmp"
mv "$out.tmp" "$out"
