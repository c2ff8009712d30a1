/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * event_fmt.h - encode ring-buffer events and agent lifecycle records as output lines.
 *
 * JSON: one object per line, terminated by '\n'. Every string value (comm, rule names, hints,
 * paths, errors) is escaped so that any byte sequence, including quotes, backslashes, control
 * bytes, newlines and invalid UTF-8, still gives exactly one valid JSON line (bg_json_string()):
 * " and \ as \" and \\, \n \r \t \b \f by their short forms, every other C0 control, DEL,
 * the C1 controls and U+2028/U+2029 as \u00XX / \u20XX, and each byte that does not start a
 * valid UTF-8 sequence as \ufffd; valid UTF-8 passes as it is.
 * Text: one human-readable line per record (bg_record_render()), fields separated by one space:
 *   an event:        TS VERDICT EVENT PROTO ADDR:PORT key=value ...
 *                    and, when it has a hint, a second line "  hint=VALUE";
 *   an agent record: TS agent STATE key=value ...
 * The lead words are the values of the fields ts, verdict, event, proto, addr and port (of an
 * event) or ts, event and state (of an agent record, whose event is "agent"), which a record
 * must have at its top level. They are written as any value (below), except that VERDICT is in
 * capitals (DENY) when it is a bare word without capitals, and ADDR, when it holds a colon, is
 * in brackets ([2001:db8::1]) if made of hex digits, ':' and '.' only, else quoted. So the second word, "agent" or an event's verdict, tells the kinds apart, and ADDR
 * ends at its first colon, its ']' or its closing quote. The other fields follow in the order
 * of the JSON line, a field of an object as obj.key=VALUE. A value is one of
 *   -          null (BG_FV_NULL): the format's "none";
 *   digits     a number (BG_FV_UINT); true, false: a boolean (BG_FV_BOOL);
 *   WORD       a string of the plain characters [A-Za-z0-9._:/@+-] that is none of the above;
 *   "..."      any other string, quoted and escaped exactly as in JSON, so "-", "true", "12"
 *              or "a b" as strings; and a JSON value (BG_FV_JSON) always, as the string of
 *              its JSON text.
 * So a value never holds a raw space, '=', quote or control character, and a string never
 * reads back as a null, a boolean or a number.
 */
#ifndef BG_EVENT_FMT_H
#define BG_EVENT_FMT_H

#include <time.h>

#include "bindguard.h"
#include "policy.h"
#include "strbuf.h"

/*
 * The output formats, one list for every command: records render as JSON or TEXT; the CLI's
 * listings (status, probe) as TABLE (fits 80 columns), WIDE (every column, nothing cut) or JSON.
 */
#define BG_FORMAT_JSON 0
#define BG_FORMAT_TEXT 1
#define BG_FORMAT_TABLE 2
#define BG_FORMAT_WIDE 3

/*
 * Append s (n bytes, may hold anything, NUL included: \u0000) as a quoted, escaped JSON string.
 * 0; -EINVAL for sb NULL, or s NULL with n > 0; sb's error. On failure sb is as it was.
 */
int bg_json_string(struct bg_strbuf *sb, const char *s, size_t n);

/*
 * Format an address as the kernel records it (IPv4 v4-mapped in addr): dotted for BG_AF_INET,
 * IPv6 text for anything else, so nothing of the 16 bytes is hidden. 0, or -EINVAL when it does
 * not fit in size.
 */
int bg_fmt_addr(char *buf, size_t size, __u8 family, const __u8 addr[16]);

/* A rule's name: its service, else its software; NULL for neither, or for rule NULL. */
const char *bg_rule_name(const struct bg_policy_rule *rule);

/* Append an RFC 3339 UTC timestamp with microseconds, e.g. 2026-11-27T18:43:44.123456Z. */
int bg_rfc3339(struct bg_strbuf *sb, const struct timespec *wall);

/*
 * A record is one list of fields, rendered three ways from that one list so the formats cannot
 * drift apart: JSON (one object per line), text (key=value) and journal fields (BINDGUARD_KEY=).
 * The add functions below append a field (a full record sets overflow instead); nothing is
 * checked until a rendering, which writes nothing for a record that breaks one of these rules
 * (-EINVAL):
 *   - at least two fields, and no more were added than BG_RECORD_MAX_FIELDS;
 *   - kind BG_REC_EVENT or BG_REC_AGENT, and priority 0..7;
 *   - keys [a-z0-9_]+; objects one level deep, each closed;
 *   - each key once at its level (the top level, or inside one object), and no two value fields
 *     with the same journal name ("pod_uid" at the top and "uid" in object "pod" would both be
 *     BINDGUARD_POD_UID): a JSON object with a member twice is read differently by different
 *     consumers, which is how an injected field would pass for the real one;
 *   - the lead's fields at the top level, not objects: ts, verdict, event, proto, addr and port
 *     for an event, ts, event and state for an agent record, whose event is "agent";
 *   - each JSON value (BG_FV_JSON, e.g. the features map) exactly one JSON value, since it is
 *     written into the JSON line as it is (1,"verdict":"allow" would add a member): printable
 *     ASCII, read by jansson with duplicate members and \u0000 refused, nested at most
 *     BG_JSON_MAX_DEPTH deep. The spaces around it are dropped; text writes it as a quoted
 *     string of its JSON text, the journal as its JSON text.
 * String values may hold any bytes: every rendering escapes them. Keys and values are not
 * copied: they point into the record or into storage that outlives the rendering.
 */
#define BG_FV_NULL 0
#define BG_FV_STR 1
#define BG_FV_UINT 2
#define BG_FV_BOOL 3
#define BG_FV_JSON 4
#define BG_FV_OBJ 5 /* opens a nested object named key (one level); BG_FV_END closes it */
#define BG_FV_END 6

struct bg_field {
	const char *key; /* "end" for BG_FV_END */
	int type; /* BG_FV_* */
	const char *s; /* BG_FV_STR, BG_FV_JSON: len bytes (a string's may hold NULs) */
	size_t len;
	unsigned long long u; /* BG_FV_UINT; BG_FV_BOOL: 0 or 1 */
};

#define BG_REC_EVENT 1 /* a ring-buffer or reconcile event */
#define BG_REC_AGENT 2 /* a lifecycle or status record of the agent */
#define BG_RECORD_MAX_FIELDS 48
#define BG_JSON_MAX_DEPTH 16 /* nesting of a BG_FV_JSON value: [[1]] is 2 */

struct bg_record {
	int kind; /* BG_REC_* */
	/* syslog priority 0..7, for the journal and syslog; an event's: deny 4, allow 6, else 5 */
	int priority;
	int overflow; /* more fields than BG_RECORD_MAX_FIELDS were added: not renderable */
	size_t n;
	struct bg_field f[BG_RECORD_MAX_FIELDS];
	char ts[64]; /* storage for the values the record formats itself */
	char addr[48];
	char addr2[48];
};

struct bg_pod;

/* Who an event is about, beyond what the kernel wrote (all optional). */
struct bg_event_meta {
	const struct bg_policy_rule *rule; /* NULL: the unlisted default or an unknown id */
	const struct timespec *wall; /* wall-clock time of the event (required) */
	const char *exe; /* the process's executable */
	const char *cgroup; /* the cgroup's path, relative to the cgroup v2 mount */
	const char *unit; /* the systemd unit that path names */
	const struct bg_pod *pod; /* the Kubernetes pod and container (whois.h) */
	const char *scope; /* the policy scope whose rules judged it */
};

/*
 * Build the field list of an event (README "Events"): ts, seq, event, verdict, mode, rule,
 * expose, action, hook; unless BG_EV_F_NO_TASK pid, comm, exe (m->exe), uid, gid, cgroup_id,
 * cgroup, unit (m->cgroup, m->unit) and the object pod (m->pod); scope (m->scope); netns,
 * family, proto, addr, port; then hint when the rule has one, confined_addr for a confine,
 * peer_addr and peer_port for an accept, closed with BG_EV_F_CLOSED and suppressed when not 0.
 * Nothing of ev is trusted: comm is read up to its first NUL within BG_COMM_LEN, and an enum out
 * of range is "unknown". 0; -EINVAL (an argument NULL, a time RFC 3339 cannot write, an
 * address that does not format); -E2BIG (more fields than a record holds).
 */
int bg_record_event(struct bg_record *r, const struct bg_event *ev, const struct bg_event_meta *m);
/*
 * Start an agent record {"ts":..,"event":"agent","state":STATE}; add fields after it. priority
 * is a syslog priority, 0 (LOG_EMERG) to 7 (LOG_DEBUG). 0, or -EINVAL (no record or state, a
 * time RFC 3339 cannot write, a priority outside 0..7) with a record that renders nowhere.
 */
int bg_record_agent(struct bg_record *r, const char *state, const struct timespec *wall,
		    int priority);
void bg_record_str(struct bg_record *r, const char *key, const char *s); /* NULL: null */
/* At most n bytes of s, up to its first NUL (a kernel buffer may hold garbage after it). */
void bg_record_strn(struct bg_record *r, const char *key, const char *s, size_t n);
void bg_record_uint(struct bg_record *r, const char *key, unsigned long long v);
void bg_record_bool(struct bg_record *r, const char *key, int v); /* any non-zero v: true */
/* JSON text (NUL-terminated), checked at rendering; NULL: null. */
void bg_record_json(struct bg_record *r, const char *key, const char *json);
/*
 * Fields between these two form the object "key": {...} (text: key.sub=, journal:
 * BINDGUARD_KEY_SUB=). One level only.
 */
void bg_record_obj(struct bg_record *r, const char *key);
void bg_record_end(struct bg_record *r);
/*
 * The first top-level field named key (an object's own field included, not a field inside one),
 * or NULL: also for r or key NULL.
 */
const struct bg_field *bg_record_get(const struct bg_record *r, const char *key);

/*
 * Append the record as one JSON line (BG_FORMAT_JSON), or as text (BG_FORMAT_TEXT: the line, and
 * an event's hint line). 0; -EINVAL for a bad argument or a record that breaks a rule of this
 * file (nothing is written, whatever the format); -ENOMEM. On failure sb is as it was.
 */
int bg_record_render(struct bg_strbuf *sb, int format, const struct bg_record *r);
/*
 * Append the text rendering's first line without the time stamp and the newline (an event's hint
 * line left out): a journal MESSAGE, the stderr mirror. Returns as bg_record_render().
 */
int bg_record_summary(struct bg_strbuf *sb, const struct bg_record *r);

/*
 * Append the record as journal fields for the journal sink, each "NAME=value" followed by a
 * NUL: MESSAGE (the summary), PRIORITY (r->priority, one digit), SYSLOG_IDENTIFIER=bindguard,
 * then BINDGUARD_KEY=value for each field that is not null, BINDGUARD_OBJ_KEY= inside an
 * object: a string JSON-escaped without its quotes, a number in digits, a boolean true or
 * false, a JSON value as its JSON text. No value holds a NUL or a newline. Returns the number
 * of fields (at most BG_JOURNAL_MAX_FIELDS), or -EINVAL / -ENOMEM with sb as it was.
 */
#define BG_JOURNAL_MAX_FIELDS (BG_RECORD_MAX_FIELDS + 3)
int bg_record_journal(struct bg_strbuf *sb, const struct bg_record *r);

/*
 * Append one event as bg_record_event() and bg_record_render() would, with only a rule and a
 * time (no exe, cgroup, unit, pod or scope).
 * @ev:   the record as the kernel wrote it (never trusted).
 * @rule: the policy rule ev->rule_id refers to, or NULL for the unlisted default / unknown id;
 *        NULL gives "rule":null and no "hint".
 * @wall: wall-clock time of the event.
 * 0, -EINVAL or -ENOMEM; on failure sb is as it was.
 */
int bg_event_format(struct bg_strbuf *sb, int format, const struct bg_event *ev,
		    const struct bg_policy_rule *rule, const struct timespec *wall);

#endif /* BG_EVENT_FMT_H */
