/* Recording of waits and releases; see event.h. This is the only core
 * code on wrapper paths: it samples first and only then unwinds. */
#include <errno.h>

#include "clock.h"
#include "config.h"
#include "event.h"
#include "profiles.h"
#include "sample.h"
#include "stack.h"
#include "threads.h"
#include "waiters.h"

int ct_ready;
CT_TLS struct ct_thread ct_self;

bool
ct_in_handler_slow(void)
{
	uintptr_t here = (uintptr_t)__builtin_frame_address(0);
	int d = ct_self.sig_depth;
	/* A handler's callees run below its trampoline frame (stacks grow
	 * down on every architecture we build for); above it, that handler
	 * was left by a jump. */
	while (d > 0 && d <= CT_SIG_FRAMES && here > ct_self.sig_frame[d - 1])
		d--;
	ct_self.sig_depth = d;
	return d > 0;
}

static void
ct_record(enum ct_profile_kind kind, unsigned op, double count, double delay)
{
	uintptr_t pcs[CT_STACK_MAX];
	int depth = (int)__atomic_load_n(&ct_cfg.stack_depth, __ATOMIC_RELAXED);
	ct_guard_enter();
	int n = ct_stack_capture(pcs, depth);
	ct_table_add(&ct_profiles[kind], op, pcs, (unsigned)n, count, delay);
	ct_guard_leave();
}

void
ct_lock_wait_begin(struct ct_wait *w, const void *obj, unsigned op, uintptr_t caller)
{
	w->obj = obj;
	w->op = op;
	w->t0 = ct_now_ns();
	ct_wait_enter(op, obj, -1, w->t0, caller);
	/* The guard also covers the bucket spinlock: a signal handler that
	 * contends on a lock of the same bucket must pass straight through. */
	ct_guard_enter();
	w->handle = ct_waiters_arrive(obj, w->t0);
	ct_guard_leave();
}

void
ct_lock_wait_end(struct ct_wait *w)
{
	int saved = errno;
	unsigned op = w->op;
	ct_wait_leave();
	ct_guard_enter();
	ct_waiters_leave(w->handle, w->t0);
	ct_guard_leave();
	int64_t wait = ct_now_ns() - w->t0;
	double count, delay;
	if (ct_sample_block(__atomic_load_n(&ct_cfg.block_rate, __ATOMIC_RELAXED), wait, &count,
			    &delay))
		ct_record(CT_PROF_BLOCK, op, count, delay);
	errno = saved;
}

void
ct_lock_wait_cancel(struct ct_wait *w)
{
	int saved = errno;
	ct_wait_leave();
	ct_guard_enter();
	ct_waiters_leave(w->handle, w->t0);
	ct_guard_leave();
	errno = saved;
}

int64_t
ct_block_begin(unsigned op, const void *obj, uintptr_t caller)
{
	int64_t t0 = ct_now_ns();
	ct_wait_enter(op, obj, -1, t0, caller);
	return t0;
}

void
ct_block_end(unsigned op, int64_t t0)
{
	int saved = errno;
	ct_wait_leave();
	double count, delay;
	if (ct_sample_block(__atomic_load_n(&ct_cfg.block_rate, __ATOMIC_RELAXED),
			    ct_now_ns() - t0, &count, &delay))
		ct_record(CT_PROF_BLOCK, op, count, delay);
	errno = saved;
}

int64_t
ct_release_begin(const void *obj)
{
	if (__atomic_load_n(&ct_waiters_active, __ATOMIC_RELAXED) == 0)
		return 0;
	unsigned n;
	ct_guard_enter();
	int64_t delay = ct_waiters_charge(obj, ct_now_ns(), &n);
	ct_guard_leave();
	return delay;
}

void
ct_release_end(unsigned op, int64_t delay)
{
	if (delay <= 0)
		return;
	uint64_t frac = __atomic_load_n(&ct_cfg.mutex_fraction, __ATOMIC_RELAXED);
	if (!ct_sample_mutex(frac))
		return;
	int saved = errno;
	ct_record(CT_PROF_MUTEX, op, (double)frac, (double)frac * (double)delay);
	errno = saved;
}

void
ct_cond_end(unsigned op, int64_t t0, unsigned handover_op, int64_t handover_delay)
{
	int saved = errno;
	ct_wait_leave();
	double count = 0, delay = 0;
	uint64_t frac = __atomic_load_n(&ct_cfg.mutex_fraction, __ATOMIC_RELAXED);
	bool blk = ct_sample_block(__atomic_load_n(&ct_cfg.block_rate, __ATOMIC_RELAXED),
				   ct_now_ns() - t0, &count, &delay);
	bool mtx = handover_delay > 0 && ct_sample_mutex(frac);
	if (blk || mtx) {
		uintptr_t pcs[CT_STACK_MAX];
		int depth = (int)__atomic_load_n(&ct_cfg.stack_depth, __ATOMIC_RELAXED);
		ct_guard_enter();
		int n = ct_stack_capture(pcs, depth);
		if (blk)
			ct_table_add(&ct_profiles[CT_PROF_BLOCK], op, pcs, (unsigned)n, count, delay);
		if (mtx)
			ct_table_add(&ct_profiles[CT_PROF_MUTEX], handover_op, pcs, (unsigned)n,
				     (double)frac, (double)frac * (double)handover_delay);
		ct_guard_leave();
	}
	errno = saved;
}
