// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * probe.bpf.c - one tiny program per kernel feature bindguard can use. The agent loads them one
 * at a time (agent/kfeatures.c): a feature is on exactly when the kernel's verifier accepts its
 * program, so bindguard goes by what the running kernel does, never by its version number. Each
 * program uses its feature the way bindguard.bpf.c does, in the same program type.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The hooks bindguard cannot work without: the bind hooks and a ring buffer to report through. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} pr_rb SEC(".maps");

struct pr_lock {
	struct bpf_spin_lock lock;
	__u32 pad;
	__u64 n;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct pr_lock);
} pr_seq SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);
	__type(key, int);
	__type(value, __u64);
} pr_sks SEC(".maps");

SEC("cgroup/bind4")
int pr_bind(struct bpf_sock_addr *ctx)
{
	struct pr_lock *v;
	__u32 k = 0;
	__u64 *e;

	v = bpf_map_lookup_elem(&pr_seq, &k);
	if (v) {
		bpf_spin_lock(&v->lock);
		v->n++;
		bpf_spin_unlock(&v->lock);
	}
	e = bpf_ringbuf_reserve(&pr_rb, sizeof(*e), 0);
	if (e) {
		*e = bpf_get_current_pid_tgid() ^ bpf_get_current_cgroup_id();
		bpf_ringbuf_submit(e, 0);
	}
	return 1;
}

SEC("cgroup/post_bind4")
int pr_post_bind(struct bpf_sock *ctx)
{
	return 1;
}

/* Listen and accept events: sockops with socket-local storage (the listener's owner). */
SEC("sockops")
int pr_sockops(struct bpf_sock_ops *skops)
{
	struct bpf_sock *sk = skops->sk;
	__u64 *o;

	if (sk) {
		o = bpf_sk_storage_get(&pr_sks, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
		if (o)
			*o = bpf_ktime_get_ns();
	}
	return 1;
}

/* bpf_ktime_get_coarse_ns() in a cgroup sock_addr program (5.11). */
SEC("cgroup/bind4")
int pr_coarse(struct bpf_sock_addr *ctx)
{
	return bpf_ktime_get_coarse_ns() != 0;
}

/* bpf_get_current_task_btf() in a cgroup sock_addr program (5.11). */
SEC("cgroup/bind4")
int pr_task_btf(struct bpf_sock_addr *ctx)
{
	struct task_struct *t = bpf_get_current_task_btf();

	return BPF_CORE_READ(t, nsproxy, net_ns, ns.inum) != 0;
}

/* The task helpers in sockops (6.16). */
SEC("sockops")
int pr_sockops_task(struct bpf_sock_ops *skops)
{
	char comm[16];

	bpf_get_current_comm(comm, sizeof(comm));
	return (bpf_get_current_pid_tgid() ^ bpf_get_current_uid_gid() ^
		bpf_get_current_cgroup_id() ^ comm[0]) != 0;
}

/* The fallback: the current task read through bpf_get_current_task() in sockops. */
SEC("sockops")
int pr_sockops_cur(struct bpf_sock_ops *skops)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	char comm[16];

	bpf_core_read(comm, sizeof(comm), &t->comm);
	return (BPF_CORE_READ(t, tgid) ^ BPF_CORE_READ(t, cred, uid.val) ^
		BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id) ^ comm[0]) != 0;
}

/*
 * Socket iterators (5.9): reconcile, status and learn. The same reads as bindguard's iterators:
 * the socket's fields, its cgroup and its file through CO-RE, a record through bpf_seq_write().
 */
SEC("iter/tcp")
int pr_iter_tcp(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct sock *sk = (struct sock *)skc;
	__u64 v[3];

	if (!skc)
		return 0;
	v[0] = skc->skc_state ^ BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
	v[1] = BPF_CORE_READ(sk, sk_socket, file, f_inode, i_ino);
	v[2] = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	bpf_seq_write(ctx->meta->seq, v, sizeof(v));
	return 0;
}

SEC("iter/udp")
int pr_iter_udp(struct bpf_iter__udp *ctx)
{
	struct udp_sock *udp = ctx->udp_sk;
	__u32 v = 1;

	if (!udp)
		return 0;
	bpf_seq_write(ctx->meta->seq, &v, sizeof(v));
	return 0;
}

/* The task_file iterator (5.8): every netns some process holds a socket in. */
SEC("iter/task_file")
int pr_iter_files(struct bpf_iter__task_file *ctx)
{
	struct file *file = ctx->file;
	struct task_struct *task = ctx->task;
	__u32 v[2];

	if (!file || !task)
		return 0;
	v[0] = task->tgid;
	v[1] = BPF_CORE_READ(file, f_inode, i_mode) ^ BPF_CORE_READ(file, f_inode, i_sb, s_magic);
	bpf_seq_write(ctx->meta->seq, v, sizeof(v));
	return 0;
}

/* bpf_sock_destroy (6.5) from a socket iterator: --close-existing. */
extern int bpf_sock_destroy(struct sock_common *sk) __ksym __weak;

SEC("iter/tcp")
int pr_destroy(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;

	if (skc && skc->skc_state == 0xff)
		bpf_sock_destroy(skc);
	return 0;
}
