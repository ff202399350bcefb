/*
 * pointwise.cu - the elementwise layers: GELU (mirrors 05's gelu_forward/
 * backward, with CUDA's own fast erff and expf) and the residual add with
 * dropout on the branch (04's residual_forward + dropout_forward, fused so
 * that the branch's output is read once and never written back).
 */
#include "cuda_internal.cuh"
#include "cuda_layers.h"

#define INV_SQRT2 0.70710678118654752f
#define INV_SQRT_2PI 0.39894228040143268f

template <typename T> __global__ void gelu_forward_kernel(T *out, const float *inp, size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        float x = inp[i];
        store(out + i, 0.5f * x * (1.0f + erff(x * INV_SQRT2)));
    }
}

template <typename T>
__global__ void gelu_backward_kernel(T *dinp, const float *inp, const float *dout, size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        /* d/dx [x Phi(x)] = Phi(x) + x pdf(x) */
        float x = inp[i];
        float cdf = 0.5f * (1.0f + erff(x * INV_SQRT2));
        float pdf = INV_SQRT_2PI * expf(-0.5f * x * x);
        store(dinp + i, (cdf + x * pdf) * dout[i]);
    }
}

extern "C" void gelu_forward_cuda(operand *out, const float *inp, size_t n) {
    LAUNCH_FOR_OPERANDS(gelu_forward_kernel, blocks_for(n, BLOCK_THREADS), BLOCK_THREADS, 0, out,
                        inp, n);
}

extern "C" void gelu_backward_cuda(operand *dinp, const float *inp, const float *dout, size_t n) {
    LAUNCH_FOR_OPERANDS(gelu_backward_kernel, blocks_for(n, BLOCK_THREADS), BLOCK_THREADS, 0, dinp,
                        inp, dout, n);
}

__global__ void residual_dropout_forward_kernel(float *out, const float *x, const float *y,
                                                size_t n, float p, uint64_t seed) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        out[i] = x[i] + (p > 0.0f ? y[i] * dropout_scale(seed, i, p) : y[i]);
}

template <typename T>
__global__ void residual_dropout_backward_kernel(T *dy, const float *dout, size_t n, float p,
                                                 uint64_t seed) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        store(dy + i, p > 0.0f ? dout[i] * dropout_scale(seed, i, p) : dout[i]);
}

extern "C" void residual_dropout_forward_cuda(float *out, const float *x, const float *y, size_t n,
                                              float p, uint64_t seed) {
    residual_dropout_forward_kernel<<<blocks_for(n, BLOCK_THREADS), BLOCK_THREADS>>>(out, x, y, n,
                                                                                     p, seed);
    LAUNCH_CHECK();
}

extern "C" void residual_dropout_backward_cuda(operand *dy, const float *dout, size_t n, float p,
                                               uint64_t seed) {
    LAUNCH_FOR_OPERANDS(residual_dropout_backward_kernel, blocks_for(n, BLOCK_THREADS),
                        BLOCK_THREADS, 0, dy, dout, n, p, seed);
}
