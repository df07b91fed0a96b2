/* Many distinct stacks: joins of a short-lived thread from `depths`
 * recursion depths of descend_a() and descend_b() each, so 2*depths
 * different block-profile stacks (keep depths below CONTEND_STACK_DEPTH).
 *   many_stacks [depths=50] [sleep_us=2000]
 * Prints waited_ns (all joins measured) and stacks. With a table smaller
 * than that, the overflow must be folded into one sample, totals intact. */
#include <stdio.h>

#include "progs.h"

static long sleep_for;
static int64_t waited;

static void *
sleeper(void *arg)
{
	sleep_us(sleep_for);
	return arg;
}

static NOINLINE void
join_one(void)
{
	pthread_t t;
	XPT(pthread_create(&t, NULL, sleeper, NULL));
	int64_t t0 = now_ns();
	XPT(pthread_join(t, NULL));
	waited += now_ns() - t0;
}

static NOINLINE void descend_b(int depth);

static NOINLINE void
descend_a(int depth)
{
	if (depth > 0)
		descend_a(depth - 1);
	else
		join_one();
	__asm__ volatile("" ::: "memory"); /* not a tail call */
}

static NOINLINE void
descend_b(int depth)
{
	if (depth > 0)
		descend_b(depth - 1);
	else
		join_one();
	__asm__ volatile("" ::: "memory");
}

int
main(int argc, char **argv)
{
	int depths = (int)arg_long(argc, argv, 1, 50);
	sleep_for = arg_long(argc, argv, 2, 2000);
	for (int d = 0; d < depths; d++) {
		descend_a(d);
		descend_b(d);
	}
	printf("stacks=%d\nwaited_ns=%lld\n", 2 * depths, (long long)waited);
	return 0;
}
