# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# tests/sanitize.mk - the test suite again, under AddressSanitizer + UBSan, and the agent under
# valgrind. Included by the top-level Makefile (paths are relative to the repository root).
#
#   make test-sanitize   build a second tree in $(SAN_BUILD) (default $(BUILD)/asan) with
#                        -fsanitize=address,undefined and run every test in it: unit tests, the
#                        integration tests and the agent they start. A sanitizer report, or a
#                        leak at exit, makes the process exit non-zero: the test that checks it
#                        (every itest checks that the agent stops with 0) goes red.
#   make test-valgrind   the agent's start -> event -> reload -> stop cycle under memcheck
#                        (tests/integration/itest_valgrind.c, which tests/run.sh also runs)

SAN_BUILD	?= $(BUILD)/asan
SAN_FLAGS	:= -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
# abort_on_error: a report kills the process with SIGABRT, so no exit code can hide it; a leak
# at exit then also ends in SIGABRT instead of exit code 23. The agent runs as a child of the
# integration tests and inherits these.
SAN_ENV		:= ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=1 \
		   UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

.PHONY: test-sanitize test-valgrind

test-sanitize:
	$(Q)$(MAKE) --no-print-directory BUILD=$(SAN_BUILD) EXTRA_CFLAGS="$(SAN_FLAGS)" \
		EXTRA_LDLIBS="$(SAN_FLAGS)" all unit-bins integration-bins
	$(Q)$(SAN_ENV) BINDGUARD=$(SAN_BUILD)/bindguard tests/run.sh $(SAN_BUILD)

test-valgrind:
	$(Q)$(MAKE) --no-print-directory all $(BUILD)/tests/itest_valgrind
	$(Q)if ! command -v valgrind >/dev/null; then \
		echo "test-valgrind: valgrind is not installed (make deps)" >&2; exit 1; fi
	$(Q)BINDGUARD=$(BUILD)/bindguard $(BUILD)/tests/itest_valgrind
