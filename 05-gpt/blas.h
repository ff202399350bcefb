/*
 * blas.h - getting fast matrix multiplies out of OpenBLAS on any x86 CPU.
 *
 * OpenBLAS picks its kernels for the CPU it detects when the library loads.
 * Debian's 0.3.21 does not recognise some recent Intel CPUs and falls back
 * to slow generic kernels (~29 GFLOP/s instead of ~150). The fix is the
 * environment variable OPENBLAS_CORETYPE=SkylakeX (the AVX-512 kernels),
 * but it is read when the library loads, before main() runs, and it must
 * only be set when the CPU really has AVX-512 (or every matmul is an
 * illegal instruction). So blas_setup() checks CPUID, and when AVX-512 is
 * there but OpenBLAS chose something older, sets the variable and re-runs
 * the program (execv of /proc/self/exe) once.
 *
 * Built with BLAS=0 there is no OpenBLAS; these functions then do nothing
 * and the project's own loops run instead.
 */
#ifndef GPT_BLAS_H
#define GPT_BLAS_H

/* Call first in main(), with main's argv. May not return (re-exec). */
void blas_setup(char **argv);

/* Sets the number of threads for OpenMP and OpenBLAS (0: leave the
 * default: OMP_NUM_THREADS, else all cores). */
void set_threads(int n);

/* The number of threads parallel regions will use. */
int thread_count(void);

/* "OpenBLAS 0.3.21 core Zen" / "none (BLAS=0)", for the start-up banner. */
const char *blas_description(void);

#endif
