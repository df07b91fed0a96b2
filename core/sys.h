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
 * SYS_futex straight through (core makes no futex calls; a SYS_prctl
 * PR_SET_NAME is only noted as a rename, which is right for core's too),
 * and the
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
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The wrapped functions core calls, by name: each must be one of
 * interpose/wrapped.def (interpose/sys.c fills the table from it, and a
 * name it does not wrap does not compile), and each slot has the type of
 * libc's own declaration (so a signature in wrapped.def that differs does
 * not compile either). */
#define CT_SYS_FUNCS(X)                                                                          \
	X(read)                                                                                  \
	X(write)                                                                                 \
	X(poll)                                                                                  \
	X(nanosleep)                                                                             \
	X(waitpid)                                                                               \
	X(pthread_create)                                                                        \
	X(pthread_join)                                                                          \
	X(pthread_timedjoin_np)                                                                  \
	X(accept4)                                                                               \
	X(signalfd)

struct ct_sys {
#define CT_SYS_SLOT(name) __typeof__(name) *name;
	CT_SYS_FUNCS(CT_SYS_SLOT)
#undef CT_SYS_SLOT
};

/* One per shared object (hidden): libcontend-report.so's copy is never
 * filled and keeps libc's functions. */
extern struct ct_sys ct_sys;

/* From the shim's constructor only, before it starts any thread. */
void ct_sys_install(const struct ct_sys *real);

/* The calls, with the arguments and result of the libc function. */
#define ct_sys_read(...) ct_sys.read(__VA_ARGS__)
#define ct_sys_write(...) ct_sys.write(__VA_ARGS__)
#define ct_sys_poll(...) ct_sys.poll(__VA_ARGS__)
#define ct_sys_nanosleep(...) ct_sys.nanosleep(__VA_ARGS__)
#define ct_sys_waitpid(...) ct_sys.waitpid(__VA_ARGS__)
#define ct_sys_pthread_create(...) ct_sys.pthread_create(__VA_ARGS__)
#define ct_sys_pthread_join(...) ct_sys.pthread_join(__VA_ARGS__)
#define ct_sys_pthread_timedjoin_np(...) ct_sys.pthread_timedjoin_np(__VA_ARGS__)
#define ct_sys_accept4(...) ct_sys.accept4(__VA_ARGS__)
#define ct_sys_signalfd(...) ct_sys.signalfd(__VA_ARGS__)

/* One of the shim's own descriptors (the dumper's wake-up channel and
 * signalfd, the HTTP server's socket and connections), moved up to 64 below the
 * smaller of 1024 and the RLIMIT_NOFILE soft limit (or left where it is
 * when that is not above it, or the move fails): returns the descriptor
 * to use, the same close-on-exec flag kept. A program's open(), socket(),
 * pipe() take the lowest free numbers, so one of ours among them shifts
 * every number the program gets after it: php-fpm logged "using
 * inherited socket fd=11" after a reload (natively fd=8) with
 * CONTEND_DUMP_SIGNAL set, whose pipe took 3 and 4 at start. System calls
 * only; async-signal-safe (a fork child re-arms with it). */
int ct_sys_fd_high(int fd);

/* ct_sys_write for the shim's own lines and files, which must neither
 * end, stop nor hang a program that wrote nothing there itself:
 *   - a pipe with no reader left fails with EPIPE, without SIGPIPE (a
 *     socket likewise: MSG_NOSIGNAL): `server 2>&1 | head`, a dead log
 *     reader;
 *   - a write that would take a regular file past RLIMIT_FSIZE fails
 *     whole with EFBIG, before anything is written, without SIGXFSZ;
 *   - one to the controlling terminal from a background process group
 *     under `stty tostop` fails with EIO, without SIGTTOU (`./server &`);
 *   - one into a pipe or socket without room for it fails with EAGAIN
 *     rather than block until the reader reads (a parent that reads the
 *     program's stderr only once it exits).
 * A SIGPIPE the program had pending already is left pending. A few system
 * calls more than write(); async-signal-safe; thread-safe (the signal
 * mask changed is the calling thread's). */
ssize_t ct_sys_write_quiet(int fd, const void *buf, size_t len);

/* Reads up to len bytes of this process's memory at addr into buf with
 * process_vm_readv, which fails where a load would fault (a stack read
 * past its end, an object freed since): how many it could, 0 on none.
 * One system call; async-signal-safe; keeps errno. */
size_t ct_sys_peek(uintptr_t addr, void *buf, size_t len);

/* The first len - 1 bytes of a small file (/proc/self/...), one read,
 * NUL-terminated: their count, or -1 with open's or read's errno. No
 * allocation; async-signal-safe. */
ssize_t ct_sys_read_file(const char *path, char *buf, size_t len);

#endif
