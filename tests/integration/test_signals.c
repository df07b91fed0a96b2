/* Signals under the shim: SIGTERM/SIGINT end the program where it is
 * (after the profiles are written), sigaction() and friends survive fork
 * and re-entry from handlers, and wrappers called from a signal handler
 * record nothing and allocate nothing, under a storm of signals too. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testrun.h"

/* Program code ran after the signal if a line after "before" was printed. */
static void
expect_nothing_after(const struct run *r, const char *what)
{
	const char *b = strstr(r->out, "before\n");
	cr_expect(b != NULL, "%s: no \"before\" line; stdout:\n%s\nstderr:\n%s", what, r->out,
		  r->err);
	if (b)
		cr_expect_str_eq(b + strlen("before\n"), "",
				 "%s: the program ran on after the signal; stderr:\n%s", what, r->err);
}

struct fatal_case {
	const char *call, *threads, *target, *sig;
	int signo;
};

static const struct fatal_case fatal_cases[] = {
#define FATAL_CALL(c)                                 \
	{c, "0", "main", "TERM", SIGTERM},            \
	{c, "3", "main", "TERM", SIGTERM},            \
	{c, "3", "worker", "TERM", SIGTERM}
	FATAL_CALL("sleep"),    FATAL_CALL("nanosleep"), FATAL_CALL("poll"),
	FATAL_CALL("read"),     FATAL_CALL("sem_wait"),  FATAL_CALL("cond_wait"),
	FATAL_CALL("busy"),
#undef FATAL_CALL
	{"sleep", "0", "main", "INT", SIGINT},
	{"sleep", "3", "main", "INT", SIGINT},
	{"cond_wait", "3", "worker", "INT", SIGINT},
};

/* Runs behave_fatal for c: the process must die of the signal within
 * 30 s with no line after "before". */
static void
fatal_run(struct run *r, const struct fatal_case *c, const char *what)
{
	run_prog(r, &(struct run_opts){
			    .prog = "behave_fatal",
			    .args = (const char *[]){c->call, c->threads, c->target, c->sig, NULL},
			    .env = exact_env, .timeout_s = 30});
	cr_expect(!r->timed_out, "%s: still running after 30 s", what);
	cr_expect(WIFSIGNALED(r->status) && WTERMSIG(r->status) == c->signo,
		  "%s: expected death by signal %d, got %s %d; stderr:\n%s", what, c->signo,
		  WIFSIGNALED(r->status) ? "signal" : "exit status",
		  WIFSIGNALED(r->status) ? WTERMSIG(r->status) : WEXITSTATUS(r->status), r->err);
	expect_nothing_after(r, what);
}

/* The block profile holds behave_fatal's wait before the signal, once;
 * a missing profile fails only if required. */
static void
expect_warm_up_wait(const struct run *r, const char *what, bool required)
{
	struct profile p;
	bool have = run_profile(r, NULL, "block", &p);
	cr_expect(have || !required, "%s: no block profile; stderr:\n%s", what, r->err);
	if (!have)
		return;
	struct psum s =
		profile_sum(&p, &(struct stack_match){.leaf = "poll", .next = "fatal_warm_up"});
	cr_expect_eq(s.count, 1, "%s: the 30 ms poll() before the signal", what);
	profile_free(&p);
}

/* The signal comes 200 ms into a call of 5 s (or forever): the process
 * dies of it with no line after "before", and its profiles hold the wait
 * it made before (and, with threads, the mutex contention). */
TABLE_TEST(signals, fatal_ends_program, fatal_cases, c, .timeout = 60)
{
	char what[128];
	snprintf(what, sizeof(what), "%s, %s threads, signal %s to %s", c->call, c->threads,
		 c->sig, c->target);
	struct run r;
	fatal_run(&r, c, what);
	expect_warm_up_wait(&r, what, false);
	struct profile p;
	if (strcmp(c->threads, "0") != 0 && run_profile(&r, NULL, "mutex", &p)) {
		struct psum s = profile_sum(&p, &(struct stack_match){.leaf = "pthread_mutex_unlock",
								      .next = "fatal_hold"});
		cr_expect_gt(s.count, 0, "%s: the contention before the signal", what);
		profile_free(&p);
	}
	run_free(&r);
}

/* The signal comes while the thread it interrupts holds a lock glibc's
 * fork() takes (a malloc arena's, inside malloc; fork()'s own, inside
 * fork()): the forked copy that writes the profiles must not wait for
 * that thread. Before core/forklocks.h it did, until its 2 s watchdog
 * killed the process with no profiles written, 7 runs in 10 for the
 * malloc loop. Each run dies of the signal with the profiles written. */
Test(signals, fatal_inside_malloc_or_fork_writes_the_profiles, .timeout = 120)
{
	static const struct fatal_case cases[] = {
		{"malloc", "0", "main", "TERM", SIGTERM}, {"malloc", "3", "main", "TERM", SIGTERM},
		{"malloc", "0", "main", "INT", SIGINT},   {"malloc", "3", "main", "INT", SIGINT},
		{"malloc", "0", "main", "TERM", SIGTERM}, {"malloc", "3", "main", "TERM", SIGTERM},
		{"fork", "0", "main", "TERM", SIGTERM},   {"fork", "3", "main", "TERM", SIGTERM},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct fatal_case *c = &cases[k];
		char what[128];
		snprintf(what, sizeof(what), "run %zu: %s, %s threads, signal %s", k, c->call,
			 c->threads, c->sig);
		struct run r;
		fatal_run(&r, c, what);
		cr_expect(!strstr(r.err, "could not fork"), "%s: stderr:\n%s", what, r.err);
		expect_warm_up_wait(&r, what, true);
		run_free(&r);
	}
}

/* A program that forbade itself new processes (RLIMIT_NPROC 0: haproxy,
 * OpenSSH's sandbox) cannot have its profiles written by a forked copy
 * when a signal ends it: it still dies of that signal with nothing run
 * after it, and the line says which limit stood in the way. */
Test(signals, fatal_without_new_processes_dies_the_same, .timeout = 60)
{
	struct run r;
	run_prog(&r, &(struct run_opts){
			     .prog = "behave_fatal",
			     .args = (const char *[]){"sleep", "3", "main", "TERM", "nproc0", NULL},
			     .env = exact_env, .timeout_s = 30});
	cr_expect(!r.timed_out, "still running after 30 s");
	cr_expect(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGTERM,
		  "expected death by SIGTERM, got %s %d; stderr:\n%s",
		  WIFSIGNALED(r.status) ? "signal" : "exit status",
		  WIFSIGNALED(r.status) ? WTERMSIG(r.status) : WEXITSTATUS(r.status), r.err);
	expect_nothing_after(&r, "nproc0");
	cr_expect(strstr(r.err, "cannot fork to write the profiles (Resource temporarily "
				"unavailable: the program set RLIMIT_NPROC to 0"),
		  "stderr:\n%s", r.err);
	run_free(&r);
}

/* The same program without the shim dies the same way: the test itself
 * is sound. */
Test(signals, fatal_plain, .timeout = 60)
{
	static const char *const calls[] = {"sleep", "read", "busy"};
	for (size_t k = 0; k < sizeof(calls) / sizeof(calls[0]); k++) {
		struct run r;
		run_prog(&r, &(struct run_opts){
				     .prog = "behave_fatal",
				     .args = (const char *[]){calls[k], "3", "main", "TERM", NULL},
				     .no_preload = true, .timeout_s = 30});
		cr_expect(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGTERM, "plain %s",
			  calls[k]);
		expect_nothing_after(&r, calls[k]);
		run_free(&r);
	}
}

/* Runs behave_sigstorm with args, plain and preloaded (with exact
 * sampling and, if count_malloc, the counting allocator): both exit 0
 * within timeout_s with the same output. */
static void
same_under_storm(const char *const *args, bool count_malloc, int timeout_s, struct run *keep)
{
	char lib[PATH_MAX];
	prog_path(lib, sizeof(lib), "libcountmalloc.so");
	struct run plain, shim;
	run_ok(&plain, &(struct run_opts){.prog = "behave_sigstorm", .args = args,
					    .no_preload = true, .timeout_s = timeout_s});
	run_prog(&shim, &(struct run_opts){.prog = "behave_sigstorm", .args = args,
					   .env = exact_env,
					   .also_preload = count_malloc ? lib : NULL,
					   .timeout_s = timeout_s});
	cr_expect(!shim.timed_out, "behave_sigstorm %s: hung under the shim (%d s)", args[0],
		  timeout_s);
	run_expect_success(&shim);
	cr_expect_str_eq(shim.out, plain.out, "behave_sigstorm %s: output differs under the shim",
			 args[0]);
	run_free(&plain);
	if (keep)
		*keep = shim;
	else
		run_free(&shim);
}

/* Two threads loop sigaction(SIGTERM) while the main thread forks 1000
 * times; each child's sigaction(SIGTERM, SIG_IGN) must return (no lock
 * of ours left held by the fork). The program kills a child that has not
 * exited after 5 s and counts a hang. */
Test(signals, fork_while_sigaction, .timeout = 600)
{
	same_under_storm((const char *[]){"fork", "1000", NULL}, false, 540, NULL);
}

/* sigaction()/signal() from a 50 us SIGALRM handler while the main
 * thread loops sigaction(): never a deadlock. */
Test(signals, sigaction_in_handler, .timeout = 120)
{
	same_under_storm((const char *[]){"nested", "1000", NULL}, false, 90, NULL);
}

/* read/write/poll waits inside SIGUSR1 and SIGALRM handlers of a
 * single-threaded program (whose first recorded wait would load the
 * unwinder): not one allocation while a handler runs, none of them in
 * the profile, the same results; and a wait after a handler was left with
 * siglongjmp is recorded. */
Test(signals, handler_waits_not_recorded, .timeout = 120)
{
	struct run r;
	same_under_storm((const char *[]){"handler-io", NULL}, true, 60, &r);
	struct profile p;
	if (run_profile(&r, NULL, "block", &p)) {
		struct psum in = profile_sum(&p, &(struct stack_match){.contains = "handler_io"});
		cr_expect_eq(in.samples, 0, "waits inside the handlers were recorded");
		/* The main thread's waits for the signals still are. */
		struct psum out = profile_sum(&p, &(struct stack_match){.leaf = "sigsuspend"});
		cr_expect_gt(out.count, 0, "the sigsuspend() waits were not recorded");
		/* A handler left with siglongjmp is left for good. */
		struct psum jmp = profile_sum(&p, &(struct stack_match){
							  .leaf = "poll", .next = "after_longjmp_wait"});
		cr_expect_eq(jmp.count, 1, "the wait after siglongjmp out of a handler");
		profile_free(&p);
	}
	run_free(&r);
}

/* What sigaction() and the signal() flavours report (handler, raw flags,
 * mask, restorer) and how handlers run (SA_SIGINFO, SA_NODEFER,
 * SA_RESETHAND, siginterrupt): exactly as without the shim. */
Test(signals, dispositions_as_set, .timeout = 60)
{
	same_under_storm((const char *[]){"dispositions", NULL}, false, 30, NULL);
}

/* A vfork() child that resets every handler to SIG_DFL (Python's
 * subprocess does) shares the shim's memory but not the parent's kernel
 * actions: the parent's handlers must still run afterwards (they used to
 * be lost, and SIGINT then killed the parent). */
Test(signals, vfork_child_resets_nothing_of_the_parent, .timeout = 60)
{
	same_under_storm((const char *[]){"vfork", NULL}, false, 30, NULL);
}

/* Every async-signal-safe wrapped function from a 300 us timer's handler
 * on five threads that lock, wait on a condvar, do I/O and change
 * dispositions: runs to completion, same results. */
Test(signals, storm, .timeout = 180)
{
	same_under_storm((const char *[]){"storm", "1000", NULL}, false, 150, NULL);
}

/* The header line of thread tid in a thread dump ("thread 123 ..."),
 * malloc'd, or NULL. */
static char *
dump_thread_line(const char *txt, int tid)
{
	char want[32];
	snprintf(want, sizeof(want), "\nthread %d ", tid);
	const char *l = txt ? strstr(txt, want) : NULL;
	if (!l)
		return NULL;
	l++;
	const char *e = strchr(l, '\n');
	return strndup(l, e ? (size_t)(e - l) : strlen(l));
}

/* A handler that interrupts a wait: while it runs and once it returns,
 * the wait is the thread's again (snapshot 1 shows main in read); a
 * handler that leaves the wait with siglongjmp ends it (the final dump,
 * written while main runs on, used to show it blocked in read, stuck). */
Test(signals, wait_left_by_siglongjmp_is_over, .timeout = 120)
{
	static const char *const env[] = {"CONTEND_DUMP_SIGNAL=SIGUSR2", "CONTEND_QUIET=1",
					  "CONTEND_STUCK=1ms", NULL};
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "longjmp_wait", .env = env, .env2 = exact_env,
					.timeout_s = 90});
	cr_expect(strstr(r.out, "jumped out of read\n"), "stdout:\n%s\nstderr:\n%s", r.out, r.err);
	int tid = (int)run_value(&r, NULL, "main_tid");
	char path[PATH_MAX];
	run_path(&r, NULL, "threads.0001.txt", path, sizeof(path));
	char *snap = read_file(path, NULL);
	char *line = dump_thread_line(snap, tid);
	cr_expect(line && strstr(line, "[read fd "),
		  "snapshot: main is not shown in its read after a handler returned:\n%s",
		  snap ? snap : "(no threads.0001.txt)");
	free(line);
	run_path(&r, NULL, "threads.txt", path, sizeof(path));
	char *fin = read_file(path, NULL);
	line = dump_thread_line(fin, tid);
	cr_expect(line && strstr(line, "[running]"),
		  "final dump: main still shown waiting after siglongjmp out of read:\n%s",
		  fin ? fin : "(no threads.txt)");
	cr_expect(fin && !strstr(fin, "stuck"), "a false stuck report:\n%s", fin ? fin : "");
	free(line);
	free(snap);
	free(fin);
	run_free(&r);
}

/* A handler that siglongjmps, for a signal that arrives while the shim
 * works for its thread (every profile-table lock held, as while an event
 * is recorded): it runs once the shim is done, with what was sent, and
 * the program runs on. It used to run inside the shim: the jump left
 * the locks held and the guard raised, and the next recorded event
 * (its own thread's join) spun for ever. */
Test(signals, handler_jump_never_leaves_shim_locks_held, .timeout = 120)
{
	struct run r;
	run_prog(&r, &(struct run_opts){.prog = "longjmp_guard", .env2 = exact_env,
					.lib_env = "CONTEND_SEAMS_LIB", .timeout_s = 60});
	cr_assert(!r.timed_out, "the program hung after the jump; stdout:\n%s\nstderr:\n%s", r.out,
		  r.err);
	run_expect_success(&r);
	cr_expect_eq(run_value(&r, NULL, "handler_runs"), 1, "stdout:\n%s", r.out);
	cr_expect_eq(run_value(&r, NULL, "info_ok"), 1, "the handler's siginfo:\n%s", r.out);
	struct profile p;
	cr_assert(run_profile(&r, NULL, "block", &p), "no block profile; stderr:\n%s", r.err);
	/* The thread that jumped records again: its guard was left. */
	struct psum s = profile_sum(&p, &(struct stack_match){.leaf = "nanosleep",
							      .next = "after_jump"});
	cr_expect_eq(s.samples, 1, "the sleep after the jump was not recorded");
	if (s.samples != 1)
		profile_dump(&p, "block");
	profile_free(&p);
	run_free(&r);
}

/* A lock wait left by siglongjmp: the waiter's registration leaves with
 * it. Before, the lock's later unlocks were each charged for a waiter
 * that was gone, since the previous charge (idle gaps included): 1.62 s
 * on round_hold's unlocks for 0.16 s of real waits. */
Test(signals, lock_wait_left_by_siglongjmp_charges_nothing_more, .timeout = 120)
{
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "longjmp_lock", .args = (const char *[]){"10", "20000", NULL},
					.env = exact_env, .timeout_s = 90});
	cr_expect_eq(run_value(&r, NULL, "jumped"), 1, "%s", r.err);
	double expected = (double)run_value(&r, NULL, "expected_ns");
	double waited = (double)run_value(&r, NULL, "waited_ns");
	struct profile p;
	cr_assert(run_profile(&r, NULL, "mutex", &p));
	struct psum s = profile_sum(&p, &(struct stack_match){.leaf = "pthread_mutex_unlock",
							     .next = "round_hold"});
	expect_wait_bands(&p, (double)s.delay, expected, waited, 1.02, "round_hold's unlocks");
	cr_expect_eq(s.count, 10, "round_hold charged %lld times", (long long)s.count);
	profile_free(&p);
	run_free(&r);
}

/* exit() from a SIGTERM handler (tests/progs/exit_in_handler): the
 * process exits 3 in every case. The final dump allocates and loads, so
 * where the handler interrupted the C library, the loader or the
 * allocator (which may hold the heap's lock only the interrupted frame
 * would release: it hung the process for good), it writes nothing and
 * says so; where it interrupted the program's own code or a wrapped
 * blocking call, the profiles are written as at any exit. */
struct exit_case {
	const char *mode;
	bool dumps;
};

static const struct exit_case exit_cases[] = {
	{"libc", false}, {"program", true}, {"wait", true},
};

TABLE_TEST(signals, exit_from_handler_dumps_only_where_safe, exit_cases, c, .timeout = 120)
{
	struct run r;
	run_prog(&r, &(struct run_opts){.prog = "exit_in_handler",
					.args = (const char *[]){c->mode, NULL},
					.env = exact_env, .timeout_s = 40});
	cr_assert(!r.timed_out, "%s: still running 40 s after SIGTERM; stderr:\n%s", c->mode, r.err);
	cr_expect_eq(run_exit_code(&r), 3, "%s: exit code; stderr:\n%s", c->mode, r.err);
	bool said = strstr(r.err, "no profiles written at exit") != NULL;
	cr_expect_eq(said, !c->dumps, "%s: stderr:\n%s", c->mode, r.err);
	char path[PATH_MAX + 64];
	run_path(&r, NULL, "mutex.pb.gz", path, sizeof(path));
	bool wrote = access(path, F_OK) == 0;
	cr_expect_eq(wrote, c->dumps, "%s: mutex.pb.gz %s", c->mode, wrote ? "written" : "missing");
	struct profile p;
	if (wrote && run_profile(&r, NULL, "mutex", &p)) {
		struct psum s = profile_sum(&p, &(struct stack_match){.leaf = "pthread_mutex_unlock",
								      .next = "hold_until_waiter"});
		cr_expect_eq(s.count, 1, "%s: the one contention before the signal", c->mode);
		profile_free(&p);
	}
	run_free(&r);
}

/* The signal that comes in the middle of malloc() or free() (about 1 in 5
 * runs hung before): every run exits 3. */
Test(signals, exit_from_handler_in_malloc_never_hangs, .timeout = 400)
{
	for (int i = 0; i < 10; i++) {
		struct run r;
		run_prog(&r, &(struct run_opts){.prog = "exit_in_handler",
						.args = (const char *[]){"malloc", NULL},
						.timeout_s = 30});
		cr_assert(!r.timed_out, "run %d: hung after SIGTERM; stderr:\n%s", i, r.err);
		cr_expect_eq(run_exit_code(&r), 3, "run %d; stderr:\n%s", i, r.err);
		run_free(&r);
	}
}

/* Handlers that run on a small alternate signal stack (16 KiB, an unmapped
 * page below: tests/progs/altstack_handler), as under Python's
 * faulthandler, Go's runtime or Rust's std: our default-action handler
 * for SIGSEGV and SIGTERM runs there too (SA_ONSTACK), and exit() called
 * from such a handler runs the final dump there. Writing needs some 200
 * KiB of stack, so the forked copy ran off the alternate stack half-way
 * (no profiles; under faulthandler, whose stack sits in the heap, "Fatal
 * glibc error: malloc assertion failure" on the program's stderr), and
 * exit(3) from the handler became death by SIGSEGV. abort() from a handler
 * on Rust's 8 KiB stack (a Rust program's stack overflow) left our SIGABRT
 * handler about 1.4 KiB below its signal frame, and the first call of a
 * libc function through a lazily bound PLT slot takes 2.7 KiB there
 * (_dl_runtime_resolve_xsavec): death by SIGSEGV, not SIGABRT. Each ends
 * as natively, with nothing on stderr (notices off) and the one contention
 * in its profile. */
struct altstack_case {
	const char *mode;
	int signo; /* the death, or 0 for exit status 3 */
};

static const struct altstack_case altstack_cases[] = {
	{"crash", SIGSEGV}, {"term", SIGTERM}, {"exit", 0}, {"abort", SIGABRT},
};

TABLE_TEST(signals, handler_on_small_alternate_stack_ends_as_natively, altstack_cases, c,
	   .timeout = 120)
{
	struct run r;
	run_prog(&r, &(struct run_opts){.prog = "altstack_handler",
					.args = (const char *[]){c->mode, NULL},
					.env = exact_env,
					.env2 = (const char *[]){"CONTEND_QUIET=1", NULL},
					.timeout_s = 40});
	cr_assert(!r.timed_out, "%s: still running after 40 s; stderr:\n%s", c->mode, r.err);
	if (c->signo)
		cr_expect(WIFSIGNALED(r.status) && WTERMSIG(r.status) == c->signo,
			  "%s: expected death by signal %d, status %#x; stderr:\n%s", c->mode,
			  c->signo, r.status, r.err);
	else
		cr_expect_eq(run_exit_code(&r), 3, "%s: status %#x; stderr:\n%s", c->mode, r.status,
			     r.err);
	cr_expect(!r.err[0], "%s: stderr:\n%s", c->mode, r.err);
	struct profile p;
	bool have = run_profile(&r, NULL, "mutex", &p);
	cr_expect(have, "%s: no mutex profile", c->mode);
	if (have) {
		struct psum s = profile_sum(&p, &(struct stack_match){.leaf = "pthread_mutex_unlock",
								      .next = "hold_until_waiter"});
		cr_expect_eq(s.count, 1, "%s: the one contention", c->mode);
		profile_free(&p);
	}
	/* The thread dump is written last. */
	char path[PATH_MAX + 64];
	run_path(&r, NULL, "threads.pb.gz", path, sizeof(path));
	cr_expect(access(path, F_OK) == 0, "%s: no %s", c->mode, path);
	run_free(&r);
}

/* How a traced crash_fault run ended: the first and the last delivery of
 * its crash signal (what a core dump or a debugger sees is the last). */
struct crash_delivery {
	siginfo_t si;
	unsigned long long pc, sp;
};
struct crash_end {
	int status, deliveries;
	struct crash_delivery first, last;
	char out[256];
};

static void
traced_crash(const char *mode, const char *outdir, struct crash_end *e)
{
	memset(e, 0, sizeof(*e));
	char prog[PATH_MAX], tmpl[PATH_MAX + 16];
	prog_path(prog, sizeof(prog), "crash_fault");
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	pid_t c = fork();
	cr_assert_geq(c, 0);
	if (c == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		if (outdir) {
			snprintf(tmpl, sizeof(tmpl), "%s/out.%%p", outdir);
			setenv("CONTEND_OUT", tmpl, 1);
			setenv("CONTEND_QUIET", "1", 1);
			setenv("LD_PRELOAD", getenv("CONTEND_LIB"), 1);
		} else {
			unsetenv("LD_PRELOAD");
		}
		if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) != 0)
			_exit(126);
		execl(prog, prog, mode, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	int sig = strcmp(mode, "segv") ? SIGABRT : SIGSEGV, st;
	for (;;) {
		cr_assert_eq(waitpid(c, &st, __WALL), c);
		if (!WIFSTOPPED(st))
			break;
		int s = WSTOPSIG(st);
		if (s == sig) {
			struct crash_delivery d = {0};
			cr_assert_eq(ptrace(PTRACE_GETSIGINFO, c, NULL, &d.si), 0);
#if defined(__x86_64__)
			struct user_regs_struct regs;
			cr_assert_eq(ptrace(PTRACE_GETREGS, c, NULL, &regs), 0);
			d.pc = regs.rip;
			d.sp = regs.rsp;
#endif
			if (e->deliveries++ == 0)
				e->first = d;
			e->last = d;
		}
		/* The exec's SIGTRAP is the tracer's; every other signal goes on. */
		ptrace(PTRACE_CONT, c, NULL, (void *)(long)(s == SIGTRAP ? 0 : s));
	}
	e->status = st;
	ssize_t n = read(fds[0], e->out, sizeof(e->out) - 1);
	e->out[n > 0 ? n : 0] = '\0';
	close(fds[0]);
}

/* A crash ends under the shim as natively: once its profiles are
 * written, the signal that ends the process is delivered at the crashing
 * instruction, with its registers and its siginfo (a SIGSEGV's si_code and
 * address, abort()'s SI_TKILL), so that a core dump or a debugger shows the
 * program's own stack, not our handler's frames on a stack of ours, and
 * systemd-coredump records the fault. */
static void
crash_case(const char *mode)
{
	char dir[PATH_MAX];
	tmpdir_make(dir, sizeof(dir), "crash");
	struct crash_end plain, shim;
	traced_crash(mode, NULL, &plain);
	traced_crash(mode, dir, &shim);
	int sig = strcmp(mode, "segv") ? SIGABRT : SIGSEGV;
	cr_expect(WIFSIGNALED(plain.status) && WTERMSIG(plain.status) == sig, "%s plain: %#x",
		  mode, plain.status);
	cr_expect(WIFSIGNALED(shim.status) && WTERMSIG(shim.status) == sig, "%s: status %#x",
		  mode, shim.status);
	cr_expect_eq(plain.deliveries, 1, "%s plain", mode);
	cr_assert_geq(shim.deliveries, 1, "%s", mode);
	/* The first delivery is the crash itself (ours handles it). */
	cr_expect_eq(shim.first.si.si_code, plain.first.si.si_code, "%s", mode);
	cr_expect_eq(shim.last.si.si_code, shim.first.si.si_code, "%s: the end's si_code", mode);
	cr_expect_eq(shim.last.si.si_pid, shim.first.si.si_pid, "%s: the end's sender", mode);
	if (sig == SIGSEGV) {
		unsigned long long boom = 0, target = 0;
		const char *b = strstr(shim.out, "boom="), *t = strstr(shim.out, "target=");
		cr_assert(b && t, "%s", shim.out);
		boom = strtoull(b + 5, NULL, 16);
		target = strtoull(t + 7, NULL, 16);
		cr_expect_eq((unsigned long long)(uintptr_t)shim.last.si.si_addr, target,
			     "the end's fault address");
#if defined(__x86_64__)
		cr_expect(shim.first.pc >= boom && shim.first.pc < boom + 64, "%llx not in boom %llx",
			  shim.first.pc, boom);
#endif
	}
#if defined(__x86_64__)
	cr_expect_eq(shim.last.pc, shim.first.pc, "%s: the end's instruction", mode);
	cr_expect_eq(shim.last.sp, shim.first.sp, "%s: the end's stack pointer", mode);
#endif
	/* And the profiles were written first. */
	char path[PATH_MAX + 512];
	snprintf(path, sizeof(path), "%s/out.%d/mutex.pb.gz", dir, (int)shim.first.si.si_pid);
	if (sig == SIGSEGV) {
		/* A fault has no sender: the directory is the only one made. */
		DIR *d = opendir(dir);
		struct dirent *de;
		while (d && (de = readdir(d)))
			if (!strncmp(de->d_name, "out.", 4))
				snprintf(path, sizeof(path), "%s/%s/mutex.pb.gz", dir, de->d_name);
		if (d)
			closedir(d);
	}
	cr_expect(access(path, F_OK) == 0, "%s: no %s", mode, path);
	tmpdir_remove(dir);
}

Test(signals, segv_ends_at_the_fault, .timeout = 120) { crash_case("segv"); }
Test(signals, abort_ends_at_the_abort, .timeout = 120) { crash_case("abort"); }

/* While a crash dump is written, no other thread runs on: natively the
 * crash ended them all. A thread spinning for good (crash_fault park)
 * ran on for the whole dump before (a ticker of the same kind printed 16
 * lines in the 8 ms a small program's dump took); it must be parked in
 * our handler (rt_sigsuspend, every signal blocked) while the copy, held
 * 3 s by the seams library, writes, and the process still dies of the
 * fault. */
Test(signals, crash_dump_parks_the_other_threads, .timeout = 120)
{
	struct run r;
	run_start(&r, &(struct run_opts){.prog = "crash_fault",
					 .args = (const char *const[]){"park", NULL},
					 .lib_env = "CONTEND_SEAMS_LIB"});
	run_await_serving(&r, false);
	char *out = read_file(r.outpath, NULL);
	const char *t = out ? strstr(out, "ticker=") : NULL;
	int tid = t ? atoi(t + strlen("ticker=")) : 0;
	free(out);
	cr_assert_gt(tid, 0, "no ticker line");
	char path[128];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", (int)r.pid, tid);
	bool parked = false, gone = false;
	/* Bounded: the process dies 3 s after the fault at the latest. */
	for (int i = 0; i < 60000 && !parked && !gone; i++) {
		char *sc = read_file(path, NULL);
		gone = !sc;
		parked = sc && !strncmp(sc, "130 ", 4); /* rt_sigsuspend */
		free(sc);
		if (!parked && !gone)
			usleep(1000);
	}
	run_wait(&r, 60);
	cr_expect(parked, "the spinning thread was never parked (%s); stderr:\n%s",
		  gone ? "it ran until the process died" : "still running", r.err);
	cr_expect(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGSEGV,
		  "status %#x; stderr:\n%s", r.status, r.err);
	run_free(&r);
}

/* A crash signal sent by kill() while blocked, delivered when sigsuspend()
 * unblocks it: the default action ends the process in the call, as
 * natively. Our handler's return restores the caller's mask, which blocks
 * it: queued for that return, it stayed pending, and sigsuspend returned
 * EINTR to a program that ran on ("after", exit 0). */
static void
suspended_case(const char *mode, int sig)
{
	struct run r;
	for (int shim = 0; shim < 2; shim++) {
		run_prog(&r, &(struct run_opts){.prog = "crash_fault",
						.args = (const char *[]){mode, NULL},
						.no_preload = !shim, .timeout_s = 60});
		cr_expect(WIFSIGNALED(r.status) && WTERMSIG(r.status) == sig,
			  "%s %s: status %#x; stdout:\n%s", mode, shim ? "preloaded" : "plain",
			  r.status, r.out);
		expect_nothing_after(&r, mode);
		run_free(&r);
	}
}

Test(signals, abort_sent_during_sigsuspend_ends_there, .timeout = 120)
{
	suspended_case("suspend-abrt", SIGABRT);
}
Test(signals, segv_sent_during_sigsuspend_ends_there, .timeout = 120)
{
	suspended_case("suspend-segv", SIGSEGV);
}

/* A program that takes the dump signal itself, blocked, with no handler
 * (sigwait*, signalfd: a signal thread, an event loop), gets every one of
 * them: the shim's thread, which takes a dump signal the program leaves
 * blocked everywhere (Apache's workers), never takes one the program
 * waits for. Each mode failed with the shim's thread taking some. */
Test(signals, dump_signal_the_program_waits_for_stays_the_programs, .timeout = 300)
{
	static const char *const modes[] = {"sigwait", "sigwaitinfo", "sigtimedwait", "signalfd"};
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		struct run r;
		run_prog(&r, &(struct run_opts){.prog = "signal_taker",
						.args = (const char *[]){modes[i], NULL},
						.env = (const char *[]){"CONTEND_DUMP_SIGNAL=SIGUSR2", NULL},
						.timeout_s = 120});
		cr_expect(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0 && strstr(r.out, "taken 20"),
			  "%s: status %#x; stdout: %s; stderr: %s", modes[i], r.status, r.out, r.err);
		run_free(&r);
	}
}

/* The shim's signalfd closed by the program (a sweep of its descriptors)
 * and its number reused for a pipe of the program's: the shim's thread,
 * woken by the signal, must not read the pipe (it did: the program's
 * "hello" was gone), and takes the signal on a new signalfd (the dump
 * signal used to do nothing more there). */
Test(signals, closed_dump_signalfd_number_is_never_read, .timeout = 120)
{
	struct run r;
	run_prog(&r, &(struct run_opts){.prog = "signal_taker",
					.args = (const char *[]){"sweep", NULL},
					.env = (const char *[]){"CONTEND_DUMP_SIGNAL=SIGUSR2", NULL}});
	cr_expect(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0 && strstr(r.out, "kept 1 of 1") &&
			  strstr(r.out, "dumped"),
		  "status %#x; stdout: %s; stderr: %s", r.status, r.out, r.err);
	run_free(&r);
}

/* The dump signal (CONTEND_DUMP_SIGNAL=SIGWINCH, which natively changes
 * nothing) sent to a thread blocked in a call that any handler interrupts
 * whatever SA_RESTART says (tests/progs/dump_in_wait): the call goes on
 * as natively, to the end the program gives it (a byte on its pipe, its
 * own SIGUSR1 handler, a taken signal, its timeout), with its result and
 * errno; and the snapshot the signal asked for shows the thread in that
 * wait, not running. Before, poll, epoll_wait, select, the sleeps,
 * sigsuspend and the rest returned EINTR (sleep() its seconds left) at
 * once, to programs that never handle the signal; so did sem_timedwait
 * and a futex wait with a timeout made through syscall(). */
struct wait_case {
	const char *mode;
	const char *op;  /* in the snapshot, as "[op"; NULL: not looked at */
	int at_least_ms; /* the timeout the call must have waited out */
};

static const struct wait_case wait_cases[] = {
	{"poll", "poll", 0},
	{"ppoll", "ppoll", 0},
	{"select", "select", 0},
	{"pselect", "pselect", 0},
	{"epoll_wait", "epoll_wait", 0},
	{"epoll_pwait", "epoll_pwait", 0},
	{"read", "read", 0},
	{"nanosleep", "nanosleep", 0},
	{"clock_nanosleep", "clock_nanosleep", 0},
	{"sleep", "sleep", 0},
	{"usleep", "usleep", 0},
	{"sigsuspend", "sigsuspend", 0},
	{"pause", "pause", 0},
	{"sigtimedwait", "sigtimedwait", 0},
	{"sigwaitinfo", "sigwaitinfo", 0},
	{"sem_timedwait", "sem_timedwait", 0},
	{"futex", "futex_wait", 0},
	{"poll-timeout", "poll", 1500},
	{"ppoll-timeout", "ppoll", 1500},
	{"epoll_wait-timeout", "epoll_wait", 1500},
	{"nanosleep-timeout", "nanosleep", 1500},
	{"sleep-timeout", "sleep", 2000},
	{"usleep-timeout", "usleep", 1500},
	{"sigtimedwait-timeout", "sigtimedwait", 1500},
	{"sem_timedwait-timeout", "sem_timedwait", 1500},
	{"futex-timeout", "futex_wait", 1500},
	/* The snapshot comes while the thread runs its handler. */
	{"nested", NULL, 0},
};

TABLE_TEST(signals, dump_signal_interrupts_no_wait, wait_cases, c, .timeout = 180)
{
	static const char *const keys[] = {"r", "errno", "handled"};
	long long native[3];
	for (int shim = 0; shim < 2; shim++) {
		struct run r;
		run_ok(&r, &(struct run_opts){.prog = "dump_in_wait",
					      .args = (const char *[]){c->mode, NULL},
					      .env = (const char *[]){"CONTEND_DUMP_SIGNAL=SIGWINCH", NULL},
					      .no_preload = !shim, .timeout_s = 120});
		for (int k = 0; k < 3; k++) {
			long long v = run_value(&r, NULL, keys[k]);
			/* sleep(60)'s result is the seconds left when SIGUSR1
			 * ended it, which comes once the snapshot is written
			 * (11 s on a machine running four suites at once):
			 * any, as long as it is one; an early return is told
			 * by handled and waited_ms. */
			bool left = k == 0 && !strcmp(c->mode, "sleep");
			if (!shim)
				native[k] = v;
			else if (left)
				cr_expect(v > 0 && v < 60, "%s: r=%lld preloaded", c->mode, v);
			else
				cr_expect_eq(v, native[k], "%s: %s=%lld preloaded, %lld natively", c->mode,
					     keys[k], v, native[k]);
		}
		cr_expect_geq(run_value(&r, NULL, "waited_ms"), c->at_least_ms, "%s %s: %s", c->mode,
			      shim ? "preloaded" : "plain", r.out);
		if (shim && c->op) {
			char path[PATH_MAX + 64], want[96];
			run_path(&r, NULL, "threads.0001.txt", path, sizeof(path));
			char *dump = read_file(path, NULL);
			cr_assert(dump, "%s: no %s", c->mode, path);
			snprintf(want, sizeof(want), "thread %lld \"dump_in_wait\" [%s", run_value(&r, NULL, "tid"),
				 c->op);
			cr_expect(strstr(dump, want), "%s: no '%s' in the snapshot:\n%s", c->mode, want, dump);
			free(dump);
		}
		run_free(&r);
	}
}
