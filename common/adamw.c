/* adamw.c - AdamW, clipping and the schedule; see adamw.h. */
#include "adamw.h"

#include <math.h>

#include "parallel.h"

void adamw_update(float *params, const float *grads, float *m, float *v, size_t n,
                  const adamw_config *c, float lr, float weight_decay, long step) {
    /* Early on, m and v are biased toward their zero start; dividing by
     * (1 - beta^t) undoes that. As in torch, v's correction divides
     * sqrt(v), eps is added after it, and the decay comes first. torch
     * computes the corrections in double (Python floats) and updates m
     * with lerp; we stay in float and write m's update out, so the two
     * agree to within float rounding, not bit for bit. */
    float bias1 = 1.0f - powf(c->beta1, (float)step);
    float bias2_sqrt = sqrtf(1.0f - powf(c->beta2, (float)step));
    float step_size = lr / bias1;
    float shrink = 1.0f - lr * weight_decay;
    /* every element is independent: safe to split across threads */
#pragma omp parallel for schedule(static) if (n >= PARALLEL_MIN_WORK)
    for (size_t i = 0; i < n; i++) {
        float g = grads[i];
        params[i] *= shrink; /* decoupled weight decay */
        m[i] = c->beta1 * m[i] + (1.0f - c->beta1) * g;
        v[i] = c->beta2 * v[i] + (1.0f - c->beta2) * g * g;
        float denom = sqrtf(v[i]) / bias2_sqrt + c->eps;
        params[i] -= step_size * m[i] / denom;
    }
}

/* The sum of squares is cut into this many fixed pieces, each summed on
 * its own (in parallel) and then added in order: the same result for any
 * number of threads. */
#define NORM_PIECES 64

float grad_norm(const float *g, size_t n) {
    double partial[NORM_PIECES];
#pragma omp parallel for schedule(static) if (n >= PARALLEL_MIN_WORK)
    for (int k = 0; k < NORM_PIECES; k++) {
        size_t begin = n * (size_t)k / NORM_PIECES, end = n * (size_t)(k + 1) / NORM_PIECES;
        double sum = 0.0;
        for (size_t i = begin; i < end; i++)
            sum += (double)g[i] * g[i];
        partial[k] = sum;
    }
    double sum = 0.0;
    for (int k = 0; k < NORM_PIECES; k++)
        sum += partial[k];
    return (float)sqrt(sum);
}

float grad_clip(float *g, size_t n, float max_norm) {
    float norm = grad_norm(g, n);
    /* torch adds 1e-6 so that a zero gradient does not divide by zero */
    float scale = max_norm / (norm + 1e-6f);
    if (scale < 1.0f) {
#pragma omp parallel for schedule(static) if (n >= PARALLEL_MIN_WORK)
        for (size_t i = 0; i < n; i++)
            g[i] *= scale;
    }
    return norm;
}

float lr_at(const lr_schedule *s, long step) {
    if (step < s->warmup)
        return s->lr * (float)(step + 1) / (float)s->warmup;
    long span = s->decay_steps - s->warmup;
    if (span < 1)
        span = 1;
    double ratio = (double)(step - s->warmup) / (double)span;
    if (ratio > 1.0)
        ratio = 1.0;
    /* cos goes from 1 to -1 as ratio goes 0 -> 1, so coeff goes 1 -> 0 */
    double coeff = 0.5 * (1.0 + cos(3.14159265358979323846 * ratio));
    return (float)(s->min_lr + coeff * (s->lr - s->min_lr));
}
