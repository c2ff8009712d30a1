/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * pin.h - pinned enforcement on disk (bpffs): the directory of one enforced cgroup, its meta
 * record, the policy texts, and removal. The loader pins and adopts the BPF objects themselves;
 * this module knows the layout (include/bindguard.h, BG_PIN_*), so `unload` and `status` need
 * no BPF object at all.
 */
#ifndef BG_PIN_H
#define BG_PIN_H

#include <linux/types.h>
#include <stddef.h>

#include "bindguard.h"

/* Mount bpffs at /sys/fs/bpf if nothing is mounted there (0700). 0 or -errno, why set. */
int bg_pin_bpffs(char *why, size_t len);

/* BG_PIN_ROOT/cg<id> into buf. 0 or -ENAMETOOLONG. */
int bg_pin_dir(__u64 cgroup_id, char *buf, size_t len);

/* Make BG_PIN_ROOT and dir, both 0700 (root's alone: the pins are the enforcement). */
int bg_pin_mkdir(const char *dir);

/* 1 if dir holds a pinned state (its meta map exists), 0 if not. */
int bg_pin_exists(const char *dir);

/* Open (or, with create, create and pin) the meta map of dir. fd or -errno. */
int bg_pin_meta_open(const char *dir, int create);
int bg_pin_meta_read(int fd, struct bg_pin_meta *m);
int bg_pin_meta_write(int fd, const struct bg_pin_meta *m);

/* Open (or create and pin) the policy-text map of dir. fd or -errno. */
int bg_pin_polsrc_open(const char *dir, int create);
/* Store text as generation gen; drop every generation other than gen and keep_gen. */
int bg_pin_polsrc_store(int fd, __u32 gen, __u32 keep_gen, const char *text, size_t len);
/* Read generation gen (len bytes) into a malloc'ed buffer. 0 or -errno. */
int bg_pin_polsrc_load(int fd, __u32 gen, size_t len, char **out);

/* This process's start time, as bg_pin_meta.agent_start stores it. */
__u64 bg_pin_self_start(void);

/* The pid of the live agent holding the pins m describes, or 0 if none does. */
int bg_pin_holder(const struct bg_pin_meta *m);

/*
 * Remove a pinned state: every pin in dir (links: the hooks are detached as their last
 * reference goes; maps: freed), then dir. Refuses (-EBUSY) while an agent holds it. 0 or -errno,
 * why set.
 */
int bg_pin_remove(const char *dir, char *why, size_t len);

/*
 * Call fn for every pinned state under BG_PIN_ROOT (dir, its meta or NULL when unreadable).
 * Returns the number found or -errno.
 */
int bg_pin_each(void (*fn)(void *ctx, const char *dir, const struct bg_pin_meta *m), void *ctx);

#endif /* BG_PIN_H */
