// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <mntent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "cgroup.h"

int bg_cgroup2_root(const char *mounts, char *buf, size_t len)
{
	struct mntent ent, *m;
	char scratch[4096];
	int ret = -ENOENT;
	FILE *f;

	f = setmntent(mounts, "re");
	if (!f)
		return -errno;
	/* The first cgroup2 mount wins: on a hybrid host it is /sys/fs/cgroup/unified. */
	while ((m = getmntent_r(f, &ent, scratch, sizeof(scratch)))) {
		if (strcmp(m->mnt_type, "cgroup2") != 0)
			continue;
		if (strlen(m->mnt_dir) >= len) {
			ret = -ENAMETOOLONG;
			break;
		}
		strcpy(buf, m->mnt_dir);
		ret = 0;
		break;
	}
	endmntent(f);
	return ret;
}

int bg_cgroup_open(const char *path)
{
	struct statfs sfs;
	int fd, err;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstatfs(fd, &sfs) < 0) {
		err = -errno;
		goto out_close;
	}
	if (sfs.f_type != CGROUP2_SUPER_MAGIC) {
		err = -EMEDIUMTYPE;
		goto out_close;
	}
	return fd;
out_close:
	close(fd);
	return err;
}
