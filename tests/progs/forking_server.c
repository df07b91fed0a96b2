/* A pre-forked server in miniature, for live dumps of its workers
 * (tests/integration/test_forked.c). The parent forks two workers,
 * prints their pids and waits for its stdin to close; meanwhile:
 *
 *   stuck  two threads: a holder thread takes table_lock and waits for the
 *          shutdown pipe; the worker's main thread blocks in
 *          pthread_mutex_lock in stuck_request() behind it (a request stuck
 *          behind a lock, as a PostgreSQL backend behind a held LWLock);
 *   idle   single-threaded: a short start-up sleep, then poll() on the
 *          shutdown pipe in idle_worker() (parked for work; an EINTR from
 *          a dump signal is retried, as servers do).
 *
 * Each worker prints "<name>=<pid>" right before it blocks for good, and
 * "<name>_tid=<tid>" of the thread that blocks. When stdin closes, the
 * parent closes the shutdown pipe: the holder unlocks, both workers exit 0,
 * and the parent prints stuck_status=N and idle_status=N (exit statuses).
 * Every line is flushed at once: the test reads them while it runs.
 *
 * With the argument "chdir", the parent first moves into a new directory
 * "elsewhere" (as a daemon moves to "/" or its data directory) and forks
 * from there. With "parked", the idle worker skips its start-up sleep: its
 * first blocking call is the poll() it stays in (a pre-forked worker
 * parked in accept() or epoll_wait() from its start). With "vfork", its
 * only blocking calls before that poll() are a vfork() child's (a pipe
 * write and read, then _exit). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static int shutdown_pipe[2];
static pthread_mutex_t held_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t held_cv = PTHREAD_COND_INITIALIZER;
static int held;

static void
say(const char *key, long value)
{
	printf("%s=%ld\n", key, value);
	fflush(stdout);
}

/* Blocks until the parent closes the shutdown pipe. */
static NOINLINE void
wait_for_shutdown(void)
{
	char c;
	while (read(shutdown_pipe[0], &c, 1) < 0 && errno == EINTR) {
	}
}

static void *
holder(void *arg)
{
	(void)arg;
	MUST0(pthread_mutex_lock(&table_lock));
	MUST0(pthread_mutex_lock(&held_mu));
	held = 1;
	MUST0(pthread_cond_signal(&held_cv));
	MUST0(pthread_mutex_unlock(&held_mu));
	wait_for_shutdown();
	MUST0(pthread_mutex_unlock(&table_lock));
	return NULL;
}

static NOINLINE void
stuck_request(void)
{
	say("stuck", (long)getpid());
	say("stuck_tid", (long)self_tid());
	MUST0(pthread_mutex_lock(&table_lock));
	MUST0(pthread_mutex_unlock(&table_lock));
}

static int
stuck_worker(void)
{
	pthread_t t;
	XPT(pthread_create(&t, NULL, holder, NULL));
	MUST0(pthread_mutex_lock(&held_mu));
	while (!held)
		MUST0(pthread_cond_wait(&held_cv, &held_mu));
	MUST0(pthread_mutex_unlock(&held_mu));
	stuck_request();
	XPT(pthread_join(t, NULL));
	return 0;
}

static NOINLINE void
idle_worker(void)
{
	say("idle", (long)getpid());
	say("idle_tid", (long)self_tid());
	struct pollfd p = {.fd = shutdown_pipe[0], .events = POLLIN};
	while (poll(&p, 1, -1) < 0 && errno == EINTR) {
	}
}

static int parked; /* the idle worker blocks from its start */
static int vforks;  /* ... after a vfork() child's blocking calls */

/* A vfork() child that makes blocking calls (a write and a read on a
 * pipe) and _exit()s, as a spawn that fails before its exec does. */
static void
vfork_blocking(void)
{
	int p[2];
	if (pipe(p) < 0)
		die("pipe", errno);
	pid_t pid = vfork();
	if (pid == 0) {
		char c = 'x';
		_exit(write(p[1], &c, 1) == 1 && read(p[0], &c, 1) == 1 ? 0 : 1);
	}
	int st;
	if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("vfork", errno);
	close(p[0]);
	close(p[1]);
}

static int
idle_main(void)
{
	/* A worker's start-up: a blocking call that returns. */
	if (vforks)
		vfork_blocking();
	else if (!parked)
		sleep_us(20 * 1000);
	idle_worker();
	return 0;
}

static pid_t
spawn(int (*fn)(void))
{
	pid_t pid = fork();
	if (pid < 0)
		die("fork", errno);
	if (pid == 0) {
		close(shutdown_pipe[1]);
		exit(fn()); /* exit(), not _exit(): the shim writes at exit */
	}
	return pid;
}

int
main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "chdir") &&
	    (mkdir("elsewhere", 0700) < 0 || chdir("elsewhere") < 0))
		die("chdir", errno);
	vforks = argc > 1 && !strcmp(argv[1], "vfork");
	parked = vforks || (argc > 1 && !strcmp(argv[1], "parked"));
	if (pipe(shutdown_pipe) < 0)
		die("pipe", errno);
	say("parent", (long)getpid());
	pid_t stuck = spawn(stuck_worker);
	pid_t idle = spawn(idle_main);
	close(shutdown_pipe[0]);

	char buf[256];
	for (;;) {
		ssize_t n = read(0, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno != EINTR))
			break;
	}
	close(shutdown_pipe[1]);
	int st;
	if (waitpid(stuck, &st, 0) != stuck)
		die("waitpid", errno);
	say("stuck_status", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	if (waitpid(idle, &st, 0) != idle)
		die("waitpid", errno);
	say("idle_status", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return 0;
}
