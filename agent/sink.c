// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sink.c - the accounting every sink shares, and the stdout and file sinks.
 *
 * The file sink writes with write(2), not stdio: stdio hides which lines a failed fflush() lost,
 * and an unchecked fflush() once lost events and the stopping line silently. Lines are queued
 * and written in batches (every poll tick); a batch that fails is lost whole and counted, and a
 * partly written batch is cut back so no half line stays in a regular file.
 *
 * A pipe, a FIFO or a socket is written without blocking: a reader that stops reading (a stalled
 * container runtime behind stdout, a hung log shipper behind a FIFO) must not stop the agent's
 * loop. A flush waits a little for a reader that is reading (fd_flush_for()); what the reader
 * does not take waits in the queue for the next flush, up to BG_SINK_QUEUE_MAX; beyond that new
 * records are lost and counted, and once the queue has gone out whole a sink-recovered record
 * says how many. A regular file and a character device are written as usual (a disk does not
 * wait for a reader; a tty stopped with ^S stops the agent as ever).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sink.h"

/* More than this queued (the destination is slow): new records are lost rather than queued. */
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

/* How the sink writes to its fd: what it is decides whether a write(2) can wait for a reader. */
enum fd_kind {
	FD_BLOCKING, /* a regular file, a character device (a tty, /dev/null): write(2) as usual */
	FD_NONBLOCK, /* a pipe or FIFO, O_NONBLOCK on an open file description of the sink's own */
	FD_POLLED, /* a pipe whose description is shared and blocks: see fd_write() */
	FD_SOCKET, /* send(2) with MSG_DONTWAIT */
};

struct fd_sink {
	struct bg_sink base;
	int fd; /* the sink's own (stdout's is a copy): closed by fd_destroy() */
	int regular; /* a regular file: a partial write can be cut back */
	enum fd_kind kind;
	struct bg_strbuf queue;
	size_t head; /* bytes of queue already written */
	unsigned long long first; /* the first record not written whole: those before it went */
	unsigned long long queued; /* records in ends[]; first..queued-1 wait */
	size_t *ends; /* where each record ends in queue (a text record may be two lines) */
	size_t cap_ends;
	unsigned long long report; /* 0, or 1 + index in ends[] of a queued sink-recovered record */
	unsigned long long report_lost; /* the "lost" it says */
	int stalled; /* the reader made no room while a flush waited, and has taken nothing since */
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
	/*
	 * O_NONBLOCK is there so that opening a FIFO cannot hang (with no reader the open fails,
	 * ENXIO). A FIFO keeps it when the caller asked for it (the file sink: a reader that stops
	 * reading must not stop the agent); anything else blocks as usual.
	 */
	if ((!(flags & O_NONBLOCK) || !S_ISFIFO(st.st_mode)) &&
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0) {
		err = -errno;
		snprintf(why, len, "cannot set up %s: %s", path, strerror(-err));
		goto out_close;
	}
	return fd;
out_close:
	close(fd);
	return err;
}

/* Take fd (or -1) as the destination; how to write to it follows from what it is. */
static void fd_setup(struct fd_sink *s, int fd)
{
	struct stat st;
	int fl;

	s->fd = fd;
	s->regular = 0;
	s->kind = FD_BLOCKING;
	s->stalled = 0;
	if (fd < 0 || fstat(fd, &st) < 0)
		return;
	s->regular = S_ISREG(st.st_mode);
	if (S_ISSOCK(st.st_mode)) {
		s->kind = FD_SOCKET;
	} else if (S_ISFIFO(st.st_mode)) {
		fl = fcntl(fd, F_GETFL);
		s->kind = fl >= 0 && (fl & O_NONBLOCK) ? FD_NONBLOCK : FD_POLLED;
	}
}

/*
 * One write that does not wait for a reader, unless the destination is a file or a character
 * device. A shared blocking pipe is written only when poll() says it has room, and at most
 * PIPE_BUF bytes: such a write then finds room at once (only another writer filling the pipe
 * between the two calls could still make it wait).
 */
static ssize_t fd_write(struct fd_sink *s, const char *buf, size_t len)
{
	struct pollfd p = { .fd = s->fd, .events = POLLOUT };
	int n;

	switch (s->kind) {
	case FD_SOCKET:
		return send(s->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	case FD_POLLED:
		n = poll(&p, 1, 0);
		if (n <= 0) {
			if (n == 0)
				errno = EAGAIN;
			return -1;
		}
		if (len > PIPE_BUF)
			len = PIPE_BUF;
		break;
	default:
		break;
	}
	return write(s->fd, buf, len);
}

/* Where record i starts in the queue. */
static size_t rec_start(const struct fd_sink *s, unsigned long long i)
{
	return i ? s->ends[i - 1] : 0;
}

static void fd_reset(struct fd_sink *s)
{
	bg_strbuf_reset(&s->queue);
	s->head = 0;
	s->first = 0;
	s->queued = 0;
	s->report = 0;
}

/*
 * Every waiting record is lost but the first kept ones (they are in a file that was cut back
 * after them). A sink-recovered record among the lost was counted as said when it was queued
 * (bg_sink_wrote() after its flush): its count is unsaid again, so that the next one says it.
 * While that record is still being emitted, bg_sink_wrote() sees the failure itself.
 */
static void fd_lose(struct fd_sink *s, unsigned long long kept, int err)
{
	unsigned long long n = s->queued - s->first - kept;

	s->base.written += kept; /* not bg_sink_wrote(): the sink is failing */
	if (s->report > s->first + kept && !s->base.recovering)
		s->base.lost_unreported += s->report_lost;
	fd_reset(s);
	bg_sink_lost(&s->base, n, err);
}

/*
 * The destination is slow: the records before done went out, the rest waits, the first of it
 * perhaps half written. What went out is moved off the queue once it is more than what waits,
 * so that each byte is moved at most about once.
 */
static void fd_slow(struct fd_sink *s, unsigned long long done)
{
	unsigned long long i;
	size_t cut;

	s->base.written += done - s->first; /* it recovers once the queue is empty, not before */
	if (s->report && s->report <= done)
		s->report = 0;
	s->first = done;
	cut = rec_start(s, done);
	if (!cut || cut < s->queue.len - cut)
		return;
	memmove(s->queue.buf, s->queue.buf + cut, s->queue.len - cut);
	bg_strbuf_truncate(&s->queue, s->queue.len - cut);
	for (i = done; i < s->queued; i++)
		s->ends[i - done] = s->ends[i] - cut;
	s->queued -= done;
	if (s->report)
		s->report -= done;
	s->first = 0;
	s->head -= cut;
}

/*
 * A flush waits for a reader that is reading, as a blocking write would (a log shipper on the
 * agent's own core runs while the agent waits), but not for long: at most BG_SINK_WAIT_MS in
 * all, and not once the reader has made no room for BG_SINK_STALL_MS. Then the reader is
 * stalled: later flushes write what fits without waiting, until it has taken something.
 */
#define BG_SINK_WAIT_MS 50
#define BG_SINK_STALL_MS 5

/*
 * Write what waits, waiting for room at most wait_ms, stall_ms at a time. EAGAIN is a slow
 * destination, not a failure: what it did not take waits for the next flush, also the rest
 * of a record it took half of, which goes first, so that the reader sees only whole lines.
 * Any other error loses the batch whole.
 */
static void fd_flush_for(struct fd_sink *s, long long wait_ms, long long stall_ms)
{
	struct pollfd p = { .fd = s->fd, .events = POLLOUT };
	long long end = mono_ms() + wait_ms, left;
	unsigned long long done = s->first, n;
	size_t start = s->head, keep;
	struct stat st;
	off_t before = -1;
	ssize_t w;
	int err = 0;

	if (s->first == s->queued)
		return;
	if (s->fd < 0) {
		fd_lose(s, 0, EBADF);
		return;
	}
	if (s->regular && fstat(s->fd, &st) == 0)
		before = st.st_size;
	while (s->head < s->queue.len) {
		w = fd_write(s, s->queue.buf + s->head, s->queue.len - s->head);
		if (w > 0) {
			s->head += (size_t)w;
			s->stalled = 0;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		err = w < 0 ? errno : EAGAIN;
		if ((err != EAGAIN && err != EWOULDBLOCK) || s->stalled)
			break;
		left = end - mono_ms();
		if (left <= 0)
			break;
		w = poll(&p, 1, (int)(left < stall_ms ? left : stall_ms));
		if (w == 0)
			s->stalled = 1;
		if (w == 0 || (w < 0 && errno != EINTR))
			break;
		err = 0;
	}
	while (done < s->queued && s->ends[done] <= s->head)
		done++;
	if (!err) {
		n = s->queued - s->first;
		fd_reset(s);
		bg_sink_wrote(&s->base, n);
		return;
	}
	if (err == EAGAIN || err == EWOULDBLOCK) {
		fd_slow(s, done);
		return;
	}
	/*
	 * Part of the batch went out (a disk filling up takes what fits): keep the records that
	 * are whole and cut the file back to the end of the last one, so no half record stays
	 * and only what did not fit is lost. Elsewhere (a pipe) nothing can be taken back.
	 */
	if (before < 0) {
		fd_lose(s, 0, err); /* not a file: what went out is what the reader got */
		return;
	}
	keep = done > s->first ? s->ends[done - 1] : rec_start(s, s->first);
	if (keep != s->head && ftruncate(s->fd, before + (off_t)keep - (off_t)start) < 0)
		bg_dbg("cannot cut back a partial write to %s: %s\n", s->base.name,
		       strerror(errno));
	fd_lose(s, done - s->first, err);
}

static void fd_flush(struct bg_sink *base)
{
	fd_flush_for((struct fd_sink *)base, BG_SINK_WAIT_MS, BG_SINK_STALL_MS);
}

static void fd_emit(struct bg_sink *base, const struct bg_record *r)
{
	struct fd_sink *s = (struct fd_sink *)base;
	size_t start;
	int err;

	if (s->queue.len - s->head >= BG_SINK_QUEUE_MAX)
		fd_flush_for(s, 0, 0); /* what fits now: this is for each record */
	if (s->queue.len - s->head >= BG_SINK_QUEUE_MAX) {
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
	start = s->queue.len;
	err = bg_record_render(&s->queue, base->format, r);
	if (err) {
		bg_strbuf_truncate(&s->queue, start);
		s->queue.err = 0;
		bg_sink_lost(base, 1, -err);
		return;
	}
	s->ends[s->queued++] = s->queue.len;
	/* The sink-recovered record (bg_sink_wrote() says lost_unreported): see fd_lose(). */
	if (base->recovering) {
		s->report = s->queued;
		s->report_lost = base->lost_unreported;
	}
}

static int fd_reopen(struct bg_sink *base)
{
	struct fd_sink *s = (struct fd_sink *)base;
	struct stat old, st;
	char why[512];
	int fd;

	if (base->is_stdout)
		return 0;
	fd_flush(base);
	fd = bg_sink_open_file(base->name, O_WRONLY | O_CREAT | O_APPEND | O_NONBLOCK, why,
			       sizeof(why));
	if (fd < 0) {
		/* Keep writing to the old file rather than to nothing. */
		bg_warn("cannot reopen the output: %s; still writing to the old file\n", why);
		return fd;
	}
	/*
	 * A record half written to a slow FIFO: its rest can only follow its start, in the same
	 * FIFO. Anywhere else it would be half a line: it is lost; the records after it are not.
	 */
	if (s->first < s->queued && rec_start(s, s->first) < s->head &&
	    !(s->fd >= 0 && fstat(s->fd, &old) == 0 && fstat(fd, &st) == 0 &&
	      old.st_dev == st.st_dev && old.st_ino == st.st_ino)) {
		if (s->report == s->first + 1) {
			if (!base->recovering)
				base->lost_unreported += s->report_lost;
			s->report = 0;
		}
		s->head = s->ends[s->first++];
		bg_sink_lost(base, 1, EAGAIN);
		if (s->first == s->queued)
			fd_reset(s);
	}
	if (s->fd >= 0)
		close(s->fd);
	fd_setup(s, fd);
	return 0;
}

/* At the exit, how long a slow destination has to take what still waits. */
#define BG_SINK_EXIT_MS 1000

static void fd_destroy(struct bg_sink *base)
{
	struct fd_sink *s = (struct fd_sink *)base;
	long long end = mono_ms() + BG_SINK_EXIT_MS, left;

	/*
	 * bg_sink_free() has flushed: what still waits is for a slow destination. It gets a
	 * second; the rest is lost, a half written record with it (its rest cannot follow any
	 * more), and counted, and said on stderr even if a warning just went: this is the last.
	 */
	s->stalled = 0;
	while (s->first < s->queued && !s->stalled && (left = end - mono_ms()) > 0)
		fd_flush_for(s, left, left);
	if (s->first < s->queued) {
		base->warned_ms = 0;
		fd_lose(s, 0, EAGAIN);
	}
	if (s->fd >= 0)
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

/*
 * The stdout sink's own fd. A pipe or FIFO is opened again through /proc: a new open file
 * description of the same pipe, so that it can be O_NONBLOCK without setting the flag on the
 * one the agent shares with whoever started it (a shell would get EAGAIN on its own writes).
 * That open fails (ENXIO) while the pipe has no reader, and without /proc or the permission
 * to reopen a pipe of another user's: then the shared description is used, polled
 * (fd_write()). A socket (systemd's StandardOutput=journal) cannot be opened again: send(2)
 * does not wait with MSG_DONTWAIT. Anything else is a copy of fd 1, so that it is the sink's
 * like the reopened one. -1 when there is no stdout.
 */
static int stdout_fd(void)
{
	struct stat st;
	int fd;

	if (fstat(STDOUT_FILENO, &st) < 0)
		return -1;
	if (S_ISFIFO(st.st_mode)) {
		fd = open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
		if (fd >= 0)
			return fd;
		bg_dbg("cannot open stdout again (%s): its writes are polled\n", strerror(errno));
	}
	return fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
}

struct bg_sink *bg_sink_stdout_new(int format)
{
	struct fd_sink *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->base.ops = &fd_ops;
	s->base.format = format;
	s->base.is_stdout = 1;
	snprintf(s->base.name, sizeof(s->base.name), "stdout");
	fd_setup(s, stdout_fd());
	return &s->base;
}

struct bg_sink *bg_sink_file_new(const char *path, int format, int *err, char *why, size_t len)
{
	struct fd_sink *s;
	int fd;

	if (strlen(path) >= sizeof(s->base.name)) {
		*err = -ENAMETOOLONG;
		snprintf(why, len, "output path too long");
		return NULL;
	}
	fd = bg_sink_open_file(path, O_WRONLY | O_CREAT | O_APPEND | O_NONBLOCK, why, len);
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
	fd_setup(s, fd);
	return &s->base;
}
