// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bindguard - keep internal services off the network, enforced in the kernel at bind().
 *
 * main.c parses the command line, runs the chosen command and reports every error exactly once.
 * Exit codes: 0 clean stop / valid policy, 1 runtime failure, 2 usage or policy error.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "commands.h"
#include "event_fmt.h"
#include "kfeatures.h"
#include "loader.h"
#include "log.h"
#include "policy.h"
#include "sockets.h"
#include "strbuf.h"

#ifndef BG_VERSION
#define BG_VERSION "0.0.0"
#endif

#define BG_POLL_MS 100 /* also bounds how long an event can wait before it is written */

static const char usage_text[] =
	"Usage:\n"
	"  bindguard run   [--policy FILE] [--cgroup DIR] [--mode enforce|audit]\n"
	"                  [--format json|text] [--output FILE] [--log-allowed]\n"
	"                  [--close-existing] [-v]\n"
	"  bindguard check FILE\n"
	"  bindguard status [--format table|json] [--policy FILE] [--cgroup DIR]\n"
	"  bindguard learn  [--duration SECONDS] [--output FILE] [--cgroup DIR]\n"
	"  bindguard probe  [--format table|json]\n"
	"  bindguard --help | --version\n"
	"\n"
	"Enforce a bind policy in the kernel: a bind() that breaks a rule fails with EPERM (deny),\n"
	"is rewritten to loopback (confine) or is reported (alert). Every such attempt is written\n"
	"as an event.\n"
	"\n"
	"Commands:\n"
	"  run     Load the policy, attach to the cgroup, write events until SIGINT or SIGTERM,\n"
	"          then detach everything. SIGHUP reads the policy again and swaps it in\n"
	"          atomically; a bad file keeps the previous policy. Needs root.\n"
	"  check   Validate FILE, print the compiled rules; exit 0 if valid, 2 if not.\n"
	"  status  List every listening TCP and bound UDP socket in every netns with the\n"
	"          policy's verdict, violations first; exit 0 if clean, 3 if anything\n"
	"          violates. Attaches nothing. Needs root. See 'bindguard status --help'.\n"
	"  learn   Draft a policy YAML from what listens now and what binds during a window.\n"
	"          Needs root. See 'bindguard learn --help'.\n"
	"  probe   Show what this kernel offers bindguard, feature by feature, and why a\n"
	"          feature is off. Needs root. See 'bindguard probe --help'.\n"
	"\n"
	"Options for run:\n"
	"  -p, --policy FILE    policy YAML (default: the built-in iRedMail policy)\n"
	"  -c, --cgroup DIR     cgroup v2 directory to enforce on (default: the root of the\n"
	"                       cgroup v2 hierarchy, from /proc/self/mounts: every process,\n"
	"                       container and network namespace on the host)\n"
	"  -m, --mode MODE      enforce or audit; overrides the policy's mode. audit turns every\n"
	"                       deny and confine into an alert\n"
	"  -f, --format FMT     json (default; one object per line) or text\n"
	"  -o, --output FILE    append events to FILE instead of standard output\n"
	"  -a, --log-allowed    also write an event for every allowed bind, and for every\n"
	"                       accepted connection on a public port\n"
	"  -C, --close-existing close the listeners and bound UDP sockets that the policy denies\n"
	"                       (found at start in every netns, and any that listen() again);\n"
	"                       enforce mode only\n"
	"  -v, --verbose        more diagnostics on stderr; twice for libbpf's debug log\n"
	"\n"
	"Exit status: 0 clean stop or valid policy, 1 runtime failure, 2 usage or policy error,\n"
	"3 (status only) something breaks the policy.\n"
	"Documentation: README.md, docs/policy.md, docs/coverage.md.\n";

static volatile sig_atomic_t bg_stop, bg_reload;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		bg_reload = 1;
	else
		bg_stop = 1;
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "bindguard: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'bindguard --help'.\n");
	return EXIT_USAGE;
}

static int cmd_check(int argc, char **argv)
{
	struct bg_compile_opts copts = { .mode_override = -1, .first_set_id = 1 };
	struct bg_compiled compiled;
	struct bg_policy *p = NULL;
	char msg[1024];
	int err;

	if (argc != 2)
		return usage_error("check takes exactly one FILE%s", "");
	if (bg_cli_load_policy(argv[1], &p, msg, sizeof(msg)))
		return EXIT_USAGE;
	err = bg_policy_compile(p, &copts, &compiled);
	if (err) {
		fprintf(stderr, "bindguard: %s: cannot compile the policy: %s\n", argv[1],
			strerror(-err));
		bg_policy_free(p);
		return EXIT_USAGE;
	}
	bg_policy_print(p, stdout);
	bg_compiled_release(&compiled);
	bg_policy_free(p);
	return 0;
}

struct run_ctx {
	/*
	 * The live policy and the one before it: events carry the generation of the rule table
	 * that judged them, so events queued across a reload keep their rule's name and hint.
	 */
	struct bg_policy *policy, *prev_policy;
	__u16 gen, prev_gen;
	struct bg_strbuf line;
	FILE *out;
	int format;
	int write_err; /* errno of the first failed write, 0 if none */
	__u64 delivered; /* ring-buffer events written */
	__u64 existing; /* reconcile events written (made by the agent, not the kernel) */
	__u64 closed; /* sockets closed by --close-existing */
	int close_existing;
	int need_close; /* a denied listen was seen: close it (--close-existing) */
	__s64 mono_to_wall_ns; /* CLOCK_REALTIME - CLOCK_MONOTONIC, refreshed every poll */
};

static void refresh_clock(struct run_ctx *rc)
{
	struct timespec rt, mono;

	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	rc->mono_to_wall_ns = ((__s64)rt.tv_sec - mono.tv_sec) * 1000000000LL +
			      ((__s64)rt.tv_nsec - mono.tv_nsec);
}

static void emit_line(struct run_ctx *rc)
{
	if (rc->line.err) {
		if (!rc->write_err)
			rc->write_err = -rc->line.err;
		return;
	}
	if (fwrite(rc->line.buf, 1, rc->line.len, rc->out) != rc->line.len && !rc->write_err)
		rc->write_err = errno ? errno : EIO;
}

/* Format one event (from the kernel or made by the agent) and write it. */
static void write_event(struct run_ctx *rc, const struct bg_event *ev)
{
	const struct bg_policy_rule *rule = NULL;
	const struct bg_policy *p = NULL;
	struct timespec wall;
	__s64 ns;

	if (ev->gen == rc->gen)
		p = rc->policy;
	else if (ev->gen == rc->prev_gen && rc->prev_policy)
		p = rc->prev_policy;
	if (p && ev->rule_id >= 1 && ev->rule_id <= p->n_rules)
		rule = &p->rules[ev->rule_id - 1];
	ns = (__s64)ev->ts_ns + rc->mono_to_wall_ns;
	if (ns < 0)
		ns = 0; /* a clock set before 1970: print the epoch rather than lose the event */
	wall.tv_sec = ns / 1000000000LL;
	wall.tv_nsec = ns % 1000000000LL;
	bg_strbuf_reset(&rc->line);
	if (bg_event_format(&rc->line, rc->format, ev, rule, &wall) != 0) {
		if (!rc->write_err)
			rc->write_err = rc->line.err ? -rc->line.err : EINVAL;
		return;
	}
	emit_line(rc);
}

/* Ring-buffer callback. */
static int on_event(void *ctx, const struct bg_event *ev)
{
	struct run_ctx *rc = ctx;

	write_event(rc, ev);
	rc->delivered++;
	/* A closed listener can listen() again on the same fd: close it again. */
	if (rc->close_existing && ev->type == BG_EVENT_LISTEN && ev->verdict == BG_VERDICT_DENY)
		rc->need_close = 1;
	return 0;
}

static void write_lifecycle(struct run_ctx *rc, const char *state, const char *extra)
{
	struct timespec now;

	clock_gettime(CLOCK_REALTIME, &now);
	bg_strbuf_reset(&rc->line);
	bg_lifecycle_format(&rc->line, rc->format, state, &now, extra);
	emit_line(rc);
	fflush(rc->out);
}

/* Does reconcile report this socket? A violation in scope (only one closed now, if asked). */
static int reported(const struct bg_sock_info *si, int only_closed)
{
	if (!si->rec.in_scope || si->rec.verdict == BG_VERDICT_ALLOW)
		return 0;
	return !only_closed || si->rec.closed;
}

/*
 * Reconcile: judge every listener and bound UDP socket that exists now, in every netns, and
 * report those in scope that break the policy as "existing" events; with close, the iterator
 * closes the denied ones (bpf_sock_destroy). only_closed reports just the sockets closed now
 * (the re-close after a listen). Returns the number of violations or -errno.
 */
static int reconcile(struct run_ctx *rc, struct bg_loader *loader, int close, int only_closed,
		     size_t *n_netns)
{
	struct bg_sock_list list = { 0 };
	struct timespec mono;
	struct bg_event ev;
	int err, violations = 0;
	__u64 seq = 0;
	size_t i;

	err = bg_sockets_collect(loader, close, &list);
	if (err)
		goto out;
	bg_sockets_attribute(&list);
	clock_gettime(CLOCK_MONOTONIC_COARSE, &mono);
	for (i = 0; i < list.n; i++)
		violations += reported(&list.v[i], only_closed);
	if (violations) {
		err = bg_loader_take_seq(loader, violations, &seq);
		if (err)
			goto out;
	}
	for (i = 0; i < list.n; i++) {
		const struct bg_sock_info *si = &list.v[i];

		if (!reported(si, only_closed))
			continue;
		bg_sockets_to_event(si, &ev);
		ev.seq = seq++;
		ev.ts_ns = (__u64)mono.tv_sec * 1000000000ULL + mono.tv_nsec;
		write_event(rc, &ev);
		rc->existing++;
		rc->closed += si->rec.closed;
	}
	if (n_netns)
		*n_netns = list.n_netns;
	err = violations;
out:
	bg_sock_list_release(&list);
	return err;
}

/*
 * SIGHUP: parse the policy source again and swap it in atomically. A bad file changes nothing:
 * the old policy stays live (a failed reload never widens access) and the failure is reported.
 */
static void rebg_cli_load_policy(struct run_ctx *rc, struct bg_loader *loader, const char *path,
				 struct bg_compile_opts *copts)
{
	struct bg_compiled compiled = { 0 };
	struct bg_strbuf extra = BG_STRBUF_INIT;
	struct bg_policy *np = NULL;
	char msg[1024];
	int err;

	err = bg_cli_load_policy(path, &np, msg, sizeof(msg));
	if (!err) {
		copts->gen = rc->gen + 1;
		copts->first_set_id = bg_loader_next_set_id(loader);
		err = bg_policy_compile(np, copts, &compiled);
		if (err)
			snprintf(msg, sizeof(msg), "cannot compile the policy: %s", strerror(-err));
	}
	if (!err) {
		err = bg_loader_install_policy(loader, &compiled);
		if (err)
			snprintf(msg, sizeof(msg), "%s", bg_loader_strerror());
	}
	if (err) {
		bg_err("reload failed, the previous policy stays in force: %s\n", msg);
		bg_strbuf_puts(&extra, "\"error\":");
		bg_json_string(&extra, msg, strlen(msg));
		write_lifecycle(rc, "reload-failed", extra.err ? NULL : extra.buf);
		goto out;
	}
	bg_policy_free(rc->prev_policy);
	rc->prev_policy = rc->policy;
	rc->prev_gen = rc->gen;
	rc->policy = np;
	rc->gen = copts->gen;
	np = NULL;
	bg_strbuf_printf(&extra, "\"generation\":%u,\"rules\":%zu,\"policy\":", rc->gen,
			 rc->policy->n_rules);
	if (rc->policy->name)
		bg_json_string(&extra, rc->policy->name, strlen(rc->policy->name));
	else
		bg_strbuf_puts(&extra, "null");
	write_lifecycle(rc, "reloaded", extra.err ? NULL : extra.buf);
out:
	bg_compiled_release(&compiled);
	bg_policy_free(np);
	bg_strbuf_release(&extra);
}

static int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, 'p' },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "mode", required_argument, NULL, 'm' },
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "log-allowed", no_argument, NULL, 'a' },
		{ "close-existing", no_argument, NULL, 'C' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct bg_compile_opts copts = { .mode_override = -1 };
	const char *policy_path = NULL, *cgroup_path = NULL, *output = NULL;
	struct bg_loader_opts lopts = { 0 };
	struct run_ctx rc = { .line = BG_STRBUF_INIT, .format = BG_FORMAT_JSON };
	struct bg_compiled compiled = { 0 };
	struct bg_loader *loader = NULL;
	struct bg_policy *policy = NULL;
	char root[PATH_MAX], extra[512];
	__u64 stats[BG_NR_STATS];
	struct bg_strbuf ready = BG_STRBUF_INIT;
	struct sigaction sa;
	int opt, err, ret = EXIT_RUNTIME, verbose = 0;
	unsigned int ticks = 0;
	size_t n_netns = 0;
	__u8 mode;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "p:c:m:f:o:avh", opts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			policy_path = optarg;
			break;
		case 'c':
			cgroup_path = optarg;
			break;
		case 'm':
			if (bg_mode_parse(optarg, &mode))
				return usage_error(
					"invalid --mode '%s' (expected enforce or audit)", optarg);
			copts.mode_override = mode;
			break;
		case 'f':
			if (strcmp(optarg, "json") == 0)
				rc.format = BG_FORMAT_JSON;
			else if (strcmp(optarg, "text") == 0)
				rc.format = BG_FORMAT_TEXT;
			else
				return usage_error("invalid --format '%s' (expected json or text)",
						   optarg);
			break;
		case 'o':
			output = optarg;
			break;
		case 'a':
			copts.log_allowed = 1;
			break;
		case 'C':
			rc.close_existing = 1;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			return usage_error("invalid option for run%s", "");
		}
	}
	if (optind != argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (rc.close_existing && copts.mode_override == BG_MODE_AUDIT)
		return usage_error("--close-existing needs enforce mode%s", "");
	bg_log_set_level(BG_LOG_INFO + verbose);

	/* The policy first: a bad file is a usage error whatever the machine can do. */
	if (bg_cli_load_policy(policy_path, &policy, root, sizeof(root)))
		return EXIT_USAGE;

	if (bg_cli_preflight("run", &cgroup_path, root, sizeof(root)))
		goto out_free_policy;

	rc.out = stdout;
	if (output) {
		int fd = open(output, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);

		if (fd < 0 || !(rc.out = fdopen(fd, "a"))) {
			bg_err("cannot open output %s: %s\n", output, strerror(errno));
			if (fd >= 0)
				close(fd);
			ret = EXIT_USAGE;
			goto out_free_policy;
		}
	}

	lopts.cgroup_path = cgroup_path;
	err = bg_cli_loader_new(&lopts, &loader);
	if (err) {
		ret = err;
		goto out_close_output;
	}
	if (rc.close_existing && !bg_loader_have_close(loader)) {
		const struct bg_features *f = bg_loader_features(loader);
		enum bg_feature_id id =
			bg_loader_have_iter(loader) ? BG_FEAT_SOCK_DESTROY : BG_FEAT_SOCK_ITER;

		bg_err("--close-existing needs %s (Linux %s); this kernel (%s): %s\n",
		       bg_feature_table[id].name, bg_feature_table[id].needs, f->kernel,
		       f->why[id]);
		goto out_free_loader;
	}
	err = bg_loader_check_conflict(loader, NULL);
	if (err) {
		bg_err("%s\n", bg_loader_strerror());
		goto out_free_loader;
	}

	err = bg_cli_install(loader, policy, &copts, &compiled);
	if (err) {
		ret = err;
		goto out_free_loader;
	}

	rc.policy = policy;
	policy = NULL; /* rc owns it from here: reloads replace it */
	refresh_clock(&rc);
	err = bg_loader_set_handler(loader, on_event, &rc);
	if (err) {
		bg_err("%s\n", bg_loader_strerror());
		goto out_release;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	err = bg_loader_attach(loader);
	if (err) {
		bg_err("%s\n", bg_loader_strerror());
		goto out_release;
	}

	/*
	 * Reconcile after attaching, so that no socket can slip between the walk and the hooks,
	 * and before ready, so that "ready" means the existing state has been reported too.
	 */
	if (bg_loader_have_iter(loader)) {
		err = reconcile(&rc, loader, rc.close_existing, 0, &n_netns);
		if (err < 0) {
			bg_err("cannot reconcile the existing sockets: %s\n", strerror(-err));
			goto out_release;
		}
	} else {
		bg_warn("sockets that existed before the agent are not checked: this kernel has "
			"no BPF socket iterators (%s)\n",
			bg_loader_features(loader)->why[BG_FEAT_SOCK_ITER]);
	}

	mode = copts.mode_override >= 0 ? (__u8)copts.mode_override : rc.policy->mode;
	bg_strbuf_printf(&ready,
			 "\"version\":\"%s\",\"pid\":%d,\"mode\":\"%s\",\"policy\":", BG_VERSION,
			 (int)getpid(), bg_mode_str(mode));
	if (rc.policy->name)
		bg_json_string(&ready, rc.policy->name, strlen(rc.policy->name));
	else
		bg_strbuf_puts(&ready, "null");
	bg_strbuf_puts(&ready, ",\"source\":");
	bg_json_string(&ready, rc.policy->source, strlen(rc.policy->source));
	bg_strbuf_printf(&ready, ",\"rules\":%zu,\"cgroup\":", rc.policy->n_rules);
	bg_json_string(&ready, cgroup_path, strlen(cgroup_path));
	bg_strbuf_printf(&ready, ",\"existing\":%llu,\"closed\":%llu,\"netns_walked\":%zu",
			 (unsigned long long)rc.existing, (unsigned long long)rc.closed, n_netns);
	bg_strbuf_printf(&ready, ",\"kernel\":");
	bg_json_string(&ready, bg_loader_features(loader)->kernel,
		       strlen(bg_loader_features(loader)->kernel));
	bg_strbuf_puts(&ready, ",\"features\":");
	bg_features_json_map(&ready, bg_loader_features(loader));
	if (ready.err) {
		bg_err("out of memory\n");
		goto out_release;
	}
	write_lifecycle(&rc, "ready", ready.buf);

	while (!bg_stop) {
		if (bg_reload) {
			bg_reload = 0;
			rebg_cli_load_policy(&rc, loader, policy_path, &copts);
		}
		err = bg_loader_poll(loader, BG_POLL_MS);
		if (err < 0) {
			bg_err("%s\n", bg_loader_strerror());
			goto out_stopping;
		}
		refresh_clock(&rc);
		if (rc.need_close) {
			rc.need_close = 0;
			err = reconcile(&rc, loader, 1, 1, NULL);
			if (err < 0)
				bg_warn("cannot close a denied listener: %s\n", strerror(-err));
			err = 1;
		}
		if (err > 0)
			fflush(rc.out);
		if (++ticks % (1000 / BG_POLL_MS) == 0) {
			if (!bg_loader_cgroup_alive(loader)) {
				bg_err("cgroup %s was removed: nothing is left to enforce on\n",
				       cgroup_path);
				goto out_stopping;
			}
			if (!bg_loader_links_alive(loader)) {
				bg_err("a hook was detached from cgroup %s by another process: the "
				       "policy is no longer enforced\n",
				       cgroup_path);
				goto out_stopping;
			}
		}
		if (rc.write_err) {
			bg_err("cannot write events: %s\n", strerror(rc.write_err));
			goto out_stopping;
		}
	}
	/* Drain what the kernel queued before the signal. */
	bg_loader_poll(loader, 0);
	ret = 0;
out_stopping:
	if (bg_loader_stats(loader, stats) == 0) {
		snprintf(extra, sizeof(extra),
			 "\"events\":%llu,\"delivered\":%llu,\"dropped\":%llu,\"denied\":%llu,"
			 "\"confined\":%llu,\"existing\":%llu,\"closed\":%llu",
			 (unsigned long long)stats[BG_STAT_EVENTS],
			 (unsigned long long)rc.delivered,
			 (unsigned long long)stats[BG_STAT_DROPPED],
			 (unsigned long long)stats[BG_STAT_DENIED],
			 (unsigned long long)stats[BG_STAT_CONFINED],
			 (unsigned long long)rc.existing, (unsigned long long)rc.closed);
		if (stats[BG_STAT_DROPPED])
			bg_warn("%llu events were dropped (ring buffer full)\n",
				(unsigned long long)stats[BG_STAT_DROPPED]);
	} else {
		extra[0] = '\0';
	}
	write_lifecycle(&rc, "stopping", extra[0] ? extra : NULL);
out_release:
	bg_compiled_release(&compiled);
out_free_loader:
	bg_loader_free(loader); /* detaches every hook */
out_close_output:
	if (rc.out && rc.out != stdout)
		fclose(rc.out);
	else
		fflush(stdout);
out_free_policy:
	bg_strbuf_release(&ready);
	bg_strbuf_release(&rc.line);
	bg_policy_free(policy);
	bg_policy_free(rc.policy);
	bg_policy_free(rc.prev_policy);
	return ret;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage_error("missing command (run, check, status, learn or probe)%s", "");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("bindguard %s (ABI %d)\n", BG_VERSION, BG_ABI_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(argv[1], "check") == 0)
		return cmd_check(argc - 1, argv + 1);
	if (strcmp(argv[1], "status") == 0)
		return bg_cmd_status(argc - 1, argv + 1);
	if (strcmp(argv[1], "learn") == 0)
		return bg_cmd_learn(argc - 1, argv + 1);
	if (strcmp(argv[1], "probe") == 0)
		return bg_cmd_probe(argc - 1, argv + 1);
	return usage_error("unknown command '%s' (expected run, check, status, learn or probe)",
			   argv[1]);
}
