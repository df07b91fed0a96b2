/* Join waits by construction: each round the main thread joins
 * (join_waiter) a thread that sleeps hold_us (join_target).
 *   join_wait [hold_us=100000] [rounds=3] [plain|timed|clock]
 * Block profile: pthread_join (timedjoin_np, clockjoin_np) <- join_waiter,
 * about rounds*hold_us. Also
 * checks the joined thread's return value. */
#include <stdint.h>
#include <stdio.h>

#include "progs.h"

static long hold_us;
static enum flavour flavour;

static void *
join_target(void *arg)
{
	sleep_us(hold_us);
	return arg;
}

static NOINLINE int64_t
join_waiter(pthread_t t, void *want)
{
	void *ret = NULL;
	struct timespec ts = flavour_deadline(flavour);
	int64_t t0 = now_ns();
	if (flavour == FLAVOUR_TIMED)
		CHECK_EQ(pthread_timedjoin_np(t, &ret, &ts), 0);
	else if (flavour == FLAVOUR_CLOCK)
		CHECK_EQ(pthread_clockjoin_np(t, &ret, CLOCK_MONOTONIC, &ts), 0);
	else
		CHECK_EQ(pthread_join(t, &ret), 0);
	int64_t waited = now_ns() - t0;
	CHECK_EQ((intptr_t)ret, (intptr_t)want);
	return waited;
}

int
main(int argc, char **argv)
{
	hold_us = arg_long(argc, argv, 1, 100000);
	int rounds = (int)arg_long(argc, argv, 2, 3);
	flavour = arg_flavour(argc, argv, 3);
	int64_t waited = 0;
	for (intptr_t i = 0; i < rounds; i++) {
		pthread_t t;
		XPT(pthread_create(&t, NULL, join_target, (void *)(i + 1)));
		waited += join_waiter(t, (void *)(i + 1));
	}
	printf("expected_ns=%lld\n", (long long)rounds * hold_us * 1000);
	printf("waited_ns=%lld\n", (long long)waited);
	return check_status();
}
