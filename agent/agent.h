/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * agent.h - the running agent (`bindguard run`): its options and its one state struct, shared by
 * the modules that make it up: agent.c (start, the event loop, stop), reconcile.c (sockets that
 * already exist) and reload.c (SIGHUP).
 */
#ifndef BG_AGENT_H
#define BG_AGENT_H

#include <limits.h>
#include <linux/types.h>
#include <stddef.h>

#include "event_fmt.h"
#include "policy.h"

#define BG_MAX_SINKS 4
#define BG_OLD_POLICIES 2
#define BG_HELD_LISTENS 64

struct bg_run_opts {
	const char *policy_path; /* NULL: the built-in policy */
	const char *cgroup_path; /* NULL: the cgroup v2 root */
	struct bg_compile_opts copts; /* mode override, log-allowed */
	int format; /* BG_FORMAT_* for stdout, files and syslog */
	const char *outputs[BG_MAX_SINKS]; /* "stdout", "journal", "syslog" or a path */
	size_t n_outputs; /* 0: stdout */
	int syslog_facility; /* LOG_DAEMON or LOG_AUTH */
	int close_existing;
	int pin; /* pinned enforcement: outlives the agent, adopted by the next one */
	__u32 src_rate, src_burst; /* flood control: events a second and at once per source */
	const char *containerd_state; /* NULL: /run/containerd (pod names) */
	const char *metrics; /* --metrics [ADDR:]PORT for /metrics and /healthz, or NULL */
	int verbose;
};

struct bg_loader;
struct bg_metrics;
struct bg_sink;
struct bg_whois;
struct bg_scopes;
struct bg_pwatch;

struct bg_agent {
	const struct bg_run_opts *o;
	char cgroup[PATH_MAX]; /* the cgroup enforced on */
	struct bg_loader *loader;
	struct bg_compiled compiled;
	/*
	 * The live policy, and older ones for the events still queued: events carry the
	 * generation of the rule table that judged them, so an event queued across a reload (or,
	 * with --pin, made while no agent ran) keeps its rule's name and hint.
	 */
	struct bg_policy *policy;
	__u16 gen;
	struct bg_policy *old[BG_OLD_POLICIES];
	__u16 old_gen[BG_OLD_POLICIES];
	struct bg_sink *sinks[BG_MAX_SINKS];
	size_t n_sinks;
	int mirror_stderr; /* no sink is stdout: lifecycle records also go to stderr */
	__s64 mono_to_wall_ns; /* CLOCK_REALTIME - CLOCK_MONOTONIC, refreshed every tick */
	unsigned long long delivered; /* ring-buffer events written */
	unsigned long long existing; /* reconcile events (made by the agent) */
	unsigned long long closed; /* sockets closed by --close-existing */
	unsigned long long dropped_seen; /* kernel drops already reported */
	unsigned long long suppressed_seen; /* flood-control suppressions already reported */
	int more; /* the last drain stopped at its time budget with records left in the ring */
	int need_close; /* a denied listen was seen: close it again (--close-existing) */
	/*
	 * Listen events held until the close pass (--close-existing) says whether the socket was
	 * closed: only then is "deny" true. Bounded: past it, an event is written as "alert".
	 */
	struct bg_event held[BG_HELD_LISTENS];
	size_t n_held;
	struct bg_whois *whois; /* cgroup id -> path, unit, pod; pid -> executable */
	struct bg_scopes *scopes; /* the cgroups the policy's scopes take */
	struct bg_pwatch *pwatch; /* --policy's file, reloaded when it changes */
	int notify; /* started by systemd with NOTIFY_SOCKET */
	unsigned long long watchdog_usec; /* WatchdogSec, 0 if none */
	/* --metrics (metrics.c): the server, and the reloads it reports (counted in reload.c). */
	struct bg_metrics *metrics;
	unsigned long long reloads_ok, reloads_failed;
};

/* `bindguard run`: start, loop until SIGINT/SIGTERM, stop. Returns the exit code. */
int bg_agent_run(const struct bg_run_opts *o);

/* Write a kernel or reconcile event to every sink, with its rule from the right generation. */
void bg_agent_event(struct bg_agent *a, const struct bg_event *ev);

/* Write an agent record to every sink (and to stderr when no sink is stdout and loud is set). */
void bg_agent_record(struct bg_agent *a, const struct bg_record *r, int loud);

/* Write the held listen events: deny where the close pass closed the socket, else alert. */
void bg_agent_release_held(struct bg_agent *a);

/* Flush every sink. */
void bg_agent_flush(struct bg_agent *a);

/*
 * Judge every listener and bound UDP socket in every netns and report those in scope that break
 * the policy as "existing" events; with do_close, close the denied ones; only_closed reports just
 * those closed now. Returns the number reported or -errno. (reconcile.c)
 */
int bg_reconcile(struct bg_agent *a, int do_close, int only_closed, size_t *n_netns);

/*
 * SIGHUP, or the file changed: read the policy again and swap it in; a bad one keeps the old.
 * trigger names the cause in the reloaded / reload-failed record. (reload.c)
 */
void bg_agent_reload(struct bg_agent *a, const char *trigger);

/* Make np (generation gen) the live policy; the live one joins the old ones. (reload.c) */
void bg_agent_set_policy(struct bg_agent *a, struct bg_policy *np, __u16 gen);

#endif /* BG_AGENT_H */
