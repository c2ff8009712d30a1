// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * itest_status.c - `bindguard status` and `bindguard learn` against real sockets.
 *
 * Workers are long-lived children: each joins the sandbox cgroup (or deliberately not), unshares
 * its own network namespace, names itself (comm), opens its sockets, reports its netns and then
 * blocks until told to exit, so status and learn see them as they are.
 *
 * status: compliant and violating listeners and bound UDP sockets across three network
 * namespaces in the sandbox cgroup, plus a violating one outside it that --cgroup must not
 * list; table and JSON; violations first; exit 3, then 0 once the violators are gone; with an
 * agent running beside it.
 * learn: a draft from loopback 3306, wildcard 25 and loopback UDP 5353 listening at the start
 * plus a bind and listen on 0.0.0.0:8080 during the window; the UDP clients and ephemeral
 * ports it must leave out; a comm that tries to inject YAML; the refusals.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox.h"

#define OUT_LEN (256 * 1024)

static const char policy_yaml[] = "version: 1\n"
				  "name: status-test\n"
				  "rules:\n"
				  "  - port: 25\n"
				  "    expose: public\n"
				  "    service: smtp\n"
				  "  - port: 3306\n"
				  "    expose: loopback\n"
				  "    service: mysql\n"
				  "  - port: 5432\n"
				  "    expose: loopback\n"
				  "    service: postgresql\n"
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
};

static void check_rows(const char *table, const char *json, const struct want *wants, size_t n,
		       const char *cgroup_rel)
{
	char v[32], pr[32], ad[80], po[32], ns[48], ow[64], ru[80], ex[48];
	char jv[48], jp[48], ja[96], jpo[32], jns[48], jpid[32], jc[64], jr[96], je[48], js[48],
		jcg[PATH_MAX + 16];
	size_t i;

	for (i = 0; i < n; i++) {
		const struct want *x = &wants[i];
		int v6 = strchr(x->addr, ':') != NULL;

		snprintf(v, sizeof(v), "%s ", x->verdict);
		snprintf(pr, sizeof(pr), " %s ", x->proto);
		snprintf(ad, sizeof(ad), v6 ? " [%s] " : " %s ", x->addr);
		snprintf(po, sizeof(po), " %d ", x->port);
		snprintf(ns, sizeof(ns), " %u ", x->w->netns);
		snprintf(ow, sizeof(ow), " %d/%s ", (int)x->w->pid, x->comm);
		snprintf(ru, sizeof(ru), " %s ", x->rule ? x->rule : "-");
		snprintf(ex, sizeof(ex), " %s ", x->expose);
		{
			const char *nd[] = { v, pr, ad, po, ns, ow, ru, ex, NULL };

			SB_CHECK(count(table, nd) == 1,
				 "table: one row %s %s %s:%d netns %u pid %d rule %s expose %s",
				 x->verdict, x->proto, x->addr, x->port, x->w->netns,
				 (int)x->w->pid, x->rule ? x->rule : "-", x->expose);
		}
		snprintf(jv, sizeof(jv), "\"verdict\":\"%s\"", x->verdict);
		snprintf(jp, sizeof(jp), "\"proto\":\"%s\"", x->proto);
		snprintf(ja, sizeof(ja), "\"addr\":\"%s\"", x->addr);
		snprintf(jpo, sizeof(jpo), "\"port\":%d", x->port);
		snprintf(jns, sizeof(jns), "\"netns\":%u,", x->w->netns);
		snprintf(jpid, sizeof(jpid), "\"pid\":%d,", (int)x->w->pid);
		snprintf(jc, sizeof(jc), "\"comm\":\"%s\"", x->comm);
		if (x->rule)
			snprintf(jr, sizeof(jr), "\"rule\":\"%s\"", x->rule);
		else
			snprintf(jr, sizeof(jr), "\"rule\":null");
		snprintf(je, sizeof(je), "\"expose\":\"%s\"", x->expose);
		snprintf(js, sizeof(js), "\"state\":\"%s\"",
			 strcmp(x->proto, "tcp") ? "bound" : "listen");
		snprintf(jcg, sizeof(jcg), "\"cgroup\":\"%s\"", cgroup_rel);
		{
			const char *nd[] = {
				jv, jp, ja, jpo, jns, jpid, jc, jr, je, js, jcg, NULL
			};

			SB_CHECK(count(json, nd) == 1,
				 "json: one object %s %s %s:%d netns %u pid %d rule %s", x->verdict,
				 x->proto, x->addr, x->port, x->w->netns, (int)x->w->pid,
				 x->rule ? x->rule : "null");
		}
	}
}

static int run_status(struct sb *sb, const char *policy, const char *format, char *out)
{
	const char *argv[] = { sb->bin, "status",   "--format", format, "--policy",
			       policy,	"--cgroup", sb->cg_dir, NULL };

	return sb_exec(argv, out, OUT_LEN);
}

static void test_status(struct sb *sb, const char *policy)
{
	static const struct wspec good = { "goodsrv", 1, good_socks };
	static const struct wspec bad = { "badsrv", 1, bad_socks };
	static const struct wspec other = { "othersrv", 1, other_socks };
	static const struct wspec outside = { "outsider", 0, outside_socks };
	struct worker wg = { 0 }, wb = { 0 }, wo = { 0 }, wx = { 0 };
	char *table = malloc(OUT_LEN), *json = malloc(OUT_LEN), needle[64];
	const char *cg_rel = sb->cg_dir + strlen(sb->cg_root);
	int st;

	printf("--- status\n");
	if (!table || !json) {
		SB_CHECK(0, "memory");
		goto out;
	}
	if (worker_start(sb, &good, &wg) || worker_start(sb, &bad, &wb) ||
	    worker_start(sb, &other, &wo) || worker_start(sb, &outside, &wx)) {
		SB_CHECK(0, "status workers start");
		goto out;
	}
	{
		const struct want wants[] = {
			{ "deny", "tcp", "0.0.0.0", 3306, &wb, "badsrv", "mysql", "loopback" },
			{ "deny", "tcp", "::", 4190, &wb, "badsrv", "managesieve", "none" },
			{ "deny", "udp", "0.0.0.0", 5353, &wb, "badsrv", "mdns-local", "loopback" },
			{ "deny", "tcp", "0.0.0.0", 5432, &wo, "othersrv", "postgresql",
			  "loopback" },
			{ "allow", "tcp", "127.0.0.1", 3306, &wg, "goodsrv", "mysql", "loopback" },
			{ "allow", "tcp", "0.0.0.0", 25, &wg, "goodsrv", "smtp", "public" },
			{ "allow", "tcp", "::1", 5432, &wg, "goodsrv", "postgresql", "loopback" },
			{ "allow", "udp", "127.0.0.1", 11211, &wg, "goodsrv", "memcached",
			  "loopback" },
			{ "allow", "tcp", "127.0.0.1", 8081, &wg, "goodsrv", NULL, "public" },
		};
		const char *hdr[] = { "VERDICT ",   " PROTO ", " ADDRESS ", " PORT ",  " NETNS ",
				      " PID/COMM ", " RULE ",  " EXPOSE ",  " CGROUP", NULL };
		const char *sum[] = { "9 sockets, 4 violate the policy (3 netns)", NULL };
		const char *any[] = { "\"verdict\":", NULL };

		st = run_status(sb, policy, "table", table);
		SB_CHECK(st == 3, "status with violations exits 3, got %d: %s", st, table);
		st = run_status(sb, policy, "json", json);
		SB_CHECK(st == 3, "status --format json with violations exits 3, got %d", st);
		SB_CHECK(count(table, hdr) == 1, "table has its header");
		SB_CHECK(count(table, sum) == 1, "table summary: 9 sockets, 4 violate, 3 netns");
		SB_CHECK(count(json, any) == 9, "json: 9 objects, got %d", count(json, any));
		check_rows(table, json, wants, sizeof(wants) / sizeof(wants[0]), cg_rel);
		SB_CHECK(violations_first(table, 0), "table: violations come first");
		SB_CHECK(violations_first(json, 1), "json: violations come first");
		snprintf(needle, sizeof(needle), " %d/", (int)wx.pid);
		{
			const char *nd[] = { needle, NULL };

			SB_CHECK(count(table, nd) == 0,
				 "a socket outside the --cgroup is not listed (table)");
		}
		snprintf(needle, sizeof(needle), "\"pid\":%d,", (int)wx.pid);
		{
			const char *nd[] = { needle, NULL };

			SB_CHECK(count(json, nd) == 0,
				 "a socket outside the --cgroup is not listed (json)");
		}
		SB_CHECK(sb_attached(sb) == 0, "status attached nothing");
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

	/* The violators close: clean. */
	worker_stop(&wb);
	worker_stop(&wo);
	{
		const char *sum[] = { "5 sockets, 0 violate the policy (1 netns)", NULL };
		const char *deny[] = { "\"verdict\":\"deny\"", NULL };
		const char *any[] = { "\"verdict\":", NULL };

		st = run_status(sb, policy, "table", table);
		SB_CHECK(st == 0, "status with nothing violating exits 0, got %d: %s", st, table);
		SB_CHECK(count(table, sum) == 1, "table summary: 5 sockets, 0 violate, 1 netns");
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
	worker_stop(&wx);
	worker_stop(&wo);
	worker_stop(&wb);
	worker_stop(&wg);
	free(table);
	free(json);
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

static void ephemeral_mid(int *port)
{
	unsigned int lo = 32768, hi = 60999;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");

	if (f) {
		if (fscanf(f, "%u %u", &lo, &hi) != 2 || lo > hi)
			lo = 32768, hi = 60999;
		fclose(f);
	}
	*port = (int)(lo + (hi - lo) / 2);
}

static void test_learn(struct sb *sb, const char *policy)
{
	static struct lsock mdns_socks[] = {
		{ SOCK_DGRAM, AF_INET, "127.0.0.1", 5353, 0 },
		/* A client: connected to the server above (its port is not ephemeral). */
		{ SOCK_DGRAM, AF_INET, "127.0.0.1", 5354, 5353 },
		/* A bound, unconnected UDP socket inside the ephemeral range: a client too. */
		{ SOCK_DGRAM, AF_INET, "127.0.0.1", 0, 0 },
		{ 0 },
	};
	static const struct lsock db_socks[] = { { SOCK_STREAM, AF_INET, "127.0.0.1", 3306, 0 },
						 { 0 } };
	static const struct lsock mta_socks[] = { { SOCK_STREAM, AF_INET, "0.0.0.0", 25, 0 },
						  { 0 } };
	static const struct lsock web_socks[] = { { SOCK_STREAM, AF_INET, "0.0.0.0", 8080, 0 },
						  { 0 } };
	static const struct wspec db = { "mysqld", 1, db_socks };
	/* A comm that would add a rule if it reached the YAML unescaped. */
	static const struct wspec mta = { "smtpd\n- port: 1", 1, mta_socks };
	static const struct wspec mdns = { "mdns", 1, mdns_socks };
	static const struct wspec web = { "web", 1, web_socks };
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
	ephemeral_mid(&mdns_socks[2].port);
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
		const char *r3306[] = { "  3306/tcp ", " loopback ", " mysqld", NULL };
		const char *r25[] = { "  25/tcp ", " public ", " smtpd", NULL };
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
		SB_CHECK(count(out, r3306) == 1, "draft: 3306/tcp loopback (mysqld)\n%s", out);
		SB_CHECK(count(out, r25) == 1, "draft: 25/tcp public (smtpd...)");
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
out:
	sb_teardown(&sb);
	return sb_report("itest_status");
}
