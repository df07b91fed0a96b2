/* The descriptor numbers a program's own calls get, which the shim's own
 * descriptors must not shift:
 *   fd_numbers [dump]
 * opens /dev/null and prints first=N, starts a thread and joins it (the
 * shim's thread, with CONTEND_DUMP_SIGNAL or CONTEND_HTTP, starts with the
 * program's first), with `dump` asks for a thread dump by SIGUSR2 (run it
 * with CONTEND_DUMP_SIGNAL=SIGUSR2) and waits for its file (the shim's
 * thread then holds its signalfd), then opens /dev/null again and prints
 * second=N. Natively (without `dump`) the two are the lowest free
 * numbers. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "progs.h"

static void *
nothing(void *arg)
{
	return arg;
}

int
main(int argc, char **argv)
{
	int first = open("/dev/null", O_RDONLY);
	if (first < 0)
		die("open", 0);
	printf("first=%d\n", first);
	pthread_t t;
	XPT(pthread_create(&t, NULL, nothing, NULL));
	XPT(pthread_join(t, NULL));
	if (argc > 1 && !strcmp(argv[1], "dump")) {
		char path[PATH_MAX];
		if (!dump_threads_and_wait(path, sizeof(path)))
			die("no thread dump", 0);
	}
	int second = open("/dev/null", O_RDONLY);
	if (second < 0)
		die("open", 0);
	printf("second=%d\n", second);
	return 0;
}
