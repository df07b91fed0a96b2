/* pthread_rwlock_* wrappers. Hints come from glibc's public rwlock
 * layout (nptl/pthread_rwlock_common.c): __readers holds WRPHASE (1),
 * WRLOCKED (2), RWAITING (4) and the reader count from bit 3; the two futex
 * words get bit 1 (FUTEX_USED) once somebody sleeps on them. A wrong hint
 * only costs a clock read or misses one short wait; results never change.
 * __cur_writer is the write owner's tid: glibc returns EDEADLK at once to
 * that thread's rdlock or wrlock, which is no wait. */
#include <errno.h>
#include <pthread.h>

#include "../core/event.h"
#include "../core/threads.h"
#include "../core/ops.h"
#include "interpose.h"
#include "real.h"

#define CT_RW_WRLOCKED 2u
#define CT_RW_RWAITING 4u
#define CT_RW_FUTEX_USED 2u

static inline unsigned
ct_rw_readers(const pthread_rwlock_t *l)
{
	return __atomic_load_n(&l->__data.__readers, __ATOMIC_RELAXED);
}

static inline bool
ct_rw_mine(const pthread_rwlock_t *l)
{
	return __atomic_load_n(&l->__data.__cur_writer, __ATOMIC_RELAXED) == ct_tid();
}

/* A reader waits only while a writer holds or is queued. */
static inline bool
ct_rw_rd_may_wait(const pthread_rwlock_t *l)
{
	return (ct_rw_readers(l) & CT_RW_WRLOCKED) && !ct_rw_mine(l);
}

/* A writer waits while anybody holds (readers or a writer). */
static inline bool
ct_rw_wr_may_wait(const pthread_rwlock_t *l)
{
	return (ct_rw_readers(l) & ~1u) != 0 && !ct_rw_mine(l);
}

static inline bool
ct_rw_has_waiters(const pthread_rwlock_t *l)
{
	unsigned f = __atomic_load_n(&l->__data.__wrphase_futex, __ATOMIC_RELAXED) |
		     __atomic_load_n(&l->__data.__writers_futex, __ATOMIC_RELAXED);
	return (f & CT_RW_FUTEX_USED) || (ct_rw_readers(l) & CT_RW_RWAITING);
}

CT_EXPORT int
pthread_rwlock_rdlock(pthread_rwlock_t *l)
{
	CT_LOCK_WAIT(ct_rw_rd_may_wait(l), CT_OP_RWLOCK_RDLOCK, l, real_pthread_rwlock_rdlock(l));
}

CT_EXPORT int
pthread_rwlock_wrlock(pthread_rwlock_t *l)
{
	CT_LOCK_WAIT(ct_rw_wr_may_wait(l), CT_OP_RWLOCK_WRLOCK, l, real_pthread_rwlock_wrlock(l));
}

CT_EXPORT int
pthread_rwlock_timedrdlock(pthread_rwlock_t *l, const struct timespec *t)
{
	CT_LOCK_WAIT(ct_rw_rd_may_wait(l), CT_OP_RWLOCK_TIMEDRDLOCK, l,
		     real_pthread_rwlock_timedrdlock(l, t));
}

CT_EXPORT int
pthread_rwlock_timedwrlock(pthread_rwlock_t *l, const struct timespec *t)
{
	CT_LOCK_WAIT(ct_rw_wr_may_wait(l), CT_OP_RWLOCK_TIMEDWRLOCK, l,
		     real_pthread_rwlock_timedwrlock(l, t));
}

CT_EXPORT int
pthread_rwlock_clockrdlock(pthread_rwlock_t *l, clockid_t c, const struct timespec *t)
{
	CT_LOCK_WAIT(ct_rw_rd_may_wait(l), CT_OP_RWLOCK_CLOCKRDLOCK, l,
		     real_pthread_rwlock_clockrdlock(l, c, t));
}

CT_EXPORT int
pthread_rwlock_clockwrlock(pthread_rwlock_t *l, clockid_t c, const struct timespec *t)
{
	CT_LOCK_WAIT(ct_rw_wr_may_wait(l), CT_OP_RWLOCK_CLOCKWRLOCK, l,
		     real_pthread_rwlock_clockwrlock(l, c, t));
}

CT_EXPORT int
pthread_rwlock_tryrdlock(pthread_rwlock_t *l)
{
	return real_pthread_rwlock_tryrdlock(l);
}

CT_EXPORT int
pthread_rwlock_trywrlock(pthread_rwlock_t *l)
{
	return real_pthread_rwlock_trywrlock(l);
}

static CT_NOINLINE int
ct_rw_unlock_slow(pthread_rwlock_t *l)
{
	if (!ct_active())
		return real_pthread_rwlock_unlock(l);
	CT_RELEASE(CT_OP_RWLOCK_UNLOCK, l, real_pthread_rwlock_unlock(l));
}

CT_EXPORT int
pthread_rwlock_unlock(pthread_rwlock_t *l)
{
	if (CT_LIKELY(!ct_rw_has_waiters(l)))
		return real_pthread_rwlock_unlock(l);
	return ct_rw_unlock_slow(l);
}
