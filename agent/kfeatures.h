/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * kfeatures.h - what the running kernel offers bindguard, found by loading, never by version.
 *
 * One table lists every kernel feature bindguard touches: its name, the kernel that brought it,
 * what it gives, whether bindguard can run without it and what it does instead. Each has one
 * probe (agent/kfeatures.c, programs in bpf/probe.bpf.c). The loader walks the result to set the
 * BPF object's read-only flags and choose which programs to load; `bindguard probe` and the
 * ready line print it.
 */
#ifndef BG_KFEATURES_H
#define BG_KFEATURES_H

#include <stddef.h>

#include "strbuf.h"

enum bg_feature_id {
	BG_FEAT_BTF, /* kernel BTF, for CO-RE (required) */
	BG_FEAT_BIND_HOOKS, /* cgroup bind4/6, post_bind4/6, ring buffer, spin lock (required) */
	BG_FEAT_SOCKOPS, /* sockops with socket-local storage: listen and accept events (required) */
	BG_FEAT_COARSE_CLOCK, /* bpf_ktime_get_coarse_ns */
	BG_FEAT_TASK_BTF, /* bpf_get_current_task_btf */
	BG_FEAT_SOCKOPS_TASK, /* task helpers in sockops; else read through bpf_get_current_task */
	BG_FEAT_SOCK_ITER, /* iter/tcp, iter/udp: reconcile, status, learn */
	BG_FEAT_SOCK_DESTROY, /* bpf_sock_destroy kfunc: --close-existing */
	BG_FEAT_IO_URING_BIND, /* IORING_OP_BIND/LISTEN exist (a kernel fact; same bind hooks) */
	BG_NR_FEATS
};

/* State of one feature on this kernel. */
#define BG_FEAT_OFF 0 /* not available; what it gives is lost (see .lost) */
#define BG_FEAT_ON 1 /* available and used */
#define BG_FEAT_FALLBACK 2 /* not available; bindguard does the same another way (.fallback) */

struct bg_feature_info {
	const char *name; /* stable identifier, used in JSON and the ready line */
	const char *needs; /* the mainline kernel that brought it */
	int required; /* bindguard cannot enforce without it */
	const char *gives; /* what bindguard uses it for */
	const char *fallback; /* NULL, or what bindguard does without it (state FALLBACK) */
	const char *lost; /* NULL, or what is unavailable without it (state OFF) */
};

extern const struct bg_feature_info bg_feature_table[BG_NR_FEATS];

struct bg_features {
	int state[BG_NR_FEATS];
	char why[BG_NR_FEATS][200]; /* for OFF and FALLBACK: the kernel's own words, one line */
	char kernel[128]; /* uname release */
};

/*
 * Probe every feature on the running kernel (needs root). Never fails as a whole: a probe that
 * cannot run leaves its feature OFF with the reason. Returns 0, or -errno when not even the
 * probe object could be opened.
 */
int bg_features_probe(struct bg_features *f);

/* 1 if every required feature is on; else 0 and *first names the first missing one. */
int bg_features_usable(const struct bg_features *f, enum bg_feature_id *first);

/* "on", "off" or "fallback". */
const char *bg_feature_state_str(int state);

/* Append {"name":"state",...} (for the ready line). */
void bg_features_json_map(struct bg_strbuf *sb, const struct bg_features *f);

#endif /* BG_KFEATURES_H */
