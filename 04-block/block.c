/*
 * block.c - the transformer block; see block.h.
 *
 * What it teaches: a block is only composition. Every line of
 * block_forward is a layer from an earlier chapter (through the ops table)
 * or one of this chapter's three small ones (layernorm, dropout, residual),
 * and block_backward is the same lines in reverse order, each replaced by
 * its backward.
 */
#include "block.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../02-self-attention/linear.h"
#include "../03-multihead/feedforward.h"
#include "../03-multihead/multihead.h"
#include "dropout.h"
#include "layernorm.h"
#include "residual.h"

const activation RELU = {"relu", relu_forward, relu_backward};

const layer_ops REFERENCE_OPS = {
    .linear_forward = linear_forward,
    .linear_backward = linear_backward,
    .attention_scores_forward = multihead_scores_forward,
    .attention_mix_forward = multihead_mix_forward,
    .attention_mix_backward = multihead_mix_backward,
    .attention_scores_backward = multihead_scores_backward,
    .layernorm_forward = layernorm_forward,
    .layernorm_backward = layernorm_backward,
};

/* ------------------------------------------------------------ parameters */

#define VIEW(field) offsetof(block_weights, field)
#define BLOCK_TENSORS 12
#define PREFIX_MAX 32

/* The block's tensors in nanoGPT's order; returns how many (the biases are
 * left out without cfg->bias). */
static int block_specs(const block_config *cfg, tensor_spec out[BLOCK_TENSORS]) {
    size_t C = (size_t)cfg->C, F = MLP_MULT * C;
    const tensor_spec all[BLOCK_TENSORS] = {
        {"ln_1.weight", C, 0, VIEW(ln_1_w)},
        {"ln_1.bias", C, 0, VIEW(ln_1_b)},
        {"attn.c_attn.weight", 3 * C, C, VIEW(attn_w)},
        {"attn.c_attn.bias", 3 * C, 0, VIEW(attn_b)},
        {"attn.c_proj.weight", C, C, VIEW(attn_proj_w)},
        {"attn.c_proj.bias", C, 0, VIEW(attn_proj_b)},
        {"ln_2.weight", C, 0, VIEW(ln_2_w)},
        {"ln_2.bias", C, 0, VIEW(ln_2_b)},
        {"mlp.c_fc.weight", F, C, VIEW(fc_w)},
        {"mlp.c_fc.bias", F, 0, VIEW(fc_b)},
        {"mlp.c_proj.weight", C, F, VIEW(mlp_proj_w)},
        {"mlp.c_proj.bias", C, 0, VIEW(mlp_proj_b)},
    };
    int n = 0;
    for (int i = 0; i < BLOCK_TENSORS; i++) {
        const char *dot = strrchr(all[i].name, '.');
        if (cfg->bias || strcmp(dot, ".bias") != 0)
            out[n++] = all[i];
    }
    return n;
}

static void block_prefix(char prefix[PREFIX_MAX], int layer) {
    snprintf(prefix, PREFIX_MAX, "transformer.h.%d.", layer);
}

int block_declare(param_table *pt, int layer, const block_config *cfg, error *e) {
    tensor_spec specs[BLOCK_TENSORS];
    char prefix[PREFIX_MAX];
    block_prefix(prefix, layer);
    return param_table_declare(pt, prefix, specs, block_specs(cfg, specs), e);
}

int block_view(block_weights *w, const param_table *pt, float *buf, int layer,
               const block_config *cfg, error *e) {
    tensor_spec specs[BLOCK_TENSORS];
    char prefix[PREFIX_MAX];
    block_prefix(prefix, layer);
    memset(w, 0, sizeof *w); /* the biases stay NULL if there are none */
    return param_table_view(pt, prefix, specs, block_specs(cfg, specs), buf, w, e);
}

void block_init_pytorch(const block_weights *w, const block_config *cfg, rng *r) {
    int C = cfg->C, F = MLP_MULT * cfg->C;
    layernorm_init(w->ln_1_w, w->ln_1_b, C);
    linear_init(w->attn_w, w->attn_b, C, 3 * C, r);
    linear_init(w->attn_proj_w, w->attn_proj_b, C, C, r);
    layernorm_init(w->ln_2_w, w->ln_2_b, C);
    linear_init(w->fc_w, w->fc_b, C, F, r);
    linear_init(w->mlp_proj_w, w->mlp_proj_b, F, C, r);
}

/* ------------------------------------------------------------ activations */

static void acts_layout(block_acts *a, float_arena *ar, const block_config *cfg, int B, int T) {
    size_t N = (size_t)B * T, C = (size_t)cfg->C, F = MLP_MULT * C;
    size_t TT = (size_t)B * cfg->NH * T * T;
    a->ln_1 = arena_take(ar, N * C);
    a->ln_1_mean = arena_take(ar, N);
    a->ln_1_rstd = arena_take(ar, N);
    a->qkv = arena_take(ar, N * 3 * C);
    a->att = arena_take(ar, TT);
    a->att_mask = arena_take(ar, TT);
    a->att_drop = arena_take(ar, TT);
    a->heads = arena_take(ar, N * C);
    a->attn_proj = arena_take(ar, N * C);
    a->attn_mask = arena_take(ar, N * C);
    a->attn_drop = arena_take(ar, N * C);
    a->res_1 = arena_take(ar, N * C);
    a->ln_2 = arena_take(ar, N * C);
    a->ln_2_mean = arena_take(ar, N);
    a->ln_2_rstd = arena_take(ar, N);
    a->fc = arena_take(ar, N * F);
    a->fc_act = arena_take(ar, N * F);
    a->mlp_proj = arena_take(ar, N * C);
    a->mlp_mask = arena_take(ar, N * C);
    a->mlp_drop = arena_take(ar, N * C);
    a->out = arena_take(ar, N * C);
}

int block_acts_alloc(block_acts *a, const block_config *cfg, int max_B, int max_T, error *e) {
    memset(a, 0, sizeof *a);
    float_arena count = {NULL, 0};
    acts_layout(a, &count, cfg, max_B, max_T);
    if (!(a->buffer = alloc_floats(count.used, "block activations", e)))
        return -1;
    a->n_floats = count.used;
    float_arena real = {a->buffer, 0};
    acts_layout(a, &real, cfg, max_B, max_T);
    return 0;
}

void block_acts_free(block_acts *a) {
    free(a->buffer);
    memset(a, 0, sizeof *a);
}

/* ------------------------------------------------------------ forward, backward */

/* Dropout at one site: returns the tensor the block reads on, the dropped
 * copy when dropout is on, or the input itself when it is off (then there
 * is nothing to copy and no mask to keep). */
static const float *dropout_site(float *out, float *mask, const float *inp, size_t n, float p,
                                 rng *r) {
    if (p == 0.0f)
        return inp;
    dropout_forward(out, mask, inp, n, p, r);
    return out;
}

void block_forward(const layer_ops *ops, const block_config *cfg, const block_weights *w,
                   block_acts *a, const float *x, int B, int T, bool training, rng *r) {
    int C = cfg->C, NH = cfg->NH, F = MLP_MULT * cfg->C;
    size_t N = (size_t)B * T, NC = N * C, TT = (size_t)B * NH * T * T;
    float p = training ? cfg->dropout : 0.0f;
    a->dropout_on = p > 0.0f;
    /* communication: every position gathers from the ones before it */
    ops->layernorm_forward(a->ln_1, a->ln_1_mean, a->ln_1_rstd, x, w->ln_1_w, w->ln_1_b, N, C);
    ops->linear_forward(a->qkv, a->ln_1, w->attn_w, w->attn_b, N, C, 3 * C);
    ops->attention_scores_forward(a->att, a->qkv, B, T, C, NH);
    const float *att = dropout_site(a->att_drop, a->att_mask, a->att, TT, p, r);
    ops->attention_mix_forward(a->heads, att, a->qkv, B, T, C, NH);
    ops->linear_forward(a->attn_proj, a->heads, w->attn_proj_w, w->attn_proj_b, N, C, C);
    residual_forward(a->res_1, x, dropout_site(a->attn_drop, a->attn_mask, a->attn_proj, NC, p, r),
                     NC);
    /* computation: every position thinks about what it gathered, alone */
    ops->layernorm_forward(a->ln_2, a->ln_2_mean, a->ln_2_rstd, a->res_1, w->ln_2_w, w->ln_2_b,
                           N, C);
    ops->linear_forward(a->fc, a->ln_2, w->fc_w, w->fc_b, N, C, F);
    cfg->act->forward(a->fc_act, a->fc, N * F);
    ops->linear_forward(a->mlp_proj, a->fc_act, w->mlp_proj_w, w->mlp_proj_b, N, F, C);
    residual_forward(a->out, a->res_1,
                     dropout_site(a->mlp_drop, a->mlp_mask, a->mlp_proj, NC, p, r), NC);
}

/* A gradient buffer and how much of it this batch uses. */
typedef struct {
    float *p;
    size_t n;
} grad_span;

static void zero_spans(const grad_span *s, size_t count) {
    for (size_t i = 0; i < count; i++)
        memset(s[i].p, 0, s[i].n * sizeof *s[i].p);
}

/* Zeroes the activation gradients that block_backward adds into (the
 * layers accumulate with +=), for this batch's size only. The masks and
 * statistics have no gradient; the dropped copies have one only when
 * dropout was on (off, their gradient is their input's: see block_backward). */
static void zero_gradients(block_acts *d, bool dropout_on, size_t NC, size_t NF, size_t TT) {
    const grad_span always[] = {
        {d->res_1, NC},     {d->mlp_proj, NC}, {d->fc_act, NF}, {d->fc, NF},
        {d->ln_2, NC},      {d->attn_proj, NC}, {d->heads, NC},  {d->att, TT},
        {d->qkv, 3 * NC},   {d->ln_1, NC},
    };
    const grad_span dropped[] = {{d->mlp_drop, NC}, {d->attn_drop, NC}, {d->att_drop, TT}};
    zero_spans(always, sizeof always / sizeof always[0]);
    if (dropout_on)
        zero_spans(dropped, sizeof dropped / sizeof dropped[0]);
}

void block_backward(const layer_ops *ops, const block_config *cfg, const block_weights *w,
                    block_weights *g, const block_acts *a, block_acts *d, float *dx,
                    const float *dout, const float *x, int B, int T) {
    int C = cfg->C, NH = cfg->NH, F = MLP_MULT * cfg->C;
    size_t N = (size_t)B * T, NC = N * C, TT = (size_t)B * NH * T * T;
    zero_gradients(d, a->dropout_on, NC, N * F, TT);
    /* With dropout off, each dropped tensor was its input itself (see
     * dropout_site), so its gradient goes straight to the input's. */
    bool on = a->dropout_on;
    float *d_mlp_drop = on ? d->mlp_drop : d->mlp_proj;
    float *d_attn_drop = on ? d->attn_drop : d->attn_proj;
    float *d_att_drop = on ? d->att_drop : d->att;
    const float *att_drop = on ? a->att_drop : a->att;
    /* out = res_1 + mlp_drop */
    residual_backward(d->res_1, d_mlp_drop, dout, NC);
    /* mlp_drop = dropout(mlp_proj) */
    if (on)
        dropout_backward(d->mlp_proj, d->mlp_drop, a->mlp_mask, NC);
    /* mlp_proj = fc_act @ mlp_proj_w^T + mlp_proj_b */
    ops->linear_backward(d->fc_act, g->mlp_proj_w, g->mlp_proj_b, d->mlp_proj, a->fc_act,
                         w->mlp_proj_w, N, F, C);
    /* fc_act = act(fc) */
    cfg->act->backward(d->fc, a->fc, d->fc_act, N * F);
    /* fc = ln_2 @ fc_w^T + fc_b */
    ops->linear_backward(d->ln_2, g->fc_w, g->fc_b, d->fc, a->ln_2, w->fc_w, N, C, F);
    /* ln_2 = layernorm(res_1): res_1 now has both of its gradients */
    ops->layernorm_backward(d->res_1, g->ln_2_w, g->ln_2_b, d->ln_2, a->res_1, w->ln_2_w,
                            a->ln_2_mean, a->ln_2_rstd, N, C);
    /* res_1 = x + attn_drop */
    residual_backward(dx, d_attn_drop, d->res_1, NC);
    /* attn_drop = dropout(attn_proj) */
    if (on)
        dropout_backward(d->attn_proj, d->attn_drop, a->attn_mask, NC);
    /* attn_proj = heads @ attn_proj_w^T + attn_proj_b */
    ops->linear_backward(d->heads, g->attn_proj_w, g->attn_proj_b, d->attn_proj, a->heads,
                         w->attn_proj_w, N, C, C);
    /* heads = att_drop @ v, head by head */
    ops->attention_mix_backward(d_att_drop, d->qkv, d->heads, att_drop, a->qkv, B, T, C, NH);
    /* att_drop = dropout(att) */
    if (on)
        dropout_backward(d->att, d->att_drop, a->att_mask, TT);
    /* att = causal softmax(q k^T / sqrt(hs)) */
    ops->attention_scores_backward(d->qkv, d->att, a->att, a->qkv, B, T, C, NH);
    /* qkv = ln_1 @ attn_w^T + attn_b */
    ops->linear_backward(d->ln_1, g->attn_w, g->attn_b, d->qkv, a->ln_1, w->attn_w, N, C, 3 * C);
    /* ln_1 = layernorm(x): x's second gradient, after the residual's */
    ops->layernorm_backward(dx, g->ln_1_w, g->ln_1_b, d->ln_1, x, w->ln_1_w, a->ln_1_mean,
                            a->ln_1_rstd, N, C);
}
