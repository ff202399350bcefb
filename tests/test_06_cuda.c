/*
 * test_06_cuda.c - claims about chapter 06: every CUDA kernel computes what
 * the CPU function it mirrors computes (the CPU code of chapters 01-05 is
 * linked in as the reference, never copied), and one whole training step on
 * the GPU gives the loss, gradients and update of 05-gpt's step.
 *
 * Tolerances: fp32 mode is compared tightly (rounding order differs:
 * ~1e-6 relative); tf32 rounds matmul inputs to 10 mantissa bits (~1e-3
 * relative, we allow 1e-2), bf16 to 7 bits (we allow 5e-2). Where the CPU
 * reference reads the same bf16-rounded inputs as the kernel (operand_input),
 * only the output's rounding differs (2^-9 relative): we allow 1e-2.
 *
 * Without a GPU the suite prints "SKIP: no CUDA device ..." and exits 77;
 * run-suites.sh then counts it as skipped, unless REQUIRE_GPU=1.
 * The runner does not fork (CK_NOFORK): a CUDA context does not survive
 * fork(), and run-suites.sh's `timeout` replaces Check's.
 */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../01-bigram/crossentropy.h"
#include "../01-bigram/embedding.h"
#include "../02-self-attention/linear.h"
#include "../02-self-attention/position.h"
#include "../03-multihead/multihead.h"
#include "../04-block/layernorm.h"
#include "../05-gpt/gelu.h"
#include "../05-gpt/gpt.h"
#include "../06-cuda/cuda_layers.h"
#include "../06-cuda/cuda_util.h"
#include "../06-cuda/gpt_cuda.h"
#include "../common/adamw.h"
#include "testutil.h"

#define SKIP_STATUS 77
#define FP32_TOL 1e-5f
#define TF32_TOL 1e-2f
#define BF16_TOL 5e-2f
#define BF16_ROUNDED_TOL 1e-2f

static rng R;

/* ------------------------------------------------------------ helpers */

/* A host array of n random floats (std scale) and its device copy. */
typedef struct {
    float *host, *dev;
    size_t n;
} pair;

static pair random_pair(size_t n, float scale) {
    pair p = {malloc(n * sizeof(float)), dev_alloc(n), n};
    fill_normal(p.host, n, scale, &R);
    dev_upload(p.dev, p.host, n);
    return p;
}

/* A device array poisoned with NaN, so an element no kernel wrote shows. */
static pair poisoned_pair(size_t n) {
    pair p = {malloc(n * sizeof(float)), dev_alloc(n), n};
    for (size_t i = 0; i < n; i++)
        p.host[i] = NAN;
    dev_upload(p.dev, p.host, n);
    return p;
}

static pair zero_pair(size_t n) {
    pair p = {calloc(n, sizeof(float)), dev_alloc(n), n};
    dev_zero(p.dev, n);
    return p;
}

/* Relative difference between the device array and a host reference. */
static float device_vs(const pair *p, const float *reference) {
    float *back = malloc(p->n * sizeof *back);
    dev_download(back, p->dev, p->n);
    float d = rel_diff(reference, back, p->n);
    free(back);
    return d;
}

static void free_pairs(pair *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        free(p[i].host);
        dev_free(p[i].dev);
    }
}

static int *device_ints(const int *x, size_t n) {
    int *d = dev_alloc_ints(n);
    dev_upload_ints(d, x, n);
    return d;
}

/* An operand copy of a pair's device floats (bf16 in bf16 mode). */
static operand *operand_of(const pair *p) {
    operand *o = dev_alloc_operand(p->n);
    operand_from_floats(o, p->dev, p->n);
    return o;
}

/* For an input: its operand copy, and the pair itself rounded to what that
 * copy holds (bf16 in bf16 mode; unchanged in fp32), so that a CPU
 * reference computed from the pair afterwards reads the GPU's inputs. */
static operand *operand_input(pair *p) {
    operand *o = operand_of(p);
    floats_from_operand(p->dev, o, p->n);
    dev_download(p->host, p->dev, p->n);
    return o;
}

/* Relative difference between n operands on the device and a host
 * reference. */
static float operand_vs(const operand *o, size_t n, const float *reference) {
    pair back = {NULL, dev_alloc(n), n};
    floats_from_operand(back.dev, o, n);
    float d = device_vs(&back, reference);
    dev_free(back.dev);
    return d;
}

static float tolerance(precision p) {
    return p == PRECISION_FP32 ? FP32_TOL : p == PRECISION_TF32 ? TF32_TOL : BF16_TOL;
}

/* The same, for kernels whose reference reads their rounded inputs (or
 * whose inputs are float) and that round only what they write: no matmul,
 * so tf32 does not apply. */
static float rounded_tolerance(precision p) {
    return p == PRECISION_BF16 ? BF16_ROUNDED_TOL : FP32_TOL;
}

/* ------------------------------------------------------------ matmul */

START_TEST(test_linear_matches_cpu) {
    /* loop index _i: 0 fp32, 1 tf32, 2 bf16 */
    precision prec = (precision)_i;
    cuda_set_precision(prec);
    enum { N = 96, C = 40, OC = 72 };
    pair inp = random_pair(N * C, 1.0f), w = random_pair(OC * C, 0.3f);
    pair dout = random_pair(N * OC, 1.0f), out = poisoned_pair(N * OC);
    pair dinp = poisoned_pair(N * C), dw = random_pair(OC * C, 0.1f);
    float *ref_dw = malloc(OC * C * sizeof(float));
    memcpy(ref_dw, dw.host, OC * C * sizeof(float)); /* dw accumulates on both */
    float *ref_dinp = calloc(N * C, sizeof(float));
    linear_forward(out.host, inp.host, w.host, NULL, N, C, OC);
    linear_backward(ref_dinp, ref_dw, NULL, dout.host, inp.host, w.host, N, C, OC);
    operand *inp_op = operand_of(&inp), *w_op = operand_of(&w), *dout_op = operand_of(&dout);
    operand *out_op = operand_of(&out), *dinp_op = operand_of(&dinp); /* poisoned */
    linear_forward_cuda(out_op, inp_op, w_op, N, C, OC);
    linear_forward_float_cuda(out.dev, inp_op, w_op, N, C, OC);
    linear_backward_cuda(dinp_op, dw.dev, dout_op, inp_op, w_op, N, C, OC);
    float tol = tolerance(prec);
    ck_assert_float_lt(operand_vs(out_op, N * OC, out.host), tol);
    ck_assert_float_lt(device_vs(&out, out.host), tol);
    ck_assert_float_lt(operand_vs(dinp_op, N * C, ref_dinp), tol);
    ck_assert_float_lt(device_vs(&dw, ref_dw), tol);
    operand *ops[] = {inp_op, w_op, dout_op, out_op, dinp_op};
    for (int i = 0; i < 5; i++)
        dev_free(ops[i]);
    free(ref_dw);
    free(ref_dinp);
    pair all[] = {inp, w, dout, out, dinp, dw};
    free_pairs(all, sizeof all / sizeof all[0]);
}
END_TEST

/* ------------------------------------------------------------ layernorm */

/* Widths that reach each of the backward kernel's instances (1, 2, 3, 4 and
 * 8 chunks of 4 columns per lane), one that is not a multiple of 4
 * (element-by-element loads), and one whose backward needs more than the
 * default 48 KB of shared memory (1000: 64 KB). */
static const int LAYERNORM_WIDTHS[] = {37, 48, 200, 384, 500, 600, 1000};
#define N_LAYERNORM_WIDTHS ((int)(sizeof LAYERNORM_WIDTHS / sizeof LAYERNORM_WIDTHS[0]))

/* loop index _i: every width with fp32 operands, then every width with
 * bf16 ones (out and dout; the residual stream, the statistics and the
 * gradients stay float); every other one with a bias (the GPT's layernorms
 * have none, chapter 04's API does) */
START_TEST(test_layernorm_matches_cpu) {
    enum { N = 70 };
    const int C = LAYERNORM_WIDTHS[_i % N_LAYERNORM_WIDTHS];
    precision prec = _i < N_LAYERNORM_WIDTHS ? PRECISION_FP32 : PRECISION_BF16;
    bool bias = _i % 2 == 1;
    cuda_set_precision(prec);
    pair inp = random_pair(N * C, 2.0f), w = random_pair(C, 1.0f), dout = random_pair(N * C, 1.0f);
    pair b = random_pair(C, 1.0f);
    pair out = poisoned_pair(N * C), mean = poisoned_pair(N), rstd = poisoned_pair(N);
    /* the gradients accumulate */
    pair dinp = random_pair(N * C, 0.1f), dw = random_pair(C, 0.1f), db = random_pair(C, 0.1f);
    float *ref_dinp = malloc(N * C * sizeof(float)), *ref_dw = malloc(C * sizeof(float)),
          *ref_db = malloc(C * sizeof(float));
    memcpy(ref_dinp, dinp.host, N * C * sizeof(float));
    memcpy(ref_dw, dw.host, C * sizeof(float));
    memcpy(ref_db, db.host, C * sizeof(float));
    operand *out_op = operand_of(&out), *dout_op = operand_input(&dout); /* out: poisoned */
    layernorm_forward(out.host, mean.host, rstd.host, inp.host, w.host, bias ? b.host : NULL, N,
                      C);
    layernorm_backward(ref_dinp, ref_dw, bias ? ref_db : NULL, dout.host, inp.host, w.host,
                       mean.host, rstd.host, N, C);
    layernorm_forward_cuda(out_op, mean.dev, rstd.dev, inp.dev, w.dev, bias ? b.dev : NULL, N, C);
    layernorm_backward_cuda(dinp.dev, NULL, dinp.dev, dw.dev, bias ? db.dev : NULL, dout_op,
                            inp.dev, w.dev, mean.dev, rstd.dev, N, C, 0.0f, 0); /* dinp += */
    float tol = rounded_tolerance(prec);
    ck_assert_float_lt(operand_vs(out_op, N * C, out.host), tol);
    ck_assert_float_lt(device_vs(&mean, mean.host), FP32_TOL);
    ck_assert_float_lt(device_vs(&rstd, rstd.host), FP32_TOL);
    ck_assert_float_lt(device_vs(&dinp, ref_dinp), tol);
    ck_assert_float_lt(device_vs(&dw, ref_dw), tol);
    ck_assert_float_lt(device_vs(&db, ref_db), tol); /* untouched without a bias */
    dev_free(out_op);
    dev_free(dout_op);
    free(ref_dinp);
    free(ref_dw);
    free(ref_db);
    pair all[] = {inp, w, b, dout, out, mean, rstd, dinp, dw, db};
    free_pairs(all, sizeof all / sizeof all[0]);
}
END_TEST

/* The backward kernel's grid is only as large as the GPU holds at once
 * (an H100 or H200: at most 64 warps on each of 132 SMs, 8448 warps), so
 * with many rows each warp takes several, carrying its dw sums from row to
 * row, as in training (the full preset: 16384 rows of 384, ~6 per warp;
 * here at least 9). */
START_TEST(test_layernorm_backward_many_rows) {
    enum { N = 80000, C = 40 };
    const size_t n = (size_t)N * C;
    pair inp = random_pair(n, 2.0f), w = random_pair(C, 1.0f), dout = random_pair(n, 1.0f);
    pair mean = poisoned_pair(N), rstd = poisoned_pair(N), dinp = poisoned_pair(n);
    pair dw = zero_pair(C);
    float *out = malloc(n * sizeof(float)), *ref_dinp = calloc(n, sizeof(float));
    layernorm_forward(out, mean.host, rstd.host, inp.host, w.host, NULL, N, C);
    layernorm_backward(ref_dinp, dw.host, NULL, dout.host, inp.host, w.host, mean.host, rstd.host,
                       N, C);
    dev_upload(mean.dev, mean.host, N);
    dev_upload(rstd.dev, rstd.host, N);
    layernorm_backward_cuda(dinp.dev, NULL, NULL, dw.dev, NULL, dout.dev, inp.dev, w.dev,
                            mean.dev, rstd.dev, N, C, 0.0f, 0);
    ck_assert_float_lt(device_vs(&dinp, ref_dinp), FP32_TOL);
    /* 80000 rows summed in another order: float rounding grows with N */
    ck_assert_float_lt(device_vs(&dw, dw.host), 1e-4f);
    free(out);
    free(ref_dinp);
    pair all[] = {inp, w, dout, mean, rstd, dinp, dw};
    free_pairs(all, sizeof all / sizeof all[0]);
}
END_TEST

/* ------------------------------------------------------------ attention */

START_TEST(test_attention_matches_cpu) {
    precision prec = (precision)_i;
    cuda_set_precision(prec);
    enum { B = 3, T = 37, C = 24, NH = 3 };
    size_t n_qkv = (size_t)B * T * 3 * C, n_out = (size_t)B * T * C, n_att = (size_t)B * NH * T * T;
    pair qkv = random_pair(n_qkv, 1.0f), dout = random_pair(n_out, 1.0f);
    pair out = poisoned_pair(n_out), att = poisoned_pair(n_att), dqkv = poisoned_pair(n_qkv);
    float *ref_datt = calloc(n_att, sizeof(float)), *ref_dqkv = calloc(n_qkv, sizeof(float));
    multihead_scores_forward(att.host, qkv.host, B, T, C, NH);
    multihead_mix_forward(out.host, att.host, qkv.host, B, T, C, NH);
    multihead_mix_backward(ref_datt, ref_dqkv, dout.host, att.host, qkv.host, B, T, C, NH);
    multihead_scores_backward(ref_dqkv, ref_datt, att.host, qkv.host, B, T, C, NH);
    attention_scratch s = {dev_alloc(n_out), dev_alloc(n_out), dev_alloc(n_out), dev_alloc(n_out),
                           dev_alloc(n_att)};
    operand *out_op = operand_of(&out), *dqkv_op = operand_of(&dqkv); /* poisoned */
    operand *qkv_op = operand_of(&qkv), *dout_op = operand_of(&dout);
    attention_forward_cuda(out_op, att.dev, att.dev, qkv_op, &s, B, T, C, NH, 0.0f, 0);
    attention_backward_cuda(dqkv_op, dout_op, att.dev, att.dev, qkv_op, &s, B, T, C, NH, 0.0f, 0);
    dev_free(qkv_op);
    dev_free(dout_op);
    float tol = tolerance(prec);
    ck_assert_float_lt(device_vs(&att, att.host), tol);
    ck_assert_float_lt(operand_vs(out_op, n_out, out.host), tol);
    ck_assert_float_lt(operand_vs(dqkv_op, n_qkv, ref_dqkv), tol);
    dev_free(out_op);
    dev_free(dqkv_op);
    /* causality on the device: exact zeros above the diagonal */
    float *back = malloc(n_att * sizeof *back);
    dev_download(back, att.dev, n_att);
    for (size_t bh = 0; bh < (size_t)B * NH; bh++)
        for (int t = 0; t < T; t++)
            for (int u = t + 1; u < T; u++)
                ck_assert_float_eq(back[bh * T * T + (size_t)t * T + u], 0.0f);
    free(back);
    float *scratch[] = {s.q, s.k, s.v, s.y, s.datt};
    for (int i = 0; i < 5; i++)
        dev_free(scratch[i]);
    free(ref_datt);
    free(ref_dqkv);
    pair all[] = {qkv, dout, out, att, dqkv};
    free_pairs(all, sizeof all / sizeof all[0]);
}
END_TEST

/* The fused kernels (attention_fused.cu) need head size 64; T = 150 spans
 * two full tiles of 64 and a partial one. */
enum { FB = 2, FT = 150, FC = 128, FNH = 2 };
#define F_QKV ((size_t)FB * FT * 3 * FC)
#define F_OUT ((size_t)FB * FT * FC)
#define F_ROWS ((size_t)FB * FNH * FT)

/* The fused forward and backward on qkv and dout, as operands of the
 * current precision; the results come back as floats in out and dqkv. */
static void run_fused(pair *out, pair *dqkv, const pair *qkv, const pair *dout, float p,
                      uint64_t seed) {
    float *lse = dev_alloc(F_ROWS), *D = dev_alloc(F_ROWS);
    operand *qkv_op = operand_of(qkv), *dout_op = operand_of(dout);
    operand *out_op = operand_of(out), *dqkv_op = operand_of(dqkv); /* poisoned at first */
    attention_fused_forward_cuda(out_op, lse, qkv_op, FB, FT, FC, FNH, p, seed);
    attention_fused_backward_cuda(dqkv_op, D, dout_op, out_op, lse, qkv_op, FB, FT, FC, FNH, p,
                                  seed);
    floats_from_operand(out->dev, out_op, F_OUT);
    floats_from_operand(dqkv->dev, dqkv_op, F_QKV);
    void *scratch[] = {lse, D, qkv_op, dout_op, out_op, dqkv_op};
    for (int i = 0; i < 6; i++)
        dev_free(scratch[i]);
}

/* loop index _i: 0 fp32 operands, 1 bf16 operands (qkv, dout, out and
 * dqkv stored in bf16 too) */
START_TEST(test_fused_attention_matches_cpu) {
    cuda_set_precision(_i ? PRECISION_BF16 : PRECISION_FP32);
    ck_assert(attention_fused_supported(FC, FNH));
    ck_assert(!attention_fused_supported(24, 3));
    size_t n_att = F_ROWS * FT;
    pair qkv = random_pair(F_QKV, 1.0f), dout = random_pair(F_OUT, 1.0f);
    pair out = poisoned_pair(F_OUT), dqkv = poisoned_pair(F_QKV);
    float *att = malloc(n_att * sizeof(float)), *datt = calloc(n_att, sizeof(float));
    float *ref_out = malloc(F_OUT * sizeof(float)), *ref_dqkv = calloc(F_QKV, sizeof(float));
    multihead_scores_forward(att, qkv.host, FB, FT, FC, FNH);
    multihead_mix_forward(ref_out, att, qkv.host, FB, FT, FC, FNH);
    multihead_mix_backward(datt, ref_dqkv, dout.host, att, qkv.host, FB, FT, FC, FNH);
    multihead_scores_backward(ref_dqkv, datt, att, qkv.host, FB, FT, FC, FNH);
    run_fused(&out, &dqkv, &qkv, &dout, 0.0f, 0);
    /* bf16 products: ~3e-3 relative in practice; bf16 storage adds ~2e-3 */
    ck_assert_float_lt(device_vs(&out, ref_out), _i ? BF16_TOL : 1e-2f);
    ck_assert_float_lt(device_vs(&dqkv, ref_dqkv), _i ? BF16_TOL : 2e-2f);
    free(att);
    free(datt);
    free(ref_out);
    free(ref_dqkv);
    pair all[] = {qkv, dout, out, dqkv};
    free_pairs(all, sizeof all / sizeof all[0]);
}
END_TEST

/* With dropout the fused kernels must drop the same weights as
 * attention.cu (same hash, same index): compare with it in fp32. Running
 * twice must give the same bits (no atomics, no races). */
START_TEST(test_fused_attention_dropout_matches_unfused) {
    const float p = 0.25f;
    const uint64_t seed = 0x5EED;
    size_t n_att = F_ROWS * FT;
    pair qkv = random_pair(F_QKV, 1.0f), dout = random_pair(F_OUT, 1.0f);
    pair out = poisoned_pair(F_OUT), dqkv = poisoned_pair(F_QKV);
    pair ref_out = poisoned_pair(F_OUT), ref_dqkv = poisoned_pair(F_QKV);
    float *att = dev_alloc(n_att), *att_drop = dev_alloc(n_att);
    attention_scratch s = {dev_alloc(F_OUT), dev_alloc(F_OUT), dev_alloc(F_OUT), dev_alloc(F_OUT),
                           dev_alloc(n_att)};
    attention_forward_cuda(ref_out.dev, att, att_drop, qkv.dev, &s, FB, FT, FC, FNH, p, seed);
    attention_backward_cuda(ref_dqkv.dev, dout.dev, att, att_drop, qkv.dev, &s, FB, FT, FC, FNH,
                            p, seed);
    dev_download(ref_out.host, ref_out.dev, F_OUT);
    dev_download(ref_dqkv.host, ref_dqkv.dev, F_QKV);
    /* the dropout itself, which the comparison below cannot see (both
     * kernels share the hash): about 1 - p of the causal weights kept and
     * scaled by 1 / (1 - p), the rest exactly 0 */
    float *a = malloc(n_att * sizeof(float)), *a_drop = malloc(n_att * sizeof(float));
    dev_download(a, att, n_att);
    dev_download(a_drop, att_drop, n_att);
    size_t kept = 0, causal = 0;
    for (size_t row = 0; row < F_ROWS; row++)
        for (size_t u = 0; u <= row % FT; u++, causal++) {
            size_t i = row * FT + u;
            bool keep = a_drop[i] != 0.0f;
            kept += keep;
            ck_assert_float_eq_tol(a_drop[i], keep ? a[i] / (1.0f - p) : 0.0f, 1e-6f);
        }
    ck_assert_double_eq_tol((double)kept / causal, 1.0 - p, 0.01);
    free(a);
    free(a_drop);
    run_fused(&out, &dqkv, &qkv, &dout, p, seed);
    ck_assert_float_lt(device_vs(&out, ref_out.host), 1e-2f);
    ck_assert_float_lt(device_vs(&dqkv, ref_dqkv.host), 2e-2f);
    /* a different seed drops other weights */
    float *first = malloc(F_QKV * sizeof(float));
    dev_download(first, dqkv.dev, F_QKV);
    run_fused(&out, &dqkv, &qkv, &dout, p, seed + 1);
    ck_assert_float_gt(device_vs(&dqkv, ref_dqkv.host), 0.1f);
    /* the same seed again: the same bits */
    run_fused(&out, &dqkv, &qkv, &dout, p, seed);
    ck_assert_float_eq(device_vs(&dqkv, first), 0.0f);
    free(first);
    float *scratch[] = {att, att_drop, s.q, s.k, s.v, s.y, s.datt};
    for (int i = 0; i < 7; i++)
        dev_free(scratch[i]);
    pair all[] = {qkv, dout, out, dqkv, ref_out, ref_dqkv};
    free_pairs(all, sizeof all / sizeof all[0]);
}
END_TEST

/* Causality: changing the last position's q, k and v leaves every earlier
 * position's output exactly as it was. */
START_TEST(test_fused_attention_is_causal) {
    pair qkv = random_pair(F_QKV, 1.0f), out = poisoned_pair(F_OUT);
    float *lse = dev_alloc(F_ROWS), *before = malloc(F_OUT * sizeof(float));
    attention_fused_forward_cuda(out.dev, lse, qkv.dev, FB, FT, FC, FNH, 0.0f, 0);
    dev_download(before, out.dev, F_OUT);
    for (int b = 0; b < FB; b++)
        for (int j = 0; j < 3 * FC; j++)
            qkv.host[((size_t)b * FT + FT - 1) * 3 * FC + j] += 1.0f;
    dev_upload(qkv.dev, qkv.host, F_QKV);
    attention_fused_forward_cuda(out.dev, lse, qkv.dev, FB, FT, FC, FNH, 0.0f, 0);
    dev_download(out.host, out.dev, F_OUT);
    for (int b = 0; b < FB; b++) {
        size_t row = (size_t)b * FT * FC, last = row + (size_t)(FT - 1) * FC;
        size_t earlier = (size_t)(FT - 1) * FC * sizeof(float);
        ck_assert_int_eq(memcmp(out.host + row, before + row, earlier), 0);
        ck_assert_int_ne(memcmp(out.host + last, before + last, FC * sizeof(float)), 0);
    }
    dev_free(lse);
    free(before);
    pair all[] = {qkv, out};
    free_pairs(all, sizeof all / sizeof all[0]);
}
END_TEST

/* ------------------------------------------------------------ pointwise */

/* loop index _i: 0 fp32 operands, 1 bf16 operands */
START_TEST(test_gelu_matches_cpu) {
    precision prec = _i ? PRECISION_BF16 : PRECISION_FP32;
    cuda_set_precision(prec);
    enum { N = 5003 }; /* not a multiple of 8: the last 3 go one by one */
    pair inp = random_pair(N, 3.0f), dout = random_pair(N, 1.0f);
    pair out = poisoned_pair(N), dinp = poisoned_pair(N);
    float *ref_dinp = calloc(N, sizeof(float));
    operand *inp_op = operand_input(&inp), *dout_op = operand_input(&dout);
    operand *out_op = operand_of(&out), *dinp_op = operand_of(&dinp); /* poisoned */
    gelu_forward(out.host, inp.host, N);
    gelu_backward(ref_dinp, inp.host, dout.host, N);
    gelu_forward_cuda(out_op, inp_op, N);
    gelu_backward_cuda(dinp_op, inp_op, dout_op, N);
    float tol = rounded_tolerance(prec);
    ck_assert_float_lt(operand_vs(out_op, N, out.host), tol);
    ck_assert_float_lt(operand_vs(dinp_op, N, ref_dinp), tol);
    operand *ops[] = {inp_op, dout_op, out_op, dinp_op};
    for (int i = 0; i < 4; i++)
        dev_free(ops[i]);
    free(ref_dinp);
    pair all[] = {inp, dout, out, dinp};
    free_pairs(all, sizeof all / sizeof all[0]);
}
END_TEST

/* The residual add fused into the layernorm after it: res = x + dropout(y)
 * and layernorm(res); the backward pass's branch gradient dy = dres * mask
 * drops the same elements. */
START_TEST(test_residual_layernorm) {
    enum { N = 250, C = 400 };
    const int n = N * C;
    const float p = 0.25f;
    pair x = random_pair(n, 1.0f), y = random_pair(n, 1.0f), w = random_pair(C, 1.0f);
    pair dout = random_pair(n, 1.0f), res = poisoned_pair(n), out = poisoned_pair(n);
    pair mean = poisoned_pair(N), rstd = poisoned_pair(N), dres = poisoned_pair(n);
    pair dy = poisoned_pair(n), dw = random_pair(C, 0.1f);
    float *ref_out = malloc(n * sizeof(float)), *ref_mean = malloc(N * sizeof(float));
    float *ref_rstd = malloc(N * sizeof(float));
    /* p = 0: res is exactly x + y, out its layernorm, dy is dres */
    residual_layernorm_forward_cuda(res.dev, out.dev, mean.dev, rstd.dev, x.dev, y.dev, w.dev,
                                    NULL, N, C, 0.0f, 1);
    float *sum = malloc(n * sizeof(float));
    for (int i = 0; i < n; i++)
        sum[i] = x.host[i] + y.host[i];
    ck_assert_float_eq(device_vs(&res, sum), 0.0f);
    layernorm_forward(ref_out, ref_mean, ref_rstd, sum, w.host, NULL, N, C);
    ck_assert_float_lt(device_vs(&out, ref_out), FP32_TOL);
    layernorm_backward_cuda(dres.dev, dy.dev, NULL, dw.dev, NULL, dout.dev, res.dev, w.dev,
                            mean.dev, rstd.dev, N, C, 0.0f, 1);
    float *d = malloc(n * sizeof(float));
    dev_download(d, dres.dev, n);
    ck_assert_float_eq(device_vs(&dy, d), 0.0f);
    /* p > 0: about 1 - p of y kept, scaled by 1 / (1 - p); the backward
     * pass keeps the same elements */
    residual_layernorm_forward_cuda(res.dev, out.dev, mean.dev, rstd.dev, x.dev, y.dev, w.dev,
                                    NULL, N, C, p, 42);
    layernorm_backward_cuda(dres.dev, dy.dev, NULL, dw.dev, NULL, dout.dev, res.dev, w.dev,
                            mean.dev, rstd.dev, N, C, p, 42);
    float *r = malloc(n * sizeof(float)), *branch = malloc(n * sizeof(float));
    dev_download(r, res.dev, n);
    dev_download(d, dres.dev, n);
    dev_download(branch, dy.dev, n);
    int kept = 0;
    for (int i = 0; i < n; i++) {
        bool keep = r[i] != x.host[i];
        kept += keep;
        ck_assert_float_eq_tol(r[i], x.host[i] + (keep ? y.host[i] / (1.0f - p) : 0.0f), 1e-5f);
        ck_assert_float_eq_tol(branch[i], keep ? d[i] / (1.0f - p) : 0.0f, 1e-5f);
    }
    ck_assert_double_eq_tol((double)kept / n, 1.0 - p, 0.01);
    layernorm_forward(ref_out, ref_mean, ref_rstd, r, w.host, NULL, N, C);
    ck_assert_float_lt(device_vs(&out, ref_out), FP32_TOL);
    free(ref_out), free(ref_mean), free(ref_rstd), free(sum), free(d), free(r), free(branch);
    pair all[] = {x, y, w, dout, res, out, mean, rstd, dres, dy, dw};
    free_pairs(all, sizeof all / sizeof all[0]);
}
END_TEST

/* ------------------------------------------------------------ embedding, loss */

/* loop index _i: 0 without dropout, 1 with (p = 0.25): about 1 - p of the
 * embeddings' sum kept, scaled by 1 / (1 - p), the rest exactly 0; the
 * backward pass drops the same elements of dout before adding their sums
 * into dwte and dwpe. Odd sizes; enough elements (32696) that the kept
 * fraction lies within 0.01 of 1 - p. */
START_TEST(test_embedding_matches_cpu) {
    enum { B = 8, T = 67, C = 61, V = 9, n = B * T * C };
    const float p = _i ? 0.25f : 0.0f;
    int idx[B * T];
    random_tokens(idx, B * T, V, &R);
    int *d_idx = device_ints(idx, B * T);
    pair wte = random_pair(V * C, 1.0f), wpe = random_pair(T * C, 1.0f);
    pair dout = random_pair(n, 1.0f), out = poisoned_pair(n);
    pair dwte = random_pair(V * C, 0.1f), dwpe = random_pair(T * C, 0.1f); /* both accumulate */
    float *sum = calloc(n, sizeof(float)), *dropped_dout = malloc(n * sizeof(float));
    token_embedding_forward(sum, idx, wte.host, B * T, C);
    position_embedding_forward(sum, wpe.host, B, T, C);
    float *onehot = dev_alloc((size_t)B * T * V);
    embedding_forward_cuda(out.dev, d_idx, wte.dev, wpe.dev, B, T, C, p, 7);
    embedding_backward_cuda(dwte.dev, dwpe.dev, onehot, dout.dev, d_idx, B, T, C, V, p, 7);
    dev_download(out.host, out.dev, n);
    int kept = 0;
    for (int i = 0; i < n; i++) {
        bool keep = out.host[i] != 0.0f; /* a kept sum is never exactly 0 here */
        kept += keep;
        ck_assert_float_eq_tol(out.host[i], keep ? sum[i] / (1.0f - p) : 0.0f, 1e-5f);
        dropped_dout[i] = keep ? dout.host[i] / (1.0f - p) : 0.0f;
    }
    ck_assert_double_eq_tol((double)kept / n, 1.0 - p, 0.01);
    token_embedding_backward(dwte.host, dropped_dout, idx, B * T, C); /* += */
    position_embedding_backward(dwpe.host, dropped_dout, B, T, C);
    ck_assert_float_lt(device_vs(&dwte, dwte.host), FP32_TOL);
    ck_assert_float_lt(device_vs(&dwpe, dwpe.host), FP32_TOL);
    dev_free(onehot);
    dev_free(d_idx);
    free(sum);
    free(dropped_dout);
    pair all[] = {wte, wpe, dout, out, dwte, dwpe};
    free_pairs(all, sizeof all / sizeof all[0]);
}
END_TEST

/* loop index _i: 0 fp32, 1 bf16 (dlogits is an operand) */
START_TEST(test_crossentropy_matches_cpu) {
    precision prec = _i ? PRECISION_BF16 : PRECISION_FP32;
    cuda_set_precision(prec);
    enum { N = 300, V = 65 };
    int targets[N];
    random_tokens(targets, N, V, &R);
    int *d_targets = device_ints(targets, N);
    pair logits = random_pair(N * V, 3.0f), probs = poisoned_pair(N * V);
    pair losses = poisoned_pair(N), dlogits = poisoned_pair(N * V);
    float *ref_dlogits = calloc(N * V, sizeof(float));
    float mean = crossentropy_forward(probs.host, losses.host, logits.host, targets, N, V);
    crossentropy_backward(ref_dlogits, probs.host, targets, N, V);
    crossentropy_forward_cuda(probs.dev, losses.dev, logits.dev, d_targets, N, V);
    operand *dlogits_op = operand_of(&dlogits); /* poisoned */
    crossentropy_backward_cuda(dlogits_op, probs.dev, d_targets, N, V);
    float *scalar = dev_alloc(1);
    ck_assert_float_eq_tol(mean_cuda(losses.dev, N, scalar), mean, 1e-5f);
    ck_assert_float_lt(device_vs(&probs, probs.host), FP32_TOL);
    ck_assert_float_lt(device_vs(&losses, losses.host), FP32_TOL);
    ck_assert_float_lt(operand_vs(dlogits_op, N * V, ref_dlogits), rounded_tolerance(prec));
    dev_free(dlogits_op);
    dev_free(scalar);
    dev_free(d_targets);
    free(ref_dlogits);
    pair all[] = {logits, probs, losses, dlogits};
    free_pairs(all, sizeof all / sizeof all[0]);
}
END_TEST

/* ------------------------------------------------------------ optimizer */

/* Two tensors as the update sees them: a matrix of 3 slices (weight
 * decay) and a vector after it (none). Loop index _i: 0 as the GPT trains
 * (clipping bites); 1 with decay_all (the vector decays too) and a limit
 * the gradient stays under (no clipping). */
START_TEST(test_adamw_and_clipping_match_cpu) {
    enum { MATRIX = 2 * ADAMW_SLICE + 100, VECTOR = 5000, N = MATRIX + VECTOR };
    pair p = random_pair(N, 1.0f), g = random_pair(N, 0.05f), m = zero_pair(N), v = zero_pair(N);
    float *sumsq = dev_alloc(1), *partial = dev_alloc(GRAD_SUMSQ_PARTIALS);
    adamw_config c = ADAMW_NANOGPT;
    const bool decay_all = _i == 1;
    /* |g| ~ 0.05 sqrt(N) = 10: a limit of 1 bites, one of 1000 does not */
    const float max_norm = decay_all ? 1000.0f : 1.0f;
    adamw_slice host[4];
    int n_slices = adamw_slices(host, 0, MATRIX, true);
    ck_assert_int_eq(n_slices, 3);
    ck_assert_int_eq(adamw_slices(NULL, MATRIX, VECTOR, false), 1);
    n_slices += adamw_slices(host + n_slices, MATRIX, VECTOR, false);
    ck_assert_int_eq(host[2].size, 100);
    adamw_slice *slices = dev_upload_bytes(host, sizeof host);
    cuda_set_precision(PRECISION_BF16);
    operand *copy = dev_alloc_operand(N); /* the last step writes a bf16 copy */
    cuda_set_precision(PRECISION_FP32);
    for (long step = 1; step <= 3; step++) {
        grad_sumsq_cuda(sumsq, partial, g.dev, N);
        adamw_update_cuda(p.dev, g.dev, m.dev, v.dev, slices, n_slices, c.beta1, c.beta2, c.eps,
                          1e-2f, c.weight_decay, decay_all, step, sumsq, max_norm,
                          step == 3 ? copy : NULL);
        float *clipped = malloc(N * sizeof(float));
        memcpy(clipped, g.host, N * sizeof(float));
        grad_clip(clipped, N, max_norm);
        adamw_update(p.host, clipped, m.host, v.host, MATRIX, &c, 1e-2f, c.weight_decay, step);
        adamw_update(p.host + MATRIX, clipped + MATRIX, m.host + MATRIX, v.host + MATRIX, VECTOR,
                     &c, 1e-2f, decay_all ? c.weight_decay : 0.0f, step);
        free(clipped);
    }
    float norm_sq;
    dev_download(&norm_sq, sumsq, 1);
    ck_assert_float_eq_tol(sqrtf(norm_sq), grad_norm(g.host, N), 1e-3f);
    ck_assert_float_lt(device_vs(&p, p.host), FP32_TOL);
    ck_assert_float_lt(device_vs(&m, m.host), FP32_TOL);
    ck_assert_float_lt(device_vs(&v, v.host), 1e-4f);
    cuda_set_precision(PRECISION_BF16);
    ck_assert_float_lt(operand_vs(copy, N, p.host), 4e-3f); /* bf16 rounding: < 2^-8 */
    cuda_set_precision(PRECISION_FP32);
    dev_free(copy);
    dev_free(slices);
    dev_free(sumsq);
    dev_free(partial);
    pair all[] = {p, g, m, v};
    free_pairs(all, sizeof all / sizeof all[0]);
}
END_TEST

/* ------------------------------------------------------------ the whole step */

/* Each tensor's gradient on the device against the CPU's, relative to that
 * tensor's own largest element: one bound for the whole model would let a
 * tensor whose gradients are small (a layernorm gain's are ~1/10 of the
 * embedding's) be wrong, or zero, unnoticed. */
static void assert_gradients_match(const param_table *pt, const float *cpu, const float *device,
                                   float tol) {
    float *gpu = malloc(pt->total * sizeof *gpu);
    dev_download(gpu, device, pt->total);
    for (int i = 0; i < pt->n_tensors; i++) {
        const tensor_info *t = &pt->tensors[i];
        float d = rel_diff(cpu + t->offset, gpu + t->offset, t->size);
        ck_assert_msg(d < tol, "gradient of %s: relative difference %g (allowed %g)", t->name,
                      (double)d, (double)tol);
    }
    free(gpu);
}

/* One training step of the tiny model on the CPU (05, reference kernels)
 * and on the GPU, from the same initial weights and batch. */
static void check_train_step(precision prec, gpt_config c, int B, int T) {
    cuda_set_precision(prec);
    rng init, drop;
    rng_seed_stream(&init, 7, STREAM_INIT);
    rng_seed_stream(&drop, 7, STREAM_DROPOUT);
    error e = {{0}};
    gpt *cpu = gpt_create(&c, B, &init, &drop, &GPT_REFERENCE, &e), *host = NULL;
    void *gpu = CUDA_BACKEND.create(&c, B, &init, &drop, &host, &e);
    ck_assert_msg(cpu && gpu, "%s", e.msg);
    size_t n = gpt_params_table(cpu)->total;
    ck_assert_int_eq(memcmp(gpt_params(cpu), gpt_params(host), n * sizeof(float)), 0);
    int *x = malloc((size_t)B * T * sizeof(int)), *y = malloc((size_t)B * T * sizeof(int));
    for (int i = 0; i < B * T; i++) {
        x[i] = (int)rng_below(&R, c.vocab_size);
        y[i] = (int)rng_below(&R, c.vocab_size);
    }
    train_config tc = {.adamw = ADAMW_NANOGPT, .decay = DECAY_2D_ONLY, .grad_clip = 1.0f};
    const float lr = 1e-3f;
    /* the CPU step, as the training loop runs it */
    language_model lm_cpu = gpt_language_model(cpu);
    train_state st_cpu, st_gpu;
    ck_assert_int_eq(train_state_init(&st_cpu, n, 7, &e), 0);
    ck_assert_int_eq(train_state_init(&st_gpu, n, 7, &e), 0);
    float loss_cpu = gpt_forward(cpu, x, y, B, T);
    memset(gpt_grads(cpu), 0, n * sizeof(float));
    gpt_backward(cpu);
    float *grads_cpu = malloc(n * sizeof(float));
    memcpy(grads_cpu, gpt_grads(cpu), n * sizeof(float));
    grad_clip(gpt_grads(cpu), n, tc.grad_clip);
    optimizer_step(&lm_cpu, &tc, &st_cpu, lr);
    /* the GPU step */
    language_model lm_gpu = CUDA_BACKEND.language_model(gpu);
    float loss_gpu = lm_gpu.train_step(lm_gpu.self, x, y, B, T, &tc, &st_gpu, lr);
    float tol = tolerance(prec);
    ck_assert_float_eq_tol(loss_gpu, loss_cpu, tol);
    assert_gradients_match(gpt_params_table(cpu), grads_cpu, gpt_cuda_grads(gpu),
                           prec == PRECISION_FP32 ? 1e-4f : 10 * tol);
    /* parameters after the update: Adam's first step moves each weight by
     * about lr * sign(gradient), so they agree closely except where a
     * gradient is ~0 and its sign is rounding noise (then at most 2 lr) */
    CUDA_BACKEND.download(gpu, &st_gpu);
    const float *p_cpu = gpt_params(cpu), *p_gpu = gpt_params(host);
    size_t close = 0;
    for (size_t i = 0; i < n; i++) {
        float d = fabsf(p_cpu[i] - p_gpu[i]);
        ck_assert_float_le(d, 2.0f * lr + 1e-6f);
        close += d <= 1e-6f;
    }
    if (prec == PRECISION_FP32)
        ck_assert_double_ge((double)close / n, 0.999);
    free(grads_cpu);
    free(x);
    free(y);
    train_state_free(&st_cpu);
    train_state_free(&st_gpu);
    CUDA_BACKEND.destroy(gpu);
    gpt_free(cpu);
}

START_TEST(test_train_step_matches_cpu) {
    gpt_config c = {2, 3, 24, 16, 13, 0.0f};
    check_train_step((precision)_i, c, 4, 16);
}
END_TEST

/* bf16 with head size 64: the model on attention_fused.cu. */
START_TEST(test_fused_train_step_matches_cpu) {
    gpt_config c = {2, 2, 128, 80, 13, 0.0f};
    check_train_step(PRECISION_BF16, c, 3, 80);
}
END_TEST

/* Sampling runs the model on one row that grows from a single token
 * (01-bigram/generate.c): B = 1 and T short of the block, in bf16 a
 * partial tile of the fused attention. The logits there equal the CPU's.
 * Loop index _i: 0 fp32, 1 bf16. */
START_TEST(test_short_rows_match_cpu) {
    precision prec = _i ? PRECISION_BF16 : PRECISION_FP32;
    cuda_set_precision(prec);
    gpt_config c = {2, 2, 128, 80, 13, 0.0f};
    rng init, drop;
    rng_seed_stream(&init, 5, STREAM_INIT);
    rng_seed_stream(&drop, 5, STREAM_DROPOUT);
    error e = {{0}};
    gpt *cpu = gpt_create(&c, 1, &init, &drop, &GPT_REFERENCE, &e), *host = NULL;
    void *gpu = CUDA_BACKEND.create(&c, 3, &init, &drop, &host, &e);
    ck_assert_msg(cpu && gpu, "%s", e.msg);
    ck_assert_int_eq(memcmp(gpt_params(cpu), gpt_params(host),
                            gpt_params_table(cpu)->total * sizeof(float)),
                     0);
    language_model lm = CUDA_BACKEND.language_model(gpu);
    lm.set_training(lm.self, false);
    gpt_set_training(cpu, false);
    int x[80];
    random_tokens(x, 80, c.vocab_size, &R);
    const int lengths[] = {1, 2, 37, 63, 64, 65, 80};
    for (size_t k = 0; k < sizeof lengths / sizeof lengths[0]; k++) {
        int T = lengths[k];
        gpt_forward(cpu, x, NULL, 1, T);
        lm.forward(lm.self, x, NULL, 1, T);
        float d = rel_diff(gpt_logits(cpu), lm.logits(lm.self), (size_t)T * c.vocab_size);
        ck_assert_msg(d < (prec == PRECISION_FP32 ? 1e-4f : BF16_TOL),
                      "T = %d: the logits differ by %g", T, (double)d);
    }
    CUDA_BACKEND.destroy(gpu);
    gpt_free(cpu);
}
END_TEST

/* ------------------------------------------------------------ dropout */

/* The GPU model's loss at the host copy's weights (uploaded first: the
 * gradient checker moves those), its dropout stream rewound first: every
 * call drops the same elements (testutil.h, assert_dropout_gradient). */
typedef struct {
    void *gpu;
    gpt *host;
    rng start; /* the dropout stream before the first pass */
    const int *x, *y;
    int B, T;
} same_masks;

static double gpu_loss_same_masks(void *ctx) {
    same_masks *c = ctx;
    *gpt_dropout_rng(c->host) = c->start;
    CUDA_BACKEND.upload(c->gpu, NULL);
    language_model lm = CUDA_BACKEND.language_model(c->gpu);
    return lm.forward(lm.self, c->x, c->y, c->B, c->T);
}

/* out (n, host) = the gradient of the last forward pass. */
static void gpu_gradients(void *gpu, float *out, size_t n) {
    float *g = gpt_cuda_grads(gpu);
    dev_zero(g, n);
    language_model lm = CUDA_BACKEND.language_model(gpu);
    lm.backward(lm.self);
    dev_download(out, g, n);
}

/* Dropout on at every site (embeddings, attention weights, both residual
 * branches), fp32: every backward kernel must drop what its forward
 * dropped, from the same seed. The seeds are paired by hand in
 * gpt_cuda.c (site_seed of a layer and a site); a mask of another site or
 * layer fails here. Each tensor is checked along its own gradient, then
 * the whole model against a gradient taken under other masks. */
START_TEST(test_gradient_with_dropout) {
    gpt_config c = {2, 2, 16, 8, 11, 0.2f};
    enum { B = 2, T = 8 };
    rng init, drop, r;
    rng_seed_stream(&init, 4, STREAM_INIT);
    rng_seed_stream(&drop, 4, STREAM_DROPOUT);
    rng_seed(&r, 41);
    error e = {{0}};
    gpt *host = NULL;
    void *gpu = CUDA_BACKEND.create(&c, B, &init, &drop, &host, &e);
    ck_assert_msg(gpu != NULL, "%s", e.msg);
    const param_table *pt = gpt_params_table(host);
    float *params = gpt_params(host);
    spread_weights(pt, params, &r);
    int x[B * T], y[B * T];
    random_tokens(x, B * T, c.vocab_size, &r);
    random_tokens(y, B * T, c.vocab_size, &r);
    language_model lm = CUDA_BACKEND.language_model(gpu);
    lm.set_training(lm.self, true);
    same_masks ctx = {gpu, host, *gpt_dropout_rng(host), x, y, B, T};
    float *g = malloc(pt->total * sizeof *g), *g_other = malloc(pt->total * sizeof *g_other);
    gpu_loss_same_masks(&ctx);
    gpu_gradients(gpu, g, pt->total);
    lm.forward(lm.self, x, y, B, T); /* the stream has moved on: other masks */
    gpu_gradients(gpu, g_other, pt->total);
    for (int i = 0; i < pt->n_tensors; i++) {
        const tensor_info *t = &pt->tensors[i];
        double err = grad_check_directions(gpu_loss_same_masks, &ctx, params + t->offset,
                                           g + t->offset, t->size, 2, 1e-2f, &r);
        ck_assert_msg(err < GRAD_TOL, "gradient of %s with dropout on: error %g", t->name, err);
    }
    assert_dropout_gradient(gpu_loss_same_masks, &ctx, params, g, g_other, pt->total, 1e-2f, &r);
    free(g);
    free(g_other);
    CUDA_BACKEND.destroy(gpu);
}
END_TEST

/* A checkpoint written from the GPU model loads on the CPU and gives the
 * same logits. */
START_TEST(test_gpu_weights_run_on_cpu) {
    gpt_config c = {2, 2, 16, 8, 11, 0.0f};
    enum { B = 2, T = 8 };
    rng init, drop;
    rng_seed_stream(&init, 3, STREAM_INIT);
    rng_seed_stream(&drop, 3, STREAM_DROPOUT);
    error e = {{0}};
    gpt *host = NULL;
    void *gpu = CUDA_BACKEND.create(&c, B, &init, &drop, &host, &e);
    ck_assert_msg(gpu != NULL, "%s", e.msg);
    int *x = malloc((size_t)B * T * sizeof(int)), *y = malloc((size_t)B * T * sizeof(int));
    for (int i = 0; i < B * T; i++) {
        x[i] = (int)rng_below(&R, c.vocab_size);
        y[i] = (int)rng_below(&R, c.vocab_size);
    }
    /* change the weights on the device with a few steps, then fetch them */
    language_model lm = CUDA_BACKEND.language_model(gpu);
    train_config tc = {.adamw = ADAMW_NANOGPT, .decay = DECAY_2D_ONLY, .grad_clip = 1.0f};
    train_state st;
    ck_assert_int_eq(train_state_init(&st, gpt_params_table(host)->total, 3, &e), 0);
    for (int s = 0; s < 5; s++, st.step++)
        lm.train_step(lm.self, x, y, B, T, &tc, &st, 1e-2f);
    lm.set_training(lm.self, false);
    lm.forward(lm.self, x, NULL, B, T);
    const float *gpu_logits = lm.logits(lm.self);
    CUDA_BACKEND.download(gpu, NULL);
    gpt *cpu = gpt_create(&c, B, &init, &drop, &GPT_FAST, &e);
    memcpy(gpt_params(cpu), gpt_params(host), gpt_params_table(cpu)->total * sizeof(float));
    gpt_set_training(cpu, false);
    gpt_forward(cpu, x, NULL, B, T);
    ck_assert_float_lt(rel_diff(gpt_logits(cpu), gpu_logits, (size_t)B * T * c.vocab_size), 1e-4f);
    free(x);
    free(y);
    train_state_free(&st);
    gpt_free(cpu);
    CUDA_BACKEND.destroy(gpu);
}
END_TEST

/* Every test starts in fp32 mode, whatever the one before left (the
 * runner does not fork: a test that fails midway skips its own clean-up). */
static void start_in_fp32(void) { cuda_set_precision(PRECISION_FP32); }

static Suite *cuda_suite(void) {
    Suite *s = suite_create("06-cuda");
    TCase *tc = tcase_create("kernels");
    tcase_add_checked_fixture(tc, start_in_fp32, NULL);
    tcase_add_loop_test(tc, test_linear_matches_cpu, PRECISION_FP32, PRECISION_BF16 + 1);
    tcase_add_loop_test(tc, test_layernorm_matches_cpu, 0, 2 * N_LAYERNORM_WIDTHS);
    tcase_add_test(tc, test_layernorm_backward_many_rows);
    tcase_add_loop_test(tc, test_attention_matches_cpu, PRECISION_FP32, PRECISION_BF16 + 1);
    tcase_add_loop_test(tc, test_fused_attention_matches_cpu, 0, 2);
    tcase_add_test(tc, test_fused_attention_dropout_matches_unfused);
    tcase_add_test(tc, test_fused_attention_is_causal);
    tcase_add_loop_test(tc, test_gelu_matches_cpu, 0, 2);
    tcase_add_test(tc, test_residual_layernorm);
    tcase_add_loop_test(tc, test_embedding_matches_cpu, 0, 2);
    tcase_add_loop_test(tc, test_crossentropy_matches_cpu, 0, 2);
    tcase_add_loop_test(tc, test_adamw_and_clipping_match_cpu, 0, 2);
    suite_add_tcase(s, tc);
    tc = tcase_create("model");
    tcase_add_checked_fixture(tc, start_in_fp32, NULL);
    tcase_add_loop_test(tc, test_train_step_matches_cpu, PRECISION_FP32, PRECISION_BF16 + 1);
    tcase_add_test(tc, test_fused_train_step_matches_cpu);
    tcase_add_loop_test(tc, test_short_rows_match_cpu, 0, 2);
    tcase_add_test(tc, test_gradient_with_dropout);
    tcase_add_test(tc, test_gpu_weights_run_on_cpu);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) {
    char why[256];
    if (!cuda_available(why, sizeof why)) {
        printf("SKIP: %s\n", why);
        return SKIP_STATUS;
    }
    printf("device: %s\n", cuda_device_description());
    rng_seed(&R, 606);
    SRunner *sr = srunner_create(cuda_suite());
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
