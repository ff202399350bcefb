/*
 * rng.h - a seeded random number generator that gives the same numbers on
 * every machine.
 *
 * C's rand() differs between C libraries, so a "seed 1337" run would not be
 * reproducible elsewhere. We use xorshift64* (Vigna, 2016): 64 bits of state,
 * a few shifts and one multiply per number, good enough statistical quality
 * for sampling batches, initialising weights and dropout. The whole state is
 * one uint64_t, so a checkpoint can store it and training can resume exactly.
 */
#ifndef COMMON_RNG_H
#define COMMON_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t state;
} rng;

/* Seeds the generator. Any seed, including 0, gives a valid state: the seed
 * is first scrambled with splitmix64 so nearby seeds give unrelated streams. */
void rng_seed(rng *r, uint64_t seed);

/* The independent random streams of a run, all derived from one --seed, so
 * that e.g. changing the number of evaluation batches never changes the
 * training batches or the initial weights. */
typedef enum {
    STREAM_INIT = 0,    /* weight initialisation */
    STREAM_BATCH = 1,   /* training batches */
    STREAM_EVAL = 2,    /* evaluation batches */
    STREAM_SAMPLE = 3,  /* generated text */
    STREAM_DROPOUT = 4, /* dropout masks */
} rng_stream;

/* Seeds r with stream `stream` of seed `seed`. */
void rng_seed_stream(rng *r, uint64_t seed, rng_stream stream);

uint64_t rng_u64(rng *r);

/* Uniform float in [0, 1), with 24 random bits (all a float can hold). */
float rng_uniform(rng *r);

/* Uniform integer in [0, n), without modulo bias. n must be > 0. */
uint64_t rng_below(rng *r, uint64_t n);

/* Standard normal N(0, 1) by the Box-Muller transform. */
float rng_normal(rng *r);

#endif
