/*
 * test_03_multihead.c - claims about chapter 03: multi-head attention is
 * chapter 02's head run on slices of qkv, side by side; its backward, ReLU's
 * and the whole model's (with and without the feed-forward network) are
 * true gradients; the model is causal, independent of the thread count,
 * and starts near ln(V).
 */
#include <check.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "../02-self-attention/attention.h"
#include "../02-self-attention/linear.h"
#include "../03-multihead/feedforward.h"
#include "../03-multihead/model.h"
#include "../03-multihead/multihead.h"
#include "../common/parallel.h"
#include "modelutil.h"
#include "testutil.h"

/* Distinct, non-square sizes: a transposed index cannot hide. */
enum { B = 2, T = 5, C = 12, NH = 3, HS = C / NH, V = 7 };
#define N ((size_t)B * T)
#define EPS 3e-3f

/* ------------------------------------------------------------ multi-head */

START_TEST(test_heads_side_by_side) {
    /* head h of row b is chapter 02's attention on columns h*hs.. of the
     * q, k and v thirds, written to the same columns of out */
    rng r;
    rng_seed(&r, 1);
    float qkv[N * 3 * C], att[B * NH * T * T], out[N * C];
    fill_normal(qkv, N * 3 * C, 1.0f, &r);
    multihead_scores_forward(att, qkv, B, T, C, NH);
    multihead_mix_forward(out, att, qkv, B, T, C, NH);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            float q[T * HS], k[T * HS], v[T * HS], a[T * T], o[T * HS];
            for (int t = 0; t < T; t++)
                for (int i = 0; i < HS; i++) {
                    const float *row = qkv + ((size_t)b * T + t) * 3 * C + h * HS + i;
                    q[t * HS + i] = row[0];
                    k[t * HS + i] = row[C];
                    v[t * HS + i] = row[2 * C];
                }
            attention_scores_forward(a, q, k, T, HS, HS);
            attention_mix_forward(o, a, v, T, HS, HS, HS);
            ck_assert_mem_eq(a, att + ((size_t)b * NH + h) * T * T, sizeof a);
            for (int t = 0; t < T; t++)
                ck_assert_mem_eq(o + t * HS, out + ((size_t)b * T + t) * C + h * HS,
                                 HS * sizeof(float));
        }
}
END_TEST

typedef struct {
    float *qkv, *att, *out;
    const float *probe;
} mh_ctx;

static double mh_objective(void *p) {
    mh_ctx *c = p;
    multihead_scores_forward(c->att, c->qkv, B, T, C, NH);
    multihead_mix_forward(c->out, c->att, c->qkv, B, T, C, NH);
    return dot_double(c->out, c->probe, N * C);
}

/* dqkv (N,3C) for the objective, from the backward functions: what they
 * add to a dqkv that starts at random values (datt, the gradient between
 * them, starts at 0). */
static void mh_backward(mh_ctx *c, float *dqkv, rng *r) {
    float datt[B * NH * T * T] = {0}, dqkv0[N * 3 * C];
    gradient_start(dqkv, dqkv0, N * 3 * C, r);
    mh_objective(c);
    multihead_mix_backward(datt, dqkv, c->probe, c->att, c->qkv, B, T, C, NH);
    multihead_scores_backward(dqkv, datt, c->att, c->qkv, B, T, C, NH);
    gradient_added(dqkv, dqkv0, N * 3 * C);
}

START_TEST(test_multihead_gradient) {
    rng r;
    rng_seed(&r, 2);
    float qkv[N * 3 * C], att[B * NH * T * T], out[N * C], probe[N * C], dqkv[N * 3 * C];
    fill_normal(qkv, N * 3 * C, 1.0f, &r);
    fill_normal(probe, N * C, 1.0f, &r);
    mh_ctx c = {qkv, att, out, probe};
    mh_backward(&c, dqkv, &r);
    ck_assert_double_lt(
        grad_check_elements(mh_objective, &c, qkv, dqkv, N * 3 * C, N * 3 * C, EPS), GRAD_TOL);
    ck_assert_double_lt(
        grad_check_directions(mh_objective, &c, qkv, dqkv, N * 3 * C, 4, EPS, &r), GRAD_TOL);

    /* negative control: head 0's and head 1's key gradients swapped */
    float wrong[N * 3 * C];
    memcpy(wrong, dqkv, sizeof wrong);
    for (size_t n = 0; n < N; n++)
        for (int i = 0; i < HS; i++) {
            float *k = wrong + n * 3 * C + C;
            float keep = k[i];
            k[i] = k[HS + i];
            k[HS + i] = keep;
        }
    ck_assert_double_gt(
        grad_check_elements(mh_objective, &c, qkv, wrong, N * 3 * C, N * 3 * C, EPS), GRAD_TOL);
}
END_TEST

START_TEST(test_multihead_same_for_1_and_2_threads) {
    /* enough (batch row, head) pairs of T x T weights that the loops are
     * split across threads (common/parallel.h) */
    enum { BB = 16, TT = 64 };
    ck_assert_uint_ge(multihead_work(BB, TT, NH), PARALLEL_MIN_WORK);
    rng r;
    rng_seed(&r, 3);
    size_t n = (size_t)BB * TT;
    float *qkv = malloc(n * 3 * C * sizeof *qkv), *out[2], *dqkv[2];
    float *att = malloc((size_t)BB * NH * TT * TT * sizeof *att);
    float *datt = malloc((size_t)BB * NH * TT * TT * sizeof *datt);
    fill_normal(qkv, n * 3 * C, 1.0f, &r);
    for (int k = 0; k < 2; k++) {
        omp_set_dynamic(0);
        omp_set_num_threads(k + 1);
        ck_assert_int_eq(threads_in_a_team(), k + 1);
        out[k] = malloc(n * C * sizeof(float));
        dqkv[k] = calloc(n * 3 * C, sizeof(float));
        memset(datt, 0, (size_t)BB * NH * TT * TT * sizeof *datt);
        multihead_scores_forward(att, qkv, BB, TT, C, NH);
        multihead_mix_forward(out[k], att, qkv, BB, TT, C, NH);
        multihead_mix_backward(datt, dqkv[k], out[k], att, qkv, BB, TT, C, NH);
        multihead_scores_backward(dqkv[k], datt, att, qkv, BB, TT, C, NH);
    }
    ck_assert_mem_eq(out[0], out[1], n * C * sizeof(float));
    ck_assert_mem_eq(dqkv[0], dqkv[1], n * 3 * C * sizeof(float));
    for (int k = 0; k < 2; k++) {
        free(out[k]);
        free(dqkv[k]);
    }
    free(qkv);
    free(att);
    free(datt);
}
END_TEST

/* ------------------------------------------------------------ ReLU */

typedef struct {
    float *inp, *out;
    const float *probe;
    size_t n;
} relu_ctx;

static double relu_objective(void *p) {
    relu_ctx *c = p;
    relu_forward(c->out, c->inp, c->n);
    return dot_double(c->out, c->probe, c->n);
}

START_TEST(test_relu) {
    enum { M = 40 };
    rng r;
    rng_seed(&r, 4);
    float inp[M], out[M], probe[M], dinp[M], dinp0[M];
    fill_normal(probe, M, 1.0f, &r);
    gradient_start(dinp, dinp0, M, &r);
    for (int i = 0; i < M; i++) /* keep away from the kink at 0, where */
        inp[i] = (i % 2 ? 1.0f : -1.0f) * (0.1f + rng_uniform(&r)); /* no derivative exists */
    relu_ctx c = {inp, out, probe, M};
    relu_objective(&c);
    for (int i = 0; i < M; i++)
        ck_assert_float_eq(out[i], inp[i] > 0 ? inp[i] : 0.0f);
    relu_backward(dinp, inp, probe, M);
    gradient_added(dinp, dinp0, M);
    ck_assert_double_lt(grad_check_elements(relu_objective, &c, inp, dinp, M, M, EPS), GRAD_TOL);
    /* negative control: the gradient let through everywhere (no mask) */
    ck_assert_double_gt(grad_check_elements(relu_objective, &c, inp, probe, M, M, EPS), GRAD_TOL);
}
END_TEST

/* ------------------------------------------------------------ the model */

typedef struct {
    multihead_model m;
    model_ctx ctx;
    int x[16 * 64], y[16 * 64];
} fixture;

/* Which side of 0 every ReLU input was on in the last forward (only the
 * feed-forward network has ReLUs). */
static uint64_t relu_pieces(const void *model) {
    const multihead_model *m = model;
    return hash_signs(HASH_START, m->fc, (size_t)m->base.B * m->base.T * MLP_MULT * m->base.C);
}

static void make_model(fixture *f, int V_, int C_, int NH_, bool ffn, int B_, int T_,
                       uint64_t seed) {
    rng r;
    rng_seed(&r, seed);
    error e;
    ck_assert_msg(multihead_model_init(&f->m, V_, C_, NH_, ffn, B_, T_, &r, &e) == 0, "%s",
                  e.msg);
    random_batch(f->x, f->y, (size_t)B_ * T_, V_, &r);
    /* without the feed-forward network the model is smooth: no pieces, so
     * the gradient check also runs along random directions */
    f->ctx = (model_ctx){multihead_language_model(&f->m), f->m.base.losses, f->x, f->y, B_, T_,
                         ffn ? relu_pieces : NULL};
}

START_TEST(test_model_gradients) {
    for (int ffn = 0; ffn < 2; ffn++) {
        fixture f;
        make_model(&f, V, C, NH, ffn, B, T, 5);
        assert_model_gradients(&f.ctx, 40, 4, EPS);
        multihead_model_free(&f.m);
    }
}
END_TEST

START_TEST(test_model_checker_catches_errors) {
    fixture f;
    make_model(&f, V, C, NH, true, B, T, 5);
    assert_checker_catches_errors(&f.ctx, "attn.c_attn.weight", EPS);
    multihead_model_free(&f.m);
}
END_TEST

START_TEST(test_model_tensors) {
    fixture with, without;
    make_model(&with, V, C, NH, true, B, T, 6);
    make_model(&without, V, C, NH, false, B, T, 6);
    const param_table *pt = &with.m.base.table;
    const tensor_info *attn = param_table_find(pt, "attn.c_attn.weight");
    ck_assert_ptr_nonnull(attn);
    ck_assert_uint_eq(attn->shape[0], 3 * C); /* [out, in]: q | k | v rows */
    ck_assert_uint_eq(attn->shape[1], C);
    const tensor_info *fp = param_table_find(pt, "mlp.c_proj.weight");
    ck_assert_ptr_nonnull(fp);
    ck_assert_uint_eq(fp->shape[0], C);
    ck_assert_uint_eq(fp->shape[1], MLP_MULT * C);
    /* --no-ffn: the four mlp tensors are not there at all */
    ck_assert_int_eq(with.m.base.table.n_tensors, without.m.base.table.n_tensors + 4);
    ck_assert_ptr_null(param_table_find(&without.m.base.table, "mlp.c_fc.weight"));
    /* c_fc (F,C) + (F) and c_proj (C,F) + (C), F = MLP_MULT * C */
    ck_assert_uint_eq(with.m.base.table.total - without.m.base.table.total,
                      (size_t)2 * MLP_MULT * C * C + MLP_MULT * C + C);
    multihead_model_free(&with.m);
    multihead_model_free(&without.m);
}
END_TEST

START_TEST(test_model_rejects_indivisible_heads) {
    multihead_model m;
    rng r;
    rng_seed(&r, 1);
    error e = {{0}};
    ck_assert_int_eq(multihead_model_init(&m, V, 10, 4, true, B, T, &r, &e), -1);
    ck_assert_str_eq(e.msg, "n_embd 10 is not divisible by n_head 4");
}
END_TEST

START_TEST(test_model_is_causal) {
    fixture f;
    make_model(&f, V, C, NH, true, 3, 6, 7);
    rng r;
    rng_seed(&r, 8);
    assert_causal(&f.ctx.lm, V, 3, 6, &r);
    multihead_model_free(&f.m);
}
END_TEST

START_TEST(test_model_same_for_1_and_2_threads) {
    /* large enough that every loop the model splits across threads really
     * is split (common/parallel.h), as in chapter 02's test */
    enum { VOCAB = 65, CC = 64, HEADS = 4, BB = 16, TT = 64 };
    size_t n = (size_t)BB * TT;
    ck_assert_uint_ge(multihead_work(BB, TT, HEADS), PARALLEL_MIN_WORK);
    ck_assert_uint_ge(linear_work(n, CC, MLP_MULT * CC), PARALLEL_MIN_WORK);
    ck_assert_uint_ge(n * CC, PARALLEL_MIN_WORK);
    fixture f;
    make_model(&f, VOCAB, CC, HEADS, true, BB, TT, 9);
    assert_same_for_1_and_2_threads(&f.ctx);
    multihead_model_free(&f.m);
}
END_TEST

START_TEST(test_untrained_loss_near_ln_vocab) {
    /* The logits start small (PyTorch's uniform init shrinks each linear's
     * output variance to about a third of its input's), and for small
     * random logits cross-entropy exceeds ln(V) by about half their
     * variance: the first loss is within 0.3 of ln(V). */
    enum { VOCAB = 65 };
    for (int ffn = 0; ffn < 2; ffn++) {
        fixture f;
        make_model(&f, VOCAB, 32, 4, ffn, 8, 8, 1337);
        ck_assert_double_eq_tol(model_objective(&f.ctx), log(VOCAB), 0.3);
        multihead_model_free(&f.m);
    }
}
END_TEST

static Suite *multihead_suite(void) {
    Suite *s = suite_create("03-multihead");
    TCase *tc = tcase_create("layers");
    tcase_add_test(tc, test_heads_side_by_side);
    tcase_add_test(tc, test_multihead_gradient);
    tcase_add_test(tc, test_multihead_same_for_1_and_2_threads);
    tcase_add_test(tc, test_relu);
    suite_add_tcase(s, tc);

    tc = tcase_create("model");
    tcase_add_test(tc, test_model_gradients);
    tcase_add_test(tc, test_model_checker_catches_errors);
    tcase_add_test(tc, test_model_tensors);
    tcase_add_test(tc, test_model_rejects_indivisible_heads);
    tcase_add_test(tc, test_model_is_causal);
    tcase_add_test(tc, test_model_same_for_1_and_2_threads);
    tcase_add_test(tc, test_untrained_loss_near_ln_vocab);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return run_suite(multihead_suite()); }
