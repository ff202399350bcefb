# gpt-from-scratch in C - one Makefile for every chapter.
#
#   make              build every chapter (and 06-cuda when nvcc is present), after make deps
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
# CUDA (chapter 06): built when nvcc is there, unless CUDA=0.
CUDA      ?= 1
CUDA_HOME ?= /usr/local/cuda
NVCC      ?= $(CUDA_HOME)/bin/nvcc
CUDA_ARCH ?= -arch=sm_90
HAVE_NVCC := $(if $(filter 1,$(CUDA)),$(shell command -v $(NVCC) 2>/dev/null))
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null)
CHECK_CFLAGS = $(shell pkg-config --cflags check 2>/dev/null)

# ---------------------------------------------------------------- sources
COMMON_SRC = common/error.c common/rng.c common/tokenizer.c common/data.c common/params.c \
             common/adamw.c common/log.c common/cli.c common/train.c \
             common/checkpoint.c
CH01_SRC   = 01-bigram/embedding.c 01-bigram/crossentropy.c 01-bigram/bigram.c \
             01-bigram/generate.c 01-bigram/chapter.c
# A chapter's layers (linked by every later chapter) and its model (its own).
CH02_SRC   = 02-self-attention/linear.c 02-self-attention/position.c \
             02-self-attention/attention.c 02-self-attention/lmbase.c
CH02_MODEL = 02-self-attention/model.c
CH03_SRC   = 03-multihead/multihead.c 03-multihead/feedforward.c
CH03_MODEL = 03-multihead/model.c
CH04_SRC   = 04-block/layernorm.c 04-block/residual.c 04-block/dropout.c 04-block/block.c
CH04_MODEL = 04-block/model.c
CH05_SRC   = 05-gpt/gelu.c 05-gpt/blas.c 05-gpt/fastops.c 05-gpt/gpt.c 05-gpt/ckpt.c \
             05-gpt/run.c
# 06-cuda: kernels compiled by nvcc; the model and the program by the C compiler
CH06_CU    = 06-cuda/cuda_util.cu 06-cuda/matmul.cu 06-cuda/embedding.cu 06-cuda/layernorm.cu \
             06-cuda/attention.cu 06-cuda/attention_fused.cu 06-cuda/pointwise.cu 06-cuda/crossentropy.cu 06-cuda/adamw.cu
CH06_SRC   = 06-cuda/gpt_cuda.c

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))
COMMON_OBJ = $(call obj,$(COMMON_SRC))
CH01_OBJ   = $(call obj,$(CH01_SRC))
# Everything up to and including chapter N's layers.
UPTO01_OBJ = $(CH01_OBJ) $(COMMON_OBJ)
UPTO02_OBJ = $(call obj,$(CH02_SRC)) $(UPTO01_OBJ)
UPTO03_OBJ = $(call obj,$(CH03_SRC)) $(UPTO02_OBJ)
UPTO04_OBJ = $(call obj,$(CH04_SRC)) $(UPTO03_OBJ)
CH02_MODEL_OBJ = $(call obj,$(CH02_MODEL))
CH03_MODEL_OBJ = $(call obj,$(CH03_MODEL))
CH04_MODEL_OBJ = $(call obj,$(CH04_MODEL))
UPTO05_OBJ = $(call obj,$(CH05_SRC)) $(UPTO04_OBJ)
CH06_OBJ   = $(patsubst %.cu,$(BUILD)/%.cu.o,$(CH06_CU)) $(call obj,$(CH06_SRC))

BIGRAM     = $(BIN)/01-bigram/bigram
ATTENTION  = $(BIN)/02-self-attention/attention
MULTIHEAD  = $(BIN)/03-multihead/multihead
BLOCK      = $(BIN)/04-block/block
GPT        = $(BIN)/05-gpt/gpt
GPT_CUDA   = $(BIN)/06-cuda/gpt-cuda
PROGRAMS   = $(BIGRAM) $(ATTENTION) $(MULTIHEAD) $(BLOCK) $(GPT)

# Each chapter's tests: its Check suite and shell tests of its program.
TESTS_COMMON = $(BUILD)/tests/test_common tests/cli_run_suites.sh
TESTS_01     = $(BUILD)/tests/test_01_bigram tests/cli_01_bigram.sh
TESTS_02     = $(BUILD)/tests/test_02_attention tests/cli_02_attention.sh
TESTS_03     = $(BUILD)/tests/test_03_multihead tests/cli_03_multihead.sh
TESTS_04     = $(BUILD)/tests/test_04_block tests/cli_04_block.sh
TESTS_05     = $(BUILD)/tests/test_05_gpt tests/cli_05_gpt.sh
TESTS_06     = $(BUILD)/tests/test_06_cuda
# Bad input: every program's options and data, the GPT's checkpoints and
# training faults (shell tests), the UTF-8 and checkpoint corpora and a
# seeded mutation fuzzer (a Check suite).
TESTS_RELIABILITY = $(BUILD)/tests/test_fuzz tests/reliability_options.sh \
                    tests/reliability_data.sh tests/reliability_checkpoints.sh
ALL_TESTS    = $(TESTS_COMMON) $(TESTS_01) $(TESTS_02) $(TESTS_03) $(TESTS_04) $(TESTS_05) \
               $(if $(HAVE_NVCC),$(TESTS_06)) $(TESTS_RELIABILITY)
SUITES       = $(filter-out %.sh,$(ALL_TESTS))

.PHONY: all compile deps data run plot test test-common test-01 test-02 test-03 test-04 test-05 \
        test-06 test-reliability bench bench-cuda cuda cuda-note clean test-asan \
        test-valgrind fuzz
# `make` installs what the build needs first (Check, OpenBLAS: make deps),
# as `make run` and `make test` do, rather than stop at a missing header.
all: deps
	@$(MAKE) --no-print-directory compile
compile: $(PROGRAMS) $(filter-out $(TESTS_06),$(SUITES)) $(if $(HAVE_NVCC),cuda,cuda-note)

# How a program and a test suite are linked.
# EXTRA_LIBS: what a target needs beyond libm (OpenBLAS from chapter 05 on,
# CUDA for 06), set per target below.
define link_program
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(EXTRA_LIBS) $(LDLIBS) -o $@
endef
define link_suite
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(CHECK_LIBS) $(EXTRA_LIBS) $(LDLIBS) -o $@
endef

# The build's settings, in files rewritten only when they change. Every
# object depends on its compiler's file, so `make BLAS=0` or `make CC=clang`
# after a plain `make` recompiles what they change instead of linking stale
# objects (and a new NVCC recompiles only the .cu files).
C_SETTINGS    = $(CC) $(CPPFLAGS) $(CFLAGS) $(CHECK_CFLAGS) $(LDFLAGS) $(BLAS_LIBS)
CUDA_SETTINGS = $(NVCC) $(NVCCFLAGS)
write_if_changed = @mkdir -p $(dir $@); echo '$(1)' | cmp -s - $@ || echo '$(1)' > $@
$(BUILD)/settings: FORCE
	$(call write_if_changed,$(C_SETTINGS))
$(BUILD)/settings-cuda: FORCE
	$(call write_if_changed,$(CUDA_SETTINGS))
.PHONY: FORCE

$(BUILD)/%.o: %.c $(BUILD)/settings
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/tests/%.o: tests/%.c $(BUILD)/settings
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(CHECK_CFLAGS) -c $< -o $@

$(BIGRAM): $(call obj,01-bigram/main.c) $(UPTO01_OBJ)
	$(link_program)
$(ATTENTION): $(call obj,02-self-attention/main.c) $(CH02_MODEL_OBJ) $(UPTO02_OBJ)
	$(link_program)
$(MULTIHEAD): $(call obj,03-multihead/main.c) $(CH03_MODEL_OBJ) $(UPTO03_OBJ)
	$(link_program)
$(BLOCK): $(call obj,04-block/main.c) $(CH04_MODEL_OBJ) $(UPTO04_OBJ)
	$(link_program)
$(GPT): $(call obj,05-gpt/main.c) $(UPTO05_OBJ)
	$(link_program)

# Test suites link the same objects as the programs, plus Check.
$(BUILD)/tests/test_common: $(BUILD)/tests/test_common.o $(BUILD)/tests/testutil.o $(COMMON_OBJ)
	$(link_suite)
$(BUILD)/tests/test_01_bigram: $(BUILD)/tests/test_01_bigram.o $(BUILD)/tests/testutil.o \
                               $(UPTO01_OBJ)
	$(link_suite)
# Chapters 02-04's suites share the model checks of tests/modelutil.c.
MODEL_TEST_OBJ = $(BUILD)/tests/testutil.o $(BUILD)/tests/modelutil.o
$(BUILD)/tests/test_02_attention: $(BUILD)/tests/test_02_attention.o $(MODEL_TEST_OBJ) \
                                  $(CH02_MODEL_OBJ) $(UPTO02_OBJ)
	$(link_suite)
$(BUILD)/tests/test_03_multihead: $(BUILD)/tests/test_03_multihead.o $(MODEL_TEST_OBJ) \
                                  $(CH03_MODEL_OBJ) $(UPTO03_OBJ)
	$(link_suite)
$(BUILD)/tests/test_04_block: $(BUILD)/tests/test_04_block.o $(MODEL_TEST_OBJ) \
                              $(CH04_MODEL_OBJ) $(UPTO04_OBJ)
	$(link_suite)
$(BUILD)/tests/test_05_gpt: $(BUILD)/tests/test_05_gpt.o $(MODEL_TEST_OBJ) $(UPTO05_OBJ)
	$(link_suite)
$(BUILD)/tests/test_fuzz: $(BUILD)/tests/test_fuzz.o $(BUILD)/tests/fuzz/properties.o \
                          $(BUILD)/tests/fuzz/properties_checkpoint.o $(BUILD)/tests/testutil.o \
                          $(UPTO05_OBJ)
	$(link_suite)
$(GPT) $(BUILD)/tests/test_05_gpt $(BUILD)/tests/test_fuzz: EXTRA_LIBS = $(BLAS_LIBS)

# ---------------------------------------------------------------- 06-cuda
# Built when nvcc exists (`make cuda` insists). The CPU code it links (the
# reference its tests compare against) is this build's, so `make BLAS=0
# cuda` gives binaries that need no OpenBLAS (the GPU machine has none).
NVCCFLAGS ?= -O2 -g $(CUDA_ARCH) -Xcompiler -Wall,-Wextra
CUDA_LIBS  = -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcublas -lcudart_static \
             -ldl -lrt -lpthread -lstdc++

$(BUILD)/%.cu.o: %.cu $(wildcard 06-cuda/*.h 06-cuda/*.cuh) $(BUILD)/settings-cuda
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) -c $< -o $@

$(GPT_CUDA): $(call obj,06-cuda/main.c) $(CH06_OBJ) $(UPTO05_OBJ)
	$(link_program)
$(BUILD)/tests/test_06_cuda: $(BUILD)/tests/test_06_cuda.o $(BUILD)/tests/testutil.o $(CH06_OBJ) \
                             $(UPTO05_OBJ)
	$(link_suite)
$(GPT_CUDA) $(BUILD)/tests/test_06_cuda: EXTRA_LIBS = $(BLAS_LIBS) $(CUDA_LIBS)

cuda: $(GPT_CUDA) $(BUILD)/tests/test_06_cuda
cuda-note:
	@echo "note: $(if $(filter 1,$(CUDA)),nvcc not found at $(NVCC),CUDA=0): skipping 06-cuda" \
	    "(make cuda NVCC=/path/to/nvcc)"

# ---------------------------------------------------------------- set-up
deps:
	@common/deps.sh

data:
	@common/get-data.sh

# ---------------------------------------------------------------- the main job
# Each run starts afresh: --overwrite lets the GPT replace the checkpoints
# of the previous `make run` (it refuses to, otherwise).
RUNS = runs
run: deps
	@$(MAKE) --no-print-directory compile
	@common/get-data.sh
	$(BIGRAM) --sample 300
	$(ATTENTION) --sample 300
	$(MULTIHEAD) --sample 300
	$(BLOCK) --sample 300
	$(GPT) train --preset cpu-small --overwrite
	$(GPT) sample --ckpt $(RUNS)/05-gpt/cpu-small/best.safetensors --tokens 500
	@$(MAKE) --no-print-directory plot

# The validation curves of every chapter that has run, on one plot.
PLOT_RUNS   = 01-bigram:bigram 02-self-attention:one-head 03-multihead:multi-head+ffn \
              04-block:3-blocks 05-gpt/cpu-small:gpt-cpu-small
plot_dir    = $(word 1,$(subst :, ,$(1)))
PLOT_FOUND  = $(foreach r,$(PLOT_RUNS),$(if $(wildcard $(RUNS)/$(call plot_dir,$(r))/loss.csv),$(r)))
PLOT_FILES  = $(foreach r,$(PLOT_FOUND),$(RUNS)/$(call plot_dir,$(r))/loss.csv)
PLOT_TITLES = $(foreach r,$(PLOT_FOUND),$(word 2,$(subst :, ,$(r))))
plot:
	@$(if $(strip $(PLOT_FOUND)),true,echo "plot: no $(RUNS)/*/loss.csv yet (make run trains them)" >&2; false)
	@gnuplot -e "files='$(PLOT_FILES)'; titles='$(PLOT_TITLES)'; out='$(RUNS)/compare.png'" \
	    common/plot/compare.gp && echo "plot: $(RUNS)/compare.png"
	@gnuplot -e "files='$(PLOT_FILES)'; titles='$(PLOT_TITLES)'; term='dumb'" \
	    common/plot/compare.gp

# ---------------------------------------------------------------- speed
# Benchmarks, never tests: timings depend on the machine. Each prints one
# "bench ..." line per configuration, with the PyTorch peer's time and the
# ratio where the peer can run (../shared/peer/).
bench: deps
	@$(MAKE) --no-print-directory $(GPT)
	@GPT=$(GPT) 05-gpt/bench.sh
bench-cuda:
	@$(MAKE) --no-print-directory cuda
	@GPT_CUDA=$(GPT_CUDA) 06-cuda/bench.sh

# ---------------------------------------------------------------- tests
# tests/run-suites.sh runs each suite under `timeout`, sums Check's totals,
# treats exit 77 as a skip, and fails on any failure or when nothing ran.
# BIN tells the shell tests where this build's programs are.
RUN_SUITES = BIN=$(BIN) tests/run-suites.sh

# Each test target builds what it needs with a sub-make; two of them side
# by side (make -j2 test-01 test-02) would compile the objects they share
# twice, into the same files. So several test goals run one after another
# (each sub-make still builds in parallel).
ifeq ($(MAKELEVEL),0)
ifneq ($(word 2,$(filter test test-%,$(MAKECMDGOALS))),)
.NOTPARALLEL:
endif
endif

test: deps
ifeq ($(HAVE_NVCC),)
	@[ "$${REQUIRE_GPU:-0}" != 1 ] || { echo "test: REQUIRE_GPU=1, but chapter 06 is not built here (no nvcc at $(NVCC), or CUDA=0)" >&2; false; }
endif
	@$(MAKE) --no-print-directory compile
	@$(RUN_SUITES) $(ALL_TESTS)

test-common: deps
	@$(MAKE) --no-print-directory $(TESTS_COMMON)
	@$(RUN_SUITES) $(TESTS_COMMON)
test-01: deps
	@$(MAKE) --no-print-directory $(filter-out %.sh,$(TESTS_01)) $(BIGRAM)
	@$(RUN_SUITES) $(TESTS_01)
test-02: deps
	@$(MAKE) --no-print-directory $(filter-out %.sh,$(TESTS_02)) $(ATTENTION)
	@$(RUN_SUITES) $(TESTS_02)
test-03: deps
	@$(MAKE) --no-print-directory $(filter-out %.sh,$(TESTS_03)) $(MULTIHEAD)
	@$(RUN_SUITES) $(TESTS_03)
test-04: deps
	@$(MAKE) --no-print-directory $(filter-out %.sh,$(TESTS_04)) $(BLOCK)
	@$(RUN_SUITES) $(TESTS_04)
test-05: deps
	@$(MAKE) --no-print-directory $(filter-out %.sh,$(TESTS_05)) $(GPT)
	@$(RUN_SUITES) $(TESTS_05)
test-06: deps
ifeq ($(HAVE_NVCC),)
	@echo "test-06: SKIP: nvcc not found at $(NVCC) (make test-06 NVCC=/path/to/nvcc)"
	@[ "$${REQUIRE_GPU:-0}" != 1 ] || { echo "test-06: REQUIRE_GPU=1: a skip fails" >&2; false; }
else
	@$(MAKE) --no-print-directory cuda
	@$(RUN_SUITES) $(TESTS_06)
endif
test-reliability: deps
	@$(MAKE) --no-print-directory $(filter-out %.sh,$(TESTS_RELIABILITY)) $(PROGRAMS)
	@$(RUN_SUITES) $(TESTS_RELIABILITY)

# ---------------------------------------------------------------- checked builds
# The same suites on builds that see what a plain run cannot. Each has its
# own BUILD and BIN (programs in build/asan/01-bigram/bigram, ...), so it
# never clobbers the normal build, and any report fails the run.

# AddressSanitizer (out-of-bounds, use-after-free, double free; its leak
# checker is on, so every leak fails too) and UBSan (signed overflow, bad
# shifts, misaligned or null access). Check's per-test timeout (60 s, set by
# tests/run-suites.sh) is stretched ten times for the slowdown.
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
# program under valgrind too (lib.sh's $RUNNER), some on fewer cases.
# CUDA=0 leaves chapter 06 out: valgrind cannot follow the CUDA runtime
# (its start-up alone, dlopen-ing the driver, reports invalid reads in
# ld.so), and NVIDIA's compute-sanitizer is the tool for GPU code. Its
# suite still runs in make test and make test-asan, where it skips
# cleanly without a GPU.
VALGRIND = valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite
VALGRIND_ENV = RUNNER="$(VALGRIND)" CK_FORK=no OMP_NUM_THREADS=1 TEST_SCALE=small \
               SUITE_TIMEOUT=900
test-valgrind:
	@common/deps.sh valgrind
	@$(VALGRIND_ENV) $(MAKE) --no-print-directory BLAS=0 ARCH=-march=x86-64-v2 OPT=-O1 CUDA=0 \
	    BUILD=build/valgrind BIN=build/valgrind test

# ---------------------------------------------------------------- fuzzing
# Coverage-guided fuzzing with libFuzzer, under ASan and UBSan. A target
# NAME is tests/fuzz/fuzz_NAME.c, linked with all of common/, the oracles
# of tests/fuzz/properties.c and the sources FUZZ_SRC_NAME lists; after the
# colon come its seed directories (comma-separated), which are only read,
# and after a second colon the longest input to try (default FUZZ_MAX_LEN).
# Add a target with one word here. The seed and the run count are fixed,
# so `make fuzz` tries the same inputs every time; FUZZ_RUNS=-1
# FUZZ_TIME=3600 fuzzes for an hour.
FUZZ_TARGETS  = tokenizer:tests/data/utf8 checkpoint:tests/data/checkpoints:8192
# The checkpoint loader is chapter 05's (ckpt.c on gpt.c and the layers of
# chapters 01-04), without the programs' drivers (run.c, chapter.c) and
# blas.c, which call OpenMP's functions: this build has no OpenMP and no
# BLAS (fastops.c falls back on its own loops).
FUZZ_NOT_LINKED     = 05-gpt/blas.c 05-gpt/run.c 01-bigram/chapter.c
FUZZ_SRC_checkpoint = tests/fuzz/properties_checkpoint.c \
                      $(filter-out $(FUZZ_NOT_LINKED),$(CH05_SRC) $(CH04_SRC) $(CH03_SRC) \
                                                      $(CH02_SRC) $(CH01_SRC))
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

# (The second expansion lets a pattern rule name FUZZ_SRC_<its stem>.)
.SECONDEXPANSION:
$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/properties.c $(COMMON_SRC) $$(FUZZ_SRC_$$*) \
                      $(wildcard common/*.h tests/fuzz/*.h 0[1-5]-*/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -D_POSIX_C_SOURCE=200809L $(FUZZ_CFLAGS) $(filter %.c,$^) -lm -o $@

fuzz:
	@common/deps.sh clang libclang-rt-14-dev
	@$(MAKE) --no-print-directory $(FUZZ_BINS)
	@FUZZ_RUNS=$(FUZZ_RUNS) FUZZ_SEED=$(FUZZ_SEED) FUZZ_MAX_LEN=$(FUZZ_MAX_LEN) \
	    FUZZ_TIME=$(FUZZ_TIME) tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_TARGETS)

clean:
	rm -rf build $(PROGRAMS) $(GPT_CUDA)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
