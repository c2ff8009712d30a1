/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * explain.h - turn a libyaml syntax error into the mistake a person made, with its fix. Internal
 * to policy/ (parse.c is its one caller; the unit tests reach it through the parser).
 */
#ifndef BG_EXPLAIN_H
#define BG_EXPLAIN_H

#include <stddef.h>
#include <yaml.h>

/* A YAML collection the parser had seen when libyaml stopped. */
struct bg_yblock {
	yaml_mark_t at; /* its first key or "-" (block), or its bracket (flow); 0-based */
	unsigned char seq; /* 1: sequence, 0: mapping */
	unsigned char flow; /* 1: [...] or {...} */
	const char *role; /* "top level", "rule", "rules", "CIDR"; NULL when unknown */
	const char *const *keys; /* a mapping's keys, to tell where a stray key belongs */
	size_t n_keys;
};

#define BG_YBLOCK_MAX 16

/*
 * buf and len are the input as libyaml read it, problem is its problem mark. blocks holds the
 * collections still open, outermost first (n_open of them), then those that the last events
 * closed (n_closed), the first one closed first. Returns 1 and fills *at and msg (one line, no
 * control characters) when the mistake is recognised, 0 when libyaml's own message is the best
 * there is.
 */
int bg_yaml_explain(const char *buf, size_t len, yaml_mark_t problem,
		    const struct bg_yblock *blocks, size_t n_open, size_t n_closed, yaml_mark_t *at,
		    char *msg, size_t msglen);

/* 1 if the text at m (0-based) is key followed by ":" and a blank or the end of its line. */
int bg_yaml_key_at(const char *buf, size_t len, yaml_mark_t m, const char *key);

/*
 * User text inside a message: at most max bytes, cut short with "..." and escaped as a YAML
 * double-quoted string would be (\" \\ \xNN), so that a hostile value cannot forge a second
 * line in a log. UTF-8 passes through and a cut never splits a character. out must hold
 * BG_QUOTE_BUF(max) bytes. Returns out.
 */
#define BG_QUOTE_BUF(max) ((max)*4 + 8)
const char *bg_yaml_quote(const unsigned char *s, size_t n, size_t max, char *out, size_t outlen);

#endif /* BG_EXPLAIN_H */
