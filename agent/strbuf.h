/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* strbuf.h - a growable, always NUL-terminated byte buffer for building output lines. */
#ifndef BG_STRBUF_H
#define BG_STRBUF_H

#include <stddef.h>

struct bg_strbuf {
	char *buf; /* NUL-terminated once anything was appended; NULL before */
	size_t len; /* bytes used, excluding the NUL */
	size_t cap;
	int err; /* sticky: -ENOMEM after a failed growth; later appends are no-ops */
};

#define BG_STRBUF_INIT \
	{              \
		0      \
	}

void bg_strbuf_reset(struct bg_strbuf *sb); /* len = 0, keeps the memory, clears err */
void bg_strbuf_release(struct bg_strbuf *sb); /* frees; sb is then as BG_STRBUF_INIT */
int bg_strbuf_append(struct bg_strbuf *sb, const char *s, size_t n);
int bg_strbuf_puts(struct bg_strbuf *sb, const char *s);
int bg_strbuf_printf(struct bg_strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Cut back to @len bytes, to undo a partial line after a failure. err is left as it is. */
void bg_strbuf_truncate(struct bg_strbuf *sb, size_t len);

/* realloc(), as a weak symbol: a test seam for allocation failures, nothing else uses it. */
void *bg_strbuf_realloc(void *ptr, size_t size);

#endif /* BG_STRBUF_H */
