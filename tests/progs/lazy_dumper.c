/* A single-threaded program that needs to stay single-threaded until main:
 *
 *   lazy_dumper <sleep_ms> [signal]
 *
 * Prints tasks_at_main= (entries of /proc/self/task when main starts) and
 * unshare= (0, or the errno of unshare(CLONE_NEWUSER), which fails with
 * EINVAL in a multithreaded process). With "signal", raises SIGUSR2 (the
 * test's CONTEND_DUMP_SIGNAL, or ignored) after that. Then sleeps
 * sleep_ms in 10 ms slices (sleep_slices) and exits 0. With
 * "signal-once", the same with one sleep of sleep_ms: the snapshot the
 * signal asks for is taken during the process's first wait.
 *
 *   lazy_dumper handler
 *
 * Makes no wrapped call for 300 ms (a busy wait on the clock), then runs
 * a SIGALRM handler of its own that sleeps 10 ms (a wrapped blocking call
 * while a snapshot is due) and counts the tasks there, then sleeps 10 ms
 * in main and counts again: prints tasks_in_handler= and tasks_after=. */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "progs.h"

static int
count_tasks(void)
{
	DIR *d = opendir("/proc/self/task");
	if (!d)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static NOINLINE void
sleep_slices(long ms)
{
	for (long i = 0; i < ms / 10; i++)
		sleep_us(10000);
}

static int tasks_in_handler;

static void
on_alarm(int sig)
{
	(void)sig;
	sleep_us(10000);
	tasks_in_handler = count_tasks();
}

static int
handler_case(void)
{
	int64_t t0 = now_ns();
	while (now_ns() - t0 < 300 * 1000000LL) {
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	if (sigaction(SIGALRM, &sa, NULL) != 0 || raise(SIGALRM) != 0)
		die("sigaction/raise", errno);
	sleep_us(10000);
	int after = count_tasks();
	printf("tasks_in_handler=%d\ntasks_after=%d\n", tasks_in_handler, after);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "handler"))
		return handler_case();
	printf("tasks_at_main=%d\n", count_tasks());
	int r = unshare(CLONE_NEWUSER);
	printf("unshare=%d\n", r == 0 ? 0 : errno);
	fflush(stdout);
	if (argc > 2 && !strncmp(argv[2], "signal", 6)) {
		if (raise(SIGUSR2) != 0)
			die("raise", errno);
	}
	if (argc > 2 && !strcmp(argv[2], "signal-once"))
		sleep_us(arg_long(argc, argv, 1, 500) * 1000);
	else
		sleep_slices(arg_long(argc, argv, 1, 500));
	return 0;
}
