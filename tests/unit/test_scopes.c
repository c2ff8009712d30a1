// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_scopes.c - unit tests for a policy's scopes: parsing (what a scope inherits from the
 * host, every error with its position), compiling (scoped rules out of the host table, one
 * unlisted entry per scope) and classification (bg_policy_scope_of: globs, first match, pod
 * names unknown). The kernel side and the cgroup watching are tested for real by
 * itest_scopes. Runs without root.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg_decide.h"
#include "policy.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char scoped[] = "version: 1\n"
			     "name: scoped\n"
			     "default_action: alert\n"
			     "unlisted: loopback\n"
			     "rules:\n"
			     "  - port: 3306\n"
			     "    expose: loopback\n"
			     "    service: mysql\n"
			     "  - port: 25\n"
			     "    expose: public\n"
			     "scopes:\n"
			     "  - name: db\n"
			     "    match:\n"
			     "      namespace: db\n"
			     "      pod: \"mysql-*\"\n"
			     "    default_action: deny\n"
			     "    rules:\n"
			     "      - port: 3306\n"
			     "        expose: public\n"
			     "        service: mysql-public\n"
			     "      - port: 9104\n"
			     "        expose: loopback\n"
			     "  - name: unit\n"
			     "    match:\n"
			     "      cgroup: \"*/system.slice/test-mariadb.service\"\n"
			     "    unlisted: public\n"
			     "    rules:\n"
			     "      - port: 8080\n"
			     "        proto: both\n"
			     "        expose: none\n"
			     "        action: deny\n"
			     "  - name: anything-in-db\n"
			     "    match:\n"
			     "      namespace: db\n"
			     "    rules: []\n";

static struct bg_policy *parse_ok(const char *yaml)
{
	struct bg_policy_error err;
	struct bg_policy *p = NULL;
	char buf[1024];
	int ret;

	ret = bg_policy_parse_buffer("test.yaml", yaml, strlen(yaml), &p, &err);
	if (ret)
		print_error("unexpected error %d: %s\n", ret,
			    bg_policy_error_str(&err, buf, sizeof(buf)));
	assert_int_equal(ret, 0);
	assert_non_null(p);
	return p;
}

static void test_parse(void **state)
{
	struct bg_policy *p = parse_ok(scoped);
	size_t i, host = 0, in[4] = { 0 };

	(void)state;
	assert_int_equal(p->n_scopes, 3);
	assert_string_equal(p->scopes[0].name, "db");
	assert_string_equal(p->scopes[0].match_namespace, "db");
	assert_string_equal(p->scopes[0].match_pod, "mysql-*");
	assert_null(p->scopes[0].match_cgroup);
	/* What a scope does not say, it takes from the host. */
	assert_int_equal(p->scopes[0].default_action, BG_ACTION_DENY);
	assert_int_equal(p->scopes[0].unlisted_expose, BG_EXPOSE_LOOPBACK);
	assert_int_equal(p->scopes[1].default_action, BG_ACTION_ALERT);
	assert_int_equal(p->scopes[1].unlisted_expose, BG_EXPOSE_PUBLIC);
	assert_string_equal(p->scopes[1].match_cgroup, "*/system.slice/test-mariadb.service");
	for (i = 0; i < p->n_rules; i++) {
		if (p->rules[i].scope)
			in[p->rules[i].scope]++;
		else
			host++;
	}
	assert_int_equal(host, 2);
	assert_int_equal(in[1], 2);
	assert_int_equal(in[2], 1);
	assert_int_equal(in[3], 0);
	/* A scope's rule without an action takes the scope's default, not the host's. */
	for (i = 0; i < p->n_rules; i++)
		if (p->rules[i].scope == 1 && p->rules[i].port_lo == 9104)
			assert_int_equal(p->rules[i].action, BG_ACTION_DENY);
	bg_policy_free(p);
}

/* The same port in the host rules and in two scopes is no overlap: each judges its own. */
static void test_same_port_per_scope(void **state)
{
	static const char yaml[] = "version: 1\n"
				   "rules:\n"
				   "  - port: 3306\n"
				   "    expose: loopback\n"
				   "scopes:\n"
				   "  - name: a\n"
				   "    match: {cgroup: \"/a\"}\n"
				   "    rules:\n"
				   "      - port: 3306\n"
				   "        expose: public\n"
				   "  - name: b\n"
				   "    match: {cgroup: \"/b\"}\n"
				   "    rules:\n"
				   "      - ports: 3300-3310\n"
				   "        expose: none\n";
	struct bg_policy *p = parse_ok(yaml);

	(void)state;
	assert_int_equal(p->n_rules, 3);
	bg_policy_free(p);
}

struct err_case {
	const char *name;
	const char *yaml;
	const char *want; /* "line:col: substring" */
};

static const struct err_case errors[] = {
	{ "no name", "version: 1\nrules: []\nscopes:\n  - match: {cgroup: x}\n    rules: []\n",
	  "4:5: scope has no name" },
	{ "no match", "version: 1\nrules: []\nscopes:\n  - name: a\n    rules: []\n",
	  "4:5: scope a has no match" },
	{ "no rules", "version: 1\nrules: []\nscopes:\n  - name: a\n    match: {cgroup: x}\n",
	  "4:5: scope a has no rules" },
	{ "empty match",
	  "version: 1\nrules: []\nscopes:\n  - name: a\n    match: {}\n    rules: []\n",
	  "5:12: match is empty" },
	{ "unknown match key",
	  "version: 1\nrules: []\nscopes:\n  - name: a\n    match: {colour: red}\n"
	  "    rules: []\n",
	  "5:13: unknown key \"colour\" in match" },
	{ "unknown scope key",
	  "version: 1\nrules: []\nscopes:\n  - name: a\n    match: {cgroup: x}\n"
	  "    mode: audit\n    rules: []\n",
	  "6:5: unknown key \"mode\"" },
	{ "duplicate name",
	  "version: 1\nrules: []\nscopes:\n  - name: a\n    match: {cgroup: x}\n    rules: []\n"
	  "  - name: a\n    match: {pod: y}\n    rules: []\n",
	  "7:5: scope name \"a\" is used twice (first at line 4)" },
	/* fuzz_policy found a tab in a name echoed raw in "scope ... has no match". */
	{ "tab in a name",
	  "version: 1\nrules: []\nscopes:\n  - name: \"de:   \\t\\t\"\n    rules: []\n",
	  "4:11: scope name holds a tab" },
	{ "tab in a glob",
	  "version: 1\nrules: []\nscopes:\n  - name: a\n    match: {pod: \"x\ty\"}\n"
	  "    rules: []\n",
	  "5:18: match.pod holds a tab" },
	{ "not a sequence", "version: 1\nrules: []\nscopes: {name: a}\n",
	  "3:9: scopes must be a sequence" },
	{ "scope not a mapping", "version: 1\nrules: []\nscopes:\n  - a\n",
	  "4:5: a scope must be a mapping" },
	{ "overlap inside a scope",
	  "version: 1\nrules: []\nscopes:\n  - name: a\n    match: {cgroup: x}\n    rules:\n"
	  "      - port: 25\n        expose: public\n      - ports: 20-30\n        expose: none\n",
	  "9:9:" },
};

static void test_errors(void **state)
{
	struct bg_policy_error err;
	struct bg_policy *p;
	char buf[1024];
	size_t i;
	int ret;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(errors); i++) {
		p = NULL;
		ret = bg_policy_parse_buffer("test.yaml", errors[i].yaml, strlen(errors[i].yaml),
					     &p, &err);
		bg_policy_error_str(&err, buf, sizeof(buf));
		if (ret == 0 || !strstr(buf, errors[i].want)) {
			print_error("case %s: ret %d, got \"%s\", want \"%s\"\n", errors[i].name,
				    ret, ret ? buf : "(parsed)", errors[i].want);
			fail();
		}
		assert_null(p);
	}
}

static const struct bg_compiled_scoped *find_scoped(const struct bg_compiled *c, __u32 scope,
						    __u16 proto, __u16 port)
{
	size_t i;

	for (i = 0; i < c->n_scoped; i++)
		if (c->scoped[i].key.scope == scope && c->scoped[i].key.proto == proto &&
		    c->scoped[i].key.port == port)
			return &c->scoped[i];
	return NULL;
}

static void test_compile(void **state)
{
	struct bg_compile_opts opts = { .mode_override = -1, .first_set_id = 1 };
	struct bg_policy *p = parse_ok(scoped);
	const struct bg_compiled_scoped *e;
	struct bg_compiled c = { 0 };

	(void)state;
	assert_int_equal(bg_policy_compile(p, &opts, &c), 0);
	assert_int_equal(c.n_scopes, 3);
	/* The host table has the host's rules only. */
	assert_int_equal(c.slots[BG_RULE_KEY(BG_PROTO_TCP, 3306)].expose, BG_EXPOSE_LOOPBACK);
	assert_false(bg_rule_is_set(&c.slots[BG_RULE_KEY(BG_PROTO_TCP, 9104)]));
	assert_false(bg_rule_is_set(&c.slots[BG_RULE_KEY(BG_PROTO_TCP, 8080)]));
	/* 2 + 2 (8080 tcp and udp) rules, 3 unlisted entries. */
	assert_int_equal(c.n_scoped, 2 + 2 + 3);
	e = find_scoped(&c, 1, BG_PROTO_TCP, 3306);
	assert_non_null(e);
	assert_int_equal(e->rule.expose, BG_EXPOSE_PUBLIC);
	e = find_scoped(&c, 1, BG_PROTO_TCP, 9104);
	assert_non_null(e);
	assert_int_equal(e->rule.action, BG_ACTION_DENY);
	assert_non_null(find_scoped(&c, 2, BG_PROTO_UDP, 8080));
	assert_null(find_scoped(&c, 2, BG_PROTO_TCP, 3306));
	e = find_scoped(&c, 2, BG_SCOPE_UNLISTED, 0);
	assert_non_null(e);
	assert_int_equal(e->rule.expose, BG_EXPOSE_PUBLIC);
	e = find_scoped(&c, 3, BG_SCOPE_UNLISTED, 0);
	assert_non_null(e);
	assert_int_equal(e->rule.expose, BG_EXPOSE_LOOPBACK);
	assert_int_equal(e->rule.action, BG_ACTION_ALERT);
	bg_compiled_release(&c);
	bg_policy_free(p);
}

static void test_scope_of(void **state)
{
	struct bg_policy *p = parse_ok(scoped);
	const char *unit = "/system.slice/test-mariadb.service";

	(void)state;
	assert_int_equal(bg_policy_scope_of(p, "/kubepods/x", "db", "mysql-0"), 1);
	/* First match wins: a db pod not named mysql-* falls to anything-in-db. */
	assert_int_equal(bg_policy_scope_of(p, "/kubepods/x", "db", "redis-0"), 3);
	assert_int_equal(bg_policy_scope_of(p, "/kubepods/x", "web", "mysql-0"), 0);
	/* Pod names unknown: a scope that names them does not match. */
	assert_int_equal(bg_policy_scope_of(p, "/kubepods/x", NULL, NULL), 0);
	/* A glob's * crosses slashes (no FNM_PATHNAME): the unit anywhere in the tree. */
	assert_int_equal(bg_policy_scope_of(p, unit, NULL, NULL), 2);
	assert_int_equal(
		bg_policy_scope_of(p, "/node/system.slice/test-mariadb.service", NULL, NULL), 2);
	/* Whole-path match: not a cgroup below the unit, nor a longer name. */
	assert_int_equal(bg_policy_scope_of(p, "/system.slice/test-mariadb.service/x", NULL, NULL),
			 0);
	assert_int_equal(bg_policy_scope_of(p, "/system.slice/test-mariadb.services", NULL, NULL),
			 0);
	assert_int_equal(bg_policy_scope_of(NULL, unit, NULL, NULL), 0);
	bg_policy_free(p);
}

static void test_print(void **state)
{
	struct bg_policy *p = parse_ok(scoped);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	bg_policy_print(p, f);
	fclose(f);
	assert_non_null(strstr(buf, "rules     2\n"));
	assert_non_null(strstr(buf, "scopes    3 "));
	assert_non_null(strstr(buf, "  scope db: namespace=db pod=mysql-*\n"));
	assert_non_null(strstr(buf, "  scope unit: cgroup=*/system.slice/test-mariadb.service\n"));
	assert_non_null(strstr(buf, "    3306/tcp        public    -        mysql-public\n"));
	assert_non_null(strstr(buf, "    8080/tcp+udp    none      deny     -\n"));
	free(buf);
	bg_policy_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),	 cmocka_unit_test(test_same_port_per_scope),
		cmocka_unit_test(test_errors),	 cmocka_unit_test(test_compile),
		cmocka_unit_test(test_scope_of), cmocka_unit_test(test_print),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
