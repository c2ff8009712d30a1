// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_event.c - libFuzzer target for the event encoder (agent/event_fmt.c).
 *
 * The claim under test: whatever the kernel hands the agent (a comm of arbitrary bytes, enum
 * fields out of range) and whatever strings a policy carries, every event is exactly one line,
 * a JSON line is valid JSON, and no string can forge a field. The target turns the input into
 *
 *   bytes 0..111   struct bg_event (zero-padded when the input is shorter);
 *   byte  112      selector: bit 0 a rule is given, bits 1..3 it has a service, software, hint;
 *   the rest       service, software and hint, separated by NUL bytes;
 *
 * formats the event as JSON and as text, and aborts on any broken invariant:
 *   - the line ends in its only '\n' and holds no control character (jc_line_rules());
 *   - JSON: the line is one strict JSON object (jc_line(), tests/lib/json_check.h: no
 *     duplicate keys, no \u0000), with every documented field
 *     and the optional ones exactly when they are due, and comm, rule and hint decode to what
 *     the encoder promises (the bytes, with U+FFFD for each invalid one);
 *   - text: the line splits into the documented fields, each key once, and comm, rule and hint
 *     read back the same way;
 *   - a failed call leaves the buffer as it was.
 * It also feeds the raw input to bg_json_string() and a lifecycle record, with the same checks.
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

#define SEL_RULE (1u << 0)
#define SEL_SERVICE (1u << 1)
#define SEL_SOFTWARE (1u << 2)
#define SEL_HINT (1u << 3)

/* Enough for any line the target builds from an input of -max_len bytes (3 bytes out per byte). */
#define DEC_CAP 65536

static const char *cur_line;
static size_t cur_len;

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

static void check_json_event(const struct bg_event *ev, const struct bg_policy_rule *rule)
{
	static const char *const always[] = { "ts",	"seq",	  "event",  "verdict", "mode",
					      "rule",	"expose", "action", "hook",    "netns",
					      "family", "proto",  "addr",   "port" };
	static const char *const task[] = { "pid", "comm", "uid", "gid", "cgroup_id" };
	const char *name = rule_name(rule), *hint = rule_hint(rule);
	int has_task = !(ev->flags & BG_EV_F_NO_TASK);
	size_t i, want;
	struct jc j;

	if (jc_line(&j, cur_line, cur_len))
		fail(j.err_pos, "JSON: %s", j.err);
	CHECK(cur_line[0] == '{', "JSON: the line is not an object");

	want = sizeof(always) / sizeof(always[0]);
	for (i = 0; i < want; i++)
		CHECK(jc_get(&j, always[i]), "JSON: \"%s\" missing", always[i]);
	for (i = 0; i < sizeof(task) / sizeof(task[0]); i++)
		CHECK(!jc_get(&j, task[i]) == !has_task, "JSON: \"%s\" %s", task[i],
		      has_task ? "missing" : "present without a task");
	want += has_task ? 5 : 0;
	CHECK(!jc_get(&j, "hint") == !hint, "JSON: \"hint\" present iff the rule has one");
	want += !!hint;
	CHECK(!jc_get(&j, "confined_addr") == !(ev->verdict == BG_VERDICT_CONFINE),
	      "JSON: \"confined_addr\" present iff confine");
	want += ev->verdict == BG_VERDICT_CONFINE;
	CHECK(!jc_get(&j, "peer_addr") == !(ev->type == BG_EVENT_ACCEPT) &&
		      !jc_get(&j, "peer_port") == !(ev->type == BG_EVENT_ACCEPT),
	      "JSON: \"peer_addr\"/\"peer_port\" present iff accept");
	want += ev->type == BG_EVENT_ACCEPT ? 2 : 0;
	CHECK(!jc_get(&j, "closed") == !(ev->flags & BG_EV_F_CLOSED),
	      "JSON: \"closed\" present iff BG_EV_F_CLOSED");
	want += !!(ev->flags & BG_EV_F_CLOSED);
	CHECK(j.n_top == want, "JSON: %zu members, want %zu", j.n_top, want);

	if (has_task)
		check_json_member_str(&j, "comm", ev->comm, strnlen(ev->comm, BG_COMM_LEN));
	check_json_member_str(&j, "rule", name, name ? strlen(name) : 0);
	if (hint)
		check_json_member_str(&j, "hint", hint, strlen(hint));
}

/*
 * One field of a text line: a bare word, or key=value where the value is a bare word or a JSON
 * string (which may hold spaces and '='). Returns the offset after the field, with the value's
 * span in *voff and *vlen and the key's in *koff and *klen (klen 0 for a bare word).
 */
static size_t text_field(size_t pos, size_t end, size_t *koff, size_t *klen, size_t *voff,
			 size_t *vlen)
{
	const char *err = NULL;
	size_t p = pos;

	*koff = pos;
	*klen = 0;
	while (p < end && cur_line[p] != ' ' && cur_line[p] != '=' && cur_line[p] != '"')
		p++;
	if (p < end && cur_line[p] == '"')
		fail(p, "text: a quote inside a key or bare word");
	if (p >= end || cur_line[p] == ' ') {
		*voff = pos;
		*vlen = p - pos;
		return p;
	}
	*klen = p - pos;
	CHECK(*klen > 0, "text: empty key");
	*voff = ++p;
	if (p < end && cur_line[p] == '"') {
		/* The string ends at its closing quote: find it with the JSON checker. */
		p = jc_string_end(cur_line, end, p, &err);
		if (!p)
			fail(*voff, "text: %s", err);
	} else {
		while (p < end && cur_line[p] != ' ' && cur_line[p] != '=' && cur_line[p] != '"')
			p++;
		if (p < end && cur_line[p] != ' ')
			fail(p, "text: '=' or a quote inside a bare value");
	}
	*vlen = p - *voff;
	CHECK(*vlen > 0, "text: empty value");
	return p;
}

/* A text value that is a bare word equal to raw, or a JSON string that reads back as raw. */
static void check_text_value(const char *key, size_t voff, size_t vlen, const char *raw)
{
	if (cur_line[voff] == '"') {
		check_decodes(key, cur_line, voff, vlen, raw, strlen(raw));
		return;
	}
	if (vlen != strlen(raw) || memcmp(cur_line + voff, raw, vlen))
		fail(voff, "text: %s is not the original word", key);
}

/* The text keys: the first TEXT_ALWAYS are in every line, the last three only when due. */
#define TEXT_ALWAYS 9

static void check_text_event(const struct bg_event *ev, const struct bg_policy_rule *rule)
{
	static const char *const keys[] = {
		"rule", "expose", "action", "mode",	"pid",	"comm",
		"uid",	"cgroup", "netns",  "confined", "peer", "hint"
	};
	const char *name = rule_name(rule), *hint = rule_hint(rule);
	size_t pos = 0, end = cur_len - 1, koff, klen, voff, vlen, nfield = 0, i;
	int seen[sizeof(keys) / sizeof(keys[0])] = { 0 }, closed = 0;

	while (pos < end) {
		if (nfield) {
			CHECK(cur_line[pos] == ' ', "text: fields must be separated by one space");
			pos++;
		}
		pos = text_field(pos, end, &koff, &klen, &voff, &vlen);
		nfield++;
		if (nfield <= 5) {
			/* ts VERDICT event proto addr:port */
			CHECK(!klen, "text: field %zu must be a bare word", nfield);
			continue;
		}
		if (!klen) {
			CHECK(vlen == 6 && !memcmp(cur_line + voff, "closed", 6) && !closed,
			      "text: unexpected bare word after the header");
			closed = 1;
			continue;
		}
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (strlen(keys[i]) == klen && !memcmp(cur_line + koff, keys[i], klen))
				break;
		if (i == sizeof(keys) / sizeof(keys[0]))
			fail(koff, "text: unknown key");
		CHECK(!seen[i], "text: key %s twice", keys[i]);
		seen[i] = 1;
		if (!strcmp(keys[i], "comm")) {
			CHECK(cur_line[voff] == '"', "text: comm is always quoted");
			check_decodes("comm", cur_line, voff, vlen, ev->comm,
				      strnlen(ev->comm, BG_COMM_LEN));
		} else if (!strcmp(keys[i], "rule")) {
			check_text_value("rule", voff, vlen, name ? name : "-");
		} else if (!strcmp(keys[i], "hint")) {
			CHECK(hint && cur_line[voff] == '"', "text: hint without a rule hint");
			check_decodes("hint", cur_line, voff, vlen, hint, strlen(hint));
		}
	}
	CHECK(nfield >= 5 && cur_line[end - 1] != ' ', "text: short header or a trailing space");
	for (i = 0; i < TEXT_ALWAYS; i++)
		CHECK(seen[i], "text: %s missing", keys[i]);
	CHECK(seen[TEXT_ALWAYS] == (ev->verdict == BG_VERDICT_CONFINE),
	      "text: confined iff confine");
	CHECK(seen[TEXT_ALWAYS + 1] == (ev->type == BG_EVENT_ACCEPT), "text: peer iff accept");
	CHECK(seen[TEXT_ALWAYS + 2] == !!hint, "text: hint iff the rule has one");
	CHECK(closed == !!(ev->flags & BG_EV_F_CLOSED), "text: closed iff BG_EV_F_CLOSED");
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

static void fuzz_lifecycle(struct bg_strbuf *sb, const char *state, const struct timespec *wall)
{
	int fmt, err;
	size_t start;
	struct jc j;

	for (fmt = BG_FORMAT_JSON; fmt <= BG_FORMAT_TEXT; fmt++) {
		bg_strbuf_reset(sb);
		bg_strbuf_puts(sb, "prefix\n");
		start = sb->len;
		err = bg_lifecycle_format(sb, fmt, state, wall, "\"k\":1");
		if (!wall_ok(wall)) {
			CHECK(err == -EINVAL && sb->len == start, "lifecycle: bad time accepted");
			continue;
		}
		CHECK(err == 0, "lifecycle: error %d", err);
		check_line(sb, start);
		if (fmt == BG_FORMAT_JSON) {
			const struct jc_member *m;

			if (jc_line(&j, cur_line, cur_len))
				fail(j.err_pos, "lifecycle JSON: %s", j.err);
			m = jc_get(&j, "state");
			CHECK(m && j.n_top == 4, "lifecycle JSON: members");
			check_decodes("state", cur_line, m->val_off, m->val_len, state,
				      strlen(state));
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bg_strbuf sb = BG_STRBUF_INIT;
	struct bg_policy_rule rule, *rp = NULL;
	char *strs[3] = { NULL, NULL, NULL };
	struct timespec wall;
	struct bg_event ev;
	unsigned int sel = 0;
	size_t start, where;
	const char *why;
	int fmt, err, i;

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

	for (fmt = BG_FORMAT_JSON; fmt <= BG_FORMAT_TEXT; fmt++) {
		bg_strbuf_reset(&sb);
		bg_strbuf_puts(&sb, "{\"previous\":1}\n");
		start = sb.len;
		err = bg_event_format(&sb, fmt, &ev, rp, &wall);
		if (!wall_ok(&wall)) {
			CHECK(err == -EINVAL, "an unprintable time gave %d, not -EINVAL", err);
			CHECK(sb.len == start && strlen(sb.buf) == start,
			      "a failed call changed the buffer");
			continue;
		}
		CHECK(err == 0, "format %d failed: %d", fmt, err);
		check_line(&sb, start);
		if (fmt == BG_FORMAT_JSON)
			check_json_event(&ev, rp);
		else
			check_text_event(&ev, rp);
	}

	/* The raw input as one JSON string: valid, nothing raw, and it reads back. */
	bg_strbuf_reset(&sb);
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

	fuzz_lifecycle(&sb, strs[2] ? strs[2] : "ready", &wall);

	bg_strbuf_release(&sb);
	for (i = 0; i < 3; i++)
		free(strs[i]);
	cur_line = NULL;
	return 0;
}
