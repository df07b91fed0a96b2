/* Waits on other threads: barriers and joins. They block as a rule, so
 * they are always timed. */
#include <pthread.h>

#include "../core/clock.h"
#include "../core/event.h"
#include "../core/ops.h"
#include "interpose.h"
#include "real.h"


CT_EXPORT int
pthread_barrier_wait(pthread_barrier_t *b)
{
	CT_TIMED_WAIT(true, CT_OP_BARRIER_WAIT, real_pthread_barrier_wait(b));
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
