/* A library that dlopen_prog loads at run time: its functions hold and
 * wait for a mutex, so their frames and its mapping must appear in the
 * profiles. */
#include "progs.h"

void dl_hold_and_sleep(struct scenario *s);
void dl_waiter_lock(struct scenario *s);

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

NOINLINE void
dl_hold_and_sleep(struct scenario *s)
{
	pthread_mutex_lock(&m);
	scenario_go(s);
	pthread_mutex_unlock(&m);
}

NOINLINE void
dl_waiter_lock(struct scenario *s)
{
	pthread_mutex_lock(&m);
	pthread_mutex_unlock(&m);
}
