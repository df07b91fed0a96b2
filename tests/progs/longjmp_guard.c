/* A signal handler that leaves with siglongjmp, arriving while the shim
 * works for its thread (recording an event, with its internal locks
 * held): the handler must not run inside the shim, or the jump leaves
 * those locks held and the next recorded event of any thread spins on
 * them for ever.
 *
 *   longjmp_guard
 *
 * Needs libcontend-seams.so preloaded (ct_fork_test_hold holds every
 * profile-table lock, guard raised, as a recording thread does). A
 * thread holds them for 2 s; once main sees them held it queues SIGUSR1
 * (value 42) to that thread, whose handler counts the call, checks what
 * it was given and siglongjmps; that thread then sleeps 20 ms (a recorded
 * wait) and main joins it (another). Prints handler_runs=, info_ok= and
 * jumped_tid=; exit 0 when all ran. Without the fix the program hangs in
 * the first recorded event after the jump. */
#include <dlfcn.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

#include "progs.h"

#define HOLD_US (2 * 1000 * 1000)

static int (*hold_fn)(int, long, int *);
static int tables = -1;
static int held;
static sigjmp_buf jump_to;
static int handler_runs, info_ok;

static void
on_usr1(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	__atomic_fetch_add(&handler_runs, 1, __ATOMIC_RELAXED);
	info_ok = sig == SIGUSR1 && si->si_code == SI_QUEUE && si->si_value.sival_int == 42 &&
		  si->si_pid == getpid();
	siglongjmp(jump_to, 1);
}

/* A wait the shim records (20 ms, with CONTEND_BLOCK_RATE=1): only a
 * thread whose guard was left records anything. */
static void __attribute__((noinline))
after_jump(void)
{
	struct timespec ts = {0, 20 * 1000 * 1000};
	nanosleep(&ts, NULL);
}

static void *
holder(void *arg)
{
	(void)arg;
	if (sigsetjmp(jump_to, 1) == 0) {
		hold_fn(tables, HOLD_US, &held);
		printf("the hold ended without the handler\n");
		return NULL;
	}
	printf("jumped_tid=%d\n", self_tid());
	fflush(stdout);
	after_jump();
	return NULL;
}

int
main(void)
{
	hold_fn = (int (*)(int, long, int *))dlsym(RTLD_DEFAULT, "ct_fork_test_hold");
	const char *(*name_fn)(int) =
		(const char *(*)(int))dlsym(RTLD_DEFAULT, "ct_fork_lock_name");
	if (!hold_fn || !name_fn)
		die("the seams library is not preloaded", ENOSYS);
	for (int i = 0; name_fn(i); i++)
		if (!strcmp(name_fn(i), "tables"))
			tables = i;
	if (tables < 0)
		die("no \"tables\" lock in the seams library", ENOENT);
	struct sigaction sa = {0};
	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL) != 0)
		die("sigaction", errno);
	pthread_t h;
	XPT(pthread_create(&h, NULL, holder, NULL));
	while (!__atomic_load_n(&held, __ATOMIC_ACQUIRE))
		pause_us_raw(1000);
	XPT(pthread_sigqueue(h, SIGUSR1, (union sigval){.sival_int = 42}));
	XPT(pthread_join(h, NULL));
	printf("handler_runs=%d\ninfo_ok=%d\n", handler_runs, info_ok);
	return handler_runs == 1 && info_ok ? 0 : 1;
}
