/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * json_check.h - a small, strict JSON (RFC 8259) validator and log-line checks for the fuzz
 * targets.
 *
 * It is written apart from agent/event_fmt.c on purpose: the fuzzers compare the encoder with a
 * second, independent reading of the grammar, so a bug shared by both is less likely. Strict
 * means:
 *   - exactly one value, surrounded by optional whitespace, and nothing after it;
 *   - UTF-8 only, as RFC 3629 defines it: no overlong forms, no surrogates, nothing above
 *     U+10FFFF;
 *   - no raw byte below 0x20 inside a string, only the escapes the RFC lists, and \u escapes of
 *     surrogates only as a high-low pair;
 *   - numbers in the RFC's grammar (no leading zeros, no '+', no NaN or Infinity);
 *   - no key twice in one object (compared after unescaping), since a duplicate "verdict" is
 *     exactly how an injected string would forge a field;
 *   - nesting at most JC_MAX_DEPTH deep.
 *
 * Header-only, static functions, no allocation: each fuzz target includes it once.
 */
#ifndef BG_JSON_CHECK_H
#define BG_JSON_CHECK_H

#include <stddef.h>
#include <string.h>

#define JC_MAX_DEPTH 32
#define JC_MAX_MEMBERS 128 /* per object: more than any line the agent writes */

/* A member of the top-level object: byte spans into the checked text. */
struct jc_member {
	size_t key_off, key_len; /* the key, with its quotes */
	size_t val_off, val_len; /* the value, as written */
};

struct jc {
	const unsigned char *s;
	size_t n, pos;
	const char *err; /* NULL, or what is wrong at err_pos */
	size_t err_pos;
	struct jc_member top[JC_MAX_MEMBERS]; /* when the value is an object */
	size_t n_top;
};

/*
 * Length of the valid UTF-8 sequence at s (n bytes available), its code point in *cp; 0 if s
 * does not start one. Written out from the RFC 3629 section 4 table.
 */
static inline size_t jc_utf8_seq(const unsigned char *s, size_t n, unsigned int *cp)
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
static inline size_t jc_utf8_put(unsigned char *out, unsigned int cp)
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

static inline int jc_fail(struct jc *j, const char *why)
{
	if (!j->err) {
		j->err = why;
		j->err_pos = j->pos;
	}
	return -1;
}

static inline int jc_hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Four hex digits at s; -1 if they are not. */
static inline long jc_hex4(const unsigned char *s, size_t n)
{
	long v = 0;
	size_t i;
	int h;

	if (n < 4)
		return -1;
	for (i = 0; i < 4; i++) {
		h = jc_hexval(s[i]);
		if (h < 0)
			return -1;
		v = (v << 4) | h;
	}
	return v;
}

/*
 * The next code point of a string that jc_string() accepted, from s[*i] (inside the quotes),
 * with escapes and surrogate pairs decoded. *i advances past it.
 */
static inline unsigned int jc_str_next(const unsigned char *s, size_t n, size_t *i)
{
	unsigned int cp = 0;
	long hi, lo;
	size_t len;

	if (s[*i] != '\\') {
		len = jc_utf8_seq(s + *i, n - *i, &cp);
		*i += len ? len : 1;
		return cp;
	}
	switch (s[*i + 1]) {
	case 'b':
		cp = '\b';
		break;
	case 'f':
		cp = '\f';
		break;
	case 'n':
		cp = '\n';
		break;
	case 'r':
		cp = '\r';
		break;
	case 't':
		cp = '\t';
		break;
	case 'u':
		hi = jc_hex4(s + *i + 2, n - *i - 2);
		if (hi >= 0xd800 && hi <= 0xdbff) {
			lo = jc_hex4(s + *i + 8, n - *i - 8);
			*i += 12;
			return 0x10000 + (((unsigned int)hi - 0xd800) << 10) +
			       ((unsigned int)lo - 0xdc00);
		}
		*i += 6;
		return (unsigned int)hi;
	default: /* " \ / */
		cp = s[*i + 1];
		break;
	}
	*i += 2;
	return cp;
}

/* A string at j->pos (which is '"'); advances past the closing quote. */
static inline int jc_string(struct jc *j)
{
	const unsigned char *s = j->s;
	unsigned int cp;
	long u, lo;
	size_t len;

	j->pos++;
	for (;;) {
		if (j->pos >= j->n)
			return jc_fail(j, "unterminated string");
		if (s[j->pos] == '"') {
			j->pos++;
			return 0;
		}
		if (s[j->pos] < 0x20)
			return jc_fail(j, "raw control byte in a string");
		if (s[j->pos] != '\\') {
			len = jc_utf8_seq(s + j->pos, j->n - j->pos, &cp);
			if (!len)
				return jc_fail(j, "invalid UTF-8 in a string");
			j->pos += len;
			continue;
		}
		if (j->pos + 1 >= j->n)
			return jc_fail(j, "unterminated escape");
		if (s[j->pos + 1] != 'u') {
			if (!strchr("\"\\/bfnrt", s[j->pos + 1]) || !s[j->pos + 1])
				return jc_fail(j, "unknown escape");
			j->pos += 2;
			continue;
		}
		u = jc_hex4(s + j->pos + 2, j->n - j->pos - 2);
		if (u < 0)
			return jc_fail(j, "bad \\u escape");
		if (u >= 0xdc00 && u <= 0xdfff)
			return jc_fail(j, "lone low surrogate escape");
		if (u >= 0xd800 && u <= 0xdbff) {
			if (j->pos + 7 >= j->n || s[j->pos + 6] != '\\' || s[j->pos + 7] != 'u')
				return jc_fail(j, "lone high surrogate escape");
			lo = jc_hex4(s + j->pos + 8, j->n - j->pos - 8);
			if (lo < 0xdc00 || lo > 0xdfff)
				return jc_fail(j, "high surrogate without a low one");
			j->pos += 12;
			continue;
		}
		j->pos += 6;
	}
}

static inline int jc_digits(struct jc *j)
{
	size_t start = j->pos;

	while (j->pos < j->n && j->s[j->pos] >= '0' && j->s[j->pos] <= '9')
		j->pos++;
	return j->pos > start ? 0 : jc_fail(j, "digit expected");
}

static inline int jc_number(struct jc *j)
{
	if (j->s[j->pos] == '-')
		j->pos++;
	if (j->pos >= j->n)
		return jc_fail(j, "truncated number");
	if (j->s[j->pos] == '0')
		j->pos++;
	else if (jc_digits(j))
		return -1;
	if (j->pos < j->n && j->s[j->pos] == '.') {
		j->pos++;
		if (jc_digits(j))
			return -1;
	}
	if (j->pos < j->n && (j->s[j->pos] == 'e' || j->s[j->pos] == 'E')) {
		j->pos++;
		if (j->pos < j->n && (j->s[j->pos] == '+' || j->s[j->pos] == '-'))
			j->pos++;
		if (jc_digits(j))
			return -1;
	}
	return 0;
}

static inline void jc_ws(struct jc *j)
{
	while (j->pos < j->n && (j->s[j->pos] == ' ' || j->s[j->pos] == '\t' ||
				 j->s[j->pos] == '\n' || j->s[j->pos] == '\r'))
		j->pos++;
}

/* Two accepted strings (spans with quotes) equal once unescaped. */
static inline int jc_str_eq(const unsigned char *s, size_t a, size_t alen, size_t b, size_t blen)
{
	size_t i = a + 1, k = b + 1, ae = a + alen - 1, be = b + blen - 1;

	if (alen == blen && !memcmp(s + a, s + b, alen))
		return 1;
	/* Without escapes, different bytes are different strings. */
	if (!memchr(s + a, '\\', alen) && !memchr(s + b, '\\', blen))
		return 0;
	while (i < ae && k < be)
		if (jc_str_next(s, ae, &i) != jc_str_next(s, be, &k))
			return 0;
	return i == ae && k == be;
}

static inline int jc_value(struct jc *j, int depth);

static inline int jc_object(struct jc *j, int depth)
{
	struct jc_member m[JC_MAX_MEMBERS];
	size_t nm = 0, i;

	j->pos++;
	jc_ws(j);
	if (j->pos < j->n && j->s[j->pos] == '}') {
		j->pos++;
		goto out;
	}
	for (;;) {
		if (j->pos >= j->n || j->s[j->pos] != '"')
			return jc_fail(j, "key expected");
		if (nm == JC_MAX_MEMBERS)
			return jc_fail(j, "too many members for the checker");
		m[nm].key_off = j->pos;
		if (jc_string(j))
			return -1;
		m[nm].key_len = j->pos - m[nm].key_off;
		for (i = 0; i < nm; i++)
			if (jc_str_eq(j->s, m[i].key_off, m[i].key_len, m[nm].key_off,
				      m[nm].key_len)) {
				j->pos = m[nm].key_off;
				return jc_fail(j, "duplicate key");
			}
		jc_ws(j);
		if (j->pos >= j->n || j->s[j->pos] != ':')
			return jc_fail(j, "':' expected");
		j->pos++;
		jc_ws(j);
		m[nm].val_off = j->pos;
		if (jc_value(j, depth + 1))
			return -1;
		m[nm].val_len = j->pos - m[nm].val_off;
		nm++;
		jc_ws(j);
		if (j->pos < j->n && j->s[j->pos] == ',') {
			j->pos++;
			jc_ws(j);
			continue;
		}
		if (j->pos < j->n && j->s[j->pos] == '}') {
			j->pos++;
			break;
		}
		return jc_fail(j, "',' or '}' expected");
	}
out:
	if (depth == 0) {
		memcpy(j->top, m, nm * sizeof(m[0]));
		j->n_top = nm;
	}
	return 0;
}

static inline int jc_array(struct jc *j, int depth)
{
	j->pos++;
	jc_ws(j);
	if (j->pos < j->n && j->s[j->pos] == ']') {
		j->pos++;
		return 0;
	}
	for (;;) {
		if (jc_value(j, depth + 1))
			return -1;
		jc_ws(j);
		if (j->pos < j->n && j->s[j->pos] == ',') {
			j->pos++;
			jc_ws(j);
			continue;
		}
		if (j->pos < j->n && j->s[j->pos] == ']') {
			j->pos++;
			return 0;
		}
		return jc_fail(j, "',' or ']' expected");
	}
}

static inline int jc_word(struct jc *j, const char *w)
{
	size_t n = strlen(w);

	if (j->n - j->pos < n || memcmp(j->s + j->pos, w, n))
		return jc_fail(j, "unknown literal");
	j->pos += n;
	return 0;
}

static inline int jc_value(struct jc *j, int depth)
{
	if (depth > JC_MAX_DEPTH)
		return jc_fail(j, "nested too deep");
	if (j->pos >= j->n)
		return jc_fail(j, "value expected");
	switch (j->s[j->pos]) {
	case '{':
		return jc_object(j, depth);
	case '[':
		return jc_array(j, depth);
	case '"':
		return jc_string(j);
	case 't':
		return jc_word(j, "true");
	case 'f':
		return jc_word(j, "false");
	case 'n':
		return jc_word(j, "null");
	default:
		if (j->s[j->pos] == '-' || (j->s[j->pos] >= '0' && j->s[j->pos] <= '9'))
			return jc_number(j);
		return jc_fail(j, "value expected");
	}
}

/* Check that s[0..n) is exactly one JSON value. 0, or -1 with j->err and j->err_pos set. */
static inline int json_check(struct jc *j, const char *s, size_t n)
{
	memset(j, 0, sizeof(*j));
	j->s = (const unsigned char *)s;
	j->n = n;
	jc_ws(j);
	if (jc_value(j, 0))
		return -1;
	jc_ws(j);
	if (j->pos != n)
		return jc_fail(j, "trailing bytes after the value");
	return 0;
}

/* The top-level member named key (plain ASCII, no escapes needed), or NULL. */
static inline const struct jc_member *jc_get(const struct jc *j, const char *key)
{
	size_t i, kl = strlen(key);

	for (i = 0; i < j->n_top; i++) {
		const struct jc_member *m = &j->top[i];

		if (m->key_len == kl + 2 && !memcmp(j->s + m->key_off + 1, key, kl))
			return m;
	}
	return NULL;
}

/*
 * Decode an accepted JSON string (span with quotes, s[off..off+len)) into UTF-8 in out. Returns
 * the decoded length, or (size_t)-1 if it does not fit in cap bytes.
 */
static inline size_t jc_decode(const char *text, size_t off, size_t len, unsigned char *out,
			       size_t cap)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t i = off + 1, end = off + len - 1, o = 0;

	while (i < end) {
		if (cap - o < 4)
			return (size_t)-1;
		o += jc_utf8_put(out + o, jc_str_next(s, end, &i));
	}
	return o;
}

/*
 * What the encoder promises a string becomes once a JSON reader decodes it: valid UTF-8 as it
 * was, and U+FFFD for each byte that does not start a valid sequence. cap >= 3 * n.
 */
static inline size_t jc_expected(const unsigned char *in, size_t n, unsigned char *out)
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

/*
 * The rules for anything the agent writes to a log, in both formats: valid UTF-8, and none of
 * the characters that a terminal or a line-oriented reader would act on (C0 controls, DEL, the
 * C1 controls U+0080..U+009F, U+2028 and U+2029). With want_nl, the text must end in '\n' and
 * hold no other. Returns NULL or what is wrong, with its offset in *where.
 */
static inline const char *jc_line_check(const char *text, size_t n, int want_nl, size_t *where)
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

#endif /* BG_JSON_CHECK_H */
