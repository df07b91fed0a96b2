/* Waits on other threads: barriers and joins. They block as a rule, so
 * they are always timed. */
#include <pthread.h>

#include "../core/clock.h"
#include "../core/event.h"
#include "../core/ops.h"
#include "../core/stack.h"
#include "interpose.h"
#include "real.h"


/* glibc >= 2.23 keeps `in`, `current_round` and `count` as the first three
 * words of the barrier (nptl/pthreadP.h); the arrival that completes a
 * round (in + 1 reaches current_round + count) leaves without waiting. */
static inline bool
ct_barrier_may_wait(pthread_barrier_t *b)
{
	const unsigned *w = (const unsigned *)(void *)b;
	unsigned in = __atomic_load_n(&w[0], __ATOMIC_RELAXED);
	unsigned round = __atomic_load_n(&w[1], __ATOMIC_RELAXED);
	unsigned count = __atomic_load_n(&w[2], __ATOMIC_RELAXED);
	return count == 0 || in + 1 - round < count;
}

CT_EXPORT int
pthread_barrier_wait(pthread_barrier_t *b)
{
	CT_TIMED_WAIT(ct_barrier_may_wait(b), CT_OP_BARRIER_WAIT, real_pthread_barrier_wait(b));
}

CT_EXPORT int
pthread_join(pthread_t t, void **ret)
{
	CT_TIMED_WAIT(true, CT_OP_JOIN, real_pthread_join(t, ret));
}

CT_EXPORT int
pthread_timedjoin_np(pthread_t t, void **ret, const struct timespec *a)
{
	CT_TIMED_WAIT(true, CT_OP_TIMEDJOIN, real_pthread_timedjoin_np(t, ret, a));
}

CT_EXPORT int
pthread_clockjoin_np(pthread_t t, void **ret, clockid_t c, const struct timespec *a)
{
	CT_TIMED_WAIT(true, CT_OP_CLOCKJOIN, real_pthread_clockjoin_np(t, ret, c, a));
}

CT_EXPORT int
pthread_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg)
{
	if (CT_UNLIKELY(!ct_stack_unwinder_loaded()) && ct_self.busy == 0) {
		ct_self.busy++;
		ct_stack_before_thread_create();
		ct_self.busy--;
	}
	return real_pthread_create(t, a, fn, arg);
}
