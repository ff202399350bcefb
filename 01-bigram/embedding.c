/* embedding.c - token embedding lookup; see embedding.h. */
#include "embedding.h"

#include <string.h>

void token_embedding_forward(float *out, const int *idx, const float *wte, size_t N, int C) {
    for (size_t i = 0; i < N; i++)
        memcpy(out + i * C, wte + (size_t)idx[i] * C, (size_t)C * sizeof *out);
}

void token_embedding_backward(float *dwte, const float *dout, const int *idx, size_t N, int C) {
    /* forward: out[i] = wte[idx[i]]
     * A token that appears k times in the batch was copied k times, so its
     * row receives the sum of k gradients. Serial on purpose: two positions
     * with the same token would race on the same row. */
    for (size_t i = 0; i < N; i++) {
        float *row = dwte + (size_t)idx[i] * C;
        const float *g = dout + i * C;
        for (int c = 0; c < C; c++)
            row[c] += g[c];
    }
}
