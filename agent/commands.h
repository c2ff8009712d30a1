/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * commands.h - the commands main.c dispatches to, and the helpers they share (cli.c).
 * Each command reports its own errors (once) and returns the process exit code.
 */
#ifndef BG_COMMANDS_H
#define BG_COMMANDS_H

#include <stddef.h>

#include "policy.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE 2
#define EXIT_VIOLATION 3 /* status: something on the host breaks the policy */

/*
 * Parse the policy at path, or the built-in one when path is NULL. On failure the
 * file:line:col message is printed and also left in msg. Returns 0 or -errno.
 */
int bg_cli_load_policy(const char *path, struct bg_policy **out, char *msg, size_t len);

/*
 * Check what every BPF command needs: root, BTF, cgroup v2. When *cgroup_path is NULL it is set
 * to the cgroup v2 root (stored in buf). Returns 0, or EXIT_RUNTIME after printing why.
 */
int bg_cli_preflight(const char *cmd, const char **cgroup_path, char *buf, size_t len);

struct bg_loader;
struct bg_loader_opts;

/* bg_loader_new() with libbpf's log routed and the failure reported once. Returns 0,
 * EXIT_USAGE (a bad --cgroup) or EXIT_RUNTIME. */
int bg_cli_loader_new(const struct bg_loader_opts *opts, struct bg_loader **out);

/* Compile p (the set ids continue the loader's) and install it into l's maps. Reports a failure
 * once; returns 0, EXIT_USAGE (does not compile) or EXIT_RUNTIME. out is released on failure. */
int bg_cli_install(struct bg_loader *l, const struct bg_policy *p, struct bg_compile_opts *copts,
		   struct bg_compiled *out);
struct bg_scopes;
/* The same, with the cgroups that scopes (may be NULL: host rules for all) classify. */
int bg_cli_install_scoped(struct bg_loader *l, const struct bg_policy *p,
			  struct bg_compile_opts *copts, struct bg_compiled *out,
			  struct bg_scopes *scopes);

/* bindguard run ... (cmd_run.c; the agent is agent.c) */
int bg_cmd_run(int argc, char **argv);

/* bindguard unload [--cgroup DIR | --all] */
int bg_cmd_unload(int argc, char **argv);

/* bindguard probe [--format table|json] */
int bg_cmd_probe(int argc, char **argv);

/* bindguard status [--format table|wide|json] [--policy FILE] [--cgroup DIR] */
int bg_cmd_status(int argc, char **argv);

/* bindguard learn [--duration SECONDS] [--output FILE] [--cgroup DIR] [--include-ephemeral] */
int bg_cmd_learn(int argc, char **argv);

/* bindguard check FILE; bindguard policy show (cmd_policy.c) */
int bg_cmd_check(int argc, char **argv);
int bg_cmd_policy(int argc, char **argv);

#endif /* BG_COMMANDS_H */
