/* crash_fault segv|abort|suspend-abrt|suspend-segv|park: contends on a mutex (so that the shim has
 * profiles to write), prints where it will crash ("boom=ADDR", the
 * faulting function, and "target=ADDR", the address it writes to), then
 * writes through a bad pointer in boom() or calls abort(). The test
 * (tests/integration/test_signals.c crash_ends_at_the_fault) traces it
 * and checks the signal that ends it: its siginfo and the registers it
 * is delivered with. suspend-*: the signal, blocked, is sent to the
 * process itself by kill() (as by another process: si_code SI_USER),
 * then sigsuspend() unblocks it; its default action must end the process
 * there, before "after" is printed. park: starts a thread that spins for
 * good and prints "ticker=TID" and "ready=1", asks the seams library (if
 * it is the one preloaded) to hold the crash dump's copy 3 s, then
 * faults in boom() 100 ms later: natively the spinning thread dies with
 * the process at once; under the shim it must not run on meanwhile. */
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "progs.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static volatile int ticker_tid;
static volatile unsigned long ticks;

static void *
ticker(void *arg)
{
	ticker_tid = self_tid();
	for (;;)
		ticks++;
	return arg;
}

static void *
hold(void *arg)
{
	pthread_mutex_lock(&m);
	sleep_us(20000);
	pthread_mutex_unlock(&m);
	return arg;
}

NOINLINE static void
boom(volatile int *p)
{
	*p = 42;
}

int
main(int argc, char **argv)
{
	int susp = argc < 2 ? 0 : !strcmp(argv[1], "suspend-abrt") ? SIGABRT :
				  !strcmp(argv[1], "suspend-segv") ? SIGSEGV : 0;
	int park = argc >= 2 && !strcmp(argv[1], "park");
	if (argc < 2 || (strcmp(argv[1], "segv") && strcmp(argv[1], "abort") && !susp && !park)) {
		fprintf(stderr, "usage: crash_fault segv|abort|suspend-abrt|suspend-segv|park\n");
		return 2;
	}
	pthread_t t[3];
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, hold, NULL);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	if (susp) {
		sigset_t one, none;
		sigemptyset(&one);
		sigaddset(&one, susp);
		sigemptyset(&none);
		sigprocmask(SIG_BLOCK, &one, NULL);
		kill(getpid(), susp);
		printf("before\n");
		fflush(stdout);
		sigsuspend(&none);
		printf("after\n");
		return 0;
	}
	if (park) {
		pthread_t tk;
		pthread_create(&tk, NULL, ticker, NULL);
		while (!ticker_tid)
			sleep_us(1000);
		void (*delay)(int) = (void (*)(int))dlsym(RTLD_DEFAULT,
							  "ct_dump_test_crash_copy_delay");
		if (delay)
			delay(3000);
		printf("ticker=%d\nready=1\n", ticker_tid);
		fflush(stdout);
		sleep_us(100000);
		boom((volatile int *)(uintptr_t)0x1234);
	}
	volatile int *target = (volatile int *)(uintptr_t)0x1234;
	printf("boom=%p\ntarget=%p\n", (void *)(uintptr_t)boom, (void *)(uintptr_t)target);
	fflush(stdout);
	if (!strcmp(argv[1], "segv"))
		boom(target);
	else
		abort();
	return 0;
}
