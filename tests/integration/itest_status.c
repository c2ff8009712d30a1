// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * itest_status.c - `bindguard status` and `bindguard learn` against real sockets.
 *
 * Workers are long-lived children: each joins the sandbox cgroup (or deliberately not), unshares
 * its own network namespace (optionally with its own ephemeral port range), names itself
 * (comm), opens its sockets, reports its netns and then blocks until told to exit, so status and
 * learn see them as they are.
 *
 * status: compliant and violating listeners and bound UDP sockets across three network
 * namespaces in the sandbox cgroup (one named under /run/netns), plus a violating one outside it
 * that --cgroup must not list; the table fits 80 columns with the rule's hint under each
 * violation and a cell cut to fit; wide and JSON keep everything (JSON's action is check's:
 * none on a public port); violations first; the footer says who enforces (nobody, an agent, a
 * pinned state held by an agent or by none); exit 3, then 0 once the violators are gone.
 * learn: a draft from loopback 3306, wildcard 25 and loopback UDP 5353 listening at the start
 * plus a bind and listen on 0.0.0.0:8080 during the window; the UDP clients and ephemeral
 * ports it must leave out; a comm that tries to inject YAML; the refusals. Then a snapshot
 * draft: 0.0.0.0:3306 drafted as the built-in policy says (loopback) and marked violated, one
 * port in two netns and on two protocols merged with a comment, three python3 services made
 * unique, a netns's own ephemeral range honoured unless --include-ephemeral, and --output
 * replacing a file through a rename with the old one kept as .bak (and untouched on failure).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox.h"

#define OUT_LEN (256 * 1024)

static const char policy_yaml[] =
	"version: 1\n"
	"name: status-test\n"
	"rules:\n"
	"  - port: 25\n"
	"    expose: public\n"
	"    service: smtp\n"
	"  - port: 3306\n"
	"    expose: loopback\n"
	"    service: mysql\n"
	"    software: MariaDB\n"
	"    hint: \"Set bind-address = 127.0.0.1 in /etc/mysql/mariadb.conf.d/50-server.cnf "
	"and restart mariadb, then run bindguard status again to see it pass.\"\n"
	"  - port: 5432\n"
	"    expose: loopback\n"
	"    service: postgresql-main-cluster\n"
	"  - port: 4190\n"
	"    expose: none\n"
	"    service: managesieve\n"
	"  - port: 11211\n"
	"    proto: udp\n"
	"    expose: loopback\n"
	"    service: memcached\n"
	"  - port: 5353\n"
	"    proto: udp\n"
	"    expose: loopback\n"
	"    service: mdns-local\n";

/* One socket a worker opens. connect_port: UDP only, connect() to 127.0.0.1:connect_port. */
struct lsock {
	int type; /* SOCK_STREAM (bind + listen) or SOCK_DGRAM (bind); 0 ends the list */
	int family;
	const char *addr;
	int port;
	int connect_port;
};

struct wspec {
	const char *comm;
	int in_cgroup;
	const struct lsock *socks;
	const char *eph_range; /* "LO HI": the netns's ip_local_port_range, or NULL (default) */
};

struct worker {
	pid_t pid;
	int ctl, rep;
	unsigned int netns; /* inode of the worker's own network namespace */
};

struct hello {
	int ok;
	unsigned int netns;
};

static int open_sock(const struct lsock *s)
{
	struct sockaddr_storage ss;
	struct sockaddr_in to;
	socklen_t len;
	int fd, one = 1;

	memset(&ss, 0, sizeof(ss));
	if (s->family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(s->port);
		inet_pton(AF_INET, s->addr, &a->sin_addr);
		len = sizeof(*a);
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(s->port);
		inet_pton(AF_INET6, s->addr, &a->sin6_addr);
		len = sizeof(*a);
	}
	fd = socket(s->family, s->type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) != 0)
		goto out_close;
	if (s->type == SOCK_STREAM && listen(fd, 8) != 0)
		goto out_close;
	if (s->connect_port) {
		memset(&to, 0, sizeof(to));
		to.sin_family = AF_INET;
		to.sin_port = htons(s->connect_port);
		to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (connect(fd, (struct sockaddr *)&to, sizeof(to)) != 0)
			goto out_close;
	}
	return fd; /* kept open until the worker exits */
out_close:
	close(fd);
	return -1;
}

static int join_cgroup(const struct sb *sb)
{
	char path[PATH_MAX + 16], pid[32];
	int fd, ok;

	snprintf(path, sizeof(path), "%s/cgroup.procs", sb->cg_dir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	ok = write(fd, pid, strlen(pid)) > 0;
	close(fd);
	return ok ? 0 : -1;
}

static void worker_body(const struct sb *sb, const struct wspec *spec, int ctl, int rep)
{
	struct hello h = { .ok = 1 };
	const struct lsock *s;
	struct stat st;
	char c;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (spec->in_cgroup && join_cgroup(sb))
		h.ok = 0;
	if (unshare(CLONE_NEWNET) || sb_lo_up())
		h.ok = 0;
	if (stat("/proc/self/ns/net", &st) == 0)
		h.netns = (unsigned int)st.st_ino;
	if (h.ok && spec->eph_range) {
		int fd = open("/proc/sys/net/ipv4/ip_local_port_range", O_WRONLY | O_CLOEXEC);

		if (fd < 0 || write(fd, spec->eph_range, strlen(spec->eph_range)) < 0)
			h.ok = 0;
		if (fd >= 0)
			close(fd);
	}
	prctl(PR_SET_NAME, spec->comm);
	for (s = spec->socks; h.ok && s->type; s++)
		if (open_sock(s) < 0) {
			fprintf(stderr, "worker %s: %s:%d: %s\n", spec->comm, s->addr, s->port,
				strerror(errno));
			h.ok = 0;
		}
	if (write(rep, &h, sizeof(h)) != sizeof(h))
		_exit(3);
	/* Hold the sockets until told to go (or until the test's end closes the pipe). */
	while (read(ctl, &c, 1) < 0 && errno == EINTR)
		;
	_exit(0);
}

static int worker_start(const struct sb *sb, const struct wspec *spec, struct worker *w)
{
	int ctl[2], rep[2];
	struct hello h;

	memset(w, 0, sizeof(*w));
	if (pipe2(ctl, O_CLOEXEC))
		return -1;
	if (pipe2(rep, O_CLOEXEC)) {
		close(ctl[0]);
		close(ctl[1]);
		return -1;
	}
	w->pid = fork();
	if (w->pid == 0) {
		close(ctl[1]);
		close(rep[0]);
		worker_body(sb, spec, ctl[0], rep[1]);
	}
	close(ctl[0]);
	close(rep[1]);
	w->ctl = ctl[1];
	w->rep = rep[0];
	if (w->pid < 0) {
		close(w->ctl);
		close(w->rep);
		w->pid = 0;
		return -1;
	}
	if (read(w->rep, &h, sizeof(h)) != sizeof(h) || !h.ok)
		return -1;
	w->netns = h.netns;
	return 0;
}

static void worker_stop(struct worker *w)
{
	char q = 'q';

	if (w->pid <= 0)
		return;
	if (write(w->ctl, &q, 1) != 1)
		kill(w->pid, SIGKILL);
	waitpid(w->pid, NULL, 0);
	close(w->ctl);
	close(w->rep);
	w->pid = 0;
}

static int count(const char *out, const char *const *needles)
{
	return out ? sb_count_lines(out, needles) : -1;
}

/*
 * Is every violation listed before every allowed socket? A line is a socket when it starts with
 * a verdict word (table) or holds a "verdict" member (JSON).
 */
static int violations_first(const char *text, int json)
{
	const char *line = text, *nl;
	int seen_allow = 0, allow, viol;
	size_t len;

	while (line && *line) {
		nl = strchr(line, '\n');
		len = nl ? (size_t)(nl - line) : strlen(line);
		if (json) {
			allow = memmem(line, len, "\"verdict\":\"allow\"", 17) != NULL;
			viol = !allow && memmem(line, len, "\"verdict\":", 10) != NULL;
		} else {
			allow = !strncmp(line, "allow ", 6);
			viol = !strncmp(line, "deny ", 5) || !strncmp(line, "alert ", 6);
		}
		if (viol && seen_allow)
			return 0;
		seen_allow |= allow;
		line = nl ? nl + 1 : NULL;
	}
	return 1;
}

/* ---- status ------------------------------------------------------------------------------ */

static const struct lsock good_socks[] = {
	{ SOCK_STREAM, AF_INET, "127.0.0.1", 3306, 0 },
	{ SOCK_STREAM, AF_INET, "0.0.0.0", 25, 0 },
	{ SOCK_STREAM, AF_INET6, "::1", 5432, 0 },
	{ SOCK_DGRAM, AF_INET, "127.0.0.1", 11211, 0 },
	{ SOCK_STREAM, AF_INET, "127.0.0.1", 8081, 0 },
	{ 0 },
};
static const struct lsock bad_socks[] = {
	{ SOCK_STREAM, AF_INET, "0.0.0.0", 3306, 0 },
	{ SOCK_STREAM, AF_INET6, "::", 4190, 0 },
	{ SOCK_DGRAM, AF_INET, "0.0.0.0", 5353, 0 },
	{ 0 },
};
static const struct lsock other_socks[] = { { SOCK_STREAM, AF_INET, "0.0.0.0", 5432, 0 }, { 0 } };
static const struct lsock outside_socks[] = { { SOCK_STREAM, AF_INET, "0.0.0.0", 3306, 0 }, { 0 } };

#define BAD_COMM "badsrv-longname" /* 15 bytes, the most a comm holds: cut in the table */

/* The expected rows. */
struct want {
	const char *verdict;
	const char *proto;
	const char *addr; /* as JSON writes it; the table brackets IPv6 */
	int port;
	struct worker *w;
	const char *comm;
	const char *rule; /* NULL: unlisted */
	const char *expose;
	const char *action; /* NULL: none (a public port), as `check` shows it */
	const char *netns_name; /* NULL: the netns has none, the inode is shown */
};

/*
 * Every row, whole: in the wide table (nothing cut) and in JSON. In the table the address and
 * its port are one cell; the netns is its name when it has one.
 */
static void check_rows(const char *wide, const char *json, const struct want *wants, size_t n,
		       const char *cgroup_rel)
{
	char v[32], pr[32], ad[96], ns[64], ow[64], ru[80], ex[48], ac[32], cg[PATH_MAX + 8];
	char jv[48], jp[48], ja[96], jpo[32], jns[48], jnn[80], jpid[32], jc[64], jr[96], je[48],
		js[48], jac[48], jcg[PATH_MAX + 16];
	size_t i;

	for (i = 0; i < n; i++) {
		const struct want *x = &wants[i];
		int v6 = strchr(x->addr, ':') != NULL;

		snprintf(v, sizeof(v), "%s ", x->verdict);
		snprintf(pr, sizeof(pr), " %s ", x->proto);
		snprintf(ad, sizeof(ad), v6 ? " [%s]:%d " : " %s:%d ", x->addr, x->port);
		if (x->netns_name)
			snprintf(ns, sizeof(ns), " %s ", x->netns_name);
		else
			snprintf(ns, sizeof(ns), " %u ", x->w->netns);
		snprintf(ow, sizeof(ow), " %d/%s ", (int)x->w->pid, x->comm);
		snprintf(ru, sizeof(ru), " %s ", x->rule ? x->rule : "-");
		snprintf(ex, sizeof(ex), " %s ", x->expose);
		snprintf(ac, sizeof(ac), " %s ", x->action ? x->action : "-");
		snprintf(cg, sizeof(cg), " %s\n", cgroup_rel);
		{
			const char *nd[] = { v, pr, ad, ns, ow, ru, ex, ac, NULL };

			SB_CHECK(count(wide, nd) == 1,
				 "wide: one row %s %s %s:%d netns %u pid %d rule %s expose %s",
				 x->verdict, x->proto, x->addr, x->port, x->w->netns,
				 (int)x->w->pid, x->rule ? x->rule : "-", x->expose);
		}
		snprintf(jv, sizeof(jv), "\"verdict\":\"%s\"", x->verdict);
		snprintf(jp, sizeof(jp), "\"proto\":\"%s\"", x->proto);
		snprintf(ja, sizeof(ja), "\"addr\":\"%s\"", x->addr);
		snprintf(jpo, sizeof(jpo), "\"port\":%d", x->port);
		snprintf(jns, sizeof(jns), "\"netns\":%u,", x->w->netns);
		if (x->netns_name)
			snprintf(jnn, sizeof(jnn), "\"netns_name\":\"%s\"", x->netns_name);
		else
			snprintf(jnn, sizeof(jnn), "\"netns_name\":null");
		snprintf(jpid, sizeof(jpid), "\"pid\":%d,", (int)x->w->pid);
		snprintf(jc, sizeof(jc), "\"comm\":\"%s\"", x->comm);
		if (x->rule)
			snprintf(jr, sizeof(jr), "\"rule\":\"%s\",\"service\":\"%s\"", x->rule,
				 x->rule);
		else
			snprintf(jr, sizeof(jr), "\"rule\":null,\"service\":null");
		snprintf(je, sizeof(je), "\"expose\":\"%s\"", x->expose);
		if (x->action)
			snprintf(jac, sizeof(jac), "\"action\":\"%s\"", x->action);
		else
			snprintf(jac, sizeof(jac), "\"action\":null");
		snprintf(js, sizeof(js), "\"state\":\"%s\"",
			 strcmp(x->proto, "tcp") ? "bound" : "listen");
		snprintf(jcg, sizeof(jcg), "\"cgroup\":\"%s\"", cgroup_rel);
		{
			const char *nd[] = { jv, jp, ja, jpo, jns, jnn, jpid,
					     jc, jr, je, jac, js,  jcg, NULL };

			SB_CHECK(count(json, nd) == 1,
				 "json: one object %s %s %s:%d netns %u pid %d rule %s action %s",
				 x->verdict, x->proto, x->addr, x->port, x->w->netns,
				 (int)x->w->pid, x->rule ? x->rule : "null",
				 x->action ? x->action : "null");
		}
	}
}

static int run_status(struct sb *sb, const char *policy, const char *format, char *out)
{
	const char *argv[] = { sb->bin, "status",   "--format", format, "--policy",
			       policy,	"--cgroup", sb->cg_dir, NULL };

	return sb_exec(argv, out, OUT_LEN);
}

/* The longest line of text, in bytes (status writes ASCII only). */
static size_t longest_line(const char *text)
{
	size_t max = 0, len;
	const char *nl;

	while (text && *text) {
		nl = strchr(text, '\n');
		len = nl ? (size_t)(nl - text) : strlen(text);
		if (len > max)
			max = len;
		text = nl ? nl + 1 : NULL;
	}
	return max;
}

/* The line after the first one that holds every needle, or NULL. */
static const char *line_after(const char *text, const char *const *needles)
{
	const char *line = text, *nl;
	char buf[1024];
	int i, all;

	while (line && *line) {
		nl = strchr(line, '\n');
		snprintf(buf, sizeof(buf), "%.*s", nl ? (int)(nl - line) : (int)strlen(line), line);
		for (i = 0, all = 1; needles[i] && all; i++)
			all = strstr(buf, needles[i]) != NULL;
		if (all)
			return nl ? nl + 1 : NULL;
		line = nl ? nl + 1 : NULL;
	}
	return NULL;
}

/* A name under /run/netns for a worker's netns, as `ip netns` makes one; removed at teardown. */
static char netns_path[PATH_MAX];
static int netns_made_dir;

static void netns_unname(void *arg)
{
	(void)arg;
	if (!netns_path[0])
		return;
	umount2(netns_path, MNT_DETACH);
	unlink(netns_path);
	netns_path[0] = '\0';
	if (netns_made_dir)
		rmdir("/run/netns"); /* only if empty: `ip netns` may have made others since */
	netns_made_dir = 0;
}

static int netns_name(const struct worker *w, char *name, size_t len)
{
	char src[64];
	int fd;

	snprintf(name, len, "bgt%d", (int)getpid() % 1000000);
	if (mkdir("/run/netns", 0755) == 0)
		netns_made_dir = 1;
	else if (errno != EEXIST)
		return -1;
	snprintf(netns_path, sizeof(netns_path), "/run/netns/%s", name);
	sb_on_teardown(netns_unname, NULL);
	fd = open(netns_path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444);
	if (fd < 0)
		return -1;
	close(fd);
	snprintf(src, sizeof(src), "/proc/%d/ns/net", (int)w->pid);
	return mount(src, netns_path, NULL, MS_BIND, NULL);
}

/* `bindguard unload --cgroup <sandbox>`, for the pinned case and its teardown. */
static struct sb *unload_sb;

static int unload_pins(char *out)
{
	const char *argv[] = { unload_sb->bin, "unload", "--cgroup", unload_sb->cg_dir, NULL };

	return sb_exec(argv, out, OUT_LEN);
}

static void unload_hook(void *arg)
{
	char out[4096];
	const char *argv[] = { unload_sb->bin, "unload", "--cgroup", unload_sb->cg_dir, NULL };

	(void)arg;
	if (sb_exec(argv, out, sizeof(out)) != 0)
		fprintf(stderr, "status: cannot remove the pins of %s: %s", unload_sb->cg_dir, out);
}

/* The footer's "enforcement:" line (joined when wrapped), or "" in buf. */
static const char *enforcement(const char *table, char *buf, size_t len)
{
	const char *p = strstr(table, "\nenforcement: "), *nl;
	size_t n = 0;

	buf[0] = '\0';
	if (!p)
		return buf;
	for (p++; *p && n + 1 < len; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl)
			break;
		if (n && strncmp(p, "  ", 2))
			break; /* not a continuation */
		n += snprintf(buf + n, len - n, "%s%.*s", n ? " " : "", (int)(nl - p) - (n ? 2 : 0),
			      p + (n ? 2 : 0));
	}
	return buf;
}

/* Who enforces, as the footer tells it: nobody, an agent, pinned and held, pinned and orphaned. */
static void test_status_enforcement(struct sb *sb, const char *policy, char *table)
{
	char line[1024], want[128];
	int st;

	unload_sb = sb;
	st = run_status(sb, policy, "table", table);
	enforcement(table, line, sizeof(line));
	SB_CHECK(strstr(line, "enforcement: none, no bindguard agent enforces on "),
		 "no agent: the footer says none, got '%s'", line);
	{
		const char *args[] = { "--policy", policy, NULL };

		if (sb_agent_start(sb, args) != 0) {
			SB_CHECK(0, "agent start");
			return;
		}
		run_status(sb, policy, "table", table);
		enforcement(table, line, sizeof(line));
		SB_CHECK(strstr(line, "1 bindguard agent enforces on ") &&
				 strstr(line, "not pinned"),
			 "an agent without --pin: the footer says so, got '%s'", line);
		SB_CHECK(sb_agent_stop(sb) == 0, "agent stops cleanly");
	}
	{
		const char *args[] = { "--policy", policy, "--pin", NULL };

		sb_on_teardown(unload_hook, NULL);
		if (sb_agent_start(sb, args) != 0) {
			SB_CHECK(0, "agent start with --pin");
			return;
		}
		run_status(sb, policy, "table", table);
		enforcement(table, line, sizeof(line));
		snprintf(want, sizeof(want), "held by the agent with pid %d", (int)sb->agent);
		SB_CHECK(strstr(line, "enforcement: pinned (/sys/fs/bpf/bindguard/cg") &&
				 strstr(line, want) && strstr(line, policy),
			 "a --pin agent: pinned and held by it, got '%s'", line);
		SB_CHECK(longest_line(table) <= 80, "the footer fits 80 columns too");
		SB_CHECK(sb_agent_stop(sb) == 0, "the --pin agent stops cleanly");
		run_status(sb, policy, "table", table);
		enforcement(table, line, sizeof(line));
		SB_CHECK(strstr(line, "enforcement: pinned (") &&
				 strstr(line, "but no agent holds it"),
			 "the pins outlive the agent, and the footer says nobody holds them, got "
			 "'%s'",
			 line);
		st = unload_pins(table);
		SB_CHECK(st == 0, "unload the pins, got %d: %s", st, table);
		run_status(sb, policy, "table", table);
		enforcement(table, line, sizeof(line));
		SB_CHECK(strstr(line, "enforcement: none"), "after unload: none, got '%s'", line);
	}
}

static void test_status(struct sb *sb, const char *policy)
{
	static const struct wspec good = { "goodsrv", 1, good_socks, NULL };
	static const struct wspec bad = { BAD_COMM, 1, bad_socks, NULL };
	static const struct wspec other = { "othersrv", 1, other_socks, NULL };
	static const struct wspec outside = { "outsider", 0, outside_socks, NULL };
	struct worker wg = { 0 }, wb = { 0 }, wo = { 0 }, wx = { 0 };
	char *table = malloc(OUT_LEN), *json = malloc(OUT_LEN), *wide = malloc(OUT_LEN), needle[64],
	     ns_name[32] = "";
	const char *cg_rel = sb->cg_dir + strlen(sb->cg_root);
	int st;

	printf("--- status\n");
	if (!table || !json || !wide) {
		SB_CHECK(0, "memory");
		goto out;
	}
	if (worker_start(sb, &good, &wg) || worker_start(sb, &bad, &wb) ||
	    worker_start(sb, &other, &wo) || worker_start(sb, &outside, &wx)) {
		SB_CHECK(0, "status workers start");
		goto out;
	}
	if (netns_name(&wb, ns_name, sizeof(ns_name))) {
		SB_CHECK(0, "name the netns of %s under /run/netns: %s", BAD_COMM, strerror(errno));
		goto out;
	}
	{
		const struct want wants[] = {
			{ "deny", "tcp", "0.0.0.0", 3306, &wb, BAD_COMM, "mysql", "loopback",
			  "deny", ns_name },
			{ "deny", "tcp", "::", 4190, &wb, BAD_COMM, "managesieve", "none", "deny",
			  ns_name },
			{ "deny", "udp", "0.0.0.0", 5353, &wb, BAD_COMM, "mdns-local", "loopback",
			  "deny", ns_name },
			{ "deny", "tcp", "0.0.0.0", 5432, &wo, "othersrv",
			  "postgresql-main-cluster", "loopback", "deny", NULL },
			{ "allow", "tcp", "127.0.0.1", 3306, &wg, "goodsrv", "mysql", "loopback",
			  "deny", NULL },
			{ "allow", "tcp", "0.0.0.0", 25, &wg, "goodsrv", "smtp", "public", NULL,
			  NULL },
			{ "allow", "tcp", "::1", 5432, &wg, "goodsrv", "postgresql-main-cluster",
			  "loopback", "deny", NULL },
			{ "allow", "udp", "127.0.0.1", 11211, &wg, "goodsrv", "memcached",
			  "loopback", "deny", NULL },
			{ "allow", "tcp", "127.0.0.1", 8081, &wg, "goodsrv", NULL, "public", NULL,
			  NULL },
		};
		const char *hdr[] = { "VERDICT ",   " PROTO ", " ADDRESS ", " NETNS ",
				      " PID/COMM ", " RULE ",  " EXPOSE",   NULL };
		const char *whdr[] = { "VERDICT ",   " PROTO ", " ADDRESS ", " NETNS ",
				       " PID/COMM ", " RULE ",	" EXPOSE ",  " ACTION ",
				       " UID ",	     " CGROUP", NULL };
		const char *sum[] = { "9 sockets, 4 violate the policy (3 netns)", NULL };
		const char *any[] = { "\"verdict\":", NULL };
		const char *row3306[] = { "deny ", " 0.0.0.0:3306 ", NULL };
		const char *row4190[] = { "deny ", " [::]:4190 ", NULL };
		const char *named[] = { "deny ", " tcp ", " 0.0.0.0:3306 ", ns_name, NULL };
		const char *cut[] = { "deny ", " 0.0.0.0:5432 ", "~", NULL };
		const char *hint[] = { "\"hint\":\"Set bind-address = 127.0.0.1", "\"port\":3306",
				       "\"software\":\"MariaDB\"", NULL };
		const char *nohint[] = { "\"hint\":null", NULL };
		const char *policy_line[] = { "judged by policy status-test", NULL };
		const char *after;
		char *wide2 = malloc(OUT_LEN);

		/* The terminal says 80 columns; the default table fits them in any case. */
		setenv("COLUMNS", "80", 1);
		st = run_status(sb, policy, "table", table);
		SB_CHECK(st == 3, "status with violations exits 3, got %d: %s", st, table);
		SB_CHECK(longest_line(table) <= 80,
			 "every line of the table fits 80 columns, the "
			 "longest has %zu:\n%s",
			 longest_line(table), table);
		SB_CHECK(count(table, hdr) == 1, "table has its header");
		SB_CHECK(count(table, sum) == 1, "table summary: 9 sockets, 4 violate, 3 netns");
		SB_CHECK(count(table, policy_line) == 1, "the footer names the policy");
		SB_CHECK(count(table, named) == 1, "the netns is shown by its name %s", ns_name);
		SB_CHECK(count(table, cut) == 1, "a cell too wide to fit is cut and ends in '~'");
		after = line_after(table, row3306);
		SB_CHECK(after && !strncmp(after, "  hint: Set bind-address = 127.0.0.1", 36) &&
				 strstr(after, "\n        "),
			 "the mysql violation is followed by its hint, wrapped and indented:\n%s",
			 table);
		after = line_after(table, row4190);
		SB_CHECK(after && strncmp(after, "  hint:", 7),
			 "a violation of a rule without a hint has no hint line");

		st = run_status(sb, policy, "wide", wide);
		SB_CHECK(st == 3, "status --format wide exits 3, got %d", st);
		SB_CHECK(count(wide, whdr) == 1, "the wide table has the extra columns");
		{
			const char *argv[] = { sb->bin, "status",   "--wide",	"--policy",
					       policy,	"--cgroup", sb->cg_dir, NULL };

			st = wide2 ? sb_exec(argv, wide2, OUT_LEN) : -1;
			SB_CHECK(st == 3 && count(wide2, whdr) == 1, "--wide is --format wide");
		}
		st = run_status(sb, policy, "json", json);
		SB_CHECK(st == 3, "status --format json with violations exits 3, got %d", st);
		SB_CHECK(count(json, any) == 9, "json: 9 objects, got %d", count(json, any));
		SB_CHECK(count(json, hint) == 2, "json carries the rule's hint and software (3306 "
						 "twice: allowed and violating)");
		SB_CHECK(count(json, nohint) == 7, "json: hint null where the rule has none");
		check_rows(wide, json, wants, sizeof(wants) / sizeof(wants[0]), cg_rel);
		SB_CHECK(violations_first(table, 0), "table: violations come first");
		SB_CHECK(violations_first(wide, 0), "wide: violations come first");
		SB_CHECK(violations_first(json, 1), "json: violations come first");
		snprintf(needle, sizeof(needle), " %d/", (int)wx.pid);
		{
			const char *nd[] = { needle, NULL };

			SB_CHECK(count(wide, nd) == 0,
				 "a socket outside the --cgroup is not listed (table)");
		}
		snprintf(needle, sizeof(needle), "\"pid\":%d,", (int)wx.pid);
		{
			const char *nd[] = { needle, NULL };

			SB_CHECK(count(json, nd) == 0,
				 "a socket outside the --cgroup is not listed (json)");
		}
		SB_CHECK(sb_attached(sb) == 0, "status attached nothing");
		free(wide2);
	}

	/* Beside a running agent on the same cgroup: it works and leaves the agent alone. */
	{
		const char *args[] = { "--policy", policy, NULL };

		if (sb_agent_start(sb, args) != 0) {
			SB_CHECK(0, "agent start");
		} else {
			st = run_status(sb, policy, "json", json);
			SB_CHECK(st == 3, "status beside a running agent exits 3, got %d: %s", st,
				 json);
			{
				const char *any[] = { "\"verdict\":", NULL };

				SB_CHECK(count(json, any) == 9,
					 "beside the agent: still 9 objects, got %d",
					 count(json, any));
			}
			SB_CHECK(sb_attached(sb) == 4, "the agent's 4 programs stay, got %d",
				 sb_attached(sb));
			SB_CHECK(sb_agent_stop(sb) == 0, "agent stops cleanly");
		}
	}

	test_status_enforcement(sb, policy, table);

	/* The violators close: clean. */
	worker_stop(&wb);
	worker_stop(&wo);
	{
		const char *sum[] = { "5 sockets, 0 violate the policy (1 netns)", NULL };
		const char *deny[] = { "\"verdict\":\"deny\"", NULL };
		const char *any[] = { "\"verdict\":", NULL };
		const char *hints[] = { "  hint: ", NULL };

		st = run_status(sb, policy, "table", table);
		SB_CHECK(st == 0, "status with nothing violating exits 0, got %d: %s", st, table);
		SB_CHECK(count(table, sum) == 1, "table summary: 5 sockets, 0 violate, 1 netns");
		SB_CHECK(count(table, hints) == 0, "no hint under an allowed socket");
		st = run_status(sb, policy, "json", json);
		SB_CHECK(st == 0, "json: exits 0, got %d", st);
		SB_CHECK(count(json, any) == 5 && count(json, deny) == 0,
			 "json: 5 objects, no deny");
	}

	/* Usage. */
	{
		const char *a1[] = { sb->bin, "status", "--format", "yaml", NULL };
		const char *a2[] = { sb->bin, "status", "--help", NULL };
		const char *a3[] = { sb->bin, "status", "--cgroup", "/nonexistent-bg-cgroup",
				     NULL };
		const char *a4[] = { sb->bin, "status", "--policy", "/nonexistent-bg.yaml", NULL };

		st = sb_exec(a1, table, OUT_LEN);
		SB_CHECK(st == 2, "status --format yaml exits 2, got %d", st);
		st = sb_exec(a2, table, OUT_LEN);
		SB_CHECK(st == 0 && strstr(table, "Usage: bindguard status"),
			 "status --help exits 0 with usage, got %d", st);
		st = sb_exec(a3, table, OUT_LEN);
		SB_CHECK(st == 2, "status --cgroup of a missing directory exits 2, got %d: %s", st,
			 table);
		st = sb_exec(a4, table, OUT_LEN);
		SB_CHECK(st == 2, "status --policy of a missing file exits 2, got %d", st);
	}
out:
	netns_unname(NULL);
	worker_stop(&wx);
	worker_stop(&wo);
	worker_stop(&wb);
	worker_stop(&wg);
	free(table);
	free(json);
	free(wide);
}

/* ---- learn ------------------------------------------------------------------------------- */

static pid_t learn_pid = -1;

static void learn_kill(void)
{
	if (learn_pid > 0) {
		kill(learn_pid, SIGKILL);
		waitpid(learn_pid, NULL, 0);
		learn_pid = -1;
	}
}

/* Start `bindguard learn ARGS` in the background, stdout and stderr into log. */
static int learn_spawn(const struct sb *sb, const char *const *args, const char *log)
{
	const char *argv[16];
	int n = 0, fd;

	argv[n++] = sb->bin;
	argv[n++] = "learn";
	while (*args && n < 15)
		argv[n++] = *args++;
	argv[n] = NULL;
	learn_pid = fork();
	if (learn_pid < 0)
		return -1;
	if (learn_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return 0;
}

/* Wait for the background learn, at most secs; its exit status, or -1. */
static int learn_wait(int secs)
{
	int st;

	if (sb_wait_exit(learn_pid, secs * 1000, &st)) {
		learn_kill();
		return -1;
	}
	learn_pid = -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_learn(struct sb *sb, const char *policy)
{
	static const struct lsock mdns_socks[] = {
		{ SOCK_DGRAM, AF_INET, "127.0.0.1", 5353, 0 },
		/* A client: connected to the server above (its port is not ephemeral). */
		{ SOCK_DGRAM, AF_INET, "127.0.0.1", 5354, 5353 },
		/* A bound, unconnected UDP socket in its netns's ephemeral range: left out. */
		{ SOCK_DGRAM, AF_INET, "127.0.0.1", 40500, 0 },
		{ 0 },
	};
	static const struct lsock db_socks[] = { { SOCK_STREAM, AF_INET, "127.0.0.1", 3306, 0 },
						 { 0 } };
	static const struct lsock mta_socks[] = { { SOCK_STREAM, AF_INET, "0.0.0.0", 25, 0 },
						  { 0 } };
	static const struct lsock web_socks[] = { { SOCK_STREAM, AF_INET, "0.0.0.0", 8080, 0 },
						  { 0 } };
	static const struct wspec db = { "mysqld", 1, db_socks, NULL };
	/* A comm that would add a rule if it reached the YAML unescaped. */
	static const struct wspec mta = { "smtpd\n- port: 1", 1, mta_socks, NULL };
	static const struct wspec mdns = { "mdns", 1, mdns_socks, "40000 40999" };
	static const struct wspec web = { "web", 1, web_socks, NULL };
	struct worker wd = { 0 }, wm = { 0 }, wu = { 0 }, ww = { 0 };
	char *out = malloc(OUT_LEN), *yaml = NULL, *log = NULL;
	char learned[PATH_MAX + 32], logpath[PATH_MAX + 32], empty_cg[PATH_MAX + 32],
		empty_out[PATH_MAX + 32];
	int st, n;

	printf("--- learn\n");
	empty_cg[0] = '\0';
	if (!out) {
		SB_CHECK(0, "memory");
		return;
	}
	snprintf(learned, sizeof(learned), "%s/learned.yaml", sb->tmpdir);
	snprintf(logpath, sizeof(logpath), "%s/learn.log", sb->tmpdir);
	if (worker_start(sb, &db, &wd) || worker_start(sb, &mta, &wm) ||
	    worker_start(sb, &mdns, &wu)) {
		SB_CHECK(0, "learn workers start");
		goto out;
	}

	{
		const char *args[] = { "--duration", "2",     "--cgroup", sb->cg_dir,
				       "--output",   learned, NULL };

		if (learn_spawn(sb, args, logpath)) {
			SB_CHECK(0, "learn starts");
			goto out;
		}
	}
	/* Bind inside the window: once learn's hooks are on the sandbox cgroup. */
	n = sb_wait_attached(sb->cg_dir, SB_HOOKS_BIND, 4, 30000);
	SB_CHECK(n == 4, "learn attached its 4 bind hooks to the sandbox, got %d", n);
	SB_CHECK(worker_start(sb, &web, &ww) == 0, "0.0.0.0:8080 bound and listening during learn");
	st = learn_wait(60);
	log = sb_slurp(logpath);
	SB_CHECK(st == 0, "learn exits 0, got %d: %s", st, log ? log : "");
	SB_CHECK(sb_attached(sb) == 0, "learn detached everything, got %d", sb_attached(sb));
	yaml = sb_slurp(learned);
	SB_CHECK(yaml != NULL, "learn wrote %s", learned);
	{
		const char *chk[] = { sb->bin, "check", learned, NULL };
		/* Named as the built-in policy names them; 3306 covers UDP as it does. */
		const char *r3306[] = { "  3306/tcp+udp ", " loopback ", " mysql", NULL };
		const char *r25[] = { "  25/tcp ", " public ", " smtp", NULL };
		const char *r8080[] = { "  8080/tcp ", " public ", " web", NULL };
		const char *r5353[] = { "  5353/udp ", " loopback ", " mdns", NULL };
		const char *nrules[] = { "rules     4", NULL };
		const char *c8080[] = { "# 8080/tcp:", "bind during learn", "web", NULL };
		const char *c3306[] = { "# 3306/tcp:", "listening now", "mysqld", "127.0.0.1",
					NULL };
		const char *mode[] = { "mode: audit", NULL };
		const char *hdr[] = { "generated by bindguard learn", NULL };

		st = sb_exec(chk, out, OUT_LEN);
		SB_CHECK(st == 0, "bindguard check accepts the draft, got %d: %s", st, out);
		SB_CHECK(count(out, r3306) == 1, "draft: 3306/tcp+udp loopback (mysql)\n%s", out);
		SB_CHECK(count(out, r25) == 1, "draft: 25/tcp public (smtp)");
		SB_CHECK(count(out, r8080) == 1,
			 "draft: 8080/tcp public (web), bound during learn");
		SB_CHECK(count(out, r5353) == 1, "draft: 5353/udp loopback (mdns)");
		SB_CHECK(count(out, nrules) == 1,
			 "draft: exactly 4 rules (no UDP client, no ephemeral UDP port)");
		SB_CHECK(count(yaml, c8080) == 1, "comment names the bind during learn");
		SB_CHECK(count(yaml, c3306) == 1, "comment names the listener seen at the start");
		SB_CHECK(count(yaml, mode) == 1, "draft is in audit mode");
		SB_CHECK(count(yaml, hdr) == 1, "draft header");
		SB_CHECK(yaml && !strstr(yaml, "\n- port: 1"), "the comm did not inject a rule");
	}
	free(yaml);
	yaml = NULL;
	free(log);
	log = NULL;

	/* Snapshot only, to standard output; 8080 is gone by now. */
	worker_stop(&ww);
	{
		const char *argv[] = { sb->bin,	   "learn",    "--duration", "0",
				       "--cgroup", sb->cg_dir, NULL };
		const char *rules[] = { "  - port: ", NULL };
		const char *p8080[] = { "  - port: 8080", NULL };

		st = sb_exec(argv, out, OUT_LEN);
		SB_CHECK(st == 0, "learn --duration 0 exits 0, got %d: %s", st, out);
		SB_CHECK(count(out, rules) == 3 && count(out, p8080) == 0,
			 "snapshot: 3 rules, no 8080\n%s", out);
		SB_CHECK(sb_attached(sb) == 0, "a snapshot attaches nothing");
	}

	/* Nothing in scope: an error, and no file left behind. */
	snprintf(empty_cg, sizeof(empty_cg), "%s/empty", sb->cg_dir);
	snprintf(empty_out, sizeof(empty_out), "%s/empty.yaml", sb->tmpdir);
	if (mkdir(empty_cg, 0755) != 0) {
		SB_CHECK(0, "mkdir %s", empty_cg);
		empty_cg[0] = '\0';
	} else {
		const char *argv[] = { sb->bin,	 "learn",    "--duration", "0", "--cgroup",
				       empty_cg, "--output", empty_out,	   NULL };

		st = sb_exec(argv, out, OUT_LEN);
		SB_CHECK(st == 1 && strstr(out, "nothing is listening in scope"),
			 "learn with nothing in scope exits 1 and says why, got %d: %s", st, out);
		SB_CHECK(access(empty_out, F_OK) != 0, "no output file left behind");
	}

	/* Beside an agent on the same cgroup: watching is refused, a snapshot is fine. */
	{
		const char *args[] = { "--policy", policy, NULL };
		const char *watch[] = { sb->bin,    "learn",	"--duration", "1",
					"--cgroup", sb->cg_dir, NULL };
		const char *snap[] = { sb->bin,	   "learn",    "--duration", "0",
				       "--cgroup", sb->cg_dir, NULL };

		if (sb_agent_start(sb, args) != 0) {
			SB_CHECK(0, "agent start");
		} else {
			st = sb_exec(watch, out, OUT_LEN);
			SB_CHECK(st == 1 && strstr(out, "another bindguard agent"),
				 "learn --duration 1 beside an agent is refused, got %d: %s", st,
				 out);
			st = sb_exec(snap, out, OUT_LEN);
			SB_CHECK(st == 0, "learn --duration 0 beside an agent works, got %d: %s",
				 st, out);
			SB_CHECK(sb_attached(sb) == 4, "the agent's programs stay, got %d",
				 sb_attached(sb));
			SB_CHECK(sb_agent_stop(sb) == 0, "agent stops cleanly");
		}
	}

	/* Usage. */
	{
		const char *a1[] = { sb->bin, "learn", "--duration", "-1", NULL };
		const char *a2[] = { sb->bin, "learn", "--duration", "5s", NULL };
		const char *a3[] = { sb->bin, "learn", "--help", NULL };

		st = sb_exec(a1, out, OUT_LEN);
		SB_CHECK(st == 2, "learn --duration -1 exits 2, got %d", st);
		st = sb_exec(a2, out, OUT_LEN);
		SB_CHECK(st == 2, "learn --duration 5s exits 2, got %d", st);
		st = sb_exec(a3, out, OUT_LEN);
		SB_CHECK(st == 0 && strstr(out, "Usage: bindguard learn"), "learn --help, got %d",
			 st);
	}
out:
	learn_kill();
	worker_stop(&ww);
	worker_stop(&wu);
	worker_stop(&wm);
	worker_stop(&wd);
	if (empty_cg[0] && rmdir(empty_cg) != 0)
		fprintf(stderr, "could not remove %s: %s\n", empty_cg, strerror(errno));
	free(yaml);
	free(log);
	free(out);
}

/* How many lines of text are exactly line (without its '\n'). */
static int count_exact(const char *text, const char *line)
{
	size_t len = strlen(line);
	const char *p = text;
	int n = 0;

	while (p && *p) {
		if (!strncmp(p, line, len) && (p[len] == '\n' || !p[len]))
			n++;
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return n;
}

/* No two "    service: X" lines of the draft are the same. */
static int services_unique(const char *yaml)
{
	const char *p = yaml, *q, *nl;
	size_t len;

	while ((p = strstr(p, "\n    service: "))) {
		p++;
		nl = strchr(p, '\n');
		len = nl ? (size_t)(nl - p) : strlen(p);
		for (q = strstr(p + len, "\n    service: "); q;
		     q = strstr(q + 1, "\n    service: "))
			if (!strncmp(q + 1, p, len) && (q[1 + len] == '\n' || !q[1 + len]))
				return 0;
		p += len;
	}
	return 1;
}

/* Files in dir whose name starts with prefix. */
static int count_files(const char *dir, const char *prefix)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += !strncmp(de->d_name, prefix, strlen(prefix));
	closedir(d);
	return n;
}

/*
 * A snapshot draft (--duration 0) of a host that breaks the built-in policy: 0.0.0.0:3306 is
 * drafted as loopback and marked violated; 7000 in two netns and on two protocols is one rule,
 * and comments say what was merged; three python3 services are made unique; the ephemeral range
 * of each netns is its own; --output keeps the old file as .bak, and a failed run leaves both.
 */
static void test_learn_draft(struct sb *sb)
{
	static const struct lsock db_socks[] = { { SOCK_STREAM, AF_INET, "0.0.0.0", 3306, 0 },
						 { 0 } };
	static const struct lsock p1_socks[] = { { SOCK_STREAM, AF_INET, "127.0.0.1", 7000, 0 },
						 { SOCK_DGRAM, AF_INET, "127.0.0.1", 7000, 0 },
						 { SOCK_STREAM, AF_INET, "0.0.0.0", 8001, 0 },
						 { 0 } };
	/* Its netns hands out 20500-20600: 20550 is ephemeral there, 33333 is not. */
	static const struct lsock p2_socks[] = { { SOCK_STREAM, AF_INET, "127.0.0.1", 7000, 0 },
						 { SOCK_STREAM, AF_INET, "0.0.0.0", 8002, 0 },
						 { SOCK_STREAM, AF_INET, "0.0.0.0", 20550, 0 },
						 { SOCK_STREAM, AF_INET, "0.0.0.0", 33333, 0 },
						 { 0 } };
	static const struct wspec db = { "mysqld", 1, db_socks, NULL };
	static const struct wspec p1 = { "python3", 1, p1_socks, NULL };
	static const struct wspec p2 = { "python3", 1, p2_socks, "20500 20600" };
	static const char old[] = "# the previous draft\n";
	struct worker wd = { 0 }, w1 = { 0 }, w2 = { 0 };
	char *out = malloc(OUT_LEN), *yaml = NULL, *bak = NULL;
	char path[PATH_MAX + 32], bak_path[PATH_MAX + 40], empty_cg[PATH_MAX + 32];
	int st;

	printf("--- learn: the draft\n");
	if (!out) {
		SB_CHECK(0, "memory");
		return;
	}
	snprintf(path, sizeof(path), "%s/draft.yaml", sb->tmpdir);
	snprintf(bak_path, sizeof(bak_path), "%s.bak", path);
	if (!sb_write_tmp(sb, "draft.yaml", old)) {
		SB_CHECK(0, "write %s", path);
		goto out;
	}
	if (worker_start(sb, &db, &wd) || worker_start(sb, &p1, &w1) ||
	    worker_start(sb, &p2, &w2)) {
		SB_CHECK(0, "draft workers start");
		goto out;
	}
	{
		const char *argv[] = { sb->bin,	   "learn",    "--duration", "0", "--cgroup",
				       sb->cg_dir, "--output", path,	     NULL };
		const char *chk[] = { sb->bin, "check", path, NULL };
		const char *r3306[] = { "  3306/tcp+udp ", " loopback ", " deny ", " mysql", NULL };
		const char *r7000[] = { "  7000/tcp+udp ", " loopback ", NULL };
		const char *viol[] = { "# VIOLATED NOW: seen on 0.0.0.0, but the built-in policy "
				       "keeps 3306 (mysql) on",
				       NULL };
		const char *ns2[] = { "# merged: seen in 2 network namespaces (", NULL };
		const char *tu[] = { "# merged: tcp and udp were both seen", NULL };
		const char *left[] = { "#   left out: 1 port in the ephemeral range", NULL };
		const char *p20550[] = { "  - port: 20550", NULL };
		const char *p33333[] = { "  - port: 33333", NULL };
		const char *rules[] = { "  - port: ", NULL };

		st = sb_exec(argv, out, OUT_LEN);
		SB_CHECK(st == 0, "learn --duration 0 --output exits 0, got %d: %s", st, out);
		yaml = sb_slurp(path);
		bak = sb_slurp(bak_path);
		SB_CHECK(yaml && strstr(yaml, "generated by bindguard learn"),
			 "the draft replaced %s", path);
		SB_CHECK(bak && !strcmp(bak, old), "the old file is kept as %s", bak_path);
		SB_CHECK(count_files(sb->tmpdir, "draft.yaml") == 2,
			 "nothing but draft.yaml and draft.yaml.bak left in the directory");
		if (!yaml)
			goto out;
		/* The case: mysqld on 0.0.0.0:3306 is drafted loopback, not public. */
		SB_CHECK(strstr(yaml, "  - port: 3306\n    proto: both\n    expose: loopback\n"
				      "    service: mysql\n"),
			 "3306 seen on 0.0.0.0 is drafted as the built-in policy says:\n%s", yaml);
		SB_CHECK(count(yaml, viol) == 1, "and a comment says it is violated now");
		SB_CHECK(strstr(yaml, "    hint: \"Set bind-address = 127.0.0.1"),
			 "the built-in rule's hint comes along");
		SB_CHECK(strstr(yaml, "  - port: 7000\n    proto: both\n    expose: loopback\n"),
			 "7000: one loopback rule for tcp and udp in two netns");
		SB_CHECK(count(yaml, ns2) == 1,
			 "a comment says 7000 merges two network namespaces");
		SB_CHECK(count(yaml, tu) == 1, "a comment says 7000 merges tcp and udp");
		SB_CHECK(count_exact(yaml, "    service: python3") == 1 &&
				 count_exact(yaml, "    service: python3-2") == 1 &&
				 count_exact(yaml, "    service: python3-3") == 1,
			 "three python3 rules: python3, python3-2, python3-3");
		SB_CHECK(services_unique(yaml), "no two rules share a service");
		SB_CHECK(count(yaml, p20550) == 0, "20550 is ephemeral in its netns: left out");
		SB_CHECK(count(yaml, left) == 1, "the header says one port was left out");
		SB_CHECK(count(yaml, p33333) == 1,
			 "33333 is outside its own netns's range (whatever learn's own is): kept");
		SB_CHECK(count(yaml, rules) == 5, "5 rules: 3306 7000 8001 8002 33333, got %d",
			 count(yaml, rules));
		st = sb_exec(chk, out, OUT_LEN);
		SB_CHECK(st == 0, "bindguard check accepts the draft, got %d: %s", st, out);
		SB_CHECK(count(out, r3306) == 1, "check: 3306/tcp+udp loopback deny mysql\n%s",
			 out);
		SB_CHECK(count(out, r7000) == 1, "check: 7000/tcp+udp loopback");
	}
	{
		const char *argv[] = { sb->bin,	   "learn",    "--duration",	      "0",
				       "--cgroup", sb->cg_dir, "--include-ephemeral", NULL };
		const char *p20550[] = { "  - port: 20550", NULL };
		const char *left[] = { "left out:", NULL };

		st = sb_exec(argv, out, OUT_LEN);
		SB_CHECK(st == 0, "learn --include-ephemeral exits 0, got %d", st);
		SB_CHECK(count(out, p20550) == 1 && count(out, left) == 0,
			 "--include-ephemeral drafts 20550 too");
	}

	/* A failed run leaves the file and its backup as they were, and no new file behind. */
	if (sb_mkcgroup(sb, "empty2", empty_cg, sizeof(empty_cg)) != 0) {
		SB_CHECK(0, "make the child cgroup empty2");
	} else {
		const char *argv[] = { sb->bin,	 "learn",    "--duration", "0", "--cgroup",
				       empty_cg, "--output", path,	   NULL };
		char *after, *bak_after;

		st = sb_exec(argv, out, OUT_LEN);
		SB_CHECK(st == 1, "learn with nothing in scope exits 1, got %d: %s", st, out);
		after = sb_slurp(path);
		bak_after = sb_slurp(bak_path);
		SB_CHECK(after && yaml && !strcmp(after, yaml),
			 "a failed run leaves the file as it "
			 "was");
		SB_CHECK(bak_after && !strcmp(bak_after, old), "and its backup too");
		SB_CHECK(count_files(sb->tmpdir, "draft.yaml") == 2, "and no new file behind");
		free(after);
		free(bak_after);
	}
out:
	worker_stop(&w2);
	worker_stop(&w1);
	worker_stop(&wd);
	free(yaml);
	free(bak);
	free(out);
}

int main(void)
{
	const char *policy;
	struct sb sb;
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	rc = sb_setup(&sb, "status");
	if (rc)
		return rc;
	atexit(learn_kill);
	policy = sb_write_tmp(&sb, "status.yaml", policy_yaml);
	if (!policy) {
		SB_CHECK(0, "write the test policy");
		goto out;
	}
	test_status(&sb, policy);
	test_learn(&sb, policy);
	test_learn_draft(&sb);
out:
	sb_teardown(&sb);
	return sb_report("itest_status");
}
