/* Pointers to the real libc functions behind the wrappers.
 *
 * Each real_<name> starts out pointing at a bootstrap stub that resolves
 * every pointer (dlsym(RTLD_NEXT), condvars by version: BZ 14932) and then
 * forwards, so wrappers never test for NULL on the fast path and a lock
 * taken by another library's constructor before ours still works. If the
 * resolution re-enters itself on the same thread (dlsym -> malloc ->
 * pthread_mutex_lock with an interposed allocator), the stubs of the lock
 * functions fall back to glibc's own __pthread_* aliases. A function libc
 * lacks answers ENOSYS. Only interpose/ sees these. */
#ifndef CT_INTERPOSE_REAL_H
#define CT_INTERPOSE_REAL_H

#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <time.h>

/* X(return type, name, parameters, arguments, versioned) */
#define CT_REAL_FUNCS(X)                                                                         \
	X(int, pthread_mutex_lock, (pthread_mutex_t * m), (m), 0)                                \
	X(int, pthread_mutex_trylock, (pthread_mutex_t * m), (m), 0)                             \
	X(int, pthread_mutex_timedlock, (pthread_mutex_t * m, const struct timespec *t), (m, t), 0) \
	X(int, pthread_mutex_clocklock, (pthread_mutex_t * m, clockid_t c, const struct timespec *t), \
	  (m, c, t), 0)                                                                          \
	X(int, pthread_mutex_unlock, (pthread_mutex_t * m), (m), 0)                              \
	X(int, pthread_rwlock_rdlock, (pthread_rwlock_t * l), (l), 0)                            \
	X(int, pthread_rwlock_wrlock, (pthread_rwlock_t * l), (l), 0)                            \
	X(int, pthread_rwlock_tryrdlock, (pthread_rwlock_t * l), (l), 0)                         \
	X(int, pthread_rwlock_trywrlock, (pthread_rwlock_t * l), (l), 0)                         \
	X(int, pthread_rwlock_timedrdlock, (pthread_rwlock_t * l, const struct timespec *t), (l, t), 0) \
	X(int, pthread_rwlock_timedwrlock, (pthread_rwlock_t * l, const struct timespec *t), (l, t), 0) \
	X(int, pthread_rwlock_clockrdlock, (pthread_rwlock_t * l, clockid_t c, const struct timespec *t), \
	  (l, c, t), 0)                                                                          \
	X(int, pthread_rwlock_clockwrlock, (pthread_rwlock_t * l, clockid_t c, const struct timespec *t), \
	  (l, c, t), 0)                                                                          \
	X(int, pthread_rwlock_unlock, (pthread_rwlock_t * l), (l), 0)                            \
	X(int, pthread_spin_lock, (pthread_spinlock_t * s), (s), 0)                              \
	X(int, pthread_spin_unlock, (pthread_spinlock_t * s), (s), 0)                            \
	X(int, pthread_cond_wait, (pthread_cond_t * c, pthread_mutex_t * m), (c, m), 1)           \
	X(int, pthread_cond_timedwait, (pthread_cond_t * c, pthread_mutex_t * m, const struct timespec *t), \
	  (c, m, t), 1)                                                                          \
	X(int, pthread_cond_clockwait,                                                           \
	  (pthread_cond_t * c, pthread_mutex_t * m, clockid_t k, const struct timespec *t), (c, m, k, t), 0) \
	X(int, sem_wait, (sem_t * s), (s), 0)                                                    \
	X(int, sem_timedwait, (sem_t * s, const struct timespec *t), (s, t), 0)                   \
	X(int, sem_clockwait, (sem_t * s, clockid_t c, const struct timespec *t), (s, c, t), 0)   \
	X(int, pthread_barrier_wait, (pthread_barrier_t * b), (b), 0)                            \
	X(int, pthread_join, (pthread_t t, void **r), (t, r), 0)                                 \
	X(int, pthread_timedjoin_np, (pthread_t t, void **r, const struct timespec *a), (t, r, a), 0) \
	X(int, pthread_clockjoin_np, (pthread_t t, void **r, clockid_t c, const struct timespec *a), \
	  (t, r, c, a), 0)                                                                       \
	X(int, pthread_create,                                                                   \
	  (pthread_t * t, const pthread_attr_t *a, void *(*f)(void *), void *arg), (t, a, f, arg), 0) \
	X(int, pthread_detach, (pthread_t t), (t), 0)                                            \
	X(int, sigaction, (int s, const struct sigaction *a, struct sigaction *o), (s, a, o), 0)  \
	X(__sighandler_t, signal, (int s, __sighandler_t h), (s, h), 0)                          \
	X(__sighandler_t, __sysv_signal, (int s, __sighandler_t h), (s, h), 0)                   \
	X(__sighandler_t, sigset, (int s, __sighandler_t h), (s, h), 0)

#define CT_REAL_DECL(ret, name, params, args, versioned) extern ret(*real_##name) params;
CT_REAL_FUNCS(CT_REAL_DECL)
#undef CT_REAL_DECL

/* Resolves every real_* pointer once; idempotent and thread-safe. */
void ct_real_resolve(void);

/* The shim's lazy, idempotent initialisation (constructor or first slow
 * path before it). Defined in init.c. */
void ct_init_once(void);

#endif
