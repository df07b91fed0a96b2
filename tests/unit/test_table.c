/* Profile tables: identical stacks merge, distinct ones do not, overflow
 * keeps the totals, and copies are consistent while others record. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdlib.h>

#include "../../core/table.h"

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
