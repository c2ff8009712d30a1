#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# kernels.sh - fetch one of Debian's cloud kernels for the qemu tests, without installing it.
#
#   tests/vmtest/kernels.sh CACHE_DIR KERNEL
#
# KERNEL is one of the names in the table below (5.10, 6.1, 6.12). The newest package of that
# series is looked up through a private apt state under CACHE_DIR (its own sources list, lists,
# cache and status file), so the host's apt configuration is read for the mirror address only
# and never changed. The package is fetched with `apt-get download` and unpacked with `dpkg -x`.
#
# On success it prints the unpacked tree (CACHE_DIR/<KERNEL>/root, holding boot/vmlinuz-* and
# lib/modules/*) and exits 0. Exit 3 means the package could not be had (no mirror, not served):
# the caller skips that kernel and prints the reason this script wrote on stderr. Any other
# non-zero exit is a real error.
set -eu

# Absolute: apt reads its -o Dir:: paths relative to /etc/apt otherwise.
mkdir -p "$1"
cache=$(cd "$1" && pwd)
kernel=$2

# name | suites (bookworm mirrors, or bullseye's) | package name pattern (extended regex)
case $kernel in
5.10)
	dist=bullseye
	suites="bullseye bullseye-security"
	pattern='^linux-image-5\.10\.0-[0-9]+-cloud-amd64(-unsigned)?$'
	;;
6.1)
	dist=bookworm
	suites="bookworm bookworm-updates bookworm-security"
	pattern='^linux-image-6\.1\.0-[0-9]+-cloud-amd64(-unsigned)?$'
	;;
6.12)
	dist=bookworm
	suites="bookworm-security"
	pattern='^linux-image-6\.12\.[0-9]+\+deb12-cloud-amd64(-unsigned)?$'
	;;
*)
	echo "kernels.sh: unknown kernel '$kernel' (expected 5.10, 6.1 or 6.12)" >&2
	exit 2
	;;
esac

dir=$cache/$kernel
root=$dir/root
if [ -f "$dir/.done" ] && ls "$root"/boot/vmlinuz-* >/dev/null 2>&1; then
	echo "$root"
	exit 0
fi
rm -rf "$dir"
mkdir -p "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial" "$dir/dl"
: >"$dir/apt/status"

# The mirror URIs the host already uses (deb822 .sources or one-line .list files).
mirror_uris() {
	{
		cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n 's/^URIs:[[:space:]]*//p'
		cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
			sed -n 's/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\([^[:space:]]\+\).*/\2/p'
	} | tr ' ' '\n' | grep -E '^https?://' | sort -u
}
main_uri=$(mirror_uris | grep -v -- '-security' | grep -E '/debian/?$' | head -n 1 || true)
sec_uri=$(mirror_uris | grep -E '/debian-security/?$' | head -n 1 || true)
[ -n "$main_uri" ] || main_uri=http://deb.debian.org/debian
[ -n "$sec_uri" ] || sec_uri=http://deb.debian.org/debian-security

keyring=/usr/share/keyrings/debian-archive-keyring.gpg
opt=""
[ -f "$keyring" ] && opt="[signed-by=$keyring]"
for s in $suites; do
	case $s in
	*-security) echo "deb $opt $sec_uri $s main" ;;
	*) echo "deb $opt $main_uri $s main" ;;
	esac
done >"$dir/apt/sources.list"

apt_private() {
	apt-get -q \
		-o Dir::Etc::sourcelist="$dir/apt/sources.list" \
		-o Dir::Etc::sourceparts=- \
		-o Dir::State::Lists="$dir/apt/lists" \
		-o Dir::Cache="$dir/apt/cache" \
		-o Dir::State::status="$dir/apt/status" \
		-o APT::Sandbox::User=root \
		"$@"
}
apt_cache_private() {
	apt-cache \
		-o Dir::Etc::sourcelist="$dir/apt/sources.list" \
		-o Dir::Etc::sourceparts=- \
		-o Dir::State::Lists="$dir/apt/lists" \
		-o Dir::Cache="$dir/apt/cache" \
		-o Dir::State::status="$dir/apt/status" \
		"$@"
}

if ! apt_private update >"$dir/apt.log" 2>&1; then
	echo "kernels.sh: $kernel: cannot read the $dist package lists from $main_uri (see $dir/apt.log)" >&2
	exit 3
fi

# Newest first; for each version try the unsigned image, then the signed one (for 5.10.0-46 only
# the signed package is served). Both boot the same under qemu's direct kernel boot.
names=$(apt_cache_private search --names-only "$pattern" | cut -d' ' -f1 | sed 's/-unsigned$//' |
	sort -u -V -r)
if [ -z "$names" ]; then
	echo "kernels.sh: $kernel: no package matches $pattern in $suites" >&2
	exit 3
fi
got=""
for n in $names; do
	for p in "$n-unsigned" "$n"; do
		if (cd "$dir/dl" && apt_private download "$p" >>"$dir/apt.log" 2>&1); then
			got=$p
			break 2
		fi
		rm -f "$dir"/dl/*.deb
	done
done
if [ -z "$got" ]; then
	echo "kernels.sh: $kernel: no package of $(echo $names | tr ' ' ',') could be downloaded (see $dir/apt.log)" >&2
	exit 3
fi
mkdir -p "$root"
dpkg -x "$dir"/dl/*.deb "$root"
rm -f "$dir"/dl/*.deb
echo "$got" >"$dir/package"
touch "$dir/.done"
echo "$root"
