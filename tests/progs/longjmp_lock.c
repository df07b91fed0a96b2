/* A lock wait left by siglongjmp from a signal handler: main blocks in
 * pthread_mutex_lock on m, held by jump_hold for 300 ms; once main is seen
 * asleep in the kernel, SIGUSR1's handler siglongjmps out of the lock call
 * (the lock is never taken). Then `rounds` rounds in which round_hold
 * holds m for hold_us while main waits in pthread_mutex_lock (main is
 * blocked before the hold starts), each followed by 50 ms in which nobody
 * waits on m.
 *   longjmp_lock [rounds=10] [hold_us=20000]
 * Mutex profile: round_hold's unlocks carry about rounds x hold_us, the
 * waits main really made; a waiter registration left behind by the jump
 * would add every idle gap. Prints jumped=1, expected_ns= and waited_ns=
 * (main's round waits, measured around its calls); exit 0. */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "progs.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static sigjmp_buf jump_to;
static volatile int main_tid;
static long hold_us = 20000;

static void
on_usr1(int sig)
{
	(void)sig;
	siglongjmp(jump_to, 1);
}

/* Until main sleeps in the kernel (in its lock call). */
static void
wait_main_blocked(void)
{
	while (!main_tid || !in_syscall(main_tid, SYS_futex))
		pause_us_raw(1000);
}

static NOINLINE void *
jump_hold(void *arg)
{
	pthread_t main_thread = *(pthread_t *)arg;
	MUST0(pthread_mutex_lock(&m));
	wait_main_blocked();
	pthread_kill(main_thread, SIGUSR1);
	sleep_us(300000);
	pthread_mutex_unlock(&m);
	return NULL;
}

static NOINLINE void *
round_hold(void *arg)
{
	(void)arg;
	MUST0(pthread_mutex_lock(&m));
	wait_main_blocked();
	sleep_us(hold_us);
	pthread_mutex_unlock(&m);
	return NULL;
}

static NOINLINE void
main_wait(void)
{
	MUST0(pthread_mutex_lock(&m));
	pthread_mutex_unlock(&m);
}

int
main(int argc, char **argv)
{
	int rounds = (int)arg_long(argc, argv, 1, 10);
	hold_us = arg_long(argc, argv, 2, 20000);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);

	pthread_t self = pthread_self(), t;
	XPT(pthread_create(&t, NULL, jump_hold, &self));
	/* jump_hold has the lock once main is blocked on it. */
	while (pthread_mutex_trylock(&m) == 0) {
		pthread_mutex_unlock(&m);
		pause_us_raw(1000);
	}
	int jumped = 0;
	int64_t waited = 0;
	if (sigsetjmp(jump_to, 1) == 0) {
		main_tid = self_tid();
		main_wait();
		fprintf(stderr, "longjmp_lock: main took the lock\n");
	} else {
		jumped = 1;
	}
	main_tid = 0;
	XPT(pthread_join(t, NULL));
	for (int i = 0; i < rounds; i++) {
		XPT(pthread_create(&t, NULL, round_hold, NULL));
		/* round_hold has the lock before main waits for it. */
		while (pthread_mutex_trylock(&m) == 0) {
			pthread_mutex_unlock(&m);
			pause_us_raw(1000);
		}
		main_tid = self_tid();
		int64_t t0 = now_ns();
		main_wait();
		waited += now_ns() - t0;
		main_tid = 0;
		XPT(pthread_join(t, NULL));
		sleep_us(50000);
	}
	printf("jumped=%d\n", jumped);
	printf("expected_ns=%lld\n", (long long)rounds * hold_us * 1000);
	printf("waited_ns=%lld\n", (long long)waited);
	return jumped ? 0 : 1;
}
