/* The thread dump (threads.txt, threads.pb.gz, threadcreate.pb.gz) on
 * programs whose threads are stuck, leaked or deadlocked by construction,
 * and the crash dump. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "helpers.h"


/* Runs threads_leaks with mode (NULL, "abba", "crash", "own") and returns
 * threads.txt (malloc'd, or NULL if absent). */
static char *
run_leaks(struct run *r, const char *mode, const char *const *extra_env)
{
	const char *args[] = {mode, NULL};
	struct run_opts o = {.prog = "threads_leaks", .args = mode ? args : NULL, .env = extra_env,
			     .timeout_s = 60};
	run_prog(r, &o);
	char path[PATH_MAX];
	run_path(r, NULL, "threads.txt", path, sizeof(path));
	return read_file(path, NULL);
}

static bool
shim_wraps(const char *fn)
{
	char cmd[PATH_MAX + 64];
	snprintf(cmd, sizeof(cmd), "nm -D --defined-only '%s' | grep -qw '%s'",
		 env_required("CONTEND_LIB"), fn);
	return system(cmd) == 0;
}

Test(threads, stuck_and_leaked_groups_at_exit)
{
	static const char *const env[] = {"CONTEND_STUCK=100ms", NULL};
	struct run r;
	char *txt = run_leaks(&r, NULL, env);
	run_expect_success(&r);
	cr_assert(txt, "no threads.txt; stderr:\n%s", r.err);
	cr_expect(strstr(txt, "blocked: 40 threads in pthread_cond_wait at wait_for_orders"),
		  "threads.txt:\n%s", txt);
	cr_expect(strstr(txt, "leak: 5 threads finished but never joined, created at "
			      "spawn_forgotten"), "threads.txt:\n%s", txt);
	cr_expect(strstr(r.err, "blocked: 40 threads in pthread_cond_wait"),
		  "stderr summary:\n%s", r.err);
	cr_expect(strstr(txt, "stuck: thread "), "stuck threads not marked:\n%s", txt);
	if (shim_wraps("read"))
		cr_expect(strstr(txt, "blocked: 10 threads in read at wait_for_input"),
			  "threads.txt:\n%s", txt);
	/* Each blocked thread's block shows the real stack at the wait. */
	cr_expect(strstr(txt, "pthread_cond_wait(...)\nwait_for_orders(...)\n"),
		  "no stack at the wait:\n%s", txt);
	cr_expect(strstr(txt, "order_worker(...)"), "stack not deeper than the caller:\n%s", txt);

	struct profile p;
	cr_assert(run_profile(&r, NULL, "threads", &p));
	cr_expect_str_eq(p.type[0], "threads");
	cr_expect_eq(p.nsample_types, 1);
	struct stack_match cond = {.leaf = "pthread_cond_wait", .next = "wait_for_orders"};
	cr_expect_eq(profile_sum(&p, &cond).count, 40);
	struct stack_match leaked = {.contains = "spawn_forgotten"};
	cr_expect_eq(profile_sum(&p, &leaked).count, 5);
	profile_free(&p);

	struct profile c;
	cr_assert(run_profile(&r, NULL, "threadcreate", &c));
	struct stack_match created = {.leaf = "main"};
	cr_expect_geq(profile_sum(&c, &created).count, 50);
	profile_free(&c);
	free(txt);
	run_free(&r);
}

Test(threads, go_pprof_groups_threads)
{
	if (!have_program("go"))
		cr_skip_test("go is not installed");
	struct run r;
	char *txt = run_leaks(&r, NULL, NULL);
	run_expect_success(&r);
	free(txt);
	char path[PATH_MAX];
	run_path(&r, NULL, "threads.pb.gz", path, sizeof(path));
	const char *argv[] = {"go", "tool", "pprof", "-traces", path, NULL};
	struct run t;
	run_cmd(&t, argv, 120);
	cr_expect_eq(run_exit_code(&t), 0, "%s", t.err);
	cr_expect(strstr(t.out, "        40   pthread_cond_wait\n             wait_for_orders"),
		  "pprof -traces:\n%s", t.out);
	cr_expect(strstr(t.out, "state:  exited, not joined"), "pprof -traces:\n%s", t.out);
	run_free(&t);
	run_free(&r);
}

Test(threads, abba_deadlock_named_with_both_threads_locks_and_stacks)
{
	struct run r;
	char *txt = run_leaks(&r, "abba", NULL);
	run_expect_success(&r);
	cr_assert(txt, "no threads.txt; stderr:\n%s", r.err);
	char *d = strstr(txt, "deadlock:");
	cr_assert(d, "no deadlock reported:\n%s", txt);
	char *eol = strchr(d, '\n');
	*eol = 0;
	cr_expect(strstr(d, "lock_a_then_b") && strstr(d, "lock_b_then_a"), "%s", d);
	/* Each lock by its name, the same in every run (issue 14). */
	cr_expect(strstr(d, "waits in pthread_mutex_lock for lock_a held by thread") &&
		  strstr(d, "waits in pthread_mutex_lock for lock_b held by thread"), "%s", d);
	int held = 0;
	for (char *s = d; (s = strstr(s, "held by thread")); s++)
		held++;
	cr_expect_eq(held, 2, "%s", d);
	*eol = '\n';
	cr_expect(strstr(r.err, "deadlock:"), "not on stderr:\n%s", r.err);
	/* Exactly one cycle, and the only waits are the two lock calls. */
	cr_expect_null(strstr(d + 1, "deadlock:"), "reported twice:\n%s", txt);
	cr_expect(strstr(txt, "pthread_mutex_lock(...)\nlock_a_then_b(...)"), "%s", txt);
	cr_expect(strstr(txt, "pthread_mutex_lock(...)\nlock_b_then_a(...)"), "%s", txt);
	free(txt);
	run_free(&r);
}

Test(threads, no_deadlock_reported_without_a_cycle)
{
	struct run r;
	char *txt = run_leaks(&r, NULL, NULL);
	run_expect_success(&r);
	cr_assert(txt);
	cr_expect_null(strstr(txt, "deadlock"), "%s", txt);
	free(txt);
	run_free(&r);
}

Test(threads, crash_dump_then_same_death)
{
	struct run r;
	char *txt = run_leaks(&r, "crash", NULL);
	cr_assert(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGSEGV,
		  "status %#x; stderr:\n%s", r.status, r.err);
	cr_assert(txt, "no threads.txt after the crash; stderr:\n%s", r.err);
	cr_expect(strstr(txt, "pthread_cond_wait"), "%s", txt);
	char maps[PATH_MAX];
	run_path(&r, NULL, "maps.txt", maps, sizeof(maps));
	cr_expect(path_exists(maps));
	free(txt);
	run_free(&r);
}

Test(threads, program_segv_handler_wins)
{
	struct run r;
	char *txt = run_leaks(&r, "own", NULL);
	cr_expect_eq(run_exit_code(&r), 42, "status %#x; stderr:\n%s", r.status, r.err);
	free(txt);
	run_free(&r);
}

/* Runs thread_churn with args; returns threads.txt (malloc'd, asserted
 * present). */
static char *
run_churn(struct run *r, const char *const *args, int timeout_s)
{
	run_prog(r, &(struct run_opts){.prog = "thread_churn", .args = args,
				       .timeout_s = timeout_s});
	cr_assert(!r->timed_out, "thread_churn hung; stderr:\n%s", r->err);
	run_expect_success(r);
	char path[PATH_MAX];
	run_path(r, NULL, "threads.txt", path, sizeof(path));
	char *txt = read_file(path, NULL);
	cr_assert(txt, "no threads.txt; stderr:\n%s", r->err);
	return txt;
}

/* Samples of threads.pb.gz whose stack (the creation stack for threads
 * that are not waiting) contains fn. */
static int64_t
dump_threads_from(struct run *r, const char *fn)
{
	struct profile p;
	cr_assert(run_profile(r, NULL, "threads", &p));
	int64_t n = profile_sum(&p, &(struct stack_match){.contains = fn}).count;
	profile_free(&p);
	return n;
}

/* 16,000 threads in rounds of 8, each reaped by one join flavour (join,
 * tryjoin_np until it succeeds, timedjoin_np, clockjoin_np, join after
 * pthread_exit) or detached (by main, by itself, or from its creation):
 * every thread was reaped, so the dump has no leak, and the registry,
 * never holding more than 10 live threads, never overflows. */
Test(threads, churn_of_every_join_flavour_leaks_nothing, .timeout = 240)
{
	struct run r;
	char *txt = run_churn(&r, (const char *[]){"churn", "16000", NULL}, 200);
	cr_expect_eq(run_value(&r, NULL, "reaped"), 16006);
	cr_expect_null(strstr(txt, "leak:"), "false leaks:\n%.4000s", txt);
	cr_expect_null(strstr(txt, "registry full"), "%.4000s", txt);
	cr_expect(strstr(txt, "sentinel"), "the live thread is missing:\n%.4000s", txt);
	cr_expect_eq(dump_threads_from(&r, "churn"), 0);
	cr_expect_eq(dump_threads_from(&r, "spawn_blocked"), 0);
	cr_expect_null(strstr(r.err, "leak:"), "stderr:\n%s", r.err);
	free(txt);
	run_free(&r);
}

/* EBUSY from tryjoin_np and ETIMEDOUT from timedjoin_np / clockjoin_np
 * reap nothing: the 6 threads that got them and were then never joined
 * are the dump's only leaks. */
Test(threads, failed_np_joins_keep_the_thread_registered, .timeout = 120)
{
	struct run r;
	char *txt = run_churn(&r, (const char *[]){"churn", "400", "leak", NULL}, 100);
	cr_expect_eq(run_value(&r, NULL, "leaked"), 6);
	cr_expect(strstr(txt, "leak: 6 threads finished but never joined, created at "
			      "spawn_blocked"), "%.4000s", txt);
	cr_expect_null(strstr(strstr(txt, "leak:") + 1, "leak:"), "other leaks:\n%.4000s", txt);
	cr_expect_eq(dump_threads_from(&r, "spawn_blocked"), 6);
	cr_expect_eq(dump_threads_from(&r, "churn"), 0);
	free(txt);
	run_free(&r);
}

/* The registry has 4096 slots: with 4000 threads alive at once it holds
 * them all; with 4300, the dump says how many it could not track, and
 * once they are all joined there is still no leak. */
Test(threads, registry_overflow_said_in_the_dump, .timeout = 240)
{
	struct run r;
	run_prog(&r, &(struct run_opts){.prog = "thread_churn",
					.args = (const char *[]){"live", "4000", NULL},
					.timeout_s = 200});
	run_expect_success(&r);
	char path[PATH_MAX];
	run_path(&r, NULL, "threads.txt", path, sizeof(path));
	char *txt = read_file(path, NULL);
	cr_expect(!txt || !strstr(txt, "registry full"), "%.4000s", txt);
	cr_expect(!txt || !strstr(txt, "leak:"), "%.4000s", txt);
	free(txt);
	run_free(&r);

	txt = run_churn(&r, (const char *[]){"live", "4300", NULL}, 200);
	char *full = strstr(txt, "registry full: ");
	cr_assert(full, "overflow not said:\n%.4000s", txt);
	long untracked = strtol(full + strlen("registry full: "), NULL, 10);
	/* 4300 workers and main for 4096 slots */
	cr_expect(untracked >= 4300 - 4096 && untracked <= 4301 - 4096, "%ld untracked", untracked);
	cr_expect(strstr(r.err, "registry full: "), "not on stderr:\n%s", r.err);
	cr_expect_null(strstr(txt, "leak:"), "%.4000s", txt);
	free(txt);
	run_free(&r);
}

/* VmRSS (KiB) of idle_threads with n threads parked at once. */
static long
idle_rss(bool preload, long n, bool record)
{
	char arg[32];
	snprintf(arg, sizeof(arg), "%ld", n);
	static const char *const rec_env[] = {"CONTEND_BLOCK_RATE=1", "CONTEND_QUIET=1", NULL};
	static const char *const quiet[] = {"CONTEND_QUIET=1", NULL};
	struct run r;
	run_prog(&r, &(struct run_opts){.prog = "idle_threads",
					.args = (const char *[]){arg, record ? "record" : NULL,
								 NULL},
					.env = record ? rec_env : quiet, .no_preload = !preload,
					.timeout_s = 120});
	run_expect_success(&r);
	long kib = (long)run_value(&r, NULL, "rss_kib");
	run_free(&r);
	return kib;
}

/* A thread costs the shim its registry slot (a few hundred bytes) and no
 * work at its start; a thread that records adds at most its own deeper
 * stack while unwinding, no heap: 2000 threads, resident memory with and
 * without the shim, less what the shim costs a one-thread process. */
Test(threads, memory_per_thread_is_a_few_kib, .timeout = 300)
{
	enum { N = 2000 };
	long base = idle_rss(true, 1, false) - idle_rss(false, 1, false);
	long plain = idle_rss(false, N, false);
	long idle = idle_rss(true, N, false) - plain - base;
	long rec = idle_rss(true, N, true) - plain - base;
	cr_log_info("shim memory for %d threads: %ld KiB idle, %ld KiB recording (base %ld KiB)",
		    N, idle, rec, base);
	cr_expect_leq(idle, N * 2, "%ld KiB for %d idle threads (%.1f KiB each)", idle, N,
		      (double)idle / N);
	cr_expect_leq(rec, N * 8, "%ld KiB for %d recording threads (%.1f KiB each)", rec, N,
		      (double)rec / N);
	cr_expect_leq(base + rec, 32 * 1024, "shim memory %ld KiB above the 32 MiB bound",
		      base + rec);
}
