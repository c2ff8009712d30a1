// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_sink.c - unit tests for agent/sink.c: the accounting of a file sink whose writes fail.
 *
 * A real file, written with write(2), made to fail with RLIMIT_FSIZE (EFBIG after a short write,
 * as a disk filling up gives ENOSPC after taking what fits): no root and no tmpfs needed. The
 * promise under test (sink.h): every record is in the file or counted as lost, no half record
 * stays in the file, and the "lost" of the sink-recovered records adds up to the sink's total,
 * also when a sink-recovered record is itself lost.
 *
 * Every test function is static, so one left out of main()'s table fails the build
 * (-Wunused-function with -Werror).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
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

/* Ticks first..last queued, then flushed as one batch; the length of the last tick's line. */
static size_t batch(struct fixture *f, unsigned long long first, unsigned long long last)
{
	struct bg_record r;
	size_t len = 0;

	for (; first <= last; first++) {
		len = tick(&r, first);
		bg_sink_emit(f->sink, &r);
	}
	bg_sink_flush(f->sink);
	return len;
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
};

/* Every line of the file is one whole JSON record; count them and add up what they report. */
static void tally_file(const struct fixture *f, struct tally *t)
{
	char *text = slurp(f->path), *line = text, *nl;
	const struct jc_member *m;
	struct jc j;

	memset(t, 0, sizeof(*t));
	while (*line) {
		nl = strchr(line, '\n');
		assert_non_null(nl); /* no half line at the end */
		assert_int_equal(jc_line(&j, line, (size_t)(nl - line) + 1), 0);
		t->lines++;
		m = jc_get(&j, "state");
		assert_non_null(m);
		if (strncmp(line + m->val_off, "\"tick\"", 6) == 0) {
			t->ticks++;
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sink_partial_batch_cut_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sink_recovery_record_lost, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
