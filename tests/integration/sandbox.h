/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * sandbox.h - the integration tests' sandbox: a throwaway child cgroup v2, network namespaces for
 * the workloads, the agent as a child process, and cleanup on every path (normal exit, failed
 * check, signal). Nothing is ever attached to the root cgroup and nothing is pinned. The
 * benchmark (bench/bindbench.c) builds its sandbox with it too.
 */
#ifndef BG_SANDBOX_H
#define BG_SANDBOX_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

#define SB_SKIP 77
#define SB_MAX_CGROUPS 16 /* child cgroups made with sb_mkcgroup() */

struct sb {
	char cg_root[PATH_MAX];
	char cg_dir[PATH_MAX]; /* the sandbox cgroup the agent attaches to */
	char cg_kids[SB_MAX_CGROUPS][64]; /* sb_mkcgroup()'s children of cg_dir, by name */
	int n_kids;
	char tmpdir[PATH_MAX]; /* scratch files: agent output, policies ($TMPDIR or /tmp) */
	char out_path[PATH_MAX]; /* agent --output */
	char err_path[PATH_MAX]; /* agent stderr */
	const char *bin; /* the bindguard binary ($BINDGUARD) */
	pid_t agent;
};

/*
 * Set up the sandbox: the cgroup <cgroup v2 root>/bg-test-NAME-PID-N and a scratch directory
 * bg-test-XXXXXX under $TMPDIR (default /tmp). SIGINT, SIGTERM, SIGHUP, SIGABRT, SIGSEGV and
 * exit() tear it down, in this process only (never in a forked child). Returns 0, SB_SKIP (reason
 * printed) or 1 (error printed).
 */
int sb_setup(struct sb *sb, const char *name);
/*
 * Stop the agent if running, run the teardown hooks, remove the child cgroups made with
 * sb_mkcgroup(), the cgroup and the scratch files. Idempotent.
 */
void sb_teardown(struct sb *sb);

/*
 * Make the child cgroup cg_dir/name (its path in buf), which sb_teardown() removes after the
 * hooks have run, killing what is left in it. name may nest ("a/b") below one made before.
 * 0 or -errno.
 */
int sb_mkcgroup(struct sb *sb, const char *name, char *buf, size_t len);

/* Move the calling process into a new network namespace with lo up. 0 or -errno. */
int sb_netns_new(void);

/*
 * Fill argv (max entries, the final NULL included) with `bindguard run --cgroup cgroup
 * [--output output] args...`; args is NULL-terminated. Returns the number of arguments, or
 * -E2BIG.
 */
int sb_agent_argv(const struct sb *sb, const char *cgroup, const char *output,
		  const char *const *args, const char **argv, size_t max);

/*
 * Start `bindguard run --cgroup <sandbox> --output <out> ARGS...` and wait for its ready line.
 * args is NULL-terminated. Returns 0, or -1 (the agent's stderr is printed).
 */
int sb_agent_start(struct sb *sb, const char *const *args);
/* SIGTERM the agent and wait. Returns its exit status (0..255), or -1 if it died by a signal. */
int sb_agent_stop(struct sb *sb);

/*
 * Run fn(arg) in a forked child. With in_cgroup the child first joins the sandbox cgroup; with
 * new_netns it unshares a fresh network namespace with lo up. Returns the child's exit status,
 * or -1 if it died by a signal.
 */
int sb_child(struct sb *sb, int in_cgroup, int new_netns, int (*fn)(void *), void *arg);

/*
 * Run argv (argv[0] is a path), capture stdout+stderr into out (NUL-terminated, truncated to
 * len), return the exit status or -1.
 */
int sb_exec(const char *const *argv, char *out, size_t len);

/* Number of programs attached to the sandbox cgroup on the four bind hooks, or -1. */
int sb_attached(const struct sb *sb);

/* Read a whole file (NUL-terminated, malloc'ed), or NULL. */
char *sb_slurp(const char *path);
/* Write a file under the scratch dir; returns its path in a static buffer per call slot. */
const char *sb_write_tmp(struct sb *sb, const char *name, const char *content);

/*
 * Count the lines of text that contain every needle (NULL-terminated list). A needle that ends
 * in a digit ("\"port\":N", "\"netns\":N") matches only when N is followed by a non-digit.
 */
int sb_count_lines(const char *text, const char *const *needles);

/* Simple checks that count failures instead of aborting, so cleanup always runs. */
extern int sb_failures;
extern int sb_checks;
#define SB_CHECK(cond, ...)                                                  \
	do {                                                                 \
		sb_checks++;                                                 \
		if (!(cond)) {                                               \
			sb_failures++;                                       \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);                        \
			fprintf(stderr, "\n");                               \
		}                                                            \
	} while (0)

/* Print "N passed, N failed" for this program and return its exit code. */
int sb_report(const char *name);

/* Bring lo up in the current netns; 0 or -errno. */
int sb_lo_up(void);

/*
 * Like sb_agent_start(), but attach the agent to cgroup (a child of the sandbox, never anything
 * above it). Returns 0 or -1.
 */
int sb_agent_start_cg(struct sb *sb, const char *cgroup, const char *const *args);

/*
 * Run fn(arg) first in sb_teardown(), before the agent's cgroup is removed: for foreign
 * programs and child cgroups a test made itself, so a failed check or a fatal signal still
 * detaches and removes them. Up to 8 hooks, run in reverse order of registration, each once.
 */
int sb_on_teardown(void (*fn)(void *), void *arg);

/* Move the calling process into the cgroup v2 directory dir. Returns 0 or -errno. */
int sb_join_cgroup(const char *dir);

/* The cgroup v2 directory the calling process is in now (outside the sandbox). 0 or -errno. */
int sb_self_cgroup(const struct sb *sb, char *buf, size_t len);

/*
 * rmdir a child cgroup of the sandbox, retrying while the kernel is still emptying it; a process
 * still in it is killed (cgroup.kill). 0 or -errno.
 */
int sb_rmdir_cgroup(const char *dir);

/*
 * Number of programs attached directly to cgroup dir on one attach type (an enum
 * bpf_attach_type value), or -1; with ids, copies up to 16 program ids.
 */
int sb_prog_count(const char *dir, int type, unsigned int *ids);
/* Programs on the four bind hooks and sockops of dir: all that bindguard attaches. */
int sb_attached_all(const char *dir);

/*
 * Path of a BPF object the tests build (build/tests/NAME): next to $BINDGUARD's tests/ dir,
 * else build/tests/. Returns buf, or NULL if it does not exist.
 */
const char *sb_bpf_object(const struct sb *sb, const char *name, char *buf, size_t len);

/* The unsigned number after "key": in one JSON line (key without quotes); -1 if absent. */
long long sb_json_num(const char *line, const char *key);

/*
 * State of one kernel feature ("on", "off" or "fallback") as `bindguard probe --format json`
 * reports it, for cases that need a feature the kernel may lack (the vmtest checks the probe
 * against each kernel's facts). NULL if the probe could not be run. Cached after the first call.
 */
const char *sb_kernel_feature(const struct sb *sb, const char *name);

struct bpf_object;

/*
 * Open and load the tests' foreign.bpf.o with every program this kernel can verify. Programs
 * that need bpf_set_retval() (5.18) are left unloaded on an older kernel (their fd is < 0) and
 * why says so. NULL (reason printed) if not even the rest loads.
 */
struct bpf_object *sb_foreign_open(const struct sb *sb, char *why, size_t len);

/*
 * Waiting. Every helper polls (10 ms at first, backing off to 100 ms) until its condition holds
 * or timeout_ms pass. On a timeout it prints one line on stderr saying what it waited for, how
 * long, and what it saw last, so the caller's check only has to say why it mattered.
 */

/* Poll cond(arg) until it returns nonzero. 0, or -ETIMEDOUT (nothing printed). */
int sb_wait_until(int (*cond)(void *arg), void *arg, int timeout_ms);

/*
 * Wait until at least count lines of the file at path contain every needle (as
 * sb_count_lines() counts them). Returns the last count seen: >= count, or less on a timeout.
 */
int sb_wait_lines(const char *path, const char *const *needles, int count, int timeout_ms);

/*
 * Wait until the number of lines of path that contain every needle is above 0 and has not
 * changed for quiet_ms: a writer draining a backlog has caught up. Returns that count, or -1
 * if it did not settle within timeout_ms.
 */
int sb_wait_lines_settled(const char *path, const char *const *needles, int quiet_ms,
			  int timeout_ms);

/*
 * Wait for the child pid to exit, without killing it. 0 with its wait status in *status (raw,
 * for WIFEXITED() and friends), or -ETIMEDOUT with the child still running.
 */
int sb_wait_exit(pid_t pid, int timeout_ms, int *status);

#define SB_HOOKS_BIND 0 /* the four bind hooks, as sb_attached() counts */
#define SB_HOOKS_ALL 1 /* the bind hooks and sockops, as sb_attached_all() counts */

/*
 * Wait until exactly want programs are attached to cgroup dir on the hooks (SB_HOOKS_*).
 * Returns the last count seen (-1 if the cgroup cannot be queried).
 */
int sb_wait_attached(const char *dir, int hooks, int want, int timeout_ms);

#endif /* BG_SANDBOX_H */
