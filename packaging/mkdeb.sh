#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# mkdeb.sh - `make deb`: the Debian package, built with debhelper in a clean copy of the tree,
# then checked with lintian.
#
#   packaging/mkdeb.sh BUILD
#
# The copy holds what git knows of (tracked files, plus new files that are not ignored), so
# nothing built in the working tree (build/, *.o, skeletons) can end up in the package. The
# results go to BUILD/deb/: the .deb, the -dbgsym .deb, .buildinfo, .changes, build.log and
# lintian.txt. Exit 1 if the build fails or lintian reports an error.
set -eu

build=$1
src=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$build/deb"
out=$(cd "$build/deb" && pwd)

for tool in dpkg-buildpackage dh lintian git; do
	command -v "$tool" >/dev/null ||
		{ echo "deb: $tool is missing ('make deps' installs the packages)" >&2; exit 1; }
done
version=$(cat "$src/VERSION")
chver=$(cd "$src" && dpkg-parsechangelog -S Version)
if [ "$chver" != "$version" ]; then
	echo "deb: debian/changelog is at $chver but VERSION says $version: add a changelog entry (dch -v $version)" >&2
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bg-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM HUP
tree=$tmp/bindguard-$version
mkdir -p "$tree"
(cd "$src" && git ls-files -z -c -o --exclude-standard | grep -zv '^build/' |
	xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\0" "$f"; done' sh |
	tar --null -T - -cf -) | tar -C "$tree" -xf -

t0=$(date +%s)
echo "deb: dpkg-buildpackage -b -us -uc in a clean copy ($tree); log: $out/build.log"
rm -f "$out"/*.deb "$out"/*.buildinfo "$out"/*.changes
if ! (cd "$tree" && dpkg-buildpackage -b -us -uc -j2) >"$out/build.log" 2>&1; then
	echo "deb: FAILED; last lines of $out/build.log:" >&2
	tail -n 20 "$out/build.log" >&2
	exit 1
fi
mv "$tmp"/*.deb "$tmp"/*.buildinfo "$tmp"/*.changes "$out/"
deb=$(ls "$out"/bindguard_"$version"_*.deb)
echo "deb: built $deb in $(($(date +%s) - t0))s"

changes=$(ls "$out"/*.changes)
lintian --info --display-info --pedantic "$changes" >"$out/lintian.txt" 2>&1 || true
for level in E W I P; do
	n=$(grep -c "^$level: " "$out/lintian.txt" || true)
	printf 'deb: lintian %s: %s\n' "$level" "$n"
done
grep -E '^[EW]: ' "$out/lintian.txt" | sed 's/^/deb:   /' || true
if grep -q '^E: ' "$out/lintian.txt"; then
	echo "deb: lintian reports errors (all of it: $out/lintian.txt)" >&2
	exit 1
fi
