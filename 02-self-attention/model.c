/* model.c - chapter 02's model: one self-attention head between the
 * embeddings and lm_head; see model.h. */
#include "model.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../common/parallel.h"
#include "attention.h"
#include "linear.h"

#define VIEW(field) offsetof(head_weights, field)

enum { N_HEAD_TENSORS = 3 };

static void head_specs(int C, tensor_spec specs[N_HEAD_TENSORS]) {
    specs[0] = (tensor_spec){"query.weight", (size_t)C, (size_t)C, VIEW(wq)};
    specs[1] = (tensor_spec){"key.weight", (size_t)C, (size_t)C, VIEW(wk)};
    specs[2] = (tensor_spec){"value.weight", (size_t)C, (size_t)C, VIEW(wv)};
}

static void layout(attention_model *m, float_arena *a) {
    size_t N = (size_t)m->base.max_B * m->base.max_T, C = (size_t)m->base.C;
    size_t TT = (size_t)m->base.max_B * m->base.max_T * m->base.max_T;
    m->q = arena_take(a, N * C);
    m->k = arena_take(a, N * C);
    m->v = arena_take(a, N * C);
    m->att = arena_take(a, TT);
    m->h = arena_take(a, N * C);
    size_t start = a->used;
    m->grad_acts = m->dq = arena_take(a, N * C);
    m->dk = arena_take(a, N * C);
    m->dv = arena_take(a, N * C);
    m->datt = arena_take(a, TT);
    m->dh = arena_take(a, N * C);
    m->n_grad_acts = a->used - start;
}

int attention_model_init(attention_model *m, int V, int C, int max_B, int max_T, rng *r,
                         error *e) {
    memset(m, 0, sizeof *m);
    tensor_spec specs[N_HEAD_TENSORS];
    head_specs(C, specs);
    lm_base *b = &m->base;
    if (lm_base_begin(b, V, C, max_B, max_T, e) != 0 ||
        param_table_declare(&b->table, "sa_head.", specs, N_HEAD_TENSORS, e) != 0 ||
        lm_base_finish(b, r, e) != 0 ||
        param_table_view(&b->table, "sa_head.", specs, N_HEAD_TENSORS, b->params, &m->w, e) != 0 ||
        param_table_view(&b->table, "sa_head.", specs, N_HEAD_TENSORS, b->grads, &m->g, e) != 0)
        goto fail;
    float_arena count = {NULL, 0};
    layout(m, &count);
    if (!(m->acts = alloc_floats(count.used, "attention activations", e)))
        goto fail;
    float_arena real = {m->acts, 0};
    layout(m, &real);
    linear_init(m->w.wq, NULL, C, C, r);
    linear_init(m->w.wk, NULL, C, C, r);
    linear_init(m->w.wv, NULL, C, C, r);
    return 0;
fail:
    attention_model_free(m);
    return -1;
}

void attention_model_free(attention_model *m) {
    lm_base_free(&m->base);
    free(m->acts);
    memset(m, 0, sizeof *m);
}

float attention_model_forward(attention_model *m, const int *ids, const int *targets, int B,
                              int T) {
    lm_base *b = &m->base;
    int C = b->C;
    size_t N = (size_t)B * T;
    lm_base_embed_forward(b, ids, B, T);
    linear_forward(m->q, b->x, m->w.wq, NULL, N, C, C);
    linear_forward(m->k, b->x, m->w.wk, NULL, N, C, C);
    linear_forward(m->v, b->x, m->w.wv, NULL, N, C, C);
    /* each sequence of the batch attends only within itself; the work is
     * the B*T*T attention weights, each a dot product of length C */
#pragma omp parallel for schedule(static) if ((size_t)B * T * T >= PARALLEL_MIN_WORK)
    for (int i = 0; i < B; i++) {
        size_t row = (size_t)i * T * C;
        float *att = m->att + (size_t)i * T * T;
        attention_scores_forward(att, m->q + row, m->k + row, T, C, C);
        attention_mix_forward(m->h + row, att, m->v + row, T, C, C, C);
    }
    return lm_base_head_forward(b, m->h, targets);
}

void attention_model_backward(attention_model *m) {
    lm_base *b = &m->base;
    int B = b->B, T = b->T, C = b->C;
    size_t N = (size_t)B * T;
    memset(m->grad_acts, 0, m->n_grad_acts * sizeof *m->grad_acts);
    lm_base_head_backward(b, m->dh, m->h);
    /* h = att @ v and att = causal softmax(q k^T / sqrt(C)), row by row */
#pragma omp parallel for schedule(static) if ((size_t)B * T * T >= PARALLEL_MIN_WORK)
    for (int i = 0; i < B; i++) {
        size_t row = (size_t)i * T * C, tt = (size_t)i * T * T;
        attention_mix_backward(m->datt + tt, m->dv + row, m->dh + row, m->att + tt, m->v + row,
                               T, C, C, C);
        attention_scores_backward(m->dq + row, m->dk + row, m->datt + tt, m->att + tt,
                                  m->q + row, m->k + row, T, C, C);
    }
    /* q, k, v = x @ Wq^T, x @ Wk^T, x @ Wv^T: x fed all three, so its
     * gradient is the sum of three */
    linear_backward(b->dx, m->g.wq, NULL, m->dq, b->x, m->w.wq, N, C, C);
    linear_backward(b->dx, m->g.wk, NULL, m->dk, b->x, m->w.wk, N, C, C);
    linear_backward(b->dx, m->g.wv, NULL, m->dv, b->x, m->w.wv, N, C, C);
    lm_base_embed_backward(b);
}

static float forward_fn(void *self, const int *x, const int *y, int B, int T) {
    return attention_model_forward(self, x, y, B, T);
}
static void backward_fn(void *self) { attention_model_backward(self); }
static const float *logits_fn(void *self) { return ((attention_model *)self)->base.logits; }

language_model attention_language_model(attention_model *m) {
    language_model lm = lm_base_language_model(&m->base, m);
    lm.forward = forward_fn;
    lm.backward = backward_fn;
    lm.logits = logits_fn;
    return lm;
}
