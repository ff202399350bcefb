/*
 * attention.cu - causal multi-head attention on the GPU (mirrors chapter
 * 03's multihead_scores/mix forward and backward).
 *
 * On the CPU each (batch row, head) pair was a loop iteration. Here all
 * B*NH pairs go to cuBLAS at once as a "strided batched" product: the same
 * small matrix product B*NH times, each operand a fixed stride after the
 * previous one. That needs each head's q, k and v contiguous, so a permute
 * kernel first rearranges qkv (B,T,3,NH,hs) into q, k, v (B,NH,T,hs); the
 * heads' outputs y (B,NH,T,hs) are permuted back to (B,T,NH*hs) at the end.
 *
 *   forward:  S = q k^T / sqrt(hs)            batched product
 *             att = causal softmax(S)          one warp per row
 *             att_drop = dropout(att)          (in the softmax kernel)
 *             y = att_drop v                   batched product
 *   backward: datt_drop = dy v^T, dv = att_drop^T dy
 *             dS = softmax backward            one warp per row, in place
 *             dq = dS k / sqrt(hs), dk = dS^T q / sqrt(hs)
 * This is the plain version, exact in fp32 mode (the tests compare it with
 * the CPU) and used for any head size; attention_fused.cu computes the same
 * function without ever writing att to memory (bf16 mode, head size 64).
 * q, k, v, y here are float whatever the mode; qkv, out and dqkv are
 * operands (bf16 in bf16 mode).
 */
#include <math.h>

#include "cuda_internal.cuh"
#include "cuda_layers.h"

#define SOFTMAX_ROWS_PER_BLOCK 8

/* Element i of a (B,NH,T,hs) tensor, as coordinates. */
typedef struct {
    int b, h, t, d;
} head_coords;

__device__ inline head_coords coords_of(size_t i, int T, int NH, int hs) {
    head_coords c;
    c.d = (int)(i % hs);
    c.t = (int)((i / hs) % T);
    c.h = (int)((i / ((size_t)hs * T)) % NH);
    c.b = (int)(i / ((size_t)hs * T * NH));
    return c;
}

/* Where that element sits in a (B,T,width) row-major tensor whose rows hold
 * the heads side by side (width C for outputs, 3C for qkv's q third). */
__device__ inline size_t flat_at(head_coords c, int T, int hs, int NH, int width) {
    return ((size_t)c.b * T + c.t) * width + (size_t)c.h * hs + c.d;
}

/* qkv (B,T,3,NH,hs) (an operand) -> q, k, v (B,NH,T,hs); one thread per
 * element of q. */
template <typename E>
__global__ void permute_kernel(float *q, float *k, float *v, const E *qkv, int B, int T, int NH,
                               int hs) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)B * NH * T * hs)
        return;
    int C = NH * hs;
    size_t src = flat_at(coords_of(i, T, NH, hs), T, hs, NH, 3 * C);
    q[i] = load(qkv + src);
    k[i] = load(qkv + src + C);
    v[i] = load(qkv + src + 2 * C);
}

/* The inverse: q, k, v (B,NH,T,hs) -> qkv (B,T,3,NH,hs) (an operand). */
template <typename E>
__global__ void unpermute_qkv_kernel(E *qkv, const float *q, const float *k, const float *v,
                                     int B, int T, int NH, int hs) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)B * NH * T * hs)
        return;
    int C = NH * hs;
    size_t dst = flat_at(coords_of(i, T, NH, hs), T, hs, NH, 3 * C);
    store(qkv + dst, q[i]);
    store(qkv + dst + C, k[i]);
    store(qkv + dst + 2 * C, v[i]);
}

/* From the flat layout (B,T,NH*hs) (an operand) to the heads layout
 * (B,NH,T,hs)... */
template <typename E>
__global__ void to_heads_kernel(float *dst, const E *src, int B, int T, int NH, int hs) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < (size_t)B * NH * T * hs)
        dst[i] = load(src + flat_at(coords_of(i, T, NH, hs), T, hs, NH, NH * hs));
}

/* ...and back, into an operand (the input of c_proj). */
template <typename E>
__global__ void from_heads_kernel(E *dst, const float *src, int B, int T, int NH, int hs) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < (size_t)B * NH * T * hs)
        store(dst + flat_at(coords_of(i, T, NH, hs), T, hs, NH, NH * hs), src[i]);
}

/* Row r of the (B*NH*T, T) scores: position t = r % T attends to s <= t.
 * Scores arrive already scaled; att gets exact zeros above the diagonal.
 * Row r's dropout mask: weight_dropout_scale with row_key(seed, r). */
__global__ void softmax_forward_kernel(float *att, float *att_drop, int rows, int T, float p,
                                       uint64_t seed) {
    int row = blockIdx.x * SOFTMAX_ROWS_PER_BLOCK + threadIdx.x / WARP, lane = threadIdx.x % WARP;
    if (row >= rows)
        return;
    int t = row % T;
    float *a = att + (size_t)row * T;
    float max = -INFINITY;
    for (int s = lane; s <= t; s += WARP)
        max = fmaxf(max, a[s]);
    max = warp_max(max);
    float sum = 0.0f;
    for (int s = lane; s <= t; s += WARP)
        sum += expf(a[s] - max);
    float inv = 1.0f / warp_sum(sum);
    float *ad = att_drop + (size_t)row * T;
    uint32_t key = row_key(seed, row), threshold = keep_threshold(p);
    for (int s = lane; s < T; s += WARP) {
        float w = s <= t ? expf(a[s] - max) * inv : 0.0f;
        a[s] = w;
        if (att_drop != att)
            ad[s] = p > 0.0f ? w * weight_dropout_scale(key, s, threshold, 1.0f / (1.0f - p)) : w;
    }
}

/* In place: datt (= d att_drop on entry) becomes dS, the gradient of the
 * scaled scores: through the dropout mask, then the softmax,
 * dS[s] = att[s] * (datt[s] - sum_r att[r] datt[r]), 0 above the diagonal. */
__global__ void softmax_backward_kernel(float *datt, const float *att, int rows, int T, float p,
                                        uint64_t seed) {
    int row = blockIdx.x * SOFTMAX_ROWS_PER_BLOCK + threadIdx.x / WARP, lane = threadIdx.x % WARP;
    if (row >= rows)
        return;
    int t = row % T;
    float *d = datt + (size_t)row * T;
    const float *a = att + (size_t)row * T;
    float dot = 0.0f;
    uint32_t key = row_key(seed, row), threshold = keep_threshold(p);
    for (int s = lane; s <= t; s += WARP) {
        if (p > 0.0f)
            d[s] *= weight_dropout_scale(key, s, threshold, 1.0f / (1.0f - p));
        dot += a[s] * d[s];
    }
    dot = warp_sum(dot);
    for (int s = lane; s < T; s += WARP)
        d[s] = s <= t ? a[s] * (d[s] - dot) : 0.0f;
}

static unsigned elementwise_blocks(int B, int T, int C) {
    return blocks_for((size_t)B * T * C, BLOCK_THREADS);
}

/* The heads' width: they must tile C exactly. */
static int head_size(int C, int NH) {
    REQUIRE(NH > 0 && C % NH == 0);
    return C / NH;
}

template <typename E>
static void forward(operand *out, float *att, float *att_drop, const operand *qkv,
                    attention_scratch *s, int B, int T, int C, int NH, float p, uint64_t seed) {
    int hs = head_size(C, NH), BH = B * NH;
    long long head = (long long)T * hs, square = (long long)T * T;
    permute_kernel<<<elementwise_blocks(B, T, C), BLOCK_THREADS>>>(s->q, s->k, s->v,
                                                                    (const E *)qkv, B, T, NH, hs);
    LAUNCH_CHECK();
    /* row-major S (T,T) = q (T,hs) @ k^T / sqrt(hs), per head (the linear pattern) */
    gemm(CUBLAS_OP_T, CUBLAS_OP_N, T, T, hs, 1.0f / sqrtf((float)hs), s->k, hs, head, s->q, hs,
         head, 0.0f, att, T, square, BH);
    int rows = BH * T;
    softmax_forward_kernel<<<blocks_for((size_t)rows, SOFTMAX_ROWS_PER_BLOCK),
                             SOFTMAX_ROWS_PER_BLOCK * WARP>>>(att, att_drop, rows, T, p, seed);
    LAUNCH_CHECK();
    /* row-major y (T,hs) = att_drop (T,T) @ v (T,hs): column-major y^T = v^T att_drop^T */
    gemm(CUBLAS_OP_N, CUBLAS_OP_N, hs, T, T, 1.0f, s->v, hs, head, att_drop, T, square, 0.0f, s->y,
         hs, head, BH);
    from_heads_kernel<<<elementwise_blocks(B, T, C), BLOCK_THREADS>>>((E *)out, s->y, B, T, NH,
                                                                       hs);
    LAUNCH_CHECK();
}

extern "C" void attention_forward_cuda(operand *out, float *att, float *att_drop,
                                       const operand *qkv, attention_scratch *s, int B, int T,
                                       int C, int NH, float p, uint64_t seed) {
    REQUIRE(p == 0.0f || att_drop != att); /* the kernel writes att_drop only when distinct */
    FOR_OPERANDS(forward, out, att, att_drop, qkv, s, B, T, C, NH, p, seed);
}

template <typename E>
static void backward(operand *dqkv, const operand *dout, const float *att, const float *att_drop,
                     const operand *qkv, attention_scratch *s, int B, int T, int C, int NH,
                     float p, uint64_t seed) {
    int hs = head_size(C, NH), BH = B * NH;
    long long head = (long long)T * hs, square = (long long)T * T;
    float scale = 1.0f / sqrtf((float)hs);
    /* the forward's q, k, v again (cheaper to recompute than to keep), and
     * dy, the output gradient in the heads layout, in s->y */
    permute_kernel<<<elementwise_blocks(B, T, C), BLOCK_THREADS>>>(s->q, s->k, s->v,
                                                                    (const E *)qkv, B, T, NH, hs);
    LAUNCH_CHECK();
    to_heads_kernel<<<elementwise_blocks(B, T, C), BLOCK_THREADS>>>(s->y, (const E *)dout, B, T,
                                                                     NH, hs);
    LAUNCH_CHECK();
    /* Each product below overwrites a scratch tensor that no later step
     * reads, so no extra memory is needed: dv goes where v was (v is used
     * only by the first product), dq where dy was, dk where k was. */
    /* datt_drop (T,T) = dy (T,hs) @ v^T: the linear-forward pattern */
    gemm(CUBLAS_OP_T, CUBLAS_OP_N, T, T, hs, 1.0f, s->v, hs, head, s->y, hs, head, 0.0f, s->datt,
         T, square, BH);
    /* dv (T,hs) = att_drop^T (T,T) @ dy (T,hs): the dw pattern */
    gemm(CUBLAS_OP_N, CUBLAS_OP_T, hs, T, T, 1.0f, s->y, hs, head, att_drop, T, square, 0.0f, s->v,
         hs, head, BH);
    int rows = BH * T;
    softmax_backward_kernel<<<blocks_for((size_t)rows, SOFTMAX_ROWS_PER_BLOCK),
                              SOFTMAX_ROWS_PER_BLOCK * WARP>>>(s->datt, att, rows, T, p, seed);
    LAUNCH_CHECK();
    /* dq (T,hs) = dS (T,T) @ k (T,hs) * scale: a plain row-major product */
    gemm(CUBLAS_OP_N, CUBLAS_OP_N, hs, T, T, scale, s->k, hs, head, s->datt, T, square, 0.0f, s->y,
         hs, head, BH);
    /* dk (T,hs) = dS^T (T,T) @ q (T,hs) * scale: the dw pattern */
    gemm(CUBLAS_OP_N, CUBLAS_OP_T, hs, T, T, scale, s->q, hs, head, s->datt, T, square, 0.0f, s->k,
         hs, head, BH);
    unpermute_qkv_kernel<<<elementwise_blocks(B, T, C), BLOCK_THREADS>>>((E *)dqkv, s->y, s->k,
                                                                          s->v, B, T, NH, hs);
    LAUNCH_CHECK();
}

extern "C" void attention_backward_cuda(operand *dqkv, const operand *dout, const float *att,
                                        const float *att_drop, const operand *qkv,
                                        attention_scratch *s, int B, int T, int C, int NH,
                                        float p, uint64_t seed) {
    FOR_OPERANDS(backward, dqkv, dout, att, att_drop, qkv, s, B, T, C, NH, p, seed);
}
