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

CT_EXPORT int
pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *a)
{
	int r = real_pthread_mutex_init(m, a);
	if (r == 0)
		ct_lock_created(m, ct_mutex_lock_kind(m), CT_CALLER());
	return r;
}

CT_EXPORT int
pthread_rwlock_init(pthread_rwlock_t *l, const pthread_rwlockattr_t *a)
{
	int r = real_pthread_rwlock_init(l, a);
	if (r == 0)
		ct_lock_created(l, CT_LK_RWLOCK, CT_CALLER());
	return r;
}

CT_EXPORT int
pthread_spin_init(pthread_spinlock_t *s, int pshared)
{
	int r = real_pthread_spin_init(s, pshared);
	if (r == 0)
		ct_lock_created((const void *)s, CT_LK_SPIN, CT_CALLER());
	return r;
}

CT_EXPORT int
pthread_cond_init(pthread_cond_t *c, const pthread_condattr_t *a)
{
	int r = real_pthread_cond_init(c, a);
	if (r == 0)
		ct_lock_created(c, CT_LK_COND, CT_CALLER());
	return r;
}

CT_EXPORT int
sem_init(sem_t *s, int pshared, unsigned value)
{
	int r = real_sem_init(s, pshared, value);
	if (r == 0)
		ct_lock_created(s, CT_LK_SEM, CT_CALLER());
	return r;
}

CT_EXPORT int
pthread_barrier_init(pthread_barrier_t *b, const pthread_barrierattr_t *a, unsigned n)
{
	int r = real_pthread_barrier_init(b, a, n);
	if (r == 0)
		ct_lock_created(b, CT_LK_BARRIER, CT_CALLER());
	return r;
}
