/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * whois.h - who a cgroup is: its path, the systemd unit it names, or the Kubernetes pod and
 * container it holds, with their names from the container runtime's state. Events name the
 * cgroup of the process (or socket) that caused them; this turns that id into something an
 * operator recognises.
 *
 * The parsing is pure (unit-tested on recorded paths and runtime files); the lookups read the
 * cgroup v2 mount and the runtime's state directory, and are cached by cgroup id.
 */
#ifndef BG_WHOIS_H
#define BG_WHOIS_H

#include <linux/types.h>
#include <stddef.h>

/* What a cgroup v2 path says by itself. */
#define BG_CG_OTHER 0 /* not a Kubernetes cgroup */
#define BG_CG_POD 1 /* a pod's cgroup: kubepods/<qos>/pod<uid> */
#define BG_CG_CONTAINER 2 /* a container's (or the pod sandbox's) cgroup inside a pod */

struct bg_cgroup_info {
	int kind; /* BG_CG_* */
	char unit[128]; /* the systemd unit the path is in ("mariadb.service"), "" if none */
	char qos[16]; /* guaranteed, burstable or besteffort */
	char pod_uid[40]; /* with dashes, as Kubernetes writes it */
	char container_id[80]; /* hex id of the container */
	char runtime[16]; /* "containerd", "cri-o", "docker" from a systemd scope, else "" */
};

/*
 * Parse a cgroup v2 path (relative to the mount, "/kubepods/..."). The kubepods part may sit
 * anywhere in the path (a kubelet's --cgroup-root). Both drivers' layouts: cgroupfs
 * (kubepods/<qos>/pod<uid>/<id>) and systemd (kubepods.slice/kubepods-<qos>.slice/
 * kubepods-<qos>-pod<uid_with_underscores>.slice/{cri-containerd,crio,docker}-<id>.scope).
 * Returns 0 (out filled; kind BG_CG_OTHER for anything else) or -EINVAL.
 */
int bg_cgroup_parse(const char *path, struct bg_cgroup_info *out);

/* Names of a pod's container, from the runtime. Empty strings where unknown. */
struct bg_pod {
	char ns[64];
	char name[254];
	char uid[40];
	char container[64];
	char container_id[80];
	char image[256];
	int sandbox; /* the pod's sandbox (pause) container, not an application one */
};

/*
 * Fill pod from a runtime's config.json text (an OCI bundle's config with containerd's
 * io.kubernetes.cri.* or CRI-O's io.kubernetes.pod.* / io.kubernetes.cri-o.* annotations).
 * Returns 0, -ENOENT (no Kubernetes annotations) or -EINVAL (not JSON).
 */
int bg_pod_from_config(const char *json, size_t len, struct bg_pod *pod);

struct bg_whois;

struct bg_whois_opts {
	const char *cgroup_mount; /* the cgroup v2 mount point */
	const char *containerd_state; /* NULL: /run/containerd */
	const char *crio_storage; /* NULL: /var/lib/containers/storage */
};

/* A lookup cache. Returns NULL on allocation failure. */
struct bg_whois *bg_whois_new(const struct bg_whois_opts *opts);
void bg_whois_free(struct bg_whois *w);

/* Everything known about one cgroup; path "" when it cannot be resolved (it went away). */
struct bg_whois_entry {
	__u64 id;
	char path[512];
	struct bg_cgroup_info info;
	struct bg_pod pod;
	int have_pod; /* pod names were found */
};

/*
 * Who cgroup id is (cached; a miss resolves it through open_by_handle_at and the runtime's
 * state). The entry stays valid until the next call. Never NULL.
 */
const struct bg_whois_entry *bg_whois_get(struct bg_whois *w, __u64 cgroup_id);

/* Forget cached cgroups that no longer exist (call now and then). */
void bg_whois_sweep(struct bg_whois *w);

/* The executable of pid (readlink /proc/PID/exe, cached briefly), or NULL. */
const char *bg_whois_exe(struct bg_whois *w, __u32 pid);

#endif /* BG_WHOIS_H */
