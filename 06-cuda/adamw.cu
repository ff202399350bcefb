/*
 * adamw.cu - the optimizer on the GPU (mirrors common/adamw.c's
 * adamw_update, grad_norm and grad_clip). The gradient norm is reduced on
 * the device and the clipping factor applied inside the update kernel, so
 * a training step never waits for the host to decide whether to clip.
 * One launch updates every tensor: a table of slices tells each block
 * where its part starts and whether weight decay applies to it.
 */
#include "cuda_internal.cuh"
#include "cuda_layers.h"

#define NORM_BLOCKS GRAD_SUMSQ_PARTIALS
#define CLIP_EPS 1e-6f /* as torch's clip_grad_norm_ and common/adamw.c */

/* Stage 1: block b sums the squares of its grid-strided slice. */
__global__ void sumsq_partial_kernel(float *partial, const float *g, size_t n) {
    float s = 0.0f;
    for (size_t i = (size_t)blockIdx.x * BLOCK_SUM_THREADS + threadIdx.x; i < n;
         i += (size_t)NORM_BLOCKS * BLOCK_SUM_THREADS)
        s += g[i] * g[i];
    s = block_sum(s);
    if (threadIdx.x == 0)
        partial[blockIdx.x] = s;
}

/* Stage 2: one block adds the partial sums. */
__global__ void sumsq_final_kernel(float *out, const float *partial) {
    float s = 0.0f;
    for (int i = threadIdx.x; i < NORM_BLOCKS; i += BLOCK_SUM_THREADS)
        s += partial[i];
    s = block_sum(s);
    if (threadIdx.x == 0)
        *out = s;
}

extern "C" void grad_sumsq_cuda(float *out, float *partial, const float *g, size_t n) {
    sumsq_partial_kernel<<<NORM_BLOCKS, BLOCK_SUM_THREADS>>>(partial, g, n);
    LAUNCH_CHECK();
    sumsq_final_kernel<<<1, BLOCK_SUM_THREADS>>>(out, partial);
    LAUNCH_CHECK();
}

/* Block b updates slice b: the scalars are the same for all, only the
 * weight decay (the shrink factor) depends on the slice. */
__global__ void adamw_kernel(float *params, const float *grads, float *m, float *v,
                             const adamw_slice *slices, float beta1, float beta2, float eps,
                             float step_size, float bias2_sqrt, float shrink, bool decay_all,
                             const float *sumsq, float max_norm, bf16 *copy) {
    adamw_slice slice = slices[blockIdx.x];
    float decay_shrink = slice.matrix || decay_all ? shrink : 1.0f;
    float scale = 1.0f;
    if (sumsq) {
        float clip = max_norm / (sqrtf(*sumsq) + CLIP_EPS);
        scale = clip < 1.0f ? clip : 1.0f;
    }
    for (size_t i = slice.offset + threadIdx.x; i < slice.offset + slice.size; i += blockDim.x) {
        float g = grads[i] * scale;
        float p = params[i] * decay_shrink;
        float mi = beta1 * m[i] + (1.0f - beta1) * g;
        float vi = beta2 * v[i] + (1.0f - beta2) * g * g;
        m[i] = mi;
        v[i] = vi;
        p -= step_size * mi / (sqrtf(vi) / bias2_sqrt + eps);
        params[i] = p;
        if (copy) /* the bf16 mode's operand copy, made here rather than by another pass */
            copy[i] = __float2bfloat16(p);
    }
}

extern "C" int adamw_slices(adamw_slice *out, size_t offset, size_t size, bool matrix) {
    int n = 0;
    for (size_t start = 0; start < size; start += ADAMW_SLICE, n++)
        if (out) {
            size_t left = size - start;
            out[n].offset = offset + start;
            out[n].size = (int)(left < ADAMW_SLICE ? left : ADAMW_SLICE);
            out[n].matrix = matrix;
        }
    return n;
}

extern "C" void adamw_update_cuda(float *params, const float *grads, float *m, float *v,
                                  const adamw_slice *slices, int n_slices, float beta1,
                                  float beta2, float eps, float lr, float weight_decay,
                                  bool decay_all, long step, const float *sumsq, float max_norm,
                                  operand *bf16_copy) {
    /* the scalars as common/adamw.c computes them, in float */
    float bias1 = 1.0f - powf(beta1, (float)step);
    float bias2_sqrt = sqrtf(1.0f - powf(beta2, (float)step));
    adamw_kernel<<<n_slices, BLOCK_THREADS>>>(params, grads, m, v, slices, beta1, beta2, eps,
                                              lr / bias1, bias2_sqrt, 1.0f - lr * weight_decay,
                                              decay_all, sumsq, max_norm, (bf16 *)bf16_copy);
    LAUNCH_CHECK();
}
