/* When and where profiles are written, and what the shim must leave
 * alone: nothing recorded means no files; CONTEND_QUIET; bad CONTEND_*
 * values; death by SIGINT/SIGTERM; fork children; a library constructor
 * that locks before ours; cancellation; and every behaviour program
 * giving the same results with and without the shim. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "testrun.h"

static const char *const quiet_env[] = {"CONTEND_QUIET=1", NULL};

/* Runs prog with args and exact sampling, expects exit 0, and checks that
 * the holder's stack hold_fn is charged about expected_ns (printed by the
 * program's harness) in the mutex profile under leaf. */
static void
expect_holder_charged(const struct run *r, const char *sub, const char *leaf, const char *hold_fn)
{
	struct profile p;
	double expected = (double)run_value(r, NULL, "expected_ns");
	cr_assert(run_profile(r, sub, "mutex", &p), "no mutex profile for %s", hold_fn);
	struct psum s = profile_sum(&p, &(struct stack_match){.leaf = leaf, .next = hold_fn});
	expect_ratio(&p, (double)s.delay, expected, BAND_ASKED_LO, BAND_ASKED_HI, "%s <- %s", leaf, hold_fn);
	profile_free(&p);
}

Test(lifecycle, nothing_recorded_writes_nothing, .timeout = 60)
{
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "idle"});
	cr_expect_str_eq(r.out, "idle: hello\n");
	cr_expect_str_eq(r.err, "");
	cr_expect(!path_exists(r.outdir), "%s was created by a process that recorded nothing",
		  r.outdir);
	run_free(&r);
}

/* Issue 12, start-up: every preloaded process runs the shim's init, and
 * most record nothing (a shell, each child of make -j). Each page of the
 * shim's static data that the init first touches is a page fault (some
 * 20 us on the VMs we measure on): the relocated data, and the variables
 * and paths the init writes, gathered on few pages (CT_INIT_HOT,
 * core/paths.h, the signal table by slot). 15 pages before, 7 after;
 * the count depends on the layout only, not on the machine's load. */
Test(lifecycle, init_touches_few_pages_of_static_data, .timeout = 60)
{
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "shim_pages"});
	long pages = (long)run_value(&r, NULL, "shim_data_pages");
	long span = (long)run_value(&r, NULL, "shim_data_span");
	cr_expect_gt(pages, 0, "the shim's data not found");
	cr_expect_leq(pages, 8, "the init touched %ld pages of the shim's %ld of static data",
		      pages, span);
	run_free(&r);
}

/* Every fork child runs the shim's fork handlers, most of them only to
 * exec (each command a shell forks) or to serve one connection and exit:
 * each page of the shim's static data the handlers write is a
 * copy-on-write fault of its own (some 25 us on the VMs we measure on).
 * What they write is gathered in CT_FORK_HOT (two pages, as it straddles
 * one boundary). Spread out (the stack unwinder's "threads were
 * created", the live thread's state, the fatal dump's owner, the output
 * directory, the lock-site locks the child scans for one held at the
 * fork), it was 7 pages after a thread, a contended mutex and a fork
 * (b46e9c0); 2 now. Layout only, not load. */
Test(lifecycle, fork_child_touches_few_pages_of_static_data, .timeout = 60)
{
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "shim_pages", .args = (const char *[]){"fork", NULL}});
	long pages = (long)run_value(&r, NULL, "shim_fork_pages");
	cr_expect_gt(pages, 0, "the fork child wrote none of the shim's data (not preloaded?)");
	cr_expect_leq(pages, 3, "the fork child copied %ld pages of the shim's static data",
		      pages);
	run_free(&r);
}

/* CONTEND_QUIET: 1 says nothing, 0 one stderr line saying where the files
 * went, and auto (the default) the line only when stderr is a terminal:
 * a program whose stderr is a pipe (a test suite comparing it) gets
 * nothing of ours mixed in. The files are written in every case. */
static const struct {
	const char *env;
	bool line;
} quiet_cases[] = {
	{"CONTEND_QUIET=1", false},
	{"CONTEND_QUIET=0", true},
	{"CONTEND_QUIET=auto", false},
};

TABLE_TEST(lifecycle, quiet, quiet_cases, c, .timeout = 60)
{
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "mutex_hold",
					.args = (const char *[]){"2", "20000", "1", NULL},
					.env = (const char *[]){c->env, NULL}});
	char path[PATH_MAX];
	run_path(&r, NULL, "mutex.pb.gz", path, sizeof(path));
	cr_expect(path_exists(path), "no %s (%s)", path, c->env);
	if (!c->line) {
		cr_expect_str_eq(r.err, "", "%s but stderr has: %s", c->env, r.err);
	} else {
		cr_expect_eq(count_lines(r.err), 1, "stderr:\n%s", r.err);
		cr_expect(strstr(r.err, "libcontend") && strstr(r.err, r.outdir),
			  "the stderr line should name libcontend and %s: %s", r.outdir, r.err);
	}
	run_free(&r);
}

/* The default on a terminal: the program's stderr is a pseudo-terminal
 * (as for a person running it by hand), so the line is there. */
/* mutex_hold preloaded on a pseudo-terminal: a fresh directory dir (out/
 * in it as CONTEND_OUT), the program's path, its environment, and the
 * terminal's master end (returned). pty->env's strings live in pty. */
struct pty_run {
	char dir[PATH_MAX], out[PATH_MAX + 16], prog[PATH_MAX], preload[PATH_MAX + 16];
	struct envlist env;
};

static int
pty_run_setup(struct pty_run *pty, const char *tag)
{
	tmpdir_make(pty->dir, sizeof(pty->dir), tag);
	snprintf(pty->out, sizeof(pty->out), "CONTEND_OUT=%s/out", pty->dir);
	snprintf(pty->preload, sizeof(pty->preload), "LD_PRELOAD=%s", env_required("CONTEND_LIB"));
	prog_path(pty->prog, sizeof(pty->prog), "mutex_hold");
	int master = posix_openpt(O_RDWR | O_NOCTTY);
	cr_assert(master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0);
	cr_assert_not_null(ptsname(master));
	envlist_clean(&pty->env);
	envlist_push(&pty->env, pty->preload);
	envlist_push(&pty->env, pty->out);
	return master;
}

Test(lifecycle, quiet_auto_on_a_terminal, .timeout = 60)
{
	struct pty_run pty;
	int master = pty_run_setup(&pty, "quiet-tty");
	char *dir = pty.dir, *prog = pty.prog;
	struct envlist env = pty.env;
	int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	cr_assert(slave >= 0);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(slave, 2);
		execve(prog, (char *[]){prog, "2", "20000", "1", NULL}, (char **)env.v);
		_exit(127);
	}
	envlist_free(&env);
	close(slave);
	char buf[4096];
	size_t n = 0;
	for (;;) { /* EIO once the program has exited and closed its end */
		ssize_t k = read(master, buf + n, sizeof(buf) - 1 - n);
		if (k > 0 && (n += (size_t)k) < sizeof(buf) - 1)
			continue;
		if (k < 0 && errno == EINTR)
			continue;
		break;
	}
	buf[n] = 0;
	close(master);
	int status;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d", status);
	cr_expect(strstr(buf, "libcontend: wrote ") && strstr(buf, dir),
		  "no \"wrote\" line on the terminal:\n%s", buf);
	tmpdir_remove(dir);
}

/* `./server &` in a shell with `stty tostop`: the program runs in a
 * background group of the terminal's session and writes nothing to the
 * terminal itself, so natively it exits; the shim's "wrote" line there
 * would have the kernel stop it with SIGTTOU (a job stopped for good).
 * The line is dropped instead. A session of its own with the pty as its
 * controlling terminal, TOSTOP set, the program in a group of its own. */
Test(lifecycle, background_job_under_tostop_is_not_stopped, .timeout = 60)
{
	struct pty_run pty;
	int master = pty_run_setup(&pty, "tostop");
	char *dir = pty.dir, *prog = pty.prog;
	const char *slave_name = ptsname(master);
	envlist_push(&pty.env, "CONTEND_QUIET=0");
	struct envlist env = pty.env;
	fflush(NULL);
	pid_t leader = fork();
	cr_assert(leader >= 0);
	if (leader == 0) {
		/* Exit codes: 0 exited 0, 1 exited otherwise, 2 stopped, 9 setup. */
		int slave;
		struct termios t;
		if (setsid() < 0 || (slave = open(slave_name, O_RDWR)) < 0 ||
		    ioctl(slave, TIOCSCTTY, 0) != 0 || tcgetattr(slave, &t) != 0)
			_exit(9);
		t.c_lflag |= TOSTOP;
		if (tcsetattr(slave, TCSANOW, &t) != 0)
			_exit(9);
		pid_t job = fork();
		if (job == 0) {
			setpgid(0, 0);
			int null = open("/dev/null", O_WRONLY);
			dup2(null, 1);
			dup2(slave, 2);
			child_default_signals();
			execve(prog, (char *[]){prog, "2", "20000", "1", NULL}, (char **)env.v);
			_exit(127);
		}
		setpgid(job, job);
		int st;
		if (job < 0 || waitpid(job, &st, WUNTRACED) != job)
			_exit(9);
		if (WIFSTOPPED(st)) {
			kill(job, SIGKILL);
			waitpid(job, &st, 0);
			_exit(2);
		}
		_exit(WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1);
	}
	envlist_free(&env);
	/* Drain the terminal meanwhile: nothing may block on it. */
	fcntl(master, F_SETFL, O_NONBLOCK);
	int status;
	char buf[4096];
	double deadline = mono_s() + 50;
	while (waitpid(leader, &status, WNOHANG) == 0) {
		cr_assert(mono_s() < deadline, "the job neither exited nor stopped");
		if (read(master, buf, sizeof(buf)) <= 0)
			sleep_ms(10);
	}
	close(master);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) != 9, "setting up the job failed");
	cr_expect_neq(WEXITSTATUS(status), 2, "the background job was stopped (SIGTTOU)");
	cr_expect_eq(WEXITSTATUS(status), 0, "the job did not exit with 0");
	char path[PATH_MAX + 32];
	snprintf(path, sizeof(path), "%s/out/mutex.pb.gz", dir);
	cr_expect(path_exists(path), "no %s", path);
	tmpdir_remove(dir);
}

/* A bad value: one stderr line naming the variable and what it accepts;
 * the program's output and exit status unchanged; the default used. */
struct bad_config {
	const char *env;
	const char *mentions[3]; /* besides the variable's name */
};

static const struct bad_config bad_configs[] = {
	{"CONTEND_MUTEX_FRACTION=abc", {"0", "1000000000"}},
	{"CONTEND_MUTEX_FRACTION=-1", {"0", "1000000000"}},
	{"CONTEND_BLOCK_RATE=1e4", {"0", "1000000000000"}},
	{"CONTEND_BLOCK_RATE=99999999999999999999999", {"0", "1000000000000"}},
	{"CONTEND_TABLE_SIZE=1", {"64", "1048576"}},
	{"CONTEND_OBJECTS=10k", {"64", "1048576"}},
	{"CONTEND_STACK_DEPTH=0", {"1", "128"}},
	{"CONTEND_STACK_DEPTH=129", {"1", "128"}},
	{"CONTEND_QUIET=maybe", {"0", "1"}},
	{"CONTEND_OUT=out%z", {"%p"}},
};

TABLE_TEST(lifecycle, bad_config, bad_configs, c, .timeout = 60)
{
	const char *env[] = {c->env, NULL};
	char name[64];
	snprintf(name, sizeof(name), "%.*s", (int)(strchr(c->env, '=') - c->env), c->env);
	struct run_opts o = {.prog = "idle", .args = (const char *[]){"3", NULL}, .env = env};
	if (!strcmp(name, "CONTEND_OUT")) /* run_prog sets it: pass the bad value there */
		o = (struct run_opts){.prog = "idle", .args = o.args,
				      .out = strchr(c->env, '=') + 1, .raw_out = true};
	struct run r;
	run_prog(&r, &o);
	cr_expect_eq(run_exit_code(&r), 3, "%s changed the exit status", c->env);
	cr_expect_str_eq(r.out, "idle: hello\n", "%s changed stdout", c->env);
	cr_expect_eq(count_lines(r.err), 1, "%s: expected one stderr line, got:\n%s", c->env, r.err);
	cr_expect(strstr(r.err, name), "%s: the warning does not name %s: %s", c->env, name, r.err);
	for (int k = 0; c->mentions[k]; k++)
		cr_expect(strstr(r.err, c->mentions[k]), "%s: the warning does not say '%s': %s",
			  c->env, c->mentions[k], r.err);
	run_free(&r);
}

/* VAR= is how an environment unsets a variable (systemd's Environment=,
 * docker -e, a shell's `VAR= prog`): the default, and not a word said. */
Test(lifecycle, empty_values_are_unset, .timeout = 60)
{
	static const char *const env[] = {"CONTEND_MUTEX_FRACTION=", "CONTEND_BLOCK_RATE=",
					  "CONTEND_QUIET=",	     "CONTEND_INTERVAL=",
					  "CONTEND_STUCK=",	     "CONTEND_DUMP_SIGNAL=",
					  "CONTEND_HTTP=",	     "CONTEND_IO=",
					  NULL};
	struct run r;
	run_prog(&r, &(struct run_opts){.prog = "idle", .args = (const char *[]){"3", NULL},
					.env = env});
	cr_expect_eq(run_exit_code(&r), 3);
	cr_expect_str_eq(r.out, "idle: hello\n");
	cr_expect_str_eq(r.err, "", "empty values were complained about:\n%s", r.err);
	run_free(&r);
}

/* CONTEND_HELP=1 prints the table of variables on stderr; the program's
 * output and status are unchanged. */
Test(lifecycle, help, .timeout = 60)
{
	static const char *const env[] = {"CONTEND_HELP=1", NULL};
	static const char *const names[] = {
		"CONTEND_MUTEX_FRACTION", "CONTEND_BLOCK_RATE", "CONTEND_OUT",
		"CONTEND_QUIET", "CONTEND_TABLE_SIZE", "CONTEND_OBJECTS",
		"CONTEND_STACK_DEPTH", "CONTEND_HELP",
	};
	struct run r;
	run_prog(&r, &(struct run_opts){.prog = "idle", .args = (const char *[]){"3", NULL},
					.env = env});
	cr_expect_eq(run_exit_code(&r), 3);
	cr_expect_str_eq(r.out, "idle: hello\n");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		cr_expect(strstr(r.err, names[i]), "CONTEND_HELP=1 does not list %s:\n%s", names[i],
			  r.err);
	run_free(&r);
}

/* CONTEND_OUT: %p, %h and %% are expanded. */
Test(lifecycle, out_template, .timeout = 60)
{
	char host[256] = "", sub[512];
	cr_assert(gethostname(host, sizeof(host) - 1) == 0);
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "mutex_hold",
					.args = (const char *[]){"2", "50000", "2", NULL},
					.env = exact_env, .env2 = quiet_env, .out = "o.%h.%p.%%"});
	snprintf(sub, sizeof(sub), "o.%s.%d.%%", host, (int)r.pid);
	expect_holder_charged(&r, sub, "pthread_mutex_unlock", "hold_and_sleep");
	run_free(&r);
}

/* An output directory that cannot be made: one stderr line naming it; the
 * program's output and exit status unchanged. */
Test(lifecycle, unwritable_out, .timeout = 60)
{
	static const char *const bad[] = {"/proc/self/no/such/dir", "/dev/null"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct run r;
		run_ok(&r, &(struct run_opts){.prog = "barrier_wait",
						.args = (const char *[]){"2", "20000", "2", NULL},
						.out = bad[i], .raw_out = true});
		cr_expect(strstr(r.out, "waited_ns="), "stdout: %s", r.out);
		cr_expect_eq(count_lines(r.err), 1, "%s: stderr:\n%s", bad[i], r.err);
		cr_expect(strstr(r.err, bad[i]), "the error does not name %s: %s", bad[i], r.err);
		run_free(&r);
	}
}

/* A fraction or rate of 0 turns that profile off; both off records
 * nothing, so nothing is written. */
struct off_case {
	const char *env[3];
	bool mutex_on, block_on;
};

static const struct off_case off_cases[] = {
	{{"CONTEND_MUTEX_FRACTION=0", "CONTEND_BLOCK_RATE=1"}, false, true},
	{{"CONTEND_MUTEX_FRACTION=1", "CONTEND_BLOCK_RATE=0"}, true, false},
	{{"CONTEND_MUTEX_FRACTION=0", "CONTEND_BLOCK_RATE=0"}, false, false},
};

TABLE_TEST(lifecycle, profile_off, off_cases, c, .timeout = 60)
{
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "mutex_hold",
					.args = (const char *[]){"2", "50000", "1", NULL},
					.env = c->env, .env2 = quiet_env});
	if (!c->mutex_on && !c->block_on) {
		cr_expect(!path_exists(r.outdir), "%s written with both profiles off", r.outdir);
	} else {
		static const char *const kinds[] = {"mutex", "block"};
		for (int k = 0; k < 2; k++) {
			bool on = k == 0 ? c->mutex_on : c->block_on;
			char path[PATH_MAX], file[32];
			snprintf(file, sizeof(file), "%s.pb.gz", kinds[k]);
			run_path(&r, NULL, file, path, sizeof(path));
			struct profile p;
			if (!on && !path_exists(path))
				continue; /* off and absent is fine too */
			if (!profile_load(&p, path))
				continue;
			if (on)
				cr_expect_gt(p.nsamples, 0, "%s, %s: no samples", c->env[0], kinds[k]);
			else
				cr_expect_eq(p.nsamples, 0, "%s, %s: %zu samples while off", c->env[0],
					     kinds[k], p.nsamples);
			profile_free(&p);
		}
	}
	run_free(&r);
}

/* After a bad value the default is in force, seen in what is recorded. */
struct default_case {
	const char *env[4];
	const char *prog;
	const char *args[4];
	void (*check)(const struct run *r);
};

/* CONTEND_MUTEX_FRACTION's default 100: each sampled unlock counts 100.
 * 1000 rounds with 2 waiters are 2000 contended unlocks (the holder's, then
 * the first waiter's with the second still blocked): none sampled has
 * probability 0.99^2000, 2e-9. */
static void
check_fraction_100(const struct run *r)
{
	struct profile p;
	cr_assert(run_profile(r, NULL, "mutex", &p));
	cr_expect_gt(p.nsamples, 0, "no mutex sample from 2000 contended unlocks");
	cr_expect_eq(profile_comment_num(&p, "fraction"), 100, "the profile states fraction %lld, not the default 100",
		     profile_comment_num(&p, "fraction"));
	for (size_t i = 0; i < p.nsamples; i++)
		cr_expect_eq(p.samples[i].count % 100, 0, "a sample counts %lld contentions",
			     (long long)p.samples[i].count);
	profile_free(&p);
}

/* CONTEND_TABLE_SIZE's default 4096: 100 stacks fit. */
static void
check_table_4096(const struct run *r)
{
	struct profile p;
	cr_assert(run_profile(r, NULL, "block", &p));
	struct psum full = profile_sum(&p, &(struct stack_match){.leaf = "[libcontend: table full]"});
	cr_expect_eq(full.samples, 0, "the table overflowed: not the default size");
	profile_free(&p);
}

/* CONTEND_STACK_DEPTH's default 64: the holder's whole stack down to main. */
static void
check_depth_64(const struct run *r)
{
	struct profile p;
	cr_assert(run_profile(r, NULL, "mutex", &p));
	struct psum s = profile_sum(&p, &(struct stack_match){.leaf = "pthread_mutex_unlock",
							    .next = "hold_and_sleep",
							    .contains = "main"});
	cr_expect_gt(s.samples, 0, "no stack reaches main: not the default depth");
	profile_free(&p);
}

static const struct default_case default_cases[] = {
	{{"CONTEND_MUTEX_FRACTION=abc"}, "mutex_hold", {"2", "200", "1000"}, check_fraction_100},
	{{"CONTEND_TABLE_SIZE=1", "CONTEND_BLOCK_RATE=1", "CONTEND_IO=0"}, "many_stacks",
	 {"50", "1000"}, check_table_4096},
	{{"CONTEND_STACK_DEPTH=0", "CONTEND_MUTEX_FRACTION=1"}, "mutex_hold",
	 {"2", "20000", "1"}, check_depth_64},
};

TABLE_TEST(lifecycle, bad_value_keeps_default, default_cases, c, .timeout = 60)
{
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = c->prog, .args = c->args, .env = c->env});
	c->check(&r);
	run_free(&r);
}

/* An invalid CONTEND_OUT falls back to the default contend.<pid> in the
 * working directory. */
Test(lifecycle, bad_out_uses_default, .timeout = 60)
{
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "mutex_hold",
					.args = (const char *[]){"2", "50000", "2", NULL},
					.env = quiet_env, .env2 = exact_env,
					.out = "bad%z", .raw_out = true});
	cr_expect_eq(count_lines(r.err), 1, "stderr:\n%s", r.err);
	cr_expect(strstr(r.err, "CONTEND_OUT"), "stderr: %s", r.err);
	char sub[64];
	snprintf(sub, sizeof(sub), "contend.%d", (int)r.pid);
	expect_holder_charged(&r, sub, "pthread_mutex_unlock", "hold_and_sleep");
	run_free(&r);
}

/* SIGINT/SIGTERM at their default action: the profiles are written and
 * the process dies of the same signal. "rearm": the program installed a
 * handler of its own and then restored SIG_DFL. "malloc": another thread
 * holds a malloc lock for a moment when the signal comes; "malloc-self":
 * the signal goes to that thread. (tests/integration/test_signals.c
 * checks that no program code runs after the signal.) */
struct signal_case {
	const char *mode, *sig;
	int signo;
	bool profiles; /* written */
};

static const struct signal_case signal_cases[] = {
	{"die", "INT", SIGINT, true},
	{"die", "TERM", SIGTERM, true},
	{"rearm", "INT", SIGINT, true},
	{"rearm", "TERM", SIGTERM, true},
	/* Another thread holds the main arena's lock for 400 ms (inside
	 * malloc_stats()) when the signal comes: the dump's fork must wait it
	 * out so the copy can allocate (glibc's fork() does; _Fork() would
	 * leave the lock held in the copy for good). */
	{"malloc", "TERM", SIGTERM, true},
	/* The same, but the signal lands on the thread holding that lock
	 * (kill(1) may pick any thread). Inside malloc, that thread would
	 * finish the call first (test_signals.c); malloc_stats() writes out
	 * while it holds the lock, output the signal cut short natively, so
	 * it is not let finish: the lock stays held and no copy of the
	 * process can allocate: no profiles, but the same death, within the
	 * fork's time limit, and a line on stderr saying why. */
	{"malloc-self", "TERM", SIGTERM, false},
	/* The main thread waits inside malloc() for that lock, held for
	 * good, when the signal comes to it: inside malloc, it is let
	 * finish the call first (test_signals.c), but this call never ends.
	 * It must die all the same, within a bounded time (1 s for the call,
	 * 2 s for the fork), with no profiles. */
	{"malloc-waiter", "TERM", SIGTERM, false},
};

TABLE_TEST(lifecycle, fatal_signal, signal_cases, c, .timeout = 60)
{
	struct run r;
	run_prog(&r, &(struct run_opts){.prog = "behave_signal",
					.args = (const char *[]){c->mode, c->sig, NULL},
					.env = exact_env});
	cr_expect(WIFSIGNALED(r.status) && WTERMSIG(r.status) == c->signo,
		  "%s %s: expected death by signal %d, got %s %d; stderr:\n%s", c->mode, c->sig,
		  c->signo, WIFSIGNALED(r.status) ? "signal" : "exit status",
		  WIFSIGNALED(r.status) ? WTERMSIG(r.status) : WEXITSTATUS(r.status), r.err);
	cr_expect(!strstr(r.err, "FAIL"), "%s %s: the program ran on: %s", c->mode, c->sig, r.err);
	if (!c->profiles) {
		cr_expect(strstr(r.err, "no profiles written"), "%s %s: stderr:\n%s", c->mode,
			  c->sig, r.err);
		run_free(&r);
		return;
	}
	expect_holder_charged(&r, NULL, "pthread_mutex_unlock", "signal_hold");
	struct profile b;
	if (run_profile(&r, NULL, "block", &b)) {
		struct psum s = profile_sum(&b, &(struct stack_match){.leaf = "pthread_mutex_lock",
								      .next = "signal_wait"});
		cr_expect_gt(s.count, 0, "%s %s: no waits of signal_wait", c->mode, c->sig);
		profile_free(&b);
	}
	run_free(&r);
}

/* The program's own view of SIGINT/SIGTERM is untouched (sigaction and
 * signal report SIG_DFL, its handlers run). */
Test(lifecycle, own_signal_handlers, .timeout = 60)
{
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "behave_signal",
					.args = (const char *[]){"handlers", NULL}});
	run_free(&r);
}

/* A strict ISO C program, where signal() is __sysv_signal, and sigset():
 * these flavours too must return SIG_DFL for a signal the program never
 * touched, and sigaction() must then report the program's handler, not
 * SIG_DFL. */
Test(lifecycle, strict_c_signal_view, .timeout = 60)
{
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "strict_signal"});
	run_free(&r);
}

/* Fork: the child keeps working, records its own events only and writes
 * them to contend.<childpid>; a child that recorded nothing, or left with
 * _exit(), writes nothing; a process-shared mutex works across the fork. */
Test(lifecycle, fork_children, .timeout = 60)
{
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "behave_fork", .env = exact_env, .out = "c.%p"});
	char parent[64], child[64], idle[64], quick[64], pshared[64];
	snprintf(parent, sizeof(parent), "c.%d", (int)r.pid);
	snprintf(child, sizeof(child), "c.%lld", run_value(&r, NULL, "child_pid"));
	snprintf(idle, sizeof(idle), "c.%lld", run_value(&r, NULL, "idle_child_pid"));
	snprintf(quick, sizeof(quick), "c.%lld", run_value(&r, NULL, "quick_child_pid"));
	snprintf(pshared, sizeof(pshared), "c.%lld", run_value(&r, NULL, "pshared_child_pid"));

	struct profile p;
	static const struct {
		const char *sub_of; /* "parent" or "child" */
		const char *has, *lacks;
	} who[] = {
		{"parent", "parent_hold", "child_hold"},
		{"child", "child_hold", "parent_hold"},
	};
	for (int k = 0; k < 2; k++) {
		const char *sub = k == 0 ? parent : child;
		if (!run_profile(&r, sub, "mutex", &p))
			continue;
		struct psum has = profile_sum(&p, &(struct stack_match){.leaf = "pthread_mutex_unlock",
									.next = who[k].has});
		struct psum lacks = profile_sum(&p, &(struct stack_match){.contains = who[k].lacks});
		/* 2 waiters x 50 ms x 2 rounds */
		expect_ratio(&p, (double)has.delay, 200e6, BAND_ASKED_LO, BAND_ASKED_HI, "%s: %s", who[k].sub_of,
			     who[k].has);
		cr_expect_eq(lacks.samples, 0, "%s's profile has %zu samples of %s", who[k].sub_of,
			     lacks.samples, who[k].lacks);
		profile_free(&p);
	}
	char path[PATH_MAX];
	run_path(&r, idle, "", path, sizeof(path));
	cr_expect(!path_exists(path), "the idle child wrote %s", path);
	run_path(&r, quick, "", path, sizeof(path));
	cr_expect(!path_exists(path), "the child that left with _exit() wrote %s", path);
	if (run_profile(&r, pshared, "block", &p)) {
		struct psum s = profile_sum(&p, &(struct stack_match){.leaf = "pthread_mutex_lock",
								      .next = "pshared_child_lock"});
		/* At least 50 ms; more when the child was slow to block. */
		expect_ratio(&p, (double)s.delay, 50e6, 0.95, BAND_ASKED_HI, "pshared child's wait");
		profile_free(&p);
	}
	run_free(&r);
}

/* libctor_lock.so's constructor locks (contended, condvar, semaphore,
 * join) before libcontend's constructor: those calls work and profiling
 * works afterwards. */
Test(lifecycle, foreign_constructor, .timeout = 60)
{
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "ctor_prog",
					.args = (const char *[]){"2", "100000", "2", NULL},
					.env = exact_env});
	expect_holder_charged(&r, NULL, "pthread_mutex_unlock", "ctor_prog_hold");
	run_free(&r);
}

/* Another preloaded library whose malloc takes a pthread mutex (like many
 * allocators; jemalloc's arenas too): threads that only allocate contend
 * for it, so the shim records those waits inside malloc, just after the
 * lock was taken (main holds it while they start: waits by construction).
 * Recording must not allocate there: the allocator counts calls nested in
 * its own calls, and there must be none. */
struct allocator_case {
	bool allocator_first;
	const char *env[3];
};

static const struct allocator_case allocator_cases[] = {
	{false, {"CONTEND_MUTEX_FRACTION=1", "CONTEND_BLOCK_RATE=1"}},
	{true, {"CONTEND_MUTEX_FRACTION=1", "CONTEND_BLOCK_RATE=1"}},
	{true, {NULL}}, /* default sampling */
};

TABLE_TEST(lifecycle, locking_allocator, allocator_cases, c, .timeout = 60)
{
	char lib[PATH_MAX];
	prog_path(lib, sizeof(lib), "liblockmalloc.so");
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "malloc_threads",
					.args = (const char *[]){"4", "20000", NULL},
					.env = c->env, .env2 = quiet_env, .also_preload = lib,
					.also_first = c->allocator_first, .timeout_s = 10});
	cr_expect(strstr(r.err, "lockmalloc: nested=0\n"),
		  "the shim allocated while recording inside malloc:\n%s", r.err);
	struct profile p;
	cr_assert(run_profile(&r, NULL, "block", &p), "stderr:\n%s", r.err);
	struct psum s = profile_sum(&p, &(struct stack_match){.leaf = "pthread_mutex_lock",
							      .next = "malloc"});
	cr_expect_gt(s.count, 0, "no wait for the allocator's lock recorded");
	profile_free(&p);
	run_free(&r);
}

/* Threads cancelled inside pthread_cond_wait / sem_wait: cleanup runs,
 * the program carries on and profiles what it does next. */
Test(lifecycle, cancellation, .timeout = 60)
{
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "behave_cancel", .env = exact_env});
	expect_holder_charged(&r, NULL, "pthread_mutex_unlock", "after_cancel_hold");
	run_free(&r);
}

/* Behaviour programs: exit 0 (their own checks pass) with and without the
 * shim, and print the same results (timings and pids aside). */
struct same_case {
	const char *prog;
	const char *args[4];
};

static const struct same_case same_cases[] = {
	{"behave_locks", {NULL}},
	{"behave_cancel", {NULL}},
	{"behave_fork", {NULL}},
	{"behave_signal", {"handlers", NULL}},
	{"timed_waits", {NULL}},
	{"barrier_wait", {"3", "20000", "5"}},
	{"join_wait", {"20000", "3"}},
	{"ctor_prog", {"2", "20000", "2"}},
	{"stress", {NULL}},
	{"cxx_locks", {"1", "10000", "1"}},
	{"strict_signal", {NULL}},
};

TABLE_TEST(lifecycle, same_results, same_cases, c, .timeout = 120)
{
	static const char *const varying[] = {"_ns=", "_pid=", NULL};
	struct run plain, shim;
	run_ok(&plain, &(struct run_opts){.prog = c->prog, .args = c->args, .no_preload = true});
	run_ok(&shim, &(struct run_opts){.prog = c->prog, .args = c->args, .env = exact_env,
					   .env2 = quiet_env});
	char *a = filter_lines(plain.out, varying), *b = filter_lines(shim.out, varying);
	cr_expect_str_eq(b, a, "%s: output differs under the shim", c->prog);
	cr_expect_str_eq(shim.err, "", "%s: stderr under the shim: %s", c->prog, shim.err);
	free(a);
	free(b);
	run_free(&plain);
	run_free(&shim);
}

/* A program that takes over every descriptor it did not open (dup2 of
 * a file of its own onto each, as a daemon's sweep and reuse or a shell's
 * `exec N>FILE` do) after the shim kept symbol files open for its fork
 * children, then loads a library and forks again: the shim drops what it
 * kept and must not close what are now the program's descriptors (it did:
 * every one it took was closed under it). */
Test(lifecycle, descriptors_taken_over_by_the_program_stay_open, .timeout = 60)
{
	char dir[PATH_MAX], data[PATH_MAX + 16], lib[PATH_MAX];
	tmpdir_make(dir, sizeof(dir), "fdtake");
	snprintf(data, sizeof(data), "%s/data", dir);
	prog_path(lib, sizeof(lib), "libdl_hold.so");
	struct run r;
	run_prog(&r, &(struct run_opts){.prog = "fds_taken", .args = (const char *[]){lib, data, NULL}});
	run_expect_success(&r);
	long long taken = run_value(&r, NULL, "taken");
	cr_expect_gt(taken, 0, "the shim kept no file open for children: nothing was tested");
	cr_expect_eq(run_value(&r, NULL, "lost"), 0, "%lld of %lld descriptors closed under the program",
		     run_value(&r, NULL, "lost"), taken);
	size_t n = 0;
	char *got = read_file(data, &n);
	cr_expect_eq((long long)n, taken, "the program's file has %zu bytes", n);
	free(got);
	tmpdir_remove(dir);
	run_free(&r);
}

/* The shim's own descriptors (the dumper's wake-up channel, made before main;
 * the HTTP server's socket; the signalfd its thread reads) sit high, out
 * of the numbers the program's open() gets (tests/progs/fd_numbers): with
 * them at 3 and up, php-fpm logged another number for the socket it hands
 * across its reload, and every number the program got was shifted. */
Test(lifecycle, own_descriptors_leave_the_programs_numbers_alone, .timeout = 60)
{
	const char *const env[] = {"CONTEND_DUMP_SIGNAL=SIGUSR2", "CONTEND_HTTP=:0", NULL};
	struct run plain, shim;
	run_prog(&plain, &(struct run_opts){.prog = "fd_numbers", .no_preload = true});
	run_prog(&shim, &(struct run_opts){.prog = "fd_numbers", .args = (const char *[]){"dump", NULL},
					   .env = env});
	run_expect_success(&plain);
	run_expect_success(&shim);
	cr_expect_eq(run_value(&shim, NULL, "first"), run_value(&plain, NULL, "first"),
		     "the first descriptor the program opened; stderr:\n%s", shim.err);
	cr_expect_eq(run_value(&shim, NULL, "second"), run_value(&plain, NULL, "second"),
		     "the descriptor it opened after a thread dump; stderr:\n%s", shim.err);
	run_free(&plain);
	run_free(&shim);
}

/* exit() from the last thread left, on a 16 KiB stack of the program's
 * choosing: the final dump runs on a stack of ours (it needs far more),
 * and the status is the program's (it died of SIGSEGV, status 139). */
Test(lifecycle, exit_from_a_small_stack_ends_as_natively, .timeout = 60)
{
	struct run r;
	run_prog(&r, &(struct run_opts){.prog = "small_stack_exit"});
	cr_expect_eq(run_exit_code(&r), 3, "status %#x; stderr:\n%s", r.status, r.err);
	struct profile p;
	cr_expect(run_profile(&r, NULL, "block", &p), "no profile: %s", r.err);
	profile_free(&p);
	run_free(&r);
}

/* The same in a fork child made by a thread with a 16 KiB stack: its only
 * thread has the child's pid for its tid, yet not the initial thread's
 * stack (status 139 when that was taken for the main thread). */
Test(lifecycle, exit_in_a_child_forked_from_a_small_stack, .timeout = 60)
{
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "small_stack_exit",
					.args = (const char *[]){"fork", NULL}});
	cr_expect_eq(run_value(&r, NULL, "child_status"), 3, "%s", r.err);
	run_free(&r);
}

/* A vfork() child's exit() runs the atexit handlers in its parent's
 * memory (and uses them up, natively too): it wrote the final dump, and
 * it also stopped the parent's thread, whose live snapshots (and HTTP
 * server) ended there. */
Test(lifecycle, vfork_child_exit_leaves_the_parents_thread, .timeout = 120)
{
	const char *const env[] = {"CONTEND_INTERVAL=50ms", NULL};
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "vfork_exit", .env = env});
	cr_expect_eq(run_value(&r, NULL, "child_status"), 127, "%s", r.out);
	cr_expect_eq(run_value(&r, NULL, "later_snapshot"), 1,
		     "no snapshot after the vfork child's exit:\n%s", r.err);
	run_free(&r);
}

/* A vfork() child's PR_SET_NAME names the child, not the parent's thread
 * (whose registry slot the child would rename, sharing its memory). */
Test(lifecycle, vfork_child_name_is_not_the_parents, .timeout = 60)
{
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "vfork_exit", .args = (const char *[]){"name", NULL}});
	char path[PATH_MAX + 32];
	run_path(&r, NULL, "threads.txt", path, sizeof(path));
	char *txt = read_file(path, NULL);
	cr_assert(txt, "no %s: %s", path, r.err);
	cr_expect(strstr(txt, "\"parentname\"") && !strstr(txt, "childname"), "%s", txt);
	free(txt);
	run_free(&r);
}

/* The files the shim keeps open between dumps (the symbolizer kept for
 * fork children holds the program's ELF file and libc's) are closed on
 * exec: libdwfl opens them without O_CLOEXEC, and nginx's binary upgrade
 * (SIGUSR2: the master execs itself) handed them to the new image. */
Test(lifecycle, exec_inherits_no_descriptor_of_ours, .timeout = 60)
{
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "fds_exec"});
	cr_expect_eq(run_value(&r, NULL, "inherited"), 0, "the new image found open:\n%s", r.out);
	run_free(&r);
}

/* A program whose descriptor 2 is a file of its own (stderr closed, then
 * a read-write open): the shim's lines, notices (CONTEND_QUIET=0) and
 * errors alike, must not land in it. The output directory lies under
 * that file, so it cannot be made: an error line is due (it used to go
 * into the file). */
Test(lifecycle, stderr_taken_by_a_program_file_gets_nothing, .timeout = 60)
{
	char dir[PATH_MAX], data[PATH_MAX + 16], out[PATH_MAX + 32];
	tmpdir_make(dir, sizeof(dir), "fd2");
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(out, sizeof(out), "%s/data/out", dir); /* under a file: cannot be made */
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "stderr_reused", .args = (const char *[]){data, NULL},
					.out = out, .raw_out = true});
	cr_expect_eq(run_value(&r, NULL, "fd"), 2);
	size_t n = 0;
	char *got = read_file(data, &n);
	cr_expect(got && n == 4 && !memcmp(got, "DATA", 4), "the program's file has: %.*s",
		  (int)(got ? n : 0), got ? got : "");
	free(got);
	tmpdir_remove(dir);
	run_free(&r);
}

/* A program that confines itself with seccomp (tests/progs/sandboxed):
 * afterwards any system call its filter does not list kills it, and the
 * shim's exit dump (mkdir, openat ...) did, with SIGSYS. Under the shim,
 * with live snapshots on, it ends exactly as natively (exit 0, or death
 * by SIGTERM at its default action), and the profiles hold the wait it
 * made before confining itself (written just before the filter).
 * inherited: the program starts under a filter, as under systemd's
 * SystemCallFilter=, that kills it at mincore(), which libunwind's first
 * use (the exit dump's walk of a thread blocked in read) called: SIGSYS
 * before core/stack_remote.c asked a throwaway copy first. */
struct sandbox_case {
	const char *mode, *term;
};

static const struct sandbox_case sandbox_cases[] = {
	{"prctl", NULL}, {"seccomp", NULL}, {"strict", NULL}, {"prctl", "term"}, {"vfork", NULL},
	{"inherited", NULL},
};

TABLE_TEST(lifecycle, sandboxed_program_ends_as_natively, sandbox_cases, c, .timeout = 120)
{
	const char *const args[] = {c->mode, c->term, NULL};
	const char *const env[] = {"CONTEND_INTERVAL=30ms", NULL};
	struct run plain, shim;
	run_prog(&plain, &(struct run_opts){.prog = "sandboxed", .args = args, .no_preload = true});
	run_prog(&shim, &(struct run_opts){.prog = "sandboxed", .args = args, .env = env,
					   .env2 = exact_env});
	cr_expect(strstr(plain.out, "sandboxed=1") != NULL, "%s: natively: %s", c->mode, plain.err);
	cr_expect(strstr(shim.out, "sandboxed=1") != NULL, "%s: %s", c->mode, shim.err);
	cr_expect_eq(shim.status, plain.status, "%s %s: status %#x under the shim, %#x natively; stderr:\n%s",
		     c->mode, c->term ? c->term : "", shim.status, plain.status, shim.err);
	cr_expect(c->term ? WIFSIGNALED(plain.status) && WTERMSIG(plain.status) == SIGTERM :
			    WIFEXITED(plain.status) && WEXITSTATUS(plain.status) == 0,
		  "%s: natively status %#x", c->mode, plain.status);
	struct profile p;
	if (run_profile(&shim, NULL, "mutex", &p)) {
		struct psum s = profile_sum(&p, &(struct stack_match){.leaf = "pthread_mutex_unlock",
								      .next = "hold_until_waiter"});
		/* vfork: only the child confined itself, before exec; the
		 * parent went on profiling its second wait. */
		cr_expect_eq(s.count, strcmp(c->mode, "vfork") ? 1 : 2,
			     "%s: the contention before the filter", c->mode);
		profile_free(&p);
	}
	run_free(&plain);
	run_free(&shim);
}

/* An exec replaces the image, and what the process recorded went with it:
 * a launcher that works with threads and then execs the real program,
 * nginx's binary upgrade. tests/progs/exec_after_waits contends once by
 * construction, then execs /bin/true by each member of the family: the
 * contention is in the pid's mutex.exec.pb.gz and block.exec.pb.gz,
 * written before the exec (the new image, the same pid, writes its own
 * under the plain names), and the program's output and status are those
 * of a plain run. */
static const char *const exec_modes[] = {"execve", "execv",  "execvp", "execvpe",
					  "execl",  "execle", "execlp", "fexecve"};

/* The contention's count in run r's block and mutex profiles (suffix:
 * "" or ".exec"). */
static void
expect_contentions(const struct run *r, const char *mode, const char *suffix, int n)
{
	char kind[32];
	struct profile p;
	snprintf(kind, sizeof(kind), "block%s", suffix);
	cr_assert(run_profile(r, NULL, kind, &p), "%s: no %s profile; stderr:\n%s", mode, kind,
		  r->err);
	struct psum s = profile_sum(&p, &(struct stack_match){.leaf = "pthread_mutex_lock",
							      .next = "exec_wait"});
	cr_expect_eq(s.count, n, "%s: the waits behind exec_hold in %s", mode, kind);
	profile_free(&p);
	snprintf(kind, sizeof(kind), "mutex%s", suffix);
	cr_assert(run_profile(r, NULL, kind, &p), "%s: no %s profile", mode, kind);
	s = profile_sum(&p, &(struct stack_match){.leaf = "pthread_mutex_unlock",
						  .next = "exec_hold"});
	cr_expect_eq(s.count, n, "%s: exec_hold's contentions in %s", mode, kind);
	profile_free(&p);
}

TABLE_TEST(lifecycle, exec_writes_what_was_recorded, exec_modes, mode, .timeout = 60)
{
	struct run plain, r;
	run_ok(&plain, &(struct run_opts){.prog = "exec_after_waits",
					   .args = (const char *[]){*mode, NULL},
					   .no_preload = true});
	run_ok(&r, &(struct run_opts){.prog = "exec_after_waits",
				       .args = (const char *[]){*mode, NULL}, .env2 = exact_env});
	/* The scenario's lines, then "before", then nothing: /bin/true ran. */
	const char *b = strstr(r.out, "before\n"), *pb = strstr(plain.out, "before\n");
	cr_expect(b && pb, "%s: %s", *mode, r.out);
	if (b && pb)
		cr_expect_str_eq(b, pb, "%s", *mode);
	expect_contentions(&r, *mode, ".exec", 1);
	/* contend threads finds the dump in the directory. */
	struct run v;
	run_cmd(&v, (const char *const[]){contend_bin(), "threads", r.outdir, NULL}, 60);
	cr_expect_eq(run_exit_code(&v), 0, "%s: %s", *mode, v.err);
	cr_expect(strstr(v.out, "(threads.exec.pb.gz)"), "%s: %s", *mode, v.out);
	run_free(&v);
	run_free(&plain);
	run_free(&r);
}

/* An exec that fails returns as natively, and the process goes on: its
 * exit writes everything under the plain names. */
Test(lifecycle, failed_exec_goes_on_and_exit_writes_it_all, .timeout = 60)
{
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "exec_after_waits",
				       .args = (const char *[]){"fail", NULL}, .env2 = exact_env});
	cr_expect(strstr(r.out, "failed=-1 errno=ENOENT\n"), "%s", r.out);
	expect_contentions(&r, "fail", ".exec", 1);
	expect_contentions(&r, "fail", "", 2);
	run_free(&r);
}

/* A vfork() child's exec writes nothing: it runs in its parent's memory,
 * and the parent writes its own at its exit, once. */
Test(lifecycle, vfork_child_exec_writes_nothing_of_the_parents, .timeout = 60)
{
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "exec_after_waits",
				       .args = (const char *[]){"vfork", NULL}, .env2 = exact_env});
	cr_expect(strstr(r.out, "child=0\n"), "%s", r.out);
	expect_contentions(&r, "vfork", "", 1);
	char path[PATH_MAX + 64];
	run_path(&r, NULL, "mutex.exec.pb.gz", path, sizeof(path));
	cr_expect_neq(access(path, F_OK), 0, "%s written by the vfork child", path);
	run_free(&r);
}
