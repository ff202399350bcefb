/*
 * layernorm.c - layer normalisation; see layernorm.h.
 *
 * What it teaches: normalising is a small forward pass (subtract the mean,
 * divide by the standard deviation) with a subtle backward pass, because
 * every output depends on every input of its row through the mean and the
 * variance. Written with the normalised value
 *     norm_c = (x_c - mean) * rstd,      out_c = norm_c * w_c + b_c
 * the gradient of the row's inputs is
 *     dx_c = rstd * (dnorm_c - mean(dnorm) - norm_c * mean(dnorm * norm))
 * where dnorm_c = dout_c * w_c: the gradient the normalised value got, with
 * the parts that would only shift the mean or scale the variance removed.
 */
#include "layernorm.h"

#include <math.h>

#include "../common/parallel.h"

void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w,
                       const float *b, size_t N, int C) {
#pragma omp parallel for schedule(static) if (N * (size_t)C >= PARALLEL_MIN_WORK)
    for (size_t n = 0; n < N; n++) {
        const float *x = inp + n * C;
        float *y = out + n * C;
        float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
        for (int c = 0; c < C; c++)
            sum += x[c];
        float m = sum / C;
        float sq = 0.0f;
#pragma omp simd reduction(+ : sq)
        for (int c = 0; c < C; c++)
            sq += (x[c] - m) * (x[c] - m);
        float rs = 1.0f / sqrtf(sq / C + LAYERNORM_EPS); /* the biased variance, as torch */
        for (int c = 0; c < C; c++)
            y[c] = (x[c] - m) * rs * w[c] + (b ? b[c] : 0.0f);
        mean[n] = m;
        rstd[n] = rs;
    }
}

void layernorm_backward_params(float *dw, float *db, const float *dout, const float *inp,
                               const float *mean, const float *rstd, size_t N, int C) {
    /* forward: out[n][c] = norm[n][c] * w[c] + b[c], summed over every row n
     * for the gains: one thread owns each column c and adds the rows in order */
#pragma omp parallel for schedule(static) if (N * (size_t)C >= PARALLEL_MIN_WORK)
    for (int c = 0; c < C; c++) {
        float dw_c = 0.0f, db_c = 0.0f;
        for (size_t n = 0; n < N; n++) {
            float norm = (inp[n * C + c] - mean[n]) * rstd[n];
            dw_c += dout[n * C + c] * norm;
            db_c += dout[n * C + c];
        }
        dw[c] += dw_c;
        if (db)
            db[c] += db_c;
    }
}

void layernorm_backward_input(float *dinp, const float *dout, const float *inp, const float *w,
                              const float *mean, const float *rstd, size_t N, int C) {
    /* forward: norm = (x - mean) * rstd, with mean and rstd functions of the
     * whole row: each row is its own problem */
#pragma omp parallel for schedule(static) if (N * (size_t)C >= PARALLEL_MIN_WORK)
    for (size_t n = 0; n < N; n++) {
        const float *x = inp + n * C, *dy = dout + n * C;
        float *dx = dinp + n * C;
        float m = mean[n], rs = rstd[n];
        float dnorm_mean = 0.0f, dnorm_norm_mean = 0.0f;
#pragma omp simd reduction(+ : dnorm_mean, dnorm_norm_mean)
        for (int c = 0; c < C; c++) {
            float dnorm = dy[c] * w[c];
            dnorm_mean += dnorm;
            dnorm_norm_mean += dnorm * (x[c] - m) * rs;
        }
        dnorm_mean /= C;
        dnorm_norm_mean /= C;
        for (int c = 0; c < C; c++) {
            float norm = (x[c] - m) * rs;
            dx[c] += rs * (dy[c] * w[c] - dnorm_mean - norm * dnorm_norm_mean);
        }
    }
}

void layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                        const float *w, const float *mean, const float *rstd, size_t N, int C) {
    layernorm_backward_params(dw, db, dout, inp, mean, rstd, N, C);
    layernorm_backward_input(dinp, dout, inp, w, mean, rstd, N, C);
}

void layernorm_init(float *w, float *b, int C) {
    for (int c = 0; c < C; c++) {
        w[c] = 1.0f;
        if (b)
            b[c] = 0.0f;
    }
}
