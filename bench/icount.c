/* contend-icount: the workloads whose instructions bench/icount.sh counts
 * under callgrind, native and preloaded. Instruction counts do not depend
 * on the machine's load, unlike every wall-clock row of contend-bench.
 *
 *   contend-icount WORKLOAD N
 *
 * runs N operations of WORKLOAD: unc (an uncontended lock+unlock pair),
 * churn (a thread created and joined), sem, pipe, cond (a round trip of
 * a two-thread ping-pong in which every wait blocks: under valgrind,
 * which runs one thread at a time, each side really sleeps), mutex (a
 * round trip of a lock handed back and forth: two lock calls that block
 * and two unlocks that charge a waiter, with the semaphore waits and
 * yields that order them). icount.sh
 * runs two sizes and divides the difference, so start-up and exit (the
 * profiles written at exit included) cancel out. */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t ic_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ic_cv = PTHREAD_COND_INITIALIZER;
static volatile long ic_counter;
static long ic_n;
static sem_t ic_s1, ic_s2;
static int ic_p1[2], ic_p2[2];
static int ic_turn;

static void *
ic_nop(void *a)
{
	return a;
}

static void *
ic_sem_peer(void *a)
{
	for (long i = 0; i < ic_n; i++) {
		sem_wait(&ic_s1);
		sem_post(&ic_s2);
	}
	return a;
}

static void *
ic_pipe_peer(void *a)
{
	char c;
	for (long i = 0; i < ic_n; i++)
		if (read(ic_p1[0], &c, 1) != 1 || write(ic_p2[1], &c, 1) != 1)
			abort();
	return a;
}

static void *
ic_cond_peer(void *a)
{
	pthread_mutex_lock(&ic_m);
	for (long i = 0; i < ic_n; i++) {
		while (ic_turn != 1)
			pthread_cond_wait(&ic_cv, &ic_m);
		ic_turn = 0;
		pthread_cond_signal(&ic_cv);
	}
	pthread_mutex_unlock(&ic_m);
	return a;
}

/* mutex: a lock handed between two threads so that every lock call
 * blocks and every unlock has a waiter to charge. The holder lets the
 * peer try (a semaphore), waits until the peer is about to call the
 * lock (a flag; under valgrind, which runs one thread at a time, the
 * peer then blocks in it before the holder runs again), and unlocks. */
static pthread_mutex_t ic_hm = PTHREAD_MUTEX_INITIALIZER;
static sem_t ic_turn_s[2];
static int ic_trying[2];

static void
ic_hand(int to)
{
	sem_post(&ic_turn_s[to]);
	while (!__atomic_load_n(&ic_trying[to], __ATOMIC_ACQUIRE))
		sched_yield();
	__atomic_store_n(&ic_trying[to], 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&ic_hm);
}

static void
ic_try(int me)
{
	sem_wait(&ic_turn_s[me]);
	__atomic_store_n(&ic_trying[me], 1, __ATOMIC_RELEASE);
	pthread_mutex_lock(&ic_hm);
}

static void *
ic_mutex_peer(void *a)
{
	ic_try(1);
	for (long i = 0; i < ic_n; i++) {
		ic_hand(0);
		if (i < ic_n - 1)
			ic_try(1);
	}
	return a;
}

int
main(int argc, char **argv)
{
	if (argc != 3 || (ic_n = atol(argv[2])) <= 0) {
		fprintf(stderr, "usage: contend-icount unc|churn|sem|pipe|cond|mutex N (N > 0)\n");
		return 2;
	}
	const char *w = argv[1];
	pthread_t t;
	char c = 'x';
	if (!strcmp(w, "unc")) {
		for (long i = 0; i < ic_n; i++) {
			pthread_mutex_lock(&ic_m);
			ic_counter++;
			pthread_mutex_unlock(&ic_m);
		}
	} else if (!strcmp(w, "churn")) {
		for (long i = 0; i < ic_n; i++)
			if (pthread_create(&t, NULL, ic_nop, NULL) != 0 || pthread_join(t, NULL) != 0)
				abort();
	} else if (!strcmp(w, "sem")) {
		sem_init(&ic_s1, 0, 0);
		sem_init(&ic_s2, 0, 0);
		pthread_create(&t, NULL, ic_sem_peer, NULL);
		for (long i = 0; i < ic_n; i++) {
			sem_post(&ic_s1);
			sem_wait(&ic_s2);
		}
		pthread_join(t, NULL);
	} else if (!strcmp(w, "pipe")) {
		if (pipe(ic_p1) != 0 || pipe(ic_p2) != 0)
			abort();
		pthread_create(&t, NULL, ic_pipe_peer, NULL);
		for (long i = 0; i < ic_n; i++)
			if (write(ic_p1[1], &c, 1) != 1 || read(ic_p2[0], &c, 1) != 1)
				abort();
		pthread_join(t, NULL);
	} else if (!strcmp(w, "cond")) {
		pthread_create(&t, NULL, ic_cond_peer, NULL);
		pthread_mutex_lock(&ic_m);
		for (long i = 0; i < ic_n; i++) {
			ic_turn = 1;
			pthread_cond_signal(&ic_cv);
			while (ic_turn != 0)
				pthread_cond_wait(&ic_cv, &ic_m);
		}
		pthread_mutex_unlock(&ic_m);
		pthread_join(t, NULL);
	} else if (!strcmp(w, "mutex")) {
		sem_init(&ic_turn_s[0], 0, 0);
		sem_init(&ic_turn_s[1], 0, 0);
		pthread_mutex_lock(&ic_hm);
		pthread_create(&t, NULL, ic_mutex_peer, NULL);
		for (long i = 0; i < ic_n; i++) {
			ic_hand(1);
			ic_try(0);
		}
		pthread_mutex_unlock(&ic_hm);
		pthread_join(t, NULL);
	} else {
		fprintf(stderr, "contend-icount: unknown workload '%s' (unc, churn, sem, pipe, cond, mutex)\n", w);
		return 2;
	}
	return 0;
}
