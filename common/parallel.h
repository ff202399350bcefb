/*
 * parallel.h - when a loop is worth splitting across OpenMP threads.
 *
 * A parallel region ends at a barrier where every thread waits for the
 * slowest. On an idle machine that costs microseconds; on a busy one a
 * thread may first wait for the scheduler to give it a core, and then the
 * whole region waits milliseconds. Measured on 2 cores shared with other
 * work: the bigram's 256 x 65 cross-entropy made a 3000-step run take
 * 15.8 s with 2 threads and 2.3 s with 1, and a 0.02 s test ran past
 * Check's 4 s timeout.
 *
 * So a loop over fewer than PARALLEL_MIN_WORK elements (about 0.1 ms of
 * work) stays on one thread:
 *
 *     #pragma omp parallel for schedule(static) if (n >= PARALLEL_MIN_WORK)
 *
 * The price is paid on an idle machine, where smaller loops would still
 * gain: chapter 04 with every loop split (the limit at 4,096) ran 23.8 s
 * on two threads against 33.2 s on one, while as it is both take about
 * 38.5 s; but beside two busy processes, 300 steps took 38.0 s split and
 * 5.2 s as it is (04-block/README.md). A stall of 7x is worse than a loss
 * of 1.4x.
 *
 * Results never depend on this: the loops it guards give every element to
 * exactly one thread either way.
 */
#ifndef COMMON_PARALLEL_H
#define COMMON_PARALLEL_H

#define PARALLEL_MIN_WORK 65536

#endif
