#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# guest-test.sh - runs inside the systemd guest (systemd is PID 1), started by
# bg-systemd-test.service once the system is up. It installs the bindguard .deb and checks the
# service the way an administrator would meet it. It prints, on the serial console that
# tests/systemd/systemd-test.sh reads:
#   BGTEST-INFO <text>
#   BGTEST-STEP <name> ok|FAIL <seconds>s <detail>
#   BGTEST-RESULT <n> passed, <n> failed
#   BGTEST-DONE
# and then powers the guest off. Each step runs whatever happened before it; a step whose
# premise failed fails too, with the reason.
#
# Files, put in /opt/bgtest by the host: bindguard.deb, bindguard-upgrade.deb (the same
# package with a higher version), bgbind (static), policy-allow-3306.yaml.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export DEBIAN_FRONTEND=noninteractive LC_ALL=C
T=/opt/bgtest
U=bindguard.service
passed=0
failed=0

info() { echo "BGTEST-INFO $*"; }

# step NAME FUNCTION: run it, time it, print its line. The function says why it failed by
# setting $why; its stdout and stderr go to the console log, indented.
step() {
	why=""
	t0=$(date +%s)
	"$2" >/tmp/step.out 2>&1
	rc=$?
	sed 's/^/    /' /tmp/step.out
	secs=$(($(date +%s) - t0))
	if [ $rc -eq 0 ]; then
		passed=$((passed + 1))
		echo "BGTEST-STEP $1 ok ${secs}s ${why:-}"
	else
		failed=$((failed + 1))
		echo "BGTEST-STEP $1 FAIL ${secs}s ${why:-exit $rc}"
	fi
}

fail() {
	why=$*
	return 1
}

prop() { systemctl show -p "$1" --value "$U"; }

# Poll: wait_for SECONDS COMMAND...: 0 as soon as COMMAND succeeds, 1 if it never did.
wait_for() {
	end=$(($(date +%s) + $1))
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.2
	done
}

bind_rc() {
	"$T/bgbind" bind "$1" "$2" >/dev/null 2>&1
	echo $?
}
bind_denied() { [ "$(bind_rc "$1" "$2")" = 10 ]; }
bind_allowed() { [ "$(bind_rc "$1" "$2")" = 0 ]; }

# The service's journal since it was installed, as JSON (one record per line).
journal_json() { journalctl -u "$U" -o json --no-pager --since "@$installed_at" 2>/dev/null; }

# Programs, maps, links and cgroup attachments named like bindguard's (bg_ prefix).
bpf_leftovers() {
	{
		bpftool prog show 2>/dev/null | grep -E '^[0-9]+: .* name bg_'
		bpftool map show 2>/dev/null | grep -E '^[0-9]+: .* name bg_'
		bpftool cgroup tree 2>/dev/null | grep -E '[[:space:]]bg_'
	} | sed 's/^/leftover: /'
}

no_bpf_leftovers() { [ -z "$(bpf_leftovers)" ]; }

# --- steps -----------------------------------------------------------------------------------

s_boot() {
	pid1=$(readlink /proc/1/exe)
	echo "PID 1: $pid1; kernel $(uname -r)"
	systemd-analyze time 2>/dev/null | head -n 1
	case $pid1 in
	*/systemd) ;;
	*) fail "PID 1 is $pid1, not systemd" ;;
	esac
	[ -d /sys/fs/bpf ] && grep -q ' /sys/fs/bpf bpf ' /proc/self/mounts ||
		fail "systemd did not mount bpffs on /sys/fs/bpf"
}

s_install() {
	installed_at=$(date +%s)
	# The guest has no network: every dependency must already be in the image.
	apt-get install -y -o Dpkg::Options::=--force-confold "$T/bindguard.deb" ||
		fail "apt-get install ./bindguard.deb failed" || return 1
	if [ -f "$T/compat.conf" ]; then
		mkdir -p /run/systemd/system/$U.d
		cp "$T/compat.conf" /run/systemd/system/$U.d/compat.conf
		systemctl daemon-reload
	fi
	st=$(dpkg-query -W -f '${Status} ${Version}' bindguard 2>/dev/null)
	echo "dpkg: $st"
	case $st in "install ok installed"*) ;; *) fail "dpkg says '$st'"; return 1 ;; esac
	bindguard check /etc/bindguard/policy.yaml >/dev/null ||
		fail "bindguard check /etc/bindguard/policy.yaml failed" || return 1
	# --man=no: the guest has no man-db; the host checks the pages (make packaging-check).
	out=$(systemd-analyze verify --man=no "$U" 2>&1)
	[ -z "$out" ] || { echo "$out"; fail "systemd-analyze verify: $out"; return 1; }
	en=$(systemctl is-enabled "$U" 2>&1)
	act=$(systemctl is-active "$U" 2>&1)
	echo "after install: enabled=$en active=$act"
	[ "$en" = disabled ] && [ "$act" = inactive ] ||
		fail "the package must install the service disabled and stopped (enabled=$en active=$act)"
	why="installed $(dpkg-query -W -f '${Version}' bindguard), disabled, inactive; unit verified"
}

# Pins made inside the unit's sandbox must land in the host's bpffs, writable through
# ProtectSystem=strict and ProtectKernelTunables=: a private mount, or a read-only one, would
# make --pin fail or pin where the next agent cannot see. Checked with bpftool in a copy of the
# unit that keeps every sandboxing setting and only runs something else.
s_sandbox_pin() {
	p=/run/systemd/system/bg-pinprobe.service
	sed -e '/^\(Type\|NotifyAccess\|ExecStartPre\|ExecStart\|ExecReload\|Restart\|RestartSec\|RestartPreventExitStatus\|WatchdogSec\)=/d' \
		-e '/^\[Install\]/,$d' /lib/systemd/system/$U >"$p"
	cat >>"$p" <<-EOF
	Type=oneshot
	ExecStart=/bin/mkdir -p /sys/fs/bpf/bindguard
	ExecStart=/usr/sbin/bpftool map create /sys/fs/bpf/bindguard/probe type array key 4 value 4 entries 1 name bg_probe
	EOF
	grep -E '^(ProtectSystem|ReadWritePaths|ProtectKernelTunables|SystemCallFilter)=' "$p"
	systemctl daemon-reload
	timeout 60 systemctl start bg-pinprobe.service
	rc=$?
	journalctl -u bg-pinprobe.service --no-pager -o cat | tail -n 5
	shown=$(bpftool map show pinned /sys/fs/bpf/bindguard/probe 2>&1)
	echo "$shown"
	rm -f /sys/fs/bpf/bindguard/probe
	rmdir /sys/fs/bpf/bindguard 2>/dev/null
	rm -f "$p"
	systemctl daemon-reload
	[ $rc -eq 0 ] || fail "bpftool map create + pin inside the unit's sandbox: exit $rc" || return 1
	echo "$shown" | grep -q 'name bg_probe' ||
		fail "the pin made inside the sandbox is not visible outside it: $shown" || return 1
	why="a map pinned inside the sandbox is in the host's /sys/fs/bpf"
}

# A listener that breaks the policy before the service starts, held by another user in another
# network namespace: reconcile finds it only if the unit's capabilities let the agent into that
# netns (CAP_SYS_ADMIN, CAP_SYS_PTRACE) and /proc/PID/fd (CAP_DAC_READ_SEARCH).
s_existing_setup() {
	unshare --net setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$T/bgbind" listen 0.0.0.0 3306 >/tmp/listener.out 2>&1 &
	listener=$!
	wait_for 10 grep -q listening /tmp/listener.out || {
		cat /tmp/listener.out
		fail "the listener did not start"
		return 1
	}
	listener_netns=$(stat -L -c %i "/proc/$listener/ns/net")
	why="uid 65534, pid $listener, netns $listener_netns, 0.0.0.0:3306"
}

s_start() {
	t=$(date +%s)
	timeout 120 systemctl start "$U"
	rc=$?
	systemctl status --no-pager "$U" 2>&1 | head -n 15
	st="$(prop ActiveState)/$(prop SubState)"
	main_pid=$(prop MainPID)
	# Still running a moment later, as the same process (Type=simple would say active at fork).
	[ "$st" = active/running ] && sleep 3 && [ "$(prop MainPID)" = "$main_pid" ] &&
		st="$(prop ActiveState)/$(prop SubState)"
	if [ "$st" != active/running ] || [ "$(prop MainPID)" != "$main_pid" ]; then
		journalctl -u "$U" --no-pager -o short-monotonic | tail -n 25
		fail "systemctl start: exit $rc, $st, MainPID $main_pid -> $(prop MainPID)"
		return 1
	fi
	why="active/running in $(($(date +%s) - t))s, MainPID $main_pid"
}

# The sandbox really applied: exactly the unit's capabilities, no new privileges, seccomp.
s_sandbox() {
	[ -n "${main_pid:-}" ] && [ "$main_pid" != 0 ] || fail "no running service" || return 1
	grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' "/proc/$main_pid/status"
	# CAP_DAC_READ_SEARCH 2, CAP_NET_ADMIN 12, CAP_SYS_PTRACE 19, CAP_SYS_ADMIN 21,
	# CAP_PERFMON 38, CAP_BPF 39.
	want=$(printf '%016x' $(((1 << 2) | (1 << 12) | (1 << 19) | (1 << 21) | (1 << 38) | (1 << 39))))
	eff=$(sed -n 's/^CapEff:[[:space:]]*//p' "/proc/$main_pid/status")
	bnd=$(sed -n 's/^CapBnd:[[:space:]]*//p' "/proc/$main_pid/status")
	[ "$eff" = "$want" ] && [ "$bnd" = "$want" ] ||
		fail "capabilities eff=$eff bnd=$bnd, want $want" || return 1
	grep -q '^NoNewPrivs:[[:space:]]*1' "/proc/$main_pid/status" || fail "NoNewPrivs is not set" ||
		return 1
	grep -q '^Seccomp:[[:space:]]*2' "/proc/$main_pid/status" || fail "no seccomp filter" ||
		return 1
	why="CapEff=CapBnd=$want, NoNewPrivs, seccomp"
}

s_deny() {
	out=$("$T/bgbind" bind 0.0.0.0 3306)
	rc=$?
	echo "$out"
	deny_pid=$(echo "$out" | sed -n 's/.*pid=\([0-9]*\).*/\1/p')
	[ $rc -eq 10 ] || fail "bind 0.0.0.0:3306 exit $rc (10 is EPERM): $out" || return 1
	bind_allowed 127.0.0.1 3306 || fail "bind 127.0.0.1:3306 was refused too" || return 1
	why="0.0.0.0:3306 EPERM (pid $deny_pid), 127.0.0.1:3306 allowed"
}

# The deny as a native journal record: its own fields, the priority of a deny, a one-line
# MESSAGE. (JSON goes through printf: dash's echo would turn its \n escapes into newlines.)
deny_record() {
	journal_json | jq -c --arg pid "$deny_pid" \
		'select(.BINDGUARD_VERDICT == "deny" and .BINDGUARD_PORT == "3306" and
			.BINDGUARD_PID == $pid)' | tail -n 1
}
deny_found() { [ -n "$(deny_record)" ]; }
s_journal() {
	[ -n "${deny_pid:-}" ] || fail "no deny to look for" || return 1
	wait_for 15 deny_found
	rec=$(deny_record)
	if [ -z "$rec" ]; then
		echo "the service's journal, last records:"
		journal_json | tail -n 5 | jq -c '{MESSAGE, PRIORITY}' 2>/dev/null
		fail "no journal record with BINDGUARD_VERDICT=deny BINDGUARD_PORT=3306 BINDGUARD_PID=$deny_pid"
		return 1
	fi
	printf '%s\n' "$rec" | jq -c 'with_entries(select(.key | test("^(BINDGUARD_|PRIORITY|MESSAGE$|_SYSTEMD_UNIT)")))'
	prio=$(printf '%s\n' "$rec" | jq -r .PRIORITY)
	rule=$(printf '%s\n' "$rec" | jq -r .BINDGUARD_RULE)
	unit=$(printf '%s\n' "$rec" | jq -r ._SYSTEMD_UNIT)
	msg=$(printf '%s\n' "$rec" | jq -r .MESSAGE)
	[ "$prio" = 4 ] || fail "PRIORITY=$prio, a deny is 4 (warning)" || return 1
	[ "$rule" = mysql ] || fail "BINDGUARD_RULE=$rule, want mysql" || return 1
	[ "$unit" = "$U" ] || fail "_SYSTEMD_UNIT=$unit" || return 1
	[ -n "$msg" ] && [ "$msg" != null ] || fail "empty MESSAGE" || return 1
	[ "$(printf '%s\n' "$msg" | wc -l)" -eq 1 ] ||
		fail "MESSAGE is not one line: $(printf '%s' "$msg" | tr '\n' '|')" || return 1
	n=$(journalctl -u "$U" --no-pager -o cat BINDGUARD_VERDICT=deny BINDGUARD_PORT=3306 | wc -l)
	[ "$n" -ge 1 ] || fail "journalctl -u $U BINDGUARD_VERDICT=deny finds nothing" || return 1
	why="PRIORITY=4 BINDGUARD_RULE=mysql BINDGUARD_PORT=3306; MESSAGE: $msg"
}

# Events in either form the agent writes to the journal: native fields (BINDGUARD_X=v becomes
# "x":"v"), or a JSON line as MESSAGE (an agent without --output journal). For the steps that
# test something other than the journal sink itself.
events() {
	journal_json | jq -c '
		if has("BINDGUARD_VERDICT") then
			with_entries(select(.key | startswith("BINDGUARD_")) |
				.key |= (ltrimstr("BINDGUARD_") | ascii_downcase))
		else (.MESSAGE | (try fromjson catch empty) | objects |
			with_entries(.value |= tostring))
		end'
}
s_existing() {
	[ -n "${listener:-}" ] || fail "no listener" || return 1
	rec=$(events | jq -c --arg pid "$listener" 'select(.pid == $pid and .port == "3306")' |
		head -n 1)
	printf 'record: %s\n' "$rec"
	[ -n "$rec" ] ||
		fail "nothing reported 0.0.0.0:3306 of pid $listener (uid 65534, netns $listener_netns)" ||
		return 1
	ns=$(printf '%s\n' "$rec" | jq -r .netns)
	[ "$ns" = "$listener_netns" ] || fail "netns $ns, want $listener_netns" || return 1
	why="reported with its pid, uid and netns: $(printf '%s\n' "$rec" | jq -r '"\(.event) \(.verdict) uid=\(.uid) comm=\(.comm)"')"
}

s_pinned() {
	ls -la /sys/fs/bpf/bindguard 2>&1 | head -n 20
	[ -n "$(ls -A /sys/fs/bpf/bindguard 2>/dev/null)" ] ||
		fail "nothing pinned under /sys/fs/bpf/bindguard while the service runs (--pin)" ||
		return 1
	why="$(find /sys/fs/bpf/bindguard | wc -l) entries under /sys/fs/bpf/bindguard"
}

reload_and_wait() { # POLICY-FILE CHECK...: install the file, reload, wait for CHECK
	cp "$1" /etc/bindguard/policy.yaml
	shift
	timeout 60 systemctl reload "$U" || return 1
	wait_for 20 "$@"
}
s_reload() {
	[ "$(prop ActiveState)" = active ] || fail "the service is not active" || return 1
	pid0=$(prop MainPID)
	cp /etc/bindguard/policy.yaml /tmp/policy.orig
	reload_and_wait "$T/policy-allow-3306.yaml" bind_allowed 0.0.0.0 3306 ||
		fail "after reload to a policy that allows 3306, 0.0.0.0:3306 is still refused" ||
		return 1
	bind_denied 0.0.0.0 5432 ||
		fail "the new policy keeps 5432 on loopback, but 0.0.0.0:5432 was not refused" || return 1
	# A broken file changes nothing: the previous policy stays.
	printf 'version: 1\nrules: [\n' >/tmp/broken.yaml
	cp /tmp/broken.yaml /etc/bindguard/policy.yaml
	timeout 60 systemctl reload "$U"
	sleep 2
	bind_allowed 0.0.0.0 3306 && bind_denied 0.0.0.0 5432 ||
		fail "a broken policy file changed what is enforced" || return 1
	[ "$(prop ActiveState)" = active ] || fail "a broken policy file stopped the service" ||
		return 1
	reload_and_wait /tmp/policy.orig bind_denied 0.0.0.0 3306 ||
		fail "back on the original policy, 0.0.0.0:3306 is allowed" || return 1
	[ "$(prop MainPID)" = "$pid0" ] || fail "MainPID changed: $pid0 -> $(prop MainPID)" ||
		return 1
	why="3306 allowed, 5432 still denied; a broken file kept the policy; back to deny; MainPID $pid0 kept"
}

# A bind loop on 0.0.0.0:3306 runs across COMMAND; not one bind may succeed.
no_gap_across() {
	rm -f /run/bgstop
	nice -n 5 "$T/bgbind" loop 0.0.0.0 3306 /run/bgstop >/tmp/loop.out 2>&1 &
	loop=$!
	sleep 1
	"$@"
	cmd_rc=$?
	sleep 1
	touch /run/bgstop
	wait "$loop"
	loop_out=$(cat /tmp/loop.out)
	echo "bind loop: $loop_out"
	ok=$(echo "$loop_out" | sed -n 's/.*ok=\([0-9]*\).*/\1/p')
	eperm=$(echo "$loop_out" | sed -n 's/.*eperm=\([0-9]*\).*/\1/p')
	return $cmd_rc
}
s_restart() {
	[ "$(prop ActiveState)" = active ] || fail "the service is not active" || return 1
	pid0=$(prop MainPID)
	no_gap_across timeout 120 systemctl restart "$U" || fail "systemctl restart failed" || return 1
	pid1=$(prop MainPID)
	st="$(prop ActiveState)/$(prop SubState)"
	[ "$st" = active/running ] && [ "$pid1" != "$pid0" ] ||
		fail "after restart: $st, MainPID $pid0 -> $pid1" || return 1
	[ "${eperm:-0}" -gt 0 ] || fail "the bind loop saw no EPERM at all: $loop_out" || return 1
	[ "${ok:-1}" = 0 ] || fail "$ok forbidden binds succeeded across the restart ($loop_out)" ||
		return 1
	why="0 of $eperm binds got through; MainPID $pid0 -> $pid1"
}

s_upgrade() {
	systemctl enable "$U" >/dev/null 2>&1 || fail "systemctl enable failed" || return 1
	echo "# a local change" >>/etc/bindguard/policy.yaml
	pid0=$(prop MainPID)
	no_gap_across dpkg -i --force-confold "$T/bindguard-upgrade.deb" ||
		fail "dpkg -i of the upgrade failed" || return 1
	v=$(dpkg-query -W -f '${Version}' bindguard)
	pid1=$(prop MainPID)
	st="$(prop ActiveState)/$(prop SubState)"
	echo "version $v, $st, MainPID $pid0 -> $pid1"
	grep -q '^# a local change' /etc/bindguard/policy.yaml ||
		fail "the upgrade replaced the changed conffile" || return 1
	[ "$st" = active/running ] && [ "$pid1" != "$pid0" ] ||
		fail "the upgrade did not restart the service: $st, MainPID $pid0 -> $pid1" || return 1
	[ "${ok:-1}" = 0 ] || fail "$ok forbidden binds succeeded across the upgrade ($loop_out)" ||
		return 1
	why="to $v, restarted (MainPID $pid0 -> $pid1), conffile kept, 0 of $eperm binds through"
}

s_purge() {
	# Purged while it runs and is enabled, as an administrator would.
	systemctl is-active --quiet "$U" || info "purge: the service was not running"
	apt-get purge -y bindguard || fail "apt-get purge failed" || return 1
	st=$(dpkg-query -W -f '${Status}' bindguard 2>/dev/null)
	echo "dpkg: ${st:-unknown}"
	[ -z "$st" ] || [ "$st" = "unknown ok not-installed" ] || fail "dpkg says '$st'" || return 1
	left=""
	for f in /etc/bindguard /etc/default/bindguard /usr/sbin/bindguard /var/log/bindguard \
		/lib/systemd/system/bindguard.service \
		/etc/systemd/system/multi-user.target.wants/bindguard.service /sys/fs/bpf/bindguard; do
		[ -e "$f" ] && left="$left $f"
	done
	[ -z "$left" ] || fail "left behind:$left" || return 1
	# Programs are freed once their last reference goes: give the kernel a moment.
	wait_for 10 no_bpf_leftovers
	lo=$(bpf_leftovers)
	[ -z "$lo" ] || { echo "$lo"; fail "BPF left behind: $(echo "$lo" | head -n 3 | tr '\n' ';')"; return 1; }
	bind_allowed 0.0.0.0 3306 || fail "after purge 0.0.0.0:3306 is still refused" || return 1
	why="no files, no pins, no bg_ programs, maps or cgroup attachments; 0.0.0.0:3306 binds again"
}

# --- run -------------------------------------------------------------------------------------
t_all=$(date +%s)
info "guest up: $(uname -r), $(cat /proc/uptime | cut -d' ' -f1)s since the kernel started"
[ -f "$T/compat.conf" ] && info "COMPAT: the unit runs with tests/systemd/compat.conf (an agent without --pin, --output journal, sd_notify)"
installed_at=$(date +%s)
if [ -x "$T/cmd" ]; then
	# SYSTEMD_TEST_CMD on the host: a one-off command instead of the steps, for investigating.
	"$T/cmd"
	echo "BGTEST-RESULT 0 passed, 0 failed"
	echo "BGTEST-DONE"
	sync
	systemctl poweroff --force --force
fi
step boot s_boot
step install s_install
step sandbox-pin s_sandbox_pin
step existing-setup s_existing_setup
step start s_start
step sandbox s_sandbox
step deny s_deny
step journal s_journal
step reconcile s_existing
step pinned s_pinned
step reload s_reload
step restart-no-gap s_restart
step upgrade-no-gap s_upgrade
step purge s_purge
[ -n "${listener:-}" ] && kill "$listener" 2>/dev/null
info "guest steps took $(($(date +%s) - t_all))s"
echo "BGTEST-RESULT $passed passed, $failed failed"
echo "BGTEST-DONE"
sync
systemctl poweroff --force --force
