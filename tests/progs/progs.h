/* Shared helpers of the test programs in tests/progs/.
 *
 * Each program is one scenario whose waits are known by construction. The
 * programs print "key=value" lines on stdout (ground truth the integration
 * tests read: the waits they measured themselves, the pids of children)
 * and, for behaviour checks, one "FAIL: ..." line per deviation on stderr
 * and a nonzero exit status. Everything is plain libc + pthreads so that
 * they run the same with and without LD_PRELOAD=libcontend.so. */
#ifndef CT_PROGS_H
#define CT_PROGS_H

#include <pthread.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NOINLINE __attribute__((noinline))

/* Monotonic clock in ns. */
int64_t now_ns(void);

/* Sleeps us microseconds, restarting after signals. */
void sleep_us(long us);

/* An absolute CLOCK_REALTIME (or clk) deadline us microseconds from now,
 * for the timed waits. */
struct timespec deadline_us(clockid_t clk, long us);

/* The calling thread's kernel id. */
int self_tid(void);
/* Whether thread tid of this process is inside system call nr as the
 * kernel sees it (/proc/self/task/<tid>/syscall); true when that cannot
 * be read, so that callers fall back to their own settling time. Raw
 * system calls only: the shim records none of it as the caller's I/O. */
int in_syscall(int tid, long nr);
/* The system call a thread or process is in as its /proc/.../syscall file
 * at path says: its number, -1 outside any call ("running", "-1 ..."), -2
 * when the file cannot be read. Raw system calls only. */
long proc_syscall(const char *path);
/* The shim's own thread (named "libcontend") of this process, by its
 * name in /proc/self/task/<tid>/comm; 0 when there is none. Opens and
 * closes descriptors of its own (no stdio), so it works with the
 * standard streams closed. */
int shim_thread_tid(void);
/* The state letter of thread tid of process pid (0: this process) in
 * /proc/<pid>/task/<tid>/stat ('S' sleeping, 'R' running, ...), or '?'. */
char task_state(int pid, int tid);
/* Runs for ms milliseconds of CLOCK_MONOTONIC without a call the shim
 * wraps (a waiter of nothing). */
void spin_ms(long ms);
/* Installs fn for sig with flags and an empty mask (sigaction's result). */
int set_handler(int sig, void (*fn)(int), int flags);
/* In a forked child: stdout to /dev/null (the parent's reader sees only
 * the parent's lines); _exit(98) if that fails. */
void stdout_to_devnull(void);
/* nanosleep as a raw system call, for polling loops the shim must not
 * record as the caller's sleeps. */
void pause_us_raw(long us);

/* Starts *t, a thread named name (pthread_setname_np) that runs fn. */
void start_named(pthread_t *t, const char *name, void (*fn)(void));

/* Writes title over the process's environment block, as PostgreSQL's
 * ps_status.c and redis-server do: the environment moves to the heap,
 * and /proc/<pid>/environ shows the title. */
void write_title(const char *title);

/* Raises SIGUSR2 (the tests' CONTEND_DUMP_SIGNAL) and waits up to 60 s
 * for the live thread dump it asks for, CONTEND_OUT/threads.0001.txt (%p
 * in CONTEND_OUT, default contend.%p, expanded as the shim does), whose
 * path it writes into path; returns whether the file appeared. Then
 * waits (at most 10 s) until the process holds no more descriptors below
 * 512 than before: the shim's thread is done with the files it wrote. */
int dump_threads_and_wait(char *path, size_t len);
/* The same for thread tid of this process and signal sig (sent with
 * tgkill, so that its handler interrupts that thread). */
int dump_threads_of(int tid, int sig, char *path, size_t len);

/* Exits with status 99 and a message when a setup call (not the behaviour
 * under test) fails: pthread_create, mmap, ... */
void die(const char *what, int err);
#define XPT(call)                                   \
	do {                                        \
		int xpt_err_ = (call);              \
		if (xpt_err_ != 0)                  \
			die(#call, xpt_err_);       \
	} while (0)

/* Behaviour checks: print "expr = value" on stdout (so a run with the shim
 * can be compared with a run without it), count a failure and say which
 * on stderr, keep going. */
extern int check_failures;
void check_eq_(long got, long want, const char *expr, const char *file, int line);
#define CHECK_EQ(got, want) check_eq_((long)(got), (long)(want), #got, __FILE__, __LINE__)
/* CHECK_EQ(call, want) with errno set to ERRNO_MARK before the call, then
 * CHECK_EQ(errno, err): a call that succeeds must leave errno as it was
 * (err = ERRNO_MARK), one that fails must set it to err. */
#define ERRNO_MARK 4242 /* an errno value no call here sets */
#define CHECK_ERRNO(call, want, err)                                                       \
	do {                                                                               \
		errno = ERRNO_MARK;                                                        \
		check_eq_((long)(call), (long)(want), #call, __FILE__, __LINE__);          \
		CHECK_EQ(errno, err);                                                      \
	} while (0)
/* A call under test that must return 0 where printing every result would
 * be noise (waiter loops): "FAIL: ..." and exit 1 otherwise. */
#define MUST0(call)                                         \
	do {                                                \
		long must_r_ = (long)(call);                \
		if (must_r_ != 0)                           \
			must_failed(#call, must_r_);        \
	} while (0)
void must_failed(const char *expr, long got) __attribute__((noreturn));
/* Returns the exit status for main: 0 when every check passed, else 1. */
int check_status(void);

/* argv[i] as a positive long, or def when absent. */
long arg_long(int argc, char **argv, int i, long def);
/* Exits 2 with "usage: <usage>" on stderr unless argc is at least n. */
void need_args(int argc, int n, const char *usage);

/* A background thread that takes obj with lock(), sets `held`, keeps it
 * hold_us (with `manual`: hold_us after bg_release(), so checks that need
 * obj held cannot race with its release however late they run), then
 * releases it with unlock() (or, with exit_holding, ends while still
 * holding it: robust mutexes). Its lock/unlock results are kept. */
struct bg_hold {
	int (*lock)(void *);
	int (*unlock)(void *);
	void *obj;
	long hold_us;
	int manual;
	int exit_holding;
	int lock_result, unlock_result;
	pthread_t thread;
	int held;     /* set once locked */
	int released; /* set by bg_release */
};
/* Starts the thread; with wait_held, returns only once it holds obj. */
void bg_hold_start(struct bg_hold *b, int wait_held);
/* A manual holder may now let go, hold_us from now. */
void bg_release(struct bg_hold *b);
void bg_hold_join(struct bg_hold *b);
/* lock()/unlock() adapters for bg_hold. */
int bg_mutex_lock(void *m);
int bg_mutex_unlock(void *m);
int bg_rwlock_rdlock(void *l);
int bg_rwlock_wrlock(void *l);
int bg_rwlock_unlock(void *l);
int bg_spin_lock(void *s);
int bg_spin_unlock(void *s);

/* Locks m, sets *held, keeps m until a thread sleeps on it (glibc's lock
 * word 2: locked, waiters) and then for us microseconds more, unlocks
 * it: that thread's wait lasts at least us however late it comes. */
void hold_until_waiter(pthread_mutex_t *m, int *held, long us);

/* One contended wait of the calling thread on m, whatever the scheduling:
 * a thread locks m and keeps it (hold_until_waiter) until the caller
 * sleeps on it, then hold_us more; joined before this returns. */
void contended_wait(pthread_mutex_t *m, long hold_us);

/* The holder/waiters harness shared by the mutex, rwlock, spinlock,
 * condvar, semaphore and barrier programs.
 *
 * Each of `rounds` rounds: the main thread calls hold(); hold() takes the
 * resource, calls scenario_go(), which releases the waiter threads, waits
 * until each of them is blocked (the kernel shows it in futex(); a
 * bounded wait, by construction rather than by a sleep that is usually
 * long enough, so that a loaded machine still makes every waiter wait),
 * then sleeps hold_us, and releases the resource. Each of the `waiters`
 * threads, once released, measures one call of wait(), which blocks on
 * the resource until hold() releases it. All threads then meet before the
 * next round. So every waiter waits about hold_us per round, and the
 * holder makes `waiters` threads wait hold_us each per round.
 *
 * The waits may be made in three flavours (argument after the rounds):
 * "plain" (pthread_mutex_lock, sem_wait, ...), "timed" (the *timedlock /
 * *timedwait / timedjoin variants, CLOCK_REALTIME deadline) or "clock"
 * (the *clocklock / *clockwait / clockjoin variants, CLOCK_MONOTONIC), all
 * with a deadline far enough never to expire.
 *
 * scenario_run prints, on stdout:
 *   waiters=W hold_us=H rounds=R
 *   expected_ns=R*W*H       (by construction)
 *   waited_ns=N             (the waits the waiters measured, summed) */
enum flavour { FLAVOUR_PLAIN, FLAVOUR_TIMED, FLAVOUR_CLOCK };

struct scenario {
	enum flavour flavour;
	int waiters;
	long hold_us;
	int rounds;
	void (*hold)(struct scenario *s);
	void (*wait)(struct scenario *s);
	void *arg; /* for hold and wait */
	/* The waiters busy-wait (spinlocks): the kernel never sees them
	 * blocked, so scenario_go only waits for them to be released. */
	int spins;
	/* harness state */
	pthread_barrier_t go, done;
	int64_t waited_ns;
	int tids[64], ntids; /* the waiters' thread ids */
	int nin;             /* waiters released this round */
};

/* Reads W, H (us), R and the flavour from argv[first..first+3], defaults
 * otherwise. */
void scenario_args(struct scenario *s, int argc, char **argv, int first);
/* argv[i] as a flavour name; plain when absent. */
enum flavour arg_flavour(int argc, char **argv, int i);
/* A deadline 60 s away on the flavour's clock. */
struct timespec flavour_deadline(enum flavour f);
void scenario_go(struct scenario *s);
void scenario_run(struct scenario *s);

/* A request held up in a timed condition wait re-armed every REARM_MS
 * (20 ms, under a second: the shim's re-armed-wait rule) until stop
 * (an expression) is true: pthread_cond_timedwait(c, m, ...), m held.
 * *run counts the timeouts of the current run, which a pause of
 * REARM_PAUSE_NS between two waits (the thread preempted on a loaded
 * machine; the shim's limit, CT_REARM_GAP_NS, is twice this) starts
 * again. A macro, so that the wait stays in the caller's frame. */
#define REARM_MS 20
#define REARM_RUN_MS 1000
#define REARM_PAUSE_NS (50 * 1000 * 1000LL)
#define REARMED_WAIT(c, m, run, stop)                                                      \
	do {                                                                               \
		int64_t rw_returned_ = 0;                                                  \
		while (!(stop)) {                                                          \
			struct timespec rw_dl_ = deadline_us(CLOCK_REALTIME, REARM_MS * 1000); \
			int64_t rw_call_ = now_ns();                                       \
			if (rw_returned_ && rw_call_ - rw_returned_ >= REARM_PAUSE_NS)     \
				__atomic_store_n(run, 0, __ATOMIC_RELEASE);                \
			int rw_r_ = pthread_cond_timedwait(c, m, &rw_dl_);                 \
			rw_returned_ = now_ns();                                           \
			if (rw_r_ == ETIMEDOUT)                                            \
				__atomic_fetch_add(run, 1, __ATOMIC_ACQ_REL);              \
			else if (rw_r_ != 0)                                               \
				die("pthread_cond_timedwait", rw_r_);                      \
		}                                                                          \
	} while (0)

/* The commonest scenario: hold owns mutex m (a pthread_mutex_t) for the
 * round, each waiter blocks in pthread_mutex_lock(&m) in wait. Defines
 * both as functions of their own, since the profiles name them. */
#define SCENARIO_MUTEX(hold, wait, m)                                                      \
	static NOINLINE void hold(struct scenario *s)                                      \
	{                                                                                  \
		pthread_mutex_lock(&m);                                                    \
		scenario_go(s);                                                            \
		pthread_mutex_unlock(&m);                                                  \
	}                                                                                  \
	static NOINLINE void wait(struct scenario *s)                                      \
	{                                                                                  \
		(void)s;                                                                   \
		pthread_mutex_lock(&m);                                                    \
		pthread_mutex_unlock(&m);                                                  \
	}

/* The waiters' one wait, in the flavour asked: WAIT_FLAVOURED(s,
 * pthread_mutex, lock, &m) is pthread_mutex_timedlock(&m, deadline),
 * pthread_mutex_clocklock(&m, CLOCK_MONOTONIC, deadline) or
 * pthread_mutex_lock(&m) (likewise pthread_rwlock rdlock/wrlock,
 * pthread_cond wait), which must return 0 (MUST0); the deadline is
 * flavour_deadline's. A macro, so that the call stays in the caller's
 * frame: the function the profiles name. */
#define WAIT_FLAVOURED(s, prefix, op, ...)                                                 \
	do {                                                                               \
		struct timespec wf_ts_ = flavour_deadline((s)->flavour);                   \
		if ((s)->flavour == FLAVOUR_TIMED)                                         \
			MUST0(prefix##_timed##op(__VA_ARGS__, &wf_ts_));                   \
		else if ((s)->flavour == FLAVOUR_CLOCK)                                    \
			MUST0(prefix##_clock##op(__VA_ARGS__, CLOCK_MONOTONIC, &wf_ts_));  \
		else                                                                       \
			MUST0(prefix##_##op(__VA_ARGS__));                                 \
	} while (0)

/* A program of several scenarios, chosen by argv[1]: NAME's holder and
 * waiter. */
struct scenario_mode {
	const char *name;
	void (*hold)(struct scenario *s);
	void (*wait)(struct scenario *s);
};
/* main() of such a program: runs the mode argv[1] names among the n
 * modes, with scenario_args from argv[2]; returns main's status (2 and
 * "usage: PROG MODE|MODE [waiters] ..." on stderr for an unknown mode). */
int scenario_main(int argc, char **argv, const char *prog, const struct scenario_mode *modes,
		  int n);
/* Defines main() as scenario_main over the modes given, each
 * {"name", hold, wait}. */
#define SCENARIO_MODES_MAIN(prog, ...)                                                     \
	int main(int argc, char **argv)                                                    \
	{                                                                                  \
		static const struct scenario_mode modes[] = {__VA_ARGS__};                 \
		return scenario_main(argc, argv, prog, modes,                              \
				     (int)(sizeof(modes) / sizeof(modes[0])));             \
	}

#ifdef __cplusplus
}
#endif

#endif
