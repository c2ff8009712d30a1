// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * compile.c - turn a validated policy into rule-table slots and CIDR-trie keys, and print it.
 *
 * The compiler trusts nothing about its input: a policy built by hand (or by a future parser)
 * that would produce an inert slot for a listed port, an out-of-range value or two rules on one
 * slot is refused, because the kernel side reads whatever it is given and an UNSET slot there
 * means "allow".
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

static int cidr_valid(const struct bg_cidr *c)
{
	if (c->family == BG_AF_INET)
		return c->prefixlen <= 32;
	return c->family == BG_AF_INET6 && c->prefixlen <= 128;
}

static int cidr_list_valid(const struct bg_cidr *cidrs, size_t n)
{
	size_t i;

	if (!n || !cidrs)
		return 0;
	for (i = 0; i < n; i++)
		if (!cidr_valid(&cidrs[i]))
			return 0;
	return 1;
}

static int exposure_valid(__u8 expose, __u8 action, const struct bg_cidr *cidrs, size_t n)
{
	if (expose == BG_EXPOSE_UNSET || expose > BG_EXPOSE_MAX)
		return 0;
	if (action == BG_ACTION_UNSET || action > BG_ACTION_MAX)
		return 0;
	/* A CIDR exposure with no networks would compile to set 0: loopback only, not intended. */
	return expose != BG_EXPOSE_CIDR || cidr_list_valid(cidrs, n);
}

static int rule_valid(const struct bg_policy_rule *r)
{
	const __u8 all = BG_PROTO_BIT(BG_PROTO_TCP) | BG_PROTO_BIT(BG_PROTO_UDP);

	/*
	 * Port 0 is no port: a bind to it asks the kernel to pick one. A slot for it would judge
	 * every such bind before its port is known, so no rule may claim it.
	 */
	if (!r->port_lo || r->port_lo > r->port_hi || r->port_hi >= BG_NR_PORTS)
		return 0;
	if (!r->protos || (r->protos & ~all))
		return 0;
	return exposure_valid(r->expose, r->action, r->cidrs, r->n_cidrs);
}

/*
 * One trie key: the big-endian set id leads, so one trie holds every set and a lookup can never
 * match another set's network. IPv4 goes in as v4-mapped, since that is how the IPv6 hooks see
 * IPv4 peers and the BPF side looks every address up in that one form.
 */
static void cidr_key(const struct bg_cidr *c, __u32 set, struct bg_cidr_key *key)
{
	__u32 plen, i, keep;

	memset(key, 0, sizeof(*key));
	key->set = htonl(set);
	if (c->family == BG_AF_INET) {
		key->addr[10] = 0xff;
		key->addr[11] = 0xff;
		memcpy(key->addr + 12, c->addr, 4);
		plen = 96 + c->prefixlen;
	} else {
		memcpy(key->addr, c->addr, 16);
		plen = c->prefixlen;
	}
	/* Host bits never reach the trie, whoever built the policy. */
	for (i = 0; i < 16; i++) {
		keep = plen >= (i + 1) * 8 ? 8 : plen > i * 8 ? plen - i * 8 : 0;
		key->addr[i] &= (__u8)(0xff00u >> keep);
	}
	key->prefixlen = 32 + plen;
}

static void emit_set(const struct bg_cidr *cidrs, size_t n, __u32 set, struct bg_compiled_cidr *out,
		     size_t *n_out)
{
	size_t i;

	for (i = 0; i < n; i++)
		cidr_key(&cidrs[i], set, &out[(*n_out)++].key);
}

int bg_policy_compile(const struct bg_policy *p, const struct bg_compile_opts *opts,
		      struct bg_compiled *out)
{
	const struct bg_compile_opts defaults = { .mode_override = -1, .first_set_id = 1 };
	struct bg_compiled_cidr *cidrs = NULL;
	struct bg_compiled_scoped *scoped = NULL;
	struct bg_rule *slots, tmpl;
	size_t i, total = 0, n_sets = 0, n_cidrs = 0, n_scoped = 0, n_out = 0;
	__u32 set_id, proto, port;
	__u8 mode, flags;
	int ret;

	if (!p || !out || (p->n_rules && !p->rules))
		return -EINVAL;
	if (!opts)
		opts = &defaults;
	if (opts->mode_override >= 0 && opts->mode_override != BG_MODE_ENFORCE &&
	    opts->mode_override != BG_MODE_AUDIT)
		return -EINVAL;
	if (p->mode != BG_MODE_ENFORCE && p->mode != BG_MODE_AUDIT)
		return -EINVAL;
	mode = opts->mode_override >= 0 ? (__u8)opts->mode_override : p->mode;
	flags = opts->log_allowed ? BG_RULE_F_LOG_ALLOWED : 0;
	set_id = opts->first_set_id ? opts->first_set_id : 1;

	if (p->n_rules > BG_POLICY_MAX_RULES)
		return -EINVAL;
	if (p->n_scopes > BG_POLICY_MAX_SCOPES || (p->n_scopes && !p->scopes))
		return -EINVAL;
	for (i = 0; i < p->n_rules; i++) {
		if (!rule_valid(&p->rules[i]) || p->rules[i].scope > p->n_scopes)
			return -EINVAL;
		if (p->rules[i].expose == BG_EXPOSE_CIDR) {
			total += p->rules[i].n_cidrs;
			n_sets++;
		}
		if (p->rules[i].scope) {
			const struct bg_policy_rule *r = &p->rules[i];
			size_t np = !!(r->protos & BG_PROTO_BIT(BG_PROTO_TCP)) +
				    !!(r->protos & BG_PROTO_BIT(BG_PROTO_UDP));

			n_scoped += np * (r->port_hi - r->port_lo + 1);
		}
	}
	for (i = 0; i < p->n_scopes; i++) {
		const struct bg_policy_scope *sc = &p->scopes[i];

		if (!exposure_valid(sc->unlisted_expose, sc->unlisted_action, sc->unlisted_cidrs,
				    sc->n_unlisted_cidrs))
			return -EINVAL;
		if (sc->unlisted_expose == BG_EXPOSE_CIDR) {
			total += sc->n_unlisted_cidrs;
			n_sets++;
		}
		n_scoped++;
	}
	if (!exposure_valid(p->unlisted_expose, p->unlisted_action, p->unlisted_cidrs,
			    p->n_unlisted_cidrs))
		return -EINVAL;
	if (p->unlisted_expose == BG_EXPOSE_CIDR) {
		total += p->n_unlisted_cidrs;
		n_sets++;
	}
	if (total > BG_CIDR_MAX_ENTRIES)
		return -EINVAL;
	/* next_set_id must stay representable and non-zero: 0 is never a valid set. */
	if ((__u64)set_id + n_sets > 0xffffffffu)
		return -EINVAL;

	slots = calloc(BG_RULE_SLOTS, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	if (n_scoped) {
		scoped = calloc(n_scoped, sizeof(*scoped));
		if (!scoped) {
			ret = -ENOMEM;
			goto out_free_slots;
		}
	}
	if (total) {
		cidrs = calloc(total, sizeof(*cidrs));
		if (!cidrs) {
			ret = -ENOMEM;
			goto out_free_slots;
		}
	}

	for (i = 0; i < p->n_rules; i++) {
		const struct bg_policy_rule *r = &p->rules[i];

		memset(&tmpl, 0, sizeof(tmpl));
		tmpl.expose = r->expose;
		tmpl.action = r->action;
		tmpl.mode = mode;
		tmpl.flags = flags;
		tmpl.rule_id = (__u16)(i + 1);
		tmpl.gen = opts->gen;
		if (r->expose == BG_EXPOSE_CIDR) {
			tmpl.cidr_set = set_id++;
			emit_set(r->cidrs, r->n_cidrs, tmpl.cidr_set, cidrs, &n_cidrs);
		}
		for (proto = 0; proto < BG_NR_PROTOS; proto++) {
			if (!(r->protos & BG_PROTO_BIT(proto)))
				continue;
			for (port = r->port_lo; r->scope && port <= r->port_hi; port++) {
				struct bg_compiled_scoped *e = &scoped[n_out++];

				e->key.scope = r->scope;
				e->key.proto = (__u16)proto;
				e->key.port = (__u16)port;
				e->rule = tmpl;
			}
			for (port = r->port_lo; !r->scope && port <= r->port_hi; port++) {
				struct bg_rule *slot = &slots[BG_RULE_KEY(proto, port)];

				/* The parser refuses overlaps: this is a hand-built policy. */
				if (slot->expose != BG_EXPOSE_UNSET) {
					ret = -EINVAL;
					goto out_free_cidrs;
				}
				*slot = tmpl;
			}
		}
	}

	memset(&tmpl, 0, sizeof(tmpl));
	tmpl.expose = p->unlisted_expose;
	tmpl.action = p->unlisted_action;
	tmpl.mode = mode;
	tmpl.flags = flags;
	tmpl.gen = opts->gen;
	if (p->unlisted_expose == BG_EXPOSE_CIDR) {
		tmpl.cidr_set = set_id++;
		emit_set(p->unlisted_cidrs, p->n_unlisted_cidrs, tmpl.cidr_set, cidrs, &n_cidrs);
	}
	slots[BG_KEY_UNLISTED] = tmpl;

	for (i = 0; i < p->n_scopes; i++) {
		const struct bg_policy_scope *sc = &p->scopes[i];
		struct bg_compiled_scoped *e = &scoped[n_out++];

		memset(e, 0, sizeof(*e));
		e->key.scope = (__u32)(i + 1);
		e->key.proto = BG_SCOPE_UNLISTED;
		e->rule.expose = sc->unlisted_expose;
		e->rule.action = sc->unlisted_action;
		e->rule.mode = mode;
		e->rule.flags = flags;
		e->rule.gen = opts->gen;
		if (sc->unlisted_expose == BG_EXPOSE_CIDR) {
			e->rule.cidr_set = set_id++;
			emit_set(sc->unlisted_cidrs, sc->n_unlisted_cidrs, e->rule.cidr_set, cidrs,
				 &n_cidrs);
		}
	}

	out->slots = slots;
	out->cidrs = cidrs;
	out->n_cidrs = n_cidrs;
	out->scoped = scoped;
	out->n_scoped = n_out;
	out->n_scopes = (__u32)p->n_scopes;
	out->next_set_id = set_id;
	return 0;

out_free_cidrs:
	free(cidrs);
out_free_slots:
	free(scoped);
	free(slots);
	return ret;
}

void bg_compiled_release(struct bg_compiled *c)
{
	if (!c)
		return;
	free(c->slots);
	free(c->cidrs);
	free(c->scoped);
	memset(c, 0, sizeof(*c));
}

/* -------------------------------------------------------------------------------------------- */
/* Scopes */

static int glob_ok(const char *glob, const char *s)
{
	if (!glob)
		return 1;
	return s && fnmatch(glob, s, 0) == 0;
}

__u32 bg_policy_scope_of(const struct bg_policy *p, const char *cgroup, const char *ns,
			 const char *pod)
{
	size_t i;

	for (i = 0; p && i < p->n_scopes; i++) {
		const struct bg_policy_scope *sc = &p->scopes[i];

		if (glob_ok(sc->match_cgroup, cgroup) && glob_ok(sc->match_namespace, ns) &&
		    glob_ok(sc->match_pod, pod))
			return (__u32)(i + 1);
	}
	return 0;
}

/* -------------------------------------------------------------------------------------------- */
/* Printing, for `bindguard check` */

static void print_cidrs(FILE *f, const struct bg_cidr *cidrs, size_t n)
{
	char text[BG_CIDR_STRLEN];
	size_t i;

	for (i = 0; i < n; i++)
		fprintf(f, "%s%s", i ? ", " : "", bg_cidr_str(&cidrs[i], text, sizeof(text)));
}

/* Multi-line text (a YAML block scalar) keeps its indentation on every line. */
static void print_indented(FILE *f, const char *label, const char *text)
{
	const char *nl;

	fprintf(f, "      %s: ", label);
	while ((nl = strchr(text, '\n'))) {
		fprintf(f, "%.*s\n      %*s  ", (int)(nl - text), text, (int)strlen(label), "");
		text = nl + 1;
	}
	fprintf(f, "%s\n", text);
}

static const char *protos_str(__u8 protos)
{
	switch (protos) {
	case BG_PROTO_BIT(BG_PROTO_TCP):
		return "tcp";
	case BG_PROTO_BIT(BG_PROTO_UDP):
		return "udp";
	case BG_PROTO_BIT(BG_PROTO_TCP) | BG_PROTO_BIT(BG_PROTO_UDP):
		return "tcp+udp";
	default:
		return "?";
	}
}

static void print_unlisted(FILE *f, __u8 expose, __u8 action, const struct bg_cidr *cidrs, size_t n)
{
	if (expose == BG_EXPOSE_PUBLIC)
		fprintf(f, "public (allowed on any address)\n");
	else if (expose == BG_EXPOSE_CIDR) {
		print_cidrs(f, cidrs, n);
		fprintf(f, " and loopback, else %s\n", bg_action_str(action));
	} else {
		fprintf(f, "%s, else %s\n", bg_expose_str(expose), bg_action_str(action));
	}
}

static void print_rules(FILE *f, const struct bg_policy *p, __u16 scope, const char *indent)
{
	char ports[32];
	size_t i;

	for (i = 0; i < p->n_rules; i++) {
		const struct bg_policy_rule *r = &p->rules[i];

		if (r->scope != scope)
			continue;
		if (r->port_lo == r->port_hi)
			snprintf(ports, sizeof(ports), "%u/%s", r->port_lo, protos_str(r->protos));
		else
			snprintf(ports, sizeof(ports), "%u-%u/%s", r->port_lo, r->port_hi,
				 protos_str(r->protos));
		/* A public rule is never broken, so its action would only mislead. */
		fprintf(f, "%s  %-15s %-9s %-8s ", indent, ports, bg_expose_str(r->expose),
			r->expose == BG_EXPOSE_PUBLIC ? "-" : bg_action_str(r->action));
		if (r->service && r->software)
			fprintf(f, "%s (%s)\n", r->service, r->software);
		else if (r->service || r->software)
			fprintf(f, "%s\n", r->service ? r->service : r->software);
		else
			fprintf(f, "-\n");
		if (r->expose == BG_EXPOSE_CIDR) {
			fprintf(f, "%s      allow: ", indent);
			print_cidrs(f, r->cidrs, r->n_cidrs);
			fprintf(f, " and loopback\n");
		}
		if (r->hint)
			print_indented(f, "hint", r->hint);
	}
}

static size_t count_rules(const struct bg_policy *p, __u16 scope)
{
	size_t i, n = 0;

	for (i = 0; i < p->n_rules; i++)
		n += p->rules[i].scope == scope;
	return n;
}

void bg_policy_print(const struct bg_policy *p, FILE *f)
{
	size_t i;

	if (!p || !f)
		return;
	fprintf(f, "policy    %s\n", p->name ? p->name : "(unnamed)");
	fprintf(f, "source    %s\n", p->source ? p->source : "?");
	fprintf(f, "mode      %s\n", bg_mode_str(p->mode));
	fprintf(f, "default   %s\n", bg_action_str(p->default_action));
	fprintf(f, "unlisted  ");
	print_unlisted(f, p->unlisted_expose, p->unlisted_action, p->unlisted_cidrs,
		       p->n_unlisted_cidrs);
	fprintf(f, "rules     %zu\n", count_rules(p, 0));
	print_rules(f, p, 0, "");
	if (!p->n_scopes)
		return;
	fprintf(f,
		"scopes    %zu (the first that matches a socket's cgroup gives all its rules; "
		"none: the rules above)\n",
		p->n_scopes);
	for (i = 0; i < p->n_scopes; i++) {
		const struct bg_policy_scope *sc = &p->scopes[i];

		fprintf(f, "  scope %s:", sc->name);
		if (sc->match_cgroup)
			fprintf(f, " cgroup=%s", sc->match_cgroup);
		if (sc->match_namespace)
			fprintf(f, " namespace=%s", sc->match_namespace);
		if (sc->match_pod)
			fprintf(f, " pod=%s", sc->match_pod);
		fprintf(f, "\n    default   %s\n", bg_action_str(sc->default_action));
		fprintf(f, "    unlisted  ");
		print_unlisted(f, sc->unlisted_expose, sc->unlisted_action, sc->unlisted_cidrs,
			       sc->n_unlisted_cidrs);
		fprintf(f, "    rules     %zu\n", count_rules(p, (__u16)(i + 1)));
		print_rules(f, p, (__u16)(i + 1), "  ");
	}
}
