/* The caching unwinder (core/unwind.h) must give exactly the frames
 * backtrace() gives from the same place, or decline: through optimised
 * frames, frames addressed from rbp (variable-length arrays, -O0), deep
 * recursion cut at the buffer's size, another thread, a signal handler,
 * and after the cache was dropped. The first frame (the return address
 * into the capturing function) differs between two calls and is not
 * compared. */
#include <criterion/criterion.h>
#include <execinfo.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "../../core/unwind.h"

struct uw_result {
	int checks, declined, mismatches;
};

static __thread struct uw_result *uw_res;

static __attribute__((noinline)) void
uw_compare(int max)
{
	void *a[256], *b[256];
	int n = ct_unwind_backtrace(a, max);
	int m = backtrace(b, max);
	uw_res->checks++;
	if (n < 0) {
		uw_res->declined++;
		return;
	}
	if (n < 1 || m < 1) {
		uw_res->mismatches++;
		return;
	}
	if (n == 1)
		return;
	/* backtrace() may be intercepted (AddressSanitizer's interceptor
	 * calls the real one, whose first frame is then the interceptor's):
	 * align on the first frame beyond this function. */
	int j = 1;
	while (j < m && j <= 2 && b[j] != a[1])
		j++;
	int k = n - 1 < m - j ? n - 1 : m - j;
	if (j > 2 || k < 1 || memcmp(a + 1, b + j, (size_t)k * sizeof(a[0])) != 0 ||
	    (n < max && m < max && n - 1 != m - j))
		uw_res->mismatches++;
}

static __attribute__((noinline)) void
uw_both_sizes(void)
{
	uw_compare(256);
	uw_compare(4);
	uw_compare(1);
}

static __attribute__((noinline)) int
uw_recurse(int d)
{
	if (d == 0) {
		uw_both_sizes();
		return 0;
	}
	return uw_recurse(d - 1) + 1;
}

static __attribute__((noinline)) int
uw_vla(int k)
{
	volatile char buf[k];
	buf[0] = 1;
	uw_recurse(2);
	return buf[0];
}

static __attribute__((noinline, optimize("O0"))) int
uw_unoptimised(int d)
{
	if (d == 0) {
		uw_both_sizes();
		return 0;
	}
	return uw_unoptimised(d - 1) + 1;
}

static void
uw_shapes(void)
{
	uw_both_sizes();
	uw_recurse(10);
	uw_recurse(300); /* deeper than any buffer */
	uw_vla(40);
	uw_vla(9000);
	uw_unoptimised(5);
	/* The same places again: now from the cache. */
	uw_recurse(10);
	uw_vla(40);
}

Test(unwind, same_frames_as_backtrace)
{
	struct uw_result r = {0};
	uw_res = &r;
	uw_shapes();
	cr_expect_eq(r.mismatches, 0, "%d of %d stacks differ from backtrace()", r.mismatches,
		     r.checks);
#if defined(__x86_64__)
	cr_expect_eq(r.declined, 0, "%d of %d plain stacks declined", r.declined, r.checks);
#endif
}

static void *
uw_thread(void *p)
{
	uw_res = p;
	uw_shapes();
	return NULL;
}

Test(unwind, other_thread)
{
	struct uw_result r = {0};
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, uw_thread, &r), 0);
	pthread_join(t, NULL);
	cr_expect_eq(r.mismatches, 0, "%d of %d stacks differ from backtrace()", r.mismatches,
		     r.checks);
}

static void
uw_handler(int sig)
{
	(void)sig;
	uw_recurse(3);
}

/* Through a signal frame: backtrace()'s answer, or declined. */
Test(unwind, signal_handler)
{
	struct uw_result r = {0};
	uw_res = &r;
	signal(SIGUSR1, uw_handler);
	raise(SIGUSR1);
	signal(SIGUSR1, SIG_DFL);
	cr_expect_gt(r.checks, 0);
	cr_expect_eq(r.mismatches, 0);
}

Test(unwind, after_invalidate)
{
	struct uw_result r = {0};
	uw_res = &r;
	uw_recurse(4);
	ct_unwind_invalidate();
	uw_recurse(4);
	for (int i = 0; i < 70000; i++) /* the generation wraps at 2^16 */
		ct_unwind_invalidate();
	uw_recurse(4);
	cr_expect_eq(r.mismatches, 0);
}
