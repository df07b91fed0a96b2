/* Sampling math; see sample.h. The formulas follow Go's runtime
 * (mprof.go blocksampled/saveblockevent, sema.go mutexevent), so a sampled
 * profile estimates the same totals as an unsampled one. */
#include "sample.h"
#include "clock.h"
#include "thread.h"

uint64_t
ct_rand(void)
{
	uint64_t x = ct_self.rng;
	if (CT_UNLIKELY(x == 0)) {
		/* Seed from the clock, the thread and the TLS address so
		 * threads started together still draw different streams. */
		x = (uint64_t)ct_now_ns() ^ ((uint64_t)ct_tid() << 32) ^
		    (uint64_t)(uintptr_t)&ct_self;
		x = x ? x : 0x9e3779b97f4a7c15ULL;
	}
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	ct_self.rng = x;
	return x * 0x2545F4914F6CDD1DULL;
}

bool
ct_sample_mutex_r(uint64_t fraction, uint64_t r)
{
	return fraction > 0 && (fraction == 1 || r % fraction == 0);
}

bool
ct_sample_mutex(uint64_t fraction)
{
	if (fraction <= 1)
		return fraction == 1;
	return ct_sample_mutex_r(fraction, ct_rand());
}

bool
ct_sample_block_r(uint64_t rate, int64_t wait_ns, uint64_t r, double *count, double *delay)
{
	if (rate == 0)
		return false;
	uint64_t d = wait_ns <= 0 ? 1 : (uint64_t)wait_ns;
	if (rate > d && r % rate > d)
		return false;
	if (d < rate) {
		*count = (double)rate / (double)d;
		*delay = (double)rate;
	} else {
		*count = 1;
		*delay = (double)d;
	}
	return true;
}

bool
ct_sample_block(uint64_t rate, int64_t wait_ns, double *count, double *delay)
{
	if (rate == 0)
		return false;
	uint64_t r = (rate > 1 && (uint64_t)(wait_ns > 0 ? wait_ns : 1) < rate) ? ct_rand() : 0;
	return ct_sample_block_r(rate, wait_ns, r, count, delay);
}
