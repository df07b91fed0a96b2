/* core/locks.c: histogram buckets, kind names, the statistics and
 * creation-site tables (issue 14). No preload: the tables are used
 * directly, as the wrappers' slow paths use them. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "../../core/locks.h"
#include "../../core/ops.h"
#include "../../core/snapshot.h"
#include "testlib.h"

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

static long
minor_faults(void)
{
	struct rusage ru;
	cr_assert_eq(getrusage(RUSAGE_SELF, &ru), 0);
	return ru.ru_minflt;
}

/* A fork-per-connection child records a wait or two and snapshots both
 * tables at exit: the snapshot and the child's fresh start map in the
 * pages of the entries in use, not the 4 MiB statistics table (1024
 * pages, each mapped in by a mere read) nor the 320 KiB site table (80
 * pages, each copied when the child writes to it). Page faults count
 * what is touched, whatever the machine's load. */
Test(locks, fork_child_snapshot_maps_only_entries_in_use)
{
	static uint64_t objs[64];
	cr_assert_eq(ct_locks_init(), 0);
	/* The parent's locks, created all over the site table. */
	for (size_t i = 0; i < 64; i++)
		ct_locks_created(&objs[i], CT_LK_MUTEX, 0x1000 + i);
	ct_locks_add(&objs[0], CT_LK_MUTEX, 0x2000, CT_LR_WAIT, 1, 5000, 5000, 0);
	long f0 = minor_faults();
	ct_locks_fork_child();
	ct_locks_add(&objs[1], CT_LK_MUTEX, 0x3000, CT_LR_WAIT, 1, 5000, 5000, 0);
	struct ct_snapshot s;
	memset(&s, 0, sizeof(s));
	cr_assert_eq(ct_locks_snapshot(&s), 0);
	long faults = minor_faults() - f0;
	cr_expect_eq(s.nlockstats, 1u);
	cr_expect_eq(s.nlocksites, 64u, "the parent's creation sites are kept");
	cr_expect(find(&s, (uintptr_t)&objs[1], 0x3000, CT_LR_WAIT));
	/* One entry (1 KiB, maybe two pages), the copies, the stack. */
	cr_expect_leq(faults, 24, "%ld page faults for one entry", faults);
	ct_snapshot_free(&s);
}

/* ---- snapshots take no lock a recording thread takes (core/seqcount.h) ---- */

static int lk_stop, lk_torn, lk_copies;
/* Eight bytes apart, so each has a bucket of its own in the site table. */
#define LK_N 1000
static uint64_t lk_objs[LK_N];

/* Copies over and over; every entry it sees is whole: weight-1 events,
 * so count = events = the histogram's sum. */
static void *
lk_copier(void *arg)
{
	while (!__atomic_load_n(&lk_stop, __ATOMIC_ACQUIRE)) {
		struct ct_snapshot s;
		memset(&s, 0, sizeof(s));
		if (ct_locks_snapshot(&s) != 0)
			abort();
		for (size_t i = 0; i < s.nlockstats; i++) {
			const struct ct_lockstat *e = &s.lockstats[i];
			double h = 0;
			for (unsigned b = 0; b < CT_LK_BUCKETS; b++)
				h += e->hist[b];
			if (e->count != (double)e->events || h != e->count)
				__atomic_store_n(&lk_torn, 1, __ATOMIC_RELAXED);
		}
		ct_snapshot_free(&s);
		__atomic_fetch_add(&lk_copies, 1, __ATOMIC_RELAXED);
	}
	return arg;
}

/* The copier is stopped (a signal parks it, as a preemption would) at
 * many points of many snapshots; each time this thread records into
 * entries all over both tables, which would spin for good on a lock the
 * stopped snapshot held (the old copy held each stripe while copying it;
 * the test's timeout then fails it). Totals exact after. */
Test(locks, snapshot_stopped_anywhere_holds_no_recording_lock, .timeout = 120)
{
	cr_assert_eq(ct_locks_init(), 0);
	for (size_t i = 0; i < LK_N; i++) {
		ct_locks_created(&lk_objs[i], CT_LK_MUTEX, 0x5000 + i);
		ct_locks_add(&lk_objs[i], CT_LK_MUTEX, 0x1000 + 16 * (i % 7), CT_LR_WAIT, 1, 5000,
			     5000, 0);
	}
	uint64_t added = LK_N;
	park_install(SIGUSR1);
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, lk_copier, NULL), 0);
	for (int stop = 0; stop < 300; stop++) {
		struct timespec ts = {0, 100 * 1000};
		nanosleep(&ts, NULL);
		park_thread(th, SIGUSR1);
		for (size_t i = stop % 10; i < LK_N; i += 10) {
			ct_locks_add(&lk_objs[i], CT_LK_MUTEX, 0x1000 + 16 * (i % 7), CT_LR_WAIT, 1,
				     5000, 5000, 0);
			ct_locks_created(&lk_objs[i], CT_LK_MUTEX, 0x5000 + i);
			added++;
		}
		unpark_thread();
	}
	__atomic_store_n(&lk_stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	cr_expect_eq(lk_torn, 0, "a snapshot saw an entry in the middle of an update");
	struct ct_snapshot s;
	memset(&s, 0, sizeof(s));
	cr_assert_eq(ct_locks_snapshot(&s), 0);
	uint64_t events = 0;
	for (size_t i = 0; i < s.nlockstats; i++)
		events += s.lockstats[i].events;
	cr_expect_eq(events + s.lockstats_dropped, added);
	size_t named = 0;
	for (size_t i = 0; i < LK_N; i++) {
		const struct ct_locksite *ls = site_of(&s, (uintptr_t)&lk_objs[i]);
		named += ls && ls->site == 0x5000 + i && ls->how == CT_LS_INIT;
	}
	cr_expect_eq(named, LK_N);
	cr_log_info("%d snapshots around 300 stops", lk_copies);
	ct_snapshot_free(&s);
}

/* A dump's snapshot carries the creation sites of the locks it refers to
 * (records, statistics, the threads' waits and a condition wait's mutex),
 * not the whole table: a fork child inherits hundreds of sites it would
 * otherwise read from its parent's pages at every exit. */
Test(locks, snapshot_sites_are_those_referred_to)
{
	cr_assert_eq(ct_locks_init(), 0);
	static pthread_mutex_t a, b, m;
	static pthread_cond_t c;
	ct_locks_created(&a, CT_LK_MUTEX, 0x1000);
	ct_locks_created(&b, CT_LK_MUTEX, 0x2000);
	ct_locks_created(&c, CT_LK_COND, 0x3000);
	ct_locks_created(&m, CT_LK_MUTEX, 0x4000);
	struct ct_snapshot s;
	memset(&s, 0, sizeof(s));
	struct ct_record recs[2] = {{.obj = (uintptr_t)&a}, {.obj = (uintptr_t)&a}};
	s.prof[CT_PROF_MUTEX].records = recs;
	s.prof[CT_PROF_MUTEX].nrecords = 2;
	struct ct_thread_snap th = {.obj = (uintptr_t)&c, .aux = (uintptr_t)&m};
	s.threads = &th;
	s.nthreads = 1;
	cr_assert_eq(ct_locks_snapshot_sites(&s), 0);
	cr_expect_eq(s.nlocksites, 3u);
	const struct ct_locksite *sa = site_of(&s, (uintptr_t)&a);
	cr_expect(sa && sa->site == 0x1000 && sa->how == CT_LS_INIT);
	cr_expect(site_of(&s, (uintptr_t)&c));
	cr_expect(site_of(&s, (uintptr_t)&m));
	cr_expect(!site_of(&s, (uintptr_t)&b), "a site nothing refers to");
	free(s.locksites);
	/* The whole table is still there for ct_locks_snapshot. */
	memset(&s, 0, sizeof(s));
	cr_assert_eq(ct_locks_snapshot(&s), 0);
	cr_expect(site_of(&s, (uintptr_t)&b));
	ct_snapshot_free(&s);
}
