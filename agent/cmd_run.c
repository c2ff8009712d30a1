// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* cmd_run.c - `bindguard run`: its options; the agent itself is agent.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "agent.h"
#include "commands.h"
#include "event_fmt.h"
#include "log.h"
#include "metrics.h"
#include "opts.h"

#define OPT_SYSLOG_FACILITY 256
#define OPT_RATE_LIMIT 257
#define OPT_CONTAINERD 258
#define OPT_METRICS 259

/* Flood control by default: events a second and at once per source (uid in a cgroup). */
#define BG_DEFAULT_RATE 200
#define BG_DEFAULT_BURST 400

static const struct bg_opt run_opts[] = {
	{ "policy", 'p', "FILE", "policy YAML (default: the built-in iRedMail policy)" },
	{ "cgroup", 'c', "DIR",
	  "cgroup v2 directory to enforce on (default: the root\n"
	  "of the cgroup v2 hierarchy: every process, container\n"
	  "and network namespace on the host)" },
	{ "mode", 'm', "MODE",
	  "enforce or audit; overrides the policy's mode. audit\n"
	  "turns every deny and confine into an alert" },
	{ "output", 'o', "DEST",
	  "where records go: stdout (default), journal, syslog\n"
	  "or a FILE (appended; SIGUSR1 reopens it). Repeat it\n"
	  "to write to several" },
	{ "format", 'f', "FMT", "json (default) or text, for stdout, files and syslog" },
	{ "syslog-facility", OPT_SYSLOG_FACILITY, "FAC",
	  "daemon (default) or auth, with -o syslog" },
	{ "rate-limit", OPT_RATE_LIMIT, "N[/B]",
	  "write at most N events a second (B at once) per\n"
	  "source, a uid in a cgroup; the rest are counted and\n"
	  "the next event says how many (default 200/400; 0:\n"
	  "no limit). Enforcement is never limited" },
	{ "containerd-state", OPT_CONTAINERD, "DIR",
	  "containerd's state directory, where pod names are\n"
	  "read (default /run/containerd)" },
	{ "metrics", OPT_METRICS, "[ADDR:]PORT",
	  "serve Prometheus /metrics and /healthz over HTTP on\n"
	  "ADDR:PORT; a PORT alone is 127.0.0.1:PORT. ADDR is\n"
	  "IPv4 or [IPv6]; 0.0.0.0 or [::] to serve every\n"
	  "address. /healthz is 200 while every hook is\n"
	  "attached and every output works" },
	{ "log-allowed", 'a', NULL,
	  "also write an event for every allowed bind, and for\n"
	  "every accepted connection on a public port" },
	{ "pin", 'P', NULL,
	  "pinned enforcement: the hooks and maps stay in bpffs\n"
	  "and go on enforcing when the agent exits or dies;\n"
	  "the next run --pin takes them over with no gap and\n"
	  "delivers what was queued meanwhile. 'bindguard\n"
	  "unload' removes them" },
	{ "close-existing", 'C', NULL,
	  "close the listeners and bound UDP sockets that the\n"
	  "policy denies (found at start in every netns, and any\n"
	  "that listen() again); enforce mode only; Linux 6.5+" },
	{ 0 },
};

static const struct bg_cmd run_cmd = {
	.name = "run",
	.synopsis = "[--policy FILE] [--cgroup DIR] [--mode enforce|audit]\n"
		    "[--output DEST]... [--format json|text] [--pin] [--log-allowed]\n"
		    "[--close-existing] [--metrics [ADDR:]PORT]",
	.desc = "Load the policy, attach to the cgroup and enforce it at bind(): a bind that\n"
		"breaks a rule fails with EPERM (deny), is rewritten to loopback (confine) or\n"
		"is reported (alert). Every such attempt is written as a record. Runs until\n"
		"SIGINT or SIGTERM, then detaches everything (with --pin the hooks stay and\n"
		"go on enforcing). SIGHUP, or a change to the --policy file (it is watched,\n"
		"ConfigMap ..data swaps too), reads the policy again and swaps it in\n"
		"atomically; a bad file keeps the previous policy. SIGUSR1 reopens output\n"
		"files. A failing output never stops enforcement: lost records are counted.\n"
		"Needs root.",
	.tail = "Exit status: 0 clean stop, 1 runtime failure, 2 usage or policy error.\n",
	.opts = run_opts,
	.min_args = 0,
	.max_args = 0,
};

static int run_opt(void *ctx, int key, const char *arg)
{
	struct bg_run_opts *o = ctx;
	__u8 mode;

	switch (key) {
	case 'p':
		o->policy_path = arg;
		break;
	case 'c':
		o->cgroup_path = arg;
		break;
	case 'm':
		if (bg_mode_parse(arg, &mode))
			return bg_opts_error(
				&run_cmd, "invalid --mode '%s' (expected enforce or audit)", arg);
		o->copts.mode_override = mode;
		break;
	case 'f':
		if (!strcmp(arg, "json"))
			o->format = BG_FORMAT_JSON;
		else if (!strcmp(arg, "text"))
			o->format = BG_FORMAT_TEXT;
		else
			return bg_opts_error(&run_cmd,
					     "invalid --format '%s' (expected json or text)", arg);
		break;
	case 'o':
		if (o->n_outputs == BG_MAX_SINKS)
			return bg_opts_error(&run_cmd, "at most %d --output options", BG_MAX_SINKS);
		if (!*arg)
			return bg_opts_error(&run_cmd, "--output needs a destination");
		o->outputs[o->n_outputs++] = arg;
		break;
	case OPT_SYSLOG_FACILITY:
		if (!strcmp(arg, "daemon"))
			o->syslog_facility = LOG_DAEMON;
		else if (!strcmp(arg, "auth"))
			o->syslog_facility = LOG_AUTH;
		else
			return bg_opts_error(
				&run_cmd,
				"invalid --syslog-facility '%s' (expected daemon or auth)", arg);
		break;
	case OPT_RATE_LIMIT: {
		unsigned long rate, burst;
		char *end;

		errno = 0;
		rate = strtoul(arg, &end, 10);
		burst = rate * 2;
		if (!errno && end != arg && *end == '/') {
			const char *b = end + 1;

			burst = strtoul(b, &end, 10);
			if (end == b)
				errno = EINVAL;
		}
		if (errno || end == arg || *end || arg[0] == '-' || rate > 1000000 ||
		    burst > 1000000 || (rate && !burst))
			return bg_opts_error(
				&run_cmd,
				"invalid --rate-limit '%s' (expected N or N/B, 0 to 1000000)", arg);
		o->src_rate = (__u32)rate;
		o->src_burst = (__u32)burst;
		break;
	}
	case OPT_CONTAINERD:
		o->containerd_state = arg;
		break;
	case OPT_METRICS: {
		struct sockaddr_storage ss;
		socklen_t sl;

		if (bg_metrics_parse_addr(arg, &ss, &sl))
			return bg_opts_error(&run_cmd,
					     "invalid --metrics '%s' (expected PORT, IPV4:PORT or "
					     "[IPV6]:PORT, e.g. 127.0.0.1:9464)",
					     arg);
		o->metrics = arg;
		break;
	}
	case 'a':
		o->copts.log_allowed = 1;
		break;
	case 'C':
		o->close_existing = 1;
		break;
	case 'P':
		o->pin = 1;
		break;
	}
	return 0;
}

int bg_cmd_run(int argc, char **argv)
{
	struct bg_run_opts o = {
		.copts = { .mode_override = -1 },
		.format = BG_FORMAT_JSON,
		.syslog_facility = LOG_DAEMON,
		.src_rate = BG_DEFAULT_RATE,
		.src_burst = BG_DEFAULT_BURST,
	};
	int err, first, i;

	err = bg_opts_parse(&run_cmd, argc, argv, run_opt, &o, &first, &o.verbose);
	if (err == BG_OPTS_DONE)
		return 0;
	if (err)
		return err;
	if (o.close_existing && o.copts.mode_override == BG_MODE_AUDIT)
		return bg_opts_error(&run_cmd, "--close-existing needs enforce mode");
	for (i = 0; i < (int)o.n_outputs; i++) {
		int j;

		for (j = 0; j < i; j++)
			if (!strcmp(o.outputs[i], o.outputs[j]))
				return bg_opts_error(&run_cmd, "--output %s given twice",
						     o.outputs[i]);
	}
	bg_log_set_level(BG_LOG_INFO + o.verbose);
	return bg_agent_run(&o);
}
