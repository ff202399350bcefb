/*
 * layernorm.cu - layer normalisation on the GPU (mirrors chapter 04's
 * layernorm_forward/backward), fused with the residual add before it
 * (04's residual_forward + dropout_forward on the branch).
 *
 * Every layernorm of the GPT reads the residual stream right after a
 * residual add wrote it: res = x + dropout(branch), then layernorm(res).
 * Done apart, res is written, read back, and read again by the backward
 * pass's dropout. Done here in one kernel, the row is in registers when it
 * is made: it is written once (the backward pass needs it) and normalised
 * at once. The backward pass likewise makes the residual stream's gradient
 * and, from the same registers, the dropped branch's gradient.
 *
 * One warp (32 threads) per row. Lane l owns chunks of 4 columns, 4l..4l+3,
 * 4l+128..4l+131, ...: a chunk is one wide load per array (when C is a
 * multiple of 4, so that rows start 16-byte aligned; otherwise one element
 * at a time), and all the loads a row's sums need are issued before the
 * first sum, so each warp has many bytes in flight: these kernels move
 * whole arrays, and the bytes they keep in flight set their speed (the
 * forward runs near the memory's bandwidth; the backward, held back by its
 * registers, see below, at about half of it). A row's sums are
 * finished with warp shuffles, without shared memory or __syncthreads.
 * The number of chunks per lane is a template argument (arrays indexed by
 * unrolled-loop constants stay in registers): the smallest instance that
 * covers C.
 *
 * The residual dropout draws dropout_scale(seed, i, p) for element i of
 * the (N,C) array, in the forward and again in the backward pass: no mask
 * is stored.
 */
#include "cuda_internal.cuh"
#include "cuda_layers.h"

#define LN_EPS 1e-5f /* as LAYERNORM_EPS in 04-block/layernorm.h */
#define WARPS_PER_BLOCK 8
#define MAX_CHUNKS 8
static_assert(LN_MAX_C == MAX_CHUNKS * 4 * WARP, "the widest instance covers LN_MAX_C");

/* ---------------------------------------------------------------- chunks */

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

template <typename T>
__device__ inline void store_chunk(T *row, const float v[4], int c, int C) {
    if (C % 4 == 0) {
        if (c < C)
            store4(row + c, make_float4(v[0], v[1], v[2], v[3]));
    } else {
        for (int j = 0; j < 4 && c + j < C; j++)
            store(row + c + j, v[j]);
    }
}

/* The smallest instance (1, 2, 3, 4 or 8 chunks per lane) for C columns:
 * the GPT's 384 takes 3. A wider row fits none (LN_MAX_C). */
static int chunks_for(int C) {
    REQUIRE(layernorm_cuda_supported(C));
    int chunks = (C + 4 * WARP - 1) / (4 * WARP);
    return chunks <= 4 ? chunks : MAX_CHUNKS;
}

/* Calls launcher<E, CHUNKS> for the instance that covers C. */
#define FOR_CHUNKS(launcher, E, C, ...)                                                         \
    switch (chunks_for(C)) {                                                                   \
    case 1: launcher<E, 1>(__VA_ARGS__); break;                                                \
    case 2: launcher<E, 2>(__VA_ARGS__); break;                                                \
    case 3: launcher<E, 3>(__VA_ARGS__); break;                                                \
    case 4: launcher<E, 4>(__VA_ARGS__); break;                                                \
    default: launcher<E, MAX_CHUNKS>(__VA_ARGS__); break;                                      \
    }

/* ---------------------------------------------------------------- forward */

/* res = x + dropout(y) (y NULL: res = x, not written), out = (res - mean)
 * * rstd * w + b. */
template <typename E, int CHUNKS>
__global__ void layernorm_forward_kernel(float *res, E *out, float *mean, float *rstd,
                                         const float *x, const E *y, const float *w,
                                         const float *b, int N, int C, float p, uint64_t seed) {
    enum { COLS = 4 * CHUNKS }; /* columns per lane */
    int row = blockIdx.x * WARPS_PER_BLOCK + threadIdx.x / WARP, lane = threadIdx.x % WARP;
    if (row >= N)
        return;
    size_t at = (size_t)row * C;
    float v[COLS], sum = 0.0f;
#pragma unroll
    for (int k = 0; k < CHUNKS; k++) {
        int c = chunk_col(lane, k);
        load_chunk(v + 4 * k, x + at, c, C);
        if (y) {
            float branch[4];
            load_chunk(branch, y + at, c, C);
            for (int j = 0; j < 4; j++)
                v[4 * k + j] += branch[j] * dropout_scale(seed, at + c + j, p);
            store_chunk(res + at, v + 4 * k, c, C);
        }
        for (int j = 0; j < 4; j++)
            sum += v[4 * k + j]; /* (zeros past C) */
    }
    float m = warp_sum(sum) / C, var = 0.0f;
#pragma unroll
    for (int k = 0; k < CHUNKS; k++)
        for (int j = 0; j < 4; j++)
            if (chunk_col(lane, k) + j < C)
                var += (v[4 * k + j] - m) * (v[4 * k + j] - m);
    float s = rsqrtf(warp_sum(var) / C + LN_EPS);
#pragma unroll
    for (int k = 0; k < CHUNKS; k++) {
        int c = chunk_col(lane, k);
        float wc[4], bc[4] = {0.0f, 0.0f, 0.0f, 0.0f}, o[4];
        load_chunk(wc, w, c, C);
        if (b)
            load_chunk(bc, b, c, C);
        for (int j = 0; j < 4; j++)
            o[j] = (v[4 * k + j] - m) * s * wc[j] + bc[j];
        store_chunk(out + at, o, c, C);
    }
    if (lane == 0) {
        mean[row] = m;
        rstd[row] = s;
    }
}

template <typename E, int CHUNKS>
static void forward_chunks(float *res, operand *out, float *mean, float *rstd, const float *x,
                           const operand *y, const float *w, const float *b, int N, int C,
                           float p, uint64_t seed) {
    layernorm_forward_kernel<E, CHUNKS>
        <<<blocks_for((size_t)N, WARPS_PER_BLOCK), WARPS_PER_BLOCK * WARP>>>(
            res, (E *)out, mean, rstd, x, (const E *)y, w, b, N, C, p, seed);
    LAUNCH_CHECK();
}

template <typename E>
static void forward(float *res, operand *out, float *mean, float *rstd, const float *x,
                    const operand *y, const float *w, const float *b, int N, int C, float p,
                    uint64_t seed) {
    if (C % 4 == 0) /* the 4-wide accesses: every row starts on a whole chunk */
        REQUIRE(aligned_to(16, res, x, w, b) && aligned_to(4 * sizeof(E), out, y));
    FOR_CHUNKS(forward_chunks, E, C, res, out, mean, rstd, x, y, w, b, N, C, p, seed);
}

extern "C" void residual_layernorm_forward_cuda(float *res, operand *out, float *mean,
                                                float *rstd, const float *x, const operand *y,
                                                const float *w, const float *b, int N, int C,
                                                float p, uint64_t seed) {
    FOR_OPERANDS(forward, res, out, mean, rstd, x, y, w, b, N, C, p, seed);
}

extern "C" void layernorm_forward_cuda(operand *out, float *mean, float *rstd, const float *inp,
                                       const float *w, const float *b, int N, int C) {
    residual_layernorm_forward_cuda(NULL, out, mean, rstd, inp, NULL, w, b, N, C, 0.0f, 0);
}

/* ---------------------------------------------------------------- backward */

/* With xhat = (x - mean) * rstd and g = dout * w:
 *   dinp = dres + rstd * (g - mean(g) - xhat * mean(g * xhat))
 *   dbranch = dinp * the residual dropout's mask (if wanted)
 *   dw += dout * xhat, db += dout (summed over rows)
 * The weight gradient sums over all N rows. So the grid is only as large
 * as the GPU holds at once, each warp takes every (total warps)-th row and
 * keeps its dw and db sums in registers across them; at the end the
 * block's warps add their sums in shared memory, in a fixed order, and
 * one atomic add per column and block goes to memory. The GPT's
 * layernorms have no bias: with_bias = false leaves db's registers out.
 *
 * Registers decide this kernel's speed: each warp holds its row's xhat and
 * dout and, across rows, the dw sums, and it takes many warps per SM (many
 * rows in flight) to keep the memory busy. The residual gradient is read
 * in the second pass, where it is used: held from the first pass with the
 * others, it made the GPT's instance (3 chunks) 94 registers a thread, 2
 * blocks (16 warps) per SM. __launch_bounds__ holds that instance to 3
 * blocks (at most 85 registers; it takes 72, none spilled). The two steps
 * took a training step's 13 layernorm backwards from 0.53 to about 0.40 ms
 * on an H200 (results/). Wider instances (and 3 chunks with db's sums)
 * would spill, so they keep 1. */
template <typename E, bool with_bias, int CHUNKS>
__global__ void __launch_bounds__(WARPS_PER_BLOCK *WARP, CHUNKS + with_bias <= 3 ? 3 : 1)
    layernorm_backward_kernel(float *dinp, E *dbranch, const float *dres, float *dw,
                                          float *db, const E *dout, const float *inp,
                                          const float *w, const float *mean, const float *rstd,
                                          int N, int C, float p, uint64_t seed) {
    extern __shared__ float shared[]; /* per warp: dw partial (C), db partial (C) */
    enum { COLS = 4 * CHUNKS };
    int warp = threadIdx.x / WARP, lane = threadIdx.x % WARP;
    float dw_sum[COLS] = {0}, db_sum[COLS] = {0};
    for (int row = blockIdx.x * WARPS_PER_BLOCK + warp; row < N;
         row += gridDim.x * WARPS_PER_BLOCK) {
        size_t at = (size_t)row * C;
        float m = mean[row], s = rstd[row];
        float xhat[COLS], d[COLS], wc[4];
        float g_sum = 0.0f, gx_sum = 0.0f;
#pragma unroll
        for (int k = 0; k < CHUNKS; k++) {
            int c = chunk_col(lane, k);
            load_chunk(xhat + 4 * k, inp + at, c, C);
            load_chunk(d + 4 * k, dout + at, c, C);
            load_chunk(wc, w, c, C);
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
            float dx[4], r[4] = {0.0f, 0.0f, 0.0f, 0.0f};
            load_chunk(wc, w, c, C); /* again: from the L1 cache */
            if (dres)
                load_chunk(r, dres + at, c, C);
#pragma unroll
            for (int j = 0; j < 4; j++) {
                int i = 4 * k + j;
                dx[j] = r[j] + s * (d[i] * wc[j] - g_mean - xhat[i] * gx_mean);
                dw_sum[i] += d[i] * xhat[i];
                if (with_bias)
                    db_sum[i] += d[i];
            }
            store_chunk(dinp + at, dx, c, C);
            if (dbranch) {
                for (int j = 0; j < 4; j++)
                    dx[j] *= dropout_scale(seed, at + c + j, p);
                store_chunk(dbranch + at, dx, c, C);
            }
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

/* As many blocks as the GPU runs at once (or fewer, if N is small). */
static unsigned resident_blocks(const void *kernel, int threads, size_t shared, int N) {
    static int sms;
    if (!sms) {
        int device;
        CUDA_CHECK(cudaGetDevice(&device));
        CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
    }
    int per_sm = 0;
    CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, threads, shared));
    unsigned most = (unsigned)(per_sm > 0 ? per_sm : 1) * (unsigned)sms;
    unsigned needed = blocks_for((size_t)N, WARPS_PER_BLOCK);
    return needed < most ? needed : most;
}

template <typename E, int CHUNKS>
static void backward_chunks(float *dinp, operand *dbranch, const float *dres, float *dw,
                            float *db, const operand *dout, const float *inp, const float *w,
                            const float *mean, const float *rstd, int N, int C, float p,
                            uint64_t seed) {
    size_t shared = (size_t)WARPS_PER_BLOCK * 2 * C * sizeof(float);
    auto kernel = db ? layernorm_backward_kernel<E, true, CHUNKS>
                     : layernorm_backward_kernel<E, false, CHUNKS>;
    if (shared > 48 * 1024)
        CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                        (int)shared));
    int threads = WARPS_PER_BLOCK * WARP;
    kernel<<<resident_blocks((const void *)kernel, threads, shared, N), threads, shared>>>(
        dinp, (E *)dbranch, dres, dw, db, (const E *)dout, inp, w, mean, rstd, N, C, p, seed);
    LAUNCH_CHECK();
}

template <typename E>
static void backward(float *dinp, operand *dbranch, const float *dres, float *dw, float *db,
                     const operand *dout, const float *inp, const float *w, const float *mean,
                     const float *rstd, int N, int C, float p, uint64_t seed) {
    if (C % 4 == 0)
        REQUIRE(aligned_to(16, dinp, dres, w, inp) && aligned_to(4 * sizeof(E), dbranch, dout));
    FOR_CHUNKS(backward_chunks, E, C, dinp, dbranch, dres, dw, db, dout, inp, w, mean, rstd, N,
               C, p, seed);
}

extern "C" void layernorm_backward_cuda(float *dinp, operand *dbranch, const float *dresidual,
                                        float *dw, float *db, const operand *dout,
                                        const float *inp, const float *w, const float *mean,
                                        const float *rstd, int N, int C, float p,
                                        uint64_t seed) {
    FOR_OPERANDS(backward, dinp, dbranch, dresidual, dw, db, dout, inp, w, mean, rstd, N, C, p,
                 seed);
}
