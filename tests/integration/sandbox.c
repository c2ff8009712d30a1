// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cgroup.h"
#include "sandbox.h"

/* How long the agent may take to write its ready line. */
#define SB_READY_MS 30000

int sb_failures;
int sb_checks;

/* The one sandbox of this process, for the signal and exit paths, and the process that owns it. */
static struct sb *sb_current;
static pid_t sb_owner;

/* Extra cleanup registered by the tests (foreign programs, child cgroups). */
static struct {
	void (*fn)(void *);
	void *arg;
} sb_hooks[8];
static int sb_nhooks;

/* A forked worker inherits the handlers: only the owner may tear the sandbox down. */
static void sb_on_signal(int sig)
{
	if (sb_current && getpid() == sb_owner)
		sb_teardown(sb_current);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void sb_at_exit(void)
{
	if (sb_current && getpid() == sb_owner)
		sb_teardown(sb_current);
}

int sb_lo_up(void)
{
	struct ifreq ifr;
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
		err = -errno;
		goto out;
	}
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		err = -errno;
out:
	close(fd);
	return err;
}

int sb_setup(struct sb *sb, const char *name)
{
	static unsigned int seq;
	const char *tmp = getenv("TMPDIR");
	int err;

	memset(sb, 0, sizeof(*sb));
	sb->agent = -1;
	if (geteuid() != 0) {
		printf("SKIP %s: needs root (BPF and cgroup v2)\n", name);
		return SB_SKIP;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		printf("SKIP %s: the kernel exposes no BTF\n", name);
		return SB_SKIP;
	}
	err = bg_cgroup2_root("/proc/self/mounts", sb->cg_root, sizeof(sb->cg_root));
	if (err) {
		printf("SKIP %s: no cgroup v2 hierarchy mounted\n", name);
		return SB_SKIP;
	}
	sb->bin = getenv("BINDGUARD");
	if (!sb->bin)
		sb->bin = "build/bindguard";
	if (access(sb->bin, X_OK) != 0) {
		fprintf(stderr, "%s: bindguard binary %s: %s\n", name, sb->bin, strerror(errno));
		return 1;
	}
	if (snprintf(sb->cg_dir, sizeof(sb->cg_dir), "%s/bg-test-%s-%d-%u", sb->cg_root, name,
		     (int)getpid(), seq++) >= (int)sizeof(sb->cg_dir)) {
		fprintf(stderr, "%s: cgroup path too long\n", name);
		sb->cg_dir[0] = '\0';
		return 1;
	}
	if (mkdir(sb->cg_dir, 0755) != 0) {
		fprintf(stderr, "%s: mkdir %s: %s\n", name, sb->cg_dir, strerror(errno));
		sb->cg_dir[0] = '\0';
		return 1;
	}
	/* Room for the scratch files' names after it. */
	if (!tmp || !tmp[0])
		tmp = "/tmp";
	if (strlen(tmp) > sizeof(sb->tmpdir) - 64) {
		fprintf(stderr, "%s: TMPDIR too long\n", name);
		rmdir(sb->cg_dir);
		sb->cg_dir[0] = '\0';
		return 1;
	}
	snprintf(sb->tmpdir, sizeof(sb->tmpdir), "%.*s/bg-test-XXXXXX", PATH_MAX - 64, tmp);
	if (!mkdtemp(sb->tmpdir)) {
		fprintf(stderr, "%s: mkdtemp in %s: %s\n", name, tmp, strerror(errno));
		sb->tmpdir[0] = '\0';
		rmdir(sb->cg_dir);
		sb->cg_dir[0] = '\0';
		return 1;
	}
	snprintf(sb->out_path, sizeof(sb->out_path), "%.*s/events.jsonl", PATH_MAX - 32,
		 sb->tmpdir);
	snprintf(sb->err_path, sizeof(sb->err_path), "%.*s/agent.err", PATH_MAX - 32, sb->tmpdir);

	sb_current = sb;
	sb_owner = getpid();
	atexit(sb_at_exit);
	signal(SIGINT, sb_on_signal);
	signal(SIGTERM, sb_on_signal);
	signal(SIGHUP, sb_on_signal);
	signal(SIGABRT, sb_on_signal);
	signal(SIGSEGV, sb_on_signal);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static void sb_rm_tree(const char *dir)
{
	const char *base = strrchr(dir, '/');
	char cmd[PATH_MAX + 32];

	/* Only ever our own mkdtemp() directory (and never one a quote could escape from). */
	if (!base || strncmp(base, "/bg-test-", 9) != 0 || strchr(dir, '\''))
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "sandbox: could not remove %s\n", dir);
}

/*
 * A cgroup that stays busy at teardown still holds a worker (a test stopped by a signal while
 * one ran): on the first retry, kill whatever is left in it and below it (cgroup.kill, 5.14+).
 * Only ever the sandbox or its children, which never hold the test process itself.
 */
static void sb_kill_cgroup_once(const char *dir, int attempt)
{
	char path[PATH_MAX + 16];
	int fd;

	if (attempt == 0) {
		snprintf(path, sizeof(path), "%s/cgroup.kill", dir);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (write(fd, "1", 1) < 0)
				fprintf(stderr, "sandbox: %s: %s\n", path, strerror(errno));
			close(fd);
		}
	}
	usleep(20000);
}

int sb_on_teardown(void (*fn)(void *), void *arg)
{
	if (sb_nhooks >= (int)(sizeof(sb_hooks) / sizeof(sb_hooks[0])))
		return -ENOSPC;
	sb_hooks[sb_nhooks].fn = fn;
	sb_hooks[sb_nhooks].arg = arg;
	sb_nhooks++;
	return 0;
}

void sb_teardown(struct sb *sb)
{
	int i;

	if (sb->agent > 0) {
		kill(sb->agent, SIGKILL);
		waitpid(sb->agent, NULL, 0);
		sb->agent = -1;
	}
	/* Each hook once, even if it is interrupted by a signal that tears down again. */
	while (sb_nhooks > 0) {
		sb_nhooks--;
		sb_hooks[sb_nhooks].fn(sb_hooks[sb_nhooks].arg);
	}
	while (sb->n_kids > 0) {
		char kid[PATH_MAX + 80];
		int err;

		sb->n_kids--;
		snprintf(kid, sizeof(kid), "%s/%s", sb->cg_dir, sb->cg_kids[sb->n_kids]);
		err = sb_rmdir_cgroup(kid);
		if (err)
			fprintf(stderr, "sandbox: could not remove cgroup %s: %s\n", kid,
				strerror(-err));
	}
	if (sb->cg_dir[0]) {
		/* The workers have exited; the kernel may take a moment to empty the cgroup. */
		for (i = 0; i < 100 && rmdir(sb->cg_dir) != 0 && errno == EBUSY; i++)
			sb_kill_cgroup_once(sb->cg_dir, i);
		if (access(sb->cg_dir, F_OK) == 0)
			fprintf(stderr, "sandbox: could not remove cgroup %s: %s\n", sb->cg_dir,
				strerror(errno));
		sb->cg_dir[0] = '\0';
	}
	if (sb->tmpdir[0]) {
		sb_rm_tree(sb->tmpdir);
		sb->tmpdir[0] = '\0';
	}
	/* sb is usually main()'s local: the exit hook must not touch it after main returns. */
	if (sb_current == sb)
		sb_current = NULL;
}

char *sb_slurp(const char *path)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap), *nb;
	ssize_t n;
	int fd;

	if (!buf)
		return NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(buf);
		return NULL;
	}
	for (;;) {
		if (cap - len < 2) {
			nb = realloc(buf, cap * 2);
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	return buf;
}

const char *sb_write_tmp(struct sb *sb, const char *name, const char *content)
{
	static char paths[8][PATH_MAX];
	static int slot;
	char *p = paths[slot++ % 8];
	FILE *f;

	if (snprintf(p, PATH_MAX, "%s/%s", sb->tmpdir, name) >= PATH_MAX)
		return NULL;
	f = fopen(p, "w");
	if (!f)
		return NULL;
	fputs(content, f);
	fclose(f);
	return p;
}

static int sb_wait_status(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int sb_agent_start(struct sb *sb, const char *const *args)
{
	return sb_agent_start_cg(sb, sb->cg_dir, args);
}

/* The agent wrote its ready line, or exited (then *status is set and agent is -1). */
struct sb_ready_wait {
	struct sb *sb;
	int exited, status;
};

static int sb_agent_ready(void *arg)
{
	static const char *const ready[] = { "\"state\":\"ready\"", NULL };
	struct sb_ready_wait *w = arg;
	char *out = sb_slurp(w->sb->out_path);
	int n = out ? sb_count_lines(out, ready) : 0;

	free(out);
	if (n)
		return 1;
	if (waitpid(w->sb->agent, &w->status, WNOHANG) == w->sb->agent) {
		w->sb->agent = -1;
		w->exited = 1;
		return 1;
	}
	return 0;
}

int sb_agent_argv(const struct sb *sb, const char *cgroup, const char *output,
		  const char *const *args, const char **argv, size_t max)
{
	size_t n = 0;

	if (max < 7)
		return -E2BIG;
	argv[n++] = sb->bin;
	argv[n++] = "run";
	argv[n++] = "--cgroup";
	argv[n++] = cgroup;
	if (output) {
		argv[n++] = "--output";
		argv[n++] = output;
	}
	for (; args && *args; args++) {
		if (n + 1 >= max)
			return -E2BIG;
		argv[n++] = *args;
	}
	argv[n] = NULL;
	return (int)n;
}

int sb_agent_start_cg(struct sb *sb, const char *cgroup, const char *const *args)
{
	struct sb_ready_wait w = { .sb = sb };
	const char *argv[32];
	int fd;
	char *err;
	pid_t pid;

	if (sb_agent_argv(sb, cgroup, sb->out_path, args, argv, 32) < 0) {
		fprintf(stderr, "agent: too many arguments\n");
		return -1;
	}
	unlink(sb->out_path);

	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* If the test dies, the agent dies with it and its links go away. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fd = open(sb->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0)
			dup2(fd, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	sb->agent = pid;

	if (sb_wait_until(sb_agent_ready, &w, SB_READY_MS)) {
		fprintf(stderr, "agent not ready after %d ms\n", SB_READY_MS);
		return -1;
	}
	if (w.exited) {
		err = sb_slurp(sb->err_path);
		fprintf(stderr, "agent exited before ready (status %d): %s\n",
			WIFEXITED(w.status) ? WEXITSTATUS(w.status) : -1, err ? err : "");
		free(err);
		return -1;
	}
	return 0;
}

int sb_agent_stop(struct sb *sb)
{
	int st;

	if (sb->agent <= 0)
		return -1;
	kill(sb->agent, SIGTERM);
	st = sb_wait_status(sb->agent);
	sb->agent = -1;
	return st;
}

int sb_child(struct sb *sb, int in_cgroup, int new_netns, int (*fn)(void *), void *arg)
{
	char path[PATH_MAX + 16], pid[32];
	pid_t p;
	int fd;

	p = fork();
	if (p < 0)
		return -1;
	if (p == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (in_cgroup) {
			snprintf(path, sizeof(path), "%s/cgroup.procs", sb->cg_dir);
			fd = open(path, O_WRONLY);
			snprintf(pid, sizeof(pid), "%d", (int)getpid());
			if (fd < 0 || write(fd, pid, strlen(pid)) < 0) {
				perror("join sandbox cgroup");
				_exit(126);
			}
			close(fd);
		}
		if (new_netns) {
			int err = sb_netns_new();

			if (err) {
				fprintf(stderr, "new netns: %s\n", strerror(-err));
				_exit(126);
			}
		}
		fflush(stdout);
		_exit(fn(arg));
	}
	return sb_wait_status(p);
}

int sb_exec(const char *const *argv, char *out, size_t len)
{
	int pfd[2], st;
	size_t used = 0;
	ssize_t n;
	pid_t p;

	if (pipe(pfd) != 0)
		return -1;
	p = fork();
	if (p < 0)
		return -1;
	if (p == 0) {
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		close(pfd[0]);
		close(pfd[1]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	while (len && (n = read(pfd[0], out + used, len - 1 - used)) > 0)
		used += n;
	if (len)
		out[used] = '\0';
	/* Drain what did not fit, so the child never blocks on a full pipe. */
	{
		char junk[4096];

		while (read(pfd[0], junk, sizeof(junk)) > 0)
			;
	}
	close(pfd[0]);
	st = sb_wait_status(p);
	return st;
}

/* The hooks bindguard attaches: the four bind hooks, then sockops. */
static const enum bpf_attach_type sb_hook_types[] = {
	BPF_CGROUP_INET4_BIND,	    BPF_CGROUP_INET6_BIND, BPF_CGROUP_INET4_POST_BIND,
	BPF_CGROUP_INET6_POST_BIND, BPF_CGROUP_SOCK_OPS,
};
#define SB_NR_BIND_HOOKS 4

/* Programs attached to dir on the first n of sb_hook_types, or -1. */
static int sb_count_hooks(const char *dir, size_t n)
{
	int total = 0, c;
	size_t i;

	for (i = 0; i < n; i++) {
		c = sb_prog_count(dir, sb_hook_types[i], NULL);
		if (c < 0)
			return -1;
		total += c;
	}
	return total;
}

int sb_attached(const struct sb *sb)
{
	return sb_count_hooks(sb->cg_dir, SB_NR_BIND_HOOKS);
}

static int sb_line_has(const char *line, size_t len, const char *needle)
{
	size_t nl = strlen(needle);
	const char *p = line, *end = line + len;

	if (!nl)
		return 1;
	while ((size_t)(end - p) >= nl) {
		p = memmem(p, end - p, needle, nl);
		if (!p)
			return 0;
		/* A needle ending in a digit ("port":33, "netns":4026531840) is a whole number. */
		if (!(needle[nl - 1] >= '0' && needle[nl - 1] <= '9') || p + nl >= end ||
		    !(p[nl] >= '0' && p[nl] <= '9'))
			return 1;
		p++;
	}
	return 0;
}

int sb_count_lines(const char *text, const char *const *needles)
{
	const char *line = text, *nl;
	const char *const *n;
	int count = 0, all;
	size_t len;

	while (line && *line) {
		nl = strchr(line, '\n');
		len = nl ? (size_t)(nl - line) : strlen(line);
		all = 1;
		for (n = needles; *n && all; n++)
			all = sb_line_has(line, len, *n);
		count += all;
		line = nl ? nl + 1 : NULL;
	}
	return count;
}

int sb_report(const char *name)
{
	printf("%s: %d checks, %d failed\n", name, sb_checks, sb_failures);
	return sb_failures ? 1 : 0;
}

int sb_netns_new(void)
{
	if (unshare(CLONE_NEWNET) != 0)
		return -errno;
	return sb_lo_up();
}

int sb_mkcgroup(struct sb *sb, const char *name, char *buf, size_t len)
{
	if (sb->n_kids >= SB_MAX_CGROUPS)
		return -ENOSPC;
	/* Nested names ("a/b") once the parent was made: teardown removes in reverse. */
	if (strlen(name) >= sizeof(sb->cg_kids[0]) || name[0] == '/' || strstr(name, ".."))
		return -EINVAL;
	if (snprintf(buf, len, "%s/%s", sb->cg_dir, name) >= (int)len)
		return -ENAMETOOLONG;
	if (mkdir(buf, 0755) != 0)
		return -errno;
	strcpy(sb->cg_kids[sb->n_kids++], name);
	return 0;
}

int sb_join_cgroup(const char *dir)
{
	char path[PATH_MAX + 16], pid[32];
	int fd, err = 0;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if (write(fd, pid, strlen(pid)) < 0)
		err = -errno;
	close(fd);
	return err;
}

int sb_self_cgroup(const struct sb *sb, char *buf, size_t len)
{
	char line[PATH_MAX];
	int err = -ENOENT;
	FILE *f;

	f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		/* The cgroup v2 line is "0::/path". */
		if (strncmp(line, "0::", 3) != 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (snprintf(buf, len, "%s%s", sb->cg_root,
			     strcmp(line + 3, "/") ? line + 3 : "") >= (int)len)
			err = -ENAMETOOLONG;
		else
			err = 0;
		break;
	}
	fclose(f);
	return err;
}

int sb_rmdir_cgroup(const char *dir)
{
	int i;

	for (i = 0; i < 250; i++) {
		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			break;
		sb_kill_cgroup_once(dir, i);
	}
	return -errno;
}

int sb_prog_count(const char *dir, int type, unsigned int *ids)
{
	__u32 buf[16], cnt = 16, i;
	int fd, err;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	err = bpf_prog_query(fd, (enum bpf_attach_type)type, 0, NULL, buf, &cnt);
	close(fd);
	if (err)
		return -1;
	for (i = 0; ids && i < cnt && i < 16; i++)
		ids[i] = buf[i];
	return (int)cnt;
}

int sb_attached_all(const char *dir)
{
	return sb_count_hooks(dir, sizeof(sb_hook_types) / sizeof(sb_hook_types[0]));
}

const char *sb_bpf_object(const struct sb *sb, const char *name, char *buf, size_t len)
{
	const char *slash = strrchr(sb->bin, '/');

	if (slash &&
	    snprintf(buf, len, "%.*s/tests/%s", (int)(slash - sb->bin), sb->bin, name) < (int)len &&
	    access(buf, R_OK) == 0)
		return buf;
	if (snprintf(buf, len, "build/tests/%s", name) < (int)len && access(buf, R_OK) == 0)
		return buf;
	return NULL;
}

/*
 * Searches only the line: line is often the start of a line in a whole output file, and strstr()
 * would scan the rest of it (ASan's strstr() even does so for every call), which made a pass
 * over the 35,000 lines of itest_faults' ring test quadratic.
 */
long long sb_json_num(const char *line, const char *key)
{
	const char *p, *end = strchr(line, '\n');
	char needle[64];
	long long v = 0;
	int n;

	n = snprintf(needle, sizeof(needle), "\"%s\":", key);
	if (n < 0 || n >= (int)sizeof(needle))
		return -1;
	p = memmem(line, end ? (size_t)(end - line) : strlen(line), needle, n);
	if (!p)
		return -1;
	p += strlen(needle);
	if (*p < '0' || *p > '9')
		return -1;
	while (*p >= '0' && *p <= '9')
		v = v * 10 + (*p++ - '0');
	return v;
}

const char *sb_kernel_feature(const struct sb *sb, const char *name)
{
	static char out[16384];
	static int have = -1;
	char key[96];
	const char *p, *st;
	static char state[16];
	size_t n;

	if (have < 0) {
		const char *argv[] = { sb->bin, "probe", "--format", "json", NULL };

		have = sb_exec(argv, out, sizeof(out)) >= 0 && strstr(out, "\"features\":");
	}
	if (!have)
		return NULL;
	snprintf(key, sizeof(key), "{\"name\":\"%s\",", name);
	p = strstr(out, key);
	if (!p)
		return NULL;
	st = strstr(p, "\"state\":\"");
	if (!st)
		return NULL;
	st += strlen("\"state\":\"");
	n = strcspn(st, "\"");
	if (n >= sizeof(state))
		return NULL;
	memcpy(state, st, n);
	state[n] = '\0';
	return state;
}

struct bpf_object *sb_foreign_open(const struct sb *sb, char *why, size_t len)
{
	static const char *const need_retval[] = { "fg_override4", "fg_override_pb4", NULL };
	const char *const *p;
	struct bpf_program *prog;
	struct bpf_object *obj;
	char path[PATH_MAX];
	int retry;

	why[0] = '\0';
	if (!sb_bpf_object(sb, "foreign.bpf.o", path, sizeof(path))) {
		fprintf(stderr, "sandbox: foreign.bpf.o not found (make integration-bins)\n");
		return NULL;
	}
	for (retry = 0; retry < 2; retry++) {
		obj = bpf_object__open_file(path, NULL);
		if (!obj) {
			fprintf(stderr, "sandbox: cannot open %s: %s\n", path, strerror(errno));
			return NULL;
		}
		/* The second time, without what needs bpf_set_retval (5.18). */
		for (p = need_retval; retry && *p; p++) {
			prog = bpf_object__find_program_by_name(obj, *p);
			if (prog)
				bpf_program__set_autoload(prog, false);
		}
		if (bpf_object__load(obj) == 0) {
			if (retry)
				snprintf(why, len,
					 "this kernel has no bpf_set_retval() (5.18), so no "
					 "foreign program can override a deny here");
			return obj;
		}
		bpf_object__close(obj);
	}
	fprintf(stderr, "sandbox: cannot load %s: %s\n", path, strerror(errno));
	return NULL;
}

/* --- Waiting --------------------------------------------------------------------------------- */

static long long sb_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The next pause between two polls: 10 ms, doubling up to 100 ms. */
static int sb_backoff(int pause_ms)
{
	usleep(pause_ms * 1000);
	return pause_ms < 50 ? pause_ms * 2 : 100;
}

int sb_wait_until(int (*cond)(void *arg), void *arg, int timeout_ms)
{
	long long t0 = sb_now_ms();
	int pause = 10;

	for (;;) {
		if (cond(arg))
			return 0;
		if (sb_now_ms() - t0 >= timeout_ms)
			return -ETIMEDOUT;
		pause = sb_backoff(pause);
	}
}

/* "a" + "b" + "c", for the messages. */
static const char *sb_needles_str(const char *const *needles, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	for (; *needles && used < len; needles++)
		used += snprintf(buf + used, len - used, "%s'%s'", used ? " + " : "", *needles);
	return buf;
}

static int sb_count_file(const char *path, const char *const *needles)
{
	char *text = sb_slurp(path);
	int n = text ? sb_count_lines(text, needles) : 0;

	free(text);
	return n;
}

struct sb_lines_wait {
	const char *path;
	const char *const *needles;
	int count, seen;
};

static int sb_lines_reached(void *arg)
{
	struct sb_lines_wait *w = arg;

	w->seen = sb_count_file(w->path, w->needles);
	return w->seen >= w->count;
}

int sb_wait_lines(const char *path, const char *const *needles, int count, int timeout_ms)
{
	struct sb_lines_wait w = { .path = path, .needles = needles, .count = count };
	char what[512];

	if (sb_wait_until(sb_lines_reached, &w, timeout_ms))
		fprintf(stderr,
			"sandbox: gave up after %d ms waiting for %d line(s) with %s in %s: "
			"saw %d\n",
			timeout_ms, count, sb_needles_str(needles, what, sizeof(what)), path,
			w.seen);
	return w.seen;
}

int sb_wait_lines_settled(const char *path, const char *const *needles, int quiet_ms,
			  int timeout_ms)
{
	long long t0 = sb_now_ms(), changed = t0, now;
	int last = -1, n, pause = 10;
	char what[512];

	for (;;) {
		n = sb_count_file(path, needles);
		now = sb_now_ms();
		if (n != last) {
			last = n;
			changed = now;
		} else if (n > 0 && now - changed >= quiet_ms) {
			return n;
		}
		if (now - t0 >= timeout_ms)
			break;
		pause = sb_backoff(pause);
	}
	fprintf(stderr,
		"sandbox: the count of lines with %s in %s did not settle for %d ms "
		"within %d ms: last %d\n",
		sb_needles_str(needles, what, sizeof(what)), path, quiet_ms, timeout_ms, last);
	return -1;
}

struct sb_exit_wait {
	pid_t pid;
	int status, err;
};

static int sb_exited(void *arg)
{
	struct sb_exit_wait *w = arg;
	pid_t r = waitpid(w->pid, &w->status, WNOHANG);

	if (r < 0 && errno != EINTR)
		w->err = -errno;
	return r == w->pid || w->err;
}

int sb_wait_exit(pid_t pid, int timeout_ms, int *status)
{
	struct sb_exit_wait w = { .pid = pid };

	if (sb_wait_until(sb_exited, &w, timeout_ms)) {
		fprintf(stderr, "sandbox: process %d still running after %d ms\n", (int)pid,
			timeout_ms);
		return -ETIMEDOUT;
	}
	if (w.err)
		return w.err;
	*status = w.status;
	return 0;
}

struct sb_attach_wait {
	const char *dir;
	size_t hooks;
	int want, seen;
};

static int sb_attach_reached(void *arg)
{
	struct sb_attach_wait *w = arg;

	w->seen = sb_count_hooks(w->dir, w->hooks);
	return w->seen == w->want;
}

int sb_wait_attached(const char *dir, int hooks, int want, int timeout_ms)
{
	struct sb_attach_wait w = {
		.dir = dir,
		.hooks = hooks == SB_HOOKS_ALL ? sizeof(sb_hook_types) / sizeof(sb_hook_types[0]) :
						 SB_NR_BIND_HOOKS,
		.want = want,
	};

	if (sb_wait_until(sb_attach_reached, &w, timeout_ms))
		fprintf(stderr,
			"sandbox: gave up after %d ms waiting for %d program(s) on the %s "
			"hooks of %s: %d attached\n",
			timeout_ms, want, hooks == SB_HOOKS_ALL ? "bind and sockops" : "bind", dir,
			w.seen);
	return w.seen;
}
