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
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "commands.h"
#include "event_fmt.h"
#include "kfeatures.h"
#include "loader.h"
#include "log.h"
#include "policy.h"
#include "sockets.h"
#include "strbuf.h"

/* The generation of the one policy this command installs; rule ids of any other are stale. */
#define STATUS_GEN 1

#define FORMAT_TABLE 0
#define FORMAT_JSON 1

static const char status_usage[] =
	"Usage: bindguard status [--format table|json] [--policy FILE] [--cgroup DIR] [-v]\n"
	"\n"
	"List every listening TCP socket and bound UDP socket of the host, in every network\n"
	"namespace: its address and port, the process that holds it, the policy rule for its\n"
	"port and that rule's verdict. Violations come first. Nothing is attached and nothing is\n"
	"changed, so a running agent is neither needed nor disturbed. Needs root and a kernel\n"
	"with BPF socket iterators (5.9+).\n"
	"\n"
	"Options:\n"
	"  -f, --format FMT   table (default: aligned columns and a summary line) or json\n"
	"                     (one object per socket per line)\n"
	"  -p, --policy FILE  policy YAML to judge by (default: the built-in iRedMail policy)\n"
	"  -c, --cgroup DIR   list only the sockets created in this cgroup v2 directory or below\n"
	"                     it (default: the cgroup v2 root, which is every socket)\n"
	"  -v, --verbose      more diagnostics on stderr; twice for libbpf's debug log\n"
	"\n"
	"Exit status: 0 nothing breaks the policy, 3 something does, 1 runtime failure,\n"
	"2 usage or policy error.\n";

int bg_cli_addr_str(char *buf, size_t len, __u8 family, const __u8 addr[16], int brackets)
{
	char text[INET6_ADDRSTRLEN];
	int af = AF_INET6;
	const __u8 *src = addr;

	if (family == BG_AF_INET) {
		af = AF_INET;
		src = addr + 12; /* the kernel records IPv4 as ::ffff:a.b.c.d */
	}
	if (!inet_ntop(af, src, text, sizeof(text))) {
		snprintf(buf, len, "?");
		return -EINVAL;
	}
	if (brackets && af == AF_INET6)
		snprintf(buf, len, "[%s]", text);
	else
		snprintf(buf, len, "%s", text);
	return 0;
}

const char *bg_cli_printable(char *buf, size_t len, const char *s, size_t n)
{
	size_t i;

	if (!len)
		return buf;
	for (i = 0; i < n && i + 1 < len && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == ' ')
			buf[i] = '_';
		else if (c < '!' || c > '~')
			buf[i] = '?';
		else
			buf[i] = (char)c;
	}
	buf[i] = '\0';
	return buf;
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
 * The name of the rule that judged a socket: its service, else its software, else "#ID". NULL
 * for the unlisted default, and for a record stamped by another policy generation (which this
 * command never installs, so it cannot name it).
 */
static const char *rule_label(const struct bg_policy *p, const struct bg_sock_rec *r, char *buf,
			      size_t len)
{
	const struct bg_policy_rule *rule;

	if (r->gen != STATUS_GEN || !r->rule_id || r->rule_id > p->n_rules)
		return NULL;
	rule = &p->rules[r->rule_id - 1];
	if (rule->service && rule->service[0])
		return rule->service;
	if (rule->software && rule->software[0])
		return rule->software;
	snprintf(buf, len, "#%u", r->rule_id);
	return buf;
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
		      const struct bg_sock_info *si)
{
	const struct bg_sock_rec *r = &si->rec;
	int has_rule = r->expose != BG_EXPOSE_UNSET;
	char addr[INET6_ADDRSTRLEN + 2], id[16];

	bg_cli_addr_str(addr, sizeof(addr), r->family, r->addr, 0);
	bg_strbuf_puts(sb, "{\"verdict\":");
	bg_json_string(sb, bg_verdict_str(r->verdict), strlen(bg_verdict_str(r->verdict)));
	json_str(sb, "proto", known(bg_proto_str(r->proto)));
	json_str(sb, "family", r->family == BG_AF_INET ? "inet" : "inet6");
	json_str(sb, "addr", addr);
	bg_strbuf_printf(sb, ",\"port\":%u", r->port);
	json_str(sb, "state", state_str(r));
	bg_strbuf_printf(sb, ",\"netns\":%u", r->netns);
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
	json_str(sb, "rule", rule_label(p, r, id, sizeof(id)));
	json_str(sb, "expose", has_rule ? known(bg_expose_str(r->expose)) : NULL);
	json_str(sb, "action", has_rule ? known(bg_action_str(r->action)) : NULL);
	json_str(sb, "mode", has_rule ? known(bg_mode_str(r->mode)) : NULL);
	bg_strbuf_puts(sb, "}\n");
}

static int print_json(const struct bg_policy *p, struct bg_sock_info **v, size_t n)
{
	struct bg_strbuf sb = BG_STRBUF_INIT;
	int err = 0;
	size_t i;

	for (i = 0; i < n && !err; i++) {
		bg_strbuf_reset(&sb);
		json_line(&sb, p, v[i]);
		if (sb.err)
			err = sb.err;
		else if (fwrite(sb.buf, 1, sb.len, stdout) != sb.len)
			err = -(errno ? errno : EIO);
	}
	bg_strbuf_release(&sb);
	return err;
}

/* ---- Table ------------------------------------------------------------------------------- */

enum {
	COL_VERDICT,
	COL_PROTO,
	COL_ADDR,
	COL_PORT,
	COL_NETNS,
	COL_OWNER,
	COL_RULE,
	COL_EXPOSE,
	COL_CGROUP, /* last: the one column whose width has no bound */
	NR_COLS,
};

static const char *const col_names[NR_COLS] = {
	[COL_VERDICT] = "VERDICT", [COL_PROTO] = "PROTO",   [COL_ADDR] = "ADDRESS",
	[COL_PORT] = "PORT",	   [COL_NETNS] = "NETNS",   [COL_OWNER] = "PID/COMM",
	[COL_RULE] = "RULE",	   [COL_EXPOSE] = "EXPOSE", [COL_CGROUP] = "CGROUP",
};

struct row {
	char cell[NR_COLS][sizeof(((struct bg_sock_info *)0)->cgroup) + 8];
};

static void fill_row(struct row *row, const struct bg_policy *p, const struct bg_sock_info *si)
{
	const struct bg_sock_rec *r = &si->rec;
	char comm[BG_COMM_LEN + 1], id[16], more[16] = "";
	const char *name, *s;

#define CELL(c, ...) snprintf(row->cell[c], sizeof(row->cell[c]), __VA_ARGS__)
	s = known(bg_verdict_str(r->verdict));
	CELL(COL_VERDICT, "%s", s ? s : "?");
	s = known(bg_proto_str(r->proto));
	CELL(COL_PROTO, "%s", s ? s : "?");
	bg_cli_addr_str(row->cell[COL_ADDR], sizeof(row->cell[COL_ADDR]), r->family, r->addr, 1);
	CELL(COL_PORT, "%u", r->port);
	CELL(COL_NETNS, "%u", r->netns);
	if (si->pid) {
		if (si->n_owners > 1)
			snprintf(more, sizeof(more), "+%d", si->n_owners - 1);
		bg_cli_printable(comm, sizeof(comm), si->comm, sizeof(si->comm));
		CELL(COL_OWNER, "%d/%s%s", si->pid, comm[0] ? comm : "?", more);
	} else {
		CELL(COL_OWNER, "-");
	}
	name = rule_label(p, r, id, sizeof(id));
	if (name)
		bg_cli_printable(row->cell[COL_RULE], sizeof(row->cell[COL_RULE]), name,
				 strlen(name));
	else
		CELL(COL_RULE, "-");
	s = r->expose != BG_EXPOSE_UNSET ? known(bg_expose_str(r->expose)) : NULL;
	CELL(COL_EXPOSE, "%s", s ? s : "-");
	if (si->cgroup[0])
		bg_cli_printable(row->cell[COL_CGROUP], sizeof(row->cell[COL_CGROUP]), si->cgroup,
				 sizeof(si->cgroup));
	else
		CELL(COL_CGROUP, "-");
#undef CELL
}

static int print_row(const struct row *row, const size_t *width)
{
	int c;

	for (c = 0; c < NR_COLS - 1; c++)
		if (printf("%-*s  ", (int)width[c], row->cell[c]) < 0)
			return -EIO;
	return printf("%s\n", row->cell[NR_COLS - 1]) < 0 ? -EIO : 0;
}

static int print_table(const struct bg_policy *p, struct bg_sock_info **v, size_t n)
{
	size_t width[NR_COLS], i, len;
	struct row *rows, head;
	int c, err = 0;

	if (!n)
		return 0;
	rows = calloc(n, sizeof(*rows));
	if (!rows)
		return -ENOMEM;
	for (c = 0; c < NR_COLS; c++) {
		snprintf(head.cell[c], sizeof(head.cell[c]), "%s", col_names[c]);
		width[c] = strlen(col_names[c]);
	}
	for (i = 0; i < n; i++) {
		fill_row(&rows[i], p, v[i]);
		for (c = 0; c < NR_COLS; c++) {
			len = strlen(rows[i].cell[c]);
			if (len > width[c])
				width[c] = len;
		}
	}
	err = print_row(&head, width);
	for (i = 0; i < n && !err; i++)
		err = print_row(&rows[i], width);
	free(rows);
	return err;
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

/* ---- The command ------------------------------------------------------------------------- */

static int status_usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "bindguard: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry 'bindguard status --help'.\n");
	return EXIT_USAGE;
}

int bg_cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "policy", required_argument, NULL, 'p' },
		{ "cgroup", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct bg_compile_opts copts = { .mode_override = -1, .gen = STATUS_GEN };
	const char *policy_path = NULL, *cgroup_path = NULL;
	struct bg_loader_opts lopts = { 0 };
	struct bg_sock_list list = { 0 };
	struct bg_compiled compiled = { 0 };
	struct bg_sock_info **shown = NULL;
	struct bg_loader *loader = NULL;
	struct bg_policy *policy = NULL;
	int opt, err, ret = EXIT_RUNTIME, verbose = 0, format = FORMAT_TABLE;
	size_t i, n = 0, violations = 0;
	char root[PATH_MAX];
	long page;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "f:p:c:vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			if (strcmp(optarg, "table") == 0)
				format = FORMAT_TABLE;
			else if (strcmp(optarg, "json") == 0)
				format = FORMAT_JSON;
			else
				return status_usage_error(
					"invalid --format '%s' (expected table or json)", optarg);
			break;
		case 'p':
			policy_path = optarg;
			break;
		case 'c':
			cgroup_path = optarg;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			fputs(status_usage, stdout);
			return 0;
		default:
			return status_usage_error("invalid option for status%s", "");
		}
	}
	if (optind != argc)
		return status_usage_error("unexpected argument '%s'", argv[optind]);
	bg_log_set_level(BG_LOG_INFO + verbose);

	/* The policy first: a bad file is a usage error whatever the machine can do. */
	if (bg_cli_load_policy(policy_path, &policy, root, sizeof(root)))
		return EXIT_USAGE;
	if (bg_cli_preflight("status", &cgroup_path, root, sizeof(root)))
		goto out_free_policy;

	lopts.cgroup_path = cgroup_path;
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

	/* Into this loader's own maps only: the iterators judge by it; no hook is attached. */
	err = bg_cli_install(loader, policy, &copts, &compiled);
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

	if (format == FORMAT_JSON) {
		err = print_json(policy, shown, n);
	} else {
		err = print_table(policy, shown, n);
		if (!err && printf("%zu socket%s, %zu violate%s the policy (%zu netns)\n", n,
				   n == 1 ? "" : "s", violations, violations == 1 ? "s" : "",
				   count_netns(shown, n)) < 0)
			err = -EIO;
	}
	if (!err && fflush(stdout) != 0)
		err = -(errno ? errno : EIO);
	if (err) {
		bg_err("cannot write the list: %s\n", strerror(-err));
		goto out_free_shown;
	}
	ret = violations ? EXIT_VIOLATION : 0;
out_free_shown:
	free(shown);
out_release_list:
	bg_sock_list_release(&list);
	bg_compiled_release(&compiled);
out_free_loader:
	bg_loader_free(loader);
out_free_policy:
	bg_policy_free(policy);
	return ret;
}
