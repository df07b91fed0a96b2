/* A fork storm while one internal lock of the shim is held (core/fork.h).
 *
 *   fork_storm <lock> <forks> <fork|_Fork> [dump_every]
 *
 * Needs libcontend-seams.so preloaded (its ct_fork_test_hold holds <lock>,
 * or "none"). Two threads contend on a mutex all along (so the tables and
 * the waiter buckets are in use), a third holds <lock> again and again for
 * 5 ms, with short pauses; main forks <forks> times, one child at a time,
 * each time once it sees the lock held.
 *
 * Each child uses the shim at once: a fork() child makes a thread hold a
 * mutex for 2 ms while it waits on it (a recorded wait, child_wait), sets
 * and restores SIGTERM's disposition and exits; every dump_every-th child
 * (default 25) leaves with exit(0), writing its profiles, the others with
 * _exit(0). A _Fork() child of this multithreaded parent may only make
 * async-signal-safe calls: it sleeps 2 ms (a recorded wait), sets and
 * restores SIGTERM and _exit(0)s.
 *
 * A child that has not exited 20 s after its fork is killed and counted as
 * hung (and the storm stops there). Prints forks=, hangs=, failures= and dump_child_pid= (the children
 * that wrote profiles); exit 0 only with no hang and no failure. */
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

#define CHILD_TIMEOUT_NS (20LL * 1000000000LL)

static int (*hold_fn)(int, long, int *);
static int held;
static int lock_index = -1;
static int stop;
static pthread_mutex_t contended = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t cm = PTHREAD_MUTEX_INITIALIZER;
static int cm_held;

static void *
contender(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		pthread_mutex_lock(&contended);
		for (volatile int i = 0; i < 2000; i++) {
		}
		pthread_mutex_unlock(&contended);
	}
	return NULL;
}

static void *
holder(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		/* Held 5 ms at a time, with short pauses so that the threads
		 * spinning on it get through. */
		if (lock_index >= 0)
			hold_fn(lock_index, 5000, &held);
		else
			sleep_us(5000);
		sleep_us(500);
	}
	return NULL;
}

static void *
child_holder(void *arg)
{
	/* Until main sleeps on it, so its wait happens however late it runs. */
	hold_until_waiter(&cm, &cm_held, 1000);
	return arg;
}

static NOINLINE void
child_wait(void)
{
	pthread_mutex_lock(&cm);
	pthread_mutex_unlock(&cm);
}

static int
use_signals(void)
{
	struct sigaction ign, old, back;
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	if (sigaction(SIGTERM, &ign, &old) != 0)
		return 1;
	if (sigaction(SIGTERM, &old, &back) != 0 || back.sa_handler != SIG_IGN)
		return 1;
	return 0;
}

/* A fork() child: a recorded wait on a mutex another thread holds. */
static void
fork_child(int dump)
{
	pthread_t t;
	if (pthread_create(&t, NULL, child_holder, NULL) != 0)
		_exit(3);
	while (!__atomic_load_n(&cm_held, __ATOMIC_ACQUIRE))
		sched_yield();
	child_wait();
	if (pthread_join(t, NULL) != 0)
		_exit(4);
	if (use_signals())
		_exit(5);
	if (dump)
		exit(0);
	_exit(0);
}

/* A _Fork() child of a multithreaded parent: async-signal-safe calls only. */
static void
raw_fork_child(void)
{
	struct timespec ts = {0, 2 * 1000 * 1000};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
	}
	if (use_signals())
		_exit(5);
	_exit(0);
}

int
main(int argc, char **argv)
{
	need_args(argc, 4, "fork_storm <lock|none> <forks> <fork|_Fork> [dump_every]");
	hold_fn = (int (*)(int, long, int *))dlsym(RTLD_DEFAULT, "ct_fork_test_hold");
	const char *(*name_fn)(int) = (const char *(*)(int))dlsym(RTLD_DEFAULT, "ct_fork_lock_name");
	if (!hold_fn || !name_fn) {
		fprintf(stderr, "SETUP: libcontend-seams.so is not preloaded\n");
		return 99;
	}
	if (strcmp(argv[1], "none") != 0) {
		for (int i = 0; name_fn(i); i++)
			if (!strcmp(name_fn(i), argv[1]))
				lock_index = i;
		if (lock_index < 0) {
			fprintf(stderr, "SETUP: no internal lock named %s\n", argv[1]);
			return 99;
		}
	}
	long forks = arg_long(argc, argv, 2, 100);
	int raw = !strcmp(argv[3], "_Fork");
	long dump_every = arg_long(argc, argv, 4, 25);

	pthread_t th[3];
	XPT(pthread_create(&th[0], NULL, contender, NULL));
	XPT(pthread_create(&th[1], NULL, contender, NULL));
	XPT(pthread_create(&th[2], NULL, holder, NULL));

	int hangs = 0, failures = 0;
	for (long i = 0; i < forks; i++) {
		int dump = !raw && i % dump_every == 0;
		fflush(stdout); /* or a child's exit() would print it again */
		/* Fork while it is held (a lock prepare takes waits for the
		 * holder); if it cannot be seen held within 1 s, fork anyway. */
		for (int64_t t = now_ns(); lock_index >= 0 && now_ns() - t < 1000000000LL &&
					   !__atomic_load_n(&held, __ATOMIC_ACQUIRE);)
			sched_yield();
		pid_t pid = raw ? _Fork() : fork();
		if (pid < 0)
			die("fork", errno);
		if (pid == 0) {
			if (raw)
				raw_fork_child();
			fork_child(dump);
		}
		int64_t deadline = now_ns() + CHILD_TIMEOUT_NS;
		int st = 0;
		pid_t r;
		while ((r = waitpid(pid, &st, WNOHANG)) == 0 && now_ns() < deadline)
			sleep_us(1000);
		if (r == 0) {
			fprintf(stderr, "FAIL: child %d (fork %ld) hung\n", (int)pid, i);
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			hangs++;
			break; /* one is enough: do not spend 20 s on each */
		} else if (r != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "FAIL: child %d (fork %ld) status 0x%x\n", (int)pid, i, st);
			failures++;
		} else if (dump) {
			printf("dump_child_pid=%d\n", (int)pid);
		}
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < 3; i++)
		XPT(pthread_join(th[i], NULL));
	printf("forks=%ld\nhangs=%d\nfailures=%d\n", forks, hangs, failures);
	return hangs || failures ? 1 : 0;
}
