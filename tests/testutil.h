/*
 * testutil.h - helpers the Check suites share: temporary fixtures and
 * finite-difference gradient checks.
 */
#ifndef TESTS_TESTUTIL_H
#define TESTS_TESTUTIL_H

#include <check.h>
#include <stddef.h>
#include <stdint.h>

#include "../common/params.h"
#include "../common/rng.h"

/* Forward declaration of Check's suite type (check.h defines it). */
typedef struct Suite Suite;

/* Runs the suite (forking each test, CK_NORMAL output) and returns the
 * process exit status: EXIT_FAILURE if any check failed. Call it straight
 * from main: no OpenMP parallel region may run before the runner forks
 * (TOOLCHAIN.md, section 2).
 *
 * Every test starts with OpenMP set to one thread: the claims are about the
 * arithmetic, and on a busy 2-core machine two spinning threads that wait
 * for each other at every loop can make a 0.1 s test take seconds. The
 * tests about threads ask for two themselves. */
int run_suite(Suite *s);

/* ---- fixtures: tests never touch data/ or runs/ ---- */

/* Creates a fresh directory under $TMPDIR (or /tmp) and returns its path
 * (static storage, valid until the next call). Nothing removes it: run
 * through tests/run-suites.sh (make test-NN), TMPDIR is a folder of that
 * run's, removed at its end. */
const char *test_tmpdir(void);

/* Writes len bytes to dir/name and returns the full path (static storage,
 * valid until the next call). */
const char *test_write_file(const char *dir, const char *name, const void *bytes, size_t len);

/* Where the hand-made test inputs live (tests/data/), relative to the
 * repository root, which is where `make test` runs the suites. */
#define TEST_DATA_DIR "tests/data"

/* ---- test scale ----
 * A slow runner (valgrind is 20-50x slower than a plain run) can shrink the
 * tests that loop many times: with TEST_SCALE=small in the environment
 * (make test-valgrind sets it), test_scaled(n) is n / TEST_SMALL_DIVISOR
 * (at least 1); unset or TEST_SCALE=full, it is n. Any other value is a
 * typo and aborts the test. */
#define TEST_SMALL_DIVISOR 10
long test_scaled(long n);

/* Fills x (n) with N(0, scale^2) values. */
void fill_normal(float *x, size_t n, float scale, rng *r);

/* Backward functions add into their gradients (+=). A test starts a
 * gradient buffer at random values (a `=` where `+=` belongs would lose
 * them) and checks what was added: gradient_start fills g (n) and a copy,
 * start, with the same values; gradient_added leaves in g only what the
 * backward pass added to it. */
void gradient_start(float *g, float *start, size_t n, rng *r);
void gradient_added(float *g, const float *start, size_t n);

/* Replaces a model's small initial weights (N(0, 0.02)) with larger ones,
 * gains 1 + N(0, 0.3^2) and matrices N(0, 0.4^2), so that in a gradient
 * check every path (layernorm gains, attention patterns) carries a real
 * gradient. */
void spread_weights(const param_table *pt, float *params, rng *r);

/* Fills x (n) with token ids drawn uniformly from [0, V). */
void random_tokens(int *x, size_t n, int V, rng *r);

/* ---- gradient checks ----
 * The function under test computes a scalar objective from parameters x.
 * We compare the analytic gradient g (from the backward pass) with central
 * differences (f(x + h) - f(x - h)) / 2h, the objective accumulated in double.
 *
 * The error of a tensor is max_i |g_i - numeric_i| / max_i |numeric_i|: how
 * far off the worst element is, relative to the tensor's largest gradient.
 * A wrong sign, a missing term or a transposed index gives an error near 1;
 * float round-off gives ~1e-3 at the step sizes used. */
typedef double (*objective_fn)(void *ctx);

/* Checks up to max_elems elements of x (n), evenly spread, with step eps.
 * x is perturbed in place and restored. Returns the error as above. */
double grad_check_elements(objective_fn f, void *ctx, float *x, const float *g, size_t n,
                           size_t max_elems, float eps);

/* The same for functions that are only piecewise smooth, like a network
 * with ReLUs. Where x - eps .. x + eps crosses a kink, the central
 * difference averages the slopes of two pieces, while the analytic gradient
 * is the slope of the piece x is on; with hundreds of ReLU inputs some
 * always lie that close to 0. So `piece` names the piece the last f(ctx)
 * ran on (e.g. a hash of the signs of every ReLU input), and each element
 * is checked with the central difference when both steps stay on x's
 * piece, with the one-sided difference of the step that stays when only one
 * does, and is skipped (counted in *skipped) when neither does. */
typedef uint64_t (*piece_fn)(void *ctx);
double grad_check_elements_piecewise(objective_fn f, piece_fn piece, void *ctx, float *x,
                                     const float *g, size_t n, size_t max_elems, float eps,
                                     size_t *skipped);

/* A piece_fn helper: folds the signs of x (n) into a running hash h. */
uint64_t hash_signs(uint64_t h, const float *x, size_t n);
#define HASH_START 14695981039346656037ull

/* Checks n_dirs unit directions d: the numeric derivative along d against
 * g . d, relative to |g|. The first direction is g itself (a wrong gradient
 * cannot match the slope along its own direction), the rest are random.
 * Returns the largest error. Catches errors spread over many small
 * elements that the element check may miss. */
double grad_check_directions(objective_fn f, void *ctx, float *x, const float *g, size_t n,
                             int n_dirs, float eps, rng *r);

/* Error tolerance for the checks above (see the comment there): four times
 * the largest error the model checks print with GRAD_VERBOSE=1 (2.5e-3);
 * every check passed at 5e-3 too, in the default build and in the
 * valgrind one (BLAS=0, -O1). A layernorm mean taken over C - 1 columns
 * shows an error of 0.024. */
#define GRAD_TOL 1e-2

/* Dropout makes the loss a random function of the weights: every forward
 * pass draws new masks. Rewind the dropout stream before every forward and
 * every pass drops the same elements: the loss is smooth again and finite
 * differences apply. f must be such an objective (it rewinds the stream,
 * then runs the forward), g the backward's gradient of a pass under the
 * masks f rewinds to, and g_other_masks the gradient of a pass under other
 * masks (a forward without the rewind), at the same params (n). Asserts
 * that g passes grad_check_directions (DROPOUT_DIRS directions, error below
 * GRAD_TOL) and that g_other_masks fails it: the check sees a backward that
 * applies another mask than its forward did. GRAD_VERBOSE=1 in the
 * environment prints both errors. */
#define DROPOUT_DIRS 3
void assert_dropout_gradient(objective_fn f, void *ctx, float *params, const float *g,
                             const float *g_other_masks, size_t n, float eps, rng *r);

/* sum_i out_i * w_i in double: a scalar "loss" whose gradient w.r.t. out is
 * w, used to test a layer's backward in isolation. */
double dot_double(const float *out, const float *w, size_t n);

/* Largest |a_i - b_i| (infinity if either holds a NaN). */
float max_abs_diff(const float *a, const float *b, size_t n);

/* max |a_i - b_i| / max |a_i|: how far apart two results are, relative to
 * their size (for comparing implementations of the same computation). */
float rel_diff(const float *a, const float *b, size_t n);

#endif
