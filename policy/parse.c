// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * parse.c - read a policy with libyaml and validate it into a struct bg_policy.
 *
 * The parser walks libyaml's event stream directly instead of loading a document tree. The
 * language is shallow, any structure it does not expect is an error, and the walk stops at the
 * first error, so it never has to skip a subtree. Memory stays proportional to the policy rather
 * than to the YAML, and every error points at the node that caused it (libyaml marks are
 * 0-based, messages are 1-based).
 *
 * Errors are found in file order: the first one in the file is the one reported. Checks that need
 * the whole file (a missing key, an empty rule list) come after everything else.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "explain.h"
#include "policy.h"

#define PORT_MAX 65535u
#define QUOTE_MAX 64 /* bytes of user text quoted in a message */

/* Why no rule can name port 0, for the two messages that refuse it. */
#define PORT0_WHY                                                                                 \
	"binding port 0 asks the kernel to pick an ephemeral port, so no socket ever ends up on " \
	"port 0"

struct pctx {
	yaml_parser_t parser;
	yaml_event_t ev; /* the current event, valid while have_ev */
	int have_ev;
	yaml_event_t la; /* the event after it, when peek() fetched it early */
	int have_la;
	/*
	 * The collections open at the last event pulled (depth of them, the first BG_YBLOCK_MAX
	 * kept), and those the END events just pulled closed: what a syntax error is explained
	 * against.
	 */
	struct bg_yblock open[BG_YBLOCK_MAX];
	size_t depth;
	struct bg_yblock closed[BG_YBLOCK_MAX];
	size_t n_closed;
	const char *buf; /* the input, to place reader errors that carry only an offset */
	size_t len;
	struct bg_policy_error *err;
	struct bg_policy *pol;
	size_t rules_cap;
	size_t n_cidrs; /* across the whole policy: they all share one LPM trie */
	__u16 cur_scope; /* the scope whose rules are being read, 0 for the host's */
	__u16 *owner; /* [BG_RULE_KEY(proto, port)] -> 1-based rule index, to find overlaps */
};

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* -------------------------------------------------------------------------------------------- */
/* Errors */

static void err_init(struct bg_policy_error *err, const char *file)
{
	memset(err, 0, sizeof(*err));
	snprintf(err->file, sizeof(err->file), "%s", file);
}

static void err_vset(struct bg_policy_error *err, unsigned int line, unsigned int col,
		     const char *fmt, va_list ap)
{
	err->line = line;
	err->col = line ? col : 0;
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

__attribute__((format(printf, 3, 4))) static int fail_at(struct pctx *c, yaml_mark_t m,
							 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vset(c->err, (unsigned int)m.line + 1, (unsigned int)m.column + 1, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int fail_nomem(struct bg_policy_error *err)
{
	err->line = 0;
	err->col = 0;
	snprintf(err->msg, sizeof(err->msg), "out of memory");
	return -ENOMEM;
}

/*
 * 1-based line and column of a byte offset, counted as libyaml counts them (a column is a
 * character, not a byte). Only reader errors need it: they carry an offset and no mark.
 */
static yaml_mark_t mark_of_offset(const char *buf, size_t len, size_t off)
{
	yaml_mark_t m = { 0 };
	size_t i;

	if (off > len)
		off = len;
	for (i = 0; i < off; i++) {
		unsigned char ch = (unsigned char)buf[i];

		if (ch == '\n' || (ch == '\r' && (i + 1 >= len || buf[i + 1] != '\n'))) {
			m.line++;
			m.column = 0;
		} else if ((ch & 0xc0) != 0x80 && ch != '\r') {
			m.column++;
		}
	}
	m.index = off;
	return m;
}

/* A syntax error in the terms of the mistake behind it, when explain.c recognises it. */
static int explain_yaml(struct pctx *c, yaml_mark_t *at, char *msg, size_t len)
{
	struct bg_yblock all[2 * BG_YBLOCK_MAX];
	size_t n_open = c->depth < BG_YBLOCK_MAX ? c->depth : BG_YBLOCK_MAX;

	memcpy(all, c->open, n_open * sizeof(all[0]));
	memcpy(all + n_open, c->closed, c->n_closed * sizeof(all[0]));
	return bg_yaml_explain(c->buf, c->len, c->parser.problem_mark, all, n_open, c->n_closed, at,
			       msg, len);
}

/* Turn libyaml's own error (bad syntax, bad UTF-8) into ours. */
static int fail_yaml(struct pctx *c)
{
	const yaml_parser_t *p = &c->parser;
	const char *problem = p->problem ? p->problem : "unknown error";
	char why[sizeof(c->err->msg)];
	yaml_mark_t m;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return fail_nomem(c->err);
	case YAML_READER_ERROR:
		m = mark_of_offset(c->buf, c->len, p->problem_offset);
		if (p->problem_value >= 0)
			return fail_at(c, m, "invalid input: %s (#%X)", problem, p->problem_value);
		return fail_at(c, m, "invalid input: %s", problem);
	default:
		if (explain_yaml(c, &m, why, sizeof(why)))
			return fail_at(c, m, "%s", why);
		if (p->context)
			return fail_at(c, p->problem_mark,
				       "YAML syntax error: %s (%s at line %zu, column %zu)",
				       problem, p->context, p->context_mark.line + 1,
				       p->context_mark.column + 1);
		return fail_at(c, p->problem_mark, "YAML syntax error: %s", problem);
	}
}

static const char *quote(const yaml_event_t *ev, char *out, size_t outlen)
{
	return bg_yaml_quote(ev->data.scalar.value, ev->data.scalar.length, QUOTE_MAX, out, outlen);
}

#define QUOTE_BUF BG_QUOTE_BUF(QUOTE_MAX)

/* -------------------------------------------------------------------------------------------- */
/* Events */

static const char *anchor_of(const yaml_event_t *ev)
{
	return ev->data.alias.anchor ? (const char *)ev->data.alias.anchor : "";
}

static const yaml_char_t *tag_of(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return ev->data.scalar.tag;
	case YAML_SEQUENCE_START_EVENT:
		return ev->data.sequence_start.tag;
	case YAML_MAPPING_START_EVENT:
		return ev->data.mapping_start.tag;
	default:
		return NULL;
	}
}

/* Keep track of the collections around the parser, to explain a syntax error. */
static void track(struct pctx *c, const yaml_event_t *ev)
{
	struct bg_yblock *b;

	switch (ev->type) {
	case YAML_MAPPING_START_EVENT:
	case YAML_SEQUENCE_START_EVENT:
		c->n_closed = 0;
		if (c->depth < BG_YBLOCK_MAX) {
			b = &c->open[c->depth];
			memset(b, 0, sizeof(*b));
			b->at = ev->start_mark;
			b->seq = ev->type == YAML_SEQUENCE_START_EVENT;
			b->flow =
				b->seq ? ev->data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE :
					 ev->data.mapping_start.style == YAML_FLOW_MAPPING_STYLE;
		}
		c->depth++;
		break;
	case YAML_MAPPING_END_EVENT:
	case YAML_SEQUENCE_END_EVENT:
		if (!c->depth)
			break;
		c->depth--;
		if (c->depth < BG_YBLOCK_MAX && c->n_closed < BG_YBLOCK_MAX)
			c->closed[c->n_closed++] = c->open[c->depth];
		break;
	default:
		c->n_closed = 0;
		break;
	}
}

/* Name the collection the current (START) event opened, for messages about it. */
static void set_role(struct pctx *c, const char *role, const char *const *keys, size_t n_keys)
{
	if (c->have_la || !c->depth || c->depth > BG_YBLOCK_MAX)
		return;
	c->open[c->depth - 1].role = role;
	c->open[c->depth - 1].keys = keys;
	c->open[c->depth - 1].n_keys = n_keys;
}

static int pull(struct pctx *c, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&c->parser, ev))
		return fail_yaml(c);
	track(c, ev);
	return 0;
}

/*
 * Fetch the event after the current one without consuming it. A check that runs when a
 * collection ends calls this first: if the line that ended it is a syntax error (a key indented
 * one space too few ends a rule early), that error is the real mistake, and "rule has no expose"
 * would only mislead.
 */
static int peek(struct pctx *c)
{
	int ret;

	if (c->have_la)
		return 0;
	ret = pull(c, &c->la);
	if (!ret)
		c->have_la = 1;
	return ret;
}

/*
 * Advance to the next event. Aliases are refused: a node used twice would have two meanings for
 * one position, and rules are meant to be read top to bottom. Explicit tags (!!str, !!int) are
 * refused because each key already has exactly one type.
 */
static int next(struct pctx *c)
{
	int ret;

	if (c->have_ev) {
		yaml_event_delete(&c->ev);
		c->have_ev = 0;
	}
	if (c->have_la) {
		c->ev = c->la;
		c->have_la = 0;
	} else {
		ret = pull(c, &c->ev);
		if (ret)
			return ret;
	}
	c->have_ev = 1;
	/*
	 * A plain value that goes on over more lines, right before a syntax error, is a key
	 * indented too far: YAML reads "port: 3306" and "     expose" below it as the value
	 * "3306 expose", then fails on the ":". The syntax error is the mistake to report.
	 */
	if (c->ev.type == YAML_SCALAR_EVENT && c->ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    c->ev.end_mark.line > c->ev.start_mark.line) {
		ret = peek(c);
		if (ret)
			return ret;
	}
	if (c->ev.type == YAML_ALIAS_EVENT)
		return fail_at(c, c->ev.start_mark,
			       "aliases (*%s) are not supported: write the value out",
			       anchor_of(&c->ev));
	if (tag_of(&c->ev)) {
		/* libyaml decodes %XX in tags, so a tag can hold any byte (found by fuzzing). */
		const yaml_char_t *tag = tag_of(&c->ev);
		char q[QUOTE_BUF];

		return fail_at(
			c, c->ev.start_mark, "YAML tags (%s) are not supported",
			bg_yaml_quote(tag, strlen((const char *)tag), QUOTE_MAX, q, sizeof(q)));
	}
	return 0;
}

static int is_scalar(const yaml_event_t *ev)
{
	return ev->type == YAML_SCALAR_EVENT;
}

static int scalar_is(const yaml_event_t *ev, const char *word)
{
	size_t n = strlen(word);

	return is_scalar(ev) && ev->data.scalar.length == n &&
	       !memcmp(ev->data.scalar.value, word, n);
}

/* YAML 1.1 null: an empty or "~"/"null" plain scalar. A quoted "" is a string, not null. */
static int is_null(const yaml_event_t *ev)
{
	if (!is_scalar(ev) || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	return ev->data.scalar.length == 0 || scalar_is(ev, "~") || scalar_is(ev, "null") ||
	       scalar_is(ev, "Null") || scalar_is(ev, "NULL");
}

static const char *kind_of(const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_MAPPING_START_EVENT:
		return "a mapping";
	case YAML_SEQUENCE_START_EVENT:
		return "a sequence";
	case YAML_SCALAR_EVENT:
		if (is_null(ev))
			return "an empty value";
		if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
			return "a plain scalar";
		return "a quoted string";
	default:
		return "an unexpected YAML node";
	}
}

/* -------------------------------------------------------------------------------------------- */
/* Keys */

struct keyset {
	const char *const *names;
	size_t n;
	const char *where; /* "at top level", "in rule" */
	/* The keys of the mappings nested in this one: such a key here was indented too little. */
	const char *const *inner;
	size_t n_inner;
	const char *inner_what; /* "a rule key" */
};

/*
 * The current event is a mapping key. Return its index in ks, or report a key that is not a
 * plain string, unknown, or already seen in this mapping (firsts[] remembers where).
 */
static int read_key(struct pctx *c, const struct keyset *ks, __u32 *seen, yaml_mark_t *firsts)
{
	char q[QUOTE_BUF], expected[256];
	size_t i, o = 0;

	if (!is_scalar(&c->ev))
		return fail_at(c, c->ev.start_mark, "keys must be strings, not %s",
			       kind_of(&c->ev));
	for (i = 0; i < ks->n; i++) {
		if (!scalar_is(&c->ev, ks->names[i]))
			continue;
		if (*seen & (1u << i))
			return fail_at(c, c->ev.start_mark,
				       "duplicate key \"%s\" (first at line %zu)", ks->names[i],
				       firsts[i].line + 1);
		*seen |= 1u << i;
		firsts[i] = c->ev.start_mark;
		return (int)i;
	}
	for (i = 0; i < ks->n && o < sizeof(expected); i++)
		o += snprintf(expected + o, sizeof(expected) - o, "%s%s", i ? ", " : "",
			      ks->names[i]);
	for (i = 0; i < ks->n_inner; i++)
		if (scalar_is(&c->ev, ks->inner[i]))
			return fail_at(c, c->ev.start_mark,
				       "unknown key \"%s\" %s (expected one of: %s); \"%s\" is %s: "
				       "indent it like the other keys of its rule",
				       ks->inner[i], ks->where, expected, ks->inner[i],
				       ks->inner_what);
	return fail_at(c, c->ev.start_mark, "unknown key \"%s\" %s (expected one of: %s)",
		       quote(&c->ev, q, sizeof(q)), ks->where, expected);
}

/* -------------------------------------------------------------------------------------------- */
/* Values */

/*
 * Strict decimal: digits only, no sign, no '_', no hex or exponent, and no leading zero, since
 * YAML 1.1 reads 0123 as octal and a port must mean what it looks like. Returns 0, -EINVAL
 * (not a decimal number) or -ERANGE (above UINT32_MAX).
 */
static int parse_dec(const char *s, size_t n, __u32 *out)
{
	__u64 v = 0;
	int big = 0;
	size_t i;

	if (!n || (n > 1 && s[0] == '0'))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (__u64)(s[i] - '0');
		if (v > 0xffffffffu) {
			big = 1;
			v = 0xffffffffu;
		}
	}
	if (big)
		return -ERANGE;
	*out = (__u32)v;
	return 0;
}

static int all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return n > 0;
}

/* The current event as a plain decimal integer in min..max. */
static int uint_value(struct pctx *c, const char *what, __u32 min, __u32 max, __u32 *out)
{
	const yaml_event_t *ev = &c->ev;
	const char *s;
	char q[QUOTE_BUF];
	size_t n;
	__u32 v = 0;
	int ret;

	if (!is_scalar(ev) || is_null(ev) || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return fail_at(c, ev->start_mark, "%s must be an integer, not %s", what,
			       kind_of(ev));
	s = (const char *)ev->data.scalar.value;
	n = ev->data.scalar.length;
	ret = parse_dec(s, n, &v);
	if (ret == -ERANGE || (!ret && (v < min || v > max)) ||
	    (n > 1 && s[0] == '-' && all_digits(s + 1, n - 1)))
		return fail_at(c, ev->start_mark, "%s %s is out of range (%u-%u)", what,
			       quote(ev, q, sizeof(q)), min, max);
	if (ret && n > 1 && s[0] == '0' && all_digits(s, n))
		return fail_at(
			c, ev->start_mark,
			"%s %s: leading zeros are not allowed (YAML 1.1 reads them as octal)", what,
			quote(ev, q, sizeof(q)));
	if (ret)
		return fail_at(c, ev->start_mark, "%s \"%s\" is not a decimal integer", what,
			       quote(ev, q, sizeof(q)));
	*out = v;
	return 0;
}

/* Read a plain decimal integer in 0..max. */
static int read_uint(struct pctx *c, const char *what, __u32 max, __u32 *out)
{
	int ret;

	ret = next(c);
	if (ret)
		return ret;
	return uint_value(c, what, 0, max, out);
}

/*
 * "LO-HI", with spaces allowed around the dash. Returns 1 when s has that shape (a dash after
 * the first character), with parse_dec()'s verdict on each side in *ra and *rb; 0 otherwise.
 */
static int split_range(const char *s, size_t n, __u32 *lo, __u32 *hi, int *ra, int *rb)
{
	const char *dash = n ? memchr(s + 1, '-', n - 1) : NULL;
	size_t ln, hn;

	if (!dash)
		return 0;
	ln = (size_t)(dash - s);
	hn = n - ln - 1;
	while (ln && s[ln - 1] == ' ')
		ln--;
	while (hn && dash[1] == ' ') {
		dash++;
		hn--;
	}
	*ra = parse_dec(s, ln, lo);
	*rb = parse_dec(dash + 1, hn, hi);
	return 1;
}

/*
 * `port`: one port, 1-65535. Two mistakes get a message of their own: a range, which is what
 * `ports` is for, and port 0, which no socket ever ends up on.
 */
static int read_port(struct pctx *c, __u32 *out)
{
	const yaml_event_t *ev = &c->ev;
	char q[QUOTE_BUF];
	__u32 lo = 0, hi = 0;
	int ra = 0, rb = 0, ret;

	ret = next(c);
	if (ret)
		return ret;
	/* The suggestion is a range a rule can hold: it starts at 1, not 0. */
	if (is_scalar(ev) && !is_null(ev) &&
	    split_range((const char *)ev->data.scalar.value, ev->data.scalar.length, &lo, &hi, &ra,
			&rb) &&
	    !ra && !rb && hi)
		return fail_at(c, ev->start_mark, "port \"%s\" is a range: write ports: %u-%u",
			       quote(ev, q, sizeof(q)), lo ? lo : 1, hi);
	if (scalar_is(ev, "0") && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)
		return fail_at(c, ev->start_mark,
			       "port 0 cannot be named in a rule: " PORT0_WHY
			       " (rules name ports 1-65535)");
	return uint_value(c, "port", 1, PORT_MAX, out);
}

/* `ports`: "LO-HI" (spaces around the dash allowed), or one port as a number or a string. */
static int read_port_range(struct pctx *c, __u32 *lo, __u32 *hi)
{
	const yaml_event_t *ev = &c->ev;
	const char *s;
	size_t n;
	char q[QUOTE_BUF];
	__u32 a = 0, b = 0;
	int ra = 0, rb = 0, ret;

	ret = next(c);
	if (ret)
		return ret;
	if (!is_scalar(ev) || is_null(ev))
		return fail_at(c, ev->start_mark, "ports must be a range \"LO-HI\", not %s",
			       kind_of(ev));
	s = (const char *)ev->data.scalar.value;
	n = ev->data.scalar.length;
	if (!split_range(s, n, &a, &b, &ra, &rb)) {
		ra = parse_dec(s, n, &a);
		b = a;
		rb = ra;
	}
	if (ra == -EINVAL || rb == -EINVAL)
		return fail_at(c, ev->start_mark,
			       "ports \"%s\" is not a port or a range LO-HI of decimal ports",
			       quote(ev, q, sizeof(q)));
	if (ra || rb || a > PORT_MAX || b > PORT_MAX)
		return fail_at(c, ev->start_mark, "ports \"%s\" is out of range (1-%u)",
			       quote(ev, q, sizeof(q)), PORT_MAX);
	if (a > b)
		return fail_at(c, ev->start_mark, "ports \"%s\": the range is reversed (%u > %u)",
			       quote(ev, q, sizeof(q)), a, b);
	if (!b)
		return fail_at(c, ev->start_mark,
			       "ports \"%s\": port 0 cannot be named in a rule: " PORT0_WHY
			       " (rules name ports 1-65535)",
			       quote(ev, q, sizeof(q)));
	if (!a && b == 1)
		return fail_at(
			c, ev->start_mark,
			"ports \"%s\" includes port 0, which cannot be named in a rule (" PORT0_WHY
			"): write port: 1",
			quote(ev, q, sizeof(q)));
	if (!a)
		return fail_at(
			c, ev->start_mark,
			"ports \"%s\" includes port 0, which cannot be named in a rule (" PORT0_WHY
			"): write ports: 1-%u",
			quote(ev, q, sizeof(q)), b);
	*lo = a;
	*hi = b;
	return 0;
}

/*
 * A free-text string (name, service, hint, ...). These end up in logs and JSON, so control
 * characters other than tab and newline are refused; the trailing newline of a YAML block
 * scalar is dropped, and an empty string is stored as NULL ("not given").
 */
static int read_string(struct pctx *c, const char *what, char **out)
{
	const yaml_event_t *ev = &c->ev;
	const unsigned char *s;
	size_t n, i;
	char *dup;
	int ret;

	ret = next(c);
	if (ret)
		return ret;
	if (!is_scalar(ev) || is_null(ev))
		return fail_at(c, ev->start_mark, "%s must be a string, not %s", what, kind_of(ev));
	s = ev->data.scalar.value;
	n = ev->data.scalar.length;
	for (i = 0; i < n; i++)
		if ((s[i] < 0x20 && s[i] != '\t' && s[i] != '\n') || s[i] == 0x7f)
			return fail_at(c, ev->start_mark,
				       "%s contains a control character (byte 0x%02x)", what, s[i]);
	while (n && s[n - 1] == '\n')
		n--;
	if (!n)
		return 0;
	dup = strndup((const char *)s, n);
	if (!dup)
		return fail_nomem(c->err);
	free(*out);
	*out = dup;
	return 0;
}

/* A scalar that must be one of a few words; *out is its index in words[]. */
static int read_choice(struct pctx *c, const char *what, const char *const *words, size_t n,
		       size_t *out)
{
	const yaml_event_t *ev = &c->ev;
	char q[QUOTE_BUF], list[128];
	size_t i, o = 0;
	int ret;

	ret = next(c);
	if (ret)
		return ret;
	for (i = 0; i < n && o < sizeof(list); i++)
		o += snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "", words[i]);
	if (!is_scalar(ev) || is_null(ev))
		return fail_at(c, ev->start_mark, "%s must be one of: %s, not %s", what, list,
			       kind_of(ev));
	for (i = 0; i < n; i++) {
		if (scalar_is(ev, words[i])) {
			*out = i;
			return 0;
		}
	}
	return fail_at(c, ev->start_mark, "%s \"%s\" is not one of: %s", what,
		       quote(ev, q, sizeof(q)), list);
}

static int read_action(struct pctx *c, const char *what, __u8 *action)
{
	static const __u8 vals[] = { BG_ACTION_DENY, BG_ACTION_ALERT, BG_ACTION_CONFINE };
	const char *words[ARRAY_SIZE(vals)];
	size_t i, idx = 0;
	int ret;

	for (i = 0; i < ARRAY_SIZE(vals); i++)
		words[i] = bg_action_str(vals[i]);
	ret = read_choice(c, what, words, ARRAY_SIZE(vals), &idx);
	if (!ret)
		*action = vals[idx];
	return ret;
}

static int read_mode(struct pctx *c, __u8 *mode)
{
	static const __u8 vals[] = { BG_MODE_ENFORCE, BG_MODE_AUDIT };
	const char *words[ARRAY_SIZE(vals)];
	size_t i, idx = 0;
	int ret;

	for (i = 0; i < ARRAY_SIZE(vals); i++)
		words[i] = bg_mode_str(vals[i]);
	ret = read_choice(c, "mode", words, ARRAY_SIZE(vals), &idx);
	if (!ret)
		*mode = vals[idx];
	return ret;
}

static int read_proto(struct pctx *c, __u8 *protos)
{
	static const __u8 vals[] = {
		BG_PROTO_BIT(BG_PROTO_TCP),
		BG_PROTO_BIT(BG_PROTO_UDP),
		BG_PROTO_BIT(BG_PROTO_TCP) | BG_PROTO_BIT(BG_PROTO_UDP),
	};
	const char *words[] = { bg_proto_str(BG_PROTO_TCP), bg_proto_str(BG_PROTO_UDP), "both" };
	size_t idx = 0;
	int ret;

	ret = read_choice(c, "proto", words, ARRAY_SIZE(words), &idx);
	if (!ret)
		*protos = vals[idx];
	return ret;
}

/* -------------------------------------------------------------------------------------------- */
/* CIDRs */

/*
 * Parse "addr/len" or a bare "addr" (a host: /32 or /128). Host bits set are refused rather than
 * cleared: "10.1.2.3/8" is far more often a typo for /24 or /32 than a wish for all of 10/8.
 * IPv4-mapped IPv6 networks (::ffff:a.b.c.d/96+n) are stored as the IPv4 network they denote, so
 * that both spellings compile to the same trie key. On error, why says what is wrong.
 */
static int parse_cidr(const char *s, size_t n, struct bg_cidr *out, char *why, size_t whylen)
{
	static const __u8 v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	char text[INET6_ADDRSTRLEN + 8], fixed[BG_CIDR_STRLEN];
	struct bg_cidr cidr = { 0 };
	const char *slash;
	__u32 plen, max, i;
	int v6, ret;

	if (n >= sizeof(text) || memchr(s, '\0', n)) {
		snprintf(why, whylen, "not an IPv4 or IPv6 network");
		return -EINVAL;
	}
	memcpy(text, s, n);
	text[n] = '\0';
	slash = strchr(text, '/');
	v6 = strchr(text, ':') != NULL;
	max = v6 ? 128 : 32;
	plen = max;
	if (slash) {
		ret = parse_dec(slash + 1, strlen(slash + 1), &plen);
		if (ret == -EINVAL) {
			snprintf(why, whylen, "the prefix length is not a decimal number");
			return -EINVAL;
		}
		if (ret || plen > max) {
			snprintf(why, whylen, "prefix length /%s is too long for %s (at most %u)",
				 slash + 1, v6 ? "IPv6" : "IPv4", max);
			return -EINVAL;
		}
		text[slash - text] = '\0';
	}
	if (inet_pton(v6 ? AF_INET6 : AF_INET, text, cidr.addr) != 1) {
		/* Repeat the text only when it cannot break the one-line message (found by fuzzing). */
		for (i = 0; text[i] && (unsigned char)text[i] >= 0x20 && text[i] != 0x7f; i++)
			;
		if (text[i])
			snprintf(why, whylen, "not an %s address", v6 ? "IPv6" : "IPv4");
		else
			snprintf(why, whylen, "\"%s\" is not an %s address", text,
				 v6 ? "IPv6" : "IPv4");
		return -EINVAL;
	}
	cidr.family = v6 ? BG_AF_INET6 : BG_AF_INET;
	cidr.prefixlen = (__u8)plen;

	for (i = 0; i < max / 8; i++) {
		__u32 keep = plen >= (i + 1) * 8 ? 8 : plen > i * 8 ? plen - i * 8 : 0;
		__u8 mask = (__u8)(0xff00u >> keep);

		if (cidr.addr[i] & ~mask) {
			struct bg_cidr net = cidr;
			__u32 j;

			for (j = i; j < max / 8; j++) {
				keep = plen >= (j + 1) * 8 ? 8 : plen > j * 8 ? plen - j * 8 : 0;
				net.addr[j] &= (__u8)(0xff00u >> keep);
			}
			snprintf(why, whylen, "host bits set, did you mean %s?",
				 bg_cidr_str(&net, fixed, sizeof(fixed)));
			return -EINVAL;
		}
	}

	if (v6 && plen >= 96 && !memcmp(cidr.addr, v4mapped, sizeof(v4mapped))) {
		memmove(cidr.addr, cidr.addr + 12, 4);
		memset(cidr.addr + 4, 0, 12);
		cidr.family = BG_AF_INET;
		cidr.prefixlen = (__u8)(plen - 96);
	}
	*out = cidr;
	return 0;
}

struct cidr_entry {
	struct bg_cidr cidr;
	yaml_mark_t mark;
	size_t idx; /* position in the list, to report the later of two duplicates */
};

static int cidr_entry_cmp(const void *a, const void *b)
{
	const struct cidr_entry *x = a, *y = b;
	int d = memcmp(&x->cidr, &y->cidr, sizeof(x->cidr));

	if (d)
		return d;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * Refuse a network listed twice in one list. Sorting keeps a list of thousands of networks
 * cheap; of all duplicates, the one that comes first in the file is reported.
 */
static int check_cidr_dups(struct pctx *c, const char *what, struct cidr_entry *e, size_t n)
{
	const struct cidr_entry *dup = NULL, *first = NULL;
	char text[BG_CIDR_STRLEN];
	size_t i;

	qsort(e, n, sizeof(*e), cidr_entry_cmp);
	for (i = 1; i < n; i++) {
		if (memcmp(&e[i].cidr, &e[i - 1].cidr, sizeof(e[i].cidr)))
			continue;
		/* The first of a run of equal networks is the original; the next is its repeat. */
		if (i >= 2 && !memcmp(&e[i].cidr, &e[i - 2].cidr, sizeof(e[i].cidr)))
			continue;
		if (!dup || e[i].idx < dup->idx) {
			dup = &e[i];
			first = &e[i - 1];
		}
	}
	if (!dup)
		return 0;
	return fail_at(c, dup->mark, "%s: duplicate CIDR %s (first at line %zu)", what,
		       bg_cidr_str(&dup->cidr, text, sizeof(text)), first->mark.line + 1);
}

/* The current event starts a sequence of CIDRs. */
static int read_cidr_list(struct pctx *c, const char *what, struct bg_cidr **cidrs, size_t *n_cidrs)
{
	yaml_mark_t start = c->ev.start_mark;
	struct cidr_entry *e = NULL, *grown;
	struct bg_cidr *list = NULL;
	char q[QUOTE_BUF], why[160];
	size_t n = 0, cap = 0, i;
	int ret;

	set_role(c, "CIDR", NULL, 0);
	for (;;) {
		ret = next(c);
		if (ret)
			goto out_free_entries;
		if (c->ev.type == YAML_SEQUENCE_END_EVENT)
			break;
		if (!is_scalar(&c->ev)) {
			ret = fail_at(c, c->ev.start_mark, "%s: a CIDR must be a string, not %s",
				      what, kind_of(&c->ev));
			goto out_free_entries;
		}
		if (c->n_cidrs >= BG_CIDR_MAX_ENTRIES) {
			ret = fail_at(c, c->ev.start_mark,
				      "too many CIDRs in one policy (at most %u in all)",
				      BG_CIDR_MAX_ENTRIES);
			goto out_free_entries;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			grown = reallocarray(e, cap, sizeof(*e));
			if (!grown) {
				ret = fail_nomem(c->err);
				goto out_free_entries;
			}
			e = grown;
		}
		if (parse_cidr((const char *)c->ev.data.scalar.value, c->ev.data.scalar.length,
			       &e[n].cidr, why, sizeof(why))) {
			ret = fail_at(c, c->ev.start_mark, "bad CIDR \"%s\": %s",
				      quote(&c->ev, q, sizeof(q)), why);
			goto out_free_entries;
		}
		e[n].mark = c->ev.start_mark;
		e[n].idx = n;
		n++;
		c->n_cidrs++;
	}
	ret = peek(c);
	if (ret)
		goto out_free_entries;
	if (!n) {
		ret = fail_at(c, start,
			      "%s: empty CIDR list (list at least one network, or use loopback)",
			      what);
		goto out_free_entries;
	}
	list = calloc(n, sizeof(*list));
	if (!list) {
		ret = fail_nomem(c->err);
		goto out_free_entries;
	}
	for (i = 0; i < n; i++)
		list[i] = e[i].cidr;
	ret = check_cidr_dups(c, what, e, n);
	if (ret)
		goto out_free_list;
	free(e);
	*cidrs = list;
	*n_cidrs = n;
	return 0;

out_free_list:
	free(list);
out_free_entries:
	free(e);
	return ret;
}

/*
 * `expose` and `unlisted`: public | loopback | none | a sequence of CIDRs. *at is set to where
 * the value starts.
 */
static int read_exposure(struct pctx *c, const char *what, __u8 *expose, struct bg_cidr **cidrs,
			 size_t *n_cidrs, yaml_mark_t *at)
{
	static const __u8 words[] = { BG_EXPOSE_PUBLIC, BG_EXPOSE_LOOPBACK, BG_EXPOSE_NONE };
	const yaml_event_t *ev = &c->ev;
	char q[QUOTE_BUF], why[160];
	struct bg_cidr probe;
	size_t i;
	int ret;

	ret = next(c);
	if (ret)
		return ret;
	*at = ev->start_mark;
	if (ev->type == YAML_SEQUENCE_START_EVENT) {
		ret = read_cidr_list(c, what, cidrs, n_cidrs);
		if (!ret)
			*expose = BG_EXPOSE_CIDR;
		return ret;
	}
	if (!is_scalar(ev) || is_null(ev))
		return fail_at(c, ev->start_mark,
			       "%s must be public, loopback, none or a list of CIDRs, not %s", what,
			       kind_of(ev));
	for (i = 0; i < ARRAY_SIZE(words); i++) {
		if (scalar_is(ev, bg_expose_str(words[i]))) {
			*expose = words[i];
			return 0;
		}
	}
	if (!parse_cidr((const char *)ev->data.scalar.value, ev->data.scalar.length, &probe, why,
			sizeof(why)))
		return fail_at(c, ev->start_mark,
			       "%s: CIDRs are given as a list, e.g. %s: [\"%s\"]", what, what,
			       quote(ev, q, sizeof(q)));
	return fail_at(c, ev->start_mark,
		       "%s \"%s\" is not one of: public, loopback, none, or a list of CIDRs", what,
		       quote(ev, q, sizeof(q)));
}

/* -------------------------------------------------------------------------------------------- */
/* Rules */

enum {
	RK_PORT,
	RK_PORTS,
	RK_PROTO,
	RK_EXPOSE,
	RK_ACTION,
	RK_SERVICE,
	RK_SOFTWARE,
	RK_HINT,
	RK_NOTE,
	RK_COUNT,
};

static const char *const rule_keys[RK_COUNT] = {
	[RK_PORT] = "port",	    [RK_PORTS] = "ports",   [RK_PROTO] = "proto",
	[RK_EXPOSE] = "expose",	    [RK_ACTION] = "action", [RK_SERVICE] = "service",
	[RK_SOFTWARE] = "software", [RK_HINT] = "hint",	    [RK_NOTE] = "note",
};

/*
 * Two rules must never claim one (proto, port): which one wins would depend on their order, and
 * a loopback rule silently overridden by a later public one is exactly the exposure this tool
 * exists to prevent. The owner table makes the check linear in the number of ports claimed.
 */
static int check_overlap(struct pctx *c, size_t idx, yaml_mark_t at)
{
	const struct bg_policy_rule *r = &c->pol->rules[idx];
	__u32 proto, port;
	__u16 prev;

	if (!c->owner) {
		c->owner = calloc(BG_NR_PROTOS * BG_NR_PORTS, sizeof(*c->owner));
		if (!c->owner)
			return fail_nomem(c->err);
	}
	for (proto = 0; proto < BG_NR_PROTOS; proto++) {
		if (!(r->protos & BG_PROTO_BIT(proto)))
			continue;
		for (port = r->port_lo; port <= r->port_hi; port++) {
			prev = c->owner[BG_RULE_KEY(proto, port)];
			if (prev)
				return fail_at(c, at, "overlaps rule at line %u (port %u/%s)",
					       c->pol->rules[prev - 1].line, port,
					       bg_proto_str((__u8)proto));
			c->owner[BG_RULE_KEY(proto, port)] = (__u16)(idx + 1);
		}
	}
	return 0;
}

/* Make room for one more (zeroed) rule; bg_policy_free() frees whatever it holds. */
static int add_rule(struct pctx *c, yaml_mark_t at, struct bg_policy_rule **out)
{
	struct bg_policy *p = c->pol;
	struct bg_policy_rule *grown;
	size_t cap;

	if (p->n_rules >= BG_POLICY_MAX_RULES)
		return fail_at(c, at, "too many rules (at most %u)", BG_POLICY_MAX_RULES);
	if (p->n_rules == c->rules_cap) {
		cap = c->rules_cap ? c->rules_cap * 2 : 32;
		grown = reallocarray(p->rules, cap, sizeof(*grown));
		if (!grown)
			return fail_nomem(c->err);
		p->rules = grown;
		c->rules_cap = cap;
	}
	*out = &p->rules[p->n_rules++];
	memset(*out, 0, sizeof(**out));
	return 0;
}

/*
 * A rule ended without a required key, and what ended it is that key: it was meant for the rule
 * but is indented less than the rule's other keys, which in YAML ends the rule (at column 0 it
 * even makes valid YAML, a top-level key). Say that, at the key, rather than "rule has no
 * expose" at a rule whose expose is right below it. The event after the rule's end starts where
 * the token that ended it does.
 */
static int fail_missing(struct pctx *c, yaml_mark_t at, const char *key, const char *key2,
			const char *msg)
{
	yaml_mark_t m = c->have_la ? c->la.start_mark : at;

	if (m.line > at.line && m.column < at.column) {
		if (key2 && bg_yaml_key_at(c->buf, c->len, m, key2))
			key = key2;
		if (bg_yaml_key_at(c->buf, c->len, m, key))
			return fail_at(
				c, m,
				"bad indentation: \"%s\" is indented %zu space%s, but the other "
				"keys of the rule at line %zu are indented %zu space%s: align it "
				"with them",
				key, m.column, m.column == 1 ? "" : "s", at.line + 1, at.column,
				at.column == 1 ? "" : "s");
	}
	return fail_at(c, at, "%s", msg);
}

/* The current event starts a rule's mapping. */
static int read_rule(struct pctx *c)
{
	const struct keyset ks = { rule_keys, RK_COUNT, "in rule", NULL, 0, NULL };
	yaml_mark_t at = c->ev.start_mark, firsts[RK_COUNT], value_at;
	struct bg_policy_rule *r = NULL;
	__u32 seen = 0, v = 0;
	int k, ret;

	ret = add_rule(c, at, &r);
	if (ret)
		return ret;
	r->line = (unsigned int)at.line + 1;
	r->col = (unsigned int)at.column + 1;
	r->protos = BG_PROTO_BIT(BG_PROTO_TCP);
	r->scope = c->cur_scope;
	set_role(c, "rule", rule_keys, RK_COUNT);

	for (;;) {
		ret = next(c);
		if (ret)
			return ret;
		if (c->ev.type == YAML_MAPPING_END_EVENT)
			break;
		k = read_key(c, &ks, &seen, firsts);
		if (k < 0)
			return k;
		if ((k == RK_PORT && (seen & (1u << RK_PORTS))) ||
		    (k == RK_PORTS && (seen & (1u << RK_PORT))))
			return fail_at(c, c->ev.start_mark,
				       "a rule has either \"port\" or \"ports\", not both");
		switch (k) {
		case RK_PORT:
			ret = read_port(c, &v);
			if (!ret)
				r->port_lo = r->port_hi = v;
			break;
		case RK_PORTS:
			ret = read_port_range(c, &r->port_lo, &r->port_hi);
			break;
		case RK_PROTO:
			ret = read_proto(c, &r->protos);
			break;
		case RK_EXPOSE:
			ret = read_exposure(c, "expose", &r->expose, &r->cidrs, &r->n_cidrs,
					    &value_at);
			break;
		case RK_ACTION:
			ret = read_action(c, "action", &r->action);
			break;
		case RK_SERVICE:
			ret = read_string(c, "service", &r->service);
			break;
		case RK_SOFTWARE:
			ret = read_string(c, "software", &r->software);
			break;
		case RK_HINT:
			ret = read_string(c, "hint", &r->hint);
			break;
		case RK_NOTE:
			ret = read_string(c, "note", &r->note);
			break;
		}
		if (ret)
			return ret;
	}
	ret = peek(c);
	if (ret)
		return ret;
	if (!(seen & ((1u << RK_PORT) | (1u << RK_PORTS))))
		return fail_missing(c, at, "port", "ports",
				    "rule has no port (write port: N or ports: \"LO-HI\")");
	if (!(seen & (1u << RK_EXPOSE)))
		return fail_missing(
			c, at, "expose", NULL,
			"rule has no expose (public, loopback, none or a list of CIDRs)");
	return check_overlap(c, c->pol->n_rules - 1, at);
}

/*
 * A sequence whose every item is a mapping read by item(): the value of `rules:` and of
 * `scopes:`. what names the list, shape the item ("a rule must be a mapping (SHAPE), not ...").
 * The position of the list goes to *at when at is not NULL.
 */
static int read_mappings(struct pctx *c, const char *what, const char *item_name, const char *shape,
			 int (*item)(struct pctx *), yaml_mark_t *at)
{
	int ret;

	ret = next(c);
	if (ret)
		return ret;
	if (c->ev.type != YAML_SEQUENCE_START_EVENT)
		return fail_at(c, c->ev.start_mark, "%s must be a sequence of %ss, not %s", what,
			       item_name, kind_of(&c->ev));
	set_role(c, what, NULL, 0);
	if (at)
		*at = c->ev.start_mark;
	for (;;) {
		ret = next(c);
		if (ret)
			return ret;
		if (c->ev.type == YAML_SEQUENCE_END_EVENT)
			return 0;
		if (c->ev.type != YAML_MAPPING_START_EVENT)
			return fail_at(c, c->ev.start_mark, "a %s must be a mapping (%s), not %s",
				       item_name, shape, kind_of(&c->ev));
		ret = item(c);
		if (ret)
			return ret;
	}
}

/* The value of `rules:`. Returns the position of the list in *at, for later checks. */
static int read_rules(struct pctx *c, yaml_mark_t *at)
{
	/* Overlaps are between rules of one list: each scope judges its own sockets. */
	if (c->owner)
		memset(c->owner, 0, BG_NR_PROTOS * BG_NR_PORTS * sizeof(*c->owner));
	return read_mappings(c, "rules", "rule", "port: ..., expose: ...", read_rule, at);
}

/* -------------------------------------------------------------------------------------------- */
/* Scopes */

enum { MK_CGROUP, MK_NAMESPACE, MK_POD, MK_COUNT };

static const char *const match_keys[MK_COUNT] = {
	[MK_CGROUP] = "cgroup",
	[MK_NAMESPACE] = "namespace",
	[MK_POD] = "pod",
};

enum {
	SK_NAME,
	SK_MATCH,
	SK_RULES,
	SK_DEFAULT_ACTION,
	SK_UNLISTED,
	SK_UNLISTED_ACTION,
	SK_COUNT,
};

static const char *const scope_keys[SK_COUNT] = {
	[SK_NAME] = "name",	    [SK_MATCH] = "match",
	[SK_RULES] = "rules",	    [SK_DEFAULT_ACTION] = "default_action",
	[SK_UNLISTED] = "unlisted", [SK_UNLISTED_ACTION] = "unlisted_action",
};

/* A glob is matched with fnmatch(); this only refuses what cannot be meant as one. */
static int read_glob(struct pctx *c, const char *what, char **out)
{
	int ret = read_string(c, what, out);

	if (!ret && (!*out || !**out))
		return fail_at(c, c->ev.start_mark, "%s is empty: a glob must match something",
			       what);
	if (!ret && strpbrk(*out, "\t\n"))
		return fail_at(c, c->ev.start_mark, "%s holds a %s", what,
			       strchr(*out, '\n') ? "line break" : "tab");
	return ret;
}

/* The value of a scope's `match:`: which cgroups it takes. */
static int read_match(struct pctx *c, struct bg_policy_scope *sc)
{
	const struct keyset ks = { match_keys, MK_COUNT, "in match", NULL, 0, NULL };
	yaml_mark_t at, firsts[MK_COUNT];
	__u32 seen = 0;
	int k, ret;

	ret = next(c);
	if (ret)
		return ret;
	if (c->ev.type != YAML_MAPPING_START_EVENT)
		return fail_at(c, c->ev.start_mark,
			       "match must be a mapping (cgroup:, namespace:, pod:), not %s",
			       kind_of(&c->ev));
	at = c->ev.start_mark;
	set_role(c, "match", match_keys, MK_COUNT);
	for (;;) {
		ret = next(c);
		if (ret)
			return ret;
		if (c->ev.type == YAML_MAPPING_END_EVENT)
			break;
		k = read_key(c, &ks, &seen, firsts);
		if (k < 0)
			return k;
		switch (k) {
		case MK_CGROUP:
			ret = read_glob(c, "match.cgroup", &sc->match_cgroup);
			break;
		case MK_NAMESPACE:
			ret = read_glob(c, "match.namespace", &sc->match_namespace);
			break;
		case MK_POD:
			ret = read_glob(c, "match.pod", &sc->match_pod);
			break;
		}
		if (ret)
			return ret;
	}
	if (!seen)
		return fail_at(
			c, at,
			"match is empty: a scope names the cgroup, namespace or pod it is for "
			"(it would take every socket)");
	return 0;
}

/* The current event starts one scope's mapping. */
static int read_scope(struct pctx *c)
{
	const struct keyset ks = { scope_keys, SK_COUNT, "in scope",
				   rule_keys,  RK_COUNT, "a rule key" };
	yaml_mark_t at = c->ev.start_mark, firsts[SK_COUNT], rules_at = at, unlisted_at = at;
	struct bg_policy *p = c->pol;
	struct bg_policy_scope *sc, *grown;
	__u32 seen = 0;
	size_t i;
	int k, ret;

	if (p->n_scopes >= BG_POLICY_MAX_SCOPES)
		return fail_at(c, at, "too many scopes (at most %u)", BG_POLICY_MAX_SCOPES);
	grown = reallocarray(p->scopes, p->n_scopes + 1, sizeof(*grown));
	if (!grown)
		return fail_nomem(c->err);
	p->scopes = grown;
	sc = &p->scopes[p->n_scopes++];
	memset(sc, 0, sizeof(*sc));
	sc->line = (unsigned int)at.line + 1;
	sc->col = (unsigned int)at.column + 1;
	c->cur_scope = (__u16)p->n_scopes;
	set_role(c, "scope", scope_keys, SK_COUNT);
	for (;;) {
		ret = next(c);
		if (ret)
			return ret;
		if (c->ev.type == YAML_MAPPING_END_EVENT)
			break;
		k = read_key(c, &ks, &seen, firsts);
		if (k < 0)
			return k;
		sc = &p->scopes[c->cur_scope - 1];
		switch (k) {
		case SK_NAME:
			ret = read_glob(c, "scope name", &sc->name);
			break;
		case SK_MATCH:
			ret = read_match(c, sc);
			break;
		case SK_RULES:
			sc->first_rule = p->n_rules;
			ret = read_rules(c, &rules_at);
			sc = &p->scopes[c->cur_scope - 1];
			sc->n_rules = p->n_rules - sc->first_rule;
			break;
		case SK_DEFAULT_ACTION:
			ret = read_action(c, "default_action", &sc->default_action);
			break;
		case SK_UNLISTED:
			ret = read_exposure(c, "unlisted", &sc->unlisted_expose,
					    &sc->unlisted_cidrs, &sc->n_unlisted_cidrs,
					    &unlisted_at);
			break;
		case SK_UNLISTED_ACTION:
			ret = read_action(c, "unlisted_action", &sc->unlisted_action);
			break;
		}
		if (ret)
			return ret;
	}
	ret = peek(c);
	if (ret)
		return ret;
	sc = &p->scopes[c->cur_scope - 1];
	if (!(seen & (1u << SK_NAME)))
		return fail_at(c, at, "scope has no name (write name: ...)");
	if (!(seen & (1u << SK_MATCH)))
		return fail_at(c, at, "scope %s has no match (cgroup:, namespace:, pod:)",
			       sc->name);
	if (!(seen & (1u << SK_RULES)))
		return fail_at(c, at, "scope %s has no rules (write rules: [] for none)", sc->name);
	for (i = 0; i + 1 < p->n_scopes; i++)
		if (!strcmp(p->scopes[i].name, sc->name))
			return fail_at(c, at, "scope name \"%s\" is used twice (first at line %u)",
				       sc->name, p->scopes[i].line);
	c->cur_scope = 0;
	return 0;
}

static int read_scopes(struct pctx *c)
{
	return read_mappings(c, "scopes", "scope", "name:, match:, rules:", read_scope, NULL);
}

/* -------------------------------------------------------------------------------------------- */
/* Top level */

enum {
	TK_VERSION,
	TK_NAME,
	TK_MODE,
	TK_DEFAULT_ACTION,
	TK_UNLISTED,
	TK_UNLISTED_ACTION,
	TK_RULES,
	TK_SCOPES,
	TK_COUNT,
};

static const char *const top_keys[TK_COUNT] = {
	[TK_VERSION] = "version",   [TK_NAME] = "name",
	[TK_MODE] = "mode",	    [TK_DEFAULT_ACTION] = "default_action",
	[TK_UNLISTED] = "unlisted", [TK_UNLISTED_ACTION] = "unlisted_action",
	[TK_RULES] = "rules",	    [TK_SCOPES] = "scopes",
};

/* -------------------------------------------------------------------------------------------- */
/* Warnings: valid, loaded, and probably not what the author meant */

__attribute__((format(printf, 3, 4))) static int warn_at(struct pctx *c, yaml_mark_t m,
							 const char *fmt, ...)
{
	struct bg_policy *p = c->pol;
	struct bg_policy_warning *grown, *w;
	va_list ap;

	grown = reallocarray(p->warnings, p->n_warnings + 1, sizeof(*grown));
	if (!grown)
		return fail_nomem(c->err);
	p->warnings = grown;
	w = &p->warnings[p->n_warnings++];
	w->line = (unsigned int)m.line + 1;
	w->col = (unsigned int)m.column + 1;
	va_start(ap, fmt);
	vsnprintf(w->msg, sizeof(w->msg), fmt, ap);
	va_end(ap);
	return 0;
}

/*
 * `unlisted` other than public judges every port that no rule lists, and those are mostly not
 * servers: a client that binds a local address or port before it connects is judged too. That
 * is easy to miss when writing a policy about servers, so say what it will do.
 */
static int warn_unlisted(struct pctx *c, yaml_mark_t at)
{
	const struct bg_policy *p = c->pol;
	const char *who = "0.0.0.0 or another non-loopback address before connecting";
	const char *fix = "list each port other hosts must reach with expose: public";
	const char *what, *fate;

	if (p->mode == BG_MODE_AUDIT || p->unlisted_action == BG_ACTION_ALERT)
		fate = "is reported as a violation";
	else if (p->unlisted_action == BG_ACTION_CONFINE && p->unlisted_expose != BG_EXPOSE_NONE)
		fate = "is confined to loopback (a wildcard bind) or denied (EPERM)";
	else
		fate = "is denied (EPERM)";
	switch (p->unlisted_expose) {
	case BG_EXPOSE_LOOPBACK:
		what = "unlisted: loopback applies to clients too: on every port no rule lists, a "
		       "bind() outside loopback";
		break;
	case BG_EXPOSE_NONE:
		what = "unlisted: none applies to clients too: on every port no rule lists, any "
		       "bind(), even on loopback,";
		who = "before connecting";
		fix = "list each port in use with its exposure";
		break;
	default:
		what = "unlisted: [CIDRs] applies to clients too: on every port no rule lists, a "
		       "bind() outside loopback and those networks";
		break;
	}
	return warn_at(
		c, at,
		"%s %s: every server you did not list, and every client that binds %s to a "
		"fixed local port (a bind to port 0, an ephemeral port, is not judged by it); "
		"%s, or keep unlisted: public",
		what, fate, who, fix);
}

/* The current event starts the top-level mapping. */
static int read_top(struct pctx *c)
{
	const struct keyset ks = { top_keys,  TK_COUNT, "at top level",
				   rule_keys, RK_COUNT, "a rule key" };
	yaml_mark_t at = c->ev.start_mark, firsts[TK_COUNT], rules_at = at, unlisted_at = at;
	struct bg_policy *p = c->pol;
	__u32 seen = 0, version = 0;
	size_t i;
	int k, ret;

	for (;;) {
		ret = next(c);
		if (ret)
			return ret;
		if (c->ev.type == YAML_MAPPING_END_EVENT)
			break;
		k = read_key(c, &ks, &seen, firsts);
		if (k < 0)
			return k;
		switch (k) {
		case TK_VERSION:
			ret = read_uint(c, "version", 0xffffffffu, &version);
			if (!ret && version != 1)
				ret = fail_at(c, c->ev.start_mark,
					      "version %u is not supported (this bindguard reads "
					      "version 1)",
					      version);
			break;
		case TK_NAME:
			ret = read_string(c, "name", &p->name);
			break;
		case TK_MODE:
			ret = read_mode(c, &p->mode);
			break;
		case TK_DEFAULT_ACTION:
			ret = read_action(c, "default_action", &p->default_action);
			break;
		case TK_UNLISTED:
			ret = read_exposure(c, "unlisted", &p->unlisted_expose, &p->unlisted_cidrs,
					    &p->n_unlisted_cidrs, &unlisted_at);
			break;
		case TK_UNLISTED_ACTION:
			ret = read_action(c, "unlisted_action", &p->unlisted_action);
			break;
		case TK_RULES:
			c->cur_scope = 0;
			ret = read_rules(c, &rules_at);
			break;
		case TK_SCOPES:
			ret = read_scopes(c);
			break;
		}
		if (ret)
			return ret;
	}
	ret = peek(c);
	if (ret)
		return ret;
	if (!(seen & (1u << TK_VERSION)))
		return fail_at(c, at, "missing required key \"version\" (write version: 1)");
	if (!(seen & (1u << TK_RULES)))
		return fail_at(c, at, "missing required key \"rules\"");
	/*
	 * No rules and every port public is a policy that does nothing; it is far more likely a
	 * mistake (the wrong file) than a wish, and loading it would look like protection.
	 */
	if (!p->n_rules && p->unlisted_expose == BG_EXPOSE_PUBLIC)
		return fail_at(
			c, rules_at,
			"no rules, and unlisted ports are public: this policy enforces nothing");

	if (!p->default_action)
		p->default_action = BG_ACTION_DENY;
	if (!p->unlisted_action)
		p->unlisted_action = p->default_action;
	/* A scope takes the host's defaults for what it does not say itself. */
	for (i = 0; i < p->n_scopes; i++) {
		struct bg_policy_scope *sc = &p->scopes[i];

		if (!sc->default_action)
			sc->default_action = p->default_action;
		if (!sc->unlisted_expose) {
			sc->unlisted_expose = p->unlisted_expose;
			if (p->n_unlisted_cidrs) {
				sc->unlisted_cidrs =
					calloc(p->n_unlisted_cidrs, sizeof(*sc->unlisted_cidrs));
				if (!sc->unlisted_cidrs)
					return fail_nomem(c->err);
				memcpy(sc->unlisted_cidrs, p->unlisted_cidrs,
				       p->n_unlisted_cidrs * sizeof(*sc->unlisted_cidrs));
				sc->n_unlisted_cidrs = p->n_unlisted_cidrs;
			}
			if (!sc->unlisted_action)
				sc->unlisted_action = p->unlisted_action;
		}
		if (!sc->unlisted_action)
			sc->unlisted_action = sc->default_action;
	}
	for (i = 0; i < p->n_rules; i++)
		if (!p->rules[i].action)
			p->rules[i].action =
				p->rules[i].scope ?
					p->scopes[p->rules[i].scope - 1].default_action :
					p->default_action;
	if (p->unlisted_expose != BG_EXPOSE_PUBLIC)
		return warn_unlisted(c, unlisted_at);
	return 0;
}

static int read_stream(struct pctx *c)
{
	yaml_mark_t start = { 0 };
	int ret;

	ret = next(c); /* STREAM-START */
	if (ret)
		return ret;
	ret = next(c);
	if (ret)
		return ret;
	if (c->ev.type == YAML_STREAM_END_EVENT)
		return fail_at(c, start, "empty policy (the file holds no YAML document)");
	ret = next(c); /* past DOCUMENT-START, to the root node */
	if (ret)
		return ret;
	if (is_null(&c->ev))
		return fail_at(c, c->ev.start_mark, "empty policy (the document is empty)");
	if (c->ev.type != YAML_MAPPING_START_EVENT)
		return fail_at(c, c->ev.start_mark,
			       "a policy is a mapping (version: 1, rules: ...), not %s",
			       kind_of(&c->ev));
	set_role(c, "top level", top_keys, TK_COUNT);
	ret = read_top(c);
	if (ret)
		return ret;
	ret = next(c); /* DOCUMENT-END */
	if (ret)
		return ret;
	ret = next(c);
	if (ret)
		return ret;
	if (c->ev.type != YAML_STREAM_END_EVENT)
		return fail_at(c, c->ev.start_mark,
			       "a second YAML document: a policy file holds exactly one");
	return 0;
}

/* -------------------------------------------------------------------------------------------- */
/* API */

void bg_policy_free(struct bg_policy *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n_rules; i++) {
		free(p->rules[i].service);
		free(p->rules[i].software);
		free(p->rules[i].hint);
		free(p->rules[i].note);
		free(p->rules[i].cidrs);
	}
	free(p->rules);
	for (i = 0; i < p->n_scopes; i++) {
		free(p->scopes[i].name);
		free(p->scopes[i].match_cgroup);
		free(p->scopes[i].match_namespace);
		free(p->scopes[i].match_pod);
		free(p->scopes[i].unlisted_cidrs);
	}
	free(p->scopes);
	free(p->warnings);
	free(p->unlisted_cidrs);
	free(p->name);
	free(p->source);
	free(p->text);
	free(p);
}

int bg_policy_parse_buffer(const char *name, const char *buf, size_t len, struct bg_policy **out,
			   struct bg_policy_error *err)
{
	struct bg_policy_error scratch;
	struct pctx c = { 0 };
	int ret;

	if (!err)
		err = &scratch;
	if (!name)
		name = "<buffer>";
	err_init(err, name);
	if (!out || (!buf && len)) {
		snprintf(err->msg, sizeof(err->msg), "invalid arguments");
		return -EINVAL;
	}
	if (len > BG_POLICY_MAX_BYTES) {
		snprintf(err->msg, sizeof(err->msg), "policy too large (%zu bytes, at most %u)",
			 len, BG_POLICY_MAX_BYTES);
		return -EINVAL;
	}
	c.buf = buf ? buf : "";
	c.len = len;
	/*
	 * libyaml skips a byte-order mark only when it guesses the encoding itself, and the guess
	 * would also accept UTF-16. Dropping a UTF-8 BOM here keeps columns as an editor shows
	 * them.
	 */
	if (len >= 3 && !memcmp(c.buf, "\xef\xbb\xbf", 3)) {
		c.buf += 3;
		c.len -= 3;
	}
	c.err = err;
	c.pol = calloc(1, sizeof(*c.pol));
	if (!c.pol)
		return fail_nomem(err);
	c.pol->source = strdup(name);
	if (!c.pol->source) {
		ret = fail_nomem(err);
		goto out_free_policy;
	}
	c.pol->mode = BG_MODE_ENFORCE;
	c.pol->unlisted_expose = BG_EXPOSE_PUBLIC;

	if (!yaml_parser_initialize(&c.parser)) {
		ret = fail_nomem(err);
		goto out_free_policy;
	}
	/* UTF-8 only: a BOM-less UTF-16 guess would make columns mean something else. */
	yaml_parser_set_encoding(&c.parser, YAML_UTF8_ENCODING);
	yaml_parser_set_input_string(&c.parser, (const unsigned char *)c.buf, c.len);
	ret = read_stream(&c);

	if (c.have_ev)
		yaml_event_delete(&c.ev);
	if (c.have_la)
		yaml_event_delete(&c.la);
	yaml_parser_delete(&c.parser);
	free(c.owner);
	if (ret)
		goto out_free_policy;
	/* Kept whole: a pinned agent stores it, so its successor can name its rules. */
	c.pol->text = malloc(len ? len : 1);
	if (!c.pol->text) {
		ret = fail_nomem(err);
		goto out_free_policy;
	}
	memcpy(c.pol->text, buf, len);
	c.pol->text_len = len;
	*out = c.pol;
	return 0;

out_free_policy:
	bg_policy_free(c.pol);
	return ret;
}

/* Read a whole file, up to one byte past the cap so that "too large" can be told apart. */
static int read_all(int fd, char **data, size_t *len)
{
	size_t cap = 64 << 10, n = 0;
	char *buf = NULL, *grown;
	struct stat st;
	ssize_t got;

	if (!fstat(fd, &st) && S_ISREG(st.st_mode) && st.st_size >= 0)
		cap = (size_t)st.st_size < BG_POLICY_MAX_BYTES ? (size_t)st.st_size + 1 :
								 BG_POLICY_MAX_BYTES + 1;
	for (;;) {
		if (n == cap || !buf) {
			if (buf)
				cap = cap * 2 > BG_POLICY_MAX_BYTES + 1 ? BG_POLICY_MAX_BYTES + 1 :
									  cap * 2;
			grown = realloc(buf, cap);
			if (!grown) {
				free(buf);
				return -ENOMEM;
			}
			buf = grown;
		}
		got = read(fd, buf + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			free(buf);
			return -errno;
		}
		if (!got)
			break;
		n += (size_t)got;
		if (n > BG_POLICY_MAX_BYTES)
			break;
	}
	*data = buf;
	*len = n;
	return 0;
}

int bg_policy_parse_file(const char *path, struct bg_policy **out, struct bg_policy_error *err)
{
	struct bg_policy_error scratch;
	char *data = NULL;
	struct stat st;
	size_t len = 0;
	int fd, ret;

	if (!err)
		err = &scratch;
	err_init(err, path ? path : "<null>");
	if (!path || !out) {
		snprintf(err->msg, sizeof(err->msg), "invalid arguments");
		return -EINVAL;
	}
	/*
	 * O_NONBLOCK: opening a FIFO must not wait for a writer (a policy path that is a FIFO hung
	 * check and run, and a SIGHUP reload blocked the agent's loop). Only a regular file is a
	 * policy: a FIFO, a device or a directory is refused before anything is read from it.
	 */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		snprintf(err->msg, sizeof(err->msg), "cannot open: %s", strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(err->msg, sizeof(err->msg), "cannot stat: %s", strerror(-ret));
		close(fd);
		return ret;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err->msg, sizeof(err->msg),
			 "not a regular file (%s): a policy must be a file",
			 S_ISFIFO(st.st_mode) ? "a FIFO" :
			 S_ISDIR(st.st_mode)  ? "a directory" :
			 S_ISCHR(st.st_mode)  ? "a character device" :
			 S_ISBLK(st.st_mode)  ? "a block device" :
			 S_ISSOCK(st.st_mode) ? "a socket" :
						"something else");
		close(fd);
		return -EINVAL;
	}
	ret = read_all(fd, &data, &len);
	close(fd);
	if (ret == -ENOMEM)
		return fail_nomem(err);
	if (ret) {
		snprintf(err->msg, sizeof(err->msg), "cannot read: %s", strerror(-ret));
		return ret;
	}
	if (len > BG_POLICY_MAX_BYTES) {
		snprintf(err->msg, sizeof(err->msg), "policy too large (more than %u bytes)",
			 BG_POLICY_MAX_BYTES);
		free(data);
		return -EINVAL;
	}
	ret = bg_policy_parse_buffer(path, data, len, out, err);
	free(data);
	return ret;
}
