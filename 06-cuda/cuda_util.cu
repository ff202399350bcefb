/* cuda_util.cu - device memory, errors, the cuBLAS handle; see cuda_util.h. */
#include <string.h>

#include "cuda_internal.cuh"

void cuda_check(cudaError_t err, const char *what, const char *file, int line) {
    if (err == cudaSuccess)
        return;
    fprintf(stderr, "gpt-cuda: error: %s failed at %s:%d: %s\n", what, file, line,
            cudaGetErrorString(err));
    exit(EXIT_FAILURE);
}

void cublas_check(cublasStatus_t st, const char *what, const char *file, int line) {
    if (st == CUBLAS_STATUS_SUCCESS)
        return;
    fprintf(stderr, "gpt-cuda: error: %s failed at %s:%d: cuBLAS status %d\n", what, file, line,
            (int)st);
    exit(EXIT_FAILURE);
}

void cuda_require(bool ok, const char *what, const char *file, int line) {
    if (ok)
        return;
    fprintf(stderr, "gpt-cuda: error: a kernel's requirement '%s' does not hold at %s:%d\n", what,
            file, line);
    exit(EXIT_FAILURE);
}

static cublasHandle_t handle;
static precision current_precision = PRECISION_TF32;

static void apply_math_mode(void) {
    /* TF32 is a math mode of the handle: products of float operands use it
     * in tf32 and bf16 modes (in bf16 mode those are the few products whose
     * operands are not made as bf16: embedding gradient, unfused attention) */
    CUBLAS_CHECK(cublasSetMathMode(handle, current_precision == PRECISION_FP32
                                               ? CUBLAS_DEFAULT_MATH
                                               : CUBLAS_TF32_TENSOR_OP_MATH));
}

cublasHandle_t cublas(void) {
    if (!handle) {
        CUBLAS_CHECK(cublasCreate(&handle));
        apply_math_mode();
    }
    return handle;
}

extern "C" {

int precision_parse(const char *name, precision *p) {
    static const char *const names[] = {"fp32", "tf32", "bf16"};
    for (int i = 0; i < 3; i++)
        if (strcmp(name, names[i]) == 0) {
            *p = (precision)i;
            return 0;
        }
    return -1;
}

const char *precision_name(precision p) {
    return p == PRECISION_FP32 ? "fp32" : p == PRECISION_TF32 ? "tf32" : "bf16";
}

bool cuda_available(char *why, size_t cap) {
    int n = 0;
    cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess || n == 0) {
        if (why)
            snprintf(why, cap, "no CUDA device (%s)",
                     err != cudaSuccess ? cudaGetErrorString(err) : "none found");
        cudaGetLastError(); /* clear the sticky error */
        return false;
    }
    return true;
}

const char *cuda_device_description(void) {
    static char line[512];
    cudaDeviceProp prop;
    int dev = 0;
    CUDA_CHECK(cudaGetDevice(&dev));
    CUDA_CHECK(cudaGetDeviceProperties(&prop, dev));
    snprintf(line, sizeof line, "%s, %d SMs, compute %d.%d", prop.name, prop.multiProcessorCount,
             prop.major, prop.minor);
    return line;
}

void cuda_set_precision(precision p) {
    current_precision = p;
    if (handle)
        apply_math_mode();
}

precision cuda_get_precision(void) { return current_precision; }

float *dev_alloc(size_t n_floats) {
    float *p = NULL;
    CUDA_CHECK(cudaMalloc(&p, (n_floats ? n_floats : 1) * sizeof(float)));
    return p;
}

size_t operand_size(void) {
    return current_precision == PRECISION_BF16 ? sizeof(bf16) : sizeof(float);
}

operand *dev_alloc_operand(size_t n) {
    void *p = NULL;
    CUDA_CHECK(cudaMalloc(&p, (n ? n : 1) * operand_size()));
    return p;
}

operand *operand_at(operand *base, size_t i) { return (char *)base + i * operand_size(); }

int *dev_alloc_ints(size_t n) {
    int *p = NULL;
    CUDA_CHECK(cudaMalloc(&p, (n ? n : 1) * sizeof(int)));
    return p;
}

void dev_free(void *p) {
    if (p)
        CUDA_CHECK(cudaFree(p));
}

void dev_upload(float *dst, const float *src, size_t n) {
    CUDA_CHECK(cudaMemcpy(dst, src, n * sizeof(float), cudaMemcpyHostToDevice));
}

void dev_download(float *dst, const float *src, size_t n) {
    CUDA_CHECK(cudaMemcpy(dst, src, n * sizeof(float), cudaMemcpyDeviceToHost));
}

void dev_upload_ints(int *dst, const int *src, size_t n) {
    CUDA_CHECK(cudaMemcpy(dst, src, n * sizeof(int), cudaMemcpyHostToDevice));
}

void dev_zero(float *p, size_t n) { CUDA_CHECK(cudaMemset(p, 0, n * sizeof(float))); }

void *dev_upload_bytes(const void *src, size_t bytes) {
    void *p = NULL;
    CUDA_CHECK(cudaMalloc(&p, bytes ? bytes : 1));
    CUDA_CHECK(cudaMemcpy(p, src, bytes, cudaMemcpyHostToDevice));
    return p;
}

} /* extern "C" */
