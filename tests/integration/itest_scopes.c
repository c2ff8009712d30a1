// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * itest_scopes.c - a policy's scopes against the real agent: sockets made in different cgroups
 * below the enforced one are judged by different rule sets.
 *
 * The sandbox cgroup stands in for a node's root: below it, "system.slice/test-mariadb.service"
 * (a systemd unit's cgroup) and "db.slice/mysql-N" (a pod's, by path). Each worker joins one of
 * them, in its own netns, and binds 0.0.0.0:PORT; its exit code is the bind's errno. Checked:
 * each cgroup's rules, a cgroup below a scoped one, a cgroup made while the agent runs (inotify;
 * the window between mkdir and the first judged bind is printed, never asserted), the scope in
 * events, existing sockets judged by their own cgroup's scope (reconcile), a reload that drops a
 * scope, and a removed cgroup.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox.h"

#define RELOAD_MS 10000
#define JOIN_MS 5000 /* a new cgroup must be classified well within this */

static const char scoped_policy[] = "version: 1\n"
				    "name: scoped\n"
				    "mode: enforce\n"
				    "default_action: deny\n"
				    "unlisted: public\n"
				    "rules:\n"
				    "  - port: 3306\n"
				    "    expose: loopback\n"
				    "    service: mysql\n"
				    "scopes:\n"
				    "  - name: db\n"
				    "    match:\n"
				    "      cgroup: \"*/db.slice/mysql-*\"\n"
				    "    rules:\n"
				    "      - port: 3306\n"
				    "        expose: public\n"
				    "        service: mysql-public\n"
				    "  - name: admin\n"
				    "    match:\n"
				    "      cgroup: \"*/system.slice/test-mariadb.service\"\n"
				    "    rules:\n"
				    "      - port: 8080\n"
				    "        expose: loopback\n"
				    "        service: mariadb-admin\n";

/* The same without the admin scope: test-mariadb.service falls back to the host rules. */
static const char reload_policy[] = "version: 1\n"
				    "name: scoped2\n"
				    "mode: enforce\n"
				    "default_action: deny\n"
				    "unlisted: public\n"
				    "rules:\n"
				    "  - port: 3306\n"
				    "    expose: loopback\n"
				    "    service: mysql\n"
				    "scopes:\n"
				    "  - name: db\n"
				    "    match:\n"
				    "      cgroup: \"*/db.slice/mysql-*\"\n"
				    "    rules:\n"
				    "      - port: 3306\n"
				    "        expose: public\n"
				    "        service: mysql-public\n";

struct job {
	const char *cg; /* the cgroup to join */
	const char *then; /* with worker_move: the cgroup to move to after socket() */
	int port;
	int hold_fd; /* holder: write a byte here once listening, then wait */
};

static int bind_any(int port, int do_listen)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	int fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;

		close(fd);
		return -err;
	}
	if (do_listen && listen(fd, 4) < 0) {
		close(fd);
		return -EIO;
	}
	return fd;
}

static int worker_bind(void *arg)
{
	const struct job *j = arg;
	int fd;

	if (sb_join_cgroup(j->cg))
		return 125;
	fd = bind_any(j->port, 0);
	if (fd < 0)
		return -fd > 120 ? 120 : -fd;
	close(fd);
	return 0;
}

/* socket() in one cgroup, bind() after moving to another: the binding task's scope judges. */
static int worker_move(void *arg)
{
	const struct job *j = arg;
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((unsigned short)j->port) };
	int fd, err = 0;

	if (sb_join_cgroup(j->cg))
		return 125;
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || sb_join_cgroup(j->then))
		return 124;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		err = errno;
	close(fd);
	return err > 120 ? 120 : err;
}

/* As uid 65534: mkdir each of the NULL-terminated paths, in order (0, or the errno). */
static int worker_user_mkdir(void *arg)
{
	const char *const *dirs = arg;

	if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
		return 125;
	for (; *dirs; dirs++)
		if (mkdir(*dirs, 0755) != 0)
			return errno > 120 ? 120 : errno;
	return 0;
}

/* The errno of a bind to 0.0.0.0:port from cgroup cg (0: allowed), or 126+ on test failure. */
static int try_bind(struct sb *sb, const char *cg, int port)
{
	struct job j = { .cg = cg, .port = port };

	return sb_child(sb, 0, 1, worker_bind, &j);
}

/* A listener that exists before the agent starts: in cg, held until killed. */
static pid_t holder_start(const char *cg, int port)
{
	int pfd[2], fd;
	char c = 0;
	pid_t p;

	if (pipe(pfd) < 0)
		return -1;
	p = fork();
	if (p == 0) {
		close(pfd[0]);
		if (sb_join_cgroup(cg) || sb_netns_new())
			_exit(125);
		fd = bind_any(port, 1);
		if (fd < 0)
			_exit(124);
		if (write(pfd[1], &c, 1) != 1)
			_exit(123);
		for (;;)
			pause();
	}
	close(pfd[1]);
	if (p < 0 || read(pfd[0], &c, 1) != 1) {
		close(pfd[0]);
		if (p > 0) {
			kill(p, SIGKILL);
			waitpid(p, NULL, 0);
		}
		return -1;
	}
	close(pfd[0]);
	return p;
}

static void holder_stop(pid_t p)
{
	if (p > 0) {
		kill(p, SIGKILL);
		waitpid(p, NULL, 0);
	}
}

static long long now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000000LL + t.tv_nsec / 1000;
}

int main(void)
{
	char host[PATH_MAX], slice[PATH_MAX], unit[PATH_MAX], dbs[PATH_MAX], m1[PATH_MAX];
	char m1sub[PATH_MAX], m2[PATH_MAX];
	const char *path;
	const char *args[4];
	pid_t hold_host = -1, hold_db = -1;
	int n_early = 0; /* denies of mysql-2 before it was classified */
	struct sb sb;
	char *out;
	int st, err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	st = sb_setup(&sb, "scopes");
	if (st)
		return st;
	snprintf(host, sizeof(host), "%s", sb.cg_dir);
	err = sb_mkcgroup(&sb, "system.slice", slice, sizeof(slice));
	err = err ?: sb_mkcgroup(&sb, "system.slice/test-mariadb.service", unit, sizeof(unit));
	err = err ?: sb_mkcgroup(&sb, "db.slice", dbs, sizeof(dbs));
	err = err ?: sb_mkcgroup(&sb, "db.slice/mysql-1", m1, sizeof(m1));
	err = err ?: sb_mkcgroup(&sb, "db.slice/mysql-1/worker", m1sub, sizeof(m1sub));
	if (err) {
		fprintf(stderr, "cannot make the test cgroups: %s\n", strerror(-err));
		sb_teardown(&sb);
		return 1;
	}

	/*
	 * A host process cannot bind in the sandbox cgroup itself once it has children (cgroup v2's
	 * no-internal-process rule holds only for controllers; processes may stay), so the "host"
	 * worker joins the sandbox cgroup directly.
	 */
	printf("--- existing listeners, judged by their own cgroup's scope\n");
	hold_host = holder_start(host, 3306);
	hold_db = holder_start(m1, 3306);
	SB_CHECK(hold_host > 0 && hold_db > 0, "two listeners on 0.0.0.0:3306 before the agent");

	path = sb_write_tmp(&sb, "scoped.yaml", scoped_policy);
	{
		/* status judges them as the agent would, and names the scope. */
		const char *argv[] = { sb.bin,	  "status",   "--policy", path, "--cgroup",
				       sb.cg_dir, "--format", "json",	  NULL };
		const char *db_row[] = { "\"port\":3306", "\"scope\":\"db\"",
					 "\"verdict\":\"allow\"", NULL };
		const char *host_row[] = { "\"port\":3306", "\"scope\":null",
					   "\"verdict\":\"deny\"", "\"rule\":\"mysql\"", NULL };
		static char text[65536];

		st = sb_exec(argv, text, sizeof(text));
		SB_CHECK(st == 3, "status exits 3: the host's listener breaks the policy (%d)", st);
		SB_CHECK(sb_count_lines(text, db_row) == 1,
			 "status: the db scope's listener is allowed, scope db");
		SB_CHECK(sb_count_lines(text, host_row) == 1,
			 "status: the host's listener is denied by the host rule, no scope");
	}
	args[0] = "--policy";
	args[1] = path;
	args[2] = NULL;
	if (sb_agent_start(&sb, args) != 0) {
		SB_CHECK(0, "agent start with the scoped policy");
		goto out;
	}
	{
		const char *host_ex[] = { "\"event\":\"existing\"", "\"port\":3306",
					  "\"rule\":\"mysql\"", NULL };
		const char *any_ex[] = { "\"event\":\"existing\"", NULL };

		out = sb_slurp(sb.out_path);
		SB_CHECK(out && sb_count_lines(out, host_ex) == 1,
			 "the host's 0.0.0.0:3306 listener is reported");
		SB_CHECK(out && sb_count_lines(out, any_ex) == 1,
			 "the db scope's 0.0.0.0:3306 listener is not (%d existing events)",
			 out ? sb_count_lines(out, any_ex) : -1);
		free(out);
	}
	holder_stop(hold_host);
	holder_stop(hold_db);
	hold_host = hold_db = -1;

	printf("--- each cgroup by its own rules\n");
	st = try_bind(&sb, host, 3306);
	SB_CHECK(st == EPERM, "host: 0.0.0.0:3306 denied (loopback only) (%d)", st);
	st = try_bind(&sb, host, 8080);
	SB_CHECK(st == 0, "host: 0.0.0.0:8080 allowed (unlisted public) (%d)", st);
	st = try_bind(&sb, unit, 8080);
	SB_CHECK(st == EPERM, "test-mariadb.service: 0.0.0.0:8080 denied by its scope (%d)", st);
	st = try_bind(&sb, unit, 3306);
	SB_CHECK(st == 0, "test-mariadb.service: the host's 3306 rule does not apply (%d)", st);
	st = try_bind(&sb, slice, 8080);
	SB_CHECK(st == 0, "system.slice (not the unit): 0.0.0.0:8080 allowed (%d)", st);
	st = try_bind(&sb, m1, 3306);
	SB_CHECK(st == 0, "db.slice/mysql-1: 0.0.0.0:3306 allowed by its scope (%d)", st);
	st = try_bind(&sb, m1sub, 3306);
	SB_CHECK(st == 0, "a cgroup below mysql-1 takes its scope: 3306 allowed (%d)", st);
	st = try_bind(&sb, dbs, 3306);
	SB_CHECK(st == EPERM, "db.slice itself matches no scope: 3306 denied (%d)", st);

	printf("--- a socket made in one cgroup, bound from another\n");
	{
		struct job j = { .cg = m1, .then = host, .port = 3306 };

		st = sb_child(&sb, 0, 1, worker_move, &j);
		SB_CHECK(st == EPERM,
			 "made in mysql-1 (db), bound after moving to the host cgroup: the host "
			 "rules judge the binding task: denied (%d)",
			 st);
		j.cg = host;
		j.then = m1;
		st = sb_child(&sb, 0, 1, worker_move, &j);
		SB_CHECK(st == 0, "made in the host cgroup, bound from mysql-1: db's rules (%d)",
			 st);
	}

	printf("--- a cgroup made while the agent runs\n");
	{
		long long t0, t1 = 0;

		t0 = now_us();
		err = sb_mkcgroup(&sb, "db.slice/mysql-2", m2, sizeof(m2));
		SB_CHECK(err == 0, "mkdir db.slice/mysql-2 (%s)", strerror(-err));
		st = try_bind(&sb, m2, 3306);
		if (st == 0)
			t1 = now_us();
		else
			n_early++;
		printf("    first bind right after mkdir: %s\n",
		       st == 0 ? "allowed (already classified)" : "denied (not yet)");
		while (!t1 && now_us() - t0 < JOIN_MS * 1000LL) {
			usleep(1000);
			if (try_bind(&sb, m2, 3306) == 0)
				t1 = now_us();
			else
				n_early++;
		}
		SB_CHECK(t1 != 0, "db.slice/mysql-2 joins the db scope");
		if (t1)
			printf("    classification window (mkdir to first allowed bind, with forks): "
			       "%lld us\n",
			       t1 - t0);
	}

	printf("--- a cgroup a user owns cannot take a scope\n");
	{
		/*
		 * As systemd delegates user@UID.service: the directory and its interface files
		 * belong to the user, who may make any cgroup below it, with any name.
		 */
		static const char *const files[] = { "", "/cgroup.procs", "/cgroup.subtree_control",
						     "/cgroup.threads" };
		char deleg[PATH_MAX], fake_slice[PATH_MAX + 16], fake[PATH_MAX + 32];
		char twin[PATH_MAX], f[PATH_MAX + 32];
		const char *dirs[] = { fake_slice, fake, NULL };
		long long t0;
		size_t i;
		int twin_ok = 0;

		err = sb_mkcgroup(&sb, "user@65534.service", deleg, sizeof(deleg));
		for (i = 0; !err && i < sizeof(files) / sizeof(files[0]); i++) {
			snprintf(f, sizeof(f), "%s%s", deleg, files[i]);
			if (chown(f, 65534, 65534) != 0)
				err = -errno;
		}
		SB_CHECK(err == 0, "user@65534.service, delegated to uid 65534 (%s)",
			 strerror(-err));
		snprintf(fake_slice, sizeof(fake_slice), "%s/db.slice", deleg);
		snprintf(fake, sizeof(fake), "%s/db.slice/mysql-9", deleg);
		st = sb_child(&sb, 0, 0, worker_user_mkdir, (void *)dirs);
		SB_CHECK(st == 0, "uid 65534 makes user@65534.service/db.slice/mysql-9 (%d)", st);
		if (st == 0) {
			/* Its teardown, after the cgroup it is in (removed in reverse). */
			strcpy(sb.cg_kids[sb.n_kids++], "user@65534.service/db.slice");
			strcpy(sb.cg_kids[sb.n_kids++], "user@65534.service/db.slice/mysql-9");
		}
		/* A root-made twin, made after it: once the twin is in the db scope, so would be
		 * the user's, if ownership did not count. */
		t0 = now_us();
		err = sb_mkcgroup(&sb, "db.slice/mysql-8", twin, sizeof(twin));
		SB_CHECK(err == 0, "mkdir db.slice/mysql-8 (%s)", strerror(-err));
		while (!twin_ok && now_us() - t0 < JOIN_MS * 1000LL) {
			if (try_bind(&sb, twin, 3306) == 0)
				twin_ok = 1;
			else
				n_early++;
			usleep(1000);
		}
		SB_CHECK(twin_ok,
			 "the root-made db.slice/mysql-8 joins the db scope: 3306 allowed");
		st = try_bind(&sb, fake, 3306);
		SB_CHECK(
			st == EPERM,
			"uid 65534's user@65534.service/db.slice/mysql-9 matches the db glob but is "
			"judged by the host rules: 3306 denied (%d)",
			st);
		if (st == EPERM)
			n_early++; /* a host deny of 3306, like the others */
		st = try_bind(&sb, fake, 8080);
		SB_CHECK(st == 0, "and 8080 there is the host's unlisted public (%d)", st);
	}

	printf("--- removed cgroups\n");
	{
		char gone[PATH_MAX + 16];

		/* Removing a scoped cgroup must not disturb the others. */
		snprintf(gone, sizeof(gone), "%s/gone", dbs);
		st = mkdir(gone, 0755) == 0 ? 0 : errno;
		SB_CHECK(st == 0, "mkdir db.slice/gone (%d)", st);
		usleep(100000);
		SB_CHECK(rmdir(gone) == 0, "rmdir db.slice/gone");
		usleep(100000);
		st = try_bind(&sb, m1, 3306);
		SB_CHECK(st == 0, "mysql-1 keeps its scope (%d)", st);
	}

	printf("--- reload: a scope dropped\n");
	{
		const char *reloaded[] = { "\"state\":\"reloaded\"", NULL };

		sb_write_tmp(&sb, "scoped.yaml", reload_policy);
		kill(sb.agent, SIGHUP);
		SB_CHECK(sb_wait_lines(sb.out_path, reloaded, 1, RELOAD_MS) >= 1, "reloaded");
		st = try_bind(&sb, unit, 8080);
		SB_CHECK(st == 0, "test-mariadb.service: 8080 allowed once its scope is gone (%d)",
			 st);
		st = try_bind(&sb, unit, 3306);
		SB_CHECK(st == EPERM, "test-mariadb.service: the host's 3306 rule applies now (%d)",
			 st);
		st = try_bind(&sb, m2, 3306);
		SB_CHECK(st == 0, "mysql-2 (found by inotify) keeps the db scope (%d)", st);
	}
	SB_CHECK(sb_agent_stop(&sb) == 0, "agent stops cleanly");

	out = sb_slurp(sb.out_path);
	{
		const char *admin[] = { "\"verdict\":\"deny\"", "\"port\":8080",
					"\"rule\":\"mariadb-admin\"", "\"scope\":\"admin\"", NULL };
		const char *host_deny[] = { "\"verdict\":\"deny\"", "\"port\":3306",
					    "\"rule\":\"mysql\"", NULL };
		const char *scoped_any[] = { "\"scope\":", "\"verdict\":\"deny\"", "\"port\":3306",
					     NULL };

		SB_CHECK(out && sb_count_lines(out, admin) == 1,
			 "the admin deny names its scope and rule");
		SB_CHECK(
			out && sb_count_lines(out, host_deny) == 4 + n_early,
			"host denies for 3306: host, db.slice, the moved socket, the unit after reload "
			"and %d of "
			"mysql-2 before it was classified: %d",
			n_early, out ? sb_count_lines(out, host_deny) : -1);
		SB_CHECK(out && sb_count_lines(out, scoped_any) == 0, "a host deny names no scope");
	}
	free(out);
out:
	holder_stop(hold_host);
	holder_stop(hold_db);
	sb_teardown(&sb);
	return sb_report("itest_scopes");
}
