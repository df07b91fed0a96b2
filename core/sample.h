/* Sampling decisions with Go's semantics and unbiased scaling.
 * Per-thread random state, no locks, no allocation, async-signal-safe. */
#ifndef CT_SAMPLE_H
#define CT_SAMPLE_H

#include <stdbool.h>
#include <stdint.h>

#include "compiler.h"
#include "thread.h"

/* The first state of the calling thread's generator (never 0). */
uint64_t ct_rand_seed(void);

/* A per-thread pseudo-random 64-bit value (xorshift64*). Inline: every
 * wait that is not sampled still draws one. */
static inline uint64_t
ct_rand(void)
{
	uint64_t x = ct_self.rng;
	if (CT_UNLIKELY(x == 0))
		x = ct_rand_seed();
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	ct_self.rng = x;
	return x * 0x2545F4914F6CDD1DULL;
}

/* A random value r as a number below n, uniform to within 2^-64 (the
 * high half of r * n, Lemire's reduction): a multiply where r % n was a
 * 64-bit division (20-90 cycles) on every wait that was not sampled. */
static inline uint64_t
ct_rand_below(uint64_t r, uint64_t n)
{
	return (uint64_t)(((unsigned __int128)r * n) >> 64);
}

/* Pure versions taking the random value, for tests. */
bool ct_sample_mutex_r(uint64_t fraction, uint64_t r);
bool ct_sample_block_r(uint64_t rate, int64_t wait_ns, uint64_t r, double *count, double *delay);

/* Mutex profile (runtime.SetMutexProfileFraction): true for on average 1
 * in fraction events; fraction 0 means off. A sampled event is scaled by
 * fraction (count += fraction, delay += fraction * delay). */
static inline bool
ct_sample_mutex(uint64_t fraction)
{
	if (fraction <= 1)
		return fraction == 1;
	return ct_rand_below(ct_rand(), fraction) == 0;
}

/* Block profile (runtime.SetBlockProfileRate): decides whether a wait of
 * wait_ns is sampled under rate (0 off, 1 all) and, if so, sets the
 * de-biased count and delay to add, exactly as Go >= 1.17 does. The
 * decision is inline (most waits are not sampled at the default rate);
 * the scaling of a sampled one is ct_sample_block_r's.
 * ct_sample_block_draw is the decision alone: false when the wait is not
 * sampled, else true with the draw r that ct_sample_block_r(rate,
 * wait_ns, r, ...) then scales it by (and keeps it with). */
static inline bool
ct_sample_block_draw(uint64_t rate, int64_t wait_ns, uint64_t *r)
{
	if (rate == 0)
		return false;
	uint64_t d = wait_ns <= 0 ? 1 : (uint64_t)wait_ns;
	*r = 0;
	if (CT_LIKELY(rate > 1 && d < rate)) { /* most waits, at the usual rates */
		*r = ct_rand();
		if (ct_rand_below(*r, rate) > d)
			return false;
	}
	return true;
}

static inline bool
ct_sample_block(uint64_t rate, int64_t wait_ns, double *count, double *delay)
{
	uint64_t r;
	return ct_sample_block_draw(rate, wait_ns, &r) &&
	       ct_sample_block_r(rate, wait_ns, r, count, delay);
}

#endif
