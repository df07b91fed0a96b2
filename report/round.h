/* Rounding of the tables' double counts and delays to the int64 values
 * profiles carry. Without libm: the report library loads no object into a
 * program that it does not need (each one's pages, link map and finalizer
 * are paid again at the exit of every fork child). Pure, thread-safe,
 * async-signal-safe. */
#ifndef CT_REPORT_ROUND_H
#define CT_REPORT_ROUND_H

#include <stdint.h>

/* v rounded half away from zero, as llround; saturates at INT64_MAX and
 * -INT64_MAX; 0 for NaN. */
static inline int64_t
ct_round_i64(double v)
{
	if (v != v)
		return 0;
	if (v < 0)
		return -ct_round_i64(-v);
	if (v >= 9.2e18)
		return INT64_MAX;
	/* v minus its integer part is exact below 2^53; above, v is one. */
	int64_t i = (int64_t)v;
	return v - (double)i >= 0.5 ? i + 1 : i;
}

#endif
