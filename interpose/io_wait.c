/* Wrappers of the waits that are not on data: sleeps, signals, SysV and
 * POSIX message queues, file locks and child processes. glibc's sleep()
 * and usleep() call nanosleep internally, not through the PLT, so they
 * are wrapped themselves (and system(), popen() ... wait for their child
 * out of our sight). Flags that make a call return at once (IPC_NOWAIT,
 * WNOHANG, LOCK_NB, F_TLOCK, a zero sleep) forward untimed. */
#undef _FORTIFY_SOURCE
#undef _FILE_OFFSET_BITS /* meson sets it: our pread must stay pread, not pread64 */
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/file.h>
#include <sys/msg.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "interpose.h"
#include "io.h"

int __nanosleep(const struct timespec *r, struct timespec *m);

/* call (naming r_ and m_) made again for what the kernel left in *m_
 * where only our handler interrupted it (io.h, CT_RESTART). */
#define CT_NANOSLEEP_RESTART(call)                                                         \
	({                                                                                 \
		struct timespec rem_;                                                      \
		const struct timespec *r_ = r;                                             \
		struct timespec *m_ = m ? m : &rem_;                                       \
		CT_RESTART(int, call, CT_EINTR(rv_), r_ = m_);                            \
	})

CT_EXPORT int
nanosleep(const struct timespec *r, struct timespec *m)
{
	CT_IO_CALL(int, CT_OP_NANOSLEEP, -1, CT_NANOSLEEP_RESTART(real_nanosleep(r_, m_)));
}

CT_EXPORT int
__nanosleep(const struct timespec *r, struct timespec *m)
{
	CT_IO_CALL(int, CT_OP_NANOSLEEP, -1, CT_NANOSLEEP_RESTART(real___nanosleep(r_, m_)));
}

CT_EXPORT int
clock_nanosleep(clockid_t c, int f, const struct timespec *r, struct timespec *m)
{
	/* It returns the error; an absolute time stays as it is. */
	CT_IO_CALL(int, CT_OP_CLOCK_NANOSLEEP, -1, ({
			   struct timespec rem_;
			   const struct timespec *r_ = r;
			   struct timespec *m_ = m ? m : &rem_;
			   CT_RESTART(int, real_clock_nanosleep(c, f, r_, m_), rv_ == EINTR,
				      if (!(f & TIMER_ABSTIME)) r_ = m_);
		   }));
}

CT_EXPORT unsigned
sleep(unsigned s)
{
	/* It returns the seconds left when a handler interrupts it (as
	 * glibc's, the whole seconds of what nanosleep left); the rest of
	 * the sleep is a nanosleep. */
	CT_IO_WAIT(unsigned, CT_OP_SLEEP, -1, s != 0, ({
			   int64_t t0_ = ct_io_began(s != 0);
			   bool on_ = __atomic_load_n(&ct_hot.restart_on, __ATOMIC_RELAXED);
			   int e0_ = on_ ? errno : 0;
			   ct_self.sig_intr = 0;
			   unsigned r0_ = real_sleep(s);
			   struct timespec ts_ = {s, 0}, left_;
			   if (on_ && r0_ > 0 && ct_io_intr_ours()) {
				   errno = e0_;
				   ct_io_left_ts(t0_, &ts_, &left_);
				   int n_ = CT_RESTART(int, real_nanosleep(&left_, &left_), CT_EINTR(rv_),
						       (void)0);
				   r0_ = n_ < 0 ? (unsigned)left_.tv_sec : 0;
			   }
			   r0_;
		   }));
}

CT_EXPORT int
usleep(useconds_t u)
{
	CT_IO_WAIT(int, CT_OP_USLEEP, -1, u != 0, ({
			   useconds_t u_ = u;
			   int64_t t0_ = ct_io_began(u != 0);
			   CT_RESTART(int, real_usleep(u_), CT_EINTR(rv_),
				      u_ = ct_io_left_us(t0_, u));
		   }));
}

CT_EXPORT int
sigwait(const sigset_t *s, int *g)
{
	ct_signals_program_waits(s);
	CT_IO_CALL(int, CT_OP_SIGWAIT, -1, real_sigwait(s, g));
}

CT_EXPORT int
sigtimedwait(const sigset_t *s, siginfo_t *i, const struct timespec *t)
{
	ct_signals_program_waits(s);
	CT_IO_CALL(int, CT_OP_SIGTIMEDWAIT, -1, ({
			   const struct timespec *t_ = t;
			   struct timespec left_;
			   int64_t t0_ = ct_io_began(t != NULL);
			   CT_RESTART(int, real_sigtimedwait(s, i, t_), CT_EINTR(rv_),
				      t_ = ct_io_left_ts_or(t0_, t, &left_));
		   }));
}

CT_EXPORT int
sigwaitinfo(const sigset_t *s, siginfo_t *i)
{
	ct_signals_program_waits(s);
	CT_IO_CALL(int, CT_OP_SIGWAITINFO, -1,
		   CT_RESTART(int, real_sigwaitinfo(s, i), CT_EINTR(rv_), (void)0));
}

CT_EXPORT int
sigsuspend(const sigset_t *s)
{
	CT_IO_CALL(int, CT_OP_SIGSUSPEND, -1,
		   CT_RESTART(int, real_sigsuspend(s), CT_EINTR(rv_), (void)0));
}

CT_EXPORT int
pause(void)
{
	CT_IO_CALL(int, CT_OP_PAUSE, -1, CT_RESTART(int, real_pause(), CT_EINTR(rv_), (void)0));
}

CT_EXPORT ssize_t
msgrcv(int id, void *p, size_t n, long t, int f)
{
	CT_IO_WAIT(ssize_t, CT_OP_MSGRCV, -1, !(f & IPC_NOWAIT),
		   CT_RESTART(ssize_t, real_msgrcv(id, p, n, t, f), CT_EINTR(rv_), (void)0));
}

CT_EXPORT int
msgsnd(int id, const void *p, size_t n, int f)
{
	CT_IO_WAIT(int, CT_OP_MSGSND, -1, !(f & IPC_NOWAIT),
		   CT_RESTART(int, real_msgsnd(id, p, n, f), CT_EINTR(rv_), (void)0));
}

CT_EXPORT ssize_t
mq_receive(mqd_t q, char *p, size_t n, unsigned *pr)
{
	CT_IO_CALL(ssize_t, CT_OP_MQ_RECEIVE, q, real_mq_receive(q, p, n, pr));
}

CT_EXPORT ssize_t
mq_timedreceive(mqd_t q, char *p, size_t n, unsigned *pr, const struct timespec *t)
{
	CT_IO_CALL(ssize_t, CT_OP_MQ_TIMEDRECEIVE, q, real_mq_timedreceive(q, p, n, pr, t));
}

CT_EXPORT int
mq_send(mqd_t q, const char *p, size_t n, unsigned pr)
{
	CT_IO_CALL(int, CT_OP_MQ_SEND, q, real_mq_send(q, p, n, pr));
}

CT_EXPORT int
mq_timedsend(mqd_t q, const char *p, size_t n, unsigned pr, const struct timespec *t)
{
	CT_IO_CALL(int, CT_OP_MQ_TIMEDSEND, q, real_mq_timedsend(q, p, n, pr, t));
}

CT_EXPORT int
flock(int fd, int op)
{
	CT_IO_WAIT(int, CT_OP_FLOCK, fd, !(op & LOCK_NB) && (op & (LOCK_SH | LOCK_EX)),
		   real_flock(fd, op));
}

static inline bool
ct_fcntl_waits(int cmd)
{
#if defined(F_SETLKW64) && F_SETLKW64 != F_SETLKW
	if (cmd == F_SETLKW64)
		return true;
#endif
	return cmd == F_SETLKW || cmd == F_OFD_SETLKW;
}

/* The body of fcntl and fcntl64 (fd, cmd, ...). glibc reads the optional
 * argument as one pointer-sized word whatever the command
 * (io/fcntl64.c); so do we. */
#define CT_FCNTL(real)                                                                     \
	do {                                                                               \
		va_list ap;                                                                \
		va_start(ap, cmd);                                                         \
		void *arg = va_arg(ap, void *);                                            \
		va_end(ap);                                                                \
		CT_IO_WAIT(int, CT_OP_FCNTL, fd, ct_fcntl_waits(cmd), real(fd, cmd, arg)); \
	} while (0)

CT_EXPORT int
fcntl(int fd, int cmd, ...)
{
	CT_FCNTL(real_fcntl);
}

CT_EXPORT int
fcntl64(int fd, int cmd, ...)
{
	CT_FCNTL(real_fcntl64);
}

CT_EXPORT int
lockf(int fd, int cmd, off_t len)
{
	CT_IO_WAIT(int, CT_OP_LOCKF, fd, cmd == F_LOCK, real_lockf(fd, cmd, len));
}

CT_EXPORT int
lockf64(int fd, int cmd, off64_t len)
{
	CT_IO_WAIT(int, CT_OP_LOCKF, fd, cmd == F_LOCK, real_lockf64(fd, cmd, len));
}

CT_EXPORT pid_t
wait(int *s)
{
	CT_IO_CALL(pid_t, CT_OP_WAIT, -1, real_wait(s));
}

CT_EXPORT pid_t
waitpid(pid_t p, int *s, int o)
{
	CT_IO_WAIT(pid_t, CT_OP_WAITPID, -1, !(o & WNOHANG), real_waitpid(p, s, o));
}

CT_EXPORT int
waitid(idtype_t t, id_t id, siginfo_t *i, int o)
{
	CT_IO_WAIT(int, CT_OP_WAITID, -1, !(o & WNOHANG), real_waitid(t, id, i, o));
}

CT_EXPORT pid_t
wait3(int *s, int o, struct rusage *r)
{
	CT_IO_WAIT(pid_t, CT_OP_WAIT3, -1, !(o & WNOHANG), real_wait3(s, o, r));
}

CT_EXPORT pid_t
wait4(pid_t p, int *s, int o, struct rusage *r)
{
	CT_IO_WAIT(pid_t, CT_OP_WAIT4, -1, !(o & WNOHANG), real_wait4(p, s, o, r));
}
