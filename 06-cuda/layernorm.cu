/*
 * layernorm.cu - layer normalisation on the GPU (mirrors chapter 04's
 * layernorm_forward/backward).
 *
 * One warp (32 threads) per row: each lane reads every 32nd element, so a
 * warp's loads are consecutive floats (coalesced), and the row's sums are
 * finished with warp shuffles, without shared memory or __syncthreads.
 * The backward's weight gradient sums over all N rows; each block adds its
 * rows into shared memory first, so only one atomic add per column per
 * block reaches global memory.
 */
#include "cuda_internal.cuh"
#include "cuda_layers.h"

#define LN_EPS 1e-5f          /* as LAYERNORM_EPS in 04-block/layernorm.h */
#define WARPS_PER_BLOCK 8
#define ROWS_PER_WARP 8       /* backward: rows each warp handles in turn */

__global__ void layernorm_forward_kernel(float *out, float *mean, float *rstd, const float *inp,
                                         const float *w, const float *b, int N, int C) {
    int row = blockIdx.x * WARPS_PER_BLOCK + threadIdx.x / WARP, lane = threadIdx.x % WARP;
    if (row >= N)
        return;
    const float *x = inp + (size_t)row * C;
    float sum = 0.0f;
    for (int c = lane; c < C; c += WARP)
        sum += x[c];
    float m = warp_sum(sum) / C;
    float var = 0.0f;
    for (int c = lane; c < C; c += WARP)
        var += (x[c] - m) * (x[c] - m);
    float s = rsqrtf(warp_sum(var) / C + LN_EPS);
    float *o = out + (size_t)row * C;
    for (int c = lane; c < C; c += WARP)
        o[c] = (x[c] - m) * s * w[c] + (b ? b[c] : 0.0f);
    if (lane == 0) {
        mean[row] = m;
        rstd[row] = s;
    }
}

extern "C" void layernorm_forward_cuda(float *out, float *mean, float *rstd, const float *inp,
                                       const float *w, const float *b, int N, int C) {
    unsigned blocks = blocks_for((size_t)N, WARPS_PER_BLOCK);
    layernorm_forward_kernel<<<blocks, WARPS_PER_BLOCK * WARP>>>(out, mean, rstd, inp, w, b, N,
                                                                 C);
    LAUNCH_CHECK();
}

/* With xhat = (x - mean) * rstd and g = dout * w:
 *   dinp += rstd * (g - mean(g) - xhat * mean(g * xhat))
 *   dw += dout * xhat, db += dout (summed over rows) */
__global__ void layernorm_backward_kernel(float *dinp, float *dw, float *db, const float *dout,
                                          const float *inp, const float *w, const float *mean,
                                          const float *rstd, int N, int C) {
    extern __shared__ float shared[]; /* dw partial (C), then db partial (C) */
    float *dw_part = shared, *db_part = shared + C;
    for (int c = threadIdx.x; c < 2 * C; c += blockDim.x)
        shared[c] = 0.0f;
    __syncthreads();
    int warp = threadIdx.x / WARP, lane = threadIdx.x % WARP;
    int first = (blockIdx.x * WARPS_PER_BLOCK + warp) * ROWS_PER_WARP;
    for (int row = first; row < first + ROWS_PER_WARP && row < N; row++) {
        const float *x = inp + (size_t)row * C, *d = dout + (size_t)row * C;
        float m = mean[row], s = rstd[row];
        float g_sum = 0.0f, gx_sum = 0.0f;
        for (int c = lane; c < C; c += WARP) {
            float xhat = (x[c] - m) * s, g = d[c] * w[c];
            g_sum += g;
            gx_sum += g * xhat;
        }
        float g_mean = warp_sum(g_sum) / C, gx_mean = warp_sum(gx_sum) / C;
        float *dx = dinp + (size_t)row * C;
        for (int c = lane; c < C; c += WARP) {
            float xhat = (x[c] - m) * s, g = d[c] * w[c];
            dx[c] += s * (g - g_mean - xhat * gx_mean);
            atomicAdd(&dw_part[c], d[c] * xhat); /* shared-memory atomics: cheap */
            atomicAdd(&db_part[c], d[c]);
        }
    }
    __syncthreads();
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        atomicAdd(&dw[c], dw_part[c]);
        if (db)
            atomicAdd(&db[c], db_part[c]);
    }
}

extern "C" void layernorm_backward_cuda(float *dinp, float *dw, float *db, const float *dout,
                                        const float *inp, const float *w, const float *mean,
                                        const float *rstd, int N, int C) {
    unsigned blocks = blocks_for((size_t)N, WARPS_PER_BLOCK * ROWS_PER_WARP);
    size_t shared = 2 * (size_t)C * sizeof(float);
    layernorm_backward_kernel<<<blocks, WARPS_PER_BLOCK * WARP, shared>>>(dinp, dw, db, dout, inp,
                                                                          w, mean, rstd, N, C);
    LAUNCH_CHECK();
}
