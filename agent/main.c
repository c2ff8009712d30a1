// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bindguard - keep internal services off the network, enforced in the kernel at bind().
 *
 * main.c only dispatches: each command parses its own options (opts.h), reports its errors
 * once and returns the exit code. Exit codes: 0 success, 1 runtime failure, 2 usage or policy
 * error, 3 (status) something breaks the policy.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "bindguard.h"
#include "commands.h"

#ifndef BG_VERSION
#define BG_VERSION "0.0.0"
#endif

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "run", bg_cmd_run },	     { "check", bg_cmd_check }, { "status", bg_cmd_status },
	{ "learn", bg_cmd_learn },   { "probe", bg_cmd_probe }, { "unload", bg_cmd_unload },
	{ "policy", bg_cmd_policy },
};

#define NR_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/* Every line fits 80 columns; the man page and the bash completion read the "  bindguard" lines. */
static const char usage_text[] =
	"Usage:\n"
	"  bindguard run [--policy FILE] [--cgroup DIR] [--mode enforce|audit]\n"
	"                [--output DEST]... [--format json|text] [--pin] [OPTION]...\n"
	"  bindguard check FILE\n"
	"  bindguard status [--format table|wide|json] [--policy FILE] [--cgroup DIR]\n"
	"  bindguard learn [--duration SECONDS] [--output FILE] [--cgroup DIR]\n"
	"                  [--include-ephemeral]\n"
	"  bindguard probe [--format table|json]\n"
	"  bindguard unload [--cgroup DIR | --all]\n"
	"  bindguard policy show\n"
	"  bindguard --help | --version\n"
	"\n"
	"Keep internal services off the network, enforced in the kernel at bind(): a\n"
	"bind that breaks the policy fails with EPERM (deny), is rewritten to loopback\n"
	"(confine) or is reported and left in place (alert). Every such attempt is\n"
	"written as a record. Without --policy the built-in iRedMail policy applies.\n"
	"\n"
	"Commands:\n"
	"  run     enforce the policy on a cgroup and write records until stopped\n"
	"  check   validate a policy file and print the rules it compiles to\n"
	"  status  list every listener and bound UDP socket with the policy's verdict\n"
	"  learn   draft a policy from what listens now and what binds for a while\n"
	"  probe   show what this kernel offers bindguard, feature by feature\n"
	"  unload  remove the pinned enforcement that 'run --pin' leaves behind\n"
	"  policy  print the built-in policy ('policy show')\n"
	"\n"
	"Every command has its own help: bindguard COMMAND --help (or bindguard help\n"
	"COMMAND). Every command takes -v, --verbose for more diagnostics on stderr.\n"
	"\n"
	"Options:\n"
	"  -h, --help     show this help and exit\n"
	"  -V, --version  print the version and exit\n"
	"\n"
	"Exit status: 0 success, 1 runtime failure, 2 usage or policy error, 3 (status)\n"
	"something on the host breaks the policy.\n"
	"\n"
	"See bindguard(8) and bindguard-policy(5).\n";

/* A usage error before any command is chosen: one line, the same shape as a command's. */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bindguard: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'bindguard --help')\n");
	return EXIT_USAGE;
}

static int dispatch(int argc, char **argv)
{
	size_t i;

	for (i = 0; i < NR_COMMANDS; i++)
		if (!strcmp(argv[0], commands[i].name))
			return commands[i].fn(argc, argv);
	return usage_error("unknown command '%s'", argv[0]);
}

int main(int argc, char **argv)
{
	const char *a = argc > 1 ? argv[1] : NULL;

	if (!a)
		return usage_error("missing command");
	if (!strcmp(a, "--help") || !strcmp(a, "-h") || !strcmp(a, "help")) {
		if (argc == 3 && !strcmp(a, "help")) {
			/* "bindguard help status" is "bindguard status --help". */
			char *sub[] = { argv[2], "--help", NULL };

			return dispatch(2, sub);
		}
		if (argc > 2)
			return usage_error("unexpected argument '%s'",
					   argv[strcmp(a, "help") ? 2 : 3]);
		fputs(usage_text, stdout);
		return 0;
	}
	if (!strcmp(a, "--version") || !strcmp(a, "-V")) {
		if (argc > 2)
			return usage_error("unexpected argument '%s'", argv[2]);
		printf("bindguard %s (ABI %d)\n", BG_VERSION, BG_ABI_VERSION);
		return 0;
	}
	if (a[0] == '-')
		return usage_error("unknown option '%s'; options follow the command", a);
	return dispatch(argc - 1, argv + 1);
}
