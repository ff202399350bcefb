/* generate.c - sampling from a language model; see generate.h. */
#include "generate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "crossentropy.h"

static int compare_desc(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x < y) - (x > y);
}

int sample_token(const float *logits, int V, const sampler_config *sc, float *probs, rng *r) {
    /* scaled logits go into probs, which softmax then overwrites in place */
    for (int i = 0; i < V; i++)
        probs[i] = logits[i] / sc->temperature;
    if (sc->top_k > 0 && sc->top_k < V) {
        /* the k-th largest logit is the cut-off: everything below it gets
         * probability zero (exp(-inf) = 0) */
        float *sorted = malloc((size_t)V * sizeof *sorted);
        if (sorted) {
            memcpy(sorted, probs, (size_t)V * sizeof *sorted);
            qsort(sorted, (size_t)V, sizeof *sorted, compare_desc);
            float cutoff = sorted[sc->top_k - 1];
            for (int i = 0; i < V; i++)
                if (probs[i] < cutoff)
                    probs[i] = -INFINITY;
            free(sorted);
        }
    }
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

int generate(language_model *m, const tokenizer *tok, const int *prompt, size_t n_prompt,
             long n_tokens, const sampler_config *sc, rng *r, FILE *out, error *e) {
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
    for (long i = 0; i < n_tokens; i++) {
        m->forward(m->self, context, NULL, 1, T);
        const float *last = m->logits(m->self) + (size_t)(T - 1) * V; /* next-char logits */
        int id = sample_token(last, V, sc, probs, r);
        char bytes[UTF8_MAX_BYTES];
        fwrite(bytes, 1, (size_t)tokenizer_decode_one(tok, id, bytes), out);
        fflush(out);
        if (T == T_max) { /* slide the window by one */
            memmove(context, context + 1, (size_t)(T - 1) * sizeof *context);
            T--;
        }
        context[T++] = id;
    }
    if (m->set_training)
        m->set_training(m->self, true);
    free(context);
    free(probs);
    return 0;
}
