// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * foreign.bpf.c - programs that are not bindguard's, loaded by the integration tests to play
 * another tenant of the same cgroup hooks (itest_bypass, itest_faults).
 *
 * The rewriting programs model what a service mesh or a transparent proxy may legitimately do
 * to a bind: change its address or port. Attached to a child cgroup they run before bindguard
 * (bindguard must judge the rewritten address); attached to bindguard's own cgroup after it they
 * run after bindguard's bind hook (post_bind must judge the final address). fg_allow4 is a
 * do-nothing program for attaching without BPF_F_ALLOW_MULTI.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* 127.0.0.1 -> 0.0.0.0, any port: a loopback bind becomes a wildcard one. */
SEC("cgroup/bind4")
int fg_lo_to_any4(struct bpf_sock_addr *ctx)
{
	if (ctx->user_ip4 == bpf_htonl(0x7f000001))
		ctx->user_ip4 = 0;
	return 1;
}

/* ::1 -> ::, any port. */
SEC("cgroup/bind6")
int fg_lo_to_any6(struct bpf_sock_addr *ctx)
{
	if (ctx->user_ip6[0] == 0 && ctx->user_ip6[1] == 0 && ctx->user_ip6[2] == 0 &&
	    ctx->user_ip6[3] == bpf_htonl(1)) {
		ctx->user_ip6[3] = 0;
	}
	return 1;
}

/* Port 13306 (unlisted) -> 3306, address unchanged. */
SEC("cgroup/bind4")
int fg_port_to_3306(struct bpf_sock_addr *ctx)
{
	if (ctx->user_port == bpf_htons(13306))
		ctx->user_port = bpf_htons(3306);
	return 1;
}

/* Allows everything and changes nothing. */
SEC("cgroup/bind4")
int fg_allow4(struct bpf_sock_addr *ctx)
{
	return 1;
}

/*
 * Override: a program that runs after a deny can turn it back into success, because the cgroup
 * run loop keeps one return value that any later program may set (bpf_set_retval, 5.18+).
 */
SEC("cgroup/bind4")
int fg_override4(struct bpf_sock_addr *ctx)
{
	bpf_set_retval(0);
	return 1;
}

SEC("cgroup/post_bind4")
int fg_override_pb4(struct bpf_sock *ctx)
{
	bpf_set_retval(0);
	return 1;
}

/*
 * bpf_bind() from a connect hook binds the socket without any bind or post_bind program running
 * (BIND_FROM_BPF). Only for connects to port 9 (discard), to 0.0.0.0:3306.
 */
SEC("cgroup/connect4")
int fg_bind_on_conn4(struct bpf_sock_addr *ctx)
{
	struct sockaddr_in sa = {};

	if (ctx->user_port != bpf_htons(9))
		return 1;
	sa.sin_family = 2; /* AF_INET */
	sa.sin_port = bpf_htons(3306);
	bpf_bind(ctx, (struct sockaddr *)&sa, sizeof(sa));
	return 1;
}

/* Observes nothing, for attaching to sockops without BPF_F_ALLOW_MULTI. */
SEC("sockops")
int fg_allow_ops(struct bpf_sock_ops *skops)
{
	return 1;
}
