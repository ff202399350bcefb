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

#endif
