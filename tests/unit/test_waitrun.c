/* Re-armed waits (core/threads.h, ct_wait_unwoken): a wait that ended
 * unwoken and is entered again at once, at the same site on the same
 * object, is one wait in the thread's record; anything else starts a new
 * one. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../core/clock.h"
#include "../../core/ops.h"
#include "../../core/threads.h"

static int cond_a, cond_b;
#define SITE ((uintptr_t)0x401000)

/* Ends the current wait with (ret, err) and enters op on obj at site,
 * now; returns the record then. */
static struct ct_wait_view
again(unsigned op, long ret, int err, const void *obj, int fd, uintptr_t site, int64_t since)
{
	struct ct_wait_view w;
	ct_wait_leave();
	ct_wait_unwoken(op, ret, err);
	ct_wait_enter(op, obj, fd, since, site);
	cr_assert(ct_wait_read(ct_threads_self(), &w));
	return w;
}

Test(waitrun, timeouts_at_one_site_are_one_wait)
{
	cr_assert_eq(ct_threads_init(), 0);
	int64_t t0 = ct_now_ns();
	ct_wait_enter(CT_OP_COND_TIMEDWAIT, &cond_a, -1, t0, SITE);
	struct ct_wait_view w;
	for (int i = 1; i <= 3; i++) {
		w = again(CT_OP_COND_TIMEDWAIT, ETIMEDOUT, 0, &cond_a, -1, SITE, ct_now_ns());
		cr_expect_eq(w.since, t0, "re-arm %d restarted the clock", i);
		cr_expect_eq(w.rearms, (uint32_t)i);
	}
	/* errno is the caller's still. */
	errno = 1234;
	ct_wait_leave();
	ct_wait_unwoken(CT_OP_COND_TIMEDWAIT, ETIMEDOUT, 1234);
	cr_expect_eq(errno, 1234);
	ct_wait_enter(CT_OP_COND_TIMEDWAIT, &cond_a, -1, ct_now_ns(), SITE);

	/* Woken (0): the next wait is a new one. */
	int64_t t1 = ct_now_ns();
	w = again(CT_OP_COND_TIMEDWAIT, 0, 0, &cond_a, -1, SITE, t1);
	cr_expect_eq(w.since, t1);
	cr_expect_eq(w.rearms, 0);
	/* Another object, another site: new ones. */
	int64_t t2 = ct_now_ns();
	w = again(CT_OP_COND_TIMEDWAIT, ETIMEDOUT, 0, &cond_b, -1, SITE, t2);
	cr_expect_eq(w.since, t2);
	int64_t t3 = ct_now_ns();
	w = again(CT_OP_COND_TIMEDWAIT, ETIMEDOUT, 0, &cond_b, -1, SITE + 8, t3);
	cr_expect_eq(w.since, t3);
	/* Long after the timeout (the thread worked in between): new. */
	int64_t t4 = ct_now_ns() + 2 * CT_REARM_GAP_NS;
	w = again(CT_OP_COND_TIMEDWAIT, ETIMEDOUT, 0, &cond_b, -1, SITE + 8, t4);
	cr_expect_eq(w.since, t4);
	ct_wait_leave();
}

Test(waitrun, which_results_are_unwoken)
{
	cr_assert_eq(ct_threads_init(), 0);
	struct {
		unsigned op;
		long ret;
		int err, fd;
		bool same;
	} c[] = {
		{CT_OP_SEM_TIMEDWAIT, -1, ETIMEDOUT, -1, true},
		{CT_OP_SEM_WAIT, -1, EINTR, -1, true},
		{CT_OP_SEM_WAIT, 0, 0, -1, false},
		{CT_OP_EPOLL_WAIT, 0, 0, 5, true},   /* timed out: nothing ready */
		{CT_OP_EPOLL_WAIT, 1, 0, 5, false},  /* an event */
		{CT_OP_READ, 0, 0, 5, false},        /* end of file */
		{CT_OP_READ, -1, EINTR, 5, true},
		{CT_OP_READ, -1, EAGAIN, 5, false},
		{CT_OP_SIGTIMEDWAIT, -1, EAGAIN, -1, true},
		{CT_OP_FUTEX_WAIT, -1, ETIMEDOUT, -1, true},
		{CT_OP_MUTEX_TIMEDLOCK, ETIMEDOUT, 0, -1, true},
		{CT_OP_NANOSLEEP, -1, EINTR, -1, false}, /* sleeps never continue */
	};
	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		int64_t t0 = ct_now_ns();
		ct_wait_enter(c[i].op, &cond_a, c[i].fd, t0, SITE);
		int64_t t1 = ct_now_ns() + 1;
		struct ct_wait_view w = again(c[i].op, c[i].ret, c[i].err, &cond_a, c[i].fd, SITE, t1);
		cr_expect_eq(w.since == t0, c[i].same, "%s returning %ld (errno %d): %s",
			     ct_op_name(c[i].op), c[i].ret, c[i].err,
			     c[i].same ? "not continued" : "continued");
		ct_wait_leave();
	}
}

/* Where a thread parks (core/threads.h, ct_thread_slot.hsite): at the
 * first site it ever waited at (not on a lock), or at its most used one
 * when used more than once; a condvar is one site whatever the call; a
 * re-arm or a lock wait counts nothing. Threads not created through
 * pthread_create are never parked by this rule (their start is unknown). */
Test(waitrun, parked_where_the_thread_usually_waits)
{
	static int pipe_fd_site, mutex_a;
	cr_assert_eq(ct_threads_init(), 0);
	struct ct_thread_slot *s = ct_threads_self();
	struct ct_wait_view w;
	ct_wait_enter(CT_OP_COND_WAIT, &cond_a, -1, ct_now_ns(), SITE);
	cr_assert(ct_wait_read(s, &w));
	cr_expect(!w.home, "a thread of unknown start parked");
	ct_wait_leave();

	s->start_routine = SITE; /* as pthread_create's wrapper sets it */
	memset(s->hsite, 0, sizeof(s->hsite));
	s->hevicted = 0;
	/* A lock wait first: not a site. */
	ct_wait_enter(CT_OP_MUTEX_LOCK, &mutex_a, -1, ct_now_ns(), SITE + 64);
	ct_wait_leave();
	/* The first site: timed, re-armed, then untimed elsewhere in the code
	 * on the same condvar: one site, parked. */
	ct_wait_enter(CT_OP_COND_TIMEDWAIT, &cond_a, -1, ct_now_ns(), SITE);
	w = again(CT_OP_COND_TIMEDWAIT, ETIMEDOUT, 0, &cond_a, -1, SITE, ct_now_ns());
	cr_expect(w.home && w.rearms == 1);
	w = again(CT_OP_COND_WAIT, 0, 0, &cond_a, -1, SITE + 16, ct_now_ns());
	cr_expect(w.home, "the same condvar from another call is another site");
	cr_expect_eq(s->hsite[0].n, 2, "a re-arm counted");
	ct_wait_leave();

	/* A request: a read, then a wait on another condvar, once: held up. */
	ct_wait_enter(CT_OP_READ, NULL, 5, ct_now_ns(), (uintptr_t)&pipe_fd_site);
	ct_wait_leave();
	ct_wait_enter(CT_OP_COND_TIMEDWAIT, &cond_b, -1, ct_now_ns(), SITE + 32);
	cr_assert(ct_wait_read(s, &w));
	cr_expect(!w.home, "a wait begun once at a new site parked");
	ct_wait_leave();
	/* Back at the first site: parked, whatever happened in between. */
	ct_wait_enter(CT_OP_COND_WAIT, &cond_a, -1, ct_now_ns(), SITE);
	cr_assert(ct_wait_read(s, &w));
	cr_expect(w.home);
	ct_wait_leave();
	/* cond_b waited at more than anything else: parked there too. */
	for (int i = 0; i < 4; i++) {
		ct_wait_enter(CT_OP_COND_TIMEDWAIT, &cond_b, -1, ct_now_ns(), SITE + 32);
		ct_wait_leave();
	}
	ct_wait_enter(CT_OP_COND_TIMEDWAIT, &cond_b, -1, ct_now_ns(), SITE + 32);
	cr_assert(ct_wait_read(s, &w));
	cr_expect(w.home, "the most used site (%u waits) not parked", s->hsite[2].n);
	ct_wait_leave();
	/* The read, used less than the other sites: not parked. */
	ct_wait_enter(CT_OP_READ, NULL, 5, ct_now_ns(), (uintptr_t)&pipe_fd_site);
	ct_wait_leave();
	ct_wait_enter(CT_OP_READ, NULL, 5, ct_now_ns(), (uintptr_t)&pipe_fd_site);
	cr_assert(ct_wait_read(s, &w));
	cr_expect(!w.home, "a read used less than another site parked");
	ct_wait_leave();
	s->start_routine = 0;
}

/* Leaves the current wait and begins one on epoll fd at `since`, which
 * must start a run of its own (what names the case otherwise). */
static void
expect_new_run(struct ct_thread_slot *s, int fd, int64_t since, const char *what)
{
	struct ct_wait_view w;
	ct_wait_leave();
	ct_wait_enter(CT_OP_EPOLL_WAIT, NULL, fd, since, SITE);
	cr_assert(ct_wait_read(s, &w));
	cr_expect(w.since == since && w.rearms == 0, "%s", what);
}

/* The first wake-up of a wait re-armed after a signal interrupted it
 * (EINTR) is the signal's leftover when the thread waits there again
 * within CT_REARM_GAP_NS of that wait's start, whatever came between
 * (PostgreSQL's latch: SIGALRM interrupts its epoll_wait, the handler
 * writes the signalfd, the next epoll_wait returns at once, the backend
 * drains the signalfd with a read and waits again): one run. Only once;
 * not after a timeout; not when late. */
Test(waitrun, wake_up_after_a_signal_continues_the_run_once)
{
	static int read_site;
	cr_assert_eq(ct_threads_init(), 0);
	struct ct_thread_slot *s = ct_threads_self();
	struct ct_wait_view w;
	int64_t t0 = ct_now_ns();
	ct_wait_enter(CT_OP_EPOLL_WAIT, NULL, 7, t0, SITE);
	int64_t tr = ct_now_ns();
	w = again(CT_OP_EPOLL_WAIT, -1, EINTR, NULL, 7, SITE, tr);
	cr_expect(w.since == t0 && w.rearms == 1);
	/* Woken at once, a read of the wake-up fd, the same wait again: the
	 * times given, not read, so that a preempted test still has them
	 * within CT_REARM_GAP_NS of the re-armed wait. */
	ct_wait_leave();
	ct_wait_enter(CT_OP_READ, NULL, 8, tr + 1, (uintptr_t)&read_site);
	ct_wait_leave();
	ct_wait_enter(CT_OP_EPOLL_WAIT, NULL, 7, tr + 2, SITE);
	cr_assert(ct_wait_read(s, &w));
	cr_expect(w.since == t0 && w.rearms == 2, "since %lld (run %lld), rearms %u",
		  (long long)w.since, (long long)t0, w.rearms);
	/* Woken again: a new wait. */
	expect_new_run(s, 7, ct_now_ns(), "a second wake-up continued the run");
	/* Re-armed after a timeout, then woken: a new wait. */
	int64_t t1 = s->wsince;
	w = again(CT_OP_EPOLL_WAIT, 0, 0, NULL, 7, SITE, ct_now_ns());
	cr_expect(w.since == t1 && w.rearms == 1);
	expect_new_run(s, 7, ct_now_ns(), "a wake-up after a timeout continued the run");
	/* After a signal, but the next wait there comes late, or elsewhere. */
	int64_t t2 = s->wsince;
	w = again(CT_OP_EPOLL_WAIT, -1, EINTR, NULL, 7, SITE, ct_now_ns());
	cr_expect(w.since == t2 && w.rearms == 1);
	expect_new_run(s, 9, ct_now_ns(), "another fd continued the run");
	expect_new_run(s, 7, ct_now_ns() + 2 * CT_REARM_GAP_NS, "a late wait continued the run");
	ct_wait_leave();
}

/* A fork child's thread parks where it first waits after the fork, as a
 * thread created through pthread_create does (its start is known): its
 * parent's sites are forgotten. */
Test(waitrun, fork_child_parks_where_it_first_waits)
{
	cr_assert_eq(ct_threads_init(), 0);
	struct ct_thread_slot *s = ct_threads_self();
	struct ct_wait_view w;
	ct_wait_enter(CT_OP_SELECT, NULL, -1, ct_now_ns(), SITE + 8);
	ct_wait_leave();
	ct_wait_enter(CT_OP_EPOLL_WAIT, NULL, 7, ct_now_ns(), SITE);
	cr_assert(ct_wait_read(s, &w));
	cr_expect(!w.home, "a thread of unknown start parked");
	ct_wait_leave();
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		ct_threads_fork_child();
		int bad = 0;
		/* The child's first wait: parked; another site: not. */
		ct_wait_enter(CT_OP_EPOLL_WAIT, NULL, 7, ct_now_ns(), SITE);
		bad |= !ct_wait_read(s, &w) || !w.home;
		ct_wait_leave();
		ct_wait_enter(CT_OP_EPOLL_WAIT, NULL, 9, ct_now_ns(), SITE);
		bad |= (!ct_wait_read(s, &w) || w.home) << 1;
		ct_wait_leave();
		_exit(bad);
	}
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "fork child: status %#x (1: its first wait not parked, 2: another parked)", st);
}
