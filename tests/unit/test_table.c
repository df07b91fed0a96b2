/* Profile tables: identical stacks merge, distinct ones do not, overflow
 * keeps the totals, and copies are consistent while others record. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#include <time.h>

#include "../../core/pages.h"
#include "../../core/table.h"
#include "testlib.h"

static double
total_delay(const struct ct_profile_snapshot *s)
{
	double d = 0;
	for (size_t i = 0; i < s->nrecords; i++)
		d += s->records[i].delay_ns;
	return d;
}

Test(table, merge_and_distinct)
{
	struct ct_table t;
	cr_assert_eq(ct_table_init(&t, 128), 0);
	cr_expect(ct_table_empty(&t));
	uintptr_t a[] = {0x1000, 0x2000, 0x3000}, b[] = {0x1000, 0x2000, 0x3001};
	ct_table_add(&t, CT_OP_MUTEX_UNLOCK, a, 3, 1, 100);
	ct_table_add(&t, CT_OP_MUTEX_UNLOCK, a, 3, 2, 50);
	ct_table_add(&t, CT_OP_MUTEX_UNLOCK, b, 3, 1, 7);
	ct_table_add(&t, CT_OP_MUTEX_LOCK, a, 3, 1, 9);  /* same stack, other leaf */
	ct_table_add(&t, CT_OP_MUTEX_UNLOCK, a, 2, 1, 11); /* prefix is another stack */
	struct ct_profile_snapshot s = {0};
	cr_assert_eq(ct_table_copy(&t, &s), 0);
	cr_expect_eq(s.nrecords, 4);
	int found = 0;
	for (size_t i = 0; i < s.nrecords; i++) {
		const struct ct_record *r = &s.records[i];
		if (r->op == CT_OP_MUTEX_UNLOCK && r->depth == 3 && r->pc[2] == 0x3000) {
			cr_expect_eq(r->count, 3);
			cr_expect_eq(r->delay_ns, 150);
			found = 1;
		}
	}
	cr_expect(found);
	cr_expect_eq(total_delay(&s), 177);
	cr_expect_eq(s.overflow_events, 0);
	free(s.records);
	ct_table_destroy(&t);
}

Test(table, overflow_keeps_totals)
{
	struct ct_table t;
	cr_assert_eq(ct_table_init(&t, 64), 0); /* one record per stripe */
	double want = 0;
	for (uintptr_t i = 1; i <= 5000; i++) {
		uintptr_t pc[1] = {i * 16};
		ct_table_add(&t, CT_OP_MUTEX_LOCK, pc, 1, 1, (double)i);
		want += (double)i;
	}
	struct ct_profile_snapshot s = {0};
	cr_assert_eq(ct_table_copy(&t, &s), 0);
	cr_expect_leq(s.nrecords, 65);
	cr_expect_gt(s.overflow_events, 0);
	cr_expect_eq(total_delay(&s), want);
	int ovf = 0;
	for (size_t i = 0; i < s.nrecords; i++)
		ovf += s.records[i].op == CT_OP_TABLE_FULL && s.records[i].depth == 0;
	cr_expect_eq(ovf, 1);
	free(s.records);
	ct_table_reset(&t);
	cr_expect(ct_table_empty(&t));
	cr_assert_eq(ct_table_copy(&t, &s), 0);
	cr_expect_eq(s.nrecords, 0);
	free(s.records);
	ct_table_destroy(&t);
}

static struct ct_table shared;

static void *
adder(void *arg)
{
	uintptr_t base = (uintptr_t)arg;
	for (int i = 0; i < 20000; i++) {
		uintptr_t pc[2] = {base, 0x100 + (uintptr_t)(i % 50)};
		ct_table_add(&shared, CT_OP_MUTEX_LOCK, pc, 2, 1, 1);
	}
	return NULL;
}

Test(table, concurrent_adds_lose_nothing)
{
	cr_assert_eq(ct_table_init(&shared, 4096), 0);
	pthread_t th[4];
	for (uintptr_t i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, adder, (void *)(0x9000 + i));
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	struct ct_profile_snapshot s = {0};
	cr_assert_eq(ct_table_copy(&shared, &s), 0);
	cr_expect_eq(s.nrecords, 200);
	cr_expect_eq(total_delay(&s), 80000);
	free(s.records);
	ct_table_destroy(&shared);
}

/* ---- copies take no lock a recording thread takes (core/table.h) ---- */

/* Fills t with n stacks {0x1000 + 16 k, 0x77}, event k carrying delay
 * k + 1, each stack recorded k % 3 + 1 times. */
static void
fill_known(struct ct_table *t, unsigned n, double *total)
{
	*total = 0;
	for (unsigned k = 0; k < n; k++) {
		uintptr_t pc[2] = {0x1000 + 16 * (uintptr_t)k, 0x77};
		for (unsigned j = 0; j <= k % 3; j++) {
			ct_table_add(t, CT_OP_MUTEX_LOCK, pc, 2, 1, (double)(k + 1));
			*total += (double)(k + 1);
		}
	}
}

static void
hold_all(struct ct_table *t, bool hold)
{
	for (int s = 0; s < CT_TABLE_STRIPES; s++) {
		if (hold)
			cr_assert(ct_spin_trylock(&t->lock[s]));
		else
			ct_spin_unlock(&t->lock[s]);
	}
	if (hold)
		cr_assert(ct_spin_trylock(&t->ovf_lock));
	else
		ct_spin_unlock(&t->ovf_lock);
}

/* The copying thread itself holds every stripe and overflow lock: a copy
 * that took any of them would spin (the old copy gave a stripe up after a
 * bounded spin, losing its records). */
Test(table, copy_with_every_recording_lock_held, .timeout = 60)
{
	struct ct_table t;
	cr_assert_eq(ct_table_init(&t, 64), 0); /* one record a stripe: overflow too */
	double total;
	fill_known(&t, 3000, &total);
	hold_all(&t, true);
	struct ct_profile_snapshot s = {0};
	cr_assert_eq(ct_table_copy(&t, &s), 0);
	hold_all(&t, false);
	cr_expect_eq(total_delay(&s), total);
	cr_expect_gt(s.overflow_events, 0);
	cr_expect_eq(s.unsettled, 0);
	double count = 0;
	for (size_t i = 0; i < s.nrecords; i++)
		count += s.records[i].count;
	cr_expect_eq(count, 1000 * (1 + 2 + 3)); /* 1, 2 or 3 events each */
	free(s.records);
	ct_table_destroy(&t);
}

/* A copier stopped anywhere in a copy (a signal parks it there, as a
 * preemption would) holds no recording lock: every stripe lock and the
 * overflow lock are free, and events recorded meanwhile on every stripe go
 * in. Checked at many points of many copies of a big table. */
static struct ct_table big;
static int copier_stop, copies;

static void *
copier(void *arg)
{
	while (!__atomic_load_n(&copier_stop, __ATOMIC_ACQUIRE)) {
		struct ct_profile_snapshot s = {0};
		cr_assert_eq(ct_table_copy(&big, &s), 0);
		free(s.records);
		__atomic_fetch_add(&copies, 1, __ATOMIC_RELAXED);
	}
	return arg;
}

Test(table, copier_stopped_mid_copy_holds_no_recording_lock, .timeout = 120)
{
	cr_assert_eq(ct_table_init(&big, 65536), 0);
	double total;
	fill_known(&big, 50000, &total);
	park_install(SIGUSR1);
	pthread_t th;
	cr_assert_eq(pthread_create(&th, NULL, copier, NULL), 0);
	double added = 0;
	for (int stops = 0; stops < 300; stops++) {
		struct timespec ts = {0, 200 * 1000};
		nanosleep(&ts, NULL);
		park_thread(th, SIGUSR1);
		for (int s = 0; s < CT_TABLE_STRIPES; s++) {
			cr_assert(ct_spin_trylock(&big.lock[s]), "stripe %d held by a stopped copy", s);
			ct_spin_unlock(&big.lock[s]);
		}
		cr_assert(ct_spin_trylock(&big.ovf_lock));
		ct_spin_unlock(&big.ovf_lock);
		/* Old and new stacks alike, all over the table. */
		for (unsigned k = 0; k < 200; k++) {
			uintptr_t pc[2] = {0x1000 + 16 * (uintptr_t)(k * 997 % 60000), 0x77};
			ct_table_add(&big, CT_OP_MUTEX_LOCK, pc, 2, 1, 1);
			added += 1;
		}
		unpark_thread();
	}
	__atomic_store_n(&copier_stop, 1, __ATOMIC_RELEASE);
	pthread_join(th, NULL);
	cr_log_info("%d copies around 300 stops", copies);
	struct ct_profile_snapshot s = {0};
	cr_assert_eq(ct_table_copy(&big, &s), 0);
	cr_expect_eq(total_delay(&s), total + added);
	free(s.records);
	ct_table_destroy(&big);
}

/* Copies taken while threads record: every record's values are those of
 * whole events (delay = (k + 1) x count for stack k; the overflow record's
 * count = its events), never fewer than in the copy before, and the copy
 * after the threads stopped has exactly every event. */
#define REC_STACKS 1000
#define REC_THREADS 4
#define REC_EVENTS 200000
static struct ct_table rec_t;
static int rec_running;

static void *
recorder(void *arg)
{
	uintptr_t id = (uintptr_t)arg;
	for (unsigned i = 0; i < REC_EVENTS; i++) {
		unsigned k = (unsigned)((i * 7 + id * 131) % REC_STACKS);
		uintptr_t pc[2] = {0x1000 + 16 * (uintptr_t)k, 0x77};
		ct_table_add(&rec_t, CT_OP_MUTEX_LOCK, pc, 2, 1, (double)(k + 1));
	}
	__atomic_fetch_sub(&rec_running, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void
check_whole_events(const struct ct_profile_snapshot *s, double *prev, double *count)
{
	*count = 0;
	for (size_t i = 0; i < s->nrecords; i++) {
		const struct ct_record *r = &s->records[i];
		*count += r->count;
		if (r->op == CT_OP_TABLE_FULL) {
			cr_assert_eq(r->count, (double)s->overflow_events);
			continue;
		}
		unsigned k = (unsigned)((r->pc[0] - 0x1000) / 16);
		cr_assert_lt(k, REC_STACKS);
		cr_assert_eq(r->pc[1], 0x77);
		cr_assert_eq(r->delay_ns, (double)(k + 1) * r->count, "stack %u: %g events, %g ns", k,
			     r->count, r->delay_ns);
		cr_assert_geq(r->count, prev[k]);
		prev[k] = r->count;
	}
}

Test(table, copies_while_recording_are_whole_events_and_exact_after, .timeout = 120)
{
	/* 10 records a stripe for 1000 stacks: some go to the overflow. */
	cr_assert_eq(ct_table_init(&rec_t, 640), 0);
	static double prev[REC_STACKS];
	rec_running = REC_THREADS;
	pthread_t th[REC_THREADS];
	for (uintptr_t i = 0; i < REC_THREADS; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, recorder, (void *)i), 0);
	int copies = 0;
	double count;
	while (__atomic_load_n(&rec_running, __ATOMIC_ACQUIRE) > 0) {
		struct ct_profile_snapshot s = {0};
		cr_assert_eq(ct_table_copy(&rec_t, &s), 0);
		check_whole_events(&s, prev, &count);
		cr_assert_leq(count, REC_THREADS * REC_EVENTS);
		cr_assert_eq(s.unsettled, 0);
		free(s.records);
		copies++;
	}
	for (int i = 0; i < REC_THREADS; i++)
		pthread_join(th[i], NULL);
	struct ct_profile_snapshot s = {0};
	cr_assert_eq(ct_table_copy(&rec_t, &s), 0);
	check_whole_events(&s, prev, &count);
	cr_expect_eq(count, REC_THREADS * REC_EVENTS);
	cr_expect_gt(s.overflow_events, 0);
	double want = 0;
	for (uintptr_t id = 0; id < REC_THREADS; id++)
		for (unsigned i = 0; i < REC_EVENTS; i++)
			want += (double)((i * 7 + id * 131) % REC_STACKS + 1);
	cr_expect_eq(total_delay(&s), want);
	cr_log_info("%d copies while recording", copies);
	free(s.records);
	ct_table_destroy(&rec_t);
}

/* A writer that stops in the middle of an event for good (a thread of the
 * parent in a fork child) delays a copy by CT_SEQ_SETTLE_NS, no more:
 * the record is taken as it is and counted as unsettled. */
Test(table, writer_stuck_mid_event_delays_a_copy_boundedly, .timeout = 60)
{
	struct ct_table t;
	cr_assert_eq(ct_table_init(&t, 64), 0);
	uintptr_t pc[1] = {0x4000};
	ct_table_add(&t, CT_OP_MUTEX_LOCK, pc, 1, 1, 5);
	struct ct_record *r = NULL;
	/* By its in-use bit: the stripes without records have no access. */
	for (size_t i = 0; i < t.cap; i++)
		if (t.inuse[i / 64] >> (i % 64) & 1)
			r = &t.recs[i];
	cr_assert(r);
	r->seq++; /* what ct_record_bump does first */
	struct ct_profile_snapshot s = {0};
	cr_assert_eq(ct_table_copy(&t, &s), 0);
	cr_expect_eq(s.unsettled, 1);
	cr_expect_eq(s.nrecords, 1);
	cr_expect_eq(total_delay(&s), 5);
	free(s.records);
	r->seq++;
	cr_assert_eq(ct_table_copy(&t, &s), 0);
	cr_expect_eq(s.unsettled, 0);
	free(s.records);
	ct_table_destroy(&t);
}

/* Pages of the table's mapping that are mapped in (the zero page counts:
 * reading an untouched page maps it). */
static size_t
resident_pages(const struct ct_table *t)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), n = (t->map_len + pg - 1) / pg, in = 0;
	unsigned char *v = malloc(n);
	cr_assert(v && mincore(t->recs, t->map_len, v) == 0);
	for (size_t i = 0; i < n; i++)
		in += v[i] & 1;
	free(v);
	return in;
}

/* A process that recorded a few stacks (a fork-per-connection child)
 * copies its table at exit: the copy reads the records in use, not the
 * whole mapping (4096 records of about 1 KiB each by default). */
Test(table, copy_reads_only_records_in_use)
{
	struct ct_table t;
	cr_assert_eq(ct_table_init(&t, 4096), 0);
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), all = (t.map_len + pg - 1) / pg;
	uintptr_t a[] = {0x1000, 0x2000}, b[] = {0x1000, 0x2008};
	ct_table_add(&t, CT_OP_MUTEX_UNLOCK, a, 2, 1, 100);
	ct_table_add(&t, CT_OP_MUTEX_UNLOCK, b, 2, 1, 50);
	struct ct_profile_snapshot s = {0};
	cr_assert_eq(ct_table_copy(&t, &s), 0);
	cr_expect_eq(s.nrecords, 2);
	cr_expect_eq(s.records[0].delay_ns + s.records[1].delay_ns, 150);
	/* Two records of ~1 KiB (each may straddle two pages) and the bitmap
	 * of records in use (512 bytes, maybe straddling two pages). */
	cr_expect_leq(resident_pages(&t), 2 * 2 + 2, "%zu of %zu pages read",
		      resident_pages(&t), all);
	free(s.records);
	/* After a reset (the fork child's fresh start) only the bitmap. */
	ct_table_reset(&t);
	cr_assert_eq(ct_table_copy(&t, &s), 0);
	cr_expect_eq(s.nrecords, 0);
	cr_expect_leq(resident_pages(&t), 2);
	free(s.records);
	ct_table_destroy(&t);
}

/* The records as a fork child finds them, before its own reset: the
 * number of records, or -1. */
static int
records_in_fork_child(struct ct_table *t)
{
	pid_t pid = fork();
	if (pid == 0) {
		struct ct_profile_snapshot s = {0};
		_exit(ct_table_copy(t, &s) == 0 ? (int)s.nrecords : 100);
	}
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) == 100)
		return -1;
	return WEXITSTATUS(st);
}

/* The records are address space until their stripe takes a record, so
 * that strict overcommit (vm.overcommit_memory=2) charges a process
 * nothing for stripes it never used (pages.h ct_pages_reserve_wiped):
 * only the in-use bits and the stripes written are open, and a fork
 * child keeps them open (and wiped). */
Test(table, stripes_open_as_they_take_records)
{
	struct ct_table t;
	char p[8];
	cr_assert_eq(ct_table_init(&t, 4096), 0);
	cr_expect_str_eq(page_prot(t.inuse, p), "rw-p");
	size_t first = (size_t)-1;
	for (size_t st = 0; st < CT_TABLE_STRIPES; st++)
		cr_expect_str_eq(page_prot(t.recs + st * t.per + t.per / 2, p), "---p", "stripe %zu",
				 st);
	uintptr_t a[] = {0x1000, 0x2000};
	ct_table_add(&t, CT_OP_MUTEX_UNLOCK, a, 2, 1, 100);
	for (size_t i = 0; i < t.cap && first == (size_t)-1; i++)
		if (t.inuse[i / 64] >> (i % 64) & 1)
			first = i;
	cr_assert_neq(first, (size_t)-1);
	size_t stripe = first / t.per, open = 0;
	cr_expect_str_eq(page_prot(t.recs + first, p), "rw-p");
	for (size_t st = 0; st < CT_TABLE_STRIPES; st++)
		open += !strcmp(page_prot(t.recs + st * t.per + t.per / 2, p), "rw-p");
	cr_expect_eq(open, 1, "stripes open: %zu", open);
	cr_expect(t.open[stripe]);
	cr_expect_eq(records_in_fork_child(&t), 0);
	ct_table_add(&t, CT_OP_MUTEX_UNLOCK, a, 2, 1, 100);
	struct ct_profile_snapshot s = {0};
	cr_assert_eq(ct_table_copy(&t, &s), 0);
	cr_expect_eq(s.nrecords, 1);
	cr_expect_eq(s.records[0].delay_ns, 200);
	free(s.records);
	ct_table_destroy(&t);
}

/* The kernel hands a fork child the records zeroed (MADV_WIPEONFORK: the
 * fork copies none of their pages), except around the fork that makes
 * the copy a fatal dump writes from; the parent keeps its own. */
Test(table, fork_child_finds_the_records_wiped_unless_kept)
{
	struct ct_table t;
	cr_assert_eq(ct_table_init(&t, 4096), 0);
	uintptr_t a[] = {0x1000, 0x2000}, b[] = {0x1000, 0x2008};
	ct_table_add(&t, CT_OP_MUTEX_UNLOCK, a, 2, 1, 100);
	ct_table_add(&t, CT_OP_MUTEX_UNLOCK, b, 2, 1, 50);
	cr_expect_eq(records_in_fork_child(&t), 0);
	ct_pages_keep_begin();
	cr_expect_eq(records_in_fork_child(&t), 2, "the fatal dump's copy lost the records");
	ct_pages_keep_end();
	cr_expect_eq(records_in_fork_child(&t), 0, "wiping did not resume after the copy");
	struct ct_profile_snapshot s = {0};
	cr_assert_eq(ct_table_copy(&t, &s), 0);
	cr_expect_eq(s.nrecords, 2);
	free(s.records);
	ct_table_destroy(&t);
}
