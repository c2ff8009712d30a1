// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * agent.c - `bindguard run`: start, the event loop, stop.
 *
 * One thread, one epoll set: the ring buffer's epoll fd (records submitted with a wakeup), a
 * signalfd (SIGINT/SIGTERM stop, SIGHUP reloads, SIGUSR1 reopens the output files) and a 100 ms
 * timerfd. Each tick consumes what was submitted without a wakeup, flushes the sinks and, once a
 * second, checks that the hooks are still attached and reports drops while they happen.
 *
 * Nothing that happens to the output stops the agent: a sink that fails counts what it loses and
 * says so (sink.c), and the kernel goes on enforcing either way.
 */
#include <errno.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <systemd/sd-daemon.h>

#include "agent.h"
#include "commands.h"
#include "kfeatures.h"
#include "loader.h"
#include "log.h"
#include "metrics.h"
#include "pin.h"
#include "policy_watch.h"
#include "scopes.h"
#include "sink.h"
#include "whois.h"
#include "cgroup.h"

#ifndef BG_VERSION
#define BG_VERSION "0.0.0"
#endif

#define BG_TICK_MS 100 /* also bounds how long an event submitted without a wakeup waits */

static void refresh_clock(struct bg_agent *a)
{
	struct timespec rt, mono;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	a->mono_to_wall_ns = ((__s64)rt.tv_sec - mono.tv_sec) * 1000000000LL +
			     ((__s64)rt.tv_nsec - mono.tv_nsec);
}

void bg_agent_flush(struct bg_agent *a)
{
	size_t i;

	for (i = 0; i < a->n_sinks; i++)
		bg_sink_flush(a->sinks[i]);
}

void bg_agent_record(struct bg_agent *a, const struct bg_record *r, int loud)
{
	struct bg_strbuf sb = BG_STRBUF_INIT;
	size_t i;

	for (i = 0; i < a->n_sinks; i++)
		bg_sink_emit(a->sinks[i], r);
	/* With the events in a file or the journal, an operator still sees start and reloads. */
	if (loud && a->mirror_stderr && bg_record_summary(&sb, r) == 0)
		bg_log(BG_LOG_INFO, "%s\n", sb.buf);
	bg_strbuf_release(&sb);
}

void bg_agent_event(struct bg_agent *a, const struct bg_event *ev)
{
	const struct bg_policy *p = NULL;
	struct bg_event_meta m = { 0 };
	struct timespec wall;
	struct bg_record r;
	size_t i;
	__s64 ns;

	if (ev->gen == a->gen) {
		p = a->policy;
	} else {
		for (i = 0; i < BG_OLD_POLICIES && !p; i++)
			if (a->old[i] && ev->gen == a->old_gen[i])
				p = a->old[i];
	}
	if (p && ev->rule_id >= 1 && ev->rule_id <= p->n_rules)
		m.rule = &p->rules[ev->rule_id - 1];
	if (p && ev->scope >= 1 && ev->scope <= p->n_scopes)
		m.scope = p->scopes[ev->scope - 1].name;
	if (a->whois && !(ev->flags & BG_EV_F_NO_TASK)) {
		const struct bg_whois_entry *w = bg_whois_get(a->whois, ev->cgroup_id);

		m.exe = bg_whois_exe(a->whois, ev->pid);
		m.cgroup = w->path[0] ? w->path : NULL;
		m.unit = w->info.unit[0] ? w->info.unit : NULL;
		m.pod = w->have_pod ? &w->pod : NULL;
	}
	ns = (__s64)ev->ts_ns + a->mono_to_wall_ns;
	if (ns < 0)
		ns = 0; /* a clock set before 1970: print the epoch rather than lose the event */
	wall.tv_sec = ns / 1000000000LL;
	wall.tv_nsec = ns % 1000000000LL;
	m.wall = &wall;
	if (bg_record_event(&r, ev, &m) != 0) {
		for (i = 0; i < a->n_sinks; i++)
			bg_sink_lost(a->sinks[i], 1, EINVAL);
		return;
	}
	for (i = 0; i < a->n_sinks; i++)
		bg_sink_emit(a->sinks[i], &r);
	bg_metrics_count_event(a->metrics, &r); /* --metrics: by event, verdict and rule */
}

/*
 * Ring-buffer callback. A verdict says what bindguard did: the kernel judges a listen as it
 * would a bind, but a listen cannot be refused, so its "deny" is true only once --close-existing
 * has closed the socket. Until the close pass runs (this tick), such an event is held; without
 * --close-existing it is an alert (the rule's action still says deny).
 */
static int on_event(void *ctx, const struct bg_event *ev)
{
	struct bg_agent *a = ctx;
	struct bg_event alert;

	a->delivered++;
	if (ev->type == BG_EVENT_LISTEN && ev->verdict == BG_VERDICT_DENY) {
		if (a->o->close_existing) {
			/* A closed listener can listen() again on the same fd: close it again. */
			a->need_close = 1;
			if (a->n_held < BG_HELD_LISTENS) {
				a->held[a->n_held++] = *ev;
				return 0;
			}
		}
		alert = *ev;
		alert.verdict = BG_VERDICT_ALERT;
		bg_agent_event(a, &alert);
		return 0;
	}
	bg_agent_event(a, ev);
	return 0;
}

void bg_agent_release_held(struct bg_agent *a)
{
	size_t i;

	for (i = 0; i < a->n_held; i++) {
		if (!(a->held[i].flags & BG_EV_F_CLOSED))
			a->held[i].verdict = BG_VERDICT_ALERT;
		bg_agent_event(a, &a->held[i]);
	}
	a->n_held = 0;
}

static int open_sinks(struct bg_agent *a)
{
	const struct bg_run_opts *o = a->o;
	const char *def[] = { "stdout" };
	const char *const *outs = o->n_outputs ? o->outputs : def;
	size_t n = o->n_outputs ? o->n_outputs : 1, i;
	struct bg_sink *s;
	char why[512];
	int err = 0;

	a->mirror_stderr = 1;
	for (i = 0; i < n; i++) {
		why[0] = '\0';
		if (!strcmp(outs[i], "stdout") || !strcmp(outs[i], "-")) {
			s = bg_sink_stdout_new(o->format);
			a->mirror_stderr = 0;
		} else if (!strcmp(outs[i], "journal")) {
			s = bg_sink_journal_new(&err, why, sizeof(why));
		} else if (!strcmp(outs[i], "syslog")) {
			s = bg_sink_syslog_new(o->syslog_facility, o->format, &err, why,
					       sizeof(why));
		} else {
			s = bg_sink_file_new(outs[i], o->format, &err, why, sizeof(why));
		}
		if (!s) {
			bg_err("cannot use output %s: %s\n", outs[i],
			       why[0] ? why : "out of memory");
			return EXIT_USAGE;
		}
		a->sinks[a->n_sinks++] = s;
	}
	return 0;
}

static void write_ready(struct bg_agent *a, size_t n_netns)
{
	const struct bg_features *f = bg_loader_features(a->loader);
	struct bg_strbuf feats = BG_STRBUF_INIT;
	struct timespec now;
	struct bg_record r;
	__u8 mode;

	clock_gettime(CLOCK_REALTIME, &now);
	mode = a->o->copts.mode_override >= 0 ? (__u8)a->o->copts.mode_override : a->policy->mode;
	bg_features_json_map(&feats, f);
	if (bg_record_agent(&r, "ready", &now, LOG_INFO) == 0) {
		bg_record_str(&r, "version", BG_VERSION);
		bg_record_uint(&r, "pid", (unsigned long long)getpid());
		bg_record_str(&r, "mode", bg_mode_str(mode));
		bg_record_str(&r, "policy", a->policy->name);
		bg_record_str(&r, "source", a->policy->source);
		bg_record_uint(&r, "rules", a->policy->n_rules);
		bg_record_uint(&r, "scopes", a->policy->n_scopes);
		bg_record_str(&r, "cgroup", a->cgroup);
		bg_record_uint(&r, "existing", a->existing);
		bg_record_uint(&r, "closed", a->closed);
		bg_record_uint(&r, "netns_walked", n_netns);
		bg_record_uint(&r, "rate_limit", a->o->src_rate);
		bg_record_uint(&r, "rate_burst", a->o->src_burst);
		bg_record_bool(&r, "pinned", a->o->pin);
		if (a->metrics) /* --metrics: the address served, with the port if it was 0 */
			bg_record_str(&r, "metrics", bg_metrics_addr(a->metrics));
		bg_record_str(&r, "kernel", f->kernel);
		bg_record_json(&r, "features", feats.err ? NULL : feats.buf);
		bg_agent_record(a, &r, 1);
	}
	bg_strbuf_release(&feats);
	bg_agent_flush(a);
	if (a->notify)
		sd_notifyf(0, "READY=1\nSTATUS=enforcing %s on %s (%s mode)", a->policy->source,
			   a->cgroup, bg_mode_str(mode));
}

/* The counters, in the stopping record and in the periodic drop reports. */
static void add_counters(struct bg_agent *a, struct bg_record *r, const __u64 *stats)
{
	unsigned long long lost = 0;
	size_t i;

	bg_record_uint(r, "events", stats[BG_STAT_EVENTS]);
	bg_record_uint(r, "delivered", a->delivered);
	bg_record_uint(r, "dropped", stats[BG_STAT_DROPPED]);
	bg_record_uint(r, "denied", stats[BG_STAT_DENIED]);
	bg_record_uint(r, "confined", stats[BG_STAT_CONFINED]);
	bg_record_uint(r, "suppressed", stats[BG_STAT_SUPPRESSED]);
	bg_record_uint(r, "existing", a->existing);
	bg_record_uint(r, "closed", a->closed);
	for (i = 0; i < a->n_sinks; i++)
		lost += a->sinks[i]->lost;
	bg_record_uint(r, "lost", lost);
}

/*
 * Once a second: while the kernel drops events (ring full) or the flood control suppresses them,
 * say so now, with the counts, not only at exit.
 */
static void report_drops(struct bg_agent *a)
{
	__u64 stats[BG_NR_STATS], dropped, suppressed;
	struct timespec now;
	struct bg_record r;

	if (bg_loader_stats(a->loader, stats))
		return;
	dropped = stats[BG_STAT_DROPPED] - a->dropped_seen;
	suppressed = stats[BG_STAT_SUPPRESSED] - a->suppressed_seen;
	if (!dropped && !suppressed)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	if (bg_record_agent(&r, dropped ? "dropping" : "suppressing", &now, LOG_WARNING) == 0) {
		bg_record_uint(&r, "dropped_now", dropped);
		bg_record_uint(&r, "suppressed_now", suppressed);
		add_counters(a, &r, stats);
		bg_agent_record(a, &r, 0);
	}
	if (dropped)
		bg_warn("%llu events dropped in the last second (ring buffer full); %llu in all\n",
			(unsigned long long)dropped, (unsigned long long)stats[BG_STAT_DROPPED]);
	a->dropped_seen = stats[BG_STAT_DROPPED];
	a->suppressed_seen = stats[BG_STAT_SUPPRESSED];
	bg_loader_pin_note_dropped(a->loader, a->dropped_seen, a->suppressed_seen);
}

static void write_stopping(struct bg_agent *a, const char *why)
{
	__u64 stats[BG_NR_STATS];
	struct timespec now;
	struct bg_record r;

	clock_gettime(CLOCK_REALTIME, &now);
	if (bg_record_agent(&r, "stopping", &now, why ? LOG_ERR : LOG_INFO))
		return;
	if (bg_loader_stats(a->loader, stats) == 0) {
		add_counters(a, &r, stats);
		if (stats[BG_STAT_DROPPED])
			bg_warn("%llu events were dropped (ring buffer full)\n",
				(unsigned long long)stats[BG_STAT_DROPPED]);
	}
	if (why)
		bg_record_str(&r, "error", why);
	bg_agent_record(a, &r, 1);
	bg_agent_flush(a);
}

/* Signals arrive through a signalfd: block them, ignore SIGPIPE (a closed pipe is an errno). */
static int setup_signals(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

static long long mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/*
 * Write what is queued in the ring: a batch to the sinks, flushed, then given back to the
 * kernel; again until the ring is empty or budget_ms have passed. A flood can refill the ring
 * as fast as it is read: without the budget the loop would never come back to signals, reloads,
 * the once-a-second drop reports or the watchdog (and a SIGTERM during a flood would hang). Sets
 * a->more when it stopped with records left. Returns the records written or -errno.
 */
#define BG_BATCH 1024 /* records between two looks at the clock (and a flush and a commit) */
#define BG_DRAIN_MS 50 /* in the loop: what is left waits for the next turn, not a tick */
#define BG_DRAIN_STOP_MS 1000 /* at the start (adopted pins) and at the stop */

static int drain(struct bg_agent *a, int budget_ms)
{
	long long start = mono_ms();
	int n, total = 0;

	a->more = 0;
	do {
		n = bg_loader_consume(a->loader, BG_BATCH);
		if (n < 0)
			return n;
		total += n;
		if (n)
			bg_agent_flush(a);
		bg_loader_commit(a->loader);
		if (n == BG_BATCH && mono_ms() - start >= budget_ms) {
			a->more = 1;
			break;
		}
	} while (n == BG_BATCH);
	return total;
}

static int epoll_add(int epfd, int fd, __u32 tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = tag };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

enum {
	TAG_RING = 1,
	TAG_SIGNAL,
	TAG_TIMER,
	TAG_SOON,
	TAG_SCOPES,
	TAG_PWATCH,
	TAG_METRICS,
	TAG_MORE, /* not an fd: the last drain left records, and nothing else is ready */
};

/*
 * After a wakeup, look again in BG_SOON_MS: the kernel wakes the reader at most every 5 ms in a
 * deny storm (bg_last_wake), so what came after the wakeup waits at most this long, not a tick.
 */
#define BG_SOON_MS 10

/* Returns 0 on a clean stop, or EXIT_RUNTIME after the reason was reported. */
static int event_loop(struct bg_agent *a, int sigfd)
{
	struct itimerspec its = { .it_interval = { 0, BG_TICK_MS * 1000000L },
				  .it_value = { 0, BG_TICK_MS * 1000000L } };
	struct itimerspec soon = { .it_value = { 0, BG_SOON_MS * 1000000L } };
	struct epoll_event evs[8];
	struct signalfd_siginfo si;
	long long now, last_second = mono_ms(), last_sweep = last_second, last_close = 0;
	int epfd, tfd, sfd, n, i, err, ret = EXIT_RUNTIME, stop = 0;
	__u64 expirations;
	char why[PATH_MAX + 128] = "";

	epfd = epoll_create1(EPOLL_CLOEXEC);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	sfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (epfd < 0 || tfd < 0 || sfd < 0 || timerfd_settime(tfd, 0, &its, NULL) < 0 ||
	    epoll_add(epfd, bg_loader_ring_fd(a->loader), TAG_RING) ||
	    epoll_add(epfd, sigfd, TAG_SIGNAL) || epoll_add(epfd, tfd, TAG_TIMER) ||
	    epoll_add(epfd, sfd, TAG_SOON) ||
	    (a->scopes && epoll_add(epfd, bg_scopes_fd(a->scopes), TAG_SCOPES)) ||
	    (a->pwatch && epoll_add(epfd, bg_pwatch_fd(a->pwatch), TAG_PWATCH)) ||
	    (a->metrics && epoll_add(epfd, bg_metrics_fd(a->metrics), TAG_METRICS))) {
		bg_err("cannot set up the event loop: %s\n", strerror(errno));
		goto out;
	}
	while (!stop) {
		/* Records left by a drain that hit its budget: look, but do not wait. */
		n = epoll_wait(epfd, evs, 8, a->more ? 0 : -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			bg_err("event loop: %s\n", strerror(errno));
			goto out;
		}
		if (n == 0) {
			evs[0].data.u32 = TAG_MORE;
			n = 1;
		}
		for (i = 0; i < n; i++) {
			switch (evs[i].data.u32) {
			case TAG_RING:
			case TAG_SOON:
			case TAG_MORE:
				if (evs[i].data.u32 == TAG_SOON) {
					if (read(sfd, &expirations, sizeof(expirations)) < 0 &&
					    errno != EAGAIN)
						bg_dbg("timerfd: %s\n", strerror(errno));
				} else if (evs[i].data.u32 == TAG_RING) {
					timerfd_settime(sfd, 0, &soon, NULL);
				}
				err = drain(a, BG_DRAIN_MS);
				if (err < 0) {
					bg_err("%s\n", bg_loader_strerror());
					snprintf(why, sizeof(why), "%s", bg_loader_strerror());
					goto out;
				}
				break;
			case TAG_PWATCH:
				bg_pwatch_read(a->pwatch, mono_ms());
				break;
			case TAG_SCOPES:
				/* Cgroups made or removed: classify them before their first bind. */
				bg_scopes_update(a->scopes, a->policy, a->loader);
				break;
			case TAG_SIGNAL:
				while (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
					if (si.ssi_signo == SIGHUP) {
						bg_agent_reload(a, "SIGHUP");
					} else if (si.ssi_signo == SIGUSR1) {
						size_t k;

						bg_info("SIGUSR1: reopening the output files\n");
						for (k = 0; k < a->n_sinks; k++)
							bg_sink_reopen(a->sinks[k]);
					} else {
						stop = 1;
					}
				}
				break;
			case TAG_METRICS:
				bg_metrics_run(a->metrics);
				break;
			case TAG_TIMER:
				if (read(tfd, &expirations, sizeof(expirations)) < 0 &&
				    errno != EAGAIN)
					bg_dbg("timerfd: %s\n", strerror(errno));
				bg_metrics_run(a->metrics); /* its connection timeouts */
				/* Records submitted without a wakeup wait for this. */
				if (drain(a, BG_DRAIN_MS) < 0) {
					bg_err("%s\n", bg_loader_strerror());
					snprintf(why, sizeof(why), "%s", bg_loader_strerror());
					goto out;
				}
				refresh_clock(a);
				/*
				 * At most one close pass a second: each walks every netns and
				 * every process's files, and a user who loops on a denied
				 * listen() could otherwise make it run on every tick.
				 */
				if (a->need_close && mono_ms() - last_close >= 1000) {
					last_close = mono_ms();
					a->need_close = 0;
					err = bg_reconcile(a, 1, 1, NULL);
					if (err < 0)
						bg_warn("cannot close a denied listener: %s\n",
							strerror(-err));
					bg_agent_release_held(a);
				}
				/* The policy file changed (and settled): as SIGHUP would. */
				if (bg_pwatch_due(a->pwatch, mono_ms()))
					bg_agent_reload(a, "file changed");
				bg_agent_flush(a);
				/*
				 * Once a second by the clock, not by counting ticks: a busy loop
				 * (a flood) sees fewer ticks than the timer fired.
				 */
				now = mono_ms();
				if (now - last_second < 1000)
					break;
				last_second = now;
				report_drops(a);
				/* Containers whose runtime state was not there yet. */
				bg_scopes_update(a->scopes, a->policy, a->loader);
				if (now - last_sweep >= 10000) {
					last_sweep = now;
					bg_whois_sweep(a->whois);
				}
				if (a->watchdog_usec)
					sd_notify(0, "WATCHDOG=1");
				if (!bg_loader_cgroup_alive(a->loader)) {
					snprintf(why, sizeof(why), "cgroup %s was removed",
						 a->cgroup);
					bg_err("cgroup %s was removed: nothing is left to enforce on\n",
					       a->cgroup);
					goto out;
				}
				if (!bg_loader_links_alive(a->loader)) {
					snprintf(
						why, sizeof(why),
						"a hook was detached from cgroup %s by another process",
						a->cgroup);
					bg_err("a hook was detached from cgroup %s by another process: "
					       "the policy is no longer enforced\n",
					       a->cgroup);
					goto out;
				}
				break;
			}
		}
	}
	/* Drain what the kernel queued before the signal (a flood that goes on: for a second). */
	drain(a, BG_DRAIN_STOP_MS);
	if (a->more)
		bg_warn("events are still queued in the ring buffer (a flood goes on): %s\n",
			a->o->pin ? "the next agent on these pins delivers them" :
				    "without --pin they are lost when it exits");
	bg_agent_release_held(a);
	ret = 0;
out:
	if (a->notify)
		sd_notify(0, "STOPPING=1");
	/* /healthz says why from now on, and a probe already queued gets that answer. */
	bg_metrics_stopping(a->metrics, why[0] ? why : NULL);
	write_stopping(a, why[0] ? why : NULL);
	if (tfd >= 0)
		close(tfd);
	if (sfd >= 0)
		close(sfd);
	if (epfd >= 0)
		close(epfd);
	return ret;
}

/*
 * Taking over pins: the policies the last agent installed (kept with the pins) name the events
 * it left queued. A text that no longer parses only costs those events their rule names.
 */
static void adopt_policies(struct bg_agent *a, const struct bg_pin_meta *m)
{
	const __u16 gens[2] = { m->prev_gen, m->gen };
	const __u32 lens[2] = { m->prev_src_len, m->src_len };
	struct bg_policy_error perr;
	struct bg_policy *p;
	char *text;
	int i;

	for (i = 0; i < 2; i++) {
		if (!lens[i] || (i == 0 && m->prev_gen == m->gen))
			continue;
		if (bg_loader_pinned_text(a->loader, gens[i], lens[i], &text))
			continue;
		if (bg_policy_parse_buffer(m->source, text, lens[i], &p, &perr) == 0) {
			a->old[1] = a->old[0];
			a->old_gen[1] = a->old_gen[0];
			a->old[0] = p;
			a->old_gen[0] = gens[i];
		}
		free(text);
	}
}

static void report_adoption(struct bg_agent *a, const struct bg_pin_meta *m, const __u64 *stats)
{
	struct timespec now;
	struct bg_record r;

	clock_gettime(CLOCK_REALTIME, &now);
	if (bg_record_agent(&r, "adopted", &now, LOG_NOTICE))
		return;
	bg_record_str(&r, "pins", m->cgroup[0] ? m->cgroup : a->cgroup);
	bg_record_str(&r, "previous_policy", m->source);
	bg_record_uint(&r, "previous_generation", m->gen);
	bg_record_uint(&r, "delivered_from_queue", a->delivered);
	bg_record_bool(&r, "more_queued", a->more);
	bg_record_uint(&r, "dropped_while_away", stats[BG_STAT_DROPPED] - m->dropped_seen);
	bg_record_uint(&r, "suppressed_while_away", stats[BG_STAT_SUPPRESSED] - m->suppressed_seen);
	add_counters(a, &r, stats);
	bg_agent_record(a, &r, 1);
	a->dropped_seen = stats[BG_STAT_DROPPED];
	a->suppressed_seen = stats[BG_STAT_SUPPRESSED];
	bg_loader_pin_note_dropped(a->loader, a->dropped_seen, a->suppressed_seen);
}

int bg_agent_run(const struct bg_run_opts *o)
{
	struct bg_agent a = { .o = o };
	struct bg_loader_opts lopts = { 0 };
	const char *cgroup_path = o->cgroup_path;
	char root[PATH_MAX], msg[1024];
	int err, ret = EXIT_RUNTIME, sigfd = -1, adopted = 0, ready = 0;
	struct bg_pin_meta meta = { 0 };
	size_t n_netns = 0, i;

	/* The policy first: a bad file is a usage error whatever the machine can do. */
	if (bg_cli_load_policy(o->policy_path, &a.policy, msg, sizeof(msg)))
		return EXIT_USAGE;
	if (bg_cli_preflight("run", &cgroup_path, root, sizeof(root)))
		goto out_free_policy;
	snprintf(a.cgroup, sizeof(a.cgroup), "%s", cgroup_path);
	/* A stderr nobody reads (journald stuck) must not stall the loop either. */
	if (bg_log_nonblock() < 0)
		bg_dbg("stderr stays blocking: %s\n", strerror(errno));
	ret = open_sinks(&a);
	if (ret)
		goto out_sinks;
	ret = EXIT_RUNTIME;
	/* --metrics: bound before anything is attached, so a port in use leaves nothing behind. */
	if (o->metrics) {
		err = bg_metrics_new(&a, o->metrics, &a.metrics, msg, sizeof(msg));
		if (err) {
			bg_err("%s\n", msg);
			goto out_sinks;
		}
	}
	a.notify = getenv("NOTIFY_SOCKET") != NULL;
	{
		uint64_t usec = 0;

		if (sd_watchdog_enabled(0, &usec) > 0)
			a.watchdog_usec = usec;
	}

	{
		struct bg_whois_opts wopts = { .containerd_state = o->containerd_state };
		char mnt[PATH_MAX];

		if (bg_cgroup2_root("/proc/self/mounts", mnt, sizeof(mnt)) == 0)
			wopts.cgroup_mount = mnt;
		a.whois = bg_whois_new(&wopts);
		/* Which cgroups the policy's scopes take; watched only if it has scopes. */
		if (wopts.cgroup_mount) {
			a.scopes = bg_scopes_new(mnt, a.cgroup, a.whois);
			if (!a.scopes) {
				bg_err("cannot watch the cgroup tree: %s\n", strerror(errno));
				goto out_sinks;
			}
		}
	}
	lopts.cgroup_path = a.cgroup;
	lopts.pin = o->pin;
	lopts.src_rate = o->src_rate;
	lopts.src_burst = o->src_burst;
	err = bg_cli_loader_new(&lopts, &a.loader);
	if (err) {
		ret = err;
		goto out_sinks;
	}
	if (o->close_existing && !bg_loader_have_close(a.loader)) {
		const struct bg_features *f = bg_loader_features(a.loader);
		enum bg_feature_id id =
			bg_loader_have_iter(a.loader) ? BG_FEAT_SOCK_DESTROY : BG_FEAT_SOCK_ITER;

		bg_err("--close-existing needs %s (Linux %s); this kernel (%s): %s\n",
		       bg_feature_table[id].name, bg_feature_table[id].needs, f->kernel,
		       f->why[id]);
		goto out_free_loader;
	}
	if (bg_loader_check_conflict(a.loader, NULL)) {
		bg_err("%s\n", bg_loader_strerror());
		goto out_free_loader;
	}
	adopted = bg_loader_adopted(a.loader, &meta);
	if (adopted)
		adopt_policies(&a, &meta);
	{
		struct bg_compile_opts copts = o->copts;

		/* A new generation after the adopted ones, so queued events keep their names. */
		copts.gen = adopted ? (__u16)(meta.gen + 1) : 0;
		err = bg_cli_install_scoped(a.loader, a.policy, &copts, &a.compiled, a.scopes);
		if (err) {
			ret = err;
			goto out_free_loader;
		}
		a.gen = copts.gen;
		if (bg_loader_pin_policy(a.loader, a.gen, a.policy->source, a.policy->text,
					 a.policy->text_len)) {
			bg_err("%s\n", bg_loader_strerror());
			goto out_release;
		}
	}
	if (o->policy_path) {
		a.pwatch = bg_pwatch_new(o->policy_path, a.policy->text, a.policy->text_len);
		if (!a.pwatch)
			bg_warn("cannot watch %s for changes (%s): reload it with SIGHUP\n",
				o->policy_path, strerror(errno));
	}
	refresh_clock(&a);
	if (bg_loader_set_handler(a.loader, on_event, &a)) {
		bg_err("%s\n", bg_loader_strerror());
		goto out_release;
	}
	/*
	 * Before anything is written (the adoption drain writes): SIGPIPE ignored, and a SIGTERM
	 * or SIGHUP during the start waits for the loop instead of killing the agent mid-batch.
	 */
	sigfd = setup_signals();
	if (sigfd < 0) {
		bg_err("cannot set up signal handling: %s\n", strerror(-sigfd));
		goto out_release;
	}
	if (adopted) {
		__u64 stats[BG_NR_STATS];

		/*
		 * What the kernel buffered while no agent ran comes first, with its sequence
		 * numbers; drops since the last agent's report are reported as such.
		 */
		a.dropped_seen = meta.dropped_seen;
		a.suppressed_seen = meta.suppressed_seen;
		drain(&a, BG_DRAIN_STOP_MS); /* under a flood, the rest follows in the loop */
		if (bg_loader_stats(a.loader, stats) == 0)
			report_adoption(&a, &meta, stats);
	}
	if (bg_loader_attach(a.loader)) {
		bg_err("%s\n", bg_loader_strerror());
		goto out_release;
	}

	/*
	 * Reconcile after attaching, so that no socket can slip between the walk and the hooks,
	 * and before ready, so that "ready" means the existing state has been reported too.
	 */
	if (bg_loader_have_iter(a.loader)) {
		err = bg_reconcile(&a, o->close_existing, 0, &n_netns);
		if (err < 0) {
			bg_err("cannot reconcile the existing sockets: %s\n", strerror(-err));
			goto out_release;
		}
	} else {
		bg_warn("sockets that existed before the agent are not checked: this kernel has "
			"no BPF socket iterators (%s)\n",
			bg_loader_features(a.loader)->why[BG_FEAT_SOCK_ITER]);
	}
	write_ready(&a, n_netns);
	ready = 1;
	ret = event_loop(&a, sigfd);
out_release:
	bg_compiled_release(&a.compiled);
out_free_loader:
	/*
	 * A fresh pinned state that never became ready is removed: nothing is left behind on a
	 * failed start. One that was adopted, or ran, stays and goes on enforcing.
	 */
	if (o->pin && !adopted && !ready)
		bg_loader_unpin_all(a.loader);
	bg_loader_free(a.loader); /* without --pin this detaches every hook */
out_sinks:
	bg_metrics_free(a.metrics);
	for (i = 0; i < a.n_sinks; i++)
		bg_sink_free(a.sinks[i]);
	if (sigfd >= 0)
		close(sigfd);
out_free_policy:
	bg_pwatch_free(a.pwatch);
	bg_scopes_free(a.scopes);
	bg_whois_free(a.whois);
	bg_policy_free(a.policy);
	for (i = 0; i < BG_OLD_POLICIES; i++)
		bg_policy_free(a.old[i]);
	return ret;
}
