/* Pointers to the real libc functions behind the wrappers.
 *
 * Each real_<name> starts out pointing at a bootstrap stub that resolves
 * every pointer (dlsym(RTLD_NEXT), condvars by version: BZ 14932) and then
 * forwards, so wrappers never test for NULL on the fast path and a lock
 * taken by another library's constructor before ours still works. If the
 * resolution re-enters itself on the same thread (dlsym -> malloc ->
 * pthread_mutex_lock with an interposed allocator), the stubs of the lock
 * functions fall back to glibc's own __pthread_* aliases. A function libc
 * lacks answers ENOSYS. Only interpose/ sees these. */
#ifndef CT_INTERPOSE_REAL_H
#define CT_INTERPOSE_REAL_H

#include <mqueue.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* X(return type, name, parameters, arguments, versioned) */
#define CT_REAL_FUNCS(X)                                                                         \
	X(int, pthread_mutex_lock, (pthread_mutex_t * m), (m), 0)                                \
	X(int, pthread_mutex_trylock, (pthread_mutex_t * m), (m), 0)                             \
	X(int, pthread_mutex_timedlock, (pthread_mutex_t * m, const struct timespec *t), (m, t), 0) \
	X(int, pthread_mutex_clocklock, (pthread_mutex_t * m, clockid_t c, const struct timespec *t), \
	  (m, c, t), 0)                                                                          \
	X(int, pthread_mutex_unlock, (pthread_mutex_t * m), (m), 0)                              \
	X(int, pthread_rwlock_rdlock, (pthread_rwlock_t * l), (l), 0)                            \
	X(int, pthread_rwlock_wrlock, (pthread_rwlock_t * l), (l), 0)                            \
	X(int, pthread_rwlock_tryrdlock, (pthread_rwlock_t * l), (l), 0)                         \
	X(int, pthread_rwlock_trywrlock, (pthread_rwlock_t * l), (l), 0)                         \
	X(int, pthread_rwlock_timedrdlock, (pthread_rwlock_t * l, const struct timespec *t), (l, t), 0) \
	X(int, pthread_rwlock_timedwrlock, (pthread_rwlock_t * l, const struct timespec *t), (l, t), 0) \
	X(int, pthread_rwlock_clockrdlock, (pthread_rwlock_t * l, clockid_t c, const struct timespec *t), \
	  (l, c, t), 0)                                                                          \
	X(int, pthread_rwlock_clockwrlock, (pthread_rwlock_t * l, clockid_t c, const struct timespec *t), \
	  (l, c, t), 0)                                                                          \
	X(int, pthread_rwlock_unlock, (pthread_rwlock_t * l), (l), 0)                            \
	X(int, pthread_spin_lock, (pthread_spinlock_t * s), (s), 0)                              \
	X(int, pthread_spin_unlock, (pthread_spinlock_t * s), (s), 0)                            \
	X(int, pthread_cond_wait, (pthread_cond_t * c, pthread_mutex_t * m), (c, m), 1)           \
	X(int, pthread_cond_timedwait, (pthread_cond_t * c, pthread_mutex_t * m, const struct timespec *t), \
	  (c, m, t), 1)                                                                          \
	X(int, pthread_cond_clockwait,                                                           \
	  (pthread_cond_t * c, pthread_mutex_t * m, clockid_t k, const struct timespec *t), (c, m, k, t), 0) \
	X(int, sem_wait, (sem_t * s), (s), 0)                                                    \
	X(int, sem_timedwait, (sem_t * s, const struct timespec *t), (s, t), 0)                   \
	X(int, sem_clockwait, (sem_t * s, clockid_t c, const struct timespec *t), (s, c, t), 0)   \
	X(int, pthread_barrier_wait, (pthread_barrier_t * b), (b), 0)                            \
	X(int, pthread_join, (pthread_t t, void **r), (t, r), 0)                                 \
	X(int, pthread_tryjoin_np, (pthread_t t, void **r), (t, r), 0)                           \
	X(int, pthread_timedjoin_np, (pthread_t t, void **r, const struct timespec *a), (t, r, a), 0) \
	X(int, pthread_clockjoin_np, (pthread_t t, void **r, clockid_t c, const struct timespec *a), \
	  (t, r, c, a), 0)                                                                       \
	X(int, pthread_create,                                                                   \
	  (pthread_t * t, const pthread_attr_t *a, void *(*f)(void *), void *arg), (t, a, f, arg), 0) \
	X(int, pthread_detach, (pthread_t t), (t), 0)                                            \
	X(int, sigaction, (int s, const struct sigaction *a, struct sigaction *o), (s, a, o), 0)  \
	X(__sighandler_t, signal, (int s, __sighandler_t h), (s, h), 0)                          \
	X(__sighandler_t, __sysv_signal, (int s, __sighandler_t h), (s, h), 0)                   \
	X(__sighandler_t, sigset, (int s, __sighandler_t h), (s, h), 0)                          \
	/* syscall is variadic: glibc's reads six words whatever the number */                 \
	X(long, syscall, (long n, long a, long b, long c, long d, long e, long f),               \
	  (n, a, b, c, d, e, f), 0)                                                              \
	X(pid_t, _Fork, (void), (), 0)                                                           \
	CT_REAL_IO_FUNCS(X)

/* Blocking I/O, sleeps and process waits (interpose/io*.c), with the
 * _FORTIFY_SOURCE (__read_chk ...) and 64-bit (pread64 ...) names that
 * binaries link, each resolved by its own name. */
#define CT_REAL_IO_FUNCS(X)                                                                      \
	X(ssize_t, read, (int fd, void *b, size_t n), (fd, b, n), 0)                             \
	X(ssize_t, __read_chk, (int fd, void *b, size_t n, size_t bl), (fd, b, n, bl), 0)        \
	X(ssize_t, readv, (int fd, const struct iovec *v, int c), (fd, v, c), 0)                 \
	X(ssize_t, pread, (int fd, void *b, size_t n, off_t o), (fd, b, n, o), 0)                \
	X(ssize_t, pread64, (int fd, void *b, size_t n, off64_t o), (fd, b, n, o), 0)            \
	X(ssize_t, __pread_chk, (int fd, void *b, size_t n, off_t o, size_t bl), (fd, b, n, o, bl), 0) \
	X(ssize_t, __pread64_chk, (int fd, void *b, size_t n, off64_t o, size_t bl),             \
	  (fd, b, n, o, bl), 0)                                                                  \
	X(ssize_t, preadv, (int fd, const struct iovec *v, int c, off_t o), (fd, v, c, o), 0)    \
	X(ssize_t, preadv64, (int fd, const struct iovec *v, int c, off64_t o), (fd, v, c, o), 0) \
	X(ssize_t, preadv2, (int fd, const struct iovec *v, int c, off_t o, int f), (fd, v, c, o, f), 0) \
	X(ssize_t, preadv64v2, (int fd, const struct iovec *v, int c, off64_t o, int f),         \
	  (fd, v, c, o, f), 0)                                                                   \
	X(ssize_t, write, (int fd, const void *b, size_t n), (fd, b, n), 0)                      \
	X(ssize_t, writev, (int fd, const struct iovec *v, int c), (fd, v, c), 0)                \
	X(ssize_t, pwrite, (int fd, const void *b, size_t n, off_t o), (fd, b, n, o), 0)         \
	X(ssize_t, pwrite64, (int fd, const void *b, size_t n, off64_t o), (fd, b, n, o), 0)     \
	X(ssize_t, pwritev, (int fd, const struct iovec *v, int c, off_t o), (fd, v, c, o), 0)   \
	X(ssize_t, pwritev64, (int fd, const struct iovec *v, int c, off64_t o), (fd, v, c, o), 0) \
	X(ssize_t, pwritev2, (int fd, const struct iovec *v, int c, off_t o, int f), (fd, v, c, o, f), 0) \
	X(ssize_t, pwritev64v2, (int fd, const struct iovec *v, int c, off64_t o, int f),        \
	  (fd, v, c, o, f), 0)                                                                   \
	X(ssize_t, recv, (int fd, void *b, size_t n, int f), (fd, b, n, f), 0)                   \
	X(ssize_t, __recv_chk, (int fd, void *b, size_t n, size_t bl, int f), (fd, b, n, bl, f), 0) \
	X(ssize_t, recvfrom, (int fd, void *b, size_t n, int f, __SOCKADDR_ARG a, socklen_t *l),  \
	  (fd, b, n, f, a, l), 0)                                                                \
	X(ssize_t, __recvfrom_chk,                                                               \
	  (int fd, void *b, size_t n, size_t bl, int f, __SOCKADDR_ARG a, socklen_t *l),          \
	  (fd, b, n, bl, f, a, l), 0)                                                            \
	X(ssize_t, recvmsg, (int fd, struct msghdr *m, int f), (fd, m, f), 0)                    \
	X(int, recvmmsg, (int fd, struct mmsghdr *v, unsigned n, int f, struct timespec *t),     \
	  (fd, v, n, f, t), 0)                                                                   \
	X(ssize_t, send, (int fd, const void *b, size_t n, int f), (fd, b, n, f), 0)             \
	X(ssize_t, sendto, (int fd, const void *b, size_t n, int f, __CONST_SOCKADDR_ARG a, socklen_t l), \
	  (fd, b, n, f, a, l), 0)                                                                \
	X(ssize_t, sendmsg, (int fd, const struct msghdr *m, int f), (fd, m, f), 0)              \
	X(int, sendmmsg, (int fd, struct mmsghdr *v, unsigned n, int f), (fd, v, n, f), 0)       \
	X(int, accept, (int fd, __SOCKADDR_ARG a, socklen_t *l), (fd, a, l), 0)                  \
	X(int, accept4, (int fd, __SOCKADDR_ARG a, socklen_t *l, int f), (fd, a, l, f), 0)       \
	X(int, connect, (int fd, __CONST_SOCKADDR_ARG a, socklen_t l), (fd, a, l), 0)            \
	X(int, poll, (struct pollfd * f, nfds_t n, int t), (f, n, t), 0)                         \
	X(int, __poll, (struct pollfd * f, nfds_t n, int t), (f, n, t), 0)                       \
	X(int, __poll_chk, (struct pollfd * f, nfds_t n, int t, size_t fl), (f, n, t, fl), 0)    \
	X(int, ppoll, (struct pollfd * f, nfds_t n, const struct timespec *t, const sigset_t *s), \
	  (f, n, t, s), 0)                                                                       \
	X(int, __ppoll_chk,                                                                      \
	  (struct pollfd * f, nfds_t n, const struct timespec *t, const sigset_t *s, size_t fl),  \
	  (f, n, t, s, fl), 0)                                                                   \
	X(int, select, (int n, fd_set *r, fd_set *w, fd_set *e, struct timeval *t), (n, r, w, e, t), 0) \
	X(int, pselect,                                                                          \
	  (int n, fd_set *r, fd_set *w, fd_set *e, const struct timespec *t, const sigset_t *s),  \
	  (n, r, w, e, t, s), 0)                                                                 \
	X(int, epoll_wait, (int ep, struct epoll_event *ev, int m, int t), (ep, ev, m, t), 0)    \
	X(int, epoll_pwait, (int ep, struct epoll_event *ev, int m, int t, const sigset_t *s),   \
	  (ep, ev, m, t, s), 0)                                                                  \
	X(int, epoll_pwait2,                                                                     \
	  (int ep, struct epoll_event *ev, int m, const struct timespec *t, const sigset_t *s),   \
	  (ep, ev, m, t, s), 0)                                                                  \
	X(int, fsync, (int fd), (fd), 0)                                                         \
	X(int, fdatasync, (int fd), (fd), 0)                                                     \
	X(ssize_t, msgrcv, (int id, void *p, size_t n, long t, int f), (id, p, n, t, f), 0)      \
	X(int, msgsnd, (int id, const void *p, size_t n, int f), (id, p, n, f), 0)               \
	X(ssize_t, mq_receive, (mqd_t q, char *p, size_t n, unsigned *pr), (q, p, n, pr), 0)     \
	X(ssize_t, mq_timedreceive,                                                              \
	  (mqd_t q, char *p, size_t n, unsigned *pr, const struct timespec *t), (q, p, n, pr, t), 0) \
	X(int, mq_send, (mqd_t q, const char *p, size_t n, unsigned pr), (q, p, n, pr), 0)       \
	X(int, mq_timedsend, (mqd_t q, const char *p, size_t n, unsigned pr, const struct timespec *t), \
	  (q, p, n, pr, t), 0)                                                                   \
	X(int, sigwait, (const sigset_t *s, int *g), (s, g), 0)                                  \
	X(int, sigtimedwait, (const sigset_t *s, siginfo_t *i, const struct timespec *t), (s, i, t), 0) \
	X(int, sigwaitinfo, (const sigset_t *s, siginfo_t *i), (s, i), 0)                        \
	X(int, sigsuspend, (const sigset_t *s), (s), 0)                                          \
	X(int, pause, (void), (), 0)                                                             \
	X(int, nanosleep, (const struct timespec *r, struct timespec *m), (r, m), 0)             \
	X(int, __nanosleep, (const struct timespec *r, struct timespec *m), (r, m), 0)           \
	X(int, clock_nanosleep, (clockid_t c, int f, const struct timespec *r, struct timespec *m), \
	  (c, f, r, m), 0)                                                                       \
	X(unsigned, sleep, (unsigned s), (s), 0)                                                 \
	X(int, usleep, (useconds_t u), (u), 0)                                                   \
	X(int, flock, (int fd, int op), (fd, op), 0)                                             \
	/* fcntl is variadic; glibc reads its third argument as one word */                     \
	X(int, fcntl, (int fd, int cmd, void *arg), (fd, cmd, arg), 0)                           \
	X(int, fcntl64, (int fd, int cmd, void *arg), (fd, cmd, arg), 0)                         \
	X(int, lockf, (int fd, int cmd, off_t len), (fd, cmd, len), 0)                           \
	X(int, lockf64, (int fd, int cmd, off64_t len), (fd, cmd, len), 0)                       \
	X(pid_t, wait, (int *s), (s), 0)                                                         \
	X(pid_t, waitpid, (pid_t p, int *s, int o), (p, s, o), 0)                                \
	X(int, waitid, (idtype_t t, id_t id, siginfo_t *i, int o), (t, id, i, o), 0)             \
	X(pid_t, wait3, (int *s, int o, struct rusage *r), (s, o, r), 0)                         \
	X(pid_t, wait4, (pid_t p, int *s, int o, struct rusage *r), (p, s, o, r), 0)

#define CT_REAL_DECL(ret, name, params, args, versioned) extern ret(*real_##name) params;
CT_REAL_FUNCS(CT_REAL_DECL)
#undef CT_REAL_DECL

/* Resolves every real_* pointer once; idempotent and thread-safe. */
void ct_real_resolve(void);

/* The shim's lazy, idempotent initialisation (constructor or first slow
 * path before it). Defined in init.c. */
void ct_init_once(void);

/* Fork child (core/fork.h, CT_LOCK_REAL_RESOLVE): a resolution under way
 * on another thread becomes "unresolved". Async-signal-safe. */
void ct_real_fork_child(void);
#ifdef CT_TEST_SEAMS
void ct_real_test_hold(long hold_us);
#endif

#endif
