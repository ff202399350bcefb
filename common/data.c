/* data.c - load, tokenize, split and batch the text; see data.h. */
#include "data.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reads what is left of f into *buf (capacity *cap, holding *n bytes),
 * growing it as needed but never past max bytes. Returns 0, 1 when there
 * is more than max, or -1 when memory runs out. */
static int read_all(FILE *f, char **buf, size_t *cap, size_t *n, size_t max) {
    for (;;) {
        if (*n == *cap) {
            if (*cap == max) {
                char probe; /* max bytes read: one more means too many */
                return fread(&probe, 1, 1, f) == 1 ? 1 : 0;
            }
            size_t grown_cap = *cap <= max / 2 ? 2 * *cap : max;
            char *grown = realloc(*buf, grown_cap);
            if (!grown)
                return -1;
            *buf = grown, *cap = grown_cap;
        }
        size_t got = fread(*buf + *n, 1, *cap - *n, f);
        *n += got;
        if (got == 0)
            return 0;
    }
}

static int too_long(const char *path, size_t max, error *e) {
    return error_set(e, "'%s' is longer than %zu bytes, the most text this program reads", path,
                     max);
}

int read_file_at_most(const char *path, size_t max, char **bytes, size_t *len, error *e) {
    *bytes = NULL;
    *len = 0;
    struct stat st;
    if (stat(path, &st) != 0)
        return error_set(e, "cannot open '%s': %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return error_set(e, "'%s' is a directory, not a text file", path);
    if (st.st_size > 0 && (unsigned long long)st.st_size > max)
        return too_long(path, max, e);
    FILE *f = fopen(path, "rb");
    if (!f)
        return error_set(e, "cannot open '%s': %s", path, strerror(errno));
    /* Read in chunks rather than trusting st_size: pipes and /proc files
     * report 0, and a file may change while we read it. */
    size_t cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096, n = 0;
    if (cap > max)
        cap = max;
    char *buf = malloc(cap);
    int rc = buf ? read_all(f, &buf, &cap, &n, max) : -1;
    int failed = ferror(f);
    fclose(f);
    if (rc != 0 || failed || n == 0)
        free(buf);
    if (rc < 0)
        return error_set(e, "out of memory reading '%s'", path);
    if (rc > 0)
        return too_long(path, max, e);
    if (failed)
        return error_set(e, "error reading '%s'", path);
    if (n == 0)
        return error_set(e, "'%s' is empty", path);
    *bytes = buf;
    *len = n;
    return 0;
}

int read_file(const char *path, char **bytes, size_t *len, error *e) {
    return read_file_at_most(path, MAX_TEXT_BYTES, bytes, len, e);
}

const char *data_default_path(void) {
    if (access(DATA_LOCAL_PATH, R_OK) == 0)
        return DATA_LOCAL_PATH;
    if (access(DATA_SHARED_PATH, R_OK) == 0)
        return DATA_SHARED_PATH;
    return NULL;
}

int dataset_from_text(dataset *ds, const char *text, size_t len, const tokenizer *vocab,
                      error *e) {
    memset(ds, 0, sizeof *ds);
    if ((vocab ? tokenizer_from_chars(&ds->tok, vocab->chars, vocab->vocab_size, e)
               : tokenizer_build(&ds->tok, text, len, e)) != 0)
        return -1;
    /* U+0000 is valid UTF-8, but no text file holds it, while a UTF-16
     * file of ASCII holds one after every character. It would also end the
     * vocabulary early where the checkpoints store it as a C string. */
    const char *nul = memchr(text, '\0', len);
    if (nul) {
        tokenizer_free(&ds->tok);
        return error_set(e, "a NUL character at byte offset %zu: not a text file (UTF-16?)",
                         (size_t)(nul - text));
    }
    ds->tokens = malloc(len * sizeof *ds->tokens); /* one id per byte at most */
    if (!ds->tokens) {
        tokenizer_free(&ds->tok);
        return error_set(e, "out of memory for %zu tokens", len);
    }
    if (tokenizer_encode(&ds->tok, text, len, ds->tokens, &ds->n_tokens, e) != 0) {
        dataset_free(ds);
        return -1;
    }
    /* Integer arithmetic, so the split point is exact for any length. It
     * equals Python's int(0.9 * n) for the sizes we use. */
    ds->n_train = ds->n_tokens / 100 * TRAIN_PERCENT + ds->n_tokens % 100 * TRAIN_PERCENT / 100;
    return 0;
}

int dataset_load(dataset *ds, const char *path, const tokenizer *vocab, error *e) {
    char *text;
    size_t len;
    memset(ds, 0, sizeof *ds);
    if (read_file(path, &text, &len, e) != 0)
        return -1;
    int rc = dataset_from_text(ds, text, len, vocab, e);
    free(text);
    return rc != 0 ? error_prefix(e, "%s", path) : 0;
}

void dataset_free(dataset *ds) {
    tokenizer_free(&ds->tok);
    free(ds->tokens);
    memset(ds, 0, sizeof *ds);
}

const int *dataset_split(const dataset *ds, split s, size_t *n) {
    if (s == SPLIT_TRAIN) {
        *n = ds->n_train;
        return ds->tokens;
    }
    *n = ds->n_tokens - ds->n_train;
    return ds->tokens + ds->n_train;
}

int dataset_check(const dataset *ds, int T, error *e) {
    if (ds->tok.vocab_size < 2)
        return error_set(e, "the text has only %d distinct character(s); a language model "
                            "needs at least 2",
                         ds->tok.vocab_size);
    static const char *const names[] = {"train", "val"};
    for (int s = SPLIT_TRAIN; s <= SPLIT_VAL; s++) {
        size_t n;
        dataset_split(ds, (split)s, &n);
        if (n < (size_t)T + 1)
            return error_set(e, "the %s split has %zu tokens, but a block of %d needs at least "
                                "%d (use a longer text%s)",
                             names[s], n, T, T + 1, T > 1 ? " or a smaller --block" : "");
    }
    return 0;
}

void dataset_batch(const dataset *ds, split s, rng *r, int B, int T, int *x, int *y) {
    size_t n;
    const int *tokens = dataset_split(ds, s, &n);
    for (int b = 0; b < B; b++) {
        /* a start in [0, n - T) leaves room for the T inputs and the
         * target one past the last of them */
        size_t start = (size_t)rng_below(r, n - (size_t)T);
        memcpy(x + (size_t)b * T, tokens + start, (size_t)T * sizeof *x);
        memcpy(y + (size_t)b * T, tokens + start + 1, (size_t)T * sizeof *y);
    }
}
