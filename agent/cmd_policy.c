// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cmd_policy.c - the commands about a policy itself, which need neither root nor BPF:
 * `bindguard check FILE` validates a file, `bindguard policy show` prints the built-in one.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "log.h"
#include "opts.h"
#include "policy.h"

static const struct bg_cmd check_cmd = {
	.name = "check",
	.synopsis = "FILE",
	.desc = "Read the policy FILE, validate it and print what it compiles to: one line per\n"
		"rule with its ports, exposure, action and service, and the hint a violation\n"
		"reports. An error or a warning starts with FILE:LINE:COL, as a compiler's\n"
		"does. Nothing is loaded or attached, so no root is needed.",
	.tail = "Exit status: 0 the policy is valid, 2 it is not (or cannot be read), or a\n"
		"usage error.\n",
	.min_args = 1,
	.max_args = 1,
	.missing = "missing FILE, the policy to check",
};

static int no_opt(void *ctx, int key, const char *arg)
{
	(void)ctx;
	(void)key;
	(void)arg;
	return 0;
}

int bg_cmd_check(int argc, char **argv)
{
	struct bg_compile_opts copts = { .mode_override = -1, .first_set_id = 1 };
	struct bg_compiled compiled;
	struct bg_policy *p = NULL;
	int err, first, verbose = 0;
	const char *path;
	char msg[1024];

	err = bg_opts_parse(&check_cmd, argc, argv, no_opt, NULL, &first, &verbose);
	if (err)
		return err == BG_OPTS_DONE ? 0 : err;
	path = argv[first];
	if (bg_cli_load_policy(path, &p, msg, sizeof(msg)))
		return EXIT_USAGE;
	err = bg_policy_compile(p, &copts, &compiled);
	if (err) {
		bg_err("%s: cannot compile the policy: %s\n", path, strerror(-err));
		bg_policy_free(p);
		return EXIT_USAGE;
	}
	bg_policy_print(p, stdout);
	bg_compiled_release(&compiled);
	bg_policy_free(p);
	if (fflush(stdout) != 0) {
		bg_err("cannot write the rules: %s\n", strerror(errno));
		return EXIT_RUNTIME;
	}
	return 0;
}

static const struct bg_cmd policy_cmd = {
	.name = "policy",
	.synopsis = "show",
	.desc = "Work with the policy that is built into bindguard.",
	.tail = "Commands:\n"
		"  show    print the built-in iRedMail policy (see 'bindguard policy show\n"
		"          --help')\n",
	.min_args = 1,
	.max_args = 1,
	.missing = "missing command (expected show)",
	.subcommands = 1,
};

static const struct bg_cmd policy_show_cmd = {
	.name = "policy show",
	.synopsis = "",
	.desc = "Print the built-in iRedMail policy byte for byte: the YAML that 'bindguard\n"
		"run' enforces when no --policy is given, with a note on every rule. To\n"
		"start a policy of your own, save it to a file, edit it, validate it with\n"
		"'bindguard check FILE' and run with --policy FILE.",
	.tail = "Exit status: 0 printed, 1 it cannot be written, 2 usage error.\n",
};

static int policy_show(int argc, char **argv)
{
	int err, first, verbose = 0;

	err = bg_opts_parse(&policy_show_cmd, argc, argv, no_opt, NULL, &first, &verbose);
	if (err)
		return err == BG_OPTS_DONE ? 0 : err;
	if (fwrite(bg_builtin_policy, 1, bg_builtin_policy_len, stdout) != bg_builtin_policy_len ||
	    fflush(stdout) != 0) {
		bg_err("cannot write the policy: %s\n", strerror(errno ? errno : EIO));
		return EXIT_RUNTIME;
	}
	return 0;
}

int bg_cmd_policy(int argc, char **argv)
{
	int err, first, verbose = 0;

	err = bg_opts_parse(&policy_cmd, argc, argv, no_opt, NULL, &first, &verbose);
	if (err)
		return err == BG_OPTS_DONE ? 0 : err;
	if (!strcmp(argv[first], "show"))
		return policy_show(argc - first, argv + first);
	return bg_opts_error(&policy_cmd, "unknown command '%s' (expected show)", argv[first]);
}
