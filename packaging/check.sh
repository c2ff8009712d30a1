#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# check.sh - `make packaging-check`: what `make install` puts in place is right, checked without
# root and without installing anything on this machine.
#
#   packaging/check.sh BUILD
#
# It runs `make install` into a temporary DESTDIR and checks there:
#   - systemd-analyze verify accepts the unit, with its binaries and man pages where they will
#     be, and says nothing at all (a warning is a failure);
#   - systemd-analyze security --offline=true scores it at most SECURITY_MAX (default 2.7), and
#     the unit's capability set is exactly the one the guest test checks;
#   - man -l renders both pages without a warning, each with its sections;
#   - every option and command of the README's usage block is in bindguard(8);
#   - the installed policy is the built-in one and passes `bindguard check`;
#   - logrotate parses the snippet;
#   - bash completion completes commands, options and option values.
# Prints one line per check and "N passed, N failed".
set -u

build=$(cd "${1:?usage: check.sh BUILD}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
max=${SECURITY_MAX:-2.7}
passed=0
failed=0

ok() {
	passed=$((passed + 1))
	echo "packaging-check: ok    $*"
}
bad() {
	failed=$((failed + 1))
	echo "packaging-check: FAIL  $*"
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bg-pkgcheck.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
if ! make -C "$src" --no-print-directory -s BUILD="$build" install DESTDIR="$root" PREFIX=/usr \
	UNITDIR=/lib/systemd/system >"$tmp/install.log" 2>&1; then
	cat "$tmp/install.log"
	bad "make install DESTDIR=... failed"
	echo "packaging-check: $passed passed, $failed failed"
	exit 1
fi
unit=$root/lib/systemd/system/bindguard.service
bin=$root/usr/sbin/bindguard

# verify: ExecReload's /bin/kill must exist under the root too; Documentation= must resolve.
mkdir -p "$root/bin"
cp /bin/kill "$root/bin/kill"
out=$(MANPATH="$root/usr/share/man:" systemd-analyze --root="$root" verify \
	/lib/systemd/system/bindguard.service 2>&1)
rc=$?
if [ $rc -eq 0 ] && [ -z "$out" ]; then
	ok "systemd-analyze verify: the unit, its commands and its man pages"
else
	bad "systemd-analyze verify (exit $rc): $out"
fi

score=$(systemd-analyze security --offline=true --root="$root" bindguard.service 2>/dev/null |
	sed -n 's/.*Overall exposure level for bindguard.service: \([0-9.]*\).*/\1/p')
if [ -z "$score" ]; then
	bad "systemd-analyze security --offline=true printed no score"
elif awk -v s="$score" -v m="$max" 'BEGIN { exit !(s <= m) }'; then
	ok "systemd-analyze security --offline=true: exposure $score (at most $max)"
else
	bad "systemd-analyze security --offline=true: exposure $score, more than $max"
fi
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit" | tr ' ' '\n' | sort | tr '\n' ' ')
want="CAP_BPF CAP_DAC_READ_SEARCH CAP_NET_ADMIN CAP_PERFMON CAP_SYS_ADMIN CAP_SYS_PTRACE "
if [ "$caps" = "$want" ]; then
	ok "capabilities: $caps(each justified in the unit; tests/systemd checks them live)"
else
	bad "CapabilityBoundingSet is '$caps', the tests expect '$want'"
fi
for c in $want; do
	grep -q "^# $c " "$unit" || bad "the unit does not justify $c in a comment"
done

for page in man8/bindguard.8 man5/bindguard-policy.5; do
	f=$root/usr/share/man/$page
	text=$(MANWIDTH=80 man -l "$f" 2>"$tmp/man.err")
	rc=$?
	missing=""
	for s in NAME SYNOPSIS DESCRIPTION "SEE ALSO"; do
		printf '%s\n' "$text" | grep -q "^$s" || missing="$missing $s"
	done
	if [ $rc -eq 0 ] && [ ! -s "$tmp/man.err" ] && [ -z "$missing" ]; then
		ok "man -l $page renders ($(printf '%s\n' "$text" | wc -l) lines)"
	else
		bad "man -l $page: exit $rc, missing:${missing:- none}, $(head -n 3 "$tmp/man.err")"
	fi
done

# The README must not promise what the man page (the binary's --help) does not have.
man8=$(MANWIDTH=200 man -l "$root/usr/share/man/man8/bindguard.8" 2>/dev/null)
usage=$(sed -n '/^## Usage/,/^## /p' "$src/README.md" | sed -n '/^```/,/^```/p')
missing=""
for w in $(printf '%s\n' "$usage" | grep -o -- '--[a-z][a-z-]*' | sort -u) \
	$(printf '%s\n' "$usage" | sed -n 's/^bindguard \([a-z][a-z-]*\).*/\1/p' | sort -u); do
	printf '%s\n' "$man8" | grep -q -- "$w" || missing="$missing $w"
done
if [ -n "$usage" ] && [ -z "$missing" ]; then
	ok "every command and option of the README's usage is in bindguard(8)"
else
	bad "README usage has what bindguard(8) lacks:${missing:- (no usage block found)}"
fi

if cmp -s "$root/etc/bindguard/policy.yaml" "$src/policy/iredmail.yaml" &&
	"$bin" check "$root/etc/bindguard/policy.yaml" >/dev/null 2>&1; then
	ok "/etc/bindguard/policy.yaml is policy/iredmail.yaml and passes bindguard check"
else
	bad "/etc/bindguard/policy.yaml is not the built-in policy, or fails bindguard check"
fi
if "$bin" --help | grep -q '^  bindguard policy show'; then
	if "$bin" policy show | cmp -s - "$src/policy/iredmail.yaml"; then
		ok "bindguard policy show prints the built-in policy"
	else
		bad "bindguard policy show differs from policy/iredmail.yaml"
	fi
fi

if command -v logrotate >/dev/null; then
	printf 'include %s/etc/logrotate.d\n' "$root" >"$tmp/logrotate.conf"
	if logrotate -d -s "$tmp/logrotate.state" "$tmp/logrotate.conf" >"$tmp/lr.out" 2>&1 &&
		! grep -qi 'error' "$tmp/lr.out"; then
		ok "logrotate parses /etc/logrotate.d/bindguard"
	else
		bad "logrotate: $(grep -i error "$tmp/lr.out" | head -n 2)"
	fi
else
	bad "logrotate is missing ('make deps' installs it)"
fi

# Bash completion, driven as bash does it: COMP_WORDS and COMP_CWORD, then COMPREPLY.
bc=/usr/share/bash-completion/bash_completion
complete_words() { # "bindguard run --p" -> the candidates, one per line
	line=$1
	PATH="$root/usr/sbin:$PATH" bash -c '
		. "$1"; . "$2"
		COMP_LINE=$3; COMP_POINT=${#COMP_LINE}
		read -r -a COMP_WORDS <<<"$COMP_LINE"
		[[ $COMP_LINE == *" " ]] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_bindguard
		printf "%s\n" "${COMPREPLY[@]}"' sh "$bc" \
		"$root/usr/share/bash-completion/completions/bindguard" "$line" 2>&1 | sort | tr '\n' ' '
}
if [ -r "$bc" ]; then
	cfail=""
	expect() { # LINE WORD...: every WORD is offered
		got=$(complete_words "$1")
		shift
		for w; do
			case " $got" in *" $w "*) ;; *) cfail="$cfail [$w not offered: $got]" ;; esac
		done
	}
	expect "bindguard " run check status learn --help --version
	expect "bindguard run --p" --policy
	expect "bindguard run --" --cgroup --mode --format --output --log-allowed --close-existing
	expect "bindguard status --format " table json
	expect "bindguard run --mode " enforce audit
	expect "bindguard learn --" --duration --output --cgroup
	expect "bindguard run -f " json text
	expect "bindguard probe --format " table json
	got=$(complete_words "bindguard check --")
	case " $got" in *" --policy "*) cfail="$cfail [check offers run's --policy]" ;; esac
	if [ -z "$cfail" ]; then
		ok "bash completion: commands, each command's options, option values"
	else
		bad "bash completion:$cfail"
	fi
else
	bad "bash-completion is missing ('make deps' installs it)"
fi

echo "packaging-check: $passed passed, $failed failed"
[ $failed -eq 0 ]
