/*
 * fuzz_checkpoint.c - libFuzzer target for the checkpoint loader: the
 * safetensors parser and chapter 05's gpt_open / gpt_load_weights /
 * gpt_load_state (`make fuzz`).
 *
 * The seeds are the hand-made checkpoints of tests/data/checkpoints/: a
 * valid GPT checkpoint and its broken variants, each about 2 kB and mostly
 * JSON header, so libFuzzer's edits land where a loader goes wrong. Every
 * input must satisfy checkpoint_properties (properties.h); a broken one
 * aborts, and the input is saved under build/fuzz/ for replaying:
 * build/fuzz/fuzz_checkpoint FILE.
 */
#include <stdio.h>
#include <stdlib.h>

#include "properties.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char why[PROPERTY_WHY_MAX];
    if (checkpoint_properties(data, size, why) != 0) {
        fprintf(stderr, "checkpoint property broken: %s\n", why);
        abort();
    }
    return 0;
}
