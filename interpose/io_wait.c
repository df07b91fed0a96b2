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

CT_EXPORT int
nanosleep(const struct timespec *r, struct timespec *m)
{
	CT_IO_CALL(int, CT_OP_NANOSLEEP, -1, real_nanosleep(r, m));
}

CT_EXPORT int
__nanosleep(const struct timespec *r, struct timespec *m)
{
	CT_IO_CALL(int, CT_OP_NANOSLEEP, -1, real___nanosleep(r, m));
}

CT_EXPORT int
clock_nanosleep(clockid_t c, int f, const struct timespec *r, struct timespec *m)
{
	CT_IO_CALL(int, CT_OP_CLOCK_NANOSLEEP, -1, real_clock_nanosleep(c, f, r, m));
}

CT_EXPORT unsigned
sleep(unsigned s)
{
	CT_IO_WAIT(unsigned, CT_OP_SLEEP, -1, s != 0, real_sleep(s));
}

CT_EXPORT int
usleep(useconds_t u)
{
	CT_IO_WAIT(int, CT_OP_USLEEP, -1, u != 0, real_usleep(u));
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
	CT_IO_CALL(int, CT_OP_SIGTIMEDWAIT, -1, real_sigtimedwait(s, i, t));
}

CT_EXPORT int
sigwaitinfo(const sigset_t *s, siginfo_t *i)
{
	ct_signals_program_waits(s);
	CT_IO_CALL(int, CT_OP_SIGWAITINFO, -1, real_sigwaitinfo(s, i));
}

CT_EXPORT int
sigsuspend(const sigset_t *s)
{
	CT_IO_CALL(int, CT_OP_SIGSUSPEND, -1, real_sigsuspend(s));
}

CT_EXPORT int
pause(void)
{
	CT_IO_CALL(int, CT_OP_PAUSE, -1, real_pause());
}

CT_EXPORT ssize_t
msgrcv(int id, void *p, size_t n, long t, int f)
{
	CT_IO_WAIT(ssize_t, CT_OP_MSGRCV, -1, !(f & IPC_NOWAIT), real_msgrcv(id, p, n, t, f));
}

CT_EXPORT int
msgsnd(int id, const void *p, size_t n, int f)
{
	CT_IO_WAIT(int, CT_OP_MSGSND, -1, !(f & IPC_NOWAIT), real_msgsnd(id, p, n, f));
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
