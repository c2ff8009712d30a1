#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# mkman.sh - the two man pages, each from one source, generated at build time.
#
#   docs/man/mkman.sh 8 BINARY OUT.8     bindguard(8): help2man over `BINARY --help` and
#                                        `BINARY CMD --help` for each command that has one,
#                                        plus docs/man/bindguard.8.h2m (files, the service,
#                                        signals: what --help does not say)
#   docs/man/mkman.sh 5 POLICY.md OUT.5  bindguard-policy(5): docs/policy.md through go-md2man
#
# Nothing generated here is committed. SOURCE_DATE_EPOCH (set by dpkg-buildpackage) fixes the
# date, so the pages are reproducible.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
section=$1
src=$2
out=$3
version=$(cat "$here/../../VERSION" 2>/dev/null || echo 0.0.0)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bg-man.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

case $section in
8)
	command -v help2man >/dev/null ||
		{ echo "mkman: help2man is missing (Debian package help2man)" >&2; exit 1; }
	bin=$(cd "$(dirname "$src")" && pwd)/$(basename "$src")
	# help2man wants "Usage: PROG ..." with further forms on "  or:  PROG ..." lines; the
	# binary prints one form per line after "Usage:" (on that line or alone on it), each
	# starting with "bindguard", long forms wrapped onto more indented lines.
	cat >"$tmp/bindguard" <<WRAP
#!/bin/sh
if [ "\$1" = --version ]; then exec "$bin" --version; fi
"$bin" \${BG_MAN_CMD:-} --help | awk '
	/^Usage:/ {
		inusage = 1; n = 0; sub(/^Usage:[ \t]*/, "")
		if (\$0 != "") form[++n] = \$0
		next
	}
	inusage && /^[ \t]*\$/ {
		for (i = 1; i <= n; i++) print (i == 1 ? "Usage: " : "  or:  ") form[i]
		inusage = 0; print; next
	}
	inusage && /^ +bindguard / { sub(/^ +/, ""); form[++n] = \$0; next }
	inusage { sub(/^ +/, ""); form[n] = form[n] " " \$0; next }
	{ print }'
WRAP
	chmod 755 "$tmp/bindguard"
	# One subsection per command with a --help of its own, in the order the main help lists
	# them; a command whose --help is the main one is described there already.
	"$bin" --help >"$tmp/main.help"
	cmds=$(sed -n 's/^  bindguard \([a-z][a-z-]*\).*/\1/p' "$tmp/main.help" | awk '!seen[$0]++')
	printf '[COMMANDS IN DETAIL]\n' >"$tmp/include.h2m"
	for c in $cmds; do
		"$bin" "$c" --help >"$tmp/$c.help" 2>/dev/null || continue
		cmp -s "$tmp/$c.help" "$tmp/main.help" && continue
		BG_MAN_CMD=$c help2man --no-info --no-discard-stderr --section=8 \
			--version-string="$version" --name=x "$tmp/bindguard" >"$tmp/$c.8"
		# Keep help2man's body (from SYNOPSIS on), one level down, under the command.
		printf '.SS "bindguard %s"\n' "$c" >>"$tmp/include.h2m"
		sed -n '/^\.SH SYNOPSIS/,$p' "$tmp/$c.8" | sed -e '1d' -e 's/^\.SH .*/.PP/' \
			-e 's/^\.SS "\?\([^"]*\)"\?$/.PP\n\\fB\1\\fR/' >>"$tmp/include.h2m"
	done
	cat "$here/bindguard.8.h2m" >>"$tmp/include.h2m"
	help2man --no-info --no-discard-stderr --section=8 --version-string="$version" \
		--name="keep internal services off the network (eBPF bind() enforcement)" \
		--include="$tmp/include.h2m" "$tmp/bindguard" >"$tmp/out"
	sed -i "s|$tmp/bindguard|bindguard|g" "$tmp/out"
	;;
5)
	command -v go-md2man >/dev/null ||
		{ echo "mkman: go-md2man is missing (Debian package go-md2man)" >&2; exit 1; }
	date=$(date -u -d "@${SOURCE_DATE_EPOCH:-$(date +%s)}" +%Y-%m-%d)
	{
		printf '%% BINDGUARD-POLICY 5 "%s" "bindguard %s" "File Formats Manual"\n\n' \
			"$date" "$version"
		printf '# NAME\n\nbindguard-policy - the bindguard policy file (YAML)\n\n'
		printf '# SYNOPSIS\n\n/etc/bindguard/policy.yaml\n\n'
		printf '# DESCRIPTION\n\n'
		# The document's own title goes; its sections become the page's sections. Links into
		# the source tree become plain text.
		sed -e '1{/^# /d}' -e 's/^## /# /' -e 's/^### /## /' \
			-e 's/\[\([^]]*\)\]([^)]*)/\1/g' "$src" |
			# go-md2man (blackfriday) starts a list only after a blank line.
			awk '/^([-*]|[0-9]+\.) / && prev != "" && prev !~ /^([-*]|[0-9]+\.) / &&
				prev !~ /^ / { print "" } { print; prev = $0 }'
		printf '\n# SEE ALSO\n\nbindguard(8)\n'
	} >"$tmp/policy.md"
	go-md2man -in "$tmp/policy.md" -out "$tmp/md.5"
	# Tables: let the last column take the rest of the line and wrap (lx, and a T{ T} text block
	# in every row), or man prints them wider than the terminal.
	awk -F '\t' -v OFS='\t' '
		# Ragged right: justified text in narrow table cells makes troff warn.
		/^\.TH / { print; print ".ad l"; next }
		/^\.TS/ { intbl = 1; fmt = 1; print; next }
		/^\.TE/ { intbl = 0; print; next }
		intbl && fmt && /^allbox;/ { print; next }
		intbl && fmt { line = $0; sub(/ *\.?$/, "", line); dot = ($0 ~ /\.$/)
			sub(/l *$/, "lx", line); print line (dot ? " ." : ""); if (dot) fmt = 0; next }
		intbl && !intext && NF > 1 && $NF != "T{" { $NF = "T{\n" $NF "\nT}"; print; next }
		intbl && $NF == "T{" { intext = 1; print; next }
		intbl && intext && /^T}/ { intext = 0 }
		{ print }' "$tmp/md.5" >"$tmp/out"
	;;
*)
	echo "usage: mkman.sh 8 BINARY OUT | mkman.sh 5 POLICY.md OUT" >&2
	exit 2
	;;
esac
mv "$tmp/out" "$out"
