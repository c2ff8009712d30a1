// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_event_fmt.c - unit tests for agent/event_fmt.c (strbuf has its own, test_strbuf.c).
 *
 * The encoder's promise is that any record, however hostile its strings, gives exactly one line
 * of strict JSON, and a text rendering of the same fields: one line, or for an event with a hint
 * the line and an indented "  hint=" line. So each JSON line here goes through the tests' strict
 * checker (tests/lib/json_check.h, itself tested by test_json_check.c), its top-level keys are
 * compared, in order, to the documented field list, and the text is read back field by field
 * and compared with the JSON (assert_same_fields()). The events are one table: each row is an
 * event and a rule, and what the JSON and text must be. Agent records (bg_record_agent() and
 * the add functions) and the summary have tests of their own. Every expected line is written by
 * hand from the format's rules, not copied from the encoder's output.
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "event_fmt.h"
#include "json_check.h"
#include "sink.h"
#include "text_check.h"
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

/*
 * A text rendering: one line, or for an event with a hint the line and then one more, "  hint="
 * and the hint's value; each line obeys the line rules (tc_split(), tests/lib/text_check.h).
 * Returns the number of lines.
 */
static int assert_text_line(const struct bg_strbuf *sb, size_t start, int kind)
{
	static struct tc t;
	const char *line = sb->buf + start;
	size_t n = sb->len - start;

	assert_non_null(sb->buf);
	assert_true(n > 0);
	assert_int_equal(strlen(line), n);
	if (tc_split(&t, line, n, kind == BG_REC_EVENT))
		fail_msg("%s: %s at byte %zu of %s", what_now, t.err, t.err_pos, line);
	return t.lines;
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

/* ---- the text rendering read back, and compared with the JSON one --------------------------- */

/* What the last failed check found, for the message (and for test_same_fields_checker()). */
static char tf_err[512];

/*
 * "JSON and text render the same fields" (tc_same_fields(), tests/lib/text_check.h): the text's
 * keys (the lead positions and the hint line included) are exactly the JSON line's, each once,
 * the key=value fields in JSON order, and each value is the JSON one written the text way.
 * @raw_json names the one key, if any, that holds a trusted JSON value (bg_record_json()).
 * 0, or -1 with the reason in tf_err.
 */
static int same_fields(const char *text, size_t tn, const struct jc *j, int kind,
		       const char *raw_json)
{
	static struct tc t;

	if (tc_split(&t, text, tn, kind == BG_REC_EVENT) || tc_same_fields(&t, j, raw_json)) {
		snprintf(tf_err, sizeof(tf_err), "%s at byte %zu", t.err, t.err_pos);
		return -1;
	}
	return 0;
}

static void assert_same_fields(const char *text, size_t tn, const struct jc *j, int kind,
			       const char *raw_json)
{
	if (same_fields(text, tn, j, kind, raw_json))
		fail_msg("%s: text and JSON differ: %s\n text %s JSON %.*s", what_now, tf_err, text,
			 (int)j->n, j->s);
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
static char s_word_hint[] = "see:https://example.org/mysql";

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
static const struct bg_policy_rule r_word_hint = RULE(s_mysql, NULL, s_word_hint);
/* Policy strings are untrusted too: they go through the same escaper. */
static const struct bg_policy_rule r_evil = RULE(s_evil, s_mariadb, s_evil_hint);

#define BASE_JSON                                                                                 \
	"{\"ts\":\"" WALL_STR "\",\"seq\":1099511627781,\"event\":\"bind\",\"verdict\":\"deny\"," \
	"\"mode\":\"enforce\",\"rule\":\"mysql\",\"expose\":\"loopback\",\"action\":\"deny\","    \
	"\"hook\":\"bind\",\"pid\":1234,\"comm\":\"mysqld\",\"uid\":1001,\"gid\":1002,"           \
	"\"cgroup_id\":4294967297,\"netns\":4026531840,\"family\":\"inet\",\"proto\":\"tcp\","    \
	"\"addr\":\"0.0.0.0\",\"port\":3306,\"hint\":\"Set bind-address=127.0.0.1 in my.cnf\"}\n"

/*
 * The text line, written from the format's rules: the lead "TS VERDICT event proto addr:port",
 * then every other field as key=value in JSON order (bare when one plain word, so comm=mysqld),
 * and the hint, which is not one word, quoted on a line of its own.
 */
#define BASE_TEXT_LINE1                                                                          \
	WALL_STR " DENY bind tcp 0.0.0.0:3306 seq=1099511627781 mode=enforce rule=mysql "        \
		 "expose=loopback action=deny hook=bind pid=1234 comm=mysqld uid=1001 gid=1002 " \
		 "cgroup_id=4294967297 netns=4026531840 family=inet"
#define HINT_LINE "\n  hint=\"Set bind-address=127.0.0.1 in my.cnf\"\n"
#define BASE_TEXT BASE_TEXT_LINE1 HINT_LINE

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
		assert_text_line(sb, 0, BG_REC_EVENT);
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
 * (event_keys()), the text obeys the line rules (one line, or two with a hint), and the text
 * renders the same fields as the JSON (assert_same_fields()). On top of that, a row may give
 * the whole JSON line, the whole text, fields as written in JSON, and pieces of the text.
 */
struct enc_case {
	const char *what;
	struct bg_event ev;
	const struct bg_policy_rule *rule;
	const char *json; /* the whole JSON line, or NULL */
	const char *text; /* the whole text (both lines with a hint), or NULL */
	const char *fields[48]; /* "key", "value as written", ..., NULL */
	const char *text_has[4]; /* substrings of the text, NULL-terminated */
};

/*
 * A hostile comm as it is written in JSON (@w) and in text (@t: bare when one plain word, else
 * as in JSON), then its bytes.
 */
#define COMM(w, t, ...)                                                             \
	{                                                                           \
		.what = "comm " w, .ev = EV(.comm = __VA_ARGS__), .rule = &r_mysql, \
		.fields = { "comm", w, "uid", "1001", "port", "3306", NULL },       \
		.text_has = { " comm=" t " uid=1001 ", NULL },                      \
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
	  .text = WALL_STR " ALERT bind udp 192.0.2.10:65535 seq=0 mode=audit rule=mysql "
			   "expose=cidr action=alert hook=post_bind pid=4294967295 comm=mysqld "
			   "uid=0 gid=65534 cgroup_id=18446744073709551615 netns=1 "
			   "family=inet" HINT_LINE },
	{ .what = "allow, public, port 0",
	  .ev = EV(.verdict = BG_VERDICT_ALLOW, .expose = BG_EXPOSE_PUBLIC, .port = 0),
	  .rule = &r_mysql,
	  .fields = { "verdict", "\"allow\"", "expose", "\"public\"", "port", "0", NULL },
	  .text_has = { " ALLOW bind tcp 0.0.0.0:0 seq=", " expose=public ", NULL } },
	/* The action alone does not make a confine: no confined_addr. */
	{ .what = "expose none, action confine, verdict deny",
	  .ev = EV(.expose = BG_EXPOSE_NONE, .action = BG_ACTION_CONFINE,
		   .addr2 = V4(127, 0, 0, 1)),
	  .rule = &r_mysql,
	  .fields = { "verdict", "\"deny\"", "expose", "\"none\"", "action", "\"confine\"", NULL },
	  .text_has = { " DENY bind tcp 0.0.0.0:3306 ", " expose=none action=confine hook=bind ",
			" family=inet" HINT_LINE, NULL } },

	/* Addresses. */
	{ .what = "inet6",
	  .ev = EV(.family = BG_AF_INET6, .addr = V6_DOC),
	  .fields = { "family", "\"inet6\"", "addr", "\"2001:db8::1\"", NULL },
	  .text_has = { " DENY bind tcp [2001:db8::1]:3306 seq=", " family=inet6\n", NULL } },
	{ .what = "inet6 ::",
	  .ev = EV(.family = BG_AF_INET6, .addr = V6_ANY),
	  .fields = { "addr", "\"::\"", NULL },
	  .text_has = { " tcp [::]:3306 seq=", NULL } },
	/* An inet6 socket bound to a v4-mapped address stays in IPv6 notation. */
	{ .what = "inet6, v4-mapped wildcard",
	  .ev = EV(.family = BG_AF_INET6),
	  .fields = { "family", "\"inet6\"", "addr", "\"::ffff:0.0.0.0\"", NULL },
	  .text_has = { " tcp [::ffff:0.0.0.0]:3306 ", NULL } },
	{ .what = "inet6, v4-mapped",
	  .ev = EV(.family = BG_AF_INET6, .addr = V4(10, 1, 2, 3)),
	  .fields = { "addr", "\"::ffff:10.1.2.3\"", NULL },
	  .text_has = { " tcp [::ffff:10.1.2.3]:3306 ", NULL } },
	/* And an inet socket uses only the last four bytes, whatever the others hold. */
	{ .what = "inet, last four bytes",
	  .ev = EV(.addr = V4(10, 1, 2, 3)),
	  .fields = { "family", "\"inet\"", "addr", "\"10.1.2.3\"", NULL },
	  .text_has = { " tcp 10.1.2.3:3306 ", NULL } },
	{ .what = "inet, garbage before the last four bytes",
	  .ev = EV(.addr = { 0xfe, 0x80, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 10, 1, 2, 3 }),
	  .fields = { "addr", "\"10.1.2.3\"", NULL },
	  .text_has = { " tcp 10.1.2.3:3306 ", NULL } },

	/*
	 * Confine: the rewritten address follows the hint in JSON; in text it stays on the first
	 * line, after family, and the hint moves to the second.
	 */
	{ .what = "confine, inet",
	  .ev = EV(.verdict = BG_VERDICT_CONFINE, .action = BG_ACTION_CONFINE,
		   .addr2 = V4(127, 0, 0, 1)),
	  .rule = &r_mysql,
	  .fields = { "verdict", "\"confine\"", "action", "\"confine\"", "addr", "\"0.0.0.0\"",
		      "confined_addr", "\"127.0.0.1\"", NULL },
	  .text = WALL_STR " CONFINE bind tcp 0.0.0.0:3306 seq=1099511627781 mode=enforce "
			   "rule=mysql expose=loopback action=confine hook=bind pid=1234 "
			   "comm=mysqld uid=1001 gid=1002 cgroup_id=4294967297 netns=4026531840 "
			   "family=inet confined_addr=127.0.0.1" HINT_LINE },
	/* Without a rule: confined_addr is still there, hint is not. An IPv6 value is bare. */
	{ .what = "confine, inet6, no rule",
	  .ev = EV(.verdict = BG_VERDICT_CONFINE, .action = BG_ACTION_CONFINE,
		   .family = BG_AF_INET6, .addr = V6_ANY, .addr2 = V6_LO),
	  .fields = { "addr", "\"::\"", "confined_addr", "\"::1\"", "rule", "null", NULL },
	  .text_has = { " CONFINE bind tcp [::]:3306 ", " family=inet6 confined_addr=::1\n",
			NULL } },
	/* Not a confine: the confined bytes are ignored even when set. */
	{ .what = "deny with confined bytes set",
	  .ev = EV(.family = BG_AF_INET6, .addr = V6_ANY, .addr2 = V6_LO),
	  .fields = { "verdict", "\"deny\"", NULL },
	  .text_has = { " DENY bind tcp [::]:3306 ", " family=inet6\n", NULL } },

	/* The rule's name and hint. */
	{ .what = "no rule",
	  .ev = EV(),
	  .fields = { "rule", "null", NULL },
	  .text_has = { " mode=enforce rule=- expose=loopback ", NULL } },
	{ .what = "rule named by its software",
	  .ev = EV(),
	  .rule = &r_software,
	  .fields = { "rule", "\"MariaDB\"", NULL },
	  .text_has = { " rule=MariaDB ", NULL } },
	{ .what = "empty service, named by its software",
	  .ev = EV(),
	  .rule = &r_postfix,
	  .fields = { "rule", "\"Postfix\"", NULL },
	  .text_has = { " rule=Postfix ", NULL } },
	{ .what = "rule without a name or hint",
	  .ev = EV(),
	  .rule = &r_noname,
	  .fields = { "rule", "null", NULL },
	  .text_has = { " rule=- ", " family=inet\n", NULL } },
	{ .what = "empty hint",
	  .ev = EV(),
	  .rule = &r_empty_hint,
	  .text_has = { " family=inet\n", NULL } },
	/* A rule name that is not one plain word is quoted in text. */
	{ .what = "rule name with a space",
	  .ev = EV(),
	  .rule = &r_spaced,
	  .fields = { "rule", "\"my sql\"", NULL },
	  .text_has = { " rule=\"my sql\" expose=", NULL } },
	/* A hint that is one plain word is bare, on its line. */
	{ .what = "one-word hint",
	  .ev = EV(),
	  .rule = &r_word_hint,
	  .fields = { "rule", "\"mysql\"", "hint", "\"see:https://example.org/mysql\"", NULL },
	  .text_has = { " family=inet\n  hint=see:https://example.org/mysql\n", NULL } },
	{ .what = "hostile rule strings",
	  .ev = EV(),
	  .rule = &r_evil,
	  .fields = { "rule", "\"evil\\\"},{\\\"verdict\\\":\\\"allow\"", "verdict", "\"deny\"",
		      "hint", "\"line1\\nline2\\r\\u0001\\ufffd\"", NULL },
	  .text_has = { " rule=\"evil\\\"},{\\\"verdict\\\":\\\"allow\" expose=",
			" family=inet\n  hint=\"line1\\nline2\\r\\u0001\\ufffd\"\n", NULL } },

	/* A hostile comm: escaped, and the fields after it untouched by it. */
	COMM("\"\"", "\"\"", ""),
	COMM("\"a\\\"b\\\\c\"", "\"a\\\"b\\\\c\"", "a\"b\\c"),
	COMM("\"x\\ny\"", "\"x\\ny\"", "x\ny"),
	COMM("\"\\r\\n\\t\\b\\f\"", "\"\\r\\n\\t\\b\\f\"", "\r\n\t\b\f"),
	COMM("\"\\u0001\\u001f\\u007f\"", "\"\\u0001\\u001f\\u007f\"", "\x01\x1f\x7f"),
	COMM("\"a\\ufffdb\"", "\"a\\ufffdb\"",
	     "a\xff"
	     "b"),
	COMM("\"\\ufffd\\ufffd\"", "\"\\ufffd\\ufffd\"", "\xe2\x82"),
	COMM("\"\\ufffd\\ufffd\"", "\"\\ufffd\\ufffd\"", "\xc0\xaf"),
	COMM("\"\\ufffd\\ufffd\\ufffd\"", "\"\\ufffd\\ufffd\\ufffd\"", "\xed\xa0\x80"),
	COMM("\"\\u007f\\ufffd\"", "\"\\u007f\\ufffd\"", "\x7f\x80"),
	COMM("\"caf\xc3\xa9\"", "\"caf\xc3\xa9\"", "caf\xc3\xa9"),
	COMM("\"\\u0085\\u2028\"", "\"\\u0085\\u2028\"", "\xc2\x85\xe2\x80\xa8"),
	COMM("\"ab\"", "ab", "ab\0cd"), /* stops at the first NUL */
	COMM("\"\\\",\\\"uid\\\":0,\\\"a\\\":\\\"\"", "\"\\\",\\\"uid\\\":0,\\\"a\\\":\\\"\"",
	     "\",\"uid\":0,\"a\":\""),
	COMM("\"}\\n{\\\"seq\\\":1}\"", "\"}\\n{\\\"seq\\\":1}\"", "}\n{\"seq\":1}"),
	/* The text's plain word: every character it allows, and one each it does not. */
	COMM("\"a-b_c.d:e/f@g+H9\"", "a-b_c.d:e/f@g+H9", "a-b_c.d:e/f@g+H9"),
	COMM("\"uid=0\"", "\"uid=0\"", "uid=0"),
	COMM("\"kworker 1\"", "\"kworker 1\"", "kworker 1"),
	COMM("\"a,b\"", "\"a,b\"", "a,b"),
	COMM("\"a'b\"", "\"a'b\"", "a'b"),
	COMM("\"$x\"", "\"$x\"", "$x"),
	COMM("\"[x]\"", "\"[x]\"", "[x]"),
	/* Plain words that are tokens of the text format: none, a boolean, a number. */
	COMM("\"-\"", "\"-\"", "-"),
	COMM("\"true\"", "\"true\"", "true"),
	COMM("\"false\"", "\"false\"", "false"),
	COMM("\"4242\"", "\"4242\"", "4242"),
	COMM("\"0\"", "\"0\"", "0"),
	/* ...and words that are not. */
	COMM("\"--\"", "--", "--"),
	COMM("\"-1\"", "-1", "-1"),
	COMM("\"TRUE\"", "TRUE", "TRUE"),
	COMM("\"null\"", "null", "null"),
	COMM("\"4242a\"", "4242a", "4242a"),
	/* All 16 bytes used, no NUL at all. */
	COMM("\"0123456789abcdef\"", "0123456789abcdef",
	     { '0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f' }),
	COMM("\"\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\"",
	     "\"\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\\n\"",
	     { '\n', '\n', '\n', '\n', '\n', '\n', '\n', '\n', '\n', '\n', '\n', '\n', '\n', '\n',
	       '\n', '\n' }),
	COMM("\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd"
	     "\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"",
	     "\"\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd"
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
	  .text = WALL_STR " UNKNOWN unknown unknown [fe80::2]:3306 seq=1099511627781 "
			   "mode=unknown rule=- expose=unknown action=unknown hook=unknown "
			   "pid=1234 comm=mysqld uid=1001 gid=1002 cgroup_id=4294967297 "
			   "netns=4026531840 family=unknown\n" },
	{ .what = "the values just past the known ones",
	  .ev = EV(.verdict = BG_VERDICT_CONFINE + 1, .expose = BG_EXPOSE_MAX + 1,
		   .action = BG_ACTION_MAX + 1, .mode = BG_MODE_AUDIT + 1, .hook = 0, .type = 0,
		   .proto = BG_NR_PROTOS),
	  .fields = { "event", "\"unknown\"", "verdict", "\"unknown\"", "mode", "\"unknown\"",
		      "expose", "\"unknown\"", "action", "\"unknown\"", "hook", "\"unknown\"",
		      "proto", "\"unknown\"", NULL },
	  .text_has = { " UNKNOWN unknown unknown 0.0.0.0:3306 seq=", " hook=unknown ", NULL } },

	/* listen, accept, existing. */
	{ .what = "listen",
	  .ev = EV(.type = BG_EVENT_LISTEN, .hook = BG_HOOK_SOCK_OPS),
	  .rule = &r_mysql,
	  .fields = { "event", "\"listen\"", "hook", "\"sockops\"", "pid", "1234", NULL },
	  .text_has = { " DENY listen tcp 0.0.0.0:3306 ", " hook=sockops pid=1234 ", NULL } },
	/* An accept: the peer is reported, the (softirq) task is not. */
	{ .what = "accept",
	  .ev = EV(.type = BG_EVENT_ACCEPT, .hook = BG_HOOK_SOCK_OPS, .verdict = BG_VERDICT_ALERT,
		   .flags = BG_EV_F_NO_TASK, .addr = V4(127, 0, 0, 1), .addr2 = V4(192, 0, 2, 9),
		   .port2 = 40123),
	  .rule = &r_mysql,
	  .fields = { "event", "\"accept\"", "addr", "\"127.0.0.1\"", "peer_addr", "\"192.0.2.9\"",
		      "peer_port", "40123", "netns", "4026531840", NULL },
	  .text = WALL_STR " ALERT accept tcp 127.0.0.1:3306 seq=1099511627781 mode=enforce "
			   "rule=mysql expose=loopback action=deny hook=sockops netns=4026531840 "
			   "family=inet peer_addr=192.0.2.9 peer_port=40123" HINT_LINE },
	{ .what = "accept, inet6",
	  .ev = EV(.type = BG_EVENT_ACCEPT, .hook = BG_HOOK_SOCK_OPS, .verdict = BG_VERDICT_ALERT,
		   .flags = BG_EV_F_NO_TASK, .family = BG_AF_INET6, .addr = V6_LO, .addr2 = V6_DOC,
		   .port2 = 1),
	  .fields = { "addr", "\"::1\"", "peer_addr", "\"2001:db8::1\"", "peer_port", "1", NULL },
	  .text_has = { " ALERT accept tcp [::1]:3306 ",
			" family=inet6 peer_addr=2001:db8::1 peer_port=1\n", NULL } },
	/* A socket found and closed by reconcile. */
	{ .what = "existing, closed",
	  .ev = EV(.type = BG_EVENT_EXISTING, .hook = BG_HOOK_ITER, .flags = BG_EV_F_CLOSED),
	  .rule = &r_mysql,
	  .fields = { "event", "\"existing\"", "hook", "\"iter\"", "closed", "true", NULL },
	  .text_has = { " DENY existing tcp 0.0.0.0:3306 ", " hook=iter ",
			" family=inet closed=true" HINT_LINE, NULL } },
	/* The flood control's count of the source's events that were not written before this. */
	{ .what = "suppressed",
	  .ev = EV(.suppressed = 4294967295u),
	  .rule = &r_mysql,
	  .fields = { "suppressed", "4294967295", "hint",
		      "\"Set bind-address=127.0.0.1 in my.cnf\"", NULL },
	  .text_has = { " family=inet suppressed=4294967295" HINT_LINE, NULL } },
	/* Every optional field at once, in their documented order. */
	{ .what = "confine of an accept, closed, suppressed",
	  .ev = EV(.type = BG_EVENT_ACCEPT, .verdict = BG_VERDICT_CONFINE, .hook = BG_HOOK_SOCK_OPS,
		   .flags = BG_EV_F_NO_TASK | BG_EV_F_CLOSED, .suppressed = 7,
		   .addr2 = V4(127, 0, 0, 1), .port2 = 9),
	  .rule = &r_mysql,
	  .json = "{\"ts\":\"" WALL_STR "\",\"seq\":1099511627781,\"event\":\"accept\","
		  "\"verdict\":\"confine\",\"mode\":\"enforce\",\"rule\":\"mysql\","
		  "\"expose\":\"loopback\",\"action\":\"deny\",\"hook\":\"sockops\","
		  "\"netns\":4026531840,\"family\":\"inet\",\"proto\":\"tcp\","
		  "\"addr\":\"0.0.0.0\",\"port\":3306,"
		  "\"hint\":\"Set bind-address=127.0.0.1 in my.cnf\","
		  "\"confined_addr\":\"127.0.0.1\",\"peer_addr\":\"127.0.0.1\",\"peer_port\":9,"
		  "\"closed\":true,\"suppressed\":7}\n",
	  .text = WALL_STR " CONFINE accept tcp 0.0.0.0:3306 seq=1099511627781 mode=enforce "
			   "rule=mysql expose=loopback action=deny hook=sockops netns=4026531840 "
			   "family=inet confined_addr=127.0.0.1 peer_addr=127.0.0.1 peer_port=9 "
			   "closed=true suppressed=7" HINT_LINE },

	{ .what = "text: inet6, udp, alert, audit, no rule",
	  .ev = EV(.family = BG_AF_INET6, .addr = V6_DOC, .proto = BG_PROTO_UDP,
		   .verdict = BG_VERDICT_ALERT, .mode = BG_MODE_AUDIT),
	  .text = WALL_STR
	  " ALERT bind udp [2001:db8::1]:3306 seq=1099511627781 mode=audit "
	  "rule=- expose=loopback action=deny hook=bind pid=1234 comm=mysqld "
	  "uid=1001 gid=1002 cgroup_id=4294967297 netns=4026531840 family=inet6\n" },
};
#pragma GCC diagnostic pop

static const char *const event_keys_always[] = { "ts",	 "seq",	   "event",  "verdict", "mode",
						 "rule", "expose", "action", "hook" };
static const char *const event_keys_task[] = { "pid", "comm", "uid", "gid", "cgroup_id" };
static const char *const event_keys_socket[] = { "netns", "family", "proto", "addr", "port" };

/*
 * The documented keys of an event line, in order (README "Events"): the task's only when there
 * is one, then hint, confined_addr, peer_addr and peer_port, closed and suppressed when they
 * are due.
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
	if (ev->suppressed)
		keys[n++] = "suppressed";
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

static void check_case_text(const struct enc_case *c, const struct bg_strbuf *sb,
			    const struct jc *j)
{
	int lines = assert_text_line(sb, 0, BG_REC_EVENT);
	size_t k;

	if (c->text && strcmp(sb->buf, c->text))
		fail_msg("%s:\n got  %s want %s", c->what, sb->buf, c->text);
	for (k = 0; c->text_has[k]; k++)
		if (!strstr(sb->buf, c->text_has[k]))
			fail_msg("%s: text lacks \"%s\": %s", c->what, c->text_has[k], sb->buf);
	if (strncmp(sb->buf, WALL_STR " ", sizeof(WALL_STR)))
		fail_msg("%s: text does not start with the time: %s", c->what, sb->buf);
	/* A second line exactly when there is a hint. */
	if ((lines == 2) != (jc_get(j, "hint") != NULL))
		fail_msg("%s: %d text lines, hint %s: %s", c->what, lines,
			 jc_get(j, "hint") ? "present" : "absent", sb->buf);
	assert_same_fields(sb->buf, sb->len, j, BG_REC_EVENT, NULL);
}

/*
 * The record behind the line: bg_event_format() is bg_record_event() and bg_record_render(),
 * and the summary is the text's first line without "TS " and the newline, hint or not.
 */
static void check_case_record(const struct enc_case *c, const struct bg_strbuf *json,
			      const struct bg_strbuf *text)
{
	struct bg_event_meta m = { .rule = c->rule, .wall = &wall };
	struct bg_strbuf sb = BG_STRBUF_INIT;
	struct bg_record r;
	const char *nl;

	assert_int_equal(bg_record_event(&r, &c->ev, &m), 0);
	assert_int_equal(r.kind, BG_REC_EVENT);
	assert_int_equal(bg_record_render(&sb, BG_FORMAT_JSON, &r), 0);
	assert_string_equal(sb.buf, json->buf);
	bg_strbuf_reset(&sb);
	assert_int_equal(bg_record_render(&sb, BG_FORMAT_TEXT, &r), 0);
	assert_string_equal(sb.buf, text->buf);
	bg_strbuf_reset(&sb);
	assert_int_equal(bg_record_summary(&sb, &r), 0);
	nl = strchr(text->buf, '\n');
	assert_non_null(nl);
	if (sb.len != (size_t)(nl - text->buf) - sizeof(WALL_STR) ||
	    memcmp(sb.buf, text->buf + sizeof(WALL_STR), sb.len))
		fail_msg("%s: summary %s is not the text's first line: %s", c->what, sb.buf,
			 text->buf);
	bg_strbuf_release(&sb);
}

static void test_event_table(void **state)
{
	struct bg_strbuf sj = BG_STRBUF_INIT, st = BG_STRBUF_INIT;
	const struct enc_case *c;
	struct jc j;
	size_t k;

	(void)state;
	for (k = 0; k < ARRAY_SIZE(enc_cases); k++) {
		c = &enc_cases[k];
		what_now = c->what;
		format_one(&sj, BG_FORMAT_JSON, &c->ev, c->rule, &j);
		check_case_json(c, &sj, &j);
		format_one(&st, BG_FORMAT_TEXT, &c->ev, c->rule, NULL);
		check_case_text(c, &st, &j);
		check_case_record(c, &sj, &st);
	}
	bg_strbuf_release(&sj);
	bg_strbuf_release(&st);
}

/*
 * The property's checker must itself be able to fail: the base text, broken by hand one way at
 * a time (a field dropped, doubled, renamed, moved or written another way), must not pass.
 */
static void test_same_fields_checker(void **state)
{
	static const char *const broken[] = {
		/* a field dropped */
		WALL_STR " DENY bind tcp 0.0.0.0:3306 seq=1099511627781 mode=enforce rule=mysql "
			 "expose=loopback action=deny hook=bind pid=1234 comm=mysqld uid=1001 "
			 "cgroup_id=4294967297 netns=4026531840 family=inet" HINT_LINE,
		/* the hint line dropped */
		BASE_TEXT_LINE1 "\n",
		/* a field twice */
		BASE_TEXT_LINE1 " uid=1001" HINT_LINE,
		/* two fields swapped */
		WALL_STR " DENY bind tcp 0.0.0.0:3306 mode=enforce seq=1099511627781 rule=mysql "
			 "expose=loopback action=deny hook=bind pid=1234 comm=mysqld uid=1001 "
			 "gid=1002 cgroup_id=4294967297 netns=4026531840 family=inet" HINT_LINE,
		/* a key renamed (the old "cgroup=") */
		WALL_STR " DENY bind tcp 0.0.0.0:3306 seq=1099511627781 mode=enforce rule=mysql "
			 "expose=loopback action=deny hook=bind pid=1234 comm=mysqld uid=1001 "
			 "gid=1002 cgroup=4294967297 netns=4026531840 family=inet" HINT_LINE,
		/* a plain word quoted (the old comm="mysqld") */
		WALL_STR " DENY bind tcp 0.0.0.0:3306 seq=1099511627781 mode=enforce rule=mysql "
			 "expose=loopback action=deny hook=bind pid=1234 comm=\"mysqld\" uid=1001 "
			 "gid=1002 cgroup_id=4294967297 netns=4026531840 family=inet" HINT_LINE,
		/* a value changed */
		WALL_STR " DENY bind tcp 0.0.0.0:3306 seq=1099511627781 mode=enforce rule=mysql "
			 "expose=loopback action=deny hook=bind pid=1234 comm=mysqld uid=1001 "
			 "gid=1003 cgroup_id=4294967297 netns=4026531840 family=inet" HINT_LINE,
		/* the verdict not in capitals */
		WALL_STR " deny bind tcp 0.0.0.0:3306 seq=1099511627781 mode=enforce rule=mysql "
			 "expose=loopback action=deny hook=bind pid=1234 comm=mysqld uid=1001 "
			 "gid=1002 cgroup_id=4294967297 netns=4026531840 family=inet" HINT_LINE,
		/* a hint that is not one word left bare */
		BASE_TEXT_LINE1 "\n  hint=Set bind-address=127.0.0.1 in my.cnf\n",
		/* the verdict quoted, an IPv4 address in brackets, a port quoted */
		WALL_STR
		" \"deny\" bind tcp 0.0.0.0:3306 seq=1099511627781 mode=enforce rule=mysql "
		"expose=loopback action=deny hook=bind pid=1234 comm=mysqld uid=1001 "
		"gid=1002 cgroup_id=4294967297 netns=4026531840 family=inet" HINT_LINE,
		WALL_STR " DENY bind tcp [0.0.0.0]:3306 seq=1099511627781 mode=enforce rule=mysql "
			 "expose=loopback action=deny hook=bind pid=1234 comm=mysqld uid=1001 "
			 "gid=1002 cgroup_id=4294967297 netns=4026531840 family=inet" HINT_LINE,
		WALL_STR
		" DENY bind tcp 0.0.0.0:\"3306\" seq=1099511627781 mode=enforce rule=mysql "
		"expose=loopback action=deny hook=bind pid=1234 comm=mysqld uid=1001 "
		"gid=1002 cgroup_id=4294967297 netns=4026531840 family=inet" HINT_LINE,
	};
	static const char good_tokens[] = "t agent s a=\"-\" b=\"true\" c=\"12\" d=\"[1]\"\n";
	static const char *const broken_tokens[] = {
		"t agent s a=- b=\"true\" c=\"12\" d=\"[1]\"\n",
		"t agent s a=\"-\" b=true c=\"12\" d=\"[1]\"\n",
		"t agent s a=\"-\" b=\"true\" c=12 d=\"[1]\"\n",
		"t agent s a=\"-\" b=\"true\" c=\"12\" d=[1]\n",
	};
	struct bg_strbuf sj = BG_STRBUF_INIT;
	struct jc j;
	size_t k;

	(void)state;
	what_now = "the base text";
	format_one(&sj, BG_FORMAT_JSON, &base_event, &r_mysql, &j);
	assert_same_fields(BASE_TEXT, strlen(BASE_TEXT), &j, BG_REC_EVENT, NULL);
	for (k = 0; k < ARRAY_SIZE(broken); k++)
		if (!same_fields(broken[k], strlen(broken[k]), &j, BG_REC_EVENT, NULL))
			fail_msg("broken text %zu passes: %s", k, broken[k]);

	/* A string that is a token of the text format must be quoted; a JSON value too. */
	bg_strbuf_reset(&sj);
	assert_int_equal(bg_strbuf_puts(&sj,
					"{\"ts\":\"t\",\"event\":\"agent\",\"state\":\"s\","
					"\"a\":\"-\",\"b\":\"true\",\"c\":\"12\",\"d\":[1]}\n"),
			 0);
	what_now = "tokens";
	assert_json_line(&sj, 0, &j);
	assert_same_fields(good_tokens, strlen(good_tokens), &j, BG_REC_AGENT, "d");
	for (k = 0; k < ARRAY_SIZE(broken_tokens); k++)
		if (!same_fields(broken_tokens[k], strlen(broken_tokens[k]), &j, BG_REC_AGENT, "d"))
			fail_msg("broken text %s passes", broken_tokens[k]);
	bg_strbuf_release(&sj);
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
	assert_non_null(strstr(sb.buf, " comm=AAAAAAAAAAAAAAAA uid="));
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
				} else if (formats[f] == BG_FORMAT_JSON) {
					struct jc d;

					assert_json_line(&sb, before, &d);
				} else {
					assert_int_equal(
						assert_text_line(&sb, before, BG_REC_EVENT), 2);
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
	assert_text_line(&sb, first, BG_REC_EVENT);
	ev.seq++;
	first = sb.len;
	assert_int_equal(bg_event_format(&sb, BG_FORMAT_JSON, &ev, &rule, &wall), 0);
	assert_json_line(&sb, first, &d);
	assert_field(&d, "seq", "1099511627782");
	bg_strbuf_release(&sb);
}

/* ---- agent records: bg_record_agent() and the add functions --------------------------------- */

#define AGENT_JSON(state, rest) \
	"{\"ts\":\"" WALL_STR "\",\"event\":\"agent\",\"state\":" state rest "}\n"

/*
 * Render @r both ways into fresh buffers, and check each against its exact line (written by
 * hand from the rules), the line rules, strict JSON, and "the same fields" in both.
 * @raw_json: the key holding a bg_record_json() value, or NULL.
 */
static void check_agent(const char *what, const struct bg_record *r, const char *want_json,
			const char *want_text, const char *raw_json)
{
	struct bg_strbuf sj = BG_STRBUF_INIT, st = BG_STRBUF_INIT;
	struct jc j;

	what_now = what;
	assert_int_equal(bg_record_render(&sj, BG_FORMAT_JSON, r), 0);
	assert_json_line(&sj, 0, &j);
	if (strcmp(sj.buf, want_json))
		fail_msg("%s:\n got  %s want %s", what, sj.buf, want_json);
	assert_int_equal(bg_record_render(&st, BG_FORMAT_TEXT, r), 0);
	/* An agent record is one line, whatever its keys (a "hint" too). */
	assert_int_equal(assert_text_line(&st, 0, BG_REC_AGENT), 1);
	if (strcmp(st.buf, want_text))
		fail_msg("%s:\n got  %s want %s", what, st.buf, want_text);
	assert_same_fields(st.buf, st.len, &j, BG_REC_AGENT, raw_json);
	bg_strbuf_release(&sj);
	bg_strbuf_release(&st);
}

static void test_agent_record(void **state)
{
	struct bg_record r;

	(void)state;
	assert_int_equal(bg_record_agent(&r, "stopping", &wall, 6), 0);
	assert_int_equal(r.kind, BG_REC_AGENT);
	assert_int_equal(r.priority, 6);
	assert_int_equal(r.n, 3);
	check_agent("bare agent record", &r, AGENT_JSON("\"stopping\"", ""),
		    WALL_STR " agent stopping\n", NULL);

	assert_int_equal(bg_record_agent(&r, "ready", &wall, 6), 0);
	bg_record_str(&r, "version", "1");
	bg_record_str(&r, "mode", "enforce");
	check_agent("ready", &r, AGENT_JSON("\"ready\"", ",\"version\":\"1\",\"mode\":\"enforce\""),
		    WALL_STR " agent ready version=\"1\" mode=enforce\n", NULL);
	/* A record can be rendered again, and starting a new one forgets the old fields. */
	check_agent("ready again", &r,
		    AGENT_JSON("\"ready\"", ",\"version\":\"1\",\"mode\":\"enforce\""),
		    WALL_STR " agent ready version=\"1\" mode=enforce\n", NULL);
	assert_int_equal(bg_record_agent(&r, "reloaded", &wall, 6), 0);
	assert_int_equal(r.n, 3);
	assert_null(bg_record_get(&r, "version"));
}

/* Each value type, in both renderings. */
static void test_agent_record_types(void **state)
{
	static const char big_json[] = "{\"ringbuf\":true,\"iter\":false,\"n\":[1,2]}";
	struct bg_record r;

	(void)state;
	assert_int_equal(bg_record_agent(&r, "ready", &wall, 6), 0);
	bg_record_uint(&r, "rules", 12);
	bg_record_uint(&r, "pid", 0);
	bg_record_uint(&r, "max", 18446744073709551615ull);
	bg_record_bool(&r, "pinned", 5); /* any non-zero is true */
	bg_record_bool(&r, "closed", 0);
	bg_record_str(&r, "cgroup", NULL);
	bg_record_str(&r, "policy", "");
	bg_record_str(&r, "source", "/etc/bindguard/policy.yaml");
	bg_record_str(&r, "kernel", "6.1.0-28-amd64 #1 SMP");
	bg_record_strn(&r, "sink", "journal-and-more", 7);
	bg_record_strn(&r, "none", NULL, 5);
	/* A hint is an event's second line; in an agent record it is a field like any other. */
	bg_record_str(&r, "hint", "restart it");
	bg_record_str(&r, "a_1", "x");
	check_agent("every plain type", &r,
		    AGENT_JSON("\"ready\"",
			       ",\"rules\":12,\"pid\":0,\"max\":18446744073709551615,"
			       "\"pinned\":true,\"closed\":false,\"cgroup\":null,"
			       "\"policy\":\"\",\"source\":\"/etc/bindguard/policy.yaml\","
			       "\"kernel\":\"6.1.0-28-amd64 #1 SMP\",\"sink\":\"journal\","
			       "\"none\":null,\"hint\":\"restart it\",\"a_1\":\"x\""),
		    WALL_STR " agent ready rules=12 pid=0 max=18446744073709551615 pinned=true "
			     "closed=false cgroup=- policy=\"\" source=/etc/bindguard/policy.yaml "
			     "kernel=\"6.1.0-28-amd64 #1 SMP\" sink=journal none=- "
			     "hint=\"restart it\" a_1=x\n",
		    NULL);
	assert_non_null(bg_record_get(&r, "kernel"));
	assert_int_equal(bg_record_get(&r, "kernel")->type, BG_FV_STR);
	assert_int_equal(bg_record_get(&r, "cgroup")->type, BG_FV_NULL);
	assert_null(bg_record_get(&r, "nosuch"));

	/*
	 * A JSON value (the features map) is written as it is in JSON, without the spaces around
	 * it, and in text always as a string holding its JSON text: a bare {...} or [...] would be
	 * a token of its own. NULL is null, "-" in text.
	 */
	assert_int_equal(bg_record_agent(&r, "ready", &wall, 6), 0);
	bg_record_json(&r, "features", big_json);
	check_agent("a JSON value", &r,
		    AGENT_JSON("\"ready\"", ",\"features\":{\"ringbuf\":true,\"iter\":false,"
					    "\"n\":[1,2]}"),
		    WALL_STR
		    " agent ready "
		    "features=\"{\\\"ringbuf\\\":true,\\\"iter\\\":false,\\\"n\\\":[1,2]}\"\n",
		    "features");
	assert_int_equal(bg_record_agent(&r, "ready", &wall, 6), 0);
	bg_record_json(&r, "features", "  {\"kernel\": \"6.1 x\"} ");
	check_agent("a JSON value with spaces", &r,
		    AGENT_JSON("\"ready\"", ",\"features\":{\"kernel\": \"6.1 x\"}"),
		    WALL_STR " agent ready features=\"{\\\"kernel\\\": \\\"6.1 x\\\"}\"\n",
		    "features");
	assert_int_equal(bg_record_agent(&r, "ready", &wall, 6), 0);
	bg_record_json(&r, "n", "42");
	bg_record_json(&r, "t", "true");
	bg_record_json(&r, "z", "null");
	bg_record_json(&r, "s", "\"-\"");
	bg_record_json(&r, "features", NULL);
	check_agent("JSON scalars and a NULL JSON value", &r,
		    AGENT_JSON("\"ready\"", ",\"n\":42,\"t\":true,\"z\":null,\"s\":\"-\","
					    "\"features\":null"),
		    WALL_STR
		    " agent ready n=\"42\" t=\"true\" z=\"null\" s=\"\\\"-\\\"\" features=-\n",
		    "n t z s");
}

/*
 * bg_record_strn() takes at most n bytes and stops at the first NUL among them: a kernel comm
 * buffer may hold garbage after its terminator, and none of it may reach the line.
 */
static void test_record_strn(void **state)
{
	static const char comm[16] = "ab\0\n{\"uid\":0}x";
	static const char full[4] = { 'w', 'x', 'y', 'z' }; /* no NUL at all */
	struct bg_record r;

	(void)state;
	assert_int_equal(bg_record_agent(&r, "ready", &wall, 6), 0);
	bg_record_strn(&r, "comm", comm, sizeof(comm));
	bg_record_strn(&r, "empty", comm + 2, sizeof(comm) - 2);
	bg_record_strn(&r, "full", full, sizeof(full));
	bg_record_strn(&r, "cut", full, 2);
	assert_int_equal(bg_record_get(&r, "comm")->len, 2);
	assert_int_equal(bg_record_get(&r, "empty")->len, 0);
	check_agent("strn stops at a NUL", &r,
		    AGENT_JSON("\"ready\"", ",\"comm\":\"ab\",\"empty\":\"\",\"full\":\"wxyz\","
					    "\"cut\":\"wx\""),
		    WALL_STR " agent ready comm=ab empty=\"\" full=wxyz cut=wx\n", NULL);
}

/*
 * A string is bare in text only when a reader cannot take it for another token: "-" is the
 * format's none, true and false its booleans, digits its numbers; such a string is quoted,
 * so that a hostile name cannot turn into a null, a boolean or a count.
 */
static void test_text_tokens(void **state)
{
	struct bg_record r;

	(void)state;
	assert_int_equal(bg_record_agent(&r, "-", &wall, 6), 0);
	bg_record_str(&r, "a", "-");
	bg_record_str(&r, "b", "true");
	bg_record_str(&r, "c", "false");
	bg_record_str(&r, "d", "007");
	bg_record_str(&r, "e", NULL);
	bg_record_bool(&r, "f", 1);
	bg_record_uint(&r, "g", 7);
	bg_record_str(&r, "h", "-x");
	bg_record_str(&r, "i", "True");
	bg_record_str(&r, "j", "7.5");
	check_agent("text tokens", &r,
		    AGENT_JSON("\"-\"", ",\"a\":\"-\",\"b\":\"true\",\"c\":\"false\",\"d\":\"007\","
					"\"e\":null,\"f\":true,\"g\":7,\"h\":\"-x\",\"i\":\"True\","
					"\"j\":\"7.5\""),
		    WALL_STR " agent \"-\" a=\"-\" b=\"true\" c=\"false\" d=\"007\" e=- f=true g=7 "
			     "h=-x i=True j=7.5\n",
		    NULL);
}

/*
 * Objects: a key may repeat at another level (the pod's "uid" and the caller's) or in another
 * object; text names a field of an object "obj.key".
 */
static void test_record_objects(void **state)
{
	struct bg_record r;

	(void)state;
	assert_int_equal(bg_record_agent(&r, "ready", &wall, 6), 0);
	bg_record_uint(&r, "uid", 0);
	bg_record_obj(&r, "pod");
	bg_record_str(&r, "name", "web-1");
	bg_record_str(&r, "uid", "5e1f");
	bg_record_end(&r);
	bg_record_obj(&r, "node");
	bg_record_str(&r, "name", "n 1");
	bg_record_end(&r);
	bg_record_str(&r, "name", NULL);
	check_agent("objects", &r,
		    AGENT_JSON("\"ready\"",
			       ",\"uid\":0,\"pod\":{\"name\":\"web-1\",\"uid\":\"5e1f\"},"
			       "\"node\":{\"name\":\"n 1\"},\"name\":null"),
		    WALL_STR " agent ready uid=0 pod.name=web-1 pod.uid=5e1f node.name=\"n 1\" "
			     "name=-\n",
		    NULL);
}

/* A state and string values from outside (a policy path, an error message) are escaped. */
static void test_agent_record_hostile(void **state)
{
	struct bg_record r;

	(void)state;
	assert_int_equal(bg_record_agent(&r, "a\"b\nc", &wall, 6), 0);
	check_agent("hostile state", &r, AGENT_JSON("\"a\\\"b\\nc\"", ""),
		    WALL_STR " agent \"a\\\"b\\nc\"\n", NULL);
	assert_int_equal(bg_record_agent(&r, "a b", &wall, 6), 0);
	check_agent("state with a space", &r, AGENT_JSON("\"a b\"", ""),
		    WALL_STR " agent \"a b\"\n", NULL);
	assert_int_equal(bg_record_agent(&r, "", &wall, 6), 0);
	check_agent("empty state", &r, AGENT_JSON("\"\"", ""), WALL_STR " agent \"\"\n", NULL);
	assert_int_equal(bg_record_agent(&r, "ready=1", &wall, 6), 0);
	check_agent("state with '='", &r, AGENT_JSON("\"ready=1\"", ""),
		    WALL_STR " agent \"ready=1\"\n", NULL);

	/* A forged record in a value stays inside its string, in both renderings. */
	assert_int_equal(bg_record_agent(&r, "reload-failed", &wall, 3), 0);
	bg_record_str(&r, "error", "No such file\n{\"state\":\"ok\"} x=1");
	bg_record_str(&r, "source", "\xff\x01\xc2\x85\xe2\x80\xa8\x1b[2J");
	bg_record_uint(&r, "generation", 2);
	check_agent("hostile strings", &r,
		    AGENT_JSON("\"reload-failed\"",
			       ",\"error\":\"No such file\\n{\\\"state\\\":\\\"ok\\\"} x=1\","
			       "\"source\":\"\\ufffd\\u0001\\u0085\\u2028\\u001b[2J\","
			       "\"generation\":2"),
		    WALL_STR " agent reload-failed "
			     "error=\"No such file\\n{\\\"state\\\":\\\"ok\\\"} x=1\" "
			     "source=\"\\ufffd\\u0001\\u0085\\u2028\\u001b[2J\" generation=2\n",
		    NULL);
}

/*
 * bg_record_get() finds a top-level field by its key: not a field inside an object, not the
 * end of one, not a field with a NULL key; and NULL for a NULL record or key, not a crash.
 */
static void test_record_get(void **state)
{
	struct bg_record r;

	(void)state;
	assert_null(bg_record_get(NULL, "ts"));
	assert_int_equal(bg_record_agent(&r, "ready", &wall, 6), 0);
	assert_null(bg_record_get(&r, NULL));
	bg_record_uint(&r, NULL, 1);
	bg_record_obj(&r, "pod");
	bg_record_str(&r, "uid", "inner");
	bg_record_end(&r);
	bg_record_uint(&r, "uid", 7);
	assert_null(bg_record_get(&r, NULL));
	assert_non_null(bg_record_get(&r, "state"));
	assert_int_equal(bg_record_get(&r, "state")->type, BG_FV_STR);
	/* The top-level uid, not the pod's, though the pod's comes first. */
	assert_non_null(bg_record_get(&r, "uid"));
	assert_int_equal(bg_record_get(&r, "uid")->type, BG_FV_UINT);
	assert_int_equal(bg_record_get(&r, "uid")->u, 7);
	assert_non_null(bg_record_get(&r, "pod"));
	assert_int_equal(bg_record_get(&r, "pod")->type, BG_FV_OBJ);
	assert_null(bg_record_get(&r, "end"));
	assert_null(bg_record_get(&r, ""));
}

/* Render @r every way; each must fail with @want and leave sb as it was. */
static void assert_render_fails(struct bg_strbuf *sb, const struct bg_record *r, int want,
				const char *what)
{
	size_t len = sb->len;
	char *copy = strdup(sb->buf);

	assert_non_null(copy);
	if (bg_record_render(sb, BG_FORMAT_JSON, r) != want ||
	    bg_record_render(sb, BG_FORMAT_TEXT, r) != want || bg_record_summary(sb, r) != want)
		fail_msg("%s: not refused with %d", what, want);
	if (sb->len != len || strcmp(sb->buf, copy))
		fail_msg("%s: the buffer changed: %s", what, sb->buf);
	free(copy);
}

/*
 * A JSON value is embedded as it is, so it must be exactly one valid JSON value: anything else
 * could close the value early and add members of its own ("verdict":"allow"), or repeat one.
 * It is read with jansson (duplicates refused, nesting at most 16 deep) before any rendering.
 */
static void test_record_json_checked(void **state)
{
	static const char *const forged[] = {
		"1,\"verdict\":\"allow\"", /* a member added after the value */
		"{\"a\":1},\"event\":\"bind\"",
		"{\"a\":1}}", /* closing the record early */
		"{\"a\":1,\"a\":2}", /* a duplicate member inside */
		"{\"a\":1", /* unterminated */
		"[1,]",
		"1 2", /* two values */
		"nul",
		"'a'",
		"\"a\\u0000\"", /* a NUL a C reader would stop at */
		"\"\\ud800\"", /* a lone surrogate */
		"[[[[[[[[[[[[[[[[[0]]]]]]]]]]]]]]]]]", /* 17 deep */
		"   ", /* only spaces */
	};
	struct bg_strbuf sb = BG_STRBUF_INIT;
	struct bg_record r;
	size_t k;
	struct jc j;

	(void)state;
	assert_int_equal(bg_strbuf_puts(&sb, "prev\n"), 0);
	for (k = 0; k < ARRAY_SIZE(forged); k++) {
		assert_int_equal(bg_record_agent(&r, "ready", &wall, 6), 0);
		bg_record_json(&r, "features", forged[k]);
		bg_record_str(&r, "verdict", "deny");
		assert_render_fails(&sb, &r, -EINVAL, forged[k]);
	}
	/* 16 deep is fine, and u64 values (read as reals) too. */
	assert_int_equal(bg_record_agent(&r, "ready", &wall, 6), 0);
	bg_record_json(&r, "features", "[[[[[[[[[[[[[[[[18446744073709551615]]]]]]]]]]]]]]]]");
	bg_strbuf_reset(&sb);
	what_now = "16 deep";
	assert_int_equal(bg_record_render(&sb, BG_FORMAT_JSON, &r), 0);
	assert_json_line(&sb, 0, &j);
	assert_field(&j, "features", "[[[[[[[[[[[[[[[[18446744073709551615]]]]]]]]]]]]]]]]");
	bg_strbuf_release(&sb);
}

/* Every way a record can be refused. None writes anything. */
static void test_agent_record_errors(void **state)
{
	static const char *const bad_keys[] = { "",    "Mode", "A",   "a-b",	     "a b",  "a=b",
						"a\n", "a.b",  "a:b", "caf\xc3\xa9", "\"a\"" };
	static const char *const bad_json[] = {
		"", /* no value at all */
		"{\"a\":\n1}", /* a raw newline would split the line */
		"{\"a\":\t1}", /* any control byte */
		"{\"a\":1}\r",
		"\x7f",
		"{\"a\":\"\xc3\xa9\"}", /* not ASCII */
	};
	static char keys[BG_RECORD_MAX_FIELDS][8];
	struct timespec bad = { .tv_sec = 0, .tv_nsec = 1000000000L };
	struct timespec y10k = { .tv_sec = 253402300800, .tv_nsec = 0 };
	struct bg_strbuf sb = BG_STRBUF_INIT;
	struct bg_record r;
	size_t k;
	struct jc j;

	(void)state;
	assert_int_equal(bg_strbuf_puts(&sb, "prev\n"), 0);

	/* The start: a bad time, no state, no record. */
	assert_int_equal(bg_record_agent(NULL, "ready", &wall, 6), -EINVAL);
	assert_int_equal(bg_record_agent(&r, NULL, &wall, 6), -EINVAL);
	assert_int_equal(bg_record_agent(&r, "ready", NULL, 6), -EINVAL);
	assert_render_fails(&sb, &r, -EINVAL, "a record whose start failed (no time)");
	assert_int_equal(bg_record_agent(&r, "ready", &bad, 6), -EINVAL);
	assert_render_fails(&sb, &r, -EINVAL, "a record whose start failed (bad time)");
	assert_int_equal(bg_record_agent(&r, "ready", &y10k, 6), -EINVAL);
	assert_render_fails(&sb, &r, -EINVAL, "a record whose start failed (year 10000)");

	/* The call: no buffer, no record, an unknown format. */
	assert_int_equal(bg_record_agent(&r, "ready", &wall, 6), 0);
	assert_int_equal(bg_record_render(NULL, BG_FORMAT_JSON, &r), -EINVAL);
	assert_int_equal(bg_record_render(&sb, BG_FORMAT_JSON, NULL), -EINVAL);
	assert_int_equal(bg_record_render(&sb, 2, &r), -EINVAL);
	assert_int_equal(bg_record_render(&sb, -1, &r), -EINVAL);
	assert_int_equal(bg_record_summary(NULL, &r), -EINVAL);
	assert_int_equal(bg_record_summary(&sb, NULL), -EINVAL);
	assert_string_equal(sb.buf, "prev\n");

	/* A key that is not [a-z0-9_]+, NULL included. */
	for (k = 0; k <= ARRAY_SIZE(bad_keys); k++) {
		const char *key = k < ARRAY_SIZE(bad_keys) ? bad_keys[k] : NULL;

		assert_int_equal(bg_record_agent(&r, "ready", &wall, 6), 0);
		bg_record_uint(&r, "ok_1", 1);
		bg_record_uint(&r, key, 1);
		assert_render_fails(&sb, &r, -EINVAL, key ? key : "(null key)");
	}

	/*
	 * A key twice at one level: JSON consumers disagree on which member wins, so a record
	 * with one is refused. The same for two fields the journal would name alike
	 * (BINDGUARD_POD_UID for both "pod_uid" and the pod's "uid").
	 */
	for (k = 0; k < 8; k++) {
		assert_int_equal(bg_record_agent(&r, "ready", &wall, 6), 0);
		switch (k) {
		case 0: /* a plain key twice */
			bg_record_uint(&r, "rules", 1);
			bg_record_str(&r, "rules", "x");
			break;
		case 1: /* a lead key again */
			bg_record_str(&r, "state", "ok");
			break;
		case 2:
			bg_record_str(&r, "ts", "2000-01-01T00:00:00.000000Z");
			break;
		case 3: /* inside an object */
			bg_record_obj(&r, "pod");
			bg_record_str(&r, "name", "a");
			bg_record_str(&r, "name", "b");
			bg_record_end(&r);
			break;
		case 4: /* an object and a value of the same name */
			bg_record_str(&r, "pod", "x");
			bg_record_obj(&r, "pod");
			bg_record_str(&r, "name", "a");
			bg_record_end(&r);
			break;
		case 5: /* two objects of the same name */
			bg_record_obj(&r, "pod");
			bg_record_str(&r, "name", "a");
			bg_record_end(&r);
			bg_record_obj(&r, "pod");
			bg_record_str(&r, "uid", "b");
			bg_record_end(&r);
			break;
		case 6: /* one journal field name for two fields */
			bg_record_obj(&r, "pod");
			bg_record_str(&r, "uid", "a");
			bg_record_end(&r);
			bg_record_str(&r, "pod_uid", "b");
			break;
		case 7:
			bg_record_obj(&r, "a");
			bg_record_str(&r, "b_c", "1");
			bg_record_end(&r);
			bg_record_obj(&r, "a_b");
			bg_record_str(&r, "c", "2");
			bg_record_end(&r);
			break;
		}
		snprintf(keys[0], sizeof(keys[0]), "dup %zu", k);
		assert_render_fails(&sb, &r, -EINVAL, keys[0]);
	}

	/* A JSON value that would break the line. */
	for (k = 0; k < ARRAY_SIZE(bad_json); k++) {
		assert_int_equal(bg_record_agent(&r, "ready", &wall, 6), 0);
		bg_record_json(&r, "features", bad_json[k]);
		assert_render_fails(&sb, &r, -EINVAL, bad_json[k]);
	}

	/* BG_RECORD_MAX_FIELDS fields render; one more overflows and nothing renders. */
	assert_int_equal(bg_record_agent(&r, "ready", &wall, 6), 0);
	for (k = 3; k < BG_RECORD_MAX_FIELDS; k++) {
		snprintf(keys[k], sizeof(keys[k]), "k%zu", k);
		bg_record_uint(&r, keys[k], k);
	}
	assert_int_equal(r.n, BG_RECORD_MAX_FIELDS);
	assert_int_equal(r.overflow, 0);
	bg_strbuf_reset(&sb);
	what_now = "a full record";
	assert_int_equal(bg_record_render(&sb, BG_FORMAT_JSON, &r), 0);
	assert_json_line(&sb, 0, &j);
	assert_int_equal(j.n_top, BG_RECORD_MAX_FIELDS);
	assert_field(&j, "k47", "47");
	bg_strbuf_reset(&sb);
	assert_int_equal(bg_strbuf_puts(&sb, "prev\n"), 0);
	bg_record_uint(&r, "one_more", 1);
	bg_record_str(&r, "and_more", "x");
	assert_int_equal(r.overflow, 1);
	assert_int_equal(r.n, BG_RECORD_MAX_FIELDS);
	assert_render_fails(&sb, &r, -EINVAL, "an overflowing record");

	/* With a sticky error a valid record is refused whole. */
	assert_int_equal(bg_record_agent(&r, "ready", &wall, 6), 0);
	assert_int_equal(bg_strbuf_append(&sb, "x", SIZE_MAX), -ENOMEM);
	assert_render_fails(&sb, &r, -ENOMEM, "a sticky error");
	assert_string_equal(sb.buf, "prev\n");
	bg_strbuf_release(&sb);
}

/*
 * An allocation failing anywhere in a record's rendering leaves the buffer as it was: JSON,
 * text and the summary, failing at every possible point until one succeeds.
 */
static void test_agent_record_rollback(void **state)
{
	struct bg_record r;
	int way, n, err, failed;

	(void)state;
	assert_int_equal(bg_record_agent(&r, "ready", &wall, 6), 0);
	bg_record_str(&r, "error", "\n\xff\"\\evil\x01 0123456789012345678901234567890123456789");
	bg_record_json(&r, "features", "{\"ringbuf\":true,\"iter\":false}");
	bg_record_uint(&r, "rules", 12);
	for (way = 0; way < 3; way++) {
		failed = 0;
		for (n = 0; n < 64; n++) {
			struct bg_strbuf sb = BG_STRBUF_INIT;
			size_t before;
			char *copy;

			assert_int_equal(bg_strbuf_puts(&sb, "prev\n"), 0);
			while (sb.len + 1 < sb.cap)
				assert_int_equal(bg_strbuf_append(&sb, "-", 1), 0);
			before = sb.len;
			copy = strdup(sb.buf);
			assert_non_null(copy);
			realloc_fail_after = n;
			err = way < 2 ? bg_record_render(&sb, way, &r) : bg_record_summary(&sb, &r);
			realloc_fail_after = -1;
			if (err) {
				failed++;
				assert_int_equal(err, -ENOMEM);
				assert_int_equal(sb.len, before);
				assert_string_equal(sb.buf, copy);
			} else {
				assert_true(sb.len > before);
			}
			free(copy);
			bg_strbuf_release(&sb);
			if (!err)
				break;
		}
		assert_true(failed >= 2);
		assert_true(n < 64);
	}
}

/* Point the string field @key of @r at @v (the lead's values, as a hand-made record has them). */
static void set_str(struct bg_record *r, const char *key, const char *v)
{
	struct bg_field *f = (struct bg_field *)bg_record_get(r, key);

	assert_non_null(f);
	f->type = v ? BG_FV_STR : BG_FV_NULL;
	f->s = v;
	f->len = v ? strlen(v) : 0;
}

/*
 * The lead of a text line is read by position, so each of its words must be one word that
 * cannot pass for another: the verdict in capitals only when it is a plain lower-case word,
 * the address in brackets only when it is made of hex digits, ':' and '.', anything else
 * quoted. A reader then tells an event line (VERDICT second: capitals or quoted) from an agent
 * line ("agent" second), and finds ADDR:PORT where it expects it.
 */
static void test_text_lead(void **state)
{
	static const struct {
		const char *what, *verdict, *event, *addr, *lead;
	} cases[] = {
		{ "plain", "deny", "bind", "0.0.0.0", " DENY bind tcp 0.0.0.0:3306 seq=" },
		{ "a verdict with a space", "allow ALLOW", "bind", "0.0.0.0",
		  " \"allow ALLOW\" bind tcp 0.0.0.0:3306 seq=" },
		{ "a verdict that forges a line", "deny\n2026 ALLOW", "bind", "0.0.0.0",
		  " \"deny\\n2026 ALLOW\" bind tcp 0.0.0.0:3306 seq=" },
		{ "a verdict in capitals", "Deny", "bind", "0.0.0.0",
		  " \"Deny\" bind tcp 0.0.0.0:3306 " },
		{ "a verdict that is a token", "-", "bind", "0.0.0.0",
		  " \"-\" bind tcp 0.0.0.0:3306 " },
		{ "a null verdict", NULL, "bind", "0.0.0.0", " - bind tcp 0.0.0.0:3306 " },
		{ "a verdict \"agent\"", "agent", "bind", "0.0.0.0",
		  " AGENT bind tcp 0.0.0.0:3306 " },
		{ "an event with a space", "deny", "bind x=1", "0.0.0.0",
		  " DENY \"bind x=1\" tcp 0.0.0.0:3306 " },
		{ "IPv6", "deny", "bind", "2001:db8::1", " DENY bind tcp [2001:db8::1]:3306 " },
		{ "an address that closes its bracket", "deny", "bind",
		  "::1]:80 [::", " DENY bind tcp \"::1]:80 [::\":3306 " },
		{ "an address with a colon, not hex", "deny", "bind", "fe80::1%eth0",
		  " DENY bind tcp \"fe80::1%eth0\":3306 " },
		{ "an address of plain characters with a colon", "deny", "bind", "host:80",
		  " DENY bind tcp \"host:80\":3306 " },
		{ "an address with a space", "deny", "bind", "1.2.3.4 seq=1",
		  " DENY bind tcp "
		  "\"1.2.3.4 seq=1\":3306 " },
		{ "an address that is a token", "deny", "bind", "-", " DENY bind tcp \"-\":3306 " },
	};
	struct bg_event_meta m = { .rule = NULL, .wall = &wall };
	struct bg_strbuf sj = BG_STRBUF_INIT, st = BG_STRBUF_INIT;
	struct bg_record r;
	struct jc j;
	size_t k;

	(void)state;
	for (k = 0; k < ARRAY_SIZE(cases); k++) {
		what_now = cases[k].what;
		assert_int_equal(bg_record_event(&r, &base_event, &m), 0);
		set_str(&r, "verdict", cases[k].verdict);
		set_str(&r, "event", cases[k].event);
		set_str(&r, "addr", cases[k].addr);
		bg_strbuf_reset(&sj);
		bg_strbuf_reset(&st);
		assert_int_equal(bg_record_render(&sj, BG_FORMAT_JSON, &r), 0);
		assert_json_line(&sj, 0, &j);
		assert_int_equal(bg_record_render(&st, BG_FORMAT_TEXT, &r), 0);
		assert_int_equal(assert_text_line(&st, 0, BG_REC_EVENT), 1);
		if (strncmp(st.buf, WALL_STR, strlen(WALL_STR)) ||
		    strncmp(st.buf + strlen(WALL_STR), cases[k].lead, strlen(cases[k].lead)))
			fail_msg("%s: the lead is not%s: %s", what_now, cases[k].lead, st.buf);
		assert_same_fields(st.buf, st.len, &j, BG_REC_EVENT, NULL);
	}

	/*
	 * Refused: a record without one of its lead fields at the top level (the text would
	 * show a field the JSON does not have), an agent record whose event is not "agent" (its
	 * line would read as an event's), a record of no known kind.
	 */
	bg_strbuf_reset(&st);
	assert_int_equal(bg_record_event(&r, &base_event, &m), 0);
	((struct bg_field *)bg_record_get(&r, "proto"))->key = "protocol";
	assert_render_fails(&st, &r, -EINVAL, "an event without proto");
	assert_int_equal(bg_record_event(&r, &base_event, &m), 0);
	((struct bg_field *)bg_record_get(&r, "port"))->type = BG_FV_OBJ;
	bg_record_end(&r);
	assert_render_fails(&st, &r, -EINVAL, "an event whose port is an object");
	assert_int_equal(bg_record_agent(&r, "ready", &wall, 6), 0);
	set_str(&r, "event", "DENY");
	assert_render_fails(&st, &r, -EINVAL, "an agent record whose event is DENY");
	assert_int_equal(bg_record_agent(&r, "ready", &wall, 6), 0);
	((struct bg_field *)bg_record_get(&r, "state"))->key = "status";
	assert_render_fails(&st, &r, -EINVAL, "an agent record without a state");
	r.kind = BG_REC_EVENT;
	assert_render_fails(&st, &r, -EINVAL, "an agent record marked as an event");
	assert_int_equal(bg_record_agent(&r, "ready", &wall, 6), 0);
	r.kind = 0;
	assert_render_fails(&st, &r, -EINVAL, "a record of no kind");
	assert_int_equal(bg_record_agent(&r, "ready", &wall, 6), 0);
	bg_record_str(&r, "error", "x");
	((struct bg_field *)bg_record_get(&r, "error"))->s = NULL;
	assert_render_fails(&st, &r, -EINVAL, "a string of 1 byte at NULL");
	bg_strbuf_release(&sj);
	bg_strbuf_release(&st);
}

/*
 * The journal rendering, "NAME=value" fields each ended by a NUL, as a string of @n bytes
 * with the NULs written as '|' (no value holds one: each is escaped or digits).
 */
static void assert_journal(const struct bg_strbuf *sb, size_t start, int fields, const char *want)
{
	char got[4096];
	size_t i, n = sb->len - start;
	int nuls = 0;

	assert_true(n < sizeof(got));
	for (i = 0; i < n; i++) {
		got[i] = sb->buf[start + i] ? sb->buf[start + i] : '|';
		nuls += !sb->buf[start + i];
		if (sb->buf[start + i] == '\n' || sb->buf[start + i] == '|')
			fail_msg("%s: a raw newline or '|' in the journal fields", what_now);
	}
	got[n] = '\0';
	assert_int_equal(nuls, fields);
	if (strcmp(got, want))
		fail_msg("%s:\n got  %s\n want %s", what_now, got, want);
}

/*
 * The journal: MESSAGE is the summary, PRIORITY one digit from the record's syslog priority
 * (never anything a string could carry), then a BINDGUARD_ field per field that is not null.
 */
static void test_record_journal(void **state)
{
	static const struct {
		__u8 verdict;
		const char *priority;
	} prio[] = {
		{ BG_VERDICT_DENY, "PRIORITY=4" },
		{ BG_VERDICT_ALERT, "PRIORITY=5" },
		{ BG_VERDICT_CONFINE, "PRIORITY=5" },
		{ BG_VERDICT_ALLOW, "PRIORITY=6" },
	};
	struct bg_event_meta m = { .rule = &r_mysql, .wall = &wall };
	struct bg_strbuf sb = BG_STRBUF_INIT;
	struct bg_event ev = base_event;
	struct bg_record r;
	size_t k;

	(void)state;
	what_now = "journal: the base event";
	assert_int_equal(bg_record_event(&r, &ev, &m), 0);
	assert_int_equal(bg_strbuf_puts(&sb, "prev"), 0);
	assert_int_equal(bg_record_journal(&sb, &r), 23);
	assert_journal(
		&sb, 4, 23,
		"MESSAGE=DENY bind tcp 0.0.0.0:3306 seq=1099511627781 mode=enforce rule=mysql "
		"expose=loopback action=deny hook=bind pid=1234 comm=mysqld uid=1001 gid=1002 "
		"cgroup_id=4294967297 netns=4026531840 family=inet|PRIORITY=4|"
		"SYSLOG_IDENTIFIER=bindguard|BINDGUARD_TS=" WALL_STR "|"
		"BINDGUARD_SEQ=1099511627781|BINDGUARD_EVENT=bind|BINDGUARD_VERDICT=deny|"
		"BINDGUARD_MODE=enforce|BINDGUARD_RULE=mysql|BINDGUARD_EXPOSE=loopback|"
		"BINDGUARD_ACTION=deny|BINDGUARD_HOOK=bind|BINDGUARD_PID=1234|"
		"BINDGUARD_COMM=mysqld|BINDGUARD_UID=1001|BINDGUARD_GID=1002|"
		"BINDGUARD_CGROUP_ID=4294967297|BINDGUARD_NETNS=4026531840|"
		"BINDGUARD_FAMILY=inet|BINDGUARD_PROTO=tcp|BINDGUARD_ADDR=0.0.0.0|"
		"BINDGUARD_PORT=3306|BINDGUARD_HINT=Set bind-address=127.0.0.1 in my.cnf|");
	assert_memory_equal(sb.buf, "prev", 4);

	/* The priority follows the verdict. */
	for (k = 0; k < ARRAY_SIZE(prio); k++) {
		ev.verdict = prio[k].verdict;
		assert_int_equal(bg_record_event(&r, &ev, &m), 0);
		bg_strbuf_reset(&sb);
		assert_true(bg_record_journal(&sb, &r) > 3);
		assert_string_equal(sb.buf + strlen(sb.buf) + 1, prio[k].priority);
	}

	/* An agent record: escaped strings, nulls left out, objects, a JSON value as JSON. */
	what_now = "journal: an agent record";
	assert_int_equal(bg_record_agent(&r, "reload-failed", &wall, 3), 0);
	bg_record_str(&r, "error", "bad\n\"x\"\tBINDGUARD_VERDICT=allow");
	bg_record_str(&r, "gone", NULL);
	bg_record_bool(&r, "pinned", 1);
	bg_record_obj(&r, "pod");
	bg_record_str(&r, "name", "web-1");
	bg_record_end(&r);
	bg_record_json(&r, "features", " {\"a\":[1, \"b\"]} ");
	bg_strbuf_reset(&sb);
	assert_int_equal(bg_record_journal(&sb, &r), 10);
	assert_journal(
		&sb, 0, 10,
		"MESSAGE=agent reload-failed error=\"bad\\n\\\"x\\\"\\tBINDGUARD_VERDICT=allow\" "
		"gone=- pinned=true pod.name=web-1 features=\"{\\\"a\\\":[1, \\\"b\\\"]}\"|"
		"PRIORITY=3|SYSLOG_IDENTIFIER=bindguard|BINDGUARD_TS=" WALL_STR "|"
		"BINDGUARD_EVENT=agent|BINDGUARD_STATE=reload-failed|"
		"BINDGUARD_ERROR=bad\\n\\\"x\\\"\\tBINDGUARD_VERDICT=allow|BINDGUARD_PINNED=true|"
		"BINDGUARD_POD_NAME=web-1|BINDGUARD_FEATURES={\"a\":[1, \"b\"]}|");

	/* A priority is a syslog one, 0..7: refused otherwise, by every rendering. */
	assert_int_equal(bg_record_agent(&r, "ready", &wall, 7), 0);
	assert_int_equal(bg_record_agent(&r, "ready", &wall, 0), 0);
	assert_int_equal(bg_record_agent(&r, "ready", &wall, 8), -EINVAL);
	assert_int_equal(bg_record_agent(&r, "ready", &wall, -1), -EINVAL);
	assert_int_equal(bg_record_agent(&r, "ready", &wall, 256 + 3), -EINVAL);
	bg_strbuf_reset(&sb);
	assert_int_equal(bg_strbuf_puts(&sb, "prev"), 0);
	for (k = 0; k < 3; k++) {
		static const int bad[] = { -1, 8, 1000 };

		assert_int_equal(bg_record_agent(&r, "ready", &wall, 6), 0);
		r.priority = bad[k];
		assert_int_equal(bg_record_journal(&sb, &r), -EINVAL);
		assert_render_fails(&sb, &r, -EINVAL, "a priority out of range");
	}
	assert_int_equal(bg_record_journal(NULL, &r), -EINVAL);
	assert_int_equal(bg_record_journal(&sb, NULL), -EINVAL);
	assert_string_equal(sb.buf, "prev");
	bg_strbuf_release(&sb);
}

/* An allocation failing anywhere in the journal fields leaves the buffer as it was. */
static void test_record_journal_rollback(void **state)
{
	struct bg_record r;
	int n, err, failed = 0;

	(void)state;
	assert_int_equal(bg_record_agent(&r, "ready", &wall, 6), 0);
	bg_record_str(&r, "error", "\n\xff\"\\evil\x01 0123456789012345678901234567890123456789");
	bg_record_json(&r, "features", "{\"ringbuf\":true,\"iter\":false}");
	for (n = 0; n < 64; n++) {
		struct bg_strbuf sb = BG_STRBUF_INIT;
		size_t before;

		assert_int_equal(bg_strbuf_puts(&sb, "prev"), 0);
		while (sb.len + 1 < sb.cap)
			assert_int_equal(bg_strbuf_append(&sb, "-", 1), 0);
		before = sb.len;
		realloc_fail_after = n;
		err = bg_record_journal(&sb, &r);
		realloc_fail_after = -1;
		if (err < 0) {
			failed++;
			assert_int_equal(err, -ENOMEM);
			assert_int_equal(sb.len, before);
		} else {
			assert_int_equal(err,
					 8); /* MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, 5 fields */
		}
		bg_strbuf_release(&sb);
		if (err >= 0)
			break;
	}
	assert_true(failed >= 2);
	assert_true(n < 64);
}

/*
 * journald, as far as the journal sink can tell: a datagram socket of our own that it sends to
 * (bg_sink_journal_new_at). Each entry received is kept as its "NAME=value" lines joined by '|'.
 */
static char journal_sent[4][4096];
static int journal_n_sent;
static int journal_rx = -1;

/* Take every datagram waiting on the receiver into journal_sent. */
static void journal_receive(void)
{
	char buf[4096];
	ssize_t n, i;

	while ((n = recv(journal_rx, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
		assert_true(journal_n_sent < 4);
		assert_int_equal(buf[n - 1], '\n'); /* every field ends its line */
		for (i = 0; i < n; i++)
			buf[i] = buf[i] == '\n' ? '|' : buf[i];
		buf[n] = '\0';
		snprintf(journal_sent[journal_n_sent++], sizeof(journal_sent[0]), "%s", buf);
	}
}

/*
 * The journal sink sends each record's journal fields as they are, PRIORITY included; a record
 * whose priority is not 0..7 is counted as lost, and nothing is sent for it.
 */
static void test_journal_sink(void **state)
{
	struct bg_record r;
	struct bg_sink *sink;
	char why[128];
	int err = 0;

	char dir[] = "/tmp/bg-unit-journal-XXXXXX", path[64];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	(void)state;
	journal_n_sent = 0;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/socket", dir);
	/* Nobody listening yet: refused at the start, with the reason. */
	assert_null(bg_sink_journal_new_at(path, &err, why, sizeof(why)));
	assert_int_equal(err, -ENOENT);
	assert_non_null(strstr(why, "cannot reach journald"));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	journal_rx = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(journal_rx >= 0);
	assert_int_equal(bind(journal_rx, (struct sockaddr *)&sa, sizeof(sa)), 0);
	sink = bg_sink_journal_new_at(path, &err, why, sizeof(why));
	assert_non_null(sink);
	assert_int_equal(bg_record_agent(&r, "ready", &wall, 6), 0);
	bg_record_uint(&r, "rules", 12);
	bg_sink_emit(sink, &r);
	journal_receive();
	assert_int_equal(journal_n_sent, 1);
	assert_string_equal(journal_sent[0],
			    "MESSAGE=agent ready rules=12|PRIORITY=6|"
			    "SYSLOG_IDENTIFIER=bindguard|BINDGUARD_TS=" WALL_STR "|"
			    "BINDGUARD_EVENT=agent|BINDGUARD_STATE=ready|"
			    "BINDGUARD_RULES=12|");
	assert_int_equal(sink->written, 1);

	r.priority = 9;
	bg_sink_emit(sink, &r);
	r.priority = -4;
	bg_sink_emit(sink, &r);
	journal_receive();
	assert_int_equal(journal_n_sent, 1);
	assert_int_equal(sink->lost, 2);
	assert_int_equal(sink->last_err, EINVAL);

	/* The next record goes, and so does the sink's report of the two lost (a warning). */
	r.priority = 0;
	bg_sink_emit(sink, &r);
	journal_receive();
	assert_int_equal(journal_n_sent, 3);
	assert_non_null(strstr(journal_sent[1], "|PRIORITY=0|"));
	assert_non_null(strstr(journal_sent[2], "MESSAGE=agent sink-recovered "));
	assert_non_null(strstr(journal_sent[2], "|PRIORITY=4|"));
	assert_non_null(strstr(journal_sent[2], "|BINDGUARD_LOST=2|"));
	bg_sink_free(sink);
	close(journal_rx);
	journal_rx = -1;
	unlink(path);
	rmdir(dir);
}

/*
 * The summary (a journal MESSAGE, the stderr mirror): the text's first line without the time
 * stamp and without the newline; an event's hint is not in it. It appends, as a line does.
 */
static void test_record_summary(void **state)
{
	struct bg_event_meta m = { .rule = &r_evil, .wall = &wall };
	struct bg_strbuf sb = BG_STRBUF_INIT;
	struct bg_record r;
	const char *why;
	size_t where;

	(void)state;
	assert_int_equal(bg_record_agent(&r, "ready", &wall, 6), 0);
	bg_record_str(&r, "version", "1");
	bg_record_str(&r, "mode", "enforce");
	assert_int_equal(bg_strbuf_puts(&sb, "MESSAGE="), 0);
	assert_int_equal(bg_record_summary(&sb, &r), 0);
	assert_string_equal(sb.buf, "MESSAGE=agent ready version=\"1\" mode=enforce");

	bg_strbuf_reset(&sb);
	assert_int_equal(bg_record_event(&r, &base_event, &m), 0);
	assert_int_equal(bg_record_summary(&sb, &r), 0);
	assert_string_equal(sb.buf, "DENY bind tcp 0.0.0.0:3306 seq=1099511627781 mode=enforce "
				    "rule=\"evil\\\"},{\\\"verdict\\\":\\\"allow\" "
				    "expose=loopback action=deny hook=bind pid=1234 comm=mysqld "
				    "uid=1001 gid=1002 cgroup_id=4294967297 netns=4026531840 "
				    "family=inet");
	why = jc_line_rules(sb.buf, sb.len, 0, &where);
	if (why)
		fail_msg("summary: %s at byte %zu of %s", why, where, sb.buf);
	assert_null(strchr(sb.buf, '\n'));
	assert_null(strstr(sb.buf, "hint"));
	assert_null(strstr(sb.buf, WALL_STR));
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
		cmocka_unit_test(test_same_fields_checker),
		cmocka_unit_test(test_event_comm_unterminated),
		cmocka_unit_test(test_event_errors),
		cmocka_unit_test(test_event_rollback),
		cmocka_unit_test(test_json_string_rollback),
		cmocka_unit_test(test_event_appends),
		cmocka_unit_test(test_agent_record),
		cmocka_unit_test(test_agent_record_types),
		cmocka_unit_test(test_record_strn),
		cmocka_unit_test(test_record_objects),
		cmocka_unit_test(test_text_tokens),
		cmocka_unit_test(test_text_lead),
		cmocka_unit_test(test_record_journal),
		cmocka_unit_test(test_record_journal_rollback),
		cmocka_unit_test(test_journal_sink),
		cmocka_unit_test(test_record_json_checked),
		cmocka_unit_test(test_agent_record_hostile),
		cmocka_unit_test(test_record_get),
		cmocka_unit_test(test_agent_record_errors),
		cmocka_unit_test(test_agent_record_rollback),
		cmocka_unit_test(test_record_summary),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
