// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * event_fmt.c - encode events and lifecycle records as JSON or text lines.
 *
 * Everything in a struct bg_event is untrusted: the encoder must turn any byte pattern into
 * exactly one line that a strict JSON parser accepts, because a log line that can be broken or
 * forged (an embedded newline in comm, say) lets a local process inject fake events into
 * whatever consumes the log.
 *
 * String encoding, in both formats:
 *   - " and \ are escaped, as are \n \r \t \b \f by their short forms;
 *   - every other C0 control byte, DEL (0x7f), the C1 controls U+0080..U+009F and the line
 *     separators U+2028 and U+2029 become \u00XX / \u20XX: none of them may reach a terminal
 *     or a line-oriented log reader raw;
 *   - valid UTF-8 (strictly: no overlong forms, no surrogates, nothing above U+10FFFF) passes
 *     through as is;
 *   - each byte that does not start a valid sequence becomes the six ASCII characters \ufffd,
 *     one per byte, so the number of bad bytes stays visible. The escaped form (not the raw
 *     U+FFFD bytes) keeps a replacement recognisable in the text format too.
 *
 * On failure every function leaves sb as it was at entry (the sticky error aside).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "event_fmt.h"

#define UNKNOWN "unknown"

/*
 * Length of the valid UTF-8 sequence at s (at most n bytes available), with its code point in
 * *cp; 0 if s does not start one. The ranges are those of RFC 3629 section 4, which excludes
 * overlong forms and surrogates by construction.
 */
static size_t utf8_seq(const unsigned char *s, size_t n, unsigned int *cp)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len, i;
	unsigned int c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0f;
		if (s[0] == 0xe0)
			lo = 0xa0; /* below: overlong */
		else if (s[0] == 0xed)
			hi = 0x9f; /* above: surrogates D800..DFFF */
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07;
		if (s[0] == 0xf0)
			lo = 0x90; /* below: overlong */
		else if (s[0] == 0xf4)
			hi = 0x8f; /* above: beyond U+10FFFF */
	} else {
		return 0; /* continuation byte, C0/C1 (always overlong) or F5..FF */
	}
	if (n < len)
		return 0;
	if (s[1] < lo || s[1] > hi)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	*cp = c;
	return len;
}

/* Bytes that need no escaping and are not the start of a multi-byte sequence. */
static int json_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

static void json_escape_cp(struct bg_strbuf *sb, unsigned int cp)
{
	switch (cp) {
	case '"':
		bg_strbuf_puts(sb, "\\\"");
		break;
	case '\\':
		bg_strbuf_puts(sb, "\\\\");
		break;
	case '\n':
		bg_strbuf_puts(sb, "\\n");
		break;
	case '\r':
		bg_strbuf_puts(sb, "\\r");
		break;
	case '\t':
		bg_strbuf_puts(sb, "\\t");
		break;
	case '\b':
		bg_strbuf_puts(sb, "\\b");
		break;
	case '\f':
		bg_strbuf_puts(sb, "\\f");
		break;
	default:
		bg_strbuf_printf(sb, "\\u%04x", cp);
		break;
	}
}

/* Append the escaped body of a JSON string, without quotes. Errors land in sb->err. */
static void json_escape(struct bg_strbuf *sb, const unsigned char *s, size_t n)
{
	size_t i = 0, run, len;
	unsigned int cp;

	while (i < n) {
		for (run = i; run < n && json_plain(s[run]); run++)
			;
		if (run > i) {
			bg_strbuf_append(sb, (const char *)s + i, run - i);
			i = run;
			continue;
		}
		len = utf8_seq(s + i, n - i, &cp);
		if (!len) {
			bg_strbuf_puts(sb, "\\ufffd");
			i++;
		} else if (cp < 0x20 || cp == '"' || cp == '\\' || (cp >= 0x7f && cp <= 0x9f) ||
			   cp == 0x2028 || cp == 0x2029) {
			json_escape_cp(sb, cp);
			i += len;
		} else {
			bg_strbuf_append(sb, (const char *)s + i, len);
			i += len;
		}
	}
}

int bg_json_string(struct bg_strbuf *sb, const char *s, size_t n)
{
	size_t start;

	if (!sb || (!s && n))
		return -EINVAL;
	if (sb->err)
		return sb->err;
	start = sb->len;
	bg_strbuf_append(sb, "\"", 1);
	json_escape(sb, (const unsigned char *)s, n);
	bg_strbuf_append(sb, "\"", 1);
	if (sb->err)
		bg_strbuf_truncate(sb, start);
	return sb->err;
}

/*
 * Microseconds are truncated, not rounded, so that .9999995 can never carry into the seconds
 * that were already printed. Years outside 0000..9999 have no RFC 3339 form and are refused.
 */
static int fmt_rfc3339(char *buf, size_t size, const struct timespec *wall)
{
	struct tm tm;
	int n;

	if (!wall || wall->tv_nsec < 0 || wall->tv_nsec >= 1000000000L)
		return -EINVAL;
	if (!gmtime_r(&wall->tv_sec, &tm))
		return -EINVAL;
	if (tm.tm_year < -1900 || tm.tm_year > 9999 - 1900)
		return -EINVAL;
	n = snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		     (long)(wall->tv_nsec / 1000));
	if (n < 0 || (size_t)n >= size)
		return -EINVAL;
	return 0;
}

/* Big enough for any int fields snprintf could be handed, so the compiler sees no truncation. */
#define TS_BUF 128

int bg_rfc3339(struct bg_strbuf *sb, const struct timespec *wall)
{
	char ts[TS_BUF];
	int err;

	if (!sb)
		return -EINVAL;
	err = fmt_rfc3339(ts, sizeof(ts), wall);
	if (err)
		return err;
	return bg_strbuf_puts(sb, ts);
}

/*
 * IPv4 is carried v4-mapped, so its dotted quad is the last four bytes. Any other family is
 * shown as the full 16 bytes in IPv6 notation: nothing from the event is hidden.
 */
static int fmt_addr(char *buf, socklen_t size, __u8 family, const __u8 addr[16])
{
	const void *src = addr;
	int af = AF_INET6;

	if (family == BG_AF_INET) {
		af = AF_INET;
		src = addr + 12;
	}
	return inet_ntop(af, src, buf, size) ? 0 : -EINVAL;
}

/* The names come from policy/names.c, which answers "?" for a value it does not know. */
static const char *known(const char *name)
{
	if (!name || !name[0] || !strcmp(name, "?"))
		return UNKNOWN;
	return name;
}

static const char *event_str(__u8 type)
{
	switch (type) {
	case BG_EVENT_BIND:
		return "bind";
	case BG_EVENT_LISTEN:
		return "listen";
	case BG_EVENT_ACCEPT:
		return "accept";
	case BG_EVENT_EXISTING:
		return "existing";
	default:
		return UNKNOWN;
	}
}

static const char *hook_str(__u8 hook)
{
	switch (hook) {
	case BG_HOOK_BIND:
		return "bind";
	case BG_HOOK_POST_BIND:
		return "post_bind";
	case BG_HOOK_SOCK_OPS:
		return "sockops";
	case BG_HOOK_ITER:
		return "iter";
	default:
		return UNKNOWN;
	}
}

static const char *family_str(__u8 family)
{
	switch (family) {
	case BG_AF_INET:
		return "inet";
	case BG_AF_INET6:
		return "inet6";
	default:
		return UNKNOWN;
	}
}

/*
 * The rule is named by its service, else by its software. A rule with neither (or an empty
 * one) gives NULL, printed as null like the unlisted default.
 */
static const char *rule_name(const struct bg_policy_rule *rule)
{
	if (!rule)
		return NULL;
	if (rule->service && rule->service[0])
		return rule->service;
	if (rule->software && rule->software[0])
		return rule->software;
	return NULL;
}

static const char *rule_hint(const struct bg_policy_rule *rule)
{
	return rule && rule->hint && rule->hint[0] ? rule->hint : NULL;
}

static void json_key_str(struct bg_strbuf *sb, const char *key, const char *val)
{
	bg_strbuf_printf(sb, ",\"%s\":", key);
	if (val)
		bg_json_string(sb, val, strlen(val));
	else
		bg_strbuf_puts(sb, "null");
}

static void json_key_u64(struct bg_strbuf *sb, const char *key, unsigned long long val)
{
	bg_strbuf_printf(sb, ",\"%s\":%llu", key, val);
}

/* The pre-formatted parts of an event line: everything that can fail other than memory. */
struct event_parts {
	char ts[TS_BUF];
	char addr[INET6_ADDRSTRLEN];
	char addr2[INET6_ADDRSTRLEN];
	int is_confine;
	int is_accept;
};

static int event_parts_init(struct event_parts *p, const struct bg_event *ev,
			    const struct timespec *wall)
{
	int err;

	err = fmt_rfc3339(p->ts, sizeof(p->ts), wall);
	if (err)
		return err;
	err = fmt_addr(p->addr, sizeof(p->addr), ev->family, ev->addr);
	if (err)
		return err;
	p->is_confine = ev->verdict == BG_VERDICT_CONFINE;
	p->is_accept = ev->type == BG_EVENT_ACCEPT;
	if (p->is_confine || p->is_accept)
		return fmt_addr(p->addr2, sizeof(p->addr2), ev->family, ev->addr2);
	return 0;
}

static void event_json(struct bg_strbuf *sb, const struct bg_event *ev,
		       const struct bg_policy_rule *rule, const struct event_parts *p)
{
	const char *hint = rule_hint(rule);

	bg_strbuf_printf(sb, "{\"ts\":\"%s\"", p->ts);
	json_key_u64(sb, "seq", ev->seq);
	json_key_str(sb, "event", event_str(ev->type));
	json_key_str(sb, "verdict", known(bg_verdict_str(ev->verdict)));
	json_key_str(sb, "mode", known(bg_mode_str(ev->mode)));
	json_key_str(sb, "rule", rule_name(rule));
	json_key_str(sb, "expose", known(bg_expose_str(ev->expose)));
	json_key_str(sb, "action", known(bg_action_str(ev->action)));
	json_key_str(sb, "hook", hook_str(ev->hook));
	/* An accept completes in softirq: there is no caller to describe. */
	if (!(ev->flags & BG_EV_F_NO_TASK)) {
		json_key_u64(sb, "pid", ev->pid);
		bg_strbuf_puts(sb, ",\"comm\":");
		bg_json_string(sb, ev->comm, strnlen(ev->comm, BG_COMM_LEN));
		json_key_u64(sb, "uid", ev->uid);
		json_key_u64(sb, "gid", ev->gid);
		json_key_u64(sb, "cgroup_id", ev->cgroup_id);
	}
	json_key_u64(sb, "netns", ev->netns);
	json_key_str(sb, "family", family_str(ev->family));
	json_key_str(sb, "proto", known(bg_proto_str(ev->proto)));
	json_key_str(sb, "addr", p->addr);
	json_key_u64(sb, "port", ev->port);
	if (hint)
		json_key_str(sb, "hint", hint);
	if (p->is_confine)
		json_key_str(sb, "confined_addr", p->addr2);
	if (p->is_accept) {
		json_key_str(sb, "peer_addr", p->addr2);
		json_key_u64(sb, "peer_port", ev->port2);
	}
	if (ev->flags & BG_EV_F_CLOSED)
		bg_strbuf_puts(sb, ",\"closed\":true");
	bg_strbuf_puts(sb, "}\n");
}

/* ASCII only, by hand: the <ctype.h> classes depend on the locale. */
static int ascii_word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("-_.:/@+", c));
}

/*
 * A value in the text format: bare when it is one harmless word (the common case, e.g.
 * rule=mysql), otherwise quoted and escaped, so it can never carry a space, '=' or newline that
 * would make the line parse differently.
 */
static void text_word(struct bg_strbuf *sb, const char *s)
{
	const char *c;

	for (c = s; *c; c++) {
		if (!ascii_word_char(*c))
			break;
	}
	if (*s && !*c)
		bg_strbuf_puts(sb, s);
	else
		bg_json_string(sb, s, strlen(s));
}

static void text_addr(struct bg_strbuf *sb, __u8 family, const char *addr)
{
	if (family == BG_AF_INET)
		bg_strbuf_puts(sb, addr);
	else
		bg_strbuf_printf(sb, "[%s]", addr);
}

static void event_text(struct bg_strbuf *sb, const struct bg_event *ev,
		       const struct bg_policy_rule *rule, const struct event_parts *p)
{
	const char *verdict = known(bg_verdict_str(ev->verdict));
	const char *name = rule_name(rule);
	const char *hint = rule_hint(rule);
	const char *c;

	bg_strbuf_printf(sb, "%s ", p->ts);
	for (c = verdict; *c; c++) {
		char up = *c >= 'a' && *c <= 'z' ? (char)(*c - 'a' + 'A') : *c;

		bg_strbuf_append(sb, &up, 1);
	}
	bg_strbuf_printf(sb, " %s %s ", event_str(ev->type), known(bg_proto_str(ev->proto)));
	text_addr(sb, ev->family, p->addr);
	bg_strbuf_printf(sb, ":%u rule=", ev->port);
	text_word(sb, name ? name : "-");
	bg_strbuf_printf(
		sb, " expose=%s action=%s mode=%s pid=%u comm=", known(bg_expose_str(ev->expose)),
		known(bg_action_str(ev->action)), known(bg_mode_str(ev->mode)), ev->pid);
	bg_json_string(sb, ev->comm, strnlen(ev->comm, BG_COMM_LEN));
	bg_strbuf_printf(sb, " uid=%u cgroup=%llu netns=%u", ev->uid,
			 (unsigned long long)ev->cgroup_id, ev->netns);
	if (p->is_confine) {
		bg_strbuf_puts(sb, " confined=");
		text_addr(sb, ev->family, p->addr2);
	}
	if (p->is_accept) {
		bg_strbuf_puts(sb, " peer=");
		text_addr(sb, ev->family, p->addr2);
		bg_strbuf_printf(sb, ":%u", ev->port2);
	}
	if (ev->flags & BG_EV_F_CLOSED)
		bg_strbuf_puts(sb, " closed");
	if (hint) {
		bg_strbuf_puts(sb, " hint=");
		bg_json_string(sb, hint, strlen(hint));
	}
	bg_strbuf_puts(sb, "\n");
}

int bg_event_format(struct bg_strbuf *sb, int format, const struct bg_event *ev,
		    const struct bg_policy_rule *rule, const struct timespec *wall)
{
	struct event_parts parts;
	size_t start;
	int err;

	if (!sb || !ev || !wall || (format != BG_FORMAT_JSON && format != BG_FORMAT_TEXT))
		return -EINVAL;
	if (sb->err)
		return sb->err;
	err = event_parts_init(&parts, ev, wall);
	if (err)
		return err;

	start = sb->len;
	if (format == BG_FORMAT_JSON)
		event_json(sb, ev, rule, &parts);
	else
		event_text(sb, ev, rule, &parts);
	if (sb->err)
		bg_strbuf_truncate(sb, start);
	return sb->err;
}

/*
 * extra_json is the caller's, already encoded, but it is still checked for raw control bytes:
 * one stray newline would split the record, and encoded JSON never needs one.
 */
static int extra_ok(const char *extra)
{
	const unsigned char *c;

	for (c = (const unsigned char *)extra; *c; c++) {
		if (*c < 0x20 || *c == 0x7f)
			return 0;
	}
	return 1;
}

int bg_lifecycle_format(struct bg_strbuf *sb, int format, const char *state,
			const struct timespec *wall, const char *extra_json)
{
	char ts[TS_BUF];
	size_t start;
	int err;

	if (!sb || !state || (format != BG_FORMAT_JSON && format != BG_FORMAT_TEXT))
		return -EINVAL;
	if (extra_json && !extra_ok(extra_json))
		return -EINVAL;
	if (sb->err)
		return sb->err;
	err = fmt_rfc3339(ts, sizeof(ts), wall);
	if (err)
		return err;

	start = sb->len;
	if (format == BG_FORMAT_JSON) {
		bg_strbuf_printf(sb, "{\"ts\":\"%s\",\"event\":\"agent\",\"state\":", ts);
		bg_json_string(sb, state, strlen(state));
		if (extra_json && extra_json[0])
			bg_strbuf_printf(sb, ",%s", extra_json);
		bg_strbuf_puts(sb, "}\n");
	} else {
		bg_strbuf_printf(sb, "%s agent ", ts);
		text_word(sb, state);
		if (extra_json && extra_json[0])
			bg_strbuf_printf(sb, " %s", extra_json);
		bg_strbuf_puts(sb, "\n");
	}
	if (sb->err)
		bg_strbuf_truncate(sb, start);
	return sb->err;
}
