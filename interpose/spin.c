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
	if (CT_LIKELY(__atomic_load_n(s, __ATOMIC_RELAXED) == ct_spin_unlocked_value) ||
	    !ct_active())
		return real_pthread_spin_lock(s);
	struct ct_wait w;
	ct_lock_wait_begin(&w, (const void *)s, CT_OP_SPIN_LOCK, CT_CALLER());
	int r = real_pthread_spin_lock(s);
	ct_lock_wait_end(&w);
	return r;
}

CT_EXPORT int
pthread_spin_unlock(pthread_spinlock_t *s)
{
	if (CT_LIKELY(__atomic_load_n(&ct_waiters_active, __ATOMIC_RELAXED) == 0) || !ct_active())
		return real_pthread_spin_unlock(s);
	int64_t delay = ct_release_begin((const void *)s);
	int r = real_pthread_spin_unlock(s);
	if (r == 0)
		ct_release_end(CT_OP_SPIN_UNLOCK, delay);
	return r;
}
