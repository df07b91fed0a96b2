/* What a live thread dump must sort out (issue 11, "stuck means stuck"),
 * all in place at once, each by construction:
 *   - an idle pool: W threads "pool" parked in pthread_cond_wait on one
 *     condvar at one site (pool_worker), nobody holding a lock they need;
 *   - a thread "blocked" in pthread_mutex_lock (take_table) behind a mutex
 *     that thread "holder" holds (hold_table) until the dump is written;
 *   - a thread "rearm" that reads its request from a pipe, then loops in
 *     pthread_cond_timedwait with 20 ms timeouts on a condvar nobody
 *     signals (rearm_loop), as a server's request thread blocked behind a
 *     lock of the server's own re-arms a short timeout to check for a kill
 *     flag (having read its request first, it is not a service thread
 *     parked where it always waits).
 *
 *   stuck_mix [W]      (W pool threads, default 6)
 *
 * Once every pool thread and the blocked thread is seen by the kernel in
 * futex() and the re-armed wait has run at least 1 s without a pause, main
 * prints
 *   holder_tid=T, blocked_tid=T, rearm_tid=T (a line each)
 *   rearm_min_ms=N     (20 ms x the timeouts since the wait began or
 *                       since its last pause of 50 ms or more between two
 *                       waits, which a thread dump must not undercut)
 * sends itself SIGUSR2 (run with CONTEND_DUMP_SIGNAL=SIGUSR2) and waits
 * for threads.0001.txt in $CONTEND_OUT (default contend.%p; at most 60 s,
 * exit 4 when it never comes), then lets everything go, joins every
 * thread and exits 0. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "progs.h"


static pthread_mutex_t pool_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_c = PTHREAD_COND_INITIALIZER;
static int pool_parked, pool_tids[64];
static pthread_mutex_t table = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t rearm_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rearm_c = PTHREAD_COND_INITIALIZER;
static int stop, table_held, holder_tid, blocked_tid, rearm_tid;
static long rearm_run; /* timeouts in the current unpaused run */
static int request[2];  /* the rearm thread's request, written before it starts */

static NOINLINE void
pool_worker(void)
{
	pthread_mutex_lock(&pool_m);
	pool_tids[pool_parked++] = self_tid();
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE))
		pthread_cond_wait(&pool_c, &pool_m);
	pthread_mutex_unlock(&pool_m);
}

/* Holds the table, sleeping in 2 ms steps, until told to stop. */
static NOINLINE void
hold_table(void)
{
	pthread_mutex_lock(&table);
	__atomic_store_n(&holder_tid, self_tid(), __ATOMIC_RELEASE);
	__atomic_store_n(&table_held, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE))
		sleep_us(2000);
	pthread_mutex_unlock(&table);
}

static NOINLINE void
take_table(void)
{
	pthread_mutex_lock(&table);
	pthread_mutex_unlock(&table);
}

static void *
blocked_main(void *arg)
{
	pthread_setname_np(pthread_self(), "blocked");
	while (!__atomic_load_n(&table_held, __ATOMIC_ACQUIRE))
		pause_us_raw(1000);
	__atomic_store_n(&blocked_tid, self_tid(), __ATOMIC_RELEASE);
	take_table();
	return arg;
}

/* The timed wait re-armed every REARM_MS (REARMED_WAIT). */
static NOINLINE void
rearm_loop(void)
{
	char req;
	if (read(request[0], &req, 1) != 1)
		die("read request", errno);
	pthread_mutex_lock(&rearm_m);
	__atomic_store_n(&rearm_tid, self_tid(), __ATOMIC_RELEASE);
	REARMED_WAIT(&rearm_c, &rearm_m, &rearm_run, __atomic_load_n(&stop, __ATOMIC_ACQUIRE));
	pthread_mutex_unlock(&rearm_m);
}

/* Every pool thread counted under pool_m (so inside its wait) and, like
 * the blocked thread, asleep in futex() as the kernel sees it. */
static int
in_place(int workers)
{
	pthread_mutex_lock(&pool_m);
	int parked = pool_parked;
	pthread_mutex_unlock(&pool_m);
	if (parked < workers)
		return 0;
	for (int i = 0; i < workers; i++)
		if (!in_syscall(pool_tids[i], SYS_futex))
			return 0;
	int b = __atomic_load_n(&blocked_tid, __ATOMIC_ACQUIRE);
	return b && in_syscall(b, SYS_futex);
}

int
main(int argc, char **argv)
{
	int workers = (int)arg_long(argc, argv, 1, 6);
	if (workers > 64)
		workers = 64;
	pthread_t pool[64], holder, blocked, rearm;
	for (int i = 0; i < workers; i++)
		start_named(&pool[i], "pool", pool_worker);
	start_named(&holder, "holder", hold_table);
	XPT(pthread_create(&blocked, NULL, blocked_main, NULL));
	if (pipe(request) != 0 || write(request[1], "q", 1) != 1)
		die("request pipe", errno);
	start_named(&rearm, "rearm", rearm_loop);
	/* Bounded (60 s), and long: a loaded machine runs threads late. */
	int64_t give_up = now_ns() + 60 * 1000000000LL;
	long run;
	while (!in_place(workers) ||
	       (run = __atomic_load_n(&rearm_run, __ATOMIC_ACQUIRE)) * REARM_MS < REARM_RUN_MS) {
		if (now_ns() > give_up) {
			fprintf(stderr, "stuck_mix: threads not in place after 60 s\n");
			return 4;
		}
		pause_us_raw(5000);
	}
	printf("holder_tid=%d\nblocked_tid=%d\nrearm_tid=%d\n", holder_tid, blocked_tid, rearm_tid);
	printf("rearm_min_ms=%ld\n", run * REARM_MS);
	fflush(stdout);

	char path[4096];
	int written = dump_threads_and_wait(path, sizeof(path));

	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	pthread_mutex_lock(&pool_m);
	pthread_cond_broadcast(&pool_c);
	pthread_mutex_unlock(&pool_m);
	for (int i = 0; i < workers; i++)
		XPT(pthread_join(pool[i], NULL));
	XPT(pthread_join(holder, NULL));
	XPT(pthread_join(blocked, NULL));
	XPT(pthread_join(rearm, NULL));
	if (!written) {
		fprintf(stderr, "stuck_mix: no %s after 60 s\n", path);
		return 4;
	}
	return 0;
}
