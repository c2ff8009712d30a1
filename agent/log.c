// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "log.h"

static int bg_level = BG_LOG_INFO;

void bg_log_set_level(int level)
{
	bg_level = level;
}

int bg_log_level(void)
{
	return bg_level;
}

static int bg_err_nonblock; /* 0 blocking writes; 1 fd 2 is non-blocking; 2 a socket */

int bg_log_nonblock(void)
{
	struct stat st;
	int fd;

	if (fstat(STDERR_FILENO, &st) < 0)
		return -errno;
	if (S_ISFIFO(st.st_mode)) {
		/*
		 * A description of our own: O_NONBLOCK on the inherited one would also change it
		 * for whoever else holds it (the shell that started us).
		 */
		fd = open("/proc/self/fd/2", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			return -errno;
		if (dup2(fd, STDERR_FILENO) < 0) {
			close(fd);
			return -errno;
		}
		close(fd);
		bg_err_nonblock = 1;
	} else if (S_ISSOCK(st.st_mode)) {
		/* A stream to journald (StandardError=journal): send without waiting. */
		bg_err_nonblock = 2;
	} else {
		return 0; /* a terminal, a file, /dev/null: as they are */
	}
	return 1;
}

/* One line, in one write: a pipe takes it whole (up to PIPE_BUF) or not at all. */
static void bg_log_write(const char *buf, size_t n)
{
	ssize_t w;

	if (bg_err_nonblock == 2)
		w = send(STDERR_FILENO, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	else
		w = write(STDERR_FILENO, buf, n);
	if (w < 0 && errno == EINTR)
		w = write(STDERR_FILENO, buf, n);
	(void)w; /* short or failed (a stuck reader): the line is dropped, never waited for */
}

static void bg_vlog(int level, const char *fmt, va_list ap)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };
	char small[1024], *buf = small;
	int head, n;
	va_list aq;

	if (level > bg_level)
		return;
	head = snprintf(small, sizeof(small), "bindguard: %s%s",
			level != BG_LOG_ERROR && level != BG_LOG_INFO ? names[level] : "",
			level != BG_LOG_ERROR && level != BG_LOG_INFO ? ": " : "");
	va_copy(aq, ap);
	n = vsnprintf(small + head, sizeof(small) - head, fmt, aq);
	va_end(aq);
	if (n < 0)
		return;
	if ((size_t)(head + n) >= sizeof(small)) {
		buf = malloc((size_t)head + n + 1);
		if (!buf)
			return;
		memcpy(buf, small, head);
		vsnprintf(buf + head, (size_t)n + 1, fmt, ap);
	}
	bg_log_write(buf, (size_t)head + n);
	if (buf != small)
		free(buf);
}

void bg_log(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bg_vlog(level, fmt, ap);
	va_end(ap);
}

static char *bg_cap_buf;
static size_t bg_cap_len, bg_cap_used;

void bg_log_capture(char *buf, size_t len)
{
	bg_cap_buf = len ? buf : NULL;
	bg_cap_len = len;
	bg_cap_used = 0;
	if (bg_cap_buf)
		bg_cap_buf[0] = '\0';
}

static int bg_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (bg_cap_buf && level != LIBBPF_DEBUG && bg_cap_used + 1 < bg_cap_len) {
		va_list aq;
		int n;

		va_copy(aq, ap);
		n = vsnprintf(bg_cap_buf + bg_cap_used, bg_cap_len - bg_cap_used, fmt, aq);
		va_end(aq);
		if (n > 0)
			bg_cap_used += (size_t)n < bg_cap_len - bg_cap_used ?
					       (size_t)n :
					       bg_cap_len - bg_cap_used - 1;
	}
	/* libbpf is a library: its messages are detail for -v, main reports the failure once. */
	if (level == LIBBPF_DEBUG && bg_level < BG_LOG_DEBUG + 1)
		return 0;
	if (bg_level < BG_LOG_DEBUG)
		return 0;
	/* libbpf's messages already start with "libbpf: ". */
	return vfprintf(stderr, fmt, ap);
}

void bg_log_setup_libbpf(void)
{
	libbpf_set_print(bg_libbpf_print);
}
