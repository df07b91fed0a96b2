/* sem_*wait wrappers. On 64-bit glibc the first word of sem_t holds the
 * value in its low 32 bits (nptl/semaphoreP.h); a positive value means the
 * wait will not block, so it is forwarded untimed. */
#include <semaphore.h>
#include <stdint.h>

#include "../core/clock.h"
#include "../core/event.h"
#include "../core/ops.h"
#include "interpose.h"
#include "real.h"
#include "restart.h"

static inline bool
ct_sem_may_wait(sem_t *s)
{
#if __WORDSIZE == 64
	return __atomic_load_n((const uint32_t *)(void *)s, __ATOMIC_RELAXED) == 0;
#else
	(void)s;
	return true;
#endif
}


CT_EXPORT int
sem_wait(sem_t *s)
{
	CT_TIMED_WAIT(ct_sem_may_wait(s), CT_OP_SEM_WAIT, s, real_sem_wait(s));
}

/* The timed ones end with EINTR after any handler (an absolute time:
 * made again as it is where only ours ran, restart.h). */
CT_EXPORT int
sem_timedwait(sem_t *s, const struct timespec *t)
{
	CT_TIMED_WAIT(ct_sem_may_wait(s), CT_OP_SEM_TIMEDWAIT, s,
		      CT_RESTART(int, real_sem_timedwait(s, t), CT_EINTR(rv_), (void)0));
}

CT_EXPORT int
sem_clockwait(sem_t *s, clockid_t c, const struct timespec *t)
{
	CT_TIMED_WAIT(ct_sem_may_wait(s), CT_OP_SEM_CLOCKWAIT, s,
		      CT_RESTART(int, real_sem_clockwait(s, c, t), CT_EINTR(rv_), (void)0));
}
