/* SIGTERM/SIGINT at their default action end the program where it is:
 *   behave_fatal CALL THREADS [TARGET] [SIG]
 * CALL is what the main thread is doing when the signal comes: sleep,
 * nanosleep, poll, read, sem_wait, cond_wait, busy (a loop), malloc (a
 * loop of allocations too big for malloc's per-thread cache, so that
 * nearly all its time is spent holding an arena lock) or fork (a loop of
 * fork, the child exiting at once, and waitpid). THREADS 0:
 * the program has no other thread; >0: that many more, each blocked for
 * good in pthread_cond_wait, sem_wait or read (in turn), after some mutex
 * contention so that there is something to profile. TARGET: "main" (the
 * default) or "worker": the signal goes to the main thread or to the first
 * other thread. SIG: TERM (default) or INT.
 *
 * First a wait that is recorded (poll() with no fds for 30 ms, in
 * fatal_warm_up), then "before" on stdout, then a timer sends the signal
 * 200 ms later, while the main thread is in CALL for 5 s. Any line after
 * "before" means program code ran after the signal: "after" when CALL
 * returned, "after-worker" when a blocked thread woke. Plain, the process
 * dies of the signal in CALL; it must under the shim too, once the
 * profiles are written. Exit 3 if CALL returned. */
#include <errno.h>
#include <poll.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "progs.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t never_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never_c = PTHREAD_COND_INITIALIZER;
static sem_t never_s;
static int never_pipe[2];
static volatile int worker_tid;
static pthread_barrier_t started;

static NOINLINE void
fatal_warm_up(void)
{
	poll(NULL, 0, 30);
}

SCENARIO_MUTEX(fatal_hold, fatal_wait, m)

static void *
blocked_worker(void *arg)
{
	long i = (long)arg;
	char c;
	if (i == 0)
		worker_tid = (int)syscall(SYS_gettid);
	pthread_barrier_wait(&started);
	switch (i % 3) {
	case 0:
		pthread_mutex_lock(&never_m);
		pthread_cond_wait(&never_c, &never_m);
		pthread_mutex_unlock(&never_m);
		break;
	case 1:
		sem_wait(&never_s);
		break;
	default:
		if (read(never_pipe[0], &c, 1) < 0)
			perror("read");
		break;
	}
	printf("after-worker\n");
	fflush(stdout);
	return NULL;
}

/* The signal, 200 ms from now, to the process (the kernel gives it to the
 * main thread, which does not block it) or to one thread. */
static void
arm(int sig, int tid)
{
	struct sigevent sev;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = tid ? SIGEV_THREAD_ID : SIGEV_SIGNAL;
	sev.sigev_signo = sig;
	sev._sigev_un._tid = tid;
	timer_t t;
	if (timer_create(CLOCK_MONOTONIC, &sev, &t) != 0)
		die("timer_create", errno);
	struct itimerspec its = {.it_value = {0, 200 * 1000 * 1000}};
	if (timer_settime(t, 0, &its, NULL) != 0)
		die("timer_settime", errno);
}

static NOINLINE int
in_call(const char *call)
{
	char c;
	if (!strcmp(call, "sleep")) {
		sleep(5);
	} else if (!strcmp(call, "nanosleep")) {
		struct timespec ts = {5, 0};
		nanosleep(&ts, NULL);
	} else if (!strcmp(call, "poll")) {
		poll(NULL, 0, 5000);
	} else if (!strcmp(call, "read")) {
		if (read(never_pipe[0], &c, 1) < 0)
			perror("read");
	} else if (!strcmp(call, "sem_wait")) {
		sem_wait(&never_s);
	} else if (!strcmp(call, "cond_wait")) {
		pthread_mutex_lock(&never_m);
		pthread_cond_wait(&never_c, &never_m);
		pthread_mutex_unlock(&never_m);
	} else if (!strcmp(call, "malloc")) {
		int64_t end = now_ns() + 5000000000LL;
		void *p[64] = {0};
		unsigned x = 1;
		while (now_ns() < end) {
			for (int k = 0; k < 1000; k++) {
				x = x * 1103515245u + 12345u;
				size_t i = (x >> 8) & 63, n = ((x >> 16) & 4095) + 2000;
				if (x & 0x10000) {
					void *q = realloc(p[i], n);
					if (q)
						p[i] = q;
				} else {
					free(p[i]);
					p[i] = (x & 0x20000) ? calloc(1, n) : malloc(n);
				}
			}
		}
	} else if (!strcmp(call, "fork")) {
		int64_t end = now_ns() + 5000000000LL;
		while (now_ns() < end) {
			pid_t c = fork();
			if (c == 0)
				_exit(0);
			if (c > 0)
				waitpid(c, NULL, 0);
		}
	} else if (!strcmp(call, "busy")) {
		int64_t end = now_ns() + 5000000000LL;
		while (now_ns() < end)
			;
	} else {
		return -1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	need_args(argc, 3,
		  "behave_fatal sleep|nanosleep|poll|read|sem_wait|cond_wait|busy|malloc|fork "
		  "THREADS [main|worker] [TERM|INT] [nproc0]");
	const char *call = argv[1];
	long threads = atol(argv[2]);
	int to_worker = argc > 3 && !strcmp(argv[3], "worker");
	int sig = argc > 4 && !strcmp(argv[4], "INT") ? SIGINT : SIGTERM;
	if (sem_init(&never_s, 0, 0) != 0 || pipe(never_pipe) != 0)
		die("sem_init/pipe", errno);
	fatal_warm_up();
	if (threads > 0) {
		struct scenario s = {.hold = fatal_hold, .wait = fatal_wait, .waiters = 2,
				     .hold_us = 20000, .rounds = 1};
		scenario_run(&s);
		XPT(pthread_barrier_init(&started, NULL, (unsigned)threads + 1));
		for (long i = 0; i < threads; i++) {
			pthread_t t;
			XPT(pthread_create(&t, NULL, blocked_worker, (void *)i));
		}
		pthread_barrier_wait(&started);
		sleep_us(20000); /* the workers are blocked by now */
	}
	/* nproc0: forbid itself new processes, as haproxy and OpenSSH's
	 * sandbox do (root first gives up root, which the limit spares). */
	if (argc > 5 && !strcmp(argv[5], "nproc0")) {
		if (geteuid() == 0 && setuid(65534) != 0)
			die("setuid", errno);
		struct rlimit none = {0, 0};
		if (setrlimit(RLIMIT_NPROC, &none) != 0)
			die("setrlimit", errno);
	}
	printf("before\n");
	fflush(stdout);
	arm(sig, to_worker && threads > 0 ? worker_tid : 0);
	if (in_call(call) < 0) {
		fprintf(stderr, "unknown call %s\n", call);
		return 2;
	}
	printf("after\n");
	fflush(stdout);
	return 3;
}
