// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * itest_service.c - the agent as a service sees it: the Prometheus /metrics and /healthz of
 * `run --metrics`, the journal output read back from a real systemd-journald, the syslog output
 * received on a real /dev/log socket, SIGUSR1 rotation under a stream of events, and the text
 * format against the JSON one.
 *
 * Every workload binds in the sandbox cgroup, in a netns of its own. journald and the syslog
 * socket live in private mount namespaces held by a child of this test (a tmpfs over /run and
 * /var/log/journal for journald, over /dev for /dev/log), so nothing of the host is used or
 * changed: the host's /run/systemd/journal, /run/log/journal, /var/log/journal and /dev/log are
 * checked to be as they were, and the namespaces vanish with their last process on every path
 * (every process started here dies with the test: PR_SET_PDEATHSIG).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <jansson.h>

#include "sandbox.h"

static struct sb sb;
static char bin_abs[PATH_MAX]; /* the agent, by an absolute path (it runs in other mount ns) */

/* The rule names are plain words, but for 3310, which tests the label escaping. */
static const char policy_yaml[] = "version: 1\n"
				  "name: service\n"
				  "rules:\n"
				  "  - port: 3306\n"
				  "    expose: loopback\n"
				  "    service: mysql\n"
				  "    hint: \"Set bind-address = 127.0.0.1 in my.cnf\"\n"
				  "  - port: 3307\n"
				  "    expose: loopback\n"
				  "    action: alert\n"
				  "    service: alerted\n"
				  "  - port: 3308\n"
				  "    expose: loopback\n"
				  "    action: confine\n"
				  "    service: confined\n"
				  "  - port: 3309\n"
				  "    proto: udp\n"
				  "    expose: loopback\n"
				  "    service: dgram\n"
				  "  - port: 3310\n"
				  "    expose: loopback\n"
				  "    action: alert\n"
				  "    service: \"we\\\"ird\\\\r\xc3\xbcl\xc3\xa9\"\n";
static char policy_path[PATH_MAX];

/* --- Helpers ------------------------------------------------------------------------------- */

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	usleep(ms * 1000);
}

/* One socket operation of a workload. */
struct op {
	int family; /* AF_INET or AF_INET6 */
	int type; /* SOCK_STREAM or SOCK_DGRAM */
	const char *addr;
	int port;
	int listen;
};

/* Run op; 0 or errno. */
static int do_op(const struct op *o)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1, err = 0;

	memset(&ss, 0, sizeof(ss));
	if (o->family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&ss;

		s->sin_family = AF_INET;
		s->sin_port = htons(o->port);
		inet_pton(AF_INET, o->addr, &s->sin_addr);
		len = sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;

		s->sin6_family = AF_INET6;
		s->sin6_port = htons(o->port);
		inet_pton(AF_INET6, o->addr, &s->sin6_addr);
		len = sizeof(*s);
	}
	fd = socket(o->family, o->type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) != 0)
		err = errno;
	else if (o->listen && listen(fd, 1) != 0)
		err = errno;
	close(fd);
	return err;
}

/* A list of ops, run in the sandbox; the errno of each goes to res (shared memory). */
struct ops_arg {
	const struct op *ops;
	int n;
	int *res; /* n results, then (held) "done" and "release" */
	int held;
};

static int worker_ops(void *arg)
{
	struct ops_arg *a = arg;
	int i;

	for (i = 0; i < a->n; i++)
		a->res[i] = do_op(&a->ops[i]);
	if (a->held) {
		/* Alive until released, so the agent finds /proc/PID (exe) for every event. */
		__atomic_store_n(&a->res[a->n], 1, __ATOMIC_SEQ_CST);
		while (!__atomic_load_n(&a->res[a->n + 1], __ATOMIC_SEQ_CST))
			usleep(1000);
	}
	return 0;
}

static int *shared_ints(size_t n)
{
	void *p = mmap(NULL, n * sizeof(int), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		       -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/*
 * Run ops in the sandbox cgroup, in a new netns. The number of ops that gave want_errno. With
 * needles, the worker stays alive until count lines of the agent's output hold them (and
 * 300 ms more), so every event of it is enriched from a live process.
 */
static int run_ops_held(const struct op *ops, int n, const int *want_errno,
			const char *const *needles, int count)
{
	int *res = shared_ints(n + 2), i, ok = 0, st = -1;
	struct ops_arg a = { .ops = ops, .n = n, .res = res, .held = needles != NULL };
	long long t0;
	pid_t p;

	if (!res)
		return -1;
	for (i = 0; i < n; i++)
		res[i] = -1;
	res[n] = res[n + 1] = 0;
	if (!needles) {
		st = sb_child(&sb, 1, 1, worker_ops, &a);
	} else {
		p = fork();
		if (p == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			_exit(sb_child(&sb, 1, 1, worker_ops, &a));
		}
		for (t0 = now_ms();
		     p > 0 && !__atomic_load_n(&res[n], __ATOMIC_SEQ_CST) && now_ms() - t0 < 10000;)
			sleep_ms(5);
		sb_wait_lines(sb.out_path, needles, count, 5000);
		sleep_ms(300);
		__atomic_store_n(&res[n + 1], 1, __ATOMIC_SEQ_CST);
		if (p > 0 && waitpid(p, &st, 0) == p)
			st = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	}
	for (i = 0; st == 0 && i < n; i++) {
		if (res[i] == want_errno[i])
			ok++;
		else
			fprintf(stderr, "op %d (%s:%d): errno %d, expected %d\n", i, ops[i].addr,
				ops[i].port, res[i], want_errno[i]);
	}
	munmap(res, (n + 2) * sizeof(int));
	return ok;
}

static int run_ops(const struct op *ops, int n, const int *want_errno)
{
	return run_ops_held(ops, n, want_errno, NULL, 0);
}

/* N binds of 0.0.0.0:port in the sandbox; returns how many failed with EPERM. */
struct nbind {
	int port, n;
	int *eperm;
};

static int worker_nbind(void *arg)
{
	struct nbind *b = arg;
	struct op o = { AF_INET, SOCK_STREAM, "0.0.0.0", b->port, 0 };
	int i;

	for (i = 0; i < b->n; i++)
		*b->eperm += do_op(&o) == EPERM;
	return 0;
}

static int denies(int port, int n)
{
	int *eperm = shared_ints(1), got;
	struct nbind b = { .port = port, .n = n, .eperm = eperm };

	if (!eperm)
		return -1;
	*eperm = 0;
	got = sb_child(&sb, 1, 1, worker_nbind, &b) == 0 ? *eperm : -1;
	munmap(eperm, sizeof(int));
	return got;
}

/* Lines of text, as a malloc'ed NULL-terminated array of malloc'ed strings (no '\n'). */
static char **split_lines(const char *text, int *n)
{
	char **v = NULL, **nv;
	const char *p = text, *nl;
	int k = 0;

	while (p && *p) {
		nl = strchr(p, '\n');
		nv = realloc(v, (k + 2) * sizeof(*v));
		if (!nv)
			break;
		v = nv;
		v[k++] = strndup(p, nl ? (size_t)(nl - p) : strlen(p));
		v[k] = NULL;
		p = nl ? nl + 1 : NULL;
	}
	*n = k;
	return v;
}

static void free_lines(char **v)
{
	char **p;

	for (p = v; p && *p; p++)
		free(*p);
	free(v);
}

/* The first line of the file at path that holds every needle, parsed; NULL if none. */
static json_t *find_record(const char *path, const char *const *needles)
{
	char *text = sb_slurp(path), **lines;
	json_t *j = NULL;
	int n, i;

	if (!text)
		return NULL;
	lines = split_lines(text, &n);
	for (i = 0; i < n && !j; i++)
		if (sb_count_lines(lines[i], needles) == 1)
			j = json_loads(lines[i], 0, NULL);
	free_lines(lines);
	free(text);
	return j;
}

/* Run argv with stderr to errfile, wait (at most 30 s): its exit status, or -1. */
static int run_wait(const char *const *argv, const char *errfile)
{
	pid_t p = fork();
	int st, fd;

	if (p < 0)
		return -1;
	if (p == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fd = open(errfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (fd >= 0)
			dup2(fd, 2);
		fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (fd >= 0)
			dup2(fd, 1);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (sb_wait_exit(p, 30000, &st)) {
		kill(p, SIGKILL);
		waitpid(p, NULL, 0);
		return -1;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int count_char(const char *s, char c)
{
	int n = 0;

	for (; s && *s; s++)
		n += *s == c;
	return n;
}

/* --- HTTP (a client only: the server is the agent's libmicrohttpd) --------------------------- */

static int http_send(int port, const char *method, const char *path)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct timeval tv = { .tv_sec = 10 };
	char req[512];
	int fd, n;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		n = -errno;
		close(fd);
		return n;
	}
	n = snprintf(req, sizeof(req),
		     "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n", method,
		     path, port);
	if (write(fd, req, n) != n) {
		n = -errno;
		close(fd);
		return n;
	}
	return fd;
}

struct resp {
	int status;
	char *head; /* the status line and the headers (malloc'ed, with the body after them) */
	char *body; /* points into head */
};

/* Read the whole answer on fd (closed). 0 or -errno. */
static int http_recv(int fd, struct resp *r)
{
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap), *nb, *eoh;
	ssize_t n = 0;
	int err;

	memset(r, 0, sizeof(*r));
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		if (cap - len < 2) {
			nb = realloc(buf, cap * 2);
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += n;
	}
	err = n < 0 ? -errno : -EPROTO; /* a reset, a timeout, or closed without an answer */
	close(fd);
	buf[len] = '\0';
	eoh = strstr(buf, "\r\n\r\n");
	if (sscanf(buf, "HTTP/1.%*d %d", &r->status) != 1 || !eoh) {
		free(buf);
		return err;
	}
	r->head = buf;
	r->body = eoh + 4;
	return 0;
}

static int http(int port, const char *method, const char *path, struct resp *r)
{
	int fd = http_send(port, method, path);

	if (fd < 0) {
		memset(r, 0, sizeof(*r));
		return fd;
	}
	return http_recv(fd, r);
}

static void resp_free(struct resp *r)
{
	free(r->head);
	memset(r, 0, sizeof(*r));
}

/* The port the agent serves on, from "metrics":"127.0.0.1:PORT" in its ready record. */
static int agent_port(void)
{
	static const char *const ready[] = { "\"state\":\"ready\"", NULL };
	json_t *j = find_record(sb.out_path, ready);
	const char *m = j ? json_string_value(json_object_get(j, "metrics")) : NULL;
	const char *colon = m ? strrchr(m, ':') : NULL;
	int port = colon ? atoi(colon + 1) : -1;

	json_decref(j);
	return port;
}

/* GET /metrics: the body (malloc'ed) or NULL. */
static char *scrape(int port)
{
	struct resp r;
	char *body;

	if (http(port, "GET", "/metrics", &r) || r.status != 200) {
		resp_free(&r);
		return NULL;
	}
	body = strdup(r.body);
	resp_free(&r);
	return body;
}

/* The value of the sample written exactly as series ("name{labels}"), or -1 if absent. */
static long long metric(const char *text, const char *series)
{
	size_t n = strlen(series);
	const char *p = text;

	while (p && *p) {
		if (!strncmp(p, series, n) && p[n] == ' ')
			return (long long)strtod(p + n + 1, NULL);
		p = strchr(p, '\n');
		p = p ? p + 1 : NULL;
	}
	return -1;
}

static long long scrape_metric(int port, const char *series)
{
	char *t = scrape(port);
	long long v = t ? metric(t, series) : -1;

	free(t);
	return v;
}

/* Poll /metrics until series has the value want (5 s at most); returns the last value seen. */
static long long wait_metric(int port, const char *series, long long want)
{
	long long v = -1, t0 = now_ms();

	while (now_ms() - t0 < 5000) {
		v = scrape_metric(port, series);
		if (v == want)
			break;
		sleep_ms(50);
	}
	return v;
}

/* `promtool check metrics` on text: its exit status (127: no promtool), output in out. */
static int promtool(const char *text, char *out, size_t len)
{
	const char *path = sb_write_tmp(&sb, "scrape.prom", text);
	const char *argv[] = { "/bin/sh",
			       "-c",
			       "command -v promtool >/dev/null || exit 127; "
			       "exec promtool check metrics < \"$1\"",
			       "sh",
			       path,
			       NULL };

	if (!path)
		return -1;
	return sb_exec(argv, out, len);
}

/* --- /metrics and /healthz ------------------------------------------------------------------ */

#define N_DENIES 25

static void run_metrics(void)
{
	const char *args[] = { "--policy", policy_path, "--metrics", "127.0.0.1:0", NULL };
	const char *deny_s =
		"bindguard_events_total{event=\"bind\",verdict=\"deny\",rule=\"mysql\"}";
	const char *weird_s = "bindguard_events_total{event=\"bind\",verdict=\"alert\","
			      "rule=\"we\\\"ird\\\\r\xc3\xbcl\xc3\xa9\"}";
	const char *failed_s = "bindguard_reloads_total{result=\"failed\"}";
	const char *deny_lines[] = { "\"event\":\"bind\"", "\"verdict\":\"deny\"",
				     "\"rule\":\"mysql\"", NULL };
	char written_s[PATH_MAX + 80], out[8192], *t0 = NULL, *t1 = NULL, *file;
	long long ev0, ev1, kd0, kd1, wr0, wr1, rd0, rd1;
	int port, got, st;
	struct resp r;

	printf("--- /metrics: promtool, %d denies counted exactly, reloads; /healthz 200\n",
	       N_DENIES);
	if (sb_agent_start(&sb, args) != 0) {
		SB_CHECK(0, "agent start with --metrics");
		return;
	}
	port = agent_port();
	SB_CHECK(port > 0, "the ready record names the metrics address (port %d)", port);
	if (port <= 0)
		goto out;
	snprintf(written_s, sizeof(written_s),
		 "bindguard_sink_records_total{sink=\"%s\",result=\"written\"}", sb.out_path);

	SB_CHECK(http(port, "GET", "/healthz", &r) == 0 && r.status == 200 &&
			 !strcmp(r.body, "ok\n"),
		 "/healthz is 200 \"ok\" while everything works: %d %s", r.status,
		 r.body ? r.body : "");
	resp_free(&r);
	SB_CHECK(http(port, "HEAD", "/healthz", &r) == 0 && r.status == 200 && !r.body[0],
		 "HEAD /healthz: 200 and no body (%d)", r.status);
	resp_free(&r);
	SB_CHECK(http(port, "GET", "/metrics/x", &r) == 0 && r.status == 404,
		 "an unknown path is 404 (%d)", r.status);
	resp_free(&r);
	SB_CHECK(http(port, "GET", "/", &r) == 0 && r.status == 404, "/ is 404 (%d)", r.status);
	resp_free(&r);
	SB_CHECK(http(port, "POST", "/metrics", &r) == 0 && r.status == 405 &&
			 strstr(r.head, "Allow: GET, HEAD"),
		 "POST is 405 with Allow: GET, HEAD (%d)", r.status);
	resp_free(&r);
	SB_CHECK(http(port, "GET", "/metrics", &r) == 0 && r.status == 200 &&
			 strcasestr(r.head, "Content-Type: text/plain; version=0.0.4"),
		 "/metrics is 200 with the exposition format's content type: %.200s",
		 r.head ? r.head : "");
	resp_free(&r);

	t0 = scrape(port);
	if (!t0) {
		SB_CHECK(0, "scrape /metrics");
		goto out;
	}
	ev0 = metric(t0, deny_s);
	kd0 = metric(t0, "bindguard_kernel_binds_denied_total");
	wr0 = metric(t0, written_s);
	rd0 = metric(t0, "bindguard_ring_events_read_total");
	SB_CHECK(ev0 == -1, "no deny series before any deny (%lld)", ev0);
	SB_CHECK(kd0 == 0 && wr0 >= 1 && rd0 == 0,
		 "kernel denied 0, ready written, nothing read yet: %lld %lld %lld", kd0, wr0, rd0);
	SB_CHECK(metric(t0, "bindguard_hooks_attached") == 1 &&
			 metric(t0, "bindguard_healthy") == 1 &&
			 metric(t0, "bindguard_pinned") == 0,
		 "hooks attached 1, healthy 1, pinned 0");

	got = denies(3306, N_DENIES);
	SB_CHECK(got == N_DENIES, "%d binds of 0.0.0.0:3306 refused, got %d", N_DENIES, got);
	{
		static const struct op alert = { AF_INET, SOCK_STREAM, "0.0.0.0", 3310, 0 };
		static const int ok = 0;

		SB_CHECK(run_ops(&alert, 1, &ok) == 1, "0.0.0.0:3310 binds (alert)");
	}
	ev1 = wait_metric(port, deny_s, N_DENIES);
	SB_CHECK(ev1 == N_DENIES, "the deny series reaches %d: %lld", N_DENIES, ev1);
	SB_CHECK(wait_metric(port, weird_s, 1) == 1,
		 "the alert on the rule named we\"ird\\rülé is counted under its escaped label");
	/* Settled: nothing more may come. Then every counter moved by exactly what happened. */
	sleep_ms(300);
	t1 = scrape(port);
	if (!t1) {
		SB_CHECK(0, "scrape /metrics");
		goto out;
	}
	ev1 = metric(t1, deny_s);
	kd1 = metric(t1, "bindguard_kernel_binds_denied_total");
	wr1 = metric(t1, written_s);
	rd1 = metric(t1, "bindguard_ring_events_read_total");
	SB_CHECK(ev1 == N_DENIES, "bindguard_events_total{deny,mysql} moved by exactly %d: %lld",
		 N_DENIES, ev1);
	SB_CHECK(kd1 - kd0 == N_DENIES,
		 "bindguard_kernel_binds_denied_total moved by exactly %d: %lld", N_DENIES,
		 kd1 - kd0);
	SB_CHECK(rd1 - rd0 == N_DENIES + 1, "%d events read from the ring: %lld", N_DENIES + 1,
		 rd1 - rd0);
	SB_CHECK(wr1 - wr0 == N_DENIES + 1, "%d records written to the file: %lld", N_DENIES + 1,
		 wr1 - wr0);
	file = sb_slurp(sb.out_path);
	got = file ? sb_count_lines(file, deny_lines) : -1;
	free(file);
	SB_CHECK(got == N_DENIES, "and the file holds the same %d denies: %d", N_DENIES, got);
	SB_CHECK(metric(t1, "bindguard_kernel_events_dropped_total") == 0 &&
			 metric(t1, "bindguard_kernel_events_suppressed_total") == 0,
		 "nothing dropped or suppressed");

	st = promtool(t1, out, sizeof(out));
	if (st == 127)
		/* The vmtest guest has no promtool; `make deps` installs it on the host. */
		printf("SKIP promtool check: promtool is not installed (Debian package prometheus: "
		       "make deps)\n");
	else
		SB_CHECK(st == 0, "promtool check metrics accepts /metrics (exit %d): %s", st, out);

	/* Reloads: one good (generation 1), one bad (counted, generation stays). */
	SB_CHECK(metric(t1, "bindguard_policy_generation") == 0 &&
			 metric(t1, "bindguard_reloads_total{result=\"ok\"}") == 0,
		 "generation 0, no reload yet");
	kill(sb.agent, SIGHUP);
	SB_CHECK(wait_metric(port, "bindguard_reloads_total{result=\"ok\"}", 1) == 1,
		 "a good reload is counted as ok");
	SB_CHECK(scrape_metric(port, "bindguard_policy_generation") == 1, "generation 1");
	/* The agent also watches the file: the rewrite may itself reload (and fail) once more. */
	sb_write_tmp(&sb, "policy.yaml", "version: 1\nrules: [\n");
	kill(sb.agent, SIGHUP);
	for (st = 0; st < 100 && scrape_metric(port, failed_s) < 1; st++)
		sleep_ms(50);
	sleep_ms(500); /* and what the file watch does after its 200 ms settling */
	SB_CHECK(scrape_metric(port, failed_s) >= 1, "a bad reload is counted as failed");
	SB_CHECK(scrape_metric(port, "bindguard_policy_generation") == 1 &&
			 scrape_metric(port, "bindguard_reloads_total{result=\"ok\"}") == 1,
		 "and changes neither the generation nor the ok count");
	sb_write_tmp(&sb, "policy.yaml", policy_yaml);
out:
	free(t0);
	free(t1);
	st = sb_agent_stop(&sb);
	SB_CHECK(st == 0, "agent stops cleanly (%d)", st);
}

/* A usage error: one line, exit 2. A port in use or an address not here: one line, exit 1. */
static void run_metrics_errors(void)
{
	static const char *const bad[] = {
		"1.2.3:99",  ":9464",	       "127.0.0.1:65536", "127.0.0.1:",	    "::1:9464",
		"[::1]9464", "example.com:80", "127.0.0.1:-1",	  "127.0.0.1: 80",  "",
		"[::1]:",    "127.0.0.1:0x50", "[127.0.0.1]:80",  "127.0.0.1:9464x"
	};
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char errfile[PATH_MAX + 16], spec[64], *err;
	const char *argv[16];
	socklen_t sl = sizeof(sa);
	size_t i;
	int fd, st, port;

	printf("--- --metrics: bad addresses (exit 2), a port in use and a foreign address (exit 1)\n");
	snprintf(errfile, sizeof(errfile), "%s/once.err", sb.tmpdir);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *args[] = { "--metrics", bad[i], NULL };

		sb_agent_argv(&sb, sb.cg_dir, sb.out_path, args, argv, 16);
		st = run_wait(argv, errfile);
		err = sb_slurp(errfile);
		SB_CHECK(st == 2 && count_char(err, '\n') == 1 && strstr(err, "--metrics"),
			 "--metrics '%s': exit 2 with one usage line (exit %d): %s", bad[i], st,
			 err ? err : "");
		free(err);
	}

	/* A port in use: the test holds it. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1) ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl)) {
		SB_CHECK(0, "hold a loopback port: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	port = ntohs(sa.sin_port);
	snprintf(spec, sizeof(spec), "127.0.0.1:%d", port);
	unlink(sb.out_path); /* the earlier agents' records */
	{
		const char *args[] = { "--metrics", spec, NULL };
		char want[128];

		sb_agent_argv(&sb, sb.cg_dir, sb.out_path, args, argv, 16);
		st = run_wait(argv, errfile);
		err = sb_slurp(errfile);
		snprintf(want, sizeof(want),
			 "cannot serve metrics on 127.0.0.1:%d: Address already in use", port);
		SB_CHECK(st == 1 && count_char(err, '\n') == 1 && strstr(err, want),
			 "a port in use: exit 1 and one line '%s' (exit %d): %s", want, st,
			 err ? err : "");
		free(err);
		SB_CHECK(sb_attached_all(sb.cg_dir) == 0, "and nothing is left attached");
		err = sb_slurp(sb.out_path);
		SB_CHECK(!err || !strstr(err, "\"ready\""), "and it never said ready");
		free(err);
	}
	close(fd);
	{
		/* TEST-NET-1: an address no interface here has. */
		const char *args[] = { "--metrics", "192.0.2.1:9464", NULL };

		sb_agent_argv(&sb, sb.cg_dir, sb.out_path, args, argv, 16);
		st = run_wait(argv, errfile);
		err = sb_slurp(errfile);
		SB_CHECK(st == 1 && count_char(err, '\n') == 1 &&
				 strstr(err, "192.0.2.1:9464: Cannot assign requested address"),
			 "an address not on this host: exit 1, one line (exit %d): %s", st,
			 err ? err : "");
		free(err);
		SB_CHECK(sb_attached_all(sb.cg_dir) == 0, "and nothing is left attached");
	}
}

/* An output that fails (/dev/full) makes /healthz 503, naming it. */
static void run_healthz_sink(void)
{
	const char *args[] = { "--policy", policy_path, "--metrics", "0", "-o", "/dev/full", NULL };
	struct resp r;
	long long t0;
	char *t;
	int port, ok = 0;

	printf("--- /healthz: 503 while an output fails\n");
	if (sb_agent_start(&sb, args) != 0) {
		SB_CHECK(0, "agent start with -o /dev/full");
		return;
	}
	port = agent_port();
	/* The ready record already failed to reach /dev/full (ENOSPC). */
	for (t0 = now_ms(); now_ms() - t0 < 5000 && !ok; sleep_ms(50)) {
		ok = http(port, "GET", "/healthz", &r) == 0 && r.status == 503;
		if (!ok)
			resp_free(&r);
	}
	SB_CHECK(ok && count_char(r.body, '\n') == 1 && strstr(r.body, "/dev/full") &&
			 strstr(r.body, "No space left on device"),
		 "/healthz is 503 with one line naming /dev/full: %d %s", r.status,
		 r.body ? r.body : "");
	resp_free(&r);
	t = scrape(port);
	SB_CHECK(
		t && metric(t, "bindguard_sink_up{sink=\"/dev/full\"}") == 0 &&
			metric(t,
			       "bindguard_sink_records_total{sink=\"/dev/full\",result=\"lost\"}") >=
				1 &&
			metric(t, "bindguard_sink_write_failures_total{sink=\"/dev/full\"}") >= 1 &&
			metric(t, "bindguard_healthy") == 0,
		"/metrics: /dev/full down, its records lost, healthy 0");
	free(t);
	SB_CHECK(sb_agent_stop(&sb) == 0, "agent stops cleanly");
}

/* Detach every bpf_link on the sandbox cgroup, as another root process could. */
static int detach_links(void)
{
	struct bpf_link_info info;
	struct stat st;
	__u32 id = 0, len;
	int fd, n = 0;

	if (stat(sb.cg_dir, &st) != 0)
		return -1;
	while (bpf_link_get_next_id(id, &id) == 0) {
		fd = bpf_link_get_fd_by_id(id);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
		    info.type == BPF_LINK_TYPE_CGROUP && info.cgroup.cgroup_id == st.st_ino &&
		    bpf_link_detach(fd) == 0)
			n++;
		close(fd);
	}
	return n;
}

static int proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

/*
 * A hook detached by another process: /healthz must say so before the agent exits (the loop
 * checks the hooks once a second, then stops with exit 1). The ordering is made certain with
 * SIGSTOP: each round stops the agent, waits past a timer tick (so the tick is ahead of the
 * request in the agent's epoll), queues a request (the kernel accepts the connection and keeps
 * the bytes), and continues the agent. Whatever the agent then does first, the request must get
 * 503 naming the detach: if the request comes first, /healthz checks the hooks itself; if the
 * tick that runs the loop's check comes first, the agent stops, and bg_metrics_stopping()
 * answers the queued request with the reason before it closes the server. Rounds go on until
 * the agent has stopped (within about ten rounds: one tick each), so both paths are usually
 * seen, and every answer is checked.
 */
static void run_healthz_detached(void)
{
	const char *args[] = { "--policy", policy_path, "--metrics", "0", NULL };
	int port, fd, n = -1, st, alive, round, live = 0, stopping = 0, bad = 0, state = 0, err;
	struct resp r;
	long long t0;

	printf("--- /healthz: 503 when another process detaches a hook, before the agent exits\n");
	if (sb_agent_start(&sb, args) != 0) {
		SB_CHECK(0, "agent start");
		return;
	}
	port = agent_port();
	SB_CHECK(http(port, "GET", "/healthz", &r) == 0 && r.status == 200, "/healthz 200 first");
	resp_free(&r);

	for (round = 0; round < 40; round++) {
		kill(sb.agent, SIGSTOP);
		for (t0 = now_ms(); now_ms() - t0 < 5000; sleep_ms(2)) {
			state = proc_state(sb.agent);
			if (state == 'T' || state == 'Z' || !state)
				break;
		}
		if (state != 'T') {
			kill(sb.agent, SIGCONT);
			break; /* it has exited: the loop's check ran between two rounds */
		}
		if (round == 0) {
			n = detach_links();
			SB_CHECK(n == 5, "5 links detached, got %d", n);
		}
		sleep_ms(120); /* a timer tick comes due while it is stopped */
		fd = http_send(port, "GET", "/healthz");
		kill(sb.agent, SIGCONT);
		if (fd < 0)
			break; /* its server is closed: it has stopped */
		t0 = now_ms();
		if ((err = http_recv(fd, &r)) == 0 && r.status == 503 && r.body &&
		    strstr(r.body, "a hook was detached from cgroup") &&
		    count_char(r.body, '\n') == 1) {
			if (!strncmp(r.body, "stopping: ", 10))
				stopping++;
			else
				live++;
		} else {
			bad++;
			fprintf(stderr, "round %d: %d %s (%s after %lld ms)\n", round, r.status,
				r.body ? r.body : "(no answer)", strerror(err < 0 ? -err : 0),
				now_ms() - t0);
		}
		resp_free(&r);
		if (stopping)
			break;
	}
	printf("    %d rounds: %d answered by the live check, %d while stopping\n", round + 1, live,
	       stopping);
	SB_CHECK(!bad && live + stopping > 0,
		 "every request queued after the detach got 503 naming it (%d did not)", bad);
	alive = sb_wait_exit(sb.agent, 5000, &st) != 0;
	SB_CHECK(!alive && WIFEXITED(st) && WEXITSTATUS(st) == 1,
		 "then the agent exits 1 (status %d)", st);
	if (alive)
		sb_agent_stop(&sb);
	sb.agent = -1;
	SB_CHECK(sb_attached_all(sb.cg_dir) == 0, "nothing attached");
}

/*
 * Slowloris: connections that each send a byte of a request every 0.5 s and never finish it,
 * from the prober's own address (127.0.0.1: on a host, any local user; in the DaemonSet,
 * anyone on the node, which the kubelet probes from), each reopened at its next turn once the
 * server closes it, as an attacker would. MHD's idle timeout never fires on them (each byte
 * resets it), so before the agent closed slow connections itself they kept every slot, and
 * /healthz waited in the listen backlog until the probe gave up. Two rounds: as many as the
 * server has slots (16: what closes them is the request deadline), then 8 more that wait in
 * the listen backlog (what closes them is eviction, each time one waits). In both, /healthz
 * must answer 200 within the DaemonSet's probe timeout (2 s: a liveness bound, not a speed
 * target), and the server must close every trickling connection within SLOW_CLOSE_MS of its
 * connect (the agent's 3 s request deadline, and 2 s to spare).
 */
#define SLOW_SLOTS 16 /* the agent's BG_METRICS_CONNS */
#define SLOW_MAX (SLOW_SLOTS + 8)
#define SLOW_TRICKLE_MS 500
#define SLOW_PROBE_MS 2000
#define SLOW_CLOSE_MS 5000
#define SLOW_PROBES 3 /* 1 s into the round, then every 1.75 s */
#define SLOW_RUN_MS 6000 /* a round, from the first connects: longer than SLOW_CLOSE_MS */

/* Shared with the attacking child: the parent's stop, and what the child counted. */
enum { SL_STOP, SL_OPENED, SL_CLOSED, SL_MAX_LIFE, SL_OPEN, SL_HELD, SL_MAX_AGE, SL_N };

static const char slow_req[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";

static int slow_connect(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* The attacking child, with n connections: until sh[SL_STOP]; then it counts what is open. */
static void slowloris(int port, int n, volatile int *sh)
{
	struct pollfd p[SLOW_MAX];
	long long since[SLOW_MAX], next[SLOW_MAX], now;
	int sent[SLOW_MAX], i;
	char c, buf[512];
	ssize_t got;

	now = now_ms();
	for (i = 0; i < n; i++) {
		p[i].fd = -1;
		p[i].events = POLLIN | POLLRDHUP;
		next[i] = now;
	}
	while (!sh[SL_STOP]) {
		now = now_ms();
		for (i = 0; i < n; i++) {
			if (now < next[i])
				continue;
			next[i] = now + SLOW_TRICKLE_MS;
			if (p[i].fd < 0) {
				p[i].fd = slow_connect(port);
				since[i] = now;
				sent[i] = 0;
				sh[SL_OPENED]++;
			}
			c = sent[i] < (int)sizeof(slow_req) - 1 ? slow_req[sent[i]] : 'a';
			if (p[i].fd >= 0 && send(p[i].fd, &c, 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1)
				sent[i]++;
		}
		if (poll(p, n, 50) <= 0)
			continue;
		now = now_ms();
		for (i = 0; i < n; i++) {
			if (p[i].fd < 0 || !p[i].revents)
				continue;
			got = recv(p[i].fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (got > 0 || (got < 0 && (errno == EAGAIN || errno == EINTR)))
				continue;
			/* The end of the stream, or a reset: the server closed it. */
			sh[SL_CLOSED]++;
			if (now - since[i] > sh[SL_MAX_LIFE])
				sh[SL_MAX_LIFE] = (int)(now - since[i]);
			close(p[i].fd);
			p[i].fd = -1;
		}
	}
	now = now_ms();
	for (i = 0; i < n; i++) {
		if (p[i].fd < 0)
			continue;
		sh[SL_OPEN]++;
		if (now - since[i] > SLOW_CLOSE_MS)
			sh[SL_HELD]++;
		if (now - since[i] > sh[SL_MAX_AGE])
			sh[SL_MAX_AGE] = (int)(now - since[i]);
		close(p[i].fd);
	}
}

/* One round of n trickling connections, probing /healthz meanwhile. */
static void slow_round(int port, int n, volatile int *sh)
{
	long long start, t0, took[SLOW_PROBES];
	int i, st, answered = 0, status = 0;
	struct resp r;
	pid_t p;

	memset((void *)sh, 0, SL_N * sizeof(int));
	p = fork();
	if (p == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		slowloris(port, n, sh);
		_exit(0);
	}
	if (p < 0) {
		SB_CHECK(0, "fork: %s", strerror(errno));
		return;
	}
	/* Once every connection is open and trickling, the server's slots are all taken. */
	for (start = now_ms(); sh[SL_OPENED] < n && now_ms() - start < 3000;)
		sleep_ms(10);
	start = now_ms();
	for (i = 0; i < SLOW_PROBES; i++) {
		while (now_ms() - start < 1000 + i * 1750)
			sleep_ms(10);
		t0 = now_ms();
		status = http(port, "GET", "/healthz", &r) == 0 ? r.status : 0;
		took[i] = now_ms() - t0;
		resp_free(&r);
		if (status != 200 || took[i] > SLOW_PROBE_MS)
			break;
		answered++;
	}
	while (now_ms() - start < SLOW_RUN_MS)
		sleep_ms(10);
	sh[SL_STOP] = 1;
	if (sb_wait_exit(p, 5000, &st)) {
		kill(p, SIGKILL);
		sb_wait_exit(p, 5000, &st);
	}
	printf("    %d trickling: /healthz 200 within %d ms %d times of %d (took", n, SLOW_PROBE_MS,
	       answered, SLOW_PROBES);
	for (i = 0; i < SLOW_PROBES && i <= answered; i++)
		printf(" %lld", took[i]);
	printf(" ms); %d connections opened, %d closed by the server (the longest after %d ms), "
	       "%d open at the end (the oldest %d ms)\n",
	       sh[SL_OPENED], sh[SL_CLOSED], sh[SL_MAX_LIFE], sh[SL_OPEN], sh[SL_MAX_AGE]);
	SB_CHECK(answered == SLOW_PROBES,
		 "%d trickling: every /healthz is 200 within %d ms (%d of %d; the last: %d)", n,
		 SLOW_PROBE_MS, answered, SLOW_PROBES, status);
	SB_CHECK(sh[SL_CLOSED] >= n && sh[SL_MAX_LIFE] <= SLOW_CLOSE_MS && !sh[SL_HELD],
		 "%d trickling: the server closes each within %d ms of its connect (%d closed, "
		 "the longest after %d ms; %d still open past it)",
		 n, SLOW_CLOSE_MS, sh[SL_CLOSED], sh[SL_MAX_LIFE], sh[SL_HELD]);
}

static void run_healthz_slowloris(void)
{
	const char *args[] = { "--policy", policy_path, "--metrics", "127.0.0.1:0", NULL };
	volatile int *sh = shared_ints(SL_N);
	struct resp r;
	int port, st;

	printf("--- /healthz: 200 while connections trickle requests that never end (slowloris)\n");
	if (!sh) {
		SB_CHECK(0, "shared memory: %s", strerror(errno));
		return;
	}
	if (sb_agent_start(&sb, args) != 0) {
		SB_CHECK(0, "agent start");
		goto out;
	}
	port = agent_port();
	slow_round(port, SLOW_SLOTS, sh);
	slow_round(port, SLOW_MAX, sh);
	SB_CHECK(http(port, "GET", "/healthz", &r) == 0 && r.status == 200,
		 "/healthz 200 after the attack (%d)", r.status);
	resp_free(&r);
	st = sb_agent_stop(&sb);
	SB_CHECK(st == 0, "agent stops cleanly (%d)", st);
out:
	munmap((void *)sh, SL_N * sizeof(int));
}

/* --- Private mount namespaces: journald and /dev/log ---------------------------------------- */

#define NS_JOURNAL 1
#define NS_DEVLOG 2

static struct {
	pid_t holder[2]; /* the children that hold the namespaces */
	pid_t journald;
} ns = { { -1, -1 }, -1 };

static void reap(pid_t *p, int sig)
{
	if (*p > 0) {
		kill(*p, sig);
		waitpid(*p, NULL, 0);
		*p = -1;
	}
}

static void ns_teardown(void *arg)
{
	(void)arg;
	reap(&ns.journald, SIGTERM);
	reap(&ns.holder[0], SIGKILL);
	reap(&ns.holder[1], SIGKILL);
}

static int is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int exists(const char *p)
{
	struct stat st;

	return lstat(p, &st) == 0;
}

/* Hide with an empty tmpfs, in the namespace only. */
static int hide(const char *dir)
{
	return is_dir(dir) ? mount("tmpfs", dir, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") : 0;
}

/*
 * A child in a mount namespace of its own (private propagation, so nothing mounted there is
 * seen outside): for NS_JOURNAL a tmpfs on /run and /var/log/journal and our journald.conf; for
 * NS_DEVLOG a tmpfs on /dev with the usual character devices. Returns its pid, or -1.
 */
static pid_t ns_holder(int what, const char *conf)
{
	int pfd[2];
	char c = 0;
	pid_t p;

	if (pipe(pfd))
		return -1;
	p = fork();
	if (p < 0)
		return -1;
	if (p == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(pfd[0]);
		if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
			_exit(1);
		if (what == NS_JOURNAL) {
			static const char *const confd[] = {
				"/etc/systemd/journald.conf.d", "/usr/lib/systemd/journald.conf.d",
				"/usr/local/lib/systemd/journald.conf.d",
				"/lib/systemd/journald.conf.d", NULL
			};
			const char *const *d;

			if (mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") ||
			    hide("/var/log/journal"))
				_exit(2);
			for (d = confd; *d; d++)
				if (hide(*d))
					_exit(3);
			if (exists("/etc/systemd/journald.conf") &&
			    mount(conf, "/etc/systemd/journald.conf", NULL, MS_BIND, NULL))
				_exit(4);
		} else {
			static const struct {
				const char *name;
				unsigned int major, minor;
			} devs[] = { { "/dev/null", 1, 3 },
				     { "/dev/zero", 1, 5 },
				     { "/dev/full", 1, 7 },
				     { "/dev/random", 1, 8 },
				     { "/dev/urandom", 1, 9 } };
			size_t i;

			if (mount("tmpfs", "/dev", "tmpfs", MS_NOSUID, "mode=0755"))
				_exit(2);
			for (i = 0; i < sizeof(devs) / sizeof(devs[0]); i++)
				if (mknod(devs[i].name, S_IFCHR | 0666,
					  makedev(devs[i].major, devs[i].minor)) ||
				    chmod(devs[i].name, 0666))
					_exit(3);
		}
		if (write(pfd[1], "1", 1) != 1)
			_exit(5);
		for (;;)
			pause();
	}
	close(pfd[1]);
	if (read(pfd[0], &c, 1) != 1 || c != '1') {
		close(pfd[0]);
		waitpid(p, NULL, 0);
		return -1;
	}
	close(pfd[0]);
	return p;
}

/*
 * Start argv in the mount namespace of holder (in ours if holder <= 0), stdout to out and stderr
 * to err (if set).
 */
static pid_t spawn_in(pid_t holder, const char *const *argv, const char *out, const char *err,
		      const char *env)
{
	char path[64];
	pid_t p;
	int mfd = -1, fd;

	if (holder > 0) {
		snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)holder);
		mfd = open(path, O_RDONLY | O_CLOEXEC);
		if (mfd < 0)
			return -1;
	}
	p = fork();
	if (p == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (mfd >= 0 && (setns(mfd, CLONE_NEWNS) || chdir("/")))
			_exit(126);
		if (out) {
			fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
			if (fd >= 0)
				dup2(fd, 1);
		}
		if (err) {
			fd = open(err, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
			if (fd >= 0)
				dup2(fd, 2);
		}
		if (env)
			putenv((char *)env);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (mfd >= 0)
		close(mfd);
	return p;
}

/* Run argv in holder's namespace, stdout to a file read back into *text: the exit status. */
static int run_in(pid_t holder, const char *const *argv, char **text)
{
	char out[PATH_MAX + 16], err[PATH_MAX + 16];
	pid_t p;
	int st;

	snprintf(out, sizeof(out), "%s/run_in.out", sb.tmpdir);
	snprintf(err, sizeof(err), "%s/run_in.err", sb.tmpdir);
	p = spawn_in(holder, argv, out, err, NULL);
	if (p < 0)
		return -1;
	if (sb_wait_exit(p, 30000, &st)) {
		kill(p, SIGKILL);
		waitpid(p, NULL, 0);
		return -1;
	}
	*text = sb_slurp(out);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/*
 * The agent (sb's arguments and output file) in holder's namespace (ours if holder <= 0), once
 * its output has a line with ready_needle (NULL: the JSON ready record). 0 or -1.
 */
static int agent_start_in(pid_t holder, const char *const *args, const char *ready_needle)
{
	const char *ready[] = { ready_needle ? ready_needle : "\"state\":\"ready\"", NULL };
	const char *argv[32];
	int n;

	if (sb_agent_argv(&sb, sb.cg_dir, sb.out_path, args, argv, 32) < 0)
		return -1;
	argv[0] = bin_abs;
	unlink(sb.out_path);
	sb.agent = spawn_in(holder, argv, NULL, sb.err_path, NULL);
	if (sb.agent < 0)
		return -1;
	n = sb_wait_lines(sb.out_path, ready, 1, 30000);
	if (n < 1 || waitpid(sb.agent, NULL, WNOHANG) == sb.agent) {
		char *e = sb_slurp(sb.err_path);

		fprintf(stderr, "agent not ready: %s\n", e ? e : "");
		free(e);
		if (waitpid(sb.agent, NULL, WNOHANG) == 0)
			return -1; /* still running: sb_teardown() kills it */
		sb.agent = -1;
		return -1;
	}
	return 0;
}

/* What the host has where journald writes, to prove it is the same afterwards. */
struct host_state {
	int run_journal, run_log, dev_log;
	int var_entries; /* entries in /var/log/journal, -1 if it does not exist */
};

static void host_state(struct host_state *h)
{
	DIR *d = opendir("/var/log/journal");
	struct dirent *e;

	h->run_journal = exists("/run/systemd/journal");
	h->run_log = exists("/run/log/journal");
	h->dev_log = exists("/dev/log");
	h->var_entries = d ? 0 : -1;
	while (d && (e = readdir(d)))
		h->var_entries += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	if (d)
		closedir(d);
}

/* --- journald ------------------------------------------------------------------------------- */

static const char journald_conf[] = "[Journal]\n"
				    "Storage=volatile\n"
				    "ForwardToSyslog=no\n"
				    "ForwardToKMsg=no\n"
				    "ForwardToConsole=no\n"
				    "ForwardToWall=no\n"
				    "ReadKMsg=no\n"
				    "Audit=no\n";

/* A JSON value as the journal sink writes it (strings as they are: ours need no escaping). */
static void value_str(json_t *v, char *buf, size_t len)
{
	if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_true(v))
		snprintf(buf, len, "true");
	else if (json_is_false(v))
		snprintf(buf, len, "false");
	else if (json_is_null(v))
		snprintf(buf, len, "null");
	else
		snprintf(buf, len, "(composite)");
}

/* "BINDGUARD_" + prefix_ + key, upper case. */
static void journal_key(const char *prefix, const char *key, char *buf, size_t len)
{
	size_t i;

	snprintf(buf, len, "BINDGUARD_%s%s%s", prefix ? prefix : "", prefix ? "_" : "", key);
	for (i = 10; buf[i]; i++)
		buf[i] = (char)(buf[i] >= 'a' && buf[i] <= 'z' ? buf[i] - 32 : buf[i]);
}

/*
 * The journal fields a JSON record should give, as the journal sink documents them: each field
 * BINDGUARD_KEY=value, a nested object's as BINDGUARD_OBJ_KEY=, a null left out.
 */
static json_t *journal_fields_of(json_t *rec)
{
	json_t *want = json_object(), *v, *sv;
	const char *k, *sk;
	char key[128], val[1024];

	json_object_foreach(rec, k, v)
	{
		if (json_is_object(v)) {
			json_object_foreach(v, sk, sv)
			{
				if (json_is_null(sv))
					continue;
				journal_key(k, sk, key, sizeof(key));
				value_str(sv, val, sizeof(val));
				json_object_set_new(want, key, json_string(val));
			}
			continue;
		}
		if (json_is_null(v))
			continue;
		journal_key(NULL, k, key, sizeof(key));
		value_str(v, val, sizeof(val));
		json_object_set_new(want, key, json_string(val));
	}
	return want;
}

/* The journal entry's BINDGUARD_ fields are the JSON record's, key for key, value for value. */
static void check_journal_entry(json_t *je, const char *lead, const char *prio)
{
	static const char *const bind_ev[] = { "\"event\":\"bind\"", NULL };
	const char *seq_s = json_string_value(json_object_get(je, "BINDGUARD_SEQ"));
	const char *msg = json_string_value(json_object_get(je, "MESSAGE"));
	const char *p = json_string_value(json_object_get(je, "PRIORITY"));
	char needle[64], seqw[48];
	const char *needles[] = { bind_ev[0], needle, NULL };
	size_t n_bg = 0, n_json;
	const char *k;
	json_t *rec, *v, *exp;

	SB_CHECK(p && !strcmp(p, prio), "%s: PRIORITY %s (got %s)", lead, prio, p ? p : "none");
	SB_CHECK(msg && !strchr(msg, '\n') && !strncmp(msg, lead, strlen(lead)),
		 "MESSAGE is the one-line summary starting '%s': %s", lead, msg ? msg : "none");
	snprintf(needle, sizeof(needle), "\"seq\":%s,", seq_s ? seq_s : "x");
	rec = seq_s ? find_record(sb.out_path, needles) : NULL;
	SB_CHECK(rec, "%s: the JSON record with seq %s", lead, seq_s ? seq_s : "(none)");
	if (!rec)
		return;
	snprintf(seqw, sizeof(seqw), " seq=%s ", seq_s);
	SB_CHECK(msg && strstr(msg, seqw) &&
			 (!json_is_string(json_object_get(rec, "rule")) ||
			  strstr(msg, json_string_value(json_object_get(rec, "rule")))),
		 "MESSAGE carries the record's seq and rule: %s", msg ? msg : "");
	exp = journal_fields_of(rec);
	json_object_foreach(je, k, v)
	{
		const char *w;

		if (strncmp(k, "BINDGUARD_", 10))
			continue;
		n_bg++;
		w = json_string_value(json_object_get(exp, k));
		SB_CHECK(w && json_is_string(v) && !strcmp(json_string_value(v), w),
			 "%s: %s=%s, from the JSON record: %s", lead, k,
			 json_is_string(v) ? json_string_value(v) : "(not a string)",
			 w ? w : "(no such field)");
	}
	n_json = json_object_size(exp);
	SB_CHECK(n_bg == n_json, "%s: %zu BINDGUARD_ fields for the %zu the JSON record gives",
		 lead, n_bg, n_json);
	json_decref(exp);
	json_decref(rec);
}

/* The entries journalctl prints for the matches, parsed (NULL-terminated), and their count. */
static json_t **journal_query(pid_t holder, const char *const *matches, int *n)
{
	const char *argv[16] = { "journalctl", "-o", "json", "--no-pager", "-q" };
	char *text = NULL, **lines;
	json_t **v;
	int k = 5, i, m;

	for (; *matches && k < 15; matches++)
		argv[k++] = *matches;
	argv[k] = NULL;
	*n = 0;
	if (run_in(holder, argv, &text) != 0) {
		free(text);
		return NULL;
	}
	lines = split_lines(text ? text : "", &m);
	v = calloc(m + 1, sizeof(*v));
	for (i = 0; v && i < m; i++)
		if ((v[*n] = json_loads(lines[i], 0, NULL)))
			(*n)++;
	free_lines(lines);
	free(text);
	return v;
}

static void journal_free(json_t **v)
{
	json_t **p;

	for (p = v; p && *p; p++)
		json_decref(*p);
	free(v);
}

/* In the sandbox: n binds of 0.0.0.0:3306 (a deny each); 0 when every one was EPERM. */
static int worker_denies(void *arg)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(3306) };
	int i, n = *(int *)arg, fd, bad = 0;

	for (i = 0; i < n; i++) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno != EPERM)
			bad++;
		if (fd >= 0)
			close(fd);
	}
	return bad ? 1 : 0;
}

static void run_journald(void)
{
	static const char *const matches[] = { "SYSLOG_IDENTIFIER=bindguard",
					       "BINDGUARD_EVENT=bind", NULL };
	static const char *const deny_only[] = { "SYSLOG_IDENTIFIER=bindguard",
						 "BINDGUARD_VERDICT=deny", NULL };
	static const char *const ready_m[] = { "SYSLOG_IDENTIFIER=bindguard",
					       "BINDGUARD_STATE=ready", NULL };
	static const struct op ops[] = { { AF_INET, SOCK_STREAM, "0.0.0.0", 3306, 0 },
					 { AF_INET, SOCK_STREAM, "0.0.0.0", 3307, 0 },
					 { AF_INET, SOCK_STREAM, "0.0.0.0", 4444, 0 } };
	static const int want[] = { EPERM, 0, 0 };
	const char *args[] = { "--policy", policy_path, "-o", "journal", "--log-allowed", NULL };
	const char *bind_ev[] = { "\"event\":\"bind\"", NULL };
	const char *jd_argv[] = { "/lib/systemd/systemd-journald", NULL };
	char sock[128], dir[128], errp[PATH_MAX + 16], env[] = "SYSTEMD_LOG_TARGET=console";
	struct host_state before, after;
	const char *conf;
	json_t **e = NULL;
	long long t0;
	int n = 0, i, st, saw_deny = 0, saw_alert = 0, saw_allow = 0;

	printf("--- journald: -o journal read back with journalctl -o json\n");
	if (access(jd_argv[0], X_OK) != 0 || system("command -v journalctl >/dev/null") != 0) {
		printf("SKIP journald: no %s or journalctl (package systemd)\n", jd_argv[0]);
		return;
	}
	host_state(&before);
	conf = sb_write_tmp(&sb, "journald.conf", journald_conf);
	ns.holder[0] = ns_holder(NS_JOURNAL, conf);
	if (ns.holder[0] < 0) {
		SB_CHECK(0, "a mount namespace for journald");
		return;
	}
	{
		/* No journald yet (the namespace's /run is empty): -o journal refuses to start. */
		const char *argv[] = {
			sb.bin, "run", "--cgroup", sb.cg_dir, "-o", "journal", NULL
		};
		char errf[PATH_MAX + 16], *text = NULL, *why;

		st = run_in(ns.holder[0], argv, &text);
		free(text);
		snprintf(errf, sizeof(errf), "%s/run_in.err", sb.tmpdir);
		why = sb_slurp(errf);
		SB_CHECK(st == 2 && why && strstr(why, "cannot reach journald"),
			 "no journald: -o journal exits 2 at the start, saying so (%d: %s)", st,
			 why ? why : "");
		free(why);
		SB_CHECK(sb_attached(&sb) == 0, "and leaves nothing attached (%d)",
			 sb_attached(&sb));
	}
	snprintf(errp, sizeof(errp), "%s/journald.err", sb.tmpdir);
	ns.journald = spawn_in(ns.holder[0], jd_argv, NULL, errp, env);
	snprintf(sock, sizeof(sock), "/proc/%d/root/run/systemd/journal/socket", (int)ns.holder[0]);
	for (t0 = now_ms(); !exists(sock) && now_ms() - t0 < 10000;)
		sleep_ms(20);
	if (!exists(sock)) {
		char *je = sb_slurp(errp);

		SB_CHECK(0, "journald made its socket: %s", je ? je : "");
		free(je);
		goto out;
	}
	if (agent_start_in(ns.holder[0], args, NULL) != 0) {
		SB_CHECK(0, "agent start with -o journal");
		goto out;
	}
	SB_CHECK(
		run_ops(ops, 3, want) == 3,
		"a deny (0.0.0.0:3306), an alert (0.0.0.0:3307), an allowed bind of a port no rule "
		"lists (4444, with --log-allowed: rule null)");
	SB_CHECK(sb_wait_lines(sb.out_path, bind_ev, 3, 5000) == 3, "all three in the JSON output");
	for (t0 = now_ms(); now_ms() - t0 < 5000; sleep_ms(100)) {
		journal_free(e);
		e = journal_query(ns.holder[0], matches, &n);
		if (n >= 3)
			break;
	}
	SB_CHECK(n == 3, "journalctl shows the 3 bind records (%d)", n);
	for (i = 0; e && i < n; i++) {
		const char *v = json_string_value(json_object_get(e[i], "BINDGUARD_VERDICT"));

		if (v && !strcmp(v, "deny")) {
			saw_deny++;
			check_journal_entry(e[i], "DENY bind tcp 0.0.0.0:3306 ", "4");
		} else if (v && !strcmp(v, "alert")) {
			saw_alert++;
			check_journal_entry(e[i], "ALERT bind tcp 0.0.0.0:3307 ", "5");
		} else if (v && !strcmp(v, "allow")) {
			saw_allow++;
			check_journal_entry(e[i], "ALLOW bind tcp 0.0.0.0:4444 ", "6");
			SB_CHECK(!json_object_get(e[i], "BINDGUARD_RULE"),
				 "no rule: no BINDGUARD_RULE field");
		}
	}
	SB_CHECK(saw_deny == 1 && saw_alert == 1 && saw_allow == 1,
		 "one deny, one alert, one allow (%d, %d, %d)", saw_deny, saw_alert, saw_allow);
	journal_free(e);
	e = journal_query(ns.holder[0], deny_only, &n);
	SB_CHECK(n == 1, "journalctl BINDGUARD_VERDICT=deny selects the deny alone (%d)", n);
	journal_free(e);
	e = journal_query(ns.holder[0], ready_m, &n);
	SB_CHECK(n == 1 && !strcmp(json_string_value(json_object_get(e[0], "PRIORITY")), "6"),
		 "the ready record is there too, at priority 6 (%d)", n);
	journal_free(e);
	e = NULL;
	st = sb_agent_stop(&sb);
	SB_CHECK(st == 0, "agent stops cleanly (%d)", st);

	/*
	 * A journald that stops reading (SIGSTOP; as one stuck on I/O would): its socket's queue
	 * fills after a few entries. The agent must not block on it: what does not fit is lost
	 * and counted, and SIGTERM is served. (It once sent with a blocking sendmsg().)
	 */
	{
		const char *fargs[] = { "--policy",	policy_path, "-o", "journal",
					"--rate-limit", "0",	     NULL };
		int denies = 300, status = 0;
		char *stop = NULL, *err = NULL;

		kill(ns.journald, SIGSTOP);
		if (agent_start_in(ns.holder[0], fargs, NULL) != 0) {
			SB_CHECK(0, "agent start with -o journal, journald stopped");
			kill(ns.journald, SIGCONT);
			goto out;
		}
		st = sb_child(&sb, 1, 1, worker_denies, &denies);
		SB_CHECK(st == 0, "%d binds of 0.0.0.0:3306 denied with journald stopped (%d)",
			 denies, st);
		sleep_ms(500);
		t0 = now_ms();
		kill(sb.agent, SIGTERM);
		st = sb_wait_exit(sb.agent, 10000, &status);
		if (st) {
			kill(sb.agent, SIGKILL);
			waitpid(sb.agent, NULL, 0);
		}
		sb.agent = -1;
		printf("    SIGTERM with journald stopped: exit after %lld ms\n", now_ms() - t0);
		SB_CHECK(st == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
			 "the agent exits 0 on SIGTERM although journald does not read");
		err = sb_slurp(sb.err_path);
		SB_CHECK(err && strstr(err, "cannot write to journal"),
			 "stderr says the journal cannot be written: %s", err ? err : "");
		free(err);
		stop = sb_slurp(sb.out_path);
		{
			const char *lost[] = { "\"state\":\"stopping\"", NULL };
			char *line = stop ? strstr(stop, "\"state\":\"stopping\"") : NULL;

			SB_CHECK(sb_count_lines(stop, lost) == 1 && line &&
					 sb_json_num(line, "lost") > 0,
				 "the stopping record counts the records lost to the journal");
		}
		free(stop);
		kill(ns.journald, SIGCONT);
	}

	/* Where journald wrote: the volatile journal, inside the namespace. */
	snprintf(dir, sizeof(dir), "/proc/%d/root/run/log/journal", (int)ns.holder[0]);
	{
		char cmd[256], out[1024];
		const char *argv[] = { "/bin/sh", "-c", cmd, NULL };

		snprintf(cmd, sizeof(cmd), "cd %s && ls -d */system.journal", dir);
		st = sb_exec(argv, out, sizeof(out));
		SB_CHECK(st == 0,
			 "journald wrote /run/log/journal/MACHINE-ID/system.journal (in "
			 "the namespace's tmpfs): %s",
			 out);
		if (st == 0)
			printf("    journald wrote /run/log/journal/%s", out);
	}
out:
	journal_free(e);
	if (sb.agent > 0)
		sb_agent_stop(&sb);
	reap(&ns.journald, SIGTERM);
	reap(&ns.holder[0], SIGKILL);
	host_state(&after);
	SB_CHECK(!memcmp(&before, &after, sizeof(before)),
		 "the host is as it was: /run/systemd/journal %d->%d, /run/log/journal %d->%d, "
		 "/var/log/journal entries %d->%d",
		 before.run_journal, after.run_journal, before.run_log, after.run_log,
		 before.var_entries, after.var_entries);
}

/* --- syslog --------------------------------------------------------------------------------- */

/* "<PRI>Mmm dd hh:mm:ss bindguard[PID]: MSG": 0 with the parts, or -1. */
static int parse_3164(const char *m, int *pri, int *pid, const char **msg)
{
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	const char *p;
	int i, ok = 0, n = 0;

	if (sscanf(m, "<%d>%n", pri, &n) != 1 || !n)
		return -1;
	p = m + n;
	for (i = 0; i < 12; i++)
		ok |= !strncmp(p, mon[i], 3);
	/* "Mmm dd hh:mm:ss ": the day space-padded, as RFC 3164 asks. */
	if (!ok || strlen(p) < 16 || p[3] != ' ' || (p[4] != ' ' && (p[4] < '1' || p[4] > '3')) ||
	    p[5] < '0' || p[5] > '9' || p[6] != ' ' || p[9] != ':' || p[12] != ':' || p[15] != ' ')
		return -1;
	p += 16;
	n = 0;
	if (sscanf(p, "bindguard[%d]: %n", pid, &n) != 1 || !n)
		return -1;
	*msg = p + n;
	return 0;
}

static void syslog_run(int facility, const char *fac_name)
{
	static const struct op ops[] = { { AF_INET, SOCK_STREAM, "0.0.0.0", 3306, 0 },
					 { AF_INET, SOCK_STREAM, "0.0.0.0", 3307, 0 } };
	static const int want[] = { EPERM, 0 };
	const char *args[] = { "--policy",	    policy_path, "-o", "syslog",
			       "--syslog-facility", fac_name,	 NULL };
	const char *bind_ev[] = { "\"event\":\"bind\"", NULL };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };
	int fd, got_deny = 0, got_ready = 0, got_alert = 0, pri, pid;
	char buf[8192];
	const char *msg;
	ssize_t n;
	long long t0;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/%d/root/dev/log", (int)ns.holder[1]);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		SB_CHECK(0, "bind the test's /dev/log in the namespace: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (agent_start_in(ns.holder[1], args, NULL) != 0) {
		SB_CHECK(0, "agent start with -o syslog --syslog-facility %s", fac_name);
		goto out;
	}
	SB_CHECK(run_ops(ops, 2, want) == 2, "a deny and an alert");
	SB_CHECK(sb_wait_lines(sb.out_path, bind_ev, 2, 5000) == 2, "both in the JSON output");
	for (t0 = now_ms(); now_ms() - t0 < 5000 && !(got_deny && got_alert && got_ready);) {
		json_t *j, *rec;
		const char *verdict, *state;
		char needle[64];
		const char *needles[] = { needle, NULL };

		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			break;
		buf[n] = '\0';
		if (parse_3164(buf, &pri, &pid, &msg)) {
			SB_CHECK(0, "an RFC 3164 message: %s", buf);
			continue;
		}
		SB_CHECK(pid == sb.agent, "the agent's pid in the tag: %d (agent %d)", pid,
			 (int)sb.agent);
		j = json_loads(msg, 0, NULL);
		SB_CHECK(j, "the message is the JSON record: %s", msg);
		if (!j)
			continue;
		verdict = json_string_value(json_object_get(j, "verdict"));
		state = json_string_value(json_object_get(j, "state"));
		if (state && !strcmp(state, "ready")) {
			got_ready++;
			SB_CHECK(pri == facility + 6, "ready at <%d> (info), got <%d>",
				 facility + 6, pri);
		} else if (verdict) {
			snprintf(needle, sizeof(needle), "\"seq\":%lld,",
				 (long long)json_integer_value(json_object_get(j, "seq")));
			rec = find_record(sb.out_path, needles);
			SB_CHECK(rec && json_equal(rec, j),
				 "the syslog message is the file's JSON record (seq %s)", needle);
			json_decref(rec);
			if (!strcmp(verdict, "deny")) {
				got_deny++;
				SB_CHECK(pri == facility + 4, "deny at <%d> (%s.warning), got <%d>",
					 facility + 4, fac_name, pri);
			} else if (!strcmp(verdict, "alert")) {
				got_alert++;
				SB_CHECK(pri == facility + 5, "alert at <%d> (%s.notice), got <%d>",
					 facility + 5, fac_name, pri);
			}
		}
		json_decref(j);
	}
	SB_CHECK(got_ready == 1 && got_deny == 1 && got_alert == 1,
		 "%s: ready, deny and alert received once each (%d %d %d)", fac_name, got_ready,
		 got_deny, got_alert);
	SB_CHECK(sb_agent_stop(&sb) == 0, "agent stops cleanly");
out:
	if (sb.agent > 0)
		sb_agent_stop(&sb);
	close(fd);
	unlink(sa.sun_path);
}

static void run_syslog(void)
{
	struct host_state before, after;

	printf("--- syslog: RFC 3164 datagrams on a /dev/log of the test's own\n");
	host_state(&before);
	ns.holder[1] = ns_holder(NS_DEVLOG, NULL);
	if (ns.holder[1] < 0) {
		SB_CHECK(0, "a mount namespace with a /dev of its own");
		return;
	}
	syslog_run(3 << 3, "daemon"); /* LOG_DAEMON */
	syslog_run(4 << 3, "auth"); /* LOG_AUTH */
	reap(&ns.holder[1], SIGKILL);
	host_state(&after);
	SB_CHECK(before.dev_log == after.dev_log, "the host's /dev/log is as it was (%d -> %d)",
		 before.dev_log, after.dev_log);
}

/* --- SIGUSR1 rotation ------------------------------------------------------------------------- */

#define ROTATIONS 5

static struct {
	volatile int stop;
	volatile long binds, eperm;
} * loop;

static int worker_loop(void *arg)
{
	struct op o = { AF_INET, SOCK_STREAM, "0.0.0.0", 3306, 0 };

	(void)arg;
	while (!loop->stop) {
		int e = do_op(&o);

		__sync_fetch_and_add(&loop->binds, 1);
		if (e == EPERM)
			__sync_fetch_and_add(&loop->eperm, 1);
		usleep(100);
	}
	return 0;
}

static void run_rotation(void)
{
	const char *args[] = { "--policy", policy_path, "--rate-limit", "0", NULL };
	const char *bind_ev[] = { "\"event\":\"bind\"", NULL };
	char paths[ROTATIONS + 1][PATH_MAX + 16];
	long long events = -1, delivered = -1, dropped = -1, suppressed = -1, lines = 0, dups = 0;
	long long bad = 0, partial = 0, out_of_range = 0;
	int per_file[ROTATIONS + 1] = { 0 }, i, k, n, with_events = 0, ready_first = 0;
	unsigned char *seen = NULL;
	pid_t child;
	size_t cap = 0;

	printf("--- SIGUSR1: %d renames + reopens while binds flow; every line once, whole\n",
	       ROTATIONS);
	loop = mmap(NULL, sizeof(*loop), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (loop == MAP_FAILED) {
		SB_CHECK(0, "mmap");
		return;
	}
	memset((void *)loop, 0, sizeof(*loop));
	if (sb_agent_start(&sb, args) != 0) {
		SB_CHECK(0, "agent start");
		goto out_unmap;
	}
	child = fork();
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		_exit(sb_child(&sb, 1, 1, worker_loop, NULL));
	}
	sb_wait_lines(sb.out_path, bind_ev, 1, 5000);
	for (i = 0; i < ROTATIONS; i++) {
		sleep_ms(200);
		snprintf(paths[i], sizeof(paths[i]), "%s.%d", sb.out_path, i + 1);
		if (rename(sb.out_path, paths[i]) != 0)
			SB_CHECK(0, "rename %s: %s", sb.out_path, strerror(errno));
		kill(sb.agent, SIGUSR1);
	}
	snprintf(paths[ROTATIONS], sizeof(paths[ROTATIONS]), "%s", sb.out_path);
	sleep_ms(200);
	loop->stop = 1;
	waitpid(child, NULL, 0);
	SB_CHECK(sb_agent_stop(&sb) == 0, "agent stops cleanly");

	for (k = 0; k <= ROTATIONS; k++) {
		char *text = sb_slurp(paths[k]), **v;
		size_t len = text ? strlen(text) : 0;

		if (!text) {
			SB_CHECK(0, "read %s", paths[k]);
			continue;
		}
		if (len && text[len - 1] != '\n')
			partial++;
		v = split_lines(text, &n);
		for (i = 0; i < n; i++) {
			json_t *j = json_loads(v[i], 0, NULL);
			const char *ev = j ? json_string_value(json_object_get(j, "event")) : NULL;
			const char *state =
				j ? json_string_value(json_object_get(j, "state")) : NULL;
			long long seq;

			if (!j || !ev) {
				bad++;
				fprintf(stderr, "not a whole record in %s: %.120s\n", paths[k],
					v[i]);
				json_decref(j);
				continue;
			}
			if (state && !strcmp(state, "ready"))
				ready_first += k == 0;
			if (state && !strcmp(state, "stopping") && k == ROTATIONS) {
				events = json_integer_value(json_object_get(j, "events"));
				delivered = json_integer_value(json_object_get(j, "delivered"));
				dropped = json_integer_value(json_object_get(j, "dropped"));
				suppressed = json_integer_value(json_object_get(j, "suppressed"));
			}
			if (!strcmp(ev, "bind")) {
				seq = json_integer_value(json_object_get(j, "seq"));
				lines++;
				per_file[k]++;
				if (seq < 0 || seq > 100000000) {
					out_of_range++;
				} else {
					if ((size_t)seq >= cap) {
						size_t nc = (size_t)seq * 2 + 1024;
						unsigned char *ns2 = realloc(seen, nc);

						if (!ns2) {
							json_decref(j);
							continue;
						}
						memset(ns2 + cap, 0, nc - cap);
						seen = ns2;
						cap = nc;
					}
					dups += seen[seq]++ != 0;
				}
			}
			json_decref(j);
		}
		free_lines(v);
		free(text);
	}
	for (k = 0; k <= ROTATIONS; k++)
		with_events += per_file[k] > 0;
	printf("    %ld binds (%ld refused); events per file:", loop->binds, loop->eperm);
	for (k = 0; k <= ROTATIONS; k++)
		printf(" %d", per_file[k]);
	printf("; agent: events %lld delivered %lld dropped %lld\n", events, delivered, dropped);
	SB_CHECK(partial == 0 && bad == 0,
		 "every file ends in a whole line (%lld partial, %lld bad)", partial, bad);
	SB_CHECK(ready_first == 1, "the ready record is in the first file");
	SB_CHECK(delivered >= 0, "the stopping record is in the current file");
	SB_CHECK(lines == delivered,
		 "the bind lines of all the files (%lld) are exactly the %lld "
		 "the agent delivered",
		 lines, delivered);
	SB_CHECK(dups == 0 && out_of_range == 0, "no seq twice (%lld), none out of range (%lld)",
		 dups, out_of_range);
	for (i = 0; i < (int)cap && events >= 0; i++)
		if (seen[i] && i >= events + dropped)
			out_of_range++;
	SB_CHECK(out_of_range == 0, "every seq below events + dropped");
	SB_CHECK(delivered == events && events + dropped + suppressed == loop->eperm,
		 "the agent read all the kernel submitted, and every refused bind is an event or "
		 "counted as dropped: %lld + %lld + %lld = %ld",
		 events, dropped, suppressed, loop->eperm);
	SB_CHECK(with_events >= 4,
		 "writes moved to the new file at each reopen (%d of %d files "
		 "hold events)",
		 with_events, ROTATIONS + 1);
	free(seen);
out_unmap:
	munmap((void *)loop, sizeof(*loop));
}

/* --- Text and JSON: the same fields --------------------------------------------------------- */

/* One record of the text format: its keys, and their values (decoded). */
struct trec {
	int n;
	char key[48][32];
	char val[48][512];
};

static const char *trec_get(const struct trec *t, const char *key)
{
	int i;

	for (i = 0; i < t->n; i++)
		if (!strcmp(t->key[i], key))
			return t->val[i];
	return NULL;
}

static void trec_add(struct trec *t, const char *key, const char *val, size_t vlen)
{
	if (t->n >= 48)
		return;
	snprintf(t->key[t->n], sizeof(t->key[0]), "%s", key);
	snprintf(t->val[t->n], sizeof(t->val[0]), "%.*s", (int)vlen, val);
	t->n++;
}

/* A value: a bare word, or a JSON string (decoded); *end past it. 0 or -1. */
static int text_value(const char *p, const char **end, char *buf, size_t len)
{
	const char *q = p;

	if (*p == '"') {
		json_t *s;
		char tmp[1024];

		for (q = p + 1; *q && *q != '"'; q++)
			if (*q == '\\' && q[1])
				q++;
		if (*q != '"' || (size_t)(q - p + 2) > sizeof(tmp))
			return -1;
		snprintf(tmp, sizeof(tmp), "%.*s", (int)(q - p + 1), p);
		s = json_loads(tmp, JSON_DECODE_ANY, NULL);
		if (!json_is_string(s)) {
			json_decref(s);
			return -1;
		}
		snprintf(buf, len, "%s", json_string_value(s));
		json_decref(s);
		*end = q + 1;
		return 0;
	}
	while (*q && *q != ' ')
		q++;
	snprintf(buf, len, "%.*s", (int)(q - p), p);
	*end = q;
	return 0;
}

/* Parse "TS VERDICT event proto addr:port k=v ..." or "TS agent STATE k=v ...". 0 or -1. */
static int parse_text(const char *line, struct trec *t)
{
	char w[5][512], val[512];
	const char *p = line, *e;
	int i, nlead;

	memset(t, 0, sizeof(*t));
	for (i = 0; i < 3; i++) {
		if (text_value(p, &e, w[i], sizeof(w[i])) || *e != ' ')
			return -1;
		p = e + 1;
	}
	nlead = strcmp(w[1], "agent") ? 5 : 3;
	for (; i < nlead; i++) {
		if (text_value(p, &e, w[i], sizeof(w[i])))
			return -1;
		p = *e ? e + 1 : e;
	}
	trec_add(t, "ts", w[0], strlen(w[0]));
	if (nlead == 3) {
		trec_add(t, "event", w[1], strlen(w[1]));
		trec_add(t, "state", w[2], strlen(w[2]));
	} else {
		char *colon = strrchr(w[4], ':'), *a = w[4];

		for (i = 0; w[1][i]; i++)
			w[1][i] = (char)(w[1][i] >= 'A' && w[1][i] <= 'Z' ? w[1][i] + 32 : w[1][i]);
		trec_add(t, "verdict", w[1], strlen(w[1]));
		trec_add(t, "event", w[2], strlen(w[2]));
		trec_add(t, "proto", w[3], strlen(w[3]));
		if (!colon)
			return -1;
		*colon = '\0';
		if (a[0] == '[') {
			a++;
			a[strlen(a) - 1] = '\0';
		}
		trec_add(t, "addr", a, strlen(a));
		trec_add(t, "port", colon + 1, strlen(colon + 1));
	}
	while (*p) {
		const char *eq = strchr(p, '=');

		if (!eq || eq == p)
			return -1;
		if (text_value(eq + 1, &e, val, sizeof(val)))
			return -1;
		{
			char key[32];

			snprintf(key, sizeof(key), "%.*s", (int)(eq - p), p);
			trec_add(t, key, val, strlen(val));
		}
		p = *e == ' ' ? e + 1 : e;
	}
	return 0;
}

/* The text file's records (a hint line joins the record before it). */
static struct trec *read_text(const char *path, int *n)
{
	char *text = sb_slurp(path), **v;
	struct trec *t;
	int m, i, k = 0;

	*n = 0;
	if (!text)
		return NULL;
	v = split_lines(text, &m);
	t = calloc(m + 1, sizeof(*t));
	for (i = 0; t && i < m; i++) {
		if (!strncmp(v[i], "  hint=", 7) && k) {
			char val[512];
			const char *e;

			if (text_value(v[i] + 7, &e, val, sizeof(val)) == 0 && !*e)
				trec_add(&t[k - 1], "hint", val, strlen(val));
			else
				SB_CHECK(0, "a hint line: %s", v[i]);
			continue;
		}
		if (parse_text(v[i], &t[k]))
			SB_CHECK(0, "a text record: %s", v[i]);
		else
			k++;
	}
	free_lines(v);
	free(text);
	*n = k;
	return t;
}

static json_t **read_json(const char *path, int *n)
{
	char *text = sb_slurp(path), **v;
	json_t **j;
	int m, i;

	*n = 0;
	if (!text)
		return NULL;
	v = split_lines(text, &m);
	j = calloc(m + 1, sizeof(*j));
	for (i = 0; j && i < m; i++)
		if ((j[*n] = json_loads(v[i], 0, NULL)))
			(*n)++;
	free_lines(v);
	free(text);
	return j;
}

/* The text value a JSON value renders as. */
static void text_of(json_t *v, char *buf, size_t len)
{
	if (json_is_null(v))
		snprintf(buf, len, "-");
	else
		value_str(v, buf, len);
}

static int run_format(const char *fmt, const char *path)
{
	static const struct op ops[] = {
		{ AF_INET, SOCK_STREAM, "0.0.0.0", 3306, 0 }, /* deny, with a hint */
		{ AF_INET6, SOCK_STREAM, "::", 3306, 0 }, /* deny, v6 */
		{ AF_INET, SOCK_STREAM, "127.0.0.1", 3306, 0 }, /* allowed (--log-allowed) */
		{ AF_INET, SOCK_STREAM, "0.0.0.0", 3307, 1 }, /* alert, then a listen event */
		{ AF_INET, SOCK_STREAM, "0.0.0.0", 3308, 0 }, /* confine: confined_addr */
		{ AF_INET, SOCK_DGRAM, "0.0.0.0", 3309, 0 }, /* deny, udp */
		{ AF_INET, SOCK_STREAM, "0.0.0.0", 4444, 0 }, /* no rule: rule null */
	};
	static const int want[] = { EPERM, EPERM, 0, 0, 0, EPERM, 0 };
	const char *args[] = { "--policy", policy_path, "--log-allowed", "-f", fmt, NULL };
	const char *bind_ev[] = { "\"event\":\"bind\"", NULL };
	const char *text_ev[] = { " bind tcp 0.0.0.0:4444 ", NULL };
	int n = (int)(sizeof(ops) / sizeof(ops[0])), ok;

	/* sb_agent_start() waits for the JSON ready line: in text it is "TS agent ready ...". */
	if (agent_start_in(-1, args, strcmp(fmt, "text") ? NULL : " agent ready ") != 0) {
		SB_CHECK(0, "agent start -f %s", fmt);
		return -1;
	}
	/*
	 * The worker lives until its events are written (the last op's is last), so that each
	 * record is enriched the same way in both runs (its exe is read from /proc/PID).
	 */
	if (!strcmp(fmt, "text"))
		ok = run_ops_held(ops, n, want, text_ev, 1);
	else
		ok = run_ops_held(ops, n, want, bind_ev, 7);
	SB_CHECK(ok == n, "-f %s: every bind as expected (%d of %d)", fmt, ok, n);
	SB_CHECK(sb_agent_stop(&sb) == 0, "-f %s: agent stops cleanly", fmt);
	return rename(sb.out_path, path);
}

static void run_text_json(void)
{
	/* Values that are the same in both runs (not ts, seq, pid, netns, counters). */
	static const char *const stable[] = { "event",	       "verdict", "mode", "rule", "expose",
					      "action",	       "hook",	  "comm", "uid",  "gid",
					      "family",	       "proto",	  "addr", "port", "hint",
					      "confined_addr", "state",	  NULL };
	char tpath[PATH_MAX + 16], jpath[PATH_MAX + 16], jv[512];
	struct trec *t = NULL;
	json_t **j = NULL;
	int nt, nj, i, events = 0, hints = 0;

	printf("--- -f text and -f json on the same binds: the same keys, the same values\n");
	snprintf(tpath, sizeof(tpath), "%s/out.text", sb.tmpdir);
	snprintf(jpath, sizeof(jpath), "%s/out.json", sb.tmpdir);
	if (run_format("text", tpath) || run_format("json", jpath)) {
		SB_CHECK(0, "both runs");
		return;
	}
	t = read_text(tpath, &nt);
	j = read_json(jpath, &nj);
	SB_CHECK(t && j && nt == nj && nt > 0, "as many text records as JSON ones (%d, %d)", nt,
		 nj);
	for (i = 0; t && j && i < nt && i < nj; i++) {
		const char *k, *tv;
		const char *const *s;
		json_t *v;
		int missing = 0;

		SB_CHECK(t[i].n == (int)json_object_size(j[i]),
			 "record %d (%s %s): %d text keys, %zu JSON keys", i,
			 trec_get(&t[i], "event") ?: "?", trec_get(&t[i], "state") ?: "", t[i].n,
			 json_object_size(j[i]));
		json_object_foreach(j[i], k, v)
		{
			if (!trec_get(&t[i], k)) {
				missing++;
				fprintf(stderr, "record %d: text lacks %s\n", i, k);
			}
		}
		SB_CHECK(!missing, "record %d: every JSON key is in the text record", i);
		for (s = stable; *s; s++) {
			v = json_object_get(j[i], *s);
			tv = trec_get(&t[i], *s);
			if (!v && !tv)
				continue;
			if (!v || !tv) {
				SB_CHECK(0, "record %d: %s in one format only", i, *s);
				continue;
			}
			text_of(v, jv, sizeof(jv));
			SB_CHECK(!strcmp(jv, tv), "record %d: %s is %s in JSON and %s in text", i,
				 *s, jv, tv);
		}
		events += !json_object_get(j[i], "state");
		hints += trec_get(&t[i], "hint") != NULL;
	}
	SB_CHECK(events >= 7, "the bind events (and the listen) are compared: %d", events);
	SB_CHECK(hints == 3,
		 "the three events on mysql's port (two denies, one allowed) carry its hint on the "
		 "next line: %d",
		 hints);
	free(t);
	for (i = 0; j && i < nj; i++)
		json_decref(j[i]);
	free(j);
}

int main(void)
{
	int err = sb_setup(&sb, "service");

	if (err)
		return err;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!realpath(sb.bin, bin_abs)) {
		fprintf(stderr, "itest_service: %s: %s\n", sb.bin, strerror(errno));
		return 1;
	}
	sb.bin = bin_abs;
	if (!sb_write_tmp(&sb, "policy.yaml", policy_yaml) ||
	    snprintf(policy_path, sizeof(policy_path), "%s/policy.yaml", sb.tmpdir) >=
		    (int)sizeof(policy_path)) {
		fprintf(stderr, "itest_service: cannot write the policy\n");
		return 1;
	}
	sb_on_teardown(ns_teardown, NULL);

	run_metrics();
	run_metrics_errors();
	run_healthz_sink();
	run_healthz_detached();
	run_healthz_slowloris();
	run_journald();
	run_syslog();
	run_rotation();
	run_text_json();

	sb_teardown(&sb);
	return sb_report("itest_service");
}
