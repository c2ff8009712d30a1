// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/nsfs.h>
#include <linux/sockios.h>
#include <unistd.h>

#include "log.h"
#include "sockets.h"

/* Network namespaces already walked, by (dev, ino) of their nsfs inode. */
struct ns_seen {
	dev_t dev;
	ino_t ino;
};

struct ns_set {
	struct ns_seen *v;
	size_t n, cap;
};

static int ns_set_add(struct ns_set *set, const struct stat *st)
{
	struct ns_seen *nv;
	size_t i;

	for (i = 0; i < set->n; i++)
		if (set->v[i].dev == st->st_dev && set->v[i].ino == st->st_ino)
			return 0;
	if (set->n == set->cap) {
		nv = realloc(set->v, (set->cap ? set->cap * 2 : 16) * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		set->v = nv;
		set->cap = set->cap ? set->cap * 2 : 16;
	}
	set->v[set->n].dev = st->st_dev;
	set->v[set->n].ino = st->st_ino;
	set->n++;
	return 1;
}

static int list_push(struct bg_sock_list *out, const struct bg_sock_rec *rec)
{
	struct bg_sock_info *nv;

	if (out->n == out->cap) {
		size_t cap = out->cap ? out->cap * 2 : 64;

		nv = realloc(out->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		out->v = nv;
		out->cap = cap;
	}
	memset(&out->v[out->n], 0, sizeof(out->v[out->n]));
	out->v[out->n].rec = *rec;
	out->n++;
	return 0;
}

const struct bg_netns_info *bg_sock_list_netns(const struct bg_sock_list *list, __u32 netns)
{
	size_t i;

	for (i = 0; i < list->n_ns; i++)
		if (list->ns[i].ino == netns)
			return &list->ns[i];
	return NULL;
}

/* The entry of netns ino in out->ns, made (zeroed) on first sight; NULL when out of memory. */
static struct bg_netns_info *ns_info(struct bg_sock_list *out, __u32 ino)
{
	struct bg_netns_info *nv = (struct bg_netns_info *)bg_sock_list_netns(out, ino);

	if (nv)
		return nv;
	if (out->n_ns == out->cap_ns) {
		size_t cap = out->cap_ns ? out->cap_ns * 2 : 16;

		nv = realloc(out->ns, cap * sizeof(*nv));
		if (!nv)
			return NULL;
		out->ns = nv;
		out->cap_ns = cap;
	}
	memset(&out->ns[out->n_ns], 0, sizeof(out->ns[0]));
	out->ns[out->n_ns].ino = ino;
	return &out->ns[out->n_ns++];
}

int bg_netns_port_range(__u16 *lo, __u16 *hi)
{
	unsigned int a, b;
	int err = -EINVAL;
	FILE *f;

	/* /proc/sys/net is the netns of whoever opens it: it follows setns(). */
	f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "re");
	if (!f)
		return -errno;
	if (fscanf(f, "%u %u", &a, &b) == 2 && a && a <= b && b <= 65535) {
		*lo = (__u16)a;
		*hi = (__u16)b;
		err = 0;
	}
	fclose(f);
	return err;
}

/* Read every record of one iterator fd; a record may straddle two read()s. */
static int read_iter(int fd, struct bg_sock_list *out)
{
	char buf[sizeof(struct bg_sock_rec) * 64];
	struct bg_sock_rec rec;
	size_t have = 0, off;
	ssize_t n;
	int err;

	for (;;) {
		n = read(fd, buf + have, sizeof(buf) - have);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		have += n;
		for (off = 0; have - off >= sizeof(rec); off += sizeof(rec)) {
			memcpy(&rec, buf + off, sizeof(rec));
			err = list_push(out, &rec);
			if (err)
				return err;
		}
		memmove(buf, buf + off, have - off);
		have -= off;
	}
	return have ? -EPROTO : 0;
}

/* Walk the sockets of the netns the calling thread is in now. */
static int walk_here(struct bg_loader *l, int do_close, struct bg_sock_list *out)
{
	int proto, fd, err;

	for (proto = 0; proto < BG_NR_PROTOS; proto++) {
		fd = bg_loader_iter_open(l, proto, do_close);
		if (fd < 0)
			return fd;
		err = read_iter(fd, out);
		close(fd);
		if (err)
			return err;
	}
	return 0;
}

/* Walk the netns of nsfd (already fstat'ed into st) unless it was walked; come back home. */
static int walk_ns_at(struct bg_loader *l, int do_close, int nsfd, const struct stat *st,
		      int self_fd, struct ns_set *seen, struct bg_sock_list *out)
{
	struct bg_netns_info *ni;
	int err;

	err = ns_set_add(seen, st);
	if (err <= 0)
		return err;
	if (setns(nsfd, CLONE_NEWNET) < 0) {
		bg_dbg("setns: %s\n", strerror(errno));
		return 0;
	}
	out->n_netns++;
	ni = ns_info(out, (__u32)st->st_ino);
	if (ni)
		bg_netns_port_range(&ni->eph_lo, &ni->eph_hi);
	err = walk_here(l, do_close, out);
	/* Always go home, whatever the walk did. */
	if (setns(self_fd, CLONE_NEWNET) < 0) {
		bg_err("cannot return to the agent's network namespace: %s\n", strerror(errno));
		abort(); /* running on in a foreign netns would be worse */
	}
	return err;
}

/* Walk the netns of the file at path; name: its name under /run/netns, or NULL. */
static int walk_ns_file(struct bg_loader *l, int do_close, const char *path, const char *name,
			int self_fd, struct ns_set *seen, struct bg_sock_list *out)
{
	struct bg_netns_info *ni;
	struct stat st;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0; /* the process exited, or the mount went away: nothing to walk */
	if (fstat(fd, &st) == 0) {
		/* Named whether or not a process in it was walked already. */
		ni = name ? ns_info(out, (__u32)st.st_ino) : NULL;
		if (ni && !ni->name[0])
			snprintf(ni->name, sizeof(ni->name), "%s", name);
		err = walk_ns_at(l, do_close, fd, &st, self_fd, seen, out);
	}
	close(fd);
	return err;
}

/*
 * Walk the namespace file of every entry of dir: "<dir>/<entry><suffix>". With pids_only, only
 * numeric entries (/proc). A directory that does not exist holds nothing to walk.
 */
static int walk_ns_dir(struct bg_loader *l, int do_close, const char *dir, const char *suffix,
		       int pids_only, int self_fd, struct ns_set *seen, struct bg_sock_list *out)
{
	struct dirent *de;
	char path[600];
	int err = 0;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (pids_only && (de->d_name[0] < '0' || de->d_name[0] > '9'))
			continue;
		snprintf(path, sizeof(path), "%s/%s%s", dir, de->d_name, suffix);
		err = walk_ns_file(l, do_close, path, pids_only ? NULL : de->d_name, self_fd, seen,
				   out);
		if (err)
			break;
	}
	closedir(d);
	return err;
}

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

/*
 * An fd of the network namespace a process holds by its descriptor fd, taken with pidfd_getfd
 * (5.6): for a socket, asked for its netns (SIOCGSKNS); for an nsfs file, the file itself once
 * it is seen to be a netns. Never open() through /proc/PID/fd: between the iterator's look and
 * ours, the owner can dup2() the read end of a pipe with no writer onto that number, and
 * opening that blocks until a writer comes (a reconcile that never ends). -errno if the process
 * or descriptor went away meanwhile, or the descriptor is no longer what it was.
 */
static int netns_of_fd(const struct bg_ns_rec *r)
{
	int pidfd, fd, nsfd;

	pidfd = syscall(SYS_pidfd_open, (pid_t)r->tgid, 0);
	if (pidfd < 0)
		return -errno;
	fd = syscall(SYS_pidfd_getfd, pidfd, (int)r->fd, 0);
	close(pidfd);
	if (fd < 0)
		return -errno;
	if (r->kind == BG_NSREC_NSFS) {
		if (ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET) {
			close(fd);
			return -ESTALE;
		}
		return fd;
	}
	nsfd = ioctl(fd, SIOCGSKNS);
	close(fd);
	return nsfd < 0 ? -errno : nsfd;
}

/*
 * The network namespaces no process lives in and nothing mounts: a worker that made one,
 * listened there and setns()ed back out keeps it alive by its socket alone. The file iterator
 * names one holder per netns; those not walked yet are walked through that holder.
 */
static int walk_held(struct bg_loader *l, int do_close, int self_fd, struct ns_set *seen,
		     struct bg_sock_list *out)
{
	struct bg_ns_rec recs[256];
	struct stat st;
	ssize_t n;
	size_t i, j;
	int fd, nsfd, err = 0, known;

	fd = bg_loader_files_open(l);
	if (fd < 0)
		return fd;
	while ((n = read(fd, recs, sizeof(recs))) > 0 || (n < 0 && errno == EINTR)) {
		for (i = 0; n > 0 && i < (size_t)n / sizeof(recs[0]); i++) {
			for (j = 0, known = 0; j < seen->n && !known; j++)
				known = seen->v[j].ino == recs[i].netns;
			if (known)
				continue;
			nsfd = netns_of_fd(&recs[i]);
			if (nsfd < 0) {
				bg_dbg("netns %u held by pid %u fd %u: %s\n", recs[i].netns,
				       recs[i].tgid, recs[i].fd, strerror(-nsfd));
				continue;
			}
			err = fstat(nsfd, &st) < 0 ?
				      0 :
				      walk_ns_at(l, do_close, nsfd, &st, self_fd, seen, out);
			close(nsfd);
			if (err)
				goto out;
		}
	}
	if (n < 0)
		err = -errno;
out:
	close(fd);
	return err;
}

int bg_sockets_collect(struct bg_loader *l, int do_close, struct bg_sock_list *out)
{
	struct ns_set seen = { 0 };
	int self_fd, err;

	self_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self_fd < 0)
		return -errno;

	/* The agent's own netns first, then every process's, then named ones without processes. */
	err = walk_ns_file(l, do_close, "/proc/self/ns/net", NULL, self_fd, &seen, out);
	if (!err)
		err = walk_ns_dir(l, do_close, "/proc", "/ns/net", 1, self_fd, &seen, out);
	if (!err)
		err = walk_ns_dir(l, do_close, "/run/netns", "", 0, self_fd, &seen, out);
	if (!err)
		err = walk_ns_dir(l, do_close, "/var/run/netns", "", 0, self_fd, &seen, out);
	if (!err)
		err = walk_held(l, do_close, self_fd, &seen, out);
	free(seen.v);
	close(self_fd);
	return err;
}

static int cmp_ino(const void *a, const void *b)
{
	const struct bg_sock_info *x = *(struct bg_sock_info *const *)a;
	const struct bg_sock_info *y = *(struct bg_sock_info *const *)b;

	return x->rec.ino < y->rec.ino ? -1 : x->rec.ino > y->rec.ino;
}

/* What attribution copies from a process to each socket it holds: read once per process. */
struct owner {
	int pid;
	__u32 gid;
	char comm[BG_COMM_LEN];
	char cgroup[256];
};

static void read_owner(struct owner *o, int pid)
{
	char path[64], line[512];
	FILE *f;
	size_t n;

	memset(o, 0, sizeof(*o));
	o->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "re");
	if (f) {
		if (fgets(o->comm, sizeof(o->comm), f)) {
			n = strlen(o->comm);
			if (n && o->comm[n - 1] == '\n')
				o->comm[n - 1] = '\0';
		}
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (f) {
		unsigned int gid;

		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "Gid:\t%u", &gid) == 1) {
				o->gid = gid;
				break;
			}
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::", 3) != 0)
			continue;
		n = strcspn(line + 3, "\n");
		if (n >= sizeof(o->cgroup))
			n = sizeof(o->cgroup) - 1;
		memcpy(o->cgroup, line + 3, n);
		o->cgroup[n] = '\0';
		break;
	}
	fclose(f);
}

static void set_owner(struct bg_sock_info *si, const struct owner *o)
{
	si->pid = o->pid;
	si->gid = o->gid;
	memcpy(si->comm, o->comm, sizeof(si->comm));
	memcpy(si->cgroup, o->cgroup, sizeof(si->cgroup));
}

int bg_sockets_attribute(struct bg_sock_list *list)
{
	return bg_sockets_attribute_if(list, NULL, NULL);
}

/*
 * The cost is one readlink() per descriptor of every process (a socket's only link to its
 * holders is socket:[ino] in /proc/PID/fd), plus three small reads per holding process. So
 * nothing is walked when no socket is wanted (a reconcile that found no violation), and a
 * process holding thousands of sockets is read once, not once per socket.
 */
int bg_sockets_attribute_if(struct bg_sock_list *list,
			    int (*want)(const struct bg_sock_info *si, void *ctx), void *ctx)
{
	struct bg_sock_info **by_ino, key, *kp, **hit;
	char path[600], link[64];
	struct dirent *de, *fe;
	unsigned long long ino;
	struct owner cur;
	DIR *d, *fd_dir;
	size_t i, n = 0;
	ssize_t len;
	int pid;

	if (!list->n)
		return 0;
	by_ino = malloc(list->n * sizeof(*by_ino));
	if (!by_ino)
		return -ENOMEM;
	for (i = 0; i < list->n; i++)
		if (!want || want(&list->v[i], ctx))
			by_ino[n++] = &list->v[i];
	if (!n) {
		free(by_ino);
		return 0;
	}
	qsort(by_ino, n, sizeof(*by_ino), cmp_ino);

	d = opendir("/proc");
	if (!d) {
		free(by_ino);
		return -errno;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		pid = atoi(de->d_name);
		cur.pid = 0; /* read on its first socket, once */
		snprintf(path, sizeof(path), "/proc/%s/fd", de->d_name);
		fd_dir = opendir(path);
		if (!fd_dir)
			continue;
		while ((fe = readdir(fd_dir))) {
			if (fe->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%s/fd/%s", de->d_name, fe->d_name);
			len = readlink(path, link, sizeof(link) - 1);
			if (len <= 0)
				continue;
			link[len] = '\0';
			if (sscanf(link, "socket:[%llu]", &ino) != 1)
				continue;
			key.rec.ino = ino;
			kp = &key;
			hit = bsearch(&kp, by_ino, n, sizeof(*by_ino), cmp_ino);
			if (!hit)
				continue;
			/* Every entry with that inode (one socket, maybe walked once). */
			while (hit > by_ino && (*(hit - 1))->rec.ino == ino)
				hit--;
			for (; hit < by_ino + n && (*hit)->rec.ino == ino; hit++) {
				(*hit)->n_owners++;
				if ((*hit)->pid && pid >= (*hit)->pid)
					continue;
				if (cur.pid != pid)
					read_owner(&cur, pid);
				set_owner(*hit, &cur);
			}
		}
		closedir(fd_dir);
	}
	closedir(d);
	free(by_ino);
	return 0;
}

void bg_sockets_to_event(const struct bg_sock_info *si, struct bg_event *ev)
{
	const struct bg_sock_rec *r = &si->rec;

	memset(ev, 0, sizeof(*ev));
	ev->type = BG_EVENT_EXISTING;
	ev->hook = BG_HOOK_ITER;
	ev->cgroup_id = r->cgroup_id;
	ev->pid = si->pid;
	ev->uid = r->uid;
	ev->gid = si->gid;
	ev->netns = r->netns;
	memcpy(ev->addr, r->addr, 16);
	ev->port = r->port;
	ev->rule_id = r->rule_id;
	ev->gen = r->gen;
	ev->family = r->family;
	ev->proto = r->proto;
	ev->verdict = r->verdict;
	ev->action = r->action;
	ev->expose = r->expose;
	ev->mode = r->mode;
	ev->class = r->class;
	if (r->closed)
		ev->flags |= BG_EV_F_CLOSED;
	if (!si->pid)
		ev->flags |= BG_EV_F_NO_TASK;
	memcpy(ev->comm, si->comm, BG_COMM_LEN);
}

void bg_sock_list_release(struct bg_sock_list *list)
{
	free(list->v);
	free(list->ns);
	memset(list, 0, sizeof(*list));
}
