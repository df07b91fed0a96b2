/* A long-running "server" for the live-profile tests: `workers` threads
 * take one global lock in a loop and hold it hold_us each time
 * (hot_path), so the mutex profile grows while the program runs. It runs
 * until its stdin reaches end of file, then stops the workers, joins them
 * and returns from main.
 *   live_server [workers=4] [hold_us=200] [mode]
 * mode "usr2": installs its own SIGUSR2 handler (which must replace the
 * shim's dump handler) and prints usr2=N at the end; mode "fork": once a
 * first line arrives on stdin (the caller knows the server is up), forks
 * a child that reports how many TCP sockets it inherited (child_sockets=N);
 * mode "parked": one more thread blocks in pthread_mutex_lock
 * (parked_waiter) on a lock main holds until the end, and is in its
 * futex wait before ready=1, so every dump taken after it shows a thread
 * in pthread_mutex_lock, whatever the workers happen to be doing.
 * Prints usr2_default=1 when SIGUSR2 looks untouched (SIG_DFL) at start,
 * then ready=1; at the end iterations=N. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sys/socket.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

static pthread_mutex_t big_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile int stop;
static volatile sig_atomic_t usr2_count;
static long hold_us = 200;
static long iterations[64];

static pthread_mutex_t parked_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile int parked_tid;

static NOINLINE void
parked_waiter(void)
{
	parked_tid = self_tid();
	pthread_mutex_lock(&parked_lock);
	pthread_mutex_unlock(&parked_lock);
}

static void *
parked_main(void *arg)
{
	(void)arg;
	parked_waiter();
	return NULL;
}

static NOINLINE void
hot_path(long *counter)
{
	pthread_mutex_lock(&big_lock);
	sleep_us(hold_us); /* slow work inside the critical section */
	(*counter)++;
	pthread_mutex_unlock(&big_lock);
}

static void *
worker(void *arg)
{
	long *counter = arg;
	while (!stop)
		hot_path(counter);
	return NULL;
}

static void
on_usr2(int sig)
{
	(void)sig;
	usr2_count++;
}

/* Internet sockets only: the child's own dumper has a Unix socket pair
 * (its wake-up channel), which is not the server's. */
static int
count_sockets(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		struct sockaddr_storage a;
		socklen_t l = sizeof(a);
		int fd = e->d_name[0] != '.' ? atoi(e->d_name) : -1;
		if (fd >= 0 && fd != dirfd(d) && getsockname(fd, (struct sockaddr *)&a, &l) == 0 &&
		    (a.ss_family == AF_INET || a.ss_family == AF_INET6))
			n++;
	}
	if (d)
		closedir(d);
	return n;
}

int
main(int argc, char **argv)
{
	int workers = (int)arg_long(argc, argv, 1, 4);
	hold_us = arg_long(argc, argv, 2, 200);
	const char *mode = argc > 3 ? argv[3] : "";
	if (workers > 64)
		workers = 64;

	struct sigaction old;
	sigaction(SIGUSR2, NULL, &old);
	printf("usr2_default=%d\n", !(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_DFL);
	if (!strcmp(mode, "usr2")) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_usr2;
		sigemptyset(&sa.sa_mask);
		sa.sa_flags = SA_RESTART;
		sigaction(SIGUSR2, &sa, NULL);
	}

	pthread_t t[64], parked;
	bool park = !strcmp(mode, "parked");
	if (park) {
		pthread_mutex_lock(&parked_lock);
		XPT(pthread_create(&parked, NULL, parked_main, NULL));
		while (!parked_tid || !in_syscall(parked_tid, SYS_futex))
			pause_us_raw(1000);
	}
	for (int i = 0; i < workers; i++)
		XPT(pthread_create(&t[i], NULL, worker, &iterations[i]));
	printf("ready=1\n");
	fflush(stdout);

	if (!strcmp(mode, "fork")) {
		char c = 0;
		while (c != '\n') {
			ssize_t n = read(0, &c, 1);
			if (n == 0 || (n < 0 && errno != EINTR))
				break;
		}
		pid_t pid = fork();
		if (pid == 0) {
			printf("child_sockets=%d\n", count_sockets());
			fflush(stdout);
			_exit(0);
		}
		if (pid > 0)
			waitpid(pid, NULL, 0);
	}

	char buf[256];
	for (;;) {
		ssize_t n = read(0, buf, sizeof(buf));
		if (n == 0 || (n < 0 && errno != EINTR))
			break;
	}
	stop = 1;
	long total = 0;
	for (int i = 0; i < workers; i++) {
		XPT(pthread_join(t[i], NULL));
		total += iterations[i];
	}
	if (park) {
		pthread_mutex_unlock(&parked_lock);
		XPT(pthread_join(parked, NULL));
	}
	printf("iterations=%ld\n", total);
	if (!strcmp(mode, "usr2"))
		printf("usr2=%d\n", (int)usr2_count);
	return 0;
}
