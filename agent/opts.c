// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* opts.c - getopt_long() arguments and --help, both from one table per command (opts.h). */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "event_fmt.h"
#include "log.h"
#include "opts.h"

#define BG_OPT_MAX 40
#define HELP_COL 24 /* where an option's help starts */
#define HELP_WIDTH 80 /* what every line of a help fits in */

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

/*
 * The synopsis after "Usage: bindguard CMD", wrapped at HELP_WIDTH between its bracketed groups
 * (never inside "[--cgroup DIR | --all]"), continuation lines aligned under its start.
 */
static void help_synopsis(const struct bg_cmd *cmd)
{
	size_t indent = strlen("Usage: bindguard ") + strlen(cmd->name), col = indent, w;
	const char *p = cmd->synopsis ? cmd->synopsis : "";
	int depth;

	printf("Usage: bindguard %s", cmd->name);
	for (;;) {
		while (*p == ' ' || *p == '\n')
			p++;
		if (!*p)
			break;
		/* The next word: up to a space outside brackets. */
		for (w = 0, depth = 0; p[w] && ((p[w] != ' ' && p[w] != '\n') || depth); w++)
			depth += p[w] == '[' ? 1 : p[w] == ']' ? -1 : 0;
		if (col + 1 + w > HELP_WIDTH && col > indent) {
			printf("\n%*s", (int)indent, "");
			col = indent;
		}
		printf(" %.*s", (int)w, p);
		col += 1 + w;
		p += w;
	}
	printf("\n");
}

void bg_opts_help(const struct bg_cmd *cmd)
{
	const struct bg_opt *o;

	help_synopsis(cmd);
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
	char sopts[BG_OPT_MAX * 2 + 3], *sp = sopts;
	const struct bg_opt *o, *tables[2] = { cmd->opts, common };
	int n = 0, t, c, err, nargs;

	if (cmd->subcommands)
		*sp++ = '+'; /* "policy -v show --help": --help is show's, not policy's */
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

	optind = 0; /* glibc: start over, and read this optstring's '+' again */
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
		if (c == '?' && optopt && !strncmp(argv[optind - 1], "--", 2) &&
		    strchr(argv[optind - 1], '=')) {
			const char *a = argv[optind - 1];

			return bg_opts_error(cmd, "option '%.*s' takes no argument",
					     (int)(strchr(a, '=') - a), a);
		}
		if (c == '?') {
			if (optopt && optopt < 256 && strncmp(argv[optind - 1], "--", 2))
				return bg_opts_error(cmd, "unknown option '-%c'", optopt);
			return bg_opts_error(cmd, "unknown option '%s'", argv[optind - 1]);
		}
		err = fn(ctx, c, optarg);
		if (err)
			return err;
	}
	nargs = argc - optind;
	if (nargs < cmd->min_args)
		return bg_opts_error(cmd, "%s", cmd->missing ? cmd->missing : "missing argument");
	if (nargs > cmd->max_args && !cmd->subcommands) /* the rest is the subcommand's */
		return bg_opts_error(cmd, "unexpected argument '%s'", argv[optind + cmd->max_args]);
	*first = optind;
	bg_log_set_level(BG_LOG_INFO + *verbose);
	return 0;
}

/* The names of the output formats, in the order an error lists them. */
static const struct {
	const char *name;
	int format;
} formats[] = {
	{ "table", BG_FORMAT_TABLE },
	{ "wide", BG_FORMAT_WIDE },
	{ "json", BG_FORMAT_JSON },
	{ "text", BG_FORMAT_TEXT },
};

#define NR_FORMATS (sizeof(formats) / sizeof(formats[0]))

int bg_opts_format(const struct bg_cmd *cmd, const char *arg, unsigned int allowed, int *out)
{
	char names[64] = "";
	size_t i, n = 0, k = 0, len;

	for (i = 0; i < NR_FORMATS; i++) {
		if (!(allowed & (1u << formats[i].format)))
			continue;
		if (!strcmp(arg, formats[i].name)) {
			*out = formats[i].format;
			return 0;
		}
		n++;
	}
	/* "table, wide or json" */
	for (i = 0; i < NR_FORMATS; i++) {
		if (!(allowed & (1u << formats[i].format)))
			continue;
		len = strlen(names);
		snprintf(names + len, sizeof(names) - len, "%s%s",
			 !k	    ? "" :
			 k + 1 == n ? " or " :
				      ", ",
			 formats[i].name);
		k++;
	}
	return bg_opts_error(cmd, "invalid --format '%s' (expected %s)", arg, names);
}
