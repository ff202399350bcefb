/*
 * main.c - chapter 06's program: the GPT on an NVIDIA GPU.
 *
 *   06-cuda/gpt-cuda train|sample|eval [options] [--precision fp32|tf32|bf16]
 *
 * The same commands, presets, logs and checkpoints as 05-gpt/gpt (the
 * front end is 05's run.c); only the backend differs. A checkpoint trained
 * here samples on the CPU with `05-gpt/gpt sample --ckpt ...`.
 */
#include "gpt_cuda.h"

int main(int argc, char **argv) { return gpt_main(argc, argv, &CUDA_BACKEND); }
