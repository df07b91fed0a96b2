/* pthread_cond_*wait wrappers: the wait itself goes to the block profile;
 * the mutex the wait releases inside glibc is charged to the waiter's
 * stack when it had waiters (mutrace misses this; multicore-locks/litl#6).
 * Waits always block, so the clock reads cost nothing noticeable. A
 * cancellation unwinds through here with nothing to undo. */
#include <errno.h>
#include <pthread.h>

#include "../core/clock.h"
#include "../core/event.h"
#include "../core/ops.h"
#include "../core/threads.h"
#include "interpose.h"
#include "real.h"

#define CT_COND_WAIT(op, call)                                        \
	do {                                                          \
		if (!ct_active())                                     \
			return call;                                  \
		int64_t handover = ct_mutex_handover_begin(m);        \
		int64_t t0 = ct_block_begin_aux(op, c, CT_CALLER(),   \
						(uintptr_t)m);        \
		int r = call;                                         \
		ct_cond_end(op, t0, op, handover);                    \
		if (r != 0)                                           \
			ct_wait_unwoken(op, r, errno);                \
		return r;                                             \
	} while (0)

CT_EXPORT int
pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
	CT_COND_WAIT(CT_OP_COND_WAIT, real_pthread_cond_wait(c, m));
}

CT_EXPORT int
pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *t)
{
	CT_COND_WAIT(CT_OP_COND_TIMEDWAIT, real_pthread_cond_timedwait(c, m, t));
}

CT_EXPORT int
pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t k, const struct timespec *t)
{
	CT_COND_WAIT(CT_OP_COND_CLOCKWAIT, real_pthread_cond_clockwait(c, m, k, t));
}
