// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * text_check.c - the tests' reader of the text rendering: split a line into its fields, and
 * compare them with the JSON rendering of the same record (text_check.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text_check.h"

__attribute__((format(printf, 3, 4))) static int tc_fail(struct tc *t, size_t pos, const char *fmt,
							 ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(t->err_buf, sizeof(t->err_buf), fmt, ap);
	va_end(ap);
	t->err = t->err_buf;
	t->err_pos = pos;
	return -1;
}

/* The characters of a bare word. ASCII only, by hand: no locale. */
static int tc_plain(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("-_.:/@+", c));
}

/* A plain word that reads as a string: not "-" (null), true, false (booleans), digits (numbers). */
int tc_bare_string(const unsigned char *s, size_t n)
{
	size_t i, digits = 0;

	for (i = 0; i < n; i++) {
		if (!tc_plain(s[i]))
			return 0;
		if (s[i] >= '0' && s[i] <= '9')
			digits++;
	}
	if (!n || digits == n || (n == 1 && s[0] == '-'))
		return 0;
	return !(n == 4 && !memcmp(s, "true", 4)) && !(n == 5 && !memcmp(s, "false", 5));
}

static int tc_add(struct tc *t, const char *key, size_t klen, size_t voff, size_t vlen, int where)
{
	struct tc_field *f;

	if (t->n_f >= JC_MAX_MEMBERS || klen >= TC_MAX_KEY)
		return tc_fail(t, voff, "too many fields, or too long a key, for the checker");
	if (!vlen)
		return tc_fail(t, voff, "an empty value for %.*s", (int)klen, key);
	f = &t->f[t->n_f++];
	memcpy(f->key, key, klen);
	f->key[klen] = '\0';
	f->voff = voff;
	f->vlen = vlen;
	f->where = where;
	return 0;
}

/*
 * The end of the value at s[i] in *e: a JSON string to its closing quote, else a bare word to the
 * next space, made of plain characters only.
 */
static int tc_value_end(struct tc *t, size_t i, size_t end, size_t *e)
{
	const char *err = NULL;

	if (i < end && t->s[i] == '"') {
		*e = jc_string_end(t->s, end, i, &err);
		if (!*e)
			return tc_fail(t, i, "%s", err);
		return 0;
	}
	for (*e = i; *e < end && t->s[*e] != ' '; (*e)++)
		if (!tc_plain((unsigned char)t->s[*e]))
			return tc_fail(t, *e, "a bare value with a character that is not plain");
	if (*e == i)
		return tc_fail(t, i, "an empty value");
	return 0;
}

static int tc_space(struct tc *t, size_t *i, size_t end)
{
	if (*i >= end || t->s[*i] != ' ')
		return tc_fail(t, *i, "fields must be separated by one space");
	(*i)++;
	if (*i >= end || t->s[*i] == ' ')
		return tc_fail(t, *i, "a field must follow a space");
	return 0;
}

/*
 * ADDR:PORT. The address ends at the first colon when bare (it holds none), at its ']' when in
 * brackets, at its closing quote when quoted; then a colon and the port, one value.
 */
static int tc_addr_port(struct tc *t, size_t *i, size_t end)
{
	const char *s = t->s;
	size_t a = *i, e;

	if (a < end && s[a] == '[') {
		for (e = a + 1; e < end && s[e] != ']'; e++)
			if (!strchr("0123456789abcdefABCDEF:.", s[e]) || !s[e])
				return tc_fail(
					t, e,
					"a bracketed address with a character not hex, : or .");
		if (e >= end || e == a + 1)
			return tc_fail(t, a, "an unterminated or empty [address]");
		e++;
	} else if (a < end && s[a] == '"') {
		if (tc_value_end(t, a, end, &e))
			return -1;
	} else {
		for (e = a; e < end && s[e] != ':' && s[e] != ' '; e++)
			if (!tc_plain((unsigned char)s[e]))
				return tc_fail(t, e,
					       "a bare address with a character that is not plain");
		if (e == a)
			return tc_fail(t, a, "an empty address");
	}
	if (e >= end || s[e] != ':')
		return tc_fail(t, e, "no ':' and port after the address");
	if (tc_add(t, "addr", 4, a, e - a, TC_LEAD) || tc_value_end(t, e + 1, end, i) ||
	    tc_add(t, "port", 4, e + 1, *i - e - 1, TC_LEAD))
		return -1;
	return 0;
}

int tc_split(struct tc *t, const char *s, size_t n, int event)
{
	static const char *const ev_lead[] = { "ts", "verdict", "event", "proto" };
	static const char *const ag_lead[] = { "ts", "event", "state" };
	const char *const *lead = event ? ev_lead : ag_lead;
	size_t n_lead = event ? 4 : 3, end, i = 0, e, k, ks, where;
	const char *nl, *why;

	memset(t, 0, offsetof(struct tc, f));
	t->n_f = 0;
	t->s = s;
	t->n = n;
	nl = s && n ? memchr(s, '\n', n) : NULL;
	if (!nl)
		return tc_fail(t, n, "no newline");
	end = (size_t)(nl - s);
	t->lines = end + 1 == n ? 1 : 2;
	why = jc_line_rules(s, end + 1, 1, &where);
	if (why)
		return tc_fail(t, where, "%s", why);
	if (end && s[end - 1] == ' ')
		return tc_fail(t, end - 1, "a trailing space");
	for (k = 0; k < n_lead; k++) {
		if ((k && tc_space(t, &i, end)) || tc_value_end(t, i, end, &e) ||
		    tc_add(t, lead[k], strlen(lead[k]), i, e - i, TC_LEAD))
			return -1;
		i = e;
	}
	if (event && (tc_space(t, &i, end) || tc_addr_port(t, &i, end)))
		return -1;
	/* The kind of line is told by its second word: "agent", or an event's verdict. */
	if ((t->f[1].vlen == 5 && !memcmp(s + t->f[1].voff, "agent", 5)) != !event)
		return tc_fail(t, t->f[1].voff, "an %s line whose second word %s \"agent\"",
			       event ? "event" : "agent", event ? "is" : "is not");
	while (i < end) {
		if (tc_space(t, &i, end))
			return -1;
		for (ks = i;
		     i < end && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
				 s[i] == '_' || s[i] == '.');
		     i++)
			;
		if (i == ks || i >= end || s[i] != '=')
			return tc_fail(t, ks, "not key=value");
		if (tc_value_end(t, i + 1, end, &e) ||
		    tc_add(t, s + ks, i - ks, i + 1, e - i - 1, TC_KV))
			return -1;
		i = e;
	}
	if (t->lines == 1)
		return 0;
	/* The hint line: "  hint=" and one value, to the final newline. */
	why = jc_line_rules(s + end + 1, n - end - 1, 1, &where);
	if (why)
		return tc_fail(t, end + 1 + where, "line 2: %s", why);
	if (!event || n - end - 1 < 9 || strncmp(s + end + 1, "  hint=", 7))
		return tc_fail(t, end + 1, "a second line that is not an event's \"  hint=\"");
	i = end + 8;
	if (tc_value_end(t, i, n - 1, &e))
		return -1;
	if (e != n - 1)
		return tc_fail(t, e, "line 2 is not one hint value");
	return tc_add(t, "hint", 4, i, e - i, TC_LINE2);
}

const struct tc_field *tc_get(const struct tc *t, const char *key)
{
	size_t k;

	for (k = 0; k < t->n_f; k++)
		if (!strcmp(t->f[k].key, key))
			return &t->f[k];
	return NULL;
}

size_t tc_value(const struct tc *t, const struct tc_field *f, unsigned char *out, size_t cap)
{
	if (f->vlen && t->s[f->voff] == '"')
		return jc_decode(t->s, f->voff, f->vlen, out, cap);
	if (f->vlen > cap)
		return (size_t)-1;
	memcpy(out, t->s + f->voff, f->vlen);
	return f->vlen;
}

#define TC_DEC_CAP 65536

/*
 * What the JSON value jv[0..jn) must be in text, from the format's rules: null is "-"; a string
 * that is one plain word (and no other token) is bare, anything else the same quoted string as
 * in JSON; the verdict lead is in capitals when a bare word without capitals, an address lead
 * with colons in brackets when it is made of hex digits, ':' and '.'; numbers and
 * booleans as in JSON. A JSON value (raw) is always a string that reads back as the JSON text
 * exactly as the JSON line has it.
 */
static int tc_value_ok(struct tc *t, const struct tc_field *f, const char *jv, size_t jn, int raw)
{
	static unsigned char dec[TC_DEC_CAP], want[TC_DEC_CAP + 2];
	const char *v = t->s + f->voff, *w = jv;
	size_t dn, wn = jn, i;

	if (raw) {
		dn = v[0] == '"' ? jc_decode(v, 0, f->vlen, dec, sizeof(dec)) : (size_t)-1;
		if (dn != jn || memcmp(dec, jv, dn))
			return tc_fail(t, f->voff, "%s=%.*s is not the JSON %.*s quoted", f->key,
				       (int)f->vlen, v, (int)jn, jv);
		return 0;
	}
	if (jn == 4 && !memcmp(jv, "null", 4)) {
		w = "-";
		wn = 1;
	} else if (jv[0] == '"') {
		dn = jc_decode(jv, 0, jn, dec, sizeof(dec));
		if (dn == (size_t)-1)
			return tc_fail(t, f->voff, "JSON %s does not decode", f->key);
		if (f->where == TC_LEAD && !strcmp(f->key, "verdict")) {
			/* In capitals when a bare word without capitals, else quoted. */
			for (i = 0; i < dn && !(dec[i] >= 'A' && dec[i] <= 'Z'); i++)
				want[i] = dec[i] >= 'a' && dec[i] <= 'z' ? dec[i] - 32 : dec[i];
			if (i == dn && tc_bare_string(dec, dn)) {
				w = (const char *)want;
				wn = dn;
			}
		} else if (f->where == TC_LEAD && !strcmp(f->key, "addr") && memchr(dec, ':', dn)) {
			/* With colons: in brackets when only hex digits, ':' and '.', else quoted. */
			for (i = 0; i < dn && dec[i] && strchr("0123456789abcdefABCDEF:.", dec[i]);
			     i++)
				;
			if (i == dn) {
				want[0] = '[';
				memcpy(want + 1, dec, dn);
				want[dn + 1] = ']';
				w = (const char *)want;
				wn = dn + 2;
			}
		} else if (tc_bare_string(dec, dn)) {
			w = (const char *)dec;
			wn = dn;
		}
	}
	if (f->vlen != wn || memcmp(v, w, wn))
		return tc_fail(t, f->voff, "%s is %.*s, want %.*s (JSON %.*s)", f->key,
			       (int)f->vlen, v, (int)wn, w, (int)jn, jv);
	return 0;
}

/* Whether the JSON member m of j holds an object. */
static int tc_is_object(const struct jc *j, const struct jc_member *m)
{
	return m->val_len && j->s[m->val_off] == '{';
}

/* Whether key is one of the space-separated keys in list. */
static int tc_listed(const char *list, const char *key)
{
	size_t n = strlen(key), w;

	while (list && *list) {
		w = strcspn(list, " ");
		if (w == n && !memcmp(list, key, n))
			return 1;
		list += w;
		list += strspn(list, " ");
	}
	return 0;
}

int tc_same_fields(struct tc *t, const struct jc *j, const char *raw_json)
{
	static struct jc sub;
	const struct jc_member *m, *sm;
	size_t k, i, want = 0, idx, sidx, last = 0, last_sub = 0, dot;
	const char *jv;
	char top[TC_MAX_KEY];
	int any_kv = 0, raw;

	if (!j->is_object)
		return tc_fail(t, 0, "the JSON line is not an object");
	/*
	 * A member holding an object (bg_record_obj()) stands for one field per member of the
	 * object, "obj.key"; a JSON value (bg_record_json()) is one field, whatever it holds.
	 */
	for (k = 0; k < j->n_top; k++) {
		m = &j->top[k];
		if (!tc_is_object(j, m) || tc_listed(raw_json, m->key)) {
			want++;
			continue;
		}
		if (jc_value(&sub, j->s + m->val_off, m->val_len))
			return tc_fail(t, 0, "JSON object %s: %s", m->key, sub.err);
		want += sub.n_top;
	}
	if (t->n_f != want)
		return tc_fail(t, 0, "%zu fields in text, %zu in JSON", t->n_f, want);
	for (k = 0; k < t->n_f; k++) {
		const struct tc_field *f = &t->f[k];

		for (i = 0; i < k; i++)
			if (!strcmp(t->f[i].key, f->key))
				return tc_fail(t, f->voff, "key %s twice", f->key);
		raw = tc_listed(raw_json, f->key);
		dot = strcspn(f->key, ".");
		memcpy(top, f->key, dot);
		top[dot] = '\0';
		m = jc_get(j, top);
		if (!m)
			return tc_fail(t, f->voff, "text has %s, JSON does not", f->key);
		idx = (size_t)(m - j->top);
		sidx = 0;
		jv = j->s + m->val_off;
		sm = m;
		if (f->key[dot]) {
			if (!tc_is_object(j, m) || tc_listed(raw_json, top))
				return tc_fail(t, f->voff, "%s: JSON %s is not an object", f->key,
					       top);
			if (jc_value(&sub, jv, m->val_len))
				return tc_fail(t, f->voff, "JSON object %s: %s", top, sub.err);
			sm = jc_get(&sub, f->key + dot + 1);
			if (!sm)
				return tc_fail(t, f->voff, "text has %s, JSON does not", f->key);
			sidx = (size_t)(sm - sub.top);
			jv = sub.s + sm->val_off;
		} else if (tc_is_object(j, m) && !raw) {
			return tc_fail(t, f->voff, "%s is an object in JSON, one value in text",
				       top);
		}
		if (f->where == TC_KV) {
			if (any_kv && (idx < last || (idx == last && sidx <= last_sub)))
				return tc_fail(t, f->voff, "%s out of JSON order", f->key);
			any_kv = 1;
			last = idx;
			last_sub = sidx;
		}
		if (tc_value_ok(t, f, jv, sm->val_len, raw))
			return -1;
	}
	return 0;
}
