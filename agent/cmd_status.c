// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * cmd_status.c - bindguard status: what listens on this host right now, and what a policy says
 * about it. Think `ss -ltnup` with a policy column.
 *
 * Every TCP listener and bound UDP socket in every network namespace comes from the socket
 * iterators (sockets.c). Each one is judged in the kernel, by the same decision code the bind
 * hooks run, against a rule table that status installs in its own maps. status attaches
 * nothing: it neither needs a running agent nor changes what one enforces.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "cgroup.h"
#include "clifmt.h"
#include "commands.h"
#include "event_fmt.h"
#include "kfeatures.h"
#include "loader.h"
#include "log.h"
#include "opts.h"
#include "pin.h"
#include "policy.h"
#include "scopes.h"
#include "sockets.h"
#include "whois.h"
#include "strbuf.h"

/* The generation of the one policy this command installs; rule ids of any other are stale. */
#define STATUS_GEN 1

static const struct bg_opt status_opts[] = {
	{ "format", 'f', "FMT",
	  "table (default: fits 80 columns; a cell cut to fit\n"
	  "ends in '~'), wide (more columns, nothing cut) or\n"
	  "json (one object per socket per line)" },
	{ "wide", 'w', NULL, "the same as --format wide" },
	{ "policy", 'p', "FILE",
	  "policy YAML to judge by (default: the built-in\niRedMail policy)" },
	{ "cgroup", 'c', "DIR",
	  "list only the sockets created in this cgroup v2\n"
	  "directory or below it (default: the cgroup v2 root,\n"
	  "which is every socket)" },
	{ 0 },
};

static const struct bg_cmd status_cmd = {
	.name = "status",
	.synopsis = "[--format table|wide|json] [--policy FILE] [--cgroup DIR]",
	.desc = "List every listening TCP socket and bound UDP socket of the host, in every\n"
		"network namespace (named as under /run/netns when it has a name): its\n"
		"address, the process that holds it, the policy rule for its port and that\n"
		"rule's verdict, which is what the policy does to such a bind: allow, or\n"
		"deny, confine or alert for a violation (the socket itself is left as it\n"
		"is). Violations come first, each with the rule's hint on how to fix it. The\n"
		"last lines say whether pinned enforcement is active on the cgroup and\n"
		"whether an agent holds it. Nothing is attached and nothing is changed, so a\n"
		"running agent is neither needed nor disturbed. Needs root and BPF socket\n"
		"iterators (Linux 5.9+).",
	.tail = "Exit status: 0 nothing breaks the policy, 3 something does, 1 runtime\n"
		"failure, 2 usage or policy error.\n",
	.opts = status_opts,
};

struct status_opts {
	const char *policy_path;
	const char *cgroup_path;
	int format; /* BG_FORMAT_TABLE, _WIDE or _JSON */
};

static int status_opt(void *ctx, int key, const char *arg)
{
	struct status_opts *o = ctx;

	switch (key) {
	case 'f':
		return bg_opts_format(&status_cmd, arg,
				      1u << BG_FORMAT_TABLE | 1u << BG_FORMAT_WIDE |
					      1u << BG_FORMAT_JSON,
				      &o->format);
	case 'w':
		o->format = BG_FORMAT_WIDE;
		break;
	case 'p':
		o->policy_path = arg;
		break;
	case 'c':
		o->cgroup_path = arg;
		break;
	}
	return 0;
}

static int is_violation(const struct bg_sock_info *si)
{
	return si->rec.verdict != BG_VERDICT_ALLOW;
}

/* Violations first, then by protocol, port, address (IPv4 before IPv6), netns and owner. */
static int cmp_sock(const void *a, const void *b)
{
	const struct bg_sock_info *x = *(const struct bg_sock_info *const *)a;
	const struct bg_sock_info *y = *(const struct bg_sock_info *const *)b;
	int d;

	d = is_violation(y) - is_violation(x);
	if (d)
		return d;
	if (x->rec.proto != y->rec.proto)
		return x->rec.proto < y->rec.proto ? -1 : 1;
	if (x->rec.port != y->rec.port)
		return x->rec.port < y->rec.port ? -1 : 1;
	if (x->rec.family != y->rec.family)
		return x->rec.family < y->rec.family ? -1 : 1;
	d = memcmp(x->rec.addr, y->rec.addr, sizeof(x->rec.addr));
	if (d)
		return d;
	if (x->rec.netns != y->rec.netns)
		return x->rec.netns < y->rec.netns ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/*
 * The rule that judged a socket, or NULL: the unlisted default, or a record stamped by another
 * policy generation (which this command never installs, so it cannot name it).
 */
static const struct bg_policy_rule *sock_rule(const struct bg_policy *p,
					      const struct bg_sock_rec *r)
{
	if (r->gen != STATUS_GEN || !r->rule_id || r->rule_id > p->n_rules)
		return NULL;
	return &p->rules[r->rule_id - 1];
}

static const char *state_str(const struct bg_sock_rec *r)
{
	return r->proto == BG_PROTO_TCP ? "listen" : "bound";
}

/* A name from policy/names.c, or NULL (JSON null, table "-") when the value has none. */
static const char *known(const char *name)
{
	return name && strcmp(name, "?") != 0 ? name : NULL;
}

static const char *expose_of(const struct bg_sock_rec *r)
{
	return r->expose != BG_EXPOSE_UNSET ? known(bg_expose_str(r->expose)) : NULL;
}

/*
 * The action of the rule that judged the socket, as `bindguard check` shows it: none on a public
 * port (rule or unlisted default), where nothing can break the rule.
 */
static const char *action_of(const struct bg_sock_rec *r)
{
	if (r->expose == BG_EXPOSE_UNSET || r->expose == BG_EXPOSE_PUBLIC)
		return NULL;
	return known(bg_action_str(r->action));
}

static const char *hint_of(const struct bg_policy_rule *rule)
{
	return rule && rule->hint && rule->hint[0] ? rule->hint : NULL;
}

/* The name of the policy scope that judged r, NULL for the host rules. */
static const char *scope_of(const struct bg_policy *p, const struct bg_sock_rec *r)
{
	if (!p || !r->scope || r->scope > p->n_scopes)
		return NULL;
	return p->scopes[r->scope - 1].name;
}

/* ---- JSON -------------------------------------------------------------------------------- */

static void json_str(struct bg_strbuf *sb, const char *key, const char *val)
{
	bg_strbuf_printf(sb, ",\"%s\":", key);
	if (val)
		bg_json_string(sb, val, strlen(val));
	else
		bg_strbuf_puts(sb, "null");
}

static void json_line(struct bg_strbuf *sb, const struct bg_policy *p,
		      const struct bg_sock_list *list, const struct bg_sock_info *si)
{
	const struct bg_sock_rec *r = &si->rec;
	const struct bg_policy_rule *rule = sock_rule(p, r);
	const struct bg_netns_info *ni = bg_sock_list_netns(list, r->netns);
	char addr[48];

	bg_cli_addr_str(addr, sizeof(addr), r->family, r->addr, 0);
	bg_strbuf_puts(sb, "{\"verdict\":");
	bg_json_string(sb, bg_verdict_str(r->verdict), strlen(bg_verdict_str(r->verdict)));
	json_str(sb, "proto", known(bg_proto_str(r->proto)));
	json_str(sb, "family", r->family == BG_AF_INET ? "inet" : "inet6");
	json_str(sb, "addr", addr);
	bg_strbuf_printf(sb, ",\"port\":%u", r->port);
	json_str(sb, "state", state_str(r));
	bg_strbuf_printf(sb, ",\"netns\":%u", r->netns);
	json_str(sb, "netns_name", ni && ni->name[0] ? ni->name : NULL);
	if (si->pid) {
		bg_strbuf_printf(sb, ",\"pid\":%d,\"comm\":", si->pid);
		bg_json_string(sb, si->comm, strnlen(si->comm, sizeof(si->comm)));
	} else {
		bg_strbuf_puts(sb, ",\"pid\":null,\"comm\":null");
	}
	bg_strbuf_printf(sb, ",\"owners\":%d,\"uid\":%u,\"cgroup\":", si->n_owners, r->uid);
	if (si->cgroup[0])
		bg_json_string(sb, si->cgroup, strnlen(si->cgroup, sizeof(si->cgroup)));
	else
		bg_strbuf_puts(sb, "null");
	bg_strbuf_printf(sb, ",\"cgroup_id\":%llu", (unsigned long long)r->cgroup_id);
	json_str(sb, "scope", scope_of(p, r));
	json_str(sb, "rule", bg_rule_name(rule));
	json_str(sb, "service", rule && rule->service && rule->service[0] ? rule->service : NULL);
	json_str(sb, "software",
		 rule && rule->software && rule->software[0] ? rule->software : NULL);
	json_str(sb, "expose", expose_of(r));
	json_str(sb, "action", action_of(r));
	json_str(sb, "mode", expose_of(r) ? known(bg_mode_str(r->mode)) : NULL);
	json_str(sb, "hint", hint_of(rule));
	bg_strbuf_puts(sb, "}\n");
}

/* ---- Table ------------------------------------------------------------------------------- */

enum {
	COL_VERDICT,
	COL_PROTO,
	COL_ADDR,
	COL_NETNS,
	COL_OWNER,
	COL_RULE,
	COL_EXPOSE, /* the last of the table; wide goes on */
	COL_ACTION,
	COL_UID,
	COL_CGROUP,
	COL_SCOPE,
	NR_COLS,
};

#define NR_TABLE_COLS (COL_EXPOSE + 1)
#define COL_SEP 2 /* spaces between two columns */
#define CUT_MARK '~' /* ends a cell cut to fit */

/*
 * A column: its header, how narrow the table may cut it, and in which round (0: never cut). The
 * process and the rule go first (the hint and --format wide or json keep them whole), then a
 * netns name, and the address only when nothing else is left: its port is at its end.
 */
static const struct {
	const char *name;
	size_t min;
	int round;
} cols[NR_COLS] = {
	[COL_VERDICT] = { "VERDICT", 0, 0 }, [COL_PROTO] = { "PROTO", 0, 0 },
	[COL_ADDR] = { "ADDRESS", 12, 3 },   [COL_NETNS] = { "NETNS", 10, 2 },
	[COL_OWNER] = { "PID/COMM", 10, 1 }, [COL_RULE] = { "RULE", 8, 1 },
	[COL_EXPOSE] = { "EXPOSE", 0, 0 },   [COL_ACTION] = { "ACTION", 0, 0 },
	[COL_UID] = { "UID", 0, 0 },	     [COL_CGROUP] = { "CGROUP", 0, 0 },
	[COL_SCOPE] = { "SCOPE", 0, 0 },
};
#define NR_ROUNDS 3

struct row {
	char cell[NR_COLS][sizeof(((struct bg_sock_info *)0)->cgroup) + 8];
};

static void fill_row(struct row *row, const struct bg_policy *p, const struct bg_sock_list *list,
		     const struct bg_sock_info *si)
{
	const struct bg_sock_rec *r = &si->rec;
	const struct bg_policy_rule *rule = sock_rule(p, r);
	const struct bg_netns_info *ni = bg_sock_list_netns(list, r->netns);
	char comm[BG_COMM_LEN + 1], addr[48], more[16] = "";
	const char *name, *s;

#define CELL(c, ...) snprintf(row->cell[c], sizeof(row->cell[c]), __VA_ARGS__)
	s = known(bg_verdict_str(r->verdict));
	CELL(COL_VERDICT, "%s", s ? s : "?");
	s = known(bg_proto_str(r->proto));
	CELL(COL_PROTO, "%s", s ? s : "?");
	bg_cli_addr_str(addr, sizeof(addr), r->family, r->addr, 1);
	CELL(COL_ADDR, "%s:%u", addr, r->port);
	if (ni && ni->name[0])
		bg_cli_printable(row->cell[COL_NETNS], sizeof(row->cell[COL_NETNS]), ni->name,
				 sizeof(ni->name));
	else
		CELL(COL_NETNS, "%u", r->netns);
	if (si->pid) {
		if (si->n_owners > 1)
			snprintf(more, sizeof(more), "+%d", si->n_owners - 1);
		bg_cli_printable(comm, sizeof(comm), si->comm, sizeof(si->comm));
		CELL(COL_OWNER, "%d/%s%s", si->pid, comm[0] ? comm : "?", more);
	} else {
		CELL(COL_OWNER, "-");
	}
	name = bg_rule_name(rule);
	if (name)
		bg_cli_printable(row->cell[COL_RULE], sizeof(row->cell[COL_RULE]), name,
				 strlen(name));
	else if (rule)
		CELL(COL_RULE, "#%u", r->rule_id); /* a rule with neither service nor software */
	else
		CELL(COL_RULE, "-");
	s = expose_of(r);
	CELL(COL_EXPOSE, "%s", s ? s : "-");
	s = action_of(r);
	CELL(COL_ACTION, "%s", s ? s : "-");
	CELL(COL_UID, "%u", r->uid);
	if (si->cgroup[0])
		bg_cli_printable(row->cell[COL_CGROUP], sizeof(row->cell[COL_CGROUP]), si->cgroup,
				 sizeof(si->cgroup));
	else
		CELL(COL_CGROUP, "-");
	s = scope_of(p, r);
	if (s)
		bg_cli_printable(row->cell[COL_SCOPE], sizeof(row->cell[COL_SCOPE]), s, strlen(s));
	else
		CELL(COL_SCOPE, "-");
#undef CELL
}

/* Narrow the widest column of each round in turn, one column at a time, until the table fits. */
static void fit_widths(size_t *width, int ncols, size_t max)
{
	size_t total = (size_t)(ncols - 1) * COL_SEP;
	int c, widest, round;

	for (c = 0; c < ncols; c++)
		total += width[c];
	for (round = 1; round <= NR_ROUNDS && total > max; round++) {
		while (total > max) {
			widest = -1;
			for (c = 0; c < ncols; c++)
				if (cols[c].round == round && width[c] > cols[c].min &&
				    (widest < 0 || width[c] > width[widest]))
					widest = c;
			if (widest < 0)
				break; /* this round is done: the next one */
			width[widest]--;
			total--;
		}
	}
}

/* One line of cells; a cell wider than its column is cut and ends in CUT_MARK. */
static void put_row(struct bg_strbuf *sb, const struct row *row, const size_t *width, int ncols)
{
	size_t len;
	int c;

	for (c = 0; c < ncols; c++) {
		len = strlen(row->cell[c]);
		if (len > width[c]) {
			bg_strbuf_append(sb, row->cell[c], width[c] - 1);
			bg_strbuf_printf(sb, "%c", CUT_MARK);
			len = width[c];
		} else {
			bg_strbuf_puts(sb, row->cell[c]);
		}
		if (c < ncols - 1)
			bg_strbuf_printf(sb, "%*s", (int)(width[c] - len + COL_SEP), "");
	}
	bg_strbuf_puts(sb, "\n");
}

/* The table (or the wide one), each violation followed by its rule's hint. */
static int put_table(struct bg_strbuf *sb, const struct bg_policy *p,
		     const struct bg_sock_list *list, struct bg_sock_info **v, size_t n, int wide)
{
	int c, ncols = wide ? NR_COLS : NR_TABLE_COLS;
	size_t width[NR_COLS], i, len;
	struct row *rows, head;
	const char *hint;

	if (!n)
		return 0;
	rows = calloc(n, sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	for (c = 0; c < NR_COLS; c++) {
		snprintf(head.cell[c], sizeof(head.cell[c]), "%s", cols[c].name);
		width[c] = strlen(cols[c].name);
	}
	for (i = 0; i < n; i++) {
		fill_row(&rows[i], p, list, v[i]);
		for (c = 0; c < NR_COLS; c++) {
			len = strlen(rows[i].cell[c]);
			if (len > width[c])
				width[c] = len;
		}
	}
	if (!wide)
		fit_widths(width, ncols, BG_CLI_WIDTH);
	put_row(sb, &head, width, ncols);
	for (i = 0; i < n; i++) {
		put_row(sb, &rows[i], width, ncols);
		hint = is_violation(v[i]) ? hint_of(sock_rule(p, &v[i]->rec)) : NULL;
		if (hint)
			bg_cli_wrap(sb, "  hint: ", "        ", hint,
				    wide ? (size_t)-1 : BG_CLI_WIDTH);
	}
	free(rows);
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

/* Network namespaces the listed sockets live in. */
static size_t count_netns(struct bg_sock_info **v, size_t n)
{
	size_t i, distinct = 0;
	__u32 *ns;

	if (!n)
		return 0;
	ns = malloc(n * sizeof(*ns));
	if (!ns)
		return 0;
	for (i = 0; i < n; i++)
		ns[i] = v[i]->rec.netns;
	qsort(ns, n, sizeof(*ns), cmp_u32);
	for (i = 0; i < n; i++)
		distinct += !i || ns[i] != ns[i - 1];
	free(ns);
	return distinct;
}

/* ---- Who enforces ------------------------------------------------------------------------ */

/*
 * bindguard agents whose bind hook is in effect on the cgroup at path, attached to it or to an
 * ancestor: their bg_bind4 programs. -errno if the kernel cannot be asked.
 */
static int agents_in_effect(const char *path)
{
	static const int bind4[] = { BPF_CGROUP_INET4_BIND };

	return bg_cgroup_count_progs(path, bind4, 1, 1, "bg_bind4");
}

/*
 * The pinned enforcement nearest to the cgroup at path: on it or on an ancestor up to the cgroup
 * v2 root, whose hooks cover path too. 1 with dir and m (zeroed if unreadable) set, 0 if none.
 */
static int find_pin(const char *path, const char *root, char *dir, size_t len,
		    struct bg_pin_meta *m, int *have_meta)
{
	char cur[PATH_MAX], top[PATH_MAX], *slash;
	struct stat st;
	int fd;

	if (!realpath(path, cur) || !realpath(root, top))
		return 0;
	for (;;) {
		if (stat(cur, &st) == 0 && bg_pin_dir(st.st_ino, dir, len) == 0 &&
		    bg_pin_exists(dir)) {
			memset(m, 0, sizeof(*m));
			fd = bg_pin_meta_open(dir, 0);
			*have_meta = fd >= 0 && bg_pin_meta_read(fd, m) == 0;
			if (fd >= 0)
				close(fd);
			return 1;
		}
		slash = strrchr(cur, '/');
		if (strlen(cur) <= strlen(top) || !slash || slash == cur)
			return 0;
		*slash = '\0';
	}
}

/* The footer: what judged the sockets, and who enforces on the cgroup right now. */
static void put_footer(struct bg_strbuf *sb, const struct bg_policy *p, const char *cgroup,
		       const char *root, size_t width)
{
	char line[2 * PATH_MAX], dir[512], cg[PATH_MAX], src[PATH_MAX];
	struct bg_pin_meta m;
	int have_meta = 0, holder, agents;

	bg_cli_printable(cg, sizeof(cg), cgroup, strlen(cgroup));
	snprintf(line, sizeof(line), "judged by policy %s (%s), mode %s", p->name ? p->name : "-",
		 p->source ? p->source : "?", bg_mode_str(p->mode));
	bg_cli_wrap(sb, "", "  ", line, width);
	if (find_pin(cgroup, root, dir, sizeof(dir), &m, &have_meta)) {
		holder = have_meta ? bg_pin_holder(&m) : 0;
		bg_cli_printable(src, sizeof(src), m.source, strnlen(m.source, sizeof(m.source)));
		if (holder)
			snprintf(
				line, sizeof(line),
				"enforcement: pinned (%s), held by the agent with pid %d, policy %s",
				dir, holder, have_meta ? src : "?");
		else
			snprintf(line, sizeof(line),
				 "enforcement: pinned (%s) and enforcing policy %s, but no agent "
				 "holds it: events wait until 'bindguard run --pin' takes it over",
				 dir, have_meta ? src : "?");
		bg_cli_wrap(sb, "", "  ", line, width);
		return;
	}
	agents = agents_in_effect(cgroup);
	if (agents > 0)
		snprintf(line, sizeof(line),
			 "enforcement: %d bindguard agent%s enforce%s on %s, not pinned (it stops "
			 "with the agent)",
			 agents, agents == 1 ? "" : "s", agents == 1 ? "s" : "", cg);
	else if (agents == 0)
		snprintf(line, sizeof(line), "enforcement: none, no bindguard agent enforces on %s",
			 cg);
	else
		snprintf(line, sizeof(line), "enforcement: unknown, cannot ask the kernel: %s",
			 strerror(-agents));
	bg_cli_wrap(sb, "", "  ", line, width);
}

/* ---- The command ------------------------------------------------------------------------- */

static int put_listing(struct bg_strbuf *sb, const struct status_opts *o, const struct bg_policy *p,
		       const struct bg_sock_list *list, struct bg_sock_info **v, size_t n,
		       size_t violations, const char *root)
{
	size_t i, width = o->format == BG_FORMAT_WIDE ? (size_t)-1 : BG_CLI_WIDTH;
	int err;

	if (o->format == BG_FORMAT_JSON) {
		for (i = 0; i < n; i++)
			json_line(sb, p, list, v[i]);
		return sb->err;
	}
	err = put_table(sb, p, list, v, n, o->format == BG_FORMAT_WIDE);
	if (err)
		return err;
	bg_strbuf_printf(sb, "%zu socket%s, %zu violate%s the policy (%zu netns)\n", n,
			 n == 1 ? "" : "s", violations, violations == 1 ? "s" : "",
			 count_netns(v, n));
	put_footer(sb, p, o->cgroup_path, root, width);
	return sb->err;
}

int bg_cmd_status(int argc, char **argv)
{
	struct bg_compile_opts copts = { .mode_override = -1, .gen = STATUS_GEN };
	struct status_opts o = { .format = BG_FORMAT_TABLE };
	struct bg_strbuf out = BG_STRBUF_INIT;
	struct bg_loader_opts lopts = { 0 };
	struct bg_sock_list list = { 0 };
	struct bg_compiled compiled = { 0 };
	struct bg_sock_info **shown = NULL;
	struct bg_loader *loader = NULL;
	struct bg_policy *policy = NULL;
	struct bg_scopes *scopes = NULL;
	struct bg_whois *whois = NULL;
	int err, first, ret = EXIT_RUNTIME, verbose = 0;
	size_t i, n = 0, violations = 0;
	char root[PATH_MAX], msg[1024];
	long page;

	err = bg_opts_parse(&status_cmd, argc, argv, status_opt, &o, &first, &verbose);
	if (err)
		return err == BG_OPTS_DONE ? 0 : err;

	/* The policy first: a bad file is a usage error whatever the machine can do. */
	if (bg_cli_load_policy(o.policy_path, &policy, msg, sizeof(msg)))
		return EXIT_USAGE;
	if (o.cgroup_path && bg_cgroup2_root("/proc/self/mounts", root, sizeof(root)))
		root[0] = '\0'; /* preflight says why */
	if (bg_cli_preflight("status", &o.cgroup_path, root, sizeof(root)))
		goto out_free_policy;

	lopts.cgroup_path = o.cgroup_path;
	/* Nothing is attached, so no event is ever written: the smallest ring will do. */
	page = sysconf(_SC_PAGESIZE);
	lopts.ringbuf_bytes = page > 0 ? (__u32)page : 0;
	err = bg_cli_loader_new(&lopts, &loader);
	if (err) {
		ret = err;
		goto out_free_policy;
	}
	if (!bg_loader_have_iter(loader)) {
		bg_err("status cannot list sockets on this kernel: it has no BPF socket iterators "
		       "(iter/tcp, iter/udp need 5.9+: %s)\n",
		       bg_loader_features(loader)->why[BG_FEAT_SOCK_ITER]);
		goto out_free_loader;
	}

	/* The cgroups the policy's scopes take, as the agent would classify them. */
	if (policy->n_scopes) {
		struct bg_whois_opts wopts = { 0 };
		char mnt[PATH_MAX];

		if (bg_cgroup2_root("/proc/self/mounts", mnt, sizeof(mnt)) == 0) {
			wopts.cgroup_mount = mnt;
			whois = bg_whois_new(&wopts);
			scopes = whois ? bg_scopes_new(mnt, o.cgroup_path, whois) : NULL;
		}
	}
	/* Into this loader's own maps only: the iterators judge by it; no hook is attached. */
	err = bg_cli_install_scoped(loader, policy, &copts, &compiled, scopes);
	if (err) {
		ret = err;
		goto out_free_loader;
	}

	err = bg_sockets_collect(loader, 0, &list);
	if (err) {
		bg_err("cannot list the sockets: %s\n", strerror(-err));
		goto out_release_list;
	}
	err = bg_sockets_attribute(&list);
	if (err)
		bg_warn("cannot find the processes that hold the sockets: %s\n", strerror(-err));

	shown = calloc(list.n ? list.n : 1, sizeof(*shown));
	if (!shown) {
		bg_err("out of memory\n");
		goto out_release_list;
	}
	for (i = 0; i < list.n; i++) {
		if (!list.v[i].rec.in_scope)
			continue;
		shown[n++] = &list.v[i];
		violations += is_violation(&list.v[i]);
	}
	qsort(shown, n, sizeof(*shown), cmp_sock);

	err = put_listing(&out, &o, policy, &list, shown, n, violations, root);
	if (!err && out.len && fwrite(out.buf, 1, out.len, stdout) != out.len)
		err = -(errno ? errno : EIO);
	if (!err && fflush(stdout) != 0)
		err = -(errno ? errno : EIO);
	if (err) {
		bg_err("cannot write the list: %s\n", strerror(-err));
		goto out_free_shown;
	}
	ret = violations ? EXIT_VIOLATION : 0;
out_free_shown:
	free(shown);
	bg_strbuf_release(&out);
out_release_list:
	bg_sock_list_release(&list);
	bg_compiled_release(&compiled);
out_free_loader:
	bg_loader_free(loader);
	bg_scopes_free(scopes);
	bg_whois_free(whois);
out_free_policy:
	bg_policy_free(policy);
	return ret;
}
