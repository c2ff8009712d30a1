// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * migrate.bpf.c - a probe for itest_bypass: did a bind's post_bind4 run on another CPU than its
 * bind4? bindguard leaves a per-CPU note at bind4 for post_bind4, so the case that matters is
 * the task moving to another CPU between the two hooks.
 *
 * Attached beside bindguard on the same cgroup, these programs run in the same program arrays
 * as bindguard's, and an array runs with migration disabled: the CPU seen here at bind4 and at
 * post_bind4 is the CPU bindguard's own programs ran on.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The CPU each socket's bind4 ran on, by socket cookie. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, __u32);
} mg_cpu SEC(".maps");

/* [0]: post_bind4 runs seen with a bind4 behind them; [1]: of those, on another CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} mg_count SEC(".maps");

SEC("cgroup/bind4")
int mg_bind4(struct bpf_sock_addr *ctx)
{
	__u64 cookie = bpf_get_socket_cookie(ctx);
	__u32 cpu = bpf_get_smp_processor_id();

	bpf_map_update_elem(&mg_cpu, &cookie, &cpu, BPF_ANY);
	return 1;
}

SEC("cgroup/post_bind4")
int mg_post4(struct bpf_sock *ctx)
{
	__u64 cookie = bpf_get_socket_cookie(ctx), *n;
	__u32 *cpu = bpf_map_lookup_elem(&mg_cpu, &cookie), k = 0;

	if (!cpu)
		return 1;
	n = bpf_map_lookup_elem(&mg_count, &k);
	if (n)
		__sync_fetch_and_add(n, 1);
	k = 1;
	n = bpf_map_lookup_elem(&mg_count, &k);
	if (n && *cpu != bpf_get_smp_processor_id())
		__sync_fetch_and_add(n, 1);
	return 1;
}
