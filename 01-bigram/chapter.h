/*
 * chapter.h - the program every chapter's binary is.
 *
 * Chapters 01-04 all do the same thing around their model: read options,
 * load the text, build the model, train it, write the loss log and plot,
 * print a sample and the final losses. Only the model differs, so each
 * chapter's main() describes its model in a `chapter` struct and hands over
 * to chapter_main(). The last line on stdout is always
 *     final step=N train_loss=X val_loss=Y
 * so scripts (and the tests) can read the result.
 */
#ifndef BIGRAM_CHAPTER_H
#define BIGRAM_CHAPTER_H

#include <stdio.h>

#include "../common/cli.h"
#include "../common/error.h"
#include "../common/rng.h"
#include "../common/train.h"

typedef struct {
    const char *program;  /* e.g. "bigram" (for error messages) */
    const char *usage;    /* first lines of --help */
    unsigned options;     /* which shared options apply (cli.h) */
    options defaults;
    /* Builds the model for these options and vocabulary size, initialised
     * from r, and returns it as a language_model. */
    int (*build)(language_model *lm, const options *o, int vocab_size, rng *r, error *e);
    void (*destroy)(language_model *lm);
} chapter;

int chapter_main(int argc, char **argv, const chapter *ch);

/* The options every chapter shares, with the lecture's defaults for the
 * bigram (chapters 02-04 change some: 02-self-attention/defaults.h). */
options chapter_default_options(const char *out_dir);

/* Resolves --data (or the default search) and loads the dataset, with its
 * own vocabulary or, given one, vocab's (see dataset_from_text). */
int load_data(dataset *ds, const char *path, const tokenizer *vocab, const char *program,
              error *e);

/* Plots out_dir/loss.csv into out_dir/loss.png with gnuplot, if it is
 * installed; prints a note and returns otherwise. */
void plot_loss(const char *out_dir);

/* Streams n characters generated after the prompt ids to stdout, drawn
 * from the sampling stream of --seed, at o->temperature and o->top_k
 * (1 and 0 in chapters 01-04; `gpt sample` takes them as options);
 * generate turns dropout off while it runs. */
int sample_text(language_model *lm, const tokenizer *tok, const int *ids, size_t n_ids, long n,
                const options *o, error *e);

/* Where a sample without a prompt starts: a newline, the way a text's
 * lines start, or the vocabulary's first character if the text has none. */
int sample_start(const tokenizer *tok);

/* --sample: o->sample characters generated after sample_start, from the
 * sampling stream of --seed (as sample_text), between two framing
 * lines. */
int print_sample(language_model *lm, const tokenizer *tok, const options *o, error *e);

/* Prints "final step=N train_loss=X val_loss=Y", the line scripts read. */
void print_final(const train_result *res);

#endif
