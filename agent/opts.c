// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* opts.c - getopt_long() arguments and --help, both from one table per command (opts.h). */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "opts.h"

#define BG_OPT_MAX 40
#define HELP_COL 24 /* where an option's help starts */

static const struct bg_opt common[] = {
	{ "verbose", 'v', NULL, "more diagnostics on stderr; twice for libbpf's log" },
	{ "help", 'h', NULL, "show this help and exit" },
	{ 0 },
};

int bg_opts_error(const struct bg_cmd *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bindguard %s: ", cmd->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see 'bindguard %s --help')\n", cmd->name);
	return EXIT_USAGE;
}

static void help_opt(const struct bg_opt *o)
{
	char left[64];
	const char *p, *nl;
	int n;

	if (o->key < 256)
		n = snprintf(left, sizeof(left), "  -%c, --%s%s%s", o->key, o->name,
			     o->arg ? " " : "", o->arg ? o->arg : "");
	else
		n = snprintf(left, sizeof(left), "      --%s%s%s", o->name, o->arg ? " " : "",
			     o->arg ? o->arg : "");
	if (n >= HELP_COL - 1)
		printf("%s\n%*s", left, HELP_COL, "");
	else
		printf("%-*s", HELP_COL, left);
	for (p = o->help; p; p = nl ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		if (p != o->help)
			printf("%*s", HELP_COL, "");
		printf("%.*s\n", nl ? (int)(nl - p) : (int)strlen(p), p);
	}
}

void bg_opts_help(const struct bg_cmd *cmd)
{
	const struct bg_opt *o;
	const char *p, *nl;
	int first = 1;

	for (p = cmd->synopsis; p; p = nl ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		printf("%s bindguard %s %.*s\n", first ? "Usage:" : "      ", cmd->name,
		       nl ? (int)(nl - p) : (int)strlen(p), p);
		first = 0;
	}
	printf("\n%s\n\nOptions:\n", cmd->desc);
	for (o = cmd->opts; o && o->name; o++)
		help_opt(o);
	for (o = common; o->name; o++)
		help_opt(o);
	if (cmd->tail)
		printf("\n%s", cmd->tail);
	printf("\nSee bindguard(8) and bindguard-policy(5).\n");
}

int bg_opts_parse(const struct bg_cmd *cmd, int argc, char **argv, bg_opt_fn fn, void *ctx,
		  int *first, int *verbose)
{
	struct option lopts[BG_OPT_MAX + 1];
	char sopts[BG_OPT_MAX * 2 + 2], *sp = sopts;
	const struct bg_opt *o, *tables[2] = { cmd->opts, common };
	int n = 0, t, c, err, nargs;

	*sp++ = ':'; /* a missing argument is reported as ':', not '?' */
	for (t = 0; t < 2; t++) {
		for (o = tables[t]; o && o->name && n < BG_OPT_MAX; o++, n++) {
			lopts[n].name = o->name;
			lopts[n].has_arg = o->arg ? required_argument : no_argument;
			lopts[n].flag = NULL;
			lopts[n].val = o->key;
			if (o->key < 256) {
				*sp++ = (char)o->key;
				if (o->arg)
					*sp++ = ':';
			}
		}
	}
	*sp = '\0';
	memset(&lopts[n], 0, sizeof(lopts[n]));

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, sopts, lopts, NULL)) != -1) {
		if (c == 'h') {
			bg_opts_help(cmd);
			return BG_OPTS_DONE;
		}
		if (c == 'v') {
			(*verbose)++;
			continue;
		}
		if (c == ':')
			return bg_opts_error(cmd, "option '%s' needs an argument",
					     argv[optind - 1]);
		if (c == '?') {
			if (optopt && optopt < 256)
				return bg_opts_error(cmd, "unknown option '-%c'", optopt);
			return bg_opts_error(cmd, "unknown option '%s'", argv[optind - 1]);
		}
		err = fn(ctx, c, optarg);
		if (err)
			return err;
	}
	nargs = argc - optind;
	if (nargs < cmd->min_args)
		return bg_opts_error(cmd, "missing argument");
	if (nargs > cmd->max_args)
		return bg_opts_error(cmd, "unexpected argument '%s'", argv[optind + cmd->max_args]);
	*first = optind;
	return 0;
}
