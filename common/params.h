/*
 * params.h - all of a model's parameters in one buffer, with a named view
 * per tensor.
 *
 * A model declares its tensors once ("wte is V x C", "wpe is T x C", ...)
 * and gets back offsets into a single float array. The gradients and the
 * AdamW moments are arrays of the same length with the same layout, so
 * zeroing the gradients, the optimizer step and saving a checkpoint are each
 * one loop over one array, and the names and shapes (needed by checkpoints
 * and by "decay only 2-D weights") are in one table.
 */
#ifndef COMMON_PARAMS_H
#define COMMON_PARAMS_H

#include <stddef.h>

#include "error.h"

#define TENSOR_NAME_MAX 64
#define TENSOR_MAX_DIMS 2

typedef struct {
    char name[TENSOR_NAME_MAX];
    int ndim;                       /* 1 or 2 */
    size_t shape[TENSOR_MAX_DIMS];  /* [rows, cols] or [n] */
    size_t offset;                  /* first element in the parameter buffer */
    size_t size;                    /* product of the shape */
} tensor_info;

typedef struct {
    tensor_info *tensors;
    int n_tensors;
    size_t total; /* floats in all tensors together */
} param_table;

/* Appends a tensor of shape [d0] (ndim 1) or [d0, d1] (ndim 2) and returns
 * its offset. The name is formatted like printf. Returns (size_t)-1 when out
 * of memory. */
size_t param_table_add(param_table *pt, int ndim, size_t d0, size_t d1, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* The tensor with this name, or NULL. */
const tensor_info *param_table_find(const param_table *pt, const char *name);

void param_table_free(param_table *pt);

/* A zeroed float buffer of n elements (calloc), or NULL with an error. */
float *alloc_floats(size_t n, const char *what, error *e);

/* Fails with an error that names `what` when `bytes` is more than this
 * machine's memory. calloc alone does not say so: Linux hands out address
 * space freely and kills the process later, once the pages are used. */
int check_fits_in_memory(double bytes, const char *what, error *e);

/* ---- declaring tensors from a table, and pointing a struct at them ----
 *
 * A model keeps a struct of named float pointers into the buffer ("views",
 * e.g. w.wte, w.ln_1_w). Writing each tensor's name, shape and view once, in
 * a table of tensor_spec, keeps the declaration and the views from drifting
 * apart; the same table then points one struct into the parameters and
 * another, with the same layout, into the gradients. (The same offsetof
 * trick as the option table in cli.c.) */
typedef struct {
    const char *name; /* appended to a prefix, e.g. "transformer.h.2." + "ln_1.weight" */
    size_t rows, cols;/* cols 0: a vector of `rows` floats */
    size_t view;      /* offsetof(views struct, the float * that points at it) */
} tensor_spec;

/* Adds prefix+name of each of the n specs to pt. */
int param_table_declare(param_table *pt, const char *prefix, const tensor_spec *specs, int n,
                        error *e);

/* Sets each spec's view in the struct `views` to its tensor inside buf (the
 * parameters or the gradients, laid out by pt). Fails if one is undeclared. */
int param_table_view(const param_table *pt, const char *prefix, const tensor_spec *specs, int n,
                     float *buf, void *views, error *e);

/* ---- activations: one allocation, carved into named pieces ----
 *
 * A model's activations are many arrays sized for the largest batch. A
 * layout function takes each one from an arena; run once with a counting
 * arena (base NULL: every piece is NULL, only the total grows), then, after
 * allocating that total, again to hand out the real pieces. Each array is
 * named once, there is one malloc and one free, and nothing is allocated
 * while training. */
typedef struct {
    float *base; /* NULL while counting */
    size_t used; /* floats handed out so far */
} float_arena;

/* The next n floats of the arena (NULL while counting). */
float *arena_take(float_arena *a, size_t n);

#endif
