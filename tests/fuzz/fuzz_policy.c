// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * fuzz_policy.c - libFuzzer target for the policy parser and compiler (policy/).
 *
 * The input is a policy file, byte for byte (not NUL-terminated, so a read past its end is an
 * ASan report). Besides memory errors and leaks, the target aborts when the parser breaks what
 * policy.h and docs/policy.md promise:
 *   - a rejected file gives -EINVAL (or -ENOMEM), leaves *out untouched and yields one
 *     "file:line:col: message" line with no control character in it (it goes to a log);
 *   - an accepted file gives a policy the compiler accepts: ports in 1-65535 and ordered, every
 *     exposure and action resolved, CIDRs normalised (host bits clear, IPv4-mapped networks
 *     stored as IPv4, no duplicates in a list), strings free of control characters other than
 *     tab and newline; and each rule's first and last port land in its own slot;
 *   - each warning of an accepted file is one "file:line:col: warning: message" line with a
 *     position and no control character.
 * Every accepted policy is also printed (to /dev/null), as `bindguard check` does.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

#define FUZZ_NAME "fuzz.yaml"

static FILE *devnull;

#define CHECK(cond, ...)                                                    \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "fuzz_policy: invariant broken: "); \
			fprintf(stderr, __VA_ARGS__);                       \
			fprintf(stderr, " (%s:%d)\n", __FILE__, __LINE__);  \
			abort();                                            \
		}                                                           \
	} while (0)

/* A string from the file: control characters other than tab and newline are refused. */
static void check_text(const char *what, const char *s)
{
	const unsigned char *c;

	if (!s)
		return;
	for (c = (const unsigned char *)s; *c; c++)
		CHECK(*c >= 0x20 || *c == '\t' || *c == '\n', "%s holds control byte 0x%02x", what,
		      *c);
}

static int cidr_eq(const struct bg_cidr *a, const struct bg_cidr *b)
{
	return a->family == b->family && a->prefixlen == b->prefixlen &&
	       !memcmp(a->addr, b->addr, 16);
}

static void check_cidrs(const struct bg_cidr *c, size_t n)
{
	static const __u8 mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	size_t i, k, bits, b;

	CHECK(n > 0 && c, "an empty CIDR list was accepted");
	for (i = 0; i < n; i++) {
		CHECK(c[i].family == BG_AF_INET || c[i].family == BG_AF_INET6, "CIDR family %u",
		      c[i].family);
		bits = c[i].family == BG_AF_INET ? 32 : 128;
		CHECK(c[i].prefixlen <= bits, "CIDR prefix /%u", c[i].prefixlen);
		for (b = c[i].prefixlen; b < 128; b++)
			CHECK(!(c[i].addr[b / 8] & (0x80 >> (b % 8))) || b >= bits,
			      "CIDR host bit %zu set", b);
		for (b = 4; c[i].family == BG_AF_INET && b < 16; b++)
			CHECK(!c[i].addr[b], "IPv4 CIDR with bytes beyond the fourth");
		CHECK(!(c[i].family == BG_AF_INET6 && c[i].prefixlen >= 96 &&
			!memcmp(c[i].addr, mapped, 12)),
		      "an IPv4-mapped network was kept as IPv6");
		for (k = 0; k < i; k++)
			CHECK(!cidr_eq(&c[i], &c[k]), "duplicate CIDR in one list");
	}
}

static void check_policy(const struct bg_policy *p)
{
	const __u8 all = BG_PROTO_BIT(BG_PROTO_TCP) | BG_PROTO_BIT(BG_PROTO_UDP);
	size_t i;

	CHECK(p->source && !strcmp(p->source, FUZZ_NAME), "source is not the name given");
	CHECK(p->mode == BG_MODE_ENFORCE || p->mode == BG_MODE_AUDIT, "mode %u", p->mode);
	CHECK(p->default_action >= 1 && p->default_action <= BG_ACTION_MAX, "default_action %u",
	      p->default_action);
	CHECK(p->unlisted_expose >= 1 && p->unlisted_expose <= BG_EXPOSE_MAX, "unlisted %u",
	      p->unlisted_expose);
	CHECK(p->unlisted_action >= 1 && p->unlisted_action <= BG_ACTION_MAX, "unlisted_action %u",
	      p->unlisted_action);
	CHECK(!(p->unlisted_expose == BG_EXPOSE_PUBLIC && !p->n_rules),
	      "a policy that enforces nothing was accepted");
	if (p->unlisted_expose == BG_EXPOSE_CIDR)
		check_cidrs(p->unlisted_cidrs, p->n_unlisted_cidrs);
	else
		CHECK(!p->n_unlisted_cidrs, "CIDRs without a CIDR exposure");
	check_text("name", p->name);
	CHECK(p->n_rules <= BG_POLICY_MAX_RULES, "%zu rules", p->n_rules);
	for (i = 0; i < p->n_rules; i++) {
		const struct bg_policy_rule *r = &p->rules[i];

		CHECK(r->port_lo >= 1 && r->port_lo <= r->port_hi && r->port_hi <= 65535,
		      "rule %zu ports %u-%u", i, r->port_lo, r->port_hi);
		CHECK(r->protos && !(r->protos & ~all), "rule %zu protos 0x%x", i, r->protos);
		CHECK(r->expose >= 1 && r->expose <= BG_EXPOSE_MAX, "rule %zu expose %u", i,
		      r->expose);
		CHECK(r->action >= 1 && r->action <= BG_ACTION_MAX, "rule %zu action %u", i,
		      r->action);
		CHECK(r->line >= 1 && r->col >= 1, "rule %zu has no position", i);
		if (r->expose == BG_EXPOSE_CIDR)
			check_cidrs(r->cidrs, r->n_cidrs);
		else
			CHECK(!r->n_cidrs, "rule %zu: CIDRs without a CIDR exposure", i);
		check_text("service", r->service);
		check_text("software", r->software);
		check_text("hint", r->hint);
		check_text("note", r->note);
	}
	CHECK(!p->n_warnings || p->warnings, "warnings counted but not stored");
	for (i = 0; i < p->n_warnings; i++) {
		char line[1024];
		const unsigned char *m;

		CHECK(p->warnings[i].line >= 1 && p->warnings[i].col >= 1,
		      "warning without position");
		CHECK(p->warnings[i].msg[0], "empty warning");
		bg_policy_warning_str(p, i, line, sizeof(line));
		CHECK(!strncmp(line, FUZZ_NAME ":", sizeof(FUZZ_NAME)), "warning \"%s\"", line);
		for (m = (const unsigned char *)line; *m; m++)
			CHECK(*m >= 0x20 && *m != 0x7f, "control byte 0x%02x in a warning", *m);
	}
}

static void check_compiled(const struct bg_policy *p, const struct bg_compiled *c)
{
	const struct bg_rule *s;
	__u32 proto;
	size_t i;

	for (i = 0; i < p->n_rules; i++) {
		const struct bg_policy_rule *r = &p->rules[i];

		for (proto = 0; proto < BG_NR_PROTOS; proto++) {
			if (!(r->protos & BG_PROTO_BIT(proto)))
				continue;
			s = &c->slots[BG_RULE_KEY(proto, r->port_lo)];
			CHECK(s->rule_id == i + 1 && s->expose == r->expose, "rule %zu: slot lo",
			      i);
			s = &c->slots[BG_RULE_KEY(proto, r->port_hi)];
			CHECK(s->rule_id == i + 1 && s->expose == r->expose, "rule %zu: slot hi",
			      i);
		}
	}
	s = &c->slots[BG_KEY_UNLISTED];
	CHECK(s->rule_id == 0 && s->expose == p->unlisted_expose, "unlisted slot");
}

static void run_one(const char *buf, size_t len)
{
	struct bg_compile_opts opts = { .mode_override = -1, .first_set_id = 1, .gen = 1 };
	struct bg_policy *const sentinel = (struct bg_policy *)&opts;
	struct bg_policy *p = sentinel;
	struct bg_policy_error err;
	struct bg_compiled c;
	char msg[1024];
	const unsigned char *m;
	int ret;

	ret = bg_policy_parse_buffer(FUZZ_NAME, buf, len, &p, &err);
	if (ret) {
		CHECK(ret == -EINVAL || ret == -ENOMEM, "parse returned %d", ret);
		CHECK(p == sentinel, "*out changed on failure");
		bg_policy_error_str(&err, msg, sizeof(msg));
		CHECK(!strncmp(msg, FUZZ_NAME ":", sizeof(FUZZ_NAME)), "message \"%s\"", msg);
		CHECK(err.msg[0], "empty error message");
		for (m = (const unsigned char *)msg; *m; m++)
			CHECK(*m >= 0x20 && *m != 0x7f, "control byte 0x%02x in the message", *m);
		return;
	}
	CHECK(p && p != sentinel, "success without a policy");
	check_policy(p);
	memset(&c, 0, sizeof(c));
	ret = bg_policy_compile(p, &opts, &c);
	CHECK(ret == 0 || ret == -ENOMEM, "an accepted policy does not compile: %d", ret);
	if (!ret) {
		check_compiled(p, &c);
		bg_compiled_release(&c);
	}
	bg_policy_print(p, devnull);
	bg_policy_free(p);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct bg_policy_error err;
	struct bg_policy *p = NULL;

	(void)argc;
	(void)argv;
	devnull = fopen("/dev/null", "w");
	if (!devnull)
		abort();
	/* The harness itself: the built-in policy must pass every check. */
	CHECK(bg_policy_parse_buffer(FUZZ_NAME, bg_builtin_policy, bg_builtin_policy_len, &p,
				     &err) == 0,
	      "the built-in policy does not parse: %s", err.msg);
	bg_policy_free(p);
	run_one(bg_builtin_policy, bg_builtin_policy_len);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run_one((const char *)data, size);
	return 0;
}
