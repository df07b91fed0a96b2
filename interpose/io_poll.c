/* Wrappers of the multiplexing waits: poll, select, epoll and their
 * signal-mask, fortified and internal (__poll) names. A zero int timeout
 * cannot block and is forwarded untimed; timeouts passed by pointer are
 * not read (see io.h), so a zero one is timed and falls under the
 * recording threshold. fd_kind is given for a poll of exactly one fd and
 * for epoll (the epoll fd itself). */
#undef _FORTIFY_SOURCE
#undef _FILE_OFFSET_BITS /* meson sets it: our pread must stay pread, not pread64 */
#include <poll.h>
#include <sys/epoll.h>
#include <stdint.h>
#include <sys/select.h>

#include "io.h"

int __poll(struct pollfd *f, nfds_t n, int t);
int __poll_chk(struct pollfd *f, nfds_t n, int t, size_t fl);
int __ppoll_chk(struct pollfd *f, nfds_t n, const struct timespec *t, const sigset_t *s,
		size_t fl);

/* Like CT_IO_WAIT; the one fd of a single-fd poll is read once the call
 * has returned without EFAULT. The array is noted for thread dumps, which
 * read it without risk (a poll of listening sockets is idle). */
#define CT_IO_POLL(op, may_block, fds, n, call)                                           \
	do {                                                                               \
		if (!(may_block) || !ct_iowait_active())                                   \
			return call;                                                       \
		struct ct_iowait w_;                                                       \
		ct_iowait_begin_aux(&w_, op, -1, CT_IO_CALLER(), (uintptr_t)(fds),         \
				    (n) > UINT32_MAX ? UINT32_MAX : (uint32_t)(n));            \
		int r_ = call;                                                             \
		if (r_ >= 0 && (n) == 1)                                                   \
			w_.fd = (fds)[0].fd;                                               \
		ct_iowait_end(&w_);                                                        \
		if (r_ <= 0 && (n) > 0) /* no fd: a sleep (CT_IO_SLEEP) */                 \
			ct_wait_unwoken(op, r_, errno);                                    \
		return r_;                                                                 \
	} while (0)

/* call, made again for what is left of the timeout t (milliseconds,
 * negative: none) where only our signal handler interrupted it (io.h,
 * CT_RESTART); call names the timeout t_. */
#define CT_POLL_RESTART(call)                                                  \
	({                                                                     \
		int t_ = t;                                                    \
		int64_t t0_ = ct_io_began(t > 0);                              \
		CT_RESTART(int, call, CT_EINTR(rv_), t_ = ct_io_left_ms(t0_, t)); \
	})

/* Likewise for a relative timeout given as a timespec t (NULL: none),
 * which the C library copies and the kernel does not update: read only
 * once the call accepted it. */
#define CT_TS_RESTART(call)                                                          \
	({                                                                           \
		const struct timespec *t_ = t;                                       \
		struct timespec left_;                                               \
		int64_t t0_ = ct_io_began(t != NULL);                                \
		CT_RESTART(int, call, CT_EINTR(rv_), t_ = ct_io_left_ts_or(t0_, t, &left_)); \
	})

/* select: Linux leaves what is left of the timeout in *t. */
#define CT_SELECT_RESTART(call) CT_RESTART(int, call, CT_EINTR(rv_), (void)0)

CT_EXPORT int
poll(struct pollfd *f, nfds_t n, int t)
{
	CT_IO_POLL(CT_OP_POLL, t != 0, f, n, CT_POLL_RESTART(real_poll(f, n, t_)));
}

CT_EXPORT int
__poll(struct pollfd *f, nfds_t n, int t)
{
	CT_IO_POLL(CT_OP_POLL, t != 0, f, n, CT_POLL_RESTART(real___poll(f, n, t_)));
}

CT_EXPORT int
__poll_chk(struct pollfd *f, nfds_t n, int t, size_t fl)
{
	CT_IO_POLL(CT_OP_POLL, t != 0, f, n, CT_POLL_RESTART(real___poll_chk(f, n, t_, fl)));
}

CT_EXPORT int
ppoll(struct pollfd *f, nfds_t n, const struct timespec *t, const sigset_t *s)
{
	CT_IO_POLL(CT_OP_PPOLL, 1, f, n, CT_TS_RESTART(real_ppoll(f, n, t_, s)));
}

CT_EXPORT int
__ppoll_chk(struct pollfd *f, nfds_t n, const struct timespec *t, const sigset_t *s, size_t fl)
{
	CT_IO_POLL(CT_OP_PPOLL, 1, f, n, CT_TS_RESTART(real___ppoll_chk(f, n, t_, s, fl)));
}

/* A select of no descriptor is a sleep (CT_IO_SLEEP). */
CT_EXPORT int
select(int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *t)
{
	if (n <= 0 || (!r && !w && !e))
		CT_IO_SLEEP(int, CT_OP_SELECT, CT_SELECT_RESTART(real_select(n, r, w, e, t)));
	CT_IO_CALL(int, CT_OP_SELECT, -1, CT_SELECT_RESTART(real_select(n, r, w, e, t)));
}

CT_EXPORT int
pselect(int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *t, const sigset_t *s)
{
	if (n <= 0 || (!r && !w && !e))
		CT_IO_SLEEP(int, CT_OP_PSELECT, CT_TS_RESTART(real_pselect(n, r, w, e, t_, s)));
	CT_IO_CALL(int, CT_OP_PSELECT, -1, CT_TS_RESTART(real_pselect(n, r, w, e, t_, s)));
}

CT_EXPORT int
epoll_wait(int ep, struct epoll_event *ev, int m, int t)
{
	CT_IO_WAIT(int, CT_OP_EPOLL_WAIT, ep, t != 0, CT_POLL_RESTART(real_epoll_wait(ep, ev, m, t_)));
}

CT_EXPORT int
epoll_pwait(int ep, struct epoll_event *ev, int m, int t, const sigset_t *s)
{
	CT_IO_WAIT(int, CT_OP_EPOLL_PWAIT, ep, t != 0,
		   CT_POLL_RESTART(real_epoll_pwait(ep, ev, m, t_, s)));
}

CT_EXPORT int
epoll_pwait2(int ep, struct epoll_event *ev, int m, const struct timespec *t, const sigset_t *s)
{
	CT_IO_CALL(int, CT_OP_EPOLL_PWAIT2, ep, CT_TS_RESTART(real_epoll_pwait2(ep, ev, m, t_, s)));
}
