/*
 * position.c - learned position embeddings; see position.h.
 *
 * Builds on 01's token embedding: the input to every model from here on is
 *     x[b][t] = wte[token at (b,t)] + wpe[t]
 * the token says "what", the position row says "where".
 */
#include "position.h"

#include <stddef.h>

#include "../common/parallel.h"

void position_embedding_forward(float *x, const float *wpe, int B, int T, int C) {
#pragma omp parallel for schedule(static) if ((size_t)B * T * C >= PARALLEL_MIN_WORK)
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            float *row = x + ((size_t)b * T + t) * C;
            const float *pos = wpe + (size_t)t * C;
            for (int c = 0; c < C; c++)
                row[c] += pos[c];
        }
}

void position_embedding_backward(float *dwpe, const float *dx, int B, int T, int C) {
    /* forward: x[b][t] += wpe[t] - every row b used wpe[t], so its gradient
     * is the sum over b. One thread owns each position t and sums the rows
     * in order (no two threads add into the same row of dwpe). */
#pragma omp parallel for schedule(static) if ((size_t)B * T * C >= PARALLEL_MIN_WORK)
    for (int t = 0; t < T; t++) {
        float *dpos = dwpe + (size_t)t * C;
        for (int b = 0; b < B; b++) {
            const float *drow = dx + ((size_t)b * T + t) * C;
            for (int c = 0; c < C; c++)
                dpos[c] += drow[c];
        }
    }
}
