/* Children made without fork()'s atfork handlers: _Fork(), vfork() and
 * posix_spawn().
 *
 * The parent waits on a mutex a thread holds (parent_wait) and joins that
 * thread, so it is single-threaded again; then:
 *   _Fork child   waits on a mutex a thread of its own holds (child_wait)
 *                 and leaves with exit(0): it must write its own profiles
 *                 to CONTEND_OUT for its own pid (c.%p);
 *   vfork child   leaves with _exit(7), a second one execs /bin/true;
 *   spawn child   posix_spawn()s /bin/true.
 * Prints raw_child_pid=, then the children's statuses; exit 1 if one
 * differs. */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

extern char **environ;

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static int held;

static void *
hold(void *arg)
{
	/* Until the waiter sleeps on m, then 30 ms: it waits at least that
	 * long however late it runs. */
	hold_until_waiter(&m, &held, 30000);
	return arg;
}

/* A wait of at least 30 ms on m, recorded under the caller's frame. */
static void
contend(void (*wait)(void))
{
	pthread_t t;
	__atomic_store_n(&held, 0, __ATOMIC_RELAXED);
	XPT(pthread_create(&t, NULL, hold, NULL));
	while (!__atomic_load_n(&held, __ATOMIC_ACQUIRE))
		sleep_us(100);
	wait();
	XPT(pthread_join(t, NULL));
}

static NOINLINE void
parent_wait(void)
{
	pthread_mutex_lock(&m);
	pthread_mutex_unlock(&m);
}

static NOINLINE void
child_wait(void)
{
	pthread_mutex_lock(&m);
	pthread_mutex_unlock(&m);
}

static int
status_of(pid_t pid)
{
	int st;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int
main(void)
{
	contend(parent_wait);

	fflush(stdout);
	pid_t raw = _Fork();
	if (raw < 0)
		die("_Fork", errno);
	if (raw == 0) {
		stdout_to_devnull();
		contend(child_wait);
		exit(0);
	}
	CHECK_EQ(status_of(raw), 0);

	pid_t v = vfork();
	if (v == 0)
		_exit(7);
	CHECK_EQ(status_of(v), 7);
	v = vfork();
	if (v == 0) {
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	CHECK_EQ(status_of(v), 0);

	pid_t sp;
	char *const argv[] = {"true", NULL};
	CHECK_EQ(posix_spawn(&sp, "/bin/true", NULL, NULL, argv, environ), 0);
	CHECK_EQ(status_of(sp), 0);

	printf("raw_child_pid=%d\n", (int)raw);
	return check_status();
}
