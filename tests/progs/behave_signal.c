/* SIGINT/SIGTERM and the shim's dump-then-die handler.
 *   behave_signal die INT|TERM
 *     makes contention (signal_hold), then, while a helper thread holds a
 *     mutex with another thread queued on it, raises the signal at its
 *     default action: the process must write its profiles and die of that
 *     signal. Exit 3 if it survives.
 *   behave_signal rearm INT|TERM
 *     as die, but first installs a handler of its own and then restores
 *     SIG_DFL: the default action (and the dump) must be back.
 *   behave_signal malloc INT|TERM
 *     as die, but at the moment of the signal another thread is inside
 *     malloc_stats() holding the main malloc arena's lock, which it
 *     releases 300 ms later (it writes to a full pipe that a third thread
 *     then drains): a lock held briefly by another thread, as in any
 *     program that allocates.
 *   behave_signal malloc-self INT|TERM
 *     as malloc, but the signal goes to the thread inside malloc_stats(),
 *     the one holding the arena's lock: kill(1) may pick any thread.
 *   behave_signal malloc-waiter INT|TERM
 *     the thread inside malloc_stats() holds the main arena's lock for
 *     good (nobody drains the pipe), the main thread waits for it inside
 *     malloc(), and the signal goes to the main thread, which will never
 *     leave malloc(): it must die of the signal all the same.
 *   behave_signal handlers
 *     the program's view of its signals: sigaction() and signal() report
 *     SIG_DFL for SIGINT/SIGTERM, its own handlers (plain and SA_SIGINFO)
 *     are called and reported back, SIG_IGN ignores; exit 0, or 1 with
 *     FAIL lines. */
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "progs.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t busy = PTHREAD_MUTEX_INITIALIZER;

SCENARIO_MUTEX(signal_hold, signal_wait, m)

static volatile sig_atomic_t got_plain, got_info, info_signo;

static void
on_plain(int sig)
{
	got_plain = sig;
}

static void
on_info(int sig, siginfo_t *si, void *uc)
{
	got_info = sig;
	info_signo = si->si_signo;
}

static int
parse_sig(const char *s)
{
	return !strcmp(s, "INT") ? SIGINT : !strcmp(s, "TERM") ? SIGTERM : 0;
}

/* The disposition sigaction() reports: 0 default, 1 ignore, 2 h. */
static int
disposition(int sig, void (*h)(int))
{
	struct sigaction old;
	memset(&old, 0xff, sizeof(old));
	if (sigaction(sig, NULL, &old) != 0)
		return -1;
	if (old.sa_flags & SA_SIGINFO)
		return (void *)old.sa_sigaction == (void *)on_info ? 3 : -2;
	return old.sa_handler == SIG_DFL ? 0 : old.sa_handler == SIG_IGN ? 1 : old.sa_handler == h ? 2 : -3;
}

static int pipefd[2];

static int stuck_tid, stuck_seen;

static void *
stats_while_stuck(void *arg)
{
	__atomic_store_n(&stuck_tid, self_tid(), __ATOMIC_RELEASE);
	malloc_stats(); /* blocks writing to the full pipe, arena locked */
	return arg;
}

static void *
drain_later(void *arg)
{
	char buf[4096];
	/* 400 ms from when the stuck thread was seen blocked, not from now:
	 * a loaded machine may take longer than that to get it there. */
	while (!__atomic_load_n(&stuck_seen, __ATOMIC_ACQUIRE))
		pause_us_raw(1000);
	sleep_us(400000);
	while (read(pipefd[0], buf, sizeof(buf)) > 0)
		;
	return arg;
}

/* Leaves a thread inside malloc_stats() holding the main arena's lock
 * until drain_later empties the pipe, 400 ms after it was seen blocked
 * (forever, if !drain). Threads are made first: pthread_create itself
 * allocates. */
static pthread_t stuck_in_malloc;

static int main_tid;
static int main_sig;

/* Once main_sig is set, sends it to the main thread as soon as that
 * waits for the arena's lock inside malloc (seen by the kernel in futex;
 * bounded). Made before the lock is taken: pthread_create allocates. */
static void *
signal_main_in_malloc(void *arg)
{
	int sig;
	while (!(sig = __atomic_load_n(&main_sig, __ATOMIC_ACQUIRE)))
		pause_us_raw(1000);
	for (int64_t give_up = now_ns() + 60 * 1000000000LL; now_ns() < give_up;) {
		if (in_syscall(main_tid, SYS_futex))
			break;
		pause_us_raw(1000);
	}
	syscall(SYS_tgkill, getpid(), main_tid, sig);
	return arg;
}

static void
hold_malloc_lock(bool drain)
{
	pthread_t d;
	char junk[4096] = {0};
	if (pipe(pipefd) != 0)
		die("pipe", 0);
	fcntl(pipefd[1], F_SETFL, O_NONBLOCK);
	while (write(pipefd[1], junk, sizeof(junk)) > 0)
		;
	fcntl(pipefd[1], F_SETFL, 0);
	if (drain)
		XPT(pthread_create(&d, NULL, drain_later, NULL));
	fflush(stderr);
	int saved = dup(2);
	dup2(pipefd[1], 2);
	XPT(pthread_create(&stuck_in_malloc, NULL, stats_while_stuck, NULL));
	/* Until it is blocked in write() (seen by the kernel; bounded). */
	for (int64_t give_up = now_ns() + 60 * 1000000000LL; now_ns() < give_up;) {
		int tid = __atomic_load_n(&stuck_tid, __ATOMIC_ACQUIRE);
		if (tid && in_syscall(tid, SYS_write))
			break;
		pause_us_raw(1000);
	}
	__atomic_store_n(&stuck_seen, 1, __ATOMIC_RELEASE);
	dup2(saved, 2);
	close(saved);
	close(pipefd[1]); /* EOF for the drainer once the stuck write ends */
}

/* malloc_busy: 0 no, 1 another thread holds a malloc lock, 2 and the
 * signal is delivered to that very thread, 3 it holds it for good and the
 * signal goes to the main thread waiting for it in malloc(). */
static NOINLINE int
die_of(int sig, int rearm, int malloc_busy)
{
	struct scenario s = {.hold = signal_hold, .wait = signal_wait, .waiters = 2,
			     .hold_us = 50000, .rounds = 2};
	scenario_run(&s);
	if (rearm) {
		CHECK_EQ(signal(sig, on_plain) == SIG_DFL, 1);
		struct sigaction dfl;
		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		CHECK_EQ(sigaction(sig, &dfl, NULL), 0);
		CHECK_EQ(disposition(sig, on_plain), 0);
	}
	/* A lock held and a waiter queued at the moment of the signal. */
	struct bg_hold h = {.lock = bg_mutex_lock, .unlock = bg_mutex_unlock, .obj = &busy,
			    .hold_us = 10 * 1000000L};
	struct bg_hold w = {.lock = bg_mutex_lock, .unlock = bg_mutex_unlock, .obj = &busy};
	bg_hold_start(&h, 1);
	bg_hold_start(&w, 0);
	sleep_us(20000);
	fflush(stdout);
	if (malloc_busy == 3) {
		pthread_t k;
		main_tid = self_tid();
		XPT(pthread_create(&k, NULL, signal_main_in_malloc, NULL));
	}
	if (malloc_busy)
		hold_malloc_lock(malloc_busy != 3);
	if (malloc_busy == 3) {
		__atomic_store_n(&main_sig, sig, __ATOMIC_RELEASE);
		/* The main arena, under the mmap threshold and over the
		 * per-thread cache: waits for good (volatile: a malloc freed
		 * unused is no call at all to the compiler). */
		void *volatile p = malloc(5000 + (size_t)sig);
		free(p);
	} else if (malloc_busy == 2) {
		pthread_kill(stuck_in_malloc, sig);
	} else {
		raise(sig);
	}
	sleep_us(20 * 1000000L); /* a dump that returns from the handler */
	fprintf(stderr, "FAIL: survived signal %d\n", sig);
	return 3;
}

static NOINLINE int
handlers(void)
{
	static const int sigs[] = {SIGINT, SIGTERM};
	for (int i = 0; i < 2; i++) {
		int sig = sigs[i];
		printf("signal %d: ", sig);
		CHECK_EQ(disposition(sig, NULL), 0);
		got_plain = 0;
		CHECK_EQ(signal(sig, on_plain) == SIG_DFL, 1);
		CHECK_EQ(disposition(sig, on_plain), 2);
		CHECK_EQ(raise(sig), 0);
		CHECK_EQ(got_plain, sig);

		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_sigaction = on_info;
		sa.sa_flags = SA_SIGINFO;
		sigemptyset(&sa.sa_mask);
		struct sigaction old;
		CHECK_EQ(sigaction(sig, &sa, &old), 0);
		CHECK_EQ(old.sa_handler == on_plain, 1);
		CHECK_EQ(disposition(sig, NULL), 3);
		got_info = 0;
		CHECK_EQ(raise(sig), 0);
		CHECK_EQ(got_info, sig);
		CHECK_EQ(info_signo, sig);

		CHECK_EQ(signal(sig, SIG_IGN) == SIG_ERR, 0);
		CHECK_EQ(disposition(sig, NULL), 1);
		CHECK_EQ(raise(sig), 0); /* ignored: we are still here */

		CHECK_EQ(signal(sig, SIG_DFL) == SIG_IGN, 1);
		CHECK_EQ(disposition(sig, NULL), 0);
	}
	return check_status();
}

int
main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "handlers"))
		return handlers();
	if (argc == 3 && parse_sig(argv[2]) && !strcmp(argv[1], "die"))
		return die_of(parse_sig(argv[2]), 0, 0);
	if (argc == 3 && parse_sig(argv[2]) && !strcmp(argv[1], "rearm"))
		return die_of(parse_sig(argv[2]), 1, 0);
	if (argc == 3 && parse_sig(argv[2]) && !strcmp(argv[1], "malloc"))
		return die_of(parse_sig(argv[2]), 0, 1);
	if (argc == 3 && parse_sig(argv[2]) && !strcmp(argv[1], "malloc-self"))
		return die_of(parse_sig(argv[2]), 0, 2);
	if (argc == 3 && parse_sig(argv[2]) && !strcmp(argv[1], "malloc-waiter"))
		return die_of(parse_sig(argv[2]), 0, 3);
	fprintf(stderr, "usage: behave_signal handlers | die|rearm|malloc|malloc-self|malloc-waiter INT|TERM\n");
	return 2;
}
