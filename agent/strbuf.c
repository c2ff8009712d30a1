// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * strbuf.c - a growable, always NUL-terminated byte buffer.
 *
 * The error is sticky so that a formatter can append a whole line and check once at the end:
 * after the first failed growth every later append is a no-op that returns the same error,
 * and the buffer keeps the content it had before the failure.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"

#define BG_STRBUF_MIN_CAP 128

/*
 * The one allocation point. Weak, so that a unit test can link a strong definition that fails
 * on demand and reach the out-of-memory paths part-way through a line; interposing libc's
 * realloc() instead would fight ASan's and valgrind's own allocators.
 */
__attribute__((weak)) void *bg_strbuf_realloc(void *ptr, size_t size)
{
	return realloc(ptr, size);
}

void bg_strbuf_reset(struct bg_strbuf *sb)
{
	if (!sb)
		return;
	sb->len = 0;
	if (sb->buf)
		sb->buf[0] = '\0';
	sb->err = 0;
}

void bg_strbuf_release(struct bg_strbuf *sb)
{
	if (!sb)
		return;
	free(sb->buf);
	sb->buf = NULL;
	sb->len = 0;
	sb->cap = 0;
	sb->err = 0;
}

/*
 * Make room for @extra more bytes plus the NUL. Sizes above PTRDIFF_MAX are refused before they
 * reach the allocator: no object may be that large, and a wrapped len + extra would otherwise
 * turn into a small allocation followed by an overflowing copy.
 */
static int strbuf_grow(struct bg_strbuf *sb, size_t extra)
{
	size_t need, cap;
	char *p;

	if (sb->err)
		return sb->err;
	if (extra > (size_t)PTRDIFF_MAX - 1 - sb->len)
		goto out_nomem;
	need = sb->len + extra + 1;
	if (sb->buf && need <= sb->cap)
		return 0;

	cap = sb->cap ? sb->cap : BG_STRBUF_MIN_CAP;
	while (cap < need)
		cap = cap > (size_t)PTRDIFF_MAX / 2 ? need : cap * 2;

	p = bg_strbuf_realloc(sb->buf, cap);
	if (!p)
		goto out_nomem;
	if (!sb->buf)
		p[0] = '\0';
	sb->buf = p;
	sb->cap = cap;
	return 0;

out_nomem:
	sb->err = -ENOMEM;
	return sb->err;
}

/*
 * Even an empty append allocates, so that after any successful call sb->buf is a valid C
 * string a caller can print.
 */
int bg_strbuf_append(struct bg_strbuf *sb, const char *s, size_t n)
{
	int err;

	if (!sb || (!s && n))
		return -EINVAL;
	err = strbuf_grow(sb, n);
	if (err)
		return err;
	if (n)
		memcpy(sb->buf + sb->len, s, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
	return 0;
}

int bg_strbuf_puts(struct bg_strbuf *sb, const char *s)
{
	if (!s)
		return -EINVAL;
	return bg_strbuf_append(sb, s, strlen(s));
}

int bg_strbuf_printf(struct bg_strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n, err;

	if (!sb || !fmt)
		return -EINVAL;
	err = strbuf_grow(sb, 0);
	if (err)
		return err;

	va_start(ap, fmt);
	n = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		goto out_inval;
	if ((size_t)n >= sb->cap - sb->len) {
		err = strbuf_grow(sb, (size_t)n);
		if (err)
			goto out_restore;
		va_start(ap, fmt);
		n = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			goto out_inval;
	}
	sb->len += (size_t)n;
	return 0;

out_inval:
	err = -EINVAL;
out_restore:
	/* vsnprintf may have written past len: keep the old content terminated where it was. */
	sb->buf[sb->len] = '\0';
	return err;
}

void bg_strbuf_truncate(struct bg_strbuf *sb, size_t len)
{
	if (!sb || len >= sb->len)
		return;
	sb->len = len;
	sb->buf[len] = '\0';
}
