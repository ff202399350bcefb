/*
 * matmul.cu - the linear layer on cuBLAS (mirrors chapter 02's
 * linear_forward/backward), and the one gemm() every matrix product of this
 * chapter goes through.
 *
 * cuBLAS speaks column-major (Fortran) order; our arrays are row-major. A
 * row-major R x K matrix is the same bytes as a column-major K x R matrix,
 * its transpose. So a row-major product C = A B is computed as the
 * column-major product C^T = B^T A^T, which only swaps the operands: no data
 * is moved. Each call below states the row-major product it computes.
 */
#include <cuda_bf16.h>

#include "cuda_internal.cuh"
#include "cuda_layers.h"

/* ---------------------------------------------------------------- bf16 */

/* bf16 mode converts both operands of every product to bfloat16 (8 bits of
 * mantissa instead of 23) into these device buffers, grown on first need,
 * and multiplies on the tensor cores with fp32 accumulation and an fp32
 * result. The weights themselves stay fp32 ("master weights"), so small
 * AdamW updates are not rounded away. */
typedef struct {
    __nv_bfloat16 *data;
    size_t cap;
} bf16_buffer;

static bf16_buffer operand_a, operand_b;

__global__ void to_bf16_kernel(__nv_bfloat16 *out, const float *in, size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        out[i] = __float2bfloat16(in[i]);
}

static const __nv_bfloat16 *to_bf16(bf16_buffer *buf, const float *x, size_t n) {
    if (n > buf->cap) {
        if (buf->data)
            CUDA_CHECK(cudaFree(buf->data));
        CUDA_CHECK(cudaMalloc(&buf->data, n * sizeof *buf->data));
        buf->cap = n;
    }
    to_bf16_kernel<<<blocks_for(n, BLOCK_THREADS), BLOCK_THREADS>>>(buf->data, x, n);
    LAUNCH_CHECK();
    return buf->data;
}

/* Floats spanned by `batch` column-major matrices with `cols` columns. */
static size_t extent(int ld, int cols, long long stride, int batch) {
    return (size_t)(batch - 1) * (size_t)stride + (size_t)ld * (size_t)cols;
}

void gemm(cublasOperation_t op_a, cublasOperation_t op_b, int m, int n, int k, float alpha,
          const float *a, int lda, long long stride_a, const float *b, int ldb,
          long long stride_b, float beta, float *c, int ldc, long long stride_c, int batch) {
    if (cuda_get_precision() != PRECISION_BF16) {
        CUBLAS_CHECK(cublasSgemmStridedBatched(cublas(), op_a, op_b, m, n, k, &alpha, a, lda,
                                               stride_a, b, ldb, stride_b, &beta, c, ldc,
                                               stride_c, batch));
        return;
    }
    int a_cols = op_a == CUBLAS_OP_N ? k : m, b_cols = op_b == CUBLAS_OP_N ? n : k;
    const __nv_bfloat16 *a16 = to_bf16(&operand_a, a, extent(lda, a_cols, stride_a, batch));
    const __nv_bfloat16 *b16 = to_bf16(&operand_b, b, extent(ldb, b_cols, stride_b, batch));
    CUBLAS_CHECK(cublasGemmStridedBatchedEx(
        cublas(), op_a, op_b, m, n, k, &alpha, a16, CUDA_R_16BF, lda, stride_a, b16, CUDA_R_16BF,
        ldb, stride_b, &beta, c, CUDA_R_32F, ldc, stride_c, batch, CUBLAS_COMPUTE_32F,
        CUBLAS_GEMM_DEFAULT));
}

/* ---------------------------------------------------------------- linear */

extern "C" void linear_forward_cuda(float *out, const float *inp, const float *w, int N, int C,
                                    int OC) {
    /* row-major out (N,OC) = inp (N,C) @ w^T: column-major out^T = w inp^T */
    gemm(CUBLAS_OP_T, CUBLAS_OP_N, OC, N, C, 1.0f, w, C, 0, inp, C, 0, 0.0f, out, OC, 0, 1);
}

extern "C" void linear_backward_cuda(float *dinp, float *dw, const float *dout, const float *inp,
                                     const float *w, int N, int C, int OC) {
    /* forward: out = inp @ w^T
     * dinp (N,C) = dout (N,OC) @ w (OC,C): column-major dinp^T = w^T dout^T */
    if (dinp)
        gemm(CUBLAS_OP_N, CUBLAS_OP_N, C, N, OC, 1.0f, w, C, 0, dout, OC, 0, 0.0f, dinp, C, 0, 1);
    /* dw (OC,C) += dout^T (OC,N) @ inp (N,C): column-major dw^T += inp^T dout */
    gemm(CUBLAS_OP_N, CUBLAS_OP_T, C, OC, N, 1.0f, inp, C, 0, dout, OC, 0, 1.0f, dw, C, 0, 1);
}
