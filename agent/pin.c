// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* pin.c - pinned enforcement on bpffs: layout, meta record, policy texts, removal (pin.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "pin.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

#define BG_BPFFS "/sys/fs/bpf"

int bg_pin_bpffs(char *why, size_t len)
{
	struct statfs sfs;

	if (statfs(BG_BPFFS, &sfs) == 0 && (unsigned long)sfs.f_type == BPF_FS_MAGIC)
		return 0;
	/* Not mounted (these machines, minimal containers): mount it, root-only like a pin dir. */
	if (mount("bpf", BG_BPFFS, "bpf", 0, "mode=0700") < 0) {
		int err = -errno;

		snprintf(why, len, "cannot mount bpffs at %s: %s", BG_BPFFS, strerror(-err));
		return err;
	}
	return 0;
}

int bg_pin_dir(__u64 cgroup_id, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/cg%llu", BG_PIN_ROOT, (unsigned long long)cgroup_id);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int path_in(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int bg_pin_exists(const char *dir)
{
	char path[512];
	struct stat st;

	if (path_in(path, sizeof(path), dir, BG_PIN_META))
		return 0;
	return stat(path, &st) == 0;
}

/* The directories are root's alone (0700): the pins are the enforcement. */
static int mkdir_0700(const char *path)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return chmod(path, 0700) < 0 ? -errno : 0;
	return -errno;
}

int bg_pin_mkdir(const char *dir)
{
	int err = mkdir_0700(BG_PIN_ROOT);

	return err ? err : mkdir_0700(dir);
}

static int map_open(const char *dir, const char *name, int create, enum bpf_map_type type,
		    __u32 key, __u32 value, __u32 max, __u32 flags)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = flags);
	char path[512];
	int fd, err;

	err = path_in(path, sizeof(path), dir, name);
	if (err)
		return err;
	fd = bpf_obj_get(path);
	if (fd >= 0 || !create)
		return fd >= 0 ? fd : -errno;
	if ((err = mkdir_0700(BG_PIN_ROOT)) || (err = mkdir_0700(dir)))
		return err;
	fd = bpf_map_create(type, name[0] == 'm' ? "bg_meta" : "bg_polsrc", key, value, max, &opts);
	if (fd < 0)
		return -errno;
	if (bpf_obj_pin(fd, path) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int bg_pin_meta_open(const char *dir, int create)
{
	return map_open(dir, BG_PIN_META, create, BPF_MAP_TYPE_ARRAY, sizeof(__u32),
			sizeof(struct bg_pin_meta), 1, 0);
}

int bg_pin_meta_read(int fd, struct bg_pin_meta *m)
{
	__u32 key = 0;

	if (bpf_map_lookup_elem(fd, &key, m) < 0)
		return -errno;
	m->cgroup[sizeof(m->cgroup) - 1] = '\0';
	m->source[sizeof(m->source) - 1] = '\0';
	return 0;
}

int bg_pin_meta_write(int fd, const struct bg_pin_meta *m)
{
	__u32 key = 0;

	return bpf_map_update_elem(fd, &key, m, BPF_ANY) < 0 ? -errno : 0;
}

/* Policy texts up to BG_POLICY_MAX_BYTES (16 MiB) for two generations; no preallocation. */
#define POLSRC_MAX_CHUNKS ((2u * (16u << 20)) / BG_POLSRC_CHUNK + 2)

int bg_pin_polsrc_open(const char *dir, int create)
{
	return map_open(dir, BG_PIN_POLSRC, create, BPF_MAP_TYPE_HASH, sizeof(struct bg_polsrc_key),
			BG_POLSRC_CHUNK, POLSRC_MAX_CHUNKS, BPF_F_NO_PREALLOC);
}

int bg_pin_polsrc_store(int fd, __u32 gen, __u32 keep_gen, const char *text, size_t len)
{
	/* Generations are 16-bit: this key never exists, and starts the walk (NULL would too). */
	struct bg_polsrc_key k, next, none = { 0xffffffffu, 0xffffffffu }, *prev = &none;
	char chunk[BG_POLSRC_CHUNK];
	size_t off;

	for (k.gen = gen, k.chunk = 0, off = 0; off < len; k.chunk++, off += BG_POLSRC_CHUNK) {
		size_t n = len - off < BG_POLSRC_CHUNK ? len - off : BG_POLSRC_CHUNK;

		memset(chunk, 0, sizeof(chunk));
		memcpy(chunk, text + off, n);
		if (bpf_map_update_elem(fd, &k, chunk, BPF_ANY) < 0)
			return -errno;
	}
	/* Drop the chunks of older generations (and of a longer text of gen). */
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		if ((next.gen != gen && next.gen != keep_gen) ||
		    (next.gen == gen && (size_t)next.chunk * BG_POLSRC_CHUNK >= len)) {
			bpf_map_delete_elem(fd, &next);
			prev = &none; /* start over: the walk is not stable under deletion */
			continue;
		}
		k = next;
		prev = &k;
	}
	return 0;
}

int bg_pin_polsrc_load(int fd, __u32 gen, size_t len, char **out)
{
	struct bg_polsrc_key k = { .gen = gen };
	char chunk[BG_POLSRC_CHUNK], *buf;
	size_t off;

	buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	for (off = 0; off < len; off += BG_POLSRC_CHUNK, k.chunk++) {
		size_t n = len - off < BG_POLSRC_CHUNK ? len - off : BG_POLSRC_CHUNK;

		if (bpf_map_lookup_elem(fd, &k, chunk) < 0) {
			free(buf);
			return -errno;
		}
		memcpy(buf + off, chunk, n);
	}
	*out = buf;
	return 0;
}

/* Field 22 of /proc/PID/stat: start time in clock ticks since boot; 0 if unreadable. */
static __u64 start_time(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long long v = 0;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* comm may hold spaces and parentheses: fields count from the last ')'. */
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	for (field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (p)
		sscanf(p + 1, "%llu", &v);
	return v;
}

__u64 bg_pin_self_start(void)
{
	return start_time(getpid());
}

int bg_pin_holder(const struct bg_pin_meta *m)
{
	if (!m->agent_pid)
		return 0;
	if (kill((pid_t)m->agent_pid, 0) < 0 && errno == ESRCH)
		return 0;
	return start_time((int)m->agent_pid) == m->agent_start ? (int)m->agent_pid : 0;
}

int bg_pin_remove(const char *dir, char *why, size_t len)
{
	struct bg_pin_meta m;
	char path[512];
	struct dirent *de;
	int fd, err = 0, holder;
	DIR *d;

	fd = bg_pin_meta_open(dir, 0);
	if (fd >= 0) {
		if (bg_pin_meta_read(fd, &m) == 0 && (holder = bg_pin_holder(&m))) {
			close(fd);
			snprintf(why, len, "an agent (pid %d) holds %s: stop it first", holder,
				 dir);
			return -EBUSY;
		}
		close(fd);
	}
	d = opendir(dir);
	if (!d) {
		err = -errno;
		snprintf(why, len, "cannot open %s: %s", dir, strerror(-err));
		return err;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (path_in(path, sizeof(path), dir, de->d_name) == 0 && unlink(path) < 0 && !err) {
			err = -errno;
			snprintf(why, len, "cannot remove %s: %s", path, strerror(-err));
		}
	}
	closedir(d);
	if (!err && rmdir(dir) < 0) {
		err = -errno;
		snprintf(why, len, "cannot remove %s: %s", dir, strerror(-err));
	}
	/* The root goes with its last state; another cgroup's may still be there. */
	if (!err)
		rmdir(BG_PIN_ROOT);
	return err;
}

int bg_pin_each(void (*fn)(void *ctx, const char *dir, const struct bg_pin_meta *m), void *ctx)
{
	struct bg_pin_meta m;
	char dir[512];
	struct dirent *de;
	int n = 0, fd, ok;
	DIR *d;

	d = opendir(BG_PIN_ROOT);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, "cg", 2) != 0)
			continue;
		if (path_in(dir, sizeof(dir), BG_PIN_ROOT, de->d_name))
			continue;
		fd = bg_pin_meta_open(dir, 0);
		ok = fd >= 0 && bg_pin_meta_read(fd, &m) == 0;
		if (fd >= 0)
			close(fd);
		fn(ctx, dir, ok ? &m : NULL);
		n++;
	}
	closedir(d);
	return n;
}
