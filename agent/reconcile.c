// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * reconcile.c - the sockets that already exist when the agent starts (and a denied listener that
 * listens again): judged in the kernel by the same decision code as the hooks, reported as
 * "existing" events, closed with --close-existing.
 */
#include <errno.h>
#include <stdlib.h>
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

static int reported_cb(const struct bg_sock_info *si, void *only_closed)
{
	return reported(si, *(const int *)only_closed);
}

/* Mark the held listen event for the same socket (netns, family, address, port) closed. */
static int held_match(struct bg_agent *a, const struct bg_event *ev)
{
	size_t i;

	for (i = 0; i < a->n_held; i++) {
		struct bg_event *h = &a->held[i];

		if (!(h->flags & BG_EV_F_CLOSED) && h->netns == ev->netns &&
		    h->family == ev->family && h->port == ev->port &&
		    !memcmp(h->addr, ev->addr, sizeof(h->addr))) {
			h->flags |= BG_EV_F_CLOSED;
			h->verdict = BG_VERDICT_DENY;
			return 1;
		}
	}
	return 0;
}

int bg_reconcile(struct bg_agent *a, int do_close, int only_closed, size_t *n_netns)
{
	struct bg_sock_list list = { 0 };
	struct timespec mono;
	struct bg_event ev;
	int err, violations = 0, *emit = NULL;
	__u64 seq = 0;
	size_t i;

	err = bg_sockets_collect(a->loader, do_close, &list);
	if (err)
		goto out;
	/*
	 * Only what is reported is attributed to a process: walking /proc costs a readlink() per
	 * descriptor on the host, and the compliant sockets are never shown.
	 */
	bg_sockets_attribute_if(&list, reported_cb, &only_closed);
	clock_gettime(CLOCK_MONOTONIC_COARSE, &mono);
	emit = calloc(list.n ? list.n : 1, sizeof(*emit));
	if (!emit) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < list.n; i++) {
		const struct bg_sock_info *si = &list.v[i];

		if (!reported(si, only_closed))
			continue;
		bg_sockets_to_event(si, &ev);
		/*
		 * A re-listen closed now: its held listen event becomes the deny, and no second
		 * event is made for it (nor a sequence number taken).
		 */
		if (si->rec.closed && held_match(a, &ev)) {
			a->closed++;
			continue;
		}
		emit[i] = 1;
		violations++;
	}
	/* The events the agent makes share the kernel's sequence numbers. */
	if (violations) {
		err = bg_loader_take_seq(a->loader, violations, &seq);
		if (err)
			goto out;
	}
	for (i = 0; i < list.n; i++) {
		const struct bg_sock_info *si = &list.v[i];

		if (!emit[i])
			continue;
		bg_sockets_to_event(si, &ev);
		ev.seq = seq++;
		ev.ts_ns = (__u64)mono.tv_sec * 1000000000ULL + mono.tv_nsec;
		/* "deny" only for what was closed: left in place, a violation is an alert. */
		if (ev.verdict == BG_VERDICT_DENY && !si->rec.closed)
			ev.verdict = BG_VERDICT_ALERT;
		bg_agent_event(a, &ev);
		a->existing++;
		a->closed += si->rec.closed;
	}
	if (n_netns)
		*n_netns = list.n_netns;
	err = violations;
	bg_agent_flush(a);
out:
	free(emit);
	bg_sock_list_release(&list);
	return err;
}
