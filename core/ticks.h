/* A cheap monotonic tick counter for the I/O wrappers, which must time
 * every call because nothing tells in advance whether a read() will
 * block: two vDSO clock_gettime() calls cost ~50 ns, two rdtsc ~20 ns.
 *
 * Ticks are the TSC on x86-64 when it is invariant (constant rate, not
 * stopped in idle states: CPUID 0x80000007 EDX bit 8), else CLOCK_MONOTONIC
 * nanoseconds. The tick length is calibrated against CLOCK_MONOTONIC
 * lazily, by the first slow path at least CT_TICKS_CAL_NS after start,
 * and again each time the time since start has doubled, so the error of
 * a converted time stays within a few reads' skew; never in a
 * constructor (that would delay every preloaded process).
 *
 * Thread-safe (relaxed atomics on single words), no locks, no allocation,
 * async-signal-safe. */
#ifndef CT_TICKS_H
#define CT_TICKS_H

#include <stdbool.h>
#include <stdint.h>

#include "clock.h"
#include "compiler.h"

/* struct ct_ticks_state and ct_hot.tk are in hot.h, CT_TICKS_CAL_NS in
 * clock.h, whose ct_now_ns() reads the calibrated TSC too. */

/* CLOCK_MONOTONIC in ns, out of line: the inline readers below fall
 * back to it, and its timespec would give each of them (every I/O
 * wrapper) a stack frame it does not need with a TSC. */
int64_t ct_ticks_clock_ns(void);

static inline uint64_t
ct_ticks(void)
{
#if defined(__x86_64__)
	if (CT_LIKELY(ct_hot.tk.tsc))
		return __rdtsc();
#endif
	return (uint64_t)ct_ticks_clock_ns();
}

/* Takes the base reading and detects the TSC. Once, at init. */
void ct_ticks_init(void);

/* A (ticks, ns) pair read close together: the ticks are the midpoint of
 * two readings around the clock read, the narrowest of up to `tries`
 * brackets, stopping at one narrower than `enough` ticks (0: all tries),
 * so that something coming between the reads (preemption, an interrupt)
 * is tried again. Thread-safe, no allocation, async-signal-safe. */
void ct_ticks_pair(uint64_t *t, int64_t *ns, int tries, uint64_t enough);

/* ct_ticks_calibrate (declared in clock.h): calibrates if due (see
 * above) given a tick reading `now`, and returns the multiplier in force
 * (never 0). Slow paths only. */

/* A duration in ticks as nanoseconds (calibrating first if needed). */
static inline int64_t
ct_ticks_to_ns(uint64_t dt)
{
	uint64_t m = __atomic_load_n(&ct_hot.tk.mult, __ATOMIC_RELAXED);
	if (CT_UNLIKELY(m == 0))
		m = ct_ticks_calibrate(ct_ticks());
	unsigned __int128 ns = ((unsigned __int128)dt * m) >> 32;
	return ns > (unsigned __int128)INT64_MAX ? INT64_MAX : (int64_t)ns;
}

/* A tick reading as CLOCK_MONOTONIC nanoseconds (for wait records that
 * thread dumps compare with ct_now_ns()). Reads the clock itself while
 * uncalibrated. _m: with the multiplier m in force (not 0). */
static inline int64_t
ct_ticks_to_mono_m(uint64_t t, uint64_t m)
{
	uint64_t d = t > ct_hot.tk.base ? t - ct_hot.tk.base : 0;
	return ct_hot.tk.base_ns + (int64_t)(((unsigned __int128)d * m) >> 32);
}

static inline int64_t
ct_ticks_to_mono(uint64_t t)
{
	uint64_t m = __atomic_load_n(&ct_hot.tk.mult, __ATOMIC_RELAXED);
	if (CT_UNLIKELY(m == 0))
		return ct_ticks_clock_ns();
	return ct_ticks_to_mono_m(t, m);
}

#endif
