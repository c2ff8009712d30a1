// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_log.c - unit tests for agent/log.c: the daemon's stderr when its reader stops reading.
 *
 * A real pipe stands in for stderr (a shell pipe, or journald's stream under systemd). After
 * bg_log_nonblock(), logging must never wait: lines that do not fit are dropped, the ones that
 * arrive are whole, and the inherited description (the shell's) keeps its flags.
 *
 * Every test function is static, so one left out of main()'s table fails the build
 * (-Wunused-function with -Werror).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"

/* Read what the pipe holds (non-blocking) into buf; its length. */
static size_t drain_pipe(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;

	while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	return len;
}

static void test_log_stuck_reader(void **state)
{
	static char got[1 << 16];
	char pad[101];
	int p[2], saved, i, lines = 0, last = -1, n;
	char *line, *nl;

	(void)state;
	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_true(fcntl(p[1], F_SETPIPE_SZ, 4096) >= 4096);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_int_equal(dup2(p[1], STDERR_FILENO), STDERR_FILENO);
	assert_int_equal(bg_log_nonblock(), 1);

	/* Far more than the pipe holds, nobody reading: this must not wait (alarm: it did). */
	alarm(20);
	for (i = 0; i < 500; i++)
		bg_warn("line %d %s\n", i, pad);
	alarm(0);

	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	/* The inherited description is as it was: blocking. */
	assert_int_equal(fcntl(p[1], F_GETFL) & O_NONBLOCK, 0);
	close(p[1]);
	assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
	drain_pipe(p[0], got, sizeof(got));
	close(p[0]);

	/* Whole lines only, in order, as many as fitted. */
	for (line = got; (nl = strchr(line, '\n')); line = nl + 1) {
		assert_int_equal(sscanf(line, "bindguard: warning: line %d ", &n), 1);
		assert_true(n > last);
		assert_int_equal(nl - line, (long)strlen("bindguard: warning: line ") +
						    snprintf(NULL, 0, "%d", n) + 1 + 100);
		last = n;
		lines++;
	}
	assert_string_equal(line, ""); /* nothing after the last newline */
	assert_true(lines > 0 && lines < 500);
}

/* A line longer than the formatter's stack buffer arrives whole, in one write. */
static void test_log_long_line(void **state)
{
	static char got[1 << 14], big[3001];
	int p[2], saved;
	size_t len;

	(void)state;
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	assert_int_equal(dup2(p[1], STDERR_FILENO), STDERR_FILENO);
	assert_int_equal(bg_log_nonblock(), 1);
	bg_err("%s\n", big);
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	close(p[1]);
	len = drain_pipe(p[0], got, sizeof(got));
	close(p[0]);
	assert_int_equal(len, strlen("bindguard: ") + 3000 + 1);
	assert_int_equal(strncmp(got, "bindguard: yyy", 14), 0);
	assert_int_equal(got[len - 1], '\n');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_stuck_reader),
		cmocka_unit_test(test_log_long_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
