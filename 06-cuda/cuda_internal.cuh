/*
 * cuda_internal.cuh - what the .cu files share beyond the C interface:
 * checking macros, the cuBLAS handle, launch helpers, and the dropout
 * random numbers.
 */
#ifndef CUDA_INTERNAL_CUH
#define CUDA_INTERNAL_CUH

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "cuda_util.h"

/* Every call is checked; a failure is one clear line and the end. */
#define CUDA_CHECK(call) cuda_check((call), #call, __FILE__, __LINE__)
#define CUBLAS_CHECK(call) cublas_check((call), #call, __FILE__, __LINE__)
/* After a kernel launch: launch errors appear here, not at the launch. */
#define LAUNCH_CHECK() cuda_check(cudaGetLastError(), "kernel launch", __FILE__, __LINE__)

void cuda_check(cudaError_t err, const char *what, const char *file, int line);
void cublas_check(cublasStatus_t st, const char *what, const char *file, int line);

/* A promise of the caller that a kernel relies on and could not check
 * itself (an alignment, two distinct buffers): tested on the host before
 * the launch; broken, it is one clear line and the end, not wrong numbers. */
#define REQUIRE(cond) cuda_require((cond), #cond, __FILE__, __LINE__)
void cuda_require(bool ok, const char *what, const char *file, int line);

/* True when every pointer (NULL ones too) starts on a multiple of `bytes`. */
template <typename... P> static inline bool aligned_to(size_t bytes, const P *...p) {
    return ((reinterpret_cast<uintptr_t>(p) % bytes == 0) && ...);
}

/* The library handle, created on first use, with the chosen math mode. */
cublasHandle_t cublas(void);

/* ---- operands (cuda_util.h): float, or bf16 in bf16 mode ---- */

typedef __nv_bfloat16 bf16;

static inline bool bf16_operands(void) { return cuda_get_precision() == PRECISION_BF16; }

/* Kernels that read or write operands are templates on the element type
 * E and go through these, so one body serves both. The 4-wide forms move
 * 4 consecutive elements with one 16-byte (float) or 8-byte (bf16) access;
 * they need p 4-element aligned (cudaMalloc'd buffers, offsets that are
 * multiples of 4). */
__device__ inline void store(float *p, float x) { *p = x; }
__device__ inline void store(bf16 *p, float x) { *p = __float2bfloat16(x); }
__device__ inline float load(const float *p) { return *p; }
__device__ inline float load(const bf16 *p) { return __bfloat162float(*p); }

__device__ inline float4 load4(const float *p) { return *(const float4 *)p; }
__device__ inline float4 load4(const bf16 *p) {
    uint2 u = *(const uint2 *)p;
    float2 a = __bfloat1622float2(*(const __nv_bfloat162 *)&u.x);
    float2 b = __bfloat1622float2(*(const __nv_bfloat162 *)&u.y);
    return make_float4(a.x, a.y, b.x, b.y);
}
__device__ inline void store4(float *p, float4 x) { *(float4 *)p = x; }
__device__ inline void store4(bf16 *p, float4 x) {
    __nv_bfloat162 a = __floats2bfloat162_rn(x.x, x.y), b = __floats2bfloat162_rn(x.z, x.w);
    uint2 u;
    u.x = *(const uint32_t *)&a;
    u.y = *(const uint32_t *)&b;
    *(uint2 *)p = u;
}

/* The host side: each launcher is a template on E that casts its operand
 * pointers to E *; this calls launcher<bf16> or launcher<float>, as the
 * precision says. */
#define FOR_OPERANDS(launcher, ...)                                                                \
    (bf16_operands() ? launcher<bf16>(__VA_ARGS__) : launcher<float>(__VA_ARGS__))

/* Threads per block for the simple elementwise kernels. */
#define BLOCK_THREADS 256
#define WARP 32

static inline unsigned blocks_for(size_t n, unsigned threads) {
    return (unsigned)((n + threads - 1) / threads);
}

/* Sum over a warp with shuffles: every lane ends with the total. */
__device__ inline float warp_sum(float x) {
    for (int offset = WARP / 2; offset > 0; offset /= 2)
        x += __shfl_xor_sync(0xffffffffu, x, offset);
    return x;
}

__device__ inline float warp_max(float x) {
    for (int offset = WARP / 2; offset > 0; offset /= 2)
        x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, offset));
    return x;
}

/* Sum over a block of BLOCK_SUM_THREADS threads (every thread passes its
 * partial sum and gets the total), in a fixed order: a tree in shared
 * memory, so the result is the same every run. The last barrier lets a
 * second call reuse `part` only once every thread has read the total. */
#define BLOCK_SUM_THREADS 256
__device__ inline float block_sum(float x) {
    __shared__ float part[BLOCK_SUM_THREADS];
    part[threadIdx.x] = x;
    __syncthreads();
    for (int stride = BLOCK_SUM_THREADS / 2; stride > 0; stride /= 2) {
        if (threadIdx.x < stride)
            part[threadIdx.x] += part[threadIdx.x + stride];
        __syncthreads();
    }
    float total = part[0];
    __syncthreads();
    return total;
}

/* Dropout on the GPU needs a random number per element that any thread can
 * compute on its own, in any order: a hash of (seed, index) rather than a
 * stream. The forward pass and the backward pass recompute the same mask
 * from the same seed, so no mask is stored. (splitmix64's finaliser.) */
__device__ inline uint64_t hash64(uint64_t seed, uint64_t index) {
    uint64_t z = seed + index * 0x9E3779B97F4A7C15ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* The dropout multiplier of element `index`: 0, or 1/(1-p) if kept; 1,
 * without hashing, when p = 0 (the site is off). */
__device__ inline float dropout_scale(uint64_t seed, uint64_t index, float p) {
    if (p <= 0.0f)
        return 1.0f;
    float uniform = (float)(hash64(seed, index) >> 40) * (1.0f / 16777216.0f);
    return uniform < p ? 0.0f : 1.0f / (1.0f - p);
}

/* Attention weights are many more (B*NH*T*T) and come in rows, one per
 * query: a 64-bit hash of (seed, row) gives the row a 32-bit key, once,
 * and each weight of the row then costs one 32-bit mix of (key, column)
 * (the "lowbias32" finaliser: two multiplies instead of three 64-bit
 * ones). Weight `col` is kept when its hash is at least p * 2^32. */
__device__ inline uint32_t row_key(uint64_t seed, uint64_t row) {
    return (uint32_t)(hash64(seed, row) >> 32);
}

__device__ inline uint32_t keep_threshold(float p) {
    return p >= 1.0f ? 0xFFFFFFFFu : (uint32_t)(p * 4294967296.0f);
}

__device__ inline float weight_dropout_scale(uint32_t key, uint32_t col, uint32_t threshold,
                                             float keep_scale) {
    uint32_t x = key ^ (col * 0x9E3779B9u);
    x = (x ^ (x >> 16)) * 0x7FEB352Du;
    x = (x ^ (x >> 15)) * 0x846CA68Bu;
    x ^= x >> 16;
    return x < threshold ? 0.0f : keep_scale;
}

/* C (m x n, column-major, as cuBLAS sees it) = alpha op(A) op(B) + beta C,
 * for `batch` matrices `stride` floats apart (batch 1: a single product),
 * in the precision chosen with cuda_set_precision. Row-major callers pass
 * their operands swapped (see matmul.cu). */
void gemm(cublasOperation_t op_a, cublasOperation_t op_b, int m, int n, int k, float alpha,
          const float *a, int lda, long long stride_a, const float *b, int ldb,
          long long stride_b, float beta, float *c, int ldc, long long stride_c, int batch);

#endif
