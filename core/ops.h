/* The wrapped operations: each names the libc function that is the leaf
 * frame of a recorded stack, so report/ can label it without dlsym.
 * Pure data; no state. Safe from any context. */
#ifndef CT_OPS_H
#define CT_OPS_H

#define CT_OPS(X)                                              \
	X(MUTEX_LOCK, "pthread_mutex_lock")                    \
	X(MUTEX_TIMEDLOCK, "pthread_mutex_timedlock")          \
	X(MUTEX_CLOCKLOCK, "pthread_mutex_clocklock")          \
	X(MUTEX_UNLOCK, "pthread_mutex_unlock")                \
	X(RWLOCK_RDLOCK, "pthread_rwlock_rdlock")              \
	X(RWLOCK_WRLOCK, "pthread_rwlock_wrlock")              \
	X(RWLOCK_TIMEDRDLOCK, "pthread_rwlock_timedrdlock")    \
	X(RWLOCK_TIMEDWRLOCK, "pthread_rwlock_timedwrlock")    \
	X(RWLOCK_CLOCKRDLOCK, "pthread_rwlock_clockrdlock")    \
	X(RWLOCK_CLOCKWRLOCK, "pthread_rwlock_clockwrlock")    \
	X(RWLOCK_UNLOCK, "pthread_rwlock_unlock")              \
	X(SPIN_LOCK, "pthread_spin_lock")                      \
	X(SPIN_UNLOCK, "pthread_spin_unlock")                  \
	X(COND_WAIT, "pthread_cond_wait")                      \
	X(COND_TIMEDWAIT, "pthread_cond_timedwait")            \
	X(COND_CLOCKWAIT, "pthread_cond_clockwait")            \
	X(SEM_WAIT, "sem_wait")                                \
	X(SEM_TIMEDWAIT, "sem_timedwait")                      \
	X(SEM_CLOCKWAIT, "sem_clockwait")                      \
	X(BARRIER_WAIT, "pthread_barrier_wait")                \
	X(JOIN, "pthread_join")                                \
	X(TIMEDJOIN, "pthread_timedjoin_np")                   \
	X(CLOCKJOIN, "pthread_clockjoin_np")                   \
	X(TABLE_FULL, "[libcontend: table full]")

enum ct_op {
#define CT_OP_ENUM(id, name) CT_OP_##id,
	CT_OPS(CT_OP_ENUM)
#undef CT_OP_ENUM
	CT_OP_COUNT
};

/* Name of the libc function for op ("pthread_mutex_lock"); never NULL. */
const char *ct_op_name(unsigned op);

#endif
