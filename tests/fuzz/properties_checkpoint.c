/* properties_checkpoint.c - the checkpoint loader's oracles; see properties.h.
 *
 * Two layers, as the programs use them: the safetensors parser of common/
 * on the bytes in memory, then chapter 05's gpt_open on the same bytes as a
 * file, and, when the file opens, a model built from it. What is checked
 * is written down here from the format's definition, not taken from the
 * code under test: the dtype sizes, the header length, the arithmetic of
 * shapes and offsets, the coverage of the data byte by byte. */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../05-gpt/ckpt.h"
#include "properties.h"

#define HEADER_LEN_BYTES 8
/* A model small enough to build for every fuzzed file that opens: its
 * activations (block^2 per head) stay kilobytes. */
#define SMALL_BLOCK 64
#define SMALL_EMBD 64
#define SMALL_LAYERS 4
#define SMALL_VOCAB 512

/* The dtypes of the safetensors format and their sizes in bytes. */
static const struct {
    const char *name;
    size_t bytes;
} DTYPES[] = {{"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"I16", 2}, {"U16", 2}, {"F16", 2}, {"BF16", 2},
              {"I32", 4},  {"U32", 4}, {"F32", 4}, {"I64", 8}, {"U64", 8}, {"F64", 8}};

static size_t dtype_bytes(const char *name) {
    for (size_t i = 0; i < sizeof DTYPES / sizeof DTYPES[0]; i++)
        if (strcmp(DTYPES[i].name, name) == 0)
            return DTYPES[i].bytes;
    return 0;
}

static bool valid_utf8(const char *s) {
    size_t n = strlen(s);
    return utf8_reference_first_invalid((const uint8_t *)s, n) == n;
}

/* What a user sees on stderr: one line of text, so no control character
 * (a newline would make two lines, an escape would reach the terminal) and
 * nothing that is not UTF-8. */
static int check_message(const char *msg, const char *what, char *why) {
    if (msg[0] == '\0')
        return property_broken(why, "%s failed with an empty message", what);
    for (const char *p = msg; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7F)
            return property_broken(why, "%s: control character 0x%02X in the message '%s'", what,
                                   (unsigned char)*p, msg);
    if (!valid_utf8(msg))
        return property_broken(why, "%s: the message is not UTF-8: '%s'", what, msg);
    return 0;
}

/* ------------------------------------------------------------ safetensors */

/* safetensors_parse on a copy (it takes ownership of its bytes). */
static int parse_copy(const uint8_t *data, size_t len, safetensors *st, error *e) {
    unsigned char *copy = malloc(len ? len : 1);
    if (!copy)
        return error_set(e, "out of memory in the checker");
    if (len > 0) /* (an empty input may come as a NULL pointer) */
        memcpy(copy, data, len);
    return safetensors_parse(st, copy, len, e);
}

/* One tensor: a known dtype, a shape whose byte count does not overflow,
 * offsets in order inside the data that span exactly that count. */
static int check_tensor(const safetensors *st, const st_tensor *t, char *why) {
    size_t elem = dtype_bytes(t->dtype), bytes = elem;
    if (elem == 0)
        return property_broken(why, "tensor '%s' has dtype '%s', which safetensors does not define",
                               t->name, t->dtype);
    if (t->ndim < 0 || t->ndim > ST_MAX_DIMS)
        return property_broken(why, "tensor '%s' has %d dimensions", t->name, t->ndim);
    for (int d = 0; d < t->ndim; d++)
        if (__builtin_mul_overflow(bytes, t->shape[d], &bytes))
            return property_broken(why, "tensor '%s': its byte count overflows", t->name);
    if (t->begin > t->end || t->end > st->data_len)
        return property_broken(why, "tensor '%s': offsets [%zu, %zu] outside %zu data bytes",
                               t->name, t->begin, t->end, st->data_len);
    if (t->end - t->begin != bytes)
        return property_broken(why, "tensor '%s': %zu bytes for a shape of %zu", t->name,
                               t->end - t->begin, bytes);
    if (strlen(t->name) >= ST_NAME_MAX || !valid_utf8(t->name))
        return property_broken(why, "tensor name '%s' is too long or not UTF-8", t->name);
    if (safetensors_find(st, t->name) != t)
        return property_broken(why, "safetensors_find('%s') does not find it", t->name);
    return 0;
}

/* Every data byte belongs to exactly one tensor. */
static int check_coverage(const safetensors *st, char *why) {
    unsigned char *owners = calloc(st->data_len ? st->data_len : 1, 1);
    if (!owners)
        return property_broken(why, "out of memory in the checker");
    int rc = 0;
    for (int i = 0; i < st->n_tensors; i++)
        for (size_t b = st->tensors[i].begin; b < st->tensors[i].end; b++)
            if (owners[b] < UCHAR_MAX)
                owners[b]++;
    for (size_t b = 0; b < st->data_len && rc == 0; b++)
        if (owners[b] != 1)
            rc = property_broken(why, "data byte %zu belongs to %d tensors", b, owners[b]);
    free(owners);
    return rc;
}

/* A parsed file against its bytes. */
static int check_parsed(const safetensors *st, const uint8_t *data, size_t len, char *why) {
    uint64_t header_len = 0;
    for (int i = HEADER_LEN_BYTES - 1; i >= 0; i--)
        header_len = header_len << 8 | data[i];
    if (len < HEADER_LEN_BYTES || header_len > len - HEADER_LEN_BYTES)
        return property_broken(why, "accepted a header length of %llu in a %zu-byte file",
                               (unsigned long long)header_len, len);
    if (st->data != st->file + HEADER_LEN_BYTES + header_len ||
        st->data_len != len - HEADER_LEN_BYTES - header_len || st->file_len != len)
        return property_broken(why, "the data section is not where the header length puts it");
    for (int i = 0; i < st->n_tensors; i++) {
        if (i > 0 && strcmp(st->tensors[i - 1].name, st->tensors[i].name) >= 0)
            return property_broken(why, "tensors not sorted or '%s' twice", st->tensors[i].name);
        if (check_tensor(st, &st->tensors[i], why) != 0)
            return -1;
    }
    for (int i = 0; i < st->n_meta; i++) {
        const st_meta *m = &st->meta[i];
        if (i > 0 && strcmp(st->meta[i - 1].key, m->key) >= 0)
            return property_broken(why, "metadata not sorted or '%s' twice", m->key);
        if (!valid_utf8(m->key) || !valid_utf8(m->value))
            return property_broken(why, "metadata '%s' is not UTF-8", m->key);
        if (safetensors_meta(st, m->key) != m->value)
            return property_broken(why, "safetensors_meta('%s') does not find it", m->key);
    }
    return check_coverage(st, why);
}

int safetensors_properties(const uint8_t *data, size_t len, char why[PROPERTY_WHY_MAX]) {
    safetensors st, again;
    error e = {{0}}, e2 = {{0}};
    int rc = parse_copy(data, len, &st, &e), rc2 = parse_copy(data, len, &again, &e2);
    if (rc2 == 0)
        safetensors_free(&again);
    if (rc != rc2 || strcmp(e.msg, e2.msg) != 0) {
        if (rc == 0)
            safetensors_free(&st);
        return property_broken(why, "the same bytes parsed twice gave different answers");
    }
    if (rc != 0)
        return check_message(e.msg, "safetensors_parse", why);
    rc = check_parsed(&st, data, len, why);
    safetensors_free(&st);
    return rc;
}

/* ------------------------------------------------------------ gpt_open */

/* A file of this process's own to hand the bytes to gpt_open, which reads
 * a path as the programs do. It is rewritten for every input, so it lives
 * in memory (/dev/shm) where the machine has that, unless TMPDIR says
 * otherwise: twice the inputs per second of a disk. Its name is removed as
 * soon as it is made, so nothing is left behind even when a broken
 * property aborts the fuzzer; the open descriptor keeps the file, and
 * Linux's /proc/self/fd/N names it. */
#define MEMORY_FS "/dev/shm"
static int scratch_fd = -1;
static char scratch_path[64];

static const char *write_scratch(const uint8_t *data, size_t len, char *why) {
    if (scratch_fd < 0) {
        const char *tmp = getenv("TMPDIR");
        if (!tmp || !*tmp)
            tmp = access(MEMORY_FS, W_OK) == 0 ? MEMORY_FS : "/tmp";
        char name[300];
        snprintf(name, sizeof name, "%s/fuzz-checkpoint-XXXXXX", tmp);
        scratch_fd = mkstemp(name);
        if (scratch_fd < 0) {
            property_broken(why, "cannot make a scratch file in %s", tmp);
            return NULL;
        }
        unlink(name);
        snprintf(scratch_path, sizeof scratch_path, "/proc/self/fd/%d", scratch_fd);
    }
    if (ftruncate(scratch_fd, 0) != 0 || pwrite(scratch_fd, data, len, 0) != (ssize_t)len) {
        property_broken(why, "cannot write the scratch file %s", scratch_path);
        return NULL;
    }
    return scratch_path;
}

/* Parses metadata key as a whole number, independently of ckpt.c. */
static long meta_number(const safetensors *f, const char *key) {
    const char *s = safetensors_meta(f, key);
    return s ? strtol(s, NULL, 10) : -1;
}

/* Floats in the weights of a GPT of config c, in double: a corrupt config
 * must not overflow the check that is meant to catch it. */
static double weight_floats(const gpt_config *c) {
    double V = c->vocab_size, T = c->block_size, C = c->n_embd, L = c->n_layer;
    return V * C + T * C + L * (12.0 * C * C + 2.0 * C) + C;
}

/* What an opened checkpoint promises: a config that passes the model's own
 * check and is the metadata's, a vocabulary of vocab_size strictly
 * increasing code points, and weights that are all in the file, so the
 * model it describes is no larger than the file (never a huge allocation). */
static int check_opened(const safetensors *f, const gpt_config *c, const tokenizer *tok,
                        char *why) {
    error e = {{0}};
    if (gpt_config_check(c, &e) != 0)
        return property_broken(why, "gpt_open accepted a config gpt_create refuses: %s", e.msg);
    if (meta_number(f, "n_layer") != c->n_layer || meta_number(f, "n_head") != c->n_head ||
        meta_number(f, "n_embd") != c->n_embd || meta_number(f, "block_size") != c->block_size ||
        meta_number(f, "vocab_size") != c->vocab_size)
        return property_broken(why, "the config differs from the metadata");
    if (tok->vocab_size != c->vocab_size)
        return property_broken(why, "%d characters for vocab_size %d", tok->vocab_size,
                               c->vocab_size);
    for (int i = 1; i < tok->vocab_size; i++)
        if (tok->chars[i] <= tok->chars[i - 1])
            return property_broken(why, "the vocabulary is not strictly increasing at %d", i);
    if (weight_floats(c) * sizeof(float) > (double)f->data_len)
        return property_broken(why, "the config needs %.0f bytes of weights, the file holds %zu",
                               weight_floats(c) * sizeof(float), f->data_len);
    return 0;
}

/* The training state of a last.safetensors, if there is one: loaded, or
 * refused with a message. */
static int check_state(const safetensors *f, gpt *m, char *why) {
    if (!safetensors_find(f, "adamw.m"))
        return 0;
    train_state st;
    error e = {{0}};
    if (train_state_init(&st, gpt_params_table(m)->total, 1, &e) != 0)
        return property_broken(why, "train_state_init: %s", e.msg);
    int rc = 0;
    if (gpt_load_state(f, m, &st, &e) != 0)
        rc = check_message(e.msg, "gpt_load_state", why);
    options o = {0};
    e.msg[0] = '\0';
    if (rc == 0 && gpt_load_options(f, &o, &e) != 0)
        rc = check_message(e.msg, "gpt_load_options", why);
    train_state_free(&st);
    return rc;
}

/* A small model of the file's config: it takes the weights bit for bit,
 * runs a forward pass over a whole block, and reads the training state. */
static int check_model(const safetensors *f, const gpt_config *c, char *why) {
    rng r;
    rng_seed(&r, 1);
    error e = {{0}};
    gpt *m = gpt_create(c, 1, &r, &r, &GPT_FAST, &e);
    if (!m)
        return property_broken(why, "gpt_create on an opened config: %s", e.msg);
    int rc = 0;
    if (gpt_load_weights(f, m, &e) != 0)
        rc = property_broken(why, "gpt_open accepted, gpt_load_weights refused: %s", e.msg);
    const param_table *pt = gpt_params_table(m);
    for (int i = 0; i < pt->n_tensors && rc == 0; i++) {
        const tensor_info *t = &pt->tensors[i];
        const st_tensor *s = safetensors_find(f, t->name);
        if (!s || memcmp(gpt_params(m) + t->offset, f->data + s->begin, t->size * sizeof(float)))
            rc = property_broken(why, "tensor '%s' did not arrive bit for bit", t->name);
    }
    if (rc == 0) {
        int x[SMALL_BLOCK];
        for (int t = 0; t < c->block_size; t++)
            x[t] = t % c->vocab_size;
        gpt_set_training(m, false);
        gpt_forward(m, x, NULL, 1, c->block_size);
        rc = check_state(f, m, why);
    }
    gpt_free(m);
    return rc;
}

int checkpoint_properties(const uint8_t *data, size_t len, char why[PROPERTY_WHY_MAX]) {
    if (safetensors_properties(data, len, why) != 0)
        return -1;
    const char *path = write_scratch(data, len, why);
    if (!path)
        return -1;
    safetensors f;
    gpt_config c;
    tokenizer tok;
    error e = {{0}};
    if (gpt_open(&f, &c, &tok, path, &e) != 0) {
        char prefix[400];
        snprintf(prefix, sizeof prefix, "checkpoint '%s': ", path);
        if (strncmp(e.msg, prefix, strlen(prefix)) != 0)
            return property_broken(why, "gpt_open's message does not name the file: '%s'", e.msg);
        return check_message(e.msg, "gpt_open", why);
    }
    int rc = check_opened(&f, &c, &tok, why);
    if (rc == 0 && c.block_size <= SMALL_BLOCK && c.n_embd <= SMALL_EMBD &&
        c.n_layer <= SMALL_LAYERS && c.vocab_size <= SMALL_VOCAB)
        rc = check_model(&f, &c, why);
    safetensors_free(&f);
    tokenizer_free(&tok);
    return rc;
}
