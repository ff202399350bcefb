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
 * One warp per row again, but a row is read once: it stays in registers
 * between the two sums and the output. Lane l owns chunks of 4 columns,
 * 4l..4l+3, 4l+128..4l+131, ...; a chunk is one wide load per array (when
 * C is a multiple of 4, so that rows start 16-byte aligned; otherwise one
 * element at a time), and all of a row's loads are issued before the first
 * sum needs them, so each warp has many bytes in flight: this kernel moves
 * four arrays and is limited by memory bandwidth. The number of chunks per
 * lane is a template argument (arrays indexed by unrolled-loop constants
 * stay in registers), the smallest instance that covers C.
 * A warp takes ROWS_PER_WARP rows in turn and keeps its dw and db sums in
 * registers across them; at the end the block's warps add their sums in
 * shared memory, in a fixed order, and one atomic add per column and block
 * goes to memory. The GPT's layernorms have no bias: with_bias = false
 * leaves db's registers out. */

/* The first of the 4 columns of lane's chunk k. */
__device__ inline int chunk_col(int lane, int k) { return 4 * (lane + WARP * k); }

/* v[0..3] = row[c..c+3], zeros past C. */
template <typename T> __device__ inline void load_chunk(float v[4], const T *row, int c, int C) {
    if (C % 4 == 0) {
        float4 x = c < C ? load4(row + c) : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
        v[0] = x.x, v[1] = x.y, v[2] = x.z, v[3] = x.w;
    } else {
        for (int j = 0; j < 4; j++)
            v[j] = c + j < C ? load(row + c + j) : 0.0f;
    }
}

__device__ inline void store_chunk(float *row, const float v[4], int c, int C) {
    if (C % 4 == 0) {
        if (c < C)
            store4(row + c, make_float4(v[0], v[1], v[2], v[3]));
    } else {
        for (int j = 0; j < 4 && c + j < C; j++)
            row[c + j] = v[j];
    }
}

template <typename E, bool with_bias, int CHUNKS>
__global__ void layernorm_backward_kernel(float *dinp, const float *dres, float *dw, float *db,
                                          const E *dout, const float *inp, const float *w,
                                          const float *mean, const float *rstd, int N, int C) {
    extern __shared__ float shared[]; /* per warp: dw partial (C), db partial (C) */
    enum { COLS = 4 * CHUNKS };       /* columns per lane */
    int warp = threadIdx.x / WARP, lane = threadIdx.x % WARP;
    float dw_sum[COLS] = {0}, db_sum[COLS] = {0};
    int first = (blockIdx.x * WARPS_PER_BLOCK + warp) * ROWS_PER_WARP;
    for (int row = first; row < first + ROWS_PER_WARP && row < N; row++) {
        size_t at = (size_t)row * C;
        float m = mean[row], s = rstd[row];
        float xhat[COLS], d[COLS], r[COLS], wc[4];
        float g_sum = 0.0f, gx_sum = 0.0f;
#pragma unroll
        for (int k = 0; k < CHUNKS; k++) {
            int c = chunk_col(lane, k);
            load_chunk(xhat + 4 * k, inp + at, c, C);
            load_chunk(d + 4 * k, dout + at, c, C);
            load_chunk(wc, w, c, C);
            if (dres)
                load_chunk(r + 4 * k, dres + at, c, C);
#pragma unroll
            for (int j = 0; j < 4; j++) {
                int i = 4 * k + j;
                xhat[i] = (xhat[i] - m) * s; /* (columns past C: dout is 0 there) */
                float g = d[i] * wc[j];
                g_sum += g;
                gx_sum += g * xhat[i];
            }
        }
        float g_mean = warp_sum(g_sum) / C, gx_mean = warp_sum(gx_sum) / C;
#pragma unroll
        for (int k = 0; k < CHUNKS; k++) {
            int c = chunk_col(lane, k);
            float dx[4];
            load_chunk(wc, w, c, C); /* again: from the L1 cache */
#pragma unroll
            for (int j = 0; j < 4; j++) {
                int i = 4 * k + j;
                dx[j] = (dres ? r[i] : 0.0f) + s * (d[i] * wc[j] - g_mean - xhat[i] * gx_mean);
                dw_sum[i] += d[i] * xhat[i];
                if (with_bias)
                    db_sum[i] += d[i];
            }
            store_chunk(dinp + at, dx, c, C);
        }
    }
    float *part = shared + (size_t)warp * 2 * C;
#pragma unroll
    for (int k = 0; k < CHUNKS; k++)
#pragma unroll
        for (int j = 0; j < 4; j++) {
            int c = chunk_col(lane, k) + j;
            if (c < C) {
                part[c] = dw_sum[4 * k + j];
                part[C + c] = db_sum[4 * k + j];
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

template <typename E, int CHUNKS>
static void backward_chunks(float *dinp, const float *dres, float *dw, float *db, const E *dout,
                          const float *inp, const float *w, const float *mean, const float *rstd,
                          int N, int C) {
    unsigned blocks = blocks_for((size_t)N, WARPS_PER_BLOCK * ROWS_PER_WARP);
    size_t shared = (size_t)WARPS_PER_BLOCK * 2 * C * sizeof(float);
    auto kernel = db ? layernorm_backward_kernel<E, true, CHUNKS>
                     : layernorm_backward_kernel<E, false, CHUNKS>;
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
    static_assert(LN_MAX_C == 8 * 4 * WARP, "the widest instance below covers LN_MAX_C");
    const E *d = (const E *)dout;
    int chunks = (C + 4 * WARP - 1) / (4 * WARP); /* the GPT's 384: 3 */
    if (chunks == 1)
        backward_chunks<E, 1>(dinp, dres, dw, db, d, inp, w, mean, rstd, N, C);
    else if (chunks == 2)
        backward_chunks<E, 2>(dinp, dres, dw, db, d, inp, w, mean, rstd, N, C);
    else if (chunks == 3)
        backward_chunks<E, 3>(dinp, dres, dw, db, d, inp, w, mean, rstd, N, C);
    else if (chunks == 4)
        backward_chunks<E, 4>(dinp, dres, dw, db, d, inp, w, mean, rstd, N, C);
    else
        backward_chunks<E, 8>(dinp, dres, dw, db, d, inp, w, mean, rstd, N, C);
}

extern "C" void layernorm_backward_cuda(float *dinp, const float *dresidual, float *dw, float *db,
                                        const operand *dout, const float *inp, const float *w,
                                        const float *mean, const float *rstd, int N, int C) {
    FOR_OPERANDS(backward, dinp, dresidual, dw, db, dout, inp, w, mean, rstd, N, C);
}
