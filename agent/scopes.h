/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * scopes.h - which cgroups each scope of the policy takes, kept current as cgroups come and go.
 *
 * The kernel finds a socket's scope by cgroup id, walking up its ancestors (bindguard.bpf.c);
 * this module tells it which ids those are. At start it walks the cgroup tree below the
 * enforced cgroup; then inotify reports every cgroup made or removed below it. A container's
 * cgroup is classified when it appears: containerd and CRI-O write the container's config.json
 * (with the pod's namespace and name) before they create its cgroup, so the classification is
 * in the kernel before the container's first process runs, in practice. A cgroup whose runtime
 * state is not readable yet is retried each second for a while; until it is classified, the
 * host rules judge it (docs/kubernetes.md, "Scopes").
 */
#ifndef BG_SCOPES_H
#define BG_SCOPES_H

#include <stddef.h>

#include "loader.h"
#include "policy.h"

struct bg_scopes;
struct bg_whois;

/*
 * mount: the cgroup v2 mount; root: the enforced cgroup (its full path, or relative to the
 * mount); whois: where pod names come from (may be NULL). NULL if inotify cannot be had.
 */
struct bg_scopes *bg_scopes_new(const char *mount, const char *root, struct bg_whois *whois);
void bg_scopes_free(struct bg_scopes *s);

/*
 * Classify every cgroup below the enforced one for policy p: *out (malloc'ed, n entries) gets
 * those a scope takes, for bg_loader_install_policy(). The first call walks the tree and starts
 * watching it; later calls (a reload) reuse what is known. A policy without scopes gives none
 * and watches nothing. Returns 0 or -errno.
 */
int bg_scopes_classify(struct bg_scopes *s, const struct bg_policy *p, struct bg_scope_entry **out,
		       size_t *n);

/* The inotify fd (made with s, fixed for its life), for the agent's epoll set. */
int bg_scopes_fd(const struct bg_scopes *s);

/*
 * Read what inotify reported: classify new cgroups for p and tell the loader. Also retries the
 * cgroups whose runtime state was missing (call it each second too, with fd readable or not).
 * Returns how many cgroups joined a scope, or -errno.
 */
int bg_scopes_update(struct bg_scopes *s, const struct bg_policy *p, struct bg_loader *l);

/* The scope of the cgroup at path (relative to the mount), as classified; 0 if none. */
__u32 bg_scopes_of(const struct bg_scopes *s, const char *path);

#endif /* BG_SCOPES_H */
