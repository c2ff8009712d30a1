/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * policy.h - the bindguard policy language: parse (libyaml), validate, compile to rule-table
 * entries. Pure C, no libbpf: the agent turns the compiled form into maps, and the unit tests
 * drive it directly.
 */
#ifndef BG_POLICY_H
#define BG_POLICY_H

#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

#include "bindguard.h"

/* One CIDR of a rule's exposure list, normalised (host bits cleared). */
struct bg_cidr {
	__u8 family; /* BG_AF_INET or BG_AF_INET6 */
	__u8 prefixlen; /* 0..32 or 0..128 */
	__u8 addr[16]; /* network order; IPv4 in addr[0..3] */
};

struct bg_policy_rule {
	__u32 port_lo; /* inclusive, 1..65535: port 0 asks the kernel for an ephemeral port */
	__u32 port_hi; /* inclusive, >= port_lo */
	__u8 protos; /* BG_PROTO_BIT(BG_PROTO_TCP) | BG_PROTO_BIT(BG_PROTO_UDP) */
	__u8 expose; /* BG_EXPOSE_*, never UNSET */
	__u8 action; /* BG_ACTION_*, resolved against the policy default, never UNSET */
	char *service; /* may be NULL */
	char *software; /* may be NULL */
	char *hint; /* may be NULL */
	char *note; /* may be NULL */
	struct bg_cidr *cidrs; /* with BG_EXPOSE_CIDR */
	size_t n_cidrs;
	unsigned int line; /* 1-based position of the rule in its file */
	unsigned int col;
	__u16 scope; /* 0: the host rules; n: the rules of scopes[n - 1] */
};

/*
 * A scope: the rule set for sockets made in some cgroups. The first scope whose match matches a
 * socket's cgroup judges it with its own rules and unlisted default; no match, the host's. Its
 * rules sit in bg_policy.rules like the host's (rule ids stay one flat numbering), tagged with
 * the scope's number. Every match key given must match (globs, fnmatch without FNM_PATHNAME, so
 * '*' spans levels): cgroup on the cgroup's path; namespace and pod on a Kubernetes pod's names.
 */
#define BG_POLICY_MAX_SCOPES 64

struct bg_policy_scope {
	char *name;
	char *match_cgroup; /* NULL: any */
	char *match_namespace; /* NULL: any; set: only pods */
	char *match_pod; /* NULL: any; set: only pods */
	__u8 unlisted_expose; /* BG_EXPOSE_*; the host's unless the scope says */
	__u8 unlisted_action;
	__u8 default_action;
	struct bg_cidr *unlisted_cidrs;
	size_t n_unlisted_cidrs;
	size_t first_rule, n_rules; /* its rules: bg_policy.rules[first_rule ...] */
	unsigned int line, col;
};

/*
 * A warning: the policy is valid and is loaded, but a part of it probably does not do what its
 * author meant (e.g. `unlisted: loopback` also judges every client). Printed as
 * "file:line:col: warning: msg" by bg_policy_warning_str().
 */
struct bg_policy_warning {
	unsigned int line; /* 1-based, always set */
	unsigned int col; /* 1-based */
	char msg[512]; /* one line, no control characters */
};

struct bg_policy {
	char *name; /* policy "name:", may be NULL */
	char *source; /* file name used in messages */
	char *text; /* the policy as read, text_len bytes (not NUL-terminated) */
	size_t text_len;
	__u8 mode; /* BG_MODE_* */
	__u8 default_action; /* BG_ACTION_* for rules that name none */
	__u8 unlisted_expose; /* BG_EXPOSE_* for ports no rule lists (PUBLIC = allow) */
	__u8 unlisted_action; /* BG_ACTION_* applied to unlisted ports */
	struct bg_cidr *unlisted_cidrs;
	size_t n_unlisted_cidrs;
	struct bg_policy_rule *rules; /* the host's and every scope's, see bg_policy_rule.scope */
	size_t n_rules;
	struct bg_policy_scope *scopes;
	size_t n_scopes;
	struct bg_policy_warning *warnings; /* in file order; NULL when there are none */
	size_t n_warnings;
};

/* A parse or validation error: one line, "file:line:col: message". */
struct bg_policy_error {
	char file[256];
	unsigned int line; /* 1-based; 0 if not tied to a position */
	unsigned int col; /* 1-based */
	char msg[512];
};

/* Format err as "file:line:col: msg" into buf. Returns buf. */
const char *bg_policy_error_str(const struct bg_policy_error *err, char *buf, size_t len);

/*
 * Format warning i of p as "file:line:col: warning: msg" (file is p->source) into buf. Returns
 * buf, which holds "?" when i is out of range.
 */
const char *bg_policy_warning_str(const struct bg_policy *p, size_t i, char *buf, size_t len);

/*
 * Parse and validate a policy. On success return 0 and set *out (free with bg_policy_free());
 * (*out)->warnings then lists what is valid but probably unintended, for the caller to print.
 * On failure return -EINVAL (bad policy; err filled), -ENOENT/-EACCES/... (file could not be
 * read; err filled) or -ENOMEM, and leave *out untouched.
 */
int bg_policy_parse_file(const char *path, struct bg_policy **out, struct bg_policy_error *err);
int bg_policy_parse_buffer(const char *name, const char *buf, size_t len, struct bg_policy **out,
			   struct bg_policy_error *err);
void bg_policy_free(struct bg_policy *p);

/* Names for the enums, as used in the YAML, in --help and in events. NULL-safe: "?" if unknown. */
const char *bg_expose_str(__u8 expose);
const char *bg_action_str(__u8 action);
const char *bg_mode_str(__u8 mode);
const char *bg_verdict_str(__u8 verdict);
const char *bg_proto_str(__u8 proto);
int bg_mode_parse(const char *s, __u8 *mode); /* 0 or -EINVAL */
int bg_action_parse(const char *s, __u8 *action); /* deny|alert|confine: 0 or -EINVAL */

/* A CIDR as text ("10.0.0.0/8", "2001:db8::/32"); buf holds at least BG_CIDR_STRLEN. Returns buf. */
#define BG_CIDR_STRLEN 50
const char *bg_cidr_str(const struct bg_cidr *c, char *buf, size_t len);

/* Limits the parser enforces (errors, never truncation). */
#define BG_POLICY_MAX_BYTES (16u << 20) /* a larger file is rejected before parsing */
#define BG_POLICY_MAX_RULES 65535u /* rule ids are __u16 and 0 means "unlisted" */

/*
 * Options applied at compile time (they come from the command line, not the file).
 */
struct bg_compile_opts {
	int mode_override; /* -1: keep the policy's mode; else BG_MODE_* */
	int log_allowed; /* set BG_RULE_F_LOG_ALLOWED on every slot */
	__u32 first_set_id; /* first CIDR set id to hand out (>= 1) */
	__u16 gen; /* policy generation stamped into every slot (struct bg_rule.gen) */
};

/* A CIDR-trie entry ready for the BG_MAP_CIDRS map. */
struct bg_compiled_cidr {
	struct bg_cidr_key key;
};

/* One entry of the scoped-rules hash. */
struct bg_compiled_scoped {
	struct bg_scope_key key;
	struct bg_rule rule;
};

struct bg_compiled {
	struct bg_rule *slots; /* BG_RULE_SLOTS entries, indexed by BG_RULE_KEY / BG_KEY_UNLISTED */
	struct bg_compiled_cidr *cidrs;
	size_t n_cidrs;
	struct bg_compiled_scoped *scoped; /* the scopes' rules and unlisted rules */
	size_t n_scoped;
	__u32 n_scopes;
	__u32 next_set_id; /* first set id not used by this compilation */
};

/*
 * Compile a validated policy into rule-table slots and CIDR-trie keys. Rule ids are the 1-based
 * index of the rule in p->rules. Returns 0 or -ENOMEM/-EINVAL; *out is untouched on failure.
 */
int bg_policy_compile(const struct bg_policy *p, const struct bg_compile_opts *opts,
		      struct bg_compiled *out);
void bg_compiled_release(struct bg_compiled *c);

/*
 * Which scope takes a cgroup: the first (in policy order) whose every match key matches, as a
 * 1-based scope number, or 0 (the host's rules). cgroup is the cgroup's path relative to the
 * cgroup v2 mount ("/system.slice/mariadb.service"); ns and pod are the Kubernetes namespace
 * and pod name of the pod it belongs to, or NULL when it is no pod's (then a scope that names a
 * namespace or pod does not match). Globs are fnmatch(3) patterns without FNM_PATHNAME.
 */
__u32 bg_policy_scope_of(const struct bg_policy *p, const char *cgroup, const char *ns,
			 const char *pod);

/* Print the compiled rules, one line per rule, for `bindguard check`. */
void bg_policy_print(const struct bg_policy *p, FILE *f);

/* The built-in iRedMail policy (policy/iredmail.yaml, embedded at build time). */
extern const char bg_builtin_policy[];
extern const size_t bg_builtin_policy_len;
#define BG_BUILTIN_POLICY_NAME "<builtin:iredmail.yaml>"

#endif /* BG_POLICY_H */
