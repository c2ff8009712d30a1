// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_strbuf.c - unit tests for agent/strbuf.c: appending bytes, growth, printf, the sticky
 * allocation error and what a failed growth leaves behind.
 *
 * Every test function is static, so one left out of main()'s table fails the build
 * (-Wunused-function with -Werror).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "event_fmt.h"
#include "strbuf.h"
#include "strbuf_seam.h"

/* ---- appending ------------------------------------------------------------------------------ */

static void test_strbuf_append(void **state)
{
	struct bg_strbuf sb = BG_STRBUF_INIT;

	(void)state;
	assert_null(sb.buf);
	assert_int_equal(bg_strbuf_append(&sb, "abc", 3), 0);
	assert_string_equal(sb.buf, "abc");
	assert_int_equal(sb.len, 3);
	assert_int_equal(bg_strbuf_append(&sb, "defgh", 2), 0);
	assert_string_equal(sb.buf, "abcde");
	assert_int_equal(bg_strbuf_puts(&sb, "!"), 0);
	assert_string_equal(sb.buf, "abcde!");
	assert_int_equal(sb.len, 6);
	assert_true(sb.cap > sb.len);
	/* Bytes, not C strings: an embedded NUL is kept. */
	assert_int_equal(bg_strbuf_append(&sb, "x\0y", 3), 0);
	assert_int_equal(sb.len, 9);
	assert_memory_equal(sb.buf, "abcde!x\0y", 10);
	bg_strbuf_release(&sb);
}

static void test_strbuf_empty_append(void **state)
{
	struct bg_strbuf sb = BG_STRBUF_INIT;

	(void)state;
	assert_int_equal(bg_strbuf_append(&sb, NULL, 0), 0);
	assert_non_null(sb.buf);
	assert_string_equal(sb.buf, "");
	assert_int_equal(sb.len, 0);
	bg_strbuf_release(&sb);

	assert_int_equal(bg_strbuf_puts(&sb, ""), 0);
	assert_non_null(sb.buf);
	assert_string_equal(sb.buf, "");
	bg_strbuf_release(&sb);
}

static void test_strbuf_growth(void **state)
{
	struct bg_strbuf sb = BG_STRBUF_INIT;
	char chunk[37];
	size_t k, i;

	(void)state;
	for (k = 0; k < 1000; k++) {
		for (i = 0; i < sizeof(chunk); i++)
			chunk[i] = (char)('a' + (k + i) % 26);
		assert_int_equal(bg_strbuf_append(&sb, chunk, sizeof(chunk)), 0);
		assert_int_equal(sb.len, (k + 1) * sizeof(chunk));
		assert_true(sb.cap > sb.len);
		assert_int_equal(sb.buf[sb.len], '\0');
	}
	for (k = 0; k < 1000; k++) {
		for (i = 0; i < sizeof(chunk); i++) {
			if (sb.buf[k * sizeof(chunk) + i] != (char)('a' + (k + i) % 26))
				fail_msg("content lost during growth at chunk %zu byte %zu", k, i);
		}
	}
	bg_strbuf_release(&sb);
}

static void test_strbuf_printf(void **state)
{
	struct bg_strbuf sb = BG_STRBUF_INIT;
	char big[1001];
	size_t len;

	(void)state;
	assert_int_equal(bg_strbuf_printf(&sb, "%d-%s", 42, "x"), 0);
	assert_string_equal(sb.buf, "42-x");
	assert_int_equal(sb.len, 4);
	assert_int_equal(bg_strbuf_printf(&sb, "%s", ""), 0);
	assert_string_equal(sb.buf, "42-x");

	/* Larger than whatever is left: the grow-and-retry path. */
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(bg_strbuf_printf(&sb, "<%s|%llu>", big, 18446744073709551615ull), 0);
	len = 4 + 1 + 1000 + 1 + 20 + 1;
	assert_int_equal(sb.len, len);
	assert_int_equal(strlen(sb.buf), len);
	assert_memory_equal(sb.buf, "42-x<qqq", 8);
	assert_string_equal(sb.buf + 4 + 1 + 1000, "|18446744073709551615>");
	bg_strbuf_release(&sb);
}

static void test_strbuf_sticky_error(void **state)
{
	struct bg_strbuf sb = BG_STRBUF_INIT;

	(void)state;
	assert_int_equal(bg_strbuf_puts(&sb, "keep"), 0);

	/* A size no allocation can satisfy: refused before it reaches the allocator. */
	assert_int_equal(bg_strbuf_append(&sb, "x", SIZE_MAX), -ENOMEM);
	assert_int_equal(sb.err, -ENOMEM);
	assert_string_equal(sb.buf, "keep");
	assert_int_equal(sb.len, 4);

	/* Sticky: everything after is a no-op returning the same error. */
	assert_int_equal(bg_strbuf_puts(&sb, "more"), -ENOMEM);
	assert_int_equal(bg_strbuf_append(&sb, "m", 1), -ENOMEM);
	assert_int_equal(bg_strbuf_printf(&sb, "%d", 7), -ENOMEM);
	assert_int_equal(bg_json_string(&sb, "j", 1), -ENOMEM);
	assert_string_equal(sb.buf, "keep");
	assert_int_equal(sb.len, 4);

	bg_strbuf_reset(&sb);
	assert_int_equal(sb.err, 0);
	assert_int_equal(sb.len, 0);
	assert_string_equal(sb.buf, "");
	assert_int_equal(bg_strbuf_puts(&sb, "again"), 0);
	assert_string_equal(sb.buf, "again");

	/* Just past PTRDIFF_MAX, no wrap-around involved. */
	assert_int_equal(bg_strbuf_append(&sb, "x", (size_t)PTRDIFF_MAX), -ENOMEM);
	assert_int_equal(sb.err, -ENOMEM);
	assert_string_equal(sb.buf, "again");
	bg_strbuf_release(&sb);
}

static void test_strbuf_realloc_failure(void **state)
{
	struct bg_strbuf sb = BG_STRBUF_INIT;
	char big[300];

	(void)state;
	/* The very first allocation fails: buf stays NULL. */
	realloc_fail_after = 0;
	assert_int_equal(bg_strbuf_puts(&sb, "x"), -ENOMEM);
	realloc_fail_after = -1;
	assert_null(sb.buf);
	assert_int_equal(sb.len, 0);
	assert_int_equal(sb.err, -ENOMEM);
	assert_int_equal(bg_strbuf_puts(&sb, "x"), -ENOMEM); /* sticky, even once memory is back */
	bg_strbuf_reset(&sb);
	assert_int_equal(bg_strbuf_puts(&sb, "keep"), 0);

	/* printf's grow-and-retry path fails: the old content is intact and terminated. */
	memset(big, 'p', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	realloc_calls = 0;
	realloc_fail_after = 0;
	assert_int_equal(bg_strbuf_printf(&sb, "%s", big), -ENOMEM);
	realloc_fail_after = -1;
	assert_int_equal(realloc_calls, 1);
	assert_int_equal(sb.err, -ENOMEM);
	assert_int_equal(sb.len, 4);
	assert_string_equal(sb.buf, "keep");

	/* Growth that fails keeps the content too. */
	bg_strbuf_reset(&sb);
	assert_int_equal(bg_strbuf_puts(&sb, "keep"), 0);
	realloc_fail_after = 0;
	assert_int_equal(bg_strbuf_append(&sb, big, sizeof(big) - 1), -ENOMEM);
	realloc_fail_after = -1;
	assert_string_equal(sb.buf, "keep");
	bg_strbuf_release(&sb);
}

static void test_strbuf_einval(void **state)
{
	struct bg_strbuf sb = BG_STRBUF_INIT;

	(void)state;
	assert_int_equal(bg_strbuf_append(NULL, "x", 1), -EINVAL);
	assert_int_equal(bg_strbuf_puts(NULL, "x"), -EINVAL);
	assert_int_equal(bg_strbuf_printf(NULL, "x"), -EINVAL);
	assert_int_equal(bg_strbuf_append(&sb, NULL, 1), -EINVAL);
	assert_int_equal(bg_strbuf_puts(&sb, NULL), -EINVAL);
	/* A caller's mistake, not an allocation failure: not sticky. */
	assert_int_equal(sb.err, 0);
	assert_int_equal(bg_strbuf_puts(&sb, "ok"), 0);
	assert_string_equal(sb.buf, "ok");
	bg_strbuf_release(&sb);
}

static void test_strbuf_truncate_release(void **state)
{
	struct bg_strbuf sb = BG_STRBUF_INIT;

	(void)state;
	bg_strbuf_truncate(&sb, 0); /* nothing allocated yet: harmless */
	bg_strbuf_truncate(NULL, 0);
	assert_int_equal(bg_strbuf_puts(&sb, "abcdef"), 0);
	bg_strbuf_truncate(&sb, 10); /* longer: no-op */
	assert_string_equal(sb.buf, "abcdef");
	bg_strbuf_truncate(&sb, 2);
	assert_string_equal(sb.buf, "ab");
	assert_int_equal(sb.len, 2);

	bg_strbuf_reset(&sb);
	assert_non_null(sb.buf); /* memory kept */
	assert_string_equal(sb.buf, "");

	bg_strbuf_release(&sb);
	assert_null(sb.buf);
	assert_int_equal(sb.len, 0);
	assert_int_equal(sb.cap, 0);
	assert_int_equal(sb.err, 0);
	bg_strbuf_release(&sb); /* twice is fine */
	bg_strbuf_release(NULL);
	bg_strbuf_reset(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_strbuf_append),
		cmocka_unit_test(test_strbuf_empty_append),
		cmocka_unit_test(test_strbuf_growth),
		cmocka_unit_test(test_strbuf_printf),
		cmocka_unit_test(test_strbuf_sticky_error),
		cmocka_unit_test(test_strbuf_realloc_failure),
		cmocka_unit_test(test_strbuf_einval),
		cmocka_unit_test(test_strbuf_truncate_release),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
