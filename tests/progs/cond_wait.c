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
	pthread_mutex_lock(&m);
	while (!ready)
		WAIT_FLAVOURED(s, pthread_cond, wait, &c, &m);
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

SCENARIO_MODES_MAIN("cond_wait", {"signal", cond_signaller, cond_waiter},
		    {"handover", wait_holder, handover_locker})
