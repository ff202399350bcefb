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

#endif
