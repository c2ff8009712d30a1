// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cmd_unload.c - bindguard unload: remove pinned enforcement (run --pin) and its pins. Removing
 * the last pin of a link detaches its hook, so after this the cgroup is enforced by nothing of
 * bindguard's. A state held by a running agent is refused: stop the agent first.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

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

/* Programs of ours (bg_*) attached to the cgroup at path, on the hooks bindguard uses; -1. */
static int ours_attached(const char *path)
{
	static const int types[] = {
		BPF_CGROUP_INET4_BIND,	    BPF_CGROUP_INET6_BIND, BPF_CGROUP_INET4_POST_BIND,
		BPF_CGROUP_INET6_POST_BIND, BPF_CGROUP_SOCK_OPS,
	};
	int n = bg_cgroup_count_progs(path, types, sizeof(types) / sizeof(types[0]), 0, "bg_");

	return n < 0 ? -1 : n;
}

static void unload_one(void *ctx, const char *dir, const struct bg_pin_meta *m)
{
	struct unload_ctx *u = ctx;
	char why[600];
	int i, n = -1;

	if (bg_pin_remove(dir, why, sizeof(why))) {
		bg_err("%s\n", why);
		u->failed++;
		return;
	}
	/*
	 * The hooks detach as the links' last references go, which the kernel may finish a
	 * moment after the pins are gone: when this returns, nothing of ours is attached.
	 */
	for (i = 0; m && m->cgroup[0] && i < 200; i++) {
		n = ours_attached(m->cgroup);
		if (n <= 0)
			break;
		usleep(10000);
	}
	if (n > 0) {
		bg_err("%s: %d bindguard programs are still attached to %s after 2 s\n", dir, n,
		       m->cgroup);
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
