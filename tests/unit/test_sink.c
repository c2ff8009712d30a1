// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_sink.c - unit tests for agent/sink.c: the accounting of a file sink whose writes fail,
 * and the fd sink on a slow destination.
 *
 * A real file, written with write(2), made to fail with RLIMIT_FSIZE (EFBIG after a short write,
 * as a disk filling up gives ENOSPC after taking what fits): no root and no tmpfs needed. The
 * promise under test (sink.h): every record is in the file or counted as lost, no half record
 * stays in the file, and the "lost" of the sink-recovered records adds up to the sink's total,
 * also when a sink-recovered record is itself lost.
 *
 * A slow destination is a real pipe, FIFO or socket that the test does not read: a flush must
 * come back promptly (it waits a few ms for room at most; an alarm turns a flush that waits for
 * the reader into a failure rather than a hang), what it did not take waits, and once read
 * every record arrives once, in order, as whole lines.
 *
 * Every test function is static, so one left out of main()'s table fails the build
 * (-Wunused-function with -Werror).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "event_fmt.h"
#include "json_check.h"
#include "sink.h"
#include "strbuf.h"

struct fixture {
	char dir[64];
	char path[96];
	struct rlimit saved;
	struct bg_sink *sink;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	int err = 0;
	char why[256];

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/bg-unit-sink-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/events.jsonl", f->dir);
	if (getrlimit(RLIMIT_FSIZE, &f->saved) != 0)
		return -1;
	/* Past the limit a write gets EFBIG only when SIGXFSZ does not kill the process first. */
	signal(SIGXFSZ, SIG_IGN);
	f->sink = bg_sink_file_new(f->path, BG_FORMAT_JSON, &err, why, sizeof(why));
	if (!f->sink) {
		fprintf(stderr, "bg_sink_file_new: %s\n", why);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	setrlimit(RLIMIT_FSIZE, &f->saved);
	signal(SIGXFSZ, SIG_DFL);
	bg_sink_free(f->sink);
	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void set_fsize(struct fixture *f, rlim_t limit)
{
	struct rlimit rl = { .rlim_cur = limit, .rlim_max = f->saved.rlim_max };

	if (limit > f->saved.rlim_max)
		rl.rlim_cur = f->saved.rlim_max;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

static long long file_size(const struct fixture *f)
{
	struct stat st;

	assert_int_equal(stat(f->path, &st), 0);
	return st.st_size;
}

/* One agent record "tick" with n as its field, and the length of its JSON line. */
static size_t tick(struct bg_record *r, unsigned long long n)
{
	struct timespec wall = { .tv_sec = 1790000000, .tv_nsec = 0 };
	struct bg_strbuf sb = BG_STRBUF_INIT;
	size_t len;

	assert_int_equal(bg_record_agent(r, "tick", &wall, 6), 0);
	bg_record_uint(r, "n", n);
	assert_int_equal(bg_record_render(&sb, BG_FORMAT_JSON, r), 0);
	len = sb.len;
	bg_strbuf_release(&sb);
	return len;
}

/* About how long a tick's line is. */
static size_t tick_len(void)
{
	struct bg_record r;

	return tick(&r, 100000);
}

/* Ticks first..last queued, then flushed as one batch; the length of the last tick's line. */
static size_t sink_batch(struct bg_sink *s, unsigned long long first, unsigned long long last)
{
	struct bg_record r;
	size_t len = 0;

	for (; first <= last; first++) {
		len = tick(&r, first);
		bg_sink_emit(s, &r);
	}
	bg_sink_flush(s);
	return len;
}

static size_t batch(struct fixture *f, unsigned long long first, unsigned long long last)
{
	return sink_batch(f->sink, first, last);
}

static char *slurp(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf;
	long n;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	assert_true(n >= 0);
	rewind(fp);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	return buf;
}

struct tally {
	int lines, ticks, recovered;
	unsigned long long lost_sum, lost_total_last;
	unsigned long long
		last_tick; /* the n of the last tick: each is larger than the one before */
	size_t tail; /* bytes after the last whole line (only with tail_ok) */
};

/*
 * Every line of text is one whole JSON record, the ticks in order; count them and add up what
 * they report. With tail_ok, text may end in part of a line (a pipe that took half a record).
 */
static void tally_text(const char *text, struct tally *t, int tail_ok)
{
	const char *line = text, *nl;
	const struct jc_member *m;
	unsigned long long n;
	struct jc j;

	memset(t, 0, sizeof(*t));
	while (*line) {
		nl = strchr(line, '\n');
		if (!nl && tail_ok) {
			t->tail = strlen(line);
			break;
		}
		assert_non_null(nl); /* no half line at the end */
		assert_int_equal(jc_line(&j, line, (size_t)(nl - line) + 1), 0);
		t->lines++;
		m = jc_get(&j, "state");
		assert_non_null(m);
		if (strncmp(line + m->val_off, "\"tick\"", 6) == 0) {
			t->ticks++;
			m = jc_get(&j, "n");
			assert_non_null(m);
			n = strtoull(line + m->val_off, NULL, 10);
			assert_true(n > t->last_tick); /* in order, and none twice */
			t->last_tick = n;
		} else if (strncmp(line + m->val_off, "\"sink-recovered\"", 16) == 0) {
			t->recovered++;
			m = jc_get(&j, "lost");
			assert_non_null(m);
			t->lost_sum += strtoull(line + m->val_off, NULL, 10);
			m = jc_get(&j, "lost_total");
			assert_non_null(m);
			t->lost_total_last = strtoull(line + m->val_off, NULL, 10);
		}
		line = nl + 1;
	}
}

static void tally_file(const struct fixture *f, struct tally *t)
{
	char *text = slurp(f->path);

	tally_text(text, t, 0);
	free(text);
}

/* A batch that does not fit is lost whole and cut back; the recovery says how many. */
static void test_sink_partial_batch_cut_back(void **state)
{
	struct fixture *f = *state;
	struct tally t;
	long long s1;
	size_t len;

	len = batch(f, 1, 1);
	assert_int_equal(f->sink->written, 1);
	s1 = file_size(f);
	assert_int_equal(s1, (long long)len);

	/* Room for half a record: the first write is short, the next gets EFBIG. */
	set_fsize(f, (rlim_t)s1 + len / 2);
	batch(f, 2, 3);
	assert_int_equal(f->sink->lost, 2);
	assert_int_equal(f->sink->written, 1);
	assert_true(f->sink->failing);
	assert_int_equal(f->sink->last_err, EFBIG);
	assert_int_equal(file_size(f), s1); /* the half record was cut back */

	set_fsize(f, RLIM_INFINITY);
	batch(f, 4, 4);
	assert_false(f->sink->failing);
	assert_int_equal(f->sink->lost_unreported, 0);
	tally_file(f, &t);
	assert_int_equal(t.ticks, 2);
	assert_int_equal(t.recovered, 1);
	assert_int_equal(t.lost_sum, 2);
	assert_int_equal(t.lost_total_last, 2);
	assert_int_equal(f->sink->written, (unsigned long long)t.lines);
}

/*
 * The space runs out again just after a write that worked: the sink-recovered record itself is
 * lost. Its count must not be: the next recovery reports it, and the record, too.
 */
static void test_sink_recovery_record_lost(void **state)
{
	struct fixture *f = *state;
	struct tally t;
	long long s1;
	size_t len;

	len = batch(f, 1, 1);
	s1 = file_size(f);

	/* Nothing fits: two records lost. */
	set_fsize(f, (rlim_t)s1);
	batch(f, 2, 3);
	assert_int_equal(f->sink->lost, 2);

	/*
	 * Room for one tick and a few bytes: the tick is written, the sink-recovered record that
	 * follows it (longer than a tick: it names the file) is not.
	 */
	set_fsize(f, (rlim_t)s1 + len + 8);
	batch(f, 4, 4);
	assert_int_equal(file_size(f), s1 + (long long)len);
	assert_true(f->sink->failing);
	assert_int_equal(f->sink->lost, 3); /* the two ticks and the sink-recovered record */
	assert_int_equal(f->sink->lost_unreported, 3);

	set_fsize(f, RLIM_INFINITY);
	batch(f, 5, 5);
	assert_false(f->sink->failing);
	assert_int_equal(f->sink->lost_unreported, 0);

	tally_file(f, &t);
	assert_int_equal(t.ticks, 3); /* 1, 4 and 5 */
	assert_int_equal(t.recovered, 1);
	assert_int_equal(t.lost_sum, f->sink->lost);
	assert_int_equal(t.lost_total_last, 3);
	/* Every record made is in the file or counted as lost. */
	assert_int_equal(t.lines + f->sink->lost, 5 + 2);
	assert_int_equal(f->sink->written, (unsigned long long)t.lines);
}

/* --- a slow destination ---------------------------------------------------------------------- */

/* Longer than any test here takes: a flush that waits for the reader fails the test (SIGALRM). */
#define HANG_S 20

struct slow {
	struct bg_sink *sink;
	int rd; /* the test's end, O_NONBLOCK; nobody else reads */
	int wr; /* the test's copy of the sink's destination, or -1 */
	int saved_out; /* the test's stdout while fd 1 is the destination, or -1 */
	char dir[64], fifo[96];
	struct bg_strbuf got; /* what was read from rd */
};

/*
 * fd is stdout until stdout_back(), as if the agent had been started with it. cmocka writes to
 * stdout only between tests (and its errors to stderr), and nothing is left in stdio's buffer.
 */
static void stdout_is(struct slow *f, int fd)
{
	fflush(stdout);
	f->saved_out = dup(STDOUT_FILENO);
	assert_true(f->saved_out >= 0);
	assert_int_equal(dup2(fd, STDOUT_FILENO), STDOUT_FILENO);
	f->sink = bg_sink_stdout_new(BG_FORMAT_JSON);
	assert_non_null(f->sink);
}

static void stdout_back(struct slow *f)
{
	if (f->saved_out < 0)
		return;
	dup2(f->saved_out, STDOUT_FILENO);
	close(f->saved_out);
	f->saved_out = -1;
}

static struct slow *slow_new(void)
{
	struct slow *f = calloc(1, sizeof(*f));

	if (f) {
		f->rd = -1;
		f->wr = -1;
		f->saved_out = -1;
	}
	alarm(HANG_S);
	return f;
}

/* stdout is a pipe (a container runtime's log pipe, `bindguard run | shipper`). */
static int setup_stdout_pipe(void **state)
{
	struct slow *f = slow_new();
	int p[2];

	if (!f || pipe2(p, O_CLOEXEC) != 0)
		return -1;
	f->rd = p[0];
	f->wr = p[1];
	stdout_is(f, f->wr);
	fcntl(f->rd, F_SETFL, O_NONBLOCK);
	*state = f;
	return 0;
}

/*
 * stdout is a pipe that had no reader when the agent started: it cannot be opened again (ENXIO),
 * so its shared, blocking description is written, polled. A reader comes later (here: the pipe
 * opened for reading through /proc, as a FIFO's reader would open it).
 */
static int setup_stdout_pipe_polled(void **state)
{
	struct slow *f = slow_new();
	char path[64];
	int p[2];

	if (!f || pipe2(p, O_CLOEXEC) != 0)
		return -1;
	close(p[0]);
	f->wr = p[1];
	stdout_is(f, f->wr);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", f->wr);
	f->rd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (f->rd < 0)
		return -1;
	*state = f;
	return 0;
}

/* stdout is a unix stream socket (systemd's StandardOutput=journal). */
static int setup_stdout_socket(void **state)
{
	struct slow *f = slow_new();
	int sv[2];

	if (!f || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return -1;
	f->rd = sv[1];
	f->wr = sv[0];
	stdout_is(f, f->wr);
	fcntl(f->rd, F_SETFL, O_NONBLOCK);
	*state = f;
	return 0;
}

/* --output FIFO, with a reader (a log shipper) that has opened it. */
static int setup_fifo(void **state)
{
	struct slow *f = slow_new();
	char why[256];
	int err = 0;

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/bg-unit-sink-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->fifo, sizeof(f->fifo), "%s/events.fifo", f->dir);
	if (mkfifo(f->fifo, 0600) != 0)
		return -1;
	f->rd = open(f->fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (f->rd < 0)
		return -1;
	f->sink = bg_sink_file_new(f->fifo, BG_FORMAT_JSON, &err, why, sizeof(why));
	if (!f->sink) {
		fprintf(stderr, "bg_sink_file_new: %s\n", why);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown_slow(void **state)
{
	struct slow *f = *state;

	bg_sink_free(f->sink);
	stdout_back(f);
	if (f->rd >= 0)
		close(f->rd);
	if (f->wr >= 0)
		close(f->wr);
	if (f->fifo[0])
		unlink(f->fifo);
	if (f->dir[0])
		rmdir(f->dir);
	bg_strbuf_release(&f->got);
	free(f);
	alarm(0);
	return 0;
}

/* Read what the destination holds now (all of it once nothing writes to it). */
static void read_some(struct slow *f)
{
	char buf[65536];
	ssize_t n;

	while ((n = read(f->rd, buf, sizeof(buf))) > 0)
		assert_int_equal(bg_strbuf_append(&f->got, buf, (size_t)n), 0);
	assert_true(n == 0 || errno == EAGAIN);
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Ticks from *next on, 64 a flush (the agent flushes each batch it drains), until the
 * destination takes no more: some wait. Every flush comes back (or the alarm fails the test),
 * and soon: the sink waits for room 50 ms at most (0.5 s here, for a busy machine).
 */
static void fill(struct slow *f, unsigned long long *next)
{
	double t0;
	int i;

	for (i = 0; i < 4096 && f->sink->written == *next - 1; i++) {
		t0 = mono_s();
		sink_batch(f->sink, *next, *next + 63);
		assert_true(mono_s() - t0 < 0.5);
		*next += 64;
	}
	assert_true(f->sink->written < *next - 1);
}

/* Read and flush until everything made went out. */
static void read_all(struct slow *f, unsigned long long made)
{
	int i;

	for (i = 0; i < 1000000 && f->sink->written + f->sink->lost < made; i++) {
		read_some(f);
		bg_sink_flush(f->sink);
	}
	read_some(f);
}

/* Nobody reads: the records wait, none is lost; then all arrive, once each, in order, whole. */
static void slow_reader(struct slow *f)
{
	unsigned long long next = 1;
	struct tally t;

	fill(f, &next);
	/* More, while nothing is read: they wait too. */
	sink_batch(f->sink, next, next + 999);
	next += 1000;
	assert_true(f->sink->written < next - 1);
	assert_int_equal(f->sink->lost, 0);
	assert_false(f->sink->failing);

	read_all(f, next - 1);
	assert_int_equal(f->sink->written, next - 1);
	assert_int_equal(f->sink->lost, 0);
	tally_text(f->got.buf, &t, 0);
	assert_int_equal(t.ticks, next - 1);
	assert_int_equal(t.last_tick, next - 1);
	assert_int_equal(t.lines, t.ticks);
	assert_int_equal(t.recovered, 0);
}

static void test_sink_stdout_pipe_slow(void **state)
{
	struct slow *f = *state;

	slow_reader(f);
	/* The sink's own description is O_NONBLOCK, the one it shares with its starter is not. */
	assert_int_equal(fcntl(f->wr, F_GETFL) & O_NONBLOCK, 0);
}

static void test_sink_stdout_pipe_polled(void **state)
{
	struct slow *f = *state;

	slow_reader(f);
	assert_int_equal(fcntl(f->wr, F_GETFL) & O_NONBLOCK, 0);
}

static void test_sink_stdout_socket_slow(void **state)
{
	slow_reader(*state);
}

static void test_sink_fifo_slow(void **state)
{
	slow_reader(*state);
}

/*
 * More than the queue holds (8 MiB) while nobody reads a one-page FIFO: the records past it are
 * lost and counted; once read, one sink-recovered record says how many, and every tick made is
 * read or counted as lost.
 */
static void test_sink_fifo_queue_full(void **state)
{
	struct slow *f = *state;
	unsigned long long next = 1, made;
	struct tally t;

	assert_true(fcntl(f->rd, F_SETPIPE_SZ, 4096) >= 4096);
	/* About 9 MiB of ticks, flushed every 1024. */
	while (next * tick_len() < (9u << 20)) {
		sink_batch(f->sink, next, next + 1023);
		next += 1024;
	}
	made = next - 1;
	assert_true(f->sink->lost > 0);
	assert_true(f->sink->failing);
	assert_int_equal(f->sink->last_err, EAGAIN);
	assert_true(f->sink->written + f->sink->lost < made); /* the rest waits */

	/*
	 * The reader catches up, through a larger pipe: each flush that the reader empties the
	 * pipe for ends waiting a few ms for more room (nobody reads during it here).
	 */
	assert_true(fcntl(f->rd, F_SETPIPE_SZ, 1 << 20) >= 1 << 20);
	read_all(f, made + 1); /* the ticks and the sink-recovered record */
	assert_false(f->sink->failing);
	assert_int_equal(f->sink->lost_unreported, 0);
	tally_text(f->got.buf, &t, 0);
	assert_int_equal(t.recovered, 1);
	assert_int_equal(t.lost_sum, f->sink->lost);
	assert_int_equal(t.lost_total_last, f->sink->lost);
	assert_int_equal(t.ticks + f->sink->lost, made);
	assert_int_equal(f->sink->written, (unsigned long long)t.lines);
}

/*
 * The sink-recovered record does not fit in the FIFO and waits; then the reader goes (EPIPE)
 * and the record is lost before it was read. Its count must not be: the next one says it, so
 * that the "lost" of the sink-recovered records in the output still adds up to the total.
 * The FIFO is one page: ticks that fill it to less than a record from its end go out whole,
 * the sink-recovered record after them does not (a write to a full pipe takes nothing).
 */
static void test_sink_recovery_record_waits_then_lost(void **state)
{
	struct slow *f = *state;
	unsigned long long next = 2, k;
	struct tally t;
	size_t len, sum = 0;
	struct bg_record r;

	signal(SIGPIPE, SIG_IGN); /* as the agent: a pipe without a reader is an errno */
	assert_true(fcntl(f->rd, F_SETPIPE_SZ, 4096) >= 4096);
	close(f->rd);
	f->rd = -1;
	sink_batch(f->sink, 1, 1);
	assert_int_equal(f->sink->lost, 1);
	assert_int_equal(f->sink->last_err, EPIPE);

	f->rd = open(f->fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(f->rd >= 0);
	while (sum + (len = tick(&r, next)) <= 4096) {
		bg_sink_emit(f->sink, &r);
		sum += len;
		next++;
	}
	k = next - 2;
	bg_sink_flush(f->sink);
	assert_int_equal(f->sink->written, k); /* the ticks, not the sink-recovered record */
	assert_false(f->sink->failing);
	assert_int_equal(f->sink->lost_unreported, 0); /* counted as said */

	read_some(f);
	close(f->rd);
	f->rd = -1;
	bg_sink_flush(f->sink);
	assert_int_equal(f->sink->last_err, EPIPE);
	assert_int_equal(f->sink->lost, 2);
	assert_int_equal(f->sink->lost_unreported, 2); /* the tick and the record that said it */

	f->rd = open(f->fifo, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	assert_true(f->rd >= 0);
	sink_batch(f->sink, next, next);
	assert_false(f->sink->failing);
	assert_int_equal(f->sink->lost_unreported, 0);
	read_some(f);
	signal(SIGPIPE, SIG_DFL);

	tally_text(f->got.buf, &t, 0);
	assert_int_equal(t.ticks, k + 1);
	assert_int_equal(t.recovered, 1);
	assert_int_equal(t.lost_sum, 2);
	assert_int_equal(t.lost_total_last, 2);
	assert_int_equal(f->sink->written, (unsigned long long)t.lines);
}

/* At the exit, a reader that comes back within the second still gets everything. */
static void test_sink_exit_waits(void **state)
{
	struct slow *f = *state;
	unsigned long long next = 1;
	char out[] = "/tmp/bg-unit-sink-out-XXXXXX";
	struct tally t;
	pid_t pid;
	char *text;
	int fd, st;

	fill(f, &next);
	fd = mkstemp(out);
	assert_true(fd >= 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char buf[65536];
		ssize_t n;
		int i;

		/* Only the read end and the output: EOF once the sink has closed its end. */
		close(STDOUT_FILENO);
		for (i = 3; i < 1024; i++)
			if (i != f->rd && i != fd)
				close(i);
		usleep(200000);
		fcntl(f->rd, F_SETFL, 0);
		while ((n = read(f->rd, buf, sizeof(buf))) > 0)
			if (write(fd, buf, (size_t)n) != n)
				_exit(1);
		_exit(n == 0 ? 0 : 1);
	}
	close(fd);
	close(f->rd);
	f->rd = -1;
	close(f->wr);
	f->wr = -1;
	bg_sink_free(f->sink);
	f->sink = NULL;
	stdout_back(f);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	text = slurp(out);
	unlink(out);
	tally_text(text, &t, 0);
	free(text);
	assert_int_equal(t.ticks, next - 1);
	assert_int_equal(t.lines, t.ticks);
}

/*
 * At the exit, nobody reads: the sink gives up after about a second, and what it could not
 * write is counted as lost and said on stderr (nothing is dropped silently).
 */
static void test_sink_exit_gives_up(void **state)
{
	struct slow *f = *state;
	unsigned long long next = 1, said = 0;
	char errpath[] = "/tmp/bg-unit-sink-err-XXXXXX";
	struct timespec t0, t1;
	struct tally t;
	int fd, saved;
	char *err, *p;
	double secs;

	fill(f, &next);
	fd = mkstemp(errpath);
	assert_true(fd >= 0);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	dup2(fd, STDERR_FILENO);
	close(fd);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	bg_sink_free(f->sink);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	f->sink = NULL;
	dup2(saved, STDERR_FILENO);
	close(saved);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(secs >= 0.9 && secs < 3);

	err = slurp(errpath);
	unlink(errpath);
	p = strstr(err, " records lost so far");
	assert_non_null(p);
	while (p > err && p[-1] >= '0' && p[-1] <= '9')
		p--;
	said = strtoull(p, NULL, 10);
	free(err);

	read_some(f);
	tally_text(f->got.buf, &t, 1); /* the pipe may end in half a record: it was lost */
	assert_int_equal(t.lines, t.ticks);
	assert_int_equal(t.ticks + said, next - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sink_partial_batch_cut_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sink_recovery_record_lost, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sink_stdout_pipe_slow, setup_stdout_pipe,
						teardown_slow),
		cmocka_unit_test_setup_teardown(test_sink_stdout_pipe_polled,
						setup_stdout_pipe_polled, teardown_slow),
		cmocka_unit_test_setup_teardown(test_sink_stdout_socket_slow, setup_stdout_socket,
						teardown_slow),
		cmocka_unit_test_setup_teardown(test_sink_fifo_slow, setup_fifo, teardown_slow),
		cmocka_unit_test_setup_teardown(test_sink_fifo_queue_full, setup_fifo,
						teardown_slow),
		cmocka_unit_test_setup_teardown(test_sink_recovery_record_waits_then_lost,
						setup_fifo, teardown_slow),
		cmocka_unit_test_setup_teardown(test_sink_exit_waits, setup_stdout_pipe,
						teardown_slow),
		cmocka_unit_test_setup_teardown(test_sink_exit_gives_up, setup_fifo, teardown_slow),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
