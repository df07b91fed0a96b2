/* A process-per-connection server whose backends wait through a "latch",
 * as PostgreSQL's do (tests/integration/test_forked.c). Every wait of a
 * backend is an epoll_wait at one call site (wait_event_set, as
 * PostgreSQL's WaitEventSetWait), on one of two epoll sets:
 *
 *   client  the backend's connection (a socket) and the shutdown pipe:
 *           waiting for its client's next query, idle;
 *   latch   an eventfd that a signal handler writes (the latch, set
 *           from a handler as PostgreSQL's SetLatch does through its
 *           signalfd) and the shutdown pipe: waiting for a lock another
 *           backend holds, woken when it is granted.
 *
 * The parent forks three children and prints their pids:
 *
 *   blocked  reads a query from its client (the parent sends one), then
 *            waits on its latch for a lock (lock_wait) until shutdown.
 *            SIGALRM (the deadlock timeout; the test sends it once the
 *            backend is blocked) sets the latch: the wait ends with EINTR,
 *            the backend checks for a deadlock, waits again, finds the
 *            latch's eventfd readable at once, drains it and waits again.
 *            It prints "woken=1" once it drained the eventfd.
 *   idle     waits for its client, who sends nothing (idle_backend);
 *   aux      a background process (a checkpointer): waits on its latch
 *            with a 50 ms timeout in a loop from its start (aux_loop).
 *
 * Each child first writes its process title over its environment block,
 * as PostgreSQL's processes do (having moved the environment elsewhere):
 * /proc/<pid>/environ then shows no variable. Each prints "<name>=<pid>"
 * right before its last kind of wait.
 * When stdin closes, the parent closes the shutdown pipe, every child
 * exits 0, and the parent prints "status=N" (how many failed). Lines are
 * flushed at once. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

static int shutdown_pipe[2];
static int latch_fd = -1;
static volatile sig_atomic_t latch_set, deadlock_timeout;

static void
say(const char *key, long value)
{
	printf("%s=%ld\n", key, value);
	fflush(stdout);
}

/* The deadlock timeout: sets the latch, as a signal handler does. */
static void
on_alarm(int sig)
{
	(void)sig;
	uint64_t one = 1;
	deadlock_timeout = 1;
	latch_set = 1;
	if (write(latch_fd, &one, sizeof(one)) < 0) {
	}
}

static int
event_set(int a, int b)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event e = {.events = EPOLLIN};
	if (ep < 0)
		die("epoll_create1", errno);
	e.data.fd = a;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, a, &e) < 0)
		die("epoll_ctl", errno);
	e.data.fd = b;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, b, &e) < 0)
		die("epoll_ctl", errno);
	return ep;
}

/* Every wait of a backend: one call site, whichever set. Returns the fd
 * that became readable, or -1 after EINTR or a timeout. */
static NOINLINE int
wait_event_set(int ep, int timeout_ms)
{
	struct epoll_event e;
	int r = epoll_wait(ep, &e, 1, timeout_ms);
	if (r < 0 && errno != EINTR)
		die("epoll_wait", errno);
	return r > 0 ? e.data.fd : -1;
}

/* Waits on the latch until shutdown, as a lock wait does: after the
 * deadlock timeout's EINTR the latch is reset and the deadlock checked
 * (nothing here), and the next wait finds the eventfd readable. */
static NOINLINE void
lock_wait(int latch_set_ep)
{
	for (;;) {
		if (latch_set) {
			latch_set = 0;
			deadlock_timeout = 0;
		}
		int fd = wait_event_set(latch_set_ep, -1);
		if (fd == shutdown_pipe[0])
			return;
		if (fd == latch_fd) {
			uint64_t v;
			if (read(latch_fd, &v, sizeof(v)) != sizeof(v))
				die("read eventfd", errno);
			say("woken", 1);
		}
	}
}

/* Waits for the client's query; false at shutdown. */
static NOINLINE int
read_query(int client_ep, int conn)
{
	for (;;) {
		int fd = wait_event_set(client_ep, -1);
		if (fd == shutdown_pipe[0])
			return 0;
		if (fd == conn) {
			char q;
			return read(conn, &q, 1) == 1;
		}
	}
}

static int
blocked_backend(int conn)
{
	int client = event_set(conn, shutdown_pipe[0]);
	int latch = event_set(latch_fd, shutdown_pipe[0]);
	if (set_handler(SIGALRM, on_alarm, 0) != 0)
		die("sigaction", errno);
	if (!read_query(client, conn))
		return 1;
	say("blocked", (long)getpid());
	lock_wait(latch);
	return 0;
}

static NOINLINE int
idle_backend(int conn)
{
	int client = event_set(conn, shutdown_pipe[0]);
	say("idle", (long)getpid());
	return read_query(client, conn) ? 1 : 0; /* its client sends nothing */
}

static NOINLINE int
aux_loop(void)
{
	int latch = event_set(latch_fd, shutdown_pipe[0]);
	say("aux", (long)getpid());
	while (wait_event_set(latch, 50) != shutdown_pipe[0]) {
	}
	return 0;
}

enum kind { BLOCKED, IDLE, AUX };

static pid_t
spawn(enum kind k, int conn)
{
	pid_t pid = fork();
	if (pid < 0)
		die("fork", errno);
	if (pid == 0) {
		close(shutdown_pipe[1]);
		write_title(k == BLOCKED ? "latch_server: blocked" : k == IDLE ? "latch_server: idle"
									     : "latch_server: aux");
		latch_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (latch_fd < 0)
			die("eventfd", errno);
		exit(k == BLOCKED ? blocked_backend(conn) : k == IDLE ? idle_backend(conn)
								      : aux_loop());
	}
	return pid;
}

int
main(void)
{
	int b[2], i[2];
	if (pipe(shutdown_pipe) < 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, b) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, i) < 0)
		die("pipe", errno);
	pid_t kids[3] = {spawn(BLOCKED, b[1]), spawn(IDLE, i[1]), spawn(AUX, -1)};
	if (write(b[0], "Q", 1) != 1) /* the blocked backend's query */
		die("write", errno);
	char c;
	while (read(0, &c, 1) > 0) {
	}
	close(shutdown_pipe[1]);
	int failed = 0;
	for (int k = 0; k < 3; k++) {
		int st;
		if (waitpid(kids[k], &st, 0) != kids[k] || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			failed++;
	}
	say("status", failed);
	return failed != 0;
}
