// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_policy.c - unit tests for policy/: the parser and validator (every error with its exact
 * position, syntax errors explained as the mistake behind them, warnings), the compiler (slot
 * contents, CIDR keys), the names, the printer, how bg_cli_load_policy() prints errors and
 * warnings, and the shipped iRedMail profile checked row by row against the seed table. Runs
 * without root.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "policy.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define TCP BG_PROTO_BIT(BG_PROTO_TCP)
#define UDP BG_PROTO_BIT(BG_PROTO_UDP)

/* A pointer no allocator returns: proves that a failed call left *out alone. */
#define SENTINEL ((struct bg_policy *)(uintptr_t)0x5eed)

static int parse(const char *yaml, struct bg_policy **out, struct bg_policy_error *err)
{
	return bg_policy_parse_buffer("test.yaml", yaml, strlen(yaml), out, err);
}

static struct bg_policy *parse_ok(const char *yaml)
{
	struct bg_policy_error err;
	struct bg_policy *p = NULL;
	char buf[1024];
	int ret;

	ret = parse(yaml, &p, &err);
	if (ret)
		print_error("unexpected error %d: %s\n", ret,
			    bg_policy_error_str(&err, buf, sizeof(buf)));
	assert_int_equal(ret, 0);
	assert_non_null(p);
	return p;
}

static const struct bg_policy_rule *find_rule(const struct bg_policy *p, __u32 port, __u8 proto)
{
	size_t i;

	for (i = 0; i < p->n_rules; i++)
		if (p->rules[i].port_lo <= port && port <= p->rules[i].port_hi &&
		    (p->rules[i].protos & BG_PROTO_BIT(proto)))
			return &p->rules[i];
	return NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Error cases: each one is a policy, the exact position and a part of the message */

struct err_case {
	const char *name;
	const char *yaml;
	unsigned int line, col;
	const char *msg; /* substring of err.msg */
};

/* Runs every case and reports all that fail, then fails once. */
static void check_errors(const struct err_case *cases, size_t n)
{
	size_t i, bad = 0;

	for (i = 0; i < n; i++) {
		const struct err_case *t = &cases[i];
		struct bg_policy *p = SENTINEL;
		struct bg_policy_error err;
		int ret;

		memset(&err, 0x7f, sizeof(err));
		ret = parse(t->yaml, &p, &err);
		if (ret == -EINVAL && p == SENTINEL && err.line == t->line && err.col == t->col &&
		    strstr(err.msg, t->msg) && !strcmp(err.file, "test.yaml"))
			continue;
		print_error(
			"case \"%s\": want -EINVAL at %u:%u \"%s\", got %d at %u:%u \"%.512s\"%s\n",
			t->name, t->line, t->col, t->msg, ret, err.line, err.col,
			ret ? err.msg : "", p == SENTINEL ? "" : " (out changed)");
		if (!ret && p != SENTINEL)
			bg_policy_free(p);
		bad++;
	}
	assert_int_equal(bad, 0);
}

#define RULES "version: 1\nrules:\n"

static void test_errors_structure(void **state)
{
	static const struct err_case cases[] = {
		{ "empty file", "", 1, 1, "empty policy" },
		{ "comment only", "# nothing here\n", 1, 1, "empty policy" },
		{ "empty document", "# x\n---\n", 3, 1, "empty policy" },
		{ "null document", "~\n", 1, 1, "empty policy" },
		{ "scalar top level", "hello\n", 1, 1, "a policy is a mapping" },
		{ "sequence top level", "- port: 1\n", 1, 1, "not a sequence" },
		{ "second document", RULES "  - port: 1\n    expose: public\n---\nversion: 1\n", 5,
		  1, "a second YAML document" },
		{ "missing version", "unlisted: none\nrules: []\n", 1, 1,
		  "missing required key \"version\"" },
		{ "missing version (indented)", "  unlisted: none\n  rules: []\n", 1, 3,
		  "missing required key \"version\"" },
		{ "missing rules", "version: 1\n", 1, 1, "missing required key \"rules\"" },
		{ "unknown top-level key", "version: 1\nfoo: 1\nrules: []\n", 2, 1,
		  "unknown key \"foo\" at top level (expected one of: version, name, mode, "
		  "default_action, unlisted, unlisted_action, rules, scopes)" },
		{ "unknown rule key", RULES "  - port: 3306\n    exposee: loopback\n", 4, 5,
		  "unknown key \"exposee\" in rule (expected one of: port, ports, proto, expose, "
		  "action, service, software, hint, note)" },
		{ "unknown key, escaped", RULES "  - port: 1\n    \"a\\\"b\\tc\": 1\n", 4, 5,
		  "unknown key \"a\\\"b\\x09c\"" },
		{ "duplicate top-level key", "version: 1\nversion: 1\nrules: []\n", 2, 1,
		  "duplicate key \"version\" (first at line 1)" },
		{ "duplicate rule key",
		  RULES "  - port: 3306\n    expose: loopback\n    port: 3307\n", 5, 5,
		  "duplicate key \"port\" (first at line 3)" },
		{ "duplicate in flow mapping", RULES "  - {port: 1, expose: none, expose: none}\n",
		  3, 29, "duplicate key \"expose\"" },
		{ "rules is a mapping", "version: 1\nrules: {port: 1}\n", 2, 8,
		  "rules must be a sequence of rules, not a mapping" },
		{ "rules is a string", "version: 1\nrules: \"none\"\n", 2, 8,
		  "rules must be a sequence of rules, not a quoted string" },
		{ "rules is empty", "version: 1\nrules:\n", 2, 7,
		  "rules must be a sequence of rules, not an empty value" },
		{ "rule is a scalar", RULES "  - 3306\n", 3, 5, "a rule must be a mapping" },
		{ "rule is a sequence", RULES "  - [3306, public]\n", 3, 5,
		  "a rule must be a mapping" },
		{ "key is a sequence",
		  RULES "  - port: 1\n    expose: public\n    ? [a]\n    : b\n", 5, 7,
		  "keys must be strings, not a sequence" },
		{ "no rules, unlisted public", "version: 1\nrules: []\n", 2, 8,
		  "this policy enforces nothing" },
		{ "no rules, unlisted public (explicit)",
		  "version: 1\nrules: []\nunlisted: public\n", 2, 8, "enforces nothing" },
		{ "alias",
		  RULES "  - port: 1\n    expose: &x public\n  - port: 2\n    expose: *x\n", 6, 13,
		  "aliases (*x) are not supported" },
		{ "explicit tag", RULES "  - port: !!int 1\n    expose: public\n", 3, 11,
		  "YAML tags" },
		{ "tag on a mapping", "--- !policy\nversion: 1\nrules: []\n", 1, 5,
		  "YAML tags (!policy) are not supported" },
	};

	(void)state;
	check_errors(cases, ARRAY_SIZE(cases));
}

static void test_errors_yaml_syntax(void **state)
{
	static const struct err_case cases[] = {
		{ "unclosed flow sequence", RULES "  - port: 1\n    expose: [10.0.0.0/8\n", 5, 1,
		  "YAML syntax error" },
		{ "bad indentation", RULES "  - port: 1\n    expose: public\n  bad: [\n", 5, 3,
		  "bad indentation: \"bad\" is indented 2 spaces: align it with the top-level keys "
		  "(0 spaces) or with the keys of the rule at line 3 (4 spaces)" },
		{ "tab indentation", RULES "  - port: 1\n    expose: public\n\t- x\n", 5, 1,
		  "a tab is used for indentation" },
		{ "mapping value in plain scalar", "version: 1\nname: a: b\nrules: []\n", 2, 8,
		  "the value of \"name\" contains \": \"" },
		/* A value that is already wrong is reported before the syntax error after it. */
		{ "the first error in the file wins", "version: 1\nrules: a: b\n", 2, 8,
		  "rules must be a sequence of rules, not a plain scalar" },
		{ "BOM then a syntax error", "\xef\xbb\xbfversion: 1\nname: a: b\n", 2, 8,
		  "quote it: name: \"a: b\"" },
		/* Not one of the mistakes explain.c knows: libyaml's own words. */
		{ "unrecognised syntax error keeps libyaml's message", "version: 1\nname: 'a' b\n",
		  2, 11, "YAML syntax error: did not find expected key" },
		{ "BOM then bad UTF-8", "\xef\xbb\xbfversion: 1\nname: \"\xff\"\n", 2, 8,
		  "invalid leading UTF-8 octet" },
		{ "UTF-8 columns count characters", "version: 1\nname: \"\xc3\xa9\xc3\xa9\xff\"\n",
		  2, 10, "invalid leading UTF-8 octet" },
		{ "unterminated quote", "version: 1\nname: \"abc\nrules: []\n", 4, 1,
		  "YAML syntax error" },
		{ "invalid UTF-8", RULES "  - port: 1\n    expose: public\n    note: \"\xff\"\n", 5,
		  12, "invalid input: invalid leading UTF-8 octet" },
		{ "raw control character", RULES "  - port: 1\n    note: \"\x01\"\n", 4, 12,
		  "control characters are not allowed" },
		{ "CRLF line ends count as one",
		  "version: 1\r\nrules:\r\n  - port: 1\r\n    note: \"\x01\"\r\n", 4, 12,
		  "control characters are not allowed" },
	};

	(void)state;
	check_errors(cases, ARRAY_SIZE(cases));
}

/*
 * The mistakes behind libyaml's syntax errors (and the valid YAML that a mis-indented key makes),
 * each said in the author's terms, at the place to fix, with the fix.
 */
static void test_errors_explained(void **state)
{
	static const struct err_case cases[] = {
		/* Tabs: at the tab, whatever libyaml calls it. */
		{ "tab before a key", RULES "  - port: 1\n\texpose: public\n", 4, 1,
		  "a tab is used for indentation: YAML allows only spaces there (replace the tab "
		  "with spaces)" },
		{ "tab after spaces", RULES "  - port: 1\n  \texpose: public\n", 4, 3,
		  "a tab is used for indentation" },
		{ "tab after the dash", RULES "  - \tport: 1\n    expose: none\n", 3, 5,
		  "a tab is used for indentation" },
		{ "tab before the dash", "version: 1\nrules:\n\t- port: 1\n", 3, 1,
		  "a tab is used for indentation" },
		{ "tab before a top-level key", "version: 1\n\tname: x\nrules: []\n", 2, 1,
		  "a tab is used for indentation" },
		/* Indentation: the structure error comes before "rule has no expose". */
		{ "key indented 3 instead of 4", RULES "  - port: 3306\n   expose: loopback\n", 4,
		  4,
		  "bad indentation: \"expose\" is indented 3 spaces, but the other keys of the rule "
		  "at line 3 are indented 4 spaces: align it with them" },
		{ "key indented 5 instead of 4", RULES "  - port: 3306\n     expose: loopback\n", 4,
		  6,
		  "bad indentation: \"expose\" is indented 5 spaces, but the other keys of the rule "
		  "at line 3 are indented 4 spaces: align it with them" },
		{ "key indented 3, in a later rule after a blank line",
		  RULES "  - port: 1\n    expose: none\n  - port: 2\n\n   expose: none\n", 7, 4,
		  "\"expose\" is indented 3 spaces, but the other keys of the rule at line 5 are "
		  "indented 4 spaces" },
		{ "expose at column 1 (valid YAML: a top-level key)",
		  RULES "  - port: 3306\nexpose: loopback\n", 4, 1,
		  "bad indentation: \"expose\" is indented 0 spaces, but the other keys of the rule "
		  "at line 3 are indented 4 spaces: align it with them" },
		{ "port at column 1", RULES "  - expose: none\nport: 1\n", 4, 1,
		  "bad indentation: \"port\" is indented 0 spaces, but the other keys of the rule at "
		  "line 3 are indented 4 spaces" },
		{ "optional rule key at column 1", RULES "  - port: 1\n    expose: none\nhint: x\n",
		  5, 1,
		  "unknown key \"hint\" at top level (expected one of: version, name, mode, "
		  "default_action, unlisted, unlisted_action, rules, scopes); \"hint\" is a rule key: indent "
		  "it like the other keys of its rule" },
		{ "entry indented 3 instead of 2",
		  RULES "  - port: 1\n    expose: none\n   - port: 2\n     expose: none\n", 5, 4,
		  "bad indentation: this \"-\" entry is indented 3 spaces, but the other entries of "
		  "the rules list at line 3 are indented 2 spaces: align it with them" },
		{ "CIDR entry indented 5 instead of 6",
		  RULES "  - port: 1\n    expose:\n      - 10.0.0.0/8\n     - 10.1.0.0/16\n", 6, 6,
		  "this \"-\" entry is indented 5 spaces, but the other entries of the CIDR list at "
		  "line 5 are indented 6 spaces" },
		{ "top-level key indented 1", "version: 1\n rules: []\n", 2, 2,
		  "bad indentation: \"rules\" is indented 1 space, but the other top-level keys are "
		  "indented 0 spaces: align it with them" },
		{ "top-level key after a rule, indented 1",
		  "version: 1\nrules:\n- port: 1\n  expose: none\n name: x\n", 5, 2,
		  "\"name\" is indented 1 space, but the other top-level keys are indented 0 spaces" },
		/* A ": " in a plain value: quote it, with the line to write. */
		{ "colon in a hint",
		  RULES "  - port: 1\n    expose: public\n    hint: Set bind-address: 127.0.0.1 # "
			"mysql\n",
		  5, 27,
		  "the value of \"hint\" contains \": \", which YAML reads as one more key: quote it: "
		  "hint: \"Set bind-address: 127.0.0.1\"" },
		{ "colon in a value with quotes in it",
		  RULES "  - port: 1\n    expose: public\n    note: Say \"x\": y\n", 5, 18,
		  "quote it: note: \"Say \\\"x\\\": y\"" },
		{ "colon on the line of the dash", RULES "  - service: db: main\n", 3, 16,
		  "quote it: service: \"db: main\"" },
		{ "colon on a later line of the value",
		  RULES
		  "  - port: 1\n    expose: public\n    hint: Set bind-address\n      to x: y\n",
		  6, 11,
		  "\": \" inside an unquoted value reads as one more key: put the whole value in "
		  "double quotes" },
		{ "colon in a value too long to repeat",
		  RULES
		  "  - port: 1\n    expose: public\n    hint: a: "
		  "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
		  "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
		  "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
		  "\n",
		  5, 12,
		  "the value of \"hint\" contains \": \", which YAML reads as one more key: put the "
		  "whole value in double quotes" },
		{ "colon in a flow mapping", RULES "  - {port: 1, expose: public, hint: a: b}\n", 3,
		  38,
		  "\":\" inside an unquoted value of a flow mapping {...}: put the value in double "
		  "quotes" },
		/* IPv6 in a flow list: quote it, with the list to write. */
		{ "unquoted IPv6 in a flow list",
		  RULES "  - port: 1\n    expose: [::1, fd00::/8]\n", 4, 14,
		  "an unquoted entry cannot start with \":\" in a flow list [...]: quote the IPv6 "
		  "addresses: expose: [\"::1\", \"fd00::/8\"]" },
		{ "unquoted IPv6 later in a flow list",
		  RULES "  - port: 1\n    expose: [10.0.0.0/8 , ::1]\n", 4, 27,
		  "quote the IPv6 addresses: expose: [10.0.0.0/8, \"::1\"]" },
		{ "unquoted IPv6 on the line of the dash", RULES "  - expose: [::1]\n", 3, 14,
		  "quote the IPv6 addresses: expose: [\"::1\"]" },
		{ "unquoted IPv6 in unlisted", "version: 1\nunlisted: [::1]\nrules: []\n", 2, 12,
		  "quote the IPv6 addresses: unlisted: [\"::1\"]" },
		{ "unquoted IPv6 after a tab",
		  "version: 1\nunlisted:\t[::1, 10.0.0.0/8]\nrules: []\n", 2, 12,
		  "quote the IPv6 addresses: unlisted: [\"::1\", 10.0.0.0/8]" },
		{ "unquoted IPv6 in a flow list across lines",
		  RULES "  - port: 1\n    expose: [10.0.0.0/8,\n      ::1]\n", 5, 7,
		  "an unquoted entry cannot start with \":\" in a flow list [...]: quote the IPv6 "
		  "addresses, e.g. [\"::1\"]" },
	};

	(void)state;
	check_errors(cases, ARRAY_SIZE(cases));
}

static void test_errors_ports(void **state)
{
	static const struct err_case cases[] = {
		{ "65536", RULES "  - port: 65536\n    expose: public\n", 3, 11,
		  "port 65536 is out of range (1-65535)" },
		{ "-1", RULES "  - port: -1\n    expose: public\n", 3, 11,
		  "port -1 is out of range (1-65535)" },
		{ "port 0", RULES "  - port: 0\n    expose: public\n", 3, 11,
		  "port 0 cannot be named in a rule: binding port 0 asks the kernel to pick an "
		  "ephemeral port, so no socket ever ends up on port 0 (rules name ports 1-65535)" },
		{ "port 00", RULES "  - port: 00\n    expose: public\n", 3, 11,
		  "leading zeros are not allowed" },
		{ "ports 0", RULES "  - ports: 0\n    expose: public\n", 3, 12,
		  "ports \"0\": port 0 cannot be named in a rule: binding port 0 asks the kernel" },
		{ "ports 0-0", RULES "  - ports: 0-0\n    expose: public\n", 3, 12,
		  "ports \"0-0\": port 0 cannot be named in a rule" },
		{ "range from 0", RULES "  - ports: 0-1023\n    expose: public\n", 3, 12,
		  "ports \"0-1023\" includes port 0, which cannot be named in a rule (binding port 0 "
		  "asks the kernel to pick an ephemeral port, so no socket ever ends up on port 0): "
		  "write ports: 1-1023" },
		{ "range 0-1", RULES "  - ports: 0-1\n    expose: public\n", 3, 12,
		  "includes port 0, which cannot be named in a rule (binding port 0 asks the kernel "
		  "to pick an ephemeral port, so no socket ever ends up on port 0): write port: 1" },
		{ "range from 0, spaced", RULES "  - ports: \"0 - 65535\"\n    expose: public\n", 3,
		  12, "write ports: 1-65535" },
		{ "port holding a range", RULES "  - port: 10024-10028\n    expose: loopback\n", 3,
		  11, "port \"10024-10028\" is a range: write ports: 10024-10028" },
		{ "port holding a quoted range, spaced",
		  RULES "  - port: \"7 - 9\"\n    expose: loopback\n", 3, 11,
		  "port \"7 - 9\" is a range: write ports: 7-9" },
		{ "port holding a range from 0", RULES "  - port: 0-10\n    expose: loopback\n", 3,
		  11, "port \"0-10\" is a range: write ports: 1-10" },
		{ "huge", RULES "  - port: 99999999999999999999\n    expose: public\n", 3, 11,
		  "out of range" },
		{ "4294967296 (no 32-bit wrap)", RULES "  - port: 4294967296\n    expose: public\n",
		  3, 11, "out of range" },
		{ "33o6", RULES "  - port: 33o6\n    expose: public\n", 3, 11,
		  "port \"33o6\" is not a decimal integer" },
		{ "quoted empty", RULES "  - port: \"\"\n    expose: public\n", 3, 11,
		  "port must be an integer, not a quoted string" },
		{ "no value", RULES "  - port:\n    expose: public\n", 3, 10,
		  "port must be an integer, not an empty value" },
		{ "~", RULES "  - port: ~\n    expose: public\n", 3, 11, "not an empty value" },
		{ "leading +", RULES "  - port: +1\n    expose: public\n", 3, 11,
		  "not a decimal integer" },
		{ "hex", RULES "  - port: 0x10\n    expose: public\n", 3, 11,
		  "not a decimal integer" },
		{ "octal-looking", RULES "  - port: 0123\n    expose: public\n", 3, 11,
		  "leading zeros are not allowed" },
		{ "trailing junk", RULES "  - port: 3306abc\n    expose: public\n", 3, 11,
		  "not a decimal integer" },
		{ "trailing space inside quotes is still a string",
		  RULES "  - port: '3306 '\n    expose: public\n", 3, 11, "not a quoted string" },
		{ "underscore", RULES "  - port: 3_306\n    expose: public\n", 3, 11,
		  "not a decimal integer" },
		{ "float", RULES "  - port: 80.0\n    expose: public\n", 3, 11,
		  "not a decimal integer" },
		{ "quoted number", RULES "  - port: \"3306\"\n    expose: public\n", 3, 11,
		  "port must be an integer, not a quoted string" },
		{ "sequence", RULES "  - port: [1]\n    expose: public\n", 3, 11,
		  "port must be an integer, not a sequence" },
		{ "port and ports", RULES "  - port: 3306\n    ports: 3307\n    expose: loopback\n",
		  4, 5, "either \"port\" or \"ports\", not both" },
		{ "ports and port", RULES "  - ports: 1-2\n    expose: loopback\n    port: 3\n", 5,
		  5, "not both" },
		{ "neither", RULES "  - expose: loopback\n", 3, 5, "rule has no port" },
		{ "no expose", RULES "  - port: 3306\n", 3, 5, "rule has no expose" },
		{ "no expose (flow)", RULES "  - {port: 3306}\n", 3, 5, "rule has no expose" },
		{ "reversed range", RULES "  - ports: \"20-10\"\n    expose: public\n", 3, 12,
		  "ports \"20-10\": the range is reversed (20 > 10)" },
		{ "open range", RULES "  - ports: \"10-\"\n    expose: public\n", 3, 12,
		  "is not a port or a range LO-HI" },
		{ "negative", RULES "  - ports: \"-5\"\n    expose: public\n", 3, 12,
		  "is not a port or a range LO-HI" },
		{ "range above 65535", RULES "  - ports: 10-65536\n    expose: public\n", 3, 12,
		  "ports \"10-65536\" is out of range (1-65535)" },
		{ "range, hex", RULES "  - ports: 0x10-0x20\n    expose: public\n", 3, 12,
		  "is not a port or a range" },
		{ "range, three parts", RULES "  - ports: 1-2-3\n    expose: public\n", 3, 12,
		  "is not a port or a range" },
		{ "ports empty string", RULES "  - ports: ''\n    expose: public\n", 3, 12,
		  "is not a port or a range" },
		{ "ports no value", RULES "  - ports:\n    expose: public\n", 3, 11,
		  "ports must be a range \"LO-HI\", not an empty value" },
		{ "ports sequence", RULES "  - ports: [1, 2]\n    expose: public\n", 3, 12,
		  "ports must be a range" },
	};

	(void)state;
	check_errors(cases, ARRAY_SIZE(cases));
}

static void test_errors_values(void **state)
{
	static const struct err_case cases[] = {
		{ "version 2", "version: 2\nrules: []\n", 1, 10,
		  "version 2 is not supported (this bindguard reads version 1)" },
		{ "version 0", "version: 0\nrules: []\n", 1, 10, "version 0 is not supported" },
		{ "version quoted", "version: \"1\"\nrules: []\n", 1, 10,
		  "version must be an integer" },
		{ "version 1.0", "version: 1.0\nrules: []\n", 1, 10, "not a decimal integer" },
		{ "mode", "version: 1\nmode: on\nrules: []\n", 2, 7,
		  "mode \"on\" is not one of: enforce, audit" },
		{ "mode case", "version: 1\nmode: Enforce\nrules: []\n", 2, 7, "is not one of" },
		{ "mode list", "version: 1\nmode: [audit]\nrules: []\n", 2, 7,
		  "mode must be one of: enforce, audit, not a sequence" },
		{ "default_action", "version: 1\ndefault_action: drop\nrules: []\n", 2, 17,
		  "default_action \"drop\" is not one of: deny, alert, confine" },
		{ "unlisted_action", "version: 1\nunlisted_action: allow\nrules: []\n", 2, 18,
		  "unlisted_action \"allow\" is not one of" },
		{ "unlisted", "version: 1\nunlisted: private\nrules: []\n", 2, 11,
		  "unlisted \"private\" is not one of: public, loopback, none, or a list of "
		  "CIDRs" },
		{ "name mapping", "version: 1\nname: {a: 1}\nrules: []\n", 2, 7,
		  "name must be a string, not a mapping" },
		{ "proto", RULES "  - port: 1\n    proto: tcp6\n    expose: public\n", 4, 12,
		  "proto \"tcp6\" is not one of: tcp, udp, both" },
		{ "proto list", RULES "  - port: 1\n    proto: [tcp, udp]\n    expose: public\n", 4,
		  12, "proto must be one of: tcp, udp, both, not a sequence" },
		{ "expose word", RULES "  - port: 1\n    expose: lo\n", 4, 13,
		  "expose \"lo\" is not one of: public, loopback, none, or a list of CIDRs" },
		{ "expose empty", RULES "  - port: 1\n    expose:\n", 4, 12,
		  "expose must be public, loopback, none or a list of CIDRs, not an empty value" },
		{ "expose mapping", RULES "  - port: 1\n    expose: {a: b}\n", 4, 13,
		  "not a mapping" },
		{ "expose: bare CIDR", RULES "  - port: 1\n    expose: 10.0.0.0/8\n", 4, 13,
		  "expose: CIDRs are given as a list, e.g. expose: [\"10.0.0.0/8\"]" },
		{ "action", RULES "  - port: 1\n    expose: loopback\n    action: drop\n", 5, 13,
		  "action \"drop\" is not one of: deny, alert, confine" },
		{ "service list", RULES "  - port: 1\n    expose: none\n    service: [a]\n", 5, 14,
		  "service must be a string, not a sequence" },
		{ "hint null", RULES "  - port: 1\n    expose: public\n    hint: ~\n", 5, 11,
		  "hint must be a string, not an empty value" },
		{ "hint with escaped control character",
		  RULES "  - port: 1\n    expose: public\n    hint: \"a\\x01b\"\n", 5, 11,
		  "hint contains a control character (byte 0x01)" },
		{ "note with escaped NUL",
		  RULES "  - port: 1\n    expose: public\n    note: \"a\\0b\"\n", 5, 11,
		  "note contains a control character (byte 0x00)" },
		{ "software with escaped ESC",
		  RULES "  - port: 1\n    expose: public\n    software: \"\\e[31m\"\n", 5, 15,
		  "software contains a control character (byte 0x1b)" },
		{ "long value is cut in the message",
		  RULES
		  "  - port: 1\n    proto: "
		  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
		  4, 12,
		  "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\"" },
	};

	(void)state;
	check_errors(cases, ARRAY_SIZE(cases));
}

static void test_errors_cidr(void **state)
{
	static const struct err_case cases[] = {
		{ "v4 host bits", RULES "  - port: 1\n    expose: [10.1.0.0/8]\n", 4, 14,
		  "bad CIDR \"10.1.0.0/8\": host bits set, did you mean 10.0.0.0/8?" },
		{ "v4 host bits, odd prefix", RULES "  - port: 1\n    expose: [192.168.1.130/25]\n",
		  4, 14, "did you mean 192.168.1.128/25?" },
		{ "v6 host bits", RULES "  - port: 1\n    expose: [\"2001:db8::1/64\"]\n", 4, 14,
		  "host bits set, did you mean 2001:db8::/64?" },
		{ "v4 prefix 33", RULES "  - port: 1\n    expose: [10.0.0.0/33]\n", 4, 14,
		  "prefix length /33 is too long for IPv4 (at most 32)" },
		{ "v6 prefix 129", RULES "  - port: 1\n    expose: [\"2001:db8::/129\"]\n", 4, 14,
		  "prefix length /129 is too long for IPv6 (at most 128)" },
		{ "huge prefix", RULES "  - port: 1\n    expose: [10.0.0.0/4294967328]\n", 4, 14,
		  "too long for IPv4" },
		{ "bad v4 address", RULES "  - port: 1\n    expose: [10.0.0.256/8]\n", 4, 14,
		  "\"10.0.0.256\" is not an IPv4 address" },
		{ "short v4 address", RULES "  - port: 1\n    expose: [10.0.0/24]\n", 4, 14,
		  "is not an IPv4 address" },
		{ "bad v6 address", RULES "  - port: 1\n    expose: [\"2001:db8:::1\"]\n", 4, 14,
		  "is not an IPv6 address" },
		{ "zone id", RULES "  - port: 1\n    expose: [\"fe80::1%eth0\"]\n", 4, 14,
		  "is not an IPv6 address" },
		{ "prefix leading zero", RULES "  - port: 1\n    expose: [10.0.0.0/08]\n", 4, 14,
		  "the prefix length is not a decimal number" },
		{ "empty prefix", RULES "  - port: 1\n    expose: [10.0.0.0/]\n", 4, 14,
		  "the prefix length is not a decimal number" },
		{ "negative prefix", RULES "  - port: 1\n    expose: [10.0.0.0/-1]\n", 4, 14,
		  "not a decimal number" },
		{ "empty entry", RULES "  - port: 1\n    expose: [\"\"]\n", 4, 14,
		  "bad CIDR \"\"" },
		{ "too long",
		  RULES
		  "  - port: 1\n    expose: [\"1111:2222:3333:4444:5555:6666:7777:8888/128x\"]\n",
		  4, 14, "bad CIDR" },
		{ "empty list", RULES "  - port: 1\n    expose: []\n", 4, 13,
		  "expose: empty CIDR list" },
		{ "nested list", RULES "  - port: 1\n    expose: [[10.0.0.0/8]]\n", 4, 14,
		  "expose: a CIDR must be a string, not a sequence" },
		{ "second entry bad",
		  RULES "  - port: 1\n    expose:\n      - 10.0.0.0/8\n      - 10.0.0.1/8\n", 6, 9,
		  "did you mean 10.0.0.0/8?" },
		{ "duplicate",
		  RULES "  - port: 1\n    expose:\n      - 10.0.0.0/8\n      - 192.168.0.0/16\n"
			"      - 10.0.0.0/8\n",
		  7, 9, "expose: duplicate CIDR 10.0.0.0/8 (first at line 5)" },
		{ "duplicate, the earliest repeat is reported",
		  RULES "  - port: 1\n    expose: [\"::1\", 1.1.1.1, 2.2.2.2, 2.2.2.2, \"::1\", "
			"1.1.1.1]\n",
		  4, 39, "duplicate CIDR 2.2.2.2/32 (first at line 4)" },
		{ "duplicate through the v4-mapped spelling",
		  RULES "  - port: 1\n    expose: [10.0.0.0/8, \"::ffff:10.0.0.0/104\"]\n", 4, 26,
		  "duplicate CIDR 10.0.0.0/8" },
		{ "unlisted empty list", "version: 1\nunlisted: []\nrules: []\n", 2, 11,
		  "unlisted: empty CIDR list" },
		{ "unlisted bad CIDR", "version: 1\nunlisted: [10.0.0.1/8]\nrules: []\n", 2, 12,
		  "did you mean 10.0.0.0/8?" },
	};

	(void)state;
	check_errors(cases, ARRAY_SIZE(cases));
}

static void test_errors_overlap(void **state)
{
	static const struct err_case cases[] = {
		{ "same port",
		  RULES
		  "  - port: 3306\n    expose: loopback\n  - port: 3306\n    expose: public\n",
		  5, 5, "overlaps rule at line 3 (port 3306/tcp)" },
		{ "range against a port, udp",
		  RULES "  - ports: 10024-10028\n    proto: both\n    expose: loopback\n"
			"  - port: 10026\n    proto: udp\n    expose: public\n",
		  6, 5, "overlaps rule at line 3 (port 10026/udp)" },
		{ "ranges overlapping in part",
		  RULES "  - ports: 10-20\n    expose: none\n  - ports: 15-25\n    expose: none\n",
		  5, 5, "overlaps rule at line 3 (port 15/tcp)" },
		{ "the earlier of two owners is named",
		  RULES "  - port: 1\n    expose: none\n  - port: 2\n    expose: none\n"
			"  - ports: 1-2\n    expose: none\n",
		  7, 5, "overlaps rule at line 3 (port 1/tcp)" },
		{ "both against tcp",
		  RULES "  - port: 53\n    expose: none\n  - port: 53\n    proto: both\n    "
			"expose: none\n",
		  5, 5, "(port 53/tcp)" },
		{ "flow style",
		  RULES "  - {port: 1, expose: none}\n  - {ports: 1-2, expose: none}\n", 4, 5,
		  "overlaps rule at line 3 (port 1/tcp)" },
		{ "overlap found before a later error",
		  RULES "  - port: 1\n    expose: none\n  - port: 1\n    expose: none\n"
			"  - port: 2\n    exposee: none\n",
		  5, 5, "overlaps rule at line 3" },
	};

	(void)state;
	check_errors(cases, ARRAY_SIZE(cases));
}

/* ------------------------------------------------------------------------------------------ */
/* What a good policy parses to */

static void test_defaults(void **state)
{
	struct bg_policy *p = parse_ok(RULES "  - port: 3306\n    expose: loopback\n");
	const struct bg_policy_rule *r = &p->rules[0];

	(void)state;
	assert_null(p->name);
	assert_string_equal(p->source, "test.yaml");
	assert_int_equal(p->mode, BG_MODE_ENFORCE);
	assert_int_equal(p->default_action, BG_ACTION_DENY);
	assert_int_equal(p->unlisted_expose, BG_EXPOSE_PUBLIC);
	assert_int_equal(p->unlisted_action, BG_ACTION_DENY);
	assert_null(p->unlisted_cidrs);
	assert_int_equal(p->n_unlisted_cidrs, 0);
	assert_int_equal(p->n_rules, 1);
	assert_int_equal(r->port_lo, 3306);
	assert_int_equal(r->port_hi, 3306);
	assert_int_equal(r->protos, TCP);
	assert_int_equal(r->expose, BG_EXPOSE_LOOPBACK);
	assert_int_equal(r->action, BG_ACTION_DENY);
	assert_null(r->service);
	assert_null(r->software);
	assert_null(r->hint);
	assert_null(r->note);
	assert_null(r->cidrs);
	assert_int_equal(r->line, 3);
	assert_int_equal(r->col, 5);
	bg_policy_free(p);
}

static void test_all_fields(void **state)
{
	struct bg_policy *p = parse_ok("version: 1\n"
				       "name: \"my host\"\n"
				       "mode: audit\n"
				       "default_action: alert\n"
				       "unlisted: loopback\n"
				       "unlisted_action: confine\n"
				       "rules:\n"
				       "  - port: 53\n"
				       "    proto: udp\n"
				       "    expose: none\n"
				       "    action: confine\n"
				       "    service: dns\n"
				       "    software: Unbound\n"
				       "    hint: Turn it off.\n"
				       "    note: 'Resolver: local.'\n"
				       "  - ports: 8000-8002\n"
				       "    proto: both\n"
				       "    expose: public\n");
	const struct bg_policy_rule *r = &p->rules[0];

	(void)state;
	assert_string_equal(p->name, "my host");
	assert_int_equal(p->mode, BG_MODE_AUDIT);
	assert_int_equal(p->default_action, BG_ACTION_ALERT);
	assert_int_equal(p->unlisted_expose, BG_EXPOSE_LOOPBACK);
	assert_int_equal(p->unlisted_action, BG_ACTION_CONFINE);
	assert_int_equal(p->n_rules, 2);
	assert_int_equal(r->protos, UDP);
	assert_int_equal(r->expose, BG_EXPOSE_NONE);
	assert_int_equal(r->action, BG_ACTION_CONFINE);
	assert_string_equal(r->service, "dns");
	assert_string_equal(r->software, "Unbound");
	assert_string_equal(r->hint, "Turn it off.");
	assert_string_equal(r->note, "Resolver: local.");
	r = &p->rules[1];
	assert_int_equal(r->port_lo, 8000);
	assert_int_equal(r->port_hi, 8002);
	assert_int_equal(r->protos, TCP | UDP);
	/* No action of its own: the policy default. */
	assert_int_equal(r->action, BG_ACTION_ALERT);
	assert_int_equal(r->line, 16);
	assert_int_equal(r->col, 5);
	bg_policy_free(p);
}

/* default_action may come after the rules it applies to; unlisted_action follows it. */
static void test_default_action_resolution(void **state)
{
	struct bg_policy *p = parse_ok("version: 1\n"
				       "rules:\n"
				       "  - {port: 1, expose: none}\n"
				       "  - {port: 2, expose: none, action: deny}\n"
				       "default_action: confine\n");

	(void)state;
	assert_int_equal(p->rules[0].action, BG_ACTION_CONFINE);
	assert_int_equal(p->rules[1].action, BG_ACTION_DENY);
	assert_int_equal(p->unlisted_action, BG_ACTION_CONFINE);
	bg_policy_free(p);

	p = parse_ok("version: 1\nunlisted_action: alert\nrules: [{port: 1, expose: none}]\n");
	assert_int_equal(p->default_action, BG_ACTION_DENY);
	assert_int_equal(p->unlisted_action, BG_ACTION_ALERT);
	assert_int_equal(p->rules[0].action, BG_ACTION_DENY);
	bg_policy_free(p);
}

static void test_port_edges(void **state)
{
	struct bg_policy *p = parse_ok(RULES "  - port: 1\n    expose: none\n"
					     "  - port: 65535\n    expose: none\n"
					     "  - ports: 10024-10028\n    expose: loopback\n"
					     "  - ports: \"7 - 9\"\n    expose: loopback\n"
					     "  - ports: 80\n    expose: public\n"
					     "  - ports: \"443\"\n    expose: public\n"
					     "  - ports: 1000-1000\n    expose: public\n");

	(void)state;
	assert_int_equal(p->n_rules, 7);
	assert_int_equal(p->rules[0].port_lo, 1);
	assert_int_equal(p->rules[0].port_hi, 1);
	assert_int_equal(p->rules[1].port_lo, 65535);
	assert_int_equal(p->rules[1].port_hi, 65535);
	assert_int_equal(p->rules[2].port_lo, 10024);
	assert_int_equal(p->rules[2].port_hi, 10028);
	assert_int_equal(p->rules[3].port_lo, 7);
	assert_int_equal(p->rules[3].port_hi, 9);
	assert_int_equal(p->rules[4].port_lo, 80);
	assert_int_equal(p->rules[4].port_hi, 80);
	assert_int_equal(p->rules[5].port_lo, 443);
	assert_int_equal(p->rules[5].port_hi, 443);
	assert_int_equal(p->rules[6].port_lo, 1000);
	assert_int_equal(p->rules[6].port_hi, 1000);
	bg_policy_free(p);

	p = parse_ok(RULES "  - ports: 1-65535\n    proto: both\n    expose: loopback\n");
	assert_int_equal(p->rules[0].port_lo, 1);
	assert_int_equal(p->rules[0].port_hi, 65535);
	assert_int_equal(p->rules[0].protos, TCP | UDP);
	bg_policy_free(p);
}

/* tcp and udp on one port are two different slots, so not an overlap. */
static void test_same_port_two_protos(void **state)
{
	struct bg_policy *p = parse_ok(RULES "  - port: 53\n    expose: loopback\n"
					     "  - port: 53\n    proto: udp\n    expose: public\n");

	(void)state;
	assert_int_equal(find_rule(p, 53, BG_PROTO_TCP)->expose, BG_EXPOSE_LOOPBACK);
	assert_int_equal(find_rule(p, 53, BG_PROTO_UDP)->expose, BG_EXPOSE_PUBLIC);
	bg_policy_free(p);
}

static void test_cidr_normalisation(void **state)
{
	static const __u8 v6_db8[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	static const __u8 v6_one[16] = { [15] = 1 };
	static const __u8 v4_10[16] = { 10 };
	static const __u8 v4_host[16] = { 192, 168, 1, 5 };
	static const __u8 v4_10_1[16] = { 10, 1 };
	static const __u8 zero[16] = { 0 };
	struct bg_policy *p = parse_ok(RULES "  - port: 1\n    expose:\n"
					     "      - 10.0.0.0/8\n"
					     "      - 192.168.1.5\n"
					     "      - \"2001:DB8::/32\"\n"
					     "      - \"::1\"\n"
					     "      - \"::ffff:10.1.0.0/112\"\n"
					     "      - \"::ffff:0:0/96\"\n"
					     "      - 0.0.0.0\n"
					     "      - \"::/0\"\n");
	const struct bg_cidr *c;

	(void)state;
	assert_int_equal(p->rules[0].expose, BG_EXPOSE_CIDR);
	assert_int_equal(p->rules[0].n_cidrs, 8);
	c = p->rules[0].cidrs;
	assert_int_equal(c[0].family, BG_AF_INET);
	assert_int_equal(c[0].prefixlen, 8);
	assert_memory_equal(c[0].addr, v4_10, 16);
	/* A bare address is a host. */
	assert_int_equal(c[1].family, BG_AF_INET);
	assert_int_equal(c[1].prefixlen, 32);
	assert_memory_equal(c[1].addr, v4_host, 16);
	assert_int_equal(c[2].family, BG_AF_INET6);
	assert_int_equal(c[2].prefixlen, 32);
	assert_memory_equal(c[2].addr, v6_db8, 16);
	assert_int_equal(c[3].family, BG_AF_INET6);
	assert_int_equal(c[3].prefixlen, 128);
	assert_memory_equal(c[3].addr, v6_one, 16);
	/* v4-mapped networks become the IPv4 network they denote. */
	assert_int_equal(c[4].family, BG_AF_INET);
	assert_int_equal(c[4].prefixlen, 16);
	assert_memory_equal(c[4].addr, v4_10_1, 16);
	assert_int_equal(c[5].family, BG_AF_INET);
	assert_int_equal(c[5].prefixlen, 0);
	assert_memory_equal(c[5].addr, zero, 16);
	assert_int_equal(c[6].family, BG_AF_INET);
	assert_int_equal(c[6].prefixlen, 32);
	assert_memory_equal(c[6].addr, zero, 16);
	assert_int_equal(c[7].family, BG_AF_INET6);
	assert_int_equal(c[7].prefixlen, 0);
	bg_policy_free(p);

	p = parse_ok("version: 1\nunlisted: [172.16.0.0/12, \"fd00::/8\"]\nrules: []\n");
	assert_int_equal(p->unlisted_expose, BG_EXPOSE_CIDR);
	assert_int_equal(p->n_unlisted_cidrs, 2);
	assert_int_equal(p->unlisted_cidrs[0].prefixlen, 12);
	assert_int_equal(p->unlisted_cidrs[1].family, BG_AF_INET6);
	assert_int_equal(p->unlisted_cidrs[1].addr[0], 0xfd);
	bg_policy_free(p);
}

static void test_strings(void **state)
{
	struct bg_policy *p = parse_ok(RULES "  - port: 1\n    expose: public\n"
					     "    hint: |\n      line one\n      line two\n"
					     "    note: >\n      folded\n      text\n\n"
					     "    service: \"\"\n"
					     "    software: \"caf\\u00e9\\tbar\"\n");
	const struct bg_policy_rule *r = &p->rules[0];

	(void)state;
	/* The block scalar's final newline is dropped, inner ones kept. */
	assert_string_equal(r->hint, "line one\nline two");
	assert_string_equal(r->note, "folded text");
	/* An empty string means "not given". */
	assert_null(r->service);
	assert_string_equal(r->software, "caf\xc3\xa9\tbar");
	bg_policy_free(p);
}

/* YAML spellings that must all mean the same policy. */
static void test_yaml_forms(void **state)
{
	static const char *const forms[] = {
		"version: 1\nrules:\n  - port: 22\n    expose: loopback\n",
		"{version: 1, rules: [{port: 22, expose: loopback}]}",
		"%YAML 1.1\n---\nversion: 1\nrules:\n- port: 22\n  expose: loopback\n...\n",
		"version: 1\r\nrules:\r\n  - port: 22\r\n    expose: loopback\r\n",
		"\xef\xbb\xbfversion: 1\nrules:\n  - port: 22\n    expose: 'loopback'\n",
		"version: 1\nrules:\n  - &ssh\n    port: 22\n    expose: \"loopback\"\n",
		"version: 1 # the only version\nrules: # none yet\n  - port: 22 # ssh\n    expose: "
		"loopback\n",
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(forms); i++) {
		struct bg_policy *p = parse_ok(forms[i]);

		assert_int_equal(p->n_rules, 1);
		assert_int_equal(p->rules[0].port_lo, 22);
		assert_int_equal(p->rules[0].expose, BG_EXPOSE_LOOPBACK);
		bg_policy_free(p);
	}
}

/* An empty rule list is fine when unlisted ports are restricted. */
static void test_empty_rules_restricted(void **state)
{
	struct bg_policy *p = parse_ok("version: 1\nunlisted: loopback\nrules: []\n");

	(void)state;
	assert_int_equal(p->n_rules, 0);
	assert_int_equal(p->unlisted_expose, BG_EXPOSE_LOOPBACK);
	bg_policy_free(p);
}

/* ------------------------------------------------------------------------------------------ */
/* Limits, files, out-params */

/* A policy of n single-port rules, on ports 1..n, one per line from line 3. */
static char *many_rules(size_t n)
{
	size_t cap = 32 + n * 40, o = 0, i;
	char *s = malloc(cap);

	assert_non_null(s);
	o += (size_t)snprintf(s + o, cap - o, "version: 1\nrules:\n");
	for (i = 0; i < n; i++)
		o += (size_t)snprintf(s + o, cap - o, "- {port: %zu, expose: none}\n", i + 1);
	return s;
}

static void test_rule_limit(void **state)
{
	struct bg_compile_opts opts = { .mode_override = -1, .first_set_id = 1 };
	struct bg_policy *p = SENTINEL;
	struct bg_policy_error err;
	struct bg_compiled c;
	char *yaml;

	(void)state;
	yaml = many_rules(BG_POLICY_MAX_RULES);
	p = parse_ok(yaml);
	free(yaml);
	assert_int_equal(p->n_rules, 65535);
	assert_int_equal(bg_policy_compile(p, &opts, &c), 0);
	assert_int_equal(c.slots[BG_RULE_KEY(BG_PROTO_TCP, 65535)].rule_id, 65535);
	assert_int_equal(c.slots[BG_RULE_KEY(BG_PROTO_TCP, 1)].rule_id, 1);
	assert_int_equal(c.slots[BG_RULE_KEY(BG_PROTO_TCP, 0)].expose, BG_EXPOSE_UNSET);
	bg_compiled_release(&c);
	bg_policy_free(p);

	p = SENTINEL;
	yaml = many_rules(BG_POLICY_MAX_RULES + 1);
	assert_int_equal(parse(yaml, &p, &err), -EINVAL);
	free(yaml);
	assert_ptr_equal(p, SENTINEL);
	assert_int_equal(err.line, 65538);
	assert_int_equal(err.col, 3);
	assert_non_null(strstr(err.msg, "too many rules (at most 65535)"));
}

static void test_size_cap(void **state)
{
	struct bg_policy *p = SENTINEL;
	struct bg_policy_error err;
	size_t len = BG_POLICY_MAX_BYTES + 1;
	char *big = malloc(len);

	(void)state;
	assert_non_null(big);
	memset(big, '#', len);
	assert_int_equal(bg_policy_parse_buffer("big", big, len, &p, &err), -EINVAL);
	assert_ptr_equal(p, SENTINEL);
	assert_int_equal(err.line, 0);
	assert_non_null(strstr(err.msg, "too large"));
	/* Exactly at the cap is still read (and here, a comment-only file: empty). */
	assert_int_equal(bg_policy_parse_buffer("big", big, len - 1, &p, &err), -EINVAL);
	assert_int_equal(err.line, 1);
	assert_non_null(strstr(err.msg, "empty policy"));
	free(big);
}

static void test_out_untouched(void **state)
{
	struct bg_policy *p = SENTINEL;
	struct bg_policy_error err;

	(void)state;
	assert_int_equal(parse("version: 1\nrules: 7\n", &p, &err), -EINVAL);
	assert_ptr_equal(p, SENTINEL);
	assert_int_equal(bg_policy_parse_file("/nonexistent/bindguard.yaml", &p, &err), -ENOENT);
	assert_ptr_equal(p, SENTINEL);
	/* No err is fine too. */
	assert_int_equal(bg_policy_parse_buffer("x", "x: [", 4, &p, NULL), -EINVAL);
	assert_ptr_equal(p, SENTINEL);
	assert_int_equal(bg_policy_parse_buffer("x", NULL, 0, &p, &err), -EINVAL);
	assert_ptr_equal(p, SENTINEL);
	assert_non_null(strstr(err.msg, "empty policy"));
	assert_int_equal(bg_policy_parse_buffer("x", "a", 1, NULL, &err), -EINVAL);
}

static char tmpdir[] = "/tmp/bg-test-policy-XXXXXX";

static int tmpdir_setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int tmpdir_teardown(void **state)
{
	char path[512];

	(void)state;
	snprintf(path, sizeof(path), "%s/good.yaml", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/bad.yaml", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/big.yaml", tmpdir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/stderr.txt", tmpdir);
	unlink(path);
	return rmdir(tmpdir);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void test_parse_file(void **state)
{
	struct bg_policy *p = SENTINEL;
	struct bg_policy_error err;
	char path[512];
	int fd;

	(void)state;
	assert_int_equal(bg_policy_parse_file("/nonexistent/bindguard.yaml", &p, &err), -ENOENT);
	assert_int_equal(err.line, 0);
	assert_string_equal(err.file, "/nonexistent/bindguard.yaml");
	assert_string_equal(err.msg, "cannot open: No such file or directory");

	/* Only a regular file is a policy; a FIFO must not block the reader (O_NONBLOCK). */
	assert_int_equal(bg_policy_parse_file(tmpdir, &p, &err), -EINVAL);
	assert_int_equal(err.line, 0);
	assert_string_equal(err.msg, "not a regular file (a directory): a policy must be a file");
	assert_ptr_equal(p, SENTINEL);
	assert_int_equal(bg_policy_parse_file("/dev/null", &p, &err), -EINVAL);
	assert_string_equal(err.msg,
			    "not a regular file (a character device): a policy must be a file");
	snprintf(path, sizeof(path), "%s/fifo.yaml", tmpdir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(bg_policy_parse_file(path, &p, &err), -EINVAL);
	assert_string_equal(err.msg, "not a regular file (a FIFO): a policy must be a file");
	assert_ptr_equal(p, SENTINEL);
	unlink(path);

	snprintf(path, sizeof(path), "%s/good.yaml", tmpdir);
	write_file(path, "version: 1\nname: f\nrules:\n  - port: 5432\n    expose: loopback\n");
	assert_int_equal(bg_policy_parse_file(path, &p, &err), 0);
	assert_string_equal(p->source, path);
	assert_string_equal(p->name, "f");
	assert_int_equal(p->rules[0].port_lo, 5432);
	bg_policy_free(p);

	p = SENTINEL;
	snprintf(path, sizeof(path), "%s/bad.yaml", tmpdir);
	write_file(path, "version: 1\nrules:\n  - port: 5432\n    expose: lo\n");
	assert_int_equal(bg_policy_parse_file(path, &p, &err), -EINVAL);
	assert_ptr_equal(p, SENTINEL);
	assert_string_equal(err.file, path);
	assert_int_equal(err.line, 4);
	assert_int_equal(err.col, 13);

	snprintf(path, sizeof(path), "%s/big.yaml", tmpdir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, BG_POLICY_MAX_BYTES + 1), 0);
	close(fd);
	assert_int_equal(bg_policy_parse_file(path, &p, &err), -EINVAL);
	assert_ptr_equal(p, SENTINEL);
	assert_int_equal(err.line, 0);
	assert_non_null(strstr(err.msg, "too large"));
}

/* ------------------------------------------------------------------------------------------ */
/* Compile */

static int count_set_slots(const struct bg_compiled *c)
{
	__u32 i;
	int n = 0;

	for (i = 0; i < BG_KEY_UNLISTED; i++)
		n += c->slots[i].expose != BG_EXPOSE_UNSET;
	return n;
}

static void assert_slot(const struct bg_rule *s, __u8 expose, __u8 action, __u8 mode, __u8 flags,
			__u16 rule_id, __u32 cidr_set)
{
	assert_int_equal(s->expose, expose);
	assert_int_equal(s->action, action);
	assert_int_equal(s->mode, mode);
	assert_int_equal(s->flags, flags);
	assert_int_equal(s->rule_id, rule_id);
	assert_int_equal(s->gen, 0);
	assert_int_equal(s->cidr_set, cidr_set);
}

static const char compile_yaml[] = "version: 1\n"
				   "default_action: alert\n"
				   "unlisted_action: deny\n"
				   "rules:\n"
				   "  - port: 3306\n"
				   "    expose: loopback\n"
				   "    action: deny\n"
				   "  - ports: 10024-10026\n"
				   "    proto: both\n"
				   "    expose: public\n"
				   "  - port: 53\n"
				   "    proto: udp\n"
				   "    expose: none\n"
				   "    action: confine\n";

static void test_compile_slots(void **state)
{
	struct bg_compile_opts opts = { .mode_override = -1, .first_set_id = 1 };
	struct bg_policy *p = parse_ok(compile_yaml);
	struct bg_compiled c;
	__u32 port;

	(void)state;
	assert_int_equal(bg_policy_compile(p, &opts, &c), 0);
	assert_non_null(c.slots);
	assert_null(c.cidrs);
	assert_int_equal(c.n_cidrs, 0);
	assert_int_equal(c.next_set_id, 1);

	assert_slot(&c.slots[BG_RULE_KEY(BG_PROTO_TCP, 3306)], BG_EXPOSE_LOOPBACK, BG_ACTION_DENY,
		    BG_MODE_ENFORCE, 0, 1, 0);
	assert_int_equal(c.slots[BG_RULE_KEY(BG_PROTO_UDP, 3306)].expose, BG_EXPOSE_UNSET);
	for (port = 10024; port <= 10026; port++) {
		assert_slot(&c.slots[BG_RULE_KEY(BG_PROTO_TCP, port)], BG_EXPOSE_PUBLIC,
			    BG_ACTION_ALERT, BG_MODE_ENFORCE, 0, 2, 0);
		assert_slot(&c.slots[BG_RULE_KEY(BG_PROTO_UDP, port)], BG_EXPOSE_PUBLIC,
			    BG_ACTION_ALERT, BG_MODE_ENFORCE, 0, 2, 0);
	}
	assert_int_equal(c.slots[BG_RULE_KEY(BG_PROTO_TCP, 10023)].expose, BG_EXPOSE_UNSET);
	assert_int_equal(c.slots[BG_RULE_KEY(BG_PROTO_TCP, 10027)].expose, BG_EXPOSE_UNSET);
	assert_slot(&c.slots[BG_RULE_KEY(BG_PROTO_UDP, 53)], BG_EXPOSE_NONE, BG_ACTION_CONFINE,
		    BG_MODE_ENFORCE, 0, 3, 0);
	assert_int_equal(c.slots[BG_RULE_KEY(BG_PROTO_TCP, 53)].expose, BG_EXPOSE_UNSET);
	/* Exactly the listed (proto, port) pairs, nothing else. */
	assert_int_equal(count_set_slots(&c), 1 + 6 + 1);
	assert_slot(&c.slots[BG_KEY_UNLISTED], BG_EXPOSE_PUBLIC, BG_ACTION_DENY, BG_MODE_ENFORCE, 0,
		    0, 0);
	bg_compiled_release(&c);
	assert_null(c.slots);
	assert_null(c.cidrs);
	bg_compiled_release(&c); /* twice is harmless */
	bg_compiled_release(NULL);
	bg_policy_free(p);
}

static void test_compile_mode_and_flags(void **state)
{
	struct bg_compile_opts opts = { .mode_override = BG_MODE_AUDIT,
					.log_allowed = 1,
					.gen = 513 };
	struct bg_policy *p = parse_ok(compile_yaml);
	struct bg_compiled c;
	__u32 i;
	int n = 0;

	(void)state;
	assert_int_equal(bg_policy_compile(p, &opts, &c), 0);
	for (i = 0; i < BG_RULE_SLOTS; i++) {
		if (c.slots[i].expose == BG_EXPOSE_UNSET) {
			/* Empty slots stay all-zero: inert. */
			assert_int_equal(c.slots[i].mode | c.slots[i].flags | c.slots[i].action |
						 c.slots[i].gen,
					 0);
			continue;
		}
		assert_int_equal(c.slots[i].mode, BG_MODE_AUDIT);
		assert_int_equal(c.slots[i].flags, BG_RULE_F_LOG_ALLOWED);
		assert_int_equal(c.slots[i].gen, 513);
		n++;
	}
	assert_int_equal(n, 9);
	assert_int_equal(c.slots[BG_KEY_UNLISTED].flags, BG_RULE_F_LOG_ALLOWED);
	assert_int_equal(c.slots[BG_KEY_UNLISTED].gen, 513);
	bg_compiled_release(&c);
	bg_policy_free(p);

	/* The policy's own audit mode, and an override back to enforce. */
	p = parse_ok("version: 1\nmode: audit\nrules: [{port: 1, expose: none}]\n");
	opts.mode_override = -1;
	opts.log_allowed = 0;
	assert_int_equal(bg_policy_compile(p, &opts, &c), 0);
	assert_int_equal(c.slots[BG_RULE_KEY(BG_PROTO_TCP, 1)].mode, BG_MODE_AUDIT);
	assert_int_equal(c.slots[BG_RULE_KEY(BG_PROTO_TCP, 1)].flags, 0);
	assert_int_equal(c.slots[BG_KEY_UNLISTED].mode, BG_MODE_AUDIT);
	bg_compiled_release(&c);
	opts.mode_override = BG_MODE_ENFORCE;
	assert_int_equal(bg_policy_compile(p, &opts, &c), 0);
	assert_int_equal(c.slots[BG_RULE_KEY(BG_PROTO_TCP, 1)].mode, BG_MODE_ENFORCE);
	assert_int_equal(c.slots[BG_KEY_UNLISTED].mode, BG_MODE_ENFORCE);
	bg_compiled_release(&c);
	/* NULL opts: the policy as written. */
	assert_int_equal(bg_policy_compile(p, NULL, &c), 0);
	assert_int_equal(c.slots[BG_RULE_KEY(BG_PROTO_TCP, 1)].mode, BG_MODE_AUDIT);
	assert_int_equal(c.next_set_id, 1);
	bg_compiled_release(&c);
	bg_policy_free(p);
}

static void assert_key(const struct bg_compiled_cidr *k, __u32 prefixlen, __u32 set,
		       const __u8 addr[16])
{
	const __u8 *set_bytes = (const __u8 *)&k->key.set;

	assert_int_equal(k->key.prefixlen, prefixlen);
	assert_int_equal(ntohl(k->key.set), set);
	/* Big-endian on the wire, whatever the host: the set id sorts as the leading bytes. */
	assert_int_equal(set_bytes[0], (set >> 24) & 0xff);
	assert_int_equal(set_bytes[3], set & 0xff);
	assert_memory_equal(k->key.addr, addr, 16);
}

static void test_compile_cidr(void **state)
{
	static const __u8 m10[16] = { [10] = 0xff, [11] = 0xff, [12] = 10 };
	static const __u8 db8[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	static const __u8 mhost[16] = { [10] = 0xff, [11] = 0xff, [12] = 192, 168, 1, 5 };
	static const __u8 m172[16] = { [10] = 0xff, [11] = 0xff, [12] = 172, 16 };
	struct bg_compile_opts opts = { .mode_override = -1, .first_set_id = 7 };
	struct bg_policy *p = parse_ok("version: 1\n"
				       "unlisted: [172.16.0.0/12]\n"
				       "rules:\n"
				       "  - port: 5432\n"
				       "    expose: [10.0.0.0/8, \"2001:db8::/32\"]\n"
				       "  - port: 3306\n"
				       "    expose: loopback\n"
				       "  - port: 6379\n"
				       "    proto: both\n"
				       "    expose: [192.168.1.5]\n");
	struct bg_compiled c;

	(void)state;
	assert_int_equal(bg_policy_compile(p, &opts, &c), 0);
	assert_slot(&c.slots[BG_RULE_KEY(BG_PROTO_TCP, 5432)], BG_EXPOSE_CIDR, BG_ACTION_DENY,
		    BG_MODE_ENFORCE, 0, 1, 7);
	assert_slot(&c.slots[BG_RULE_KEY(BG_PROTO_TCP, 3306)], BG_EXPOSE_LOOPBACK, BG_ACTION_DENY,
		    BG_MODE_ENFORCE, 0, 2, 0);
	/* One set per rule, shared by both protocols. */
	assert_slot(&c.slots[BG_RULE_KEY(BG_PROTO_TCP, 6379)], BG_EXPOSE_CIDR, BG_ACTION_DENY,
		    BG_MODE_ENFORCE, 0, 3, 8);
	assert_slot(&c.slots[BG_RULE_KEY(BG_PROTO_UDP, 6379)], BG_EXPOSE_CIDR, BG_ACTION_DENY,
		    BG_MODE_ENFORCE, 0, 3, 8);
	assert_slot(&c.slots[BG_KEY_UNLISTED], BG_EXPOSE_CIDR, BG_ACTION_DENY, BG_MODE_ENFORCE, 0,
		    0, 9);
	assert_int_equal(c.next_set_id, 10);
	assert_int_equal(c.n_cidrs, 4);
	assert_key(&c.cidrs[0], 32 + 96 + 8, 7, m10);
	assert_key(&c.cidrs[1], 32 + 32, 7, db8);
	assert_key(&c.cidrs[2], 32 + 96 + 32, 8, mhost);
	assert_key(&c.cidrs[3], 32 + 96 + 12, 9, m172);
	bg_compiled_release(&c);

	/* Set ids start at 1 when asked for 0: 0 is never a set. */
	opts.first_set_id = 0;
	assert_int_equal(bg_policy_compile(p, &opts, &c), 0);
	assert_int_equal(c.slots[BG_RULE_KEY(BG_PROTO_TCP, 5432)].cidr_set, 1);
	assert_int_equal(ntohl(c.cidrs[0].key.set), 1);
	assert_int_equal(c.next_set_id, 4);
	bg_compiled_release(&c);

	/* The last representable ids. */
	opts.first_set_id = 0xfffffffcu;
	assert_int_equal(bg_policy_compile(p, &opts, &c), 0);
	assert_int_equal(c.slots[BG_KEY_UNLISTED].cidr_set, 0xfffffffeu);
	assert_int_equal(c.next_set_id, 0xffffffffu);
	bg_compiled_release(&c);
	opts.first_set_id = 0xfffffffdu;
	memset(&c, 0xa5, sizeof(c));
	assert_int_equal(bg_policy_compile(p, &opts, &c), -EINVAL);
	assert_int_equal(c.next_set_id, 0xa5a5a5a5u);
	bg_policy_free(p);
}

/* A policy built by hand must still never compile to a listed port with an inert slot. */
static void test_compile_rejects(void **state)
{
	struct bg_cidr net = { .family = BG_AF_INET, .prefixlen = 8, .addr = { 10 } };
	struct bg_policy_rule rules[2] = {
		{ .port_lo = 80,
		  .port_hi = 80,
		  .protos = TCP,
		  .expose = BG_EXPOSE_LOOPBACK,
		  .action = BG_ACTION_DENY },
		{ .port_lo = 81,
		  .port_hi = 81,
		  .protos = TCP,
		  .expose = BG_EXPOSE_LOOPBACK,
		  .action = BG_ACTION_DENY },
	};
	struct bg_policy p = { .mode = BG_MODE_ENFORCE,
			       .default_action = BG_ACTION_DENY,
			       .unlisted_expose = BG_EXPOSE_PUBLIC,
			       .unlisted_action = BG_ACTION_DENY,
			       .rules = rules,
			       .n_rules = 2 };
	struct bg_compile_opts opts = { .mode_override = -1, .first_set_id = 1 };
	struct bg_compiled c, before;

	(void)state;
	memset(&c, 0xa5, sizeof(c));
	before = c;
	assert_int_equal(bg_policy_compile(&p, &opts, &c), 0);
	bg_compiled_release(&c);

#define EXPECT_REJECT()                                                      \
	do {                                                                 \
		memset(&c, 0xa5, sizeof(c));                                 \
		assert_int_equal(bg_policy_compile(&p, &opts, &c), -EINVAL); \
		assert_memory_equal(&c, &before, sizeof(c));                 \
	} while (0)

	rules[1].expose = BG_EXPOSE_UNSET;
	EXPECT_REJECT();
	rules[1].expose = BG_EXPOSE_MAX + 1;
	EXPECT_REJECT();
	rules[1].expose = BG_EXPOSE_CIDR; /* with no networks */
	EXPECT_REJECT();
	rules[1].cidrs = &net;
	rules[1].n_cidrs = 1;
	net.prefixlen = 33;
	EXPECT_REJECT();
	net.prefixlen = 8;
	rules[1].action = BG_ACTION_UNSET;
	EXPECT_REJECT();
	rules[1].action = BG_ACTION_DENY;
	rules[1].port_lo = 80; /* overlaps rule 1 */
	EXPECT_REJECT();
	rules[1].port_lo = 82;
	rules[1].port_hi = 81;
	EXPECT_REJECT();
	rules[1].port_lo = 81;
	rules[1].port_hi = 65536;
	EXPECT_REJECT();
	rules[1].port_lo = 0; /* port 0 alone: no overlap, still refused */
	rules[1].port_hi = 0;
	EXPECT_REJECT();
	rules[1].port_lo = 81;
	rules[1].port_hi = 81;
	rules[1].protos = 0;
	EXPECT_REJECT();
	rules[1].protos = 4;
	EXPECT_REJECT();
	rules[1].protos = TCP;
	p.unlisted_expose = BG_EXPOSE_UNSET;
	EXPECT_REJECT();
	p.unlisted_expose = BG_EXPOSE_PUBLIC;
	p.mode = 2;
	EXPECT_REJECT();
	p.mode = BG_MODE_ENFORCE;
	opts.mode_override = 2;
	EXPECT_REJECT();
	opts.mode_override = -1;
	p.n_rules = BG_POLICY_MAX_RULES + 1;
	EXPECT_REJECT();
	p.n_rules = 2;

	/* Repaired, it compiles again; the CIDR key has its host bits cleared. */
	net.addr[1] = 99;
	assert_int_equal(bg_policy_compile(&p, &opts, &c), 0);
	assert_int_equal(c.slots[BG_RULE_KEY(BG_PROTO_TCP, 81)].expose, BG_EXPOSE_CIDR);
	assert_int_equal(c.n_cidrs, 1);
	assert_int_equal(c.cidrs[0].key.addr[12], 10);
	assert_int_equal(c.cidrs[0].key.addr[13], 0);
	bg_compiled_release(&c);
	assert_int_equal(bg_policy_compile(NULL, &opts, &c), -EINVAL);
	assert_int_equal(bg_policy_compile(&p, &opts, NULL), -EINVAL);
#undef EXPECT_REJECT
}

/* ------------------------------------------------------------------------------------------ */
/* The shipped iRedMail profile against the seed table (seed/iredmail-ports.csv) */

struct seed_row {
	__u16 port;
	const char *service; /* NULL: the CSV leaves it empty */
	const char *software;
	__u8 expose;
	const char *note;
};

#define PUB BG_EXPOSE_PUBLIC
#define LO BG_EXPOSE_LOOPBACK
#define OFF BG_EXPOSE_NONE

static const struct seed_row seed[] = {
	{ 25, "smtp", "Postfix", PUB,
	  "Server-to-server mail. MUST be open or no mail arrives from other servers." },
	{ 587, "submission", "Postfix", PUB, "SMTP with STARTTLS; end users submit mail." },
	{ 110, "pop3", "Dovecot", PUB, "POP3; STARTTLS required by default." },
	{ 995, "pop3s", "Dovecot", PUB, "POP3 over SSL." },
	{ 143, "imap", "Dovecot", PUB, "IMAP; STARTTLS required by default." },
	{ 993, "imaps", "Dovecot", PUB, "IMAP over SSL." },
	{ 24, "lmtp", "Dovecot", LO, "Local delivery from Postfix to mailboxes over LMTP." },
	{ 4190, "managesieve", "Dovecot", OFF,
	  "Sieve filter management; disabled by default. Old releases used port 2000 (removed)." },
	{ 80, "http", "Apache/Nginx", PUB, "Web; redirects to HTTPS by default." },
	{ 443, "https", "Apache/Nginx", PUB, "Web over SSL (webmail and ActiveSync)." },
	{ 3306, "mysql", "MySQL/MariaDB", LO, "Database." },
	{ 5432, "postgresql", "PostgreSQL", LO, "Database." },
	{ 389, "ldap", "OpenLDAP", LO, "LDAP with STARTTLS." },
	{ 636, "ldaps", "OpenLDAP", OFF,
	  "LDAP over SSL; deprecated (use 389 with STARTTLS); not enabled by default." },
	{ 10024, NULL, "Amavisd-new", LO,
	  "Scans inbound mail: spam/virus checks, DKIM verification, spam policy." },
	{ 10025, "postfix-reinject", "Postfix", LO,
	  "Amavisd re-injects scanned mail into the Postfix queue." },
	{ 10026, NULL, "Amavisd-new", LO,
	  "Scans outbound mail: spam/virus checks, DKIM signing, spam policy." },
	{ 10027, NULL, "Amavisd-new", LO,
	  "For the mlmmj mailing list manager: skips spam/virus/header/banned checks but "
	  "DKIM-signs." },
	{ 10028, NULL, "Postfix", LO,
	  "Amavisd-new hands mail sent by mlmmj back to Postfix. Since iRedMail-0.9.9." },
	{ 9998, NULL, "Amavisd-new", LO, "Quarantined mail management." },
	{ 7777, NULL, "iRedAPD", LO,
	  "Postfix policy service: greylisting, whitelist, blacklist, throttling." },
	{ 7778, NULL, "iRedAPD", LO, "SRS sender address rewriting." },
	{ 7779, NULL, "iRedAPD", LO, "SRS recipient address rewriting." },
	{ 7790, "mlmmjadmin", "mlmmjadmin", LO,
	  "RESTful API server managing mlmmj mailing lists. Since iRedMail-0.9.8." },
	{ 7791, "iredadmin", "iRedAdmin", LO,
	  "iRedAdmin standalone uwsgi instance. Since iRedMail-0.9.9." },
	{ 20000, NULL, "SOGo", LO, "SOGo groupware service." },
	{ 11211, NULL, "Memcached", LO, "In-memory cache; used only by SOGo groupware." },
	{ 12340, NULL, "Dovecot", LO, "Dovecot quota status. Since iRedMail-1.0." },
	{ 24242, NULL, "Dovecot", LO, "Dovecot service status. Since iRedMail-0.9.8." },
	{ 19999, NULL, "Netdata", LO, "Netdata monitoring. Since iRedMail-0.9.8." },
};

static struct bg_policy *parse_builtin(void)
{
	struct bg_policy_error err;
	struct bg_policy *p = NULL;
	char buf[1024];
	int ret;

	ret = bg_policy_parse_buffer(BG_BUILTIN_POLICY_NAME, bg_builtin_policy,
				     bg_builtin_policy_len, &p, &err);
	if (ret)
		print_error("%s\n", bg_policy_error_str(&err, buf, sizeof(buf)));
	assert_int_equal(ret, 0);
	return p;
}

static void test_builtin_profile(void **state)
{
	struct bg_policy *p = parse_builtin();
	size_t i;

	(void)state;
	assert_int_equal(ARRAY_SIZE(seed), 30);
	/* The embedded copy is NUL-terminated right after its last byte. */
	assert_int_equal(bg_builtin_policy[bg_builtin_policy_len], '\0');
	assert_int_equal(strlen(bg_builtin_policy), bg_builtin_policy_len);
	assert_string_equal(p->name, "iredmail");
	assert_string_equal(p->source, BG_BUILTIN_POLICY_NAME);
	assert_int_equal(p->mode, BG_MODE_ENFORCE);
	assert_int_equal(p->default_action, BG_ACTION_DENY);
	assert_int_equal(p->unlisted_expose, BG_EXPOSE_PUBLIC);
	assert_int_equal(p->n_rules, ARRAY_SIZE(seed));

	/* It parses with no warning: unlisted ports stay public. */
	assert_int_equal(p->n_warnings, 0);
	assert_null(p->warnings);

	for (i = 0; i < ARRAY_SIZE(seed); i++) {
		const struct seed_row *row = &seed[i];
		const struct bg_policy_rule *r = &p->rules[i];

		/* One rule per row, in the table's order. */
		assert_int_equal(r->port_lo, row->port);
		assert_int_equal(r->port_hi, row->port);
		assert_ptr_equal(find_rule(p, row->port, BG_PROTO_TCP), r);
		/*
		 * Public services are TCP, as the seed lists them. Every internal or disabled one
		 * covers UDP too, and its note says why (after the seed's own note).
		 */
		if (row->expose == PUB) {
			assert_int_equal(r->protos, TCP);
			assert_null(find_rule(p, row->port, BG_PROTO_UDP));
			assert_string_equal(r->note, row->note);
		} else {
			assert_int_equal(r->protos, TCP | UDP);
			assert_ptr_equal(find_rule(p, row->port, BG_PROTO_UDP), r);
			assert_memory_equal(r->note, row->note, strlen(row->note));
			assert_non_null(strstr(r->note + strlen(row->note), " UDP "));
			assert_true(strlen(r->note) >= strlen(row->note) + 40);
		}
		assert_int_equal(r->expose, row->expose);
		assert_int_equal(r->action, BG_ACTION_DENY);
		assert_non_null(r->service);
		if (row->service)
			assert_string_equal(r->service, row->service);
		else
			assert_true(strlen(r->service) >= 4);
		assert_string_equal(r->software, row->software);
		/* Every internal or disabled port tells the operator how to fix it. */
		if (row->expose != PUB) {
			assert_non_null(r->hint);
			assert_true(strlen(r->hint) >= 40);
		}
	}
	assert_true(strstr(find_rule(p, 3306, BG_PROTO_TCP)->hint, "bind-address = 127.0.0.1") !=
		    NULL);
	assert_true(strstr(find_rule(p, 11211, BG_PROTO_TCP)->hint, "-l 127.0.0.1") != NULL);
	assert_true(strstr(find_rule(p, 4190, BG_PROTO_TCP)->hint, "expose: public") != NULL);
	/* The two UDP reflectors say so. */
	assert_non_null(strstr(find_rule(p, 11211, BG_PROTO_UDP)->note, "reflection"));
	assert_non_null(strstr(find_rule(p, 389, BG_PROTO_UDP)->note, "CLDAP"));
	bg_policy_free(p);
}

/* The ports issue 9 names, one by one: UDP on each is internal or closed, as TCP is. */
static void test_builtin_udp(void **state)
{
	static const struct {
		__u16 port;
		__u8 expose;
	} rows[] = {
		{ 11211, LO }, { 389, LO },   { 4190, OFF }, { 636, OFF },  { 3306, LO },
		{ 5432, LO },  { 10024, LO }, { 10028, LO }, { 24, LO },    { 7777, LO },
		{ 7790, LO },  { 9998, LO },  { 20000, LO }, { 19999, LO },
	};
	static const __u16 public_tcp_only[] = { 25, 587, 110, 995, 143, 993, 80, 443 };
	struct bg_policy *p = parse_builtin();
	const struct bg_policy_rule *r;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(rows); i++) {
		r = find_rule(p, rows[i].port, BG_PROTO_UDP);
		if (!r)
			fail_msg("%u/udp: no rule", rows[i].port);
		assert_int_equal(r->expose, rows[i].expose);
		assert_int_equal(r->action, BG_ACTION_DENY);
		assert_ptr_equal(find_rule(p, rows[i].port, BG_PROTO_TCP), r);
	}
	for (i = 0; i < ARRAY_SIZE(public_tcp_only); i++)
		assert_null(find_rule(p, public_tcp_only[i], BG_PROTO_UDP));
	bg_policy_free(p);
}

static void test_builtin_compiled(void **state)
{
	struct bg_compile_opts opts = { .mode_override = -1, .first_set_id = 1 };
	struct bg_policy *p = parse_builtin();
	struct bg_compiled c;
	size_t i, n_udp = 0;
	__u32 port;

	(void)state;
	assert_int_equal(bg_policy_compile(p, &opts, &c), 0);
	for (i = 0; i < ARRAY_SIZE(seed); i++) {
		const struct bg_rule *s = &c.slots[BG_RULE_KEY(BG_PROTO_TCP, seed[i].port)];

		assert_slot(s, seed[i].expose, BG_ACTION_DENY, BG_MODE_ENFORCE, 0, (__u16)(i + 1),
			    0);
		s = &c.slots[BG_RULE_KEY(BG_PROTO_UDP, seed[i].port)];
		if (seed[i].expose == PUB)
			assert_int_equal(s->expose, BG_EXPOSE_UNSET);
		else
			assert_slot(s, seed[i].expose, BG_ACTION_DENY, BG_MODE_ENFORCE, 0,
				    (__u16)(i + 1), 0);
		if (seed[i].expose != PUB)
			n_udp++;
	}
	/* 30 TCP slots, and a UDP slot for each of the 22 internal or disabled ports. */
	assert_int_equal(n_udp, 22);
	assert_int_equal(count_set_slots(&c), ARRAY_SIZE(seed) + n_udp);
	for (port = 0; port < BG_NR_PORTS; port++)
		if (!find_rule(p, port, BG_PROTO_UDP))
			assert_int_equal(c.slots[BG_RULE_KEY(BG_PROTO_UDP, port)].expose,
					 BG_EXPOSE_UNSET);
	assert_slot(&c.slots[BG_KEY_UNLISTED], BG_EXPOSE_PUBLIC, BG_ACTION_DENY, BG_MODE_ENFORCE, 0,
		    0, 0);
	assert_int_equal(c.n_cidrs, 0);
	bg_compiled_release(&c);
	bg_policy_free(p);
}

/* ------------------------------------------------------------------------------------------ */
/* Names and printing */

static void test_names(void **state)
{
	char buf[BG_CIDR_STRLEN];
	__u8 v = 0x77;
	struct bg_cidr c4 = { .family = BG_AF_INET, .prefixlen = 8, .addr = { 10 } };
	struct bg_cidr c6 = { .family = BG_AF_INET6,
			      .prefixlen = 32,
			      .addr = { 0x20, 1, 0xd, 0xb8 } };
	struct bg_cidr bad = { .family = 7 };

	(void)state;
	assert_string_equal(bg_expose_str(BG_EXPOSE_UNSET), "unset");
	assert_string_equal(bg_expose_str(BG_EXPOSE_PUBLIC), "public");
	assert_string_equal(bg_expose_str(BG_EXPOSE_LOOPBACK), "loopback");
	assert_string_equal(bg_expose_str(BG_EXPOSE_CIDR), "cidr");
	assert_string_equal(bg_expose_str(BG_EXPOSE_NONE), "none");
	assert_string_equal(bg_expose_str(BG_EXPOSE_MAX + 1), "?");
	assert_string_equal(bg_expose_str(255), "?");
	assert_string_equal(bg_action_str(BG_ACTION_DENY), "deny");
	assert_string_equal(bg_action_str(BG_ACTION_ALERT), "alert");
	assert_string_equal(bg_action_str(BG_ACTION_CONFINE), "confine");
	assert_string_equal(bg_action_str(BG_ACTION_MAX + 1), "?");
	assert_string_equal(bg_mode_str(BG_MODE_ENFORCE), "enforce");
	assert_string_equal(bg_mode_str(BG_MODE_AUDIT), "audit");
	assert_string_equal(bg_mode_str(2), "?");
	assert_string_equal(bg_verdict_str(BG_VERDICT_NONE), "none");
	assert_string_equal(bg_verdict_str(BG_VERDICT_ALLOW), "allow");
	assert_string_equal(bg_verdict_str(BG_VERDICT_DENY), "deny");
	assert_string_equal(bg_verdict_str(BG_VERDICT_ALERT), "alert");
	assert_string_equal(bg_verdict_str(BG_VERDICT_CONFINE), "confine");
	assert_string_equal(bg_verdict_str(5), "?");
	assert_string_equal(bg_proto_str(BG_PROTO_TCP), "tcp");
	assert_string_equal(bg_proto_str(BG_PROTO_UDP), "udp");
	assert_string_equal(bg_proto_str(BG_NR_PROTOS), "?");

	assert_int_equal(bg_mode_parse("audit", &v), 0);
	assert_int_equal(v, BG_MODE_AUDIT);
	assert_int_equal(bg_mode_parse("enforce", &v), 0);
	assert_int_equal(v, BG_MODE_ENFORCE);
	v = 0x77;
	assert_int_equal(bg_mode_parse("Audit", &v), -EINVAL);
	assert_int_equal(bg_mode_parse("", &v), -EINVAL);
	assert_int_equal(bg_mode_parse(NULL, &v), -EINVAL);
	assert_int_equal(v, 0x77);
	assert_int_equal(bg_action_parse("confine", &v), 0);
	assert_int_equal(v, BG_ACTION_CONFINE);
	assert_int_equal(bg_action_parse("unset", &v), -EINVAL);
	assert_int_equal(v, BG_ACTION_CONFINE);

	assert_string_equal(bg_cidr_str(&c4, buf, sizeof(buf)), "10.0.0.0/8");
	assert_string_equal(bg_cidr_str(&c6, buf, sizeof(buf)), "2001:db8::/32");
	assert_string_equal(bg_cidr_str(&bad, buf, sizeof(buf)), "?");
}

/*
 * Found by fuzzing: user text in a message must never carry a control byte, or a policy file
 * could forge a second log line. libyaml decodes %XX in tags; a CIDR entry can hold "\n".
 */
static void test_errors_no_control_bytes(void **state)
{
	static const char *const inputs[] = {
		"version: !sin1%0a-forged%02x: e\n",
		"version: 1\nrules:\n  - port: 5432\n    expose: [\"::1\\nbindguard: forged\"]\n",
		"version: 1\nrules:\n  - port: 5432\n    expose: [\"10.0.0.1\\u0001/8\"]\n",
		/* The text before a flow list is repeated in the suggestion (fuzz-ci). */
		"version: 1\nunlisted:\t[::1]\nrules: []\n",
		"version: 1\nrules:\n  - expose:\t[\x01::1]\n",
		"version: 1\nrules:\n  - note: a: \"\x01\"\n",
	};
	struct bg_policy_error err;
	struct bg_policy *p = NULL;
	char line[1024];
	size_t i;
	const char *c;

	(void)state;
	for (i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		memset(&err, 0, sizeof(err));
		assert_int_equal(
			bg_policy_parse_buffer("t.yaml", inputs[i], strlen(inputs[i]), &p, &err),
			-EINVAL);
		assert_null(p);
		bg_policy_error_str(&err, line, sizeof(line));
		for (c = line; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				fail_msg("input %zu: control byte 0x%02x in \"%s\"", i,
					 (unsigned char)*c, line);
	}
}

static void test_error_str(void **state)
{
	struct bg_policy_error err = { .file = "p.yaml", .line = 3, .col = 5, .msg = "bad" };
	char buf[1024], tiny[8];

	(void)state;
	assert_string_equal(bg_policy_error_str(&err, buf, sizeof(buf)), "p.yaml:3:5: bad");
	err.line = 0;
	assert_string_equal(bg_policy_error_str(&err, buf, sizeof(buf)), "p.yaml: bad");
	assert_string_equal(bg_policy_error_str(&err, tiny, sizeof(tiny)), "p.yaml:");

	/* What the parser fills in formats as the one line `bindguard check` prints. */
	assert_int_equal(
		parse(RULES "  - port: 1\n    expose: lo\n", &(struct bg_policy *){ NULL }, &err),
		-EINVAL);
	assert_string_equal(bg_policy_error_str(&err, buf, sizeof(buf)),
			    "test.yaml:4:13: expose \"lo\" is not one of: public, loopback, none, "
			    "or a list of CIDRs");
}

/* ------------------------------------------------------------------------------------------ */
/* Warnings */

struct warn_case {
	const char *name;
	const char *yaml;
	unsigned int line, col; /* 0: no warning wanted */
	const char *msg[3]; /* substrings of the formatted line */
};

static void test_warnings(void **state)
{
	static const struct warn_case cases[] = {
		{ "unlisted: public",
		  "version: 1\nunlisted: public\nrules: [{port: 1, expose: none}]\n",
		  0,
		  0,
		  { NULL } },
		{ "no unlisted", RULES "  - port: 1\n    expose: none\n", 0, 0, { NULL } },
		{ "unlisted: loopback",
		  "version: 1\nunlisted: loopback\nrules: []\n",
		  2,
		  11,
		  { "test.yaml:2:11: warning: unlisted: loopback applies to clients too: on every "
		    "port no rule lists, a bind() outside loopback is denied (EPERM): every server "
		    "you did not list, and every client that binds 0.0.0.0 or another non-loopback "
		    "address before connecting to a fixed local port (a bind to port 0, an "
		    "ephemeral port, is not judged by it); list each port other hosts must reach "
		    "with expose: public, or keep unlisted: public" } },
		{ "unlisted: none, audit",
		  "version: 1\nmode: audit\nrules: []\nunlisted: none\n",
		  4,
		  11,
		  { "unlisted: none applies to clients too",
		    "any bind(), even on loopback, is reported as a violation: every server you did "
		    "not list, and every client that binds before connecting",
		    "list each port in use with its exposure, or keep unlisted: public" } },
		{ "unlisted: loopback, alert",
		  "version: 1\nunlisted: loopback\nunlisted_action: alert\nrules: []\n",
		  2,
		  11,
		  { "is reported as a violation" } },
		{ "unlisted: loopback, confine by default_action after it",
		  "version: 1\nunlisted: loopback\nrules: []\ndefault_action: confine\n",
		  2,
		  11,
		  { "is confined to loopback (a wildcard bind) or denied (EPERM)" } },
		{ "unlisted: none, confine is a deny",
		  "version: 1\nunlisted: none\nunlisted_action: confine\nrules: []\n",
		  2,
		  11,
		  { "even on loopback, is denied (EPERM)" } },
		{ "unlisted: flow CIDRs",
		  "version: 1\nunlisted: [10.0.0.0/8]\nrules: []\n",
		  2,
		  11,
		  { "warning: unlisted: [CIDRs] applies to clients too: on every port no rule lists, "
		    "a bind() outside loopback and those networks is denied (EPERM)" } },
		{ "unlisted: block CIDRs",
		  "version: 1\nunlisted:\n  - 10.0.0.0/8\nrules: []\n",
		  3,
		  3,
		  { "test.yaml:3:3: warning: unlisted: [CIDRs]" } },
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct warn_case *t = &cases[i];
		struct bg_policy *p = parse_ok(t->yaml);
		char line[1024];
		const char *c;
		size_t k;

		if (!t->line) {
			if (p->n_warnings)
				fail_msg("case \"%s\": unwanted warning %s", t->name,
					 bg_policy_warning_str(p, 0, line, sizeof(line)));
			bg_policy_free(p);
			continue;
		}
		if (p->n_warnings != 1)
			fail_msg("case \"%s\": %zu warnings, want 1", t->name, p->n_warnings);
		assert_int_equal(p->warnings[0].line, t->line);
		assert_int_equal(p->warnings[0].col, t->col);
		bg_policy_warning_str(p, 0, line, sizeof(line));
		for (k = 0; k < ARRAY_SIZE(t->msg) && t->msg[k]; k++)
			if (!strstr(line, t->msg[k]))
				fail_msg("case \"%s\": \"%s\" not in \"%s\"", t->name, t->msg[k],
					 line);
		/* One whole line: not cut short, no control byte. */
		assert_true(strlen(p->warnings[0].msg) < sizeof(p->warnings[0].msg) - 1);
		assert_non_null(strstr(line, "keep unlisted: public"));
		for (c = line; *c; c++)
			assert_true((unsigned char)*c >= 0x20 && *c != 0x7f);
		bg_policy_free(p);
	}
}

static void test_warning_str(void **state)
{
	struct bg_policy_warning w = { .line = 2, .col = 11, .msg = "careful" };
	struct bg_policy p = { .source = "p.yaml", .warnings = &w, .n_warnings = 1 };
	char buf[128], tiny[8];

	(void)state;
	assert_string_equal(bg_policy_warning_str(&p, 0, buf, sizeof(buf)),
			    "p.yaml:2:11: warning: careful");
	assert_string_equal(bg_policy_warning_str(&p, 0, tiny, sizeof(tiny)), "p.yaml:");
	assert_string_equal(bg_policy_warning_str(&p, 1, buf, sizeof(buf)), "?");
	assert_string_equal(bg_policy_warning_str(NULL, 0, buf, sizeof(buf)), "?");
	assert_null(bg_policy_warning_str(&p, 0, NULL, 0));
}

/* What bg_cli_load_policy() prints on stderr for path (NULL: the built-in policy). */
static char *cli_load(const char *path, int *ret, struct bg_policy **p)
{
	char out[512], *text;
	int fd, saved;
	FILE *f;
	long n;

	snprintf(out, sizeof(out), "%s/stderr.txt", tmpdir);
	fd = open(out, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(2);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fd, 2), 2);
	*ret = bg_cli_load_policy(path, p, out, sizeof(out));
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	f = fdopen(fd, "r");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	text = calloc(1, (size_t)n + 1);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return text;
}

/*
 * The command line's words: a policy error or warning starts its line with file:line:col, as a
 * compiler's does, so that an editor can jump to it; an error with no position keeps the prefix.
 */
static void test_cli_messages(void **state)
{
	struct bg_policy *p = NULL;
	char path[512], want[1024];
	char *text;
	int ret;

	(void)state;
	snprintf(path, sizeof(path), "%s/bad.yaml", tmpdir);
	write_file(path, RULES "  - port: 3306\n   expose: loopback\n");
	text = cli_load(path, &ret, &p);
	assert_int_equal(ret, -EINVAL);
	assert_null(p);
	snprintf(want, sizeof(want),
		 "%s:4:4: bad indentation: \"expose\" is indented 3 spaces, but the other keys of "
		 "the rule at line 3 are indented 4 spaces: align it with them\n",
		 path);
	assert_string_equal(text, want);
	free(text);

	snprintf(path, sizeof(path), "%s/good.yaml", tmpdir);
	write_file(path, "version: 1\nunlisted: none\nrules: []\n");
	text = cli_load(path, &ret, &p);
	assert_int_equal(ret, 0);
	assert_non_null(p);
	snprintf(want, sizeof(want), "%s:2:11: warning: unlisted: none applies to clients too",
		 path);
	assert_memory_equal(text, want, strlen(want));
	assert_ptr_equal(strchr(text, '\n'), text + strlen(text) - 1);
	bg_policy_free(p);
	free(text);

	p = NULL;
	text = cli_load("/nonexistent/bindguard.yaml", &ret, &p);
	assert_int_equal(ret, -ENOENT);
	assert_string_equal(text, "bindguard: /nonexistent/bindguard.yaml: cannot open: No such "
				  "file or directory\n");
	free(text);

	/* The built-in policy loads without a word. */
	text = cli_load(NULL, &ret, &p);
	assert_int_equal(ret, 0);
	assert_string_equal(text, "");
	bg_policy_free(p);
	free(text);
}

static char *print_to_string(const struct bg_policy *p)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	bg_policy_print(p, f);
	assert_int_equal(fclose(f), 0);
	assert_non_null(text);
	return text;
}

static void test_print(void **state)
{
	struct bg_policy *p = parse_builtin();
	char *text, *line;
	int rules = 0;

	(void)state;
	text = print_to_string(p);
	assert_non_null(strstr(text, "policy    iredmail\n"));
	assert_non_null(strstr(text, "source    " BG_BUILTIN_POLICY_NAME "\n"));
	assert_non_null(strstr(text, "mode      enforce\n"));
	assert_non_null(strstr(text, "unlisted  public"));
	assert_non_null(strstr(text, "rules     30\n"));
	assert_non_null(strstr(text,
			       "\n  3306/tcp+udp    loopback  deny     mysql (MySQL/MariaDB)\n"
			       "      hint: Set bind-address = 127.0.0.1"));
	assert_non_null(
		strstr(text, "\n  4190/tcp+udp    none      deny     managesieve (Dovecot)\n"));
	assert_non_null(strstr(text, "\n  25/tcp          public    -        smtp (Postfix)\n"));
	for (line = text; line; line = strchr(line + 1, '\n'))
		rules += line[0] == '\n' && line[1] == ' ' && line[2] == ' ' && line[3] >= '0' &&
			 line[3] <= '9';
	assert_int_equal(rules, 30);
	free(text);
	bg_policy_free(p);

	p = parse_ok(
		"version: 1\nunlisted: none\nunlisted_action: alert\nrules:\n"
		"  - ports: 10024-10028\n    proto: both\n    expose: [10.0.0.0/8, \"fd00::/8\"]\n"
		"    hint: \"a\\nb\"\n");
	text = print_to_string(p);
	assert_non_null(strstr(text, "policy    (unnamed)\n"));
	assert_non_null(strstr(text, "unlisted  none, else alert\n"));
	assert_non_null(strstr(text, "\n  10024-10028/tcp+udp cidr      deny     -\n"
				     "      allow: 10.0.0.0/8, fd00::/8 and loopback\n"
				     "      hint: a\n"
				     "            b\n"));
	free(text);
	bg_policy_free(p);
	bg_policy_print(NULL, stdout); /* NULL-safe: prints nothing */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors_structure),
		cmocka_unit_test(test_errors_no_control_bytes),
		cmocka_unit_test(test_errors_yaml_syntax),
		cmocka_unit_test(test_errors_explained),
		cmocka_unit_test(test_errors_ports),
		cmocka_unit_test(test_errors_values),
		cmocka_unit_test(test_errors_cidr),
		cmocka_unit_test(test_errors_overlap),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_fields),
		cmocka_unit_test(test_default_action_resolution),
		cmocka_unit_test(test_port_edges),
		cmocka_unit_test(test_same_port_two_protos),
		cmocka_unit_test(test_cidr_normalisation),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_yaml_forms),
		cmocka_unit_test(test_empty_rules_restricted),
		cmocka_unit_test(test_rule_limit),
		cmocka_unit_test(test_size_cap),
		cmocka_unit_test(test_out_untouched),
		cmocka_unit_test(test_parse_file),
		cmocka_unit_test(test_compile_slots),
		cmocka_unit_test(test_compile_mode_and_flags),
		cmocka_unit_test(test_compile_cidr),
		cmocka_unit_test(test_compile_rejects),
		cmocka_unit_test(test_builtin_profile),
		cmocka_unit_test(test_builtin_udp),
		cmocka_unit_test(test_builtin_compiled),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_warning_str),
		cmocka_unit_test(test_cli_messages),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_error_str),
		cmocka_unit_test(test_print),
	};

	return cmocka_run_group_tests(tests, tmpdir_setup, tmpdir_teardown);
}
