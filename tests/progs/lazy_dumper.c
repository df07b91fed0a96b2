/* A single-threaded program that needs to stay single-threaded until main:
 *
 *   lazy_dumper <sleep_ms> [signal]
 *
 * Prints tasks_at_main= (entries of /proc/self/task when main starts) and
 * unshare= (0, or the errno of unshare(CLONE_NEWUSER), which fails with
 * EINVAL in a multithreaded process). With "signal", raises SIGUSR2 (the
 * test's CONTEND_DUMP_SIGNAL, or ignored) after that. Then sleeps
 * sleep_ms in 10 ms slices (sleep_slices) and exits 0. */
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

int
main(int argc, char **argv)
{
	printf("tasks_at_main=%d\n", count_tasks());
	int r = unshare(CLONE_NEWUSER);
	printf("unshare=%d\n", r == 0 ? 0 : errno);
	fflush(stdout);
	if (argc > 2 && !strcmp(argv[2], "signal")) {
		if (raise(SIGUSR2) != 0)
			die("raise", errno);
	}
	sleep_slices(arg_long(argc, argv, 1, 500));
	return 0;
}
