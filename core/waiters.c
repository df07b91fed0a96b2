/* The waiter side table; see waiters.h. */
#include <errno.h>
#include <string.h>

#include "clock.h"
#include "forkstate.h"
#include "pages.h"
#include "spin.h"
#include "waiters.h"

#define CT_WAYS 7

struct ct_wentry {
	uintptr_t obj;     /* 0 = never used; kept when idle so probes stay short */
	uint32_t n;        /* waiters now */
	int64_t sum;       /* sum of the waiters' effective start times */
	int64_t last;      /* time of the last charge */
};

struct ct_wbucket {
	ct_spin lock;
	/* Waiters in all the entries, written under the lock and read
	 * without it: a release that finds 0 (a condvar's mutex after its
	 * re-acquire, say) looks at no entry, on the line it reads anyway. */
	uint32_t nw;
	struct ct_wentry e[CT_WAYS];
} __attribute__((aligned(64)));

unsigned ct_waiters_active;
uint64_t ct_waiters_overflow;

static struct ct_wbucket *ct_wb CT_INIT_HOT;
static size_t ct_nwb CT_INIT_HOT, ct_wb_len CT_INIT_HOT;
/* Times are kept relative to this so n * time cannot overflow int64 for
 * any realistic run length and waiter count. */
static int64_t ct_wbase CT_INIT_HOT;

int
ct_waiters_init(size_t objects)
{
	size_t n = 1;
	while (n * CT_WAYS < objects)
		n <<= 1;
	int err = CT_PAGES_MAP_TABLE_WIPED(ct_wb, n);
	if (err)
		return err;
	ct_wb_len = n * sizeof(struct ct_wbucket);
	ct_nwb = n;
	ct_wbase = ct_now_ns();
	return 0;
}

void
ct_waiters_reset(void)
{
	/* Locks released, entries empty. */
	if (ct_wb)
		ct_pages_zero_child(ct_wb, ct_wb_len);
	/* Only if set: a write copies the page from the parent. */
	if (ct_waiters_active)
		ct_waiters_active = 0;
	if (ct_waiters_overflow)
		ct_waiters_overflow = 0;
}

static size_t
ct_bucket_of(const void *obj)
{
	uint64_t a = (uint64_t)(uintptr_t)obj >> 3;
	return (size_t)((a * 0x9e3779b97f4a7c15ULL) >> 20) & (ct_nwb - 1);
}

int
ct_waiters_arrive(const void *obj, int64_t t0, bool counted)
{
	if (!ct_wb)
		return -1;
	uintptr_t key = (uintptr_t)obj;
	size_t b = ct_bucket_of(obj);
	t0 -= ct_wbase;
	struct ct_wbucket *bk = &ct_wb[b];
	int idle = -1, hit = -1;

	ct_spin_lock(&bk->lock);
	for (int i = 0; i < CT_WAYS; i++) {
		if (bk->e[i].obj == key) {
			hit = i;
			break;
		}
		if (idle < 0 && bk->e[i].n == 0)
			idle = i;
	}
	if (hit < 0 && idle >= 0) {
		hit = idle;
		bk->e[hit].obj = key;
		bk->e[hit].n = 0;
		bk->e[hit].sum = 0;
		bk->e[hit].last = INT64_MIN; /* no charge yet */
	}
	if (hit >= 0) {
		struct ct_wentry *e = &bk->e[hit];
		int64_t eff = t0 > e->last ? t0 : e->last;
		__atomic_store_n(&e->n, e->n + 1, __ATOMIC_RELAXED);
		__atomic_store_n(&bk->nw, bk->nw + 1, __ATOMIC_RELAXED);
		e->sum += eff;
		if (counted)
			__atomic_fetch_add(&ct_waiters_active, 1, __ATOMIC_RELAXED);
	}
	ct_spin_unlock(&bk->lock);
	if (hit < 0) {
		__atomic_fetch_add(&ct_waiters_overflow, 1, __ATOMIC_RELAXED);
		return -1;
	}
	return (int)(b * CT_WAYS + (size_t)hit);
}

/* Charges e's waiters for their time since its last charge, up to t
 * (ns since ct_wbase; never before that charge): the delay, with their
 * number in *nwaiters. e->n > 0; its bucket's lock held. */
static inline int64_t
ct_went_charge(struct ct_wentry *e, int64_t t, unsigned *nwaiters)
{
	if (t < e->last)
		t = e->last;
	int64_t delay = (int64_t)e->n * t - e->sum;
	e->sum = (int64_t)e->n * t;
	e->last = t;
	*nwaiters = e->n;
	return delay < 0 ? 0 : delay;
}

void
ct_waiters_leave(int h, int64_t t0, bool counted)
{
	if (h < 0 || !ct_wb)
		return;
	struct ct_wbucket *bk = &ct_wb[(size_t)h / CT_WAYS];
	struct ct_wentry *e = &bk->e[(size_t)h % CT_WAYS];
	t0 -= ct_wbase;
	ct_spin_lock(&bk->lock);
	if (e->n > 0) {
		/* A charge since our arrival moved our start to e->last. */
		e->sum -= t0 > e->last ? t0 : e->last;
		__atomic_store_n(&e->n, e->n - 1, __ATOMIC_RELAXED);
		__atomic_store_n(&bk->nw, bk->nw - 1, __ATOMIC_RELAXED);
		if (e->n == 0)
			e->sum = 0;
		if (counted)
			__atomic_fetch_sub(&ct_waiters_active, 1, __ATOMIC_RELAXED);
	}
	ct_spin_unlock(&bk->lock);
}

int64_t
ct_waiters_charge(const void *obj, int64_t now, unsigned *nwaiters)
{
	*nwaiters = 0;
	if (!ct_wb)
		return 0;
	uintptr_t key = (uintptr_t)obj;
	struct ct_wbucket *bk = &ct_wb[ct_bucket_of(obj)];
	int i;
	/* Look without the lock first: most releases that get here (lock
	 * word says "waiters" after a condvar re-acquire, say) find none. */
	if (__atomic_load_n(&bk->nw, __ATOMIC_RELAXED) == 0)
		return 0;
	for (i = 0; i < CT_WAYS; i++) {
		if (__atomic_load_n(&bk->e[i].obj, __ATOMIC_RELAXED) == key &&
		    __atomic_load_n(&bk->e[i].n, __ATOMIC_RELAXED) > 0)
			break;
	}
	if (i == CT_WAYS)
		return 0;
	int64_t delay = 0;
	if (!now)
		now = ct_now_ns();
	now -= ct_wbase;
	ct_spin_lock(&bk->lock);
	struct ct_wentry *e = &bk->e[i];
	if (e->obj == key && e->n > 0)
		delay = ct_went_charge(e, now, nwaiters);
	ct_spin_unlock(&bk->lock);
	return delay;
}

int64_t
ct_waiters_leave_charge(int h, int64_t t0, const void *obj, int64_t now, unsigned *nwaiters)
{
	*nwaiters = 0;
	if (h < 0 || !ct_wb)
		return ct_waiters_charge(obj, now, nwaiters);
	uintptr_t key = (uintptr_t)obj;
	struct ct_wbucket *bk = &ct_wb[(size_t)h / CT_WAYS];
	struct ct_wentry *e = &bk->e[(size_t)h % CT_WAYS];
	/* The clock before the lock when somebody else waits (the entry
	 * counts the caller too); inside it only if one arrived since. */
	if (!now && __atomic_load_n(&e->n, __ATOMIC_RELAXED) > 1)
		now = ct_now_ns();
	t0 -= ct_wbase;
	int64_t delay = 0;
	bool mine;
	ct_spin_lock(&bk->lock);
	mine = e->obj == key && e->n > 0;
	if (mine) {
		e->sum -= t0 > e->last ? t0 : e->last;
		__atomic_store_n(&e->n, e->n - 1, __ATOMIC_RELAXED);
		__atomic_store_n(&bk->nw, bk->nw - 1, __ATOMIC_RELAXED);
		if (e->n == 0) {
			e->sum = 0;
		} else {
			if (!now)
				now = ct_now_ns();
			delay = ct_went_charge(e, now - ct_wbase, nwaiters);
		}
	}
	ct_spin_unlock(&bk->lock);
	if (!mine) /* not where it was left (cannot happen): charge as usual */
		return ct_waiters_charge(obj, now, nwaiters);
	return delay;
}

void
ct_waiters_defer_end(struct ct_wait_defer *d)
{
	const void *obj = __atomic_load_n(&d->obj, __ATOMIC_ACQUIRE);
	if (!obj || obj == CT_DEFER_CLAIMED ||
	    !__atomic_compare_exchange_n(&d->obj, &obj, CT_DEFER_CLAIMED, false, __ATOMIC_ACQUIRE,
					 __ATOMIC_RELAXED))
		return;
	int h = d->h;
	int64_t t0 = d->t0;
	__atomic_store_n(&d->obj, NULL, __ATOMIC_RELEASE);
	ct_waiters_leave(h, t0, false);
}

#ifdef CT_TEST_SEAMS
void
ct_waiters_test_hold(long hold_us)
{
	for (size_t b = 0; b < ct_nwb; b++)
		ct_spin_lock(&ct_wb[b].lock);
	ct_forkstate_test_sleep_us(hold_us);
	for (size_t b = 0; b < ct_nwb; b++)
		ct_spin_unlock(&ct_wb[b].lock);
}
#endif
