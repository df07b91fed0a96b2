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
	/* Which of the slot's wdefer entries this thread may have filled
	 * (bit i: wdefer[i]); a hint that spares the release paths their
	 * loop: an entry another thread ended reads NULL. */
	unsigned defer_mask;
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

/* Deferred leave. A mutex waiter that got the lock keeps its waiter-table
 * registration (the entry counts it as one of the mutex's waiters) until
 * it releases the mutex, where the release's own charge ends it in the
 * same hold of the bucket lock (ct_waiters_leave_charge): its leave was
 * a bucket lock, and the transfer of a line the releasing thread had just
 * written, inside the critical section it had just entered. The charge
 * stays exact: nobody else charges a mutex while its owner holds it, and
 * the owner's release takes its own part out before charging the rest,
 * exactly as a leave when it got the lock would have. Only where the
 * release is sure to be seen: a wait whose mutex word still says
 * "waiters" (CT_LKF_HOLD_TRACKABLE: its final unlock takes the slow
 * path, or a condition wait's handover), by a thread whose exit is seen
 * (a registry slot). The rest of the ways a held mutex stops being held
 * end it too: an unlock by a thread that does not own it (glibc allows
 * it for normal mutexes; ct_lock_defer_end_foreign), an unlock the shim
 * does not record (a signal handler), the thread's exit, a fork child.
 * When the thread's CT_WAIT_DEFERS entries are taken, the wait leaves at
 * once as before. */

/* Moves the registration of the lock wait that just ended to the slot's
 * deferred entries. False when it cannot (no slot, none free). Under the
 * guard, so a signal handler's ct_handler_enter never sees it in both. */
static bool
ct_lock_defer(void)
{
	struct ct_thread_slot *s = ct_self.slot;
	if (!s || ct_lk.wait_counted)
		return false;
	for (unsigned i = 0; i < CT_WAIT_DEFERS; i++) {
		struct ct_wait_defer *d = &s->wdefer[i];
		if (__atomic_load_n(&d->obj, __ATOMIC_RELAXED))
			continue;
		d->h = ct_lk.wait_h;
		d->t0 = ct_lk.wait_t0;
		__atomic_store_n(&d->obj, ct_lk.wait_obj, __ATOMIC_RELEASE);
		ct_lk.defer_mask |= 1u << i;
		ct_lk.wait_h = -1;
		return true;
	}
	return false;
}

/* This thread's deferred registration on obj, claimed for it to end (its
 * handle and start in *h, *t0), or false if it has none. Under the
 * guard. */
static bool
ct_lock_defer_take(const void *obj, int *h, int64_t *t0)
{
	struct ct_thread_slot *s = ct_self.slot;
	unsigned mask = ct_lk.defer_mask;
	if (!s) {
		ct_lk.defer_mask = 0;
		return false;
	}
	while (mask) {
		unsigned i = (unsigned)__builtin_ctz(mask);
		mask &= mask - 1;
		struct ct_wait_defer *d = &s->wdefer[i];
		const void *o = __atomic_load_n(&d->obj, __ATOMIC_ACQUIRE);
		if (o != obj) {
			if (!o) /* ended by another thread */
				ct_lk.defer_mask &= ~(1u << i);
			continue;
		}
		/* Only this thread writes h and t0; another may claim obj. */
		*h = d->h;
		*t0 = d->t0;
		ct_lk.defer_mask &= ~(1u << i);
		return __atomic_compare_exchange_n(&d->obj, &o, NULL, false, __ATOMIC_ACQ_REL,
						   __ATOMIC_RELAXED);
	}
	return false;
}

void
ct_lock_defer_end(const void *obj)
{
	if (CT_LIKELY(!ct_lk.defer_mask))
		return;
	int h;
	int64_t t0;
	ct_guard_enter();
	if (ct_lock_defer_take(obj, &h, &t0))
		ct_waiters_leave(h, t0, false);
	ct_guard_leave();
}

void
ct_lock_defer_end_foreign(const void *obj, int owner)
{
	if (owner == ct_tid()) {
		ct_lock_defer_end(obj);
		return;
	}
	ct_guard_enter();
	struct ct_thread_slot *s = ct_threads_find_tid(owner);
	for (unsigned i = 0; s && i < CT_WAIT_DEFERS; i++)
		if (__atomic_load_n(&s->wdefer[i].obj, __ATOMIC_ACQUIRE) == obj)
			ct_waiters_defer_end(&s->wdefer[i]);
	ct_guard_leave();
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
	/* A registration of obj still kept from an earlier wait (its release
	 * went unseen) ends first: one waiter, one registration. */
	if (CT_UNLIKELY(ct_lk.defer_mask)) {
		int h;
		int64_t t0;
		if (ct_lock_defer_take(obj, &h, &t0))
			ct_waiters_leave(h, t0, false);
	}
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
	/* Got a mutex whose release will be seen: leave at that release
	 * (see "Deferred leave" above). */
	if (!(w->kind & CT_LKF_HOLD_TRACKABLE) || ct_lk.wait_h < 0 || !ct_lock_defer())
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
	int h;
	int64_t t0, delay;
	ct_guard_enter();
	/* This thread's own registration, kept since it got obj, ends in
	 * the same hold of the bucket lock as the charge of the others. */
	if (ct_lk.defer_mask && ct_lock_defer_take(obj, &h, &t0))
		delay = ct_waiters_leave_charge(h, t0, obj, now, &n);
	else
		delay = ct_waiters_charge(obj, now, &n);
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
