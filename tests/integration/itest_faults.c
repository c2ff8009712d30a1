// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * itest_faults.c - the agent under faults: a full ring buffer with the reader stopped, its cgroup
 * removed under it, a foreign program attached without multi-attach before it starts, SIGKILL in
 * the middle of a bind flood, and its links detached by someone else.
 *
 * Everything happens in the sandbox cgroup and its children; every foreign program and child
 * cgroup is undone on every path (sb_on_teardown). No check depends on timing: waits are
 * generous and only bound how long a broken agent can hang the suite.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <grp.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sandbox.h"

/*
 * Lines of the agent's stderr that report something, leaving out the copies of its ready and
 * stopping records ("bindguard: agent ..."), which it mirrors there when its output is a file.
 */
static int error_lines(const char *err)
{
	const char *p;
	int n = 0;

	for (p = err; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, "bindguard: agent ", 17) != 0 && *p != '\n')
			n++;
	return n;
}

static struct sb sb;

static const char loopback_policy[] = "version: 1\n"
				      "name: faults\n"
				      "rules:\n"
				      "  - port: 3306\n"
				      "    expose: loopback\n"
				      "    service: mysql\n";

/* --- Helpers ------------------------------------------------------------------------------- */

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* bind() 0.0.0.0:port once on a fresh TCP socket; 0 or errno. */
static int bind_any(int port)
{
	struct sockaddr_in s;
	int fd, one = 1, err = 0;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	s.sin_port = htons(port);
	if (bind(fd, (struct sockaddr *)&s, sizeof(s)) != 0)
		err = errno;
	close(fd);
	return err;
}

/* The line of the output file that contains needle (malloc'ed), or NULL. */
static char *find_line(const char *path, const char *needle)
{
	char *out = sb_slurp(path), *p, *line = NULL;
	size_t len;

	if (!out)
		return NULL;
	p = strstr(out, needle);
	if (p) {
		while (p > out && p[-1] != '\n')
			p--;
		len = strcspn(p, "\n");
		line = strndup(p, len);
	}
	free(out);
	return line;
}

static int count_char(const char *s, char c)
{
	int n = 0;

	for (; s && *s; s++)
		n += *s == c;
	return n;
}

/*
 * Run the agent on the sandbox with args and expect it to exit by itself (it must not start).
 * Returns its exit status, -1 if it died by a signal, -2 if it was still running after
 * timeout_s (then it is killed). Its stderr goes to sb.err_path.
 */
static int agent_run_expect_exit(const char *const *args, double timeout_s)
{
	const char *argv[32];
	int n = 0, st, fd, err;
	pid_t pid;

	argv[n++] = sb.bin;
	argv[n++] = "run";
	argv[n++] = "--cgroup";
	argv[n++] = sb.cg_dir;
	argv[n++] = "--output";
	argv[n++] = sb.out_path;
	while (args && *args && n < 31)
		argv[n++] = *args++;
	argv[n] = NULL;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fd = open(sb.err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0)
			dup2(fd, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	err = sb_wait_exit(pid, (int)(timeout_s * 1000), &st);
	if (err == -ETIMEDOUT) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -2;
	}
	if (err)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* --- Foreign programs ---------------------------------------------------------------------- */

static struct {
	struct bpf_object *obj;
	int cg; /* cgroup fd of the exclusive attachment, or -1 */
	int prog;
	int type;
} fg = { .cg = -1 };

static void fg_detach(void *arg)
{
	(void)arg;
	if (fg.cg >= 0) {
		if (bpf_prog_detach2(fg.prog, fg.cg, fg.type))
			fprintf(stderr, "faults: detach of the foreign program: %s\n",
				strerror(errno));
		close(fg.cg);
		fg.cg = -1;
	}
}

static void fg_close(void *arg)
{
	fg_detach(arg);
	bpf_object__close(fg.obj);
	fg.obj = NULL;
}

/* Attach program name of foreign.bpf.o to the sandbox cgroup without BPF_F_ALLOW_MULTI. */
static int fg_attach_exclusive(const char *name, __u32 *id)
{
	struct bpf_prog_info info;
	struct bpf_program *prog;
	__u32 len = sizeof(info);
	char why[160];

	if (!fg.obj) {
		fg.obj = sb_foreign_open(&sb, why, sizeof(why));
		if (!fg.obj)
			return -1;
	}
	prog = bpf_object__find_program_by_name(fg.obj, name);
	if (!prog || bpf_program__fd(prog) < 0)
		return -1;
	fg.cg = open(sb.cg_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fg.cg < 0)
		return -1;
	fg.prog = bpf_program__fd(prog);
	fg.type = bpf_program__expected_attach_type(prog);
	if (bpf_prog_attach(fg.prog, fg.cg, fg.type, 0)) {
		fprintf(stderr, "faults: exclusive attach of %s: %s\n", name, strerror(errno));
		close(fg.cg);
		fg.cg = -1;
		return -1;
	}
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fg.prog, &info, &len) == 0)
		*id = info.id;
	return 0;
}

/* --- Ring buffer full, reader stopped ------------------------------------------------------- */

#define FLOOD_N 60000

static int *flood_ok; /* shared: successful binds of the flood worker */

static int worker_flood(void *arg)
{
	int i, n = *(int *)arg, err;

	for (i = 0; i < n; i++) {
		err = bind_any(3306);
		if (err) {
			fprintf(stderr, "flood: bind %d: %s\n", i, strerror(err));
			return 1;
		}
		(*flood_ok)++;
	}
	return 0;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

static void run_ring_full(void)
{
	const char *policy = sb_write_tmp(&sb, "faults.yaml", loopback_policy);
	/* The flood control off: this is about the ring filling up, not about one source. */
	const char *args[] = { "--policy", policy, "--mode", "audit", "--rate-limit", "0", NULL };
	const char *any[] = { "\"event\":\"bind\"", NULL };
	long long events, delivered, dropped, existing, *seqs;
	int n = FLOOD_N, one = 1, st, lines, prev, i, dup = 0;
	char *out, *stop, *line, *nl;

	printf("--- ring buffer full while the reader is stopped (%d binds)\n", n);
	if (sb_agent_start(&sb, args) != 0) {
		SB_CHECK(0, "agent start");
		return;
	}
	kill(sb.agent, SIGSTOP);
	SB_CHECK(waitpid(sb.agent, &st, WUNTRACED) == sb.agent && WIFSTOPPED(st),
		 "the agent is stopped");
	*flood_ok = 0;
	st = sb_child(&sb, 1, 1, worker_flood, &n);
	SB_CHECK(st == 0 && *flood_ok == n, "flood: %d of %d binds succeeded (audit mode)",
		 *flood_ok, n);
	kill(sb.agent, SIGCONT);

	/* Wait until the agent has drained what the ring held: the count stops growing. */
	prev = sb_wait_lines_settled(sb.out_path, any, 2000, 60000);
	printf("  %d events written after SIGCONT\n", prev);
	SB_CHECK(prev > 0 && prev < n, "some events written, not all: %d of %d", prev, n);

	/* The agent keeps working: one more bind, one more event. */
	st = sb_child(&sb, 1, 1, worker_flood, &one);
	SB_CHECK(st == 0, "one more bind after the flood");
	lines = sb_wait_lines(sb.out_path, any, prev + 1, 30000);
	SB_CHECK(lines == prev + 1, "one more event after the flood: %d -> %d", prev, lines);

	st = sb_agent_stop(&sb);
	SB_CHECK(st == 0, "agent exit status %d after SIGTERM", st);
	stop = find_line(sb.out_path, "\"state\":\"stopping\"");
	SB_CHECK(stop != NULL, "stopping line present");
	if (!stop)
		return;
	printf("  %s\n", stop);
	events = sb_json_num(stop, "events");
	delivered = sb_json_num(stop, "delivered");
	dropped = sb_json_num(stop, "dropped");
	existing = sb_json_num(stop, "existing");
	free(stop);
	SB_CHECK(dropped > 0, "dropped %lld > 0 (the ring holds ~35k events)", dropped);
	SB_CHECK(events + dropped == n + 1, "events %lld + dropped %lld == %d binds", events,
		 dropped, n + 1);
	SB_CHECK(delivered == events, "delivered %lld == events %lld", delivered, events);
	SB_CHECK(existing == 0, "no existing sockets reported (%lld)", existing);

	out = sb_slurp(sb.out_path);
	if (!out) {
		SB_CHECK(0, "agent output");
		return;
	}
	lines = sb_count_lines(out, any);
	SB_CHECK(lines == delivered, "%d JSON bind lines == delivered %lld", lines, delivered);
	seqs = calloc(lines > 0 ? lines : 1, sizeof(*seqs));
	i = 0;
	for (line = out; seqs && line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		/* Within the line: strstr() would scan the rest of the output every time. */
		if (i < lines &&
		    memmem(line, nl ? (size_t)(nl - line) : strlen(line), any[0], strlen(any[0])))
			seqs[i++] = sb_json_num(line, "seq");
	}
	if (seqs) {
		/* The last event (the bind after the flood) took the last sequence number. */
		SB_CHECK(i > 0 && seqs[i - 1] == n, "the post-flood event has seq %lld, want %d",
			 i > 0 ? seqs[i - 1] : -1, n);
		qsort(seqs, i, sizeof(*seqs), cmp_ll);
		for (st = 1; st < i; st++)
			dup += seqs[st] == seqs[st - 1];
		SB_CHECK(dup == 0, "%d duplicate seq numbers", dup);
		SB_CHECK(i > 0 && seqs[0] >= 0 && seqs[i - 1] <= n, "seq within [0, %d]", n);
	}
	free(seqs);
	free(out);
}

/* --- The attached cgroup removed ------------------------------------------------------------ */

static char victim[PATH_MAX];

static void victim_remove(void *arg)
{
	(void)arg;
	if (victim[0] && sb_rmdir_cgroup(victim))
		fprintf(stderr, "faults: cannot remove %s\n", victim);
	victim[0] = '\0';
}

static void run_cgroup_removed(void)
{
	char *err, *line;
	double t0, dt;
	int st = 0, exited = 0, lines;

	printf("--- the attached cgroup is removed under the agent\n");
	if (snprintf(victim, sizeof(victim), "%s/victim", sb.cg_dir) >= (int)sizeof(victim) ||
	    mkdir(victim, 0755) != 0) {
		SB_CHECK(0, "mkdir %s: %s", victim, strerror(errno));
		victim[0] = '\0';
		return;
	}
	if (sb_agent_start_cg(&sb, victim, NULL) != 0) {
		SB_CHECK(0, "agent start on %s", victim);
		return;
	}
	SB_CHECK(sb_attached_all(victim) == 5, "5 programs on the victim cgroup");
	SB_CHECK(rmdir(victim) == 0, "rmdir of the attached cgroup: %s", strerror(errno));
	victim[0] = '\0';
	t0 = now_s();
	exited = sb_wait_exit(sb.agent, 20000, &st) == 0;
	dt = now_s() - t0;
	if (!exited) {
		SB_CHECK(0, "the agent still runs 20 s after its cgroup was removed");
		return; /* sb_teardown kills it */
	}
	sb.agent = -1;
	printf("  the agent exited %.1f s after the rmdir\n", dt);
	SB_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1, "exit status 1, not a signal (%s %d)",
		 WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	err = sb_slurp(sb.err_path);
	lines = error_lines(err);
	SB_CHECK(err && strstr(err, "/victim") && strstr(err, "removed"),
		 "stderr names the cgroup and says it was removed: %s", err ? err : "(none)");
	SB_CHECK(lines == 1, "one error line on stderr, got %d: %s", lines, err ? err : "");
	free(err);
	line = find_line(sb.out_path, "\"state\":\"stopping\"");
	SB_CHECK(line != NULL, "the stopping line is still written");
	free(line);
}

/* --- A foreign program attached without multi-attach ---------------------------------------- */

static void check_only_foreign(int type, __u32 id, const char *what)
{
	static const struct {
		int type;
		const char *name;
	} hooks[] = {
		{ BPF_CGROUP_INET4_BIND, "bind4" },
		{ BPF_CGROUP_INET6_BIND, "bind6" },
		{ BPF_CGROUP_INET4_POST_BIND, "post_bind4" },
		{ BPF_CGROUP_INET6_POST_BIND, "post_bind6" },
		{ BPF_CGROUP_SOCK_OPS, "sockops" },
	};
	unsigned int ids[16];
	size_t i;
	int n;

	for (i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
		n = sb_prog_count(sb.cg_dir, hooks[i].type, ids);
		if (hooks[i].type == type)
			SB_CHECK(n == 1 && ids[0] == id,
				 "%s: %s holds only the foreign program (%d programs)", what,
				 hooks[i].name, n);
		else
			SB_CHECK(n == 0, "%s: nothing of ours left on %s (%d programs)", what,
				 hooks[i].name, n);
	}
}

static void run_exclusive(const char *prog, const char *hook)
{
	char *err;
	__u32 id = 0;
	int st;

	printf("--- %s attached to %s without multi-attach, then the agent\n", prog, hook);
	if (fg_attach_exclusive(prog, &id) != 0) {
		SB_CHECK(0, "exclusive attach of %s", prog);
		return;
	}
	st = agent_run_expect_exit(NULL, 30);
	err = sb_slurp(sb.err_path);
	SB_CHECK(st == 1, "the agent exits 1, got %d: %s", st, err ? err : "");
	SB_CHECK(err && count_char(err, '\n') == 1 && strstr(err, hook) &&
			 strstr(err, "multi-attach"),
		 "one line naming %s and multi-attach: %s", hook, err ? err : "(none)");
	free(err);
	check_only_foreign(fg.type, id, prog);
	fg_detach(NULL);
	SB_CHECK(sb_attached_all(sb.cg_dir) == 0, "nothing attached after the detach");
}

/* --- SIGKILL in the middle of a bind flood --------------------------------------------------- */

struct flood_state {
	volatile int stop;
	volatile long denied, ok, other;
	volatile int other_errno;
};

static struct flood_state *fs;

/* Conditions to wait for (sb_wait_until()): the flood is being denied; a bind went through. */
static int flood_denied_500(void *arg)
{
	(void)arg;
	return fs->denied >= 500;
}

static int flood_bound(void *arg)
{
	(void)arg;
	return fs->ok > 0;
}

static int worker_flood_until(void *arg)
{
	int err;

	(void)arg;
	while (!fs->stop) {
		err = bind_any(3306);
		if (err == EPERM) {
			fs->denied++;
		} else if (err == 0) {
			fs->ok++;
		} else {
			fs->other++;
			fs->other_errno = err;
		}
	}
	return 0;
}

static int worker_bind_once(void *arg)
{
	(void)arg;
	return bind_any(3306);
}

static void run_sigkill(void)
{
	int st, n, bound;
	long denied_at_kill;
	pid_t flood;

	printf("--- SIGKILL of the agent during a bind flood\n");
	if (sb_agent_start(&sb, NULL) != 0) {
		SB_CHECK(0, "agent start");
		return;
	}
	memset(fs, 0, sizeof(*fs));
	flood = fork();
	if (flood < 0) {
		SB_CHECK(0, "fork");
		return;
	}
	if (flood == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(sb_child(&sb, 1, 1, worker_flood_until, NULL) == 0 ? 0 : 1);
	}
	sb_wait_until(flood_denied_500, NULL, 30000);
	SB_CHECK(fs->denied >= 500 && fs->ok == 0,
		 "flood denied before the kill (%ld denied, %ld ok)", fs->denied, fs->ok);
	denied_at_kill = fs->denied;
	kill(sb.agent, SIGKILL);
	waitpid(sb.agent, &st, 0);
	sb.agent = -1;
	SB_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "the agent died of SIGKILL");
	n = sb_wait_attached(sb.cg_dir, SB_HOOKS_ALL, 0, 10000);
	SB_CHECK(n == 0, "nothing attached after SIGKILL (%d programs)", n);
	sb_wait_until(flood_bound, NULL, 10000);
	fs->stop = 1;
	waitpid(flood, &st, 0);
	printf("  flood: %ld denied (%ld before the kill), %ld bound, %ld other\n", fs->denied,
	       denied_at_kill, fs->ok, fs->other);
	SB_CHECK(fs->ok > 0, "the flood binds 0.0.0.0:3306 once the agent is gone");
	SB_CHECK(fs->other == 0, "no other errno in the flood (%ld, last %s)", fs->other,
		 strerror(fs->other_errno));
	bound = sb_child(&sb, 1, 1, worker_bind_once, NULL);
	SB_CHECK(bound == 0, "a fresh 0.0.0.0:3306 bind in the sandbox succeeds: %s",
		 strerror(bound > 0 ? bound : 0));
}

/* --- The agent's links detached by someone else ---------------------------------------------- */

/* Detach every bpf_link of the agent on the sandbox cgroup (as another root process could). */
static int detach_agent_links(void)
{
	struct bpf_link_info info;
	struct stat st;
	__u32 id = 0, len;
	int fd, n = 0;

	if (stat(sb.cg_dir, &st) != 0)
		return -1;
	while (bpf_link_get_next_id(id, &id) == 0) {
		fd = bpf_link_get_fd_by_id(id);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
		    info.type == BPF_LINK_TYPE_CGROUP && info.cgroup.cgroup_id == st.st_ino &&
		    bpf_link_detach(fd) == 0)
			n++;
		close(fd);
	}
	return n;
}

static void run_links_detached(void)
{
	int n, st, alive;

	printf("--- the agent's links detached by another process\n");
	if (sb_agent_start(&sb, NULL) != 0) {
		SB_CHECK(0, "agent start");
		return;
	}
	st = sb_child(&sb, 1, 1, worker_bind_once, NULL);
	SB_CHECK(st == EPERM, "enforced before the detach: %s", strerror(st > 0 ? st : 0));
	n = detach_agent_links();
	SB_CHECK(n == 5, "5 links detached, got %d", n);
	SB_CHECK(sb_attached_all(sb.cg_dir) == 0, "nothing attached any more");
	st = sb_child(&sb, 1, 1, worker_bind_once, NULL);
	SB_CHECK(st == 0, "0.0.0.0:3306 binds once the links are detached (known limit): %s",
		 strerror(st > 0 ? st : 0));
	/* The agent checks its links once a second: it must notice, say so and exit 1. */
	alive = sb_wait_exit(sb.agent, 5000, &st) != 0;
	SB_CHECK(!alive, "the agent notices the detach and exits");
	if (alive) {
		sb_agent_stop(&sb);
	} else {
		char *err = sb_slurp(sb.err_path);

		sb.agent = -1;
		SB_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 1,
			 "exit 1 after the detach (status %d)", st);
		SB_CHECK(err && strstr(err, "detached") && error_lines(err) == 1,
			 "one stderr error line saying a hook was detached: %s",
			 err ? err : "(none)");
		free(err);
	}
}

/* --- flood control: eight unprivileged flooders must not hide another uid's violation ------ */

static struct {
	volatile int stop;
	volatile long binds;
} * ff;

/* Fork fn(arg) in the sandbox cgroup, in a netns of its own, as uid (and gid) uid. */
static pid_t spawn_as(uid_t uid, int (*fn)(void *), void *arg)
{
	pid_t p = fork();

	if (p == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (sb_join_cgroup(sb.cg_dir) || unshare(CLONE_NEWNET) || setgroups(0, NULL) ||
		    setresgid(uid, uid, uid) || setresuid(uid, uid, uid))
			_exit(100);
		_exit(fn(arg));
	}
	return p;
}

static int flooder(void *arg)
{
	(void)arg;
	while (!ff->stop) {
		bind_any(3306);
		__sync_fetch_and_add(&ff->binds, 1);
	}
	return 0;
}

static int bind_once_counted(void *arg)
{
	int port = *(int *)arg;

	__sync_fetch_and_add(&ff->binds, port == 3306);
	return bind_any(port);
}

/* Sum of the "suppressed" fields of the lines holding needle. */
static long long sum_field(const char *out, const char *needle, const char *key)
{
	const char *line;
	long long sum = 0, v;

	for (line = out; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		const char *nl = strchr(line, '\n');
		char buf[2048];
		size_t n = nl ? (size_t)(nl - line) : strlen(line);

		if (n >= sizeof(buf))
			continue;
		memcpy(buf, line, n);
		buf[n] = '\0';
		if (!strstr(buf, needle))
			continue;
		v = sb_json_num(buf, key);
		if (v > 0)
			sum += v;
	}
	return sum;
}

#define FLOODERS 8
#define FLOOD_RUNS 20

static void run_flood_fairness(void)
{
	const char *args[] = { "--mode", "audit", NULL }; /* the built-in policy, default limits */
	const char *sup[] = { "\"state\":\"suppressing\"", NULL };
	const char *drp[] = { "\"state\":\"dropping\"", NULL };
	const char *fl_ev[] = { "\"event\":\"bind\"", "\"uid\":65534,", NULL };
	pid_t fl[FLOODERS], v;
	int i, st, delivered = 0, real_ok = 0, port;
	long long suppressed_sum, stop_suppressed = -1, stop_dropped = -1, fl_events;
	char *out, *stop_line, needle[48];
	pid_t vio[FLOOD_RUNS];
	double t0, flood_s;

	printf("--- %d unprivileged flooders in audit mode, one real violation from another uid, "
	       "%d runs\n",
	       FLOODERS, FLOOD_RUNS);
	ff->stop = 0;
	ff->binds = 0;
	if (sb_agent_start(&sb, args) != 0) {
		SB_CHECK(0, "agent start");
		return;
	}
	t0 = now_s();
	for (i = 0; i < FLOODERS; i++)
		fl[i] = spawn_as(65534, flooder, NULL);
	port = 5432;
	for (i = 0; i < FLOOD_RUNS; i++) {
		usleep(300000);
		vio[i] = spawn_as(4321, bind_once_counted, &port);
		waitpid(vio[i], &st, 0);
		real_ok += WIFEXITED(st) && WEXITSTATUS(st) == 0;
	}
	ff->stop = 1;
	for (i = 0; i < FLOODERS; i++)
		waitpid(fl[i], &st, 0);
	flood_s = now_s() - t0;
	/* One more bind from the flooders' source after a pause: it carries what is pending. */
	usleep(100000);
	port = 3306;
	v = spawn_as(65534, bind_once_counted, &port);
	waitpid(v, &st, 0);
	usleep(1200000); /* one more report tick */
	SB_CHECK(sb_agent_stop(&sb) == 0, "agent stops cleanly");
	out = sb_slurp(sb.out_path);
	SB_CHECK(real_ok == FLOOD_RUNS, "audit mode: the real binds succeed (%d/%d)", real_ok,
		 FLOOD_RUNS);
	for (i = 0; out && i < FLOOD_RUNS; i++) {
		const char *n[] = { "\"event\":\"bind\"", "\"port\":5432", "\"uid\":4321,", needle,
				    NULL };

		snprintf(needle, sizeof(needle), "\"pid\":%d,", (int)vio[i]);
		delivered += sb_count_lines(out, n) == 1;
	}
	printf("  %ld flooder binds in %.1f s; the real violation delivered in %d of %d runs\n",
	       ff->binds, flood_s, delivered, FLOOD_RUNS);
	SB_CHECK(delivered == FLOOD_RUNS, "the real violation is delivered in %d of %d runs",
		 delivered, FLOOD_RUNS);
	SB_CHECK(out && sb_count_lines(out, sup) + sb_count_lines(out, drp) >= (int)flood_s - 1,
		 "suppression or drop records while the flood runs (%d in %.1f s)",
		 out ? sb_count_lines(out, sup) + sb_count_lines(out, drp) : -1, flood_s);
	stop_line = find_line(sb.out_path, "\"state\":\"stopping\"");
	if (stop_line) {
		stop_suppressed = sb_json_num(stop_line, "suppressed");
		stop_dropped = sb_json_num(stop_line, "dropped");
	}
	free(stop_line);
	suppressed_sum = out ? sum_field(out, "\"uid\":65534,", "suppressed") : -1;
	fl_events = out ? sb_count_lines(out, fl_ev) : -1;
	printf("  flooders: %lld events written, %lld suppressed (stopping says %lld), %lld "
	       "dropped\n",
	       fl_events, suppressed_sum, stop_suppressed, stop_dropped);
	SB_CHECK(stop_suppressed > 0, "the flood was suppressed (%lld)", stop_suppressed);
	SB_CHECK(
		suppressed_sum == stop_suppressed,
		"exact: the events' \"N more like this\" add up to the suppressed total (%lld, %lld)",
		suppressed_sum, stop_suppressed);
	SB_CHECK(
		fl_events + suppressed_sum + stop_dropped == ff->binds,
		"exact: every flooder bind is written, suppressed or dropped (%lld + %lld + %lld == "
		"%ld)",
		fl_events, suppressed_sum, stop_dropped, ff->binds);
	free(out);
}

int main(void)
{
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	rc = sb_setup(&sb, "faults");
	if (rc)
		return rc;
	flood_ok = mmap(NULL, sizeof(*flood_ok), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			-1, 0);
	fs = mmap(NULL, sizeof(*fs), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ff = mmap(NULL, sizeof(*ff), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (flood_ok == MAP_FAILED || fs == MAP_FAILED || ff == MAP_FAILED) {
		perror("mmap");
		sb_teardown(&sb);
		return 1;
	}
	sb_on_teardown(victim_remove, NULL);
	sb_on_teardown(fg_close, NULL);

	run_ring_full();
	run_cgroup_removed();
	run_exclusive("fg_allow4", "cgroup/bind4");
	run_exclusive("fg_allow_ops", "sockops");
	run_sigkill();
	run_links_detached();
	run_flood_fairness();
	/* A second agent on the same cgroup: itest_enforce run_lifecycle. */

	sb_teardown(&sb);
	return sb_report("itest_faults");
}
