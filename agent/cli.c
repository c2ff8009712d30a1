// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* cli.c - what every command shares: the preflight checks and policy loading (commands.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup.h"
#include "commands.h"
#include "scopes.h"
#include "loader.h"
#include "log.h"
#include "policy.h"

int bg_cli_preflight(const char *cmd, const char **cgroup_path, char *buf, size_t len)
{
	int err;

	if (geteuid() != 0) {
		bg_err("%s needs root (CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN and CAP_SYS_ADMIN)\n",
		       cmd);
		return EXIT_RUNTIME;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		bg_err("this kernel exposes no BTF (/sys/kernel/btf/vmlinux: %s); bindguard needs "
		       "CONFIG_DEBUG_INFO_BTF=y\n",
		       strerror(errno));
		return EXIT_RUNTIME;
	}
	if (!*cgroup_path) {
		err = bg_cgroup2_root("/proc/self/mounts", buf, len);
		if (err) {
			bg_err("no cgroup v2 hierarchy is mounted (/proc/self/mounts has no cgroup2 "
			       "entry): %s\n",
			       strerror(-err));
			return EXIT_RUNTIME;
		}
		*cgroup_path = buf;
	}
	return 0;
}

/*
 * A policy error or warning with a position starts its line with "file:line:col:", as a
 * compiler's does, so that editors and `grep -n`-style tools can jump to it. An error without
 * a position (the file cannot be read) is bindguard's own and keeps its prefix.
 */
int bg_cli_load_policy(const char *path, struct bg_policy **out, char *msg, size_t len)
{
	struct bg_policy_error perr;
	char line[1024];
	size_t i;
	int err;

	memset(&perr, 0, sizeof(perr));
	if (path)
		err = bg_policy_parse_file(path, out, &perr);
	else
		err = bg_policy_parse_buffer(BG_BUILTIN_POLICY_NAME, bg_builtin_policy,
					     bg_builtin_policy_len, out, &perr);
	if (err) {
		bg_policy_error_str(&perr, msg, len);
		fprintf(stderr, "%s%s\n", perr.line ? "" : "bindguard: ", msg);
		return err;
	}
	for (i = 0; i < (*out)->n_warnings; i++)
		fprintf(stderr, "%s\n", bg_policy_warning_str(*out, i, line, sizeof(line)));
	return 0;
}

int bg_cli_loader_new(const struct bg_loader_opts *opts, struct bg_loader **out)
{
	int err;

	bg_log_setup_libbpf();
	err = bg_loader_new(opts, out);
	if (!err)
		return 0;
	bg_err("%s\n", bg_loader_strerror());
	/* A --cgroup that does not exist or is not cgroup v2 is the user's to fix. */
	if (err == -ENOENT || err == -ENOTDIR || err == -EMEDIUMTYPE)
		return EXIT_USAGE;
	return EXIT_RUNTIME;
}

int bg_cli_install(struct bg_loader *l, const struct bg_policy *p, struct bg_compile_opts *copts,
		   struct bg_compiled *out)
{
	return bg_cli_install_scoped(l, p, copts, out, NULL);
}

int bg_cli_install_scoped(struct bg_loader *l, const struct bg_policy *p,
			  struct bg_compile_opts *copts, struct bg_compiled *out,
			  struct bg_scopes *scopes)
{
	struct bg_scope_entry *cg = NULL;
	size_t n_cg = 0;
	int err;

	copts->first_set_id = bg_loader_next_set_id(l);
	err = bg_policy_compile(p, copts, out);
	if (err) {
		bg_err("cannot compile the policy: %s\n", strerror(-err));
		return EXIT_USAGE;
	}
	err = bg_scopes_classify(scopes, p, &cg, &n_cg);
	if (err) {
		bg_err("cannot classify the cgroups for the policy's scopes: %s\n", strerror(-err));
		bg_compiled_release(out);
		return EXIT_RUNTIME;
	}
	if (p->n_scopes && !scopes)
		bg_warn("the policy has scopes but no cgroup is classified: every socket is judged "
			"by the host rules\n");
	err = bg_loader_install_policy(l, out, cg, n_cg);
	free(cg);
	if (err) {
		bg_err("%s\n", bg_loader_strerror());
		bg_compiled_release(out);
		return EXIT_RUNTIME;
	}
	return 0;
}
