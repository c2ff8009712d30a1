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

#include <bpf/bpf.h>

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

/* The programs of one query that are ours: by name, as the kernel keeps it (15 bytes). */
static int count_named(const __u32 *ids, __u32 cnt, const char *prefix)
{
	struct bpf_prog_info info;
	__u32 i, len;
	int fd, n = 0;

	for (i = 0; i < cnt; i++) {
		fd = bpf_prog_get_fd_by_id(ids[i]);
		if (fd < 0)
			continue; /* detached meanwhile */
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
		    !strncmp(info.name, prefix, strlen(prefix)))
			n++;
		close(fd);
	}
	return n;
}

int bg_cgroup_count_progs(const char *path, const int *types, size_t n_types, int effective,
			  const char *prefix)
{
	__u32 ids[64], cnt;
	int cg, n = 0, queried = 0, err = 0;
	size_t t;

	cg = bg_cgroup_open(path);
	if (cg < 0)
		return cg;
	for (t = 0; t < n_types; t++) {
		cnt = sizeof(ids) / sizeof(ids[0]);
		if (bpf_prog_query(cg, (enum bpf_attach_type)types[t],
				   effective ? BPF_F_QUERY_EFFECTIVE : 0, NULL, ids, &cnt) < 0) {
			err = -errno;
			continue;
		}
		queried = 1;
		n += count_named(ids, cnt, prefix);
	}
	close(cg);
	return queried ? n : err;
}
