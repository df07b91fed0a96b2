/* crash_fault segv|abort|suspend-abrt|suspend-segv: contends on a mutex (so that the shim has
 * profiles to write), prints where it will crash ("boom=ADDR", the
 * faulting function, and "target=ADDR", the address it writes to), then
 * writes through a bad pointer in boom() or calls abort(). The test
 * (tests/integration/test_signals.c crash_ends_at_the_fault) traces it
 * and checks the signal that ends it: its siginfo and the registers it
 * is delivered with. suspend-*: the signal, blocked, is sent to the
 * process itself by kill() (as by another process: si_code SI_USER),
 * then sigsuspend() unblocks it; its default action must end the process
 * there, before "after" is printed. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "progs.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

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
	if (argc < 2 || (strcmp(argv[1], "segv") && strcmp(argv[1], "abort") && !susp)) {
		fprintf(stderr, "usage: crash_fault segv|abort|suspend-abrt|suspend-segv\n");
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
	volatile int *target = (volatile int *)(uintptr_t)0x1234;
	printf("boom=%p\ntarget=%p\n", (void *)(uintptr_t)boom, (void *)(uintptr_t)target);
	fflush(stdout);
	if (!strcmp(argv[1], "segv"))
		boom(target);
	else
		abort();
	return 0;
}
