/* generate.c - sampling from a language model; see generate.h. */
#include "generate.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "crossentropy.h"

/* A token and its logit, to rank tokens for top-k. */
typedef struct {
    float logit;
    int id;
} ranked_token;

/* Likelier first; between equal logits, the lower id first. A NaN logit
 * (from a broken model) ranks last, which keeps this a consistent order
 * for qsort. */
static int compare_ranked(const void *a, const void *b) {
    const ranked_token *x = a, *y = b;
    bool x_nan = isnan(x->logit), y_nan = isnan(y->logit);
    if (x_nan != y_nan)
        return x_nan ? 1 : -1;
    if (!x_nan && x->logit != y->logit)
        return x->logit < y->logit ? 1 : -1;
    return (x->id > y->id) - (x->id < y->id);
}

/* Keeps the k top-ranked of the V logits and sets the others to -inf, so
 * that softmax gives them probability 0 (exp(-inf) = 0). Exactly k are
 * kept, even when several tie at the cut. */
static int keep_top_k(float *logits, int V, int k, error *e) {
    ranked_token *rank = malloc((size_t)V * sizeof *rank);
    if (!rank)
        return error_set(e, "out of memory for top-k sampling");
    for (int i = 0; i < V; i++)
        rank[i] = (ranked_token){logits[i], i};
    qsort(rank, (size_t)V, sizeof *rank, compare_ranked);
    for (int i = k; i < V; i++)
        logits[rank[i].id] = -INFINITY;
    free(rank);
    return 0;
}

int sample_token(const float *logits, int V, const sampler_config *sc, float *probs, rng *r,
                 error *e) {
    /* scaled logits go into probs, which softmax then overwrites in place */
    for (int i = 0; i < V; i++)
        probs[i] = logits[i] / sc->temperature;
    if (sc->top_k > 0 && sc->top_k < V && keep_top_k(probs, V, sc->top_k, e) != 0)
        return -1;
    softmax_forward(probs, probs, V);
    /* invert the cumulative distribution at a uniform point */
    float u = rng_uniform(r), cumulative = 0.0f;
    int last_possible = 0;
    for (int i = 0; i < V; i++) {
        if (probs[i] <= 0.0f)
            continue;
        last_possible = i;
        cumulative += probs[i];
        if (u < cumulative)
            return i;
    }
    return last_possible; /* u fell in the rounding gap just below 1 */
}

/* Appends id to the context of T tokens, first dropping the oldest one if
 * the context is full (T_max); returns the new length. */
static int append_token(int *context, int T, int T_max, int id) {
    if (T == T_max) { /* slide the window by one */
        memmove(context, context + 1, (size_t)(T - 1) * sizeof *context);
        T--;
    }
    context[T] = id;
    return T + 1;
}

int generate(language_model *m, const tokenizer *tok, const int *prompt, size_t n_prompt,
             long n_tokens, const sampler_config *sc, rng *r, FILE *out, error *e) {
    if (n_prompt == 0) /* the first prediction needs a last token to start from */
        return error_set(e, "the prompt is empty: generation needs at least one token");
    int T_max = m->block_size, V = m->vocab_size;
    int *context = malloc((size_t)T_max * sizeof *context);
    float *probs = malloc((size_t)V * sizeof *probs);
    if (!context || !probs) {
        free(context);
        free(probs);
        return error_set(e, "out of memory for generation");
    }
    /* keep the last T_max prompt tokens: the model never saw longer contexts */
    size_t skip = n_prompt > (size_t)T_max ? n_prompt - (size_t)T_max : 0;
    int T = (int)(n_prompt - skip);
    memcpy(context, prompt + skip, (size_t)T * sizeof *context);
    if (m->set_training)
        m->set_training(m->self, false);
    int rc = 0;
    for (long i = 0; i < n_tokens; i++) {
        m->forward(m->self, context, NULL, 1, T);
        const float *last = m->logits(m->self) + (size_t)(T - 1) * V; /* next-char logits */
        int id = sample_token(last, V, sc, probs, r, e);
        if (id < 0) {
            rc = -1;
            break;
        }
        char bytes[UTF8_MAX_BYTES];
        fwrite(bytes, 1, (size_t)tokenizer_decode_one(tok, id, bytes), out);
        if (fflush(out) != 0 || ferror(out))
            break; /* a full disk, a closed pipe: the caller says so (finish_stdout) */
        T = append_token(context, T, T_max, id);
    }
    if (m->set_training)
        m->set_training(m->self, true);
    free(context);
    free(probs);
    return rc;
}
