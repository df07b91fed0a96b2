/* Cancellation inside wrapped waits: a thread cancelled in
 * pthread_cond_wait / pthread_cond_timedwait (with the mutex handed over
 * to a queued locker first) or sem_wait / sem_timedwait runs its cleanup
 * handler, the join sees PTHREAD_CANCELED, the mutex is free again, and
 * the program carries on: it then makes contention of its own
 * (after_cancel_hold) and exits 0, so its profiles get written.
 * Exit 1 on any deviation. */
#include <errno.h>
#include <semaphore.h>
#include <stdio.h>

#include "progs.h"

enum wait_kind { COND_WAIT, COND_TIMEDWAIT, SEM_WAIT, SEM_TIMEDWAIT, NKINDS };
static const char *const kind_names[] = {"cond_wait", "cond_timedwait", "sem_wait",
					 "sem_timedwait"};

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static sem_t sem;
static int cleanups, in_wait;

static void
cleanup_unlock(void *arg)
{
	__atomic_fetch_add(&cleanups, 1, __ATOMIC_RELAXED);
	if (arg)
		pthread_mutex_unlock(arg);
}

static void *
cancel_victim(void *arg)
{
	enum wait_kind k = (enum wait_kind)(long)arg;
	struct timespec ts = deadline_us(CLOCK_REALTIME, 60 * 1000000L);
	if (k == COND_WAIT || k == COND_TIMEDWAIT) {
		pthread_mutex_lock(&m);
		pthread_cleanup_push(cleanup_unlock, &m);
		__atomic_store_n(&in_wait, 1, __ATOMIC_RELEASE);
		/* Keep m a while so the locker queues on it and the wait
		 * hands it over (the shim's handover path). */
		sleep_us(20000);
		for (;;) /* nobody signals */
			if (k == COND_WAIT)
				pthread_cond_wait(&c, &m);
			else
				pthread_cond_timedwait(&c, &m, &ts);
		pthread_cleanup_pop(1);
	} else {
		pthread_cleanup_push(cleanup_unlock, NULL);
		__atomic_store_n(&in_wait, 1, __ATOMIC_RELEASE);
		for (;;)
			if (k == SEM_WAIT)
				sem_wait(&sem);
			else
				sem_timedwait(&sem, &ts);
		pthread_cleanup_pop(1);
	}
	return NULL;
}

static NOINLINE void
cancel_in_wait(enum wait_kind k)
{
	pthread_t t;
	void *ret = NULL;
	in_wait = 0;
	cleanups = 0;
	XPT(pthread_create(&t, NULL, cancel_victim, (void *)(long)k));
	while (!__atomic_load_n(&in_wait, __ATOMIC_ACQUIRE))
		sleep_us(1000);
	if (k == COND_WAIT || k == COND_TIMEDWAIT) {
		pthread_mutex_lock(&m); /* queues while the victim sleeps holding m */
		pthread_mutex_unlock(&m);
	}
	sleep_us(30000); /* let it block in the wait */
	CHECK_EQ(pthread_cancel(t), 0);
	CHECK_EQ(pthread_join(t, &ret), 0);
	printf("%s: ", kind_names[k]);
	CHECK_EQ(ret == PTHREAD_CANCELED, 1);
	CHECK_EQ(cleanups, 1);
	CHECK_EQ(pthread_mutex_trylock(&m), 0); /* the cleanup released it */
	CHECK_EQ(pthread_mutex_unlock(&m), 0);
}

static pthread_mutex_t after = PTHREAD_MUTEX_INITIALIZER;

SCENARIO_MUTEX(after_cancel_hold, after_cancel_wait, after)

int
main(void)
{
	if (sem_init(&sem, 0, 0) != 0)
		die("sem_init", errno);
	for (int k = 0; k < NKINDS; k++)
		cancel_in_wait((enum wait_kind)k);
	struct scenario s = {.hold = after_cancel_hold, .wait = after_cancel_wait,
			     .waiters = 2, .hold_us = 50000, .rounds = 2};
	scenario_run(&s);
	return check_status();
}
