/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * metrics.h - `run --metrics ADDR:PORT`: Prometheus /metrics and /healthz, served by
 * libmicrohttpd from the agent's own event loop.
 *
 * No thread: the daemon runs in MHD's external epoll mode. Its epoll fd (bg_metrics_fd()) sits in
 * the agent's epoll set and bg_metrics_run() answers what is pending, so every request is
 * answered on the agent's one thread, between two batches of events, from the agent's state as
 * it is then. The list of metrics and their meaning is docs/metrics.md.
 */
#ifndef BG_METRICS_H
#define BG_METRICS_H

#include <stddef.h>
#include <sys/socket.h>

#include "event_fmt.h"

struct bg_agent;
struct bg_metrics;

/*
 * Parse "[ADDR:]PORT": PORT alone is 127.0.0.1:PORT (loopback unless told otherwise); ADDR is a
 * dotted IPv4 address, "localhost", or an IPv6 address in brackets ("[::1]:9464"). Port 0 takes
 * a free port (the ready record says which). Returns 0 or -EINVAL; *ss and *len are set only on
 * success.
 */
int bg_metrics_parse_addr(const char *spec, struct sockaddr_storage *ss, socklen_t *len);

/*
 * Bind and listen on spec and set up the server for agent a; nothing is served until the event
 * loop runs bg_metrics_run(). Returns 0 or -errno with a one-line reason in why.
 */
int bg_metrics_new(struct bg_agent *a, const char *spec, struct bg_metrics **out, char *why,
		   size_t len);
void bg_metrics_free(struct bg_metrics *m); /* accepts NULL */

/* The address served, with the port the kernel chose ("127.0.0.1:9464", "[::1]:9464"). */
const char *bg_metrics_addr(const struct bg_metrics *m);

/* The fd to watch for input (EPOLLIN) in the agent's epoll set. */
int bg_metrics_fd(const struct bg_metrics *m);

/* Answer what is pending; also call it on every tick, for connection timeouts and deadlines. */
void bg_metrics_run(struct bg_metrics *m);

/* Count an event record the agent wrote, by event, verdict and rule. m may be NULL. */
void bg_metrics_count_event(struct bg_metrics *m, const struct bg_record *r);

/*
 * The agent is stopping (why: the failure, or NULL for a clean stop): /healthz answers 503 with
 * the reason from now on, and the requests already queued are answered before the caller goes
 * on (until 20 ms pass without one; at most 12 such waits), so a probe in flight learns why
 * rather than meeting a reset. Then the server stops listening: a later connection is refused,
 * not queued until the exit.
 */
void bg_metrics_stopping(struct bg_metrics *m, const char *why);

#endif /* BG_METRICS_H */
