/* lmbase.c - embeddings at the bottom, lm_head and loss at the top; see
 * lmbase.h. */
#include "lmbase.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../01-bigram/crossentropy.h"
#include "../01-bigram/embedding.h"
#include "linear.h"
#include "position.h"

#define VIEW(field) offsetof(lm_base_weights, field)

/* The base's four tensors: the embeddings (declared first, under
 * "transformer.") and lm_head (declared after the middle). */
enum { N_BOTTOM = 2, N_TOP = 2 };
static void base_specs(const lm_base *m, tensor_spec bottom[N_BOTTOM], tensor_spec top[N_TOP]) {
    size_t V = (size_t)m->V, C = (size_t)m->C, T = (size_t)m->max_T;
    bottom[0] = (tensor_spec){"wte.weight", V, C, VIEW(wte)};
    bottom[1] = (tensor_spec){"wpe.weight", T, C, VIEW(wpe)};
    top[0] = (tensor_spec){"weight", V, C, VIEW(lm_w)};
    top[1] = (tensor_spec){"bias", V, 0, VIEW(lm_b)};
}

int lm_base_begin(lm_base *m, int V, int C, int max_B, int max_T, error *e) {
    memset(m, 0, sizeof *m);
    m->V = V;
    m->C = C;
    m->max_B = max_B;
    m->max_T = max_T;
    tensor_spec bottom[N_BOTTOM], top[N_TOP];
    base_specs(m, bottom, top);
    return param_table_declare(&m->table, "transformer.", bottom, N_BOTTOM, e);
}

/* Carves the base's activations out of an arena (see params.h). */
static void layout(lm_base *m, float_arena *a) {
    size_t N = (size_t)m->max_B * m->max_T;
    m->x = arena_take(a, N * m->C);
    m->dx = arena_take(a, N * m->C);
    m->logits = arena_take(a, N * m->V);
    m->probs = arena_take(a, N * m->V);
    m->dlogits = arena_take(a, N * m->V);
    m->losses = arena_take(a, N);
}

static void init_normal(float *x, size_t n, rng *r) {
    for (size_t i = 0; i < n; i++)
        x[i] = rng_normal(r);
}

int lm_base_finish(lm_base *m, rng *r, error *e) {
    tensor_spec bottom[N_BOTTOM], top[N_TOP];
    base_specs(m, bottom, top);
    if (param_table_declare(&m->table, "lm_head.", top, N_TOP, e) != 0)
        return -1;
    size_t N = (size_t)m->max_B * m->max_T;
    float_arena count = {NULL, 0};
    layout(m, &count);
    if (!(m->params = alloc_floats(m->table.total, "parameters", e)) ||
        !(m->grads = alloc_floats(m->table.total, "gradients", e)) ||
        !(m->acts = alloc_floats(count.used, "activations", e)))
        return -1;
    if (!(m->inputs = malloc(N * sizeof *m->inputs)) ||
        !(m->targets = malloc(N * sizeof *m->targets)))
        return error_set(e, "out of memory for a batch of %zu tokens", N);
    float_arena real = {m->acts, 0};
    layout(m, &real);
    const param_table *pt = &m->table;
    if (param_table_view(pt, "transformer.", bottom, N_BOTTOM, m->params, &m->w, e) != 0 ||
        param_table_view(pt, "lm_head.", top, N_TOP, m->params, &m->w, e) != 0 ||
        param_table_view(pt, "transformer.", bottom, N_BOTTOM, m->grads, &m->g, e) != 0 ||
        param_table_view(pt, "lm_head.", top, N_TOP, m->grads, &m->g, e) != 0)
        return -1;
    /* as torch.nn.Embedding and torch.nn.Linear */
    init_normal(m->w.wte, (size_t)m->V * m->C, r);
    init_normal(m->w.wpe, (size_t)m->max_T * m->C, r);
    linear_init(m->w.lm_w, m->w.lm_b, m->C, m->V, r);
    return 0;
}

void lm_base_free(lm_base *m) {
    param_table_free(&m->table);
    free(m->params);
    free(m->grads);
    free(m->acts);
    free(m->inputs);
    free(m->targets);
    memset(m, 0, sizeof *m);
}

void lm_base_embed_forward(lm_base *m, const int *ids, int B, int T) {
    size_t N = (size_t)B * T;
    m->B = B;
    m->T = T;
    memcpy(m->inputs, ids, N * sizeof *ids);
    token_embedding_forward(m->x, ids, m->w.wte, N, m->C);
    position_embedding_forward(m->x, m->w.wpe, B, T, m->C);
}

float lm_base_head_forward(lm_base *m, const float *h, const int *targets) {
    size_t N = (size_t)m->B * m->T;
    linear_forward(m->logits, h, m->w.lm_w, m->w.lm_b, N, m->C, m->V);
    m->has_targets = targets != NULL;
    if (!targets)
        return 0.0f;
    memcpy(m->targets, targets, N * sizeof *targets);
    return crossentropy_forward(m->probs, m->losses, m->logits, targets, N, m->V);
}

void lm_base_head_backward(lm_base *m, float *dh, const float *h) {
    if (!m->has_targets) /* no loss, nothing to differentiate */
        return;
    size_t N = (size_t)m->B * m->T;
    memset(m->dx, 0, N * m->C * sizeof *m->dx); /* the middle accumulates into it */
    memset(m->dlogits, 0, N * m->V * sizeof *m->dlogits);
    crossentropy_backward(m->dlogits, m->probs, m->targets, N, m->V);
    linear_backward(dh, m->g.lm_w, m->g.lm_b, m->dlogits, h, m->w.lm_w, N, m->C, m->V);
}

void lm_base_embed_backward(lm_base *m) {
    size_t N = (size_t)m->B * m->T;
    position_embedding_backward(m->g.wpe, m->dx, m->B, m->T, m->C);
    token_embedding_backward(m->g.wte, m->dx, m->inputs, N, m->C);
}

language_model lm_base_language_model(lm_base *m, void *self) {
    return (language_model){
        .self = self,
        .vocab_size = m->V,
        .block_size = m->max_T,
        .table = &m->table,
        .params = m->params,
        .grads = m->grads,
    };
}
