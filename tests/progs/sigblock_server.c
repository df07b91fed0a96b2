/* A pre-forked server shaped like Apache's event MPM
 * (tests/integration/test_forked.c):
 *
 *   master  single-threaded: forks the worker, then sleeps in a loop of
 *           select() with no descriptor (apr_sleep, 20 ms here) between
 *           checks of its stdin (a poll that cannot block), until stdin
 *           closes; then closes the worker's shutdown pipe and reaps it.
 *   worker  blocks every signal in every thread, as Apache's workers do
 *           (a signal is never delivered to them: no handler ever runs),
 *           starts two threads parked on a condition variable, and reads
 *           the shutdown pipe in its main thread.
 *
 * Prints "master=<pid>" and "worker=<pid>" (the worker once its threads
 * wait), and "status=N" at the end (the worker's exit status). Lines are
 * flushed at once. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/select.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int done, parked;

static void
say(const char *key, long value)
{
	printf("%s=%ld\n", key, value);
	fflush(stdout);
}

static void *
pool_worker(void *arg)
{
	(void)arg;
	MUST0(pthread_mutex_lock(&mu));
	parked++;
	MUST0(pthread_cond_broadcast(&cv));
	while (!done)
		MUST0(pthread_cond_wait(&cv, &mu));
	MUST0(pthread_mutex_unlock(&mu));
	return NULL;
}

static int
worker(int shutdown_fd)
{
	sigset_t all;
	sigfillset(&all);
	XPT(pthread_sigmask(SIG_BLOCK, &all, NULL));
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		XPT(pthread_create(&t[i], NULL, pool_worker, NULL));
	MUST0(pthread_mutex_lock(&mu));
	while (parked < 2)
		MUST0(pthread_cond_wait(&cv, &mu));
	MUST0(pthread_mutex_unlock(&mu));
	say("worker", (long)getpid());
	char c;
	while (read(shutdown_fd, &c, 1) < 0 && errno == EINTR) {
	}
	MUST0(pthread_mutex_lock(&mu));
	done = 1;
	MUST0(pthread_cond_broadcast(&cv));
	MUST0(pthread_mutex_unlock(&mu));
	for (int i = 0; i < 2; i++)
		XPT(pthread_join(t[i], NULL));
	return 0;
}

/* apr_sleep: a select() of no descriptor. */
static NOINLINE void
nap(void)
{
	struct timeval tv = {0, 20 * 1000};
	select(0, NULL, NULL, NULL, &tv);
}

int
main(void)
{
	int p[2];
	if (pipe(p) < 0)
		die("pipe", errno);
	pid_t pid = fork();
	if (pid < 0)
		die("fork", errno);
	if (pid == 0) {
		close(p[1]);
		exit(worker(p[0]));
	}
	close(p[0]);
	say("master", (long)getpid());
	for (;;) {
		/* A poll that cannot block is no wait: the master's only one
		 * is its nap. */
		struct pollfd in = {.fd = 0, .events = POLLIN};
		char c;
		if (poll(&in, 1, 0) == 1 && read(0, &c, 1) <= 0)
			break;
		nap();
	}
	close(p[1]);
	int st;
	if (waitpid(pid, &st, 0) != pid)
		die("waitpid", errno);
	say("status", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return 0;
}
