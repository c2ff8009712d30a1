// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * kfeatures.c - probe the running kernel for what bindguard can use (see kfeatures.h).
 *
 * Every probe loads a program from bpf/probe.bpf.c that uses the feature the way bindguard does,
 * in the same program type, and asks the verifier. libbpf 1.1's libbpf_probe_bpf_helper() is not
 * used: it decides by matching the verifier's message and calls the task helpers usable in
 * sockops on 6.12, where the verifier refuses them ("program of this type cannot use helper").
 * When a probe fails, the verifier's (or libbpf's) own last line is kept as the reason.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "kfeatures.h"
#include "log.h"
#include "probe.skel.h"

const struct bg_feature_info bg_feature_table[BG_NR_FEATS] = {
	[BG_FEAT_BTF] = {
		.name = "btf", .needs = "5.4", .required = 1,
		.gives = "CO-RE: one binary for every kernel (/sys/kernel/btf/vmlinux)",
		.lost = "everything: bindguard cannot load",
	},
	[BG_FEAT_BIND_HOOKS] = {
		.name = "bind_hooks", .needs = "5.8", .required = 1,
		.gives = "enforcement at bind(): cgroup bind4/6, post_bind4/6, ring buffer",
		.lost = "everything: bindguard cannot enforce",
	},
	[BG_FEAT_SOCKOPS] = {
		.name = "sockops", .needs = "5.10",
		.gives = "listen and accept events (cgroup sockops, socket-local storage)",
		.lost = "listen and accept events, and re-closing a socket that listens again",
	},
	[BG_FEAT_COARSE_CLOCK] = {
		.name = "coarse_clock", .needs = "5.11",
		.gives = "event time stamps at ~5 ns (bpf_ktime_get_coarse_ns)",
		.fallback = "bpf_ktime_get_ns(): the same time, ~100 ns more per event",
	},
	[BG_FEAT_TASK_BTF] = {
		.name = "task_btf", .needs = "5.11",
		.gives = "the caller's netns through BTF loads (bpf_get_current_task_btf)",
		.fallback = "probe reads through bpf_get_current_task(): the same netns",
	},
	[BG_FEAT_SOCKOPS_TASK] = {
		.name = "sockops_task", .needs = "6.16",
		.gives = "listen events name the process through the task helpers",
		.fallback = "read through bpf_get_current_task(): the same pid, uid, comm, cgroup",
		.lost = "listen and accept events name no process",
	},
	[BG_FEAT_SOCK_ITER] = {
		.name = "sock_iter", .needs = "5.9",
		.gives = "existing sockets in every netns: reconcile at start, status, learn "
			 "(iter/tcp, iter/udp, iter/task_file)",
		.lost = "reconcile, status and learn's snapshot",
	},
	[BG_FEAT_SOCK_DESTROY] = {
		.name = "sock_destroy", .needs = "6.5",
		.gives = "--close-existing closes denied sockets (bpf_sock_destroy)",
		.lost = "--close-existing (existing violations are still reported)",
	},
	[BG_FEAT_IO_URING_BIND] = {
		.name = "io_uring_bind", .needs = "6.11",
		.gives = "io_uring bind/listen exist; the same bind hooks judge them",
		.lost = "nothing: io_uring cannot bind or listen on this kernel",
	},
};

const char *bg_feature_state_str(int state)
{
	switch (state) {
	case BG_FEAT_ON:
		return "on";
	case BG_FEAT_FALLBACK:
		return "fallback";
	default:
		return "off";
	}
}

/*
 * The most telling line of a failed load: the verifier's last words before its statistics, else
 * libbpf's first complaint. Only printable ASCII is kept, so the reason fits on one line.
 */
static void pick_reason(const char *log, char *out, size_t len)
{
	const char *p, *line = NULL, *end, *begin;
	size_t n, i, j;

	begin = strstr(log, "-- BEGIN PROG LOAD LOG --");
	end = begin ? strstr(begin, "-- END PROG LOAD LOG --") : NULL;
	if (begin && end) {
		for (p = strchr(begin, '\n'); p && p + 1 < end; p = strchr(p + 1, '\n')) {
			const char *l = p + 1;

			if (l >= end || *l == '\n' || !strncmp(l, "processed ", 10) ||
			    !strncmp(l, "verification time", 17) ||
			    !strncmp(l, "stack depth", 11) || !strncmp(l, "-- END", 6))
				continue;
			line = l;
		}
	}
	if (!line) {
		for (p = log; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
			if (strstr(p, "failed") || strstr(p, "error") || strstr(p, "not found") ||
			    strstr(p, "invalid")) {
				line = p;
				break;
			}
		}
	}
	if (!line) {
		snprintf(out, len, "the kernel refused the probe program");
		return;
	}
	n = strcspn(line, "\n");
	if (!strncmp(line, "libbpf: ", 8)) {
		line += 8;
		n -= 8;
	}
	for (i = 0, j = 0; i < n && j + 1 < len; i++) {
		unsigned char c = line[i];

		out[j++] = (c >= 0x20 && c < 0x7f) ? (char)c : ' ';
	}
	while (j && out[j - 1] == ' ')
		j--;
	out[j] = '\0';
}

/* Load only the named programs of the probe object (all when progs is NULL); 0 if taken. */
static int probe_load(const char *const *progs, char *why, size_t len)
{
	char log[8192];
	struct probe_bpf *skel;
	struct bpf_program *prog;
	struct bpf_map *map;
	int err;

	skel = probe_bpf__open();
	if (!skel) {
		snprintf(why, len, "cannot open the probe object: %s", strerror(errno));
		return -errno;
	}
	bpf_object__for_each_program(prog, skel->obj)
	{
		const char *const *p;
		int want = 0;

		for (p = progs; p && *p; p++)
			want |= !strcmp(bpf_program__name(prog), *p);
		bpf_program__set_autoload(prog, !progs || want);
	}
	/* Only the maps the chosen programs use, so one missing map type fails one probe. */
	bpf_object__for_each_map(map, skel->obj)
	{
		const char *m = bpf_map__name(map);
		int want = 0;

		if (!progs)
			want = 1;
		else if (!strcmp(m, "pr_rb") || !strcmp(m, "pr_seq"))
			want = !strcmp(progs[0], "pr_bind");
		else if (!strcmp(m, "pr_sks"))
			want = !strcmp(progs[0], "pr_sockops");
		else
			want = 1; /* .rodata, .bss and the like */
		bpf_map__set_autocreate(map, want);
	}
	bg_log_capture(log, sizeof(log));
	err = probe_bpf__load(skel);
	bg_log_capture(NULL, 0);
	if (err)
		pick_reason(log, why, len);
	probe_bpf__destroy(skel);
	return err;
}

static int probe_one(struct bg_features *f, enum bg_feature_id id, const char *prog)
{
	const char *progs[] = { prog, NULL };

	return probe_load(progs, f->why[id], sizeof(f->why[id]));
}

/* IORING_OP_BIND and IORING_OP_LISTEN (6.11), asked of io_uring itself. */
#define BG_IORING_OP_BIND 56
#define BG_IORING_OP_LISTEN 57

static void probe_io_uring(struct bg_features *f)
{
	char *why = f->why[BG_FEAT_IO_URING_BIND];
	size_t wlen = sizeof(f->why[BG_FEAT_IO_URING_BIND]), sz;
	struct io_uring_params params;
	struct io_uring_probe *pr;
	int fd, ok;

	memset(&params, 0, sizeof(params));
	fd = syscall(__NR_io_uring_setup, 1, &params);
	if (fd < 0) {
		snprintf(why, wlen, "io_uring is not available here: %s", strerror(errno));
		return;
	}
	sz = sizeof(*pr) + 256 * sizeof(struct io_uring_probe_op);
	pr = calloc(1, sz);
	if (!pr) {
		close(fd);
		snprintf(why, wlen, "out of memory");
		return;
	}
	if (syscall(__NR_io_uring_register, fd, IORING_REGISTER_PROBE, pr, 256) < 0) {
		snprintf(why, wlen, "io_uring cannot list its operations: %s", strerror(errno));
	} else {
		ok = pr->last_op >= BG_IORING_OP_LISTEN &&
		     (pr->ops[BG_IORING_OP_BIND].flags & IO_URING_OP_SUPPORTED) &&
		     (pr->ops[BG_IORING_OP_LISTEN].flags & IO_URING_OP_SUPPORTED);
		if (ok)
			f->state[BG_FEAT_IO_URING_BIND] = BG_FEAT_ON;
		else
			snprintf(why, wlen,
				 "io_uring has no IORING_OP_BIND/LISTEN (its last op is %u)",
				 pr->last_op);
	}
	free(pr);
	close(fd);
}

int bg_features_probe(struct bg_features *f)
{
	const char *binds[] = { "pr_bind", "pr_post_bind", NULL };
	const char *iters[] = { "pr_iter_tcp", "pr_iter_udp", "pr_iter_files", NULL };
	struct utsname u;
	struct btf *vmlinux;
	char tmp[200];
	int i;

	memset(f, 0, sizeof(*f));
	if (uname(&u) == 0)
		snprintf(f->kernel, sizeof(f->kernel), "%s", u.release);
	for (i = 0; i < BG_NR_FEATS; i++)
		f->state[i] = BG_FEAT_OFF;

	if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
		snprintf(f->why[BG_FEAT_BTF], sizeof(f->why[0]),
			 "/sys/kernel/btf/vmlinux: %s (the kernel needs CONFIG_DEBUG_INFO_BTF=y)",
			 strerror(errno));
		for (i = BG_FEAT_BTF + 1; i < BG_NR_FEATS; i++)
			snprintf(f->why[i], sizeof(f->why[i]), "not probed: the kernel has no BTF");
		probe_io_uring(f);
		return 0;
	}
	f->state[BG_FEAT_BTF] = BG_FEAT_ON;

	/*
	 * Every probe load parses the kernel's BTF again (libbpf has no way to share it), so first
	 * try everything at once: a kernel that takes all of it has every feature, in one parse.
	 * Only a refusal sends us through the probes one by one, to learn which and why.
	 */
	if (probe_load(NULL, tmp, sizeof(tmp)) == 0) {
		for (i = BG_FEAT_BTF; i < BG_NR_FEATS; i++)
			f->state[i] = BG_FEAT_ON;
		f->state[BG_FEAT_IO_URING_BIND] = BG_FEAT_OFF;
		probe_io_uring(f);
		return 0;
	}

	if (probe_load(binds, f->why[BG_FEAT_BIND_HOOKS], sizeof(f->why[0])) == 0)
		f->state[BG_FEAT_BIND_HOOKS] = BG_FEAT_ON;
	if (probe_one(f, BG_FEAT_SOCKOPS, "pr_sockops") == 0)
		f->state[BG_FEAT_SOCKOPS] = BG_FEAT_ON;
	f->state[BG_FEAT_COARSE_CLOCK] =
		probe_one(f, BG_FEAT_COARSE_CLOCK, "pr_coarse") ? BG_FEAT_FALLBACK : BG_FEAT_ON;
	f->state[BG_FEAT_TASK_BTF] =
		probe_one(f, BG_FEAT_TASK_BTF, "pr_task_btf") ? BG_FEAT_FALLBACK : BG_FEAT_ON;
	if (probe_one(f, BG_FEAT_SOCKOPS_TASK, "pr_sockops_task") == 0) {
		f->state[BG_FEAT_SOCKOPS_TASK] = BG_FEAT_ON;
	} else {
		const char *cur[] = { "pr_sockops_cur", NULL };

		/* Keep the helpers' refusal as the reason; the fallback's own must also load. */
		if (probe_load(cur, tmp, sizeof(tmp)) == 0)
			f->state[BG_FEAT_SOCKOPS_TASK] = BG_FEAT_FALLBACK;
		else
			snprintf(f->why[BG_FEAT_SOCKOPS_TASK], sizeof(f->why[0]), "%s", tmp);
	}
	if (probe_load(iters, f->why[BG_FEAT_SOCK_ITER], sizeof(f->why[0])) == 0)
		f->state[BG_FEAT_SOCK_ITER] = BG_FEAT_ON;

	/*
	 * A kfunc the kernel lacks is a weak extern libbpf leaves unresolved, which a pre-6.3
	 * verifier rejects with a puzzling message: ask the kernel's BTF first.
	 */
	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux) {
		snprintf(f->why[BG_FEAT_SOCK_DESTROY], sizeof(f->why[0]),
			 "cannot read the kernel's BTF: %s", strerror(errno));
	} else {
		if (btf__find_by_name_kind(vmlinux, "bpf_sock_destroy", BTF_KIND_FUNC) < 0)
			snprintf(f->why[BG_FEAT_SOCK_DESTROY], sizeof(f->why[0]),
				 "the kernel has no bpf_sock_destroy kfunc");
		else if (probe_one(f, BG_FEAT_SOCK_DESTROY, "pr_destroy") == 0)
			f->state[BG_FEAT_SOCK_DESTROY] = BG_FEAT_ON;
		btf__free(vmlinux);
	}
	if (f->state[BG_FEAT_SOCK_ITER] != BG_FEAT_ON && f->state[BG_FEAT_SOCK_DESTROY]) {
		f->state[BG_FEAT_SOCK_DESTROY] = BG_FEAT_OFF;
		snprintf(f->why[BG_FEAT_SOCK_DESTROY], sizeof(f->why[0]),
			 "needs the socket iterators, which are off");
	}
	probe_io_uring(f);
	for (i = 0; i < BG_NR_FEATS; i++)
		if (f->state[i] == BG_FEAT_ON)
			f->why[i][0] = '\0';
	return 0;
}

int bg_features_usable(const struct bg_features *f, enum bg_feature_id *first)
{
	int i;

	for (i = 0; i < BG_NR_FEATS; i++) {
		if (bg_feature_table[i].required && f->state[i] != BG_FEAT_ON) {
			if (first)
				*first = (enum bg_feature_id)i;
			return 0;
		}
	}
	return 1;
}

void bg_features_json_map(struct bg_strbuf *sb, const struct bg_features *f)
{
	int i;

	bg_strbuf_puts(sb, "{");
	for (i = 0; i < BG_NR_FEATS; i++)
		bg_strbuf_printf(sb, "%s\"%s\":\"%s\"", i ? "," : "", bg_feature_table[i].name,
				 bg_feature_state_str(f->state[i]));
	bg_strbuf_puts(sb, "}");
}
