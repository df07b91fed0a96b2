/* The fork protocol (core/fork.h) under stress: a fork storm while each
 * internal lock of the shim is held (tests/progs/fork_storm, through the
 * test seams of libcontend-seams.so), and children made without atfork
 * handlers (_Fork, vfork, posix_spawn: tests/progs/raw_fork); and no
 * thread of ours before it is needed, so that exec'd programs that must
 * be single-threaded (unshare(CLONE_NEWUSER)) still work
 * (tests/progs/lazy_dumper).
 *
 * Each child is given 20 s before it counts as hung (fork_storm kills it),
 * far more than a loaded machine needs, so a failure is a hang, not a
 * slow run. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <string.h>

#include "testrun.h"

/* Every lock named in core/fork.h (enum ct_fork_lock), and none. */
static const char *const storm_locks[] = {
	"none", "dumper_owned", "tables", "waiters", "report_load", "real_resolve", "dl_pass",
};

static const struct {
	const char *lock, *how;
} storm_cases[] = {
	{"none", "fork"},           {"none", "_Fork"},
	{"dumper_owned", "fork"},   {"dumper_owned", "_Fork"},
	{"tables", "fork"},         {"tables", "_Fork"},
	{"waiters", "fork"},        {"waiters", "_Fork"},
	{"report_load", "fork"},    {"report_load", "_Fork"},
	{"real_resolve", "fork"},   {"real_resolve", "_Fork"},
	{"dl_pass", "fork"},        {"dl_pass", "_Fork"},
};

#define STORM_FORKS "40"

ParameterizedTestParameters(fork, storm)
{
	INDEX_PARAMS(storm_cases);
}

/* The storm: every child exits 0 in time, and the children that wrote
 * profiles recorded their own wait with its whole stack (the unwinder and
 * the report library work in the child whatever was loading in the
 * parent). The interval makes the dumper thread run (and hold its lock)
 * in the parent. */
ParameterizedTest(size_t *i, fork, storm, .timeout = 600)
{
	const char *lock = storm_cases[*i].lock, *how = storm_cases[*i].how;
	bool known = false;
	for (size_t k = 0; k < sizeof(storm_locks) / sizeof(storm_locks[0]); k++)
		known |= !strcmp(storm_locks[k], lock);
	cr_assert(known);
	const char *const args[] = {lock, STORM_FORKS, how, "20", NULL};
	const char *const env[] = {"CONTEND_INTERVAL=200ms", "CONTEND_QUIET=1", NULL};
	struct run r;
	run_prog(&r, &(struct run_opts){.prog = "fork_storm", .args = args, .env = env,
					.env2 = exact_env, .out = "c.%p",
					.lib_env = "CONTEND_SEAMS_LIB", .timeout_s = 500});
	cr_assert(!r.timed_out, "%s %s: the storm did not finish", lock, how);
	cr_expect_eq(run_value(&r, NULL, "hangs"), 0, "%s %s: children hung:\n%s", lock, how,
		     r.err);
	cr_expect_eq(run_value(&r, NULL, "failures"), 0, "%s %s: children failed:\n%s", lock,
		     how, r.err);
	run_expect_success(&r);
	if (!strcmp(how, "fork")) {
		/* Children 0 and 20 wrote profiles. */
		int seen = 0;
		for (const char *p = r.out; (p = strstr(p, "dump_child_pid=")); p++) {
			char sub[64];
			snprintf(sub, sizeof(sub), "c.%d", atoi(p + strlen("dump_child_pid=")));
			struct profile prof;
			if (!run_profile(&r, sub, "block", &prof))
				continue;
			struct psum s = profile_sum(&prof, &(struct stack_match){
								   .leaf = "pthread_mutex_lock",
								   .next = "child_wait"});
			cr_expect_gt(s.samples, 0, "%s %s: %s has no child_wait stack", lock, how, sub);
			if (!s.samples)
				profile_dump(&prof, sub);
			profile_free(&prof);
			seen++;
		}
		cr_expect_eq(seen, 2, "%s %s: %d children wrote profiles, expected 2", lock, how,
			     seen);
	}
	run_free(&r);
}

/* _Fork skips the atfork handlers: the child still starts its own profile
 * (its own waits only) in its own directory, and the parent's is intact.
 * vfork and posix_spawn children run as without the shim. */
Test(fork, raw_fork_vfork_spawn, .timeout = 120)
{
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "raw_fork", .env = exact_env, .out = "c.%p"});
	char parent[64], child[64];
	snprintf(parent, sizeof(parent), "c.%d", (int)r.pid);
	snprintf(child, sizeof(child), "c.%lld", run_value(&r, NULL, "raw_child_pid"));
	static const struct {
		const char *has, *lacks;
	} want[] = {{"parent_wait", "child_wait"}, {"child_wait", "parent_wait"}};
	for (int k = 0; k < 2; k++) {
		const char *sub = k == 0 ? parent : child;
		struct profile p;
		if (!run_profile(&r, sub, "block", &p))
			continue;
		struct psum has = profile_sum(&p, &(struct stack_match){.leaf = "pthread_mutex_lock",
								       .next = want[k].has});
		struct psum lacks = profile_sum(&p, &(struct stack_match){.contains = want[k].lacks});
		/* One wait of at least 30 ms (the holder sleeps 30 ms once we wait). */
		expect_ratio(&p, (double)has.delay, 30e6, 0.95, 10, "%s: %s", sub, want[k].has);
		cr_expect_eq(lacks.samples, 0, "%s has %zu samples of %s", sub, lacks.samples,
			     want[k].lacks);
		profile_free(&p);
	}
	struct run plain;
	run_ok(&plain, &(struct run_opts){.prog = "raw_fork", .no_preload = true});
	run_free(&plain);
	run_free(&r);
}

/* CONTEND_INTERVAL and CONTEND_DUMP_SIGNAL start no thread before main:
 * main finds one task and unshare(CLONE_NEWUSER) works as it does without
 * the shim; the snapshots still come, from a thread started once the
 * first is due (interval) or requested (the signal), here by the
 * program's own sleeps: the interval's at the end of a sleep (it holds
 * the sleeps before it), the signal's as the first sleep begins (it was
 * asked for before any: it holds none, and the thread dump shows main). */
static void
check_lazy(const char *const *env, const char *const *args, const char *what, bool asked)
{
	struct run plain;
	run_ok(&plain, &(struct run_opts){.prog = "lazy_dumper",
					    .args = (const char *const[]){"10", NULL},
					    .no_preload = true});
	long long plain_unshare = run_value(&plain, NULL, "unshare");
	run_free(&plain);
	if (plain_unshare != 0)
		cr_skip_test("unshare(CLONE_NEWUSER) fails here without the shim too (errno %lld)",
			     plain_unshare);

	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "lazy_dumper", .args = args, .env = env,
					.env2 = exact_env});
	cr_expect_eq(run_value(&r, NULL, "tasks_at_main"), 1, "%s: threads at main", what);
	cr_expect_eq(run_value(&r, NULL, "unshare"), 0, "%s: unshare(CLONE_NEWUSER) failed", what);
	struct profile p;
	if (run_profile(&r, NULL, asked ? "block" : "block.0001", &p)) {
		struct psum s = profile_sum(&p, &(struct stack_match){.contains = "sleep_slices"});
		cr_expect_gt(s.samples, 0, "%s: no sleep_slices", what);
		profile_free(&p);
	}
	if (asked) {
		char path[PATH_MAX + 32];
		run_path(&r, NULL, "threads.0001.txt", path, sizeof(path));
		char *txt = read_file(path, NULL);
		cr_expect(txt && strstr(txt, "main"), "%s: no snapshot %s:\n%s", what, path,
			  txt ? txt : r.err);
		free(txt);
	}
	run_free(&r);
}

Test(fork, interval_no_thread_before_main, .timeout = 120)
{
	const char *const env[] = {"CONTEND_INTERVAL=100ms", "CONTEND_DUMP_SIGNAL=SIGUSR2",
				   "CONTEND_QUIET=1", NULL};
	/* 100 ms slices until well past the first snapshot (100 ms). */
	check_lazy(env, (const char *const[]){"600", NULL}, "interval", false);
}

Test(fork, dump_signal_single_threaded, .timeout = 120)
{
	const char *const env[] = {"CONTEND_DUMP_SIGNAL=SIGUSR2", "CONTEND_QUIET=1", NULL};
	check_lazy(env, (const char *const[]){"300", "signal", NULL}, "dump signal", true);
}

/* The snapshot the dump signal asks for, taken by the shim's thread as
 * soon as it starts at the first wait of a single-threaded process, lists
 * that process's thread. Its registry slot is claimed lazily, by that
 * wait, after the shim's thread was created: when the new thread ran
 * first (1 run in 4 to 3 in 5 on a loaded 2-core machine) the snapshot
 * had no thread and no threads.0001.txt was written, which is how
 * fork/dump_signal_single_threaded failed now and then. Now the slot is
 * claimed before the thread is created. */
Test(fork, dump_signal_snapshot_lists_the_only_thread, .timeout = 120)
{
	const char *const env[] = {"CONTEND_DUMP_SIGNAL=SIGUSR2", "CONTEND_QUIET=1", NULL};
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "lazy_dumper",
				       .args = (const char *const[]){"2000", "signal-once", NULL},
				       .env = env});
	char path[PATH_MAX + 32], want[64];
	run_path(&r, NULL, "threads.0001.txt", path, sizeof(path));
	char *txt = read_file(path, NULL);
	cr_assert(txt, "no snapshot %s; stderr:\n%s", path, r.err);
	snprintf(want, sizeof(want), "\nthread %d \"lazy_dumper\" [", (int)r.pid);
	cr_expect(strstr(txt, ", 1 threads\n") && strstr(txt, want), "the only thread is not in it:\n%s",
		  txt);
	free(txt);
	run_free(&r);
}

/* The thread is never started from a signal handler (pthread_create
 * there could wait on a lock the interrupted code holds): a handler's
 * blocking call made while a snapshot is due leaves the process
 * single-threaded; main's next one starts it. */
Test(fork, dumper_not_started_in_handler, .timeout = 60)
{
	const char *const env[] = {"CONTEND_INTERVAL=100ms", "CONTEND_QUIET=1", NULL};
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "lazy_dumper",
					.args = (const char *const[]){"handler", NULL}, .env = env,
					.env2 = exact_env});
	cr_expect_eq(run_value(&r, NULL, "tasks_in_handler"), 1,
		     "the shim's thread was started inside a signal handler");
	cr_expect_eq(run_value(&r, NULL, "tasks_after"), 2,
		     "main's blocking call after the handler did not start the shim's thread");
	run_free(&r);
}

/* Threads forking at the same time while the dumper thread runs: glibc
 * runs their atfork handlers side by side, and a flag of the shim shared
 * by all threads left ct_owned_lock held (800 forks of 8 threads hung
 * every time), or made a child look made by _Fork and write nothing. Each
 * child of the second run records a wait and must write it. */
Test(fork, threads_forking_at_once, .timeout = 300)
{
	const char *const env[] = {"CONTEND_INTERVAL=50ms", NULL};
	struct run r;
	run_prog(&r, &(struct run_opts){.prog = "fork_race",
					.args = (const char *const[]){"8", "100", "exit", NULL},
					.env = env, .timeout_s = 120});
	cr_assert(!r.timed_out, "8 threads forking 100 times each hung");
	run_expect_success(&r);
	cr_expect_eq(run_value(&r, NULL, "forks"), 800);
	run_free(&r);

	run_prog(&r, &(struct run_opts){.prog = "fork_race",
					.args = (const char *const[]){"4", "10", "record", NULL},
					.env = env, .env2 = exact_env, .out = "c.%p", .timeout_s = 120});
	cr_assert(!r.timed_out, "4 threads forking 10 recording children each hung");
	run_expect_success(&r);
	cr_expect(!strstr(r.err, "_Fork"), "a child took itself for a _Fork() child:\n%s", r.err);
	int children = 0;
	for (const char *p = r.out; (p = strstr(p, "child=")); p++) {
		char sub[64];
		snprintf(sub, sizeof(sub), "c.%d", atoi(p + strlen("child=")));
		struct profile prof;
		children++;
		if (!run_profile(&r, sub, "block", &prof))
			continue;
		struct psum s = profile_sum(&prof, &(struct stack_match){.contains = "forker"});
		cr_expect_gt(s.samples, 0, "%s has no wait under forker", sub);
		profile_free(&prof);
	}
	cr_expect_eq(children, 40, "%d children said child=", children);
	run_free(&r);
}
