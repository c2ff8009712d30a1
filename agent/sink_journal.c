// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sink_journal.c - records as native journald entries (sd_journal_sendv, libsystemd).
 *
 * The fields are the record's journal rendering (bg_record_journal(), event_fmt.h): MESSAGE is
 * the one-line summary (the text rendering without the time stamp), PRIORITY the record's
 * syslog priority as one digit (deny: warning, alert and confine: notice, allow: info), and
 * every field of the record is also a journal field of its own, BINDGUARD_<KEY>=value, so
 *   journalctl -u bindguard BINDGUARD_VERDICT=deny
 * selects the denies. String values are stored as the JSON encoder escapes them (no raw control
 * bytes), so a hostile comm cannot forge a field. sd_journal_sendv() reports a failure (journald
 * gone, socket full), which is counted like any other lost record.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <systemd/sd-journal.h>

#include "sink.h"

struct journal_sink {
	struct bg_sink base;
	struct bg_strbuf buf; /* every "NAME=value" of one entry, each ended by a NUL */
};

static void journal_emit(struct bg_sink *base, const struct bg_record *r)
{
	struct journal_sink *s = (struct journal_sink *)base;
	struct iovec iov[BG_JOURNAL_MAX_FIELDS];
	size_t off = 0;
	int n, i, err;

	bg_strbuf_reset(&s->buf);
	n = bg_record_journal(&s->buf, r);
	if (n < 0 || n > BG_JOURNAL_MAX_FIELDS) {
		bg_sink_lost(base, 1, n == -ENOMEM ? ENOMEM : EINVAL);
		return;
	}
	/* n fields, each ended by a NUL that no value holds. */
	for (i = 0; i < n; i++) {
		iov[i].iov_base = s->buf.buf + off;
		iov[i].iov_len = strlen(s->buf.buf + off);
		off += iov[i].iov_len + 1;
	}
	err = sd_journal_sendv(iov, n);
	if (err < 0)
		bg_sink_lost(base, 1, -err);
	else
		bg_sink_wrote(base, 1);
}

static void journal_destroy(struct bg_sink *base)
{
	struct journal_sink *s = (struct journal_sink *)base;

	bg_strbuf_release(&s->buf);
	free(s);
}

static const struct bg_sink_ops journal_ops = {
	.emit = journal_emit,
	.destroy = journal_destroy,
};

struct bg_sink *bg_sink_journal_new(int *err, char *why, size_t len)
{
	struct journal_sink *s = calloc(1, sizeof(*s));

	if (!s) {
		*err = -ENOMEM;
		snprintf(why, len, "out of memory");
		return NULL;
	}
	s->base.ops = &journal_ops;
	s->base.format = BG_FORMAT_JSON;
	snprintf(s->base.name, sizeof(s->base.name), "journal");
	return &s->base;
}
