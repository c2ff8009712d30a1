// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <poll.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bindguard.skel.h"
#include "cgroup.h"
#include "kfeatures.h"
#include "loader.h"
#include "log.h"
#include "pin.h"
#include "ringbuf.h"

struct bg_loader {
	struct bindguard_bpf *skel;
	struct bpf_link *iter_link[2][BG_NR_PROTOS]; /* [close][proto] */
	struct bpf_link *files_link; /* iter/task_file: netns held by an fd */
	struct bg_features feat; /* what this kernel offers; decides what was loaded */
	struct bg_ring *rb; /* commits only what the agent has written (ringbuf.c) */
	bg_event_fn fn;
	void *fn_ctx;
	int cgroup_fd;
	int ncpus;
	__u32 next_set_id;
	/* CIDR keys of the installed policy and of the one before it (see retire_cidrs()). */
	struct bg_compiled_cidr *live_cidrs, *prev_cidrs;
	size_t n_live_cidrs, n_prev_cidrs;
	/* Pinned enforcement (--pin): the objects live in pin_dir and outlive the agent. */
	int pin;
	int adopted; /* the pins were there: this agent took them over */
	char pin_dir[512];
	int meta_fd, polsrc_fd;
	struct bg_pin_meta meta;
	__u64 cgroup_id;
	__u32 src_rate, src_burst; /* flood control per source (bg_src_admit()) */
	int cgscope_fd; /* the live bank's cgroup -> scope hash */
	__u32 bank, n_scopes;
	size_t n_cg_live; /* entries put in the live bank's cgroup hash (not less) */
};

/* The maps a pinned state keeps, by their names in the object (and their pin files). */
#define BG_PINNED_MAPS(l)                                                                      \
	{                                                                                      \
		(l)->skel->maps.bg_policy, (l)->skel->maps.bg_cidrs, (l)->skel->maps.bg_hosts, \
			(l)->skel->maps.bg_events, (l)->skel->maps.bg_stats,                   \
			(l)->skel->maps.bg_seqs, (l)->skel->maps.bg_owners,                    \
			(l)->skel->maps.bg_alerts                                              \
	}

static char bg_loader_err[512];

static int bg_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Record a one-line reason for main to report, and return err (negative errno). */
static int bg_fail(int err, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(bg_loader_err, sizeof(bg_loader_err), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(bg_loader_err))
		snprintf(bg_loader_err + n, sizeof(bg_loader_err) - n, ": %s", strerror(-err));
	return err;
}

const char *bg_loader_strerror(void)
{
	return bg_loader_err[0] ? bg_loader_err : "unknown error";
}

/*
 * The hooks that are not cgroup hooks (the tracepoint, the iterators) see every socket of the
 * host; they keep to the sockets created in the attached cgroup or below it, as the bind hooks
 * do. A cgroup v2 directory's inode number is its cgroup id; its level is its depth below the
 * hierarchy's root.
 */
static int bg_loader_set_scope(struct bg_loader *l, const char *cgroup_path)
{
	char root[PATH_MAX], rroot[PATH_MAX], rpath[PATH_MAX];
	const char *p;
	struct stat st;
	__u32 level = 0;
	size_t n;
	int err;

	err = bg_cgroup2_root("/proc/self/mounts", root, sizeof(root));
	if (err)
		return bg_fail(err, "cannot find the cgroup v2 mount");
	if (!realpath(root, rroot) || !realpath(cgroup_path, rpath))
		return bg_fail(-errno, "cannot resolve cgroup %s", cgroup_path);
	n = strlen(rroot);
	if (strncmp(rpath, rroot, n) != 0 || (rpath[n] != '/' && rpath[n] != '\0'))
		return bg_fail(-EINVAL, "%s is not below the cgroup v2 mount %s", cgroup_path,
			       rroot);
	for (p = rpath + n; *p; p++)
		if (*p == '/' && p[1] && p[1] != '/')
			level++;
	if (fstat(l->cgroup_fd, &st) < 0)
		return bg_fail(-errno, "cannot stat cgroup %s", cgroup_path);
	l->skel->bss->bg_scope_cgid = st.st_ino;
	l->skel->bss->bg_scope_level = level;
	return 0;
}

/* dir/name of one pinned object. */
static int pin_path(const struct bg_loader *l, char *buf, size_t len, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", l->pin_dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/*
 * Before load, with --pin: mount bpffs if needed and find this cgroup's pinned state. If there
 * is one, take it over: its maps are reused (so the policy, the sequence, the counters and the
 * events buffered while no agent ran carry over) and its links are updated in place at attach.
 * A state made by another ABI, or held by a live agent, is refused, never misread.
 */
static int bg_pin_prepare(struct bg_loader *l)
{
	struct bpf_map *maps[] = BG_PINNED_MAPS(l);
	char why[512], path[600];
	struct stat st;
	size_t i;
	int err, fd, holder;

	l->pin = 1;
	err = bg_pin_bpffs(why, sizeof(why));
	if (err)
		return bg_fail(err, "%s", why);
	if (fstat(l->cgroup_fd, &st) < 0)
		return bg_fail(-errno, "cannot stat the cgroup");
	l->cgroup_id = st.st_ino;
	err = bg_pin_dir(l->cgroup_id, l->pin_dir, sizeof(l->pin_dir));
	if (err)
		return bg_fail(err, "pin path too long");
	if (!bg_pin_exists(l->pin_dir))
		return 0;

	l->meta_fd = bg_pin_meta_open(l->pin_dir, 0);
	if (l->meta_fd < 0 || bg_pin_meta_read(l->meta_fd, &l->meta))
		return bg_fail(l->meta_fd < 0 ? l->meta_fd : -EIO,
			       "cannot read the pinned state in %s", l->pin_dir);
	if (l->meta.abi != BG_ABI_VERSION)
		return bg_fail(-EPROTO,
			       "the pinned enforcement in %s was made by a bindguard with ABI %u, "
			       "this one speaks %u: remove it with 'bindguard unload --cgroup %s' "
			       "first (it keeps enforcing its policy until then)",
			       l->pin_dir, l->meta.abi, BG_ABI_VERSION, l->meta.cgroup);
	holder = bg_pin_holder(&l->meta);
	if (holder)
		return bg_fail(-EEXIST,
			       "another bindguard agent (pid %d) holds the pinned enforcement on "
			       "this cgroup",
			       holder);
	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		err = pin_path(l, path, sizeof(path), bpf_map__name(maps[i]));
		if (err)
			return bg_fail(err, "pin path too long");
		fd = bpf_obj_get(path);
		if (fd < 0)
			return bg_fail(-errno,
				       "the pinned state in %s is incomplete (%s): remove it with "
				       "'bindguard unload --cgroup %s'",
				       l->pin_dir, path, l->meta.cgroup);
		err = bpf_map__reuse_fd(maps[i], fd);
		close(fd);
		if (err)
			return bg_fail(err, "cannot reuse the pinned map %s", path);
	}
	l->adopted = 1;
	l->next_set_id = l->meta.next_set_id ? l->meta.next_set_id : 1;
	return 0;
}

/*
 * After load: pin a fresh state's maps and make its meta record, or note what an adopted one
 * carries; either way, this agent now holds it.
 */
static int bg_pin_finish(struct bg_loader *l, const char *cgroup_path)
{
	struct bpf_map *maps[] = BG_PINNED_MAPS(l);
	/* An impossible key (prefixlen 0 is never stored) starts the walk: not NULL, which
	 * valgrind cannot follow. */
	struct bg_cidr_key k, start = { 0 }, *prev = &start;
	char path[600];
	size_t i, n = 0;
	int err, fd, m;

	if (l->adopted) {
		/*
		 * The CIDR keys the last agent left are retired one install late, as its own
		 * would have been: a bind that read the old rule table may still look them up.
		 */
		for (m = 0; m < 2; m++) {
			fd = bpf_map__fd(m ? l->skel->maps.bg_hosts : l->skel->maps.bg_cidrs);
			prev = &start;
			while (bpf_map_get_next_key(fd, prev, &k) == 0) {
				struct bg_compiled_cidr *nv =
					realloc(l->live_cidrs, (n + 1) * sizeof(*nv));

				if (!nv)
					return bg_fail(-ENOMEM, "out of memory");
				l->live_cidrs = nv;
				nv[n++].key = k;
				prev = &l->live_cidrs[n - 1].key;
			}
		}
		l->n_live_cidrs = n;
	} else {
		err = bg_pin_mkdir(l->pin_dir);
		if (err)
			return bg_fail(err, "cannot make %s", l->pin_dir);
		for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
			err = pin_path(l, path, sizeof(path), bpf_map__name(maps[i]));
			if (!err)
				err = bpf_map__pin(maps[i], path);
			if (err)
				return bg_fail(err, "cannot pin %s", path);
		}
		l->meta_fd = bg_pin_meta_open(l->pin_dir, 1);
		if (l->meta_fd < 0)
			return bg_fail(l->meta_fd, "cannot make the pinned state in %s",
				       l->pin_dir);
		memset(&l->meta, 0, sizeof(l->meta));
		l->meta.abi = BG_ABI_VERSION;
		l->meta.cgroup_id = l->cgroup_id;
		snprintf(l->meta.cgroup, sizeof(l->meta.cgroup), "%s", cgroup_path);
	}
	l->polsrc_fd = bg_pin_polsrc_open(l->pin_dir, 1);
	if (l->polsrc_fd < 0)
		return bg_fail(l->polsrc_fd, "cannot keep the policy in %s", l->pin_dir);
	l->meta.agent_pid = (__u32)getpid();
	l->meta.agent_start = bg_pin_self_start();
	err = bg_pin_meta_write(l->meta_fd, &l->meta);
	if (err)
		return bg_fail(err, "cannot write the pinned state's meta record");
	return 0;
}

int bg_loader_adopted(const struct bg_loader *l, struct bg_pin_meta *m)
{
	if (m && l->pin)
		*m = l->meta;
	return l->adopted;
}

int bg_loader_pinned_text(struct bg_loader *l, __u16 gen, size_t len, char **out)
{
	if (l->polsrc_fd < 0)
		return -ENOENT;
	return bg_pin_polsrc_load(l->polsrc_fd, gen, len, out);
}

int bg_loader_pin_policy(struct bg_loader *l, __u16 gen, const char *source, const char *text,
			 size_t len)
{
	int err;

	if (!l->pin)
		return 0;
	err = bg_pin_polsrc_store(l->polsrc_fd, gen, l->meta.gen, text, len);
	if (err)
		return bg_fail(err, "cannot keep the policy text in %s", l->pin_dir);
	if (l->meta.src_len || l->meta.gen) {
		l->meta.prev_gen = l->meta.gen;
		l->meta.prev_src_len = l->meta.src_len;
	}
	l->meta.gen = gen;
	l->meta.src_len = (__u32)len;
	l->meta.next_set_id = l->next_set_id;
	snprintf(l->meta.source, sizeof(l->meta.source), "%s", source);
	err = bg_pin_meta_write(l->meta_fd, &l->meta);
	if (err)
		return bg_fail(err, "cannot write the pinned state's meta record");
	return 0;
}

void bg_loader_pin_note_dropped(struct bg_loader *l, __u64 dropped, __u64 suppressed)
{
	if (!l->pin || l->meta_fd < 0)
		return;
	l->meta.dropped_seen = dropped;
	l->meta.suppressed_seen = suppressed;
	bg_pin_meta_write(l->meta_fd, &l->meta);
}

/*
 * The least time between two deny wakeups, on the clock the events use (see bg_cfg_wake_gap_ns
 * in bpf/bindguard.bpf.c): 5 ms, less one tick of the coarse clock when that is the clock, so
 * that the first deny after a quiet tick always wakes the reader.
 */
static __u64 bg_wake_gap_ns(int coarse)
{
	const __u64 gap = 5000000ULL;
	struct timespec res;
	__u64 tick;

	if (!coarse || clock_getres(CLOCK_MONOTONIC_COARSE, &res) != 0)
		return gap;
	tick = (__u64)res.tv_sec * 1000000000ULL + (__u64)res.tv_nsec;
	return tick >= gap ? 1 : gap - tick;
}

/*
 * Configure the object for this kernel before it is loaded: the read-only feature flags (the
 * verifier then never walks a branch whose helper the kernel lacks) and which programs load at
 * all. Only what truly needs a newer kernel is left out, each for the reason the probe gave.
 */
static void bg_loader_configure(struct bg_loader *l)
{
	const struct bg_features *f = &l->feat;
	struct bindguard_bpf *sk = l->skel;
	int iter = f->state[BG_FEAT_SOCK_ITER] == BG_FEAT_ON;
	int close = iter && f->state[BG_FEAT_SOCK_DESTROY] == BG_FEAT_ON;

	sk->rodata->bg_cfg_src_rate = l->src_rate;
	sk->rodata->bg_cfg_src_burst = l->src_burst;
	sk->rodata->bg_cfg_coarse_clock = f->state[BG_FEAT_COARSE_CLOCK] == BG_FEAT_ON;
	sk->rodata->bg_cfg_wake_gap_ns = bg_wake_gap_ns(sk->rodata->bg_cfg_coarse_clock);
	sk->rodata->bg_cfg_task_btf = f->state[BG_FEAT_TASK_BTF] == BG_FEAT_ON;
	sk->rodata->bg_cfg_sockops_task = f->state[BG_FEAT_SOCKOPS_TASK] == BG_FEAT_ON;
	bpf_program__set_autoload(sk->progs.bg_sockops,
				  f->state[BG_FEAT_SOCKOPS] != BG_FEAT_OFF &&
					  f->state[BG_FEAT_SOCKOPS_TASK] != BG_FEAT_OFF);
	bpf_program__set_autoload(sk->progs.bg_iter_files, iter);
	bpf_program__set_autoload(sk->progs.bg_iter_tcp, iter);
	bpf_program__set_autoload(sk->progs.bg_iter_udp, iter);
	bpf_program__set_autoload(sk->progs.bg_close_tcp, close);
	bpf_program__set_autoload(sk->progs.bg_close_udp, close);
}

int bg_loader_new(const struct bg_loader_opts *opts, struct bg_loader **out)
{
	enum bg_feature_id missing;
	struct bg_loader *l;
	int err;

	bg_loader_err[0] = '\0';
	l = calloc(1, sizeof(*l));
	if (!l)
		return bg_fail(-ENOMEM, "cannot allocate loader");
	l->cgroup_fd = -1;
	l->cgscope_fd = -1;
	l->src_rate = opts->src_rate;
	l->src_burst = opts->src_burst;
	l->meta_fd = -1;
	l->polsrc_fd = -1;
	l->next_set_id = 1;

	l->ncpus = libbpf_num_possible_cpus();
	if (l->ncpus <= 0) {
		err = bg_fail(l->ncpus < 0 ? l->ncpus : -EINVAL, "cannot count possible CPUs");
		goto out_free;
	}

	err = bg_cgroup_open(opts->cgroup_path);
	if (err < 0) {
		if (err == -EMEDIUMTYPE)
			bg_fail(err, "%s is not a cgroup v2 directory", opts->cgroup_path);
		else
			bg_fail(err, "cannot open cgroup %s", opts->cgroup_path);
		goto out_free;
	}
	l->cgroup_fd = err;

	if (opts->features)
		l->feat = *opts->features;
	else
		bg_features_probe(&l->feat);
	if (!bg_features_usable(&l->feat, &missing)) {
		err = bg_fail(-EOPNOTSUPP,
			      "this kernel (%s) cannot run bindguard: %s (%s; needs %s)",
			      l->feat.kernel, bg_feature_table[missing].name, l->feat.why[missing],
			      bg_feature_table[missing].needs);
		goto out_free;
	}

	l->skel = bindguard_bpf__open();
	if (!l->skel) {
		err = bg_fail(-errno, "cannot open the BPF object");
		goto out_free;
	}
	if (opts->pin) {
		err = bg_pin_prepare(l);
		if (err)
			goto out_free;
	}
	if (opts->ringbuf_bytes) {
		err = bpf_map__set_max_entries(l->skel->maps.bg_events, opts->ringbuf_bytes);
		if (err) {
			bg_fail(err, "invalid ring buffer size %u", opts->ringbuf_bytes);
			goto out_free;
		}
	}
	bg_loader_configure(l);
	err = bindguard_bpf__load(l->skel);
	if (err) {
		bg_fail(err,
			"cannot load the BPF programs on %s although its probes passed "
			"(run with -vv for the verifier's log)",
			l->feat.kernel);
		goto out_free;
	}
	err = bg_loader_set_scope(l, opts->cgroup_path);
	if (err)
		goto out_free;
	if (l->pin) {
		err = bg_pin_finish(l, opts->cgroup_path);
		if (err)
			goto out_free;
	}

	*out = l;
	return 0;
out_free:
	bg_loader_free(l);
	return err;
}

const struct bg_features *bg_loader_features(const struct bg_loader *l)
{
	return &l->feat;
}

__u32 bg_loader_next_set_id(const struct bg_loader *l)
{
	return l->next_set_id;
}

/*
 * A CIDR entry goes to the trie (bg_cidrs), unless it is full length (an IPv4 /32 or an IPv6
 * /128): those go to the exact-match hash (bg_hosts), one lookup however many there are.
 */
#define BG_CIDR_HOST_LEN (32 + 128)

static int bg_cidr_fd(const struct bg_loader *l, const struct bg_cidr_key *k)
{
	return bpf_map__fd(k->prefixlen == BG_CIDR_HOST_LEN ? l->skel->maps.bg_hosts :
							      l->skel->maps.bg_cidrs);
}

static int bg_cidrs_update(const struct bg_loader *l, const struct bg_compiled_cidr *c, size_t n,
			   int add)
{
	__u8 one = 1;
	size_t i;
	int err, fd;

	for (i = 0; i < n; i++) {
		fd = bg_cidr_fd(l, &c[i].key);
		if (add)
			err = bpf_map_update_elem(fd, &c[i].key, &one, BPF_ANY);
		else
			err = bpf_map_delete_elem(fd, &c[i].key);
		if (err && (add || errno != ENOENT))
			return -errno;
	}
	return 0;
}

static void bg_retire_cidrs(struct bg_loader *l, struct bg_compiled *c)
{
	if (bg_cidrs_update(l, l->prev_cidrs, l->n_prev_cidrs, 0))
		bg_warn("could not delete retired CIDR entries: %s\n", strerror(errno));
	free(l->prev_cidrs);
	l->prev_cidrs = l->live_cidrs;
	l->n_prev_cidrs = l->n_live_cidrs;
	l->live_cidrs = c->cidrs;
	l->n_live_cidrs = c->n_cidrs;
	c->cidrs = NULL;
	c->n_cidrs = 0;
}

/* A new hash for one bank, of the shape the outer map's template has (bindguard.bpf.c). */
static int bank_hash(const char *name, __u32 key, __u32 value, __u32 max)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = BPF_F_NO_PREALLOC);

	return bpf_map_create(BPF_MAP_TYPE_HASH, name, key, value, max, &opts);
}

static int ctl_get(struct bg_loader *l, __u32 idx, struct bg_ctl *out)
{
	memset(out, 0, sizeof(*out));
	return bpf_map_lookup_elem(bpf_map__fd(l->skel->maps.bg_ctl), &idx, out) ? -errno : 0;
}

static int ctl_set(struct bg_loader *l, __u32 idx, const struct bg_ctl *v)
{
	return bpf_map_update_elem(bpf_map__fd(l->skel->maps.bg_ctl), &idx, v, BPF_ANY) ? -errno :
											  0;
}

/*
 * The swap. Everything of the new policy goes into the bank not in force: a new host table
 * (filled, then frozen: never written again), a new hash of the scopes' rules and one of the
 * cgroups they take, and what the bank holds (bg_ctl). Then entry 0 of bg_ctl flips to it: one
 * 4-byte write, and every judgement after it reads the new bank whole. The old bank's maps stay
 * until the next swap replaces them, so a judgement that read the old bank just before the flip
 * finishes on old maps (they are freed only after it, by RCU).
 */
int bg_loader_install_policy(struct bg_loader *l, struct bg_compiled *c,
			     const struct bg_scope_entry *cg, size_t n_cg)
{
	LIBBPF_OPTS(bpf_map_batch_opts, bopts);
	__u32 *keys = NULL, count, i, bank;
	int inner, scoped = -1, cgs = -1, err;
	struct bg_ctl ctl, cfg = { 0 };
	size_t put = 0;

	err = ctl_get(l, 0, &ctl);
	if (err)
		return bg_fail(err, "cannot read the policy switch");
	bank = (ctl.v0 & 1) ^ 1;

	inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "bg_rules", sizeof(__u32),
			       sizeof(struct bg_rule), BG_RULE_SLOTS, NULL);
	if (inner < 0)
		return bg_fail(-errno, "cannot create the rule table");
	keys = malloc(sizeof(*keys) * BG_RULE_SLOTS);
	if (!keys) {
		err = bg_fail(-ENOMEM, "cannot allocate the rule table");
		goto out_close;
	}
	for (i = 0; i < BG_RULE_SLOTS; i++)
		keys[i] = i;
	count = BG_RULE_SLOTS;
	err = bpf_map_update_batch(inner, keys, c->slots, &count, &bopts);
	if (err) {
		err = bg_fail(-errno, "cannot fill the rule table");
		goto out_free_keys;
	}
	/* The table is never written again: a new policy gets a new table. */
	if (bpf_map_freeze(inner)) {
		err = bg_fail(-errno, "cannot freeze the rule table");
		goto out_free_keys;
	}
	scoped = bank_hash("bg_scoped_t", sizeof(struct bg_scope_key), sizeof(struct bg_rule),
			   1 << 18);
	cgs = bank_hash("bg_cgscope_t", sizeof(__u64), sizeof(__u32), 1 << 16);
	if (scoped < 0 || cgs < 0) {
		err = bg_fail(-errno, "cannot create the scope tables");
		goto out_free_keys;
	}
	for (i = 0; i < c->n_scoped; i++)
		if (bpf_map_update_elem(scoped, &c->scoped[i].key, &c->scoped[i].rule, BPF_ANY)) {
			err = bg_fail(-errno, "cannot fill the scoped rules (%zu entries)",
				      c->n_scoped);
			goto out_free_keys;
		}
	cfg.min_level = ~0u;
	for (i = 0; i < n_cg; i++) {
		if (!cg[i].scope || cg[i].scope > c->n_scopes)
			continue;
		if (bpf_map_update_elem(cgs, &cg[i].cgroup_id, &cg[i].scope, BPF_ANY)) {
			err = bg_fail(-errno, "cannot fill the scoped cgroups (%zu)", n_cg);
			goto out_free_keys;
		}
		put++;
		if (cg[i].level < cfg.min_level)
			cfg.min_level = cg[i].level;
		if (cg[i].level > cfg.max_level)
			cfg.max_level = cg[i].level;
	}
	if (cfg.min_level == ~0u)
		cfg.min_level = 0;
	if (cfg.max_level - cfg.min_level >= BG_SCOPE_LEVELS)
		bg_warn("scoped cgroups sit at levels %u to %u; only the %u deepest are looked at\n",
			cfg.min_level, cfg.max_level, BG_SCOPE_LEVELS);
	cfg.v0 = c->n_scopes > 0;
	err = bg_cidrs_update(l, c->cidrs, c->n_cidrs, 1);
	if (err) {
		bg_fail(err, "cannot install CIDR sets (the map holds %d entries)",
			BG_CIDR_MAX_ENTRIES);
		bg_cidrs_update(l, c->cidrs, c->n_cidrs, 0);
		goto out_free_keys;
	}
	if (bpf_map_update_elem(bpf_map__fd(l->skel->maps.bg_policy), &bank, &inner, BPF_ANY) ||
	    bpf_map_update_elem(bpf_map__fd(l->skel->maps.bg_scoped), &bank, &scoped, BPF_ANY) ||
	    bpf_map_update_elem(bpf_map__fd(l->skel->maps.bg_cgscope), &bank, &cgs, BPF_ANY) ||
	    ctl_set(l, 1 + bank, &cfg)) {
		err = bg_fail(-errno, "cannot install the rule tables");
		bg_cidrs_update(l, c->cidrs, c->n_cidrs, 0);
		goto out_free_keys;
	}
	/* The flip. */
	memset(&ctl, 0, sizeof(ctl));
	ctl.v0 = bank;
	err = ctl_set(l, 0, &ctl);
	if (err) {
		bg_fail(err, "cannot switch to the new policy");
		bg_cidrs_update(l, c->cidrs, c->n_cidrs, 0);
		goto out_free_keys;
	}
	if (l->cgscope_fd >= 0)
		close(l->cgscope_fd);
	l->cgscope_fd = cgs; /* kept: cgroups found later join the live bank */
	cgs = -1;
	l->bank = bank;
	l->n_scopes = c->n_scopes;
	l->n_cg_live = put;
	if (c->next_set_id > l->next_set_id)
		l->next_set_id = c->next_set_id;
	bg_retire_cidrs(l, c);
	err = 0;
out_free_keys:
	free(keys);
out_close:
	/* The outer maps hold their own references. */
	close(inner);
	if (scoped >= 0)
		close(scoped);
	if (cgs >= 0)
		close(cgs);
	return err;
}

int bg_loader_scope_set(struct bg_loader *l, __u64 cgroup_id, __u32 scope, __u32 level)
{
	struct bg_ctl cfg;
	int err;

	if (l->cgscope_fd < 0 || !scope || scope > l->n_scopes)
		return -EINVAL;
	/* Widen the levels first: an entry the walk cannot reach yet would be no entry. */
	err = ctl_get(l, 1 + l->bank, &cfg);
	if (err)
		return err;
	if (!l->n_cg_live) {
		/* The first: the bounds were a placeholder. */
		cfg.min_level = cfg.max_level = level;
		err = ctl_set(l, 1 + l->bank, &cfg);
		if (err)
			return err;
	} else if (level < cfg.min_level || level > cfg.max_level) {
		if (level < cfg.min_level)
			cfg.min_level = level;
		if (level > cfg.max_level)
			cfg.max_level = level;
		err = ctl_set(l, 1 + l->bank, &cfg);
		if (err)
			return err;
	}
	if (bpf_map_update_elem(l->cgscope_fd, &cgroup_id, &scope, BPF_ANY))
		return -errno;
	l->n_cg_live++;
	return 0;
}

int bg_loader_scope_del(struct bg_loader *l, __u64 cgroup_id)
{
	if (l->cgscope_fd < 0)
		return -EINVAL;
	return bpf_map_delete_elem(l->cgscope_fd, &cgroup_id) && errno != ENOENT ? -errno : 0;
}

/* The process holding a link to program prog_id (from /proc/PID/fdinfo), or 0. */
static int link_holder(__u32 prog_id)
{
	char path[600], line[256], want[64];
	struct dirent *pe, *fe;
	DIR *pd, *fd_dir;
	FILE *f;
	int pid = 0;

	snprintf(want, sizeof(want), "prog_id:\t%u\n", prog_id);
	pd = opendir("/proc");
	if (!pd)
		return 0;
	while (!pid && (pe = readdir(pd))) {
		if (pe->d_name[0] < '1' || pe->d_name[0] > '9' || atoi(pe->d_name) == getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fdinfo", pe->d_name);
		fd_dir = opendir(path);
		if (!fd_dir)
			continue;
		while (!pid && (fe = readdir(fd_dir))) {
			if (fe->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "/proc/%s/fdinfo/%s", pe->d_name, fe->d_name);
			f = fopen(path, "re");
			if (!f)
				continue;
			while (fgets(line, sizeof(line), f))
				if (!strcmp(line, want))
					pid = atoi(pe->d_name);
			fclose(f);
		}
		closedir(fd_dir);
	}
	closedir(pd);
	return pid;
}

int bg_loader_check_conflict(struct bg_loader *l, __u32 *other_prog_id)
{
	struct bpf_prog_info info;
	__u32 ids[64], cnt = 64, len, i;
	char dir[512];
	struct stat st;
	int fd, err, pid;

	/* Our own pinned links are attached: that is what adoption takes over, not a conflict. */
	if (l->adopted)
		return 0;
	if (!l->pin && fstat(l->cgroup_fd, &st) == 0 &&
	    bg_pin_dir(st.st_ino, dir, sizeof(dir)) == 0 && bg_pin_exists(dir))
		return bg_fail(
			-EEXIST,
			"pinned enforcement is active on this cgroup (%s): run with --pin to "
			"take it over, or remove it with 'bindguard unload' first",
			dir);

	err = bpf_prog_query(l->cgroup_fd, BPF_CGROUP_INET4_BIND, 0, NULL, ids, &cnt);
	if (err)
		return bg_fail(-errno, "cannot query the programs attached to the cgroup");
	for (i = 0; i < cnt; i++) {
		fd = bpf_prog_get_fd_by_id(ids[i]);
		if (fd < 0)
			continue; /* detached meanwhile */
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		err = bpf_obj_get_info_by_fd(fd, &info, &len);
		close(fd);
		if (err)
			continue;
		if (strcmp(info.name, "bg_bind4") == 0) {
			if (other_prog_id)
				*other_prog_id = ids[i];
			pid = link_holder(ids[i]);
			if (pid)
				return bg_fail(
					-EEXIST,
					"another bindguard agent (pid %d) is already attached "
					"to this cgroup (program id %u)",
					pid, ids[i]);
			return bg_fail(-EEXIST,
				       "another bindguard agent is already attached to this "
				       "cgroup (program id %u)",
				       ids[i]);
		}
	}
	return 0;
}

int bg_loader_attach(struct bg_loader *l)
{
	struct {
		struct bpf_program *prog;
		struct bpf_link **link;
		const char *hook;
	} hooks[] = {
		{ l->skel->progs.bg_bind4, &l->skel->links.bg_bind4, "cgroup/bind4" },
		{ l->skel->progs.bg_bind6, &l->skel->links.bg_bind6, "cgroup/bind6" },
		{ l->skel->progs.bg_post_bind4, &l->skel->links.bg_post_bind4,
		  "cgroup/post_bind4" },
		{ l->skel->progs.bg_post_bind6, &l->skel->links.bg_post_bind6,
		  "cgroup/post_bind6" },
		{ l->skel->progs.bg_sockops, &l->skel->links.bg_sockops, "sockops" },
	};
	size_t i;
	int err;

	for (i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
		if (!bpf_program__autoload(hooks[i].prog))
			continue; /* left out on this kernel (see bg_loader_configure()) */
		if (l->pin) {
			char path[600];
			struct stat st;

			err = pin_path(l, path, sizeof(path), bpf_program__name(hooks[i].prog));
			if (err) {
				bg_fail(err, "pin path too long");
				goto out_detach;
			}
			if (l->adopted && stat(path, &st) == 0) {
				/*
				 * The pinned link keeps enforcing; BPF_LINK_UPDATE swaps in this
				 * build's program atomically, so there is no moment without it.
				 */
				*hooks[i].link = bpf_link__open(path);
				if (!*hooks[i].link) {
					err = bg_fail(-errno, "cannot open the pinned link %s",
						      path);
					goto out_detach;
				}
				err = bpf_link__update_program(*hooks[i].link, hooks[i].prog);
				if (err) {
					bg_fail(err, "cannot update the pinned link %s", path);
					goto out_detach;
				}
				continue;
			}
			*hooks[i].link = bpf_program__attach_cgroup(hooks[i].prog, l->cgroup_fd);
			if (*hooks[i].link && (err = bpf_link__pin(*hooks[i].link, path))) {
				bg_fail(err, "cannot pin %s", path);
				bpf_link__destroy(*hooks[i].link);
				*hooks[i].link = NULL;
				goto out_detach;
			}
		} else {
			*hooks[i].link = bpf_program__attach_cgroup(hooks[i].prog, l->cgroup_fd);
		}
		if (!*hooks[i].link) {
			err = -errno;
			if (err == -EPERM || err == -EEXIST)
				bg_fail(err,
					"cannot attach %s (is a program attached to this cgroup "
					"without multi-attach?)",
					hooks[i].hook);
			else
				bg_fail(err, "cannot attach %s", hooks[i].hook);
			goto out_detach;
		}
	}
	return 0;
out_detach:
	/*
	 * Undo what this call attached. Pinned links stay: an adopted one still enforces the
	 * last policy, and a fresh state is removed whole by bg_loader_free().
	 */
	while (i-- > 0) {
		if (!l->pin)
			bpf_link__destroy(*hooks[i].link);
		else
			bpf_link__disconnect(*hooks[i].link), bpf_link__destroy(*hooks[i].link);
		*hooks[i].link = NULL;
	}
	return err;
}

static int bg_ring_cb(void *ctx, const void *data, size_t size)
{
	struct bg_loader *l = ctx;

	if (size < sizeof(struct bg_event))
		return 0; /* not ours to interpret; the ABI never shrinks */
	return l->fn ? l->fn(l->fn_ctx, data) : 0;
}

int bg_loader_set_handler(struct bg_loader *l, bg_event_fn fn, void *ctx)
{
	int err = 0;

	l->fn = fn;
	l->fn_ctx = ctx;
	if (l->rb)
		return 0;
	l->rb = bg_ring_new(bpf_map__fd(l->skel->maps.bg_events), bg_ring_cb, l, &err);
	if (!l->rb)
		return bg_fail(err, "cannot set up the ring buffer");
	return 0;
}

int bg_loader_ring_fd(struct bg_loader *l)
{
	return bg_ring_fd(l->rb);
}

int bg_loader_consume(struct bg_loader *l, int max)
{
	int n = bg_ring_consume(l->rb, max);

	if (n < 0)
		return bg_fail(n, "the event handler failed");
	return n;
}

void bg_loader_commit(struct bg_loader *l)
{
	bg_ring_commit(l->rb);
}

int bg_loader_poll(struct bg_loader *l, int timeout_ms)
{
	struct pollfd pfd = { .fd = bg_ring_fd(l->rb), .events = POLLIN };
	struct timespec t0, t;
	int n, total = 0;

	if (poll(&pfd, 1, timeout_ms) < 0 && errno != EINTR)
		return bg_fail(-errno, "ring buffer poll failed");
	/*
	 * Records submitted with BPF_RB_NO_WAKEUP do not wake poll(): always look. At most for
	 * BG_POLL_BUDGET_MS: a flood can refill the ring as fast as it is read, and the caller
	 * must get back to its clock and its signals (what is left is read on the next call).
	 */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		n = bg_loader_consume(l, 4096);
		if (n < 0)
			return n;
		total += n;
		bg_ring_commit(l->rb);
		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 >=
		    BG_POLL_BUDGET_MS)
			break;
	} while (n == 4096);
	return total;
}

int bg_loader_links_alive(struct bg_loader *l)
{
	struct bpf_link *links[] = {
		l->skel->links.bg_bind4,      l->skel->links.bg_bind6,
		l->skel->links.bg_post_bind4, l->skel->links.bg_post_bind6,
		l->skel->links.bg_sockops,
	};
	struct bpf_link_info info;
	__u32 len;
	size_t i;

	for (i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		if (!links[i])
			continue;
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (bpf_obj_get_info_by_fd(bpf_link__fd(links[i]), &info, &len))
			continue; /* cannot tell: do not raise a false alarm */
		/* BPF_LINK_DETACH by anyone leaves the link alive but tied to no cgroup. */
		if (info.type == BPF_LINK_TYPE_CGROUP && info.cgroup.cgroup_id == 0)
			return 0;
	}
	return 1;
}

int bg_loader_cgroup_alive(struct bg_loader *l)
{
	struct stat st;

	/* A removed cgroup v2 directory keeps its fd but loses its interface files. */
	return fstatat(l->cgroup_fd, "cgroup.procs", &st, 0) == 0 || errno != ENOENT;
}

int bg_loader_stats(struct bg_loader *l, __u64 out[BG_NR_STATS])
{
	int fd = bpf_map__fd(l->skel->maps.bg_stats);
	__u64 *vals;
	__u32 k;
	int c;

	vals = calloc(l->ncpus, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (k = 0; k < BG_NR_STATS; k++) {
		out[k] = 0;
		if (bpf_map_lookup_elem(fd, &k, vals))
			continue;
		for (c = 0; c < l->ncpus; c++)
			out[k] += vals[c];
	}
	free(vals);
	return 0;
}

int bg_loader_take_seq(struct bg_loader *l, __u64 n, __u64 *first)
{
	/* tc programs take a packet of at least an Ethernet header; its content is unused. */
	unsigned char pkt[64] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = pkt, .data_size_in = sizeof(pkt),
		    .repeat = 1);
	int err;

	l->skel->bss->bg_take_n = n;
	err = bpf_prog_test_run_opts(bpf_program__fd(l->skel->progs.bg_take_seq), &topts);
	if (err)
		return bg_fail(-errno, "cannot take event sequence numbers");
	*first = l->skel->bss->bg_taken;
	return 0;
}

int bg_loader_have_iter(const struct bg_loader *l)
{
	return l->feat.state[BG_FEAT_SOCK_ITER] == BG_FEAT_ON;
}

int bg_loader_have_close(const struct bg_loader *l)
{
	return bg_loader_have_iter(l) && l->feat.state[BG_FEAT_SOCK_DESTROY] == BG_FEAT_ON;
}

int bg_loader_iter_open(struct bg_loader *l, int proto, int close)
{
	struct bpf_link **link;
	struct bpf_program *prog;
	int fd;

	if (!bg_loader_have_iter(l))
		return bg_fail(-EOPNOTSUPP, "this kernel cannot iterate sockets from BPF (%s)",
			       l->feat.why[BG_FEAT_SOCK_ITER]);
	if (close && !bg_loader_have_close(l))
		return bg_fail(-EOPNOTSUPP, "this kernel cannot close sockets from BPF (%s)",
			       l->feat.why[BG_FEAT_SOCK_DESTROY]);
	if (proto < 0 || proto >= BG_NR_PROTOS)
		return -EINVAL;
	close = !!close;
	link = &l->iter_link[close][proto];
	if (!*link) {
		if (proto == BG_PROTO_TCP)
			prog = close ? l->skel->progs.bg_close_tcp : l->skel->progs.bg_iter_tcp;
		else
			prog = close ? l->skel->progs.bg_close_udp : l->skel->progs.bg_iter_udp;
		*link = bpf_program__attach_iter(prog, NULL);
		if (!*link)
			return bg_fail(-errno, "cannot create the %s socket iterator",
				       bg_proto_str(proto));
	}
	/* The iterator walks the network namespace of the thread that opens it. */
	fd = bpf_iter_create(bpf_link__fd(*link));
	if (fd < 0)
		return bg_fail(-errno, "cannot open the %s socket iterator", bg_proto_str(proto));
	return fd;
}

int bg_loader_files_open(struct bg_loader *l)
{
	int fd;

	if (!bg_loader_have_iter(l))
		return bg_fail(-EOPNOTSUPP, "this kernel cannot iterate files from BPF (%s)",
			       l->feat.why[BG_FEAT_SOCK_ITER]);
	/* A new pass reports every netns again. */
	l->skel->bss->bg_ns_pass++;
	if (!l->files_link) {
		l->files_link = bpf_program__attach_iter(l->skel->progs.bg_iter_files, NULL);
		if (!l->files_link)
			return bg_fail(-errno, "cannot create the file iterator");
	}
	fd = bpf_iter_create(bpf_link__fd(l->files_link));
	if (fd < 0)
		return bg_fail(-errno, "cannot open the file iterator");
	return fd;
}

void bg_loader_unpin_all(struct bg_loader *l)
{
	char why[512];

	if (!l || !l->pin)
		return;
	l->meta.agent_pid = 0;
	if (l->meta_fd >= 0)
		bg_pin_meta_write(l->meta_fd, &l->meta);
	if (bg_pin_remove(l->pin_dir, why, sizeof(why)))
		bg_warn("%s\n", why);
	l->pin = 0;
}

void bg_loader_free(struct bg_loader *l)
{
	int i;

	if (!l)
		return;
	if (l->pin && l->meta_fd >= 0) {
		/* The pins stay and go on enforcing; no agent holds them any more. */
		l->meta.agent_pid = 0;
		l->meta.agent_start = 0;
		bg_pin_meta_write(l->meta_fd, &l->meta);
	}
	if (l->meta_fd >= 0)
		close(l->meta_fd);
	if (l->polsrc_fd >= 0)
		close(l->polsrc_fd);
	if (l->cgscope_fd >= 0)
		close(l->cgscope_fd);
	for (i = 0; i < BG_NR_PROTOS; i++) {
		bpf_link__destroy(l->iter_link[0][i]);
		bpf_link__destroy(l->iter_link[1][i]);
	}
	bpf_link__destroy(l->files_link);
	bg_ring_free(l->rb);
	/* Destroying the skeleton destroys the links: that is the detach. */
	bindguard_bpf__destroy(l->skel);
	if (l->cgroup_fd >= 0)
		close(l->cgroup_fd);
	free(l->live_cidrs);
	free(l->prev_cidrs);
	free(l);
}
