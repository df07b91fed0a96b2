/* Sampling decisions with Go's semantics and unbiased scaling.
 * Per-thread random state, no locks, no allocation, async-signal-safe. */
#ifndef CT_SAMPLE_H
#define CT_SAMPLE_H

#include <stdbool.h>
#include <stdint.h>

/* A per-thread pseudo-random 64-bit value (xorshift64*). */
uint64_t ct_rand(void);

/* Mutex profile (runtime.SetMutexProfileFraction): true for on average 1
 * in fraction events; fraction 0 means off. A sampled event is scaled by
 * fraction (count += fraction, delay += fraction * delay). */
bool ct_sample_mutex(uint64_t fraction);

/* Block profile (runtime.SetBlockProfileRate): decides whether a wait of
 * wait_ns is sampled under rate (0 off, 1 all) and, if so, sets the
 * de-biased count and delay to add, exactly as Go >= 1.17 does. */
bool ct_sample_block(uint64_t rate, int64_t wait_ns, double *count, double *delay);

/* Pure versions taking the random value, for tests. */
bool ct_sample_mutex_r(uint64_t fraction, uint64_t r);
bool ct_sample_block_r(uint64_t rate, int64_t wait_ns, uint64_t r, double *count, double *delay);

#endif
