/* blas.c - OpenBLAS kernel selection and threads; see blas.h. */
#include "blas.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#ifdef USE_BLAS
#include <cblas.h>

/* Environment variable that marks the re-executed process, so a CPU that
 * still disappoints after the switch cannot make us loop. */
#define REEXEC_MARK "GPT_BLAS_REEXEC"
#define AVX512_CORE "SkylakeX"

/* Cores whose names mean OpenBLAS already uses AVX-512 kernels. */
static int core_has_avx512_kernels(const char *core) {
    static const char *const fast[] = {"SkylakeX", "CooperLake", "SapphireRapids"};
    for (size_t i = 0; i < sizeof fast / sizeof fast[0]; i++)
        if (strcasecmp(core, fast[i]) == 0)
            return 1;
    return 0;
}

void blas_setup(char **argv) {
    __builtin_cpu_init();
    int avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                 __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    const char *core = openblas_get_corename();
    if (!avx512 || core_has_avx512_kernels(core) || getenv("OPENBLAS_CORETYPE") ||
        getenv(REEXEC_MARK))
        return;
    setenv("OPENBLAS_CORETYPE", AVX512_CORE, 1);
    setenv(REEXEC_MARK, "1", 1);
    fflush(stdout);
    execv("/proc/self/exe", argv);
    /* execv only returns on failure: carry on with the kernels we have */
    unsetenv("OPENBLAS_CORETYPE");
}

const char *blas_description(void) {
    static char buf[160];
    snprintf(buf, sizeof buf, "%s, core %s", openblas_get_config(), openblas_get_corename());
    return buf;
}

#else

void blas_setup(char **argv) { (void)argv; }
const char *blas_description(void) { return "none (built with BLAS=0: the project's own loops)"; }

#endif

void set_threads(int n) {
    if (n <= 0)
        return;
    omp_set_num_threads(n);
#ifdef USE_BLAS
    openblas_set_num_threads(n);
#endif
}

int thread_count(void) { return omp_get_max_threads(); }
