// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * sink_journal.c - records as native journald entries (sd_journal_sendv, libsystemd).
 *
 * MESSAGE is the one-line summary (the text rendering without the time stamp), PRIORITY follows
 * the verdict (deny: warning, alert and confine: notice, allow: info), and every field of the
 * record is also a journal field of its own, BINDGUARD_<KEY>=value, so
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
	struct bg_strbuf buf; /* every "KEY=value" of one entry, NUL-separated */
};

static void add_upper(struct bg_strbuf *b, const char *k)
{
	for (; *k; k++) {
		char up = *k >= 'a' && *k <= 'z' ? (char)(*k - 32) : *k;

		bg_strbuf_append(b, &up, 1);
	}
}

/*
 * Append "BINDGUARD_KEY=value" (inside an object: BINDGUARD_OBJ_KEY=) and a NUL; the offset of
 * its start is returned.
 */
static size_t add_field(struct bg_strbuf *b, const char *obj, const struct bg_field *f)
{
	size_t start = b->len, vstart;
	const char *k;

	bg_strbuf_puts(b, "BINDGUARD_");
	if (obj) {
		add_upper(b, obj);
		bg_strbuf_puts(b, "_");
	}
	for (k = f->key; *k; k++) {
		char up = *k >= 'a' && *k <= 'z' ? (char)(*k - 32) : *k;

		bg_strbuf_append(b, &up, 1);
	}
	bg_strbuf_puts(b, "=");
	switch (f->type) {
	case BG_FV_STR:
		/* The JSON escaping without the quotes: printable, one line, reversible. */
		vstart = b->len;
		bg_json_string(b, f->s, f->len);
		if (!b->err && b->len >= vstart + 2) {
			memmove(b->buf + vstart, b->buf + vstart + 1, b->len - vstart - 2);
			bg_strbuf_truncate(b, b->len - 2);
		}
		break;
	case BG_FV_UINT:
		bg_strbuf_printf(b, "%llu", f->u);
		break;
	case BG_FV_BOOL:
		bg_strbuf_puts(b, f->u ? "true" : "false");
		break;
	case BG_FV_JSON:
		bg_strbuf_append(b, f->s, f->len);
		break;
	default:
		bg_strbuf_puts(b, "null");
		break;
	}
	bg_strbuf_append(b, "", 1);
	return start;
}

static void journal_emit(struct bg_sink *base, const struct bg_record *r)
{
	struct journal_sink *s = (struct journal_sink *)base;
	size_t offs[BG_RECORD_MAX_FIELDS + 4], n = 0, i;
	struct iovec iov[BG_RECORD_MAX_FIELDS + 4];
	const char *obj = NULL;
	int err;

	bg_strbuf_reset(&s->buf);
	offs[n++] = s->buf.len;
	bg_strbuf_puts(&s->buf, "MESSAGE=");
	if (bg_record_summary(&s->buf, r)) {
		bg_sink_lost(base, 1, EINVAL);
		return;
	}
	bg_strbuf_append(&s->buf, "", 1);
	offs[n++] = s->buf.len;
	bg_strbuf_printf(&s->buf, "PRIORITY=%d", r->priority);
	bg_strbuf_append(&s->buf, "", 1);
	offs[n++] = s->buf.len;
	bg_strbuf_puts(&s->buf, "SYSLOG_IDENTIFIER=bindguard");
	bg_strbuf_append(&s->buf, "", 1);
	for (i = 0; i < r->n; i++) {
		if (r->f[i].type == BG_FV_OBJ) {
			obj = r->f[i].key;
			continue;
		}
		if (r->f[i].type == BG_FV_END) {
			obj = NULL;
			continue;
		}
		if (r->f[i].type == BG_FV_NULL)
			continue; /* a journal field that says nothing is left out */
		offs[n++] = add_field(&s->buf, obj, &r->f[i]);
	}
	if (s->buf.err) {
		bg_sink_lost(base, 1, ENOMEM);
		return;
	}
	for (i = 0; i < n; i++) {
		iov[i].iov_base = s->buf.buf + offs[i];
		iov[i].iov_len = strlen(s->buf.buf + offs[i]);
	}
	err = sd_journal_sendv(iov, (int)n);
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
