// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * reconcile.c - the sockets that already exist when the agent starts (and a denied listener that
 * listens again): judged in the kernel by the same decision code as the hooks, reported as
 * "existing" events, closed with --close-existing.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "agent.h"
#include "loader.h"
#include "sockets.h"

/* Does reconcile report this socket? A violation in scope (only one closed now, if asked). */
static int reported(const struct bg_sock_info *si, int only_closed)
{
	if (!si->rec.in_scope || si->rec.verdict == BG_VERDICT_ALLOW)
		return 0;
	return !only_closed || si->rec.closed;
}

int bg_reconcile(struct bg_agent *a, int do_close, int only_closed, size_t *n_netns)
{
	struct bg_sock_list list = { 0 };
	struct timespec mono;
	struct bg_event ev;
	int err, violations = 0;
	__u64 seq = 0;
	size_t i;

	err = bg_sockets_collect(a->loader, do_close, &list);
	if (err)
		goto out;
	bg_sockets_attribute(&list);
	clock_gettime(CLOCK_MONOTONIC_COARSE, &mono);
	for (i = 0; i < list.n; i++)
		violations += reported(&list.v[i], only_closed);
	/* The events the agent makes share the kernel's sequence numbers. */
	if (violations) {
		err = bg_loader_take_seq(a->loader, violations, &seq);
		if (err)
			goto out;
	}
	for (i = 0; i < list.n; i++) {
		const struct bg_sock_info *si = &list.v[i];

		if (!reported(si, only_closed))
			continue;
		bg_sockets_to_event(si, &ev);
		ev.seq = seq++;
		ev.ts_ns = (__u64)mono.tv_sec * 1000000000ULL + mono.tv_nsec;
		bg_agent_event(a, &ev);
		a->existing++;
		a->closed += si->rec.closed;
	}
	if (n_netns)
		*n_netns = list.n_netns;
	err = violations;
	bg_agent_flush(a);
out:
	bg_sock_list_release(&list);
	return err;
}
