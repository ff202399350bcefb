# gpt-from-scratch in C - one Makefile for every chapter.
#
#   make              build every chapter (and 06-cuda when nvcc is present)
#   make run          install what is missing, get the data, train, plot, sample
#   make test         run every Check suite (make test-01 ... test-06, test-common)
#   make bench        speed of the GPT against the PyTorch peer
#   make plot         redraw the loss plots from runs/*/loss.csv
#   make deps | data | clean | test-asan | test-valgrind | cuda | bench-cuda
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
CFLAGS  += -std=c11 -Wall -Wextra -Wpedantic $(OPT) $(ARCH) -g -fopenmp -MMD -MP
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
             common/adamw.c common/log.c common/cli.c common/train.c
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

BIGRAM     = $(BIN)/01-bigram/bigram
ATTENTION  = $(BIN)/02-self-attention/attention
MULTIHEAD  = $(BIN)/03-multihead/multihead
BLOCK      = $(BIN)/04-block/block
PROGRAMS   = $(BIGRAM) $(ATTENTION) $(MULTIHEAD) $(BLOCK)

# Each chapter's tests: its Check suite and shell tests of its program.
TESTS_COMMON = $(BUILD)/tests/test_common
TESTS_01     = $(BUILD)/tests/test_01_bigram tests/cli_01_bigram.sh
TESTS_02     = $(BUILD)/tests/test_02_attention tests/cli_02_attention.sh
TESTS_03     = $(BUILD)/tests/test_03_multihead tests/cli_03_multihead.sh
TESTS_04     = $(BUILD)/tests/test_04_block tests/cli_04_block.sh
ALL_TESTS    = $(TESTS_COMMON) $(TESTS_01) $(TESTS_02) $(TESTS_03) $(TESTS_04)
SUITES       = $(filter-out %.sh,$(ALL_TESTS))

.PHONY: all deps data run plot test test-common test-01 test-02 test-03 test-04 bench clean \
        test-asan test-valgrind
all: $(PROGRAMS) $(SUITES)

# How a program and a test suite are linked.
define link_program
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@
endef
define link_suite
	$(CC) $(CFLAGS) $(LDFLAGS) $^ $(CHECK_LIBS) $(LDLIBS) -o $@
endef

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/tests/%.o: tests/%.c
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
	$(ATTENTION) --sample 300
	$(MULTIHEAD) --sample 300
	$(BLOCK) --sample 300
	@$(MAKE) --no-print-directory plot

# The validation curves of every chapter that has run, on one plot.
PLOT_RUNS   = 01-bigram:bigram 02-self-attention:one-head 03-multihead:multi-head+ffn \
              04-block:3-blocks
plot_dir    = $(word 1,$(subst :, ,$(1)))
PLOT_FOUND  = $(foreach r,$(PLOT_RUNS),$(if $(wildcard $(RUNS)/$(call plot_dir,$(r))/loss.csv),$(r)))
PLOT_FILES  = $(foreach r,$(PLOT_FOUND),$(RUNS)/$(call plot_dir,$(r))/loss.csv)
PLOT_TITLES = $(foreach r,$(PLOT_FOUND),$(word 2,$(subst :, ,$(r))))
plot:
	@gnuplot -e "files='$(PLOT_FILES)'; titles='$(PLOT_TITLES)'; out='$(RUNS)/compare.png'" \
	    common/plot/compare.gp && echo "plot: $(RUNS)/compare.png"
	@gnuplot -e "files='$(PLOT_FILES)'; titles='$(PLOT_TITLES)'; term='dumb'" \
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
test-02: deps
	@$(MAKE) --no-print-directory $(filter-out %.sh,$(TESTS_02)) $(ATTENTION)
	@$(RUN_SUITES) $(TESTS_02)
test-03: deps
	@$(MAKE) --no-print-directory $(filter-out %.sh,$(TESTS_03)) $(MULTIHEAD)
	@$(RUN_SUITES) $(TESTS_03)
test-04: deps
	@$(MAKE) --no-print-directory $(filter-out %.sh,$(TESTS_04)) $(BLOCK)
	@$(RUN_SUITES) $(TESTS_04)

clean:
	rm -rf build $(PROGRAMS)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
