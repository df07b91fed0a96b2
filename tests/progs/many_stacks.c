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

/* A function fn that recurses depth times, then joins: each depth of
 * each such function is a stack of its own. One body, two functions
 * (their frames are what makes the stacks differ). */
#define DESCEND(fn)                                                                              \
	static NOINLINE void fn(int depth)                                                       \
	{                                                                                        \
		if (depth > 0)                                                                   \
			fn(depth - 1);                                                           \
		else                                                                             \
			join_one();                                                              \
		__asm__ volatile("" ::: "memory"); /* not a tail call */                         \
	}
DESCEND(descend_a)
DESCEND(descend_b)

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
