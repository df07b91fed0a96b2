/* Clocks. Only the contended (slow) paths read them. Async-signal-safe,
 * thread-safe, no allocation, no lock.
 *
 * ct_now_ns() is CLOCK_MONOTONIC in nanoseconds. Once the TSC has been
 * calibrated against CLOCK_MONOTONIC (ticks.h: invariant TSC on x86-64,
 * first calibration CT_TICKS_CAL_NS after init), it is computed from the
 * TSC: one rdtsc and a multiply, against a vDSO clock_gettime() that
 * costs 20 ns on bare metal and 100-150 ns on the VMs we measure on, and
 * every recorded wait reads the clock two or three times. It stays within
 * a calibration's error of the real clock (the calibration is redone each
 * time the time since init doubles, below), and every reader of ct_now_ns
 * in the shim sees the same conversion. Before calibration, and without
 * an invariant TSC, it is clock_gettime() itself. */
#ifndef CT_CLOCK_H
#define CT_CLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "compiler.h"
#include "hot.h"

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

/* CLOCK_MONOTONIC read from the kernel's clock (vDSO): the reference the
 * ticks are calibrated against. */
static inline int64_t
ct_clock_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t
ct_wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The tick clock's state is ct_hot.tk (hot.h: struct ct_ticks_state). */

/* Calibrates if due (ticks.h) given a tick reading `now`, and returns
 * the multiplier in force (never 0). */
uint64_t ct_ticks_calibrate(uint64_t now);

/* The first calibration waits for this much time since init, so the
 * skew of the two clock reads (tens of ns) is a small fraction. */
#define CT_TICKS_CAL_NS (2 * 1000 * 1000)

/* The multiplier for a tick reading t (TSC): the one in force, or a
 * calibration's when one is due (or none was made yet). Inline: the
 * usual case is two loads and two compares. */
static inline uint64_t
ct_ticks_mult(uint64_t t)
{
	uint64_t m = __atomic_load_n(&ct_hot.tk.mult, __ATOMIC_RELAXED);
	/* Two tests, so that the usual path (a TSC, no calibration due) is
	 * laid out straight. */
	if (CT_UNLIKELY(m == 0))
		return ct_ticks_calibrate(t);
	if (CT_LIKELY(ct_hot.tk.tsc)) {
		if (CT_UNLIKELY(t < ct_hot.tk.base ||
				t - ct_hot.tk.base >= 2 * __atomic_load_n(&ct_hot.tk.cal_span,
								       __ATOMIC_RELAXED)))
			m = ct_ticks_calibrate(t);
	}
	return m;
}

static inline int64_t
ct_now_ns(void)
{
#if defined(__x86_64__)
	if (CT_LIKELY(ct_hot.tk.tsc)) {
		uint64_t m = __atomic_load_n(&ct_hot.tk.mult, __ATOMIC_RELAXED);
		if (CT_LIKELY(m != 0)) {
			uint64_t t = __rdtsc();
			uint64_t d = t - ct_hot.tk.base;
			/* Due for a calibration over a longer span (or a TSC
			 * behind the base, which the calibration refuses). */
			if (CT_UNLIKELY(t < ct_hot.tk.base ||
					d >= 2 * __atomic_load_n(&ct_hot.tk.cal_span, __ATOMIC_RELAXED))) {
				m = ct_ticks_calibrate(t);
				if (t < ct_hot.tk.base)
					return ct_clock_ns();
			}
			return ct_hot.tk.base_ns + (int64_t)(((unsigned __int128)d * m) >> 32);
		}
		int64_t now = ct_clock_ns();
		if (now - ct_hot.tk.base_ns >= CT_TICKS_CAL_NS)
			ct_ticks_calibrate(__rdtsc());
		return now;
	}
#endif
	return ct_clock_ns();
}

#endif
