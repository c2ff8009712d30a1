/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * text_check.h - the tests' one reader of the text rendering (agent/event_fmt.h, "Text"): the
 * unit tests and the fuzz target read a record's text back through it and compare it with the
 * JSON rendering of the same record, read by json_check.h.
 *
 * It is written from the format's rules, not from the encoder, and shares no code with it:
 *   - one line, or for an event with a hint that line and a second one, "  hint=VALUE"; each
 *     line obeys jc_line_rules(), has no trailing space, and separates its fields by one space;
 *   - the lead: "TS VERDICT EVENT PROTO ADDR:PORT" for an event, "TS agent STATE" for an agent
 *     record, told apart by the second word; ADDR is bare (up to the first colon), in brackets
 *     (hex digits, ':' and '.' only) or quoted; then " key=value" fields, the key [a-z0-9_]+,
 *     or "obj.key" for a field of an object;
 *   - a value is a JSON string ("..." to its closing quote, valid, no \u0000), or else a bare
 *     word of plain characters ([A-Za-z0-9._:/@+-]) up to the next space: "-" is null, digits
 *     a number, true and false a boolean, any other word a string; so a string that is one of
 *     those tokens is quoted. A JSON value (BG_FV_JSON) is always the string of its JSON text.
 * tc_same_fields() then holds the text to "the same fields as the JSON line": each key once,
 * exactly the JSON line's (a field of an object standing for a member of that object), the
 * key=value fields in JSON order, and each value the JSON one written the text way.
 */
#ifndef BG_TEXT_CHECK_H
#define BG_TEXT_CHECK_H

#include <stddef.h>

#include "json_check.h"

#define TC_KV 0 /* a " key=value" field */
#define TC_LEAD 1 /* a lead position, standing for its key */
#define TC_LINE2 2 /* the value of an event's "  hint=" line */

#define TC_MAX_KEY (2 * JC_MAX_KEY) /* "obj.key" */

struct tc_field {
	char key[TC_MAX_KEY];
	size_t voff, vlen; /* the value as written, in the text */
	int where; /* TC_* */
};

/* One text rendering, split. It holds no memory and points into the text it was given. */
struct tc {
	const char *s;
	size_t n;
	int lines; /* 1, or 2 with an event's hint line */
	struct tc_field f[JC_MAX_MEMBERS];
	size_t n_f;
	const char *err; /* NULL, or what is wrong at err_pos */
	size_t err_pos;
	char err_buf[256];
};

/*
 * Split s[0..n), one record's text rendering (ending in its last '\n'), into its fields: the
 * lead of an event (event != 0) or of an agent record, the key=value fields, the hint line.
 * 0, or -1 with t->err and t->err_pos set.
 */
int tc_split(struct tc *t, const char *s, size_t n, int event);

/* The field whose key is key ("obj.key" inside an object), or NULL. */
const struct tc_field *tc_get(const struct tc *t, const char *key);

/*
 * The text split by tc_split() renders the same fields as the JSON line j (checked by
 * jc_line()). raw_json: the keys, separated by spaces, of the fields that hold a BG_FV_JSON value
 * (the JSON text written as the value; "obj.key" inside an object), or NULL. 0, or -1 with
 * t->err set.
 */
int tc_same_fields(struct tc *t, const struct jc *j, const char *raw_json);

/* Whether a string value of n bytes is written bare in text; else it is quoted. */
int tc_bare_string(const unsigned char *s, size_t n);

/*
 * The bytes the value of f stands for: a quoted value decoded as a JSON string, a bare one as
 * it is. The length, or (size_t)-1 if it does not fit in cap.
 */
size_t tc_value(const struct tc *t, const struct tc_field *f, unsigned char *out, size_t cap);

#endif /* BG_TEXT_CHECK_H */
