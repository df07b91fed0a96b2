/* Condition variable waits by construction, two scenarios:
 *   cond_wait signal [waiters] [hold_us] [rounds] [plain|timed|clock]
 *     waiters block in pthread_cond_wait (timedwait, clockwait)
 *     (cond_waiter) until the main thread (cond_signaller) broadcasts
 *     hold_us later. Block profile: pthread_cond_wait <- cond_waiter,
 *     about rounds*waiters*hold_us.
 *   cond_wait handover [waiters] [hold_us] [rounds]
 *     the main thread holds m for hold_us (wait_holder) while waiters
 *     block in pthread_mutex_lock (handover_locker), then calls
 *     pthread_cond_wait, which hands m over inside glibc; the last waiter
 *     to get m signals it. Mutex profile: pthread_cond_wait <- wait_holder,
 *     about rounds*waiters*hold_us. */
#include <stdio.h>
#include <string.h>

#include "progs.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static int ready;  /* signal: set by the signaller each round */
static int passed; /* handover: waiters through m this round */

static NOINLINE void
cond_signaller(struct scenario *s)
{
	pthread_mutex_lock(&m);
	ready = 0; /* all waiters are past the previous round */
	pthread_mutex_unlock(&m);
	scenario_go(s);
	pthread_mutex_lock(&m);
	ready = 1;
	pthread_cond_broadcast(&c);
	pthread_mutex_unlock(&m);
}

static NOINLINE void
cond_waiter(struct scenario *s)
{
	struct timespec ts = flavour_deadline(s->flavour);
	pthread_mutex_lock(&m);
	while (!ready)
		if (s->flavour == FLAVOUR_TIMED)
			MUST0(pthread_cond_timedwait(&c, &m, &ts));
		else if (s->flavour == FLAVOUR_CLOCK)
			MUST0(pthread_cond_clockwait(&c, &m, CLOCK_MONOTONIC, &ts));
		else
			MUST0(pthread_cond_wait(&c, &m));
	pthread_mutex_unlock(&m);
}

static NOINLINE void
wait_holder(struct scenario *s)
{
	pthread_mutex_lock(&m);
	passed = 0;
	scenario_go(s);
	while (passed < s->waiters)
		pthread_cond_wait(&c, &m);
	pthread_mutex_unlock(&m);
}

static NOINLINE void
handover_locker(struct scenario *s)
{
	pthread_mutex_lock(&m);
	if (++passed == s->waiters)
		pthread_cond_signal(&c);
	pthread_mutex_unlock(&m);
}

int
main(int argc, char **argv)
{
	struct scenario s;
	if (argc > 1 && !strcmp(argv[1], "signal"))
		s = (struct scenario){.hold = cond_signaller, .wait = cond_waiter};
	else if (argc > 1 && !strcmp(argv[1], "handover"))
		s = (struct scenario){.hold = wait_holder, .wait = handover_locker};
	else {
		fprintf(stderr, "usage: cond_wait signal|handover [waiters] [hold_us] [rounds] [plain|timed|clock]\n");
		return 2;
	}
	scenario_args(&s, argc, argv, 2);
	scenario_run(&s);
	return 0;
}
