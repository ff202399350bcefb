/*
 * test_fuzz.c - claims about bad input to the parsers, checked without
 * clang: every hand-made invalid UTF-8 file of tests/data/utf8/ is rejected
 * at the offset its index names, every hand-made checkpoint of
 * tests/data/checkpoints/ keeps the loader's properties, and a seeded
 * random-mutation fuzzer finds no input, text or checkpoint, that breaks
 * the properties of tests/fuzz/properties.h.
 *
 * The mutation fuzzer is libFuzzer's idea without its coverage feedback:
 * take a seed input, apply a few random edits (flip a bit, write a byte
 * that is special in UTF-8, insert a character, cut, duplicate, splice),
 * check the properties, repeat. The RNG seed is fixed, so every run tries
 * the same inputs and a failure names the iteration that reproduces it.
 * `make fuzz` runs the coverage-guided version of the same checks.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/checkpoint.h"
#include "../common/data.h"
#include "../common/rng.h"
#include "../common/tokenizer.h"
#include "fuzz/properties.h"
#include "testutil.h"

#define UTF8_CORPUS TEST_DATA_DIR "/utf8"
#define CHECKPOINT_CORPUS TEST_DATA_DIR "/checkpoints"
#define CORPUS_MAX_FILES 128
/* Mutated inputs are cut to this size: long enough for every seed (the
 * checkpoints are up to 4.3 kB), short enough to run thousands of them in
 * a second. */
#define MAX_INPUT 8192
#define MAX_EDITS 4
#define MUTATION_ITERATIONS 100000
#define VALID_TEXT_ITERATIONS 10000
#define MAX_VALID_CHARS 200
#define FUZZ_SEED 20240601
/* Each checkpoint also goes through gpt_open and a model: fewer of them. */
#define CHECKPOINT_ITERATIONS 5000

/* ------------------------------------------------------------ corpus */

typedef struct {
    char name[64];
    size_t offset; /* of the first invalid byte */
    char *bytes;
    size_t len;
} corpus_file;

/* Reads UTF8_CORPUS/index ("FILE OFFSET WHAT" lines, # comments) and the
 * files it names. Returns how many. */
static int load_corpus(corpus_file *files, int max) {
    FILE *index = fopen(UTF8_CORPUS "/index", "r");
    ck_assert_msg(index, "cannot open " UTF8_CORPUS "/index (run the suite from the "
                         "repository root, as `make test` does)");
    char line[512];
    int n = 0;
    while (fgets(line, sizeof line, index) && n < max) {
        corpus_file *f = &files[n];
        if (line[0] == '#' || sscanf(line, "%63s %zu", f->name, &f->offset) != 2)
            continue;
        char path[256];
        error e = {{0}};
        snprintf(path, sizeof path, "%s/%s", UTF8_CORPUS, f->name);
        ck_assert_msg(read_file(path, &f->bytes, &f->len, &e) == 0, "%s", e.msg);
        n++;
    }
    fclose(index);
    ck_assert_int_gt(n, 0);
    return n;
}

/* Reads the checkpoints CHECKPOINT_CORPUS/index names ("FILE|..." lines,
 * a file may have several). Returns how many files. */
static int load_checkpoints(corpus_file *files, int max) {
    FILE *index = fopen(CHECKPOINT_CORPUS "/index", "r");
    ck_assert_msg(index, "cannot open " CHECKPOINT_CORPUS "/index");
    char line[1024];
    int n = 0;
    while (fgets(line, sizeof line, index) && n < max) {
        corpus_file *f = &files[n];
        if (line[0] == '#' || sscanf(line, "%63[^|]", f->name) != 1 ||
            (n > 0 && strcmp(files[n - 1].name, f->name) == 0))
            continue;
        char path[256];
        error e = {{0}};
        snprintf(path, sizeof path, "%s/%s", CHECKPOINT_CORPUS, f->name);
        f->offset = 0;
        f->bytes = NULL;
        f->len = 0;
        /* read_file refuses an empty file, which the corpus has on purpose */
        if (read_file(path, &f->bytes, &f->len, &e) != 0) {
            ck_assert_msg(strstr(e.msg, "is empty"), "%s", e.msg);
            f->bytes = calloc(1, 1);
        }
        n++;
    }
    fclose(index);
    ck_assert_int_gt(n, 0);
    return n;
}

static void free_corpus(corpus_file *files, int n) {
    for (int i = 0; i < n; i++)
        free(files[i].bytes);
}

START_TEST(test_corpus_rejected_at_offset) {
    corpus_file files[CORPUS_MAX_FILES];
    int n = load_corpus(files, CORPUS_MAX_FILES);
    for (int i = 0; i < n; i++) {
        tokenizer tok;
        error e = {{0}};
        char expected[64];
        snprintf(expected, sizeof expected, "invalid UTF-8 at byte offset %zu ", files[i].offset);
        ck_assert_msg(tokenizer_build(&tok, files[i].bytes, files[i].len, &e) == -1,
                      "%s was accepted", files[i].name);
        ck_assert_msg(strstr(e.msg, expected), "%s: '%s' lacks '%s'", files[i].name, e.msg,
                      expected);
    }
    free_corpus(files, n);
}
END_TEST

START_TEST(test_reference_agrees_with_corpus) {
    /* the oracle itself must be right: the reference validator finds the
     * offsets the index names, written down from the standard by hand */
    corpus_file files[CORPUS_MAX_FILES];
    int n = load_corpus(files, CORPUS_MAX_FILES);
    for (int i = 0; i < n; i++)
        ck_assert_msg(utf8_reference_first_invalid((const uint8_t *)files[i].bytes,
                                                   files[i].len) == files[i].offset,
                      "%s", files[i].name);
    free_corpus(files, n);
    const char *valid = "caf\xC3\xA9 \xE2\x82\xAC \xED\x9F\xBF \xEE\x80\x80 \xF4\x8F\xBF\xBF";
    ck_assert_uint_eq(utf8_reference_first_invalid((const uint8_t *)valid, strlen(valid)),
                      strlen(valid));
}
END_TEST

/* Every file keeps the properties, then the files are freed. */
static void assert_properties(corpus_file *files, int n,
                              int (*properties)(const uint8_t *, size_t, char *)) {
    char why[PROPERTY_WHY_MAX];
    for (int i = 0; i < n; i++)
        ck_assert_msg(properties((const uint8_t *)files[i].bytes, files[i].len, why) == 0,
                      "%s: %s", files[i].name, why);
    free_corpus(files, n);
}

START_TEST(test_corpus_properties) {
    corpus_file files[CORPUS_MAX_FILES];
    assert_properties(files, load_corpus(files, CORPUS_MAX_FILES), tokenizer_properties);
}
END_TEST

/* ------------------------------------------------------------ generators */

/* Code points at the edges of UTF-8's forms and of the surrogate gap,
 * where off-by-one decoders break. */
static const uint32_t EDGE_CODE_POINTS[] = {0x0,    0x7F,   0x80,    0x7FF,   0x800,  0xD7FF,
                                            0xE000, 0xFFFD, 0xFFFF,  0x10000, 0x10FFFF};
#define N_EDGES (sizeof EDGE_CODE_POINTS / sizeof EDGE_CODE_POINTS[0])

/* Bytes with a special role in UTF-8: ASCII edges, continuation edges, the
 * leads of overlong forms (C0 C1 E0 F0), of surrogates (ED), of the last
 * plane (F4) and bytes that never occur (F5..FF). */
static const uint8_t SPECIAL_BYTES[] = {0x00, 0x7F, 0x80, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF,
                                        0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFE, 0xFF};
#define N_SPECIAL (sizeof SPECIAL_BYTES / sizeof SPECIAL_BYTES[0])

/* A random valid code point: an edge half of the time, else uniform within
 * a random UTF-8 length (so 4-byte characters are as common as ASCII). */
static uint32_t random_code_point(rng *r) {
    if (rng_below(r, 2) == 0)
        return EDGE_CODE_POINTS[rng_below(r, N_EDGES)];
    static const uint32_t first[] = {0x0, 0x80, 0x800, 0x10000};
    static const uint32_t count[] = {0x80, 0x780, 0xF800, 0x100000};
    int form = (int)rng_below(r, 4);
    uint32_t c = first[form] + (uint32_t)rng_below(r, count[form]);
    if (c >= 0xD800 && c <= 0xDFFF) /* no surrogates: move them past the gap */
        c += 0x800;
    return c;
}

typedef struct {
    uint8_t bytes[MAX_INPUT];
    size_t len;
} input;

/* Inserts n bytes at pos, dropping what no longer fits. */
static void insert_bytes(input *in, size_t pos, const uint8_t *src, size_t n) {
    if (n > MAX_INPUT - pos)
        n = MAX_INPUT - pos;
    size_t tail = in->len - pos;
    if (tail > MAX_INPUT - pos - n)
        tail = MAX_INPUT - pos - n;
    memmove(in->bytes + pos + n, in->bytes + pos, tail);
    memcpy(in->bytes + pos, src, n);
    in->len = pos + n + tail;
}

typedef enum {
    FLIP_BIT, SPECIAL_BYTE, RANDOM_BYTE, INSERT_CHAR, ERASE, TRUNCATE, DUPLICATE, SPLICE,
    N_EDIT_KINDS
} edit_kind;

/* Applies one random edit to in; `other` is a second seed for SPLICE. */
static void mutate(input *in, const input *other, rng *r) {
    size_t pos = (size_t)rng_below(r, in->len + 1); /* in [0, len] */
    size_t at = pos < in->len ? pos : 0;             /* in [0, len) when len > 0 */
    edit_kind kind = (edit_kind)rng_below(r, N_EDIT_KINDS);
    if (in->len == 0 && kind != INSERT_CHAR && kind != SPLICE)
        kind = INSERT_CHAR;
    switch (kind) {
    case FLIP_BIT: in->bytes[at] ^= (uint8_t)(1u << rng_below(r, 8)); break;
    case SPECIAL_BYTE: in->bytes[at] = SPECIAL_BYTES[rng_below(r, N_SPECIAL)]; break;
    case RANDOM_BYTE: in->bytes[at] = (uint8_t)rng_below(r, 256); break;
    case INSERT_CHAR: { /* at any byte, so also inside another character */
        char c[UTF8_MAX_BYTES];
        int n = utf8_encode(random_code_point(r), c);
        insert_bytes(in, pos, (const uint8_t *)c, (size_t)n);
        break;
    }
    case ERASE: {
        size_t n = 1 + (size_t)rng_below(r, UTF8_MAX_BYTES);
        if (n > in->len - at)
            n = in->len - at;
        memmove(in->bytes + at, in->bytes + at + n, in->len - at - n);
        in->len -= n;
        break;
    }
    case TRUNCATE: in->len = pos; break;
    case DUPLICATE: {
        uint8_t chunk[64];
        size_t n = 1 + (size_t)rng_below(r, sizeof chunk);
        if (n > in->len - at)
            n = in->len - at;
        memcpy(chunk, in->bytes + at, n);
        insert_bytes(in, (size_t)rng_below(r, in->len + 1), chunk, n);
        break;
    }
    case SPLICE: {
        if (other->len == 0)
            break;
        size_t from = (size_t)rng_below(r, other->len);
        size_t n = 1 + (size_t)rng_below(r, other->len - from);
        insert_bytes(in, pos, other->bytes + from, n);
        break;
    }
    case N_EDIT_KINDS: break;
    }
}

/* Fills in with n random valid characters. */
static void random_valid_text(input *in, int n, rng *r) {
    in->len = 0;
    for (int i = 0; i < n; i++) {
        char c[UTF8_MAX_BYTES];
        int k = utf8_encode(random_code_point(r), c);
        insert_bytes(in, in->len, (const uint8_t *)c, (size_t)k);
    }
}

/* ------------------------------------------------------------ fuzzing */

START_TEST(test_random_valid_text_round_trips) {
    /* random valid characters: the reference accepts utf8_encode's bytes
     * (a check of the encoder), and so must the tokenizer, losslessly */
    rng r;
    rng_seed(&r, FUZZ_SEED);
    static input in;
    char why[PROPERTY_WHY_MAX];
    long iterations = test_scaled(VALID_TEXT_ITERATIONS);
    for (long it = 0; it < iterations; it++) {
        random_valid_text(&in, (int)rng_below(&r, MAX_VALID_CHARS + 1), &r);
        ck_assert_uint_eq(utf8_reference_first_invalid(in.bytes, in.len), in.len);
        ck_assert_msg(tokenizer_properties(in.bytes, in.len, why) == 0, "iteration %ld: %s", it,
                      why);
    }
}
END_TEST

START_TEST(test_mutated_inputs_keep_properties) {
    /* seeds: the invalid corpus and random valid texts */
    corpus_file files[CORPUS_MAX_FILES];
    int n_files = load_corpus(files, CORPUS_MAX_FILES);
    enum { N_VALID_SEEDS = 8 };
    int n_seeds = n_files + N_VALID_SEEDS;
    input *seeds = malloc((size_t)n_seeds * sizeof *seeds);
    ck_assert_ptr_nonnull(seeds);
    rng r;
    rng_seed(&r, FUZZ_SEED + 1);
    for (int i = 0; i < n_files; i++) {
        seeds[i].len = files[i].len < MAX_INPUT ? files[i].len : MAX_INPUT;
        memcpy(seeds[i].bytes, files[i].bytes, seeds[i].len);
    }
    free_corpus(files, n_files);
    for (int i = n_files; i < n_seeds; i++)
        random_valid_text(&seeds[i], (int)rng_below(&r, MAX_VALID_CHARS + 1), &r);

    static input in;
    char why[PROPERTY_WHY_MAX];
    long iterations = test_scaled(MUTATION_ITERATIONS), invalid = 0;
    for (long it = 0; it < iterations; it++) {
        in = seeds[rng_below(&r, (uint64_t)n_seeds)];
        int edits = 1 + (int)rng_below(&r, MAX_EDITS);
        for (int k = 0; k < edits; k++)
            mutate(&in, &seeds[rng_below(&r, (uint64_t)n_seeds)], &r);
        invalid += utf8_reference_first_invalid(in.bytes, in.len) < in.len;
        ck_assert_msg(tokenizer_properties(in.bytes, in.len, why) == 0,
                      "iteration %ld (seed %d): %s", it, FUZZ_SEED + 1, why);
    }
    /* the fuzzer must have explored both sides of the validator */
    ck_assert_int_gt(invalid, iterations / 10);
    ck_assert_int_lt(invalid, iterations - iterations / 10);
    free(seeds);
}
END_TEST

/* ------------------------------------------------------------ checkpoints */

START_TEST(test_checkpoint_corpus_properties) {
    corpus_file files[CORPUS_MAX_FILES];
    assert_properties(files, load_checkpoints(files, CORPUS_MAX_FILES), checkpoint_properties);
}
END_TEST

/* Bytes that steer a JSON parser: structure, strings, numbers, escapes. */
static const char JSON_BYTES[] = "\"{}[],:\\-0123456789";

/* Where the header ends, if the first 8 bytes give a length that fits. */
static size_t header_end(const input *in) {
    if (in->len < 8)
        return in->len;
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | in->bytes[i];
    return n <= in->len - 8 ? 8 + (size_t)n : in->len;
}

/* One edit of a checkpoint: half of the time one of the byte-level edits
 * above, else an edit inside the JSON header that keeps it nearly valid,
 * so the checks behind the parser (shapes, offsets, the config) are
 * reached: a digit changed (a size, an offset, n_layer), or a byte made
 * one that JSON gives meaning to. */
static void mutate_checkpoint(input *in, const input *other, rng *r) {
    size_t end = header_end(in);
    if (rng_below(r, 2) == 0 || end <= 8) {
        mutate(in, other, r);
        return;
    }
    size_t at = 8 + (size_t)rng_below(r, end - 8);
    if (rng_below(r, 2) == 0) {
        while (at < end && (in->bytes[at] < '0' || in->bytes[at] > '9'))
            at++;
        if (at < end)
            in->bytes[at] = (uint8_t)('0' + rng_below(r, 10));
    } else {
        in->bytes[at] = (uint8_t)JSON_BYTES[rng_below(r, sizeof JSON_BYTES - 1)];
    }
}

/* Whether the safetensors parser accepts in (on a copy it may keep). */
static bool parses(const input *in) {
    unsigned char *copy = malloc(in->len ? in->len : 1);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, in->bytes, in->len);
    safetensors st;
    error e;
    if (safetensors_parse(&st, copy, in->len, &e) != 0)
        return false;
    safetensors_free(&st);
    return true;
}

START_TEST(test_mutated_checkpoints_keep_properties) {
    corpus_file files[CORPUS_MAX_FILES];
    int n = load_checkpoints(files, CORPUS_MAX_FILES);
    input *seeds = malloc((size_t)n * sizeof *seeds);
    int *valid = malloc((size_t)n * sizeof *valid), n_valid = 0;
    ck_assert(seeds && valid);
    for (int i = 0; i < n; i++) {
        seeds[i].len = files[i].len < MAX_INPUT ? files[i].len : MAX_INPUT;
        memcpy(seeds[i].bytes, files[i].bytes, seeds[i].len);
        if (parses(&seeds[i]))
            valid[n_valid++] = i;
    }
    ck_assert_int_gt(n_valid, 0);
    free_corpus(files, n);
    rng r;
    rng_seed(&r, FUZZ_SEED + 2);
    static input in;
    char why[PROPERTY_WHY_MAX];
    long iterations = test_scaled(CHECKPOINT_ITERATIONS), parsed = 0;
    for (long it = 0; it < iterations; it++) {
        /* half of the time from a seed the parser accepts, so the edits
         * also test what lies behind it */
        in = seeds[rng_below(&r, 2) ? valid[rng_below(&r, (uint64_t)n_valid)]
                                    : (int)rng_below(&r, (uint64_t)n)];
        int edits = 1 + (int)rng_below(&r, MAX_EDITS);
        for (int k = 0; k < edits; k++)
            mutate_checkpoint(&in, &seeds[rng_below(&r, (uint64_t)n)], &r);
        ck_assert_msg(checkpoint_properties(in.bytes, in.len, why) == 0,
                      "iteration %ld (seed %d): %s", it, FUZZ_SEED + 2, why);
        parsed += parses(&in);
    }
    /* the mutations must reach past the parser, and also break it (most
     * do: an inserted or erased byte breaks the header length or the
     * tiling of the data) */
    ck_assert_int_gt(parsed, iterations / 20);
    ck_assert_int_lt(parsed, iterations - iterations / 10);
    free(valid);
    free(seeds);
}
END_TEST

static Suite *fuzz_suite(void) {
    Suite *s = suite_create("fuzz");
    TCase *tc = tcase_create("corpus");
    tcase_add_test(tc, test_corpus_rejected_at_offset);
    tcase_add_test(tc, test_reference_agrees_with_corpus);
    tcase_add_test(tc, test_corpus_properties);
    suite_add_tcase(s, tc);

    tc = tcase_create("mutation");
    tcase_add_test(tc, test_random_valid_text_round_trips);
    tcase_add_test(tc, test_mutated_inputs_keep_properties);
    suite_add_tcase(s, tc);

    tc = tcase_create("checkpoints");
    tcase_add_test(tc, test_checkpoint_corpus_properties);
    tcase_add_test(tc, test_mutated_checkpoints_keep_properties);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(fuzz_suite()); }
