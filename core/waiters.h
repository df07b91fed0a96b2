/* Who waits on which lock, so the holder can be charged at release.
 *
 * Go >= 1.22 semantics: when a contended lock is released, the releasing
 * thread is charged the time every blocked waiter has waited since the last
 * charge. Waiters register here (slow path only: they are about to block)
 * with their start time; each object keeps the number of waiters n and the
 * sum of their effective start times, so a charge is n*now - sum, after
 * which every waiter's effective start becomes now.
 *
 * A fixed array of buckets (ways entries each, one private spinlock per
 * bucket) made at init; entries are reused once their object has no
 * waiters, so memory is bounded however many locks a program creates.
 * Thread-safe, no allocation, not async-signal-safe. */
#ifndef CT_WAITERS_H
#define CT_WAITERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Waiters registered right now, in the whole process, on objects whose
 * release cannot tell from the object itself whether anybody waits
 * (spinlocks, futex words: arrive with counted true). Their release
 * paths read it first (a load of a line that only such waits write) and
 * skip the table when it is 0. Mutex and rwlock waiters are not counted:
 * their lock word says "waiters", and two atomic operations on one
 * process-wide line per contended wait cost a 2-thread lock more than
 * the probe of the bucket their release does instead. */
extern unsigned ct_waiters_active;
/* Waits that found their bucket full and were not tracked. */
extern uint64_t ct_waiters_overflow;

/* Room for about objects concurrently contended objects. 0 or -errno. */
int ct_waiters_init(size_t objects);
/* Fork child (core/fork.h, CT_LOCK_WAITERS): no waiter of the parent
 * exists here; every bucket lock is released whoever held it. Only when no
 * other thread can use the table. Async-signal-safe. */
void ct_waiters_reset(void);

#ifdef CT_TEST_SEAMS
void ct_waiters_test_hold(long hold_us);
#endif

/* Registers a waiter on obj that started at t0, counted in
 * ct_waiters_active when counted. Returns a handle for ct_waiters_leave,
 * or -1 if not tracked (table full or not initialised). */
int ct_waiters_arrive(const void *obj, int64_t t0, bool counted);

/* The waiter with handle h (from arrive with the same t0 and counted)
 * stops waiting. */
void ct_waiters_leave(int h, int64_t t0, bool counted);

/* The waiter with handle h, who started at t0 and has since got obj (a
 * mutex it now holds: a deferred leave), stops waiting, and obj's other
 * waiters are charged up to now (0: read the clock, only when there are
 * others), in one hold of the bucket lock. Returns their total wait
 * since the last charge and stores how many there are in *nwaiters, as
 * ct_waiters_charge. */
int64_t ct_waiters_leave_charge(int h, int64_t t0, const void *obj, int64_t now,
				unsigned *nwaiters);

/* A registration a thread kept past its wait, to end at its release of
 * the mutex (threads.h ct_thread_slot.wdefer). obj NULL = unused,
 * CT_DEFER_CLAIMED while somebody ends it. */
struct ct_wait_defer {
	const void *obj;
	int h;
	int64_t t0;
};
/* ct_wait_defer.obj while a thread other than its owner ends it. */
#define CT_DEFER_CLAIMED ((const void *)1)

/* Ends the registration d, if the caller is first to claim it (its own
 * thread at a release, or another thread: a release by a non-owner, the
 * thread's exit). Under the guard. */
void ct_waiters_defer_end(struct ct_wait_defer *d);

/* Charges obj's waiters up to now (0: read the clock, only when obj has
 * waiters): returns their total wait since the last charge (0 if none)
 * and stores how many there are in *nwaiters. */
int64_t ct_waiters_charge(const void *obj, int64_t now, unsigned *nwaiters);

#endif
