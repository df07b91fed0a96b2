/* What the profiles say about scenarios with waits known by construction
 * (tests/progs): whose stack is charged, under which leaf, how much and
 * how often; exact (every event) and sampled.
 *
 * Tolerances hold on a loaded 2-core machine: sleeps only overrun, so a
 * delay is checked against the constructed value from below and, loosely,
 * from above, and against the waits the program measured itself with a
 * tight upper bound (testprof.h: BAND_*). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>

#include "testrun.h"

/* One scenario program and what each profile must show. */
struct scenario_case {
	const char *name;
	const char *prog;
	const char *args[7];
	const char *after; /* cxx_locks prints three scenarios: which one */
	/* Mutex profile: the holder's stack and its number of contentions
	 * (one per round); leaf NULL = no holder to charge. */
	struct stack_match mutex;
	int mutex_count;
	/* The waiters' own unlocks: only what others waited since the last
	 * charge, which is tiny here (Go >= 1.22 semantics). */
	struct stack_match mutex_small;
	/* Block profile: the waiters' stack and their number of waits. */
	struct stack_match block;
	int block_count;
	/* A call that cannot block here (the holder's own lock, the last
	 * arrival at a barrier): it must not be counted as a contention. */
	struct stack_match not_blocked;
};

#define W4 "4", "100000", "3" /* 4 waiters, 100 ms, 3 rounds */
/* Leaf and the frame right under it; leaf and a frame anywhere; none. */
#define AT(leaf, next) {leaf, next, NULL, NULL}
#define ANY(leaf, fn) {leaf, NULL, fn, NULL}
#define NONE {NULL, NULL, NULL, NULL}

static const struct scenario_case scenario_cases[] = {
	{"mutex", "mutex_hold", {W4},  NULL,
	 AT("pthread_mutex_unlock", "hold_and_sleep"), 3,
	 AT("pthread_mutex_unlock", "waiter_lock"),
	 AT("pthread_mutex_lock", "waiter_lock"), 12,
	 AT("pthread_mutex_lock", "hold_and_sleep")},
	{"rwlock writer holds", "rwlock_hold", {"wr", W4}, NULL,
	 AT("pthread_rwlock_unlock", "writer_hold_and_sleep"), 3,
	 AT("pthread_rwlock_unlock", "reader_rdlock"),
	 AT("pthread_rwlock_rdlock", "reader_rdlock"), 12,
	 AT("pthread_rwlock_wrlock", "writer_hold_and_sleep")},
	{"rwlock reader holds", "rwlock_hold", {"rd", "2", "100000", "3"}, NULL,
	 AT("pthread_rwlock_unlock", "reader_hold_and_sleep"), 3,
	 AT("pthread_rwlock_unlock", "writer_wrlock"),
	 AT("pthread_rwlock_wrlock", "writer_wrlock"), 6,
	 AT("pthread_rwlock_rdlock", "reader_hold_and_sleep")},
	{"spinlock", "spin_hold", {"1", "100000", "3"}, NULL,
	 AT("pthread_spin_unlock", "spin_hold_and_sleep"), 3,
	 AT("pthread_spin_unlock", "spin_waiter"),
	 AT("pthread_spin_lock", "spin_waiter"), 3,
	 AT("pthread_spin_lock", "spin_hold_and_sleep")},
	{"cond signal", "cond_wait", {"signal", W4}, NULL,
	 NONE, 0,
	 AT("pthread_mutex_unlock", "cond_waiter"),
	 AT("pthread_cond_wait", "cond_waiter"), 12,
	 AT("pthread_mutex_lock", "cond_signaller")},
	{"cond handover", "cond_wait", {"handover", W4}, NULL,
	 AT("pthread_cond_wait", "wait_holder"), 3,
	 AT("pthread_mutex_unlock", "handover_locker"),
	 AT("pthread_mutex_lock", "handover_locker"), 12,
	 AT("pthread_mutex_lock", "wait_holder")},
	{"semaphore", "sem_wait", {W4}, NULL,
	 NONE, 0, NONE,
	 AT("sem_wait", "sem_waiter"), 12, NONE},
	{"barrier", "barrier_wait", {W4}, NULL,
	 NONE, 0, NONE,
	 AT("pthread_barrier_wait", "barrier_early"), 12,
	 /* The last arrival completes the round and never waits. */
	 AT("pthread_barrier_wait", "barrier_late")},
	{"join", "join_wait", {"100000", "3"}, NULL,
	 NONE, 0, NONE,
	 AT("pthread_join", "join_waiter"), 3, NONE},
	/* The timed and clock flavours of the same waits, with deadlines
	 * that never expire: 2 waiters, 100 ms, 2 rounds. */
#define W2 "2", "100000", "2"
	{"mutex timedlock", "mutex_hold", {W2, "timed"}, NULL,
	 AT("pthread_mutex_unlock", "hold_and_sleep"), 2, NONE,
	 AT("pthread_mutex_timedlock", "waiter_lock"), 4, NONE},
	{"mutex clocklock", "mutex_hold", {W2, "clock"}, NULL,
	 AT("pthread_mutex_unlock", "hold_and_sleep"), 2, NONE,
	 AT("pthread_mutex_clocklock", "waiter_lock"), 4, NONE},
	{"rwlock timedrdlock", "rwlock_hold", {"wr", W2, "timed"}, NULL,
	 AT("pthread_rwlock_unlock", "writer_hold_and_sleep"), 2, NONE,
	 AT("pthread_rwlock_timedrdlock", "reader_rdlock"), 4, NONE},
	{"rwlock clockrdlock", "rwlock_hold", {"wr", W2, "clock"}, NULL,
	 AT("pthread_rwlock_unlock", "writer_hold_and_sleep"), 2, NONE,
	 AT("pthread_rwlock_clockrdlock", "reader_rdlock"), 4, NONE},
	{"rwlock timedwrlock", "rwlock_hold", {"rd", W2, "timed"}, NULL,
	 AT("pthread_rwlock_unlock", "reader_hold_and_sleep"), 2, NONE,
	 AT("pthread_rwlock_timedwrlock", "writer_wrlock"), 4, NONE},
	{"rwlock clockwrlock", "rwlock_hold", {"rd", W2, "clock"}, NULL,
	 AT("pthread_rwlock_unlock", "reader_hold_and_sleep"), 2, NONE,
	 AT("pthread_rwlock_clockwrlock", "writer_wrlock"), 4, NONE},
	{"cond timedwait", "cond_wait", {"signal", W2, "timed"}, NULL, NONE, 0, NONE,
	 AT("pthread_cond_timedwait", "cond_waiter"), 4, NONE},
	{"cond clockwait", "cond_wait", {"signal", W2, "clock"}, NULL, NONE, 0, NONE,
	 AT("pthread_cond_clockwait", "cond_waiter"), 4, NONE},
	{"sem timedwait", "sem_wait", {W2, "timed"}, NULL, NONE, 0, NONE,
	 AT("sem_timedwait", "sem_waiter"), 4, NONE},
	{"sem clockwait", "sem_wait", {W2, "clock"}, NULL, NONE, 0, NONE,
	 AT("sem_clockwait", "sem_waiter"), 4, NONE},
	{"timedjoin", "join_wait", {"100000", "2", "timed"}, NULL, NONE, 0, NONE,
	 AT("pthread_timedjoin_np", "join_waiter"), 2, NONE},
	{"clockjoin", "join_wait", {"100000", "2", "clock"}, NULL, NONE, 0, NONE,
	 AT("pthread_clockjoin_np", "join_waiter"), 2, NONE},
	/* C++: the library's inline wrappers sit between the leaf and
	 * our function, so match anywhere on the stack. */
	{"std::mutex", "cxx_locks", {"2", "100000", "2"}, "mutex:",
	 ANY("pthread_mutex_unlock", "contend_test::cxx_mutex_hold"), 2,
	 ANY("pthread_mutex_unlock", "contend_test::cxx_mutex_wait"),
	 ANY("pthread_mutex_lock", "contend_test::cxx_mutex_wait"), 4,
	 ANY("pthread_mutex_lock", "contend_test::cxx_mutex_hold")},
	{"std::shared_mutex", "cxx_locks", {"2", "100000", "2"}, "shared_mutex:",
	 ANY("pthread_rwlock_unlock", "contend_test::cxx_shared_hold"), 2,
	 ANY("pthread_rwlock_unlock", "contend_test::cxx_shared_wait"),
	 ANY("pthread_rwlock_rdlock", "contend_test::cxx_shared_wait"), 4,
	 ANY("pthread_rwlock_wrlock", "contend_test::cxx_shared_hold")},
	{"std::condition_variable", "cxx_locks", {"2", "100000", "2"}, "condition_variable:",
	 NONE, 0, NONE,
	 ANY("pthread_cond_wait", "contend_test::cxx_cv_wait"), 4,
	 ANY("pthread_mutex_lock", "contend_test::cxx_cv_notify")},
};

TABLE_TEST(profiles, scenario, scenario_cases, c, .timeout = 60)
{
	struct measured w;
	measured_run(&w, &(struct run_opts){.prog = c->prog, .args = c->args, .env = exact_env},
		     c->after, c->name);
	struct profile *mutex = &w.mutex, *block = &w.block;
	double expected = w.expected, waited = w.waited;

	if (c->mutex.leaf) {
		struct psum s = profile_sum(mutex, &c->mutex);
		cr_expect_eq(s.count, c->mutex_count, "%s: holder contentions %lld, expected %d",
			     c->name, (long long)s.count, c->mutex_count);
		/* Waiters are charged from when they started waiting, so the
		 * holder never gets more than they measured. */
		expect_wait_bands(mutex, (double)s.delay, expected, waited, 1.02, "%s: holder delay",
			    c->name);
	}
	if (c->mutex_small.leaf) {
		struct psum s = profile_sum(mutex, &c->mutex_small);
		expect_ratio(mutex, (double)s.delay, expected, 0, 0.5, "%s: waiters' own unlocks",
			     c->name);
	}
	struct psum b = profile_sum(block, &c->block);
	cr_expect_eq(b.count, c->block_count, "%s: waits %lld, expected %d", c->name,
		     (long long)b.count, c->block_count);
	expect_wait_bands(block, (double)b.delay, expected, waited, 1.02, "%s: block delay", c->name);
	if (c->not_blocked.leaf) {
		struct psum n = profile_sum(block, &c->not_blocked);
		cr_expect_eq(n.count, 0, "%s: %lld contentions of %s <- %s, which never blocks",
			     c->name, (long long)n.count, c->not_blocked.leaf,
			     c->not_blocked.next ? c->not_blocked.next : c->not_blocked.contains);
	}

	measured_free(&w);
}

/* Both files: Go's layout for contention profiles (pprof-format.md 2/3). */
Test(profiles, format, .timeout = 60)
{
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "mutex_hold", .args = (const char *[]){"2", "20000", "1", NULL},
					.env = exact_env});
	static const char *const kinds[] = {"mutex", "block"};
	for (int k = 0; k < 2; k++) {
		struct profile p;
		cr_assert(run_profile(&r, NULL, kinds[k], &p));
		cr_expect_eq(p.nsample_types, 2, "%s: %zu sample types", kinds[k], p.nsample_types);
		cr_expect_str_eq(p.type[0], "contentions");
		cr_expect_str_eq(p.unit[0], "count");
		cr_expect_str_eq(p.type[1], "delay");
		cr_expect_str_eq(p.unit[1], "nanoseconds");
		cr_expect_str_eq(p.period_type ? p.period_type : "(none)", "contentions");
		cr_expect_str_eq(p.period_unit ? p.period_unit : "(none)", "count");
		cr_expect_eq(p.period, 1, "%s: period %lld", kinds[k], (long long)p.period);
		cr_expect_gt(p.nsamples, 0, "%s: no samples", kinds[k]);
		for (size_t i = 0; i < p.nsamples; i++) {
			cr_expect_gt(p.samples[i].nframes, 1, "%s: sample %zu has no stack", kinds[k], i);
			cr_expect_geq(p.samples[i].count, 1);
			cr_expect_geq(p.samples[i].delay, 0);
		}
		profile_free(&p);
	}
	run_free(&r);
}

/* Each timed wait times out after a known time; each is its own leaf. */
Test(profiles, timed_waits, .timeout = 60)
{
	static const struct {
		const char *leaf, *fn;
	} waits[] = {
		{"pthread_mutex_timedlock", "timed_mutex_timedlock"},
		{"pthread_mutex_clocklock", "timed_mutex_clocklock"},
		{"pthread_rwlock_timedrdlock", "timed_rwlock_timedrdlock"},
		{"pthread_rwlock_timedwrlock", "timed_rwlock_timedwrlock"},
		{"pthread_rwlock_clockrdlock", "timed_rwlock_clockrdlock"},
		{"pthread_rwlock_clockwrlock", "timed_rwlock_clockwrlock"},
		{"pthread_cond_timedwait", "timed_cond_timedwait"},
		{"pthread_cond_clockwait", "timed_cond_clockwait"},
		{"sem_timedwait", "timed_sem_timedwait"},
		{"sem_clockwait", "timed_sem_clockwait"},
		{"pthread_timedjoin_np", "timed_timedjoin"},
		{"pthread_clockjoin_np", "timed_clockjoin"},
	};
	struct run r;
	struct profile block;
	run_ok(&r, &(struct run_opts){.prog = "timed_waits", .env = exact_env});
	double timeout = (double)run_value(&r, NULL, "timeout_ns");
	cr_assert(run_profile(&r, NULL, "block", &block));
	for (size_t i = 0; i < sizeof(waits) / sizeof(waits[0]); i++) {
		char key[64];
		snprintf(key, sizeof(key), "%s_ns", waits[i].fn);
		double measured = (double)run_value(&r, NULL, key);
		struct psum s = profile_sum(&block, &(struct stack_match){.leaf = waits[i].leaf, .next = waits[i].fn});
		cr_expect_eq(s.count, 1, "%s <- %s: %lld waits, expected 1", waits[i].leaf,
			     waits[i].fn, (long long)s.count);
		expect_ratio(&block, (double)s.delay, timeout, BAND_ASKED_LO, BAND_ASKED_HI, "%s vs its time-out",
			     waits[i].leaf);
		expect_ratio(NULL, (double)s.delay, measured, BAND_MEASURED_LO, 1.02, "%s vs measured",
			     waits[i].fn);
	}
	profile_free(&block);
	run_free(&r);
}

/* Sampling: many contended rounds; the scaled totals must agree with the
 * waits. Go's rules: 1 in N unlocks with values times N; waits shorter
 * than the rate kept with probability wait/rate and scaled up.
 *
 * The holder's count rests on rounds/N sampled unlocks (k ~ Poisson(l)):
 * the band is 5 standard deviations of that estimate (1 +- 5/sqrt(l)),
 * never narrower than SAMPLED_LO..SAMPLED_HI, so a correct shim fails it
 * about once in 10^6 runs while the errors it is for stay far outside (an
 * unscaled sample is N x too small, a charge counted twice 2 x too large,
 * a lost one 0). The default fraction (100) gives l = 100 with 10^4
 * rounds: band 0.5..1.6.
 *
 * The holder's delay has heavier tails than its count: a round in which
 * the holder was preempted carries tens of ms, and if it is one of the
 * few sampled its weight is N x that (a 2000-round run at fraction 100
 * gave 0.5 x and 1.3 x). So with few samples the delay is checked per
 * sampled contention, which does not depend on how many were sampled: at
 * least SAMPLED_LO x what each round constructs (waiters x hold: every
 * waiter is blocked for the whole hold), and the k samples' unscaled sum
 * at most what the waiters measured in all rounds. Its total is checked
 * only in the case with enough samples (and long enough holds) for the
 * tails to average; that case catches a delay scaled twice.
 * The block profile keeps every wait longer than the rate with its own
 * weight (count 1), so its totals are checked directly. */
#define SAMPLED_LO 0.6
#define SAMPLED_HI 1.6
struct sampled_case {
	const char *name;
	const char *env[3];
	const char *args[4];
	bool check_holder_total; /* enough samples for the holder's delay total */
};

static const struct sampled_case sampled_cases[] = {
	/* Defaults (fraction 100, block rate 1 ms): waits of about 0.3 ms
	 * are kept with probability ~0.3 and scaled; 1 in 100 unlocks. */
	{"defaults", {NULL}, {"2", "200", "10000"}, false},
	/* 1 in 4 unlocks (500 samples); waits of 2 ms kept with probability
	 * 0.4. */
	{"fraction 4, rate 5 ms", {"CONTEND_MUTEX_FRACTION=4", "CONTEND_BLOCK_RATE=5000000"},
	 {"2", "2000", "2000"}, true},
};

/* Ratio bounds for an estimate resting on `lambda` expected samples. */
static void
sampled_band(double lambda, double *lo, double *hi)
{
	double sd5 = lambda > 0 ? 5.0 / sqrt(lambda) : 1.0;
	*lo = fmin(SAMPLED_LO, fmax(0.0, 1.0 - sd5));
	*hi = fmax(SAMPLED_HI, 1.0 + sd5);
}

TABLE_TEST(profiles, sampled, sampled_cases, c, .timeout = 120)
{
	struct measured w;
	measured_run(&w, &(struct run_opts){.prog = "mutex_hold", .args = c->args, .env = c->env,
					    .timeout_s = 100},
		     NULL, c->name);
	double waited = w.waited, expected = w.expected;
	double rounds = atof(c->args[2]), waiters = atof(c->args[0]);
	/* The fraction in force, as the profile states it (its period is 1,
	 * as Go's: the values are already scaled). */
	double fraction = (double)profile_comment_num(&w.mutex, "fraction");
	cr_assert(fraction >= 1, "%s: the mutex profile's comments state no fraction", c->name);

	struct psum m = profile_sum(&w.mutex, &(struct stack_match)AT("pthread_mutex_unlock", "hold_and_sleep"));
	double lo, hi;
	sampled_band(rounds / fraction, &lo, &hi);
	expect_ratio(&w.mutex, (double)m.count, rounds, lo, hi, "%s: holder contentions (fraction %.0f)",
		     c->name, fraction);
	if (m.count > 0) {
		double k = (double)m.count / fraction, per = (double)m.delay / (double)m.count;
		cr_expect(per >= SAMPLED_LO * expected / rounds && per * k <= 1.05 * waited,
			  "%s: holder delay per contention %.0f ns over %.0f samples, not within %.2f x "
			  "%.0f (constructed) .. %.0f ns measured in all rounds",
			  c->name, per, k, SAMPLED_LO, expected / rounds, waited);
	}
	if (c->check_holder_total)
		cr_expect(m.delay >= lo * expected && m.delay <= hi * waited,
			  "%s: holder delay %lld ns, not within %.2f x %.0f (constructed) .. %.2f x %.0f "
			  "(measured)", c->name, (long long)m.delay, lo, expected, hi, waited);
	struct psum b = profile_sum(&w.block, &(struct stack_match)AT("pthread_mutex_lock", "waiter_lock"));
	cr_expect(b.delay >= SAMPLED_LO * expected && b.delay <= SAMPLED_HI * waited,
		  "%s: block delay %lld ns, not within %.2f x %.0f (constructed) .. %.2f x %.0f "
		  "(measured)", c->name, (long long)b.delay, SAMPLED_LO, expected, SAMPLED_HI, waited);
	expect_ratio(NULL, (double)b.count, rounds * waiters, SAMPLED_LO, SAMPLED_HI, "%s: block contentions",
		     c->name);

	measured_free(&w);
}

/* std::timed_mutex::try_lock_for on a held mutex: libstdc++ calls
 * pthread_mutex_clocklock, which times out after 50 ms. */
Test(profiles, cxx_timed_mutex, .timeout = 60)
{
	struct run r;
	struct profile block;
	run_ok(&r, &(struct run_opts){.prog = "cxx_locks",
					.args = (const char *[]){"1", "10000", "1", NULL},
					.env = exact_env});
	double measured = (double)run_value(&r, NULL, "try_for_ns");
	cr_assert(run_profile(&r, NULL, "block", &block));
	struct psum s = profile_sum(&block, &(struct stack_match){.leaf = "pthread_mutex_clocklock",
							       .contains = "contend_test::cxx_try_for"});
	cr_expect_eq(s.count, 1, "try_lock_for: %lld contentions", (long long)s.count);
	expect_ratio(&block, (double)s.delay, 50e6, BAND_ASKED_LO, BAND_ASKED_HI, "try_lock_for vs its time-out");
	expect_ratio(NULL, (double)s.delay, measured, BAND_MEASURED_LO, 1.02, "try_lock_for vs measured");
	profile_free(&block);
	run_free(&r);
}

/* More distinct stacks than CONTEND_TABLE_SIZE: the overflow is folded
 * into one "[libcontend: table full]" sample and no time is lost. */
Test(profiles, table_overflow, .timeout = 60)
{
	/* CONTEND_IO=0: only the joins, not the sleeps of the joined. */
	static const char *const env[] = {"CONTEND_TABLE_SIZE=64", "CONTEND_BLOCK_RATE=1",
					  "CONTEND_IO=0", NULL};
	struct run r;
	struct profile block;
	run_ok(&r, &(struct run_opts){.prog = "many_stacks",
					.args = (const char *[]){"50", "2000", NULL}, .env = env});
	double waited = (double)run_value(&r, NULL, "waited_ns");
	long long stacks = run_value(&r, NULL, "stacks");
	cr_assert(run_profile(&r, NULL, "block", &block));
	struct psum all = profile_sum(&block, &(struct stack_match){0});
	struct psum full = profile_sum(&block, &(struct stack_match){.leaf = "[libcontend: table full]"});
	struct psum kept = profile_sum(&block, &(struct stack_match){.leaf = "pthread_join"});
	cr_expect_eq(all.count, stacks, "%lld joins counted, %lld made", (long long)all.count, stacks);
	cr_expect_leq(kept.samples, 64, "more samples than CONTEND_TABLE_SIZE");
	cr_expect_gt(full.count, 0, "no table-full sample with %lld stacks in a table of 64", stacks);
	cr_expect_eq(kept.count + full.count, all.count);
	expect_ratio(&block, (double)all.delay, waited, BAND_MEASURED_LO, 1.02, "all joins, overflow included");
	profile_free(&block);
	run_free(&r);
}

/* A library dlopen()ed after the shim started: its frames are named and
 * its Mapping is in the profile. */
Test(profiles, dlopened_library, .timeout = 60)
{
	char lib[PATH_MAX];
	prog_path(lib, sizeof(lib), "libdl_hold.so");
	struct run r;
	struct profile mutex, block;
	run_ok(&r, &(struct run_opts){.prog = "dlopen_prog",
					.args = (const char *[]){lib, "2", "100000", "2", NULL},
					.env = exact_env});
	double expected = (double)run_value(&r, NULL, "expected_ns");
	cr_assert(run_profile(&r, NULL, "mutex", &mutex));
	cr_assert(run_profile(&r, NULL, "block", &block));
	struct psum m = profile_sum(&mutex, &(struct stack_match)AT("pthread_mutex_unlock",
								   "dl_hold_and_sleep"));
	struct psum b = profile_sum(&block, &(struct stack_match)AT("pthread_mutex_lock",
								   "dl_waiter_lock"));
	expect_ratio(&mutex, (double)m.delay, expected, BAND_ASKED_LO, BAND_ASKED_HI, "dl_hold_and_sleep");
	expect_ratio(&block, (double)b.delay, expected, BAND_ASKED_LO, BAND_ASKED_HI, "dl_waiter_lock");
	cr_expect(profile_has_mapping(&mutex, "libdl_hold.so"), "no Mapping for libdl_hold.so");
	profile_free(&mutex);
	profile_free(&block);
	run_free(&r);
}

/* Every primitive contended at once, many short waits: the program's
 * results stay right (same_results checks them against a run without the
 * shim), every sample is sane, and holders are never charged more than
 * their waiters waited: each charge is a part of a registered waiter's
 * wait, and the block profile has each of those waits in full. */
Test(profiles, stress_invariants, .timeout = 120)
{
	static const char *const unlocks[] = {"pthread_mutex_unlock", "pthread_rwlock_unlock",
					      "pthread_spin_unlock", "pthread_cond_wait"};
	static const char *const locks[] = {"pthread_mutex_lock", "pthread_rwlock_rdlock",
					    "pthread_rwlock_wrlock", "pthread_spin_lock"};
	struct run r;
	struct profile mutex, block;
	run_ok(&r, &(struct run_opts){.prog = "stress", .env = exact_env, .timeout_s = 100});
	cr_assert(run_profile(&r, NULL, "mutex", &mutex));
	cr_assert(run_profile(&r, NULL, "block", &block));
	const struct profile *both[] = {&mutex, &block};
	for (int k = 0; k < 2; k++)
		for (size_t i = 0; i < both[k]->nsamples; i++) {
			const struct psample *s = &both[k]->samples[i];
			cr_expect(s->count >= 1 && s->delay >= 0 && s->nframes >= 2,
				  "%s sample %zu: count %lld delay %lld, %zu frames", k ? "block" : "mutex",
				  i, (long long)s->count, (long long)s->delay, s->nframes);
		}
	double charged = 0, waited = 0;
	for (size_t i = 0; i < 4; i++) {
		charged += (double)profile_sum(&mutex, &(struct stack_match){.leaf = unlocks[i]}).delay;
		waited += (double)profile_sum(&block, &(struct stack_match){.leaf = locks[i]}).delay;
	}
	cr_expect_gt(charged, 0, "no holder was charged");
	cr_expect(charged <= waited * 1.01 + 1e5, "holders charged %.0f ns, waiters waited %.0f ns",
		  charged, waited);
	profile_free(&mutex);
	profile_free(&block);
	run_free(&r);
}

/* Function names are plain: a name from a .dynsym (glibc's when its
 * debug information is not installed, or not read: the C runtime is named
 * from its symbol tables) drops its symbol version, so that
 * "__libc_start_main@GLIBC_2.2.5" is "__libc_start_main", the name the
 * DWARF has and the one -focus and -ignore are written with. */
Test(profiles, names_carry_no_symbol_version, .timeout = 60)
{
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "mutex_hold", .args = (const char *[]){"2", "20000", "1", NULL},
					.env = exact_env});
	struct profile p;
	cr_assert(run_profile(&r, NULL, "block", &p));
	bool start_main = false;
	for (size_t i = 0; i < p.nsamples; i++)
		for (size_t j = 0; j < p.samples[i].nframes; j++) {
			const char *f = p.samples[i].frames[j];
			cr_expect(!strchr(f, '@'), "a frame named with its symbol version: %s", f);
			start_main |= !strcmp(f, "__libc_start_main");
		}
	cr_expect(start_main, "no __libc_start_main frame");
	if (!start_main)
		profile_dump(&p, "block");
	profile_free(&p);
	run_free(&r);
}
