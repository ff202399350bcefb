/* crossentropy.c - softmax and cross-entropy; see crossentropy.h. */
#include "crossentropy.h"

#include <math.h>

#include "../common/parallel.h"

double softmax_forward(float *probs, const float *logits, int V) {
    float max = logits[0];
    for (int i = 1; i < V; i++)
        if (logits[i] > max)
            max = logits[i];
    double sum = 0.0;
    for (int i = 0; i < V; i++) {
        probs[i] = expf(logits[i] - max);
        sum += probs[i];
    }
    float inv = (float)(1.0 / sum);
    for (int i = 0; i < V; i++)
        probs[i] *= inv;
    return (double)max + log(sum);
}

float crossentropy_forward(float *probs, float *losses, const float *logits, const int *targets,
                           size_t N, int V) {
    /* rows are independent: each thread owns whole rows */
#pragma omp parallel for schedule(static) if (N * (size_t)V >= PARALLEL_MIN_WORK)
    for (size_t n = 0; n < N; n++) {
        const float *z = logits + n * V;
        double normaliser = softmax_forward(probs + n * V, z, V);
        losses[n] = (float)(normaliser - z[targets[n]]); /* -log(softmax(z)[target]) */
    }
    /* the mean in one fixed order, so it is the same for any thread count */
    double sum = 0.0;
    for (size_t n = 0; n < N; n++)
        sum += losses[n];
    return (float)(sum / (double)N);
}

void crossentropy_backward(float *dlogits, const float *probs, const int *targets, size_t N,
                           int V) {
    /* forward: loss = mean over n of -log(softmax(logits[n])[targets[n]]) */
    float scale = 1.0f / (float)N;
#pragma omp parallel for schedule(static) if (N * (size_t)V >= PARALLEL_MIN_WORK)
    for (size_t n = 0; n < N; n++) {
        const float *p = probs + n * V;
        float *d = dlogits + n * V;
        for (int i = 0; i < V; i++) {
            float indicator = i == targets[n] ? 1.0f : 0.0f;
            d[i] += (p[i] - indicator) * scale;
        }
    }
}
