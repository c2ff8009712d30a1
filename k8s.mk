# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# k8s.mk - the bindguard image, the Kubernetes manifests and the tests against a real containerd.
# Included by the top-level Makefile (paths are relative to the repository root).
#
#   make image          build/image/bindguard-$(VERSION).oci.tar: podman build --isolation chroot
#                       from a Debian bookworm made locally with debootstrap (no registry needed)
#   make k8s-images     the test images: a pause program (the pod sandbox) and bindprobe (the
#                       workload), each one static binary, as OCI archives under build/k8s/
#   make k8s-validate   every manifest in deploy/kubernetes/ against the Kubernetes schemas,
#                       offline (npm kubernetes-models + yaml); fails on unknown fields too
#   make k8s-manifests  regenerate deploy/kubernetes/20-configmap.yaml from policy/iredmail.yaml
#   make k8s-test       the manifests, then the end-to-end test: a private containerd with its CRI
#                       plugin, pods in two namespaces, the agent as a CRI pod from the image
#
# Podman keeps its storage in $(PODMAN_DIR) (never the machine's /var/lib/containers); the base
# image and the layer cache there make a warm `make image` take seconds. `make k8s-clean` removes it.

K8S_BUILD	:= $(BUILD)/k8s
IMAGE_DIR	:= $(BUILD)/image
IMAGE_REF	:= localhost/bindguard:$(VERSION)
IMAGE_ARCHIVE	:= $(IMAGE_DIR)/bindguard-$(VERSION).oci.tar
IMAGE_BASE	:= localhost/bindguard-base:bookworm
# What the build stage installs in the debootstrap'ed base to run `make` (a subset of DEPS_PKGS:
# no test tools).
IMAGE_BUILD_PKGS := make gcc libc6-dev clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev \
		   libyaml-dev libsystemd-dev libjansson-dev libmicrohttpd-dev pkg-config binutils
# Not under build/, and neither is the debootstrap tree (mkbase): the Makefile includes every '*.d'
# it finds there, and a root filesystem is full of directories named like that (etc/rc2.d).
PODMAN_DIR	?= /var/tmp/bindguard-podman
PODMAN		:= podman --root $(PODMAN_DIR)/storage --runroot $(PODMAN_DIR)/run \
		   --storage-driver overlay --cgroup-manager cgroupfs --events-backend none \
		   --tmpdir $(PODMAN_DIR)/tmp --network-config-dir $(PODMAN_DIR)/net
K8S_PAUSE_REF	:= localhost/bindguard-test/pause:1
K8S_PROBE_REF	:= localhost/bindguard-test/bindprobe:1
K8S_STATIC_CFLAGS := -static -Os -s $(WARN) -std=gnu11 -D_GNU_SOURCE
K8S_NODE_DIR	:= $(K8S_BUILD)/validate

# containerd, runc and the CNI plugins run the pods; python3-grpcio and -grpc-tools speak CRI;
# python3-yaml reads the DaemonSet that the end-to-end test runs the agent from; podman and
# debootstrap build the images. Node.js and npm (the offline manifest validation) only when the
# machine has no npm yet (a NodeSource node.js brings its own).
DEPS_PKGS	+= containerd runc containernetworking-plugins python3-grpcio python3-grpc-tools \
		   python3-yaml podman debootstrap
DEPS_PKGS	+= $(if $(shell command -v npm 2>/dev/null),,nodejs npm)

.PHONY: image k8s-images k8s-validate k8s-manifests k8s-test k8s-clean

$(K8S_BUILD) $(IMAGE_DIR) $(PODMAN_DIR)/tmp:
	$(Q)mkdir -p $@

# --- test images: one static binary each, FROM scratch -------------------------------------------
$(K8S_BUILD)/ctx-%/Containerfile: | $(K8S_BUILD)
	$(Q)mkdir -p $(@D)
	$(Q)printf 'FROM scratch\nCOPY %s /%s\nENTRYPOINT ["/%s"]\n' $* $* $* > $@

$(K8S_BUILD)/ctx-%/bin: tests/k8s/%.c | $(K8S_BUILD)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(K8S_STATIC_CFLAGS) -o $(@D)/$* $<
	$(Q)touch $@

$(K8S_BUILD)/%.oci.tar: $(K8S_BUILD)/ctx-%/bin $(K8S_BUILD)/ctx-%/Containerfile | $(PODMAN_DIR)/tmp
	$(call msg,IMAGE,$@)
	$(Q)$(PODMAN) build -q --isolation chroot --pull=never -t localhost/bindguard-test/$*:1 \
		$(K8S_BUILD)/ctx-$* >/dev/null
	$(Q)rm -f $@ && $(PODMAN) save -q --format oci-archive -o $@ localhost/bindguard-test/$*:1

k8s-images: $(K8S_BUILD)/pause.oci.tar $(K8S_BUILD)/bindprobe.oci.tar
.PRECIOUS: $(K8S_BUILD)/ctx-%/bin $(K8S_BUILD)/ctx-%/Containerfile

# --- the bindguard image -------------------------------------------------------------------------
# The build context is the tracked and untracked-but-not-ignored files, minus what the build
# never reads, so a stale build/ or node_modules never reaches the image.
image: | $(IMAGE_DIR) $(PODMAN_DIR)/tmp
	@t0=$$(date +%s.%N); \
	deploy/image/mkbase.sh $(PODMAN_DIR)/mkbase $(IMAGE_BASE) $(PODMAN) || exit 1; \
	rm -rf $(IMAGE_DIR)/ctx && mkdir -p $(IMAGE_DIR)/ctx && \
	git ls-files -z --cached --others --exclude-standard -- . ':!tests' ':!deploy' ':!docs' \
		':!bench' ':!.ci' ':!k8s.mk' ':!README.md' | xargs -0 cp --parents -t $(IMAGE_DIR)/ctx && \
	echo "image: podman build --isolation chroot $(IMAGE_REF)" && \
	$(PODMAN) build --isolation chroot --pull=never -f deploy/image/Containerfile \
		--build-arg BASE=$(IMAGE_BASE) --build-arg VERSION=$(VERSION) \
		--build-arg BUILD_PKGS="$(IMAGE_BUILD_PKGS)" -t $(IMAGE_REF) $(IMAGE_DIR)/ctx \
		> $(IMAGE_DIR)/build.log 2>&1 || { tail -30 $(IMAGE_DIR)/build.log; exit 1; }; \
	rm -f $(IMAGE_ARCHIVE) && $(PODMAN) save -q --format oci-archive -o $(IMAGE_ARCHIVE) \
		$(IMAGE_REF) || exit 1; \
	echo "image: $(IMAGE_REF) -> $(IMAGE_ARCHIVE)"; \
	echo "image: archive $$(stat -c %s $(IMAGE_ARCHIVE)) bytes, image $$($(PODMAN) image inspect \
		--format '{{.Size}}' $(IMAGE_REF)) bytes; files:"; \
	sed -n 's|^/rootfs/|  /|p' $(IMAGE_DIR)/build.log; \
	awk -v t0=$$t0 -v t1=$$(date +%s.%N) 'BEGIN { printf "image: done in %.1f s\n", t1 - t0 }'

# --- offline validation of the manifests ----------------------------------------------------------
$(K8S_NODE_DIR)/node_modules/.done: tests/k8s/validate/package.json tests/k8s/validate/package-lock.json
	@command -v node >/dev/null && command -v npm >/dev/null || \
		{ echo "k8s-validate: node and npm are needed (make deps)" >&2; exit 1; }
	$(Q)mkdir -p $(K8S_NODE_DIR) && cp $^ $(K8S_NODE_DIR)/
	$(Q)cd $(K8S_NODE_DIR) && npm ci --no-audit --no-fund --loglevel=error >/dev/null
	$(Q)touch $@

K8S_MANIFESTS	:= $(wildcard deploy/kubernetes/*.yaml deploy/kubernetes/uninstall/*.yaml)

# The validator proves its own checks first (each on a document broken on purpose).
k8s-validate: $(K8S_NODE_DIR)/node_modules/.done
	$(Q)NODE_PATH=$(abspath $(K8S_NODE_DIR))/node_modules node tests/k8s/validate/validate.js \
		--self-test | tail -1
	$(Q)NODE_PATH=$(abspath $(K8S_NODE_DIR))/node_modules node tests/k8s/validate/validate.js \
		--policy policy/iredmail.yaml $(K8S_MANIFESTS)

# The ConfigMap is generated from the built-in policy; k8s-validate fails when they differ.
k8s-manifests:
	$(Q)deploy/kubernetes/gen-configmap.sh policy/iredmail.yaml > deploy/kubernetes/20-configmap.yaml

# --- end to end ------------------------------------------------------------------------------------
# Features that have landed (e2e.py): their checks are real assertions, never XFAIL.
K8S_EXPECT	?= pod-fields scopes configmap-reload pin metrics

k8s-test: deps k8s-validate all k8s-images image
	$(Q)K8S_EXPECT="$(K8S_EXPECT)" BINDGUARD_IMAGE=$(IMAGE_ARCHIVE) BINDGUARD_IMAGE_REF=$(IMAGE_REF) \
		K8S_PAUSE_IMAGE=$(K8S_BUILD)/pause.oci.tar K8S_PAUSE_REF=$(K8S_PAUSE_REF) \
		K8S_PROBE_IMAGE=$(K8S_BUILD)/bindprobe.oci.tar K8S_PROBE_REF=$(K8S_PROBE_REF) \
		K8S_PROBE_BIN=$(K8S_BUILD)/ctx-bindprobe/bindprobe BINDGUARD=$(abspath $(BUILD))/bindguard \
		tests/k8s/e2e.sh

# Podman's private storage and everything above; `make clean` removes build/ as a whole.
k8s-clean:
	-$(Q)$(PODMAN) system reset -f >/dev/null 2>&1
	$(Q)rm -rf $(K8S_BUILD) $(IMAGE_DIR) $(PODMAN_DIR)
