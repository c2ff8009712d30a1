// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * trivial.bpf.c - the benchmark's calibration programs: cgroup/bind4 and bind6 that allow every
 * bind and do nothing else. What a bind costs under them is the price of the hook itself (the
 * cgroup program run, the ctx conversion), which bindguard cannot go below; bench/bindbench.c
 * reports bindguard's cost both against no program and against these. The post_bind4/6 pair
 * (attached beside bind4/6 in a cgroup of their own, "trivial-post") prices the second hook
 * bindguard's design needs: the floor of any agent that checks the final address and port.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("cgroup/bind4")
int bench_bind4(struct bpf_sock_addr *ctx)
{
	return 1; /* allow */
}

SEC("cgroup/bind6")
int bench_bind6(struct bpf_sock_addr *ctx)
{
	return 1; /* allow */
}

SEC("cgroup/post_bind4")
int bench_post_bind4(struct bpf_sock *ctx)
{
	return 1; /* allow */
}

SEC("cgroup/post_bind6")
int bench_post_bind6(struct bpf_sock *ctx)
{
	return 1; /* allow */
}
