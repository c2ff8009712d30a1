// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * bgbind - the binds the systemd guest test makes (built static on the host, so the guest
 * needs no compiler or interpreter).
 *
 *   bgbind bind ADDR PORT           one TCP bind; exit 0 if it succeeded, 10 on EPERM, 1 else
 *   bgbind listen ADDR PORT         bind + listen, print "listening pid=N", wait to be killed
 *   bgbind loop ADDR PORT STOPFILE  socket + bind + close until STOPFILE exists, then print
 *                                   "ok=N eperm=N other=N first_ok_ms=N" (ms since the start of
 *                                   the loop of the first bind that succeeded, -1 if none)
 *
 * ADDR is IPv4 or IPv6. Every bind sets SO_REUSEADDR, so a bind that succeeds never makes the
 * next one fail with EADDRINUSE.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define EXIT_EPERM 10

static int parse_addr(const char *addr, const char *port, struct sockaddr_storage *ss,
		      socklen_t *len)
{
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	char *end;
	long p;

	errno = 0;
	p = strtol(port, &end, 10);
	if (errno || *end || p < 0 || p > 65535)
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((unsigned short)p);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((unsigned short)p);
		*len = sizeof(*s6);
		return 0;
	}
	return -1;
}

/* One socket bound to ss: the fd, or -errno. */
static int bind_one(const struct sockaddr_storage *ss, socklen_t len)
{
	int one = 1, fd, err;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, len) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	unsigned long long ok = 0, eperm = 0, other = 0;
	long long start, first_ok = -1;
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	if (argc < 4 || parse_addr(argv[2], argv[3], &ss, &len)) {
		fprintf(stderr, "usage: bgbind bind|listen|loop ADDR PORT [STOPFILE]\n");
		return 2;
	}
	if (strcmp(argv[1], "bind") == 0) {
		fd = bind_one(&ss, len);
		if (fd >= 0) {
			printf("bound %s:%s pid=%d\n", argv[2], argv[3], getpid());
			return 0;
		}
		printf("bind %s:%s: %s pid=%d\n", argv[2], argv[3], strerror(-fd), getpid());
		return fd == -EPERM ? EXIT_EPERM : 1;
	}
	if (strcmp(argv[1], "listen") == 0) {
		fd = bind_one(&ss, len);
		if (fd < 0 || listen(fd, 16) < 0) {
			printf("listen %s:%s: %s\n", argv[2], argv[3],
			       strerror(fd < 0 ? -fd : errno));
			return fd == -EPERM ? EXIT_EPERM : 1;
		}
		printf("listening pid=%d\n", getpid());
		fflush(stdout);
		for (;;)
			pause();
	}
	if (strcmp(argv[1], "loop") == 0 && argc == 5) {
		start = now_ms();
		while (access(argv[4], F_OK) != 0) {
			fd = bind_one(&ss, len);
			if (fd >= 0) {
				if (first_ok < 0)
					first_ok = now_ms() - start;
				ok++;
				close(fd);
			} else if (fd == -EPERM) {
				eperm++;
			} else {
				other++;
			}
		}
		printf("ok=%llu eperm=%llu other=%llu first_ok_ms=%lld\n", ok, eperm, other,
		       first_ok);
		return 0;
	}
	fprintf(stderr, "usage: bgbind bind|listen|loop ADDR PORT [STOPFILE]\n");
	return 2;
}
