/* The narrow interface interpose/ uses to report waits and releases.
 *
 * Called only from wrapper slow paths (the lock word said "held" or "has
 * waiters", or the call always blocks), never from the uncontended path.
 * All functions are thread-safe, never allocate, preserve errno, and do
 * nothing when profiling is not active for the calling thread. Stacks are
 * captured only for sampled events. Not async-signal-safe: a wrapper
 * called from a program's signal handler finds ct_active() false and never
 * gets here. */
#ifndef CT_EVENT_H
#define CT_EVENT_H

#include <stdbool.h>
#include <stdint.h>

#include "compiler.h"
#include "profiles.h"
#include "thread.h"

/* True while this thread runs a program signal handler (ct_self.sig_depth,
 * kept by interpose/signal.c's trampoline). Out of line: only reached when
 * the depth is nonzero, and pops entries that a siglongjmp left behind.
 * Errs towards "inside" (a stale entry is dropped only once the thread runs
 * above its frame again). Async-signal-safe. */
bool ct_in_handler_slow(void);

/* True when this thread should record: profiling is set up, we are not
 * already inside the shim (libunwind, dlopen and malloc may lock), and the
 * thread is not running a signal handler (recording is not
 * async-signal-safe: a wrapped read() in a handler passes straight
 * through, unrecorded). */
static inline bool
ct_active(void)
{
	return __atomic_load_n(&ct_hot.ready, __ATOMIC_RELAXED) && !ct_guard_held() &&
	       (CT_LIKELY(ct_self.sig_depth == 0) || !ct_in_handler_slow());
}

/* A wait on an object that has a holder (mutex, rwlock, spinlock). */
struct ct_wait {
	const void *obj;
	int64_t t0;
	unsigned op;
	uintptr_t caller;
	/* What obj is (core/locks.h), from op at begin; a mutex wrapper adds
	 * the attributes and CT_LKF_HOLD_TRACKABLE before ct_lock_wait_end. */
	unsigned kind;
};

/* Before the real blocking call: stamps the start, registers the caller
 * as a waiter on obj so its holder can be charged at release, and
 * publishes the thread's wait record (op, obj, since, caller = the
 * wrapper's return address) for thread dumps. */
void ct_lock_wait_begin(struct ct_wait *w, const void *obj, unsigned op, uintptr_t caller);

/* After the real call returned (acquired, timed out or failed): ends the
 * registration and the wait record and records a block event (sampled by
 * CONTEND_BLOCK_RATE, stack captured here) and the wait in obj's
 * distribution (core/locks.h). A wait whose kind says
 * CT_LKF_HOLD_TRACKABLE keeps its registration until the thread releases
 * obj (event.c "Deferred leave": ct_release_begin, ct_lock_defer_end*),
 * and when sampled opens a hold, closed by ct_release_begin or
 * ct_cond_release on the same obj. */
void ct_lock_wait_end(struct ct_wait *w);

/* Instead of ct_lock_wait_end when the call turned out not to wait (a
 * futex whose word had already changed): ends the registration and the
 * wait record, records nothing. */
void ct_lock_wait_cancel(struct ct_wait *w);

/* Around a program signal handler (interpose/signal.c's trampoline): the
 * handler, not the wait it interrupted, is what the thread runs, and a
 * handler left with siglongjmp never returns to the wrapper that would end
 * that wait. ct_handler_enter takes the interrupted wait out of the thread
 * dump's record (core/threads.h ct_wait_suspend) and out of the waiter
 * table (else the lock's later releases were charged for a waiter that was
 * gone, for as long as the process lived); ct_handler_leave, when the
 * handler returns, puts both back, the table's from now (the time in the
 * handler is no waiting its holder caused). Nested handlers find nothing
 * to take. Async-signal-safe (the waiter table's spinlock under the guard:
 * a handler that interrupts it is deferred); no allocation. */
struct ct_handler_saved {
	uint32_t wait_op;     /* ct_wait_suspend's token */
	const void *lock_obj; /* the waiter registration taken out, NULL if none */
	bool lock_counted;
};
void ct_handler_enter(struct ct_handler_saved *s);
void ct_handler_leave(const struct ct_handler_saved *s);

/* A wait without a holder (condvar, semaphore, barrier, join): publishes
 * the wait record and returns the start time for ct_block_end. _aux
 * also notes what else the wait is on (a condition wait's mutex:
 * threads.h ct_wait_enter_aux). */
int64_t ct_block_begin_aux(unsigned op, const void *obj, uintptr_t caller, uintptr_t aux);

static inline int64_t
ct_block_begin(unsigned op, const void *obj, uintptr_t caller)
{
	return ct_block_begin_aux(op, obj, caller, 0);
}

/* Ends the wait record and records a block event for a wait that ran from
 * t0 to now. */
void ct_block_end(unsigned op, int64_t t0);

/* Before the real unlock of obj: the waiters' time since the last charge,
 * to be passed to ct_release_end, or 0 when nobody waited. Computed before
 * the unlock so a woken waiter cannot deregister first; cheap (no stack).
 * Ends this thread's open hold of obj, if any, and the registration it
 * kept since it got obj (ct_lock_wait_end), with the same bucket lock. */
int64_t ct_release_begin(const void *obj);

/* Ends the calling thread's registration on mutex obj kept since it got
 * obj after a wait (event.c "Deferred leave"), at a release of obj that
 * ct_release_begin does not see: an unlock the shim does not record (in a
 * signal handler), a condition wait's handover with no waiter to charge.
 * One TLS test when the thread keeps none. Async-signal-safe like
 * ct_handler_enter. */
void ct_lock_defer_end(const void *obj);

/* An unlock of mutex obj by a thread other than its owner (tid owner,
 * from the mutex): ends the owner's kept registration on obj, if any.
 * Rare (undefined for POSIX; glibc allows it for normal mutexes): scans
 * the thread registry. */
void ct_lock_defer_end_foreign(const void *obj, int owner);

/* After the real unlock succeeded: records a mutex-profile event of delay
 * ns for op, sampled by CONTEND_MUTEX_FRACTION, with the releasing thread's
 * stack captured now that the critical section is over. */
void ct_release_end(unsigned op, int64_t delay);

/* A condvar wait is about to release mutex m inside glibc, out of our
 * sight: ends this thread's open hold of m, and remembers m as the mutex
 * of the wait that ct_block_begin starts next (the per-lock table says
 * which mutex a condvar goes with). */
void ct_cond_release(const void *m);

/* An init call (pthread_mutex_init ...) at caller made obj a lock of kind
 * (core/locks.h), so that report/ can name it after its creation site.
 * Not a hot path: init calls are rare; no allocation, bounded table. */
void ct_lock_created(const void *obj, unsigned kind, uintptr_t caller);

/* pthread_cond_*wait: one stack for both the block event of the wait
 * (t0 to now) and, when handover_delay > 0, the mutex-profile event of
 * handing the mutex to its waiters inside the wait. */
void ct_cond_end(unsigned op, int64_t t0, unsigned handover_op, int64_t handover_delay);

#endif
