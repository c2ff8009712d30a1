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

static int bg_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* libbpf is a library: its messages are detail for -v, main reports the failure once. */
	if (level == LIBBPF_DEBUG && bg_level < BG_LOG_DEBUG + 1)
		return 0;
	if (bg_level < BG_LOG_DEBUG)
		return 0;
	fprintf(stderr, "libbpf: ");
	return vfprintf(stderr, fmt, ap);
}

void bg_log_setup_libbpf(void)
{
	libbpf_set_print(bg_libbpf_print);
}
