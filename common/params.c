/* params.c - the parameter table; see params.h. */
#include "params.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

int check_fits_in_memory(double bytes, const char *what, error *e) {
    long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGE_SIZE);
    double have = (double)pages * (double)page_size, gib = 1024.0 * 1024.0 * 1024.0;
    if (pages > 0 && page_size > 0 && bytes > have)
        return error_set(e, "%s needs %.1f GiB, more than this machine's %.1f GiB of memory", what,
                         bytes / gib, have / gib);
    return 0;
}

int param_table_declare(param_table *pt, const char *prefix, const tensor_spec *specs, int n,
                        error *e) {
    for (int i = 0; i < n; i++) {
        const tensor_spec *s = &specs[i];
        int ndim = s->cols ? 2 : 1;
        if (param_table_add(pt, ndim, s->rows, s->cols, "%s%s", prefix, s->name) == (size_t)-1)
            return error_set(e, "out of memory declaring %s%s", prefix, s->name);
    }
    return 0;
}

int param_table_view(const param_table *pt, const char *prefix, const tensor_spec *specs, int n,
                     float *buf, void *views, error *e) {
    char name[TENSOR_NAME_MAX];
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "%s%s", prefix, specs[i].name);
        const tensor_info *t = param_table_find(pt, name);
        if (!t)
            return error_set(e, "no tensor named %s was declared", name);
        *(float **)((char *)views + specs[i].view) = buf + t->offset;
    }
    return 0;
}

float *arena_take(float_arena *a, size_t n) {
    float *piece = a->base ? a->base + a->used : NULL;
    a->used += n;
    return piece;
}
