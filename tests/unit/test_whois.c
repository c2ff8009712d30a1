// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * test_whois.c - cgroup paths to units, pods and containers, and pod names from the container
 * runtimes' files (agent/whois.c), on the samples in tests/k8s/samples: paths and config.json
 * files recorded from a real containerd on this machine, and the layouts of the systemd driver,
 * CRI-O and docker written from their documentation (marked so in cgroup-paths.tsv).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "whois.h"

/* tests/k8s/samples, found from this file's own path (the tests run from the top directory). */
static void sample_path(char *buf, size_t len, const char *name)
{
	const char *here = __FILE__, *slash = strrchr(here, '/');
	int n = slash ? (int)(slash - here) : 0;

	snprintf(buf, len, "%.*s%s../k8s/samples/%s", n, here, n ? "/" : "", name);
}

static char *slurp(const char *name, size_t *len)
{
	char path[1024], *buf;
	FILE *f;
	long n;

	sample_path(path, sizeof(path), name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* Every row of cgroup-paths.tsv: the kind, QoS, pod UID and container id it expects. */
static void test_paths_table(void **state)
{
	char path[1024], line[2048], *f[8], *p;
	struct bg_cgroup_info ci;
	int rows = 0, want_kind, k;
	FILE *in;

	(void)state;
	sample_path(path, sizeof(path), "cgroup-paths.tsv");
	in = fopen(path, "r");
	assert_non_null(in);
	while (fgets(line, sizeof(line), in)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		line[strcspn(line, "\n")] = '\0';
		for (k = 0, p = line; k < 8; k++) {
			f[k] = p;
			p = strchr(p, '\t');
			if (p)
				*p++ = '\0';
			else if (k < 7)
				fail_msg("row %d has %d fields", rows + 1, k + 1);
		}
		/* origin driver runtime path kind qos pod_uid container_id */
		if (!strcmp(f[4], "container") || !strcmp(f[4], "sandbox"))
			want_kind = BG_CG_CONTAINER; /* a sandbox is a container by its path */
		else if (!strcmp(f[4], "pod"))
			want_kind = BG_CG_POD;
		else
			want_kind = BG_CG_OTHER; /* none, and CRI-O's conmon (not a container) */
		assert_int_equal(bg_cgroup_parse(f[3], &ci), 0);
		if (ci.kind != want_kind)
			fail_msg("%s: kind %d, want %d (%s)", f[3], ci.kind, want_kind, f[4]);
		if (want_kind != BG_CG_OTHER) {
			if (strcmp(ci.qos, f[5]) || strcmp(ci.pod_uid, f[6]))
				fail_msg("%s: qos %s pod %s, want %s %s", f[3], ci.qos, ci.pod_uid,
					 f[5], f[6]);
		}
		if (want_kind == BG_CG_CONTAINER && strcmp(ci.container_id, f[7]))
			fail_msg("%s: container %s, want %s", f[3], ci.container_id, f[7]);
		if (want_kind != BG_CG_CONTAINER && ci.container_id[0])
			fail_msg("%s: a container id (%s) where there is none", f[3],
				 ci.container_id);
		rows++;
	}
	fclose(in);
	assert_true(rows >= 30);
}

static void test_units(void **state)
{
	static const struct {
		const char *path, *unit, *runtime;
	} cases[] = {
		{ "/system.slice/mariadb.service", "mariadb.service", "" },
		{ "/test/system.slice/test-mariadb.service", "test-mariadb.service", "" },
		{ "/user.slice/user-1000.slice/session-2.scope", "session-2.scope", "" },
		{ "/system.slice/docker.service/sub", "docker.service", "" },
		{ "/", "", "" },
		{ "/kubepods.slice/kubepods-burstable.slice", "", "" },
		{ "/kubepods.slice/kubepods-pod3f9a1c2e_7b4d_4e8a_9c1f_2d6b8e0a5c73.slice/"
		  "cri-containerd-9b1e6f0c2a4d8e7f1c3b5a79d2e4f6081a3c5e7b9d1f2a4c6e8b0d2f4a6c8e0b.scope",
		  "cri-containerd-9b1e6f0c2a4d8e7f1c3b5a79d2e4f6081a3c5e7b9d1f2a4c6e8b0d2f4a6c8e0b.scope",
		  "containerd" },
	};
	struct bg_cgroup_info ci;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(bg_cgroup_parse(cases[i].path, &ci), 0);
		assert_string_equal(ci.unit, cases[i].unit);
		assert_string_equal(ci.runtime, cases[i].runtime);
	}
	assert_int_equal(bg_cgroup_parse(NULL, &ci), -EINVAL);
	/* Look-alikes are not pods. */
	assert_int_equal(bg_cgroup_parse("/kubepods/burstable/pod1234/abc", &ci), 0);
	assert_int_equal(ci.kind, BG_CG_OTHER);
	assert_int_equal(bg_cgroup_parse("/kubepodsx/pod3f9a1c2e-7b4d-4e8a-9c1f-2d6b8e0a5c73", &ci),
			 0);
	assert_int_equal(ci.kind, BG_CG_OTHER);
	/* A directory below a container (a nested cgroup the container made) is not named. */
	assert_int_equal(bg_cgroup_parse("/kubepods/pod3f9a1c2e-7b4d-4e8a-9c1f-2d6b8e0a5c73/"
					 "9b1e6f0c2a4d8e7f1c3b5a79d2e4f6081a3c5e7b9d1f2a4c6e8b0d2f"
					 "4a6c8e0b/inner",
					 &ci),
			 0);
	assert_int_equal(ci.kind, BG_CG_OTHER);
}

static void test_pod_configs(void **state)
{
	static const struct {
		const char *file, *ns, *name, *uid, *container, *image;
		int sandbox;
	} cases[] = {
		{ "recorded/containerd-1.6.config-container.json", "db", "mysql-0",
		  "75e313b2-2f1f-47f3-8b8f-b2e69659ff17", "mysql",
		  "localhost/bindguard-test/bindprobe:1", 0 },
		{ "recorded/containerd-1.6.config-sandbox.json", "db", "mysql-0",
		  "75e313b2-2f1f-47f3-8b8f-b2e69659ff17", "", "", 1 },
		{ "documented/containerd-systemd.config-container.json", "db", "mysql-0",
		  "3f9a1c2e-7b4d-4e8a-9c1f-2d6b8e0a5c73", "mysql", "docker.io/library/mariadb:11",
		  0 },
		{ "documented/crio.config-container.json", "db", "mysql-0",
		  "3f9a1c2e-7b4d-4e8a-9c1f-2d6b8e0a5c73", "mysql", "docker.io/library/mariadb:11",
		  0 },
		{ "documented/crio.config-sandbox.json", "db", "mysql-0",
		  "3f9a1c2e-7b4d-4e8a-9c1f-2d6b8e0a5c73", "mysql-0", "", 1 },
	};
	struct bg_pod pod;
	size_t i, len;
	char *text;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		text = slurp(cases[i].file, &len);
		assert_int_equal(bg_pod_from_config(text, len, &pod), 0);
		assert_string_equal(pod.ns, cases[i].ns);
		assert_string_equal(pod.name, cases[i].name);
		assert_string_equal(pod.uid, cases[i].uid);
		assert_string_equal(pod.container, cases[i].container);
		assert_string_equal(pod.image, cases[i].image);
		assert_int_equal(pod.sandbox, cases[i].sandbox);
		free(text);
	}
	assert_int_equal(bg_pod_from_config("{\"annotations\":{}}", 18, &pod), -ENOENT);
	assert_int_equal(bg_pod_from_config("{\"ociVersion\":\"1\"}", 18, &pod), -ENOENT);
	assert_int_equal(bg_pod_from_config("not json", 8, &pod), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_paths_table),
		cmocka_unit_test(test_units),
		cmocka_unit_test(test_pod_configs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
