/*
 * main.c - chapter 01: train the bigram model on Tiny Shakespeare.
 *
 *     01-bigram/bigram [--iters 3000 --lr 1e-2 --sample 300 ...]
 *
 * Settings are those of the classic lecture (batch 32, block 8, lr 1e-2,
 * 3000 steps); the final validation loss lands near 2.49 nats.
 */
#include <stdlib.h>

#include "bigram.h"
#include "chapter.h"

static int build(language_model *lm, const options *o, int vocab_size, rng *r, error *e) {
    bigram *m = malloc(sizeof *m);
    if (!m)
        return error_set(e, "out of memory");
    if (bigram_init(m, vocab_size, o->batch, o->block, r, e) != 0) {
        free(m);
        return -1;
    }
    *lm = bigram_language_model(m);
    return 0;
}

static void destroy(language_model *lm) {
    bigram_free(lm->self);
    free(lm->self);
}

int main(int argc, char **argv) {
    chapter ch = {
        .program = "bigram",
        .usage = "usage: 01-bigram/bigram [options]\n\n"
                 "Trains a bigram language model (a V x V table of next-character logits)\n"
                 "and writes OUT/loss.csv and OUT/loss.png.",
        .options = OPT_DATA | OPT_TRAINING | OPT_SEED,
        .defaults = chapter_default_options("runs/01-bigram"),
        .build = build,
        .destroy = destroy,
    };
    return chapter_main(argc, argv, &ch);
}
