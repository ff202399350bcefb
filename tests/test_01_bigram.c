/*
 * test_01_bigram.c - claims about chapter 01: softmax and cross-entropy
 * give the textbook values, the bigram's backward pass is the true gradient,
 * an untrained model pays about ln(V), training lowers the loss, sampling
 * follows the distribution it is given (top-k keeps exactly k tokens, ties
 * to the lower id), and generation refuses an empty prompt.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../01-bigram/bigram.h"
#include "../01-bigram/crossentropy.h"
#include "../01-bigram/embedding.h"
#include "../01-bigram/generate.h"
#include "../common/data.h"
#include "testutil.h"

/* ------------------------------------------------------------ softmax / CE */

START_TEST(test_softmax_known_values) {
    const float logits[3] = {1.0f, 2.0f, 3.0f};
    float p[3];
    softmax_forward(p, logits, 3);
    /* e^1, e^2, e^3 normalised */
    ck_assert_float_eq_tol(p[0], 0.09003057f, 1e-6f);
    ck_assert_float_eq_tol(p[1], 0.24472847f, 1e-6f);
    ck_assert_float_eq_tol(p[2], 0.66524096f, 1e-6f);
    /* shifting every logit changes nothing, even by a huge amount */
    const float shifted[3] = {1001.0f, 1002.0f, 1003.0f};
    float q[3];
    softmax_forward(q, shifted, 3);
    ck_assert_float_le(max_abs_diff(p, q, 3), 1e-6f);
}
END_TEST

START_TEST(test_crossentropy_known_values) {
    enum { N = 2, V = 4 };
    /* row 0: uniform logits pay ln(4); row 1: logits [0, ln 3, 0, 0] give
     * the target (1) probability 3/6 = 0.5, paying ln 2 */
    float logits[N * V] = {5, 5, 5, 5, 0, logf(3.0f), 0, 0};
    int targets[N] = {2, 1};
    float probs[N * V], losses[N];
    float mean = crossentropy_forward(probs, losses, logits, targets, N, V);
    ck_assert_float_eq_tol(losses[0], logf(4.0f), 1e-6f);
    ck_assert_float_eq_tol(losses[1], logf(2.0f), 1e-6f);
    ck_assert_float_eq_tol(mean, (logf(4.0f) + logf(2.0f)) / 2, 1e-6f);
    /* the gradient is (p - onehot) / N */
    float d[N * V] = {0};
    crossentropy_backward(d, probs, targets, N, V);
    ck_assert_float_eq_tol(d[0], 0.25f / N, 1e-7f);
    ck_assert_float_eq_tol(d[2], (0.25f - 1.0f) / N, 1e-7f);
    ck_assert_float_eq_tol(d[V + 1], (0.5f - 1.0f) / N, 1e-7f);
    ck_assert_float_eq_tol(d[V + 0], (1.0f / 6.0f) / N, 1e-7f);
}
END_TEST

/* A target far below the best logit: its probability, e^-200, is 0 in a
 * float, but its loss is finite: 200 (+ log(1 + e^-200)), and a sure
 * target pays 0. */
START_TEST(test_crossentropy_of_an_unlikely_target) {
    float logits[2] = {0.0f, 200.0f}, probs[2], losses[2];
    int targets[2] = {0, 1};
    ck_assert_float_eq_tol(crossentropy_forward(probs, losses, logits, targets, 1, 2), 200.0f,
                           1e-4f);
    ck_assert_float_eq(probs[0], 0.0f);
    ck_assert_float_eq_tol(crossentropy_forward(probs, losses, logits, targets + 1, 1, 2), 0.0f,
                           1e-7f);
}
END_TEST

/* The objective for checking crossentropy_backward: mean CE of logits. */
typedef struct {
    float *logits, *probs, *losses;
    const int *targets;
    size_t N;
    int V;
} ce_ctx;

static double ce_objective(void *p) {
    ce_ctx *c = p;
    return crossentropy_forward(c->probs, c->losses, c->logits, c->targets, c->N, c->V);
}

START_TEST(test_crossentropy_gradient) {
    enum { N = 6, V = 7 };
    rng r;
    rng_seed(&r, 3);
    float logits[N * V], probs[N * V], losses[N], d[N * V] = {0};
    int targets[N] = {0, 6, 3, 3, 1, 5};
    fill_normal(logits, N * V, 1.0f, &r);
    ce_ctx c = {logits, probs, losses, targets, N, V};
    ce_objective(&c);
    crossentropy_backward(d, probs, targets, N, V);
    ck_assert_double_lt(grad_check_elements(ce_objective, &c, logits, d, N * V, N * V, 1e-2f),
                        GRAD_TOL);
}
END_TEST

START_TEST(test_embedding_backward_accumulates) {
    enum { V = 5, C = 3, N = 4 };
    float wte[V * C], out[N * C], dout[N * C], dwte[V * C] = {0};
    int idx[N] = {2, 0, 2, 4}; /* token 2 appears twice */
    for (int i = 0; i < V * C; i++)
        wte[i] = (float)i;
    token_embedding_forward(out, idx, wte, N, C);
    ck_assert_float_eq(out[0 * C + 1], wte[2 * C + 1]);
    ck_assert_float_eq(out[3 * C + 2], wte[4 * C + 2]);
    for (int i = 0; i < N * C; i++)
        dout[i] = 1.0f + (float)i;
    token_embedding_backward(dwte, dout, idx, N, C);
    ck_assert_float_eq(dwte[2 * C + 0], dout[0 * C + 0] + dout[2 * C + 0]); /* summed */
    ck_assert_float_eq(dwte[0 * C + 1], dout[1 * C + 1]);
    ck_assert_float_eq(dwte[1 * C + 0], 0.0f); /* unused token: no gradient */
}
END_TEST

/* ------------------------------------------------------------ the model */

typedef struct {
    bigram *m;
    const int *x, *y;
    int B, T;
} bigram_ctx;

static double bigram_objective(void *p) {
    bigram_ctx *c = p;
    return bigram_forward(c->m, c->x, c->y, c->B, c->T);
}

/* Builds a small bigram (V 7, B 2, T 5) with random data. */
static void small_bigram(bigram *m, int *x, int *y, rng *r) {
    error e;
    ck_assert_int_eq(bigram_init(m, 7, 2, 5, r, &e), 0);
    for (int i = 0; i < 10; i++) {
        x[i] = (int)rng_below(r, 7);
        y[i] = (int)rng_below(r, 7);
    }
}

START_TEST(test_bigram_gradient) {
    bigram m;
    int x[10], y[10];
    rng r;
    rng_seed(&r, 11);
    small_bigram(&m, x, y, &r);
    bigram_ctx c = {&m, x, y, 2, 5};
    bigram_forward(&m, x, y, 2, 5);
    memset(m.grads, 0, m.table.total * sizeof *m.grads);
    bigram_backward(&m);
    size_t n = m.table.total;
    ck_assert_double_lt(grad_check_elements(bigram_objective, &c, m.params, m.grads, n, n, 1e-2f),
                        GRAD_TOL);
    ck_assert_double_lt(
        grad_check_directions(bigram_objective, &c, m.params, m.grads, n, 4, 1e-2f, &r), GRAD_TOL);
    bigram_free(&m);
}
END_TEST

START_TEST(test_gradient_check_catches_errors) {
    /* negative control: a corrupted gradient must fail the checker */
    bigram m;
    int x[10], y[10];
    rng r;
    rng_seed(&r, 11);
    small_bigram(&m, x, y, &r);
    bigram_ctx c = {&m, x, y, 2, 5};
    bigram_forward(&m, x, y, 2, 5);
    memset(m.grads, 0, m.table.total * sizeof *m.grads);
    bigram_backward(&m);
    size_t n = m.table.total;
    float *wrong = malloc(n * sizeof *wrong);
    /* a wrong sign */
    for (size_t i = 0; i < n; i++)
        wrong[i] = -m.grads[i];
    ck_assert_double_gt(grad_check_elements(bigram_objective, &c, m.params, wrong, n, n, 1e-2f),
                        GRAD_TOL);
    /* a transposed table: row i <-> column i */
    for (int i = 0; i < 7; i++)
        for (int j = 0; j < 7; j++)
            wrong[i * 7 + j] = m.grads[j * 7 + i];
    ck_assert_double_gt(grad_check_elements(bigram_objective, &c, m.params, wrong, n, n, 1e-2f),
                        GRAD_TOL);
    /* a missing term: the 1/N of the mean dropped (gradient N times too big) */
    for (size_t i = 0; i < n; i++)
        wrong[i] = 10.0f * m.grads[i];
    ck_assert_double_gt(
        grad_check_directions(bigram_objective, &c, m.params, wrong, n, 2, 1e-2f, &r), GRAD_TOL);
    free(wrong);
    bigram_free(&m);
}
END_TEST

START_TEST(test_too_large_a_table_is_refused) {
    /* a million characters: a 10^12-entry table, 14,901 GiB to train; said
     * before any of it is allocated */
    bigram m;
    rng r;
    rng_seed(&r, 1);
    error e = {{0}};
    ck_assert_int_eq(bigram_init(&m, 1000000, 1, 1, &r, &e), -1);
    ck_assert_msg(strstr(e.msg, "a bigram of 1000000 characters (its 1000000 x 1000000 table, "
                                "4 times) needs 14901.2 GiB, more than this machine's"),
                  "got '%s'", e.msg);
    ck_assert_ptr_null(m.params);
}
END_TEST

START_TEST(test_untrained_loss_is_ln_vocab) {
    /* A model that knows nothing spreads its bets evenly and pays ln(V).
     * With an all-zero table that is exact; torch's N(0, 1) initialisation
     * gives a little more (random preferences cost extra), as the lecture
     * saw: 4.87 against ln(65) = 4.17. */
    enum { V = 65, B = 4, T = 8 };
    bigram m;
    rng r;
    rng_seed(&r, 1337);
    error e;
    ck_assert_int_eq(bigram_init(&m, V, B, T, &r, &e), 0);
    int x[B * T], y[B * T];
    for (int i = 0; i < B * T; i++) {
        x[i] = (int)rng_below(&r, V);
        y[i] = (int)rng_below(&r, V);
    }
    float random_init = bigram_forward(&m, x, y, B, T);
    ck_assert_float_gt(random_init, logf(V));
    ck_assert_float_lt(random_init, logf(V) + 1.5f);
    memset(m.params, 0, m.table.total * sizeof *m.params);
    ck_assert_float_eq_tol(bigram_forward(&m, x, y, B, T), logf(V), 1e-5f);
    bigram_free(&m);
}
END_TEST

START_TEST(test_training_lowers_loss) {
    /* a text with an obvious bigram structure: "ab" repeats, so after 'a'
     * comes 'b' and after 'b' comes 'a' - a bigram learns it perfectly */
    char text[2000];
    for (int i = 0; i < 2000; i++)
        text[i] = i % 2 ? 'b' : 'a';
    dataset ds;
    error e;
    ck_assert_int_eq(dataset_from_text(&ds, text, sizeof text, NULL, &e), 0);
    bigram m;
    rng r;
    rng_seed(&r, 5);
    ck_assert_int_eq(bigram_init(&m, ds.tok.vocab_size, 8, 4, &r, &e), 0);
    language_model lm = bigram_language_model(&m);
    train_config cfg = {.iters = 200, .batch = 8, .block = 4, .eval_interval = 100,
                        .eval_iters = 5, .adamw = ADAMW_TORCH_DEFAULTS, .decay = DECAY_ALL,
                        .schedule = {0.1f, 0.1f, 0, 200}};
    train_state st;
    ck_assert_int_eq(train_state_init(&st, m.table.total, 5, &e), 0);
    train_result res;
    FILE *saved = stdout;
    stdout = fopen("/dev/null", "w"); /* keep the evaluation lines out of the test log */
    train_status status = train_run(&lm, &ds, &cfg, &st, &res, &e);
    fclose(stdout);
    stdout = saved;
    ck_assert_int_eq(status, TRAIN_DONE);
    ck_assert_int_eq(res.step, 200);
    ck_assert_float_lt(res.val_loss, 0.05f);
    train_state_free(&st);
    bigram_free(&m);
    dataset_free(&ds);
}
END_TEST

/* ------------------------------------------------------------ sampling */

START_TEST(test_top_k_one_is_argmax) {
    const float logits[6] = {0.1f, 2.0f, -1.0f, 1.9f, 0.0f, 1.0f};
    float probs[6];
    rng r;
    rng_seed(&r, 9);
    error e;
    sampler_config sc = {1.0f, 1};
    for (int i = 0; i < 200; i++)
        ck_assert_int_eq(sample_token(logits, 6, &sc, probs, &r, &e), 1);
    /* equal maxima: argmax is the first of them, always */
    const float tied[4] = {0.5f, 3.0f, 3.0f, 3.0f};
    for (int i = 0; i < 200; i++)
        ck_assert_int_eq(sample_token(tied, 4, &sc, probs, &r, &e), 1);
}
END_TEST

START_TEST(test_top_k_keeps_exactly_k_on_ties) {
    /* three tokens tie for second place; top-2 keeps the best and the
     * first of the tied ones, and nothing else */
    const float logits[5] = {1.0f, 3.0f, 2.0f, 2.0f, 2.0f};
    float probs[5];
    rng r;
    rng_seed(&r, 10);
    error e;
    sampler_config sc = {1.0f, 2};
    int counts[5] = {0};
    for (int i = 0; i < 2000; i++)
        counts[sample_token(logits, 5, &sc, probs, &r, &e)]++;
    ck_assert_int_gt(counts[1], 0);
    ck_assert_int_gt(counts[2], 0);
    ck_assert_int_eq(counts[0] + counts[3] + counts[4], 0);
    /* the distribution drawn from: softmax of logits 3 and 2, zero elsewhere */
    double p1 = 1.0 / (1.0 + exp(-1.0));
    ck_assert_float_eq_tol(probs[1], p1, 1e-6);
    ck_assert_float_eq_tol(probs[2], 1.0 - p1, 1e-6);
    ck_assert_float_eq(probs[0] + probs[3] + probs[4], 0.0f);
}
END_TEST

START_TEST(test_sampling_follows_distribution) {
    /* Chi-square goodness of fit: logits ln(p) for p = [.1 .2 .3 .4];
     * 20000 draws; the statistic with 3 degrees of freedom exceeds 16.27
     * with probability 0.001, so a correct sampler passes (the seed is
     * fixed, so the test is deterministic), a biased one does not. */
    const double p[4] = {0.1, 0.2, 0.3, 0.4};
    float logits[4], probs[4];
    for (int i = 0; i < 4; i++)
        logits[i] = logf((float)p[i]);
    enum { N = 20000 };
    int counts[4] = {0};
    rng r;
    rng_seed(&r, 2024);
    sampler_config plain = SAMPLER_PLAIN;
    error e;
    for (int i = 0; i < N; i++)
        counts[sample_token(logits, 4, &plain, probs, &r, &e)]++;
    double chi2 = 0;
    for (int i = 0; i < 4; i++)
        chi2 += (counts[i] - N * p[i]) * (counts[i] - N * p[i]) / (N * p[i]);
    ck_assert_double_lt(chi2, 16.27);

    /* temperature 0.5 squares the odds: p_i^2 / sum p^2 = [1 4 9 16]/30;
     * top-k 2 keeps .3 and .4 renormalised to 3/7, 4/7 */
    const struct {
        sampler_config sc;
        double expect[4];
    } cases[] = {
        {{0.5f, 0}, {1 / 30.0, 4 / 30.0, 9 / 30.0, 16 / 30.0}},
        {{1.0f, 2}, {0, 0, 3 / 7.0, 4 / 7.0}},
    };
    for (int c = 0; c < 2; c++) {
        int k[4] = {0};
        for (int i = 0; i < N; i++)
            k[sample_token(logits, 4, &cases[c].sc, probs, &r, &e)]++;
        double stat = 0;
        for (int i = 0; i < 4; i++) {
            double expected = N * cases[c].expect[i];
            if (expected == 0)
                ck_assert_int_eq(k[i], 0); /* filtered out: never drawn */
            else
                stat += (k[i] - expected) * (k[i] - expected) / expected;
        }
        ck_assert_double_lt(stat, 16.27);
    }
}
END_TEST

/* A bigram over the first V letters (V <= 7), random weights, block 8,
 * and its tokenizer: something for generate() to drive. */
static language_model letters_bigram(bigram *m, tokenizer *tok, int V, uint64_t seed) {
    rng r;
    rng_seed(&r, seed);
    error e;
    ck_assert_int_eq(bigram_init(m, V, 1, 8, &r, &e), 0);
    ck_assert_int_eq(tokenizer_build(tok, "abcdefg", (size_t)V, &e), 0);
    return bigram_language_model(m);
}

START_TEST(test_generate_reproducible) {
    bigram m;
    tokenizer tok;
    language_model lm = letters_bigram(&m, &tok, 7, 4);
    error e;
    char out1[256] = {0}, out2[256] = {0};
    /* longer than the block (8), which generate accepts; a bigram reads only
     * the last token, so the cropping itself is tested in chapter 02 */
    int prompt[12] = {0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 3, 4};
    sampler_config sc = SAMPLER_PLAIN;
    for (int run = 0; run < 2; run++) {
        FILE *f = fmemopen(run ? out2 : out1, sizeof out1, "w");
        rng sr;
        rng_seed(&sr, 77);
        ck_assert_int_eq(generate(&lm, &tok, prompt, 12, 100, &sc, &sr, f, &e), 0);
        fclose(f);
    }
    ck_assert_uint_eq(strlen(out1), 100);
    ck_assert_str_eq(out1, out2);
    tokenizer_free(&tok);
    bigram_free(&m);
}
END_TEST

START_TEST(test_generate_rejects_empty_prompt) {
    /* with no token there is no last position to predict from: an error,
     * and nothing written */
    bigram m;
    tokenizer tok;
    language_model lm = letters_bigram(&m, &tok, 5, 6);
    rng r;
    rng_seed(&r, 7);
    error e;
    char out[64] = {0};
    FILE *f = fmemopen(out, sizeof out, "w");
    int prompt[1] = {0};
    sampler_config sc = SAMPLER_PLAIN;
    ck_assert_int_eq(generate(&lm, &tok, prompt, 0, 10, &sc, &r, f, &e), -1);
    fclose(f);
    ck_assert_str_eq(e.msg, "the prompt is empty: generation needs at least one token");
    ck_assert_str_eq(out, "");
    tokenizer_free(&tok);
    bigram_free(&m);
}
END_TEST

static Suite *bigram_suite(void) {
    Suite *s = suite_create("01-bigram");
    TCase *tc = tcase_create("crossentropy");
    tcase_add_test(tc, test_softmax_known_values);
    tcase_add_test(tc, test_crossentropy_known_values);
    tcase_add_test(tc, test_crossentropy_of_an_unlikely_target);
    tcase_add_test(tc, test_crossentropy_gradient);
    tcase_add_test(tc, test_embedding_backward_accumulates);
    suite_add_tcase(s, tc);

    tc = tcase_create("model");
    tcase_add_test(tc, test_bigram_gradient);
    tcase_add_test(tc, test_gradient_check_catches_errors);
    tcase_add_test(tc, test_too_large_a_table_is_refused);
    tcase_add_test(tc, test_untrained_loss_is_ln_vocab);
    tcase_add_test(tc, test_training_lowers_loss);
    suite_add_tcase(s, tc);

    tc = tcase_create("sampling");
    tcase_add_test(tc, test_top_k_one_is_argmax);
    tcase_add_test(tc, test_top_k_keeps_exactly_k_on_ties);
    tcase_add_test(tc, test_sampling_follows_distribution);
    tcase_add_test(tc, test_generate_reproducible);
    tcase_add_test(tc, test_generate_rejects_empty_prompt);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(bigram_suite()); }
