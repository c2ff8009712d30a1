// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_cli.c - the command line, as an operator meets it, and the helpers behind it:
 *
 *   - agent/opts.c: one table drives getopt and --help; -v and -h everywhere; one-line usage
 *     errors with one prefix; stray arguments refused; the synopsis wrapped at 80 columns;
 *   - agent/clifmt.c: text wrapped at a width, untrusted bytes made printable, addresses, the
 *     rule for a port;
 *   - the real binary ($BINDGUARD, else ../bindguard next to this program): `--help` of every
 *     command the global help lists fits 80 columns and exits 0; a bad option or a stray
 *     argument gives exactly one stderr line "bindguard CMD: ... (see 'bindguard CMD --help')"
 *     and exit 2; `policy show` prints the built-in policy byte for byte. None of it needs root:
 *     --help and usage errors come before any privileged step.
 *
 * Every test function is static, so one left out of main()'s table fails the build
 * (-Wunused-function with -Werror).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "clifmt.h"
#include "commands.h"
#include "event_fmt.h"
#include "opts.h"
#include "policy.h"
#include "strbuf.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define WIDTH 80

/* ---- Running something with stdout and stderr apart -------------------------------------- */

struct run {
	int status; /* exit status, or -1 if it died by a signal */
	char out[64 * 1024];
	char err[16 * 1024];
};

static void slurp(int fd, char *buf, size_t len)
{
	size_t used = 0;
	ssize_t n;

	while (used + 1 < len && (n = read(fd, buf + used, len - 1 - used)) > 0)
		used += (size_t)n;
	buf[used] = '\0';
}

/* Capture stdout and stderr into temporary files (no pipe can fill up and block the child). */
static void run_argv(struct run *r, char *const *argv)
{
	char out_path[] = "/tmp/bg-test-cli-out-XXXXXX", err_path[] = "/tmp/bg-test-cli-err-XXXXXX";
	int out = mkstemp(out_path), err = mkstemp(err_path), st;
	pid_t pid;

	assert_true(out >= 0 && err >= 0);
	unlink(out_path);
	unlink(err_path);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(out, 1);
		dup2(err, 2);
		execv(argv[0], argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	lseek(out, 0, SEEK_SET);
	lseek(err, 0, SEEK_SET);
	slurp(out, r->out, sizeof(r->out));
	slurp(err, r->err, sizeof(r->err));
	close(out);
	close(err);
}

/* In-process: what fn wrote to stdout and stderr while it ran. */
static void capture_start(int *saved_out, int *saved_err, int *out, int *err)
{
	char out_path[] = "/tmp/bg-test-cli-out-XXXXXX", err_path[] = "/tmp/bg-test-cli-err-XXXXXX";

	fflush(stdout);
	fflush(stderr);
	*out = mkstemp(out_path);
	*err = mkstemp(err_path);
	assert_true(*out >= 0 && *err >= 0);
	unlink(out_path);
	unlink(err_path);
	*saved_out = dup(1);
	*saved_err = dup(2);
	dup2(*out, 1);
	dup2(*err, 2);
}

static void capture_end(int saved_out, int saved_err, int out, int err, char *obuf, size_t olen,
			char *ebuf, size_t elen)
{
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	lseek(out, 0, SEEK_SET);
	lseek(err, 0, SEEK_SET);
	slurp(out, obuf, olen);
	slurp(err, ebuf, elen);
	close(out);
	close(err);
}

static size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Every line of text is at most width columns (bytes: the help is ASCII). */
static void assert_fits(const char *what, const char *text, size_t width)
{
	const char *line = text, *nl;
	size_t len;

	for (; *line; line = nl + 1) {
		nl = strchr(line, '\n');
		assert_non_null(nl); /* every line ends in '\n' */
		len = (size_t)(nl - line);
		if (len > width)
			fail_msg("%s: a line of %zu columns (over %zu): %.*s", what, len, width,
				 (int)len, line);
	}
}

/* ---- opts.c ------------------------------------------------------------------------------ */

static const struct bg_opt t_opts[] = {
	{ "format", 'f', "FMT", "table or json" },
	{ "flag", 'F', NULL, "a flag" },
	{ "long-only", 300, "N", "a long-only option with\na second line" },
	{ 0 },
};

static const struct bg_cmd t_cmd = {
	.name = "tcmd",
	.synopsis = "[--format table|wide|json] [--flag] [--long-only N] [--another-option VALUE] "
		    "FILE",
	.desc = "A command for the tests.",
	.tail = "Exit status: 0.\n",
	.opts = t_opts,
	.min_args = 1,
	.max_args = 1,
	.missing = "missing FILE",
};

struct t_ctx {
	int format, flag;
	const char *n;
	int calls;
};

static int t_opt(void *ctx, int key, const char *arg)
{
	struct t_ctx *c = ctx;

	c->calls++;
	switch (key) {
	case 'f':
		return bg_opts_format(&t_cmd, arg, 1u << BG_FORMAT_TABLE | 1u << BG_FORMAT_JSON,
				      &c->format);
	case 'F':
		c->flag = 1;
		break;
	case 300:
		c->n = arg;
		break;
	}
	return 0;
}

/* One parse of argv (NULL-terminated, argv[0] the command), its output captured. */
struct parse {
	int ret, first, verbose;
	struct t_ctx ctx;
	char out[8192], err[2048];
};

static void parse(struct parse *p, const char *const *args)
{
	char *argv[16];
	int argc = 0, so, se, o, e;

	memset(p, 0, sizeof(*p));
	argv[argc++] = (char *)"tcmd";
	while (*args && argc < 15)
		argv[argc++] = (char *)*args++;
	argv[argc] = NULL;
	capture_start(&so, &se, &o, &e);
	p->ctx.format = BG_FORMAT_TABLE;
	p->ret = bg_opts_parse(&t_cmd, argc, argv, t_opt, &p->ctx, &p->first, &p->verbose);
	capture_end(so, se, o, e, p->out, sizeof(p->out), p->err, sizeof(p->err));
}

/* A usage error: exit code 2, nothing on stdout, one line on stderr in the one shape. */
static void assert_usage_error(const struct parse *p, const char *needle)
{
	assert_int_equal(p->ret, EXIT_USAGE);
	assert_string_equal(p->out, "");
	assert_int_equal(count_lines(p->err), 1);
	assert_true(!strncmp(p->err, "bindguard tcmd: ", 16));
	assert_non_null(strstr(p->err, " (see 'bindguard tcmd --help')\n"));
	if (!strstr(p->err, needle))
		fail_msg("'%s' not in: %s", needle, p->err);
}

static void test_opts_parse(void **state)
{
	static const struct {
		const char *args[8];
		int ret; /* 0, BG_OPTS_DONE or EXIT_USAGE */
		const char *err; /* in the usage error */
		int verbose, flag, format;
		const char *n;
	} cases[] = {
		{ { "FILE" }, 0, NULL, 0, 0, BG_FORMAT_TABLE, NULL },
		{ { "-v", "FILE", "-v" }, 0, NULL, 2, 0, BG_FORMAT_TABLE, NULL },
		{ { "--verbose", "-F", "FILE" }, 0, NULL, 1, 1, BG_FORMAT_TABLE, NULL },
		{ { "-f", "json", "--long-only", "7", "FILE" },
		  0,
		  NULL,
		  0,
		  0,
		  BG_FORMAT_JSON,
		  "7" },
		{ { "--format=json", "FILE" }, 0, NULL, 0, 0, BG_FORMAT_JSON, NULL },
		{ { "-h" }, BG_OPTS_DONE, NULL, 0, 0, 0, NULL },
		{ { "FILE", "--help" }, BG_OPTS_DONE, NULL, 0, 0, 0, NULL },
		{ { "--bogus", "FILE" }, EXIT_USAGE, "unknown option '--bogus'", 0, 0, 0, NULL },
		{ { "-q", "FILE" }, EXIT_USAGE, "unknown option '-q'", 0, 0, 0, NULL },
		{ { "--flag=1", "FILE" },
		  EXIT_USAGE,
		  "option '--flag' takes no argument",
		  0,
		  0,
		  0,
		  NULL },
		{ { "FILE", "-f" }, EXIT_USAGE, "option '-f' needs an argument", 0, 0, 0, NULL },
		{ { "FILE", "--long-only" },
		  EXIT_USAGE,
		  "option '--long-only' needs an argument",
		  0,
		  0,
		  0,
		  NULL },
		{ { "-f", "yaml", "FILE" },
		  EXIT_USAGE,
		  "invalid --format 'yaml' (expected table or json)",
		  0,
		  0,
		  0,
		  NULL },
		{ { "-f", "wide", "FILE" }, EXIT_USAGE, "invalid --format 'wide'", 0, 0, 0, NULL },
		{ { 0 }, EXIT_USAGE, "missing FILE", 0, 0, 0, NULL },
		{ { "-v" }, EXIT_USAGE, "missing FILE", 0, 0, 0, NULL },
		{ { "FILE", "stray" }, EXIT_USAGE, "unexpected argument 'stray'", 0, 0, 0, NULL },
	};
	struct parse *p = malloc(sizeof(*p));
	size_t i;

	(void)state;
	assert_non_null(p);
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		parse(p, cases[i].args);
		if (p->ret != cases[i].ret)
			fail_msg("case %zu: returned %d, not %d (%s)", i, p->ret, cases[i].ret,
				 p->err);
		if (cases[i].ret == EXIT_USAGE) {
			assert_usage_error(p, cases[i].err);
			continue;
		}
		assert_string_equal(p->err, "");
		if (cases[i].ret == BG_OPTS_DONE) {
			assert_true(!strncmp(p->out, "Usage: bindguard tcmd ", 22));
			continue;
		}
		assert_string_equal(p->out, "");
		assert_int_equal(p->verbose, cases[i].verbose);
		assert_int_equal(p->ctx.flag, cases[i].flag);
		assert_int_equal(p->ctx.format, cases[i].format);
		if (cases[i].n)
			assert_string_equal(p->ctx.n, cases[i].n);
	}
	free(p);
}

static void test_opts_help(void **state)
{
	const char *const args[] = { "--help", NULL };
	struct parse *p = malloc(sizeof(*p));

	(void)state;
	assert_non_null(p);
	parse(p, args);
	assert_int_equal(p->ret, BG_OPTS_DONE);
	assert_fits("tcmd --help", p->out, WIDTH);
	/* The synopsis is wrapped between groups, never inside one. */
	assert_non_null(strstr(p->out, "Usage: bindguard tcmd [--format table|wide|json] "));
	assert_non_null(strstr(p->out, "\n                      [--another-option VALUE] FILE\n"));
	/* Every option of the table, and the two every command has. */
	assert_non_null(strstr(p->out, "  -f, --format FMT      table or json\n"));
	assert_non_null(strstr(p->out, "  -F, --flag            a flag\n"));
	assert_non_null(strstr(p->out, "      --long-only N     a long-only option with\n"
				       "                        a second line\n"));
	assert_non_null(strstr(p->out, "  -v, --verbose "));
	assert_non_null(strstr(p->out, "  -h, --help "));
	assert_non_null(strstr(p->out, "\nExit status: 0.\n"));
	/* The man pages, never a path in the source tree. */
	assert_non_null(strstr(p->out, "See bindguard(8) and bindguard-policy(5).\n"));
	assert_null(strstr(p->out, "docs/"));
	free(p);
}

/* ---- clifmt.c ---------------------------------------------------------------------------- */

static void test_cli_wrap(void **state)
{
	static const struct {
		const char *lead, *cont, *text;
		size_t width;
		const char *want;
	} cases[] = {
		{ "  hint: ", "        ", "short", 80, "  hint: short\n" },
		{ "", "  ", "aaa bbb ccc", 7, "aaa bbb\n  ccc\n" },
		{ "# ", "# ", "one two three four", 10, "# one two\n# three\n# four\n" },
		/* A word wider than a line is cut, the rest goes on the next one. */
		{ "> ", "> ", "abcdefghij", 6, "> abcd\n> efgh\n> ij\n" },
		/* Spaces collapse at the breaks; control bytes and non-ASCII become '?'. */
		{ "", "", "  a\tb \x1b[31m  c\xc3\xa9 ", 80, "a?b ?[31m c??\n" },
		{ "", "", "", 80, "\n" },
	};
	struct bg_strbuf sb = BG_STRBUF_INIT;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		bg_strbuf_reset(&sb);
		bg_cli_wrap(&sb, cases[i].lead, cases[i].cont, cases[i].text, cases[i].width);
		assert_int_equal(sb.err, 0);
		if (strcmp(sb.buf, cases[i].want))
			fail_msg("case %zu: got '%s', want '%s'", i, sb.buf, cases[i].want);
		assert_fits("wrap", sb.buf, cases[i].width);
	}
	bg_strbuf_release(&sb);
}

static void test_cli_printable_addr(void **state)
{
	const __u8 v4[16] = { [10] = 0xff, [11] = 0xff, [12] = 127, [15] = 1 };
	const __u8 any6[16] = { 0 };
	char buf[64];

	(void)state;
	assert_string_equal(bg_cli_printable(buf, sizeof(buf), "my comm\n- x", 11), "my_comm?-_x");
	assert_string_equal(bg_cli_printable(buf, 4, "abcdef", 6), "abc");
	assert_int_equal(bg_cli_addr_str(buf, sizeof(buf), BG_AF_INET, v4, 1), 0);
	assert_string_equal(buf, "127.0.0.1");
	assert_int_equal(bg_cli_addr_str(buf, sizeof(buf), BG_AF_INET6, any6, 1), 0);
	assert_string_equal(buf, "[::]");
	assert_int_equal(bg_cli_addr_str(buf, sizeof(buf), BG_AF_INET6, any6, 0), 0);
	assert_string_equal(buf, "::");
	/* The one formatter: what an event says for the same bytes. */
	assert_int_equal(bg_fmt_addr(buf, sizeof(buf), BG_AF_INET, v4), 0);
	assert_string_equal(buf, "127.0.0.1");
	assert_int_equal(bg_cli_addr_str(buf, 4, BG_AF_INET, v4, 0), -EINVAL);
	assert_string_equal(buf, "?");
}

static void test_cli_rule_for(void **state)
{
	struct bg_policy_error perr;
	struct bg_policy *p = NULL;
	const struct bg_policy_rule *r;

	(void)state;
	assert_int_equal(bg_policy_parse_buffer("<builtin>", bg_builtin_policy,
						bg_builtin_policy_len, &p, &perr),
			 0);
	r = bg_cli_rule_for(p, BG_PROTO_TCP, 3306);
	assert_non_null(r);
	assert_string_equal(bg_rule_name(r), "mysql");
	assert_int_equal(r->expose, BG_EXPOSE_LOOPBACK);
	assert_ptr_equal(bg_cli_rule_for(p, BG_PROTO_UDP, 3306), r);
	r = bg_cli_rule_for(p, BG_PROTO_TCP, 25);
	assert_non_null(r);
	assert_int_equal(r->expose, BG_EXPOSE_PUBLIC);
	assert_null(bg_cli_rule_for(p, BG_PROTO_UDP, 25)); /* public rules are TCP only */
	assert_null(bg_cli_rule_for(p, BG_PROTO_TCP, 8080));
	assert_null(bg_cli_rule_for(NULL, BG_PROTO_TCP, 25));
	bg_policy_free(p);
}

/* ---- The binary -------------------------------------------------------------------------- */

static char bin[PATH_MAX];

static int find_binary(void)
{
	const char *env = getenv("BINDGUARD");
	char self[PATH_MAX];
	ssize_t n;

	if (env && *env) {
		snprintf(bin, sizeof(bin), "%s", env);
	} else {
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n <= 0)
			return -1;
		self[n] = '\0';
		/* build/tests/test_cli -> build/bindguard */
		snprintf(bin, sizeof(bin), "%s/../bindguard", dirname(self));
	}
	return access(bin, X_OK);
}

/* Run bindguard with up to 6 arguments (NULL-terminated). */
static void run_bg(struct run *r, const char *a0, const char *a1, const char *a2, const char *a3)
{
	const char *argv[] = { bin, a0, a1, a2, a3, NULL };

	run_argv(r, (char *const *)argv);
}

/* The commands the global help lists ("  bindguard CMD" lines), with "policy show" as one. */
static size_t listed_commands(const char *help, char names[][72], size_t max)
{
	const char *line = help, *nl;
	char a[32], b[32];
	size_t n = 0, i;
	int k;

	for (; *line && n < max; line = nl + 1) {
		nl = strchr(line, '\n');
		if (!nl)
			break;
		if (strncmp(line, "  bindguard ", 12) || line[12] == '-')
			continue;
		k = sscanf(line + 12, "%31s %31s", a, b);
		if (k == 2 && b[0] >= 'a' && b[0] <= 'z') /* "policy show" */
			snprintf(names[n], sizeof(names[n]), "%s %s", a, b);
		else
			snprintf(names[n], sizeof(names[n]), "%s", a);
		for (i = 0; i < n && strcmp(names[i], names[n]); i++)
			;
		n += i == n;
	}
	return n;
}

/* A usage error of the binary: exit 2, one stderr line with the one prefix, nothing else. */
static void assert_bin_usage(const struct run *r, const char *cmd, const char *what)
{
	char prefix[64], see[96];

	if (*cmd) {
		snprintf(prefix, sizeof(prefix), "bindguard %s: ", cmd);
		snprintf(see, sizeof(see), " (see 'bindguard %s --help')\n", cmd);
	} else {
		snprintf(prefix, sizeof(prefix), "bindguard: ");
		snprintf(see, sizeof(see), " (see 'bindguard --help')\n");
	}
	if (r->status != EXIT_USAGE || count_lines(r->err) != 1 ||
	    strncmp(r->err, prefix, strlen(prefix)) || !strstr(r->err, see) || r->out[0])
		fail_msg("%s: want exit 2 and one line '%s...%s' on stderr; got exit %d, stderr "
			 "'%s', stdout '%.200s'",
			 what, prefix, see, r->status, r->err, r->out);
}

static void test_bin_help(void **state)
{
	struct run *r = malloc(sizeof(*r)), *h = malloc(sizeof(*h));
	char names[16][72], cmd[72], *sub;
	size_t n, i;

	(void)state;
	assert_non_null(r);
	assert_non_null(h);
	if (find_binary()) {
		free(r);
		free(h);
		skip();
	}
	run_bg(r, "--help", NULL, NULL, NULL);
	assert_int_equal(r->status, 0);
	assert_string_equal(r->err, "");
	assert_fits("bindguard --help", r->out, WIDTH);
	assert_non_null(strstr(r->out, "bindguard(8)"));
	assert_non_null(strstr(r->out, "bindguard-policy(5)"));
	assert_null(strstr(r->out, "docs/"));
	assert_null(strstr(r->out, "README"));
	n = listed_commands(r->out, names, ARRAY_SIZE(names));
	/* At least these; a command added later is covered by the loop without a change here. */
	assert_true(n >= 7);
	for (i = 0; i < n; i++)
		print_message("command listed: %s\n", names[i]);

	for (i = 0; i < n; i++) {
		snprintf(cmd, sizeof(cmd), "%s", names[i]);
		sub = strchr(cmd, ' ');
		if (sub)
			*sub++ = '\0';
		/* CMD --help: its own help, exit 0, 80 columns, the man pages. */
		run_bg(h, cmd, sub ? sub : "--help", sub ? "--help" : NULL, NULL);
		if (h->status != 0 || h->err[0])
			fail_msg("%s --help: exit %d, stderr '%s'", names[i], h->status, h->err);
		if (strncmp(h->out, "Usage: bindguard ", 17) ||
		    strncmp(h->out + 17, names[i], strlen(names[i])))
			fail_msg("%s --help does not start with its usage: %.100s", names[i],
				 h->out);
		assert_fits(names[i], h->out, WIDTH);
		assert_non_null(strstr(h->out, "\nSee bindguard(8) and bindguard-policy(5).\n"));
		assert_null(strstr(h->out, "docs/"));
		assert_non_null(strstr(h->out, "  -v, --verbose"));
		/* "help CMD" is the same text. */
		if (!sub) {
			run_bg(r, "help", cmd, NULL, NULL);
			assert_int_equal(r->status, 0);
			assert_string_equal(r->out, h->out);
		}

		/* A bad option: one line, the command's prefix, exit 2. */
		run_bg(r, cmd, sub ? sub : "--no-such-option", sub ? "--no-such-option" : NULL,
		       NULL);
		assert_bin_usage(r, names[i], "bad option");
		assert_non_null(strstr(r->err, "unknown option '--no-such-option'"));
		run_bg(r, cmd, sub ? sub : "-Q", sub ? "-Q" : NULL, NULL);
		assert_bin_usage(r, names[i], "bad short option");
	}
	free(r);
	free(h);
}

static void test_bin_stray(void **state)
{
	static const struct {
		const char *a[4];
		const char *cmd; /* the prefix's command; "" for bindguard's own */
		const char *msg;
	} cases[] = {
		{ { "--version", "extra" }, "", "unexpected argument 'extra'" },
		{ { "--help", "extra" }, "", "unexpected argument 'extra'" },
		{ { "nosuchcommand" }, "", "unknown command 'nosuchcommand'" },
		{ { "-x" }, "", "unknown option '-x'" },
		{ { 0 }, "", "missing command" },
		{ { "check" }, "check", "missing FILE" },
		{ { "check", "a.yaml", "b.yaml" }, "check", "unexpected argument 'b.yaml'" },
		{ { "status", "extra" }, "status", "unexpected argument 'extra'" },
		{ { "status", "--format", "yaml" },
		  "status",
		  "invalid --format 'yaml' (expected table, wide or json)" },
		{ { "status", "--wide=1" }, "status", "option '--wide' takes no argument" },
		{ { "learn", "extra" }, "learn", "unexpected argument 'extra'" },
		{ { "learn", "--duration", "5s" }, "learn", "invalid --duration '5s'" },
		{ { "learn", "--duration" }, "learn", "option '--duration' needs an argument" },
		{ { "probe", "extra" }, "probe", "unexpected argument 'extra'" },
		{ { "probe", "--format", "wide" }, "probe", "invalid --format 'wide'" },
		{ { "run", "extra" }, "run", "unexpected argument 'extra'" },
		{ { "unload", "extra" }, "unload", "unexpected argument 'extra'" },
		{ { "policy" }, "policy", "missing command (expected show)" },
		{ { "policy", "bogus" }, "policy", "unknown command 'bogus'" },
		{ { "policy", "show", "extra" }, "policy show", "unexpected argument 'extra'" },
	};
	struct run *r = malloc(sizeof(*r));
	size_t i;

	(void)state;
	assert_non_null(r);
	if (find_binary()) {
		free(r);
		skip();
	}
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		run_bg(r, cases[i].a[0], cases[i].a[1], cases[i].a[2], cases[i].a[3]);
		assert_bin_usage(r, cases[i].cmd, cases[i].a[0] ? cases[i].a[0] : "(none)");
		if (!strstr(r->err, cases[i].msg))
			fail_msg("'%s' not in: %s", cases[i].msg, r->err);
	}
	run_bg(r, "--version", NULL, NULL, NULL);
	assert_int_equal(r->status, 0);
	assert_true(!strncmp(r->out, "bindguard ", 10));
	free(r);
}

/* `policy show` is the embedded policy byte for byte, and `check -v` of it passes. */
static void test_bin_policy_show(void **state)
{
	char path[] = "/tmp/bg-test-cli-policy-XXXXXX";
	struct run *r = malloc(sizeof(*r));
	int fd;

	(void)state;
	assert_non_null(r);
	if (find_binary()) {
		free(r);
		skip();
	}
	run_bg(r, "policy", "show", NULL, NULL);
	assert_int_equal(r->status, 0);
	assert_string_equal(r->err, "");
	assert_int_equal(strlen(r->out), bg_builtin_policy_len);
	assert_memory_equal(r->out, bg_builtin_policy, bg_builtin_policy_len);

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, r->out, strlen(r->out)), (ssize_t)strlen(r->out));
	close(fd);
	run_bg(r, "check", "-v", path, NULL);
	unlink(path);
	if (r->status != 0)
		fail_msg("check -v of the built-in policy: exit %d: %s", r->status, r->err);
	assert_non_null(strstr(r->out, "policy    iredmail\n"));
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_opts_parse),   cmocka_unit_test(test_opts_help),
		cmocka_unit_test(test_cli_wrap),     cmocka_unit_test(test_cli_printable_addr),
		cmocka_unit_test(test_cli_rule_for), cmocka_unit_test(test_bin_help),
		cmocka_unit_test(test_bin_stray),    cmocka_unit_test(test_bin_policy_show),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
