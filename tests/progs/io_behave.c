/* The I/O wrappers must not change what the calls do: return values,
 * errno, EINTR with and without SA_RESTART, partial transfers, EAGAIN on
 * non-blocking fds, time-outs, vectored and multi-message I/O, fcntl's
 * optional argument, cancellation, bad pointers (EFAULT, not a crash).
 * Prints every result on stdout (the test compares a run with the shim
 * against one without); "FAIL: ..." on stderr and exit 1 on a deviation
 * from what POSIX and Linux promise. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "progs.h"

static volatile sig_atomic_t got_signal;

static void
on_usr1(int sig)
{
	got_signal++;
}

static void
handle_usr1(int flags)
{
	if (set_handler(SIGUSR1, on_usr1, flags) != 0)
		die("sigaction", errno);
}

static void
make_pipe(int p[2])
{
	if (pipe(p) != 0)
		die("pipe", errno);
}

/* A thread that sends SIGUSR1 to `target` every delay_us (so one comes
 * while the target is blocked, whenever it gets there) until `done`, or,
 * with fd >= 0, twice and then writes `bytes` bytes to fd. */
struct poke {
	pthread_t target, thread;
	long delay_us;
	int fd;
	size_t bytes;
	volatile int done;
};

static void *
poker(void *arg)
{
	struct poke *p = arg;
	static const char data[64] = "0123456789";
	for (int i = 0; p->fd >= 0 ? i < 2 : !p->done; i++) {
		sleep_us(p->delay_us);
		if (!p->done)
			pthread_kill(p->target, SIGUSR1);
	}
	if (p->fd >= 0) {
		sleep_us(p->delay_us);
		if (write(p->fd, data, p->bytes) != (ssize_t)p->bytes)
			die("poke write", errno);
	}
	return NULL;
}

static void
poke_start(struct poke *p, long delay_us, int fd, size_t bytes)
{
	*p = (struct poke){.target = pthread_self(), .delay_us = delay_us, .fd = fd, .bytes = bytes};
	XPT(pthread_create(&p->thread, NULL, poker, p));
}

static void
poke_join(struct poke *p)
{
	p->done = 1;
	XPT(pthread_join(p->thread, NULL));
}

/* read() blocked on an empty pipe, interrupted by a signal whose handler
 * has no SA_RESTART: -1/EINTR. With SA_RESTART: the read goes on and
 * returns the bytes written after the signal. */
static NOINLINE void
eintr(void)
{
	int p[2];
	char buf[32];
	struct poke k;
	make_pipe(p);

	handle_usr1(0);
	got_signal = 0;
	poke_start(&k, 30000, -1, 0);
	CHECK_ERRNO(read(p[0], buf, sizeof(buf)), -1, EINTR);
	CHECK_EQ(got_signal >= 1, 1);
	poke_join(&k);

	handle_usr1(SA_RESTART);
	got_signal = 0;
	poke_start(&k, 30000, p[1], 5);
	CHECK_ERRNO(read(p[0], buf, sizeof(buf)), 5, ERRNO_MARK); /* untouched by a successful call */
	CHECK_EQ(got_signal >= 1, 1);
	poke_join(&k);

	/* poll is never restarted (signal(7)): EINTR even with SA_RESTART. */
	struct pollfd pf = {.fd = p[0], .events = POLLIN};
	poke_start(&k, 30000, -1, 0);
	CHECK_ERRNO(poll(&pf, 1, 5000), -1, EINTR);
	poke_join(&k);

	/* nanosleep: EINTR and the time left. */
	handle_usr1(0);
	poke_start(&k, 30000, -1, 0);
	struct timespec req = {5, 0}, rem = {0, 0};
	CHECK_EQ(nanosleep(&req, &rem), -1);
	CHECK_EQ(errno, EINTR);
	CHECK_EQ(rem.tv_sec >= 3 && rem.tv_sec <= 5, 1);
	poke_join(&k);

	/* A blocking write into a full pipe that was partly done when the
	 * signal came returns the partial count, not EINTR. */
	int cap = fcntl(p[1], F_GETPIPE_SZ);
	size_t big = (size_t)cap * 2;
	char *junk = calloc(1, big);
	poke_start(&k, 30000, -1, 0);
	CHECK_ERRNO(write(p[1], junk, big), cap, ERRNO_MARK);
	poke_join(&k);
	free(junk);
	close(p[0]);
	close(p[1]);
	handle_usr1(SA_RESTART);
}

/* Short reads and writes, EOF, EPIPE. */
static NOINLINE void
partial(void)
{
	int p[2];
	char buf[100];
	make_pipe(p);
	CHECK_EQ(write(p[1], "abcdefghij", 10), 10);
	CHECK_EQ(read(p[0], buf, sizeof(buf)), 10); /* asked 100, got 10 */
	CHECK_EQ(memcmp(buf, "abcdefghij", 10), 0);
	CHECK_EQ(write(p[1], "xyz", 3), 3);
	CHECK_EQ(read(p[0], buf, 2), 2);
	CHECK_EQ(read(p[0], buf, 2), 1);

	/* Non-blocking write into a pipe with room for less than asked. */
	int cap = fcntl(p[1], F_GETPIPE_SZ);
	char *junk = calloc(1, (size_t)cap + 1000);
	CHECK_EQ(fcntl(p[1], F_SETFL, O_NONBLOCK), 0);
	CHECK_EQ(write(p[1], junk, (size_t)cap + 1000), cap);
	CHECK_ERRNO(write(p[1], junk, 10), -1, EAGAIN);
	free(junk);

	close(p[1]);
	char *all = malloc((size_t)cap);
	ssize_t got = 0, r;
	while ((r = read(p[0], all, (size_t)cap)) > 0)
		got += r;
	CHECK_EQ(got, cap);
	CHECK_EQ(r, 0); /* EOF */
	free(all);
	close(p[0]);

	make_pipe(p);
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	CHECK_ERRNO(write(p[1], "x", 1), -1, EPIPE);
	close(p[1]);
}

/* Non-blocking sockets and MSG_DONTWAIT: EAGAIN, at once. */
static NOINLINE void
nonblocking(void)
{
	int sv[2];
	char buf[8];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		die("socketpair", errno);
	CHECK_ERRNO(recv(sv[0], buf, sizeof(buf), MSG_DONTWAIT), -1, EAGAIN);
	CHECK_EQ(fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK), 0);
	CHECK_EQ((fcntl(sv[0], F_GETFL) & O_NONBLOCK) != 0, 1);
	CHECK_ERRNO(read(sv[0], buf, sizeof(buf)), -1, EAGAIN);
	CHECK_ERRNO(recvfrom(sv[0], buf, sizeof(buf), 0, NULL, NULL), -1, EAGAIN);
	CHECK_EQ(send(sv[1], "hello", 5, 0), 5);
	CHECK_EQ(recv(sv[0], buf, sizeof(buf), 0), 5);

	int l = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr sa = {.sa_family = AF_UNIX}; /* autobind: abstract name */
	CHECK_EQ(bind(l, &sa, sizeof(sa_family_t)), 0);
	CHECK_EQ(listen(l, 1), 0);
	CHECK_ERRNO(accept(l, NULL, NULL), -1, EAGAIN);
	CHECK_ERRNO(accept4(l, NULL, NULL, SOCK_CLOEXEC), -1, EAGAIN);
	close(l);
	close(sv[0]);
	close(sv[1]);
}

static int64_t
ms_since(int64_t t0)
{
	return (now_ns() - t0) / 1000000;
}

/* Time-outs return 0 (or EAGAIN) after about the time asked. */
static NOINLINE void
timeouts(void)
{
	int p[2];
	make_pipe(p);
	struct pollfd pf = {.fd = p[0], .events = POLLIN};
	int64_t t0 = now_ns();
	CHECK_EQ(poll(&pf, 1, 30), 0);
	CHECK_EQ(ms_since(t0) >= 29, 1);
	CHECK_EQ(poll(&pf, 1, 0), 0);

	struct timespec ts = {0, 30 * 1000000};
	t0 = now_ns();
	CHECK_EQ(ppoll(&pf, 1, &ts, NULL), 0);
	CHECK_EQ(ms_since(t0) >= 29, 1);

	fd_set r;
	FD_ZERO(&r);
	FD_SET(p[0], &r);
	struct timeval tv = {0, 30000};
	t0 = now_ns();
	CHECK_EQ(select(p[0] + 1, &r, NULL, NULL, &tv), 0);
	CHECK_EQ(ms_since(t0) >= 29, 1);
	CHECK_EQ(tv.tv_sec == 0 && tv.tv_usec == 0, 1); /* Linux: time left */
	CHECK_EQ(FD_ISSET(p[0], &r), 0);
	FD_SET(p[0], &r);
	t0 = now_ns();
	CHECK_EQ(pselect(p[0] + 1, &r, NULL, NULL, &ts, NULL), 0);
	CHECK_EQ(ms_since(t0) >= 29, 1);

	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 7}, out[2];
	CHECK_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), 0);
	t0 = now_ns();
	CHECK_EQ(epoll_wait(ep, out, 2, 30), 0);
	CHECK_EQ(ms_since(t0) >= 29, 1);
	CHECK_EQ(epoll_wait(ep, out, 2, 0), 0);
	t0 = now_ns();
	CHECK_EQ(epoll_pwait(ep, out, 2, 30, NULL), 0);
	CHECK_EQ(ms_since(t0) >= 29, 1);
	CHECK_EQ(write(p[1], "x", 1), 1);
	CHECK_EQ(epoll_wait(ep, out, 2, 1000), 1);
	CHECK_EQ(out[0].data.u32, 7);
	CHECK_EQ(poll(&pf, 1, 1000), 1);
	CHECK_EQ(pf.revents, POLLIN);

	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	errno = ERRNO_MARK;
	t0 = now_ns();
	CHECK_EQ(sigtimedwait(&set, NULL, &ts), -1);
	CHECK_EQ(errno, EAGAIN);
	CHECK_EQ(ms_since(t0) >= 29, 1);
	close(ep);
	close(p[0]);
	close(p[1]);
}

/* readv/writev/preadv/pwritev(2) and recvmmsg/sendmmsg. */
static NOINLINE void
vectored(void)
{
	int p[2];
	make_pipe(p);
	struct iovec w[3] = {{"abc", 3}, {"defgh", 5}, {"ij", 2}};
	CHECK_EQ(writev(p[1], w, 3), 10);
	char a[4] = {0}, b[20] = {0};
	struct iovec r[2] = {{a, 4}, {b, 20}};
	CHECK_EQ(readv(p[0], r, 2), 10);
	CHECK_EQ(memcmp(a, "abcd", 4), 0);
	CHECK_EQ(memcmp(b, "efghij", 6), 0);
	volatile int negative = -1; /* hidden from -Wstringop-overflow */
	CHECK_ERRNO(readv(p[0], r, negative), -1, EINVAL);
	close(p[0]);
	close(p[1]);

	char path[] = "/tmp/io_behave_XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		die("mkstemp", errno);
	unlink(path);
	CHECK_EQ(pwrite(fd, "0123456789", 10, 0), 10);
	CHECK_EQ(pwritev(fd, w, 3, 10), 10);
	CHECK_EQ(pwritev2(fd, w, 1, 20, 0), 3);
	CHECK_EQ(lseek(fd, 0, SEEK_CUR), 0); /* positioned: offset untouched */
	char c[30] = {0};
	CHECK_EQ(pread(fd, c, sizeof(c), 0), 23);
	CHECK_EQ(memcmp(c, "0123456789abcdefghijabc", 23), 0);
	memset(a, 0, 4);
	memset(b, 0, 20);
	CHECK_EQ(preadv(fd, r, 2, 5), 18);
	CHECK_EQ(memcmp(a, "5678", 4), 0);
	CHECK_EQ(preadv2(fd, r, 2, 20, 0), 3);
	CHECK_EQ(pread(fd, c, sizeof(c), 100), 0);
	CHECK_EQ(fsync(fd), 0);
	CHECK_EQ(fdatasync(fd), 0);

	/* fcntl's optional argument: int, pointer, none. */
	CHECK_EQ(fcntl(fd, F_SETFD, FD_CLOEXEC), 0);
	CHECK_EQ(fcntl(fd, F_GETFD), FD_CLOEXEC);
	int d = fcntl(fd, F_DUPFD, 100);
	CHECK_EQ(d >= 100, 1);
	close(d);
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	CHECK_EQ(fcntl(fd, F_SETLKW, &fl), 0);
	CHECK_EQ(fcntl(fd, F_GETLK, &fl), 0);
	CHECK_EQ(fl.l_type, F_UNLCK); /* our own lock does not conflict */
	CHECK_EQ(flock(fd, LOCK_EX), 0);
	CHECK_EQ(flock(fd, LOCK_UN), 0);
	CHECK_EQ(lockf(fd, F_LOCK, 0), 0);
	CHECK_EQ(lockf(fd, F_ULOCK, 0), 0);
	close(fd);

	int sv[2];
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) != 0)
		die("socketpair", errno);
	char m0[] = "one", m1[] = "three", m2[] = "five!";
	struct iovec v[3] = {{m0, 3}, {m1, 5}, {m2, 5}};
	struct mmsghdr out[3];
	memset(out, 0, sizeof(out));
	for (int i = 0; i < 3; i++) {
		out[i].msg_hdr.msg_iov = &v[i];
		out[i].msg_hdr.msg_iovlen = 1;
	}
	CHECK_EQ(sendmmsg(sv[1], out, 3, 0), 3);
	char in[5][16];
	struct iovec iv[5];
	struct mmsghdr got[5];
	memset(got, 0, sizeof(got));
	for (int i = 0; i < 5; i++) {
		iv[i] = (struct iovec){in[i], sizeof(in[i])};
		got[i].msg_hdr.msg_iov = &iv[i];
		got[i].msg_hdr.msg_iovlen = 1;
	}
	CHECK_EQ(recvmmsg(sv[0], got, 5, MSG_DONTWAIT, NULL), 3);
	CHECK_EQ(got[0].msg_len, 3);
	CHECK_EQ(got[1].msg_len, 5);
	CHECK_EQ(got[2].msg_len, 5);
	CHECK_EQ(memcmp(in[1], "three", 5), 0);
	CHECK_ERRNO(recvmmsg(sv[0], got, 5, MSG_DONTWAIT, NULL), -1, EAGAIN);
	struct msghdr mh = {.msg_iov = v, .msg_iovlen = 1};
	CHECK_EQ(sendmsg(sv[1], &mh, 0), 3);
	mh.msg_iov = iv;
	CHECK_EQ(recvmsg(sv[0], &mh, 0), 3);
	close(sv[0]);
	close(sv[1]);
}

/* Errors come back as they are; bad pointers give EFAULT (the shim must
 * not read the program's memory before the kernel has checked it). */
static NOINLINE void
errors(void)
{
	char buf[4];
	CHECK_ERRNO(read(-1, buf, 1), -1, EBADF);
	CHECK_ERRNO(write(12345, buf, 1), -1, EBADF);
	errno = ERRNO_MARK;
	CHECK_EQ(accept(0, NULL, NULL), -1);
	CHECK_EQ(errno == ENOTSOCK || errno == EBADF, 1);
	void *volatile unmapped = (void *)16; /* an unmapped address */
	CHECK_ERRNO(poll(unmapped, 1, 10), -1, EFAULT);
	CHECK_ERRNO(select(1, unmapped, NULL, NULL, NULL), -1, EFAULT);
	CHECK_ERRNO(nanosleep(unmapped, NULL), -1, EFAULT);
	struct timespec bad = {0, 2000000000};
	CHECK_ERRNO(nanosleep(&bad, NULL), -1, EINVAL);
	CHECK_ERRNO(clock_nanosleep(CLOCK_MONOTONIC, 0, &bad, NULL), EINVAL, ERRNO_MARK); /* reports in its return value */
	CHECK_ERRNO(waitpid(-1, NULL, 0), -1, ECHILD);
	struct epoll_event ev;
	CHECK_ERRNO(epoll_wait(-1, &ev, 1, 10), -1, EBADF);
	CHECK_ERRNO(fcntl(-1, F_GETFL), -1, EBADF);
	CHECK_EQ(sleep(0), 0);
	CHECK_EQ(usleep(0), 0);
}

/* Children: waitpid with WNOHANG while the child runs, then a blocking
 * wait; wait4/waitid. */
static NOINLINE void
children(void)
{
	/* The child exits when the pipe closes: still running at the WNOHANG
	 * by construction, however late a loaded machine runs us. */
	int go[2];
	if (pipe(go) != 0)
		die("pipe", errno);
	pid_t c = fork();
	if (c == 0) {
		char b;
		close(go[1]);
		while (read(go[0], &b, 1) < 0 && errno == EINTR)
			;
		_exit(7);
	}
	close(go[0]);
	int st = 0;
	CHECK_EQ(waitpid(c, &st, WNOHANG), 0);
	close(go[1]);
	CHECK_EQ(waitpid(c, &st, 0) == c, 1);
	CHECK_EQ(WIFEXITED(st) && WEXITSTATUS(st) == 7, 1);

	c = fork();
	if (c == 0)
		_exit(3);
	struct rusage ru;
	CHECK_EQ(wait4(c, &st, 0, &ru) == c, 1);
	CHECK_EQ(WEXITSTATUS(st), 3);

	c = fork();
	if (c == 0)
		_exit(4);
	siginfo_t si;
	memset(&si, 0, sizeof(si));
	CHECK_EQ(waitid(P_PID, (id_t)c, &si, WEXITED), 0);
	CHECK_EQ(si.si_status, 4);

	c = fork();
	if (c == 0)
		_exit(5);
	CHECK_EQ(wait(&st) == c, 1);
	CHECK_EQ(WEXITSTATUS(st), 5);
}

static int cancel_pipe[2];
static int cleanup_ran;

static void
cleanup(void *arg)
{
	cleanup_ran = 1;
}

static void *
blocked_reader(void *arg)
{
	char c;
	pthread_cleanup_push(cleanup, NULL);
	read(cancel_pipe[0], &c, 1);
	pthread_cleanup_pop(0);
	return NULL;
}

/* read() is a cancellation point: a thread cancelled in it unwinds
 * (through the wrapper) and runs its cleanup handler. */
static NOINLINE void
cancellation(void)
{
	pthread_t t;
	void *ret;
	make_pipe(cancel_pipe);
	XPT(pthread_create(&t, NULL, blocked_reader, NULL));
	sleep_us(30000);
	CHECK_EQ(pthread_cancel(t), 0);
	CHECK_EQ(pthread_join(t, &ret), 0);
	CHECK_EQ(ret == PTHREAD_CANCELED, 1);
	CHECK_EQ(cleanup_ran, 1);
	/* The thread's wait record and the profile survive: more I/O. */
	CHECK_EQ(write(cancel_pipe[1], "z", 1), 1);
	char c;
	CHECK_EQ(read(cancel_pipe[0], &c, 1), 1);
}

int
main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	handle_usr1(SA_RESTART);
	eintr();
	partial();
	nonblocking();
	timeouts();
	vectored();
	errors();
	children();
	cancellation();
	return check_status();
}
