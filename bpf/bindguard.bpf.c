// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bindguard.bpf.c - hook entry points only.
 *
 * cgroup/bind4, bind6:          judge the address and port the caller asked for; allow, deny
 *                               (EPERM) or confine (rewrite a wildcard to loopback).
 * cgroup/post_bind4, post_bind6: judge the final address and port (an ephemeral port picked for
 *                               a port-0 bind, or an address rewritten by a program that ran
 *                               after ours); can still reject.
 *
 * Every decision is made by bg_decide.h, which the unit tests compile too. This file only turns
 * a hook's ctx into plain values, looks rules up, applies the verdict and emits events.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_tracing.h>

#include "bindguard.h"
#include "bg_decide.h"
#include "core_fixes.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define SOCK_STREAM 1
#define SOCK_DGRAM 2
#define ALLOW 1
#define REJECT 0

/*
 * The rule table: one inner array per policy, swapped whole through the outer array-of-maps,
 * so a bind reads either the old policy or the new one. See BG_RULE_KEY in bindguard.h.
 */
struct bg_rule_table {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BG_RULE_SLOTS);
	/* Sizes, not __type(): clang emits only a forward declaration for a type that is first
	 * reached through an inner map definition, and libbpf cannot size that. */
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct bg_rule));
};

/* The host rules of the two banks (struct bg_ctl). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct bg_rule_table);
} bg_policy SEC(".maps");

/* The scopes' rules of one bank: (scope, proto, port) -> rule. */
struct bg_scoped_table {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 18);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(key_size, sizeof(struct bg_scope_key));
	__uint(value_size, sizeof(struct bg_rule));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct bg_scoped_table);
} bg_scoped SEC(".maps");

/* The cgroups the scopes of one bank take: cgroup id -> scope number. */
struct bg_cgscope_table {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 16);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(key_size, sizeof(__u64));
	__uint(value_size, sizeof(__u32));
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct bg_cgscope_table);
} bg_cgscope SEC(".maps");

/* Entry 0: the bank in force; 1 and 2: what bank 0 and 1 hold (struct bg_ctl). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, struct bg_ctl);
} bg_ctl SEC(".maps");

/* CIDR sets of all installed policies, keyed by (set id, address). Only CIDR rules look here. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, BG_CIDR_MAX_ENTRIES);
	__type(key, struct bg_cidr_key);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} bg_cidrs SEC(".maps");

/*
 * The full-length entries of those sets (an IPv4 /32, an IPv6 /128: prefixlen 32 + 128) live
 * here instead: exact matches, found with one hash lookup however many there are, where the
 * trie's walk grows with the set (~90 ns more at 10,000 entries here). The agent puts each
 * entry in one map or the other by its length (agent/loader.c); bg_cidr_hit() asks both.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BG_CIDR_MAX_ENTRIES);
	__type(key, struct bg_cidr_key);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} bg_hosts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, BG_RINGBUF_BYTES);
} bg_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BG_NR_STATS);
	__type(key, __u32);
	__type(value, __u64);
} bg_stats SEC(".maps");

/*
 * Sockets whose bind raised an alert, so that neither post_bind (after the task migrated to
 * another CPU, see struct bg_note) nor the socket's listen() reports the same bind again.
 * Written only on the alert path. A direct-mapped table rather than a hash: a mark is one plain
 * store, where an LRU hash update cost an alert ~190 ns here (BPF run-time stats), and socket
 * storage ~300 ns. A slot holds one 8-byte word, (cookie << 16) | port, written and read whole,
 * so no reader sees half of one mark and half of another. Two sockets whose cookies share a
 * slot overwrite each other's mark: if the first then needs it (its post_bind on another CPU,
 * or its listen()), the same bind is reported twice; never is an event lost.
 */
#define BG_ALERT_SLOTS 16384

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, BG_ALERT_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} bg_alerts SEC(".maps");

/*
 * Optional kernel features, set by the agent from its probes before load (agent/kfeatures.c).
 * They live in .rodata, so the verifier knows their values and never walks a branch whose
 * helper this kernel does not have. 0 is the conservative choice that every kernel from 5.10
 * verifies.
 */
const volatile __u32 bg_cfg_coarse_clock = 0; /* bpf_ktime_get_coarse_ns(): 5.11 */
const volatile __u32 bg_cfg_task_btf = 0; /* bpf_get_current_task_btf(): 5.11 */
const volatile __u32 bg_cfg_sockops_task = 0; /* pid/uid/comm/cgroup helpers in sockops: 6.16 */

/*
 * The global event sequence number. A spin lock rather than an atomic fetch-and-add: a fetch-add
 * whose result is used needs 5.12, and 5.10 rejects a program that merely contains one (its
 * verifier checks every instruction's encoding, reachable or not). Taken before the ring-buffer
 * reservation, so a failed reservation leaves a gap that the agent counts.
 */
struct bg_seq_val {
	struct bpf_spin_lock lock;
	__u32 pad;
	__u64 next;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct bg_seq_val);
} bg_seqs SEC(".maps");

static __always_inline __u64 bg_seq_take(__u64 n)
{
	struct bg_seq_val *v;
	__u32 key = 0;
	__u64 id;

	v = bpf_map_lookup_elem(&bg_seqs, &key);
	if (!v)
		return 0; /* cannot happen: an array slot always exists */
	bpf_spin_lock(&v->lock);
	id = v->next;
	v->next = id + n;
	bpf_spin_unlock(&v->lock);
	return id;
}

/*
 * Events the agent makes itself (reconcile's "existing") share the sequence. User space cannot
 * take a BPF spin lock, so the agent runs this program with BPF_PROG_TEST_RUN: it takes
 * bg_take_n numbers and leaves the first in bg_taken. The agent is the only caller, from one
 * thread.
 */
__u64 bg_take_n = 0;
__u64 bg_taken = 0;

SEC("tc")
int bg_take_seq(struct __sk_buff *skb)
{
	bg_taken = bg_seq_take(bg_take_n);
	return 0;
}

/*
 * Per-source flood control. One source (a uid in a cgroup) flooding events must not push another
 * source's violation out of the shared ring, so each source gets a token bucket: bg_cfg_src_rate
 * events a second, bg_cfg_src_burst at once. An event over budget is not written; it is counted
 * exactly (BG_STAT_SUPPRESSED, and on the source), and the source's next written event carries
 * how many were suppressed before it ("N more like this"). The enforcement itself is never
 * limited: only the reporting is. 0 = no limit.
 */
const volatile __u32 bg_cfg_src_rate = 0;
const volatile __u32 bg_cfg_src_burst = 0;

struct bg_src_key {
	__u64 cgroup_id;
	__u32 uid;
	__u32 pad;
};

struct bg_src {
	__u64 last_ns; /* last refill */
	__u64 tokens; /* in 1e-9 events, so a refill needs no division */
	__u64 suppressed; /* since the source's last written event */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct bg_src_key);
	__type(value, struct bg_src);
} bg_sources SEC(".maps");

#define BG_NS 1000000000ULL

/*
 * May this source write an event now? Returns 1 and the number suppressed since its last one in
 * *suppressed, or 0 (the event is suppressed and counted). The bucket itself is updated without
 * a lock: two CPUs may both spend the last token, which only bends the budget. The suppressed
 * count is exact: increments are atomic adds, and taking it subtracts exactly what was read.
 */
static __always_inline int bg_src_admit(__u32 uid, __u64 cgroup_id, __u64 now, __u32 *suppressed)
{
	struct bg_src_key key = { .cgroup_id = cgroup_id, .uid = uid };
	__u64 rate = bg_cfg_src_rate, cap, t, elapsed, n;
	struct bg_src *v, init;

	*suppressed = 0;
	if (!rate)
		return 1;
	cap = (__u64)bg_cfg_src_burst * BG_NS;
	v = bpf_map_lookup_elem(&bg_sources, &key);
	if (!v) {
		init.last_ns = now;
		init.tokens = cap;
		init.suppressed = 0;
		bpf_map_update_elem(&bg_sources, &key, &init, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&bg_sources, &key);
		if (!v)
			return 1; /* cannot track it: report rather than hide */
	}
	elapsed = now > v->last_ns ? now - v->last_ns : 0;
	if (elapsed > 100 * BG_NS)
		elapsed = 100 * BG_NS;
	v->last_ns = now;
	t = v->tokens + elapsed * rate;
	if (t > cap)
		t = cap;
	if (t < BG_NS) {
		v->tokens = t;
		__sync_fetch_and_add(&v->suppressed, 1);
		return 0;
	}
	v->tokens = t - BG_NS;
	n = v->suppressed;
	if (n) {
		__sync_fetch_and_add(&v->suppressed, -n);
		*suppressed = n > 0xffffffffULL ? 0xffffffffU : (__u32)n;
	}
	return 1;
}

/*
 * Wakeups: a per-event wakeup costs several microseconds, more than the bind. A deny or confine
 * wakes the reader at once, but at most once every bg_cfg_wake_gap_ns: in a deny storm the reader
 * is woken a few hundred times a second, not once per deny, and it drains the rest on its own
 * (the agent polls again 10 ms after a wakeup). Written from every CPU without a lock: a lost
 * update only costs one extra wakeup.
 *
 * The gap is measured on the event clock, which is the coarse one (jiffies) where the kernel has
 * it: a 5 ms gap read in 4 ms ticks would let a deny 7 ms after the last wakeup find the clock
 * moved by one tick only, and wait for the agent's next look instead of waking it. So the agent
 * sets the gap to 5 ms less one tick (clock_getres of CLOCK_MONOTONIC_COARSE), at least 1 ns: at
 * most one wakeup per tick at HZ=250, and the first deny after a quiet tick always wakes.
 */
#define BG_WAKE_GAP_NS 5000000ULL
const volatile __u64 bg_cfg_wake_gap_ns = BG_WAKE_GAP_NS;
__u64 bg_last_wake = 0;

/*
 * The owner of a listening socket: the process that made it listen, taken at listen() (process
 * context). BPF_F_CLONE copies it to every socket accepted from the listener, so an accept event,
 * which completes in softirq where the current task is unrelated, still names the process that
 * owns the service. Written at listen time only, never on the bind fast path.
 */
struct bg_owner {
	__u64 cgroup_id;
	__u32 pid;
	__u32 uid;
	__u32 gid;
	__u32 pad;
	char comm[BG_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC | BPF_F_CLONE);
	__type(key, int);
	__type(value, struct bg_owner);
} bg_owners SEC(".maps");

/*
 * An atomic add, not v += 1: a sockops program in softirq can interrupt a bind program on the
 * same CPU between its load and its store, and every counted event must stay counted. The result
 * is unused, so this is the plain XADD every kernel has (not the 5.12 fetch form).
 */
static __always_inline void bg_stat_inc(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&bg_stats, &idx);

	if (v)
		__sync_fetch_and_add(v, 1);
}

/* SOCK_STREAM is TCP (and MPTCP), SOCK_DGRAM is UDP (and UDP-Lite); -1 for anything else. */
static __always_inline int bg_proto_of(__u32 type)
{
	if (type == SOCK_STREAM)
		return BG_PROTO_TCP;
	if (type == SOCK_DGRAM)
		return BG_PROTO_UDP;
	return -1;
}

/*
 * Which rules judge this socket: the bank in force, read once, and the scope its cgroup falls
 * in (0: the host's). Every lookup of one judgement uses the same bank, so a policy swap (the
 * agent fills the other bank, then flips) is never seen half done.
 */
struct bg_where {
	__u32 bank;
	__u32 scope;
	const struct bg_ctl *cfg;
};

/* Levels a socket's cgroup may sit below the deepest scoped one and still be found. */
#define BG_SCOPE_CLIMB 32

static __always_inline void bg_where_bank(struct bg_where *w)
{
	const struct bg_ctl *c;
	__u32 k = 0;

	c = bpf_map_lookup_elem(&bg_ctl, &k);
	w->bank = c ? (c->v0 & 1) : 0;
	k = 1 + w->bank;
	w->cfg = bpf_map_lookup_elem(&bg_ctl, &k);
	w->scope = 0;
}

/*
 * The scope of the calling task's cgroup (bind, post_bind): the deepest of its ancestors, within
 * the levels where scoped cgroups sit, that a scope took. O(1) per level, no string in sight.
 */
static __always_inline void bg_where_task(struct bg_where *w)
{
	__u32 i, lvl, *sid;
	void *cgs;
	__u64 id;

	bg_where_bank(w);
	if (!w->cfg || !w->cfg->v0)
		return;
	cgs = bpf_map_lookup_elem(&bg_cgscope, &w->bank);
	if (!cgs)
		return;
	for (i = 0; i < BG_SCOPE_LEVELS; i++) {
		if (w->cfg->max_level < w->cfg->min_level + i)
			break;
		lvl = w->cfg->max_level - i;
		id = bpf_get_current_ancestor_cgroup_id(lvl);
		if (!id)
			continue;
		sid = bpf_map_lookup_elem(cgs, &id);
		if (sid) {
			w->scope = *sid;
			return;
		}
	}
}

/*
 * The same for a socket's own cgroup (sockops, iterators: no task helpers there). It climbs the
 * parent pointers (cgroup.self.parent, on every kernel) rather than index the ancestor array,
 * whose layout changed in 6.2: one layout's access inside a loop would be hoisted out of its
 * field_exists() branch by the compiler and break the load on the other.
 */
static __always_inline void bg_where_sk(struct bg_where *w, const struct sock *sk)
{
	struct cgroup *cg;
	__u32 i, lvl, cl, *sid;
	void *cgs;
	__u64 id;

	bg_where_bank(w);
	if (!w->cfg || !w->cfg->v0 || !sk)
		return;
	cgs = bpf_map_lookup_elem(&bg_cgscope, &w->bank);
	cg = bg_sk_cgroup(sk);
	if (!cgs || !cg)
		return;
	cl = BPF_CORE_READ(cg, level);
	lvl = w->cfg->max_level;
	for (i = 0; i < BG_SCOPE_CLIMB && cg && cl > lvl; i++) {
		cg = (struct cgroup *)BPF_CORE_READ(cg, self.parent);
		cl--;
	}
	if (cl > lvl)
		return; /* deeper than the climb reaches: the host's rules */
	for (i = 0; i < BG_SCOPE_LEVELS && cg; i++) {
		if (cl < w->cfg->min_level)
			break;
		id = BPF_CORE_READ(cg, kn, id);
		sid = id ? bpf_map_lookup_elem(cgs, &id) : NULL;
		if (sid) {
			w->scope = *sid;
			return;
		}
		cg = (struct cgroup *)BPF_CORE_READ(cg, self.parent);
		cl--;
	}
}

/*
 * The rule for (proto, port): the port's own, else (with unlisted) the unlisted default, in the
 * scope's rules or the host's. NULL when no policy is installed, which allows the bind: the
 * agent installs a policy before it attaches, so this is only reachable between an outer-map
 * clear and a swap, and bindguard never denies what it has no rule for. A scope the bank's table
 * does not know falls back to the host's rules, never to "no rule".
 */
static __always_inline const struct bg_rule *bg_lookup_rule_own(const struct bg_where *w, int proto,
								__u16 port, int unlisted)
{
	const struct bg_rule *r;
	__u32 key, bank = w->bank;
	void *table;

	if (w->scope) {
		struct bg_scope_key sk = { .scope = w->scope, .proto = (__u16)proto, .port = port };

		table = bpf_map_lookup_elem(&bg_scoped, &bank);
		if (table) {
			r = bpf_map_lookup_elem(table, &sk);
			if (r || !unlisted)
				return r;
			sk.proto = BG_SCOPE_UNLISTED;
			sk.port = 0;
			r = bpf_map_lookup_elem(table, &sk);
			if (r)
				return r;
		}
	}
	table = bpf_map_lookup_elem(&bg_policy, &bank);
	if (!table) {
		bg_stat_inc(BG_STAT_NO_POLICY);
		return NULL;
	}
	key = BG_RULE_KEY(proto, port);
	r = bpf_map_lookup_elem(table, &key);
	if (bg_rule_is_set(r) || !unlisted)
		return r;
	key = BG_KEY_UNLISTED;
	return bpf_map_lookup_elem(table, &key);
}

static __always_inline const struct bg_rule *bg_lookup_rule(const struct bg_where *w, int proto,
							    __u16 port)
{
	return bg_lookup_rule_own(w, proto, port, 1);
}

static __always_inline int bg_cidr_hit(__u32 set, const __u32 w[4])
{
	struct bg_cidr_key k = {
		.prefixlen = 32 + 128,
		.set = bpf_htonl(set),
	};

	__builtin_memcpy(k.addr, w, 16);
	return bpf_map_lookup_elem(&bg_hosts, &k) || bpf_map_lookup_elem(&bg_cidrs, &k);
}

/* Judge one address: the decision itself is bg_decide(). */
static __always_inline __u8 bg_judge(const struct bg_rule *r, __u8 class, const __u32 w[4])
{
	int hit = 0;

	if (!bg_rule_is_set(r))
		return BG_VERDICT_ALLOW;
	if (bg_needs_cidr(r, class))
		hit = bg_cidr_hit(r->cidr_set, w);
	return bg_decide(r, class, hit);
}

/*
 * Network namespace of the socket. TCP and AF_INET6 UDP sockets are reached through BTF; for
 * AF_INET UDP no helper casts a bpf_sock to its full socket, so the calling task's netns is used
 * (they differ only for a socket created before a setns(); see docs/coverage.md).
 */
static __always_inline __u32 bg_sock_netns(struct bpf_sock *sk)
{
	struct task_struct *task;
	struct udp6_sock *u6;
	struct tcp_sock *tp;

	if (sk) {
		tp = bpf_skc_to_tcp_sock(sk);
		if (tp)
			return BPF_CORE_READ(tp, inet_conn.icsk_inet.sk.__sk_common.skc_net.net,
					     ns.inum);
		u6 = bpf_skc_to_udp6_sock(sk);
		if (u6)
			return BPF_CORE_READ(u6, udp.inet.sk.__sk_common.skc_net.net, ns.inum);
	}
	/* The BTF pointer walks with plain loads where the kernel has it (5.11); else probe reads. */
	if (bg_cfg_task_btf)
		task = bpf_get_current_task_btf();
	else
		task = (struct task_struct *)bpf_get_current_task();
	return BPF_CORE_READ(task, nsproxy, net_ns, ns.inum);
}

/*
 * Event time: the coarse clock (~5 ns, jiffy resolution) where the kernel has it (5.11), else
 * bpf_ktime_get_ns() (~100 ns on kvm-clock). Both are CLOCK_MONOTONIC.
 */
static __always_inline __u64 bg_now(void)
{
	if (bg_cfg_coarse_clock)
		return bpf_ktime_get_coarse_ns();
	return bpf_ktime_get_ns();
}
#define BG_NOW_CGROUP() bg_now()

struct bg_seen {
	__u32 addr[4]; /* network order, IPv4 as v4-mapped */
	__u32 addr2[4]; /* confine target, or the peer of an accept */
	__u16 port; /* host order */
	__u16 port2;
	__u8 family;
	__u8 proto;
	__u8 class;
	__u8 hook;
	__u8 type; /* BG_EVENT_* */
	__u8 who; /* BG_WHO_*: where the task fields come from */
	__u16 scope; /* the policy scope whose rules judged it */
	const struct bg_owner *owner; /* with BG_WHO_OWNER */
};

#define BG_WHO_HELPERS 0 /* the current task, through the task helpers (cgroup sock hooks) */
#define BG_WHO_CURRENT 1 /* the current task, already read into ->owner by the hook (sockops) */
#define BG_WHO_OWNER 2 /* the socket's owner, from bg_owners (accept: softirq) */
#define BG_WHO_NONE 3 /* nothing known: the fields stay zero */

/* The current task's identity through CO-RE reads, for hooks without the task helpers. */
static __always_inline void bg_task_read(struct bg_owner *o)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();

	o->pid = BPF_CORE_READ(t, tgid);
	o->uid = BPF_CORE_READ(t, cred, uid.val);
	o->gid = BPF_CORE_READ(t, cred, gid.val);
	o->cgroup_id = BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
	bpf_core_read(o->comm, sizeof(o->comm), &t->comm);
}

static __always_inline void bg_task_helpers(struct bg_owner *o)
{
	__u64 v;

	o->cgroup_id = bpf_get_current_cgroup_id();
	v = bpf_get_current_pid_tgid();
	o->pid = v >> 32;
	v = bpf_get_current_uid_gid();
	o->uid = (__u32)v;
	o->gid = v >> 32;
	bpf_get_current_comm(o->comm, sizeof(o->comm));
}

static __always_inline void bg_emit(const struct bg_rule *r, __u8 verdict, const struct bg_seen *s,
				    __u32 netns, __u64 ts)
{
	const struct bg_owner *who = NULL;
	struct bg_owner me;
	struct bg_event *e;
	__u32 suppressed;
	__u64 id, flags;

	if (s->who == BG_WHO_HELPERS) {
		bg_task_helpers(&me);
		who = &me;
	} else if ((s->who == BG_WHO_CURRENT || s->who == BG_WHO_OWNER) && s->owner) {
		who = s->owner;
	}
	if (!bg_src_admit(who ? who->uid : 0, who ? who->cgroup_id : 0, ts, &suppressed)) {
		bg_stat_inc(BG_STAT_SUPPRESSED);
		return;
	}
	/* Taken before the reservation, so a drop shows as a gap in the sequence. */
	id = bg_seq_take(1);
	e = bpf_ringbuf_reserve(&bg_events, sizeof(*e), 0);
	if (!e) {
		bg_stat_inc(BG_STAT_DROPPED);
		return;
	}
	e->seq = id;
	e->ts_ns = ts;
	e->flags = 0;
	e->suppressed = suppressed;
	e->scope = s->scope;
	if (who) {
		e->cgroup_id = who->cgroup_id;
		e->pid = who->pid;
		e->uid = who->uid;
		e->gid = who->gid;
		__builtin_memcpy(e->comm, who->comm, sizeof(e->comm));
		if (s->who == BG_WHO_OWNER)
			e->flags = BG_EV_F_OWNER;
	} else {
		e->cgroup_id = 0;
		e->pid = 0;
		e->uid = 0;
		e->gid = 0;
		__builtin_memset(e->comm, 0, sizeof(e->comm));
		e->flags = BG_EV_F_NO_TASK;
	}
	e->netns = netns;
	__builtin_memcpy(e->addr, s->addr, 16);
	__builtin_memcpy(e->addr2, s->addr2, 16);
	e->port = s->port;
	e->port2 = s->port2;
	e->rule_id = r ? r->rule_id : 0;
	e->type = s->type;
	e->family = s->family;
	e->proto = s->proto;
	e->verdict = verdict;
	e->action = r ? r->action : 0;
	e->expose = r ? r->expose : 0;
	e->mode = r ? r->mode : 0;
	e->hook = s->hook;
	e->class = s->class;
	e->gen = r ? r->gen : 0;

	/*
	 * A deny or confine wakes the reader (someone's service just failed or moved); anything
	 * else waits for the agent's tick, unless a quarter of the ring is already waiting. Either
	 * wakeup at most once every bg_cfg_wake_gap_ns (see bg_last_wake): a reader that is behind
	 * is awake already, and a forced wakeup per event (an IPI: ~10 us in a VM) would cost the
	 * binding process more than the event, once the ring is a quarter full.
	 */
	flags = BPF_RB_NO_WAKEUP;
	if (ts - bg_last_wake >= bg_cfg_wake_gap_ns &&
	    (verdict == BG_VERDICT_DENY || verdict == BG_VERDICT_CONFINE ||
	     bpf_ringbuf_query(&bg_events, BPF_RB_AVAIL_DATA) > BG_RINGBUF_BYTES / 4)) {
		bg_last_wake = ts;
		flags = BPF_RB_FORCE_WAKEUP;
	}
	bpf_ringbuf_submit(e, flags);
	bg_stat_inc(BG_STAT_EVENTS);
}

static __always_inline void bg_count(__u8 verdict)
{
	if (verdict == BG_VERDICT_DENY)
		bg_stat_inc(BG_STAT_DENIED);
	else if (verdict == BG_VERDICT_CONFINE)
		bg_stat_inc(BG_STAT_CONFINED);
}

/* The slot of a socket in bg_alerts, and the mark of its bind at @port. */
static __always_inline __u64 *bg_alert_slot(__u64 cookie)
{
	/*
	 * Cookies come in per-CPU runs of 4096 (gen_cookie_next()): consecutive within a run,
	 * which keeps consecutive marks in the same cache lines, but two CPUs' runs would meet
	 * in the same slots. Each run is shifted by its number times an odd stride.
	 */
	__u32 k = (__u32)(cookie + (cookie >> 12) * 1021) & (BG_ALERT_SLOTS - 1);

	return bpf_map_lookup_elem(&bg_alerts, &k);
}

static __always_inline __u64 bg_alert_tag(__u64 cookie, __u16 port)
{
	return (cookie << 16) | port;
}

/* Remember that this socket's bind at @port was reported as an alert (see bg_alerts). */
static __always_inline void bg_mark_alerted(__u64 cookie, __u16 port)
{
	__u64 *v = bg_alert_slot(cookie);

	if (v)
		*v = bg_alert_tag(cookie, port);
}

static __always_inline int bg_was_alerted(__u64 cookie, __u16 port)
{
	__u64 *v = bg_alert_slot(cookie);

	return v && *v == bg_alert_tag(cookie, port);
}

/* The same, and forget the mark: it has done its job. */
static __always_inline int bg_take_alerted(__u64 cookie, __u16 port)
{
	__u64 *v = bg_alert_slot(cookie);

	if (!v || *v != bg_alert_tag(cookie, port))
		return 0;
	*v = 0;
	return 1;
}

/*
 * BG_BUILD_VARIANT (tests only): a second build whose programs differ by one no-op instruction,
 * so the tests can prove that an upgrade to a different build adopts the pins with no gap.
 */
#ifdef BG_BUILD_VARIANT
#define BG_VARIANT_NOP() asm volatile("r0 = 0" ::: "r0")
#else
#define BG_VARIANT_NOP() \
	do {             \
	} while (0)
#endif

/*
 * What bind4/6 judged, for post_bind (struct bg_note, bg_note_check() in bg_decide.h). Per CPU,
 * so the fast path writes it without contention, and per thread within a CPU (a slot by the
 * thread id): a kernel that preempts may switch to another binder between one thread's two
 * hooks (at the socket lock, with voluntary preemption), and that binder's note must not take
 * the place of the first one's. post_bind trusts a note only when it is this socket's (by
 * cookie), for this address and port, under this policy bank. A rewrite by a program that ran
 * after ours, a task that migrated to another CPU between the two hooks, or another thread
 * with the same slot, finds no match and goes through the full judgement (fail-closed), as if
 * there were no note.
 */
#define BG_NOTE_SLOTS 256

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, BG_NOTE_SLOTS);
	__type(key, __u32);
	__type(value, struct bg_note);
} bg_notes SEC(".maps");

static __always_inline struct bg_note *bg_note_get(void)
{
	__u32 slot = (__u32)bpf_get_current_pid_tgid() & (BG_NOTE_SLOTS - 1);

	return bpf_map_lookup_elem(&bg_notes, &slot);
}

/*
 * bind4 and bind6: judge the address and port the caller asked for. A bind to port 0 asks the
 * kernel for an ephemeral port: it is judged once the port is known (post_bind), by that port's
 * own rule only; the unlisted default is for services, not for a client's ephemeral port.
 */
static __always_inline int bg_bind(struct bpf_sock_addr *ctx, int v6)
{
	const struct bg_rule *r;
	struct bg_where w;
	struct bg_note *note;
	struct bg_seen s;
	__u64 cookie;
	__u8 verdict;
	int proto;

	BG_VARIANT_NOP();
	proto = bg_proto_of(ctx->type);
	if (proto < 0)
		return ALLOW;
	s.port = bpf_ntohs((__u16)ctx->user_port);
	if (v6) {
		s.addr[0] = ctx->user_ip6[0];
		s.addr[1] = ctx->user_ip6[1];
		s.addr[2] = ctx->user_ip6[2];
		s.addr[3] = ctx->user_ip6[3];
	} else {
		s.addr[0] = 0;
		s.addr[1] = 0;
		s.addr[2] = BG_V4MAPPED_BE;
		s.addr[3] = ctx->user_ip4;
	}
	cookie = bpf_get_socket_cookie(ctx);
	note = bg_note_get();
	if (note) {
		note->cookie = cookie;
		__builtin_memcpy(note->addr, s.addr, 16);
		note->port = s.port;
		note->any_port = s.port == 0;
		note->denied = 0;
		note->bank = 0;
	}
	if (s.port == 0)
		return ALLOW;
	bg_where_task(&w);
	if (note)
		note->bank = w.bank;
	r = bg_lookup_rule(&w, proto, s.port);
	if (!r)
		return ALLOW;
	s.scope = (__u16)w.scope;
	s.class = v6 ? bg_class_v6(s.addr[0], s.addr[1], s.addr[2], s.addr[3]) :
		       bg_class_v4(s.addr[3]);
	verdict = bg_judge(r, s.class, s.addr);
	if (!bg_should_emit(r, verdict))
		return ALLOW;

	s.family = v6 ? BG_AF_INET6 : BG_AF_INET;
	s.proto = proto;
	s.hook = BG_HOOK_BIND;
	s.type = BG_EVENT_BIND;
	s.who = BG_WHO_HELPERS;
	s.port2 = 0;
	__builtin_memset(s.addr2, 0, sizeof(s.addr2));
	if (verdict == BG_VERDICT_CONFINE) {
		if (v6) {
			bg_confine_v6(s.addr[0], s.addr[1], s.addr[2], s.addr2);
			ctx->user_ip6[0] = s.addr2[0];
			ctx->user_ip6[1] = s.addr2[1];
			ctx->user_ip6[2] = s.addr2[2];
			ctx->user_ip6[3] = s.addr2[3];
		} else {
			s.addr2[2] = BG_V4MAPPED_BE;
			s.addr2[3] = BG_V4_LOOPBACK_BE;
			ctx->user_ip4 = BG_V4_LOOPBACK_BE;
		}
		if (note)
			__builtin_memcpy(note->addr, s.addr2, 16);
	} else if (verdict == BG_VERDICT_ALERT) {
		/* listen() on this socket would report the same violation again: it will not. */
		bg_mark_alerted(cookie, s.port);
	}
	if (verdict == BG_VERDICT_DENY && note)
		note->denied = 1;
	bg_emit(r, verdict, &s, bg_sock_netns(ctx->sk), BG_NOW_CGROUP());
	bg_count(verdict);
	return verdict == BG_VERDICT_DENY ? REJECT : ALLOW;
}

SEC("cgroup/bind4")
int bg_bind4(struct bpf_sock_addr *ctx)
{
	return bg_bind(ctx, 0);
}

SEC("cgroup/bind6")
int bg_bind6(struct bpf_sock_addr *ctx)
{
	return bg_bind(ctx, 1);
}

/*
 * post_bind: the port is now assigned and the address final. The cheap question first: with no
 * rule for the port, or a rule that allows this address without a CIDR lookup, the bind stands
 * whatever bind4/6 saw (an ephemeral port's own rule is one of the two the lookup tries, so what
 * the unlisted default allows, its own rule or none allows too). That is the allowed fast path,
 * and it costs one rule lookup, less than reading the note. Otherwise, what bind4/6 already
 * judged (the note matches) is done; what is left is an ephemeral port (judged by its own rule
 * only) or an address or port rewritten after our bind hook (judged fully). A confine cannot be
 * applied here (the socket is already hashed), so a violation is denied, or alerted in audit mode
 * or under an alert rule: fail-closed.
 */
static __always_inline int bg_post_bind(struct bpf_sock *ctx, struct bg_seen *s)
{
	const struct bg_rule *r;
	struct bg_where w;
	int proto, ephemeral = 0;
	__u64 cookie;
	__u8 verdict;

	proto = bg_proto_of(ctx->type);
	if (proto < 0)
		return ALLOW;
	s->port = (__u16)ctx->src_port;
	bg_where_task(&w);
	r = bg_lookup_rule(&w, proto, s->port);
	if (!bg_rule_is_set(r))
		return ALLOW;
	if (!bg_needs_cidr(r, s->class) && bg_decide(r, s->class, 0) == BG_VERDICT_ALLOW)
		return ALLOW;
	cookie = bpf_get_socket_cookie(ctx);
	switch (bg_note_check(bg_note_get(), cookie, s->addr, s->port, w.bank)) {
	case BG_NOTE_JUDGED:
		return ALLOW; /* and reported by bind4/6 if it was due */
	case BG_NOTE_EPHEMERAL:
		ephemeral = 1;
		r = bg_lookup_rule_own(&w, proto, s->port, 0);
		if (!bg_rule_is_set(r))
			return ALLOW;
		break;
	}
	s->scope = (__u16)w.scope;
	verdict = bg_judge(r, s->class, s->addr);
	if (verdict == BG_VERDICT_ALLOW)
		return ALLOW;
	/* A bind4/6 alert on another CPU (the task migrated): reported already. */
	if (!ephemeral && bg_was_alerted(cookie, s->port))
		return ALLOW;
	if (verdict == BG_VERDICT_CONFINE)
		verdict = BG_VERDICT_DENY;
	if (verdict == BG_VERDICT_ALERT)
		bg_mark_alerted(cookie, s->port);

	s->proto = proto;
	s->hook = BG_HOOK_POST_BIND;
	s->type = BG_EVENT_BIND;
	s->who = BG_WHO_HELPERS;
	s->port2 = 0;
	__builtin_memset(s->addr2, 0, sizeof(s->addr2));
	bg_emit(r, verdict, s, bg_sock_netns(NULL), BG_NOW_CGROUP());
	bg_count(verdict);
	return verdict == BG_VERDICT_DENY ? REJECT : ALLOW;
}

SEC("cgroup/post_bind4")
int bg_post_bind4(struct bpf_sock *ctx)
{
	struct bg_seen s;

	s.addr[0] = 0;
	s.addr[1] = 0;
	s.addr[2] = BG_V4MAPPED_BE;
	s.addr[3] = ctx->src_ip4;
	s.class = bg_class_v4(s.addr[3]);
	s.family = BG_AF_INET;
	return bg_post_bind(ctx, &s);
}

SEC("cgroup/post_bind6")
int bg_post_bind6(struct bpf_sock *ctx)
{
	struct bg_seen s;

	s.addr[0] = ctx->src_ip6[0];
	s.addr[1] = ctx->src_ip6[1];
	s.addr[2] = ctx->src_ip6[2];
	s.addr[3] = ctx->src_ip6[3];
	s.class = bg_class_v6(s.addr[0], s.addr[1], s.addr[2], s.addr[3]);
	s.family = BG_AF_INET6;
	return bg_post_bind(ctx, &s);
}

/* --- Listeners and connections, and the scope of the non-cgroup hooks ---------------------- */

#define TCP_ESTABLISHED 1
#define TCP_SYN_RECV 3
#define TCP_CLOSE 7
#define TCP_LISTEN 10
#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6

/*
 * The cgroup the agent enforces on, for the hooks that are not cgroup hooks (the iterators see
 * every socket of the host). Set by the agent before attaching; 0 = no scope set, which matches
 * nothing (empty means inert).
 */
__u64 bg_scope_cgid = 0;
__u32 bg_scope_level = 0;

/*
 * Is the socket's cgroup (the one it was created in, as the cgroup bind hooks use) the scope
 * cgroup or one of its descendants? Reads the cgroup's ancestor at the scope's level.
 */
static __always_inline int bg_sk_in_scope(const struct sock *sk, __u64 *cgid_out)
{
	struct cgroup *cg = bg_sk_cgroup(sk);
	__u32 level = bg_scope_level;

	*cgid_out = 0;
	if (!bg_scope_cgid)
		return 0;
	if (!cg) {
		/* The default hierarchy's root (a pre-5.15 kernel says so with a flag). */
		*cgid_out = 1;
		return level == 0;
	}
	*cgid_out = BPF_CORE_READ(cg, kn, id);
	if (BPF_CORE_READ(cg, level) < (int)level)
		return 0;
	if (level > 255)
		return 0;
	return bg_cgroup_ancestor_id(cg, level) == bg_scope_cgid;
}

/* Local (and peer) address of a socket, IPv4 as v4-mapped. Returns the family or 0. */
static __always_inline __u8 bg_sk_addrs(const struct sock *sk, __u32 local[4], __u32 peer[4])
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	if (family == AF_INET) {
		local[0] = 0;
		local[1] = 0;
		local[2] = BG_V4MAPPED_BE;
		local[3] = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
		peer[0] = 0;
		peer[1] = 0;
		peer[2] = BG_V4MAPPED_BE;
		peer[3] = BPF_CORE_READ(sk, __sk_common.skc_daddr);
		return BG_AF_INET;
	}
	if (family == AF_INET6) {
		/* Explicit sizes: local and peer are pointers here, not arrays. */
		bpf_core_read(local, 16, &sk->__sk_common.skc_v6_rcv_saddr);
		bpf_core_read(peer, 16, &sk->__sk_common.skc_v6_daddr);
		return BG_AF_INET6;
	}
	return 0;
}

static __always_inline __u8 bg_class_words(const __u32 w[4])
{
	return bg_class_v6(w[0], w[1], w[2], w[3]);
}

/*
 * sockops on the attached cgroup: BPF_SOCK_OPS_TCP_LISTEN_CB runs at the end of listen(), after
 * an autobind has picked the port (the inet_sock_set_state tracepoint fires before that, with
 * port 0), and BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB when a passive connection is established.
 * Neither needs a callback flag. Being a cgroup program, it sees exactly the sockets the bind
 * hooks see. It never changes anything: return 1.
 */
/*
 * Load a ctx field into a register right here: without the barrier clang may merge the loads
 * of two branches into one load through a computed ctx pointer, which the verifier rejects.
 */
#define BG_CTX_LOAD(dst, field)               \
	do {                                  \
		__u32 __v = (field);          \
		asm volatile("" : "+r"(__v)); \
		(dst) = __v;                  \
	} while (0)

SEC("sockops")
int bg_sockops(struct bpf_sock_ops *skops)
{
	const struct bg_rule *r;
	struct bg_where w;
	struct bg_owner owner;
	struct bpf_sock *sk;
	struct bg_seen s;
	__u8 verdict;
	int hit = 0;

	if (skops->op == BPF_SOCK_OPS_TCP_LISTEN_CB)
		s.type = BG_EVENT_LISTEN;
	else if (skops->op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB)
		s.type = BG_EVENT_ACCEPT;
	else
		return 1;
	if (skops->family == AF_INET) {
		s.family = BG_AF_INET;
		s.addr[0] = 0;
		s.addr[1] = 0;
		s.addr[2] = BG_V4MAPPED_BE;
		BG_CTX_LOAD(s.addr[3], skops->local_ip4);
		s.addr2[0] = 0;
		s.addr2[1] = 0;
		s.addr2[2] = BG_V4MAPPED_BE;
		BG_CTX_LOAD(s.addr2[3], skops->remote_ip4);
	} else if (skops->family == AF_INET6) {
		s.family = BG_AF_INET6;
		BG_CTX_LOAD(s.addr[0], skops->local_ip6[0]);
		BG_CTX_LOAD(s.addr[1], skops->local_ip6[1]);
		BG_CTX_LOAD(s.addr[2], skops->local_ip6[2]);
		BG_CTX_LOAD(s.addr[3], skops->local_ip6[3]);
		BG_CTX_LOAD(s.addr2[0], skops->remote_ip6[0]);
		BG_CTX_LOAD(s.addr2[1], skops->remote_ip6[1]);
		BG_CTX_LOAD(s.addr2[2], skops->remote_ip6[2]);
		BG_CTX_LOAD(s.addr2[3], skops->remote_ip6[3]);
	} else {
		return 1;
	}
	s.port = (__u16)skops->local_port;
	sk = skops->sk;
	{
		struct tcp_sock *tp = sk ? bpf_skc_to_tcp_sock(sk) : NULL;

		bg_where_sk(&w, (const struct sock *)tp);
	}
	r = bg_lookup_rule(&w, BG_PROTO_TCP, s.port);
	if (!bg_rule_is_set(r))
		return 1;
	s.scope = (__u16)w.scope;
	s.class = bg_class_words(s.addr);
	if (bg_needs_cidr(r, s.class))
		hit = bg_cidr_hit(r->cidr_set, s.addr);
	if (s.type == BG_EVENT_LISTEN) {
		verdict = bg_decide_listener(r, s.class, hit);
		/*
		 * listen() runs in the caller's context: that is the owner. The task helpers are
		 * allowed in sockops from 6.16; before, the same fields are read through
		 * bpf_get_current_task(). The owner is kept on the socket for the accept events.
		 */
		if (bg_cfg_sockops_task)
			bg_task_helpers(&owner);
		else
			bg_task_read(&owner);
		owner.pad = 0;
		if (sk) {
			struct bg_owner *o;

			o = bpf_sk_storage_get(&bg_owners, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
			if (o)
				*o = owner;
		}
		s.who = BG_WHO_CURRENT;
		s.owner = &owner;
		s.port2 = 0;
		__builtin_memset(s.addr2, 0, sizeof(s.addr2));
	} else {
		verdict = bg_decide_accept(r, s.class, hit, bg_class_words(s.addr2));
		/* The handshake completes in softirq: the owner is the listener's (cloned). */
		s.owner = sk ? bpf_sk_storage_get(&bg_owners, sk, 0, 0) : NULL;
		s.who = s.owner ? BG_WHO_OWNER : BG_WHO_NONE;
		/*
		 * remote_port is the network-order port, which little-endian kernels shift into
		 * the upper 16 bits (sock_ops_convert_ctx_access); take the non-zero half so
		 * either layout reads right.
		 */
		s.port2 = bpf_ntohs((__u16)skops->remote_port);
		if (!s.port2)
			s.port2 = bpf_ntohs((__u16)(skops->remote_port >> 16));
	}
	if (!bg_should_emit(r, verdict))
		return 1;
	/*
	 * bind() + listen() is one service coming up: when its bind already reported the
	 * violation, its listen does not report it again (the mark goes with it).
	 */
	if (s.type == BG_EVENT_LISTEN && verdict != BG_VERDICT_ALLOW) {
		if (bg_take_alerted(bpf_get_socket_cookie(skops), s.port))
			return 1;
	}
	s.proto = BG_PROTO_TCP;
	s.hook = BG_HOOK_SOCK_OPS;
	bg_emit(r, verdict, &s, bg_sock_netns(sk), BG_NOW_CGROUP());
	return 1;
}

/* --- Sockets that already exist: iter/tcp, iter/udp ---------------------------------------- */

/*
 * bpf_sock_destroy (6.5) closes a socket from an iterator. Weak: on a kernel without it libbpf
 * leaves the call unresolved instead of failing the whole object, and the agent never loads the
 * two programs that call it (bg_close_tcp, bg_close_udp) there. Judging existing sockets needs
 * only the iterators themselves (5.9).
 */
extern int bpf_sock_destroy(struct sock_common *sk) __ksym __weak;

/* Judge one existing socket and write its record; with close, close it if it is denied. */
static __always_inline void bg_iter_sock(struct seq_file *seq, struct sock *sk, __u8 proto,
					 __u32 uid, int close)
{
	struct bg_sock_rec rec;
	const struct bg_rule *r;
	struct bg_where w;
	__u32 local[4], peer[4];
	int hit = 0;

	__builtin_memset(&rec, 0, sizeof(rec));
	rec.family = bg_sk_addrs(sk, local, peer);
	if (!rec.family)
		return;
	rec.port = BPF_CORE_READ(sk, __sk_common.skc_num);
	if (proto == BG_PROTO_UDP && rec.port == 0)
		return; /* not bound */
	rec.proto = proto;
	rec.state = BPF_CORE_READ(sk, __sk_common.skc_state);
	rec.peer_port = bpf_ntohs(BPF_CORE_READ(sk, __sk_common.skc_dport));
	/* A plain read: bpf_get_socket_cookie() is allowed in iterators only from 5.12. */
	rec.cookie = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
	rec.in_scope = bg_sk_in_scope(sk, &rec.cgroup_id);
	rec.ino = BPF_CORE_READ(sk, sk_socket, file, f_inode, i_ino);
	rec.netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	rec.uid = uid;
	__builtin_memcpy(rec.addr, local, 16);
	if (proto == BG_PROTO_UDP)
		__builtin_memcpy(rec.peer, peer, 16);
	rec.class = bg_class_words(local);

	bg_where_sk(&w, sk);
	rec.scope = (__u16)w.scope;
	r = bg_lookup_rule(&w, proto, rec.port);
	if (bg_rule_is_set(r)) {
		if (bg_needs_cidr(r, rec.class))
			hit = bg_cidr_hit(r->cidr_set, local);
		rec.verdict = bg_decide_listener(r, rec.class, hit);
		rec.rule_id = r->rule_id;
		rec.gen = r->gen;
		rec.action = r->action;
		rec.expose = r->expose;
		rec.mode = r->mode;
	} else {
		rec.verdict = BG_VERDICT_ALLOW;
	}
	/* Only enforce mode yields a deny, and only sockets in scope are ever closed. */
	if (close && rec.in_scope && rec.verdict == BG_VERDICT_DENY)
		rec.closed = bpf_sock_destroy((struct sock_common *)sk) == 0;
	bpf_seq_write(seq, &rec, sizeof(rec));
}

static __always_inline int bg_iter_tcp_common(struct bpf_iter__tcp *ctx, int close)
{
	struct sock_common *skc = ctx->sk_common;

	if (!skc || skc->skc_state != TCP_LISTEN)
		return 0;
	bg_iter_sock(ctx->meta->seq, (struct sock *)skc, BG_PROTO_TCP, ctx->uid, close);
	return 0;
}

static __always_inline int bg_iter_udp_common(struct bpf_iter__udp *ctx, int close)
{
	struct udp_sock *udp = ctx->udp_sk;

	if (!udp)
		return 0;
	bg_iter_sock(ctx->meta->seq, (struct sock *)udp, BG_PROTO_UDP, ctx->uid, close);
	return 0;
}

SEC("iter/tcp")
int bg_iter_tcp(struct bpf_iter__tcp *ctx)
{
	return bg_iter_tcp_common(ctx, 0);
}

SEC("iter/udp")
int bg_iter_udp(struct bpf_iter__udp *ctx)
{
	return bg_iter_udp_common(ctx, 0);
}

SEC("iter/tcp")
int bg_close_tcp(struct bpf_iter__tcp *ctx)
{
	return bg_iter_tcp_common(ctx, 1);
}

SEC("iter/udp")
int bg_close_udp(struct bpf_iter__udp *ctx)
{
	return bg_iter_udp_common(ctx, 1);
}

/* --- Every netns that holds a socket: iter/task_file -------------------------------------- */

#define BG_S_IFMT 00170000
#define BG_S_IFSOCK 0140000
#define BG_NSFS_MAGIC 0x6e736673
#define BG_CLONE_NEWNET 0x40000000

/*
 * Network namespaces already reported, with the pass that reported them: the agent bumps
 * bg_ns_pass before each pass, so nothing needs clearing between passes.
 */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u32);
} bg_ns_seen SEC(".maps");

__u32 bg_ns_pass = 0;

/*
 * One record per network namespace that some process holds an inet socket in, or holds open as
 * an nsfs file, with one (tgid, fd) that reaches it. A netns with no process and no mount, kept
 * alive only by a socket a worker took with it after setns() back out, is found this way: the
 * agent reaches it through that fd (pidfd_getfd + SIOCGSKNS, or /proc/PID/fd/N for nsfs).
 */
SEC("iter/task_file")
int bg_iter_files(struct bpf_iter__task_file *ctx)
{
	struct task_struct *task = ctx->task;
	struct file *file = ctx->file;
	struct bg_ns_rec rec;
	struct inode *inode;
	__u32 *pass, cur;
	__u16 mode;

	if (!task || !file || task->pid != task->tgid)
		return 0; /* threads share their process's files */
	inode = BPF_CORE_READ(file, f_inode);
	mode = BPF_CORE_READ(inode, i_mode);
	__builtin_memset(&rec, 0, sizeof(rec));
	if ((mode & BG_S_IFMT) == BG_S_IFSOCK) {
		struct socket *sock = BPF_CORE_READ(file, private_data);
		struct sock *sk = BPF_CORE_READ(sock, sk);
		__u16 family;

		if (!sk)
			return 0;
		family = BPF_CORE_READ(sk, __sk_common.skc_family);
		if (family != AF_INET && family != AF_INET6)
			return 0;
		rec.netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
		rec.kind = BG_NSREC_SOCKET;
	} else if (BPF_CORE_READ(inode, i_sb, s_magic) == BG_NSFS_MAGIC) {
		struct ns_common *ns = BPF_CORE_READ(inode, i_private);

		if (!ns || bg_ns_type(ns) != BG_CLONE_NEWNET)
			return 0;
		rec.netns = BPF_CORE_READ(ns, inum);
		rec.kind = BG_NSREC_NSFS;
	} else {
		return 0;
	}
	pass = bpf_map_lookup_elem(&bg_ns_seen, &rec.netns);
	if (pass && *pass == bg_ns_pass)
		return 0;
	cur = bg_ns_pass;
	bpf_map_update_elem(&bg_ns_seen, &rec.netns, &cur, BPF_ANY);
	rec.tgid = task->tgid;
	rec.fd = ctx->fd;
	bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
	return 0;
}
