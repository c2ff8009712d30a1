// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* whois.c - a cgroup's path, unit, pod and container, and a process's executable (whois.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "readfile.h"
#include "whois.h"

/* ---- Paths ----------------------------------------------------------------------------------- */

static int is_hex(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return n > 0;
}

/* A pod UID: 8-4-4-4-12 hex digits, with '-' (cgroupfs) or '_' (systemd) between them. */
static int pod_uid(const char *s, size_t n, char sep, char *out, size_t len)
{
	static const size_t groups[] = { 8, 4, 4, 4, 12 };
	size_t g, off = 0;

	if (n != 36 || len < 37)
		return 0;
	for (g = 0; g < 5; g++) {
		if (!is_hex(s + off, groups[g]))
			return 0;
		off += groups[g];
		if (g < 4 && s[off++] != sep)
			return 0;
	}
	for (g = 0; g < n; g++)
		out[g] = s[g] == '_' ? '-' : s[g];
	out[n] = '\0';
	return 1;
}

/* A container id: 64 hex digits (containerd, CRI-O, docker). */
static int container_id(const char *s, size_t n, char *out, size_t len)
{
	if (n != 64 || !is_hex(s, n) || len <= n)
		return 0;
	memcpy(out, s, n);
	out[n] = '\0';
	return 1;
}

static int ends_with(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && !memcmp(s + n - k, suffix, k);
}

static int starts_with(const char *s, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);

	return n >= k && !memcmp(s, prefix, k);
}

/* The components of a path, without empty ones. */
#define MAX_PARTS 64

struct parts {
	const char *p[MAX_PARTS];
	size_t n[MAX_PARTS];
	size_t count;
};

static void split(const char *path, struct parts *pp)
{
	const char *s = path, *e;

	pp->count = 0;
	while (*s && pp->count < MAX_PARTS) {
		while (*s == '/')
			s++;
		if (!*s)
			break;
		e = strchr(s, '/');
		if (!e)
			e = s + strlen(s);
		pp->p[pp->count] = s;
		pp->n[pp->count++] = (size_t)(e - s);
		s = e;
	}
}

static void copy_part(char *out, size_t len, const char *s, size_t n)
{
	if (n >= len)
		n = len - 1;
	memcpy(out, s, n);
	out[n] = '\0';
}

/* The leaf container scope of the systemd driver: <runtime prefix>-<id>.scope. */
static int systemd_container(const char *s, size_t n, struct bg_cgroup_info *out)
{
	static const struct {
		const char *prefix, *runtime;
		int kind;
	} scopes[] = {
		{ "cri-containerd-", "containerd", BG_CG_CONTAINER },
		{ "crio-conmon-", "cri-o", -1 },
		{ "crio-", "cri-o", BG_CG_CONTAINER },
		{ "docker-", "docker", BG_CG_CONTAINER },
	};
	size_t k, pl;

	if (!ends_with(s, n, ".scope"))
		return 0;
	n -= strlen(".scope");
	for (k = 0; k < sizeof(scopes) / sizeof(scopes[0]); k++) {
		pl = strlen(scopes[k].prefix);
		if (!starts_with(s, n, scopes[k].prefix))
			continue;
		if (!container_id(s + pl, n - pl, out->container_id, sizeof(out->container_id)))
			return 0;
		snprintf(out->runtime, sizeof(out->runtime), "%s", scopes[k].runtime);
		out->kind = scopes[k].kind;
		return 1;
	}
	return 0;
}

/* A cgroupfs container directory: <id>, crio-<id> or crio-conmon-<id>. */
static int cgroupfs_container(const char *s, size_t n, struct bg_cgroup_info *out)
{
	if (starts_with(s, n, "crio-conmon-") &&
	    container_id(s + 12, n - 12, out->container_id, sizeof(out->container_id))) {
		snprintf(out->runtime, sizeof(out->runtime), "cri-o");
		out->kind = -1;
		return 1;
	}
	if (starts_with(s, n, "crio-") &&
	    container_id(s + 5, n - 5, out->container_id, sizeof(out->container_id))) {
		snprintf(out->runtime, sizeof(out->runtime), "cri-o");
		out->kind = BG_CG_CONTAINER;
		return 1;
	}
	if (container_id(s, n, out->container_id, sizeof(out->container_id))) {
		out->kind = BG_CG_CONTAINER;
		return 1;
	}
	return 0;
}

static const char *const qos_names[] = { "burstable", "besteffort" };

/* The Kubernetes part of a path, from its "kubepods" component on. */
static void parse_kubepods(const struct parts *pp, size_t i, struct bg_cgroup_info *out)
{
	const char *s;
	size_t n, q;
	char qos[16] = "guaranteed";
	struct bg_cgroup_info c = { 0 };

	if (pp->n[i] == 8 && !memcmp(pp->p[i], "kubepods", 8)) {
		/* cgroupfs: kubepods/[burstable|besteffort/]pod<uid>[/<container>] */
		i++;
		for (q = 0; i < pp->count && q < 2; q++) {
			if (pp->n[i] == strlen(qos_names[q]) &&
			    !memcmp(pp->p[i], qos_names[q], pp->n[i])) {
				snprintf(qos, sizeof(qos), "%s", qos_names[q]);
				i++;
				break;
			}
		}
		if (i >= pp->count || !starts_with(pp->p[i], pp->n[i], "pod") ||
		    !pod_uid(pp->p[i] + 3, pp->n[i] - 3, '-', c.pod_uid, sizeof(c.pod_uid)))
			return;
		c.kind = BG_CG_POD;
		if (i + 1 < pp->count && !cgroupfs_container(pp->p[i + 1], pp->n[i + 1], &c))
			return; /* something else below a pod: not ours to name */
		if (i + 2 < pp->count)
			return;
	} else {
		/* systemd: kubepods.slice/[kubepods-<qos>.slice/]kubepods[-<qos>]-pod<uid>.slice */
		i++;
		if (i < pp->count) {
			for (q = 0; q < 2; q++) {
				char want[48];

				snprintf(want, sizeof(want), "kubepods-%s.slice", qos_names[q]);
				if (pp->n[i] == strlen(want) && !memcmp(pp->p[i], want, pp->n[i])) {
					snprintf(qos, sizeof(qos), "%s", qos_names[q]);
					i++;
					break;
				}
			}
		}
		if (i >= pp->count || !ends_with(pp->p[i], pp->n[i], ".slice"))
			return;
		s = pp->p[i];
		n = pp->n[i] - strlen(".slice");
		{
			char prefix[48];

			if (strcmp(qos, "guaranteed"))
				snprintf(prefix, sizeof(prefix), "kubepods-%s-pod", qos);
			else
				snprintf(prefix, sizeof(prefix), "kubepods-pod");
			if (!starts_with(s, n, prefix) ||
			    !pod_uid(s + strlen(prefix), n - strlen(prefix), '_', c.pod_uid,
				     sizeof(c.pod_uid)))
				return;
		}
		c.kind = BG_CG_POD;
		if (i + 1 < pp->count && !systemd_container(pp->p[i + 1], pp->n[i + 1], &c))
			return;
		if (i + 2 < pp->count)
			return;
	}
	if (c.kind < 0) {
		/* CRI-O's conmon: the pod's monitor, not one of its containers. */
		c.kind = BG_CG_OTHER;
		c.container_id[0] = '\0';
	}
	snprintf(c.qos, sizeof(c.qos), "%s", qos);
	snprintf(c.unit, sizeof(c.unit), "%s", out->unit);
	*out = c;
}

int bg_cgroup_parse(const char *path, struct bg_cgroup_info *out)
{
	struct parts pp;
	size_t i;

	if (!path || !out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	split(path, &pp);
	/* The unit: the innermost service or scope (a slice groups units, it is not one). */
	for (i = pp.count; i-- > 0;) {
		if (ends_with(pp.p[i], pp.n[i], ".service") ||
		    ends_with(pp.p[i], pp.n[i], ".scope")) {
			copy_part(out->unit, sizeof(out->unit), pp.p[i], pp.n[i]);
			break;
		}
	}
	for (i = 0; i < pp.count; i++) {
		if ((pp.n[i] == 8 && !memcmp(pp.p[i], "kubepods", 8)) ||
		    (pp.n[i] == 14 && !memcmp(pp.p[i], "kubepods.slice", 14))) {
			parse_kubepods(&pp, i, out);
			break;
		}
	}
	return 0;
}

/* ---- Runtime state --------------------------------------------------------------------------- */

static void copy_annotation(json_t *ann, const char *key, char *out, size_t len)
{
	const char *v = json_string_value(json_object_get(ann, key));

	if (v)
		snprintf(out, len, "%s", v);
}

int bg_pod_from_config(const char *text, size_t len, struct bg_pod *pod)
{
	json_t *root, *ann;
	const char *type;

	memset(pod, 0, sizeof(*pod));
	root = json_loadb(text, len, 0, NULL);
	if (!root)
		return -EINVAL;
	ann = json_object_get(root, "annotations");
	if (!json_is_object(ann)) {
		json_decref(root);
		return -ENOENT;
	}
	if (json_object_get(ann, "io.kubernetes.cri.sandbox-namespace")) {
		/* containerd's CRI plugin. */
		copy_annotation(ann, "io.kubernetes.cri.sandbox-namespace", pod->ns,
				sizeof(pod->ns));
		copy_annotation(ann, "io.kubernetes.cri.sandbox-name", pod->name,
				sizeof(pod->name));
		copy_annotation(ann, "io.kubernetes.cri.sandbox-uid", pod->uid, sizeof(pod->uid));
		copy_annotation(ann, "io.kubernetes.cri.container-name", pod->container,
				sizeof(pod->container));
		copy_annotation(ann, "io.kubernetes.cri.image-name", pod->image,
				sizeof(pod->image));
		type = json_string_value(json_object_get(ann, "io.kubernetes.cri.container-type"));
		pod->sandbox = type && !strcmp(type, "sandbox");
	} else if (json_object_get(ann, "io.kubernetes.pod.namespace")) {
		/* CRI-O. */
		copy_annotation(ann, "io.kubernetes.pod.namespace", pod->ns, sizeof(pod->ns));
		copy_annotation(ann, "io.kubernetes.pod.name", pod->name, sizeof(pod->name));
		copy_annotation(ann, "io.kubernetes.pod.uid", pod->uid, sizeof(pod->uid));
		copy_annotation(ann, "io.kubernetes.container.name", pod->container,
				sizeof(pod->container));
		copy_annotation(ann, "io.kubernetes.cri-o.ImageName", pod->image,
				sizeof(pod->image));
		copy_annotation(ann, "io.kubernetes.cri-o.ContainerID", pod->container_id,
				sizeof(pod->container_id));
		type = json_string_value(json_object_get(ann, "io.kubernetes.cri-o.ContainerType"));
		pod->sandbox = type && !strcmp(type, "sandbox");
		if (!pod->container[0]) {
			/* CRI-O keeps the container's name in its Metadata annotation. */
			json_t *meta = json_loads(
				json_string_value(json_object_get(ann, "io.kubernetes.cri-o.Metadata")) ?:
					"{}",
				0, NULL);

			if (meta)
				snprintf(pod->container, sizeof(pod->container), "%s",
					 json_string_value(json_object_get(meta, "name")) ?: "");
			json_decref(meta);
		}
	} else {
		json_decref(root);
		return -ENOENT;
	}
	json_decref(root);
	return 0;
}

/* Read a small file whole (config.json: a few kB). */

/* ---- The cache ------------------------------------------------------------------------------- */

#define WHOIS_SLOTS 1024 /* direct-mapped by cgroup id */
#define EXE_SLOTS 256
#define EXE_TTL_MS 2000

struct exe_slot {
	__u32 pid;
	long long at_ms;
	char exe[256];
};

struct bg_whois {
	char mount[PATH_MAX];
	char containerd[PATH_MAX];
	char crio[PATH_MAX];
	int mount_fd;
	struct bg_whois_entry slots[WHOIS_SLOTS];
	struct bg_whois_entry scratch;
	struct exe_slot exes[EXE_SLOTS];
};

struct bg_whois *bg_whois_new(const struct bg_whois_opts *opts)
{
	struct bg_whois *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	snprintf(w->mount, sizeof(w->mount), "%s", opts->cgroup_mount ? opts->cgroup_mount : "");
	snprintf(w->containerd, sizeof(w->containerd), "%s",
		 opts->containerd_state ? opts->containerd_state : "/run/containerd");
	snprintf(w->crio, sizeof(w->crio), "%s",
		 opts->crio_storage ? opts->crio_storage : "/var/lib/containers/storage");
	w->mount_fd = w->mount[0] ? open(w->mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	return w;
}

void bg_whois_free(struct bg_whois *w)
{
	if (!w)
		return;
	if (w->mount_fd >= 0)
		close(w->mount_fd);
	free(w);
}

/*
 * The path of a cgroup from its id, without walking the tree: a cgroup v2 id is its kernfs
 * node id, which open_by_handle_at() takes as a file handle (FILEID_KERNFS) on the mount.
 */
static int cgroup_path(struct bg_whois *w, __u64 id, char *out, size_t len, uid_t *owner)
{
	struct {
		struct file_handle fh;
		__u64 id;
	} h;
	char link[64], full[PATH_MAX];
	struct stat st;
	size_t ml;
	ssize_t n;
	int fd;

	if (w->mount_fd < 0)
		return -ENOENT;
	*owner = 0;
	if (id == 1) {
		snprintf(out, len, "/");
		return 0;
	}
	h.fh.handle_bytes = sizeof(h.id);
	h.fh.handle_type = 0xfe; /* FILEID_KERNFS */
	h.id = id;
	fd = open_by_handle_at(w->mount_fd, &h.fh, O_RDONLY | O_PATH | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, full, sizeof(full) - 1);
	if (fstat(fd, &st) == 0)
		*owner = st.st_uid;
	close(fd);
	if (n <= 0)
		return -ENOENT;
	full[n] = '\0';
	ml = strlen(w->mount);
	if (strncmp(full, w->mount, ml) || (full[ml] && full[ml] != '/'))
		return -ENOENT;
	snprintf(out, len, "%s", full[ml] ? full + ml : "/");
	return 0;
}

static void find_pod(struct bg_whois *w, struct bg_whois_entry *e)
{
	char path[PATH_MAX * 2];
	size_t len;
	char *text;

	if (!e->info.container_id[0])
		return;
	snprintf(path, sizeof(path), "%s/io.containerd.runtime.v2.task/k8s.io/%s/config.json",
		 w->containerd, e->info.container_id);
	text = bg_read_file(path, 4u << 20, &len);
	if (!text) {
		snprintf(path, sizeof(path), "%s/overlay-containers/%s/userdata/config.json",
			 w->crio, e->info.container_id);
		text = bg_read_file(path, 4u << 20, &len);
	}
	if (!text)
		return;
	if (bg_pod_from_config(text, len, &e->pod) == 0) {
		e->have_pod = 1;
		if (!e->pod.container_id[0])
			snprintf(e->pod.container_id, sizeof(e->pod.container_id), "%s",
				 e->info.container_id);
	}
	free(text);
}

const struct bg_whois_entry *bg_whois_get(struct bg_whois *w, __u64 cgroup_id)
{
	struct bg_whois_entry *e = &w->slots[cgroup_id % WHOIS_SLOTS];
	uid_t owner;

	if (e->id == cgroup_id && cgroup_id)
		return e;
	memset(&w->scratch, 0, sizeof(w->scratch));
	w->scratch.id = cgroup_id;
	if (!cgroup_id ||
	    cgroup_path(w, cgroup_id, w->scratch.path, sizeof(w->scratch.path), &owner))
		return &w->scratch; /* unknown: not cached, it may appear later */
	bg_cgroup_parse(w->scratch.path, &w->scratch.info);
	/*
	 * A cgroup a user owns (delegated to them, or made by them) is named as they chose: a
	 * "kubepods/pod…/<a real container's id>" there must not borrow that pod's names. Its
	 * unit stays (the path is in the event beside it, user@UID.service and all).
	 */
	if (owner != 0 && w->scratch.info.kind != BG_CG_OTHER) {
		char unit[sizeof(w->scratch.info.unit)];

		memcpy(unit, w->scratch.info.unit, sizeof(unit));
		memset(&w->scratch.info, 0, sizeof(w->scratch.info));
		memcpy(w->scratch.info.unit, unit, sizeof(unit));
	}
	find_pod(w, &w->scratch);
	/*
	 * A container whose runtime state is not written yet (it is starting) is not cached,
	 * so the names appear once the runtime has them.
	 */
	if (w->scratch.info.container_id[0] && !w->scratch.have_pod)
		return &w->scratch;
	*e = w->scratch;
	return e;
}

void bg_whois_sweep(struct bg_whois *w)
{
	char full[PATH_MAX + 600];
	struct stat st;
	size_t i;

	for (i = 0; i < WHOIS_SLOTS; i++) {
		if (!w->slots[i].id || w->slots[i].id == 1)
			continue;
		snprintf(full, sizeof(full), "%s%s", w->mount, w->slots[i].path);
		if (stat(full, &st) < 0 || (__u64)st.st_ino != w->slots[i].id)
			memset(&w->slots[i], 0, sizeof(w->slots[i]));
	}
}

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

const char *bg_whois_exe(struct bg_whois *w, __u32 pid)
{
	struct exe_slot *s = &w->exes[pid % EXE_SLOTS];
	char link[64];
	long long now;
	ssize_t n;

	if (!pid)
		return NULL;
	now = now_ms();
	/* A short memory: a pid is reused, but not within two seconds on a sane system. */
	if (s->pid == pid && now - s->at_ms < EXE_TTL_MS)
		return s->exe[0] ? s->exe : NULL;
	snprintf(link, sizeof(link), "/proc/%u/exe", pid);
	n = readlink(link, s->exe, sizeof(s->exe) - 1);
	s->exe[n > 0 ? n : 0] = '\0';
	s->pid = pid;
	s->at_ms = now;
	return s->exe[0] ? s->exe : NULL;
}
