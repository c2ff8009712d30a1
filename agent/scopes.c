// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * scopes.c - which cgroups each scope of the policy takes (see scopes.h).
 *
 * Every cgroup directory below the enforced cgroup is a node: its id (the directory's inode
 * number, which is the cgroup id on cgroup v2), its depth below the cgroup v2 root, and the
 * scope it was last put in. inotify watches every directory, so a cgroup is classified as it is
 * made. Kubernetes names come from the container runtime's state (whois.c): a container's from
 * its own config.json, a pod's cgroup from its containers'. A container cgroup whose state is
 * not readable yet is classified by its path alone and tried again each second for
 * BG_SCOPE_RETRY_S seconds.
 *
 * The node list is a flat array searched linearly: a node has a few hundred cgroups below its
 * root, and the searches run only when one is made or removed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "scopes.h"
#include "whois.h"

#define BG_SCOPE_RETRY_S 30 /* how long a container's runtime state is waited for */
#define BG_SCOPE_MAX_DEPTH 32 /* below the enforced cgroup; deeper trees are cut (warned) */

struct node {
	__u64 id;
	char *path; /* relative to the mount: "/kubepods.slice/..." */
	__u32 level; /* depth below the cgroup v2 root */
	__u32 scope; /* in the kernel: 0 none */
	int wd; /* inotify watch, -1 none */
	int kind; /* BG_CG_* */
	int retries; /* seconds left to wait for the runtime's state, 0 done */
	int seen; /* rescan mark */
	char ns[64], pod[254]; /* "" while unknown */
};

struct bg_scopes {
	char mount[PATH_MAX];
	char root[PATH_MAX]; /* relative to the mount */
	struct bg_whois *whois;
	int ifd;
	int watching; /* the tree has been walked and is watched */
	int warned_depth, warned_watch;
	long long last_retry;
	struct node *nodes;
	size_t n, cap;
};

static long long mono_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec;
}

static __u32 path_level(const char *path)
{
	__u32 level = 0;
	const char *p;

	for (p = path; *p; p++)
		if (*p == '/' && p[1] && p[1] != '/')
			level++;
	return level;
}

struct bg_scopes *bg_scopes_new(const char *mount, const char *root, struct bg_whois *whois)
{
	struct bg_scopes *s;
	size_t ml;

	if (!mount || !root)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	snprintf(s->mount, sizeof(s->mount), "%s", mount);
	ml = strlen(s->mount);
	while (ml > 1 && s->mount[ml - 1] == '/')
		s->mount[--ml] = '\0';
	/* root may be given whole ("/sys/fs/cgroup/x") or relative to the mount ("/x"). */
	if (!strncmp(root, s->mount, ml) && (root[ml] == '/' || !root[ml]))
		root += ml;
	snprintf(s->root, sizeof(s->root), "%s", *root ? root : "/");
	ml = strlen(s->root);
	while (ml > 1 && s->root[ml - 1] == '/')
		s->root[--ml] = '\0';
	s->whois = whois;
	s->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (s->ifd < 0) {
		free(s);
		return NULL;
	}
	return s;
}

static void node_drop(struct bg_scopes *s, size_t i)
{
	free(s->nodes[i].path);
	s->nodes[i] = s->nodes[--s->n];
}

static void unwatch_all(struct bg_scopes *s)
{
	while (s->n) {
		if (s->nodes[s->n - 1].wd >= 0)
			inotify_rm_watch(s->ifd, s->nodes[s->n - 1].wd);
		node_drop(s, s->n - 1);
	}
	s->watching = 0;
}

void bg_scopes_free(struct bg_scopes *s)
{
	if (!s)
		return;
	unwatch_all(s);
	if (s->ifd >= 0)
		close(s->ifd);
	free(s->nodes);
	free(s);
}

int bg_scopes_fd(const struct bg_scopes *s)
{
	return s ? s->ifd : -1;
}

static struct node *find_id(struct bg_scopes *s, __u64 id)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->nodes[i].id == id)
			return &s->nodes[i];
	return NULL;
}

static struct node *find_wd(struct bg_scopes *s, int wd)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->nodes[i].wd == wd)
			return &s->nodes[i];
	return NULL;
}

static struct node *find_path(struct bg_scopes *s, const char *path)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (!strcmp(s->nodes[i].path, path))
			return &s->nodes[i];
	return NULL;
}

__u32 bg_scopes_of(const struct bg_scopes *s, const char *path)
{
	size_t i;

	for (i = 0; s && i < s->n; i++)
		if (!strcmp(s->nodes[i].path, path))
			return s->nodes[i].scope;
	return 0;
}

/*
 * Add the cgroup at rel (relative to the mount) if it is new, and watch it. The watch goes on
 * before the caller lists the directory, so a child made meanwhile is seen one way or the other.
 */
static struct node *node_add(struct bg_scopes *s, const char *rel, __u64 id)
{
	char full[PATH_MAX * 2];
	struct node *nd, *grown;

	nd = find_id(s, id);
	if (nd) {
		nd->seen = 1;
		return nd;
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;

		grown = realloc(s->nodes, cap * sizeof(*grown));
		if (!grown)
			return NULL;
		s->nodes = grown;
		s->cap = cap;
	}
	nd = &s->nodes[s->n];
	memset(nd, 0, sizeof(*nd));
	nd->path = strdup(rel);
	if (!nd->path)
		return NULL;
	nd->id = id;
	nd->level = path_level(rel);
	nd->wd = -1;
	nd->seen = 1;
	nd->kind = BG_CG_OTHER;
	{
		struct bg_cgroup_info info;

		if (bg_cgroup_parse(rel, &info) == 0)
			nd->kind = info.kind;
	}
	if (nd->kind == BG_CG_CONTAINER || nd->kind == BG_CG_POD)
		nd->retries = BG_SCOPE_RETRY_S;
	s->n++;
	snprintf(full, sizeof(full), "%s%s", s->mount, strcmp(rel, "/") ? rel : "");
	nd->wd = inotify_add_watch(s->ifd, full, IN_CREATE | IN_DELETE | IN_ONLYDIR);
	if (nd->wd < 0 && errno != ENOENT && !s->warned_watch) {
		s->warned_watch = 1;
		bg_warn("cannot watch %s for new cgroups (%s): cgroups made below it later are "
			"judged by the host rules%s\n",
			full, strerror(errno),
			errno == ENOSPC ? "; raise fs.inotify.max_user_watches" : "");
	}
	return nd;
}

/* Walk the tree below rel (depth levels below the enforced cgroup), adding what is new. */
static void walk(struct bg_scopes *s, const char *rel, int depth)
{
	char full[PATH_MAX * 2], child[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int dfd;

	snprintf(full, sizeof(full), "%s%s", s->mount, strcmp(rel, "/") ? rel : "");
	if (depth > BG_SCOPE_MAX_DEPTH) {
		if (!s->warned_depth)
			bg_warn("cgroups deeper than %d levels below %s are not classified\n",
				BG_SCOPE_MAX_DEPTH, s->root);
		s->warned_depth = 1;
		return;
	}
	dfd = open(full, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return; /* it went away */
	/*
	 * A cgroup directory a user owns was delegated to that user (systemd chowns
	 * user@UID.service to its user) or made by them: its path says whatever they chose
	 * ("…/system.slice/mariadb.service", a fake kubepods pod), so neither it nor anything
	 * below it may earn a scope's rules. It is not walked or watched at all: the host rules
	 * (or a root-owned ancestor's scope) judge it, and no user can grow this list or spend
	 * root's inotify watches. Root-owned is what systemd, the kubelet and the container
	 * runtimes make (a root service's Delegate= subtree stays root's).
	 */
	if (fstat(dfd, &st) < 0) {
		close(dfd);
		return;
	}
	if (st.st_uid != 0 && depth == 0)
		bg_warn("%s is owned by uid %u, not root: no cgroup in it takes a scope\n", full,
			(unsigned)st.st_uid);
	if (st.st_uid != 0 || !node_add(s, rel, (__u64)st.st_ino)) {
		close(dfd);
		return;
	}
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return;
	}
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(child, sizeof(child), "%s/%s", strcmp(rel, "/") ? rel : "",
				     de->d_name) >= sizeof(child))
			continue;
		walk(s, child, depth + 1);
	}
	closedir(d);
}

/* The Kubernetes names of a node, if the runtime's state has them; 0 when known. */
static int names_of(struct bg_scopes *s, struct node *nd)
{
	const struct bg_whois_entry *e;
	size_t i, pl;

	if (nd->kind == BG_CG_OTHER)
		return 0;
	if (nd->ns[0] || nd->pod[0])
		return 0;
	if (nd->kind == BG_CG_CONTAINER) {
		e = s->whois ? bg_whois_get(s->whois, nd->id) : NULL;
		if (!e || !e->have_pod)
			return -EAGAIN;
		snprintf(nd->ns, sizeof(nd->ns), "%s", e->pod.ns);
		snprintf(nd->pod, sizeof(nd->pod), "%s", e->pod.name);
		return 0;
	}
	/* A pod's cgroup: its containers' (the sandbox container comes first). */
	pl = strlen(nd->path);
	for (i = 0; i < s->n; i++) {
		struct node *c = &s->nodes[i];

		if (c->kind != BG_CG_CONTAINER || strncmp(c->path, nd->path, pl) ||
		    c->path[pl] != '/' || names_of(s, c))
			continue;
		snprintf(nd->ns, sizeof(nd->ns), "%s", c->ns);
		snprintf(nd->pod, sizeof(nd->pod), "%s", c->pod);
		return 0;
	}
	return -EAGAIN;
}

/* The scope node belongs in for p (with what is known of it now). */
static __u32 classify(struct bg_scopes *s, const struct bg_policy *p, struct node *nd)
{
	int known = names_of(s, nd) == 0;

	if (known)
		nd->retries = 0;
	return bg_policy_scope_of(p, nd->path, known && nd->kind ? nd->ns : NULL,
				  known && nd->kind ? nd->pod : NULL);
}

/* Is path the root or below it? */
static int below_root(const struct bg_scopes *s, const char *path)
{
	size_t rl = strlen(s->root);

	if (!strcmp(s->root, "/"))
		return 1;
	return !strncmp(path, s->root, rl) && (!path[rl] || path[rl] == '/');
}

static int start_watching(struct bg_scopes *s)
{
	if (s->watching)
		return 0;
	s->watching = 1;
	walk(s, s->root, 0);
	return 0;
}

int bg_scopes_classify(struct bg_scopes *s, const struct bg_policy *p, struct bg_scope_entry **out,
		       size_t *n)
{
	struct bg_scope_entry *e;
	size_t i, k = 0;
	int err;

	*out = NULL;
	*n = 0;
	if (!s)
		return 0;
	if (!p || !p->n_scopes) {
		unwatch_all(s);
		return 0;
	}
	err = start_watching(s);
	if (err)
		return err;
	e = calloc(s->n ? s->n : 1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	for (i = 0; i < s->n; i++) {
		struct node *nd = &s->nodes[i];

		nd->scope = classify(s, p, nd);
		if (!nd->scope)
			continue;
		e[k].cgroup_id = nd->id;
		e[k].scope = nd->scope;
		e[k].level = nd->level;
		k++;
	}
	*out = e;
	*n = k;
	return 0;
}

/* Put nd in scope (the kernel's entry follows); returns 1 if it joined a scope. */
static int set_scope(struct bg_scopes *s, struct bg_loader *l, struct node *nd, __u32 scope)
{
	int err;

	if (scope == nd->scope)
		return 0;
	err = scope ? bg_loader_scope_set(l, nd->id, scope, nd->level) :
		      bg_loader_scope_del(l, nd->id);
	if (err) {
		bg_warn("cannot put cgroup %s in scope %u: %s\n", nd->path, scope, strerror(-err));
		return 0;
	}
	(void)s;
	nd->scope = scope;
	return scope != 0;
}

/* A node (and what is below it) went away. */
static void drop_tree(struct bg_scopes *s, struct bg_loader *l, const char *path)
{
	size_t i = 0, pl = strlen(path);

	while (i < s->n) {
		struct node *nd = &s->nodes[i];

		if (!strncmp(nd->path, path, pl) && (!nd->path[pl] || nd->path[pl] == '/')) {
			if (nd->scope)
				bg_loader_scope_del(l, nd->id);
			if (nd->wd >= 0)
				inotify_rm_watch(s->ifd, nd->wd);
			node_drop(s, i);
			continue;
		}
		i++;
	}
}

/* Classify every node still waiting for its runtime state, and the pods around them. */
static int retry_pending(struct bg_scopes *s, const struct bg_policy *p, struct bg_loader *l,
			 int count_down)
{
	int joined = 0;
	size_t i;

	for (i = 0; i < s->n; i++) {
		struct node *nd = &s->nodes[i];

		if (!nd->retries)
			continue;
		joined += set_scope(s, l, nd, classify(s, p, nd));
		if (count_down && nd->retries > 0 && --nd->retries == 0)
			bg_warn("no pod names for the cgroup %s after %d s: the container runtime's "
				"state was not found; it is judged by its path alone\n",
				nd->path, BG_SCOPE_RETRY_S);
	}
	return joined;
}

/* After a queue overflow: walk again, drop what is gone, classify what is new. */
static int rescan(struct bg_scopes *s, const struct bg_policy *p, struct bg_loader *l)
{
	size_t i;
	int joined = 0;

	for (i = 0; i < s->n; i++)
		s->nodes[i].seen = 0;
	walk(s, s->root, 0);
	i = 0;
	while (i < s->n) {
		if (!s->nodes[i].seen) {
			if (s->nodes[i].scope)
				bg_loader_scope_del(l, s->nodes[i].id);
			if (s->nodes[i].wd >= 0)
				inotify_rm_watch(s->ifd, s->nodes[i].wd);
			node_drop(s, i);
			continue;
		}
		i++;
	}
	for (i = 0; i < s->n; i++)
		joined += set_scope(s, l, &s->nodes[i], classify(s, p, &s->nodes[i]));
	return joined;
}

int bg_scopes_update(struct bg_scopes *s, const struct bg_policy *p, struct bg_loader *l)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	char child[PATH_MAX];
	int joined = 0, overflow = 0;
	long long now;
	ssize_t len;

	if (!s)
		return 0;
	if (!s->watching) {
		while (read(s->ifd, buf, sizeof(buf)) > 0)
			; /* stale events of watches just removed */
		return 0;
	}
	for (;;) {
		const struct inotify_event *ev;
		char *at;

		len = read(s->ifd, buf, sizeof(buf));
		if (len < 0 && errno == EINTR)
			continue;
		if (len <= 0)
			break;
		for (at = buf; at < buf + len; at += sizeof(*ev) + ev->len) {
			struct node *parent, *nd;
			size_t depth;
			__u64 parent_id;
			__u32 before;

			ev = (const struct inotify_event *)at;
			if (ev->mask & IN_Q_OVERFLOW) {
				overflow = 1;
				continue;
			}
			if (ev->mask & IN_IGNORED) {
				nd = find_wd(s, ev->wd);
				if (nd)
					nd->wd = -1;
				continue;
			}
			if (!(ev->mask & IN_ISDIR) || !ev->len)
				continue;
			parent = find_wd(s, ev->wd);
			if (!parent)
				continue;
			if ((size_t)snprintf(child, sizeof(child), "%s/%s",
					     strcmp(parent->path, "/") ? parent->path : "",
					     ev->name) >= sizeof(child))
				continue;
			if (ev->mask & IN_DELETE) {
				drop_tree(s, l, child);
				continue;
			}
			if (!(ev->mask & IN_CREATE) || !below_root(s, child))
				continue;
			depth = path_level(child) - path_level(s->root);
			parent_id = parent->id; /* walk() may move the nodes */
			before = (__u32)s->n;
			walk(s, child, (int)depth);
			/* The new cgroup and whatever was made inside it before the watch. */
			for (; before < s->n; before++) {
				nd = &s->nodes[before];
				joined += set_scope(s, l, nd, classify(s, p, nd));
			}
			/* A container's names also name the pod around it. */
			nd = find_path(s, child);
			parent = find_id(s, parent_id);
			if (nd && parent && nd->kind == BG_CG_CONTAINER &&
			    parent->kind == BG_CG_POD && parent->retries)
				joined += set_scope(s, l, parent, classify(s, p, parent));
		}
	}
	if (overflow) {
		bg_warn("the cgroup watch queue overflowed; walking the cgroup tree again\n");
		joined += rescan(s, p, l);
	}
	now = mono_s();
	joined += retry_pending(s, p, l, now != s->last_retry);
	s->last_retry = now;
	return joined;
}
