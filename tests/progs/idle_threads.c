/* Memory per thread: N threads alive at once, each parked in read() on a
 * pipe (a wait that is recorded, if at all, only when it ends; with
 * "record", each first sleeps 1 ms in nanosleep, a wait that
 * CONTEND_BLOCK_RATE=1 records with its stack), then the process's
 * resident memory is read and printed, the threads released and joined.
 *   idle_threads <n> [record]
 * Prints threads=<n> and rss_kib=<VmRSS> lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "progs.h"

static long parked;
static int gate[2], record;

static void *
idle(void *arg)
{
	if (record) {
		struct timespec ms = {0, 1000000};
		nanosleep(&ms, NULL);
	}
	__atomic_fetch_add(&parked, 1, __ATOMIC_RELEASE);
	char c;
	if (read(gate[0], &c, 1) != 1)
		die("read", 0);
	return arg;
}

static long
rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kib = -1;
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmRSS:", 6))
			kib = strtol(line + 6, NULL, 10);
	if (f)
		fclose(f);
	return kib;
}

int
main(int argc, char **argv)
{
	long n = arg_long(argc, argv, 1, 1000);
	record = argc > 2 && !strcmp(argv[2], "record");
	pthread_t *t = calloc((size_t)n + 1, sizeof(*t));
	if (!t || pipe(gate) != 0)
		die("calloc/pipe", 12);
	for (long i = 0; i < n; i++)
		XPT(pthread_create(&t[i], NULL, idle, NULL));
	while (__atomic_load_n(&parked, __ATOMIC_ACQUIRE) < n)
		sched_yield();
	long kib = rss_kib();
	for (long i = 0; i < n; i++)
		if (write(gate[1], "x", 1) != 1)
			die("write", 0);
	for (long i = 0; i < n; i++)
		XPT(pthread_join(t[i], NULL));
	free(t);
	printf("threads=%ld\nrss_kib=%ld\n", n, kib);
	return 0;
}
