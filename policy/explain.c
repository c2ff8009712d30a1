// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * explain.c - say what a person got wrong when libyaml refuses a policy file.
 *
 * libyaml reports where its grammar broke, in its own terms ("found character that cannot start
 * any token", "did not find expected '-' indicator"), and often at a place that is only the
 * symptom. The mistakes behind those messages are few:
 *   - a tab in the indentation (YAML indents with spaces only);
 *   - a key or a "-" indented differently from its siblings;
 *   - an unquoted value holding ": ", which YAML reads as one more key;
 *   - an unquoted IPv6 address starting with ":" in a flow list ([::1]).
 * Each is recognised from the line libyaml stopped on and from the collections open there, and
 * explained with its fix. Anything else keeps libyaml's message: a wrong guess would mislead
 * more than the raw text.
 *
 * Every piece of the file that goes into a message is escaped (bg_yaml_quote()), because the
 * message goes to logs and JSON.
 */
#include <stdio.h>
#include <string.h>

#include "explain.h"

#define VALUE_MAX 160 /* bytes of a value repeated in a suggestion */

const char *bg_yaml_quote(const unsigned char *s, size_t n, size_t max, char *out, size_t outlen)
{
	size_t i, o = 0;

	if (!outlen)
		return out;
	for (i = 0; i < n && o + 8 < outlen; i++) {
		unsigned char ch = s[i];

		if (i >= max && (ch & 0xc0) != 0x80) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (ch == '"' || ch == '\\')
			o += (size_t)snprintf(out + o, outlen - o, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", ch);
		else
			out[o++] = (char)ch;
	}
	out[o] = '\0';
	return out;
}

/* -------------------------------------------------------------------------------------------- */
/* The line libyaml stopped on */

struct yline {
	const char *s; /* its first byte */
	size_t len; /* without the line break */
	size_t ind; /* leading spaces */
	size_t tab; /* offset of a tab among the leading blanks (and "- "), or len if none */
	int blank; /* only blanks, or a comment */
	int entry; /* starts with a "-" entry indicator */
	size_t content; /* where the entry's content starts (after "- ") */
	/* A plain word key followed by ":" at the content start; key_len 0: none. */
	size_t key;
	size_t key_len;
	size_t colon; /* offset of that key's ":" */
};

static int is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static int is_word(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '_' || ch == '-';
}

/* Lines end at \n, \r\n or a lone \r, as libyaml counts them for ASCII input. */
static int find_line(const char *buf, size_t len, size_t line, struct yline *l)
{
	size_t i = 0, n = 0, start = 0;

	while (n < line) {
		if (i >= len)
			return 0;
		if (buf[i] == '\n' || buf[i] == '\r') {
			if (buf[i] == '\r' && i + 1 < len && buf[i + 1] == '\n')
				i++;
			n++;
			start = i + 1;
		}
		i++;
	}
	for (i = start; i < len && buf[i] != '\n' && buf[i] != '\r'; i++)
		;
	memset(l, 0, sizeof(*l));
	l->s = buf + start;
	l->len = i - start;
	return 1;
}

static void scan_line(struct yline *l)
{
	size_t i = 0, k;

	while (i < l->len && l->s[i] == ' ')
		i++;
	l->ind = i;
	l->tab = l->len;
	/* The indentation, and the blanks after each "-" that opens an entry on this line. */
	for (k = 0; k < l->len; k++) {
		if (l->s[k] == '\t') {
			l->tab = k;
			break;
		}
		if (l->s[k] == '-' && (k + 1 == l->len || is_blank(l->s[k + 1])))
			continue;
		if (l->s[k] != ' ')
			break;
	}
	l->blank = i == l->len || l->s[i] == '#' || l->s[i] == '\t';
	if (l->blank)
		return;
	if (l->s[i] == '-' && (i + 1 == l->len || is_blank(l->s[i + 1]))) {
		l->entry = 1;
		for (i++; i < l->len && is_blank(l->s[i]); i++)
			;
	}
	l->content = i;
	for (k = i; k < l->len && is_word(l->s[k]); k++)
		;
	if (k > i && k < l->len && l->s[k] == ':' && (k + 1 == l->len || is_blank(l->s[k + 1]))) {
		l->key = i;
		l->key_len = k - i;
		l->colon = k;
	}
}

/* Byte offset of a column (a column counts characters), or len past the end. */
static size_t off_of_col(const struct yline *l, size_t col)
{
	size_t i, c = 0;

	for (i = 0; i < l->len; i++) {
		if (((unsigned char)l->s[i] & 0xc0) == 0x80)
			continue;
		if (c++ == col)
			return i;
	}
	return l->len;
}

/* Structurally valid UTF-8: the file may be broken past the point libyaml read. */
static int utf8_ok(const char *s, size_t n)
{
	size_t i = 0, k, more;

	while (i < n) {
		unsigned char ch = (unsigned char)s[i++];

		if (ch < 0x80)
			continue;
		if ((ch & 0xe0) == 0xc0)
			more = 1;
		else if ((ch & 0xf0) == 0xe0)
			more = 2;
		else if ((ch & 0xf8) == 0xf0)
			more = 3;
		else
			return 0;
		for (k = 0; k < more; k++, i++)
			if (i >= n || ((unsigned char)s[i] & 0xc0) != 0x80)
				return 0;
	}
	return 1;
}

/* -------------------------------------------------------------------------------------------- */
/* Indentation */

static void spaces(size_t n, char *buf, size_t len)
{
	snprintf(buf, len, "%zu space%s", n, n == 1 ? "" : "s");
}

/* What the siblings of a stray item are: "keys of the rule at line 3", "top-level keys". */
static void siblings(const struct bg_yblock *b, char *buf, size_t len)
{
	size_t line = b->at.line + 1;

	if (!b->seq && b->role && !strcmp(b->role, "top level"))
		snprintf(buf, len, "top-level keys");
	else if (!b->seq)
		snprintf(buf, len, "keys of the %s at line %zu", b->role ? b->role : "mapping",
			 line);
	else
		snprintf(buf, len, "entries of the %s%slist at line %zu", b->role ? b->role : "",
			 b->role ? " " : "", line);
}

static int has_key(const struct bg_yblock *b, const char *key, size_t n)
{
	size_t i;

	for (i = 0; i < b->n_keys; i++)
		if (strlen(b->keys[i]) == n && !memcmp(b->keys[i], key, n))
			return 1;
	return 0;
}

static size_t dist(size_t a, size_t b)
{
	return a > b ? a - b : b - a;
}

/*
 * A key or an entry that libyaml stumbled on right where it starts (or, for a key, at its ":"),
 * indented like none of the collections it could belong to. YAML ends a collection at the first
 * line indented less than its items, so one space too few turns "expose:" into a key of nothing,
 * and one too many into part of the value above. The sibling it most likely meant is one whose
 * keys include this key, else the nearest indentation; a tie names both.
 */
static int explain_indent(const struct yline *l, size_t pcol, const struct bg_yblock *blocks,
			  size_t n, yaml_mark_t problem, yaml_mark_t *at, char *msg, size_t len)
{
	const struct bg_yblock *best[2] = { NULL, NULL };
	char what[96], s0[32], s1[32], s2[32], a[128], b[128];
	int want_seq = l->entry, keyed = 0;
	size_t i, d, bestd = (size_t)-1;

	if (l->blank || (!want_seq && !l->key_len))
		return 0;
	if (pcol != l->ind && !(!want_seq && pcol == l->colon))
		return 0;
	for (i = 0; i < n; i++) {
		if (blocks[i].flow || blocks[i].seq != want_seq)
			continue;
		if (blocks[i].at.column == l->ind)
			return 0; /* it lines up with something: not an indentation mistake */
		if (!want_seq && has_key(&blocks[i], l->s + l->key, l->key_len))
			keyed = 1;
	}
	for (i = 0; i < n; i++) {
		const struct bg_yblock *c = &blocks[i];

		if (c->flow || c->seq != want_seq)
			continue;
		if (keyed && !has_key(c, l->s + l->key, l->key_len))
			continue;
		d = dist(c->at.column, l->ind);
		if (d < bestd) {
			bestd = d;
			best[0] = c;
			best[1] = NULL;
		} else if (d == bestd && c->at.column != best[0]->at.column && !best[1]) {
			best[1] = c;
		}
	}
	if (!best[0])
		return 0;
	if (want_seq)
		snprintf(what, sizeof(what), "this \"-\" entry");
	else
		snprintf(what, sizeof(what), "\"%.*s\"", (int)l->key_len, l->s + l->key);
	spaces(l->ind, s0, sizeof(s0));
	siblings(best[0], a, sizeof(a));
	spaces(best[0]->at.column, s1, sizeof(s1));
	if (best[1]) {
		siblings(best[1], b, sizeof(b));
		spaces(best[1]->at.column, s2, sizeof(s2));
		snprintf(
			msg, len,
			"bad indentation: %s is indented %s: align it with the %s (%s) or with the "
			"%s (%s)",
			what, s0, a, s1, b, s2);
	} else {
		snprintf(msg, len,
			 "bad indentation: %s is indented %s, but the other %s are indented %s: "
			 "align it with them",
			 what, s0, a, s1);
	}
	*at = problem;
	at->column = l->ind;
	return 1;
}

/* -------------------------------------------------------------------------------------------- */
/* Values that need quotes */

/*
 * "hint: Set bind-address: 127.0.0.1": in a plain (unquoted) value, ": " starts a mapping, and
 * a mapping cannot sit there. Suggest the line with its value in double quotes.
 */
static int explain_colon(const struct yline *l, size_t pcol, yaml_mark_t problem, yaml_mark_t *at,
			 char *msg, size_t len)
{
	char q[BG_QUOTE_BUF(VALUE_MAX)];
	size_t v, e;

	*at = problem;
	if (!l->key_len) {
		/* A later line of a value that spans several lines. */
		snprintf(msg, len,
			 "\": \" inside an unquoted value reads as one more key: put the "
			 "whole value in double quotes");
		return 1;
	}
	if (pcol <= l->colon)
		return 0;
	for (v = l->colon + 1; v < l->len && is_blank(l->s[v]); v++)
		;
	/* The value ends at a comment (" #") or the end of the line, trailing blanks dropped. */
	for (e = v; e < l->len; e++)
		if (l->s[e] == '#' && is_blank(l->s[e - 1]))
			break;
	while (e > v && is_blank(l->s[e - 1]))
		e--;
	if (e == v || strchr("\"'[{|>&*!%@`", l->s[v]) || !utf8_ok(l->s + v, e - v) ||
	    e - v > VALUE_MAX) {
		snprintf(msg, len,
			 "the value of \"%.*s\" contains \": \", which YAML reads as one more key: "
			 "put the whole value in double quotes",
			 (int)l->key_len, l->s + l->key);
		return 1;
	}
	bg_yaml_quote((const unsigned char *)l->s + v, e - v, VALUE_MAX, q, sizeof(q));
	snprintf(msg, len,
		 "the value of \"%.*s\" contains \": \", which YAML reads as one more key: quote "
		 "it: %.*s: \"%s\"",
		 (int)l->key_len, l->s + l->key, (int)l->key_len, l->s + l->key, q);
	return 1;
}

/*
 * [::1, fd00::/8]: inside a flow list a plain entry cannot start with ":", which is the value
 * indicator there. Suggest the list with every entry that holds a ":" quoted.
 */
static int explain_flow_list(const char *buf, size_t len, const struct bg_yblock *list,
			     yaml_mark_t problem, yaml_mark_t *at, char *msg, size_t msglen)
{
	char out[320], q[BG_QUOTE_BUF(VALUE_MAX)];
	size_t open, close, i, e, o;
	struct yline l;

	*at = problem;
	if (!find_line(buf, len, list->at.line, &l))
		goto generic;
	scan_line(&l);
	open = off_of_col(&l, list->at.column);
	if (open >= l.len || l.s[open] != '[' || !utf8_ok(l.s, l.len))
		goto generic;
	for (close = open + 1; close < l.len && l.s[close] != ']'; close++)
		if (l.s[close] == '"' || l.s[close] == '\'' || l.s[close] == '[' ||
		    l.s[close] == '{')
			goto generic;
	if (close >= l.len)
		goto generic;
	/* The key before the list on its line, "expose" or "unlisted", is repeated (and only
	 * that: what separates it from the list may be a tab, found by fuzzing). */
	if (l.key_len && l.colon < open)
		o = (size_t)snprintf(out, sizeof(out), "%.*s: [", (int)l.key_len, l.s + l.key);
	else
		o = (size_t)snprintf(out, sizeof(out), "[");
	for (i = open + 1; i < close && o < sizeof(out); i = e + 1) {
		size_t a = i, z;

		for (e = i; e < close && l.s[e] != ','; e++)
			;
		for (z = e; a < z && is_blank(l.s[a]); a++)
			;
		while (z > a && is_blank(l.s[z - 1]))
			z--;
		if (z - a > VALUE_MAX)
			goto generic;
		bg_yaml_quote((const unsigned char *)l.s + a, z - a, VALUE_MAX, q, sizeof(q));
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s%s%s%s",
				      i > open + 1 ? ", " : "",
				      memchr(l.s + a, ':', z - a) ? "\"" : "", q,
				      memchr(l.s + a, ':', z - a) ? "\"" : "");
	}
	if (o + 2 > sizeof(out))
		goto generic;
	snprintf(out + o, sizeof(out) - o, "]");
	snprintf(msg, msglen,
		 "an unquoted entry cannot start with \":\" in a flow list [...]: quote the IPv6 "
		 "addresses: %s",
		 out);
	return 1;

generic:
	snprintf(msg, msglen,
		 "an unquoted entry cannot start with \":\" in a flow list [...]: quote the IPv6 "
		 "addresses, e.g. [\"::1\"]");
	return 1;
}

/* -------------------------------------------------------------------------------------------- */

int bg_yaml_key_at(const char *buf, size_t len, yaml_mark_t m, const char *key)
{
	size_t off, n = strlen(key);
	struct yline l;

	if (!buf || !find_line(buf, len, m.line, &l))
		return 0;
	off = off_of_col(&l, m.column);
	return off + n < l.len && !memcmp(l.s + off, key, n) && l.s[off + n] == ':' &&
	       (off + n + 1 == l.len || is_blank(l.s[off + n + 1]));
}

int bg_yaml_explain(const char *buf, size_t len, yaml_mark_t problem,
		    const struct bg_yblock *blocks, size_t n_open, size_t n_closed, yaml_mark_t *at,
		    char *msg, size_t msglen)
{
	const struct bg_yblock *inner = n_open ? &blocks[n_open - 1] : NULL;
	struct yline l;
	size_t pcol;
	char ch;

	if (!buf || !find_line(buf, len, problem.line, &l))
		return 0;
	scan_line(&l);
	pcol = off_of_col(&l, problem.column);
	ch = pcol < l.len ? l.s[pcol] : '\0';

	if (l.tab < l.len || ch == '\t') {
		*at = problem;
		if (l.tab < l.len)
			at->column = l.tab; /* the blanks before it are ASCII: bytes are columns */
		snprintf(msg, msglen,
			 "a tab is used for indentation: YAML allows only spaces there "
			 "(replace the tab with spaces)");
		return 1;
	}
	if (ch == ':' && inner && inner->flow && inner->seq)
		return explain_flow_list(buf, len, inner, problem, at, msg, msglen);
	if (ch == ':' && inner && inner->flow) {
		*at = problem;
		snprintf(msg, msglen,
			 "\":\" inside an unquoted value of a flow mapping {...}: put "
			 "the value in double quotes");
		return 1;
	}
	if (explain_indent(&l, pcol, blocks, n_open + n_closed, problem, at, msg, msglen))
		return 1;
	if (ch == ':')
		return explain_colon(&l, pcol, problem, at, msg, msglen);
	return 0;
}
