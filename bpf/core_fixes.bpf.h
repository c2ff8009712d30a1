/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * core_fixes.bpf.h - CO-RE shims for kernel structs that changed shape within the kernels
 * bindguard supports (5.10 and newer). Each shim names the kernel change that made it necessary.
 * vmlinux.h is generated from a new kernel; these ___suffixed types describe the old layouts, and
 * bpf_core_field_exists() picks the right one when the program is loaded.
 */
#ifndef BG_CORE_FIXES_BPF_H
#define BG_CORE_FIXES_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>

/*
 * struct cgroup: 6.2 replaced the u64 ancestor_ids[] flexible array by a pointer array
 * ancestors[] (commit 7f203bc89eb6 "cgroup: Replace cgroup->ancestor_ids[] with ->ancestors[]").
 */
struct cgroup___pre62 {
	int level;
	__u64 ancestor_ids[];
} __attribute__((preserve_access_index));

/*
 * struct sock_cgroup_data: up to 5.14 a union of a cgroup pointer and the net_cls/net_prio data
 * packed in one u64 (the pointer is valid when bit 0, "is_data", is clear; otherwise the socket
 * belongs to the default hierarchy's root). 5.15 made it a plain struct with a cgroup pointer
 * (commit 8520e224f547 "bpf, cgroups: Fix cgroup v2 fallback on v1/v2 mixed mode").
 */
struct sock_cgroup_data___pre515 {
	__u64 val;
} __attribute__((preserve_access_index));

struct sock___pre515 {
	struct sock_cgroup_data___pre515 sk_cgrp_data;
} __attribute__((preserve_access_index));

/*
 * bg_sk_cgroup() - the cgroup v2 a socket was created in (what the cgroup hooks go by), or NULL
 * when it is the root of the default hierarchy on a pre-5.15 kernel (is_data set).
 */
static __always_inline struct cgroup *bg_sk_cgroup(const struct sock *sk)
{
	if (bpf_core_field_exists(sk->sk_cgrp_data.cgroup))
		return BPF_CORE_READ(sk, sk_cgrp_data.cgroup);
	{
		const struct sock___pre515 *old = (const void *)sk;
		__u64 v = BPF_CORE_READ(old, sk_cgrp_data.val);

		return (v & 1) ? NULL : (struct cgroup *)(unsigned long)v;
	}
}

/* bg_cgroup_ancestor_id() - id of cg's ancestor at @level (cg itself at its own level). */
static __always_inline __u64 bg_cgroup_ancestor_id(struct cgroup *cg, __u32 level)
{
	__u64 id = 0;

	/*
	 * barrier_var() in each branch: the address arithmetic of a branch must not be hoisted
	 * above the test (out of a caller's loop, say), or the other kernel's relocation (an invalid instruction where the
	 * field does not exist) runs unconditionally and the program does not load.
	 */
	if (bpf_core_field_exists(cg->ancestors)) {
		struct cgroup *anc = NULL;

		barrier_var(cg);
		bpf_core_read(&anc, sizeof(anc), &cg->ancestors[level]);
		id = anc ? BPF_CORE_READ(anc, kn, id) : 0;
	} else {
		struct cgroup___pre62 *old;

		barrier_var(cg);
		old = (void *)cg;
		bpf_core_read(&id, sizeof(id), &old->ancestor_ids[level]);
	}
	return id;
}

/*
 * The type of a namespace (CLONE_NEWNET, ...): proc_ns_operations.type until 6.18 moved it to
 * ns_common.ns_type (the namespace-tree rework of 6.18).
 */
struct proc_ns_operations___old {
	int type;
} __attribute__((preserve_access_index));

struct ns_common___new {
	__u32 ns_type;
} __attribute__((preserve_access_index));

static __always_inline __u32 bg_ns_type(const struct ns_common *ns)
{
	const struct ns_common___new *n = (const void *)ns;

	if (bpf_core_field_exists(n->ns_type))
		return BPF_CORE_READ(n, ns_type);
	{
		const struct proc_ns_operations___old *ops = (const void *)BPF_CORE_READ(ns, ops);

		return BPF_CORE_READ(ops, type);
	}
}

#endif /* BG_CORE_FIXES_BPF_H */
