/*
 * test_05_gpt.c - claims about chapter 05: GELU and its fast erf are
 * right; the fast kernels (BLAS, threaded) equal the readable loops of
 * chapters 02-04 and do not depend on the thread count; the whole GPT's
 * backward is its true gradient; it reproduces PyTorch's logits from a
 * committed safetensors file; checkpoints round-trip and resume bit for
 * bit; bad checkpoints are clear errors; sampling is reproducible.
 */
#include <check.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../02-self-attention/linear.h"
#include "../03-multihead/multihead.h"
#include "../05-gpt/fastops.h"
#include "../05-gpt/gelu.h"
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
    ck_assert_float_eq(exp_approx(-1000.0f) < 1e-37f, 1);
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

/* Relative difference of two arrays: max |a - b| / max |a|. */
static float rel_diff(const float *a, const float *b, size_t n) {
    float scale = 0.0f;
    for (size_t i = 0; i < n; i++)
        scale = fmaxf(scale, fabsf(a[i]));
    return max_abs_diff(a, b, n) / (scale > 0 ? scale : 1.0f);
}

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
