/*
 * gpt_cuda.c - the GPT on a GPU: the same forward and backward as 05-gpt's
 * gpt.c and 04-block's block.c, step for step, with each layer a call into
 * cuda_layers.h instead of a CPU loop. Plain C: the GPU-specific code is
 * all in the .cu files; what is here is which buffer goes where.
 *
 * Memory: a host-side gpt (05) holds the parameter table (names, shapes,
 * offsets) and is where checkpoints are read and written; the device holds
 * parameters, gradients and AdamW moments with the same layout, so a
 * checkpoint moves with one copy each way. Activations are allocated once
 * for the largest batch. Those that go into or come out of matrix
 * products are `operand`s (bf16 in bf16 mode, see cuda_util.h and
 * matmul.cu), and so is the weights' copy that bf16 mode multiplies with;
 * the residual stream, its gradient and all statistics stay float.
 */
#include "gpt_cuda.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../04-block/block.h"
#include "cuda_layers.h"
#include "cuda_util.h"

/* One block's activations on the device (cf. block_acts in 04-block). */
typedef struct {
    operand *ln_1;                /* (B,T,C) */
    float *ln_1_mean, *ln_1_rstd; /* (B,T) each */
    operand *qkv;                 /* (B,T,3C) */
    float *att, *att_drop;        /* (B,NH,T,T); att_drop == att without dropout */
    float *lse;                   /* (B,NH,T) instead of att, att_drop when fused */
    operand *heads;               /* (B,T,C) attention output, before c_proj */
    float *res_1;                 /* (B,T,C) x + attention */
    operand *ln_2;
    float *ln_2_mean, *ln_2_rstd;
    operand *fc;                  /* (B,T,4C) before GELU */
    operand *fc_act;              /* (B,T,4C) after GELU */
    float *out;                   /* (B,T,C) the block's output */
} layer_acts;

struct gpt_cuda {
    gpt *host;                 /* names, shapes, checkpoints (max_B 1: no big buffers) */
    gpt_config cfg;
    int max_B;
    const param_table *table;
    float *params, *grads, *m, *v; /* device, table->total each */
    operand *params_bf16;      /* bf16 mode: the weights as operands (else NULL) */
    block_weights *w, *g;      /* per layer, device pointers */
    float *wte, *wpe, *ln_f_w, *dwte, *dwpe, *dln_f_w;
    layer_acts *acts;
    /* outside the blocks */
    int *idx, *targets;        /* (B,T) */
    float *x0;                 /* (B,T,C) embeddings after dropout */
    operand *ln_f;
    float *ln_f_mean, *ln_f_rstd;
    float *logits, *probs, *losses; /* (B,T,V), (B,T,V), (B,T) */
    /* backward scratch */
    operand *dlogits;          /* (B,T,V) */
    float *dx, *dx_prev, *dres; /* (B,T,C) each: the residual stream's gradient */
    operand *dln_f, *dln, *dheads, *dtmp; /* (B,T,C) each */
    operand *dqkv;             /* (B,T,3C) */
    operand *dfc, *dfc_act;    /* (B,T,4C) */
    operand *tmp;              /* (B,T,C) forward scratch: c_proj outputs */
    float *onehot;             /* (B,T,V) */
    bool fused_attention;      /* attention_fused.cu (bf16) instead of attention.cu */
    attention_scratch att;     /* attention.cu's */
    float *att_D;              /* (B,NH,T) attention_fused.cu's */
    float *sumsq, *partial, *scalar; /* reductions */
    adamw_slice *slices;       /* AdamW's table of the parameters (adamw.cu), on the device */
    int n_slices;
    float *host_logits;        /* (B,T,V) logits copied back for sampling */
    /* the last batch */
    int B, T;
    bool training;
    uint64_t step_seed;        /* dropout seed of the current forward pass */
};

float *gpt_cuda_grads(gpt_cuda *m) { return m->grads; }

/* ---------------------------------------------------------------- building */

/* Dropout sites: each gets its own seed, derived from the step's seed. */
enum { SITE_EMBEDDING, SITE_ATTENTION, SITE_ATTN_RESIDUAL, SITE_MLP_RESIDUAL, SITES_PER_LAYER = 3 };

static uint64_t site_seed(const gpt_cuda *m, int layer, int site) {
    uint64_t id = site == SITE_EMBEDDING ? 0 : 1 + (uint64_t)layer * SITES_PER_LAYER + (site - 1);
    return m->step_seed ^ ((id + 1) * 0xD1B54A32D192ED03ull);
}

/* TT: floats of the (B,NH,T,T) attention matrices, 0 when fused; rows:
 * B*NH*T. */
static void alloc_layer(layer_acts *a, size_t N, size_t C, size_t TT, size_t rows,
                        bool dropout) {
    a->ln_1 = dev_alloc_operand(N * C);
    a->ln_1_mean = dev_alloc(N);
    a->ln_1_rstd = dev_alloc(N);
    a->qkv = dev_alloc_operand(N * 3 * C);
    if (TT) {
        a->att = dev_alloc(TT);
        a->att_drop = dropout ? dev_alloc(TT) : a->att;
    } else {
        a->lse = dev_alloc(rows);
    }
    a->heads = dev_alloc_operand(N * C);
    a->res_1 = dev_alloc(N * C);
    a->ln_2 = dev_alloc_operand(N * C);
    a->ln_2_mean = dev_alloc(N);
    a->ln_2_rstd = dev_alloc(N);
    a->fc = dev_alloc_operand(N * MLP_MULT * C);
    a->fc_act = dev_alloc_operand(N * MLP_MULT * C);
    a->out = dev_alloc(N * C);
}

static void free_layer(layer_acts *a) {
    if (a->att_drop != a->att)
        dev_free(a->att_drop);
    void *all[] = {a->ln_1, a->ln_1_mean, a->ln_1_rstd, a->qkv, a->att, a->lse, a->heads,
                   a->res_1, a->ln_2, a->ln_2_mean, a->ln_2_rstd, a->fc, a->fc_act, a->out};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        dev_free(all[i]);
}

static float *device_tensor(gpt_cuda *m, float *base, const char *name) {
    return base + param_table_find(m->table, name)->offset;
}

static int view_weights(gpt_cuda *m, error *e) {
    const block_config *bc = gpt_block_config(m->host);
    for (int l = 0; l < m->cfg.n_layer; l++)
        if (block_view(&m->w[l], m->table, m->params, l, bc, e) != 0 ||
            block_view(&m->g[l], m->table, m->grads, l, bc, e) != 0)
            return -1;
    m->wte = device_tensor(m, m->params, "transformer.wte.weight");
    m->wpe = device_tensor(m, m->params, "transformer.wpe.weight");
    m->ln_f_w = device_tensor(m, m->params, "transformer.ln_f.weight");
    m->dwte = device_tensor(m, m->grads, "transformer.wte.weight");
    m->dwpe = device_tensor(m, m->grads, "transformer.wpe.weight");
    m->dln_f_w = device_tensor(m, m->grads, "transformer.ln_f.weight");
    return 0;
}

/* A weight as a matrix product's operand: itself, or in bf16 mode the
 * element at the same index of the bf16 copy. */
static const operand *W(const gpt_cuda *m, const float *w) {
    return m->params_bf16 ? operand_at(m->params_bf16, (size_t)(w - m->params)) : w;
}

/* AdamW's slices of every tensor, on the device. */
static int upload_slices(gpt_cuda *m, error *e) {
    const param_table *t = m->table;
    int n = 0;
    for (int i = 0; i < t->n_tensors; i++)
        n += adamw_slices(NULL, t->tensors[i].offset, t->tensors[i].size, t->tensors[i].ndim >= 2);
    adamw_slice *host = malloc((size_t)n * sizeof *host);
    if (!host)
        return error_set(e, "out of memory");
    for (int i = 0, k = 0; i < t->n_tensors; i++)
        k += adamw_slices(host + k, t->tensors[i].offset, t->tensors[i].size,
                          t->tensors[i].ndim >= 2);
    m->slices = dev_upload_bytes(host, (size_t)n * sizeof *host);
    m->n_slices = n;
    free(host);
    return 0;
}

/* The host model's weights to the device, and (bf16 mode) their operand
 * copy made again: train_step's update writes the copy itself, every other
 * change of the weights comes through here. */
static void upload_weights(gpt_cuda *m) {
    dev_upload(m->params, gpt_params(m->host), m->table->total);
    if (m->params_bf16)
        operand_from_floats(m->params_bf16, m->params, m->table->total);
}

static void alloc_buffers(gpt_cuda *m) {
    const gpt_config *c = &m->cfg;
    size_t N = (size_t)m->max_B * c->block_size, C = (size_t)c->n_embd,
           V = (size_t)c->vocab_size, P = m->table->total;
    size_t rows = (size_t)m->max_B * c->n_head * c->block_size;
    size_t TT = m->fused_attention ? 0 : rows * c->block_size;
    m->params = dev_alloc(P);
    m->grads = dev_alloc(P);
    m->m = dev_alloc(P);
    m->v = dev_alloc(P);
    dev_zero(m->grads, P);
    dev_zero(m->m, P);
    dev_zero(m->v, P);
    m->params_bf16 = cuda_get_precision() == PRECISION_BF16 ? dev_alloc_operand(P) : NULL;
    for (int l = 0; l < c->n_layer; l++)
        alloc_layer(&m->acts[l], N, C, TT, rows, c->dropout > 0.0f);
    m->idx = dev_alloc_ints(N);
    m->targets = dev_alloc_ints(N);
    float **bc[] = {&m->x0, &m->dx, &m->dx_prev, &m->dres};
    for (size_t i = 0; i < sizeof bc / sizeof bc[0]; i++)
        *bc[i] = dev_alloc(N * C);
    operand **bc_op[] = {&m->ln_f, &m->dln_f, &m->dln, &m->dheads, &m->dtmp, &m->tmp};
    for (size_t i = 0; i < sizeof bc_op / sizeof bc_op[0]; i++)
        *bc_op[i] = dev_alloc_operand(N * C);
    m->ln_f_mean = dev_alloc(N);
    m->ln_f_rstd = dev_alloc(N);
    m->losses = dev_alloc(N);
    m->logits = dev_alloc(N * V);
    m->probs = dev_alloc(N * V);
    m->dlogits = dev_alloc_operand(N * V);
    m->onehot = dev_alloc(N * V);
    m->dqkv = dev_alloc_operand(N * 3 * C);
    m->dfc = dev_alloc_operand(N * MLP_MULT * C);
    m->dfc_act = dev_alloc_operand(N * MLP_MULT * C);
    if (m->fused_attention) {
        m->att_D = dev_alloc(rows);
    } else { /* attention.cu's scratch */
        float **heads[] = {&m->att.q, &m->att.k, &m->att.v, &m->att.y};
        for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++)
            *heads[i] = dev_alloc(N * C);
        m->att.datt = dev_alloc(TT);
    }
    m->sumsq = dev_alloc(1);
    m->scalar = dev_alloc(1);
    m->partial = dev_alloc(GRAD_SUMSQ_PARTIALS);
}

static void destroy(void *handle) {
    gpt_cuda *m = handle;
    if (!m)
        return;
    if (m->acts)
        for (int l = 0; l < m->cfg.n_layer; l++)
            free_layer(&m->acts[l]);
    void *all[] = {m->params, m->grads, m->m, m->v, m->params_bf16, m->x0, m->ln_f, m->dln_f,
                   m->dx, m->dx_prev, m->dres, m->dtmp, m->dln, m->dheads, m->tmp, m->att.q,
                   m->att.k, m->att.v, m->att.y, m->att.datt, m->att_D, m->ln_f_mean,
                   m->ln_f_rstd, m->losses, m->logits, m->probs, m->dlogits, m->onehot, m->dqkv,
                   m->dfc, m->dfc_act, m->sumsq, m->scalar, m->partial};
    if (m->params)
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
            dev_free(all[i]);
    dev_free(m->idx);
    dev_free(m->targets);
    dev_free(m->slices);
    free(m->acts);
    free(m->w);
    free(m->g);
    free(m->host_logits);
    gpt_free(m->host);
    free(m);
}

static void *create(const gpt_config *c, int max_B, const rng *init_rng, const rng *dropout_rng,
                    gpt **host, error *e) {
    char why[256];
    if (!cuda_available(why, sizeof why)) {
        error_set(e, "%s", why);
        return NULL;
    }
    if (!layernorm_cuda_supported(c->n_embd)) {
        error_set(e, "n_embd %d: the CUDA layernorm takes at most %d", c->n_embd, LN_MAX_C);
        return NULL;
    }
    gpt_cuda *m = calloc(1, sizeof *m);
    if (!m) {
        error_set(e, "out of memory");
        return NULL;
    }
    /* the host model: initial weights and the checkpoint staging area */
    m->host = gpt_create(c, 1, init_rng, dropout_rng, &GPT_REFERENCE, e);
    m->cfg = *c;
    m->max_B = max_B;
    m->training = true;
    int L = c->n_layer;
    m->w = calloc((size_t)L, sizeof *m->w);
    m->g = calloc((size_t)L, sizeof *m->g);
    m->acts = calloc((size_t)L, sizeof *m->acts);
    m->host_logits = malloc((size_t)max_B * c->block_size * c->vocab_size * sizeof(float));
    if (!m->host || !m->w || !m->g || !m->acts || !m->host_logits) {
        if (m->host)
            error_set(e, "out of memory");
        destroy(m);
        return NULL;
    }
    m->table = gpt_params_table(m->host);
    m->fused_attention = cuda_get_precision() == PRECISION_BF16 &&
                         attention_fused_supported(c->n_embd, c->n_head);
    alloc_buffers(m);
    if (view_weights(m, e) != 0 || upload_slices(m, e) != 0) {
        destroy(m);
        return NULL;
    }
    upload_weights(m);
    *host = m->host;
    return m;
}

/* ---------------------------------------------------------------- forward */

/* Each residual add is done by the kernel of the layernorm that reads its
 * result (layernorm.cu): block l's second add, out = res_1 + ..., makes
 * the next block's ln_1, or after the last block ln_f. This is where it
 * goes. */
typedef struct {
    operand *out;
    float *mean, *rstd;
    const float *w;
} layernorm_site;

static layernorm_site next_layernorm(gpt_cuda *m, int l) {
    if (l + 1 < m->cfg.n_layer) {
        layer_acts *a = &m->acts[l + 1];
        return (layernorm_site){a->ln_1, a->ln_1_mean, a->ln_1_rstd, m->w[l + 1].ln_1_w};
    }
    return (layernorm_site){m->ln_f, m->ln_f_mean, m->ln_f_rstd, m->ln_f_w};
}

/* Block l's forward from x; its ln_1 (of x) is already made. */
static void block_forward_cuda(gpt_cuda *m, int l, const float *x, int B, int T) {
    const gpt_config *c = &m->cfg;
    const block_weights *w = &m->w[l];
    layer_acts *a = &m->acts[l];
    int N = B * T, C = c->n_embd, F = MLP_MULT * C;
    float p = m->training ? c->dropout : 0.0f;
    /* res_1 = x + dropout(c_proj(attention(c_attn(ln_1(x))))) */
    linear_forward_cuda(a->qkv, a->ln_1, W(m, w->attn_w), N, C, 3 * C);
    if (m->fused_attention)
        attention_fused_forward_cuda(a->heads, a->lse, a->qkv, B, T, C, c->n_head, p,
                                     site_seed(m, l, SITE_ATTENTION));
    else
        attention_forward_cuda(a->heads, a->att, a->att_drop, a->qkv, &m->att, B, T, C,
                               c->n_head, p, site_seed(m, l, SITE_ATTENTION));
    linear_forward_cuda(m->tmp, a->heads, W(m, w->attn_proj_w), N, C, C);
    /* ... and ln_2(res_1), in the same kernel */
    residual_layernorm_forward_cuda(a->res_1, a->ln_2, a->ln_2_mean, a->ln_2_rstd, x, m->tmp,
                                    w->ln_2_w, NULL, N, C, p,
                                    site_seed(m, l, SITE_ATTN_RESIDUAL));
    /* out = res_1 + dropout(mlp.c_proj(gelu(mlp.c_fc(ln_2(res_1))))) */
    linear_forward_cuda(a->fc, a->ln_2, W(m, w->fc_w), N, C, F);
    gelu_forward_cuda(a->fc_act, a->fc, (size_t)N * F);
    linear_forward_cuda(m->tmp, a->fc_act, W(m, w->mlp_proj_w), N, F, C);
    /* ... and the next layernorm of out */
    layernorm_site next = next_layernorm(m, l);
    residual_layernorm_forward_cuda(a->out, next.out, next.mean, next.rstd, a->res_1, m->tmp,
                                    next.w, NULL, N, C, p, site_seed(m, l, SITE_MLP_RESIDUAL));
}

static float forward(void *handle, const int *x, const int *targets, int B, int T) {
    gpt_cuda *m = handle;
    const gpt_config *c = &m->cfg;
    int N = B * T, C = c->n_embd, V = c->vocab_size;
    m->B = B, m->T = T;
    dev_upload_ints(m->idx, x, (size_t)N);
    if (m->training && c->dropout > 0.0f) /* a fresh mask for every step */
        m->step_seed = rng_u64(gpt_dropout_rng(m->host));
    embedding_forward_cuda(m->x0, m->idx, m->wte, m->wpe, B, T, C,
                           m->training ? c->dropout : 0.0f, site_seed(m, 0, SITE_EMBEDDING));
    layer_acts *first = &m->acts[0];
    layernorm_forward_cuda(first->ln_1, first->ln_1_mean, first->ln_1_rstd, m->x0,
                           m->w[0].ln_1_w, NULL, N, C);
    const float *h = m->x0;
    for (int l = 0; l < c->n_layer; l++) { /* the last one makes ln_f too */
        block_forward_cuda(m, l, h, B, T);
        h = m->acts[l].out;
    }
    linear_forward_float_cuda(m->logits, m->ln_f, W(m, m->wte), N, C, V); /* the tied lm_head */
    if (!targets)
        return 0.0f;
    dev_upload_ints(m->targets, targets, (size_t)N);
    crossentropy_forward_cuda(m->probs, m->losses, m->logits, m->targets, N, V);
    return mean_cuda(m->losses, N, m->scalar);
}

/* ---------------------------------------------------------------- backward */

/* dx = d loss / d x for block l, given dout = d loss / d out, and m->dtmp =
 * the gradient of out's dropped branch (the layernorm backward after this
 * block made it, with dout); parameter gradients accumulate into m->g[l].
 * Before returning it leaves in m->dtmp the gradient of x's dropped branch
 * (block l - 1's), made with dx. Mirrors block_backward (04). */
static void block_backward_cuda(gpt_cuda *m, int l, float *dx, const float *dout, const float *x,
                                int B, int T) {
    const gpt_config *c = &m->cfg;
    const block_weights *w = &m->w[l];
    const block_weights *g = &m->g[l];
    const layer_acts *a = &m->acts[l];
    int N = B * T, C = c->n_embd, F = MLP_MULT * C;
    float p = m->training ? c->dropout : 0.0f;
    /* out = res_1 + dropout(mlp_proj(gelu(fc(ln_2(res_1))))) */
    linear_backward_cuda(m->dfc_act, g->mlp_proj_w, m->dtmp, a->fc_act, W(m, w->mlp_proj_w), N,
                         F, C);
    gelu_backward_cuda(m->dfc, a->fc, m->dfc_act, (size_t)N * F);
    linear_backward_cuda(m->dln, g->fc_w, m->dfc, a->ln_2, W(m, w->fc_w), N, C, F);
    /* dres = dout (the residual path passes it straight through) + through
     * ln_2; dtmp = dres through res_1's dropout */
    layernorm_backward_cuda(m->dres, m->dtmp, dout, g->ln_2_w, NULL, m->dln, a->res_1, w->ln_2_w,
                            a->ln_2_mean, a->ln_2_rstd, N, C, p,
                            site_seed(m, l, SITE_ATTN_RESIDUAL));
    /* res_1 = x + dropout(c_proj(attention(c_attn(ln_1(x))))) */
    linear_backward_cuda(m->dheads, g->attn_proj_w, m->dtmp, a->heads, W(m, w->attn_proj_w), N,
                         C, C);
    if (m->fused_attention)
        attention_fused_backward_cuda(m->dqkv, m->att_D, m->dheads, a->heads, a->lse, a->qkv, B,
                                      T, C, c->n_head, p, site_seed(m, l, SITE_ATTENTION));
    else
        attention_backward_cuda(m->dqkv, m->dheads, a->att, a->att_drop, a->qkv, &m->att, B, T,
                                C, c->n_head, p, site_seed(m, l, SITE_ATTENTION));
    linear_backward_cuda(m->dln, g->attn_w, m->dqkv, a->ln_1, W(m, w->attn_w), N, C, 3 * C);
    /* dx = dres + through ln_1; x is block l - 1's out, whose branch's
     * gradient is dx through its dropout (block 0's x: the embeddings) */
    layernorm_backward_cuda(dx, l > 0 ? m->dtmp : NULL, m->dres, g->ln_1_w, NULL, m->dln, x,
                            w->ln_1_w, a->ln_1_mean, a->ln_1_rstd, N, C, p,
                            l > 0 ? site_seed(m, l - 1, SITE_MLP_RESIDUAL) : 0);
}

static void backward(void *handle) {
    gpt_cuda *m = handle;
    const gpt_config *c = &m->cfg;
    int B = m->B, T = m->T, N = B * T, C = c->n_embd, V = c->vocab_size, L = c->n_layer;
    float p = m->training ? c->dropout : 0.0f;
    crossentropy_backward_cuda(m->dlogits, m->probs, m->targets, N, V);
    linear_backward_cuda(m->dln_f, m->dwte, m->dlogits, m->ln_f, W(m, m->wte), N, C, V);
    /* ln_f's input is the last block's out: its branch's gradient too */
    layernorm_backward_cuda(m->dx, m->dtmp, NULL, m->dln_f_w, NULL, m->dln_f, m->acts[L - 1].out,
                            m->ln_f_w, m->ln_f_mean, m->ln_f_rstd, N, C, p,
                            site_seed(m, L - 1, SITE_MLP_RESIDUAL));
    for (int l = L - 1; l >= 0; l--) {
        const float *x = l > 0 ? m->acts[l - 1].out : m->x0;
        block_backward_cuda(m, l, m->dx_prev, m->dx, x, B, T);
        float *swap = m->dx;
        m->dx = m->dx_prev, m->dx_prev = swap;
    }
    embedding_backward_cuda(m->dwte, m->dwpe, m->onehot, m->dx, m->idx, B, T, C, V, p,
                            site_seed(m, 0, SITE_EMBEDDING));
}

/* ---------------------------------------------------------------- training */

/* Forward, backward, clipping and AdamW, all on the device; the loss is the
 * only number that comes back (the loop checks it is finite first). */
static float train_step(void *handle, const int *x, const int *targets, int B, int T,
                        const struct train_config *cfg, struct train_state *st, float lr) {
    gpt_cuda *m = handle;
    float loss = forward(m, x, targets, B, T);
    if (!isfinite(loss))
        return loss;
    size_t P = m->table->total;
    dev_zero(m->grads, P);
    backward(m);
    bool clip = cfg->grad_clip > 0.0f;
    if (clip)
        grad_sumsq_cuda(m->sumsq, m->partial, m->grads, P);
    const adamw_config *a = &cfg->adamw;
    adamw_update_cuda(m->params, m->grads, m->m, m->v, m->slices, m->n_slices, a->beta1, a->beta2,
                      a->eps, lr, a->weight_decay, cfg->decay == DECAY_ALL, st->step + 1,
                      clip ? m->sumsq : NULL, cfg->grad_clip, m->params_bf16);
    return loss;
}

static const float *logits(void *handle) {
    gpt_cuda *m = handle;
    dev_download(m->host_logits, m->logits, (size_t)m->B * m->T * m->cfg.vocab_size);
    return m->host_logits;
}

static void set_training(void *handle, bool training) { ((gpt_cuda *)handle)->training = training; }

static language_model cuda_language_model(void *handle) {
    gpt_cuda *m = handle;
    return (language_model){
        .self = m,
        .vocab_size = m->cfg.vocab_size,
        .block_size = m->cfg.block_size,
        .table = m->table,
        .params = NULL, /* on the device: train_step does the update */
        .grads = NULL,
        .forward = forward,
        .backward = backward,
        .logits = logits,
        .set_training = set_training,
        .train_step = train_step,
    };
}

/* ---------------------------------------------------------------- checkpoints */

static void download(void *handle, train_state *st) {
    gpt_cuda *m = handle;
    size_t P = m->table->total;
    dev_download(gpt_params(m->host), m->params, P);
    if (st) {
        dev_download(st->m, m->m, P);
        dev_download(st->v, m->v, P);
    }
}

static void upload(void *handle, const train_state *st) {
    gpt_cuda *m = handle;
    size_t P = m->table->total;
    upload_weights(m);
    if (st) {
        dev_upload(m->m, st->m, P);
        dev_upload(m->v, st->v, P);
    }
}

static int configure(const options *o, error *e) {
    precision p = PRECISION_TF32;
    if (o->precision && precision_parse(o->precision, &p) != 0)
        return error_set(e, "--precision: '%s' is not fp32, tf32 or bf16", o->precision);
    cuda_set_precision(p);
    return 0;
}

static const char *describe(void) {
    static char line[320];
    snprintf(line, sizeof line, "GPU %s, %s matmuls", cuda_device_description(),
             precision_name(cuda_get_precision()));
    return line;
}

const gpt_backend CUDA_BACKEND = {
    .name = "cuda",
    .program = "gpt-cuda",
    .runs = "runs/06-cuda",
    .extra_options = OPT_PRECISION,
    .configure = configure,
    .create = create,
    .destroy = destroy,
    .language_model = cuda_language_model,
    .download = download,
    .upload = upload,
    .describe = describe,
};
