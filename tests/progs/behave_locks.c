/* The shim must not change what lock calls return: each check below
 * compares a result (return value, errno) with what POSIX and glibc
 * promise, on paths where the shim takes its slow path (lock held, waiters
 * queued). Prints every result on stdout (the test compares a run with
 * the shim against one without); "FAIL: ..." on stderr and exit 1 on a
 * deviation. */
#include <errno.h>
#include <semaphore.h>
#include <string.h>

#include "progs.h"

static void
mutex_init_kind(pthread_mutex_t *m, int type, int robust, int protocol)
{
	pthread_mutexattr_t a;
	XPT(pthread_mutexattr_init(&a));
	XPT(pthread_mutexattr_settype(&a, type));
	if (robust)
		XPT(pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST));
	if (protocol)
		XPT(pthread_mutexattr_setprotocol(&a, protocol));
	XPT(pthread_mutex_init(m, &a));
	pthread_mutexattr_destroy(&a);
}

/* A thread blocked in lock(obj) (lock, then unlock at once), started
 * while somebody else holds obj: it queues as a waiter. */
static void
start_blocked_waiter(struct bg_hold *b, int (*lock)(void *), int (*unlock)(void *), void *obj)
{
	*b = (struct bg_hold){.lock = lock, .unlock = unlock, .obj = obj};
	bg_hold_start(b, 0);
	sleep_us(20000); /* let it block; if it has not, the check still holds */
}

static void
check_bg(struct bg_hold *b, int lock_want, int unlock_want)
{
	bg_hold_join(b);
	CHECK_EQ(b->lock_result, lock_want);
	if (!b->exit_holding)
		CHECK_EQ(b->unlock_result, unlock_want);
}

/* errno survives a contended lock of m (a, set up to hold it, holds it
 * first) and an unlock that wakes a waiter; then m is destroyed. */
static void
errno_survives_handoff(pthread_mutex_t *m, struct bg_hold *a)
{
	struct bg_hold w;
	bg_hold_start(a, 1);
	bg_release(a);
	CHECK_ERRNO(pthread_mutex_lock(m), 0, ERRNO_MARK);
	start_blocked_waiter(&w, bg_mutex_lock, bg_mutex_unlock, m);
	CHECK_EQ(pthread_mutex_unlock(m), 0);
	CHECK_EQ(errno, ERRNO_MARK);
	check_bg(a, 0, 0);
	check_bg(&w, 0, 0);
	pthread_mutex_destroy(m);
}

static NOINLINE void
errorcheck_mutex(void)
{
	pthread_mutex_t m;
	struct bg_hold a, w;
	mutex_init_kind(&m, PTHREAD_MUTEX_ERRORCHECK, 0, 0);

	CHECK_EQ(pthread_mutex_lock(&m), 0);
	CHECK_EQ(pthread_mutex_lock(&m), EDEADLK);
	CHECK_EQ(pthread_mutex_unlock(&m), 0);
	CHECK_EQ(pthread_mutex_unlock(&m), EPERM);

	/* Unlock by a non-owner while a waiter is queued. */
	a = (struct bg_hold){.lock = bg_mutex_lock, .unlock = bg_mutex_unlock, .obj = &m,
			     .hold_us = 50000, .manual = 1};
	bg_hold_start(&a, 1);
	start_blocked_waiter(&w, bg_mutex_lock, bg_mutex_unlock, &m);
	CHECK_EQ(pthread_mutex_unlock(&m), EPERM);
	CHECK_EQ(pthread_mutex_trylock(&m), EBUSY);
	bg_release(&a);
	check_bg(&a, 0, 0);
	check_bg(&w, 0, 0);

	errno_survives_handoff(&m, &a);
}

static NOINLINE void
recursive_mutex(void)
{
	pthread_mutex_t m;
	struct bg_hold w, t;
	mutex_init_kind(&m, PTHREAD_MUTEX_RECURSIVE, 0, 0);

	CHECK_EQ(pthread_mutex_lock(&m), 0);
	CHECK_EQ(pthread_mutex_lock(&m), 0);
	CHECK_EQ(pthread_mutex_lock(&m), 0);
	start_blocked_waiter(&w, bg_mutex_lock, bg_mutex_unlock, &m);
	t = (struct bg_hold){.lock = (int (*)(void *))pthread_mutex_trylock, .obj = &m,
			     .exit_holding = 1};
	bg_hold_start(&t, 1);
	check_bg(&t, EBUSY, 0);
	CHECK_EQ(pthread_mutex_unlock(&m), 0);
	CHECK_EQ(pthread_mutex_unlock(&m), 0);
	sleep_us(20000);
	/* Still held once: the waiter cannot have it yet. */
	CHECK_EQ(__atomic_load_n(&w.held, __ATOMIC_ACQUIRE), 0);
	CHECK_EQ(pthread_mutex_unlock(&m), 0);
	check_bg(&w, 0, 0);
	CHECK_EQ(pthread_mutex_unlock(&m), EPERM);
	pthread_mutex_destroy(&m);
}

static NOINLINE void
normal_mutex_timeouts(void)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	struct bg_hold a = {.lock = bg_mutex_lock, .unlock = bg_mutex_unlock, .obj = &m,
			    .hold_us = 50000, .manual = 1};
	bg_hold_start(&a, 1);
	CHECK_EQ(pthread_mutex_trylock(&m), EBUSY);
	struct timespec ts = deadline_us(CLOCK_REALTIME, 20000);
	CHECK_EQ(pthread_mutex_timedlock(&m, &ts), ETIMEDOUT);
	ts = deadline_us(CLOCK_MONOTONIC, 20000);
	CHECK_EQ(pthread_mutex_clocklock(&m, CLOCK_MONOTONIC, &ts), ETIMEDOUT);
	ts.tv_nsec = -1;
	CHECK_EQ(pthread_mutex_timedlock(&m, &ts), EINVAL);
	bg_release(&a);
	ts = deadline_us(CLOCK_REALTIME, 5000000);
	CHECK_ERRNO(pthread_mutex_timedlock(&m, &ts), 0, ERRNO_MARK);
	CHECK_EQ(pthread_mutex_unlock(&m), 0);
	check_bg(&a, 0, 0);
}

static NOINLINE void
robust_mutex(void)
{
	pthread_mutex_t m;
	mutex_init_kind(&m, PTHREAD_MUTEX_NORMAL, 1, 0);

	/* The owner dies while we are blocked on the mutex. */
	struct bg_hold a = {.lock = bg_mutex_lock, .obj = &m, .hold_us = 50000,
			    .exit_holding = 1};
	bg_hold_start(&a, 1);
	CHECK_EQ(pthread_mutex_lock(&m), EOWNERDEAD);
	CHECK_EQ(pthread_mutex_consistent(&m), 0);
	CHECK_EQ(pthread_mutex_unlock(&m), 0);
	CHECK_EQ(pthread_mutex_lock(&m), 0);
	CHECK_EQ(pthread_mutex_unlock(&m), 0);
	check_bg(&a, 0, 0);

	/* The owner died before we came; not made consistent: unusable. */
	a.hold_us = 0;
	bg_hold_start(&a, 1);
	check_bg(&a, 0, 0);
	CHECK_EQ(pthread_mutex_lock(&m), EOWNERDEAD);
	CHECK_EQ(pthread_mutex_unlock(&m), 0);
	CHECK_EQ(pthread_mutex_lock(&m), ENOTRECOVERABLE);
}

static NOINLINE void
pi_mutex(void)
{
	pthread_mutex_t m;
	struct bg_hold a;
	mutex_init_kind(&m, PTHREAD_MUTEX_NORMAL, 0, PTHREAD_PRIO_INHERIT);
	a = (struct bg_hold){.lock = bg_mutex_lock, .unlock = bg_mutex_unlock, .obj = &m,
			     .hold_us = 50000, .manual = 1};
	errno_survives_handoff(&m, &a);
}

static NOINLINE void
rwlock_results(void)
{
	pthread_rwlock_t l = PTHREAD_RWLOCK_INITIALIZER;
	struct bg_hold a = {.lock = bg_rwlock_wrlock, .unlock = bg_rwlock_unlock, .obj = &l,
			    .hold_us = 50000, .manual = 1};

	CHECK_EQ(pthread_rwlock_wrlock(&l), 0);
	CHECK_EQ(pthread_rwlock_wrlock(&l), EDEADLK);
	CHECK_EQ(pthread_rwlock_rdlock(&l), EDEADLK);
	CHECK_EQ(pthread_rwlock_unlock(&l), 0);

	bg_hold_start(&a, 1);
	CHECK_EQ(pthread_rwlock_tryrdlock(&l), EBUSY);
	CHECK_EQ(pthread_rwlock_trywrlock(&l), EBUSY);
	struct timespec ts = deadline_us(CLOCK_REALTIME, 20000);
	CHECK_EQ(pthread_rwlock_timedrdlock(&l, &ts), ETIMEDOUT);
	bg_release(&a);
	CHECK_ERRNO(pthread_rwlock_rdlock(&l), 0, ERRNO_MARK);
	CHECK_EQ(pthread_rwlock_unlock(&l), 0);
	check_bg(&a, 0, 0);

	a.lock = bg_rwlock_rdlock;
	bg_hold_start(&a, 1);
	CHECK_EQ(pthread_rwlock_trywrlock(&l), EBUSY);
	CHECK_EQ(pthread_rwlock_tryrdlock(&l), 0);
	CHECK_EQ(pthread_rwlock_unlock(&l), 0);
	bg_release(&a);
	CHECK_EQ(pthread_rwlock_wrlock(&l), 0);
	CHECK_EQ(errno, ERRNO_MARK);
	CHECK_EQ(pthread_rwlock_unlock(&l), 0);
	check_bg(&a, 0, 0);
}

static NOINLINE void
spinlock_results(void)
{
	pthread_spinlock_t s;
	XPT(pthread_spin_init(&s, PTHREAD_PROCESS_PRIVATE));
	struct bg_hold a = {.lock = bg_spin_lock, .unlock = bg_spin_unlock, .obj = (void *)&s,
			    .hold_us = 30000, .manual = 1};
	bg_hold_start(&a, 1);
	CHECK_EQ(pthread_spin_trylock(&s), EBUSY);
	bg_release(&a);
	errno = ERRNO_MARK;
	CHECK_EQ(pthread_spin_lock(&s), 0);
	CHECK_EQ(pthread_spin_unlock(&s), 0);
	CHECK_EQ(errno, ERRNO_MARK);
	check_bg(&a, 0, 0);
	pthread_spin_destroy(&s);
}

/* Wakes the waits below after 30 ms: posts, signals, meets, ends. */
static sem_t wake_sem;
static pthread_mutex_t wake_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake_c = PTHREAD_COND_INITIALIZER;
static int wake_flag;
static pthread_barrier_t wake_b;
static sem_t exit_sem; /* posted by main once its timed join timed out */

static void *
waker(void *arg)
{
	sleep_us(30000);
	sem_post(&wake_sem);
	sleep_us(30000);
	pthread_mutex_lock(&wake_m);
	wake_flag = 1;
	pthread_cond_signal(&wake_c);
	pthread_mutex_unlock(&wake_m);
	sleep_us(30000);
	pthread_barrier_wait(&wake_b);
	/* Alive until main's timed join has timed out: by construction, not
	 * by a sleep that a loaded machine may outlast. */
	while (sem_wait(&exit_sem) != 0)
		;
	return (void *)(long)ERRNO_MARK;
}

static NOINLINE void
wait_results(void)
{
	pthread_t t;
	void *ret = NULL;
	if (sem_init(&wake_sem, 0, 0) != 0 || sem_init(&exit_sem, 0, 0) != 0)
		die("sem_init", errno);
	XPT(pthread_barrier_init(&wake_b, NULL, 2));
	XPT(pthread_create(&t, NULL, waker, NULL));

	CHECK_ERRNO(sem_wait(&wake_sem), 0, ERRNO_MARK);
	CHECK_EQ(sem_trywait(&wake_sem), -1);
	CHECK_EQ(errno, EAGAIN);
	struct timespec ts = deadline_us(CLOCK_REALTIME, 10000);
	errno = 0;
	CHECK_EQ(sem_timedwait(&wake_sem, &ts), -1);
	CHECK_EQ(errno, ETIMEDOUT);

	errno = ERRNO_MARK;
	pthread_mutex_lock(&wake_m);
	while (!wake_flag)
		CHECK_EQ(pthread_cond_wait(&wake_c, &wake_m), 0);
	ts = deadline_us(CLOCK_REALTIME, 10000);
	CHECK_EQ(pthread_cond_timedwait(&wake_c, &wake_m, &ts), ETIMEDOUT);
	pthread_mutex_unlock(&wake_m);
	CHECK_EQ(errno, ERRNO_MARK);

	int r = pthread_barrier_wait(&wake_b);
	CHECK_EQ(r == 0 || r == PTHREAD_BARRIER_SERIAL_THREAD, 1);
	ts = deadline_us(CLOCK_REALTIME, 1000);
	CHECK_EQ(pthread_timedjoin_np(t, &ret, &ts), ETIMEDOUT);
	sem_post(&exit_sem);
	CHECK_EQ(pthread_join(t, &ret), 0);
	CHECK_EQ((long)ret, ERRNO_MARK);
	CHECK_EQ(errno, ERRNO_MARK);
	CHECK_EQ(pthread_join(pthread_self(), NULL), EDEADLK);
}

int
main(void)
{
	errorcheck_mutex();
	recursive_mutex();
	normal_mutex_timeouts();
	robust_mutex();
	pi_mutex();
	rwlock_results();
	spinlock_results();
	wait_results();
	return check_status();
}
