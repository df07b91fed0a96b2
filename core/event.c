/* Recording of waits and releases; see event.h. This is the only core
 * code on wrapper paths: it samples first and only then unwinds. */
#include <errno.h>

#include "clock.h"
#include "config.h"
#include "event.h"
#include "locks.h"
#include "profiles.h"
#include "sample.h"
#include "stack.h"
#include "threads.h"
#include "waiters.h"

int ct_ready;
CT_TLS struct ct_thread ct_self;
void (*ct_guard_run_deferred)(void);

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

/* Per-thread lock state of the slow paths: the object and caller of the
 * block wait in progress, the object being released, and the holds that
 * began after a sampled wait (a thread rarely holds more than a few such
 * locks at once; a fifth replaces the oldest, whose hold goes unrecorded). */
#define CT_HOLD_SLOTS 4
struct ct_lk_thread {
	const void *block_obj;
	uintptr_t block_caller;
	const void *cond_mutex;
	const void *rel_obj;
	unsigned rel_kind;
	unsigned next_hold;
	unsigned nholds; /* slots in use: 0 spares the release paths their loops */
	/* The waiter-table registration of the lock wait in progress
	 * (ct_lock_wait_begin..end): handle -1 when none. Here rather than
	 * in struct ct_wait so that ct_handler_enter can take it out and
	 * ct_handler_leave put it back under a new handle. */
	int wait_h;
	int64_t wait_t0;
	const void *wait_obj;
	bool wait_counted;
	struct {
		const void *obj;
		int64_t t0;
		uintptr_t site;
		double weight;
		unsigned kind;
	} hold[CT_HOLD_SLOTS];
};
static CT_TLS struct ct_lk_thread ct_lk = {.wait_h = -1};

/* Records an event on lock obj (0: none) of kind with the stack captured
 * now; returns the frame the event is charged to (pcs[0], the caller of
 * the wrapped function), 0 if none. */
static uintptr_t
ct_record(enum ct_profile_kind kind, unsigned op, const void *obj, unsigned lock_kind,
	  double count, double delay)
{
	uintptr_t pcs[CT_STACK_MAX];
	int depth = (int)__atomic_load_n(&ct_cfg.stack_depth, __ATOMIC_RELAXED);
	ct_guard_enter();
	int n = ct_stack_capture(pcs, depth);
	ct_table_add_lock(&ct_profiles[kind], op, (uintptr_t)obj, lock_kind, pcs, (unsigned)n,
			  count, delay);
	ct_guard_leave();
	return n > 0 ? pcs[0] : 0;
}

/* Opens a hold of obj that began at t0 after a wait at site. */
static void
ct_hold_begin(const void *obj, unsigned kind, uintptr_t site, int64_t t0, double weight)
{
	unsigned i;
	for (i = 0; i < CT_HOLD_SLOTS; i++)
		if (!ct_lk.hold[i].obj || ct_lk.hold[i].obj == obj)
			break;
	if (i == CT_HOLD_SLOTS)
		i = ct_lk.next_hold++ % CT_HOLD_SLOTS;
	if (!ct_lk.hold[i].obj)
		ct_lk.nholds++;
	ct_lk.hold[i].obj = obj;
	ct_lk.hold[i].t0 = t0;
	ct_lk.hold[i].site = site;
	ct_lk.hold[i].weight = weight;
	ct_lk.hold[i].kind = kind;
}

/* Closes this thread's open hold of obj, if any, at now (0: read the
 * clock). */
static void
ct_hold_close(const void *obj, int64_t now)
{
	for (unsigned i = 0; i < CT_HOLD_SLOTS; i++) {
		if (ct_lk.hold[i].obj != obj)
			continue;
		ct_lk.hold[i].obj = NULL;
		ct_lk.nholds--;
		if (!now)
			now = ct_now_ns();
		int64_t held = now - ct_lk.hold[i].t0;
		ct_guard_enter();
		ct_locks_add(obj, ct_lk.hold[i].kind, ct_lk.hold[i].site, CT_LR_HOLD,
			     ct_lk.hold[i].weight, held, ct_lk.hold[i].weight * (double)held, 0);
		ct_guard_leave();
		return;
	}
}

/* Waits on objects whose release asks ct_waiters_active (waiters.h). */
static inline bool
ct_waiters_counted(unsigned kind)
{
	return CT_LK_BASE(kind) == CT_LK_SPIN || CT_LK_BASE(kind) == CT_LK_FUTEX;
}

void
ct_lock_wait_begin(struct ct_wait *w, const void *obj, unsigned op, uintptr_t caller)
{
	w->obj = obj;
	w->op = op;
	w->caller = caller;
	w->kind = ct_lock_kind_of_op(op);
	w->t0 = ct_now_ns();
	ct_wait_enter(op, obj, -1, w->t0, caller);
	/* The guard also covers the bucket spinlock: a signal handler that
	 * contends on a lock of the same bucket must pass straight through;
	 * and the registration is whole before a handler deferred meanwhile
	 * runs (at the leave) and may take it out. */
	ct_guard_enter();
	bool counted = ct_waiters_counted(w->kind);
	ct_lk.wait_obj = obj;
	ct_lk.wait_counted = counted;
	ct_lk.wait_t0 = w->t0;
	ct_lk.wait_h = ct_waiters_arrive(obj, w->t0, counted);
	ct_guard_leave();
}

/* Ends the calling thread's registration, if it still has one. Under the
 * guard. */
static void
ct_lock_wait_deregister(void)
{
	int h = ct_lk.wait_h;
	ct_lk.wait_h = -1;
	if (h >= 0)
		ct_waiters_leave(h, ct_lk.wait_t0, ct_lk.wait_counted);
}

/* errno: nothing before the sampled part touches it (the clock, the
 * waiter table's spinlock; a signal handler deferred by the guard runs
 * with its own save), so only that part saves it. */
void
ct_lock_wait_end(struct ct_wait *w)
{
	unsigned op = w->op;
	ct_wait_leave();
	ct_guard_enter();
	ct_lock_wait_deregister();
	ct_guard_leave();
	int64_t now = ct_now_ns(), wait = now - w->t0;
	double count, delay;
	if (ct_sample_block(__atomic_load_n(&ct_cfg.block_rate, __ATOMIC_RELAXED), wait, &count,
			    &delay)) {
		int saved = errno;
		unsigned kind = w->kind & ~CT_LKF_HOLD_TRACKABLE;
		ct_record(CT_PROF_BLOCK, op, w->obj, kind, count, delay);
		ct_guard_enter();
		ct_locks_add(w->obj, kind, w->caller, CT_LR_WAIT, count, wait, delay, 0);
		ct_guard_leave();
		if (w->kind & CT_LKF_HOLD_TRACKABLE)
			ct_hold_begin(w->obj, kind, w->caller, now, count);
		errno = saved;
	}
}

void
ct_lock_wait_cancel(struct ct_wait *w)
{
	int saved = errno;
	(void)w;
	ct_wait_leave();
	ct_guard_enter();
	ct_lock_wait_deregister();
	ct_guard_leave();
	errno = saved;
}

void
ct_handler_enter(struct ct_handler_saved *s)
{
	s->wait_op = ct_wait_suspend();
	s->lock_obj = NULL;
	if (ct_lk.wait_h < 0 || ct_guard_held())
		return;
	s->lock_obj = ct_lk.wait_obj;
	s->lock_counted = ct_lk.wait_counted;
	ct_guard_enter();
	ct_lock_wait_deregister();
	ct_guard_leave();
}

void
ct_handler_leave(const struct ct_handler_saved *s)
{
	if (s->lock_obj) {
		int saved = errno;
		int64_t now = ct_now_ns();
		ct_guard_enter();
		ct_lk.wait_obj = s->lock_obj;
		ct_lk.wait_counted = s->lock_counted;
		ct_lk.wait_t0 = now;
		ct_lk.wait_h = ct_waiters_arrive(s->lock_obj, now, s->lock_counted);
		ct_guard_leave();
		errno = saved;
	}
	ct_wait_resume(s->wait_op);
}

int64_t
ct_block_begin_aux(unsigned op, const void *obj, uintptr_t caller, uintptr_t aux)
{
	int64_t t0 = ct_now_ns();
	if (aux)
		ct_wait_enter_aux(op, obj, -1, t0, caller, aux, 0);
	else
		ct_wait_enter(op, obj, -1, t0, caller);
	ct_lk.block_obj = obj;
	ct_lk.block_caller = caller;
	return t0;
}

/* The block wait in progress ended after wait ns; sampled with count
 * and delay: records it, with its lock if it was on one. */
static void
ct_block_record(unsigned op, int64_t wait, double count, double delay, uintptr_t pc0)
{
	unsigned kind = ct_lock_kind_of_op(op);
	if (kind == CT_LK_NONE)
		return;
	ct_guard_enter();
	ct_locks_add(ct_lk.block_obj, kind, ct_lk.block_caller ? ct_lk.block_caller : pc0,
		     CT_LR_WAIT, count, wait, delay,
		     kind == CT_LK_COND ? (uintptr_t)ct_lk.cond_mutex : 0);
	ct_guard_leave();
}

/* errno saved by the sampled part only, as in ct_lock_wait_end. */
void
ct_block_end(unsigned op, int64_t t0)
{
	ct_wait_leave();
	double count, delay;
	int64_t wait = ct_now_ns() - t0;
	if (ct_sample_block(__atomic_load_n(&ct_cfg.block_rate, __ATOMIC_RELAXED), wait, &count,
			    &delay)) {
		int saved = errno;
		unsigned kind = ct_lock_kind_of_op(op);
		const void *obj = kind != CT_LK_NONE ? ct_lk.block_obj : NULL;
		uintptr_t pc0 = ct_record(CT_PROF_BLOCK, op, obj, kind, count, delay);
		ct_block_record(op, wait, count, delay, pc0);
		errno = saved;
	}
}

int64_t
ct_release_begin(const void *obj)
{
	int64_t now = 0;
	ct_lk.rel_obj = obj;
	/* A hold that began after a sampled wait: its unlock is sure to
	 * get here (the wrapper said so when the wait ended). */
	for (unsigned i = 0; CT_UNLIKELY(ct_lk.nholds) && i < CT_HOLD_SLOTS; i++) {
		if (CT_UNLIKELY(ct_lk.hold[i].obj == obj)) {
			now = ct_now_ns();
			ct_hold_close(obj, now);
			break;
		}
	}
	/* No test of ct_waiters_active here: mutex and rwlock waiters are
	 * not counted there, and the spinlock and futex wrappers test it
	 * before they get here. The charge probes the bucket unlocked. */
	unsigned n;
	ct_guard_enter();
	int64_t delay = ct_waiters_charge(obj, now, &n);
	ct_guard_leave();
	return delay;
}

/* A sampled mutex event on obj charged to the unlock at pc0. */
static void
ct_holder_record(const void *obj, unsigned op, uintptr_t pc0, double count, double delay)
{
	ct_guard_enter();
	ct_locks_add(obj, ct_lock_kind_of_op(op), pc0, CT_LR_HOLDER, count, -1, delay, 0);
	ct_guard_leave();
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
	const void *obj = ct_lk.rel_obj;
	unsigned kind = ct_lock_kind_of_op(op);
	uintptr_t pc0 = ct_record(CT_PROF_MUTEX, op, obj, kind, (double)frac,
				  (double)frac * (double)delay);
	ct_holder_record(obj, op, pc0, (double)frac, (double)frac * (double)delay);
	errno = saved;
}

void
ct_cond_release(const void *m)
{
	ct_lk.cond_mutex = m;
	for (unsigned i = 0; CT_UNLIKELY(ct_lk.nholds) && i < CT_HOLD_SLOTS; i++)
		if (CT_UNLIKELY(ct_lk.hold[i].obj == m))
			ct_hold_close(m, 0);
}

void
ct_lock_created(const void *obj, unsigned kind, uintptr_t caller)
{
	/* Not from a signal handler: it could interrupt this thread inside
	 * the same bucket's spinlock. */
	if (!ct_active())
		return;
	int saved = errno;
	ct_guard_enter();
	ct_locks_created(obj, kind, caller);
	ct_guard_leave();
	errno = saved;
}

/* errno saved by the sampled part only, as in ct_lock_wait_end. */
void
ct_cond_end(unsigned op, int64_t t0, unsigned handover_op, int64_t handover_delay)
{
	ct_wait_leave();
	double count = 0, delay = 0;
	uint64_t frac = __atomic_load_n(&ct_cfg.mutex_fraction, __ATOMIC_RELAXED);
	int64_t wait = ct_now_ns() - t0;
	bool blk = ct_sample_block(__atomic_load_n(&ct_cfg.block_rate, __ATOMIC_RELAXED), wait,
				   &count, &delay);
	bool mtx = handover_delay > 0 && ct_sample_mutex(frac);
	if (blk || mtx) {
		int saved = errno;
		uintptr_t pcs[CT_STACK_MAX];
		int depth = (int)__atomic_load_n(&ct_cfg.stack_depth, __ATOMIC_RELAXED);
		ct_guard_enter();
		int n = ct_stack_capture(pcs, depth);
		if (blk)
			ct_table_add_lock(&ct_profiles[CT_PROF_BLOCK], op, (uintptr_t)ct_lk.block_obj,
					  CT_LK_COND, pcs, (unsigned)n, count, delay);
		if (mtx)
			ct_table_add_lock(&ct_profiles[CT_PROF_MUTEX], handover_op,
					  (uintptr_t)ct_lk.rel_obj, CT_LK_MUTEX, pcs, (unsigned)n,
					  (double)frac, (double)frac * (double)handover_delay);
		ct_guard_leave();
		if (blk)
			ct_block_record(op, wait, count, delay, n > 0 ? pcs[0] : 0);
		if (mtx)
			ct_holder_record(ct_lk.rel_obj, CT_OP_MUTEX_UNLOCK, n > 0 ? pcs[0] : 0,
					 (double)frac, (double)frac * (double)handover_delay);
		errno = saved;
	}
}
