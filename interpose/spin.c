/* pthread_spin_* wrappers. Spinning waiters leave no mark in the lock
 * word, so the unlock side asks the waiter table's global count instead (a
 * load of a line only contention writes). */
#include <pthread.h>

#include "../core/event.h"
#include "../core/ops.h"
#include "../core/waiters.h"
#include "interpose.h"
#include "real.h"

CT_EXPORT int
pthread_spin_lock(pthread_spinlock_t *s)
{
	CT_LOCK_WAIT(__atomic_load_n(s, __ATOMIC_RELAXED) != ct_spin_unlocked_value,
		     CT_OP_SPIN_LOCK, (const void *)s, real_pthread_spin_lock(s));
}

CT_EXPORT int
pthread_spin_unlock(pthread_spinlock_t *s)
{
	if (CT_LIKELY(__atomic_load_n(&ct_waiters_active, __ATOMIC_RELAXED) == 0) || !ct_active())
		return real_pthread_spin_unlock(s);
	CT_RELEASE(CT_OP_SPIN_UNLOCK, (const void *)s, real_pthread_spin_unlock(s));
}
