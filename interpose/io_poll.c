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

CT_EXPORT int
poll(struct pollfd *f, nfds_t n, int t)
{
	CT_IO_POLL(CT_OP_POLL, t != 0, f, n, real_poll(f, n, t));
}

CT_EXPORT int
__poll(struct pollfd *f, nfds_t n, int t)
{
	CT_IO_POLL(CT_OP_POLL, t != 0, f, n, real___poll(f, n, t));
}

CT_EXPORT int
__poll_chk(struct pollfd *f, nfds_t n, int t, size_t fl)
{
	CT_IO_POLL(CT_OP_POLL, t != 0, f, n, real___poll_chk(f, n, t, fl));
}

CT_EXPORT int
ppoll(struct pollfd *f, nfds_t n, const struct timespec *t, const sigset_t *s)
{
	CT_IO_POLL(CT_OP_PPOLL, 1, f, n, real_ppoll(f, n, t, s));
}

CT_EXPORT int
__ppoll_chk(struct pollfd *f, nfds_t n, const struct timespec *t, const sigset_t *s, size_t fl)
{
	CT_IO_POLL(CT_OP_PPOLL, 1, f, n, real___ppoll_chk(f, n, t, s, fl));
}

/* A select of no descriptor is a sleep (CT_IO_SLEEP). */
CT_EXPORT int
select(int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *t)
{
	if (n <= 0 || (!r && !w && !e))
		CT_IO_SLEEP(int, CT_OP_SELECT, real_select(n, r, w, e, t));
	CT_IO_CALL(int, CT_OP_SELECT, -1, real_select(n, r, w, e, t));
}

CT_EXPORT int
pselect(int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *t, const sigset_t *s)
{
	if (n <= 0 || (!r && !w && !e))
		CT_IO_SLEEP(int, CT_OP_PSELECT, real_pselect(n, r, w, e, t, s));
	CT_IO_CALL(int, CT_OP_PSELECT, -1, real_pselect(n, r, w, e, t, s));
}

CT_EXPORT int
epoll_wait(int ep, struct epoll_event *ev, int m, int t)
{
	CT_IO_WAIT(int, CT_OP_EPOLL_WAIT, ep, t != 0, real_epoll_wait(ep, ev, m, t));
}

CT_EXPORT int
epoll_pwait(int ep, struct epoll_event *ev, int m, int t, const sigset_t *s)
{
	CT_IO_WAIT(int, CT_OP_EPOLL_PWAIT, ep, t != 0, real_epoll_pwait(ep, ev, m, t, s));
}

CT_EXPORT int
epoll_pwait2(int ep, struct epoll_event *ev, int m, const struct timespec *t, const sigset_t *s)
{
	CT_IO_CALL(int, CT_OP_EPOLL_PWAIT2, ep, real_epoll_pwait2(ep, ev, m, t, s));
}
