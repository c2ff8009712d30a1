# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# bench/bench.mk - benchmarks. Included by the top-level Makefile (paths are relative to the
# repository root). Not part of `make test`: the numbers depend on the machine and its load.
#
#   make bench         (root) install the bench-only packages if missing (gnuplot-nox,
#                      bpftrace), build the agent and the bench programs, run bench/run.sh:
#                      writes docs/benchmarks.md and docs/benchmarks.png. About 2-5 minutes.
#   make bench-bins    build $(BUILD)/bench/bindbench and $(BUILD)/bench/trivial.bpf.o only
#   make bench-ref     build the reference agent (BENCH_REF) in $(BUILD)/bench/ref-<commit>
#
# BENCH_ARGS is passed to bindbench, e.g. BENCH_ARGS="--rounds 5 --iters 5000" for a quick run.
# BENCH_REF is a commit whose agent is measured beside this one, interleaved, in the same run
# ("before" and "after" on the same machine in the same minutes): by default 1ade11d, where the
# performance issue (12) was measured. BENCH_REF= measures this build alone.

BENCH_OUT	:= $(BUILD)/bench
BENCH_BINS	:= $(BENCH_OUT)/bindbench $(BENCH_OUT)/trivial.bpf.o
# The integration tests' sandbox (cgroup, leaves, netns, agent command line, teardown).
BENCH_COMMON	:= $(OUTPUT)/tests/integration/sandbox.o $(OUTPUT)/agent/cgroup.o
# Debian packages only the benchmarks need: the plot, and the peer the audit path is compared to.
BENCH_PKGS	:= gnuplot-nox bpftrace

BENCH_REF	?= 1ade11d
BENCH_REF_DIR	= $(BENCH_OUT)/ref-$(BENCH_REF)

.PHONY: bench bench-deps bench-bins bench-ref

# One apt-get at a time, even under make -j: bench-deps runs after deps, not beside it.
bench: deps
	$(Q)$(MAKE) --no-print-directory bench-deps
	$(Q)$(MAKE) --no-print-directory all bench-bins
	$(Q)$(MAKE) --no-print-directory bench-ref
	$(Q)BENCH_REF_BIN="$(if $(BENCH_REF),$(BENCH_REF_DIR)/build/bindguard)" \
		BENCH_REF_NAME="$(BENCH_REF)" bench/run.sh $(BUILD) $(BENCH_ARGS)

bench-bins: $(BENCH_BINS)

# The reference commit's own tree and Makefile, built once (git archive: the work tree is
# untouched). A reference that is not a commit of this repository is skipped, with a word.
bench-ref:
	$(Q)if [ -z "$(BENCH_REF)" ]; then exit 0; fi; \
	if ! git rev-parse -q --verify "$(BENCH_REF)^{commit}" >/dev/null 2>&1; then \
		echo "bench-ref: $(BENCH_REF) is not a commit of this repository: no reference" >&2; \
		exit 0; \
	fi; \
	if [ -x "$(BENCH_REF_DIR)/build/bindguard" ]; then exit 0; fi; \
	echo "bench-ref: building the agent of $(BENCH_REF) in $(BENCH_REF_DIR)"; \
	rm -rf "$(BENCH_REF_DIR)" && mkdir -p "$(BENCH_REF_DIR)" && \
	git archive "$(BENCH_REF)" | tar -x -C "$(BENCH_REF_DIR)" && \
	$(MAKE) --no-print-directory -C "$(BENCH_REF_DIR)" all >"$(BENCH_REF_DIR).log" 2>&1 || \
		{ echo "bench-ref: the build of $(BENCH_REF) failed (see $(BENCH_REF_DIR).log)" >&2; \
		  rm -rf "$(BENCH_REF_DIR)"; }

bench-deps:
	@missing=""; for p in $(BENCH_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "bench-deps: all bench packages present"; exit 0; fi; \
	if [ "$$(id -u)" -ne 0 ]; then echo "bench-deps: missing packages:$$missing (run 'sudo make bench')" >&2; exit 1; fi; \
	echo "bench-deps: installing$$missing"; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get install -y -q --no-install-recommends $$missing || \
		{ apt-get update -q && apt-get install -y -q --no-install-recommends $$missing; }

$(BENCH_OUT) $(BENCH_OUT)/obj:
	$(Q)mkdir -p $@

$(BENCH_OUT)/trivial.bpf.o: bench/trivial.bpf.c $(VMLINUX) | $(BENCH_OUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -MF $(BENCH_OUT)/trivial.bpf.d -c $< -o $@

$(BENCH_OUT)/obj/bindbench.o: bench/bindbench.c | $(BENCH_OUT)/obj
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -Itests/integration -c $< -o $@

$(BENCH_OUT)/bindbench: $(BENCH_OUT)/obj/bindbench.o $(BENCH_COMMON) | $(BENCH_OUT)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(USER_CFLAGS) -o $@ $^ $(LDLIBS) -lm
