/*
 * test_common.c - claims about the shared infrastructure (common/):
 * the tokenizer round-trips any UTF-8 text and rejects invalid bytes by
 * offset; the data split and batches are what the chapters assume; the RNG
 * is reproducible; AdamW matches PyTorch; the CLI rejects bad values.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/adamw.h"
#include "../common/checkpoint.h"
#include "../common/cli.h"
#include "../common/data.h"
#include "../common/log.h"
#include "../common/params.h"
#include "../common/rng.h"
#include "../common/tokenizer.h"
#include "../common/train.h"
#include "testutil.h"

/* The first two numbers of seed 1337 (see test_rng_known_values). */
#define RNG_FIRST_1337 0x0110AA5248D718D8ull
#define RNG_SECOND_1337 0xED37BA8839FC2D04ull

/* ------------------------------------------------------------ tokenizer */

static void assert_round_trip(const char *text) {
    tokenizer tok;
    error e;
    size_t len = strlen(text), n;
    ck_assert_int_eq(tokenizer_build(&tok, text, len, &e), 0);
    int *ids = malloc(len * sizeof *ids);
    char *back = malloc(len * UTF8_MAX_BYTES + 1);
    ck_assert_int_eq(tokenizer_encode(&tok, text, len, ids, &n, &e), 0);
    ck_assert_uint_eq(tokenizer_decode(&tok, ids, n, back), len);
    ck_assert_str_eq(back, text);
    for (size_t i = 0; i < n; i++)
        ck_assert(ids[i] >= 0 && ids[i] < tok.vocab_size);
    free(ids);
    free(back);
    tokenizer_free(&tok);
}

START_TEST(test_round_trip_ascii) {
    assert_round_trip("First Citizen:\nBefore we proceed any further, hear me speak.\n");
}
END_TEST

START_TEST(test_round_trip_multibyte) {
    /* 2-, 3- and 4-byte characters: e-acute, euro sign, CJK, an emoji */
    assert_round_trip("caf\xC3\xA9 \xE2\x82\xAC" "5 \xE4\xB8\xAD\xE6\x96\x87 \xF0\x9F\x98\x80!");
}
END_TEST

START_TEST(test_vocab_sorted_by_code_point) {
    tokenizer tok;
    error e;
    const char *text = "ba\xC3\xA9" "a\n b"; /* b a e-acute a \n space b */
    ck_assert_int_eq(tokenizer_build(&tok, text, strlen(text), &e), 0);
    ck_assert_int_eq(tok.vocab_size, 5);
    const uint32_t expected[] = {'\n', ' ', 'a', 'b', 0xE9};
    for (int i = 0; i < 5; i++)
        ck_assert_uint_eq(tok.chars[i], expected[i]);
    ck_assert_int_eq(tokenizer_id(&tok, 'a'), 2);
    ck_assert_int_eq(tokenizer_id(&tok, 'z'), -1);
    tokenizer_free(&tok);
}
END_TEST

/* Each case: bytes, and the offset of the first invalid byte. */
static const struct {
    const char *bytes;
    size_t offset;
} INVALID[] = {
    {"ab\x80", 2},              /* lone continuation byte */
    {"abc\xC3", 3},             /* truncated 2-byte sequence */
    {"a\xE2\x82", 1},           /* truncated 3-byte sequence */
    {"xy\xC3\x28z", 2},         /* lead byte not followed by a continuation */
    {"\xC0\xAF", 0},            /* overlong encoding of '/' */
    {"ok\xED\xA0\x80", 2},      /* UTF-16 surrogate U+D800 */
    {"\xF4\x90\x80\x80", 0},    /* U+110000, past Unicode */
    {"hello \xFF", 6},          /* 0xFF is never valid */
};

START_TEST(test_invalid_utf8_names_offset) {
    tokenizer tok;
    error e = {{0}};
    const char *bytes = INVALID[_i].bytes;
    ck_assert_int_eq(tokenizer_build(&tok, bytes, strlen(bytes), &e), -1);
    char expected[64];
    snprintf(expected, sizeof expected, "invalid UTF-8 at byte offset %zu", INVALID[_i].offset);
    ck_assert_msg(strstr(e.msg, expected), "message '%s' lacks '%s'", e.msg, expected);
}
END_TEST

START_TEST(test_unknown_character_rejected) {
    tokenizer tok;
    error e = {{0}};
    ck_assert_int_eq(tokenizer_build(&tok, "hello", 5, &e), 0);
    int ids[8];
    size_t n;
    ck_assert_int_eq(tokenizer_encode(&tok, "hex", 3, ids, &n, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "'x' at byte offset 2 is not in the vocabulary"));
    tokenizer_free(&tok);
}
END_TEST

START_TEST(test_from_chars_validates) {
    tokenizer tok;
    error e;
    const uint32_t good[] = {'\n', 'a', 0x1F600};
    const uint32_t unsorted[] = {'b', 'a'};
    const uint32_t surrogate[] = {'a', 0xD800};
    ck_assert_int_eq(tokenizer_from_chars(&tok, good, 3, &e), 0);
    ck_assert_int_eq(tokenizer_id(&tok, 0x1F600), 2);
    tokenizer_free(&tok);
    ck_assert_int_eq(tokenizer_from_chars(&tok, unsorted, 2, &e), -1);
    ck_assert_int_eq(tokenizer_from_chars(&tok, surrogate, 2, &e), -1);
    ck_assert_int_eq(tokenizer_from_chars(&tok, good, 0, &e), -1);
}
END_TEST

/* ------------------------------------------------------------ data */

START_TEST(test_split_sizes) {
    /* 1000 characters: 900 train, 100 val */
    char text[1001];
    for (int i = 0; i < 1000; i++)
        text[i] = (char)('a' + i % 7);
    text[1000] = '\0';
    dataset ds;
    error e;
    ck_assert_int_eq(dataset_from_text(&ds, text, 1000, NULL, &e), 0);
    ck_assert_uint_eq(ds.n_tokens, 1000);
    ck_assert_uint_eq(ds.n_train, 900);
    size_t n_val;
    const int *val = dataset_split(&ds, SPLIT_VAL, &n_val);
    ck_assert_uint_eq(n_val, 100);
    ck_assert_ptr_eq(val, ds.tokens + 900);
    dataset_free(&ds);
}
END_TEST

START_TEST(test_split_of_tiny_shakespeare_size) {
    /* a text as long as Tiny Shakespeare (1,115,394 characters) splits
     * where PyTorch's int(0.9 * n) does: 1003854 */
    enum { N = 1115394 };
    char *text = malloc(N);
    ck_assert_ptr_nonnull(text);
    for (size_t i = 0; i < N; i++)
        text[i] = (char)('a' + i % 26);
    dataset ds;
    error e = {{0}};
    ck_assert_msg(dataset_from_text(&ds, text, N, NULL, &e) == 0, "%s", e.msg);
    ck_assert_uint_eq(ds.n_tokens, N);
    ck_assert_uint_eq(ds.n_train, 1003854);
    dataset_free(&ds);
    free(text);
}
END_TEST

START_TEST(test_batch_targets_are_shifted_inputs) {
    /* random letters: every window of 9 occurs once in the text, so a row
     * found in a split's tokens came from that split (a periodic text
     * repeats the train windows in val, and a batch from the wrong split
     * would pass) */
    char text[400];
    rng letters;
    rng_seed(&letters, 11);
    for (int i = 0; i < 400; i++)
        text[i] = (char)('A' + rng_below(&letters, 26));
    dataset ds;
    error e;
    ck_assert_int_eq(dataset_from_text(&ds, text, sizeof text, NULL, &e), 0);
    enum { B = 4, T = 9 };
    int x[B * T], y[B * T];
    rng r;
    rng_seed(&r, 7);
    for (int split_id = SPLIT_TRAIN; split_id <= SPLIT_VAL; split_id++) {
        size_t n;
        const int *tokens = dataset_split(&ds, (split)split_id, &n);
        for (int rep = 0; rep < 20; rep++) {
            dataset_batch(&ds, (split)split_id, &r, B, T, x, y);
            for (int b = 0; b < B; b++) {
                /* find where the row starts in its split: it must be a real
                 * window of the split, and y must be that window moved by 1 */
                const int *row = x + b * T;
                size_t start = n;
                for (size_t s = 0; s + T < n && start == n; s++)
                    if (memcmp(tokens + s, row, T * sizeof *row) == 0 &&
                        memcmp(tokens + s + 1, y + b * T, T * sizeof *row) == 0)
                        start = s;
                ck_assert_msg(start < n, "row %d is not a window of the split", b);
                for (int t = 0; t + 1 < T; t++)
                    ck_assert_int_eq(y[b * T + t], x[b * T + t + 1]);
            }
        }
    }
    dataset_free(&ds);
}
END_TEST

START_TEST(test_dataset_check) {
    dataset ds;
    error e = {{0}};
    /* 20 tokens: 18 train, 2 val */
    ck_assert_int_eq(dataset_from_text(&ds, "abcdefghijklmnopqrst", 20, NULL, &e), 0);
    ck_assert_int_eq(dataset_check(&ds, 1, &e), 0);
    ck_assert_int_eq(dataset_check(&ds, 2, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "val split has 2 tokens"));
    dataset_free(&ds);
    ck_assert_int_eq(dataset_from_text(&ds, "aaaaaaaaaaaaaaaaaaaa", 20, NULL, &e), 0);
    ck_assert_int_eq(dataset_check(&ds, 1, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "only 1 distinct character"));
    dataset_free(&ds);
    /* "Hi!" in UTF-16LE: valid UTF-8, but not a text file */
    ck_assert_int_eq(dataset_from_text(&ds, "H\0i\0!\0", 6, NULL, &e), -1);
    ck_assert_str_eq(e.msg, "a NUL character at byte offset 1: not a text file (UTF-16?)");
}
END_TEST

/* A given vocabulary (a checkpoint's) tokenizes a text that uses only some
 * of its characters with its ids, not the text's own; a character outside
 * it is named. */
START_TEST(test_dataset_with_vocabulary) {
    dataset full, part;
    error e = {{0}};
    ck_assert_int_eq(dataset_from_text(&full, "abcdefghij", 10, NULL, &e), 0);
    ck_assert_int_eq(dataset_from_text(&part, "jjiihhjihj", 10, &full.tok, &e), 0);
    ck_assert_int_eq(part.tok.vocab_size, 10);
    ck_assert_mem_eq(part.tok.chars, full.tok.chars, 10 * sizeof *full.tok.chars);
    ck_assert_ptr_ne(part.tok.chars, full.tok.chars); /* its own copy */
    const int expected[10] = {9, 9, 8, 8, 7, 7, 9, 8, 7, 9};
    ck_assert_uint_eq(part.n_tokens, 10);
    ck_assert_mem_eq(part.tokens, expected, sizeof expected);
    ck_assert_uint_eq(part.n_train, 9);
    dataset_free(&part);
    ck_assert_int_eq(dataset_from_text(&part, "cabbage", 7, &full.tok, &e), 0);
    dataset_free(&part);
    ck_assert_int_eq(dataset_from_text(&part, "badxjab", 7, &full.tok, &e), -1);
    ck_assert_str_eq(e.msg, "character 'x' at byte offset 3 is not in the vocabulary");
    dataset_free(&full);
}
END_TEST

START_TEST(test_error_stays_one_line) {
    /* a file name with a newline and a terminal escape in it */
    error e;
    ck_assert_int_eq(error_set(&e, "cannot open '%s'", "a\nb\x1b[31mc\x7f"), -1);
    ck_assert_str_eq(e.msg, "cannot open 'a?b?[31mc?'");
    /* context put before it, by the caller that knows where */
    ck_assert_int_eq(error_prefix(&e, "checkpoint '%s'", "x\ty"), -1);
    ck_assert_str_eq(e.msg, "checkpoint 'x?y': cannot open 'a?b?[31mc?'");
    ck_assert_int_eq(error_prefix(NULL, "nothing"), -1);
}
END_TEST

START_TEST(test_read_file_errors) {
    const char *dir = test_tmpdir();
    char *bytes;
    size_t len;
    error e = {{0}};
    char missing[600];
    snprintf(missing, sizeof missing, "%s/missing.txt", dir);
    ck_assert_int_eq(read_file(missing, &bytes, &len, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "No such file"));
    ck_assert_int_eq(read_file(dir, &bytes, &len, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "is a directory"));
    const char *empty = test_write_file(dir, "empty.txt", "", 0);
    ck_assert_int_eq(read_file(empty, &bytes, &len, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "is empty"));
    const char *good = test_write_file(dir, "good.txt", "hello\n", 6);
    ck_assert_int_eq(read_file(good, &bytes, &len, &e), 0);
    ck_assert_uint_eq(len, 6);
    ck_assert_int_eq(memcmp(bytes, "hello\n", 6), 0);
    free(bytes);
    /* more than the limit: known from the size, or found while reading an
     * endless file; exactly the limit is fine */
    ck_assert_int_eq(read_file_at_most(good, 5, &bytes, &len, &e), -1);
    ck_assert_str_eq(strstr(e.msg, "' is longer"),
                     "' is longer than 5 bytes, the most text this program reads");
    ck_assert_int_eq(read_file_at_most("/dev/zero", 100000, &bytes, &len, &e), -1);
    ck_assert_str_eq(e.msg, "'/dev/zero' is longer than 100000 bytes, the most text this "
                            "program reads");
    ck_assert_int_eq(read_file_at_most(good, 6, &bytes, &len, &e), 0);
    ck_assert_uint_eq(len, 6);
    free(bytes);
    /* a dataset from a file with invalid UTF-8 names the file and offset */
    dataset ds;
    const char *bad = test_write_file(dir, "bad.txt", "abc\xC3(", 5);
    ck_assert_int_eq(dataset_load(&ds, bad, NULL, &e), -1);
    ck_assert_ptr_nonnull(strstr(e.msg, "bad.txt: invalid UTF-8 at byte offset 3"));
}
END_TEST

/* ------------------------------------------------------------ rng */

START_TEST(test_rng_reproducible) {
    rng a, b, c;
    rng_seed(&a, 1337);
    rng_seed(&b, 1337);
    rng_seed(&c, 1338);
    int same_as_other_seed = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = rng_u64(&a);
        ck_assert_uint_eq(x, rng_u64(&b));
        same_as_other_seed += x == rng_u64(&c);
    }
    ck_assert_int_eq(same_as_other_seed, 0);
}
END_TEST

START_TEST(test_rng_known_values) {
    /* The same numbers on every machine: these constants were produced by
     * this implementation and must never change, or old runs stop being
     * reproducible. */
    rng r;
    rng_seed(&r, 1337);
    ck_assert_uint_eq(rng_u64(&r), RNG_FIRST_1337);
    ck_assert_uint_eq(rng_u64(&r), RNG_SECOND_1337);
    rng_seed(&r, 0); /* seed 0 is a valid seed, not a stuck generator */
    ck_assert_uint_ne(rng_u64(&r), 0);
}
END_TEST

/* How many standard errors a sample statistic may stray from its
 * expectation: wide enough that a correct generator passes at any sample
 * size, narrow enough that a biased one fails. */
#define SIGMAS 5.0

START_TEST(test_rng_distributions) {
    rng r;
    rng_seed(&r, 42);
    /* 200000 draws of each; fewer under valgrind (TEST_SCALE=small), with
     * tolerances that widen as 1/sqrt(n) to match */
    long n = test_scaled(200000);
    double sum = 0, sum2 = 0, usum = 0;
    long counts[10] = {0};
    for (long i = 0; i < n; i++) {
        float z = rng_normal(&r);
        sum += z;
        sum2 += (double)z * z;
        float u = rng_uniform(&r);
        ck_assert(u >= 0.0f && u < 1.0f);
        usum += u;
        counts[rng_below(&r, 10)]++;
    }
    /* standard errors: N(0,1) mean 1/sqrt(n); mean of z^2 (variance 2)
     * sqrt(2/n); U(0,1) mean sqrt(1/12)/sqrt(n); a bin of 10 sqrt(n*.1*.9) */
    double root_n = sqrt((double)n);
    ck_assert_double_eq_tol(sum / n, 0.0, SIGMAS / root_n);
    ck_assert_double_eq_tol(sum2 / n, 1.0, SIGMAS * sqrt(2.0) / root_n);
    ck_assert_double_eq_tol(usum / n, 0.5, SIGMAS * sqrt(1.0 / 12.0) / root_n);
    for (int k = 0; k < 10; k++)
        ck_assert_double_eq_tol((double)counts[k], n / 10.0, SIGMAS * sqrt(n * 0.1 * 0.9));
}
END_TEST

/* ------------------------------------------------------------ adamw */

START_TEST(test_adamw_matches_pytorch) {
    /* torch.optim.AdamW([p], lr=0.1, betas=(0.9, 0.999), eps=1e-8,
     * weight_decay=0.01) with p = [1.0, -2.0], grads [0.5, -0.25] then
     * [0.1, 0.3]: PyTorch gives these two parameter vectors. */
    float p[2] = {1.0f, -2.0f}, m[2] = {0}, v[2] = {0};
    adamw_config c = ADAMW_TORCH_DEFAULTS;
    float g1[2] = {0.5f, -0.25f}, g2[2] = {0.1f, 0.3f};
    adamw_update(p, g1, m, v, 2, &c, 0.1f, c.weight_decay, 1);
    ck_assert_float_eq_tol(p[0], 0.899f, 1e-6f);
    ck_assert_float_eq_tol(p[1], -1.898f, 1e-6f);
    adamw_update(p, g2, m, v, 2, &c, 0.1f, c.weight_decay, 2);
    ck_assert_float_eq_tol(p[0], 0.81779695f, 2e-6f);
    ck_assert_float_eq_tol(p[1], -1.91039658f, 2e-6f);
}
END_TEST

START_TEST(test_adamw_no_decay_when_zero) {
    float p[1] = {3.0f}, g[1] = {0.0f}, m[1] = {0}, v[1] = {0};
    adamw_config c = ADAMW_NANOGPT;
    adamw_update(p, g, m, v, 1, &c, 0.5f, 0.0f, 1);
    ck_assert_float_eq(p[0], 3.0f); /* no gradient, no decay: unchanged */
    adamw_update(p, g, m, v, 1, &c, 0.5f, 0.1f, 2);
    ck_assert_float_eq_tol(p[0], 3.0f * (1.0f - 0.05f), 1e-6f);
}
END_TEST

/* AdamW as nanoGPT configures it (betas 0.9 and 0.99, eps 1e-8, weight
 * decay 0.1), through optimizer_step with DECAY_2D_ONLY: the matrix
 * decays, the vector does not. Two steps against the formulas. */
START_TEST(test_optimizer_step_nanogpt_2d_decay) {
    param_table table = {0};
    param_table_add(&table, 2, 1, 2, "w");
    param_table_add(&table, 1, 2, 0, "b");
    float params[4] = {1.0f, -2.0f, 1.0f, -2.0f}, grads[4];
    language_model lm = {NULL, 2, 1, &table, params, grads, NULL, NULL, NULL, NULL, NULL};
    train_config cfg = {.adamw = ADAMW_NANOGPT, .decay = DECAY_2D_ONLY};
    train_state st;
    error e = {{0}};
    ck_assert_int_eq(train_state_init(&st, 4, 1, &e), 0);
    const double g[2][2] = {{0.5, -0.25}, {0.1, 0.3}}, lr = 0.1;
    double want[4] = {1.0, -2.0, 1.0, -2.0}, m[4] = {0}, v[4] = {0};
    for (int t = 1; t <= 2; t++, st.step++) {
        for (int i = 0; i < 4; i++) {
            grads[i] = (float)g[t - 1][i % 2];
            if (i < 2) /* the matrix */
                want[i] *= 1.0 - lr * 0.1;
            m[i] = 0.9 * m[i] + 0.1 * grads[i];
            v[i] = 0.99 * v[i] + 0.01 * grads[i] * grads[i];
            double m_hat = m[i] / (1.0 - pow(0.9, t)), v_hat = v[i] / (1.0 - pow(0.99, t));
            want[i] -= lr * m_hat / (sqrt(v_hat) + 1e-8);
        }
        optimizer_step(&lm, &cfg, &st, (float)lr);
        for (int i = 0; i < 4; i++)
            ck_assert_double_eq_tol(params[i], want[i], 2e-6);
    }
    ck_assert_double_ne(params[0], params[2]); /* the decay told them apart */
    train_state_free(&st);
    param_table_free(&table);
}
END_TEST

START_TEST(test_grad_clip) {
    float g[2] = {3.0f, 4.0f};
    ck_assert_float_eq_tol(grad_clip(g, 2, 1.0f), 5.0f, 1e-6f);
    ck_assert_float_eq_tol(g[0], 0.6f, 1e-5f);
    ck_assert_float_eq_tol(g[1], 0.8f, 1e-5f);
    float small[2] = {0.3f, 0.4f};
    grad_clip(small, 2, 1.0f);
    ck_assert_float_eq(small[0], 0.3f); /* under the limit: untouched */
}
END_TEST

START_TEST(test_lr_schedule) {
    lr_schedule s = {1e-3f, 1e-4f, 100, 2000};
    ck_assert_float_eq_tol(lr_at(&s, 0), 1e-5f, 1e-9f);    /* warmup starts at lr/warmup */
    ck_assert_float_eq_tol(lr_at(&s, 99), 1e-3f, 1e-9f);   /* and reaches lr */
    ck_assert_float_eq_tol(lr_at(&s, 100), 1e-3f, 1e-9f);  /* cosine starts at lr */
    ck_assert_float_eq_tol(lr_at(&s, 1050), 5.5e-4f, 1e-8f); /* halfway: the mean */
    ck_assert_float_eq_tol(lr_at(&s, 2000), 1e-4f, 1e-9f); /* ends at min_lr */
    ck_assert_float_eq_tol(lr_at(&s, 5000), 1e-4f, 1e-9f);
    lr_schedule constant = {1e-2f, 1e-2f, 0, 3000};
    ck_assert_float_eq(lr_at(&constant, 0), 1e-2f);
    ck_assert_float_eq(lr_at(&constant, 2999), 1e-2f);
}
END_TEST

/* ------------------------------------------------------------ params */

START_TEST(test_param_table) {
    param_table pt = {0};
    ck_assert_uint_eq(param_table_add(&pt, 2, 65, 32, "wte"), 0);
    ck_assert_uint_eq(param_table_add(&pt, 1, 32, 0, "h.%d.ln", 3), 65 * 32);
    ck_assert_uint_eq(pt.total, 65 * 32 + 32);
    const tensor_info *t = param_table_find(&pt, "h.3.ln");
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->ndim, 1);
    ck_assert_uint_eq(t->size, 32);
    ck_assert_ptr_null(param_table_find(&pt, "nope"));
    param_table_free(&pt);
}
END_TEST

START_TEST(test_tensor_specs_and_views) {
    /* one table of specs declares the tensors and points a struct at them,
     * in the parameters and, with the same offsets, in the gradients */
    typedef struct {
        float *w, *b;
    } views;
    const tensor_spec specs[] = {
        {"weight", 3, 4, offsetof(views, w)},
        {"bias", 3, 0, offsetof(views, b)},
    };
    param_table pt = {0};
    error e;
    ck_assert_int_eq(param_table_add(&pt, 1, 5, 0, "before"), 0);
    ck_assert_int_eq(param_table_declare(&pt, "layer.2.", specs, 2, &e), 0);
    const tensor_info *t = param_table_find(&pt, "layer.2.weight");
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->ndim, 2);
    ck_assert_uint_eq(t->offset, 5);
    ck_assert_uint_eq(pt.total, 5 + 12 + 3);
    float params[20], grads[20];
    views p, g;
    ck_assert_int_eq(param_table_view(&pt, "layer.2.", specs, 2, params, &p, &e), 0);
    ck_assert_int_eq(param_table_view(&pt, "layer.2.", specs, 2, grads, &g, &e), 0);
    ck_assert_ptr_eq(p.w, params + 5);
    ck_assert_ptr_eq(p.b, params + 17);
    ck_assert_ptr_eq(g.b, grads + 17);
    ck_assert_int_eq(param_table_view(&pt, "layer.3.", specs, 2, params, &p, &e), -1);
    ck_assert_str_eq(e.msg, "no tensor named layer.3.weight was declared");
    param_table_free(&pt);
}
END_TEST

START_TEST(test_arena_counts_then_hands_out) {
    float_arena count = {NULL, 0};
    ck_assert_ptr_null(arena_take(&count, 10));
    ck_assert_ptr_null(arena_take(&count, 6));
    ck_assert_uint_eq(count.used, 16);
    float buf[16];
    float_arena real = {buf, 0};
    ck_assert_ptr_eq(arena_take(&real, 10), buf);
    ck_assert_ptr_eq(arena_take(&real, 6), buf + 10);
    ck_assert_uint_eq(real.used, count.used);
}
END_TEST

/* ------------------------------------------------------------ cli */

static cli_result parse(options *o, char *line, error *e) {
    char *argv[32];
    int argc = 0;
    argv[argc++] = "prog";
    for (char *tok = strtok(line, " "); tok && argc < 31; tok = strtok(NULL, " "))
        argv[argc++] = tok;
    argv[argc] = NULL;
    return cli_parse(argc, argv, o, OPT_DATA | OPT_TRAINING | OPT_SEED | OPT_N_EMBD | OPT_N_HEAD,
                     "usage: prog", e);
}

START_TEST(test_cli_good_values) {
    options o = {.iters = 5, .batch = 4, .block = 8, .lr = 0.1, .n_embd = 32, .n_head = 4};
    error e;
    char line[] = "--iters 100 --lr=3e-4 --batch 7 --data x.txt --seed 0";
    ck_assert_int_eq(parse(&o, line, &e), CLI_OK);
    ck_assert_int_eq(o.iters, 100);
    ck_assert_double_eq_tol(o.lr, 3e-4, 1e-12);
    ck_assert_int_eq(o.batch, 7);
    ck_assert_int_eq(o.block, 8); /* untouched default */
    ck_assert_str_eq(o.data, "x.txt");
    ck_assert_int_eq(o.seed, 0);
}
END_TEST

static const struct {
    const char *line;
    const char *message;
} BAD_OPTIONS[] = {
    {"--iters 99999999999999999999", "--iters: 99999999999999999999 is out of range"},
    {"--iters -5", "--iters: -5 is out of range"},
    {"--batch 0", "--batch: 0 is out of range"},
    {"--batch 12abc", "--batch: '12abc' is not a whole number"},
    {"--lr fast", "--lr: 'fast' is not a number"},
    {"--lr nan", "--lr: 'nan' is not a number"},
    {"--lr 1e999", "--lr: 1e999 is out of range"},
    {"--colour red", "unknown option '--colour'"},
    {"--colour=red", "unknown option '--colour' (see --help)"}, /* the name, not the value */
    {"-x", "unknown option '-x'"},
    {"-qx", "unknown option '-q'"}, /* inside a cluster, not the program's name */
    {"--eval 3", "option '--eval' is ambiguous (--eval-interval, --eval-iters)"},
    {"--help=yes", "option '--help' takes no value"},
    {"--dropout 0.1", "unknown option '--dropout'"}, /* not in this program's mask */
    {"--iters", "option '--iters' needs a value"},
    {"extra", "unexpected argument 'extra'"},
    {"--n-embd 30 --n-head 4", "--n-embd 30 is not divisible by --n-head 4"},
    {"--data=", "--data: the value is empty"},
};

START_TEST(test_cli_bad_values) {
    options o = {.iters = 5, .batch = 4, .block = 8, .lr = 0.1, .n_embd = 32, .n_head = 4};
    error e = {{0}};
    char line[128];
    snprintf(line, sizeof line, "%s", BAD_OPTIONS[_i].line);
    ck_assert_int_eq(parse(&o, line, &e), CLI_ERROR);
    ck_assert_msg(strstr(e.msg, BAD_OPTIONS[_i].message), "'%s': got '%s'", BAD_OPTIONS[_i].line,
                  e.msg);
}
END_TEST

START_TEST(test_cli_parse_repeats) {
    /* a parse that fails inside a cluster of short options must not leave
     * getopt half-way through it for the next parse */
    options o = {.iters = 5, .batch = 4, .block = 8, .lr = 0.1, .n_embd = 32, .n_head = 4};
    error e = {{0}};
    char bad[] = "-qx", good[] = "--iters 7";
    ck_assert_int_eq(parse(&o, bad, &e), CLI_ERROR);
    ck_assert_int_eq(parse(&o, good, &e), CLI_OK);
    ck_assert_int_eq(o.iters, 7);
}
END_TEST

/* The options test_cli_peek reads: chapter 05's. */
#define PEEK_MASK (OPT_TRAINING | OPT_SCHEDULE)

START_TEST(test_cli_peek) {
    char *argv[] = {"prog", "--iters", "3", "--preset=full", NULL};
    ck_assert_str_eq(cli_peek(4, argv, PEEK_MASK, "preset"), "full");
    ck_assert_str_eq(cli_peek(4, argv, PEEK_MASK, "iters"), "3");
    ck_assert_ptr_null(cli_peek(4, argv, PEEK_MASK, "resume"));
    ck_assert_ptr_null(cli_peek(4, argv, OPT_TRAINING, "preset")); /* not in the mask */
    /* abbreviations, as cli_parse reads them; the last of repeats wins */
    char *abbrev[] = {"prog", "--resu", "a.st", "--pre", "full", "--res=b.st", "--out", "x", NULL};
    ck_assert_str_eq(cli_peek(8, abbrev, PEEK_MASK, "resume"), "b.st");
    ck_assert_str_eq(cli_peek(8, abbrev, PEEK_MASK, "preset"), "full");
    /* the value of an option is not an option: "--out --preset" sets --out */
    char *value[] = {"prog", "--out", "--preset", "--bogus", "--iters", NULL};
    ck_assert_ptr_null(cli_peek(5, value, PEEK_MASK, "preset"));
    /* and the parse agrees with the peek */
    options o = {0};
    error e = {{0}};
    ck_assert_int_eq(cli_parse(8, abbrev, &o, PEEK_MASK, "usage", &e), CLI_OK);
    ck_assert_str_eq(o.resume, "b.st");
    ck_assert_str_eq(o.preset, "full");
}
END_TEST

START_TEST(test_cli_set_checks_like_the_command_line) {
    options o = {0};
    error e = {{0}};
    ck_assert_int_eq(cli_set(&o, "iters", "1000", &e), 0);
    ck_assert_int_eq(o.iters, 1000);
    ck_assert_int_eq(cli_set(&o, "min-lr", "1e-4", &e), 0);
    ck_assert_double_eq(o.min_lr, 1e-4);
    ck_assert_int_eq(cli_set(&o, "preset", "full", &e), 0);
    ck_assert_str_eq(o.preset, "full");
    /* the same ranges as --iters and friends; the message leaves the name
     * to the caller */
    static const struct {
        const char *name, *text, *message;
    } BAD[] = {
        {"iters", "9223372036854775807", "9223372036854775807 is out of range (1 to 1000000000)"},
        {"lr", "inf", "inf is out of range (1e-12 to 10)"},
        {"lr", "nan", "'nan' is not a number"},
        {"min-lr", "-5", "-5 is out of range (0 to 10)"},
        {"dropout", "0.99", "0.99 is out of range (0 to 0.95)"},
        {"batch", "12abc", "'12abc' is not a whole number"},
        {"preset", "", "the value is empty"},
        {"overwrite", "1", "no option '--overwrite' takes a value"},
        {"colour", "red", "no option '--colour' takes a value"},
    };
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        ck_assert_int_eq(cli_set(&o, BAD[i].name, BAD[i].text, &e), -1);
        ck_assert_str_eq(e.msg, BAD[i].message);
    }
    ck_assert_int_eq(o.iters, 1000); /* a refused value changes nothing */
}
END_TEST

START_TEST(test_cli_format_round_trips) {
    options o = {.iters = 2000, .batch = 12, .seed = 9007199254740991L, .lr = 3e-4,
                 .min_lr = 3e-4 * 0.1, .dropout = 0.1, .preset = "seed000"};
    static const char *const NAMES[] = {"iters", "batch", "seed", "lr", "min-lr", "dropout",
                                        "preset"};
    char text[64], again[64];
    for (size_t i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++) {
        options back = {0};
        error e = {{0}};
        ck_assert_int_eq(cli_format(&o, NAMES[i], text, sizeof text), 0);
        ck_assert_msg(cli_set(&back, NAMES[i], text, &e) == 0, "%s '%s': %s", NAMES[i], text, e.msg);
        ck_assert_msg(cli_format(&back, NAMES[i], again, sizeof again) == 0, "%s", NAMES[i]);
        ck_assert_str_eq(again, text); /* the value read back is the value written */
    }
    ck_assert_int_eq(cli_format(&o, "iters", text, sizeof text), 0);
    ck_assert_str_eq(text, "2000");
    /* the shortest text that reads back exactly */
    ck_assert_int_eq(cli_format(&o, "lr", text, sizeof text), 0);
    ck_assert_str_eq(text, "0.0003");
    ck_assert_int_eq(cli_format(&o, "seed", text, sizeof text), 0);
    ck_assert_str_eq(text, "9007199254740991");
    options back = {0};
    error e;
    ck_assert_int_eq(cli_format(&o, "min-lr", text, sizeof text), 0);
    ck_assert_int_eq(cli_set(&back, "min-lr", text, &e), 0);
    ck_assert_double_eq(back.min_lr, o.min_lr); /* bit for bit */
    /* nothing to write: an unset string, a flag, a buffer too small */
    o.preset = NULL;
    ck_assert_int_eq(cli_format(&o, "preset", text, sizeof text), -1);
    ck_assert_int_eq(cli_format(&o, "overwrite", text, sizeof text), -1);
    ck_assert_int_eq(cli_format(&o, "iters", text, 3), -1);
}
END_TEST

START_TEST(test_cli_seed_bound) {
    /* 2^53 - 1 is the largest seed, printed exactly: no two seeds can
     * share a random stream (rng.c's seed * 16 + stream never wraps) */
    options o = {.iters = 5, .batch = 4, .block = 8, .lr = 0.1, .n_embd = 32, .n_head = 4};
    error e = {{0}};
    char good[] = "--seed 9007199254740991", bad[] = "--seed 9007199254740992",
         huge[] = "--seed 9223372036854775808";
    ck_assert_int_eq(parse(&o, good, &e), CLI_OK);
    ck_assert_int_eq(o.seed, 9007199254740991L);
    ck_assert_int_eq(parse(&o, bad, &e), CLI_ERROR);
    ck_assert_str_eq(e.msg, "--seed: 9007199254740992 is out of range (0 to 9007199254740991)");
    ck_assert_int_eq(parse(&o, huge, &e), CLI_ERROR);
    ck_assert_str_eq(e.msg, "--seed: 9223372036854775808 is out of range (0 to 9007199254740991)");
}
END_TEST

/* --help's text, for options o and mask. */
static const char *help_text(options *o, unsigned mask) {
    static char text[8192];
    char *argv[] = {"prog", "--help", NULL};
    FILE *saved = stdout;
    stdout = fmemopen(text, sizeof text - 1, "w");
    ck_assert_ptr_nonnull(stdout);
    error e;
    cli_result r = cli_parse(2, argv, o, mask, "usage: prog", &e);
    fclose(stdout);
    stdout = saved;
    ck_assert_int_eq(r, CLI_HELP);
    return text;
}

START_TEST(test_cli_help_shows_defaults_in_range) {
    options o = {.iters = 2000, .threads = 0, .lr = 1e-3};
    const char *text = help_text(&o, OPT_TRAINING | OPT_THREADS);
    ck_assert_ptr_nonnull(strstr(text, "training steps (default 2000)\n"));
    ck_assert_ptr_nonnull(strstr(text, "learning rate (default 0.001)\n"));
    /* 0 threads is no value --threads takes: it means "not given" */
    ck_assert_ptr_nonnull(strstr(text, "CPU threads (default: OMP_NUM_THREADS or all cores)\n"));
    o.threads = 2;
    text = help_text(&o, OPT_THREADS);
    ck_assert_ptr_nonnull(strstr(text, "or all cores) (default 2)\n"));
}
END_TEST

/* ------------------------------------------------------------ log */

START_TEST(test_loss_log_csv) {
    const char *dir = test_tmpdir();
    char path[1200], nested[600];
    snprintf(nested, sizeof nested, "%s/a/b", dir);
    error e;
    ck_assert_int_eq(make_dirs(nested, &e), 0);
    snprintf(path, sizeof path, "%s/loss.csv", nested);
    loss_log log;
    ck_assert_int_eq(loss_log_open(&log, path, false, &e), 0);
    ck_assert_int_eq(loss_log_row(&log, 0, 4.5f, 4.25f, 1e-2f, 0.0, 0.0, &e), 0);
    ck_assert_int_eq(loss_log_row(&log, 300, 2.5f, 2.75f, 1e-2f, 1.5, 170666.7, &e), 0);
    loss_log_close(&log);
    ck_assert_int_eq(loss_log_open(&log, path, true, &e), 0); /* resume appends */
    ck_assert_int_eq(loss_log_row(&log, 600, 2.0f, 2.5f, 1e-3f, 1.0, 1000.0, &e), 0);
    loss_log_close(&log);
    char *bytes;
    size_t len;
    ck_assert_int_eq(read_file(path, &bytes, &len, &e), 0);
    const char *expected = LOSS_LOG_HEADER "\n"
                           "0,4.500000,4.250000,0.01,0.0000,0.0\n"
                           "300,2.500000,2.750000,0.01,1.5000,170666.7\n"
                           "600,2.000000,2.500000,0.001,1.0000,1000.0\n";
    ck_assert_uint_eq(len, strlen(expected));
    ck_assert_int_eq(memcmp(bytes, expected, len), 0);
    free(bytes);
}
END_TEST

/* A resumed run's log is cut back to the rows up to its step: whole rows,
 * the header kept; nothing past it, nothing to do. */
START_TEST(test_loss_log_drop_after) {
    const char *dir = test_tmpdir(), *path = NULL;
    const char *rows = LOSS_LOG_HEADER "\n"
                       "0,4.5,4.25,0.01,0.0,0.0\n"
                       "10,2.5,2.75,0.01,1.5,100.0\n"
                       "20,2.0,2.5,0.01,1.5,100.0\n";
    const struct {
        long last_step;
        size_t rows_kept;
    } cases[] = {{25, 3}, {20, 3}, {19, 2}, {10, 2}, {0, 1}, {-1, 0}};
    error e = {{0}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        path = test_write_file(dir, "drop.csv", rows, strlen(rows));
        ck_assert_int_eq(loss_log_drop_after(path, cases[i].last_step, &e), 0);
        char *bytes;
        size_t len, lines = 0;
        ck_assert_int_eq(read_file(path, &bytes, &len, &e), 0);
        for (size_t k = 0; k < len; k++)
            lines += bytes[k] == '\n';
        ck_assert_uint_eq(lines, 1 + cases[i].rows_kept);
        ck_assert_int_eq(memcmp(bytes, rows, len), 0); /* a prefix, cut at a row's end */
        free(bytes);
    }
    /* a torn last row (no newline) goes; an empty log stays empty, and
     * opening it to continue writes its header */
    const char *kept = LOSS_LOG_HEADER "\n0,4.5,4.25,0.01,0.0,0.0\n";
    const struct {
        const char *text;
        size_t len_after;
    } torn[] = {{LOSS_LOG_HEADER "\n0,4.5,4.25,0.01,0.0,0.0\n30", strlen(kept)},
                {kept, strlen(kept)},
                {"", 0}};
    for (size_t i = 0; i < sizeof torn / sizeof torn[0]; i++) {
        path = test_write_file(dir, "drop.csv", torn[i].text, strlen(torn[i].text));
        ck_assert_int_eq(loss_log_drop_after(path, 100, &e), 0);
        struct stat st;
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_uint_eq((size_t)st.st_size, torn[i].len_after);
    }
    loss_log log;
    ck_assert_int_eq(loss_log_open(&log, path, true, &e), 0);
    loss_log_close(&log);
    char *bytes;
    size_t len;
    ck_assert_int_eq(read_file(path, &bytes, &len, &e), 0);
    ck_assert_uint_eq(len, strlen(LOSS_LOG_HEADER) + 1);
    free(bytes);
    char missing[1200];
    snprintf(missing, sizeof missing, "%s/no-such.csv", dir);
    ck_assert_int_eq(loss_log_drop_after(missing, 5, &e), 0);
    ck_assert_int_ne(access(missing, F_OK), 0);
}
END_TEST

/* A log that cannot be written (/dev/full: every write fails with ENOSPC)
 * says so, at the header of a fresh log and at a row of a continued one. */
START_TEST(test_loss_log_write_failure) {
    loss_log log;
    error e = {{0}};
    ck_assert_int_eq(loss_log_open(&log, "/dev/full", false, &e), -1);
    ck_assert_msg(strstr(e.msg, "cannot write the loss log '/dev/full': No space left on device"),
                  "got '%s'", e.msg);
    loss_log_close(&log);
    ck_assert_int_eq(loss_log_open(&log, "/dev/full", true, &e), 0); /* no header to write */
    ck_assert_int_eq(loss_log_row(&log, 10, 2.0f, 2.5f, 1e-3f, 1.0, 1000.0, &e), -1);
    ck_assert_msg(strstr(e.msg, "No space left on device"), "got '%s'", e.msg);
    loss_log_close(&log);
}
END_TEST


/* ------------------------------------------------------------ checkpoint */

/* Saves a 2x3 tensor "w", a 4-vector "b" and metadata into dir/name. */
static const char *save_small(const char *dir, const char *name, float *w, float *b) {
    static char path[1100];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    for (int i = 0; i < 6; i++)
        w[i] = (float)i * 0.5f - 1.0f;
    for (int i = 0; i < 4; i++)
        b[i] = 100.0f + (float)i;
    st_entry tensors[] = {{"w", w, 2, {2, 3}}, {"b", b, 1, {4}}};
    st_meta meta[] = {{"vocab", "\n \"q\\\x01\xC3\xA9"}, {"step", "42"}};
    error e;
    ck_assert_int_eq(safetensors_save(path, tensors, 2, meta, 2, &e), 0);
    return path;
}

START_TEST(test_checkpoint_round_trip) {
    float w[6], b[4], w2[6], b2[4];
    const char *path = save_small(test_tmpdir(), "ok.safetensors", w, b);
    safetensors st;
    error e;
    ck_assert_int_eq(safetensors_load(&st, path, &e), 0);
    ck_assert_int_eq(st.n_tensors, 2);
    ck_assert_int_eq(safetensors_read_f32(&st, "w", w2, 2, (size_t[]){2, 3}, &e), 0);
    ck_assert_int_eq(safetensors_read_f32(&st, "b", b2, 1, (size_t[]){4}, &e), 0);
    ck_assert_int_eq(memcmp(w, w2, sizeof w), 0);
    ck_assert_int_eq(memcmp(b, b2, sizeof b), 0);
    ck_assert_str_eq(safetensors_meta(&st, "vocab"), "\n \"q\\\x01\xC3\xA9");
    ck_assert_str_eq(safetensors_meta(&st, "step"), "42");
    ck_assert_ptr_null(safetensors_meta(&st, "nope"));
    /* the data section starts 8-byte aligned, as safetensors writers do */
    ck_assert_uint_eq((size_t)(st.data - st.file) % 8, 0);
    /* a wrong expectation is a clear error, never a silent copy */
    ck_assert_int_eq(safetensors_read_f32(&st, "w", w2, 2, (size_t[]){3, 2}, &e), -1);
    ck_assert_str_eq(e.msg, "tensor 'w' has shape [2, 3], expected [3, 2]");
    ck_assert_int_eq(safetensors_read_f32(&st, "x", w2, 1, (size_t[]){4}, &e), -1);
    ck_assert_str_eq(e.msg, "tensor 'x' is missing");
    safetensors_free(&st);
}
END_TEST

/* Loads bytes from memory, expecting failure with `message` in the error. */
static void expect_parse_error(const void *bytes, size_t len, const char *message) {
    unsigned char *copy = malloc(len ? len : 1);
    memcpy(copy, bytes, len);
    safetensors st;
    error e = {{0}};
    ck_assert_int_eq(safetensors_parse(&st, copy, len, &e), -1);
    ck_assert_msg(strstr(e.msg, message), "expected '%s', got '%s'", message, e.msg);
}

/* A file from a header text and n data bytes. */
static size_t make_file(unsigned char *buf, const char *header, size_t data_bytes) {
    size_t h = strlen(header);
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)((uint64_t)h >> (8 * i));
    memcpy(buf + 8, header, h);
    memset(buf + 8 + h, 0, data_bytes);
    return 8 + h + data_bytes;
}

static const struct {
    const char *header;
    size_t data_bytes;
    const char *message;
} BAD_HEADERS[] = {
    {"[1,2]", 0, "malformed JSON header: it is not an object"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", 8, "expected ',' or '}'"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}x", 8, "text after"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "missing data_offsets"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,16]}}", 8, "lie outside"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "shape needs 12"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, "lie outside"},
    {"{\"w\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "unknown dtype 'Q4'"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}", 8,
     "shape too large"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "non-negative"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],\"data_offsets\":[0,8]}}", 8,
     "integer too large"},
    {"{\"__metadata__\":{\"a\":1}}", 0, "values must be strings"},
    /* inside metadata, the string's own problem is named */
    {"{\"__metadata__\":{\"a\":\"\\q\"}}", 0, "bad escape: a backslash before 'q'"},
    /* a byte of the file that is not printable is shown by its code */
    {"{\"a\\\xff\":1}", 0, "bad escape: a backslash before 0xFF"},
    {"{\"w\":{\"x\":\x01}}", 0, "unexpected character 0x01"},
    {"{\"__metadata__\":{\"a\\ud800\":\"b\"}}", 0, "unpaired surrogate"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
     "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "appears twice"},
    /* a key given twice: which would count? */
    {"{\"__metadata__\":{\"n\":\"1\",\"m\":\"2\",\"n\":\"3\"}}", 0,
     "metadata key 'n' appears twice"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"dtype\":\"I32\",\"data_offsets\":[0,8]}}", 8,
     "tensor 'w': 'dtype' given twice"},
    /* the byte ranges must tile the data: no overlap, no gap, nothing after */
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
     "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12,
     "tensors 'a' and 'b' overlap: data offsets [0, 8] and [4, 12]"},
    {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]},"
     "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 20,
     "data bytes [8, 12) belong to no tensor"},
    {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 12,
     "data bytes [8, 12) belong to no tensor"},
    {"{}", 4, "data bytes [0, 4) belong to no tensor"},
    {"{\"a\":{\"x\":[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}}", 0, "nested too deeply"},
    {"{\"bad\\q\":1}", 0, "bad escape"},
    {"{\"\\ud800\":1}", 0, "unpaired surrogate"},
    {"{\"w\xff\":1}", 0, "invalid UTF-8"},
    {"{\"w", 0, "unterminated string"},
};

START_TEST(test_checkpoint_bad_headers) {
    unsigned char buf[512];
    size_t len = make_file(buf, BAD_HEADERS[_i].header, BAD_HEADERS[_i].data_bytes);
    expect_parse_error(buf, len, BAD_HEADERS[_i].message);
}
END_TEST

START_TEST(test_checkpoint_truncated_and_foreign) {
    float w[6], b[4];
    const char *path = save_small(test_tmpdir(), "t.safetensors", w, b);
    char *bytes;
    size_t len;
    error e;
    ck_assert_int_eq(read_file(path, &bytes, &len, &e), 0);
    /* every truncation point gives an error, none a crash */
    for (size_t cut = 0; cut < len; cut++) {
        unsigned char *copy = malloc(cut ? cut : 1);
        memcpy(copy, bytes, cut);
        safetensors st;
        ck_assert_int_eq(safetensors_parse(&st, copy, cut, &e), -1);
    }
    free(bytes);
    expect_parse_error("hello", 5, "not a safetensors file: only 5 bytes");
    const char *text = "First Citizen:\nBefore we proceed any further, hear me speak.\n";
    expect_parse_error(text, strlen(text), "not a safetensors file (or truncated)");
    /* a header length of 2^63: refused before any allocation */
    unsigned char huge[16] = {0, 0, 0, 0, 0, 0, 0, 0x80, '{', '}'};
    expect_parse_error(huge, sizeof huge, "header length 9223372036854775808");
    /* a header longer than the limit, though the file holds it */
    size_t big_len = 8 + (size_t)ST_MAX_HEADER + 8;
    unsigned char *big = calloc(big_len, 1);
    ck_assert_ptr_nonnull(big);
    uint64_t header_len = (uint64_t)ST_MAX_HEADER + 1;
    for (int i = 0; i < 8; i++)
        big[i] = (unsigned char)(header_len >> (8 * i));
    expect_parse_error(big, big_len, "header length 67108865: more than the 64 MiB a header may take");
    free(big);
}
END_TEST

/* A header of this many entries: comparing every name with every other
 * (as the loader once did to find duplicates) takes minutes here, and
 * Check's per-test timeout (a hang detector, tests/run-suites.sh) fails
 * the test; sorted, it takes a fraction of a second. No clock is read:
 * speed is `make bench`'s business, not the tests'. */
#define MANY_TENSORS 200000
#define ENTRY_MAX 80

START_TEST(test_checkpoint_many_tensors) {
    /* empty tensors (shape [0], legal and 0 bytes each), then the first
     * name again: found among all the others in n log n */
    long n = test_scaled(MANY_TENSORS);
    size_t cap = (size_t)(n + 1) * ENTRY_MAX + 2, len = 0;
    char *header = malloc(cap);
    ck_assert_ptr_nonnull(header);
    size_t before_duplicate = 0;
    header[len++] = '{';
    for (long i = 0; i <= n; i++) {
        before_duplicate = len;
        len += (size_t)snprintf(header + len, cap - len,
                                "%s\"t%ld\":{\"dtype\":\"F32\",\"shape\":[0],"
                                "\"data_offsets\":[0,0]}",
                                i ? "," : "", i < n ? i : 0);
    }
    header[len++] = '}';
    header[len] = '\0';
    unsigned char *file = malloc(8 + len);
    ck_assert_ptr_nonnull(file);
    expect_parse_error(file, make_file(file, header, 0), "tensor 't0' appears twice");
    /* without the duplicate, every name is found */
    memcpy(header + before_duplicate, "}", 2);
    safetensors st;
    error e = {{0}};
    size_t file_len = make_file(file, header, 0);
    ck_assert_msg(safetensors_parse(&st, file, file_len, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(st.n_tensors, n);
    char name[32];
    for (long i = 0; i < n; i += 1 + n / 100) {
        snprintf(name, sizeof name, "t%ld", i);
        ck_assert_ptr_nonnull(safetensors_find(&st, name));
    }
    ck_assert_ptr_null(safetensors_find(&st, "t"));
    ck_assert_ptr_null(safetensors_find(&st, "u"));
    safetensors_free(&st); /* frees file too */
    free(header);
}
END_TEST

START_TEST(test_checkpoint_write_fault_keeps_old_file) {
    const char *dir = test_tmpdir();
    float w[6], b[4];
    const char *path = save_small(dir, "keep.safetensors", w, b);
    char saved_path[1100];
    snprintf(saved_path, sizeof saved_path, "%s", path);
    /* a "disk full" after 20 bytes of the next save: this process may
     * write no file past 20 bytes (the write then fails with EFBIG, once
     * SIGXFSZ, which would kill it, is ignored), as `ulimit -f` does */
    struct rlimit before, cap;
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &before), 0);
    cap = before;
    cap.rlim_cur = 20;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &cap), 0);
    float other[6] = {9, 9, 9, 9, 9, 9};
    st_entry tensors[] = {{"w", other, 2, {2, 3}}};
    error e = {{0}};
    int rc = safetensors_save(saved_path, tensors, 1, NULL, 0, &e);
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &before), 0);
    signal(SIGXFSZ, old_handler);
    ck_assert_int_eq(rc, -1);
    ck_assert_ptr_nonnull(strstr(e.msg, strerror(EFBIG)));
    ck_assert_ptr_nonnull(strstr(e.msg, "previous file"));
    /* the old checkpoint is intact, and no temporary file is left behind */
    safetensors st;
    ck_assert_int_eq(safetensors_load(&st, saved_path, &e), 0);
    float w2[6];
    ck_assert_int_eq(safetensors_read_f32(&st, "w", w2, 2, (size_t[]){2, 3}, &e), 0);
    ck_assert_int_eq(memcmp(w, w2, sizeof w), 0);
    safetensors_free(&st);
    char cmd[1300];
    snprintf(cmd, sizeof cmd, "ls %s | grep -c tmp", dir);
    FILE *p = popen(cmd, "r");
    int n_tmp = -1;
    ck_assert_int_eq(fscanf(p, "%d", &n_tmp), 1);
    pclose(p);
    ck_assert_int_eq(n_tmp, 0);
}
END_TEST


/* ------------------------------------------------------------ training loop */

/* A stand-in model for the loop's tests: one parameter, a loss that is
 * fine until forward pass number `nan_at`, then `bad` (NaN or infinite).
 * Counts the evaluation hook's calls, and the forward passes made with
 * dropout on (training) and off. */
typedef struct {
    param_table table;
    float param, grad;
    long forwards, nan_at;
    int evals_saved;
    long last_saved_step;
    float bad;
    bool training;
    long forwards_training, forwards_not_training;
} fake_model;

/* The losses that must stop training, and how the message names them. */
static const struct {
    float loss;
    const char *name;
} BAD_LOSSES[] = {{NAN, "NaN"}, {INFINITY, "infinite"}};

/* A signal, as far as the training loop can tell: fake_forward raises it
 * at its stop_at_forward-th call (0: never). */
static volatile sig_atomic_t fake_stop;
static long stop_at_forward;

static float fake_forward(void *self, const int *x, const int *y, int B, int T) {
    (void)x, (void)y, (void)B, (void)T;
    fake_model *f = self;
    f->forwards++;
    if (f->training)
        f->forwards_training++;
    else
        f->forwards_not_training++;
    if (f->forwards == stop_at_forward)
        fake_stop = 1;
    return f->forwards > f->nan_at ? f->bad : 1.0f;
}
static void fake_backward(void *self) { ((fake_model *)self)->grad += 0.5f; }
static void fake_set_training(void *self, bool training) {
    ((fake_model *)self)->training = training;
}
static int fake_save(void *ctx, train_state *st, float train_loss, float val_loss, error *e) {
    (void)train_loss, (void)val_loss, (void)e;
    fake_model *f = ctx;
    f->evals_saved++;
    f->last_saved_step = st->step;
    return 0;
}

/* Trains the fake model f under cfg (its table, a 200-character text of
 * two letters and the hook wired in) from st, printing nothing. */
static train_status fake_train(fake_model *f, train_config cfg, train_state *st, error *e) {
    param_table_add(&f->table, 1, 1, 0, "w");
    language_model lm = {f, 2, 4, &f->table, &f->param, &f->grad, fake_forward, fake_backward,
                         NULL, fake_set_training, NULL};
    char text[200];
    for (int i = 0; i < 200; i++)
        text[i] = (char)('a' + i % 2);
    dataset ds;
    ck_assert_int_eq(dataset_from_text(&ds, text, sizeof text, NULL, e), 0);
    cfg.batch = 2, cfg.block = 4, cfg.adamw = ADAMW_TORCH_DEFAULTS, cfg.decay = DECAY_ALL;
    cfg.schedule = (lr_schedule){1e-3f, 1e-3f, 0, cfg.iters};
    cfg.on_eval = fake_save, cfg.hook_ctx = f;
    train_result res;
    FILE *saved = stdout;
    stdout = fopen("/dev/null", "w");
    train_status status = train_run(&lm, &ds, &cfg, st, &res, e);
    fclose(stdout);
    stdout = saved;
    dataset_free(&ds);
    param_table_free(&f->table);
    return status;
}

START_TEST(test_nan_loss_stops_training) {
    fake_model f = {.last_saved_step = -1, .bad = BAD_LOSSES[_i].loss};
    char expected[128];
    /* forwards: evaluation at step 0 (train, val) 1-2, training steps 0-4
     * 3-7, evaluation at step 5 8-9, training step 5 number 10 -> NaN */
    f.nan_at = 9;
    train_config cfg = {.iters = 100, .eval_interval = 5, .eval_iters = 1};
    train_state st;
    error e = {{0}};
    ck_assert_int_eq(train_state_init(&st, 1, 1, &e), 0);
    ck_assert_int_eq(fake_train(&f, cfg, &st, &e), TRAIN_FAILED);
    snprintf(expected, sizeof expected, "training loss became %s at step 5", BAD_LOSSES[_i].name);
    ck_assert_msg(strstr(e.msg, expected), "got '%s'", e.msg);
    ck_assert_ptr_nonnull(strstr(e.msg, "last checkpoint is kept"));
    /* the checkpoint hook ran for the good evaluations only, and the step
     * that went bad did not update the model */
    ck_assert_int_eq(f.evals_saved, 2);
    ck_assert_int_eq(f.last_saved_step, 5);
    ck_assert_int_eq(st.step, 5);
    /* a NaN in an evaluation stops training too, before its checkpoint */
    fake_model g = {.nan_at = 8, .last_saved_step = -1, .bad = BAD_LOSSES[_i].loss};
    train_state st2;
    ck_assert_int_eq(train_state_init(&st2, 1, 1, &e), 0);
    ck_assert_int_eq(fake_train(&g, cfg, &st2, &e), TRAIN_FAILED);
    snprintf(expected, sizeof expected, "evaluation loss became %s at step 5",
             BAD_LOSSES[_i].name);
    ck_assert_msg(strstr(e.msg, expected), "got '%s'", e.msg);
    ck_assert_int_eq(g.evals_saved, 1);
    train_state_free(&st2);
    train_state_free(&st);
}
END_TEST

/* Evaluations run with dropout off, training steps with it on: 10 steps
 * evaluated at 0, 5 and 10 on 2 batches per split. */
START_TEST(test_evaluation_turns_dropout_off) {
    fake_model f = {.nan_at = LONG_MAX, .last_saved_step = -1, .bad = NAN};
    train_config cfg = {.iters = 10, .eval_interval = 5, .eval_iters = 2};
    train_state st;
    error e = {{0}};
    ck_assert_int_eq(train_state_init(&st, 1, 1, &e), 0);
    ck_assert_int_eq(fake_train(&f, cfg, &st, &e), TRAIN_DONE);
    ck_assert_int_eq(f.forwards_not_training, 3 * 2 * 2);
    ck_assert_int_eq(f.forwards_training, 10);
    train_state_free(&st);
}
END_TEST

/* A fake run from step `start` (its evaluation there done or not) to 10,
 * evaluating every 5 steps on 3 batches per split, watching fake_stop. */
static train_status fake_run(fake_model *f, long start, bool evaluated, train_state *st) {
    error e = {{0}};
    ck_assert_int_eq(train_state_init(st, 1, 1, &e), 0);
    st->step = start;
    st->evaluated = evaluated;
    train_config cfg = {.iters = 10, .eval_interval = 5, .eval_iters = 3, .stop = &fake_stop};
    return fake_train(f, cfg, st, &e);
}

/* Evaluations (hook calls) of fake_run from `start` to 10. */
static int evaluations(long start, bool evaluated) {
    fake_model f = {.nan_at = LONG_MAX, .last_saved_step = -1, .bad = NAN};
    train_state st;
    ck_assert_int_eq(fake_run(&f, start, evaluated, &st), TRAIN_DONE);
    ck_assert_int_eq(st.step, 10);
    ck_assert_int_eq(f.last_saved_step, 10);
    train_state_free(&st);
    return f.evals_saved;
}

START_TEST(test_signal_during_an_evaluation) {
    /* the 2nd of step 0's 6 evaluation batches: the evaluation is
     * abandoned, the run stops at step 0 with it still owed, and the
     * evaluation stream is as it was, so a resumed run draws the batches a
     * run never stopped would */
    fake_model f = {.nan_at = LONG_MAX, .last_saved_step = -1, .bad = NAN};
    stop_at_forward = 2;
    train_state st, fresh;
    ck_assert_int_eq(fake_run(&f, 0, false, &st), TRAIN_INTERRUPTED);
    ck_assert_int_eq(st.step, 0);
    ck_assert(!st.evaluated);
    ck_assert_int_eq(f.evals_saved, 0);
    error e = {{0}};
    ck_assert_int_eq(train_state_init(&fresh, 1, 1, &e), 0);
    ck_assert_uint_eq(st.eval_rng.state, fresh.eval_rng.state);
    train_state_free(&st);
    train_state_free(&fresh);
}
END_TEST

START_TEST(test_resuming_skips_the_saved_evaluation) {
    /* a fresh run evaluates at steps 0, 5 and 10; a resumed one does not
     * repeat the evaluation its checkpoint was saved after, even at step 0
     * (a run stopped by a signal right after its first evaluation), but
     * does one that a signal cut short */
    ck_assert_int_eq(evaluations(0, false), 3);
    ck_assert_int_eq(evaluations(0, true), 2);
    ck_assert_int_eq(evaluations(5, true), 1);
    ck_assert_int_eq(evaluations(5, false), 2);
    /* a run resumed between evaluations owes none */
    ck_assert_int_eq(evaluations(3, false), 2);
}
END_TEST

static Suite *common_suite(void) {
    Suite *s = suite_create("common");
    TCase *tc = tcase_create("tokenizer");
    tcase_add_test(tc, test_round_trip_ascii);
    tcase_add_test(tc, test_round_trip_multibyte);
    tcase_add_test(tc, test_vocab_sorted_by_code_point);
    tcase_add_loop_test(tc, test_invalid_utf8_names_offset, 0,
                        (int)(sizeof INVALID / sizeof INVALID[0]));
    tcase_add_test(tc, test_unknown_character_rejected);
    tcase_add_test(tc, test_from_chars_validates);
    suite_add_tcase(s, tc);

    tc = tcase_create("data");
    tcase_add_test(tc, test_split_sizes);
    tcase_add_test(tc, test_split_of_tiny_shakespeare_size);
    tcase_add_test(tc, test_batch_targets_are_shifted_inputs);
    tcase_add_test(tc, test_dataset_check);
    tcase_add_test(tc, test_dataset_with_vocabulary);
    tcase_add_test(tc, test_error_stays_one_line);
    tcase_add_test(tc, test_read_file_errors);
    suite_add_tcase(s, tc);

    tc = tcase_create("rng");
    tcase_add_test(tc, test_rng_reproducible);
    tcase_add_test(tc, test_rng_known_values);
    tcase_add_test(tc, test_rng_distributions);
    suite_add_tcase(s, tc);

    tc = tcase_create("adamw");
    tcase_add_test(tc, test_adamw_matches_pytorch);
    tcase_add_test(tc, test_adamw_no_decay_when_zero);
    tcase_add_test(tc, test_optimizer_step_nanogpt_2d_decay);
    tcase_add_test(tc, test_grad_clip);
    tcase_add_test(tc, test_lr_schedule);
    suite_add_tcase(s, tc);

    tc = tcase_create("plumbing");
    tcase_add_test(tc, test_param_table);
    tcase_add_test(tc, test_tensor_specs_and_views);
    tcase_add_test(tc, test_arena_counts_then_hands_out);
    tcase_add_test(tc, test_cli_good_values);
    tcase_add_loop_test(tc, test_cli_bad_values, 0,
                        (int)(sizeof BAD_OPTIONS / sizeof BAD_OPTIONS[0]));
    tcase_add_test(tc, test_cli_parse_repeats);
    tcase_add_test(tc, test_cli_peek);
    tcase_add_test(tc, test_cli_set_checks_like_the_command_line);
    tcase_add_test(tc, test_cli_format_round_trips);
    tcase_add_test(tc, test_cli_seed_bound);
    tcase_add_test(tc, test_cli_help_shows_defaults_in_range);
    tcase_add_test(tc, test_loss_log_csv);
    tcase_add_test(tc, test_loss_log_drop_after);
    tcase_add_test(tc, test_loss_log_write_failure);
    suite_add_tcase(s, tc);

    tc = tcase_create("training loop");
    tcase_add_test(tc, test_evaluation_turns_dropout_off);
    tcase_add_loop_test(tc, test_nan_loss_stops_training, 0,
                        (int)(sizeof BAD_LOSSES / sizeof BAD_LOSSES[0]));
    tcase_add_test(tc, test_resuming_skips_the_saved_evaluation);
    tcase_add_test(tc, test_signal_during_an_evaluation);
    suite_add_tcase(s, tc);

    tc = tcase_create("checkpoint");
    tcase_add_test(tc, test_checkpoint_round_trip);
    tcase_add_loop_test(tc, test_checkpoint_bad_headers, 0,
                        (int)(sizeof BAD_HEADERS / sizeof BAD_HEADERS[0]));
    tcase_add_test(tc, test_checkpoint_truncated_and_foreign);
    tcase_add_test(tc, test_checkpoint_many_tensors);
    tcase_add_test(tc, test_checkpoint_write_fault_keeps_old_file);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(common_suite()); }
