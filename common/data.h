/*
 * data.h - the training text as token ids, split 90/10 into train and val,
 * and random (x, y) batches drawn from it.
 *
 * A batch is B rows of T consecutive tokens starting at random positions.
 * The targets y are the same rows shifted one token to the right: at every
 * position t the model sees x[0..t] and must predict y[t] = x[t+1]. So one
 * row of length T holds T training examples with contexts of length 1..T.
 */
#ifndef COMMON_DATA_H
#define COMMON_DATA_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "rng.h"
#include "tokenizer.h"

/* The first 90% of the tokens train the model; the last 10% measure it. */
#define TRAIN_PERCENT 90

/* Where the data is looked for when --data is not given, in this order. */
#define DATA_LOCAL_PATH "data/input.txt"
#define DATA_SHARED_PATH "../shared/data/tinyshakespeare.txt"

typedef enum { SPLIT_TRAIN = 0, SPLIT_VAL = 1 } split;

typedef struct {
    tokenizer tok;
    int *tokens;     /* (n_tokens) the whole text as ids */
    size_t n_tokens;
    size_t n_train;  /* tokens[0, n_train) is train, the rest is val */
} dataset;

/* The most text a program reads: 1 GiB, a thousand times Tiny Shakespeare
 * (its tokens alone take 4 GiB), so that --data /dev/zero is an error, not
 * all of memory. */
#define MAX_TEXT_BYTES ((size_t)1 << 30)

/* Reads a whole file into a malloc'd buffer (not NUL-terminated). A missing
 * file, a directory, an empty file, one of more than MAX_TEXT_BYTES (even
 * an endless one, like /dev/zero) or a read error is a clear error. */
int read_file(const char *path, char **bytes, size_t *len, error *e);

/* read_file with a limit of max bytes of our choosing (tests use small ones). */
int read_file_at_most(const char *path, size_t max, char **bytes, size_t *len, error *e);

/* The first default data file that exists (DATA_LOCAL_PATH, then
 * DATA_SHARED_PATH), or NULL when there is none. */
const char *data_default_path(void);

/* Tokenizes text and splits it. The vocabulary is built from the text
 * itself, or, given one (vocab: a checkpoint's), is a copy of it, and a
 * character outside it is an error that names it. The text must be valid
 * UTF-8 without NUL characters. */
int dataset_from_text(dataset *ds, const char *text, size_t len, const tokenizer *vocab,
                      error *e);

/* read_file + dataset_from_text, with the path in any error message. */
int dataset_load(dataset *ds, const char *path, const tokenizer *vocab, error *e);

void dataset_free(dataset *ds);

/* The tokens of one split. */
const int *dataset_split(const dataset *ds, split s, size_t *n);

/* Checks that a model can train on this data with context length T: at least
 * two distinct characters, and each split longer than T tokens. */
int dataset_check(const dataset *ds, int T, error *e);

/* Fills x and y (B*T ids each) with B random rows of split s; y is x shifted
 * by one. Requires dataset_check(ds, T) to have passed. */
void dataset_batch(const dataset *ds, split s, rng *r, int B, int T, int *x, int *y);

#endif
