// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cmd_unload.c - bindguard unload: remove pinned enforcement (run --pin) and its pins. Removing
 * the last pin of a link detaches its hook, so after this the cgroup is enforced by nothing of
 * bindguard's. A state held by a running agent is refused: stop the agent first.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "commands.h"
#include "log.h"
#include "opts.h"
#include "pin.h"

static const struct bg_opt unload_opts[] = {
	{ "cgroup", 'c', "DIR",
	  "the cgroup whose pinned enforcement to remove\n"
	  "(default: the root of the cgroup v2 hierarchy)" },
	{ "all", 'A', NULL, "remove the pinned enforcement of every cgroup" },
	{ 0 },
};

static const struct bg_cmd unload_cmd = {
	.name = "unload",
	.synopsis = "[--cgroup DIR | --all]",
	.desc = "Remove the pinned enforcement that 'bindguard run --pin' left on a cgroup\n"
		"(under /sys/fs/bpf/bindguard): its hooks are detached and its maps freed.\n"
		"Refused while an agent holds it. Needs root.",
	.tail = "Exit status: 0 removed (or nothing was pinned), 1 failure, 2 usage error.\n",
	.opts = unload_opts,
};

struct unload_ctx {
	const char *cgroup;
	int all;
	int removed, failed;
};

static int unload_opt(void *ctx, int key, const char *arg)
{
	struct unload_ctx *u = ctx;

	if (key == 'c')
		u->cgroup = arg;
	else if (key == 'A')
		u->all = 1;
	return 0;
}

static void unload_one(void *ctx, const char *dir, const struct bg_pin_meta *m)
{
	struct unload_ctx *u = ctx;
	char why[600];

	if (bg_pin_remove(dir, why, sizeof(why))) {
		bg_err("%s\n", why);
		u->failed++;
		return;
	}
	printf("removed the pinned enforcement of %s (%s)\n", m && m->cgroup[0] ? m->cgroup : "?",
	       dir);
	u->removed++;
}

int bg_cmd_unload(int argc, char **argv)
{
	struct unload_ctx u = { 0 };
	char root[PATH_MAX], dir[512], why[512];
	struct stat st;
	int err, first, verbose = 0, fd;

	err = bg_opts_parse(&unload_cmd, argc, argv, unload_opt, &u, &first, &verbose);
	if (err == BG_OPTS_DONE)
		return 0;
	if (err)
		return err;
	if (u.all && u.cgroup)
		return bg_opts_error(&unload_cmd, "--all and --cgroup exclude each other");
	bg_log_set_level(BG_LOG_INFO + verbose);
	if (geteuid() != 0) {
		bg_err("unload needs root\n");
		return EXIT_RUNTIME;
	}
	if (bg_pin_bpffs(why, sizeof(why))) {
		bg_err("%s\n", why);
		return EXIT_RUNTIME;
	}
	if (u.all) {
		err = bg_pin_each(unload_one, &u);
		if (err < 0) {
			bg_err("cannot list %s: %s\n", BG_PIN_ROOT, strerror(-err));
			return EXIT_RUNTIME;
		}
		if (!u.removed && !u.failed)
			printf("nothing is pinned\n");
		return u.failed ? EXIT_RUNTIME : 0;
	}
	if (!u.cgroup) {
		err = bg_cgroup2_root("/proc/self/mounts", root, sizeof(root));
		if (err) {
			bg_err("no cgroup v2 hierarchy is mounted: %s\n", strerror(-err));
			return EXIT_RUNTIME;
		}
		u.cgroup = root;
	}
	fd = bg_cgroup_open(u.cgroup);
	if (fd < 0) {
		bg_err("cannot open cgroup %s: %s\n", u.cgroup, strerror(-fd));
		return fd == -ENOENT || fd == -ENOTDIR || fd == -EMEDIUMTYPE ? EXIT_USAGE :
									       EXIT_RUNTIME;
	}
	err = fstat(fd, &st) < 0 ? -errno : 0;
	close(fd);
	if (err || bg_pin_dir(st.st_ino, dir, sizeof(dir))) {
		bg_err("cannot stat cgroup %s\n", u.cgroup);
		return EXIT_RUNTIME;
	}
	if (!bg_pin_exists(dir)) {
		printf("nothing is pinned on %s\n", u.cgroup);
		return 0;
	}
	{
		struct bg_pin_meta m;
		int mfd = bg_pin_meta_open(dir, 0), ok;

		ok = mfd >= 0 && bg_pin_meta_read(mfd, &m) == 0;
		if (mfd >= 0)
			close(mfd);
		unload_one(&u, dir, ok ? &m : NULL);
	}
	return u.failed ? EXIT_RUNTIME : 0;
}
