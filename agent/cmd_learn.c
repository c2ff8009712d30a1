// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cmd_learn.c - bindguard learn: draft a policy from what this host actually does.
 *
 * It takes the listeners and bound UDP sockets that exist now (the socket iterators), then
 * watches every bind() and listen() in the cgroup for a while, with an "observe" policy that
 * allows everything and reports every bind (unlisted ports public, log-allowed). Each port seen
 * becomes a rule: loopback if it was only ever seen on loopback, public otherwise, named after
 * the process that held it. The draft is in audit mode and says so: it records what was seen,
 * not what should be, and a human reviews it before it enforces anything.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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
#include "commands.h"
#include "kfeatures.h"
#include "loader.h"
#include "log.h"
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

/* Where a port was seen. */
#define SRC_NOW (1u << 0) /* listening (or bound, UDP) when learn started */
#define SRC_BIND (1u << 1) /* a bind() during the window */
#define SRC_LISTEN (1u << 2) /* a listen() during the window */

static const char learn_usage[] =
	"Usage: bindguard learn [--duration SECONDS] [--output FILE] [--cgroup DIR] [-v]\n"
	"\n"
	"Draft a policy from what is listening now and from the binds and listens seen during\n"
	"the next SECONDS. Every port seen becomes a rule named after the process that held it:\n"
	"loopback if it was only seen on loopback addresses, public otherwise. Ephemeral UDP\n"
	"ports and connected UDP sockets (clients) are left out. The draft is in audit mode:\n"
	"review it, check it with `bindguard check FILE`, then set mode: enforce. While it\n"
	"watches, learn attaches hooks that allow every bind; it detaches them when it ends.\n"
	"Needs root.\n"
	"\n"
	"Options:\n"
	"  -d, --duration SECONDS  how long to watch binds (default 60); 0 takes only the\n"
	"                          snapshot of what listens now and attaches nothing.\n"
	"                          SIGINT or SIGTERM ends the window early\n"
	"  -o, --output FILE       write the policy to FILE (created or replaced, mode 0644)\n"
	"                          instead of standard output\n"
	"  -c, --cgroup DIR        learn only from sockets created in this cgroup v2 directory\n"
	"                          or below it (default: the cgroup v2 root, the whole host)\n"
	"  -v, --verbose           more diagnostics on stderr; twice for libbpf's debug log\n"
	"\n"
	"Exit status: 0 policy drafted, 1 runtime failure or nothing to learn from, 2 usage\n"
	"error.\n";

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
	size_t n_addrs, n_owners; /* distinct ones seen; the arrays keep the first few */
	struct obs_addr addrs[OBS_MAX_ADDRS];
	struct obs_owner owners[OBS_MAX_OWNERS];
};

struct learn_ctx {
	struct port_obs **obs; /* [BG_RULE_KEY(proto, port)], allocated on first sight */
	__u32 eph_lo, eph_hi; /* the ephemeral port range: UDP there is a client */
	int err; /* -ENOMEM once an observation was lost */
	unsigned long long n_events; /* binds and listens used */
	size_t n_now; /* sockets of the snapshot used */
};

/*
 * Record one socket. UDP ports in the ephemeral range are the source ports of clients, and
 * port 0 is no port at all (an autobind shows up later, in its listen event).
 */
static void learn_note(struct learn_ctx *lc, __u8 proto, __u16 port, __u8 family,
		       const __u8 addr[16], int pid, const char *comm, unsigned int src)
{
	struct port_obs *o;
	__u32 w[4];
	size_t i, n;

	if (proto >= BG_NR_PROTOS || !port || (family != BG_AF_INET && family != BG_AF_INET6))
		return;
	if (proto == BG_PROTO_UDP && port >= lc->eph_lo && port <= lc->eph_hi)
		return;
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
	learn_note(lc, ev->proto, ev->port, ev->family, ev->addr,
		   ev->flags & BG_EV_F_NO_TASK ? 0 : (int)ev->pid, ev->comm, src);
	return 0;
}

/* The listeners and bound UDP sockets in scope now. A connected UDP socket is a client. */
static int learn_snapshot(struct bg_loader *l, struct learn_ctx *lc)
{
	struct bg_sock_list list = { 0 };
	size_t i;
	int err;

	err = bg_sockets_collect(l, 0, &list);
	if (err)
		goto out;
	if (bg_sockets_attribute(&list))
		bg_dbg("cannot attribute every socket to its process\n");
	for (i = 0; i < list.n; i++) {
		const struct bg_sock_info *si = &list.v[i];

		if (!si->rec.in_scope || !si->rec.port)
			continue;
		if (si->rec.proto == BG_PROTO_UDP && si->rec.peer_port)
			continue;
		lc->n_now++;
		learn_note(lc, si->rec.proto, si->rec.port, si->rec.family, si->rec.addr, si->pid,
			   si->comm, SRC_NOW);
	}
out:
	bg_sock_list_release(&list);
	return err;
}

/* The kernel's ephemeral port range (of learn's own netns); the default if it cannot be read. */
static void read_ephemeral_range(__u32 *lo, __u32 *hi)
{
	unsigned int a, b;
	FILE *f;

	*lo = 32768;
	*hi = 60999;
	f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
	if (!f)
		return;
	if (fscanf(f, "%u %u", &a, &b) == 2 && a <= b && b <= 65535) {
		*lo = a;
		*hi = b;
	}
	fclose(f);
}

/* ---- The draft --------------------------------------------------------------------------- */

static int ascii_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int ascii_alnum(char c)
{
	return ascii_alpha(c) || (c >= '0' && c <= '9');
}

/*
 * The service name: the owner's comm reduced to [A-Za-z0-9._-], every other byte a '-'. It is
 * written plain when YAML reads it back as exactly that string, else double-quoted (no escape
 * is ever needed, given the characters left).
 */
static void append_service(struct bg_strbuf *sb, const struct port_obs *o, __u16 port)
{
	static const char *const words[] = { "y",    "n",     "yes",  "no",  "on", "off",
					     "true", "false", "null", "nan", "inf" };
	char name[BG_COMM_LEN + 16];
	const char *comm = NULL;
	int quote = 0;
	size_t i, n;

	for (i = 0; i < o->n_owners && i < OBS_MAX_OWNERS && !comm; i++)
		if (o->owners[i].comm[0])
			comm = o->owners[i].comm;
	if (!comm) {
		snprintf(name, sizeof(name), "port-%u", port);
	} else {
		n = strnlen(comm, BG_COMM_LEN);
		for (i = 0; i < n; i++)
			name[i] = ascii_alnum(comm[i]) || comm[i] == '.' || comm[i] == '_' ||
						  comm[i] == '-' ?
					  comm[i] :
					  '-';
		name[n] = '\0';
	}
	if (!ascii_alpha(name[0]))
		quote = 1;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcasecmp(name, words[i]))
			quote = 1;
	bg_strbuf_printf(sb, "    service: %s%s%s\n", quote ? "\"" : "", name, quote ? "\"" : "");
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
	char text[INET6_ADDRSTRLEN + 2], comm[BG_COMM_LEN + 1];
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

static int is_public(const struct port_obs *o)
{
	return o->wildcard || o->specific;
}

/* One rule; u is set when a UDP observation with the same exposure shares it (proto: both). */
static void append_rule(struct bg_strbuf *sb, __u16 port, __u8 proto, const struct port_obs *o,
			const struct port_obs *u)
{
	append_seen(sb, o, port, proto);
	if (u)
		append_seen(sb, u, port, BG_PROTO_UDP);
	if (is_public(o) && !o->wildcard && (!u || !u->wildcard))
		bg_strbuf_puts(sb,
			       "  # only specific addresses were seen: a list of CIDRs as expose "
			       "may be what is meant\n");
	bg_strbuf_printf(sb, "  - port: %u\n    proto: %s\n    expose: %s\n", port,
			 u ? "both" : bg_proto_str(proto), is_public(o) ? "public" : "loopback");
	append_service(sb, u && !o->n_owners ? u : o, port);
	bg_strbuf_puts(sb, "\n");
}

struct learn_meta {
	const char *cgroup;
	unsigned int duration; /* asked for */
	unsigned int elapsed; /* watched, in seconds */
	int stopped; /* a signal ended the window early */
	int snapshot; /* the listeners of the start were seen (iterators available) */
};

static void append_header(struct bg_strbuf *sb, const struct learn_meta *m)
{
	char date[32] = "?", host[sizeof(((struct utsname *)0)->nodename)] = "?", cg[PATH_MAX];
	struct utsname u;
	struct tm tm;
	time_t now;

	now = time(NULL);
	if (gmtime_r(&now, &tm))
		strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (uname(&u) == 0)
		bg_cli_printable(host, sizeof(host), u.nodename, sizeof(u.nodename));
	bg_cli_printable(cg, sizeof(cg), m->cgroup, strlen(m->cgroup));

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
	bg_strbuf_puts(
		sb,
		"#\n"
		"# Review before enforcing: these rules describe what was seen, not what should be.\n"
		"# A port seen only on loopback is drafted as loopback, one seen on any other address\n"
		"# as public; each service is the process that held the port. Ephemeral UDP ports and\n"
		"# connected UDP sockets (clients) are left out. Validate with `bindguard check FILE`.\n"
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

/* The whole draft, rules sorted by port (TCP before UDP). Returns the number of rules. */
static size_t draft(struct bg_strbuf *sb, const struct learn_ctx *lc, const struct learn_meta *m)
{
	const struct port_obs *t, *u;
	size_t n = 0;
	__u32 port;

	append_header(sb, m);
	for (port = 1; port < BG_NR_PORTS; port++) {
		t = lc->obs[BG_RULE_KEY(BG_PROTO_TCP, port)];
		u = lc->obs[BG_RULE_KEY(BG_PROTO_UDP, port)];
		if (t && u && is_public(t) == is_public(u)) {
			append_rule(sb, (__u16)port, BG_PROTO_TCP, t, u);
			n++;
			continue;
		}
		if (t) {
			append_rule(sb, (__u16)port, BG_PROTO_TCP, t, NULL);
			n++;
		}
		if (u) {
			append_rule(sb, (__u16)port, BG_PROTO_UDP, u, NULL);
			n++;
		}
	}
	return n;
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

struct learn_out {
	const char *path; /* NULL: standard output */
	int fd;
	int created; /* this run created the file: remove it if nothing is written */
};

/*
 * Open --output before the window, so a bad path fails at once and not after a minute of
 * watching; truncate it only when the draft is ready, so a failed run leaves a previous draft
 * as it was.
 */
static int out_open(struct learn_out *o)
{
	o->fd = open(o->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (o->fd >= 0) {
		o->created = 1;
		return 0;
	}
	if (errno != EEXIST)
		return -errno;
	o->fd = open(o->path, O_WRONLY | O_CLOEXEC);
	return o->fd >= 0 ? 0 : -errno;
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

static int out_write(struct learn_out *o, const struct bg_strbuf *sb)
{
	struct stat st;
	int err;

	if (!o->path) {
		if (fwrite(sb->buf, 1, sb->len, stdout) != sb->len || fflush(stdout) != 0)
			return -(errno ? errno : EIO);
		return 0;
	}
	if (fstat(o->fd, &st) == 0 && S_ISREG(st.st_mode) && ftruncate(o->fd, 0) != 0)
		return -errno;
	err = write_all(o->fd, sb->buf, sb->len);
	if (err)
		return err;
	o->created = 0; /* written: it stays */
	return 0;
}

/* Close --output; a file this run created and never wrote is removed. */
static int out_close(struct learn_out *o)
{
	int err = 0;

	if (o->fd < 0)
		return 0;
	if (close(o->fd) != 0)
		err = -errno;
	o->fd = -1;
	if (o->created)
		unlink(o->path);
	return err;
}

/* ---- The command ------------------------------------------------------------------------- */

static int learn_usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "bindguard: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'bindguard learn --help'.\n");
	return EXIT_USAGE;
}

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
	/* What the kernel queued before the end. */
	err = bg_loader_poll(l, 0);
	m->stopped = learn_stop;
	m->elapsed = (unsigned int)((mono_ms() - start + 500) / 1000);
	return err < 0 ? err : 0;
}

static void free_obs(struct learn_ctx *lc)
{
	size_t i;

	if (!lc->obs)
		return;
	for (i = 0; i < BG_KEY_UNLISTED; i++)
		free(lc->obs[i]);
	free(lc->obs);
	lc->obs = NULL;
}

int bg_cmd_learn(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "duration", required_argument, NULL, 'd' },
		{ "output", required_argument, NULL, 'o' },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
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
	struct learn_meta meta = { .duration = LEARN_DEFAULT_SECONDS };
	struct learn_out out = { .fd = -1 };
	struct bg_loader_opts lopts = { 0 };
	struct bg_strbuf yaml = BG_STRBUF_INIT;
	struct bg_compiled compiled = { 0 };
	struct learn_ctx lc = { 0 };
	struct bg_loader *loader = NULL;
	const char *cgroup_path = NULL;
	int opt, err, ret = EXIT_RUNTIME, verbose = 0;
	__u64 stats[BG_NR_STATS];
	char root[PATH_MAX], msg[1024];
	size_t n_rules;
	struct sigaction sa;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "d:o:c:vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			if (parse_seconds(optarg, LEARN_MAX_SECONDS, &meta.duration))
				return learn_usage_error(
					"invalid --duration '%s' (expected whole seconds, 0 to "
					"31622400)",
					optarg);
			break;
		case 'o':
			out.path = optarg;
			break;
		case 'c':
			cgroup_path = optarg;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			fputs(learn_usage, stdout);
			return 0;
		default:
			return learn_usage_error("invalid option for learn%s", "");
		}
	}
	if (optind != argc)
		return learn_usage_error("unexpected argument '%s'", argv[optind]);
	bg_log_set_level(BG_LOG_INFO + verbose);

	if (bg_cli_preflight("learn", &cgroup_path, root, sizeof(root)))
		return EXIT_RUNTIME;
	meta.cgroup = cgroup_path;
	if (out.path) {
		err = out_open(&out);
		if (err) {
			bg_err("cannot open output %s: %s\n", out.path, strerror(-err));
			return EXIT_USAGE;
		}
	}
	lc.obs = calloc(BG_KEY_UNLISTED, sizeof(*lc.obs));
	if (!lc.obs) {
		bg_err("out of memory\n");
		goto out_close_output;
	}
	read_ephemeral_range(&lc.eph_lo, &lc.eph_hi);

	lopts.cgroup_path = cgroup_path;
	err = bg_cli_loader_new(&lopts, &loader);
	if (err) {
		ret = err;
		goto out_free_obs;
	}
	meta.snapshot = bg_loader_have_iter(loader);
	if (!meta.snapshot && !meta.duration) {
		bg_err("learn --duration 0 needs BPF socket iterators to see what listens, and this "
		       "kernel has none (5.9+: %s)\n",
		       bg_loader_features(loader)->why[BG_FEAT_SOCK_ITER]);
		goto out_free_loader;
	}
	/* The observe policy is built in code: failing to compile it is a bug, not a usage error. */
	if (bg_cli_install(loader, &observe, &copts, &compiled))
		goto out_free_loader;

	if (meta.duration) {
		err = bg_loader_check_conflict(loader, NULL);
		if (err) {
			bg_err("%s; learn --duration 0 drafts from what listens now without "
			       "attaching\n",
			       bg_loader_strerror());
			goto out_release;
		}
		err = bg_loader_set_handler(loader, learn_on_event, &lc);
		if (err) {
			bg_err("%s\n", bg_loader_strerror());
			goto out_release;
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
			goto out_release;
		}
	}
	if (meta.snapshot) {
		err = learn_snapshot(loader, &lc);
		if (err) {
			bg_err("cannot list the sockets: %s\n", strerror(-err));
			goto out_release;
		}
	} else {
		bg_warn("this kernel has no socket iterators (5.9+): only binds during the next %u "
			"s are learned, not what listens already\n",
			meta.duration);
	}
	if (meta.duration) {
		bg_info("watching binds and listens in %s for %u s (Ctrl-C ends it early)\n",
			cgroup_path, meta.duration);
		err = learn_watch(loader, meta.duration, &meta);
		if (err) {
			bg_err("%s\n", bg_loader_strerror());
			goto out_release;
		}
		if (bg_loader_stats(loader, stats) == 0 && stats[BG_STAT_DROPPED])
			bg_warn("%llu events were dropped (ring buffer full): the draft may miss "
				"ports\n",
				(unsigned long long)stats[BG_STAT_DROPPED]);
	}
	/* Nothing more to watch: detach now rather than while the draft is written. */
	bg_loader_free(loader);
	loader = NULL;
	if (lc.err) {
		bg_err("out of memory while recording what was seen\n");
		goto out_release;
	}

	n_rules = draft(&yaml, &lc, &meta);
	if (yaml.err) {
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
	err = out_write(&out, &yaml);
	if (err) {
		bg_err("cannot write %s: %s\n", out.path ? out.path : "the policy", strerror(-err));
		goto out_release;
	}
	bg_info("drafted %zu rule%s from %zu socket%s listening at the start and %llu binds and "
		"listens; review %s before enforcing\n",
		n_rules, n_rules == 1 ? "" : "s", lc.n_now, lc.n_now == 1 ? "" : "s", lc.n_events,
		out.path ? out.path : "it");
	ret = 0;
out_release:
	bg_compiled_release(&compiled);
out_free_loader:
	bg_loader_free(loader); /* detaches every hook */
out_free_obs:
	free_obs(&lc);
out_close_output:
	err = out_close(&out);
	if (err && !ret) {
		bg_err("cannot write %s: %s\n", out.path, strerror(-err));
		ret = EXIT_RUNTIME;
	}
	bg_strbuf_release(&yaml);
	return ret;
}
