/*
 * crossentropy.cu - softmax and cross-entropy on the GPU (mirrors chapter
 * 01's crossentropy_forward/backward). One warp per row of V logits.
 */
#include "cuda_internal.cuh"
#include "cuda_layers.h"

#define ROWS_PER_BLOCK 8

__global__ void crossentropy_forward_kernel(float *probs, float *losses, const float *logits,
                                            const int *targets, int N, int V) {
    int row = blockIdx.x * ROWS_PER_BLOCK + threadIdx.x / WARP, lane = threadIdx.x % WARP;
    if (row >= N)
        return;
    const float *z = logits + (size_t)row * V;
    float *p = probs + (size_t)row * V;
    float max = -INFINITY;
    for (int v = lane; v < V; v += WARP)
        max = fmaxf(max, z[v]);
    max = warp_max(max);
    float sum = 0.0f;
    for (int v = lane; v < V; v += WARP)
        sum += expf(z[v] - max);
    sum = warp_sum(sum);
    for (int v = lane; v < V; v += WARP)
        p[v] = expf(z[v] - max) / sum;
    if (lane == 0) /* -log p_target = log(sum) - (z_target - max), without rounding p first */
        losses[row] = logf(sum) - (z[targets[row]] - max);
}

extern "C" void crossentropy_forward_cuda(float *probs, float *losses, const float *logits,
                                          const int *targets, int N, int V) {
    crossentropy_forward_kernel<<<blocks_for((size_t)N, ROWS_PER_BLOCK), ROWS_PER_BLOCK * WARP>>>(
        probs, losses, logits, targets, N, V);
    LAUNCH_CHECK();
}

template <typename E>
__global__ void crossentropy_backward_kernel(E *dlogits, const float *probs, const int *targets,
                                             int N, int V) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (size_t)N * V)
        return;
    int row = (int)(i / V), v = (int)(i % V);
    store(dlogits + i, (probs[i] - (v == targets[row] ? 1.0f : 0.0f)) / (float)N);
}

template <typename E>
static void backward(operand *dlogits, const float *probs, const int *targets, int N, int V) {
    size_t n = (size_t)N * V;
    crossentropy_backward_kernel<<<blocks_for(n, BLOCK_THREADS), BLOCK_THREADS>>>(
        (E *)dlogits, probs, targets, N, V);
    LAUNCH_CHECK();
}

extern "C" void crossentropy_backward_cuda(operand *dlogits, const float *probs,
                                           const int *targets, int N, int V) {
    FOR_OPERANDS(backward, dlogits, probs, targets, N, V);
}

/* One block sums x in a fixed order: each thread a strided slice, then
 * block_sum's tree. The same order every time: deterministic. */
__global__ void sum_kernel(float *out, const float *x, int n) {
    float s = 0.0f;
    for (int i = threadIdx.x; i < n; i += BLOCK_SUM_THREADS)
        s += x[i];
    s = block_sum(s);
    if (threadIdx.x == 0)
        *out = s;
}

extern "C" float mean_cuda(const float *x, int n, float *scratch) {
    sum_kernel<<<1, BLOCK_SUM_THREADS>>>(scratch, x, n);
    LAUNCH_CHECK();
    float sum;
    CUDA_CHECK(cudaMemcpy(&sum, scratch, sizeof sum, cudaMemcpyDeviceToHost));
    return sum / (float)n;
}
