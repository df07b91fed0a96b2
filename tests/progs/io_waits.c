/* Blocking I/O and sleeps with waits known by construction, for the
 * block profile's I/O samples (tests/integration/test_io.c).
 *
 *   io_waits pipe [rounds=5] [hold_us=50000]
 *       pipe_reader blocks in read() on a pipe; a writer thread writes one
 *       byte hold_us after each read started: about rounds*hold_us in
 *       read <- pipe_reader, fd_kind pipe.
 *   io_waits poll [times=4] [timeout_ms=40]
 *       poll_timeouts: poll() on an empty pipe times out `times` times.
 *   io_waits select|epoll [times=4] [timeout_ms=40]
 *       the same with select() (select_timeouts) and epoll_wait()
 *       (epoll_timeouts, fd_kind epoll).
 *   io_waits accept [rounds=3] [hold_us=50000]
 *       accept_clients waits in accept() on 127.0.0.1 for a client thread
 *       that connects hold_us after each accept started (fd_kind socket).
 *   io_waits kinds [rounds=2] [hold_us=30000]
 *       read_from, one call site, reads alternately from a pipe and a
 *       socket, each read waiting hold_us: the same stack with two
 *       fd_kind labels, so two samples of rounds*hold_us each.
 *   io_waits short [times=1] [us=200]
 *       single-threaded, usleep(us) `times` times (do_short_sleeps): a
 *       helper whose waits add up to under 1 ms writes no profile.
 *   io_waits sleep [ms=50]
 *       do_nanosleep, do_usleep, do_clock_nanosleep sleep ms each,
 *       do_sleep sleeps 1 s (class sleep, no fd).
 *
 * Prints expected_ns=... (by construction) and waited_ns=... (measured
 * around each call), or one <fn>_ns= line per call kind for sleep.
 * Built twice: io_waits (-O1) and io_waits_fortify (-O2
 * -D_FORTIFY_SOURCE=2 -D_FILE_OFFSET_BITS=64), which links __read_chk,
 * __poll_chk and the 64-bit names instead. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <sys/wait.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "progs.h"

/* Not a constant: the fortified build calls __read_chk, __poll_chk. */
static volatile nfds_t one_fd = 1;
static int rounds;
static long hold_us;
static int pfd[2];
static int64_t waited_ns;
/* The reader publishes the start of each read; the writer waits for it. */
static int64_t started[64];
static int nstarted, reader_tid;
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t start_cond = PTHREAD_COND_INITIALIZER;

static void
announce_start(void)
{
	pthread_mutex_lock(&start_lock);
	reader_tid = self_tid();
	started[nstarted++ % 64] = now_ns();
	pthread_cond_signal(&start_cond);
	pthread_mutex_unlock(&start_lock);
}

/* Sleeps until hold_us after the i-th announced start, and after the
 * reader is blocked in read() or accept(): by construction each read
 * blocks, and for hold_us at least, however late a loaded machine runs
 * the reader after its announcement (a bounded wait: 60 s). */
static void
wait_start_plus_hold(int i)
{
	pthread_mutex_lock(&start_lock);
	while (nstarted <= i)
		pthread_cond_wait(&start_cond, &start_lock);
	int64_t at = started[i % 64] + hold_us * 1000;
	int tid = reader_tid;
	pthread_mutex_unlock(&start_lock);
	for (int64_t give_up = now_ns() + 60 * 1000000000LL; now_ns() < give_up;) {
		if (in_syscall(tid, SYS_read) || in_syscall(tid, SYS_accept)
#ifdef SYS_accept4
		    || in_syscall(tid, SYS_accept4)
#endif
		) {
			int64_t blocked = now_ns();
			if (blocked + hold_us * 1000 > at)
				at = blocked + hold_us * 1000;
			break;
		}
		pause_us_raw(200);
	}
	int64_t left = at - now_ns();
	if (left > 0)
		sleep_us((long)(left / 1000));
}

static void *
pipe_writer(void *arg)
{
	for (int i = 0; i < rounds; i++) {
		wait_start_plus_hold(i);
		if (write(pfd[1], "x", 1) != 1)
			die("write", errno);
	}
	return NULL;
}

/* One read of one byte from fd (into buf, n bytes asked) after saying the
 * wait starts, its time added to waited_ns. A macro, so that the read
 * stays in the caller's frame: the function the profiles name. */
#define TIMED_READ(fd, buf, n)                                                                   \
	do {                                                                                     \
		announce_start();                                                                \
		int64_t tr_t0_ = now_ns();                                                       \
		ssize_t tr_r_ = read(fd, buf, n);                                                \
		waited_ns += now_ns() - tr_t0_;                                                  \
		if (tr_r_ != 1)                                                                  \
			die("read", errno);                                                      \
	} while (0)

static NOINLINE void
pipe_reader(size_t n)
{
	char buf[16];
	for (int i = 0; i < rounds; i++)
		TIMED_READ(pfd[0], buf, n); /* n unknown here: __read_chk when fortified */
}

static void
mode_pipe(void)
{
	pthread_t t;
	if (pipe(pfd) != 0)
		die("pipe", errno);
	XPT(pthread_create(&t, NULL, pipe_writer, NULL));
	pipe_reader(one_fd);
	XPT(pthread_join(t, NULL));
	printf("expected_ns=%lld\n", (long long)rounds * hold_us * 1000);
}

static int kfds[2][2]; /* [pipe, socket][read end, write end] */

static void *
kinds_writer(void *arg)
{
	for (int i = 0; i < 2 * rounds; i++) {
		wait_start_plus_hold(i);
		if (write(kfds[i % 2][1], "k", 1) != 1)
			die("write", errno);
	}
	return NULL;
}

static NOINLINE void
read_from(int fd)
{
	char c;
	TIMED_READ(fd, &c, 1);
}

static void
mode_kinds(void)
{
	pthread_t t;
	if (pipe(kfds[0]) != 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, kfds[1]) != 0)
		die("pipe", errno);
	XPT(pthread_create(&t, NULL, kinds_writer, NULL));
	for (int i = 0; i < 2 * rounds; i++)
		read_from(kfds[i % 2][0]);
	XPT(pthread_join(t, NULL));
	printf("expected_ns=%lld\n", (long long)2 * rounds * hold_us * 1000);
}

static NOINLINE int
poll_timeouts(int fd, int times, int ms)
{
	struct pollfd p[1] = {{.fd = fd, .events = POLLIN}};
	int zeros = 0;
	for (int i = 0; i < times; i++) {
		int64_t t0 = now_ns();
		int r = poll(p, one_fd, ms);
		waited_ns += now_ns() - t0;
		zeros += r == 0;
	}
	return zeros;
}

static NOINLINE int
select_timeouts(int fd, int times, int ms)
{
	int zeros = 0;
	for (int i = 0; i < times; i++) {
		fd_set r;
		FD_ZERO(&r);
		FD_SET(fd, &r);
		struct timeval tv = {0, ms * 1000L};
		int64_t t0 = now_ns();
		int n = select(fd + 1, &r, NULL, NULL, &tv);
		waited_ns += now_ns() - t0;
		zeros += n == 0;
	}
	return zeros;
}

static NOINLINE int
epoll_timeouts(int fd, int times, int ms)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd}, out[4];
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
		die("epoll", errno);
	int zeros = 0;
	for (int i = 0; i < times; i++) {
		int64_t t0 = now_ns();
		int n = epoll_wait(ep, out, 4, ms);
		waited_ns += now_ns() - t0;
		zeros += n == 0;
	}
	close(ep);
	return zeros;
}

static void
mode_timeouts(const char *mode, int times, int ms)
{
	if (pipe(pfd) != 0)
		die("pipe", errno);
	int zeros;
	if (!strcmp(mode, "poll"))
		zeros = poll_timeouts(pfd[0], times, ms);
	else if (!strcmp(mode, "select"))
		zeros = select_timeouts(pfd[0], times, ms);
	else
		zeros = epoll_timeouts(pfd[0], times, ms);
	printf("timeouts=%d\n", zeros);
	printf("expected_ns=%lld\n", (long long)times * ms * 1000000);
}

static int lfd;
static struct sockaddr_in laddr;

static void *
client(void *arg)
{
	for (int i = 0; i < rounds; i++) {
		wait_start_plus_hold(i);
		int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c < 0 || connect(c, (struct sockaddr *)&laddr, sizeof(laddr)) != 0)
			die("connect", errno);
		close(c);
	}
	return NULL;
}

static NOINLINE void
accept_clients(void)
{
	for (int i = 0; i < rounds; i++) {
		announce_start();
		int64_t t0 = now_ns();
		int c = accept(lfd, NULL, NULL);
		waited_ns += now_ns() - t0;
		if (c < 0)
			die("accept", errno);
		close(c);
	}
}

static void
mode_accept(void)
{
	socklen_t len = sizeof(laddr);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	laddr.sin_family = AF_INET;
	laddr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&laddr, sizeof(laddr)) != 0 ||
	    listen(lfd, 8) != 0 || getsockname(lfd, (struct sockaddr *)&laddr, &len) != 0)
		die("listen", errno);
	pthread_t t;
	XPT(pthread_create(&t, NULL, client, NULL));
	accept_clients();
	XPT(pthread_join(t, NULL));
	printf("expected_ns=%lld\n", (long long)rounds * hold_us * 1000);
}

#define TIMED(name, call)                                                       \
	do {                                                                    \
		int64_t t0_ = now_ns();                                         \
		if ((call) != 0)                                                \
			die(#call, errno);                                      \
		printf(name "_ns=%lld\n", (long long)(now_ns() - t0_));         \
	} while (0)

static NOINLINE void
do_nanosleep(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	TIMED("nanosleep", nanosleep(&ts, NULL));
}

static NOINLINE void
do_usleep(long ms)
{
	TIMED("usleep", usleep((useconds_t)(ms * 1000)));
}

static NOINLINE void
do_clock_nanosleep(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	TIMED("clock_nanosleep", clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, NULL));
}

static NOINLINE void
do_sleep(void)
{
	TIMED("sleep", sleep(1));
}

static NOINLINE void
do_short_sleeps(long times, long us)
{
	int64_t t0 = now_ns();
	for (long i = 0; i < times; i++)
		usleep((useconds_t)us);
	printf("waited_ns=%lld\n", (long long)(now_ns() - t0));
}

int
main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "pipe";
	if (!strcmp(mode, "pipe") || !strcmp(mode, "accept") || !strcmp(mode, "kinds")) {
		rounds = (int)arg_long(argc, argv, 2, !strcmp(mode, "pipe") ? 5 : !strcmp(mode, "kinds") ? 2 : 3);
		hold_us = arg_long(argc, argv, 3, !strcmp(mode, "kinds") ? 30000 : 50000);
		if (rounds > 32)
			rounds = 32;
		if (!strcmp(mode, "pipe"))
			mode_pipe();
		else if (!strcmp(mode, "kinds"))
			mode_kinds();
		else
			mode_accept();
		printf("waited_ns=%lld\n", (long long)waited_ns);
	} else if (!strcmp(mode, "poll") || !strcmp(mode, "select") || !strcmp(mode, "epoll")) {
		mode_timeouts(mode, (int)arg_long(argc, argv, 2, 4), (int)arg_long(argc, argv, 3, 40));
		printf("waited_ns=%lld\n", (long long)waited_ns);
	} else if (!strcmp(mode, "short")) {
		do_short_sleeps(arg_long(argc, argv, 2, 1), arg_long(argc, argv, 3, 200));
	} else if (!strcmp(mode, "child")) {
		/* A launcher: waits [time] ms for a child that itself waits in
		 * nothing we wrap (it spins), then prints its own pid. */
		long ms = arg_long(argc, argv, 2, 50);
		pid_t pid = fork();
		if (pid == 0) {
			spin_ms(ms);
			_exit(0);
		}
		int st;
		if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
			return 1;
		printf("parent=%d\n", (int)getpid());
	} else if (!strcmp(mode, "sleep")) {
		long ms = arg_long(argc, argv, 2, 50);
		do_nanosleep(ms);
		do_usleep(ms);
		do_clock_nanosleep(ms);
		do_sleep();
	} else {
		fprintf(stderr, "usage: io_waits pipe|kinds|poll|select|epoll|accept|short|sleep|child [n] [time]\n");
		return 2;
	}
	return 0;
}
