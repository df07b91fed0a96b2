/* Threads that do nothing but allocate: with an allocator that locks a
 * pthread mutex (liblockmalloc.so), that lock is contended, and every
 * event the shim records in these threads (their first included) is the
 * wait for it, recorded inside malloc with the lock just taken. No other
 * wait comes first (no barrier at the start, on purpose: the threads spin
 * until main lets them go). With liblockmalloc.so, main lets them go while
 * it holds the allocator's lock (lockmalloc_hold), so that some of them
 * wait for it inside malloc by construction.
 *   malloc_threads [threads=4] [iterations=20000]
 * Prints allocations=<total>; exit 1 if a thread saw a failed malloc. */
#include <dlfcn.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "progs.h"

static long iterations;
static long failures;
static int go;

static void
let_go(void)
{
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
}

static NOINLINE void *
allocate_loop(void *arg)
{
	while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
		sched_yield();
	for (long i = 0; i < iterations; i++) {
		char *p = malloc(16 + (size_t)(i % 512));
		if (!p) {
			__atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED);
			continue;
		}
		memset(p, 1, 16);
		free(p);
	}
	return arg;
}

int
main(int argc, char **argv)
{
	int n = (int)arg_long(argc, argv, 1, 4);
	iterations = arg_long(argc, argv, 2, 20000);
	pthread_t t[64];
	if (n > 64)
		n = 64;
	for (int i = 0; i < n; i++)
		XPT(pthread_create(&t[i], NULL, allocate_loop, NULL));
	void (*hold)(void (*)(void)) = (void (*)(void (*)(void)))dlsym(RTLD_DEFAULT,
									 "lockmalloc_hold");
	if (hold)
		hold(let_go);
	else
		let_go();
	for (int i = 0; i < n; i++)
		XPT(pthread_join(t[i], NULL));
	printf("allocations=%ld\n", (long)n * iterations);
	CHECK_EQ(failures, 0);
	return check_status();
}
