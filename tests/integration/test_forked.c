/* Live dumps from every process of a forking server
 * (tests/progs/forking_server: a parent and two pre-forked workers, one
 * stuck behind a lock another of its threads holds, one single-threaded
 * and parked in poll()). Each worker answers CONTEND_DUMP_SIGNAL with a
 * snapshot of its own, `contend threads --pid PID` asks for one and
 * prints it, workers write their thread dump at exit, dumps under
 * pid-qualified names are found, and CONTEND_HTTP in the parent leaves
 * the workers off its port (or gives each one of its own with port 0).
 *
 * No sleeps of chance: every wait is for a file, a line or a state the
 * kernel reports, with generous time-outs. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testrun.h"

struct srv {
	struct run r; /* forking_server: its directory, pid and output */
	pid_t stuck, idle;
	long stuck_tid, idle_tid;
};

/* The integer after "key=" on a line of text, or -1. */
static long
value_of(const char *text, const char *key)
{
	char want[64];
	snprintf(want, sizeof(want), "%s=", key);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, want, strlen(want)))
			return atol(p + strlen(want));
	return -1;
}

/* The main thread of pid is inside system call nr (the kernel's view). */
static bool
blocked_in(pid_t pid, long tid, long nr)
{
	char path[64], buf[64];
	snprintf(path, sizeof(path), "/proc/%d/task/%ld/syscall", (int)pid, tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	return atol(buf) == nr;
}

static void
wait_blocked(pid_t pid, long tid, long nr, long nr2, const char *what)
{
	double deadline = mono_s() + 60;
	while (!blocked_in(pid, tid, nr) && !blocked_in(pid, tid, nr2)) {
		cr_assert(mono_s() < deadline, "%s never blocked", what);
		sleep_ms(20);
	}
}

/* Starts forking_server in a new temporary directory (its cwd) with the
 * shim, CONTEND_OUT=out (a template relative to that directory) and env;
 * returns once both workers said their pids and are blocked for good. */
static void srv_start_args(struct srv *s, const char *out, const char *const *env,
			   const char *arg);

static void
srv_start(struct srv *s, const char *out, const char *const *env)
{
	srv_start_args(s, out, env, NULL);
}

static void
srv_start_args(struct srv *s, const char *out, const char *const *env, const char *arg)
{
	memset(s, 0, sizeof(*s));
	const char *const args[] = {arg, NULL};
	run_start(&s->r, &(struct run_opts){.prog = "forking_server", .args = arg ? args : NULL,
					    .env = env, .out = out, .raw_out = true,
					    .stdin_pipe = true});
	pid_t pid = s->r.pid;
	double deadline = mono_s() + 60;
	for (;;) {
		char *o = read_file(s->r.outpath, NULL);
		s->stuck_tid = o ? value_of(o, "stuck_tid") : -1;
		s->idle_tid = o ? value_of(o, "idle_tid") : -1;
		s->stuck = o ? (pid_t)value_of(o, "stuck") : -1;
		s->idle = o ? (pid_t)value_of(o, "idle") : -1;
		free(o);
		if (s->stuck_tid > 0 && s->idle_tid > 0)
			break;
		cr_assert(waitpid(pid, NULL, WNOHANG) == 0, "forking_server exited early");
		cr_assert(mono_s() < deadline, "forking_server did not start its workers");
		sleep_ms(20);
	}
	/* The stuck worker's main thread in the mutex's futex wait, the idle
	 * one in poll (ppoll where poll() is made with it). */
	wait_blocked(s->stuck, s->stuck_tid, SYS_futex, SYS_futex, "the stuck worker");
#ifdef SYS_poll
	wait_blocked(s->idle, s->idle_tid, SYS_poll, SYS_ppoll, "the idle worker");
#else
	wait_blocked(s->idle, s->idle_tid, SYS_ppoll, SYS_ppoll, "the idle worker");
#endif
}

/* Closes its stdin: the workers finish, the parent reaps them. */
static void
srv_stop(struct srv *s)
{
	run_wait(&s->r, 60);
	cr_assert(WIFEXITED(s->r.status) && WEXITSTATUS(s->r.status) == 0,
		  "forking_server failed; stderr:\n%s", s->r.err);
	cr_expect_eq(value_of(s->r.out, "stuck_status"), 0, "%s", s->r.out);
	cr_expect_eq(value_of(s->r.out, "idle_status"), 0, "%s", s->r.out);
}

static void
srv_free(struct srv *s)
{
	run_free(&s->r);
}

/* `contend threads --pid PID [more]`, from another directory. */
static void
contend_threads_pid(struct run *r, pid_t pid, const char *more)
{
	char contend[PATH_MAX], p[24];
	snprintf(contend, sizeof(contend), "%s", contend_bin());
	snprintf(p, sizeof(p), "%d", (int)pid);
	const char *argv[] = {contend, "threads", "--pid", p, more, NULL};
	run_cmd(r, argv, 120);
}

static void
expect_stuck_dump(const struct run *r, pid_t pid)
{
	cr_expect_eq(run_exit_code(r), 0, "contend threads --pid %d: %s", (int)pid, r->err);
	cr_expect(strstr(r->out, "pthread_mutex_lock in stuck_request (forking_server.c:"),
		  "the stuck request is not in the dump:\n%s", r->out);
	cr_expect(strstr(r->out, "read in wait_for_shutdown (forking_server.c:"),
		  "the holder is not in the dump:\n%s", r->out);
	char say[64];
	snprintf(say, sizeof(say), "thread dump of pid %d: ", (int)pid);
	cr_expect(strstr(r->err, say), "%s", r->err);
}

static void
expect_idle_dump(const struct run *r, pid_t pid)
{
	cr_expect_eq(run_exit_code(r), 0, "contend threads --pid %d: %s", (int)pid, r->err);
	cr_expect(strstr(r->out, "1 thread in 1 group"), "%s", r->out);
	cr_expect(strstr(r->out, "poll in idle_worker (forking_server.c:"),
		  "the idle worker's poll is not in the dump:\n%s", r->out);
}

/* <tmp>/<pre><pid><post> exists (want) or not. */
static void
expect_process_file(const struct srv *s, pid_t pid, const char *pre, const char *post, bool want)
{
	char path[PATH_MAX + 96];
	snprintf(path, sizeof(path), "%s/%s%d%s", s->r.tmp, pre, (int)pid, post);
	cr_expect(path_exists(path) == want, "%s %s; stderr:\n%s", want ? "no" : "unwanted", path,
		  s->r.err);
}

/* The same for the server and both workers. */
static void
expect_each_process(const struct srv *s, const char *pre, const char *post, bool want)
{
	pid_t pids[] = {s->r.pid, s->stuck, s->idle};
	for (int i = 0; i < 3; i++)
		expect_process_file(s, pids[i], pre, post, want);
}

/* Starts the forking server with CONTEND_OUT=out and asks each worker
 * for its live thread dump with `contend threads --pid`. */
static void
dump_each_worker(struct srv *s, const char *out)
{
	srv_start(s, out, (const char *const[]){"CONTEND_DUMP_SIGNAL=SIGUSR2", NULL});
	struct run r;
	contend_threads_pid(&r, s->stuck, NULL);
	expect_stuck_dump(&r, s->stuck);
	run_free(&r);
	contend_threads_pid(&r, s->idle, NULL);
	expect_idle_dump(&r, s->idle);
	run_free(&r);
}

/* Each worker, asked by `contend threads --pid`, writes a snapshot into
 * its own directory (CONTEND_OUT=out.%p) and the command prints it; at
 * exit every process writes its thread dump, the single-threaded worker
 * included. */
Test(forked, live_dump_in_each_worker, .timeout = 300)
{
	struct srv s;
	dump_each_worker(&s, "out.%p");
	expect_process_file(&s, s.stuck, "out.", "/threads.0001.txt", true);
	expect_process_file(&s, s.idle, "out.", "/threads.0001.txt", true);
	/* The parent was not asked: no snapshot of its own. */
	expect_process_file(&s, s.r.pid, "out.", "/threads.0001.txt", false);
	srv_stop(&s);
	/* Every worker survived its dump (exit status 0 above) and wrote its
	 * profiles and thread dump at exit. */
	expect_each_process(&s, "out.", "/threads.txt", true);
	expect_each_process(&s, "out.", "/block.pb.gz", true);
	srv_free(&s);
}

/* A server that changes directory before it forks (to "/", to its data
 * directory): a relative CONTEND_OUT is still taken from where it
 * started, in its children too; `contend threads --dir` finds it. */
Test(forked, relative_out_from_the_start_directory, .timeout = 300)
{
	struct srv s;
	srv_start_args(&s, "out.%p", (const char *const[]){"CONTEND_DUMP_SIGNAL=SIGUSR2", NULL},
		       "chdir");
	char dir[PATH_MAX + 64];
	snprintf(dir, sizeof(dir), "%s/out.%d", s.r.tmp, (int)s.stuck);
	char contend[PATH_MAX], p[24];
	snprintf(contend, sizeof(contend), "%s", contend_bin());
	snprintf(p, sizeof(p), "%d", (int)s.stuck);
	struct run r;
	run_cmd(&r, (const char *const[]){contend, "threads", "--pid", p, "--dir", dir, NULL}, 120);
	expect_stuck_dump(&r, s.stuck);
	run_free(&r);
	srv_stop(&s);
	expect_each_process(&s, "out.", "/threads.txt", true);
	expect_each_process(&s, "elsewhere/out.", "", false);
	srv_free(&s);
}

/* A process that writes its title over its environment and changes
 * directory (redis-server), started by a process without the shim:
 * neither its environment nor its current directory tells where it
 * writes or which signal asks it to. `contend threads --pid` reads both
 * from the shim in its memory (core/names.h ct_dir_beacon) and prints the
 * dump; it looked in the current directory, without a signal, and needed
 * --signal and --dir. */
Test(forked, title_over_environment_and_chdir_still_dumped, .timeout = 300)
{
	struct run s;
	run_start(&s, &(struct run_opts){.prog = "title_chdir",
					 .env = (const char *[]){"CONTEND_DUMP_SIGNAL=SIGUSR2", NULL},
					 .stdin_pipe = true});
	run_await_serving(&s, false);
	char environ_path[64];
	snprintf(environ_path, sizeof(environ_path), "/proc/%d/environ", (int)s.pid);
	size_t n = 0;
	char *env = read_file(environ_path, &n);
	cr_expect(env && !memmem(env, n, "CONTEND_", 8), "the environment still shows CONTEND_*");
	free(env);
	char contend[PATH_MAX], p[24];
	snprintf(contend, sizeof(contend), "%s", contend_bin());
	snprintf(p, sizeof(p), "%d", (int)s.pid);
	struct run r;
	run_cmd(&r, (const char *const[]){contend, "threads", "--pid", p, "--timeout", "60", NULL},
		120);
	cr_expect_eq(run_exit_code(&r), 0, "%s", r.err);
	char want[PATH_MAX + 64];
	snprintf(want, sizeof(want), "thread dump of pid %d: %s/threads.0001.txt", (int)s.pid,
		 s.outdir);
	cr_expect(strstr(r.err, want), "want '%s' in:\n%s", want, r.err);
	cr_expect(strstr(r.out, "poll"), "%s", r.out);
	cr_expect(!strstr(r.err, "written over"), "%s", r.err);
	run_free(&r);
	close(s.stdin_fd);
	s.stdin_fd = -1;
	run_wait(&s, 60);
	run_free(&s);
}

/* One directory for all (CONTEND_OUT without %p): the worker dumped
 * second finds the plain names taken and writes threads.pid<PID>.0001.txt;
 * `contend threads --pid` finds each worker's own, and `contend threads
 * DIR` the newest, pid-qualified one. */
Test(forked, live_dump_pid_qualified, .timeout = 300)
{
	struct srv s;
	dump_each_worker(&s, "out");
	char path[PATH_MAX + 64], name[64];
	snprintf(path, sizeof(path), "%s/out/threads.0001.txt", s.r.tmp);
	cr_expect(path_exists(path), "no %s", path);
	snprintf(path, sizeof(path), "%s/out/threads.pid%d.0001.txt", s.r.tmp, (int)s.idle);
	cr_expect(path_exists(path), "no %s", path);

	/* The directory's newest dump is the idle worker's pid-qualified one
	 * (its profile, placed after its text). */
	char contend[PATH_MAX], dir[PATH_MAX + 8];
	snprintf(contend, sizeof(contend), "%s", contend_bin());
	snprintf(dir, sizeof(dir), "%s/out", s.r.tmp);
	struct run r;
	run_cmd(&r, (const char *const[]){contend, "threads", dir, NULL}, 60);
	cr_expect_eq(run_exit_code(&r), 0, "%s", r.err);
	snprintf(name, sizeof(name), "(threads.pid%d.0001.pb.gz)", (int)s.idle);
	cr_expect(strstr(r.out, name), "not the pid-qualified dump:\n%s", r.out);
	cr_expect(strstr(r.out, "poll in idle_worker"), "%s", r.out);
	run_free(&r);
	srv_stop(&s);
	srv_free(&s);
}

/* A directory holding only a pid-qualified final dump (a second run into
 * the same directory) is a directory with a thread dump. */
Test(forked, pid_qualified_final_dump_found, .timeout = 120)
{
	struct run r;
	run_prog(&r, &(struct run_opts){.prog = "threads_leaks",
					.args = NULL,
					.env = (const char *const[]){"CONTEND_STUCK=100ms", NULL}});
	char tmp[PATH_MAX + 16], from[PATH_MAX + 32], to[PATH_MAX + 32];
	snprintf(tmp, sizeof(tmp), "%s", r.outdir);
	/* Renamed as a process that found the names taken writes them. */
	const char *files[] = {"threads.txt", "threads.pb.gz"};
	const char *pidq[] = {"threads.pid4242.txt", "threads.pid4242.pb.gz"};
	for (int i = 0; i < 2; i++) {
		snprintf(from, sizeof(from), "%s/%s", tmp, files[i]);
		snprintf(to, sizeof(to), "%s/%s", tmp, pidq[i]);
		cr_assert(rename(from, to) == 0, "%s: %s; stderr:\n%s", from, strerror(errno), r.err);
	}
	char contend[PATH_MAX];
	snprintf(contend, sizeof(contend), "%s", contend_bin());
	struct run v;
	run_cmd(&v, (const char *const[]){contend, "threads", tmp, NULL}, 60);
	cr_expect_eq(run_exit_code(&v), 0, "%s", v.err);
	cr_expect(strstr(v.out, "(threads.pid4242.pb.gz)"), "%s", v.out);
	run_free(&v);
	run_free(&r);
}

/* One line and status 1 for each thing that can be wrong. */
Test(forked, live_dump_errors, .timeout = 120)
{
	struct run r;
	/* A pid that is free: the highest the kernel would give, checked. */
	pid_t none = 4194303;
	if (kill(none, 0) == 0 || errno != ESRCH)
		none = 0;
	if (none) {
		contend_threads_pid(&r, none, NULL);
		cr_expect_eq(run_exit_code(&r), 1);
		cr_expect(strstr(r.err, "no process with pid"), "%s", r.err);
		cr_expect_eq(count_lines(r.err), 1, "%s", r.err);
		run_free(&r);
	}
	/* This runner: not preloaded. */
	contend_threads_pid(&r, getpid(), NULL);
	cr_expect_eq(run_exit_code(&r), 1);
	cr_expect(strstr(r.err, "is not running with libcontend.so"), "%s", r.err);
	cr_expect_eq(count_lines(r.err), 1, "%s", r.err);
	run_free(&r);

	/* Preloaded but without a dump signal: nothing is sent (SIGUSR2
	 * would kill it). */
	struct srv s;
	srv_start(&s, "out.%p", NULL);
	contend_threads_pid(&r, s.idle, NULL);
	cr_expect_eq(run_exit_code(&r), 1);
	cr_expect(strstr(r.err, "no CONTEND_DUMP_SIGNAL"), "%s", r.err);
	run_free(&r);
	/* Naming a signal it does not catch is refused too. */
	contend_threads_pid(&r, s.idle, "--signal=SIGUSR1");
	cr_expect_eq(run_exit_code(&r), 1);
	cr_expect(strstr(r.err, "does not catch SIGUSR1"), "%s", r.err);
	run_free(&r);
	srv_stop(&s);
	srv_free(&s);

	/* Exec'd in the loader's secure-execution mode (real and effective
	 * ids differ: squid's master starts its kids so), where LD_PRELOAD
	 * paths are ignored: said as the reason. */
	if (geteuid() == 0) {
		pid_t kid = fork();
		cr_assert_geq(kid, 0);
		if (kid == 0) {
			if (setresuid(65534, 0, 0) != 0)
				_exit(126);
			setenv("LD_PRELOAD", getenv("CONTEND_LIB"), 1);
			execl("/bin/sleep", "sleep", "60", (char *)NULL);
			_exit(127);
		}
		/* Until the exec has happened: its name changes to sleep. */
		char comm[64] = "";
		for (int i = 0; i < 2000 && strcmp(comm, "sleep\n"); i++) {
			char path[64];
			snprintf(path, sizeof(path), "/proc/%d/comm", (int)kid);
			FILE *f = fopen(path, "r");
			comm[0] = '\0';
			if (f) {
				if (!fgets(comm, sizeof(comm), f))
					comm[0] = '\0';
				fclose(f);
			}
			if (strcmp(comm, "sleep\n"))
				usleep(5000);
		}
		contend_threads_pid(&r, kid, NULL);
		kill(kid, SIGKILL);
		waitpid(kid, NULL, 0);
		cr_expect_eq(run_exit_code(&r), 1);
		cr_expect(strstr(r.err, "secure-execution mode"), "%s", r.err);
		cr_expect_eq(count_lines(r.err), 1, "%s", r.err);
		run_free(&r);
	}

	/* Permission: pid 1 belongs to root; as another user it is refused
	 * (so is root, in a container without CAP_SYS_PTRACE), as root it is
	 * not preloaded. Either way one line. */
	contend_threads_pid(&r, 1, NULL);
	cr_expect_eq(run_exit_code(&r), 1);
	cr_expect(strstr(r.err, "permission denied") ||
			  (geteuid() == 0 && strstr(r.err, "not running with libcontend.so")),
		  "%s", r.err);
	cr_expect_eq(count_lines(r.err), 1, "%s", r.err);
	run_free(&r);
}

/* The parent is single-threaded and blocked in a read() the kernel
 * restarts after our handler: it cannot dump until the read returns, so
 * the command gives up after --timeout with one line saying why. */
Test(forked, live_dump_timeout, .timeout = 300)
{
	struct srv s;
	srv_start(&s, "out.%p", (const char *const[]){"CONTEND_DUMP_SIGNAL=SIGUSR2", NULL});
	struct run r;
	contend_threads_pid(&r, s.r.pid, "--timeout=3");
	cr_expect_eq(run_exit_code(&r), 1, "%s", r.out);
	cr_expect(strstr(r.err, "timed out after 3 s waiting for pid"), "%s", r.err);
	cr_expect_eq(count_lines(r.err), 1, "%s", r.err);
	run_free(&r);
	/* Unharmed: srv_stop expects exit status 0 from every process. */
	srv_stop(&s);

	/* Options of --pid alone are a usage error. */
	char contend[PATH_MAX];
	snprintf(contend, sizeof(contend), "%s", contend_bin());
	run_cmd(&r, (const char *const[]){contend, "threads", "--timeout=3", s.r.tmp, NULL}, 60);
	cr_expect_eq(run_exit_code(&r), 2, "%s", r.err);
	cr_expect(strstr(r.err, "go with --pid"), "%s", r.err);
	run_free(&r);
	srv_free(&s);
}

/* ---- CONTEND_HTTP in a forking server --------------------------------- */

/* The body of GET path from port (NULL if it cannot connect). */
static char *
http_get(int port, const char *path)
{
	int fd = connect_port(port);
	if (fd < 0)
		return NULL;
	char req[256];
	int n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
	cr_assert(write(fd, req, (size_t)n) == n);
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	cr_assert(buf);
	ssize_t r;
	while ((r = read(fd, buf + len, cap - len - 1)) > 0) {
		len += (size_t)r;
		if (cap - len - 1 == 0) {
			cap *= 2;
			buf = realloc(buf, cap);
			cr_assert(buf);
		}
	}
	close(fd);
	buf[len] = 0;
	return buf;
}

/* Whether socket inode ino is a Unix socket (in /proc/PID/net/unix, whose
 * seventh column is the inode). */
static bool
unix_socket(pid_t pid, unsigned long ino)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%d/net/unix", (int)pid);
	FILE *f = fopen(path, "r");
	bool found = false;
	while (f && !found && fgets(line, sizeof(line), f)) {
		unsigned long i;
		found = sscanf(line, "%*s %*s %*s %*s %*s %*s %lu", &i) == 1 && i == ino;
	}
	if (f)
		fclose(f);
	return found;
}

/* The process's Internet sockets: not the Unix socket pair its own
 * dumper wakes up with. */
static int
count_sockets(pid_t pid)
{
	char dir[64];
	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(dir);
	cr_assert(d, "%s: %s", dir, strerror(errno));
	struct dirent *e;
	int n = 0;
	while ((e = readdir(d))) {
		char path[PATH_MAX], link[128];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		ssize_t k = readlink(path, link, sizeof(link) - 1);
		unsigned long ino;
		if (k > 0) {
			link[k] = 0;
			n += sscanf(link, "socket:[%lu]", &ino) == 1 && !unix_socket(pid, ino);
		}
	}
	closedir(d);
	return n;
}

/* A fixed port is the parent's: it says once that its children do not
 * serve, the children never listen (their live dump comes on the signal
 * instead), and the parent keeps answering. */
Test(forked, http_fixed_port_is_the_parents, .timeout = 300)
{
	/* A free port: bound and released here (SO_REUSEADDR on both). */
	int probe = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t al = sizeof(a);
	cr_assert(bind(probe, (struct sockaddr *)&a, sizeof(a)) == 0);
	cr_assert(getsockname(probe, (struct sockaddr *)&a, &al) == 0);
	int port = ntohs(a.sin_port);
	close(probe);
	char http[64];
	snprintf(http, sizeof(http), "CONTEND_HTTP=127.0.0.1:%d", port);
	struct srv s;
	srv_start(&s, "out.%p", (const char *const[]){http, "CONTEND_DUMP_SIGNAL=SIGUSR2", NULL});
	/* A dump of each worker: its dumper thread has made its decision
	 * about the port (it listens before its first snapshot). */
	struct run r;
	contend_threads_pid(&r, s.stuck, NULL);
	expect_stuck_dump(&r, s.stuck);
	run_free(&r);
	contend_threads_pid(&r, s.idle, NULL);
	expect_idle_dump(&r, s.idle);
	run_free(&r);
	cr_expect_eq(count_sockets(s.stuck), 0, "the stuck worker has a socket");
	cr_expect_eq(count_sockets(s.idle), 0, "the idle worker has a socket");
	char *body = http_get(port, "/debug/pprof/goroutine?debug=2");
	char want[64];
	snprintf(want, sizeof(want), "libcontend thread dump: pid %d,", (int)s.r.pid);
	cr_expect(body && strstr(body, want), "the parent does not answer:\n%s", body ? body : "");
	free(body);
	srv_stop(&s);
	snprintf(want, sizeof(want), "fork children of pid %d do not serve", (int)s.r.pid);
	const char *said = strstr(s.r.err, want);
	cr_expect(said && !strstr(said + 1, want), "not said exactly once:\n%s", s.r.err);
	cr_expect_eq(served_port(s.r.err, s.r.pid), port, "%s", s.r.err);
	cr_expect_eq(served_port(s.r.err, s.stuck), 0, "%s", s.r.err);
	cr_expect_eq(served_port(s.r.err, s.idle), 0, "%s", s.r.err);
	srv_free(&s);
}

/* Port 0 in a worker whose first blocking call never returns (parked in
 * poll() from its start, as a pre-forked worker in accept() or
 * epoll_wait()): its server starts as that call begins. It used to start
 * only when a blocking call ended, so such a worker never served. */
static void
parked_case(const char *how)
{
	struct srv s;
	srv_start_args(&s, "out.%p",
		       (const char *const[]){"CONTEND_HTTP=127.0.0.1:0", NULL}, how);
	int port = 0;
	double deadline = mono_s() + 60;
	while (port <= 0) {
		char *err = read_file(s.r.errpath, NULL);
		port = err ? served_port(err, s.idle) : 0;
		free(err);
		cr_assert(port > 0 || mono_s() < deadline, "the parked worker never served");
		if (port <= 0)
			sleep_ms(20);
	}
	char *body = http_get(port, "/debug/pprof/goroutine?debug=2");
	cr_expect(body && strstr(body, "idle_worker (forking_server.c:"), "%s", body ? body : "");
	free(body);
	srv_stop(&s);
	srv_free(&s);
}

Test(forked, http_port_zero_serves_a_worker_parked_from_its_start, .timeout = 300)
{
	parked_case("parked");
}

/* The same after a vfork() child of the worker made blocking calls: the
 * server's thread would have been started in that child (gone at its
 * _exit), and the worker, sharing its memory, took it for its own. */
Test(forked, http_port_zero_serves_a_worker_whose_vfork_child_blocked, .timeout = 300)
{
	parked_case("vfork");
}

/* How many numbered snapshots (name.NNNN.ext) dir holds. */
static int
numbered_files(const char *dir)
{
	int n = 0;
	DIR *d = opendir(dir);
	for (struct dirent *e; d && (e = readdir(d));) {
		const char *dot = strchr(e->d_name, '.');
		n += dot && dot[1] >= '0' && dot[1] <= '9';
	}
	if (d)
		closedir(d);
	return n;
}

/* Port 0: every process serves on a free port of its own, each answering
 * for itself (the threaded worker from its first thread, the
 * single-threaded one from its first blocking call). And
 * without CONTEND_INTERVAL none writes numbered snapshots: a worker's
 * server, due at once, was taken for a snapshot due at once and again at
 * every pass of its loop, once the worker had recorded a wait (its
 * start-up sleep here, every event recorded): dozens a second, and a
 * daemonized memcached four times slower to stop. */
Test(forked, http_port_zero_serves_in_each_process, .timeout = 300)
{
	struct srv s;
	srv_start(&s, "out.%p",
		  (const char *const[]){"CONTEND_HTTP=127.0.0.1:0", "CONTEND_BLOCK_RATE=1", NULL});
	pid_t pids[] = {s.r.pid, s.stuck, s.idle};
	int ports[3] = {0};
	double deadline = mono_s() + 60;
	for (int i = 0; i < 3; i++) {
		for (;;) {
			char *err = read_file(s.r.errpath, NULL);
			ports[i] = err ? served_port(err, pids[i]) : 0;
			free(err);
			if (ports[i] > 0)
				break;
			cr_assert(mono_s() < deadline, "pid %d never served", (int)pids[i]);
			sleep_ms(20);
		}
	}
	cr_expect_neq(ports[0], ports[1]);
	cr_expect_neq(ports[1], ports[2]);
	char *body = http_get(ports[1], "/debug/pprof/goroutine?debug=2");
	char want[64];
	snprintf(want, sizeof(want), "libcontend thread dump: pid %d,", (int)s.stuck);
	cr_expect(body && strstr(body, want), "%s", body ? body : "");
	cr_expect(body && strstr(body, "stuck_request (forking_server.c:"), "%s", body ? body : "");
	free(body);
	srv_stop(&s);
	cr_expect(!strstr(s.r.err, "do not serve"), "%s", s.r.err);
	for (int i = 0; i < 3; i++) {
		char dir[PATH_MAX + 32];
		snprintf(dir, sizeof(dir), "%s/out.%d", s.r.tmp, (int)pids[i]);
		cr_expect_eq(numbered_files(dir), 0, "%s: numbered snapshots without an interval", dir);
	}
	srv_free(&s);
}

/* Starts prog with the dump signal SIGUSR2, CONTEND_STUCK=1s and
 * CONTEND_OUT=out.%p, stdin a pipe (closing it ends the program). */
static void
start_with_dumps(struct run *srv, const char *prog)
{
	run_start(srv, &(struct run_opts){.prog = prog,
					  .env = (const char *const[]){"CONTEND_DUMP_SIGNAL=SIGUSR2",
								       "CONTEND_STUCK=1s", NULL},
					  .out = "out.%p", .raw_out = true, .stdin_pipe = true});
}

/* Closes its stdin; it must exit 0 after "status=0". */
static void
stop_with_status(struct run *srv)
{
	run_wait(srv, 60);
	cr_expect(WIFEXITED(srv->status) && WEXITSTATUS(srv->status) == 0, "%s\n%s", srv->out,
		  srv->err);
	cr_expect_eq(value_of(srv->out, "status"), 0, "%s", srv->out);
	run_free(srv);
}

/* latch_server (a process-per-connection server whose backends wait on
 * epoll sets, as PostgreSQL's do): the pid after "key=" once it appears
 * in its output. */
static pid_t
latch_pid(struct run *r, const char *key)
{
	double deadline = mono_s() + 60;
	for (;;) {
		char *o = read_file(r->outpath, NULL);
		long v = o ? value_of(o, key) : -1;
		free(o);
		if (v > 0)
			return (pid_t)v;
		cr_assert(waitpid(r->pid, NULL, WNOHANG) == 0, "latch_server exited early");
		cr_assert(mono_s() < deadline, "latch_server never said %s", key);
		sleep_ms(20);
	}
}

/* How many times key appears in the server's output so far. */
static int
latch_count(struct run *r, const char *key)
{
	char *o = read_file(r->outpath, NULL);
	int n = 0;
	for (const char *p = o ? strstr(o, key) : NULL; p; p = strstr(p + 1, key))
		n++;
	free(o);
	return n;
}

/* The single thread of pid in epoll_wait (or epoll_pwait), as the kernel
 * shows it. */
static void
wait_in_epoll(pid_t pid, const char *what)
{
#ifdef SYS_epoll_wait
	wait_blocked(pid, pid, SYS_epoll_wait, SYS_epoll_pwait, what);
#else
	wait_blocked(pid, pid, SYS_epoll_pwait, SYS_epoll_pwait, what);
#endif
}

/* `contend threads --pid pid`, then a line about its thread in the
 * snapshot that asked for (out.<pid>/threads.0001.txt): the summary's
 * ("stuck: thread <pid> ...", a thread alone on its line) or, with block,
 * the header of the thread's block ("thread <pid> ... [...]:"), into line
 * (empty when none). */
static void
latch_dump(struct run *srv, pid_t pid, bool block, char *line, size_t len)
{
	struct run r;
	contend_threads_pid(&r, pid, NULL);
	cr_expect_eq(run_exit_code(&r), 0, "contend threads --pid %d: %s", (int)pid, r.err);
	run_free(&r);
	char path[PATH_MAX + 64], want[48];
	snprintf(path, sizeof(path), "%s/out.%d/threads.0001.txt", srv->tmp, (int)pid);
	char *t = read_file(path, NULL);
	cr_assert(t, "no %s", path);
	snprintf(want, sizeof(want), "thread %d \"", (int)pid);
	const char *p = strstr(t, want);
	while (p && p > t && (p[-1] == '\n') != block)
		p = strstr(p + 1, want);
	line[0] = 0;
	if (p) {
		while (p > t && p[-1] != '\n')
			p--;
		const char *nl = strchr(p, '\n');
		snprintf(line, len, "%.*s", (int)(nl ? nl - p : (long)strlen(p)), p);
	}
	cr_expect(line[0], "no line about thread %d in %s:\n%s", (int)pid, path, t);
	free(t);
}

/* The wait's length on a header ("[epoll_wait fd 5 (epoll), 2.3s, ..."),
 * in seconds; -1 if none. */
static double
header_wait_s(const char *line)
{
	const char *p = strchr(line, '[');
	for (p = p ? strstr(p, ", ") : NULL; p; p = strstr(p + 2, ", ")) {
		char *end;
		double v = strtod(p + 2, &end);
		if (end != p + 2 && !strncmp(end, "ms", 2))
			return v / 1e3;
		if (end != p + 2 && *end == 's')
			return v;
	}
	return -1;
}

/* A backend blocked on a lock it waits for on its latch (epoll_wait on an
 * eventfd and a pipe, no socket) is stuck, not idle, with its whole wait:
 * the deadlock timeout's SIGALRM interrupts it, the handler sets the
 * latch, the wait after it returns at once and the backend drains the
 * eventfd and waits again: one wait from before the signal, re-armed
 * twice (three times when the dump's signal interrupts it too). A backend waiting for its client (a socket in the set) and a
 * background process parked on its latch from its start are idle. */
Test(forked, latch_wait_of_a_backend_is_one_stuck_wait, .timeout = 300)
{
	struct run srv;
	start_with_dumps(&srv, "latch_server");
	pid_t blocked = latch_pid(&srv, "blocked"), idle = latch_pid(&srv, "idle"),
	      aux = latch_pid(&srv, "aux");
	/* After "blocked" its next epoll_wait is the lock wait. The wait
	 * after the leftover must begin within CT_REARM_GAP_NS (100 ms) of
	 * the re-armed one: a backend preempted longer than that between the
	 * two (a loaded machine) starts a new run, so the round is tried up
	 * to three times; each later round's run began before its t0 all the
	 * same, and one that never joins fails every round. */
	char line[512];
	double waited = 0;
	bool one = false;
	for (int round = 0; round < 3 && !one; round++) {
		wait_in_epoll(blocked, "the blocked backend");
		double t0 = mono_s();
		sleep_ms(1500);
		int drained = latch_count(&srv, "woken=");
		cr_assert(kill(blocked, SIGALRM) == 0);
		for (double end = mono_s() + 60; latch_count(&srv, "woken=") == drained;
		     sleep_ms(20))
			cr_assert(mono_s() < end, "the blocked backend never drained its latch");
		wait_in_epoll(blocked, "the blocked backend, after the deadlock timeout");
		waited = mono_s() - t0;
		latch_dump(&srv, blocked, false, line, sizeof(line));
		/* Re-armed after SIGALRM and after its leftover (and maybe
		 * after the dump's own signal); begun before t0 (shown with
		 * 0.1 s resolution). */
		const char *re = strstr(line, "re-armed ");
		one = !strncmp(line, "stuck: thread", 13) && strstr(line, "[epoll_wait fd ") && re &&
		      atoi(re + 9) >= 2 && strstr(line, "at wait_event_set") &&
		      header_wait_s(line) >= waited - 0.05;
	}
	cr_expect(one, "the lock wait is not one stuck wait of %.2fs at least:\n%s", waited, line);
	latch_dump(&srv, idle, true, line, sizeof(line));
	cr_expect(strstr(line, "[epoll_wait fd ") && strstr(line, ", idle]"),
		  "the backend waiting for its client is not idle:\n%s", line);
	wait_in_epoll(aux, "the background process");
	latch_dump(&srv, aux, true, line, sizeof(line));
	cr_expect(strstr(line, "[epoll_wait fd ") && strstr(line, ", idle]"),
		  "the background process is not idle:\n%s", line);
	stop_with_status(&srv);
}

/* A server shaped like Apache's event MPM (sigblock_server): its worker
 * blocks every signal in every thread, so the dump signal stays pending
 * there and no handler ever runs: the shim's own thread takes it (a
 * signalfd) while its action is ours, and the worker is dumped. Its main
 * thread reads the pipe the master closes to stop it: a wait for the
 * master, idle however long. The master sleeps in a loop of select()
 * with no descriptor (apr_sleep): sleeps, never one re-armed wait, so not
 * stuck after CONTEND_STUCK. */
Test(forked, worker_blocking_every_signal_and_sleeping_master, .timeout = 300)
{
	struct run srv;
	start_with_dumps(&srv, "sigblock_server");
	pid_t master = latch_pid(&srv, "master"), worker = latch_pid(&srv, "worker");
	char line[512];
	/* Both have waited for longer than CONTEND_STUCK. */
	sleep_ms(1500);
	latch_dump(&srv, worker, true, line, sizeof(line));
	cr_expect(strstr(line, "[read fd ") && strstr(line, ", idle]"),
		  "the worker's main thread: %s", line);
	latch_dump(&srv, master, true, line, sizeof(line));
	cr_expect(strstr(line, "[select, ") && !strstr(line, "re-armed") && !strstr(line, "stuck"),
		  "the master's naps are one wait: %s", line);
	stop_with_status(&srv);
}
