/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * loader.h - the BPF side's lifecycle: open -> configure -> load -> install policy -> attach ->
 * read events -> detach. The only file that knows about the skeleton.
 *
 * Reloading is bg_loader_install_policy() called again on a live loader: it builds a complete
 * new rule table and swaps it in with one map update. Pinning (so enforcement outlives the
 * agent) is meant to be one more option here and a pin step after attach; it is not built yet.
 */
#ifndef BG_LOADER_H
#define BG_LOADER_H

#include <linux/types.h>

#include "bindguard.h"
#include "policy.h"

struct bg_loader;

struct bg_features;

struct bg_loader_opts {
	const char *cgroup_path; /* cgroup v2 directory to attach to */
	const struct bg_features *features; /* NULL: probe the kernel (bg_features_probe()) */
	int pin; /* pinned enforcement: take over this cgroup's pins, or make them */
	__u32 src_rate, src_burst; /* events a second and at once per source; 0: no limit */
	__u32 ringbuf_bytes; /* 0: BG_RINGBUF_BYTES */
};

/* Called once per ring-buffer record; return 0 to go on, < 0 to stop consuming. */
typedef int (*bg_event_fn)(void *ctx, const struct bg_event *ev);

/*
 * Open, configure for this kernel and load the BPF object. Returns 0 and *out, or -errno with a
 * one-line reason already stored in the loader-independent bg_loader_strerror() text (a kernel
 * that lacks a required feature gives -EOPNOTSUPP and names it). Nothing is attached yet.
 */
int bg_loader_new(const struct bg_loader_opts *opts, struct bg_loader **out);

/* A cgroup a policy scope takes (scopes.c classifies them). */
struct bg_scope_entry {
	__u64 cgroup_id;
	__u32 scope; /* 1-based, in the policy's scope order */
	__u32 level; /* the cgroup's depth below the cgroup v2 root */
};

/*
 * Install (or replace) the compiled policy atomically, with the cgroups its scopes take.
 * Returns 0 or -errno.
 */
int bg_loader_install_policy(struct bg_loader *l, struct bg_compiled *c,
			     const struct bg_scope_entry *cg, size_t n_cg);

/* A cgroup found later joins (or leaves) a scope of the policy in force. 0 or -errno. */
int bg_loader_scope_set(struct bg_loader *l, __u64 cgroup_id, __u32 scope, __u32 level);
int bg_loader_scope_del(struct bg_loader *l, __u64 cgroup_id);

/* The next CIDR set id a compilation for this loader must start at. */
__u32 bg_loader_next_set_id(const struct bg_loader *l);

/*
 * Refuse to double up: -EEXIST if a bindguard program is already attached to the cgroup
 * (another agent); -errno if the cgroup cannot be queried.
 */
int bg_loader_check_conflict(struct bg_loader *l, __u32 *other_prog_id);

/* Attach all hooks to the cgroup as multi-attach links. On failure nothing stays attached. */
int bg_loader_attach(struct bg_loader *l);

/*
 * Set the event callback; wait up to timeout_ms for events and consume what is queued, for at
 * most BG_POLL_BUDGET_MS (a flood can refill the ring as fast as it is read).
 */
#define BG_POLL_BUDGET_MS 100
int bg_loader_set_handler(struct bg_loader *l, bg_event_fn fn, void *ctx);
int bg_loader_poll(struct bg_loader *l, int timeout_ms);
/*
 * For an event loop: an fd that is readable when the kernel woke the reader; hand up to max
 * queued records to the handler (bg_loader_consume(), returns how many); and give them back to
 * the kernel once they are written (bg_loader_commit()). Until the commit, a killed agent's
 * successor gets them again (pinned enforcement), so nothing read is lost.
 */
int bg_loader_ring_fd(struct bg_loader *l);
int bg_loader_consume(struct bg_loader *l, int max);
void bg_loader_commit(struct bg_loader *l);

/* 1 while every attached link is still attached, 0 once one was detached (BPF_LINK_DETACH). */
int bg_loader_links_alive(struct bg_loader *l);

/* 1 while the attached cgroup directory still exists, 0 once it was removed. */
int bg_loader_cgroup_alive(struct bg_loader *l);

/* Sum of the per-CPU counters (BG_STAT_*). */
int bg_loader_stats(struct bg_loader *l, __u64 out[BG_NR_STATS]);

/* Human-readable reason for the last failure of a bg_loader_* call (static storage). */
const char *bg_loader_strerror(void);

/*
 * Take n consecutive event sequence numbers from the counter the programs use (for events the
 * agent makes itself). Returns 0 and the first in *first, or -errno.
 */
int bg_loader_take_seq(struct bg_loader *l, __u64 n, __u64 *first);

/* What the kernel offers, as probed for this loader; it decided what was loaded. */
const struct bg_features *bg_loader_features(const struct bg_loader *l);

/* 1 if the socket iterators (reconcile, status, learn) are loaded on this kernel. */
int bg_loader_have_iter(const struct bg_loader *l);

/* 1 if the closing iterators (bpf_sock_destroy, --close-existing) are loaded. */
int bg_loader_have_close(const struct bg_loader *l);

/*
 * Open a socket iterator (BG_PROTO_TCP: listeners, BG_PROTO_UDP: bound sockets) over the network
 * namespace of the calling thread. With close, in-scope sockets the policy denies are closed as
 * they are walked (bg_loader_have_close()). Returns an fd that yields struct bg_sock_rec records
 * on read(), or -errno.
 */
int bg_loader_iter_open(struct bg_loader *l, int proto, int close);

/*
 * Open the file iterator: it yields one struct bg_ns_rec per network namespace that some process
 * holds an inet socket in or an nsfs file of, with a (tgid, fd) that reaches it. fd or -errno.
 */
int bg_loader_files_open(struct bg_loader *l);

struct bg_pin_meta;

/*
 * With --pin: 1 if this loader took over a pinned state (its meta, as found, in *m), else 0
 * (m gets the fresh meta). bg_loader_pinned_text() reads the policy text of generation gen.
 */
int bg_loader_adopted(const struct bg_loader *l, struct bg_pin_meta *m);
int bg_loader_pinned_text(struct bg_loader *l, __u16 gen, size_t len, char **out);

/* With --pin: keep the installed policy's text and generation with the pins. 0 or -errno. */
int bg_loader_pin_policy(struct bg_loader *l, __u16 gen, const char *source, const char *text,
			 size_t len);

/* With --pin: the counters as reported, so the next agent reports only what is new. */
void bg_loader_pin_note_dropped(struct bg_loader *l, __u64 dropped, __u64 suppressed);

/* With --pin: remove the pins (a start that failed before the state was ever used). */
void bg_loader_unpin_all(struct bg_loader *l);

/*
 * Free the loader. Without --pin every hook is detached. With --pin the pins stay and go on
 * enforcing the last policy; the meta record says no agent holds them. Accepts NULL.
 */
void bg_loader_free(struct bg_loader *l);

#endif /* BG_LOADER_H */
