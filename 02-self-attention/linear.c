/*
 * linear.c - the linear layer as three plain loops; see linear.h.
 *
 * What it teaches: a matrix multiplication is "for every output, a dot
 * product of an input row with a weight row", and its backward pass is two
 * more matrix multiplications, one for each thing the output depended on.
 *
 * Parallelism: every `omp parallel for` splits work whose outputs are
 * disjoint (rows of out, rows of dinp, rows of dw), and every sum is done by
 * one thread in a fixed order, so the result is the same bit for bit with 1
 * or 16 threads. `omp simd reduction` lets the compiler use vector registers
 * for a dot product; its order depends only on the compiled code.
 */
#include "linear.h"

#include <math.h>

void linear_forward(float *out, const float *inp, const float *w, const float *bias, size_t N,
                    int C, int OC) {
#pragma omp parallel for schedule(static)
    for (size_t n = 0; n < N; n++) {
        const float *x = inp + n * C; /* (C) this position's input */
        float *y = out + n * OC;      /* (OC) its outputs */
        for (int o = 0; o < OC; o++) {
            const float *wrow = w + (size_t)o * C; /* what output o looks for */
            float sum = bias ? bias[o] : 0.0f;
#pragma omp simd reduction(+ : sum)
            for (int c = 0; c < C; c++)
                sum += x[c] * wrow[c];
            y[o] = sum;
        }
    }
}

void linear_backward(float *dinp, float *dw, float *dbias, const float *dout, const float *inp,
                     const float *w, size_t N, int C, int OC) {
    /* forward: out[n][o] = bias[o] + sum_c inp[n][c] * w[o][c]
     * so d out[n][o] / d inp[n][c] = w[o][c]: each input row gathers the
     * weight rows, weighted by how much each output mattered. */
    if (dinp) {
#pragma omp parallel for schedule(static)
        for (size_t n = 0; n < N; n++) {
            float *dx = dinp + n * C;
            const float *dy = dout + n * OC;
            for (int o = 0; o < OC; o++) {
                const float *wrow = w + (size_t)o * C;
#pragma omp simd
                for (int c = 0; c < C; c++)
                    dx[c] += dy[o] * wrow[c];
            }
        }
    }
    /* d out[n][o] / d w[o][c] = inp[n][c], summed over every position n
     * that used the weight; d out[n][o] / d bias[o] = 1. One thread owns
     * each weight row, and adds the positions up in order. */
#pragma omp parallel for schedule(static)
    for (int o = 0; o < OC; o++) {
        float *dwrow = dw + (size_t)o * C;
        float dbias_o = 0.0f;
        for (size_t n = 0; n < N; n++) {
            float dy = dout[n * OC + o];
            const float *x = inp + n * C;
            dbias_o += dy;
#pragma omp simd
            for (int c = 0; c < C; c++)
                dwrow[c] += dy * x[c];
        }
        if (dbias)
            dbias[o] += dbias_o;
    }
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
