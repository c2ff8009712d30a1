/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * sockets.h - the sockets that exist right now: every TCP listener and bound UDP socket in every
 * network namespace of the host, judged by the installed policy (in the iterator, with the
 * shared decision code), and attributed to the processes that hold them.
 */
#ifndef BG_SOCKETS_H
#define BG_SOCKETS_H

#include <stddef.h>

#include "bindguard.h"
#include "loader.h"

struct bg_sock_info {
	struct bg_sock_rec rec;
	int pid; /* lowest pid holding the socket, 0 if none was found */
	int n_owners; /* processes holding it */
	__u32 gid; /* of pid (its real gid), 0 if unknown */
	char comm[BG_COMM_LEN]; /* of pid, NUL-terminated */
	char cgroup[256]; /* cgroup v2 path of pid ("/system.slice/..."), "" if unknown */
};

/* One network namespace the walk met. */
struct bg_netns_info {
	__u32 ino; /* inode number, as bg_sock_rec.netns */
	__u16 eph_lo, eph_hi; /* its net.ipv4.ip_local_port_range; 0, 0 if unread */
	char name[256]; /* its name under /run/netns (ip netns), "" if it has none */
};

struct bg_sock_list {
	struct bg_sock_info *v;
	size_t n;
	size_t cap;
	size_t n_netns; /* network namespaces walked */
	struct bg_netns_info *ns; /* every netns walked or named, n_ns of them */
	size_t n_ns, cap_ns;
};

/*
 * Walk every network namespace of the host, each once: those of /proc/PID/ns/net and those
 * bind-mounted under /run/netns. Appends one entry per listener or bound UDP socket, and one
 * bg_netns_info per namespace (its name, when /run/netns has one for it). With do_close
 * (bg_loader_have_close()), in-scope sockets that the policy denies are closed on the way.
 * Returns 0 or -errno; the calling thread is back in its own netns on every path.
 */
int bg_sockets_collect(struct bg_loader *l, int do_close, struct bg_sock_list *out);

/* Fill pid/comm/cgroup from /proc/PID/fd. Best effort: processes come and go. */
int bg_sockets_attribute(struct bg_sock_list *list);

/*
 * The same for only the sockets for which want(si, ctx) is true (all with want NULL). /proc is
 * not walked at all when none is wanted. 0 or -errno.
 */
int bg_sockets_attribute_if(struct bg_sock_list *list,
			    int (*want)(const struct bg_sock_info *si, void *ctx), void *ctx);

/* Build the "existing" event for one socket (the task fields describe its owner). */
void bg_sockets_to_event(const struct bg_sock_info *si, struct bg_event *ev);

/*
 * The ephemeral port range (net.ipv4.ip_local_port_range) of the calling thread's network
 * namespace. 0, or -errno with lo and hi untouched.
 */
int bg_netns_port_range(__u16 *lo, __u16 *hi);

/* What the walk learned about the network namespace of inode netns, or NULL. */
const struct bg_netns_info *bg_sock_list_netns(const struct bg_sock_list *list, __u32 netns);

void bg_sock_list_release(struct bg_sock_list *list);

#endif /* BG_SOCKETS_H */
