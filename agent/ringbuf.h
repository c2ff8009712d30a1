/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * ringbuf.h - a BPF ring buffer consumer whose read position moves only when the caller says
 * the records are safe (written by the sinks), so a killed agent loses nothing it had read.
 */
#ifndef BG_RINGBUF_H
#define BG_RINGBUF_H

#include <stddef.h>

struct bg_ring;

/* Called per record; return 0 to go on, < 0 to stop the batch. */
typedef int (*bg_ring_fn)(void *ctx, const void *data, size_t size);

/* Map the ring buffer of map_fd (not taken over: the caller keeps it open). NULL and *err. */
struct bg_ring *bg_ring_new(int map_fd, bg_ring_fn fn, void *ctx, int *err);

/* Hand up to max ready records to fn. Returns how many, or fn's error. Commits nothing. */
int bg_ring_consume(struct bg_ring *r, int max);

/* Give every record handed to fn so far back to the producers. */
void bg_ring_commit(struct bg_ring *r);

/* 1 if records wait beyond what was handed out. */
int bg_ring_pending(const struct bg_ring *r);

/* The map's fd: readable (epoll) when the kernel woke the reader. */
int bg_ring_fd(const struct bg_ring *r);

void bg_ring_free(struct bg_ring *r);

#endif /* BG_RINGBUF_H */
