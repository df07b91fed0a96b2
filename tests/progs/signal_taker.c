/* signal_taker sigwait|sigwaitinfo|sigtimedwait|signalfd|sweep: takes SIGUSR2
 * synchronously, as a signal thread or an event loop does: blocked in
 * every thread, no handler, a thread waiting for it with the call named.
 * The main thread sends it to the process 20 times, each time once the
 * taker is blocked in the call's system call (/proc/self/task/TID/syscall:
 * no race with its start), and waits until the taker has counted it (10 s
 * at most); then it prints "taken N";
 * exit status 0 when all 20 were taken. Run with CONTEND_DUMP_SIGNAL=SIGUSR2
 * (tests/integration/test_signals.c): the signal stays the program's.
 * sweep: blocks SIGUSR2 but never waits for it; closes every signalfd it
 * did not make (a sweep of descriptors), puts a pipe with "hello" in it
 * at each number, sends SIGUSR2 (which wakes a poll of the closed
 * signalfd) and reads them back after 300 ms: prints "kept N of M"; then
 * waits for the snapshot the shim's thread writes once it has taken the
 * signal on a new signalfd of its own: prints "dumped" (exit status 0
 * when all are kept, none read by someone else, and the snapshot came). */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "progs.h"

#define ROUNDS 20

static sigset_t set;
static const char *mode;
static int taken;
static pid_t taker_tid;

static int
take_one(void)
{
	siginfo_t si;
	struct timespec long_wait = {60, 0};
	int sig = 0;
	if (!strcmp(mode, "sigwait")) {
		if (sigwait(&set, &sig) != 0)
			return -1;
	} else if (!strcmp(mode, "sigwaitinfo")) {
		sig = sigwaitinfo(&set, &si);
	} else if (!strcmp(mode, "sigtimedwait")) {
		sig = sigtimedwait(&set, &si, &long_wait);
	} else {
		int fd = signalfd(-1, &set, 0);
		struct signalfd_siginfo info;
		sig = fd >= 0 && read(fd, &info, sizeof(info)) == (ssize_t)sizeof(info)
			      ? (int)info.ssi_signo
			      : -1;
		if (fd >= 0)
			close(fd);
	}
	return sig;
}

static void *
taker(void *arg)
{
	__atomic_store_n(&taker_tid, (pid_t)syscall(SYS_gettid), __ATOMIC_SEQ_CST);
	for (;;)
		if (take_one() == SIGUSR2)
			__atomic_add_fetch(&taken, 1, __ATOMIC_SEQ_CST);
	return arg;
}

/* Whether the taker is blocked in the system call its mode waits in. */
static int
taker_waits(long nr)
{
	char path[64], buf[64];
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)taker_tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	int ok = fgets(buf, sizeof(buf), f) && strtol(buf, NULL, 10) == nr;
	fclose(f);
	return ok;
}

static void *
nap(void *arg)
{
	sleep_us(1000);
	return arg;
}

static int
sweep(void)
{
	pthread_t t;
	pthread_create(&t, NULL, nap, NULL); /* the shim's thread starts */
	pthread_join(t, NULL);
	int fds[64], n = 0, kept = 0;
	/* The shim's thread makes its signalfd when it starts: 30 s at most. */
	for (int tries = 0; n == 0 && tries < 3000; tries++) {
		if (tries)
			sleep_us(10000);
		DIR *d = opendir("/proc/self/fd");
		struct dirent *e;
		while (d && (e = readdir(d)) && n < 64) {
			char path[300], link[64];
			snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
			ssize_t k = readlink(path, link, sizeof(link) - 1);
			if (k > 0 && (link[k] = 0, strstr(link, "signalfd")))
				fds[n++] = atoi(e->d_name);
		}
		if (d)
			closedir(d);
	}
	for (int i = 0; i < n; i++) {
		int p[2]; /* dup2 closes the signalfd */
		if (pipe(p) != 0 || dup2(p[0], fds[i]) != fds[i])
			return 2;
		close(p[0]);
		if (write(p[1], "hello", 5) != 5)
			return 2;
	}
	kill(getpid(), SIGUSR2); /* wakes a poll of the signalfd that was */
	sleep_us(300000);
	for (int i = 0; i < n; i++) {
		char buf[8] = {0};
		fcntl(fds[i], F_SETFL, O_NONBLOCK);
		if (read(fds[i], buf, sizeof(buf)) == 5 && !memcmp(buf, "hello", 5))
			kept++;
	}
	printf("kept %d of %d\n", kept, n);
	/* The shim's thread made a new signalfd and took the signal there:
	 * the snapshot it asked for comes (60 s at most). */
	char done[4096];
	snprintf(done, sizeof(done), "%s/threads.0001.txt", getenv("CONTEND_OUT"));
	for (int i = 0; i < 6000 && access(done, F_OK) != 0; i++)
		sleep_us(10000);
	bool dumped = access(done, F_OK) == 0;
	printf("%s\n", dumped ? "dumped" : "no snapshot");
	fflush(stdout);
	return kept == n && dumped ? 0 : 1;
}

int
main(int argc, char **argv)
{
	mode = argc > 1 ? argv[1] : "sigwait";
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (!strcmp(mode, "sweep"))
		_exit(sweep());
	pthread_t t;
	pthread_create(&t, NULL, taker, NULL);
	long nr = strcmp(mode, "signalfd") ? SYS_rt_sigtimedwait : SYS_read;
	while (!__atomic_load_n(&taker_tid, __ATOMIC_SEQ_CST))
		sleep_us(1000);
	for (int i = 0; i < ROUNDS; i++) {
		while (!taker_waits(nr))
			sleep_us(1000);
		kill(getpid(), SIGUSR2);
		for (int ms = 0; ms < 10000 && __atomic_load_n(&taken, __ATOMIC_SEQ_CST) <= i; ms++)
			sleep_us(1000);
		if (__atomic_load_n(&taken, __ATOMIC_SEQ_CST) <= i)
			break;
	}
	printf("taken %d\n", taken);
	fflush(stdout);
	_exit(taken == ROUNDS ? 0 : 1);
}
