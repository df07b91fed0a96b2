/* contend run: the program's exit code, death signal, arguments, stdin
 * and stdout pass through unchanged; Ctrl-C (SIGINT to the foreground
 * group) stops the program first and the launcher reports and then dies
 * the same way; SIGTERM to the launcher alone is forwarded; the summary
 * names the hot spot; fork children write their own directory; options
 * become CONTEND_* variables. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testcmd.h"

Test(run, exit_code_passes_through)
{
	struct cmd c;
	cmd_run(&c, (const char *[]){contend_bin(), "run", "--", "sh", "-c", "exit 3", NULL}, NULL);
	cr_expect_eq(cmd_exit_code(&c), 3, "status %#x: %s", c.status, c.stderr_text);
	cr_expect(strstr(c.stderr_text, "contend: sh exited with status 3"), "%s", c.stderr_text);
	cmd_free(&c);
}

struct sig_case {
	int sig;
	const char *name;
};

static const struct sig_case sig_cases[] = {{SIGTERM, "TERM"}, {SIGSEGV, "SEGV"}, {SIGINT, "INT"}};

ParameterizedTestParameters(run, death_by_signal)
{
	static size_t idx[] = {0, 1, 2};
	return cr_make_param_array(size_t, idx, 3);
}

/* The program kills itself; the launcher must end with the same signal
 * (and, for SEGV, leave no core file of its own behind). */
ParameterizedTest(size_t *i, run, death_by_signal)
{
	const struct sig_case *s = &sig_cases[*i];
	char tmp[4096], script[128];
	tmpdir_make(tmp, sizeof(tmp), "cli");
	snprintf(script, sizeof(script), "kill -%s $$", s->name);
	struct cmd c;
	cmd_run(&c, (const char *[]){contend_bin(), "run", "--", "sh", "-c", script, NULL},
		&(struct cmd_opts){.cwd = tmp});
	cr_expect(WIFSIGNALED(c.status), "launcher status %#x, stderr: %s", c.status, c.stderr_text);
	cr_expect_eq(WTERMSIG(c.status), s->sig, "signal %d instead of %d", WTERMSIG(c.status), s->sig);
	cr_expect(!WCOREDUMP(c.status), "the launcher dumped core");
	char want[64];
	snprintf(want, sizeof(want), "was killed by signal %d", s->sig);
	cr_expect(strstr(c.stderr_text, want), "%s", c.stderr_text);
	cmd_free(&c);
	tmpdir_remove(tmp);
}

Test(run, arguments_reach_the_program_unchanged)
{
	const char *argv[] = {contend_bin(), "run", "--", "printf", "[%s]\\n", "a b", "it's", "\"q\"",
			      "", "x  y", "$HOME", "*", "--out", "-n", NULL};
	struct cmd c;
	cmd_run(&c, argv, NULL);
	cr_assert_eq(cmd_exit_code(&c), 0, "%s", c.stderr_text);
	cr_expect_str_eq(c.stdout_text, "[a b]\n[it's]\n[\"q\"]\n[]\n[x  y]\n[$HOME]\n[*]\n[--out]\n[-n]\n");
	cmd_free(&c);
}

Test(run, stdin_and_stdout_pass_through)
{
	static const char input[] = "hello\nworld with spaces\n\x01\x02 binary-ish\n";
	struct cmd c;
	cmd_run(&c, (const char *[]){contend_bin(), "run", "cat", NULL},
		&(struct cmd_opts){.input = input, .input_len = sizeof(input) - 1});
	cr_assert_eq(cmd_exit_code(&c), 0, "%s", c.stderr_text);
	cr_expect_eq(c.stdout_len, sizeof(input) - 1);
	cr_expect(!memcmp(c.stdout_text, input, sizeof(input) - 1), "stdout: %s", c.stdout_text);
	cmd_free(&c);
}

/* Waits (bounded, 60 s) until the launcher's child has become `comm`
 * (exec'd it): before that the child is still the launcher's code, with
 * SIGINT ignored, and a signal then tests nothing of the program's. */
static void
wait_child_exec(pid_t launcher, const char *comm)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)launcher, (int)launcher);
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	time_t deadline = ts.tv_sec + 60;
	for (;;) {
		char *kids = read_file(path, NULL);
		int child = kids ? atoi(kids) : 0;
		free(kids);
		if (child > 0) {
			char cpath[64];
			snprintf(cpath, sizeof(cpath), "/proc/%d/comm", child);
			char *name = read_file(cpath, NULL);
			bool done = name && !strncmp(name, comm, strlen(comm)) &&
				    name[strlen(comm)] == '\n';
			free(name);
			if (done)
				return;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		cr_assert(ts.tv_sec < deadline, "the launcher did not start %s in 60 s", comm);
		sleep_ms(10);
	}
}

/* `contend run sleep 30`, then sig to the launcher's group (group) or
 * to the launcher alone: the program and then the launcher die of sig,
 * and the launcher said so. */
static void
expect_killed_by(int sig, bool group)
{
	struct cmd c;
	cmd_start(&c, (const char *[]){contend_bin(), "run", "sleep", "30", NULL},
		  &(struct cmd_opts){.own_group = true});
	wait_child_exec(c.pid, "sleep");
	cr_assert_eq(kill(group ? -c.pid : c.pid, sig), 0);
	cmd_finish(&c, 20);
	cr_expect(!c.timed_out, "still running 20 s after signal %d", sig);
	cr_expect(WIFSIGNALED(c.status) && WTERMSIG(c.status) == sig, "status %#x: %s", c.status,
		  c.stderr_text);
	char said[64];
	snprintf(said, sizeof(said), "contend: sleep was killed by signal %d", sig);
	cr_expect(strstr(c.stderr_text, said), "%s", c.stderr_text);
	cmd_free(&c);
}

/* Ctrl-C: the terminal signals the whole foreground group. The program
 * dies of SIGINT; the launcher survives it long enough to report, then
 * dies of SIGINT too. */
Test(run, ctrl_c_stops_the_program_first)
{
	expect_killed_by(SIGINT, true);
}

/* SIGTERM to the launcher alone reaches the program. */
Test(run, sigterm_is_forwarded)
{
	expect_killed_by(SIGTERM, false);
}

Test(run, missing_program)
{
	struct cmd c;
	cmd_run(&c, (const char *[]){contend_bin(), "run", "/nonexistent/prog", "x", NULL}, NULL);
	cr_expect_eq(cmd_exit_code(&c), 127);
	cr_expect(strstr(c.stderr_text, "contend: cannot run '/nonexistent/prog': No such file or directory"),
		  "%s", c.stderr_text);
	cr_expect_eq(count_lines(c.stderr_text), 1, "%s", c.stderr_text);
	cmd_free(&c);
}

Test(run, bad_library_path)
{
	struct cmd c;
	cmd_run(&c, (const char *[]){contend_bin(), "run", "true", NULL},
		&(struct cmd_opts){.env = (const char *[]){"CONTEND_LIB=/nonexistent/libcontend.so", NULL}});
	cr_expect_eq(cmd_exit_code(&c), 1);
	cr_expect(strstr(c.stderr_text, "CONTEND_LIB='/nonexistent/libcontend.so'"), "%s", c.stderr_text);
	cr_expect_eq(count_lines(c.stderr_text), 1, "%s", c.stderr_text);
	cmd_free(&c);
}

/* Options become the environment of the program; LD_PRELOAD keeps what
 * was there after libcontend; --quiet silences the summary. */
Test(run, options_set_the_environment)
{
	char tmp[4096], out[4200], want[8400];
	tmpdir_make(tmp, sizeof(tmp), "cli");
	snprintf(out, sizeof(out), "%s/my 100%% dir", tmp);
	struct cmd c;
	cmd_run(&c,
		(const char *[]){contend_bin(), "run", "--out", out, "--mutex-fraction", "1", "--block-rate",
				 "1", "--no-io", "--http", ":0", "--quiet", "--", "env", NULL},
		&(struct cmd_opts){.env = (const char *[]){"LD_PRELOAD=libm.so.6", NULL}});
	cr_assert_eq(cmd_exit_code(&c), 0, "%s", c.stderr_text);
	const char *o = c.stdout_text;
	expect_contains(o, (const char *const[]){
				"\nCONTEND_MUTEX_FRACTION=1\n",
				"\nCONTEND_BLOCK_RATE=1\n",
				"\nCONTEND_IO=0\n",
				"\nCONTEND_HTTP=:0\n",
				"\nCONTEND_QUIET=1\n",
				NULL});
	snprintf(want, sizeof(want), "\nCONTEND_OUT=%s/my 100%%%% dir\n", tmp); /* % doubled */
	cr_expect(strstr(o, want), "want %s in %s", want, o);
	const char *pre = strstr(o, "\nLD_PRELOAD=");
	cr_assert(pre, "%s", o);
	const char *eol = strchr(pre + 1, '\n');
	cr_expect(eol - pre > 24 && !strncmp(eol - 24, "/libcontend.so:libm.so.6", 24), "%.*s",
		  (int)(eol - pre), pre);
	cr_expect_str_eq(c.stderr_text, "", "--quiet printed: %s", c.stderr_text);
	cmd_free(&c);
	tmpdir_remove(tmp);
}

/* A fresh temporary directory in tmp and the path of examples/bank in
 * bank (both of 4096 bytes). */
static void
bank_and_tmp(char *tmp, char *bank)
{
	tmpdir_make(tmp, 4096, "cli");
	build_path(bank, 4096, "examples/bank");
}

/* `contend run ARGS...` (a NULL-terminated list) in directory cwd, which
 * must exit 0. */
static void
run_in(struct cmd *c, const char *cwd, const char *const *args)
{
	const char *argv[16] = {contend_bin(), "run"};
	size_t n = 2;
	while (*args && n < 15)
		argv[n++] = *args++;
	cr_assert_null(*args, "too many arguments");
	cmd_run(c, argv, &(struct cmd_opts){.cwd = cwd});
	cr_assert_eq(cmd_exit_code(c), 0, "%s", c->stderr_text);
}

/* The summary after a real run: the hot spot of examples/bank. */
Test(run, summary_names_the_hot_spot)
{
	char tmp[4096], bank[4096], path[8192];
	bank_and_tmp(tmp, bank);
	struct cmd c;
	run_in(&c, tmp, (const char *[]){bank, NULL});
	cr_expect(strstr(c.stdout_text, "bank: 800 transfers done"), "%s", c.stdout_text);
	const char *e = c.stderr_text;
	const char *holders = strstr(e, "contend: lock holders that made others wait (mutex.pb.gz, ");
	const char *waits = strstr(e, "contend: where threads waited (block.pb.gz, ");
	cr_assert(holders && waits, "%s", e);
	cr_expect(strstr(holders, "audit_transfer") && strstr(holders, "bank.c:36  (pthread_mutex_unlock)"), "%s", e);
	cr_expect(strstr(waits, "(pthread_mutex_lock)"), "%s", e);
	/* The default directory is contend.<pid of the program>. */
	const char *files = strstr(e, "contend: profiles in contend.");
	cr_assert(files, "%s", e);
	long pid = strtol(files + strlen("contend: profiles in contend."), NULL, 10);
	snprintf(path, sizeof(path), "%s/contend.%ld/mutex.pb.gz", tmp, pid);
	cr_expect(access(path, F_OK) == 0, "%s missing; %s", path, e);
	cmd_free(&c);
	tmpdir_remove(tmp);
}

/* Two runs with the same --out: the second run's files carry its pid
 * (the first run's are never replaced) and its summary shows those; a
 * third run that records nothing does not present the old files. */
Test(run, same_out_twice_keeps_both_runs)
{
	char tmp[4096], bank[4096], path[8192];
	bank_and_tmp(tmp, bank);
	struct cmd c;
	run_in(&c, tmp, (const char *[]){"--out", "out", bank, NULL});
	cr_expect(strstr(c.stderr_text, "contend: profiles in out/: mutex.pb.gz block.pb.gz"), "%s",
		  c.stderr_text);
	cmd_free(&c);
	snprintf(path, sizeof(path), "%s/out/mutex.pb.gz", tmp);
	size_t len1 = 0, len2 = 0;
	char *first = read_file(path, &len1);
	cr_assert_not_null(first);

	run_in(&c, tmp, (const char *[]){"--out", "out", bank, NULL});
	const char *files = strstr(c.stderr_text, "contend: profiles in out/: mutex.pid");
	cr_assert(files, "%s", c.stderr_text);
	long pid = strtol(files + strlen("contend: profiles in out/: mutex.pid"), NULL, 10);
	cr_expect(strstr(c.stderr_text, "(mutex.pid"), "%s", c.stderr_text);
	char own[8300];
	snprintf(own, sizeof(own), "%s/out/block.pid%ld.pb.gz", tmp, pid);
	cr_expect(access(own, F_OK) == 0, "%s missing; %s", own, c.stderr_text);
	char *after = read_file(path, &len2);
	cr_expect(after && len1 == len2 && !memcmp(first, after, len1), "the first run's %s was replaced",
		  path);
	free(first);
	free(after);
	cmd_free(&c);

	run_in(&c, tmp, (const char *[]){"--out", "out", "--", "sh", "-c", "exit 0", NULL});
	cr_expect(strstr(c.stderr_text, "contend: no profiles in out/"), "%s", c.stderr_text);
	cmd_free(&c);
	tmpdir_remove(tmp);
}

/* A shell that forks the real program: the child inherits LD_PRELOAD and
 * writes its own contend.<pid>, which the summary reports. */
Test(run, fork_child_writes_its_own_directory)
{
	char tmp[4096], bank[4096], script[4200];
	bank_and_tmp(tmp, bank);
	snprintf(script, sizeof(script), "'%s' >/dev/null; exit 0", bank);
	struct cmd c;
	run_in(&c, tmp, (const char *[]){"sh", "-c", script, NULL});
	/* The shell may or may not record waits of its own (waitpid is a
	 * blocking call); either way the bank's directory is reported. */
	const char *e = c.stderr_text;
	const char *child = strstr(e, "wrote no profiles itself; its child processes did:");
	const char *other = strstr(e, "contend: other processes of the run wrote: contend.");
	cr_assert(child || other, "%s", e);
	if (child) {
		cr_expect(strstr(child, "audit_transfer"), "%s", e);
	} else {
		char path[8192];
		long pid = strtol(other + strlen("contend: other processes of the run wrote: contend."),
				  NULL, 10);
		snprintf(path, sizeof(path), "%s/contend.%ld/mutex.pb.gz", tmp, pid);
		cr_expect(access(path, F_OK) == 0, "%s missing; %s", path, e);
	}
	cmd_free(&c);
	tmpdir_remove(tmp);
}

/* A real ABBA deadlock (tests/progs/threads_leaks): the summary names the
 * deadlock and the stuck threads, and `contend threads` lists them first. */
Test(run, deadlock_and_stuck_threads, .timeout = 60)
{
	char tmp[4096], prog[4096], dir[8192];
	build_path(prog, sizeof(prog), "tests/progs/threads_leaks");
	if (access(prog, X_OK) != 0)
		cr_skip_test("%s is not built", prog);
	tmpdir_make(tmp, sizeof(tmp), "cli");
	snprintf(dir, sizeof(dir), "%s/out", tmp);
	struct cmd c;
	cmd_run(&c, (const char *[]){contend_bin(), "run", "--out", dir, prog, "abba", NULL},
		&(struct cmd_opts){.cwd = tmp, .env = (const char *[]){"CONTEND_STUCK=200ms", NULL}});
	cr_assert_eq(cmd_exit_code(&c), 0, "%s", c.stderr_text);
	const char *e = c.stderr_text;
	expect_contains(e, (const char *const[]){
				"\ncontend: deadlock: thread ",
				"contend: 2 stuck threads",
				"pthread_mutex_lock in lock_a_then_b (threads_leaks.c:",
				"pthread_mutex_lock in lock_b_then_a (threads_leaks.c:",
				NULL});
	cmd_free(&c);

	cmd_run(&c, (const char *[]){contend_bin(), "threads", dir, NULL}, NULL);
	cr_assert_eq(cmd_exit_code(&c), 0, "%s", c.stderr_text);
	const char *o = c.stdout_text;
	const char *dead = strstr(o, "\ndeadlock: thread "), *stuck = strstr(o, "[stuck]\n"),
		   *running = strstr(o, "thread: running");
	cr_expect(dead && stuck && running && dead < stuck && stuck < running, "%s", o);
	cmd_free(&c);
	tmpdir_remove(tmp);
}
