/*
 * layernorm.cu - layer normalisation on the GPU (mirrors chapter 04's
 * layernorm_forward/backward).
 *
 * One warp (32 threads) per row: each lane reads every 32nd element, so a
 * warp's loads are consecutive floats (coalesced), and the row's sums are
 * finished with warp shuffles, without shared memory or __syncthreads.
 * The backward's weight gradient sums over all N rows: in registers, then
 * across a block's warps, so only one atomic add per column per block
 * reaches global memory.
 */
#include "cuda_internal.cuh"
#include "cuda_layers.h"

#define LN_EPS 1e-5f          /* as LAYERNORM_EPS in 04-block/layernorm.h */
#define WARPS_PER_BLOCK 8
#define ROWS_PER_WARP 4       /* backward: rows each warp handles in turn */

template <typename E>
__global__ void layernorm_forward_kernel(E *out, float *mean, float *rstd, const float *inp,
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
    E *o = out + (size_t)row * C;
    for (int c = lane; c < C; c += WARP)
        store(o + c, (x[c] - m) * s * w[c] + (b ? b[c] : 0.0f));
    if (lane == 0) {
        mean[row] = m;
        rstd[row] = s;
    }
}

template <typename E>
static void forward(operand *out, float *mean, float *rstd, const float *inp, const float *w,
                    const float *b, int N, int C) {
    layernorm_forward_kernel<<<blocks_for((size_t)N, WARPS_PER_BLOCK), WARPS_PER_BLOCK * WARP>>>(
        (E *)out, mean, rstd, inp, w, b, N, C);
    LAUNCH_CHECK();
}

extern "C" void layernorm_forward_cuda(operand *out, float *mean, float *rstd, const float *inp,
                                       const float *w, const float *b, int N, int C) {
    FOR_OPERANDS(forward, out, mean, rstd, inp, w, b, N, C);
}

/* With xhat = (x - mean) * rstd and g = dout * w:
 *   dinp = dres + rstd * (g - mean(g) - xhat * mean(g * xhat))
 *   dw += dout * xhat, db += dout (summed over rows)
 * A warp takes ROWS_PER_WARP rows in turn. Lane l owns columns l, l + 32,
 * ... of every row and keeps their dw and db sums in registers across
 * rows (an array indexed by unrolled-loop constants stays in registers).
 * At the end the block's warps add their sums in shared memory, in a fixed
 * order, and one atomic add per column and block goes to memory. The
 * number of columns per lane is a template argument (the smallest of 4, 8,
 * 16, 32 that covers C), so that a narrow layer does not pay registers for
 * a wide one; and the GPT's layernorms have no bias: with_bias = false
 * leaves db's registers out. */
template <typename E, bool with_bias, int COLS>
__global__ void layernorm_backward_kernel(float *dinp, const float *dres, float *dw, float *db,
                                          const E *dout,
                                          const float *inp, const float *w, const float *mean,
                                          const float *rstd, int N, int C) {
    extern __shared__ float shared[]; /* per warp: dw partial (C), db partial (C) */
    int warp = threadIdx.x / WARP, lane = threadIdx.x % WARP;
    float dw_sum[COLS] = {0}, db_sum[COLS] = {0};
    int first = (blockIdx.x * WARPS_PER_BLOCK + warp) * ROWS_PER_WARP;
    for (int row = first; row < first + ROWS_PER_WARP && row < N; row++) {
        const float *x = inp + (size_t)row * C;
        const E *d = dout + (size_t)row * C;
        float m = mean[row], s = rstd[row];
        float g_sum = 0.0f, gx_sum = 0.0f;
        for (int c = lane; c < C; c += WARP) {
            float xhat = (x[c] - m) * s, g = load(d + c) * w[c];
            g_sum += g;
            gx_sum += g * xhat;
        }
        float g_mean = warp_sum(g_sum) / C, gx_mean = warp_sum(gx_sum) / C;
        float *dx = dinp + (size_t)row * C;
        const float *r = dres ? dres + (size_t)row * C : NULL;
#pragma unroll
        for (int k = 0; k < COLS; k++) {
            int c = lane + k * WARP;
            if (c < C) { /* x and dout again: from the L1 cache this time */
                float dc = load(d + c), xhat = (x[c] - m) * s, g = dc * w[c];
                dx[c] = (r ? r[c] : 0.0f) + s * (g - g_mean - xhat * gx_mean);
                dw_sum[k] += dc * xhat;
                if (with_bias)
                    db_sum[k] += dc;
            }
        }
    }
    float *part = shared + (size_t)warp * 2 * C;
#pragma unroll
    for (int k = 0; k < COLS; k++) {
        int c = lane + k * WARP;
        if (c < C) {
            part[c] = dw_sum[k];
            part[C + c] = db_sum[k];
        }
    }
    __syncthreads();
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        float dw_c = 0.0f, db_c = 0.0f;
        for (int v = 0; v < WARPS_PER_BLOCK; v++) {
            dw_c += shared[(size_t)v * 2 * C + c];
            db_c += shared[(size_t)v * 2 * C + C + c];
        }
        atomicAdd(&dw[c], dw_c);
        if (with_bias)
            atomicAdd(&db[c], db_c);
    }
}

extern "C" bool layernorm_cuda_supported(int C) { return C > 0 && C <= LN_MAX_C; }

template <typename E, int COLS>
static void backward_cols(float *dinp, const float *dres, float *dw, float *db, const E *dout,
                          const float *inp, const float *w, const float *mean, const float *rstd,
                          int N, int C) {
    unsigned blocks = blocks_for((size_t)N, WARPS_PER_BLOCK * ROWS_PER_WARP);
    size_t shared = (size_t)WARPS_PER_BLOCK * 2 * C * sizeof(float);
    auto kernel = db ? layernorm_backward_kernel<E, true, COLS>
                     : layernorm_backward_kernel<E, false, COLS>;
    if (shared > 48 * 1024)
        CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        (int)shared));
    kernel<<<blocks, WARPS_PER_BLOCK * WARP, shared>>>(dinp, dres, dw, db, dout, inp, w, mean,
                                                       rstd, N, C);
    LAUNCH_CHECK();
}

template <typename E>
static void backward(float *dinp, const float *dres, float *dw, float *db, const operand *dout,
                     const float *inp, const float *w, const float *mean, const float *rstd, int N,
                     int C) {
    static_assert(LN_MAX_C == 32 * WARP, "the widest instance below covers LN_MAX_C");
    const E *d = (const E *)dout;
    if (C <= 4 * WARP)
        backward_cols<E, 4>(dinp, dres, dw, db, d, inp, w, mean, rstd, N, C);
    else if (C <= 8 * WARP)
        backward_cols<E, 8>(dinp, dres, dw, db, d, inp, w, mean, rstd, N, C);
    else if (C <= 16 * WARP)
        backward_cols<E, 16>(dinp, dres, dw, db, d, inp, w, mean, rstd, N, C);
    else
        backward_cols<E, 32>(dinp, dres, dw, db, d, inp, w, mean, rstd, N, C);
}

extern "C" void layernorm_backward_cuda(float *dinp, const float *dresidual, float *dw, float *db,
                                        const operand *dout, const float *inp, const float *w,
                                        const float *mean, const float *rstd, int N, int C) {
    FOR_OPERANDS(backward, dinp, dresidual, dw, db, dout, inp, w, mean, rstd, N, C);
}
