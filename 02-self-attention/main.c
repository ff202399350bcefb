/*
 * main.c - chapter 02: train one causal self-attention head on Tiny
 * Shakespeare.
 *
 *     02-self-attention/attention [--n-embd 32 --iters 5000 --sample 300 ...]
 *
 * The lecture's settings (n_embd 32, block 8, batch 32, lr 1e-3, 5000
 * steps); the final validation loss lands near 2.41, against the bigram's
 * 2.49.
 */
#include <stdlib.h>

#include "../01-bigram/chapter.h"
#include "defaults.h"
#include "model.h"

static int build(language_model *lm, const options *o, int vocab_size, rng *r, error *e) {
    attention_model *m = malloc(sizeof *m);
    if (!m)
        return error_set(e, "out of memory");
    if (attention_model_init(m, vocab_size, o->n_embd, o->batch, o->block, r, e) != 0) {
        free(m);
        return -1;
    }
    *lm = attention_language_model(m);
    return 0;
}

static void destroy(language_model *lm) {
    attention_model_free(lm->self);
    free(lm->self);
}

int main(int argc, char **argv) {
    chapter ch = {
        .program = "attention",
        .usage = "usage: 02-self-attention/attention [options]\n\n"
                 "Trains a language model with one causal self-attention head (token and\n"
                 "position embeddings -> query/key/value -> attention -> lm_head) and writes\n"
                 "OUT/loss.csv and OUT/loss.png.",
        .options = OPT_DATA | OPT_TRAINING | OPT_SEED | OPT_THREADS | OPT_N_EMBD,
        .defaults = chapter_attention_options("runs/02-self-attention"),
        .build = build,
        .destroy = destroy,
    };
    return chapter_main(argc, argv, &ch);
}
