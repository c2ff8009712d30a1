// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_event_fmt.c - unit tests for agent/event_fmt.c (strbuf has its own, test_strbuf.c).
 *
 * The encoder's promise is that any struct bg_event, however hostile, gives exactly one line of
 * strict JSON. So each JSON line here goes through the tests' strict checker (tests/lib/
 * json_check.h, itself tested by test_json_check.c), and its top-level keys are compared, in
 * order, to the documented field list. The events are one table: each row is an event and a
 * rule, and what the JSON and text lines must be.
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
#include "json_check.h"
#include "strbuf.h"
#include "strbuf_seam.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- line checks ---------------------------------------------------------------------------- */

/* The table row being checked, named in every failure. */
static const char *what_now = "";

/*
 * The line is one line: its only '\n' is the last byte, no NUL inside it, and nothing raw that
 * a terminal or a line reader would act on (jc_line_rules()).
 */
static void assert_one_line(const struct bg_strbuf *sb, size_t start)
{
	const char *line = sb->buf + start, *why;
	size_t n = sb->len - start, where;

	assert_non_null(sb->buf);
	assert_true(n > 0);
	assert_int_equal(strlen(line), n);
	why = jc_line_rules(line, n, 1, &where);
	if (why)
		fail_msg("%s: %s at byte %zu of %s", what_now, why, where, line);
}

/* One line of strict JSON, a top-level object. @j is filled for field checks. */
static void assert_json_line(const struct bg_strbuf *sb, size_t start, struct jc *j)
{
	assert_one_line(sb, start);
	if (jc_line(j, sb->buf + start, sb->len - start))
		fail_msg("%s: invalid JSON line: %s at byte %zu: %s", what_now, j->err, j->err_pos,
			 sb->buf + start);
}

/* A text line: one line, valid UTF-8, no control byte anywhere but the final '\n'. */
static void assert_text_line(const struct bg_strbuf *sb, size_t start)
{
	assert_one_line(sb, start);
}

/* Member @key is there and written exactly as @want (raw JSON text, escapes and all). */
static void assert_field(const struct jc *j, const char *key, const char *want)
{
	const struct jc_member *m = jc_get(j, key);

	if (!m)
		fail_msg("%s: field \"%s\" missing in %.*s", what_now, key, (int)j->n, j->s);
	if (m->val_len != strlen(want) || memcmp(j->s + m->val_off, want, m->val_len))
		fail_msg("%s: field \"%s\" is %.*s, want %s", what_now, key, (int)m->val_len,
			 j->s + m->val_off, want);
}

/* ---- fixtures ------------------------------------------------------------------------------- */

/* 2026-11-27T18:43:44.123456789Z */
static const struct timespec wall = { .tv_sec = 1795805024, .tv_nsec = 123456789 };
#define WALL_STR "2026-11-27T18:43:44.123456Z"

/* An address as the kernel writes it: IPv4 v4-mapped, network order. */
#define V4(a, b, c, d)                                                           \
	{                                                                        \
		[10] = 0xff, [11] = 0xff, [12] = a, [13] = b, [14] = c, [15] = d \
	}
#define V6_DOC                                   \
	{                                        \
		0x20, 0x01, 0x0d, 0xb8, [15] = 1 \
	} /* 2001:db8::1 */
#define V6_LO            \
	{                \
		[15] = 1 \
	} /* ::1 */
#define V6_ANY    \
	{         \
		0 \
	} /* :: */

/*
 * The base event, with the fields given after it changed: distinct, wide values, so that a
 * swapped or narrowed field shows. A later designated initializer replaces an earlier one
 * (arrays whole), which is the point here, so -Woverride-init is off for the tables.
 */
#define EV(...)                                                                                   \
	{                                                                                         \
		.seq = (1ull << 40) + 5, .ts_ns = 77, .cgroup_id = (1ull << 32) + 1, .pid = 1234, \
		.uid = 1001, .gid = 1002, .netns = 4026531840u, .addr = V4(0, 0, 0, 0),           \
		.port = 3306, .rule_id = 3, .type = BG_EVENT_BIND, .family = BG_AF_INET,          \
		.proto = BG_PROTO_TCP, .verdict = BG_VERDICT_DENY, .action = BG_ACTION_DENY,      \
		.expose = BG_EXPOSE_LOOPBACK, .mode = BG_MODE_ENFORCE, .hook = BG_HOOK_BIND,      \
		.class = BG_CLASS_WILDCARD, .comm = "mysqld", __VA_ARGS__                         \
	}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
static const struct bg_event base_event = EV();
#pragma GCC diagnostic pop

static void make_event(struct bg_event *ev)
{
	*ev = base_event;
}

static char s_mysql[] = "mysql";
static char s_mariadb[] = "MariaDB";
static char s_hint[] = "Set bind-address=127.0.0.1 in my.cnf";
static char s_empty[] = "";
static char s_postfix[] = "Postfix";
static char s_spaced[] = "my sql";
static char s_evil[] = "evil\"},{\"verdict\":\"allow";
static char s_evil_hint[] = "line1\nline2\r\x01\xff";

#define RULE(svc, sw, h)                                                                  \
	{                                                                                 \
		.port_lo = 3306, .port_hi = 3306, .protos = BG_PROTO_BIT(BG_PROTO_TCP),   \
		.expose = BG_EXPOSE_LOOPBACK, .action = BG_ACTION_DENY, .service = (svc), \
		.software = (sw), .hint = (h)                                             \
	}

/* The rule's name is its service, else its software, else null; an empty hint is none. */
static const struct bg_policy_rule r_mysql = RULE(s_mysql, s_mariadb, s_hint);
static const struct bg_policy_rule r_software = RULE(NULL, s_mariadb, s_hint);
static const struct bg_policy_rule r_postfix = RULE(s_empty, s_postfix, s_hint);
static const struct bg_policy_rule r_noname = RULE(s_empty, NULL, NULL);
static const struct bg_policy_rule r_empty_hint = RULE(s_empty, NULL, s_empty);
static const struct bg_policy_rule r_spaced = RULE(s_spaced, s_mariadb, s_hint);
/* Policy strings are untrusted too: they go through the same escaper. */
static const struct bg_policy_rule r_evil = RULE(s_evil, s_mariadb, s_evil_hint);

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
		       const struct bg_policy_rule *rule, struct jc *j)
{
	bg_strbuf_reset(sb);
	assert_int_equal(bg_event_format(sb, format, ev, rule, &wall), 0);
	assert_int_equal(sb->err, 0);
	if (format == BG_FORMAT_JSON)
		assert_json_line(sb, 0, j);
	else
		assert_text_line(sb, 0);
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

/*
 * sb holds exactly one JSON string: valid, nothing raw a line reader would act on, and it
 * decodes to what the encoder promises for in[0..n) (invalid bytes as U+FFFD).
 */
static void assert_json_string(const struct bg_strbuf *sb, const char *in, size_t n)
{
	unsigned char got[256], want[256];
	const char *why;
	size_t where, gl, wl;
	struct jc j;

	assert_true(n * 3 <= sizeof(want));
	if (jc_value(&j, sb->buf, sb->len) || sb->buf[0] != '"')
		fail_msg("not one JSON string: %s (%s)", sb->buf, j.err ? j.err : "not a string");
	why = jc_line_rules(sb->buf, sb->len, 0, &where);
	if (why)
		fail_msg("%s at byte %zu of %s", why, where, sb->buf);
	gl = jc_decode(sb->buf, 0, sb->len, got, sizeof(got));
	wl = jc_expected((const unsigned char *)in, n, want);
	if (gl != wl || memcmp(got, want, wl))
		fail_msg("%s does not decode to the input's bytes", sb->buf);
}

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
		assert_json_string(&sb, c->in, c->len);
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
			assert_json_string(&sb, in, 3);
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

/* ---- bg_event_format: one table of events --------------------------------------------------- */

/*
 * One event and its rule, and what its lines must be. Every row is formatted both ways and
 * checked: the JSON line is strict JSON whose keys are exactly the documented ones in order
 * (event_keys()), and both lines obey the line rules. On top of that, a row may give the whole
 * line, fields as written in JSON, and pieces of the text line.
 */
struct enc_case {
	const char *what;
	struct bg_event ev;
	const struct bg_policy_rule *rule;
	const char *json; /* the whole JSON line, or NULL */
	const char *text; /* the whole text line, or NULL */
	const char *fields[48]; /* "key", "value as written", ..., NULL */
	const char *text_has[4]; /* substrings of the text line, NULL-terminated */
};

/* A hostile comm as it is written in JSON and in the text line, then its bytes. */
#define COMM(w, ...)                                                                \
	{                                                                           \
		.what = "comm " w, .ev = EV(.comm = __VA_ARGS__), .rule = &r_mysql, \
		.fields = { "comm", w, "uid", "1001", "port", "3306", NULL },       \
		.text_has = { " comm=" w " uid=1001 ", NULL },                      \
	}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverride-init"
static const struct enc_case enc_cases[] = {
	{ .what = "the base event",
	  .ev = EV(),
	  .rule = &r_mysql,
	  .json = BASE_JSON,
	  .text = BASE_TEXT },
	/* Each field comes from its own source: change one input, exactly that value changes. */
	{ .what = "every field from its own source",
	  .ev = EV(.seq = 0, .pid = 4294967295u, .uid = 0, .gid = 65534,
		   .cgroup_id = 18446744073709551615ull, .netns = 1, .port = 65535,
		   .proto = BG_PROTO_UDP, .hook = BG_HOOK_POST_BIND, .mode = BG_MODE_AUDIT,
		   .verdict = BG_VERDICT_ALERT, .action = BG_ACTION_ALERT, .expose = BG_EXPOSE_CIDR,
		   .addr = V4(192, 0, 2, 10)),
	  .rule = &r_mysql,
	  .fields = { "ts",	   "\"" WALL_STR "\"",
		      "seq",	   "0",
		      "event",	   "\"bind\"",
		      "verdict",   "\"alert\"",
		      "mode",	   "\"audit\"",
		      "rule",	   "\"mysql\"",
		      "expose",	   "\"cidr\"",
		      "action",	   "\"alert\"",
		      "hook",	   "\"post_bind\"",
		      "pid",	   "4294967295",
		      "comm",	   "\"mysqld\"",
		      "uid",	   "0",
		      "gid",	   "65534",
		      "cgroup_id", "18446744073709551615",
		      "netns",	   "1",
		      "family",	   "\"inet\"",
		      "proto",	   "\"udp\"",
		      "addr",	   "\"192.0.2.10\"",
		      "port",	   "65535",
		      "hint",	   "\"Set bind-address=127.0.0.1 in my.cnf\"",
		      NULL },
	  .text_has = { " ALERT bind udp 192.0.2.10:65535 rule=mysql expose=cidr action=alert "
			"mode=audit pid=4294967295 ",
			" uid=0 cgroup=18446744073709551615 netns=1 ", NULL } },
	{ .what = "allow, public, port 0",
	  .ev = EV(.verdict = BG_VERDICT_ALLOW, .expose = BG_EXPOSE_PUBLIC, .port = 0),
	  .rule = &r_mysql,
	  .fields = { "verdict", "\"allow\"", "expose", "\"public\"", "port", "0", NULL },
	  .text_has = { " ALLOW bind tcp 0.0.0.0:0 ", NULL } },
	/* The action alone does not make a confine: no confined_addr. */
	{ .what = "expose none, action confine, verdict deny",
	  .ev = EV(.expose = BG_EXPOSE_NONE, .action = BG_ACTION_CONFINE,
		   .addr2 = V4(127, 0, 0, 1)),
	  .rule = &r_mysql,
	  .fields = { "verdict", "\"deny\"", "expose", "\"none\"", "action", "\"confine\"",
		      NULL } },

	/* Addresses. */
	{ .what = "inet6",
	  .ev = EV(.family = BG_AF_INET6, .addr = V6_DOC),
	  .fields = { "family", "\"inet6\"", "addr", "\"2001:db8::1\"", NULL },
	  .text_has = { " DENY bind tcp [2001:db8::1]:3306 ", NULL } },
	{ .what = "inet6 ::",
	  .ev = EV(.family = BG_AF_INET6, .addr = V6_ANY),
	  .fields = { "addr", "\"::\"", NULL },
	  .text_has = { " tcp [::]:3306 ", NULL } },
	/* An inet6 socket bound to a v4-mapped address stays in IPv6 notation. */
	{ .what = "inet6, v4-mapped wildcard",
	  .ev = EV(.family = BG_AF_INET6),
	  .fields = { "family", "\"inet6\"", "addr", "\"::ffff:0.0.0.0\"", NULL },
	  .text_has = { " tcp [::ffff:0.0.0.0]:3306 ", NULL } },
	{ .what = "inet6, v4-mapped",
	  .ev = EV(.family = BG_AF_INET6, .addr = V4(10, 1, 2, 3)),
	  .fields = { "addr", "\"::ffff:10.1.2.3\"", NULL } },
	/* And an inet socket uses only the last four bytes, whatever the others hold. */
	{ .what = "inet, last four bytes",
	  .ev = EV(.addr = V4(10, 1, 2, 3)),
	  .fields = { "family", "\"inet\"", "addr", "\"10.1.2.3\"", NULL },
	  .text_has = { " tcp 10.1.2.3:3306 ", NULL } },
	{ .what = "inet, garbage before the last four bytes",
	  .ev = EV(.addr = { 0xfe, 0x80, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10, 1, 2, 3 }),
	  .fields = { "addr", "\"10.1.2.3\"", NULL } },

	/* Confine: the rewritten address follows, after the hint in JSON, before it in text. */
	{ .what = "confine, inet",
	  .ev = EV(.verdict = BG_VERDICT_CONFINE, .action = BG_ACTION_CONFINE,
		   .addr2 = V4(127, 0, 0, 1)),
	  .rule = &r_mysql,
	  .fields = { "verdict", "\"confine\"", "action", "\"confine\"", "addr", "\"0.0.0.0\"",
		      "confined_addr", "\"127.0.0.1\"", NULL },
	  .text = WALL_STR " CONFINE bind tcp 0.0.0.0:3306 rule=mysql expose=loopback "
			   "action=confine mode=enforce pid=1234 comm=\"mysqld\" uid=1001 "
			   "cgroup=4294967297 netns=4026531840 confined=127.0.0.1 "
			   "hint=\"Set bind-address=127.0.0.1 in my.cnf\"\n" },
	/* Without a rule: confined_addr is still there, hint is not. */
	{ .what = "confine, inet6, no rule",
	  .ev = EV(.verdict = BG_VERDICT_CONFINE, .action = BG_ACTION_CONFINE,
		   .family = BG_AF_INET6, .addr = V6_ANY, .addr2 = V6_LO),
	  .fields = { "addr", "\"::\"", "confined_addr", "\"::1\"", "rule", "null", NULL },
	  .text_has = { " CONFINE bind tcp [::]:3306 ", " netns=4026531840 confined=[::1]\n",
			NULL } },
	/* Not a confine: the confined bytes are ignored even when set. */
	{ .what = "deny with confined bytes set",
	  .ev = EV(.family = BG_AF_INET6, .addr = V6_ANY, .addr2 = V6_LO),
	  .fields = { "verdict", "\"deny\"", NULL } },

	/* The rule's name and hint. */
	{ .what = "no rule",
	  .ev = EV(),
	  .fields = { "rule", "null", NULL },
	  .text_has = { " rule=- expose=loopback ", NULL } },
	{ .what = "rule named by its software",
	  .ev = EV(),
	  .rule = &r_software,
	  .fields = { "rule", "\"MariaDB\"", NULL },
	  .text_has = { " rule=MariaDB ", NULL } },
	{ .what = "empty service, named by its software",
	  .ev = EV(),
	  .rule = &r_postfix,
	  .fields = { "rule", "\"Postfix\"", NULL } },
	{ .what = "rule without a name or hint",
	  .ev = EV(),
	  .rule = &r_noname,
	  .fields = { "rule", "null", NULL },
	  .text_has = { " rule=- ", NULL } },
	{ .what = "empty hint", .ev = EV(), .rule = &r_empty_hint },
	/* A rule name that is not one plain word is quoted in text. */
	{ .what = "rule name with a space",
	  .ev = EV(),
	  .rule = &r_spaced,
	  .fields = { "rule", "\"my sql\"", NULL },
	  .text_has = { " rule=\"my sql\" expose=", NULL } },
	{ .what = "hostile rule strings",
	  .ev = EV(),
	  .rule = &r_evil,
	  .fields = { "rule", "\"evil\\\"},{\\\"verdict\\\":\\\"allow\"", "verdict", "\"deny\"",
		      "hint", "\"line1\\nline2\\r\\u0001\\ufffd\"", NULL },
	  .text_has = { " rule=\"evil\\\"},{\\\"verdict\\\":\\\"allow\" ",
			" hint=\"line1\\nline2\\r\\u0001\\ufffd\"\n", NULL } },

	/* A hostile comm: escaped, and the fields after it untouched by it. */
	COMM("\"\"", ""),
	COMM("\"a\\\"b\\\\c\"", "a\"b\\c"),
	COMM("\"x\\ny\"", "x\ny"),
	COMM("\"\\r\\n\\t\\b\\f\"", "\r\n\t\b\f"),
	COMM("\"\\u0001\\u001f\\u007f\"", "\x01\x1f\x7f"),
	COMM("\"a\\ufffdb\"", "a\xff"
			      "b"),
	COMM("\"\\ufffd\\ufffd\"", "\xe2\x82"),
	COMM("\"\\ufffd\\ufffd\"", "\xc0\xaf"),
	COMM("\"\\ufffd\\ufffd\\ufffd\"", "\xed\xa0\x80"),
	COMM("\"\\u007f\\ufffd\"", "\x7f\x80"),
	COMM("\"caf\xc3\xa9\"", "caf\xc3\xa9"),
	COMM("\"\\u0085\\u2028\"", "\xc2\x85\xe2\x80\xa8"),
	COMM("\"ab\"", "ab\0cd"), /* stops at the first NUL */
	COMM("\"\\\",\\\"uid\\\":0,\\\"a\\\":\\\"\"", "\",\"uid\":0,\"a\":\""),
	COMM("\"}\\n{\\\"seq\\\":1}\"", "}\n{\"seq\":1}"),
	/* All 16 bytes used, no NUL at all. */
	COMM("\"0123456789abcdef\"",
	     { '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f' }),
	COMM("\"\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\"",
	     { '\n', '\n', '\n', '\n', '\n', '\n', '\n', '\n', '\n', '\n', '\n', '\n', '\n', '\n',
	       '\n', '\n' }),
	COMM("\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd"
	     "\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"",
	     { '\xff', '\xff', '\xff', '\xff', '\xff', '\xff', '\xff', '\xff', '\xff', '\xff',
	       '\xff', '\xff', '\xff', '\xff', '\xff', '\xe2' }),

	/* Values the encoder does not know are "unknown"; an unknown family hides nothing. */
	{ .what = "unknown enums",
	  .ev = EV(.type = 99, .verdict = 200, .mode = 9, .expose = 77, .action = 66, .hook = 5,
		   .family = 7, .proto = 9, .addr = { 0xfe, 0x80, [15] = 2 }),
	  .fields = { "event", "\"unknown\"", "verdict", "\"unknown\"", "mode", "\"unknown\"",
		      "expose", "\"unknown\"", "action", "\"unknown\"", "hook", "\"unknown\"",
		      "family", "\"unknown\"", "proto", "\"unknown\"", "addr", "\"fe80::2\"",
		      NULL },
	  .text = WALL_STR " UNKNOWN unknown unknown [fe80::2]:3306 rule=- expose=unknown "
			   "action=unknown mode=unknown pid=1234 comm=\"mysqld\" uid=1001 "
			   "cgroup=4294967297 netns=4026531840\n" },
	{ .what = "the values just past the known ones",
	  .ev = EV(.verdict = BG_VERDICT_CONFINE + 1, .expose = BG_EXPOSE_MAX + 1,
		   .action = BG_ACTION_MAX + 1, .mode = BG_MODE_AUDIT + 1, .hook = 0, .type = 0,
		   .proto = BG_NR_PROTOS),
	  .fields = { "event", "\"unknown\"", "verdict", "\"unknown\"", "mode", "\"unknown\"",
		      "expose", "\"unknown\"", "action", "\"unknown\"", "hook", "\"unknown\"",
		      "proto", "\"unknown\"", NULL } },

	/* listen, accept, existing. */
	{ .what = "listen",
	  .ev = EV(.type = BG_EVENT_LISTEN, .hook = BG_HOOK_SOCK_OPS),
	  .rule = &r_mysql,
	  .fields = { "event", "\"listen\"", "hook", "\"sockops\"", "pid", "1234", NULL },
	  .text_has = { " DENY listen tcp 0.0.0.0:3306 ", NULL } },
	/* An accept: the peer is reported, the (softirq) task is not. */
	{ .what = "accept",
	  .ev = EV(.type = BG_EVENT_ACCEPT, .hook = BG_HOOK_SOCK_OPS, .verdict = BG_VERDICT_ALERT,
		   .flags = BG_EV_F_NO_TASK, .addr = V4(127, 0, 0, 1), .addr2 = V4(192, 0, 2, 9),
		   .port2 = 40123),
	  .rule = &r_mysql,
	  .fields = { "event", "\"accept\"", "addr", "\"127.0.0.1\"", "peer_addr", "\"192.0.2.9\"",
		      "peer_port", "40123", "netns", "4026531840", NULL },
	  .text_has = { " ALERT accept tcp 127.0.0.1:3306 ", " peer=192.0.2.9:40123", NULL } },
	{ .what = "accept, inet6",
	  .ev = EV(.type = BG_EVENT_ACCEPT, .hook = BG_HOOK_SOCK_OPS, .verdict = BG_VERDICT_ALERT,
		   .flags = BG_EV_F_NO_TASK, .family = BG_AF_INET6, .addr = V6_LO, .addr2 = V6_DOC,
		   .port2 = 1),
	  .fields = { "addr", "\"::1\"", "peer_addr", "\"2001:db8::1\"", "peer_port", "1", NULL },
	  .text_has = { " accept tcp [::1]:3306 ", " peer=[2001:db8::1]:1", NULL } },
	/* A socket found and closed by reconcile. */
	{ .what = "existing, closed",
	  .ev = EV(.type = BG_EVENT_EXISTING, .hook = BG_HOOK_ITER, .flags = BG_EV_F_CLOSED),
	  .rule = &r_mysql,
	  .fields = { "event", "\"existing\"", "hook", "\"iter\"", "closed", "true", NULL },
	  .text_has = { " DENY existing tcp 0.0.0.0:3306 ", " closed hint=", NULL } },

	/* The text format on its own. */
	{ .what = "text: inet6, udp, alert, audit, no rule",
	  .ev = EV(.family = BG_AF_INET6, .addr = V6_DOC, .proto = BG_PROTO_UDP,
		   .verdict = BG_VERDICT_ALERT, .mode = BG_MODE_AUDIT),
	  .text = WALL_STR " ALERT bind udp [2001:db8::1]:3306 rule=- expose=loopback "
			   "action=deny mode=audit pid=1234 comm=\"mysqld\" uid=1001 "
			   "cgroup=4294967297 netns=4026531840\n" },
};
#pragma GCC diagnostic pop

static const char *const event_keys_always[] = { "ts",	 "seq",	   "event",  "verdict", "mode",
						 "rule", "expose", "action", "hook" };
static const char *const event_keys_task[] = { "pid", "comm", "uid", "gid", "cgroup_id" };
static const char *const event_keys_socket[] = { "netns", "family", "proto", "addr", "port" };

/*
 * The documented keys of an event line, in order (README "Events"): the task's only when there
 * is one, then hint, confined_addr, peer_addr and peer_port, closed when they are due.
 */
static size_t event_keys(const struct bg_event *ev, const struct bg_policy_rule *rule,
			 const char **keys)
{
	size_t n = 0, i;

	for (i = 0; i < ARRAY_SIZE(event_keys_always); i++)
		keys[n++] = event_keys_always[i];
	for (i = 0; !(ev->flags & BG_EV_F_NO_TASK) && i < ARRAY_SIZE(event_keys_task); i++)
		keys[n++] = event_keys_task[i];
	for (i = 0; i < ARRAY_SIZE(event_keys_socket); i++)
		keys[n++] = event_keys_socket[i];
	if (rule && rule->hint && rule->hint[0])
		keys[n++] = "hint";
	if (ev->verdict == BG_VERDICT_CONFINE)
		keys[n++] = "confined_addr";
	if (ev->type == BG_EVENT_ACCEPT) {
		keys[n++] = "peer_addr";
		keys[n++] = "peer_port";
	}
	if (ev->flags & BG_EV_F_CLOSED)
		keys[n++] = "closed";
	return n;
}

static void check_case_json(const struct enc_case *c, const struct bg_strbuf *sb,
			    const struct jc *j)
{
	const char *keys[32];
	size_t n, k;

	n = event_keys(&c->ev, c->rule, keys);
	if (j->n_top != n)
		fail_msg("%s: %zu keys, want %zu: %s", c->what, j->n_top, n, sb->buf);
	for (k = 0; k < n; k++)
		if (strcmp(j->top[k].key, keys[k]))
			fail_msg("%s: key %zu is \"%s\", want \"%s\"", c->what, k, j->top[k].key,
				 keys[k]);
	if (c->json && strcmp(sb->buf, c->json))
		fail_msg("%s:\n got  %s want %s", c->what, sb->buf, c->json);
	for (k = 0; c->fields[k]; k += 2) {
		assert_non_null(c->fields[k + 1]);
		assert_field(j, c->fields[k], c->fields[k + 1]);
	}
}

static void check_case_text(const struct enc_case *c, const struct bg_strbuf *sb)
{
	size_t k;

	if (c->text && strcmp(sb->buf, c->text))
		fail_msg("%s:\n got  %s want %s", c->what, sb->buf, c->text);
	for (k = 0; c->text_has[k]; k++)
		if (!strstr(sb->buf, c->text_has[k]))
			fail_msg("%s: text line lacks \"%s\": %s", c->what, c->text_has[k],
				 sb->buf);
	/* The header: time, verdict, event, proto, address:port; then key=value fields. */
	if (strncmp(sb->buf, WALL_STR " ", sizeof(WALL_STR)))
		fail_msg("%s: text line does not start with the time: %s", c->what, sb->buf);
}

static void test_event_table(void **state)
{
	struct bg_strbuf sb = BG_STRBUF_INIT;
	const struct enc_case *c;
	struct jc j;
	size_t k;

	(void)state;
	for (k = 0; k < ARRAY_SIZE(enc_cases); k++) {
		c = &enc_cases[k];
		what_now = c->what;
		format_one(&sb, BG_FORMAT_JSON, &c->ev, c->rule, &j);
		check_case_json(c, &sb, &j);
		format_one(&sb, BG_FORMAT_TEXT, &c->ev, c->rule, NULL);
		check_case_text(c, &sb);
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
	struct jc d;

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
	const struct bg_policy_rule rule = r_mysql;
	struct bg_event ev;
	size_t f;
	int n, err, failed;

	(void)state;
	make_event(&ev);
	ev.verdict = BG_VERDICT_CONFINE;
	memcpy(ev.addr2, (const __u8[16])V4(127, 0, 0, 1), 16);
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
	const struct bg_policy_rule rule = r_mysql;
	struct bg_event ev;
	struct jc d;
	size_t first;

	(void)state;
	make_event(&ev);
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
	struct jc d;

	(void)state;
	assert_int_equal(bg_lifecycle_format(&sb, BG_FORMAT_JSON, "ready", &wall, NULL), 0);
	assert_string_equal(sb.buf,
			    "{\"ts\":\"" WALL_STR "\",\"event\":\"agent\",\"state\":\"ready\"}\n");
	assert_json_line(&sb, 0, &d);
	assert_int_equal(d.n_top, 3);

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
	assert_int_equal(d.n_top, 5);
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
		cmocka_unit_test(test_json_string),
		cmocka_unit_test(test_json_string_all_bytes),
		cmocka_unit_test(test_json_string_args),
		cmocka_unit_test(test_rfc3339),
		cmocka_unit_test(test_rfc3339_invalid),
		cmocka_unit_test(test_event_table),
		cmocka_unit_test(test_event_comm_unterminated),
		cmocka_unit_test(test_event_errors),
		cmocka_unit_test(test_event_rollback),
		cmocka_unit_test(test_json_string_rollback),
		cmocka_unit_test(test_event_appends),
		cmocka_unit_test(test_lifecycle),
		cmocka_unit_test(test_lifecycle_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
