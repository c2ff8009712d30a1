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
		return bg_cmd_run(argc - 1, argv + 1);
	if (strcmp(argv[1], "check") == 0)
		return cmd_check(argc - 1, argv + 1);
	if (strcmp(argv[1], "status") == 0)
		return bg_cmd_status(argc - 1, argv + 1);
	if (strcmp(argv[1], "learn") == 0)
		return bg_cmd_learn(argc - 1, argv + 1);
	if (strcmp(argv[1], "probe") == 0)
		return bg_cmd_probe(argc - 1, argv + 1);
	if (strcmp(argv[1], "unload") == 0)
		return bg_cmd_unload(argc - 1, argv + 1);
	return usage_error("unknown command '%s' (expected run, check, status, learn or probe)",
			   argv[1]);
}
