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

/* For tests: the device gradients (table->total floats) of the model
 * behind a CUDA_BACKEND handle. */
typedef struct gpt_cuda gpt_cuda;
float *gpt_cuda_grads(gpt_cuda *m);

#endif
