// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

static void bg_vlog(int level, const char *fmt, va_list ap)
{
	static const char *const names[] = { "error", "warning", "info", "debug" };

	if (level > bg_level)
		return;
	fprintf(stderr, "bindguard: ");
	if (level != BG_LOG_ERROR && level != BG_LOG_INFO)
		fprintf(stderr, "%s: ", names[level]);
	vfprintf(stderr, fmt, ap);
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
