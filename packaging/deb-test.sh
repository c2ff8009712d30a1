#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# deb-test.sh - `make deb-test`: install, upgrade and purge the .deb on this machine, for real
# (dpkg), checking each step. The one place the package is installed on the host: it refuses to
# run if bindguard is installed already, and purges what it installed on every path.
#
#   packaging/deb-test.sh BUILD [DEB]      (as root)
#
# systemd is not PID 1 here, so the maintainer scripts take their no-systemd paths: nothing is
# started. The service itself is proven in the systemd guest (make systemd-test).
set -u

build=$(cd "${1:?usage: deb-test.sh BUILD [DEB]}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
deb=${2:-$(ls -t "$build"/deb/bindguard_*_amd64.deb 2>/dev/null | head -n 1)}
passed=0
failed=0

ok() {
	passed=$((passed + 1))
	echo "deb-test: ok    $*"
}
bad() {
	failed=$((failed + 1))
	echo "deb-test: FAIL  $*"
}

[ -n "$deb" ] && [ -f "$deb" ] || { echo "deb-test: no .deb (run 'make deb')" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "deb-test: needs root (dpkg -i)" >&2; exit 1; }
if dpkg-query -W -f '${Status}' bindguard 2>/dev/null | grep -q 'installed\|config-files'; then
	echo "deb-test: bindguard is already installed here; not touching it" >&2
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bg-debtest.XXXXXX")
installed=0
cleanup() {
	if [ $installed -eq 1 ]; then
		dpkg --purge bindguard >"$tmp/cleanup.log" 2>&1 ||
			{ echo "deb-test: cleanup: dpkg --purge bindguard failed:" >&2; cat "$tmp/cleanup.log" >&2; }
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
export DEBIAN_FRONTEND=noninteractive

version=$(dpkg-deb -f "$deb" Version)
echo "deb-test: $deb ($version)"

# Install.
installed=1
if dpkg -i "$deb" >"$tmp/install.log" 2>&1; then
	ok "dpkg -i $(basename "$deb")"
else
	bad "dpkg -i: $(tail -n 3 "$tmp/install.log")"
	exit 1
fi
dpkg -L bindguard | while read -r f; do [ -f "$f" ] && echo "$f"; done >"$tmp/files"
if /usr/sbin/bindguard check /etc/bindguard/policy.yaml >/dev/null 2>&1; then
	ok "/usr/sbin/bindguard check /etc/bindguard/policy.yaml"
else
	bad "/usr/sbin/bindguard check /etc/bindguard/policy.yaml failed"
fi
out=$(systemd-analyze verify /lib/systemd/system/bindguard.service 2>&1)
rc=$?
[ $rc -eq 0 ] && [ -z "$out" ] && ok "systemd-analyze verify /lib/systemd/system/bindguard.service" ||
	bad "systemd-analyze verify (exit $rc): $out"
for page in bindguard.8 bindguard-policy.5; do
	f=/usr/share/man/man${page##*.}/$page.gz
	if [ -f "$f" ] && MANWIDTH=80 man -l "$f" 2>"$tmp/man.err" | grep -q '^NAME' &&
		[ ! -s "$tmp/man.err" ]; then
		ok "man -l $f renders"
	else
		bad "man -l $f: $(head -n 2 "$tmp/man.err")"
	fi
done
conffiles=$(dpkg-query -W -f '${Conffiles}' bindguard | awk '{ print $1 }' | sort | tr '\n' ' ')
want="/etc/bindguard/policy.yaml /etc/default/bindguard /etc/logrotate.d/bindguard "
[ "$conffiles" = "$want" ] && ok "conffiles: $conffiles" ||
	bad "conffiles are '$conffiles', want '$want'"
if ls /etc/systemd/system/*.wants/bindguard.service >/dev/null 2>&1; then
	bad "the package enabled bindguard.service; it must leave that to the administrator"
else
	ok "bindguard.service installed, not enabled"
fi
# Nothing from the build tree: the package holds only what make install puts there.
junk=$(grep -E '\.(o|d|skel\.h)$|/build/|/obj/' "$tmp/files" || true)
[ -z "$junk" ] && ok "no build artefacts in the package" || bad "build artefacts: $junk"

# Upgrade to the same package with a higher version, over a locally changed conffile.
"$src/packaging/deb-bump.sh" "$deb" "$version+debtest1" "$tmp/upgrade.deb"
echo "# a local change" >>/etc/bindguard/policy.yaml
if dpkg -i --force-confold "$tmp/upgrade.deb" >"$tmp/upgrade.log" 2>&1 &&
	[ "$(dpkg-query -W -f '${Version}' bindguard)" = "$version+debtest1" ]; then
	ok "upgrade $version -> $version+debtest1"
else
	bad "upgrade: $(tail -n 3 "$tmp/upgrade.log")"
fi
grep -q '^# a local change' /etc/bindguard/policy.yaml && ok "the changed conffile survives the upgrade" ||
	bad "the upgrade replaced the changed /etc/bindguard/policy.yaml"
[ -z "$(dpkg --audit 2>&1)" ] && ok "dpkg --audit is clean" || bad "dpkg --audit: $(dpkg --audit 2>&1 | head -n 3)"

# Purge: nothing of the package may remain.
if dpkg --purge bindguard >"$tmp/purge.log" 2>&1; then
	installed=0
	ok "dpkg --purge bindguard"
else
	bad "dpkg --purge: $(tail -n 3 "$tmp/purge.log")"
fi
st=$(dpkg-query -W -f '${Status}' bindguard 2>/dev/null)
[ -z "$st" ] || [ "$st" = "unknown ok not-installed" ] && ok "dpkg no longer knows bindguard" ||
	bad "dpkg status after purge: $st"
left=""
while read -r f; do
	[ -e "$f" ] && left="$left $f"
done <"$tmp/files"
for f in /etc/bindguard /etc/default/bindguard /var/log/bindguard /sys/fs/bpf/bindguard \
	/var/lib/systemd/deb-systemd-helper-enabled/bindguard.service.dsh-also; do
	[ -e "$f" ] && left="$left $f"
done
[ -z "$left" ] && ok "nothing left behind ($(wc -l <"$tmp/files") files removed)" ||
	bad "left behind:$left"

echo "deb-test: $passed passed, $failed failed"
[ $failed -eq 0 ]
