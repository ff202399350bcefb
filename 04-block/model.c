/* model.c - chapter 04's model: a stack of transformer blocks between the
 * embeddings and lm_head; see model.h. */
#include "model.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "layernorm.h"

#define VIEW(field) offsetof(final_weights, field)

/* transformer.ln_f.{weight,bias}; returns how many (1 without biases). */
static int final_specs(int C, bool bias, tensor_spec s[2]) {
    s[0] = (tensor_spec){"weight", (size_t)C, 0, VIEW(ln_f_w)};
    s[1] = (tensor_spec){"bias", (size_t)C, 0, VIEW(ln_f_b)};
    return bias ? 2 : 1;
}

static void layout(transformer_model *m, float_arena *a) {
    const transformer_config *c = &m->cfg;
    size_t N = (size_t)c->max_B * c->max_T, C = (size_t)c->block.C;
    m->ln_f = arena_take(a, N * C);
    m->ln_f_mean = arena_take(a, N);
    m->ln_f_rstd = arena_take(a, N);
    size_t start = a->used;
    m->grad_acts = m->dln_f = arena_take(a, N * C);
    m->dres = arena_take(a, (size_t)c->n_layer * N * C);
    m->n_grad_acts = a->used - start;
}

/* Declares every block and ln_f (between the embeddings and lm_head). */
static int declare_middle(transformer_model *m, error *e) {
    const transformer_config *c = &m->cfg;
    tensor_spec fin[2];
    for (int l = 0; l < c->n_layer; l++)
        if (block_declare(&m->base.table, l, &c->block, e) != 0)
            return -1;
    return param_table_declare(&m->base.table, "transformer.ln_f.", fin,
                               final_specs(c->block.C, c->block.bias, fin), e);
}

/* Points the block and ln_f views into the parameters and the gradients. */
static int view_middle(transformer_model *m, error *e) {
    const transformer_config *c = &m->cfg;
    const param_table *pt = &m->base.table;
    tensor_spec fin[2];
    int n_fin = final_specs(c->block.C, c->block.bias, fin);
    for (int l = 0; l < c->n_layer; l++)
        if (block_view(&m->w[l], pt, m->base.params, l, &c->block, e) != 0 ||
            block_view(&m->g[l], pt, m->base.grads, l, &c->block, e) != 0)
            return -1;
    if (param_table_view(pt, "transformer.ln_f.", fin, n_fin, m->base.params, &m->fw, e) != 0)
        return -1;
    return param_table_view(pt, "transformer.ln_f.", fin, n_fin, m->base.grads, &m->fg, e);
}

/* Everything the forward and backward passes write, for the largest batch. */
static int alloc_activations(transformer_model *m, error *e) {
    const transformer_config *c = &m->cfg;
    for (int l = 0; l < c->n_layer; l++)
        if (block_acts_alloc(&m->acts[l], &c->block, c->max_B, c->max_T, e) != 0)
            return -1;
    if (block_acts_alloc(&m->dacts, &c->block, c->max_B, c->max_T, e) != 0)
        return -1;
    float_arena count = {NULL, 0};
    layout(m, &count);
    if (!(m->buffer = alloc_floats(count.used, "final activations", e)))
        return -1;
    float_arena real = {m->buffer, 0};
    layout(m, &real);
    return 0;
}

int transformer_init(transformer_model *m, const transformer_config *cfg, const layer_ops *ops,
                     rng *r, uint64_t seed, error *e) {
    memset(m, 0, sizeof *m);
    const block_config *bc = &cfg->block;
    if (cfg->n_layer < 1) /* ln_f reads the last block's output: there must be one */
        return error_set(e, "n_layer %d: the stack needs at least 1 block", cfg->n_layer);
    if (bc->NH < 1 || bc->C % bc->NH != 0)
        return error_set(e, "n_embd %d is not divisible by n_head %d", bc->C, bc->NH);
    m->cfg = *cfg;
    m->ops = ops;
    m->training = true;
    rng_seed_stream(&m->dropout_rng, seed, STREAM_DROPOUT);
    size_t L = (size_t)cfg->n_layer;
    if (!(m->w = calloc(L, sizeof *m->w)) || !(m->g = calloc(L, sizeof *m->g)) ||
        !(m->acts = calloc(L, sizeof *m->acts))) {
        error_set(e, "out of memory for %zu layers", L);
        goto fail;
    }
    if (lm_base_begin(&m->base, cfg->V, bc->C, cfg->max_B, cfg->max_T, e) != 0 ||
        declare_middle(m, e) != 0 || lm_base_finish(&m->base, r, e) != 0 ||
        view_middle(m, e) != 0 || alloc_activations(m, e) != 0)
        goto fail;
    for (size_t l = 0; l < L; l++)
        block_init_pytorch(&m->w[l], bc, r);
    layernorm_init(m->fw.ln_f_w, m->fw.ln_f_b, bc->C);
    return 0;
fail:
    transformer_free(m);
    return -1;
}

void transformer_free(transformer_model *m) {
    for (int l = 0; m->acts && l < m->cfg.n_layer; l++)
        block_acts_free(&m->acts[l]);
    block_acts_free(&m->dacts);
    lm_base_free(&m->base);
    free(m->w);
    free(m->g);
    free(m->acts);
    free(m->buffer);
    memset(m, 0, sizeof *m);
}

/* The residual stream after the last block: ln_f's input. */
static const float *stream_top(const transformer_model *m) {
    return m->acts[m->cfg.n_layer - 1].out;
}

float transformer_forward(transformer_model *m, const int *ids, const int *targets, int B, int T) {
    lm_base *b = &m->base;
    int C = b->C;
    lm_base_embed_forward(b, ids, B, T);
    const float *x = b->x;
    for (int l = 0; l < m->cfg.n_layer; l++) {
        block_forward(m->ops, &m->cfg.block, &m->w[l], &m->acts[l], x, B, T, m->training,
                      &m->dropout_rng);
        x = m->acts[l].out; /* the next block reads this one's output */
    }
    m->ops->layernorm_forward(m->ln_f, m->ln_f_mean, m->ln_f_rstd, x, m->fw.ln_f_w,
                              m->fw.ln_f_b, (size_t)B * T, C);
    return lm_base_head_forward(b, m->ln_f, targets);
}

void transformer_backward(transformer_model *m) {
    lm_base *b = &m->base;
    int B = b->B, T = b->T, C = b->C, L = m->cfg.n_layer;
    size_t N = (size_t)B * T, NC = N * C;
    memset(m->grad_acts, 0, m->n_grad_acts * sizeof *m->grad_acts);
    lm_base_head_backward(b, m->dln_f, m->ln_f);
    /* ln_f = layernorm(top of the stream) */
    float *dtop = m->dres + (size_t)(L - 1) * NC;
    m->ops->layernorm_backward(dtop, m->fg.ln_f_w, m->fg.ln_f_b, m->dln_f, stream_top(m),
                               m->fw.ln_f_w, m->ln_f_mean, m->ln_f_rstd, N, C);
    /* down the stack: block l's input is block l-1's output (or x) */
    for (int l = L - 1; l >= 0; l--) {
        const float *x = l ? m->acts[l - 1].out : b->x;
        float *dx = l ? m->dres + (size_t)(l - 1) * NC : b->dx;
        block_backward(m->ops, &m->cfg.block, &m->w[l], &m->g[l], &m->acts[l], &m->dacts, dx,
                       m->dres + (size_t)l * NC, x, B, T);
    }
    lm_base_embed_backward(b);
}

void transformer_set_training(transformer_model *m, bool training) { m->training = training; }

static float forward_fn(void *self, const int *x, const int *y, int B, int T) {
    return transformer_forward(self, x, y, B, T);
}
static void backward_fn(void *self) { transformer_backward(self); }
static const float *logits_fn(void *self) { return ((transformer_model *)self)->base.logits; }
static void set_training_fn(void *self, bool training) {
    transformer_set_training(self, training);
}

language_model transformer_language_model(transformer_model *m) {
    language_model lm = lm_base_language_model(&m->base, m);
    lm.forward = forward_fn;
    lm.backward = backward_fn;
    lm.logits = logits_fn;
    lm.set_training = set_training_fn;
    return lm;
}
