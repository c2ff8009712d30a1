// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * itest_enforce.c - real bind() calls against the real agent, in a sandbox cgroup and netns.
 *
 * Shaped like the kernel's prog_tests/sock_addr.c: one table of bind forms, one table of ports
 * (the iRedMail seed), each cell with an expected outcome, run for the enforce and the audit
 * mode; then UDP under the built-in policy, confine, post_bind, the quiet cases and the
 * bad-input cases.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox.h"

#ifndef IP_FREEBIND
#define IP_FREEBIND 15
#endif
#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND 78
#endif

enum { PUB = 'P', LO = 'L', OFF = 'D' };

/* The seed, /work/shared/seed/iredmail-ports.csv, with the rule names policy/iredmail.yaml uses. */
static const struct {
	int port;
	char expose;
	const char *rule;
} ports[] = {
	{ 25, PUB, "smtp" },
	{ 587, PUB, "submission" },
	{ 110, PUB, "pop3" },
	{ 995, PUB, "pop3s" },
	{ 143, PUB, "imap" },
	{ 993, PUB, "imaps" },
	{ 24, LO, "lmtp" },
	{ 4190, OFF, "managesieve" },
	{ 80, PUB, "http" },
	{ 443, PUB, "https" },
	{ 3306, LO, "mysql" },
	{ 5432, LO, "postgresql" },
	{ 389, LO, "ldap" },
	{ 636, OFF, "ldaps" },
	{ 10024, LO, "amavisd-inbound" },
	{ 10025, LO, "postfix-reinject" },
	{ 10026, LO, "amavisd-outbound" },
	{ 10027, LO, "amavisd-mlmmj" },
	{ 10028, LO, "postfix-mlmmj-reinject" },
	{ 9998, LO, "amavisd-quarantine" },
	{ 7777, LO, "iredapd" },
	{ 7778, LO, "iredapd-srs-sender" },
	{ 7779, LO, "iredapd-srs-recipient" },
	{ 7790, LO, "mlmmjadmin" },
	{ 7791, LO, "iredadmin" },
	{ 20000, LO, "sogo" },
	{ 11211, LO, "memcached" },
	{ 12340, LO, "dovecot-quota-status" },
	{ 24242, LO, "dovecot-service-status" },
	{ 19999, LO, "netdata" },
};
#define NPORTS (sizeof(ports) / sizeof(ports[0]))

/* The bind forms of the core issue, plus V6ONLY and a non-local IPv6 address. */
static const struct form {
	int family;
	const char *addr;
	int v6only; /* -1: leave the default */
	int freebind;
	int loopback; /* 1 if it is a loopback form */
} forms[] = {
	{ AF_INET, "0.0.0.0", -1, 0, 0 },   { AF_INET6, "::", 0, 0, 0 }, /* dual-stack */
	{ AF_INET6, "::", 1, 0, 0 },	    { AF_INET6, "::ffff:0.0.0.0", 0, 0, 0 },
	{ AF_INET, "192.0.2.7", -1, 1, 0 }, { AF_INET6, "2001:db8::7", 0, 1, 0 },
	{ AF_INET, "127.0.0.1", -1, 0, 1 }, { AF_INET, "127.1.2.3", -1, 0, 1 },
	{ AF_INET6, "::1", 0, 0, 1 },	    { AF_INET6, "::ffff:127.0.0.1", 0, 0, 1 },
};
#define NFORMS (sizeof(forms) / sizeof(forms[0]))

/* Results written by the worker child, read by the test: errno per cell (0 = bound). */
static int (*results)[NFORMS];

static int make_sock(const struct form *f, int type)
{
	int fd, one = 1;

	fd = socket(f->family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (f->family == AF_INET6 && f->v6only >= 0)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &f->v6only, sizeof(f->v6only));
	if (f->freebind) {
		if (f->family == AF_INET)
			setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
		else
			setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
	}
	return fd;
}

/* bind() one form to a port; returns 0 or errno. On success *out_fd keeps the socket. */
static int try_bind(const struct form *f, int port, int type, int *out_fd)
{
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;
	int fd, err = 0, rc;

	fd = make_sock(f, type);
	if (fd < 0)
		return errno;
	if (f->family == AF_INET) {
		memset(&s4, 0, sizeof(s4));
		s4.sin_family = AF_INET;
		s4.sin_port = htons(port);
		inet_pton(AF_INET, f->addr, &s4.sin_addr);
		rc = bind(fd, (struct sockaddr *)&s4, sizeof(s4));
	} else {
		memset(&s6, 0, sizeof(s6));
		s6.sin6_family = AF_INET6;
		s6.sin6_port = htons(port);
		inet_pton(AF_INET6, f->addr, &s6.sin6_addr);
		rc = bind(fd, (struct sockaddr *)&s6, sizeof(s6));
	}
	if (rc != 0)
		err = errno;
	if (out_fd && !err)
		*out_fd = fd;
	else
		close(fd);
	return err;
}

static int worker_seed(void *arg)
{
	size_t p, f;

	(void)arg;
	for (p = 0; p < NPORTS; p++)
		for (f = 0; f < NFORMS; f++)
			results[p][f] = try_bind(&forms[f], ports[p].port, SOCK_STREAM, NULL);
	return 0;
}

static int expect_denied(char expose, const struct form *f)
{
	if (expose == PUB)
		return 0;
	if (expose == OFF)
		return 1;
	return !f->loopback;
}

static void port_needle(char *buf, size_t len, int port)
{
	snprintf(buf, len, "\"port\":%d", port);
}

/*
 * The seed table in one mode. Enforce: cells that break the exposure fail with EPERM and each
 * has exactly one deny event naming the rule; audit: everything binds, each of those cells has
 * exactly one alert event.
 */
static void run_seed(struct sb *sb, int audit)
{
	const char *args_enforce[] = { NULL };
	const char *args_audit[] = { "--mode", "audit", NULL };
	const char *verdict = audit ? "\"verdict\":\"alert\"" : "\"verdict\":\"deny\"";
	char pn[32], an[96], rn[96], *out;
	size_t p, f, g;
	int st, want_lines, got_lines, total_viol = 0;

	printf("--- seed table, %s mode\n", audit ? "audit" : "enforce");
	if (sb_agent_start(sb, audit ? args_audit : args_enforce) != 0) {
		SB_CHECK(0, "agent start (%s)", audit ? "audit" : "enforce");
		return;
	}
	SB_CHECK(sb_attached(sb) == 4, "4 programs attached to the sandbox cgroup, got %d",
		 sb_attached(sb));
	memset(results, 0xff, sizeof(int) * NPORTS * NFORMS);
	st = sb_child(sb, 1, 1, worker_seed, NULL);
	SB_CHECK(st == 0, "seed worker exit %d", st);
	st = sb_agent_stop(sb);
	SB_CHECK(st == 0, "agent exit status %d after SIGTERM", st);
	SB_CHECK(sb_attached(sb) == 0, "nothing attached after the agent stopped, got %d",
		 sb_attached(sb));

	out = sb_slurp(sb->out_path);
	SB_CHECK(out != NULL, "agent output readable");
	if (!out)
		return;
	SB_CHECK(strstr(out, "\"state\":\"stopping\"") != NULL, "stopping line present");
	for (p = 0; p < NPORTS; p++) {
		port_needle(pn, sizeof(pn), ports[p].port);
		snprintf(rn, sizeof(rn), "\"rule\":\"%s\"", ports[p].rule);
		for (f = 0; f < NFORMS; f++) {
			int denied = expect_denied(ports[p].expose, &forms[f]);
			int want = denied && !audit ? EPERM : 0;

			total_viol += denied;
			SB_CHECK(results[p][f] == want, "%d on %s%s%s: errno %d (%s), want %d",
				 ports[p].port, forms[f].addr,
				 forms[f].v6only == 1 ? " (v6only)" : "",
				 forms[f].freebind ? " (freebind)" : "", results[p][f],
				 strerror(results[p][f]), want);
			/* Forms sharing an address text are counted together, once. */
			for (g = 0; g < f; g++)
				if (strcmp(forms[g].addr, forms[f].addr) == 0)
					break;
			if (g != f)
				continue;
			want_lines = 0;
			for (g = f; g < NFORMS; g++)
				if (strcmp(forms[g].addr, forms[f].addr) == 0)
					want_lines += expect_denied(ports[p].expose, &forms[g]);
			snprintf(an, sizeof(an), "\"addr\":\"%s\"", forms[f].addr);
			{
				const char *n[] = {
					"\"event\":\"bind\"", pn, an, verdict, rn, NULL
				};
				const char *any[] = { "\"event\":\"bind\"", pn, an, NULL };

				got_lines = sb_count_lines(out, n);
				SB_CHECK(got_lines == want_lines,
					 "%d %s: %d %s events naming %s, want %d", ports[p].port,
					 forms[f].addr, got_lines, verdict, ports[p].rule,
					 want_lines);
				got_lines = sb_count_lines(out, any);
				SB_CHECK(got_lines == want_lines,
					 "%d %s: %d events in all, want %d", ports[p].port,
					 forms[f].addr, got_lines, want_lines);
			}
		}
		if (ports[p].expose == LO) {
			const char *n[] = { pn, "\"hint\":\"", "\"expose\":\"loopback\"", NULL };

			SB_CHECK(sb_count_lines(out, n) > 0, "%d: events carry the rule's hint",
				 ports[p].port);
		}
	}
	{
		const char *n[] = { "\"event\":\"bind\"", NULL };
		const char *m[] = { "\"event\":\"bind\"",
				    audit ? "\"mode\":\"audit\"" : "\"mode\":\"enforce\"", NULL };

		SB_CHECK(sb_count_lines(out, n) == total_viol, "%d bind events in all, want %d",
			 sb_count_lines(out, n), total_viol);
		SB_CHECK(sb_count_lines(out, m) == total_viol, "every event names the mode");
	}
	free(out);
}

/* --- UDP under the built-in policy ---------------------------------------------------------- */

/*
 * Every loopback or none rule of the built-in policy covers UDP too: the reflectors (memcached
 * 11211, CLDAP 389) and the ports that must stay closed (4190, 636) refuse UDP on 0.0.0.0, while
 * UDP on loopback still binds and public rules (25) stay TCP only.
 */
static const struct {
	const char *addr;
	int port;
	int want_err;
	const char *rule; /* NULL: no event wanted */
} udp_cases[] = {
	{ "0.0.0.0", 11211, EPERM, "memcached" },  { "0.0.0.0", 389, EPERM, "ldap" },
	{ "0.0.0.0", 4190, EPERM, "managesieve" }, { "0.0.0.0", 636, EPERM, "ldaps" },
	{ "127.0.0.1", 11211, 0, NULL },	   { "0.0.0.0", 25, 0, NULL },
};
#define NUDP (sizeof(udp_cases) / sizeof(udp_cases[0]))

static int *udp_results;

static int worker_udp(void *arg)
{
	size_t i;

	(void)arg;
	for (i = 0; i < NUDP; i++) {
		const struct form f = { AF_INET, udp_cases[i].addr, -1, 0, 0 };

		udp_results[i] = try_bind(&f, udp_cases[i].port, SOCK_DGRAM, NULL);
	}
	return 0;
}

static void run_builtin_udp(struct sb *sb)
{
	char pn[32], an[96], rn[96], *out;
	size_t i;
	int st;

	printf("--- built-in policy, UDP, enforce mode\n");
	if (sb_agent_start(sb, NULL) != 0) {
		SB_CHECK(0, "agent start");
		return;
	}
	for (i = 0; i < NUDP; i++)
		udp_results[i] = -1;
	st = sb_child(sb, 1, 1, worker_udp, NULL);
	SB_CHECK(st == 0, "udp worker exit %d", st);
	SB_CHECK(sb_agent_stop(sb) == 0, "agent stops cleanly");
	out = sb_slurp(sb->out_path);
	SB_CHECK(out != NULL, "agent output readable");
	if (!out)
		return;
	for (i = 0; i < NUDP; i++) {
		const char *deny[] = { "\"event\":\"bind\"",
				       "\"verdict\":\"deny\"",
				       "\"proto\":\"udp\"",
				       pn,
				       an,
				       rn,
				       NULL };
		const char *any[] = { "\"event\":\"bind\"", pn, an, NULL };

		port_needle(pn, sizeof(pn), udp_cases[i].port);
		snprintf(an, sizeof(an), "\"addr\":\"%s\"", udp_cases[i].addr);
		snprintf(rn, sizeof(rn), "\"rule\":\"%s\"",
			 udp_cases[i].rule ? udp_cases[i].rule : "");
		SB_CHECK(udp_results[i] == udp_cases[i].want_err,
			 "UDP %s:%d: errno %d (%s), want %d", udp_cases[i].addr, udp_cases[i].port,
			 udp_results[i], strerror(udp_results[i]), udp_cases[i].want_err);
		if (udp_cases[i].rule)
			SB_CHECK(sb_count_lines(out, deny) == 1,
				 "UDP %s:%d: one deny event naming %s, got %d", udp_cases[i].addr,
				 udp_cases[i].port, udp_cases[i].rule, sb_count_lines(out, deny));
		SB_CHECK(sb_count_lines(out, any) == (udp_cases[i].rule ? 1 : 0),
			 "UDP %s:%d: %d bind events in all", udp_cases[i].addr, udp_cases[i].port,
			 sb_count_lines(out, any));
	}
	free(out);
}

/* --- Quiet cases --------------------------------------------------------------------------- */

static int worker_quiet(void *arg)
{
	static const struct form any4 = { AF_INET, "0.0.0.0", -1, 0, 0 };

	(void)arg;
	return try_bind(&any4, *(int *)arg, SOCK_STREAM, NULL) == 0 ? 0 : 1;
}

static void run_quiet(struct sb *sb)
{
	int port3306 = 3306, port8080 = 8080, st;
	const char *n[] = { "\"event\":\"bind\"", NULL };
	char *out;

	printf("--- quiet cases: another cgroup, an unlisted port\n");
	if (sb_agent_start(sb, NULL) != 0) {
		SB_CHECK(0, "agent start");
		return;
	}
	/* Outside the sandbox cgroup (own netns): 0.0.0.0:3306 is none of the agent's business. */
	st = sb_child(sb, 0, 1, worker_quiet, &port3306);
	SB_CHECK(st == 0, "bind 0.0.0.0:3306 outside the attached cgroup succeeds (exit %d)", st);
	/* Inside, on a port no rule lists: allowed, and silent. */
	st = sb_child(sb, 1, 1, worker_quiet, &port8080);
	SB_CHECK(st == 0, "bind 0.0.0.0:8080 (unlisted) succeeds (exit %d)", st);
	/* Inside, a listed port, to prove the agent was listening all along. */
	st = sb_child(sb, 1, 1, worker_quiet, &port3306);
	SB_CHECK(st == 1, "bind 0.0.0.0:3306 inside the cgroup fails (exit %d)", st);
	SB_CHECK(sb_agent_stop(sb) == 0, "agent stops cleanly");
	out = sb_slurp(sb->out_path);
	SB_CHECK(out && sb_count_lines(out, n) == 1, "exactly one bind event (the inside 3306)");
	free(out);
}

/* --- Confine and post_bind ----------------------------------------------------------------- */

static const char confine_policy[] = "version: 1\n"
				     "name: confine-test\n"
				     "default_action: confine\n"
				     "rules:\n"
				     "  - port: 3306\n"
				     "    expose: loopback\n"
				     "    service: mysql\n"
				     "  - port: 40000\n"
				     "    proto: both\n"
				     "    expose: loopback\n"
				     "    action: deny\n"
				     "    service: ephemeral-probe\n";

struct confine_result {
	int bind_err[4];
	char name[4][INET6_ADDRSTRLEN];
	int port[4];
	int remote_connect_err; /* connect to 192.0.2.1:3306 */
	int local_connect_err; /* connect to 127.0.0.1:3306 */
	int specific_err; /* 192.0.2.7:3306 with IP_FREEBIND */
	int eph_any_err; /* 0.0.0.0:0 with the ephemeral range pinned to 40000 */
	int eph_lo_err; /* 127.0.0.1:0 likewise */
	int eph_lo_port;
	int eph_udp_err; /* UDP 0.0.0.0:0, likewise */
};

static struct confine_result *cres;

static int connect_to(const char *addr, int port, const char *from)
{
	struct sockaddr_in s, b;
	int fd, err = 0;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	if (from) {
		memset(&b, 0, sizeof(b));
		b.sin_family = AF_INET;
		inet_pton(AF_INET, from, &b.sin_addr);
		if (bind(fd, (struct sockaddr *)&b, sizeof(b)) != 0) {
			err = errno;
			close(fd);
			return err;
		}
	}
	memset(&s, 0, sizeof(s));
	s.sin_family = AF_INET;
	s.sin_port = htons(port);
	inet_pton(AF_INET, addr, &s.sin_addr);
	if (connect(fd, (struct sockaddr *)&s, sizeof(s)) != 0)
		err = errno;
	close(fd);
	return err;
}

static void sock_name(int fd, char *buf, int *port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	buf[0] = '\0';
	*port = -1;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &s->sin_addr, buf, INET6_ADDRSTRLEN);
		*port = ntohs(s->sin_port);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &s->sin6_addr, buf, INET6_ADDRSTRLEN);
		*port = ntohs(s->sin6_port);
	}
}

static int worker_confine(void *arg)
{
	static const struct form wild[4] = {
		{ AF_INET, "0.0.0.0", -1, 0, 0 },
		{ AF_INET6, "::", 0, 0, 0 },
		{ AF_INET6, "::", 1, 0, 0 },
		{ AF_INET6, "::ffff:0.0.0.0", 0, 0, 0 },
	};
	static const struct form spec = { AF_INET, "192.0.2.7", -1, 1, 0 };
	static const struct form any4 = { AF_INET, "0.0.0.0", -1, 0, 0 };
	static const struct form lo4 = { AF_INET, "127.0.0.1", -1, 0, 1 };
	int i, fd = -1, fd4 = -1;
	FILE *f;

	(void)arg;
	/* A non-loopback address of this netns, to connect from and to. */
	if (system("ip addr add 192.0.2.1/32 dev lo") != 0)
		return 2;
	for (i = 0; i < 4; i++) {
		fd = -1;
		cres->bind_err[i] = try_bind(&wild[i], 3306, SOCK_STREAM, &fd);
		if (fd < 0)
			continue;
		sock_name(fd, cres->name[i], &cres->port[i]);
		if (i == 0) {
			/* The IPv4 one listens: reachable on loopback, not from 192.0.2.1. */
			fd4 = fd;
			listen(fd4, 8);
			cres->remote_connect_err = connect_to("192.0.2.1", 3306, "192.0.2.1");
			cres->local_connect_err = connect_to("127.0.0.1", 3306, NULL);
			close(fd4);
		} else {
			close(fd);
		}
	}
	cres->specific_err = try_bind(&spec, 3306, SOCK_STREAM, NULL);

	/* Pin this netns's ephemeral range to one port that a rule covers. */
	f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "w");
	if (!f || fprintf(f, "40000 40000\n") < 0 || fclose(f) != 0)
		return 3;
	cres->eph_any_err = try_bind(&any4, 0, SOCK_STREAM, NULL);
	fd = -1;
	cres->eph_lo_err = try_bind(&lo4, 0, SOCK_STREAM, &fd);
	if (fd >= 0) {
		char name[INET6_ADDRSTRLEN];

		sock_name(fd, name, &cres->eph_lo_port);
		close(fd);
	}
	cres->eph_udp_err = try_bind(&any4, 0, SOCK_DGRAM, NULL);
	return 0;
}

static void run_confine(struct sb *sb)
{
	static const char *const want_name[4] = { "127.0.0.1", "::1", "::1", "::ffff:127.0.0.1" };
	const char *policy = sb_write_tmp(sb, "confine.yaml", confine_policy);
	const char *args[] = { "--policy", policy, NULL };
	int i, st;
	char *out;

	printf("--- confine and post_bind\n");
	if (sb_agent_start(sb, args) != 0) {
		SB_CHECK(0, "agent start with confine policy");
		return;
	}
	memset(cres, 0xff, sizeof(*cres));
	st = sb_child(sb, 1, 1, worker_confine, NULL);
	SB_CHECK(st == 0, "confine worker exit %d", st);
	SB_CHECK(sb_agent_stop(sb) == 0, "agent stops cleanly");
	for (i = 0; i < 4; i++) {
		SB_CHECK(cres->bind_err[i] == 0, "confined bind %d succeeds (errno %d)", i,
			 cres->bind_err[i]);
		SB_CHECK(strcmp(cres->name[i], want_name[i]) == 0 && cres->port[i] == 3306,
			 "confined bind %d: getsockname %s:%d, want %s:3306", i, cres->name[i],
			 cres->port[i], want_name[i]);
	}
	SB_CHECK(cres->remote_connect_err == ECONNREFUSED,
		 "confined listener unreachable from 192.0.2.1: errno %d (%s)",
		 cres->remote_connect_err, strerror(cres->remote_connect_err));
	SB_CHECK(cres->local_connect_err == 0, "confined listener reachable on loopback: errno %d",
		 cres->local_connect_err);
	SB_CHECK(cres->specific_err == EPERM, "specific address under confine is denied: %d",
		 cres->specific_err);
	SB_CHECK(cres->eph_any_err == EPERM, "0.0.0.0:0 landing on ruled port 40000: errno %d",
		 cres->eph_any_err);
	SB_CHECK(cres->eph_lo_err == 0 && cres->eph_lo_port == 40000,
		 "127.0.0.1:0 gets port 40000 (errno %d, port %d)", cres->eph_lo_err,
		 cres->eph_lo_port);
	SB_CHECK(cres->eph_udp_err == EPERM, "UDP 0.0.0.0:0 landing on 40000: errno %d",
		 cres->eph_udp_err);

	out = sb_slurp(sb->out_path);
	if (!out) {
		SB_CHECK(0, "agent output");
		return;
	}
	{
		const char *c4[] = { "\"verdict\":\"confine\"", "\"addr\":\"0.0.0.0\"",
				     "\"confined_addr\":\"127.0.0.1\"", "\"rule\":\"mysql\"",
				     NULL };
		const char *c6[] = { "\"verdict\":\"confine\"", "\"addr\":\"::\"",
				     "\"confined_addr\":\"::1\"", NULL };
		const char *cm[] = { "\"verdict\":\"confine\"", "\"addr\":\"::ffff:0.0.0.0\"",
				     "\"confined_addr\":\"::ffff:127.0.0.1\"", NULL };
		const char *ds[] = { "\"verdict\":\"deny\"", "\"addr\":\"192.0.2.7\"",
				     "\"port\":3306", NULL };
		const char *pb[] = { "\"verdict\":\"deny\"", "\"hook\":\"post_bind\"",
				     "\"port\":40000",	     "\"rule\":\"ephemeral-probe\"",
				     "\"proto\":\"tcp\"",    NULL };
		const char *pu[] = { "\"verdict\":\"deny\"", "\"hook\":\"post_bind\"",
				     "\"port\":40000", "\"proto\":\"udp\"", NULL };
		const char *lo[] = { "\"addr\":\"127.0.0.1\"", "\"port\":40000", NULL };

		SB_CHECK(sb_count_lines(out, c4) == 1, "one v4 confine event with confined_addr");
		SB_CHECK(sb_count_lines(out, c6) == 2, "two v6 confine events (dual and v6only)");
		SB_CHECK(sb_count_lines(out, cm) == 1, "one v4-mapped confine event");
		SB_CHECK(sb_count_lines(out, ds) == 1, "one deny event for the specific address");
		SB_CHECK(sb_count_lines(out, pb) == 1, "one post_bind deny event for 0.0.0.0:0");
		SB_CHECK(sb_count_lines(out, pu) == 1,
			 "one post_bind deny event for UDP 0.0.0.0:0");
		SB_CHECK(sb_count_lines(out, lo) == 0, "no event for the allowed 127.0.0.1:0");
	}
	free(out);
}

/* --- Ephemeral ports and one report per violation ----------------------------------------- */

/* A strict policy: anything not listed may only bind loopback. */
static const char strict_policy[] = "version: 1\n"
				    "name: strict\n"
				    "unlisted: loopback\n"
				    "rules:\n"
				    "  - port: 3306\n"
				    "    expose: loopback\n"
				    "    service: mysql\n";

static struct {
	int tcp0, udp0, tcp8080, listen3306;
} * eres;

static int worker_ephemeral(void *arg)
{
	const struct form any4 = { AF_INET, "0.0.0.0", -1, 0, 0 };

	(void)arg;
	/* A client binding port 0 asks for an ephemeral port: no service, no unlisted default. */
	eres->tcp0 = try_bind(&any4, 0, SOCK_STREAM, NULL);
	eres->udp0 = try_bind(&any4, 0, SOCK_DGRAM, NULL);
	/* A server naming an unlisted port is judged by the unlisted default. */
	eres->tcp8080 = try_bind(&any4, 8080, SOCK_STREAM, NULL);
	return 0;
}

/* bind() and listen() on 0.0.0.0:3306 in audit mode: one service coming up, one alert. */
static int worker_bind_listen(void *arg)
{
	const struct form any4 = { AF_INET, "0.0.0.0", -1, 0, 0 };
	int fd = -1;

	(void)arg;
	eres->listen3306 = try_bind(&any4, 3306, SOCK_STREAM, &fd);
	if (fd >= 0) {
		if (listen(fd, 4) != 0)
			eres->listen3306 = errno;
		close(fd);
	}
	return 0;
}

static void run_ephemeral(struct sb *sb)
{
	const char *policy = sb_write_tmp(sb, "strict.yaml", strict_policy);
	const char *enforce[] = { "--policy", policy, NULL };
	const char *audit[] = { "--policy", policy, "--mode", "audit", NULL };
	const char *any_event[] = { "\"event\":\"bind\"", NULL };
	const char *p8080[] = { "\"verdict\":\"deny\"", "\"port\":8080", "\"rule\":null", NULL };
	const char *a3306[] = { "\"verdict\":\"alert\"", "\"port\":3306", NULL };
	const char *l3306[] = { "\"event\":\"listen\"", NULL };
	char *out;
	int st;

	printf("--- unlisted: loopback: an ephemeral client bind, an unlisted server port\n");
	if (sb_agent_start(sb, enforce) != 0) {
		SB_CHECK(0, "agent start with the strict policy");
		return;
	}
	memset(eres, 0xff, sizeof(*eres));
	st = sb_child(sb, 1, 1, worker_ephemeral, NULL);
	SB_CHECK(st == 0, "worker exit %d", st);
	SB_CHECK(sb_agent_stop(sb) == 0, "agent stops cleanly");
	SB_CHECK(eres->tcp0 == 0, "a TCP client's 0.0.0.0:0 bind succeeds (errno %d)", eres->tcp0);
	SB_CHECK(eres->udp0 == 0, "a UDP client's 0.0.0.0:0 bind succeeds (errno %d)", eres->udp0);
	SB_CHECK(eres->tcp8080 == EPERM, "0.0.0.0:8080 (unlisted) is denied (errno %d)",
		 eres->tcp8080);
	out = sb_slurp(sb->out_path);
	SB_CHECK(out && sb_count_lines(out, p8080) == 1, "one deny event for 8080");
	SB_CHECK(out && sb_count_lines(out, any_event) == 1,
		 "no event for the ephemeral binds (%d bind events)",
		 out ? sb_count_lines(out, any_event) : -1);
	free(out);

	printf("--- bind() + listen() in audit mode: one alert, not two\n");
	if (sb_agent_start(sb, audit) != 0) {
		SB_CHECK(0, "agent start in audit mode");
		return;
	}
	st = sb_child(sb, 1, 1, worker_bind_listen, NULL);
	SB_CHECK(st == 0 && eres->listen3306 == 0, "audit: bind and listen succeed (errno %d)",
		 eres->listen3306);
	SB_CHECK(sb_agent_stop(sb) == 0, "agent stops cleanly");
	out = sb_slurp(sb->out_path);
	SB_CHECK(out && sb_count_lines(out, a3306) == 1, "one alert for 0.0.0.0:3306 (%d)",
		 out ? sb_count_lines(out, a3306) : -1);
	SB_CHECK(out && sb_count_lines(out, l3306) == 0, "no second report from the listen");
	free(out);
}

/* --- Bad input and environment errors ------------------------------------------------------ */

static const struct {
	const char *name;
	const char *yaml;
	const char *where; /* expected "line:col:" after the file name */
} bad_policies[] = {
	{ "unknown-key", "version: 1\nrules:\n  - port: 3306\n    exposee: loopback\n", ":4:5:" },
	{ "port-65536", "version: 1\nrules:\n  - port: 65536\n    expose: loopback\n", ":3:11:" },
	{ "duplicate",
	  "version: 1\nrules:\n  - port: 25\n    expose: public\n"
	  "  - port: 25\n    expose: loopback\n",
	  ":5:5:" },
	{ "overlap",
	  "version: 1\nrules:\n  - ports: 10020-10030\n    expose: loopback\n"
	  "  - port: 10024\n    proto: both\n    expose: public\n",
	  ":5:5:" },
	{ "bad-cidr", "version: 1\nrules:\n  - port: 5432\n    expose: [10.0.0.0/33]\n", ":4:14:" },
	{ "empty", "", ":1:1:" },
};

/* Exec argv in a private mount namespace where `hide` is covered or unmounted. */
struct hidden {
	const char *const *argv;
	const char *hide;
	int unmount; /* 1: umount it; 0: cover it with an empty tmpfs */
	char *out;
	size_t len;
};

static int worker_hidden(void *arg)
{
	struct hidden *h = arg;
	int st;

	if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
		return 125;
	if (h->unmount ? umount2(h->hide, MNT_DETACH) != 0 :
			 mount("none", h->hide, "tmpfs", 0, NULL) != 0)
		return 124;
	st = sb_exec(h->argv, h->out, h->len);
	return st < 0 ? 123 : st;
}

static void run_bad_input(struct sb *sb)
{
	char out[8192], want[PATH_MAX + 32];
	char *shared_out;
	size_t i;
	int st;

	printf("--- bad input and missing prerequisites\n");
	for (i = 0; i < sizeof(bad_policies) / sizeof(bad_policies[0]); i++) {
		char name[64];
		const char *path;

		snprintf(name, sizeof(name), "%s.yaml", bad_policies[i].name);
		path = sb_write_tmp(sb, name, bad_policies[i].yaml);
		snprintf(want, sizeof(want), "%s%s", path, bad_policies[i].where);
		{
			const char *argv[] = { sb->bin, "check", path, NULL };

			st = sb_exec(argv, out, sizeof(out));
			SB_CHECK(st == 2, "check %s: exit %d, want 2", name, st);
			SB_CHECK(strstr(out, want) != NULL, "check %s: message names %s: %s", name,
				 want, out);
			SB_CHECK(strchr(out, '\n') == strrchr(out, '\n'), "check %s: one line",
				 name);
		}
		{
			const char *argv[] = { sb->bin,	   "run", "--cgroup", sb->cg_dir,
					       "--policy", path,  NULL };

			st = sb_exec(argv, out, sizeof(out));
			SB_CHECK(st == 2, "run --policy %s: exit %d, want 2", name, st);
			SB_CHECK(strstr(out, want) != NULL, "run %s: message names %s: %s", name,
				 want, out);
			SB_CHECK(sb_attached(sb) == 0, "run %s: nothing attached", name);
		}
	}
	{
		const char *argv[] = { sb->bin, "check", "policy/iredmail.yaml", NULL };

		st = sb_exec(argv, out, sizeof(out));
		SB_CHECK(st == 0, "check policy/iredmail.yaml: exit %d: %s", st, out);
		SB_CHECK(strstr(out, "3306") && strstr(out, "mysql"), "check prints the rules");
	}
	{
		const char *argv[] = { sb->bin, "check", "/nonexistent/policy.yaml", NULL };

		st = sb_exec(argv, out, sizeof(out));
		SB_CHECK(st == 2 && strstr(out, "/nonexistent/policy.yaml"),
			 "check of a missing file: exit %d: %s", st, out);
	}
	{
		const char *argv[] = { sb->bin, "run", "--cgroup", "/nonexistent-cgroup", NULL };

		st = sb_exec(argv, out, sizeof(out));
		SB_CHECK(st == 2 && strstr(out, "/nonexistent-cgroup"),
			 "run on a missing cgroup: exit %d: %s", st, out);
	}
	{
		const char *argv[] = { sb->bin, "run", "--cgroup", sb->tmpdir, NULL };

		st = sb_exec(argv, out, sizeof(out));
		SB_CHECK(st == 2 && strstr(out, "not a cgroup v2 directory"),
			 "run on a non-cgroup directory: exit %d: %s", st, out);
	}
	{
		const char *argv[] = { sb->bin, "run", "--mode", "bogus", NULL };

		st = sb_exec(argv, out, sizeof(out));
		SB_CHECK(st == 2 && strstr(out, "bogus"), "run --mode bogus: exit %d: %s", st, out);
	}
	{
		const char *argv[] = { sb->bin, "frobnicate", NULL };

		st = sb_exec(argv, out, sizeof(out));
		SB_CHECK(st == 2, "unknown command: exit %d", st);
	}
	{
		const char *argv[] = { sb->bin, "--help", NULL };
		const char *run_help[] = { sb->bin, "run", "--help", NULL };

		st = sb_exec(argv, out, sizeof(out));
		SB_CHECK(st == 0 && strstr(out, "bindguard check FILE"), "--help: exit %d", st);
		/* run's options are in its own help (tests/unit/test_cli.c checks every command). */
		st = sb_exec(run_help, out, sizeof(out));
		SB_CHECK(st == 0 && strstr(out, "--log-allowed"), "run --help: exit %d", st);
	}

	/* Environment errors: each a clear one-line message and exit 1. */
	shared_out =
		mmap(NULL, sizeof(out), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared_out == MAP_FAILED) {
		SB_CHECK(0, "mmap");
		return;
	}
	{
		/* Not root: a child that dropped to nobody runs the agent. */
		char errfile[PATH_MAX + 16];
		const char *argv[] = { "/bin/sh", "-c", NULL, NULL };
		char cmd[8 * PATH_MAX];

		/* A copy nobody can execute wherever the checkout lives (CI may clone under /root). */
		snprintf(errfile, sizeof(errfile), "%s/nonroot.err", sb->tmpdir);
		snprintf(cmd, sizeof(cmd),
			 "cp '%s' '%s/bindguard' && chmod 755 '%s/bindguard' && "
			 "exec setpriv --reuid=65534 --regid=65534 --clear-groups "
			 "'%s/bindguard' run --cgroup '%s' 2>'%s'",
			 sb->bin, sb->tmpdir, sb->tmpdir, sb->tmpdir, sb->cg_dir, errfile);
		argv[2] = cmd;
		chmod(sb->tmpdir, 0755);
		st = sb_exec(argv, out, sizeof(out));
		{
			char *e = sb_slurp(errfile);

			SB_CHECK(st == 1 && e && strstr(e, "needs root"),
				 "not root: exit %d, message %s", st, e ? e : "(none)");
			free(e);
		}
	}
	{
		const char *argv[] = { sb->bin, "run", NULL };
		struct hidden h = { argv, sb->cg_root, 1, shared_out, sizeof(out) };

		st = sb_child(sb, 0, 0, worker_hidden, &h);
		SB_CHECK(st == 1 && strstr(shared_out, "no cgroup v2"),
			 "no cgroup v2: exit %d, message %s", st, shared_out);
	}
	{
		const char *argv[] = { sb->bin, "run", "--cgroup", sb->cg_dir, NULL };
		struct hidden h = { argv, "/sys/kernel/btf", 0, shared_out, sizeof(out) };

		st = sb_child(sb, 0, 0, worker_hidden, &h);
		SB_CHECK(st == 1 && strstr(shared_out, "BTF"), "no BTF: exit %d, message %s", st,
			 shared_out);
	}
	SB_CHECK(sb_attached(sb) == 0, "nothing attached after the error cases");
	munmap(shared_out, sizeof(out));
}

/* --- Reload (SIGHUP) ----------------------------------------------------------------------- */

/* For a line the agent writes after a SIGHUP. */
#define RELOAD_MS 5000

static void run_reload(struct sb *sb)
{
	static const char strict[] = "version: 1\nname: strict\nrules:\n"
				     "  - port: 3306\n    expose: loopback\n    service: db\n";
	static const char open_[] = "version: 1\nname: open\nrules:\n"
				    "  - port: 3306\n    expose: public\n    service: db\n"
				    "  - port: 3307\n    expose: none\n    service: db2\n";
	static const char *const reloaded[] = { "\"state\":\"reloaded\"", NULL };
	static const char *const reload_failed[] = { "\"state\":\"reload-failed\"", NULL };
	const char *path = sb_write_tmp(sb, "reload.yaml", strict);
	const char *args[] = { "--policy", path, NULL };
	int p3306 = 3306, p3307 = 3307, st;
	char *out;

	printf("--- reload\n");
	if (sb_agent_start(sb, args) != 0) {
		SB_CHECK(0, "agent start");
		return;
	}
	st = sb_child(sb, 1, 1, worker_quiet, &p3306);
	SB_CHECK(st == 1, "strict policy: 0.0.0.0:3306 denied (exit %d)", st);

	sb_write_tmp(sb, "reload.yaml", open_);
	kill(sb->agent, SIGHUP);
	SB_CHECK(sb_wait_lines(sb->out_path, reloaded, 1, RELOAD_MS) >= 1, "reloaded line");
	st = sb_child(sb, 1, 1, worker_quiet, &p3306);
	SB_CHECK(st == 0, "after reload: 0.0.0.0:3306 allowed (exit %d)", st);
	st = sb_child(sb, 1, 1, worker_quiet, &p3307);
	SB_CHECK(st == 1, "after reload: 0.0.0.0:3307 denied (exit %d)", st);

	/* A broken file leaves the live policy in force. */
	sb_write_tmp(sb, "reload.yaml", "version: 1\nrules:\n  - port: 99999\n");
	kill(sb->agent, SIGHUP);
	SB_CHECK(sb_wait_lines(sb->out_path, reload_failed, 1, RELOAD_MS) >= 1,
		 "reload-failed line");
	st = sb_child(sb, 1, 1, worker_quiet, &p3306);
	SB_CHECK(st == 0, "failed reload keeps the open policy: 3306 allowed (exit %d)", st);
	st = sb_child(sb, 1, 1, worker_quiet, &p3307);
	SB_CHECK(st == 1, "failed reload keeps the open policy: 3307 denied (exit %d)", st);
	SB_CHECK(sb_agent_stop(sb) == 0, "agent stops cleanly");

	out = sb_slurp(sb->out_path);
	{
		const char *a[] = { "\"verdict\":\"deny\"", "\"port\":3306", "\"rule\":\"db\"",
				    NULL };
		const char *b[] = { "\"verdict\":\"deny\"", "\"port\":3307", "\"rule\":\"db2\"",
				    NULL };
		const char *e[] = { "\"state\":\"reload-failed\"", "reload.yaml:3:11:", NULL };

		SB_CHECK(out && sb_count_lines(out, a) == 1,
			 "one deny for 3306 under the old policy");
		SB_CHECK(out && sb_count_lines(out, b) == 2,
			 "two denies for 3307 named by the new one");
		SB_CHECK(out && sb_count_lines(out, e) == 1, "reload-failed names file:line:col");
	}
	free(out);
}

/*
 * The kubelet's update of a mounted ConfigMap: the new files in a fresh "..<gen>" directory, a
 * temporary symlink to it renamed over "..data"; "policy.yaml -> ..data/policy.yaml" itself
 * never changes. Build a directory the same way and swap it.
 */
static int cm_swap(const char *dir, const char *gen, const char *text)
{
	char path[PATH_MAX + 64], tmp[PATH_MAX + 64], target[80];
	FILE *f;

	snprintf(path, sizeof(path), "%s/..%s", dir, gen);
	if (mkdir(path, 0755) != 0)
		return -errno;
	snprintf(path, sizeof(path), "%s/..%s/policy.yaml", dir, gen);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fputs(text, f);
	fclose(f);
	snprintf(tmp, sizeof(tmp), "%s/..data_tmp", dir);
	snprintf(target, sizeof(target), "..%s", gen);
	if (symlink(target, tmp) != 0)
		return -errno;
	snprintf(path, sizeof(path), "%s/..data", dir);
	return rename(tmp, path) == 0 ? 0 : -errno;
}

static long long mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The policy file watched: a ConfigMap-style swap and an editor's rewrite reload by themselves. */
static void run_watch(struct sb *sb)
{
	static const char strict[] = "version: 1\nname: strict\nrules:\n"
				     "  - port: 3306\n    expose: loopback\n    service: db\n";
	static const char open_[] = "version: 1\nname: open\nrules:\n"
				    "  - port: 3306\n    expose: public\n    service: db\n";
	static const char *const reloaded[] = { "\"state\":\"reloaded\"",
						"\"trigger\":\"file changed\"", NULL };
	static const char *const failed[] = { "\"state\":\"reload-failed\"",
					      "\"trigger\":\"file changed\"", NULL };
	char dir[PATH_MAX + 16], file[PATH_MAX + 32], *out;
	const char *args[] = { "--policy", file, NULL };
	int p3306 = 3306, st, n;
	long long t0;

	printf("--- the policy file watched: a ConfigMap ..data swap, a rewrite\n");
	snprintf(dir, sizeof(dir), "%s/configmap", sb->tmpdir);
	snprintf(file, sizeof(file), "%s/policy.yaml", dir);
	st = mkdir(dir, 0755) == 0 ? cm_swap(dir, "gen1", strict) : -errno;
	st = st ?: (symlink("..data/policy.yaml", file) == 0 ? 0 : -errno);
	if (st) {
		SB_CHECK(0, "make the ConfigMap-shaped directory: %s", strerror(-st));
		return;
	}
	if (sb_agent_start(sb, args) != 0) {
		SB_CHECK(0, "agent start on the ConfigMap-shaped policy");
		return;
	}
	st = sb_child(sb, 1, 1, worker_quiet, &p3306);
	SB_CHECK(st == 1, "gen1 (strict): 0.0.0.0:3306 denied (exit %d)", st);

	t0 = mono_ms();
	SB_CHECK(cm_swap(dir, "gen2", open_) == 0, "..data swapped to gen2");
	n = sb_wait_lines(sb->out_path, reloaded, 1, 2000);
	printf("    reloaded %lld ms after the ..data swap (settling: 200 ms)\n", mono_ms() - t0);
	SB_CHECK(n == 1, "the swap reloads within 2 s (%lld ms)", mono_ms() - t0);
	st = sb_child(sb, 1, 1, worker_quiet, &p3306);
	SB_CHECK(st == 0, "gen2 (open): 0.0.0.0:3306 allowed (exit %d)", st);

	t0 = mono_ms();
	SB_CHECK(cm_swap(dir, "gen3", "version: 1\nrules: [\n") == 0, "..data swapped to gen3");
	n = sb_wait_lines(sb->out_path, failed, 1, 2000);
	SB_CHECK(n == 1, "a broken gen3: reload-failed within 2 s (%lld ms)", mono_ms() - t0);
	st = sb_child(sb, 1, 1, worker_quiet, &p3306);
	SB_CHECK(st == 0, "the broken gen3 keeps gen2 in force: 3306 allowed (exit %d)", st);

	/* gen2's text again: it differs from the failed gen3's, so it is tried (and reloads). */
	SB_CHECK(cm_swap(dir, "gen4", open_) == 0, "..data swapped to gen4 (gen2's text)");
	n = sb_wait_lines(sb->out_path, reloaded, 2, 2000);
	SB_CHECK(n == 2, "gen4 reloads (%d reloaded records)", n);
	/* The same text again (a resync of an unchanged ConfigMap): no reload. */
	SB_CHECK(cm_swap(dir, "gen5", open_) == 0, "..data swapped to gen5 (same text)");
	usleep(600 * 1000);
	out = sb_slurp(sb->out_path);
	SB_CHECK(out && sb_count_lines(out, reloaded) == 2, "an unchanged text does not reload");
	free(out);
	SB_CHECK(sb_agent_stop(sb) == 0, "agent stops cleanly");

	/* An ordinary file rewritten in place (an editor, or `cp`). */
	{
		const char *path = sb_write_tmp(sb, "watched.yaml", strict);
		const char *a2[] = { "--policy", path, NULL };

		if (sb_agent_start(sb, a2) != 0) {
			SB_CHECK(0, "agent start on a plain file");
			return;
		}
		t0 = mono_ms();
		sb_write_tmp(sb, "watched.yaml", open_);
		n = sb_wait_lines(sb->out_path, reloaded, 1, 2000);
		SB_CHECK(n == 1, "a rewritten file reloads within 2 s (%lld ms)", mono_ms() - t0);
		st = sb_child(sb, 1, 1, worker_quiet, &p3306);
		SB_CHECK(st == 0, "after the rewrite: 3306 allowed (exit %d)", st);
		SB_CHECK(sb_agent_stop(sb) == 0, "agent stops cleanly");
	}

	/* A file past 1 MiB (a long comment first): a change at its very end reloads too. */
	{
		size_t pad = (1u << 20) + 4096, i;
		char *big = malloc(pad + sizeof(strict) + sizeof(open_));
		const char *path;
		const char *a3[] = { "--policy", NULL, NULL };

		if (!big) {
			SB_CHECK(0, "malloc");
			return;
		}
		for (i = 0; i + 64 <= pad; i += 64) {
			memset(big + i, 'x', 63);
			big[i] = '#';
			big[i + 63] = '\n';
		}
		strcpy(big + i, strict);
		path = sb_write_tmp(sb, "big.yaml", big);
		a3[1] = path;
		if (sb_agent_start(sb, a3) != 0) {
			SB_CHECK(0, "agent start on a %zu-byte policy", i + sizeof(strict) - 1);
			free(big);
			return;
		}
		t0 = mono_ms();
		strcpy(big + i, open_);
		sb_write_tmp(sb, "big.yaml", big);
		n = sb_wait_lines(sb->out_path, reloaded, 1, 2000);
		SB_CHECK(n == 1, "a %zu-byte file changed past its first MiB reloads within 2 s",
			 i + sizeof(open_) - 1);
		st = sb_child(sb, 1, 1, worker_quiet, &p3306);
		SB_CHECK(st == 0, "after the change: 3306 allowed (exit %d)", st);
		/* And back: the first MiB never changed in either edit. */
		strcpy(big + i, strict);
		sb_write_tmp(sb, "big.yaml", big);
		n = sb_wait_lines(sb->out_path, reloaded, 2, 2000);
		SB_CHECK(n == 2, "changed back: reloads again (%d reloaded records)", n);
		st = sb_child(sb, 1, 1, worker_quiet, &p3306);
		SB_CHECK(st == 1, "after the change back: 3306 denied (exit %d)", st);
		/* The same text written again: no reload. */
		sb_write_tmp(sb, "big.yaml", big);
		usleep(600 * 1000);
		n = sb_wait_lines(sb->out_path, reloaded, 3, 1);
		SB_CHECK(n == 2, "the same text again does not reload (%d)", n);
		SB_CHECK(sb_agent_stop(sb) == 0, "agent stops cleanly");
		free(big);
	}
}

/* A second agent on the same cgroup is refused; SIGKILL leaves nothing attached. */
static void run_lifecycle(struct sb *sb)
{
	const char *argv[] = { sb->bin, "run", "--cgroup", sb->cg_dir, NULL };
	char out[4096];
	int st, n;

	printf("--- second agent, SIGKILL\n");
	if (sb_agent_start(sb, NULL) != 0) {
		SB_CHECK(0, "agent start");
		return;
	}
	st = sb_exec(argv, out, sizeof(out));
	SB_CHECK(st == 1 && strstr(out, "another bindguard agent"), "second agent refused: %d %s",
		 st, out);
	SB_CHECK(sb_attached(sb) == 4, "the first agent's 4 programs stay, got %d",
		 sb_attached(sb));
	kill(sb->agent, SIGKILL);
	waitpid(sb->agent, NULL, 0);
	sb->agent = -1;
	n = sb_wait_attached(sb->cg_dir, SB_HOOKS_BIND, 0, 1000);
	SB_CHECK(n == 0, "after SIGKILL nothing is attached, got %d", n);
}

int main(void)
{
	struct sb sb;
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	rc = sb_setup(&sb, "enforce");
	if (rc)
		return rc;
	results = mmap(NULL, sizeof(int) * NPORTS * NFORMS, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	cres = mmap(NULL, sizeof(*cres), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	udp_results = mmap(NULL, sizeof(int) * NUDP, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	eres = mmap(NULL, sizeof(*eres), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (results == MAP_FAILED || cres == MAP_FAILED || udp_results == MAP_FAILED ||
	    eres == MAP_FAILED) {
		perror("mmap");
		sb_teardown(&sb);
		return 1;
	}

	run_seed(&sb, 0);
	run_seed(&sb, 1);
	run_builtin_udp(&sb);
	run_quiet(&sb);
	run_confine(&sb);
	run_ephemeral(&sb);
	run_bad_input(&sb);
	run_reload(&sb);
	run_watch(&sb);
	run_lifecycle(&sb);

	sb_teardown(&sb);
	return sb_report("itest_enforce");
}
