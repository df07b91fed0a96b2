/* signal_taker sigwait|sigwaitinfo|sigtimedwait|signalfd: takes SIGUSR2
 * synchronously, as a signal thread or an event loop does: blocked in
 * every thread, no handler, a thread waiting for it with the call named.
 * The main thread sends it to the process 20 times, each time once the
 * taker is blocked in the call's system call (/proc/self/task/TID/syscall:
 * no race with its start), and waits until the taker has counted it (10 s
 * at most); then it prints "taken N";
 * exit status 0 when all 20 were taken. Run with CONTEND_DUMP_SIGNAL=SIGUSR2
 * (tests/integration/test_signals.c): the signal stays the program's. */
#include <poll.h>
#include <signal.h>
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

int
main(int argc, char **argv)
{
	mode = argc > 1 ? argv[1] : "sigwait";
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
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
