/* Every kind of pthread lock, uncontended and contended by construction,
 * with the results of every call checked against what glibc promises.
 *
 * Mutex kinds: normal, recursive, error-checking, adaptive, robust,
 * priority-inherit (PI), PI + robust, priority-protect (PP), and
 * process-shared plain and robust, whose holder is another process
 * (fork, MAP_SHARED). rwlocks: default, prefer-writer, prefer-writer
 * non-recursive, process-shared. Spinlocks: private and process-shared.
 *
 * The profile test (tests/integration/test_lockkinds.c) decodes what the
 * shim wrote and relies on these function names:
 * - uncontended_<kind>: only calls that never wait (free locks, relocks
 *   that return EDEADLK or count, trylocks, locks of a robust mutex whose
 *   owner died, PP ceiling violations). No wait may be recorded under it.
 * - contended_<kind>: lock, timedlock and clocklock (or the rwlock and
 *   spinlock equivalents), each made while another thread or process
 *   holds the lock and keeps holding it until this thread is seen asleep
 *   in the call (/proc/<pid>/task/<tid>/stat, 'S'), or, for a spinlock,
 *   has spun for 10 ms of its own CPU time. A wait is certain.
 * - holding_<kind>: the holder's unlock that wakes that waiter (threads
 *   in this process only; a holder process writes no profile here).
 * - handover_<kind>: a condvar wait on a mutex another thread is blocked
 *   on, so the wait hands the mutex over inside glibc.
 * - timeout_<kind>: timed locks that expire (ETIMEDOUT), trylocks that
 *   find the lock held (EBUSY), unlocks by a non-owner (EPERM).
 *
 * Priority-protect mutexes only lock for a SCHED_FIFO thread whose
 * priority is at most the ceiling (glibc returns EINVAL to a SCHED_OTHER
 * thread: it cannot raise it to the ceiling). The PP cases run at
 * SCHED_FIFO 5 under ceiling 10 when the process may (prints
 * "pp_fifo = 1"), and otherwise only check that every PP lock returns
 * EINVAL the same with and without the shim.
 *
 * Prints "<kind> <what> = <value>" for every checked result (compared
 * between a plain and a preloaded run), "FAIL: ..." on stderr and exit 1
 * on a deviation. Argument: uncontended iterations per kind (20000). */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "progs.h"

static long iters = 20000;
static int pp_fifo; /* PP mutexes can be locked (SCHED_FIFO allowed) */

static void
expect(const char *kind, const char *what, long got, long want)
{
	char buf[160];
	snprintf(buf, sizeof(buf), "%s %s", kind, what);
	check_eq_(got, want, buf, __FILE__, __LINE__);
}

static int
gettid_(void)
{
	return (int)syscall(SYS_gettid);
}

static void *
shared_alloc(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap", errno);
	memset(p, 0, len);
	return p;
}

/* ------------------------------------------------------------------ */
/* The holder side: another thread (or process) takes the lock and keeps
 * it until the waiter is seen inside its call. All fields shared. */

enum hold_mode {
	HOLD_UNTIL_BLOCKED, /* until the waiter sleeps (or spins) in its call */
	HOLD_UNTIL_DONE,    /* until the waiter says done */
	HOLD_EXIT,          /* die holding it (robust) */
};

struct ctl {
	int (*lock)(void *);
	int (*unlock)(void *);
	void *obj;
	enum hold_mode mode;
	int spin;        /* the waiter spins instead of sleeping */
	int fifo;        /* the holder runs at SCHED_FIFO 5 (PP) */
	int held, armed, done;
	int waiter_pid, waiter_tid;
	pthread_t waiter; /* for a spinning waiter's CPU clock */
	int lock_rc, unlock_rc;
	void (*holding)(struct ctl *);
};

static int
ld(int *p)
{
	return __atomic_load_n(p, __ATOMIC_SEQ_CST);
}

static void
st(int *p, int v)
{
	__atomic_store_n(p, v, __ATOMIC_SEQ_CST);
}

static int64_t
cpu_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Returns once the armed waiter is certainly inside its lock call. */
static void
wait_for_waiter(struct ctl *c)
{
	while (!ld(&c->armed))
		sleep_us(500);
	if (c->spin) {
		clockid_t clk;
		XPT(pthread_getcpuclockid(c->waiter, &clk));
		int64_t t0 = cpu_ns(clk);
		while (cpu_ns(clk) - t0 < 10000000)
			sleep_us(1000);
		return;
	}
	for (int64_t t0 = now_ns(); now_ns() - t0 < 60000000000LL;) {
		char s = task_state(c->waiter_pid, c->waiter_tid);
		if (s == 'S' || s == 'D')
			return;
		sleep_us(500);
	}
	die("waiter never blocked", ETIMEDOUT);
}

static void
set_fifo(int prio)
{
	struct sched_param sp = {.sched_priority = prio};
	XPT(pthread_setschedparam(pthread_self(), prio ? SCHED_FIFO : SCHED_OTHER, &sp));
}

static NOINLINE void
hold_body(struct ctl *c)
{
	c->lock_rc = c->lock(c->obj);
	st(&c->held, 1);
	if (c->mode == HOLD_EXIT)
		return;
	if (c->mode == HOLD_UNTIL_BLOCKED) {
		wait_for_waiter(c);
		sleep_us(5000);
	} else {
		while (!ld(&c->done))
			sleep_us(500);
	}
	c->unlock_rc = c->unlock(c->obj);
}

static void *
holder_thread(void *arg)
{
	struct ctl *c = arg;
	if (c->fifo)
		set_fifo(5);
	c->holding(c);
	return NULL;
}

struct holder {
	pthread_t t;
	pid_t pid;
};

/* Starts the holder (a thread, or with proc a child process, c in shared
 * memory) and returns once it holds. */
static struct holder
holder_start(struct ctl *c, int proc)
{
	struct holder h = {0};
	c->waiter_pid = getpid();
	c->waiter_tid = gettid_();
	c->waiter = pthread_self();
	if (proc) {
		h.pid = fork();
		if (h.pid < 0)
			die("fork", errno);
		if (h.pid == 0) {
			holder_thread(c);
			_exit(0);
		}
	} else {
		XPT(pthread_create(&h.t, NULL, holder_thread, c));
	}
	while (!ld(&c->held))
		sleep_us(500);
	return h;
}

static void
holder_join(struct holder *h)
{
	if (h->pid) {
		int st_;
		if (waitpid(h->pid, &st_, 0) != h->pid || !WIFEXITED(st_) || WEXITSTATUS(st_))
			die("holder process", ECHILD);
	} else {
		XPT(pthread_join(h->t, NULL));
	}
}

/* ------------------------------------------------------------------ */
/* Mutexes. */

struct mkind {
	const char *name;
	int type, robust, protocol, pshared;
};

#define MUTEX_KINDS(X)                                                      \
	X(normal, PTHREAD_MUTEX_NORMAL, 0, PTHREAD_PRIO_NONE, 0)            \
	X(recursive, PTHREAD_MUTEX_RECURSIVE, 0, PTHREAD_PRIO_NONE, 0)      \
	X(errorcheck, PTHREAD_MUTEX_ERRORCHECK, 0, PTHREAD_PRIO_NONE, 0)    \
	X(adaptive, PTHREAD_MUTEX_ADAPTIVE_NP, 0, PTHREAD_PRIO_NONE, 0)     \
	X(robust, PTHREAD_MUTEX_NORMAL, 1, PTHREAD_PRIO_NONE, 0)            \
	X(robust_errorcheck, PTHREAD_MUTEX_ERRORCHECK, 1, PTHREAD_PRIO_NONE, 0) \
	X(pi, PTHREAD_MUTEX_NORMAL, 0, PTHREAD_PRIO_INHERIT, 0)             \
	X(pi_errorcheck, PTHREAD_MUTEX_ERRORCHECK, 0, PTHREAD_PRIO_INHERIT, 0) \
	X(pi_robust, PTHREAD_MUTEX_NORMAL, 1, PTHREAD_PRIO_INHERIT, 0)      \
	X(pp, PTHREAD_MUTEX_NORMAL, 0, PTHREAD_PRIO_PROTECT, 0)             \
	X(pp_recursive, PTHREAD_MUTEX_RECURSIVE, 0, PTHREAD_PRIO_PROTECT, 0) \
	X(pshared, PTHREAD_MUTEX_NORMAL, 0, PTHREAD_PRIO_NONE, 1)           \
	X(pshared_robust, PTHREAD_MUTEX_ERRORCHECK, 1, PTHREAD_PRIO_NONE, 1) \
	X(pshared_pi, PTHREAD_MUTEX_NORMAL, 0, PTHREAD_PRIO_INHERIT, 1)

#define PP_CEILING 10

static void
mutex_make(pthread_mutex_t *m, const struct mkind *k)
{
	pthread_mutexattr_t a;
	XPT(pthread_mutexattr_init(&a));
	XPT(pthread_mutexattr_settype(&a, k->type));
	if (k->robust)
		XPT(pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST));
	XPT(pthread_mutexattr_setprotocol(&a, k->protocol));
	if (k->protocol == PTHREAD_PRIO_PROTECT)
		XPT(pthread_mutexattr_setprioceiling(&a, PP_CEILING));
	if (k->pshared)
		XPT(pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED));
	XPT(pthread_mutex_init(m, &a));
	pthread_mutexattr_destroy(&a);
}

static int
is_pp(const struct mkind *k)
{
	return k->protocol == PTHREAD_PRIO_PROTECT;
}

/* What a lock of a free mutex of kind k returns here. */
static int
lock_ok(const struct mkind *k)
{
	return is_pp(k) && !pp_fifo ? EINVAL : 0;
}

struct mshared {
	pthread_mutex_t m;
	pthread_cond_t c;
	struct ctl ctl;
};

static struct mshared *
mshared_new(const struct mkind *k)
{
	struct mshared *s = shared_alloc(sizeof(*s));
	mutex_make(&s->m, k);
	pthread_condattr_t ca;
	XPT(pthread_condattr_init(&ca));
	if (k->pshared)
		XPT(pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED));
	XPT(pthread_cond_init(&s->c, &ca));
	pthread_condattr_destroy(&ca);
	return s;
}

static void
mshared_free(struct mshared *s)
{
	pthread_mutex_destroy(&s->m);
	pthread_cond_destroy(&s->c);
	munmap(s, sizeof(*s));
}

/* Calls that never wait, iters times each, errno checked throughout. */
static NOINLINE void
uncontended_body(const struct mkind *k)
{
	struct mshared *s = mshared_new(k);
	pthread_mutex_t *m = &s->m;
	int want = lock_ok(k), bad = 0;
	errno = ERRNO_MARK;
	for (long i = 0; i < iters; i++) {
		bad += pthread_mutex_lock(m) != want;
		bad += pthread_mutex_unlock(m) != 0;
		struct timespec rt = deadline_us(CLOCK_REALTIME, 60000000);
		bad += pthread_mutex_timedlock(m, &rt) != want;
		bad += pthread_mutex_unlock(m) != 0;
		struct timespec mt = deadline_us(CLOCK_MONOTONIC, 60000000);
		bad += pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &mt) != want;
		bad += pthread_mutex_unlock(m) != 0;
		bad += pthread_mutex_trylock(m) != (want ? want : 0);
		bad += pthread_mutex_unlock(m) != 0;
	}
	expect(k->name, "uncontended bad results", bad, 0);
	expect(k->name, "uncontended errno", errno, ERRNO_MARK);
	if (want) { /* PP without SCHED_FIFO: nothing more can be locked */
		mshared_free(s);
		return;
	}

	/* Relocks by the owner that return at once. */
	struct timespec rt = deadline_us(CLOCK_REALTIME, 60000000);
	struct timespec mt = deadline_us(CLOCK_MONOTONIC, 60000000);
	expect(k->name, "lock", pthread_mutex_lock(m), 0);
	if (k->type == PTHREAD_MUTEX_ERRORCHECK) {
		expect(k->name, "relock", pthread_mutex_lock(m), EDEADLK);
		expect(k->name, "timed relock", pthread_mutex_timedlock(m, &rt), EDEADLK);
		expect(k->name, "clock relock", pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &mt),
		       EDEADLK);
		expect(k->name, "unlock", pthread_mutex_unlock(m), 0);
		expect(k->name, "unlock unowned", pthread_mutex_unlock(m), EPERM);
	} else if (k->type == PTHREAD_MUTEX_RECURSIVE) {
		expect(k->name, "relock", pthread_mutex_lock(m), 0);
		expect(k->name, "timed relock", pthread_mutex_timedlock(m, &rt), 0);
		expect(k->name, "clock relock", pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &mt), 0);
		expect(k->name, "trylock relock", pthread_mutex_trylock(m), 0);
		for (int i = 0; i < 5; i++)
			expect(k->name, "unlock", pthread_mutex_unlock(m), 0);
		expect(k->name, "unlock unowned", pthread_mutex_unlock(m), EPERM);
	} else {
		/* Normal, adaptive: the owner's trylock says EBUSY (a relock
		 * would block forever: that is a real wait, not made here). */
		expect(k->name, "trylock by owner", pthread_mutex_trylock(m), EBUSY);
		expect(k->name, "unlock", pthread_mutex_unlock(m), 0);
		if (k->robust || k->protocol == PTHREAD_PRIO_INHERIT)
			expect(k->name, "unlock unowned", pthread_mutex_unlock(m), EPERM);
	}

	if (k->robust) {
		/* The owner dies holding it (a thread, or the holder process
		 * for a process-shared mutex): EOWNERDEAD at once, no wait. */
		for (int round = 0; round < 2; round++) {
			s->ctl = (struct ctl){.lock = bg_mutex_lock, .unlock = bg_mutex_unlock, .obj = m,
					      .mode = HOLD_EXIT, .holding = hold_body};
			struct holder h = holder_start(&s->ctl, k->pshared);
			holder_join(&h);
			expect(k->name, "dead owner's lock", s->ctl.lock_rc, 0);
			if (round == 0) {
				expect(k->name, "lock after owner died", pthread_mutex_lock(m),
				       EOWNERDEAD);
				expect(k->name, "consistent", pthread_mutex_consistent(m), 0);
				expect(k->name, "unlock consistent", pthread_mutex_unlock(m), 0);
			} else {
				rt = deadline_us(CLOCK_REALTIME, 60000000);
				expect(k->name, "timedlock after owner died",
				       pthread_mutex_timedlock(m, &rt), EOWNERDEAD);
				/* Not made consistent: unusable from now on. */
				expect(k->name, "unlock inconsistent", pthread_mutex_unlock(m), 0);
			}
		}
		rt = deadline_us(CLOCK_REALTIME, 60000000);
		mt = deadline_us(CLOCK_MONOTONIC, 60000000);
		expect(k->name, "lock unrecoverable", pthread_mutex_lock(m), ENOTRECOVERABLE);
		expect(k->name, "timedlock unrecoverable", pthread_mutex_timedlock(m, &rt),
		       ENOTRECOVERABLE);
		expect(k->name, "clocklock unrecoverable",
		       pthread_mutex_clocklock(m, CLOCK_MONOTONIC, &mt), ENOTRECOVERABLE);
		expect(k->name, "trylock unrecoverable", pthread_mutex_trylock(m), ENOTRECOVERABLE);
	}

	if (is_pp(k)) {
		/* A thread above the ceiling may not lock: EINVAL. */
		set_fifo(PP_CEILING + 5);
		rt = deadline_us(CLOCK_REALTIME, 60000000);
		expect(k->name, "lock above ceiling", pthread_mutex_lock(m), EINVAL);
		expect(k->name, "timedlock above ceiling", pthread_mutex_timedlock(m, &rt), EINVAL);
		expect(k->name, "trylock above ceiling", pthread_mutex_trylock(m), EINVAL);
		set_fifo(5);
		int old = -1;
		expect(k->name, "setprioceiling", pthread_mutex_setprioceiling(m, 20, &old), 0);
		expect(k->name, "old ceiling", old, PP_CEILING);
		expect(k->name, "lock after setprioceiling", pthread_mutex_lock(m), 0);
		expect(k->name, "unlock after setprioceiling", pthread_mutex_unlock(m), 0);
	}
	expect(k->name, "errno", errno, ERRNO_MARK);
	mshared_free(s);
}

/* lock, timedlock and clocklock, each while another holds m until this
 * thread sleeps in the call. */
static NOINLINE void
contended_body(const struct mkind *k, void (*holding)(struct ctl *))
{
	struct mshared *s = mshared_new(k);
	for (int flavour = 0; flavour < 3; flavour++) {
		s->ctl = (struct ctl){.lock = bg_mutex_lock, .unlock = bg_mutex_unlock, .obj = &s->m,
				      .mode = HOLD_UNTIL_BLOCKED, .fifo = is_pp(k),
				      .holding = holding};
		struct holder h = holder_start(&s->ctl, k->pshared);
		errno = ERRNO_MARK;
		st(&s->ctl.armed, 1);
		int r;
		if (flavour == 0) {
			r = pthread_mutex_lock(&s->m);
		} else if (flavour == 1) {
			struct timespec t = deadline_us(CLOCK_REALTIME, 60000000);
			r = pthread_mutex_timedlock(&s->m, &t);
		} else {
			struct timespec t = deadline_us(CLOCK_MONOTONIC, 60000000);
			r = pthread_mutex_clocklock(&s->m, CLOCK_MONOTONIC, &t);
		}
		static const char *const what[] = {"contended lock", "contended timedlock",
						   "contended clocklock"};
		expect(k->name, what[flavour], r, 0);
		expect(k->name, "contended errno", errno, ERRNO_MARK);
		expect(k->name, "contended unlock", pthread_mutex_unlock(&s->m), 0);
		holder_join(&h);
		expect(k->name, "holder lock", s->ctl.lock_rc, 0);
		expect(k->name, "holder unlock", s->ctl.unlock_rc, 0);
	}
	mshared_free(s);
}

/* ETIMEDOUT, EBUSY and EPERM while another holds m. */
static NOINLINE void
timeout_body(const struct mkind *k)
{
	struct mshared *s = mshared_new(k);
	s->ctl = (struct ctl){.lock = bg_mutex_lock, .unlock = bg_mutex_unlock, .obj = &s->m,
			      .mode = HOLD_UNTIL_DONE, .fifo = is_pp(k), .holding = hold_body};
	struct holder h = holder_start(&s->ctl, k->pshared);
	errno = ERRNO_MARK;
	struct timespec rt = deadline_us(CLOCK_REALTIME, 20000);
	expect(k->name, "timedlock held", pthread_mutex_timedlock(&s->m, &rt), ETIMEDOUT);
	struct timespec mt = deadline_us(CLOCK_MONOTONIC, 20000);
	expect(k->name, "clocklock held", pthread_mutex_clocklock(&s->m, CLOCK_MONOTONIC, &mt),
	       ETIMEDOUT);
	expect(k->name, "trylock held", pthread_mutex_trylock(&s->m), EBUSY);
	if (k->type == PTHREAD_MUTEX_ERRORCHECK || k->type == PTHREAD_MUTEX_RECURSIVE ||
	    k->robust || k->protocol == PTHREAD_PRIO_INHERIT)
		expect(k->name, "unlock by non-owner", pthread_mutex_unlock(&s->m), EPERM);
	expect(k->name, "timeout errno", errno, ERRNO_MARK);
	st(&s->ctl.done, 1);
	holder_join(&h);
	expect(k->name, "holder unlock", s->ctl.unlock_rc, 0);
	mshared_free(s);
}

/* A condvar wait on m while another thread sleeps in lock(m): the wait
 * hands m over inside glibc, then takes it back (ETIMEDOUT). */
static void *
handover_locker(void *arg)
{
	struct ctl *c = arg;
	if (c->fifo)
		set_fifo(5);
	c->waiter_pid = getpid();
	c->waiter_tid = gettid_();
	st(&c->armed, 1);
	c->lock_rc = pthread_mutex_lock(c->obj);
	c->unlock_rc = pthread_mutex_unlock(c->obj);
	return NULL;
}

static NOINLINE void
handover_body(const struct mkind *k)
{
	struct mshared *s = mshared_new(k);
	s->ctl = (struct ctl){.obj = &s->m, .fifo = is_pp(k)};
	expect(k->name, "handover lock", pthread_mutex_lock(&s->m), 0);
	pthread_t t;
	XPT(pthread_create(&t, NULL, handover_locker, &s->ctl));
	wait_for_waiter(&s->ctl);
	errno = ERRNO_MARK;
	struct timespec rt = deadline_us(CLOCK_REALTIME, 20000);
	expect(k->name, "handover timedwait", pthread_cond_timedwait(&s->c, &s->m, &rt),
	       ETIMEDOUT);
	expect(k->name, "handover errno", errno, ERRNO_MARK);
	expect(k->name, "handover unlock", pthread_mutex_unlock(&s->m), 0);
	XPT(pthread_join(t, NULL));
	expect(k->name, "handover locker lock", s->ctl.lock_rc, 0);
	expect(k->name, "handover locker unlock", s->ctl.unlock_rc, 0);
	mshared_free(s);
}

#define MUTEX_FUNCS(name, ty_, rb_, pr_, ps_)                        \
	static const struct mkind mk_##name = {#name, ty_, rb_, pr_, ps_}; \
	static NOINLINE void holding_##name(struct ctl *c) { hold_body(c); }          \
	static NOINLINE void uncontended_##name(void) { uncontended_body(&mk_##name); } \
	static NOINLINE void contended_##name(void)                                  \
	{                                                                             \
		contended_body(&mk_##name, holding_##name);                           \
	}                                                                             \
	static NOINLINE void timeout_##name(void) { timeout_body(&mk_##name); }       \
	static NOINLINE void handover_##name(void) { handover_body(&mk_##name); }     \
	static void run_##name(void)                                                  \
	{                                                                             \
		uncontended_##name();                                                 \
		if (lock_ok(&mk_##name) != 0)                                         \
			return;                                                       \
		contended_##name();                                                   \
		timeout_##name();                                                     \
		if (!mk_##name.pshared)                                               \
			handover_##name();                                            \
	}
MUTEX_KINDS(MUTEX_FUNCS)

/* ------------------------------------------------------------------ */
/* rwlocks. */

struct rkind {
	const char *name;
	int pref, pshared;
};

struct rshared {
	pthread_rwlock_t l;
	struct ctl ctl;
};

static struct rshared *
rshared_new(const struct rkind *k)
{
	struct rshared *s = shared_alloc(sizeof(*s));
	pthread_rwlockattr_t a;
	XPT(pthread_rwlockattr_init(&a));
	XPT(pthread_rwlockattr_setkind_np(&a, k->pref));
	if (k->pshared)
		XPT(pthread_rwlockattr_setpshared(&a, PTHREAD_PROCESS_SHARED));
	XPT(pthread_rwlock_init(&s->l, &a));
	pthread_rwlockattr_destroy(&a);
	return s;
}

static NOINLINE void
rw_uncontended_body(const struct rkind *k)
{
	struct rshared *s = rshared_new(k);
	pthread_rwlock_t *l = &s->l;
	int bad = 0;
	errno = ERRNO_MARK;
	for (long i = 0; i < iters; i++) {
		struct timespec rt = deadline_us(CLOCK_REALTIME, 60000000);
		struct timespec mt = deadline_us(CLOCK_MONOTONIC, 60000000);
		bad += pthread_rwlock_rdlock(l) != 0;
		bad += pthread_rwlock_unlock(l) != 0;
		bad += pthread_rwlock_wrlock(l) != 0;
		bad += pthread_rwlock_unlock(l) != 0;
		bad += pthread_rwlock_timedrdlock(l, &rt) != 0;
		bad += pthread_rwlock_unlock(l) != 0;
		bad += pthread_rwlock_timedwrlock(l, &rt) != 0;
		bad += pthread_rwlock_unlock(l) != 0;
		bad += pthread_rwlock_clockrdlock(l, CLOCK_MONOTONIC, &mt) != 0;
		bad += pthread_rwlock_unlock(l) != 0;
		bad += pthread_rwlock_clockwrlock(l, CLOCK_MONOTONIC, &mt) != 0;
		bad += pthread_rwlock_unlock(l) != 0;
		bad += pthread_rwlock_tryrdlock(l) != 0;
		bad += pthread_rwlock_unlock(l) != 0;
		bad += pthread_rwlock_trywrlock(l) != 0;
		bad += pthread_rwlock_unlock(l) != 0;
	}
	expect(k->name, "uncontended bad results", bad, 0);
	struct timespec rt = deadline_us(CLOCK_REALTIME, 60000000);
	struct timespec mt = deadline_us(CLOCK_MONOTONIC, 60000000);
	/* Read locks nest; the write owner's relocks are EDEADLK at once. */
	expect(k->name, "rdlock", pthread_rwlock_rdlock(l), 0);
	expect(k->name, "rdlock again", pthread_rwlock_rdlock(l), 0);
	expect(k->name, "trywrlock while read", pthread_rwlock_trywrlock(l), EBUSY);
	expect(k->name, "unlock", pthread_rwlock_unlock(l), 0);
	expect(k->name, "unlock", pthread_rwlock_unlock(l), 0);
	expect(k->name, "wrlock", pthread_rwlock_wrlock(l), 0);
	expect(k->name, "wrlock relock", pthread_rwlock_wrlock(l), EDEADLK);
	expect(k->name, "rdlock by writer", pthread_rwlock_rdlock(l), EDEADLK);
	expect(k->name, "timedwrlock relock", pthread_rwlock_timedwrlock(l, &rt), EDEADLK);
	expect(k->name, "timedrdlock by writer", pthread_rwlock_timedrdlock(l, &rt), EDEADLK);
	expect(k->name, "clockwrlock relock",
	       pthread_rwlock_clockwrlock(l, CLOCK_MONOTONIC, &mt), EDEADLK);
	expect(k->name, "clockrdlock by writer",
	       pthread_rwlock_clockrdlock(l, CLOCK_MONOTONIC, &mt), EDEADLK);
	expect(k->name, "tryrdlock by writer", pthread_rwlock_tryrdlock(l), EBUSY);
	expect(k->name, "unlock", pthread_rwlock_unlock(l), 0);
	expect(k->name, "errno", errno, ERRNO_MARK);
	pthread_rwlock_destroy(l);
	munmap(s, sizeof(*s));
}

/* Each blocking call while the holder keeps the conflicting mode. */
static NOINLINE void
rw_contended_body(const struct rkind *k, void (*holding)(struct ctl *))
{
	struct rshared *s = rshared_new(k);
	static const struct {
		int writer_holds;
		const char *what;
	} cases[] = {
		{1, "rdlock"}, {0, "wrlock"}, {1, "wrlock"},
		{1, "timedrdlock"}, {0, "timedwrlock"}, {1, "clockrdlock"}, {0, "clockwrlock"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		s->ctl = (struct ctl){.lock = cases[i].writer_holds ? bg_rwlock_wrlock : bg_rwlock_rdlock,
				      .unlock = bg_rwlock_unlock, .obj = &s->l, .mode = HOLD_UNTIL_BLOCKED,
				      .holding = holding};
		struct holder h = holder_start(&s->ctl, k->pshared);
		errno = ERRNO_MARK;
		st(&s->ctl.armed, 1);
		struct timespec rt = deadline_us(CLOCK_REALTIME, 60000000);
		struct timespec mt = deadline_us(CLOCK_MONOTONIC, 60000000);
		const char *w = cases[i].what;
		int r;
		if (!strcmp(w, "rdlock"))
			r = pthread_rwlock_rdlock(&s->l);
		else if (!strcmp(w, "wrlock"))
			r = pthread_rwlock_wrlock(&s->l);
		else if (!strcmp(w, "timedrdlock"))
			r = pthread_rwlock_timedrdlock(&s->l, &rt);
		else if (!strcmp(w, "timedwrlock"))
			r = pthread_rwlock_timedwrlock(&s->l, &rt);
		else if (!strcmp(w, "clockrdlock"))
			r = pthread_rwlock_clockrdlock(&s->l, CLOCK_MONOTONIC, &mt);
		else
			r = pthread_rwlock_clockwrlock(&s->l, CLOCK_MONOTONIC, &mt);
		char buf[64];
		snprintf(buf, sizeof(buf), "contended %s (writer holds %d)", w,
			 cases[i].writer_holds);
		expect(k->name, buf, r, 0);
		expect(k->name, "contended errno", errno, ERRNO_MARK);
		expect(k->name, "contended unlock", pthread_rwlock_unlock(&s->l), 0);
		holder_join(&h);
		expect(k->name, "holder lock", s->ctl.lock_rc, 0);
		expect(k->name, "holder unlock", s->ctl.unlock_rc, 0);
	}
	pthread_rwlock_destroy(&s->l);
	munmap(s, sizeof(*s));
}

static NOINLINE void
rw_timeout_body(const struct rkind *k)
{
	struct rshared *s = rshared_new(k);
	s->ctl = (struct ctl){.lock = bg_rwlock_wrlock, .unlock = bg_rwlock_unlock, .obj = &s->l,
			      .mode = HOLD_UNTIL_DONE, .holding = hold_body};
	struct holder h = holder_start(&s->ctl, k->pshared);
	errno = ERRNO_MARK;
	struct timespec rt = deadline_us(CLOCK_REALTIME, 20000);
	expect(k->name, "timedrdlock held", pthread_rwlock_timedrdlock(&s->l, &rt), ETIMEDOUT);
	rt = deadline_us(CLOCK_REALTIME, 20000);
	expect(k->name, "timedwrlock held", pthread_rwlock_timedwrlock(&s->l, &rt), ETIMEDOUT);
	struct timespec mt = deadline_us(CLOCK_MONOTONIC, 20000);
	expect(k->name, "clockrdlock held",
	       pthread_rwlock_clockrdlock(&s->l, CLOCK_MONOTONIC, &mt), ETIMEDOUT);
	expect(k->name, "tryrdlock held", pthread_rwlock_tryrdlock(&s->l), EBUSY);
	expect(k->name, "trywrlock held", pthread_rwlock_trywrlock(&s->l), EBUSY);
	expect(k->name, "timeout errno", errno, ERRNO_MARK);
	st(&s->ctl.done, 1);
	holder_join(&h);
	expect(k->name, "holder unlock", s->ctl.unlock_rc, 0);
	pthread_rwlock_destroy(&s->l);
	munmap(s, sizeof(*s));
}

#define RWLOCK_KINDS(X)                                                     \
	X(rw_default, PTHREAD_RWLOCK_DEFAULT_NP, 0)                         \
	X(rw_prefer_writer, PTHREAD_RWLOCK_PREFER_WRITER_NP, 0)             \
	X(rw_prefer_writer_nonrec, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP, 0) \
	X(rw_pshared, PTHREAD_RWLOCK_DEFAULT_NP, 1)

#define RWLOCK_FUNCS(name, pf_, ps_)                                          \
	static const struct rkind rk_##name = {#name, pf_, ps_};                  \
	static NOINLINE void holding_##name(struct ctl *c) { hold_body(c); }           \
	static NOINLINE void uncontended_##name(void) { rw_uncontended_body(&rk_##name); } \
	static NOINLINE void contended_##name(void)                                   \
	{                                                                              \
		rw_contended_body(&rk_##name, holding_##name);                         \
	}                                                                              \
	static NOINLINE void timeout_##name(void) { rw_timeout_body(&rk_##name); }     \
	static void run_##name(void)                                                   \
	{                                                                              \
		uncontended_##name();                                                  \
		contended_##name();                                                    \
		timeout_##name();                                                      \
	}
RWLOCK_KINDS(RWLOCK_FUNCS)

/* ------------------------------------------------------------------ */
/* Spinlocks (in-process only: a spinning waiter's CPU time is what shows
 * it is inside the call). */

struct sshared {
	pthread_spinlock_t s;
	struct ctl ctl;
};

static NOINLINE void
spin_uncontended_body(const char *name, int pshared)
{
	struct sshared *x = shared_alloc(sizeof(*x));
	XPT(pthread_spin_init(&x->s, pshared));
	int bad = 0;
	errno = ERRNO_MARK;
	for (long i = 0; i < iters; i++) {
		bad += pthread_spin_lock(&x->s) != 0;
		bad += pthread_spin_unlock(&x->s) != 0;
		bad += pthread_spin_trylock(&x->s) != 0;
		bad += pthread_spin_trylock(&x->s) != EBUSY;
		bad += pthread_spin_unlock(&x->s) != 0;
	}
	expect(name, "uncontended bad results", bad, 0);
	expect(name, "errno", errno, ERRNO_MARK);
	pthread_spin_destroy(&x->s);
	munmap(x, sizeof(*x));
}

static NOINLINE void
spin_contended_body(const char *name, int pshared, void (*holding)(struct ctl *))
{
	struct sshared *x = shared_alloc(sizeof(*x));
	XPT(pthread_spin_init(&x->s, pshared));
	x->ctl = (struct ctl){.lock = bg_spin_lock, .unlock = bg_spin_unlock, .obj = (void *)&x->s,
			      .mode = HOLD_UNTIL_BLOCKED, .spin = 1, .holding = holding};
	struct holder h = holder_start(&x->ctl, 0);
	expect(name, "trylock held", pthread_spin_trylock(&x->s), EBUSY);
	errno = ERRNO_MARK;
	st(&x->ctl.armed, 1);
	expect(name, "contended lock", pthread_spin_lock(&x->s), 0);
	expect(name, "contended errno", errno, ERRNO_MARK);
	expect(name, "contended unlock", pthread_spin_unlock(&x->s), 0);
	holder_join(&h);
	expect(name, "holder lock", x->ctl.lock_rc, 0);
	expect(name, "holder unlock", x->ctl.unlock_rc, 0);
	pthread_spin_destroy(&x->s);
	munmap(x, sizeof(*x));
}

#define SPIN_KINDS(X) X(spin_private, PTHREAD_PROCESS_PRIVATE) X(spin_pshared, PTHREAD_PROCESS_SHARED)
#define SPIN_FUNCS(name, ps_)                                                       \
	static NOINLINE void holding_##name(struct ctl *c) { hold_body(c); }                \
	static NOINLINE void uncontended_##name(void) { spin_uncontended_body(#name, ps_); } \
	static NOINLINE void contended_##name(void)                                        \
	{                                                                                   \
		spin_contended_body(#name, ps_, holding_##name);                        \
	}                                                                                   \
	static void run_##name(void)                                                        \
	{                                                                                   \
		uncontended_##name();                                                       \
		contended_##name();                                                         \
	}
SPIN_KINDS(SPIN_FUNCS)

/* ------------------------------------------------------------------ */

static int
probe_pp_fifo(void)
{
	struct sched_param sp = {.sched_priority = 5};
	if (pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp) != 0)
		return 0;
	sp.sched_priority = 0;
	XPT(pthread_setschedparam(pthread_self(), SCHED_OTHER, &sp));
	return 1;
}

static void *
pp_thread(void *run)
{
	set_fifo(5);
	((void (*)(void))run)();
	return NULL;
}

int
main(int argc, char **argv)
{
	iters = arg_long(argc, argv, 1, iters);
	pp_fifo = probe_pp_fifo();
	printf("pp_fifo = %d\n", pp_fifo);
	fflush(stdout);

#define RUN(name, ...) run_##name();
/* PP kinds run on a SCHED_FIFO thread of their own: glibc keeps a
 * thread's priority-protect boost after some condvar waits, so the main
 * thread could not go back to SCHED_OTHER. */
#define RUN_PP(name, ty_, rb_, pr_, ps_)                               \
	if (pr_ == PTHREAD_PRIO_PROTECT && pp_fifo) {                  \
		pthread_t t_;                                          \
		XPT(pthread_create(&t_, NULL, pp_thread, run_##name)); \
		XPT(pthread_join(t_, NULL));                           \
	} else {                                                       \
		run_##name();                                          \
	}
	MUTEX_KINDS(RUN_PP)
	RWLOCK_KINDS(RUN)
	SPIN_KINDS(RUN)
	return check_status();
}
