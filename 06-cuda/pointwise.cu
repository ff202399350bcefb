/*
 * pointwise.cu - the elementwise layer: GELU (mirrors 05's gelu_forward/
 * backward, with CUDA's erff and expf, accurate to a few ulp; 05 has its
 * own vectorised approximations). (The other elementwise
 * layers, the residual adds and their dropout, are fused into the
 * layernorms that read their output: layernorm.cu.)
 *
 * These kernels do a few operations per element of large arrays, so each
 * thread moves 8 consecutive elements as two wide accesses per array
 * (load4/store4), both loads issued before the first use: fewer memory
 * instructions, and more bytes in flight per thread (a GPU hides a load's
 * latency only with many of them). At 4 elements a thread both kernels
 * took about 15% longer on an H200. They still run under the memory's
 * bandwidth: Nsight Compute saw the bf16 forward move 2.4 of the H200's
 * 4.8 TB/s with the SM 70% busy, erff's arithmetic costing about as much
 * as the bytes (README.md, "What limits it"). A tail of n % 8 elements goes
 * one by one. Arrays must start 4-element aligned (as cudaMalloc'd buffers
 * do).
 */
#include "cuda_internal.cuh"
#include "cuda_layers.h"

#define INV_SQRT2 0.70710678118654752f
#define INV_SQRT_2PI 0.39894228040143268f

/* Thread i's 8 elements start at 8i; the launch covers ceil(n / 8). */
#define PER_THREAD 8
static unsigned pointwise_blocks(size_t n) {
    return blocks_for((n + PER_THREAD - 1) / PER_THREAD, BLOCK_THREADS);
}

__device__ inline size_t first_element(void) {
    return PER_THREAD * ((size_t)blockIdx.x * blockDim.x + threadIdx.x);
}

__device__ inline float gelu(float x) { return 0.5f * x * (1.0f + erff(x * INV_SQRT2)); }

/* d/dx [x Phi(x)] = Phi(x) + x pdf(x) */
__device__ inline float gelu_grad(float x) {
    float cdf = 0.5f * (1.0f + erff(x * INV_SQRT2));
    return cdf + x * INV_SQRT_2PI * expf(-0.5f * x * x);
}

__device__ inline float4 gelu4(float4 x) {
    return make_float4(gelu(x.x), gelu(x.y), gelu(x.z), gelu(x.w));
}

__device__ inline float4 gelu_backward4(float4 x, float4 d) {
    return make_float4(gelu_grad(x.x) * d.x, gelu_grad(x.y) * d.y, gelu_grad(x.z) * d.z,
                       gelu_grad(x.w) * d.w);
}

template <typename E> __global__ void gelu_forward_kernel(E *out, const E *inp, size_t n) {
    size_t i = first_element();
    if (i + PER_THREAD <= n) {
        float4 x0 = load4(inp + i), x1 = load4(inp + i + 4);
        store4(out + i, gelu4(x0));
        store4(out + i + 4, gelu4(x1));
    } else {
        for (; i < n; i++)
            store(out + i, gelu(load(inp + i)));
    }
}

template <typename E>
__global__ void gelu_backward_kernel(E *dinp, const E *inp, const E *dout, size_t n) {
    size_t i = first_element();
    if (i + PER_THREAD <= n) {
        float4 x0 = load4(inp + i), x1 = load4(inp + i + 4);
        float4 d0 = load4(dout + i), d1 = load4(dout + i + 4);
        store4(dinp + i, gelu_backward4(x0, d0));
        store4(dinp + i + 4, gelu_backward4(x1, d1));
    } else {
        for (; i < n; i++)
            store(dinp + i, gelu_grad(load(inp + i)) * load(dout + i));
    }
}

template <typename E> static void gelu_forward(operand *out, const operand *inp, size_t n) {
    REQUIRE(aligned_to(4 * sizeof(E), out, inp));
    gelu_forward_kernel<<<pointwise_blocks(n), BLOCK_THREADS>>>((E *)out, (const E *)inp, n);
    LAUNCH_CHECK();
}

template <typename E>
static void gelu_backward(operand *dinp, const operand *inp, const operand *dout, size_t n) {
    REQUIRE(aligned_to(4 * sizeof(E), dinp, inp, dout));
    gelu_backward_kernel<<<pointwise_blocks(n), BLOCK_THREADS>>>((E *)dinp, (const E *)inp,
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
