// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * trivial.bpf.c - the benchmark's calibration programs: cgroup/bind4 and bind6 that allow every
 * bind and do nothing else. What a bind costs under them is the price of the hook itself (the
 * cgroup program run, the ctx conversion), which bindguard cannot go below; bench/bindbench.c
 * reports bindguard's cost both against no program and against these. The post_bind4/6 pair
 * (attached beside bind4/6 in a cgroup of their own, "trivial-post") prices the second hook
 * bindguard's design needs: the floor of any agent that checks the final address and port.
 * bench_event_bind4/6 ("trivial-event", beside the empty post_bind pair) put one record of the
 * size of bindguard's event in a ring buffer and nothing else: reserve, two stores, submit with
 * no wakeup (the bench reads the ring between chunks). That is the floor of "one event per
 * bind", the audit target's, before a single field is gathered.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "bindguard.h"

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

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} bench_rb SEC(".maps");

static __always_inline int bench_event(__u16 port)
{
	struct bg_event *e;

	e = bpf_ringbuf_reserve(&bench_rb, sizeof(*e), 0);
	if (!e)
		return 1;
	e->seq = 0;
	e->port = port;
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	return 1; /* allow */
}

SEC("cgroup/bind4")
int bench_event_bind4(struct bpf_sock_addr *ctx)
{
	return bench_event((__u16)ctx->user_port);
}

SEC("cgroup/bind6")
int bench_event_bind6(struct bpf_sock_addr *ctx)
{
	return bench_event((__u16)ctx->user_port);
}
