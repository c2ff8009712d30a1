// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sink_syslog.c - records to the local syslog daemon (/dev/log), one message each.
 *
 * Written by hand rather than with syslog(3): syslog(3) returns nothing and silently drops a
 * message it cannot deliver, and every lost record must be counted. This sends the same RFC 3164
 * datagram syslog(3) would ("<PRI>Mmm dd hh:mm:ss bindguard[PID]: MSG") on a datagram socket
 * connected to /dev/log, and counts a send that fails; it reconnects after the daemon restarts.
 * MSG is the record in the chosen format (JSON by default), without its newline.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "sink.h"

#define BG_SYSLOG_PATH "/dev/log"

struct syslog_sink {
	struct bg_sink base;
	int fd;
	int facility;
	struct bg_strbuf buf;
};

static int syslog_connect(struct syslog_sink *s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (s->fd >= 0)
		return 0;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", BG_SYSLOG_PATH);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	s->fd = fd;
	return 0;
}

static void syslog_emit(struct bg_sink *base, const struct bg_record *r)
{
	struct syslog_sink *s = (struct syslog_sink *)base;
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	time_t now = time(NULL);
	int err, attempt;

	bg_strbuf_reset(&s->buf);
	localtime_r(&now, &tm);
	bg_strbuf_printf(&s->buf, "<%d>%s %2d %02d:%02d:%02d bindguard[%d]: ",
			 s->facility | (r->priority & 7), mon[tm.tm_mon % 12], tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec, (int)getpid());
	err = bg_record_render(&s->buf, base->format, r);
	if (err || s->buf.err) {
		bg_sink_lost(base, 1, err ? -err : ENOMEM);
		return;
	}
	/* One message: the text format's hint line is kept, the final newline dropped. */
	if (s->buf.len && s->buf.buf[s->buf.len - 1] == '\n')
		bg_strbuf_truncate(&s->buf, s->buf.len - 1);
	for (attempt = 0; attempt < 2; attempt++) {
		err = syslog_connect(s);
		if (!err) {
			if (send(s->fd, s->buf.buf, s->buf.len, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) {
				bg_sink_wrote(base, 1);
				return;
			}
			err = -errno;
		}
		/* The daemon restarted (a new socket): connect again once. */
		if (s->fd >= 0 && (err == -ECONNREFUSED || err == -ENOTCONN)) {
			close(s->fd);
			s->fd = -1;
			continue;
		}
		break;
	}
	bg_sink_lost(base, 1, -err);
}

static void syslog_destroy(struct bg_sink *base)
{
	struct syslog_sink *s = (struct syslog_sink *)base;

	if (s->fd >= 0)
		close(s->fd);
	bg_strbuf_release(&s->buf);
	free(s);
}

static const struct bg_sink_ops syslog_ops = {
	.emit = syslog_emit,
	.destroy = syslog_destroy,
};

struct bg_sink *bg_sink_syslog_new(int facility, int format, int *err, char *why, size_t len)
{
	struct syslog_sink *s = calloc(1, sizeof(*s));

	if (!s) {
		*err = -ENOMEM;
		snprintf(why, len, "out of memory");
		return NULL;
	}
	s->base.ops = &syslog_ops;
	s->base.format = format;
	s->fd = -1;
	s->facility = facility;
	snprintf(s->base.name, sizeof(s->base.name), "syslog");
	/* Not being able to connect now is not fatal: the daemon may start later. */
	syslog_connect(s);
	return &s->base;
}
