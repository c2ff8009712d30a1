/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * opts.h - one option table per command, the single source of getopt_long()'s arguments and of
 * the command's --help, so the two cannot drift. Every command also takes -h/--help and
 * -v/--verbose. Usage errors are one line, always "bindguard CMD: MESSAGE (see 'bindguard CMD
 * --help')", and exit 2.
 */
#ifndef BG_OPTS_H
#define BG_OPTS_H

struct bg_opt {
	const char *name; /* long name without "--"; NULL ends the table */
	int key; /* the short letter, or a value >= 256 for a long-only option */
	const char *arg; /* NULL: takes no argument; else its name in the help ("FILE") */
	const char *help; /* wrapped by hand at 54 columns: "\n" starts a continuation line */
};

struct bg_cmd {
	const char *name; /* "run" */
	const char *synopsis; /* what follows "bindguard run " in the usage line (wrapped) */
	const char *desc; /* the paragraph under the usage line */
	const char *tail; /* the text after the options (exit status ...), or NULL */
	const struct bg_opt *opts;
	int min_args, max_args; /* positional arguments accepted */
	const char *missing; /* the usage error for too few of them ("missing FILE") */
	int subcommands; /* options end at the first argument: it names a subcommand */
};

/* Called for each option; return 0 to go on, or an exit code (usually from bg_opts_error()). */
typedef int (*bg_opt_fn)(void *ctx, int key, const char *arg);

#define BG_OPTS_DONE (-1) /* bg_opts_parse(): --help was printed, exit 0 */

/*
 * Parse argv (argv[0] is the command name). Returns 0 with *first set to the first positional
 * argument's index, BG_OPTS_DONE after --help, or an exit code after reporting a usage error.
 * *verbose counts -v, and on success the log level is set from it (bg_log_set_level()).
 */
int bg_opts_parse(const struct bg_cmd *cmd, int argc, char **argv, bg_opt_fn fn, void *ctx,
		  int *first, int *verbose);

/* Print cmd's help (usage, description, options, tail) to stdout. */
void bg_opts_help(const struct bg_cmd *cmd);

/* Report a usage error of cmd on one line; returns EXIT_USAGE. */
int bg_opts_error(const struct bg_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Parse the --format value arg of cmd: one of the BG_FORMAT_* (event_fmt.h) whose bit is set in
 * allowed (1 << BG_FORMAT_JSON | ...). 0 with *out set, or a usage error reported (EXIT_USAGE)
 * that lists the allowed names.
 */
int bg_opts_format(const struct bg_cmd *cmd, const char *arg, unsigned int allowed, int *out);

#endif /* BG_OPTS_H */
