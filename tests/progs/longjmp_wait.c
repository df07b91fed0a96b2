/* A wait left by siglongjmp from a signal handler (the alarm()-and-
 * siglongjmp time-out around a read(), which POSIX allows: read() is
 * async-signal-safe).
 *
 *   longjmp_wait
 *
 * Needs CONTEND_DUMP_SIGNAL=SIGUSR2 and CONTEND_OUT naming a directory
 * (no %p). The main thread blocks in read() on a pipe nobody writes twice;
 * a helper thread (after a recorded 20 ms sleep of its own, so that the
 * process writes profiles) sees it there each time as the kernel does:
 *   1. sends SIGUSR1, whose handler returns (SA_RESTART: the read goes
 *      on), then asks for a snapshot (SIGUSR2) once main is back in read,
 *      waits for threads.0001.txt and wakes main with a byte;
 *   2. sends SIGUSR1 again, whose handler now siglongjmps out of read().
 * Main then runs on without any wrapped call and returns from main: the
 * final threads.txt is written while it runs. Prints main_tid=; exit 0
 * once all went as planned (the test reads the dumps). */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "progs.h"

static sigjmp_buf jump_to;
static int jump, armed;
static int pipe_fds[2];
static int main_tid;
static pthread_t main_thread;
static char snapshot[4096];

static void
on_usr1(int sig)
{
	(void)sig;
	if (__atomic_load_n(&jump, __ATOMIC_ACQUIRE))
		siglongjmp(jump_to, 1);
}

/* Until the main thread sits in read() as the kernel sees it. */
static void
wait_in_read(void)
{
	while (!in_syscall(main_tid, SYS_read))
		pause_us_raw(1000);
}

static void *
helper(void *arg)
{
	(void)arg;
	struct timespec ts = {0, 20 * 1000 * 1000};
	nanosleep(&ts, NULL);

	/* 1: a handler that returns, then a snapshot of main in read(). */
	wait_in_read();
	XPT(pthread_kill(main_thread, SIGUSR1));
	wait_in_read();
	if (kill(getpid(), SIGUSR2) != 0)
		die("kill", errno);
	while (access(snapshot, F_OK) != 0)
		pause_us_raw(1000);
	if (write(pipe_fds[1], "x", 1) != 1)
		die("write", errno);

	/* 2: a handler that leaves the read for good, once main is in its
	 * second read (the first may not have returned yet). */
	while (!__atomic_load_n(&armed, __ATOMIC_ACQUIRE))
		pause_us_raw(1000);
	wait_in_read();
	__atomic_store_n(&jump, 1, __ATOMIC_RELEASE);
	XPT(pthread_kill(main_thread, SIGUSR1));
	return NULL;
}

int
main(void)
{
	const char *out = getenv("CONTEND_OUT");
	if (!out || snprintf(snapshot, sizeof(snapshot), "%s/threads.0001.txt", out) >=
			    (int)sizeof(snapshot))
		die("CONTEND_OUT", EINVAL);
	main_tid = self_tid();
	main_thread = pthread_self();
	printf("main_tid=%d\n", main_tid);
	fflush(stdout);
	if (pipe(pipe_fds) != 0)
		die("pipe", errno);
	if (set_handler(SIGUSR1, on_usr1, SA_RESTART) != 0)
		die("sigaction", errno);
	pthread_t h;
	XPT(pthread_create(&h, NULL, helper, NULL));
	XPT(pthread_detach(h));

	char c;
	if (read(pipe_fds[0], &c, 1) != 1)
		die("read", errno);
	if (sigsetjmp(jump_to, 1) == 0) {
		__atomic_store_n(&armed, 1, __ATOMIC_RELEASE);
		ssize_t n = read(pipe_fds[0], &c, 1);
		printf("read returned %zd\n", n);
		return 1;
	}
	/* Out of the read for good: no wrapped call from here on, so nothing
	 * but the jump can end the wait record. */
	printf("jumped out of read\n");
	fflush(stdout);
	return 0;
}
