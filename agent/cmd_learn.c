// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cmd_learn.c - bindguard learn: draft a policy from what this host actually does.
 *
 * It takes the listeners and bound UDP sockets that exist now (the socket iterators), then
 * watches every bind() and listen() in the cgroup for a while, with an "observe" policy that
 * allows everything and reports every bind (unlisted ports public, log-allowed). Each port seen
 * becomes a rule: loopback if it was only ever seen on loopback, public otherwise, named after
 * the process that held it; except that a port the built-in iRedMail policy keeps internal is
 * drafted as that policy says, even when it was seen exposed, because what was seen there is the
 * misconfiguration bindguard exists to stop. The draft is in audit mode and says so: a human
 * reviews it before it enforces anything.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bg_decide.h"
#include "clifmt.h"
#include "commands.h"
#include "event_fmt.h"
#include "kfeatures.h"
#include "loader.h"
#include "log.h"
#include "opts.h"
#include "policy.h"
#include "sockets.h"
#include "strbuf.h"

#define LEARN_GEN 1
#define LEARN_POLL_MS 100
#define LEARN_DEFAULT_SECONDS 60
#define LEARN_MAX_SECONDS (366u * 24 * 3600)

/* What a rule's comment lists, at most; the rest is counted. */
#define OBS_MAX_ADDRS 4
#define OBS_MAX_OWNERS 4
#define OBS_MAX_NETNS 4

#define LEARN_COMMENT_WIDTH 100 /* the draft's comments wrap here, as the code's do */

/* Where a port was seen. */
#define SRC_NOW (1u << 0) /* listening (or bound, UDP) when learn started */
#define SRC_BIND (1u << 1) /* a bind() during the window */
#define SRC_LISTEN (1u << 2) /* a listen() during the window */

#define OPT_INCLUDE_EPHEMERAL 256

static const struct bg_opt learn_opts[] = {
	{ "duration", 'd', "SECONDS",
	  "how long to watch binds (default 60); 0 takes only\n"
	  "the snapshot of what listens now and attaches\n"
	  "nothing. SIGINT or SIGTERM ends the window early" },
	{ "output", 'o', "FILE",
	  "write the draft to FILE instead of standard output:\n"
	  "through a new file renamed over it once complete;\n"
	  "an existing FILE is kept as FILE.bak" },
	{ "cgroup", 'c', "DIR",
	  "learn only from sockets created in this cgroup v2\n"
	  "directory or below it (default: the cgroup v2 root,\n"
	  "the whole host)" },
	{ "include-ephemeral", OPT_INCLUDE_EPHEMERAL, NULL,
	  "also draft ports in the ephemeral range of their\n"
	  "network namespace (ip_local_port_range), left out\n"
	  "by default: the kernel hands them out at random" },
	{ 0 },
};

static const struct bg_cmd learn_cmd = {
	.name = "learn",
	.synopsis = "[--duration SECONDS] [--output FILE] [--cgroup DIR]\n"
		    "[--include-ephemeral]",
	.desc = "Draft a policy from what is listening now and from the binds and listens seen\n"
		"during the next SECONDS. A port the built-in iRedMail policy knows is drafted\n"
		"as it says when it keeps the port internal (loopback or none), and a comment\n"
		"says so when the port is exposed now; any other port seen becomes a rule,\n"
		"loopback if it was only seen on loopback addresses, public otherwise. Rules\n"
		"are named after the built-in policy's service, else the process (made unique:\n"
		"python3, python3-2). Comments say what was seen, by whom, in which network\n"
		"namespaces, and which protocols one rule merges. Ports in the ephemeral range\n"
		"and connected UDP sockets (clients) are left out. The draft is in audit mode:\n"
		"review it, check it with 'bindguard check FILE', then set mode: enforce.\n"
		"While it watches, learn attaches hooks that allow every bind; it detaches\n"
		"them when it ends. Needs root.",
	.tail = "Exit status: 0 policy drafted, 1 runtime failure or nothing to learn from,\n"
		"2 usage error.\n",
	.opts = learn_opts,
};

static volatile sig_atomic_t learn_stop;

static void learn_on_signal(int sig)
{
	(void)sig;
	learn_stop = 1;
}

struct obs_addr {
	__u8 family;
	__u8 addr[16];
};

struct obs_owner {
	int pid;
	char comm[BG_COMM_LEN];
};

/* Everything seen on one (proto, port). */
struct port_obs {
	unsigned int sources; /* SRC_* */
	int wildcard; /* seen on 0.0.0.0 or :: */
	int specific; /* seen on a non-loopback, non-wildcard address */
	size_t n_addrs, n_owners, n_netns; /* distinct ones seen; the arrays keep the first few */
	struct obs_addr addrs[OBS_MAX_ADDRS];
	struct obs_owner owners[OBS_MAX_OWNERS];
	__u32 netns[OBS_MAX_NETNS];
};

struct learn_ctx {
	struct port_obs **obs; /* [BG_RULE_KEY(proto, port)], allocated on first sight */
	const struct bg_policy *builtin; /* what it knows about ports */
	struct bg_sock_list snap; /* the snapshot: its netns names and ephemeral ranges */
	__u16 eph_lo, eph_hi; /* learn's own netns's range, for a netns the snapshot missed */
	int include_ephemeral;
	unsigned char *skipped; /* [BG_RULE_KEY(proto, port)]: left out as ephemeral */
	int err; /* -ENOMEM once an observation was lost */
	unsigned long long n_events; /* binds and listens used */
	size_t n_now; /* sockets of the snapshot used */
};

/* A rule of the built-in policy that keeps its port off the network. */
static int is_internal(const struct bg_policy_rule *k)
{
	return k && (k->expose == BG_EXPOSE_LOOPBACK || k->expose == BG_EXPOSE_NONE);
}

/* Is port in the ephemeral range of netns? A port the built-in policy names never is. */
static int is_ephemeral(const struct learn_ctx *lc, __u8 proto, __u16 port, __u32 netns)
{
	const struct bg_netns_info *ni = bg_sock_list_netns(&lc->snap, netns);
	__u16 lo = ni && ni->eph_lo ? ni->eph_lo : lc->eph_lo;
	__u16 hi = ni && ni->eph_lo ? ni->eph_hi : lc->eph_hi;

	if (bg_cli_rule_for(lc->builtin, proto, port))
		return 0;
	return port >= lo && port <= hi;
}

/* Add v to the first-few list of n (distinct values counted in *n). */
static int note_u32(__u32 *list, size_t max, size_t *n, __u32 v)
{
	size_t i, k = *n < max ? *n : max;

	for (i = 0; i < k; i++)
		if (list[i] == v)
			return 0;
	if (k < max)
		list[k] = v;
	(*n)++;
	return 1;
}

/* Record one socket. Port 0 is no port at all (an autobind shows up later, in its listen). */
static void learn_note(struct learn_ctx *lc, __u8 proto, __u16 port, __u8 family,
		       const __u8 addr[16], __u32 netns, int pid, const char *comm,
		       unsigned int src)
{
	struct port_obs *o;
	__u32 w[4];
	size_t i, n;

	if (proto >= BG_NR_PROTOS || !port || (family != BG_AF_INET && family != BG_AF_INET6))
		return;
	if (!lc->include_ephemeral && is_ephemeral(lc, proto, port, netns)) {
		lc->skipped[BG_RULE_KEY(proto, port)] = 1;
		return;
	}
	o = lc->obs[BG_RULE_KEY(proto, port)];
	if (!o) {
		o = calloc(1, sizeof(*o));
		if (!o) {
			lc->err = -ENOMEM;
			return;
		}
		lc->obs[BG_RULE_KEY(proto, port)] = o;
	}
	o->sources |= src;
	/* The class is the shared decision code's, as the hooks judge it. */
	memcpy(w, addr, sizeof(w));
	switch (bg_class_v6(w[0], w[1], w[2], w[3])) {
	case BG_CLASS_LOOPBACK:
		break;
	case BG_CLASS_WILDCARD:
		o->wildcard = 1;
		break;
	default:
		o->specific = 1;
		break;
	}
	note_u32(o->netns, OBS_MAX_NETNS, &o->n_netns, netns);

	n = o->n_addrs < OBS_MAX_ADDRS ? o->n_addrs : OBS_MAX_ADDRS;
	for (i = 0; i < n; i++)
		if (o->addrs[i].family == family && !memcmp(o->addrs[i].addr, addr, 16))
			break;
	if (i == n) {
		if (n < OBS_MAX_ADDRS) {
			o->addrs[n].family = family;
			memcpy(o->addrs[n].addr, addr, 16);
		}
		o->n_addrs++;
	}

	if (pid <= 0)
		return;
	n = o->n_owners < OBS_MAX_OWNERS ? o->n_owners : OBS_MAX_OWNERS;
	for (i = 0; i < n; i++)
		if (o->owners[i].pid == pid && !strncmp(o->owners[i].comm, comm, BG_COMM_LEN))
			break;
	if (i == n) {
		if (n < OBS_MAX_OWNERS) {
			o->owners[n].pid = pid;
			/* comm comes from the kernel: possibly unterminated, never trusted. */
			memcpy(o->owners[n].comm, comm, strnlen(comm, BG_COMM_LEN - 1));
		}
		o->n_owners++;
	}
}

static int learn_on_event(void *ctx, const struct bg_event *ev)
{
	struct learn_ctx *lc = ctx;
	unsigned int src;

	if (ev->type == BG_EVENT_BIND)
		src = SRC_BIND;
	else if (ev->type == BG_EVENT_LISTEN)
		src = SRC_LISTEN;
	else
		return 0; /* accepts say nothing about what listens */
	if (!ev->port)
		return 0;
	lc->n_events++;
	learn_note(lc, ev->proto, ev->port, ev->family, ev->addr, ev->netns,
		   ev->flags & BG_EV_F_NO_TASK ? 0 : (int)ev->pid, ev->comm, src);
	return 0;
}

/* The listeners and bound UDP sockets in scope now. A connected UDP socket is a client. */
static int learn_snapshot(struct bg_loader *l, struct learn_ctx *lc)
{
	size_t i;
	int err;

	err = bg_sockets_collect(l, 0, &lc->snap);
	if (err)
		return err;
	if (bg_sockets_attribute(&lc->snap))
		bg_dbg("cannot attribute every socket to its process\n");
	for (i = 0; i < lc->snap.n; i++) {
		const struct bg_sock_info *si = &lc->snap.v[i];

		if (!si->rec.in_scope || !si->rec.port)
			continue;
		if (si->rec.proto == BG_PROTO_UDP && si->rec.peer_port)
			continue;
		lc->n_now++;
		learn_note(lc, si->rec.proto, si->rec.port, si->rec.family, si->rec.addr,
			   si->rec.netns, si->pid, si->comm, SRC_NOW);
	}
	return 0;
}

/* ---- The draft --------------------------------------------------------------------------- */

/* One rule of the draft: one port, what was seen there and what the built-in policy says. */
struct draft_rule {
	__u16 port;
	__u8 protos; /* BG_PROTO_BIT()s */
	__u8 expose; /* BG_EXPOSE_* */
	const struct port_obs *seen[BG_NR_PROTOS]; /* NULL: not seen on that protocol */
	const struct bg_policy_rule *known; /* the built-in rule it follows, or NULL */
	int merged; /* TCP and UDP observations in one rule */
	char name[BG_COMM_LEN + 24]; /* service, unique in the draft */
};

static int seen_exposed(const struct port_obs *o)
{
	return o && (o->wildcard || o->specific);
}

static int ascii_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int ascii_alnum(char c)
{
	return ascii_alpha(c) || (c >= '0' && c <= '9');
}

/* The name before it is made unique: the built-in rule's, else the first owner's comm. */
static void base_name(const struct draft_rule *d, char *buf, size_t len)
{
	const char *src = bg_rule_name(d->known);
	size_t i, p, n;

	for (p = 0; p < BG_NR_PROTOS && !src; p++)
		for (i = 0; d->seen[p] && i < d->seen[p]->n_owners && i < OBS_MAX_OWNERS && !src;
		     i++)
			if (d->seen[p]->owners[i].comm[0])
				src = d->seen[p]->owners[i].comm;
	if (!src) {
		snprintf(buf, len, "port-%u", d->port);
		return;
	}
	/* Reduced to [A-Za-z0-9._-], every other byte a '-': never anything YAML reads specially. */
	n = strnlen(src, len - 1);
	for (i = 0; i < n; i++)
		buf[i] = ascii_alnum(src[i]) || src[i] == '.' || src[i] == '_' || src[i] == '-' ?
				 src[i] :
				 '-';
	buf[n] = '\0';
}

/* Give every rule of the draft a distinct service: the second python3 is python3-2. */
static void name_rules(struct draft_rule *d, size_t n)
{
	char base[sizeof(d->name)];
	size_t i, j;
	int k, taken;

	for (i = 0; i < n; i++) {
		base_name(&d[i], base, sizeof(base));
		for (k = 1;; k++) {
			if (k == 1)
				snprintf(d[i].name, sizeof(d[i].name), "%s", base);
			else
				snprintf(d[i].name, sizeof(d[i].name), "%.*s-%d",
					 (int)sizeof(base) - 12, base, k);
			for (j = 0, taken = 0; j < i && !taken; j++)
				taken = !strcmp(d[j].name, d[i].name);
			if (!taken)
				break;
		}
	}
}

/*
 * The rule for one port seen on the protocols in obs. A port the built-in policy keeps internal
 * takes that rule's protocols and exposure (loopback stays loopback when the built-in says none:
 * that is what was seen, and it exposes nothing). Any other port: loopback if only ever seen on
 * loopback, public otherwise.
 */
static void draft_port(struct draft_rule *d, __u16 port, const struct port_obs *t,
		       const struct port_obs *u, const struct bg_policy_rule *k)
{
	memset(d, 0, sizeof(*d));
	d->port = port;
	d->seen[BG_PROTO_TCP] = t;
	d->seen[BG_PROTO_UDP] = u;
	d->protos = (t ? BG_PROTO_BIT(BG_PROTO_TCP) : 0) | (u ? BG_PROTO_BIT(BG_PROTO_UDP) : 0);
	d->merged = t && u;
	d->known = k; /* named after it, whatever it says */
	if (is_internal(k)) {
		d->protos |= k->protos;
		d->expose = k->expose;
		if (k->expose == BG_EXPOSE_NONE && !seen_exposed(t) && !seen_exposed(u))
			d->expose = BG_EXPOSE_LOOPBACK;
		return;
	}
	d->expose = seen_exposed(t) || seen_exposed(u) ? BG_EXPOSE_PUBLIC : BG_EXPOSE_LOOPBACK;
}

/*
 * Every rule of the draft, by port (TCP before UDP when they stay apart). TCP and UDP on one port
 * share a rule when they would be drafted alike; a built-in internal rule covers both.
 */
static size_t draft_rules(const struct learn_ctx *lc, struct draft_rule *out)
{
	const struct bg_policy_rule *kt, *ku;
	const struct port_obs *t, *u;
	struct draft_rule a, b;
	size_t n = 0;
	__u32 port;

	for (port = 1; port < BG_NR_PORTS; port++) {
		t = lc->obs[BG_RULE_KEY(BG_PROTO_TCP, port)];
		u = lc->obs[BG_RULE_KEY(BG_PROTO_UDP, port)];
		if (!t && !u)
			continue;
		kt = bg_cli_rule_for(lc->builtin, BG_PROTO_TCP, (__u16)port);
		ku = bg_cli_rule_for(lc->builtin, BG_PROTO_UDP, (__u16)port);
		if (t && u && kt == ku) {
			draft_port(&a, (__u16)port, t, u, kt);
			if (is_internal(kt) || seen_exposed(t) == seen_exposed(u)) {
				out[n++] = a;
				continue;
			}
		}
		/* Apart: a rule per protocol, each as if the other had not been seen. */
		if (t) {
			draft_port(&a, (__u16)port, t, NULL, kt);
			out[n++] = a;
		}
		if (u) {
			draft_port(&b, (__u16)port, NULL, u, ku);
			/* The TCP rule took UDP too (a built-in internal rule covers both). */
			if (t && (a.protos & BG_PROTO_BIT(BG_PROTO_UDP)))
				continue;
			out[n++] = b;
		}
	}
	return n;
}

static void append_sources(struct bg_strbuf *sb, unsigned int src)
{
	const char *sep = "";

	if (src & SRC_NOW) {
		bg_strbuf_printf(sb, "%slistening now", sep);
		sep = ", ";
	}
	if (src & SRC_BIND) {
		bg_strbuf_printf(sb, "%sbind during learn", sep);
		sep = ", ";
	}
	if (src & SRC_LISTEN)
		bg_strbuf_printf(sb, "%slisten during learn", sep);
}

/* "  # 3306/tcp: pid 812 (mysqld) on 127.0.0.1; source: listening now" */
static void append_seen(struct bg_strbuf *sb, const struct port_obs *o, __u16 port, __u8 proto)
{
	char text[48], comm[BG_COMM_LEN + 1];
	size_t i, n;

	bg_strbuf_printf(sb, "  # %u/%s:", port, bg_proto_str(proto));
	n = o->n_owners < OBS_MAX_OWNERS ? o->n_owners : OBS_MAX_OWNERS;
	for (i = 0; i < n; i++) {
		bg_cli_printable(comm, sizeof(comm), o->owners[i].comm, BG_COMM_LEN);
		bg_strbuf_printf(sb, "%s pid %d (%s)", i ? "," : "", o->owners[i].pid,
				 comm[0] ? comm : "?");
	}
	if (o->n_owners > n)
		bg_strbuf_printf(sb, " and %zu more", o->n_owners - n);
	if (!o->n_owners)
		bg_strbuf_puts(sb, " owner unknown");
	bg_strbuf_puts(sb, " on");
	n = o->n_addrs < OBS_MAX_ADDRS ? o->n_addrs : OBS_MAX_ADDRS;
	for (i = 0; i < n; i++) {
		bg_cli_addr_str(text, sizeof(text), o->addrs[i].family, o->addrs[i].addr, 1);
		bg_strbuf_printf(sb, "%s %s", i ? "," : "", text);
	}
	if (o->n_addrs > n)
		bg_strbuf_printf(sb, " and %zu more", o->n_addrs - n);
	bg_strbuf_puts(sb, "; source: ");
	append_sources(sb, o->sources);
	bg_strbuf_puts(sb, "\n");
}

/* "4026531840", or the name /run/netns gives it. */
static void append_netns(struct bg_strbuf *sb, const struct learn_ctx *lc, __u32 netns)
{
	const struct bg_netns_info *ni = bg_sock_list_netns(&lc->snap, netns);
	char name[sizeof(ni->name)];

	if (ni && ni->name[0])
		bg_strbuf_puts(sb,
			       bg_cli_printable(name, sizeof(name), ni->name, sizeof(ni->name)));
	else
		bg_strbuf_printf(sb, "%u", netns);
}

/* Say so when one rule stands for sockets in several network namespaces. */
static void append_netns_merge(struct bg_strbuf *sb, const struct learn_ctx *lc,
			       const struct draft_rule *d)
{
	__u32 all[OBS_MAX_NETNS * BG_NR_PROTOS];
	size_t n = 0, shown, i, p;

	for (p = 0; p < BG_NR_PROTOS; p++) {
		if (!d->seen[p])
			continue;
		shown = d->seen[p]->n_netns < OBS_MAX_NETNS ? d->seen[p]->n_netns : OBS_MAX_NETNS;
		for (i = 0; i < shown; i++)
			note_u32(all, sizeof(all) / sizeof(all[0]), &n, d->seen[p]->netns[i]);
		if (d->seen[p]->n_netns > shown)
			n += d->seen[p]->n_netns - shown; /* at least that many more */
	}
	if (n < 2)
		return;
	bg_strbuf_printf(sb, "  # merged: seen in %zu network namespaces (", n);
	shown = n < sizeof(all) / sizeof(all[0]) ? n : sizeof(all) / sizeof(all[0]);
	for (i = 0; i < shown; i++) {
		bg_strbuf_puts(sb, i ? ", " : "");
		append_netns(sb, lc, all[i]);
	}
	bg_strbuf_printf(sb, "%s); this one rule applies in every one of them\n",
			 n > shown ? ", ..." : "");
}

/* A YAML double-quoted scalar: only '"' and '\' need escaping; control bytes are dropped. */
static void append_quoted(struct bg_strbuf *sb, const char *s)
{
	bg_strbuf_puts(sb, "\"");
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			bg_strbuf_printf(sb, "\\%c", *s);
		else if ((unsigned char)*s >= ' ' && *s != 0x7f)
			bg_strbuf_append(sb, s, 1);
	}
	bg_strbuf_puts(sb, "\"");
}

/* The service: written plain when YAML reads it back as exactly that string, else quoted. */
static void append_service(struct bg_strbuf *sb, const char *name)
{
	static const char *const words[] = { "y",    "n",     "yes",  "no",  "on", "off",
					     "true", "false", "null", "nan", "inf" };
	int quote = !ascii_alpha(name[0]);
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcasecmp(name, words[i]))
			quote = 1;
	bg_strbuf_printf(sb, "    service: %s%s%s\n", quote ? "\"" : "", name, quote ? "\"" : "");
}

static const char *protos_yaml(__u8 protos)
{
	if (protos == (BG_PROTO_BIT(BG_PROTO_TCP) | BG_PROTO_BIT(BG_PROTO_UDP)))
		return "both";
	return protos & BG_PROTO_BIT(BG_PROTO_TCP) ? "tcp" : "udp";
}

/* The first address seen that is not loopback, in brackets for IPv6 ("0.0.0.0", "[::]"). */
static void first_exposed(const struct draft_rule *d, char *buf, size_t len)
{
	const struct obs_addr *a;
	__u32 w[4];
	size_t p, i;

	snprintf(buf, len, "?");
	for (p = 0; p < BG_NR_PROTOS; p++) {
		for (i = 0; d->seen[p] && i < d->seen[p]->n_addrs && i < OBS_MAX_ADDRS; i++) {
			a = &d->seen[p]->addrs[i];
			memcpy(w, a->addr, sizeof(w));
			if (bg_class_v6(w[0], w[1], w[2], w[3]) != BG_CLASS_LOOPBACK) {
				bg_cli_addr_str(buf, len, a->family, a->addr, 1);
				return;
			}
		}
	}
}

static void append_rule(struct bg_strbuf *sb, const struct learn_ctx *lc,
			const struct draft_rule *d)
{
	const struct port_obs *t = d->seen[BG_PROTO_TCP], *u = d->seen[BG_PROTO_UDP];
	const struct bg_policy_rule *k = d->known;
	const char *kname = bg_rule_name(k);
	char addr[48], line[512];
	int exposed = seen_exposed(t) || seen_exposed(u);
	__u8 seen = (t ? BG_PROTO_BIT(BG_PROTO_TCP) : 0) | (u ? BG_PROTO_BIT(BG_PROTO_UDP) : 0);

	if (t)
		append_seen(sb, t, d->port, BG_PROTO_TCP);
	if (u)
		append_seen(sb, u, d->port, BG_PROTO_UDP);
	append_netns_merge(sb, lc, d);
	if (d->merged)
		bg_strbuf_puts(sb, "  # merged: tcp and udp were both seen; one rule (proto: "
				   "both) covers them\n");
	if (is_internal(k) && exposed) {
		first_exposed(d, addr, sizeof(addr));
		snprintf(line, sizeof(line),
			 "VIOLATED NOW: seen on %s, but the built-in policy keeps %u (%s) %s. "
			 "Drafted as it says: fix the service first (the hint says how), or it "
			 "cannot bind once this is enforced.",
			 addr, d->port, kname ? kname : "?",
			 k->expose == BG_EXPOSE_NONE ? "from listening at all" : "on loopback");
		bg_cli_wrap(sb, "  # ", "  # ", line, LEARN_COMMENT_WIDTH);
	} else if (is_internal(k) && k->expose != d->expose) {
		snprintf(line, sizeof(line),
			 "the built-in policy says none for %u (%s): it must not listen at all. "
			 "Drafted as loopback, which is what was seen.",
			 d->port, kname ? kname : "?");
		bg_cli_wrap(sb, "  # ", "  # ", line, LEARN_COMMENT_WIDTH);
	}
	if (is_internal(k) && d->protos != seen)
		bg_strbuf_printf(sb,
				 "  # proto: %s, as in the built-in policy (only %s was seen)\n",
				 protos_yaml(d->protos), protos_yaml(seen));
	if (!is_internal(k) && exposed && !(t && t->wildcard) && !(u && u->wildcard))
		bg_strbuf_puts(sb,
			       "  # only specific addresses were seen: a list of CIDRs as expose "
			       "may be what is meant\n");
	bg_strbuf_printf(sb, "  - port: %u\n    proto: %s\n    expose: %s\n", d->port,
			 protos_yaml(d->protos), bg_expose_str(d->expose));
	append_service(sb, d->name);
	if (k && k->software && k->software[0]) {
		bg_strbuf_puts(sb, "    software: ");
		append_quoted(sb, k->software);
		bg_strbuf_puts(sb, "\n");
	}
	if (is_internal(k) && k->hint && k->hint[0]) {
		bg_strbuf_puts(sb, "    hint: ");
		append_quoted(sb, k->hint);
		bg_strbuf_puts(sb, "\n");
	}
	bg_strbuf_puts(sb, "\n");
}

struct learn_meta {
	const char *cgroup;
	unsigned int duration; /* asked for */
	unsigned int elapsed; /* watched, in seconds */
	int stopped; /* a signal ended the window early */
	int snapshot; /* the listeners of the start were seen (iterators available) */
};

static void append_header(struct bg_strbuf *sb, const struct learn_ctx *lc,
			  const struct learn_meta *m)
{
	char date[32] = "?", host[sizeof(((struct utsname *)0)->nodename)] = "?", cg[PATH_MAX];
	struct utsname u;
	size_t i, skipped = 0;
	struct tm tm;
	time_t now;

	now = time(NULL);
	if (gmtime_r(&now, &tm))
		strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (uname(&u) == 0)
		bg_cli_printable(host, sizeof(host), u.nodename, sizeof(u.nodename));
	bg_cli_printable(cg, sizeof(cg), m->cgroup, strlen(m->cgroup));
	for (i = 0; i < BG_KEY_UNLISTED; i++)
		skipped += lc->skipped[i];

	bg_strbuf_puts(sb, "# Draft bindguard policy, generated by bindguard learn.\n");
	bg_strbuf_printf(sb, "#   date:     %s\n#   host:     %s\n", date, host);
	bg_strbuf_printf(sb, "#   cgroup:   %s (sockets created in it or below)\n", cg);
	if (!m->duration)
		bg_strbuf_puts(sb, "#   duration: 0 s (only the sockets listening at the start)\n");
	else if (m->stopped)
		bg_strbuf_printf(
			sb, "#   duration: %u s of binds and listens (stopped early, of %u s)\n",
			m->elapsed, m->duration);
	else
		bg_strbuf_printf(sb, "#   duration: %u s of binds and listens\n", m->duration);
	if (!m->snapshot)
		bg_strbuf_puts(sb, "#   (this kernel has no socket iterators: the sockets that "
				   "listened before learn started are missing)\n");
	if (skipped)
		bg_strbuf_printf(sb,
				 "#   left out: %zu port%s in the ephemeral range of its network "
				 "namespace (--include-ephemeral keeps them)\n",
				 skipped, skipped == 1 ? "" : "s");
	bg_strbuf_puts(
		sb,
		"#\n"
		"# Review before enforcing: these rules describe what was seen, not what should be.\n"
		"# A port the built-in iRedMail policy keeps internal is drafted as it says, and a\n"
		"# comment marks it VIOLATED NOW when it was seen exposed. Any other port seen only\n"
		"# on loopback is drafted as loopback, one seen on any other address as public.\n"
		"# Each service is the built-in policy's name for the port, else the process that\n"
		"# held it. Ephemeral ports and connected UDP sockets (clients) are left out.\n"
		"# Validate with `bindguard check FILE`.\n"
		"\n"
		"version: 1\n"
		"name: learned\n"
		"# audit reports violations and blocks nothing: change this to enforce once reviewed.\n"
		"mode: audit\n"
		"default_action: deny\n"
		"unlisted: public\n"
		"\n"
		"rules:\n");
}

/* The whole draft. Returns the number of rules, or -ENOMEM. */
static long draft(struct bg_strbuf *sb, const struct learn_ctx *lc, const struct learn_meta *m)
{
	struct draft_rule *rules;
	size_t n, i;

	/* At most one rule per (proto, port) seen. */
	rules = calloc(BG_NR_PORTS * BG_NR_PROTOS, sizeof(*rules));
	if (!rules)
		return -ENOMEM;
	n = draft_rules(lc, rules);
	name_rules(rules, n);
	append_header(sb, lc, m);
	for (i = 0; i < n; i++)
		append_rule(sb, lc, &rules[i]);
	free(rules);
	return sb->err ? sb->err : (long)n;
}

/* The draft must be a policy bindguard accepts; anything else is a bug here, caught now. */
static int verify_draft(const struct bg_strbuf *sb, char *msg, size_t len)
{
	struct bg_compile_opts copts = { .mode_override = -1, .first_set_id = 1 };
	struct bg_compiled compiled;
	struct bg_policy_error perr;
	struct bg_policy *p = NULL;
	int err;

	err = bg_policy_parse_buffer("<draft>", sb->buf, sb->len, &p, &perr);
	if (err) {
		bg_policy_error_str(&perr, msg, len);
		return err;
	}
	err = bg_policy_compile(p, &copts, &compiled);
	if (err)
		snprintf(msg, len, "cannot compile: %s", strerror(-err));
	else
		bg_compiled_release(&compiled);
	bg_policy_free(p);
	return err;
}

/* ---- Output ------------------------------------------------------------------------------ */

/*
 * --output FILE is written through a new file in the same directory, renamed over FILE once the
 * whole draft is in it, so that FILE is at every moment either the old policy or the new one,
 * never a truncated mix. The old FILE is kept as FILE.bak. A FILE that is not a regular file (a
 * FIFO, /dev/stdout) is written in place.
 */
struct learn_out {
	const char *path; /* as given; NULL: standard output */
	char target[PATH_MAX]; /* path, its symlinks resolved when it exists */
	char tmp[PATH_MAX + 16]; /* the new file, "" once renamed or removed */
	int fd;
	int in_place; /* target is not a regular file */
	int replace; /* target exists: it becomes target.bak */
	struct stat old;
};

/* Made before the window, so that a bad path fails at once and not after a minute of watching. */
static int out_open(struct learn_out *o)
{
	int n;

	if (stat(o->path, &o->old) == 0) {
		if (S_ISDIR(o->old.st_mode))
			return -EISDIR;
		if (!realpath(o->path, o->target))
			return -errno;
		if (!S_ISREG(o->old.st_mode)) {
			o->in_place = 1;
			o->fd = open(o->target, O_WRONLY | O_CLOEXEC);
			return o->fd < 0 ? -errno : 0;
		}
		o->replace = 1;
	} else if (errno != ENOENT) {
		return -errno;
	} else if (snprintf(o->target, sizeof(o->target), "%s", o->path) >=
		   (int)sizeof(o->target)) {
		return -ENAMETOOLONG;
	}
	n = snprintf(o->tmp, sizeof(o->tmp), "%s.XXXXXX", o->target);
	if (n < 0 || (size_t)n >= sizeof(o->tmp))
		return -ENAMETOOLONG;
	o->fd = mkostemp(o->tmp, O_CLOEXEC);
	if (o->fd < 0) {
		o->tmp[0] = '\0';
		return -errno;
	}
	/* The draft is no secret: 0644 as a new file, else the old file's mode and owner. */
	if (fchmod(o->fd, o->replace ? o->old.st_mode & 07777 : 0644) < 0)
		return -errno;
	if (o->replace && fchown(o->fd, o->old.st_uid, o->old.st_gid) < 0)
		bg_dbg("cannot give %s the owner of %s: %s\n", o->tmp, o->target, strerror(errno));
	return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Keep the old target as target.bak: a second name for it, so target never goes missing. */
static int out_backup(const struct learn_out *o)
{
	char bak[PATH_MAX + 8];

	if (snprintf(bak, sizeof(bak), "%s.bak", o->target) >= (int)sizeof(bak))
		return -ENAMETOOLONG;
	if (unlink(bak) < 0 && errno != ENOENT)
		return -errno;
	if (link(o->target, bak) == 0)
		return 0;
	/* No hard links here: move it aside; the rename that follows puts the new one in place. */
	return rename(o->target, bak) < 0 ? -errno : 0;
}

static int out_write(struct learn_out *o, const struct bg_strbuf *sb)
{
	int err;

	if (!o->path) {
		if (fwrite(sb->buf, 1, sb->len, stdout) != sb->len || fflush(stdout) != 0)
			return -(errno ? errno : EIO);
		return 0;
	}
	err = write_all(o->fd, sb->buf, sb->len);
	if (err || o->in_place)
		return err;
	if (fsync(o->fd) < 0)
		return -errno;
	if (close(o->fd) < 0) {
		o->fd = -1;
		return -errno;
	}
	o->fd = -1;
	if (o->replace) {
		err = out_backup(o);
		if (err)
			return err;
	}
	if (rename(o->tmp, o->target) < 0)
		return -errno;
	o->tmp[0] = '\0';
	return 0;
}

/* Close --output; a new file that was never renamed into place is removed. */
static int out_close(struct learn_out *o)
{
	int err = 0;

	if (o->fd >= 0 && close(o->fd) != 0)
		err = -errno;
	o->fd = -1;
	if (o->tmp[0])
		unlink(o->tmp);
	o->tmp[0] = '\0';
	return err;
}

/* ---- The command ------------------------------------------------------------------------- */

struct learn_opts {
	struct learn_meta meta;
	struct learn_out out;
	const char *cgroup_path;
	int include_ephemeral;
};

/* Strict decimal seconds: digits only (no sign, no space, no suffix), at most max. */
static int parse_seconds(const char *s, unsigned int max, unsigned int *out)
{
	unsigned long v;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

static int learn_opt(void *ctx, int key, const char *arg)
{
	struct learn_opts *o = ctx;

	switch (key) {
	case 'd':
		if (parse_seconds(arg, LEARN_MAX_SECONDS, &o->meta.duration))
			return bg_opts_error(&learn_cmd,
					     "invalid --duration '%s' (expected whole seconds, 0 "
					     "to %u)",
					     arg, LEARN_MAX_SECONDS);
		break;
	case 'o':
		if (!*arg)
			return bg_opts_error(&learn_cmd, "--output needs a file name");
		o->out.path = arg;
		break;
	case 'c':
		o->cgroup_path = arg;
		break;
	case OPT_INCLUDE_EPHEMERAL:
		o->include_ephemeral = 1;
		break;
	}
	return 0;
}

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Watch until the window ends or a signal arrives; events land in lc through the handler. */
static int learn_watch(struct bg_loader *l, unsigned int seconds, struct learn_meta *m)
{
	long long start = mono_ms(), end = start + (long long)seconds * 1000, left;
	int err;

	while (!learn_stop) {
		left = end - mono_ms();
		if (left <= 0)
			break;
		err = bg_loader_poll(l, left < LEARN_POLL_MS ? (int)left : LEARN_POLL_MS);
		if (err < 0)
			return err;
	}
	/* What the kernel queued before the end (a flood that goes on: for a second more). */
	end = mono_ms() + 1000;
	do
		err = bg_loader_poll(l, 0);
	while (err > 0 && mono_ms() < end);
	m->stopped = learn_stop;
	m->elapsed = (unsigned int)((mono_ms() - start + 500) / 1000);
	return err < 0 ? err : 0;
}

static void learn_ctx_release(struct learn_ctx *lc)
{
	size_t i;

	if (lc->obs)
		for (i = 0; i < BG_KEY_UNLISTED; i++)
			free(lc->obs[i]);
	free(lc->obs);
	free(lc->skipped);
	bg_sock_list_release(&lc->snap);
	lc->obs = NULL;
	lc->skipped = NULL;
}

/* Watch the cgroup (attached), taking the snapshot once the hooks are on. */
static int learn_observe(struct bg_loader *loader, struct learn_ctx *lc, struct learn_meta *m)
{
	struct sigaction sa;
	int err;

	if (m->duration) {
		err = bg_loader_check_conflict(loader, NULL);
		if (err) {
			bg_err("%s; learn --duration 0 drafts from what listens now without "
			       "attaching\n",
			       bg_loader_strerror());
			return err;
		}
		err = bg_loader_set_handler(loader, learn_on_event, lc);
		if (err) {
			bg_err("%s\n", bg_loader_strerror());
			return err;
		}
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = learn_on_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		/* Attach before the snapshot: a socket bound in between is then seen either way. */
		err = bg_loader_attach(loader);
		if (err) {
			bg_err("%s\n", bg_loader_strerror());
			return err;
		}
	}
	if (m->snapshot) {
		err = learn_snapshot(loader, lc);
		if (err) {
			bg_err("cannot list the sockets: %s\n", strerror(-err));
			return err;
		}
	} else {
		bg_warn("this kernel has no socket iterators (5.9+): only binds during the next %u "
			"s are learned, not what listens already\n",
			m->duration);
	}
	if (!m->duration)
		return 0;
	bg_info("watching binds and listens in %s for %u s (Ctrl-C ends it early)\n", m->cgroup,
		m->duration);
	err = learn_watch(loader, m->duration, m);
	if (err) {
		bg_err("%s\n", bg_loader_strerror());
		return err;
	}
	return 0;
}

int bg_cmd_learn(int argc, char **argv)
{
	/*
	 * The observe policy: no rules, every port unlisted and public, so every bind is allowed,
	 * and log-allowed, so every one of them is reported. Audit, so that even a bug here could
	 * never deny anything. The parser refuses such a policy (it enforces nothing); the
	 * compiler takes it, which is what is wanted here.
	 */
	const struct bg_policy observe = {
		.mode = BG_MODE_AUDIT,
		.default_action = BG_ACTION_ALERT,
		.unlisted_expose = BG_EXPOSE_PUBLIC,
		.unlisted_action = BG_ACTION_ALERT,
	};
	struct bg_compile_opts copts = { .mode_override = -1, .log_allowed = 1, .gen = LEARN_GEN };
	struct learn_opts o = { .meta.duration = LEARN_DEFAULT_SECONDS, .out.fd = -1 };
	struct bg_loader_opts lopts = { 0 };
	struct bg_strbuf yaml = BG_STRBUF_INIT;
	struct bg_compiled compiled = { 0 };
	struct bg_policy *builtin = NULL;
	struct learn_ctx lc = { 0 };
	struct bg_loader *loader = NULL;
	int err, first, ret = EXIT_RUNTIME, verbose = 0;
	__u64 stats[BG_NR_STATS];
	char root[PATH_MAX], msg[1024];
	long n_rules;

	err = bg_opts_parse(&learn_cmd, argc, argv, learn_opt, &o, &first, &verbose);
	if (err)
		return err == BG_OPTS_DONE ? 0 : err;

	if (bg_cli_preflight("learn", &o.cgroup_path, root, sizeof(root)))
		return EXIT_RUNTIME;
	o.meta.cgroup = o.cgroup_path;
	/* What the built-in policy knows about ports; it is part of the binary, so it parses. */
	if (bg_cli_load_policy(NULL, &builtin, msg, sizeof(msg)))
		return EXIT_RUNTIME;
	lc.builtin = builtin;
	lc.include_ephemeral = o.include_ephemeral;
	if (o.out.path) {
		err = out_open(&o.out);
		if (err) {
			bg_err("cannot write %s: %s\n", o.out.path, strerror(-err));
			ret = EXIT_USAGE;
			goto out_close_output;
		}
	}
	lc.obs = calloc(BG_KEY_UNLISTED, sizeof(*lc.obs));
	lc.skipped = calloc(BG_KEY_UNLISTED, 1);
	if (!lc.obs || !lc.skipped) {
		bg_err("out of memory\n");
		goto out_free_ctx;
	}
	/* For a netns the snapshot did not walk: learn's own range, else the kernel's default. */
	lc.eph_lo = 32768;
	lc.eph_hi = 60999;
	bg_netns_port_range(&lc.eph_lo, &lc.eph_hi);

	lopts.cgroup_path = o.cgroup_path;
	err = bg_cli_loader_new(&lopts, &loader);
	if (err) {
		ret = err;
		goto out_free_ctx;
	}
	o.meta.snapshot = bg_loader_have_iter(loader);
	if (!o.meta.snapshot && !o.meta.duration) {
		bg_err("learn --duration 0 needs BPF socket iterators to see what listens, and this "
		       "kernel has none (5.9+: %s)\n",
		       bg_loader_features(loader)->why[BG_FEAT_SOCK_ITER]);
		goto out_free_loader;
	}
	/* The observe policy is built in code: failing to compile it is a bug, not a usage error. */
	if (bg_cli_install(loader, &observe, &copts, &compiled))
		goto out_free_loader;
	if (learn_observe(loader, &lc, &o.meta))
		goto out_release;
	if (o.meta.duration && bg_loader_stats(loader, stats) == 0 && stats[BG_STAT_DROPPED])
		bg_warn("%llu events were dropped (ring buffer full): the draft may miss ports\n",
			(unsigned long long)stats[BG_STAT_DROPPED]);
	/* Nothing more to watch: detach now rather than while the draft is written. */
	bg_loader_free(loader);
	loader = NULL;
	if (lc.err) {
		bg_err("out of memory while recording what was seen\n");
		goto out_release;
	}

	n_rules = draft(&yaml, &lc, &o.meta);
	if (n_rules < 0) {
		bg_err("out of memory\n");
		goto out_release;
	}
	if (!n_rules) {
		bg_err("nothing is listening in scope; no policy drafted\n");
		goto out_release;
	}
	err = verify_draft(&yaml, msg, sizeof(msg));
	if (err) {
		bg_err("internal error: the drafted policy is not valid: %s\n", msg);
		goto out_release;
	}
	err = out_write(&o.out, &yaml);
	if (err) {
		bg_err("cannot write %s: %s\n", o.out.path ? o.out.path : "the policy",
		       strerror(-err));
		goto out_release;
	}
	bg_info("drafted %ld rule%s from %zu socket%s listening at the start and %llu binds and "
		"listens; review %s before enforcing\n",
		n_rules, n_rules == 1 ? "" : "s", lc.n_now, lc.n_now == 1 ? "" : "s", lc.n_events,
		o.out.path ? o.out.path : "it");
	ret = 0;
out_release:
	bg_compiled_release(&compiled);
out_free_loader:
	bg_loader_free(loader); /* detaches every hook */
out_free_ctx:
	learn_ctx_release(&lc);
out_close_output:
	err = out_close(&o.out);
	if (err && !ret) {
		bg_err("cannot write %s: %s\n", o.out.path, strerror(-err));
		ret = EXIT_RUNTIME;
	}
	bg_policy_free(builtin);
	bg_strbuf_release(&yaml);
	return ret;
}
