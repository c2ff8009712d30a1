// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cmd_probe.c - bindguard probe: what this kernel offers bindguard, feature by feature, and why a
 * feature is off. The same probes decide what `run` loads (kfeatures.c), so what this prints is
 * what an agent started now would do.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "event_fmt.h"
#include "kfeatures.h"
#include "log.h"
#include "opts.h"
#include "strbuf.h"

static const struct bg_opt probe_opts[] = {
	{ "format", 'f', "FMT", "table (default) or json (one object on one line)" },
	{ 0 },
};

static const struct bg_cmd probe_cmd = {
	.name = "probe",
	.synopsis = "[--format table|json]",
	.desc = "Probe the running kernel for every feature bindguard uses, by loading a small\n"
		"program for each, and print what each needs, whether it is on, and why not.\n"
		"A feature in 'fallback' is done another way with the same result; one that is\n"
		"'off' loses what the table says. What this prints is what an agent started\n"
		"now would do. Needs root.",
	.tail = "Exit status: 0 bindguard can enforce on this kernel, 1 it cannot (a required\n"
		"feature is off), 2 usage error.\n",
	.opts = probe_opts,
};

static int probe_opt(void *ctx, int key, const char *arg)
{
	if (key == 'f')
		return bg_opts_format(&probe_cmd, arg, 1u << BG_FORMAT_TABLE | 1u << BG_FORMAT_JSON,
				      ctx);
	return 0;
}

#define COL_TEXT 32 /* where the description starts */
#define WIDTH 80

/*
 * Print prefix + text, wrapped at WIDTH; the caller has already printed the first line's first
 * COL_TEXT columns, continuation lines are indented to COL_TEXT.
 */
static void print_wrapped(const char *prefix, const char *text)
{
	size_t room = WIDTH - COL_TEXT - strlen(prefix), n;
	const char *p = text;

	printf("%s", prefix);
	while (*p) {
		n = strlen(p);
		if (n > room) {
			n = room;
			while (n > 0 && p[n] != ' ')
				n--;
			if (n == 0)
				n = room;
		}
		printf("%.*s\n", (int)n, p);
		p += n;
		while (*p == ' ')
			p++;
		if (*p)
			printf("%*s", (int)(WIDTH - room), "");
	}
	if (!*text)
		printf("\n");
}

static void print_table(const struct bg_features *f)
{
	int i;

	printf("kernel %s\n", f->kernel);
	printf("%-14s %-6s %-9s %s\n", "FEATURE", "NEEDS", "STATE", "WHAT IT GIVES / WHY NOT");
	for (i = 0; i < BG_NR_FEATS; i++) {
		const struct bg_feature_info *t = &bg_feature_table[i];
		char state[16];

		snprintf(state, sizeof(state), "%s%s", bg_feature_state_str(f->state[i]),
			 t->required && f->state[i] != BG_FEAT_ON ? "!" : "");
		printf("%-14s %-6s %-9s ", t->name, t->needs, state);
		print_wrapped("", t->gives);
		if (f->state[i] == BG_FEAT_FALLBACK && t->fallback) {
			printf("%*s", COL_TEXT, "");
			print_wrapped("instead: ", t->fallback);
		}
		if (f->state[i] == BG_FEAT_OFF && t->lost) {
			printf("%*s", COL_TEXT, "");
			print_wrapped("lost: ", t->lost);
		}
		if (f->state[i] != BG_FEAT_ON && f->why[i][0]) {
			printf("%*s", COL_TEXT, "");
			print_wrapped("why: ", f->why[i]);
		}
	}
}

static void json_member(struct bg_strbuf *sb, const char *key, const char *val)
{
	bg_strbuf_printf(sb, ",\"%s\":", key);
	if (val)
		bg_json_string(sb, val, strlen(val));
	else
		bg_strbuf_puts(sb, "null");
}

static int print_json(const struct bg_features *f)
{
	struct bg_strbuf sb = BG_STRBUF_INIT;
	int i, err;

	bg_strbuf_puts(&sb, "{\"kernel\":");
	bg_json_string(&sb, f->kernel, strlen(f->kernel));
	bg_strbuf_printf(&sb, ",\"usable\":%s,\"features\":[",
			 bg_features_usable(f, NULL) ? "true" : "false");
	for (i = 0; i < BG_NR_FEATS; i++) {
		const struct bg_feature_info *t = &bg_feature_table[i];

		bg_strbuf_printf(&sb, "%s{\"name\":\"%s\",\"needs\":\"%s\",\"required\":%s",
				 i ? "," : "", t->name, t->needs, t->required ? "true" : "false");
		json_member(&sb, "state", bg_feature_state_str(f->state[i]));
		json_member(&sb, "gives", t->gives);
		json_member(&sb, "instead", f->state[i] == BG_FEAT_FALLBACK ? t->fallback : NULL);
		json_member(&sb, "lost", f->state[i] == BG_FEAT_OFF ? t->lost : NULL);
		json_member(&sb, "reason", f->why[i][0] ? f->why[i] : NULL);
		bg_strbuf_puts(&sb, "}");
	}
	bg_strbuf_puts(&sb, "]}\n");
	err = sb.err;
	if (!err && fwrite(sb.buf, 1, sb.len, stdout) != sb.len)
		err = -EIO;
	bg_strbuf_release(&sb);
	return err;
}

int bg_cmd_probe(int argc, char **argv)
{
	struct bg_features f;
	int err, first, format = BG_FORMAT_TABLE, verbose = 0;

	err = bg_opts_parse(&probe_cmd, argc, argv, probe_opt, &format, &first, &verbose);
	if (err)
		return err == BG_OPTS_DONE ? 0 : err;
	if (geteuid() != 0) {
		bg_err("probe needs root: it loads a small BPF program per feature\n");
		return EXIT_RUNTIME;
	}
	bg_log_setup_libbpf();
	bg_features_probe(&f);
	if (format == BG_FORMAT_JSON) {
		if (print_json(&f)) {
			bg_err("cannot write the probe results\n");
			return EXIT_RUNTIME;
		}
	} else {
		print_table(&f);
	}
	if (fflush(stdout) != 0) {
		bg_err("cannot write the probe results\n");
		return EXIT_RUNTIME;
	}
	return bg_features_usable(&f, NULL) ? 0 : EXIT_RUNTIME;
}
