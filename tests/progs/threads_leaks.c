/* Leaves, at the return from main: 40 threads blocked forever in
 * pthread_cond_wait (in wait_for_orders), 10 threads in read() on a pipe
 * nobody writes (in wait_for_input, after a read of their request), 5
 * joinable threads that finished and were never joined (created in
 * spawn_forgotten), and, with argument
 * "abba", two threads deadlocked on two mutexes (lock_a_then_b,
 * lock_b_then_a). Prints "ready" once every thread is in place (known by
 * construction, not by sleeping: see all_in_place) and has been there
 * 300 ms, longer than the tests' CONTEND_STUCK. Then, with
 * argument "crash", dereferences NULL (in crash_store); with "own",
 * installs its own SIGSEGV handler (exit 42) first, after checking it sees
 * SIG_DFL there (exit 3 if not); with "crash-call", calls a null function
 * pointer (in crash_call). */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static pthread_mutex_t orders_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t orders = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t lock_a = PTHREAD_MUTEX_INITIALIZER, lock_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both_hold;
static int input[2], request[2];

/* Who has reached its last wait, for all_in_place. */
static int waiting_orders; /* under orders_lock */
static int readers[10], nreaders, lockers[2], nlockers, gone[5], ngone;

static void
announce(int *tids, int *n)
{
	int i = __atomic_fetch_add(n, 1, __ATOMIC_ACQ_REL);
	__atomic_store_n(&tids[i], (int)syscall(SYS_gettid), __ATOMIC_RELEASE);
}

__attribute__((noinline)) static void
wait_for_orders(void)
{
	pthread_mutex_lock(&orders_lock);
	waiting_orders++;
	for (;;)
		pthread_cond_wait(&orders, &orders_lock);
}

static void *
order_worker(void *arg)
{
	wait_for_orders();
	return arg;
}

__attribute__((noinline)) static void
wait_for_input(void)
{
	char c;
	if (read(input[0], &c, 1) < 0)
		perror("read");
}

/* Each reader first reads its request (there at once), so the pipe it
 * then waits on is not where it usually waits: a read that waits for a
 * peer, not a service thread parked at its place. */
static void *
input_worker(void *arg)
{
	char c;
	if (read(request[0], &c, 1) != 1)
		perror("read request");
	announce(readers, &nreaders);
	wait_for_input();
	return arg;
}

static void *
forgotten(void *arg)
{
	announce(gone, &ngone);
	return arg;
}

__attribute__((noinline)) static void
spawn_forgotten(void)
{
	for (int i = 0; i < 5; i++) {
		pthread_t t;
		pthread_create(&t, NULL, forgotten, NULL);
	}
}

/* A thread fn that takes first, waits until the other one holds its
 * lock, then takes second: the two make a deadlock. One body, two
 * functions, since the dump names each by its frame. */
#define LOCK_BOTH(fn, first, second)                                                             \
	__attribute__((noinline)) static void *fn(void *arg)                                     \
	{                                                                                        \
		pthread_mutex_lock(&first);                                                      \
		pthread_barrier_wait(&both_hold);                                                \
		announce(lockers, &nlockers);                                                    \
		pthread_mutex_lock(&second);                                                     \
		return arg;                                                                      \
	}
LOCK_BOTH(lock_a_then_b, lock_a, lock_b)
LOCK_BOTH(lock_b_then_a, lock_b, lock_a)

/* Whether thread tid (of this process) is inside system call nr, as the
 * kernel sees it; also true when that cannot be read (then the caller's
 * 300 ms of settling is all there is). */
static bool
in_syscall(int tid, long nr)
{
	char path[64], buf[64];
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return true;
	bool ok = fgets(buf, sizeof(buf), f) != NULL;
	fclose(f);
	return !ok || strtol(buf, NULL, 10) == nr;
}

static bool
task_gone(int tid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/task/%d", tid);
	return access(path, F_OK) != 0;
}

/* Every thread where it will stay: the 40 cond waiters counted under the
 * lock that pthread_cond_wait releases (taking it here means each one is
 * inside the wait), the readers and the deadlocked pair announced and
 * seen by the kernel in read() and futex() after that, the forgotten
 * threads gone from /proc. */
static bool
all_in_place(bool abba)
{
	if (abba) {
		if (__atomic_load_n(&nlockers, __ATOMIC_ACQUIRE) < 2)
			return false;
		for (int i = 0; i < 2; i++) {
			int tid = __atomic_load_n(&lockers[i], __ATOMIC_ACQUIRE);
			if (!tid || !in_syscall(tid, SYS_futex))
				return false;
		}
		return true;
	}
	pthread_mutex_lock(&orders_lock);
	int orders_in = waiting_orders;
	pthread_mutex_unlock(&orders_lock);
	if (orders_in < 40 || __atomic_load_n(&nreaders, __ATOMIC_ACQUIRE) < 10 ||
	    __atomic_load_n(&ngone, __ATOMIC_ACQUIRE) < 5)
		return false;
	for (int i = 0; i < 10; i++) {
		int tid = __atomic_load_n(&readers[i], __ATOMIC_ACQUIRE);
		if (!tid || !in_syscall(tid, SYS_read))
			return false;
	}
	for (int i = 0; i < 5; i++) {
		int tid = __atomic_load_n(&gone[i], __ATOMIC_ACQUIRE);
		if (!tid || !task_gone(tid))
			return false;
	}
	return true;
}

static void
on_segv(int sig)
{
	_exit(42);
}

/* volatile so the compiler keeps the faulting store */
static volatile uintptr_t crash_address;

static __attribute__((noinline)) void
crash_store(void)
{
	*(volatile int *)crash_address = 1;
	__asm__ volatile("" ::: "memory"); /* not a tail call */
}

static __attribute__((noinline)) void
crash_call(void)
{
	((void (*)(void))crash_address)();
	__asm__ volatile("" ::: "memory"); /* not a tail call */
}

int
main(int argc, char **argv)
{
	pthread_t t;
	if (pipe(input) < 0 || pipe(request) < 0 || write(request[1], "rrrrrrrrrr", 10) != 10)
		return 2;
	if (argc > 1 && !strcmp(argv[1], "abba")) {
		pthread_barrier_init(&both_hold, NULL, 2);
		pthread_create(&t, NULL, lock_a_then_b, NULL);
		pthread_create(&t, NULL, lock_b_then_a, NULL);
	} else {
		for (int i = 0; i < 40; i++)
			pthread_create(&t, NULL, order_worker, NULL);
		for (int i = 0; i < 10; i++)
			pthread_create(&t, NULL, input_worker, NULL);
		spawn_forgotten();
	}
	bool abba = argc > 1 && !strcmp(argv[1], "abba");
	/* Bounded (60 s), and long: a loaded machine runs threads late. */
	for (int i = 0; !all_in_place(abba); i++) {
		if (i == 60 * 200) {
			fprintf(stderr, "threads_leaks: threads not in place after 60 s\n");
			return 4;
		}
		usleep(5 * 1000);
	}
	/* In place for longer than the tests' CONTEND_STUCK: a wait of
	 * known length, since sleeps only overrun. */
	usleep(300 * 1000);
	printf("ready\n");
	fflush(stdout);
	if (argc > 1 && !strcmp(argv[1], "own")) {
		struct sigaction old;
		if (sigaction(SIGSEGV, NULL, &old) != 0 || old.sa_handler != SIG_DFL)
			return 3;
		signal(SIGSEGV, on_segv);
	}
	if (argc > 1 && (!strcmp(argv[1], "crash") || !strcmp(argv[1], "own")))
		crash_store();
	if (argc > 1 && !strcmp(argv[1], "crash-call"))
		crash_call();
	return 0;
}
