/* Mutex contention by construction: the main thread holds m for hold_us
 * per round (hold_and_sleep) while `waiters` threads block in
 * pthread_mutex_lock (waiter_lock).
 *   mutex_hold [waiters=4] [hold_us=100000] [rounds=3] [plain|timed|clock]
 * Mutex profile: pthread_mutex_unlock <- hold_and_sleep, about
 * rounds*waiters*hold_us. Block profile: pthread_mutex_lock (timedlock,
 * clocklock) <- waiter_lock, the same total. Returns from main (the exit dump path). */
#include "progs.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

static NOINLINE void
hold_and_sleep(struct scenario *s)
{
	pthread_mutex_lock(&m);
	scenario_go(s);
	pthread_mutex_unlock(&m);
}

/* Spelled out rather than WAIT_FLAVOURED (progs.h): `go tool pprof -list`
 * must show the wait on this program's MUST0(pthread_mutex_lock(&m)); line
 * (tests/integration/test_tools.c). */
static NOINLINE void
waiter_lock(struct scenario *s)
{
	struct timespec ts = flavour_deadline(s->flavour);
	if (s->flavour == FLAVOUR_TIMED)
		MUST0(pthread_mutex_timedlock(&m, &ts));
	else if (s->flavour == FLAVOUR_CLOCK)
		MUST0(pthread_mutex_clocklock(&m, CLOCK_MONOTONIC, &ts));
	else
		MUST0(pthread_mutex_lock(&m));
	pthread_mutex_unlock(&m);
}

int
main(int argc, char **argv)
{
	struct scenario s = {.hold = hold_and_sleep, .wait = waiter_lock};
	scenario_args(&s, argc, argv, 1);
	scenario_run(&s);
	return 0;
}
