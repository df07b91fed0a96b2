/* A dump signal that comes while the main thread waits, in each of the
 * calls a signal handler interrupts whatever SA_RESTART says:
 *   dump_in_wait <mode>
 * poll, ppoll, select, pselect, epoll_wait, epoll_pwait, read (a pipe:
 * ended by a byte written to it), nanosleep, clock_nanosleep, sleep,
 * usleep, sigsuspend, pause (ended by SIGUSR1, which the program
 * handles), sigtimedwait, sigwaitinfo (ended by SIGUSR1, blocked and
 * taken), sem_timedwait (ended by a sem_post), futex (FUTEX_WAIT with a
 * relative timeout through syscall(), ended by a FUTEX_WAKE), or
 * <call>-timeout (poll, ppoll, epoll_wait, nanosleep, sleep, usleep,
 * sigtimedwait, sem_timedwait, futex: a 1.5 s timeout that ends it;
 * sleep's is 2 s), or nested (poll of the pipe, interrupted by SIGUSR1
 * whose handler makes a wrapped call and then spins until the dump
 * signal has come and gone: poll fails with EINTR, as natively, and
 * does not wait on for the byte written after).
 * A helper thread waits until the main thread is blocked in its system
 * call, sends it CONTEND_DUMP_SIGNAL (SIGWINCH: ignored natively) and,
 * preloaded, waits for the snapshot it asks for (printing dump=<path>),
 * then ends the wait as above. It prints tid= (the main thread's). The
 * main thread prints r= (the call's
 * result), errno= (4242, set before the call, if the call left it),
 * handled= (SIGUSR1's handler ran) and waited_ms=. Natively SIGWINCH
 * changes nothing: each call returns what its end says. */
#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "progs.h"

static int main_tid;
static int pipefd[2];
static volatile sig_atomic_t handled;
static sem_t sem;
static int word;
static const char *mode;

static volatile int in_handler, release;

static void
on_usr1(int sig)
{
	(void)sig;
	handled = 1;
	if (strcmp(mode, "nested"))
		return;
	poll(NULL, 0, 1);
	__atomic_store_n(&in_handler, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&release, __ATOMIC_ACQUIRE)) {
	}
}

static int
is(const char *m)
{
	return !strcmp(mode, m);
}

static int
timeout_mode(void)
{
	return strstr(mode, "-timeout") != NULL;
}

static int
fd_mode(void)
{
	static const char *const fds[] = {"poll", "ppoll", "select", "pselect",
					  "epoll_wait", "epoll_pwait", "read", NULL};
	for (int i = 0; fds[i]; i++)
		if (is(fds[i]))
			return 1;
	return 0;
}

static void *
helper(void *arg)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", main_tid);
	/* Blocked in its call: inside a system call, and asleep there. */
	while (proc_syscall(path) < 0 || task_state(0, main_tid) != 'S')
		pause_us_raw(1000);
	printf("tid=%d\n", main_tid);
	if (is("nested")) {
		syscall(SYS_tgkill, getpid(), main_tid, SIGUSR1);
		while (!__atomic_load_n(&in_handler, __ATOMIC_ACQUIRE))
			pause_us_raw(1000);
	}
	const char *pre = getenv("LD_PRELOAD");
	if (pre && strstr(pre, "libcontend")) {
		char dump[4096];
		if (!dump_threads_of(main_tid, SIGWINCH, dump, sizeof(dump)))
			die("no thread dump", 0);
		printf("dump=%s\n", dump);
	} else {
		syscall(SYS_tgkill, getpid(), main_tid, SIGWINCH);
	}
	fflush(stdout);
	if (timeout_mode())
		return arg;
	__atomic_store_n(&release, 1, __ATOMIC_RELEASE);
	if (fd_mode() || is("nested")) {
		if (write(pipefd[1], "x", 1) != 1)
			die("write", errno);
	} else if (is("sem_timedwait")) {
		sem_post(&sem);
	} else if (is("futex")) {
		__atomic_store_n(&word, 1, __ATOMIC_RELEASE);
		syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	} else {
		syscall(SYS_tgkill, getpid(), main_tid, SIGUSR1);
	}
	return arg;
}

int
main(int argc, char **argv)
{
	need_args(argc, 2, "dump_in_wait <mode>");
	mode = argv[1];
	if (pipe(pipefd) != 0)
		die("pipe", errno);
	if (set_handler(SIGUSR1, on_usr1, 0) != 0)
		die("sigaction", errno);
	sigset_t usr1, none;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigemptyset(&none);
	if (is("sigtimedwait") || is("sigwaitinfo"))
		sigprocmask(SIG_BLOCK, &usr1, NULL);
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN}, out;
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, pipefd[0], &ev) != 0)
		die("epoll", errno);
	if (sem_init(&sem, 0, 0) != 0)
		die("sem_init", errno);
	main_tid = self_tid();
	pthread_t t;
	XPT(pthread_create(&t, NULL, helper, NULL));

	struct pollfd pfd = {.fd = pipefd[0], .events = POLLIN};
	struct timespec minute = {60, 0}, part = {1, 500000000};
	fd_set rd;
	FD_ZERO(&rd);
	FD_SET(pipefd[0], &rd);
	struct timeval tv = {60, 0};
	char c;
	siginfo_t si;
	long r = -999;
	/* Before the deadlines: waited_ms is never below their timeout. */
	int64_t t0 = now_ns();
	struct timespec abs = deadline_us(CLOCK_REALTIME, 60 * 1000 * 1000),
			abs_part = deadline_us(CLOCK_REALTIME, 1500 * 1000);
	errno = 4242;
	if (is("poll") || is("nested"))
		r = poll(&pfd, 1, 60000);
	else if (is("ppoll"))
		r = ppoll(&pfd, 1, &minute, NULL);
	else if (is("select"))
		r = select(pipefd[0] + 1, &rd, NULL, NULL, &tv);
	else if (is("pselect"))
		r = pselect(pipefd[0] + 1, &rd, NULL, NULL, &minute, NULL);
	else if (is("epoll_wait"))
		r = epoll_wait(ep, &out, 1, 60000);
	else if (is("epoll_pwait"))
		r = epoll_pwait(ep, &out, 1, 60000, &none);
	else if (is("read"))
		r = read(pipefd[0], &c, 1);
	else if (is("nanosleep"))
		r = nanosleep(&minute, NULL);
	else if (is("clock_nanosleep"))
		r = clock_nanosleep(CLOCK_MONOTONIC, 0, &minute, NULL);
	else if (is("sleep"))
		r = sleep(60);
	else if (is("usleep"))
		r = usleep(30 * 1000 * 1000);
	else if (is("sigsuspend"))
		r = sigsuspend(&none);
	else if (is("pause"))
		r = pause();
	else if (is("sigtimedwait"))
		r = sigtimedwait(&usr1, &si, &minute);
	else if (is("sigwaitinfo"))
		r = sigwaitinfo(&usr1, &si);
	else if (is("sem_timedwait"))
		r = sem_timedwait(&sem, &abs);
	else if (is("futex"))
		r = syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &minute, NULL, 0);
	else if (is("sem_timedwait-timeout"))
		r = sem_timedwait(&sem, &abs_part);
	else if (is("futex-timeout"))
		r = syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &part, NULL, 0);
	else if (is("poll-timeout"))
		r = poll(&pfd, 1, 1500);
	else if (is("ppoll-timeout"))
		r = ppoll(&pfd, 1, &part, NULL);
	else if (is("epoll_wait-timeout"))
		r = epoll_wait(ep, &out, 1, 1500);
	else if (is("nanosleep-timeout"))
		r = nanosleep(&part, NULL);
	else if (is("sleep-timeout"))
		r = sleep(2);
	else if (is("usleep-timeout"))
		r = usleep(1500 * 1000);
	else if (is("sigtimedwait-timeout"))
		r = sigtimedwait(&usr1, &si, &part);
	else
		die("unknown mode", 0);
	int e = errno;
	int64_t waited = now_ns() - t0;
	XPT(pthread_join(t, NULL));
	printf("r=%ld\nerrno=%d\nhandled=%d\nwaited_ms=%lld\n", r, e, (int)handled,
	       (long long)(waited / 1000000));
	return 0;
}
