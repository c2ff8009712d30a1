/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * event_fmt.h - encode ring-buffer events and agent lifecycle records as output lines.
 *
 * JSON: one object per line, terminated by '\n'. Every string from outside the agent (comm, rule
 * names, hints) is escaped so that any byte sequence, including quotes, backslashes, control
 * bytes, newlines and invalid UTF-8, still gives exactly one valid JSON line: invalid UTF-8 is
 * replaced by U+FFFD, control characters are \u00XX escaped.
 * Text: one human-readable line per event, with the same escaping of untrusted strings.
 */
#ifndef BG_EVENT_FMT_H
#define BG_EVENT_FMT_H

#include <time.h>

#include "bindguard.h"
#include "policy.h"
#include "strbuf.h"

#define BG_FORMAT_JSON 0
#define BG_FORMAT_TEXT 1

/* Append s (n bytes, may hold anything) as a quoted, escaped JSON string. */
int bg_json_string(struct bg_strbuf *sb, const char *s, size_t n);

/* Append an RFC 3339 UTC timestamp with microseconds, e.g. 2026-11-27T18:43:44.123456Z. */
int bg_rfc3339(struct bg_strbuf *sb, const struct timespec *wall);

/*
 * Append one event line.
 * @ev:   the record as the kernel wrote it (never trusted: comm may be unterminated garbage,
 *        enum fields may be out of range and are then printed as "unknown").
 * @rule: the policy rule ev->rule_id refers to, or NULL for the unlisted default / unknown id;
 *        NULL gives "rule":null and no "hint".
 * @wall: wall-clock time of the event.
 * Fields (JSON): ts, seq, event ("bind"), verdict, mode, rule, expose, action, hook, pid, comm,
 * uid, gid, cgroup_id, netns, family ("inet"/"inet6"), proto ("tcp"/"udp"), addr, port, then
 * "hint" when the rule has one and "confined_addr" for a confine.
 */
int bg_event_format(struct bg_strbuf *sb, int format, const struct bg_event *ev,
		    const struct bg_policy_rule *rule, const struct timespec *wall);

/*
 * Append one lifecycle line: {"ts":..,"event":"agent","state":STATE, ...extra}. @extra_json is
 * NULL or a string of already-encoded members without braces, e.g. "\"mode\":\"enforce\"".
 */
int bg_lifecycle_format(struct bg_strbuf *sb, int format, const char *state,
			const struct timespec *wall, const char *extra_json);

#endif /* BG_EVENT_FMT_H */
