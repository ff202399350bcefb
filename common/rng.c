/* rng.c - xorshift64* seeded by splitmix64; see rng.h. */
#include "rng.h"

#include <math.h>

static const double TWO_PI = 6.283185307179586476925;

/* splitmix64: turns any 64-bit seed into a well-mixed, non-zero state. */
static uint64_t splitmix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

void rng_seed(rng *r, uint64_t seed) {
    r->state = splitmix64(seed);
    if (r->state == 0) /* xorshift must never hold 0: it would stay 0 */
        r->state = 0x9E3779B97F4A7C15ull;
}

/* Room for up to 16 streams per seed. seed * 16 + stream is distinct for
 * every (seed, stream) while it does not wrap around 2^64, that is for
 * seeds below 2^60: cli.c caps --seed at 2^53 - 1. */
#define STREAMS_PER_SEED 16

void rng_seed_stream(rng *r, uint64_t seed, rng_stream stream) {
    rng_seed(r, seed * STREAMS_PER_SEED + (uint64_t)stream);
}

uint64_t rng_u64(rng *r) {
    r->state ^= r->state >> 12;
    r->state ^= r->state << 25;
    r->state ^= r->state >> 27;
    return r->state * 0x2545F4914F6CDD1Dull;
}

float rng_uniform(rng *r) {
    /* the top 24 bits, scaled by 2^-24: exactly representable, never 1.0 */
    return (float)(rng_u64(r) >> 40) * (1.0f / 16777216.0f);
}

uint64_t rng_below(rng *r, uint64_t n) {
    /* Reject the few values at the top that would make some results more
     * likely than others, then reduce. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do {
        x = rng_u64(r);
    } while (x >= limit);
    return x % n;
}

float rng_normal(rng *r) {
    /* Box-Muller: two uniforms u1 in (0, 1], u2 in [0, 1) give one normal.
     * (We drop the second normal it could give, to keep the state a single
     * integer.) */
    double u1 = 1.0 - (double)(rng_u64(r) >> 11) * 0x1.0p-53;
    double u2 = (double)(rng_u64(r) >> 11) * 0x1.0p-53;
    return (float)(sqrt(-2.0 * log(u1)) * cos(TWO_PI * u2));
}
