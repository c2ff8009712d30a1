// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sink.c - the accounting every sink shares, and the stdout and file sinks.
 *
 * The file sink writes with write(2), not stdio: stdio hides which lines a failed fflush() lost,
 * and an unchecked fflush() once lost events and the stopping line silently. Lines are queued
 * and written in batches (every poll tick); a batch that fails is lost whole and counted, and a
 * partly written batch is cut back so no half line stays in a regular file.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sink.h"

/* More than this queued (the destination blocks): new records are lost rather than queued. */
#define BG_SINK_QUEUE_MAX (8u << 20)

static long long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void bg_sink_lost(struct bg_sink *s, unsigned long long n, int err)
{
	long long now = mono_ms();

	s->lost += n;
	s->lost_unreported += n;
	s->failures++;
	s->failing = 1;
	s->last_err = err;
	/* At most one line a second: a full disk must not also flood stderr. */
	if (now - s->warned_ms >= 1000 || !s->warned_ms) {
		s->warned_ms = now;
		bg_warn("cannot write to %s: %s; %llu records lost so far (enforcement goes on)\n",
			s->name, strerror(err), s->lost);
	}
}

void bg_sink_wrote(struct bg_sink *s, unsigned long long n)
{
	unsigned long long reported = s->lost_unreported;
	struct timespec wall;
	struct bg_record r;

	s->written += n;
	if (!s->failing || s->recovering)
		return;
	s->failing = 0;
	bg_info("%s works again; %llu records were lost while it failed\n", s->name, reported);
	clock_gettime(CLOCK_REALTIME, &wall);
	if (bg_record_agent(&r, "sink-recovered", &wall, 4) != 0)
		return; /* nothing said: the count stays for the next record that can say it */
	bg_record_str(&r, "sink", s->name);
	bg_record_uint(&r, "lost", reported);
	bg_record_uint(&r, "lost_total", s->lost);
	bg_record_str(&r, "error", strerror(s->last_err));
	s->recovering = 1;
	s->ops->emit(s, &r);
	if (s->ops->flush)
		s->ops->flush(s);
	s->recovering = 0;
	/*
	 * The record itself can be lost (a disk that filled again at once): then nobody was told,
	 * the count stays (it now includes that record too) and the next recovery reports it, so
	 * the "lost" of every sink-recovered record in the output always adds up to lost_total.
	 */
	if (!s->failing)
		s->lost_unreported -= reported;
}

void bg_sink_emit(struct bg_sink *s, const struct bg_record *r)
{
	if (s)
		s->ops->emit(s, r);
}

void bg_sink_flush(struct bg_sink *s)
{
	if (s && s->ops->flush)
		s->ops->flush(s);
}

int bg_sink_reopen(struct bg_sink *s)
{
	if (!s || !s->ops->reopen)
		return 0;
	return s->ops->reopen(s);
}

void bg_sink_free(struct bg_sink *s)
{
	if (!s)
		return;
	bg_sink_flush(s);
	s->ops->destroy(s);
}

/* --- stdout and files ------------------------------------------------------------------------ */

struct fd_sink {
	struct bg_sink base;
	int fd;
	int regular; /* a regular file: a partial write can be cut back */
	struct bg_strbuf queue;
	unsigned long long queued; /* records in queue */
	size_t *ends; /* where each queued record ends in queue (a text record may be two lines) */
	size_t cap_ends;
};

int bg_sink_open_file(const char *path, int flags, char *why, size_t len)
{
	char dirbuf[PATH_MAX];
	struct stat st, dst;
	int fd, err;

	fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, 0640);
	if (fd < 0) {
		err = -errno;
		if (err == -ELOOP)
			snprintf(why, len, "%s is a symbolic link: refused (give the real path)",
				 path);
		else
			snprintf(why, len, "cannot open %s: %s", path, strerror(-err));
		return err;
	}
	if (fstat(fd, &st) < 0) {
		err = -errno;
		snprintf(why, len, "cannot stat %s: %s", path, strerror(-err));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode)) {
		err = -EINVAL;
		snprintf(why, len, "%s is not a regular file, a FIFO or a character device", path);
		goto out_close;
	}
	/*
	 * A file someone else owns, in a directory others can write to (a sticky /tmp): someone
	 * planted it for the agent to append to. A file the agent's user owns there is fine.
	 */
	snprintf(dirbuf, sizeof(dirbuf), "%s", path);
	if (S_ISREG(st.st_mode) && st.st_uid != geteuid() && stat(dirname(dirbuf), &dst) == 0 &&
	    (dst.st_mode & (S_IWOTH | S_IWGRP)) && (dst.st_mode & S_IWOTH || dst.st_gid != 0)) {
		err = -EPERM;
		snprintf(why, len,
			 "%s is owned by uid %u in a directory others can write to: refused "
			 "(a file planted for the agent to write to?)",
			 path, (unsigned)st.st_uid);
		goto out_close;
	}
	/* Writes block as usual; O_NONBLOCK was only so that opening a FIFO cannot hang. */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		err = -errno;
		snprintf(why, len, "cannot set up %s: %s", path, strerror(-err));
		goto out_close;
	}
	return fd;
out_close:
	close(fd);
	return err;
}

static void fd_reset(struct fd_sink *s)
{
	bg_strbuf_reset(&s->queue);
	s->queued = 0;
}

static void fd_flush(struct bg_sink *base)
{
	struct fd_sink *s = (struct fd_sink *)base;
	unsigned long long kept = 0;
	struct stat st;
	off_t before = -1;
	size_t off = 0;
	ssize_t n;
	int err = 0;

	if (!s->queued)
		return;
	if (s->fd < 0) {
		err = EBADF;
		goto out_lost;
	}
	if (s->regular && fstat(s->fd, &st) == 0)
		before = st.st_size;
	while (off < s->queue.len) {
		n = write(s->fd, s->queue.buf + off, s->queue.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = errno;
			break;
		}
		off += (size_t)n;
	}
	if (!err) {
		unsigned long long q = s->queued;

		fd_reset(s);
		bg_sink_wrote(base, q);
		return;
	}
	/*
	 * Part of the batch went out (a disk filling up takes what fits): keep the records that
	 * are whole and cut the file back to the end of the last one, so no half record stays
	 * and only what did not fit is lost. Elsewhere (a pipe) nothing can be taken back.
	 */
	if (off) {
		while (kept < s->queued && s->ends[kept] <= off)
			kept++;
		if (before >= 0 &&
		    ftruncate(s->fd, before + (off_t)(kept ? s->ends[kept - 1] : 0)) < 0) {
			bg_dbg("cannot cut back a partial write to %s: %s\n", base->name,
			       strerror(errno));
		} else if (before < 0) {
			kept = 0; /* not a file: what went out is what the reader got */
		}
	}
out_lost:
	if (kept)
		base->written += kept; /* not bg_sink_wrote(): the sink is failing */
	bg_sink_lost(base, s->queued - kept, err);
	fd_reset(s);
}

static void fd_emit(struct bg_sink *base, const struct bg_record *r)
{
	struct fd_sink *s = (struct fd_sink *)base;
	size_t start = s->queue.len;
	int err;

	if (s->queue.len >= BG_SINK_QUEUE_MAX)
		fd_flush(base);
	if (s->queue.len >= BG_SINK_QUEUE_MAX) {
		bg_sink_lost(base, 1, EAGAIN);
		return;
	}
	if (s->queued == s->cap_ends) {
		size_t cap = s->cap_ends ? s->cap_ends * 2 : 256, *ne;

		ne = realloc(s->ends, cap * sizeof(*ne));
		if (!ne) {
			bg_sink_lost(base, 1, ENOMEM);
			return;
		}
		s->ends = ne;
		s->cap_ends = cap;
	}
	err = bg_record_render(&s->queue, base->format, r);
	if (err) {
		bg_strbuf_truncate(&s->queue, start);
		s->queue.err = 0;
		bg_sink_lost(base, 1, -err);
		return;
	}
	s->ends[s->queued++] = s->queue.len;
}

static int fd_reopen(struct bg_sink *base)
{
	struct fd_sink *s = (struct fd_sink *)base;
	char why[512];
	struct stat st;
	int fd;

	if (base->is_stdout)
		return 0;
	fd_flush(base);
	fd = bg_sink_open_file(base->name, O_WRONLY | O_CREAT | O_APPEND, why, sizeof(why));
	if (fd < 0) {
		/* Keep writing to the old file rather than to nothing. */
		bg_warn("cannot reopen the output: %s; still writing to the old file\n", why);
		return fd;
	}
	if (s->fd >= 0)
		close(s->fd);
	s->fd = fd;
	s->regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	return 0;
}

static void fd_destroy(struct bg_sink *base)
{
	struct fd_sink *s = (struct fd_sink *)base;

	if (s->fd >= 0 && !base->is_stdout)
		close(s->fd);
	bg_strbuf_release(&s->queue);
	free(s->ends);
	free(s);
}

static const struct bg_sink_ops fd_ops = {
	.emit = fd_emit,
	.flush = fd_flush,
	.reopen = fd_reopen,
	.destroy = fd_destroy,
};

struct bg_sink *bg_sink_stdout_new(int format)
{
	struct fd_sink *s = calloc(1, sizeof(*s));
	struct stat st;

	if (!s)
		return NULL;
	s->base.ops = &fd_ops;
	s->base.format = format;
	s->base.is_stdout = 1;
	snprintf(s->base.name, sizeof(s->base.name), "stdout");
	s->fd = STDOUT_FILENO;
	s->regular = fstat(s->fd, &st) == 0 && S_ISREG(st.st_mode);
	return &s->base;
}

struct bg_sink *bg_sink_file_new(const char *path, int format, int *err, char *why, size_t len)
{
	struct fd_sink *s;
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(s->base.name)) {
		*err = -ENAMETOOLONG;
		snprintf(why, len, "output path too long");
		return NULL;
	}
	fd = bg_sink_open_file(path, O_WRONLY | O_CREAT | O_APPEND, why, len);
	if (fd < 0) {
		*err = fd;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		*err = -ENOMEM;
		snprintf(why, len, "out of memory");
		return NULL;
	}
	s->base.ops = &fd_ops;
	s->base.format = format;
	snprintf(s->base.name, sizeof(s->base.name), "%s", path);
	s->fd = fd;
	s->regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	return &s->base;
}
