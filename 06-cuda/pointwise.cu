/*
 * pointwise.cu - the elementwise layer: GELU (mirrors 05's gelu_forward/
 * backward, with CUDA's own fast erff and expf). (The other elementwise
 * layers, the residual adds and their dropout, are fused into the
 * layernorms that read their output: layernorm.cu.)
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
    REQUIRE(aligned_to(4 * sizeof(E), out, inp));
    gelu_forward_kernel<<<quad_blocks(n), BLOCK_THREADS>>>((E *)out, (const E *)inp, n);
    LAUNCH_CHECK();
}

template <typename E>
static void gelu_backward(operand *dinp, const operand *inp, const operand *dout, size_t n) {
    REQUIRE(aligned_to(4 * sizeof(E), dinp, inp, dout));
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
