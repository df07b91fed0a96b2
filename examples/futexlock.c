/* A lock of the program's own on syscall(SYS_futex), the way InnoDB,
 * Rust's std::sync::Mutex or absl build theirs: a word that is 0 (free),
 * 1 (held) or 2 (held, somebody sleeps). flush_log() holds it across a
 * slow write, so the other workers sleep in the kernel.
 *
 *   LD_PRELOAD=build/libcontend.so build/examples/futexlock
 *   contend top contend.<pid>/block.pb.gz    (futex_wait <- lock <- append_record)
 *   contend top contend.<pid>/mutex.pb.gz    (futex_wake <- unlock <- flush_log)
 */
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define WORKERS 4
#define RECORDS 50

static int log_lock;
static long records;

static void
lock(int *w)
{
	int c = 0;
	if (__atomic_compare_exchange_n(w, &c, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return;
	if (c != 2)
		c = __atomic_exchange_n(w, 2, __ATOMIC_ACQUIRE);
	while (c != 0) {
		syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, 2, NULL);
		c = __atomic_exchange_n(w, 2, __ATOMIC_ACQUIRE);
	}
}

static void
unlock(int *w)
{
	if (__atomic_exchange_n(w, 0, __ATOMIC_RELEASE) == 2)
		syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1);
}

static __attribute__((noinline)) void
flush_log(void)
{
	struct timespec ts = {0, 2 * 1000 * 1000}; /* a 2 ms fsync, say */
	lock(&log_lock);
	nanosleep(&ts, NULL);
	unlock(&log_lock);
}

static __attribute__((noinline)) void
append_record(void)
{
	lock(&log_lock);
	records++;
	unlock(&log_lock);
}

static void *
worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < RECORDS; i++) {
		append_record();
		if (i % 10 == 0)
			flush_log();
	}
	return NULL;
}

int
main(void)
{
	pthread_t t[WORKERS];
	for (int i = 0; i < WORKERS; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	for (int i = 0; i < WORKERS; i++)
		pthread_join(t[i], NULL);
	printf("%ld records\n", records);
	return 0;
}
