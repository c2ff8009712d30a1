// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bindprobe.c - the workload of the Kubernetes tests: bind the given addresses, say what happened.
 *
 *   bindprobe [--listen] [--hold] [--repeat N] [--interval MS] SPEC...
 *   SPEC := (tcp|udp)(4|6):ADDR:PORT    e.g. tcp4:0.0.0.0:3306  udp6:[::1]:53  tcp6:[::]:10024
 *
 * One line per attempt on stdout, flushed at once, so a test can read it from the container log:
 *
 *   bind tcp4 0.0.0.0:3306 EPERM
 *   bind tcp4 127.0.0.1:10024 ok
 *   listen tcp4 127.0.0.1:10024 ok
 *
 * --listen   listen() on every TCP socket that bound
 * --hold     keep the sockets and wait for SIGTERM/SIGINT after the last attempt (a container
 *            that stays running, so its cgroup and netns can be inspected)
 * --repeat N run the whole list N times (sockets of earlier rounds are closed first)
 * --interval MS between rounds
 *
 * Exit 0 once every attempt was made (whatever their results), 2 on a usage error. Built static:
 * the workload image holds this file only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SPECS 64

struct spec {
	const char *text; /* as given, for the output line */
	int family; /* AF_INET or AF_INET6 */
	int type; /* SOCK_STREAM or SOCK_DGRAM */
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int fd;
};

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static const char *errname(int err)
{
	switch (err) {
	case EPERM:
		return "EPERM";
	case EACCES:
		return "EACCES";
	case EADDRINUSE:
		return "EADDRINUSE";
	case EADDRNOTAVAIL:
		return "EADDRNOTAVAIL";
	case EAFNOSUPPORT:
		return "EAFNOSUPPORT";
	case EINVAL:
		return "EINVAL";
	default:
		return NULL;
	}
}

static void report(const char *what, const struct spec *s, int err)
{
	const char *name = errname(err);

	if (!err)
		printf("%s %s ok\n", what, s->text);
	else if (name)
		printf("%s %s %s\n", what, s->text, name);
	else
		printf("%s %s errno%d\n", what, s->text, err);
}

/* Returns 0 or -EINVAL; the spec is left untouched on failure. */
static int spec_parse(const char *text, struct spec *out)
{
	struct spec s = { .text = text, .fd = -1 };
	char buf[128], *addr, *port, *end;
	unsigned long p;

	if (strlen(text) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, text);
	if (!strncmp(buf, "tcp", 3))
		s.type = SOCK_STREAM;
	else if (!strncmp(buf, "udp", 3))
		s.type = SOCK_DGRAM;
	else
		return -EINVAL;
	if (buf[3] == '4')
		s.family = AF_INET;
	else if (buf[3] == '6')
		s.family = AF_INET6;
	else
		return -EINVAL;
	if (buf[4] != ':')
		return -EINVAL;
	addr = buf + 5;
	if (s.family == AF_INET6) {
		if (*addr != '[')
			return -EINVAL;
		addr++;
		end = strchr(addr, ']');
		if (!end || end[1] != ':')
			return -EINVAL;
		*end = '\0';
		port = end + 2;
	} else {
		port = strrchr(addr, ':');
		if (!port)
			return -EINVAL;
		*port++ = '\0';
	}
	errno = 0;
	p = strtoul(port, &end, 10);
	if (errno || end == port || *end || p > 65535)
		return -EINVAL;

	memset(&s.addr, 0, sizeof(s.addr));
	if (s.family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&s.addr;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((unsigned short)p);
		if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1)
			return -EINVAL;
		s.addrlen = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&s.addr;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((unsigned short)p);
		if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) != 1)
			return -EINVAL;
		s.addrlen = sizeof(*sin6);
	}
	*out = s;
	return 0;
}

static void attempt(struct spec *s, int do_listen)
{
	int one = 1, fd, err;

	fd = socket(s->family, s->type | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		report("socket", s, errno);
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	err = bind(fd, (struct sockaddr *)&s->addr, s->addrlen) ? errno : 0;
	report("bind", s, err);
	if (err) {
		close(fd);
		return;
	}
	if (do_listen && s->type == SOCK_STREAM)
		report("listen", s, listen(fd, 16) ? errno : 0);
	s->fd = fd;
}

static void usage(void)
{
	fprintf(stderr, "usage: bindprobe [--listen] [--hold] [--repeat N] [--interval MS] "
			"(tcp|udp)(4|6):ADDR:PORT...\n");
}

int main(int argc, char **argv)
{
	struct spec specs[MAX_SPECS];
	int n = 0, do_listen = 0, hold = 0, i, r;
	long repeat = 1, interval_ms = 0;
	struct sigaction sa = { .sa_handler = on_stop };

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--listen")) {
			do_listen = 1;
		} else if (!strcmp(argv[i], "--hold")) {
			hold = 1;
		} else if ((!strcmp(argv[i], "--repeat") || !strcmp(argv[i], "--interval")) &&
			   i + 1 < argc) {
			char *end;
			long v;

			errno = 0;
			v = strtol(argv[i + 1], &end, 10);
			if (errno || *end || end == argv[i + 1] || v < 0 || v > 1000000) {
				usage();
				return 2;
			}
			if (argv[i][2] == 'r')
				repeat = v;
			else
				interval_ms = v;
			i++;
		} else if (n < MAX_SPECS && !spec_parse(argv[i], &specs[n])) {
			n++;
		} else {
			fprintf(stderr, "bindprobe: bad argument '%s'\n", argv[i]);
			usage();
			return 2;
		}
	}
	if (!n) {
		usage();
		return 2;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	printf("bindprobe pid %d\n", (int)getpid());
	for (r = 0; r < repeat && !stop; r++) {
		if (r && interval_ms) {
			struct timespec ts = { interval_ms / 1000, (interval_ms % 1000) * 1000000 };

			nanosleep(&ts, NULL);
		}
		for (i = 0; i < n; i++) {
			if (specs[i].fd >= 0) {
				close(specs[i].fd);
				specs[i].fd = -1;
			}
			attempt(&specs[i], do_listen);
		}
	}
	printf("bindprobe done\n");
	if (hold)
		while (!stop)
			pause();
	return 0;
}
