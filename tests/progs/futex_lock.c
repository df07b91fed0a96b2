/* A lock of the program's own on syscall(SYS_futex), as InnoDB's, Rust's
 * or absl's are: the classic three-state word (0 free, 1 held, 2 held with
 * waiters; Drepper, "Futexes Are Tricky", mutex 3). The main thread holds
 * it for hold_us per round (futex_hold_and_sleep) while `waiters` threads
 * block in futex_lock <- futex_waiter.
 *   futex_lock [waiters=4] [hold_us=100000] [rounds=3] [plain|timed|clock]
 * plain: FUTEX_WAIT_PRIVATE / FUTEX_WAKE_PRIVATE; timed:
 * FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME with a far absolute
 * deadline / FUTEX_WAKE_BITSET_PRIVATE; clock: shared FUTEX_WAIT with a far
 * relative timeout / shared FUTEX_WAKE.
 * Block profile: futex_wait <- futex_lock <- futex_waiter, about
 * rounds*waiters*hold_us. Mutex profile: futex_wake <- futex_unlock <-
 * futex_hold_and_sleep, the same. */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "progs.h"

static int word;
static enum flavour flavour;

static long
word_sleep(int *w, int val)
{
	struct timespec ts;
	switch (flavour) {
	case FLAVOUR_TIMED:
		ts = deadline_us(CLOCK_REALTIME, 60 * 1000000L);
		return syscall(SYS_futex, w, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, val,
			       &ts, NULL, FUTEX_BITSET_MATCH_ANY);
	case FLAVOUR_CLOCK:
		ts = (struct timespec){.tv_sec = 60};
		return syscall(SYS_futex, w, FUTEX_WAIT, val, &ts);
	default:
		return syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, val, NULL);
	}
}

static long
word_wake(int *w, int n)
{
	switch (flavour) {
	case FLAVOUR_TIMED:
		return syscall(SYS_futex, w, FUTEX_WAKE_BITSET_PRIVATE, n, NULL, NULL,
			       FUTEX_BITSET_MATCH_ANY);
	case FLAVOUR_CLOCK:
		return syscall(SYS_futex, w, FUTEX_WAKE, n);
	default:
		return syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, n);
	}
}

static int
cas(int *w, int expect, int desired)
{
	__atomic_compare_exchange_n(w, &expect, desired, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
	return expect;
}

static NOINLINE void
futex_lock(int *w)
{
	int c = cas(w, 0, 1);
	if (c == 0)
		return;
	if (c != 2)
		c = __atomic_exchange_n(w, 2, __ATOMIC_ACQUIRE);
	while (c != 0) {
		if (word_sleep(w, 2) != 0 && errno != EAGAIN && errno != EINTR)
			die("futex wait", errno);
		c = __atomic_exchange_n(w, 2, __ATOMIC_ACQUIRE);
	}
}

static NOINLINE void
futex_unlock(int *w)
{
	if (__atomic_fetch_sub(w, 1, __ATOMIC_RELEASE) != 1) {
		__atomic_store_n(w, 0, __ATOMIC_RELEASE);
		if (word_wake(w, 1) < 0)
			die("futex wake", errno);
	}
}

static NOINLINE void
futex_hold_and_sleep(struct scenario *s)
{
	futex_lock(&word);
	scenario_go(s);
	futex_unlock(&word);
}

static NOINLINE void
futex_waiter(struct scenario *s)
{
	futex_lock(&word);
	futex_unlock(&word);
}

int
main(int argc, char **argv)
{
	struct scenario s = {.hold = futex_hold_and_sleep, .wait = futex_waiter};
	scenario_args(&s, argc, argv, 1);
	flavour = s.flavour;
	scenario_run(&s);
	return 0;
}
