// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_event.c - libFuzzer target for the record encoder (agent/event_fmt.c).
 *
 * The claim under test: whatever the kernel hands the agent (a comm of arbitrary bytes, enum
 * fields out of range) and whatever strings a policy or the agent's own records carry, every
 * record is exactly one line (an event with a hint: that line and one "  hint=" line), a JSON
 * line is valid JSON, no string can forge a field, and JSON and text render the same fields.
 * The target turns the input into
 *
 *   bytes 0..111   struct bg_event (zero-padded when the input is shorter);
 *   byte  112      selector: bit 0 a rule is given, bits 1..3 it has a service, software, hint;
 *                  for the agent record, bit 4 a features map, bit 5 a JSON value taken from
 *                  the software string, bit 6 a field keyed by the service string (in an
 *                  object when bit 0 of ev.family is set), bit 7 ev.gen % 64 filler fields
 *                  (past BG_RECORD_MAX_FIELDS: an overflow);
 *   the rest       service, software and hint, separated by NUL bytes;
 *
 * formats the event as JSON and as text, and aborts on any broken invariant:
 *   - each line ends in its only '\n' and holds no control character (jc_line_rules());
 *   - JSON: the line is one strict JSON object (jc_line(), tests/lib/json_check.h: no
 *     duplicate keys, no \u0000), with every documented field and the optional ones exactly
 *     when they are due, and comm, rule and hint decode to what the encoder promises (the
 *     bytes, with U+FFFD for each invalid one);
 *   - text, read back by tests/lib/text_check.h: "TS VERDICT event proto addr:port" then
 *     " key=value" fields, each key once, then the hint on a second line exactly when there is
 *     one; its fields (lead positions and hint included) are exactly the JSON line's, in JSON
 *     order, each value the JSON one written the text way (bare when one plain word that is
 *     no other token of the format, else the same quoted string; null as "-"); comm, rule and
 *     hint read back as the original bytes;
 *   - bg_event_format() is bg_record_event() + bg_record_render(), and bg_record_summary() is
 *     the text's first line without the time stamp and the newline;
 *   - journal (bg_record_journal()): NAME=value fields each ended by a NUL, MESSAGE (the
 *     summary), PRIORITY (one digit: the record's, the verdict's for an event) and
 *     SYSLOG_IDENTIFIER first, then BINDGUARD_ names, each once, no newline in any;
 *   - a failed call leaves the buffer as it was.
 * With bits 0..2 of ev.class set, it renders the event again with the hint, software or
 * service string as its verdict, address or event, which must not change the line's shape.
 * It also feeds the raw input to bg_json_string(), and builds an agent record from it (hostile
 * state and string values, comm as a kernel buffer, a JSON value valid or not, a key, an
 * overflow, a priority out of range with bit 6 of ev.flags) with the same checks: one line,
 * strict JSON with the fields added in order, the same fields in text, the journal's shape,
 * refusal (-EINVAL, the buffer unchanged) exactly when the record breaks a rule.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event_fmt.h"
#include "json_check.h"
#include "text_check.h"

#define SEL_RULE (1u << 0)
#define SEL_SERVICE (1u << 1)
#define SEL_SOFTWARE (1u << 2)
#define SEL_HINT (1u << 3)
#define SEL_AG_FEATURES (1u << 4)
#define SEL_AG_JSON (1u << 5)
#define SEL_AG_KEY (1u << 6)
#define SEL_AG_FILL (1u << 7)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Enough for any line the target builds from an input of -max_len bytes (6 bytes out per byte). */
#define DEC_CAP 65536

static const char *cur_line;
static size_t cur_len;

/* The JSON rendering of the record under test, kept for the text check. */
static char json_line[DEC_CAP];
static struct jc json_j;

/* Print the offending line as escaped bytes, then abort: libFuzzer keeps the input. */
__attribute__((noreturn, format(printf, 2, 3))) static void fail(size_t where, const char *fmt, ...)
{
	va_list ap;
	size_t i;

	fprintf(stderr, "fuzz_event: invariant broken: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (at byte %zu)\nline: ", where);
	for (i = 0; cur_line && i < cur_len; i++) {
		unsigned char c = (unsigned char)cur_line[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			fputc(c, stderr);
		else
			fprintf(stderr, "\\x%02x", c);
	}
	fputc('\n', stderr);
	abort();
}

#define CHECK(cond, ...)                      \
	do {                                  \
		if (!(cond))                  \
			fail(0, __VA_ARGS__); \
	} while (0)

/* The rule's name as the encoder documents it: service, else software, else none. */
static const char *rule_name(const struct bg_policy_rule *r)
{
	if (!r)
		return NULL;
	if (r->service && r->service[0])
		return r->service;
	if (r->software && r->software[0])
		return r->software;
	return NULL;
}

static const char *rule_hint(const struct bg_policy_rule *r)
{
	return r && r->hint && r->hint[0] ? r->hint : NULL;
}

/* A record key: [a-z0-9_]+. */
static int key_ok(const char *k)
{
	if (!k || !*k)
		return 0;
	for (; *k; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') || *k == '_'))
			return 0;
	return 1;
}

/* The JSON string at text[off..off+len) decodes to what the encoder promises for raw[0..n). */
static void check_decodes(const char *what, const char *text, size_t off, size_t len,
			  const char *raw, size_t n)
{
	static unsigned char got[DEC_CAP], want[DEC_CAP];
	size_t gl, wl;

	CHECK(len >= 2 && text[off] == '"', "%s is not a string", what);
	CHECK(n * 3 <= sizeof(want), "%s: input too long for the checker", what);
	gl = jc_decode(text, off, len, got, sizeof(got));
	wl = jc_expected((const unsigned char *)raw, n, want);
	if (gl != wl || memcmp(got, want, wl))
		fail(off, "%s does not read back as the original bytes", what);
}

static void check_json_member_str(const struct jc *j, const char *key, const char *raw, size_t n)
{
	const struct jc_member *m = jc_get(j, key);

	if (!m)
		fail(0, "JSON: \"%s\" missing", key);
	if (!raw) {
		CHECK(m->val_len == 4 && !memcmp(cur_line + m->val_off, "null", 4),
		      "JSON: \"%s\" should be null", key);
		return;
	}
	check_decodes(key, cur_line, m->val_off, m->val_len, raw, n);
}

/* Keep the JSON line just checked (cur_line) and its parse, for the text check after it. */
static void keep_json(void)
{
	CHECK(cur_len < sizeof(json_line), "JSON line too long for the checker");
	memcpy(json_line, cur_line, cur_len);
	if (jc_line(&json_j, json_line, cur_len))
		fail(json_j.err_pos, "JSON: %s", json_j.err);
}

static void check_json_event(const struct bg_event *ev, const struct bg_policy_rule *rule)
{
	static const char *const always[] = { "ts",	"seq",	  "event",  "verdict", "mode",
					      "rule",	"expose", "action", "hook",    "netns",
					      "family", "proto",  "addr",   "port" };
	static const char *const task[] = { "pid", "comm", "uid", "gid", "cgroup_id" };
	const char *name = rule_name(rule), *hint = rule_hint(rule);
	int has_task = !(ev->flags & BG_EV_F_NO_TASK);
	const struct jc *j = &json_j;
	size_t i, want;

	keep_json();
	CHECK(cur_line[0] == '{', "JSON: the line is not an object");

	want = ARRAY_SIZE(always);
	for (i = 0; i < want; i++)
		CHECK(jc_get(j, always[i]), "JSON: \"%s\" missing", always[i]);
	for (i = 0; i < ARRAY_SIZE(task); i++)
		CHECK(!jc_get(j, task[i]) == !has_task, "JSON: \"%s\" %s", task[i],
		      has_task ? "missing" : "present without a task");
	want += has_task ? ARRAY_SIZE(task) : 0;
	CHECK(!jc_get(j, "hint") == !hint, "JSON: \"hint\" present iff the rule has one");
	want += !!hint;
	CHECK(!jc_get(j, "confined_addr") == !(ev->verdict == BG_VERDICT_CONFINE),
	      "JSON: \"confined_addr\" present iff confine");
	want += ev->verdict == BG_VERDICT_CONFINE;
	CHECK(!jc_get(j, "peer_addr") == !(ev->type == BG_EVENT_ACCEPT) &&
		      !jc_get(j, "peer_port") == !(ev->type == BG_EVENT_ACCEPT),
	      "JSON: \"peer_addr\"/\"peer_port\" present iff accept");
	want += ev->type == BG_EVENT_ACCEPT ? 2 : 0;
	CHECK(!jc_get(j, "closed") == !(ev->flags & BG_EV_F_CLOSED),
	      "JSON: \"closed\" present iff BG_EV_F_CLOSED");
	want += !!(ev->flags & BG_EV_F_CLOSED);
	CHECK(!jc_get(j, "suppressed") == !ev->suppressed,
	      "JSON: \"suppressed\" present iff a count");
	want += !!ev->suppressed;
	CHECK(j->n_top == want, "JSON: %zu members, want %zu", j->n_top, want);

	if (has_task)
		check_json_member_str(j, "comm", ev->comm, strnlen(ev->comm, BG_COMM_LEN));
	check_json_member_str(j, "rule", name, name ? strlen(name) : 0);
	if (hint)
		check_json_member_str(j, "hint", hint, strlen(hint));
}

/* ---- the text rendering, read back and compared with the JSON one --------------------------- */

/* The text in cur_line, split by check_text_lines() (tests/lib/text_check.h). */
static struct tc text_t;

/*
 * The text in cur_line renders the same fields as the JSON in json_line: exactly its keys, each
 * once, the key=value fields in JSON order, each value the JSON one written the text way.
 */
static void check_same_fields(const char *raw_json)
{
	if (tc_same_fields(&text_t, &json_j, raw_json))
		fail(text_t.err_pos, "text: %s", text_t.err);
}

static const struct tc_field *tf_get(const char *key)
{
	return tc_get(&text_t, key);
}

/* A text value that is the bare word raw (when it is one), else a string that reads back. */
static void check_text_value(const char *key, const char *raw, size_t n)
{
	const struct tc_field *f = tf_get(key);

	if (!f)
		fail(0, "text: %s missing", key);
	if (!raw) {
		CHECK(f->vlen == 1 && cur_line[f->voff] == '-', "text: %s should be -", key);
		return;
	}
	if (tc_bare_string((const unsigned char *)raw, n)) {
		if (f->vlen != n || memcmp(cur_line + f->voff, raw, n))
			fail(f->voff, "text: %s is not the original word", key);
		return;
	}
	CHECK(cur_line[f->voff] == '"', "text: %s, not one plain word, is not quoted", key);
	check_decodes(key, cur_line, f->voff, f->vlen, raw, n);
}

static void check_text_event(const struct bg_event *ev, const struct bg_policy_rule *rule,
			     int lines)
{
	static const char *const lead[] = { "ts", "verdict", "event", "proto", "addr", "port" };
	const char *name = rule_name(rule), *hint = rule_hint(rule);
	const struct tc_field *f;
	size_t k;

	check_same_fields(NULL);
	/* The lead: plain words, the verdict in capitals. */
	for (k = 0; k < ARRAY_SIZE(lead); k++) {
		f = tf_get(lead[k]);
		CHECK(f && f->where == TC_LEAD, "text: %s not in the lead", lead[k]);
		CHECK(cur_line[f->voff] != '"', "text: lead %s quoted", lead[k]);
	}
	if (!(ev->flags & BG_EV_F_NO_TASK))
		check_text_value("comm", ev->comm, strnlen(ev->comm, BG_COMM_LEN));
	else
		CHECK(!tf_get("comm") && !tf_get("pid"), "text: task fields without a task");
	check_text_value("rule", name, name ? strlen(name) : 0);
	CHECK((lines == 2) == !!hint, "text: a hint line iff the rule has a hint");
	if (hint) {
		f = tf_get("hint");
		CHECK(f && f->where == TC_LINE2, "text: the hint is not on its own line");
		check_text_value("hint", hint, strlen(hint));
	}
	CHECK(!tf_get("confined_addr") == !(ev->verdict == BG_VERDICT_CONFINE),
	      "text: confined_addr iff confine");
	CHECK(!tf_get("peer_addr") == !(ev->type == BG_EVENT_ACCEPT) &&
		      !tf_get("peer_port") == !(ev->type == BG_EVENT_ACCEPT),
	      "text: peer_addr/peer_port iff accept");
	f = tf_get("closed");
	CHECK(!f == !(ev->flags & BG_EV_F_CLOSED), "text: closed iff BG_EV_F_CLOSED");
	CHECK(!f || (f->vlen == 4 && !memcmp(cur_line + f->voff, "true", 4)),
	      "text: closed is not true");
	CHECK(!tf_get("suppressed") == !ev->suppressed, "text: suppressed iff a count");
}

/* The line the last call appended: exactly one line, nothing raw. */
static void check_line(const struct bg_strbuf *sb, size_t start)
{
	const char *why;
	size_t where;

	CHECK(sb->buf && sb->len > start, "nothing appended");
	CHECK(strlen(sb->buf) == sb->len, "a NUL inside the buffer");
	cur_line = sb->buf + start;
	cur_len = sb->len - start;
	why = jc_line_rules(cur_line, cur_len, 1, &where);
	if (why)
		fail(where, "%s", why);
}

/*
 * The text the last call appended: one line, or that line and a second "  hint=" line, each
 * obeying the line rules with nothing after the hint's one value (tc_split()). Returns the
 * number of lines.
 */
static int check_text_lines(const struct bg_strbuf *sb, size_t start, int event)
{
	CHECK(sb->buf && sb->len > start, "nothing appended");
	CHECK(strlen(sb->buf) == sb->len, "a NUL inside the buffer");
	cur_line = sb->buf + start;
	cur_len = sb->len - start;
	if (tc_split(&text_t, cur_line, cur_len, event))
		fail(text_t.err_pos, "text: %s", text_t.err);
	return text_t.lines;
}

/* The summary appended at start: the text's first line without "TS " and without the newline. */
static void check_summary(const struct bg_strbuf *sb, size_t start, const char *text,
			  size_t text_len, size_t ts_len)
{
	const char *nl = memchr(text, '\n', text_len);
	size_t n1 = (size_t)(nl - text);

	CHECK(strlen(sb->buf) == sb->len, "summary: a NUL inside the buffer");
	CHECK(n1 > ts_len + 1 && sb->len - start == n1 - ts_len - 1 &&
		      !memcmp(sb->buf + start, text + ts_len + 1, n1 - ts_len - 1),
	      "summary is not the text's first line without the time stamp");
}

/*
 * The journal fields appended at start, n of them, each "NAME=value" and a NUL: MESSAGE (the
 * text's first line without "TS "), PRIORITY (one digit, prio) and SYSLOG_IDENTIFIER first, then
 * BINDGUARD_[A-Z0-9_]+ names; each name once, no newline anywhere.
 */
static void check_journal(const struct bg_strbuf *sb, size_t start, int n, int prio,
			  const char *text, size_t text_len, size_t ts_len)
{
	static const char *const first[] = { "MESSAGE=", "PRIORITY=", "SYSLOG_IDENTIFIER=" };
	const char *nl = memchr(text, '\n', text_len), *f, *eq, *g;
	size_t off = start, len, n1 = (size_t)(nl - text);
	size_t names[BG_JOURNAL_MAX_FIELDS], nlen[BG_JOURNAL_MAX_FIELDS];
	int i, j;

	cur_line = sb->buf + start;
	cur_len = sb->len - start;
	CHECK(n > 3 && n <= BG_JOURNAL_MAX_FIELDS, "journal: %d fields", n);
	for (i = 0; i < n; i++) {
		CHECK(off < sb->len, "journal: fewer than %d fields", n);
		f = sb->buf + off;
		len = strlen(f);
		CHECK(off + len < sb->len, "journal: field %d has no NUL", i);
		CHECK(!memchr(f, '\n', len), "journal: a newline in field %d", i);
		eq = memchr(f, '=', len);
		CHECK(eq && eq > f, "journal: field %d is not NAME=value", i);
		if (i < 3) {
			CHECK(!strncmp(f, first[i], strlen(first[i])),
			      "journal: field %d is not %s", i, first[i]);
		} else {
			CHECK(!strncmp(f, "BINDGUARD_", 10) && eq > f + 10, "journal: field %d", i);
			for (g = f; g < eq; g++)
				CHECK((*g >= 'A' && *g <= 'Z') || (*g >= '0' && *g <= '9') ||
					      *g == '_',
				      "journal: a name with a character not [A-Z0-9_]");
		}
		names[i] = off;
		nlen[i] = (size_t)(eq - f);
		for (j = 0; j < i; j++)
			CHECK(nlen[j] != nlen[i] || memcmp(sb->buf + names[j], f, nlen[i]),
			      "journal: the name of field %d twice", i);
		off += len + 1;
	}
	CHECK(off == sb->len, "journal: more than %d fields", n);
	f = sb->buf + start;
	CHECK(n1 > ts_len + 1 && strlen(f) == 8 + n1 - ts_len - 1 &&
		      !memcmp(f + 8, text + ts_len + 1, n1 - ts_len - 1),
	      "journal: MESSAGE is not the text's first line without the time stamp");
	f += strlen(f) + 1;
	CHECK(strlen(f) == 10 && f[9] == '0' + prio, "journal: %s, want PRIORITY=%d", f, prio);
}

/* The wall-clock time an event can be printed with: RFC 3339 has years 0000..9999 only. */
static int wall_ok(const struct timespec *wall)
{
	struct tm tm;

	if (wall->tv_nsec < 0 || wall->tv_nsec >= 1000000000L)
		return 0;
	if (!gmtime_r(&wall->tv_sec, &tm))
		return 0;
	return tm.tm_year >= -1900 && tm.tm_year <= 9999 - 1900;
}

/* Split the tail of the input at NUL bytes into up to three malloc'ed strings. */
static void split_strings(const uint8_t *p, size_t n, char *out[3])
{
	size_t i, start = 0, k = 0;

	for (i = 0; i <= n && k < 3; i++) {
		if (i == n || !p[i]) {
			out[k] = malloc(i - start + 1);
			if (!out[k])
				abort();
			memcpy(out[k], p + start, i - start);
			out[k][i - start] = '\0';
			k++;
			start = i + 1;
		}
	}
	for (; k < 3; k++)
		out[k] = NULL;
}

/* ---- the event ------------------------------------------------------------------------------ */

static void fuzz_event(const struct bg_event *ev, const struct bg_policy_rule *rp,
		       const struct timespec *wall)
{
	static char text[DEC_CAP];
	struct bg_event_meta m = { .rule = rp, .wall = wall };
	struct bg_strbuf sb = BG_STRBUF_INIT, rb = BG_STRBUF_INIT;
	struct bg_record r;
	size_t start, text_len = 0;
	int fmt, err, lines;

	for (fmt = BG_FORMAT_JSON; fmt <= BG_FORMAT_TEXT; fmt++) {
		bg_strbuf_reset(&sb);
		bg_strbuf_puts(&sb, "{\"previous\":1}\n");
		start = sb.len;
		err = bg_event_format(&sb, fmt, ev, rp, wall);
		if (!wall_ok(wall)) {
			CHECK(err == -EINVAL, "an unprintable time gave %d, not -EINVAL", err);
			CHECK(sb.len == start && strlen(sb.buf) == start,
			      "a failed call changed the buffer");
			continue;
		}
		CHECK(err == 0, "format %d failed: %d", fmt, err);
		if (fmt == BG_FORMAT_JSON) {
			check_line(&sb, start);
			check_json_event(ev, rp);
		} else {
			lines = check_text_lines(&sb, start, 1);
			check_text_event(ev, rp, lines);
			CHECK(cur_len < sizeof(text), "text too long for the checker");
			memcpy(text, cur_line, cur_len);
			text_len = cur_len;
		}

		/* The same through the record: the same bytes. */
		err = bg_record_event(&r, ev, &m);
		CHECK(err == 0, "bg_record_event failed: %d", err);
		bg_strbuf_reset(&rb);
		CHECK(bg_record_render(&rb, fmt, &r) == 0, "bg_record_render failed");
		CHECK(rb.len == sb.len - start && !memcmp(rb.buf, sb.buf + start, rb.len),
		      "bg_event_format differs from bg_record_render");
	}
	if (wall_ok(wall)) {
		bg_strbuf_reset(&rb);
		bg_strbuf_puts(&rb, "MESSAGE=");
		CHECK(bg_record_summary(&rb, &r) == 0, "bg_record_summary failed");
		check_summary(&rb, 8, text, text_len, strlen(r.ts));
		bg_strbuf_reset(&rb);
		bg_strbuf_puts(&rb, "prefix");
		err = bg_record_journal(&rb, &r);
		check_journal(&rb, 6, err, r.priority, text, text_len, strlen(r.ts));
		CHECK(r.priority == (ev->verdict == BG_VERDICT_DENY  ? 4 :
				     ev->verdict == BG_VERDICT_ALLOW ? 6 :
								       5),
		      "journal: priority %d for verdict %d", r.priority, ev->verdict);
	} else {
		CHECK(bg_record_event(&r, ev, &m) == -EINVAL, "bg_record_event: bad time accepted");
	}
	bg_strbuf_release(&sb);
	bg_strbuf_release(&rb);
}

/*
 * The lead of an event line, from a record whose lead values are hostile strings (a record is a
 * public struct): with bit 0 of ev.class the verdict is the hint string, bit 1 the address the
 * software string, bit 2 the event the service string. Both renderings must still be one line
 * each, the text read back as the same fields in the same places.
 */
static void fuzz_event_lead(const struct bg_event *ev, char *strs[3], const struct timespec *wall)
{
	static const char *const keys[] = { "verdict", "addr", "event" };
	static const int which[] = { 2, 1, 0 };
	struct bg_event_meta m = { .wall = wall };
	struct bg_strbuf sb = BG_STRBUF_INIT;
	struct bg_record r;
	struct bg_field *f;
	size_t k;

	if (!(ev->class & 7) || !wall_ok(wall))
		return;
	CHECK(bg_record_event(&r, ev, &m) == 0, "lead: bg_record_event failed");
	for (k = 0; k < ARRAY_SIZE(keys); k++) {
		if (!(ev->class & (1u << k)))
			continue;
		f = (struct bg_field *)bg_record_get(&r, keys[k]);
		CHECK(f, "lead: no %s", keys[k]);
		f->type = strs[which[k]] ? BG_FV_STR : BG_FV_NULL;
		f->s = strs[which[k]];
		f->len = f->s ? strlen(f->s) : 0;
	}
	CHECK(bg_record_render(&sb, BG_FORMAT_JSON, &r) == 0, "lead: JSON failed");
	check_line(&sb, 0);
	keep_json();
	for (k = 0; k < ARRAY_SIZE(keys); k++)
		if (ev->class & (1u << k))
			check_json_member_str(&json_j, keys[k], strs[which[k]],
					      strs[which[k]] ? strlen(strs[which[k]]) : 0);
	bg_strbuf_reset(&sb);
	CHECK(bg_record_render(&sb, BG_FORMAT_TEXT, &r) == 0, "lead: text failed");
	CHECK(check_text_lines(&sb, 0, 1) == 1, "lead: more than one text line");
	check_same_fields(NULL);
	bg_strbuf_release(&sb);
}

/* ---- an agent record ------------------------------------------------------------------------ */

static const char features[] = "{\"ringbuf\":true,\"iter\":false,\"cgroup_sockopt\":true}";

/* A JSON value must be one line of printable ASCII. */
static int json_printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

/*
 * Whether s is exactly one JSON value by RFC 8259, with no member twice and no \u0000: read
 * alone, since in a line 1,"verdict":"allow" would pass for one value. jansson's grammar, as
 * the JSON checker's; the checker itself then judges the line the encoder wrote, which it
 * could not do for the value alone (it limits the length of keys, for one).
 */
static int json_valid(const char *s)
{
	json_error_t e;
	json_t *v =
		json_loadb(s, strlen(s),
			   JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &e);

	int ok = v != NULL;

	json_decref(v);
	return ok;
}

/* How deep the valid JSON value s nests arrays and objects: [[1]] is 2. */
static int json_depth(const char *s)
{
	int depth = 0, max = 0, in_str = 0;

	for (; *s; s++) {
		if (in_str) {
			if (*s == '\\' && s[1])
				s++;
			else if (*s == '"')
				in_str = 0;
		} else if (*s == '"') {
			in_str = 1;
		} else if (*s == '[' || *s == '{') {
			if (++depth > max)
				max = depth;
		} else if (*s == ']' || *s == '}') {
			depth--;
		}
	}
	return max;
}

static void fuzz_agent(const struct bg_event *ev, unsigned int sel, char *strs[3],
		       const struct timespec *wall)
{
	static char fill_keys[64][4], text[DEC_CAP];
	const char *state = strs[2] ? strs[2] : "ready";
	const char *raw_json = NULL, *keys[BG_RECORD_MAX_FIELDS + 80];
	struct bg_strbuf sb = BG_STRBUF_INIT;
	size_t start, n_keys = 0, n_rec = 0, k, n_fill = 0, text_len = 0;
	int way, err, want_ok = 1, prio;
	struct bg_record r;

	/* A syslog priority, 0..7; with bit 6 of ev.flags the whole byte, mostly out of range. */
	prio = ev->flags & 0x40 ? ev->flags : ev->flags & 7;
	err = bg_record_agent(&r, state, wall, prio);
	if (!wall_ok(wall) || prio > 7) {
		CHECK(err == -EINVAL, "agent: an unprintable time or priority %d gave %d", prio,
		      err);
		want_ok = 0;
	} else {
		CHECK(err == 0, "agent: bg_record_agent failed: %d", err);
		keys[n_keys++] = "ts";
		keys[n_keys++] = "event";
		keys[n_keys++] = "state";
		bg_record_str(&r, "service", strs[0]);
		keys[n_keys++] = "service";
		bg_record_strn(&r, "software", strs[1], strs[1] ? strlen(strs[1]) : 0);
		keys[n_keys++] = "software";
		bg_record_str(&r, "hint", strs[2]);
		keys[n_keys++] = "hint";
		bg_record_uint(&r, "seq", ev->seq);
		keys[n_keys++] = "seq";
		bg_record_bool(&r, "pinned", ev->flags & 1);
		keys[n_keys++] = "pinned";
		bg_record_str(&r, "none", NULL);
		keys[n_keys++] = "none";
		/* A kernel buffer: up to its first NUL, nothing of what follows. */
		bg_record_strn(&r, "comm", ev->comm, BG_COMM_LEN);
		keys[n_keys++] = "comm";
		if (sel & SEL_AG_FEATURES) {
			bg_record_json(&r, "features", features);
			keys[n_keys++] = "features";
			raw_json = "features";
		}
		if ((sel & SEL_AG_JSON) && strs[1]) {
			bg_record_json(&r, "given", strs[1]);
			keys[n_keys++] = "given";
			raw_json = raw_json ? "features given" : "given";
			/*
			 * Embedded as it is, so refused unless it is one valid JSON value (else it
			 * could add members of its own), at most BG_JSON_MAX_DEPTH deep.
			 */
			if (!json_printable(strs[1]) || !json_valid(strs[1]) ||
			    json_depth(strs[1]) > BG_JSON_MAX_DEPTH)
				want_ok = 0;
		}
		if (sel & SEL_AG_FILL)
			n_fill = ev->gen % 64;
		for (k = 0; k < n_fill; k++) {
			snprintf(fill_keys[k], sizeof(fill_keys[k]), "f%zu", k);
			bg_record_uint(&r, fill_keys[k], k);
			keys[n_keys++] = fill_keys[k];
		}
		/*
		 * A key from outside: refused unless [a-z0-9_]+, and refused when it repeats a key
		 * of its level. With bit 0 of the family it goes into an object "pod" after a
		 * "name". Not one longer than the JSON checker reads (the agent's keys are short).
		 */
		n_rec = n_keys;
		if ((sel & SEL_AG_KEY) && strs[0] && strlen(strs[0]) < JC_MAX_KEY) {
			if (!key_ok(strs[0]))
				want_ok = 0;
			if (ev->family & 1) {
				bg_record_obj(&r, "pod");
				bg_record_str(&r, "name", strs[1]);
				bg_record_uint(&r, strs[0], 1);
				bg_record_end(&r);
				keys[n_keys++] = "pod";
				n_rec += 4;
				/* No top-level key starts with "pod_": no journal name repeats. */
				if (!strcmp(strs[0], "name"))
					want_ok = 0;
			} else {
				for (k = 0; k < n_keys && strcmp(keys[k], strs[0]); k++)
					;
				if (k < n_keys)
					want_ok = 0;
				bg_record_uint(&r, strs[0], 1);
				keys[n_keys++] = strs[0];
				n_rec++;
			}
		}
		CHECK(r.overflow == (n_rec > BG_RECORD_MAX_FIELDS), "agent: overflow not flagged");
		CHECK(r.n == (n_rec > BG_RECORD_MAX_FIELDS ? BG_RECORD_MAX_FIELDS : n_rec),
		      "agent: %zu fields, want %zu", r.n, n_rec);
		if (n_rec > BG_RECORD_MAX_FIELDS)
			want_ok = 0;
	}

	/* JSON, text, the summary, then the journal, each after something already in the buffer. */
	for (way = 0; way < 4; way++) {
		bg_strbuf_reset(&sb);
		bg_strbuf_puts(&sb, "prefix\n");
		start = sb.len;
		if (way < 2)
			err = bg_record_render(&sb, way, &r);
		else if (way == 2)
			err = bg_record_summary(&sb, &r);
		else
			err = bg_record_journal(&sb, &r);
		if (!want_ok) {
			CHECK(err == -EINVAL, "agent: a bad record gave %d, not -EINVAL", err);
			CHECK(sb.len == start && !strcmp(sb.buf, "prefix\n"),
			      "agent: a failed call changed the buffer");
			continue;
		}
		if (way == 3) {
			check_journal(&sb, start, err, prio, text, text_len, strlen(r.ts));
			continue;
		}
		CHECK(err == 0, "agent: way %d failed: %d", way, err);
		if (way == BG_FORMAT_JSON) {
			check_line(&sb, start);
			keep_json();
			CHECK(json_j.n_top == n_keys, "agent JSON: %zu members, want %zu",
			      json_j.n_top, n_keys);
			for (k = 0; k < n_keys; k++)
				CHECK(!strcmp(json_j.top[k].key, keys[k]),
				      "agent JSON: member %zu is %s, want %s", k, json_j.top[k].key,
				      keys[k]);
			check_json_member_str(&json_j, "state", state, strlen(state));
			check_json_member_str(&json_j, "service", strs[0],
					      strs[0] ? strlen(strs[0]) : 0);
			check_json_member_str(&json_j, "software", strs[1],
					      strs[1] ? strlen(strs[1]) : 0);
			check_json_member_str(&json_j, "hint", strs[2],
					      strs[2] ? strlen(strs[2]) : 0);
			check_json_member_str(&json_j, "comm", ev->comm,
					      strnlen(ev->comm, BG_COMM_LEN));
		} else if (way == BG_FORMAT_TEXT) {
			CHECK(check_text_lines(&sb, start, 0) == 1,
			      "agent text: more than one line");
			CHECK(cur_len > strlen(r.ts) + 7 && !memcmp(cur_line, r.ts, strlen(r.ts)) &&
				      !memcmp(cur_line + strlen(r.ts), " agent ", 7),
			      "agent text: no \"TS agent\" lead");
			check_same_fields(raw_json);
			check_text_value("state", state, strlen(state));
			check_text_value("service", strs[0], strs[0] ? strlen(strs[0]) : 0);
			check_text_value("software", strs[1], strs[1] ? strlen(strs[1]) : 0);
			check_text_value("hint", strs[2], strs[2] ? strlen(strs[2]) : 0);
			check_text_value("comm", ev->comm, strnlen(ev->comm, BG_COMM_LEN));
			CHECK(tf_get("hint")->where == TC_KV, "agent text: hint not inline");
			memcpy(text, cur_line, cur_len);
			text_len = cur_len;
		} else {
			check_summary(&sb, start, text, text_len, strlen(r.ts));
		}
	}
	bg_strbuf_release(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bg_strbuf sb = BG_STRBUF_INIT;
	struct bg_policy_rule rule, *rp = NULL;
	char *strs[3] = { NULL, NULL, NULL };
	struct timespec wall;
	struct bg_event ev;
	unsigned int sel = 0;
	size_t where;
	const char *why;
	int err, i;

	memset(&ev, 0, sizeof(ev));
	memcpy(&ev, data, size < sizeof(ev) ? size : sizeof(ev));
	if (size > sizeof(ev)) {
		sel = data[sizeof(ev)];
		split_strings(data + sizeof(ev) + 1, size - sizeof(ev) - 1, strs);
	}
	if (sel & SEL_RULE) {
		memset(&rule, 0, sizeof(rule));
		rule.service = sel & SEL_SERVICE ? strs[0] : NULL;
		rule.software = sel & SEL_SOFTWARE ? strs[1] : NULL;
		rule.hint = sel & SEL_HINT ? strs[2] : NULL;
		rp = &rule;
	}
	/*
	 * Mostly a printable time (0 to the end of year 9999); with the top two bits of ts_ns set,
	 * signed seconds over +-2^43 (years far outside 0000..9999) and nanoseconds up to 2^30.
	 */
	if ((ev.ts_ns >> 62) == 3) {
		wall.tv_sec = (time_t)((int64_t)(ev.ts_ns << 2) >> 20);
		wall.tv_nsec = (long)(ev.ts_ns & 0x3fffffff);
	} else {
		wall.tv_sec = (time_t)((ev.ts_ns >> 30) % 253402300800ULL);
		wall.tv_nsec = (long)((ev.ts_ns & 0x3fffffff) % 1000000000);
	}

	fuzz_event(&ev, rp, &wall);
	fuzz_event_lead(&ev, strs, &wall);

	/* The raw input as one JSON string: valid, nothing raw, and it reads back. */
	err = bg_json_string(&sb, (const char *)data, size);
	CHECK(err == 0, "bg_json_string failed: %d", err);
	cur_line = sb.buf;
	cur_len = sb.len;
	why = jc_line_rules(sb.buf, sb.len, 0, &where);
	if (why)
		fail(where, "bg_json_string: %s", why);
	{
		struct jc j;

		if (jc_value(&j, sb.buf, sb.len) || sb.buf[0] != '"')
			fail(j.err_pos, "bg_json_string: not one JSON string: %s",
			     j.err ? j.err : "not a string");
		if (size * 3 <= DEC_CAP)
			check_decodes("bg_json_string", sb.buf, 0, sb.len, (const char *)data,
				      size);
	}

	fuzz_agent(&ev, sel, strs, &wall);

	bg_strbuf_release(&sb);
	for (i = 0; i < 3; i++)
		free(strs[i]);
	cur_line = NULL;
	return 0;
}
