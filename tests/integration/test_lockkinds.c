/* Every kind of mutex, rwlock and spinlock (tests/progs/lock_kinds.c):
 * the shim changes no result or errno, records no wait where none can
 * happen (uncontended_*: free locks, owner relocks, dead robust owners,
 * priority-protect mutexes whose ceiling stays in the lock word), and
 * records every wait made by construction (contended_*), with the holder
 * charged (holding_*) and condvar handovers charged (handover_*). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testrun.h"

static const char *const quiet_env[] = {"CONTEND_QUIET=1", NULL};

/* Kinds whose holder is a thread of this process (the process-shared
 * mutexes are held by a child process: that charge lands in the child). */
static const char *const mutex_kinds[] = {
	"normal", "recursive", "errorcheck", "adaptive", "robust", "robust_errorcheck", "pi",
	"pi_errorcheck", "pi_robust", "pp", "pp_recursive", "pshared", "pshared_robust",
	"pshared_pi",
};
static const char *const rw_kinds[] = {"rw_default", "rw_prefer_writer",
				       "rw_prefer_writer_nonrec", "rw_pshared"};
static const char *const spin_kinds[] = {"spin_private", "spin_pshared"};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static bool
starts_with(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* Samples under an uncontended_* frame whose leaf is a lock call (the
 * sleeps and joins the program makes to set a case up are real waits). */
static bool
lock_leaf(const char *f)
{
	return starts_with(f, "pthread_mutex_") || starts_with(f, "pthread_rwlock_") ||
	       starts_with(f, "pthread_spin_") || starts_with(f, "pthread_cond_");
}

static int
false_waits(const struct profile *p, bool any_leaf)
{
	int bad = 0;
	for (size_t i = 0; i < p->nsamples; i++) {
		const struct psample *s = &p->samples[i];
		if (s->nframes == 0 || (!any_leaf && !lock_leaf(s->frames[0])))
			continue;
		for (size_t f = 0; f < s->nframes; f++)
			if (starts_with(s->frames[f], "uncontended_")) {
				cr_log_error("false wait: %s under %s", s->frames[0],
					     f + 1 < s->nframes ? s->frames[f + 1] : s->frames[f]);
				bad++;
				break;
			}
	}
	return bad;
}

static void
expect_wait(const struct profile *p, const char *leaf, const char *prefix, const char *kind)
{
	char fn[96];
	snprintf(fn, sizeof(fn), "%s_%s", prefix, kind);
	struct psum s = profile_sum(p, &(struct stack_match){.leaf = leaf, .contains = fn});
	cr_expect_geq(s.count, 1, "no %s recorded under %s", leaf, fn);
	if (s.count < 1)
		profile_dump(p, fn);
}

Test(lockkinds, every_kind, .timeout = 240)
{
	const char *const args[] = {"20000", NULL};
	struct run plain, shim;
	run_ok(&plain, &(struct run_opts){.prog = "lock_kinds", .args = args, .no_preload = true,
					    .timeout_s = 120});
	run_ok(&shim, &(struct run_opts){.prog = "lock_kinds", .args = args, .env = exact_env,
					   .env2 = quiet_env, .timeout_s = 120});
	cr_expect_str_eq(shim.out, plain.out, "results differ under the shim");
	cr_expect_str_eq(shim.err, "", "stderr under the shim: %s", shim.err);
	bool pp = strstr(plain.out, "pp_fifo = 1\n") != NULL;
	if (!pp)
		cr_log_warn("SCHED_FIFO not allowed: priority-protect mutexes only checked "
			    "for EINVAL and no false waits");

	struct profile blk, mtx;
	if (!run_profile(&shim, NULL, "block", &blk))
		goto out;
	if (!run_profile(&shim, NULL, "mutex", &mtx)) {
		profile_free(&blk);
		goto out;
	}
	cr_expect_eq(false_waits(&blk, false), 0, "waits recorded for calls that cannot wait");
	cr_expect_eq(false_waits(&mtx, true), 0, "contention charged for calls that cannot wait");

	for (size_t i = 0; i < N(mutex_kinds); i++) {
		const char *k = mutex_kinds[i];
		if (starts_with(k, "pp") && !pp)
			continue;
		expect_wait(&blk, "pthread_mutex_lock", "contended", k);
		expect_wait(&blk, "pthread_mutex_timedlock", "contended", k);
		expect_wait(&blk, "pthread_mutex_clocklock", "contended", k);
		expect_wait(&blk, "pthread_mutex_timedlock", "timeout", k);
		expect_wait(&blk, "pthread_mutex_clocklock", "timeout", k);
		if (starts_with(k, "pshared"))
			continue;
		expect_wait(&mtx, "pthread_mutex_unlock", "holding", k);
		expect_wait(&mtx, "pthread_cond_timedwait", "handover", k);
	}
	for (size_t i = 0; i < N(rw_kinds); i++) {
		const char *k = rw_kinds[i];
		static const char *const leaves[] = {
			"pthread_rwlock_rdlock", "pthread_rwlock_wrlock",
			"pthread_rwlock_timedrdlock", "pthread_rwlock_timedwrlock",
			"pthread_rwlock_clockrdlock", "pthread_rwlock_clockwrlock"};
		for (size_t l = 0; l < N(leaves); l++)
			expect_wait(&blk, leaves[l], "contended", k);
		expect_wait(&blk, "pthread_rwlock_timedrdlock", "timeout", k);
		expect_wait(&blk, "pthread_rwlock_timedwrlock", "timeout", k);
		if (strcmp(k, "rw_pshared") != 0)
			expect_wait(&mtx, "pthread_rwlock_unlock", "holding", k);
	}
	for (size_t i = 0; i < N(spin_kinds); i++) {
		expect_wait(&blk, "pthread_spin_lock", "contended", spin_kinds[i]);
		expect_wait(&mtx, "pthread_spin_unlock", "holding", spin_kinds[i]);
	}
	profile_free(&blk);
	profile_free(&mtx);
out:
	run_free(&plain);
	run_free(&shim);
}
