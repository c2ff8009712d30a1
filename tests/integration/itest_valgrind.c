// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * itest_valgrind.c - the agent's whole life under memcheck: start, a denied bind from a sandbox
 * worker (with a hostile comm), a good reload, a bad reload, stop. Any memcheck error or
 * definite/indirect leak makes valgrind exit 99 instead of the agent's 0, and the test fails.
 *
 * The agent is started through a wrapper script that execs valgrind on $BINDGUARD, so the
 * sandbox drives it exactly as it drives the plain binary. tests/valgrind.supp holds the few
 * suppressions of valgrind's own gaps around bpf(), each with its proof.
 *
 * Every line the agent wrote is also checked as strict JSON (tests/lib/json_check.h): the
 * worker's comm holds a quote, a backslash, a newline, a control byte and invalid UTF-8, and
 * must come back as one escaped string in one line.
 *
 * Built with AddressSanitizer (make test-sanitize), the test runs the same cycle without
 * valgrind, which cannot run an ASan binary: the agent's own leak check at exit then plays
 * valgrind's part. Without valgrind it skips (exit 77), except under CI=true where the tool is
 * a declared dependency and its absence is a failure.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "json_check.h"
#include "sandbox.h"

/* gcc defines __SANITIZE_ADDRESS__; clang before 15 only answers __has_feature. */
#if defined(__SANITIZE_ADDRESS__)
#define BG_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BG_ASAN 1
#endif
#endif
#ifndef BG_ASAN
#define BG_ASAN 0
#endif

#define VG_EXIT 99 /* --error-exitcode: memcheck found an error or a leak */
#define WAIT_MS 30000 /* for a line to appear: everything is ~20x slower under memcheck */

#define BIND_EVENT "\"event\":\"bind\""

/* 15 bytes, the most a comm holds: quote, backslash, newline, control, invalid UTF-8. */
static const char hostile_comm[] = "vg\"\\\n\x01\xff{\"x\":1}";

static const char policy_a[] = "version: 1\nname: vg-a\nrules:\n"
			       "  - port: 3306\n    expose: loopback\n    service: db\n"
			       "    hint: \"bind to 127.0.0.1\"\n";
static const char policy_b[] = "version: 1\nname: vg-b\nrules:\n"
			       "  - port: 3306\n    expose: public\n    service: db\n"
			       "  - port: 3307\n    expose: none\n    service: db2\n";
static const char policy_bad[] = "version: 1\nrules:\n  - port: 99999\n";

/* The first executable "valgrind" on $PATH, or $VALGRIND. */
static int find_valgrind(char *out, size_t len)
{
	const char *env = getenv("VALGRIND"), *path = getenv("PATH");
	char *copy, *dir, *save = NULL;
	int found = 0;

	if (env && *env) {
		snprintf(out, len, "%s", env);
		return access(out, X_OK) == 0;
	}
	copy = strdup(path ? path : "/usr/bin:/bin");
	if (!copy)
		return 0;
	for (dir = strtok_r(copy, ":", &save); dir && !found; dir = strtok_r(NULL, ":", &save)) {
		snprintf(out, len, "%s/valgrind", dir);
		found = access(out, X_OK) == 0;
	}
	free(copy);
	return found;
}

/*
 * tests/valgrind.supp: from the current directory (tests/run.sh runs from the checkout), else
 * from the directories above this binary (BUILD/tests/itest_valgrind, BUILD may be nested).
 */
static int find_supp(char *out, size_t len)
{
	char exe[PATH_MAX], *slash;
	ssize_t n;

	if (realpath("tests/valgrind.supp", out) && strlen(out) < len)
		return 1;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return 0;
	exe[n] = '\0';
	while ((slash = strrchr(exe, '/')) && slash != exe) {
		*slash = '\0';
		if (snprintf(out, len, "%s/tests/valgrind.supp", exe) < (int)len &&
		    access(out, R_OK) == 0)
			return 1;
	}
	return 0;
}

static int write_wrapper(struct sb *sb, const char *valgrind, const char *supp, const char *log,
			 char *wrapper, size_t len)
{
	char bin[PATH_MAX], script[4 * PATH_MAX + 512];
	const char *path;

	if (!realpath(sb->bin, bin))
		return -1;
	/* --trace-children=no: the agent forks nothing, and a child's leaks would not be ours. */
	snprintf(script, sizeof(script),
		 "#!/bin/sh\n"
		 "exec '%s' --quiet --tool=memcheck --leak-check=full "
		 "--show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect "
		 "--error-exitcode=%d --track-fds=no --trace-children=no "
		 "--suppressions='%s' --log-file='%s' '%s' \"$@\"\n",
		 valgrind, VG_EXIT, supp, log, bin);
	path = sb_write_tmp(sb, "bindguard-valgrind", script);
	if (!path || chmod(path, 0755) != 0)
		return -1;
	snprintf(wrapper, len, "%s", path);
	return 0;
}

/* Worker: take the hostile comm, bind 0.0.0.0:port. Exit 0 bound, 1 EPERM, 2 other. */
static int worker_bind(void *arg)
{
	int port = *(int *)arg, fd, one = 1, rc;
	struct sockaddr_in s4;

	prctl(PR_SET_NAME, hostile_comm, 0, 0, 0);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 2;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	s4.sin_port = htons(port);
	rc = bind(fd, (struct sockaddr *)&s4, sizeof(s4));
	close(fd);
	if (rc == 0)
		return 0;
	return errno == EPERM ? 1 : 2;
}

/* Every line of the output: one line of strict JSON; bind events carry the comm intact. */
static void check_output(const char *out)
{
	unsigned char got[64], want[64];
	const char *line = out, *nl, *why;
	size_t len, where, gl, wl;
	int lines = 0, binds = 0;
	struct jc j;

	while (line && *line) {
		nl = strchr(line, '\n');
		SB_CHECK(nl != NULL, "the output ends in a partial line");
		if (!nl)
			break;
		len = (size_t)(nl - line) + 1;
		lines++;
		why = jc_line_rules(line, len, 1, &where);
		SB_CHECK(!why, "output line %d: %s at byte %zu", lines, why ? why : "", where);
		SB_CHECK(jc_line(&j, line, len) == 0,
			 "output line %d is not a JSON line: %s at %zu", lines, j.err ? j.err : "",
			 j.err_pos);
		if (!why && !j.err && memmem(line, len, BIND_EVENT, sizeof(BIND_EVENT) - 1)) {
			const struct jc_member *m = jc_get(&j, "comm");

			binds++;
			SB_CHECK(m != NULL, "bind event %d has no comm", binds);
			if (m) {
				gl = jc_decode(line, m->val_off, m->val_len, got, sizeof(got));
				wl = jc_expected((const unsigned char *)hostile_comm,
						 strlen(hostile_comm), want);
				SB_CHECK(gl == wl && !memcmp(got, want, wl),
					 "bind event %d: comm does not read back", binds);
			}
		}
		line = nl + 1;
	}
	SB_CHECK(binds == 3, "%d bind events checked, want 3", binds);
}

static void print_file(const char *title, const char *path)
{
	char *s = sb_slurp(path);

	if (s && *s)
		fprintf(stderr, "--- %s (%s):\n%s\n", title, path, s);
	free(s);
}

static void run_cycle(struct sb *sb, const char *vglog)
{
	const char *path = sb_write_tmp(sb, "policy.yaml", policy_a);
	const char *args[] = { "--policy", path, NULL };
	const char *deny_a[] = { "\"verdict\":\"deny\"", "\"port\":3306", "\"rule\":\"db\"", NULL };
	const char *deny_b[] = { "\"verdict\":\"deny\"", "\"port\":3307", "\"rule\":\"db2\"",
				 NULL };
	const char *reloaded[] = { "\"state\":\"reloaded\"", "\"policy\":\"vg-b\"", NULL };
	const char *failed[] = { "\"state\":\"reload-failed\"", "policy.yaml:3:11:", NULL };
	int p3306 = 3306, p3307 = 3307, st;
	struct timespec t0, t1;
	char *out;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (sb_agent_start(sb, args) != 0) {
		SB_CHECK(0, "agent start");
		if (vglog)
			print_file("valgrind log", vglog);
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("agent ready after %ld ms\n",
	       (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));

	st = sb_child(sb, 1, 1, worker_bind, &p3306);
	SB_CHECK(st == 1, "policy a: 0.0.0.0:3306 denied with EPERM (exit %d)", st);
	SB_CHECK(sb_wait_lines(sb->out_path, deny_a, 1, WAIT_MS) >= 1,
		 "deny event for 3306 written");

	sb_write_tmp(sb, "policy.yaml", policy_b);
	kill(sb->agent, SIGHUP);
	SB_CHECK(sb_wait_lines(sb->out_path, reloaded, 1, WAIT_MS) >= 1, "reloaded line");
	st = sb_child(sb, 1, 1, worker_bind, &p3306);
	SB_CHECK(st == 0, "policy b: 0.0.0.0:3306 allowed (exit %d)", st);
	st = sb_child(sb, 1, 1, worker_bind, &p3307);
	SB_CHECK(st == 1, "policy b: 0.0.0.0:3307 denied (exit %d)", st);
	SB_CHECK(sb_wait_lines(sb->out_path, deny_b, 1, WAIT_MS) >= 1,
		 "deny event for 3307 written");

	sb_write_tmp(sb, "policy.yaml", policy_bad);
	kill(sb->agent, SIGHUP);
	SB_CHECK(sb_wait_lines(sb->out_path, failed, 1, WAIT_MS) >= 1,
		 "reload-failed line naming file:line:col");
	st = sb_child(sb, 1, 1, worker_bind, &p3307);
	SB_CHECK(st == 1, "after the failed reload policy b holds: 3307 denied (exit %d)", st);
	SB_CHECK(sb_wait_lines(sb->out_path, deny_b, 2, WAIT_MS) >= 2,
		 "second deny event for 3307 written");

	st = sb_agent_stop(sb);
	SB_CHECK(st == 0, "agent exit status %d after SIGTERM%s", st,
		 st == VG_EXIT ? " (memcheck found errors or leaks)" : "");
	SB_CHECK(sb_attached(sb) == 0, "nothing attached after the agent stopped");
	if (vglog) {
		/* With --quiet the log holds nothing but reports. */
		char *log = sb_slurp(vglog);

		SB_CHECK(log && !strstr(log, "=="), "memcheck log is clean");
		free(log);
	}
	if (sb_failures) {
		print_file("agent stderr", sb->err_path);
		if (vglog)
			print_file("valgrind log", vglog);
	}

	out = sb_slurp(sb->out_path);
	SB_CHECK(out != NULL, "agent output readable");
	if (out)
		check_output(out);
	if (sb_failures)
		print_file("agent output", sb->out_path);
	free(out);
}

int main(void)
{
	char valgrind[PATH_MAX], supp[PATH_MAX], vglog[PATH_MAX + 32], wrapper[PATH_MAX];
	const char *ci = getenv("CI");
	struct sb sb;
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	rc = sb_setup(&sb, "valgrind");
	if (rc)
		return rc;
	if (BG_ASAN) {
		printf("--- AddressSanitizer build: the cycle runs without valgrind, and "
		       "LeakSanitizer checks the agent at exit\n");
		run_cycle(&sb, NULL);
		goto out;
	}
	if (!find_valgrind(valgrind, sizeof(valgrind))) {
		sb_teardown(&sb);
		if (ci && !strcmp(ci, "true")) {
			fprintf(stderr, "itest_valgrind: valgrind not found under CI (make deps "
					"installs it)\n");
			return 1;
		}
		printf("SKIP itest_valgrind: valgrind not found\n");
		return SB_SKIP;
	}
	if (!find_supp(supp, sizeof(supp))) {
		fprintf(stderr, "itest_valgrind: tests/valgrind.supp not found\n");
		sb_teardown(&sb);
		return 1;
	}
	snprintf(vglog, sizeof(vglog), "%s/valgrind.log", sb.tmpdir);
	if (write_wrapper(&sb, valgrind, supp, vglog, wrapper, sizeof(wrapper))) {
		fprintf(stderr, "itest_valgrind: cannot write the valgrind wrapper\n");
		sb_teardown(&sb);
		return 1;
	}
	sb.bin = wrapper;
	printf("--- agent under %s\n", valgrind);
	run_cycle(&sb, vglog);
out:
	sb_teardown(&sb);
	return sb_report("itest_valgrind");
}
