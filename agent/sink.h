/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * sink.h - where records go: standard output, a file, journald or syslog, behind one interface.
 *
 * Logging must never switch enforcement off (the kernel enforces whatever happens here), so a
 * sink never fails the agent: a record that cannot be written is counted as lost, the failure
 * is reported on stderr at most once a second, and when the sink works again it says in one
 * record how many were lost ("sink-recovered"). Every sink keeps the same counters.
 *
 * Nor does a sink wait long for a slow reader: a pipe, FIFO or socket is written without
 * blocking (a flush waits at most 50 ms for a reader that is reading, and not for one that
 * has stopped), and what it does not take waits in memory for the next flush (up to 8 MiB, then
 * new records are lost). Such a sink is not failing while records only wait; it recovers once
 * all that waited has gone out. bg_sink_free() gives them about a second more, then counts
 * the rest.
 */
#ifndef BG_SINK_H
#define BG_SINK_H

#include "event_fmt.h"

struct bg_sink;

struct bg_sink_ops {
	/* Queue or send one record; a failure is accounted with bg_sink_lost(). */
	void (*emit)(struct bg_sink *s, const struct bg_record *r);
	/* Write out what is queued (no-op for sinks that send at once). */
	void (*flush)(struct bg_sink *s);
	/* Reopen the destination (SIGUSR1: a rotated file). 0 or -errno. */
	int (*reopen)(struct bg_sink *s);
	void (*destroy)(struct bg_sink *s);
};

struct bg_sink {
	const struct bg_sink_ops *ops;
	char name[256]; /* "stdout", "journal", "syslog" or the file's path */
	int format; /* BG_FORMAT_* (file, stdout, syslog) */
	int is_stdout;
	unsigned long long written; /* records that reached the destination */
	unsigned long long lost; /* records that did not, in all */
	unsigned long long failures; /* failed write attempts */
	unsigned long long lost_unreported; /* lost since the last sink-recovered record */
	int failing; /* the last attempt failed */
	int last_err; /* its errno */
	long long warned_ms; /* last stderr report (CLOCK_MONOTONIC ms) */
	int recovering; /* emitting the sink-recovered record itself */
};

/* Sinks. Each returns NULL and sets *err (negative errno) with a one-line reason in why. */
/*
 * Standard output, on an fd of the sink's own: a pipe or FIFO opened again through
 * /proc/self/fd/1 with O_NONBLOCK (the description shared with whoever started the agent keeps
 * its flags), a copy of fd 1 otherwise. NULL only without memory.
 */
struct bg_sink *bg_sink_stdout_new(int format);
/*
 * A file, appended to. Opened with O_NOFOLLOW; refused when it is not a regular file, a FIFO or
 * a character device, or when its directory is writable by others and the file is not owned by
 * the agent's user (a planted file in /tmp). The same checks apply on every reopen. A FIFO must
 * have a reader when it is opened (else ENXIO) and is written without blocking.
 */
struct bg_sink *bg_sink_file_new(const char *path, int format, int *err, char *why, size_t len);
/* journald's native socket, /run/systemd/journal/socket; refused when it cannot be reached. */
struct bg_sink *bg_sink_journal_new(int *err, char *why, size_t len);
/* The same on another socket (the unit tests' own receiver). */
struct bg_sink *bg_sink_journal_new_at(const char *path, int *err, char *why, size_t len);
/* facility: LOG_DAEMON or LOG_AUTH. */
struct bg_sink *bg_sink_syslog_new(int facility, int format, int *err, char *why, size_t len);

void bg_sink_emit(struct bg_sink *s, const struct bg_record *r);
void bg_sink_flush(struct bg_sink *s);
int bg_sink_reopen(struct bg_sink *s);
void bg_sink_free(struct bg_sink *s);

/* For sink implementations: n records reached the destination / were lost with errno err. */
void bg_sink_wrote(struct bg_sink *s, unsigned long long n);
void bg_sink_lost(struct bg_sink *s, unsigned long long n, int err);

/*
 * Open an output file as bg_sink_file_new() would (also for `learn -o`). fd or -errno. Writes
 * block, except to a FIFO when flags has O_NONBLOCK.
 */
int bg_sink_open_file(const char *path, int flags, char *why, size_t len);

#endif /* BG_SINK_H */
