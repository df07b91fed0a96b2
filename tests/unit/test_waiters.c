/* Holder charging (Go >= 1.22): a release is charged every current
 * waiter's time since the last charge, and nothing twice. */
#include <criterion/criterion.h>

#include "../../core/threads.h"
#include "../../core/waiters.h"

static int dummy_lock, other_lock;


Test(waiters, charge_sums_all_waiters_once)
{
	cr_assert_eq(ct_waiters_init(256), 0);
	int64_t base = 1000000000;
	unsigned n;
	cr_expect_eq(ct_waiters_charge(&dummy_lock, base, &n), 0);
	int h1 = ct_waiters_arrive(&dummy_lock, base, true);
	int h2 = ct_waiters_arrive(&dummy_lock, base + 100, true);
	int h3 = ct_waiters_arrive(&dummy_lock, base + 300, true);
	cr_assert(h1 >= 0 && h2 >= 0 && h3 >= 0);
	cr_expect_eq(ct_waiters_active, 3);
	/* Holder releases at base+1000: 1000 + 900 + 700. */
	cr_expect_eq(ct_waiters_charge(&dummy_lock, base + 1000, &n), 2600);
	cr_expect_eq(n, 3);
	/* h1 acquires; the other two keep waiting until the next release. */
	ct_waiters_leave(h1, base, true);
	cr_expect_eq(ct_waiters_charge(&dummy_lock, base + 1500, &n), 1000);
	cr_expect_eq(n, 2);
	ct_waiters_leave(h2, base + 100, true);
	ct_waiters_leave(h3, base + 300, true);
	cr_expect_eq(ct_waiters_active, 0);
	cr_expect_eq(ct_waiters_charge(&dummy_lock, base + 9999, &n), 0);
	/* Another object is independent. */
	int h4 = ct_waiters_arrive(&other_lock, base + 10000, true);
	int h5 = ct_waiters_arrive(&dummy_lock, base + 10000, true);
	cr_expect_eq(ct_waiters_charge(&dummy_lock, base + 10500, &n), 500);
	ct_waiters_leave(h4, base + 10000, true);
	ct_waiters_leave(h5, base + 10000, true);
	/* A waiter that leaves without a charge (timed out) leaves no trace. */
	int h6 = ct_waiters_arrive(&dummy_lock, base + 20000, true);
	ct_waiters_leave(h6, base + 20000, true);
	cr_expect_eq(ct_waiters_charge(&dummy_lock, base + 30000, &n), 0);
}

Test(waiters, bounded_and_reused)
{
	cr_assert_eq(ct_waiters_init(64), 0);
	static char objs[100000];
	int tracked = 0;
	int handles[1000];
	for (int i = 0; i < 1000; i++) {
		handles[i] = ct_waiters_arrive(&objs[i * 64], 5, true);
		tracked += handles[i] >= 0;
	}
	cr_expect_lt(tracked, 1000);
	cr_expect_gt(ct_waiters_overflow, 0);
	for (int i = 0; i < 1000; i++)
		ct_waiters_leave(handles[i], 5, true);
	cr_expect_eq(ct_waiters_active, 0);
	/* Idle entries are reused by new objects. */
	int reused = 0;
	for (int i = 0; i < 1000; i++) {
		int h = ct_waiters_arrive(&objs[50000 + i * 8], 5, true);
		reused += h >= 0;
		ct_waiters_leave(h, 5, true);
	}
	cr_expect_eq(reused, 1000);
}

/* Mutex and rwlock waiters (counted false) leave the process-wide count
 * alone, which only the spinlock and futex release paths read, and are
 * charged all the same. */
Test(waiters, uncounted_waiters_are_charged)
{
	cr_assert_eq(ct_waiters_init(256), 0);
	int64_t base = 2000000000;
	unsigned n;
	int h1 = ct_waiters_arrive(&dummy_lock, base, false);
	int h2 = ct_waiters_arrive(&dummy_lock, base + 200, true);
	cr_assert(h1 >= 0 && h2 >= 0);
	cr_expect_eq(ct_waiters_active, 1);
	cr_expect_eq(ct_waiters_charge(&dummy_lock, base + 1000, &n), 1800);
	cr_expect_eq(n, 2);
	ct_waiters_leave(h1, base, false);
	cr_expect_eq(ct_waiters_active, 1);
	ct_waiters_leave(h2, base + 200, true);
	cr_expect_eq(ct_waiters_active, 0);
	cr_expect_eq(ct_waiters_charge(&dummy_lock, base + 2000, &n), 0);
}

/* A waiter that got the mutex keeps its registration until its own
 * release (core/event.c "Deferred leave"): that release takes its part
 * out and charges the others, in one step, exactly as a leave when it got
 * the lock followed by a charge at the release. */
Test(waiters, deferred_leave_charges_only_the_others)
{
	cr_assert_eq(ct_waiters_init(256), 0);
	int64_t base = 3000000000;
	unsigned n;
	int h1 = ct_waiters_arrive(&dummy_lock, base, false);
	int h2 = ct_waiters_arrive(&dummy_lock, base + 100, false);
	cr_assert(h1 >= 0 && h2 >= 0);
	/* The holder releases at +1000: 1000 + 900. h1 gets the lock and
	 * holds it 5000 ns, h2 still waiting; h1's release is charged h2's
	 * 5000 since the last charge, not its own hold. */
	cr_expect_eq(ct_waiters_charge(&dummy_lock, base + 1000, &n), 1900);
	cr_expect_eq(ct_waiters_leave_charge(h1, base, &dummy_lock, base + 6000, &n), 5000);
	cr_expect_eq(n, 1);
	/* h2 gets it and releases with nobody else waiting: nothing. */
	cr_expect_eq(ct_waiters_leave_charge(h2, base + 100, &dummy_lock, base + 7000, &n), 0);
	cr_expect_eq(n, 0);
	cr_expect_eq(ct_waiters_charge(&dummy_lock, base + 9000, &n), 0);
	/* A waiter that got the lock before any charge (it was first). */
	int h3 = ct_waiters_arrive(&dummy_lock, base + 10000, false);
	int h4 = ct_waiters_arrive(&dummy_lock, base + 10500, false);
	cr_expect_eq(ct_waiters_leave_charge(h3, base + 10000, &dummy_lock, base + 11000, &n), 500);
	cr_expect_eq(ct_waiters_leave_charge(h4, base + 10500, &dummy_lock, base + 12000, &n), 0);
	cr_expect_eq(ct_waiters_charge(&dummy_lock, base + 20000, &n), 0);
}

/* A kept registration is ended once, by whichever thread claims it (its
 * own at exit, another at an unlock of a mutex it does not own). */
Test(waiters, deferred_entry_ends_once)
{
	cr_assert_eq(ct_waiters_init(256), 0);
	int64_t base = 4000000000;
	unsigned n;
	struct ct_wait_defer d = {0};
	d.h = ct_waiters_arrive(&dummy_lock, base, false);
	d.t0 = base;
	d.obj = &dummy_lock;
	int h2 = ct_waiters_arrive(&dummy_lock, base + 100, false);
	cr_assert(d.h >= 0 && h2 >= 0);
	ct_waiters_defer_end(&d);
	cr_expect_null(d.obj);
	ct_waiters_defer_end(&d); /* nothing left to end */
	/* Only h2 is charged now. */
	cr_expect_eq(ct_waiters_charge(&dummy_lock, base + 1100, &n), 1000);
	cr_expect_eq(n, 1);
	ct_waiters_leave(h2, base + 100, false);
	cr_expect_eq(ct_waiters_charge(&dummy_lock, base + 5000, &n), 0);
}
