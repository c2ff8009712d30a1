// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * ringbuf.c - a BPF ring buffer consumer that gives records up only once they are written.
 *
 * Written by hand rather than with libbpf's ring_buffer__consume(): that one advances the
 * consumer position after every record, before the agent has written it anywhere. The agent
 * writes in batches (a write(2) per record would cost more than the bind), so a batch read but
 * not yet written died with a killed agent, and with pinned enforcement the next agent could not
 * deliver it either: events lost and not counted. Here the position moves only in
 * bg_ring_commit(), which the agent calls after its sinks have written the batch. A crash
 * between the write and the commit makes the next agent write those records again, with the
 * same seq: a duplicate a reader can recognise, never a loss.
 *
 * The layout is the kernel's (kernel/bpf/ringbuf.c): a consumer page (read-write), a producer
 * page and the data area mapped twice in a row (read-only), so a record that wraps reads as one
 * piece. Each record has an 8-byte header: its length with a busy and a discard bit.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "ringbuf.h"

struct bg_ring {
	int map_fd;
	unsigned long *consumer_pos; /* the consumer page */
	const unsigned long *producer_pos; /* the producer page */
	const unsigned char *data; /* mapped twice: 2 * size */
	size_t size; /* data area, a power of two */
	size_t page;
	unsigned long pos; /* read so far, not yet committed */
	bg_ring_fn fn;
	void *ctx;
};

#define HDR_SZ 8 /* BPF_RINGBUF_HDR_SZ */
#define BUSY_BIT (1u << 31)
#define DISCARD_BIT (1u << 30)

struct bg_ring *bg_ring_new(int map_fd, bg_ring_fn fn, void *ctx, int *err)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	struct bg_ring *r;
	void *p;

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(map_fd, &info, &len) < 0) {
		*err = -errno;
		return NULL;
	}
	if (info.type != BPF_MAP_TYPE_RINGBUF || !info.max_entries ||
	    (info.max_entries & (info.max_entries - 1))) {
		*err = -EINVAL;
		return NULL;
	}
	r = calloc(1, sizeof(*r));
	if (!r) {
		*err = -ENOMEM;
		return NULL;
	}
	r->map_fd = map_fd;
	r->fn = fn;
	r->ctx = ctx;
	r->size = info.max_entries;
	r->page = (size_t)sysconf(_SC_PAGESIZE);
	p = mmap(NULL, r->page, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
	if (p == MAP_FAILED)
		goto out_errno;
	r->consumer_pos = p;
	p = mmap(NULL, r->page + 2 * r->size, PROT_READ, MAP_SHARED, map_fd, r->page);
	if (p == MAP_FAILED)
		goto out_errno;
	r->producer_pos = p;
	r->data = (const unsigned char *)p + r->page;
	/* A pinned ring taken over: carry on from where the last agent committed. */
	r->pos = __atomic_load_n(r->consumer_pos, __ATOMIC_ACQUIRE);
	return r;
out_errno:
	*err = -errno;
	bg_ring_free(r);
	return NULL;
}

int bg_ring_consume(struct bg_ring *r, int max)
{
	unsigned long prod;
	int n = 0, ret;
	__u32 len;

	prod = __atomic_load_n(r->producer_pos, __ATOMIC_ACQUIRE);
	while (r->pos < prod && n < max) {
		const unsigned char *hdr = r->data + (r->pos & (r->size - 1));

		len = __atomic_load_n((const __u32 *)hdr, __ATOMIC_ACQUIRE);
		if (len & BUSY_BIT)
			break; /* still being written by its producer */
		if (!(len & DISCARD_BIT)) {
			ret = r->fn(r->ctx, hdr + HDR_SZ, len & ~(BUSY_BIT | DISCARD_BIT));
			n++;
			if (ret < 0) {
				r->pos += ((len & ~(BUSY_BIT | DISCARD_BIT)) + HDR_SZ + 7) & ~7UL;
				return ret;
			}
		}
		r->pos += ((len & ~(BUSY_BIT | DISCARD_BIT)) + HDR_SZ + 7) & ~7UL;
	}
	return n;
}

void bg_ring_commit(struct bg_ring *r)
{
	__atomic_store_n(r->consumer_pos, r->pos, __ATOMIC_RELEASE);
}

int bg_ring_pending(const struct bg_ring *r)
{
	return r->pos < __atomic_load_n(r->producer_pos, __ATOMIC_ACQUIRE);
}

int bg_ring_fd(const struct bg_ring *r)
{
	return r->map_fd;
}

void bg_ring_free(struct bg_ring *r)
{
	if (!r)
		return;
	if (r->consumer_pos)
		munmap(r->consumer_pos, r->page);
	if (r->producer_pos)
		munmap((void *)r->producer_pos, r->page + 2 * r->size);
	free(r);
}
