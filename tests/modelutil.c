/* modelutil.c - see modelutil.h. */
#include "modelutil.h"

#include <check.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

double model_objective(void *ctx) {
    model_ctx *c = ctx;
    c->lm.forward(c->lm.self, c->x, c->y, c->B, c->T);
    size_t N = (size_t)c->B * c->T;
    double sum = 0.0;
    for (size_t i = 0; i < N; i++)
        sum += c->losses[i];
    return sum / (double)N;
}

void random_batch(int *x, int *y, size_t n, int V, rng *r) {
    for (size_t i = 0; i < n; i++) {
        x[i] = (int)rng_below(r, (uint64_t)V);
        y[i] = (int)rng_below(r, (uint64_t)V);
    }
}

float fill_gradients(model_ctx *c) {
    language_model *lm = &c->lm;
    float loss = lm->forward(lm->self, c->x, c->y, c->B, c->T);
    memset(lm->grads, 0, lm->table->total * sizeof *lm->grads);
    lm->backward(lm->self);
    return loss;
}

static uint64_t model_piece(void *ctx) {
    model_ctx *c = ctx;
    return c->piece(c->lm.self);
}

static uint64_t one_piece(void *ctx) {
    (void)ctx;
    return 0;
}

/* The error of gradient g (t->size) of tensor t, as grad_check_elements
 * defines it, with f's finite differences taken at params (kink-aware
 * through piece; NULL for a smooth f). *skipped: elements whose steps
 * both crossed a kink. */
static double tensor_error(objective_fn f, piece_fn piece, void *ctx, float *params,
                           const tensor_info *t, const float *g, size_t max_elems, float eps,
                           size_t *skipped) {
    double err = grad_check_elements_piecewise(f, piece ? piece : one_piece, ctx,
                                               params + t->offset, g, t->size, max_elems, eps,
                                               skipped);
    size_t checked = t->size < max_elems ? t->size : max_elems;
    /* a step that crosses kinks on both sides is rare: most elements count */
    ck_assert_msg(*skipped * 4 <= checked, "%zu of %zu elements of %s skipped", *skipped,
                  checked, t->name);
    return err;
}

/* Checks grads (the table's layout) against finite differences of f at
 * params, tensor by tensor: up to max_elems elements (kink-aware through
 * piece), then, for a smooth f (piece NULL), n_dirs directions within the
 * tensor, which see errors spread thinly over many elements. */
static void assert_every_tensor(objective_fn f, piece_fn piece, void *ctx, const param_table *pt,
                                float *params, const float *grads, size_t max_elems, int n_dirs,
                                float eps) {
    rng r;
    rng_seed(&r, 99);
    for (int i = 0; i < pt->n_tensors; i++) {
        const tensor_info *t = &pt->tensors[i];
        const float *g = grads + t->offset;
        size_t skipped;
        double elems = tensor_error(f, piece, ctx, params, t, g, max_elems, eps, &skipped);
        /* a random direction moves every ReLU input: kinks everywhere */
        double dirs = piece ? 0.0
                            : grad_check_directions(f, ctx, params + t->offset, g, t->size,
                                                    n_dirs, eps, &r);
        if (getenv("GRAD_VERBOSE")) {
            fprintf(stderr, "%-40s elements %.2e (%zu skipped), ", t->name, elems, skipped);
            if (piece)
                fprintf(stderr, "directions not checked (kinks)\n");
            else
                fprintf(stderr, "directions %.2e\n", dirs);
        }
        ck_assert_msg(elems < GRAD_TOL && dirs < GRAD_TOL,
                      "gradient of %s is off: element error %g, direction error %g", t->name,
                      elems, dirs);
    }
}

/* The backward pass adds (+=) into grads, as language_model says: from
 * random values, what it added is g, the gradient from zero. (A `=` where
 * `+=` belongs differs by the random start, far past the tolerance, which
 * only covers rounding the sums: start + g - start is g to ~1e-7 |start|.) */
static void assert_backward_adds(model_ctx *c, const float *g) {
    language_model *lm = &c->lm;
    size_t P = lm->table->total;
    float *start = malloc(P * sizeof *start), *g_zero = malloc(P * sizeof *g_zero);
    memcpy(g_zero, g, P * sizeof *g_zero);
    rng r;
    rng_seed(&r, 97);
    gradient_start(lm->grads, start, P, &r);
    lm->forward(lm->self, c->x, c->y, c->B, c->T);
    lm->backward(lm->self);
    gradient_added(lm->grads, start, P);
    float d = rel_diff(g_zero, lm->grads, P);
    ck_assert_msg(d < 1e-3f, "the backward pass does not add into grads: difference %g", d);
    memcpy(lm->grads, g_zero, P * sizeof *g_zero);
    free(start);
    free(g_zero);
}

void assert_model_gradients(model_ctx *c, size_t max_elems, int n_dirs, float eps) {
    fill_gradients(c);
    assert_backward_adds(c, c->lm.grads);
    language_model *lm = &c->lm;
    assert_every_tensor(model_objective, c->piece ? model_piece : NULL, c, lm->table, lm->params,
                        lm->grads, max_elems, n_dirs, eps);
}

/* The model's loss under the dropout masks that the stream's state `start`
 * draws: the stream is rewound before every forward. */
typedef struct {
    model_ctx *c;
    rng *stream; /* the model's dropout stream */
    rng start;   /* its state before the first pass */
} same_masks_ctx;

static double same_masks_objective(void *ctx) {
    same_masks_ctx *s = ctx;
    *s->stream = s->start;
    return model_objective(s->c);
}

void assert_dropout_gradients(model_ctx *c, rng *dropout, size_t max_elems, int n_dirs,
                              float eps) {
    ck_assert_msg(c->piece == NULL, "the dropout check needs a smooth model");
    language_model *lm = &c->lm;
    size_t P = lm->table->total;
    lm->set_training(lm->self, true);
    same_masks_ctx s = {c, dropout, *dropout};
    float *g = malloc(P * sizeof *g), *g_other = malloc(P * sizeof *g_other);
    fill_gradients(c); /* under the masks of `start` */
    memcpy(g, lm->grads, P * sizeof *g);
    fill_gradients(c); /* the stream has moved on: other masks */
    memcpy(g_other, lm->grads, P * sizeof *g_other);
    assert_every_tensor(same_masks_objective, NULL, &s, lm->table, lm->params, g, max_elems,
                        n_dirs, eps);
    rng r;
    rng_seed(&r, 98);
    assert_dropout_gradient(same_masks_objective, &s, lm->params, g, g_other, P, eps, &r);
    free(g);
    free(g_other);
}

void assert_checker_catches_errors(model_ctx *c, const char *tensor, float eps) {
    fill_gradients(c);
    piece_fn piece = c->piece ? model_piece : NULL;
    size_t skipped;
    const tensor_info *t = param_table_find(c->lm.table, tensor);
    ck_assert_ptr_nonnull(t);
    float *wrong = malloc(t->size * sizeof *wrong);
    /* a wrong sign */
    for (size_t i = 0; i < t->size; i++)
        wrong[i] = -c->lm.grads[t->offset + i];
    ck_assert_double_gt(tensor_error(model_objective, piece, c, c->lm.params, t, wrong, t->size,
                                     eps, &skipped),
                        GRAD_TOL);
    /* a misplaced gradient: the largest element's value swapped with
     * another element's (the kind of error a wrong index makes) */
    size_t big = 0;
    memcpy(wrong, c->lm.grads + t->offset, t->size * sizeof *wrong);
    for (size_t i = 0; i < t->size; i++)
        if (fabsf(wrong[i]) > fabsf(wrong[big]))
            big = i;
    size_t other = (big + t->size / 2 + 1) % t->size;
    float saved = wrong[big];
    wrong[big] = wrong[other];
    wrong[other] = saved;
    ck_assert_double_gt(tensor_error(model_objective, piece, c, c->lm.params, t, wrong, t->size,
                                     eps, &skipped),
                        GRAD_TOL);
    free(wrong);
}

/* logits (B,T,V) of one forward, copied to out. */
static void logits_of(language_model *lm, const int *x, int B, int T, float *out) {
    lm->forward(lm->self, x, NULL, B, T);
    memcpy(out, lm->logits(lm->self), (size_t)B * T * lm->vocab_size * sizeof *out);
}

void assert_causal(language_model *lm, int V, int B, int T, rng *r) {
    size_t N = (size_t)B * T, L = N * V;
    int *x = malloc(N * sizeof *x), *x2 = malloc(N * sizeof *x2);
    float *base = malloc(L * sizeof *base), *changed = malloc(L * sizeof *changed);
    for (size_t i = 0; i < N; i++)
        x[i] = (int)rng_below(r, (uint64_t)V);
    logits_of(lm, x, B, T, base);
    for (int t = 0; t < T; t++) {
        /* the future: every token after t replaced */
        memcpy(x2, x, N * sizeof *x);
        for (int b = 0; b < B; b++)
            for (int s = t + 1; s < T; s++)
                x2[b * T + s] = (x[b * T + s] + 1 + (int)rng_below(r, (uint64_t)V - 1)) % V;
        logits_of(lm, x2, B, T, changed);
        for (int b = 0; b < B; b++) {
            size_t first = (size_t)b * T * V, upto = (size_t)(t + 1) * V;
            ck_assert_msg(memcmp(base + first, changed + first, upto * sizeof *base) == 0,
                          "logits at positions <= %d changed when later tokens did", t);
        }
        /* the past: the token at t replaced must reach the last position */
        memcpy(x2, x, N * sizeof *x);
        for (int b = 0; b < B; b++)
            x2[b * T + t] = (x[b * T + t] + 1) % V;
        logits_of(lm, x2, B, T, changed);
        for (int b = 0; b < B; b++) {
            size_t last = ((size_t)b * T + T - 1) * V;
            ck_assert_msg(max_abs_diff(base + last, changed + last, (size_t)V) > 0.0f,
                          "the last position did not notice a change at position %d", t);
        }
    }
    free(x);
    free(x2);
    free(base);
    free(changed);
}

int threads_in_a_team(void) {
    int n = 0;
#pragma omp parallel
    {
#pragma omp single
        n = omp_get_num_threads();
    }
    return n;
}

/* loss, logits (B,T,V) and grads after one forward and backward pass. */
static float pass(model_ctx *c, float *logits, float *grads) {
    language_model *lm = &c->lm;
    float loss = lm->forward(lm->self, c->x, c->y, c->B, c->T);
    memcpy(logits, lm->logits(lm->self), (size_t)c->B * c->T * lm->vocab_size * sizeof *logits);
    memset(lm->grads, 0, lm->table->total * sizeof *lm->grads);
    lm->backward(lm->self);
    memcpy(grads, lm->grads, lm->table->total * sizeof *grads);
    return loss;
}

void assert_same_for_1_and_2_threads(model_ctx *c) {
    size_t L = (size_t)c->B * c->T * c->lm.vocab_size, P = c->lm.table->total;
    float *logits[2] = {malloc(L * sizeof(float)), malloc(L * sizeof(float))};
    float *grads[2] = {malloc(P * sizeof(float)), malloc(P * sizeof(float))};
    float loss[2];
    int threads_before = omp_get_max_threads(), dynamic_before = omp_get_dynamic();
    int team[2];
    for (int k = 0; k < 2; k++) {
        omp_set_dynamic(0); /* exactly the number asked for */
        omp_set_num_threads(k + 1);
        team[k] = threads_in_a_team();
        loss[k] = pass(c, logits[k], grads[k]);
    }
    /* as it was: without CK_FORK (under valgrind) the next tests share this
     * process, and two threads there cost minutes */
    omp_set_num_threads(threads_before);
    omp_set_dynamic(dynamic_before);
    ck_assert_int_eq(team[0], 1);
    ck_assert_int_eq(team[1], 2); /* two threads really ran */
    ck_assert_msg(loss[0] == loss[1], "loss %.9g with 1 thread, %.9g with 2", loss[0], loss[1]);
    ck_assert_msg(memcmp(logits[0], logits[1], L * sizeof(float)) == 0, "logits differ");
    ck_assert_msg(memcmp(grads[0], grads[1], P * sizeof(float)) == 0, "gradients differ");
    for (int k = 0; k < 2; k++) {
        free(logits[k]);
        free(grads[k]);
    }
}
