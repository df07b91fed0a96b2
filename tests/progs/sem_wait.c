/* Semaphore waits by construction: waiters block in sem_wait (sem_waiter)
 * until the main thread (sem_poster) posts once per waiter hold_us later.
 *   sem_wait [waiters=4] [hold_us=100000] [rounds=3] [plain|timed|clock]
 * Block profile: sem_wait (timedwait, clockwait) <- sem_waiter, about rounds*waiters*hold_us.
 * Ends with exit() rather than a return from main. */
#include <errno.h>
#include <semaphore.h>
#include <stdlib.h>

#include "progs.h"

static sem_t sem;

static NOINLINE void
sem_poster(struct scenario *s)
{
	scenario_go(s);
	for (int i = 0; i < s->waiters; i++)
		sem_post(&sem);
}

static NOINLINE void
sem_waiter(struct scenario *s)
{
	struct timespec ts = flavour_deadline(s->flavour);
	int r;
	do {
		if (s->flavour == FLAVOUR_TIMED)
			r = sem_timedwait(&sem, &ts);
		else if (s->flavour == FLAVOUR_CLOCK)
			r = sem_clockwait(&sem, CLOCK_MONOTONIC, &ts);
		else
			r = sem_wait(&sem);
	} while (r != 0 && errno == EINTR);
	MUST0(r);
}

int
main(int argc, char **argv)
{
	struct scenario s = {.hold = sem_poster, .wait = sem_waiter};
	if (sem_init(&sem, 0, 0) != 0)
		die("sem_init", 0);
	scenario_args(&s, argc, argv, 1);
	scenario_run(&s);
	exit(0);
}
