/* fd classification; see fdkind.h. Pure functions over system calls that
 * do not allocate: linked into both libcontend.so and the report library. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "compiler.h"
#include "fdkind.h"
#include "sys.h"

#define CT_FD_NAME(id, name) name,
CT_NAME_LOOKUP(ct_fdkind_name, CT_FD_KIND_COUNT, "", CT_FD_KINDS(CT_FD_NAME))
#undef CT_FD_NAME

/* Terminals by major number (Documentation/admin-guide/devices.txt): 3 old
 * BSD pty slaves, 4 virtual consoles and serial ports, 5 /dev/tty,
 * /dev/console and /dev/ptmx, 136-143 Unix98 pty slaves. */
static int
ct_is_tty_major(unsigned maj)
{
	return maj == 3 || maj == 4 || maj == 5 || (maj >= 136 && maj <= 143);
}

ssize_t
ct_fd_link(int fd, char *buf, size_t size)
{
	char path[40] = "/proc/self/fd/", digits[12];
	size_t nd = 0, len = strlen(path);
	if (fd < 0 || size < 2)
		return -1;
	for (unsigned v = (unsigned)fd; nd == 0 || v; v /= 10)
		digits[nd++] = (char)('0' + v % 10);
	while (nd)
		path[len++] = digits[--nd];
	path[len] = 0;
	ssize_t n = readlink(path, buf, size - 1);
	if (n < 0 || (size_t)n >= size - 1)
		return -1;
	buf[n] = 0;
	return n;
}

/* "anon_inode:[eventfd]", "anon_inode:inotify", "anon_inode:bpf-map" */
static enum ct_fd_kind
ct_anon_kind(int fd)
{
	static const struct {
		const char *tag;
		enum ct_fd_kind kind;
	} tags[] = {
		{"eventfd", CT_FD_EVENTFD},   {"timerfd", CT_FD_TIMERFD},
		{"signalfd", CT_FD_SIGNALFD}, {"eventpoll", CT_FD_EPOLL},
		{"inotify", CT_FD_INOTIFY},   {"fanotify", CT_FD_FANOTIFY},
		{"pidfd", CT_FD_PIDFD},       {"io_uring", CT_FD_IO_URING},
		{"userfaultfd", CT_FD_USERFAULTFD}, {"perf_event", CT_FD_PERF_EVENT},
		{"bpf", CT_FD_BPF},
	};
	char target[64];
	if (ct_fd_link(fd, target, sizeof(target)) <= 0)
		return CT_FD_UNKNOWN;
	if (strncmp(target, "anon_inode:", 11) != 0)
		return CT_FD_UNKNOWN;
	const char *t = target + 11;
	if (*t == '[')
		t++;
	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
		if (strncmp(t, tags[i].tag, strlen(tags[i].tag)) == 0)
			return tags[i].kind;
	return CT_FD_ANON;
}

enum ct_fd_kind
ct_fdkind_classify(int fd)
{
	int saved = errno;
	struct stat st;
	enum ct_fd_kind k = CT_FD_UNKNOWN;
	if (fd < 0 || fstat(fd, &st) != 0)
		goto out;
	switch (st.st_mode & S_IFMT) {
	case S_IFSOCK:
		k = CT_FD_SOCKET;
		break;
	case S_IFIFO:
		k = CT_FD_PIPE;
		break;
	case S_IFREG:
		k = CT_FD_FILE;
		break;
	case S_IFDIR:
		k = CT_FD_DIR;
		break;
	case S_IFBLK:
		k = CT_FD_BLK;
		break;
	case S_IFCHR:
		k = ct_is_tty_major(major(st.st_rdev)) ? CT_FD_TTY : CT_FD_CHR;
		break;
	default:
		/* Anonymous inodes have no file type bits. */
		k = ct_anon_kind(fd);
		break;
	}
out:
	errno = saved;
	return k;
}

ssize_t
ct_fdinfo_read(int fd, char *buf, size_t size)
{
	char path[48];
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	return ct_sys_read_file(path, buf, size);
}
