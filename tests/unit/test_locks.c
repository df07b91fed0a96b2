/* core/locks.c: histogram buckets, kind names, the statistics and
 * creation-site tables (issue 14). No preload: the tables are used
 * directly, as the wrappers' slow paths use them. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../../core/locks.h"
#include "../../core/ops.h"
#include "../../core/snapshot.h"

Test(locks, buckets_cover_every_duration_in_order)
{
	cr_expect_eq(ct_lk_bucket(0), 0u);
	cr_expect_eq(ct_lk_bucket(1023), 0u);
	cr_expect_eq(ct_lk_bucket(1024), 1u);
	cr_expect_eq(ct_lk_bucket(INT64_MAX), CT_LK_BUCKETS - 1);
	unsigned last = 0;
	for (int64_t v = 1; v < ((int64_t)1 << 40); v = v * 9 / 8 + 1) {
		unsigned b = ct_lk_bucket(v);
		cr_assert(b >= last, "bucket of %lld went down", (long long)v);
		last = b;
		cr_assert(ct_lk_bucket_lo(b) <= v, "%lld below its bucket's %lld", (long long)v,
			  (long long)ct_lk_bucket_lo(b));
		if (b + 1 < CT_LK_BUCKETS)
			cr_assert(v < ct_lk_bucket_lo(b + 1), "%lld not below the next bucket",
				  (long long)v);
	}
	/* 4 per power of two: a bucket is at most 25 % wider than its start. */
	for (unsigned b = 1; b + 1 < CT_LK_BUCKETS; b++)
		cr_expect(ct_lk_bucket_lo(b + 1) * 4 <= ct_lk_bucket_lo(b) * 5, "bucket %u", b);
}

Test(locks, kind_names)
{
	char buf[48];
	cr_expect_str_eq(ct_lock_kind_name(CT_LK_MUTEX, buf, sizeof(buf)), "mutex");
	cr_expect_str_eq(ct_lock_kind_name(CT_LK_MUTEX | CT_LKF_RECURSIVE, buf, sizeof(buf)),
			 "mutex-recursive");
	cr_expect_str_eq(ct_lock_kind_name(CT_LK_MUTEX | CT_LKF_ROBUST | CT_LKF_PI, buf, sizeof(buf)),
			 "mutex-robust-pi");
	cr_expect_str_eq(ct_lock_kind_name(CT_LK_RWLOCK, buf, sizeof(buf)), "rwlock");
	cr_expect_str_eq(ct_lock_kind_name(CT_LK_COND, buf, sizeof(buf)), "condvar");
	cr_expect_str_eq(ct_lock_kind_name(CT_LK_NONE, buf, sizeof(buf)), "");
	cr_expect_eq(ct_lock_kind_of_op(CT_OP_MUTEX_TIMEDLOCK), CT_LK_MUTEX);
	cr_expect_eq(ct_lock_kind_of_op(CT_OP_SEM_WAIT), CT_LK_SEM);
	cr_expect_eq(ct_lock_kind_of_op(CT_OP_READ), CT_LK_NONE);
}

static const struct ct_lockstat *
find(const struct ct_snapshot *s, uintptr_t obj, uintptr_t site, unsigned role)
{
	for (size_t i = 0; i < s->nlockstats; i++)
		if (s->lockstats[i].obj == obj && s->lockstats[i].site == site &&
		    s->lockstats[i].role == role)
			return &s->lockstats[i];
	return NULL;
}

static const struct ct_locksite *
site_of(const struct ct_snapshot *s, uintptr_t obj)
{
	for (size_t i = 0; i < s->nlocksites; i++)
		if (s->locksites[i].obj == obj)
			return &s->locksites[i];
	return NULL;
}

Test(locks, statistics_per_lock_site_and_role)
{
	static int a, b;
	cr_assert_eq(ct_locks_init(), 0);
	/* 90 waits of 1 ms and 10 of 50 ms at one site, weight 1. */
	for (int i = 0; i < 90; i++)
		ct_locks_add(&a, CT_LK_MUTEX, 0x1000, CT_LR_WAIT, 1, 1000000, 1e6, 0);
	for (int i = 0; i < 10; i++)
		ct_locks_add(&a, CT_LK_MUTEX, 0x1000, CT_LR_WAIT, 1, 50000000, 5e7, 0);
	/* A sampled short wait weighs more (Go's block sampling). */
	ct_locks_add(&a, CT_LK_MUTEX, 0x2000, CT_LR_WAIT, 4, 2500, 10000, 0);
	ct_locks_add(&a, CT_LK_MUTEX, 0x1000, CT_LR_HOLD, 1, 300, 300, 0);
	ct_locks_add(&b, CT_LK_COND, 0x3000, CT_LR_WAIT, 1, 5000, 5000, (uintptr_t)&a);
	ct_locks_created(&b, CT_LK_COND, 0x4000);
	struct ct_snapshot s;
	memset(&s, 0, sizeof(s));
	cr_assert_eq(ct_locks_snapshot(&s), 0);
	const struct ct_lockstat *w = find(&s, (uintptr_t)&a, 0x1000, CT_LR_WAIT);
	cr_assert(w);
	cr_expect_eq(w->events, 100u);
	cr_expect_float_eq(w->count, 100.0, 1e-9);
	cr_expect_float_eq(w->total_ns, 90e6 + 500e6, 1);
	cr_expect_eq(w->max_ns, 50000000);
	cr_expect_float_eq(w->hist[ct_lk_bucket(1000000)], 90.0, 1e-9);
	cr_expect_float_eq(w->hist[ct_lk_bucket(50000000)], 10.0, 1e-9);
	const struct ct_lockstat *w2 = find(&s, (uintptr_t)&a, 0x2000, CT_LR_WAIT);
	cr_assert(w2);
	cr_expect_eq(w2->events, 1u);
	cr_expect_float_eq(w2->count, 4.0, 1e-9);
	cr_expect(find(&s, (uintptr_t)&a, 0x1000, CT_LR_HOLD));
	const struct ct_lockstat *c = find(&s, (uintptr_t)&b, 0x3000, CT_LR_WAIT);
	cr_assert(c);
	cr_expect_eq(c->assoc, (uintptr_t)&a);
	/* a was never init'ed: its first wait named it; b's init replaced
	 * its first wait. */
	const struct ct_locksite *sa = site_of(&s, (uintptr_t)&a), *sb = site_of(&s, (uintptr_t)&b);
	cr_assert(sa && sb);
	cr_expect_eq(sa->how, (unsigned)CT_LS_FIRST);
	cr_expect_eq(sa->site, 0x1000u);
	cr_expect_eq(sb->how, (unsigned)CT_LS_INIT);
	cr_expect_eq(sb->site, 0x4000u);
	ct_snapshot_free(&s);

	/* The fork child starts empty but keeps the creation sites. */
	ct_locks_fork_child();
	memset(&s, 0, sizeof(s));
	cr_assert_eq(ct_locks_snapshot(&s), 0);
	cr_expect_eq(s.nlockstats, 0u);
	cr_expect(site_of(&s, (uintptr_t)&b));
	ct_snapshot_free(&s);
}

Test(locks, full_table_counts_what_it_drops)
{
	cr_assert_eq(ct_locks_init(), 0);
	static char objs[CT_LOCKSTAT_CAP * 2];
	for (size_t i = 0; i < sizeof(objs); i++)
		ct_locks_add(&objs[i], CT_LK_MUTEX, 0x1000, CT_LR_WAIT, 1, 5000, 5000, 0);
	struct ct_snapshot s;
	memset(&s, 0, sizeof(s));
	cr_assert_eq(ct_locks_snapshot(&s), 0);
	cr_expect(s.nlockstats <= CT_LOCKSTAT_CAP);
	cr_expect_eq(s.nlockstats + s.lockstats_dropped, sizeof(objs));
	cr_expect(s.nlocksites <= CT_LOCKSITE_CAP);
	ct_snapshot_free(&s);
}
