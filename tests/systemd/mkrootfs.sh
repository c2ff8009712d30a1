#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# mkrootfs.sh - a Debian bookworm root file system for the systemd guest, made with debootstrap
# and kept as one tarball so that reruns skip the download.
#
#   tests/systemd/mkrootfs.sh CACHE_DIR PACKAGE...
#
# The tree is debootstrap's minbase variant plus PACKAGE... (systemd-sysv and whatever the test
# and the .deb need: the guest has no network, so every dependency must be in the tree before
# the .deb is installed). The mirror is the one the host's apt sources name.
#
# The cache key is the sorted package list: another list makes another tarball. On success it
# prints the tarball's path and exits 0. The tree is kept as a tarball rather than a directory:
# the top-level Makefile runs `find build/` on every invocation (for *.d files), and a root file
# system under build/ would add some 10,000 entries to that walk.
set -eu

cache=$1
shift
pkgs=$(printf '%s\n' systemd-sysv "$@" | sort -u | tr '\n' ',' | sed 's/,$//')
key=$(printf '%s\n' "bookworm minbase $pkgs" | sha256sum | cut -c1-12)
tarball=$cache/bookworm-$key.tar

if [ -f "$tarball" ]; then
	echo "$tarball"
	exit 0
fi

command -v debootstrap >/dev/null ||
	{ echo "mkrootfs: debootstrap is missing (Debian package debootstrap; make deps installs it)" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "mkrootfs: debootstrap needs root" >&2; exit 1; }

# The mirror the host already uses (deb822 .sources or one-line .list files), as in
# tests/vmtest/kernels.sh.
mirror=$({
	cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs:[[:space:]]*//p'
	cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p'
} | tr ' ' '\n' | grep -E '^https?://' | grep -v -- '-security' | grep -E '/debian/?$' | head -n 1 || true)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian

mkdir -p "$cache"
tree=$(mktemp -d "${TMPDIR:-/tmp}/bg-rootfs.XXXXXX")
# debootstrap mounts proc and sys inside the tree while it runs; unmount them whatever happens,
# and never rm -rf through a mount.
cleanup() {
	for m in proc sys dev/pts dev; do
		mountpoint -q "$tree/$m" 2>/dev/null && umount -l "$tree/$m" 2>/dev/null
	done
	if ! grep -q " $tree/" /proc/self/mounts; then
		rm -rf "$tree"
	else
		echo "mkrootfs: $tree still has mounts; not removed" >&2
	fi
	rm -f "$tarball.tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

echo "mkrootfs: debootstrap bookworm from $mirror (minbase + $pkgs); log: $cache/debootstrap.log" >&2
t0=$(date +%s)
if ! debootstrap --variant=minbase --include="$pkgs" bookworm "$tree" "$mirror" \
	>"$cache/debootstrap.log" 2>&1; then
	echo "mkrootfs: debootstrap failed; last lines of $cache/debootstrap.log:" >&2
	tail -n 5 "$cache/debootstrap.log" >&2
	exit 1
fi
chroot "$tree" apt-get clean
rm -rf "$tree"/var/lib/apt/lists/* "$tree"/var/cache/apt/*.bin
for m in proc sys dev/pts dev; do
	mountpoint -q "$tree/$m" 2>/dev/null && umount -l "$tree/$m"
done
tar --numeric-owner --xattrs -C "$tree" -cpf "$tarball.tmp" .
mv "$tarball.tmp" "$tarball"
echo "mkrootfs: made $tarball in $(($(date +%s) - t0))s ($(du -h "$tarball" | cut -f1))" >&2
echo "$tarball"
