/* model.c - chapter 03's model: multi-head attention, projection and
 * feed-forward between the embeddings and lm_head; see model.h. */
#include "model.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "../02-self-attention/linear.h"
#include "feedforward.h"
#include "multihead.h"

#define VIEW(field) offsetof(multihead_weights, field)

enum { N_ATTN_TENSORS = 3, N_MLP_TENSORS = 4 };

static void attn_specs(int C, tensor_spec s[N_ATTN_TENSORS]) {
    size_t c = (size_t)C;
    s[0] = (tensor_spec){"c_attn.weight", 3 * c, c, VIEW(attn_w)};
    s[1] = (tensor_spec){"c_proj.weight", c, c, VIEW(proj_w)};
    s[2] = (tensor_spec){"c_proj.bias", c, 0, VIEW(proj_b)};
}

static void mlp_specs(int C, tensor_spec s[N_MLP_TENSORS]) {
    size_t c = (size_t)C, f = MLP_MULT * c;
    s[0] = (tensor_spec){"c_fc.weight", f, c, VIEW(fc_w)};
    s[1] = (tensor_spec){"c_fc.bias", f, 0, VIEW(fc_b)};
    s[2] = (tensor_spec){"c_proj.weight", c, f, VIEW(fc_proj_w)};
    s[3] = (tensor_spec){"c_proj.bias", c, 0, VIEW(fc_proj_b)};
}

static void layout(multihead_model *m, float_arena *a) {
    const lm_base *b = &m->base;
    size_t N = (size_t)b->max_B * b->max_T, C = (size_t)b->C;
    size_t TT = (size_t)b->max_B * m->NH * b->max_T * b->max_T;
    size_t F = m->ffn ? MLP_MULT * C : 0; /* no feed-forward, no room for it */
    m->qkv = arena_take(a, N * 3 * C);
    m->att = arena_take(a, TT);
    m->heads = arena_take(a, N * C);
    m->proj = arena_take(a, N * C);
    m->fc = arena_take(a, N * F);
    m->relu = arena_take(a, N * F);
    m->mlp = arena_take(a, N * C);
    size_t start = a->used;
    m->grad_acts = m->dqkv = arena_take(a, N * 3 * C);
    m->datt = arena_take(a, TT);
    m->dheads = arena_take(a, N * C);
    m->dproj = arena_take(a, N * C);
    m->dfc = arena_take(a, N * F);
    m->drelu = arena_take(a, N * F);
    m->dmlp = arena_take(a, N * C);
    m->n_grad_acts = a->used - start;
}

/* The middle's tensors: "attn." always, "mlp." with the feed-forward
 * network. Returns how many of the mlp specs apply. */
static int middle_specs(const multihead_model *m, tensor_spec attn[N_ATTN_TENSORS],
                        tensor_spec mlp[N_MLP_TENSORS]) {
    attn_specs(m->base.C, attn);
    mlp_specs(m->base.C, mlp);
    return m->ffn ? N_MLP_TENSORS : 0;
}

static int declare_middle(multihead_model *m, error *e) {
    tensor_spec attn[N_ATTN_TENSORS], mlp[N_MLP_TENSORS];
    int n_mlp = middle_specs(m, attn, mlp);
    if (param_table_declare(&m->base.table, "attn.", attn, N_ATTN_TENSORS, e) != 0)
        return -1;
    return param_table_declare(&m->base.table, "mlp.", mlp, n_mlp, e);
}

/* Points views at the middle's tensors in buf (the parameters or the
 * gradients). */
static int view_middle(multihead_model *m, float *buf, multihead_weights *views, error *e) {
    tensor_spec attn[N_ATTN_TENSORS], mlp[N_MLP_TENSORS];
    int n_mlp = middle_specs(m, attn, mlp);
    const param_table *pt = &m->base.table;
    if (param_table_view(pt, "attn.", attn, N_ATTN_TENSORS, buf, views, e) != 0)
        return -1;
    return param_table_view(pt, "mlp.", mlp, n_mlp, buf, views, e);
}

static void init_weights(multihead_weights *w, int C, bool ffn, rng *r) {
    linear_init(w->attn_w, NULL, C, 3 * C, r);
    linear_init(w->proj_w, w->proj_b, C, C, r);
    if (ffn) {
        linear_init(w->fc_w, w->fc_b, C, MLP_MULT * C, r);
        linear_init(w->fc_proj_w, w->fc_proj_b, MLP_MULT * C, C, r);
    }
}

int multihead_model_init(multihead_model *m, int V, int C, int NH, bool ffn, int max_B,
                         int max_T, rng *r, error *e) {
    memset(m, 0, sizeof *m);
    if (NH < 1 || C % NH != 0)
        return error_set(e, "n_embd %d is not divisible by n_head %d", C, NH);
    m->NH = NH;
    m->ffn = ffn;
    lm_base *b = &m->base;
    if (lm_base_begin(b, V, C, max_B, max_T, e) != 0 || declare_middle(m, e) != 0 ||
        lm_base_finish(b, r, e) != 0 || view_middle(m, b->params, &m->w, e) != 0 ||
        view_middle(m, b->grads, &m->g, e) != 0)
        goto fail;
    float_arena count = {NULL, 0};
    layout(m, &count);
    if (!(m->acts = alloc_floats(count.used, "multi-head activations", e)))
        goto fail;
    float_arena real = {m->acts, 0};
    layout(m, &real);
    init_weights(&m->w, C, ffn, r);
    return 0;
fail:
    multihead_model_free(m);
    return -1;
}

void multihead_model_free(multihead_model *m) {
    lm_base_free(&m->base);
    free(m->acts);
    memset(m, 0, sizeof *m);
}

/* What lm_head reads: the feed-forward output, or the projection without it. */
static float *top(multihead_model *m) { return m->ffn ? m->mlp : m->proj; }

float multihead_model_forward(multihead_model *m, const int *ids, const int *targets, int B,
                              int T) {
    lm_base *b = &m->base;
    int C = b->C, NH = m->NH;
    size_t N = (size_t)B * T;
    const multihead_weights *w = &m->w;
    lm_base_embed_forward(b, ids, B, T);
    linear_forward(m->qkv, b->x, w->attn_w, NULL, N, C, 3 * C);
    multihead_scores_forward(m->att, m->qkv, B, T, C, NH);
    multihead_mix_forward(m->heads, m->att, m->qkv, B, T, C, NH);
    linear_forward(m->proj, m->heads, w->proj_w, w->proj_b, N, C, C);
    if (m->ffn) {
        linear_forward(m->fc, m->proj, w->fc_w, w->fc_b, N, C, MLP_MULT * C);
        relu_forward(m->relu, m->fc, N * MLP_MULT * C);
        linear_forward(m->mlp, m->relu, w->fc_proj_w, w->fc_proj_b, N, MLP_MULT * C, C);
    }
    return lm_base_head_forward(b, top(m), targets);
}

void multihead_model_backward(multihead_model *m) {
    lm_base *b = &m->base;
    int B = b->B, T = b->T, C = b->C, NH = m->NH;
    size_t N = (size_t)B * T;
    const multihead_weights *w = &m->w;
    multihead_weights *g = &m->g;
    memset(m->grad_acts, 0, m->n_grad_acts * sizeof *m->grad_acts);
    lm_base_head_backward(b, m->ffn ? m->dmlp : m->dproj, top(m));
    if (m->ffn) {
        /* mlp = relu @ Wfp^T + bfp;  relu = max(0, fc);  fc = proj @ Wfc^T + bfc */
        linear_backward(m->drelu, g->fc_proj_w, g->fc_proj_b, m->dmlp, m->relu, w->fc_proj_w,
                        N, MLP_MULT * C, C);
        relu_backward(m->dfc, m->fc, m->drelu, N * MLP_MULT * C);
        linear_backward(m->dproj, g->fc_w, g->fc_b, m->dfc, m->proj, w->fc_w, N, C,
                        MLP_MULT * C);
    }
    /* proj = heads @ Wproj^T + bproj */
    linear_backward(m->dheads, g->proj_w, g->proj_b, m->dproj, m->heads, w->proj_w, N, C, C);
    /* heads = att @ v, then att = causal softmax(q k^T / sqrt(hs)), head by head */
    multihead_mix_backward(m->datt, m->dqkv, m->dheads, m->att, m->qkv, B, T, C, NH);
    multihead_scores_backward(m->dqkv, m->datt, m->att, m->qkv, B, T, C, NH);
    /* qkv = x @ Wattn^T */
    linear_backward(b->dx, g->attn_w, NULL, m->dqkv, b->x, w->attn_w, N, C, 3 * C);
    lm_base_embed_backward(b);
}

static float forward_fn(void *self, const int *x, const int *y, int B, int T) {
    return multihead_model_forward(self, x, y, B, T);
}
static void backward_fn(void *self) { multihead_model_backward(self); }
static const float *logits_fn(void *self) { return ((multihead_model *)self)->base.logits; }

language_model multihead_language_model(multihead_model *m) {
    language_model lm = lm_base_language_model(&m->base, m);
    lm.forward = forward_fn;
    lm.backward = backward_fn;
    lm.logits = logits_fn;
    return lm;
}
