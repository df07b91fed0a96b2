/* syscall() under the shim returns what it returns without it, errno
 * included: futex waits that do not wait (EAGAIN), time out or are
 * interrupted, futex errors, the six-argument calls, and other numbers.
 * Prints "expr = value" lines to compare with a plain run, and the waits
 * it measured ("*_ns=", which vary). Under the shim the block profile has
 * a futex_wait in timed_out_wait and in interrupted_wait, none in
 * mismatched_wait. */
#include <errno.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "progs.h"

static int word;
static int interrupted_done;

/* The word is 0, the call expects 1: EAGAIN at once, not a wait. */
static NOINLINE void
mismatched_wait(void)
{
	errno = 0;
	CHECK_EQ(syscall(SYS_futex, &word, FUTEX_WAIT, 1, NULL), -1);
	CHECK_EQ(errno, EAGAIN);
	errno = 0;
	CHECK_EQ(syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 1, NULL), -1);
	CHECK_EQ(errno, EAGAIN);
	errno = 0;
	CHECK_EQ(syscall(SYS_futex, &word, FUTEX_WAIT_BITSET_PRIVATE, 1, NULL, NULL,
			 FUTEX_BITSET_MATCH_ANY),
		 -1);
	CHECK_EQ(errno, EAGAIN);
	/* A requeue-PI wait whose word changed, and futex_waitv's: the same. */
	static int pi_word;
	errno = 0;
	CHECK_EQ(syscall(SYS_futex, &word, FUTEX_WAIT_REQUEUE_PI_PRIVATE, 1, NULL, &pi_word, 0),
		 -1);
	CHECK_EQ(errno, EAGAIN);
	struct {
		uint64_t val, uaddr;
		uint32_t flags, reserved;
	} wv = {1, (uint64_t)(uintptr_t)&word, 0x02 | 128, 0};
	errno = 0;
	long r = syscall(449 /* SYS_futex_waitv */, &wv, 1, 0, NULL, 0);
	printf("futex_waitv mismatched = %ld errno %d\n", r, errno);
	errno = 0;
	r = syscall(449, &wv, 0, 0, NULL, 0);
	printf("futex_waitv empty = %ld errno %d\n", r, errno);
	/* A requeue that moves nobody returns 0 and leaves errno alone. */
	errno = 1234;
	CHECK_EQ(syscall(SYS_futex, &word, FUTEX_REQUEUE_PRIVATE, 1, 1, &pi_word), 0);
	CHECK_EQ(syscall(SYS_futex, &word, FUTEX_CMP_REQUEUE_PRIVATE, 1, 1, &pi_word, 0), 0);
	CHECK_EQ(errno, 1234);
}

static NOINLINE void
futex_errors(void)
{
	/* The sixth word reaches the kernel: an empty bitset is EINVAL. */
	errno = 0;
	CHECK_EQ(syscall(SYS_futex, &word, FUTEX_WAIT_BITSET_PRIVATE, 0, NULL, NULL, 0), -1);
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	CHECK_EQ(syscall(SYS_futex, &word, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, NULL, 0), -1);
	CHECK_EQ(errno, EINVAL);
	errno = 0;
	CHECK_EQ(syscall(SYS_futex, NULL, FUTEX_WAIT_PRIVATE, 0, NULL), -1);
	CHECK_EQ(errno, EFAULT);
	errno = 0;
	CHECK_EQ(syscall(SYS_futex, &word, 99, 0, NULL), -1);
	CHECK_EQ(errno, ENOSYS);
	errno = 0;
	CHECK_EQ(syscall(SYS_futex, &word, FUTEX_CMP_REQUEUE_PRIVATE, 1, 1, &word, 1), -1);
	CHECK_EQ(errno, EAGAIN);
	/* A wake with nobody to wake succeeds and leaves errno alone. */
	errno = 1234;
	CHECK_EQ(syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1), 0);
	CHECK_EQ(syscall(SYS_futex, &word, FUTEX_WAKE, 1), 0);
	CHECK_EQ(errno, 1234);
}

static NOINLINE void
other_numbers(void)
{
	errno = 1234;
	CHECK_EQ(syscall(SYS_getpid) == getpid(), 1);
	CHECK_EQ(syscall(SYS_gettid) > 0, 1);
	CHECK_EQ(errno, 1234);
	errno = 0;
	CHECK_EQ(syscall(SYS_close, -1), -1);
	CHECK_EQ(errno, EBADF);
	/* Six words: an unaligned offset in the last one is EINVAL. */
	errno = 0;
	CHECK_EQ(syscall(SYS_mmap, NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 4095),
		 -1);
	CHECK_EQ(errno, EINVAL);
	long p = syscall(SYS_mmap, NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	CHECK_EQ(p != -1, 1);
	CHECK_EQ(syscall(SYS_munmap, p, 4096), 0);
}

/* A wait of 50 ms that times out: a wait of its length. */
static NOINLINE void
timed_out_wait(void)
{
	struct timespec ts = {.tv_nsec = 50 * 1000000L};
	errno = 0;
	int64_t t0 = now_ns();
	CHECK_EQ(syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &ts), -1);
	int64_t t = now_ns() - t0;
	CHECK_EQ(errno, ETIMEDOUT);
	printf("timed_ns=%lld\n", (long long)t);
}

static void
on_usr1(int sig)
{
	(void)sig;
}

static void *
interrupter(void *p)
{
	pthread_t target = *(pthread_t *)p;
	sleep_us(30000);
	/* Again until it returned: a signal that came before the wait began
	 * interrupts nothing. */
	while (!__atomic_load_n(&interrupted_done, __ATOMIC_ACQUIRE)) {
		pthread_kill(target, SIGUSR1);
		sleep_us(20000);
	}
	return NULL;
}

/* A wait a signal interrupts (no SA_RESTART): EINTR, a wait too. */
static NOINLINE void
interrupted_wait(void)
{
	struct sigaction sa = {.sa_handler = on_usr1};
	sigemptyset(&sa.sa_mask);
	XPT(sigaction(SIGUSR1, &sa, NULL) ? errno : 0);
	pthread_t self = pthread_self(), t;
	XPT(pthread_create(&t, NULL, interrupter, &self));
	struct timespec ts = {.tv_sec = 20};
	errno = 0;
	int64_t t0 = now_ns();
	CHECK_EQ(syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &ts), -1);
	int64_t d = now_ns() - t0;
	CHECK_EQ(errno, EINTR);
	__atomic_store_n(&interrupted_done, 1, __ATOMIC_RELEASE);
	XPT(pthread_join(t, NULL));
	printf("interrupted_ns=%lld\n", (long long)d);
}

int
main(void)
{
	mismatched_wait();
	futex_errors();
	other_numbers();
	timed_out_wait();
	interrupted_wait();
	fflush(stdout);
	return check_status();
}
