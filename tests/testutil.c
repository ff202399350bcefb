/* testutil.c - see testutil.h. */
#include "testutil.h"

#include <check.h>
#include <omp.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


const char *test_tmpdir(void) {
    static char path[512];
    const char *base = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/gpt-test-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(path)) {
        perror("mkdtemp");
        abort();
    }
    return path;
}

const char *test_write_file(const char *dir, const char *name, const void *bytes, size_t len) {
    static char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(bytes, 1, len, f) != len || fclose(f) != 0) {
        perror(path);
        abort();
    }
    return path;
}

long test_scaled(long n) {
    const char *scale = getenv("TEST_SCALE");
    if (!scale || strcmp(scale, "full") == 0)
        return n;
    if (strcmp(scale, "small") != 0) {
        fprintf(stderr, "TEST_SCALE='%s': expected 'small' or 'full'\n", scale);
        abort();
    }
    return n / TEST_SMALL_DIVISOR > 0 ? n / TEST_SMALL_DIVISOR : 1;
}

void gradient_start(float *g, float *start, size_t n, rng *r) {
    fill_normal(start, n, 1.0f, r);
    memcpy(g, start, n * sizeof *g);
}

void gradient_added(float *g, const float *start, size_t n) {
    for (size_t i = 0; i < n; i++)
        g[i] -= start[i];
}

void spread_weights(const param_table *pt, float *params, rng *r) {
    for (int i = 0; i < pt->n_tensors; i++) {
        const tensor_info *t = &pt->tensors[i];
        for (size_t j = 0; j < t->size; j++)
            params[t->offset + j] =
                t->ndim == 1 ? 1.0f + 0.3f * rng_normal(r) : 0.4f * rng_normal(r);
    }
}

void fill_normal(float *x, size_t n, float scale, rng *r) {
    for (size_t i = 0; i < n; i++)
        x[i] = scale * rng_normal(r);
}

void random_tokens(int *x, size_t n, int V, rng *r) {
    for (size_t i = 0; i < n; i++)
        x[i] = (int)rng_below(r, (uint64_t)V);
}

static double central_difference(objective_fn f, void *ctx, float *x, size_t i, float eps) {
    float saved = x[i];
    x[i] = saved + eps;
    double plus = f(ctx);
    x[i] = saved - eps;
    double minus = f(ctx);
    x[i] = saved;
    /* divide by the step actually taken in float, not the nominal one */
    return (plus - minus) / ((double)(saved + eps) - (double)(saved - eps));
}

double grad_check_elements(objective_fn f, void *ctx, float *x, const float *g, size_t n,
                           size_t max_elems, float eps) {
    size_t stride = n > max_elems ? n / max_elems : 1;
    double worst = 0.0, largest = 0.0;
    for (size_t i = 0; i < n; i += stride) {
        double num = central_difference(f, ctx, x, i, eps);
        double diff = fabs(num - (double)g[i]);
        if (diff > worst)
            worst = diff;
        if (fabs(num) > largest)
            largest = fabs(num);
    }
    if (largest == 0.0) /* an all-zero gradient must match exactly-ish */
        return worst > 1e-6 ? 1.0 : 0.0;
    return worst / largest;
}

/* Numeric derivative of f along unit direction d (n), by central
 * differences with step eps. x is restored. */
static double directional_derivative(objective_fn f, void *ctx, float *x, const float *d,
                                     float *saved, size_t n, float eps) {
    memcpy(saved, x, n * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = saved[i] + eps * d[i];
    double plus = f(ctx);
    for (size_t i = 0; i < n; i++)
        x[i] = saved[i] - eps * d[i];
    double minus = f(ctx);
    memcpy(x, saved, n * sizeof *x);
    return (plus - minus) / (2.0 * eps);
}

double grad_check_elements_piecewise(objective_fn f, piece_fn piece, void *ctx, float *x,
                                     const float *g, size_t n, size_t max_elems, float eps,
                                     size_t *skipped) {
    size_t stride = n > max_elems ? n / max_elems : 1;
    double here = f(ctx), worst = 0.0, largest = 0.0;
    uint64_t home = piece(ctx);
    *skipped = 0;
    for (size_t i = 0; i < n; i += stride) {
        float saved = x[i];
        x[i] = saved + eps;
        double plus = f(ctx);
        bool up_stays = piece(ctx) == home;
        x[i] = saved - eps;
        double minus = f(ctx);
        bool down_stays = piece(ctx) == home;
        x[i] = saved;
        double up = (double)(saved + eps) - saved, down = saved - (double)(saved - eps);
        double num;
        if (up_stays && down_stays)
            num = (plus - minus) / (up + down);
        else if (up_stays)
            num = (plus - here) / up;
        else if (down_stays)
            num = (here - minus) / down;
        else {
            (*skipped)++;
            continue;
        }
        worst = fmax(worst, fabs(num - g[i]));
        largest = fmax(largest, fabs(num));
    }
    if (largest == 0.0)
        return worst > 1e-6 ? 1.0 : 0.0;
    return worst / largest;
}

uint64_t hash_signs(uint64_t h, const float *x, size_t n) {
    for (size_t i = 0; i < n; i++) {
        h ^= x[i] > 0.0f; /* FNV-1a, one bit at a time */
        h *= 1099511628211ull;
    }
    return h;
}

double grad_check_directions(objective_fn f, void *ctx, float *x, const float *g, size_t n,
                             int n_dirs, float eps, rng *r) {
    float *saved = malloc(n * sizeof *saved), *d = malloc(n * sizeof *d);
    double g_norm = 0.0;
    for (size_t i = 0; i < n; i++)
        g_norm += (double)g[i] * g[i];
    g_norm = sqrt(g_norm);
    double worst = 0.0;
    for (int k = 0; k < n_dirs; k++) {
        /* the first direction is the claimed gradient itself: along it the
         * true derivative must equal |g|, which no wrong sign, missing term
         * or misplaced index can fake; the others are random */
        double norm = 0.0;
        for (size_t i = 0; i < n; i++) {
            d[i] = k == 0 ? g[i] : rng_normal(r);
            norm += (double)d[i] * d[i];
        }
        if (norm == 0.0) { /* a zero gradient: probe a random direction instead */
            for (size_t i = 0; i < n; i++)
                d[i] = 1.0f;
            norm = (double)n;
        }
        double analytic = 0.0;
        for (size_t i = 0; i < n; i++) {
            d[i] = (float)(d[i] / sqrt(norm));
            analytic += (double)g[i] * d[i];
        }
        double numeric = directional_derivative(f, ctx, x, d, saved, n, eps);
        /* relative to the gradient's size, not to g . d, which a random
         * direction can make arbitrarily small */
        double scale = fmax(fmax(g_norm, fabs(numeric)), 1e-6);
        double err = fabs(numeric - analytic) / scale;
        if (err > worst)
            worst = err;
    }
    free(saved);
    free(d);
    return worst;
}

void assert_dropout_gradient(objective_fn f, void *ctx, float *params, const float *g,
                             const float *g_other_masks, size_t n, float eps, rng *r) {
    double same = grad_check_directions(f, ctx, params, g, n, DROPOUT_DIRS, eps, r);
    double other = grad_check_directions(f, ctx, params, g_other_masks, n, DROPOUT_DIRS, eps, r);
    if (getenv("GRAD_VERBOSE"))
        fprintf(stderr, "dropout: same masks %.2e, other masks %.2e\n", same, other);
    ck_assert_msg(same < GRAD_TOL, "gradient under the same dropout masks is off: error %g",
                  same);
    ck_assert_msg(other > GRAD_TOL,
                  "a gradient under other dropout masks passed the check (error %g): "
                  "the check cannot see a wrong mask",
                  other);
}

double dot_double(const float *out, const float *w, size_t n) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += (double)out[i] * w[i];
    return s;
}

float max_abs_diff(const float *a, const float *b, size_t n) {
    float m = 0.0f;
    for (size_t i = 0; i < n; i++) {
        float d = fabsf(a[i] - b[i]);
        if (d > m || isnan(d))
            m = isnan(d) ? INFINITY : d;
    }
    return m;
}

float rel_diff(const float *a, const float *b, size_t n) {
    float scale = 0.0f;
    for (size_t i = 0; i < n; i++)
        scale = fmaxf(scale, fabsf(a[i]));
    return max_abs_diff(a, b, n) / (scale > 0.0f ? scale : 1.0f);
}

int run_suite(Suite *s) {
    /* a default the forked tests inherit; starts no thread. Both ways:
     * gcc's libgomp keeps the call's setting across fork(), clang's libomp
     * starts afresh in the child and reads the environment again */
    setenv("OMP_NUM_THREADS", "1", 1);
    omp_set_num_threads(1);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
