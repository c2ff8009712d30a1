/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * bindguard.h - the ABI shared by the BPF programs (bpf/) and user space (agent/, policy/).
 *
 * This header is a specification. Every struct here crosses the kernel/user boundary through a
 * BPF map or the ring buffer, so:
 *   - fields are fixed-width, with no bool, enum or pointer members;
 *   - padding is explicit and sizes are pinned with _Static_assert;
 *   - the byte order is stated for every multi-byte field;
 *   - an all-zero struct is inert: it matches nothing and grants nothing (systemd #30556 shipped
 *     the opposite, an empty allow list whose zeroed entry matched everything).
 *
 * It is compiled by clang for the BPF target (with vmlinux.h providing the __uN types) and by gcc
 * for the agent and the unit tests (with <linux/types.h>).
 */
#ifndef BINDGUARD_H
#define BINDGUARD_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/*
 * Bumped whenever a struct, map or the meaning of a field below changes. 2: the sequence number
 * moved from a global to the bg_seqs map (a spin lock), events gained BG_EV_F_OWNER and
 * suppressed, the per-source flood control (bg_sources) and BG_STAT_SUPPRESSED, scoped rule
 * sets (bg_ctl banks, bg_scoped, bg_cgscope) and the scope in events and socket records.
 * 3: the pinned alert marks moved from the LRU hash bg_alerted to the array bg_alerts (one
 * 8-byte word per slot, see bpf/bindguard.bpf.c), and the full-length CIDR entries (/32, /128)
 * from the bg_cidrs trie to the bg_hosts hash (same key), so a pinned state of 2 is refused,
 * not misread.
 */
#define BG_ABI_VERSION 3

/* Protocols a rule can name. Index into the rule table (see BG_RULE_KEY). */
#define BG_PROTO_TCP 0
#define BG_PROTO_UDP 1
#define BG_NR_PROTOS 2

/* Bit set of protocols, used by the policy language (tcp, udp or both). */
#define BG_PROTO_BIT(p) (1u << (p))

/*
 * Exposure: which local addresses a port may be bound to. 0 is deliberately "no rule", so a
 * zeroed rule-table slot falls through to the policy's default for unlisted ports.
 */
#define BG_EXPOSE_UNSET 0 /* no rule for this slot (inert) */
#define BG_EXPOSE_PUBLIC 1 /* any address */
#define BG_EXPOSE_LOOPBACK 2 /* loopback of the socket's own netns only */
#define BG_EXPOSE_CIDR 3 /* loopback plus the rule's CIDR set */
#define BG_EXPOSE_NONE 4 /* must not be bound at all */
#define BG_EXPOSE_MAX 4

/* What to do with a bind that breaks a rule's exposure. */
#define BG_ACTION_UNSET 0
#define BG_ACTION_DENY 1 /* the bind fails with EPERM */
#define BG_ACTION_ALERT 2 /* the bind succeeds, an event is raised */
#define BG_ACTION_CONFINE 3 /* a wildcard bind is rewritten to loopback; anything else denied */
#define BG_ACTION_MAX 3

#define BG_MODE_ENFORCE 0 /* apply each rule's action */
#define BG_MODE_AUDIT 1 /* every deny and confine becomes an alert */

/* The verdict for one bind, after mode. 0 never appears in an event. */
#define BG_VERDICT_NONE 0
#define BG_VERDICT_ALLOW 1
#define BG_VERDICT_DENY 2
#define BG_VERDICT_ALERT 3
#define BG_VERDICT_CONFINE 4

/* Address classes (decided once, in bg_decide.h). */
#define BG_CLASS_LOOPBACK 1
#define BG_CLASS_WILDCARD 2
#define BG_CLASS_SPECIFIC 3

/* Where an event came from. */
#define BG_HOOK_BIND 1 /* cgroup/bind4 or bind6: the address the caller asked for */
#define BG_HOOK_POST_BIND 2 /* cgroup/post_bind4 or 6: the final address and port */
#define BG_HOOK_SOCK_OPS 3 /* cgroup sockops: listen and accept */
#define BG_HOOK_ITER 4 /* iter/tcp, iter/udp: sockets that already exist */

#define BG_EVENT_BIND 1 /* a bind() attempt */
#define BG_EVENT_LISTEN 2 /* a TCP socket entered LISTEN */
#define BG_EVENT_ACCEPT 3 /* a passive TCP connection was established */
#define BG_EVENT_EXISTING 4 /* a listener or bound UDP socket found by reconcile */

/* struct bg_event.flags */
#define BG_EV_F_NO_TASK (1u << 0) /* pid/comm/uid/gid/cgroup_id do not describe a caller */
#define BG_EV_F_CLOSED (1u << 1) /* the socket was closed (bpf_sock_destroy) */
/*
 * The task fields describe the socket's owner (the process that made it listen), not the task
 * running the hook: accept events, which complete in softirq.
 */
#define BG_EV_F_OWNER (1u << 2)

/* Address families as they appear in events; the kernel's AF_INET and AF_INET6 values. */
#define BG_AF_INET 2
#define BG_AF_INET6 10

/*
 * Rule-table layout. The table is a BPF_MAP_TYPE_ARRAY of struct bg_rule, indexed by
 * BG_RULE_KEY(proto, port). One extra slot, BG_KEY_UNLISTED, holds the rule that applies to
 * every port whose own slot is inert: the policy's "unlisted" default.
 *
 * The whole table is one inner map of the BG_MAP_POLICY array-of-maps. A policy swap builds a
 * complete new inner map and replaces the outer slot with a single update, so a bind sees
 * either the old policy or the new one, never a mix.
 */
#define BG_NR_PORTS 65536u
#define BG_RULE_KEY(proto, port) ((__u32)(proto)*BG_NR_PORTS + (__u32)(port))
#define BG_KEY_UNLISTED (BG_NR_PROTOS * BG_NR_PORTS)
#define BG_RULE_SLOTS (BG_KEY_UNLISTED + 1)

/*
 * Scoped rule sets (a policy's scopes). The host rules stay in the array above; a scope's rules
 * live in a hash keyed by struct bg_scope_key (one per policy generation, swapped with the host
 * table), and the cgroups a scope takes in a hash of cgroup id -> scope number. Scope 0 is the
 * host. A scope's unlisted rule has proto BG_SCOPE_UNLISTED and port 0.
 */
#define BG_SCOPE_UNLISTED 0xffff

struct bg_scope_key {
	__u32 scope; /* host order, 1-based */
	__u16 proto; /* BG_PROTO_*, or BG_SCOPE_UNLISTED */
	__u16 port; /* host order */
};
_Static_assert(sizeof(struct bg_scope_key) == 8, "struct bg_scope_key is ABI");

/*
 * struct bg_ctl - the switch that makes a policy swap atomic. Entry 0 holds the bank in force
 * (0 or 1): each of the policy's maps (host table, scoped rules, cgroup scopes) has one inner map
 * per bank, a program reads the bank once and uses that bank's maps for the whole judgement, and
 * the agent fills the other bank before it flips entry 0. Entries 1 and 2 describe bank 0 and 1:
 * whether it has scopes, and the cgroup levels at which scoped cgroups sit (the walk's bounds).
 * All zero: bank 0, no scopes (inert).
 */
struct bg_ctl {
	__u32 v0; /* entry 0: the bank; entries 1, 2: has scopes */
	__u32 min_level;
	__u32 max_level;
	__u32 pad;
};
_Static_assert(sizeof(struct bg_ctl) == 16, "struct bg_ctl is ABI");
#define BG_SCOPE_LEVELS 8 /* the most cgroup levels one walk looks at */

/* struct bg_rule.flags */
#define BG_RULE_F_LOG_ALLOWED (1u << 0) /* emit an event even when the verdict is allow */

/*
 * struct bg_rule - the compiled form of one policy rule, as stored in one rule-table slot.
 *
 * @expose:   BG_EXPOSE_*. BG_EXPOSE_UNSET marks an empty slot.
 * @action:   BG_ACTION_*, already resolved against the policy's default action.
 * @mode:     BG_MODE_*. Policy-wide, but copied into every slot so the fast path needs one lookup.
 * @flags:    BG_RULE_F_*.
 * @rule_id:  host order. 1-based index of the rule in the agent's rule list (names, hint); 0 for
 *            the unlisted default.
 * @gen:      host order. Generation of the policy this slot belongs to (the agent counts its
 *            policy loads); copied into events so a reload never mislabels a queued event.
 * @cidr_set: host order. With BG_EXPOSE_CIDR, the id of this rule's CIDR set in BG_MAP_CIDRS.
 *            0 is never a valid set, so a rule with an empty or missing set matches loopback
 *            only: a CIDR rule can never widen to "anything".
 */
struct bg_rule {
	__u8 expose;
	__u8 action;
	__u8 mode;
	__u8 flags;
	__u16 rule_id;
	__u16 gen;
	__u32 cidr_set;
};
_Static_assert(sizeof(struct bg_rule) == 12, "struct bg_rule is ABI");

/*
 * struct bg_cidr_key - key of the BG_MAP_CIDRS LPM trie, and of the bg_hosts hash, which holds
 * the full-length entries (prefixlen 32 + 128: an IPv4 /32, an IPv6 /128) instead of the trie.
 *
 * @prefixlen: host order. 32 (the set id) + 96 (the v4-mapped prefix, for IPv4) + the CIDR's
 *             own prefix length.
 * @set:       big-endian (network order) set id, so that it sorts as the leading bytes.
 * @addr:      network order. IPv6, or IPv4 as the v4-mapped ::ffff:a.b.c.d.
 *
 * Set ids grow monotonically across policy loads, so a new policy's sets never collide with the
 * sets of the policy it replaces.
 */
struct bg_cidr_key {
	__u32 prefixlen;
	__u32 set;
	__u8 addr[16];
};
_Static_assert(sizeof(struct bg_cidr_key) == 24, "struct bg_cidr_key is ABI");

#define BG_COMM_LEN 16

/*
 * struct bg_event - one ring-buffer record.
 *
 * @seq:       host order. Global sequence number, taken before the ring-buffer reservation, so a
 *             reservation that fails leaves a gap: delivered + dropped == last seq + 1.
 * @ts_ns:     host order. CLOCK_MONOTONIC (coarse, jiffy resolution) at the hook; the agent
 *             converts it to wall-clock time.
 * @cgroup_id: host order. cgroup v2 id of the calling task.
 * @pid:       host order. Thread-group id of the calling task.
 * @uid, @gid: host order. Of the calling task, in the initial user namespace.
 * @netns:     host order. Inode number of the network namespace of the socket (TCP, and UDP on
 *             AF_INET6); for AF_INET UDP, of the calling task, see docs/coverage.md.
 * @addr:      network order. The address the hook judged; IPv4 as v4-mapped ::ffff:a.b.c.d.
 * @addr2:     network order. With BG_VERDICT_CONFINE, the address the bind was rewritten to;
 *             for BG_EVENT_ACCEPT, the peer's address. Zero otherwise.
 * @port:      host order.
 * @rule_id:   host order. As in struct bg_rule; 0 for the unlisted default.
 * @type:      BG_EVENT_*.
 *             For BG_EVENT_ACCEPT the hook runs in softirq context, so the task fields are
 *             the listener's owner's (BG_EV_F_OWNER), or zero with BG_EV_F_NO_TASK for a
 *             listener whose owner was never recorded (it listened before the agent).
 * @family:    BG_AF_INET or BG_AF_INET6: the socket's family.
 * @proto:     BG_PROTO_*.
 * @verdict:   BG_VERDICT_*, after mode.
 * @action:    BG_ACTION_* of the rule.
 * @expose:    BG_EXPOSE_* of the rule.
 * @mode:      BG_MODE_* in force.
 * @hook:      BG_HOOK_*.
 * @class:     BG_CLASS_* of @addr.
 * @flags:     BG_EV_F_*.
 * @gen:       host order. struct bg_rule.gen of the rule applied.
 * @port2:     host order. For BG_EVENT_ACCEPT, the peer's port.
 * @scope:     host order. The policy scope whose rules judged it (1-based), 0 for the host's.
 * @suppressed: host order. Events of the same source (uid in a cgroup) left unwritten by the
 *             flood control since its previous written event ("N more like this").
 * @comm:      NUL-terminated task comm; arbitrary bytes, never trusted by the encoder.
 */
struct bg_event {
	__u64 seq;
	__u64 ts_ns;
	__u64 cgroup_id;
	__u32 pid;
	__u32 uid;
	__u32 gid;
	__u32 netns;
	__u8 addr[16];
	__u8 addr2[16];
	__u16 port;
	__u16 rule_id;
	__u8 type;
	__u8 family;
	__u8 proto;
	__u8 verdict;
	__u8 action;
	__u8 expose;
	__u8 mode;
	__u8 hook;
	__u8 class;
	__u8 flags;
	__u16 gen;
	__u16 port2;
	__u16 scope;
	__u32 suppressed;
	char comm[BG_COMM_LEN];
};
_Static_assert(sizeof(struct bg_event) == 112, "struct bg_event is ABI");

/*
 * struct bg_sock_rec - one existing socket, written by iter/tcp and iter/udp with
 * bpf_seq_write() and read by the agent from the iterator fd. Listeners (TCP LISTEN) and bound
 * UDP sockets only.
 *
 * @cookie:    host order. Socket cookie, or 0 for a socket the kernel never gave one.
 * @cgroup_id: host order. cgroup v2 id of the socket (where it was created).
 * @ino:       host order. Inode number of the socket's file (socket:[ino] in /proc/PID/fd), 0
 *             for a socket with no file.
 * @netns:     host order. Inode number of the socket's network namespace.
 * @uid:       host order. Owner uid of the socket.
 * @addr:      network order, IPv4 as v4-mapped. Bound address.
 * @peer:      network order. Connected peer (UDP), else zero.
 * @port, @peer_port: host order.
 * @rule_id, @gen: as in struct bg_rule, of the rule that judged the socket.
 * @family:    BG_AF_INET or BG_AF_INET6. @proto: BG_PROTO_*. @state: the kernel's sk_state.
 * @verdict:   BG_VERDICT_* of bg_decide() on (@addr, @port); @action, @expose, @mode: the rule's.
 * @class:     BG_CLASS_* of @addr.
 * @in_scope:  1 if the socket's cgroup is the scope cgroup or below it.
 * @closed:    1 if the iterator closed it (close-existing).
 * @scope:     host order. The policy scope whose rules judged it, 0 for the host's.
 */
struct bg_sock_rec {
	__u64 cookie;
	__u64 cgroup_id;
	__u64 ino;
	__u32 netns;
	__u32 uid;
	__u8 addr[16];
	__u8 peer[16];
	__u16 port;
	__u16 peer_port;
	__u16 rule_id;
	__u16 gen;
	__u8 family;
	__u8 proto;
	__u8 state;
	__u8 verdict;
	__u8 action;
	__u8 expose;
	__u8 mode;
	__u8 class;
	__u8 in_scope;
	__u8 closed;
	__u16 scope;
	__u8 pad[4];
};
_Static_assert(sizeof(struct bg_sock_rec) == 88, "struct bg_sock_rec is ABI");

/*
 * struct bg_ns_rec - one network namespace that a process holds a socket in or an nsfs file of,
 * written by iter/task_file (one per netns and pass). All host order.
 *
 * @netns: inode number of the network namespace.
 * @tgid:  a process that holds it; @fd: the descriptor it holds it by.
 * @kind:  BG_NSREC_SOCKET (an inet socket in that netns) or BG_NSREC_NSFS (the netns itself).
 */
#define BG_NSREC_SOCKET 1
#define BG_NSREC_NSFS 2

struct bg_ns_rec {
	__u32 netns;
	__u32 tgid;
	__u32 fd;
	__u32 kind;
};
_Static_assert(sizeof(struct bg_ns_rec) == 16, "struct bg_ns_rec is ABI");

/* Per-CPU counters in BG_MAP_STATS (a PERCPU_ARRAY of __u64, host order). */
#define BG_STAT_DROPPED 0 /* events lost because the ring buffer was full */
#define BG_STAT_EVENTS 1 /* events submitted */
#define BG_STAT_DENIED 2 /* binds denied */
#define BG_STAT_CONFINED 3 /* binds rewritten to loopback */
#define BG_STAT_NO_POLICY 4 /* binds seen while no policy was installed (allowed) */
#define BG_STAT_SUPPRESSED 5 /* events left unwritten by the per-source flood control */
#define BG_NR_STATS 6

/* Map names: the kernel keeps 15 characters. */
#define BG_MAP_POLICY "bg_policy"
#define BG_MAP_CIDRS "bg_cidrs"
#define BG_MAP_EVENTS "bg_events"
#define BG_MAP_STATS "bg_stats"

/*
 * Pinned enforcement (bindguard run --pin): the links and maps of one enforced cgroup live in
 * BG_PIN_ROOT/cg<cgroup id>/, one file per object, so the kernel goes on enforcing after the
 * agent exits and the next agent adopts them. The directory also holds two maps the agent makes:
 * BG_PIN_META (one struct bg_pin_meta) and BG_PIN_POLSRC (the policy texts). A pinned state
 * whose meta.abi is not BG_ABI_VERSION is refused, never read.
 */
#define BG_PIN_ROOT "/sys/fs/bpf/bindguard"
#define BG_PIN_META "meta"
#define BG_PIN_POLSRC "polsrc"

#define BG_PIN_PATH_LEN 256
#define BG_POLSRC_CHUNK 4096

/*
 * struct bg_pin_meta - the only entry of the BG_PIN_META array map. All host order.
 *
 * @abi:          BG_ABI_VERSION of the agent that made the pins.
 * @agent_pid:    pid of the agent holding the pins now, 0 when none does.
 * @agent_start:  that agent's start time (field 22 of /proc/PID/stat), so a recycled pid is
 *                not mistaken for it.
 * @cgroup_id:    the cgroup the links are attached to.
 * @next_set_id:  the first CIDR set id the next policy may use (set ids never repeat).
 * @gen:          generation of the installed policy; @prev_gen of the one before it.
 * @src_len:      length of the policy text of @gen in BG_PIN_POLSRC; @prev_src_len of @prev_gen.
 * @dropped_seen: the kernel's drop counter as the last agent reported it, so the next one says
 *                exactly how many were dropped while no agent ran; @suppressed_seen likewise
 *                for the flood control's counter.
 * @cgroup:       NUL-terminated path of the cgroup, for status and unload.
 * @source:       NUL-terminated name of the installed policy (a path or "<builtin:...>").
 */
struct bg_pin_meta {
	__u32 abi;
	__u32 agent_pid;
	__u64 agent_start;
	__u64 cgroup_id;
	__u32 next_set_id;
	__u16 gen;
	__u16 prev_gen;
	__u32 src_len;
	__u32 prev_src_len;
	__u64 dropped_seen;
	__u64 suppressed_seen;
	char cgroup[BG_PIN_PATH_LEN];
	char source[BG_PIN_PATH_LEN];
};
_Static_assert(sizeof(struct bg_pin_meta) == 568, "struct bg_pin_meta is ABI");

/* Key of BG_PIN_POLSRC (a hash of BG_POLSRC_CHUNK-byte chunks): policy generation, chunk index. */
struct bg_polsrc_key {
	__u32 gen;
	__u32 chunk;
};
_Static_assert(sizeof(struct bg_polsrc_key) == 8, "struct bg_polsrc_key is ABI");

#define BG_CIDR_MAX_ENTRIES 65536
#define BG_RINGBUF_BYTES (1u << 22) /* 4 MiB: ~37k events */

#endif /* BINDGUARD_H */
