/* The thread dump (threads.txt, threads.pb.gz, threadcreate.pb.gz) on
 * programs whose threads are stuck, leaked or deadlocked by construction,
 * and the crash dump. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "testrun.h"


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

/* Whether a line of txt holds both a and b. */
static bool
line_with_both(const char *txt, const char *a, const char *b)
{
	for (const char *l = txt; l && *l;) {
		const char *e = strchr(l, '\n');
		size_t n = e ? (size_t)(e - l) : strlen(l);
		char *line = strndup(l, n);
		bool both = line && strstr(line, a) && strstr(line, b);
		free(line);
		if (both)
			return true;
		l = e ? e + 1 : NULL;
	}
	return false;
}

Test(threads, stuck_and_leaked_groups_at_exit)
{
	static const char *const env[] = {"CONTEND_STUCK=100ms", NULL};
	struct run r;
	char *txt = run_leaks(&r, NULL, env);
	run_expect_success(&r);
	cr_assert(txt, "no threads.txt; stderr:\n%s", r.err);
	/* The 40 cond waiters are a pool parked for work: idle, not stuck. */
	cr_expect(strstr(txt, "idle: 40 threads in pthread_cond_wait "), "threads.txt:\n%s", txt);
	cr_expect(strstr(txt, " at wait_for_orders (threads_leaks.c:"), "threads.txt:\n%s", txt);
	cr_expect(strstr(txt, "leak: 5 threads finished but never joined, created at "
			      "spawn_forgotten"), "threads.txt:\n%s", txt);
	cr_expect(strstr(r.err, "idle: 40 threads in pthread_cond_wait"),
		  "stderr summary:\n%s", r.err);
	cr_expect(!line_with_both(txt, "[pthread_cond_wait ", "stuck]"),
		  "an idle waiter called stuck:\n%s", txt);
	if (shim_wraps("read")) {
		/* Readers of a pipe nobody writes wait for a peer: stuck. */
		cr_expect(strstr(txt, "stuck: 10 threads in read at wait_for_input"),
			  "threads.txt:\n%s", txt);
		cr_expect(strstr(r.err, "stuck: 10 threads in read at wait_for_input"),
			  "stderr summary:\n%s", r.err);
	}
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

/* main leaves with pthread_exit and the last thread to end ends the
 * process: the unjoined thread is shown, alone at its creation site and
 * so no leak, and the shim's exit helper (which stands for the exiting
 * thread) is no thread of the program's. */
Test(threads, main_leaving_first_shows_no_thread_of_ours)
{
	struct run_opts o = {.prog = "main_exits_first", .timeout_s = 60};
	struct run r;
	run_ok(&r, &o);
	char path[PATH_MAX];
	run_path(&r, NULL, "threads.txt", path, sizeof(path));
	char *txt = read_file(path, NULL);
	cr_assert(txt, "no threads.txt; stderr:\n%s", r.err);
	cr_expect(strstr(txt, "unjoined: 1 thread finished, not joined, created at main"),
		  "threads.txt:\n%s", txt);
	cr_expect(!strstr(txt, "leak:"), "one unjoined thread called a leak:\n%s", txt);
	/* main itself runs the exit dump when it ends last (its
	 * pthread_exit ends the process once the other two have returned,
	 * which a loaded machine makes the usual order): then it is running,
	 * and rightly shown so. Any other running thread is the helper. */
	char mainline[64];
	snprintf(mainline, sizeof(mainline), "thread %d \"", (int)r.pid);
	for (const char *p = txt; (p = strstr(p, "[running]")); p++) {
		const char *bol = p;
		while (bol > txt && bol[-1] != '\n')
			bol--;
		cr_expect(!strncmp(bol, mainline, strlen(mainline)),
			  "a running thread other than main after every thread ended:\n%s", txt);
	}
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

/* The crashed thread's entry in txt: from its header, shown first, to
 * the next thread's; NULL-terminated copy (malloc'd) or NULL. */
static char *
crashed_entry(const char *txt)
{
	const char *h = strstr(txt, "[crashed: SIGSEGV]:\n");
	if (!h)
		return NULL;
	const char *end = strstr(h, "\nthread ");
	return strndup(h, end ? (size_t)(end - h) : strlen(h));
}

/* The crash dump lists every thread, the one that crashed first, with the
 * stack it crashed at (before, it showed "[running]" and no frame at
 * all): the faulting function and its caller. crash-call: a call through
 * a null function pointer, where the fault is at address 0 and only the
 * return address the call pushed tells the caller. */
Test(threads, crash_dump_then_same_death)
{
	static const char *const modes[][2] = {{"crash", "crash_store"},
					       {"crash-call", "crash_call"}};
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		struct run r;
		char *txt = run_leaks(&r, modes[i][0], NULL);
		cr_assert(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGSEGV,
			  "%s: status %#x; stderr:\n%s", modes[i][0], r.status, r.err);
		cr_assert(txt, "%s: no threads.txt after the crash; stderr:\n%s", modes[i][0],
			  r.err);
		cr_expect(strstr(txt, "pthread_cond_wait"), "%s", txt);
		/* Written by a forked copy of the process, whose parent is the
		 * process itself: the pipe the readers wait on is not their
		 * parent's (the program's parent is the test). */
		if (shim_wraps("read"))
			cr_expect(strstr(txt, " 10 threads in read at wait_for_input") &&
					  !strstr(txt, "idle: 10 threads in read"),
				  "%s: the readers of the program's own pipe idle:\n%s", modes[i][0],
				  txt);
		char *e = crashed_entry(txt);
		const char *first = strstr(txt, "\nthread ");
		const char *eol = first ? strchr(first + 1, '\n') : NULL;
		const char *crashed = strstr(txt, "[crashed: SIGSEGV]");
		cr_expect(e && first && eol && crashed > first && crashed < eol,
			  "%s: the crashed thread is not the first listed:\n%s", modes[i][0], txt);
		const char *fn = e ? strstr(e, modes[i][1]) : NULL;
		cr_expect(fn, "%s: no %s in the crashed thread's stack:\n%s", modes[i][0],
			  modes[i][1], txt);
		cr_expect(fn && strstr(fn, "\nmain("), "%s: no main below %s:\n%s", modes[i][0],
			  modes[i][1], txt);
		char maps[PATH_MAX];
		run_path(&r, NULL, "maps.txt", maps, sizeof(maps));
		cr_expect(path_exists(maps));
		free(e);
		free(txt);
		run_free(&r);
	}
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

/* n threads created at fn finished and were never joined: the text dump
 * says so and threads.pb.gz has them. */
static void
expect_leak(struct run *r, const char *txt, const char *fn, int n)
{
	char want[256];
	snprintf(want, sizeof(want), "leak: %d threads finished but never joined, created at %s", n,
		 fn);
	cr_expect(strstr(txt, want), "no '%s' in:\n%.4000s", want, txt);
	cr_expect_eq(dump_threads_from(r, fn), n, "%s", fn);
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
	expect_leak(&r, txt, "spawn_blocked", 6);
	cr_expect_null(strstr(strstr(txt, "leak:") + 1, "leak:"), "other leaks:\n%.4000s", txt);
	cr_expect_eq(dump_threads_from(&r, "churn"), 0);
	free(txt);
	run_free(&r);
}

/* A thread cancelled in a wait, or leaving by pthread_exit, and never
 * joined is a leak like one that returned: the shim sees every way a
 * thread ends (its slot says "exited"), not only a return. */
Test(threads, cancelled_and_exited_threads_are_leaks, .timeout = 120)
{
	struct run r;
	char *txt = run_churn(&r, (const char *[]){"ends", "5", NULL}, 100);
	cr_expect_eq(run_value(&r, NULL, "ended"), 10);
	expect_leak(&r, txt, "cancelled_ends", 5);
	expect_leak(&r, txt, "exited_ends", 5);
	free(txt);
	run_free(&r);
}

/* The registry has 4096 slots: with 4000 threads alive at once it holds
 * them all; with 4300, the dump says how many it could not track, and
 * once they are all joined there is still no leak. */
Test(threads, registry_overflow_said_in_the_dump, .timeout = 240)
{
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "thread_churn",
					.args = (const char *[]){"live", "4000", NULL},
					.timeout_s = 200});
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
	run_ok(&r, &(struct run_opts){.prog = "idle_threads",
					.args = (const char *[]){arg, record ? "record" : NULL,
								 NULL},
					.env = record ? rec_env : quiet, .no_preload = !preload,
					.timeout_s = 120});
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

/* The wait's length in a dump header "[op 0x.., 1.3s, ...", in ms
 * (to the precision printed: 1 ms below 1 s, 100 ms above), or -1. */
static long
header_wait_ms(const char *h)
{
	const char *b = strchr(h, '[');
	const char *c = b ? strstr(b, ", ") : NULL;
	if (!c)
		return -1;
	char *end;
	double v = strtod(c + 2, &end);
	if (end == c + 2)
		return -1;
	if (!strncmp(end, "ms", 2))
		return (long)v;
	if (*end == 's')
		return (long)(v * 1000);
	if (!strncmp(end, " minute", 7))
		return (long)(v * 60000);
	return -1;
}

/* A copy of the line of txt that starts at p. */
static char *
line_at(const char *p)
{
	return p ? strndup(p, strcspn(p, "\n")) : NULL;
}

/* prog under the shim, CONTEND_DUMP_SIGNAL=SIGUSR2 (it raises it once its
 * threads are in place) and CONTEND_STUCK=200ms; it must succeed. Its
 * live dump, threads.0001.txt (to free). */
static char *
live_dump_run(struct run *r, const char *prog)
{
	static const char *const env[] = {"CONTEND_DUMP_SIGNAL=SIGUSR2", "CONTEND_STUCK=200ms", NULL};
	run_prog(r, &(struct run_opts){.prog = prog, .env = env, .timeout_s = 100});
	run_expect_success(r);
	char path[PATH_MAX];
	run_path(r, NULL, "threads.0001.txt", path, sizeof(path));
	char *txt = read_file(path, NULL);
	cr_assert(txt, "no %s; stderr:\n%s", path, r->err);
	return txt;
}

/* Issue 11, "stuck means stuck": a live dump of stuck_mix (an idle pool of
 * 6 on one condvar, a thread blocked behind a mutex another holds, a
 * timed wait re-armed every 20 ms for at least 1 s) puts the blocked
 * thread first with its holder named, shows the re-armed wait as one wait
 * at least as long as the program counted (and stuck), and summarizes the
 * pool as idle, never stuck. */
Test(threads, live_dump_blocked_first_rearmed_whole_pool_idle, .timeout = 120)
{
	struct run r;
	char *txt = live_dump_run(&r, "stuck_mix");
	long holder = run_value(&r, NULL, "holder_tid"), blocked = run_value(&r, NULL, "blocked_tid");
	long rearm = run_value(&r, NULL, "rearm_tid"), min_ms = run_value(&r, NULL, "rearm_min_ms");
	cr_assert(holder > 0 && blocked > 0 && rearm > 0 && min_ms >= 1000, "%s", r.out);
	char *blocks = strstr(txt, "\n\n");
	cr_assert(blocks, "no thread blocks:\n%s", txt);
	*blocks = 0; /* txt is the summary now, blocks + 2 the threads */
	blocks += 2;

	/* First line under the title: the blocked thread, its holder named. */
	char want[256];
	const char *first = strchr(txt, '\n') + 1;
	snprintf(want, sizeof(want), "blocked: thread %ld \"blocked\" [pthread_mutex_lock table, ", blocked);
	cr_expect(!strncmp(first, want, strlen(want)), "not first:\n%s", txt);
	char *line = line_at(first);
	snprintf(want, sizeof(want), ", held by thread %ld \"holder\", stuck] at take_table (stuck_mix.c:",
		 holder);
	cr_expect(strstr(line, want), "holder not named: %s", line);
	cr_expect(strstr(line, "; the holder waits in nanosleep at "), "%s", line);
	free(line);

	/* Then the re-armed wait: one wait since its run began, stuck. */
	snprintf(want, sizeof(want), "stuck: thread %ld \"rearm\" [pthread_cond_timedwait rearm_c, ", rearm);
	const char *st = strstr(txt, want);
	cr_assert(st, "re-armed wait not stuck:\n%s", txt);
	line = line_at(st);
	long ms = header_wait_ms(line);
	/* Printed to 0.1 s, rounded: 50 ms of slack. */
	cr_expect_geq(ms + 50, min_ms, "re-armed wait shown as %ld ms, ran %ld ms: %s", ms, min_ms,
		      line);
	cr_expect(strstr(line, ", re-armed ") && strstr(line, " at rearm_loop (stuck_mix.c:"), "%s",
		  line);
	free(line);

	/* Last, the pool: idle, in one line, and no pool thread stuck. */
	const char *idle =
		strstr(txt, "idle: 6 threads in pthread_cond_wait pool_c at pool_worker (stuck_mix.c:");
	cr_assert(idle, "pool not idle:\n%s", txt);
	cr_expect(first < st && st < idle, "wrong order:\n%s", txt);
	line = line_at(idle);
	cr_expect(strstr(line, " at pool_worker (stuck_mix.c:"), "%s", line);
	free(line);
	cr_expect(!strstr(txt, "\"pool\""), "a pool thread in the summary:\n%s", txt);
	cr_expect(!line_with_both(blocks, "\"pool\" [", "stuck"), "a pool thread stuck:\n%s", blocks);
	int pool = 0;
	for (const char *p = blocks; (p = strstr(p, "\"pool\" [pthread_cond_wait pool_c, ")); p++) {
		size_t n = strcspn(p, "\n");
		pool += n > 8 && !strncmp(p + n - 8, ", idle]:", 8);
	}
	cr_expect_eq(pool, 6, "pool threads marked idle:\n%s", blocks);

	/* The thread blocks in the same order: blocked, re-armed, ..., pool. */
	snprintf(want, sizeof(want), "thread %ld \"blocked\" [", blocked);
	cr_expect(!strncmp(blocks, want, strlen(want)), "first block:\n%s", blocks);
	snprintf(want, sizeof(want), "\nthread %ld \"rearm\" [", rearm);
	const char *rb = strstr(blocks, want), *pb = strstr(blocks, "\"pool\" [");
	cr_expect(rb && pb && rb < pb, "blocks out of order:\n%s", blocks);
	free(txt);

	/* contend threads on the profile: the blocked thread first (label
	 * held_by), then the re-armed wait, the pool's idle group last. */
	char path[PATH_MAX];
	run_path(&r, NULL, "threads.0001.pb.gz", path, sizeof(path));
	char cli[PATH_MAX];
	snprintf(cli, sizeof(cli), "%s/contend", env_required("CONTEND_BUILD_ROOT"));
	const char *argv[] = {cli, "threads", path, NULL};
	struct run c;
	run_cmd(&c, argv, 60);
	cr_expect_eq(run_exit_code(&c), 0, "%s", c.err);
	const char *pg = strstr(c.out, "6 threads: pthread_cond_wait in pool_worker (stuck_mix.c:");
	cr_expect(pg && strstr(c.out, ", 6 idle"), "contend threads:\n%s", c.out);
	cr_expect(pg && strstr(pg, "[idle]\n") && !strstr(pg, "[stuck]"), "idle group not last:\n%s",
		  c.out);
	const char *tg = strstr(c.out, "1 thread: pthread_mutex_lock in take_table (stuck_mix.c:");
	const char *rg = strstr(c.out, "1 thread: pthread_cond_timedwait in rearm_loop (stuck_mix.c:");
	cr_expect(tg && rg && pg && tg < rg && rg < pg, "blocked, re-armed, pool:\n%s", c.out);
	cr_expect(tg && strstr(tg, "held_by="), "no holder label:\n%s", c.out);
	run_free(&c);
	run_free(&r);
}

/* Issue 11, "stuck means stuck", on a server shaped like MariaDB
 * (server_idle): the one request held up behind the server's own lock (a
 * re-armed timed wait on a condvar of its own, after reading its request)
 * is the only stuck thread and comes first; every service thread is idle,
 * each by a rule that knows no names: a timer and a cleaner parked on
 * their own condvar where they always wait, a manager back at its first
 * site after a callback that waited elsewhere, a log thread reading a
 * pipe, its only wait, a pool's workers on condvars of their own under
 * the pool's one mutex (one of them parked there for the first time,
 * where the others usually park), an acceptor polling
 * a listening socket and a wake-up pipe, a connection waiting for its
 * client's next request on the socket the acceptor accepted. */
Test(threads, live_dump_service_threads_idle_request_first, .timeout = 120)
{
	struct run r;
	char *txt = live_dump_run(&r, "server_idle");
	long query = run_value(&r, NULL, "query_tid"), fd = run_value(&r, NULL, "conn_fd");
	long min_ms = run_value(&r, NULL, "query_min_ms");
	cr_assert(query > 0 && fd >= 0 && min_ms >= 1000, "%s", r.out);
	char *blocks = strstr(txt, "\n\n");
	cr_assert(blocks, "no thread blocks:\n%s", txt);
	*blocks = 0;

	char want[256];
	const char *first = strchr(txt, '\n') + 1;
	snprintf(want, sizeof(want), "stuck: thread %ld \"query\" [pthread_cond_timedwait query_c, ",
		 query);
	cr_expect(!strncmp(first, want, strlen(want)), "held-up request not first:\n%s", txt);
	char *line = line_at(first);
	cr_expect(header_wait_ms(line) + 50 >= min_ms, "wait shorter than its run (%ld ms): %s",
		  min_ms, line);
	cr_expect(strstr(line, ", re-armed ") && strstr(line, " at query_wait (server_idle.c:"), "%s",
		  line);
	free(line);
	cr_expect(!strstr(first + 1, "stuck:") && !strstr(txt, "waiting:"),
		  "another thread not idle:\n%s", txt);

	snprintf(want, sizeof(want), "idle: 1 thread in poll fd %ld (socket) at conn_loop (", fd);
	const char *const idle[] = {
		"idle: 1 thread in pthread_cond_timedwait timer_c at timer_loop (server_idle.c:",
		"idle: 1 thread in pthread_cond_wait clean_c at cleaner_loop (server_idle.c:",
		"idle: 1 thread in pthread_cond_wait mgr_c at manager_loop (server_idle.c:",
		"idle: 3 threads in pthread_cond_wait condvars of their own under pool_m at "
		"pool_worker (server_idle.c:",
		"idle: 1 thread in poll at acceptor_loop (server_idle.c:",
		want,
	};
	for (size_t i = 0; i < sizeof(idle) / sizeof(idle[0]); i++)
		cr_expect(strstr(txt, idle[i]), "no \"%s\" in:\n%s", idle[i], txt);
	const char *logger = strstr(txt, "idle: 1 thread in read fd ");
	char *ll = logger ? line_at(logger) : NULL;
	cr_expect(ll && strstr(ll, " (pipe) at logger_loop (server_idle.c:"),
		  "the log thread's read not idle:\n%s", txt);
	free(ll);
	free(txt);
	run_free(&r);
}

/* The name of a thread that ended without being joined is the one it had
 * at its end, however it was set: the shim keeps a thread's name as it
 * changes (inherited from its creator, then each rename it sees) instead
 * of asking the kernel at every exit. */
Test(threads, exited_threads_keep_their_names, .timeout = 120)
{
	struct run r;
	run_prog(&r, &(struct run_opts){.prog = "thread_names", .timeout_s = 60});
	run_expect_success(&r);
	char path[PATH_MAX];
	run_path(&r, NULL, "threads.txt", path, sizeof(path));
	char *txt = read_file(path, NULL);
	cr_assert(txt, "no threads.txt; stderr:\n%s", r.err);
	const char *names[] = {"viaprctl", "viasetname", "viasyscall", "byother", "creator"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char want[64];
		snprintf(want, sizeof(want), "\"%s\" [exited, not joined]", names[i]);
		cr_expect(strstr(txt, want), "no %s in threads.txt:\n%s", want, txt);
	}
	free(txt);
	run_free(&r);
}
