# gpt-from-scratch in C - one Makefile for every chapter.
#
#   make              build every chapter (and 06-cuda when nvcc is present)
#   make run          install what is missing, get the data, train, plot, sample
#   make test         run every Check suite (make test-01 ... test-06, test-common)
#   make bench        speed of the GPT against the PyTorch peer
#   make plot         redraw the loss plots from runs/*/loss.csv
#   make deps | data | clean | cuda | bench-cuda
#   make test-asan      the suites again under AddressSanitizer + UBSan
#   make test-valgrind  the suites again under valgrind's memcheck
#   make fuzz           libFuzzer on the parsers (needs clang)
#
# Knobs: BLAS=0 builds without OpenBLAS (the project's own loops);
#        CC=clang; ARCH=-march=x86-64-v3 for a portable binary.

CC      ?= cc
BLAS    ?= 1
ARCH    ?= -march=native
OPT     ?= -O2
# Where objects, test binaries and (for variants) chapter binaries go.
BUILD   ?= build/default
BIN     ?= .
# Sanitizer variant: SAN=1 adds address + undefined behaviour sanitizers.
SAN     ?= 0

CPPFLAGS += -D_POSIX_C_SOURCE=200809L
# -fno-math-errno -fno-trapping-math: we never read errno after a math call
# nor the floating-point exception flags, so let the compiler inline sqrtf and
# turn comparisons inside loops into SIMD selects. Unlike -ffast-math this
# changes no result: IEEE arithmetic, order and rounding are kept.
CFLAGS  += -std=c11 -Wall -Wextra -Wpedantic $(OPT) $(ARCH) -g -fopenmp -MMD -MP \
           -fno-math-errno -fno-trapping-math
LDLIBS  += -lm
ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif
# OpenBLAS, OpenMP build, linked by its own path so that the pthread build
# that libopenblas-dev would make the default libblas is never picked up.
OPENBLAS_DIR ?= /usr/lib/x86_64-linux-gnu/openblas-openmp
OPENBLAS_INC ?= /usr/include/x86_64-linux-gnu/openblas-openmp
ifeq ($(BLAS),1)
CPPFLAGS += -DUSE_BLAS -I$(OPENBLAS_INC)
BLAS_LIBS = -L$(OPENBLAS_DIR) -Wl,-rpath,$(OPENBLAS_DIR) -lopenblas
endif
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)
CHECK_CFLAGS = $(shell pkg-config --cflags check 2>/dev/null)

# ---------------------------------------------------------------- sources
COMMON_SRC = common/error.c common/rng.c common/tokenizer.c common/data.c common/params.c \
             common/adamw.c common/log.c common/cli.c common/train.c \
             common/checkpoint.c
CH01_SRC   = 01-bigram/embedding.c 01-bigram/crossentropy.c 01-bigram/bigram.c \
             01-bigram/generate.c 01-bigram/chapter.c

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
COMMON_OBJ = $(call obj,$(COMMON_SRC))
CH01_OBJ   = $(call obj,$(CH01_SRC))

BIGRAM     = $(BIN)/01-bigram/bigram
PROGRAMS   = $(BIGRAM)

# Each chapter's tests: its Check suite and shell tests of its program.
TESTS_COMMON = $(BUILD)/tests/test_common
TESTS_01     = $(BUILD)/tests/test_01_bigram tests/cli_01_bigram.sh
# Bad input: every program's options and data (shell tests), the UTF-8
# corpus and a seeded mutation fuzzer (a Check suite).
TESTS_RELIABILITY = $(BUILD)/tests/test_fuzz tests/reliability_options.sh \
                    tests/reliability_data.sh
ALL_TESTS    = $(TESTS_COMMON) $(TESTS_01) $(TESTS_RELIABILITY)
SUITES       = $(filter-out %.sh,$(ALL_TESTS))

.PHONY: all deps data run plot test test-common test-01 test-reliability bench clean \
        test-asan test-valgrind fuzz
all: $(PROGRAMS) $(SUITES)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(CHECK_CFLAGS) -c $< -o $@

$(BIGRAM): $(call obj,01-bigram/main.c) $(CH01_OBJ) $(COMMON_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

# Test suites link the same objects as the programs, plus Check.
$(BUILD)/tests/test_common: $(BUILD)/tests/test_common.o $(BUILD)/tests/testutil.o $(COMMON_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(CHECK_LIBS) $(LDLIBS) -o $@
$(BUILD)/tests/test_01_bigram: $(BUILD)/tests/test_01_bigram.o $(BUILD)/tests/testutil.o \
                               $(CH01_OBJ) $(COMMON_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(CHECK_LIBS) $(LDLIBS) -o $@
$(BUILD)/tests/test_fuzz: $(BUILD)/tests/test_fuzz.o $(BUILD)/tests/fuzz/properties.o \
                          $(BUILD)/tests/testutil.o $(COMMON_OBJ)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(CHECK_LIBS) $(LDLIBS) -o $@

# ---------------------------------------------------------------- set-up
deps:
	@common/deps.sh

data:
	@common/get-data.sh

# ---------------------------------------------------------------- the main job
RUNS = runs
run: deps
	@$(MAKE) --no-print-directory all
	@common/get-data.sh
	$(BIGRAM) --sample 300
	@$(MAKE) --no-print-directory plot

plot:
	@gnuplot -e "files='$(RUNS)/01-bigram/loss.csv'; titles='bigram'; out='$(RUNS)/compare.png'" \
	    common/plot/compare.gp && echo "plot: $(RUNS)/compare.png"
	@gnuplot -e "files='$(RUNS)/01-bigram/loss.csv'; titles='bigram'; term='dumb'" \
	    common/plot/compare.gp

# ---------------------------------------------------------------- tests
# tests/run-suites.sh runs each suite under `timeout`, sums Check's totals,
# treats exit 77 as a skip, and fails on any failure or when nothing ran.
# BIN tells the shell tests where this build's programs are.
RUN_SUITES = BIN=$(BIN) tests/run-suites.sh

test: deps
	@$(MAKE) --no-print-directory all
	@$(RUN_SUITES) $(ALL_TESTS)

test-common: deps
	@$(MAKE) --no-print-directory $(TESTS_COMMON)
	@$(RUN_SUITES) $(TESTS_COMMON)
test-01: deps
	@$(MAKE) --no-print-directory $(filter-out %.sh,$(TESTS_01)) $(BIGRAM)
	@$(RUN_SUITES) $(TESTS_01)
test-reliability: deps
	@$(MAKE) --no-print-directory $(filter-out %.sh,$(TESTS_RELIABILITY)) $(PROGRAMS)
	@$(RUN_SUITES) $(TESTS_RELIABILITY)

# ---------------------------------------------------------------- checked builds
# The same suites on builds that see what a plain run cannot. Each has its
# own BUILD and BIN (programs in build/asan/01-bigram/bigram, ...), so it
# never clobbers the normal build, and any report fails the run.

# AddressSanitizer (out-of-bounds, use-after-free, double free; its leak
# checker is on, so every leak fails too) and UBSan (signed overflow, bad
# shifts, misaligned or null access). Check's 4 s timeouts are stretched
# for the slowdown.
ASAN_ENV = ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1 \
           UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 CK_TIMEOUT_MULTIPLIER=10
test-asan:
	@$(ASAN_ENV) $(MAKE) --no-print-directory SAN=1 OPT=-O1 BUILD=build/asan BIN=build/asan test

# valgrind's memcheck (uninitialised values, invalid accesses, definite
# leaks), on a build it can run: no OpenBLAS and a generic -march (valgrind
# 3.19 cannot decode AVX-512), -O1 -g for readable reports. CK_FORK=no keeps
# each suite one process (valgrind would follow every fork) and turns off
# Check's timeouts, so run-suites' `timeout` guards each suite. One OpenMP
# thread keeps libgomp's pool out of the leak report. TEST_SCALE=small
# shrinks the long loops (tests/testutil.h); the shell tests run every
# program under valgrind too (lib.sh's $RUNNER).
VALGRIND = valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
VALGRIND_ENV = RUNNER="$(VALGRIND)" CK_FORK=no OMP_NUM_THREADS=1 TEST_SCALE=small \
               SUITE_TIMEOUT=900
test-valgrind:
	@common/deps.sh valgrind
	@$(VALGRIND_ENV) $(MAKE) --no-print-directory BLAS=0 ARCH=-march=x86-64-v2 OPT=-O1 \
	    BUILD=build/valgrind BIN=build/valgrind test

# ---------------------------------------------------------------- fuzzing
# Coverage-guided fuzzing with libFuzzer, under ASan and UBSan. A target
# NAME is tests/fuzz/fuzz_NAME.c, linked with all of common/ and checked by
# tests/fuzz/properties.c; after the colon come its seed directories
# (comma-separated), which are only read. Add a target with one word here.
# The seed and the run count are fixed, so `make fuzz` tries the same
# inputs every time; FUZZ_RUNS=-1 FUZZ_TIME=3600 fuzzes for an hour.
FUZZ_TARGETS  = tokenizer:tests/data/utf8
FUZZ_CC      ?= clang
FUZZ_RUNS    ?= 200000
FUZZ_SEED    ?= 1
FUZZ_MAX_LEN ?= 1024
FUZZ_TIME    ?= 0
FUZZ_BUILD    = build/fuzz
FUZZ_BINS     = $(foreach t,$(FUZZ_TARGETS),$(FUZZ_BUILD)/fuzz_$(firstword $(subst :, ,$(t))))
# One thread: OpenMP's pragmas are ignored rather than linking libomp.
FUZZ_CFLAGS   = -std=c11 -Wall -Wextra -Wpedantic -Wno-unknown-pragmas -g -O1 \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/properties.c $(COMMON_SRC) \
                      $(wildcard common/*.h tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -D_POSIX_C_SOURCE=200809L $(FUZZ_CFLAGS) $(filter %.c,$^) -lm -o $@

fuzz:
	@common/deps.sh clang libclang-rt-14-dev
	@$(MAKE) --no-print-directory $(FUZZ_BINS)
	@FUZZ_RUNS=$(FUZZ_RUNS) FUZZ_SEED=$(FUZZ_SEED) FUZZ_MAX_LEN=$(FUZZ_MAX_LEN) \
	    FUZZ_TIME=$(FUZZ_TIME) tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_TARGETS)

clean:
	rm -rf build $(PROGRAMS)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
