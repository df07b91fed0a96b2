/* Locks of the program's own on syscall(SYS_futex) (interpose/futex.c):
 * the waits in the block profile (leaf futex_wait), the waker charged for
 * them in the mutex profile (leaf futex_wake), glibc's own futexes not
 * counted a second time, and syscall() returning and setting errno as
 * without the shim.
 *
 * Bands as in test_profiles.c (see testprof.h): against what the program
 * asked for and, with only an upper bound, against what it measured. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testrun.h"

struct futex_case {
	const char *name;
	const char *prog;
	const char *args[6];
	int waiters, rounds;
	/* Frames that identify the waiter's and the waker's stacks. */
	const char *waiter_fn, *waker_fn;
	/* A waiter's own unlock wakes the next waiter (the lock programs). */
	bool waiters_wake;
};

static const struct futex_case futex_cases[] = {
	{"futex lock, private", "futex_lock", {"4", "100000", "3", "plain"}, 4, 3,
	 "futex_waiter", "futex_hold_and_sleep", true},
	{"futex lock, bitset realtime", "futex_lock", {"2", "100000", "2", "timed"}, 2, 2,
	 "futex_waiter", "futex_hold_and_sleep", true},
	{"futex lock, shared with timeout", "futex_lock", {"2", "100000", "2", "clock"}, 2, 2,
	 "futex_waiter", "futex_hold_and_sleep", true},
	{"C++20 atomic wait, notify_one", "cxx_atomic_wait", {"1", "200000", "2"}, 1, 2,
	 "contend_test::atomic_waiter", "contend_test::atomic_notifier", false},
	{"C++20 atomic wait, notify_all", "cxx_atomic_wait", {"2", "150000", "2"}, 2, 2,
	 "contend_test::atomic_waiter", "contend_test::atomic_notifier", false},
};

TABLE_TEST(futex, known_waits, futex_cases, c, .timeout = 60)
{
	struct measured w;
	measured_run(&w, &(struct run_opts){.prog = c->prog, .args = c->args, .env = exact_env},
		     NULL, c->name);
	struct profile *mutex = &w.mutex, *block = &w.block;

	/* Every waiter sleeps at least once a round; a spurious wake-up may
	 * add a wait, never time. */
	struct psum b = profile_sum(block, &(struct stack_match){"futex_wait", NULL,
								   c->waiter_fn, NULL});
	int want = c->waiters * c->rounds;
	cr_expect(b.count >= want && b.count <= 2 * want, "%s: %lld futex waits, expected %d",
		  c->name, (long long)b.count, want);
	expect_wait_bands(block, (double)b.delay, w.expected, w.waited, 1.02, "%s: futex_wait delay",
		    c->name);
	/* The holder never waits, and nothing glibc does inside its own
	 * barriers, mutexes and joins shows up as a futex wait. */
	struct psum all = profile_sum(block, &(struct stack_match){"futex_wait", NULL, NULL, NULL});
	cr_expect_eq(all.count, b.count, "%s: %lld futex waits outside %s", c->name,
		     (long long)(all.count - b.count), c->waiter_fn);

	/* The waker is charged once a round with the waiters' time. */
	struct psum m = profile_sum(mutex, &(struct stack_match){"futex_wake", NULL, c->waker_fn,
								   NULL});
	cr_expect_eq(m.count, c->rounds, "%s: waker charged %lld times, expected %d", c->name,
		     (long long)m.count, c->rounds);
	expect_wait_bands(mutex, (double)m.delay, w.expected, w.waited, 1.02, "%s: futex_wake delay",
		    c->name);
	if (c->waiters_wake) {
		/* Each waiter's unlock wakes the next one, which has waited
		 * only since the holder's charge: tiny. */
		struct psum s = profile_sum(mutex, &(struct stack_match){"futex_wake", NULL,
									   c->waiter_fn, NULL});
		expect_ratio(mutex, (double)s.delay, w.expected, 0, 0.5,
			     "%s: the waiters' own wakes", c->name);
	}

	measured_free(&w);
}

/* pthread mutex contention waits on futexes inside glibc, which never
 * calls syscall(): no futex_wait or futex_wake anywhere. */
Test(futex, glibc_locks_not_counted_twice, .timeout = 60)
{
	struct run r;
	struct profile mutex, block;
	const char *const args[] = {"2", "50000", "2", NULL};
	run_ok(&r, &(struct run_opts){.prog = "mutex_hold", .args = args, .env = exact_env});
	cr_assert(run_profile(&r, NULL, "mutex", &mutex));
	cr_assert(run_profile(&r, NULL, "block", &block));
	struct psum lock = profile_sum(&block, &(struct stack_match){"pthread_mutex_lock", NULL,
								      NULL, NULL});
	cr_expect(lock.count > 0, "no pthread_mutex_lock waits at all");
	struct psum w = profile_sum(&block, &(struct stack_match){"futex_wait", NULL, NULL, NULL});
	struct psum k = profile_sum(&mutex, &(struct stack_match){"futex_wake", NULL, NULL, NULL});
	cr_expect_eq(w.count, 0, "%lld futex waits in a pthreads-only program", (long long)w.count);
	cr_expect_eq(k.count, 0, "%lld futex wakes in a pthreads-only program", (long long)k.count);
	profile_free(&mutex);
	profile_free(&block);
	run_free(&r);
}

/* Results and errno the same with and without the shim; the waits that
 * did not wait are not recorded, the timed-out and interrupted ones are. */
Test(futex, same_results, .timeout = 60)
{
	static const char *const varying[] = {"_ns=", NULL};
	static const char *const quiet[] = {"CONTEND_QUIET=1", NULL};
	struct run plain, shim;
	struct profile block;
	run_ok(&plain, &(struct run_opts){.prog = "futex_behave", .no_preload = true});
	run_ok(&shim, &(struct run_opts){.prog = "futex_behave", .env = exact_env,
					   .env2 = quiet});
	char *a = filter_lines(plain.out, varying), *b = filter_lines(shim.out, varying);
	cr_expect_str_eq(b, a, "futex_behave: output differs under the shim");
	cr_expect_str_eq(shim.err, "", "futex_behave: stderr under the shim: %s", shim.err);
	free(a);
	free(b);

	cr_assert(run_profile(&shim, NULL, "block", &block));
	struct psum t = profile_sum(&block, &(struct stack_match){"futex_wait", "timed_out_wait",
								   NULL, NULL});
	cr_expect_eq(t.count, 1, "timed-out waits: %lld", (long long)t.count);
	expect_wait_bands(&block, (double)t.delay, 50e6, (double)run_value(&shim, NULL, "timed_ns"),
			  1.02, "timed-out futex wait");
	struct psum n = profile_sum(&block, &(struct stack_match){"futex_wait", "interrupted_wait",
								   NULL, NULL});
	cr_expect_eq(n.count, 1, "interrupted waits: %lld", (long long)n.count);
	/* No lower bound: the first signal may come before the wait began. */
	cr_expect_gt(n.delay, 0, "interrupted futex wait of 0 ns");
	expect_ratio(&block, (double)n.delay, (double)run_value(&shim, NULL, "interrupted_ns"),
		     BAND_MEASURED_LO, 1.02, "interrupted futex wait vs measured");
	struct psum e = profile_sum(&block, &(struct stack_match){"futex_wait", NULL,
								   "mismatched_wait", NULL});
	struct psum f = profile_sum(&block, &(struct stack_match){"futex_wait", NULL,
								   "futex_errors", NULL});
	cr_expect_eq(e.count + f.count, 0, "%lld futex calls that returned at once counted as waits",
		     (long long)(e.count + f.count));
	profile_free(&block);
	run_free(&plain);
	run_free(&shim);
}

/* futex_more MODE under the shim, exact rates; it must succeed. */
static void
futex_more(struct run *r, const char *mode)
{
	const char *const args[] = {mode, NULL};
	run_prog(r, &(struct run_opts){.prog = "futex_more", .args = args, .env = exact_env});
	run_expect_success(r);
}

/* A wake that moves waiters (FUTEX_CMP_REQUEUE) released them: its caller
 * is charged for their time so far (about 100 ms), and the waiter's whole
 * wait (about 200 ms, 100 of them on the second word) is one futex_wait. */
Test(futex, requeue_charges_the_requeuer, .timeout = 60)
{
	struct run r;
	struct profile mutex, block;
	futex_more(&r, "requeue");
	double requeued = (double)run_value(&r, NULL, "requeued_ns");
	double waited = (double)run_value(&r, NULL, "waited_ns");
	cr_assert(run_profile(&r, NULL, "mutex", &mutex));
	cr_assert(run_profile(&r, NULL, "block", &block));
	struct psum b = profile_sum(&block, &(struct stack_match){"futex_wait", NULL,
								   "requeue_waiter", NULL});
	cr_expect(b.count >= 1 && b.count <= 2, "%lld futex waits", (long long)b.count);
	expect_wait_bands(&block, (double)b.delay, 200e6, waited, 1.02, "requeued futex wait");
	struct psum m = profile_sum(&mutex, &(struct stack_match){"futex_wake", NULL,
								   "requeue_waiters", NULL});
	cr_expect(m.count >= 1, "the requeue was not charged");
	expect_wait_bands(&mutex, (double)m.delay, 100e6, requeued, 1.02, "requeue charge");
	profile_free(&mutex);
	profile_free(&block);
	run_free(&r);
}

/* futex_waitv on two words, woken on the second after about 100 ms: one
 * futex_wait of that length (skipped on kernels before 5.16). */
Test(futex, waitv_is_a_wait, .timeout = 60)
{
	struct run r;
	struct profile block;
	futex_more(&r, "waitv");
	if (strstr(r.out, "waitv=unsupported")) {
		run_free(&r);
		cr_skip_test("no futex_waitv in this kernel");
	}
	cr_expect_eq(run_value(&r, NULL, "index"), 1);
	double waited = (double)run_value(&r, NULL, "waited_ns");
	cr_assert(run_profile(&r, NULL, "block", &block));
	struct psum b = profile_sum(&block, &(struct stack_match){"futex_wait", NULL,
								   "waitv_waiter", NULL});
	cr_expect(b.count >= 1 && b.count <= 2, "%lld futex_waitv waits", (long long)b.count);
	expect_wait_bands(&block, (double)b.delay, 100e6, waited, 1.02, "futex_waitv wait");
	profile_free(&block);
	run_free(&r);
}

/* A shared futex: the waiter is a forked child, this process wakes it.
 * Nobody waited here, so the wake is charged for nothing (waiters are
 * matched within one process), and this process has no futex wait. */
Test(futex, shared_wake_from_another_process, .timeout = 60)
{
	struct run r;
	struct profile mutex, block;
	futex_more(&r, "shared");
	cr_expect_geq(run_value(&r, NULL, "waited_ns"), 100000000 * BAND_ASKED_LO);
	struct psum k = {0}, w = {0};
	char path[PATH_MAX + 64];
	run_path(&r, NULL, "mutex.pb.gz", path, sizeof(path));
	/* No file at all: nothing was charged. */
	if (path_exists(path) && run_profile(&r, NULL, "mutex", &mutex)) {
		k = profile_sum(&mutex, &(struct stack_match){"futex_wake", NULL, NULL, NULL});
		profile_free(&mutex);
	}
	run_path(&r, NULL, "block.pb.gz", path, sizeof(path));
	if (path_exists(path) && run_profile(&r, NULL, "block", &block)) {
		w = profile_sum(&block, &(struct stack_match){"futex_wait", NULL, NULL, NULL});
		profile_free(&block);
	}
	cr_expect_eq(k.count, 0, "the waker was charged for another process's waiter");
	cr_expect_eq(w.count, 0, "a futex wait in the waking process");
	run_free(&r);
}
