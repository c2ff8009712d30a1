// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sink_journal.c - records as native journald entries, sent to journald's socket.
 *
 * The fields are the record's journal rendering (bg_record_journal(), event_fmt.h): MESSAGE is
 * the one-line summary (the text rendering without the time stamp), PRIORITY the record's
 * syslog priority as one digit (deny: warning, alert and confine: notice, allow: info), and
 * every field of the record is also a journal field of its own, BINDGUARD_<KEY>=value, so
 *   journalctl -u bindguard BINDGUARD_VERDICT=deny
 * selects the denies. String values are stored as the JSON encoder escapes them (no raw control
 * bytes), so a hostile comm cannot forge a field.
 *
 * Hand-written rather than sd_journal_sendv() (libsystemd), for two reasons found in review:
 * sd_journal_sendv() sends with a blocking sendmsg(), so a journald that is stuck (I/O,
 * rotation, a local user flooding its socket) stopped the agent's whole event loop; and it
 * returns success when journald's socket is missing, so records were counted as written to
 * nobody. The native protocol for values without a newline is one datagram of "NAME=value\n"
 * lines (systemd.io/JOURNAL_NATIVE_PROTOCOL); bg_record_journal() never puts a newline or a NUL
 * in a value, and a record is far below the datagram limit. Sent with MSG_DONTWAIT: a full
 * socket loses the record (counted, as every sink's failures are) instead of blocking.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "sink.h"

#define BG_JOURNAL_SOCKET "/run/systemd/journal/socket"

struct journal_sink {
	struct bg_sink base;
	int fd; /* connected to path, -1 while it is not */
	char path[108]; /* journald's socket (sun_path's size) */
	struct bg_strbuf buf; /* every "NAME=value" of one entry, each ended by a NUL */
};

/* A socket connected to journald's (path), or -errno. */
static int journal_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Send one entry; 0 or -errno. A journald that restarted made a new socket: connect again. */
static int journal_send(struct journal_sink *s, struct iovec *iov, int n)
{
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)n };
	int attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		if (s->fd < 0) {
			s->fd = journal_connect(s->path);
			if (s->fd < 0)
				return s->fd;
		}
		if (sendmsg(s->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
			return 0;
		if (errno != ECONNREFUSED && errno != ENOTCONN && errno != ENOENT)
			return -errno;
		close(s->fd);
		s->fd = -1;
	}
	return -ECONNREFUSED;
}

static void journal_emit(struct bg_sink *base, const struct bg_record *r)
{
	struct journal_sink *s = (struct journal_sink *)base;
	struct iovec iov[2 * BG_JOURNAL_MAX_FIELDS];
	static char nl[] = "\n";
	size_t off = 0;
	int n, i, err;

	bg_strbuf_reset(&s->buf);
	n = bg_record_journal(&s->buf, r);
	if (n < 0 || n > BG_JOURNAL_MAX_FIELDS) {
		bg_sink_lost(base, 1, n == -ENOMEM ? ENOMEM : EINVAL);
		return;
	}
	/* n fields, each ended by a NUL that no value holds: each sent as "NAME=value\n". */
	for (i = 0; i < n; i++) {
		iov[2 * i].iov_base = s->buf.buf + off;
		iov[2 * i].iov_len = strlen(s->buf.buf + off);
		iov[2 * i + 1].iov_base = nl;
		iov[2 * i + 1].iov_len = 1;
		off += iov[2 * i].iov_len + 1;
	}
	err = journal_send(s, iov, 2 * n);
	if (err < 0)
		bg_sink_lost(base, 1, -err);
	else
		bg_sink_wrote(base, 1);
}

static void journal_destroy(struct bg_sink *base)
{
	struct journal_sink *s = (struct journal_sink *)base;

	if (s->fd >= 0)
		close(s->fd);
	bg_strbuf_release(&s->buf);
	free(s);
}

static const struct bg_sink_ops journal_ops = {
	.emit = journal_emit,
	.destroy = journal_destroy,
};

struct bg_sink *bg_sink_journal_new(int *err, char *why, size_t len)
{
	return bg_sink_journal_new_at(BG_JOURNAL_SOCKET, err, why, len);
}

struct bg_sink *bg_sink_journal_new_at(const char *path, int *err, char *why, size_t len)
{
	struct journal_sink *s;
	int fd;

	/* No journald: say so at the start, rather than count records written to nobody. */
	fd = journal_connect(path);
	if (fd < 0) {
		*err = fd;
		snprintf(why, len, "cannot reach journald at %s: %s (is systemd-journald running?)",
			 path, strerror(-fd));
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		*err = -ENOMEM;
		snprintf(why, len, "out of memory");
		return NULL;
	}
	s->fd = fd;
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->base.ops = &journal_ops;
	s->base.format = BG_FORMAT_JSON;
	snprintf(s->base.name, sizeof(s->base.name), "journal");
	return &s->base;
}
