/*
 * matmul.cu - the linear layer on cuBLAS (mirrors chapter 02's
 * linear_forward/backward), and the two ways this chapter calls cuBLAS:
 * gemm() on floats (fp32 or tf32) and gemm_operands() on the operands of
 * --precision (bf16 through cublasGemmEx). The fused attention alone does
 * its products itself, on the tensor cores (attention_fused.cu).
 *
 * cuBLAS speaks column-major (Fortran) order; our arrays are row-major. A
 * row-major R x K matrix is the same bytes as a column-major K x R matrix,
 * its transpose. So a row-major product C = A B is computed as the
 * column-major product C^T = B^T A^T, which only swaps the operands: no data
 * is moved. Each call below states the row-major product it computes.
 */
#include "cuda_internal.cuh"
#include "cuda_layers.h"

/* ---------------------------------------------------------------- operands */

/* bf16 mode keeps the activations around the linear layers in bfloat16 (8
 * bits of mantissa instead of 23): the kernel before each product writes
 * its output in bf16, the product accumulates in fp32 and writes bf16 for
 * the kernel after it (half the bytes to write and to read back), and the
 * tensor cores multiply bf16 at twice tf32's rate. What must stay exact
 * stays fp32: the residual stream and its gradient, the logits, every sum
 * (softmax, layernorm statistics, gradients of weights). The weights
 * themselves stay fp32 ("master weights", so small AdamW updates are not
 * rounded away); the update writes their bf16 copy. This is what PyTorch's
 * autocast does. */

template <typename E> __global__ void convert_kernel(E *out, const float *in, size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        store(out + i, in[i]);
}

template <typename E> __global__ void to_floats_kernel(float *out, const E *in, size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        out[i] = load(in + i);
}

template <typename E> static void convert(operand *dst, const float *src, size_t n) {
    convert_kernel<<<blocks_for(n, BLOCK_THREADS), BLOCK_THREADS>>>((E *)dst, src, n);
    LAUNCH_CHECK();
}

template <typename E> static void to_floats(float *dst, const operand *src, size_t n) {
    to_floats_kernel<<<blocks_for(n, BLOCK_THREADS), BLOCK_THREADS>>>(dst, (const E *)src, n);
    LAUNCH_CHECK();
}

extern "C" void operand_from_floats(operand *dst, const float *src, size_t n) {
    FOR_OPERANDS(convert, dst, src, n);
}

extern "C" void floats_from_operand(float *dst, const operand *src, size_t n) {
    FOR_OPERANDS(to_floats, dst, src, n);
}

/* ---------------------------------------------------------------- gemm */

/* Float operands: fp32, or tf32 by the handle's math mode (cuda_util.cu). */
void gemm(cublasOperation_t op_a, cublasOperation_t op_b, int m, int n, int k, float alpha,
          const float *a, int lda, long long stride_a, const float *b, int ldb,
          long long stride_b, float beta, float *c, int ldc, long long stride_c, int batch) {
    CUBLAS_CHECK(cublasSgemmStridedBatched(cublas(), op_a, op_b, m, n, k, &alpha, a, lda,
                                           stride_a, b, ldb, stride_b, &beta, c, ldc, stride_c,
                                           batch));
}

/* Operands in, and out an operand (c_operand) or floats; otherwise as
 * gemm(). bf16 mode: bf16 in, fp32 accumulation, bf16 or fp32 out. */
static void gemm_operands(cublasOperation_t op_a, cublasOperation_t op_b, int m, int n, int k,
                          const operand *a, int lda, const operand *b, int ldb, float beta,
                          void *c, bool c_operand, int ldc) {
    if (!bf16_operands()) {
        gemm(op_a, op_b, m, n, k, 1.0f, (const float *)a, lda, 0, (const float *)b, ldb, 0, beta,
             (float *)c, ldc, 0, 1);
        return;
    }
    const float alpha = 1.0f;
    CUBLAS_CHECK(cublasGemmEx(cublas(), op_a, op_b, m, n, k, &alpha, a, CUDA_R_16BF, lda, b,
                              CUDA_R_16BF, ldb, &beta, c, c_operand ? CUDA_R_16BF : CUDA_R_32F,
                              ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

/* ---------------------------------------------------------------- linear */

/* row-major out (N,OC) = inp (N,C) @ w^T: column-major out^T = w inp^T */
extern "C" void linear_forward_cuda(operand *out, const operand *inp, const operand *w, int N,
                                    int C, int OC) {
    gemm_operands(CUBLAS_OP_T, CUBLAS_OP_N, OC, N, C, w, C, inp, C, 0.0f, out, true, OC);
}

extern "C" void linear_forward_float_cuda(float *out, const operand *inp, const operand *w,
                                          int N, int C, int OC) {
    gemm_operands(CUBLAS_OP_T, CUBLAS_OP_N, OC, N, C, w, C, inp, C, 0.0f, out, false, OC);
}

extern "C" void linear_backward_cuda(operand *dinp, float *dw, const operand *dout,
                                     const operand *inp, const operand *w, int N, int C, int OC) {
    /* forward: out = inp @ w^T
     * dinp (N,C) = dout (N,OC) @ w (OC,C): column-major dinp^T = w^T dout^T */
    if (dinp)
        gemm_operands(CUBLAS_OP_N, CUBLAS_OP_N, C, N, OC, w, C, dout, OC, 0.0f, dinp, true, C);
    /* dw (OC,C) += dout^T (OC,N) @ inp (N,C): column-major dw^T += inp^T dout */
    gemm_operands(CUBLAS_OP_N, CUBLAS_OP_T, C, OC, N, inp, C, dout, OC, 1.0f, dw, false, C);
}
