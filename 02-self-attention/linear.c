/*
 * linear.c - the linear layer; see linear.h.
 *
 * What it teaches: a matrix multiplication is "for every output, a dot
 * product of an input row with a weight row", and its backward pass is two
 * more matrix multiplications, one for each thing the output depended on:
 *
 *     forward   out[n][o]  = bias[o] + sum_c inp[n][c] * w[o][c]
 *     backward  dinp[n][c] += sum_o dout[n][o] * w[o][c]
 *               dw[o][c]   += sum_n dout[n][o] * inp[n][c]
 *               dbias[o]   += sum_n dout[n][o]
 *
 * Each is the textbook triple loop with one change: one of its two outer
 * loops is taken LINEAR_TILE (4) steps at a time, its body written out four
 * times, so that every row read from memory serves four rows of work. In
 * the forward pass four input rows share each weight row once it is loaded;
 * in dinp four weight rows update an input gradient row with one read and
 * write of it; in dw four input rows update a weight gradient row at once.
 * The products and sums are those of the triple loop, grouped differently
 * (so the last bits of a float can differ; a test compares the two). At
 * this book's sizes, on one thread, it measured 1.1-1.8x faster than the
 * same loops taken one step at a time and vectorised the same way.
 * A last, partial tile repeats its final row with a gradient of 0 (or, in
 * the forward pass, computes it without storing it), so there is no
 * separate code for leftovers.
 *
 * Parallelism: every `omp parallel for` splits work whose outputs are
 * disjoint (rows of out, rows of dinp, rows of dw), and every sum is done by
 * one thread in a fixed order, so the result is the same bit for bit with 1
 * or 16 threads. A layer that touches fewer than PARALLEL_MIN_WORK floats
 * (linear_work; see common/parallel.h) is not worth waking a second thread
 * for and stays on one, with the same result. `omp simd` lets the compiler
 * use vector registers for the innermost loop; its order depends only on
 * the compiled code.
 */
#include "linear.h"

#include <math.h>

#include "../common/parallel.h"

#define LINEAR_TILE 4

/* The LINEAR_TILE rows of a matrix (rows `stride` floats apart) starting at
 * row i0 of n; past the end, the last row again. Returns how many are real. */
static size_t tile_rows(const float *rows[LINEAR_TILE], const float *m, size_t i0, size_t n,
                        size_t stride) {
    for (size_t r = 0; r < LINEAR_TILE; r++)
        rows[r] = m + (i0 + r < n ? i0 + r : n - 1) * stride;
    return n - i0 < LINEAR_TILE ? n - i0 : LINEAR_TILE;
}

size_t linear_work(size_t N, int C, int OC) {
    return (N + (size_t)OC) * (size_t)C + N * (size_t)OC;
}

void linear_forward(float *out, const float *inp, const float *w, const float *bias, size_t N,
                    int C, int OC) {
#pragma omp parallel for schedule(static) if (linear_work(N, C, OC) >= PARALLEL_MIN_WORK)
    for (size_t n0 = 0; n0 < N; n0 += LINEAR_TILE) {
        const float *x[LINEAR_TILE]; /* (C) four input rows */
        size_t real = tile_rows(x, inp, n0, N, (size_t)C);
        const float *x0 = x[0], *x1 = x[1], *x2 = x[2], *x3 = x[3];
        for (int o = 0; o < OC; o++) {
            const float *wo = w + (size_t)o * C; /* (C) what output o looks for */
            float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
#pragma omp simd reduction(+ : s0, s1, s2, s3)
            for (int c = 0; c < C; c++) {
                s0 += x0[c] * wo[c];
                s1 += x1[c] * wo[c];
                s2 += x2[c] * wo[c];
                s3 += x3[c] * wo[c];
            }
            float sums[LINEAR_TILE] = {s0, s1, s2, s3};
            for (size_t r = 0; r < real; r++)
                out[(n0 + r) * OC + o] = sums[r] + (bias ? bias[o] : 0.0f);
        }
    }
}

/* dx (C) += sum_o dy[o] * w[o]: one input row's gradient. */
static void input_grad_row(float *dx, const float *dy, const float *w, int C, int OC) {
    for (int o0 = 0; o0 < OC; o0 += LINEAR_TILE) {
        const float *wo[LINEAR_TILE];
        size_t real = tile_rows(wo, w, (size_t)o0, (size_t)OC, (size_t)C);
        float d[LINEAR_TILE] = {0.0f}; /* 0 for the repeated rows */
        for (size_t r = 0; r < real; r++)
            d[r] = dy[o0 + r];
#pragma omp simd
        for (int c = 0; c < C; c++)
            dx[c] += d[0] * wo[0][c] + d[1] * wo[1][c] + d[2] * wo[2][c] + d[3] * wo[3][c];
    }
}

/* dw (C) += sum_n dout[n][o] * inp[n], dbias += sum_n dout[n][o]: the
 * gradient of weight row o. */
static void weight_grad_row(float *dw, float *dbias, const float *dout, const float *inp,
                            size_t N, int C, int OC, int o) {
    float db = 0.0f;
    for (size_t n0 = 0; n0 < N; n0 += LINEAR_TILE) {
        const float *x[LINEAR_TILE];
        size_t real = tile_rows(x, inp, n0, N, (size_t)C);
        float d[LINEAR_TILE] = {0.0f};
        for (size_t r = 0; r < real; r++)
            d[r] = dout[(n0 + r) * OC + o];
        db += d[0] + d[1] + d[2] + d[3];
#pragma omp simd
        for (int c = 0; c < C; c++)
            dw[c] += d[0] * x[0][c] + d[1] * x[1][c] + d[2] * x[2][c] + d[3] * x[3][c];
    }
    if (dbias)
        dbias[o] += db;
}

void linear_backward(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                     const float *w, size_t N, int C, int OC) {
    /* forward: out[n][o] = bias[o] + sum_c inp[n][c] * w[o][c]
     * d out[n][o] / d inp[n][c] = w[o][c]: each input row gathers the
     * weight rows, weighted by how much each output mattered. */
    if (dinp) {
#pragma omp parallel for schedule(static) if (linear_work(N, C, OC) >= PARALLEL_MIN_WORK)
        for (size_t n = 0; n < N; n++)
            input_grad_row(dinp + n * C, dout + n * OC, w, C, OC);
    }
    /* d out[n][o] / d w[o][c] = inp[n][c] and d out[n][o] / d bias[o] = 1,
     * summed over every position n that used them. One thread owns each
     * weight row and adds the positions up in order. */
#pragma omp parallel for schedule(static) if (linear_work(N, C, OC) >= PARALLEL_MIN_WORK)
    for (int o = 0; o < OC; o++)
        weight_grad_row(dw + (size_t)o * C, dbias, dout, inp, N, C, OC, o);
}

void linear_init(float *w, float *bias, int C, int OC, rng *r) {
    float bound = 1.0f / sqrtf((float)C);
    size_t n = (size_t)OC * C;
    for (size_t i = 0; i < n; i++)
        w[i] = bound * (2.0f * rng_uniform(r) - 1.0f);
    if (bias)
        for (int o = 0; o < OC; o++)
            bias[o] = bound * (2.0f * rng_uniform(r) - 1.0f);
}
