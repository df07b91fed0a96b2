/* last_thread_exit main-first|main-last|fork: the program's last thread
 * ends by pthread_exit, and glibc ends the process then, status 0, as it
 * would natively (the shim's own thread must not keep it alive: with
 * CONTEND_HTTP, CONTEND_INTERVAL or CONTEND_DUMP_SIGNAL it did, and the
 * process hung on, deaf to SIGTERM).
 * main-first: main calls pthread_exit while a worker runs; the worker
 * ends once main is gone (its task a zombie). main-last: the worker is
 * joined, then main calls pthread_exit. fork: a worker forks; in the
 * child it starts a thread, joins it and calls pthread_exit; the parent
 * prints the child's status ("child=0"). Prints "end" before the last
 * pthread_exit of the process. */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

static pid_t pid;

static void *
nothing(void *arg)
{
	return arg;
}

static void *
after_main(void *arg)
{
	/* 60 s at most: main's pthread_exit leaves its task a zombie. */
	for (int i = 0; i < 60000 && task_state(0, (int)pid) != 'Z'; i++)
		pause_us_raw(1000);
	printf("end\n");
	return arg;
}

static void *
forker(void *arg)
{
	pid_t c = fork();
	if (c == 0) {
		pthread_t t;
		pthread_create(&t, NULL, nothing, NULL);
		pthread_join(t, NULL);
		pthread_exit(NULL);
	}
	int st = -1;
	waitpid(c, &st, 0);
	printf("child=%d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	return arg;
}

int
main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	const char *mode = argc > 1 ? argv[1] : "main-first";
	pid = getpid();
	pthread_t t;
	if (!strcmp(mode, "fork")) {
		pthread_create(&t, NULL, forker, NULL);
		pthread_join(t, NULL);
		return 0;
	}
	if (!strcmp(mode, "main-last")) {
		pthread_create(&t, NULL, nothing, NULL);
		pthread_join(t, NULL);
		printf("end\n");
	} else {
		pthread_create(&t, NULL, after_main, NULL);
	}
	pthread_exit(NULL);
}
