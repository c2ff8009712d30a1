// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * json_check.c - the tests' strict JSON checker: jansson for the grammar, the rules of
 * json_check.h on top.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_check.h"

/* Every read: strict grammar, a key twice is an error, u64 fields are not "too big". */
#define JC_FLAGS (JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL)

size_t jc_utf8_seq(const unsigned char *s, size_t n, unsigned int *cp)
{
	size_t len, i;
	unsigned int c, min;

	if (!n)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		c = s[0] & 0x1f;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		c = s[0] & 0x0f;
		min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		c = s[0] & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* Append code point cp as UTF-8; returns the number of bytes (1..4). */
static size_t jc_utf8_put(unsigned char *out, unsigned int cp)
{
	if (cp < 0x80) {
		out[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (unsigned char)(0xc0 | (cp >> 6));
		out[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (unsigned char)(0xe0 | (cp >> 12));
		out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (unsigned char)(0xf0 | (cp >> 18));
	out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

__attribute__((format(printf, 3, 4))) static int jc_fail(struct jc *j, size_t pos, const char *fmt,
							 ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->err_buf, sizeof(j->err_buf), fmt, ap);
	va_end(ap);
	j->err = j->err_buf;
	j->err_pos = pos;
	return -1;
}

static int jc_is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t jc_skip_ws(const char *s, size_t n, size_t i)
{
	while (i < n && jc_is_ws(s[i]))
		i++;
	return i;
}

/*
 * The structure of a document that jansson accepted: no validation is left to do here, only
 * finding where each value ends. Past the string at s[i] (a '"').
 */
static size_t jc_skip_string(const char *s, size_t n, size_t i)
{
	for (i++; i < n; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i + 1;
	}
	return n;
}

/* Past the value at s[i], inside depth containers; (size_t)-1 if it nests too deep. */
static size_t jc_skip_value(const char *s, size_t n, size_t i, int depth)
{
	if (i >= n)
		return n;
	if (s[i] == '"')
		return jc_skip_string(s, n, i);
	if (s[i] != '{' && s[i] != '[') {
		while (i < n && !jc_is_ws(s[i]) && !strchr(",:]}", s[i]))
			i++;
		return i;
	}
	if (depth + 1 > JC_MAX_DEPTH)
		return (size_t)-1;
	for (i++;;) {
		i = jc_skip_ws(s, n, i);
		if (i >= n || s[i] == '}' || s[i] == ']')
			return i + 1;
		if (s[i] == ',' || s[i] == ':') {
			i++;
			continue;
		}
		i = jc_skip_value(s, n, i, depth + 1);
		if (i == (size_t)-1)
			return i;
	}
}

/* The members of the top-level object at s[i] (a '{'), in document order, keys decoded. */
static int jc_members(struct jc *j, size_t i, json_t *root)
{
	const char *s = j->s;
	size_t n = j->n, klen;
	struct jc_member *m;
	void *it = json_object_iter(root);
	const char *key;

	for (i++;;) {
		i = jc_skip_ws(s, n, i);
		if (i < n && s[i] == ',')
			i = jc_skip_ws(s, n, i + 1);
		if (i >= n || s[i] == '}')
			break;
		if (j->n_top == JC_MAX_MEMBERS)
			return jc_fail(j, i, "more than %d members: too many for the checker",
				       JC_MAX_MEMBERS);
		if (!it)
			return jc_fail(j, i, "checker: the members and jansson's keys disagree");
		m = &j->top[j->n_top];
		key = json_object_iter_key(it);
		klen = strlen(key);
		if (klen >= sizeof(m->key))
			return jc_fail(j, i, "a key of %zu bytes: too long for the checker", klen);
		memcpy(m->key, key, klen + 1);
		m->key_off = i;
		i = jc_skip_string(s, n, i);
		m->key_len = i - m->key_off;
		i = jc_skip_ws(s, n, i);
		i = jc_skip_ws(s, n, i + 1); /* ':' */
		m->val_off = i;
		i = jc_skip_value(s, n, i, 1);
		if (i == (size_t)-1)
			return jc_fail(j, m->val_off, "nested more than %d deep", JC_MAX_DEPTH);
		m->val_len = i - m->val_off;
		j->n_top++;
		it = json_object_iter_next(root, it);
	}
	if (it || j->n_top != json_object_size(root))
		return jc_fail(j, i, "checker: the members and jansson's keys disagree");
	return 0;
}

/*
 * jansson's memory. No tree outlives the call that reads it, so each read takes its nodes from
 * one arena, reset when the next read starts, and frees nothing: jansson allocates per token and
 * per node, and under ASan (the fuzzers, make test-sanitize) malloc() made most of the time of a
 * check. What does not fit (a document of many megabytes) comes from malloc() as usual.
 */
static unsigned char jc_arena[1 << 20] __attribute__((aligned(16)));
static size_t jc_arena_used;

static void *jc_alloc(size_t n)
{
	void *p;

	n = (n + 15) & ~(size_t)15;
	if (!n || n > sizeof(jc_arena) - jc_arena_used)
		return malloc(n);
	p = jc_arena + jc_arena_used;
	jc_arena_used += n;
	return p;
}

static void jc_free(void *p)
{
	uintptr_t a = (uintptr_t)p, lo = (uintptr_t)jc_arena;

	if (a < lo || a >= lo + sizeof(jc_arena))
		free(p);
}

/* jansson's next read: its own functions, and an empty arena. */
static void jc_arena_reset(void)
{
	static int installed;

	if (!installed) {
		json_set_alloc_funcs(jc_alloc, jc_free);
		installed = 1;
	}
	jc_arena_used = 0;
}

/* One JSON value in s[0..n), read with flags on top of JC_FLAGS. */
static int jc_parse(struct jc *j, const char *s, size_t n, size_t flags)
{
	json_error_t e;
	json_t *root;
	size_t i;
	int err = 0;

	/* The members are written as they are found: no need to clear 12 KiB each time. */
	memset(j, 0, offsetof(struct jc, top));
	j->n_top = 0;
	j->is_object = 0;
	j->s = s;
	j->n = n;
	jc_arena_reset();
	root = json_loadb(s, n, JC_FLAGS | flags, &e);
	if (!root)
		return jc_fail(j, e.position > 0 ? (size_t)e.position - 1 : 0, "%s", e.text);
	i = jc_skip_ws(s, n, 0);
	if (json_is_object(root)) {
		j->is_object = 1;
		err = jc_members(j, i, root);
	} else if (jc_skip_value(s, n, i, 0) == (size_t)-1) {
		err = jc_fail(j, i, "nested more than %d deep", JC_MAX_DEPTH);
	}
	json_decref(root);
	return err;
}

int jc_value(struct jc *j, const char *s, size_t n)
{
	/* A lone value may hold \u0000: bg_json_string() writes it for a NUL byte. */
	return jc_parse(j, s, n, JSON_ALLOW_NUL);
}

int jc_line(struct jc *j, const char *s, size_t n)
{
	const char *why;
	size_t where;

	why = jc_line_rules(s, n, 1, &where);
	if (why) {
		memset(j, 0, offsetof(struct jc, top));
		j->n_top = 0;
		j->is_object = 0;
		j->s = s;
		j->n = n;
		return jc_fail(j, where, "%s", why);
	}
	/* Without JSON_ALLOW_NUL, jansson refuses \u0000 in any string of the line. */
	if (jc_parse(j, s, n - 1, 0))
		return -1;
	if (!j->is_object)
		return jc_fail(j, 0, "the line is not a JSON object");
	return 0;
}

const struct jc_member *jc_get(const struct jc *j, const char *key)
{
	size_t i;

	for (i = 0; i < j->n_top; i++)
		if (!strcmp(j->top[i].key, key))
			return &j->top[i];
	return NULL;
}

const char *jc_line_rules(const char *text, size_t n, int want_nl, size_t *where)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = 0, len, body = n;
	unsigned int cp;

	*where = 0;
	if (want_nl) {
		if (!n || s[n - 1] != '\n') {
			*where = n;
			return "line does not end in a newline";
		}
		body = n - 1;
	}
	while (i < body) {
		*where = i;
		len = jc_utf8_seq(s + i, body - i, &cp);
		if (!len)
			return "invalid UTF-8";
		if (cp == '\n')
			return "newline inside the line";
		if (cp < 0x20 || cp == 0x7f)
			return "raw control byte";
		if (cp >= 0x80 && cp <= 0x9f)
			return "raw C1 control character";
		if (cp == 0x2028 || cp == 0x2029)
			return "raw line or paragraph separator";
		i += len;
	}
	return NULL;
}

/* The JSON string text[off..off+len), exactly (its quotes at both ends), decoded; or NULL. */
static json_t *jc_load_string(const char *text, size_t off, size_t len, size_t flags,
			      const char **err)
{
	json_error_t e;
	json_t *v;

	if (len < 2 || text[off] != '"' || text[off + len - 1] != '"') {
		*err = "not a quoted string";
		return NULL;
	}
	jc_arena_reset();
	v = json_loadb(text + off, len, JC_FLAGS | flags, &e);
	if (!v) {
		*err = "invalid JSON string";
		return NULL;
	}
	if (!json_is_string(v)) {
		json_decref(v);
		*err = "not a JSON string";
		return NULL;
	}
	return v;
}

size_t jc_string_end(const char *s, size_t n, size_t pos, const char **err)
{
	size_t end = jc_skip_string(s, n, pos);
	json_t *v;

	if (pos >= n || s[pos] != '"' || end > n || s[end - 1] != '"' || end - pos < 2) {
		*err = "unterminated string";
		return 0;
	}
	v = jc_load_string(s, pos, end - pos, 0, err);
	if (!v)
		return 0;
	json_decref(v);
	return end;
}

size_t jc_decode(const char *text, size_t off, size_t len, unsigned char *out, size_t cap)
{
	const char *err;
	json_t *v = jc_load_string(text, off, len, JSON_ALLOW_NUL, &err);
	size_t n;

	if (!v)
		return (size_t)-1;
	n = json_string_length(v);
	if (n > cap) {
		json_decref(v);
		return (size_t)-1;
	}
	memcpy(out, json_string_value(v), n);
	json_decref(v);
	return n;
}

size_t jc_expected(const unsigned char *in, size_t n, unsigned char *out)
{
	size_t i = 0, o = 0, len;
	unsigned int cp;

	while (i < n) {
		len = jc_utf8_seq(in + i, n - i, &cp);
		if (!len) {
			o += jc_utf8_put(out + o, 0xfffd);
			i++;
		} else {
			memcpy(out + o, in + i, len);
			o += len;
			i += len;
		}
	}
	return o;
}
