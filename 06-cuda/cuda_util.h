/*
 * cuda_util.h - the plumbing every CUDA file of this chapter shares, with a
 * C interface so that plain C code (the program, the Check suite) can drive
 * the GPU without knowing CUDA.
 *
 * Device memory is addressed by ordinary float pointers that the CPU must
 * never dereference; the upload/download helpers move data across. Every
 * CUDA and cuBLAS call is checked: a failure prints one line naming the
 * call and the CUDA error, and exits (there is nothing sensible to continue
 * with after a device error).
 */
#ifndef CUDA_UTIL_H
#define CUDA_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* How the matrix multiplies run (the `--precision` option):
 *   fp32  plain float arithmetic: what tests compare against the CPU;
 *   tf32  tensor cores on float inputs rounded to 10 mantissa bits
 *         (the default: about 3x fp32's speed, ~1e-3 relative error);
 *   bf16  tensor cores on bfloat16 operands: what goes into and comes out
 *         of a matrix product is stored in bfloat16, the weights get a
 *         bfloat16 copy after each update, attention is the fused kernel
 *         (attention_fused.cu) when the head size is 64 (otherwise
 *         attention.cu's, on floats); fp32 accumulation, fp32
 *         master weights, residual stream and statistics (fastest, ~1e-2). */
typedef enum { PRECISION_FP32, PRECISION_TF32, PRECISION_BF16 } precision;

/* Parses "fp32" / "tf32" / "bf16"; returns -1 for anything else. */
int precision_parse(const char *name, precision *p);
const char *precision_name(precision p);

/* True when a CUDA device can be used; otherwise fills why (if not NULL)
 * with the reason, e.g. "no CUDA device" or the driver's message. */
bool cuda_available(char *why, size_t cap);

/* "NVIDIA H100 80GB HBM3, 132 SMs, compute 9.0" */
const char *cuda_device_description(void);

/* Sets the precision of every cuBLAS call from now on (creates the handle
 * on first use). */
void cuda_set_precision(precision p);
precision cuda_get_precision(void);

/* A matrix product's operand on the device: float in fp32 and tf32 modes,
 * bfloat16 in bf16 mode (decided by the precision when it is made and
 * used: keep one precision while a model exists). Activations that only
 * feed products (layernorm and GELU outputs, their gradients...) and the
 * weights' copy are operands. C code never reads one: it only passes the
 * pointer on, so the type is left open. */
typedef void operand;

size_t operand_size(void); /* bytes per element, now */
operand *dev_alloc_operand(size_t n);
/* Element i of an operand array. */
operand *operand_at(operand *base, size_t i);
/* dst (n operands) = src (n device floats), converted; and the way back. */
void operand_from_floats(operand *dst, const float *src, size_t n);
void floats_from_operand(float *dst, const operand *src, size_t n);

/* Device memory. */
float *dev_alloc(size_t n_floats);
int *dev_alloc_ints(size_t n);
void dev_free(void *p);
void dev_upload(float *dst, const float *src, size_t n);
void dev_download(float *dst, const float *src, size_t n);
void dev_upload_ints(int *dst, const int *src, size_t n);
void dev_zero(float *p, size_t n);
/* A device copy of `bytes` bytes of host memory (a table, say). */
void *dev_upload_bytes(const void *src, size_t bytes);

#ifdef __cplusplus
}
#endif

#endif
