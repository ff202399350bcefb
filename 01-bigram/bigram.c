/* bigram.c - the bigram language model; see bigram.h. */
#include "bigram.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crossentropy.h"
#include "embedding.h"

int bigram_init(bigram *m, int V, int max_B, int max_T, rng *r, error *e) {
    memset(m, 0, sizeof *m);
    /* The table is V x V, and training keeps it four times (weights,
     * gradients, AdamW's two moments): a text of 40,000 distinct characters
     * would need 24 GiB. Refused at once, not after minutes of filling it. */
    char what[96];
    snprintf(what, sizeof what, "a bigram of %d characters (its %d x %d table, 4 times)", V, V, V);
    if (check_fits_in_memory(4.0 * V * V * sizeof(float), what, e) != 0)
        return -1;
    m->V = V;
    m->max_B = max_B;
    m->max_T = max_T;
    size_t off = param_table_add(&m->table, 2, (size_t)V, (size_t)V, "token_embedding_table.weight");
    size_t n = (size_t)max_B * max_T;
    if (off == (size_t)-1 ||
        !(m->params = alloc_floats(m->table.total, "parameters", e)) ||
        !(m->grads = alloc_floats(m->table.total, "gradients", e)) ||
        !(m->logits = alloc_floats(n * V, "logits", e)) ||
        !(m->probs = alloc_floats(n * V, "probabilities", e)) ||
        !(m->dlogits = alloc_floats(n * V, "logit gradients", e)) ||
        !(m->losses = alloc_floats(n, "losses", e)) ||
        !(m->inputs = malloc(n * sizeof *m->inputs)) ||
        !(m->targets = malloc(n * sizeof *m->targets))) {
        bigram_free(m);
        return error_set(e, "out of memory for a bigram model with V=%d, batch %dx%d", V, max_B,
                         max_T);
    }
    m->logit_table = m->params + off;
    m->dlogit_table = m->grads + off;
    for (size_t i = 0; i < m->table.total; i++)
        m->params[i] = rng_normal(r);
    return 0;
}

void bigram_free(bigram *m) {
    param_table_free(&m->table);
    free(m->params);
    free(m->grads);
    free(m->logits);
    free(m->probs);
    free(m->dlogits);
    free(m->losses);
    free(m->inputs);
    free(m->targets);
    memset(m, 0, sizeof *m);
}

float bigram_forward(bigram *m, const int *x, const int *targets, int B, int T) {
    size_t N = (size_t)B * T;
    m->B = B;
    m->T = T;
    memcpy(m->inputs, x, N * sizeof *x);
    /* the "network": row x of the table is the logits for the next char */
    token_embedding_forward(m->logits, x, m->logit_table, N, m->V);
    m->has_targets = targets != NULL;
    if (!targets)
        return 0.0f;
    memcpy(m->targets, targets, N * sizeof *targets);
    return crossentropy_forward(m->probs, m->losses, m->logits, targets, N, m->V);
}

void bigram_backward(bigram *m) {
    size_t N = (size_t)m->B * m->T;
    memset(m->dlogits, 0, N * m->V * sizeof *m->dlogits);
    crossentropy_backward(m->dlogits, m->probs, m->targets, N, m->V);
    token_embedding_backward(m->dlogit_table, m->dlogits, m->inputs, N, m->V);
}

static float forward_fn(void *self, const int *x, const int *y, int B, int T) {
    return bigram_forward(self, x, y, B, T);
}
static void backward_fn(void *self) { bigram_backward(self); }
static const float *logits_fn(void *self) { return ((bigram *)self)->logits; }

language_model bigram_language_model(bigram *m) {
    return (language_model){
        .self = m,
        .vocab_size = m->V,
        .block_size = m->max_T,
        .table = &m->table,
        .params = m->params,
        .grads = m->grads,
        .forward = forward_fn,
        .backward = backward_fn,
        .logits = logits_fn,
        .set_training = NULL,
    };
}
