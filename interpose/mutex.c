/* pthread_mutex_* wrappers. The fast path reads the lock word (a line the
 * real call is about to own anyway) and forwards when it is 0; any other
 * word takes a slow path that decodes it by the mutex's kind (below) and
 * reads the clock only when another thread really holds the lock, or
 * when an unlock has waiters to wake.
 * No trylock-first: that extra atomic costs contended programs 15-30 %.
 * The plain load costs a contended line no extra transfer either: glibc's
 * own lock and unlock begin with a plain load of __kind, 16 bytes further
 * on the same line, before their atomic (2.36, x86-64), so the line comes
 * in shared first natively too. Taking glibc's fast path ourselves (one
 * CAS for normal mutexes) would still need that load of __kind, and would
 * copy glibc's owner and user-count bookkeeping; measured side by side
 * (in-process, alternating) neither variant differed from this one beyond
 * the noise.
 *
 * What the word means, by glibc's __kind bits (nptl/pthreadP.h,
 * pthread_mutex_lock.c; stable public layout since 2.3):
 * - normal, recursive, error-checking, adaptive (and process-shared):
 *   0 free, 1 held, 2 held with waiters.
 * - robust (16) or priority-inherit (32): the owner's tid in the low 30
 *   bits, FUTEX_WAITERS (bit 31) when somebody sleeps, FUTEX_OWNER_DIED
 *   (bit 30) left by the kernel when the owner died: such a word with no
 *   tid is free (the next lock returns EOWNERDEAD at once, no wait).
 * - priority-protect (64): the ceiling in bits 19..31 even when free,
 *   and 0/1/2 as for normal mutexes below it. */
#include <errno.h>
#include <pthread.h>

#include "../core/event.h"
#include "../core/locks.h"
#include "../core/threads.h"
#include "../core/ops.h"
#include "interpose.h"
#include "real.h"

#define CT_MX_ROBUST 16
#define CT_MX_PRIO_INHERIT 32
#define CT_MX_PRIO_PROTECT 64
#define CT_MX_TYPE_MASK 3 /* normal 0, recursive 1, errorcheck 2, adaptive 3 */
#define CT_MX_TID_MASK 0x3fffffff
#define CT_MX_FUTEX_WAITERS ((int)0x80000000u)
#define CT_MX_CEILING_MASK ((int)0xfff80000u)

static inline int
ct_mutex_word(const pthread_mutex_t *m)
{
	return __atomic_load_n(&m->__data.__lock, __ATOMIC_RELAXED);
}

static inline int
ct_mutex_kind(const pthread_mutex_t *m)
{
	return __atomic_load_n(&m->__data.__kind, __ATOMIC_RELAXED);
}

/* Somebody holds m, by the word decoded for its kind. */
static inline bool
ct_mutex_held(int kind, int word)
{
	if (kind & (CT_MX_ROBUST | CT_MX_PRIO_INHERIT))
		return (word & CT_MX_TID_MASK) != 0;
	if (kind & CT_MX_PRIO_PROTECT)
		return (word & ~CT_MX_CEILING_MASK) != 0;
	return word != 0;
}

/* Somebody sleeps on m (so its unlock will wake a waiter). */
static inline bool
ct_mutex_waiters(int kind, int word)
{
	if (kind & (CT_MX_ROBUST | CT_MX_PRIO_INHERIT))
		return (word & CT_MX_FUTEX_WAITERS) != 0;
	if (kind & CT_MX_PRIO_PROTECT)
		return (word & ~CT_MX_CEILING_MASK) == 2;
	return word == 2;
}

/* The fast-path pre-filter of ct_mutex_waiters, without the kind: true
 * for every word with waiters of any kind (2 under a PP ceiling, bit 31),
 * and false for a free or uncontended-held word of every kind except a
 * robust/PI owner whose tid ends in 0x00002 modulo 2^19 (then the slow
 * path decides). */
static inline bool
ct_mutex_maybe_waiters(int word)
{
	/* (word & ~CT_MX_CEILING_MASK) == 2 || word < 0 in one test (and,
	 * xor, jle: three instructions less on every unlock): the mask keeps
	 * bit 31 and the low 19 bits, the xor makes "2 below the ceiling" 0
	 * and leaves a word with bit 31 negative, and any other word
	 * positive. */
	return (int)(((unsigned)word & (~(unsigned)CT_MX_CEILING_MASK | 0x80000000u)) ^ 2u) <= 0;
}

/* Robust and PI mutexes name their owner in the word (glibc checks
 * that, and __owner says PTHREAD_MUTEX_INCONSISTENT after EOWNERDEAD);
 * the others in __owner. */
static inline bool
ct_mutex_owner_is_me(const pthread_mutex_t *m, int kind, int word)
{
	if (kind & (CT_MX_ROBUST | CT_MX_PRIO_INHERIT))
		return (word & CT_MX_TID_MASK) == ct_tid();
	return __atomic_load_n(&m->__data.__owner, __ATOMIC_RELAXED) == ct_tid();
}

/* A lock call by the owner that returns at once: a recursive relock or
 * an error-checking EDEADLK. A normal, adaptive or PP/PI-normal relock
 * by the owner really blocks (forever, or until a timed lock's deadline),
 * so it is a wait like any other. */
static inline bool
ct_mutex_relock_returns(const pthread_mutex_t *m, int kind, int word)
{
	int type = kind & CT_MX_TYPE_MASK;
	return (type == PTHREAD_MUTEX_RECURSIVE || type == PTHREAD_MUTEX_ERRORCHECK) &&
	       ct_mutex_owner_is_me(m, kind, word);
}

/* The lock call about to be made will wait: another thread holds m. */
static inline bool
ct_mutex_will_wait(const pthread_mutex_t *m)
{
	int kind = ct_mutex_kind(m), word = ct_mutex_word(m);
	return ct_mutex_held(kind, word) && !ct_mutex_relock_returns(m, kind, word);
}

/* After a lock call that waited: m's kind for the profiles, and whether
 * the hold that began (r == 0) will be seen ending: when the word still
 * says "waiters" (glibc leaves 2 after any futex wait of a normal,
 * recursive, error-checking, adaptive or PP mutex), its final unlock is
 * sure to take ct_mutex_unlock_slow. A robust or PI word drops the
 * waiters bit when the kernel has no more waiters: not tracked. */
static inline unsigned
ct_mutex_wait_kind(const pthread_mutex_t *m, int r)
{
	unsigned k = ct_mutex_lock_kind(m);
	int kind = ct_mutex_kind(m);
	if (r == 0 && !(kind & (CT_MX_ROBUST | CT_MX_PRIO_INHERIT)) &&
	    ct_mutex_waiters(kind, ct_mutex_word(m)))
		k |= CT_LKF_HOLD_TRACKABLE;
	return k;
}

static CT_NOINLINE int
ct_mutex_lock_slow(pthread_mutex_t *m, uintptr_t caller)
{
	if (!ct_active() || !ct_mutex_will_wait(m))
		return real_pthread_mutex_lock(m);
	struct ct_wait w;
	ct_lock_wait_begin(&w, m, CT_OP_MUTEX_LOCK, caller);
	int r = real_pthread_mutex_lock(m);
	w.kind = ct_mutex_wait_kind(m, r);
	ct_lock_wait_end(&w);
	return r;
}

CT_EXPORT int
pthread_mutex_lock(pthread_mutex_t *m)
{
	if (CT_LIKELY(ct_mutex_word(m) == 0))
		return real_pthread_mutex_lock(m);
	return ct_mutex_lock_slow(m, CT_CALLER());
}

CT_EXPORT int
pthread_mutex_trylock(pthread_mutex_t *m)
{
	return real_pthread_mutex_trylock(m);
}

CT_EXPORT int
pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *t)
{
	if (CT_LIKELY(ct_mutex_word(m) == 0) || !ct_active() || !ct_mutex_will_wait(m))
		return real_pthread_mutex_timedlock(m, t);
	struct ct_wait w;
	ct_lock_wait_begin(&w, m, CT_OP_MUTEX_TIMEDLOCK, CT_CALLER());
	int r = real_pthread_mutex_timedlock(m, t);
	w.kind = ct_mutex_wait_kind(m, r);
	ct_lock_wait_end(&w);
	if (r != 0)
		ct_wait_unwoken(CT_OP_MUTEX_TIMEDLOCK, r, errno);
	return r;
}

CT_EXPORT int
pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t c, const struct timespec *t)
{
	if (CT_LIKELY(ct_mutex_word(m) == 0) || !ct_active() || !ct_mutex_will_wait(m))
		return real_pthread_mutex_clocklock(m, c, t);
	struct ct_wait w;
	ct_lock_wait_begin(&w, m, CT_OP_MUTEX_CLOCKLOCK, CT_CALLER());
	int r = real_pthread_mutex_clocklock(m, c, t);
	w.kind = ct_mutex_wait_kind(m, r);
	ct_lock_wait_end(&w);
	if (r != 0)
		ct_wait_unwoken(CT_OP_MUTEX_CLOCKLOCK, r, errno);
	return r;
}

/* This unlock hands m to a sleeping waiter: the owner's final unlock
 * (recursive inner unlocks and EPERM unlocks release nothing) of a word
 * that has waiters. */
static inline bool
ct_mutex_releases_to_waiter(const pthread_mutex_t *m)
{
	int kind = ct_mutex_kind(m), word = ct_mutex_word(m);
	return ct_mutex_waiters(kind, word) && m->__data.__count <= 1 &&
	       ct_mutex_owner_is_me(m, kind, word);
}

/* An unlock of a word with waiters by a thread that does not own m (a
 * normal or adaptive mutex: glibc lets it through): the owner's thread
 * may keep its waiter registration on m (core/event.h). */
static inline void
ct_mutex_foreign_unlock(const pthread_mutex_t *m)
{
	int kind = ct_mutex_kind(m), word = ct_mutex_word(m);
	if (!(kind & (CT_MX_ROBUST | CT_MX_PRIO_INHERIT)) && ct_mutex_waiters(kind, word) &&
	    m->__data.__count <= 1 && !ct_mutex_owner_is_me(m, kind, word))
		ct_lock_defer_end_foreign(m, __atomic_load_n(&m->__data.__owner, __ATOMIC_RELAXED));
}

static CT_NOINLINE int
ct_mutex_unlock_slow(pthread_mutex_t *m)
{
	if (!ct_active()) {
		ct_lock_defer_end(m);
		return real_pthread_mutex_unlock(m);
	}
	if (!ct_mutex_releases_to_waiter(m)) {
		ct_mutex_foreign_unlock(m);
		return real_pthread_mutex_unlock(m);
	}
	CT_RELEASE(CT_OP_MUTEX_UNLOCK, m, real_pthread_mutex_unlock(m));
}

CT_EXPORT int
pthread_mutex_unlock(pthread_mutex_t *m)
{
	if (CT_LIKELY(!ct_mutex_maybe_waiters(ct_mutex_word(m))))
		return real_pthread_mutex_unlock(m);
	return ct_mutex_unlock_slow(m);
}

/* Condition variables release and re-take the mutex inside glibc, out of
 * our sight: charge the mutex's waiters here, before the wait releases it
 * (the holder's stack is the waiter's, taken when the wait ends). */
int64_t
ct_mutex_handover_begin(pthread_mutex_t *m)
{
	ct_cond_release(m);
	if (!ct_mutex_releases_to_waiter(m)) {
		ct_lock_defer_end(m);
		return 0;
	}
	return ct_release_begin(m);
}
