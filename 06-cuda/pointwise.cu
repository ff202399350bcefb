/*
 * pointwise.cu - the elementwise layers: GELU (mirrors 05's gelu_forward/
 * backward, with CUDA's own fast erff and expf) and the residual add with
 * dropout on the branch (04's residual_forward + dropout_forward, fused so
 * that the branch's output is read once and never written back).
 *
 * These kernels do a few operations per element and are limited by memory
 * bandwidth, so each thread moves 4 consecutive elements with one wide
 * access per array (load4/store4): a quarter of the memory instructions,
 * more bytes in flight per thread. A tail of n % 4 elements goes one by
 * one. Arrays must start 4-element aligned (as cudaMalloc'd buffers do).
 */
#include "cuda_internal.cuh"
#include "cuda_layers.h"

#define INV_SQRT2 0.70710678118654752f
#define INV_SQRT_2PI 0.39894228040143268f

/* Thread i's 4 elements start at 4i; the launch covers ceil(n / 4). */
static unsigned quad_blocks(size_t n) { return blocks_for((n + 3) / 4, BLOCK_THREADS); }

__device__ inline size_t first_of_quad(void) {
    return 4 * ((size_t)blockIdx.x * blockDim.x + threadIdx.x);
}

__device__ inline float gelu(float x) { return 0.5f * x * (1.0f + erff(x * INV_SQRT2)); }

/* d/dx [x Phi(x)] = Phi(x) + x pdf(x) */
__device__ inline float gelu_grad(float x) {
    float cdf = 0.5f * (1.0f + erff(x * INV_SQRT2));
    return cdf + x * INV_SQRT_2PI * expf(-0.5f * x * x);
}

template <typename E> __global__ void gelu_forward_kernel(E *out, const E *inp, size_t n) {
    size_t i = first_of_quad();
    if (i + 4 <= n) {
        float4 x = load4(inp + i);
        store4(out + i, make_float4(gelu(x.x), gelu(x.y), gelu(x.z), gelu(x.w)));
    } else {
        for (; i < n; i++)
            store(out + i, gelu(load(inp + i)));
    }
}

template <typename E>
__global__ void gelu_backward_kernel(E *dinp, const E *inp, const E *dout, size_t n) {
    size_t i = first_of_quad();
    if (i + 4 <= n) {
        float4 x = load4(inp + i), d = load4(dout + i);
        store4(dinp + i, make_float4(gelu_grad(x.x) * d.x, gelu_grad(x.y) * d.y,
                                     gelu_grad(x.z) * d.z, gelu_grad(x.w) * d.w));
    } else {
        for (; i < n; i++)
            store(dinp + i, gelu_grad(load(inp + i)) * load(dout + i));
    }
}

template <typename E> static void gelu_forward(operand *out, const operand *inp, size_t n) {
    gelu_forward_kernel<<<quad_blocks(n), BLOCK_THREADS>>>((E *)out, (const E *)inp, n);
    LAUNCH_CHECK();
}

template <typename E>
static void gelu_backward(operand *dinp, const operand *inp, const operand *dout, size_t n) {
    gelu_backward_kernel<<<quad_blocks(n), BLOCK_THREADS>>>((E *)dinp, (const E *)inp,
                                                            (const E *)dout, n);
    LAUNCH_CHECK();
}

extern "C" void gelu_forward_cuda(operand *out, const operand *inp, size_t n) {
    FOR_OPERANDS(gelu_forward, out, inp, n);
}

extern "C" void gelu_backward_cuda(operand *dinp, const operand *inp, const operand *dout,
                                   size_t n) {
    FOR_OPERANDS(gelu_backward, dinp, inp, dout, n);
}

/* The dropout multipliers of elements i..i+3 (all 1 when p = 0). */
__device__ inline float4 dropout4(uint64_t seed, size_t i, float p) {
    if (p == 0.0f)
        return make_float4(1.0f, 1.0f, 1.0f, 1.0f);
    return make_float4(dropout_scale(seed, i, p), dropout_scale(seed, i + 1, p),
                       dropout_scale(seed, i + 2, p), dropout_scale(seed, i + 3, p));
}

__device__ inline float dropout1(uint64_t seed, size_t i, float p) {
    return p > 0.0f ? dropout_scale(seed, i, p) : 1.0f;
}

template <typename E>
__global__ void residual_dropout_forward_kernel(float *out, const float *x, const E *y, size_t n,
                                                float p, uint64_t seed) {
    size_t i = first_of_quad();
    if (i + 4 <= n) {
        float4 a = load4(x + i), b = load4(y + i), m = dropout4(seed, i, p);
        store4(out + i, make_float4(a.x + b.x * m.x, a.y + b.y * m.y, a.z + b.z * m.z,
                                    a.w + b.w * m.w));
    } else {
        for (; i < n; i++)
            out[i] = x[i] + load(y + i) * dropout1(seed, i, p);
    }
}

template <typename E>
__global__ void residual_dropout_backward_kernel(E *dy, const float *dout, size_t n, float p,
                                                 uint64_t seed) {
    size_t i = first_of_quad();
    if (i + 4 <= n) {
        float4 d = load4(dout + i), m = dropout4(seed, i, p);
        store4(dy + i, make_float4(d.x * m.x, d.y * m.y, d.z * m.z, d.w * m.w));
    } else {
        for (; i < n; i++)
            store(dy + i, dout[i] * dropout1(seed, i, p));
    }
}

template <typename E>
static void residual_forward(float *out, const float *x, const operand *y, size_t n, float p,
                             uint64_t seed) {
    residual_dropout_forward_kernel<<<quad_blocks(n), BLOCK_THREADS>>>(out, x, (const E *)y, n, p,
                                                                       seed);
    LAUNCH_CHECK();
}

template <typename E>
static void residual_backward(operand *dy, const float *dout, size_t n, float p, uint64_t seed) {
    residual_dropout_backward_kernel<<<quad_blocks(n), BLOCK_THREADS>>>((E *)dy, dout, n, p, seed);
    LAUNCH_CHECK();
}

extern "C" void residual_dropout_forward_cuda(float *out, const float *x, const operand *y,
                                              size_t n, float p, uint64_t seed) {
    FOR_OPERANDS(residual_forward, out, x, y, n, p, seed);
}

extern "C" void residual_dropout_backward_cuda(operand *dy, const float *dout, size_t n, float p,
                                               uint64_t seed) {
    FOR_OPERANDS(residual_backward, dy, dout, n, p, seed);
}
