// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * event_fmt.c - encode events and lifecycle records as JSON or text lines, or journal fields.
 *
 * Everything in a struct bg_event is untrusted: the encoder must turn any byte pattern into
 * exactly one line that a strict JSON parser accepts, because a log line that can be broken or
 * forged (an embedded newline in comm, say) lets a local process inject fake events into
 * whatever consumes the log. The same holds for the text line's shape (event_fmt.h, "Text").
 *
 * String encoding, in every format (text quotes only what is not one plain word; the journal
 * drops the quotes):
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

#include <jansson.h>

#include "event_fmt.h"
#include "whois.h"

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
int bg_fmt_addr(char *buf, size_t size, __u8 family, const __u8 addr[16])
{
	const void *src = addr;
	int af = AF_INET6;

	if (family == BG_AF_INET) {
		af = AF_INET;
		src = addr + 12;
	}
	return inet_ntop(af, src, buf, (socklen_t)size) ? 0 : -EINVAL;
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
const char *bg_rule_name(const struct bg_policy_rule *rule)
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

/* ---- One field list per record, three renderings -------------------------------------------- */

static struct bg_field *rec_next(struct bg_record *r, const char *key)
{
	struct bg_field *f;

	if (r->n >= BG_RECORD_MAX_FIELDS) {
		r->overflow = 1;
		return NULL;
	}
	f = &r->f[r->n++];
	memset(f, 0, sizeof(*f));
	f->key = key;
	return f;
}

void bg_record_strn(struct bg_record *r, const char *key, const char *s, size_t n)
{
	struct bg_field *f = rec_next(r, key);

	if (!f)
		return;
	f->type = s ? BG_FV_STR : BG_FV_NULL;
	f->s = s;
	f->len = s ? strnlen(s, n) : 0;
}

void bg_record_str(struct bg_record *r, const char *key, const char *s)
{
	bg_record_strn(r, key, s, s ? strlen(s) : 0);
}

void bg_record_uint(struct bg_record *r, const char *key, unsigned long long v)
{
	struct bg_field *f = rec_next(r, key);

	if (f) {
		f->type = BG_FV_UINT;
		f->u = v;
	}
}

void bg_record_bool(struct bg_record *r, const char *key, int v)
{
	struct bg_field *f = rec_next(r, key);

	if (f) {
		f->type = BG_FV_BOOL;
		f->u = !!v;
	}
}

void bg_record_json(struct bg_record *r, const char *key, const char *json)
{
	struct bg_field *f = rec_next(r, key);

	if (!f)
		return;
	f->type = json ? BG_FV_JSON : BG_FV_NULL;
	f->s = json;
	f->len = json ? strlen(json) : 0;
}

void bg_record_obj(struct bg_record *r, const char *key)
{
	struct bg_field *f = rec_next(r, key);

	if (f)
		f->type = BG_FV_OBJ;
}

void bg_record_end(struct bg_record *r)
{
	struct bg_field *f = rec_next(r, "end");

	if (f)
		f->type = BG_FV_END;
}

/* Top-level fields only: a key inside an object names another field ("pod"'s "uid"). */
const struct bg_field *bg_record_get(const struct bg_record *r, const char *key)
{
	int depth = 0;
	size_t i;

	if (!r || !key)
		return NULL;
	for (i = 0; i < r->n && i < BG_RECORD_MAX_FIELDS; i++) {
		if (r->f[i].type == BG_FV_END) {
			depth -= depth > 0;
			continue;
		}
		if (!depth && r->f[i].key && !strcmp(r->f[i].key, key))
			return &r->f[i];
		if (r->f[i].type == BG_FV_OBJ)
			depth++;
	}
	return NULL;
}

/* Syslog priorities (<syslog.h>), by what happened: a refused bind is worth a warning. */
#define PRI_WARNING 4
#define PRI_NOTICE 5
#define PRI_INFO 6
#define PRI_MAX 7 /* LOG_DEBUG: a priority is 0..7 */

static void record_pod(struct bg_record *r, const struct bg_pod *pod)
{
	bg_record_obj(r, "pod");
	bg_record_str(r, "namespace", pod->ns[0] ? pod->ns : NULL);
	bg_record_str(r, "name", pod->name[0] ? pod->name : NULL);
	bg_record_str(r, "uid", pod->uid[0] ? pod->uid : NULL);
	bg_record_str(r, "container", pod->container[0] ? pod->container : NULL);
	bg_record_str(r, "container_id", pod->container_id[0] ? pod->container_id : NULL);
	bg_record_str(r, "image", pod->image[0] ? pod->image : NULL);
	bg_record_end(r);
}

int bg_record_event(struct bg_record *r, const struct bg_event *ev, const struct bg_event_meta *m)
{
	const struct bg_policy_rule *rule = m ? m->rule : NULL;
	const char *hint = rule_hint(rule);
	int err, confine, accept;

	if (!r || !ev || !m || !m->wall)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->kind = BG_REC_EVENT;
	err = fmt_rfc3339(r->ts, sizeof(r->ts), m->wall);
	if (err)
		return err;
	err = bg_fmt_addr(r->addr, sizeof(r->addr), ev->family, ev->addr);
	if (err)
		return err;
	confine = ev->verdict == BG_VERDICT_CONFINE;
	accept = ev->type == BG_EVENT_ACCEPT;
	if ((confine || accept) && bg_fmt_addr(r->addr2, sizeof(r->addr2), ev->family, ev->addr2))
		return -EINVAL;
	switch (ev->verdict) {
	case BG_VERDICT_DENY:
		r->priority = PRI_WARNING;
		break;
	case BG_VERDICT_ALLOW:
		r->priority = PRI_INFO;
		break;
	default:
		r->priority = PRI_NOTICE;
		break;
	}

	bg_record_str(r, "ts", r->ts);
	bg_record_uint(r, "seq", ev->seq);
	bg_record_str(r, "event", event_str(ev->type));
	bg_record_str(r, "verdict", known(bg_verdict_str(ev->verdict)));
	bg_record_str(r, "mode", known(bg_mode_str(ev->mode)));
	bg_record_str(r, "rule", bg_rule_name(rule));
	bg_record_str(r, "expose", known(bg_expose_str(ev->expose)));
	bg_record_str(r, "action", known(bg_action_str(ev->action)));
	bg_record_str(r, "hook", hook_str(ev->hook));
	/* No task fields where nothing is known (an accept on a listener older than the agent). */
	if (!(ev->flags & BG_EV_F_NO_TASK)) {
		bg_record_uint(r, "pid", ev->pid);
		bg_record_strn(r, "comm", ev->comm, BG_COMM_LEN);
		if (m->exe)
			bg_record_str(r, "exe", m->exe);
		bg_record_uint(r, "uid", ev->uid);
		bg_record_uint(r, "gid", ev->gid);
		bg_record_uint(r, "cgroup_id", ev->cgroup_id);
		if (m->cgroup)
			bg_record_str(r, "cgroup", m->cgroup);
		if (m->unit)
			bg_record_str(r, "unit", m->unit);
		if (m->pod)
			record_pod(r, m->pod);
	}
	if (m->scope)
		bg_record_str(r, "scope", m->scope);
	bg_record_uint(r, "netns", ev->netns);
	bg_record_str(r, "family", family_str(ev->family));
	bg_record_str(r, "proto", known(bg_proto_str(ev->proto)));
	bg_record_str(r, "addr", r->addr);
	bg_record_uint(r, "port", ev->port);
	if (hint)
		bg_record_str(r, "hint", hint);
	if (confine)
		bg_record_str(r, "confined_addr", r->addr2);
	if (accept) {
		bg_record_str(r, "peer_addr", r->addr2);
		bg_record_uint(r, "peer_port", ev->port2);
	}
	if (ev->flags & BG_EV_F_CLOSED)
		bg_record_bool(r, "closed", 1);
	if (ev->suppressed)
		bg_record_uint(r, "suppressed", ev->suppressed);
	return r->overflow ? -E2BIG : 0;
}

int bg_record_agent(struct bg_record *r, const char *state, const struct timespec *wall,
		    int priority)
{
	int err;

	if (!r || !state)
		return -EINVAL;
	memset(r, 0, sizeof(*r));
	r->kind = BG_REC_AGENT;
	/* Taken as it is: a cast would turn 259 into 3 (LOG_ERR) without a word. */
	if (priority < 0 || priority > PRI_MAX)
		return -EINVAL;
	r->priority = priority;
	err = fmt_rfc3339(r->ts, sizeof(r->ts), wall);
	if (err)
		return err;
	bg_record_str(r, "ts", r->ts);
	bg_record_str(r, "event", "agent");
	bg_record_str(r, "state", state);
	return 0;
}

/* A JSON value, without the spaces around it (JSON's other white space is refused anyway). */
static void json_span(const struct bg_field *f, const char **s, size_t *n)
{
	*s = f->s;
	*n = f->len;
	while (*n && **s == ' ') {
		(*s)++;
		(*n)--;
	}
	while (*n && (*s)[*n - 1] == ' ')
		(*n)--;
}

/* Whether the parsed value v nests at most depth levels of arrays and objects. */
static int json_depth_ok(json_t *v, int depth)
{
	const char *key;
	json_t *e;
	size_t i;

	if (!json_is_object(v) && !json_is_array(v))
		return 1;
	if (depth <= 0)
		return 0;
	if (json_is_array(v)) {
		json_array_foreach(v, i, e) if (!json_depth_ok(e, depth - 1)) return 0;
		return 1;
	}
	json_object_foreach(v, key, e) if (!json_depth_ok(e, depth - 1)) return 0;
	return 1;
}

/*
 * A JSON value is embedded in the JSON line as it is, so it must be exactly one JSON value:
 * else it could end early and add members of its own (1,"verdict":"allow"). One line of
 * printable ASCII; then jansson's strict reading, with duplicate members and \u0000 refused
 * (and integers past 63 bits read as reals, since the agent writes u64 counters), and at most
 * BG_JSON_MAX_DEPTH levels of nesting. 0, -EINVAL, or -ENOMEM if jansson ran out of memory.
 */
static int json_value_check(const struct bg_field *f)
{
	json_error_t e;
	const char *s;
	json_t *v;
	size_t n, i;
	int ok;

	if (!f->s)
		return -EINVAL;
	json_span(f, &s, &n);
	if (!n)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return -EINVAL;
	v = json_loadb(s, n, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL,
		       &e);
	if (!v)
		return json_error_code(&e) == json_error_out_of_memory ? -ENOMEM : -EINVAL;
	ok = json_depth_ok(v, BG_JSON_MAX_DEPTH);
	json_decref(v);
	return ok ? 0 : -EINVAL;
}

/* Append v in decimal: the same digits as "%llu", without printf's cost on every event. */
static void put_u64(struct bg_strbuf *sb, unsigned long long v)
{
	char buf[20];
	size_t i = sizeof(buf);

	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	bg_strbuf_append(sb, buf + i, sizeof(buf) - i);
}

static void render_json_value(struct bg_strbuf *sb, const struct bg_field *f)
{
	const char *s;
	size_t n;

	switch (f->type) {
	case BG_FV_STR:
		bg_json_string(sb, f->s, f->len);
		break;
	case BG_FV_UINT:
		put_u64(sb, f->u);
		break;
	case BG_FV_BOOL:
		bg_strbuf_puts(sb, f->u ? "true" : "false");
		break;
	case BG_FV_JSON:
		json_span(f, &s, &n);
		bg_strbuf_append(sb, s, n);
		break;
	default:
		bg_strbuf_puts(sb, "null");
		break;
	}
}

/* ASCII only, by hand: the <ctype.h> classes depend on the locale. */
static int ascii_word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("-_.:/@+", c));
}

/*
 * Whether a string may be written bare in text: one word of plain characters that a reader
 * cannot take for another token of the format, i.e. not "-" (null), "true" or "false" (a
 * boolean) and not all digits (a number).
 */
static int text_bare(const char *s, size_t n)
{
	size_t i, digits = 0;

	if (!n)
		return 0;
	for (i = 0; i < n; i++) {
		if (!ascii_word_char(s[i]))
			return 0;
		digits += s[i] >= '0' && s[i] <= '9';
	}
	if (digits == n)
		return 0;
	if ((n == 1 && s[0] == '-') || (n == 4 && !memcmp(s, "true", 4)) ||
	    (n == 5 && !memcmp(s, "false", 5)))
		return 0;
	return 1;
}

/*
 * A string value in the text format: bare when it is one harmless word (the common case, e.g.
 * rule=mysql), otherwise quoted and escaped as in JSON, so it can never carry a space, '=' or
 * newline that would make the line parse differently, nor pass for a null, boolean or number.
 */
static void text_word(struct bg_strbuf *sb, const char *s, size_t n)
{
	if (text_bare(s, n))
		bg_strbuf_append(sb, s, n);
	else
		bg_json_string(sb, s, n);
}

static void render_text_value(struct bg_strbuf *sb, const struct bg_field *f)
{
	const char *s;
	size_t n;

	switch (f->type) {
	case BG_FV_STR:
		text_word(sb, f->s, f->len);
		break;
	case BG_FV_JSON:
		/* Always a string: bare, {...} or [...] would be tokens the format does not have. */
		json_span(f, &s, &n);
		bg_json_string(sb, s, n);
		break;
	case BG_FV_NULL:
		bg_strbuf_puts(sb, "-");
		break;
	default:
		render_json_value(sb, f);
		break;
	}
}

static int key_ok(const char *k)
{
	if (!k || !*k)
		return 0;
	for (; *k; k++)
		if (!((*k >= 'a' && *k <= 'z') || (*k >= '0' && *k <= '9') || *k == '_'))
			return 0;
	return 1;
}

/*
 * The journal's name of field i without its BINDGUARD_ prefix: "obj_key" inside an object, else
 * the key; its c-th character (lower case), or 0 past its end.
 */
static char journal_name_at(const struct bg_record *r, const int *parent, size_t i, size_t c)
{
	const char *obj = parent[i] >= 0 ? r->f[parent[i]].key : NULL;
	size_t olen = obj ? strlen(obj) : 0;

	if (c < olen)
		return obj[c];
	if (obj && c == olen)
		return '_';
	return r->f[i].key[c - (obj ? olen + 1 : 0)];
}

static int journal_names_equal(const struct bg_record *r, const int *parent, size_t i, size_t j)
{
	size_t c;
	char a;

	for (c = 0;; c++) {
		a = journal_name_at(r, parent, i, c);
		if (a != journal_name_at(r, parent, j, c))
			return 0;
		if (!a)
			return 1;
	}
}

/* FNV-1a over a field's name: obj_key inside an object (its journal name), else its key. */
static unsigned int name_hash(const char *obj, const char *key)
{
	unsigned int h = 2166136261u;

	for (; obj && *obj; obj++)
		h = (h ^ (unsigned char)*obj) * 16777619u;
	if (obj)
		h = (h ^ '_') * 16777619u;
	for (; *key; key++)
		h = (h ^ (unsigned char)*key) * 16777619u;
	return h;
}

#define NAME_SLOTS 128 /* a hash table over 2.6 times the fields a record holds: short probes */

/* The fields of a record by name (names_index()), for the checks every rendering makes. */
struct names {
	int parent[BG_RECORD_MAX_FIELDS]; /* the object a field is in, or -1 */
	int slot[NAME_SLOTS]; /* field indexes by name_hash(), -1: free */
};

/*
 * Index the fields by name, and check that none repeats. Not twice at one level: a JSON object
 * with two members of one name is read differently by different consumers (the first wins, the
 * last wins, or the line is refused), which is how an injected field would pass for the real
 * one. Nor two fields that the journal would name alike: "pod_uid" and the "uid" of object
 * "pod" are both BINDGUARD_POD_UID. A field's name is its journal name (an object's is its key):
 * two fields of one name clash when both are values (one journal field) or both are at the top
 * level (one JSON member). Keys must be valid and objects one level deep. 0, or -1 on a clash.
 * Hashed, since every event goes through here.
 */
static int names_index(const struct bg_record *r, struct names *nm)
{
	int cur = -1, j;
	const struct bg_field *f;
	unsigned int h;
	size_t i;

	for (h = 0; h < NAME_SLOTS; h++)
		nm->slot[h] = -1;
	for (i = 0; i < r->n; i++) {
		f = &r->f[i];
		if (f->type == BG_FV_END) {
			cur = -1;
			continue;
		}
		nm->parent[i] = f->type == BG_FV_OBJ ? -1 : cur;
		h = name_hash(nm->parent[i] >= 0 ? r->f[nm->parent[i]].key : NULL, f->key) %
		    NAME_SLOTS;
		for (; (j = nm->slot[h]) >= 0; h = (h + 1) % NAME_SLOTS)
			if (((f->type != BG_FV_OBJ && r->f[j].type != BG_FV_OBJ) ||
			     (nm->parent[i] < 0 && nm->parent[j] < 0)) &&
			    journal_names_equal(r, nm->parent, i, (size_t)j))
				return -1;
		nm->slot[h] = (int)i;
		if (f->type == BG_FV_OBJ)
			cur = (int)i;
	}
	return 0;
}

/* The top-level field named key, from the index; NULL if there is none. */
static const struct bg_field *names_top(const struct bg_record *r, const struct names *nm,
					const char *key)
{
	unsigned int h = name_hash(NULL, key) % NAME_SLOTS;
	int j;

	for (; (j = nm->slot[h]) >= 0; h = (h + 1) % NAME_SLOTS)
		if (nm->parent[j] < 0 && !strcmp(r->f[j].key, key))
			return &r->f[j];
	return NULL;
}

/*
 * The lead of a text line, its words in order: "TS VERDICT EVENT PROTO ADDR:PORT" for an event,
 * "TS agent STATE" for an agent record. Every other field follows as key=value in JSON order,
 * and an event's hint goes on a line of its own, indented ("  hint=..."), so that the line
 * that matters stays short.
 */
static const char *const ev_lead[] = { "ts", "verdict", "event", "proto", "addr", "port", NULL };
static const char *const ag_lead[] = { "ts", "event", "state", NULL };

static const char *const *lead_keys(const struct bg_record *r)
{
	return r->kind == BG_REC_EVENT ? ev_lead : ag_lead;
}

/* Whether the record can be rendered: 0, -EINVAL if it breaks a rule, -ENOMEM. */
static int record_check(const struct bg_record *r)
{
	struct names nm;
	const char *const *k;
	const struct bg_field *f;
	int depth = 0, err;
	size_t i;

	if (r->overflow || r->n < 2 || r->n > BG_RECORD_MAX_FIELDS)
		return -EINVAL;
	/* The journal's PRIORITY and syslog's <PRI> are one digit 0..7, never anything else. */
	if (r->priority < 0 || r->priority > PRI_MAX)
		return -EINVAL;
	for (i = 0; i < r->n; i++) {
		if (r->f[i].type == BG_FV_OBJ && depth++)
			return -EINVAL; /* one level only */
		if (r->f[i].type == BG_FV_END) {
			if (!depth--)
				return -EINVAL;
			continue;
		}
		if (!key_ok(r->f[i].key))
			return -EINVAL;
		if (r->f[i].type == BG_FV_STR && !r->f[i].s && r->f[i].len)
			return -EINVAL; /* bg_json_string() would refuse it half-way */
	}
	if (depth || names_index(r, &nm))
		return -EINVAL;
	/*
	 * The text's lead is read by position: each of its fields must be there, at the top level
	 * and not an object, and an agent record's event is "agent" (a reader tells the two kinds
	 * of line apart by that second word; an event's is its verdict, never lower case).
	 */
	if (r->kind != BG_REC_EVENT && r->kind != BG_REC_AGENT)
		return -EINVAL;
	for (k = lead_keys(r); *k; k++) {
		f = names_top(r, &nm, *k);
		if (!f || f->type == BG_FV_OBJ)
			return -EINVAL;
	}
	f = names_top(r, &nm, "event");
	if (r->kind == BG_REC_AGENT &&
	    (f->type != BG_FV_STR || f->len != 5 || memcmp(f->s, "agent", 5)))
		return -EINVAL;
	/* Last, as the dearest check: jansson reads each JSON value. */
	for (i = 0; i < r->n; i++) {
		if (r->f[i].type != BG_FV_JSON)
			continue;
		err = json_value_check(&r->f[i]);
		if (err)
			return err;
	}
	return 0;
}

static int is_lead(const struct bg_record *r, const char *key)
{
	const char *const *k;

	for (k = lead_keys(r); *k; k++)
		if (!strcmp(*k, key))
			return 1;
	return 0;
}

/*
 * The verdict: in capitals (DENY) when it is a bare word without capitals of its own, else as
 * any value (quoted), so that the second word of an event line is never a lower-case word such
 * as "agent", and no two verdicts read back alike.
 */
static void text_lead_verdict(struct bg_strbuf *sb, const struct bg_field *f)
{
	size_t i;

	if (f->type != BG_FV_STR || !text_bare(f->s, f->len)) {
		render_text_value(sb, f);
		return;
	}
	for (i = 0; i < f->len; i++) {
		if (f->s[i] >= 'A' && f->s[i] <= 'Z') {
			bg_json_string(sb, f->s, f->len);
			return;
		}
	}
	for (i = 0; i < f->len; i++) {
		char up = f->s[i] >= 'a' && f->s[i] <= 'z' ? (char)(f->s[i] - 32) : f->s[i];

		bg_strbuf_append(sb, &up, 1);
	}
}

/*
 * The address of ADDR:PORT: one with colons in brackets ([2001:db8::1]) when it is made of hex
 * digits, ':' and '.' only, any other with colons quoted (a bare colon, or a ']', would move
 * where the port is read), and one without as any value.
 */
static void text_lead_addr(struct bg_strbuf *sb, const struct bg_field *f)
{
	size_t i;

	if (f->type != BG_FV_STR || !memchr(f->s, ':', f->len)) {
		render_text_value(sb, f);
		return;
	}
	for (i = 0; i < f->len; i++) {
		if (!strchr("0123456789abcdefABCDEF:.", f->s[i]) || !f->s[i]) {
			bg_json_string(sb, f->s, f->len);
			return;
		}
	}
	bg_strbuf_puts(sb, "[");
	bg_strbuf_append(sb, f->s, f->len);
	bg_strbuf_puts(sb, "]");
}

static void render_text(struct bg_strbuf *sb, const struct bg_record *r, int with_ts)
{
	const struct bg_field *hint = NULL, *f;
	const char *obj = NULL;
	size_t i;

	/* The lead's fields are there (record_check()). */
	if (with_ts) {
		render_text_value(sb, bg_record_get(r, "ts"));
		bg_strbuf_puts(sb, " ");
	}
	if (r->kind == BG_REC_EVENT) {
		text_lead_verdict(sb, bg_record_get(r, "verdict"));
		bg_strbuf_puts(sb, " ");
		render_text_value(sb, bg_record_get(r, "event"));
		bg_strbuf_puts(sb, " ");
		render_text_value(sb, bg_record_get(r, "proto"));
		bg_strbuf_puts(sb, " ");
		text_lead_addr(sb, bg_record_get(r, "addr"));
		bg_strbuf_puts(sb, ":");
		render_text_value(sb, bg_record_get(r, "port"));
	} else {
		render_text_value(sb, bg_record_get(r, "event"));
		bg_strbuf_puts(sb, " ");
		render_text_value(sb, bg_record_get(r, "state"));
	}
	for (i = 0; i < r->n; i++) {
		f = &r->f[i];
		if (f->type == BG_FV_OBJ) {
			obj = f->key;
			continue;
		}
		if (f->type == BG_FV_END) {
			obj = NULL;
			continue;
		}
		if (!obj && is_lead(r, f->key))
			continue;
		if (!obj && r->kind == BG_REC_EVENT && !strcmp(f->key, "hint")) {
			hint = f;
			continue;
		}
		if (obj)
			bg_strbuf_printf(sb, " %s.%s=", obj, f->key);
		else
			bg_strbuf_printf(sb, " %s=", f->key);
		render_text_value(sb, f);
	}
	bg_strbuf_puts(sb, "\n");
	if (hint && with_ts) {
		bg_strbuf_puts(sb, "  hint=");
		render_text_value(sb, hint);
		bg_strbuf_puts(sb, "\n");
	}
}

int bg_record_render(struct bg_strbuf *sb, int format, const struct bg_record *r)
{
	size_t start, i;
	int err;

	if (!sb || !r || (format != BG_FORMAT_JSON && format != BG_FORMAT_TEXT))
		return -EINVAL;
	err = record_check(r);
	if (err)
		return err;
	if (sb->err)
		return sb->err;
	start = sb->len;
	if (format == BG_FORMAT_JSON) {
		int first = 1;

		bg_strbuf_puts(sb, "{");
		for (i = 0; i < r->n; i++) {
			if (r->f[i].type == BG_FV_END) {
				bg_strbuf_puts(sb, "}");
				first = 0;
				continue;
			}
			/* A valid key needs no escaping; and printf would cost more than the rest. */
			if (!first)
				bg_strbuf_append(sb, ",", 1);
			bg_strbuf_append(sb, "\"", 1);
			bg_strbuf_puts(sb, r->f[i].key);
			bg_strbuf_append(sb, "\":", 2);
			if (r->f[i].type == BG_FV_OBJ) {
				bg_strbuf_puts(sb, "{");
				first = 1;
				continue;
			}
			render_json_value(sb, &r->f[i]);
			first = 0;
		}
		bg_strbuf_puts(sb, "}\n");
	} else {
		render_text(sb, r, 1);
	}
	if (sb->err)
		bg_strbuf_truncate(sb, start);
	return sb->err;
}

int bg_record_summary(struct bg_strbuf *sb, const struct bg_record *r)
{
	size_t start;
	int err;

	if (!sb || !r)
		return -EINVAL;
	err = record_check(r);
	if (err)
		return err;
	if (sb->err)
		return sb->err;
	start = sb->len;
	render_text(sb, r, 0);
	/* One line: drop the newline. */
	if (!sb->err && sb->len > start && sb->buf[sb->len - 1] == '\n')
		bg_strbuf_truncate(sb, sb->len - 1);
	if (sb->err)
		bg_strbuf_truncate(sb, start);
	return sb->err;
}

/* Append NAME in upper case; keys are [a-z0-9_]+ (record_check()), so this is one-to-one. */
static void journal_upper(struct bg_strbuf *sb, const char *name)
{
	for (; *name; name++) {
		char up = *name >= 'a' && *name <= 'z' ? (char)(*name - 32) : *name;

		bg_strbuf_append(sb, &up, 1);
	}
}

/*
 * One field "BINDGUARD_KEY=value" (inside an object BINDGUARD_OBJ_KEY=) and its NUL. A string
 * is JSON-escaped without its quotes: printable, one line, reversible, and so never a NUL or a
 * newline that would end the field or start another.
 */
static void journal_field(struct bg_strbuf *sb, const char *obj, const struct bg_field *f)
{
	size_t vstart;
	const char *s;
	size_t n;

	bg_strbuf_puts(sb, "BINDGUARD_");
	if (obj) {
		journal_upper(sb, obj);
		bg_strbuf_puts(sb, "_");
	}
	journal_upper(sb, f->key);
	bg_strbuf_puts(sb, "=");
	switch (f->type) {
	case BG_FV_STR:
		vstart = sb->len;
		bg_json_string(sb, f->s, f->len);
		if (!sb->err) {
			memmove(sb->buf + vstart, sb->buf + vstart + 1, sb->len - vstart - 2);
			bg_strbuf_truncate(sb, sb->len - 2);
		}
		break;
	case BG_FV_JSON:
		json_span(f, &s, &n);
		bg_strbuf_append(sb, s, n);
		break;
	default:
		render_json_value(sb, f); /* digits, true or false */
		break;
	}
	bg_strbuf_append(sb, "", 1);
}

int bg_record_journal(struct bg_strbuf *sb, const struct bg_record *r)
{
	const char *obj = NULL;
	size_t start, i;
	int err, n = 3;

	if (!sb || !r)
		return -EINVAL;
	err = record_check(r);
	if (err)
		return err;
	if (sb->err)
		return sb->err;
	start = sb->len;
	bg_strbuf_puts(sb, "MESSAGE=");
	render_text(sb, r, 0);
	/* One line: the text's newline becomes the field's end. */
	if (!sb->err && sb->len > start && sb->buf[sb->len - 1] == '\n')
		bg_strbuf_truncate(sb, sb->len - 1);
	bg_strbuf_append(sb, "", 1);
	/* An int checked to be 0..7 above: one digit, whatever the record was given. */
	bg_strbuf_printf(sb, "PRIORITY=%c", '0' + r->priority);
	bg_strbuf_append(sb, "", 1);
	bg_strbuf_puts(sb, "SYSLOG_IDENTIFIER=bindguard");
	bg_strbuf_append(sb, "", 1);
	for (i = 0; i < r->n; i++) {
		if (r->f[i].type == BG_FV_OBJ) {
			obj = r->f[i].key;
			continue;
		}
		if (r->f[i].type == BG_FV_END) {
			obj = NULL;
			continue;
		}
		if (r->f[i].type == BG_FV_NULL)
			continue; /* a journal field that says nothing is left out */
		journal_field(sb, obj, &r->f[i]);
		n++;
	}
	if (sb->err) {
		bg_strbuf_truncate(sb, start);
		return sb->err;
	}
	return n;
}

int bg_event_format(struct bg_strbuf *sb, int format, const struct bg_event *ev,
		    const struct bg_policy_rule *rule, const struct timespec *wall)
{
	struct bg_event_meta m = { .rule = rule, .wall = wall };
	struct bg_record r;
	int err;

	if (!sb || !ev || !wall || (format != BG_FORMAT_JSON && format != BG_FORMAT_TEXT))
		return -EINVAL;
	if (sb->err)
		return sb->err;
	err = bg_record_event(&r, ev, &m);
	if (err)
		return err;
	return bg_record_render(sb, format, &r);
}
