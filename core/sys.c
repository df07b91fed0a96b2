/* The table of core/sys.h, holding libc's own functions until the shim
 * installs the real ones. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <termios.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sys.h"

struct ct_sys ct_sys = {
#define CT_SYS_LIBC(name) .name = name,
	CT_SYS_FUNCS(CT_SYS_LIBC)
#undef CT_SYS_LIBC
};

void
ct_sys_install(const struct ct_sys *real)
{
	ct_sys = *real;
}

/* The kernel's sigset_t: the size rt_sigprocmask and friends take. */
#define CT_KSIGSET_SIZE (_NSIG / 8)

/* Whether writing len more bytes to the regular file fd (st) would take
 * it past RLIMIT_FSIZE: at its offset, or at its end when it appends. */
static bool
ct_sys_past_fsize(int fd, const struct stat *st, size_t len)
{
	struct rlimit rl;
	if (syscall(SYS_prlimit64, 0, RLIMIT_FSIZE, NULL, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return false;
	/* syscall(): fcntl is one of the wrapped functions. */
	long fl = syscall(SYS_fcntl, fd, F_GETFL);
	off_t pos = fl >= 0 && (fl & O_APPEND) ? st->st_size : lseek(fd, 0, SEEK_CUR);
	return pos < 0 || (unsigned long long)pos + len > (unsigned long long)rl.rlim_cur;
}

/* Whether a write to the terminal fd would stop the process with SIGTTOU
 * (`stty tostop`, and this process in a background group of the session
 * whose controlling terminal fd is): the kernel's rule, which lets the
 * write through where SIGTTOU is ignored or blocked. */
static bool
ct_sys_tty_would_stop(int fd)
{
	struct termios t;
	pid_t fg;
	if (syscall(SYS_ioctl, fd, TCGETS, &t) != 0 || !(t.c_lflag & TOSTOP) ||
	    syscall(SYS_ioctl, fd, TIOCGPGRP, &fg) != 0 || fg == getpgrp())
		return false;
	/* The kernel's struct sigaction starts with the handler. */
	void *act[4] = {NULL};
	sigset_t mask;
	if (syscall(SYS_rt_sigaction, SIGTTOU, NULL, act, CT_KSIGSET_SIZE) != 0 ||
	    act[0] == (void *)SIG_IGN)
		return false;
	sigemptyset(&mask);
	return syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &mask, CT_KSIGSET_SIZE) != 0 ||
	       !sigismember(&mask, SIGTTOU);
}

ssize_t
ct_sys_write_quiet(int fd, const void *buf, size_t len)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return -1;
	if (S_ISCHR(st.st_mode) && ct_sys_tty_would_stop(fd)) {
		errno = EIO;
		return -1;
	}
	/* Nor does a socket block for want of room (MSG_DONTWAIT). */
	if (S_ISSOCK(st.st_mode))
		return syscall(SYS_sendto, fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT, NULL, 0);
	if (S_ISREG(st.st_mode) && ct_sys_past_fsize(fd, &st, len)) {
		errno = EFBIG;
		return -1;
	}
	if (!S_ISFIFO(st.st_mode))
		return ct_sys_write(fd, buf, len);
	/* A pipe without room would block the thread until its reader reads,
	 * which one that waits for the program's exit before reading never
	 * does: the program, which wrote nothing there, would hang. */
	int room = (int)syscall(SYS_fcntl, fd, F_GETPIPE_SZ), queued = 0;
	if (room > 0 && syscall(SYS_ioctl, fd, FIONREAD, &queued) == 0 &&
	    (size_t)queued + len > (size_t)room) {
		errno = EAGAIN;
		return -1;
	}
	/* SIGPIPE blocked around the write, and the one it raised (sent to
	 * this thread) taken back before it is unblocked. */
	sigset_t pipe_only, old, pending;
	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	if (syscall(SYS_rt_sigprocmask, SIG_BLOCK, &pipe_only, &old, CT_KSIGSET_SIZE) != 0)
		return ct_sys_write(fd, buf, len);
	sigemptyset(&pending);
	bool had = syscall(SYS_rt_sigpending, &pending, CT_KSIGSET_SIZE) == 0 &&
		   sigismember(&pending, SIGPIPE);
	ssize_t w = ct_sys_write(fd, buf, len);
	int err = errno;
	if (w < 0 && err == EPIPE && !had) {
		struct timespec zero = {0, 0};
		(void)syscall(SYS_rt_sigtimedwait, &pipe_only, NULL, &zero, CT_KSIGSET_SIZE);
	}
	syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, CT_KSIGSET_SIZE);
	errno = err;
	return w;
}

size_t
ct_sys_peek(uintptr_t addr, void *buf, size_t len)
{
	int saved = errno;
	struct iovec local = {buf, len}, remote = {(void *)addr, len};
	ssize_t got = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	errno = saved;
	return got > 0 ? (size_t)got : 0;
}

ssize_t
ct_sys_read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = ct_sys_read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return n;
}

/* Far enough below the limit that a program raising its own descriptors
 * to just under it (a reserve for emergencies) finds room; at most 1024,
 * so that the kernel's table of a process with a high limit is not
 * grown to it (a fork copies it). */
#define CT_FD_HIGH_CAP 1024
#define CT_FD_HIGH_MARGIN 64

int
ct_sys_fd_high(int fd)
{
	struct rlimit rl;
	long top = CT_FD_HIGH_CAP;
	if (syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, NULL, &rl) == 0 && rl.rlim_cur < (rlim_t)top)
		top = (long)rl.rlim_cur;
	long want = top - CT_FD_HIGH_MARGIN;
	if (fd < 0 || want <= fd)
		return fd;
	/* syscall(): fcntl is one of the wrapped functions (sys.h). */
	long fl = syscall(SYS_fcntl, fd, F_GETFD);
	if (fl < 0)
		return fd;
	long nfd = syscall(SYS_fcntl, fd, (fl & FD_CLOEXEC) ? F_DUPFD_CLOEXEC : F_DUPFD, want);
	if (nfd < 0)
		return fd;
	close(fd);
	return (int)nfd;
}
