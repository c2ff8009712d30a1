// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * policy_watch.c - reload the policy when its file changes (see policy_watch.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy.h"
#include "policy_watch.h"
#include "readfile.h"

/* One byte past the parser's cap: a file that grew past it changes too (and its reload fails). */
#define BG_PWATCH_MAX_BYTES (BG_POLICY_MAX_BYTES + 1)

struct bg_pwatch {
	int fd;
	char name[NAME_MAX + 1]; /* the file's name in its directory */
	char path[PATH_MAX];
	unsigned long long tried; /* hash of the last text tried (or in force) */
	long long settle_at; /* ms; 0 when nothing is pending */
};

/* FNV-1a: a change detector, not a security boundary (the reload parses the file anyway). */
static unsigned long long hash(const char *s, size_t n)
{
	unsigned long long h = 1469598103934665603ULL;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h ^ n;
}

struct bg_pwatch *bg_pwatch_new(const char *path, const char *text, size_t len)
{
	char dir[PATH_MAX];
	struct bg_pwatch *w;
	const char *slash;

	if (!path || strlen(path) >= sizeof(dir)) {
		errno = EINVAL;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	slash = strrchr(path, '/');
	if (slash) {
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
		if (!dir[0])
			snprintf(dir, sizeof(dir), "/");
		snprintf(w->name, sizeof(w->name), "%s", slash + 1);
	} else {
		snprintf(dir, sizeof(dir), ".");
		snprintf(w->name, sizeof(w->name), "%s", path);
	}
	snprintf(w->path, sizeof(w->path), "%s", path);
	w->tried = hash(text ? text : "", text ? len : 0);
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0 || inotify_add_watch(w->fd, dir,
					   IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE |
						   IN_DELETE_SELF | IN_MOVE_SELF) < 0) {
		int err = errno;

		bg_pwatch_free(w);
		errno = err;
		return NULL;
	}
	return w;
}

void bg_pwatch_free(struct bg_pwatch *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	free(w);
}

int bg_pwatch_fd(const struct bg_pwatch *w)
{
	return w ? w->fd : -1;
}

int bg_pwatch_read(struct bg_pwatch *w, long long now_ms)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	const struct inotify_event *ev;
	int hit = 0;
	ssize_t len;
	char *at;

	if (!w)
		return 0;
	while ((len = read(w->fd, buf, sizeof(buf))) > 0) {
		for (at = buf; at < buf + len; at += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)at;
			if (ev->mask & IN_Q_OVERFLOW)
				hit = 1;
			else if (ev->len &&
				 (!strcmp(ev->name, w->name) || !strcmp(ev->name, "..data")))
				hit = 1;
		}
	}
	if (hit)
		w->settle_at = now_ms + BG_PWATCH_SETTLE_MS;
	return hit;
}

int bg_pwatch_due(struct bg_pwatch *w, long long now_ms)
{
	unsigned long long h;
	char *text;
	size_t n;

	if (!w || !w->settle_at || now_ms < w->settle_at)
		return 0;
	w->settle_at = 0;
	/* Non-blocking: a FIFO in its place gives nothing rather than hang the agent. */
	text = bg_read_file(w->path, BG_PWATCH_MAX_BYTES, &n);
	if (!text)
		return 0; /* gone for now (mid-swap): the swap's last event brings us back */
	h = hash(text ? text : "", n);
	free(text);
	if (h == w->tried)
		return 0;
	w->tried = h;
	return 1;
}

void bg_pwatch_set(struct bg_pwatch *w, const char *text, size_t len)
{
	if (w)
		w->tried = hash(text ? text : "", text ? len : 0);
}
