/*
 * fuzz_tokenizer.c - libFuzzer target for the UTF-8 decoder and the
 * tokenizer (`make fuzz`).
 *
 * libFuzzer calls LLVMFuzzerTestOneInput with byte strings it mutates
 * towards new code paths, starting from the seed corpus (the hand-made bad
 * files in tests/data/utf8/). Every input must satisfy the properties in
 * properties.h; a broken one aborts, and libFuzzer saves the input that did
 * it under build/fuzz/ so it can be replayed: build/fuzz/fuzz_tokenizer FILE.
 * AddressSanitizer and UBSan turn memory errors and undefined behaviour
 * into aborts as well.
 */
#include <stdio.h>
#include <stdlib.h>

#include "properties.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char why[PROPERTY_WHY_MAX];
    if (tokenizer_properties(data, size, why) != 0) {
        fprintf(stderr, "tokenizer property broken: %s\n", why);
        abort();
    }
    return 0;
}
