// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * itest_bypass.c - the bypass matrix: every way we know to get a socket bound (or listening) on a
 * ruled port, each a real attempt inside the sandbox cgroup and its own netns, with the outcome
 * the kernel must give (errno, getsockname) and the bind events the agent must write.
 *
 * One table of cases, run in groups; a group is one agent run with one policy: the built-in
 * iRedMail policy; the small policy below (port ranges, UDP, CIDR lists, alert, confine); and the
 * built-in policy again with the agent on sandbox/inner, so that a foreign program on the sandbox
 * cgroup is an ancestor's and runs after bindguard. Each case runs in a fresh forked worker.
 * Cases marked "limit" are known limits or escapes (docs/coverage.md): they assert what the
 * kernel really does today, so a change in either the kernel or bindguard shows up here.
 *
 * Events are attributed to cases with a marker: after each case a fresh process binds
 * 127.0.0.1:4190, whose rule is "expose: none" in both policies (always one deny event). The
 * ring buffer is ordered by reservation and each case has exited before its marker starts, so
 * the lines between two markers belong to one case.
 *
 * `itest_bypass --markdown` prints the table as the rows of docs/coverage.md (no root needed).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <linux/filter.h>
#include <linux/io_uring.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "sandbox.h"

#ifndef IP_FREEBIND
#define IP_FREEBIND 15
#endif
#ifndef IP_TRANSPARENT
#define IP_TRANSPARENT 19
#endif
#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif
#ifndef IPV6_TRANSPARENT
#define IPV6_TRANSPARENT 75
#endif
#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND 78
#endif
#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef SOCK_DCCP
#define SOCK_DCCP 6
#endif
/* Opcodes newer than Debian bookworm's uapi header (6.11). */
#define BP_IORING_OP_SOCKET 45
#define BP_IORING_OP_BIND 56
#define BP_IORING_OP_LISTEN 57

#define MARKER_PORT 4190

/* --- Policies ------------------------------------------------------------------------------ */

enum { G_IREDMAIL, G_CUSTOM, G_NESTED, NR_GROUPS };

static const char custom_policy[] = "version: 1\n"
				    "name: bypass\n"
				    "default_action: deny\n"
				    "rules:\n"
				    "  - ports: 10020-10030\n"
				    "    expose: loopback\n"
				    "    service: range\n"
				    "  - port: 5353\n"
				    "    proto: udp\n"
				    "    expose: loopback\n"
				    "    service: udp-only\n"
				    "  - port: 6000\n"
				    "    proto: both\n"
				    "    expose: [10.1.0.0/16]\n"
				    "    service: cidr\n"
				    "  - port: 6001\n"
				    "    expose: [10.3.0.7/32, \"2001:db8::7/128\", 10.4.0.0/16]\n"
				    "    service: hosts\n"
				    "  - port: 7000\n"
				    "    expose: loopback\n"
				    "    action: alert\n"
				    "    service: alerted\n"
				    "  - port: 7100\n"
				    "    expose: loopback\n"
				    "    action: confine\n"
				    "    service: confined\n"
				    "  - port: 4190\n"
				    "    expose: none\n"
				    "    service: marker\n"
				    "  - port: 40000\n"
				    "    proto: both\n"
				    "    expose: loopback\n"
				    "    service: ephemeral\n";

/* --- The table ----------------------------------------------------------------------------- */

/* Socket options and steps of the generic runner. */
#define BP_V6ONLY (1u << 0) /* IPV6_V6ONLY = 1 */
#define BP_DUAL (1u << 1) /* IPV6_V6ONLY = 0 */
#define BP_FREEBIND (1u << 2) /* IP_FREEBIND / IPV6_FREEBIND */
#define BP_TRANSPARENT (1u << 3) /* IP_TRANSPARENT / IPV6_TRANSPARENT */
#define BP_BINDTODEV (1u << 4) /* SO_BINDTODEVICE "lo" */
#define BP_SCOPE (1u << 5) /* sin6_scope_id = lo */
#define BP_UNSPEC (1u << 6) /* sockaddr_in with sin_family AF_UNSPEC */
#define BP_PIN (1u << 7) /* pin this netns's ephemeral range to c->aux first */
#define BP_LISTEN (1u << 8) /* listen() after a successful bind */
#define BP_MAYSKIP (1u << 9) /* socket() may fail on this kernel: skip, not fail */
#define BP_NETNS2 (1u << 10) /* unshare a second netns first (socket and bind in it) */
#define BP_CHILDCG (1u << 11) /* join the case's child cgroup first */
#define BP_PING (1u << 12) /* allow ping sockets for gid 0 in this netns first */
#define BP_SETNS (1u << 13) /* create the socket, then unshare a netns, then bind */
#define BP_IN_TO_OUT (1u << 14) /* SCM_RIGHTS / migrate: made inside, bound outside */
#define BP_OUT_TO_IN (1u << 15) /* the reverse */
#define BP_USERNS (1u << 16) /* unshare a user namespace and a netns first */
#define BP_ASYNC (1u << 17) /* io_uring: IOSQE_ASYNC (run in an io-wq worker thread) */
#define BP_SQPOLL (1u << 18) /* io_uring: IORING_SETUP_SQPOLL (the kernel's SQ thread submits) */
#define BP_MIGRATE (1u << 19) /* the migration probe (migrate.bpf.c) on the agent's cgroup */

/* Where a case's foreign program goes (attached by the test, before the worker runs). */
enum {
	FG_NONE,
	FG_CHILD_ONLY, /* a child cgroup of the agent's, nothing attached */
	FG_CHILD_MULTI, /* the program on that child cgroup, multi-attach */
	FG_CHILD_EXCL, /* the program on that child cgroup, exclusive (flags 0) */
	FG_SAME, /* the program on the agent's own cgroup, after the agent */
	FG_ANCESTOR, /* the program on the parent of the agent's cgroup (G_NESTED) */
};

struct bp_res {
	int done; /* the runner got as far as recording an outcome */
	int err; /* errno of the judged operation; 0 = it succeeded */
	int skip; /* the kernel lacks what the case needs; msg says what */
	int kernel_skip; /* a foreign program the case attaches cannot load on this kernel */
	char name[INET6_ADDRSTRLEN]; /* getsockname() after the operation */
	int port;
	char needle[96]; /* an event needle only the worker can know (netns, cgroup id) */
	char msg[160];
	long moved, seen; /* run_migrating: post_bind4 on another CPU than bind4, of all seen */
};

struct bp_case;
typedef void (*bp_run_fn)(const struct bp_case *c, struct bp_res *r);

struct bp_case {
	const char *name;
	const char *what; /* what it tries (docs/coverage.md) */
	const char *hook; /* which hook sees it (docs/coverage.md) */
	int group;
	bp_run_fn run;
	int family, type, proto;
	const char *addr;
	int port;
	unsigned int opts;
	int aux; /* pinned ephemeral port, or the port of a first socket */
	const char *addr2; /* address of a first socket (reuseport, rebind) */
	int fg_where; /* FG_* */
	const char *fg_prog;
	const char *fg_prog2; /* a second foreign program, attached the same way */
	/* expected */
	int want_err;
	const char *want_name; /* getsockname address, or NULL (not checked) */
	int want_port;
	int want_events; /* bind events written for this case */
	const char *want_verdict;
	const char *want_hook;
	const char *want_hook2; /* with 2 events: one has want_hook, the other this one */
	const char *want_addr; /* the event's addr, or NULL */
	const char *want_proto; /* the event's proto, or NULL */
	int limit; /* a known limit: asserts today's kernel behaviour */
	const char *why; /* why it is a limit (docs/coverage.md) */
	int want_moved; /* run_migrating: some binds must have moved CPU between the hooks */
};

static void run_bind(const struct bp_case *c, struct bp_res *r);
static void run_listen_autobind(const struct bp_case *c, struct bp_res *r);
static void run_sendto_autobind(const struct bp_case *c, struct bp_res *r);
static void run_reuseport(const struct bp_case *c, struct bp_res *r);
static void run_rebind(const struct bp_case *c, struct bp_res *r);
static void run_connect_after(const struct bp_case *c, struct bp_res *r);
static void run_no_port(const struct bp_case *c, struct bp_res *r);
static void run_scm(const struct bp_case *c, struct bp_res *r);
static void run_migrate(const struct bp_case *c, struct bp_res *r);
static void run_uring_bind(const struct bp_case *c, struct bp_res *r);
static void run_uring_socket_bind(const struct bp_case *c, struct bp_res *r);
static void run_uring_listen(const struct bp_case *c, struct bp_res *r);
static void run_connect_bpf_bind(const struct bp_case *c, struct bp_res *r);
static void run_migrating(const struct bp_case *c, struct bp_res *r);
static void run_rebind_inuse(const struct bp_case *c, struct bp_res *r);

/* Shorthands for the table: the attempt, and its expected outcome. */
#define V4 AF_INET
#define V6 AF_INET6
#define TCP SOCK_STREAM
#define UDP SOCK_DGRAM
#define BIND(fam, typ, a, p, o) \
	.run = run_bind, .family = fam, .type = typ, .addr = a, .port = p, .opts = o
#define DENIED(hk, a) \
	.want_err = EPERM, .want_events = 1, .want_verdict = "deny", .want_hook = hk, .want_addr = a
#define QUIET .want_err = 0, .want_events = 0
#define NAME(a, p) .want_name = a, .want_port = p

static const struct bp_case cases[] = {
	/* --- Address forms, built-in iRedMail policy (3306: mysql, loopback only) ------------ */
	{ "v4_any", "TCP 0.0.0.0:3306", "bind4", G_IREDMAIL, BIND(V4, TCP, "0.0.0.0", 3306, 0),
	  DENIED("bind", "0.0.0.0") },
	{ "v4_loopback", "TCP 127.0.0.1:3306", "bind4", G_IREDMAIL,
	  BIND(V4, TCP, "127.0.0.1", 3306, 0), QUIET, NAME("127.0.0.1", 3306) },
	{ "v4_loopback_net", "TCP 127.9.9.9:3306 (rest of 127/8)", "bind4", G_IREDMAIL,
	  BIND(V4, TCP, "127.9.9.9", 3306, 0), QUIET, NAME("127.9.9.9", 3306) },
	{ "v4_unspec_family",
	  "TCP 0.0.0.0:3306 passed as sin_family=AF_UNSPEC (kernel compat path)", "bind4",
	  G_IREDMAIL, BIND(V4, TCP, "0.0.0.0", 3306, BP_UNSPEC), DENIED("bind", "0.0.0.0") },
	{ "v6_any_dual", "TCP [::]:3306, IPV6_V6ONLY=0 (dual-stack)", "bind6", G_IREDMAIL,
	  BIND(V6, TCP, "::", 3306, BP_DUAL), DENIED("bind", "::") },
	{ "v6_any_v6only", "TCP [::]:3306, IPV6_V6ONLY=1", "bind6", G_IREDMAIL,
	  BIND(V6, TCP, "::", 3306, BP_V6ONLY), DENIED("bind", "::") },
	{ "v6_loopback", "TCP [::1]:3306", "bind6", G_IREDMAIL, BIND(V6, TCP, "::1", 3306, 0),
	  QUIET, NAME("::1", 3306) },
	{ "v4mapped_any", "TCP [::ffff:0.0.0.0]:3306", "bind6", G_IREDMAIL,
	  BIND(V6, TCP, "::ffff:0.0.0.0", 3306, BP_DUAL), DENIED("bind", "::ffff:0.0.0.0") },
	{ "v4mapped_loopback", "TCP [::ffff:127.0.0.1]:3306", "bind6", G_IREDMAIL,
	  BIND(V6, TCP, "::ffff:127.0.0.1", 3306, BP_DUAL), QUIET, NAME("::ffff:127.0.0.1", 3306) },
	{ "v4mapped_freebind", "TCP [::ffff:192.0.2.7]:3306 with IPV6_FREEBIND", "bind6",
	  G_IREDMAIL, BIND(V6, TCP, "::ffff:192.0.2.7", 3306, BP_DUAL | BP_FREEBIND),
	  DENIED("bind", "::ffff:192.0.2.7") },
	{ "v4_freebind", "TCP 192.0.2.7:3306 (not local) with IP_FREEBIND", "bind4", G_IREDMAIL,
	  BIND(V4, TCP, "192.0.2.7", 3306, BP_FREEBIND), DENIED("bind", "192.0.2.7") },
	{ "v4_transparent", "TCP 198.51.100.7:3306 (not local) with IP_TRANSPARENT", "bind4",
	  G_IREDMAIL, BIND(V4, TCP, "198.51.100.7", 3306, BP_TRANSPARENT),
	  DENIED("bind", "198.51.100.7") },
	{ "v6_freebind", "TCP [2001:db8::7]:3306 (not local) with IPV6_FREEBIND", "bind6",
	  G_IREDMAIL, BIND(V6, TCP, "2001:db8::7", 3306, BP_FREEBIND),
	  DENIED("bind", "2001:db8::7") },
	{ "v6_transparent", "TCP [2001:db8::8]:3306 (not local) with IPV6_TRANSPARENT", "bind6",
	  G_IREDMAIL, BIND(V6, TCP, "2001:db8::8", 3306, BP_TRANSPARENT),
	  DENIED("bind", "2001:db8::8") },
	{ "v6_linklocal_scope", "TCP [fe80::1%lo]:3306 (scope id set, IPV6_FREEBIND)", "bind6",
	  G_IREDMAIL, BIND(V6, TCP, "fe80::1", 3306, BP_SCOPE | BP_FREEBIND),
	  DENIED("bind", "fe80::1") },
	{ "bindtodevice_lo", "TCP 0.0.0.0:3306 on a socket with SO_BINDTODEVICE lo", "bind4",
	  G_IREDMAIL, BIND(V4, TCP, "0.0.0.0", 3306, BP_BINDTODEV), DENIED("bind", "0.0.0.0") },
	{ "none_on_loopback", "TCP 127.0.0.1:636 (ldaps: expose none)", "bind4", G_IREDMAIL,
	  BIND(V4, TCP, "127.0.0.1", 636, 0), DENIED("bind", "127.0.0.1") },
	{ "unlisted_any", "TCP 0.0.0.0:8080 (no rule: unlisted is public)", "bind4", G_IREDMAIL,
	  BIND(V4, TCP, "0.0.0.0", 8080, 0), QUIET, NAME("0.0.0.0", 8080) },
	{ "public_any", "TCP 0.0.0.0:25 (smtp: public)", "bind4", G_IREDMAIL,
	  BIND(V4, TCP, "0.0.0.0", 25, 0), QUIET, NAME("0.0.0.0", 25) },
	{ "udp_any", "UDP 0.0.0.0:3306 (the mysql rule covers udp too)", "bind4", G_IREDMAIL,
	  BIND(V4, UDP, "0.0.0.0", 3306, 0), DENIED("bind", "0.0.0.0"), .want_proto = "udp" },

	/* --- Sharing and re-binding ------------------------------------------------------------ */
	{ "reuseport_lo_then_any",
	  "SO_REUSEPORT: 127.0.0.1:3306 listening, then a second socket on 0.0.0.0:3306", "bind4",
	  G_IREDMAIL, .run = run_reuseport, .family = V4, .type = TCP, .addr = "0.0.0.0",
	  .port = 3306, .addr2 = "127.0.0.1", DENIED("bind", "0.0.0.0") },
	{ "reuseport_group_lo", "SO_REUSEPORT group: two sockets on 127.0.0.1:3306", "bind4",
	  G_IREDMAIL, .run = run_reuseport, .family = V4, .type = TCP, .addr = "127.0.0.1",
	  .port = 3306, .addr2 = "127.0.0.1", QUIET, NAME("127.0.0.1", 3306) },
	{ "rebind_lo_then_any",
	  "one socket: bind 127.0.0.1:3306, then bind it again to 0.0.0.0:3306", "bind4",
	  G_IREDMAIL, .run = run_rebind, .family = V4, .type = TCP, .addr = "0.0.0.0", .port = 3306,
	  .addr2 = "127.0.0.1", DENIED("bind", "0.0.0.0") },
	{ "bind_any_then_connect",
	  "TCP 0.0.0.0:3306 on a socket meant for connect() (not a listener)", "bind4", G_IREDMAIL,
	  .run = run_connect_after, .family = V4, .type = TCP, .addr = "0.0.0.0", .port = 3306,
	  DENIED("bind", "0.0.0.0") },

	/* --- Ephemeral ports and autobind ------------------------------------------------------ */
	{ "eph_v4_any", "TCP 0.0.0.0:0, ephemeral range pinned to 3306", "post_bind4", G_IREDMAIL,
	  BIND(V4, TCP, "0.0.0.0", 0, BP_PIN), .aux = 3306, DENIED("post_bind", "0.0.0.0") },
	{ "eph_v4_loopback", "TCP 127.0.0.1:0, ephemeral range pinned to 3306", "post_bind4",
	  G_IREDMAIL, BIND(V4, TCP, "127.0.0.1", 0, BP_PIN), .aux = 3306, QUIET,
	  NAME("127.0.0.1", 3306) },
	{ "eph_v6_any", "TCP [::]:0 dual-stack, ephemeral range pinned to 3306", "post_bind6",
	  G_IREDMAIL, BIND(V6, TCP, "::", 0, BP_PIN | BP_DUAL), .aux = 3306,
	  DENIED("post_bind", "::") },
	{ "listen_autobind_v4", "TCP listen() without bind(), ephemeral range pinned to 3306",
	  "none (sockops sees the listen)", G_IREDMAIL, .run = run_listen_autobind, .family = V4,
	  .type = TCP, .aux = 3306, QUIET, NAME("0.0.0.0", 3306), .limit = 1,
	  .why = "listen() autobinds in inet_csk_get_port(): no bind hook runs. The listen event (sockops) reports it; --close-existing closes it" },
	{ "listen_autobind_v6", "TCP6 listen() without bind(), ephemeral range pinned to 3306",
	  "none (sockops sees the listen)", G_IREDMAIL, .run = run_listen_autobind, .family = V6,
	  .type = TCP, .aux = 3306, QUIET, NAME("::", 3306), .limit = 1,
	  .why = "as listen_autobind_v4" },
	{ "bind_address_no_port",
	  "IP_BIND_ADDRESS_NO_PORT + 0.0.0.0:0, then connect() picks port 3306 (pinned)",
	  "bind4 (port 0: no rule); no post_bind", G_IREDMAIL, .run = run_no_port, .family = V4,
	  .type = TCP, .addr = "0.0.0.0", .aux = 3306, QUIET, NAME("127.0.0.1", 3306), .limit = 1,
	  .why = "post_bind is skipped while the port is 0; connect() picks the port. An outgoing socket, never a listener" },
	{ "bind_no_port_then_listen",
	  "IP_BIND_ADDRESS_NO_PORT + 0.0.0.0:0, then listen() autobinds port 3306 (pinned)",
	  "bind4 (port 0: no rule); no post_bind; sockops sees the listen", G_IREDMAIL,
	  .run = run_no_port, .family = V4, .type = TCP, .addr = "0.0.0.0", .opts = BP_LISTEN,
	  .aux = 3306, QUIET, NAME("0.0.0.0", 3306), .limit = 1,
	  .why = "as bind_address_no_port, then listen() autobinds as in listen_autobind_v4; the listen event reports it" },

	/* --- Namespaces and cgroups ------------------------------------------------------------ */
	{ "netns_second", "TCP 0.0.0.0:3306 in a second netns unshared inside the worker", "bind4",
	  G_IREDMAIL, BIND(V4, TCP, "0.0.0.0", 3306, BP_NETNS2), DENIED("bind", "0.0.0.0") },
	{ "netns_setns_after_socket",
	  "TCP socket made in netns A, bind 0.0.0.0:3306 after unshare to netns B", "bind4",
	  G_IREDMAIL, BIND(V4, TCP, "0.0.0.0", 3306, BP_SETNS), DENIED("bind", "0.0.0.0") },
	{ "userns_netns",
	  "TCP 0.0.0.0:3306 after unshare(CLONE_NEWUSER + CLONE_NEWNET), as a rootless container",
	  "bind4", G_IREDMAIL, BIND(V4, TCP, "0.0.0.0", 3306, BP_USERNS),
	  DENIED("bind", "0.0.0.0") },
	{ "cgroup_child", "TCP 0.0.0.0:3306 from a child cgroup of the attached one", "bind4",
	  G_IREDMAIL, BIND(V4, TCP, "0.0.0.0", 3306, BP_CHILDCG), .fg_where = FG_CHILD_ONLY,
	  DENIED("bind", "0.0.0.0") },
	{ "cgroup_made_in_bound_out",
	  "socket made in the sandbox cgroup; the process moves out, then binds 0.0.0.0:3306",
	  "bind4 (the socket's cgroup)", G_IREDMAIL, .run = run_migrate, .family = V4, .type = TCP,
	  .addr = "0.0.0.0", .port = 3306, .opts = BP_IN_TO_OUT, DENIED("bind", "0.0.0.0") },
	{ "cgroup_made_out_bound_in",
	  "socket made outside; the process moves into the sandbox cgroup, then binds 0.0.0.0:3306",
	  "none (the socket's cgroup is outside)", G_IREDMAIL, .run = run_migrate, .family = V4,
	  .type = TCP, .addr = "0.0.0.0", .port = 3306, .opts = BP_OUT_TO_IN, QUIET,
	  NAME("0.0.0.0", 3306), .limit = 1,
	  .why = "cgroup bind hooks run the programs of the socket's cgroup (sk_cgrp_data, fixed at socket()), not the caller's: a socket made outside the attached cgroup is never judged, whoever binds it" },
	{ "scm_rights_in_to_out",
	  "socket made in the sandbox, passed over SCM_RIGHTS to a process outside that binds "
	  "0.0.0.0:3306",
	  "bind4 (the socket's cgroup)", G_IREDMAIL, .run = run_scm, .family = V4, .type = TCP,
	  .addr = "0.0.0.0", .port = 3306, .opts = BP_IN_TO_OUT, DENIED("bind", "0.0.0.0") },
	{ "scm_rights_out_to_in",
	  "socket made outside, passed over SCM_RIGHTS to a process in the sandbox that binds "
	  "0.0.0.0:3306",
	  "none (the socket's cgroup is outside)", G_IREDMAIL, .run = run_scm, .family = V4,
	  .type = TCP, .addr = "0.0.0.0", .port = 3306, .opts = BP_OUT_TO_IN, QUIET,
	  NAME("0.0.0.0", 3306), .limit = 1, .why = "as cgroup_made_out_bound_in" },

	/* --- Other protocols ------------------------------------------------------------------- */
	{ "mptcp_v4", "MPTCP (IPPROTO_MPTCP) 0.0.0.0:3306", "bind4 (on the first subflow)",
	  G_IREDMAIL, BIND(V4, TCP, "0.0.0.0", 3306, BP_MAYSKIP), .proto = IPPROTO_MPTCP,
	  DENIED("bind", "0.0.0.0"), .want_proto = "tcp" },
	{ "mptcp_v6", "MPTCP (IPPROTO_MPTCP) [::]:3306", "bind6 (on the first subflow)", G_IREDMAIL,
	  BIND(V6, TCP, "::", 3306, BP_MAYSKIP | BP_DUAL), .proto = IPPROTO_MPTCP,
	  DENIED("bind", "::"), .want_proto = "tcp" },
	{ "sctp", "SCTP 0.0.0.0:3306 (SOCK_STREAM, IPPROTO_SCTP)", "none (sctp has its own bind)",
	  G_IREDMAIL, BIND(V4, TCP, "0.0.0.0", 3306, BP_MAYSKIP), .proto = IPPROTO_SCTP, QUIET,
	  .limit = 1,
	  .why = "SCTP has its own bind (sk_prot->bind), which runs no cgroup hook. Not loadable on this kernel: skipped" },
	{ "dccp", "DCCP 0.0.0.0:3306 (SOCK_DCCP)", "bind4, but not tcp/udp: allowed", G_IREDMAIL,
	  BIND(V4, SOCK_DCCP, "0.0.0.0", 3306, BP_MAYSKIP), .proto = IPPROTO_DCCP, QUIET,
	  .limit = 1,
	  .why = "the policy speaks tcp and udp; a SOCK_DCCP socket is allowed. Not in this kernel: skipped" },
	{ "raw", "SOCK_RAW (IPPROTO_TCP) bound to 0.0.0.0 (sin_port 3306)",
	  "none (raw has its own bind)", G_IREDMAIL, BIND(V4, SOCK_RAW, "0.0.0.0", 3306, 0),
	  .proto = IPPROTO_TCP, QUIET, .limit = 1,
	  .why = "raw sockets have their own bind and no port; nothing can connect to them" },

	/* --- io_uring --------------------------------------------------------------------------- */
	{ "io_uring_bind_any", "IORING_OP_BIND 0.0.0.0:3306", "bind4 (__sys_bind_socket)",
	  G_IREDMAIL, .run = run_uring_bind, .family = V4, .type = TCP, .addr = "0.0.0.0",
	  .port = 3306, DENIED("bind", "0.0.0.0") },
	{ "io_uring_bind_v6_any", "IORING_OP_BIND [::]:3306", "bind6 (__sys_bind_socket)",
	  G_IREDMAIL, .run = run_uring_bind, .family = V6, .type = TCP, .addr = "::", .port = 3306,
	  DENIED("bind", "::") },
	{ "io_uring_bind_loopback", "IORING_OP_BIND 127.0.0.1:3306, then IORING_OP_LISTEN", "bind4",
	  G_IREDMAIL, .run = run_uring_bind, .family = V4, .type = TCP, .addr = "127.0.0.1",
	  .port = 3306, .opts = BP_LISTEN, QUIET, NAME("127.0.0.1", 3306) },
	{ "io_uring_socket_bind", "IORING_OP_SOCKET, then IORING_OP_BIND 0.0.0.0:3306", "bind4",
	  G_IREDMAIL, .run = run_uring_socket_bind, .family = V4, .type = TCP, .addr = "0.0.0.0",
	  .port = 3306, DENIED("bind", "0.0.0.0") },
	{ "io_uring_async_socket_bind",
	  "IORING_OP_SOCKET + IORING_OP_BIND 0.0.0.0:3306 with IOSQE_ASYNC (an io-wq thread)",
	  "bind4", G_IREDMAIL, .run = run_uring_socket_bind, .family = V4, .type = TCP,
	  .addr = "0.0.0.0", .port = 3306, .opts = BP_ASYNC, DENIED("bind", "0.0.0.0") },
	{ "io_uring_sqpoll_bind", "IORING_OP_BIND 0.0.0.0:3306 submitted by the SQPOLL thread",
	  "bind4", G_IREDMAIL, .run = run_uring_bind, .family = V4, .type = TCP, .addr = "0.0.0.0",
	  .port = 3306, .opts = BP_SQPOLL, DENIED("bind", "0.0.0.0") },
	{ "io_uring_listen_autobind",
	  "IORING_OP_LISTEN on an unbound socket, ephemeral range pinned to 3306",
	  "none (sockops sees the listen)", G_IREDMAIL, .run = run_uring_listen, .family = V4,
	  .type = TCP, .aux = 3306, QUIET, NAME("0.0.0.0", 3306), .limit = 1,
	  .why = "as listen_autobind_v4 (IORING_OP_LISTEN calls the same __sys_listen_socket)" },

	/* --- Foreign programs on the same hooks -------------------------------------------------- */
	{ "foreign_child_rewrite",
	  "another program on a child cgroup (multi) rewrites 127.0.0.1 to 0.0.0.0; bind "
	  "127.0.0.1:3306 there",
	  "bind4 (the child's program runs first)", G_IREDMAIL,
	  BIND(V4, TCP, "127.0.0.1", 3306, BP_CHILDCG), .fg_where = FG_CHILD_MULTI,
	  .fg_prog = "fg_lo_to_any4", DENIED("bind", "0.0.0.0") },
	{ "foreign_child_rewrite_excl", "the same, attached to the child without BPF_F_ALLOW_MULTI",
	  "bind4 (the child's program runs first)", G_IREDMAIL,
	  BIND(V4, TCP, "127.0.0.1", 3306, BP_CHILDCG), .fg_where = FG_CHILD_EXCL,
	  .fg_prog = "fg_lo_to_any4", DENIED("bind", "0.0.0.0") },
	{ "foreign_after_rewrite",
	  "another program on the sandbox cgroup, attached after bindguard, rewrites 127.0.0.1 "
	  "to 0.0.0.0; bind 127.0.0.1:3306",
	  "post_bind4 (runs after every bind4 program)", G_IREDMAIL,
	  BIND(V4, TCP, "127.0.0.1", 3306, 0), .fg_where = FG_SAME, .fg_prog = "fg_lo_to_any4",
	  DENIED("post_bind", "0.0.0.0") },
	{ "foreign_after_rewrite_v6",
	  "the same for IPv6: ::1 rewritten to :: after bindguard; bind [::1]:3306", "post_bind6",
	  G_IREDMAIL, BIND(V6, TCP, "::1", 3306, 0), .fg_where = FG_SAME,
	  .fg_prog = "fg_lo_to_any6", DENIED("post_bind", "::") },
	{ "foreign_after_port",
	  "another program after bindguard rewrites port 13306 (unlisted) to 3306; bind "
	  "0.0.0.0:13306",
	  "post_bind4", G_IREDMAIL, BIND(V4, TCP, "0.0.0.0", 13306, 0), .fg_where = FG_SAME,
	  .fg_prog = "fg_port_to_3306", DENIED("post_bind", "0.0.0.0") },
	{ "foreign_child_override",
	  "a program on a child cgroup calls bpf_set_retval(0); bind 0.0.0.0:3306 there",
	  "bind4 (ours runs after the child's)", G_IREDMAIL,
	  BIND(V4, TCP, "0.0.0.0", 3306, BP_CHILDCG), .fg_where = FG_CHILD_MULTI,
	  .fg_prog = "fg_override4", DENIED("bind", "0.0.0.0") },
	{ "foreign_after_override_bind",
	  "another program after bindguard's bind4 undoes its deny with bpf_set_retval(0); bind "
	  "0.0.0.0:3306",
	  "bind4 (overridden), then post_bind4 denies", G_IREDMAIL,
	  BIND(V4, TCP, "0.0.0.0", 3306, 0), .fg_where = FG_SAME, .fg_prog = "fg_override4",
	  .want_err = EPERM, .want_events = 2, .want_verdict = "deny", .want_hook = "bind",
	  .want_hook2 = "post_bind", .want_addr = "0.0.0.0" },
	{ "foreign_after_override_both",
	  "another program after bindguard undoes its deny at bind4 and at post_bind4 "
	  "(bpf_set_retval(0)); bind 0.0.0.0:3306, listen()",
	  "bind4 and post_bind4 (both overridden); sockops sees the listen", G_IREDMAIL,
	  BIND(V4, TCP, "0.0.0.0", 3306, BP_LISTEN), .fg_where = FG_SAME, .fg_prog = "fg_override4",
	  .fg_prog2 = "fg_override_pb4", .want_err = 0, .want_events = 2, .want_verdict = "deny",
	  .want_hook = "bind", .want_hook2 = "post_bind", .want_addr = "0.0.0.0",
	  NAME("0.0.0.0", 3306), .limit = 1,
	  .why = "ESCAPE by a privileged program: the cgroup run loop keeps one return value that any later program may reset with bpf_set_retval(0), so a program that runs after bindguard (same cgroup, attached later) undoes both denies. The deny events are still written; the listen event reports the listener" },
	{ "foreign_connect_bpf_bind",
	  "another program on cgroup/connect4 bpf_bind()s the socket to 0.0.0.0:3306; the "
	  "connect is refused; listen()",
	  "none (BIND_FROM_BPF skips bind4 and post_bind4); sockops sees the listen", G_IREDMAIL,
	  .run = run_connect_bpf_bind, .family = V4, .type = TCP, .fg_where = FG_SAME,
	  .fg_prog = "fg_bind_on_conn4", QUIET, NAME("0.0.0.0", 3306), .limit = 1,
	  .why = "ESCAPE by a privileged program: bpf_bind() from cgroup/connect4 binds with BIND_FROM_BPF, which runs neither bind4 nor post_bind4; a refused connect leaves the socket bound, and listen() makes it a listener. Only the listen event sees it" },

	/* --- bindguard's shortcuts: post_bind relies on bind4's per-CPU note ---------------------- */
	{ "migrate_rewrite",
	  "TCP 127.0.0.1:3306 bound 200 times while another program after bindguard rewrites it to "
	  "0.0.0.0, a second thread holds the socket's lock and a third moves the binder between "
	  "CPUs: post_bind4 often runs on another CPU than bind4",
	  "post_bind4 (another CPU's note never matches: judged in full)", G_IREDMAIL,
	  .run = run_migrating, .family = V4, .type = TCP, .addr = "127.0.0.1", .port = 3306,
	  .opts = BP_MIGRATE, .aux = 200, .fg_where = FG_SAME, .fg_prog = "fg_lo_to_any4",
	  .want_err = EPERM, .want_events = 200, .want_verdict = "deny", .want_hook = "post_bind",
	  .want_addr = "0.0.0.0", .want_moved = 1 },

	/* --- The small policy: ranges, UDP, CIDR lists, alert, confine ---------------------------- */
	{ "range_below", "TCP 0.0.0.0:10019 (rule 10020-10030: one below)", "bind4", G_CUSTOM,
	  BIND(V4, TCP, "0.0.0.0", 10019, 0), QUIET, NAME("0.0.0.0", 10019) },
	{ "range_low_edge", "TCP 0.0.0.0:10020 (first port of the range)", "bind4", G_CUSTOM,
	  BIND(V4, TCP, "0.0.0.0", 10020, 0), DENIED("bind", "0.0.0.0") },
	{ "range_high_edge", "TCP [::]:10030 (last port of the range)", "bind6", G_CUSTOM,
	  BIND(V6, TCP, "::", 10030, BP_DUAL), DENIED("bind", "::") },
	{ "range_above", "TCP 0.0.0.0:10031 (one above)", "bind4", G_CUSTOM,
	  BIND(V4, TCP, "0.0.0.0", 10031, 0), QUIET, NAME("0.0.0.0", 10031) },
	{ "udp_v4", "UDP 0.0.0.0:5353 (udp-only rule)", "bind4", G_CUSTOM,
	  BIND(V4, UDP, "0.0.0.0", 5353, 0), DENIED("bind", "0.0.0.0"), .want_proto = "udp" },
	{ "udp_v6", "UDP [::]:5353 (udp-only rule)", "bind6", G_CUSTOM,
	  BIND(V6, UDP, "::", 5353, BP_DUAL), DENIED("bind", "::"), .want_proto = "udp" },
	{ "udplite_v4", "UDP-Lite 0.0.0.0:5353 (SOCK_DGRAM, judged as udp)", "bind4", G_CUSTOM,
	  BIND(V4, UDP, "0.0.0.0", 5353, BP_MAYSKIP), .proto = IPPROTO_UDPLITE,
	  DENIED("bind", "0.0.0.0"), .want_proto = "udp" },
	{ "tcp_on_udp_rule", "TCP 0.0.0.0:5353 (the rule is udp only)", "bind4", G_CUSTOM,
	  BIND(V4, TCP, "0.0.0.0", 5353, 0), QUIET, NAME("0.0.0.0", 5353) },
	{ "ping_socket", "ICMP ping socket bound to 0.0.0.0 with id 5353",
	  "none (ping has its own bind; no port is exposed)", G_CUSTOM,
	  BIND(V4, UDP, "0.0.0.0", 5353, BP_PING | BP_MAYSKIP), .proto = IPPROTO_ICMP, QUIET,
	  .limit = 1,
	  .why = "ping sockets have their own bind; the 'port' is an ICMP echo id and nothing listens" },
	{ "udp_setns_after_socket",
	  "UDP socket made in netns A, bind 0.0.0.0:5353 after unshare to netns B", "bind4",
	  G_CUSTOM, BIND(V4, UDP, "0.0.0.0", 5353, BP_SETNS), DENIED("bind", "0.0.0.0") },
	{ "cidr_inside", "TCP 10.1.2.3:6000 (in 10.1.0.0/16, IP_FREEBIND)", "bind4 + LPM", G_CUSTOM,
	  BIND(V4, TCP, "10.1.2.3", 6000, BP_FREEBIND), QUIET, NAME("10.1.2.3", 6000) },
	{ "cidr_outside", "TCP 10.2.0.1:6000 (outside the list, IP_FREEBIND)", "bind4 + LPM",
	  G_CUSTOM, BIND(V4, TCP, "10.2.0.1", 6000, BP_FREEBIND), DENIED("bind", "10.2.0.1") },
	{ "cidr_any", "TCP 0.0.0.0:6000 (a wildcard is never inside a CIDR list)", "bind4",
	  G_CUSTOM, BIND(V4, TCP, "0.0.0.0", 6000, 0), DENIED("bind", "0.0.0.0") },
	{ "cidr_udp_inside", "UDP 10.1.0.1:6000 (proto both)", "bind4 + LPM", G_CUSTOM,
	  BIND(V4, UDP, "10.1.0.1", 6000, BP_FREEBIND), QUIET, NAME("10.1.0.1", 6000) },
	{ "cidr_v4mapped_inside", "TCP [::ffff:10.1.2.3]:6000 (IPV6_FREEBIND)", "bind6 + LPM",
	  G_CUSTOM, BIND(V6, TCP, "::ffff:10.1.2.3", 6000, BP_FREEBIND | BP_DUAL), QUIET,
	  NAME("::ffff:10.1.2.3", 6000) },
	{ "cidr_host_inside", "TCP 10.3.0.7:6001 (a /32 of the list: the exact-match hash)",
	  "bind4 + hash", G_CUSTOM, BIND(V4, TCP, "10.3.0.7", 6001, BP_FREEBIND), QUIET,
	  NAME("10.3.0.7", 6001) },
	{ "cidr_host_next", "TCP 10.3.0.8:6001 (next to the /32, in no entry)",
	  "bind4 + hash + LPM", G_CUSTOM, BIND(V4, TCP, "10.3.0.8", 6001, BP_FREEBIND),
	  DENIED("bind", "10.3.0.8") },
	{ "cidr_host_v6_inside", "TCP [2001:db8::7]:6001 (a /128 of the list)", "bind6 + hash",
	  G_CUSTOM, BIND(V6, TCP, "2001:db8::7", 6001, BP_FREEBIND), QUIET,
	  NAME("2001:db8::7", 6001) },
	{ "cidr_host_v4mapped", "TCP [::ffff:10.3.0.7]:6001 (the /32, v4-mapped)", "bind6 + hash",
	  G_CUSTOM, BIND(V6, TCP, "::ffff:10.3.0.7", 6001, BP_FREEBIND | BP_DUAL), QUIET,
	  NAME("::ffff:10.3.0.7", 6001) },
	{ "cidr_mixed_network", "TCP 10.4.9.9:6001 (the /16 of the same list: the trie)",
	  "bind4 + hash + LPM", G_CUSTOM, BIND(V4, TCP, "10.4.9.9", 6001, BP_FREEBIND), QUIET,
	  NAME("10.4.9.9", 6001) },
	{ "alert_any", "TCP 0.0.0.0:7000 (action alert)", "bind4", G_CUSTOM,
	  BIND(V4, TCP, "0.0.0.0", 7000, 0), .want_err = 0, .want_events = 1,
	  .want_verdict = "alert", .want_hook = "bind", .want_addr = "0.0.0.0",
	  NAME("0.0.0.0", 7000) },
	{ "confine_any", "TCP 0.0.0.0:7100 (action confine)", "bind4", G_CUSTOM,
	  BIND(V4, TCP, "0.0.0.0", 7100, 0), .want_err = 0, .want_events = 1,
	  .want_verdict = "confine", .want_hook = "bind", .want_addr = "0.0.0.0",
	  NAME("127.0.0.1", 7100) },
	{ "migrate_alert",
	  "TCP 0.0.0.0:7000 (action alert) bound 200 times, the binder moved between CPUs as in "
	  "migrate_rewrite",
	  "bind4 alerts; post_bind4 on another CPU judges in full and finds the bind marked as "
	  "reported",
	  G_CUSTOM, .run = run_migrating, .family = V4, .type = TCP, .addr = "0.0.0.0",
	  .port = 7000, .opts = BP_MIGRATE, .aux = 200, .want_err = 0, .want_events = 200,
	  .want_verdict = "alert", .want_hook = "bind", .want_addr = "0.0.0.0", .want_moved = 1 },
	{ "cidr_rebind_after_inuse",
	  "one socket: 10.1.2.3:6000 (in the CIDR list) fails with EADDRINUSE after bind4 judged "
	  "it, then 10.2.0.1:6000 (outside) on the same socket",
	  "bind4 + LPM (a stale note of the same socket never covers another address)", G_CUSTOM,
	  .run = run_rebind_inuse, .family = V4, .type = TCP, .addr = "10.2.0.1", .port = 6000,
	  .opts = BP_FREEBIND, .addr2 = "10.1.2.3", DENIED("bind", "10.2.0.1") },
	{ "eph_udp_any", "UDP 0.0.0.0:0, ephemeral range pinned to 40000", "post_bind4", G_CUSTOM,
	  BIND(V4, UDP, "0.0.0.0", 0, BP_PIN), .aux = 40000, DENIED("post_bind", "0.0.0.0"),
	  .want_proto = "udp" },
	{ "sendto_autobind_udp", "UDP sendto() without bind(), ephemeral range pinned to 40000",
	  "none (UDP autobind runs no hook)", G_CUSTOM, .run = run_sendto_autobind, .family = V4,
	  .type = UDP, .aux = 40000, QUIET, NAME("0.0.0.0", 40000), .limit = 1,
	  .why = "UDP autobind (sendto(), connect()) runs no hook at all, and UDP has no listen" },

	/* --- The agent on a sub-cgroup, a foreign program on its parent (runs after ours) ------- */
	{ "nested_v4_any", "TCP 0.0.0.0:3306 in sandbox/inner, where the agent is attached",
	  "bind4", G_NESTED, BIND(V4, TCP, "0.0.0.0", 3306, 0), DENIED("bind", "0.0.0.0") },
	{ "nested_ancestor_rewrite",
	  "a program on the parent cgroup rewrites 127.0.0.1 to 0.0.0.0; bind 127.0.0.1:3306",
	  "post_bind4 (the parent's bind4 runs after ours)", G_NESTED,
	  BIND(V4, TCP, "127.0.0.1", 3306, 0), .fg_where = FG_ANCESTOR, .fg_prog = "fg_lo_to_any4",
	  DENIED("post_bind", "0.0.0.0") },
	{ "nested_ancestor_override",
	  "a program on the parent cgroup undoes the deny at bind4 and post_bind4 "
	  "(bpf_set_retval(0)); bind 0.0.0.0:3306, listen()",
	  "bind4 and post_bind4 (both overridden); sockops sees the listen", G_NESTED,
	  BIND(V4, TCP, "0.0.0.0", 3306, BP_LISTEN), .fg_where = FG_ANCESTOR,
	  .fg_prog = "fg_override4", .fg_prog2 = "fg_override_pb4", .want_err = 0, .want_events = 2,
	  .want_verdict = "deny", .want_hook = "bind", .want_hook2 = "post_bind",
	  .want_addr = "0.0.0.0", NAME("0.0.0.0", 3306), .limit = 1,
	  .why = "ESCAPE, as foreign_after_override_both: the programs of an ancestor cgroup run after those of the agent's cgroup" },
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

static struct bp_res *results; /* shared with the workers (MAP_SHARED) */
static struct sb sb;
static char outside_cg[PATH_MAX]; /* the test's own cgroup: outside the sandbox */
static char agent_cg[PATH_MAX]; /* where the agent of the running group is attached */
static char nested_cg[PATH_MAX]; /* sandbox/inner, for G_NESTED; "" when not made */

/* What a case attached and made; inherited by the forked workers. */
static struct {
	struct bpf_object *obj;
	struct bpf_link *link[2]; /* multi-attach links, or NULL */
	int excl_cg; /* cgroup fd of an exclusive attachment, or -1 */
	int excl_prog;
	int excl_type;
	char child[PATH_MAX]; /* a child cgroup made for one case, or "" */
	struct bpf_object *probe; /* migrate.bpf.o, loaded on first use */
	struct bpf_link *probe_link[2];
	int probe_count_fd; /* its mg_count map */
} fg = { .excl_cg = -1, .probe_count_fd = -1 };

/* --- Worker helpers (run in the forked worker) --------------------------------------------- */

static void note(struct bp_res *r, const char *fmt, const char *arg)
{
	snprintf(r->msg, sizeof(r->msg), fmt, arg);
}

static int fill_addr(int family, const char *addr, int port, unsigned int opts,
		     struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;

		s->sin_family = opts & BP_UNSPEC ? AF_UNSPEC : AF_INET;
		s->sin_port = htons(port);
		*len = sizeof(*s);
		return inet_pton(AF_INET, addr, &s->sin_addr) == 1 ? 0 : -1;
	}
	{
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;

		s->sin6_family = AF_INET6;
		s->sin6_port = htons(port);
		if (opts & BP_SCOPE)
			s->sin6_scope_id = if_nametoindex("lo");
		*len = sizeof(*s);
		return inet_pton(AF_INET6, addr, &s->sin6_addr) == 1 ? 0 : -1;
	}
}

static void record_name(int fd, struct bp_res *r)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	r->name[0] = '\0';
	r->port = -1;
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &s->sin_addr, r->name, sizeof(r->name));
		r->port = ntohs(s->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &s->sin6_addr, r->name, sizeof(r->name));
		r->port = ntohs(s->sin6_port);
	}
}

static int write_file(const char *path, const char *text)
{
	int fd, ok;

	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
	close(fd);
	return ok ? 0 : -1;
}

/* Make this netns hand out exactly one ephemeral port. */
static int pin_range(int port)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%d %d\n", port, port);
	return write_file("/proc/sys/net/ipv4/ip_local_port_range", buf);
}

static unsigned long netns_ino(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) == 0 ? (unsigned long)st.st_ino : 0;
}

static int set_opts(int fd, int family, unsigned int opts)
{
	int one = 1, zero = 0, err = 0;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (family == AF_INET6 && (opts & (BP_V6ONLY | BP_DUAL)))
		err |= setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, opts & BP_V6ONLY ? &one : &zero,
				  sizeof(one));
	if (opts & BP_FREEBIND)
		err |= family == AF_INET ?
			       setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one)) :
			       setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
	if (opts & BP_TRANSPARENT)
		err |= family == AF_INET ?
			       setsockopt(fd, IPPROTO_IP, IP_TRANSPARENT, &one, sizeof(one)) :
			       setsockopt(fd, IPPROTO_IPV6, IPV6_TRANSPARENT, &one, sizeof(one));
	if (opts & BP_BINDTODEV)
		err |= setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3);
	return err ? -1 : 0;
}

/* socket() for case c; on failure records it (as a skip with BP_MAYSKIP) and returns -1. */
static int make_socket(const struct bp_case *c, struct bp_res *r)
{
	int fd = socket(c->family, c->type | SOCK_CLOEXEC, c->proto);

	if (fd < 0) {
		r->err = errno;
		if (c->opts & BP_MAYSKIP) {
			r->skip = 1;
			r->done = 1;
			snprintf(r->msg, sizeof(r->msg), "socket() fails on this kernel: %s",
				 strerror(errno));
		} else {
			note(r, "socket(): %s", strerror(errno));
		}
		return -1;
	}
	if (set_opts(fd, c->family, c->opts)) {
		note(r, "setsockopt: %s", strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int do_bind(int fd, const struct bp_case *c, const char *addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (fill_addr(c->family, addr, port, c->opts, &ss, &len))
		return EINVAL;
	return bind(fd, (struct sockaddr *)&ss, len) == 0 ? 0 : errno;
}

static int prepare_env(const struct bp_case *c, struct bp_res *r)
{
	if ((c->opts & BP_CHILDCG) && sb_join_cgroup(fg.child) != 0) {
		note(r, "cannot join the child cgroup %.100s", fg.child);
		return -1;
	}
	if ((c->opts & BP_USERNS) && unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0) {
		/* User namespaces can be switched off (user.max_user_namespaces=0): a skip. */
		r->skip = errno == EPERM || errno == ENOSPC || errno == EINVAL;
		r->done = r->skip;
		note(r, "unshare(CLONE_NEWUSER | CLONE_NEWNET): %s", strerror(errno));
		return -1;
	}
	if ((c->opts & BP_NETNS2) && unshare(CLONE_NEWNET) != 0) {
		note(r, "unshare: %s", strerror(errno));
		return -1;
	}
	if ((c->opts & BP_PIN) && pin_range(c->aux) != 0) {
		note(r, "cannot pin the ephemeral range: %s", strerror(errno));
		return -1;
	}
	if ((c->opts & BP_PING) &&
	    write_file("/proc/sys/net/ipv4/ping_group_range", "0 0\n") != 0) {
		note(r, "cannot allow ping sockets: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* The generic case: one socket, its options, one bind(), optionally listen(). */
static void run_bind(const struct bp_case *c, struct bp_res *r)
{
	unsigned long ns;
	int fd;

	if (prepare_env(c, r))
		return;
	if (c->opts & BP_NETNS2)
		snprintf(r->needle, sizeof(r->needle), "\"netns\":%lu", netns_ino());
	fd = make_socket(c, r);
	if (fd < 0)
		return;
	if (c->opts & BP_SETNS) {
		/*
		 * The socket belongs to this netns; the task moves on. For TCP the event must
		 * name the socket's netns, for IPv4 UDP the task's (documented).
		 */
		ns = netns_ino();
		if (unshare(CLONE_NEWNET) != 0) {
			note(r, "unshare: %s", strerror(errno));
			close(fd);
			return;
		}
		if (c->type == SOCK_DGRAM)
			ns = netns_ino();
		snprintf(r->needle, sizeof(r->needle), "\"netns\":%lu", ns);
	}
	r->err = do_bind(fd, c, c->addr, c->port);
	if (!r->err && (c->opts & BP_LISTEN) && listen(fd, 8) != 0)
		note(r, "listen: %s", strerror(errno));
	record_name(fd, r);
	r->done = 1;
	close(fd);
}

static void run_listen_autobind(const struct bp_case *c, struct bp_res *r)
{
	int fd;

	if (pin_range(c->aux) != 0) {
		note(r, "cannot pin the ephemeral range: %s", strerror(errno));
		return;
	}
	fd = make_socket(c, r);
	if (fd < 0)
		return;
	r->err = listen(fd, 8) == 0 ? 0 : errno;
	record_name(fd, r);
	r->done = 1;
	close(fd);
}

static void run_sendto_autobind(const struct bp_case *c, struct bp_res *r)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	if (pin_range(c->aux) != 0) {
		note(r, "cannot pin the ephemeral range: %s", strerror(errno));
		return;
	}
	fd = make_socket(c, r);
	if (fd < 0)
		return;
	fill_addr(c->family, c->family == AF_INET ? "127.0.0.1" : "::1", 9, 0, &ss, &len);
	r->err = sendto(fd, "x", 1, 0, (struct sockaddr *)&ss, len) == 1 ? 0 : errno;
	record_name(fd, r);
	r->done = 1;
	close(fd);
}

/* A first socket on addr2 (SO_REUSEPORT, listening), then the judged one on addr. */
static void run_reuseport(const struct bp_case *c, struct bp_res *r)
{
	int one = 1, a, b, err;

	a = make_socket(c, r);
	if (a < 0)
		return;
	setsockopt(a, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	err = do_bind(a, c, c->addr2, c->port);
	if (err || listen(a, 8) != 0) {
		note(r, "first socket: %s", strerror(err ? err : errno));
		close(a);
		return;
	}
	b = make_socket(c, r);
	if (b < 0) {
		close(a);
		return;
	}
	setsockopt(b, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	r->err = do_bind(b, c, c->addr, c->port);
	if (!r->err && listen(b, 8) != 0)
		note(r, "listen: %s", strerror(errno));
	record_name(b, r);
	r->done = 1;
	close(b);
	close(a);
}

/* One socket bound twice: addr2 first, then addr (the kernel alone would say EINVAL). */
static void run_rebind(const struct bp_case *c, struct bp_res *r)
{
	int fd, err;

	fd = make_socket(c, r);
	if (fd < 0)
		return;
	err = do_bind(fd, c, c->addr2, c->port);
	if (err) {
		note(r, "first bind: %s", strerror(err));
		close(fd);
		return;
	}
	r->err = do_bind(fd, c, c->addr, c->port);
	record_name(fd, r);
	r->done = 1;
	close(fd);
}

/* bind() the address a client would use, then connect() to a local listener anyway. */
static void run_connect_after(const struct bp_case *c, struct bp_res *r)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int l, fd;

	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	fill_addr(AF_INET, "127.0.0.1", 8080, 0, &ss, &len);
	if (l < 0 || bind(l, (struct sockaddr *)&ss, len) != 0 || listen(l, 8) != 0) {
		note(r, "listener on 127.0.0.1:8080: %s", strerror(errno));
		return;
	}
	fd = make_socket(c, r);
	if (fd < 0) {
		close(l);
		return;
	}
	r->err = do_bind(fd, c, c->addr, c->port);
	if (connect(fd, (struct sockaddr *)&ss, len) != 0)
		note(r, "connect after the failed bind: %s", strerror(errno));
	else
		note(r, "connect after the failed bind succeeded (ephemeral port)%s", "");
	r->done = 1;
	close(fd);
	close(l);
}

/* IP_BIND_ADDRESS_NO_PORT: bind() keeps port 0, connect() picks the (pinned) port. */
static void run_no_port(const struct bp_case *c, struct bp_res *r)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1, l, fd;

	if (pin_range(c->aux) != 0) {
		note(r, "cannot pin the ephemeral range: %s", strerror(errno));
		return;
	}
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	fill_addr(AF_INET, "127.0.0.1", 8080, 0, &ss, &len);
	if (l < 0 || bind(l, (struct sockaddr *)&ss, len) != 0 || listen(l, 8) != 0) {
		note(r, "listener on 127.0.0.1:8080: %s", strerror(errno));
		return;
	}
	fd = make_socket(c, r);
	if (fd < 0) {
		close(l);
		return;
	}
	setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
	r->err = do_bind(fd, c, c->addr, 0);
	if (!r->err && (c->opts & BP_LISTEN) && listen(fd, 8) != 0)
		r->err = errno;
	else if (!r->err && !(c->opts & BP_LISTEN) && connect(fd, (struct sockaddr *)&ss, len) != 0)
		r->err = errno;
	record_name(fd, r);
	r->done = 1;
	close(fd);
	close(l);
}

/*
 * A foreign connect4 program bpf_bind()s the socket to 0.0.0.0:3306 (no bind hook runs for
 * that); the connect to 127.0.0.1:9 is refused, which leaves the socket closed but bound, and
 * listen() turns it into a listener.
 */
static void run_connect_bpf_bind(const struct bp_case *c, struct bp_res *r)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, err;

	fd = make_socket(c, r);
	if (fd < 0)
		return;
	fill_addr(AF_INET, "127.0.0.1", 9, 0, &ss, &len);
	err = connect(fd, (struct sockaddr *)&ss, len) == 0 ? 0 : errno;
	if (err != ECONNREFUSED)
		snprintf(r->msg, sizeof(r->msg), "connect: %s, want ECONNREFUSED", strerror(err));
	r->err = listen(fd, 8) == 0 ? 0 : errno;
	record_name(fd, r);
	r->done = 1;
	close(fd);
}

static int send_fd(int sock, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))], b = 'f';
	struct iovec iov = { &b, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	memset(cbuf, 0, sizeof(cbuf));
	m.msg_control = cbuf;
	m.msg_controllen = sizeof(cbuf);
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &m, 0) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char cbuf[CMSG_SPACE(sizeof(int))], b;
	struct iovec iov = { &b, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;
	int fd;

	m.msg_control = cbuf;
	m.msg_controllen = sizeof(cbuf);
	if (recvmsg(sock, &m, 0) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&m);
	if (!cm || cm->cmsg_type != SCM_RIGHTS)
		return -1;
	memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

static unsigned long cgroup_id_of(const char *dir)
{
	struct stat st;

	return stat(dir, &st) == 0 ? (unsigned long)st.st_ino : 0;
}

/*
 * SCM_RIGHTS: the maker creates the socket in its cgroup and passes it to the binder, which is
 * in the other one. IN_TO_OUT: maker in the sandbox, binder outside; OUT_TO_IN: the reverse.
 */
static void run_scm(const struct bp_case *c, struct bp_res *r)
{
	const char *maker_cg = c->opts & BP_IN_TO_OUT ? agent_cg : outside_cg;
	const char *binder_cg = c->opts & BP_IN_TO_OUT ? outside_cg : agent_cg;
	int sp[2], fd, st;
	char ok;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) != 0) {
		note(r, "socketpair: %s", strerror(errno));
		return;
	}
	pid = fork();
	if (pid < 0) {
		note(r, "fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		/* The binder. */
		close(sp[0]);
		ok = sb_join_cgroup(binder_cg) == 0 ? '1' : '0';
		if (write(sp[1], &ok, 1) != 1 || ok != '1')
			_exit(1);
		fd = recv_fd(sp[1]);
		if (fd < 0)
			_exit(2);
		r->err = do_bind(fd, c, c->addr, c->port);
		record_name(fd, r);
		snprintf(r->needle, sizeof(r->needle), "\"cgroup_id\":%lu",
			 cgroup_id_of(binder_cg));
		r->done = 1;
		_exit(0);
	}
	close(sp[1]);
	if (read(sp[0], &ok, 1) != 1 || ok != '1' || sb_join_cgroup(maker_cg) != 0) {
		note(r, "cannot place the two processes in their cgroups%s", "");
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return;
	}
	fd = make_socket(c, r);
	if (fd < 0 || send_fd(sp[0], fd) != 0)
		note(r, "cannot pass the socket: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	close(sp[0]);
	waitpid(pid, &st, 0);
}

/* One process, two cgroups: make the socket in one, move, bind in the other. */
static void run_migrate(const struct bp_case *c, struct bp_res *r)
{
	const char *make_cg = c->opts & BP_IN_TO_OUT ? agent_cg : outside_cg;
	const char *bind_cg = c->opts & BP_IN_TO_OUT ? outside_cg : agent_cg;
	int fd;

	if (sb_join_cgroup(make_cg) != 0) {
		note(r, "cannot join %.100s", make_cg);
		return;
	}
	fd = make_socket(c, r);
	if (fd < 0)
		return;
	if (sb_join_cgroup(bind_cg) != 0) {
		note(r, "cannot join %.100s", bind_cg);
		close(fd);
		return;
	}
	r->err = do_bind(fd, c, c->addr, c->port);
	record_name(fd, r);
	snprintf(r->needle, sizeof(r->needle), "\"cgroup_id\":%lu", cgroup_id_of(bind_cg));
	r->done = 1;
	close(fd);
}

/*
 * One socket, bound twice: addr2 first, while a listener of the worker holds that address and
 * port (EADDRINUSE, after bind4 judged the bind and left its note), then addr.
 */
static void run_rebind_inuse(const struct bp_case *c, struct bp_res *r)
{
	int holder, fd, err;

	holder = make_socket(c, r);
	if (holder < 0)
		return;
	err = do_bind(holder, c, c->addr2, c->port);
	if (err || listen(holder, 8) != 0) {
		note(r, "the holder: %s", strerror(err ? err : errno));
		close(holder);
		return;
	}
	fd = make_socket(c, r);
	if (fd < 0) {
		close(holder);
		return;
	}
	err = do_bind(fd, c, c->addr2, c->port);
	if (err != EADDRINUSE) {
		snprintf(r->msg, sizeof(r->msg), "first bind: %s, want EADDRINUSE", strerror(err));
		close(fd);
		close(holder);
		return;
	}
	r->err = do_bind(fd, c, c->addr, c->port);
	record_name(fd, r);
	r->done = 1;
	close(fd);
	close(holder);
}

/*
 * Migration between bind4 and post_bind4. Under a kernel without preemption a task changes CPU
 * only where it sleeps; between the two hooks, that is lock_sock() in __inet_bind(). So while
 * the binder binds, a second thread takes the socket's lock over and over (setsockopt) and a
 * third moves the binder from CPU to CPU (sched_setaffinity): a binder that sleeps on the lock
 * wakes on the other CPU. The probe (migrate.bpf.c) counts the binds that did.
 */
struct mig {
	volatile int fd; /* the binder's socket now, or -1 */
	volatile int stop;
	pid_t binder;
	int cpu[2]; /* the two CPUs it moves the binder between */
};

/*
 * Attaching a socket filter converts it under the socket's lock: a long classic BPF program
 * holds the lock for tens of microseconds, long enough for the binder to sleep on it.
 */
#define MIG_FILTER_LEN 1000

static void *mig_locker(void *arg)
{
	static struct sock_filter insns[MIG_FILTER_LEN];
	struct sock_fprog prog = { .len = MIG_FILTER_LEN, .filter = insns };
	struct mig *m = arg;
	int i, fd;

	for (i = 0; i < MIG_FILTER_LEN - 1; i++)
		insns[i] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_IMM, 0);
	insns[MIG_FILTER_LEN - 1] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0xffffffff);
	while (!m->stop) {
		fd = m->fd;
		if (fd >= 0)
			setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
	}
	return NULL;
}

static void *mig_mover(void *arg)
{
	struct mig *m = arg;
	cpu_set_t set;
	int i = 0;

	while (!m->stop) {
		CPU_ZERO(&set);
		CPU_SET(m->cpu[i], &set);
		sched_setaffinity(m->binder, sizeof(set), &set);
		i = !i;
	}
	return NULL;
}

static void run_migrating(const struct bp_case *c, struct bp_res *r)
{
	struct mig m = { .fd = -1 };
	__u64 before[2] = { 0, 0 }, after[2] = { 0, 0 };
	pthread_t locker, mover;
	cpu_set_t set;
	__u32 k;
	int i, fd, err, first = -1, mixed = 0;

	if (sched_getaffinity(0, sizeof(set), &set) != 0 || CPU_COUNT(&set) < 2) {
		r->skip = 1;
		r->done = 1;
		note(r, "needs two CPUs to migrate between%s", "");
		return;
	}
	for (i = 0, k = 0; i < CPU_SETSIZE && k < 2; i++)
		if (CPU_ISSET(i, &set))
			m.cpu[k++] = i;
	m.binder = (pid_t)syscall(SYS_gettid);
	for (k = 0; k < 2; k++)
		bpf_map_lookup_elem(fg.probe_count_fd, &k, &before[k]);
	if (pthread_create(&locker, NULL, mig_locker, &m) ||
	    pthread_create(&mover, NULL, mig_mover, &m)) {
		note(r, "pthread_create: %s", strerror(errno));
		m.stop = 1;
		return;
	}
	for (i = 0; i < c->aux; i++) {
		fd = make_socket(c, r);
		if (fd < 0)
			break;
		m.fd = fd;
		err = do_bind(fd, c, c->addr, c->port);
		m.fd = -1;
		close(fd);
		if (first < 0)
			first = err;
		else if (err != first)
			mixed++;
	}
	m.stop = 1;
	pthread_join(locker, NULL);
	pthread_join(mover, NULL);
	for (k = 0; k < 2; k++)
		bpf_map_lookup_elem(fg.probe_count_fd, &k, &after[k]);
	r->seen = (long)(after[0] - before[0]);
	r->moved = (long)(after[1] - before[1]);
	r->err = mixed ? -1 : first;
	snprintf(r->msg, sizeof(r->msg),
		 "%d binds, %d with another outcome than the first; post_bind4 on another CPU "
		 "than bind4: %ld of %ld",
		 i, mixed, r->moved, r->seen);
	r->done = i == c->aux;
}

/* --- io_uring without liburing: one submission at a time ----------------------------------- */

struct ring {
	int fd;
	int sqpoll;
	unsigned int *sq_tail, *sq_mask, *sq_array, *cq_head, *cq_tail, *cq_mask;
	struct io_uring_sqe *sqes;
	struct io_uring_cqe *cqes;
};

static int ring_open(struct ring *q, unsigned int opts)
{
	struct io_uring_params p;
	size_t sq_len, cq_len;
	void *sq, *cq;

	memset(&p, 0, sizeof(p));
	q->sqpoll = !!(opts & BP_SQPOLL);
	if (q->sqpoll) {
		p.flags = IORING_SETUP_SQPOLL;
		p.sq_thread_idle = 1000;
	}
	q->fd = syscall(__NR_io_uring_setup, 4, &p);
	if (q->fd < 0)
		return -errno;
	sq_len = p.sq_off.array + p.sq_entries * sizeof(__u32);
	cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (p.features & IORING_FEAT_SINGLE_MMAP)
		sq_len = cq_len = sq_len > cq_len ? sq_len : cq_len;
	sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, q->fd,
		  IORING_OFF_SQ_RING);
	if (sq == MAP_FAILED)
		return -errno;
	cq = sq;
	if (!(p.features & IORING_FEAT_SINGLE_MMAP)) {
		cq = mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, q->fd,
			  IORING_OFF_CQ_RING);
		if (cq == MAP_FAILED)
			return -errno;
	}
	q->sqes = mmap(NULL, p.sq_entries * sizeof(struct io_uring_sqe), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, q->fd, IORING_OFF_SQES);
	if (q->sqes == MAP_FAILED)
		return -errno;
	q->sq_tail = (unsigned int *)((char *)sq + p.sq_off.tail);
	q->sq_mask = (unsigned int *)((char *)sq + p.sq_off.ring_mask);
	q->sq_array = (unsigned int *)((char *)sq + p.sq_off.array);
	q->cq_head = (unsigned int *)((char *)cq + p.cq_off.head);
	q->cq_tail = (unsigned int *)((char *)cq + p.cq_off.tail);
	q->cq_mask = (unsigned int *)((char *)cq + p.cq_off.ring_mask);
	q->cqes = (struct io_uring_cqe *)((char *)cq + p.cq_off.cqes);
	return 0;
}

/* Submit one sqe and wait for its completion; returns cqe->res, or -errno of the syscalls. */
static int ring_do(struct ring *q, const struct io_uring_sqe *sqe)
{
	unsigned int tail = *q->sq_tail, idx = tail & *q->sq_mask, head;
	int res;

	q->sqes[idx] = *sqe;
	q->sq_array[idx] = idx;
	__atomic_store_n(q->sq_tail, tail + 1, __ATOMIC_RELEASE);
	/* With SQPOLL the kernel thread submits; waking it is harmless if it is awake. */
	if (syscall(__NR_io_uring_enter, q->fd, 1, 1,
		    IORING_ENTER_GETEVENTS | (q->sqpoll ? IORING_ENTER_SQ_WAKEUP : 0), NULL, 0) < 0)
		return -errno;
	head = *q->cq_head;
	if (head == __atomic_load_n(q->cq_tail, __ATOMIC_ACQUIRE))
		return -EAGAIN;
	res = q->cqes[head & *q->cq_mask].res;
	__atomic_store_n(q->cq_head, head + 1, __ATOMIC_RELEASE);
	return res;
}

/* Record an io_uring result; an opcode this kernel does not know is a skip. */
static int uring_result(struct bp_res *r, const char *op, int res)
{
	if (res == -EINVAL || res == -EOPNOTSUPP) {
		r->skip = 1;
		r->done = 1;
		r->err = -res;
		snprintf(r->msg, sizeof(r->msg), "%s: %s (opcode not supported here)", op,
			 strerror(-res));
		return -1;
	}
	return 0;
}

static int uring_bind(struct ring *q, int fd, const struct bp_case *c)
{
	struct sockaddr_storage ss;
	struct io_uring_sqe sqe;
	socklen_t len;

	fill_addr(c->family, c->addr, c->port, c->opts, &ss, &len);
	memset(&sqe, 0, sizeof(sqe));
	if (c->opts & BP_ASYNC)
		sqe.flags = IOSQE_ASYNC;
	sqe.opcode = BP_IORING_OP_BIND;
	sqe.fd = fd;
	sqe.addr = (unsigned long)&ss;
	sqe.addr2 = len;
	return ring_do(q, &sqe);
}

static int uring_listen(struct ring *q, int fd)
{
	struct io_uring_sqe sqe;

	memset(&sqe, 0, sizeof(sqe));
	sqe.opcode = BP_IORING_OP_LISTEN;
	sqe.fd = fd;
	sqe.len = 8;
	return ring_do(q, &sqe);
}

static int uring_open_or_skip(struct ring *q, const struct bp_case *c, struct bp_res *r)
{
	int err = ring_open(q, c->opts);

	if (err) {
		r->skip = 1;
		r->done = 1;
		r->err = -err;
		snprintf(r->msg, sizeof(r->msg), "io_uring_setup: %s", strerror(-err));
	}
	return err;
}

static void run_uring_bind(const struct bp_case *c, struct bp_res *r)
{
	struct ring q;
	int fd, res;

	if (uring_open_or_skip(&q, c, r))
		return;
	fd = make_socket(c, r);
	if (fd < 0)
		return;
	res = uring_bind(&q, fd, c);
	if (uring_result(r, "IORING_OP_BIND", res))
		return;
	r->err = res < 0 ? -res : 0;
	if (!r->err && (c->opts & BP_LISTEN)) {
		res = uring_listen(&q, fd);
		if (uring_result(r, "IORING_OP_LISTEN", res))
			return;
		if (res < 0)
			note(r, "IORING_OP_LISTEN: %s", strerror(-res));
	}
	record_name(fd, r);
	r->done = 1;
	close(fd);
}

static void run_uring_socket_bind(const struct bp_case *c, struct bp_res *r)
{
	struct io_uring_sqe sqe;
	struct ring q;
	int fd, res;

	if (uring_open_or_skip(&q, c, r))
		return;
	memset(&sqe, 0, sizeof(sqe));
	if (c->opts & BP_ASYNC)
		sqe.flags = IOSQE_ASYNC;
	sqe.opcode = BP_IORING_OP_SOCKET;
	sqe.fd = c->family;
	sqe.off = c->type;
	sqe.len = c->proto;
	fd = ring_do(&q, &sqe);
	if (uring_result(r, "IORING_OP_SOCKET", fd))
		return;
	if (fd < 0) {
		note(r, "IORING_OP_SOCKET: %s", strerror(-fd));
		return;
	}
	set_opts(fd, c->family, c->opts);
	res = uring_bind(&q, fd, c);
	if (uring_result(r, "IORING_OP_BIND", res))
		return;
	r->err = res < 0 ? -res : 0;
	record_name(fd, r);
	r->done = 1;
	close(fd);
}

static void run_uring_listen(const struct bp_case *c, struct bp_res *r)
{
	struct ring q;
	int fd, res;

	if (uring_open_or_skip(&q, c, r))
		return;
	if (pin_range(c->aux) != 0) {
		note(r, "cannot pin the ephemeral range: %s", strerror(errno));
		return;
	}
	fd = make_socket(c, r);
	if (fd < 0)
		return;
	res = uring_listen(&q, fd);
	if (uring_result(r, "IORING_OP_LISTEN", res))
		return;
	r->err = res < 0 ? -res : 0;
	record_name(fd, r);
	r->done = 1;
	close(fd);
}

/* --- Foreign programs (attached by the test process) --------------------------------------- */

/* Detach and remove what the current case attached and made. Safe to call at any time. */
static void fg_release(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 2; i++) {
		bpf_link__destroy(fg.link[i]);
		fg.link[i] = NULL;
		bpf_link__destroy(fg.probe_link[i]);
		fg.probe_link[i] = NULL;
	}
	if (fg.excl_cg >= 0) {
		if (bpf_prog_detach2(fg.excl_prog, fg.excl_cg, fg.excl_type))
			fprintf(stderr, "bypass: detach of the foreign program: %s\n",
				strerror(errno));
		close(fg.excl_cg);
		fg.excl_cg = -1;
	}
	if (fg.child[0]) {
		if (sb_rmdir_cgroup(fg.child))
			fprintf(stderr, "bypass: cannot remove %s\n", fg.child);
		fg.child[0] = '\0';
	}
}

static void fg_close(void *arg)
{
	fg_release(arg);
	bpf_object__close(fg.obj);
	fg.obj = NULL;
	bpf_object__close(fg.probe);
	fg.probe = NULL;
	fg.probe_count_fd = -1;
}

static void nested_remove(void *arg)
{
	(void)arg;
	if (nested_cg[0] && sb_rmdir_cgroup(nested_cg))
		fprintf(stderr, "bypass: cannot remove %s\n", nested_cg);
	nested_cg[0] = '\0';
}

static char fg_missing[160]; /* why some foreign programs did not load on this kernel */

static int fg_load(void)
{
	if (fg.obj)
		return 0;
	fg.obj = sb_foreign_open(&sb, fg_missing, sizeof(fg_missing));
	return fg.obj ? 0 : -1;
}

/* Load migrate.bpf.o once and attach its two programs beside the agent's. 0 or -1. */
static int probe_setup(void)
{
	static const char *const progs[] = { "mg_bind4", "mg_post4" };
	struct bpf_program *prog;
	char path[PATH_MAX];
	int cg, i;

	if (!fg.probe) {
		if (!sb_bpf_object(&sb, "migrate.bpf.o", path, sizeof(path))) {
			fprintf(stderr,
				"bypass: migrate.bpf.o not found (make integration-bins)\n");
			return -1;
		}
		fg.probe = bpf_object__open_file(path, NULL);
		if (!fg.probe || bpf_object__load(fg.probe)) {
			fprintf(stderr, "bypass: cannot load %s: %s\n", path, strerror(errno));
			bpf_object__close(fg.probe);
			fg.probe = NULL;
			return -1;
		}
		fg.probe_count_fd = bpf_object__find_map_fd_by_name(fg.probe, "mg_count");
	}
	cg = open(agent_cg, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg < 0) {
		fprintf(stderr, "bypass: open %s: %s\n", agent_cg, strerror(errno));
		return -1;
	}
	for (i = 0; i < 2; i++) {
		prog = bpf_object__find_program_by_name(fg.probe, progs[i]);
		fg.probe_link[i] = prog ? bpf_program__attach_cgroup(prog, cg) : NULL;
		if (!fg.probe_link[i]) {
			fprintf(stderr, "bypass: attach %s: %s\n", progs[i], strerror(errno));
			close(cg);
			return -1;
		}
	}
	close(cg);
	return 0;
}

/*
 * Attach c's foreign programs where c says. 0; 1 when the kernel cannot load one of them (the
 * escape the case tries does not exist on this kernel; fg_missing says why); -1 with the reason
 * printed.
 */
static int fg_setup(const struct bp_case *c)
{
	const char *progs[2] = { c->fg_prog, c->fg_prog2 };
	struct bpf_program *prog;
	const char *target = agent_cg;
	int cg, i;

	if ((c->opts & BP_MIGRATE) && probe_setup())
		return -1;
	if (c->fg_where == FG_NONE)
		return 0;
	if (c->fg_where == FG_ANCESTOR)
		target = sb.cg_dir; /* the agent is on sandbox/inner */
	if (c->fg_where == FG_CHILD_MULTI || c->fg_where == FG_CHILD_EXCL ||
	    c->fg_where == FG_CHILD_ONLY) {
		if (snprintf(fg.child, sizeof(fg.child), "%s/child", agent_cg) >=
			    (int)sizeof(fg.child) ||
		    mkdir(fg.child, 0755) != 0) {
			fprintf(stderr, "bypass: mkdir %s: %s\n", fg.child, strerror(errno));
			fg.child[0] = '\0';
			return -1;
		}
		target = fg.child;
	}
	if (c->fg_where == FG_CHILD_ONLY)
		return 0;
	if (fg_load())
		return -1;
	cg = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg < 0) {
		fprintf(stderr, "bypass: open %s: %s\n", target, strerror(errno));
		return -1;
	}
	for (i = 0; i < 2 && progs[i]; i++) {
		prog = bpf_object__find_program_by_name(fg.obj, progs[i]);
		if (prog && bpf_program__fd(prog) < 0 && fg_missing[0]) {
			close(cg);
			return 1;
		}
		if (!prog) {
			fprintf(stderr, "bypass: no program %s\n", progs[i]);
			break;
		}
		if (c->fg_where == FG_CHILD_EXCL) {
			/* flags 0: exclusive, which only bpf_prog_attach() does (links are multi). */
			fg.excl_prog = bpf_program__fd(prog);
			fg.excl_type = bpf_program__expected_attach_type(prog);
			if (bpf_prog_attach(fg.excl_prog, cg, fg.excl_type, 0)) {
				fprintf(stderr, "bypass: exclusive attach: %s\n", strerror(errno));
				break;
			}
			fg.excl_cg = cg;
			return 0;
		}
		fg.link[i] = bpf_program__attach_cgroup(prog, cg);
		if (!fg.link[i]) {
			fprintf(stderr, "bypass: attach %s: %s\n", progs[i], strerror(errno));
			break;
		}
	}
	close(cg);
	return i < 2 && progs[i] ? -1 : 0;
}

/* --- Running a group ----------------------------------------------------------------------- */

/* Workers start in the sandbox cgroup (sb_child); in G_NESTED they go on to sandbox/inner. */
static int join_agent_cg(void)
{
	return strcmp(agent_cg, sb.cg_dir) == 0 ? 0 : sb_join_cgroup(agent_cg);
}

static int worker(void *arg)
{
	const struct bp_case *c = arg;

	if (join_agent_cg())
		return 3;
	c->run(c, &results[c - cases]);
	return 0;
}

static int marker(void *arg)
{
	struct bp_res r;
	static const struct bp_case m = { .family = AF_INET, .type = SOCK_STREAM };
	int fd;

	(void)arg;
	if (join_agent_cg())
		return 3;
	memset(&r, 0, sizeof(r));
	fd = make_socket(&m, &r);
	if (fd < 0)
		return 2;
	r.err = do_bind(fd, &m, "127.0.0.1", MARKER_PORT);
	close(fd);
	return r.err == EPERM ? 0 : 1;
}

static const char *verdict_needle(const char *v, char *buf, size_t len)
{
	snprintf(buf, len, "\"verdict\":\"%s\"", v);
	return buf;
}

static const char *str_needle(const char *key, const char *v, char *buf, size_t len)
{
	snprintf(buf, len, "\"%s\":\"%s\"", key, v);
	return buf;
}

/* The event lines of case k of a group: between marker k-1 and marker k. */
static char *segment(const char *out, int k)
{
	const char *line = out, *start = NULL, *nl;
	const char *mk[] = { "\"event\":\"bind\"", "\"port\":4190", NULL };
	int seen = 0;

	while (line && *line) {
		nl = strchr(line, '\n');
		if (seen == k && !start)
			start = line;
		{
			size_t len = nl ? (size_t)(nl - line + 1) : strlen(line);
			char *one = strndup(line, len);
			int is_marker = one && sb_count_lines(one, mk) == 1;

			free(one);
			if (is_marker) {
				if (seen == k)
					return strndup(start, line - start);
				seen++;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	return NULL;
}

static void check_case(const struct bp_case *c, const struct bp_res *r, const char *seg)
{
	const char *any[] = { "\"event\":\"bind\"", NULL };
	const char *lis[] = { "\"event\":\"listen\"", NULL };
	char vb[64], hb[64], ab[96], pb[64];
	const char *want[8];
	int n = 0, nbind, nlisten, ok, before = sb_failures;

	nbind = seg ? sb_count_lines(seg, any) : -1;
	nlisten = seg ? sb_count_lines(seg, lis) : -1;
	if (r->skip) {
		printf("  %-28s SKIP  %s\n", c->name, r->msg);
		SB_CHECK(c->opts & (BP_MAYSKIP | BP_USERNS) || r->kernel_skip ||
				 c->run == run_uring_bind || c->run == run_uring_socket_bind ||
				 c->run == run_uring_listen,
			 "%s: skipped but may not be: %s", c->name, r->msg);
		SB_CHECK(nbind == 0, "%s: skipped, yet %d bind events", c->name, nbind);
		return;
	}
	SB_CHECK(r->done, "%s: the worker did not finish: %s", c->name, r->msg);
	SB_CHECK(r->err == c->want_err, "%s: errno %d (%s), want %d (%s)", c->name, r->err,
		 strerror(r->err), c->want_err, strerror(c->want_err));
	if (c->want_name)
		SB_CHECK(strcmp(r->name, c->want_name) == 0 && r->port == c->want_port,
			 "%s: getsockname %s:%d, want %s:%d", c->name, r->name, r->port,
			 c->want_name, c->want_port);
	SB_CHECK(seg != NULL, "%s: no marker after the case in the agent's output", c->name);
	SB_CHECK(nbind == c->want_events, "%s: %d bind events, want %d", c->name, nbind,
		 c->want_events);
	/*
	 * The outcomes are checked either way; whether the migration path was exercised depends
	 * on the kernel: a task moves between the hooks only where it can be rescheduled there,
	 * which a kernel without voluntary preemption (preempt=none) almost never does.
	 */
	if (c->want_moved && r->moved == 0)
		printf("  %-28s note: no bind moved CPU between bind4 and post_bind4 here (%ld seen): "
		       "the outcomes hold, the migration path was not exercised on this kernel\n",
		       c->name, r->seen);
	if (c->want_events > 0 && seg) {
		const char *hooks[2] = { c->want_hook, c->want_hook2 };
		int h, per_hook = c->want_hook2 ? 1 : c->want_events;

		for (h = 0; h < 2 && hooks[h]; h++) {
			n = 0;
			want[n++] = "\"event\":\"bind\"";
			want[n++] = verdict_needle(c->want_verdict, vb, sizeof(vb));
			want[n++] = str_needle("hook", hooks[h], hb, sizeof(hb));
			if (c->want_addr)
				want[n++] = str_needle("addr", c->want_addr, ab, sizeof(ab));
			if (c->want_proto)
				want[n++] = str_needle("proto", c->want_proto, pb, sizeof(pb));
			if (r->needle[0])
				want[n++] = r->needle;
			want[n] = NULL;
			ok = sb_count_lines(seg, want);
			SB_CHECK(ok == per_hook,
				 "%s: %d events match verdict %s, hook %s, addr %s, proto %s%s%s; "
				 "want %d: %s",
				 c->name, ok, c->want_verdict, hooks[h],
				 c->want_addr ? c->want_addr : "-",
				 c->want_proto ? c->want_proto : "-", r->needle[0] ? ", " : "",
				 r->needle, per_hook, seg);
		}
	}
	snprintf(ab, sizeof(ab), "%s:%d", r->name[0] ? r->name : "-", r->port);
	printf("  %-28s %-4s errno %-24s name %-22s bind events %d, listen events %d%s%s%s\n",
	       c->name, sb_failures == before ? "ok" : "FAIL", r->err ? strerror(r->err) : "0", ab,
	       nbind, nlisten, c->limit ? "  [known limit]" : "", r->msg[0] ? "  -- " : "", r->msg);
}

static void run_group(int group)
{
	static const char *const names[] = {
		"built-in iRedMail policy",
		"small test policy",
		"built-in policy, agent on sandbox/inner, foreign programs on sandbox",
	};
	/* Every event is counted here: no flood control (the markers alone make hundreds). */
	const char *args[5] = { "--rate-limit", "0", NULL };
	int idx[NCASES], n = 0, k, st;
	size_t i;
	char *out, *seg;

	printf("--- %s\n", names[group]);
	snprintf(agent_cg, sizeof(agent_cg), "%s", sb.cg_dir);
	if (group == G_CUSTOM) {
		args[2] = "--policy";
		args[3] = sb_write_tmp(&sb, "bypass.yaml", custom_policy);
	}
	if (group == G_NESTED) {
		if (snprintf(nested_cg, sizeof(nested_cg), "%s/inner", sb.cg_dir) >=
			    (int)sizeof(nested_cg) ||
		    mkdir(nested_cg, 0755) != 0) {
			SB_CHECK(0, "mkdir %s: %s", nested_cg, strerror(errno));
			nested_cg[0] = '\0';
			return;
		}
		snprintf(agent_cg, sizeof(agent_cg), "%s", nested_cg);
	}
	if (sb_agent_start_cg(&sb, agent_cg, args) != 0) {
		SB_CHECK(0, "agent start (%s)", names[group]);
		goto out_nested;
	}
	for (i = 0; i < NCASES; i++) {
		if (cases[i].group != group)
			continue;
		idx[n++] = (int)i;
		memset(&results[i], 0, sizeof(results[i]));
		results[i].port = -1;
		st = fg_setup(&cases[i]);
		if (st == 0) {
			st = sb_child(&sb, 1, 1, worker, (void *)&cases[i]);
			SB_CHECK(st == 0, "%s: worker exit %d", cases[i].name, st);
		} else if (st == 1) {
			results[i].skip = 1;
			results[i].kernel_skip = 1;
			snprintf(results[i].msg, sizeof(results[i].msg), "%s", fg_missing);
		} else {
			SB_CHECK(0, "%s: cannot set up the foreign program", cases[i].name);
		}
		fg_release(NULL);
		st = sb_child(&sb, 1, 1, marker, NULL);
		SB_CHECK(st == 0, "%s: marker bind not denied (exit %d)", cases[i].name, st);
	}
	st = sb_agent_stop(&sb);
	SB_CHECK(st == 0, "agent exit status %d after SIGTERM", st);
	SB_CHECK(sb_attached_all(agent_cg) == 0, "nothing attached after the agent stopped");
	SB_CHECK(sb_attached_all(sb.cg_dir) == 0, "nothing left on the sandbox cgroup");
	out = sb_slurp(sb.out_path);
	SB_CHECK(out != NULL, "agent output readable");
	for (k = 0; out && k < n; k++) {
		seg = segment(out, k);
		check_case(&cases[idx[k]], &results[idx[k]], seg);
		free(seg);
	}
	free(out);
out_nested:
	nested_remove(NULL);
}

/* --- docs/coverage.md rows ----------------------------------------------------------------- */

static void print_markdown(void)
{
	const struct bp_case *c;
	size_t i;

	printf("| case | what it tries | expected | hook that sees it |\n");
	printf("|---|---|---|---|\n");
	for (i = 0; i < NCASES; i++) {
		c = &cases[i];
		printf("| `%s` | %s | %s", c->name, c->what,
		       c->want_err == EPERM ? "EPERM" : "bound");
		if (c->want_name)
			printf(" to %s%s%s:%d", c->family == AF_INET6 ? "[" : "", c->want_name,
			       c->family == AF_INET6 ? "]" : "", c->want_port);
		if (c->want_hook2)
			printf("; %d `%s` events (hooks `%s`, `%s`)", c->want_events,
			       c->want_verdict, c->want_hook, c->want_hook2);
		else if (c->want_events)
			printf("; %d `%s` event (hook `%s`)", c->want_events, c->want_verdict,
			       c->want_hook);
		else
			printf("; no bind event");
		if (c->opts & BP_MAYSKIP)
			printf(" (skipped where socket() fails)");
		if (c->limit)
			printf("; **%s**", strncmp(c->why, "ESCAPE", 6) ? "known limit" : "escape");
		printf(" | %s |\n", c->hook);
	}
	printf("\n| known limit | why |\n|---|---|\n");
	for (i = 0; i < NCASES; i++)
		if (cases[i].limit)
			printf("| `%s` | %s |\n", cases[i].name, cases[i].why);
}

int main(int argc, char **argv)
{
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc > 1 && strcmp(argv[1], "--markdown") == 0) {
		print_markdown();
		return 0;
	}
	rc = sb_setup(&sb, "bypass");
	if (rc)
		return rc;
	if (sb_self_cgroup(&sb, outside_cg, sizeof(outside_cg)) != 0 ||
	    access(outside_cg, W_OK) != 0) {
		fprintf(stderr, "bypass: cannot find the test's own cgroup\n");
		sb_teardown(&sb);
		return 1;
	}
	results = mmap(NULL, sizeof(*results) * NCASES, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (results == MAP_FAILED) {
		perror("mmap");
		sb_teardown(&sb);
		return 1;
	}
	/* Run in reverse: foreign programs and sandbox/.../child first, then sandbox/inner. */
	sb_on_teardown(nested_remove, NULL);
	sb_on_teardown(fg_close, NULL);
	printf("%zu cases\n", NCASES);
	for (rc = 0; rc < NR_GROUPS; rc++)
		run_group(rc);
	sb_teardown(&sb);
	return sb_report("itest_bypass");
}
