/* Blocking I/O, sleeps and process waits in the block profile: the wait
 * under the right leaf and caller with the right total and labels (op,
 * class, fd_kind), the labels usable from go tool pprof, CONTEND_IO=0,
 * results untouched (tests/progs/io_behave.c with and without the shim),
 * and a real server (memcached) under load.
 *
 * Timing tolerances as in test_profiles.c (testprof.h: BAND_*): sleeps
 * only overrun, so a delay is checked against the constructed value from
 * below (and loosely from above), and against what the program measured
 * around its calls with a tight upper bound. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testrun.h"
#include "pprof_read.h"
#include "profile.pb-c.h"

/* ------------------------------------------------------------------ */
/* Expected labels of every sample matching m; NULL = must be absent. */
struct want_labels {
	const char *op, *class, *fd_kind;
};

static void
expect_labels(const struct profile *p, const struct stack_match *m, struct want_labels w,
	      const char *what)
{
	size_t n = 0;
	for (size_t i = 0; i < p->nsamples; i++) {
		if (!sample_matches(&p->samples[i], m))
			continue;
		n++;
		const char *got[3] = {profile_label(p, i, "op"), profile_label(p, i, "class"),
				      profile_label(p, i, "fd_kind")};
		const char *want[3] = {w.op, w.class, w.fd_kind};
		static const char *const keys[3] = {"op", "class", "fd_kind"};
		for (int k = 0; k < 3; k++) {
			bool ok = want[k] ? got[k] && !strcmp(got[k], want[k]) : !got[k];
			cr_expect(ok, "%s: sample %zu label %s=%s, expected %s", what, i, keys[k],
				  got[k] ? got[k] : "(none)", want[k] ? want[k] : "(none)");
		}
	}
	cr_expect_gt(n, 0, "%s: no sample", what);
}

/* Sum of the samples matching m whose fd_kind label is kind. */
static struct psum
sum_fd_kind(const struct profile *p, const struct stack_match *m, const char *kind)
{
	struct psum sum = {0};
	for (size_t i = 0; i < p->nsamples; i++) {
		const char *k = profile_label(p, i, "fd_kind");
		if (!sample_matches(&p->samples[i], m) || !k || strcmp(k, kind))
			continue;
		sum.count += p->samples[i].count;
		sum.delay += p->samples[i].delay;
		sum.samples++;
	}
	return sum;
}

/* ------------------------------------------------------------------ */
/* Waits known by construction (tests/progs/io_waits.c). */

struct wait_case {
	const char *name;
	const char *prog; /* io_waits or io_waits_fortify */
	const char *args[4];
	const char *leaf, *caller;
	int count;
	struct want_labels labels;
};

static const struct wait_case wait_cases[] = {
	{"pipe read", "io_waits", {"pipe", "5", "50000"}, "read", "pipe_reader", 5,
	 {"read", "io", "pipe"}},
	{"pipe read, __read_chk", "io_waits_fortify", {"pipe", "5", "50000"}, "read", "pipe_reader",
	 5, {"read", "io", "pipe"}},
	{"poll time-outs", "io_waits", {"poll", "4", "40"}, "poll", "poll_timeouts", 4,
	 {"poll", "io", "pipe"}},
	{"poll time-outs, __poll_chk", "io_waits_fortify", {"poll", "4", "40"}, "poll",
	 "poll_timeouts", 4, {"poll", "io", "pipe"}},
	{"select time-outs", "io_waits", {"select", "4", "40"}, "select", "select_timeouts", 4,
	 {"select", "io", NULL}},
	{"epoll_wait time-outs", "io_waits", {"epoll", "4", "40"}, "epoll_wait", "epoll_timeouts", 4,
	 {"epoll_wait", "io", "epoll"}},
	{"accept", "io_waits", {"accept", "3", "50000"}, "accept", "accept_clients", 3,
	 {"accept", "io", "socket"}},
};

TABLE_TEST(io, known_waits, wait_cases, c, .timeout = 60)
{
	struct run r;
	struct profile block;
	run_ok(&r, &(struct run_opts){.prog = c->prog, .args = c->args, .env = exact_env});
	double expected = (double)run_value(&r, NULL, "expected_ns");
	double measured = (double)run_value(&r, NULL, "waited_ns");
	cr_assert(run_profile(&r, NULL, "block", &block));
	/* Fortified, the program's read() is glibc's inline wrapper around
	 * __read_chk: an inline frame `read` sits between leaf and caller. */
	bool fortified = strstr(c->prog, "fortify") != NULL;
	struct stack_match m = {.leaf = c->leaf, .next = fortified ? c->leaf : c->caller,
				.contains = c->caller};
	struct psum s = profile_sum(&block, &m);
	cr_expect_eq(s.count, c->count, "%s: %lld waits in %s <- %s, expected %d", c->name,
		     (long long)s.count, c->leaf, c->caller, c->count);
	expect_wait_bands(&block, (double)s.delay, expected, measured, 1.05, "%s", c->name);
	expect_labels(&block, &m, c->labels, c->name);
	profile_free(&block);
	run_free(&r);
}

/* Sleeps: each under its own leaf, class sleep, no fd_kind; sleep() and
 * usleep() are wrapped themselves (glibc's call nanosleep internally). */
Test(io, sleeps, .timeout = 60)
{
	static const char *const fns[][2] = {{"nanosleep", "do_nanosleep"},
					     {"usleep", "do_usleep"},
					     {"clock_nanosleep", "do_clock_nanosleep"},
					     {"sleep", "do_sleep"}};
	struct run r;
	struct profile block;
	run_ok(&r, &(struct run_opts){.prog = "io_waits", .args = (const char *[]){"sleep", "50", NULL},
					.env = exact_env});
	cr_assert(run_profile(&r, NULL, "block", &block));
	for (size_t i = 0; i < 4; i++) {
		char key[64];
		snprintf(key, sizeof(key), "%s_ns", fns[i][0]);
		double measured = (double)run_value(&r, NULL, key);
		struct stack_match m = {.leaf = fns[i][0], .next = fns[i][1]};
		struct psum s = profile_sum(&block, &m);
		cr_expect_eq(s.count, 1, "%s <- %s: %lld waits", fns[i][0], fns[i][1], (long long)s.count);
		expect_ratio(&block, (double)s.delay, i == 3 ? 1e9 : 50e6, BAND_ASKED_LO, BAND_ASKED_HI, "%s vs asked",
			     fns[i][0]);
		expect_ratio(NULL, (double)s.delay, measured, BAND_MEASURED_LO, 1.05, "%s vs measured", fns[i][0]);
		expect_labels(&block, &m, (struct want_labels){fns[i][0], "sleep", NULL}, fns[i][0]);
	}
	/* sleep() is one wait, not also a nanosleep inside it. */
	struct psum inner = profile_sum(&block, &(struct stack_match){.leaf = "nanosleep",
								       .contains = "do_sleep"});
	cr_expect_eq(inner.count, 0, "sleep() counted twice");
	profile_free(&block);
	run_free(&r);
}

/* fd_kind is part of the sample's identity: one call site reading from a
 * pipe and from a socket gives two samples. */
Test(io, fd_kind_splits_samples, .timeout = 60)
{
	struct run r;
	struct profile block;
	run_ok(&r, &(struct run_opts){.prog = "io_waits", .args = (const char *[]){"kinds", "2", "30000", NULL},
					.env = exact_env});
	cr_assert(run_profile(&r, NULL, "block", &block));
	struct stack_match m = {.leaf = "read", .next = "read_from"};
	struct psum pipe = sum_fd_kind(&block, &m, "pipe"), sock = sum_fd_kind(&block, &m, "socket");
	cr_expect_eq(pipe.samples, 1, "%zu pipe samples", pipe.samples);
	cr_expect_eq(sock.samples, 1, "%zu socket samples", sock.samples);
	cr_expect_eq(pipe.count, 2);
	cr_expect_eq(sock.count, 2);
	expect_ratio(&block, (double)pipe.delay, 60e6, BAND_ASKED_LO, BAND_ASKED_HI, "pipe reads");
	expect_ratio(&block, (double)sock.delay, 60e6, BAND_ASKED_LO, BAND_ASKED_HI, "socket reads");
	profile_free(&block);
	run_free(&r);
}

/* Lock waits carry op and class=sync in the block profile; the mutex
 * profile's samples only the lock's name and kind. */
Test(io, lock_samples_labels, .timeout = 60)
{
	struct run r;
	struct profile mutex, block;
	run_ok(&r, &(struct run_opts){.prog = "mutex_hold", .args = (const char *[]){"2", "30000", "2", NULL},
					.env = exact_env});
	cr_assert(run_profile(&r, NULL, "block", &block));
	cr_assert(run_profile(&r, NULL, "mutex", &mutex));
	expect_labels(&block, &(struct stack_match){.leaf = "pthread_mutex_lock", .next = "waiter_lock"},
		      (struct want_labels){"pthread_mutex_lock", "sync", NULL}, "mutex waiters");
	expect_labels(&block, &(struct stack_match){.leaf = "nanosleep", .contains = "hold_and_sleep"},
		      (struct want_labels){"nanosleep", "sleep", NULL}, "the holder's sleep");
	cr_expect_gt(mutex.nsamples, 0);
	/* Mutex samples carry only the lock's name and kind (issue 14): no
	 * op or class, which say nothing at an unlock. */
	for (size_t i = 0; i < mutex.nsamples; i++) {
		const struct ct_psample *ps = &mutex.reader->samples[i];
		cr_expect_eq(ps->nlabels, 2, "mutex sample %zu: %zu labels", i, ps->nlabels);
		for (size_t j = 0; j < ps->nlabels; j++) {
			const char *k = ps->labels[j].key;
			cr_expect(!strcmp(k, "lock") || !strcmp(k, "lock_kind"),
				  "mutex sample %zu has label %s", i, k);
		}
	}
	profile_free(&mutex);
	profile_free(&block);
	run_free(&r);
}

/* CONTEND_IO=0: no I/O or sleep samples; lock profiling unchanged. */
Test(io, io_off, .timeout = 60)
{
	static const char *const off[] = {"CONTEND_IO=0", NULL};
	struct run r;
	struct profile block;
	run_ok(&r, &(struct run_opts){.prog = "io_waits", .args = (const char *[]){"pipe", "3", "30000", NULL},
					.env = exact_env, .env2 = off});
	cr_assert(run_profile(&r, NULL, "block", &block)); /* the cond/join waits */
	for (size_t i = 0; i < block.nsamples; i++) {
		const char *cls = profile_label(&block, i, "class");
		cr_expect(cls && !strcmp(cls, "sync"), "sample %zu (%s) has class %s", i,
			  block.samples[i].frames[0], cls ? cls : "(none)");
	}
	cr_expect_eq(profile_sum(&block, &(struct stack_match){.leaf = "read"}).count, 0);
	cr_expect_gt(profile_sum(&block, &(struct stack_match){.leaf = "pthread_join"}).count, 0);
	profile_free(&block);
	run_free(&r);
}

/* Default sampling (10 us rate): waits of 50 ms are always kept. The
 * shim's own I/O (writing the profiles) is never recorded. */
Test(io, default_rate, .timeout = 60)
{
	struct run r;
	struct profile block;
	run_ok(&r, &(struct run_opts){.prog = "io_waits", .args = (const char *[]){"pipe", "4", "50000", NULL}});
	cr_assert(run_profile(&r, NULL, "block", &block));
	struct psum s = profile_sum(&block, &(struct stack_match){.leaf = "read", .next = "pipe_reader"});
	cr_expect_eq(s.count, 4);
	expect_ratio(&block, (double)s.delay, 200e6, BAND_ASKED_LO, BAND_ASKED_HI, "pipe reads, default rate");
	for (size_t i = 0; i < block.nsamples; i++)
		for (size_t j = 0; j < block.samples[i].nframes; j++)
			cr_expect(strncmp(block.samples[i].frames[j], "ct_", 3) != 0,
				  "sample %zu has the shim's frame %s", i, block.samples[i].frames[j]);
	profile_free(&block);
	run_free(&r);
}

/* A process whose only waits are I/O and sleeps adding up to less than
 * 1 ms (cat, grep ... started by a profiled program) writes nothing; one
 * that waited longer writes its profiles. */
Test(io, short_helpers_write_nothing, .timeout = 60)
{
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "io_waits", .args = (const char *[]){"short", "2", "100", NULL},
					.env = exact_env});
	/* A loaded machine may stretch the sleeps past the 1 ms. */
	long long waited = run_value(&r, NULL, "waited_ns");
	if (waited < 800000) {
		cr_expect(!path_exists(r.outdir), "%s was written for %lld ns of sleeps", r.outdir,
			  waited);
		cr_expect_str_eq(r.err, "");
	}
	run_free(&r);

	struct profile block;
	run_ok(&r, &(struct run_opts){.prog = "io_waits", .args = (const char *[]){"short", "10", "300", NULL},
					.env = exact_env});
	cr_assert(run_profile(&r, NULL, "block", &block));
	struct psum s = profile_sum(&block, &(struct stack_match){.leaf = "usleep", .next = "do_short_sleeps"});
	cr_expect_eq(s.count, 10);
	profile_free(&block);
	run_free(&r);
}

/* ------------------------------------------------------------------ */
/* Results untouched. */

Test(io, same_results, .timeout = 120)
{
	static const char *const quiet[] = {"CONTEND_QUIET=1", NULL};
	struct run plain, shim;
	run_ok(&plain, &(struct run_opts){.prog = "io_behave", .no_preload = true});
	run_ok(&shim, &(struct run_opts){.prog = "io_behave", .env = exact_env, .env2 = quiet});
	cr_expect_str_eq(shim.out, plain.out, "io_behave: output differs under the shim");
	cr_expect_str_eq(shim.err, "", "io_behave: stderr under the shim: %s", shim.err);
	/* The waits it made were recorded, including the cancelled thread's
	 * neighbours, and the profile is intact. */
	struct profile block;
	cr_assert(run_profile(&shim, NULL, "block", &block));
	cr_expect_gt(profile_sum(&block, &(struct stack_match){.leaf = "read", .contains = "eintr"}).count, 0);
	cr_expect_gt(profile_sum(&block, &(struct stack_match){.leaf = "waitpid", .contains = "children"}).count, 0);
	profile_free(&block);
	run_free(&plain);
	run_free(&shim);
}

/* ------------------------------------------------------------------ */
/* go tool pprof with the labels. */

static void
pprof_top(struct run *t, const char *filter, const char *file)
{
	const char *argv[] = {"go", "tool", "pprof", "-top", filter, file, NULL};
	run_cmd(t, argv, 120);
	cr_expect(WIFEXITED(t->status) && WEXITSTATUS(t->status) == 0,
		  "go tool pprof -top %s failed:\n%s", filter, t->err);
}

Test(io, pprof_tag_filters, .timeout = 180)
{
	if (!have_program("go"))
		cr_skip_test("go is not installed: the go tool pprof checks are skipped");
	struct run r, t;
	char file[PATH_MAX];
	run_ok(&r, &(struct run_opts){.prog = "io_waits", .args = (const char *[]){"pipe", "3", "30000", NULL},
					.env = exact_env});
	run_path(&r, NULL, "block.pb.gz", file, sizeof(file));

	/* pprof's tag filters are unanchored regular expressions: op=read
	 * alone also keeps op=pthread_join ("th-read"), so the test failed
	 * whenever main's join waited long enough to be shown. */
	pprof_top(&t, "-tagfocus=op=^read$", file);
	cr_expect(strstr(t.out, "pipe_reader") && strstr(t.out, " read\n"),
		  "-tagfocus=op=^read$ lost the reads:\n%s", t.out);
	cr_expect(!strstr(t.out, "nanosleep") && !strstr(t.out, "pthread_join"),
		  "-tagfocus=op=^read$ kept other waits:\n%s", t.out);
	run_free(&t);

	pprof_top(&t, "-tagignore=class=io", file);
	cr_expect(!strstr(t.out, "pipe_reader"), "-tagignore=class=io kept the reads:\n%s", t.out);
	cr_expect(strstr(t.out, "nanosleep"), "-tagignore=class=io lost the sleeps:\n%s", t.out);
	run_free(&t);

	pprof_top(&t, "-tagfocus=fd_kind=pipe", file);
	cr_expect(strstr(t.out, "pipe_reader"), "-tagfocus=fd_kind=pipe:\n%s", t.out);
	run_free(&t);
	run_free(&r);
}

/* ------------------------------------------------------------------ */
/* A real server: memcached -t 4 under the shim, driven by memcaslap
 * (libmemcached-tools) over loopback for a few seconds, stopped with
 * SIGTERM (memcached handles it and returns from main: the exit dump). */

/* Installs the Debian packages if prog is missing; false if still missing. */
static bool
ensure_installed(const char *prog, const char *pkg)
{
	if (have_program(prog))
		return true;
	/* As root (CI, dev.sh), or through sudo without a password. */
	const char *install_root[] = {"env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install",
				      "-y", "-qq", "--no-install-recommends", pkg, NULL};
	const char *install_sudo[] = {"sudo", "-n", "env", "DEBIAN_FRONTEND=noninteractive",
				      "apt-get", "install", "-y", "-qq", "--no-install-recommends",
				      pkg, NULL};
	const char *update_root[] = {"apt-get", "update", "-qq", NULL};
	const char *update_sudo[] = {"sudo", "-n", "apt-get", "update", "-qq", NULL};
	bool root = getuid() == 0;
	const char *const *install = root ? install_root : install_sudo;
	const char *const *update = root ? update_root : update_sudo;
	if (!root && !have_program("sudo"))
		return false;
	struct run t;
	run_cmd(&t, (const char *const *)install, 300);
	run_free(&t);
	if (!have_program(prog)) {
		run_cmd(&t, (const char *const *)update, 300);
		run_free(&t);
		run_cmd(&t, (const char *const *)install, 300);
		run_free(&t);
	}
	return have_program(prog);
}

static int
free_loopback_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(s >= 0);
	cr_assert(bind(s, (struct sockaddr *)&a, sizeof(a)) == 0);
	cr_assert(getsockname(s, (struct sockaddr *)&a, &len) == 0);
	close(s);
	return ntohs(a.sin_port);
}

static bool
port_accepts(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int s = socket(AF_INET, SOCK_STREAM, 0);
	bool ok = s >= 0 && connect(s, (struct sockaddr *)&a, sizeof(a)) == 0;
	if (s >= 0)
		close(s);
	return ok;
}

/* Starts memcached under the shim in dir (its cwd), output in dir/out. */
static pid_t
start_memcached(const char *dir, int port)
{
	static char preload[PATH_MAX + 16], out[PATH_MAX + 16], portarg[16];
	snprintf(preload, sizeof(preload), "LD_PRELOAD=%s", env_required("CONTEND_LIB"));
	snprintf(out, sizeof(out), "CONTEND_OUT=%s/out", dir);
	snprintf(portarg, sizeof(portarg), "%d", port);
	struct envlist env;
	envlist_clean(&env);
	envlist_push(&env, preload);
	envlist_push(&env, out);
	envlist_push(&env, "CONTEND_MUTEX_FRACTION=1");
	const char *argv[] = {"memcached", "-t", "4", "-l", "127.0.0.1", "-p", portarg, "-U", "0",
			      "-u", "root", "-c", "256", NULL};
	char errp[PATH_MAX + 16];
	snprintf(errp, sizeof(errp), "%s/memcached.err", dir);
	fflush(NULL);
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		int nul = open("/dev/null", O_RDWR);
		int e = open(errp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (nul < 0 || e < 0 || dup2(nul, 0) < 0 || dup2(nul, 1) < 0 || dup2(e, 2) < 0 ||
		    chdir(dir) < 0)
			_exit(126);
		child_default_signals();
		execvpe("memcached", (char *const *)argv, (char *const *)env.v);
		_exit(127);
	}
	envlist_free(&env);
	return pid;
}

/* waitpid with a time-out in ms; SIGKILL after it. */
static int
wait_or_kill(pid_t pid, int ms, bool *killed)
{
	int st = 0;
	*killed = false;
	for (int waited = 0; waited < ms; waited += 10) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return st;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	*killed = true;
	return st;
}

Test(io, memcached_under_load, .timeout = 900)
{
	if (!ensure_installed("memcached", "memcached"))
		cr_skip_test("memcached is not installed and `apt-get install memcached` failed: "
			     "the real-server test is skipped");
	if (!ensure_installed("memcaslap", "libmemcached-tools"))
		cr_skip_test("memcaslap is not installed and `apt-get install libmemcached-tools` "
			     "failed: the real-server test is skipped");
	char dir[1024];
	tmpdir_make(dir, sizeof(dir), "memcached");
	int port = free_loopback_port();
	pid_t mc = start_memcached(dir, port);
	for (int i = 0; i < 500 && !port_accepts(port); i++)
		usleep(10000);
	cr_assert(port_accepts(port), "memcached did not start listening on 127.0.0.1:%d", port);

	char server[64];
	snprintf(server, sizeof(server), "127.0.0.1:%d", port);
	struct run load;
	const char *slap[] = {"memcaslap", "-s", server, "-t", "3s", "-T", "2", "-c", "32", NULL};
	run_cmd(&load, slap, 60);
	cr_expect(WIFEXITED(load.status) && WEXITSTATUS(load.status) == 0,
		  "memcaslap failed:\n%s%s", load.out, load.err);
	const char *tps = strstr(load.out, "TPS: ");
	cr_expect(tps && atol(tps + 5) > 0, "no transactions served:\n%s", load.out);

	cr_assert(kill(mc, SIGTERM) == 0);
	bool killed;
	int st = wait_or_kill(mc, 30000, &killed);
	cr_expect(!killed, "memcached did not stop within 30 s of SIGTERM");
	cr_expect((WIFEXITED(st) && WEXITSTATUS(st) == 0) ||
		  (WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM),
		  "memcached ended with status %#x", st);

	struct profile block, mutex;
	char out[PATH_MAX];
	snprintf(out, sizeof(out), "%s/out", dir);
	cr_assert(profile_load_in(&block, out, "block"));
	cr_assert(profile_load_in(&mutex, out, "mutex"));
	/* The worker threads' event loops wait in epoll_wait (through
	 * libevent), on threads started by pthread_create. */
	struct stack_match workers = {.leaf = "epoll_wait", .contains = "start_thread"};
	struct psum ep = profile_sum(&block, &workers);
	cr_expect_geq(ep.count, 4, "worker threads in epoll_wait: %lld waits", (long long)ep.count);
	cr_expect_gt(ep.delay, 1e9, "worker threads in epoll_wait: %lld ns", (long long)ep.delay);
	expect_labels(&block, &workers, (struct want_labels){"epoll_wait", "io", "epoll"},
		      "memcached workers");
	if (ep.count < 4)
		profile_dump(&block, "memcached block profile");
	/* Its lock hot spots: contended unlocks. */
	struct psum locks = profile_sum(&mutex, &(struct stack_match){0});
	cr_expect_gt(mutex.nsamples, 0, "the mutex profile of memcached under load is empty");
	cr_expect_gt(locks.delay, 0);
	profile_free(&block);
	profile_free(&mutex);
	run_free(&load);
	tmpdir_remove(dir);
}

/* A launcher whose only wait is for its child (a shell running a
 * pipeline, say) writes nothing, however long the child runs. */
Test(io, waiting_for_children_alone_writes_nothing, .timeout = 60)
{
	struct run r;
	run_ok(&r, &(struct run_opts){.prog = "io_waits", .args = (const char *[]){"child", "60", NULL},
					.env = exact_env, .out = "c.%p"});
	long long parent = run_value(&r, NULL, "parent");
	char dir[64];
	snprintf(dir, sizeof(dir), "c.%lld", parent);
	char path[PATH_MAX];
	run_path(&r, dir, "block.pb.gz", path, sizeof(path));
	cr_expect(!path_exists(path), "%s was written for a wait on a child", path);
	run_free(&r);
}
