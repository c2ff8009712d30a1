# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# tests/fuzz/fuzz.mk - libFuzzer targets for the policy parser and the event encoder.
# Included by the top-level Makefile (paths are relative to the repository root).
#
#   make fuzz-build    build $(BUILD)/fuzz/fuzz_policy and fuzz_event (clang, libFuzzer + ASan
#                      + UBSan; the runtime is in libclang-rt-dev)
#   make fuzz          run each target for FUZZ_SECONDS (default 300) on a copy of its corpus in
#                      $(BUILD)/fuzz/corpus-*, which keeps growing from run to run
#   make fuzz-ci       each target for FUZZ_CI_SECONDS (60) on a fresh copy of its corpus; one
#                      line per target; fails on any crash, leak, timeout or broken invariant
#
# The committed seeds in tests/fuzz/corpus/ are never written to. A failing input is saved as
# $(BUILD)/fuzz/artifacts/<target>-crash-*; replay it with `$(BUILD)/fuzz/fuzz_<target> FILE`.

FUZZ_DIR	:= $(BUILD)/fuzz
FUZZ_TARGETS	:= policy event
FUZZ_SECONDS	?= 300
FUZZ_CI_SECONDS	?= 60
FUZZ_CC		?= $(CLANG)
# -fno-sanitize-recover: a UBSan report must stop the run, or libFuzzer would not see it.
FUZZ_SAN	:= -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS	:= -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) $(WARN) -std=gnu11 -D_GNU_SOURCE \
		   -Iinclude -Ipolicy -Iagent -Itests/lib
FUZZ_LIB_SRCS	:= $(wildcard policy/*.c) agent/strbuf.c agent/event_fmt.c
FUZZ_LIB_OBJS	:= $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(FUZZ_LIB_SRCS)) \
		   $(FUZZ_DIR)/obj/policy/builtin.o
FUZZ_HARNESS	:= $(patsubst %,$(FUZZ_DIR)/obj/harness_%.o,$(FUZZ_TARGETS))
# The tests' strict JSON checker (tests/lib), shared with the unit tests.
FUZZ_CHECK_OBJS	:= $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(wildcard tests/lib/*.c))
FUZZ_HDRS	:= $(wildcard include/*.h policy/*.h agent/strbuf.h agent/event_fmt.h \
		   tests/lib/*.h)
# Room for the whole iRedMail seed (10 KiB); an event is 112 bytes plus three short strings.
FUZZ_MAX_LEN_policy := 12288
FUZZ_MAX_LEN_event  := 512
FUZZ_DICT_policy    := -dict=tests/fuzz/policy.dict
FUZZ_DICT_event     :=
FUZZ_ENV	:= ASAN_OPTIONS=detect_leaks=1 \
		   UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

.PHONY: fuzz-build fuzz fuzz-ci

fuzz-build: $(patsubst %,$(FUZZ_DIR)/fuzz_%,$(FUZZ_TARGETS))

# Only the code under test carries coverage instrumentation (fuzzer-no-link): the harness and
# its checkers are not, so that they neither steer the fuzzer nor slow it down.
$(FUZZ_DIR)/obj/%.o: %.c $(FUZZ_HDRS)
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_DIR)/obj/policy/builtin.o: policy/builtin.S policy/iredmail.yaml
	$(call msg,FUZZ-AS,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) -c $< -o $@

$(FUZZ_DIR)/obj/harness_%.o: tests/fuzz/fuzz_%.c $(FUZZ_HDRS)
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_DIR)/obj/tests/lib/%.o: tests/lib/%.c $(FUZZ_HDRS)
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

.SECONDARY: $(FUZZ_HARNESS) $(FUZZ_LIB_OBJS) $(FUZZ_CHECK_OBJS)

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/obj/harness_%.o $(FUZZ_LIB_OBJS) $(FUZZ_CHECK_OBJS)
	$(call msg,FUZZ-LD,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ -lyaml -ljansson

# fuzz_run(target, seconds, fresh|keep): run one target on its corpus copy and print one line;
# on failure also the report from its log and the saved input, and leave $(FUZZ_DIR)/failed-*
# behind so that fuzz_verdict fails once every target has had its turn. -timeout turns a hang
# into a failure.
define fuzz_run
	@set -u; t=$(1); dir=$(FUZZ_DIR); log=$$dir/fuzz_$$t.log; \
	rm -f $$dir/failed-$$t; \
	if [ "$(3)" = fresh ]; then rm -rf $$dir/corpus-$$t; fi; \
	mkdir -p $$dir/corpus-$$t $$dir/artifacts; touch $$dir/fuzz_$$t.start; \
	cp -p tests/fuzz/corpus/$$t/* $$dir/corpus-$$t/; \
	start=$$(date +%s); \
	$(FUZZ_ENV) $$dir/fuzz_$$t -max_total_time=$(2) -max_len=$(FUZZ_MAX_LEN_$(1)) \
		$(FUZZ_DICT_$(1)) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix=$$dir/artifacts/$$t- $$dir/corpus-$$t >$$log 2>&1; \
	rc=$$?; secs=$$(( $$(date +%s) - start )); \
	execs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $$log | tail -n 1); \
	units=$$(ls $$dir/corpus-$$t | wc -l); \
	if [ $$rc -eq 0 ]; then \
		echo "fuzz_$$t: ok, $${execs:-?} execs in $$secs s, corpus $$units inputs"; \
	else \
		echo "fuzz_$$t: FAILED (exit $$rc) after $${execs:-?} execs in $$secs s; full log $$log"; \
		sed -n '/invariant broken\|ERROR: \|^SUMMARY: \|^==[0-9]*== *ERROR/,$$p' $$log | \
			grep -v '^stat::' | head -n 60; \
		for a in $$(find $$dir/artifacts -name "$$t-*" -newer $$dir/fuzz_$$t.start); do \
			echo "fuzz_$$t: input saved as $$a (replay: $$dir/fuzz_$$t $$a)"; \
		done; \
		touch $$dir/failed-$$t; \
	fi
endef

define fuzz_verdict
	@if ls $(FUZZ_DIR)/failed-* >/dev/null 2>&1; then \
		echo "fuzz: FAILED:" $$(ls $(FUZZ_DIR)/failed-* | sed 's/.*failed-/fuzz_/'); exit 1; fi
endef

fuzz: fuzz-build
	$(call fuzz_run,policy,$(FUZZ_SECONDS),keep)
	$(call fuzz_run,event,$(FUZZ_SECONDS),keep)
	$(fuzz_verdict)

fuzz-ci: fuzz-build
	$(call fuzz_run,policy,$(FUZZ_CI_SECONDS),fresh)
	$(call fuzz_run,event,$(FUZZ_CI_SECONDS),fresh)
	$(fuzz_verdict)
