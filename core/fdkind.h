/* What kind of file an fd is, for the fd_kind label of I/O waits and the
 * thread dump ("[read fd 7 (pipe), 5 minutes]").
 *
 * ct_fdkind_classify costs an fstat, plus a readlink of /proc/self/fd/N
 * for anonymous inodes (eventfd, epoll ...): call it only for sampled
 * events or at dump time, never on a wrapper's fast path. No state, no
 * allocation, async-signal-safe, errno preserved. */
#ifndef CT_FDKIND_H
#define CT_FDKIND_H

#include <sys/types.h>

#define CT_FD_KINDS(X)              \
	X(NONE, "")                 \
	X(UNKNOWN, "unknown")       \
	X(SOCKET, "socket")         \
	X(PIPE, "pipe")             \
	X(FILE, "file")             \
	X(DIR, "dir")               \
	X(CHR, "chr")               \
	X(BLK, "blk")               \
	X(TTY, "tty")               \
	X(EVENTFD, "eventfd")       \
	X(TIMERFD, "timerfd")       \
	X(SIGNALFD, "signalfd")     \
	X(EPOLL, "epoll")           \
	X(INOTIFY, "inotify")       \
	X(FANOTIFY, "fanotify")     \
	X(PIDFD, "pidfd")           \
	X(IO_URING, "io_uring")     \
	X(USERFAULTFD, "userfaultfd") \
	X(PERF_EVENT, "perf_event") \
	X(BPF, "bpf")               \
	X(MQUEUE, "mqueue")         \
	X(ANON, "anon_inode")

/* CT_FD_NONE (0): the wait is not on an fd, so there is no label. */
enum ct_fd_kind {
#define CT_FD_ENUM(id, name) CT_FD_##id,
	CT_FD_KINDS(CT_FD_ENUM)
#undef CT_FD_ENUM
	CT_FD_KIND_COUNT
};

/* The kind of fd now; CT_FD_UNKNOWN if it is not open or unrecognised. */
enum ct_fd_kind ct_fdkind_classify(int fd);

/* /proc/self/fdinfo/FD (an epoll set's "tfd:" lines, a signalfd's
 * "sigmask:"), which a process that changed its credentials still reads,
 * into buf, NUL-terminated: its length, or -1 if it cannot be read. A
 * length of size - 1 may be cut short. No allocation, errno may change. */
ssize_t ct_fdinfo_read(int fd, char *buf, size_t size);

/* The link /proc/self/fd/FD ("pipe:[4026]", "anon_inode:[eventfd]", a
 * path) into buf, NUL-terminated: its length, or -1 if it cannot be read
 * or is longer than size - 1. Touches no file system but /proc: never
 * blocks on the file behind it. Async-signal-safe, no allocation, errno
 * may change. */
ssize_t ct_fd_link(int fd, char *buf, size_t size);

/* "pipe", "socket" ...; "" for CT_FD_NONE and out-of-range values. */
const char *ct_fdkind_name(unsigned kind);

#endif
