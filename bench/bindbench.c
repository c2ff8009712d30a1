// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bindbench - what bindguard costs a bind(), measured on this machine.
 *
 * It builds its sandbox with the integration tests' (tests/integration/sandbox.h: a child cgroup
 * v2 with one leaf per configuration, a network namespace, the agents' command line, teardown
 * on every path), pins the bench to one CPU and the agents to another, then:
 *
 *   sibling   how much a busy agents' CPU slows a loop on the bench's CPU (they share a core
 *             here), which is why the agents are paused while binds are timed (AGENT_BACKLOG).
 *   latency   a socket()+bind()+close() loop for tcp4, udp4, tcp6 and udp6 under each
 *             configuration: no program, a trivial program, bindguard allowing, denying (with
 *             every event written, and with the default flood control) and auditing, a large
 *             policy, the CIDR (LPM) path, the same with a reference build (--ref: "before"
 *             and "after" in one run), and bpftrace as the peer. The configurations are
 *             interleaved (every round measures every one, chunk by chunk, in a rotating order)
 *             and the process moves itself into the configuration's leaf before each chunk: a
 *             socket belongs to the cgroup it was created in. Reported: the median ns per
 *             iteration, and the median of the ratios of paired chunks (measured milliseconds
 *             apart, so the drifts of a shared machine cancel out).
 *   kernel    the same loops with kernel.bpf_stats_enabled=1: ns per program run, from
 *             run_time_ns/run_cnt of the programs attached to each leaf (before/after deltas).
 *   deny      from bind() to the deny's line read from the agent's output, one at a time and
 *             in a storm.
 *   pipeline  a flood of audited binds with the agent on the other core (events lost, and the
 *             agent's and its reader's CPU per event), this build and the reference, and the
 *             same with the agent stopped (dropped must equal produced - delivered exactly).
 *   footprint the agent's RSS and CPU at a steady rate of audited binds.
 *   ready     time from exec to the agent's ready line, per policy, and with 10,000 existing
 *             listeners to reconcile (compliant, and violating in the agent's own cgroup),
 *             in turn with the same start without them.
 *
 * Results go to --out as tab-separated records that bench/run.sh turns into docs/benchmarks.md.
 * Nothing is ever attached to the root cgroup, nothing is pinned, and every path out (normal
 * end, error, SIGINT/SIGTERM/SIGHUP) kills the agents, detaches the trivial program, restores
 * the sysctl (bench_teardown(), a sandbox teardown hook), then the sandbox removes the cgroups
 * and the scratch files.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bindguard.h"
#include "sandbox.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Addresses the CIDR configurations bind to; added to lo in the bench's own netns. */
#define SPEC_V4 "10.1.2.3"
#define SPEC_V6 "fd00::1:2:3"
/*
 * Each configuration binds the ports of a pool in turn, all under one rule of the bench's own
 * (the rule table is indexed by port, so every port of a pool costs the same lookups): a socket
 * whose close another process delays for a moment (anything that walks /proc/PID/fd of every
 * process holds each file briefly) then holds a port the next binds do not need.
 */
#define PORT_PUBLIC 21000 /* bench-public: expose public */
#define PORT_DENIED 22000 /* bench-loopback: expose loopback, action deny (mode decides) */
#define PORT_CIDR 23000 /* bench-cidr: a CIDR list */
#define PORT_POOL 64
#define PORT_MYSQL 3306 /* loopback only in the built-in policy: the violating listeners' port */
#define BIG_CIDRS 10000 /* IPv4 /32s in the big policy (plus one IPv6 /128) */
#define BIG_CHUNK 16 /* ports per range rule in the big policy */
#define RECONCILE_BASE_PORT 40001

/* --- Options -------------------------------------------------------------------------------- */

static struct {
	const char *bindguard, *trivial, *policy, *out, *bpftrace, *id, *tmpdir;
	const char *ref, *ref_name; /* a reference build measured beside this one ("" = none) */
	const char *small; /* the generated small policy (write_small_policy) */
	int rounds, iters, chunk, warmup, stat_rounds;
	int flood, stopped_flood, foot_seconds, foot_rate, ready_runs, reconcile_socks;
	int deny_isolated, deny_storm;
} opt = {
	.bindguard = "build/bindguard",
	.trivial = "build/bench/trivial.bpf.o",
	.policy = "policy/iredmail.yaml",
	.out = "-",
	.bpftrace = "bpftrace",
	.tmpdir = "/tmp",
	.ref = "",
	.ref_name = "reference",
	.rounds = 40,
	.iters = 10000,
	.chunk = 1000,
	.warmup = 50,
	.stat_rounds = 10,
	.flood = 200000,
	.stopped_flood = 100000,
	.foot_seconds = 10,
	.foot_rate = 10000,
	.ready_runs = 5,
	.reconcile_socks = 10000,
	.deny_isolated = 1000,
	.deny_storm = 20000,
};

/* --- Small helpers ------------------------------------------------------------------------- */

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

static void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void msg(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bindbench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
}

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int write_file(const char *path, const char *s)
{
	int fd, err = 0;
	ssize_t n;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	if (n < 0)
		err = -errno;
	else if ((size_t)n != strlen(s))
		err = -EIO;
	close(fd);
	return err;
}

static int read_file(const char *path, char *buf, size_t len)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Quantile q of v[0..n) (linear interpolation between order statistics); v is sorted. */
static double quantile(double *v, int n, double q)
{
	double pos, frac;
	int i;

	if (n <= 0)
		return NAN;
	qsort(v, n, sizeof(*v), cmp_double);
	pos = q * (n - 1);
	i = (int)pos;
	frac = pos - i;
	if (i + 1 >= n)
		return v[n - 1];
	return v[i] + frac * (v[i + 1] - v[i]);
}

/* --- The sandbox and its cleanup ----------------------------------------------------------- */

/*
 * One cgroup per agent (only one bindguard may attach to a cgroup). "limited" runs with the
 * default flood control; the ref-* leaves hold the agents of the reference build (--ref).
 */
enum leaf {
	LEAF_NONE,
	LEAF_TRIVIAL,
	LEAF_ENFORCE,
	LEAF_AUDIT,
	LEAF_BIG,
	LEAF_LIMITED,
	LEAF_REF_ENFORCE,
	LEAF_REF_AUDIT,
	LEAF_REF_BIG,
	LEAF_TRIVIAL_POST,
	LEAF_TRIVIAL_EVENT,
	NR_LEAVES
};
static const char *const leaf_names[NR_LEAVES] = { "none",	   "trivial",	   "enforce",
						   "audit",	   "big",	   "limited",
						   "ref-enforce",  "ref-audit",	   "ref-big",
						   "trivial-post", "trivial-event" };

/*
 * A process whose stdout a drainer reads: the drainer (our child) forks the target (the agent or
 * bpftrace), reports its pid, the time of the fork and the moment the ready line appears, counts
 * the lines that match, keeps the last "keep" line, and at EOF reports the exit status.
 */
struct child {
	pid_t drainer, target;
	int ctl; /* read end of the drainer's reports */
	char ctl_buf[4096];
	size_t ctl_len;
	__u64 t_fork, t_ready; /* CLOCK_MONOTONIC ns */
	long lines; /* lines that matched count_needle */
	int status; /* exit status of the target, -1 if killed by a signal */
	int done;
	char ready_line[1024];
	char kept[1024]; /* the last line that matched keep_needle */
	char err_path[PATH_MAX];
	char name[32];
	/* With a latency needle: arrival times of the lines that match it, per read() chunk. */
	long d_total; /* matching lines reported so far */
	__u64 *d_t; /* [k]: when chunk k arrived (CLOCK_MONOTONIC ns) */
	long *d_n; /* [k]: matching lines up to and including chunk k */
	size_t d_len, d_cap;
};

static struct {
	struct sb box; /* the test sandbox: cgroup, leaves, scratch dir, teardown */
	char cg_orig[PATH_MAX]; /* where we came from (cgroup.procs is written back there) */
	char leaf[NR_LEAVES][PATH_MAX];
	int own_leaf[NR_LEAVES]; /* made here, not by the sandbox (it makes SB_MAX_CGROUPS) */
	int procs_fd[NR_LEAVES];
	int orig_procs_fd;
	char tmpfiles[48][PATH_MAX];
	int n_tmpfiles;
	struct child *children[16];
	struct bpf_object *trivial;
	struct bpf_link *trivial_links[10];
	struct ring_buffer *trivial_rb; /* trivial-event's records, read between chunks */
	char stats_old[32]; /* kernel.bpf_stats_enabled before we set it; "" if untouched */
	int bench_cpu, agent_cpu;
	pid_t spinner; /* phase_sibling()'s busy loop on the agents' CPU, 0 if none */
} bench = { .orig_procs_fd = -1, .procs_fd = { [0 ... NR_LEAVES - 1] = -1 } };

static const char stats_sysctl[] = "/proc/sys/kernel/bpf_stats_enabled";

static void child_kill(struct child *c);
static void trivial_rb_drain(int c);

static void stats_restore(void)
{
	if (!bench.stats_old[0])
		return;
	if (write_file(stats_sysctl, bench.stats_old))
		fprintf(stderr, "bindbench: could not restore kernel.bpf_stats_enabled=%s",
			bench.stats_old);
	bench.stats_old[0] = '\0';
}

/*
 * What the sandbox cannot know about, undone first on every path out (a teardown hook): then the
 * sandbox removes the leaves, its cgroup and the scratch directory.
 */
static void bench_teardown(void *arg)
{
	size_t i;
	int j;

	(void)arg;
	if (bench.spinner > 0) {
		kill(bench.spinner, SIGKILL);
		waitpid(bench.spinner, NULL, 0);
		bench.spinner = 0;
	}
	for (i = 0; i < ARRAY_SIZE(bench.children); i++)
		if (bench.children[i])
			child_kill(bench.children[i]);
	for (i = 0; i < ARRAY_SIZE(bench.trivial_links); i++) {
		bpf_link__destroy(bench.trivial_links[i]);
		bench.trivial_links[i] = NULL;
	}
	ring_buffer__free(bench.trivial_rb);
	bench.trivial_rb = NULL;
	bpf_object__close(bench.trivial);
	bench.trivial = NULL;
	stats_restore();
	/* Out of the sandbox, so that its cgroups can go. */
	if (bench.orig_procs_fd >= 0) {
		char pid[32];

		snprintf(pid, sizeof(pid), "%d", (int)getpid());
		if (write(bench.orig_procs_fd, pid, strlen(pid)) < 0)
			fprintf(stderr, "bindbench: cannot move back to %s: %s\n", bench.cg_orig,
				strerror(errno));
		close(bench.orig_procs_fd);
		bench.orig_procs_fd = -1;
	}
	for (j = 0; j < NR_LEAVES; j++) {
		if (bench.procs_fd[j] >= 0)
			close(bench.procs_fd[j]);
		bench.procs_fd[j] = -1;
		/* The sandbox removes the leaves it made; these go first, so it can remove its own. */
		if (bench.own_leaf[j] && sb_rmdir_cgroup(bench.leaf[j]))
			fprintf(stderr, "bindbench: cannot remove %s\n", bench.leaf[j]);
		bench.own_leaf[j] = 0;
	}
}

/* exit() tears the sandbox down (sb_setup()'s exit handler), bench_teardown() first. */
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bindbench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	exit(1);
}

static const char *tmp_path(const char *name)
{
	char path[PATH_MAX], *p;
	int i;

	if (snprintf(path, sizeof(path), "%s/%s", bench.box.tmpdir, name) >= (int)sizeof(path))
		die("scratch path too long\n");
	for (i = 0; i < bench.n_tmpfiles; i++)
		if (strcmp(bench.tmpfiles[i], path) == 0)
			return bench.tmpfiles[i];
	if (bench.n_tmpfiles >= (int)ARRAY_SIZE(bench.tmpfiles))
		die("too many scratch files\n");
	p = bench.tmpfiles[bench.n_tmpfiles++];
	strcpy(p, path);
	return p;
}

/* Move this (single-threaded) process into a leaf, or back where it came from (leaf -1). */
static void cg_enter(int leaf)
{
	int fd = leaf < 0 ? bench.orig_procs_fd : bench.procs_fd[leaf];
	char pid[32];

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if (write(fd, pid, strlen(pid)) < 0)
		die("cannot move into cgroup %s: %s\n", leaf < 0 ? bench.cg_orig : bench.leaf[leaf],
		    strerror(errno));
}

static int run_cmd(const char *const *argv)
{
	pid_t p;
	int st;

	p = fork();
	if (p < 0)
		return -errno;
	if (p == 0) {
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (waitpid(p, &st, 0) < 0)
		return -errno;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -EIO;
}

static void pin_cpu(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) != 0)
		die("sched_setaffinity(%d): %s\n", cpu, strerror(errno));
}

static void sandbox_setup(void)
{
	static const char *const ip4[] = { "ip", "addr", "add", SPEC_V4 "/32", "dev", "lo", NULL };
	static const char *const ip6[] = { "ip",  "-6", "addr",	 "add", SPEC_V6 "/128",
					   "dev", "lo", "nodad", NULL };
	char name[64], buf[PATH_MAX + 32];
	cpu_set_t set;
	int i, err;

	if (geteuid() != 0)
		die("needs root (BPF, cgroup v2, network namespaces)\n");
	/* The sandbox takes the agent from $BINDGUARD and its scratch directory from $TMPDIR. */
	if (setenv("BINDGUARD", opt.bindguard, 1) || setenv("TMPDIR", opt.tmpdir, 1))
		die("setenv: %s\n", strerror(errno));
	snprintf(name, sizeof(name), "bench-%s", opt.id);
	if (sb_setup(&bench.box, name))
		die("cannot set up the sandbox (see above)\n");
	if (sb_on_teardown(bench_teardown, NULL))
		die("cannot register the bench's teardown\n");

	/* Our own cgroup, to go back there before the sandbox is removed. */
	err = sb_self_cgroup(&bench.box, bench.cg_orig, sizeof(bench.cg_orig));
	if (err)
		die("cannot find our cgroup v2 in /proc/self/cgroup: %s\n", strerror(-err));
	snprintf(buf, sizeof(buf), "%s/cgroup.procs", bench.cg_orig);
	bench.orig_procs_fd = open(buf, O_WRONLY | O_CLOEXEC);
	if (bench.orig_procs_fd < 0)
		die("cannot open %s: %s\n", buf, strerror(errno));

	for (i = 0; i < NR_LEAVES; i++) {
		if (i < SB_MAX_CGROUPS) {
			err = sb_mkcgroup(&bench.box, leaf_names[i], bench.leaf[i],
					  sizeof(bench.leaf[i]));
		} else {
			if (snprintf(bench.leaf[i], sizeof(bench.leaf[i]), "%.3000s/%s",
				     bench.box.cg_dir, leaf_names[i]) >= (int)sizeof(bench.leaf[i]))
				die("cgroup path too long\n");
			err = mkdir(bench.leaf[i], 0755) ? -errno : 0;
			bench.own_leaf[i] = !err;
		}
		if (err)
			die("cannot make the cgroup %s/%s: %s\n", bench.box.cg_dir, leaf_names[i],
			    strerror(-err));
		snprintf(buf, sizeof(buf), "%s/cgroup.procs", bench.leaf[i]);
		bench.procs_fd[i] = open(buf, O_WRONLY | O_CLOEXEC);
		if (bench.procs_fd[i] < 0)
			die("cannot open %s: %s\n", buf, strerror(errno));
	}

	/* A netns of our own: the bench's ports and addresses collide with nothing. */
	err = sb_netns_new();
	if (err)
		die("cannot make a network namespace: %s\n", strerror(-err));
	if (run_cmd(ip4) || run_cmd(ip6))
		die("cannot add %s and %s to lo (ip addr add)\n", SPEC_V4, SPEC_V6);

	/* The bench on the highest CPU, the agents (and bpftrace) on the lowest other one. */
	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		die("sched_getaffinity: %s\n", strerror(errno));
	bench.bench_cpu = bench.agent_cpu = -1;
	for (i = 0; i < CPU_SETSIZE; i++) {
		if (!CPU_ISSET(i, &set))
			continue;
		if (bench.agent_cpu < 0)
			bench.agent_cpu = i;
		bench.bench_cpu = i;
	}
	pin_cpu(bench.bench_cpu);
}

/* --- Children: the agent and bpftrace, through a drainer ----------------------------------- */

static void ctl_send(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void ctl_send(int fd, const char *fmt, ...)
{
	char buf[1200];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof(buf)) {
		n = sizeof(buf) - 1;
		buf[n - 1] = '\n';
	}
	if (write(fd, buf, n) < 0)
		_exit(3);
}

/* Make tracefs visible to bpftrace in a private mount namespace: nothing changes outside. */
static void drainer_tracefs(void)
{
	if (access("/sys/kernel/tracing/events", F_OK) == 0 ||
	    access("/sys/kernel/debug/tracing/events", F_OK) == 0)
		return;
	if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
	    mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL) != 0)
		fprintf(stderr, "bindbench: cannot mount tracefs privately: %s\n", strerror(errno));
}

static void drainer_line(int ctl, char *line, const char *ready, const char *count,
			 const char *keep, int *seen_ready, long *lines, char *kept)
{
	if (ready && !*seen_ready && strstr(line, ready)) {
		*seen_ready = 1;
		ctl_send(ctl, "R %llu\n", (unsigned long long)now_ns());
		ctl_send(ctl, "L %s\n", line);
	}
	if (count && strstr(line, count))
		(*lines)++;
	if (keep && strstr(line, keep))
		snprintf(kept, 1024, "%s", line);
}

/*
 * The drainer stands for whatever reads the agent's output on the agent's core (a log shipper),
 * so it must cost little itself: lines are found with memchr, copied only when one of the
 * needles is in them, and each needle is searched once per line.
 */
static void __attribute__((noreturn))
drainer_main(int ctl, const char *const *argv, const char *ready, const char *count,
	     const char *keep, const char *lat, const char *err_path, int tracefs)
{
	char buf[65536], line[2048], kept[1024] = "";
	size_t ll = 0;
	int out[2], st, seen_ready = 0, fd;
	long lines = 0, lat_lines = 0, lat_before;
	ssize_t n, i;
	__u64 t_chunk;
	char *nl;
	pid_t t;

	cpu_set_t set;

	/* A copy of the bench's state: the sandbox is torn down only by the bench itself. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGINT, SIG_IGN); /* the bench stops us, through the target */
	signal(SIGTERM, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	CPU_ZERO(&set);
	CPU_SET(bench.agent_cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
	if (tracefs)
		drainer_tracefs();
	if (pipe2(out, O_CLOEXEC) != 0)
		_exit(2);
	ctl_send(ctl, "T %llu\n", (unsigned long long)now_ns());
	t = fork();
	if (t < 0)
		_exit(2);
	if (t == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		signal(SIGINT, SIG_DFL);
		dup2(out[1], 1);
		fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd >= 0)
			dup2(fd, 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(out[1]);
	ctl_send(ctl, "P %d\n", (int)t);
	for (;;) {
		n = read(out[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		t_chunk = lat ? now_ns() : 0;
		lat_before = lat_lines;
		for (i = 0; i < n; i += nl ? nl - (buf + i) + 1 : n - i) {
			size_t len;

			nl = memchr(buf + i, '\n', n - i);
			len = nl ? (size_t)(nl - (buf + i)) : (size_t)(n - i);
			if (ll + len > sizeof(line) - 1)
				len = sizeof(line) - 1 -
				      ll; /* a longer line is cut; it still counts */
			memcpy(line + ll, buf + i, len);
			ll += len;
			if (!nl)
				continue;
			line[ll] = '\0';
			if (lat && strstr(line, lat))
				lat_lines++;
			drainer_line(ctl, line, ready, count, keep, &seen_ready, &lines, kept);
			ll = 0;
		}
		/* One report per chunk: the lines of one read() arrived together. */
		if (lat_lines != lat_before)
			ctl_send(ctl, "D %ld %llu\n", lat_lines, (unsigned long long)t_chunk);
	}
	if (ll) {
		line[ll] = '\0';
		drainer_line(ctl, line, ready, count, keep, &seen_ready, &lines, kept);
	}
	while (waitpid(t, &st, 0) < 0 && errno == EINTR)
		;
	ctl_send(ctl, "S %s\n", kept);
	ctl_send(ctl, "E %ld %d\n", lines, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	_exit(0);
}

static void child_register(struct child *c)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bench.children); i++)
		if (!bench.children[i]) {
			bench.children[i] = c;
			return;
		}
	die("too many children\n");
}

static void child_unregister(struct child *c)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bench.children); i++)
		if (bench.children[i] == c)
			bench.children[i] = NULL;
}

/*
 * Start argv through a drainer pinned to the agent CPU. Children are forked from our original
 * cgroup, never from a leaf: an agent's own sockets must not be judged by a bench config.
 */
static void child_spawn(struct child *c, const char *const *argv, const char *ready,
			const char *count, const char *keep, const char *lat, int tracefs,
			const char *err_name)
{
	int ctl[2];

	memset(c, 0, sizeof(*c));
	c->ctl = -1;
	c->status = -1;
	snprintf(c->name, sizeof(c->name), "%s", argv[0][0] ? basename(argv[0]) : "child");
	snprintf(c->err_path, sizeof(c->err_path), "%s", tmp_path(err_name));
	if (pipe2(ctl, O_CLOEXEC) != 0)
		die("pipe: %s\n", strerror(errno));
	cg_enter(-1);
	fflush(NULL);
	c->drainer = fork();
	if (c->drainer < 0)
		die("fork: %s\n", strerror(errno));
	if (c->drainer == 0) {
		close(ctl[0]);
		drainer_main(ctl[1], argv, ready, count, keep, lat, c->err_path, tracefs);
	}
	close(ctl[1]);
	c->ctl = ctl[0];
	child_register(c);
}

/* Handle the drainer's reports; wait at most timeout_ms for one (-1: forever). 0, or -1 at EOF. */
static int child_read(struct child *c, int timeout_ms)
{
	struct pollfd pfd = { .fd = c->ctl, .events = POLLIN };
	char *nl, *line;
	ssize_t n;
	int r;

	if (c->ctl < 0)
		return -1;
	r = poll(&pfd, 1, timeout_ms);
	if (r < 0 && errno == EINTR)
		return 0;
	if (r <= 0)
		return 0;
	n = read(c->ctl, c->ctl_buf + c->ctl_len, sizeof(c->ctl_buf) - 1 - c->ctl_len);
	if (n <= 0) {
		close(c->ctl);
		c->ctl = -1;
		return -1;
	}
	c->ctl_len += n;
	c->ctl_buf[c->ctl_len] = '\0';
	while ((nl = strchr(c->ctl_buf, '\n'))) {
		*nl = '\0';
		line = c->ctl_buf;
		switch (line[0]) {
		case 'T':
			c->t_fork = strtoull(line + 2, NULL, 10);
			break;
		case 'P':
			c->target = atoi(line + 2);
			break;
		case 'R':
			c->t_ready = strtoull(line + 2, NULL, 10);
			break;
		case 'L':
			snprintf(c->ready_line, sizeof(c->ready_line), "%s", line + 2);
			break;
		case 'S':
			snprintf(c->kept, sizeof(c->kept), "%s", line + 2);
			break;
		case 'E':
			sscanf(line + 2, "%ld %d", &c->lines, &c->status);
			c->done = 1;
			break;
		case 'D': {
			unsigned long long t = 0;
			long cum = 0;

			if (sscanf(line + 2, "%ld %llu", &cum, &t) != 2)
				break;
			if (c->d_len == c->d_cap) {
				size_t cap = c->d_cap ? c->d_cap * 2 : 1024;
				__u64 *nt = realloc(c->d_t, cap * sizeof(*nt));
				long *nn;

				if (!nt)
					die("out of memory\n");
				c->d_t = nt;
				nn = realloc(c->d_n, cap * sizeof(*nn));
				if (!nn)
					die("out of memory\n");
				c->d_n = nn;
				c->d_cap = cap;
			}
			c->d_t[c->d_len] = t;
			c->d_n[c->d_len++] = cum;
			c->d_total = cum;
			break;
		}
		}
		memmove(c->ctl_buf, nl + 1, c->ctl_len - (nl + 1 - c->ctl_buf) + 1);
		c->ctl_len -= nl + 1 - c->ctl_buf;
	}
	if (c->ctl_len >= sizeof(c->ctl_buf) - 1)
		c->ctl_len = 0; /* a report longer than the buffer: drop it */
	return 0;
}

static void child_reap(struct child *c)
{
	if (c->drainer > 0) {
		while (waitpid(c->drainer, NULL, 0) < 0 && errno == EINTR)
			;
		c->drainer = 0;
	}
	if (c->ctl >= 0) {
		close(c->ctl);
		c->ctl = -1;
	}
	child_unregister(c);
}

static void child_kill(struct child *c)
{
	if (c->target > 0 && !c->done)
		kill(c->target, SIGKILL);
	if (c->drainer > 0)
		kill(c->drainer, SIGKILL);
	child_reap(c);
}

static void print_err_file(const char *path)
{
	char buf[2048];

	if (read_file(path, buf, sizeof(buf)) == 0 && buf[0])
		fprintf(stderr, "%s", buf);
}

/* Wait for the ready line. Returns 0, or dies with the child's stderr. */
static void child_wait_ready(struct child *c, const char *what)
{
	__u64 t0 = now_ns();

	while (!c->t_ready) {
		if (child_read(c, 100) < 0 || c->done) {
			print_err_file(c->err_path);
			die("%s exited before it was ready (status %d)\n", what, c->status);
		}
		if (now_ns() - t0 > 60ULL * 1000000000ULL) {
			print_err_file(c->err_path);
			die("%s not ready after 60 s\n", what);
		}
	}
}

/*
 * Signal the target and wait for the drainer's final report, SIGKILLing the target if it has
 * not exited after timeout_s. Returns the exit status.
 */
static int child_stop_within(struct child *c, int sig, int timeout_s)
{
	__u64 t0 = now_ns();

	if (c->target > 0 && !c->done)
		kill(c->target, sig);
	while (!c->done) {
		if (child_read(c, 200) < 0)
			break;
		if (now_ns() - t0 > (__u64)timeout_s * 1000000000ULL) {
			msg("%s (pid %d) did not stop within %d s, killing it\n", c->name,
			    (int)c->target, timeout_s);
			kill(c->target, SIGKILL);
			t0 = now_ns();
		}
	}
	child_reap(c);
	return c->status;
}

static int child_stop(struct child *c, int sig)
{
	return child_stop_within(c, sig, 20);
}

static __u64 json_u64(const char *line, const char *key)
{
	char k[64];
	const char *p;

	snprintf(k, sizeof(k), "\"%s\":", key);
	p = strstr(line, k);
	if (!p)
		return (__u64)-1;
	return strtoull(p + strlen(k), NULL, 10);
}

#define AG_AUDIT (1 << 0) /* --mode audit */
#define AG_EVERY (1 << 1) /* --rate-limit 0: every event written (when the build has the option) */
#define AG_REF (1 << 2) /* the reference build (--ref) */

/* Does this build have --rate-limit (per-source flood control)? Older builds write every event. */
static int has_rate_limit(const char *bin)
{
	static const char *cached_bin;
	static int cached = -1;
	const char *argv[] = { bin, "run", "--help", NULL };
	char out[16384];

	if (cached >= 0 && cached_bin == bin)
		return cached;
	out[0] = '\0';
	sb_exec(argv, out, sizeof(out));
	cached_bin = bin;
	cached = strstr(out, "--rate-limit") != NULL;
	return cached;
}

/*
 * Start `bindguard run` on a leaf; stdout is the pipe to the drainer, which counts bind events
 * (and, with lat, reports when the lines that hold lat arrive).
 */
static void agent_start_lat(struct child *c, int leaf, const char *policy, int flags,
			    const char *name, const char *lat)
{
	const char *args[8], *argv[20], *bin = flags & AG_REF ? opt.ref : opt.bindguard;
	const char *saved = bench.box.bin;
	char err[64];
	int n = 0, r;

	if (policy) {
		args[n++] = "--policy";
		args[n++] = policy;
	}
	if (flags & AG_AUDIT) {
		args[n++] = "--mode";
		args[n++] = "audit";
	}
	if ((flags & AG_EVERY) && has_rate_limit(bin)) {
		args[n++] = "--rate-limit";
		args[n++] = "0";
	}
	args[n] = NULL;
	bench.box.bin = bin;
	r = sb_agent_argv(&bench.box, bench.leaf[leaf], NULL, args, argv, ARRAY_SIZE(argv));
	bench.box.bin = saved;
	if (r < 0)
		die("agent command line too long\n");
	snprintf(err, sizeof(err), "agent-%s.err", name);
	child_spawn(c, argv, "\"state\":\"ready\"", "\"event\":\"bind\"", "\"state\":\"stopping\"",
		    lat, 0, err);
	child_wait_ready(c, name);
}

static void agent_start(struct child *c, int leaf, const char *policy, int flags, const char *name)
{
	agent_start_lat(c, leaf, policy, flags, name, NULL);
}

/* --- Policies -------------------------------------------------------------------------------- */

/*
 * The small policy: the built-in iRedMail policy (--policy source) and the bench's three rules,
 * each for a pool of PORT_POOL ports and both protocols: public, loopback, and a CIDR list, so
 * that the LPM path can be compared with the big policy's.
 */
static const char *write_small_policy(void)
{
	const char *path = tmp_path("small.yaml");
	char line[4096];
	FILE *in, *out;

	in = fopen(opt.policy, "re");
	if (!in)
		die("cannot open %s: %s\n", opt.policy, strerror(errno));
	out = fopen(path, "we");
	if (!out)
		die("cannot write %s: %s\n", path, strerror(errno));
	while (fgets(line, sizeof(line), in))
		fputs(line, out);
	fprintf(out,
		"\n  - ports: \"%d-%d\"\n    proto: both\n    expose: public\n"
		"    service: bench-public\n",
		PORT_PUBLIC, PORT_PUBLIC + PORT_POOL - 1);
	fprintf(out,
		"  - ports: \"%d-%d\"\n    proto: both\n    expose: loopback\n"
		"    service: bench-loopback\n",
		PORT_DENIED, PORT_DENIED + PORT_POOL - 1);
	fprintf(out,
		"  - ports: \"%d-%d\"\n    proto: both\n    expose: [\"%s/32\", \"%s/128\"]\n"
		"    service: bench-cidr\n",
		PORT_CIDR, PORT_CIDR + PORT_POOL - 1, SPEC_V4, SPEC_V6);
	fclose(in);
	if (fclose(out) != 0)
		die("cannot write %s\n", path);
	return path;
}

static void big_range(FILE *out, unsigned int lo, unsigned int hi)
{
	unsigned int a;

	for (a = lo; a <= hi; a += BIG_CHUNK) {
		unsigned int b = a + BIG_CHUNK - 1 > hi ? hi : a + BIG_CHUNK - 1;

		if (a == b)
			fprintf(out, "  - port: %u\n    proto: both\n    expose: loopback\n", a);
		else
			fprintf(out,
				"  - ports: \"%u-%u\"\n    proto: both\n    expose: loopback\n", a,
				b);
	}
}

/*
 * The big policy: a rule for every port 1..65535 (ranges of BIG_CHUNK, both protocols), and a
 * CIDR rule with BIG_CIDRS IPv4 /32s, one of them the address the bench binds to, plus the one
 * IPv6 /128 the IPv6 binds use (an IPv6 lookup therefore leaves the IPv4 part of the trie early).
 */
static const char *write_big_policy(int *n_rules, int *n_cidrs)
{
	const char *path = tmp_path("big.yaml");
	unsigned int special[] = { PORT_PUBLIC, PORT_DENIED, PORT_CIDR }, lo = 1;
	FILE *out;
	size_t i;
	int k;

	out = fopen(path, "we");
	if (!out)
		die("cannot write %s: %s\n", path, strerror(errno));
	fprintf(out, "version: 1\nname: bench-big\nmode: enforce\ndefault_action: deny\n"
		     "unlisted: public\nrules:\n");
	fprintf(out,
		"  - ports: \"%d-%d\"\n    proto: both\n    expose: public\n"
		"    service: bench-public\n",
		PORT_PUBLIC, PORT_PUBLIC + PORT_POOL - 1);
	fprintf(out,
		"  - ports: \"%d-%d\"\n    proto: both\n    expose: loopback\n"
		"    service: bench-loopback\n",
		PORT_DENIED, PORT_DENIED + PORT_POOL - 1);
	fprintf(out,
		"  - ports: \"%d-%d\"\n    proto: both\n    service: bench-cidr\n    expose:\n",
		PORT_CIDR, PORT_CIDR + PORT_POOL - 1);
	/* 10.1.0.1, 10.1.0.2, ...: index 502 is 10.1.2.3. */
	for (k = 0; k < BIG_CIDRS; k++)
		fprintf(out, "      - 10.1.%d.%d/32\n", k / 250, k % 250 + 1);
	fprintf(out, "      - \"%s/128\"\n", SPEC_V6);
	for (i = 0; i < ARRAY_SIZE(special); i++) {
		if (special[i] > lo)
			big_range(out, lo, special[i] - 1);
		lo = special[i] + PORT_POOL;
	}
	big_range(out, lo, 65535);
	if (fclose(out) != 0)
		die("cannot write %s\n", path);

	/* Count what was written, from the file itself. */
	*n_rules = 0;
	*n_cidrs = 0;
	out = fopen(path, "re");
	if (out) {
		char line[256];

		while (fgets(line, sizeof(line), out)) {
			if (strncmp(line, "  - ", 4) == 0)
				(*n_rules)++;
			else if (strncmp(line, "      - ", 8) == 0)
				(*n_cidrs)++;
		}
		fclose(out);
	}
	return path;
}

/* --- The measured loop ---------------------------------------------------------------------- */

enum variant { V_TCP4, V_UDP4, V_TCP6, V_UDP6, NR_VARIANTS };
static const char *const variant_names[NR_VARIANTS] = { "tcp4", "udp4", "tcp6", "udp6" };

enum addr_kind { A_WILD_PUBLIC, A_WILD_DENIED, A_SPEC_CIDR };

struct target {
	int family, type;
	struct sockaddr_storage ss;
	socklen_t len;
	int port; /* the pool's first port */
};

/* Point t at the i-th bind's port of its pool. */
static void target_port(struct target *t, long i)
{
	__u16 p = htons((__u16)(t->port + i % PORT_POOL));

	if (t->family == AF_INET)
		((struct sockaddr_in *)&t->ss)->sin_port = p;
	else
		((struct sockaddr_in6 *)&t->ss)->sin6_port = p;
}

static void target_make(struct target *t, int variant, int kind)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)&t->ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&t->ss;
	int port = kind == A_WILD_PUBLIC ? PORT_PUBLIC :
		   kind == A_WILD_DENIED ? PORT_DENIED :
					   PORT_CIDR;

	memset(t, 0, sizeof(*t));
	t->type = variant == V_TCP4 || variant == V_TCP6 ? SOCK_STREAM : SOCK_DGRAM;
	if (variant == V_TCP4 || variant == V_UDP4) {
		t->family = AF_INET;
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		if (kind == A_SPEC_CIDR)
			inet_pton(AF_INET, SPEC_V4, &a4->sin_addr);
		t->len = sizeof(*a4);
	} else {
		t->family = AF_INET6;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		if (kind == A_SPEC_CIDR)
			inet_pton(AF_INET6, SPEC_V6, &a6->sin6_addr);
		t->len = sizeof(*a6);
	}
	t->port = port;
}

/*
 * Binds that failed with EADDRINUSE where success was expected. The bind hooks ran (they run
 * before the port is checked), so the iteration still measured them; what held the port was
 * the previous iteration's socket, kept alive for a moment by another process that held a
 * reference to its file (anything that walks /proc/PID/fd of every process does: bindguard's
 * own status and reconcile, lsof, ss -p). Counted and reported, tolerated up to 1%.
 */
static long bind_interfered;

/*
 * n iterations of socket()+bind()+close(). Every bind must end as expected (0, or the errno
 * expect_err): a configuration that does not do what it claims is a failed bench, not a number.
 * Returns ns per iteration.
 */
static double bind_loop(struct target *t, long n, int expect_err, const char *what)
{
	__u64 t0, t1;
	long i, bad = 0, busy = 0;
	int fd, r, first_err = 0;

	t0 = now_ns();
	for (i = 0; i < n; i++) {
		target_port(t, i);
		fd = socket(t->family, t->type | SOCK_CLOEXEC, 0);
		if (fd < 0)
			die("%s: socket: %s\n", what, strerror(errno));
		r = bind(fd, (const struct sockaddr *)&t->ss, t->len);
		if (r != 0 && errno == EADDRINUSE && !expect_err) {
			busy++;
		} else if (r != 0 ? errno != expect_err : expect_err != 0) {
			if (!bad)
				first_err = r ? errno : 0;
			bad++;
		}
		close(fd);
	}
	t1 = now_ns();
	bind_interfered += busy;
	if (busy > n / 100)
		die("%s: %ld of %ld binds found the port still in use: something else holds the "
		    "bench's sockets\n",
		    what, busy, n);
	if (bad)
		die("%s: %ld of %ld binds did not end as expected (%s; first: %s)\n", what, bad, n,
		    expect_err ? strerror(expect_err) : "success",
		    first_err ? strerror(first_err) : "success");
	return (double)(t1 - t0) / n;
}

/* --- Configurations -------------------------------------------------------------------------- */

enum config {
	C_NONE,
	C_TRIVIAL,
	C_TRIVIAL_POST,
	C_TRIVIAL_EVENT,
	C_ALLOWED,
	C_DENIED,
	C_AUDIT,
	C_BIG_PORT,
	C_NONE_CIDR,
	C_SMALL_CIDR,
	C_BIG_CIDR,
	C_LIMITED,
	C_REF_ALLOWED,
	C_REF_DENIED,
	C_REF_AUDIT,
	C_REF_SMALL_CIDR,
	C_REF_BIG_CIDR,
	C_BPFTRACE,
	NR_CONFIGS
};

static const struct {
	const char *name;
	int leaf, kind, expect_err;
} configs[NR_CONFIGS] = {
	[C_NONE] = { "none", LEAF_NONE, A_WILD_PUBLIC, 0 },
	[C_TRIVIAL] = { "trivial", LEAF_TRIVIAL, A_WILD_PUBLIC, 0 },
	[C_TRIVIAL_POST] = { "trivial-post", LEAF_TRIVIAL_POST, A_WILD_PUBLIC, 0 },
	[C_TRIVIAL_EVENT] = { "trivial-event", LEAF_TRIVIAL_EVENT, A_WILD_DENIED, 0 },
	[C_ALLOWED] = { "allowed", LEAF_ENFORCE, A_WILD_PUBLIC, 0 },
	[C_DENIED] = { "denied", LEAF_ENFORCE, A_WILD_DENIED, EPERM },
	[C_AUDIT] = { "audit", LEAF_AUDIT, A_WILD_DENIED, 0 },
	[C_BIG_PORT] = { "big-port", LEAF_BIG, A_WILD_PUBLIC, 0 },
	[C_NONE_CIDR] = { "none-cidr", LEAF_NONE, A_SPEC_CIDR, 0 },
	[C_SMALL_CIDR] = { "small-cidr", LEAF_ENFORCE, A_SPEC_CIDR, 0 },
	[C_BIG_CIDR] = { "big-cidr", LEAF_BIG, A_SPEC_CIDR, 0 },
	[C_LIMITED] = { "denied-limited", LEAF_LIMITED, A_WILD_DENIED, EPERM },
	[C_REF_ALLOWED] = { "ref-allowed", LEAF_REF_ENFORCE, A_WILD_PUBLIC, 0 },
	[C_REF_DENIED] = { "ref-denied", LEAF_REF_ENFORCE, A_WILD_DENIED, EPERM },
	[C_REF_AUDIT] = { "ref-audit", LEAF_REF_AUDIT, A_WILD_DENIED, 0 },
	[C_REF_SMALL_CIDR] = { "ref-small-cidr", LEAF_REF_ENFORCE, A_SPEC_CIDR, 0 },
	[C_REF_BIG_CIDR] = { "ref-big-cidr", LEAF_REF_BIG, A_SPEC_CIDR, 0 },
	[C_BPFTRACE] = { "bpftrace", LEAF_NONE, A_WILD_PUBLIC, 0 },
};

/* The reference build's configurations run only with --ref; bpftrace only if it is there. */
static int cfg_on(int c)
{
	if (c >= C_REF_ALLOWED && c <= C_REF_BIG_CIDR)
		return opt.ref[0] != '\0';
	return 1;
}

/* Ratios reported: numerator / denominator, paired per round and variant. */
static const int ratios[][2] = {
	{ C_TRIVIAL, C_NONE },
	{ C_ALLOWED, C_NONE },
	{ C_ALLOWED, C_TRIVIAL },
	{ C_TRIVIAL_POST, C_TRIVIAL },
	{ C_ALLOWED, C_TRIVIAL_POST },
	{ C_TRIVIAL_EVENT, C_NONE },
	{ C_AUDIT, C_TRIVIAL_EVENT },
	{ C_DENIED, C_NONE },
	{ C_DENIED, C_TRIVIAL },
	{ C_AUDIT, C_NONE },
	{ C_AUDIT, C_TRIVIAL },
	{ C_BIG_PORT, C_ALLOWED },
	{ C_BIG_PORT, C_NONE },
	{ C_SMALL_CIDR, C_NONE_CIDR },
	{ C_BIG_CIDR, C_NONE_CIDR },
	{ C_BIG_CIDR, C_SMALL_CIDR },
	{ C_LIMITED, C_NONE },
	{ C_REF_ALLOWED, C_NONE },
	{ C_REF_ALLOWED, C_TRIVIAL },
	{ C_REF_DENIED, C_NONE },
	{ C_REF_AUDIT, C_NONE },
	{ C_REF_SMALL_CIDR, C_NONE_CIDR },
	{ C_REF_BIG_CIDR, C_REF_SMALL_CIDR },
	/* This build against the reference, directly. */
	{ C_ALLOWED, C_REF_ALLOWED },
	{ C_DENIED, C_REF_DENIED },
	{ C_AUDIT, C_REF_AUDIT },
	{ C_BIG_CIDR, C_REF_BIG_CIDR },
	{ C_BPFTRACE, C_NONE },
};

/* ns per iteration of every chunk: [config][variant][round][chunk] */
static double *lat;
static int nch; /* chunks per round: iters / chunk, rounded up */
#define LAT(c, v, r, j) lat[(((c)*NR_VARIANTS + (v)) * opt.rounds + (r)) * nch + (j)]

/* One chunk of configuration c, variant v: move there, warm up, time n binds. Returns ns. */
/*
 * The agents are paused (SIGSTOP) while binds are timed, and let drain in between. The two
 * vCPUs of this machine slow each other down (measured in phase_sibling()): an agent encoding
 * a backlog on its core would slow whatever loop runs on the bench's core at that moment, most
 * often another configuration's. Paused, an agent's events wait in its ring, which therefore
 * never holds more than AGENT_BACKLOG of them before it drains: far from full, and under the
 * quarter of it past which a build may force a wakeup per event. What the agent spends per
 * event is measured on its own (phase_pipeline()).
 */
#define AGENT_BACKLOG 6000

static struct child *agent_of[NR_LEAVES]; /* the running agent on each leaf, or NULL */
static long backlog[NR_LEAVES]; /* events each may have queued since it last drained */
static int agents_paused;

static void agents_signal(int sig)
{
	int l;

	for (l = 0; l < NR_LEAVES; l++)
		if (agent_of[l] && agent_of[l]->target > 0 && !agent_of[l]->done)
			kill(agent_of[l]->target, sig);
}

static void agents_pause(void)
{
	agents_signal(SIGSTOP);
	agents_paused = 1;
}

/* Let every agent run long enough to drain (its tick is 100 ms), then pause them again. */
static void agents_drain(void)
{
	agents_signal(SIGCONT);
	usleep(120000);
	agents_signal(SIGSTOP);
	memset(backlog, 0, sizeof(backlog));
}

static void agents_resume(void)
{
	agents_signal(SIGCONT);
	agents_paused = 0;
	usleep(200000);
}

/*
 * Before n binds of configuration c: drain first if they could push its agent's queue past the
 * limit. Only denied and audited binds write events (denied-limited's flood control keeps all but
 * a few hundred a second).
 */
static void agents_room(int c, long n)
{
	int leaf = configs[c].leaf;

	if (c != C_DENIED && c != C_AUDIT && c != C_REF_DENIED && c != C_REF_AUDIT)
		return;
	if (!agents_paused || !agent_of[leaf])
		return;
	if (backlog[leaf] + n > AGENT_BACKLOG)
		agents_drain();
	backlog[leaf] += n;
}

static double chunk(int c, int v, long n)
{
	struct target t;
	char what[64];
	double ns;

	snprintf(what, sizeof(what), "%s/%s", configs[c].name, variant_names[v]);
	target_make(&t, v, configs[c].kind);
	agents_room(c, opt.warmup + n);
	cg_enter(configs[c].leaf);
	bind_loop(&t, opt.warmup, configs[c].expect_err, what);
	ns = bind_loop(&t, n, configs[c].expect_err, what) * n;
	trivial_rb_drain(c);
	return ns;
}

static struct child *bpftrace_start(struct child *c)
{
	static const char prog[] = "tracepoint:syscalls:sys_enter_bind { printf(\"%d %s\\n\", "
				   "pid, comm); }";
	const char *argv[] = { opt.bpftrace, "-e", prog, NULL };

	/* The trace lines with our comm tell how many of our binds bpftrace reported. */
	child_spawn(c, argv, "Attaching", " bindbench", NULL, NULL, 1, "bpftrace.err");
	child_wait_ready(c, "bpftrace");
	return c;
}

static int have_bpftrace(void)
{
	const char *argv[] = { opt.bpftrace, "--version", NULL };
	pid_t p;
	int st, fd;

	if (!opt.bpftrace[0])
		return 0;
	p = fork();
	if (p < 0)
		return 0;
	if (p == 0) {
		fd = open("/dev/null", O_WRONLY);
		dup2(fd, 1);
		dup2(fd, 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	return waitpid(p, &st, 0) == p && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

/* --- BPF run-time stats ---------------------------------------------------------------------- */

static const enum bpf_attach_type stat_types[] = {
	BPF_CGROUP_INET4_BIND,
	BPF_CGROUP_INET6_BIND,
	BPF_CGROUP_INET4_POST_BIND,
	BPF_CGROUP_INET6_POST_BIND,
};

struct prog_stat {
	__u64 bind_ns, bind_cnt, post_ns, post_cnt;
};

/* Sum run_time_ns/run_cnt of the programs attached to a leaf, bind hooks and post_bind apart. */
static void leaf_stats(int leaf, struct prog_stat *s)
{
	struct bpf_prog_info info;
	__u32 ids[16], cnt, len, i;
	size_t t;
	int cg, fd;

	memset(s, 0, sizeof(*s));
	cg = open(bench.leaf[leaf], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg < 0)
		die("open %s: %s\n", bench.leaf[leaf], strerror(errno));
	for (t = 0; t < ARRAY_SIZE(stat_types); t++) {
		cnt = ARRAY_SIZE(ids);
		if (bpf_prog_query(cg, stat_types[t], 0, NULL, ids, &cnt) != 0)
			die("bpf_prog_query %s: %s\n", bench.leaf[leaf], strerror(errno));
		for (i = 0; i < cnt; i++) {
			fd = bpf_prog_get_fd_by_id(ids[i]);
			if (fd < 0)
				continue;
			memset(&info, 0, sizeof(info));
			len = sizeof(info);
			if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) {
				if (t < 2) {
					s->bind_ns += info.run_time_ns;
					s->bind_cnt += info.run_cnt;
				} else {
					s->post_ns += info.run_time_ns;
					s->post_cnt += info.run_cnt;
				}
			}
			close(fd);
		}
	}
	close(cg);
}

/* --- Results ----------------------------------------------------------------------------------- */

static FILE *res;

static void put(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void put(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(res, fmt, ap);
	va_end(ap);
	fflush(res);
}

/*
 * Distribution-free 95% confidence interval of the median of v[0..n) (sorted by quantile()):
 * the order statistics n/2 -+ 1.96 sqrt(n)/2.
 */
static void median_ci(const double *v, int n, double *lo, double *hi)
{
	int k = (int)floor((n - 1.96 * sqrt(n)) / 2);

	if (k < 0)
		k = 0;
	*lo = v[k];
	*hi = v[n - 1 - k];
}

static void put_ratio(const char *a, const char *b, const char *var, double *v, int n)
{
	double med = quantile(v, n, 0.5), lo, hi;

	median_ci(v, n, &lo, &hi);
	put("ratio\t%s/%s\t%s\t%.4f\t%.4f\t%.4f\t%d\t%.4f\t%.4f\n", a, b, var, med,
	    quantile(v, n, 0.25), quantile(v, n, 0.75), n, lo, hi);
}

/*
 * ns per bind: the median (and quartiles) over every chunk of every round. Ratios: the median of
 * the ratios of paired chunks (same round, same chunk index, same variant: measured within a few
 * milliseconds of each other), per variant and pooled over the four ("all").
 */
static void report_latency(void)
{
	int per = opt.rounds * nch, c, var, r, j, n, m;
	double med, lo, hi;
	double *v = calloc((size_t)per * NR_VARIANTS, sizeof(double));
	double *w = calloc(per, sizeof(double));
	double *u = calloc((size_t)per * 2, sizeof(double));
	size_t k;

	if (!v || !w || !u)
		die("out of memory\n");
	for (c = 0; c < NR_CONFIGS; c++) {
		if (isnan(LAT(c, 0, 0, 0)))
			continue; /* not measured in this run (bpftrace, the reference build) */
		for (var = 0; var < NR_VARIANTS; var++) {
			for (m = 0, r = 0; r < opt.rounds; r++)
				for (j = 0; j < nch; j++)
					w[m++] = LAT(c, var, r, j);
			med = quantile(w, m, 0.5); /* sorts w, for median_ci() */
			median_ci(w, m, &lo, &hi);
			put("lat\t%s\t%s\t%.1f\t%.1f\t%.1f\t%d\t%.1f\t%.1f\n", configs[c].name,
			    variant_names[var], med, quantile(w, m, 0.25), quantile(w, m, 0.75), m,
			    lo, hi);
		}
	}
	for (k = 0; k < ARRAY_SIZE(ratios); k++) {
		int a = ratios[k][0], b = ratios[k][1];

		if (isnan(LAT(a, 0, 0, 0)) || isnan(LAT(b, 0, 0, 0)))
			continue;
		n = 0;
		for (var = 0; var < NR_VARIANTS; var++) {
			for (m = 0, r = 0; r < opt.rounds; r++)
				for (j = 0; j < nch; j++) {
					w[m] = LAT(a, var, r, j) / LAT(b, var, r, j);
					v[n++] = w[m++];
				}
			put_ratio(configs[a].name, configs[b].name, variant_names[var], w, m);
		}
		/* Per family too: only IPv4 binds reach the big CIDR list's IPv4 part. */
		memcpy(u, v, sizeof(double) * 2 * per);
		put_ratio(configs[a].name, configs[b].name, "inet", u, 2 * per);
		memcpy(u, v + 2 * per, sizeof(double) * 2 * per);
		put_ratio(configs[a].name, configs[b].name, "inet6", u, 2 * per);
		put_ratio(configs[a].name, configs[b].name, "all", v, n);
	}
	free(u);
	free(v);
	free(w);
}

/* --- Phases ------------------------------------------------------------------------------------ */

static int trivial_record(void *ctx, void *data, size_t len)
{
	(void)ctx;
	(void)data;
	(void)len;
	return 0;
}

static void attach_trivial(void)
{
	/*
	 * trivial: bind4/6 alone; trivial-post: the same and post_bind4/6 (the two hooks' floor);
	 * trivial-event: one ring-buffer record per bind4/6, and post_bind4/6 (an event's floor).
	 */
	static const struct {
		int leaf;
		const char *prog;
	} att[] = {
		{ LEAF_TRIVIAL, "bench_bind4" },
		{ LEAF_TRIVIAL, "bench_bind6" },
		{ LEAF_TRIVIAL_POST, "bench_bind4" },
		{ LEAF_TRIVIAL_POST, "bench_bind6" },
		{ LEAF_TRIVIAL_POST, "bench_post_bind4" },
		{ LEAF_TRIVIAL_POST, "bench_post_bind6" },
		{ LEAF_TRIVIAL_EVENT, "bench_event_bind4" },
		{ LEAF_TRIVIAL_EVENT, "bench_event_bind6" },
		{ LEAF_TRIVIAL_EVENT, "bench_post_bind4" },
		{ LEAF_TRIVIAL_EVENT, "bench_post_bind6" },
	};
	struct bpf_program *p;
	size_t i;
	int cg;

	_Static_assert(ARRAY_SIZE(att) == ARRAY_SIZE(bench.trivial_links), "one link per attach");
	bench.trivial = bpf_object__open_file(opt.trivial, NULL);
	if (!bench.trivial)
		die("cannot open %s: %s\n", opt.trivial, strerror(errno));
	if (bpf_object__load(bench.trivial))
		die("cannot load %s: %s\n", opt.trivial, strerror(errno));
	for (i = 0; i < ARRAY_SIZE(att); i++) {
		cg = open(bench.leaf[att[i].leaf], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cg < 0)
			die("open %s: %s\n", bench.leaf[att[i].leaf], strerror(errno));
		p = bpf_object__find_program_by_name(bench.trivial, att[i].prog);
		if (!p)
			die("%s: no program %s\n", opt.trivial, att[i].prog);
		bench.trivial_links[i] = bpf_program__attach_cgroup(p, cg);
		if (!bench.trivial_links[i])
			die("cannot attach %s: %s\n", att[i].prog, strerror(errno));
		close(cg);
	}
	bench.trivial_rb = ring_buffer__new(
		bpf_map__fd(bpf_object__find_map_by_name(bench.trivial, "bench_rb")),
		trivial_record, NULL, NULL);
	if (!bench.trivial_rb)
		die("cannot read the ring of %s: %s\n", opt.trivial, strerror(errno));
}

/* Empty the trivial-event ring (outside the timed loops): its records only need room. */
static void trivial_rb_drain(int c)
{
	if (configs[c].leaf == LEAF_TRIVIAL_EVENT && bench.trivial_rb)
		ring_buffer__consume(bench.trivial_rb);
}

/*
 * One round measures opt.iters binds of every configuration and variant, in chunks of
 * opt.chunk: all configurations take their chunk in turn (in an order that rotates), then the
 * next chunk. The configurations being compared are thus never more than a few milliseconds
 * apart, and a slow phase of the shared machine hits them all alike.
 */
/*
 * Do the two CPUs slow each other down? The no-program loop on the bench's CPU, in chunks, with
 * the agents' CPU idle and with a busy loop on it in turn. On this VM they do (the vCPUs share a
 * core), which is why the agents are paused while binds are timed (see AGENT_BACKLOG).
 */
static void phase_sibling(void)
{
	double idle[64], busy[64];
	struct target t;
	int r, n = 20;
	cpu_set_t set;

	msg("sibling: the no-program loop with the other CPU idle and busy\n");
	target_make(&t, V_UDP4, A_WILD_PUBLIC);
	cg_enter(LEAF_NONE);
	for (r = 0; r < n; r++) {
		idle[r] = bind_loop(&t, opt.chunk, 0, "sibling/idle");
		fflush(NULL);
		bench.spinner = fork();
		if (bench.spinner < 0)
			die("fork: %s\n", strerror(errno));
		if (bench.spinner == 0) {
			volatile unsigned long x = 0;

			prctl(PR_SET_PDEATHSIG, SIGKILL);
			CPU_ZERO(&set);
			CPU_SET(bench.agent_cpu, &set);
			sched_setaffinity(0, sizeof(set), &set);
			for (;;)
				x++;
		}
		usleep(2000);
		busy[r] = bind_loop(&t, opt.chunk, 0, "sibling/busy");
		kill(bench.spinner, SIGKILL);
		waitpid(bench.spinner, NULL, 0);
		bench.spinner = 0;
	}
	cg_enter(-1);
	put("sibling\t%.1f\t%.1f\t%d\n", quantile(idle, n, 0.5), quantile(busy, n, 0.5), n);
}

static void phase_latency(int with_bpftrace)
{
	struct child bt;
	long bt_lines = 0, done, n;
	int r, i, v, c, j;

	for (r = 0; r < opt.rounds; r++) {
		msg("latency round %d/%d\n", r + 1, opt.rounds);
		for (v = 0; v < NR_VARIANTS; v++)
			for (done = 0, j = 0; done < opt.iters; done += n, j++) {
				n = opt.iters - done < opt.chunk ? opt.iters - done : opt.chunk;
				for (i = 0; i < C_BPFTRACE; i++) {
					c = (i + r + j) % C_BPFTRACE;
					if (cfg_on(c))
						LAT(c, v, r, j) = chunk(c, v, n) / n;
				}
			}
		if (!with_bpftrace)
			continue;
		/* bpftrace traces every bind on the host: it runs only around its own cells. */
		bpftrace_start(&bt);
		for (v = 0; v < NR_VARIANTS; v++)
			for (done = 0, j = 0; done < opt.iters; done += n, j++) {
				n = opt.iters - done < opt.chunk ? opt.iters - done : opt.chunk;
				LAT(C_BPFTRACE, v, r, j) = chunk(C_BPFTRACE, v, n) / n;
			}
		/* It ends on SIGINT, but not always promptly: it is only a peer, do not wait long. */
		child_stop_within(&bt, SIGINT, 3);
		bt_lines += bt.lines;
	}
	cg_enter(-1);
	if (with_bpftrace)
		put("bpftrace_lines\t%ld\t%ld\n", bt_lines,
		    (long)opt.rounds * NR_VARIANTS * (opt.iters + (long)opt.warmup * nch));
}

static void phase_kernel(void)
{
	static const int cfgs[] = { C_TRIVIAL,	 C_TRIVIAL_POST,   C_TRIVIAL_EVENT, C_ALLOWED,
				    C_DENIED,	 C_AUDIT,	   C_BIG_PORT,	    C_SMALL_CIDR,
				    C_BIG_CIDR,	 C_LIMITED,	   C_REF_ALLOWED,   C_REF_DENIED,
				    C_REF_AUDIT, C_REF_SMALL_CIDR, C_REF_BIG_CIDR };
	int nr = opt.stat_rounds, per = NR_VARIANTS * opt.stat_rounds;
	double *bind_run, *post_run, *total, *runs, *w;
	struct prog_stat before, after;
	struct target t;
	char what[64], cur[32];
	size_t k;
	int r, v, err, j, idx;
	long done, n;

	bind_run = calloc(ARRAY_SIZE(cfgs) * per, sizeof(double));
	post_run = calloc(ARRAY_SIZE(cfgs) * per, sizeof(double));
	total = calloc(ARRAY_SIZE(cfgs) * per, sizeof(double));
	runs = calloc(ARRAY_SIZE(cfgs) * per, sizeof(double));
	w = calloc(per, sizeof(double));
	if (!bind_run || !post_run || !total || !runs || !w)
		die("out of memory\n");

	if (read_file(stats_sysctl, cur, sizeof(cur)))
		die("cannot read %s\n", stats_sysctl);
	cur[strcspn(cur, "\n")] = '\0';
	snprintf(bench.stats_old, sizeof(bench.stats_old), "%s", cur);
	err = write_file(stats_sysctl, "1");
	if (err) {
		bench.stats_old[0] = '\0';
		die("cannot enable %s: %s\n", stats_sysctl, strerror(-err));
	}
	for (r = 0; r < nr; r++) {
		msg("kernel stats round %d/%d\n", r + 1, nr);
		for (v = 0; v < NR_VARIANTS; v++)
			for (k = 0; k < ARRAY_SIZE(cfgs); k++) {
				int c = cfgs[k];
				__u64 bn, bc, pn, pc;

				if (!cfg_on(c))
					continue;
				snprintf(what, sizeof(what), "%s/%s", configs[c].name,
					 variant_names[v]);
				target_make(&t, v, configs[c].kind);
				bn = bc = pn = pc = 0;
				/* In pieces, so that a paused agent's queue stays short (agents_room()). */
				for (done = 0; done < opt.iters; done += n) {
					n = opt.iters - done < AGENT_BACKLOG - opt.warmup ?
						    opt.iters - done :
						    AGENT_BACKLOG - opt.warmup;
					agents_room(c, opt.warmup + n);
					cg_enter(configs[c].leaf);
					bind_loop(&t, opt.warmup, configs[c].expect_err, what);
					leaf_stats(configs[c].leaf, &before);
					bind_loop(&t, n, configs[c].expect_err, what);
					leaf_stats(configs[c].leaf, &after);
					trivial_rb_drain(c);
					bn += after.bind_ns - before.bind_ns;
					bc += after.bind_cnt - before.bind_cnt;
					pn += after.post_ns - before.post_ns;
					pc += after.post_cnt - before.post_cnt;
				}
				idx = k * per + v * nr + r;
				bind_run[idx] = bc ? (double)bn / bc : 0;
				post_run[idx] = pc ? (double)pn / pc : 0;
				total[idx] = (double)(bn + pn) / opt.iters;
				runs[idx] = (double)(bc + pc) / opt.iters;
			}
	}
	cg_enter(-1);
	stats_restore();
	put("meta\tstats_restored\t%s\n", cur);

	/* Medians over the rounds (per variant) and over everything (all): a run interrupted by
	 * an interrupt or a stolen vCPU would skew a plain mean. */
	for (k = 0; k < ARRAY_SIZE(cfgs); k++) {
		double *col[] = { bind_run, post_run, total, runs };
		static const char *const pools[] = { "inet", "inet6", "all" };
		double med[NR_VARIANTS + 3][4];
		size_t m;
		int p;

		if (!cfg_on(cfgs[k]))
			continue;
		for (m = 0; m < ARRAY_SIZE(col); m++) {
			for (v = 0; v < NR_VARIANTS; v++) {
				for (r = 0; r < nr; r++)
					w[r] = col[m][k * per + v * nr + r];
				med[v][m] = quantile(w, nr, 0.5);
			}
			/* Pools: tcp4+udp4, tcp6+udp6 (the variants are in that order), all four. */
			for (p = 0; p < 3; p++) {
				int from = p == 1 ? 2 * nr : 0, len = p == 2 ? per : 2 * nr;

				for (j = 0; j < len; j++)
					w[j] = col[m][k * per + from + j];
				med[NR_VARIANTS + p][m] = quantile(w, len, 0.5);
			}
		}
		for (v = 0; v < NR_VARIANTS + 3; v++)
			put("kern\t%s\t%s\t%.1f\t%.1f\t%.1f\t%.2f\n", configs[cfgs[k]].name,
			    v < NR_VARIANTS ? variant_names[v] : pools[v - NR_VARIANTS], med[v][0],
			    med[v][1], med[v][2], med[v][3]);
	}
	free(bind_run);
	free(post_run);
	free(total);
	free(runs);
	free(w);
}

/* ns on CPU, from schedstat: finer than clock ticks. */
static long long proc_cpu_ns(pid_t pid)
{
	char path[64], buf[256];

	snprintf(path, sizeof(path), "/proc/%d/schedstat", (int)pid);
	if (read_file(path, buf, sizeof(buf)))
		return -1;
	return strtoll(buf, NULL, 10);
}

/* Audited binds on a leaf: n of them, all four variants in turn, paced if rate > 0. */
static double flood(int leaf, long n, int rate)
{
	struct target t[NR_VARIANTS];
	struct timespec next;
	__u64 t0;
	long i;
	int v, fd;

	for (v = 0; v < NR_VARIANTS; v++)
		target_make(&t[v], v, A_WILD_DENIED);
	cg_enter(leaf);
	clock_gettime(CLOCK_MONOTONIC, &next);
	t0 = now_ns();
	for (i = 0; i < n; i++) {
		struct target *x = &t[i % NR_VARIANTS];

		target_port(x, i / NR_VARIANTS);

		/* Paced: one batch of rate/1000 binds per millisecond, absolute deadlines. */
		if (rate > 0 && i % (rate / 1000) == 0) {
			next.tv_nsec += 1000000;
			if (next.tv_nsec >= 1000000000) {
				next.tv_nsec -= 1000000000;
				next.tv_sec++;
			}
			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) ==
			       EINTR)
				;
		}
		fd = socket(x->family, x->type | SOCK_CLOEXEC, 0);
		if (fd < 0)
			die("flood: socket: %s\n", strerror(errno));
		/* EADDRINUSE: see bind_interfered; the hook has run and the event is made. */
		if (bind(fd, (const struct sockaddr *)&x->ss, x->len) != 0) {
			if (errno != EADDRINUSE)
				die("flood: audited bind failed: %s\n", strerror(errno));
			bind_interfered++;
		}
		close(fd);
	}
	cg_enter(-1);
	return (now_ns() - t0) / 1e9;
}

/*
 * A flood of audited binds as fast as this core binds, every event written (no flood control),
 * the agent and its reader on the other core: what is lost, and what the agent and the reader
 * spent per event (schedstat, over the flood and the drain after it).
 */
static void flood_once(const char *name, int leaf, int flags)
{
	long long a0, a1, r0, r1;
	__u64 ev, del, drop;
	struct child a;
	double secs;
	int st;

	msg("pipeline: %d audited binds, %s agent running\n", opt.flood, name);
	agent_start(&a, leaf, opt.small, flags | AG_AUDIT | AG_EVERY, name);
	a0 = proc_cpu_ns(a.target);
	r0 = proc_cpu_ns(a.drainer);
	secs = flood(leaf, opt.flood, 0);
	usleep(300000); /* more than one poll period: the batched events are written */
	a1 = proc_cpu_ns(a.target);
	r1 = proc_cpu_ns(a.drainer);
	st = child_stop(&a, SIGTERM);
	ev = json_u64(a.kept, "events");
	del = json_u64(a.kept, "delivered");
	drop = json_u64(a.kept, "dropped");
	put("pipe\t%s\t%d\t%ld\t%lld\t%lld\t%lld\t%.3f\t%d\t%.0f\t%.0f\n", name, opt.flood, a.lines,
	    (long long)ev, (long long)del, (long long)drop, secs, st,
	    a0 >= 0 && a1 >= 0 ? (double)(a1 - a0) / opt.flood : -1.0,
	    r0 >= 0 && r1 >= 0 ? (double)(r1 - r0) / opt.flood : -1.0);
}

static void stopped_once(const char *name, int leaf, int flags)
{
	__u64 ev, del, drop;
	struct child a;
	double secs;
	int st;

	msg("pipeline: %d audited binds, %s agent SIGSTOPped\n", opt.stopped_flood, name);
	agent_start(&a, leaf, opt.small, flags | AG_AUDIT | AG_EVERY, name);
	kill(a.target, SIGSTOP);
	secs = flood(leaf, opt.stopped_flood, 0);
	kill(a.target, SIGCONT);
	st = child_stop(&a, SIGTERM);
	ev = json_u64(a.kept, "events");
	del = json_u64(a.kept, "delivered");
	drop = json_u64(a.kept, "dropped");
	put("pipe\t%s\t%d\t%ld\t%lld\t%lld\t%lld\t%.3f\t%d\t-1\t-1\n", name, opt.stopped_flood,
	    a.lines, (long long)ev, (long long)del, (long long)drop, secs, st);
}

static void phase_pipeline(void)
{
	/* 1. The agent runs on the other core: nothing may be lost. */
	flood_once("running", LEAF_AUDIT, 0);
	if (opt.ref[0])
		flood_once("ref-running", LEAF_REF_AUDIT, AG_REF);

	/*
	 * 2. The agent is stopped while the kernel produces: the ring fills, the rest is dropped,
	 * and every drop is counted. How fast the binds go meanwhile shows what a full ring costs
	 * the binding process (the reference build woke the reader for every event past a quarter).
	 */
	stopped_once("stopped", LEAF_AUDIT, 0);
	if (opt.ref[0])
		stopped_once("ref-stopped", LEAF_REF_AUDIT, AG_REF);
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

/* Median, p90, p99 and max of n latencies (ns), as one "dlat" record in microseconds. */
static void put_dlat(const char *name, __u64 *v, long n)
{
	if (n <= 0) {
		put("dlat\t%s\t0\t-1\t-1\t-1\t-1\n", name);
		return;
	}
	qsort(v, n, sizeof(*v), cmp_u64);
	put("dlat\t%s\t%ld\t%.1f\t%.1f\t%.1f\t%.1f\n", name, n, v[n / 2] / 1e3,
	    v[(long)(n * 0.9)] / 1e3, v[(long)(n * 0.99)] / 1e3, v[n - 1] / 1e3);
}

/* Wait until the drainer has reported at least want deny lines; dies after 10 s. */
static void wait_deny_lines(struct child *a, long want)
{
	__u64 t0 = now_ns();

	while (a->d_total < want) {
		if (child_read(a, 100) < 0 || a->done)
			die("%s exited during the deny latency test\n", a->name);
		if (now_ns() - t0 > 10ULL * 1000000000ULL)
			die("%s: %ld deny lines after 10 s, want %ld\n", a->name, a->d_total, want);
	}
}

/*
 * From bind() to the written line: a denied bind is timed just before the call, and its event
 * line when the reader of the agent's output (the drainer, on the agent's core) gets it.
 * "isolated": one deny at a time, 7 ms apart (the kernel wakes the agent at most every 5 ms, so
 * each of these wakes it). "storm": denies back to back as fast as this core binds; the k-th
 * deny line belongs to the k-th bind (one source, every event written, the ring keeps order).
 */
static void deny_latency_once(const char *name, int leaf, int flags)
{
	long n_iso = opt.deny_isolated, n_storm = opt.deny_storm, i, base, k, m;
	__u64 *lat_iso, *lat_storm, *tb, t0;
	struct timespec next;
	struct target t[NR_VARIANTS];
	struct child a;
	char label[64];
	int v, fd;

	lat_iso = calloc(n_iso ? n_iso : 1, sizeof(*lat_iso));
	lat_storm = calloc(n_storm ? n_storm : 1, sizeof(*lat_storm));
	tb = calloc(n_storm ? n_storm : 1, sizeof(*tb));
	if (!lat_iso || !lat_storm || !tb)
		die("out of memory\n");
	for (v = 0; v < NR_VARIANTS; v++)
		target_make(&t[v], v, A_WILD_DENIED);
	msg("deny latency: %ld isolated denies, then %ld in a storm (%s)\n", n_iso, n_storm, name);
	agent_start_lat(&a, leaf, opt.small, flags | AG_EVERY, name, "\"verdict\":\"deny\"");
	cg_enter(leaf);
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (i = 0; i < n_iso; i++) {
		struct target *x = &t[i % NR_VARIANTS];

		target_port(x, i / NR_VARIANTS);

		next.tv_nsec += 7000000;
		if (next.tv_nsec >= 1000000000) {
			next.tv_nsec -= 1000000000;
			next.tv_sec++;
		}
		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR)
			;
		base = a.d_total;
		fd = socket(x->family, x->type | SOCK_CLOEXEC, 0);
		t0 = now_ns();
		if (fd < 0 || bind(fd, (const struct sockaddr *)&x->ss, x->len) == 0 ||
		    errno != EPERM)
			die("deny latency: the bind was not denied\n");
		close(fd);
		wait_deny_lines(&a, base + 1);
		lat_iso[i] = a.d_t[a.d_len - 1] - t0;
	}
	/* Let the last wakeup's window pass, then the storm. */
	usleep(50000);
	child_read(&a, 0);
	base = a.d_total;
	m = a.d_len;
	for (i = 0; i < n_storm; i++) {
		struct target *x = &t[i % NR_VARIANTS];

		target_port(x, i / NR_VARIANTS);

		fd = socket(x->family, x->type | SOCK_CLOEXEC, 0);
		tb[i] = now_ns();
		if (fd < 0 || bind(fd, (const struct sockaddr *)&x->ss, x->len) == 0 ||
		    errno != EPERM)
			die("deny latency: the bind was not denied\n");
		close(fd);
		/* Keep the reports flowing, so the reader never waits on us. */
		if (i % 512 == 0)
			child_read(&a, 0);
	}
	cg_enter(-1);
	wait_deny_lines(&a, base + n_storm);
	for (k = m, i = 0; k < (long)a.d_len && i < n_storm; k++)
		for (; i < n_storm && base + i < a.d_n[k]; i++)
			lat_storm[i] = a.d_t[k] > tb[i] ? a.d_t[k] - tb[i] : 0;
	snprintf(label, sizeof(label), "%s-isolated", name);
	put_dlat(label, lat_iso, n_iso);
	snprintf(label, sizeof(label), "%s-storm", name);
	put_dlat(label, lat_storm, i);
	child_stop(&a, SIGTERM);
	free(a.d_t);
	free(a.d_n);
	free(lat_iso);
	free(lat_storm);
	free(tb);
}

static void phase_deny_latency(void)
{
	if (opt.deny_isolated <= 0 && opt.deny_storm <= 0)
		return;
	deny_latency_once("now", LEAF_ENFORCE, 0);
	if (opt.ref[0])
		deny_latency_once("ref", LEAF_REF_ENFORCE, AG_REF);
}

static int proc_status_kib(pid_t pid, const char *key, long *out)
{
	char path[64], buf[4096], *p;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (read_file(path, buf, sizeof(buf)))
		return -1;
	p = strstr(buf, key);
	if (!p)
		return -1;
	*out = strtol(p + strlen(key) + 1, NULL, 10);
	return 0;
}

/* utime + stime of a process, in clock ticks. */
static long proc_cpu_ticks(pid_t pid)
{
	char path[64], buf[2048], *p;
	unsigned long ut, st;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_file(path, buf, sizeof(buf)))
		return -1;
	p = strrchr(buf, ')'); /* comm may hold spaces */
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (long)(ut + st);
}

static void phase_footprint(void)
{
	long n = (long)opt.foot_seconds * opt.foot_rate, tick0, tick1, rss0, rss1, hwm;
	long long ns0, ns1;
	struct child a;
	double secs;

	msg("footprint: %d audited binds/s for %d s\n", opt.foot_rate, opt.foot_seconds);
	agent_start(&a, LEAF_AUDIT, opt.small, AG_AUDIT | AG_EVERY, "footprint");
	usleep(200000);
	if (proc_status_kib(a.target, "VmRSS:", &rss0))
		rss0 = -1;
	tick0 = proc_cpu_ticks(a.target);
	ns0 = proc_cpu_ns(a.target);
	secs = flood(LEAF_AUDIT, n, opt.foot_rate);
	tick1 = proc_cpu_ticks(a.target);
	ns1 = proc_cpu_ns(a.target);
	if (proc_status_kib(a.target, "VmRSS:", &rss1))
		rss1 = -1;
	if (proc_status_kib(a.target, "VmHWM:", &hwm))
		hwm = -1;
	child_stop(&a, SIGTERM);
	put("foot\t%ld\t%.3f\t%ld\t%ld\t%ld\t%.3f\t%.3f\t%ld\t%ld\n", n, secs, rss0, rss1, hwm,
	    100.0 * (tick1 - tick0) / sysconf(_SC_CLK_TCK) / secs, 100.0 * (ns1 - ns0) / 1e9 / secs,
	    a.lines, sysconf(_SC_CLK_TCK));
}

/* Time from fork+exec to the ready line, one run. */
static double ready_once(const char *policy, int leaf, int flags, const char *name, char *line,
			 size_t len)
{
	struct child a;
	double ms;

	agent_start(&a, leaf, policy, flags, name);
	ms = (a.t_ready - a.t_fork) / 1e6;
	if (line)
		snprintf(line, len, "%s", a.ready_line);
	child_stop(&a, SIGTERM);
	return ms;
}

static void put_ready(const char *name, double *v, int n, const char *extra)
{
	double med = quantile(v, n, 0.5);

	put("ready\t%s\t%.1f\t%.1f\t%.1f\t%d\t%s\n", name, med, v[0], v[n - 1], n, extra);
}

/*
 * n listeners made from leaf: on 127.0.0.1... (compliant: 20,000 ports per loopback address), or
 * with violating all on 0.0.0.0:PORT_MYSQL in one SO_REUSEPORT group (loopback only: each one a
 * violation). Returns how many, or dies.
 */
static int open_listeners(int *fds, int n, int leaf, int violating)
{
	struct sockaddr_in a4;
	int i, one = 1;

	cg_enter(leaf);
	memset(&a4, 0, sizeof(a4));
	a4.sin_family = AF_INET;
	for (i = 0; i < n; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fds[i] < 0)
			break;
		if (violating) {
			setsockopt(fds[i], SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
			a4.sin_port = htons(PORT_MYSQL);
			a4.sin_addr.s_addr = htonl(INADDR_ANY);
		} else {
			a4.sin_port = htons(RECONCILE_BASE_PORT + i % 20000);
			a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK + i / 20000);
		}
		if (bind(fds[i], (struct sockaddr *)&a4, sizeof(a4)) || listen(fds[i], 1)) {
			close(fds[i]);
			break;
		}
	}
	cg_enter(-1);
	if (i < n)
		die("could only open %d of %d listeners: %s\n", i, n, strerror(errno));
	return i;
}

static void close_listeners(int *fds, int n)
{
	int i;

	for (i = 0; i < n; i++)
		close(fds[i]);
}

static void phase_ready(const char *small, const char *big)
{
	double b[32], s[32], g[32], w0[32], w[32], rw0[32], rw[32], v[32];
	int i, n = opt.ready_runs > 32 ? 32 : opt.ready_runs, *fds, nref = opt.ref[0] != '\0';
	char line[1024], extra[128], vline[1024];
	struct rlimit rl;

	for (i = 0; i < n; i++) {
		msg("ready time run %d/%d\n", i + 1, n);
		b[i] = ready_once(NULL, LEAF_AUDIT, 0, "ready-builtin", line, sizeof(line));
		s[i] = ready_once(small, LEAF_AUDIT, 0, "ready-small", NULL, 0);
		g[i] = ready_once(big, LEAF_AUDIT, 0, "ready-big", NULL, 0);
	}
	put("meta\tbuiltin_rules\t%lld\n", (long long)json_u64(line, "rules"));
	put_ready("builtin", b, n, "");
	put_ready("small", s, n, "");
	put_ready("big", g, n, "");

	/*
	 * Reconcile: the same start with N more listeners in this netns (held by this process),
	 * without and with them in turn, this build and the reference, so that "extra" compares
	 * starts a few hundred milliseconds apart.
	 */
	if (opt.reconcile_socks <= 0)
		return;
	/* Raise the soft limit; the hard one only if it is too low (that needs CAP_SYS_RESOURCE). */
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		die("getrlimit: %s\n", strerror(errno));
	if (rl.rlim_cur < (rlim_t)opt.reconcile_socks + 1024) {
		rl.rlim_cur = opt.reconcile_socks + 1024;
		if (rl.rlim_max < rl.rlim_cur)
			rl.rlim_max = rl.rlim_cur;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			die("--reconcile %d needs %d open files (RLIMIT_NOFILE): %s\n",
			    opt.reconcile_socks, opt.reconcile_socks + 1024, strerror(errno));
	}
	fds = calloc(opt.reconcile_socks, sizeof(int));
	if (!fds)
		die("out of memory\n");
	for (i = 0; i < n; i++) {
		msg("reconcile run %d/%d (%d listeners)\n", i + 1, n, opt.reconcile_socks);
		w0[i] = ready_once(NULL, LEAF_AUDIT, 0, "ready-reconcile0", NULL, 0);
		if (nref)
			rw0[i] =
				ready_once(NULL, LEAF_REF_AUDIT, AG_REF, "ref-reconcile0", NULL, 0);
		open_listeners(fds, opt.reconcile_socks, LEAF_NONE, 0);
		w[i] = ready_once(NULL, LEAF_AUDIT, 0, "ready-reconcile", line, sizeof(line));
		if (nref)
			rw[i] = ready_once(NULL, LEAF_REF_AUDIT, AG_REF, "ref-reconcile", NULL, 0);
		close_listeners(fds, opt.reconcile_socks);
		/*
		 * The worst case: every one of them a violation in the agent's own cgroup, so each
		 * is attributed to its process and written as an "existing" event before ready.
		 */
		open_listeners(fds, opt.reconcile_socks, LEAF_AUDIT, 1);
		v[i] = ready_once(NULL, LEAF_AUDIT, 0, "ready-violating", vline, sizeof(vline));
		close_listeners(fds, opt.reconcile_socks);
	}
	/* The ready line says how much was reconciled; an agent without reconcile lacks the keys. */
	snprintf(extra, sizeof(extra), "existing=%lld netns_walked=%lld",
		 (long long)json_u64(line, "existing"), (long long)json_u64(line, "netns_walked"));
	put_ready("reconcile0", w0, n, "");
	put_ready("reconcile", w, n, extra);
	snprintf(extra, sizeof(extra), "existing=%lld netns_walked=%lld",
		 (long long)json_u64(vline, "existing"),
		 (long long)json_u64(vline, "netns_walked"));
	put_ready("violating", v, n, extra);
	if (nref) {
		put_ready("ref-reconcile0", rw0, n, "");
		put_ready("ref-reconcile", rw, n, "");
	}
	put("meta\treconcile_sockets\t%d\n", opt.reconcile_socks);
	free(fds);
}

/* --- main ------------------------------------------------------------------------------------- */

static void usage(int status)
{
	fprintf(status ? stderr : stdout,
		"Usage: bindbench [--bindguard BIN] [--trivial OBJ] [--policy YAML] [--out FILE]\n"
		"                 [--id ID] [--tmpdir DIR] [--rounds N] [--iters N] [--chunk N]\n"
		"                 [--stat-rounds N] [--bpftrace BIN|''] [--flood N]\n"
		"                 [--stopped-flood N] [--foot-seconds N] [--foot-rate N]\n"
		"                 [--ready-runs N] [--reconcile N] [--deny-isolated N]\n"
		"                 [--deny-storm N] [--ref BIN] [--ref-name NAME]\n"
		"Measures what bindguard costs a bind() on this machine (root). See bench/run.sh.\n");
	exit(status);
}

static int parse_int(const char *s, int min)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < min || v > INT_MAX)
		usage(2);
	return (int)v;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "bindguard", required_argument, NULL, 'b' },
		{ "trivial", required_argument, NULL, 't' },
		{ "policy", required_argument, NULL, 'p' },
		{ "out", required_argument, NULL, 'o' },
		{ "id", required_argument, NULL, 'i' },
		{ "tmpdir", required_argument, NULL, 'T' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "iters", required_argument, NULL, 'n' },
		{ "chunk", required_argument, NULL, 'k' },
		{ "stat-rounds", required_argument, NULL, 's' },
		{ "bpftrace", required_argument, NULL, 'B' },
		{ "flood", required_argument, NULL, 'f' },
		{ "stopped-flood", required_argument, NULL, 'F' },
		{ "foot-seconds", required_argument, NULL, 'S' },
		{ "foot-rate", required_argument, NULL, 'R' },
		{ "ready-runs", required_argument, NULL, 'y' },
		{ "reconcile", required_argument, NULL, 'c' },
		{ "deny-isolated", required_argument, NULL, 'I' },
		{ "deny-storm", required_argument, NULL, 'D' },
		{ "ref", required_argument, NULL, 'x' },
		{ "ref-name", required_argument, NULL, 'X' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct child enforce, audit, big, limited, ref_enforce, ref_audit, ref_big;
	const char *small_path, *big_path;
	char idbuf[32];
	int o, bt, n_rules, n_cidrs, st;
	__u64 t_start = now_ns();
	size_t i;

	while ((o = getopt_long(argc, argv, "", lopts, NULL)) != -1) {
		switch (o) {
		case 'b':
			opt.bindguard = optarg;
			break;
		case 't':
			opt.trivial = optarg;
			break;
		case 'p':
			opt.policy = optarg;
			break;
		case 'o':
			opt.out = optarg;
			break;
		case 'i':
			opt.id = optarg;
			break;
		case 'T':
			opt.tmpdir = optarg;
			break;
		case 'r':
			opt.rounds = parse_int(optarg, 1);
			break;
		case 'n':
			opt.iters = parse_int(optarg, 1);
			break;
		case 'k':
			opt.chunk = parse_int(optarg, 1);
			break;
		case 's':
			opt.stat_rounds = parse_int(optarg, 1);
			break;
		case 'B':
			opt.bpftrace = optarg;
			break;
		case 'f':
			opt.flood = parse_int(optarg, 1);
			break;
		case 'F':
			opt.stopped_flood = parse_int(optarg, 1);
			break;
		case 'S':
			opt.foot_seconds = parse_int(optarg, 1);
			break;
		case 'R':
			opt.foot_rate = parse_int(optarg, 1000);
			break;
		case 'y':
			opt.ready_runs = parse_int(optarg, 1);
			break;
		case 'c':
			opt.reconcile_socks = parse_int(optarg, 0);
			break;
		case 'I':
			opt.deny_isolated = parse_int(optarg, 0);
			break;
		case 'D':
			opt.deny_storm = parse_int(optarg, 0);
			break;
		case 'x':
			opt.ref = optarg;
			break;
		case 'X':
			opt.ref_name = optarg;
			break;
		case 'h':
			usage(0);
			break;
		default:
			usage(2);
		}
	}
	if (optind != argc)
		usage(2);
	if (!opt.id) {
		snprintf(idbuf, sizeof(idbuf), "%d", (int)getpid());
		opt.id = idbuf;
	}
	if (access(opt.bindguard, X_OK) != 0)
		die("%s: %s (make all)\n", opt.bindguard, strerror(errno));
	if (strcmp(opt.out, "-") == 0) {
		res = stdout;
	} else {
		res = fopen(opt.out, "we");
		if (!res)
			die("cannot write %s: %s\n", opt.out, strerror(errno));
	}
	nch = (opt.iters + opt.chunk - 1) / opt.chunk;
	lat = malloc(sizeof(double) * NR_CONFIGS * NR_VARIANTS * opt.rounds * nch);
	if (!lat)
		die("out of memory\n");
	for (i = 0; i < (size_t)NR_CONFIGS * NR_VARIANTS * opt.rounds * nch; i++)
		lat[i] = NAN;

	sandbox_setup();
	bt = have_bpftrace();
	put("meta\tbench_cpu\t%d\nmeta\tagent_cpu\t%d\n", bench.bench_cpu, bench.agent_cpu);
	put("meta\trounds\t%d\nmeta\titers\t%d\nmeta\tchunk\t%d\nmeta\twarmup\t%d\n"
	    "meta\tstat_rounds\t%d\n",
	    opt.rounds, opt.iters, opt.chunk, opt.warmup, opt.stat_rounds);
	put("meta\tbpftrace\t%s\n", bt ? "yes" : "no");
	put("meta\tevent_size\t%zu\n", sizeof(struct bg_event));
	if (opt.ref[0] && access(opt.ref, X_OK) != 0)
		die("--ref %s: %s\n", opt.ref, strerror(errno));
	put("meta\tref\t%s\n", opt.ref[0] ? opt.ref_name : "");
	put("meta\tport_public\t%d\nmeta\tport_denied\t%d\nmeta\tport_cidr\t%d\nmeta\tport_pool\t%d\n",
	    PORT_PUBLIC, PORT_DENIED, PORT_CIDR, PORT_POOL);
	put("meta\tref_rate_limit\t%d\n", opt.ref[0] ? has_rate_limit(opt.ref) : 0);
	put("meta\tdeny_isolated\t%d\nmeta\tdeny_storm\t%d\nmeta\tflood\t%d\n", opt.deny_isolated,
	    opt.deny_storm, opt.flood);

	small_path = write_small_policy();
	opt.small = small_path;
	big_path = write_big_policy(&n_rules, &n_cidrs);
	put("meta\tbig_rules\t%d\nmeta\tbig_cidrs\t%d\n", n_rules, n_cidrs);

	msg("starting the agents and the trivial program\n");
	attach_trivial();
	/* Every event written (no flood control), except on "limited", which has the default. */
	agent_start(&enforce, LEAF_ENFORCE, small_path, AG_EVERY, "enforce");
	agent_start(&audit, LEAF_AUDIT, small_path, AG_AUDIT | AG_EVERY, "audit");
	agent_start(&big, LEAF_BIG, big_path, AG_EVERY, "big");
	agent_start(&limited, LEAF_LIMITED, small_path, 0, "limited");
	if (opt.ref[0]) {
		agent_start(&ref_enforce, LEAF_REF_ENFORCE, small_path, AG_REF | AG_EVERY,
			    "ref-enforce");
		agent_start(&ref_audit, LEAF_REF_AUDIT, small_path, AG_REF | AG_AUDIT | AG_EVERY,
			    "ref-audit");
		agent_start(&ref_big, LEAF_REF_BIG, big_path, AG_REF | AG_EVERY, "ref-big");
	}
	put("meta\tsmall_rules\t%lld\n", (long long)json_u64(enforce.ready_line, "rules"));

	agent_of[LEAF_ENFORCE] = &enforce;
	agent_of[LEAF_AUDIT] = &audit;
	agent_of[LEAF_BIG] = &big;
	agent_of[LEAF_LIMITED] = &limited;
	if (opt.ref[0]) {
		agent_of[LEAF_REF_ENFORCE] = &ref_enforce;
		agent_of[LEAF_REF_AUDIT] = &ref_audit;
		agent_of[LEAF_REF_BIG] = &ref_big;
	}
	phase_sibling();
	agents_pause();
	phase_latency(bt);
	phase_kernel();
	agents_resume();
	memset(agent_of, 0, sizeof(agent_of));
	report_latency();

	/* The latency agents go: the next phases need fresh counters. */
	st = child_stop(&enforce, SIGTERM);
	put("agent\tenforce\t%d\t%s\n", st, enforce.kept);
	st = child_stop(&audit, SIGTERM);
	put("agent\taudit\t%d\t%s\n", st, audit.kept);
	st = child_stop(&big, SIGTERM);
	put("agent\tbig\t%d\t%s\n", st, big.kept);
	st = child_stop(&limited, SIGTERM);
	put("agent\tlimited\t%d\t%s\n", st, limited.kept);
	if (opt.ref[0]) {
		st = child_stop(&ref_enforce, SIGTERM);
		put("agent\tref-enforce\t%d\t%s\n", st, ref_enforce.kept);
		st = child_stop(&ref_audit, SIGTERM);
		put("agent\tref-audit\t%d\t%s\n", st, ref_audit.kept);
		st = child_stop(&ref_big, SIGTERM);
		put("agent\tref-big\t%d\t%s\n", st, ref_big.kept);
	}

	phase_deny_latency();
	phase_pipeline();
	phase_footprint();
	phase_ready(small_path, big_path);

	put("meta\tinterfered\t%ld\n", bind_interfered);
	put("meta\tseconds\t%.0f\n", (now_ns() - t_start) / 1e9);
	if (res != stdout && fclose(res) != 0)
		die("cannot write %s\n", opt.out);
	res = NULL;
	sb_teardown(&bench.box);
	msg("done\n");
	return 0;
}
