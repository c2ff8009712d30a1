// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_note.c - when post_bind may skip its judgement: bg_note_check() from bg_decide.h, the one
 * function the BPF post_bind programs ask.
 *
 * The shortcut is safe only if every note that is not this bind's own makes post_bind judge in
 * full. Each row below is one way a note can be someone else's or out of date (another socket,
 * a rewritten address or port, an overridden deny, another policy bank, a task that migrated
 * and reads another CPU's note), with the answer written out literally.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "bg_decide.h"

#define COOKIE 0x1234abcdULL

/* A note as bind4 leaves it for 0.0.0.0:3306 (v4-mapped), judged and let through in bank 1. */
static struct bg_note note_for(const char *v4, __u16 port)
{
	struct bg_note n;

	memset(&n, 0, sizeof(n));
	n.cookie = COOKIE;
	n.addr[2] = BG_V4MAPPED_BE;
	assert_int_equal(inet_pton(AF_INET, v4, &n.addr[3]), 1);
	n.port = port;
	n.any_port = port == 0;
	n.bank = 1;
	return n;
}

static void mapped(const char *v4, __u32 w[4])
{
	w[0] = 0;
	w[1] = 0;
	w[2] = BG_V4MAPPED_BE;
	assert_int_equal(inet_pton(AF_INET, v4, &w[3]), 1);
}

static void test_note_rows(void **state)
{
	static const struct {
		const char *what;
		const char *note_addr; /* the note bind4 wrote */
		__u16 note_port;
		int denied;
		__u64 cookie; /* post_bind's view: socket, final address and port, bank */
		const char *addr;
		__u16 port;
		__u32 bank;
		int want;
	} rows[] = {
		{ "the same bind, nothing changed", "0.0.0.0", 3306, 0, COOKIE, "0.0.0.0", 3306, 1,
		  BG_NOTE_JUDGED },
		{ "another socket (a migrated task reads another CPU's note)", "0.0.0.0", 3306, 0,
		  COOKIE + 1, "0.0.0.0", 3306, 1, BG_NOTE_REJUDGE },
		{ "address rewritten after bind4 by another program", "127.0.0.1", 3306, 0, COOKIE,
		  "0.0.0.0", 3306, 1, BG_NOTE_REJUDGE },
		{ "port rewritten after bind4 by another program", "0.0.0.0", 13306, 0, COOKIE,
		  "0.0.0.0", 3306, 1, BG_NOTE_REJUDGE },
		{ "a deny overridden by a later program (bpf_set_retval)", "0.0.0.0", 3306, 1,
		  COOKIE, "0.0.0.0", 3306, 1, BG_NOTE_REJUDGE },
		{ "the policy was swapped between the two hooks", "0.0.0.0", 3306, 0, COOKIE,
		  "0.0.0.0", 3306, 0, BG_NOTE_REJUDGE },
		{ "port 0 asked for: the kernel picked 3306", "0.0.0.0", 0, 0, COOKIE, "0.0.0.0",
		  3306, 1, BG_NOTE_EPHEMERAL },
		{ "port 0 asked for, in another bank: still its own rule", "0.0.0.0", 0, 0, COOKIE,
		  "0.0.0.0", 3306, 0, BG_NOTE_EPHEMERAL },
		{ "port 0 asked for, address rewritten after bind4", "127.0.0.1", 0, 0, COOKIE,
		  "0.0.0.0", 40000, 1, BG_NOTE_REJUDGE },
		{ "port 0 asked for, another socket's note", "0.0.0.0", 0, 0, COOKIE + 8192,
		  "0.0.0.0", 40000, 1, BG_NOTE_REJUDGE },
		{ "a socket without a cookie never matches", "0.0.0.0", 3306, 0, 0, "0.0.0.0", 3306,
		  1, BG_NOTE_REJUDGE },
	};
	struct bg_note n;
	__u32 w[4];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		n = note_for(rows[i].note_addr, rows[i].note_port);
		n.denied = rows[i].denied;
		if (rows[i].cookie == 0)
			n.cookie = 0;
		mapped(rows[i].addr, w);
		if (bg_note_check(&n, rows[i].cookie, w, rows[i].port, rows[i].bank) !=
		    rows[i].want)
			fail_msg("%s: got %d, want %d", rows[i].what,
				 bg_note_check(&n, rows[i].cookie, w, rows[i].port, rows[i].bank),
				 rows[i].want);
	}
}

/* No note at all (the per-CPU map lookup failed): judge in full. */
static void test_no_note(void **state)
{
	__u32 w[4];

	(void)state;
	mapped("0.0.0.0", w);
	assert_int_equal(bg_note_check(NULL, COOKIE, w, 3306, 1), BG_NOTE_REJUDGE);
}

/* An all-zero note (a CPU that never ran bind4) matches nothing: empty means inert. */
static void test_zero_note(void **state)
{
	struct bg_note n;
	__u32 w[4] = { 0, 0, 0, 0 };

	(void)state;
	memset(&n, 0, sizeof(n));
	assert_int_equal(bg_note_check(&n, COOKIE, w, 0, 0), BG_NOTE_REJUDGE);
	assert_int_equal(bg_note_check(&n, 0, w, 0, 0), BG_NOTE_REJUDGE);
}

/* Every word of the address counts, IPv6 included. */
static void test_every_address_word(void **state)
{
	struct bg_note n;
	__u32 w[4];
	int k;

	(void)state;
	memset(&n, 0, sizeof(n));
	n.cookie = COOKIE;
	n.port = 5353;
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", n.addr), 1);
	memcpy(w, n.addr, sizeof(w));
	assert_int_equal(bg_note_check(&n, COOKIE, w, 5353, 0), BG_NOTE_JUDGED);
	for (k = 0; k < 4; k++) {
		memcpy(w, n.addr, sizeof(w));
		w[k] ^= BG_BE32(1u);
		assert_int_equal(bg_note_check(&n, COOKIE, w, 5353, 0), BG_NOTE_REJUDGE);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_note_rows),
		cmocka_unit_test(test_no_note),
		cmocka_unit_test(test_zero_note),
		cmocka_unit_test(test_every_address_word),
	};

	return cmocka_run_group_tests_name("note", tests, NULL, NULL);
}
