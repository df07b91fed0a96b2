/* The init calls of every lock type: forwarded, then (on success) the
 * caller is remembered as the lock's creation site (core/locks.h), which
 * names heap locks in the profiles. Not a hot path; nothing on the lock
 * and unlock paths changes. */
#include <pthread.h>
#include <semaphore.h>

#include "../core/event.h"
#include "../core/locks.h"
#include "interpose.h"
#include "real.h"

/* Attributes of an initialised mutex, from glibc's __kind (see mutex.c). */
unsigned
ct_mutex_lock_kind(const pthread_mutex_t *m)
{
	int kind = __atomic_load_n(&m->__data.__kind, __ATOMIC_RELAXED);
	unsigned k = CT_LK_MUTEX;
	switch (kind & 3) {
	case PTHREAD_MUTEX_RECURSIVE:
		k |= CT_LKF_RECURSIVE;
		break;
	case PTHREAD_MUTEX_ERRORCHECK:
		k |= CT_LKF_ERRORCHECK;
		break;
	case 3: /* PTHREAD_MUTEX_ADAPTIVE_NP */
		k |= CT_LKF_ADAPTIVE;
		break;
	}
	if (kind & 16)
		k |= CT_LKF_ROBUST;
	if (kind & 32)
		k |= CT_LKF_PI;
	if (kind & 64)
		k |= CT_LKF_PP;
	return k;
}

/* An init wrapper: forwarded, then on success the caller is the lock's
 * creation site, of kind (an expression of the initialised lock). */
#define CT_LOCK_INIT(name, params, args, lock, kind)            \
	CT_EXPORT int name params                               \
	{                                                       \
		int r = real_##name args;                       \
		if (r == 0)                                     \
			ct_lock_created(lock, kind, CT_CALLER()); \
		return r;                                       \
	}

CT_LOCK_INIT(pthread_mutex_init, (pthread_mutex_t *m, const pthread_mutexattr_t *a), (m, a),
	     m, ct_mutex_lock_kind(m))
CT_LOCK_INIT(pthread_rwlock_init, (pthread_rwlock_t *l, const pthread_rwlockattr_t *a),
	     (l, a), l, CT_LK_RWLOCK)
CT_LOCK_INIT(pthread_spin_init, (pthread_spinlock_t *s, int pshared), (s, pshared),
	     (const void *)s, CT_LK_SPIN)
CT_LOCK_INIT(pthread_cond_init, (pthread_cond_t *c, const pthread_condattr_t *a), (c, a), c,
	     CT_LK_COND)
CT_LOCK_INIT(sem_init, (sem_t *s, int pshared, unsigned value), (s, pshared, value), s,
	     CT_LK_SEM)
CT_LOCK_INIT(pthread_barrier_init,
	     (pthread_barrier_t *b, const pthread_barrierattr_t *a, unsigned n), (b, a, n), b,
	     CT_LK_BARRIER)
