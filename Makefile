# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# bindguard - eBPF bind enforcement.
#
#   make            build build/bindguard (BPF object embedded through a bpftool skeleton)
#   make deps       install missing Debian build/test packages (apt-get, as root)
#   make run        deps + build, then run the agent on the built-in iRedMail policy (root)
#   make test       deps + build, then every test: unit (no root), integration (root), the same
#                   under ASan/UBSan, fuzzing, and the integration suites on Debian's 5.10, 6.1
#                   and 6.12 kernels under qemu (vmtest)
#   make vmtest     only the qemu kernels; updates docs/kernels.md and the README's table
#   make check      clang-format check
#   make clean
#
# V=1 shows the commands.

BUILD		?= build
OUTPUT		:= $(BUILD)/obj
CLANG		?= clang
BPFTOOL		?= bpftool
CC		?= gcc
ARCH		?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' \
			-e 's/ppc64le/powerpc/' -e 's/s390x/s390/' -e 's/riscv64/riscv/')
VMLINUX		:= vmlinux-gen/$(ARCH)/vmlinux.h
VERSION		:= $(shell cat VERSION 2>/dev/null || echo 0.0.0)

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

INCLUDES	:= -Iinclude -Ipolicy -Iagent -I$(OUTPUT)
WARN		:= -Wall -Wextra -Werror
CFLAGS		?= -g -O2
USER_CFLAGS	:= $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE $(INCLUDES) -MMD -MP \
		   -DBG_VERSION='"$(VERSION)"' $(EXTRA_CFLAGS)
# BPF_PROG() passes ctx to every program whether it uses it or not.
BPF_CFLAGS	:= -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) $(WARN) -Wno-unused-parameter \
		   -Iinclude -Ivmlinux-gen/$(ARCH) -MMD -MP $(EXTRA_BPF_CFLAGS)
LDLIBS		:= -lbpf -lelf -lz -lyaml -lsystemd -ljansson -ldl $(EXTRA_LDLIBS)

POLICY_SRCS	:= $(wildcard policy/*.c)
AGENT_SRCS	:= $(filter-out agent/main.c,$(wildcard agent/*.c))
LIB_OBJS	:= $(patsubst %.c,$(OUTPUT)/%.o,$(POLICY_SRCS) $(AGENT_SRCS)) \
		   $(OUTPUT)/policy/builtin.o
MAIN_OBJ	:= $(OUTPUT)/agent/main.o
BPF_OBJ		:= $(OUTPUT)/bindguard.bpf.o
SKEL		:= $(OUTPUT)/bindguard.skel.h $(OUTPUT)/probe.skel.h

UNIT_SRCS	:= $(wildcard tests/unit/test_*.c)
UNIT_BINS	:= $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
ITEST_SRCS	:= $(wildcard tests/integration/itest_*.c)
ITEST_BINS	:= $(patsubst tests/integration/%.c,$(BUILD)/tests/%,$(ITEST_SRCS))
# The tests' own library (tests/lib: the strict JSON checker), linked into every test program.
TEST_LIB_OBJS	:= $(patsubst %.c,$(OUTPUT)/%.o,$(wildcard tests/lib/*.c))
TEST_LDLIBS	:= -ljansson
ITEST_COMMON	:= $(OUTPUT)/tests/integration/sandbox.o $(OUTPUT)/agent/cgroup.o $(TEST_LIB_OBJS)
# BPF programs the tests load themselves (foreign programs, trivial baselines).
ITEST_BPF	:= $(patsubst tests/integration/%.bpf.c,$(BUILD)/tests/%.bpf.o, \
		   $(wildcard tests/integration/*.bpf.c))

# Debian packages the build and the tests need (binary -> package is checked with dpkg).
DEPS_PKGS	:= make gcc clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libyaml-dev \
		   libcmocka-dev libsystemd-dev libjansson-dev pkg-config iproute2 util-linux \
		   libmicrohttpd-dev prometheus \
		   libclang-rt-dev valgrind \
		   qemu-system-x86 busybox-static cpio xz-utils

.DELETE_ON_ERROR:
.PHONY: all deps run test unit integration check format clean vmlinux vmtest

all: $(BUILD)/bindguard

$(BUILD)/bindguard: $(MAIN_OBJ) $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(USER_CFLAGS) -o $@ $^ $(LDLIBS)

# The skeleton is generated before any user-space object that might include it.
$(OUTPUT)/agent/%.o: agent/%.c $(SKEL) | $(OUTPUT)/agent
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -c $< -o $@

$(OUTPUT)/policy/%.o: policy/%.c | $(OUTPUT)/policy
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -c $< -o $@

# The built-in policy is policy/iredmail.yaml, embedded byte for byte (.incbin).
$(OUTPUT)/policy/builtin.o: policy/builtin.S policy/iredmail.yaml | $(OUTPUT)/policy
	$(call msg,AS,$@)
	$(Q)$(CC) -c $< -o $@

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c $(VMLINUX) | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MF $(OUTPUT)/$*.bpf.d -c $< -o $(@:.o=.tmp.o)
	$(Q)$(BPFTOOL) gen object $@ $(@:.o=.tmp.o)
	$(Q)rm -f $(@:.o=.tmp.o)

# Not intermediate: deleting the objects after a build would rebuild every skeleton (and so the
# whole agent) in the next make, e.g. in each part of make test.
.SECONDARY: $(OUTPUT)/bindguard.bpf.o $(OUTPUT)/probe.bpf.o

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@

$(OUTPUT) $(OUTPUT)/agent $(OUTPUT)/policy $(OUTPUT)/tests/integration $(OUTPUT)/tests/lib \
$(BUILD)/tests:
	$(Q)mkdir -p $@

$(OUTPUT)/tests/lib/%.o: tests/lib/%.c | $(OUTPUT)/tests/lib
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -Itests/lib -c $< -o $@

# Unit tests: one cmocka program per module, linked against the library objects.
$(BUILD)/tests/test_%: tests/unit/test_%.c $(LIB_OBJS) $(TEST_LIB_OBJS) | $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -Itests -Itests/lib -o $@ $< $(LIB_OBJS) $(TEST_LIB_OBJS) \
		$(LDLIBS) $(TEST_LDLIBS) -lcmocka

# Integration tests: need root, BPF and cgroup v2; they drive the real binary.
$(OUTPUT)/tests/integration/%.o: tests/integration/%.c | $(OUTPUT)/tests/integration
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -Itests/integration -Itests/lib -c $< -o $@

$(BUILD)/tests/itest_%: $(OUTPUT)/tests/integration/itest_%.o $(ITEST_COMMON) | $(BUILD)/tests
	$(call msg,LINK,$@)
	$(Q)$(CC) $(USER_CFLAGS) -o $@ $^ $(LDLIBS) $(TEST_LDLIBS)

$(BUILD)/tests/%.bpf.o: tests/integration/%.bpf.c $(VMLINUX) | $(BUILD)/tests
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MF $(OUTPUT)/tests/$*.bpf.d -c $< -o $@

deps:
	@missing=""; for p in $(DEPS_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "deps: all build and test packages present"; exit 0; fi; \
	if [ "$$(id -u)" -ne 0 ]; then echo "deps: missing packages:$$missing (run 'sudo make deps')" >&2; exit 1; fi; \
	echo "deps: installing$$missing"; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get install -y -q --no-install-recommends $$missing || \
		{ apt-get update -q && apt-get install -y -q --no-install-recommends $$missing; }

run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(BUILD)/bindguard run $(RUN_ARGS)

# The whole suite: unit + integration, the same again under ASan/UBSan, a short fuzz pass, and
# the integration suites on Debian's kernels under qemu. Every part runs even if one fails, so
# one CI run shows every result; each part's duration is printed.
test: deps
	$(Q)$(MAKE) --no-print-directory all unit-bins integration-bins
	$(Q)rc=0; t0=$$(date +%s); \
	part() { s=$$(date +%s); "$$@" || rc=1; \
		echo "make test: '$$*' took $$(($$(date +%s) - s)) s"; }; \
	part tests/run.sh $(BUILD); \
	part $(MAKE) --no-print-directory test-sanitize; \
	part $(MAKE) --no-print-directory fuzz-ci; \
	part tests/vmtest/vmtest.sh $(BUILD); \
	part $(MAKE) --no-print-directory packaging-check; \
	part $(MAKE) --no-print-directory deb; \
	deb=$$(ls $(BUILD)/deb/bindguard_*.deb 2>/dev/null | head -1); \
	part $(MAKE) --no-print-directory deb-test DEB=$$deb; \
	part $(MAKE) --no-print-directory systemd-test DEB=$$deb; \
	part $(MAKE) --no-print-directory k8s-test; \
	echo "make test: total $$(($$(date +%s) - t0)) s"; \
	if [ $$rc -eq 0 ]; then echo "make test: all suites passed"; \
	else echo "make test: FAILED (see above)"; fi; exit $$rc

# Debian's 5.10, 6.1 and 6.12 cloud kernels under qemu (KERNELS= to choose), then the support
# table in docs/kernels.md and the README is regenerated from what each kernel's probe said.
vmtest: deps
	$(Q)$(MAKE) --no-print-directory all integration-bins
	$(Q)tests/vmtest/vmtest.sh $(BUILD) $(KERNELS); rc=$$?; \
	tests/vmtest/update-docs.sh $(BUILD)/vmtest/support.md || rc=1; exit $$rc

.PHONY: unit-bins integration-bins
unit-bins: $(UNIT_BINS)
integration-bins: $(ITEST_BINS) $(ITEST_BPF) variant-bin

# A second build whose BPF programs differ by a no-op (BG_BUILD_VARIANT), in $(BUILD)/variant:
# the fault tests use it to prove that an upgrade adopts pinned enforcement with no gap.
.PHONY: variant-bin
variant-bin:
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/variant EXTRA_BPF_CFLAGS=-DBG_BUILD_VARIANT all

unit: unit-bins
	$(Q)tests/run.sh --unit-only $(BUILD)

vmlinux:
	BPFTOOL=$(BPFTOOL) vmlinux-gen/gen.sh /sys/kernel/btf/vmlinux $(ARCH)

FORMAT_SRCS = $(shell git ls-files '*.c' '*.h' | grep -v '^vmlinux-gen/')
check:
	$(Q)clang-format --dry-run --Werror $(FORMAT_SRCS) && echo "check: formatting ok"

format:
	$(Q)clang-format -i $(FORMAT_SRCS)

clean:
	$(Q)rm -rf $(BUILD)

# Optional parts, each owned by its own file: fuzzing, sanitizer runs, benchmarks.
-include tests/fuzz/fuzz.mk tests/sanitize.mk bench/bench.mk
-include k8s.mk
-include packaging.mk

-include $(shell find $(BUILD) -type f -name '*.d' 2>/dev/null)
