/* params.c - the parameter table; see params.h. */
#include "params.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t param_table_add(param_table *pt, int ndim, size_t d0, size_t d1, const char *fmt, ...) {
    tensor_info *grown = realloc(pt->tensors, (size_t)(pt->n_tensors + 1) * sizeof *grown);
    if (!grown)
        return (size_t)-1;
    pt->tensors = grown;
    tensor_info *t = &pt->tensors[pt->n_tensors++];
    memset(t, 0, sizeof *t);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->name, sizeof t->name, fmt, ap);
    va_end(ap);
    t->ndim = ndim;
    t->shape[0] = d0;
    t->shape[1] = ndim == 2 ? d1 : 0;
    t->size = ndim == 2 ? d0 * d1 : d0;
    t->offset = pt->total;
    pt->total += t->size;
    return t->offset;
}

const tensor_info *param_table_find(const param_table *pt, const char *name) {
    for (int i = 0; i < pt->n_tensors; i++)
        if (strcmp(pt->tensors[i].name, name) == 0)
            return &pt->tensors[i];
    return NULL;
}

void param_table_free(param_table *pt) {
    free(pt->tensors);
    pt->tensors = NULL;
    pt->n_tensors = 0;
    pt->total = 0;
}

float *alloc_floats(size_t n, const char *what, error *e) {
    float *p = calloc(n ? n : 1, sizeof *p);
    if (!p)
        error_set(e, "out of memory allocating %s (%zu floats, %.1f MiB)", what, n,
                  (double)n * sizeof *p / (1024.0 * 1024.0));
    return p;
}
