/*
 * test_04_block.c - claims about chapter 04: layernorm normalises each row
 * and has a true gradient; the residual passes its gradient to both
 * inputs; dropout is an exact copy at p = 0, keeps about 1-p of the values
 * scaled by 1/(1-p), and is reproducible from its seed; the transformer
 * block's backward is its gradient (every tensor and the input, dropout
 * on, with and without biases, ReLU or a smooth activation), a second
 * backward pass over the same activations gives the same gradients (its
 * scratch is cleared), and it calls its heavy layers through the ops
 * table; the stacked model is causal, thread-count independent, drops
 * nothing at evaluation, refuses an empty stack, is correctly
 * differentiated and starts near ln(V).
 */
#include <check.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../02-self-attention/linear.h"
#include "../03-multihead/multihead.h"
#include "../04-block/block.h"
#include "../04-block/dropout.h"
#include "../04-block/layernorm.h"
#include "../04-block/model.h"
#include "../04-block/residual.h"
#include "../common/parallel.h"
#include "modelutil.h"
#include "testutil.h"

/* Distinct, non-square sizes: a transposed index cannot hide. */
enum { B = 2, T = 5, C = 12, NH = 3, V = 7 };
#define N ((size_t)B * T)
/* Finite-difference step: small enough that few ReLU inputs cross 0. */
#define EPS 3e-3f

/* ------------------------------------------------------------ layernorm */

START_TEST(test_layernorm_normalises_rows) {
    enum { ROWS = 6, WIDTH = 40 };
    rng r;
    rng_seed(&r, 1);
    float x[ROWS * WIDTH], out[ROWS * WIDTH], w[WIDTH], b[WIDTH], mean[ROWS], rstd[ROWS];
    for (int i = 0; i < ROWS * WIDTH; i++)
        x[i] = 3.0f + 2.0f * rng_normal(&r) + (float)(i / WIDTH); /* each row its own mean */
    layernorm_init(w, b, WIDTH);
    layernorm_forward(out, mean, rstd, x, w, b, ROWS, WIDTH);
    for (int n = 0; n < ROWS; n++) {
        double m = 0, v = 0, xm = 0;
        for (int c = 0; c < WIDTH; c++) {
            m += out[n * WIDTH + c] / WIDTH;
            xm += x[n * WIDTH + c] / WIDTH;
        }
        for (int c = 0; c < WIDTH; c++)
            v += (out[n * WIDTH + c] - m) * (out[n * WIDTH + c] - m) / WIDTH;
        ck_assert_double_eq_tol(m, 0.0, 1e-6);
        ck_assert_double_eq_tol(v, 1.0, 1e-4); /* eps/var ~ 3e-6 below 1 */
        ck_assert_double_eq_tol(mean[n], xm, 1e-5);
    }
    /* no bias: the same as a zero bias */
    float out2[ROWS * WIDTH];
    layernorm_forward(out2, mean, rstd, x, w, NULL, ROWS, WIDTH);
    ck_assert_mem_eq(out, out2, sizeof out);
}
END_TEST

typedef struct {
    float *inp, *w, *b, *out, *mean, *rstd;
    const float *probe;
} ln_ctx;

static double ln_objective(void *p) {
    ln_ctx *c = p;
    layernorm_forward(c->out, c->mean, c->rstd, c->inp, c->w, c->b, N, C);
    return dot_double(c->out, c->probe, N * C);
}

START_TEST(test_layernorm_gradients) {
    rng r;
    rng_seed(&r, 2);
    float inp[N * C], w[C], b[C], out[N * C], mean[N], rstd[N], probe[N * C];
    fill_normal(inp, N * C, 1.0f, &r);
    fill_normal(w, C, 1.0f, &r);
    fill_normal(b, C, 1.0f, &r);
    fill_normal(probe, N * C, 1.0f, &r);
    for (int with_bias = 0; with_bias < 2; with_bias++) {
        float dinp[N * C], dw[C], db[C], dinp0[N * C], dw0[C], db0[C];
        gradient_start(dinp, dinp0, N * C, &r);
        gradient_start(dw, dw0, C, &r);
        gradient_start(db, db0, C, &r);
        ln_ctx c = {inp, w, with_bias ? b : NULL, out, mean, rstd, probe};
        ln_objective(&c);
        layernorm_backward(dinp, dw, with_bias ? db : NULL, probe, inp, w, mean, rstd, N, C);
        gradient_added(dinp, dinp0, N * C);
        gradient_added(dw, dw0, C);
        gradient_added(db, db0, C);
        ck_assert_double_lt(grad_check_elements(ln_objective, &c, inp, dinp, N * C, N * C, 1e-2f),
                            GRAD_TOL);
        ck_assert_double_lt(grad_check_elements(ln_objective, &c, w, dw, C, C, 1e-2f), GRAD_TOL);
        if (with_bias)
            ck_assert_double_lt(grad_check_elements(ln_objective, &c, b, db, C, C, 1e-2f),
                                GRAD_TOL);
        /* negative control: the input gradient without the mean-removing
         * terms (as if mean and rstd were constants) */
        float naive[N * C];
        for (size_t n = 0; n < N; n++)
            for (int i = 0; i < C; i++)
                naive[n * C + i] = probe[n * C + i] * w[i] * rstd[n];
        ck_assert_double_gt(grad_check_elements(ln_objective, &c, inp, naive, N * C, N * C, 1e-2f),
                            GRAD_TOL);
    }
}
END_TEST

/* ------------------------------------------------------------ residual */

typedef struct {
    float *a, *b, *out;
    const float *probe;
} res_ctx;

static double res_objective(void *p) {
    res_ctx *c = p;
    residual_forward(c->out, c->a, c->b, N * C);
    return dot_double(c->out, c->probe, N * C);
}

START_TEST(test_residual_gradient) {
    rng r;
    rng_seed(&r, 3);
    float a[N * C], b[N * C], out[N * C], probe[N * C], da[N * C], db[N * C];
    float da0[N * C], db0[N * C];
    fill_normal(a, N * C, 1.0f, &r);
    fill_normal(b, N * C, 1.0f, &r);
    fill_normal(probe, N * C, 1.0f, &r);
    gradient_start(da, da0, N * C, &r);
    gradient_start(db, db0, N * C, &r);
    res_ctx c = {a, b, out, probe};
    residual_backward(da, db, probe, N * C);
    gradient_added(da, da0, N * C);
    gradient_added(db, db0, N * C);
    ck_assert_double_lt(grad_check_elements(res_objective, &c, a, da, N * C, N * C, 1e-2f),
                        GRAD_TOL);
    ck_assert_double_lt(grad_check_elements(res_objective, &c, b, db, N * C, N * C, 1e-2f),
                        GRAD_TOL);
    /* negative control: the gradient halved, as if out were (a + b) / 2 */
    for (size_t i = 0; i < N * C; i++)
        da[i] /= 2;
    ck_assert_double_gt(grad_check_elements(res_objective, &c, a, da, N * C, N * C, 1e-2f),
                        GRAD_TOL);
}
END_TEST

/* ------------------------------------------------------------ dropout */

START_TEST(test_dropout_off_is_exact_copy) {
    enum { M = 1000 };
    rng r, before;
    rng_seed(&r, 4);
    float x[M], out[M], mask[M];
    fill_normal(x, M, 1.0f, &r);
    before = r;
    dropout_forward(out, mask, x, M, 0.0f, &r);
    ck_assert_mem_eq(out, x, sizeof x);
    for (int i = 0; i < M; i++)
        ck_assert_float_eq(mask[i], 1.0f);
    ck_assert_uint_eq(r.state, before.state); /* the RNG was not touched */
}
END_TEST

START_TEST(test_dropout_keeps_and_scales) {
    enum { M = 100000 };
    const float p = 0.25f;
    float *x = malloc(M * sizeof *x), *out = malloc(M * sizeof *out);
    float *mask = malloc(M * sizeof *mask);
    rng r;
    rng_seed(&r, 5);
    for (int i = 0; i < M; i++)
        x[i] = 1.0f + rng_uniform(&r); /* never 0, so a 0 out means dropped */
    dropout_forward(out, mask, x, M, p, &r);
    float scale = 1.0f / (1.0f - p);
    int kept = 0;
    for (int i = 0; i < M; i++) {
        if (out[i] != 0.0f) {
            kept++;
            ck_assert_float_eq(out[i], x[i] * scale); /* survivors scaled by 1/(1-p) */
        }
    }
    /* binomial: the kept fraction's standard deviation is
     * sqrt(p(1-p)/M) = 0.0014, so 0.01 is seven of them */
    ck_assert_double_eq_tol((double)kept / M, 1.0 - p, 0.01);
    free(x);
    free(out);
    free(mask);
}
END_TEST

START_TEST(test_dropout_reproducible) {
    enum { M = 500 };
    float x[M], out[3][M], mask[3][M];
    for (int i = 0; i < M; i++)
        x[i] = 1.0f;
    for (int k = 0; k < 3; k++) {
        rng r;
        rng_seed_stream(&r, k < 2 ? 1337 : 1338, STREAM_DROPOUT);
        dropout_forward(out[k], mask[k], x, M, 0.5f, &r);
    }
    ck_assert_mem_eq(mask[0], mask[1], sizeof mask[0]); /* same seed, same mask */
    ck_assert(memcmp(mask[0], mask[2], sizeof mask[0]) != 0);
}
END_TEST

typedef struct {
    float *inp, *out, *mask;
    const float *probe;
    float p;
} drop_ctx;

static double drop_objective(void *p) {
    drop_ctx *c = p;
    rng r;
    rng_seed(&r, 77); /* the same mask at every evaluation */
    dropout_forward(c->out, c->mask, c->inp, N * C, c->p, &r);
    return dot_double(c->out, c->probe, N * C);
}

START_TEST(test_dropout_gradient) {
    rng r;
    rng_seed(&r, 6);
    float inp[N * C], out[N * C], mask[N * C], probe[N * C], dinp[N * C], dinp0[N * C];
    fill_normal(inp, N * C, 1.0f, &r);
    fill_normal(probe, N * C, 1.0f, &r);
    gradient_start(dinp, dinp0, N * C, &r);
    drop_ctx c = {inp, out, mask, probe, 0.3f};
    drop_objective(&c);
    dropout_backward(dinp, probe, mask, N * C);
    gradient_added(dinp, dinp0, N * C);
    ck_assert_double_lt(grad_check_elements(drop_objective, &c, inp, dinp, N * C, N * C, 1e-2f),
                        GRAD_TOL);
    /* negative control: the gradient through every element, mask ignored */
    ck_assert_double_gt(grad_check_elements(drop_objective, &c, inp, probe, N * C, N * C, 1e-2f),
                        GRAD_TOL);
}
END_TEST

/* ------------------------------------------------------------ the block */

/* tanh: a smooth activation, to check the block with no kinks at all (and
 * that the activation really is pluggable, as chapter 05's GELU will be). */
static void tanh_forward(float *out, const float *inp, size_t n) {
    for (size_t i = 0; i < n; i++)
        out[i] = tanhf(inp[i]);
}
static void tanh_backward(float *dinp, const float *inp, const float *dout, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float t = tanhf(inp[i]);
        dinp[i] += (1.0f - t * t) * dout[i];
    }
}
static const activation TANH = {"tanh", tanh_forward, tanh_backward};

/* One block (layer 0) in its own parameter table, with an input and a
 * probe: objective = sum(out * probe). */
typedef struct {
    block_config cfg;
    const layer_ops *ops;
    param_table pt;
    float *params, *grads;
    block_weights w, g;
    block_acts a, d;
    float x[N * C], dx[N * C], probe[N * C];
} block_fixture;

static void block_setup(block_fixture *f, bool bias, const activation *act, float dropout) {
    memset(f, 0, sizeof *f);
    f->cfg = (block_config){C, NH, bias, act, dropout};
    f->ops = &REFERENCE_OPS;
    error e;
    ck_assert_int_eq(block_declare(&f->pt, 0, &f->cfg, &e), 0);
    f->params = alloc_floats(f->pt.total, "params", &e);
    f->grads = alloc_floats(f->pt.total, "grads", &e);
    ck_assert_int_eq(block_view(&f->w, &f->pt, f->params, 0, &f->cfg, &e), 0);
    ck_assert_int_eq(block_view(&f->g, &f->pt, f->grads, 0, &f->cfg, &e), 0);
    ck_assert_int_eq(block_acts_alloc(&f->a, &f->cfg, B, T, &e), 0);
    ck_assert_int_eq(block_acts_alloc(&f->d, &f->cfg, B, T, &e), 0);
    rng r;
    rng_seed(&r, 8);
    /* random everything (not the 1/0 layernorm init), so every gain matters */
    fill_normal(f->params, f->pt.total, 0.3f, &r);
    fill_normal(f->x, N * C, 1.0f, &r);
    fill_normal(f->probe, N * C, 1.0f, &r);
}

static void block_teardown(block_fixture *f) {
    block_acts_free(&f->a);
    block_acts_free(&f->d);
    param_table_free(&f->pt);
    free(f->params);
    free(f->grads);
}

static double block_objective(void *p) {
    block_fixture *f = p;
    rng r;
    rng_seed(&r, 123); /* the same dropout masks at every evaluation */
    block_forward(f->ops, &f->cfg, &f->w, &f->a, f->x, B, T, true, &r);
    return dot_double(f->a.out, f->probe, N * C);
}

static uint64_t block_pieces(void *p) {
    block_fixture *f = p;
    return hash_signs(HASH_START, f->a.fc, N * MLP_MULT * C);
}

/* grads and dx = the block's gradients, from a forward and a backward pass
 * (which adds into them: they start at random values, taken off after). */
static void block_gradients(block_fixture *f) {
    rng r;
    rng_seed(&r, 124);
    float *grads0 = malloc(f->pt.total * sizeof *grads0), dx0[N * C];
    gradient_start(f->grads, grads0, f->pt.total, &r);
    gradient_start(f->dx, dx0, N * C, &r);
    block_objective(f);
    block_backward(f->ops, &f->cfg, &f->w, &f->g, &f->a, &f->d, f->dx, f->probe, f->x, B, T);
    gradient_added(f->grads, grads0, f->pt.total);
    gradient_added(f->dx, dx0, N * C);
    free(grads0);
}

/* Up to max_elems elements of x (n) against their gradient g, kink-aware:
 * the error must be small, and most elements must really be checked. */
static void assert_block_gradient(block_fixture *f, const char *name, float *x, const float *g,
                                  size_t n, size_t max_elems) {
    size_t skipped;
    double err = grad_check_elements_piecewise(block_objective, block_pieces, f, x, g, n,
                                               max_elems, EPS, &skipped);
    size_t checked = n < max_elems ? n : max_elems;
    /* a step that crosses kinks on both sides is rare: most elements count */
    ck_assert_msg(skipped * 4 <= checked, "%zu of %zu elements of %s skipped", skipped, checked,
                  name);
    ck_assert_msg(err < GRAD_TOL, "%s: error %g", name, err);
}

/* Every tensor of the block and its input. */
static void assert_block_gradients(block_fixture *f) {
    block_gradients(f);
    for (int i = 0; i < f->pt.n_tensors; i++) {
        const tensor_info *t = &f->pt.tensors[i];
        assert_block_gradient(f, t->name, f->params + t->offset, f->grads + t->offset, t->size,
                              60);
    }
    assert_block_gradient(f, "input", f->x, f->dx, N * C, N * C);
}

START_TEST(test_block_gradients) {
    /* chapter 04's block: biases, ReLU, and dropout on with fixed masks */
    block_fixture f;
    block_setup(&f, true, &RELU, 0.2f);
    ck_assert_int_eq(f.pt.n_tensors, 12);
    assert_block_gradients(&f);
    block_teardown(&f);
}
END_TEST

START_TEST(test_block_gradients_smooth_no_bias) {
    /* chapter 05's kind of block: no biases, a smooth activation - and
     * then random directions over all parameters at once, too */
    block_fixture f;
    block_setup(&f, false, &TANH, 0.0f);
    ck_assert_int_eq(f.pt.n_tensors, 6);
    ck_assert_ptr_null(f.w.attn_b);
    assert_block_gradients(&f);
    rng r;
    rng_seed(&r, 9);
    ck_assert_double_lt(grad_check_directions(block_objective, &f, f.params, f.grads,
                                              f.pt.total, 4, 1e-2f, &r),
                        GRAD_TOL);
    block_teardown(&f);
}
END_TEST

START_TEST(test_block_backward_repeats) {
    /* block_backward reuses its scratch d from call to call and clears it
     * itself: a second pass over the same activations (dropout on, the same
     * masks) gives the same gradients, bit for bit, with nothing carried
     * over from the first - in the dropped copies' gradients too */
    block_fixture f;
    block_setup(&f, true, &RELU, 0.2f);
    block_gradients(&f);
    float *grads = malloc(f.pt.total * sizeof *grads), dx[N * C];
    memcpy(grads, f.grads, f.pt.total * sizeof *grads);
    memcpy(dx, f.dx, sizeof dx);
    block_gradients(&f);
    ck_assert_mem_eq(f.grads, grads, f.pt.total * sizeof *grads);
    ck_assert_mem_eq(f.dx, dx, sizeof dx);
    free(grads);
    block_teardown(&f);
}
END_TEST

START_TEST(test_block_checker_catches_errors) {
    block_fixture f;
    block_setup(&f, true, &TANH, 0.0f);
    block_gradients(&f);
    /* the residual's term dropped: dx without the straight-through dout */
    float wrong[N * C];
    for (size_t i = 0; i < N * C; i++)
        wrong[i] = f.dx[i] - f.probe[i];
    ck_assert_double_gt(grad_check_elements(block_objective, &f, f.x, wrong, N * C, N * C, EPS),
                        GRAD_TOL);
    /* c_fc's weight gradient read as if it were stored [in, out] */
    size_t n = (size_t)MLP_MULT * C * C;
    float *w = malloc(n * sizeof *w);
    for (int o = 0; o < MLP_MULT * C; o++)
        for (int i = 0; i < C; i++)
            w[o * C + i] = f.g.fc_w[i * MLP_MULT * C + o];
    ck_assert_double_gt(grad_check_elements(block_objective, &f, f.w.fc_w, w, n, n, EPS),
                        GRAD_TOL);
    free(w);
    block_teardown(&f);
}
END_TEST

/* Counting wrappers around the reference ops: proof that the block calls
 * every heavy layer through the table (so chapter 05 can swap them). */
static struct {
    int linear_fwd, linear_bwd, scores_fwd, mix_fwd, mix_bwd, scores_bwd, ln_fwd, ln_bwd;
} calls;

static void c_linear_forward(float *out, const float *inp, const float *w, const float *bias,
                             size_t n, int c, int oc) {
    calls.linear_fwd++;
    linear_forward(out, inp, w, bias, n, c, oc);
}
static void c_linear_backward(float *dinp, float *dw, float *dbias, const float *dout,
                              const float *inp, const float *w, size_t n, int c, int oc) {
    calls.linear_bwd++;
    linear_backward(dinp, dw, dbias, dout, inp, w, n, c, oc);
}
static void c_scores_forward(float *att, const float *qkv, int b, int t, int c, int nh) {
    calls.scores_fwd++;
    multihead_scores_forward(att, qkv, b, t, c, nh);
}
static void c_mix_forward(float *out, const float *att, const float *qkv, int b, int t, int c,
                          int nh) {
    calls.mix_fwd++;
    multihead_mix_forward(out, att, qkv, b, t, c, nh);
}
static void c_mix_backward(float *datt, float *dqkv, const float *dout, const float *att,
                           const float *qkv, int b, int t, int c, int nh) {
    calls.mix_bwd++;
    multihead_mix_backward(datt, dqkv, dout, att, qkv, b, t, c, nh);
}
static void c_scores_backward(float *dqkv, float *datt, const float *att,
                              const float *qkv, int b, int t, int c, int nh) {
    calls.scores_bwd++;
    multihead_scores_backward(dqkv, datt, att, qkv, b, t, c, nh);
}
static void c_ln_forward(float *out, float *mean, float *rstd, const float *inp, const float *w,
                         const float *bias, size_t n, int c) {
    calls.ln_fwd++;
    layernorm_forward(out, mean, rstd, inp, w, bias, n, c);
}
static void c_ln_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                          const float *w, const float *mean, const float *rstd, size_t n,
                          int c) {
    calls.ln_bwd++;
    layernorm_backward(dinp, dw, db, dout, inp, w, mean, rstd, n, c);
}
static const layer_ops COUNTING_OPS = {
    c_linear_forward, c_linear_backward, c_scores_forward,  c_mix_forward,
    c_mix_backward,   c_scores_backward, c_ln_forward,      c_ln_backward,
};

START_TEST(test_block_calls_layers_through_ops) {
    block_fixture ref, counted;
    block_setup(&ref, true, &RELU, 0.1f);
    block_setup(&counted, true, &RELU, 0.1f);
    counted.ops = &COUNTING_OPS;
    memset(&calls, 0, sizeof calls);
    block_gradients(&ref);
    block_gradients(&counted);
    ck_assert_int_eq(calls.linear_fwd, 4); /* c_attn, attn c_proj, c_fc, mlp c_proj */
    ck_assert_int_eq(calls.linear_bwd, 4);
    ck_assert_int_eq(calls.scores_fwd, 1);
    ck_assert_int_eq(calls.mix_fwd, 1);
    ck_assert_int_eq(calls.mix_bwd, 1);
    ck_assert_int_eq(calls.scores_bwd, 1);
    ck_assert_int_eq(calls.ln_fwd, 2); /* ln_1, ln_2 */
    ck_assert_int_eq(calls.ln_bwd, 2);
    /* and nothing else did the work: the results are the reference's */
    ck_assert_mem_eq(ref.a.out, counted.a.out, N * C * sizeof(float));
    ck_assert_mem_eq(ref.grads, counted.grads, ref.pt.total * sizeof(float));
    ck_assert_mem_eq(ref.dx, counted.dx, sizeof ref.dx);
    block_teardown(&ref);
    block_teardown(&counted);
}
END_TEST

START_TEST(test_block_names_and_views) {
    block_fixture f;
    block_setup(&f, true, &RELU, 0.0f);
    const tensor_info *t = param_table_find(&f.pt, "transformer.h.0.attn.c_attn.weight");
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(t->shape[0], 3 * C);
    ck_assert_uint_eq(t->shape[1], C);
    ck_assert_ptr_eq(f.w.attn_w, f.params + t->offset); /* the view points into the buffer */
    ck_assert_ptr_eq(f.g.attn_w, f.grads + t->offset);
    t = param_table_find(&f.pt, "transformer.h.0.mlp.c_proj.weight");
    ck_assert_ptr_nonnull(t);
    ck_assert_uint_eq(t->shape[0], C);
    ck_assert_uint_eq(t->shape[1], MLP_MULT * C);
    ck_assert_ptr_nonnull(param_table_find(&f.pt, "transformer.h.0.ln_2.bias"));
    /* a layer that was never declared is a clear error */
    block_weights w;
    error e;
    ck_assert_int_eq(block_view(&w, &f.pt, f.params, 1, &f.cfg, &e), -1);
    ck_assert_str_eq(e.msg, "no tensor named transformer.h.1.ln_1.weight was declared");
    /* PyTorch's init: layernorm gains 1, biases 0, linears within 1/sqrt(fan_in) */
    rng r;
    rng_seed(&r, 10);
    block_init_pytorch(&f.w, &f.cfg, &r);
    ck_assert_float_eq(f.w.ln_1_w[3], 1.0f);
    ck_assert_float_eq(f.w.ln_2_b[5], 0.0f);
    for (int i = 0; i < C * MLP_MULT * C; i++)
        ck_assert_float_le(fabsf(f.w.mlp_proj_w[i]), 1.0f / sqrtf(MLP_MULT * C));
    block_teardown(&f);
}
END_TEST

/* ------------------------------------------------------------ the model */

typedef struct {
    transformer_model m;
    model_ctx ctx;
    int x[16 * 64], y[16 * 64];
} fixture;

static uint64_t model_pieces(const void *model) {
    const transformer_model *m = model;
    size_t n = (size_t)m->base.B * m->base.T * MLP_MULT * m->base.C;
    uint64_t h = HASH_START;
    for (int l = 0; l < m->cfg.n_layer; l++)
        h = hash_signs(h, m->acts[l].fc, n);
    return h;
}

static void make_model(fixture *f, int V_, int C_, int NH_, int L, bool bias, float dropout,
                       int B_, int T_, uint64_t seed) {
    transformer_config cfg = {V_, L, {C_, NH_, bias, &RELU, dropout}, B_, T_};
    rng r;
    rng_seed(&r, seed);
    error e;
    ck_assert_msg(transformer_init(&f->m, &cfg, &REFERENCE_OPS, &r, seed, &e) == 0, "%s", e.msg);
    random_batch(f->x, f->y, (size_t)B_ * T_, V_, &r);
    f->ctx = (model_ctx){transformer_language_model(&f->m), f->m.base.losses, f->x, f->y, B_, T_,
                         model_pieces};
}

START_TEST(test_model_gradients) {
    /* dropout is configured but, as in evaluation, off */
    for (int bias = 0; bias < 2; bias++) {
        fixture f;
        make_model(&f, V, C, NH, 2, bias, 0.1f, B, T, 11);
        f.ctx.lm.set_training(f.ctx.lm.self, false);
        assert_model_gradients(&f.ctx, 40, 0, EPS);
        transformer_free(&f.m);
    }
}
END_TEST

START_TEST(test_model_checker_catches_errors) {
    fixture f;
    make_model(&f, V, C, NH, 2, true, 0.0f, B, T, 11);
    assert_checker_catches_errors(&f.ctx, "transformer.h.1.attn.c_proj.weight", EPS);
    transformer_free(&f.m);
}
END_TEST

START_TEST(test_model_tensors) {
    fixture f;
    make_model(&f, V, C, NH, 3, true, 0.0f, B, T, 12);
    const param_table *pt = &f.m.base.table;
    /* embeddings 2, 12 per block, ln_f 2, lm_head 2 */
    ck_assert_int_eq(pt->n_tensors, 2 + 3 * 12 + 2 + 2);
    ck_assert_ptr_nonnull(param_table_find(pt, "transformer.h.2.mlp.c_fc.bias"));
    ck_assert_ptr_nonnull(param_table_find(pt, "transformer.ln_f.weight"));
    ck_assert_float_eq(f.m.fw.ln_f_w[0], 1.0f);
    transformer_free(&f.m);
}
END_TEST

START_TEST(test_model_rejects_empty_stack) {
    /* no blocks: nothing would feed ln_f, so it is an error, not a crash */
    transformer_config cfg = {V, 0, {C, NH, true, &RELU, 0.0f}, B, T};
    transformer_model m;
    rng r;
    rng_seed(&r, 1);
    error e = {{0}};
    ck_assert_int_eq(transformer_init(&m, &cfg, &REFERENCE_OPS, &r, 1, &e), -1);
    ck_assert_str_eq(e.msg, "n_layer 0: the stack needs at least 1 block");
}
END_TEST

START_TEST(test_model_is_causal) {
    fixture f;
    make_model(&f, V, C, NH, 2, true, 0.2f, 3, 6, 13);
    f.ctx.lm.set_training(f.ctx.lm.self, false);
    rng r;
    rng_seed(&r, 14);
    assert_causal(&f.ctx.lm, V, 3, 6, &r);
    transformer_free(&f.m);
}
END_TEST

START_TEST(test_dropout_only_while_training) {
    fixture f;
    make_model(&f, V, C, NH, 2, true, 0.3f, B, T, 15);
    language_model *lm = &f.ctx.lm;
    lm->set_training(lm->self, false);
    float eval1 = lm->forward(lm->self, f.x, f.y, B, T);
    float eval2 = lm->forward(lm->self, f.x, f.y, B, T);
    ck_assert_float_eq(eval1, eval2); /* off: deterministic */
    lm->set_training(lm->self, true);
    float train1 = lm->forward(lm->self, f.x, f.y, B, T);
    float train2 = lm->forward(lm->self, f.x, f.y, B, T);
    ck_assert_float_ne(train1, train2); /* on: a new mask every pass */
    ck_assert_float_ne(train1, eval1);
    lm->set_training(lm->self, false);
    ck_assert_float_eq(lm->forward(lm->self, f.x, f.y, B, T), eval1);
    transformer_free(&f.m);
}
END_TEST

START_TEST(test_model_same_for_1_and_2_threads) {
    /* large enough that every loop the model splits across threads really
     * is split (common/parallel.h): attention, the linear layers, the
     * layernorms and residual adds over N*C */
    enum { VOCAB = 65, CC = 64, HEADS = 4, BB = 16, TT = 64 };
    size_t n = (size_t)BB * TT;
    ck_assert_uint_ge(multihead_work(BB, TT, HEADS), PARALLEL_MIN_WORK);
    ck_assert_uint_ge(linear_work(n, CC, CC), PARALLEL_MIN_WORK);
    ck_assert_uint_ge(n * CC, PARALLEL_MIN_WORK);
    fixture f;
    make_model(&f, VOCAB, CC, HEADS, 2, true, 0.0f, BB, TT, 16);
    assert_same_for_1_and_2_threads(&f.ctx);
    transformer_free(&f.m);
}
END_TEST

START_TEST(test_untrained_loss_near_ln_vocab) {
    /* ln_f hands lm_head unit-variance features, and PyTorch's uniform
     * init gives the logits a variance of about 1/3: cross-entropy then
     * exceeds ln(V) by about half that, ~0.17, so within 0.4 of ln(V) */
    enum { VOCAB = 65 };
    fixture f;
    make_model(&f, VOCAB, 32, 4, 3, true, 0.0f, 8, 8, 1337);
    ck_assert_double_eq_tol(model_objective(&f.ctx), log(VOCAB), 0.4);
    transformer_free(&f.m);
}
END_TEST

static Suite *block_suite(void) {
    Suite *s = suite_create("04-block");
    TCase *tc = tcase_create("layers");
    tcase_add_test(tc, test_layernorm_normalises_rows);
    tcase_add_test(tc, test_layernorm_gradients);
    tcase_add_test(tc, test_residual_gradient);
    tcase_add_test(tc, test_dropout_off_is_exact_copy);
    tcase_add_test(tc, test_dropout_keeps_and_scales);
    tcase_add_test(tc, test_dropout_reproducible);
    tcase_add_test(tc, test_dropout_gradient);
    suite_add_tcase(s, tc);

    tc = tcase_create("block");
    tcase_add_test(tc, test_block_gradients);
    tcase_add_test(tc, test_block_gradients_smooth_no_bias);
    tcase_add_test(tc, test_block_backward_repeats);
    tcase_add_test(tc, test_block_checker_catches_errors);
    tcase_add_test(tc, test_block_calls_layers_through_ops);
    tcase_add_test(tc, test_block_names_and_views);
    suite_add_tcase(s, tc);

    tc = tcase_create("model");
    tcase_add_test(tc, test_model_gradients);
    tcase_add_test(tc, test_model_checker_catches_errors);
    tcase_add_test(tc, test_model_tensors);
    tcase_add_test(tc, test_model_rejects_empty_stack);
    tcase_add_test(tc, test_model_is_causal);
    tcase_add_test(tc, test_dropout_only_while_training);
    tcase_add_test(tc, test_model_same_for_1_and_2_threads);
    tcase_add_test(tc, test_untrained_loss_near_ln_vocab);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(block_suite()); }
