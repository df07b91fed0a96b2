/* Sampling must be unbiased: over many events a sampled run estimates the
 * same count and delay as recording everything (Go's rules). */
#include <criterion/criterion.h>
#include <math.h>

#include "../../core/sample.h"

Test(sample, mutex_fraction_edges)
{
	cr_expect(!ct_sample_mutex(0));
	cr_expect(ct_sample_mutex(1));
	/* r is reduced to [0, fraction) by its high bits (ct_rand_below). */
	cr_expect(ct_sample_mutex_r(10, 20));
	cr_expect(ct_sample_mutex_r(10, UINT64_MAX / 10));
	cr_expect(!ct_sample_mutex_r(10, UINT64_MAX / 10 + 2));
	cr_expect(!ct_sample_mutex_r(10, UINT64_MAX));
}

Test(sample, mutex_unbiased)
{
	const uint64_t frac = 7;
	const int n = 700000;
	double est = 0;
	for (int i = 0; i < n; i++)
		if (ct_sample_mutex(frac))
			est += (double)frac;
	cr_expect(fabs(est - n) / n < 0.02, "estimated %f of %d events", est, n);
}

Test(sample, block_rate_edges)
{
	double c, d;
	cr_expect(!ct_sample_block(0, 1000000, &c, &d));
	cr_assert(ct_sample_block(1, 5, &c, &d));
	cr_expect_eq(c, 1);
	cr_expect_eq(d, 5);
	/* A wait at least as long as the rate is always taken, unscaled. */
	cr_assert(ct_sample_block_r(1000, 1000, 999999, &c, &d));
	cr_expect_eq(c, 1);
	cr_expect_eq(d, 1000);
	/* A shorter wait is scaled up to the rate. */
	cr_assert(ct_sample_block_r(1000, 100, 50, &c, &d));
	cr_expect_eq(c, 10);
	cr_expect_eq(d, 1000);
	/* 2^63 is 500 of 1000: above the wait of 100, not taken; 101 of
	 * 1000 (just above) neither, 100 of 1000 is. */
	cr_expect(!ct_sample_block_r(1000, 100, 1ULL << 63, &c, &d));
	cr_expect(!ct_sample_block_r(1000, 100, UINT64_MAX / 1000 * 101 + 101, &c, &d));
	cr_expect(ct_sample_block_r(1000, 100, UINT64_MAX / 1000 * 100, &c, &d));
	/* Zero or negative waits count as 1 ns, as Go does. */
	cr_assert(ct_sample_block_r(1000, -5, 1, &c, &d));
	cr_expect_eq(c, 1000);
}

Test(sample, block_unbiased_mixed_waits)
{
	const uint64_t rate = 10000;
	const int64_t waits[] = {50, 700, 3000, 9999, 10000, 250000};
	for (size_t w = 0; w < sizeof(waits) / sizeof(waits[0]); w++) {
		const int n = 400000;
		double cnt = 0, del = 0, c, d;
		for (int i = 0; i < n; i++)
			if (ct_sample_block(rate, waits[w], &c, &d)) {
				cnt += c;
				del += d;
			}
		double true_del = (double)n * (double)waits[w];
		cr_expect(fabs(cnt - n) / n < 0.1, "wait %ld: count %f vs %d", (long)waits[w], cnt, n);
		cr_expect(fabs(del - true_del) / true_del < 0.1, "wait %ld: delay %f vs %f",
			  (long)waits[w], del, true_del);
	}
}
