// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_event_fmt.c - unit tests for agent/strbuf.c and agent/event_fmt.c.
 *
 * The encoder's promise is that any struct bg_event, however hostile, gives exactly one line of
 * strict JSON. So each JSON line here goes through a small strict parser written for this test
 * (RFC 8259 grammar, strict UTF-8 with its own decoder, paired surrogate escapes) and its
 * top-level keys are compared, in order, to the documented field list. The parser is itself
 * tested first, on documents it must reject.
 *
 * Every test function is static, so one left out of main()'s table fails the build
 * (-Wunused-function with -Werror).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "event_fmt.h"
#include "strbuf.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- allocation failures ------------------------------------------------------------------- */

/*
 * strbuf's allocation seam (a weak symbol in strbuf.c), replaced so that a growth can fail in
 * the middle of a line, which is the case the rollback exists for. This is the only mock.
 * -1: never fail; n >= 0: let n more calls through, then fail every call until set back.
 */
static int realloc_fail_after = -1;
static int realloc_calls;

void *bg_strbuf_realloc(void *ptr, size_t size)
{
	realloc_calls++;
	if (realloc_fail_after == 0) {
		errno = ENOMEM;
		return NULL;
	}
	if (realloc_fail_after > 0)
		realloc_fail_after--;
	return realloc(ptr, size);
}

/* ---- a strict JSON checker ------------------------------------------------------------------ */

#define J_MAX_KEYS 64
#define J_MAX_DEPTH 32

struct jspan {
	size_t off, len;
};

struct jdoc {
	const char *s;
	size_t n, i;
	int depth;
	int top_is_object;
	size_t nkeys;
	struct jspan key[J_MAX_KEYS]; /* top-level keys, without quotes, raw */
	struct jspan val[J_MAX_KEYS]; /* their values, raw JSON text */
};

static bool j_value(struct jdoc *d);

static int j_peek(const struct jdoc *d)
{
	return d->i < d->n ? (unsigned char)d->s[d->i] : -1;
}

static void j_ws(struct jdoc *d)
{
	while (d->i < d->n && strchr(" \t\n\r", d->s[d->i]) && d->s[d->i])
		d->i++;
}

static bool j_lit(struct jdoc *d, const char *lit)
{
	size_t n = strlen(lit);

	if (d->n - d->i < n || memcmp(d->s + d->i, lit, n))
		return false;
	d->i += n;
	return true;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool j_hex4(struct jdoc *d, unsigned int *out)
{
	unsigned int v = 0;
	int k, h;

	for (k = 0; k < 4; k++) {
		h = hexval(j_peek(d));
		if (h < 0)
			return false;
		v = v * 16 + (unsigned int)h;
		d->i++;
	}
	*out = v;
	return true;
}

/*
 * Strict UTF-8, decoded the long way (length from the lead byte, then range checks on the
 * value) so that it does not share its logic with the table-driven encoder under test.
 */
static bool j_utf8(struct jdoc *d)
{
	const unsigned char *s = (const unsigned char *)d->s + d->i;
	size_t left = d->n - d->i, len, k;
	unsigned int cp, min;

	if (s[0] < 0x80) {
		len = 1;
		cp = s[0];
		min = 0;
	} else if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		cp = s[0] & 0x1f;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		cp = s[0] & 0x0f;
		min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		cp = s[0] & 0x07;
		min = 0x10000;
	} else {
		return false;
	}
	if (left < len)
		return false;
	for (k = 1; k < len; k++) {
		if ((s[k] & 0xc0) != 0x80)
			return false;
		cp = (cp << 6) | (s[k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return false;
	d->i += len;
	return true;
}

static bool j_string(struct jdoc *d)
{
	unsigned int u, lo;
	int c;

	if (j_peek(d) != '"')
		return false;
	d->i++;
	for (;;) {
		c = j_peek(d);
		if (c < 0)
			return false;
		if (c == '"') {
			d->i++;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c != '\\') {
			if (!j_utf8(d))
				return false;
			continue;
		}
		d->i++;
		c = j_peek(d);
		if (c < 0)
			return false;
		if (strchr("\"\\/bfnrt", c) && c) {
			d->i++;
			continue;
		}
		if (c != 'u')
			return false;
		d->i++;
		if (!j_hex4(d, &u))
			return false;
		if (u >= 0xdc00 && u <= 0xdfff)
			return false; /* lone low surrogate */
		if (u >= 0xd800 && u <= 0xdbff) {
			if (!j_lit(d, "\\u") || !j_hex4(d, &lo) || lo < 0xdc00 || lo > 0xdfff)
				return false;
		}
	}
}

static bool j_number(struct jdoc *d)
{
	size_t start;

	if (j_peek(d) == '-')
		d->i++;
	if (j_peek(d) == '0') {
		d->i++;
	} else if (j_peek(d) >= '1' && j_peek(d) <= '9') {
		while (j_peek(d) >= '0' && j_peek(d) <= '9')
			d->i++;
	} else {
		return false;
	}
	if (j_peek(d) == '.') {
		d->i++;
		start = d->i;
		while (j_peek(d) >= '0' && j_peek(d) <= '9')
			d->i++;
		if (d->i == start)
			return false;
	}
	if (j_peek(d) == 'e' || j_peek(d) == 'E') {
		d->i++;
		if (j_peek(d) == '+' || j_peek(d) == '-')
			d->i++;
		start = d->i;
		while (j_peek(d) >= '0' && j_peek(d) <= '9')
			d->i++;
		if (d->i == start)
			return false;
	}
	return true;
}

static bool j_object(struct jdoc *d)
{
	bool top = d->depth == 1;
	size_t koff, voff;

	d->i++; /* '{' */
	j_ws(d);
	if (j_peek(d) == '}') {
		d->i++;
		return true;
	}
	for (;;) {
		j_ws(d);
		koff = d->i;
		if (!j_string(d))
			return false;
		if (top) {
			if (d->nkeys == J_MAX_KEYS)
				return false;
			d->key[d->nkeys].off = koff + 1;
			d->key[d->nkeys].len = d->i - koff - 2;
		}
		j_ws(d);
		if (j_peek(d) != ':')
			return false;
		d->i++;
		j_ws(d);
		voff = d->i;
		if (!j_value(d))
			return false;
		if (top) {
			d->val[d->nkeys].off = voff;
			d->val[d->nkeys].len = d->i - voff;
			d->nkeys++;
		}
		j_ws(d);
		if (j_peek(d) == '}') {
			d->i++;
			return true;
		}
		if (j_peek(d) != ',')
			return false;
		d->i++;
	}
}

static bool j_array(struct jdoc *d)
{
	d->i++; /* '[' */
	j_ws(d);
	if (j_peek(d) == ']') {
		d->i++;
		return true;
	}
	for (;;) {
		j_ws(d);
		if (!j_value(d))
			return false;
		j_ws(d);
		if (j_peek(d) == ']') {
			d->i++;
			return true;
		}
		if (j_peek(d) != ',')
			return false;
		d->i++;
	}
}

static bool j_value(struct jdoc *d)
{
	bool ok;

	if (++d->depth > J_MAX_DEPTH)
		return false;
	switch (j_peek(d)) {
	case '{':
		if (d->depth == 1)
			d->top_is_object = 1;
		ok = j_object(d);
		break;
	case '[':
		ok = j_array(d);
		break;
	case '"':
		ok = j_string(d);
		break;
	case 't':
		ok = j_lit(d, "true");
		break;
	case 'f':
		ok = j_lit(d, "false");
		break;
	case 'n':
		ok = j_lit(d, "null");
		break;
	default:
		ok = j_number(d);
		break;
	}
	d->depth--;
	return ok;
}

/* Is s[0..n) exactly one JSON value (with optional surrounding whitespace)? */
static bool json_parse(const char *s, size_t n, struct jdoc *d)
{
	memset(d, 0, sizeof(*d));
	d->s = s;
	d->n = n;
	j_ws(d);
	if (!j_value(d))
		return false;
	j_ws(d);
	return d->i == d->n;
}

static bool json_valid(const char *s, size_t n)
{
	struct jdoc d;

	return json_parse(s, n, &d);
}

/* The raw JSON text of top-level member @key, copied to buf; NULL if absent. */
static const char *jfield(const struct jdoc *d, const char *key, char *buf, size_t size)
{
	size_t k;

	for (k = 0; k < d->nkeys; k++) {
		if (d->key[k].len != strlen(key) ||
		    memcmp(d->s + d->key[k].off, key, d->key[k].len))
			continue;
		if (d->val[k].len >= size)
			return NULL;
		memcpy(buf, d->s + d->val[k].off, d->val[k].len);
		buf[d->val[k].len] = '\0';
		return buf;
	}
	return NULL;
}

static void assert_field(const struct jdoc *d, const char *key, const char *want)
{
	char buf[1024];
	const char *got = jfield(d, key, buf, sizeof(buf));

	if (!got)
		fail_msg("field \"%s\" missing in %.*s", key, (int)d->n, d->s);
	assert_string_equal(got, want);
}

static void assert_no_field(const struct jdoc *d, const char *key)
{
	char buf[1024];

	if (jfield(d, key, buf, sizeof(buf)))
		fail_msg("unexpected field \"%s\" in %.*s", key, (int)d->n, d->s);
}

/* The line is one line: its only '\n' is the last byte, and there is no NUL inside it. */
static void assert_one_line(const struct bg_strbuf *sb, size_t start)
{
	const char *line = sb->buf + start;
	size_t n = sb->len - start;

	assert_non_null(sb->buf);
	assert_true(n > 0);
	assert_int_equal(strlen(line), n);
	assert_int_equal(line[n - 1], '\n');
	assert_ptr_equal(memchr(line, '\n', n), line + n - 1);
	assert_null(memchr(line, '\r', n));
}

/* One line, strict JSON, a top-level object. @d is filled for field checks. */
static void assert_json_line(const struct bg_strbuf *sb, size_t start, struct jdoc *d)
{
	assert_one_line(sb, start);
	if (!json_parse(sb->buf + start, sb->len - start - 1, d))
		fail_msg("invalid JSON at byte %zu: %s", d->i, sb->buf + start);
	assert_true(d->top_is_object);
}

/* A text line: one line, valid UTF-8, no control byte anywhere but the final '\n'. */
static void assert_text_line(const struct bg_strbuf *sb, size_t start)
{
	struct jdoc d = { .s = sb->buf + start, .n = sb->len - start - 1 };

	assert_one_line(sb, start);
	while (d.i < d.n) {
		int c = j_peek(&d);

		if (c < 0x20 || c == 0x7f)
			fail_msg("control byte 0x%02x at %zu in text line %s", c, d.i, d.s);
		if (!j_utf8(&d))
			fail_msg("invalid UTF-8 at %zu in text line %s", d.i, d.s);
	}
}

static const char *const event_keys[] = {
	"ts",	"seq", "event", "verdict",   "mode",  "rule",	"expose", "action", "hook", "pid",
	"comm", "uid", "gid",	"cgroup_id", "netns", "family", "proto",  "addr",   "port",
};

/* The top-level keys are exactly the documented ones, in order, then the optional ones. */
static void assert_event_keys(const struct jdoc *d, int hint, int confined)
{
	size_t want = ARRAY_SIZE(event_keys) + !!hint + !!confined, k;
	char got[64];

	assert_int_equal(d->nkeys, want);
	for (k = 0; k < want; k++) {
		const char *key = k < ARRAY_SIZE(event_keys)		? event_keys[k] :
				  (k == ARRAY_SIZE(event_keys) && hint) ? "hint" :
									  "confined_addr";

		assert_true(d->key[k].len < sizeof(got));
		memcpy(got, d->s + d->key[k].off, d->key[k].len);
		got[d->key[k].len] = '\0';
		assert_string_equal(got, key);
	}
}

/* ---- fixtures ------------------------------------------------------------------------------- */

/* 2026-11-27T18:43:44.123456789Z */
static const struct timespec wall = { .tv_sec = 1795805024, .tv_nsec = 123456789 };
#define WALL_STR "2026-11-27T18:43:44.123456Z"

static void set_v4(__u8 addr[16], __u8 a, __u8 b, __u8 c, __u8 e)
{
	memset(addr, 0, 16);
	addr[10] = 0xff;
	addr[11] = 0xff;
	addr[12] = a;
	addr[13] = b;
	addr[14] = c;
	addr[15] = e;
}

/* Distinct, wide values, so a swapped or narrowed field shows. */
static void make_event(struct bg_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->seq = (1ull << 40) + 5;
	ev->ts_ns = 77;
	ev->cgroup_id = (1ull << 32) + 1;
	ev->pid = 1234;
	ev->uid = 1001;
	ev->gid = 1002;
	ev->netns = 4026531840u;
	set_v4(ev->addr, 0, 0, 0, 0);
	ev->port = 3306;
	ev->rule_id = 3;
	ev->type = BG_EVENT_BIND;
	ev->family = BG_AF_INET;
	ev->proto = BG_PROTO_TCP;
	ev->verdict = BG_VERDICT_DENY;
	ev->action = BG_ACTION_DENY;
	ev->expose = BG_EXPOSE_LOOPBACK;
	ev->mode = BG_MODE_ENFORCE;
	ev->hook = BG_HOOK_BIND;
	ev->class = BG_CLASS_WILDCARD;
	memcpy(ev->comm, "mysqld", 7);
}

static char mysql_service[] = "mysql";
static char mysql_software[] = "MariaDB";
static char mysql_hint[] = "Set bind-address=127.0.0.1 in my.cnf";

static void make_rule(struct bg_policy_rule *r)
{
	memset(r, 0, sizeof(*r));
	r->port_lo = 3306;
	r->port_hi = 3306;
	r->protos = BG_PROTO_BIT(BG_PROTO_TCP);
	r->expose = BG_EXPOSE_LOOPBACK;
	r->action = BG_ACTION_DENY;
	r->service = mysql_service;
	r->software = mysql_software;
	r->hint = mysql_hint;
}

#define BASE_JSON                                                                                 \
	"{\"ts\":\"" WALL_STR "\",\"seq\":1099511627781,\"event\":\"bind\",\"verdict\":\"deny\"," \
	"\"mode\":\"enforce\",\"rule\":\"mysql\",\"expose\":\"loopback\",\"action\":\"deny\","    \
	"\"hook\":\"bind\",\"pid\":1234,\"comm\":\"mysqld\",\"uid\":1001,\"gid\":1002,"           \
	"\"cgroup_id\":4294967297,\"netns\":4026531840,\"family\":\"inet\",\"proto\":\"tcp\","    \
	"\"addr\":\"0.0.0.0\",\"port\":3306,\"hint\":\"Set bind-address=127.0.0.1 in my.cnf\"}\n"

#define BASE_TEXT                                                                      \
	WALL_STR " DENY bind tcp 0.0.0.0:3306 rule=mysql expose=loopback action=deny " \
		 "mode=enforce pid=1234 comm=\"mysqld\" uid=1001 cgroup=4294967297 "   \
		 "netns=4026531840 hint=\"Set bind-address=127.0.0.1 in my.cnf\"\n"

/* Format one event into a fresh buffer and check the line's shape for the format. */
static void format_one(struct bg_strbuf *sb, int format, const struct bg_event *ev,
		       const struct bg_policy_rule *rule, struct jdoc *d)
{
	bg_strbuf_reset(sb);
	assert_int_equal(bg_event_format(sb, format, ev, rule, &wall), 0);
	assert_int_equal(sb->err, 0);
	if (format == BG_FORMAT_JSON)
		assert_json_line(sb, 0, d);
	else
		assert_text_line(sb, 0);
}

/* ---- the checker checks itself -------------------------------------------------------------- */

static void test_json_checker(void **state)
{
	static const char *const good[] = {
		"{}",
		"[]",
		"{\"a\":[1,-2.5e+3,0,true,false,null,\"x\"]}",
		" {\"a\" : {\"b\":\"\\u00e9\\ud83d\\ude00\\\"\\\\\\/\\b\\f\\n\\r\\t\"}} ",
		"\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf\"",
		"0",
		"-0.0E-0",
	};
	static const char *const bad[] = {
		"",
		"{",
		"{\"a\":1,}",
		"[1,]",
		"{\"a\" 1}",
		"{a:1}",
		"\"raw\nnewline\"",
		"\"raw\ttab\"",
		"\"\x01\"",
		"\"bad escape \\x\"",
		"\"short \\u12\"",
		"\"lone high \\ud83d\"",
		"\"lone low \\ude00\"",
		"\"lone \xff\"",
		"\"truncated \xe2\x82\"",
		"\"overlong \xc0\xaf\"",
		"\"overlong \xe0\x80\xaf\"",
		"\"surrogate \xed\xa0\x80\"",
		"\"too big \xf4\x90\x80\x80\"",
		"\"unterminated",
		"01",
		"1.",
		"1e",
		"+1",
		"tru",
		"nul",
		"{}{}",
		"{} x",
		"'single'",
	};
	struct jdoc d;
	size_t k;

	(void)state;
	for (k = 0; k < ARRAY_SIZE(good); k++) {
		if (!json_valid(good[k], strlen(good[k])))
			fail_msg("checker rejected valid JSON #%zu: %s", k, good[k]);
	}
	for (k = 0; k < ARRAY_SIZE(bad); k++) {
		if (json_valid(bad[k], strlen(bad[k])))
			fail_msg("checker accepted invalid JSON #%zu: %s", k, bad[k]);
	}
	/* Embedded NUL inside a string is a raw control byte. */
	assert_false(json_valid("\"a\0b\"", 5));

	assert_true(json_parse("{\"x\":1,\"y\":{\"z\":2},\"w\":\"v\"}", 27, &d));
	assert_int_equal(d.nkeys, 3);
	assert_field(&d, "x", "1");
	assert_field(&d, "y", "{\"z\":2}");
	assert_field(&d, "w", "\"v\"");
	assert_no_field(&d, "z");
}

/* ---- strbuf --------------------------------------------------------------------------------- */

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

/* ---- bg_json_string ------------------------------------------------------------------------- */

struct esc_case {
	const char *in;
	size_t len;
	const char *want; /* with the quotes */
};

#define ESC(s, w)                   \
	{                           \
		s, sizeof(s) - 1, w \
	}

static const struct esc_case esc_cases[] = {
	ESC("", "\"\""),
	ESC("plain text 123", "\"plain text 123\""),
	ESC("a\"b\\c/d", "\"a\\\"b\\\\c/d\""),
	ESC("\n\r\t\b\f", "\"\\n\\r\\t\\b\\f\""),
	ESC("\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\""),
	ESC("a\0b", "\"a\\u0000b\""),
	ESC("\x1b[31mred", "\"\\u001b[31mred\""),
	/* Valid UTF-8 passes through: 2, 3 and 4 bytes, and the very last code point. */
	ESC("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
	    "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""),
	ESC("\xf4\x8f\xbf\xbf", "\"\xf4\x8f\xbf\xbf\""),
	ESC("\xed\x9f\xbf", "\"\xed\x9f\xbf\""), /* U+D7FF, just below the surrogates */
	ESC("\xee\x80\x80", "\"\xee\x80\x80\""), /* U+E000, just above */
	/* ...except C1 controls and the line separators, which are escaped. */
	ESC("\xc2\x80\xc2\x85\xc2\x9b\xc2\x9f\xc2\xa0", "\"\\u0080\\u0085\\u009b\\u009f\xc2\xa0\""),
	ESC("a\xe2\x80\xa8"
	    "b\xe2\x80\xa9",
	    "\"a\\u2028b\\u2029\""),
	/* Each invalid byte becomes one \ufffd. */
	ESC("\xff", "\"\\ufffd\""),
	ESC("a\xff"
	    "b",
	    "\"a\\ufffdb\""),
	ESC("\xe2\x82", "\"\\ufffd\\ufffd\""),
	ESC("\xe2\x82z", "\"\\ufffd\\ufffdz\""),
	ESC("\xc0\xaf", "\"\\ufffd\\ufffd\""),
	ESC("\xc1\xbf", "\"\\ufffd\\ufffd\""),
	ESC("\xe0\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\""),
	ESC("\xf0\x80\x80\xaf", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""),
	ESC("\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""),
	ESC("\xed\xbf\xbf", "\"\\ufffd\\ufffd\\ufffd\""),
	ESC("\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""),
	ESC("\xf5\x80\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""),
	ESC("\x80", "\"\\ufffd\""),
	ESC("\xc3", "\"\\ufffd\""),
	/* A bad byte must not swallow a following quote or newline. */
	ESC("\xc3\"", "\"\\ufffd\\\"\""),
	ESC("\xe2\n", "\"\\ufffd\\n\""),
	ESC("\xf0\x9f\x98\"", "\"\\ufffd\\ufffd\\ufffd\\\"\""),
};

static void test_json_string(void **state)
{
	struct bg_strbuf sb = BG_STRBUF_INIT;
	size_t k;

	(void)state;
	for (k = 0; k < ARRAY_SIZE(esc_cases); k++) {
		const struct esc_case *c = &esc_cases[k];

		bg_strbuf_reset(&sb);
		assert_int_equal(bg_json_string(&sb, c->in, c->len), 0);
		if (strcmp(sb.buf, c->want))
			fail_msg("case %zu: got %s want %s", k, sb.buf, c->want);
		assert_int_equal(sb.len, strlen(c->want));
		if (!json_valid(sb.buf, sb.len))
			fail_msg("case %zu: not a valid JSON string: %s", k, sb.buf);
		assert_null(memchr(sb.buf, '\n', sb.len));
	}
	bg_strbuf_release(&sb);
}

/* Every single byte value, and every pair, gives a valid JSON string. */
static void test_json_string_all_bytes(void **state)
{
	struct bg_strbuf sb = BG_STRBUF_INIT;
	char in[3];
	unsigned int a, b;

	(void)state;
	for (a = 0; a < 256; a++) {
		for (b = 0; b < 256; b++) {
			in[0] = (char)a;
			in[1] = (char)b;
			in[2] = '"';
			bg_strbuf_reset(&sb);
			assert_int_equal(bg_json_string(&sb, in, 3), 0);
			if (!json_valid(sb.buf, sb.len))
				fail_msg("bytes %02x %02x: invalid JSON %s", a, b, sb.buf);
			assert_null(memchr(sb.buf, '\n', sb.len));
		}
	}
	bg_strbuf_release(&sb);
}

static void test_json_string_args(void **state)
{
	struct bg_strbuf sb = BG_STRBUF_INIT;

	(void)state;
	assert_int_equal(bg_json_string(NULL, "x", 1), -EINVAL);
	assert_int_equal(bg_json_string(&sb, NULL, 1), -EINVAL);
	assert_null(sb.buf);
	assert_int_equal(bg_json_string(&sb, NULL, 0), 0);
	assert_string_equal(sb.buf, "\"\"");
	/* Appends: earlier content stays. */
	assert_int_equal(bg_json_string(&sb, "a", 1), 0);
	assert_string_equal(sb.buf, "\"\"\"a\"");
	bg_strbuf_release(&sb);
}

/* ---- bg_rfc3339 ----------------------------------------------------------------------------- */

static void test_rfc3339(void **state)
{
	static const struct {
		time_t sec;
		long nsec;
		const char *want;
	} cases[] = {
		{ 0, 0, "1970-01-01T00:00:00.000000Z" },
		{ 1795805024, 123456789, "2026-11-27T18:43:44.123456Z" },
		{ 1795805024, 999999999, "2026-11-27T18:43:44.999999Z" }, /* truncated: no carry */
		{ 1795805024, 999, "2026-11-27T18:43:44.000000Z" },
		{ 1795805024, 1000, "2026-11-27T18:43:44.000001Z" },
		{ 1709251199, 500000000, "2024-02-29T23:59:59.500000Z" },
		{ -1, 0, "1969-12-31T23:59:59.000000Z" },
		{ 253402300799, 0, "9999-12-31T23:59:59.000000Z" },
	};
	struct bg_strbuf sb = BG_STRBUF_INIT;
	struct timespec ts;
	size_t k;

	(void)state;
	for (k = 0; k < ARRAY_SIZE(cases); k++) {
		ts.tv_sec = cases[k].sec;
		ts.tv_nsec = cases[k].nsec;
		bg_strbuf_reset(&sb);
		assert_int_equal(bg_rfc3339(&sb, &ts), 0);
		assert_string_equal(sb.buf, cases[k].want);
	}
	bg_strbuf_release(&sb);
}

static void test_rfc3339_invalid(void **state)
{
	struct bg_strbuf sb = BG_STRBUF_INIT;
	struct timespec ts = { 0, 0 };

	(void)state;
	assert_int_equal(bg_strbuf_puts(&sb, "x"), 0);
	ts.tv_nsec = 1000000000L;
	assert_int_equal(bg_rfc3339(&sb, &ts), -EINVAL);
	ts.tv_nsec = -1;
	assert_int_equal(bg_rfc3339(&sb, &ts), -EINVAL);
	ts.tv_nsec = 0;
	ts.tv_sec = 253402300800; /* 10000-01-01: no four-digit year */
	assert_int_equal(bg_rfc3339(&sb, &ts), -EINVAL);
	assert_int_equal(bg_rfc3339(&sb, NULL), -EINVAL);
	assert_int_equal(bg_rfc3339(NULL, &wall), -EINVAL);
	assert_string_equal(sb.buf, "x");
	assert_int_equal(sb.err, 0);
	bg_strbuf_release(&sb);
}

/* ---- bg_event_format: JSON ------------------------------------------------------------------ */

static void test_event_json_exact(void **state)
{
	struct bg_strbuf sb = BG_STRBUF_INIT;
	struct bg_policy_rule rule;
	struct bg_event ev;
	struct jdoc d;

	(void)state;
	make_event(&ev);
	make_rule(&rule);
	format_one(&sb, BG_FORMAT_JSON, &ev, &rule, &d);
	assert_string_equal(sb.buf, BASE_JSON);
	assert_event_keys(&d, 1, 0);
	bg_strbuf_release(&sb);
}

/* Each field comes from its own source: change one input, exactly that value changes. */
static void test_event_json_fields(void **state)
{
	struct bg_strbuf sb = BG_STRBUF_INIT;
	struct bg_policy_rule rule;
	struct bg_event ev;
	struct jdoc d;

	(void)state;
	make_rule(&rule);
	make_event(&ev);
	ev.seq = 0;
	ev.pid = 4294967295u;
	ev.uid = 0;
	ev.gid = 65534;
	ev.cgroup_id = 18446744073709551615ull;
	ev.netns = 1;
	ev.port = 65535;
	ev.proto = BG_PROTO_UDP;
	ev.hook = BG_HOOK_POST_BIND;
	ev.mode = BG_MODE_AUDIT;
	ev.verdict = BG_VERDICT_ALERT;
	ev.action = BG_ACTION_ALERT;
	ev.expose = BG_EXPOSE_CIDR;
	set_v4(ev.addr, 192, 0, 2, 10);
	format_one(&sb, BG_FORMAT_JSON, &ev, &rule, &d);
	assert_event_keys(&d, 1, 0);
	assert_field(&d, "ts", "\"" WALL_STR "\"");
	assert_field(&d, "seq", "0");
	assert_field(&d, "event", "\"bind\"");
	assert_field(&d, "verdict", "\"alert\"");
	assert_field(&d, "mode", "\"audit\"");
	assert_field(&d, "rule", "\"mysql\"");
	assert_field(&d, "expose", "\"cidr\"");
	assert_field(&d, "action", "\"alert\"");
	assert_field(&d, "hook", "\"post_bind\"");
	assert_field(&d, "pid", "4294967295");
	assert_field(&d, "comm", "\"mysqld\"");
	assert_field(&d, "uid", "0");
	assert_field(&d, "gid", "65534");
	assert_field(&d, "cgroup_id", "18446744073709551615");
	assert_field(&d, "netns", "1");
	assert_field(&d, "family", "\"inet\"");
	assert_field(&d, "proto", "\"udp\"");
	assert_field(&d, "addr", "\"192.0.2.10\"");
	assert_field(&d, "port", "65535");
	assert_field(&d, "hint", "\"Set bind-address=127.0.0.1 in my.cnf\"");
	assert_no_field(&d, "confined_addr");

	ev.verdict = BG_VERDICT_ALLOW;
	ev.expose = BG_EXPOSE_PUBLIC;
	ev.port = 0;
	format_one(&sb, BG_FORMAT_JSON, &ev, &rule, &d);
	assert_field(&d, "verdict", "\"allow\"");
	assert_field(&d, "expose", "\"public\"");
	assert_field(&d, "port", "0");

	ev.expose = BG_EXPOSE_NONE;
	ev.action = BG_ACTION_CONFINE;
	format_one(&sb, BG_FORMAT_JSON, &ev, &rule, &d);
	assert_field(&d, "expose", "\"none\"");
	assert_field(&d, "action", "\"confine\"");
	assert_no_field(&d, "confined_addr"); /* the action alone does not make a confine */
	bg_strbuf_release(&sb);
}

static void test_event_json_v6(void **state)
{
	static const __u8 doc[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	struct bg_strbuf sb = BG_STRBUF_INIT;
	struct bg_event ev;
	struct jdoc d;

	(void)state;
	make_event(&ev);
	ev.family = BG_AF_INET6;
	memcpy(ev.addr, doc, 16);
	format_one(&sb, BG_FORMAT_JSON, &ev, NULL, &d);
	assert_event_keys(&d, 0, 0);
	assert_field(&d, "family", "\"inet6\"");
	assert_field(&d, "addr", "\"2001:db8::1\"");

	memset(ev.addr, 0, 16);
	format_one(&sb, BG_FORMAT_JSON, &ev, NULL, &d);
	assert_field(&d, "addr", "\"::\"");

	/* An inet6 socket bound to a v4-mapped address stays in IPv6 notation. */
	set_v4(ev.addr, 0, 0, 0, 0);
	format_one(&sb, BG_FORMAT_JSON, &ev, NULL, &d);
	assert_field(&d, "family", "\"inet6\"");
	assert_field(&d, "addr", "\"::ffff:0.0.0.0\"");

	set_v4(ev.addr, 10, 1, 2, 3);
	format_one(&sb, BG_FORMAT_JSON, &ev, NULL, &d);
	assert_field(&d, "addr", "\"::ffff:10.1.2.3\"");

	/* And an inet socket uses only the last four bytes. */
	ev.family = BG_AF_INET;
	format_one(&sb, BG_FORMAT_JSON, &ev, NULL, &d);
	assert_field(&d, "family", "\"inet\"");
	assert_field(&d, "addr", "\"10.1.2.3\"");
	bg_strbuf_release(&sb);
}

static void test_event_json_confine(void **state)
{
	struct bg_strbuf sb = BG_STRBUF_INIT;
	struct bg_policy_rule rule;
	struct bg_event ev;
	struct jdoc d;

	(void)state;
	make_event(&ev);
	make_rule(&rule);
	ev.verdict = BG_VERDICT_CONFINE;
	ev.action = BG_ACTION_CONFINE;
	set_v4(ev.addr2, 127, 0, 0, 1);
	format_one(&sb, BG_FORMAT_JSON, &ev, &rule, &d);
	assert_event_keys(&d, 1, 1);
	assert_field(&d, "verdict", "\"confine\"");
	assert_field(&d, "action", "\"confine\"");
	assert_field(&d, "addr", "\"0.0.0.0\"");
	assert_field(&d, "confined_addr", "\"127.0.0.1\"");
	assert_non_null(strstr(sb.buf, ",\"hint\":\"Set bind-address=127.0.0.1 in my.cnf\","
				       "\"confined_addr\":\"127.0.0.1\"}\n"));

	/* IPv6, and without a rule: confined_addr is still there, hint is not. */
	ev.family = BG_AF_INET6;
	memset(ev.addr, 0, 16);
	memset(ev.addr2, 0, 16);
	ev.addr2[15] = 1;
	format_one(&sb, BG_FORMAT_JSON, &ev, NULL, &d);
	assert_event_keys(&d, 0, 1);
	assert_field(&d, "addr", "\"::\"");
	assert_field(&d, "confined_addr", "\"::1\"");

	/* Not a confine: the confined bytes are ignored even when set. */
	ev.verdict = BG_VERDICT_DENY;
	format_one(&sb, BG_FORMAT_JSON, &ev, NULL, &d);
	assert_event_keys(&d, 0, 0);
	assert_no_field(&d, "confined_addr");
	bg_strbuf_release(&sb);
}

static void test_event_json_rule(void **state)
{
	static char empty[] = "";
	static char postfix[] = "Postfix";
	struct bg_strbuf sb = BG_STRBUF_INIT;
	struct bg_policy_rule rule;
	struct bg_event ev;
	struct jdoc d;

	(void)state;
	make_event(&ev);

	format_one(&sb, BG_FORMAT_JSON, &ev, NULL, &d);
	assert_event_keys(&d, 0, 0);
	assert_field(&d, "rule", "null");
	assert_no_field(&d, "hint");

	make_rule(&rule);
	rule.service = NULL;
	format_one(&sb, BG_FORMAT_JSON, &ev, &rule, &d);
	assert_field(&d, "rule", "\"MariaDB\"");

	rule.service = empty;
	rule.software = postfix;
	format_one(&sb, BG_FORMAT_JSON, &ev, &rule, &d);
	assert_field(&d, "rule", "\"Postfix\"");

	rule.software = NULL;
	rule.hint = NULL;
	format_one(&sb, BG_FORMAT_JSON, &ev, &rule, &d);
	assert_event_keys(&d, 0, 0);
	assert_field(&d, "rule", "null");
	assert_no_field(&d, "hint");

	rule.hint = empty;
	format_one(&sb, BG_FORMAT_JSON, &ev, &rule, &d);
	assert_no_field(&d, "hint");
	bg_strbuf_release(&sb);
}

/* Policy strings are untrusted too: they go through the same escaper. */
static void test_event_json_hostile_rule(void **state)
{
	static char svc[] = "evil\"},{\"verdict\":\"allow";
	static char hint[] = "line1\nline2\r\x01\xff";
	struct bg_strbuf sb = BG_STRBUF_INIT;
	struct bg_policy_rule rule;
	struct bg_event ev;
	struct jdoc d;

	(void)state;
	make_event(&ev);
	make_rule(&rule);
	rule.service = svc;
	rule.hint = hint;
	format_one(&sb, BG_FORMAT_JSON, &ev, &rule, &d);
	assert_event_keys(&d, 1, 0);
	assert_field(&d, "rule", "\"evil\\\"},{\\\"verdict\\\":\\\"allow\"");
	assert_field(&d, "verdict", "\"deny\"");
	assert_field(&d, "hint", "\"line1\\nline2\\r\\u0001\\ufffd\"");

	format_one(&sb, BG_FORMAT_TEXT, &ev, &rule, NULL);
	assert_non_null(strstr(sb.buf, " rule=\"evil\\\"},{\\\"verdict\\\":\\\"allow\" "));
	assert_non_null(strstr(sb.buf, " hint=\"line1\\nline2\\r\\u0001\\ufffd\"\n"));
	bg_strbuf_release(&sb);
}

/* ---- hostile comm --------------------------------------------------------------------------- */

struct comm_case {
	char comm[BG_COMM_LEN];
	const char *want; /* the JSON string, with quotes */
};

static const struct comm_case comm_cases[] = {
	{ "", "\"\"" },
	{ "a\"b\\c", "\"a\\\"b\\\\c\"" },
	{ "x\ny", "\"x\\ny\"" },
	{ "\r\n\t\b\f", "\"\\r\\n\\t\\b\\f\"" },
	{ "\x01\x1f\x7f", "\"\\u0001\\u001f\\u007f\"" },
	{ "a\xff"
	  "b",
	  "\"a\\ufffdb\"" },
	{ "\xe2\x82", "\"\\ufffd\\ufffd\"" },
	{ "\xc0\xaf", "\"\\ufffd\\ufffd\"" },
	{ "\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\"" },
	{ "\x7f\x80", "\"\\u007f\\ufffd\"" },
	{ "caf\xc3\xa9", "\"caf\xc3\xa9\"" },
	{ "ab\0cd", "\"ab\"" }, /* stops at the first NUL */
	{ "\",\"uid\":0,\"a\":\"", "\"\\\",\\\"uid\\\":0,\\\"a\\\":\\\"\"" },
	{ "}\n{\"seq\":1}", "\"}\\n{\\\"seq\\\":1}\"" },
	/* All 16 bytes used, no NUL at all. */
	{ { '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f' },
	  "\"0123456789abcdef\"" },
	{ { '\n', '\n', '\n', '\n', '\n', '\n', '\n', '\n', '\n', '\n', '\n', '\n', '\n', '\n',
	    '\n', '\n' },
	  "\"\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\"" },
	{ { '\xff', '\xff', '\xff', '\xff', '\xff', '\xff', '\xff', '\xff', '\xff', '\xff', '\xff',
	    '\xff', '\xff', '\xff', '\xff', '\xe2' },
	  "\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd"
	  "\\ufffd\\ufffd\\ufffd\\ufffd\"" },
};

static void test_event_hostile_comm(void **state)
{
	struct bg_strbuf sb = BG_STRBUF_INIT;
	struct bg_policy_rule rule;
	struct bg_event ev;
	char want[256];
	struct jdoc d;
	size_t k;

	(void)state;
	make_rule(&rule);
	for (k = 0; k < ARRAY_SIZE(comm_cases); k++) {
		make_event(&ev);
		memcpy(ev.comm, comm_cases[k].comm, BG_COMM_LEN);

		format_one(&sb, BG_FORMAT_JSON, &ev, &rule, &d);
		assert_event_keys(&d, 1, 0);
		assert_field(&d, "comm", comm_cases[k].want);
		/* The fields after comm are untouched by it. */
		assert_field(&d, "uid", "1001");
		assert_field(&d, "port", "3306");

		format_one(&sb, BG_FORMAT_TEXT, &ev, &rule, NULL);
		snprintf(want, sizeof(want), " comm=%s uid=1001 ", comm_cases[k].want);
		if (!strstr(sb.buf, want))
			fail_msg("case %zu: text line lacks %s: %s", k, want, sb.buf);
	}
	bg_strbuf_release(&sb);
}

/*
 * comm is the last member of struct bg_event, so an event at the very end of an allocation
 * leaves no slack: reading a 17th byte is a heap overflow under ASan. The second variant, for
 * builds without ASan, puts marker bytes right after the struct.
 */
static void test_event_comm_unterminated(void **state)
{
	struct bg_strbuf sb = BG_STRBUF_INIT;
	struct {
		struct bg_event ev;
		char after[16];
	} guarded;
	struct bg_event *ev;
	struct jdoc d;

	(void)state;
	_Static_assert(offsetof(struct bg_event, comm) + BG_COMM_LEN == sizeof(struct bg_event),
		       "comm must be the last member for this test");

	ev = malloc(sizeof(*ev));
	assert_non_null(ev);
	make_event(ev);
	memset(ev->comm, 'A', BG_COMM_LEN);
	format_one(&sb, BG_FORMAT_JSON, ev, NULL, &d);
	assert_field(&d, "comm", "\"AAAAAAAAAAAAAAAA\"");
	format_one(&sb, BG_FORMAT_TEXT, ev, NULL, NULL);
	assert_non_null(strstr(sb.buf, " comm=\"AAAAAAAAAAAAAAAA\" "));
	free(ev);

	_Static_assert(offsetof(__typeof__(guarded), after) == sizeof(struct bg_event),
		       "no padding between the event and the marker");
	make_event(&guarded.ev);
	memset(guarded.ev.comm, 'B', BG_COMM_LEN);
	memset(guarded.after, '~', sizeof(guarded.after));
	format_one(&sb, BG_FORMAT_JSON, &guarded.ev, NULL, &d);
	assert_field(&d, "comm", "\"BBBBBBBBBBBBBBBB\"");
	assert_null(strchr(sb.buf, '~'));
	format_one(&sb, BG_FORMAT_TEXT, &guarded.ev, NULL, NULL);
	assert_null(strchr(sb.buf, '~'));
	bg_strbuf_release(&sb);
}

static void test_event_unknown_enums(void **state)
{
	struct bg_strbuf sb = BG_STRBUF_INIT;
	struct bg_event ev;
	struct jdoc d;

	(void)state;
	make_event(&ev);
	ev.type = 99;
	ev.verdict = 200;
	ev.mode = 9;
	ev.expose = 77;
	ev.action = 66;
	ev.hook = 5;
	ev.family = 7;
	ev.proto = 9;
	memset(ev.addr, 0, 16);
	ev.addr[0] = 0xfe;
	ev.addr[1] = 0x80;
	ev.addr[15] = 2;
	format_one(&sb, BG_FORMAT_JSON, &ev, NULL, &d);
	assert_event_keys(&d, 0, 0);
	assert_field(&d, "event", "\"unknown\"");
	assert_field(&d, "verdict", "\"unknown\"");
	assert_field(&d, "mode", "\"unknown\"");
	assert_field(&d, "expose", "\"unknown\"");
	assert_field(&d, "action", "\"unknown\"");
	assert_field(&d, "hook", "\"unknown\"");
	assert_field(&d, "family", "\"unknown\"");
	assert_field(&d, "proto", "\"unknown\"");
	/* An unknown family hides nothing: all 16 bytes, in IPv6 notation. */
	assert_field(&d, "addr", "\"fe80::2\"");

	format_one(&sb, BG_FORMAT_TEXT, &ev, NULL, NULL);
	assert_string_equal(sb.buf, WALL_STR " UNKNOWN unknown unknown [fe80::2]:3306 rule=- "
					     "expose=unknown action=unknown mode=unknown pid=1234 "
					     "comm=\"mysqld\" uid=1001 cgroup=4294967297 "
					     "netns=4026531840\n");

	/* The values just past the known ones. */
	make_event(&ev);
	ev.verdict = BG_VERDICT_CONFINE + 1;
	ev.expose = BG_EXPOSE_MAX + 1;
	ev.action = BG_ACTION_MAX + 1;
	ev.mode = BG_MODE_AUDIT + 1;
	ev.hook = 0;
	ev.type = 0;
	ev.proto = BG_NR_PROTOS;
	format_one(&sb, BG_FORMAT_JSON, &ev, NULL, &d);
	assert_field(&d, "event", "\"unknown\"");
	assert_field(&d, "verdict", "\"unknown\"");
	assert_field(&d, "mode", "\"unknown\"");
	assert_field(&d, "expose", "\"unknown\"");
	assert_field(&d, "action", "\"unknown\"");
	assert_field(&d, "hook", "\"unknown\"");
	assert_field(&d, "proto", "\"unknown\"");
	bg_strbuf_release(&sb);
}

/* ---- listen, accept, existing ---------------------------------------------------------------- */

static void test_event_listener_types(void **state)
{
	struct bg_strbuf sb = BG_STRBUF_INIT;
	struct bg_policy_rule rule;
	struct bg_event ev;
	struct jdoc d;

	(void)state;
	make_event(&ev);
	make_rule(&rule);
	ev.type = BG_EVENT_LISTEN;
	ev.hook = BG_HOOK_SOCK_OPS;
	format_one(&sb, BG_FORMAT_JSON, &ev, &rule, &d);
	assert_field(&d, "event", "\"listen\"");
	assert_field(&d, "hook", "\"sockops\"");
	assert_field(&d, "pid", "1234");
	assert_null(strstr(sb.buf, "peer_addr"));
	assert_null(strstr(sb.buf, "\"closed\""));

	/* An accept: the peer is reported, the (softirq) task is not. */
	ev.type = BG_EVENT_ACCEPT;
	ev.verdict = BG_VERDICT_ALERT;
	ev.flags = BG_EV_F_NO_TASK;
	set_v4(ev.addr, 127, 0, 0, 1);
	set_v4(ev.addr2, 192, 0, 2, 9);
	ev.port2 = 40123;
	format_one(&sb, BG_FORMAT_JSON, &ev, &rule, &d);
	assert_field(&d, "event", "\"accept\"");
	assert_field(&d, "addr", "\"127.0.0.1\"");
	assert_field(&d, "peer_addr", "\"192.0.2.9\"");
	assert_field(&d, "peer_port", "40123");
	assert_null(strstr(sb.buf, "\"pid\""));
	assert_null(strstr(sb.buf, "\"comm\""));
	assert_null(strstr(sb.buf, "\"uid\""));
	assert_non_null(strstr(sb.buf, "\"netns\":4026531840"));
	format_one(&sb, BG_FORMAT_TEXT, &ev, &rule, NULL);
	assert_non_null(strstr(sb.buf, " ALERT accept tcp 127.0.0.1:3306 "));
	assert_non_null(strstr(sb.buf, " peer=192.0.2.9:40123"));

	/* A socket found and closed by reconcile. */
	make_event(&ev);
	ev.type = BG_EVENT_EXISTING;
	ev.hook = BG_HOOK_ITER;
	ev.flags = BG_EV_F_CLOSED;
	format_one(&sb, BG_FORMAT_JSON, &ev, &rule, &d);
	assert_field(&d, "event", "\"existing\"");
	assert_field(&d, "hook", "\"iter\"");
	assert_field(&d, "closed", "true");
	format_one(&sb, BG_FORMAT_TEXT, &ev, &rule, NULL);
	assert_non_null(strstr(sb.buf, " DENY existing tcp 0.0.0.0:3306 "));
	assert_non_null(strstr(sb.buf, " closed"));
	bg_strbuf_release(&sb);
}

/* ---- bg_event_format: text ------------------------------------------------------------------ */

static void test_event_text(void **state)
{
	static const __u8 doc[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	static char spaced[] = "my sql";
	struct bg_strbuf sb = BG_STRBUF_INIT;
	struct bg_policy_rule rule;
	struct bg_event ev;

	(void)state;
	make_event(&ev);
	make_rule(&rule);
	format_one(&sb, BG_FORMAT_TEXT, &ev, &rule, NULL);
	assert_string_equal(sb.buf, BASE_TEXT);

	ev.family = BG_AF_INET6;
	memcpy(ev.addr, doc, 16);
	ev.proto = BG_PROTO_UDP;
	ev.verdict = BG_VERDICT_ALERT;
	ev.mode = BG_MODE_AUDIT;
	format_one(&sb, BG_FORMAT_TEXT, &ev, NULL, NULL);
	assert_string_equal(sb.buf, WALL_STR " ALERT bind udp [2001:db8::1]:3306 rule=- "
					     "expose=loopback action=deny mode=audit pid=1234 "
					     "comm=\"mysqld\" uid=1001 cgroup=4294967297 "
					     "netns=4026531840\n");

	/* Confine, v4: the rewritten address follows, before the hint. */
	make_event(&ev);
	ev.verdict = BG_VERDICT_CONFINE;
	ev.action = BG_ACTION_CONFINE;
	set_v4(ev.addr2, 127, 0, 0, 1);
	format_one(&sb, BG_FORMAT_TEXT, &ev, &rule, NULL);
	assert_string_equal(sb.buf,
			    WALL_STR " CONFINE bind tcp 0.0.0.0:3306 rule=mysql expose=loopback "
				     "action=confine mode=enforce pid=1234 comm=\"mysqld\" "
				     "uid=1001 cgroup=4294967297 netns=4026531840 "
				     "confined=127.0.0.1 hint=\"Set bind-address=127.0.0.1 "
				     "in my.cnf\"\n");

	/* Confine, v6. */
	ev.family = BG_AF_INET6;
	memset(ev.addr, 0, 16);
	memset(ev.addr2, 0, 16);
	ev.addr2[15] = 1;
	format_one(&sb, BG_FORMAT_TEXT, &ev, NULL, NULL);
	assert_non_null(strstr(sb.buf, " CONFINE bind tcp [::]:3306 "));
	assert_non_null(strstr(sb.buf, " netns=4026531840 confined=[::1]\n"));

	/* A rule name that is not one plain word is quoted. */
	make_event(&ev);
	rule.service = spaced;
	format_one(&sb, BG_FORMAT_TEXT, &ev, &rule, NULL);
	assert_non_null(strstr(sb.buf, " rule=\"my sql\" expose="));
	bg_strbuf_release(&sb);
}

/* ---- errors and appending ------------------------------------------------------------------- */

static void test_event_errors(void **state)
{
	struct bg_strbuf sb = BG_STRBUF_INIT;
	struct timespec bad = { .tv_sec = 0, .tv_nsec = 1000000000L };
	struct bg_event ev;

	(void)state;
	make_event(&ev);
	assert_int_equal(bg_strbuf_puts(&sb, "prev\n"), 0);

	assert_int_equal(bg_event_format(NULL, BG_FORMAT_JSON, &ev, NULL, &wall), -EINVAL);
	assert_int_equal(bg_event_format(&sb, BG_FORMAT_JSON, NULL, NULL, &wall), -EINVAL);
	assert_int_equal(bg_event_format(&sb, BG_FORMAT_JSON, &ev, NULL, NULL), -EINVAL);
	assert_int_equal(bg_event_format(&sb, 2, &ev, NULL, &wall), -EINVAL);
	assert_int_equal(bg_event_format(&sb, -1, &ev, NULL, &wall), -EINVAL);
	assert_int_equal(bg_event_format(&sb, BG_FORMAT_JSON, &ev, NULL, &bad), -EINVAL);
	assert_int_equal(bg_event_format(&sb, BG_FORMAT_TEXT, &ev, NULL, &bad), -EINVAL);
	/* Nothing was written, and a caller's error is not an allocation failure. */
	assert_string_equal(sb.buf, "prev\n");
	assert_int_equal(sb.err, 0);

	/* With a sticky error the line is refused whole. */
	assert_int_equal(bg_strbuf_append(&sb, "x", SIZE_MAX), -ENOMEM);
	assert_int_equal(bg_event_format(&sb, BG_FORMAT_JSON, &ev, NULL, &wall), -ENOMEM);
	assert_int_equal(bg_event_format(&sb, BG_FORMAT_TEXT, &ev, NULL, &wall), -ENOMEM);
	assert_int_equal(bg_lifecycle_format(&sb, BG_FORMAT_JSON, "ready", &wall, NULL), -ENOMEM);
	assert_string_equal(sb.buf, "prev\n");
	assert_int_equal(sb.len, 5);
	bg_strbuf_release(&sb);
}

/*
 * An allocation failing part-way through a line must not leave half a line behind: the next
 * line written after a reset would otherwise follow garbage. Fail at every possible point.
 */
static void test_event_rollback(void **state)
{
	static const int formats[] = { BG_FORMAT_JSON, BG_FORMAT_TEXT };
	struct bg_policy_rule rule;
	struct bg_event ev;
	size_t f;
	int n, err, failed;

	(void)state;
	make_event(&ev);
	make_rule(&rule);
	ev.verdict = BG_VERDICT_CONFINE;
	set_v4(ev.addr2, 127, 0, 0, 1);
	memcpy(ev.comm, "\n\xff\"\\evil\x01", 10);
	for (f = 0; f < ARRAY_SIZE(formats); f++) {
		failed = 0;
		for (n = 0; n < 64; n++) {
			struct bg_strbuf sb = BG_STRBUF_INIT;

			/* A buffer exactly full: the line's first append must grow it. */
			assert_int_equal(bg_strbuf_puts(&sb, "prev\n"), 0);
			while (sb.len + 1 < sb.cap)
				assert_int_equal(bg_strbuf_append(&sb, "-", 1), 0);
			{
				size_t before = sb.len;
				char *copy = strdup(sb.buf);

				assert_non_null(copy);
				realloc_fail_after = n;
				err = bg_event_format(&sb, formats[f], &ev, &rule, &wall);
				realloc_fail_after = -1;
				if (err) {
					failed++;
					assert_int_equal(err, -ENOMEM);
					assert_int_equal(sb.err, -ENOMEM);
					assert_int_equal(sb.len, before);
					assert_string_equal(sb.buf, copy);
				} else {
					assert_one_line(&sb, before);
				}
				free(copy);
			}
			bg_strbuf_release(&sb);
			if (!err)
				break;
		}
		/* Each format failed at least once mid-line (n >= 1), then succeeded. */
		assert_true(failed >= 2);
		assert_true(n < 64);
	}
}

static void test_json_string_rollback(void **state)
{
	struct bg_strbuf sb = BG_STRBUF_INIT;
	char in[200];

	(void)state;
	memset(in, '\n', sizeof(in));
	assert_int_equal(bg_strbuf_puts(&sb, "keep"), 0);
	realloc_fail_after = 0;
	assert_int_equal(bg_json_string(&sb, in, sizeof(in)), -ENOMEM);
	realloc_fail_after = -1;
	assert_int_equal(sb.len, 4);
	assert_string_equal(sb.buf, "keep");

	bg_strbuf_reset(&sb);
	assert_int_equal(bg_strbuf_puts(&sb, "keep"), 0);
	realloc_fail_after = 0;
	assert_int_equal(bg_lifecycle_format(&sb, BG_FORMAT_JSON, "ready", &wall,
					     "\"a\":\"0123456789012345678901234567890123456789"
					     "0123456789012345678901234567890123456789"
					     "0123456789012345678901234567890123456789\""),
			 -ENOMEM);
	realloc_fail_after = -1;
	assert_int_equal(sb.len, 4);
	assert_string_equal(sb.buf, "keep");
	bg_strbuf_release(&sb);
}

static void test_event_appends(void **state)
{
	struct bg_strbuf sb = BG_STRBUF_INIT;
	struct bg_policy_rule rule;
	struct bg_event ev;
	struct jdoc d;
	size_t first;

	(void)state;
	make_event(&ev);
	make_rule(&rule);
	assert_int_equal(bg_event_format(&sb, BG_FORMAT_JSON, &ev, &rule, &wall), 0);
	first = sb.len;
	assert_int_equal(bg_event_format(&sb, BG_FORMAT_TEXT, &ev, &rule, &wall), 0);
	assert_int_equal(sb.len, strlen(BASE_JSON) + strlen(BASE_TEXT));
	assert_memory_equal(sb.buf, BASE_JSON, first);
	assert_string_equal(sb.buf + first, BASE_TEXT);
	assert_text_line(&sb, first);
	ev.seq++;
	first = sb.len;
	assert_int_equal(bg_event_format(&sb, BG_FORMAT_JSON, &ev, &rule, &wall), 0);
	assert_json_line(&sb, first, &d);
	assert_field(&d, "seq", "1099511627782");
	bg_strbuf_release(&sb);
}

/* ---- bg_lifecycle_format -------------------------------------------------------------------- */

static void test_lifecycle(void **state)
{
	struct bg_strbuf sb = BG_STRBUF_INIT;
	struct jdoc d;

	(void)state;
	assert_int_equal(bg_lifecycle_format(&sb, BG_FORMAT_JSON, "ready", &wall, NULL), 0);
	assert_string_equal(sb.buf,
			    "{\"ts\":\"" WALL_STR "\",\"event\":\"agent\",\"state\":\"ready\"}\n");
	assert_json_line(&sb, 0, &d);
	assert_int_equal(d.nkeys, 3);

	bg_strbuf_reset(&sb);
	assert_int_equal(bg_lifecycle_format(&sb, BG_FORMAT_JSON, "ready", &wall, ""), 0);
	assert_string_equal(sb.buf,
			    "{\"ts\":\"" WALL_STR "\",\"event\":\"agent\",\"state\":\"ready\"}\n");

	bg_strbuf_reset(&sb);
	assert_int_equal(bg_lifecycle_format(&sb, BG_FORMAT_JSON, "ready", &wall,
					     "\"mode\":\"enforce\",\"rules\":12"),
			 0);
	assert_string_equal(sb.buf,
			    "{\"ts\":\"" WALL_STR "\",\"event\":\"agent\",\"state\":\"ready\","
			    "\"mode\":\"enforce\",\"rules\":12}\n");
	assert_json_line(&sb, 0, &d);
	assert_int_equal(d.nkeys, 5);
	assert_field(&d, "rules", "12");

	bg_strbuf_reset(&sb);
	assert_int_equal(bg_lifecycle_format(&sb, BG_FORMAT_TEXT, "stopping", &wall, NULL), 0);
	assert_string_equal(sb.buf, WALL_STR " agent stopping\n");

	bg_strbuf_reset(&sb);
	assert_int_equal(
		bg_lifecycle_format(&sb, BG_FORMAT_TEXT, "ready", &wall, "\"mode\":\"enforce\""),
		0);
	assert_string_equal(sb.buf, WALL_STR " agent ready \"mode\":\"enforce\"\n");

	/* A state is escaped like any other string. */
	bg_strbuf_reset(&sb);
	assert_int_equal(bg_lifecycle_format(&sb, BG_FORMAT_JSON, "a\"b\nc", &wall, NULL), 0);
	assert_json_line(&sb, 0, &d);
	assert_field(&d, "state", "\"a\\\"b\\nc\"");
	bg_strbuf_reset(&sb);
	assert_int_equal(bg_lifecycle_format(&sb, BG_FORMAT_TEXT, "a b\nc", &wall, NULL), 0);
	assert_string_equal(sb.buf, WALL_STR " agent \"a b\\nc\"\n");
	bg_strbuf_reset(&sb);
	assert_int_equal(bg_lifecycle_format(&sb, BG_FORMAT_TEXT, "", &wall, NULL), 0);
	assert_string_equal(sb.buf, WALL_STR " agent \"\"\n");
	bg_strbuf_release(&sb);
}

static void test_lifecycle_errors(void **state)
{
	struct bg_strbuf sb = BG_STRBUF_INIT;
	struct timespec bad = { .tv_sec = 0, .tv_nsec = -5 };

	(void)state;
	assert_int_equal(bg_strbuf_puts(&sb, "prev\n"), 0);
	assert_int_equal(bg_lifecycle_format(NULL, BG_FORMAT_JSON, "ready", &wall, NULL), -EINVAL);
	assert_int_equal(bg_lifecycle_format(&sb, BG_FORMAT_JSON, NULL, &wall, NULL), -EINVAL);
	assert_int_equal(bg_lifecycle_format(&sb, BG_FORMAT_JSON, "ready", NULL, NULL), -EINVAL);
	assert_int_equal(bg_lifecycle_format(&sb, BG_FORMAT_JSON, "ready", &bad, NULL), -EINVAL);
	assert_int_equal(bg_lifecycle_format(&sb, 5, "ready", &wall, NULL), -EINVAL);
	/* A raw control byte in extra would break the one-line promise. */
	assert_int_equal(bg_lifecycle_format(&sb, BG_FORMAT_JSON, "ready", &wall, "\"a\":1\n"),
			 -EINVAL);
	assert_int_equal(bg_lifecycle_format(&sb, BG_FORMAT_TEXT, "ready", &wall, "\"a\":\"\r\""),
			 -EINVAL);
	assert_int_equal(bg_lifecycle_format(&sb, BG_FORMAT_TEXT, "ready", &wall, "\x7f"), -EINVAL);
	assert_string_equal(sb.buf, "prev\n");
	assert_int_equal(sb.err, 0);
	bg_strbuf_release(&sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_checker),
		cmocka_unit_test(test_strbuf_append),
		cmocka_unit_test(test_strbuf_empty_append),
		cmocka_unit_test(test_strbuf_growth),
		cmocka_unit_test(test_strbuf_printf),
		cmocka_unit_test(test_strbuf_sticky_error),
		cmocka_unit_test(test_strbuf_realloc_failure),
		cmocka_unit_test(test_strbuf_einval),
		cmocka_unit_test(test_strbuf_truncate_release),
		cmocka_unit_test(test_json_string),
		cmocka_unit_test(test_json_string_all_bytes),
		cmocka_unit_test(test_json_string_args),
		cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_rfc3339_invalid),
		cmocka_unit_test(test_event_json_exact),
		cmocka_unit_test(test_event_json_fields),
		cmocka_unit_test(test_event_json_v6),
		cmocka_unit_test(test_event_json_confine),
		cmocka_unit_test(test_event_json_rule),
		cmocka_unit_test(test_event_json_hostile_rule),
		cmocka_unit_test(test_event_hostile_comm),
		cmocka_unit_test(test_event_comm_unterminated),
		cmocka_unit_test(test_event_unknown_enums),
		cmocka_unit_test(test_event_listener_types),
		cmocka_unit_test(test_event_text),
		cmocka_unit_test(test_event_errors),
		cmocka_unit_test(test_event_rollback),
		cmocka_unit_test(test_json_string_rollback),
		cmocka_unit_test(test_event_appends),
		cmocka_unit_test(test_lifecycle),
		cmocka_unit_test(test_lifecycle_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
