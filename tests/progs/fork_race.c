/* Threads that fork at the same time, while the shim's dumper thread runs
 * (the test sets CONTEND_INTERVAL): glibc runs the atfork handlers of two
 * forking threads side by side, so the shim's prepare/parent/child state
 * must be each thread's own.
 *   fork_race [threads=8] [forks=100] [exit|record]
 * Each thread forks `forks` times and waits for each child. A child with
 * "exit" leaves with _exit(0); with "record" it sleeps 2 ms (a recorded
 * wait: the test sets CONTEND_BLOCK_RATE=1) and leaves with exit(0), so
 * it writes its own profiles, and prints child=PID first. Prints
 * forks=N at the end; exits 1 if a child failed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

static int nforks = 100;
static int record;
static int failures;

static void *
forker(void *arg)
{
	(void)arg;
	for (int i = 0; i < nforks; i++) {
		pid_t c = fork();
		if (c == 0) {
			if (!record)
				_exit(0);
			printf("child=%d\n", (int)getpid());
			fflush(stdout);
			sleep_us(2000);
			exit(0);
		}
		int st;
		if (c < 0 || waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			__atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	int n = (int)arg_long(argc, argv, 1, 8);
	nforks = (int)arg_long(argc, argv, 2, 100);
	record = argc > 3 && !strcmp(argv[3], "record");
	if (n < 1 || n > 64)
		n = 8;
	/* The children's buffers must not repeat the parent's lines. */
	fflush(stdout);
	pthread_t t[64];
	for (int i = 0; i < n; i++)
		XPT(pthread_create(&t[i], NULL, forker, NULL));
	for (int i = 0; i < n; i++)
		XPT(pthread_join(t[i], NULL));
	printf("forks=%d failures=%d\n", n * nforks, failures);
	return failures ? 1 : 0;
}
