#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# deb-bump.sh - the same package with another version, for the upgrade tests.
#
#   packaging/deb-bump.sh IN.deb VERSION OUT.deb
#
# Only the Version field changes: the maintainer scripts, files and conffiles are the package's
# own, so installing OUT over IN runs the real upgrade path (prerm upgrade, postinst configure
# with the old version, a restart of a running service).
set -eu
in=$1
version=$2
out=$3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bg-bump.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -R "$in" "$tmp/pkg"
sed -i "s/^Version: .*/Version: $version/" "$tmp/pkg/DEBIAN/control"
dpkg-deb --root-owner-group -Zxz -b "$tmp/pkg" "$out" >/dev/null
