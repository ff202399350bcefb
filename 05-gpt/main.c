/*
 * main.c - chapter 05's program: the GPT on the CPU.
 *
 *   05-gpt/gpt train|sample|eval [options]     (see run.c, or --help)
 *
 * The commands themselves live in run.c, shared with chapter 06's GPU
 * program; this file says only that the model computes on the CPU, with
 * the fast kernels (BLAS matmuls, threaded attention, vectorised GELU).
 */
#include <stdio.h>

#include "backend.h"
#include "blas.h"
#include "gpt.h"

static void *cpu_create(const gpt_config *c, int max_B, const rng *init_rng,
                        const rng *dropout_rng, gpt **host, error *e) {
    *host = gpt_create(c, max_B, init_rng, dropout_rng, &GPT_FAST, e);
    return *host;
}

static void cpu_destroy(void *model) { gpt_free(model); }
static language_model cpu_language_model(void *model) { return gpt_language_model(model); }

/* The host model is the computing model: nothing to copy. */
static void cpu_download(void *model, train_state *st) { (void)model, (void)st; }
static void cpu_upload(void *model, const train_state *st) { (void)model, (void)st; }

static const char *cpu_describe(void) {
    static char line[256];
    snprintf(line, sizeof line, "CPU, BLAS %s, %d threads", blas_description(), thread_count());
    return line;
}

static const gpt_backend CPU_BACKEND = {
    .name = "cpu",
    .program = "gpt",
    .runs = "runs/05-gpt",
    .extra_options = 0,
    .configure = NULL,
    .create = cpu_create,
    .destroy = cpu_destroy,
    .language_model = cpu_language_model,
    .download = cpu_download,
    .upload = cpu_upload,
    .describe = cpu_describe,
};

int main(int argc, char **argv) {
    blas_setup(argv);
    return gpt_main(argc, argv, &CPU_BACKEND);
}
