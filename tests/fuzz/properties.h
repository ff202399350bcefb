/*
 * properties.h - what must hold for *every* input of a parser, checked by
 * the fuzzers: libFuzzer's targets (tests/fuzz/fuzz_*.c, `make fuzz`) and
 * the seeded mutation driver in tests/test_fuzz.c (`make test`).
 *
 * A fuzzer is only as good as its oracle. A crash or a sanitizer report is
 * the weakest one; these checks also compare the parser with an
 * independent reference and check round trips, so a wrong answer is caught
 * as surely as a crash.
 */
#ifndef TESTS_FUZZ_PROPERTIES_H
#define TESTS_FUZZ_PROPERTIES_H

#include <stddef.h>
#include <stdint.h>

/* Room for the description of a broken property. */
#define PROPERTY_WHY_MAX 512

/* Writes the description into why (PROPERTY_WHY_MAX bytes) and returns -1,
 * so a check can end with `return property_broken(why, "...", ...);`. */
int property_broken(char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The reference UTF-8 validator, written from the table of well-formed
 * byte sequences in the Unicode standard (Table 3-7), independently of
 * common/tokenizer.c: returns the offset of the first byte of the first
 * ill-formed sequence, or len when all of data is valid UTF-8. */
size_t utf8_reference_first_invalid(const uint8_t *data, size_t len);

/* Checks the tokenizer on data (any bytes):
 * - tokenizer_build accepts it exactly when the reference says it is valid
 *   and non-empty;
 * - when it rejects invalid UTF-8, its message names the reference's
 *   offset, which lies inside the input;
 * - when it accepts, the vocabulary is strictly increasing, every entry
 *   occurs in the text, and encode + decode give back the same bytes;
 * - a vocabulary built from the first half encodes the whole text or
 *   names a byte offset inside it.
 * Returns 0, or -1 with why filled (PROPERTY_WHY_MAX bytes). */
int tokenizer_properties(const uint8_t *data, size_t len, char why[PROPERTY_WHY_MAX]);

/* Checks the safetensors parser (common/checkpoint.c) on data (any bytes),
 * in properties_checkpoint.c:
 * - it gives the same answer twice, and a failure is one line of UTF-8;
 * - when it accepts, the header length lies inside the file and the data
 *   section starts right after the header; every tensor has a dtype the
 *   format defines, at most ST_MAX_DIMS dimensions, a name of valid UTF-8
 *   found by safetensors_find, and offsets inside the data that span
 *   exactly shape x dtype bytes (computed without overflow); names and
 *   metadata keys are unique; metadata is valid UTF-8; every data byte
 *   belongs to exactly one tensor.
 * Returns 0, or -1 with why filled. */
int safetensors_properties(const uint8_t *data, size_t len, char why[PROPERTY_WHY_MAX]);

/* safetensors_properties, then chapter 05's loader on data as a file:
 * - gpt_open fails with one line that names the file, or
 * - it succeeds with a config that gpt_create accepts and the metadata
 *   states, a vocabulary of vocab_size strictly increasing characters, and
 *   every weight of that config in the file (so the model it describes is
 *   no larger than the file: no huge allocation);
 * - then a small model of that config loads the weights bit for bit, runs
 *   a forward pass, and loads the training state and options of a
 *   last.safetensors or names what is wrong with them.
 * Returns 0, or -1 with why filled. */
int checkpoint_properties(const uint8_t *data, size_t len, char why[PROPERTY_WHY_MAX]);

#endif
