/* gpt.c - the GPT model: embeddings, a stack of chapter 04's blocks, the
 * final layernorm and the tied lm_head; see gpt.h. */
#include "gpt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../01-bigram/crossentropy.h"
#include "../01-bigram/embedding.h"
#include "../02-self-attention/position.h"
#include "../04-block/dropout.h"
#include "../04-block/layernorm.h"
#include "fastops.h"
#include "gelu.h"

struct gpt {
    gpt_config cfg;
    int max_B;
    const layer_ops *ops;
    block_config block;
    param_table table;
    float *params, *grads;
    /* the tensors outside the blocks, in params and in grads */
    float *wte, *wpe, *ln_f_w;    /* (V,C) (block_size,C) (C) */
    float *dwte, *dwpe, *dln_f_w;
    block_weights *w, *g;         /* (n_layer) views of each block's tensors */
    block_acts *acts;             /* (n_layer) each block's activations */
    block_acts scratch;           /* gradients of one block's activations */
    /* activations outside the blocks, for the last batch */
    int B, T;
    bool training;
    rng dropout_rng;
    int *inputs, *targets;        /* (B,T) */
    float *emb, *emb_mask, *x0;   /* (B,T,C) wte[x] + wpe[t]; its dropout mask; after it */
    float *ln_f, *ln_f_mean, *ln_f_rstd; /* (B,T,C), (B,T), (B,T) */
    float *logits, *probs, *losses;      /* (B,T,V), (B,T,V), (B,T) */
    float *dlogits, *dln_f;              /* (B,T,V), (B,T,C) */
    float *dx, *dx_prev;                 /* (B,T,C) the residual stream's gradient, two buffers */
    float *buffer;                       /* the one allocation behind the arrays above */
};

static const activation GELU = {"gelu", gelu_forward, gelu_backward};
static const activation GELU_FAST = {"gelu", gelu_fast_forward, gelu_fast_backward};

/* The fast layers: BLAS matmuls, attention and the layernorm's gain
 * gradient from fastops.h; the layernorm forward is chapter 04's loop. */
static const layer_ops FAST_OPS = {
    .linear_forward = linear_fast_forward,
    .linear_backward = linear_fast_backward,
    .attention_scores_forward = attention_fast_scores_forward,
    .attention_mix_forward = attention_fast_mix_forward,
    .attention_mix_backward = attention_fast_mix_backward,
    .attention_scores_backward = attention_fast_scores_backward,
    .layernorm_forward = layernorm_forward,
    .layernorm_backward = layernorm_fast_backward,
};

const gpt_kernels GPT_REFERENCE = {&REFERENCE_OPS, &GELU};
const gpt_kernels GPT_FAST = {&FAST_OPS, &GELU_FAST};

int gpt_config_check(const gpt_config *c, error *e) {
    if (c->n_layer < 1 || c->n_head < 1 || c->n_embd < 1 || c->block_size < 1)
        return error_set(e, "model sizes must be at least 1 (n_layer %d, n_head %d, n_embd %d, "
                            "block_size %d)",
                         c->n_layer, c->n_head, c->n_embd, c->block_size);
    if (c->n_embd % c->n_head != 0)
        return error_set(e, "n_embd %d is not divisible by n_head %d", c->n_embd, c->n_head);
    if (c->vocab_size < 2)
        return error_set(e, "vocab_size %d: a language model needs at least 2 tokens",
                         c->vocab_size);
    if (!(c->dropout >= 0.0f && c->dropout < 1.0f))
        return error_set(e, "dropout %g is not in [0, 1)", (double)c->dropout);
    return 0;
}

double gpt_flops_per_token(const gpt_config *c) {
    double C = c->n_embd, L = c->n_layer;
    /* per block: c_attn 3C^2, c_proj C^2, c_fc and mlp c_proj 4C^2 each (no
     * biases), two layernorms; plus the tied wte and ln_f */
    double weights = L * (12.0 * C * C + 2.0 * C) + (double)c->vocab_size * C + C;
    return 6.0 * weights + 12.0 * L * C * c->block_size;
}

/* ---------------------------------------------------------------- building */

/* The block every layer is: nanoGPT's, without biases. */
static block_config block_of(const gpt_config *c, const activation *act) {
    return (block_config){c->n_embd, c->n_head, false, act, c->dropout};
}

int gpt_declare_params(const gpt_config *c, param_table *pt, error *e) {
    block_config block = block_of(c, NULL); /* shapes only: no activation needed */
    if (param_table_add(pt, 2, (size_t)c->vocab_size, (size_t)c->n_embd,
                        "transformer.wte.weight") == (size_t)-1 ||
        param_table_add(pt, 2, (size_t)c->block_size, (size_t)c->n_embd,
                        "transformer.wpe.weight") == (size_t)-1)
        return error_set(e, "out of memory declaring the parameters");
    for (int l = 0; l < c->n_layer; l++)
        if (block_declare(pt, l, &block, e) != 0)
            return -1;
    if (param_table_add(pt, 1, (size_t)c->n_embd, 0, "transformer.ln_f.weight") == (size_t)-1)
        return error_set(e, "out of memory declaring the parameters");
    return 0;
}

/* Points the named views at their tensors in params and grads. */
static int view(gpt *m, error *e) {
    const param_table *pt = &m->table;
    size_t wte = param_table_find(pt, "transformer.wte.weight")->offset;
    size_t wpe = param_table_find(pt, "transformer.wpe.weight")->offset;
    size_t ln_f = param_table_find(pt, "transformer.ln_f.weight")->offset;
    m->wte = m->params + wte, m->dwte = m->grads + wte;
    m->wpe = m->params + wpe, m->dwpe = m->grads + wpe;
    m->ln_f_w = m->params + ln_f, m->dln_f_w = m->grads + ln_f;
    for (int l = 0; l < m->cfg.n_layer; l++)
        if (block_view(&m->w[l], pt, m->params, l, &m->block, e) != 0 ||
            block_view(&m->g[l], pt, m->grads, l, &m->block, e) != 0)
            return -1;
    return 0;
}

static void fill_normal(float *x, size_t n, float std, rng *r) {
    for (size_t i = 0; i < n; i++)
        x[i] = std * rng_normal(r);
}

/* GPT-2's initialisation: every weight matrix N(0, 0.02), except the two
 * projections that write into the residual stream, N(0, 0.02/sqrt(2L)):
 * each block adds two such terms, so without the scaling the stream's
 * variance would grow with depth. Layernorm gains start at 1. */
static void init_weights(gpt *m, rng *r) {
    const gpt_config *c = &m->cfg;
    size_t C = (size_t)c->n_embd;
    float resid_std = GPT_INIT_STD / sqrtf(2.0f * (float)c->n_layer);
    fill_normal(m->wte, (size_t)c->vocab_size * C, GPT_INIT_STD, r);
    fill_normal(m->wpe, (size_t)c->block_size * C, GPT_INIT_STD, r);
    for (int l = 0; l < c->n_layer; l++) {
        const block_weights *w = &m->w[l];
        for (size_t i = 0; i < C; i++)
            w->ln_1_w[i] = w->ln_2_w[i] = 1.0f;
        fill_normal(w->attn_w, 3 * C * C, GPT_INIT_STD, r);
        fill_normal(w->attn_proj_w, C * C, resid_std, r);
        fill_normal(w->fc_w, MLP_MULT * C * C, GPT_INIT_STD, r);
        fill_normal(w->mlp_proj_w, MLP_MULT * C * C, resid_std, r);
    }
    for (size_t i = 0; i < C; i++)
        m->ln_f_w[i] = 1.0f;
}

/* Carves the top-level activations out of one allocation. */
static int alloc_acts(gpt *m, error *e) {
    size_t N = (size_t)m->max_B * m->cfg.block_size, C = (size_t)m->cfg.n_embd,
           V = (size_t)m->cfg.vocab_size;
    float **arrays[] = {&m->emb, &m->emb_mask, &m->x0, &m->ln_f, &m->dln_f, &m->dx, &m->dx_prev,
                        &m->logits, &m->probs, &m->dlogits, &m->ln_f_mean, &m->ln_f_rstd,
                        &m->losses};
    size_t sizes[] = {N * C, N * C, N * C, N * C, N * C, N * C, N * C,
                      N * V, N * V, N * V, N,     N,     N};
    size_t total = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        total += sizes[i];
    if (!(m->buffer = alloc_floats(total, "GPT activations", e)))
        return -1;
    float *p = m->buffer;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        *arrays[i] = p;
        p += sizes[i];
    }
    m->inputs = malloc(N * sizeof *m->inputs);
    m->targets = malloc(N * sizeof *m->targets);
    if (!m->inputs || !m->targets)
        return error_set(e, "out of memory for a batch of %zu tokens", N);
    return 0;
}

gpt *gpt_create(const gpt_config *c, int max_B, const rng *init_rng, const rng *dropout_rng,
                const gpt_kernels *k, error *e) {
    if (gpt_config_check(c, e) != 0)
        return NULL;
    gpt *m = calloc(1, sizeof *m);
    if (!m) {
        error_set(e, "out of memory");
        return NULL;
    }
    m->cfg = *c;
    m->max_B = max_B;
    m->ops = k->layers;
    m->block = block_of(c, k->gelu);
    m->dropout_rng = *dropout_rng;
    m->training = true;
    int L = c->n_layer;
    m->w = calloc((size_t)L, sizeof *m->w);
    m->g = calloc((size_t)L, sizeof *m->g);
    m->acts = calloc((size_t)L, sizeof *m->acts);
    if (!m->w || !m->g || !m->acts) {
        error_set(e, "out of memory");
        gpt_free(m);
        return NULL;
    }
    rng r = *init_rng;
    int ok = gpt_declare_params(&m->cfg, &m->table, e) == 0 &&
             (m->params = alloc_floats(m->table.total, "parameters", e)) &&
             (m->grads = alloc_floats(m->table.total, "gradients", e)) && view(m, e) == 0 &&
             alloc_acts(m, e) == 0 &&
             block_acts_alloc(&m->scratch, &m->block, max_B, c->block_size, e) == 0;
    for (int l = 0; ok && l < L; l++)
        ok = block_acts_alloc(&m->acts[l], &m->block, max_B, c->block_size, e) == 0;
    if (!ok) {
        gpt_free(m);
        return NULL;
    }
    init_weights(m, &r);
    return m;
}

void gpt_free(gpt *m) {
    if (!m)
        return;
    for (int l = 0; m->acts && l < m->cfg.n_layer; l++)
        block_acts_free(&m->acts[l]);
    block_acts_free(&m->scratch);
    free(m->acts);
    free(m->w);
    free(m->g);
    free(m->buffer);
    free(m->inputs);
    free(m->targets);
    free(m->params);
    free(m->grads);
    param_table_free(&m->table);
    free(m);
}

const gpt_config *gpt_get_config(const gpt *m) { return &m->cfg; }
const block_config *gpt_block_config(const gpt *m) { return &m->block; }
const param_table *gpt_params_table(const gpt *m) { return &m->table; }
float *gpt_params(gpt *m) { return m->params; }
float *gpt_grads(gpt *m) { return m->grads; }
rng *gpt_dropout_rng(gpt *m) { return &m->dropout_rng; }
const float *gpt_logits(const gpt *m) { return m->logits; }
const float *gpt_losses(const gpt *m) { return m->losses; }
void gpt_set_training(gpt *m, bool training) { m->training = training; }

/* ---------------------------------------------------------------- forward */

float gpt_forward(gpt *m, const int *x, const int *targets, int B, int T) {
    const gpt_config *c = &m->cfg;
    size_t N = (size_t)B * T, C = (size_t)c->n_embd;
    int V = c->vocab_size;
    m->B = B, m->T = T;
    memcpy(m->inputs, x, N * sizeof *x);
    /* x0 = dropout(wte[x] + wpe[t]) */
    token_embedding_forward(m->emb, x, m->wte, N, (int)C);
    position_embedding_forward(m->emb, m->wpe, B, T, (int)C);
    dropout_forward(m->x0, m->emb_mask, m->emb, N * C, m->training ? c->dropout : 0.0f,
                    &m->dropout_rng);
    /* the stack of blocks: each reads the previous one's output */
    const float *h = m->x0;
    for (int l = 0; l < c->n_layer; l++) {
        block_forward(m->ops, &m->block, &m->w[l], &m->acts[l], h, B, T, m->training,
                      &m->dropout_rng);
        h = m->acts[l].out;
    }
    /* final layernorm, then the tied lm_head: logits = ln_f(h) @ wte^T */
    m->ops->layernorm_forward(m->ln_f, m->ln_f_mean, m->ln_f_rstd, h, m->ln_f_w, NULL, N,
                              (int)C);
    m->ops->linear_forward(m->logits, m->ln_f, m->wte, NULL, N, (int)C, V);
    if (!targets)
        return 0.0f;
    memcpy(m->targets, targets, N * sizeof *targets);
    return crossentropy_forward(m->probs, m->losses, m->logits, targets, N, V);
}

/* ---------------------------------------------------------------- backward */

void gpt_backward(gpt *m) {
    const gpt_config *c = &m->cfg;
    int B = m->B, T = m->T, V = c->vocab_size, L = c->n_layer;
    size_t N = (size_t)B * T, C = (size_t)c->n_embd;
    /* loss = crossentropy(logits, targets) */
    memset(m->dlogits, 0, N * V * sizeof *m->dlogits);
    crossentropy_backward(m->dlogits, m->probs, m->targets, N, V);
    /* logits = ln_f @ wte^T: the tied weight's first gradient term */
    memset(m->dln_f, 0, N * C * sizeof *m->dln_f);
    m->ops->linear_backward(m->dln_f, m->dwte, NULL, m->dlogits, m->ln_f, m->wte, N, (int)C, V);
    /* ln_f = layernorm(h_L) */
    const float *h_last = m->acts[L - 1].out;
    memset(m->dx, 0, N * C * sizeof *m->dx);
    m->ops->layernorm_backward(m->dx, m->dln_f_w, NULL, m->dln_f, h_last, m->ln_f_w,
                               m->ln_f_mean, m->ln_f_rstd, N, (int)C);
    /* back through the blocks: block l read h_l (x0 for the first) */
    for (int l = L - 1; l >= 0; l--) {
        const float *h_in = l > 0 ? m->acts[l - 1].out : m->x0;
        memset(m->dx_prev, 0, N * C * sizeof *m->dx_prev);
        block_backward(m->ops, &m->block, &m->w[l], &m->g[l], &m->acts[l], &m->scratch,
                       m->dx_prev, m->dx, h_in, B, T);
        float *swap = m->dx;
        m->dx = m->dx_prev, m->dx_prev = swap;
    }
    /* x0 = dropout(emb): reuse dx_prev for d(emb) */
    memset(m->dx_prev, 0, N * C * sizeof *m->dx_prev);
    dropout_backward(m->dx_prev, m->dx, m->emb_mask, N * C);
    /* emb = wte[x] + wpe[t]: the tied weight's second gradient term */
    token_embedding_backward(m->dwte, m->dx_prev, m->inputs, N, (int)C);
    position_embedding_backward(m->dwpe, m->dx_prev, B, T, (int)C);
}

/* ---------------------------------------------------------------- the interface */

static float forward_fn(void *self, const int *x, const int *y, int B, int T) {
    return gpt_forward(self, x, y, B, T);
}
static void backward_fn(void *self) { gpt_backward(self); }
static const float *logits_fn(void *self) { return gpt_logits(self); }
static void set_training_fn(void *self, bool training) { gpt_set_training(self, training); }

language_model gpt_language_model(gpt *m) {
    return (language_model){
        .self = m,
        .vocab_size = m->cfg.vocab_size,
        .block_size = m->cfg.block_size,
        .table = &m->table,
        .params = m->params,
        .grads = m->grads,
        .forward = forward_fn,
        .backward = backward_fn,
        .logits = logits_fn,
        .set_training = set_training_fn,
    };
}
