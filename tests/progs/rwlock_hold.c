/* Read-write lock contention by construction, two directions:
 *   rwlock_hold wr [waiters] [hold_us] [rounds] [plain|timed|clock]
 *     a writer holds (writer_hold_and_sleep), readers wait in
 *     pthread_rwlock_rdlock (reader_rdlock);
 *   rwlock_hold rd [waiters] [hold_us] [rounds] [plain|timed|clock]
 *     a reader holds (reader_hold_and_sleep), writers wait in
 *     pthread_rwlock_wrlock (writer_wrlock).
 * Mutex profile: pthread_rwlock_unlock <- *_hold_and_sleep; block profile:
 * the lock call <- the waiter function; both about rounds*waiters*hold_us. */
#include <stdio.h>
#include <string.h>

#include "progs.h"

static pthread_rwlock_t l = PTHREAD_RWLOCK_INITIALIZER;

static NOINLINE void
writer_hold_and_sleep(struct scenario *s)
{
	pthread_rwlock_wrlock(&l);
	scenario_go(s);
	pthread_rwlock_unlock(&l);
}

static NOINLINE void
reader_rdlock(struct scenario *s)
{
	struct timespec ts = flavour_deadline(s->flavour);
	if (s->flavour == FLAVOUR_TIMED)
		MUST0(pthread_rwlock_timedrdlock(&l, &ts));
	else if (s->flavour == FLAVOUR_CLOCK)
		MUST0(pthread_rwlock_clockrdlock(&l, CLOCK_MONOTONIC, &ts));
	else
		MUST0(pthread_rwlock_rdlock(&l));
	pthread_rwlock_unlock(&l);
}

static NOINLINE void
reader_hold_and_sleep(struct scenario *s)
{
	pthread_rwlock_rdlock(&l);
	scenario_go(s);
	pthread_rwlock_unlock(&l);
}

static NOINLINE void
writer_wrlock(struct scenario *s)
{
	struct timespec ts = flavour_deadline(s->flavour);
	if (s->flavour == FLAVOUR_TIMED)
		MUST0(pthread_rwlock_timedwrlock(&l, &ts));
	else if (s->flavour == FLAVOUR_CLOCK)
		MUST0(pthread_rwlock_clockwrlock(&l, CLOCK_MONOTONIC, &ts));
	else
		MUST0(pthread_rwlock_wrlock(&l));
	pthread_rwlock_unlock(&l);
}

int
main(int argc, char **argv)
{
	struct scenario s;
	if (argc > 1 && !strcmp(argv[1], "wr"))
		s = (struct scenario){.hold = writer_hold_and_sleep, .wait = reader_rdlock};
	else if (argc > 1 && !strcmp(argv[1], "rd"))
		s = (struct scenario){.hold = reader_hold_and_sleep, .wait = writer_wrlock};
	else {
		fprintf(stderr, "usage: rwlock_hold wr|rd [waiters] [hold_us] [rounds] [plain|timed|clock]\n");
		return 2;
	}
	scenario_args(&s, argc, argv, 2);
	scenario_run(&s);
	return 0;
}
