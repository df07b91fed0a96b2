/* The wrapped operations: each names the libc function that is the leaf
 * frame of a recorded stack, so report/ can label it without dlsym.
 * Pure data; no state. Safe from any context.
 *
 * Two kinds of entry. X(ID, fn): the op of wrapped function fn (one of
 * interpose/wrapped.def), named "fn"; interpose/init.c takes real_fn as
 * its leaf, so an op naming a function that is not wrapped does not build.
 * N(ID, "name"): an op with a name of its own and no leaf function of that
 * name (the futex ops, whose leaf is syscall; the table-full marker). */
#ifndef CT_OPS_H
#define CT_OPS_H

#define CT_OPS(X, N)                                           \
	X(MUTEX_LOCK, pthread_mutex_lock)                      \
	X(MUTEX_TIMEDLOCK, pthread_mutex_timedlock)            \
	X(MUTEX_CLOCKLOCK, pthread_mutex_clocklock)            \
	X(MUTEX_UNLOCK, pthread_mutex_unlock)                  \
	X(RWLOCK_RDLOCK, pthread_rwlock_rdlock)                \
	X(RWLOCK_WRLOCK, pthread_rwlock_wrlock)                \
	X(RWLOCK_TIMEDRDLOCK, pthread_rwlock_timedrdlock)      \
	X(RWLOCK_TIMEDWRLOCK, pthread_rwlock_timedwrlock)      \
	X(RWLOCK_CLOCKRDLOCK, pthread_rwlock_clockrdlock)      \
	X(RWLOCK_CLOCKWRLOCK, pthread_rwlock_clockwrlock)      \
	X(RWLOCK_UNLOCK, pthread_rwlock_unlock)                \
	X(SPIN_LOCK, pthread_spin_lock)                        \
	X(SPIN_UNLOCK, pthread_spin_unlock)                    \
	X(COND_WAIT, pthread_cond_wait)                        \
	X(COND_TIMEDWAIT, pthread_cond_timedwait)              \
	X(COND_CLOCKWAIT, pthread_cond_clockwait)              \
	X(SEM_WAIT, sem_wait)                                  \
	X(SEM_TIMEDWAIT, sem_timedwait)                        \
	X(SEM_CLOCKWAIT, sem_clockwait)                        \
	X(BARRIER_WAIT, pthread_barrier_wait)                  \
	X(JOIN, pthread_join)                                  \
	X(TIMEDJOIN, pthread_timedjoin_np)                     \
	X(CLOCKJOIN, pthread_clockjoin_np)                     \
	CT_FUTEX_OPS(N)                                        \
	CT_IO_OPS(X)                                           \
	CT_SLEEP_OPS(X)                                        \
	CT_PROC_OPS(X)                                         \
	N(TABLE_FULL, "[libcontend: table full]")

/* Blocking I/O and other waits outside pthreads (CONTEND_IO, see
 * interpose/io.h). One op per libc function as the program's source
 * names it: the _FORTIFY_SOURCE variants (__read_chk) and 64-bit aliases
 * (pread64, fcntl64) share the op of the function they stand for, so
 * `read` is the leaf and the `op` label whichever symbol was linked.
 * Class io: waits for data, a peer or a signal. */
#define CT_IO_OPS(X)                                           \
	X(READ, read)                                          \
	X(READV, readv)                                        \
	X(PREAD, pread)                                        \
	X(PREADV, preadv)                                      \
	X(PREADV2, preadv2)                                    \
	X(WRITE, write)                                        \
	X(WRITEV, writev)                                      \
	X(PWRITE, pwrite)                                      \
	X(PWRITEV, pwritev)                                    \
	X(PWRITEV2, pwritev2)                                  \
	X(RECV, recv)                                          \
	X(RECVFROM, recvfrom)                                  \
	X(RECVMSG, recvmsg)                                    \
	X(RECVMMSG, recvmmsg)                                  \
	X(SEND, send)                                          \
	X(SENDTO, sendto)                                      \
	X(SENDMSG, sendmsg)                                    \
	X(SENDMMSG, sendmmsg)                                  \
	X(ACCEPT, accept)                                      \
	X(ACCEPT4, accept4)                                    \
	X(CONNECT, connect)                                    \
	X(POLL, poll)                                          \
	X(PPOLL, ppoll)                                        \
	X(SELECT, select)                                      \
	X(PSELECT, pselect)                                    \
	X(EPOLL_WAIT, epoll_wait)                              \
	X(EPOLL_PWAIT, epoll_pwait)                            \
	X(EPOLL_PWAIT2, epoll_pwait2)                          \
	X(FSYNC, fsync)                                        \
	X(FDATASYNC, fdatasync)                                \
	X(MSGRCV, msgrcv)                                      \
	X(MSGSND, msgsnd)                                      \
	X(MQ_RECEIVE, mq_receive)                              \
	X(MQ_TIMEDRECEIVE, mq_timedreceive)                    \
	X(MQ_SEND, mq_send)                                    \
	X(MQ_TIMEDSEND, mq_timedsend)                          \
	X(SIGWAIT, sigwait)                                    \
	X(SIGTIMEDWAIT, sigtimedwait)                          \
	X(SIGWAITINFO, sigwaitinfo)                            \
	X(SIGSUSPEND, sigsuspend)                              \
	X(PAUSE, pause)

/* Locks of the program's own that wait and wake through syscall(SYS_futex)
 * (interpose/futex.c). Named after the futex operation, not after
 * syscall(), which would say nothing: the leaf frame and the `op` label
 * read futex_wait / futex_wake. Class sync. */
#define CT_FUTEX_OPS(N)                                        \
	N(FUTEX_WAIT, "futex_wait")                            \
	N(FUTEX_WAKE, "futex_wake")

/* Class sleep: the program asked to wait. */
#define CT_SLEEP_OPS(X)                                        \
	X(NANOSLEEP, nanosleep)                                \
	X(CLOCK_NANOSLEEP, clock_nanosleep)                    \
	X(SLEEP, sleep)                                        \
	X(USLEEP, usleep)

/* Class sync, like the pthread waits: file locks and child processes. */
#define CT_PROC_OPS(X)                                         \
	X(FLOCK, flock)                                        \
	X(FCNTL, fcntl)                                        \
	X(LOCKF, lockf)                                        \
	X(WAIT, wait)                                          \
	X(WAITPID, waitpid)                                    \
	X(WAITID, waitid)                                      \
	X(WAIT3, wait3)                                        \
	X(WAIT4, wait4)

enum ct_op {
#define CT_OP_ENUM(id, name) CT_OP_##id,
	CT_OPS(CT_OP_ENUM, CT_OP_ENUM)
#undef CT_OP_ENUM
	CT_OP_COUNT
};

/* The ops of each kind of lock, as the case labels of a switch
 * (`CT_OP_CASES_COND: return ...;`), stated once for the switches that
 * must stay inline on the wait path (core/threads.c) and the one that
 * names an op's kind (core/lockkind.c). */
#define CT_OP_CASES_MUTEX                                                                        \
	case CT_OP_MUTEX_LOCK:                                                                   \
	case CT_OP_MUTEX_TIMEDLOCK:                                                              \
	case CT_OP_MUTEX_CLOCKLOCK:                                                              \
	case CT_OP_MUTEX_UNLOCK
#define CT_OP_CASES_RWLOCK                                                                       \
	case CT_OP_RWLOCK_RDLOCK:                                                                \
	case CT_OP_RWLOCK_WRLOCK:                                                                \
	case CT_OP_RWLOCK_TIMEDRDLOCK:                                                           \
	case CT_OP_RWLOCK_TIMEDWRLOCK:                                                           \
	case CT_OP_RWLOCK_CLOCKRDLOCK:                                                           \
	case CT_OP_RWLOCK_CLOCKWRLOCK:                                                           \
	case CT_OP_RWLOCK_UNLOCK
#define CT_OP_CASES_SPIN                                                                         \
	case CT_OP_SPIN_LOCK:                                                                    \
	case CT_OP_SPIN_UNLOCK
#define CT_OP_CASES_COND                                                                         \
	case CT_OP_COND_WAIT:                                                                    \
	case CT_OP_COND_TIMEDWAIT:                                                               \
	case CT_OP_COND_CLOCKWAIT
#define CT_OP_CASES_SEM                                                                          \
	case CT_OP_SEM_WAIT:                                                                     \
	case CT_OP_SEM_TIMEDWAIT:                                                                \
	case CT_OP_SEM_CLOCKWAIT
#define CT_OP_CASES_FUTEX                                                                        \
	case CT_OP_FUTEX_WAIT:                                                                   \
	case CT_OP_FUTEX_WAKE

/* Name of the libc function for op ("pthread_mutex_lock"); never NULL. */
const char *ct_op_name(unsigned op);

/* What a wait in op waits for: the `class` label of block samples. */
enum ct_op_class {
	CT_CLASS_NONE, /* not a wait (TABLE_FULL, unknown) */
	CT_CLASS_SYNC, /* locks, condvars, semaphores, barriers, joins, file locks, children */
	CT_CLASS_IO,   /* fds, sockets, IPC messages, signals */
	CT_CLASS_SLEEP,
};

enum ct_op_class ct_op_class(unsigned op);
/* "sync", "io", "sleep", or "" for CT_CLASS_NONE. */
const char *ct_op_class_name(unsigned op);

#endif
