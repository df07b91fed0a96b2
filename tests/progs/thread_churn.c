/* Threads created and reaped in every way pthreads allows, checked at
 * every step, so that a thread dump at exit must find no leak.
 *   thread_churn churn <threads> [leak]
 *     <threads> threads in rounds of 8, each reaped by one of: join,
 *     pthread_tryjoin_np in a loop, pthread_timedjoin_np,
 *     pthread_clockjoin_np, pthread_detach by main, created detached,
 *     pthread_detach(pthread_self()), join of a thread that called
 *     pthread_exit. Then 6 threads blocked on a pipe: each gets EBUSY from
 *     tryjoin_np and ETIMEDOUT from timedjoin_np and clockjoin_np (errno
 *     untouched), is released and joined; with "leak", the 6 are left
 *     unjoined once they have exited (exactly 6 leaks, created in
 *     spawn_blocked). Last, one thread is left blocked for good in read()
 *     in `sentinel`, so that there is a thread dump at exit.
 *   thread_churn ends <threads>
 *     <threads> threads cancelled in read() of a pipe nobody writes, and
 *     <threads> threads that call pthread_exit, none of them joined: once
 *     the kernel has let each go, the dump at exit must show exactly those
 *     as leaks (created in cancelled_ends and exited_ends), which it can
 *     only if the shim saw each thread end whichever way it ended.
 *   thread_churn live <threads>
 *     <threads> threads alive at once (small stacks), all waiting on one
 *     condition variable, then released and joined.
 * Prints reaped=<n> (and leaked=<n>); exit 1 on a failed check. */

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "progs.h"

enum { ROUND = 8, BLOCKED = 6 };

static int detached_done;
static long reaped;

static void *
plain(void *arg)
{
	return arg;
}

static void *
exits(void *arg)
{
	pthread_exit(arg);
}

static void *
detached_worker(void *arg)
{
	__atomic_fetch_add(&detached_done, 1, __ATOMIC_RELEASE);
	return arg;
}

static void *
self_detaching(void *arg)
{
	int r = pthread_detach(pthread_self());
	if (r != 0)
		must_failed("pthread_detach(pthread_self())", r);
	__atomic_fetch_add(&detached_done, 1, __ATOMIC_RELEASE);
	return arg;
}

static struct timespec
far_deadline(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	ts.tv_sec += 600;
	return ts;
}

static struct timespec
past_deadline(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	ts.tv_sec -= 1;
	return ts;
}

/* Reaps t by the flavour k; the value it returned must be want. */
static NOINLINE void
reap(pthread_t t, int k, void *want)
{
	void *got = NULL;
	int r;
	switch (k) {
	case 0:
	case 7:
		r = pthread_join(t, &got);
		break;
	case 1:
		while ((r = pthread_tryjoin_np(t, &got)) == EBUSY)
			sched_yield();
		break;
	case 2: {
		struct timespec ts = far_deadline(CLOCK_REALTIME);
		r = pthread_timedjoin_np(t, &got, &ts);
		break;
	}
	case 3: {
		struct timespec ts = far_deadline(CLOCK_MONOTONIC);
		r = pthread_clockjoin_np(t, &got, CLOCK_MONOTONIC, &ts);
		break;
	}
	case 4: /* counted with the detached ones */
		if ((r = pthread_detach(t)) != 0)
			must_failed("pthread_detach", r);
		return;
	default: /* 5, 6: detached already */
		return;
	}
	if (r != 0)
		must_failed("join flavour", k * 1000 + r);
	if (got != want)
		must_failed("value returned by the joined thread", k);
	reaped++;
}

static NOINLINE void
churn(long total)
{
	pthread_attr_t det;
	XPT(pthread_attr_init(&det));
	XPT(pthread_attr_setdetachstate(&det, PTHREAD_CREATE_DETACHED));
	long ndetached = 0;
	for (long base = 0; base < total; base += ROUND) {
		pthread_t t[ROUND];
		int n = total - base < ROUND ? (int)(total - base) : ROUND;
		for (int i = 0; i < n; i++) {
			void *arg = (void *)(base + i + 1);
			switch (i) {
			case 5:
				XPT(pthread_create(&t[i], &det, detached_worker, arg));
				ndetached++;
				break;
			case 6:
				XPT(pthread_create(&t[i], NULL, self_detaching, arg));
				ndetached++;
				break;
			case 7:
				XPT(pthread_create(&t[i], NULL, exits, arg));
				break;
			case 4:
				XPT(pthread_create(&t[i], NULL, detached_worker, arg));
				ndetached++;
				break;
			default:
				XPT(pthread_create(&t[i], NULL, plain, arg));
			}
		}
		for (int i = 0; i < n; i++)
			reap(t[i], i, (void *)(base + i + 1));
	}
	/* Detached threads finish on their own: wait for their last act. */
	while (__atomic_load_n(&detached_done, __ATOMIC_ACQUIRE) < ndetached)
		sched_yield();
	reaped += ndetached;
	pthread_attr_destroy(&det);
}

static int gate[2];
static pid_t blocked_tid[BLOCKED];

static void *
blocked(void *arg)
{
	long i = (long)arg;
	blocked_tid[i] = (pid_t)syscall(SYS_gettid);
	char c;
	if (read(gate[0], &c, 1) != 1)
		must_failed("read(gate)", -1);
	return arg;
}

static NOINLINE void
spawn_blocked(pthread_t *t)
{
	for (long i = 0; i < BLOCKED; i++)
		XPT(pthread_create(&t[i], NULL, blocked, (void *)i));
}

/* Until the kernel has let thread tid go (after its exit handlers ran). */
static void
wait_gone(pid_t tid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/task/%d", (int)tid);
	while (access(path, F_OK) == 0)
		sched_yield();
}

static NOINLINE void
failed_joins(int leak)
{
	pthread_t t[BLOCKED];
	if (pipe(gate) != 0)
		die("pipe", errno);
	spawn_blocked(t);
	for (int i = 0; i < BLOCKED; i++) {
		struct timespec rt = past_deadline(CLOCK_REALTIME);
		struct timespec mono = past_deadline(CLOCK_MONOTONIC);
		void *got = (void *)-1;
		errno = 1234;
		MUST0(pthread_tryjoin_np(t[i], &got) != EBUSY);
		MUST0(pthread_timedjoin_np(t[i], &got, &rt) != ETIMEDOUT);
		MUST0(pthread_clockjoin_np(t[i], &got, CLOCK_MONOTONIC, &mono) != ETIMEDOUT);
		MUST0(errno != 1234);
		MUST0(got != (void *)-1);
	}
	if (write(gate[1], "xxxxxx", BLOCKED) != BLOCKED)
		die("write", errno);
	for (int i = 0; i < BLOCKED; i++) {
		if (leak) {
			while (!__atomic_load_n(&blocked_tid[i], __ATOMIC_ACQUIRE))
				sched_yield();
			wait_gone(blocked_tid[i]);
			continue;
		}
		void *got = NULL;
		MUST0(pthread_join(t[i], &got));
		MUST0(got != (void *)(long)i);
		reaped++;
	}
	if (leak)
		printf("leaked=%d\n", BLOCKED);
}

static int never[2];
static pid_t end_tid[2][64];

static void *
cancelled_in_read(void *arg)
{
	long i = (long)arg;
	__atomic_store_n(&end_tid[0][i], (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	char c;
	if (read(never[0], &c, 1) >= 0)
		must_failed("read(never) returned", -1);
	return arg;
}

static void *
exiting(void *arg)
{
	long i = (long)arg;
	__atomic_store_n(&end_tid[1][i], (pid_t)syscall(SYS_gettid), __ATOMIC_RELEASE);
	pthread_exit(arg);
}

/* Until thread i of kind k has published its tid and the kernel has let
 * it go. */
static void
wait_ended(int k, long i)
{
	while (!__atomic_load_n(&end_tid[k][i], __ATOMIC_ACQUIRE))
		sched_yield();
	wait_gone(end_tid[k][i]);
}

static NOINLINE void
cancelled_ends(long n)
{
	if (pipe(never) != 0)
		die("pipe", errno);
	for (long i = 0; i < n; i++) {
		pthread_t t;
		XPT(pthread_create(&t, NULL, cancelled_in_read, (void *)i));
		while (!__atomic_load_n(&end_tid[0][i], __ATOMIC_ACQUIRE))
			sched_yield();
		/* Cancelled wherever it is: in read(), or before it, when
		 * read() acts on the pending request at once. */
		XPT(pthread_cancel(t));
		wait_ended(0, i);
	}
}

static NOINLINE void
exited_ends(long n)
{
	for (long i = 0; i < n; i++) {
		pthread_t t;
		XPT(pthread_create(&t, NULL, exiting, (void *)i));
		wait_ended(1, i);
	}
}

static pthread_mutex_t live_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t live_cond = PTHREAD_COND_INITIALIZER;
static long live_waiting;
static int live_go;

static void *
live_worker(void *arg)
{
	pthread_mutex_lock(&live_lock);
	live_waiting++;
	pthread_cond_broadcast(&live_cond);
	while (!live_go)
		pthread_cond_wait(&live_cond, &live_lock);
	pthread_mutex_unlock(&live_lock);
	return arg;
}

static NOINLINE void
live(long n)
{
	pthread_t *t = calloc((size_t)n, sizeof(*t));
	pthread_attr_t a;
	if (!t)
		die("calloc", ENOMEM);
	XPT(pthread_attr_init(&a));
	XPT(pthread_attr_setstacksize(&a, PTHREAD_STACK_MIN > 65536 ? PTHREAD_STACK_MIN : 65536));
	for (long i = 0; i < n; i++)
		XPT(pthread_create(&t[i], &a, live_worker, (void *)i));
	pthread_mutex_lock(&live_lock);
	while (live_waiting < n)
		pthread_cond_wait(&live_cond, &live_lock);
	live_go = 1;
	pthread_cond_broadcast(&live_cond);
	pthread_mutex_unlock(&live_lock);
	for (long i = 0; i < n; i++) {
		void *got = NULL;
		MUST0(pthread_join(t[i], &got));
		MUST0(got != (void *)i);
		reaped++;
	}
	pthread_attr_destroy(&a);
	free(t);
}

static int sentinel_pipe[2];

static NOINLINE void *
sentinel(void *arg)
{
	char c;
	if (read(sentinel_pipe[0], &c, 1) < 0)
		perror("read");
	return arg;
}

int
main(int argc, char **argv)
{
	need_args(argc, 3, "thread_churn churn|ends|live <threads> [leak]");
	long n = arg_long(argc, argv, 2, 1000);
	if (!strcmp(argv[1], "live")) {
		live(n);
	} else if (!strcmp(argv[1], "ends")) {
		if (n > 64)
			n = 64;
		cancelled_ends(n);
		exited_ends(n);
		pthread_t t;
		if (pipe(sentinel_pipe) != 0)
			die("pipe", errno);
		XPT(pthread_create(&t, NULL, sentinel, NULL));
		printf("ended=%ld\n", 2 * n);
		return check_status();
	} else {
		churn(n);
		failed_joins(argc > 3 && !strcmp(argv[3], "leak"));
		pthread_t t;
		if (pipe(sentinel_pipe) != 0)
			die("pipe", errno);
		XPT(pthread_create(&t, NULL, sentinel, NULL));
	}
	printf("reaped=%ld\n", reaped);
	return check_status();
}
