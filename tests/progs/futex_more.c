/* The futex operations beyond WAIT and WAKE, with waits of known length
 * (tests/integration/test_futex.c):
 *   futex_more requeue   a waiter in FUTEX_WAIT on `cond`; 100 ms later
 *                        requeue_waiters moves it (FUTEX_CMP_REQUEUE) to
 *                        `word`, and 100 ms after that final_wake wakes it
 *                        there. Prints waited_ns (the waiter's whole wait)
 *                        and requeued_ns (from its start to the requeue).
 *   futex_more waitv     waitv_waiter blocks in futex_waitv on two words;
 *                        100 ms later the second is woken. Prints
 *                        waited_ns and index, or waitv=unsupported.
 *   futex_more shared    a forked child waits on a MAP_SHARED word
 *                        (FUTEX_WAIT, not private); 100 ms later this
 *                        process wakes it (shared_wake). Prints the
 *                        child's waited_ns; nobody waits in this process.
 * Exits 0 when every call returned what it should. */
#include <errno.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

#define GAP_US 100000

static int cond, word;
static int started, done;
static int64_t t_start, waited;

static void *
requeue_waiter(void *arg)
{
	t_start = now_ns();
	__atomic_store_n(&started, 1, __ATOMIC_RELEASE);
	/* Requeued to word, then woken there once word is 1. */
	while (!__atomic_load_n(&word, __ATOMIC_ACQUIRE))
		syscall(SYS_futex, &cond, FUTEX_WAIT_PRIVATE, 0, NULL);
	waited = now_ns() - t_start;
	__atomic_store_n(&done, 1, __ATOMIC_RELEASE);
	return arg;
}

/* Until it moved the waiter: a requeue before the waiter slept moves
 * nobody. */
static NOINLINE int64_t
requeue_waiters(void)
{
	long r;
	do {
		sleep_us(GAP_US);
		r = syscall(SYS_futex, &cond, FUTEX_CMP_REQUEUE_PRIVATE, 0, 1, &word, 0);
		CHECK_EQ(r >= 0, 1);
	} while (r == 0);
	return now_ns();
}

static NOINLINE void
final_wake(void)
{
	__atomic_store_n(&word, 1, __ATOMIC_RELEASE);
	/* cond too, for a waiter back on it after a spurious wake-up. */
	__atomic_store_n(&cond, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) {
		CHECK_EQ(syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1) >= 0, 1);
		CHECK_EQ(syscall(SYS_futex, &cond, FUTEX_WAKE_PRIVATE, 1) >= 0, 1);
		sleep_us(1000);
	}
}

static int
requeue(void)
{
	pthread_t t;
	XPT(pthread_create(&t, NULL, requeue_waiter, NULL));
	while (!__atomic_load_n(&started, __ATOMIC_ACQUIRE))
		sleep_us(1000);
	int64_t at = requeue_waiters();
	int64_t requeued = at - t_start;
	sleep_us(GAP_US);
	final_wake();
	XPT(pthread_join(t, NULL));
	printf("requeued_ns=%lld\nwaited_ns=%lld\n", (long long)requeued, (long long)waited);
	return check_status();
}

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif
#ifndef FUTEX2_SIZE_U32
#define FUTEX2_SIZE_U32 0x02
#endif
#ifndef FUTEX2_PRIVATE
#define FUTEX2_PRIVATE 128
#endif

struct waitv {
	uint64_t val;
	uint64_t uaddr;
	uint32_t flags;
	uint32_t reserved;
};

static int words[2];

static NOINLINE void *
waitv_waiter(void *arg)
{
	struct waitv w[2];
	memset(w, 0, sizeof(w));
	for (int i = 0; i < 2; i++) {
		w[i].uaddr = (uint64_t)(uintptr_t)&words[i];
		w[i].flags = FUTEX2_SIZE_U32 | FUTEX2_PRIVATE;
	}
	t_start = now_ns();
	__atomic_store_n(&started, 1, __ATOMIC_RELEASE);
	long r;
	do
		r = syscall(SYS_futex_waitv, w, 2, 0, NULL, 0);
	while (r < 0 && errno == EAGAIN && !__atomic_load_n(&words[1], __ATOMIC_ACQUIRE));
	waited = now_ns() - t_start;
	printf("index=%ld\n", r);
	__atomic_store_n(&done, 1, __ATOMIC_RELEASE);
	return arg;
}

static int
waitv(void)
{
	errno = 0;
	if (syscall(SYS_futex_waitv, NULL, 0, 0, NULL, 0) < 0 && errno == ENOSYS) {
		printf("waitv=unsupported\n");
		return 0;
	}
	pthread_t t;
	XPT(pthread_create(&t, NULL, waitv_waiter, NULL));
	while (!__atomic_load_n(&started, __ATOMIC_ACQUIRE))
		sleep_us(1000);
	sleep_us(GAP_US);
	__atomic_store_n(&words[1], 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&done, __ATOMIC_ACQUIRE)) {
		CHECK_EQ(syscall(SYS_futex, &words[1], FUTEX_WAKE_PRIVATE, 1) >= 0, 1);
		sleep_us(1000);
	}
	XPT(pthread_join(t, NULL));
	printf("waited_ns=%lld\n", (long long)waited);
	return check_status();
}

/* The child's wait on the shared word; its result in shm[1..]. */
static NOINLINE void
shared_waiter(int *shm)
{
	int64_t t0 = now_ns();
	__atomic_store_n(&shm[1], 1, __ATOMIC_RELEASE);
	long r = 0;
	while (!__atomic_load_n(&shm[0], __ATOMIC_ACQUIRE))
		r = syscall(SYS_futex, &shm[0], FUTEX_WAIT, 0, NULL);
	int64_t d = now_ns() - t0;
	memcpy(&shm[2], &d, sizeof(d));
	_exit(r == 0 || errno == EAGAIN ? 0 : 1);
}

static NOINLINE void
shared_wake(int *shm)
{
	__atomic_store_n(&shm[0], 1, __ATOMIC_RELEASE);
	CHECK_EQ(syscall(SYS_futex, &shm[0], FUTEX_WAKE, 1) >= 0, 1);
}

static int
shared(void)
{
	int *shm = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shm == MAP_FAILED)
		return 2;
	pid_t pid = fork();
	if (pid < 0)
		return 2;
	if (pid == 0)
		shared_waiter(shm);
	while (!__atomic_load_n(&shm[1], __ATOMIC_ACQUIRE))
		sleep_us(1000);
	sleep_us(GAP_US);
	shared_wake(shm);
	int st;
	CHECK_EQ(waitpid(pid, &st, 0), pid);
	CHECK_EQ(WIFEXITED(st) && WEXITSTATUS(st) == 0, 1);
	int64_t d;
	memcpy(&d, &shm[2], sizeof(d));
	printf("waited_ns=%lld\n", (long long)d);
	return check_status();
}

int
main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "requeue";
	if (!strcmp(mode, "requeue"))
		return requeue();
	if (!strcmp(mode, "waitv"))
		return waitv();
	if (!strcmp(mode, "shared"))
		return shared();
	fprintf(stderr, "futex_more: unknown mode %s\n", mode);
	return 2;
}
