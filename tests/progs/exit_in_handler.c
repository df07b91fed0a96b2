/* exit() from a SIGTERM handler, the way many servers shut down:
 *   exit_in_handler <libc|program|wait|malloc>
 * makes one recorded wait (a mutex a thread holds for 20 ms), installs a
 * SIGTERM handler that calls exit(3), prints ready=1, and then, on the
 * main thread, runs until the signal comes, in:
 *   libc     memset of 64 MiB, over and over (inside the C library)
 *   program  a spin loop of its own code
 *   wait     read() of a pipe nobody writes (a wrapped blocking call)
 *   malloc   malloc and free of small blocks (sometimes inside the
 *            allocator's lock when the signal comes)
 * A thread sends the SIGTERM 50 ms after the main thread is there (in
 * libc, after its first whole memset). Natively it exits 3 at
 * once in every mode. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "progs.h"

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_t main_thread;


/* Set by the main thread once it runs where the signal must find it
 * (libc: after a first whole memset, so that a loaded machine's delays
 * cannot leave it in our pthread_create wrapper or the loop's few
 * instructions of its own when the signal comes). */
static int spinning;

static void *
terminator(void *arg)
{
	while (!__atomic_load_n(&spinning, __ATOMIC_ACQUIRE))
		pause_us_raw(1000);
	sleep_us(50000);
	XPT(pthread_kill(main_thread, SIGTERM));
	return arg;
}

static void
on_term(int sig)
{
	(void)sig;
	exit(3);
}

static NOINLINE void
spin_in_libc(void)
{
	static volatile size_t len = 64 << 20;
	char *buf = malloc(len);
	if (!buf)
		die("malloc", 0);
	/* The barrier keeps the compiler from dropping stores nobody reads. */
	for (int i = 0;; i++) {
		memset(buf, i, len);
		__asm__ volatile("" : : "r"(buf) : "memory");
		if (i == 0)
			__atomic_store_n(&spinning, 1, __ATOMIC_RELEASE);
	}
}

static NOINLINE void
spin_in_program(void)
{
	for (volatile unsigned long i = 0;; i++) {
	}
}

static NOINLINE void
block_in_read(void)
{
	int p[2];
	if (pipe(p) != 0)
		die("pipe", 0);
	char c;
	for (;;)
		if (read(p[0], &c, 1) < 0)
			die("read", 0);
}

static NOINLINE void
churn_malloc(void)
{
	static void *volatile keep[64];
	for (;;) {
		for (int i = 0; i < 64; i++)
			keep[i] = malloc(16 + (size_t)i * 40);
		for (int i = 0; i < 64; i++)
			free(keep[i]);
	}
}

int
main(int argc, char **argv)
{
	need_args(argc, 2, "exit_in_handler <libc|program|wait|malloc>");
	contended_wait(&m, 20000);
	pthread_t t;
	if (set_handler(SIGTERM, on_term, 0) != 0)
		die("sigaction", 0);
	main_thread = pthread_self();
	printf("ready=1\n");
	fflush(stdout);
	XPT(pthread_create(&t, NULL, terminator, NULL));
	if (strcmp(argv[1], "libc"))
		__atomic_store_n(&spinning, 1, __ATOMIC_RELEASE);
	if (!strcmp(argv[1], "libc"))
		spin_in_libc();
	else if (!strcmp(argv[1], "program"))
		spin_in_program();
	else if (!strcmp(argv[1], "wait"))
		block_in_read();
	else if (!strcmp(argv[1], "malloc"))
		churn_malloc();
	return 2;
}
