/* The last thread left, with a small stack of the program's choosing,
 * calls exit():
 *   small_stack_exit
 * main starts a thread with the smallest stack (PTHREAD_STACK_MIN, 16 KiB)
 * and leaves by pthread_exit; that thread makes a recorded wait
 * (contended_wait, its holder on a default stack), then calls exit(3). Natively the status is 3; the
 * shim's final dump, which needs far more stack than that, must not
 * change it.
 *   small_stack_exit fork
 * the same in a fork child made by such a thread (its only thread, whose
 * tid is the child's pid): prints child_status=N (3 natively) and exits
 * 0. */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

static void *
last(void *arg)
{
	(void)arg;
	usleep(20000); /* main is gone */
	contended_wait(&m, 20000);
	exit(3);
}

static void *
forker(void *arg)
{
	(void)arg;
	pid_t p = fork();
	if (p == 0) {
		contended_wait(&m, 20000);
		exit(3);
	}
	int st;
	if (p < 0 || waitpid(p, &st, 0) != p)
		die("fork", 0);
	printf("child_status=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return NULL;
}

int
main(int argc, char **argv)
{
	bool fork_case = argc > 1 && !strcmp(argv[1], "fork");
	pthread_attr_t a;
	pthread_t t;
	XPT(pthread_attr_init(&a));
	XPT(pthread_attr_setstacksize(&a, PTHREAD_STACK_MIN));
	XPT(pthread_create(&t, &a, fork_case ? forker : last, NULL));
	if (fork_case) {
		XPT(pthread_join(t, NULL));
		return 0;
	}
	pthread_exit(NULL);
}
