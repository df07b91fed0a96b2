/* ct_log: see log.h. Never uses stdio (the program's buffers and locks are
 * not ours to touch). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"
#include "sys.h"

/* Whether fd 2 may take our line. A program that closed its stderr may
 * have got descriptor 2 back for a file of its own (SQLite refuses to
 * open a database there for this reason): a regular file open for
 * reading and writing is taken for such a file, not a log, and left
 * alone. Not a pipe, a terminal or a file opened for writing only
 * (`2>log`, `2>>log`). Nor a network connection: an inetd-style service
 * (inetd, systemd's Accept=yes with StandardError=socket) has its
 * client's socket as stderr, where a line of ours would be in the
 * middle of the program's protocol; a Unix socket (journald's) is a log. */
static bool
ct_log_fd_ok(void)
{
	/* syscall(): fcntl is one of the wrapped functions (sys.h). */
	int fl = (int)syscall(SYS_fcntl, STDERR_FILENO, F_GETFL);
	if (fl < 0 || (fl & O_ACCMODE) == O_RDONLY)
		return false;
	struct stat st;
	if (fstat(STDERR_FILENO, &st) != 0)
		return true;
	if (S_ISSOCK(st.st_mode)) {
		int domain = 0;
		socklen_t len = sizeof(domain);
		return getsockopt(STDERR_FILENO, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 ||
		       (domain != AF_INET && domain != AF_INET6);
	}
	return (fl & O_ACCMODE) != O_RDWR || !S_ISREG(st.st_mode);
}

void
ct_log(const char *fmt, ...)
{
	char buf[512];
	int saved = errno;
	if (!ct_log_fd_ok()) {
		errno = saved;
		return;
	}
	size_t pre = strlen("libcontend: ");
	memcpy(buf, "libcontend: ", pre);
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + pre, sizeof(buf) - pre - 1, fmt, ap);
	va_end(ap);
	size_t len = pre + (n < 0 ? 0 : (size_t)n);
	if (len > sizeof(buf) - 2)
		len = sizeof(buf) - 2;
	buf[len++] = '\n';
	for (size_t off = 0; off < len;) {
		ssize_t w = ct_sys_write_quiet(STDERR_FILENO, buf + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	errno = saved;
}
