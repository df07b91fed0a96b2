/* Points core's table of wrapped functions (core/sys.h) at the real libc
 * functions. Forwarders rather than copies of the real_* pointers, which
 * may still hold their bootstrap stubs at init (real.h). */
#include "../core/sys.h"
#include "interpose.h"
#include "real.h"

static ssize_t
ct_fwd_read(int fd, void *buf, size_t n)
{
	return real_read(fd, buf, n);
}

static ssize_t
ct_fwd_write(int fd, const void *buf, size_t n)
{
	return real_write(fd, buf, n);
}

static int
ct_fwd_poll(struct pollfd *fds, nfds_t n, int timeout_ms)
{
	return real_poll(fds, n, timeout_ms);
}

static int
ct_fwd_nanosleep(const struct timespec *req, struct timespec *rem)
{
	return real_nanosleep(req, rem);
}

static pid_t
ct_fwd_waitpid(pid_t pid, int *status, int options)
{
	return real_waitpid(pid, status, options);
}

static int
ct_fwd_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	return real_pthread_create(t, attr, fn, arg);
}

static int
ct_fwd_pthread_timedjoin_np(pthread_t t, void **ret, const struct timespec *abstime)
{
	return real_pthread_timedjoin_np(t, ret, abstime);
}

static int
ct_fwd_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	return real_accept4(fd, addr, len, flags);
}

void
ct_interpose_sys_init(void)
{
	static const struct ct_sys real = {
		.read = ct_fwd_read,
		.write = ct_fwd_write,
		.poll = ct_fwd_poll,
		.nanosleep = ct_fwd_nanosleep,
		.waitpid = ct_fwd_waitpid,
		.pthread_create = ct_fwd_pthread_create,
		.pthread_timedjoin_np = ct_fwd_pthread_timedjoin_np,
		.accept4 = ct_fwd_accept4,
	};
	ct_sys_install(&real);
}
