/* Workload "forkconn": a process-per-connection server, the way
 * PostgreSQL's postmaster serves `pgbench -C`: for every connection a
 * single-threaded parent forks a child, the child waits in epoll_wait for
 * its client's request (2 ms: at least CONTEND_BLOCK_RATE's default, so
 * the wait is always recorded and under the shim every child writes its
 * profiles at exit), answers
 * and exits through exit(); the parent reaps it before the next
 * connection. Children per second, native vs preloaded: what the shim
 * costs each child (its start, its recording and its exit dump). The
 * parent plays the client on the other end of a socketpair. Two
 * connections before the measured section: the first child under the
 * shim reads the debug information itself, the parent then resolves its
 * symbols before the next fork and every later child inherits them
 * (README, Overhead). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define FORKCONN_WAIT_NS 2000000L

static void
forkconn_child(int fd)
{
	struct epoll_event ev = {.events = EPOLLIN}, got;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	char c = 0;
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
		exit(2);
	while (epoll_wait(ep, &got, 1, -1) < 0)
		if (errno != EINTR)
			exit(3);
	if (read(fd, &c, 1) != 1 || write(fd, &c, 1) != 1)
		exit(4);
	exit(0);
}

/* One connection: fork, let the child wait FORKCONN_WAIT_NS for the
 * request, read its answer, reap it. */
static void
forkconn_one(void)
{
	int sv[2];
	char c = 'q';
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		die_errno("socketpair", 2);
	fflush(NULL);
	pid_t pid = fork_or_die(2);
	if (pid == 0) {
		close(sv[0]);
		forkconn_child(sv[1]);
	}
	close(sv[1]);
	struct timespec ts = {0, FORKCONN_WAIT_NS};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	int st;
	if (write(sv[0], &c, 1) != 1 || read(sv[0], &c, 1) != 1 || c != 'q' ||
	    waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "contend-bench: a forkconn child failed\n");
		exit(2);
	}
	close(sv[0]);
}

static void
work_forkconn(struct wres *r)
{
	for (int i = 0; i < 2; i++)
		forkconn_one();
	int64_t c0 = thread_cpu_ns(), t0 = now_ns(), end = t0 + w_dur_ns;
	uint64_t n = 0;
	do {
		forkconn_one();
		n++;
	} while (now_ns() < end);
	r->elapsed = now_ns() - t0;
	r->ops = n;
	r->cpu = thread_cpu_ns() - c0;
}

static struct series kids[NCFG], ms[NCFG];

static void
collect(enum cfg c, int rep, const struct child *r)
{
	add(&kids[c], rep, (double)r->ops / ((double)r->elapsed_ns / 1e9));
	add(&ms[c], rep, (double)r->elapsed_ns / 1e6 / (double)r->ops);
}

static void
rows(void)
{
	dump_series("forkconn children/s", kids);
	row_s(90, "9 fork-per-connection server, 2 ms wait each", "children/s", &kids[NATIVE],
	      &kids[CT_DEFAULT], NULL, true);
	struct series d = diffs(&ms[NATIVE], &ms[CT_DEFAULT]);
	row_event(91, "9   extra wall time per child (exit dump included)", "ms/child", median(&d),
		  spread(&d));
}

const struct workload wl_forkconn = {
	.group = "forkconn", .workers = {{"forkconn", work_forkconn}},
	.secs = 1.0, .quick_secs = 0.4, .threads = 1,
	.cfgs = {NATIVE, CT_DEFAULT},
	.collect = collect, .rows = rows,
};
