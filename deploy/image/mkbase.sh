#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# mkbase.sh - make the build base of the bindguard image without a registry: debootstrap a minimal
# Debian bookworm and `podman import` it.
#
#   deploy/image/mkbase.sh WORKDIR IMAGE [PODMAN...]
#
# The mirror is the one this machine's apt already uses (its first bookworm entry), so nothing
# here names a host. The chroot gets the same mirror for bookworm and bookworm-updates, plus the
# security archive when this machine has one, and is upgraded, so the image is built against
# current libraries. Skipped when IMAGE exists already (delete it to rebuild the base).
set -eu

work=$1
image=$2
shift 2
podman=${*:-podman}
suite=bookworm

if $podman image exists "$image"; then
	echo "image: base $image exists"
	exit 0
fi
[ "$(id -u)" -eq 0 ] || {
	echo "mkbase.sh: debootstrap needs root" >&2
	exit 1
}
command -v debootstrap >/dev/null || {
	echo "mkbase.sh: debootstrap is missing (make deps)" >&2
	exit 1
}

# "URI SUITE..." for each Debian entry of this machine's apt sources (deb822 and one-line forms).
sources() {
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] && awk '$1 == "deb" { uri = $2; if (uri ~ /^\[/) uri = $3;
			for (i = 2; i <= NF; i++) if ($i ~ /^bookworm/) print uri, $i }' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && awk 'BEGIN { RS = ""; FS = "\n" } {
			uri = ""; suites = ""; enabled = 1
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", $i); split($i, u, " "); uri = u[1] }
				if ($i ~ /^Suites:/) { sub(/^Suites:[ \t]*/, "", $i); suites = $i }
				if ($i ~ /^Enabled:[ \t]*no/) enabled = 0
			}
			if (enabled && uri != "") { n = split(suites, s, " "); for (j = 1; j <= n; j++) print uri, s[j] }
		}' "$f"
	done
}

mirror=$(sources | awk '$2 == "bookworm" { print $1; exit }')
security=$(sources | awk '$2 == "bookworm-security" { print $1; exit }')
[ -n "$mirror" ] || {
	echo "mkbase.sh: no bookworm entry in this machine's apt sources" >&2
	exit 1
}

root=$work/rootfs
# debootstrap mounts proc and sys in the target while it works; a failure can leave them there.
unmount_root() {
	awk -v d="$root/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r |
		while read -r m; do umount "$m" || umount -l "$m"; done
}
cleanup() {
	unmount_root
	[ -z "$(awk -v d="$root/" 'index($2, d) == 1' /proc/self/mounts)" ] &&
		rm -rf --one-file-system "$root"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
cleanup
mkdir -p "$root"
echo "image: debootstrap --variant=minbase $suite (this machine's mirror)"
debootstrap --variant=minbase "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
	tail -20 "$work/debootstrap.log" >&2
	exit 1
}
{
	echo "deb $mirror $suite main"
	echo "deb $mirror $suite-updates main"
	[ -n "$security" ] && echo "deb $security $suite-security main"
} >"$root/etc/apt/sources.list"
# No recommends and no docs in the build base; the runtime image takes none of it anyway.
printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
	>"$root/etc/apt/apt.conf.d/90bindguard"
echo "image: upgrading the base"
chroot "$root" sh -c 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get -y -q upgrade &&
	apt-get clean && rm -rf /var/lib/apt/lists/*' >"$work/upgrade.log" 2>&1 || {
	tail -20 "$work/upgrade.log" >&2
	exit 1
}
tar -C "$root" --numeric-owner -c . |
	$podman import --message "debootstrap $suite minbase" - "$image" >"$work/import.log" 2>&1 || {
	cat "$work/import.log" >&2
	exit 1
}
echo "image: base $image imported"
