// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * itest_failsafe.c - enforcement outlives the agent, and logging failures never switch it off
 * (issue 8). Each case is a real attempt in the sandbox cgroup against the real agent:
 *
 *   kill9_bind_loop    a bind loop across kill -9 of a --pin agent and its restart
 *   sigterm_keeps      SIGTERM of a --pin agent; a restarted agent adopts
 *   unload             bindguard unload: refused while held, then nothing attached or pinned
 *   upgrade            build/variant/bindguard adopts the pins of build/bindguard, and back
 *   log_tmpfs_flood    --output on a small tmpfs: a uid 65534 flood, the disk full, then freed
 *   log_stdout_epipe   stdout a pipe whose reader exits
 *   log_full_from_start --output on a tmpfs that is full before the agent starts
 *   hostile_policy     FIFO, character devices and a directory as the policy path
 *   hostile_output     a planted symlink and a planted file in a sticky world-writable dir
 *
 * Cleanup on every path (sb_on_teardown): the bind loops are killed, the pins of the sandbox
 * cgroup are removed with `bindguard unload`, the tmpfs is unmounted. The agents run as
 * children of this process (PR_SET_PDEATHSIG) and sb_teardown() kills the one that runs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bindguard.h"
#include "sandbox.h"

#define NOBODY 65534
#define PORT 3306 /* mysql: loopback only in the built-in iRedMail policy */

static struct sb sb;
static char pin_dir[PATH_MAX]; /* BG_PIN_ROOT/cg<sandbox cgroup id> */
static unsigned long long cg_id;
static char variant_bin[PATH_MAX];
static char small_fs[PATH_MAX + 16]; /* the small tmpfs, mounted while small_mounted */
static int small_mounted;

/* --- Helpers ------------------------------------------------------------------------------- */

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	struct timespec t = { (time_t)s, (long)((s - (time_t)s) * 1e9) };

	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

/* bind() 0.0.0.0:PORT once on a fresh TCP socket; 0 or errno. */
static int bind_any(void)
{
	struct sockaddr_in s;
	int fd, one = 1, err = 0;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	s.sin_port = htons(PORT);
	if (bind(fd, (struct sockaddr *)&s, sizeof(s)) != 0)
		err = errno;
	close(fd);
	return err;
}

static int worker_bind_once(void *arg)
{
	(void)arg;
	return bind_any();
}

/* One bind of 0.0.0.0:PORT by a fresh root process in the sandbox cgroup and its own netns. */
static int bind_once(void)
{
	return sb_child(&sb, 1, 1, worker_bind_once, NULL);
}

static const char *errstr(int st)
{
	return st > 0 ? strerror(st) : st == 0 ? "bound" : "worker failed";
}

/* Count the lines of text containing needle. */
static int count_with(const char *text, const char *needle)
{
	const char *n[] = { needle, NULL };

	return text ? sb_count_lines(text, n) : 0;
}

/* The first (or with last, the last) line of text containing needle, malloc'ed; or NULL. */
static char *line_with(const char *text, const char *needle, int last)
{
	const char *p = text, *hit = NULL, *start;

	while (text && (p = strstr(p, needle))) {
		hit = p;
		if (!last)
			break;
		p++;
	}
	if (!hit)
		return NULL;
	for (start = hit; start > text && start[-1] != '\n'; start--)
		;
	return strndup(start, strcspn(start, "\n"));
}

/* A number in one of the agent's text lines on stderr: "key=N"; -1 if absent. */
static long long text_num(const char *line, const char *key)
{
	char needle[64];
	const char *p;

	if (!line)
		return -1;
	snprintf(needle, sizeof(needle), " %s=", key);
	p = strstr(line, needle);
	if (!p)
		return -1;
	return strtoll(p + strlen(needle), NULL, 10);
}

/* The N of the last "...; N records lost so far" warning in err, or -1. */
static long long last_lost_warning(const char *err)
{
	char *line = line_with(err, "records lost so far", 1), *p;
	long long n = -1;

	if (!line)
		return -1;
	p = strstr(line, "; ");
	while (p && strstr(p + 2, "; "))
		p = strstr(p + 2, "; ");
	if (p)
		n = strtoll(p + 2, NULL, 10);
	free(line);
	return n;
}

/* Every line of text is a whole JSON object (a cut-back partial write leaves no half line). */
static int whole_lines(const char *text)
{
	const char *line = text, *nl;
	size_t len;

	while (line && *line) {
		nl = strchr(line, '\n');
		if (!nl)
			return 0; /* the last line has no newline */
		len = (size_t)(nl - line);
		if (len < 2 || line[0] != '{' || line[len - 1] != '}')
			return 0;
		line = nl + 1;
	}
	return 1;
}

/*
 * Run argv with stdout and stderr in out (NUL-terminated, truncated to len). Returns the exit
 * status, -1 for a signal, -2 if it still ran after timeout_s (then it is killed). *secs: how
 * long it ran (CLOCK_MONOTONIC).
 */
static int run_timed(const char *const *argv, double timeout_s, double *secs, char *out, size_t len)
{
	char path[PATH_MAX + 16];
	double t0;
	char *text;
	pid_t pid;
	int st, fd;

	snprintf(path, sizeof(path), "%s/cmd.out", sb.tmpdir);
	t0 = now_s();
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		signal(SIGPIPE, SIG_DFL);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd < 0)
			_exit(126);
		dup2(fd, 1);
		dup2(fd, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	while (waitpid(pid, &st, WNOHANG) == 0) {
		if (now_s() - t0 > timeout_s) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			st = -2;
			break;
		}
		usleep(2000);
	}
	if (secs)
		*secs = now_s() - t0;
	text = sb_slurp(path);
	snprintf(out, len, "%s", text ? text : "");
	free(text);
	if (st == -2)
		return -2;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/*
 * Start `bin run --cgroup <sandbox> ARGS...` with its stdout on out_fd (-1: /dev/null) and its
 * stderr in sb.err_path. SIGPIPE goes back to its default first: this process ignores it, an
 * ignored signal stays ignored across exec, and the agent must be seen to ignore it itself.
 * The pid is also sb.agent, so sb_teardown() kills it on every path. -1 on error.
 */
static pid_t agent_spawn(const char *bin, const char *const *args, int out_fd)
{
	const char *argv[32];
	int n = 0, fd;
	pid_t pid;

	argv[n++] = bin;
	argv[n++] = "run";
	argv[n++] = "--cgroup";
	argv[n++] = sb.cg_dir;
	while (args && *args && n < 31)
		argv[n++] = *args++;
	argv[n] = NULL;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		signal(SIGPIPE, SIG_DFL);
		fd = open(sb.err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0)
			dup2(fd, 2);
		if (out_fd < 0)
			out_fd = open("/dev/null", O_WRONLY);
		if (out_fd >= 0)
			dup2(out_fd, 1);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	sb.agent = pid;
	return pid;
}

/*
 * Wait until the file path holds needle (1), the agent exits (0; its stderr is printed) or
 * timeout_s passes (0).
 */
static int wait_for(const char *path, const char *needle, double timeout_s)
{
	double t0 = now_s();
	char *text, *err;
	int st, found;

	for (;;) {
		text = sb_slurp(path);
		found = text && strstr(text, needle);
		free(text);
		if (found)
			return 1;
		if (sb.agent > 0 && waitpid(sb.agent, &st, WNOHANG) == sb.agent) {
			err = sb_slurp(sb.err_path);
			fprintf(stderr, "agent exited (status %d) before %s appeared: %s\n",
				WIFEXITED(st) ? WEXITSTATUS(st) : -1, needle, err ? err : "");
			free(err);
			sb.agent = -1;
			return 0;
		}
		if (now_s() - t0 > timeout_s) {
			fprintf(stderr, "%s did not appear in %s within %.0f s\n", needle, path,
				timeout_s);
			return 0;
		}
		usleep(10000);
	}
}

static int agent_alive(void)
{
	return sb.agent > 0 && waitpid(sb.agent, NULL, WNOHANG) == 0;
}

/* Kill whatever agent a failed case left running (its pins, if any, stay for the next step). */
static void agent_kill(void)
{
	if (sb.agent > 0) {
		kill(sb.agent, SIGKILL);
		waitpid(sb.agent, NULL, 0);
		sb.agent = -1;
	}
}

/* --- Bind loops ------------------------------------------------------------------------------ */

/*
 * A process in the sandbox cgroup and its own netns (as root or as uid 65534) that binds
 * 0.0.0.0:PORT on a new TCP socket in a loop until told to stop, and counts the outcomes in
 * shared memory.
 */
struct loop {
	volatile int stop;
	volatile int state; /* 0 starting, 1 looping, -1 setup failed */
	volatile long ok, eperm, other;
	volatile int other_errno;
};

#define NLOOPS 2
static struct loop *loops; /* MAP_SHARED, NLOOPS slots */
static pid_t loop_pids[NLOOPS];

static int loop_start(int slot, int uid)
{
	struct loop *l = &loops[slot];
	double t0;
	gid_t gid = (gid_t)uid;
	pid_t pid;
	int err;

	memset((void *)l, 0, sizeof(*l));
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (sb_join_cgroup(sb.cg_dir) || unshare(CLONE_NEWNET) || sb_lo_up()) {
			l->state = -1;
			_exit(126);
		}
		/* Root's work done (cgroup, netns): become the unprivileged user. */
		if (uid &&
		    (setgroups(0, NULL) || setgid(gid) || setuid(uid) || (int)geteuid() != uid)) {
			l->state = -1;
			_exit(126);
		}
		l->state = 1;
		while (!l->stop) {
			err = bind_any();
			if (err == EPERM) {
				l->eperm++;
			} else if (err == 0) {
				l->ok++;
			} else {
				l->other++;
				l->other_errno = err;
			}
		}
		_exit(0);
	}
	loop_pids[slot] = pid;
	t0 = now_s();
	while (l->state == 0 && now_s() - t0 < 10)
		usleep(1000);
	return l->state == 1 ? 0 : -1;
}

static void loop_stop(int slot)
{
	if (loop_pids[slot] <= 0)
		return;
	loops[slot].stop = 1;
	waitpid(loop_pids[slot], NULL, 0);
	loop_pids[slot] = 0;
}

/* Wait until a loop has been denied at least n times; 0 or -1 after timeout_s. */
static int loop_wait_denied(int slot, long n, double timeout_s)
{
	double t0 = now_s();

	while (loops[slot].eperm < n && now_s() - t0 < timeout_s)
		usleep(1000);
	return loops[slot].eperm >= n ? 0 : -1;
}

static void loops_kill(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < NLOOPS; i++) {
		if (loop_pids[i] > 0) {
			kill(loop_pids[i], SIGKILL);
			waitpid(loop_pids[i], NULL, 0);
			loop_pids[i] = 0;
		}
	}
}

/* --- Pinned state ---------------------------------------------------------------------------- */

static int pinned(void)
{
	return access(pin_dir, F_OK) == 0;
}

/* `bindguard unload --cgroup <sandbox>`: its exit status, output in out. */
static int unload(char *out, size_t len)
{
	const char *argv[] = { sb.bin, "unload", "--cgroup", sb.cg_dir, NULL };

	return run_timed(argv, 30, NULL, out, len);
}

/* Teardown: no agent runs any more (sb_teardown killed it), so the pins can go. */
static void unload_hook(void *arg)
{
	char out[1024];

	(void)arg;
	if (pinned() && unload(out, sizeof(out)) != 0)
		fprintf(stderr, "failsafe: cannot remove the pins of %s: %s", sb.cg_dir, out);
}

/* Start a case from nothing pinned and nothing attached. */
static int clean_start(void)
{
	char out[1024];

	agent_kill();
	if (pinned() && unload(out, sizeof(out)) != 0) {
		SB_CHECK(0, "unload before the case: %s", out);
		return -1;
	}
	SB_CHECK(sb_attached_all(sb.cg_dir) == 0, "nothing attached before the case");
	return 0;
}

/* The sum over CPUs of one counter of the pinned bg_stats map, or -1. */
static long long pinned_stat(int idx)
{
	char path[PATH_MAX + 32];
	long long sum = 0;
	__u64 *v;
	__u32 key = idx;
	int fd, ncpu, i;

	snprintf(path, sizeof(path), "%s/%s", pin_dir, BG_MAP_STATS);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -1;
	ncpu = libbpf_num_possible_cpus();
	v = ncpu > 0 ? calloc(ncpu, sizeof(*v)) : NULL;
	if (!v || bpf_map_lookup_elem(fd, &key, v) != 0) {
		sum = -1;
	} else {
		for (i = 0; i < ncpu; i++)
			sum += v[i];
	}
	free(v);
	close(fd);
	return sum;
}

/* The pinned meta record (struct bg_pin_meta); 0 or -1. */
static int pinned_meta(struct bg_pin_meta *m)
{
	char path[PATH_MAX + 32];
	__u32 key = 0;
	int fd, err;

	snprintf(path, sizeof(path), "%s/%s", pin_dir, BG_PIN_META);
	fd = bpf_obj_get(path);
	if (fd < 0)
		return -1;
	err = bpf_map_lookup_elem(fd, &key, m);
	close(fd);
	return err ? -1 : 0;
}

/* What holds cgroup/bind4 of the sandbox: the one program (id and tag) and the link. */
struct hook_info {
	int nprogs;
	__u32 prog_id;
	__u8 tag[BPF_TAG_SIZE];
	__u32 link_id;
};

static int bind4_info(struct hook_info *h)
{
	struct bpf_prog_info pinfo;
	struct bpf_link_info linfo;
	unsigned int ids[16];
	__u32 len, id = 0;
	int fd;

	memset(h, 0, sizeof(*h));
	h->nprogs = sb_prog_count(sb.cg_dir, BPF_CGROUP_INET4_BIND, ids);
	if (h->nprogs != 1)
		return -1;
	h->prog_id = ids[0];
	fd = bpf_prog_get_fd_by_id(ids[0]);
	if (fd < 0)
		return -1;
	memset(&pinfo, 0, sizeof(pinfo));
	len = sizeof(pinfo);
	if (bpf_obj_get_info_by_fd(fd, &pinfo, &len) != 0) {
		close(fd);
		return -1;
	}
	close(fd);
	memcpy(h->tag, pinfo.tag, sizeof(h->tag));
	while (bpf_link_get_next_id(id, &id) == 0) {
		fd = bpf_link_get_fd_by_id(id);
		if (fd < 0)
			continue;
		memset(&linfo, 0, sizeof(linfo));
		len = sizeof(linfo);
		if (bpf_obj_get_info_by_fd(fd, &linfo, &len) == 0 &&
		    linfo.type == BPF_LINK_TYPE_CGROUP && linfo.cgroup.cgroup_id == cg_id &&
		    linfo.cgroup.attach_type == BPF_CGROUP_INET4_BIND)
			h->link_id = linfo.id;
		close(fd);
	}
	return 0;
}

static const char *tag_str(const __u8 *tag)
{
	static char buf[2][2 * BPF_TAG_SIZE + 1];
	static int slot;
	char *p = buf[slot++ % 2];
	int i;

	for (i = 0; i < BPF_TAG_SIZE; i++)
		sprintf(p + 2 * i, "%02x", tag[i]);
	return p;
}

/* --- Sequence numbers ------------------------------------------------------------------------ */

struct seqs {
	long long *v;
	size_t n, cap;
};

static void seqs_add_text(struct seqs *s, const char *text)
{
	const char *line = text, *nl;
	long long *nv, q;

	while (line && *line) {
		nl = strchr(line, '\n');
		q = sb_json_num(line, "seq");
		if (q >= 0) {
			if (s->n == s->cap) {
				s->cap = s->cap ? s->cap * 2 : 4096;
				nv = realloc(s->v, s->cap * sizeof(*nv));
				if (!nv)
					return;
				s->v = nv;
			}
			s->v[s->n++] = q;
		}
		line = nl ? nl + 1 : NULL;
	}
}

/* The seq of the first (or, with last, the last) bind event of text; -1 if none. */
static long long bind_seq(const char *text, int last)
{
	char *line = line_with(text, "\"event\":\"bind\"", last);
	long long q = line ? sb_json_num(line, "seq") : -1;

	free(line);
	return q;
}

static int cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return x < y ? -1 : x > y;
}

/* The bind lines of text that come before its first line containing needle. */
static int binds_before(const char *text, const char *needle)
{
	const char *end = text ? strstr(text, needle) : NULL;
	char *head;
	int n;

	if (!end)
		return -1;
	head = strndup(text, end - text);
	n = count_with(head, "\"event\":\"bind\"");
	free(head);
	return n;
}

/* --- 1. kill -9 across a bind loop ------------------------------------------------------------ */

static void run_kill9_bind_loop(void)
{
	const char *pin[] = { "--pin", NULL };
	long long d_kill, d_stop, q_from, q_away, q_supp, q_dropped, events, dropped, a_last,
		b_first;
	long eperm_killed, eperm_spawn;
	char *out_a = NULL, *out_b = NULL, *adopted = NULL, *stop = NULL;
	struct bg_pin_meta meta;
	struct seqs s = { 0 };
	size_t i, dup = 0, distinct = 0;
	double t_kill, t_ready;
	int st, before;

	printf("--- kill9_bind_loop: kill -9 of a --pin agent during a bind loop, then a restart\n");
	if (clean_start())
		return;
	if (sb_agent_start(&sb, pin) != 0) {
		SB_CHECK(0, "agent start with --pin");
		return;
	}
	SB_CHECK(pinned(), "%s exists", pin_dir);
	if (loop_start(0, 0) != 0) {
		SB_CHECK(0, "bind loop start");
		goto out;
	}
	SB_CHECK(loop_wait_denied(0, 2000, 30) == 0, "the loop is denied before the kill (%ld)",
		 loops[0].eperm);
	/* The first agent has written some of them (its sink writes every 100 ms). */
	for (t_kill = now_s(); now_s() - t_kill < 10; usleep(10000)) {
		out_a = sb_slurp(sb.out_path);
		before = count_with(out_a, "\"event\":\"bind\"");
		free(out_a);
		if (before > 0)
			break;
	}
	sleep_s(0.25);
	kill(sb.agent, SIGKILL);
	waitpid(sb.agent, &st, 0);
	t_kill = now_s();
	sb.agent = -1;
	eperm_killed = loops[0].eperm;
	SB_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "the agent died of SIGKILL");
	d_kill = pinned_stat(BG_STAT_DROPPED);
	SB_CHECK(pinned_meta(&meta) == 0, "the pinned meta record is readable");
	SB_CHECK(sb_attached_all(sb.cg_dir) == 5, "5 programs still attached with no agent (%d)",
		 sb_attached_all(sb.cg_dir));
	out_a = sb_slurp(sb.out_path);
	/* A while with no agent at all: the denies queue in the pinned ring buffer. */
	sleep_s(0.3);
	eperm_spawn = loops[0].eperm;
	if (sb_agent_start(&sb, pin) != 0) {
		SB_CHECK(0, "restart with --pin");
		goto out;
	}
	t_ready = now_s();
	SB_CHECK(sb_attached_all(sb.cg_dir) == 5, "5 programs attached after the restart (%d)",
		 sb_attached_all(sb.cg_dir));
	sleep_s(0.5);
	loop_stop(0);
	sleep_s(0.3); /* the agent drains what the last binds queued */
	printf("  loop: %ld denied (%ld before the kill, %ld by the restart), %ld bound, %ld other;"
	       " no agent for %.2f s\n",
	       loops[0].eperm, eperm_killed, eperm_spawn, loops[0].ok, loops[0].other,
	       t_ready - t_kill);
	SB_CHECK(loops[0].ok == 0, "0 binds succeed across the kill and restart (%ld did)",
		 loops[0].ok);
	SB_CHECK(loops[0].other == 0, "no other errno in the loop (%ld, last %s)", loops[0].other,
		 strerror(loops[0].other_errno));
	SB_CHECK(loops[0].eperm > eperm_spawn, "the loop is denied after the restart too");
	st = sb_agent_stop(&sb);
	SB_CHECK(st == 0, "the restarted agent exits 0 on SIGTERM (%d)", st);
	d_stop = pinned_stat(BG_STAT_DROPPED);

	out_b = sb_slurp(sb.out_path);
	adopted = line_with(out_b, "\"state\":\"adopted\"", 0);
	stop = line_with(out_b, "\"state\":\"stopping\"", 0);
	SB_CHECK(adopted && stop, "adopted and stopping records in the restarted agent's output");
	if (!out_a || !adopted || !stop)
		goto out;
	q_from = sb_json_num(adopted, "delivered_from_queue");
	q_away = sb_json_num(adopted, "dropped_while_away");
	q_supp = sb_json_num(adopted, "suppressed_while_away");
	q_dropped = sb_json_num(adopted, "dropped");
	printf("  %s\n", adopted);
	SB_CHECK(q_from > 0, "delivered_from_queue %lld > 0", q_from);
	/* Queued while no agent ran = made after the kill and before the restart read the ring. */
	SB_CHECK(q_from + q_away + q_supp >= eperm_spawn - eperm_killed - 1,
		 "queue %lld + dropped %lld + suppressed %lld hold the %ld denies made while no "
		 "agent ran",
		 q_from, q_away, q_supp, eperm_spawn - eperm_killed);
	before = binds_before(out_b, "\"state\":\"adopted\"");
	SB_CHECK(before == q_from, "%d bind events written before the adopted record == %lld",
		 before, q_from);
	if (meta.dropped_seen != (__u64)d_kill)
		printf("  the killed agent had not reported %lld drops yet\n",
		       d_kill - (long long)meta.dropped_seen);
	SB_CHECK(d_kill >= 0 && q_away == q_dropped - (long long)meta.dropped_seen &&
			 q_dropped >= d_kill,
		 "dropped_while_away %lld == the drop counter's growth since the last report "
		 "(%lld at the kill, %llu reported, %lld at the adoption)",
		 q_away, d_kill, (unsigned long long)meta.dropped_seen, q_dropped);

	/* seq: the two outputs together cover 0..max, every gap being a counted drop. */
	seqs_add_text(&s, out_a);
	a_last = bind_seq(out_a, 1);
	b_first = bind_seq(out_b, 0);
	seqs_add_text(&s, out_b);
	if (s.n)
		qsort(s.v, s.n, sizeof(*s.v), cmp_ll);
	for (i = 0; i < s.n; i++) {
		if (i && s.v[i] == s.v[i - 1])
			dup++;
		else
			distinct++;
	}
	events = sb_json_num(stop, "events");
	dropped = sb_json_num(stop, "dropped");
	printf("  seq: %zu events in both outputs, seq 0..%lld, first agent's last %lld, the "
	       "restarted agent's first %lld; kernel: events %lld, dropped %lld (%lld at the "
	       "stop)\n",
	       distinct, s.n ? s.v[s.n - 1] : -1, a_last, b_first, events, dropped, d_stop);
	SB_CHECK(s.n > 0 && dup == 0, "%zu duplicate seq numbers", dup);
	SB_CHECK(s.n > 0 && s.v[0] == 0, "seq starts at 0 (%lld)", s.n ? s.v[0] : -1);
	SB_CHECK(s.n > 0 && events + dropped == s.v[s.n - 1] + 1,
		 "kernel events %lld + dropped %lld == last seq %lld + 1", events, dropped,
		 s.n ? s.v[s.n - 1] : -1);
	SB_CHECK(s.n > 0 && (long long)(s.v[s.n - 1] + 1 - distinct) == dropped,
		 "seq gaps %lld == dropped %lld (a gap not counted as a drop is an event lost "
		 "silently)",
		 s.n ? (long long)(s.v[s.n - 1] + 1 - distinct) : -1, dropped);
	SB_CHECK(a_last >= 0 && b_first > a_last,
		 "the restarted agent's seq continues (%lld > %lld)", b_first, a_last);
out:
	loop_stop(0);
	agent_kill();
	free(s.v);
	free(out_a);
	free(out_b);
	free(adopted);
	free(stop);
}

/* --- 2. SIGTERM --------------------------------------------------------------------------- */

/* From a clean start: a --pin agent started, then stopped with SIGTERM (the pins stay). 0 or -1. */
static int pin_then_stop(void)
{
	const char *pin[] = { "--pin", NULL };
	int st;

	if (clean_start())
		return -1;
	if (sb_agent_start(&sb, pin) != 0) {
		SB_CHECK(0, "agent start with --pin");
		return -1;
	}
	st = sb_agent_stop(&sb);
	SB_CHECK(st == 0, "exit 0 on SIGTERM (%d)", st);
	return 0;
}

static void run_sigterm_keeps(void)
{
	const char *pin[] = { "--pin", NULL };
	char *out = NULL, *adopted = NULL;
	int st;

	printf("--- sigterm_keeps: SIGTERM of a --pin agent keeps enforcing; a restart adopts\n");
	if (pin_then_stop())
		return;
	out = sb_slurp(sb.out_path);
	SB_CHECK(count_with(out, "\"state\":\"stopping\"") == 1, "a stopping record");
	free(out);
	SB_CHECK(pinned(), "the pins stay");
	SB_CHECK(sb_attached_all(sb.cg_dir) == 5, "5 programs still attached (%d)",
		 sb_attached_all(sb.cg_dir));
	st = bind_once();
	SB_CHECK(st == EPERM, "0.0.0.0:%d after the agent stopped: EPERM (%s)", PORT, errstr(st));
	if (sb_agent_start(&sb, pin) != 0) {
		SB_CHECK(0, "restart with --pin");
		return;
	}
	out = sb_slurp(sb.out_path);
	adopted = line_with(out, "\"state\":\"adopted\"", 0);
	SB_CHECK(adopted != NULL, "the restarted agent adopts");
	if (adopted) {
		SB_CHECK(sb_json_num(adopted, "delivered_from_queue") == 1 &&
				 sb_json_num(adopted, "dropped_while_away") == 0,
			 "it delivers the one deny made while none ran: %s", adopted);
		SB_CHECK(binds_before(out, "\"state\":\"adopted\"") == 1 &&
				 count_with(out, "\"verdict\":\"deny\"") == 1,
			 "one deny event, before the adopted record");
	}
	st = bind_once();
	SB_CHECK(st == EPERM, "0.0.0.0:%d after the adoption: EPERM (%s)", PORT, errstr(st));
	free(adopted);
	free(out);
	/* The adopted agent goes on running: unload is tried against it next. */
}

/* --- 3. unload ------------------------------------------------------------------------------ */

static void run_unload(void)
{
	const char *pin[] = { "--pin", NULL };
	char out[2048], pid[32];
	int st;

	printf("--- unload: refused while an agent holds the pins, then nothing is left\n");
	if (sb.agent <= 0 && sb_agent_start(&sb, pin) != 0) {
		SB_CHECK(0, "agent start with --pin");
		return;
	}
	SB_CHECK(pinned(), "pinned before the unload");
	st = unload(out, sizeof(out));
	snprintf(pid, sizeof(pid), "pid %d", (int)sb.agent);
	SB_CHECK(st == 1, "unload while an agent holds the pins: exit 1 (%d)", st);
	SB_CHECK(strchr(out, '\n') == out + strlen(out) - 1 && strstr(out, pid),
		 "one line naming the holder (%s): %s", pid, out);
	SB_CHECK(agent_alive(), "the agent still runs");
	SB_CHECK(pinned() && sb_attached_all(sb.cg_dir) == 5, "the refused unload changed nothing");
	st = bind_once();
	SB_CHECK(st == EPERM, "still EPERM after the refused unload (%s)", errstr(st));
	st = sb_agent_stop(&sb);
	SB_CHECK(st == 0, "the agent exits 0 on SIGTERM (%d)", st);
	st = unload(out, sizeof(out));
	SB_CHECK(st == 0 && strstr(out, "removed"), "unload: exit 0 (%d): %s", st, out);
	SB_CHECK(sb_attached_all(sb.cg_dir) == 0, "nothing attached after unload (%d)",
		 sb_attached_all(sb.cg_dir));
	SB_CHECK(!pinned(), "%s is gone", pin_dir);
	st = bind_once();
	SB_CHECK(st == 0, "0.0.0.0:%d binds after unload (%s)", PORT, errstr(st));
	st = unload(out, sizeof(out));
	SB_CHECK(st == 0 && strstr(out, "nothing is pinned"), "a second unload: exit 0 (%d): %s",
		 st, out);
}

/* --- 4. upgrade ----------------------------------------------------------------------------- */

static void run_upgrade(void)
{
	const char *pin[] = { "--pin", NULL };
	const char *orig = sb.bin;
	struct hook_info h0, h1, h2;
	char *out;
	int st, ok;

	printf("--- upgrade: build/variant adopts the pins of build/bindguard during a bind loop\n");
	if (access(variant_bin, X_OK) != 0) {
		/* make integration-bins always builds it; a copied tree (the vmtest's) may not. */
		printf("  SKIP upgrade: no variant build at %s (make integration-bins builds it)\n",
		       variant_bin);
		return;
	}
	if (clean_start())
		return;
	if (sb_agent_start(&sb, pin) != 0) {
		SB_CHECK(0, "agent start with --pin");
		return;
	}
	SB_CHECK(bind4_info(&h0) == 0, "one program on cgroup/bind4 (%d)", h0.nprogs);
	if (loop_start(0, 0) != 0) {
		SB_CHECK(0, "bind loop start");
		goto out;
	}
	SB_CHECK(loop_wait_denied(0, 500, 30) == 0, "the loop is denied (%ld)", loops[0].eperm);
	st = sb_agent_stop(&sb);
	SB_CHECK(st == 0, "the first agent exits 0 (%d)", st);

	sb.bin = variant_bin;
	ok = sb_agent_start(&sb, pin) == 0;
	sb.bin = orig;
	SB_CHECK(ok, "%s run --pin starts", variant_bin);
	if (!ok)
		goto out;
	out = sb_slurp(sb.out_path);
	SB_CHECK(count_with(out, "\"state\":\"adopted\"") == 1, "the variant adopts the pins");
	free(out);
	SB_CHECK(bind4_info(&h1) == 0, "one program on cgroup/bind4 after the upgrade (%d)",
		 h1.nprogs);
	printf("  bind4: prog %u tag %s link %u -> prog %u tag %s link %u\n", h0.prog_id,
	       tag_str(h0.tag), h0.link_id, h1.prog_id, tag_str(h1.tag), h1.link_id);
	SB_CHECK(memcmp(h0.tag, h1.tag, BPF_TAG_SIZE) != 0 && h0.prog_id != h1.prog_id,
		 "the variant's program replaced the original (tag %s -> %s)", tag_str(h0.tag),
		 tag_str(h1.tag));
	SB_CHECK(h0.link_id && h1.link_id == h0.link_id,
		 "in place: the same link (%u -> %u), updated", h0.link_id, h1.link_id);
	SB_CHECK(sb_attached_all(sb.cg_dir) == 5, "5 programs attached");
	sleep_s(0.3);
	st = sb_agent_stop(&sb);
	SB_CHECK(st == 0, "the variant exits 0 (%d)", st);

	if (sb_agent_start(&sb, pin) != 0) {
		SB_CHECK(0, "the original build adopts back");
		goto out;
	}
	out = sb_slurp(sb.out_path);
	SB_CHECK(count_with(out, "\"state\":\"adopted\"") == 1, "the original build adopts back");
	free(out);
	SB_CHECK(bind4_info(&h2) == 0, "one program on cgroup/bind4 after the downgrade (%d)",
		 h2.nprogs);
	printf("  bind4 back: prog %u tag %s link %u\n", h2.prog_id, tag_str(h2.tag), h2.link_id);
	SB_CHECK(memcmp(h2.tag, h0.tag, BPF_TAG_SIZE) == 0 && h2.prog_id != h1.prog_id &&
			 h2.link_id == h0.link_id,
		 "the original program is back in the same link (tag %s)", tag_str(h2.tag));
	sleep_s(0.3);
	st = sb_agent_stop(&sb);
	SB_CHECK(st == 0, "the original exits 0 (%d)", st);
out:
	/* Whatever happened (even a failed adoption), no bind may have gone through. */
	if (loop_pids[0] > 0) {
		loop_stop(0);
		printf("  loop: %ld denied, %ld bound, %ld other\n", loops[0].eperm, loops[0].ok,
		       loops[0].other);
		SB_CHECK(loops[0].ok == 0, "0 binds succeed across the upgrades (%ld did)",
			 loops[0].ok);
		SB_CHECK(loops[0].other == 0, "no other errno (%ld, last %s)", loops[0].other,
			 strerror(loops[0].other_errno));
	}
	agent_kill();
}

/* --- 4b. A flood the agent cannot keep up with ------------------------------------------------ */

/* SIGTERM the agent and wait up to timeout_s for it: its exit status, or -2 (killed). */
static int agent_term_within(double timeout_s, double *secs)
{
	double t0 = now_s();
	int st;

	if (sb.agent <= 0)
		return -1;
	kill(sb.agent, SIGTERM);
	while (waitpid(sb.agent, &st, WNOHANG) == 0) {
		if (now_s() - t0 > timeout_s) {
			kill(sb.agent, SIGKILL);
			waitpid(sb.agent, NULL, 0);
			sb.agent = -1;
			*secs = now_s() - t0;
			return -2;
		}
		usleep(10000);
	}
	sb.agent = -1;
	*secs = now_s() - t0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Wait up to timeout_s for path to hold needle n times, while the agent runs. */
static int wait_count(const char *path, const char *needle, int n, double timeout_s)
{
	double t0 = now_s();
	char *text;
	int found;

	do {
		text = sb_slurp(path);
		found = count_with(text, needle);
		free(text);
		if (found >= n)
			return 1;
		if (!agent_alive())
			return 0;
		usleep(20000);
	} while (now_s() - t0 < timeout_s);
	return 0;
}

/* Wait up to timeout_s for the agent's stderr to hold needle. */
static int err_has(const char *needle, double timeout_s)
{
	double t0 = now_s();
	char *err;
	int found;

	do {
		err = sb_slurp(sb.err_path);
		found = err && strstr(err, needle);
		free(err);
		if (found)
			return 1;
		usleep(20000);
	} while (now_s() - t0 < timeout_s);
	return 0;
}

/*
 * Two unthrottled flooders (--rate-limit 0) and an agent at nice 10: the ring refills faster than
 * the agent reads it, so every batch it takes is full. The agent must still come back to its
 * loop: the once-a-second drop reports go on, a restart on the pins becomes ready, and SIGTERM
 * stops it, all while the flood goes on. (Once, a full batch meant "read again" with no end: the
 * agent said nothing while it dropped, and neither started nor stopped until the flood did.)
 * The bounds below are liveness bounds, many times what is needed, not speed targets.
 */
static void run_flood_outpaces_agent(void)
{
	char out_path[PATH_MAX + 64];
	const char *args[] = { "--pin", "--output", out_path, "--rate-limit", "0", NULL };
	char *out = NULL, *adopted = NULL;
	double secs = 0;
	int st, i;

	printf("--- flood_outpaces_agent: 2 unthrottled flooders, the agent at nice 10\n");
	if (clean_start())
		return;
	snprintf(out_path, sizeof(out_path), "%s/flood.jsonl", sb.tmpdir);
	unlink(out_path);
	if (agent_spawn(sb.bin, args, -1) < 0 || !wait_for(out_path, "\"state\":\"ready\"", 30)) {
		SB_CHECK(0, "agent start with --pin --rate-limit 0");
		goto out;
	}
	SB_CHECK(setpriority(PRIO_PROCESS, (id_t)sb.agent, 10) == 0, "renice the agent: %s",
		 strerror(errno));
	for (i = 0; i < NLOOPS; i++) {
		if (loop_start(i, i ? NOBODY : 0) != 0) {
			SB_CHECK(0, "bind loop %d start", i);
			goto out;
		}
	}
	SB_CHECK(err_has("events dropped in the last second", 15),
		 "drop reports on stderr while the flood goes on");
	SB_CHECK(wait_count(out_path, "\"state\":\"dropping\"", 1, 5),
		 "a dropping record in the file");

	/* A restart on the pins adopts a ring that refills as it is read, and becomes ready. */
	agent_kill();
	if (agent_spawn(sb.bin, args, -1) < 0) {
		SB_CHECK(0, "restart with --pin");
		goto out;
	}
	setpriority(PRIO_PROCESS, (id_t)sb.agent, 10);
	SB_CHECK(wait_count(out_path, "\"state\":\"ready\"", 2, 30),
		 "the restart becomes ready during the flood");
	out = sb_slurp(out_path);
	adopted = line_with(out, "\"state\":\"adopted\"", 1);
	SB_CHECK(adopted != NULL, "it adopted the pins");
	if (adopted)
		printf("  %s\n", adopted);

	/* SIGTERM during the flood: the agent stops (its last drain has a budget). */
	sleep_s(1.0);
	st = agent_term_within(20, &secs);
	printf("  SIGTERM during the flood: exit %d after %.2f s\n", st, secs);
	SB_CHECK(st == 0, "exit 0 on SIGTERM during the flood (%d after %.1f s)", st, secs);
	SB_CHECK(err_has("bindguard: agent stopping", 0), "the stopping line on stderr");
out:
	for (i = 0; i < NLOOPS; i++) {
		if (loop_pids[i] > 0) {
			loop_stop(i);
			printf("  loop %d: %ld denied, %ld bound, %ld other\n", i, loops[i].eperm,
			       loops[i].ok, loops[i].other);
			SB_CHECK(loops[i].ok == 0 && loops[i].other == 0,
				 "loop %d: 0 binds succeed, no other errno", i);
		}
	}
	agent_kill();
	free(out);
	free(adopted);
	if (pinned()) {
		char msg[1024];

		SB_CHECK(unload(msg, sizeof(msg)) == 0, "unload after the case: %s", msg);
	}
	unlink(out_path);
}

/* --- 5. Log failures ---------------------------------------------------------------------------- */

static void small_umount(void *arg)
{
	(void)arg;
	if (!small_mounted)
		return;
	if (umount(small_fs) != 0 && umount2(small_fs, MNT_DETACH) != 0)
		fprintf(stderr, "failsafe: cannot unmount %s: %s\n", small_fs, strerror(errno));
	small_mounted = 0;
}

/* A fresh 256 KiB tmpfs at small_fs. 0 or -1. */
static int small_mount(void)
{
	small_umount(NULL);
	if (mkdir(small_fs, 0755) != 0 && errno != EEXIST)
		return -1;
	if (mount("bg-failsafe", small_fs, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "size=256k,mode=0755") != 0) {
		fprintf(stderr, "failsafe: mount tmpfs on %s: %s\n", small_fs, strerror(errno));
		return -1;
	}
	small_mounted = 1;
	return 0;
}

/* Write name in small_fs: bytes of it, or until the file system is full (bytes 0). */
static long long small_fill(const char *name, long long bytes)
{
	char path[PATH_MAX + 64], buf[4096];
	long long done = 0;
	ssize_t n;
	int fd;

	memset(buf, 'x', sizeof(buf));
	snprintf(path, sizeof(path), "%s/%s", small_fs, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	while (!bytes || done < bytes) {
		n = write(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		done += n;
	}
	close(fd);
	return done;
}

static long long small_free(void)
{
	struct statvfs v;

	if (statvfs(small_fs, &v) != 0)
		return -1;
	return (long long)v.f_bavail * v.f_bsize;
}

/* The sum of "key" over the lines of text that contain needle. */
static long long sum_json(const char *text, const char *needle, const char *key)
{
	const char *line = text, *nl;
	long long sum = 0, v;

	while (line && *line) {
		nl = strchr(line, '\n');
		if (strstr(line, needle) && (!nl || strstr(line, needle) < nl)) {
			v = sb_json_num(line, key);
			if (v > 0)
				sum += v;
		}
		line = nl ? nl + 1 : NULL;
	}
	return sum;
}

static int worker_bind_burst(void *arg)
{
	int i, n = *(int *)arg, denied = 0;

	for (i = 0; i < n; i++)
		denied += bind_any() == EPERM;
	return denied == n ? 0 : 1;
}

static void run_log_tmpfs_flood(void)
{
	char out_path[PATH_MAX + 64], filler[PATH_MAX + 64], filler2[PATH_MAX + 64];
	char *out = NULL, *err = NULL, *recovered = NULL, *stop = NULL, *mirror = NULL, *text;
	long long lost, rec_sum, rec_total, delivered, warn_n, records, in_file, free_flood;
	int st, warnings, drop_warn, drop_lines, works_again, rec_before, burst = 50;
	double t_flood, t_full = 0, t_freed, t_rec = 0, window;
	/* The flood control off: this is about the output failing (itest_faults checks it). */
	const char *args[] = { "--output", out_path, "--rate-limit", "0", NULL };

	printf("--- log_tmpfs_flood: --output on a 256 KiB tmpfs, a uid %d flood, the disk full\n",
	       NOBODY);
	if (clean_start() || small_mount() != 0) {
		SB_CHECK(0, "a 256 KiB tmpfs at %s", small_fs);
		return;
	}
	snprintf(out_path, sizeof(out_path), "%s/events.jsonl", small_fs);
	snprintf(filler, sizeof(filler), "%s/filler", small_fs);
	snprintf(filler2, sizeof(filler2), "%s/filler2", small_fs);
	SB_CHECK(small_fill("filler", 64 << 10) == 64 << 10, "a 64 KiB filler file");
	if (agent_spawn(sb.bin, args, -1) < 0 || !wait_for(out_path, "\"state\":\"ready\"", 30)) {
		SB_CHECK(0, "agent start with --output on the tmpfs");
		goto out;
	}

	/* 1. The unprivileged flood: the agent's writes fail. */
	if (loop_start(0, NOBODY) != 0) {
		SB_CHECK(0, "uid %d bind loop start", NOBODY);
		goto out;
	}
	t_flood = now_s();
	while (now_s() - t_flood < 30) {
		free(err);
		err = sb_slurp(sb.err_path);
		if (err && strstr(err, "records lost so far"))
			break;
		usleep(10000);
	}
	t_full = now_s();
	SB_CHECK(err && strstr(err, "No space left on device"),
		 "the agent says on stderr that it cannot write: %s", err ? err : "(none)");
	sleep_s(3.0);
	SB_CHECK(agent_alive(), "the agent still runs while its writes fail");
	free_flood = small_free();
	loop_stop(0);
	printf("  uid %d flood: %ld denied, %ld bound, %ld other; %lld bytes still free\n", NOBODY,
	       loops[0].eperm, loops[0].ok, loops[0].other, free_flood);
	SB_CHECK(loops[0].ok == 0 && loops[0].other == 0 && loops[0].eperm > 0,
		 "the flood was denied throughout: %ld denied, %ld bound, %ld other",
		 loops[0].eperm, loops[0].ok, loops[0].other);
	sleep_s(0.3);
	st = bind_once();
	SB_CHECK(st == EPERM, "EPERM after the flood (%s)", errstr(st));

	/*
	 * 2. The disk really full: fill what the flood's failed batches left free, then a burst
	 * of denies (about 30 KiB of records, more than the slack of a tmpfs page).
	 */
	SB_CHECK(small_fill("filler2", 0) >= 0 && small_free() == 0,
		 "the tmpfs is full (%lld "
		 "free)",
		 small_free());
	st = sb_child(&sb, 1, 1, worker_bind_burst, &burst);
	SB_CHECK(st == 0, "%d binds EPERM with the disk full", burst);
	sleep_s(0.3);
	SB_CHECK(agent_alive(), "the agent still runs with the disk full");
	text = sb_slurp(out_path);
	rec_before = count_with(text, "\"state\":\"sink-recovered\"");
	free(text);

	/* 3. Free the fillers: the next write works, and the agent says what was lost. */
	SB_CHECK(unlink(filler2) == 0 && unlink(filler) == 0, "rm the fillers: %s",
		 strerror(errno));
	t_freed = now_s();
	st = bind_once();
	SB_CHECK(st == EPERM, "EPERM after the space was freed (%s)", errstr(st));
	while (now_s() - t_freed < 10) {
		text = sb_slurp(out_path);
		if (count_with(text, "\"state\":\"sink-recovered\"") > rec_before)
			t_rec = now_s();
		free(text);
		if (t_rec > 0 || !agent_alive())
			break;
		usleep(10000);
	}
	SB_CHECK(t_rec > 0, "a sink-recovered record once the space was freed (%d before)",
		 rec_before);
	if (t_rec <= 0) {
		/* What the agent said, and the end of its file, to see why. */
		char *e = sb_slurp(sb.err_path), *o = sb_slurp(out_path);
		size_t el = e ? strlen(e) : 0, ol = o ? strlen(o) : 0;

		printf("  agent stderr (end):\n%s\n  file (end):\n%s\n",
		       e ? e + (el > 1500 ? el - 1500 : 0) : "",
		       o ? o + (ol > 1500 ? ol - 1500 : 0) : "");
		free(e);
		free(o);
	}
	st = bind_once();
	SB_CHECK(st == EPERM, "EPERM after the recovery (%s)", errstr(st));
	sleep_s(0.3);
	st = sb_agent_stop(&sb);
	SB_CHECK(st == 0, "exit 0 on SIGTERM (%d)", st);

	free(err);
	err = sb_slurp(sb.err_path);
	out = sb_slurp(out_path);
	recovered = line_with(out, "\"state\":\"sink-recovered\"", 1);
	stop = line_with(out, "\"state\":\"stopping\"", 0);
	mirror = line_with(err, "bindguard: agent stopping", 0);
	SB_CHECK(recovered && stop && mirror, "sink-recovered and stopping records, stopping "
					      "mirrored on stderr");
	if (!out || !err || !recovered || !stop || !mirror) {
		printf("  stopping: %s\n  stderr mirror: %s\n", stop ? stop : "(none)",
		       mirror ? mirror : "(none)");
		if (out && err) {
			size_t ol = strlen(out), el = strlen(err);

			printf("  file after stop (end):\n%s\n  stderr after stop (end):\n%s\n",
			       out + (ol > 2500 ? ol - 2500 : 0),
			       err + (el > 1500 ? el - 1500 : 0));
		}
		goto out;
	}
	printf("  %s\n  %s\n", recovered, stop);
	rec_sum = sum_json(out, "\"state\":\"sink-recovered\"", "lost");
	rec_total = sb_json_num(recovered, "lost_total");
	lost = sb_json_num(stop, "lost");
	delivered = sb_json_num(stop, "delivered");
	SB_CHECK(sb_json_num(recovered, "lost") > 0, "sink-recovered: lost %lld > 0",
		 sb_json_num(recovered, "lost"));
	SB_CHECK(
		lost > 0 && lost == rec_sum && rec_total == lost,
		"stopping lost %lld == what the sink-recovered records reported (%lld, total %lld)",
		lost, rec_sum, rec_total);
	SB_CHECK(text_num(mirror, "lost") == lost, "the stderr copy says lost=%lld too: %s", lost,
		 mirror);
	SB_CHECK(sb_json_num(stop, "denied") >= loops[0].eperm + burst + 3,
		 "the kernel denied the whole flood (%lld >= %ld)", sb_json_num(stop, "denied"),
		 loops[0].eperm + burst + 3);
	warn_n = last_lost_warning(err);
	SB_CHECK(warn_n > 0 && warn_n <= lost, "the last warning's count %lld <= lost %lld", warn_n,
		 lost);

	/* At most one warning a second while the writes failed, and not silence either. */
	warnings = count_with(err, "records lost so far");
	window = t_rec - t_flood;
	printf("  %d warnings in %.1f s of failing writes (the first after %.2f s); recovered "
	       "%.2f s after the space was freed\n",
	       warnings, window, t_full - t_flood, t_rec - t_freed);
	SB_CHECK(warnings >= 3 && warnings <= window + 1.5,
		 "%d warning lines for %.1f s of failure (at most one a second)", warnings, window);

	/*
	 * Every record is in the file or counted as lost: ready, the delivered events, one
	 * "dropping" record per drop warning and one sink-recovered per "works again" line.
	 */
	drop_warn = count_with(err, "events dropped in the last second");
	drop_lines = count_with(out, "\"state\":\"dropping\"");
	works_again = count_with(err, "works again");
	records = 1 + delivered + drop_warn + works_again;
	in_file = count_with(out, "{") - 1; /* every line but the stopping record */
	printf("  delivered %lld events; %lld records in the file before stopping (%d bind "
	       "events), %lld lost; %d drop reports (%d written), %d recoveries\n",
	       delivered, in_file, count_with(out, "\"event\":\"bind\""), lost, drop_warn,
	       drop_lines, works_again);
	SB_CHECK(in_file + lost == records,
		 "records in the file %lld + lost %lld == made %lld (ready + %lld events + %d drop "
		 "reports + %d recovered)",
		 in_file, lost, records, delivered, drop_warn, works_again);
	SB_CHECK(whole_lines(out), "every line of the file is a whole record");
out:
	loop_stop(0);
	agent_kill();
	small_umount(NULL);
	free(out);
	free(err);
	free(recovered);
	free(stop);
	free(mirror);
}

/*
 * A restart on pins whose stdout is a pipe nobody reads: the adoption delivers the queued
 * events before the event loop starts, and must already ignore SIGPIPE then (it once set up its
 * signals after that drain, so the first write killed it, and every restart died the same way).
 */
static void run_adopt_epipe(void)
{
	char file[PATH_MAX + 32];
	const char *both[] = { "--pin", "--output", "stdout", "--output", file, NULL };
	char *err;
	int p[2], st, i;

	printf("--- adopt_epipe: a --pin restart whose stdout is a pipe with no reader\n");
	snprintf(file, sizeof(file), "%s/adopt-epipe.jsonl", sb.tmpdir);
	if (pin_then_stop())
		return;
	for (i = 0; i < 3; i++) {
		st = bind_once();
		SB_CHECK(st == EPERM, "0.0.0.0:%d with no agent: EPERM (%s)", PORT, errstr(st));
	}
	if (pipe2(p, O_CLOEXEC) != 0) {
		SB_CHECK(0, "pipe: %s", strerror(errno));
		return;
	}
	close(p[0]); /* nobody will ever read it */
	st = agent_spawn(sb.bin, both, p[1]) < 0;
	close(p[1]);
	if (st) {
		SB_CHECK(0, "fork");
		return;
	}
	/* Its second output, a file, says when it is ready. */
	st = wait_for(file, "\"state\":\"ready\"", 30);
	err = sb_slurp(sb.err_path);
	SB_CHECK(st && agent_alive(), "the restart survives EPIPE in its adoption and is ready");
	SB_CHECK(err && strstr(err, "Broken pipe"), "it says stdout is broken: %s",
		 err ? err : "(none)");
	free(err);
	st = bind_once();
	SB_CHECK(st == EPERM, "0.0.0.0:%d: EPERM (%s)", PORT, errstr(st));
	st = sb_agent_stop(&sb);
	SB_CHECK(st == 0, "exit 0 on SIGTERM (%d)", st);
	agent_kill();
	if (pinned()) {
		char msg[1024];

		SB_CHECK(unload(msg, sizeof(msg)) == 0, "unload after the case: %s", msg);
	}
}

/* The reader of the agent's stdout: it reads up to the ready record, then exits. */
static int reader_until_ready(int fd)
{
	char buf[8192];
	size_t used = 0;
	ssize_t n;

	while (used < sizeof(buf) - 1 && (n = read(fd, buf + used, sizeof(buf) - 1 - used)) > 0) {
		used += n;
		buf[used] = '\0';
		if (strstr(buf, "\"state\":\"ready\""))
			return 0;
	}
	return 1;
}

static void run_log_stdout_epipe(void)
{
	const int n = 5;
	long long w1, w2, w3;
	double t0;
	char *err = NULL;
	int p[2], st, i, denied = 0;
	pid_t reader;

	printf("--- log_stdout_epipe: stdout is a pipe whose reader exits\n");
	if (clean_start())
		return;
	if (pipe2(p, O_CLOEXEC) != 0) {
		SB_CHECK(0, "pipe: %s", strerror(errno));
		return;
	}
	reader = fork();
	if (reader == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[1]);
		_exit(reader_until_ready(p[0]));
	}
	if (reader < 0 || agent_spawn(sb.bin, NULL, p[1]) < 0) {
		SB_CHECK(0, "fork");
		close(p[0]);
		close(p[1]);
		if (reader > 0) {
			kill(reader, SIGKILL);
			waitpid(reader, NULL, 0);
		}
		return;
	}
	close(p[0]);
	close(p[1]);
	/* The reader exits once it has read the ready record: nobody reads the pipe any more. */
	t0 = now_s();
	while (waitpid(reader, &st, WNOHANG) == 0 && now_s() - t0 < 30)
		usleep(10000);
	if (now_s() - t0 >= 30) {
		kill(reader, SIGKILL);
		waitpid(reader, &st, 0);
	}
	SB_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the reader saw the ready record and left");

	for (i = 0; i < n; i++)
		denied += bind_once() == EPERM;
	SB_CHECK(denied == n, "%d of %d binds EPERM with nobody reading stdout", denied, n);
	sleep_s(0.3);
	SB_CHECK(agent_alive(), "the agent survives EPIPE (SIGPIPE at its default when exec'ed)");
	err = sb_slurp(sb.err_path);
	SB_CHECK(err && strstr(err, "cannot write to stdout") && strstr(err, "Broken pipe"),
		 "it says it cannot write to stdout: %s", err ? err : "(none)");
	w1 = last_lost_warning(err);
	free(err);
	/* A warning at most once a second: the next failure after a second reports the count. */
	sleep_s(1.1);
	st = bind_once();
	SB_CHECK(st == EPERM, "still EPERM a second later (%s)", errstr(st));
	sleep_s(0.3);
	err = sb_slurp(sb.err_path);
	w2 = last_lost_warning(err);
	free(err);
	SB_CHECK(w2 == n + 1, "%d events lost and counted: the warning says %lld", n + 1, w2);
	sleep_s(1.1);
	SB_CHECK(agent_alive(), "still running");
	st = sb_agent_stop(&sb);
	SB_CHECK(st == 0, "SIGTERM: exit 0, not a signal (%d)", st);
	err = sb_slurp(sb.err_path);
	w3 = last_lost_warning(err);
	printf("  lost so far: %lld after the first failure, %lld, then %lld with the stopping "
	       "record\n",
	       w1, w2, w3);
	SB_CHECK(w3 == n + 2, "the stopping record is lost and counted too: %lld", w3);
	SB_CHECK(count_with(err, "records lost so far") <= 4, "%d warning lines",
		 count_with(err, "records lost so far"));
	free(err);
	SB_CHECK(sb_attached_all(sb.cg_dir) == 0, "nothing attached after the stop");
}

static void run_log_full_from_start(void)
{
	char out_path[PATH_MAX + 64], *err = NULL, *mirror = NULL, *text;
	const char *args[] = { "--output", out_path, NULL };
	const int n = 5;
	long long filled, lost, delivered;
	struct stat stt;
	int st, i, denied = 0;

	printf("--- log_full_from_start: --output on a tmpfs that is full before the start\n");
	if (clean_start() || small_mount() != 0) {
		SB_CHECK(0, "a 256 KiB tmpfs at %s", small_fs);
		return;
	}
	filled = small_fill("filler", 0);
	SB_CHECK(filled > 0 && small_free() == 0,
		 "the tmpfs is full (%lld bytes written, %lld "
		 "free)",
		 filled, small_free());
	snprintf(out_path, sizeof(out_path), "%s/events.jsonl", small_fs);
	if (agent_spawn(sb.bin, args, -1) < 0 ||
	    !wait_for(sb.err_path, "bindguard: agent ready", 30)) {
		SB_CHECK(0, "the agent starts with its output full");
		goto out;
	}
	for (i = 0; i < n; i++)
		denied += bind_once() == EPERM;
	SB_CHECK(denied == n, "%d of %d binds EPERM", denied, n);
	sleep_s(0.3);
	SB_CHECK(agent_alive(), "the agent runs");
	err = sb_slurp(sb.err_path);
	SB_CHECK(err && strstr(err, "No space left on device") && strstr(err, out_path),
		 "stderr says it cannot write to %s: %s", out_path, err ? err : "(none)");
	free(err);
	st = sb_agent_stop(&sb);
	SB_CHECK(st == 0, "SIGTERM: exit 0 (%d)", st);
	err = sb_slurp(sb.err_path);
	mirror = line_with(err, "bindguard: agent stopping", 0);
	lost = text_num(mirror, "lost");
	delivered = text_num(mirror, "delivered");
	printf("  %s\n", mirror ? mirror : "(no stopping line on stderr)");
	SB_CHECK(mirror && lost > 0, "stopping mirrored on stderr with lost %lld > 0", lost);
	SB_CHECK(delivered == n && lost == 1 + delivered,
		 "every record lost and counted: lost %lld == ready + %lld events", lost,
		 delivered);
	text = sb_slurp(out_path);
	SB_CHECK(stat(out_path, &stt) == 0 && stt.st_size == 0 && text && !*text,
		 "nothing (not half a line) in the full file");
	free(text);
	SB_CHECK(sb_attached_all(sb.cg_dir) == 0, "nothing attached after the stop");
out:
	agent_kill();
	small_umount(NULL);
	free(err);
	free(mirror);
}

/* --- 6. Hostile paths ---------------------------------------------------------------------------- */

static void hostile_policy(const char *what, const char *path)
{
	char out_path[PATH_MAX + 32], out[4096];
	const char *check[] = { sb.bin, "check", path, NULL };
	const char *run[] = { sb.bin, "run",	  "--cgroup", sb.cg_dir, "--policy",
			      path,   "--output", out_path,   NULL };
	double secs = 0;
	int st;

	snprintf(out_path, sizeof(out_path), "%s/hostile.jsonl", sb.tmpdir);
	st = run_timed(check, 10, &secs, out, sizeof(out));
	printf("  check %s: exit %d in %.3f s: %s", what, st, secs, out);
	SB_CHECK(st == 2 && secs < 1.0, "check %s: exit 2 (%d) in under a second (%.3f s)", what,
		 st, secs);
	SB_CHECK(strchr(out, '\n') == out + strlen(out) - 1, "check %s: one line: %s", what, out);
	st = run_timed(run, 10, &secs, out, sizeof(out));
	printf("  run --policy %s: exit %d in %.3f s: %s", what, st, secs, out);
	SB_CHECK(st == 2 && secs < 1.0, "run --policy %s: exit 2 (%d) in under a second (%.3f s)",
		 what, st, secs);
	SB_CHECK(strchr(out, '\n') == out + strlen(out) - 1, "run %s: one line: %s", what, out);
	SB_CHECK(sb_attached_all(sb.cg_dir) == 0 && !pinned(), "run %s: nothing attached", what);
}

static void run_hostile_policy(void)
{
	char fifo[PATH_MAX + 16], dir[PATH_MAX + 16];

	printf("--- hostile_policy: a FIFO, character devices and a directory as the policy\n");
	if (clean_start())
		return;
	snprintf(fifo, sizeof(fifo), "%s/policy.fifo", sb.tmpdir);
	snprintf(dir, sizeof(dir), "%s/policy.d", sb.tmpdir);
	SB_CHECK(mkfifo(fifo, 0600) == 0, "mkfifo: %s", strerror(errno));
	SB_CHECK(mkdir(dir, 0700) == 0, "mkdir: %s", strerror(errno));
	hostile_policy("a FIFO nobody writes to", fifo);
	hostile_policy("/dev/null", "/dev/null");
	hostile_policy("/dev/zero", "/dev/zero");
	hostile_policy("a directory", dir);
}

/* As uid 65534: plant a symlink to target and a regular file in the sticky dir. */
struct plant {
	const char *target, *link, *file;
};

static int worker_plant(void *arg)
{
	const struct plant *p = arg;
	int fd;

	if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
		return 126;
	if (symlink(p->target, p->link) != 0)
		return 1;
	fd = open(p->file, O_WRONLY | O_CREAT | O_EXCL, 0666);
	if (fd < 0 || write(fd, "planted\n", 8) != 8)
		return 2;
	close(fd);
	return 0;
}

/*
 * run --output path must be refused with exit 2 and one line saying why (or why2, when not
 * NULL), and leave nothing attached.
 */
static void output_refused(const char *what, const char *path, const char *why, const char *why2)
{
	const char *run[] = { sb.bin, "run", "--cgroup", sb.cg_dir, "--output", path, NULL };
	char out[4096];
	double secs = 0;
	int st;

	st = run_timed(run, 30, &secs, out, sizeof(out));
	printf("  --output %s: exit %d in %.3f s: %s", what, st, secs, out);
	SB_CHECK(st == 2, "--output %s: exit 2 (%d)", what, st);
	SB_CHECK((strstr(out, why) || (why2 && strstr(out, why2))) &&
			 strchr(out, '\n') == out + strlen(out) - 1,
		 "--output %s: one line saying \"%s\": %s", what, why, out);
	SB_CHECK(sb_attached_all(sb.cg_dir) == 0, "--output %s: nothing attached", what);
}

static void run_hostile_output(void)
{
	char sticky[PATH_MAX + 16], target[PATH_MAX + 16], link[PATH_MAX + 32];
	char file[PATH_MAX + 32], mine[PATH_MAX + 32], rootlink[PATH_MAX + 32], *text;
	const char *args[] = { "--output", mine, NULL };
	struct plant p = { target, link, file };
	struct stat before, after, lst;
	int st;

	printf("--- hostile_output: planted files in a sticky world-writable directory\n");
	if (clean_start())
		return;
	snprintf(sticky, sizeof(sticky), "%s/sticky", sb.tmpdir);
	snprintf(target, sizeof(target), "%s/root-owned.log", sb.tmpdir);
	snprintf(link, sizeof(link), "%s/events.jsonl", sticky);
	snprintf(file, sizeof(file), "%s/planted.jsonl", sticky);
	snprintf(mine, sizeof(mine), "%s/mine.jsonl", sticky);
	snprintf(rootlink, sizeof(rootlink), "%s/rootlink.jsonl", sb.tmpdir);
	/* uid 65534 must reach the sticky dir: let others through the scratch dir (not list it). */
	if (chmod(sb.tmpdir, 0711) != 0 || mkdir(sticky, 0755) != 0 || chmod(sticky, 01777) != 0 ||
	    !sb_write_tmp(&sb, "root-owned.log", "root's own file\n")) {
		SB_CHECK(0, "the sticky dir and the root-owned file: %s", strerror(errno));
		return;
	}
	st = sb_child(&sb, 0, 0, worker_plant, &p);
	SB_CHECK(st == 0, "uid %d plants a symlink and a file (%d)", NOBODY, st);
	SB_CHECK(lstat(link, &lst) == 0 && S_ISLNK(lst.st_mode) && lst.st_uid == NOBODY,
		 "the symlink is uid %d's", NOBODY);
	stat(target, &before);
	/*
	 * The kernel itself refuses O_CREAT through another user's symlink in a sticky
	 * world-writable dir (may_create_in_sticky(): EACCES), before O_NOFOLLOW's ELOOP.
	 */
	output_refused("a symlink planted by uid 65534", link, "symbolic link",
		       "Permission denied");
	/* So O_NOFOLLOW is tried on its own: root's symlink in root's 0755 dir. */
	SB_CHECK(symlink(target, rootlink) == 0, "symlink: %s", strerror(errno));
	output_refused("a symlink root made in a private dir", rootlink, "symbolic link", NULL);
	text = sb_slurp(target);
	SB_CHECK(stat(target, &after) == 0 && after.st_size == before.st_size &&
			 after.st_mtim.tv_sec == before.st_mtim.tv_sec &&
			 after.st_mtim.tv_nsec == before.st_mtim.tv_nsec && text &&
			 !strcmp(text, "root's own file\n"),
		 "the symlink's root-owned target is unchanged");
	free(text);
	output_refused("a file planted by uid 65534", file, "owned by uid 65534", NULL);
	text = sb_slurp(file);
	SB_CHECK(text && !strcmp(text, "planted\n"), "the planted file is unchanged");
	free(text);

	/* A file the agent's user owns there is fine. */
	st = open(mine, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	SB_CHECK(st >= 0, "root's file in the sticky dir: %s", strerror(errno));
	if (st >= 0)
		close(st);
	if (agent_spawn(sb.bin, args, -1) < 0 || !wait_for(mine, "\"state\":\"ready\"", 30)) {
		SB_CHECK(0, "--output a root-owned file in the sticky dir is accepted");
	} else {
		st = sb_agent_stop(&sb);
		SB_CHECK(st == 0, "and the agent stops with exit 0 (%d)", st);
	}
	agent_kill();
	chmod(sb.tmpdir, 0700);
}

int main(void)
{
	struct {
		const char *name;
		void (*fn)(void);
	} cases[] = {
		{ "kill9_bind_loop", run_kill9_bind_loop },
		{ "sigterm_keeps", run_sigterm_keeps },
		{ "unload", run_unload },
		{ "upgrade", run_upgrade },
		{ "flood_outpaces_agent", run_flood_outpaces_agent },
		{ "log_tmpfs_flood", run_log_tmpfs_flood },
		{ "log_stdout_epipe", run_log_stdout_epipe },
		{ "adopt_epipe", run_adopt_epipe },
		{ "log_full_from_start", run_log_full_from_start },
		{ "hostile_policy", run_hostile_policy },
		{ "hostile_output", run_hostile_output },
	};
	const char *slash;
	struct stat st;
	double t0 = now_s(), t;
	size_t i;
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	rc = sb_setup(&sb, "failsafe");
	if (rc)
		return rc;
	loops = mmap(NULL, NLOOPS * sizeof(*loops), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (loops == MAP_FAILED || stat(sb.cg_dir, &st) != 0) {
		perror("failsafe: setup");
		sb_teardown(&sb);
		return 1;
	}
	cg_id = st.st_ino;
	snprintf(pin_dir, sizeof(pin_dir), "%s/cg%llu", BG_PIN_ROOT, cg_id);
	slash = strrchr(sb.bin, '/');
	snprintf(variant_bin, sizeof(variant_bin), "%.*svariant/bindguard",
		 slash ? (int)(slash - sb.bin + 1) : 0, sb.bin);
	snprintf(small_fs, sizeof(small_fs), "%s/small", sb.tmpdir);
	/* Undone in reverse: the loops first, then the pins, then the tmpfs. */
	sb_on_teardown(small_umount, NULL);
	sb_on_teardown(unload_hook, NULL);
	sb_on_teardown(loops_kill, NULL);

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t = now_s();
		cases[i].fn();
		printf("  (%s: %.1f s)\n", cases[i].name, now_s() - t);
	}
	printf("itest_failsafe took %.1f s\n", now_s() - t0);

	sb_teardown(&sb);
	SB_CHECK(!small_mounted && access(pin_dir, F_OK) != 0,
		 "nothing pinned or mounted after the teardown");
	return sb_report("itest_failsafe");
}
