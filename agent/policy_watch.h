/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * policy_watch.h - notice that the --policy file changed, and reload it as SIGHUP would.
 *
 * A Kubernetes ConfigMap mounted as a volume is updated by the kubelet with an atomic swap: the
 * new files go into a fresh "..<timestamp>" directory, then the "..data" symlink is renamed over
 * to point at it; the file itself ("policy.yaml -> ..data/policy.yaml") never changes. An editor
 * on a host writes a temporary file and renames it over the policy, or truncates and rewrites
 * it. inotify on the file's directory sees all three (IN_MOVED_TO of "..data" or of the name,
 * IN_CLOSE_WRITE of the name). A burst of events is settled for BG_PWATCH_SETTLE_MS, then the
 * file is read: only a text different from the last one tried is reloaded, so a touch or a
 * bad file written once does not reload again and again.
 */
#ifndef BG_POLICY_WATCH_H
#define BG_POLICY_WATCH_H

#include <stddef.h>

#define BG_PWATCH_SETTLE_MS 200

struct bg_pwatch;

/*
 * Watch the directory of path for changes to path (or to a ConfigMap's "..data"). text is the
 * policy in force (the comparison's start). Returns NULL with errno set.
 */
struct bg_pwatch *bg_pwatch_new(const char *path, const char *text, size_t len);
void bg_pwatch_free(struct bg_pwatch *w);

/* The inotify fd, for the agent's epoll set. */
int bg_pwatch_fd(const struct bg_pwatch *w);

/* Read the events; returns 1 if one concerns the policy (the settling starts), else 0. */
int bg_pwatch_read(struct bg_pwatch *w, long long now_ms);

/*
 * Is a reload due at now_ms (the events settled and the file's text differs from the last one
 * tried)? Each changed text is due once.
 */
int bg_pwatch_due(struct bg_pwatch *w, long long now_ms);

/* The text now in force (after any reload, SIGHUP's too): it is not due again. */
void bg_pwatch_set(struct bg_pwatch *w, const char *text, size_t len);

#endif /* BG_POLICY_WATCH_H */
