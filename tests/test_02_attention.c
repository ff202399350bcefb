/*
 * test_02_attention.c - claims about chapter 02: the linear layer is the
 * matrix product it says (and its backward is its gradient), position
 * embeddings and the attention head have true gradients, attention is a
 * causal weighted average (zero queries give the plain running mean, rows
 * sum to 1, the future gets exactly 0), and the one-head model is causal,
 * thread-count independent, correctly differentiated and starts near
 * ln(V); generating from a prompt longer than the block is generating from
 * its last block_size tokens.
 */
#include <check.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../01-bigram/generate.h"
#include "../02-self-attention/attention.h"
#include "../02-self-attention/linear.h"
#include "../02-self-attention/model.h"
#include "../02-self-attention/position.h"
#include "../common/parallel.h"
#include "modelutil.h"
#include "testutil.h"

/* The sizes of the gradient checks: distinct and non-square, so that a
 * transposed index cannot hide (see DESIGN.md). */
enum { B = 2, T = 5, C = 12, V = 7 };
#define N ((size_t)B * T)
#define EPS 1e-2f

/* ------------------------------------------------------------ linear */

START_TEST(test_linear_known_values) {
    /* w is [out, in]: row o is what output o looks for */
    const float inp[2 * 3] = {1, 2, 3, 4, 5, 6};
    const float w[2 * 3] = {1, 0, -1, 0.5f, 0.5f, 0.5f};
    const float bias[2] = {10, 20};
    float out[2 * 2];
    linear_forward(out, inp, w, bias, 2, 3, 2);
    ck_assert_float_eq(out[0], 10 + 1 - 3);
    ck_assert_float_eq(out[1], 20 + 3);
    ck_assert_float_eq(out[2], 10 + 4 - 6);
    ck_assert_float_eq(out[3], 20 + 7.5f);
}
END_TEST

START_TEST(test_linear_matches_textbook_loop) {
    /* the tiled loops against the plain triple loop in double, for every
     * N and OC from 1 to 9 (full tiles, partial tiles, and none) */
    rng r;
    rng_seed(&r, 21);
    enum { MAX = 9, IN = 5 };
    float inp[MAX * IN], w[MAX * IN], bias[MAX], out[MAX * MAX];
    fill_normal(inp, MAX * IN, 1.0f, &r);
    fill_normal(w, MAX * IN, 1.0f, &r);
    fill_normal(bias, MAX, 1.0f, &r);
    for (size_t n = 1; n <= MAX; n++)
        for (int oc = 1; oc <= MAX; oc++) {
            linear_forward(out, inp, w, bias, n, IN, oc);
            for (size_t i = 0; i < n; i++)
                for (int o = 0; o < oc; o++) {
                    double want = bias[o];
                    for (int c = 0; c < IN; c++)
                        want += (double)inp[i * IN + c] * w[o * IN + c];
                    ck_assert_double_eq_tol(out[i * oc + o], want, 1e-5);
                }
        }
}
END_TEST

typedef struct {
    float *inp, *w, *bias, *out;
    const float *probe; /* (N,OC) random weights: objective = sum out * probe */
    int OC;
} linear_ctx;

static double linear_objective(void *p) {
    linear_ctx *c = p;
    linear_forward(c->out, c->inp, c->w, c->bias, N, C, c->OC);
    return dot_double(c->out, c->probe, N * c->OC);
}

START_TEST(test_linear_gradients) {
    enum { OC = 7 };
    rng r;
    rng_seed(&r, 1);
    float inp[N * C], w[OC * C], bias[OC], out[N * OC], probe[N * OC];
    float dinp[N * C] = {0}, dw[OC * C] = {0}, dbias[OC] = {0};
    fill_normal(inp, N * C, 1.0f, &r);
    fill_normal(w, OC * C, 0.3f, &r);
    fill_normal(bias, OC, 0.3f, &r);
    fill_normal(probe, N * OC, 1.0f, &r);
    linear_ctx c = {inp, w, bias, out, probe, OC};
    linear_backward(dinp, dw, dbias, probe, inp, w, N, C, OC); /* d objective / d out = probe */
    ck_assert_double_lt(grad_check_elements(linear_objective, &c, inp, dinp, N * C, N * C, EPS),
                        GRAD_TOL);
    ck_assert_double_lt(grad_check_elements(linear_objective, &c, w, dw, OC * C, OC * C, EPS),
                        GRAD_TOL);
    ck_assert_double_lt(grad_check_elements(linear_objective, &c, bias, dbias, OC, OC, EPS),
                        GRAD_TOL);

    /* negative control: dw read as if it were stored [in, out] */
    float wrong[OC * C];
    for (int o = 0; o < OC; o++)
        for (int i = 0; i < C; i++)
            wrong[o * C + i] = dw[(i * OC + o) % (OC * C)];
    ck_assert_double_gt(grad_check_elements(linear_objective, &c, w, wrong, OC * C, OC * C, EPS),
                        GRAD_TOL);
    /* and the bias gradient with a term dropped (the last row's) */
    float dbias_short[OC] = {0};
    linear_backward(NULL, wrong, dbias_short, probe, inp, w, N - 1, C, OC);
    ck_assert_double_gt(grad_check_elements(linear_objective, &c, bias, dbias_short, OC, OC, EPS),
                        GRAD_TOL);
}
END_TEST

START_TEST(test_linear_backward_accumulates) {
    /* backward adds (+=): calling it twice gives twice the gradient */
    enum { OC = 3 };
    rng r;
    rng_seed(&r, 2);
    float inp[N * C], w[OC * C], dout[N * OC], once[OC * C] = {0}, twice[OC * C] = {0};
    fill_normal(inp, N * C, 1.0f, &r);
    fill_normal(w, OC * C, 1.0f, &r);
    fill_normal(dout, N * OC, 1.0f, &r);
    linear_backward(NULL, once, NULL, dout, inp, w, N, C, OC);
    linear_backward(NULL, twice, NULL, dout, inp, w, N, C, OC);
    linear_backward(NULL, twice, NULL, dout, inp, w, N, C, OC);
    for (int i = 0; i < OC * C; i++)
        ck_assert_float_eq_tol(twice[i], 2 * once[i], 1e-5f);
}
END_TEST

START_TEST(test_linear_init_bounds) {
    /* torch.nn.Linear: uniform in [-1/sqrt(in), 1/sqrt(in)) */
    enum { IN = 16, OUT = 40 };
    float w[OUT * IN], bias[OUT];
    rng r;
    rng_seed(&r, 3);
    linear_init(w, bias, IN, OUT, &r);
    float bound = 1.0f / sqrtf(IN), lo = 1, hi = -1;
    for (int i = 0; i < OUT * IN; i++) {
        ck_assert_float_le(fabsf(w[i]), bound);
        lo = fminf(lo, w[i]);
        hi = fmaxf(hi, w[i]);
    }
    for (int o = 0; o < OUT; o++)
        ck_assert_float_le(fabsf(bias[o]), bound);
    ck_assert_float_lt(lo, -0.9f * bound); /* the whole range is used */
    ck_assert_float_gt(hi, 0.9f * bound);
}
END_TEST

/* ------------------------------------------------------------ position */

typedef struct {
    float *x, *wpe;
    const float *base, *probe;
} position_ctx;

static double position_objective(void *p) {
    position_ctx *c = p;
    memcpy(c->x, c->base, N * C * sizeof *c->x);
    position_embedding_forward(c->x, c->wpe, B, T, C);
    return dot_double(c->x, c->probe, N * C);
}

START_TEST(test_position_gradient) {
    rng r;
    rng_seed(&r, 4);
    float x[N * C], base[N * C], probe[N * C], wpe[T * C], dwpe[T * C] = {0};
    fill_normal(base, N * C, 1.0f, &r);
    fill_normal(probe, N * C, 1.0f, &r);
    fill_normal(wpe, T * C, 1.0f, &r);
    position_ctx c = {x, wpe, base, probe};
    position_embedding_backward(dwpe, probe, B, T, C);
    ck_assert_double_lt(grad_check_elements(position_objective, &c, wpe, dwpe, T * C, T * C, EPS),
                        GRAD_TOL);
    /* row b = 1, position 2 got wpe[2] */
    position_objective(&c);
    ck_assert_float_eq(x[(1 * T + 2) * C + 3], base[(1 * T + 2) * C + 3] + wpe[2 * C + 3]);
}
END_TEST

/* ------------------------------------------------------------ attention */

START_TEST(test_zero_queries_give_running_average) {
    /* "the mathematical trick": with every score equal, softmax over the
     * past gives the lower-triangular matrix of 1/(t+1), and the output at
     * t is the mean of v_0..v_t */
    enum { HS = 3 };
    rng r;
    rng_seed(&r, 5);
    float q[T * HS] = {0}, k[T * HS], v[T * HS], att[T * T], out[T * HS];
    fill_normal(k, T * HS, 1.0f, &r);
    fill_normal(v, T * HS, 1.0f, &r);
    attention_scores_forward(att, q, k, T, HS, HS);
    attention_mix_forward(out, att, v, T, HS, HS, HS);
    for (int t = 0; t < T; t++)
        for (int s = 0; s < T; s++)
            ck_assert_float_eq_tol(att[t * T + s], s <= t ? 1.0f / (t + 1) : 0.0f, 1e-6f);
    for (int t = 0; t < T; t++)
        for (int i = 0; i < HS; i++) {
            double mean = 0;
            for (int s = 0; s <= t; s++)
                mean += v[s * HS + i] / (t + 1.0);
            ck_assert_double_eq_tol(out[t * HS + i], mean, 1e-6);
        }
}
END_TEST

START_TEST(test_attention_scores_known_values) {
    /* Two positions, head size 4: q1 . k1 = 4, scaled by 1/sqrt(4) to 2,
     * against q1 . k0 = 0, so row 1 is softmax(0, 2); row 0 sees only
     * itself. Without the scale it would be softmax(0, 4). */
    enum { T = 2, HS = 4 };
    float q[T * HS] = {0, 0, 0, 0, 1, 1, 1, 1}, k[T * HS] = {0, 0, 0, 0, 1, 1, 1, 1};
    float att[T * T];
    attention_scores_forward(att, q, k, T, HS, HS);
    double e2 = exp(2.0);
    ck_assert_float_eq(att[0], 1.0f);
    ck_assert_float_eq(att[1], 0.0f);
    ck_assert_double_eq_tol(att[2], 1.0 / (1.0 + e2), 1e-6);
    ck_assert_double_eq_tol(att[3], e2 / (1.0 + e2), 1e-6);
}
END_TEST

START_TEST(test_attention_rows_are_causal_distributions) {
    enum { HS = 4, TT = 9 };
    rng r;
    rng_seed(&r, 6);
    float q[TT * HS], k[TT * HS], att[TT * TT];
    fill_normal(q, TT * HS, 3.0f, &r); /* large scores: a peaked softmax */
    fill_normal(k, TT * HS, 3.0f, &r);
    attention_scores_forward(att, q, k, TT, HS, HS);
    for (int t = 0; t < TT; t++) {
        double sum = 0;
        for (int s = 0; s < TT; s++) {
            if (s > t)
                ck_assert_msg(att[t * TT + s] == 0.0f, "att[%d][%d] = %g is not exactly 0", t,
                              s, att[t * TT + s]);
            else
                ck_assert_float_ge(att[t * TT + s], 0.0f);
            sum += att[t * TT + s];
        }
        ck_assert_double_eq_tol(sum, 1.0, 1e-6);
    }
}
END_TEST

/* One head whose q, k, v live in the columns [0,HS), [HS,2HS), [2HS,3HS) of
 * a (T, STRIDE) buffer, and whose output is written STRIDE apart too, as
 * chapter 03 uses it. */
enum { HS = 4, STRIDE = 3 * HS + 2 };

typedef struct {
    float *qkv, *att, *out;
    const float *probe;
} head_ctx;

static double head_objective(void *p) {
    head_ctx *c = p;
    attention_scores_forward(c->att, c->qkv, c->qkv + HS, T, HS, STRIDE);
    attention_mix_forward(c->out, c->att, c->qkv + 2 * HS, T, HS, STRIDE, STRIDE);
    return dot_double(c->out, c->probe, T * STRIDE);
}

START_TEST(test_attention_gradients) {
    rng r;
    rng_seed(&r, 7);
    float qkv[T * STRIDE], att[T * T], out[T * STRIDE] = {0}, probe[T * STRIDE];
    float dqkv[T * STRIDE] = {0}, datt[T * T] = {0};
    fill_normal(qkv, T * STRIDE, 1.0f, &r);
    fill_normal(probe, T * STRIDE, 1.0f, &r);
    for (int t = 0; t < T; t++) /* only the head's output columns count */
        for (int i = HS; i < STRIDE; i++)
            probe[t * STRIDE + i] = 0.0f;
    head_ctx c = {qkv, att, out, probe};
    head_objective(&c);
    attention_mix_backward(datt, dqkv + 2 * HS, probe, att, qkv + 2 * HS, T, HS, STRIDE, STRIDE);
    attention_scores_backward(dqkv, dqkv + HS, datt, att, qkv, qkv + HS, T, HS, STRIDE);
    /* q, k and v together, and each on its own (the columns outside the
     * head have gradient 0 on both sides) */
    ck_assert_double_lt(grad_check_elements(head_objective, &c, qkv, dqkv, T * STRIDE,
                                            T * STRIDE, EPS),
                        GRAD_TOL);
    for (int part = 0; part < 3; part++) {
        float g[T * STRIDE] = {0};
        for (int t = 0; t < T; t++)
            for (int i = 0; i < HS; i++)
                g[t * STRIDE + part * HS + i] = dqkv[t * STRIDE + part * HS + i];
        /* negative control: the other two parts dropped must be caught */
        ck_assert_double_gt(
            grad_check_elements(head_objective, &c, qkv, g, T * STRIDE, T * STRIDE, EPS),
            GRAD_TOL);
    }
    for (int t = 0; t < T; t++)
        for (int i = 3 * HS; i < STRIDE; i++)
            ck_assert_float_eq(dqkv[t * STRIDE + i], 0.0f);

    /* the softmax backward ignores a constant added to a row of datt
     * (weights that sum to 1 cannot all grow): the "- sum a*da" term */
    float shifted[T * T], dqk[T * STRIDE] = {0};
    for (int i = 0; i < T * T; i++)
        shifted[i] = datt[i] + 1.0f;
    attention_scores_backward(dqk, dqk + HS, shifted, att, qkv, qkv + HS, T, HS, STRIDE);
    for (int t = 0; t < T; t++)
        for (int i = 0; i < 2 * HS; i++)
            ck_assert_float_eq_tol(dqk[t * STRIDE + i], dqkv[t * STRIDE + i], 1e-5f);
}
END_TEST

/* ------------------------------------------------------------ the model */

/* The most tokens a fixture's batch holds (the thread-count test's). */
enum { FIXTURE_TOKENS = 16 * 64 };

typedef struct {
    attention_model m;
    model_ctx ctx;
    int x[FIXTURE_TOKENS], y[FIXTURE_TOKENS];
} fixture;

static void make_model(fixture *f, int V_, int C_, int B_, int T_, uint64_t seed) {
    rng r;
    rng_seed(&r, seed);
    error e;
    ck_assert_int_le(B_ * T_, FIXTURE_TOKENS);
    ck_assert_msg(attention_model_init(&f->m, V_, C_, B_, T_, &r, &e) == 0, "%s", e.msg);
    random_batch(f->x, f->y, (size_t)B_ * T_, V_, &r);
    f->ctx = (model_ctx){attention_language_model(&f->m), f->m.base.losses, f->x, f->y, B_, T_,
                         NULL};
}

START_TEST(test_model_gradients) {
    fixture f;
    make_model(&f, V, C, B, T, 8);
    assert_model_gradients(&f.ctx, 40, 4, EPS);
    attention_model_free(&f.m);
}
END_TEST

START_TEST(test_model_checker_catches_errors) {
    fixture f;
    make_model(&f, V, C, B, T, 8);
    assert_checker_catches_errors(&f.ctx, "sa_head.query.weight", EPS);
    attention_model_free(&f.m);
}
END_TEST

START_TEST(test_model_tensors) {
    fixture f;
    make_model(&f, V, C, B, T, 9);
    const param_table *pt = &f.m.base.table;
    ck_assert_int_eq(pt->n_tensors, 7);
    const char *names[] = {"transformer.wte.weight", "transformer.wpe.weight",
                           "sa_head.query.weight",  "sa_head.key.weight",
                           "sa_head.value.weight",  "lm_head.weight",
                           "lm_head.bias"};
    for (int i = 0; i < 7; i++)
        ck_assert_ptr_nonnull(param_table_find(pt, names[i]));
    ck_assert_uint_eq(param_table_find(pt, "transformer.wpe.weight")->shape[0], T);
    ck_assert_uint_eq(pt->total, (size_t)V * C * 2 + (size_t)T * C + 3 * C * C + V);
    attention_model_free(&f.m);
}
END_TEST

START_TEST(test_model_is_causal) {
    fixture f;
    make_model(&f, V, C, 3, 6, 10);
    rng r;
    rng_seed(&r, 11);
    assert_causal(&f.ctx.lm, V, 3, 6, &r);
    attention_model_free(&f.m);
}
END_TEST

START_TEST(test_model_same_for_1_and_2_threads) {
    /* large enough that every loop the model splits across threads really
     * is split (common/parallel.h): the attention's B*T*T weights, the
     * position embeddings' B*T*C, each linear layer, the N*V cross-entropy */
    enum { VOCAB = 65, CC = 64, BB = 16, TT = 64 };
    size_t n = (size_t)BB * TT;
    ck_assert_uint_ge(n * TT, PARALLEL_MIN_WORK);
    ck_assert_uint_ge(n * CC, PARALLEL_MIN_WORK);
    ck_assert_uint_ge(linear_work(n, CC, CC), PARALLEL_MIN_WORK);
    ck_assert_uint_ge(n * VOCAB, PARALLEL_MIN_WORK);
    fixture f;
    make_model(&f, VOCAB, CC, BB, TT, 12);
    assert_same_for_1_and_2_threads(&f.ctx);
    attention_model_free(&f.m);
}
END_TEST

START_TEST(test_untrained_loss_near_ln_vocab) {
    /* PyTorch's initialisation leaves the logits small (std ~0.3 here), and
     * for small random logits cross-entropy exceeds ln(V) by about half
     * their variance, ~0.05: so the first loss is within 0.3 of ln(V) */
    enum { VOCAB = 65, BB = 8, TT = 8 };
    fixture f;
    make_model(&f, VOCAB, 32, BB, TT, 1337);
    double loss = model_objective(&f.ctx);
    ck_assert_double_eq_tol(loss, log(VOCAB), 0.3);
    attention_model_free(&f.m);
}
END_TEST

/* n characters that lm generates after the prompt, always from one seed. */
static void generate_text(language_model *lm, const tokenizer *tok, const int *prompt,
                          size_t n_prompt, char *text, long n) {
    rng r;
    rng_seed(&r, 14);
    error e;
    sampler_config sc = SAMPLER_PLAIN;
    FILE *f = fmemopen(text, (size_t)n + 1, "w");
    ck_assert_int_eq(generate(lm, tok, prompt, n_prompt, n, &sc, &r, f, &e), 0);
    fclose(f);
    ck_assert_uint_eq(strlen(text), (size_t)n);
}

START_TEST(test_generate_crops_long_prompts) {
    /* the head looks back at most block_size tokens, so a longer prompt
     * must give exactly what its last block_size tokens give. The control:
     * one token fewer gives other text, so the tokens before the last one
     * do matter (unlike chapter 01's bigram, where cropping cannot show) */
    enum { BLOCK = 6, LONG = 12, GEN = 60 };
    fixture f;
    make_model(&f, V, C, 1, BLOCK, 13);
    tokenizer tok;
    error e;
    ck_assert_int_eq(tokenizer_build(&tok, "abcdefg", V, &e), 0);
    const int prompt[LONG] = {0, 1, 2, 3, 4, 5, 6, 5, 4, 3, 2, 1};
    char whole[GEN + 1], last_block[GEN + 1], shorter[GEN + 1];
    generate_text(&f.ctx.lm, &tok, prompt, LONG, whole, GEN);
    generate_text(&f.ctx.lm, &tok, prompt + LONG - BLOCK, BLOCK, last_block, GEN);
    generate_text(&f.ctx.lm, &tok, prompt + LONG - BLOCK + 1, BLOCK - 1, shorter, GEN);
    ck_assert_str_eq(whole, last_block);
    ck_assert_str_ne(whole, shorter);
    tokenizer_free(&tok);
    attention_model_free(&f.m);
}
END_TEST

static Suite *attention_suite(void) {
    Suite *s = suite_create("02-self-attention");
    TCase *tc = tcase_create("linear");
    tcase_add_test(tc, test_linear_known_values);
    tcase_add_test(tc, test_linear_matches_textbook_loop);
    tcase_add_test(tc, test_linear_gradients);
    tcase_add_test(tc, test_linear_backward_accumulates);
    tcase_add_test(tc, test_linear_init_bounds);
    tcase_add_test(tc, test_position_gradient);
    suite_add_tcase(s, tc);

    tc = tcase_create("attention");
    tcase_add_test(tc, test_zero_queries_give_running_average);
    tcase_add_test(tc, test_attention_scores_known_values);
    tcase_add_test(tc, test_attention_rows_are_causal_distributions);
    tcase_add_test(tc, test_attention_gradients);
    suite_add_tcase(s, tc);

    tc = tcase_create("model");
    tcase_add_test(tc, test_model_gradients);
    tcase_add_test(tc, test_model_checker_catches_errors);
    tcase_add_test(tc, test_model_tensors);
    tcase_add_test(tc, test_model_is_causal);
    tcase_add_test(tc, test_model_same_for_1_and_2_threads);
    tcase_add_test(tc, test_untrained_loss_near_ln_vocab);
    tcase_add_test(tc, test_generate_crops_long_prompts);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(attention_suite()); }
