/* Core's own calls to the functions the shim wraps.
 *
 * libcontend.so exports read, write, poll, nanosleep, waitpid,
 * pthread_create ... (interpose/exports.map), so a plain call to one of
 * them from core code would bind to our own wrapper, which records it
 * unless the calling thread holds the guard (core/thread.h). Core code
 * (the dumper thread, the dumps, the log) calls them through this table
 * instead: interpose/sys.c points it at the real libc functions at init
 * (ct_sys_install), before any thread of ours exists; until then, and in
 * programs that link core without the shim (the unit tests), it holds
 * libc's own functions. Core must not include interpose/ (the layering
 * test), hence a table that interpose fills rather than real.h; and that
 * test (tests/layering/check_layers.sh) fails on any call by name from
 * core/ to a function of interpose/wrapped.def.
 *
 * Not in the table: syscall(), whose wrapper passes every number but
 * SYS_futex straight through (core makes no futex calls), and the
 * functions no wrapper exists for (open, close, socket ...). Code in
 * libcontend-report.so keeps plain calls: it runs with the guard held
 * (core/plugin.h), so they pass through the wrappers unrecorded.
 *
 * Each ct_sys_* has the contract of the libc function it stands for
 * (errno, EINTR, async-signal-safety); reading the table is one load. */
#ifndef CT_SYS_H
#define CT_SYS_H

#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

struct ct_sys {
	ssize_t (*read)(int fd, void *buf, size_t n);
	ssize_t (*write)(int fd, const void *buf, size_t n);
	int (*poll)(struct pollfd *fds, nfds_t n, int timeout_ms);
	int (*nanosleep)(const struct timespec *req, struct timespec *rem);
	pid_t (*waitpid)(pid_t pid, int *status, int options);
	int (*pthread_create)(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *),
			      void *arg);
	int (*pthread_timedjoin_np)(pthread_t t, void **ret, const struct timespec *abstime);
	int (*accept4)(int fd, struct sockaddr *addr, socklen_t *len, int flags);
};

/* One per shared object (hidden): libcontend-report.so's copy is never
 * filled and keeps libc's functions. */
extern struct ct_sys ct_sys;

/* From the shim's constructor only, before it starts any thread. */
void ct_sys_install(const struct ct_sys *real);

static inline ssize_t
ct_sys_read(int fd, void *buf, size_t n)
{
	return ct_sys.read(fd, buf, n);
}

static inline ssize_t
ct_sys_write(int fd, const void *buf, size_t n)
{
	return ct_sys.write(fd, buf, n);
}

static inline int
ct_sys_poll(struct pollfd *fds, nfds_t n, int timeout_ms)
{
	return ct_sys.poll(fds, n, timeout_ms);
}

static inline int
ct_sys_nanosleep(const struct timespec *req, struct timespec *rem)
{
	return ct_sys.nanosleep(req, rem);
}

static inline pid_t
ct_sys_waitpid(pid_t pid, int *status, int options)
{
	return ct_sys.waitpid(pid, status, options);
}

static inline int
ct_sys_pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	return ct_sys.pthread_create(t, attr, fn, arg);
}

static inline int
ct_sys_pthread_timedjoin_np(pthread_t t, void **ret, const struct timespec *abstime)
{
	return ct_sys.pthread_timedjoin_np(t, ret, abstime);
}

static inline int
ct_sys_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	return ct_sys.accept4(fd, addr, len, flags);
}

#endif
