/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * json_check.h - the one strict JSON checker of the tests: the unit tests, the fuzz targets and
 * the integration tests all read the agent's output through it.
 *
 * The grammar is libjansson's (RFC 8259), read with duplicate keys rejected: a second "verdict"
 * in one object is exactly how an injected string would forge a field. jansson is independent
 * of agent/event_fmt.c, so a bug shared by the encoder and its checker is unlikely. On top of
 * the grammar, the rules the encoder promises, each kept here explicitly:
 *   - a value: exactly one, with optional whitespace around it, and nothing after it;
 *   - UTF-8 as RFC 3629 defines it (no overlong forms, no surrogates, nothing above U+10FFFF),
 *     no raw byte below 0x20 inside a string, only the RFC's escapes, and \u surrogate escapes
 *     only as a high-low pair (jansson rejects the rest; test_json_check.c proves it);
 *   - numbers in the RFC's grammar; integers beyond 64 bits are read as doubles (the agent
 *     writes u64 fields), and a number no double can hold is rejected;
 *   - nesting at most JC_MAX_DEPTH deep (jansson alone allows 2048);
 *   - a line (jc_line()): one object, ending in its only '\n', with no raw control character,
 *     DEL, C1 control, U+2028 or U+2029 anywhere (jc_line_rules()), and no \u0000 in any string
 *     (a reader in C would stop there). A lone value (jc_value()) may hold \u0000: the escaper
 *     writes it for a NUL byte.
 *
 * The members of a top-level object are kept in document order, each with its key decoded and
 * the byte spans of its key and value as written, so that a test can compare the exact text
 * the encoder produced (its escapes included) and not only what it decodes to; jc_decode()
 * reads a string value back.
 */
#ifndef BG_JSON_CHECK_H
#define BG_JSON_CHECK_H

#include <stddef.h>

#include <jansson.h>

#define JC_MAX_DEPTH 32
#define JC_MAX_MEMBERS 128 /* per top-level object: more than any line the agent writes */
#define JC_MAX_KEY 64 /* a decoded top-level key, with its NUL */

/* A member of the top-level object. */
struct jc_member {
	char key[JC_MAX_KEY]; /* decoded */
	size_t key_off, key_len; /* the key as written, with its quotes */
	size_t val_off, val_len; /* the value as written */
};

/*
 * The result of one check. It holds no memory (jansson's tree is freed before a check returns),
 * so it can be reused and dropped freely.
 */
struct jc {
	const char *s;
	size_t n;
	const char *err; /* NULL, or what is wrong at err_pos */
	size_t err_pos;
	char err_buf[JSON_ERROR_TEXT_LENGTH + 32];
	struct jc_member top[JC_MAX_MEMBERS]; /* when the value is an object */
	size_t n_top;
	int is_object;
};

/* Check that s[0..n) is exactly one JSON value. 0, or -1 with j->err and j->err_pos set. */
int jc_value(struct jc *j, const char *s, size_t n);

/*
 * Check that s[0..n) is one output line: the rules of jc_line_rules() with the final '\n', and
 * before it one JSON object with no \u0000. 0, or -1 with j->err and j->err_pos set.
 */
int jc_line(struct jc *j, const char *s, size_t n);

/* The top-level member whose decoded key is key, or NULL. */
const struct jc_member *jc_get(const struct jc *j, const char *key);

/*
 * The rules for anything the agent writes to a log, in both formats: valid UTF-8, and none of
 * the characters that a terminal or a line-oriented reader would act on (C0 controls, DEL, the
 * C1 controls U+0080..U+009F, U+2028 and U+2029). With want_nl, the text must end in '\n' and
 * hold no other. Returns NULL or what is wrong, with its offset in *where.
 */
const char *jc_line_rules(const char *text, size_t n, int want_nl, size_t *where);

/*
 * The JSON string that starts at s[pos] (a '"') inside a longer text (a text-format line): the
 * offset just past its closing quote, or 0 if it is not one valid string (no \u0000 either),
 * with the reason in *err.
 */
size_t jc_string_end(const char *s, size_t n, size_t pos, const char **err);

/*
 * Decode the JSON string text[off..off+len) (with its quotes) into out. Returns the decoded
 * length, or (size_t)-1 if it is not one valid string or does not fit in cap bytes.
 */
size_t jc_decode(const char *text, size_t off, size_t len, unsigned char *out, size_t cap);

/*
 * What the encoder promises a string becomes once a JSON reader decodes it: valid UTF-8 as it
 * was, and U+FFFD for each byte that does not start a valid sequence. cap >= 3 * n.
 */
size_t jc_expected(const unsigned char *in, size_t n, unsigned char *out);

/*
 * Length of the valid UTF-8 sequence at s (n bytes available), its code point in *cp; 0 if s
 * does not start one. Written out from the RFC 3629 section 4 table.
 */
size_t jc_utf8_seq(const unsigned char *s, size_t n, unsigned int *cp);

#endif /* BG_JSON_CHECK_H */
