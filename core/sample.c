/* Sampling math; see sample.h. The formulas follow Go's runtime
 * (mprof.go blocksampled/saveblockevent, sema.go mutexevent), so a sampled
 * profile estimates the same totals as an unsampled one. */
#include "sample.h"
#include "clock.h"
#include "thread.h"

uint64_t
ct_rand_seed(void)
{
	/* From the clock, the thread and the TLS address so threads
	 * started together still draw different streams. */
	uint64_t x = (uint64_t)ct_now_ns() ^ ((uint64_t)ct_tid() << 32) ^
		     (uint64_t)(uintptr_t)&ct_self;
	return x ? x : 0x9e3779b97f4a7c15ULL;
}

bool
ct_sample_mutex_r(uint64_t fraction, uint64_t r)
{
	return fraction > 0 && (fraction == 1 || ct_rand_below(r, fraction) == 0);
}

bool
ct_sample_block_r(uint64_t rate, int64_t wait_ns, uint64_t r, double *count, double *delay)
{
	if (rate == 0)
		return false;
	uint64_t d = wait_ns <= 0 ? 1 : (uint64_t)wait_ns;
	if (rate > d && ct_rand_below(r, rate) > d)
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
