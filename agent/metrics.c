// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * metrics.c - Prometheus /metrics (text exposition format 0.0.4) and /healthz, served with
 * libmicrohttpd in its external epoll mode from the agent's event loop (see metrics.h).
 *
 * Everything a response says is read when the request is answered, on the agent's thread: the
 * kernel's per-CPU counters, the agent's and the sinks' counters, and, for /healthz, whether
 * every hook is still attached right now. So /healthz turns 503 as soon as another process
 * detaches a hook, without waiting for the loop's once-a-second check (which then stops the
 * agent; bg_metrics_stopping() answers what is still queued with the reason).
 *
 * The server is on loopback unless told otherwise, has no TLS and no authentication: what it
 * shows (rule names, counters, sink paths) is what `bindguard status` shows any local root.
 * Connections are limited (BG_METRICS_CONNS, BG_METRICS_TIMEOUT_S) so a client cannot tie up
 * the loop that delivers events, and a slow one is closed (police(), below) so that clients
 * that never finish their request cannot keep /healthz from a probe.
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "agent.h"
#include "loader.h"
#include "log.h"
#include "metrics.h"
#include "sink.h"

#ifndef BG_VERSION
#define BG_VERSION "0.0.0"
#endif

/*
 * libmicrohttpd is opened at run time, and only with --metrics. Debian builds it against GnuTLS,
 * whose chain (gnutls, p11-kit, nettle, hogweed, gmp, unistring, tasn1, idn2, ffi) cost every
 * agent ~2.4 MiB of resident memory when it was linked, metrics or not (/proc/PID/smaps of an
 * agent on the built-in policy; the budget is 16 MiB, docs/benchmarks.md). The library and its
 * API are the same; only the moment it is loaded changed. The prototypes come from the header.
 */
#define BG_MHD_SONAME "libmicrohttpd.so.12"
#define BG_MHD_FUNCS(X)                \
	X(add_connection)              \
	X(add_response_header)         \
	X(create_response_from_buffer) \
	X(destroy_response)            \
	X(get_connection_info)         \
	X(get_daemon_info)             \
	X(get_timeout)                 \
	X(is_feature_supported)        \
	X(queue_response)              \
	X(quiesce_daemon)              \
	X(run)                         \
	X(start_daemon)                \
	X(stop_daemon)

static struct {
	void *handle;
#define BG_MHD_PTR(f) __typeof__(MHD_##f) *f;
	BG_MHD_FUNCS(BG_MHD_PTR)
#undef BG_MHD_PTR
} mhd;

/* Open the library once; on failure say what to install. */
static int mhd_open(char *why, size_t len)
{
	void *h;

	if (mhd.handle)
		return 0;
	h = dlopen(BG_MHD_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(why, len,
			 "--metrics needs libmicrohttpd (Debian package libmicrohttpd12): %s",
			 dlerror());
		return -ENOENT;
	}
#define BG_MHD_SYM(f)                                                                          \
	*(void **)&mhd.f = dlsym(h, "MHD_" #f);                                                \
	if (!mhd.f) {                                                                          \
		snprintf(why, len, "--metrics: %s has no MHD_%s: too old", BG_MHD_SONAME, #f); \
		dlclose(h);                                                                    \
		return -ENOENT;                                                                \
	}
	BG_MHD_FUNCS(BG_MHD_SYM)
#undef BG_MHD_SYM
	mhd.handle = h; /* kept until exit: a daemon may be running on it */
	return 0;
}

#define BG_METRICS_CONNS 16 /* connections at once; more wait in the listen backlog */
#define BG_METRICS_REQUEST_MS 3000 /* a request not whole this long after the accept: closed */
#define BG_METRICS_TIMEOUT_S 10 /* an answer the client stops reading: closed after this */
#define BG_METRICS_MAX_SERIES 4096 /* bindguard_events_total series; past it: unlabelled */
#define BG_METRICS_DRAIN_ROUNDS 12 /* bg_metrics_stopping(): at most this many 20 ms waits */

#define CT_METRICS "text/plain; version=0.0.4; charset=utf-8"
#define CT_TEXT "text/plain; charset=utf-8"

/* One bindguard_events_total series. */
struct series {
	char event[32];
	char verdict[32];
	char *rule; /* NULL: the event had no rule (a port no rule lists) */
	size_t rule_len;
	unsigned long long n;
};

/* A connection MHD has (MHD_OPTION_NOTIFY_CONNECTION), as police() sees it. */
struct conn {
	struct MHD_Connection *c; /* NULL: a free slot */
	int fd; /* MHD's: shutdown(2) only, never closed here */
	int answered; /* its request came in whole: on_request() ran */
	int shut; /* shut down by police(): MHD closes it on its next run */
	long long since; /* accepted, CLOCK_MONOTONIC ms */
	struct sockaddr_storage peer;
};

struct bg_metrics {
	struct bg_agent *a;
	struct MHD_Daemon *d;
	int epfd; /* MHD's */
	int lfd; /* the listening socket (MHD's), polled for a waiting client; -1 once quiesced */
	struct conn conns[BG_METRICS_CONNS];
	unsigned int conn_events; /* connections accepted or closed, ever */
	char addr[64];
	double start_time; /* unix seconds */
	char *stopping; /* set by bg_metrics_stopping(): /healthz says this */
	struct series *tab; /* open addressing, a power of two, at most half full */
	size_t cap, n;
	unsigned long long unlabelled; /* events past BG_METRICS_MAX_SERIES */
};

/* --- Address -------------------------------------------------------------------------------- */

static int parse_port(const char *s, unsigned short *port)
{
	unsigned long v = 0;
	size_t i;

	/* Digits only: strtoul() would take a sign, spaces and "0x". */
	if (!*s || strlen(s) > 5)
		return -EINVAL;
	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -EINVAL;
	*port = (unsigned short)v;
	return 0;
}

int bg_metrics_parse_addr(const char *spec, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_storage tmp;
	struct sockaddr_in *sin = (struct sockaddr_in *)&tmp;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&tmp;
	char host[64];
	const char *colon, *end;
	unsigned short port;
	size_t hl;

	if (!spec || !*spec)
		return -EINVAL;
	memset(&tmp, 0, sizeof(tmp));
	if (spec[0] == '[') {
		end = strchr(spec, ']');
		if (!end || end[1] != ':')
			return -EINVAL;
		hl = (size_t)(end - spec - 1);
		if (!hl || hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, spec + 1, hl);
		host[hl] = '\0';
		if (parse_port(end + 2, &port) || inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return -EINVAL;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		*ss = tmp;
		*len = sizeof(*sin6);
		return 0;
	}
	colon = strrchr(spec, ':');
	sin->sin_family = AF_INET;
	if (!colon) {
		/* A port alone: loopback. */
		if (parse_port(spec, &port))
			return -EINVAL;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else {
		/* ":PORT" is refused: "all addresses" must be asked for by name (0.0.0.0). */
		hl = (size_t)(colon - spec);
		if (!hl || hl >= sizeof(host) || memchr(spec, ':', hl))
			return -EINVAL;
		memcpy(host, spec, hl);
		host[hl] = '\0';
		if (parse_port(colon + 1, &port))
			return -EINVAL;
		if (!strcmp(host, "localhost"))
			sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		else if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return -EINVAL;
	}
	sin->sin_port = htons(port);
	*ss = tmp;
	*len = sizeof(*sin);
	return 0;
}

static void addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, ntohs(s4->sin_port));
	}
}

/* --- Events by event, verdict and rule ------------------------------------------------------ */

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *c = p;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= c[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static uint64_t series_hash(const char *ev, const char *verdict, const char *rule, size_t rl)
{
	uint64_t h = 14695981039346656037ULL;

	h = fnv1a(h, ev, strlen(ev) + 1);
	h = fnv1a(h, verdict, strlen(verdict) + 1);
	/* A missing rule and an empty one are different series' keys, though both print "". */
	h = fnv1a(h, rule ? "r" : "n", 1);
	return rule ? fnv1a(h, rule, rl) : h;
}

static int series_is(const struct series *s, const char *ev, const char *verdict, const char *rule,
		     size_t rl)
{
	if (strcmp(s->event, ev) || strcmp(s->verdict, verdict))
		return 0;
	if (!rule || !s->rule)
		return !rule && !s->rule;
	return s->rule_len == rl && !memcmp(s->rule, rule, rl);
}

static int series_grow(struct bg_metrics *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64, i, j;
	struct series *nt = calloc(cap, sizeof(*nt));

	if (!nt)
		return -ENOMEM;
	for (i = 0; i < m->cap; i++) {
		struct series *s = &m->tab[i];

		if (!s->event[0])
			continue;
		j = series_hash(s->event, s->verdict, s->rule, s->rule_len) & (cap - 1);
		while (nt[j].event[0])
			j = (j + 1) & (cap - 1);
		nt[j] = *s;
	}
	free(m->tab);
	m->tab = nt;
	m->cap = cap;
	return 0;
}

/* A field's string value, copied into buf (for event and verdict: short, known words). */
static const char *field_word(const struct bg_record *r, const char *key, char *buf, size_t len)
{
	const struct bg_field *f = bg_record_get(r, key);
	size_t n;

	if (!f || f->type != BG_FV_STR)
		return "";
	n = f->len < len - 1 ? f->len : len - 1;
	memcpy(buf, f->s, n);
	buf[n] = '\0';
	return buf;
}

void bg_metrics_count_event(struct bg_metrics *m, const struct bg_record *r)
{
	char ev[32], verdict[32];
	const struct bg_field *rf;
	const char *rule = NULL;
	size_t rl = 0, i;
	struct series *s;

	if (!m || !r || r->kind != BG_REC_EVENT)
		return;
	field_word(r, "event", ev, sizeof(ev));
	field_word(r, "verdict", verdict, sizeof(verdict));
	if (!ev[0])
		snprintf(ev, sizeof(ev), "unknown");
	if (!verdict[0])
		snprintf(verdict, sizeof(verdict), "unknown");
	rf = bg_record_get(r, "rule");
	if (rf && rf->type == BG_FV_STR) {
		rule = rf->s;
		rl = rf->len;
	}
	if (m->cap) {
		i = series_hash(ev, verdict, rule, rl) & (m->cap - 1);
		for (s = &m->tab[i]; s->event[0]; s = &m->tab[i]) {
			if (series_is(s, ev, verdict, rule, rl)) {
				s->n++;
				return;
			}
			i = (i + 1) & (m->cap - 1);
		}
	}
	/* A new series. Rules come from the policy, so there are few; a bound all the same. */
	if (m->n >= BG_METRICS_MAX_SERIES || ((m->n + 1) * 2 > m->cap && series_grow(m))) {
		m->unlabelled++;
		return;
	}
	i = series_hash(ev, verdict, rule, rl) & (m->cap - 1);
	while (m->tab[i].event[0])
		i = (i + 1) & (m->cap - 1);
	s = &m->tab[i];
	if (rule) {
		s->rule = malloc(rl + 1);
		if (!s->rule) {
			m->unlabelled++;
			return;
		}
		memcpy(s->rule, rule, rl);
		s->rule[rl] = '\0';
		s->rule_len = rl;
	}
	snprintf(s->event, sizeof(s->event), "%s", ev);
	snprintf(s->verdict, sizeof(s->verdict), "%s", verdict);
	s->n = 1;
	m->n++;
}

/* --- Exposition format ---------------------------------------------------------------------- */

/*
 * A label value: \ " and newline escaped as the format asks. The format wants UTF-8, and the
 * values come from the policy (rule names) and the command line (sink paths): a byte that does
 * not start valid UTF-8, or another control character, becomes U+FFFD.
 */
static void put_label_value(struct bg_strbuf *sb, const char *s, size_t n)
{
	const unsigned char *c = (const unsigned char *)s;
	size_t i = 0, k, len;

	while (i < n) {
		if (c[i] == '\\' || c[i] == '"') {
			bg_strbuf_append(sb, "\\", 1);
			bg_strbuf_append(sb, s + i, 1);
			i++;
			continue;
		}
		if (c[i] == '\n') {
			bg_strbuf_puts(sb, "\\n");
			i++;
			continue;
		}
		if (c[i] < 0x20 || c[i] == 0x7f) {
			bg_strbuf_puts(sb, "\xef\xbf\xbd");
			i++;
			continue;
		}
		if (c[i] < 0x80) {
			bg_strbuf_append(sb, s + i, 1);
			i++;
			continue;
		}
		/* The length of a valid sequence (RFC 3629: no overlongs, no surrogates). */
		len = c[i] >= 0xc2 && c[i] <= 0xdf ? 2 :
		      c[i] >= 0xe0 && c[i] <= 0xef ? 3 :
		      c[i] >= 0xf0 && c[i] <= 0xf4 ? 4 :
						     0;
		if (len && i + len <= n) {
			unsigned char lo = 0x80, hi = 0xbf;

			if (c[i] == 0xe0)
				lo = 0xa0;
			else if (c[i] == 0xed)
				hi = 0x9f;
			else if (c[i] == 0xf0)
				lo = 0x90;
			else if (c[i] == 0xf4)
				hi = 0x8f;
			if (c[i + 1] < lo || c[i + 1] > hi)
				len = 0;
			for (k = 2; len && k < len; k++)
				if ((c[i + k] & 0xc0) != 0x80)
					len = 0;
		} else {
			len = 0;
		}
		if (!len) {
			bg_strbuf_puts(sb, "\xef\xbf\xbd");
			i++;
			continue;
		}
		bg_strbuf_append(sb, s + i, len);
		i += len;
	}
}

static void put_family(struct bg_strbuf *sb, const char *name, const char *type, const char *help)
{
	/* HELP escapes \ and newline; ours are constants with neither. */
	bg_strbuf_printf(sb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{k1="v1",k2="v2"} value; labels is a NULL-terminated list of key, value pairs. */
static void put_sample(struct bg_strbuf *sb, const char *name, const char *const *labels,
		       unsigned long long v)
{
	size_t i;

	bg_strbuf_puts(sb, name);
	if (labels && labels[0]) {
		bg_strbuf_puts(sb, "{");
		for (i = 0; labels[i]; i += 2) {
			bg_strbuf_printf(sb, "%s%s=\"", i ? "," : "", labels[i]);
			put_label_value(sb, labels[i + 1], strlen(labels[i + 1]));
			bg_strbuf_puts(sb, "\"");
		}
		bg_strbuf_puts(sb, "}");
	}
	bg_strbuf_printf(sb, " %llu\n", v);
}

static void put_one(struct bg_strbuf *sb, const char *name, const char *type, const char *help,
		    unsigned long long v)
{
	put_family(sb, name, type, help);
	put_sample(sb, name, NULL, v);
}

static int series_cmp(const void *x, const void *y)
{
	const struct series *a = *(const struct series *const *)x;
	const struct series *b = *(const struct series *const *)y;
	int c = strcmp(a->event, b->event);

	if (!c)
		c = strcmp(a->verdict, b->verdict);
	if (!c)
		c = strcmp(a->rule ? a->rule : "", b->rule ? b->rule : "");
	return c;
}

static void put_events(struct bg_strbuf *sb, struct bg_metrics *m)
{
	struct series **v = NULL;
	size_t i, k = 0;

	put_family(sb, "bindguard_events_total", "counter",
		   "Events the agent wrote to its outputs, by event (bind, listen, accept, "
		   "existing), verdict (allow, deny, alert, confine) and rule (empty: a port no "
		   "rule lists).");
	if (m->n)
		v = calloc(m->n, sizeof(*v));
	for (i = 0; v && i < m->cap; i++)
		if (m->tab[i].event[0])
			v[k++] = &m->tab[i];
	if (v)
		qsort(v, k, sizeof(*v), series_cmp);
	for (i = 0; i < k; i++) {
		bg_strbuf_printf(sb, "bindguard_events_total{event=\"");
		put_label_value(sb, v[i]->event, strlen(v[i]->event));
		bg_strbuf_puts(sb, "\",verdict=\"");
		put_label_value(sb, v[i]->verdict, strlen(v[i]->verdict));
		bg_strbuf_puts(sb, "\",rule=\"");
		if (v[i]->rule)
			put_label_value(sb, v[i]->rule, v[i]->rule_len);
		bg_strbuf_printf(sb, "\"} %llu\n", v[i]->n);
	}
	free(v);
	put_one(sb, "bindguard_events_unlabelled_total", "counter",
		"Events written but counted in no bindguard_events_total series (more than 4096 "
		"label sets, or out of memory).",
		m->unlabelled);
}

/* 0 if healthy; else -1 with 503's reason (one line) appended to why, which may be NULL. */
static int health(struct bg_metrics *m, struct bg_strbuf *why)
{
	struct bg_strbuf junk = BG_STRBUF_INIT;
	int ret = -1;
	struct bg_agent *a = m->a;
	size_t i;

	if (!why)
		why = &junk;
	if (m->stopping) {
		bg_strbuf_printf(why, "stopping: %s", m->stopping);
		goto out;
	}
	if (!a->loader || !bg_loader_links_alive(a->loader)) {
		bg_strbuf_printf(why,
				 "a hook was detached from cgroup %s by another process: the "
				 "policy is no longer enforced",
				 a->cgroup);
		goto out;
	}
	if (!bg_loader_cgroup_alive(a->loader)) {
		bg_strbuf_printf(why, "cgroup %s was removed", a->cgroup);
		goto out;
	}
	for (i = 0; i < a->n_sinks; i++) {
		const struct bg_sink *s = a->sinks[i];

		if (s->failing) {
			bg_strbuf_printf(why, "output %s fails: %s; %llu records lost", s->name,
					 strerror(s->last_err), s->lost);
			goto out;
		}
	}
	ret = 0;
out:
	bg_strbuf_release(&junk);
	return ret;
}

static void render_metrics(struct bg_metrics *m, struct bg_strbuf *sb)
{
	struct bg_agent *a = m->a;
	const char *lab[8];
	__u64 st[BG_NR_STATS];
	size_t i;
	__u8 mode;

	put_family(sb, "bindguard_build_info", "gauge", "Always 1; the version of the agent.");
	lab[0] = "version";
	lab[1] = BG_VERSION;
	lab[2] = NULL;
	put_sample(sb, "bindguard_build_info", lab, 1);
	put_family(sb, "bindguard_start_time_seconds", "gauge",
		   "When the agent started, in seconds since the epoch.");
	bg_strbuf_printf(sb, "bindguard_start_time_seconds %.3f\n", m->start_time);

	put_events(sb, m);

	if (a->loader && bg_loader_stats(a->loader, st) == 0) {
		put_one(sb, "bindguard_kernel_events_total", "counter",
			"Events the BPF programs submitted to the ring buffer.",
			st[BG_STAT_EVENTS]);
		put_one(sb, "bindguard_kernel_events_dropped_total", "counter",
			"Events lost because the ring buffer was full (each leaves a gap in seq).",
			st[BG_STAT_DROPPED]);
		put_one(sb, "bindguard_kernel_events_suppressed_total", "counter",
			"Events the per-source flood control left unwritten (--rate-limit); "
			"enforcement is never limited.",
			st[BG_STAT_SUPPRESSED]);
		put_one(sb, "bindguard_kernel_binds_denied_total", "counter",
			"Binds the kernel refused with EPERM.", st[BG_STAT_DENIED]);
		put_one(sb, "bindguard_kernel_binds_confined_total", "counter",
			"Wildcard binds the kernel rewrote to loopback.", st[BG_STAT_CONFINED]);
		put_one(sb, "bindguard_kernel_binds_without_policy_total", "counter",
			"Binds seen while no policy was installed (allowed).",
			st[BG_STAT_NO_POLICY]);
	}
	put_one(sb, "bindguard_ring_events_read_total", "counter",
		"Events the agent read from the ring buffer.", a->delivered);
	put_one(sb, "bindguard_existing_sockets_total", "counter",
		"Sockets that existed before the agent and break the policy (reconcile).",
		a->existing);
	put_one(sb, "bindguard_existing_sockets_closed_total", "counter",
		"Sockets closed by --close-existing.", a->closed);

	put_family(sb, "bindguard_sink_records_total", "counter",
		   "Records per output: written, or lost (not written, counted, never silent).");
	for (i = 0; i < a->n_sinks; i++) {
		lab[0] = "sink";
		lab[1] = a->sinks[i]->name;
		lab[2] = "result";
		lab[3] = "written";
		lab[4] = NULL;
		put_sample(sb, "bindguard_sink_records_total", lab, a->sinks[i]->written);
		lab[3] = "lost";
		put_sample(sb, "bindguard_sink_records_total", lab, a->sinks[i]->lost);
	}
	put_family(sb, "bindguard_sink_write_failures_total", "counter",
		   "Write attempts that failed, per output (one attempt may lose several "
		   "records).");
	for (i = 0; i < a->n_sinks; i++) {
		lab[0] = "sink";
		lab[1] = a->sinks[i]->name;
		lab[2] = NULL;
		put_sample(sb, "bindguard_sink_write_failures_total", lab, a->sinks[i]->failures);
	}
	put_family(sb, "bindguard_sink_up", "gauge",
		   "1 if the last write to the output succeeded, else 0.");
	for (i = 0; i < a->n_sinks; i++) {
		lab[0] = "sink";
		lab[1] = a->sinks[i]->name;
		lab[2] = NULL;
		put_sample(sb, "bindguard_sink_up", lab, !a->sinks[i]->failing);
	}

	mode = a->o->copts.mode_override >= 0 ? (__u8)a->o->copts.mode_override : a->policy->mode;
	put_one(sb, "bindguard_policy_generation", "gauge",
		"Generation of the live policy (0 at start, +1 per successful reload).", a->gen);
	put_one(sb, "bindguard_policy_rules", "gauge", "Rules in the live policy.",
		a->policy->n_rules);
	put_family(sb, "bindguard_policy_info", "gauge",
		   "Always 1; the live policy's name, source and mode.");
	lab[0] = "policy";
	lab[1] = a->policy->name ? a->policy->name : "";
	lab[2] = "source";
	lab[3] = a->policy->source ? a->policy->source : "";
	lab[4] = "mode";
	lab[5] = bg_mode_str(mode);
	lab[6] = NULL;
	put_sample(sb, "bindguard_policy_info", lab, 1);
	put_family(sb, "bindguard_reloads_total", "counter",
		   "Policy reloads (SIGHUP) by result: ok, or failed (the previous policy stayed "
		   "in force).");
	lab[0] = "result";
	lab[1] = "ok";
	lab[2] = NULL;
	put_sample(sb, "bindguard_reloads_total", lab, a->reloads_ok);
	lab[1] = "failed";
	put_sample(sb, "bindguard_reloads_total", lab, a->reloads_failed);

	put_one(sb, "bindguard_hooks_attached", "gauge",
		"1 while every hook the agent attached is still attached to its cgroup, else 0.",
		a->loader && bg_loader_links_alive(a->loader));
	put_one(sb, "bindguard_pinned", "gauge",
		"1 if enforcement is pinned (--pin): it outlives the agent.", !!a->o->pin);
	put_one(sb, "bindguard_healthy", "gauge",
		"1 when /healthz answers 200: every hook attached, the cgroup present, every "
		"output working.",
		health(m, NULL) == 0);
}

/* --- HTTP ----------------------------------------------------------------------------------- */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status, const char *type,
			     const char *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = mhd.create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	mhd.add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	mhd.add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	/* One request a connection: none waits idle for a next one (see police()). */
	mhd.add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		mhd.add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = mhd.queue_response(c, status, r);
	mhd.destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_len, void **con_cls)
{
	struct bg_metrics *m = cls;
	struct bg_strbuf sb = BG_STRBUF_INIT;
	const union MHD_ConnectionInfo *ci;
	enum MHD_Result ret;
	int known;

	(void)version;
	(void)upload;
	(void)upload_len;
	(void)con_cls;
	/* The request is whole (its headers are): past police()'s deadline. */
	ci = mhd.get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	if (ci && ci->socket_context)
		((struct conn *)ci->socket_context)->answered = 1;
	known = !strcmp(url, "/metrics") || !strcmp(url, "/healthz");
	if (!known) {
		static const char nf[] = "not found: this server has /metrics and /healthz\n";

		return reply(c, MHD_HTTP_NOT_FOUND, CT_TEXT, nf, sizeof(nf) - 1);
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD)) {
		static const char na[] = "method not allowed: GET or HEAD\n";

		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, CT_TEXT, na, sizeof(na) - 1);
	}
	if (!strcmp(url, "/healthz")) {
		if (health(m, &sb) == 0)
			return reply(c, MHD_HTTP_OK, CT_TEXT, "ok\n", 3);
		bg_strbuf_puts(&sb, "\n");
		ret = sb.err ? MHD_NO :
			       reply(c, MHD_HTTP_SERVICE_UNAVAILABLE, CT_TEXT, sb.buf, sb.len);
		bg_strbuf_release(&sb);
		return ret;
	}
	render_metrics(m, &sb);
	if (sb.err) {
		static const char oom[] = "out of memory\n";

		bg_strbuf_release(&sb);
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, CT_TEXT, oom, sizeof(oom) - 1);
	}
	ret = reply(c, MHD_HTTP_OK, CT_METRICS, sb.buf, sb.len);
	bg_strbuf_release(&sb);
	return ret;
}

/* MHD's own messages (a client that misbehaves, say) are for -v only. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	bg_dbg("metrics: %s\n", msg);
}

/* --- Slow clients -------------------------------------------------------------------------- */

/*
 * MHD's timeout (BG_METRICS_TIMEOUT_S) is an idle one: a client that sends a byte of its request
 * every few seconds keeps its connection forever, and 16 such clients take every slot. A probe
 * of /healthz then waits in the listen backlog until it gives up (the kubelet after 1 or 2 s),
 * and the agent is restarted, again and again, by whoever can reach the port. So police(), after
 * every run of MHD (and so on every tick of the agent's loop, 100 ms), applies two rules:
 *
 * - A deadline: a connection whose request is not whole BG_METRICS_REQUEST_MS after its accept
 *   is closed, however it trickles. A client sends its request at once (a probe, a scrape: one
 *   small write), so 3 s is plenty over any network. Every answer says "Connection: close", so a
 *   connection carries one request and never waits idle, unpoliced, for a second one.
 * - Eviction: when every slot is taken and a client waits in the backlog, one connection is
 *   closed to let it in: one without a whole request if there is one, of the peer address that
 *   holds the most slots, the oldest of them. A probe's request is answered in the run after
 *   its accept, long before it could be the one chosen; a peer with many slots loses first.
 *
 * The deadline alone is not enough: a probe still waits for it to free a slot (up to 3 s,
 * longer than the kubelet's timeout), behind the clients already waiting, and a client that
 * reconnects whenever it is closed takes the slots again. Nor is MHD_OPTION_PER_IP_CONNECTION_LIMIT
 * right here: MHD closes a connection past the limit unanswered, and the prober's address is
 * often the attacker's too (on a host every local user connects from 127.0.0.1; the DaemonSet
 * serves on the node's address, which the kubelet probes from and anyone on the node connects
 * from), so a limit of N would let N trickling connections fail every probe. Eviction lets the
 * newcomer in whoever it is, and takes the slot from the peer that holds most. (Both were tried
 * against itest_service's slowloris test: each fails it.)
 *
 * MHD has no call to close a connection: shutdown(2) on its socket ends the stream, MHD sees
 * that in its next run and closes the connection. MHD's notification that a connection is
 * closed comes before it closes the fd, and frees the slot here, so the fd shut down is never
 * another's. A flood of new connections can still delay a probe, as with any server; but that
 * takes the attacker a steady stream of connections, not a few held ones.
 */

static long long mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **ctx,
			  enum MHD_ConnectionNotificationCode what)
{
	struct bg_metrics *m = cls;
	const union MHD_ConnectionInfo *fd, *addr;
	struct conn *k = NULL;
	int i;

	m->conn_events++;
	if (what == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (*ctx)
			memset(*ctx, 0, sizeof(struct conn));
		*ctx = NULL;
		return;
	}
	for (i = 0; i < BG_METRICS_CONNS && !k; i++)
		if (!m->conns[i].c)
			k = &m->conns[i];
	fd = mhd.get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	addr = mhd.get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	/* A full table cannot happen (MHD's limit is its size); untracked, MHD's timeout holds. */
	if (!k || !fd || !addr || !addr->client_addr)
		return;
	memset(k, 0, sizeof(*k));
	k->c = c;
	k->fd = fd->connect_fd;
	k->since = mono_ms();
	if (addr->client_addr->sa_family == AF_INET6)
		memcpy(&k->peer, addr->client_addr, sizeof(struct sockaddr_in6));
	else if (addr->client_addr->sa_family == AF_INET)
		memcpy(&k->peer, addr->client_addr, sizeof(struct sockaddr_in));
	*ctx = k;
}

/* The same peer address (the port aside). */
static int same_peer(const struct conn *a, const struct conn *b)
{
	const struct sockaddr_in6 *a6 = (const void *)&a->peer, *b6 = (const void *)&b->peer;
	const struct sockaddr_in *a4 = (const void *)&a->peer, *b4 = (const void *)&b->peer;

	if (a->peer.ss_family != b->peer.ss_family)
		return 0;
	if (a->peer.ss_family == AF_INET6)
		return !memcmp(&a6->sin6_addr, &b6->sin6_addr, sizeof(a6->sin6_addr));
	return a4->sin_addr.s_addr == b4->sin_addr.s_addr;
}

static void shut(struct conn *k, const char *why)
{
	char who[64];

	addr_str(&k->peer, who, sizeof(who));
	bg_dbg("metrics: closing the connection from %s: %s\n", who, why);
	shutdown(k->fd, SHUT_RDWR);
	k->shut = 1;
}

/*
 * Whether to evict a (its peer holds peers_a slots) rather than b: one still without a whole
 * request first, then the one whose peer holds more, then the older.
 */
static int evict_first(const struct conn *a, int peers_a, const struct conn *b, int peers_b)
{
	if (a->answered != b->answered)
		return !a->answered;
	if (peers_a != peers_b)
		return peers_a > peers_b;
	return a->since < b->since;
}

/* Apply the deadline and, if a client waits for a slot, evict. The connections shut down. */
static int police(struct bg_metrics *m)
{
	struct pollfd p = { .fd = m->lfd, .events = POLLIN };
	struct conn *k, *v = NULL;
	long long now = mono_ms();
	int i, j, live = 0, shut_n = 0, peers, v_peers = 0;

	for (i = 0; i < BG_METRICS_CONNS; i++) {
		k = &m->conns[i];
		if (!k->c || k->shut)
			continue;
		if (!k->answered && now - k->since >= BG_METRICS_REQUEST_MS) {
			shut(k, "no whole request within the deadline");
			shut_n++;
			continue;
		}
		live++;
	}
	/* A slot is free, or about to be (one shut down), or nobody waits. */
	if (live < BG_METRICS_CONNS || m->lfd < 0 || poll(&p, 1, 0) != 1)
		return shut_n;
	for (i = 0; i < BG_METRICS_CONNS; i++) {
		k = &m->conns[i];
		if (!k->c || k->shut)
			continue;
		for (j = 0, peers = 0; j < BG_METRICS_CONNS; j++)
			peers += m->conns[j].c && same_peer(k, &m->conns[j]);
		if (!v || evict_first(k, peers, v, v_peers)) {
			v = k;
			v_peers = peers;
		}
	}
	if (!v)
		return shut_n;
	shut(v, "every slot taken and a client waiting");
	return shut_n + 1;
}

void bg_metrics_run(struct bg_metrics *m)
{
	MHD_UNSIGNED_LONG_LONG to;
	unsigned int seen;
	int i;

	if (!m)
		return;
	/*
	 * MHD asks to be run again at once (timeout 0) while it has buffered work left. So does a
	 * connection that came or went, or one police() shut down: MHD closes that in its next
	 * run, frees its slot at the end of that run, and accepts a waiting client in the next.
	 */
	for (i = 0; i < 16; i++) {
		seen = m->conn_events;
		if (mhd.run(m->d) != MHD_YES)
			break;
		if (police(m) || m->conn_events != seen)
			continue;
		if (mhd.get_timeout(m->d, &to) != MHD_YES || to > 0)
			break;
	}
}

/*
 * Answer what is queued, and what follows within 20 ms of it: at most BG_METRICS_DRAIN_ROUNDS
 * waits, counted rather than timed, so that a stop in the middle (SIGSTOP, a debugger, a busy
 * CPU) cannot leave a request accepted and never answered.
 */
static void drain(struct bg_metrics *m)
{
	/* poll(), not epoll_wait(): that would take MHD's own (edge-triggered) events from it. */
	struct pollfd p = { .fd = m->epfd, .events = POLLIN };
	int i, n;

	bg_metrics_run(m);
	for (i = 0; i < BG_METRICS_DRAIN_ROUNDS; i++) {
		n = poll(&p, 1, 20);
		if (n == 0 || (n < 0 && errno != EINTR))
			break;
		bg_metrics_run(m); /* activity, or a signal: serve what is there */
	}
}

void bg_metrics_stopping(struct bg_metrics *m, const char *why)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	MHD_socket fd;
	int c, added = 0;

	if (!m)
		return;
	free(m->stopping);
	m->stopping = strdup(why ? why : "the agent is stopping");
	drain(m);
	/*
	 * Then stop listening: the agent still has to detach and flush, and a connection queued
	 * meanwhile would only be reset at the exit. Refused, it says at once that no agent runs.
	 * What the kernel accepted since the last look (while the agent waited for a CPU, say) is
	 * taken from the backlog and answered first.
	 */
	fd = mhd.quiesce_daemon(m->d);
	if (fd == MHD_INVALID_SOCKET)
		return;
	m->lfd = -1; /* what waits now is taken below, not let in by eviction */
	for (; added < BG_METRICS_CONNS; added++) {
		sl = sizeof(ss);
		c = accept4(fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (c < 0)
			break;
		/* MHD owns (and on failure closes) the socket from here. */
		mhd.add_connection(m->d, c, (struct sockaddr *)&ss, sl);
	}
	close(fd);
	if (added)
		drain(m);
}

int bg_metrics_fd(const struct bg_metrics *m)
{
	return m->epfd;
}

const char *bg_metrics_addr(const struct bg_metrics *m)
{
	return m->addr;
}

int bg_metrics_new(struct bg_agent *a, const char *spec, struct bg_metrics **out, char *why,
		   size_t len)
{
	struct sockaddr_storage ss;
	const union MHD_DaemonInfo *info;
	struct bg_metrics *m;
	struct timespec now;
	socklen_t sl;
	int fd, err, one = 1;
	char want[64];

	if (bg_metrics_parse_addr(spec, &ss, &sl)) {
		snprintf(why, len, "invalid --metrics address '%s'", spec);
		return -EINVAL;
	}
	addr_str(&ss, want, sizeof(want));
	err = mhd_open(why, len);
	if (err)
		return err;
	if (mhd.is_feature_supported(MHD_FEATURE_EPOLL) != MHD_YES) {
		snprintf(why, len, "cannot serve metrics: this libmicrohttpd has no epoll support");
		return -ENOTSUP;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(why, len, "out of memory");
		return -ENOMEM;
	}
	m->a = a;
	clock_gettime(CLOCK_REALTIME, &now);
	m->start_time = (double)now.tv_sec + now.tv_nsec / 1e9;
	/*
	 * The socket is ours, so that a port in use is one clear line before anything is attached;
	 * MHD serves on it (and closes it in mhd.stop_daemon()).
	 */
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		err = -errno;
		snprintf(why, len, "cannot serve metrics on %s: %s", want, strerror(-err));
		goto out_free;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 32) < 0) {
		err = -errno;
		snprintf(why, len, "cannot serve metrics on %s: %s", want, strerror(-err));
		goto out_close;
	}
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		addr_str(&ss, m->addr, sizeof(m->addr));
	else
		snprintf(m->addr, sizeof(m->addr), "%s", want);
	/* External epoll mode: no thread; mhd.run() from the agent's loop. */
	m->lfd = fd;
	m->d = mhd.start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, m,
				MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT,
				(unsigned int)BG_METRICS_CONNS, MHD_OPTION_CONNECTION_TIMEOUT,
				(unsigned int)BG_METRICS_TIMEOUT_S, MHD_OPTION_NOTIFY_CONNECTION,
				on_connection, m, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, m,
				MHD_OPTION_SIGPIPE_HANDLED_BY_APP, 1, MHD_OPTION_END);
	if (!m->d) {
		err = -EIO;
		snprintf(why, len, "cannot serve metrics on %s: libmicrohttpd refused to start",
			 m->addr);
		/* Whether MHD closed the socket on failure is not documented: close it if not. */
		if (fcntl(fd, F_GETFD) >= 0)
			close(fd);
		goto out_free;
	}
	info = mhd.get_daemon_info(m->d, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || info->epoll_fd < 0) {
		err = -EIO;
		snprintf(why, len, "cannot serve metrics on %s: no epoll fd from libmicrohttpd",
			 m->addr);
		mhd.stop_daemon(m->d);
		goto out_free;
	}
	m->epfd = info->epoll_fd;
	*out = m;
	return 0;
out_close:
	close(fd);
out_free:
	free(m);
	return err;
}

void bg_metrics_free(struct bg_metrics *m)
{
	size_t i;

	if (!m)
		return;
	if (m->d)
		mhd.stop_daemon(m->d);
	for (i = 0; i < m->cap; i++)
		free(m->tab[i].rule);
	free(m->tab);
	free(m->stopping);
	free(m);
}
