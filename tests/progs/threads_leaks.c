/* Leaves, at the return from main: 40 threads blocked forever in
 * pthread_cond_wait (in wait_for_orders), 10 threads in read() on a pipe
 * nobody writes (in wait_for_input), 5 joinable threads that finished and
 * were never joined (created in spawn_forgotten), and, with argument
 * "abba", two threads deadlocked on two mutexes (lock_a_then_b,
 * lock_b_then_a). Prints "ready" once every thread is in place. Then, with
 * argument "crash", dereferences NULL; with "own", installs its own
 * SIGSEGV handler (exit 42) first, after checking it sees SIG_DFL there
 * (exit 3 if not). */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t orders_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t orders = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER, lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both_hold;
static int input[2];

__attribute__((noinline)) static void
wait_for_orders(void)
{
	pthread_mutex_lock(&orders_lock);
	for (;;)
		pthread_cond_wait(&orders, &orders_lock);
}

static void *
order_worker(void *arg)
{
	wait_for_orders();
	return arg;
}

__attribute__((noinline)) static void
wait_for_input(void)
{
	char c;
	if (read(input[0], &c, 1) < 0)
		perror("read");
}

static void *
input_worker(void *arg)
{
	wait_for_input();
	return arg;
}

static void *
forgotten(void *arg)
{
	return arg;
}

__attribute__((noinline)) static void
spawn_forgotten(void)
{
	for (int i = 0; i < 5; i++) {
		pthread_t t;
		pthread_create(&t, NULL, forgotten, NULL);
	}
}

__attribute__((noinline)) static void *
lock_a_then_b(void *arg)
{
	pthread_mutex_lock(&lock_a);
	pthread_barrier_wait(&both_hold);
	pthread_mutex_lock(&lock_b);
	return arg;
}

__attribute__((noinline)) static void *
lock_b_then_a(void *arg)
{
	pthread_mutex_lock(&lock_b);
	pthread_barrier_wait(&both_hold);
	pthread_mutex_lock(&lock_a);
	return arg;
}

static void
on_segv(int sig)
{
	_exit(42);
}

/* volatile so the compiler keeps the faulting store */
static volatile uintptr_t crash_address;

int
main(int argc, char **argv)
{
	pthread_t t;
	if (pipe(input) < 0)
		return 2;
	if (argc > 1 && !strcmp(argv[1], "abba")) {
		pthread_barrier_init(&both_hold, NULL, 2);
		pthread_create(&t, NULL, lock_a_then_b, NULL);
		pthread_create(&t, NULL, lock_b_then_a, NULL);
	} else {
		for (int i = 0; i < 40; i++)
			pthread_create(&t, NULL, order_worker, NULL);
		for (int i = 0; i < 10; i++)
			pthread_create(&t, NULL, input_worker, NULL);
		spawn_forgotten();
	}
	/* Long enough for every thread to reach its wait (and for the
	 * deadlock to be older than the dump's minimum). */
	usleep(300 * 1000);
	printf("ready\n");
	fflush(stdout);
	if (argc > 1 && !strcmp(argv[1], "own")) {
		struct sigaction old;
		if (sigaction(SIGSEGV, NULL, &old) != 0 || old.sa_handler != SIG_DFL)
			return 3;
		signal(SIGSEGV, on_segv);
	}
	if (argc > 1 && (!strcmp(argv[1], "crash") || !strcmp(argv[1], "own")))
		*(volatile int *)crash_address = 1;
	return 0;
}
