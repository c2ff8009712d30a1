// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * readfile.c - read a small file whole (see readfile.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "readfile.h"

char *bg_read_file(const char *path, size_t max, size_t *len)
{
	char *buf = NULL, *nb;
	size_t cap = 0, n = 0;
	ssize_t got;
	int fd;

	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return NULL;
	for (;;) {
		if (n == cap) {
			if (cap >= max)
				break;
			cap = cap ? cap * 2 : 16384;
			if (cap > max)
				cap = max;
			nb = realloc(buf, cap);
			if (!nb)
				break;
			buf = nb;
		}
		got = read(fd, buf + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	close(fd);
	*len = n;
	return buf;
}
