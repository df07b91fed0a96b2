/* Every timed wait the shim wraps, made to time out: each must return
 * ETIMEDOUT (sem_*: -1 with errno ETIMEDOUT) after timeout_us, and the
 * block profile must show it under the function named after it.
 *   timed_waits [timeout_us=50000]
 * A helper thread holds the mutex and the rwlock (as writer) throughout;
 * nobody signals the condvar, posts the semaphore or ends the joined
 * thread before the deadline. Prints <function>_ns=<measured wait> per
 * wait; exit 1 if any result differs. */
#include <errno.h>
#include <semaphore.h>
#include <stdio.h>

#include "progs.h"

static long timeout_us;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t cm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static pthread_rwlock_t l = PTHREAD_RWLOCK_INITIALIZER;
static sem_t sem, release_joinee;
static pthread_barrier_t held, finish;
static pthread_t joinee;

/* sem_* report through errno; fold that into one comparable code. */
static int
sem_result(int r)
{
	return r == -1 ? errno : r == 0 ? 0 : -1000;
}

#define TIMED(fn, clk, call)                                  \
	static NOINLINE int fn(void)                          \
	{                                                     \
		struct timespec ts = deadline_us(clk, timeout_us); \
		return call;                                  \
	}

TIMED(timed_mutex_timedlock, CLOCK_REALTIME, pthread_mutex_timedlock(&m, &ts))
TIMED(timed_mutex_clocklock, CLOCK_MONOTONIC, pthread_mutex_clocklock(&m, CLOCK_MONOTONIC, &ts))
TIMED(timed_rwlock_timedrdlock, CLOCK_REALTIME, pthread_rwlock_timedrdlock(&l, &ts))
TIMED(timed_rwlock_timedwrlock, CLOCK_REALTIME, pthread_rwlock_timedwrlock(&l, &ts))
TIMED(timed_rwlock_clockrdlock, CLOCK_MONOTONIC,
      pthread_rwlock_clockrdlock(&l, CLOCK_MONOTONIC, &ts))
TIMED(timed_rwlock_clockwrlock, CLOCK_MONOTONIC,
      pthread_rwlock_clockwrlock(&l, CLOCK_MONOTONIC, &ts))
TIMED(timed_cond_timedwait, CLOCK_REALTIME, pthread_cond_timedwait(&c, &cm, &ts))
TIMED(timed_cond_clockwait, CLOCK_MONOTONIC, pthread_cond_clockwait(&c, &cm, CLOCK_MONOTONIC, &ts))
TIMED(timed_sem_timedwait, CLOCK_REALTIME, sem_result(sem_timedwait(&sem, &ts)))
TIMED(timed_sem_clockwait, CLOCK_MONOTONIC, sem_result(sem_clockwait(&sem, CLOCK_MONOTONIC, &ts)))
TIMED(timed_timedjoin, CLOCK_REALTIME, pthread_timedjoin_np(joinee, NULL, &ts))
TIMED(timed_clockjoin, CLOCK_MONOTONIC, pthread_clockjoin_np(joinee, NULL, CLOCK_MONOTONIC, &ts))

static const struct {
	const char *name;
	int (*fn)(void);
} waits[] = {
#define W(fn) {#fn, fn}
	W(timed_mutex_timedlock), W(timed_mutex_clocklock), W(timed_rwlock_timedrdlock),
	W(timed_rwlock_timedwrlock), W(timed_rwlock_clockrdlock), W(timed_rwlock_clockwrlock),
	W(timed_cond_timedwait), W(timed_cond_clockwait), W(timed_sem_timedwait),
	W(timed_sem_clockwait), W(timed_timedjoin), W(timed_clockjoin),
#undef W
};

static void *
holder(void *arg)
{
	pthread_mutex_lock(&m);
	pthread_rwlock_wrlock(&l);
	pthread_barrier_wait(&held);
	pthread_barrier_wait(&finish);
	pthread_rwlock_unlock(&l);
	pthread_mutex_unlock(&m);
	return NULL;
}

static void *
joinee_main(void *arg)
{
	while (sem_wait(&release_joinee) != 0)
		;
	return NULL;
}

int
main(int argc, char **argv)
{
	timeout_us = arg_long(argc, argv, 1, 50000);
	pthread_t h;
	if (sem_init(&sem, 0, 0) != 0 || sem_init(&release_joinee, 0, 0) != 0)
		die("sem_init", errno);
	XPT(pthread_barrier_init(&held, NULL, 2));
	XPT(pthread_barrier_init(&finish, NULL, 2));
	XPT(pthread_create(&h, NULL, holder, NULL));
	XPT(pthread_create(&joinee, NULL, joinee_main, NULL));
	pthread_barrier_wait(&held);

	pthread_mutex_lock(&cm);
	for (size_t i = 0; i < sizeof(waits) / sizeof(waits[0]); i++) {
		errno = 0;
		int64_t t0 = now_ns();
		int r = waits[i].fn();
		int64_t waited = now_ns() - t0;
		if (r != ETIMEDOUT) {
			check_failures++;
			fprintf(stderr, "FAIL: %s returned %d, expected ETIMEDOUT (%d)\n",
				waits[i].name, r, ETIMEDOUT);
		}
		if (waited < timeout_us * 1000 - 1000000) {
			check_failures++;
			fprintf(stderr, "FAIL: %s returned after %lld ns, before its deadline\n",
				waits[i].name, (long long)waited);
		}
		printf("%s_ns=%lld\n", waits[i].name, (long long)waited);
	}
	pthread_mutex_unlock(&cm);

	pthread_barrier_wait(&finish);
	sem_post(&release_joinee);
	XPT(pthread_join(h, NULL));
	XPT(pthread_join(joinee, NULL));
	printf("timeout_ns=%lld\n", (long long)timeout_us * 1000);
	return check_status();
}
