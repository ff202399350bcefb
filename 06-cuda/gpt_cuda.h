/*
 * gpt_cuda.h - chapter 05's GPT with its parameters, gradients, AdamW
 * moments and activations in GPU memory, every layer a CUDA kernel or a
 * cuBLAS product (cuda_layers.h), and the whole training step on the
 * device. It plugs into chapter 05's program through gpt_backend, so
 * `gpt-cuda train|sample|eval` are the same commands as `gpt ...`.
 */
#ifndef GPT_CUDA_H
#define GPT_CUDA_H

#include "../05-gpt/backend.h"

/* The GPU backend (precision from --precision, default tf32). */
extern const gpt_backend CUDA_BACKEND;

/* For tests: the model behind a CUDA_BACKEND handle, with its host gpt. */
typedef struct gpt_cuda gpt_cuda;
gpt *gpt_cuda_host(gpt_cuda *m);
/* Device parameters and gradients (table->total floats each). */
float *gpt_cuda_params(gpt_cuda *m);
float *gpt_cuda_grads(gpt_cuda *m);

#endif
