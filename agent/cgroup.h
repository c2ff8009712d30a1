/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* cgroup.h - find and open cgroup v2 directories. */
#ifndef BG_CGROUP_H
#define BG_CGROUP_H

#include <stddef.h>

/*
 * Find the cgroup v2 mount point from a mounts table (normally /proc/self/mounts). Returns 0 and
 * copies the path into buf, -ENOENT if no cgroup2 file system is mounted, -ENAMETOOLONG, or
 * -errno if the table cannot be read. buf is untouched on failure.
 */
int bg_cgroup2_root(const char *mounts, char *buf, size_t len);

/*
 * Open a directory of the cgroup v2 hierarchy. Returns an O_RDONLY|O_DIRECTORY fd, -ENOTDIR if
 * the path is not a directory, -EMEDIUMTYPE if it is not on cgroup2, or -errno.
 */
int bg_cgroup_open(const char *path);

/*
 * Programs whose name starts with prefix ("bg_", "bg_bind4") attached to the cgroup at path on
 * the attach types given (enum bpf_attach_type values); with effective, those of its ancestors
 * that apply to it too (BPF_F_QUERY_EFFECTIVE). Returns the count, or -errno when the cgroup
 * cannot be opened or no attach type can be queried.
 */
int bg_cgroup_count_progs(const char *path, const int *types, size_t n_types, int effective,
			  const char *prefix);

#endif /* BG_CGROUP_H */
