/*
 * test_05_gpt.c - claims about chapter 05: GELU and its fast erf are
 * right; the fast kernels (BLAS, threaded) equal the readable loops of
 * chapters 02-04 and do not depend on the thread count; the whole GPT's
 * backward is its true gradient, with dropout on too; it is causal; it
 * reproduces PyTorch's logits from a committed safetensors file;
 * checkpoints round-trip and resume bit for bit; bad checkpoints are clear
 * errors; sampling is reproducible.
 */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../01-bigram/generate.h"
#include "../02-self-attention/linear.h"
#include "../03-multihead/multihead.h"
#include "../05-gpt/ckpt.h"
#include "../05-gpt/fastops.h"
#include "../05-gpt/gelu.h"
#include "../05-gpt/gpt.h"
#include "modelutil.h"
#include "testutil.h"


/* ------------------------------------------------------------ GELU */

START_TEST(test_erf_approx_accuracy) {
    /* against the C library's erf in double, over every region the
     * approximation switches between, and far into the tails */
    double worst = 0.0;
    for (double x = -10.0; x <= 10.0; x += 1e-4) {
        double err = fabs((double)erf_approx((float)x) - erf((double)(float)x));
        if (err > worst)
            worst = err;
    }
    ck_assert_double_lt(worst, 2e-7);
    ck_assert_float_eq(erf_approx(0.0f), 0.0f);
    ck_assert_float_eq(erf_approx(30.0f), 1.0f);
    ck_assert_float_eq(erf_approx(-30.0f), -1.0f);
    double worst_rel = 0.0;
    for (double y = -87.0; y <= 0.0; y += 1e-3) {
        double rel = fabs((double)exp_approx((float)y) / exp((double)(float)y) - 1.0);
        if (rel > worst_rel)
            worst_rel = rel;
    }
    ck_assert_double_lt(worst_rel, 1e-6);
    /* below -87 it is clamped, not 0: every input there gives exp(-87) */
    ck_assert_float_eq(exp_approx(-1000.0f), exp_approx(EXP_UNDERFLOW));
    double floor_rel = fabs((double)exp_approx(-1000.0f) / exp((double)EXP_UNDERFLOW) - 1.0);
    ck_assert_double_lt(floor_rel, 1e-6);
}
END_TEST

START_TEST(test_gelu_known_values) {
    /* gelu(x) = x * Phi(x): Phi(0) = 1/2, Phi(1) = 0.841344746, Phi(-2) = 0.022750132 */
    const float x[3] = {0.0f, 1.0f, -2.0f};
    float out[3], fast[3];
    gelu_forward(out, x, 3);
    gelu_fast_forward(fast, x, 3);
    ck_assert_float_eq(out[0], 0.0f);
    ck_assert_float_eq_tol(out[1], 0.841344746f, 1e-6f);
    ck_assert_float_eq_tol(out[2], -2.0f * 0.022750132f, 1e-6f);
    ck_assert_float_le(max_abs_diff(out, fast, 3), 1e-6f);
    /* a NaN (from a corrupt checkpoint, say) passes through as a NaN, with
     * no undefined behaviour on the way (UBSan checks under test-asan) */
    const float nan_in[1] = {NAN};
    float nan_out[1], nan_grad[1] = {0.0f};
    gelu_fast_forward(nan_out, nan_in, 1);
    ck_assert_float_nan(nan_out[0]);
    gelu_fast_backward(nan_grad, nan_in, (const float[]){1.0f}, 1);
    ck_assert_float_nan(nan_grad[0]);
}
END_TEST

typedef struct {
    void (*forward)(float *, const float *, size_t);
    float *x, *out, *w;
    size_t n;
} act_ctx;

static double act_objective(void *p) {
    act_ctx *c = p;
    c->forward(c->out, c->x, c->n);
    return dot_double(c->out, c->w, c->n);
}

START_TEST(test_gelu_gradients) {
    /* both versions' backward against finite differences of their forward */
    enum { N = 300 };
    rng r;
    rng_seed(&r, 12);
    float x[N], out[N], w[N], dx[N];
    fill_normal(x, N, 2.0f, &r);
    fill_normal(w, N, 1.0f, &r);
    void (*fwd[2])(float *, const float *, size_t) = {gelu_forward, gelu_fast_forward};
    void (*bwd[2])(float *, const float *, const float *, size_t) = {gelu_backward,
                                                                      gelu_fast_backward};
    for (int k = 0; k < 2; k++) {
        memset(dx, 0, sizeof dx);
        bwd[k](dx, x, w, N);
        act_ctx c = {fwd[k], x, out, w, N};
        ck_assert_double_lt(grad_check_elements(act_objective, &c, x, dx, N, N, 1e-2f), GRAD_TOL);
    }
    /* and the two backwards agree closely with each other */
    float dx_ref[N] = {0}, dx_fast[N] = {0};
    gelu_backward(dx_ref, x, w, N);
    gelu_fast_backward(dx_fast, x, w, N);
    ck_assert_float_le(max_abs_diff(dx_ref, dx_fast, N), 2e-6f);
}
END_TEST

/* ------------------------------------------------------------ fast kernels */

START_TEST(test_fast_linear_equals_reference) {
    /* cpu-small's attention input shape, plus a bias, rows not divisible by
     * the task count */
    enum { N = 770, C = 128, OC = 384 };
    rng r;
    rng_seed(&r, 21);
    float *inp = malloc(N * C * sizeof(float)), *w = malloc(OC * C * sizeof(float));
    float *bias = malloc(OC * sizeof(float)), *dout = malloc(N * OC * sizeof(float));
    float *out[2], *dinp[2], *dw[2], *db[2];
    fill_normal(inp, N * C, 1.0f, &r);
    fill_normal(w, OC * C, 0.1f, &r);
    fill_normal(bias, OC, 0.1f, &r);
    fill_normal(dout, N * OC, 1.0f, &r);
    for (int k = 0; k < 2; k++) {
        out[k] = malloc(N * OC * sizeof(float));
        dinp[k] = calloc(N * C, sizeof(float));
        dw[k] = calloc(OC * C, sizeof(float));
        db[k] = calloc(OC, sizeof(float));
    }
    linear_forward(out[0], inp, w, bias, N, C, OC);
    linear_backward(dinp[0], dw[0], db[0], dout, inp, w, N, C, OC);
    linear_fast_forward(out[1], inp, w, bias, N, C, OC);
    linear_fast_backward(dinp[1], dw[1], db[1], dout, inp, w, N, C, OC);
    ck_assert_float_lt(rel_diff(out[0], out[1], N * OC), 1e-5f);
    ck_assert_float_lt(rel_diff(dinp[0], dinp[1], N * C), 1e-5f);
    ck_assert_float_lt(rel_diff(dw[0], dw[1], OC * C), 1e-5f);
    ck_assert_float_lt(rel_diff(db[0], db[1], OC), 1e-5f);
    for (int k = 0; k < 2; k++) {
        free(out[k]);
        free(dinp[k]);
        free(dw[k]);
        free(db[k]);
    }
    free(inp);
    free(w);
    free(bias);
    free(dout);
}
END_TEST

/* Runs the four attention steps with either the reference or the fast
 * kernels: forward, then backward from dout; returns out, dqkv. */
static void attention_pass(bool fast, const float *qkv, const float *dout, float *att,
                           float *datt, float *out, float *dqkv, int B, int T, int C, int NH) {
    size_t n_att = (size_t)B * NH * T * T;
    memset(datt, 0, n_att * sizeof *datt);
    memset(dqkv, 0, (size_t)B * T * 3 * C * sizeof *dqkv);
    if (fast) {
        attention_fast_scores_forward(att, qkv, B, T, C, NH);
        attention_fast_mix_forward(out, att, qkv, B, T, C, NH);
        attention_fast_mix_backward(datt, dqkv, dout, att, qkv, B, T, C, NH);
        attention_fast_scores_backward(dqkv, datt, att, qkv, B, T, C, NH);
    } else {
        multihead_scores_forward(att, qkv, B, T, C, NH);
        multihead_mix_forward(out, att, qkv, B, T, C, NH);
        multihead_mix_backward(datt, dqkv, dout, att, qkv, B, T, C, NH);
        multihead_scores_backward(dqkv, datt, att, qkv, B, T, C, NH);
    }
}

START_TEST(test_fast_attention_equals_reference) {
    enum { B = 3, T = 17, C = 24, NH = 4 };
    rng r;
    rng_seed(&r, 22);
    size_t n_qkv = (size_t)B * T * 3 * C, n_out = (size_t)B * T * C, n_att = (size_t)B * NH * T * T;
    float *qkv = malloc(n_qkv * sizeof(float)), *dout = malloc(n_out * sizeof(float));
    float *att[2], *datt[2], *out[2], *dqkv[2];
    fill_normal(qkv, n_qkv, 1.0f, &r);
    fill_normal(dout, n_out, 1.0f, &r);
    for (int k = 0; k < 2; k++) {
        att[k] = malloc(n_att * sizeof(float));
        datt[k] = malloc(n_att * sizeof(float));
        out[k] = malloc(n_out * sizeof(float));
        dqkv[k] = malloc(n_qkv * sizeof(float));
        attention_pass(k == 1, qkv, dout, att[k], datt[k], out[k], dqkv[k], B, T, C, NH);
    }
    ck_assert_float_lt(rel_diff(att[0], att[1], n_att), 1e-5f);
    ck_assert_float_lt(rel_diff(out[0], out[1], n_out), 1e-5f);
    ck_assert_float_lt(rel_diff(dqkv[0], dqkv[1], n_qkv), 1e-5f);
    /* the fast path keeps causality exact: no weight on the future */
    for (int bh = 0; bh < B * NH; bh++)
        for (int t = 0; t < T; t++)
            for (int s = t + 1; s < T; s++)
                ck_assert_float_eq(att[1][(size_t)bh * T * T + t * T + s], 0.0f);
    for (int k = 0; k < 2; k++) {
        free(att[k]);
        free(datt[k]);
        free(out[k]);
        free(dqkv[k]);
    }
    free(qkv);
    free(dout);
}
END_TEST

START_TEST(test_attention_passes_nan_on) {
    /* a NaN in a query or a key (from a corrupt weight, an overflow) must
     * reach the loss, which then stops training: the softmax must not turn
     * it into ordinary weights (its fast exp clamps a NaN) */
    enum { B = 1, T = 4, C = 8, NH = 2, ROW = 3 * C };
    float qkv[B * T * ROW], att[B * NH * T * T];
    for (int i = 0; i < B * T * ROW; i++)
        qkv[i] = 0.1f * (float)(i % 7);
    qkv[2 * ROW] = NAN;         /* the query of position 2, head 0 */
    qkv[1 * ROW + C + 5] = NAN; /* the key of position 1, head 1 */
    attention_fast_scores_forward(att, qkv, B, T, C, NH);
    const float *head0 = att, *head1 = att + T * T;
    ck_assert_float_finite(head0[1 * T + 1]);
    for (int s = 0; s <= 2; s++)
        ck_assert_float_nan(head0[2 * T + s]);
    ck_assert_float_finite(head1[0]);  /* position 0 cannot see key 1 */
    ck_assert_float_nan(head1[1 * T]); /* every later one can */
    ck_assert_float_nan(head1[3 * T + 3]);
}
END_TEST

/* ------------------------------------------------------------ the model */

/* A tiny, deliberately non-square GPT: V 7, C 12, 3 heads, 2 layers, block 5. */
static const gpt_config TINY = {2, 3, 12, 5, 7, 0.0f};

/* The finite-difference step of the model's gradient checks. */
#define EPS 1e-2f

static gpt *make_model(const gpt_config *c, int max_B, const gpt_kernels *k, uint64_t seed) {
    rng init, drop;
    rng_seed_stream(&init, seed, STREAM_INIT);
    rng_seed_stream(&drop, seed, STREAM_DROPOUT);
    error e = {{0}};
    gpt *m = gpt_create(c, max_B, &init, &drop, k, &e);
    ck_assert_msg(m != NULL, "gpt_create: %s", e.msg);
    return m;
}

/* A GPT and a random batch, as the shared model checks (modelutil.h) see
 * them. */
typedef struct {
    gpt *m;
    int *x, *y; /* (B,T) */
    model_ctx ctx;
} fixture;

static void fixture_init(fixture *f, const gpt_config *c, const gpt_kernels *k, int B, int T,
                         uint64_t seed) {
    f->m = make_model(c, B, k, seed);
    f->x = malloc((size_t)B * T * sizeof *f->x);
    f->y = malloc((size_t)B * T * sizeof *f->y);
    rng r;
    rng_seed(&r, seed);
    random_batch(f->x, f->y, (size_t)B * T, c->vocab_size, &r);
    f->ctx = (model_ctx){gpt_language_model(f->m), gpt_losses(f->m), f->x, f->y, B, T, NULL};
}

static void fixture_free(fixture *f) {
    gpt_free(f->m);
    free(f->x);
    free(f->y);
}

/* The tiny GPT (config c) with spread weights, on a batch of 2 x 5. */
static void tiny_fixture(fixture *f, const gpt_config *c, const gpt_kernels *k, uint64_t seed) {
    fixture_init(f, c, k, 2, 5, seed);
    rng r;
    rng_seed(&r, seed + 1);
    spread_weights(gpt_params_table(f->m), gpt_params(f->m), &r);
}

START_TEST(test_gpt_gradient_every_tensor) {
    fixture f;
    tiny_fixture(&f, &TINY, &GPT_REFERENCE, 3);
    assert_model_gradients(&f.ctx, 40, 3, EPS);
    /* negative controls: a sign flipped and two elements swapped in one
     * tensor's gradient, and the tied weight's gradient with its
     * embedding half missing (halved), must all fail */
    assert_checker_catches_errors(&f.ctx, "transformer.h.1.mlp.c_fc.weight", EPS);
    const tensor_info *wte = param_table_find(gpt_params_table(f.m), "transformer.wte.weight");
    float *halved = malloc(wte->size * sizeof *halved);
    fill_gradients(&f.ctx);
    for (size_t j = 0; j < wte->size; j++)
        halved[j] = 0.5f * gpt_grads(f.m)[wte->offset + j];
    rng r;
    rng_seed(&r, 31);
    float *wte_params = gpt_params(f.m) + wte->offset;
    ck_assert_double_gt(grad_check_directions(model_objective, &f.ctx, wte_params, halved,
                                              wte->size, 3, EPS, &r),
                        GRAD_TOL);
    free(halved);
    fixture_free(&f);
}
END_TEST

START_TEST(test_gpt_gradient_with_dropout) {
    /* dropout on at every site (embeddings, attention weights, both
     * residual branches), through both sets of kernels: the backward must
     * send each gradient through the elements its forward kept */
    gpt_config c = TINY;
    c.dropout = 0.2f;
    const gpt_kernels *kernels[2] = {&GPT_REFERENCE, &GPT_FAST};
    for (int k = 0; k < 2; k++) {
        fixture f;
        tiny_fixture(&f, &c, kernels[k], 4);
        assert_dropout_gradients(&f.ctx, gpt_dropout_rng(f.m), 40, 3, EPS);
        fixture_free(&f);
    }
}
END_TEST

START_TEST(test_fast_model_equals_reference) {
    /* the same weights through chapters 02-04's loops and through the fast
     * kernels: same loss, same gradients (to float rounding). A width of 40
     * is two full blocks of the fast layernorm's 16 columns and a partial
     * one of 8, so its edge case is compared too. */
    gpt_config c = {2, 4, 40, 16, 11, 0.0f};
    enum { B = 3, T = 16 };
    fixture ref, fast;
    fixture_init(&ref, &c, &GPT_REFERENCE, B, T, 5);
    fixture_init(&fast, &c, &GPT_FAST, B, T, 5);
    size_t n = gpt_params_table(ref.m)->total;
    ck_assert_int_eq(memcmp(gpt_params(ref.m), gpt_params(fast.m), n * sizeof(float)), 0);
    float l_ref = fill_gradients(&ref.ctx), l_fast = fill_gradients(&fast.ctx);
    ck_assert_float_eq_tol(l_ref, l_fast, 1e-5f);
    ck_assert_float_lt(rel_diff(gpt_grads(ref.m), gpt_grads(fast.m), n), 1e-4f);
    ck_assert_float_lt(
        rel_diff(gpt_logits(ref.m), gpt_logits(fast.m), (size_t)B * T * c.vocab_size), 1e-5f);
    fixture_free(&ref);
    fixture_free(&fast);
}
END_TEST

/* cpu-small's batch, where every loop of a step splits across threads. A
 * slow runner (TEST_SCALE=small) shrinks it, but to no fewer than 2 rows:
 * there the loops with the most work per row still split (GELU: 2 x 64 x
 * 512 elements, c_attn, c_fc, mlp.c_proj), while layernorm, the residual
 * adds and attention, which split from 8, 8 and 4 rows, run on one. */
#define CPU_SMALL_BATCH 12
#define MIN_PARALLEL_BATCH 2

START_TEST(test_thread_count_does_not_change_results) {
    /* the fast kernels at cpu-small's shape */
    gpt_config c = {4, 4, 128, 64, 65, 0.0f};
    int B = (int)test_scaled(CPU_SMALL_BATCH);
    if (B < MIN_PARALLEL_BATCH)
        B = MIN_PARALLEL_BATCH;
    fixture f;
    fixture_init(&f, &c, &GPT_FAST, B, c.block_size, 1337);
    assert_same_for_1_and_2_threads(&f.ctx);
    fixture_free(&f);
}
END_TEST

START_TEST(test_untrained_loss_near_ln_vocab) {
    /* N(0, 0.02) weights give nearly uniform predictions: loss ~ ln(V) */
    gpt_config c = {2, 2, 16, 8, 65, 0.0f};
    gpt *m = make_model(&c, 4, &GPT_FAST, 9);
    rng r;
    rng_seed(&r, 10);
    int x[32], y[32];
    random_tokens(x, 32, 65, &r);
    random_tokens(y, 32, 65, &r);
    ck_assert_float_eq_tol(gpt_forward(m, x, y, 4, 8), logf(65.0f), 0.05f);
    gpt_free(m);
}
END_TEST

/* GPT-2's initialisation, tensor by tensor: layernorm gains 1; the two
 * projections into the residual stream (c_proj) N(0, 0.02 / sqrt(2L));
 * every other matrix N(0, 0.02). Sample mean and std of thousands of
 * draws: within 10% of the std (the estimate's own error is ~2%). */
START_TEST(test_initialisation_is_gpt2s) {
    gpt_config c = {4, 2, 64, 16, 65, 0.0f};
    gpt *m = make_model(&c, 1, &GPT_FAST, 21);
    const param_table *pt = gpt_params_table(m);
    const float *params = gpt_params(m);
    int checked = 0;
    for (int i = 0; i < pt->n_tensors; i++) {
        const tensor_info *t = &pt->tensors[i];
        const float *x = params + t->offset;
        if (t->ndim == 1) { /* the layernorms' gains: this GPT has no biases */
            ck_assert_msg(strstr(t->name, "ln_"), "%s: a vector that is not a gain", t->name);
            for (size_t j = 0; j < t->size; j++)
                ck_assert_float_eq(x[j], 1.0f);
        } else {
            double sum = 0.0, sumsq = 0.0;
            for (size_t j = 0; j < t->size; j++)
                sum += x[j], sumsq += (double)x[j] * x[j];
            double mean = sum / t->size, std = sqrt(sumsq / t->size - mean * mean);
            double want = strstr(t->name, "c_proj.weight") ? 0.02 / sqrt(2.0 * c.n_layer) : 0.02;
            ck_assert_msg(fabs(std - want) < 0.1 * want && fabs(mean) < 0.1 * want,
                          "%s: mean %g, std %g; expected 0 and %g", t->name, mean, std, want);
        }
        checked++;
    }
    ck_assert_int_eq(checked, 2 + 6 * c.n_layer + 1); /* wte, wpe; per block; ln_f */
    gpt_free(m);
}
END_TEST

/* ------------------------------------------------------------ causality */

START_TEST(test_gpt_is_causal) {
    /* every position, both ways: the future never reaches it, the past does */
    fixture f;
    tiny_fixture(&f, &TINY, &GPT_FAST, 12);
    rng r;
    rng_seed(&r, 13);
    assert_causal(&f.ctx.lm, TINY.vocab_size, f.ctx.B, f.ctx.T, &r);
    fixture_free(&f);
}
END_TEST

/* ------------------------------------------------------------ interop */

START_TEST(test_pytorch_logits_reproduced) {
    /* tests/make_interop_fixture.py built a tiny GPT in PyTorch, saved its
     * weights with nanoGPT's names and its logits on fixed tokens */
    safetensors model_file, logits_file;
    gpt_config c;
    tokenizer tok;
    error e = {{0}};
    ck_assert_msg(gpt_open(&model_file, &c, &tok, TEST_DATA_DIR "/interop_model.safetensors",
                           &e) == 0,
                  "%s", e.msg);
    ck_assert_int_eq(c.n_layer, 2);
    ck_assert_int_eq(c.n_head, 3);
    ck_assert_int_eq(c.vocab_size, 7);
    ck_assert_int_eq(tokenizer_id(&tok, 0xE9), 6); /* the vocabulary came through: 'é' */
    ck_assert_int_eq(safetensors_load(&logits_file, TEST_DATA_DIR "/interop_logits.safetensors",
                                      &e),
                     0);
    const st_tensor *tt = safetensors_find(&logits_file, "tokens");
    ck_assert_ptr_nonnull(tt);
    int B = (int)tt->shape[0], T = (int)tt->shape[1], V = c.vocab_size;
    float *tokens_f = malloc((size_t)B * T * sizeof(float));
    float *expected = malloc((size_t)B * T * V * sizeof(float));
    ck_assert_int_eq(safetensors_read_f32(&logits_file, "tokens", tokens_f, 2,
                                          (size_t[]){(size_t)B, (size_t)T}, &e),
                     0);
    ck_assert_int_eq(safetensors_read_f32(&logits_file, "logits", expected, 3,
                                          (size_t[]){(size_t)B, (size_t)T, (size_t)V}, &e),
                     0);
    int *x = malloc((size_t)B * T * sizeof(int));
    for (int i = 0; i < B * T; i++)
        x[i] = (int)tokens_f[i];
    const gpt_kernels *kernels[2] = {&GPT_REFERENCE, &GPT_FAST};
    for (int k = 0; k < 2; k++) {
        gpt *m = make_model(&c, B, kernels[k], 1);
        ck_assert_msg(gpt_load_weights(&model_file, m, &e) == 0, "%s", e.msg);
        gpt_set_training(m, false);
        gpt_forward(m, x, NULL, B, T);
        ck_assert_float_lt(max_abs_diff(gpt_logits(m), expected, (size_t)B * T * V), 1e-4f);
        gpt_free(m);
    }
    free(x);
    free(tokens_f);
    free(expected);
    tokenizer_free(&tok);
    safetensors_free(&model_file);
    safetensors_free(&logits_file);
}
END_TEST

/* ------------------------------------------------------------ checkpoints */

static tokenizer tiny_vocab(void) {
    tokenizer tok;
    error e;
    const char *chars = "\n abcd\xC3\xA9"; /* 7 characters, 8 bytes */
    ck_assert_int_eq(tokenizer_build(&tok, chars, strlen(chars), &e), 0);
    ck_assert_int_eq(tok.vocab_size, 7);
    return tok;
}

/* Saves m with the tiny vocabulary (no training state) as `name` in a
 * fresh directory; returns the path (static storage). */
static const char *save_tiny(gpt *m, const char *name) {
    static char path[600];
    snprintf(path, sizeof path, "%s/%s", test_tmpdir(), name);
    tokenizer tok = tiny_vocab();
    error e = {{0}};
    options o = {0};
    ck_assert_msg(gpt_save(path, m, &tok, NULL, &o, &e) == 0, "%s", e.msg);
    tokenizer_free(&tok);
    return path;
}

START_TEST(test_checkpoint_round_trip_logits) {
    enum { B = 2, T = 5 };
    gpt *m = make_model(&TINY, B, &GPT_FAST, 14);
    rng r;
    rng_seed(&r, 15);
    spread_weights(gpt_params_table(m), gpt_params(m), &r);
    tokenizer tok = tiny_vocab();
    const char *path = save_tiny(m, "best.safetensors");
    error e = {{0}};
    int x[B * T];
    random_tokens(x, B * T, 7, &r);
    gpt_forward(m, x, NULL, B, T);
    float expected[B * T * 7];
    memcpy(expected, gpt_logits(m), sizeof expected);

    safetensors f;
    gpt_config c;
    tokenizer tok2;
    ck_assert_msg(gpt_open(&f, &c, &tok2, path, &e) == 0, "%s", e.msg);
    ck_assert_int_eq(memcmp(&c, &TINY, offsetof(gpt_config, dropout)), 0);
    ck_assert_int_eq(memcmp(tok.chars, tok2.chars, 7 * sizeof(uint32_t)), 0);
    /* plain safetensors: nanoGPT's names and [out, in] shapes */
    const st_tensor *t = safetensors_find(&f, "transformer.h.1.attn.c_attn.weight");
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->ndim, 2);
    ck_assert_uint_eq(t->shape[0], 36);
    ck_assert_uint_eq(t->shape[1], 12);
    ck_assert_str_eq(t->dtype, "F32");
    ck_assert_ptr_nonnull(safetensors_find(&f, "transformer.h.0.mlp.c_fc.weight"));
    ck_assert_ptr_nonnull(safetensors_find(&f, "transformer.ln_f.weight"));
    ck_assert_ptr_null(safetensors_find(&f, "lm_head.weight")); /* tied: stored once */
    ck_assert_str_eq(safetensors_meta(&f, "n_embd"), "12");
    gpt *m2 = make_model(&c, B, &GPT_FAST, 99); /* different init, then loaded */
    ck_assert_int_eq(gpt_load_weights(&f, m2, &e), 0);
    gpt_forward(m2, x, NULL, B, T);
    ck_assert_int_eq(memcmp(gpt_logits(m2), expected, sizeof expected), 0);
    safetensors_free(&f);
    tokenizer_free(&tok2);
    tokenizer_free(&tok);
    gpt_free(m2);
    gpt_free(m);
}
END_TEST

/* Saves a model of config `saved` (with the tiny vocabulary) and expects
 * gpt_open + gpt_load_weights into a model of config `into` to fail with
 * `message`. */
static void expect_bad_checkpoint(const gpt_config *saved, const gpt_config *into,
                                  const char *message) {
    gpt *m = make_model(saved, 1, &GPT_FAST, 16);
    const char *path = save_tiny(m, "x.safetensors");
    error e = {{0}};
    safetensors f;
    gpt_config c;
    tokenizer tok2;
    int rc = gpt_open(&f, &c, &tok2, path, &e);
    if (rc == 0) {
        gpt *target = make_model(into, 1, &GPT_FAST, 17);
        rc = gpt_load_weights(&f, target, &e);
        gpt_free(target);
        safetensors_free(&f);
        tokenizer_free(&tok2);
    }
    ck_assert_int_eq(rc, -1);
    ck_assert_msg(strstr(e.msg, message), "expected '%s' in '%s'", message, e.msg);
    gpt_free(m);
}

START_TEST(test_mismatched_checkpoints_rejected) {
    gpt_config wider = TINY, deeper = TINY;
    wider.n_embd = 24;
    deeper.n_layer = 1;
    expect_bad_checkpoint(&TINY, &wider, "has shape [7, 12], expected [7, 24]");
    expect_bad_checkpoint(&TINY, &deeper, "unexpected tensor 'transformer.h.1.");
}
END_TEST

/* Saves the tiny model, replaces `from` by `to` (of the same length) in
 * its header, and expects gpt_open itself to fail with `message`: the
 * config is checked against the tensors before a model of it is built. */
static void expect_open_error(const char *from, const char *to, const char *message) {
    ck_assert_uint_eq(strlen(from), strlen(to));
    gpt *m = make_model(&TINY, 1, &GPT_FAST, 16);
    const char *path = save_tiny(m, "x.safetensors");
    gpt_free(m);
    char *bytes;
    size_t len;
    error e = {{0}};
    ck_assert_int_eq(read_file(path, &bytes, &len, &e), 0);
    char *at = strstr(bytes + 8, from); /* the JSON header: no NUL before its end */
    ck_assert_ptr_nonnull(at);
    memcpy(at, to, strlen(to));
    FILE *f = fopen(path, "wb");
    ck_assert(f && fwrite(bytes, 1, len, f) == len && fclose(f) == 0);
    free(bytes);
    safetensors st;
    gpt_config c;
    tokenizer tok;
    ck_assert_int_eq(gpt_open(&st, &c, &tok, path, &e), -1);
    ck_assert_msg(strstr(e.msg, message), "expected '%s' in '%s'", message, e.msg);
}

START_TEST(test_config_checked_against_tensors) {
    /* a config that claims more than the tensors hold (in a real attack:
     * n_layer 60000, n_embd 65536) must not get as far as a model of it */
    expect_open_error("\"n_embd\":\"12\"", "\"n_embd\":\"96\"",
                      "does not match its tensors: tensor 'transformer.wte.weight' has shape "
                      "[7, 12], expected [7, 96]");
    expect_open_error("\"n_layer\":\"2\"", "\"n_layer\":\"3\"",
                      "tensor 'transformer.h.2.ln_1.weight' is missing");
    expect_open_error("\"n_layer\":\"2\"", "\"n_layer\":\"1\"",
                      "unexpected tensor 'transformer.h.1.");
    expect_open_error("\"block_size\":\"5\"", "\"block_size\":\"9\"",
                      "'transformer.wpe.weight' has shape [5, 12], expected [9, 12]");
    expect_open_error("\"transformer.wte.weight\":{\"dtype\":\"F32\"",
                      "\"transformer.wte.weight\":{\"dtype\":\"I32\"",
                      "tensor 'transformer.wte.weight' has dtype I32, expected F32");
}
END_TEST

START_TEST(test_resume_is_bit_identical) {
    /* 40 steps straight vs 20 + save last + load into a fresh model + 20,
     * with dropout on (so the dropout stream must resume too) */
    gpt_config c = {2, 2, 16, 8, 0, 0.1f};
    char text[3000];
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = "ab cd\nefg hij"[(i * 7 + i / 13) % 13];
    dataset ds;
    error e = {{0}};
    ck_assert_int_eq(dataset_from_text(&ds, text, sizeof text, NULL, &e), 0);
    c.vocab_size = ds.tok.vocab_size;
    train_config tc = {.iters = 40, .batch = 4, .block = 8, .eval_interval = 10,
                       .eval_iters = 2, .adamw = ADAMW_NANOGPT, .decay = DECAY_2D_ONLY,
                       .schedule = {1e-2f, 1e-3f, 5, 40}, .grad_clip = 1.0f};
    FILE *saved_stdout = stdout;
    stdout = fopen("/dev/null", "w");
    enum { MAX_PARAMS = 20000 };
    static float final_params[3][MAX_PARAMS];
    size_t n = 0;
    const char *dir = test_tmpdir();
    char path[600];
    snprintf(path, sizeof path, "%s/last.safetensors", dir);
    options o = {.batch = 4, .lr = 1e-2, .min_lr = 1e-3, .warmup = 5, .iters = 40,
                 .dropout = 0.1, .eval_interval = 10, .eval_iters = 2, .seed = 5};
    for (int run = 0; run < 3; run++) {
        gpt *m = make_model(&c, 4, &GPT_FAST, 5);
        language_model lm = gpt_language_model(m);
        train_state st;
        ck_assert_int_eq(train_state_init(&st, gpt_params_table(m)->total, 5, &e), 0);
        train_result res;
        if (run > 0) { /* 20 steps, save, and continue in a brand-new model */
            tc.iters = 20;
            ck_assert_int_eq(train_run(&lm, &ds, &tc, &st, &res, &e), TRAIN_DONE);
            ck_assert_int_eq(gpt_save(path, m, &ds.tok, &st, &o, &e), 0);
            gpt_free(m);
            train_state_free(&st);
            m = make_model(&c, 4, &GPT_FAST, 777); /* different init: all must come from the file */
            lm = gpt_language_model(m);
            ck_assert_int_eq(train_state_init(&st, gpt_params_table(m)->total, 777, &e), 0);
            safetensors f;
            gpt_config fc;
            tokenizer ft;
            ck_assert_int_eq(gpt_open(&f, &fc, &ft, path, &e), 0);
            ck_assert_int_eq(gpt_load_weights(&f, m, &e), 0);
            ck_assert_int_eq(gpt_load_state(&f, m, &st, &e), 0);
            ck_assert_int_eq(st.step, 20); /* resumes where it stopped */
            safetensors_free(&f);
            tokenizer_free(&ft);
            if (run == 2) /* control: alter the stored AdamW moments slightly */
                for (size_t i = 0; i < gpt_params_table(m)->total; i++)
                    st.m[i] *= 1.01f;
            tc.iters = 40;
        }
        ck_assert_int_eq(train_run(&lm, &ds, &tc, &st, &res, &e), TRAIN_DONE);
        n = gpt_params_table(m)->total;
        ck_assert_uint_le(n, MAX_PARAMS);
        memcpy(final_params[run], gpt_params(m), n * sizeof(float));
        train_state_free(&st);
        gpt_free(m);
    }
    fclose(stdout);
    stdout = saved_stdout;
    ck_assert_int_eq(memcmp(final_params[0], final_params[1], n * sizeof(float)), 0);
    ck_assert_int_ne(memcmp(final_params[0], final_params[2], n * sizeof(float)), 0);
    dataset_free(&ds);
}
END_TEST

/* ------------------------------------------------------------ sampling */

START_TEST(test_sampling_reproducible) {
    gpt *m = make_model(&TINY, 1, &GPT_FAST, 18);
    rng r;
    rng_seed(&r, 19);
    spread_weights(gpt_params_table(m), gpt_params(m), &r);
    tokenizer tok = tiny_vocab();
    language_model lm = gpt_language_model(m);
    char out[3][256] = {{0}};
    int prompt[9] = {1, 2, 3, 4, 5, 6, 1, 2, 3}; /* longer than the block of 5: cropped */
    sampler_config sc = {0.8f, 3};
    error e;
    for (int run = 0; run < 3; run++) {
        FILE *f = fmemopen(out[run], sizeof out[run], "w");
        rng sr;
        rng_seed(&sr, run < 2 ? 20 : 21);
        ck_assert_int_eq(generate(&lm, &tok, prompt, 9, 60, &sc, &sr, f, &e), 0);
        fclose(f);
    }
    ck_assert_str_eq(out[0], out[1]);   /* same seed, same text */
    ck_assert_str_ne(out[0], out[2]);   /* another seed, other text */
    tokenizer_free(&tok);
    gpt_free(m);
}
END_TEST

static Suite *gpt_suite(void) {
    Suite *s = suite_create("05-gpt");
    TCase *tc = tcase_create("gelu");
    tcase_add_test(tc, test_erf_approx_accuracy);
    tcase_add_test(tc, test_gelu_known_values);
    tcase_add_test(tc, test_gelu_gradients);
    suite_add_tcase(s, tc);

    tc = tcase_create("fast kernels");
    tcase_add_test(tc, test_fast_linear_equals_reference);
    tcase_add_test(tc, test_fast_attention_equals_reference);
    tcase_add_test(tc, test_attention_passes_nan_on);
    tcase_add_test(tc, test_fast_model_equals_reference);
    tcase_add_test(tc, test_thread_count_does_not_change_results);
    suite_add_tcase(s, tc);

    tc = tcase_create("model");
    tcase_add_test(tc, test_gpt_gradient_every_tensor);
    tcase_add_test(tc, test_gpt_gradient_with_dropout);
    tcase_add_test(tc, test_untrained_loss_near_ln_vocab);
    tcase_add_test(tc, test_initialisation_is_gpt2s);
    tcase_add_test(tc, test_gpt_is_causal);
    tcase_add_test(tc, test_pytorch_logits_reproduced);
    suite_add_tcase(s, tc);

    tc = tcase_create("checkpoints");
    tcase_add_test(tc, test_checkpoint_round_trip_logits);
    tcase_add_test(tc, test_mismatched_checkpoints_rejected);
    tcase_add_test(tc, test_config_checked_against_tensors);
    tcase_add_test(tc, test_resume_is_bit_identical);
    tcase_add_test(tc, test_sampling_reproducible);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(gpt_suite()); }
