// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_decide.c - the decision table, driven through the same bg_decide.h that the BPF programs
 * are compiled from.
 *
 * The expectations are written out literally (one letter per class) rather than derived, so a
 * change in bg_decide.h that alters any verdict breaks a row here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "bg_decide.h"
#include "policy.h"

/* Classify a textual address through the v4 or v6 entry point, as the hooks do. */
static __u8 class_of(const char *s)
{
	struct in6_addr a6;
	struct in_addr a4;
	__u32 w[4];

	if (inet_pton(AF_INET, s, &a4) == 1)
		return bg_class_v4(a4.s_addr);
	assert_int_equal(inet_pton(AF_INET6, s, &a6), 1);
	memcpy(w, &a6, 16);
	return bg_class_v6(w[0], w[1], w[2], w[3]);
}

static void test_address_classes(void **state)
{
	static const struct {
		const char *addr;
		__u8 class;
	} cases[] = {
		{ "0.0.0.0", BG_CLASS_WILDCARD },
		{ "127.0.0.1", BG_CLASS_LOOPBACK },
		{ "127.1.2.3", BG_CLASS_LOOPBACK },
		{ "127.255.255.255", BG_CLASS_LOOPBACK },
		{ "127.0.0.0", BG_CLASS_LOOPBACK },
		{ "126.255.255.255", BG_CLASS_SPECIFIC },
		{ "128.0.0.0", BG_CLASS_SPECIFIC },
		{ "10.1.2.3", BG_CLASS_SPECIFIC },
		{ "192.0.2.1", BG_CLASS_SPECIFIC }, /* non-local, as with IP_FREEBIND */
		{ "255.255.255.255", BG_CLASS_SPECIFIC },
		{ "0.0.0.1", BG_CLASS_SPECIFIC },
		{ "::", BG_CLASS_WILDCARD },
		{ "::1", BG_CLASS_LOOPBACK },
		{ "::2", BG_CLASS_SPECIFIC },
		{ "::1:0:0", BG_CLASS_SPECIFIC },
		{ "::ffff:0.0.0.0", BG_CLASS_WILDCARD },
		{ "::ffff:127.0.0.1", BG_CLASS_LOOPBACK },
		{ "::ffff:127.9.8.7", BG_CLASS_LOOPBACK },
		{ "::ffff:10.0.0.1", BG_CLASS_SPECIFIC },
		{ "::ffff:0.0.0.1", BG_CLASS_SPECIFIC },
		{ "::127.0.0.1", BG_CLASS_SPECIFIC }, /* deprecated v4-compatible: not loopback */
		{ "::fffe:0.0.0.0", BG_CLASS_SPECIFIC },
		{ "fe80::1", BG_CLASS_SPECIFIC },
		{ "2001:db8::1", BG_CLASS_SPECIFIC },
		{ "ff02::1", BG_CLASS_SPECIFIC },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (class_of(cases[i].addr) != cases[i].class)
			fail_msg("%s: class %u, expected %u", cases[i].addr,
				 class_of(cases[i].addr), cases[i].class);
	}
}

static char letter(__u8 verdict)
{
	switch (verdict) {
	case BG_VERDICT_ALLOW:
		return 'A';
	case BG_VERDICT_DENY:
		return 'D';
	case BG_VERDICT_ALERT:
		return 'L';
	case BG_VERDICT_CONFINE:
		return 'C';
	default:
		return '?';
	}
}

/*
 * Every exposure x action x mode, one letter per class in the order loopback, wildcard,
 * specific: A allow, D deny, L alert, C confine. CIDR rows are given for an address outside and
 * inside the set (the set only matters for a specific address).
 */
static void test_decision_table(void **state)
{
	static const struct {
		__u8 expose, action, mode;
		int cidr_hit;
		const char *want;
	} rows[] = {
		{ BG_EXPOSE_PUBLIC, BG_ACTION_DENY, BG_MODE_ENFORCE, 0, "AAA" },
		{ BG_EXPOSE_PUBLIC, BG_ACTION_ALERT, BG_MODE_ENFORCE, 0, "AAA" },
		{ BG_EXPOSE_PUBLIC, BG_ACTION_CONFINE, BG_MODE_ENFORCE, 0, "AAA" },
		{ BG_EXPOSE_PUBLIC, BG_ACTION_DENY, BG_MODE_AUDIT, 0, "AAA" },
		{ BG_EXPOSE_PUBLIC, BG_ACTION_ALERT, BG_MODE_AUDIT, 0, "AAA" },
		{ BG_EXPOSE_PUBLIC, BG_ACTION_CONFINE, BG_MODE_AUDIT, 0, "AAA" },

		{ BG_EXPOSE_LOOPBACK, BG_ACTION_DENY, BG_MODE_ENFORCE, 0, "ADD" },
		{ BG_EXPOSE_LOOPBACK, BG_ACTION_ALERT, BG_MODE_ENFORCE, 0, "ALL" },
		{ BG_EXPOSE_LOOPBACK, BG_ACTION_CONFINE, BG_MODE_ENFORCE, 0, "ACD" },
		{ BG_EXPOSE_LOOPBACK, BG_ACTION_DENY, BG_MODE_AUDIT, 0, "ALL" },
		{ BG_EXPOSE_LOOPBACK, BG_ACTION_ALERT, BG_MODE_AUDIT, 0, "ALL" },
		{ BG_EXPOSE_LOOPBACK, BG_ACTION_CONFINE, BG_MODE_AUDIT, 0, "ALL" },

		{ BG_EXPOSE_CIDR, BG_ACTION_DENY, BG_MODE_ENFORCE, 0, "ADD" },
		{ BG_EXPOSE_CIDR, BG_ACTION_DENY, BG_MODE_ENFORCE, 1, "ADA" },
		{ BG_EXPOSE_CIDR, BG_ACTION_ALERT, BG_MODE_ENFORCE, 0, "ALL" },
		{ BG_EXPOSE_CIDR, BG_ACTION_ALERT, BG_MODE_ENFORCE, 1, "ALA" },
		{ BG_EXPOSE_CIDR, BG_ACTION_CONFINE, BG_MODE_ENFORCE, 0, "ACD" },
		{ BG_EXPOSE_CIDR, BG_ACTION_CONFINE, BG_MODE_ENFORCE, 1, "ACA" },
		{ BG_EXPOSE_CIDR, BG_ACTION_DENY, BG_MODE_AUDIT, 0, "ALL" },
		{ BG_EXPOSE_CIDR, BG_ACTION_DENY, BG_MODE_AUDIT, 1, "ALA" },
		{ BG_EXPOSE_CIDR, BG_ACTION_CONFINE, BG_MODE_AUDIT, 1, "ALA" },

		{ BG_EXPOSE_NONE, BG_ACTION_DENY, BG_MODE_ENFORCE, 0, "DDD" },
		{ BG_EXPOSE_NONE, BG_ACTION_ALERT, BG_MODE_ENFORCE, 0, "LLL" },
		{ BG_EXPOSE_NONE, BG_ACTION_CONFINE, BG_MODE_ENFORCE, 0, "DDD" },
		{ BG_EXPOSE_NONE, BG_ACTION_DENY, BG_MODE_AUDIT, 0, "LLL" },
		{ BG_EXPOSE_NONE, BG_ACTION_ALERT, BG_MODE_AUDIT, 0, "LLL" },
		{ BG_EXPOSE_NONE, BG_ACTION_CONFINE, BG_MODE_AUDIT, 0, "LLL" },
		{ BG_EXPOSE_NONE, BG_ACTION_DENY, BG_MODE_ENFORCE, 1, "DDD" },

		/* Fail-closed on values this code does not know. */
		{ BG_EXPOSE_MAX + 1, BG_ACTION_ALERT, BG_MODE_ENFORCE, 0, "LLL" },
		{ 0xff, BG_ACTION_DENY, BG_MODE_ENFORCE, 1, "DDD" },
		{ BG_EXPOSE_LOOPBACK, BG_ACTION_UNSET, BG_MODE_ENFORCE, 0, "ADD" },
		{ BG_EXPOSE_LOOPBACK, BG_ACTION_MAX + 1, BG_MODE_ENFORCE, 0, "ADD" },
		{ BG_EXPOSE_LOOPBACK, BG_ACTION_DENY, 7, 0, "ADD" }, /* only AUDIT relaxes */
	};
	static const __u8 classes[3] = { BG_CLASS_LOOPBACK, BG_CLASS_WILDCARD, BG_CLASS_SPECIFIC };
	struct bg_rule r;
	char got[4];
	size_t i, c;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memset(&r, 0, sizeof(r));
		r.expose = rows[i].expose;
		r.action = rows[i].action;
		r.mode = rows[i].mode;
		r.rule_id = 7;
		r.cidr_set = 1;
		for (c = 0; c < 3; c++)
			got[c] = letter(bg_decide(&r, classes[c], rows[i].cidr_hit));
		got[3] = '\0';
		if (strcmp(got, rows[i].want) != 0)
			fail_msg("row %zu (expose %u action %u mode %u cidr %d): got %s, want %s",
				 i, rows[i].expose, rows[i].action, rows[i].mode, rows[i].cidr_hit,
				 got, rows[i].want);
	}
}

/* Empty means inert: no rule, or an all-zero one, allows everything and raises nothing. */
static void test_empty_rule_is_inert(void **state)
{
	static const __u8 classes[3] = { BG_CLASS_LOOPBACK, BG_CLASS_WILDCARD, BG_CLASS_SPECIFIC };
	struct bg_rule zero;
	size_t c;

	(void)state;
	memset(&zero, 0, sizeof(zero));
	assert_false(bg_rule_is_set(NULL));
	assert_false(bg_rule_is_set(&zero));
	for (c = 0; c < 3; c++) {
		assert_int_equal(bg_decide(NULL, classes[c], 0), BG_VERDICT_ALLOW);
		assert_int_equal(bg_decide(&zero, classes[c], 1), BG_VERDICT_ALLOW);
		/* An all-zero slot with the audit bit still matches nothing. */
		zero.mode = BG_MODE_AUDIT;
		assert_int_equal(bg_decide(&zero, classes[c], 0), BG_VERDICT_ALLOW);
		zero.mode = 0;
	}
	assert_false(bg_should_emit(&zero, BG_VERDICT_ALLOW));
	assert_false(bg_should_emit(NULL, BG_VERDICT_ALLOW));
}

static void test_needs_cidr(void **state)
{
	struct bg_rule r = { .expose = BG_EXPOSE_CIDR, .action = BG_ACTION_DENY, .cidr_set = 3 };

	(void)state;
	assert_true(bg_needs_cidr(&r, BG_CLASS_SPECIFIC));
	assert_false(bg_needs_cidr(&r, BG_CLASS_WILDCARD)); /* no CIDR covers "everything" */
	assert_false(bg_needs_cidr(&r, BG_CLASS_LOOPBACK));
	r.cidr_set = 0; /* an empty set never widens: loopback only */
	assert_false(bg_needs_cidr(&r, BG_CLASS_SPECIFIC));
	assert_int_equal(bg_decide(&r, BG_CLASS_SPECIFIC, 0), BG_VERDICT_DENY);
	r.cidr_set = 3;
	r.expose = BG_EXPOSE_LOOPBACK;
	assert_false(bg_needs_cidr(&r, BG_CLASS_SPECIFIC));
	/* A wildcard is never rescued by a CIDR hit, whatever the caller passes. */
	r.expose = BG_EXPOSE_CIDR;
	assert_int_equal(bg_decide(&r, BG_CLASS_WILDCARD, 1), BG_VERDICT_DENY);
}

static void test_should_emit(void **state)
{
	struct bg_rule r = { .expose = BG_EXPOSE_PUBLIC, .action = BG_ACTION_DENY };

	(void)state;
	assert_false(bg_should_emit(&r, BG_VERDICT_ALLOW));
	assert_true(bg_should_emit(&r, BG_VERDICT_DENY));
	assert_true(bg_should_emit(&r, BG_VERDICT_ALERT));
	assert_true(bg_should_emit(&r, BG_VERDICT_CONFINE));
	r.flags = BG_RULE_F_LOG_ALLOWED;
	assert_true(bg_should_emit(&r, BG_VERDICT_ALLOW));
}

static void test_confine_target(void **state)
{
	struct in6_addr a;
	__u32 in[4], out[4];
	char buf[INET6_ADDRSTRLEN];

	(void)state;
	assert_int_equal(inet_pton(AF_INET6, "::", &a), 1);
	memcpy(in, &a, 16);
	bg_confine_v6(in[0], in[1], in[2], out);
	assert_string_equal(inet_ntop(AF_INET6, out, buf, sizeof(buf)), "::1");

	assert_int_equal(inet_pton(AF_INET6, "::ffff:0.0.0.0", &a), 1);
	memcpy(in, &a, 16);
	bg_confine_v6(in[0], in[1], in[2], out);
	assert_string_equal(inet_ntop(AF_INET6, out, buf, sizeof(buf)), "::ffff:127.0.0.1");

	assert_int_equal(ntohl(BG_V4_LOOPBACK_BE), 0x7f000001u);
	assert_int_equal(bg_class_v4(BG_V4_LOOPBACK_BE), BG_CLASS_LOOPBACK);
}

/* Rule-table keys at the port edges stay inside their protocol's half of the table. */
static void test_rule_keys(void **state)
{
	(void)state;
	assert_int_equal(BG_RULE_KEY(BG_PROTO_TCP, 0), 0);
	assert_int_equal(BG_RULE_KEY(BG_PROTO_TCP, 65535), 65535);
	assert_int_equal(BG_RULE_KEY(BG_PROTO_UDP, 0), 65536);
	assert_int_equal(BG_RULE_KEY(BG_PROTO_UDP, 65535), 131071);
	assert_int_equal(BG_KEY_UNLISTED, 131072);
	assert_int_equal(BG_RULE_SLOTS, 131073);
}

static struct bg_compiled compile_yaml(const char *yaml, int mode_override)
{
	struct bg_compile_opts o = { .mode_override = mode_override, .first_set_id = 1 };
	struct bg_policy_error perr;
	struct bg_compiled c;
	struct bg_policy *p = NULL;

	memset(&c, 0, sizeof(c));
	if (bg_policy_parse_buffer("t.yaml", yaml, strlen(yaml), &p, &perr) != 0)
		fail_msg("parse failed: %s:%u:%u: %s", perr.file, perr.line, perr.col, perr.msg);
	assert_int_equal(bg_policy_compile(p, &o, &c), 0);
	bg_policy_free(p);
	return c;
}

/* An empty policy allows every port and protocol, from every class, and emits nothing. */
static void test_empty_policy(void **state)
{
	static const __u8 classes[3] = { BG_CLASS_LOOPBACK, BG_CLASS_WILDCARD, BG_CLASS_SPECIFIC };
	/*
	 * The parser refuses a policy that enforces nothing, so build the empty policy directly:
	 * what matters here is that its compiled table is inert.
	 */
	struct bg_policy empty = {
		.source = "empty",
		.mode = BG_MODE_ENFORCE,
		.default_action = BG_ACTION_DENY,
		.unlisted_expose = BG_EXPOSE_PUBLIC,
		.unlisted_action = BG_ACTION_DENY,
	};
	struct bg_compile_opts o = { .mode_override = -1, .first_set_id = 1 };
	struct bg_compiled c;
	const struct bg_rule *r;
	__u32 proto, port;
	size_t k;

	(void)state;
	assert_int_equal(bg_policy_compile(&empty, &o, &c), 0);
	for (proto = 0; proto < BG_NR_PROTOS; proto++) {
		for (port = 0; port < BG_NR_PORTS; port++) {
			r = &c.slots[BG_RULE_KEY(proto, port)];
			if (!bg_rule_is_set(r))
				r = &c.slots[BG_KEY_UNLISTED];
			for (k = 0; k < 3; k++) {
				__u8 v = bg_decide(r, classes[k], 0);

				if (v != BG_VERDICT_ALLOW || bg_should_emit(r, v))
					fail_msg("empty policy: port %u proto %u class %u -> %u",
						 port, proto, classes[k], v);
			}
		}
	}
	bg_compiled_release(&c);
}

/* Ports 1 and 65535 as rules (0 is refused): the edge slots hold them, the neighbours do not. */
static void test_port_edges_compiled(void **state)
{
	struct bg_compiled c = compile_yaml("version: 1\n"
					    "rules:\n"
					    "  - port: 1\n"
					    "    expose: loopback\n"
					    "  - port: 65535\n"
					    "    proto: udp\n"
					    "    expose: none\n",
					    -1);

	(void)state;
	assert_int_equal(bg_decide(&c.slots[BG_RULE_KEY(BG_PROTO_TCP, 1)], BG_CLASS_WILDCARD, 0),
			 BG_VERDICT_DENY);
	assert_false(bg_rule_is_set(&c.slots[BG_RULE_KEY(BG_PROTO_TCP, 0)]));
	assert_false(bg_rule_is_set(&c.slots[BG_RULE_KEY(BG_PROTO_TCP, 2)]));
	assert_false(bg_rule_is_set(&c.slots[BG_RULE_KEY(BG_PROTO_UDP, 1)]));
	assert_int_equal(
		bg_decide(&c.slots[BG_RULE_KEY(BG_PROTO_UDP, 65535)], BG_CLASS_LOOPBACK, 0),
		BG_VERDICT_DENY);
	assert_false(bg_rule_is_set(&c.slots[BG_RULE_KEY(BG_PROTO_TCP, 65535)]));
	assert_false(bg_rule_is_set(&c.slots[BG_RULE_KEY(BG_PROTO_UDP, 65534)]));
	bg_compiled_release(&c);
}

/* The built-in iRedMail policy, decided for the forms the integration test binds. */
static void test_builtin_policy_decisions(void **state)
{
	static const struct {
		__u16 port;
		const char *want; /* per address below */
	} rows[] = {
		{ 25, "AAAAAAAA" },    { 3306, "DDDDAAAA" }, { 11211, "DDDDAAAA" },
		{ 4190, "DDDDDDDD" },  { 636, "DDDDDDDD" },  { 443, "AAAAAAAA" },
		{ 10024, "DDDDAAAA" }, { 8080, "AAAAAAAA" }, /* unlisted: public */
	};
	static const char *const addrs[8] = {
		"0.0.0.0",   "::",  "::ffff:0.0.0.0",  "192.0.2.7", "127.0.0.1",
		"127.1.2.3", "::1", "::ffff:127.0.0.1"
	};
	struct bg_policy_error perr;
	struct bg_compile_opts o = { .mode_override = -1, .first_set_id = 1 };
	struct bg_policy *p = NULL;
	struct bg_compiled c;
	const struct bg_rule *r;
	char got[9];
	size_t i, k;

	(void)state;
	assert_int_equal(bg_policy_parse_buffer(BG_BUILTIN_POLICY_NAME, bg_builtin_policy,
						bg_builtin_policy_len, &p, &perr),
			 0);
	assert_int_equal(bg_policy_compile(p, &o, &c), 0);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		r = &c.slots[BG_RULE_KEY(BG_PROTO_TCP, rows[i].port)];
		if (!bg_rule_is_set(r))
			r = &c.slots[BG_KEY_UNLISTED];
		for (k = 0; k < 8; k++)
			got[k] = letter(bg_decide(r, class_of(addrs[k]), 0));
		got[8] = '\0';
		if (strcmp(got, rows[i].want) != 0)
			fail_msg("port %u: got %s want %s", rows[i].port, got, rows[i].want);
	}
	bg_compiled_release(&c);
	bg_policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_address_classes),
		cmocka_unit_test(test_decision_table),
		cmocka_unit_test(test_empty_rule_is_inert),
		cmocka_unit_test(test_needs_cidr),
		cmocka_unit_test(test_should_emit),
		cmocka_unit_test(test_confine_target),
		cmocka_unit_test(test_rule_keys),
		cmocka_unit_test(test_empty_policy),
		cmocka_unit_test(test_port_edges_compiled),
		cmocka_unit_test(test_builtin_policy_decisions),
	};

	return cmocka_run_group_tests_name("decide", tests, NULL, NULL);
}
