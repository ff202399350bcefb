/* fastops.c - BLAS-backed linear layers and attention; see fastops.h. */
#include "fastops.h"

#include <math.h>
#include <string.h>

#include "../02-self-attention/linear.h"
#include "../03-multihead/multihead.h"
#include "../04-block/layernorm.h"
#include "../common/parallel.h"
#include "gelu.h"

/* ---------------------------------------------------------------- layernorm */

/* Columns per task: 16 floats, one 64-byte cache line of a row. */
#define LN_COLUMNS 16

void layernorm_fast_backward(float *dinp, float *dw, float *db, const float *dout,
                             const float *inp, const float *w, const float *mean,
                             const float *rstd, size_t N, int C) {
    /* forward: out[n][c] = norm[n][c] * w[c] (+ b[c]); each column's sum
     * runs over the rows in order, so the result does not depend on the
     * number of threads */
    int blocks = (C + LN_COLUMNS - 1) / LN_COLUMNS;
#pragma omp parallel for schedule(static) if (N * (size_t)C >= PARALLEL_MIN_WORK)
    for (int blk = 0; blk < blocks; blk++) {
        int c0 = blk * LN_COLUMNS, width = C - c0 < LN_COLUMNS ? C - c0 : LN_COLUMNS;
        float acc_w[LN_COLUMNS] = {0}, acc_b[LN_COLUMNS] = {0};
        for (size_t n = 0; n < N; n++) {
            const float *x = inp + n * C + c0, *dy = dout + n * C + c0;
            float m = mean[n], rs = rstd[n];
#pragma omp simd
            for (int j = 0; j < width; j++) {
                acc_w[j] += dy[j] * (x[j] - m) * rs;
                acc_b[j] += dy[j];
            }
        }
        for (int j = 0; j < width; j++) {
            dw[c0 + j] += acc_w[j];
            if (db)
                db[c0 + j] += acc_b[j];
        }
    }
    layernorm_backward_input(dinp, dout, inp, w, mean, rstd, N, C);
}

#ifdef USE_BLAS
#include <cblas.h>
#include <omp.h>

/* Keeps the sgemm calls that a task of a parallel region makes on the
 * thread that makes them; called in the region before them. The OpenMP
 * build of OpenBLAS splits a call over omp_get_max_threads() threads of its
 * own unless it comes from inside an active parallel region, and a region
 * that the PARALLEL_MIN_WORK guard keeps on one thread is not active: every
 * call there would start and stop a thread. Inside a region the setting
 * belongs to the region's own task and ends with it. */
static void sgemm_on_this_thread(void) { omp_set_num_threads(1); }

/* Every matmul is cut into this many independent pieces, whatever the
 * number of threads: one per core of the 2-core machines this chapter is
 * tuned for. More, smaller pieces cost more than they gain here (a weight
 * gradient cut 4 ways ran ~10% slower than cut 2 ways at cpu-small's
 * shapes). A fixed split means each output element is computed by the same
 * one-thread sgemm call, with the same arguments, whatever the number of
 * threads, so on one machine the results are bit-identical for any thread
 * count. Not across machines: OpenBLAS picks its kernels for the CPU it
 * finds, and different kernels may round differently. */
#define MATMUL_TASKS 2

/* [begin, end) of piece `task` when n items are cut into MATMUL_TASKS. */
static size_t piece_begin(size_t n, int task) { return n * (size_t)task / MATMUL_TASKS; }

void linear_fast_forward(float *out, const float *inp, const float *w, const float *bias,
                         size_t N, int C, int OC) {
    /* out = inp @ w^T (+ bias), one block of rows per task */
#pragma omp parallel for schedule(static) if (linear_work(N, C, OC) >= PARALLEL_MIN_WORK)
    for (int task = 0; task < MATMUL_TASKS; task++) {
        sgemm_on_this_thread();
        size_t n0 = piece_begin(N, task), rows = piece_begin(N, task + 1) - n0;
        if (rows == 0)
            continue;
        float *o = out + n0 * OC;
        float beta = 0.0f;
        if (bias) { /* start from the bias and let sgemm add to it */
            for (size_t n = 0; n < rows; n++)
                memcpy(o + n * OC, bias, (size_t)OC * sizeof *o);
            beta = 1.0f;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, OC, C, 1.0f,
                    inp + n0 * C, C, w, C, beta, o, OC);
    }
}

void linear_fast_backward(float *dinp, float *dw, float *dbias, const float *dout,
                          const float *inp, const float *w, size_t N, int C, int OC) {
    /* one team for both products: its threads go from the first split to
     * the second without leaving the region */
#pragma omp parallel if (linear_work(N, C, OC) >= PARALLEL_MIN_WORK)
    {
        sgemm_on_this_thread();
        /* dinp += dout @ w: rows of dinp are independent, split by rows */
        if (dinp) {
#pragma omp for schedule(static)
            for (int task = 0; task < MATMUL_TASKS; task++) {
                size_t n0 = piece_begin(N, task), rows = piece_begin(N, task + 1) - n0;
                if (rows > 0)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, C, OC, 1.0f,
                                dout + n0 * OC, OC, w, C, 1.0f, dinp + n0 * C, C);
            }
        }
        /* dw += dout^T @ inp sums over all N rows; split by output feature
         * instead (rows of dw), so no two tasks add into the same place */
#pragma omp for schedule(static)
        for (int task = 0; task < MATMUL_TASKS; task++) {
            size_t o0 = piece_begin((size_t)OC, task), outs = piece_begin((size_t)OC, task + 1) - o0;
            if (outs == 0)
                continue;
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)outs, C, (int)N, 1.0f,
                        dout + o0, OC, inp, C, 1.0f, dw + o0 * C, C);
            if (dbias)
                for (size_t n = 0; n < N; n++)
                    for (size_t o = o0; o < o0 + outs; o++)
                        dbias[o] += dout[n * OC + o];
        }
    }
}

/* ---------------------------------------------------------------- attention
 * For one (b, h) pair, with q, k, v the head's T x hs views of qkv (row
 * stride 3C), att its T x T weights and out its T x hs view (stride C):
 *   forward:  S = scale * q k^T;  att = causal_softmax(S);  out = att v
 *   backward: datt = dout v^T;  dv = att^T dout;
 *             dS = softmax_backward(att, datt);  dq = scale dS k;  dk = scale dS^T q
 * The sgemms compute full T x T products; the causal mask then zeroes the
 * upper triangle (at T = 64 that is cheaper than skipping it). */

/* Where pair (b, h) starts: its q columns in qkv (k and v follow at +C and
 * +2C; rows are 3C apart), its T x T block of att, its columns in out. */
static size_t qkv_at(int b, int h, int T, int C, int NH) {
    return (size_t)b * T * 3 * C + (size_t)h * (C / NH);
}
static size_t att_at(int b, int h, int T, int NH) { return ((size_t)b * NH + h) * T * T; }
static size_t out_at(int b, int h, int T, int C, int NH) {
    return (size_t)b * T * C + (size_t)h * (C / NH);
}

/* Row t of att: softmax over s <= t, exactly 0 for s > t. */
static void causal_softmax_rows(float *att, int T) {
    for (int t = 0; t < T; t++) {
        float *row = att + (size_t)t * T;
        float max = row[0];
        for (int s = 1; s <= t; s++)
            max = row[s] > max ? row[s] : max;
        float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
        for (int s = 0; s <= t; s++) {
            /* exp_nonpositive vectorises, unlike expf, but turns a NaN
             * score into a weight near 0: keep it a NaN, so that it
             * reaches the loss and stops training */
            float d = row[s] - max;
            row[s] = isnan(d) ? d : exp_nonpositive(d);
            sum += row[s];
        }
        float inv = 1.0f / sum;
        for (int s = 0; s <= t; s++)
            row[s] *= inv;
        for (int s = t + 1; s < T; s++)
            row[s] = 0.0f;
    }
}

void attention_fast_scores_forward(float *att, const float *qkv, int B, int T, int C, int NH) {
    int hs = C / NH;
    float scale = 1.0f / sqrtf((float)hs);
#pragma omp parallel for collapse(2) schedule(static) \
    if (multihead_work(B, T, NH) >= PARALLEL_MIN_WORK)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            sgemm_on_this_thread();
            const float *q = qkv + qkv_at(b, h, T, C, NH), *k = q + C;
            float *a = att + att_at(b, h, T, NH);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hs, scale, q, 3 * C, k,
                        3 * C, 0.0f, a, T);
            causal_softmax_rows(a, T);
        }
}

void attention_fast_mix_forward(float *out, const float *att, const float *qkv, int B, int T,
                                int C, int NH) {
    int hs = C / NH;
#pragma omp parallel for collapse(2) schedule(static) \
    if (multihead_work(B, T, NH) >= PARALLEL_MIN_WORK)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            sgemm_on_this_thread();
            const float *v = qkv + qkv_at(b, h, T, C, NH) + 2 * C;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hs, T, 1.0f,
                        att + att_at(b, h, T, NH), T, v, 3 * C, 0.0f,
                        out + out_at(b, h, T, C, NH), C);
        }
}

void attention_fast_mix_backward(float *datt, float *dqkv, const float *dout, const float *att,
                                 const float *qkv, int B, int T, int C, int NH) {
    int hs = C / NH;
#pragma omp parallel for collapse(2) schedule(static) \
    if (multihead_work(B, T, NH) >= PARALLEL_MIN_WORK)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            sgemm_on_this_thread();
            const float *v = qkv + qkv_at(b, h, T, C, NH) + 2 * C;
            float *dv = dqkv + qkv_at(b, h, T, C, NH) + 2 * C;
            const float *a = att + att_at(b, h, T, NH), *d = dout + out_at(b, h, T, C, NH);
            float *da = datt + att_at(b, h, T, NH);
            /* datt += dout v^T;  dv += att^T dout */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, T, hs, 1.0f, d, C, v, 3 * C,
                        1.0f, da, T);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hs, T, 1.0f, a, T, d, C, 1.0f,
                        dv, 3 * C);
        }
}

/* Softmax backward in place, row by row: datt becomes the gradient of the
 * scores, dS[t][s] = att[t][s] * (datt[t][s] - sum_r att[t][r] datt[t][r]),
 * and 0 above the diagonal. */
static void causal_softmax_backward_rows(float *datt, const float *att, int T) {
    for (int t = 0; t < T; t++) {
        const float *a = att + (size_t)t * T;
        float *d = datt + (size_t)t * T;
        float dot = 0.0f;
        for (int s = 0; s <= t; s++)
            dot += a[s] * d[s];
        for (int s = 0; s <= t; s++)
            d[s] = a[s] * (d[s] - dot);
        for (int s = t + 1; s < T; s++)
            d[s] = 0.0f;
    }
}

void attention_fast_scores_backward(float *dqkv, float *datt, const float *att,
                                    const float *qkv, int B, int T, int C, int NH) {
    int hs = C / NH;
    float scale = 1.0f / sqrtf((float)hs);
#pragma omp parallel for collapse(2) schedule(static) \
    if (multihead_work(B, T, NH) >= PARALLEL_MIN_WORK)
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            sgemm_on_this_thread();
            const float *q = qkv + qkv_at(b, h, T, C, NH), *k = q + C;
            float *dq = dqkv + qkv_at(b, h, T, C, NH), *dk = dq + C;
            float *ds = datt + att_at(b, h, T, NH);
            causal_softmax_backward_rows(ds, att + att_at(b, h, T, NH), T);
            /* dq += scale dS k;  dk += scale dS^T q */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, hs, T, scale, ds, T, k,
                        3 * C, 1.0f, dq, 3 * C);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, T, hs, T, scale, ds, T, q,
                        3 * C, 1.0f, dk, 3 * C);
        }
}

#else /* BLAS=0: the reference loops */

void linear_fast_forward(float *out, const float *inp, const float *w, const float *bias,
                         size_t N, int C, int OC) {
    linear_forward(out, inp, w, bias, N, C, OC);
}
void linear_fast_backward(float *dinp, float *dw, float *dbias, const float *dout,
                          const float *inp, const float *w, size_t N, int C, int OC) {
    linear_backward(dinp, dw, dbias, dout, inp, w, N, C, OC);
}
void attention_fast_scores_forward(float *att, const float *qkv, int B, int T, int C, int NH) {
    multihead_scores_forward(att, qkv, B, T, C, NH);
}
void attention_fast_mix_forward(float *out, const float *att, const float *qkv, int B, int T,
                                int C, int NH) {
    multihead_mix_forward(out, att, qkv, B, T, C, NH);
}
void attention_fast_mix_backward(float *datt, float *dqkv, const float *dout, const float *att,
                                 const float *qkv, int B, int T, int C, int NH) {
    multihead_mix_backward(datt, dqkv, dout, att, qkv, B, T, C, NH);
}
void attention_fast_scores_backward(float *dqkv, float *datt, const float *att,
                                    const float *qkv, int B, int T, int C, int NH) {
    multihead_scores_backward(dqkv, datt, att, qkv, B, T, C, NH);
}

#endif
