/* Many short contended operations on every wrapped primitive at once, to
 * shake out races in the shim's bookkeeping: the totals must come out
 * right, nothing may hang or crash, and every profile value must stay
 * sane (the test decodes them).
 *   stress [iterations=20000]
 * Prints the totals; exit 1 if one is wrong. */
#include <errno.h>
#include <semaphore.h>
#include <stdio.h>

#include "progs.h"

#define THREADS 4

static long iterations;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t l = PTHREAD_RWLOCK_INITIALIZER;
static pthread_spinlock_t sl;
static pthread_mutex_t cm = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static sem_t ping, pong;
static pthread_barrier_t b;
static long mutex_total, rw_total, spin_total, turn;

static NOINLINE void
stress_mutex(void)
{
	pthread_mutex_lock(&m);
	mutex_total++;
	pthread_mutex_unlock(&m);
}

static NOINLINE void
stress_rwlock(long i)
{
	if (i % 8 == 0) {
		pthread_rwlock_wrlock(&l);
		rw_total++;
	} else {
		pthread_rwlock_rdlock(&l);
		CHECK_EQ(rw_total >= 0, 1);
	}
	pthread_rwlock_unlock(&l);
}

static NOINLINE void
stress_spin(void)
{
	pthread_spin_lock(&sl);
	spin_total++;
	pthread_spin_unlock(&sl);
}

/* Threads take turns (turn % THREADS) through one condvar. */
static NOINLINE void
stress_cond_turn(int self)
{
	pthread_mutex_lock(&cm);
	while (turn % THREADS != self)
		pthread_cond_wait(&c, &cm);
	turn++;
	pthread_cond_broadcast(&c);
	pthread_mutex_unlock(&cm);
}

static void *
stress_thread(void *arg)
{
	int self = (int)(long)arg;
	for (long i = 0; i < iterations; i++) {
		stress_mutex();
		stress_rwlock(i);
		stress_spin();
		if (i % 16 == 0)
			stress_cond_turn(self);
		if (self < 2 && i % 4 == 0) { /* threads 0 and 1 ping-pong */
			sem_t *mine = self ? &pong : &ping, *other = self ? &ping : &pong;
			sem_post(other);
			while (sem_wait(mine) != 0)
				CHECK_EQ(errno, EINTR);
		}
		if (i % 1024 == 0)
			pthread_barrier_wait(&b);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	pthread_t t[THREADS];
	iterations = arg_long(argc, argv, 1, 20000);
	XPT(pthread_spin_init(&sl, PTHREAD_PROCESS_PRIVATE));
	XPT(pthread_barrier_init(&b, NULL, THREADS));
	if (sem_init(&ping, 0, 0) != 0 || sem_init(&pong, 0, 0) != 0)
		die("sem_init", errno);
	for (long i = 0; i < THREADS; i++)
		XPT(pthread_create(&t[i], NULL, stress_thread, (void *)i));
	for (int i = 0; i < THREADS; i++)
		XPT(pthread_join(t[i], NULL));
	CHECK_EQ(mutex_total, THREADS * iterations);
	CHECK_EQ(rw_total, THREADS * ((iterations + 7) / 8));
	CHECK_EQ(spin_total, THREADS * iterations);
	CHECK_EQ(turn, THREADS * ((iterations + 15) / 16));
	return check_status();
}
