/* pthread_mutex_* wrappers. The fast path reads the lock word (a line the
 * real call is about to own anyway) and forwards; only a held lock, or an
 * unlock that has waiters to wake, takes a slow path that reads the clock.
 * No trylock-first: that extra atomic costs contended programs 15-30 %.
 * Glibc's public struct layout: __lock is 0 free, 1 held, 2 held with
 * waiters; PI and robust mutexes hold the owner tid with bit 31 set when
 * there are waiters. */
#include <pthread.h>

#include "../core/event.h"
#include "../core/ops.h"
#include "interpose.h"
#include "real.h"

static inline int
ct_mutex_word(const pthread_mutex_t *m)
{
	return __atomic_load_n(&m->__data.__lock, __ATOMIC_RELAXED);
}

/* A relock by the owner (recursive, error-checking) never waits. */
static inline bool
ct_mutex_mine(const pthread_mutex_t *m)
{
	return __atomic_load_n(&m->__data.__owner, __ATOMIC_RELAXED) == ct_tid();
}

/* The unlock of m will wake waiters: not a recursive inner unlock, and the
 * word says somebody sleeps on it. */
static inline bool
ct_mutex_has_waiters(int word)
{
	return word == 2 || word < 0;
}

static CT_NOINLINE int
ct_mutex_lock_slow(pthread_mutex_t *m, uintptr_t caller)
{
	if (!ct_active() || ct_mutex_mine(m))
		return real_pthread_mutex_lock(m);
	struct ct_wait w;
	ct_lock_wait_begin(&w, m, CT_OP_MUTEX_LOCK, caller);
	int r = real_pthread_mutex_lock(m);
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
	if (CT_LIKELY(ct_mutex_word(m) == 0) || !ct_active() || ct_mutex_mine(m))
		return real_pthread_mutex_timedlock(m, t);
	struct ct_wait w;
	ct_lock_wait_begin(&w, m, CT_OP_MUTEX_TIMEDLOCK, CT_CALLER());
	int r = real_pthread_mutex_timedlock(m, t);
	ct_lock_wait_end(&w);
	return r;
}

CT_EXPORT int
pthread_mutex_clocklock(pthread_mutex_t *m, clockid_t c, const struct timespec *t)
{
	if (CT_LIKELY(ct_mutex_word(m) == 0) || !ct_active() || ct_mutex_mine(m))
		return real_pthread_mutex_clocklock(m, c, t);
	struct ct_wait w;
	ct_lock_wait_begin(&w, m, CT_OP_MUTEX_CLOCKLOCK, CT_CALLER());
	int r = real_pthread_mutex_clocklock(m, c, t);
	ct_lock_wait_end(&w);
	return r;
}

/* Only an owner's final unlock releases (recursive inner unlocks and
 * EPERM unlocks do not), so only then are waiters charged. */
static inline bool
ct_mutex_releases(const pthread_mutex_t *m)
{
	return m->__data.__count <= 1 && ct_mutex_mine(m);
}

static CT_NOINLINE int
ct_mutex_unlock_slow(pthread_mutex_t *m)
{
	if (!ct_active() || !ct_mutex_releases(m))
		return real_pthread_mutex_unlock(m);
	int64_t delay = ct_release_begin(m);
	int r = real_pthread_mutex_unlock(m);
	if (r == 0)
		ct_release_end(CT_OP_MUTEX_UNLOCK, delay);
	return r;
}

CT_EXPORT int
pthread_mutex_unlock(pthread_mutex_t *m)
{
	if (CT_LIKELY(!ct_mutex_has_waiters(ct_mutex_word(m))))
		return real_pthread_mutex_unlock(m);
	return ct_mutex_unlock_slow(m);
}

/* Condition variables release and re-take the mutex inside glibc, out of
 * our sight: charge the mutex's waiters here, before the wait releases it
 * (the holder's stack is the waiter's, taken when the wait ends). */
int64_t
ct_mutex_handover_begin(pthread_mutex_t *m)
{
	if (!ct_mutex_has_waiters(ct_mutex_word(m)) || !ct_mutex_releases(m))
		return 0;
	return ct_release_begin(m);
}
