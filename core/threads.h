/* The thread registry and each thread's "current wait" record, read by
 * thread dumps to show who waits on what, since when, held by whom.
 *
 * A fixed array of slots (mmap'd at init, CT_THREADS_MAX of them). The
 * pthread_create wrapper claims one for the new thread before the real
 * call (so a join or detach can never miss it); other threads (the main
 * thread, threads started before us) claim one lazily at their first wait.
 * A slot is freed when its thread is reaped: joined by any join flavour,
 * or at its exit when it is detached. A thread that finds the registry
 * full is counted (ct_threads_untracked) and never tries again. The wait
 * record
 * is written by its own thread only on wrapper slow paths (the call may
 * block): a few plain stores under a sequence counter, no system call, no
 * clock read of its own (the caller passes the time it already read), no
 * lock, no allocation. Readers (dumps) retry while the counter is odd.
 * Async-signal-safe to read. */
#ifndef CT_THREADS_H
#define CT_THREADS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "ops.h"
#include "thread.h"
#include "waiters.h"

#define CT_THREADS_MAX 4096
#define CT_CREATE_DEPTH 32
#define CT_HOME_SITES 4
#define CT_WAIT_DEFERS 2

/* A thread as dumps see it (ct_thread_snap.state). */
enum ct_thread_state {
	CT_THREAD_FREE = 0,
	CT_THREAD_RUNNING,  /* alive (maybe waiting: see the wait record) */
	CT_THREAD_EXITED,   /* joinable, finished, never joined: a leak */
};

struct ct_thread_slot {
	int state;               /* threads.c's state word: use ct_threads_state() */
	int tid;
	int detached;
	int creator_tid;
	uint64_t handle;         /* pthread_t */
	uintptr_t start_routine; /* 0 if not created through our wrapper */
	void *start_arg;         /* its argument, for the new thread to start */
	int64_t created_ns;      /* monotonic */
	int create_depth;
	uintptr_t create_pc[CT_CREATE_DEPTH]; /* stack of pthread_create's caller */
	/* The current wait; wseq is odd while it is being written. Its
	 * fields fill one cache line of their own, and the first two
	 * home sites the next: a timed call reads and writes them between
	 * two system calls, and on the VMs we measure on each line a call
	 * touches after a system call costs about 5 ns (issue 12: the
	 * record spread over four lines before, and the thread's last wait
	 * over another, now in its TLS). */
	uint32_t wseq __attribute__((aligned(64)));
	uint32_t wop;            /* enum ct_op + 1; 0 = not in a wrapped wait */
	const void *wobj;        /* lock, condvar, semaphore ... */
	int wfd;                 /* for I/O waits, else -1 */
	uint32_t wrearms;        /* waits of the run below before this one */
	int64_t wsince;          /* monotonic ns: when the wait began, or the
	                          * first wait of its re-armed run (ct_wait_unwoken) */
	uintptr_t wcaller;       /* return address into the caller of the wrapper */
	/* An address in the waiting thread's stack below its wrapper's frame
	 * (ct_wait_enter's own): a dump that may not read where the kernel
	 * shows the thread finds the wrapper's return address above it and
	 * unwinds the program's stack from there. */
	uintptr_t wsp;
	/* What else the wait is on (ct_wait_enter_aux): a condition wait's mutex,
	 * a poll's pollfd array and its length; 0 otherwise. */
	uintptr_t waux;
	uint32_t wnaux;
	/* Where the thread parks: the non-lock sites it began waits at (a
	 * re-armed wait counts once; a condvar or semaphore is one site
	 * whatever the call), with how many waits began there. The first
	 * stays; when full, a new one replaces the least used of the others
	 * (hevicted counts that). A thread created through pthread_create
	 * that waits at its first site, or at its most used one, is parked
	 * for work (a timer, a manager, a client connection between
	 * requests), not held up. Only its own thread writes them. How the
	 * thread's last wait went (for re-armed waits) is in its TLS
	 * (thread.h: ct_thread.wlastop). */
	struct ct_wait_site {
		uint32_t op; /* + 1; 0 = unused */
		uint32_t n;
		int fd;
		uintptr_t caller;
		const void *obj;
	} hsite[CT_HOME_SITES] __attribute__((aligned(64)));
	uint32_t hevicted;
	/* The thread is the only one of a fork child: its waits are known
	 * from the fork on (hsite was emptied there), so where it parks is
	 * known as for a thread created through pthread_create (a
	 * PostgreSQL backend or background process, a pre-forked worker). */
	bool hforked;
	/* The thread's name (comm). name_known: it is kept here as the
	 * thread changes it (inherited from its creator's at creation, then
	 * each rename through pthread_setname_np or prctl/syscall
	 * PR_SET_NAME: ct_threads_renamed), so its exit need not ask the
	 * kernel; otherwise it is taken at exit, for threads that are gone. */
	char name[16];
	bool name_known;
	/* Mutexes the thread holds after a wait whose waiter-table
	 * registration (waiters.h) it has not ended yet: core/event.c ends
	 * it at the thread's release of the mutex, under the one bucket
	 * lock that release's charge takes anyway, instead of inside the
	 * critical section. obj NULL = unused, CT_DEFER_CLAIMED while
	 * somebody ends it (ct_waiters_defer_end). Written by the thread;
	 * another thread may end one (a release by a thread that does not
	 * own the mutex, the thread's exit). */
	struct ct_wait_defer wdefer[CT_WAIT_DEFERS];
};

/* A consistent copy of one slot's wait record. */
struct ct_wait_view {
	unsigned op; /* enum ct_op */
	const void *obj;
	int fd;
	int64_t since;
	uint32_t rearms;
	uintptr_t caller;
	uintptr_t sp;    /* ct_thread_slot.wsp */
	uintptr_t aux;   /* ct_wait_enter_aux's */
	uint32_t naux;
	bool home;       /* the wait is where the thread usually parks: see
	                  * ct_thread_slot.hsite */
};

/* Maps the slots. 0 or -errno. Called once from init. */
int ct_threads_init(void);

/* The calling thread's slot, claimed on first use (NULL when the table is
 * full or not set up). No allocation. */
struct ct_thread_slot *ct_threads_self(void);

/* Slow paths: the calling thread starts / stops waiting in op. _aux
 * also says what else the wait is on: aux = a condition wait's mutex
 * (naux 0), or a poll's pollfd array and naux its length (never read
 * here: the array may be bad, and the call must fail with EFAULT as
 * without us); 0 and 0 for any other wait. */
void ct_wait_enter(unsigned op, const void *obj, int fd, int64_t since, uintptr_t caller);
void ct_wait_enter_aux(unsigned op, const void *obj, int fd, int64_t since, uintptr_t caller,
		       uintptr_t aux, uint32_t naux);
/* How waits of an op are told apart as sites (ct_thread_slot.hsite):
 * not at all for lock waits (futex words included, which may be locks:
 * a service thread's work, not a place it parks in); by the object for
 * a condvar or semaphore, whatever the call and the call site (a timed
 * wait while there is work, an untimed one when there is none); else by
 * the call, its site and its object or fd. A switch over the op's
 * number, inline: the ops of a kind are consecutive (ops.h), so this is
 * two or three compares, where ct_lock_kind_of_op was a call per site
 * compared. */
enum ct_site_rule { CT_SITE_NONE, CT_SITE_OBJ, CT_SITE_CALL };

static inline enum ct_site_rule
ct_site_rule(unsigned op)
{
	switch (op) {
	CT_OP_CASES_MUTEX:
	CT_OP_CASES_RWLOCK:
	CT_OP_CASES_SPIN:
	CT_OP_CASES_FUTEX:
		return CT_SITE_NONE;
	CT_OP_CASES_COND:
	CT_OP_CASES_SEM:
		return CT_SITE_OBJ;
	default:
		return CT_SITE_CALL;
	}
}

/* ct_wait_enter(op, NULL, fd, since, caller) for an op of rule
 * CT_SITE_CALL (every I/O, sleep and process wait: core/iowait.h, which
 * picks it when the op is known at compile time), its usual path
 * compiled alone: a leaf of a few straight lines of code, where the
 * general one jumped across ten (each line a timed call touches after a
 * system call costs about 5 ns on the VMs we measure on). */
void ct_wait_enter_call(unsigned op, int fd, int64_t since, uintptr_t caller);
/* Inline: one TLS load and one store, after every timed call. */
static inline void
ct_wait_leave(void)
{
	struct ct_thread_slot *s = ct_self.slot;
	if (s)
		__atomic_store_n(&s->wop, 0, __ATOMIC_RELEASE);
}


/* Around a program signal handler (interpose/signal.c's trampoline): the
 * thread runs the handler, not the wait it was in, and a handler that
 * leaves with siglongjmp never returns to the wrapper that would end the
 * wait record: without this, the thread showed as waiting in that call
 * (and "stuck") for as long as it lived. ct_wait_suspend clears the
 * calling thread's wait record and returns what ct_wait_resume needs to
 * put it back, unchanged, when the handler returns; 0 when there was none
 * (or the handler interrupted the record being written, which is left
 * alone). Nested handlers suspend nothing more. Async-signal-safe: one
 * TLS load and atomic stores to the thread's own slot. */
uint32_t ct_wait_suspend(void);
void ct_wait_resume(uint32_t saved);

/* After ct_wait_leave, when the wait's result (ret: the call's return
 * value, err: its errno) says it ended without being woken: a timeout
 * (ETIMEDOUT, a poll or epoll_wait returning 0, sigtimedwait's EAGAIN) or
 * an interruption (EINTR). The thread's next wait, if it is of the same op
 * at the same call site on the same object or fd and begins soon after
 * (within CT_REARM_GAP_NS, or the length of the wait that ended, if
 * longer), then continues this one in thread dumps: a condition wait
 * re-armed every 30 ms for 5 s is a 5 s wait there, and its verdict
 * "stuck". Any other result ends the run: a wake-up returning 0 cannot be
 * told from a real one without a cost on the uncontended unlock path;
 * except that the first wake-up of a re-armed wait is taken for the
 * leftover of what interrupted it when the thread waits there again soon
 * (thread.h: ct_thread.wgrace; a PostgreSQL backend's latch).
 * Sleeps never continue (nanosleep's EINTR included). Off the uncontended
 * path (after a wait that blocked); reads the clock only when the result
 * qualifies; preserves errno; no allocation or lock. */
void ct_wait_unwoken(unsigned op, long ret, int err);

/* How long a thread may run between a wait that timed out and the next one
 * for the two to count as one wait (if the wait itself was shorter). */
#define CT_REARM_GAP_NS (100 * 1000 * 1000)

/* Reads slot's wait record consistently; false if it is not waiting. */
bool ct_wait_read(const struct ct_thread_slot *slot, struct ct_wait_view *out);

/* The slot of the registered, running thread whose tid is tid, or NULL.
 * A scan of the slots used: for rare paths only. */
struct ct_thread_slot *ct_threads_find_tid(int tid);

/* All slots (CT_THREADS_MAX of them, FREE ones included) for dumps. */
struct ct_thread_slot *ct_threads_all(void);

/* Fork child: only the calling thread survives. */
void ct_threads_fork_child(void);

/* What a dump shows for a slot: FREE (also for slots being set up or
 * being reaped right now), RUNNING or EXITED. */
enum ct_thread_state ct_threads_state(const struct ct_thread_slot *s);

/* The pthread_create wrapper, before the real call: claims a slot for the
 * new thread and fills in what it runs and where it comes from (pcs: the
 * creator's stack). NULL when the registry is full (counted). No
 * allocation, no lock. */
struct ct_thread_slot *ct_threads_prepare(uintptr_t start_routine, void *arg,
					  const uintptr_t *pcs, int depth, bool detached);
/* After the real call: handle is the new thread's, or created is false
 * (the slot is freed). */
void ct_threads_created(struct ct_thread_slot *s, bool created, uint64_t handle);
/* In the new thread, before its start routine: takes s (from
 * ct_threads_prepare) as its own. No system call, no allocation, and no
 * thread-specific value: the caller must call ct_threads_exit(s) when
 * the thread ends, by any way (a pthread_cleanup_push handler around the
 * start routine: return, pthread_exit and cancellation). A value of the
 * shim's exit key would make glibc pass over every key's destructor at
 * the exit of a thread that has no value of its own (about 700
 * instructions). */
void ct_threads_adopt(struct ct_thread_slot *s);
/* The end of a thread that ct_threads_adopt took in: its slot is freed
 * (detached) or kept as exited until joined; the thread claims no slot
 * after this. Takes the slot as void * for pthread_cleanup_push. */
void ct_threads_exit(void *s);

/* Around a call that may reap the thread handle: a join of any flavour
 * (detach false) or pthread_detach (detach true). _begin marks the
 * thread's slot as being reaped, so that a thread created meanwhile with
 * the same (recycled) handle is never taken for it, and returns it (NULL
 * if the thread is not registered). _end with the call's result: on
 * success the slot is freed (joined, or detached and already exited) or
 * marked detached (freed at its exit); on failure (EBUSY, ETIMEDOUT ...)
 * the thread stays registered as it was. No allocation, no lock. */
struct ct_thread_slot *ct_threads_reap_begin(uint64_t handle);
void ct_threads_reap_end(struct ct_thread_slot *s, bool ok, bool detach);

/* A rename the shim saw succeed: the thread whose pthread_t is handle (0:
 * the caller) is now called name (truncated to 15 bytes, as the kernel
 * does). Plain stores to the thread's slot; async-signal-safe; no
 * allocation. */
void ct_threads_renamed(uint64_t handle, const char *name);

/* Threads that found the registry full (so are in no thread dump). */
uint64_t ct_threads_untracked(void);

struct ct_snapshot;
/* Adds every registered thread to snap (threads, nthreads, stuck_ns),
 * each wait marked idle (parked for work: ct_thread_snap.idle) or stuck
 * (waiting stuck_ns or longer, not idle). parent is the parent process of
 * the process the dump is of (a pipe it holds too is outside work), or 0
 * when unknown. Allocates; off the hot path; the guard must be held.
 * Returns 0 or -ENOMEM. The calling thread is included. */
int ct_threads_snapshot(struct ct_snapshot *snap, int64_t stuck_ns, pid_t parent);


/* Reads every live thread's name into its slot, so that a forked copy of
 * the process (where the threads do not exist) can still name them.
 * Async-signal-safe. */
void ct_threads_refresh_names(void);

/* The calling thread crashed with sig, its stack as pcs (return
 * addresses, the innermost one past the faulting instruction: core/
 * unwind.h ct_unwind_signal_stack): the dumps show it there rather than
 * "running" with no stack (a forked copy's too). Once per process, from
 * the crash handler; async-signal-safe. */
void ct_threads_crashed(int sig, const uintptr_t *pcs, int n);

/* Writes every registered thread with raw addresses to fd: the crash
 * dump. Async-signal-safe: no allocation, no lock, no symbolization. */
void ct_threads_write_raw(int fd, int sig);

/* True when a dump has something to say about threads: another thread is
 * registered, one finished without being joined, or some found the
 * registry full. */
bool ct_threads_worth_dumping(void);

/* True when a registered thread other than the caller is alive.
 * Async-signal-safe. */
bool ct_threads_others_running(void);

#endif
