/*
 * checkpoint.h - safetensors files: save and load named float tensors plus
 * a little string metadata.
 *
 * The format (https://github.com/huggingface/safetensors) is deliberately
 * simple, which is why we use it:
 *
 *     8 bytes     N, the header length, unsigned little-endian
 *     N bytes     a JSON object: for every tensor
 *                   "name": {"dtype": "F32", "shape": [rows, cols],
 *                            "data_offsets": [begin, end]}
 *                 and optionally "__metadata__": {"key": "string", ...}
 *     the rest    raw little-endian tensor bytes; offsets count from here
 *
 * so a checkpoint written here opens in Python with safetensors.torch
 * load_file() and nothing else. Saving is crash-safe: the file is written
 * under a temporary name, flushed to disk (fsync) and renamed over the old
 * one, so at every moment either the old or the new file is in place.
 * Loading trusts nothing: lengths, JSON, dtypes, shapes and offsets are all
 * checked against the file before any tensor is used (tensor names and
 * metadata keys are unique, and the tensors' byte ranges tile the data
 * section exactly, as Python's safetensors also demands), and every
 * problem is an error that names it.
 */
#ifndef COMMON_CHECKPOINT_H
#define COMMON_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define ST_NAME_MAX 128
#define ST_MAX_DIMS 4
/* A header longer than this is surely not one of ours (a full GPT's header
 * is a few kB); refusing it keeps a corrupt length from costing memory. */
#define ST_MAX_HEADER (64u * 1024u * 1024u)

/* ---- writing ---- */

typedef struct {
    const char *name;
    const float *data;
    int ndim;
    size_t shape[ST_MAX_DIMS];
} st_entry;

typedef struct {
    const char *key;
    const char *value; /* any UTF-8 string; JSON-escaped on the way out */
} st_meta;

/* Writes the tensors (all F32) and metadata to path, atomically. */
int safetensors_save(const char *path, const st_entry *tensors, int n_tensors,
                     const st_meta *meta, int n_meta, error *e);

/* ---- reading ---- */

typedef struct {
    char name[ST_NAME_MAX];
    char dtype[16];
    int ndim;
    size_t shape[ST_MAX_DIMS];
    size_t begin, end; /* byte offsets into the data section */
} st_tensor;

typedef struct {
    st_tensor *tensors; /* sorted by name */
    int n_tensors;
    st_meta *meta; /* sorted by key; keys and values point into `strings` */
    int n_meta;
    char *strings;
    unsigned char *file; /* the whole file */
    size_t file_len;
    const unsigned char *data; /* the data section, inside `file` */
    size_t data_len;
} safetensors;

/* Reads and validates a whole safetensors file. */
int safetensors_load(safetensors *st, const char *path, error *e);

/* Parses and validates an in-memory file (safetensors_load's second half;
 * also the fuzz target's entry point). Takes ownership of bytes (malloc'd). */
int safetensors_parse(safetensors *st, unsigned char *bytes, size_t len, error *e);

void safetensors_free(safetensors *st);

const st_tensor *safetensors_find(const safetensors *st, const char *name);

/* The metadata value for key, or NULL. */
const char *safetensors_meta(const safetensors *st, const char *key);

/* Checks that tensor `name` exists, is F32 and has exactly the expected
 * shape. */
int safetensors_check_f32(const safetensors *st, const char *name, int ndim, const size_t *shape,
                          error *e);

/* Copies tensor `name` into dst after safetensors_check_f32. */
int safetensors_read_f32(const safetensors *st, const char *name, float *dst, int ndim,
                         const size_t *shape, error *e);

#endif
