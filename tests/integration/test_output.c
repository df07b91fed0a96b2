/* Output files (README "Output"): whose files a process may write, what
 * happens when one cannot be written, and what an attacker who can
 * write into the output directory (or plant it) cannot make us do. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testrun.h"

static const char *const verbose_env[] = {"CONTEND_QUIET=0", NULL};
/* Planted as the file of an earlier process. */
static const char precious_old[] = "an earlier process's file\n";

static int
count_matching(const char *dir, const char *prefix, const char *has)
{
	DIR *d = opendir(dir);
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d)) != NULL)
		if (!strncmp(e->d_name, prefix, strlen(prefix)) && (!has || strstr(e->d_name, has)))
			n++;
	if (d)
		closedir(d);
	return n;
}

/* Occurrences of needle in s. */
static int
count_str(const char *s, const char *needle)
{
	int n = 0;
	for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	return n;
}

/* ---- item: no process replaces another's output -------------------- */

/* `timeout 60 prog` with a CONTEND_OUT without %p: prog's profile stays,
 * timeout (one sigsuspend for its child) writes nothing over it. */
Test(output, timeout_leaves_the_childs_profile, .timeout = 120)
{
	if (!have_program("timeout"))
		cr_skip_test("no timeout(1)");
	char io[PATH_MAX];
	prog_path(io, sizeof(io), "io_waits");
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "supervise",
					.args = (const char *[]){"exec", "timeout", "60", io, "sleep",
								 "100", NULL},
					.env = exact_env, .env2 = verbose_env});
	struct profile p;
	if (run_profile(&r, NULL, "block", &p)) {
		struct psum s = profile_sum(&p, &(struct stack_match){.contains = "do_nanosleep"});
		cr_expect_gt(s.count, 0, "block.pb.gz is not io_waits' profile");
		struct psum t = profile_sum(&p, &(struct stack_match){.leaf = "sigsuspend"});
		cr_expect_eq(t.count, 0, "timeout's sigsuspend is in block.pb.gz");
		profile_free(&p);
	}
	cr_expect_eq(count_matching(r.outdir, "block", ".pid"), 0,
		     "timeout wrote profiles of its own; stderr:\n%s", r.err);
	cr_expect_eq(count_str(r.err, "libcontend: wrote"), 1, "stderr:\n%s", r.err);
	run_free(&r);
}

static const char *const child_waits[] = {"sigsuspend", "sigwaitinfo", "sigtimedwait", "sigwait",
					  "pause"};

ParameterizedTestParameters(output, signal_wait_for_child_writes_nothing)
{
	INDEX_PARAMS(child_waits);
}

/* A parent whose only wait was a signal wait for its child's SIGCHLD
 * writes nothing, like one that waited in waitpid. */
ParameterizedTest(size_t *i, output, signal_wait_for_child_writes_nothing, .timeout = 60)
{
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "supervise",
					.args = (const char *[]){child_waits[*i], "300", NULL},
					.env = exact_env, .out = "c.%p"});
	char dir[64], path[PATH_MAX];
	snprintf(dir, sizeof(dir), "c.%lld", run_value(&r, NULL, "parent"));
	run_path(&r, dir, "", path, sizeof(path));
	cr_expect(!path_exists(path), "%s waiting for its child wrote %s", child_waits[*i], path);
	run_free(&r);
}

/* The same wait with no child is a real wait, and is profiled. */
Test(output, signal_wait_without_children_is_profiled, .timeout = 60)
{
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "supervise", .args = (const char *[]){"alone", "300", NULL},
					.env = exact_env});
	struct profile p;
	if (run_profile(&r, NULL, "block", &p)) {
		struct psum s = profile_sum(&p, &(struct stack_match){.leaf = "sigsuspend"});
		cr_expect_gt(s.count, 0, "the sigsuspend without children was not recorded");
		profile_free(&p);
	}
	run_free(&r);
}

/* An output directory longer than the shim keeps beside its fork state
 * (dump.c's ct_dir_short) is kept whole in its room of paths, relative
 * CONTEND_OUT under the working directory as any other. */
Test(output, long_directory_is_used_whole, .timeout = 60)
{
	char tmpl[300], dir[320], path[PATH_MAX];
	memset(tmpl, 'd', 240);
	strcpy(tmpl + 240, "/c.%p");
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "mutex_hold", .out = tmpl});
	snprintf(dir, sizeof(dir), "%.240s/c.%d", tmpl, (int)r.pid);
	run_path(&r, dir, "mutex.pb.gz", path, sizeof(path));
	cr_expect(path_exists(path), "no %s", path);
	run_free(&r);
}

/* A second process writing into the same directory keeps the first one's
 * files byte for byte and writes its own under pid-qualified names,
 * saying so once. */
Test(output, second_process_does_not_replace_the_first, .timeout = 120)
{
	char tmp[256], dir[PATH_MAX], path[PATH_MAX + 64];
	tmpdir_make(tmp, sizeof(tmp), "output");
	snprintf(dir, sizeof(dir), "%s/out", tmp);
	struct run a, b;
	run_ok(&a, &(struct run_opts){.prog = "mutex_hold", .out = dir, .raw_out = true,
					.env = exact_env, .env2 = verbose_env});
	snprintf(path, sizeof(path), "%s/mutex.pb.gz", dir);
	size_t len1 = 0, len2 = 0;
	char *first = read_file(path, &len1);
	cr_assert_not_null(first, "the first run wrote no %s", path);
	run_ok(&b, &(struct run_opts){.prog = "mutex_hold", .out = dir, .raw_out = true,
					.env = exact_env, .env2 = verbose_env});
	char *after = read_file(path, &len2);
	cr_expect(after && len1 == len2 && !memcmp(first, after, len1),
		  "the second run replaced %s", path);
	char mine[64];
	snprintf(mine, sizeof(mine), ".pid%d.", (int)b.pid);
	struct profile p;
	char own[PATH_MAX + 128];
	snprintf(own, sizeof(own), "%s/mutex%spb.gz", dir, mine);
	if (profile_load(&p, own)) {
		struct psum s = profile_sum(&p, &(struct stack_match){.contains = "hold_and_sleep"});
		cr_expect_gt(s.count, 0);
		profile_free(&p);
	}
	snprintf(own, sizeof(own), "%s/block%spb.gz", dir, mine);
	cr_expect(path_exists(own), "no %s; stderr:\n%s", own, b.err);
	cr_expect_eq(count_str(b.err, "not replacing it"), 1, "stderr:\n%s", b.err);
	cr_expect(strstr(b.err, "wrote mutex.pid"), "stderr:\n%s", b.err);
	free(first);
	free(after);
	run_free(&a);
	run_free(&b);
	tmpdir_remove(tmp);
}

/* Pids wrap (within a minute under a fork-per-connection server), and
 * every container's first process is 1: a process whose pid-qualified
 * names an earlier process with its pid took (planted here once the pid
 * is known, generation 2 included) takes the next generation for all of
 * its files, mutex.pid<pid>-3.pb.gz..., and loses nothing. */
Test(output, earlier_process_with_the_same_pid_keeps_its_files, .timeout = 120)
{
	char tmp[256], dir[PATH_MAX], path[PATH_MAX + 64];
	tmpdir_make(tmp, sizeof(tmp), "output");
	snprintf(dir, sizeof(dir), "%s/out", tmp);
	cr_assert_eq(mkdir(dir, 0700), 0);
	const char *const args[] = {"2", "200", NULL};
	struct run r;
	run_start(&r, &(struct run_opts){.prog = "live_server", .args = args, .out = dir,
					 .raw_out = true, .env = exact_env, .env2 = verbose_env,
					 .stdin_pipe = true});
	run_await_serving(&r, false);
	/* base, generation (0 plain, 1 ".pid<pid>", g ".pid<pid>-<g>"), ext */
	static const struct {
		const char *base;
		int gen;
		const char *ext;
	} planted[] = {{"mutex", 0, ".pb.gz"},
		       {"block", 1, ".pb.gz"},
		       {"threads", 1, ".txt"},
		       {"threads", 2, ".txt"}},
	  mine[] = {{"mutex", 3, ".pb.gz"},
		    {"block", 3, ".pb.gz"},
		    {"threads", 3, ".txt"},
		    {"threads", 3, ".pb.gz"}};
#define NAME_IN_DIR(f)                                                                     \
	do {                                                                               \
		char q_[48] = "";                                                          \
		if ((f).gen == 1)                                                          \
			snprintf(q_, sizeof(q_), ".pid%d", (int)r.pid);                    \
		else if ((f).gen > 1)                                                      \
			snprintf(q_, sizeof(q_), ".pid%d-%d", (int)r.pid, (f).gen);        \
		snprintf(path, sizeof(path), "%s/%s%s%s", dir, (f).base, q_, (f).ext);     \
	} while (0)
	for (size_t i = 0; i < 4; i++) {
		NAME_IN_DIR(planted[i]);
		write_file(path, precious_old, strlen(precious_old));
	}
	run_wait(&r, 60);
	cr_expect(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0, "status %#x", r.status);
	for (size_t i = 0; i < 4; i++) {
		NAME_IN_DIR(planted[i]);
		char *now = read_file(path, NULL);
		cr_expect(now && !strcmp(now, precious_old), "%s was replaced", path);
		free(now);
	}
	for (size_t i = 0; i < 4; i++) {
		NAME_IN_DIR(mine[i]);
		cr_expect(path_exists(path), "no %s; stderr:\n%s", path, r.err);
	}
#undef NAME_IN_DIR
	struct profile p;
	snprintf(path, sizeof(path), "%s/mutex.pid%d-3.pb.gz", dir, (int)r.pid);
	cr_assert(profile_load(&p, path), "no %s; stderr:\n%s", path, r.err);
	struct psum sum = profile_sum(&p, &(struct stack_match){.contains = "hot_path"});
	cr_expect_gt(sum.count, 0, "no contention on hot_path in %s", path);
	profile_free(&p);
	cr_expect_eq(count_matching(dir, "mutex.pid", NULL), 1, "mutex written twice");
	cr_expect_eq(count_str(r.err, "cannot write"), 0, "stderr:\n%s", r.err);
	cr_expect_eq(count_str(r.err, "by an earlier process with pid"), 1, "stderr:\n%s", r.err);
	/* The CLI takes the generation for a dump of its own. */
	char contend[PATH_MAX];
	snprintf(contend, sizeof(contend), "%s", contend_bin());
	const char *argv[] = {contend, "threads", dir, NULL};
	struct run c;
	run_cmd(&c, argv, 60);
	char want[64];
	snprintf(want, sizeof(want), "(threads.pid%d-3.", (int)r.pid);
	cr_expect(strstr(c.out, want), "want %s in:\n%s\nstderr:\n%s", want, c.out, c.err);
	run_free(&c);
	run_free(&r);
	tmpdir_remove(tmp);
}

/* ---- item: the shim's own writes raise no signal --------------------- */

/* The "wrote" notice (and any error line) into a stderr whose reader is
 * gone: natively the program, which writes nothing there, exits 0; a
 * write() of ours would raise SIGPIPE and kill it (status 141). */
Test(output, broken_stderr_pipe_is_no_sigpipe, .timeout = 60)
{
	static const char *const bad_out[] = {"CONTEND_OUT=/proc/self/no/such/dir", NULL};
	for (int unwritable = 0; unwritable < 2; unwritable++) {
		struct run r;
		run_prog(&r, &(struct run_opts){.prog = "mutex_hold", .env = exact_env,
						.env2 = unwritable ? bad_out : verbose_env,
						.stderr_broken = true});
		cr_expect(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0,
			  "%s: status %#x (signal %d)", unwritable ? "error line" : "notice",
			  r.status, WIFSIGNALED(r.status) ? WTERMSIG(r.status) : 0);
		cr_expect(strstr(r.out, "waited_ns="), "stdout: %s", r.out);
		if (!unwritable) {
			char path[PATH_MAX];
			run_path(&r, NULL, "mutex.pb.gz", path, sizeof(path));
			cr_expect(path_exists(path), "no %s", path);
		}
		run_free(&r);
	}
}

static const char *const unwritable_out[] = {"CONTEND_OUT=/proc/self/no/such/dir",
					      "CONTEND_MUTEX_FRACTION=1", "CONTEND_BLOCK_RATE=1",
					      NULL};

/* Runs prog (of tests/progs) preloaded with env (and the runner's
 * environment without LD_PRELOAD and CONTEND_*), its stderr errfd and
 * its stdout /dev/null; returns its status, killing it after timeout_s
 * (then the test fails). */
static int
run_with_stderr(const char *name, int errfd, const char *const *env_extra, int timeout_s)
{
	char prog[PATH_MAX], preload[PATH_MAX + 16];
	prog_path(prog, sizeof(prog), name);
	snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", env_required("CONTEND_LIB"));
	struct envlist env;
	envlist_clean(&env);
	envlist_push(&env, preload);
	envlist_push_all(&env, env_extra);
	fflush(NULL);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(errfd, 2);
		child_default_signals();
		execve(prog, (char *[]){prog, NULL}, (char **)env.v);
		_exit(127);
	}
	envlist_free(&env);
	int status = 0;
	double deadline = mono_s() + timeout_s;
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (mono_s() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			cr_assert_fail("%s did not exit within %d s", name, timeout_s);
		}
		sleep_ms(10);
	}
	return status;
}

/* An inetd-style service: its stderr is its client's TCP connection, so
 * the shim's error line (profiles it cannot write) would land in the
 * middle of the program's protocol; the client reads nothing from us. A
 * Unix socket (journald's stream) still takes the line. */
Test(output, stderr_on_a_network_connection_gets_no_line, .timeout = 60)
{
	for (int tcp = 1; tcp >= 0; tcp--) {
		int lst = -1, client, server, sv[2];
		if (tcp) {
			struct sockaddr_in a = {.sin_family = AF_INET,
						.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
			socklen_t alen = sizeof(a);
			lst = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
			cr_assert(lst >= 0 && bind(lst, (struct sockaddr *)&a, sizeof(a)) == 0 &&
				  listen(lst, 1) == 0 &&
				  getsockname(lst, (struct sockaddr *)&a, &alen) == 0);
			client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
			cr_assert(connect(client, (struct sockaddr *)&a, sizeof(a)) == 0);
			server = accept4(lst, NULL, NULL, SOCK_CLOEXEC);
			cr_assert(server >= 0);
		} else {
			cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
			client = sv[0];
			server = sv[1];
		}
		int status = run_with_stderr("mutex_hold", server, unwritable_out, 60);
		close(server);
		cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
		char buf[512];
		ssize_t n = read(client, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = 0;
		if (tcp)
			cr_expect_eq(n, 0, "the client read: %s", buf);
		else
			cr_expect(strstr(buf, "libcontend: "), "journald's stream got: %s", buf);
		close(client);
		if (lst >= 0)
			close(lst);
	}
}

/* A parent that reads the program's stderr only once it has exited, and a
 * program that filled that pipe: natively it exits; a line of ours into
 * the full pipe would block it for good. The line is dropped, the pipe
 * holds the program's bytes only. */
Test(output, full_stderr_pipe_does_not_hang_the_exit, .timeout = 60)
{
	int p[2];
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	int status = run_with_stderr("stderr_full", p[1], unwritable_out, 30);
	close(p[1]);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
	char buf[4096];
	size_t total = 0;
	bool only_x = true;
	for (ssize_t n; (n = read(p[0], buf, sizeof(buf))) > 0; total += (size_t)n)
		for (ssize_t i = 0; i < n; i++)
			only_x = only_x && buf[i] == 'x';
	close(p[0]);
	cr_expect(only_x, "a line of ours in the program's stderr");
	cr_expect_gt(total, 0);
}

/* A program that caps its files' size (RLIMIT_FSIZE) below a profile's:
 * natively it exits 0; a write of ours past the limit would raise
 * SIGXFSZ, which kills it and dumps core. Each such file is an error
 * line instead (while stderr, a file under the same cap, has room: its
 * mutex.pb.gz takes about 1 KiB, its stdout 78 bytes), and
 * the program's own output is untouched. */
Test(output, file_size_limit_is_an_error_not_sigxfsz, .timeout = 60)
{
	struct run r;
	run_prog(&r, &(struct run_opts){.prog = "mutex_hold", .env = exact_env, .fsize = 400});
	cr_expect(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0, "status %#x (signal %d)",
		  r.status, WIFSIGNALED(r.status) ? WTERMSIG(r.status) : 0);
	cr_expect(strstr(r.out, "waited_ns="), "stdout: %s", r.out);
	cr_expect(strstr(r.err, "': File too large"), "stderr:\n%s", r.err);
	struct stat st;
	char path[PATH_MAX];
	run_path(&r, NULL, "mutex.pb.gz", path, sizeof(path));
	cr_expect(stat(path, &st) != 0 || st.st_size <= 400, "%s: %lld bytes", path,
		  (long long)st.st_size);
	cr_expect_eq(count_matching(r.outdir, ".", ".tmp."), 0, "temporary files left behind");
	run_free(&r);
}

/* ---- item: one failed file does not stop the others ------------------ */

struct fault_case {
	const char *match;      /* files whose creation fails */
	const char *failed[3];  /* expected in the error lines */
	const char *written[3]; /* written all the same */
};

static const struct fault_case fault_cases[] = {
	{"mutex", {"mutex.pb.gz"}, {"block.pb.gz", "threads.txt"}},
	{"block", {"block.pb.gz"}, {"mutex.pb.gz", "threads.txt"}},
	{"mutex,threads.txt", {"mutex.pb.gz", "threads.txt"}, {"block.pb.gz", "threads.pb.gz"}},
};

/* ENOSPC on one file: the next ones are still written, and each failure
 * is one line on stderr naming the file and the error. */
TABLE_TEST(output, each_file_is_tried, fault_cases, c, .timeout = 60)
{
	char lib[PATH_MAX], match[128];
	prog_path(lib, sizeof(lib), "libfaultopen.so");
	snprintf(match, sizeof(match), "FAULTOPEN_MATCH=%s", c->match);
	const char *env[] = {"CONTEND_MUTEX_FRACTION=1", "CONTEND_BLOCK_RATE=1", match, NULL};
	struct run r;
	/* threads_leaks leaves threads blocked at exit: a thread dump is
	 * due too, so all five files are. */
	run_ok(&r, &(struct run_opts){.prog = "threads_leaks", .env = env, .also_preload = lib});
	char path[PATH_MAX];
	for (int k = 0; k < 3 && c->failed[k]; k++) {
		run_path(&r, NULL, c->failed[k], path, sizeof(path));
		cr_expect(!path_exists(path), "%s exists", path);
		char line[PATH_MAX + 128];
		snprintf(line, sizeof(line), "%s': No space left on device", c->failed[k]);
		cr_expect_eq(count_str(r.err, line), 1, "want one line for %s; stderr:\n%s",
			     c->failed[k], r.err);
	}
	for (int k = 0; k < 3 && c->written[k]; k++) {
		run_path(&r, NULL, c->written[k], path, sizeof(path));
		cr_expect(path_exists(path), "%s was not written; stderr:\n%s", path, r.err);
	}
	int failed = 0;
	while (failed < 3 && c->failed[failed])
		failed++;
	cr_expect_eq(count_str(r.err, "No space left on device"), failed, "stderr:\n%s", r.err);
	cr_expect_eq(count_matching(r.outdir, ".", ".tmp."), 0, "temporary files left behind");
	run_free(&r);
}

/* ---- item: nothing is written through a link or into a foreign dir --- */

static const char precious[] = "precious: must stay as it is\n";

/* A fresh directory tmp with an empty output directory tmp/out (dir) and
 * a file tmp/victim (target) holding `precious`. dir and target have
 * PATH_MAX bytes. */
static void
victim_setup(char *tmp, size_t len, char *dir, char *target)
{
	tmpdir_make(tmp, len, "output");
	snprintf(dir, PATH_MAX, "%s/out", tmp);
	snprintf(target, PATH_MAX, "%s/victim", tmp);
	cr_assert_eq(mkdir(dir, 0700), 0);
	write_file(target, precious, strlen(precious));
}

static void
expect_precious(const char *path)
{
	char *now = read_file(path, NULL);
	cr_expect(now && !strcmp(now, precious), "%s was overwritten", path);
	free(now);
}

/* Links planted at the temporary names a writer could predict (the
 * pid is known before the program starts writing): the target stays as
 * it was and the profiles are written all the same. */
Test(output, link_at_temporary_name_is_not_followed, .timeout = 60)
{
	char tmp[256], dir[PATH_MAX], target[PATH_MAX], prog[PATH_MAX];
	victim_setup(tmp, sizeof(tmp), dir, target);
	prog_path(prog, sizeof(prog), "threads_leaks");
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "supervise",
					.args = (const char *[]){"plant", dir, target, prog, NULL},
					.out = dir, .raw_out = true, .env = exact_env});
	expect_precious(target);
	char path[PATH_MAX + 32];
	struct profile p;
	snprintf(path, sizeof(path), "%s/mutex.pb.gz", dir);
	if (profile_load(&p, path))
		profile_free(&p);
	snprintf(path, sizeof(path), "%s/threads.txt", dir);
	char *t = read_file(path, NULL);
	cr_expect(t && strstr(t, "wait_for_orders"), "threads.txt: %s", t ? t : "(none)");
	free(t);
	run_free(&r);
	tmpdir_remove(tmp);
}

/* Links (to a file and to a directory) at the final names: never
 * replaced or written through; the process uses pid-qualified names. */
Test(output, link_at_final_name_is_not_replaced, .timeout = 60)
{
	char tmp[256], dir[PATH_MAX], target[PATH_MAX], link[PATH_MAX + 32];
	victim_setup(tmp, sizeof(tmp), dir, target);
	static const char *const names[] = {"mutex.pb.gz", "block.pb.gz", "threads.txt"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(link, sizeof(link), "%s/%s", dir, names[i]);
		cr_assert_eq(symlink(i == 2 ? tmp : target, link), 0);
	}
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "threads_leaks", .out = dir, .raw_out = true,
					.env = exact_env, .env2 = verbose_env});
	expect_precious(target);
	struct stat st;
	for (size_t i = 0; i < 3; i++) {
		snprintf(link, sizeof(link), "%s/%s", dir, names[i]);
		cr_expect(lstat(link, &st) == 0 && S_ISLNK(st.st_mode), "%s was replaced", link);
	}
	cr_expect_eq(count_matching(tmp, "threads", NULL), 0, "written through the link to %s", tmp);
	snprintf(link, sizeof(link), "%s/mutex.pid%d.pb.gz", dir, (int)r.pid);
	cr_expect(path_exists(link), "no %s; stderr:\n%s", link, r.err);
	snprintf(link, sizeof(link), "%s/threads.pid%d.txt", dir, (int)r.pid);
	cr_expect(path_exists(link), "no %s; stderr:\n%s", link, r.err);
	run_free(&r);
	tmpdir_remove(tmp);
}

/* A crashing program: the raw dump written from the signal handler
 * follows the same rules (here: a link at threads.txt), and its own raw
 * dump is replaced by the symbolized one. */
Test(output, crash_dump_never_follows_links, .timeout = 60)
{
	char tmp[256], dir[PATH_MAX], target[PATH_MAX], link[PATH_MAX + 32];
	victim_setup(tmp, sizeof(tmp), dir, target);
	snprintf(link, sizeof(link), "%s/threads.txt", dir);
	cr_assert_eq(symlink(target, link), 0);
	snprintf(link, sizeof(link), "%s/maps.txt", dir);
	cr_assert_eq(symlink(target, link), 0);
	struct run r;
	run_prog(&r, &(struct run_opts){.prog = "threads_leaks", .args = (const char *[]){"crash", NULL},
					.out = dir, .raw_out = true, .env = exact_env});
	cr_expect(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGSEGV, "status %#x", r.status);
	expect_precious(target);
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/threads.pid%d.txt", dir, (int)r.pid);
	char *t = read_file(path, NULL);
	/* symbolized: function names, not only addresses */
	cr_expect(t && strstr(t, "wait_for_orders"), "%s: %s\nstderr:\n%s", path, t ? t : "(none)",
		  r.err);
	free(t);
	snprintf(path, sizeof(path), "%s/maps.pid%d.txt", dir, (int)r.pid);
	cr_expect(path_exists(path), "no %s", path);
	cr_expect_eq(count_matching(dir, ".", ".tmp."), 0, "temporary files left behind");
	run_free(&r);
	tmpdir_remove(tmp);
}

/* The same crash in a clean directory: plain names, the symbolized dump
 * in place of the raw one. */
Test(output, crash_dump_replaces_its_own_raw_dump, .timeout = 60)
{
	struct run r;
	run_prog(&r, &(struct run_opts){.prog = "threads_leaks", .args = (const char *[]){"crash", NULL},
					.env = exact_env});
	cr_expect(WIFSIGNALED(r.status) && WTERMSIG(r.status) == SIGSEGV, "status %#x", r.status);
	char path[PATH_MAX];
	run_path(&r, NULL, "threads.txt", path, sizeof(path));
	char *t = read_file(path, NULL);
	cr_expect(t && strstr(t, "wait_for_orders"), "%s: %s\nstderr:\n%s", path, t ? t : "(none)",
		  r.err);
	free(t);
	run_path(&r, NULL, "maps.txt", path, sizeof(path));
	cr_expect(path_exists(path));
	cr_expect_eq(count_matching(r.outdir, "threads.pid", NULL), 0);
	run_free(&r);
}

/* An output directory that is a link, owned by another user, or
 * writable by others: nothing is written, and stderr says why. */
static void
expect_refused(const char *dir, const char *real, const char *why)
{
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "mutex_hold", .out = dir, .raw_out = true,
					.env = exact_env});
	cr_expect_eq(count_matching(real, "", ".pb.gz"), 0, "profiles written into %s", real);
	cr_expect(strstr(r.err, why), "want '%s' on stderr:\n%s", why, r.err);
	run_free(&r);
}

Test(output, refuses_a_linked_directory, .timeout = 60)
{
	char tmp[256], dir[PATH_MAX], real[PATH_MAX];
	tmpdir_make(tmp, sizeof(tmp), "output");
	snprintf(real, sizeof(real), "%s/real", tmp);
	snprintf(dir, sizeof(dir), "%s/out", tmp);
	cr_assert_eq(mkdir(real, 0700), 0);
	cr_assert_eq(symlink(real, dir), 0);
	expect_refused(dir, real, "is a symbolic link");
	tmpdir_remove(tmp);
}

Test(output, refuses_a_directory_writable_by_others, .timeout = 60)
{
	char tmp[256], dir[PATH_MAX];
	tmpdir_make(tmp, sizeof(tmp), "output");
	snprintf(dir, sizeof(dir), "%s/out", tmp);
	cr_assert_eq(mkdir(dir, 0700), 0);
	cr_assert_eq(chmod(dir, 0777), 0);
	expect_refused(dir, dir, "writable by group or others");
	tmpdir_remove(tmp);
}

Test(output, refuses_a_directory_of_another_user, .timeout = 60)
{
	if (geteuid() != 0)
		cr_skip_test("needs root to give a directory to another user");
	char tmp[256], dir[PATH_MAX];
	tmpdir_make(tmp, sizeof(tmp), "output");
	snprintf(dir, sizeof(dir), "%s/out", tmp);
	cr_assert_eq(mkdir(dir, 0700), 0);
	cr_assert_eq(chown(dir, 65534, 65534), 0); /* nobody */
	expect_refused(dir, dir, "owned by another user");
	tmpdir_remove(tmp);
}

/* Directories made 0700 (parents included), files 0600: profiles hold
 * stacks, paths, command lines and thread names. */
Test(output, private_modes, .timeout = 60)
{
	mode_t old = umask(022); /* the usual one; the runner's may differ */
	struct run r;
	run_prog(&r, &(struct run_opts){.prog = "threads_leaks", .out = "a/b/out", .env = exact_env});
	umask(old);
	run_expect_success(&r);
	char path[PATH_MAX];
	struct stat st;
	static const char *const dirs[] = {"a", "a/b", "a/b/out"};
	for (size_t i = 0; i < 3; i++) {
		run_path(&r, dirs[i], "", path, sizeof(path));
		cr_assert_eq(stat(path, &st), 0, "%s: %s", path, strerror(errno));
		cr_expect_eq(st.st_mode & 07777, 0700, "%s has mode %o", path, st.st_mode & 07777);
	}
	static const char *const files[] = {"mutex.pb.gz", "block.pb.gz", "threads.txt",
					    "threads.pb.gz", "threadcreate.pb.gz"};
	for (size_t i = 0; i < 5; i++) {
		run_path(&r, "a/b/out", files[i], path, sizeof(path));
		cr_assert_eq(stat(path, &st), 0, "%s: %s", path, strerror(errno));
		cr_expect_eq(st.st_mode & 07777, 0600, "%s has mode %o", path, st.st_mode & 07777);
	}
	run_free(&r);
}
