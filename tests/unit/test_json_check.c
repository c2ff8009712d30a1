// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_json_check.c - the checker checks itself: tests/lib/json_check.c must accept what RFC 8259
 * and the encoder's line rules allow and reject everything else, since the encoder tests, the
 * fuzzers and itest_valgrind trust its verdict. Each rule json_check.h lists has a case here
 * that would pass if the rule were dropped.
 *
 * Every test function is static, so one left out of main()'s table fails the build
 * (-Wunused-function with -Werror).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "json_check.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

struct doc {
	const char *s;
	size_t n;
};

/* A literal, its length without the terminating NUL (so that embedded NULs count). */
#define DOC(lit)                     \
	{                            \
		lit, sizeof(lit) - 1 \
	}

static void test_values(void **state)
{
	static const struct doc good[] = {
		DOC("{}"),
		DOC("[]"),
		DOC("{\"a\":[1,-2.5e+3,0,true,false,null,\"x\"]}"),
		DOC(" {\"a\" : {\"b\":\"\\u00e9\\ud83d\\ude00\\\"\\\\\\/\\b\\f\\n\\r\\t\"}} "),
		DOC("\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\""),
		DOC("0"),
		DOC("-0.0E-0"),
		DOC("\t\r\n 1 \n"),
		/* What the escaper writes for a NUL byte. */
		DOC("\"a\\u0000b\""),
		/* The largest u64 the agent writes (seq, cgroup_id). */
		DOC("18446744073709551615"),
		DOC("{\"cgroup_id\":18446744073709551615}"),
		/* A raw DEL or C1 character is valid JSON; only the line rules forbid it. */
		DOC("\"\x7f\xc2\x85\""),
		/* The same key in different objects. */
		DOC("{\"a\":{\"a\":1},\"b\":{\"a\":2}}"),
	};
	static const struct doc bad[] = {
		DOC(""),
		DOC(" "),
		DOC("{"),
		DOC("{\"a\":1,}"),
		DOC("[1,]"),
		DOC("{\"a\" 1}"),
		DOC("{a:1}"),
		DOC("\"raw\nnewline\""),
		DOC("\"raw\ttab\""),
		DOC("\"\x01\""),
		DOC("\"a\0b\""), /* a raw NUL is a raw control byte */
		DOC("\"bad escape \\x\""),
		DOC("\"short \\u12\""),
		DOC("\"lone high \\ud83d\""),
		DOC("\"lone high before a non-surrogate \\ud83d\\u0041\""),
		DOC("\"lone low \\ude00\""),
		DOC("\"two highs \\ud83d\\ud83d\""),
		DOC("\"lone \xff\""),
		DOC("\"truncated \xe2\x82\""),
		DOC("\"overlong \xc0\xaf\""),
		DOC("\"overlong \xe0\x80\xaf\""),
		DOC("\"overlong \xf0\x80\x80\xaf\""),
		DOC("\"surrogate \xed\xa0\x80\""),
		DOC("\"too big \xf4\x90\x80\x80\""),
		DOC("\"lead byte \xf8\x88\x80\x80\x80\""),
		DOC("\"unterminated"),
		DOC("01"),
		DOC("-01"),
		DOC("1."),
		DOC("1e"),
		DOC("+1"),
		DOC("-"),
		DOC(".5"),
		DOC("NaN"),
		DOC("Infinity"),
		DOC("1e400"), /* no double holds it */
		DOC("tru"),
		DOC("nul"),
		DOC("True"),
		DOC("{}{}"),
		DOC("{} x"),
		DOC("1 2"),
		DOC("'single'"),
		DOC("\xef\xbb\xbf{}"), /* a byte order mark is not whitespace */
		DOC("\f{}"),
		/* A key twice, also when only the escapes differ: how a field is forged. */
		DOC("{\"verdict\":\"deny\",\"verdict\":\"allow\"}"),
		DOC("{\"a\":1,\"\\u0061\":2}"),
		DOC("{\"x\":{\"a\":1,\"a\":1}}"),
		/* A NUL in a key: a reader in C would see "a". */
		DOC("{\"a\\u0000\":1}"),
	};
	struct jc j;
	size_t k;

	(void)state;
	for (k = 0; k < ARRAY_SIZE(good); k++) {
		if (jc_value(&j, good[k].s, good[k].n))
			fail_msg("checker rejected valid JSON #%zu: %s (%s at %zu)", k, good[k].s,
				 j.err, j.err_pos);
		assert_null(j.err);
	}
	for (k = 0; k < ARRAY_SIZE(bad); k++) {
		if (!jc_value(&j, bad[k].s, bad[k].n))
			fail_msg("checker accepted invalid JSON #%zu: %s", k, bad[k].s);
		assert_non_null(j.err);
		assert_true(j.err_pos <= bad[k].n);
	}
}

/* Build n nested arrays around a 1. */
static size_t nest(char *buf, int n)
{
	int i;

	for (i = 0; i < n; i++)
		buf[i] = '[';
	buf[n] = '1';
	for (i = 0; i < n; i++)
		buf[n + 1 + i] = ']';
	return 2 * (size_t)n + 1;
}

/* jansson alone would allow 2048 levels: the checker's limit is its own rule. */
static void test_depth(void **state)
{
	char buf[2 * (JC_MAX_DEPTH + 2) + 16];
	struct jc j;
	size_t n;

	(void)state;
	n = nest(buf, JC_MAX_DEPTH);
	assert_int_equal(jc_value(&j, buf, n), 0);
	n = nest(buf, JC_MAX_DEPTH + 1);
	assert_int_equal(jc_value(&j, buf, n), -1);
	assert_non_null(strstr(j.err, "deep"));

	/* Inside an object, the object counts as the first level. */
	memcpy(buf, "{\"a\":", 5);
	n = 5 + nest(buf + 5, JC_MAX_DEPTH - 1);
	buf[n++] = '}';
	assert_int_equal(jc_value(&j, buf, n), 0);
	memcpy(buf, "{\"a\":", 5);
	n = 5 + nest(buf + 5, JC_MAX_DEPTH);
	buf[n++] = '}';
	assert_int_equal(jc_value(&j, buf, n), -1);
	assert_non_null(strstr(j.err, "deep"));
}

static void assert_member(const struct jc *j, size_t i, const char *key, const char *raw_key,
			  const char *raw_val)
{
	const struct jc_member *m;

	assert_true(i < j->n_top);
	m = &j->top[i];
	assert_string_equal(m->key, key);
	assert_int_equal(m->key_len, strlen(raw_key));
	assert_memory_equal(j->s + m->key_off, raw_key, m->key_len);
	assert_int_equal(m->val_len, strlen(raw_val));
	assert_memory_equal(j->s + m->val_off, raw_val, m->val_len);
	assert_ptr_equal(jc_get(j, key), m);
}

/* Members in document order, keys decoded, spans exactly as written. */
static void test_members(void **state)
{
	static const char doc[] = " { \"z\" : 1 ,\"y\":{\"z\":2, \"q\":[3,{}]},\"w\":\"v\\\"\","
				  "\"\\u0061b\":null,\"e\":-1.5e3 } ";
	struct jc j;

	(void)state;
	assert_int_equal(jc_value(&j, doc, strlen(doc)), 0);
	assert_true(j.is_object);
	assert_int_equal(j.n_top, 5);
	assert_member(&j, 0, "z", "\"z\"", "1");
	assert_member(&j, 1, "y", "\"y\"", "{\"z\":2, \"q\":[3,{}]}");
	assert_member(&j, 2, "w", "\"w\"", "\"v\\\"\"");
	assert_member(&j, 3, "ab", "\"\\u0061b\"", "null");
	assert_member(&j, 4, "e", "\"e\"", "-1.5e3");
	assert_null(jc_get(&j, "q")); /* nested keys are not top-level members */
	assert_null(jc_get(&j, "\\u0061b"));

	assert_int_equal(jc_value(&j, "[1,2]", 5), 0);
	assert_false(j.is_object);
	assert_int_equal(j.n_top, 0);
	assert_int_equal(jc_value(&j, "{}", 2), 0);
	assert_true(j.is_object);
	assert_int_equal(j.n_top, 0);
}

static void test_members_limits(void **state)
{
	char buf[JC_MAX_MEMBERS * 12 + 16], key[JC_MAX_KEY + 8];
	size_t n = 0;
	struct jc j;
	int i;

	(void)state;
	buf[n++] = '{';
	for (i = 0; i < JC_MAX_MEMBERS; i++)
		n += sprintf(buf + n, "%s\"k%d\":%d", i ? "," : "", i, i);
	buf[n++] = '}';
	assert_int_equal(jc_value(&j, buf, n), 0);
	assert_int_equal(j.n_top, JC_MAX_MEMBERS);
	assert_member(&j, JC_MAX_MEMBERS - 1, "k127", "\"k127\"", "127");

	/* One more member than the checker keeps is an error, never a silent truncation. */
	n--;
	n += sprintf(buf + n, ",\"more\":1}");
	assert_int_equal(jc_value(&j, buf, n), -1);
	assert_non_null(strstr(j.err, "too many"));

	memset(key, 'k', sizeof(key));
	n = (size_t)sprintf(buf, "{\"%.*s\":1}", JC_MAX_KEY - 1, key);
	assert_int_equal(jc_value(&j, buf, n), 0);
	n = (size_t)sprintf(buf, "{\"%.*s\":1}", JC_MAX_KEY, key);
	assert_int_equal(jc_value(&j, buf, n), -1);
	assert_non_null(strstr(j.err, "too long"));
}

static void test_line_rules(void **state)
{
	static const struct {
		struct doc d;
		int want_nl;
		const char *why; /* NULL: accepted */
		size_t where;
	} cases[] = {
		{ DOC("a b\n"), 1, NULL, 0 },
		{ DOC("a b"), 0, NULL, 0 },
		{ DOC(""), 0, NULL, 0 },
		{ DOC("caf\xc3\xa9 \xf0\x9f\x98\x80 \xc2\xa0\n"), 1, NULL, 0 },
		{ DOC("a b"), 1, "does not end in a newline", 3 },
		{ DOC(""), 1, "does not end in a newline", 0 },
		{ DOC("a\nb\n"), 1, "newline inside", 1 },
		{ DOC("a\n"), 0, "newline inside", 1 },
		{ DOC("a\rb\n"), 1, "control byte", 1 },
		{ DOC("a\0b\n"), 1, "control byte", 1 },
		{ DOC("\x1b[31m\n"), 1, "control byte", 0 },
		{ DOC("ab\x7f\n"), 1, "control byte", 2 },
		{ DOC("a\xc2\x85\n"), 1, "C1", 1 },
		{ DOC("a\xc2\x9b\n"), 1, "C1", 1 },
		{ DOC("ab\xe2\x80\xa8\n"), 1, "separator", 2 },
		{ DOC("\xe2\x80\xa9\n"), 1, "separator", 0 },
		{ DOC("a\xff\n"), 1, "invalid UTF-8", 1 },
		{ DOC("a\xe2\x82\n"), 1, "invalid UTF-8", 1 },
		{ DOC("a\xed\xa0\x80\n"), 1, "invalid UTF-8", 1 },
	};
	const char *why;
	size_t k, where;

	(void)state;
	for (k = 0; k < ARRAY_SIZE(cases); k++) {
		why = jc_line_rules(cases[k].d.s, cases[k].d.n, cases[k].want_nl, &where);
		if (!cases[k].why) {
			if (why)
				fail_msg("case %zu rejected: %s at %zu", k, why, where);
			continue;
		}
		if (!why || !strstr(why, cases[k].why))
			fail_msg("case %zu: got \"%s\", want \"%s\"", k, why ? why : "(accepted)",
				 cases[k].why);
		assert_int_equal(where, cases[k].where);
	}
}

static void test_line(void **state)
{
	static const struct doc good[] = {
		DOC("{}\n"),
		DOC("{\"a\":1,\"b\":\"\\u0001\\u2028\\u0085\\n\"}\n"),
		DOC("{\"c\":\"caf\xc3\xa9\"}\n"),
	};
	static const struct {
		struct doc d;
		const char *why;
	} bad[] = {
		{ DOC("{}"), "newline" },
		{ DOC("{}\n\n"), "newline inside" },
		{ DOC("{}\r\n"), "control" },
		{ DOC("{\"a\":\"\x7f\"}\n"), "control" },
		{ DOC("{\"a\":\"\xc2\x85\"}\n"), "C1" },
		{ DOC("{\"a\":\"\xe2\x80\xa8\"}\n"), "separator" },
		/* Valid as a value, not as a line: NUL escapes, and anything but one object. */
		{ DOC("{\"a\":\"x\\u0000y\"}\n"), "u0000" },
		{ DOC("{\"a\":[\"\\u0000\"]}\n"), "u0000" },
		{ DOC("[1]\n"), "not a JSON object" },
		{ DOC("\"s\"\n"), "not a JSON object" },
		{ DOC("{}{}\n"), "end of file" },
		{ DOC("{\"a\":1,\"a\":2}\n"), "duplicate" },
		{ DOC("{\"a\":1\n"), "expected" },
	};
	struct jc j;
	size_t k;

	(void)state;
	for (k = 0; k < ARRAY_SIZE(good); k++)
		if (jc_line(&j, good[k].s, good[k].n))
			fail_msg("line %zu rejected: %s at %zu", k, j.err, j.err_pos);
	assert_int_equal(j.n_top, 1);
	assert_member(&j, 0, "c", "\"c\"", "\"caf\xc3\xa9\"");
	for (k = 0; k < ARRAY_SIZE(bad); k++) {
		if (!jc_line(&j, bad[k].d.s, bad[k].d.n))
			fail_msg("line %zu accepted: %s", k, bad[k].d.s);
		if (!strstr(j.err, bad[k].why))
			fail_msg("line %zu: got \"%s\", want \"%s\"", k, j.err, bad[k].why);
	}
}

static void test_strings(void **state)
{
	static const char text[] = "k=\"a b\\\"c\" x=\"\\ud83d\\ude00\" y=\"\\ud83d\" z=\"open";
	unsigned char out[64];
	const char *err = NULL;
	size_t end;

	(void)state;
	/* jc_string_end: where a string inside a text line ends. */
	end = jc_string_end(text, strlen(text), 2, &err);
	assert_int_equal(end, 10);
	end = jc_string_end(text, strlen(text), 13, &err);
	assert_int_equal(end, 27);
	assert_int_equal(jc_string_end(text, strlen(text), 30, &err), 0);
	assert_non_null(err);
	err = NULL;
	assert_int_equal(jc_string_end(text, strlen(text), 41, &err), 0);
	assert_string_equal(err, "unterminated string");
	assert_int_equal(jc_string_end(text, strlen(text), 0, &err), 0); /* not at a quote */
	assert_int_equal(jc_string_end("\"\\u0000\"", 8, 0, &err), 0);

	/* jc_decode: escapes and pairs decoded; NUL kept; a span that is not one string fails. */
	assert_int_equal(jc_decode(text, 2, 8, out, sizeof(out)), 5);
	assert_memory_equal(out, "a b\"c", 5);
	assert_int_equal(jc_decode(text, 13, 14, out, sizeof(out)), 4);
	assert_memory_equal(out, "\xf0\x9f\x98\x80", 4);
	assert_int_equal(jc_decode("\"a\\u0000b\"", 0, 10, out, sizeof(out)), 3);
	assert_memory_equal(out, "a\0b", 3);
	assert_int_equal(jc_decode("\"abcd\"", 0, 6, out, 3), (size_t)-1);
	assert_int_equal(jc_decode("\"ab\" ", 0, 5, out, sizeof(out)), (size_t)-1);
	assert_int_equal(jc_decode(" \"ab\"", 0, 5, out, sizeof(out)), (size_t)-1);
	assert_int_equal(jc_decode("12", 0, 2, out, sizeof(out)), (size_t)-1);
	assert_int_equal(jc_decode("\"\\ud83d\"", 0, 8, out, sizeof(out)), (size_t)-1);
}

/* The encoder's promise for invalid bytes: one U+FFFD each, valid sequences kept. */
static void test_expected(void **state)
{
	static const struct {
		struct doc in, want;
	} cases[] = {
		{ DOC("plain"), DOC("plain") },
		{ DOC("caf\xc3\xa9"), DOC("caf\xc3\xa9") },
		{ DOC("a\xff"
		      "b"),
		  DOC("a\xef\xbf\xbd"
		      "b") },
		{ DOC("\xe2\x82"), DOC("\xef\xbf\xbd\xef\xbf\xbd") },
		{ DOC("\xed\xa0\x80"), DOC("\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd") },
		{ DOC("\xf0\x9f\x98\x80\x80"), DOC("\xf0\x9f\x98\x80\xef\xbf\xbd") },
		{ DOC("a\0b"), DOC("a\0b") },
	};
	unsigned char out[64];
	size_t k, n;
	unsigned int cp;

	(void)state;
	for (k = 0; k < ARRAY_SIZE(cases); k++) {
		n = jc_expected((const unsigned char *)cases[k].in.s, cases[k].in.n, out);
		assert_int_equal(n, cases[k].want.n);
		assert_memory_equal(out, cases[k].want.s, n);
	}
	assert_int_equal(jc_utf8_seq((const unsigned char *)"\xf4\x8f\xbf\xbf", 4, &cp), 4);
	assert_int_equal(cp, 0x10ffff);
	assert_int_equal(jc_utf8_seq((const unsigned char *)"\xf4\x8f\xbf", 3, &cp), 0);
	assert_int_equal(jc_utf8_seq((const unsigned char *)"\xc1\xbf", 2, &cp), 0);
	assert_int_equal(jc_utf8_seq((const unsigned char *)"", 0, &cp), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),	   cmocka_unit_test(test_depth),
		cmocka_unit_test(test_members),	   cmocka_unit_test(test_members_limits),
		cmocka_unit_test(test_line_rules), cmocka_unit_test(test_line),
		cmocka_unit_test(test_strings),	   cmocka_unit_test(test_expected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
