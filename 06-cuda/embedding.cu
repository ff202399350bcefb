/*
 * embedding.cu - token + position embeddings on the GPU (mirrors 01's
 * token_embedding_* and 02's position_embedding_*, with 05's embedding
 * dropout folded in).
 *
 * Forward: one thread per output element; neighbouring threads read
 * neighbouring floats of the same wte and wpe rows, so the reads coalesce.
 * Backward: the token embedding's gradient is a scatter-add (every position
 * adds its gradient to the row of its token), which on a GPU would need
 * atomic adds on the same few rows from thousands of threads, in no fixed
 * order. Written as a matrix product instead, dwte += onehot(idx)^T @ demb,
 * it is deterministic, and in tf32 or bf16 runs on the tensor cores.
 */
#include "cuda_internal.cuh"
#include "cuda_layers.h"

__global__ void embedding_forward_kernel(float *out, const int *idx, const float *wte,
                                         const float *wpe, int T, int C, size_t n, float p,
                                         uint64_t seed) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n)
        return;
    size_t row = i / C; /* b*T + t */
    int c = (int)(i % C), t = (int)(row % T);
    float x = wte[(size_t)idx[row] * C + c] + wpe[(size_t)t * C + c];
    out[i] = x * dropout_scale(seed, i, p);
}

extern "C" void embedding_forward_cuda(float *out, const int *idx, const float *wte,
                                       const float *wpe, int B, int T, int C, float p,
                                       uint64_t seed) {
    size_t n = (size_t)B * T * C;
    embedding_forward_kernel<<<blocks_for(n, BLOCK_THREADS), BLOCK_THREADS>>>(out, idx, wte, wpe,
                                                                              T, C, n, p, seed);
    LAUNCH_CHECK();
}

/* onehot (N,V): 1 where v == idx[n]. */
__global__ void onehot_kernel(float *onehot, const int *idx, int N, int V) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < (size_t)N * V)
        onehot[i] = (int)(i % V) == idx[i / V] ? 1.0f : 0.0f;
}

/* x (n) *= the dropout mask of the forward pass. */
__global__ void dropout_mask_kernel(float *x, size_t n, float p, uint64_t seed) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        x[i] *= dropout_scale(seed, i, p);
}

/* dwpe[t][c] += sum over b of demb[b][t][c]: one thread per (t, c), the
 * batch summed in a fixed order. */
__global__ void position_backward_kernel(float *dwpe, const float *demb, int B, int T, int C) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= T * C)
        return;
    float sum = 0.0f;
    for (int b = 0; b < B; b++)
        sum += demb[(size_t)b * T * C + i];
    dwpe[i] += sum;
}

extern "C" void embedding_backward_cuda(float *dwte, float *dwpe, float *onehot, float *dout,
                                        const int *idx, int B, int T, int C, int V, float p,
                                        uint64_t seed) {
    int N = B * T;
    size_t n = (size_t)N * C;
    /* through the dropout: dout becomes d(wte[idx] + wpe[t]), in place */
    if (p > 0.0f) {
        dropout_mask_kernel<<<blocks_for(n, BLOCK_THREADS), BLOCK_THREADS>>>(dout, n, p, seed);
        LAUNCH_CHECK();
    }
    onehot_kernel<<<blocks_for((size_t)N * V, BLOCK_THREADS), BLOCK_THREADS>>>(onehot, idx, N, V);
    LAUNCH_CHECK();
    /* row-major dwte (V,C) += onehot^T (V,N) @ dout (N,C): column-major
     * dwte^T += dout^T onehot (the dw pattern of matmul.cu) */
    gemm(CUBLAS_OP_N, CUBLAS_OP_T, C, V, N, 1.0f, dout, C, 0, onehot, V, 0, 1.0f, dwte, C, 0, 1);
    position_backward_kernel<<<blocks_for((size_t)T * C, BLOCK_THREADS), BLOCK_THREADS>>>(
        dwpe, dout, B, T, C);
    LAUNCH_CHECK();
}
