/* Re-armed waits (core/threads.h, ct_wait_unwoken): a wait that ended
 * unwoken and is entered again at once, at the same site on the same
 * object, is one wait in the thread's record; anything else starts a new
 * one. */
#include <criterion/criterion.h>
#include <errno.h>

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
